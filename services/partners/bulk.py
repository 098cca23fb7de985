"""What the set-based partner statements share."""

from sqlalchemy import Select, Table, insert
from sqlmodel import Session

IN_LIST = 5_000  # ids per IN list: a database takes only so many parameters in one statement


def partner_chunks(partner_ids: list[int] | Select | None) -> list:
    """The partner filter of a bulk statement, one per statement to run: None (all partners), a select of ids, or IN
    lists of at most IN_LIST ids; an empty list gives nothing to run."""
    if partner_ids is None or isinstance(partner_ids, Select):
        return [partner_ids]
    ids = sorted({int(i) for i in partner_ids})
    return [ids[start:start + IN_LIST] for start in range(0, len(ids), IN_LIST)]


def insert_from_select(session: Session, table: Table, columns: list[str], stmt: Select) -> int:
    """INSERT ... SELECT into ``table``; returns how many rows it made, counted from RETURNING (psycopg reports -1
    as the row count of an INSERT ... SELECT with bound values)."""
    return len(session.connection().execute(insert(table).from_select(columns, stmt).returning(table.c.id)).all())
