"""The follow-up engine: what is due on a day (``plan``) and queuing it, each message once (``queue``).

``plan`` asks every enabled rule of the registry for the messages of its kind due on the day (one query per rule),
leaves out those whose key (kind, object, step) is in the outbox already, and says for the others what, if anything,
holds them back, in this order:
1. no e-mail address for the recipient;
2. the partner is paused (rules that chase: invitation, reminder, overdue, escalation, returned);
3. the partner's country is in a quiet period (messages to partners only);
4. the partner already got the weekly cap of messages in the last seven days (messages to partners only; the most
   urgent kinds go first).
A held message is not queued; the rule finds it again on a later run and it goes out once the hold is over, unless a
later step has replaced it by then.

``queue`` inserts the messages not held with INSERT ... ON CONFLICT DO NOTHING on the unique key: two runs at the
same moment queue each message once. The rendered body keeps the personal link masked; the sender puts it in.
"""

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, timedelta

import pandas as pd
from sqlalchemy import func
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, select

from models import FollowupMessage
from models.common import utcnow
from models.followups import Audience, FollowupKind, MessageStatus
from services.core import audit
from services.core.permissions import Actor, require_write
from services.followups import pauses, quiet, templates
from services.followups import settings as followup_settings
from services.followups.rules import CANDIDATE_COLUMNS, RULES, RuleContext

PLAN_COLUMNS = ["kind", "audience", "priority", *CANDIDATE_COLUMNS, "hold"]
MASKED_LINK = "[personal link: added when the message is sent]"
PAUSED = "partner paused"
CAP = "weekly cap reached"
_CHUNK = 5_000


@dataclass
class Plan:
    """The messages due on a day that are not in the outbox yet (PLAN_COLUMNS; `hold` empty for those to queue)."""

    day: date
    messages: pd.DataFrame

    @property
    def ready(self) -> pd.DataFrame:
        return self.messages[self.messages["hold"] == ""]

    @property
    def held(self) -> pd.DataFrame:
        return self.messages[self.messages["hold"] != ""]


@dataclass
class QueueReport:
    day: date
    queued: Counter = field(default_factory=Counter)  # kind -> messages queued by this run
    held: Counter = field(default_factory=Counter)  # reason -> messages held
    already: int = 0  # queued by another run at the same moment

    @property
    def total(self) -> int:
        return sum(self.queued.values())

    def summary(self) -> str:
        parts = [f"Queued {self.total} message{'' if self.total == 1 else 's'}"
                 + (": " + ", ".join(f"{n} {k}" for k, n in sorted(self.queued.items())) if self.total else "")]
        if self.held:
            parts.append("waiting: " + "; ".join(f"{n} ({why})" for why, n in self.held.most_common()))
        if self.already:
            parts.append(f"{self.already} queued by another run at the same moment")
        return "; ".join(parts) + "."


def _existing_keys(session: Session, frame: pd.DataFrame) -> set[tuple[str, str, str]]:
    """The keys of the outbox among the candidates' objects (a few queries in chunks, not one per message)."""
    keys: set[tuple[str, str, str]] = set()
    objects = sorted(set(frame["object_id"]))
    kinds = sorted(set(frame["kind"]))
    for start in range(0, len(objects), _CHUNK):
        keys.update((str(k), o, s) for k, o, s in session.exec(
            select(FollowupMessage.kind, FollowupMessage.object_id, FollowupMessage.step)
            .where(col(FollowupMessage.kind).in_(kinds),
                   col(FollowupMessage.object_id).in_(objects[start:start + _CHUNK]))).all())
    return keys


def _recent_counts(session: Session, partner_ids: list[int], day: date) -> dict[int, int]:
    """Partner id -> messages to the partner queued for the seven days up to the day (not cancelled)."""
    counts: dict[int, int] = {}
    for start in range(0, len(partner_ids), _CHUNK):
        counts.update(session.exec(
            select(FollowupMessage.partner_id, func.count())
            .where(col(FollowupMessage.partner_id).in_(partner_ids[start:start + _CHUNK]),
                   FollowupMessage.audience == Audience.partner,
                   FollowupMessage.status != MessageStatus.cancelled,
                   FollowupMessage.due_on > day - timedelta(days=7), FollowupMessage.due_on <= day)
            .group_by(FollowupMessage.partner_id)).all())
    return counts


