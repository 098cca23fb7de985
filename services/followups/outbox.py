"""The outbox: sending the queued messages (``send_due``, the one sender of the command and of the page's "send
now"), retrying with back-off, and what the page lists and changes.

A sender claims a batch with one UPDATE ... WHERE status IN (queued, failed): another sender running at the same
moment cannot claim the same message, so none is sent twice. Each claimed message is checked once more before it
goes: a rule's ``stale`` check cancels what is no longer due (the partner submitted, the certificate was renewed),
and a partner paused or in a quiet period today waits. The personal link goes in at that moment, from the
assignment's sealed token (services.collection.sealed); when that cannot be read, a fresh link is issued (the old
one stops working) and the message notes it. Each result is committed on its own.

Failures: a refused connection, a timeout or a 4xx answer is retried after ``retry_minutes`` x 2^(tries-1); after
``max_attempts`` tries, or at once on a 5xx refusal, the message is given up with the error. A message found still
"sending" after SENDING_TIMEOUT (a sender killed mid-way) is given up as possibly delivered: retried by hand only,
so nobody gets it twice.

Crashes: a claimed message is marked in flight (``claimed_at``) in its own commit just before it goes to the SMTP
server. Only that one message can be lost in a crash between the server's "accepted" and our record of it, and it
is the one given up as possibly delivered. The rest of a killed sender's batch, claimed but never tried, is put
back by the next sender at its start and sent once; a live sender that finds a message taken back skips it.
"""

import secrets
import smtplib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

import pandas as pd
from sqlalchemy import Engine, case, func, or_, update
from sqlmodel import Session, col, select

from models import Assignment, Cycle, FollowupMessage, Partner
from models.collection import CycleStatus
from models.common import utcnow
from models.followups import Audience, FollowupKind, MessageStatus
from services.collection import links, sealed, states
from services.core import audit, config, db
from services.core.permissions import Actor, ValidationError, require_admin, require_write
from services.followups import mail, pauses, quiet, templates
from services.followups import settings as followup_settings
from services.followups.dates import assignment_due
from services.followups.engine import MASKED_LINK
from services.followups.rules import RULES

M = MessageStatus
SENDING_TIMEOUT = timedelta(minutes=30)
LINK_MARGIN_DAYS = 30  # a link in a message keeps working at least this long after the due date (and from today)
OUTBOX_COLUMNS = ["id", "kind", "status", "due_on", "recipients", "recipient_name", "language", "subject",
                  "partner_id", "partner_code", "assignment_id", "object_id", "step", "attempts", "next_attempt_at",
                  "last_error", "note", "queued_at", "sent_at"]
_SENDABLE = (M.queued, M.failed)


@dataclass
class SendReport:
    sent: int = 0
    failed: int = 0
    given_up: int = 0
    cancelled: int = 0
    waiting: int = 0  # held back at send time (pause, quiet period, no base URL)
    fresh_links: int = 0
    errors: list[str] = field(default_factory=list)

    def summary(self) -> str:
        parts = [f"Sent {self.sent}"]
        for label, n in (("failed (retried later)", self.failed), ("given up", self.given_up),
                         ("cancelled as no longer due", self.cancelled), ("waiting", self.waiting),
                         ("with a fresh link", self.fresh_links)):
            if n:
                parts.append(f"{n} {label}")
        return ", ".join(parts) + "."


def _release_stuck(engine: Engine, now: datetime) -> int:
    """Put back what a stopped sender claimed but never tried; give up what it was sending for SENDING_TIMEOUT."""
    with db.session_scope(engine) as s:
        s.exec(update(FollowupMessage)
               .where(FollowupMessage.status == M.sending, col(FollowupMessage.claimed_at).is_(None))
               .values(status=case((FollowupMessage.attempts > 0, M.failed), else_=M.queued), claimed_by=""))
        return s.exec(update(FollowupMessage)
                      .where(FollowupMessage.status == M.sending,
                             col(FollowupMessage.claimed_at) < now - SENDING_TIMEOUT)
                      .values(status=M.given_up, claimed_by="", last_error="The sender stopped while sending this "
                              "message; it may or may not have arrived. Retry it by hand if it did not.")).rowcount


def _in_flight(engine: Engine, message_id: int, run: str, now: datetime) -> bool:
    """Mark a claimed message as going to the SMTP server now (committed first); False when the claim was lost."""
    with db.session_scope(engine) as s:
        return s.exec(update(FollowupMessage)
                      .where(FollowupMessage.id == message_id, FollowupMessage.claimed_by == run,
                             FollowupMessage.status == M.sending)
                      .values(claimed_at=now)).rowcount == 1


