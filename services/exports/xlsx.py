"""A fast .xlsx writer for sheets of many text rows: openpyxl lays the workbook out, rows are streamed as XML.

openpyxl builds the workbook once (styles, column widths and styles, drop-downs, protection, filters, print
setup) with the long sheet's ranges reaching `LAST_ROW`, and the package is kept as its parts (`Layout`). Each
file is then written by copying the parts, streaming the rows into the long sheet as SpreadsheetML inline-string
cells, and setting the ranges to the real last row. Going cell by cell through openpyxl's write-only mode takes
about ten times longer (50,000 rows of questions: 12-16 s of CPU against 1.2 s).

Cells are written through services.exports.safe: text is never a formula, and text that looks like one carries
the quote prefix.
"""

import io
import math
import re
import unicodedata
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from html import escape
from xml.etree import ElementTree

from openpyxl import Workbook
from openpyxl.utils import get_column_letter
from openpyxl.xml.constants import REL_NS, SHEET_MAIN_NS

from services.exports.safe import sheet_cell, xml_text_cell, xml_text_cell_tail

LAST_ROW = 1_048_576  # Excel's last row: the layout's ranges reach it until the real last row is known
LINE_HEIGHT = 15.0  # points per line of 11-point text, Excel's default row height
WIDE_LINE_HEIGHT = 16.5  # the same for Chinese text, set in a taller fallback font
_CHUNK_ROWS = 5_000
_LAST_ROW_REF = re.compile(rb"(\$?[A-Z]{1,3}\$?)" + str(LAST_ROW).encode() + rb"(?![0-9])")


def text_styles(sheet, names: Sequence[str]) -> list[tuple[int, int]]:
    """Register named styles with the workbook of `sheet`; per name, its cell style id and the id of the same
    style with the quote prefix (for text that looks like a formula). "" stands for the default style."""
    ids = []
    for name in names:
        plain = sheet_cell(sheet, "x", name or None)
        quoted = sheet_cell(sheet, "=x", name or None)
        ids.append((plain.style_id if name else 0, quoted.style_id))
    return ids


def text_height(text: str, width: float) -> float:
    """About how tall (in points) `text` is in a cell `width` characters wide that wraps its text.

    Spreadsheets do not all fit row heights to wrapped text when they open a file (LibreOffice keeps the stored
    height), so rows holding long text get their height from this. A wide East Asian character counts as 1.75
    characters of width.
    """
    usable = max(width - 1.5, 1.0)
    lines, wide = 0, False
    for line in text.split("\n"):
        units = 0.0
        for c in line:
            if unicodedata.east_asian_width(c) in "WF":
                units += 1.75
                wide = True
            else:
                units += 1.0
        lines += max(1, math.ceil(units / usable))
    return lines * (WIDE_LINE_HEIGHT if wide else LINE_HEIGHT)


def row_height(height: float) -> float | None:
    """The height to store for a row whose tallest cell is `height` points tall; None for the default height."""
    return height if height > LINE_HEIGHT else None


@dataclass
class TextRows:
    """Rows of text cells as SpreadsheetML, each column in its style (`text_styles` ids, column A on).

    `wrap` gives, per column, the width of a column that wraps its text (None for one that does not): rows are as
    tall as their longest wrapped text. Each distinct (column, value) is turned into XML once: in a questionnaire
    the same questions repeat for every partner. Empty values are not written at all, so those cells take their
    column's style.
    """

    styles: Sequence[tuple[int, int]]
    wrap: Sequence[float | None] = ()
    _tails: dict[tuple[int, str], tuple[str, float]] = field(default_factory=dict)

    def chunks(self, rows: Iterable[Sequence[str]], first_row: int = 2) -> Iterator[bytes]:
        """The rows from sheet row `first_row` on, a few thousand rows per chunk."""
        letters = [get_column_letter(i) for i in range(1, len(self.styles) + 1)]
        wrap = list(self.wrap) + [None] * (len(self.styles) - len(self.wrap))
        tails = self._tails
        chunk: list[str] = []
        for number, row in enumerate(rows, start=first_row):
            cells = []
            height = LINE_HEIGHT
            for column, value in enumerate(row):
                if value:
                    known = tails.get((column, value))
                    if known is None:
                        width = wrap[column]
                        known = tails[column, value] = (xml_text_cell_tail(value, *self.styles[column]),
                                                        text_height(value, width) if width else LINE_HEIGHT)
                    cells.append(f'<c r="{letters[column]}{number}"{known[0]}')
                    height = max(height, known[1])
            tall = f' ht="{height:g}"' if height > LINE_HEIGHT else ""
            chunk.append(f'<row r="{number}"{tall}>{"".join(cells)}</row>')
            if len(chunk) == _CHUNK_ROWS:
                yield "".join(chunk).encode()
                chunk = []
        if chunk:
            yield "".join(chunk).encode()


