"""The self-assessment as the CBP portal orders it (category, criterion id, text): an XLSX workbook to prepare the
application or the Annual Security Profile Review, and a printable PDF.

Every workbook cell goes through services.exports.safe (typed text never becomes a formula); the PDF writes typed
text as plain text only (no markdown or HTML), so nothing typed becomes markup. The same data on the same day
gives the same content.
"""

import io
from datetime import date

import pandas as pd
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, NamedStyle, PatternFill
from openpyxl.utils import get_column_letter
from sqlmodel import Session

from services.company.profile import get_profile
from services.exports.safe import sheet_cell
from services.reference.loader import CRITERIA_CAVEATS
from services.selfassessment import assessment, eligibility

NOT_ASSESSED = "not assessed"
CONFIRMED, NOT_CONFIRMED = "confirmed", "not confirmed"
UNCONFIRMED_REQUIREMENT = "must/should not confirmed"
# (header, width in characters, row field): the portal's order first, then the company's answer.
SHEET_COLUMNS = [
    ("Category", 26, "category"),
    ("Criterion", 10, "criterion_id"),
    ("Must / should", 12, "requirement"),
    ("Criterion text", 60, "summary"),
    ("Caveat", 30, "caveat"),
    ("Status", 13, "status"),
    ("How it is met (narrative)", 70, "narrative"),
    ("Reason for n/a", 30, "na_reason"),
    ("Owner", 22, "owner"),
    ("Evidence files", 30, "evidence_files"),
    ("Last reviewed on", 14, "reviewed_on"),
    ("Last reviewed by", 16, "reviewed_by"),
    ("Flag", 30, "flag"),
]
ELIGIBILITY_COLUMNS = [("Item", 8, "item_id"), ("Requirement", 70, "requirement"), ("Confirmed", 11, "confirmed"),
                       ("Note", 40, "note"), ("Checked by", 14, "checked_by"), ("Checked on", 13, "checked_on"),
                       ("Source", 60, "source")]
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def content(*, session: Session) -> dict:
    """Everything both exports show: company, entity type, counts, eligibility checklist, rows in portal order."""
    profile = get_profile(session=session)
    rows = assessment.rows(session=session)
    rows = rows.assign(category=rows["category_number"].astype(str) + ". " + rows["category"],
                       status=rows["status"].map(lambda s: s.value if s is not None else NOT_ASSESSED))
    return {"company": profile.legal_name if profile else "", "account": profile.ctpat_account_number if profile
            else "", "entity_type": assessment.entity_type(session=session),
            "status": assessment.self_assessment_status(session=session),
            "eligibility": eligibility.checklist(session=session), "rows": rows}


def _styles(book: Workbook) -> None:
    top = Alignment(vertical="top")
    for style in (NamedStyle("sa header", font=Font(bold=True, color="FFFFFF"),
                             fill=PatternFill("solid", fgColor="1F4E78"), alignment=Alignment(vertical="top",
                                                                                               wrap_text=True)),
                  NamedStyle("sa text", alignment=Alignment(vertical="top", wrap_text=True)),
                  NamedStyle("sa id", number_format="@", alignment=top),
                  NamedStyle("sa date", number_format="yyyy-mm-dd", alignment=top),
                  NamedStyle("sa title", font=Font(bold=True, size=14)),
                  NamedStyle("sa bold", font=Font(bold=True), alignment=top)):
        book.add_named_style(style)


def _page_setup(sheet, title: str, *, landscape: bool) -> None:
    """Printed as wide as one page, as many pages down as it takes, the header row on every page."""
    sheet.page_setup.orientation = "landscape" if landscape else "portrait"
    sheet.page_setup.paperSize = sheet.PAPERSIZE_A4
    sheet.page_setup.fitToWidth = 1
    sheet.page_setup.fitToHeight = 0
    sheet.sheet_properties.pageSetUpPr.fitToPage = True
    sheet.page_margins.left = sheet.page_margins.right = 0.4
    sheet.oddFooter.left.text = title
    sheet.oddFooter.right.text = "Page &P of &N"


