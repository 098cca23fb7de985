"""A partner's questionnaire in a cycle: questions in its language, answers, submit, review (accept or return)."""

from datetime import date, datetime
from typing import Any

import pandas as pd
from sqlalchemy import Row, update
from sqlmodel import Session, col, func, select

from models import (
    Answer,
    Assignment,
    Criterion,
    Cycle,
    Evidence,
    Partner,
    ReviewComment,
)
from models.collection import ANSWER_SOURCES, ANSWER_VALUES
from models.common import LANGUAGES, utcnow
from services.collection.answers import store_answers
from services.collection.cycles import EDITABLE_STATES, current_status, get_assignment, guarded_update, partner_actor
from services.collection.links import keep_link_open
from services.core import audit
from services.core.permissions import Actor, PermissionDenied, ValidationError, require_write
from services.reference.applicability import questions_for_partner
from services.reference.questions import question_texts_for

QUESTIONNAIRE_COLUMNS = [
    "criterion_id", "category_number", "category", "requirement", "question", "value", "comment", "answered_on",
    "source", "answered_by", "previous_value", "previous_comment", "review_comment", "evidence_count",
]
HISTORY_COLUMNS = ["criterion_id", "value", "comment", "answered_on", "source", "answered_by", "recorded_at",
                   "is_current"]
COMMENT_REQUIRED: tuple[str, ...] = ("partial", "no")
# A returned questionnaire must be reachable: its link is kept valid at least this long after the return.
RETURN_LINK_DAYS = 30


def _context(session: Session, assignment_id: int) -> tuple[Assignment, Partner, Cycle]:
    assignment = get_assignment(session=session, assignment_id=assignment_id)
    partner = session.get(Partner, assignment.partner_id)
    cycle = session.get(Cycle, assignment.cycle_id)
    return assignment, partner, cycle


def _questions(session: Session, partner: Partner) -> list:
    """The partner's questions in questionnaire order: by category, must first within it, then 4.9 before 4.10.

    The one rule of what a partner is asked (its entity type's applicability and its roles) lives in
    services.reference.applicability.
    """
    return questions_for_partner(session=session, partner_id=partner.id)


def _current(session: Session, assignment_id: int | None) -> dict[str, Row]:
    """The assignment's current answers by criterion id."""
    if assignment_id is None:
        return {}
    rows = session.exec(
        select(Answer.id, Answer.criterion_id, Answer.value, Answer.comment, Answer.answered_on, Answer.source,
               Answer.answered_by)
        .where(Answer.assignment_id == assignment_id, col(Answer.is_current).is_(True))
    ).all()
    return {r.criterion_id: r for r in rows}


def applicable_criteria(*, session: Session, assignment_id: int) -> list[str]:
    """Criterion ids of the assignment's questions, in questionnaire order."""
    _, partner, _ = _context(session, assignment_id)
    return [q.criterion_id for q in _questions(session, partner)]


def _previous_assignment_id(session: Session, assignment: Assignment) -> int | None:
    """This partner's accepted assignment in its most recent earlier cycle."""
    return session.exec(
        select(Assignment.id)
        .where(Assignment.partner_id == assignment.partner_id, Assignment.status == "accepted",
               col(Assignment.cycle_id) < assignment.cycle_id)
        .order_by(col(Assignment.cycle_id).desc())
        .limit(1)
    ).first()


def questionnaire(*, session: Session, assignment_id: int, language: str | None = None) -> pd.DataFrame:
    """One row per criterion that applies to the partner's entity type, in questionnaire order.

    Questions are in `language` (default: the assignment's), English where a translation is missing. Text columns
    hold "" where there is nothing (no answer yet, no previous cycle, no open review comment); answered_on is None
    then. previous_value/previous_comment come from the partner's accepted answers of its most recent earlier cycle.
    """
    assignment, partner, _ = _context(session, assignment_id)
    language = language or assignment.language
    language = language if language in LANGUAGES else "en"
    questions = _questions(session, partner)
    texts = question_texts_for(session=session, language=language, entity_type=partner.entity_type)
    current = _current(session, assignment.id)
    previous = _current(session, _previous_assignment_id(session, assignment))
    # Ordered by id, so the latest open comment on a question wins.
    review = dict(session.exec(
        select(ReviewComment.criterion_id, ReviewComment.comment)
        .where(ReviewComment.assignment_id == assignment.id, col(ReviewComment.resolved).is_(False))
        .order_by(ReviewComment.id)
    ).all())
    evidence = dict(session.exec(
        select(Evidence.criterion_id, func.count()).where(Evidence.assignment_id == assignment.id)
        .group_by(Evidence.criterion_id)
    ).all())

    records = []
    for q in questions:
        cid = q.criterion_id
        answer, before = current.get(cid), previous.get(cid)
        records.append((
            cid, q.category_number, q.category, q.requirement,
            texts[cid],
            answer.value if answer else "", answer.comment if answer else "",
            answer.answered_on if answer else None, answer.source if answer else "",
            answer.answered_by if answer else "", before.value if before else "", before.comment if before else "",
            review.get(cid, ""), evidence.get(cid, 0),
        ))
    return pd.DataFrame(records, columns=QUESTIONNAIRE_COLUMNS)


