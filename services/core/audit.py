"""The audit log: every change records who, what, when, before and after."""

from datetime import UTC, date, datetime, time, timedelta

import pandas as pd
from sqlmodel import Session, col, func, select

from models import AuditEvent
from services.core.permissions import Actor


def _plain(values: dict | None) -> dict | None:
    if values is None:
        return None
    out = {}
    for key, value in values.items():
        out[key] = value.isoformat() if isinstance(value, date | datetime) else value
    return out


def record(
    *,
    session: Session,
    actor: Actor,
    action: str,
    entity: str,
    entity_id: str | int = "",
    summary: str = "",
    before: dict | None = None,
    after: dict | None = None,
) -> AuditEvent:
    """Add one audit event to the session (committed with the change it describes)."""
    if before is not None and after is not None:
        changed = {k for k in set(before) | set(after) if before.get(k) != after.get(k)}
        before = {k: v for k, v in before.items() if k in changed}
        after = {k: v for k, v in after.items() if k in changed}
    event = AuditEvent(
        username=actor.username,
        action=action,
        entity=entity,
        entity_id=str(entity_id),
        summary=summary[:500],
        before=_plain(before),
        after=_plain(after),
    )
    session.add(event)
    return event


def list_events(
    *,
    session: Session,
    username: str | None = None,
    entity: str | None = None,
    action: str | None = None,
    since: date | None = None,
    until: date | None = None,
    text: str | None = None,
    limit: int = 500,
) -> pd.DataFrame:
    """Audit events, newest first, filtered."""
    stmt = select(AuditEvent)
    if username:
        stmt = stmt.where(AuditEvent.username == username)
    if entity:
        stmt = stmt.where(AuditEvent.entity == entity)
    if action:
        stmt = stmt.where(AuditEvent.action == action)
    if since:
        stmt = stmt.where(AuditEvent.at >= datetime.combine(since, time.min, tzinfo=UTC))
    if until:
        stmt = stmt.where(AuditEvent.at < datetime.combine(until + timedelta(days=1), time.min, tzinfo=UTC))
    if text:
        like = f"%{text.lower()}%"
        stmt = stmt.where(
            func.lower(AuditEvent.summary).like(like) | func.lower(AuditEvent.entity_id).like(like)
        )
    rows = session.exec(stmt.order_by(col(AuditEvent.id).desc()).limit(limit)).all()
    return pd.DataFrame(
        [
            {
                "at": e.at,
                "user": e.username,
                "action": e.action,
                "entity": e.entity,
                "id": e.entity_id,
                "summary": e.summary,
                "before": e.before,
                "after": e.after,
            }
            for e in rows
        ],
        columns=["at", "user", "action", "entity", "id", "summary", "before", "after"],
    )
