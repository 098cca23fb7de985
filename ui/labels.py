"""What staff read in tables: the label and format of every column, in one place, and empty cells as a dash.

Pages show tables through ``table`` (or take ``column_config`` for an editor): data keeps its column names, the
table shows "Legal name" for ``legal_name``, dates as YYYY-MM-DD, times in UTC, percentages with one decimal,
codes such as ``en`` or ``na`` in words, and never "None".
"""

from collections.abc import Iterable, Mapping
from typing import Any

import pandas as pd
import streamlit as st

from models.collection import AnswerValue
from models.common import LANGUAGES
from services.partners.identifiers import IDENTIFIER_FORMATS
from ui import presentation

EMPTY = "–"  # shown for a missing value, in tables and in text
ANSWERS = {AnswerValue.yes: "Yes", AnswerValue.partial: "Partial", AnswerValue.no: "No",
           AnswerValue.na: "Not applicable", "": EMPTY}

# column -> (label, kind); kinds: text, long (wide text), count, number (a whole number), coordinate, percent, bytes,
# date, day (a timestamp shown as its date), time (timestamp with minutes, UTC), bool, language, answer.
COLUMNS: dict[str, tuple[str, str]] = {
    # partners
    "partner_code": ("Code", "text"),
    "legal_name": ("Legal name", "text"),
    "entity_type": ("Entity type", "text"),
    "country_iso2": ("Country", "text"),
    "country": ("Country", "text"),
    "region": ("Region", "text"),
    "city": ("City", "text"),
    "address": ("Address", "text"),
    "criticality": ("Criticality", "text"),
    "import_share": ("Import %", "percent"),
    "status": ("Status", "text"),
    "contact_name": ("Contact", "text"),
    "contact_email": ("Contact email", "text"),
    "language": ("Language", "language"),
    "updated_at": ("Last change (UTC)", "time"),
    "created_at": ("Added (UTC)", "time"),
    "reason": ("Why it looks the same", "text"),
    "latitude": ("Latitude", "coordinate"),
    "longitude": ("Longitude", "coordinate"),
    "parent_id": ("Parent partner (id)", "number"),
    "parent_code": ("Parent partner", "text"),
    "notes": ("Notes", "long"),
    **{field: (name, "text") for field, (name, _pattern, _format) in IDENTIFIER_FORMATS.items()},
    "identifier": ("Identifier", "text"),
    "format": ("Format", "long"),
    "partners": ("Partners", "count"),
    # certifications
    "program": ("Program", "text"),
    "mra_program": ("MRA program", "text"),
    "certificate_number": ("Certificate number", "text"),
    "valid_until": ("Valid until", "date"),
    "verified_on": ("Verified on", "date"),
    "verified_by": ("Verified by", "text"),
    "validity": ("Validity", "text"),
    # audit log
    "at": ("When (UTC)", "time"),
    "user": ("User", "text"),
    "action": ("Action", "text"),
    "entity": ("Record type", "text"),
    "id": ("Record", "text"),
    "summary": ("Summary", "long"),
    "changes": ("Changes", "long"),
    # staff accounts
    "username": ("Username", "text"),
    "name": ("Name", "text"),
    "email": ("Email", "text"),
    "role": ("Role", "text"),
    "active": ("Active", "bool"),
    "locked": ("Locked", "bool"),
    "last_login": ("Last login (UTC)", "time"),
    "must_change_password": ("Must change password", "bool"),
    # MRA programs
    "partner_country": ("Partner", "text"),
    "acronym": ("Acronym", "text"),
    "program_name": ("Program", "text"),
    "signed": ("Signed", "text"),
    "confirmed": ("Confirmed", "bool"),
    "country_codes": ("Countries", "text"),
    "customs_administration": ("Customs administration", "text"),
    "source": ("Source", "long"),
    # criteria
    "criterion_id": ("Criterion", "text"),
    "category": ("Category", "text"),
    "requirement": ("Must/should", "text"),
    "applies": ("Applies", "text"),
    "applies_to": ("Entity types", "count"),
    "caveat": ("Caveat", "text"),
    "basis": ("Basis", "text"),
    "note": ("Note", "text"),
    "question": ("Question", "long"),
    # cycles and questionnaires
    "due_date": ("Due", "date"),
    "sent_at": ("Sent", "day"),
    "opened_at": ("Opened", "day"),
    "submitted_at": ("Submitted", "day"),
    "reviewed_at": ("Reviewed", "day"),
    "value": ("Value", "text"),  # an answer on the questionnaire pages: ("Answer", "answer")
    "comment": ("Comment", "long"),
    "previous_value": ("Last cycle", "answer"),
    "evidence_count": ("Evidence", "count"),
    "answered_by": ("Answered by", "text"),
    "answered_on": ("Answered on", "date"),
    "recorded_at": ("Recorded (UTC)", "time"),
    "is_current": ("Current answer", "bool"),
    "review_comment": ("Open review comment", "long"),
    "return_comment": ("What to fix", "long"),
    "filename": ("File", "text"),
    "content_type": ("Type", "text"),
    "size_bytes": ("Size (bytes)", "bytes"),
    "uploaded_by": ("Uploaded by", "text"),
    "uploaded_at": ("Uploaded (UTC)", "time"),
    # imports
    "file": ("File", "text"),
    "row": ("Row", "number"),
    "column": ("Column", "text"),
    "message": ("Problem", "long"),
    "severity": ("Severity", "text"),
    "form": ("Form", "text"),
    "sheet": ("Sheet", "text"),
    "rows": ("Rows", "count"),
    "answers": ("Answers", "count"),
    "new": ("New", "count"),
    "changed": ("Changed", "count"),
    "unchanged": ("Unchanged", "count"),
    "errors": ("Errors", "count"),
    "warnings": ("Warnings", "count"),
    "status_after": ("Status after import", "text"),
    "duplicate_of": ("Possible duplicate of", "text"),
    "imported_at": ("When (UTC)", "time"),
    "kind": ("Kind", "text"),
    "cycle": ("Cycle", "text"),
    "created": ("New", "count"),
    "sha256": ("Content hash (SHA-256)", "text"),
}


