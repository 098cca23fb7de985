"""The risk assessment procedure as a printable PDF: the live text, or a saved version with its sign-off.

Typed text (company name, notes, user names) is written as plain text only, never markdown or HTML; fonts come
from services.exports.pdf_fonts (Spanish accents and Chinese names print). The same data gives the same content.
"""

from datetime import date

import pandas as pd
from sqlmodel import Session

from services import procedure

TITLE = "Risk assessment procedure"


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
    # fpdf and its font tools cost the server some 30 MB: imported when the first PDF is made, not with the page
    from services.exports.pdf_document import PlainDocument

    pdf = PlainDocument(TITLE, margin=18)
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