def _claim(engine: Engine, run: str, now: datetime, limit: int, ids: Sequence[int] | None, after: int
           ) -> tuple[int, bool]:
    """Claim up to `limit` sendable messages with an id above `after` in one UPDATE; (claimed, whether any sendable
    one was left). The run moves forward by id, so a message put back to wait is not claimed again by it."""
    pick = select(FollowupMessage.id).where(col(FollowupMessage.status).in_(_SENDABLE), FollowupMessage.id > after)
    if ids is None:
        pick = pick.where(or_(col(FollowupMessage.next_attempt_at).is_(None), FollowupMessage.next_attempt_at <= now))
    else:
        pick = pick.where(col(FollowupMessage.id).in_(list(ids)))
    with db.session_scope(engine) as s:
        claimed = s.exec(update(FollowupMessage)
                         .where(col(FollowupMessage.id).in_(pick.order_by(FollowupMessage.id).limit(limit)),
                                col(FollowupMessage.status).in_(_SENDABLE))
                         .values(status=M.sending, claimed_by=run, claimed_at=None)).rowcount
    if claimed:
        return claimed, True
    with Session(engine) as s:
        return 0, s.exec(pick.limit(1)).first() is not None


def _claimed(session: Session, run: str) -> pd.DataFrame:
    rows = session.exec(select(FollowupMessage).where(FollowupMessage.claimed_by == run,
                                                      FollowupMessage.status == M.sending)
                        .order_by(FollowupMessage.id)).all()
    return pd.DataFrame([{"id": m.id, "kind": m.kind, "object_id": m.object_id, "step": m.step,
                          "audience": m.audience, "partner_id": m.partner_id, "assignment_id": m.assignment_id,
                          "recipients": m.recipients, "recipient_name": m.recipient_name, "language": m.language,
                          "values": m.values, "attempts": m.attempts} for m in rows],
                        columns=["id", "kind", "object_id", "step", "audience", "partner_id", "assignment_id",
                                 "recipients", "recipient_name", "language", "values", "attempts"])


def _set(session: Session, id_: int, run: str, **values) -> None:
    """Record the outcome of a claimed message (only while this sender holds the claim)."""
    session.exec(update(FollowupMessage).where(FollowupMessage.id == id_, FollowupMessage.claimed_by == run)
                 .values(claimed_by="", **values))


def _holds(session: Session, batch: pd.DataFrame, today: date, public_holidays: bool) -> dict[int, str]:
    """Messages of the batch that must wait today: a paused partner (chasing kinds), a quiet period (to partners)."""
    out: dict[int, str] = {}
    partner_ids = sorted({int(p) for p in batch["partner_id"].dropna()})
    if not partner_ids:
        return out
    paused = pauses.paused_on(session=session, day=today)
    countries = dict(session.exec(select(Partner.id, Partner.country_iso2)
                                  .where(col(Partner.id).in_(partner_ids))).all())
    to_partner = batch[batch["audience"] == Audience.partner]
    quiet_now = quiet.quiet_on(session=session, day=today, public_holidays=public_holidays,
                               countries={countries.get(int(p), "") for p in to_partner["partner_id"].dropna()})
    for m in batch.itertuples(index=False):
        if pd.isna(m.partner_id):
            continue
        country = countries.get(int(m.partner_id), "")
        if RULES[m.kind].chases and int(m.partner_id) in paused:
            out[int(m.id)] = "waiting: the partner's follow-ups are paused"
        elif m.audience == Audience.partner and country in quiet_now:
            out[int(m.id)] = f"waiting: quiet period in {country}: {quiet_now[country]}"
    return out


def _end_of(day: date) -> datetime:
    return datetime.combine(day, time(23, 59, 59), tzinfo=UTC)


