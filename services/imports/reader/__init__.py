"""Reading uploaded partner and response files (CSV, .xlsx, .xls, .ods) into text cells, with the row numbers
users see.

Every import reads its files here, so the rules are the same everywhere: the file's content decides its format
(not its name), headers are matched by name, every cell is text, the limits (limits.py) are checked before a
file is parsed, and anything unreadable becomes a message that names the file, the row and the column.

- table.py: the Table, Problems, the problem report; finding the header row.
- limits.py: how much one upload (or one command-line import) may hold.
- text.py and encoding.py: CSV files, their delimiter and text encoding.
- sheet.py: workbooks, read with python-calamine after the checks of archive.py (zip parts), xlsx.py, ods.py
  and xls.py (macros, formulas, size), with extent.py adding up what the library would hold.
"""

from collections.abc import Collection

from services.imports.reader import limits
from services.imports.reader.extent import too_many_rows
from services.imports.reader.limits import MAX_CELL_CHARS, MAX_COLUMNS
from services.imports.reader.sheet import OLE2, ZIP, read_sheet
from services.imports.reader.table import (
    HEADER_SEARCH_ROWS,
    PROBLEM_COLUMNS,
    Problem,
    ProblemCounts,
    Table,
    UnreadableFile,
    check_cells,
    header_key,
    problems_csv,
    problems_frame,
    sha256_hex,
    unreadable,
)
from services.imports.reader.text import read_text

__all__ = [
    "HEADER_SEARCH_ROWS", "MAX_CELL_CHARS", "MAX_COLUMNS", "PROBLEM_COLUMNS", "Problem", "ProblemCounts", "Table",
    "UnreadableFile", "header_key", "limits", "problems_csv", "problems_frame", "read_table", "sha256_hex",
]

_EXCEL_NAMES = (".xlsx", ".xlsm", ".xls", ".xltx", ".xltm", ".ods")


def read_table(
    *, filename: str, data: bytes, sheet: str = "Answers", header_keys: Collection[str] = ()
) -> Table:
    """Read a CSV, .xlsx, .xls or .ods file into a Table; raises UnreadableFile when the file cannot be read.

    The content decides the format: a zip with a workbook inside is read as .xlsx (or .ods), an OLE2 file as .xls
    (the sheet named `sheet` if present, else the first sheet other than "Instructions"); a workbook with macros
    or a password is refused; anything else must be delimited text (comma, semicolon, tab or pipe) in UTF-8,
    UTF-16 or a Windows code page (encoding.py). The header row is the first of the first ten non-blank rows
    holding one of `header_keys` (else the first non-blank row). Files over the limits in force (limits.py) are
    refused before they are parsed. Cells longer than Excel allows and formulas (never calculated: formula cells
    of a workbook, cells of a CSV file starting with "=") are reported in `Table.problems`.
    """
    name = filename or "upload"
    allowed = limits.current()
    if len(data) > allowed.max_file_bytes:
        raise unreadable(name, (f"The file is {len(data) / 1e6:,.1f} MB; at most {allowed.max_file_bytes / 1e6:,.1f} "
                                f"MB are read. {allowed.advice}"))
    if not data or data.isspace():  # (isspace stops at the first other byte; strip would copy the file)
        raise unreadable(name, "The file is empty.")
    if data.startswith((ZIP, OLE2)):
        table = read_sheet(name, data, sheet, header_keys)
    elif name.lower().endswith(_EXCEL_NAMES):
        raise unreadable(name, (
            "The file is named like a spreadsheet but is not one (an .xlsx or .ods file is a zip archive, an .xls "
            "file an OLE2 document). Save it again from Excel as 'Excel Workbook (.xlsx)' or as 'CSV UTF-8'."))
    else:
        table = read_text(name, data, header_keys)
    if len(table.cells) > limits.rows_left():
        raise _over_rows(name, table)
    limits.count_rows(len(table.cells))
    table.sha256 = sha256_hex(data)
    check_cells(table)
    return table


def _over_rows(name: str, table: Table) -> UnreadableFile:
    left = limits.rows_left()
    return too_many_rows(name, left, left, len(table.headers))
