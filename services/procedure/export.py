"""The risk assessment procedure as a printable PDF: the live text, or a saved version with its sign-off.

Typed text (company name, notes, user names) is written as plain text only, never markdown or HTML; fonts come
from services.exports.pdf_fonts (Spanish accents and Chinese names print). The same data gives the same content.
"""

from datetime import date

import pandas as pd
from fpdf import FPDF
from fpdf.enums import XPos, YPos
from sqlmodel import Session

from services import procedure
from services.exports import pdf_fonts

TITLE = "Risk assessment procedure"


class _Document(FPDF):
    def __init__(self, title: str):
        super().__init__(orientation="portrait", unit="mm", format="A4")
        self.doc_title = title
        self.typefaces = pdf_fonts.register(self)
        self.set_auto_page_break(auto=True, margin=15)
        self.set_margins(18, 15, 18)

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font(self.typefaces.family, size=8)
        self.set_text_color(100)
        self.cell(0, 5, self.typefaces.text(f"{self.doc_title} · page {self.page_no()}/{{nb}}"), align="C")
        self.set_text_color(0)

    def para(self, text: object, size: float = 10, bold: bool = False, height: float = 5) -> None:
        """Typed text as plain text: never markdown or HTML."""
        self.set_font(self.typefaces.family, "B" if bold else "", size=size)
        self.multi_cell(0, height, self.typefaces.text(text), markdown=False, new_x=XPos.LMARGIN, new_y=YPos.NEXT)


def pdf_bytes(*, session: Session, today: date, version: int | None = None) -> bytes:
    """The procedure as a PDF: a saved version with its sign-off (or "not signed off"), or the live text marked as
    a draft when ``version`` is None."""
    if version is None:
        sections, heading = procedure.generate(session=session), "Draft generated from the live configuration"
        signed = "Not a saved version: save it and have an administrator sign it off."
    else:
        row = procedure.get_version(session=session, version=version)
        sections = [(h, list(p)) for h, p in row.sections]
        heading = f"Version {row.version}, saved by {row.saved_by} on {row.saved_at.date().isoformat()}"
        signed = (f"Signed off by {row.approved_by} on {row.approved_at.date().isoformat()}; next review by "
                  f"{row.next_review_on.isoformat()}." if row.approved_at and row.next_review_on
                  else "Not signed off.")
        if row.note:
            heading += f" ({row.note})"
    pdf = _Document(TITLE)
    pdf.set_title(TITLE)
    pdf.set_creator("CTPAT Workbench")
    pdf.set_creation_date(pd.Timestamp(today, tz="UTC").to_pydatetime())
    pdf.add_page()
    pdf.para(TITLE, size=16, bold=True, height=8)
    pdf.para(heading, size=10)
    pdf.para(signed, size=10)
    pdf.para(f"Printed on {today.isoformat()}", size=8)
    if pdf.typefaces.missing:
        pdf.para(pdf.typefaces.missing, size=8)
    for title, paragraphs in sections:
        pdf.ln(3)
        pdf.para(title, size=12, bold=True, height=7)
        for text in paragraphs:
            pdf.para(text, size=10)
            pdf.ln(1)
    return bytes(pdf.output())