def _links(session: Session, actor: Actor, assignment_ids: set[int], today: date
           ) -> tuple[dict[int, str], set[int], dict[int, str]]:
    """For the assignments of link-bearing messages: (assignment id -> a working token, the ids that got a fresh
    link replacing an earlier one, assignment id -> why it can have none). A token that cannot be unsealed
    (issued before tokens were sealed, another key) or no longer works is replaced by a fresh link; every link is
    kept open until LINK_MARGIN_DAYS after the later of the due date and today."""
    if not assignment_ids:
        return {}, set(), {}
    rows = session.exec(select(Assignment.id, Assignment.token_hash, Assignment.token_sealed, Assignment.token_revoked,
                               Assignment.token_expires_at, Assignment.status, assignment_due(), Cycle.status)
                        .join(Cycle, col(Cycle.id) == Assignment.cycle_id)
                        .where(col(Assignment.id).in_(sorted(assignment_ids)))).all()
    tokens: dict[int, str] = {}
    problems: dict[int, str] = dict.fromkeys(assignment_ids, "the questionnaire no longer exists")
    due: dict[int, date] = {}
    fresh: set[int] = set()
    issue: set[int] = set()
    now = utcnow()
    for assignment_id, token_hash, token_sealed, revoked, expires, status, due_date, cycle_status in rows:
        problems.pop(assignment_id)
        due[assignment_id] = pd.Timestamp(due_date).date()
        if cycle_status != CycleStatus.open:
            problems[assignment_id] = "the cycle was closed"
        elif status not in states.LINK_OPENS:
            problems[assignment_id] = f"the questionnaire is {status}"
        else:
            token = sealed.unseal(token_sealed)
            if (token is not None and not revoked and token_hash == links.token_hash(token)
                    and expires is not None and expires > now):
                tokens[assignment_id] = token
            else:
                issue.add(assignment_id)
                if token_hash is not None:  # an earlier link existed: the message says it was replaced
                    fresh.add(assignment_id)
    if issue:
        tokens.update(links.issue_links(session=session, actor=actor, assignment_ids=sorted(issue)))
    for assignment_id in tokens:
        until = _end_of(max(due[assignment_id], today) + timedelta(days=LINK_MARGIN_DAYS))
        session.exec(update(Assignment).where(Assignment.id == assignment_id,
                                              col(Assignment.token_expires_at) < until)
                     .values(token_expires_at=until))
    return tokens, fresh, problems


def _fail(session: Session, message_id: int, run: str, attempts: int, error: str, *, permanent: bool,
          settings: followup_settings.Settings, now: datetime) -> str:
    """Record a failed try: retried after the back-off, or given up; returns the new status."""
    tries = attempts + 1
    if permanent or tries >= settings.max_attempts:
        _set(session, message_id, run, status=M.given_up, attempts=tries, last_error=error, next_attempt_at=None)
        return M.given_up
    wait = timedelta(minutes=settings.retry_minutes * 2 ** (tries - 1))
    _set(session, message_id, run, status=M.failed, attempts=tries, last_error=error, next_attempt_at=now + wait)
    return M.failed


def send_due(*, engine: Engine, smtp: config.SmtpSettings, actor: Actor, today: date | None = None,
             now: datetime | None = None, ids: Sequence[int] | None = None, batch: int = 50,
             base_url: str | None = None) -> SendReport:
    """Send what is due in the outbox (or the messages `ids`, back-off or not) over SMTP; each result committed.

    Pages never talk to SMTP themselves: their "send now" calls this, as the command does. `today` is the day the
    holds are checked for (the command's --today); `now` the clock of back-offs and timestamps.
    """
    require_write(actor)
    if not smtp.configured:
        raise ValidationError("SMTP is not configured: messages stay queued. Set the SMTP host and sender (README, "
                              "\"Follow-ups\").")
    today = today or date.today()
    now = now or utcnow()
    base_url = base_url if base_url is not None else config.base_url()
    report = SendReport()
    _release_stuck(engine, now)
    run = f"{secrets.token_hex(6)}"
    with Session(engine) as s:
        settings = followup_settings.current(session=s)
    after = 0
    for _ in range(10_000):
        claimed, left = _claim(engine, run, now, batch, ids, after)
        if not claimed:
            if not left:
                break
            continue  # another sender took that batch first
        with Session(engine) as s:
            after = s.exec(select(func.max(FollowupMessage.id)).where(FollowupMessage.claimed_by == run,
                                                                      FollowupMessage.status == M.sending)).one()
        _send_batch(engine, smtp, actor, run, today, now, base_url, settings, report)
    return report


