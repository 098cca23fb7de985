"""Reading uploaded partner and response files (CSV or XLSX) into text cells, with the row numbers users see.

Every import reads its files here, so the rules are the same everywhere: the file's content decides its format
(not its name), headers are matched by name, every cell is text, and anything unreadable becomes a message that
names the file, the row and the column.

Workbooks are read with a streaming expat parser of the sheet XML rather than openpyxl: it reads stored values and
formula markers only (nothing is ever calculated, no styles), and is about four times faster than openpyxl's
read-only mode on a 50,000-row export. Number formats are not applied, so a date cell arrives as its Excel serial
number, and .xls (no well-kept reader is installed) is refused with advice to save as .xlsx.
"""

import codecs
import csv
import hashlib
import io
import posixpath
import re
import unicodedata
import zipfile
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from xml.parsers import expat

import pandas as pd
from openpyxl.utils import get_column_letter

from services.core.permissions import ValidationError
from services.exports.safe import csv_bytes

MAX_COLUMNS = 1_000
MAX_CELL_CHARS = 32_767  # Excel's own limit for one cell: longer text did not come from a spreadsheet
MAX_UNZIPPED_BYTES = 2_000_000_000  # a workbook that inflates beyond this is a zip bomb, not a questionnaire
HEADER_SEARCH_ROWS = 10
PROBLEM_COLUMNS = ["file", "row", "column", "value", "message", "severity"]

_ZIP = b"PK\x03\x04"
_OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # .xls and password-protected workbooks
_EXCEL_NAMES = (".xlsx", ".xlsm", ".xls", ".xltx", ".xltm")
_DELIMITERS = (",", ";", "\t", "|")
# Control characters that never occur in text files (tab, newlines, form feed and the DOS end-of-file mark do).
_CONTROL_BYTES = bytes(b for b in range(32) if b not in (9, 10, 12, 13, 26)) + b"\x7f"
_NOT_CONTROL = bytes(b for b in range(256) if b not in _CONTROL_BYTES)
_HIGH_RUN = re.compile(rb"[\x80-\xff]+")
_SEP_LINE = re.compile(r"^sep=(.)\r?\n", re.IGNORECASE)
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


