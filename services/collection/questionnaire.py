"""A partner's questionnaire in a cycle: questions in its language, answers, submit, review (accept or return).

Every status change follows services.collection.states (from which statuses, who may) and every answer follows
services.collection.rules (values, comments, pre-fill). Each write checks its actor itself: a partner acts through
the link of its own questionnaire (states.PartnerActor), the team needs a write role.
"""

from collections.abc import Mapping
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
from models.collection import AnswerSource, AssignmentStatus, CycleStatus
from models.common import LANGUAGES, utcnow
from services.collection import rules, states, titles
from services.collection.answers import store_answers
from services.collection.cycles import assignment_due_date, current_status, get_assignment, guarded_update
from services.collection.links import keep_link_open
from services.collection.states import Action, Mover
from services.core import audit
from services.core.permissions import Actor, PermissionDenied, ValidationError
from services.reference.applicability import questions_for_partner
from services.reference.questions import question_texts_for

QUESTIONNAIRE_COLUMNS = [
    "criterion_id", "category_number", "category", "requirement", "question", "value", "comment", "answered_on",
    "source", "answered_by", "previous_value", "previous_comment", "review_comment", "evidence_count", "answer_id",
    "flag",
]
HISTORY_COLUMNS = ["criterion_id", "value", "comment", "answered_on", "source", "answered_by", "recorded_at",
                   "is_current"]
# A returned questionnaire must be reachable: its link is kept valid at least this long after the return.
RETURN_LINK_DAYS = 30
# Who answers through which path: the partner through its link; the team by hand or by file.
SOURCES_OF: dict[Mover, tuple[AnswerSource, ...]] = {
    Mover.partner: (AnswerSource.link,),
    Mover.staff: (AnswerSource.staff, AnswerSource.file),
}


class StaleAnswers(ValidationError):
    """Answers changed elsewhere since the form was built; nothing was saved. `criteria` names them."""

    def __init__(self, message: str, criteria: list[str]):
        super().__init__(message)
        self.criteria = criteria


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
    """Where this questionnaire's pre-fill comes from (rules.previous_accepted)."""
    return rules.previous_accepted(session=session, partner_ids=[assignment.partner_id],
                                   cycle_id=assignment.cycle_id).get(assignment.partner_id)


