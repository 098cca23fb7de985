"""Answer rules: the allowed values, when a comment is required, what counts as answered, and the pre-fill.

Used by every path an answer takes: the supplier page, staff entry, the Excel workbook, file imports and the demo
data. Basis: CBP asks for an explanation where a criterion is not (fully) met; "not applicable" on a criterion
CBP words as "must" needs one too, because a reviewer has to see why a required measure does not apply
(issue 7), and it is flagged for the reviewer.
"""

from collections.abc import Sequence

import numpy as np
import pandas as pd
from sqlmodel import Session, col, select

from models import Assignment
from models.collection import AnswerValue, AssignmentStatus
from models.common import Requirement

ANSWER_VALUES: tuple[AnswerValue, ...] = tuple(AnswerValue)
# Answers that say a criterion is not (fully) met: always explained.
GAP_VALUES: frozenset[AnswerValue] = frozenset({AnswerValue.partial, AnswerValue.no})
MAX_COMMENT_CHARS = 4000  # Answer.comment
NA_ON_MUST = "not applicable on a must criterion"
_CHUNK = 5_000


def parse_value(text: object) -> AnswerValue | None:
    """The answer a stored or typed code stands for (any case, spaces around), None when it is none."""
    key = str(text or "").strip().lower()
    return AnswerValue(key) if key in AnswerValue._value2member_map_ else None


def comment_required(value: object, requirement: object) -> bool:
    """Partial and no always need a comment; not applicable needs one on a must criterion."""
    return value in GAP_VALUES or (value == AnswerValue.na and requirement == Requirement.must)


def comment_required_mask(values: Sequence, requirements: Sequence) -> np.ndarray:
    """comment_required for many answers at once (equally long sequences)."""
    values, requirements = np.asarray(values, dtype=object), np.asarray(requirements, dtype=object)
    return np.isin(values, list(GAP_VALUES)) | ((values == AnswerValue.na) & (requirements == Requirement.must))


def comment_problem(value: object, requirement: object, comment: object) -> str | None:
    """Why an answer is incomplete for want of a comment ("a comment is required for 'no'"), else None."""
    if comment_required(value, requirement) and not str(comment or "").strip():
        return f"a comment is required for '{value}'"
    return None


def is_answered(value: object) -> bool:
    """An answer counts once it holds one of the answer values (a comment alone does not)."""
    return value in AnswerValue._value2member_map_


def flag(value: object, requirement: object) -> str:
    """What a reviewer should look at in an answer: "" when nothing (partial and no are seen by their value)."""
    return NA_ON_MUST if value == AnswerValue.na and requirement == Requirement.must else ""


def check_answer(criterion_id: str, value: object, comment: str) -> list[str]:
    """Problems of one typed answer that stop it from being saved (a missing comment only stops a submission)."""
    problems = []
    if parse_value(value) is None:
        problems.append(f"{criterion_id}: '{value}' is not an answer; use {', '.join(ANSWER_VALUES[:-1])} or "
                        f"{ANSWER_VALUES[-1]}")
    if len(comment) > MAX_COMMENT_CHARS:
        problems.append(f"{criterion_id}: the comment is longer than {MAX_COMMENT_CHARS} characters")
    return problems


def with_prefill(frame: pd.DataFrame) -> pd.DataFrame:
    """The answers a questionnaire shows and counts: its own, else last cycle's accepted one (pre-filled).

    `frame` holds value, comment, previous_value and previous_comment ("" where none), as
    questionnaire.questionnaire returns them; adds shown_value, shown_comment and carried (True where the shown
    answer is last cycle's, still to be confirmed by submitting it or saving the section).
    """
    own = frame["value"].isin(ANSWER_VALUES)
    carried = ~own & frame["previous_value"].isin(ANSWER_VALUES)
    return frame.assign(
        shown_value=frame["value"].where(own, frame["previous_value"].where(carried, "")),
        shown_comment=frame["comment"].where(own, frame["previous_comment"].where(carried, "")),
        carried=carried,
    )


def incomplete(frame: pd.DataFrame) -> list[str]:
    """What stops a submission, in questionnaire order: "<id>: not answered" or "<id>: a comment is required ...".

    `frame` as with_prefill returns it (shown_value, shown_comment) with criterion_id and requirement: pre-filled
    answers count, as they are submitted with the questionnaire.
    """
    problems = []
    for cid, value, comment, requirement in zip(frame["criterion_id"], frame["shown_value"], frame["shown_comment"],
                                                frame["requirement"], strict=True):
        if not is_answered(value):
            problems.append(f"{cid}: not answered")
        elif (problem := comment_problem(value, requirement, comment)) is not None:
            problems.append(f"{cid}: {problem}")
    return problems


def previous_accepted(*, session: Session, partner_ids: Sequence[int], cycle_id: int) -> dict[int, int]:
    """partner id -> its accepted assignment in its most recent cycle before `cycle_id`: where pre-fill comes from.

    Only accepted answers pre-fill: a returned or unreviewed submission is not the partner's record yet.
    """
    found: dict[int, tuple[int, int]] = {}
    ids = [int(i) for i in partner_ids]
    for start in range(0, len(ids), _CHUNK):
        rows = session.exec(
            select(Assignment.partner_id, Assignment.id, Assignment.cycle_id)
            .where(col(Assignment.partner_id).in_(ids[start:start + _CHUNK]),
                   Assignment.status == AssignmentStatus.accepted, col(Assignment.cycle_id) < cycle_id)
        ).all()
        for partner_id, assignment_id, cycle in rows:
            if partner_id not in found or cycle > found[partner_id][1]:
                found[partner_id] = (assignment_id, cycle)
    return {partner: assignment for partner, (assignment, _) in found.items()}

