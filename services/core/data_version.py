"""A data version every process can read: one counter bumped in the same transaction as every write.

Cached reads in one app process cannot see what another process (the command line, a second app server, a cron
job) wrote. Each committed transaction that inserted, updated or deleted anything also adds one to
``dataversion.version``, so a page run that reads the counter (one indexed row) knows whether its cached reads are
stale. It works the same on SQLite and PostgreSQL, for ORM sessions, Core statements and raw driver SQL alike,
because it listens on the engine's connections rather than on any service.
"""

from sqlalchemy import Engine, event, text

_WROTE = "ctpat_wrote"
_WRITES = ("INSERT", "UPDATE", "DELETE")
_BUMP = "UPDATE dataversion SET version = version + 1 WHERE id = 1"


def _note_write(conn, cursor, statement: str, parameters, context, executemany) -> None:
    if statement.lstrip()[:6].upper() in _WRITES and "alembic_version" not in statement:
        conn.info[_WROTE] = True


def note_write(conn) -> None:
    """Count a write made on the driver's own cursor (e.g. PostgreSQL's COPY), which the engine's events miss."""
    conn.info[_WROTE] = True


def _bump(conn) -> None:
    """Right before the commit: the counter goes up in the transaction that wrote (and commits with it)."""
    if conn.info.pop(_WROTE, False):
        cursor = conn.connection.dbapi_connection.cursor()
        try:
            cursor.execute(_BUMP)
        finally:
            cursor.close()


def _forget(conn) -> None:
    conn.info.pop(_WROTE, None)


def track(engine: Engine) -> None:
    """Bump the data version with every committed write on this engine (idempotent).

    Called once the schema is at head, so the table exists (migrations themselves are not counted).
    """
    for name, listener in (("before_cursor_execute", _note_write), ("commit", _bump), ("rollback", _forget)):
        if not event.contains(engine, name, listener):
            event.listen(engine, name, listener)


def current(engine: Engine) -> int:
    """The data version now: it changes whenever any process commits a write."""
    with engine.connect() as conn:
        return int(conn.execute(text("SELECT version FROM dataversion WHERE id = 1")).scalar_one())
