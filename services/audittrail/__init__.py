"""The audit trail in words: every change as who, when, what, before and after, for people (admin, analyst).

Reads services.core.audit's events and never changes them: the audit log is append-only in the database itself
(triggers of migration 0011 refuse UPDATE, DELETE and, on PostgreSQL, TRUNCATE of audit events, whoever asks).
A bulk action (an import) is one event with its counts, and names its import record.
"""

from datetime import date, datetime
from typing import Any

import pandas as pd
from sqlmodel import Session, col, select

from models import AuditEvent, ImportRecord
from models.common import Role
from models.reference import RoleSetting
from services.core import audit
from services.core.permissions import Actor, require
from services.exports.safe import csv_bytes

READERS = (Role.admin, Role.analyst)
EMPTY = "–"
ACTIONS = {"create": "created", "update": "changed", "delete": "deleted", "remove": "removed", "import": "imported",
           "merge": "merged", "login": "logged in", "lock": "locked", "activate": "activated", "review": "reviewed",
           "verify": "verified", "check": "checked", "close": "closed", "confirm": "confirmed",
           "accept": "accepted the submission", "join": "joined", "screen": "screened"}
COLUMNS = ["at", "user", "action", "record", "summary", "changes", "import_record"]
CSV_HEADERS = {"at": "When (UTC)", "user": "Who", "action": "Did", "record": "What", "summary": "Summary",
               "changes": "Before and after", "import_record": "Import record"}
_IMPORT_KINDS = {"partners", "answers", "certificates", "lanes"}  # entity_id of their import events: the record id
_MAX_VALUE = 120
_MAX_ITEMS = 5


def _label(key: str) -> str:
    return key.replace("_", " ").capitalize()


def value_words(value: Any) -> str:
    """One recorded value in words: a dash for nothing, yes/no, dates as YYYY-MM-DD, a list as its count and first
    items, a mapping as "key: value" pairs; never JSON."""
    if value is None or value == "":
        return EMPTY
    if isinstance(value, bool):
        return (RoleSetting.yes if value else RoleSetting.no).value
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        if not value:
            return "none"
        shown = ", ".join(value_words(v) for v in value[:_MAX_ITEMS])
        more = f" and {len(value) - _MAX_ITEMS:,} more" if len(value) > _MAX_ITEMS else ""
        return f"{len(value):,}: {shown}{more}"
    if isinstance(value, dict):
        return "; ".join(f"{_label(str(k))} {value_words(v)}" for k, v in value.items()) or EMPTY
    text = " ".join(str(value).split())
    return text if len(text) <= _MAX_VALUE else text[:_MAX_VALUE - 1] + "…"


def changes_words(before: dict | None, after: dict | None) -> str:
    """Before and after in words: "Field: old → new" for a change, "Field: value" for what was created, and
    "Field: value (removed)" for what was deleted."""
    before, after = before or {}, after or {}
    if not before:
        return "; ".join(f"{_label(k)}: {value_words(v)}" for k, v in after.items())
    if not after:
        return "; ".join(f"{_label(k)}: {value_words(v)} (removed)" for k, v in before.items())
    return "; ".join(f"{_label(k)}: {value_words(before.get(k))} → {value_words(after.get(k))}"
                     for k in dict.fromkeys([*before, *after]))


def events(*, session: Session, actor: Actor, username: str | None = None, entity: str | None = None,
           record_id: str | None = None, since: date | None = None, until: date | None = None,
           text: str | None = None, limit: int = 500) -> pd.DataFrame:
    """Audit events in words, newest first, filtered by person, object (record type and id) and dates (UTC days,
    both ends included): at, user, action (in words), record, summary, changes, import_record, plus the raw
    entity and id."""
    require(actor, *READERS)
    frame = audit.list_events(session=session, username=username or None, entity=entity or None, since=since,
                              until=until, text=(text or "").strip() or None, limit=limit)
    if record_id:
        frame = frame[frame["id"] == record_id.strip()]
    imports = _import_records(session, frame)
    return pd.DataFrame({
        "at": frame["at"],
        "user": frame["user"],
        "action": frame["action"].map(lambda a: ACTIONS.get(a, a)),
        "record": [f"{e} {i}".strip() for e, i in zip(frame["entity"], frame["id"], strict=True)],
        "summary": frame["summary"],
        "changes": [changes_words(b, a) for b, a in zip(frame["before"], frame["after"], strict=True)],
        "import_record": [imports.get(i, "") if a == "import" and e in _IMPORT_KINDS else ""
                          for a, e, i in zip(frame["action"], frame["entity"], frame["id"], strict=True)],
        "entity": frame["entity"],
        "id": frame["id"],
    }, columns=[*COLUMNS, "entity", "id"]).reset_index(drop=True)


def _import_records(session: Session, frame: pd.DataFrame) -> dict[str, str]:
    ids = {int(i) for a, i in zip(frame["action"], frame["id"], strict=True) if a == "import" and str(i).isdigit()}
    if not ids:
        return {}
    records = session.exec(select(ImportRecord).where(col(ImportRecord.id).in_(ids))).all()
    return {str(r.id): f"#{r.id} {r.filename}: {r.rows:,} rows, {r.created:,} new, {r.changed:,} changed, "
                       f"{r.unchanged:,} unchanged" for r in records}


def choices(*, session: Session, actor: Actor) -> dict[str, list[str]]:
    """The people and record types found in the audit log, for the filters."""
    require(actor, *READERS)
    people = session.exec(select(AuditEvent.username).distinct()).all()
    kinds = session.exec(select(AuditEvent.entity).distinct()).all()
    return {"people": sorted(people), "records": sorted(kinds)}


def events_csv(*, session: Session, actor: Actor, limit: int = 1_000_000, **filters) -> bytes:
    """The filtered events in words as a CSV download (through services.exports.safe: text never a formula)."""
    frame = events(session=session, actor=actor, limit=limit, **filters)[COLUMNS]
    frame = frame.assign(at=frame["at"].map(lambda t: t.strftime("%Y-%m-%d %H:%M:%S") if pd.notna(t) else ""))
    return csv_bytes(frame.rename(columns=CSV_HEADERS))
