"""The action plan as CSV and XLSX, for management and the validation pack: every item with its owner, due date,
status and proof of closure (closing note, evidence files and their SHA-256). Written through
services.exports.safe, so no typed text becomes a spreadsheet formula.
"""

import io
from datetime import date

import pandas as pd
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, NamedStyle, PatternFill
from openpyxl.utils import get_column_letter
from sqlmodel import Session, col, select

from models.actions import ActionEvidence
from services.actions import items
from services.exports.safe import csv_bytes, sheet_cell

# column -> (header, width in characters)
COLUMNS: dict[str, tuple[str, int]] = {
    "id": ("Id", 7), "status": ("Status", 16), "past_due": ("Overdue", 9), "priority": ("Priority", 9),
    "title": ("What", 60), "basis": ("Why", 36), "source": ("Source", 12), "partner_code": ("Partner", 14),
    "partner_name": ("Partner name", 30), "criterion_id": ("Criterion", 10), "lane_code": ("Lane", 12),
    "incident_id": ("Incident", 9), "iso2": ("Country", 8), "region_code": ("Region", 9),
    "threat_category": ("Threat category", 18), "owner": ("Owner", 14), "due_date": ("Due", 12),
    "days_left": ("Days left", 9), "detail": ("Detail", 60), "closing_note": ("Closing note", 50),
    "evidence": ("Evidence files", 30), "evidence_sha256": ("Evidence SHA-256", 66),
    "review_comment": ("Team's comment when reopened", 40), "done_by": ("Marked done by", 16),
    "done_at": ("Marked done (UTC)", 18), "closed_by": ("Closed by", 14), "closed_at": ("Closed (UTC)", 18),
    "created_by": ("Created by", 14), "created_at": ("Created (UTC)", 18),
}
SHEET = "Action plan"


def plan_export(*, session: Session, today: date, ids: list[int] | None = None) -> pd.DataFrame:
    """The plan (or the items `ids`, in plan order) with the export columns (COLUMNS); evidence file names and
    hashes joined by "; "; times in UTC without a zone (spreadsheets store none)."""
    frame = items.list_items(session=session, today=today)
    if ids is not None:
        frame = frame[frame["id"].isin(ids)].reset_index(drop=True)
    files = pd.DataFrame(session.exec(select(ActionEvidence.action_id, ActionEvidence.filename, ActionEvidence.sha256)
                                      .where(col(ActionEvidence.action_id).in_(frame["id"].tolist()))
                                      .order_by(ActionEvidence.id)).all() if len(frame) else [],
                         columns=["action_id", "filename", "sha256"])
    joined = files.groupby("action_id").agg(lambda s: "; ".join(s))
    frame["evidence"] = frame["id"].map(joined["filename"]).fillna("")
    frame["evidence_sha256"] = frame["id"].map(joined["sha256"]).fillna("")
    for column in ("done_at", "closed_at", "created_at"):
        frame[column] = pd.to_datetime(frame[column], utc=True).dt.tz_localize(None)
    frame["status"] = frame["status"].astype(str)
    frame["source"] = frame["source"].astype(str)
    return frame[list(COLUMNS)]


def _headed(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.rename(columns={c: header for c, (header, _) in COLUMNS.items()})


def plan_csv(frame: pd.DataFrame) -> bytes:
    """An exported plan (plan_export) as CSV for spreadsheets, with headers in words
    (services.exports.safe.csv_bytes)."""
    return csv_bytes(_headed(frame))


def plan_xlsx(frame: pd.DataFrame) -> bytes:
    """An exported plan (plan_export) as one sheet with a header row in words, filters and frozen headers; cells
    by their type, text never a formula (services.exports.safe.sheet_cell)."""
    frame = _headed(frame)
    book = Workbook(write_only=True)
    book.properties.creator = "CTPAT Workbench"
    book.properties.title = SHEET
    book.add_named_style(NamedStyle("plan header", font=Font(bold=True, color="FFFFFF"),
                                    fill=PatternFill("solid", fgColor="1F4E78"),
                                    alignment=Alignment(vertical="center", wrap_text=True)))
    book.add_named_style(NamedStyle("plan text", alignment=Alignment(vertical="top", wrap_text=True)))
    sheet = book.create_sheet(SHEET)
    sheet.freeze_panes = "B2"
    widths = dict(COLUMNS.values())
    for position, header in enumerate(frame.columns, start=1):
        sheet.column_dimensions[get_column_letter(position)].width = widths.get(header, 14)
    sheet.auto_filter.ref = f"A1:{get_column_letter(max(len(frame.columns), 1))}{len(frame) + 1}"
    sheet.append([sheet_cell(sheet, header, "plan header") for header in frame.columns])
    for row in frame.itertuples(index=False):
        sheet.append([sheet_cell(sheet, value, "plan text") for value in row])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
