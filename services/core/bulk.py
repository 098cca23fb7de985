"""Bulk reads into pandas and bulk inserts from pandas, without per-row ORM or parameter handling.

The ORM turns every row into objects and every parameter through its column type: at a hundred thousand rows that
costs several times the database work. Here a read takes the driver's plain tuples into columns, and an insert puts each
column's distinct values through the column type's bind processor once, then sends multi-row INSERTs through the
driver (the approach of services.collection.answers.store_answers, made reusable), or COPY on PostgreSQL. Both work
on SQLite and PostgreSQL.
"""

import sqlite3
from collections.abc import Iterator, Mapping, Sequence

import numpy as np
import pandas as pd
from sqlalchemy import Table
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql import Select

from services.core import data_version

ROWS_PER_INSERT = 500  # SQLite inserts 500 rows per statement about twice as fast as 500 statements of one row
ROWS_PER_CALL = 100_000  # rows of parameters built at a time


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


def plain_chunks(connection: Connection, stmt: Select, size: int) -> Iterator[list[tuple]]:
    """The rows of `stmt` as the driver's tuples (see read_plain), `size` at a time, so that a million rows are never
    Python objects all at once."""
    result = connection.execute(stmt)
    try:
        while rows := result.cursor.fetchmany(size):
            yield rows
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


def _column(connection: Connection, table: Table, name: str, values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """The column's values as the driver takes them, as (distinct values, each row's code; -1 for a missing value
    at the end of the distinct values): each distinct value goes through the type's bind processor once."""
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
    return distinct, codes


def _bound(connection: Connection, table: Table, name: str, value: object) -> object:
    """One value as the driver takes it (through the column type's bind processor)."""
    process = table.c[name].type.dialect_impl(connection.dialect).bind_processor(connection.dialect)
    value = None if value is None or value is pd.NaT or value is pd.NA else _python(value)
    return value if process is None or value is None else process(value)


def insert_frame(connection: Connection, table: Table, frame: pd.DataFrame, *, same: Mapping[str, object] | None = None,
                 skip_conflicts_on: str | None = None) -> int:
    """Insert every row of `frame` (its columns named as the table's) into `table`; returns the rows sent.

    Missing values (None, NaN, NaT, NA) are NULL. `same` gives columns that hold one value for every row (who, when,
    a flag), without a column of a million copies. `skip_conflicts_on` names a unique column: a row whose value is
    already stored is skipped (``ON CONFLICT (column) DO NOTHING``, SQLite and PostgreSQL alike), so two runs at
    once never insert one key twice.

    On SQLite, a value every row shares (from `same`, or a column of `frame` with one distinct value) is bound once
    per statement of ROWS_PER_INSERT rows, by number (``?1``), not once per row: binding is most of the driver's
    work per row.
    """
    if frame.empty:
        return 0
    constants = {name: _bound(connection, table, name, value) for name, value in (same or {}).items()}
    varying: list[str] = []
    columns: list[tuple[np.ndarray, np.ndarray]] = []
    for name in frame.columns:
        distinct, codes = _column(connection, table, name, frame[name])
        if len(distinct) == 2 and (codes >= 0).all():  # one value in every row
            constants[name] = distinct[0]
        elif len(distinct) == 1:  # missing in every row
            constants[name] = None
        if name not in constants or (frame.columns[-1] == name and not varying):  # (at least one column per row)
            constants.pop(name, None)
            varying.append(name)
            columns.append((distinct, codes))
    rows = np.empty((len(frame), len(varying)), dtype=object)
    for i, (distinct, codes) in enumerate(columns):
        rows[:, i] = distinct[codes]
    if connection.dialect.name == "postgresql":
        shared = np.empty(len(constants), dtype=object)
        shared[:] = list(constants.values())
        rows = np.hstack([rows, np.broadcast_to(shared, (len(rows), len(shared)))])
        _copy_rows(connection, table, varying + list(constants), rows, skip_conflicts_on)
    else:
        _insert_rows(connection, table, varying + list(constants), rows, list(constants.values()), skip_conflicts_on)
    return len(frame)


def _insert_rows(connection: Connection, table: Table, names: list[str], rows: np.ndarray, shared: list,
                 skip_conflicts_on: str | None) -> None:
    """SQLite: multi-row INSERTs of `rows` (the first columns of `names`), the `shared` values (the last columns)
    bound once per statement as numbered parameters (``?1``) that every row of the statement repeats."""
    count, width = rows.shape
    head = f"INSERT INTO {table.name} ({', '.join(names)}) VALUES "
    tail = f" ON CONFLICT ({skip_conflicts_on}) DO NOTHING" if skip_conflicts_on else ""
    per = max(1, min(ROWS_PER_INSERT, (_parameter_limit(connection) - len(shared)) // max(width, 1)))

    def values(rows_in_statement: int) -> str:
        tail_marks = ", ".join(f"?{k + 1}" for k in range(len(shared)))
        first = len(shared) + 1
        return ", ".join(
            "(" + ", ".join([*(f"?{first + r * width + c}" for c in range(width)), *([tail_marks] if shared else [])])
            + ")"
            for r in range(rows_in_statement))

    shared_params = tuple(shared)
    whole = count - count % per
    if whole:
        many = head + values(per) + tail
        step = per * max(1, ROWS_PER_CALL // per)
        for start in range(0, whole, step):
            block = rows[start:min(whole, start + step)].reshape(-1, width * per)  # one statement's rows side by side
            connection.exec_driver_sql(many, [shared_params + tuple(params) for params in block.tolist()])
    if whole < count:
        connection.exec_driver_sql(head + values(count - whole) + tail,
                                   [shared_params + tuple(rows[whole:].reshape(-1).tolist())])


def _parameter_limit(connection: Connection) -> int:
    """How many parameters one SQLite statement may have (a compile-time limit: 32,766 by default, 999 in builds
    before SQLite 3.32)."""
    driver = connection.connection.driver_connection
    return min(driver.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER), 32_766) if hasattr(driver, "getlimit") else 999


def _copy_rows(connection: Connection, table: Table, names: list[str], rows: np.ndarray,
               skip_conflicts_on: str | None) -> None:
    """PostgreSQL: COPY the rows (several times faster than multi-row INSERTs), within the connection's transaction.
    With a conflict column they go into a temporary table first, then INSERT ... SELECT ... ON CONFLICT DO NOTHING."""
    columns = ", ".join(names)
    data_version.note_write(connection, table.name)  # the driver's own cursor: SQLAlchemy's events do not see it
    cursor = connection.connection.driver_connection.cursor()
    statement = f"COPY {table.name} ({columns}) FROM STDIN"
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
    except connection.dialect.loaded_dbapi.Error as exc:  # as SQLAlchemy's own statements raise it (IntegrityError)
        raise DBAPIError.instance(statement, None, exc, connection.dialect.loaded_dbapi.Error,
                                  dialect=connection.dialect) from exc
    finally:
        cursor.close()
