"""Follow-ups of partners' certificates, to the partner's internal owner (the admins when it has none).

- expiry: before a certificate's valid-to day (60, 30 and 7 days by default), while it is claimed or verified;
- re-verification: before its last verification becomes older than the certificate rule's re-check interval
  (services.certificates.settings), so it would stop counting (MSC 3.4: monitor partners' status);
- status lost: each loss event of the daily check or of a recorded change (services.certificates.monitor
  .loss_events: suspended, revoked, expired, verification stale), once.
"""

from datetime import timedelta

import pandas as pd
from sqlalchemy import func
from sqlmodel import Session, col, select

from models import Certificate, CertificateVerification, Partner, User
from models.certificate import CertificateStatus
from models.followups import Audience, FollowupKind
from services.certificates import monitor
from services.certificates import settings as certificate_settings
from services.certificates.rule import certificate_name
from services.followups.dates import latest_step
from services.followups.rules import NO_ADDRESS, Rule, RuleContext, candidates, iso, owner_recipient, register, text

K = FollowupKind
LOSS_LOOKBACK_DAYS = 30  # losses older than this when the follow-ups first run are history, not news
_LIVE = [CertificateStatus.claimed, CertificateStatus.verified]


def _owner_rows(ctx: RuleContext, frame: pd.DataFrame, steps: list[str], values: list[dict]) -> pd.DataFrame:
    rows = []
    for i, r in enumerate(frame.itertuples(index=False)):
        recipients, name, note = owner_recipient(ctx, r.owner_name, r.owner_email)
        rows.append({"object_id": str(r.object_id), "step": steps[i], "partner_id": int(r.partner_id),
                     "assignment_id": None, "country_iso2": "", "recipients": recipients, "recipient_name": name,
                     "language": "en",
                     "values": {"owner": name or "team", "partner": r.legal_name, "code": r.partner_code,
                                "note": note, **values[i]},
                     "problem": "" if recipients else NO_ADDRESS})
    return candidates(rows)


_CERT_COLUMNS = ["object_id", "partner_id", "program", "certificate_type", "number", "valid_to", "partner_code",
                 "legal_name", "owner_name", "owner_email"]


def _certificates(ctx: RuleContext, *conditions, last=None) -> pd.DataFrame:
    fields = [Certificate.id, Certificate.partner_id, Certificate.program, Certificate.certificate_type,
              Certificate.certificate_number, Certificate.valid_to, Partner.partner_code, Partner.legal_name,
              User.name, User.email]
    stmt = (select(*fields, *([last.c.on] if last is not None else []))
            .join(Partner, col(Partner.id) == Certificate.partner_id)
            .join(User, col(User.id) == Partner.owner_id, isouter=True))
    if last is not None:
        stmt = stmt.join(last, last.c.certificate_id == Certificate.id)
    stmt = stmt.where(Partner.status == "active", *conditions).order_by(Certificate.id)
    columns = _CERT_COLUMNS + (["last_verified"] if last is not None else [])
    return pd.DataFrame([tuple(r) for r in ctx.session.exec(stmt).all()], columns=columns)


def find_expiry(ctx: RuleContext) -> pd.DataFrame:
    """Claimed or verified certificates at the latest warning step before their valid-to day."""
    steps = ctx.settings.certificate_expiry_days
    frame = _certificates(ctx, col(Certificate.status).in_(_LIVE), ~col(Certificate.no_expiry),
                          col(Certificate.valid_to) >= ctx.today,
                          col(Certificate.valid_to) <= ctx.today + timedelta(days=max(steps)))
    chosen = [latest_step(d, steps, ctx.today) for d in frame["valid_to"]]
    keep = [s is not None for s in chosen]
    frame, chosen = frame[pd.Series(keep, index=frame.index, dtype=bool)], [s for s in chosen if s is not None]
    values = [{"certificate": certificate_name(r.program, text(r.certificate_type)), "number": text(r.number),
               "valid_to": iso(r.valid_to), "days": str((r.valid_to - ctx.today).days)}
              for r in frame.itertuples(index=False)]
    return _owner_rows(ctx, frame, [f"{d.isoformat()}:{s}d" for d, s in zip(frame["valid_to"], chosen, strict=True)],
                       values)


def find_reverification(ctx: RuleContext) -> pd.DataFrame:
    """Verified certificates whose last check becomes too old (the rule's re-check interval) within the warning
    days: re-check by that day."""
    recheck = certificate_settings.current(session=ctx.session).recheck_days
    warn = ctx.settings.reverification_days
    last = (select(CertificateVerification.certificate_id,
                   func.max(CertificateVerification.verified_on).label("on"))
            .group_by(CertificateVerification.certificate_id).subquery())
    frame = _certificates(ctx, Certificate.status == CertificateStatus.verified,
                          last.c.on >= ctx.today - timedelta(days=recheck),
                          last.c.on <= ctx.today - timedelta(days=max(recheck - warn, 0)), last=last)
    by = [d + timedelta(days=recheck) for d in frame["last_verified"]]
    values = [{"certificate": certificate_name(r.program, text(r.certificate_type)), "number": text(r.number),
               "last_verified": iso(r.last_verified), "recheck_by": iso(b)}
              for r, b in zip(frame.itertuples(index=False), by, strict=True)]
    return _owner_rows(ctx, frame, [b.isoformat() for b in by], values)


