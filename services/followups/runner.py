"""One run of the follow-ups, as ``manage.py send-followups`` does it from cron: the daily certificate check, then
queue what is due, then send what the outbox holds.

The check and the queuing run in one transaction under a run lock (PostgreSQL: an advisory lock; SQLite: BEGIN
IMMEDIATE), so two runs started at the same moment take turns: the second finds everything done. The outbox's
unique key and the senders' claims make each message queued and sent once even without the lock. A dry run does
the same work and rolls it back, so it shows exactly what a run would queue.
"""

from dataclasses import dataclass
from datetime import date

from sqlalchemy import Engine, text
from sqlmodel import Session, func, select

from models import FollowupMessage
from models.followups import MessageStatus
from services.certificates import monitor
from services.core import config
from services.core.permissions import Actor, require_write
from services.followups import engine as followup_engine
from services.followups import outbox

_LOCK_KEY = 7_301_120_010  # any constant: the advisory lock of follow-up runs on PostgreSQL


@dataclass
class RunReport:
    day: date
    dry_run: bool
    checked: monitor.SweepReport
    queued: followup_engine.QueueReport
    sent: outbox.SendReport | None
    smtp_configured: bool
    in_outbox: int  # queued or failed messages waiting after the run

    def lines(self) -> list[str]:
        out = [f"Certificates checked: {len(self.checked.expired)} expired, {len(self.checked.stale)} verifications "
               f"stale, {len(self.checked.joined)} partners joined an open cycle.",
               self.queued.summary()]
        if self.dry_run:
            out.append("Dry run: nothing was written or sent.")
        elif self.sent is not None:
            out.append(self.sent.summary())
        elif not self.smtp_configured:
            out.append(f"SMTP is not configured: {self.in_outbox} message(s) wait in the outbox (README, "
                       "\"Follow-ups\").")
        else:
            out.append(f"Not sent (--queue-only): {self.in_outbox} message(s) wait in the outbox.")
        return out


def lock(session: Session) -> None:
    """Take the follow-up run lock for the session's transaction."""
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK_KEY})
    elif connection.dialect.name == "sqlite" and not connection.connection.dbapi_connection.in_transaction:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def waiting(*, session: Session) -> int:
    return session.exec(select(func.count()).select_from(FollowupMessage).where(
        FollowupMessage.status.in_([MessageStatus.queued, MessageStatus.failed]))).one()


def run(*, engine: Engine, actor: Actor, today: date | None = None, dry_run: bool = False, send: bool = True,
        smtp: config.SmtpSettings | None = None) -> RunReport:
    """Check certificates, queue what is due on the day, and (unless dry_run or send=False) send the outbox."""
    require_write(actor)  # before the run lock: a refused caller must not hold up the real run
    today = today or date.today()
    smtp = smtp or config.smtp_settings()
    with Session(engine, expire_on_commit=False) as session:
        try:
            lock(session)
            checked = monitor.sweep(session=session, actor=actor, today=today)
            queued = followup_engine.queue(session=session, actor=actor, today=today)
        except Exception:
            session.rollback()
            raise
        if dry_run:
            session.rollback()
        else:
            session.commit()
    sent = None
    if send and not dry_run and smtp.configured:
        sent = outbox.send_due(engine=engine, smtp=smtp, actor=actor, today=today)
    with Session(engine) as session:
        left = waiting(session=session)
    return RunReport(today, dry_run, checked, queued, sent, smtp.configured, left)
