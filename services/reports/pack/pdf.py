"""The pack's PDF for management and the validation (fpdf2): text, key figures, tables and charts.

Text is written as plain text (fpdf2's markdown and HTML are never used), so a partner called "**x**" or "<b>x</b>"
is printed as typed. Fonts: Noto Sans CJK (Latin with accents and Chinese) from the system (Debian's
fonts-noto-cjk) or from seed/fonts; without it DejaVu Sans (Latin, no Chinese), else the PDF core font, and the
cover says which characters cannot be shown. Charts are Vega-Lite specs rendered to PNG by vl-convert (no browser).
"""

import io
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import vl_convert
from fpdf import FPDF
from fpdf.enums import XPos, YPos
from fpdf.fonts import FontFace

ROOT = Path(__file__).resolve().parents[3]
# (regular, bold, collection face number): face 2 of Noto Sans CJK's collection is Simplified Chinese.
_CJK_FONTS = [
    (ROOT / "seed/fonts/NotoSansSC-Regular.otf", ROOT / "seed/fonts/NotoSansSC-Bold.otf", 0),
    (Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"),
     Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc"), 2),
]
_LATIN_FONTS = [(Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"),
                 Path("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"), 0)]
NAVY = (31, 78, 120)


@dataclass(frozen=True)
class FontChoice:
    family: str
    chinese: bool  # Chinese characters are shown
    unicode: bool  # beyond Latin-1
    note: str  # "" when everything is shown


def _font(pdf: FPDF) -> FontChoice:
    for regular, bold, face in _CJK_FONTS:
        if regular.exists() and bold.exists():
            pdf.add_font("pack", "", regular, collection_font_number=face)
            pdf.add_font("pack", "B", bold, collection_font_number=face)
            # Letters the CJK font lacks (Turkish dotless i, S with cedilla...) come from DejaVu when installed.
            for latin, latin_bold, _ in _LATIN_FONTS:
                if latin.exists() and latin_bold.exists():
                    pdf.add_font("latin", "", latin)
                    pdf.add_font("latin", "B", latin_bold)
                    pdf.set_fallback_fonts(["latin"], exact_match=False)
            return FontChoice("pack", True, True, "")
    for regular, bold, face in _LATIN_FONTS:
        if regular.exists() and bold.exists():
            pdf.add_font("pack", "", regular, collection_font_number=face)
            pdf.add_font("pack", "B", bold, collection_font_number=face)
            return FontChoice("pack", False, True, "No Chinese font is installed (Debian: fonts-noto-cjk): Chinese "
                                                   "characters are shown as '?'.")
    return FontChoice("helvetica", False, False, "No Unicode font is installed (Debian: fonts-noto-cjk): characters "
                                                  "outside Western European ones are shown as '?'.")


class PdfReport:
    """An A4 report with a running footer; every text goes through `clean` (plain text the font can show)."""

    def __init__(self, *, title: str, created: datetime):
        pdf = FPDF(orientation="portrait", unit="mm", format="A4")
        pdf.set_creation_date(created)
        pdf.set_title(title)
        pdf.set_creator("CTPAT Workbench")
        pdf.set_auto_page_break(auto=True, margin=15)
        pdf.set_margins(15, 15, 15)
        self.font = _font(pdf)
        self.pdf = pdf
        self.title = title
        report = self

        def footer() -> None:
            pdf.set_y(-11)
            report._set(8)
            pdf.set_text_color(110, 110, 110)
            pdf.cell(0, 5, report.clean(f"{title} · page {pdf.page_no()}"), align="C")
            pdf.set_text_color(0, 0, 0)

        pdf.footer = footer

    def clean(self, text: object) -> str:
        """The text as the font can show it: control characters dropped; without a Unicode font, '?' for the rest;
        without a Chinese font, '?' for wide characters."""
        out = []
        for c in str(text):
            if unicodedata.category(c) in ("Cc", "Cf") and c not in "\n":
                continue
            if not self.font.unicode and ord(c) > 255:
                c = "?"
            elif not self.font.chinese and unicodedata.east_asian_width(c) in "WF":
                c = "?"
            out.append(c)
        return "".join(out)

    def _set(self, size: float, bold: bool = False) -> None:
        self.pdf.set_font(self.font.family, "B" if bold else "", size)

    @property
    def width(self) -> float:
        return self.pdf.w - self.pdf.l_margin - self.pdf.r_margin

    def page(self) -> None:
        self.pdf.add_page()

    def heading(self, text: str, level: int = 1) -> None:
        """A heading; a level-1 heading starts a new page."""
        if level == 1:
            self.pdf.add_page()
        elif self.pdf.get_y() > self.pdf.h - 60:
            self.pdf.add_page()
        self._set(16 if level == 1 else 12, bold=True)
        self.pdf.set_text_color(*NAVY)
        self.pdf.multi_cell(0, 8 if level == 1 else 6, self.clean(text), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.pdf.set_text_color(0, 0, 0)
        self.pdf.ln(2)

    def paragraph(self, text: str, size: float = 10, bold: bool = False) -> None:
        self._set(size, bold)
        self.pdf.multi_cell(0, size * 0.5, self.clean(text), align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.pdf.ln(1.5)

    def figures(self, items: Sequence[tuple[str, str]]) -> None:
        """Key figures in a grid of boxes, three to a row."""
        per_row, gap = 3, 4
        box = (self.width - gap * (per_row - 1)) / per_row
        for start in range(0, len(items), per_row):
            if self.pdf.get_y() > self.pdf.h - 40:
                self.pdf.add_page()
            y = self.pdf.get_y()
            for i, (label, value) in enumerate(items[start:start + per_row]):
                x = self.pdf.l_margin + i * (box + gap)
                self.pdf.set_fill_color(238, 242, 247)
                self.pdf.rect(x, y, box, 20, style="F")
                self.pdf.set_xy(x + 3, y + 2)
                self._set(15, bold=True)
                self.pdf.set_text_color(*NAVY)
                self.pdf.cell(box - 6, 8, self.clean(value))
                self.pdf.set_text_color(60, 60, 60)
                self.pdf.set_xy(x + 3, y + 11)
                self._set(8)
                self.pdf.multi_cell(box - 6, 3.6, self.clean(label), align="L")
                self.pdf.set_text_color(0, 0, 0)
            self.pdf.set_xy(self.pdf.l_margin, y + 24)

    def table(self, headers: Sequence[str], rows: Sequence[Sequence[object]], widths: Sequence[float],
              size: float = 8) -> None:
        """A table with a shaded header row; `widths` are relative (scaled to the page width)."""
        total = sum(widths)
        scaled = tuple(w * self.width / total for w in widths)
        self._set(size)
        heading = FontFace(emphasis="BOLD", color=(255, 255, 255), fill_color=NAVY)
        with self.pdf.table(col_widths=scaled, width=self.width, text_align="LEFT", line_height=size * 0.55,
                            headings_style=heading, first_row_as_headings=True, markdown=False) as table:
            head = table.row()
            for header in headers:
                head.cell(self.clean(header))
            for values in rows:
                row = table.row()
                for value in values:
                    row.cell(self.clean("" if value is None else value))
        self.pdf.ln(3)

    def chart(self, spec: dict, *, width_mm: float | None = None, caption: str = "") -> None:
        """A Vega-Lite chart rendered to PNG without a browser."""
        png = vl_convert.vegalite_to_png(vl_spec=spec, scale=2)
        width_mm = min(width_mm or self.width, self.width)
        image = self.pdf.image(io.BytesIO(png), w=width_mm, x=self.pdf.l_margin)
        del image
        if caption:
            self.paragraph(caption, size=7.5)
        self.pdf.ln(2)

    def output(self, stream) -> None:
        stream.write(bytes(self.pdf.output()))
