"""Answer versions: the one place that writes answers, whatever path they came through."""

from collections.abc import Iterable, Sequence

import pandas as pd
from sqlalchemy import update
from sqlmodel import Session, col, select

from models import Answer
from models.common import utcnow
from services.core import bulk

ANSWER_COLUMNS = ["assignment_id", "criterion_id", "value", "comment", "answered_on", "source", "answered_by"]
_CHUNK = 5_000


def _chunks(items: Sequence, size: int = _CHUNK) -> Iterable[Sequence]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def current_answers(*, session: Session, assignment_ids: Sequence[int]) -> pd.DataFrame:
    """The current answer of each (assignment, criterion) for the given assignments."""
    columns = ["id", *ANSWER_COLUMNS, "recorded_at"]
    frames = []
    for chunk in _chunks(list(assignment_ids)):
        stmt = select(*(getattr(Answer, c) for c in columns)).where(
            col(Answer.assignment_id).in_(chunk), Answer.is_current
        )
        frames.append(pd.DataFrame(session.exec(stmt).all(), columns=columns))
    if not frames:
        return pd.DataFrame(columns=columns)
    return pd.concat(frames, ignore_index=True)


def store_answers(*, session: Session, rows: pd.DataFrame, superseded_ids: Sequence[int] = ()) -> int:
    """Insert new current answer versions and retire the versions they replace; returns rows written.

    `rows` holds ANSWER_COLUMNS; `superseded_ids` are the ids of the current versions being replaced (the caller
    has compared values, so unchanged answers are never rewritten). Runs inside the caller's transaction. Written by
    services.core.bulk.insert_frame (multi-row INSERTs on SQLite, COPY on PostgreSQL): the ORM bulk insert spends
    about five times the insert itself on per-row parameter handling.
    """
    for chunk in _chunks(list(superseded_ids)):
        session.exec(update(Answer).where(col(Answer.id).in_(chunk)).values(is_current=False))
    if rows.empty:
        return 0
    return bulk.insert_frame(session.connection(), Answer.__table__, rows[ANSWER_COLUMNS],
                             same={"recorded_at": utcnow(), "is_current": True})
