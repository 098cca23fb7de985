"""Follow-ups of the questionnaires: invitation, reminders, overdue notice, escalation, returned questionnaire.

Which statuses count as done comes from the transition table (services.collection.states.FINISHED: submitted,
accepted, exempt), so reminders stop when the partner submits or becomes exempt. The due date is the assignment's
own when it has one (a late joiner, an extension), else its cycle's; steps are keyed by it, so a moved due date
starts its own reminders. The recipient is the partner's primary contact (as services.partners.contacts
.primary_contact, joined for all partners at once), else the contact on the partner record.
"""

from datetime import UTC, timedelta

import pandas as pd
from sqlalchemy import and_, or_
from sqlmodel import Session, col, select

from models import Assignment, Country, Cycle, Partner, PartnerContact, ReviewComment, User
from models.collection import AssignmentStatus, CycleStatus
from models.followups import Audience, FollowupKind
from services import texts
from services.collection import states, titles
from services.followups.dates import assignment_due, latest_step
from services.followups.rules import NO_ADDRESS, Rule, RuleContext, candidates, iso, owner_recipient, register, text

S = AssignmentStatus
K = FollowupKind
_COLUMNS = ["assignment_id", "partner_id", "status", "language", "sent_at", "reviewed_at", "due", "cycle",
            "partner_titles", "cycle_due", "partner_code", "legal_name", "country_iso2", "country", "contact_name",
            "contact_email", "record_contact_name", "record_contact_email", "owner_name", "owner_email"]
_NOT_STARTED_OR_DONE = sorted(states.FINISHED | {S.not_sent})


def _assignments(ctx: RuleContext, *conditions) -> pd.DataFrame:
    """Assignments of open cycles of active partners matching the conditions, with contact and owner; one query."""
    stmt = (select(Assignment.id, Assignment.partner_id, Assignment.status, Assignment.language, Assignment.sent_at,
                   Assignment.reviewed_at, assignment_due(), Cycle.name, Cycle.partner_titles, Cycle.due_date,
                   Partner.partner_code, Partner.legal_name,
                   Partner.country_iso2, Country.name, PartnerContact.name, PartnerContact.email,
                   Partner.contact_name, Partner.contact_email, User.name, User.email)
            .join(Cycle, col(Cycle.id) == Assignment.cycle_id)
            .join(Partner, col(Partner.id) == Assignment.partner_id)
            .join(Country, col(Country.iso2) == Partner.country_iso2, isouter=True)
            .join(PartnerContact, and_(col(PartnerContact.partner_id) == Partner.id, col(PartnerContact.is_primary)),
                  isouter=True)
            .join(User, col(User.id) == Partner.owner_id, isouter=True)
            .where(Cycle.status == CycleStatus.open, Partner.status == "active", *conditions)
            .order_by(Assignment.id))
    frame = pd.DataFrame([tuple(r) for r in ctx.session.exec(stmt).all()], columns=_COLUMNS)
    frame["due"] = pd.to_datetime(frame["due"]).dt.date
    return frame


def _partner_rows(ctx: RuleContext, frame: pd.DataFrame, steps: list[str], extra: list[dict] | None = None
                  ) -> pd.DataFrame:
    """Candidate rows to the partners' contacts, in each assignment's language; the cycle as partners know it (its
    title for partners in that language, never the team's name for it)."""
    rows = []
    for i, r in enumerate(frame.itertuples(index=False)):
        email = text(r.contact_email) or text(r.record_contact_email)
        name = text(r.contact_name) or text(r.record_contact_name) or r.legal_name
        language = texts.language_of(r.language)
        values = {"contact": name, "partner": r.legal_name, "company": ctx.company,
                  "cycle": titles.title_from(r.partner_titles, pd.Timestamp(r.cycle_due).year, language),
                  "due": iso(r.due), **(extra[i] if extra else {})}
        rows.append({"object_id": str(r.assignment_id), "step": steps[i], "partner_id": int(r.partner_id),
                     "assignment_id": int(r.assignment_id), "country_iso2": r.country_iso2, "recipients": email,
                     "recipient_name": name, "language": language, "values": values,
                     "problem": "" if email else NO_ADDRESS})
    return candidates(rows)


def find_invitations(ctx: RuleContext) -> pd.DataFrame:
    """Questionnaires not sent yet, and links issued in the app that were never e-mailed: the invitation carries the
    link (issued when it is sent, for a questionnaire that has none)."""
    frame = _assignments(ctx, or_(Assignment.status == S.not_sent,
                                  and_(Assignment.status == S.sent, col(Assignment.token_sealed).is_not(None))))
    return _partner_rows(ctx, frame, ["1"] * len(frame))


