"""Pausing the follow-ups of one partner: nobody chases it (no invitation, reminder, notice or escalation) until
the pause ends or is lifted. Certificate and company messages to the team still go."""

from datetime import date

import pandas as pd
from sqlmodel import Session, col, delete, or_, select

from models import FollowupPause, Partner
from services.core import audit
from services.core.permissions import Actor, ValidationError, require_write

PAUSE_COLUMNS = ["partner_id", "partner_code", "legal_name", "until", "reason", "created_by", "created_at"]


def paused_on(*, session: Session, day: date) -> set[int]:
    """Ids of the partners paused on the day; one query."""
    return set(session.exec(select(FollowupPause.partner_id).where(
        or_(col(FollowupPause.until).is_(None), col(FollowupPause.until) >= day))).all())


def pauses(*, session: Session, day: date | None = None) -> pd.DataFrame:
    """Every pause (those still in force on the day, when given), by partner code."""
    stmt = (select(FollowupPause.partner_id, Partner.partner_code, Partner.legal_name, FollowupPause.until,
                   FollowupPause.reason, FollowupPause.created_by, FollowupPause.created_at)
            .join(Partner, col(Partner.id) == FollowupPause.partner_id).order_by(Partner.partner_code))
    if day is not None:
        stmt = stmt.where(or_(col(FollowupPause.until).is_(None), col(FollowupPause.until) >= day))
    return pd.DataFrame([tuple(r) for r in session.exec(stmt).all()], columns=PAUSE_COLUMNS)


def pause(*, session: Session, actor: Actor, partner_id: int, reason: str, until: date | None = None,
          today: date | None = None) -> FollowupPause:
    """Pause a partner's follow-ups (until a day, or until lifted), with a reason; replaces an earlier pause."""
    require_write(actor)
    partner = session.get(Partner, partner_id)
    reason = " ".join(str(reason or "").split())
    problems = []
    if partner is None:
        problems.append(f"partner: no partner with id {partner_id}")
    if not reason:
        problems.append("reason: say why nobody should chase this partner for now")
    elif len(reason) > 300:
        problems.append("reason: longer than 300 characters")
    if until is not None and until < (today or date.today()):
        problems.append(f"until: {until.isoformat()} is in the past")
    if problems:
        raise ValidationError("; ".join(problems))
    existing = session.exec(select(FollowupPause).where(FollowupPause.partner_id == partner_id)).first()
    before = {"until": existing.until, "reason": existing.reason} if existing else None
    row = existing or FollowupPause(partner_id=partner_id, reason=reason, created_by=actor.username)
    row.until, row.reason, row.created_by = until, reason, actor.username
    session.add(row)
    session.flush()
    audit.record(session=session, actor=actor, action="pause", entity="follow-ups", entity_id=partner.partner_code,
                 summary=f"Paused the follow-ups of {partner.partner_code} "
                         f"{'until ' + until.isoformat() if until else 'until lifted'}: {reason}",
                 before=before, after={"until": until, "reason": reason})
    return row


def resume(*, session: Session, actor: Actor, partner_id: int) -> None:
    """Lift a partner's pause."""
    require_write(actor)
    row = session.exec(select(FollowupPause).where(FollowupPause.partner_id == partner_id)).first()
    if row is None:
        raise ValidationError("This partner's follow-ups are not paused.")
    code = session.exec(select(Partner.partner_code).where(Partner.id == partner_id)).one()
    before = {"until": row.until, "reason": row.reason}
    session.exec(delete(FollowupPause).where(FollowupPause.partner_id == partner_id))
    audit.record(session=session, actor=actor, action="resume", entity="follow-ups", entity_id=code,
                 summary=f"Resumed the follow-ups of {code}", before=before)


def partner_choices(*, session: Session) -> dict[int, str]:
    """Active partners as id -> "code · name", for choosing whom to pause."""
    return {i: f"{code} · {name}" for i, code, name in session.exec(
        select(Partner.id, Partner.partner_code, Partner.legal_name).where(Partner.status == "active")
        .order_by(Partner.partner_code)).all()}
