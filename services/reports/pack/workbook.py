"""The pack's workbook for people, written as a stream: one sheet per section, rows never all in memory.

openpyxl lays the workbook out once (styles, header rows, column widths, frozen header, filters, print setup as
wide as the page with the header on every page); the package is then written part by part into a ZIP stream, each
section's rows streamed into its sheet as SpreadsheetML as the section yields them. The ranges that reach Excel's
last row in the layout (filters) are set to each sheet's real last row afterwards: the sheet's tail and the
workbook part are written after its rows.

Text cells go through services.exports.safe (never a formula; text that looks like one keeps Excel's quote prefix);
numbers, dates and times stay typed so filters and sorting work.
"""

import re
import zipfile
from collections.abc import Callable, Iterable, Sequence
from datetime import date
from typing import IO

import numpy as np
import pandas as pd
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, NamedStyle, PatternFill
from openpyxl.utils import get_column_letter

from services.exports.safe import DATE_FORMAT, DATETIME_FORMAT, cell_text, sheet_cell, xml_text_cell_tail
from services.exports.xlsx import LAST_ROW, LINE_HEIGHT, Layout, text_height
from services.reports.pack.base import Column, Kind, PackContext, Section

ABOUT_SHEET = "About"
_EXCEL_EPOCH = np.datetime64("1899-12-30T00:00:00", "s")
_LAST_ROW_TEXT = str(LAST_ROW).encode()
_RANGE_END = re.compile(rb"(\$?[A-Z]{1,3}\$?)" + _LAST_ROW_TEXT + rb"(?![0-9])")
_DEFINED_NAME = re.compile(rb'(<definedName [^>]*localSheetId=")([0-9]+)("[^>]*>)([^<]*)(</definedName>)')
_MAX_ROW_HEIGHT = 200.0  # points: a very long text is cut on screen rather than filling a page
_STYLE_NAMES = {Kind.text: "pack text", Kind.wrap: "pack wrap", Kind.integer: "pack integer",
                Kind.number: "pack number", Kind.date: "pack date", Kind.datetime: "pack datetime",
                Kind.flag: "pack text"}

Progress = Callable[[str], None]


def _styles(book: Workbook) -> None:
    top = Alignment(vertical="top")
    for style in (
        NamedStyle("pack header", font=Font(bold=True, color="FFFFFF"), fill=PatternFill("solid", fgColor="1F4E78"),
                   alignment=Alignment(vertical="center", wrap_text=True)),
        NamedStyle("pack title", font=Font(bold=True, size=14)),
        NamedStyle("pack heading", font=Font(bold=True), alignment=top),
        NamedStyle("pack text", number_format="@", alignment=top),
        NamedStyle("pack wrap", number_format="@", alignment=Alignment(vertical="top", wrap_text=True)),
        NamedStyle("pack integer", number_format="#,##0", alignment=top),
        NamedStyle("pack number", number_format="#,##0.00", alignment=top),
        NamedStyle("pack date", number_format=DATE_FORMAT, alignment=top),
        NamedStyle("pack datetime", number_format=DATETIME_FORMAT, alignment=top),
    ):
        book.add_named_style(style)


def _page_setup(sheet, title: str, landscape: bool) -> None:
    """Printed as wide as the page, as many pages down as it takes, the header row on every page."""
    sheet.page_setup.orientation = "landscape" if landscape else "portrait"
    sheet.page_setup.fitToWidth = 1
    sheet.page_setup.fitToHeight = 0
    sheet.sheet_properties.pageSetUpPr.fitToPage = True
    sheet.page_margins.left = sheet.page_margins.right = 0.4
    sheet.print_options.gridLines = True
    sheet.oddFooter.left.text = title
    sheet.oddFooter.right.text = "Page &P of &N"


