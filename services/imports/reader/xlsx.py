"""The check of an .xlsx workbook before it is read: macros, the sheet to read, its size, its formulas.

The sheet XML is scanned with regular expressions over inflated slices (memory stays bounded whatever the size):
in the files Excel, LibreOffice and openpyxl write, every cell starts `<c r="B7"`, so counting cell tags and
their references gives the sheet's extent at the speed of a byte search. A sheet whose cells do not all look
like that (references left out, other attribute order, namespace prefixes), or that holds formulas, or whose
quick extent is over a limit, is scanned again cell by cell, following the references the way the library
does; the limits are then applied to non-empty cells only.
"""

import posixpath
import re
from dataclasses import dataclass
from xml.parsers import expat
from xml.sax.saxutils import unescape

import numpy as np

from services.imports.reader import limits as reader_limits
from services.imports.reader.archive import Archive, Malformed, slices
from services.imports.reader.extent import Extent, column_index
from services.imports.reader.table import UnreadableFile, header_key, unreadable

_ATTRS = rb'(?:\s+[\w:.-]+\s*=\s*(?:"[^"]*"|\'[^\']*\'))*'
_CELL_LETTERS = re.compile(rb'<c r="([A-Z]{1,3})[0-9]')
_CELL_REF = re.compile(rb'<c r="([A-Z]{1,3})([0-9]{1,7})"')
# Literal markup and the least bytes each stands for: a cell's ">" and "</c>" (its tag, counted apart, is at least
# `<c r="A1"/>`), a value's <v></v>, an inline string's <is><t></t></is>, a row's <row></row>.
_MARKUP = ((b"</c>", 3), (b"<v>", 7), (b"<is><t>", 16), (b"<row", 11))
# What makes rows not plain: a reference ("r=", also "r =" below), a formula, a shared string, a namespace prefix,
# CDATA or a comment. Searched as bytes: a search is fast, a regular expression trying each position is not.
_NOT_PLAIN = (b"r=", b"<f", b'"s"', b"'s'", b":c", b":row", b"<!")
_SPACED_NAME = re.compile(rb"r\s+=")
_CELL_ROW = re.compile(rb'<c r="[A-Z]{1,3}([0-9]{1,7})"')
_LONGER_NAME = re.compile(rb"<c[^\s/>]")
_SHARED = re.compile(rb'<c r="[A-Z]{1,3}[0-9]{1,7}"(?: s="[0-9]+")? t="s"(?: s="[0-9]+")?><v>([0-9]+)</v>')
_PREFIXED_CELL = re.compile(rb"<[\w.-]+:c[\s/>]")
_ELEMENT = re.compile(rb"<(/?)(?:[\w.-]+:)?(row|c)(?=[\s/>])(" + _ATTRS + rb")\s*(/?)>")
_ATTR = re.compile(rb'([\w:.-]+)\s*=\s*(?:"([^"]*)"|\'([^\']*)\')')
_CELL_END = re.compile(rb"</(?:[\w.-]+:)?c\s*>")
_VALUE = re.compile(rb"<(?:[\w.-]+:)?(v|is)[\s>]")
_SHARED_VALUE = re.compile(rb"<(?:[\w.-]+:)?v\s*>\s*([0-9]+)\s*<")
_FORMULA = re.compile(rb"<(?:[\w.-]+:)?f(?=[\s/>])" + _ATTRS + rb"\s*(?:/>|>([^<]*)<)")
_ROW_END = re.compile(rb"</(?:[\w.-]+:)?row\s*>")
_SI_END = re.compile(rb"</(?:[\w.-]+:)?si\s*>")


@dataclass
class Checked:
    """A workbook that may be read: the sheet to read and the formulas in it ((row, column) -> "=formula")."""

    sheet: str
    formulas: dict[tuple[int, int], str]


