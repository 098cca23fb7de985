"""The certificate rule's settings: one row of CertificateSettings (the defaults while there is none)."""

from dataclasses import dataclass

from sqlmodel import Session, select

from models import CertificateSettings
from models.common import utcnow
from services.core import audit
from services.core.permissions import Actor, ValidationError, require_admin

DEFAULT_RECHECK_DAYS = 90
DEFAULT_JOIN_NOTICE_DAYS = 30
MIN_JOIN_NOTICE_DAYS = 30  # a partner pulled into a cycle late never gets less than this (issue 10)


@dataclass(frozen=True)
class RuleSettings:
    """What the rule and the late join read."""

    recheck_days: int = DEFAULT_RECHECK_DAYS
    join_notice_days: int = DEFAULT_JOIN_NOTICE_DAYS


def current(*, session: Session) -> RuleSettings:
    """The saved settings, or the defaults."""
    row = session.exec(select(CertificateSettings).order_by(CertificateSettings.id)).first()
    if row is None:
        return RuleSettings()
    return RuleSettings(recheck_days=row.recheck_days, join_notice_days=row.join_notice_days)


def save(*, session: Session, actor: Actor, recheck_days: int, join_notice_days: int) -> RuleSettings:
    """Change the settings (admins only); audited with before and after.

    The re-check interval is 1 to 730 days; the notice for a late join at least 30 days (at most 365).
    """
    require_admin(actor)
    errors = []
    if not isinstance(recheck_days, int) or not 1 <= recheck_days <= 730:
        errors.append(f"re-check interval: {recheck_days} is not a number of days from 1 to 730")
    if not isinstance(join_notice_days, int) or not MIN_JOIN_NOTICE_DAYS <= join_notice_days <= 365:
        errors.append(f"notice for a late join: {join_notice_days} is not a number of days from "
                      f"{MIN_JOIN_NOTICE_DAYS} to 365")
    if errors:
        raise ValidationError("; ".join(errors))
    row = session.exec(select(CertificateSettings).order_by(CertificateSettings.id)).first()
    before = current(session=session)
    row = row or CertificateSettings()
    row.recheck_days, row.join_notice_days = recheck_days, join_notice_days
    row.updated_by, row.updated_at = actor.username, utcnow()
    session.add(row)
    session.flush()
    after = RuleSettings(recheck_days, join_notice_days)
    audit.record(session=session, actor=actor, action="update", entity="certificate settings", entity_id=row.id,
                 summary=f"Certificate rule: re-check every {recheck_days} days, late joiners get "
                         f"{join_notice_days} days",
                 before=before.__dict__, after=after.__dict__)
    return after
