"""What every reader produces: a Table of text cells with spreadsheet row numbers, and Problems that name the file,
the row and the column."""

import hashlib
import re
import unicodedata
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow.compute as pc
from openpyxl.utils import get_column_letter
from pandas.arrays import ArrowStringArray

from services.core.permissions import ValidationError
from services.exports.safe import csv_bytes
from services.imports.reader.limits import MAX_CELL_CHARS

HEADER_SEARCH_ROWS = 10
PROBLEM_COLUMNS = ["file", "row", "column", "value", "message", "severity"]
_HEADER_NOISE = re.compile(r"[\s_\-\ufeff\u200b]+")


@dataclass(frozen=True)
class Problem:
    """One thing wrong (or worth knowing) about an uploaded file, located as precisely as possible."""

    file: str
    row: int | None
    column: str
    value: str
    message: str
    severity: str = "error"  # error | warning


class ProblemCounts:
    """Error counting shared by import previews, which hold their problems in `self.problems`."""

    problems: pd.DataFrame

    @property
    def error_count(self) -> int:
        return int((self.problems["severity"] == "error").sum())

    @property
    def has_errors(self) -> bool:
        return self.error_count > 0

    def refuse_if_errors(self) -> None:
        """Raise ValidationError when the preview has errors: such an import writes nothing."""
        if self.has_errors:
            raise ValidationError(f"The files have {self.error_count:,} errors; nothing was imported. Fix them and "
                                  "upload again.")


class UnreadableFile(ValidationError):
    """The file cannot be read as a table at all; `problem` says where and why."""

    def __init__(self, problem: Problem):
        super().__init__(f"{problem.file}: {problem.message}")
        self.problem = problem


def unreadable(name: str, message: str, row: int | None = None, value: str = "") -> UnreadableFile:
    return UnreadableFile(Problem(name, row, "", value, message))


@dataclass
class Table:
    """An uploaded file as text cells.

    `cells` has one column per header position (0, 1, ...) and is indexed by the row number a user sees in a
    spreadsheet (the header row of a plain file is row 1); blank rows are left out. `headers` are the header
    texts as written, `keys` the same texts reduced by `header_key`. `kind` is the format read: csv, xlsx, xls
    or ods; `encoding` and `delimiter` are those of a CSV file, `sheet` the sheet read from a workbook.
    """

    filename: str
    sha256: str
    headers: list[str]
    keys: list[str]
    cells: pd.DataFrame
    header_row: int = 1
    sheet: str = ""
    encoding: str = ""
    delimiter: str = ""
    problems: list[Problem] = field(default_factory=list)
    formulas: set[tuple[int, int]] = field(default_factory=set)  # (row, position) of workbook formula cells
    kind: str = "csv"

    def positions(self, *keys: str) -> list[int]:
        """Positions of the columns whose header key is one of `keys`, in file order."""
        wanted = set(keys)
        return [i for i, key in enumerate(self.keys) if key in wanted]

    def label(self, position: int) -> str:
        """How a user finds the column: its header, or its spreadsheet letter when it has none."""
        return self.headers[position] or f"column {get_column_letter(position + 1)}"


def header_key(text: object) -> str:
    """Header text reduced for matching: case, spaces, underscores, hyphens and a BOM do not matter."""
    return _HEADER_NOISE.sub("", unicodedata.normalize("NFKC", str(text or "")).casefold())


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def problems_frame(problems: Iterable[Problem]) -> pd.DataFrame:
    """Problems as a table with the columns of the downloadable report."""
    frame = pd.DataFrame([p.__dict__ for p in problems], columns=PROBLEM_COLUMNS)
    frame["row"] = frame["row"].astype("Int64")
    return frame


def problems_csv(problems: pd.DataFrame | Iterable[Problem]) -> bytes:
    """The problem report as CSV (file, row, column, value, message, severity), UTF-8 with BOM for Excel.

    The report quotes the uploaded values back, including any `=HYPERLINK(...)`: services.exports.safe writes
    them so that no spreadsheet runs them.
    """
    frame = problems if isinstance(problems, pd.DataFrame) else problems_frame(problems)
    return csv_bytes(frame.reindex(columns=PROBLEM_COLUMNS))