def check(name: str, archive: Archive, preferred: str) -> Checked:
    """Refuse what must not be read (macros, formulas are reported later, oversized sheets) before reading."""
    content_types = archive.find("[Content_Types].xml")
    types = archive.read(content_types) if content_types else b""
    if any(n.endswith("vbaproject.bin") for n in archive.lower) or b"macroenabled" in types.lower():
        raise unreadable(name, ("The workbook contains macros (.xlsm), which are never opened here. Save it as "
                                "'Excel Workbook (.xlsx)' and upload that."))
    workbook = archive.find("xl/workbook.xml")
    if workbook is None:
        raise unreadable(name, "The file is a zip archive but not an Excel workbook. Upload a .xlsx or .csv file.")
    try:
        sheets, shared_path = _workbook_parts(archive, workbook)
    except UnreadableFile:
        raise
    except (KeyError, ValueError, expat.ExpatError) as exc:
        raise unreadable(name, f"The workbook is damaged and cannot be read ({exc}).") from exc
    sheet = pick_sheet(list(sheets), preferred)
    if sheet is None:
        raise unreadable(name, "The workbook has no sheet to read.")
    path = archive.find(sheets[sheet])
    if path is None:
        raise unreadable(name, f"The workbook is damaged: sheet '{sheet}' is missing.")
    shared = _shared_lengths(archive, shared_path, reader_limits.current())
    extent = _quick(name, sheet, archive, path, shared)
    if extent is None:
        extent = _cell_by_cell(name, sheet, archive, path, shared)
    archive.check_the_rest()
    return Checked(sheet, extent.formulas)


def pick_sheet(names: list[str], preferred: str) -> str | None:
    """The sheet named `preferred` (case and spaces aside), else the first one other than "Instructions"."""
    by_key = {header_key(n): n for n in names}
    if header_key(preferred) in by_key:
        return by_key[header_key(preferred)]
    return next((n for n in names if header_key(n) != "instructions"), None)


def _local(name: str) -> str:
    return name.rpartition(":")[2]


def _parse(data: bytes, start) -> None:
    parser = expat.ParserCreate()
    parser.StartElementHandler = start
    parser.Parse(data, True)


def _workbook_parts(archive: Archive, workbook: str) -> tuple[dict[str, str], str | None]:
    """Sheet name -> worksheet part path, in workbook order; and the shared strings part, if any."""
    targets: dict[str, str] = {}
    shared: list[str] = []

    def relation(tag, attrs):
        if _local(tag) == "Relationship":
            target = attrs.get("Target", "")
            path = target.lstrip("/") if target.startswith("/") else posixpath.normpath(f"xl/{target}")
            targets[attrs.get("Id", "")] = path
            if attrs.get("Type", "").endswith("/sharedStrings"):
                shared.append(path)

    rels = archive.find("xl/_rels/workbook.xml.rels")
    if rels is None:
        raise KeyError("xl/_rels/workbook.xml.rels")
    _parse(archive.read(rels), relation)
    sheets: dict[str, str] = {}

    def sheet(tag, attrs):
        if _local(tag) == "sheet":
            relation_id = next((v for k, v in attrs.items() if _local(k) == "id"), "")
            path = targets.get(relation_id, "")
            if "worksheets/" in path:  # chart sheets and macro sheets hold no cells to import
                sheets[attrs.get("name", "")] = path

    _parse(archive.read(workbook), sheet)
    return sheets, (archive.find(shared[0]) if shared else None)


def _shared_lengths(archive: Archive, path: str | None, limits: reader_limits.Limits) -> list[int]:
    """The size in bytes of each shared string's XML: at least its length in characters. The library holds them
    all, so their number and their text count against the limits even if no cell shows them."""
    if path is None:
        return []
    ends: list[int] = []
    offset = 0
    for piece in slices(archive.chunks(path), _SI_END):
        ends.extend(offset + m.end() for m in _SI_END.finditer(piece))
        offset += len(piece)
        if len(ends) > limits.max_cells or offset > limits.max_text_chars:
            raise unreadable(archive.name, (
                f"The workbook's shared texts are too many or too long ({len(ends):,} texts, {offset:,} bytes); at "
                f"most {limits.max_cells:,} texts and {limits.max_text_chars:,} characters are read."))
    return [end - start for start, end in zip([0, *ends], ends, strict=False)]