def questionnaire(*, session: Session, assignment_id: int, language: str | None = None) -> pd.DataFrame:
    """One row per criterion that applies to the partner's entity type, in questionnaire order.

    Questions are in `language` (default: the assignment's), English where a translation is missing. Text columns
    hold "" where there is nothing (no answer yet, no previous cycle, no open review comment); answered_on and
    answer_id are None then. previous_value/previous_comment come from the partner's accepted answers of its most
    recent earlier cycle (the pre-fill, rules.with_prefill); answer_id identifies the current answer version, which
    a form passes back to save_answers as `expected`; flag is what the reviewer should look at (rules.flag).
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
            review.get(cid, ""), evidence.get(cid, 0), answer.id if answer else None,
            rules.flag(answer.value, q.requirement) if answer else "",
        ))
    return pd.DataFrame(records, columns=QUESTIONNAIRE_COLUMNS).astype({"answer_id": "Int64"})


def assignment_info(*, session: Session, assignment_id: int) -> dict[str, Any]:
    """What a page header needs about an assignment: partner, cycle, due date, status, whether answers can change."""
    assignment, partner, cycle = _context(session, assignment_id)
    return {
        "assignment_id": assignment.id, "partner_id": partner.id, "partner_code": partner.partner_code,
        "legal_name": partner.legal_name, "entity_type": partner.entity_type, "cycle_id": cycle.id,
        "cycle_name": cycle.name,
        "due_date": assignment_due_date(assignment.due_date, cycle.due_date), "cycle_status": cycle.status,
        "status": assignment.status, "language": assignment.language, "exempt_reason": assignment.exempt_reason,
        "editable": cycle.status == CycleStatus.open and assignment.status in states.EDITABLE,
        "sent_at": assignment.sent_at, "opened_at": assignment.opened_at, "submitted_at": assignment.submitted_at,
        "reviewed_at": assignment.reviewed_at, "reviewed_by": assignment.reviewed_by,
        "token_expires_at": assignment.token_expires_at,
        # What the partner reads as the cycle's title, by language: the cycle name is the team's own.
        "partner_titles": titles.partner_titles(cycle),
    }


def _require_open(cycle: Cycle) -> None:
    if cycle.status != CycleStatus.open:
        raise ValidationError(f"Cycle {cycle.name} is closed; answers can no longer be changed.")


def _lock_for_answers(session: Session, assignment: Assignment, mover: Mover) -> AssignmentStatus:
    """Take the assignment's row for this transaction while `mover` may change its answers; its status then.

    Refused (ValidationError) when the status no longer allows it, e.g. submitted meanwhile in another session.
    """
    allowed = states.allowed_from(action=Action.answer, mover=mover)
    if not guarded_update(session=session, assignment_id=assignment.id, allowed_from=allowed, values={}):
        status = current_status(session=session, assignment_id=assignment.id)
        raise ValidationError(f"This questionnaire is {status}; its answers cannot be changed now.")
    return AssignmentStatus(current_status(session=session, assignment_id=assignment.id))


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
        value = _text(item.get("value"))
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
        errors += rules.check_answer(cid, value, comment)
        if not isinstance(answered_on, date):
            errors.append(f"{cid}: answered_on '{answered_on}' is not a date")
        rows.append({"criterion_id": cid, "value": rules.parse_value(value) or value, "comment": comment,
                     "answered_on": answered_on})
    return rows, errors


def _stale(rows: list[dict[str, Any]], current: dict[str, Row], expected: Mapping[str, int | None]) -> list[str]:
    """Criteria whose stored answer is no longer the one the form was built from, and which this save would change."""
    stale = []
    for row in rows:
        cid = row["criterion_id"]
        if cid not in expected:
            continue
        stored = current.get(cid)
        if (stored.id if stored else None) == expected[cid]:
            continue
        if stored is None or stored.value != row["value"] or (stored.comment or "") != row["comment"]:
            stale.append(cid)
    return stale


def save_answers(
    *,
    session: Session,
    assignment_id: int,
    answers: list[dict[str, Any]],
    source: str,
    answered_by: str,
    actor: Actor | None,
    expected: Mapping[str, int | None] | None = None,
) -> int:
    """Save answers (dicts with criterion_id, value, comment, optional answered_on); returns how many were written.

    Only answers whose value or comment differ from the current ones are written, as new versions, so the history
    grows only on change. Rows without a value are skipped (a draft may leave questions open). The actor decides
    the path: the partner through its own link (source "link", states.PartnerActor of this assignment), the team
    with a write role ("staff" or "file"). The transition table says when answers may change (states.EDITABLE for
    the partner; the team may also correct a submission it reviews) in an open cycle; a draft becomes
    "in progress" when something was written.

    `expected` (criterion id -> the answer_id the form showed, None for none) makes the save optimistic: when an
    answer it would change was changed elsewhere since, nothing is written and StaleAnswers names the criteria.
    """
    if source not in AnswerSource._value2member_map_:
        raise ValidationError(f"source: '{source}' must be one of {', '.join(AnswerSource)}")
    mover = states.require(actor, Action.answer, assignment_id)
    if source not in SOURCES_OF.get(mover, ()):
        raise PermissionDenied(f"{actor.username} cannot save answers with source '{source}'.")
    assignment, partner, cycle = _context(session, assignment_id)
    answered_by = (str(answered_by or "").strip() or actor.username)[:120]
    _require_open(cycle)
    applicable = {q.criterion_id for q in _questions(session, partner)}
    rows, errors = _clean_answers(answers, applicable, partner.entity_type, date.today())
    if errors:
        raise ValidationError("; ".join(errors))
    status = _lock_for_answers(session, assignment, mover)

    current = _current(session, assignment.id)
    stale = _stale(rows, current, expected or {})
    if stale:
        who = sorted({current[c].answered_by for c in stale if c in current})
        raise StaleAnswers(
            f"{'Answers to ' + ', '.join(stale[:10]) if len(stale) > 1 else 'The answer to ' + stale[0]}"
            f"{' and more' if len(stale) > 10 else ''} changed since this page was loaded"
            f"{' (by ' + ', '.join(who) + ')' if who else ''}. Nothing was saved: check the newer answers now "
            "shown and save again.", stale)
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
    after = states.target(Action.answer, status)
    if after != status:
        session.exec(update(Assignment).where(col(Assignment.id) == assignment.id).values(status=after))
    audit.record(
        session=session, actor=actor, action=Action.answer, entity="assignment", entity_id=assignment.id,
        summary=f"{written} answers of {partner.partner_code} in {cycle.name} saved by {answered_by} ({source})",
        before={r["criterion_id"]: current[r["criterion_id"]].value for r in changed if r["criterion_id"] in current},
        after={r["criterion_id"]: r["value"] for r in changed},
    )
    return written


def mark_opened(*, session: Session, assignment_id: int, actor: Actor | None) -> bool:
    """The partner opened its link: "not sent"/"sent" -> "opened" with opened_at; False when already further on."""
    states.require(actor, Action.open, assignment_id)
    _, partner, cycle = _context(session, assignment_id)
    [move] = states.transitions(Action.open)
    if not guarded_update(session=session, assignment_id=assignment_id, allowed_from=move.sources,
                          values={"status": move.target, "opened_at": utcnow()}):
        return False
    audit.record(session=session, actor=actor, action=Action.open, entity="assignment", entity_id=assignment_id,
                 summary=f"{partner.partner_code} opened its questionnaire in {cycle.name}",
                 after={"status": move.target})
    return True


def _answers_to_check(session: Session, assignment: Assignment, partner: Partner) -> pd.DataFrame:
    """criterion_id, requirement and the shown answers (rules.with_prefill) of every question, in order."""
    current = _current(session, assignment.id)
    previous = _current(session, _previous_assignment_id(session, assignment))
    records = []
    for q in _questions(session, partner):
        answer, before = current.get(q.criterion_id), previous.get(q.criterion_id)
        records.append((q.criterion_id, q.requirement, answer.value if answer else "",
                        answer.comment if answer else "", before.value if before else "",
                        before.comment if before else ""))
    frame = pd.DataFrame(records, columns=["criterion_id", "requirement", "value", "comment", "previous_value",
                                           "previous_comment"])
    return rules.with_prefill(frame)


def missing_answers(*, session: Session, assignment_id: int) -> list[str]:
    """Criterion ids of the questions without an answer, in questionnaire order (pre-filled ones count)."""
    assignment, partner, _ = _context(session, assignment_id)
    frame = _answers_to_check(session, assignment, partner)
    return frame.loc[~frame["shown_value"].map(rules.is_answered).astype(bool), "criterion_id"].tolist()


def submission_problems(*, session: Session, assignment_id: int) -> list[str]:
    """What stops a submission (rules.incomplete): unanswered questions, and answers that need a comment.

    Last cycle's accepted answers shown pre-filled count as answered: submitting confirms them.
    """
    assignment, partner, _ = _context(session, assignment_id)
    return rules.incomplete(_answers_to_check(session, assignment, partner))


def submit(*, session: Session, assignment_id: int, submitted_by: str, actor: Actor | None) -> list[str]:
    """Submit the questionnaire; returns the problems that stop it (empty list = submitted).

    The partner submits through its own link (a states.PartnerActor), the team on its behalf with a write role.
    Pre-filled answers (last cycle's accepted ones, where the questionnaire has none of its own) count as answered
    and are stored as the partner's confirmed answers on submitting. On success the status becomes "submitted"
    (read-only until the team returns it) and open review comments are resolved. Submitting something that is not
    editable (already submitted, accepted, exempt) raises ValidationError.
    """
    mover = states.require(actor, Action.submit, assignment_id)
    assignment, partner, cycle = _context(session, assignment_id)
    _require_open(cycle)
    [move] = states.transitions(Action.submit)
    status = current_status(session=session, assignment_id=assignment_id)
    # Before checking, so no save can slip in between check and submit.
    if not guarded_update(session=session, assignment_id=assignment_id, allowed_from=move.sources, values={}):
        raise ValidationError(f"This questionnaire is {status}; it cannot be submitted again.")
    frame = _answers_to_check(session, assignment, partner)
    problems = rules.incomplete(frame)
    if problems:
        return problems
    carried = frame[frame["carried"]]
    if not carried.empty:
        source = AnswerSource.link if mover == Mover.partner else AnswerSource.staff
        store_answers(session=session, rows=pd.DataFrame({
            "assignment_id": assignment_id, "criterion_id": carried["criterion_id"],
            "value": carried["shown_value"], "comment": carried["shown_comment"], "answered_on": date.today(),
            "source": source, "answered_by": (str(submitted_by or "").strip() or actor.username)[:120],
        }))
    session.exec(update(Assignment).where(col(Assignment.id) == assignment_id)
                 .values(status=move.target, submitted_at=utcnow()))
    session.exec(
        update(ReviewComment)
        .where(col(ReviewComment.assignment_id) == assignment_id, col(ReviewComment.resolved).is_(False))
        .values(resolved=True)
    )
    session.refresh(assignment)
    confirmed = f"; {len(carried)} answers confirmed from the last cycle" if len(carried) else ""
    audit.record(session=session, actor=actor, action=Action.submit, entity="assignment", entity_id=assignment_id,
                 summary=f"{partner.partner_code} questionnaire in {cycle.name} submitted by {submitted_by}{confirmed}",
                 before={"status": status},
                 after={"status": move.target, **({"confirmed": carried["criterion_id"].tolist()} if confirmed
                                                  else {})})
    return []


def accept(*, session: Session, actor: Actor, assignment_id: int) -> Assignment:
    """Accept a submitted questionnaire: its answers become the partner's record (and next cycle's pre-fill)."""
    states.require(actor, Action.accept, assignment_id)
    assignment, partner, cycle = _context(session, assignment_id)
    [move] = states.transitions(Action.accept)
    if not guarded_update(session=session, assignment_id=assignment_id, allowed_from=move.sources,
                          values={"status": move.target, "reviewed_at": utcnow(), "reviewed_by": actor.username}):
        status = current_status(session=session, assignment_id=assignment_id)
        raise ValidationError(f"{partner.partner_code}: only a submitted questionnaire can be accepted; this one is "
                              f"{status}.")
    session.refresh(assignment)
    audit.record(session=session, actor=actor, action=Action.accept, entity="assignment", entity_id=assignment_id,
                 summary=f"Accepted the questionnaire of {partner.partner_code} in {cycle.name}",
                 before={"status": AssignmentStatus.submitted}, after={"status": move.target})
    return assignment


def _send_back(session: Session, actor: Actor, assignment_id: int, comments: dict[str, str], note: str,
               action: Action) -> Assignment:
    """Return (a submitted) or reopen (an accepted) questionnaire with a comment per question to change."""
    states.require(actor, action, assignment_id)
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
    [move] = states.transitions(action)
    before = current_status(session=session, assignment_id=assignment_id)
    if not guarded_update(session=session, assignment_id=assignment_id, allowed_from=move.sources,
                          values={"status": move.target, "reviewed_at": utcnow(), "reviewed_by": actor.username}):
        required = " or ".join(sorted(move.sources))
        raise ValidationError(f"{partner.partner_code}: only {'an' if required[0] in 'aeiou' else 'a'} {required} "
                              "questionnaire can be "
                              f"{'reopened' if action == Action.reopen else move.target}; this one is {before}.")
    session.add_all(
        ReviewComment(assignment_id=assignment_id, criterion_id=cid, comment=text, author=actor.username)
        for cid, text in cleaned.items()
    )
    session.refresh(assignment)
    extended = keep_link_open(session=session, assignment=assignment, days=RETURN_LINK_DAYS)
    verb = "Returned" if action == Action.return_ else "Reopened"
    audit.record(
        session=session, actor=actor, action=action, entity="assignment", entity_id=assignment_id,
        summary=f"{verb} the questionnaire of {partner.partner_code} in {cycle.name} with {len(cleaned)} "
        f"comment(s)" + (f": {note.strip()}" if note and note.strip() else ""),
        before={"status": before},
        after={"status": move.target, "comments": cleaned, "note": (note or "").strip(),
               **({"token_expires_at": extended} if extended else {})},
    )
    return assignment


def return_for_fixes(
    *, session: Session, actor: Actor, assignment_id: int, comments: dict[str, str], note: str = ""
) -> Assignment:
    """Return a submitted questionnaire with a comment per question to fix; the partner's link opens it again.

    The status becomes "returned"; a live link that would expire within RETURN_LINK_DAYS is extended so the
    partner can act on the comments. `note` is kept in the audit log.
    """
    return _send_back(session, actor, assignment_id, comments, note, Action.return_)


def reopen(
    *, session: Session, actor: Actor, assignment_id: int, comments: dict[str, str], note: str = ""
) -> Assignment:
    """Open an accepted questionnaire for changes again, with a comment per question to update.

    For when the partner's record must change (a new site, a lapsed measure, a corrected file): the status becomes
    "returned", as after a return, so the partner's link, staff entry and file imports can change the answers;
    accepting it again makes the new answers the record.
    """
    return _send_back(session, actor, assignment_id, comments, note, Action.reopen)


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