def assignment_info(*, session: Session, assignment_id: int) -> dict[str, Any]:
    """What a page header needs about an assignment: partner, cycle, due date, status, whether answers can change."""
    assignment, partner, cycle = _context(session, assignment_id)
    return {
        "assignment_id": assignment.id, "partner_id": partner.id, "partner_code": partner.partner_code,
        "legal_name": partner.legal_name, "entity_type": partner.entity_type, "cycle_id": cycle.id,
        "cycle_name": cycle.name, "due_date": cycle.due_date, "cycle_status": cycle.status,
        "status": assignment.status, "language": assignment.language, "exempt_reason": assignment.exempt_reason,
        "editable": cycle.status == "open" and assignment.status in EDITABLE_STATES,
        "sent_at": assignment.sent_at, "opened_at": assignment.opened_at, "submitted_at": assignment.submitted_at,
        "reviewed_at": assignment.reviewed_at, "reviewed_by": assignment.reviewed_by,
        "token_expires_at": assignment.token_expires_at,
    }


def _require_open(cycle: Cycle) -> None:
    if cycle.status != "open":
        raise ValidationError(f"Cycle {cycle.name} is closed; answers can no longer be changed.")


def _lock_editable(session: Session, assignment: Assignment) -> None:
    """Take the assignment's row for this transaction, or refuse when its status no longer allows changes."""
    if not guarded_update(session=session, assignment_id=assignment.id, allowed_from=EDITABLE_STATES, values={}):
        status = current_status(session=session, assignment_id=assignment.id)
        raise ValidationError(f"This questionnaire is {status}; its answers cannot be changed now.")