@dataclass
class Layout:
    """A workbook laid out by openpyxl, kept as the parts of its package, to be written many times by `write`."""

    parts: dict[str, bytes]  # part name -> content

    @classmethod
    def of(cls, book: Workbook) -> "Layout":
        out = io.BytesIO()
        book.save(out)
        with zipfile.ZipFile(out) as package:
            return cls({name: package.read(name) for name in package.namelist()})

    def sheet_part(self, title: str) -> str:
        """The package part holding the sheet called `title` (found through the workbook and its relationships)."""
        book = ElementTree.fromstring(self.parts["xl/workbook.xml"])
        rel_id = next(sheet.get(f"{{{REL_NS}}}id") for sheet in book.iter(f"{{{SHEET_MAIN_NS}}}sheet")
                      if sheet.get("name") == title)
        rels = ElementTree.fromstring(self.parts["xl/_rels/workbook.xml.rels"])
        target = next(rel.get("Target") for rel in rels if rel.get("Id") == rel_id)
        return target.lstrip("/") if target.startswith("/") else f"xl/{target}"

    def write(self, *, sheet: str, rows: Iterable[bytes], last_row: int,
              cells: dict[str, dict[str, tuple[str, tuple[int, int]]]] | None = None) -> bytes:
        """The workbook with `rows` (SpreadsheetML chunks, e.g. TextRows.chunks) appended to the sheet called
        `sheet`, whose ranges (and the workbook's names: filter, print area) then end at `last_row`.

        `cells` fills in placeholders: per sheet title, a cell whose whole text is a placeholder becomes the text
        cell (value, (style id, quote-prefixed style id)).
        """
        if last_row >= LAST_ROW:
            raise ValueError(f"A sheet holds at most {LAST_ROW - 1:,} rows below its header.")
        long_part = self.sheet_part(sheet)
        fill = {self.sheet_part(title): values for title, values in (cells or {}).items()}
        real = str(last_row).encode()
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as package:
            for name, content in self.parts.items():
                if name in fill:
                    content = _fill_cells(content, fill[name])
                if name == long_part:
                    content = _LAST_ROW_REF.sub(rb"\g<1>" + real, content)
                    head, tail = content.split(b"</sheetData>")
                    with package.open(name, "w") as stream:
                        stream.write(head)
                        for chunk in rows:
                            stream.write(chunk)
                        stream.write(b"</sheetData>" + tail)
                    continue
                if name == "xl/workbook.xml":
                    content = _LAST_ROW_REF.sub(rb"\g<1>" + real, content)
                package.writestr(name, content)
        return out.getvalue()


def _fill_cells(content: bytes, values: dict[str, tuple[str, tuple[int, int]]]) -> bytes:
    """The sheet XML with each placeholder cell replaced by a text cell of its value, in the given style."""
    for placeholder, (value, styles) in values.items():
        pattern = re.compile(rb'<c r="([A-Z]{1,3}[0-9]+)"[^>]*><is><t>' + re.escape(escape(placeholder).encode())
                             + rb"</t></is></c>")
        content, found = pattern.subn(
            lambda m, value=value, styles=styles: xml_text_cell(m[1].decode(), value, *styles).encode(), content)
        if not found:
            raise ValueError(f"No cell holds the placeholder {placeholder!r}")
    return content
