"""The daily certificate check: expiries and stale verifications become loss events, once each, and partners no
longer covered join the open cycles they were exempt from.

Run it from cron (``manage.py check-certificates``) or from the Mutual recognition page; running it twice on the
same day changes nothing the second time. The follow-up engine reads ``loss_events`` to tell each partner's owner.
"""

from dataclasses import dataclass, field
from datetime import date, timedelta

import pandas as pd
from sqlalchemy import func, insert, update
from sqlmodel import Session, col, select

from models import Certificate, CertificateEvent, CertificateVerification, Partner
from models.certificate import LOSS_EVENTS, CertificateEventKind, CertificateStatus
from models.common import utcnow
from services.certificates import exemption
from services.certificates import settings as rule_settings
from services.core import audit
from services.core.permissions import Actor, require_write

S, E = CertificateStatus, CertificateEventKind
LOSS_COLUMNS = ["event_id", "certificate_id", "partner_id", "partner_code", "kind", "effective_on", "note",
                "program", "certificate_number", "recorded_at"]


@dataclass
class SweepReport:
    """What one run of the daily check found and did."""

    expired: list[int] = field(default_factory=list)  # certificate ids now expired
    stale: list[int] = field(default_factory=list)  # certificate ids whose last check became too old
    joined: list[int] = field(default_factory=list)  # assignment ids that joined an open cycle


def _expiring(session: Session, today: date) -> pd.DataFrame:
    stmt = (select(Certificate.id, Certificate.partner_id, Certificate.status, Certificate.valid_to)
            .where(~col(Certificate.no_expiry), col(Certificate.valid_to) < today,
                   col(Certificate.status).in_([S.claimed, S.verified, S.suspended])))
    return pd.DataFrame([tuple(r) for r in session.exec(stmt).all()],
                        columns=["id", "partner_id", "status", "valid_to"])


def _going_stale(session: Session, today: date, recheck_days: int) -> pd.DataFrame:
    """Verified certificates whose last check is older than the interval and not yet reported as stale."""
    last = (select(CertificateVerification.certificate_id, func.max(CertificateVerification.verified_on).label("on"))
            .group_by(CertificateVerification.certificate_id).subquery())
    stmt = (select(Certificate.id, Certificate.partner_id, last.c.on)
            .join(last, last.c.certificate_id == Certificate.id)
            .where(Certificate.status == S.verified, last.c.on < today - timedelta(days=recheck_days)))
    frame = pd.DataFrame([tuple(r) for r in session.exec(stmt).all()], columns=["id", "partner_id", "last"])
    if frame.empty:
        return frame
    reported = pd.DataFrame([tuple(r) for r in session.exec(
        select(CertificateEvent.certificate_id, func.max(CertificateEvent.effective_on))
        .where(CertificateEvent.kind == E.verification_stale).group_by(CertificateEvent.certificate_id)).all()],
        columns=["id", "reported"])
    frame = frame.merge(reported, on="id", how="left")
    # A report dated as this last check's staleness (or later) means it is known already.
    due = [last + timedelta(days=recheck_days + 1) for last in frame["last"]]
    fresh = [pd.isna(r) or r < d for r, d in zip(frame["reported"], due, strict=True)]
    return frame[fresh]


def sweep(*, session: Session, actor: Actor, today: date | None = None) -> SweepReport:
    """Mark certificates past their valid-to day expired and report verifications that went stale, each once, as
    loss events; then partners no longer covered join the open cycles they were exempt from. One transaction."""
    require_write(actor)
    today = today or date.today()
    recheck = rule_settings.current(session=session).recheck_days
    report = SweepReport()
    now = utcnow()
    events = []
    expiring = _expiring(session, today)
    if not expiring.empty:
        ids = [int(i) for i in expiring["id"]]
        session.exec(update(Certificate).where(col(Certificate.id).in_(ids)).values(status=S.expired, updated_at=now))
        events += [{"certificate_id": int(r.id), "partner_id": int(r.partner_id), "kind": E.expired,
                    "effective_on": r.valid_to + timedelta(days=1), "from_status": str(r.status),
                    "to_status": S.expired, "note": f"Valid through {r.valid_to.isoformat()}",
                    "recorded_by": actor.username, "recorded_at": now} for r in expiring.itertuples()]
        report.expired = ids
    stale = _going_stale(session, today, recheck)
    if not stale.empty:
        events += [{"certificate_id": int(r.id), "partner_id": int(r.partner_id), "kind": E.verification_stale,
                    "effective_on": r.last + timedelta(days=recheck + 1), "from_status": S.verified,
                    "to_status": S.verified, "note": f"Last verified {r.last.isoformat()}; the rule wants a check "
                    f"every {recheck} days", "recorded_by": actor.username, "recorded_at": now}
                   for r in stale.itertuples()]
        report.stale = [int(i) for i in stale["id"]]
    if events:
        session.exec(insert(CertificateEvent), params=events)
        audit.record(session=session, actor=actor, action="check", entity="certificates", entity_id=today.isoformat(),
                     summary=f"Daily certificate check: {len(report.expired)} expired, {len(report.stale)} "
                             "verifications stale",
                     after={"expired": report.expired, "stale": report.stale})
        partners = {e["partner_id"] for e in events}
        report.joined = exemption.join_uncovered(session=session, actor=actor, partner_ids=partners, today=today,
                                                 why="certificate expired or its verification is stale")
    return report


def loss_events(*, session: Session, since: date | None = None) -> pd.DataFrame:
    """Certificate losses (suspended, revoked, expired, verification stale) effective on or after `since`, newest
    first, with the partner: what the follow-up engine turns into a follow-up to the partner's internal owner."""
    stmt = (select(CertificateEvent.id, CertificateEvent.certificate_id, CertificateEvent.partner_id,
                   Partner.partner_code, CertificateEvent.kind, CertificateEvent.effective_on, CertificateEvent.note,
                   Certificate.program, Certificate.certificate_number, CertificateEvent.recorded_at)
            .join(Partner, col(Partner.id) == CertificateEvent.partner_id)
            .join(Certificate, col(Certificate.id) == CertificateEvent.certificate_id)
            .where(col(CertificateEvent.kind).in_(list(LOSS_EVENTS))))
    if since is not None:
        stmt = stmt.where(CertificateEvent.effective_on >= since)
    stmt = stmt.order_by(col(CertificateEvent.effective_on).desc(), col(CertificateEvent.id).desc())
    return pd.DataFrame([tuple(r) for r in session.exec(stmt).all()], columns=LOSS_COLUMNS)