def _text(value: Any) -> str:
    """A form or DataFrame cell as stripped text; None and NaN are empty."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return ""
    return str(value).strip()


def _day(value: Any, default: date) -> Any:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return default
    return value.date() if isinstance(value, datetime) else value


def _clean_answers(
    answers: list[dict[str, Any]], applicable: set[str], entity_type: str, today: date
) -> tuple[list[dict[str, Any]], list[str]]:
    rows, errors, seen = [], [], set()
    for item in answers:
        cid = _text(item.get("criterion_id"))
        value = _text(item.get("value")).lower()
        comment = _text(item.get("comment"))
        answered_on = _day(item.get("answered_on"), today)
        if cid not in applicable:
            errors.append(f"{cid or '(no criterion)'}: not a question for a {entity_type}")
            continue
        if cid in seen:
            errors.append(f"{cid}: answered twice")
            continue
        seen.add(cid)
        if not value:
            if comment:
                errors.append(f"{cid}: choose an answer to keep the comment")
            continue
        if value not in ANSWER_VALUES:
            errors.append(f"{cid}: '{value}' is not an answer; use yes, partial, no or na")
        if len(comment) > 4000:
            errors.append(f"{cid}: the comment is longer than 4000 characters")
        if not isinstance(answered_on, date):
            errors.append(f"{cid}: answered_on '{answered_on}' is not a date")
        rows.append({"criterion_id": cid, "value": value, "comment": comment, "answered_on": answered_on})
    return rows, errors


def save_answers(
    *,
    session: Session,
    assignment_id: int,
    answers: list[dict[str, Any]],
    source: str,
    answered_by: str,
    actor: Actor | None = None,
) -> int:
    """Save answers (dicts with criterion_id, value, comment, optional answered_on); returns how many were written.

    Only answers whose value or comment differ from the current ones are written, as new versions, so the history
    grows only on change. Rows without a value are skipped (a draft may leave questions open). source "link" is the
    partner through its token (no actor); "staff" and "file" need an actor with a write role. Either way the
    questionnaire must be editable (not sent, sent, opened, in progress, returned) in an open cycle; the status
    becomes "in progress" when something was written.
    """
    if source not in ANSWER_SOURCES:
        raise ValidationError(f"source: '{source}' must be one of {', '.join(ANSWER_SOURCES)}")
    assignment, partner, cycle = _context(session, assignment_id)
    if source == "link":
        who = partner_actor(partner.partner_code)
    else:
        if actor is None:
            raise PermissionDenied("Answers entered by staff need the signed-in user.")
        require_write(actor)
        who = actor
    answered_by = (str(answered_by or "").strip() or who.username)[:120]
    _require_open(cycle)
    applicable = {q.criterion_id for q in _questions(session, partner)}
    rows, errors = _clean_answers(answers, applicable, partner.entity_type, date.today())
    if errors:
        raise ValidationError("; ".join(errors))
    _lock_editable(session, assignment)

    current = _current(session, assignment.id)
    changed, superseded = [], []
    for row in rows:
        old = current.get(row["criterion_id"])
        if old is not None:
            if old.value == row["value"] and (old.comment or "") == row["comment"]:
                continue
            superseded.append(old.id)
        changed.append({**row, "assignment_id": assignment.id, "source": source, "answered_by": answered_by})
    if not changed:
        return 0
    written = store_answers(session=session, rows=pd.DataFrame(changed), superseded_ids=superseded)
    session.exec(update(Assignment).where(col(Assignment.id) == assignment.id).values(status="in progress"))
    audit.record(
        session=session, actor=who, action="answer", entity="assignment", entity_id=assignment.id,
        summary=f"{written} answers of {partner.partner_code} in {cycle.name} saved by {answered_by} ({source})",
        before={r["criterion_id"]: current[r["criterion_id"]].value for r in changed if r["criterion_id"] in current},
        after={r["criterion_id"]: r["value"] for r in changed},
    )
    return written


def mark_opened(*, session: Session, assignment_id: int) -> bool:
    """The partner opened its link: "not sent"/"sent" -> "opened" with opened_at; False when already further on."""
    assignment, partner, cycle = _context(session, assignment_id)
    if not guarded_update(session=session, assignment_id=assignment_id, allowed_from=("not sent", "sent"),
                          values={"status": "opened", "opened_at": utcnow()}):
        return False
    audit.record(session=session, actor=partner_actor(partner.partner_code), action="open", entity="assignment",
                 entity_id=assignment_id, summary=f"{partner.partner_code} opened its questionnaire in {cycle.name}",
                 after={"status": "opened"})
    return True


def missing_answers(*, session: Session, assignment_id: int) -> list[str]:
    """Criterion ids of the questions not answered yet, in questionnaire order."""
    assignment, partner, _ = _context(session, assignment_id)
    current = _current(session, assignment.id)
    return [q.criterion_id for q in _questions(session, partner) if q.criterion_id not in current]


def submission_problems(*, session: Session, assignment_id: int) -> list[str]:
    """What stops a submission: unanswered questions, and partial/no answers without a comment."""
    assignment, partner, _ = _context(session, assignment_id)
    current = _current(session, assignment.id)
    problems = []
    for q in _questions(session, partner):
        answer = current.get(q.criterion_id)
        if answer is None:
            problems.append(f"{q.criterion_id}: not answered")
        elif answer.value in COMMENT_REQUIRED and not (answer.comment or "").strip():
            problems.append(f"{q.criterion_id}: a comment is required for '{answer.value}'")
    return problems


def submit(*, session: Session, assignment_id: int, submitted_by: str, actor: Actor | None = None) -> list[str]:
    """Submit the questionnaire; returns the problems that stop it (empty list = submitted).

    On success the status becomes "submitted" (read-only until the team returns it) and open review comments are
    resolved. Without an actor it is the partner through its link; with one, staff submitting on its behalf.
    Submitting something that is not editable (already submitted, accepted, exempt) raises ValidationError.
    """
    assignment, partner, cycle = _context(session, assignment_id)
    who = partner_actor(partner.partner_code) if actor is None else actor
    if actor is not None:
        require_write(actor)
    _require_open(cycle)
    status = current_status(session=session, assignment_id=assignment_id)
    if status not in EDITABLE_STATES:
        raise ValidationError(f"This questionnaire is {status}; it cannot be submitted again.")
    _lock_editable(session, assignment)  # before checking, so no save can slip in between check and submit
    problems = submission_problems(session=session, assignment_id=assignment_id)
    if problems:
        return problems
    session.exec(update(Assignment).where(col(Assignment.id) == assignment_id)
                 .values(status="submitted", submitted_at=utcnow()))
    session.exec(
        update(ReviewComment)
        .where(col(ReviewComment.assignment_id) == assignment_id, col(ReviewComment.resolved).is_(False))
        .values(resolved=True)
    )
    session.refresh(assignment)
    audit.record(session=session, actor=who, action="submit", entity="assignment", entity_id=assignment_id,
                 summary=f"{partner.partner_code} questionnaire in {cycle.name} submitted by {submitted_by}",
                 before={"status": status}, after={"status": "submitted"})
    return []


def accept(*, session: Session, actor: Actor, assignment_id: int) -> Assignment:
    """Accept a submitted questionnaire: its answers become the partner's record (and next cycle's pre-fill)."""
    require_write(actor)
    assignment, partner, cycle = _context(session, assignment_id)
    if not guarded_update(session=session, assignment_id=assignment_id, allowed_from=("submitted",),
                          values={"status": "accepted", "reviewed_at": utcnow(), "reviewed_by": actor.username}):
        status = current_status(session=session, assignment_id=assignment_id)
        raise ValidationError(f"{partner.partner_code}: only a submitted questionnaire can be accepted; this one is "
                              f"{status}.")
    session.refresh(assignment)
    audit.record(session=session, actor=actor, action="accept", entity="assignment", entity_id=assignment_id,
                 summary=f"Accepted the questionnaire of {partner.partner_code} in {cycle.name}",
                 before={"status": "submitted"}, after={"status": "accepted"})
    return assignment


def return_for_fixes(
    *, session: Session, actor: Actor, assignment_id: int, comments: dict[str, str], note: str = ""
) -> Assignment:
    """Return a submitted questionnaire with a comment per question to fix; the partner's link opens it again.

    The status becomes "returned"; a live link that would expire within RETURN_LINK_DAYS is extended so the
    partner can act on the comments. `note` is kept in the audit log.
    """
    require_write(actor)
    assignment, partner, cycle = _context(session, assignment_id)
    applicable = {q.criterion_id for q in _questions(session, partner)}
    cleaned, errors = {}, []
    for cid, text in (comments or {}).items():
        cid, text = str(cid).strip(), str(text or "").strip()
        if not text:
            continue
        if cid not in applicable:
            errors.append(f"{cid}: not a question for a {partner.entity_type}")
        elif len(text) > 2000:
            errors.append(f"{cid}: the comment is longer than 2000 characters")
        cleaned[cid] = text
    if errors:
        raise ValidationError("; ".join(errors))
    if not cleaned:
        raise ValidationError("Write a comment on at least one question to say what to fix.")
    now = utcnow()
    if not guarded_update(session=session, assignment_id=assignment_id, allowed_from=("submitted",),
                          values={"status": "returned", "reviewed_at": now, "reviewed_by": actor.username}):
        status = current_status(session=session, assignment_id=assignment_id)
        raise ValidationError(f"{partner.partner_code}: only a submitted questionnaire can be returned; this one is "
                              f"{status}.")
    session.add_all(
        ReviewComment(assignment_id=assignment_id, criterion_id=cid, comment=text, author=actor.username)
        for cid, text in cleaned.items()
    )
    session.refresh(assignment)
    extended = keep_link_open(session=session, assignment=assignment, days=RETURN_LINK_DAYS)
    audit.record(
        session=session, actor=actor, action="return", entity="assignment", entity_id=assignment_id,
        summary=f"Returned the questionnaire of {partner.partner_code} in {cycle.name} with {len(cleaned)} "
        f"comment(s)" + (f": {note.strip()}" if note and note.strip() else ""),
        before={"status": "submitted"},
        after={"status": "returned", "comments": cleaned, "note": (note or "").strip(),
               **({"token_expires_at": extended} if extended else {})},
    )
    return assignment


def answer_history(*, session: Session, assignment_id: int, criterion_id: str | None = None) -> pd.DataFrame:
    """Every version of the assignment's answers (value, who, when, path), newest first within each question."""
    stmt = (
        select(*(getattr(Answer, c) for c in HISTORY_COLUMNS))
        .join(Criterion, col(Criterion.criterion_id) == Answer.criterion_id)
        .where(Answer.assignment_id == assignment_id)
        .order_by(Criterion.sort_key, col(Answer.recorded_at).desc(), col(Answer.id).desc())
    )
    if criterion_id is not None:
        stmt = stmt.where(Answer.criterion_id == criterion_id)
    return pd.DataFrame(session.exec(stmt).all(), columns=HISTORY_COLUMNS)
