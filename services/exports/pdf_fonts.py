"""Fonts for the PDFs the product writes (fpdf2): a Unicode text font for Latin script (Spanish accents) and a
CJK font for Chinese names, found on the machine.

Where they come from, first found wins:
- ``CTPAT_PDF_FONT`` / ``CTPAT_PDF_CJK_FONT``: paths an admin sets (a .ttf/.otf, or a .ttc: the first face, or
  the Simplified Chinese face of Noto Sans CJK);
- ``seed/fonts/``: files an installation ships (with their licences beside them);
- Debian's packages: fonts-dejavu-core (DejaVu Sans) and fonts-noto-cjk (Noto Sans CJK, SIL Open Font Licence),
  or fonts-wqy-microhei.
Without a Unicode font the PDF falls back to the PDF core font Helvetica, which holds Latin-1 (Spanish accents
are kept) and shows every other character as "?"; ``PdfFonts.missing`` says so, and the PDF prints the notice.
"""

import os
from dataclasses import dataclass
from pathlib import Path

from fpdf import FPDF

SEED_FONTS = Path(__file__).resolve().parents[2] / "seed" / "fonts"
TEXT_CANDIDATES = (
    SEED_FONTS / "DejaVuSans.ttf",
    Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"),
    Path("/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf"),
    Path("/usr/share/fonts/truetype/noto/NotoSans-Regular.ttf"),
)
BOLD_CANDIDATES = (
    SEED_FONTS / "DejaVuSans-Bold.ttf",
    Path("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"),
    Path("/usr/share/fonts/truetype/liberation/LiberationSans-Bold.ttf"),
    Path("/usr/share/fonts/truetype/noto/NotoSans-Bold.ttf"),
)
# (path, face number in a collection): Noto Sans CJK's collection holds JP, KR, SC, TC, HK; SC is face 2.
CJK_CANDIDATES = (
    (SEED_FONTS / "NotoSansSC-Regular.otf", 0),
    (Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"), 2),
    (Path("/usr/share/fonts/truetype/noto/NotoSansCJK-Regular.ttc"), 2),
    (Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"), 0),
)
MISSING_TEXT = ("No Unicode font was found, so characters outside Latin-1 show as '?'. Install fonts-dejavu-core "
                "and fonts-noto-cjk (Debian) or set CTPAT_PDF_FONT and CTPAT_PDF_CJK_FONT.")
MISSING_CJK = ("No CJK font was found, so Chinese, Japanese and Korean characters show as '?'. Install "
               "fonts-noto-cjk (Debian) or set CTPAT_PDF_CJK_FONT to a CJK font file.")


def _first(paths) -> Path | None:
    return next((p for p in paths if p.is_file()), None)


def _env(name: str) -> Path | None:
    value = os.environ.get(name)
    return Path(value) if value and Path(value).is_file() else None


@dataclass(frozen=True)
class PdfFonts:
    """The fonts registered on a document: family to write with, and what is missing (a notice to print)."""

    family: str
    unicode: bool
    missing: str = ""

    def text(self, value: object) -> str:
        """Text the document can draw: unchanged with a Unicode font; Latin-1 with '?' for the rest otherwise."""
        text = "" if value is None else str(value)
        return text if self.unicode else text.encode("latin-1", "replace").decode("latin-1")


def register(pdf: FPDF) -> PdfFonts:
    """Register the best fonts found on `pdf` (family "body", bold style where a bold face exists, CJK fallback)."""
    regular = _env("CTPAT_PDF_FONT") or _first(TEXT_CANDIDATES)
    if regular is None:
        return PdfFonts(family="helvetica", unicode=False, missing=MISSING_TEXT)
    pdf.add_font("body", "", str(regular))
    bold = _first(BOLD_CANDIDATES) if not os.environ.get("CTPAT_PDF_FONT") else None
    pdf.add_font("body", "B", str(bold or regular))
    cjk_env = _env("CTPAT_PDF_CJK_FONT")
    cjk = (cjk_env, 2 if cjk_env.name.startswith("NotoSansCJK") else 0) if cjk_env else next(
        ((p, n) for p, n in CJK_CANDIDATES if p.is_file()), None)
    if cjk is None:
        return PdfFonts(family="body", unicode=True, missing=MISSING_CJK)
    path, face = cjk
    pdf.add_font("cjk", "", str(path), collection_font_number=face if path.suffix.lower() == ".ttc" else 0)
    pdf.add_font("cjk", "B", str(path), collection_font_number=face if path.suffix.lower() == ".ttc" else 0)
    pdf.set_fallback_fonts(["cjk"], exact_match=False)
    return PdfFonts(family="body", unicode=True)