def plan(*, session: Session, today: date | None = None, settings: followup_settings.Settings | None = None,
         kinds: list[FollowupKind] | None = None) -> Plan:
    """What is due on the day and not queued yet, with what holds each message back (read only)."""
    today = today or date.today()
    settings = settings or followup_settings.current(session=session)
    ctx = RuleContext(session=session, today=today, settings=settings)
    frames = []
    for kind, rule in RULES.items():
        if not settings.enabled(kind) or (kinds is not None and kind not in kinds):
            continue
        found = rule.find(ctx)
        if found.empty:
            continue
        found = found.copy()
        found.insert(0, "priority", rule.priority)
        found.insert(0, "audience", rule.audience)
        found.insert(0, "kind", kind)
        frames.append(found)
    if not frames:
        return Plan(today, pd.DataFrame(columns=PLAN_COLUMNS))
    frame = pd.concat(frames, ignore_index=True)
    existing = _existing_keys(session, frame)
    new = [(str(k), o, s) not in existing for k, o, s in zip(frame["kind"], frame["object_id"], frame["step"],
                                                               strict=True)]
    frame = frame[new].reset_index(drop=True)
    frame["hold"] = frame["problem"].astype(str)
    if frame.empty:
        return Plan(today, frame[PLAN_COLUMNS])
    chases = frame["kind"].map(lambda k: RULES[k].chases)
    to_partner = frame["audience"] == Audience.partner
    partner = pd.to_numeric(frame["partner_id"], errors="coerce")

    paused = pauses.paused_on(session=session, day=today)
    if paused:
        hit = (frame["hold"] == "") & chases & partner.isin(paused)
        frame.loc[hit, "hold"] = PAUSED

    countries = sorted(set(frame.loc[to_partner, "country_iso2"].dropna()) - {""})
    quiet_now = quiet.quiet_on(session=session, day=today, countries=countries,
                               public_holidays=settings.public_holidays)
    if quiet_now:
        reasons = frame["country_iso2"].map(lambda c: f"quiet period in {c}: {quiet_now[c]}" if c in quiet_now
                                            else "")
        hit = (frame["hold"] == "") & to_partner & (reasons != "")
        frame.loc[hit, "hold"] = reasons[hit]

    open_to_partner = (frame["hold"] == "") & to_partner
    if open_to_partner.any():
        ids = sorted({int(p) for p in partner[open_to_partner]})
        sent = _recent_counts(session, ids, today)
        order = frame[open_to_partner].sort_values(["partner_id", "priority", "kind", "object_id"])
        rank = order.groupby("partner_id").cumcount()
        room = order["partner_id"].map(lambda p: settings.weekly_cap - sent.get(int(p), 0))
        over = order.index[rank >= room]
        frame.loc[over, "hold"] = CAP
    return Plan(today, frame[PLAN_COLUMNS])


def _insert(session: Session, rows: list[dict]) -> int:
    """INSERT ... ON CONFLICT (kind, object_id, step) DO NOTHING; how many rows this call inserted."""
    dialect = session.get_bind().dialect.name
    table = FollowupMessage.__table__
    make = postgresql.insert if dialect == "postgresql" else sqlite.insert
    inserted = 0
    for start in range(0, len(rows), _CHUNK):
        stmt = make(table).on_conflict_do_nothing(index_elements=["kind", "object_id", "step"]).returning(table.c.id)
        inserted += len(session.execute(stmt, rows[start:start + _CHUNK]).all())
    return inserted


def queue(*, session: Session, actor: Actor, today: date | None = None,
          settings: followup_settings.Settings | None = None) -> QueueReport:
    """Queue every message due on the day that is not held back, once per (kind, object, step); one transaction.

    Returns what was queued by kind, what waits and why.
    """
    require_write(actor)
    today = today or date.today()
    settings = settings or followup_settings.current(session=session)
    planned = plan(session=session, today=today, settings=settings)
    report = QueueReport(day=today, held=Counter(_reason(h) for h in planned.held["hold"]))
    ready = planned.ready
    if ready.empty:
        return report
    edits = templates.overrides(session=session)
    now = utcnow()
    rows = []
    for r in ready.itertuples(index=False):
        values = {k: ("" if v is None else str(v)) for k, v in r.values.items()}
        shown = {**values, "link": MASKED_LINK} if RULES[r.kind].carries_link else values
        rendered = templates.render(templates.template(session=session, kind=r.kind, language=r.language,
                                                       edits=edits), shown)
        rows.append({
            "kind": r.kind, "object_id": r.object_id, "step": r.step, "due_on": today, "audience": r.audience,
            "partner_id": None if pd.isna(r.partner_id) else int(r.partner_id),
            "assignment_id": None if pd.isna(r.assignment_id) else int(r.assignment_id),
            "recipients": r.recipients, "recipient_name": r.recipient_name[:200], "language": r.language,
            "subject": rendered.subject, "body_text": rendered.text, "values": values,
            "status": MessageStatus.queued, "attempts": 0, "next_attempt_at": None, "last_error": "",
            "claimed_by": "", "claimed_at": None, "note": "", "message_id": "", "queued_by": actor.username,
            "queued_at": now, "sent_at": None,
        })
    inserted = _insert(session, rows)
    report.already = len(rows) - inserted
    if inserted == len(rows):
        report.queued = Counter(str(k) for k in ready["kind"])
    else:  # another run queued some of them at the same moment: count what is ours
        mine = session.exec(select(FollowupMessage.kind, func.count())
                            .where(FollowupMessage.queued_at == now, FollowupMessage.queued_by == actor.username,
                                   FollowupMessage.due_on == today)
                            .group_by(FollowupMessage.kind)).all()
        report.queued = Counter({str(k): n for k, n in mine})
    if inserted:
        audit.record(session=session, actor=actor, action="queue", entity="follow-ups", entity_id=today.isoformat(),
                     summary=report.summary(), after={"queued": dict(report.queued), "held": dict(report.held)})
    return report


def _reason(hold: str) -> str:
    """A hold's reason grouped for a summary: quiet periods by country, the rest as they are."""
    return hold.split(":")[0] if hold.startswith("quiet period in") else hold


def forecast(*, session: Session, today: date, days: int = 7) -> pd.DataFrame:
    """What becomes due on each of the next `days` days (today first), not queued yet, each message on the first day
    it is due: PLAN_COLUMNS plus `day`. Read only; the same rules as the runs of the command."""
    settings = followup_settings.current(session=session)
    seen: set[tuple] = set()
    frames = []
    for offset in range(days):
        day = today + timedelta(days=offset)
        frame = plan(session=session, today=day, settings=settings).messages
        keys = list(zip(frame["kind"], frame["object_id"], frame["step"], strict=True))
        fresh = [k not in seen for k in keys]
        seen.update(keys)
        frame = frame[fresh].copy()
        frame.insert(0, "day", day)
        frames.append(frame)
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=["day", *PLAN_COLUMNS])
