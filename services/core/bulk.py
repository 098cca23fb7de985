"""Bulk reads into pandas and bulk inserts from pandas, without per-row ORM or parameter handling.

The ORM turns every row into objects and every parameter through its column type: at a hundred thousand rows that
costs several times the database work. Here a read takes the driver's plain tuples into columns, and an insert puts each
column's distinct values through the column type's bind processor once, then sends multi-row INSERTs through the
driver (the approach of services.collection.answers.store_answers, made reusable), or COPY on PostgreSQL. Both work
on SQLite and PostgreSQL.
"""

from collections.abc import Sequence

import numpy as np
import pandas as pd
from sqlalchemy import Table
from sqlalchemy.engine import Connection
from sqlalchemy.sql import Select

from services.core import data_version

ROWS_PER_INSERT = 100  # SQLite inserts 100 rows per statement about a quarter faster than 100 statements
STATEMENTS_PER_CALL = 1_000


def read_plain(connection: Connection, stmt: Select, columns: Sequence[str]) -> pd.DataFrame:
    """The rows of `stmt` as the driver returns them, without SQLAlchemy's Row objects and result conversions, which
    cost more than the query at a hundred thousand rows. Only for columns that need no conversion: type_coerce the
    others (dates, enums) to String and convert them in pandas."""
    rows = plain_rows(connection, stmt)
    return pd.DataFrame(rows, columns=list(columns)) if rows else pd.DataFrame(columns=list(columns))


def plain_rows(connection: Connection, stmt: Select) -> list[tuple]:
    """The rows of `stmt` as the driver's tuples (see read_plain: no conversions; booleans are 0/1 on SQLite)."""
    result = connection.execute(stmt)
    try:
        return result.cursor.fetchall()
    finally:
        result.close()


def utc_times(values: pd.Series) -> pd.Series:
    """Times read by read_plain as UTC timestamps: SQLite gives the stored text (UTC without an offset), PostgreSQL
    aware datetimes."""
    return pd.to_datetime(values, utc=True, format="ISO8601")


def _python(value: object) -> object:
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    return value.item() if hasattr(value, "item") and not isinstance(value, str | bytes) else value


def _column(connection: Connection, table: Table, name: str, values: pd.Series) -> np.ndarray:
    """The column's values as the driver takes them: each distinct value through the type's bind processor once."""
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    process = table.c[name].type.dialect_impl(connection.dialect).bind_processor(connection.dialect)
    if uniques.dtype.kind == "M":
        done = list(uniques.to_pydatetime())
    else:
        done = uniques.tolist()  # plain Python values, except in a column of objects
        if uniques.dtype == object:
            done = [_python(u) for u in done]
    if process is not None:
        done = [process(u) for u in done]
    done.append(None)  # code -1: a missing value
    distinct = np.empty(len(done), dtype=object)
    distinct[:] = done
    return distinct[codes]


def insert_frame(connection: Connection, table: Table, frame: pd.DataFrame, *,
                 skip_conflicts_on: str | None = None) -> int:
    """Insert every row of `frame` (its columns named as the table's) into `table`; returns the rows sent.

    Missing values (None, NaN, NaT, NA) are NULL. `skip_conflicts_on` names a unique column: a row whose value is
    already stored is skipped (``ON CONFLICT (column) DO NOTHING``, SQLite and PostgreSQL alike), so two runs at
    once never insert one key twice.
    """
    if frame.empty:
        return 0
    names = list(frame.columns)
    width = len(names)
    rows = np.empty((len(frame), width), dtype=object)
    for i, name in enumerate(names):
        rows[:, i] = _column(connection, table, name, frame[name])
    if connection.dialect.name == "postgresql":
        _copy_rows(connection, table, names, rows, skip_conflicts_on)
        return len(frame)
    mark = "?" if connection.dialect.paramstyle == "qmark" else "%s"
    one = f"({', '.join([mark] * width)})"
    head = f"INSERT INTO {table.name} ({', '.join(names)}) VALUES "
    tail = f" ON CONFLICT ({skip_conflicts_on}) DO NOTHING" if skip_conflicts_on else ""
    whole = len(rows) - len(rows) % ROWS_PER_INSERT
    many = head + ", ".join([one] * ROWS_PER_INSERT) + tail
    for start in range(0, whole, ROWS_PER_INSERT * STATEMENTS_PER_CALL):
        stop = min(whole, start + ROWS_PER_INSERT * STATEMENTS_PER_CALL)
        # ROWS_PER_INSERT rows side by side: one statement's parameters
        block = rows[start:stop].reshape(-1, width * ROWS_PER_INSERT)
        connection.exec_driver_sql(many, [tuple(params) for params in block.tolist()])
    if whole < len(rows):
        connection.exec_driver_sql(head + one + tail, [tuple(params) for params in rows[whole:].tolist()])
    return len(frame)


def _copy_rows(connection: Connection, table: Table, names: list[str], rows: np.ndarray,
               skip_conflicts_on: str | None) -> None:
    """PostgreSQL: COPY the rows (several times faster than multi-row INSERTs), within the connection's transaction.
    With a conflict column they go into a temporary table first, then INSERT ... SELECT ... ON CONFLICT DO NOTHING."""
    columns = ", ".join(names)
    data_version.note_write(connection, table.name)  # the driver's own cursor: SQLAlchemy's events do not see it
    cursor = connection.connection.driver_connection.cursor()
    try:
        target = table.name
        if skip_conflicts_on:
            target = f"bulk_{table.name}"
            cursor.execute(f"CREATE TEMPORARY TABLE {target} AS SELECT {columns} FROM {table.name} WITH NO DATA")
        with cursor.copy(f"COPY {target} ({columns}) FROM STDIN") as copy:
            for row in rows.tolist():
                copy.write_row(row)
        if skip_conflicts_on:
            cursor.execute(f"INSERT INTO {table.name} ({columns}) SELECT {columns} FROM {target} "
                           f"ON CONFLICT ({skip_conflicts_on}) DO NOTHING")
            cursor.execute(f"DROP TABLE {target}")
    finally:
        cursor.close()
