"""Reading CSV (and other delimited text) files: encoding, delimiter, Excel's "sep=" line, row limits."""

import codecs
import csv
import io
import re
from collections.abc import Collection

import pandas as pd

from services.imports.reader import limits as reader_limits
from services.imports.reader.encoding import Encoding, detect
from services.imports.reader.extent import too_many_rows
from services.imports.reader.table import HEADER_SEARCH_ROWS, Problem, Table, UnreadableFile, from_rows, unreadable

_DELIMITERS = (",", ";", "\t", "|")
_DELIMITER_NAMES = {"\t": "tab", ",": "comma", ";": "semicolon", "|": "pipe"}
_SEP_LINE = re.compile(r"^sep=(.)\r?\n", re.IGNORECASE)
_HEAD_BYTES = 1 << 18


def read_text(name: str, data: bytes, header_keys: Collection[str]) -> Table:
    """A delimited text file as a Table; raises UnreadableFile when it cannot be read."""
    limits = reader_limits.current()
    encoding = detect(name, data)
    head = _head(data, encoding)
    delimiter, skip = "", 0
    sep = _SEP_LINE.match(head)
    if sep:  # Excel's "sep=;" hint line: it names the delimiter and is not shown as a row
        delimiter, skip, head = sep.group(1), 1, head[sep.end():]
    lines = head.splitlines()
    first = next((i for i, line in enumerate(lines) if line.strip()), 0)
    first_line = lines[first] if lines else ""
    delimiter = delimiter or _sniff_delimiter(first_line)
    columns = len(next(csv.reader([first_line], delimiter=delimiter), [])) if delimiter in _DELIMITERS \
        else first_line.count(delimiter) + 1
    if columns > limits.max_columns:
        raise unreadable(name, (f"The header row has {columns:,} columns; at most {limits.max_columns:,} are "
                                "read. Is this the right file?"), first + 1)
    rows_allowed = reader_limits.rows_left()
    most = min(rows_allowed, limits.max_cells // max(columns, 1))
    stream = io.BytesIO(data)
    if encoding.bom:
        stream.seek(encoding.bom)
    try:
        raw = pd.read_csv(stream, sep=delimiter, header=None, dtype=str, keep_default_na=False, na_filter=False,
                          skip_blank_lines=False, quoting=csv.QUOTE_MINIMAL, engine="c", skiprows=skip,
                          nrows=most + HEADER_SEARCH_ROWS + 1, encoding=encoding.codec)
    except pd.errors.EmptyDataError as exc:
        raise unreadable(name, "The file has no rows.") from exc
    except pd.errors.ParserError as exc:
        raise UnreadableFile(_parser_problem(name, str(exc), delimiter, skip)) from exc
    if len(raw) > most + HEADER_SEARCH_ROWS:
        raise too_many_rows(name, most, rows_allowed, columns)
    raw.index = pd.RangeIndex(1, len(raw) + 1)
    table = from_rows(name, raw, header_keys)
    if len(table.cells) > most:
        raise too_many_rows(name, most, rows_allowed, columns)
    table.encoding, table.delimiter = encoding.label, delimiter
    return table


def _head(data: bytes, encoding: Encoding) -> str:
    """The text of the start of the file (enough for the delimiter and the header row)."""
    decoder = codecs.getincrementaldecoder(encoding.codec)(errors="replace")
    return decoder.decode(data[encoding.bom:encoding.bom + _HEAD_BYTES], final=len(data) <= _HEAD_BYTES)


def _sniff_delimiter(line: str) -> str:
    """The delimiter used most in the header line (quoted text ignored); a comma when there is none."""
    unquoted = re.sub(r'"[^"]*"', "", line)
    counts = {d: unquoted.count(d) for d in _DELIMITERS}
    best = max(_DELIMITERS, key=lambda d: counts[d])
    return best if counts[best] else ","


def _parser_problem(name: str, message: str, delimiter: str, skipped: int) -> Problem:
    """The pandas parser's error as a Problem; row numbers leave out the "sep=" line, as Excel does."""
    shown = _DELIMITER_NAMES.get(delimiter, f"'{delimiter}'")
    fields = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", message)
    if fields:
        expected, row, seen = (int(g) for g in fields.groups())
        row -= skipped
        return Problem(name, row, "", "", (
            f"Row {row} has {seen} cells but the header has {expected} (cells separated by {shown}s). A cell "
            "holding the separator must be in double quotes."))
    quote = re.search(r"EOF inside string starting at row (\d+)", message)
    if quote:
        row = int(quote.group(1)) + 1 - skipped
        return Problem(name, row, "", "", f"A double quote opened in row {row} is never closed.")
    return Problem(name, None, "", "", f"The file cannot be read as CSV: {message.strip()}")