def _cell_tags(piece: bytes) -> int:
    """Cell start tags in a slice: every "<c" not followed by more of a name (<cols>, <cfRule>), and prefixed
    ones ("<x:c ") found by a search when the slice has any."""
    count = piece.count(b"<c") - len(_LONGER_NAME.findall(piece))
    if b":c" in piece:
        count += len(_PREFIXED_CELL.findall(piece))
    return count


def _quick(name: str, sheet: str, archive: Archive, path: str, shared: list[int]) -> Extent | None:
    """The extent from counts and references, or None when the sheet needs the cell-by-cell scan.

    The text is the slice's size less the least markup its tags take (text cannot hold a "<" outside CDATA).
    The extent counts empty cells too; over a limit, it is counted again without them before refusing.
    """
    extent = Extent(name, sheet)
    letters: set[bytes] = set()
    rows: set[bytes] = set()
    total = 0
    try:
        for piece in slices(archive.chunks(path), _ROW_END):
            if b"<![CDATA[" in piece or b":f" in piece:
                return None
            tags = _cell_tags(piece)
            references = _CELL_ROW.findall(piece)
            if len(references) != tags:
                return None
            rows.update(references)
            letters.update(_CELL_LETTERS.findall(piece))
            extent.cells += tags
            total += len(piece)
            # The XML's size bounds its text; the markup is counted only when that bound is over the limit.
            extent.text += len(piece) if total <= extent.limits.max_text_chars else \
                len(piece) - 11 * tags - sum(piece.count(tag) * size for tag, size in _MARKUP)
            uses = piece.count(b' t="s"') if shared else 0
            if uses:
                indexes = _SHARED.findall(piece)
                if len(indexes) != uses:
                    return None
                extent.text += sum(shared[i] if i < len(shared) else 0 for i in map(int, indexes))
            if b"<f" in piece and not _formulas(piece, extent):
                return None
    except UnreadableFile:
        raise
    except (Malformed, ValueError):
        return None
    extent.last_row = max(map(int, rows), default=0)
    extent.last_column = max((column_index(c.decode()) for c in letters), default=-1)
    try:
        extent.check()
    except UnreadableFile:
        return None  # counting empty cells too: the cell-by-cell scan decides, and names the row
    return extent


def _formulas(piece: bytes, extent: Extent) -> bool:
    """Note the slice's formula cells, found from each <f> back to its cell's reference; False if one has none."""
    for formula in _FORMULA.finditer(piece):
        cell = _CELL_REF.match(piece, piece.rfind(b'<c r="', 0, formula.start()))
        if cell is None:
            return False
        position = (int(cell.group(2)), column_index(cell.group(1).decode()))
        text = unescape((formula.group(1) or b"").decode("utf-8", "replace"))
        if len(extent.formulas) < 10_000:
            extent.formulas[position] = "=" + (text or "(shared formula)")
    return True