def _send_batch(engine: Engine, smtp: config.SmtpSettings, actor: Actor, run: str, today: date, now: datetime,
                base_url: str | None, settings: followup_settings.Settings, report: SendReport) -> None:
    with db.session_scope(engine) as s:
        messages = _claimed(s, run)
        cancel: dict[int, str] = {}
        for kind, group in messages.groupby("kind", sort=False):
            rule = RULES.get(FollowupKind(kind))
            if rule is None:
                cancel.update(dict.fromkeys(group["id"].astype(int), "its rule no longer exists"))
            elif rule.stale is not None:
                cancel.update(rule.stale(s, group))
        wait = _holds(s, messages[~messages["id"].isin(list(cancel))], today, settings.public_holidays)
        carrying = messages[~messages["id"].isin(list(cancel) + list(wait))]
        carrying = carrying[[RULES[FollowupKind(k)].carries_link for k in carrying["kind"]]]
        if not carrying.empty and not base_url:
            wait.update(dict.fromkeys(carrying["id"].astype(int), "waiting: CTPAT_BASE_URL is not set, so no "
                                      "personal link can be made"))
            carrying = carrying.iloc[0:0]
        tokens, fresh, problems = _links(s, actor, {int(a) for a in carrying["assignment_id"]}, today)
        for m in carrying.itertuples(index=False):
            if int(m.assignment_id) in problems:
                cancel[int(m.id)] = problems[int(m.assignment_id)]
        for message_id, why in cancel.items():
            _set(s, message_id, run, status=M.cancelled, note=f"cancelled: {why}"[:300])
        for message_id, why in wait.items():
            _set(s, message_id, run, status=M.queued, note=why[:300])
        report.cancelled += len(cancel)
        report.waiting += len(wait)
        edits = templates.overrides(session=s)
    todo = messages[~messages["id"].isin(list(cancel) + list(wait))]
    if todo.empty:
        return
    client = None
    try:
        client = mail.connect(smtp)
    except (OSError, smtplib.SMTPException) as error:
        text = f"connecting to {smtp.host}:{smtp.port}: {mail.describe(error)}"
        with db.session_scope(engine) as s:
            for m in todo.itertuples(index=False):
                status = _fail(s, int(m.id), run, int(m.attempts), text, permanent=False, settings=settings, now=now)
                report.failed += status == M.failed
                report.given_up += status == M.given_up
        report.errors.append(text)
        return
    try:
        for m in todo.itertuples(index=False):
            client = _send_one(engine, smtp, client, run, m, tokens, fresh, base_url, edits, settings, now, report)
    finally:
        if client is not None:
            try:
                client.quit()
            except (OSError, smtplib.SMTPException):
                pass


def _send_one(engine, smtp, client, run, m, tokens, fresh, base_url, edits, settings, now, report):
    """Send one claimed message and record the result; returns the SMTP session to go on with (None if lost)."""
    kind = FollowupKind(m.kind)
    values = dict(m.values)
    carries = RULES[kind].carries_link
    if carries:
        values["link"] = links.link_url(base_url=base_url, token=tokens[int(m.assignment_id)])
    with Session(engine) as s:
        template = templates.template(session=s, kind=kind, language=m.language, edits=edits)
    rendered = templates.render(template, values)
    stored = templates.render(template, {**values, "link": MASKED_LINK}) if carries else rendered
    note = "a fresh link was issued: the earlier one could not be read" if carries and int(m.assignment_id) in fresh \
        else ""
    error, permanent, refused = "", False, ""
    if not _in_flight(engine, int(m.id), run, now):
        return client  # another sender took it back after this one was thought stopped: it sends it
    try:
        if client is None:
            client = mail.connect(smtp)
        message = mail.build(smtp=smtp, recipients=m.recipients, name=m.recipient_name, language=m.language,
                             rendered=rendered, key=f"{kind}; {m.object_id}; {m.step}")
        refused = mail.send(client, message)
    except (ValueError, mail.Refused) as failure:
        error, permanent = str(failure)[:1000], True
    except (OSError, smtplib.SMTPException) as failure:
        error = mail.describe(failure)
        if isinstance(failure, (OSError, smtplib.SMTPServerDisconnected)):
            client = None  # the session is gone: the next message connects again
    with db.session_scope(engine) as s:
        if error:
            status = _fail(s, int(m.id), run, int(m.attempts), error, permanent=permanent, settings=settings, now=now)
            report.failed += status == M.failed
            report.given_up += status == M.given_up
            report.errors.append(f"message {m.id} to {m.recipients}: {error}")
        else:
            _set(s, int(m.id), run, status=M.sent, sent_at=utcnow(), attempts=int(m.attempts) + 1, last_error="",
                 next_attempt_at=None, message_id=message["Message-ID"], subject=rendered.subject,
                 body_text=stored.text, note=(note + ("; refused by some: " + refused if refused else ""))[:300])
            report.sent += 1
            report.fresh_links += bool(note)
    return client


