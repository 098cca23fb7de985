"""How much of a sheet the spreadsheet library would hold in memory, and the refusals when that is too much.

The library keeps a sheet as a dense grid from its first to its last non-empty cell, so a workbook of a few
kilobytes with one cell in A1 and one in XFD1048576 would take gigabytes; it also copies a shared string into
every cell that uses it. The checks of the sheet XML (and of .xls records) add up the cells here before the
library reads anything.
"""

from dataclasses import dataclass, field

from openpyxl.utils import get_column_letter

from services.imports.reader import limits as reader_limits
from services.imports.reader.table import HEADER_SEARCH_ROWS, UnreadableFile, unreadable


@dataclass
class Extent:
    """Rows (1-based), columns (0-based) and text of a sheet's non-empty cells, with its formulas."""

    filename: str
    sheet: str
    limits: reader_limits.Limits = field(default_factory=reader_limits.current)
    rows_allowed: int = field(default_factory=reader_limits.rows_left)
    last_row: int = 0
    last_column: int = -1
    cells: int = 0
    text: int = 0
    wide_row: int | None = None  # the first row with a cell beyond the column limit
    formulas: dict[tuple[int, int], str] = field(default_factory=dict)

    def add(self, row: int, column: int, chars: int = 0, rows: int = 1) -> None:
        """A non-empty cell (row from 1, column from 0) holding about `chars` characters, repeated down `rows`
        rows. Call `check` at the end of each row (and of the sheet): it names the row that is too wide."""
        self.cells += rows
        self.text += chars * rows
        if column > self.last_column:
            self.last_column = column
            if column >= self.limits.max_columns and self.wide_row is None:
                self.wide_row = row
        last = row + rows - 1
        if last > self.last_row:
            self.last_row = last
            if last > self.rows_allowed + HEADER_SEARCH_ROWS:
                raise self.too_long()

    def check(self) -> None:
        """Refuse the sheet when its extent, cells or text exceed the limits in force."""
        if self.last_column >= self.limits.max_columns:
            raise self.too_wide(self.wide_row, self.last_column + 1)
        if self.last_row > self.rows_allowed + HEADER_SEARCH_ROWS:
            raise self.too_long()
        grid = self.last_row * (self.last_column + 1)
        if grid > self.limits.max_cells:
            raise unreadable(self.filename, (
                f"Sheet '{self.sheet}' spans {self.last_row:,} rows and {self.last_column + 1:,} columns "
                f"({grid:,} cells, up to {get_column_letter(self.last_column + 1)}{self.last_row}); at most "
                f"{self.limits.max_cells:,} cells are read. {self.limits.advice}"))
        if self.text > self.limits.max_text_chars:
            raise unreadable(self.filename, (
                f"Sheet '{self.sheet}' holds more than {self.limits.max_text_chars:,} characters of text; at most "
                f"{self.limits.max_text_chars:,} are read. {self.limits.advice}"))

    def too_wide(self, row: int | None, columns: int) -> UnreadableFile:
        return unreadable(self.filename, (f"Sheet '{self.sheet}' has {columns:,} columns; at most "
                                          f"{self.limits.max_columns:,} are read. Is this the right file?"), row)

    def too_long(self) -> UnreadableFile:
        return too_many_rows(self.filename, self.rows_allowed, self.rows_allowed, self.last_column + 1,
                             f"Sheet '{self.sheet}'")


def too_many_rows(name: str, most: int, rows_allowed: int, columns: int, what: str = "The file") -> UnreadableFile:
    """The refusal of a file with more rows (or cells) than the limits in force allow."""
    limits = reader_limits.current()
    if most < rows_allowed:
        return unreadable(name, (
            f"{what} has more than {limits.max_cells:,} cells ({columns:,} columns of more than {most:,} rows); at "
            f"most {limits.max_cells:,} are read. {limits.advice}"))
    if rows_allowed < limits.max_rows:
        return unreadable(name, (
            f"With the files before it, this import has more than {limits.max_rows:,} rows; at most "
            f"{limits.max_rows:,} rows are read per import. {limits.advice}"))
    return unreadable(name, (f"{what} has more than {limits.max_rows:,} rows; at most {limits.max_rows:,} are read "
                             f"per import. {limits.advice}"))


def column_index(letters: str) -> int:
    """0-based column of a cell reference's letters ("AB" -> 27)."""
    index = 0
    for char in letters.upper():
        index = index * 26 + ord(char) - 64
    return index - 1
