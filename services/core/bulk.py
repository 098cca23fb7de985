"""Bulk reads into pandas and bulk inserts from pandas, without per-row ORM or parameter handling.

The ORM turns every row into objects and every parameter through its column type: at a hundred thousand rows that
costs several times the database work. Here a read takes the driver's plain tuples into columns, and an insert puts each
column's distinct values through the column type's bind processor once, then sends multi-row INSERTs through the
driver (the approach of services.collection.answers.store_answers, made reusable). Both work on SQLite and
PostgreSQL.
"""

from collections.abc import Sequence
from itertools import chain

import pandas as pd
from sqlalchemy import Table
from sqlalchemy.engine import Connection
from sqlalchemy.sql import Select

ROWS_PER_INSERT = 100  # SQLite inserts 100 rows per statement about a quarter faster than 100 statements
STATEMENTS_PER_CALL = 1_000


def read_plain(connection: Connection, stmt: Select, columns: Sequence[str]) -> pd.DataFrame:
    """The rows of `stmt` as the driver returns them, without SQLAlchemy's Row objects and result conversions, which
    cost more than the query at a hundred thousand rows. Only for columns that need no conversion: type_coerce the
    others (dates, enums) to String and convert them in pandas."""
    result = connection.execute(stmt)
    try:
        rows = result.cursor.fetchall()
    finally:
        result.close()
    return pd.DataFrame(rows, columns=list(columns)) if rows else pd.DataFrame(columns=list(columns))


def utc_times(values: pd.Series) -> pd.Series:
    """Times read by read_plain as UTC timestamps: SQLite gives the stored text (UTC without an offset), PostgreSQL
    aware datetimes."""
    return pd.to_datetime(values, utc=True, format="ISO8601")


def _python(value: object) -> object:
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    return value.item() if hasattr(value, "item") and not isinstance(value, str | bytes) else value


def _column(connection: Connection, table: Table, name: str, values: pd.Series) -> list:
    """The column's values as the driver takes them: each distinct value through the type's bind processor once."""
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    process = table.c[name].type.dialect_impl(connection.dialect).bind_processor(connection.dialect)
    done = [_python(u) for u in (uniques.tolist() if hasattr(uniques, "tolist") else list(uniques))]
    if process is not None:
        done = [process(u) for u in done]
    done.append(None)  # code -1: a missing value
    return [done[c] for c in codes.tolist()]


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
    data = [_column(connection, table, name, frame[name]) for name in names]
    mark = "?" if connection.dialect.paramstyle == "qmark" else "%s"
    one = f"({', '.join([mark] * len(names))})"
    head = f"INSERT INTO {table.name} ({', '.join(names)}) VALUES "
    tail = f" ON CONFLICT ({skip_conflicts_on}) DO NOTHING" if skip_conflicts_on else ""
    params = list(chain.from_iterable(zip(*data, strict=True)))  # row after row, in one flat list
    width = len(names)
    per_statement = width * ROWS_PER_INSERT
    whole = len(params) - len(params) % per_statement
    many = head + ", ".join([one] * ROWS_PER_INSERT) + tail
    for start in range(0, whole, per_statement * STATEMENTS_PER_CALL):
        stop = min(whole, start + per_statement * STATEMENTS_PER_CALL)
        connection.exec_driver_sql(many, [tuple(params[i:i + per_statement]) for i in range(start, stop,
                                                                                              per_statement)])
    if whole < len(params):
        connection.exec_driver_sql(head + one + tail, [tuple(params[i:i + width])
                                                       for i in range(whole, len(params), width)])
    return len(frame)