def _cell_by_cell(name: str, sheet: str, archive: Archive, path: str, shared: list[int]) -> Extent:
    """Every cell in order, positioned as the library positions it: by its reference, else after the previous
    cell of its row (a row without a reference follows the previous row). Empty cells are not counted."""
    extent = Extent(name, sheet)
    row, column = 0, 0  # 0-based, as the library counts
    try:
        for piece in slices(archive.chunks(path), _ROW_END):
            if _plain(piece):  # rows of cells without references: all counted at once
                rows = piece.count(b"<row")
                cells = _cell_tags(piece)
                if cells:
                    widest = _widest_row(piece)
                    markup = 11 * cells + sum(piece.count(tag) * size for tag, size in _MARKUP)
                    extent.add(row + rows, widest - 1, max(0, len(piece) - markup))
                    extent.check()
                row, column = row + rows, 0
                continue
            at = 0
            while match := _ELEMENT.search(piece, at):
                at = match.end()
                closing, tag, raw, empty = match.groups()
                attributes = _attributes(raw) if raw else {}
                if tag == b"row":
                    if closing:
                        row, column = row + 1, 0
                        extent.check()
                    elif b"r" in attributes:
                        row = int(attributes[b"r"]) - 1
                    if empty and not closing:
                        row, column = row + 1, 0
                    elif not closing and (end := _plain_row(piece, at)):  # a row of cells without references
                        body = piece[at:end.start()]
                        cells = _cell_tags(body)
                        if cells and (body.count(b"<v") or body.count(b"<is")):
                            markup = 11 * cells + sum(body.count(tag) * size for tag, size in _MARKUP)
                            extent.add(row + 1, cells - 1, max(0, len(body) - markup))
                        at = end.start()
                    continue
                if closing:
                    continue
                reference = attributes.get(b"r")
                if reference:
                    letters = reference.rstrip(b"0123456789")
                    row, column = int(reference[len(letters):]) - 1, column_index(letters.decode())
                body = b""
                if not empty:
                    end = _CELL_END.search(piece, at)
                    if end is None:
                        raise Malformed(f"a cell of sheet '{sheet}' is not closed")
                    body, at = piece[at:end.start()], end.end()
                formula = _FORMULA.search(body) if b"f" in body else None
                if formula and len(extent.formulas) < 10_000:
                    text = unescape((formula.group(1) or b"").decode("utf-8", "replace"))
                    extent.formulas[(row + 1, column)] = "=" + (text or "(shared formula)")
                if _VALUE.search(body):
                    chars = len(body)
                    if attributes.get(b"t") == b"s":
                        index = _SHARED_VALUE.search(body)
                        number = int(index.group(1)) if index else -1
                        chars = shared[number] if 0 <= number < len(shared) else 0
                    extent.add(row + 1, column, chars)
                elif formula:
                    extent.add(row + 1, column)
                column += 1
    except UnreadableFile:
        raise
    except (Malformed, ValueError) as exc:
        raise unreadable(name, f"The workbook is damaged and cannot be read ({exc}).") from exc
    extent.check()
    return extent


def _plain(body: bytes) -> bool:
    """Rows whose cells carry no references, formulas, shared strings or namespace prefixes: such cells stand in
    columns A, B, C... of consecutive rows, and rows and cells can be counted at once."""
    return (b"<row" in body and b"<row/" not in body and not any(marker in body for marker in _NOT_PLAIN)
            and not _SPACED_NAME.search(body))


def _widest_row(piece: bytes) -> int:
    """The most cells in one row of a slice of plain rows: the cell tags ("<c") before each row end, counted with
    numpy (a slice holds tens of thousands of rows)."""
    data = np.frombuffer(piece, dtype=np.uint8)
    tags = np.flatnonzero((data[:-1] == ord("<")) & (data[1:] == ord("c")))
    lengths = [len(part) + len(b"</row>") for part in piece.split(b"</row>")]
    ends = np.cumsum(np.array(lengths, dtype=np.int64))
    return int(np.diff(np.searchsorted(tags, ends), prepend=0).max())


def _plain_row(piece: bytes, at: int) -> re.Match | None:
    """The end tag of the row starting at `at` when its cells are plain (see `_plain`)."""
    end = _ROW_END.search(piece, at)
    if end is None:
        return None
    body = piece[at:end.start()]
    return None if any(m in body for m in _NOT_PLAIN) or _SPACED_NAME.search(body) else end


def _attributes(raw: bytes) -> dict[bytes, bytes]:
    """An element's attributes (qualified names as written; the library matches "r" and "t" unprefixed)."""
    return {key: (double or single).strip() for key, double, single in _ATTR.findall(raw)}