def find_reminders(ctx: RuleContext) -> pd.DataFrame:
    """Questionnaires sent but not finished, at the latest reminder step due before the due date; a step is due
    only after the questionnaire was sent (a late joiner is not reminded on the day of its invitation)."""
    steps = ctx.settings.reminder_days
    due = assignment_due()
    frame = _assignments(ctx, col(Assignment.status).not_in(_NOT_STARTED_OR_DONE), due >= ctx.today,
                         due <= ctx.today + timedelta(days=max(steps)))
    keep, names = [], []
    for r in frame.itertuples(index=False):
        step = latest_step(r.due, steps, ctx.today)
        sent = pd.Timestamp(r.sent_at).date() if r.sent_at is not None and not pd.isna(r.sent_at) else None
        ok = step is not None and (sent is None or r.due - timedelta(days=step) > sent)
        keep.append(ok)
        if ok:
            names.append(f"{r.due.isoformat()}:{step}d")
    return _partner_rows(ctx, frame[pd.Series(keep, index=frame.index, dtype=bool)], names)


def find_overdue(ctx: RuleContext) -> pd.DataFrame:
    """Questionnaires sent but not finished after their due date: one notice per due date."""
    frame = _assignments(ctx, col(Assignment.status).not_in(_NOT_STARTED_OR_DONE), assignment_due() < ctx.today)
    return _partner_rows(ctx, frame, [f"{d.isoformat()}:overdue" for d in frame["due"]])


def find_escalations(ctx: RuleContext) -> pd.DataFrame:
    """Questionnaires not finished N days after their due date (invited or not): to the partner's internal owner."""
    days = ctx.settings.escalate_after_days
    frame = _assignments(ctx, col(Assignment.status).not_in(sorted(states.FINISHED)),
                         assignment_due() <= ctx.today - timedelta(days=days))
    rows = []
    for r in frame.itertuples(index=False):
        recipients, name, note = owner_recipient(ctx, r.owner_name, r.owner_email)
        values = {"owner": name or "team", "partner": r.legal_name, "code": r.partner_code,
                  "country": text(r.country) or r.country_iso2, "cycle": r.cycle, "due": iso(r.due),
                  "days_overdue": str((ctx.today - r.due).days), "status": str(r.status),
                  "contact": text(r.contact_name) or text(r.record_contact_name) or "(none)",
                  "contact_email": text(r.contact_email) or text(r.record_contact_email) or "no e-mail address",
                  "note": note}
        rows.append({"object_id": str(r.assignment_id), "step": f"{r.due.isoformat()}:escalation",
                     "partner_id": int(r.partner_id), "assignment_id": int(r.assignment_id), "country_iso2": "",
                     "recipients": recipients, "recipient_name": name, "language": "en", "values": values,
                     "problem": "" if recipients else NO_ADDRESS})
    return candidates(rows)


def _returned_step(reviewed_at) -> str:
    stamp = pd.Timestamp(reviewed_at)
    stamp = stamp.tz_localize(UTC) if stamp.tzinfo is None else stamp.tz_convert(UTC)
    return stamp.strftime("%Y-%m-%dT%H:%M:%SZ")


def find_returned(ctx: RuleContext) -> pd.DataFrame:
    """Questionnaires the team returned (or reopened) with comments: one notice per return, with the open comments."""
    frame = _assignments(ctx, Assignment.status == S.returned, col(Assignment.reviewed_at).is_not(None))
    comments: dict[int, list[str]] = {}
    if not frame.empty:
        ids = [int(i) for i in frame["assignment_id"]]
        for assignment_id, criterion, comment in ctx.session.exec(
                select(ReviewComment.assignment_id, ReviewComment.criterion_id, ReviewComment.comment)
                .where(col(ReviewComment.assignment_id).in_(ids), col(ReviewComment.resolved).is_(False))
                .order_by(ReviewComment.assignment_id, ReviewComment.criterion_id)).all():
            comments.setdefault(assignment_id, []).append(f"- {criterion}: {' '.join(comment.split())}")
    extra = [{"comments": "\n".join(comments.get(int(a), ["-"]))} for a in frame["assignment_id"]]
    return _partner_rows(ctx, frame, [_returned_step(t) for t in frame["reviewed_at"]], extra)