def retry(*, session: Session, actor: Actor, ids: Sequence[int]) -> int:
    """Put failed, given-up or cancelled messages back in the queue for the next run; returns how many."""
    require_write(actor)
    ids = [int(i) for i in ids]
    changed = session.exec(update(FollowupMessage)
                           .where(col(FollowupMessage.id).in_(ids),
                                  col(FollowupMessage.status).in_([M.failed, M.given_up, M.cancelled]))
                           .values(status=M.queued, attempts=0, next_attempt_at=None,
                                   note=f"retry asked by {actor.username}")).rowcount
    if changed:
        audit.record(session=session, actor=actor, action="retry", entity="follow-ups",
                     entity_id=str(ids[0]) if len(ids) == 1 else f"{len(ids)} messages",
                     summary=f"Put {changed} message(s) back in the queue", after={"ids": ids})
    return changed


def cancel(*, session: Session, actor: Actor, ids: Sequence[int]) -> int:
    """Cancel queued or failed messages; returns how many."""
    require_write(actor)
    ids = [int(i) for i in ids]
    changed = session.exec(update(FollowupMessage)
                           .where(col(FollowupMessage.id).in_(ids), col(FollowupMessage.status).in_(_SENDABLE))
                           .values(status=M.cancelled, note=f"cancelled by {actor.username}")).rowcount
    if changed:
        audit.record(session=session, actor=actor, action="cancel", entity="follow-ups",
                     entity_id=str(ids[0]) if len(ids) == 1 else f"{len(ids)} messages",
                     summary=f"Cancelled {changed} message(s)", after={"ids": ids})
    return changed


def send_now(*, engine: Engine, actor: Actor, ids: Sequence[int], smtp: config.SmtpSettings | None = None,
             today: date | None = None) -> SendReport:
    """The page's "send now" (admins only): the chosen queued or failed messages, at once, by the same sender."""
    require_admin(actor)
    if not ids:
        raise ValidationError("Choose the messages to send.")
    return send_due(engine=engine, smtp=smtp or config.smtp_settings(), actor=actor, today=today,
                    ids=[int(i) for i in ids])


def messages(*, session: Session, statuses: Sequence[str] | None = None, kinds: Sequence[str] | None = None,
             text: str = "", limit: int = 2_000) -> pd.DataFrame:
    """Outbox messages, newest first, filtered (OUTBOX_COLUMNS)."""
    stmt = (select(FollowupMessage.id, FollowupMessage.kind, FollowupMessage.status, FollowupMessage.due_on,
                   FollowupMessage.recipients, FollowupMessage.recipient_name, FollowupMessage.language,
                   FollowupMessage.subject, FollowupMessage.partner_id, Partner.partner_code,
                   FollowupMessage.assignment_id, FollowupMessage.object_id, FollowupMessage.step,
                   FollowupMessage.attempts, FollowupMessage.next_attempt_at, FollowupMessage.last_error,
                   FollowupMessage.note, FollowupMessage.queued_at, FollowupMessage.sent_at)
            .join(Partner, col(Partner.id) == FollowupMessage.partner_id, isouter=True))
    if statuses:
        stmt = stmt.where(col(FollowupMessage.status).in_(list(statuses)))
    if kinds:
        stmt = stmt.where(col(FollowupMessage.kind).in_(list(kinds)))
    if text.strip():
        like = f"%{text.strip().lower()}%"
        stmt = stmt.where(func.lower(FollowupMessage.recipients).like(like)
                          | func.lower(FollowupMessage.subject).like(like)
                          | func.lower(func.coalesce(Partner.partner_code, "")).like(like))
    rows = session.exec(stmt.order_by(col(FollowupMessage.id).desc()).limit(limit)).all()
    return pd.DataFrame([tuple(r) for r in rows], columns=OUTBOX_COLUMNS)


def message(*, session: Session, message_id: int) -> FollowupMessage | None:
    return session.get(FollowupMessage, message_id)


def status_counts(*, session: Session) -> dict[str, int]:
    """Messages per status (every status listed)."""
    found = dict(session.exec(select(FollowupMessage.status, func.count()).group_by(FollowupMessage.status)).all())
    return {str(status): int(found.get(status, 0)) for status in M}
