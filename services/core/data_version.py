"""Data versions every process can read: counters bumped in the same transaction as every write.

Cached reads in one app process cannot see what another process (the command line, a second app server, a cron
job) wrote. Each committed transaction that inserted, updated or deleted anything also adds one to
``dataversion.version`` (row ANY_WRITE), so a page run that reads the counter (one indexed row) knows whether its
cached reads are stale. It works the same on SQLite and PostgreSQL, for ORM sessions, Core statements and raw driver
SQL alike, because it listens on the engine's connections rather than on any service; a COPY sent on the driver's
own cursor is reported with ``note_write``.

A second counter (row RECORDS) moves only when the transaction wrote something besides sign-in bookkeeping (the
user table, the audit trail and download tokens, which every login, logout and failed attempt writes): the heaviest
reads (the scoring's million answers) are keyed by it, so a colleague logging in does not make the next visit of
Risk scoring read everything again. Whatever shows users or the audit trail stays keyed by ANY_WRITE.
"""

import re

from sqlalchemy import Connection, Engine, event, text

ANY_WRITE = 1
RECORDS = 2
BOOKKEEPING = frozenset({"user", "auditevent", "download"})

_WROTE = "ctpat_wrote"
_RECORDS = "ctpat_wrote_records"
_WRITES = ("INSERT", "UPDATE", "DELETE")
_TABLE = re.compile(r'\s*(?:INSERT\s+(?:OR\s+\w+\s+)?INTO|UPDATE(?:\s+OR\s+\w+)?|DELETE\s+FROM)\s+"?(\w+)"?',
                    re.IGNORECASE)
_BUMP_ALL = f"UPDATE dataversion SET version = version + 1 WHERE id IN ({ANY_WRITE}, {RECORDS})"
_BUMP_ANY = f"UPDATE dataversion SET version = version + 1 WHERE id = {ANY_WRITE}"


def _table(statement: str) -> str | None:
    found = _TABLE.match(statement)
    return found.group(1).lower() if found else None


def _note_write(conn, cursor, statement: str, parameters, context, executemany) -> None:
    if statement.lstrip()[:6].upper() in _WRITES and "alembic_version" not in statement:
        note_write(conn, _table(statement))


def note_write(conn: Connection, table: str | None) -> None:
    """Count a write to `table` (None: not known, counted as records) in the connection's transaction."""
    conn.info[_WROTE] = True
    if table not in BOOKKEEPING:
        conn.info[_RECORDS] = True


def _bump(conn) -> None:
    """Right before the commit: the counters go up in the transaction that wrote (and commit with it)."""
    records = conn.info.pop(_RECORDS, False)
    if conn.info.pop(_WROTE, False):
        cursor = conn.connection.dbapi_connection.cursor()
        try:
            cursor.execute(_BUMP_ALL if records else _BUMP_ANY)
        finally:
            cursor.close()


def _forget(conn) -> None:
    conn.info.pop(_WROTE, None)
    conn.info.pop(_RECORDS, None)


def track(engine: Engine) -> None:
    """Bump the data versions with every committed write on this engine (idempotent).

    Called once the schema is at head, so the table exists (migrations themselves are not counted).
    """
    for name, listener in (("before_cursor_execute", _note_write), ("commit", _bump), ("rollback", _forget)):
        if not event.contains(engine, name, listener):
            event.listen(engine, name, listener)


def current(engine: Engine, counter: int = ANY_WRITE) -> int:
    """A data version now: ANY_WRITE changes whenever any process commits a write, RECORDS when the write was more
    than sign-in bookkeeping."""
    with engine.connect() as conn:
        return int(conn.execute(text("SELECT version FROM dataversion WHERE id = :id"), {"id": counter}).scalar_one())
