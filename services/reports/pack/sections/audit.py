"""An extract of the audit trail (from --since when given), each change in words."""

import json

from sqlmodel import select

from models import AuditEvent
from services.reports.pack.base import CHUNK_ROWS, Column, Kind, PackContext, Section, records

_LIMIT = 2_000  # characters of the changes column: a bulk event's values are summarised, not dumped


def changes(before: dict | None, after: dict | None) -> str:
    """The changed fields as "field: before → after", one per line."""
    before, after = before or {}, after or {}
    lines = []
    for key in sorted(set(before) | set(after), key=str):
        old, new = before.get(key), after.get(key)
        if old == new:
            continue
        lines.append(f"{key}: {_show(old)} → {_show(new)}")
    text = "\n".join(lines)
    return text if len(text) <= _LIMIT else text[:_LIMIT - 1] + "…"


def _show(value: object) -> str:
    if value is None or value == "":
        return "(empty)"
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, default=str)
    return str(value)


def rows(ctx: PackContext):
    stmt = select(AuditEvent.at, AuditEvent.username, AuditEvent.action, AuditEvent.entity, AuditEvent.entity_id,
                  AuditEvent.summary, AuditEvent.before, AuditEvent.after).order_by(AuditEvent.at, AuditEvent.id)
    if ctx.since_start:
        stmt = stmt.where(AuditEvent.at >= ctx.since_start)
    result = ctx.session.execute(stmt.execution_options(yield_per=CHUNK_ROWS))
    for part in result.partitions():
        frame = records(part, ["at", "username", "action", "entity", "entity_id", "summary", "before", "after"])
        frame["changes"] = [changes(b, a) for b, a in zip(frame["before"], frame["after"], strict=True)]
        yield frame


SECTION = Section(
    key="audit", order=90, sheet="Audit extract", title="Audit extract",
    description="Every change recorded in the audit trail (from --since when given), oldest first: when, who, what "
                "and the fields before and after.",
    columns=(Column("at", "When (UTC)", 17, Kind.datetime), Column("username", "Who", 12),
             Column("action", "Action", 12), Column("entity", "Record", 14), Column("entity_id", "Record id", 12),
             Column("summary", "Summary", 50, Kind.wrap), Column("changes", "Changes", 60, Kind.wrap)),
    rows=rows,
)