class _Sheet:
    """The style ids a sheet's streamed cells refer to, per column."""

    def __init__(self, sheet, columns: Sequence[Column]):
        self.columns = columns
        self.letters = [get_column_letter(i) for i in range(1, len(columns) + 1)]
        self.ids: list[tuple[int, int]] = []
        for column in columns:
            name = _STYLE_NAMES[column.kind]
            if column.kind in (Kind.text, Kind.wrap, Kind.flag):
                self.ids.append((sheet_cell(sheet, "x", name).style_id, sheet_cell(sheet, "=x", name).style_id))
            else:
                sample = {Kind.date: date(2000, 1, 1), Kind.datetime: pd.Timestamp("2000-01-01 01:00").to_pydatetime()
                          }.get(column.kind, 1)
                self.ids.append((sheet_cell(sheet, sample, name).style_id, 0))


def _layout(sections: Sequence[Section], ctx: PackContext, title: str) -> tuple[Layout, dict[str, _Sheet]]:
    book = Workbook(write_only=True)
    book.properties.creator = "CTPAT Workbench"
    book.properties.title = title
    book.properties.created = ctx.as_of.replace(tzinfo=None)
    _styles(book)
    about = book.create_sheet(ABOUT_SHEET)
    about.column_dimensions["A"].width = 28
    about.column_dimensions["B"].width = 18
    about.column_dimensions["C"].width = 90
    _page_setup(about, title, landscape=False)
    sheets = {ABOUT_SHEET: _Sheet(about, [Column("a", "", 28, Kind.text), Column("b", "", 18, Kind.text),
                                          Column("c", "", 90, Kind.wrap)])}
    sheets[ABOUT_SHEET].title_ids = (sheet_cell(about, "x", "pack title").style_id,
                                     sheet_cell(about, "=x", "pack title").style_id)
    sheets[ABOUT_SHEET].heading_ids = (sheet_cell(about, "x", "pack heading").style_id,
                                       sheet_cell(about, "=x", "pack heading").style_id)
    for section in sections:
        sheet = book.create_sheet(section.sheet)
        sheet.freeze_panes = "A2"
        width = sum(c.width for c in section.columns)
        _page_setup(sheet, f"{title} · {section.title}", landscape=width > 100)
        sheet.print_title_rows = "1:1"
        for position, column in enumerate(section.columns, start=1):
            sheet.column_dimensions[get_column_letter(position)].width = column.width
        height = max(text_height(c.header, c.width) for c in section.columns)
        if height > LINE_HEIGHT:
            sheet.row_dimensions[1].height = height
        sheet.append([sheet_cell(sheet, c.header, "pack header") for c in section.columns])
        sheet.auto_filter.ref = f"A1:{get_column_letter(len(section.columns))}{LAST_ROW}"
        sheets[section.sheet] = _Sheet(sheet, section.columns)
    return Layout.of(book), sheets