def _table(sheet, columns, frame: pd.DataFrame, title: str) -> None:
    sheet.append([sheet_cell(sheet, header, "sa header") for header, _, _ in columns])
    for record in frame.to_dict("records"):
        cells = []
        for _, _, field in columns:
            value = record[field]
            if isinstance(value, bool):
                value = CONFIRMED if value else NOT_CONFIRMED
            style = "sa date" if isinstance(value, date) else "sa id" if field in ("criterion_id", "item_id") \
                else "sa text"
            cells.append(sheet_cell(sheet, value, style))
        sheet.append(cells)
    for index, (_, width, _) in enumerate(columns, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = width
    last = f"{get_column_letter(len(columns))}{len(frame) + 1}"
    sheet.auto_filter.ref = f"A1:{last}"
    sheet.print_title_rows = "1:1"
    _page_setup(sheet, title, landscape=True)


def workbook_bytes(*, session: Session, today: date | None = None) -> bytes:
    """The self-assessment workbook: Summary (company, counts, caveats), Self-assessment (portal order), Eligibility."""
    data = content(session=session)
    today = today or date.today()
    book = Workbook()
    _styles(book)
    title = f"Security Profile self-assessment · {data['entity_type']}"
    summary = book.active
    summary.title = "Summary"
    counts = data["status"]
    lines = [
        (title, "sa title"),
        (f"Company: {data['company'] or 'not set (Admin > Company profile)'}", None),
        (f"CTPAT account: {data['account'] or '-'}", None),
        (f"Entity type: {data['entity_type']}", None),
        (f"Prepared on: {today.isoformat()}", None),
        ("", None),
        (f"Criteria: {counts['criteria']} ({counts['must_total']} must)", "sa bold"),
        (f"Must criteria with a narrative: {counts['must_with_narrative']} of {counts['must_total']}", None),
        (f"Must criteria without a narrative (flagged): {counts['must_without_narrative']}", None),
        (f"Met {counts['met']} · partly met {counts['partly_met']} · not met {counts['not_met']} · n/a "
         f"{counts['not_applicable']} · not assessed {counts['not_assessed']}", None),
        ("", None),
        ("About the criteria", "sa bold"),
        *[(f"- {caveat}", "sa text") for caveat in CRITERIA_CAVEATS],
    ]
    for text, style in lines:
        summary.append([sheet_cell(summary, text, style)])
    summary.column_dimensions["A"].width = 120
    _page_setup(summary, title, landscape=False)

    sheet = book.create_sheet("Self-assessment")
    _table(sheet, SHEET_COLUMNS, data["rows"], title)
    sheet.freeze_panes = "C2"  # the header and the category and criterion id stay in view

    checks = book.create_sheet("Eligibility")
    _table(checks, ELIGIBILITY_COLUMNS, data["eligibility"], f"Eligibility · {data['entity_type']}")
    checks.freeze_panes = "B2"

    book.properties.creator = "CTPAT Workbench"
    book.properties.created = book.properties.modified = pd.Timestamp(today).to_pydatetime()
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def pdf_bytes(*, session: Session, today: date | None = None) -> bytes:
    """The self-assessment as a printable PDF: cover with counts and eligibility, then each criterion in portal
    order with its status, narrative, owner, evidence and last review; flagged criteria say so."""
    data = content(session=session)
    today = today or date.today()
    title = f"Security Profile self-assessment · {data['entity_type']}"
    # fpdf and its font tools cost the server some 30 MB: imported when the first PDF is made, not with the page
    from services.exports.pdf_document import PlainDocument

    pdf = PlainDocument(title)
    pdf.set_title(title)
    pdf.set_creator("CTPAT Workbench")
    pdf.set_creation_date(pd.Timestamp(today, tz="UTC").to_pydatetime())
    pdf.add_page()
    pdf.para(title, size=16, bold=True, height=8)
    pdf.para(f"Company: {data['company'] or 'not set'}    CTPAT account: {data['account'] or '-'}")
    pdf.para(f"Entity type: {data['entity_type']}    Prepared on: {today.isoformat()}")
    if pdf.typefaces.missing:
        pdf.para(pdf.typefaces.missing, size=8)
    counts = data["status"]
    pdf.ln(2)
    pdf.para(f"Criteria: {counts['criteria']} ({counts['must_total']} must). Must criteria with a narrative: "
             f"{counts['must_with_narrative']} of {counts['must_total']}; without (flagged): "
             f"{counts['must_without_narrative']}.")
    pdf.para(f"Met {counts['met']} · partly met {counts['partly_met']} · not met {counts['not_met']} · n/a "
             f"{counts['not_applicable']} · not assessed {counts['not_assessed']}.")
    pdf.ln(3)
    pdf.para("Eligibility requirements", size=12, bold=True, height=6)
    if data["eligibility"].empty:
        pdf.para(f"No eligibility requirements on file for {data['entity_type']}.")
    for item in data["eligibility"].to_dict("records"):
        mark = "[x]" if item["confirmed"] else "[ ]"
        who = f" (confirmed by {item['checked_by']} on {item['checked_on']})" if item["confirmed"] else ""
        note = f" Note: {item['note']}" if item["note"] else ""
        pdf.para(f"{mark} {item['item_id']} {item['requirement']}{who}.{note}", size=9)
    pdf.ln(2)
    pdf.para("About the criteria: " + " ".join(CRITERIA_CAVEATS), size=8, height=4)

    category = None
    for row in data["rows"].to_dict("records"):
        if row["category"] != category:
            category = row["category"]
            pdf.ln(3)
            pdf.para(category, size=12, bold=True, height=7)
        pdf.ln(1)
        requirement = row["requirement"] or UNCONFIRMED_REQUIREMENT
        pdf.para(f"{row['criterion_id']} ({requirement}) {row['summary']}", size=10, bold=True)
        if row["caveat"]:
            pdf.para(f"Caveat: {row['caveat']}", size=8, height=4)
        reviewed = f"{row['reviewed_on']} by {row['reviewed_by']}" if row["reviewed_on"] else "never"
        pdf.para(f"Status: {row['status']}    Owner: {row['owner'] or '-'}    Last reviewed: {reviewed}", size=9)
        if row["na_reason"]:
            pdf.para(f"Reason for n/a: {row['na_reason']}", size=9)
        pdf.para(row["narrative"] or "No narrative yet.", size=9, height=4.5)
        if row["evidence_files"]:
            pdf.para("Evidence: " + ", ".join(row["evidence_files"].split("\n")), size=8, height=4)
        if row["flag"]:
            pdf.set_text_color(180, 0, 0)
            pdf.para(f"Flag: {row['flag']}", size=8, height=4)
            pdf.set_text_color(0)
    return bytes(pdf.output())