def label(column: str) -> str:
    """The label of a column (its name in words when it has none yet)."""
    return COLUMNS[column][0] if column in COLUMNS else column.replace("_", " ").capitalize()


def _config(title: str, kind: str) -> Any:
    cc = st.column_config
    if kind == "long":
        return cc.TextColumn(title, width="large")
    if kind in ("count", "bytes"):
        return cc.NumberColumn(title, format="localized")
    if kind == "number":
        return cc.NumberColumn(title, format="%d")
    if kind == "coordinate":
        return cc.NumberColumn(title, format="%.4f")
    if kind == "percent":
        return cc.NumberColumn(title, format="%.1f")
    if kind == "date":
        return cc.DateColumn(title, format="YYYY-MM-DD")
    if kind == "day":
        return cc.DatetimeColumn(title, format="YYYY-MM-DD")
    if kind == "time":
        return cc.DatetimeColumn(title, format="YYYY-MM-DD HH:mm")
    if kind == "bool":
        return cc.CheckboxColumn(title)
    if kind == "language":
        return cc.SelectboxColumn(title, options=list(LANGUAGES), format_func=lambda code: LANGUAGES.get(code, code))
    if kind == "answer":
        return cc.SelectboxColumn(title, options=list(ANSWERS), format_func=lambda value: ANSWERS.get(value, value))
    return cc.TextColumn(title)


def column_config(columns: Iterable[str], overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Label and format of each column. ``overrides`` give a page's own choice for a column: a label (same kind),
    a (label, kind) pair, or a ready ``st.column_config`` object."""
    out = {}
    for column in columns:
        title, kind = COLUMNS.get(column, (label(column), "text"))
        given = (overrides or {}).get(column)
        if isinstance(given, str):
            given = _config(given, kind)
        elif isinstance(given, tuple):
            given = _config(*given)
        out[column] = given or _config(title, kind)
    return out


def table(frame: pd.DataFrame, columns: Iterable[str] | None = None, *,
          overrides: Mapping[str, Any] | None = None, **options):
    """``st.dataframe`` of the frame's columns (or ``columns``, in that order) with labels and formats; empty cells
    show a dash; in presentation mode e-mail addresses and identifiers read "hidden" (ui.presentation). Other keyword
    options go to ``st.dataframe`` (key, on_select, height, ...)."""
    shown = list(frame.columns if columns is None else columns)
    options.setdefault("hide_index", True)
    options.setdefault("width", "stretch")
    return st.dataframe(presentation.masked(frame), column_order=shown, column_config=column_config(shown, overrides),
                        placeholder=EMPTY, **options)


def show(value: object, unit: str = "") -> str:
    """A single value as text: a dash when it is missing."""
    if value is None or (isinstance(value, str) and not value.strip()) or (pd.api.types.is_scalar(value)
                                                                            and pd.isna(value)):
        return EMPTY
    return f"{value}{unit}"


def changes_text(before: Mapping | None, after: Mapping | None) -> str:
    """An audit event's changes in words: "Label: old → new" (or "Label: value" for what was created)."""
    def short(value: object) -> str:
        text = presentation.scrub(show(value))
        return text if len(text) <= 80 else text[:77] + "…"

    before, after = before or {}, after or {}
    if presentation.active():
        before, after = ({k: presentation.hidden(v) if k in presentation.SENSITIVE else v for k, v in values.items()}
                         for values in (before, after))
    if not before:
        return "; ".join(f"{label(k)}: {short(v)}" for k, v in after.items() if v not in (None, ""))
    return "; ".join(f"{label(k)}: {short(before.get(k))} → {short(after.get(k))}"
                     for k in dict.fromkeys([*before, *after]))