def _serials(values: pd.Series, with_time: bool) -> np.ndarray:
    """Excel date serial numbers as text ("" for missing), vectorised; aware datetimes in UTC, to the second."""
    stamps = pd.to_datetime(values, errors="coerce", utc=with_time)
    if with_time:
        stamps = stamps.dt.tz_localize(None)
    seconds = (stamps.to_numpy(dtype="datetime64[s]") - _EXCEL_EPOCH).astype("int64")
    missing = stamps.isna().to_numpy()
    if with_time:
        # Whole days and the fraction as decimals of 1/86400 (exact to the second, no float formatting).
        days, rest = np.divmod(seconds, 86400)
        text = days.astype(str).astype(object) + np.where(
            rest > 0, "." + np.char.zfill((rest * 10**10 // 86400).astype(str), 10).astype(object), "")
    else:
        text = (seconds // 86400).astype(str).astype(object)
    return np.where(missing, "", text).astype(object)


def _numbers(values: pd.Series, integer: bool) -> np.ndarray:
    """Numbers as text for `<v>` ("" for missing), vectorised."""
    numeric = pd.to_numeric(values, errors="coerce").astype("float64").to_numpy()
    missing = np.isnan(numeric)
    whole = integer | (np.mod(np.nan_to_num(numeric), 1) == 0)
    as_int = np.where(missing, 0, np.round(np.nan_to_num(numeric))).astype("int64").astype(str).astype(object)
    as_float = numeric.astype(str).astype(object)
    return np.where(missing, "", np.where(whole, as_int, as_float)).astype(object)


def _flag_text(value: object) -> object:
    if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)):
        return None
    return "Yes" if value else "No"


def _column_tails(values: pd.Series, column: Column, ids: tuple[int, int]) -> tuple[np.ndarray, np.ndarray | None]:
    """What follows `<c r="A2` for each value of one column ("" for an empty cell), and for a wrapped column each
    cell's height. Each distinct text is turned into XML once (questions and answers repeat)."""
    kind = column.kind
    if kind in (Kind.text, Kind.wrap, Kind.flag):
        objects = values.to_numpy(dtype=object, na_value=None)
        if kind == Kind.flag:
            objects = np.array([_flag_text(v) for v in objects], dtype=object)
        # Each distinct value once: factorize is vectorised, the XML of a value is made once per chunk.
        codes, distinct = pd.factorize(objects, use_na_sentinel=True)
        texts = [str(v) for v in distinct]
        tails = np.array(['"' + xml_text_cell_tail(t, *ids) if t else "" for t in texts] + [""], dtype=object)
        out = tails[codes]  # code -1 (missing) picks the trailing ""
        heights = None
        if kind == Kind.wrap:
            sizes = np.array([text_height(cell_text(t), column.width) if t else LINE_HEIGHT for t in texts]
                             + [LINE_HEIGHT])
            heights = sizes[codes]
        return out, heights
    style = f' s="{ids[0]}"' if ids[0] else ""
    numbers = (_serials(values, kind == Kind.datetime) if kind in (Kind.date, Kind.datetime)
               else _numbers(values, kind == Kind.integer))
    return np.where(numbers == "", "", '"' + style + "><v>" + numbers + "</v></c>").astype(object), None


def _row_chunks(frames: Iterable[pd.DataFrame], sheet: _Sheet, counter: list[int]) -> Iterable[bytes]:
    """SpreadsheetML rows from the section's frames, from row 2 on; counter[0] is the number written so far.

    Built column by column on object arrays: each row is a run of pieces in one 2-D array (row start, then per
    column the cell's start, its row number and its tail, all "" for an empty cell), joined once per chunk; no
    Python loop over cells.
    """
    for frame in frames:
        if frame.empty:
            continue
        n = len(frame)
        first = counter[0] + 2
        numbers = np.arange(first, first + n).astype(str).astype(object)
        pieces = np.empty((n, 3 * len(sheet.columns) + 5), dtype=object)
        tallest = np.full(n, LINE_HEIGHT)
        for index, (column, ids, letter) in enumerate(zip(sheet.columns, sheet.ids, sheet.letters, strict=True)):
            tails, heights = _column_tails(frame[column.name], column, ids)
            filled = tails != ""
            pieces[:, 4 + 3 * index] = np.where(filled, f'<c r="{letter}', "")
            pieces[:, 5 + 3 * index] = np.where(filled, numbers, "")
            pieces[:, 6 + 3 * index] = tails
            if heights is not None:
                tallest = np.maximum(tallest, heights)
        pieces[:, 0] = '<row r="'
        pieces[:, 1] = numbers
        pieces[:, 2] = np.where(tallest > LINE_HEIGHT, '" ht="' + np.minimum(tallest, _MAX_ROW_HEIGHT).astype(str)
                                .astype(object) + '" customHeight="1', "")
        pieces[:, 3] = '">'
        pieces[:, -1] = "</row>"
        counter[0] += n
        yield "".join(pieces.ravel().tolist()).encode()


def _about_rows(sheet: _Sheet, lines: list[tuple[str, str, str, str]]) -> bytes:
    """The About sheet's rows: (style: title|heading|text, A, B, C) from row 1."""
    out = []
    for number, (style, *values) in enumerate(lines, start=1):
        cells = []
        height = LINE_HEIGHT
        for letter, value, column, ids in zip(sheet.letters, values, sheet.columns, sheet.ids, strict=True):
            if not value:
                continue
            if style == "title" and letter == "A":
                ids = sheet.title_ids
            elif style == "heading":
                ids = sheet.heading_ids
            cells.append(f'<c r="{letter}{number}"{xml_text_cell_tail(value, *ids)}')
            if column.kind == Kind.wrap:
                height = max(height, text_height(cell_text(value), column.width))
        tall = f' ht="{height:g}" customHeight="1"' if height > LINE_HEIGHT else ""
        out.append(f'<row r="{number}"{tall}>{"".join(cells)}</row>')
    return "".join(out).encode()


def _zip_info(name: str, ctx: PackContext) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=ctx.as_of.timetuple()[:6])
    info.compress_type = zipfile.ZIP_DEFLATED
    # Fast deflate: the sheets are large and repetitive, level 1 costs a third of the default's time.
    setattr(info, "compress_level" if hasattr(zipfile.ZipInfo, "compress_level") else "_compresslevel", 1)
    info.external_attr = 0o644 << 16
    return info


def write_workbook(stream: IO[bytes], *, sections: Sequence[Section], ctx: PackContext, title: str,
                   about: Callable[[dict[str, int]], list[tuple[str, str, str, str]]],
                   progress: Progress | None = None) -> dict[str, int]:
    """Write the workbook into `stream` (a file, or an entry of the pack's ZIP opened for writing).

    `about(counts)` gives the About sheet's lines once every section's row count is known. Returns the number of
    rows per sheet.
    """
    layout, sheets = _layout(sections, ctx, title)
    parts = dict(layout.parts)
    sheet_parts = {name: layout.sheet_part(name) for name in sheets}
    order = [ABOUT_SHEET, *(s.sheet for s in sections)]
    counts: dict[str, int] = {}
    stamp = ctx.as_of.strftime("%Y-%m-%dT%H:%M:%SZ").encode()
    parts["docProps/core.xml"] = re.sub(rb"(<dcterms:(?:created|modified)[^>]*>)[^<]*", rb"\g<1>" + stamp,
                                        parts["docProps/core.xml"])
    later = {sheet_parts[name] for name in order} | {"xl/workbook.xml"}
    with zipfile.ZipFile(stream, "w", zipfile.ZIP_DEFLATED) as package:
        for name, content in parts.items():
            if name not in later:
                package.writestr(_zip_info(name, ctx), content)
        for section in sections:
            if progress:
                progress(section.title)
            part = parts[sheet_parts[section.sheet]]
            part = re.sub(rb"<dimension [^>]*/>", b"", part)
            head, tail = part.split(b"<sheetData>", 1)
            header, tail = tail.split(b"</sheetData>", 1)
            counter = [0]
            with package.open(_zip_info(sheet_parts[section.sheet], ctx), "w") as out:
                out.write(head + b"<sheetData>" + header)
                for chunk in _row_chunks(section.rows(ctx), sheets[section.sheet], counter):
                    out.write(chunk)
                last = str(max(counter[0] + 1, 1)).encode()
                out.write(b"</sheetData>" + _RANGE_END.sub(rb"\g<1>" + last, tail))
            counts[section.sheet] = counter[0]
        part = parts[sheet_parts[ABOUT_SHEET]]
        part = re.sub(rb"<dimension [^>]*/>", b"", part)
        head, tail = part.split(b"<sheetData", 1)
        tail = tail.split(b"</sheetData>", 1)[1] if b"</sheetData>" in tail else tail.split(b"/>", 1)[1]
        with package.open(_zip_info(sheet_parts[ABOUT_SHEET], ctx), "w") as out:
            out.write(head + b"<sheetData>" + _about_rows(sheets[ABOUT_SHEET], about(counts)) + b"</sheetData>"
                      + tail)
        last_rows = {index: str(counts.get(name, 0) + 1).encode() for index, name in enumerate(order)}

        def real_end(match: re.Match) -> bytes:
            end = last_rows.get(int(match[2]), b"1")
            return match[1] + match[2] + match[3] + _RANGE_END.sub(rb"\g<1>" + end, match[4]) + match[5]

        package.writestr(_zip_info("xl/workbook.xml", ctx), _DEFINED_NAME.sub(real_end, parts["xl/workbook.xml"]))
    return counts
