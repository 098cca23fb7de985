"""Reading spreadsheets (.xlsx, .xls, .ods) with python-calamine, after the checks that must come first.

python-calamine reads the values stored in the cells (never calculating anything) and applies the number
formats, so a date cell arrives as a date. It does not tell formulas apart from values, so formula cells are
found by the checks (xlsx.py, ods.py, xls.py), which also refuse macros and sheets too large for the limits
before the library builds the sheet in memory. A formula cell reads as "=" and its formula; text that merely
starts with "=" is text.
"""

import io
from collections.abc import Collection
from datetime import date, datetime, time, timedelta

import numpy as np
import pandas as pd
import python_calamine

from services.imports.reader import ods, xls, xlsx
from services.imports.reader.archive import Archive
from services.imports.reader.table import Table, from_rows, unreadable

ZIP = b"PK\x03\x04"
OLE2 = xls.OLE2
_ROWS_PER_SLICE = 50_000


def read_sheet(name: str, data: bytes, preferred: str, header_keys: Collection[str]) -> Table:
    """A workbook's sheet as a Table: the sheet named `preferred` if present, else the first one other than
    "Instructions"."""
    if data.startswith(OLE2):
        kind, checked = "xls", xls.check(name, data, preferred)
    else:
        archive = Archive(name, data)
        if ods.is_ods(archive):
            kind, checked = "ods", ods.check(name, archive, preferred)
        else:
            kind, checked = "xlsx", xlsx.check(name, archive, preferred)
    raw = _cells(name, data, checked.sheet)
    for (row, column), formula in checked.formulas.items():  # a formula's cached result is not what was typed
        raw = _with_cell(raw, row, column)
        raw.at[row, column] = formula
    if raw.empty:
        raise unreadable(name, f"Sheet '{checked.sheet}' is empty.")
    table = from_rows(name, raw, header_keys, set(checked.formulas))
    table.sheet, table.kind = checked.sheet, kind
    return table


def _cells(name: str, data: bytes, sheet_name: str) -> pd.DataFrame:
    """The sheet's cells as text, indexed by spreadsheet row number, one column per column from A."""
    try:
        with python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(data)) as book:
            sheet = book.get_sheet_by_name(sheet_name)
            start = sheet.start
            if start is None:
                return pd.DataFrame()
            first_row, first_column = start
            rows = sheet.to_python()
            parts = [_texts(rows[i:i + _ROWS_PER_SLICE]) for i in range(0, len(rows), _ROWS_PER_SLICE)]
            del rows
    except python_calamine.PasswordError as exc:
        raise unreadable(name, ("The workbook is password-protected (encrypted), which cannot be read: save it "
                                "again without a password.")) from exc
    except (python_calamine.CalamineError, ValueError, OSError) as exc:
        raise unreadable(name, f"The workbook is damaged and cannot be read ({exc}).") from exc
    except BaseException as exc:  # a panic in the Rust library arrives as pyo3's PanicException
        if type(exc).__name__ != "PanicException":
            raise
        raise unreadable(name, "The workbook is damaged and cannot be read.") from exc
    if not parts:
        return pd.DataFrame()
    frame = pd.DataFrame({
        first_column + i: parts[0][i] if len(parts) == 1 else
        pd.concat([pd.Series(part[i]) for part in parts], ignore_index=True).array
        for i in range(len(parts[0]))})
    for missing in range(first_column):  # columns before the first one used, so positions match the letters
        frame.insert(missing, missing, "")
    frame.index = pd.RangeIndex(first_row + 1, first_row + 1 + len(frame))
    return frame


def _texts(rows: list[list]) -> list[pd.api.extensions.ExtensionArray]:
    """One slice of rows as one text array per column."""
    if not rows:
        return []
    out = []
    for values in zip(*rows, strict=True):
        if set(map(type, values)) != {str}:
            values = [v if type(v) is str else _text(v) for v in values]
        out.append(pd.array(values, dtype="str"))
    return out


def _text(value: object) -> str:
    """A cell value as a user sees it: 4.1 stays "4.1", 1001.0 is "1001", a date is 2027-01-31."""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return f"{value:.15g}"
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time(0) else value.isoformat(sep=" ")
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, timedelta):
        hours, rest = divmod(int(value.total_seconds()), 3600)
        return f"{hours}:{rest // 60:02d}:{rest % 60:02d}"
    return "" if value is None else str(value)


def _with_cell(raw: pd.DataFrame, row: int, column: int) -> pd.DataFrame:
    """The frame grown to hold (row, column): a formula without a stored result is outside the library's
    sheet."""
    if raw.empty:
        raw = pd.DataFrame({0: pd.array([""], dtype="str")}, index=pd.Index([row]))
    if column not in raw.columns:
        for missing in range(max(raw.columns) + 1, column + 1):
            raw[missing] = ""
    if row not in raw.index:
        rows = np.union1d(raw.index.to_numpy(), [row])
        raw = raw.reindex(rows, fill_value="")
    return raw
