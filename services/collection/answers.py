"""Answer versions: the one place that writes answers, whatever path they came through."""

from collections.abc import Iterable, Sequence
from itertools import chain

import pandas as pd
from sqlalchemy import update
from sqlmodel import Session, col, select

from models import Answer
from models.common import utcnow

ANSWER_COLUMNS = ["assignment_id", "criterion_id", "value", "comment", "answered_on", "source", "answered_by"]
_CHUNK = 5_000
_ROWS_PER_INSERT = 100  # 900 parameters: within SQLite's and PostgreSQL's limits


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
    go through each column's bind processor once per distinct value, then driver-level executemany: the ORM bulk
    insert spends about five times the insert itself on per-row parameter handling. Each statement inserts 100
    rows, which SQLite does about a quarter faster than 100 statements of one row.
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
    one = f"({', '.join([mark] * len(columns))})"
    sql = f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES "
    params = list(chain.from_iterable(zip(*data, strict=True)))  # row after row, in one flat list
    width = len(columns)
    per_statement = width * _ROWS_PER_INSERT
    whole = len(params) - len(params) % per_statement
    many = sql + ", ".join([one] * _ROWS_PER_INSERT)
    for start in range(0, whole, per_statement * 1_000):
        stop = min(whole, start + per_statement * 1_000)
        batch = [tuple(params[i:i + per_statement]) for i in range(start, stop, per_statement)]
        connection.exec_driver_sql(many, batch)
    if whole < len(params):
        connection.exec_driver_sql(sql + one, [tuple(params[i:i + width]) for i in range(whole, len(params), width)])
    return len(rows)
