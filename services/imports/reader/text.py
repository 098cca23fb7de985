"""Reading CSV (and other delimited text) files: encoding, delimiter, Excel's "sep=" line, row limits."""

import codecs
import csv
import io
import re
from collections.abc import Collection

import pandas as pd
import pyarrow as pa
from pyarrow import csv as pa_csv

from services.imports.reader import limits as reader_limits
from services.imports.reader.encoding import Encoding, detect
from services.imports.reader.extent import too_many_rows
from services.imports.reader.table import HEADER_SEARCH_ROWS, Problem, Table, UnreadableFile, from_rows, unreadable

_DELIMITERS = (",", ";", "\t", "|")
_DELIMITER_NAMES = {"\t": "tab", ",": "comma", ";": "semicolon", "|": "pipe"}
_SEP_LINE = re.compile(r"^sep=(.)\r?\n", re.IGNORECASE)
_HEAD_BYTES = 1 << 18
_ARROW_BLOCK = 1 << 22
_QUOTED_CELLS: dict[str, re.Pattern] = {}


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
    raw = _read_arrow(data, encoding, delimiter, skip, columns, most + HEADER_SEARCH_ROWS) if first == 0 else None
    if raw is None:  # (blank lines before the header: pandas' parser, which numbers them as Excel does)
        raw = _read_pandas(name, data, encoding, delimiter, skip, most + HEADER_SEARCH_ROWS + 1)
    if len(raw) > most + HEADER_SEARCH_ROWS:
        raise too_many_rows(name, most, rows_allowed, columns)
    raw.index = pd.RangeIndex(1, len(raw) + 1)
    table = from_rows(name, raw, header_keys)
    if len(table.cells) > most:
        raise too_many_rows(name, most, rows_allowed, columns)
    table.encoding, table.delimiter = encoding.label, delimiter
    return table


def _read_arrow(data: bytes, encoding: Encoding, delimiter: str, skip: int, columns: int,
                most_rows: int) -> pd.DataFrame | None:
    """A UTF-8 file every row of which has as many cells as the header row, read by Arrow's CSV parser (a few
    times faster than pandas' C parser, whose text then has to be copied into Arrow strings). None for any other
    file: pandas' parser reads it (blank lines, ragged rows, other encodings), so that what is read and reported
    stays one parser's rules. Reads in blocks and stops once the file has more than `most_rows` rows."""
    if encoding.codec != "utf-8" or delimiter not in _DELIMITERS or columns < 1 or not _plain_quotes(data, delimiter):
        return None
    names = [f"f{i}" for i in range(columns)]
    try:
        reader = pa_csv.open_csv(
            pa.py_buffer(data).slice(encoding.bom),
            read_options=pa_csv.ReadOptions(column_names=names, skip_rows=skip, use_threads=False,
                                            block_size=_ARROW_BLOCK),
            parse_options=pa_csv.ParseOptions(delimiter=delimiter, quote_char='"', double_quote=True,
                                              escape_char=False, newlines_in_values=True, ignore_empty_lines=False),
            convert_options=pa_csv.ConvertOptions(column_types=dict.fromkeys(names, pa.large_string()),
                                                  strings_can_be_null=False, quoted_strings_can_be_null=False))
        batches, rows = [], 0
        for batch in reader:
            batches.append(batch)
            rows += batch.num_rows
            if rows > most_rows:
                break
    except (pa.ArrowException, ValueError):
        return None
    table = pa.Table.from_batches(batches, schema=reader.schema)
    if table.num_rows == 0:
        return None
    return pd.DataFrame({i: pd.array(table.column(i), dtype="str") for i in range(columns)}, copy=False)


def _plain_quotes(data: bytes, delimiter: str) -> bool:
    """Whether every double quote of the file belongs to a whole quoted cell ("...", with "" inside), where both
    parsers agree; an unclosed quote or a quote inside a cell is left to pandas' parser and its messages."""
    if b'"' not in data:
        return True
    cell = _QUOTED_CELLS.get(delimiter)
    if cell is None:
        d = re.escape(delimiter.encode())
        cell = _QUOTED_CELLS[delimiter] = re.compile(rb'(?:^|(?<=[' + d + rb'\r\n]))"(?:[^"]|"")*"(?=[' + d
                                                     + rb'\r\n]|\Z)')
    return b'"' not in cell.sub(b"", data)


def _read_pandas(name: str, data: bytes, encoding: Encoding, delimiter: str, skip: int, nrows: int) -> pd.DataFrame:
    """Any delimited text file, by pandas' C parser (at most `nrows` rows); its errors become problems."""
    stream = io.BytesIO(data)
    if encoding.bom:
        stream.seek(encoding.bom)
    try:
        return pd.read_csv(stream, sep=delimiter, header=None, dtype=str, keep_default_na=False, na_filter=False,
                          skip_blank_lines=False, quoting=csv.QUOTE_MINIMAL, engine="c", skiprows=skip,
                           nrows=nrows, encoding=encoding.codec)
    except pd.errors.EmptyDataError as exc:
        raise unreadable(name, "The file has no rows.") from exc
    except pd.errors.ParserError as exc:
        raise UnreadableFile(_parser_problem(name, str(exc), delimiter, skip)) from exc


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