@dataclass
class Table:
    """An uploaded file as text cells.

    `cells` has one column per header position (0, 1, ...) and is indexed by the row number a user sees in a
    spreadsheet (the header row of a plain file is row 1); blank rows are left out. `headers` are the header
    texts as written, `keys` the same texts reduced by `header_key`.
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

    @property
    def kind(self) -> str:
        return "xlsx" if self.sheet else "csv"

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


def read_table(
    *, filename: str, data: bytes, sheet: str = "Answers", header_keys: Collection[str] = ()
) -> Table:
    """Read a CSV or XLSX file into a Table; raises UnreadableFile when the file cannot be read at all.

    The content decides the format: a zip with a workbook inside is read as .xlsx (the sheet named `sheet`
    if present, else the first sheet other than "Instructions"), a workbook with macros is refused, an old .xls
    is refused with advice to save it as .xlsx, anything else must be UTF-8 (with or without BOM), UTF-16 with
    BOM, or Windows-1252 text with a comma, semicolon, tab or pipe between cells. The header row is the first of
    the first ten non-blank rows holding one of `header_keys` (else the first non-blank row). Cells longer than
    Excel allows and cells starting with "=" (formulas are never evaluated) are reported in `Table.problems`.
    """
    digest = sha256_hex(data)
    name = filename or "upload"
    if not data.strip():
        raise UnreadableFile(Problem(name, None, "", "", "The file is empty."))
    if data.startswith(_OLE2):
        raise UnreadableFile(Problem(name, None, "", "", (
            "This is an old Excel .xls workbook (or a password-protected one), which cannot be read: open it in "
            "Excel and save it as 'Excel Workbook (.xlsx)' without a password, or as 'CSV UTF-8'.")))
    if data.startswith(_ZIP):
        table = _read_workbook(name, data, sheet, header_keys)
    elif name.lower().endswith(_EXCEL_NAMES):
        raise UnreadableFile(Problem(name, None, "", "", (
            "The file is named like an Excel workbook but is not one (an .xlsx file is a zip archive). Save it "
            "again from Excel as 'Excel Workbook (.xlsx)' or as 'CSV UTF-8'.")))
    else:
        table = _read_text(name, data, header_keys)
    table.sha256 = digest
    _check_cells(table)
    return table


def _read_text(name: str, data: bytes, header_keys: Collection[str]) -> Table:
    text, encoding = _decode(name, data)
    delimiter = ""
    sep = _SEP_LINE.match(text)
    if sep:  # Excel's "sep=;" hint line: it names the delimiter and is not shown as a row
        delimiter, text = sep.group(1), text[sep.end():]
    first_line = next((line for line in io.StringIO(text) if line.strip()), "").rstrip("\r\n")
    delimiter = delimiter or _sniff_delimiter(first_line)
    if first_line.count(delimiter) + 1 > MAX_COLUMNS:
        raise UnreadableFile(Problem(name, 1, "", "", (
            f"The header row has {first_line.count(delimiter) + 1:,} columns; at most {MAX_COLUMNS:,} are read. "
            "Is this the right file?")))
    try:
        raw = pd.read_csv(io.StringIO(text), sep=delimiter, header=None, dtype=str, keep_default_na=False,
                          na_filter=False, skip_blank_lines=False, quoting=csv.QUOTE_MINIMAL, engine="c")
    except pd.errors.EmptyDataError as exc:
        raise UnreadableFile(Problem(name, None, "", "", "The file has no rows.")) from exc
    except pd.errors.ParserError as exc:
        raise UnreadableFile(_parser_problem(name, str(exc), delimiter)) from exc
    raw.index = pd.RangeIndex(1, len(raw) + 1)
    table = _from_rows(name, raw, header_keys)
    table.encoding, table.delimiter = encoding, delimiter
    return table


def _decode(name: str, data: bytes) -> tuple[str, str]:
    """Text of the file and the encoding it was in; mixed or unknown encodings are refused with the row."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return data.decode("utf-16"), "UTF-16"
        except UnicodeDecodeError as exc:
            raise UnreadableFile(Problem(name, None, "", "", f"The file is not valid UTF-16 text: {exc.reason}.")) \
                from exc
    controls = len(data.translate(None, _NOT_CONTROL))  # deleting everything else leaves the control bytes
    if b"\x00" in data or controls > max(10, len(data) // 100):
        raise UnreadableFile(Problem(name, None, "", "", (
            "This is not a text (CSV) file: it contains binary data. Upload a .csv or .xlsx file.")))
    try:
        return data.decode("utf-8-sig"), "UTF-8"
    except UnicodeDecodeError as exc:
        bad_row = data.count(b"\n", 0, exc.start) + 1
        byte = f"0x{data[exc.start]:02X}"
    good_row = _first_utf8_row(data)
    if good_row is not None:
        raise UnreadableFile(Problem(name, bad_row, "", byte, (
            f"The file mixes text encodings: row {good_row} is UTF-8 but row {bad_row} is not (byte {byte}). "
            "Save the whole file again as 'CSV UTF-8'.")))
    if _looks_double_byte(data):
        raise UnreadableFile(Problem(name, bad_row, "", byte, (
            "The file is not UTF-8: its characters look like a Chinese, Japanese or Korean encoding (GBK, Big5, "
            "Shift-JIS...). Save it again as 'CSV UTF-8'.")))
    try:
        return data.decode("cp1252"), "Windows-1252"
    except UnicodeDecodeError as exc:
        row = data.count(b"\n", 0, exc.start) + 1
        raise UnreadableFile(Problem(name, row, "", f"0x{data[exc.start]:02X}", (
            f"The file is neither UTF-8 nor Windows-1252 text (byte 0x{data[exc.start]:02X} in row {row}). Save it "
            "again as 'CSV UTF-8'."))) from exc


def _first_utf8_row(data: bytes) -> int | None:
    """The first row with non-ASCII text that is valid UTF-8, in a file that is not UTF-8 as a whole."""
    for row, line in enumerate(data.split(b"\n"), start=1):
        if not line.isascii():
            try:
                line.decode("utf-8-sig" if row == 1 else "utf-8")
            except UnicodeDecodeError:
                continue
            return row
    return None


def _looks_double_byte(data: bytes) -> bool:
    """True when nearly every non-ASCII byte comes in pairs, as in GBK or Shift-JIS text.

    Western text in Windows-1252 has mostly single accented letters between ASCII ones.
    """
    runs = [len(m) for m in _HIGH_RUN.findall(data)]
    paired = sum(n for n in runs if n >= 2 and n % 2 == 0)
    return sum(runs) >= 6 and paired >= 0.9 * sum(runs)


def _sniff_delimiter(line: str) -> str:
    """The delimiter used most in the header line (quoted text ignored); a comma when there is none."""
    unquoted = re.sub(r'"[^"]*"', "", line)
    counts = {d: unquoted.count(d) for d in _DELIMITERS}
    best = max(_DELIMITERS, key=lambda d: counts[d])
    return best if counts[best] else ","


def _parser_problem(name: str, message: str, delimiter: str) -> Problem:
    shown = {"\t": "tab", ",": "comma", ";": "semicolon", "|": "pipe"}[delimiter]
    fields = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", message)
    if fields:
        expected, row, seen = (int(g) for g in fields.groups())
        return Problem(name, row, "", "", (
            f"Row {row} has {seen} cells but the header has {expected} (cells separated by {shown}s). A cell "
            "holding the separator must be in double quotes."))
    quote = re.search(r"EOF inside string starting at row (\d+)", message)
    if quote:
        row = int(quote.group(1)) + 1
        return Problem(name, row, "", "", f"A double quote opened in row {row} is never closed.")
    return Problem(name, None, "", "", f"The file cannot be read as CSV: {message.strip()}")


def _read_workbook(name: str, data: bytes, preferred: str, header_keys: Collection[str]) -> Table:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        entries = archive.infolist()
        content_types = archive.read("[Content_Types].xml") if "[Content_Types].xml" in archive.namelist() else b""
    except (zipfile.BadZipFile, OSError, KeyError, EOFError) as exc:
        raise UnreadableFile(Problem(name, None, "", "", "The file is a damaged zip/Excel file and cannot be read.")) \
            from exc
    names = {e.filename.lower() for e in entries}
    if any(n.endswith("vbaproject.bin") for n in names) or b"macroenabled" in content_types.lower():
        raise UnreadableFile(Problem(name, None, "", "", (
            "The workbook contains macros (.xlsm), which are never opened here. Save it as 'Excel Workbook "
            "(.xlsx)' and upload that.")))
    if "xl/workbook.xml" not in names:
        raise UnreadableFile(Problem(name, None, "", "", (
            "The file is a zip archive but not an Excel workbook. Upload a .xlsx or .csv file.")))
    if sum(e.file_size for e in entries) > MAX_UNZIPPED_BYTES:
        raise UnreadableFile(Problem(name, None, "", "", "The workbook is too large to read (over 2 GB unpacked)."))
    try:
        sheets, shared_path = _workbook_parts(archive)
        sheet_name = _pick_sheet(list(sheets), preferred)
        if sheet_name is None:
            raise UnreadableFile(Problem(name, None, "", "", "The workbook has no sheet to read."))
        shared = _shared_strings(archive, shared_path)
        rows, formulas = _sheet_rows(archive, sheets[sheet_name], shared)
    except _TooWide as wide:
        raise UnreadableFile(Problem(name, wide.row, "", "", (
            f"Sheet '{sheet_name}' has {wide.columns:,} columns; at most {MAX_COLUMNS:,} are read. Is this the right "
            "file?"))) from wide
    except (KeyError, IndexError, ValueError, expat.ExpatError, zipfile.BadZipFile, EOFError) as exc:
        raise UnreadableFile(Problem(name, None, "", "", f"The workbook is damaged and cannot be read ({exc}).")) \
            from exc
    if not rows:
        raise UnreadableFile(Problem(name, None, "", "", f"Sheet '{sheet_name}' is empty."))
    width = max(max(cells) for cells in rows.values()) + 1
    records = [[cells.get(i, "") for i in range(width)] for cells in rows.values()]
    raw = pd.DataFrame(records, index=pd.Index(list(rows), dtype="int64"), dtype="str")
    raw.columns = range(width)
    table = _from_rows(name, raw, header_keys, formulas)
    table.sheet = sheet_name
    return table


class _TooWide(Exception):
    def __init__(self, row: int, columns: int):
        super().__init__(f"row {row} has {columns} columns")
        self.row, self.columns = row, columns


def _local(name: str) -> str:
    """An element or attribute name without its namespace prefix ("x:c" -> "c"); most files use none."""
    return name.rpartition(":")[2]


def _parse(archive: zipfile.ZipFile, path: str, start, end=None, text=None) -> None:
    """Stream one XML part of the workbook through expat handlers (no namespace processing: it costs a third of
    the parse, and the element names of the spreadsheet namespace are unambiguous without it)."""
    parser = expat.ParserCreate()
    parser.buffer_text = True
    parser.StartElementHandler = start
    if end:
        parser.EndElementHandler = end
    if text:
        parser.CharacterDataHandler = text
    with archive.open(path) as part:
        parser.ParseFile(part)


def _workbook_parts(archive: zipfile.ZipFile) -> tuple[dict[str, str], str | None]:
    """Sheet name -> worksheet part path, in workbook order; and the shared strings part, if any."""
    targets: dict[str, str] = {}
    shared: list[str] = []

    def relation(name, attrs):
        if _local(name) == "Relationship":
            target = attrs.get("Target", "")
            path = target.lstrip("/") if target.startswith("/") else posixpath.normpath(f"xl/{target}")
            targets[attrs.get("Id", "")] = path
            if attrs.get("Type", "").endswith("/sharedStrings"):
                shared.append(path)

    _parse(archive, "xl/_rels/workbook.xml.rels", relation)
    sheets: dict[str, str] = {}

    def sheet(name, attrs):
        if _local(name) == "sheet":
            relation_id = next((v for k, v in attrs.items() if _local(k) == "id"), "")
            path = targets.get(relation_id, "")
            if "worksheets/" in path:  # chart sheets hold no cells
                sheets[attrs.get("name", "")] = path

    _parse(archive, "xl/workbook.xml", sheet)
    return sheets, (shared[0] if shared else None)


def _shared_strings(archive: zipfile.ZipFile, path: str | None) -> list[str]:
    """The workbook's shared strings; rich-text runs joined, phonetic hints (rPh) left out."""
    if path is None or path not in archive.namelist():
        return []
    strings: list[str] = []
    parts: list[str] = []
    state = {"text": False, "phonetic": 0}

    def start(name, _attrs):
        tag = _local(name)
        if tag == "si":
            parts.clear()
        elif tag == "t" and not state["phonetic"]:
            state["text"] = True
        elif tag == "rPh":
            state["phonetic"] += 1

    def end(name):
        tag = _local(name)
        if tag == "si":
            strings.append("".join(parts))
        elif tag == "t":
            state["text"] = False
        elif tag == "rPh":
            state["phonetic"] -= 1

    def text(data):
        if state["text"]:
            parts.append(data)

    _parse(archive, path, start, end, text)
    return strings


def _sheet_rows(archive: zipfile.ZipFile, path: str,
                shared: list[str]) -> tuple[dict[int, dict[int, str]], set[tuple[int, int]]]:
    """Row number -> {column position: text as a user sees it} for the cells that hold something, and the
    (row, column) of every formula cell.

    A formula cell reads as "=" and its formula (its cached result is ignored; nothing is ever calculated). Text
    that merely starts with "=" is text. The handlers run once per XML element (over a million times for a
    50,000-row export), hence the plain local variables and the caches.
    """
    rows: dict[int, dict[int, str]] = {}
    formulas: set[tuple[int, int]] = set()
    cells: dict[int, str] = {}
    parts: list[str] = []
    tags: dict[str, str] = {}
    columns: dict[str, int] = {}
    row, col, kind, formula, value, inside, phonetic = 0, -1, "n", None, None, None, 0

    def start(name, attrs):
        nonlocal row, col, kind, formula, value, inside, phonetic
        tag = tags.get(name) or tags.setdefault(name, _local(name))
        if tag == "c":
            ref = attrs.get("r")
            if ref:
                letters = ref.rstrip("0123456789")
                col = columns.get(letters)
                if col is None:
                    col = columns.setdefault(letters, _column_index(letters))
            else:
                col += 1
            kind, formula, value = attrs.get("t", "n"), None, None
            parts.clear()
        elif tag == "v" or tag == "f":
            inside = tag
            parts.clear()
        elif tag == "t":
            if not phonetic:
                inside = tag
        elif tag == "row":
            ref = attrs.get("r")
            row, col = (int(ref) if ref else row + 1), -1
            cells.clear()
        elif tag == "rPh":
            phonetic += 1

    def end(name):
        nonlocal formula, value, inside, phonetic
        tag = tags[name]
        if tag == "v":
            value, inside = "".join(parts), None
        elif tag == "c":
            text = _cell_value(kind, value, formula, parts, shared)
            if text:
                cells[col] = text
            if formula is not None:
                formulas.add((row, col))
        elif tag == "f":
            formula, inside = "".join(parts), None
        elif tag == "t":
            inside = None
        elif tag == "row" and cells:
            width = max(cells) + 1
            if width > MAX_COLUMNS:
                raise _TooWide(row, width)
            rows[row] = dict(cells)
        elif tag == "rPh":
            phonetic -= 1

    def text(data):
        if inside:
            parts.append(data)

    _parse(archive, path, start, end, text)
    return rows, formulas


def _cell_value(kind: str, value: str | None, formula: str | None, inline: list[str], shared: list[str]) -> str:
    if formula is not None:
        return "=" + (formula or "(shared formula)")
    if kind == "inlineStr":
        return "".join(inline)
    if value is None:
        return ""
    if kind == "s":
        return shared[int(value)]
    if kind == "b":
        return "TRUE" if value == "1" else "FALSE"
    if kind in ("str", "e"):
        return value
    if kind == "d":
        return value.removesuffix("T00:00:00")
    return _number_text(float(value))


def _column_index(ref: str) -> int:
    """0-based column of a cell reference such as "AB12"."""
    index = 0
    for char in ref:
        if not char.isalpha():
            break
        index = index * 26 + ord(char.upper()) - 64
    return index - 1


def _pick_sheet(names: list[str], preferred: str) -> str | None:
    by_key = {header_key(n): n for n in names}
    if header_key(preferred) in by_key:
        return by_key[header_key(preferred)]
    return next((n for n in names if header_key(n) != "instructions"), None)


def _number_text(value: float) -> str:
    """A number as a user sees it: 4.1 stays "4.1" (not 4.0999999999999996), 1001.0 becomes "1001"."""
    if value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return f"{value:.15g}"


def _from_rows(name: str, raw: pd.DataFrame, header_keys: Collection[str],
               formulas: set[tuple[int, int]] = frozenset()) -> Table:
    """Find the header row, drop blank rows and empty unnamed columns, keep spreadsheet row numbers."""
    blank = raw.apply(lambda c: c.str.strip().eq("")).all(axis=1)
    filled = raw.index[~blank]
    if len(filled) == 0:
        raise UnreadableFile(Problem(name, None, "", "", "The file has no rows."))
    header_row = filled[0]
    wanted = set(header_keys)
    if wanted:
        for row in filled[:HEADER_SEARCH_ROWS]:
            if wanted & {header_key(v) for v in raw.loc[row]}:
                header_row = row
                break
    headers = [str(v).strip() for v in raw.loc[header_row]]
    cells = raw.loc[(raw.index > header_row) & ~blank]
    keep = [i for i, h in enumerate(headers) if h or cells[raw.columns[i]].str.strip().ne("").any()]
    cells = cells[[raw.columns[i] for i in keep]]
    cells.columns = range(len(keep))
    headers = [headers[i] for i in keep]
    position = {raw.columns[i]: p for p, i in enumerate(keep)}
    return Table(filename=name, sha256="", headers=headers, keys=[header_key(h) for h in headers], cells=cells,
                 header_row=int(header_row),
                 formulas={(r, position[c]) for r, c in formulas if r >= header_row and c in position})


def _check_cells(table: Table) -> None:
    """Report cells longer than Excel allows and formulas (never calculated) as errors.

    In a workbook a formula is a formula cell; in a CSV file it is any cell starting with "=", because that is
    what Excel makes of it when the file is opened.
    """
    for position in table.cells.columns:
        column = table.cells[position]
        too_long = column.str.len() > MAX_CELL_CHARS
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