def _now_of(session: Session, messages: pd.DataFrame) -> dict[int, tuple]:
    """assignment id -> (status, due date, reviewed_at, cycle status, partner status) as they are now."""
    ids = sorted({int(i) for i in messages["assignment_id"].dropna()})
    if not ids:
        return {}
    rows = session.exec(select(Assignment.id, Assignment.status, assignment_due(), Assignment.reviewed_at,
                               Cycle.status, Partner.status)
                        .join(Cycle, col(Cycle.id) == Assignment.cycle_id)
                        .join(Partner, col(Partner.id) == Assignment.partner_id)
                        .where(col(Assignment.id).in_(ids))).all()
    return {r[0]: (r[1], pd.Timestamp(r[2]).date(), r[3], r[4], r[5]) for r in rows}


def _why_not(now: tuple | None, *, allowed: frozenset | None = None, due_step: str | None = None) -> str:
    """Why a questionnaire message is no longer due ("" when it still is)."""
    if now is None:
        return "the questionnaire no longer exists (merged into another partner's)"
    status, due, _, cycle_status, partner_status = now
    if cycle_status != CycleStatus.open:
        return "the cycle was closed"
    if partner_status != "active":
        return "the partner is inactive"
    if allowed is not None and status not in allowed:
        return f"the questionnaire is {status} now"
    if allowed is None and status in states.FINISHED:
        return f"the questionnaire is {status} now"
    if due_step is not None and not due_step.startswith(due.isoformat()):
        return f"the due date moved to {due.isoformat()}"
    return ""


def _stale(allowed: frozenset | None, by_due: bool):
    def stale(session: Session, messages: pd.DataFrame) -> dict[int, str]:
        now = _now_of(session, messages)
        out = {}
        for m in messages.itertuples(index=False):
            why = _why_not(now.get(int(m.assignment_id)), allowed=allowed, due_step=m.step if by_due else None)
            if why:
                out[int(m.id)] = why
        return out
    return stale


def stale_returned(session: Session, messages: pd.DataFrame) -> dict[int, str]:
    now = _now_of(session, messages)
    out = {}
    for m in messages.itertuples(index=False):
        state = now.get(int(m.assignment_id))
        why = _why_not(state, allowed=frozenset({S.returned}))
        if not why and state[2] is not None and _returned_step(state[2]) != m.step:
            why = "returned again since; the newer notice replaces this one"
        if why:
            out[int(m.id)] = why
    return out


_PARTNER_SAMPLE = {"contact": "Chen Li", "partner": "Shenzhen Bright Lamps Co., Ltd.", "company": "Acme Imports Inc.",
                   "cycle": "2027 annual review", "due": "2027-01-31", "link": "https://ctpat.example.com/?token=…"}

register(Rule(K.invitation, Audience.partner, "when a questionnaire is not sent yet (its link is issued as the "
               "invitation goes out), or a link issued in the app was never e-mailed; to the primary contact",
               find_invitations, _PARTNER_SAMPLE, priority=1, carries_link=True,
               stale=_stale(frozenset({S.not_sent, S.sent}), by_due=False)))
register(Rule(K.reminder, Audience.partner, "on the days set before the due date (the latest step due), "
               "until the partner submits or is exempt; to the primary contact", find_reminders, _PARTNER_SAMPLE,
               priority=3,
               carries_link=True, stale=_stale(None, by_due=True)))
register(Rule(K.overdue, Audience.partner, "the day after the due date, once, while not submitted; to the primary "
               "contact", find_overdue, _PARTNER_SAMPLE, priority=2, carries_link=True,
               stale=_stale(None, by_due=True)))
register(Rule(K.escalation, Audience.owner, "N days after the due date, once, while not submitted; to the "
               "partner's internal owner (the admins when it has none)", find_escalations,
               {"owner": "Luis", "partner": "Shenzhen Bright Lamps Co., Ltd.", "code": "CN-F0042", "country": "China",
                "cycle": "2027 annual review", "due": "2027-01-31", "days_overdue": "7", "status": str(S.in_progress),
                "contact": "Chen Li", "contact_email": "chen.li@brightlamps.example", "note": ""},
               priority=4, stale=_stale(None, by_due=True)))
register(Rule(K.returned, Audience.partner, "when the team returns (or reopens) a questionnaire with comments; to "
               "the primary contact, with the comments", find_returned,
               {**_PARTNER_SAMPLE, "comments": "- 6.2: photo of the 7-point inspection checklist, please"},
               priority=0, carries_link=True, stale=stale_returned))