def find_lost(ctx: RuleContext) -> pd.DataFrame:
    """Loss events of the last LOSS_LOOKBACK_DAYS, each once."""
    events = monitor.loss_events(session=ctx.session, since=ctx.today - timedelta(days=LOSS_LOOKBACK_DAYS))
    events = events[pd.to_datetime(events["effective_on"]).dt.date <= ctx.today]
    if events.empty:
        return candidates([])
    ids = sorted({int(p) for p in events["partner_id"]})
    partners = pd.DataFrame([tuple(r) for r in ctx.session.exec(
        select(Partner.id, Partner.legal_name, Certificate.certificate_type, Certificate.id, User.name, User.email)
        .join(Certificate, col(Certificate.partner_id) == Partner.id)
        .join(User, col(User.id) == Partner.owner_id, isouter=True)
        .where(col(Partner.id).in_(ids), Partner.status == "active")).all()],
        columns=["partner_id", "legal_name", "certificate_type", "certificate_id", "owner_name", "owner_email"])
    frame = events.merge(partners, on=["partner_id", "certificate_id"])
    frame = frame.rename(columns={"event_id": "object_id"}).sort_values("object_id")
    values = [{"certificate": certificate_name(r.program, text(r.certificate_type)), "number": r.certificate_number,
               "event": str(r.kind), "effective_on": iso(r.effective_on), "detail": text(r.note)}
              for r in frame.itertuples(index=False)]
    return _owner_rows(ctx, frame, ["1"] * len(frame), values)


def _now(session: Session, messages: pd.DataFrame) -> dict[int, tuple]:
    ids = sorted({int(i) for i in messages["object_id"]})
    last = (select(CertificateVerification.certificate_id,
                   func.max(CertificateVerification.verified_on).label("on"))
            .where(col(CertificateVerification.certificate_id).in_(ids))
            .group_by(CertificateVerification.certificate_id).subquery())
    rows = session.exec(select(Certificate.id, Certificate.status, Certificate.valid_to, last.c.on)
                        .join(last, last.c.certificate_id == Certificate.id, isouter=True)
                        .where(col(Certificate.id).in_(ids))).all()
    return {r[0]: r[1:] for r in rows}


def stale_expiry(session: Session, messages: pd.DataFrame) -> dict[int, str]:
    now = _now(session, messages)
    out = {}
    for m in messages.itertuples(index=False):
        status, valid_to, _ = now.get(int(m.object_id), (None, None, None))
        if status is None:
            out[int(m.id)] = "the certificate no longer exists"
        elif status not in _LIVE:
            out[int(m.id)] = f"the certificate is {status} now"
        elif valid_to is None or not m.step.startswith(valid_to.isoformat()):
            out[int(m.id)] = f"the certificate's validity changed (now {iso(valid_to) or 'no expiry'})"
    return out


def stale_reverification(session: Session, messages: pd.DataFrame) -> dict[int, str]:
    recheck = certificate_settings.current(session=session).recheck_days
    now = _now(session, messages)
    out = {}
    for m in messages.itertuples(index=False):
        status, _, last = now.get(int(m.object_id), (None, None, None))
        if status != CertificateStatus.verified:
            out[int(m.id)] = f"the certificate is {status or 'gone'} now"
        elif last is not None and (last + timedelta(days=recheck)).isoformat() != m.step:
            out[int(m.id)] = f"verified again on {last.isoformat()}"
    return out


_OWNER_SAMPLE = {"owner": "Luis", "partner": "Rotterdam Ocean Lines B.V.", "code": "NL-SEA-007",
                 "certificate": "AEO-F", "number": "NLAEOF0001234", "note": ""}

register(Rule(K.certificate_expiry, Audience.owner, "on the days set before a claimed or verified certificate's "
              "valid-to day; to the partner's internal owner", find_expiry,
              {**_OWNER_SAMPLE, "valid_to": "2027-03-31", "days": "30"}, chases=False, priority=5,
              stale=stale_expiry))
register(Rule(K.reverification, Audience.owner, "before a verified certificate's last check becomes older than the "
              "re-check interval; to the partner's internal owner", find_reverification,
              {**_OWNER_SAMPLE, "last_verified": "2026-11-02", "recheck_by": "2027-01-31"}, chases=False,
              priority=6, stale=stale_reverification))
register(Rule(K.certificate_lost, Audience.owner, "once per loss (suspended, revoked, expired, verification stale) "
              f"recorded in the last {LOSS_LOOKBACK_DAYS} days; to the partner's internal owner", find_lost,
              {**_OWNER_SAMPLE, "event": "expired", "effective_on": "2027-04-01",
               "detail": "Valid through 2027-03-31"}, chases=False, priority=2))
