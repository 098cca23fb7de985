"""A plain A4 document for the app's printable PDFs (self-assessment, procedure): fonts from pdf_fonts (Spanish
accents and Chinese names print), a page footer with the title, and typed text written as plain text only."""

from fpdf import FPDF
from fpdf.enums import XPos, YPos

from services.exports import pdf_fonts


class PlainDocument(FPDF):
    def __init__(self, title: str, *, margin: float = 15):
        super().__init__(orientation="portrait", unit="mm", format="A4")
        self.doc_title = title
        self.typefaces = pdf_fonts.register(self)
        self.set_auto_page_break(auto=True, margin=15)
        self.set_margins(margin, 15, margin)

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
