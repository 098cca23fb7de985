"""Engine creation, SQLite pragmas, migrations to head and first-start initialisation."""

import logging
import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, event, make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import StaticPool
from sqlmodel import Session, create_engine

import models  # noqa: F401  (registers the tables)
from services.core import config, data_version
from services.core.config import ROOT

log = logging.getLogger(__name__)
T = TypeVar("T")
WRITE_ATTEMPTS = 5
# PostgreSQL: serialization failure, deadlock, lock not available; the transaction may simply be run again.
_RETRY_SQLSTATES = {"40001", "40P01", "55P03"}


def make_engine(url: str) -> Engine:
    """An engine for SQLite (WAL, foreign keys, busy timeout) or PostgreSQL."""
    if url.startswith("sqlite"):
        kwargs: dict = {"connect_args": {"timeout": 15, "check_same_thread": False}}
        if url in {"sqlite://", "sqlite:///:memory:"}:
            kwargs["poolclass"] = StaticPool
        else:
            _private_sqlite_file(url)
        engine = create_engine(url, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True)


def _private_sqlite_file(url: str) -> None:
    """Create a new SQLite file readable by this user only: SQLite would create it with the umask (often 0644).

    Its -wal and -shm files get the database file's mode from SQLite itself.
    """
    database = make_url(url).database
    if not database or database == ":memory:" or database.startswith("file:"):
        return
    path = Path(database)
    config.private_dir(path.parent)
    config.create_private_file(path)


def _sqlite_pragmas(dbapi_conn, _record) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=15000")
    cur.close()


def alembic_config(url: str) -> Config:
    cfg = Config(str(ROOT / "alembic.ini"))
    cfg.set_main_option("script_location", str(ROOT / "migrations"))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(engine: Engine) -> None:
    """Bring the schema to the newest migration."""
    cfg = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")
    # The migration turned SQLite's foreign keys off on its pooled connection; start the pool afresh.
    engine.dispose()
    data_version.track(engine)


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """One session per user action: committed at the end, rolled back on any error."""
    with Session(engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except Exception:
            session.rollback()
            raise


def transient(error: BaseException) -> bool:
    """Whether a failed transaction may simply be run again: SQLite busy or locked (another writer held the file
    past the busy timeout), or a PostgreSQL serialization failure or deadlock."""
    if not isinstance(error, DBAPIError) or error.connection_invalidated:
        return False
    orig = error.orig
    if getattr(orig, "sqlstate", None) in _RETRY_SQLSTATES:
        return True
    message = str(orig).lower()
    return "database is locked" in message or "database table is locked" in message or "database is busy" in message


def _write_lock_first(session: Session, _transaction, connection) -> None:
    """SQLite: the transaction takes the write lock with its first statement (BEGIN IMMEDIATE, waiting up to the
    busy timeout), so what it reads cannot change under it before it writes: no lost update between a read and
    its write. Taken when the session first touches the database, so an action that writes through sessions of
    its own (e.g. the outbox's sender) does not wait on itself."""
    if connection.dialect.name == "sqlite" and not connection.connection.dbapi_connection.in_transaction:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def write(engine: Engine, action: Callable[[Session], T], *, attempts: int = WRITE_ATTEMPTS) -> T:
    """Run ``action(session)`` as one write transaction and commit it; its result.

    The pages' write helper (ui.state.write) goes through here; the command line's commands use one plain
    session_scope each (docs/OPERATIONS.md). On
    SQLite the transaction holds the write lock from its first statement; on PostgreSQL services lock the rows
    they read before changing them. A transaction that failed only because of the other writers (SQLite still
    locked after the busy timeout, a PostgreSQL deadlock or serialization failure) is rolled back and run again
    from the start, at most ``attempts`` times with a growing random pause, so "database is locked" reaches a user
    only when the database stays locked for minutes. Any other error is raised at once, nothing committed.
    """
    for attempt in range(1, attempts + 1):
        try:
            with session_scope(engine) as session:
                event.listen(session, "after_begin", _write_lock_first)
                return action(session)
        except DBAPIError as error:
            if attempt == attempts or not transient(error):
                raise
            pause = random.uniform(0.05, 0.2) * 2 ** (attempt - 1)
            log.warning("Write transaction met other writers (%s); running it again in %.2f s (try %d of %d)",
                        str(error.orig).splitlines()[0][:200], pause, attempt + 1, attempts)
            time.sleep(pause)
    raise AssertionError("unreachable")