def from_rows(name: str, raw: pd.DataFrame, header_keys: Collection[str],
              formulas: Collection[tuple[int, int]] = ()) -> Table:
    """Find the header row, drop blank rows and empty unnamed columns, keep spreadsheet row numbers.

    `raw` holds text cells (no missing values), indexed by spreadsheet row number, one column per spreadsheet
    column from A; `formulas` are the (row, column) of workbook formula cells.
    """
    blank = _blank(raw[raw.columns[0]])
    for column in raw.columns[1:]:  # only rows blank so far can be blank (usually a handful)
        if not blank.any():
            break
        candidates = np.flatnonzero(blank)
        blank[candidates] = raw[column].iloc[candidates].str.strip().eq("").to_numpy()
    blank = pd.Series(blank, index=raw.index)
    filled = raw.index[~blank.to_numpy()]
    if len(filled) == 0:
        raise unreadable(name, "The file has no rows.")
    header_row = filled[0]
    wanted = set(header_keys)
    if wanted:
        for row in filled[:HEADER_SEARCH_ROWS]:
            if wanted & {header_key(v) for v in raw.loc[row]}:
                header_row = row
                break
    headers = [str(v).strip() for v in raw.loc[header_row]]
    below = raw.index > header_row
    keep_rows = below & ~blank.to_numpy()
    # A slice, not a copy, when every row below the header is kept (the usual case; a copy doubles a big file)
    cells = raw.iloc[int(below.argmax()):] if keep_rows.sum() == below.sum() and below.any() else raw.loc[keep_rows]
    keep = [i for i, h in enumerate(headers) if h or cells[raw.columns[i]].str.strip().ne("").any()]
    if len(keep) < len(headers):
        cells = cells[[raw.columns[i] for i in keep]]
    cells.columns = range(len(keep))
    headers = [headers[i] for i in keep]
    position = {raw.columns[i]: p for p, i in enumerate(keep)}
    return Table(filename=name, sha256="", headers=headers, keys=[header_key(h) for h in headers], cells=cells,
                 header_row=int(header_row),
                 formulas={(r, position[c]) for r, c in formulas if r >= header_row and c in position})


def check_cells(table: Table) -> None:
    """Report cells longer than Excel allows and formulas (never calculated) as errors.

    In a workbook a formula is a formula cell; in a CSV file it is any cell starting with "=", because that is
    what Excel makes of it when the file is opened.
    """
    for position in table.cells.columns:
        column = table.cells[position]
        if _most_bytes(column) <= MAX_CELL_CHARS:  # no cell can hold more characters than bytes
            continue
        too_long = column.str.len() > MAX_CELL_CHARS
        if too_long.any():
            for row, value in column[too_long].items():
                table.problems.append(Problem(table.filename, int(row), table.label(position), value[:60] + "…", (
                    f"The cell holds {len(value):,} characters; at most {MAX_CELL_CHARS:,} are accepted.")))
    if table.kind == "csv":
        formulas = {(int(r), p) for p in table.cells.columns for r in table.cells.index[
            table.cells[p].str.startswith("=").to_numpy()]}
        formulas |= {(table.header_row, p) for p, h in enumerate(table.headers) if h.startswith("=")}
    else:
        formulas = table.formulas
    for row, position in sorted(formulas):
        if row == table.header_row:
            table.problems.append(Problem(table.filename, row, table.label(position), table.headers[position][:200],
                                          "A header cannot be a formula."))
            continue
        table.problems.append(Problem(table.filename, row, table.label(position), table.cells.at[row, position][:200], (
            "Formulas are not accepted (they are never calculated here): type the value itself, without the "
            "leading '='.")))


def _blank(column: pd.Series) -> np.ndarray:
    """Which cells are empty or only white space (a writable array)."""
    values = column.array
    if isinstance(values, ArrowStringArray):  # without stripping a copy of every cell
        arrow = values.__arrow_array__()
        blank = pc.or_(pc.equal(pc.binary_length(arrow), 0), pc.utf8_is_space(arrow))
        return blank.to_numpy(zero_copy_only=False).astype(bool)
    return column.str.strip().eq("").to_numpy().copy()


def _most_bytes(column: pd.Series) -> int:
    """The largest number of bytes (UTF-8) of a cell of a text column; a bound on its characters."""
    values = column.array
    if isinstance(values, ArrowStringArray):
        most = pc.max(pc.binary_length(values.__arrow_array__())).as_py()  # (no copy of the text)
        return most or 0
    return MAX_CELL_CHARS + 1  # not Arrow text: count the characters
