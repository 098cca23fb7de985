"""Writing a checked answer import: answers, questionnaire statuses (by the transition table), records, audit."""

import numpy as np
import pandas as pd
from sqlalchemy import TextClause, text, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, func, select

from models import Answer, Assignment, ImportRecord, ReviewComment
from models.collection import AnswerSource, AssignmentStatus
from models.common import utcnow
from services.collection import answers, states
from services.collection.states import Action, Mover
from services.core import audit
from services.core.permissions import Actor, ValidationError
from services.imports.answers.result import ResponsePreview


def apply_responses(*, session: Session, actor: Actor, preview: ResponsePreview) -> list[ImportRecord]:
    """Write a checked preview in the caller's transaction: answers, questionnaire states, records, audit.

    Raises ValidationError when the preview has errors (nothing is written) or when the answers changed since
    the preview was made (preview again).
    """
    states.require(actor, Action.answer)
    preview.refuse_if_errors()
    writes = preview.writes
    superseded = [int(i) for i in writes["current_id"].dropna()]
    _guard_unchanged(session, preview, superseded)
    same = np.zeros(len(writes), dtype="int64")  # one value for every row, as a category (bound once)
    rows = writes.assign(source=pd.Categorical.from_codes(same, [AnswerSource.file.value]),
                         answered_by=pd.Categorical.from_codes(same, [actor.username]))
    try:
        answers.store_answers(session=session, rows=rows, superseded_ids=superseded)
    except IntegrityError as exc:
        raise ValidationError("Answers were added to these questionnaires since the preview; preview again.") from exc
    now = utcnow()
    changes = preview.status_changes
    moving = changes[changes["status_after"] != changes["status"]]
    for status, group in moving.groupby("status_after"):
        ids = group["assignment_id"].astype(int).tolist()
        submitted = status == AssignmentStatus.submitted
        sources = sorted(states.allowed_from(status, mover=Mover.staff) - {status})
        for start in range(0, len(ids), 5_000):
            chunk = ids[start:start + 5_000]
            values = {"status": status, "updated_at": now}
            if submitted:
                values["submitted_at"] = now
            session.exec(update(Assignment).where(_among(Assignment.id, chunk), col(Assignment.status).in_(sources))
                         .values(**values))
            if submitted:  # as on submitting through the link: open review comments are answered
                session.exec(update(ReviewComment).where(_among(ReviewComment.assignment_id, chunk),
                                                         col(ReviewComment.resolved).is_(False))
                             .values(resolved=True))
    records = []
    for result in preview.files:
        record = ImportRecord(kind="responses", filename=result.filename[:255], sha256=result.sha256,
                              username=actor.username, cycle_id=preview.cycle_id, rows=result.rows,
                              created=result.new, changed=result.changed, unchanged=result.unchanged)
        session.add(record)
        session.flush()
        moved = changes[changes["status"] != changes["status_after"]]
        if len(preview.files) > 1:  # the questionnaires this file moved
            moved = moved[moved["partner_code"].isin(writes.loc[writes["file"] == result.filename, "partner"]
                                                     .unique())]
        audit.record(session=session, actor=actor, action="import", entity="answers", entity_id=record.id,
                     summary=(f"Imported {result.filename} into '{preview.cycle_name}': {result.new} new, "
                              f"{result.changed} changed, {result.unchanged} unchanged answers"),
                     after={"file": result.filename, "sha256": result.sha256, "cycle_id": preview.cycle_id,
                            "rows": result.rows, "new": result.new, "changed": result.changed,
                            "unchanged": result.unchanged,
                            "status": {s: sorted(g["partner_code"]) for s, g in moved.groupby("status_after")}})
        records.append(record)
    return records


def _guard_unchanged(session: Session, preview: ResponsePreview, superseded: list[int]) -> None:
    """The answers and states the preview compared against must still be current."""
    still = 0
    for start in range(0, len(superseded), 5_000):
        chunk = superseded[start:start + 5_000]
        still += session.exec(select(func.count()).select_from(Answer)
                              .where(col(Answer.id).in_(chunk), Answer.is_current)).one()
    locked = session.exec(select(Assignment.id).where(Assignment.cycle_id == preview.cycle_id,
                                                      col(Assignment.status).in_(sorted(states.LOCKED)))).all()
    if still != len(superseded) or np.isin(preview.writes["assignment_id"].to_numpy(), locked).any():
        raise ValidationError("Answers or questionnaire states changed since the preview; preview again.")


def _among(column, ids: list[int]) -> TextClause:
    """`column IN (ids)` with the integer ids written into the statement: binding thousands of parameters costs
    SQLAlchemy several microseconds each, more than the update itself."""
    return text(f"{column.table.name}.{column.name} IN ({', '.join(str(int(i)) for i in ids)})")
