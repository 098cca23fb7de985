"""Answer versions: the one place that writes answers, whatever path they came through."""

from collections.abc import Iterable, Sequence

import pandas as pd
from sqlalchemy import update
from sqlmodel import Session, col, select

from models import Answer
from models.common import utcnow

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
    has compared values, so unchanged answers are never rewritten). Runs inside the caller's transaction. Values
    go through each column's bind processor once per distinct value, then one driver-level executemany: the ORM
    bulk insert spends about five times the insert itself on per-row parameter handling.
    """
    for chunk in _chunks(list(superseded_ids)):
        session.exec(update(Answer).where(col(Answer.id).in_(chunk)).values(is_current=False))
    if rows.empty:
        return 0
    connection = session.connection()
    dialect = connection.dialect
    table = Answer.__table__
    columns = [*ANSWER_COLUMNS, "recorded_at", "is_current"]

    def bound(name: str, values: list) -> list:
        process = table.c[name].type.dialect_impl(dialect).bind_processor(dialect)
        if process is None:
            return values
        done: dict = {}
        return [None if v is None else done[v] if v in done else done.setdefault(v, process(v)) for v in values]

    data = [bound(c, rows[c].astype(object).where(rows[c].notna(), None).tolist()) for c in ANSWER_COLUMNS]
    data += [bound("recorded_at", [utcnow()]) * len(rows), bound("is_current", [True]) * len(rows)]
    mark = "?" if dialect.paramstyle == "qmark" else "%s"
    sql = f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES ({', '.join([mark] * len(columns))})"
    params = list(zip(*data, strict=True))
    for chunk in _chunks(params, 50_000):
        connection.exec_driver_sql(sql, list(chunk))
    return len(params)
