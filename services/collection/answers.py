"""Answer versions: the one place that writes answers, whatever path they came through."""

from collections.abc import Iterable, Sequence

import numpy as np
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
    go through each column's bind processor once per distinct value (factorised, not looked up row by row), then
    driver-level executemany of rows laid out in one object array: the ORM bulk insert spends about five times the
    insert itself on per-row parameter handling. Each statement inserts 100 rows, which SQLite does about a quarter
    faster than 100 statements of one row.
    """
    for chunk in _chunks(list(superseded_ids)):
        session.exec(update(Answer).where(col(Answer.id).in_(chunk)).values(is_current=False))
    if rows.empty:
        return 0
    connection = session.connection()
    dialect = connection.dialect
    table = Answer.__table__
    columns = [*ANSWER_COLUMNS, "recorded_at", "is_current"]

    def bound(name: str, values: pd.Series | list) -> np.ndarray:
        """The column's values as the driver takes them (None where missing): each distinct value goes through
        the column's bind processor once, and is spread to the rows by its code."""
        process = table.c[name].type.dialect_impl(dialect).bind_processor(dialect)
        values = pd.Series(values, dtype=object) if isinstance(values, list) else values
        if process is None:
            out = values.to_numpy(dtype=object, copy=True)
            out[values.isna().to_numpy()] = None
            return out
        codes, uniques = pd.factorize(values)
        done = np.empty(len(uniques) + 1, dtype=object)  # the last one (code -1) for missing values
        done[:-1] = [process(v) for v in uniques.tolist()]
        return done[codes]

    count, width = len(rows), len(columns)
    matrix = np.empty((count, width), dtype=object)  # rows of parameters, built by column
    for position, name in enumerate(ANSWER_COLUMNS):
        matrix[:, position] = bound(name, rows[name])
    matrix[:, -2] = bound("recorded_at", [utcnow()])[0]
    matrix[:, -1] = bound("is_current", [True])[0]
    mark = "?" if dialect.paramstyle == "qmark" else "%s"
    one = f"({', '.join([mark] * width)})"
    sql = f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES "
    whole = count - count % _ROWS_PER_INSERT
    many = sql + ", ".join([one] * _ROWS_PER_INSERT)
    for start in range(0, whole, _ROWS_PER_INSERT * 1_000):
        stop = min(whole, start + _ROWS_PER_INSERT * 1_000)
        connection.exec_driver_sql(many, list(map(tuple, matrix[start:stop].reshape(-1, width * _ROWS_PER_INSERT)
                                                  .tolist())))
    if whole < count:
        connection.exec_driver_sql(sql + one, list(map(tuple, matrix[whole:].tolist())))
    return len(rows)
