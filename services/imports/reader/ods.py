"""The check of an OpenDocument spreadsheet (.ods) before it is read: password, macros, sheets, size, formulas.

The spreadsheet library reads every sheet of content.xml when it opens the file, and expands repeated cells and
rows (`table:number-columns-repeated`, `table:number-rows-repeated`) and repeated spaces (`text:s text:c`): a
few bytes can ask for a million copies. Every sheet is scanned here with those repeats multiplied out before
the library opens the file.
"""

import re
from xml.sax.saxutils import unescape

from services.imports.reader.archive import Archive, Malformed, slices
from services.imports.reader.extent import Extent
from services.imports.reader.table import UnreadableFile, unreadable
from services.imports.reader.xlsx import Checked, pick_sheet

MIMETYPE = b"application/vnd.oasis.opendocument.spreadsheet"
_ATTRS = rb'(?:\s+[\w:.-]+\s*=\s*(?:"[^"]*"|\'[^\']*\'))*'
_ELEMENT = re.compile(rb"<(/?)(table:table-row|table:table-cell|table:covered-table-cell|table:table|text:s)(?=[\s/>])("
                      + _ATTRS + rb")\s*(/?)>")
_ATTR = re.compile(rb'([\w:.-]+)\s*=\s*(?:"([^"]*)"|\'([^\']*)\')')
_VALUES = (b"office:value", b"office:string-value", b"office:date-value", b"office:time-value",
           b"office:boolean-value", b"table:formula")
_MAX_REPEAT = 1 << 31
_ROW_END = re.compile(rb"</table:table-row\s*>")
_SPACES = re.compile(rb'text:c\s*=\s*["\'](\d+)')
_ENTITIES = {"&quot;": '"', "&apos;": "'"}


def is_ods(archive: Archive) -> bool:
    mimetype = archive.find("mimetype")
    return mimetype is not None and archive.read(mimetype, 200).strip() == MIMETYPE


def check(name: str, archive: Archive, preferred: str) -> Checked:
    """Refuse what must not be read in an .ods file; the sheet to read and its formula cells."""
    if any(n.startswith(("basic/", "scripts/")) for n in archive.lower):
        raise unreadable(name, ("The spreadsheet contains macros, which are never opened here. Save it without "
                                "macros (or as .xlsx) and upload that."))
    manifest = archive.find("META-INF/manifest.xml")
    if manifest is not None and b"encryption-data" in archive.read(manifest):
        raise unreadable(name, ("The spreadsheet is password-protected (encrypted), which cannot be read: save it "
                                "again without a password."))
    content = archive.find("content.xml")
    if content is None:
        raise unreadable(name, "The file is a zip archive but not a spreadsheet. Upload a .xlsx, .ods or .csv file.")
    sheets = _scan(name, archive, content)
    everything = Extent(name, "all sheets together")  # the library builds every sheet when it opens the file
    everything.text = sum(e.text for e in sheets.values())
    everything.last_row = sum(e.last_row for e in sheets.values())
    everything.last_column = max((e.last_column for e in sheets.values()), default=-1)
    everything.rows_allowed = everything.limits.max_rows * len(sheets)
    everything.check()
    sheet = pick_sheet(list(sheets), preferred)
    if sheet is None:
        raise unreadable(name, "The spreadsheet has no sheet to read.")
    archive.check_the_rest()
    return Checked(sheet, sheets[sheet].formulas)


def _attributes(raw: bytes) -> dict[bytes, bytes]:
    return {m.group(1): m.group(2) if m.group(2) is not None else m.group(3) for m in _ATTR.finditer(raw)}


def _repeat(attributes: dict[bytes, bytes], key: bytes) -> int:
    value = attributes.get(key)
    if value is None:
        return 1
    number = int(value)
    if not 1 <= number < _MAX_REPEAT:
        raise Malformed(f"{key.decode()}={number}")
    return number


def _scan(name: str, archive: Archive, content: str) -> dict[str, Extent]:
    """Every sheet's extent, as the library builds it: each row as wide as its last non-empty cell, repeated
    rows and cells multiplied out, the text of each non-empty cell counted once per copy."""
    sheets: dict[str, Extent] = {}
    extent: Extent | None = None
    row = 0  # rows before the current one, repeats included
    try:
        for piece in slices(archive.chunks(content), _ROW_END):
            at = 0
            while match := _ELEMENT.search(piece, at):
                at = match.end()
                closing, tag, raw, empty = match.groups()
                if tag == b"table:table":
                    if not closing:
                        sheet = unescape(_attributes(raw).get(b"table:name", b"").decode("utf-8", "replace"),
                                         _ENTITIES)
                        extent, row = Extent(name, sheet), 0
                        sheets[sheet] = extent
                    elif extent is not None:
                        extent.check()
                        extent = None
                elif extent is not None and tag == b"table:table-row" and not closing:
                    repeats = _repeat(_attributes(raw), b"table:number-rows-repeated")
                    if not empty:
                        at = _row(piece, at, extent, row + 1, repeats)
                    row += repeats
                    extent.check()
    except UnreadableFile:
        raise
    except (Malformed, ValueError) as exc:
        raise unreadable(name, f"The spreadsheet is damaged and cannot be read ({exc}).") from exc
    return sheets


def _row(piece: bytes, at: int, extent: Extent, row: int, repeats: int) -> int:
    """Scan one row's cells from `at` (its start tag's end); returns where the row ends."""
    column = 0
    while match := _ELEMENT.search(piece, at):
        closing, tag, raw, self_closing = match.groups()
        at = match.end()
        if tag == b"table:table-row" and closing:
            return at
        if closing or tag not in (b"table:table-cell", b"table:covered-table-cell"):
            continue
        attributes = _attributes(raw)
        copies = _repeat(attributes, b"table:number-columns-repeated")
        chars = 0
        if not self_closing:
            end = piece.find(b"</" + tag + b">", at)
            if end < 0:
                raise Malformed("a cell is not closed")
            body = piece[at:end]
            chars = len(body) + sum(int(n) for n in _SPACES.findall(body))
            at = end + len(tag) + 3
        if any(key in attributes for key in _VALUES) or attributes.get(b"office:value-type") == b"string":
            formula = attributes.get(b"table:formula")
            if formula is not None and len(extent.formulas) < 10_000:
                text = unescape(formula.decode("utf-8", "replace"), _ENTITIES)
                extent.formulas[(row, column)] = "=" + text.split(":", 1)[-1].lstrip("=")
            extent.add(row, column + copies - 1, chars * copies, repeats)
        column += copies
    raise Malformed("a row is not closed")
