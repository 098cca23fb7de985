"""Downloads that cannot run anything: typed text never becomes a spreadsheet formula (CSV or formula injection).

Every CSV and workbook the product writes goes through here. Text that a spreadsheet would read as a formula or
a command (starting with =, +, -, @, a tab or a carriage return; OWASP's list) is
- in a CSV file: prefixed with an apostrophe, which Excel and LibreOffice show as text;
- in a workbook: an inline string cell (never a formula) styled with `quotePrefix`, Excel's own apostrophe
  prefix: the value stays as typed (so an imported file reads back what was exported), and editing the cell
  keeps it text.
Real numbers, dates and booleans stay number, date and boolean cells, so sorting and filters work.
"""

import json
import math
from datetime import UTC, date, datetime, time
from decimal import Decimal
from html import escape

import numpy as np
import pandas as pd
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
DATE_FORMAT = "yyyy-mm-dd"
DATETIME_FORMAT = "yyyy-mm-dd hh:mm:ss"


def formula_like(text: str) -> bool:
    """True when a spreadsheet would read the text as a formula (or a DDE command)."""
    return text.startswith(FORMULA_STARTS)


def csv_text(text: str) -> str:
    """Text for a CSV cell: an apostrophe in front when a spreadsheet would read it as a formula."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def safe_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame with every text value made safe for CSV (csv_text); numbers, dates and empty cells unchanged.

    Text columns (str dtype) are checked vectorised; columns of Python objects value by value, so numbers or
    dicts held in them are left alone (dicts and lists are written as JSON).
    """
    out = frame.copy()
    for position in range(out.shape[1]):
        column = out.iloc[:, position]
        if isinstance(column.dtype, pd.StringDtype):
            flagged = column.str.startswith(FORMULA_STARTS).fillna(False).astype(bool)
            if flagged.any():
                out.iloc[:, position] = column.mask(flagged, "'" + column)
        elif column.dtype == object:
            out.iloc[:, position] = column.map(_csv_object)
    return out


def csv_bytes(frame: pd.DataFrame) -> bytes:
    """The frame as a CSV download for spreadsheets: text made safe, UTF-8 with BOM (Excel reads accents and
    Chinese then), CRLF line ends (RFC 4180), no index."""
    return safe_frame(frame).to_csv(index=False, lineterminator="\r\n").encode("utf-8-sig")


def _csv_object(value: object) -> object:
    if isinstance(value, str):
        return csv_text(value)
    if isinstance(value, dict | list):
        return csv_text(json.dumps(value, ensure_ascii=False, default=str))
    return value


def cell_text(value: object) -> str:
    """Text a workbook cell can hold: control characters removed (XML cannot carry them)."""
    return ILLEGAL_CHARACTERS_RE.sub("", str(value))


def sheet_cell(sheet, value: object, style: str | None = None) -> WriteOnlyCell:
    """A cell for openpyxl (`sheet.append([...])` in write-only or normal mode) holding `value` by its type.

    Text is a string cell, never a formula, with Excel's quote prefix when it looks like one; numbers, dates,
    times and booleans keep their type (aware datetimes in UTC, as workbooks hold no time zone); None, NaN and
    NaT give an empty cell. `style` is the name of a registered named style.
    """
    cell = WriteOnlyCell(sheet)
    if style:
        cell.style = style
    value = _plain_value(value)
    if value is None:
        return cell
    if isinstance(value, str):
        text = cell_text(value)
        cell.value = text
        cell.data_type = "s"  # openpyxl makes text starting with "=" a formula; it never is one here
        if formula_like(text):
            cell.quotePrefix = True
        return cell
    cell.value = value
    if isinstance(value, datetime):
        cell.number_format = DATETIME_FORMAT
    elif isinstance(value, date):
        cell.number_format = DATE_FORMAT
    return cell


def _plain_value(value: object) -> object:
    """The Python value a cell stores: None for missing values, naive UTC datetimes, JSON for dicts and lists."""
    if value is None or value is pd.NaT or value is pd.NA:
        return None
    if isinstance(value, pd.Timestamp):
        value = value.to_pydatetime()
    if isinstance(value, datetime):
        return value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value
    if isinstance(value, date | time | str | bool):
        return value
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating | Decimal):
        return None if math.isnan(value) else float(value)
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, default=str)
    return str(value)


def xml_text_cell(ref: str, text: str, style_id: int = 0, quoted_style_id: int | None = None) -> str:
    """A SpreadsheetML inline-string cell `<c r="ref" ...>` for streaming rows into a sheet's XML.

    Never a formula; text that looks like one takes `quoted_style_id` (the same style with quotePrefix).
    Control characters are removed; leading or trailing spaces and line breaks are kept.
    """
    return f'<c r="{ref}"{xml_text_cell_tail(text, style_id, quoted_style_id)}'


def xml_text_cell_tail(text: str, style_id: int = 0, quoted_style_id: int | None = None) -> str:
    """What follows `<c r="A1"` in xml_text_cell: cached by callers that write the same text many times."""
    clean = cell_text(text)
    if formula_like(clean):
        if quoted_style_id is None:
            raise ValueError("text that looks like a formula needs the quote-prefixed style")
        style_id = quoted_style_id
    style = f' s="{style_id}"' if style_id else ""
    escaped = escape(clean, quote=False)
    # Without xml:space="preserve" a reader may trim leading and trailing spaces and line breaks.
    t = f'<t xml:space="preserve">{escaped}</t>' if escaped != escaped.strip() else f"<t>{escaped}</t>"
    return f'{style} t="inlineStr"><is>{t}</is></c>'
