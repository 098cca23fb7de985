"""Database backups: SQLite's online backup into a single file; the pg_dump command for PostgreSQL."""

import os
import shlex
import sqlite3
import uuid
from contextlib import closing
from pathlib import Path

from sqlalchemy.engine import URL, make_url

from services.core import config
from services.core.permissions import ValidationError


def sqlite_path(url: str) -> Path:
    """The database file of a SQLite URL; in-memory databases have none."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        raise ValidationError(f"Not a SQLite database URL: {parsed.render_as_string(hide_password=True)}")
    if not parsed.database or parsed.database == ":memory:":
        raise ValidationError("An in-memory SQLite database has no file to back up.")
    return Path(parsed.database)


def backup_sqlite(*, url: str, out: Path) -> int:
    """Copy the live SQLite database into ``out`` while the app keeps running; returns the bytes written.

    SQLite's online backup copies a consistent snapshot including what still sits in the WAL file, which a plain file
    copy would miss. The copy is written next to ``out`` under a temporary name and renamed when complete, so a failed
    backup never leaves a half-written file behind; an existing ``out`` is replaced.
    """
    source = sqlite_path(url)
    if not source.is_file():
        raise ValidationError(f"No database file at {source}.")
    out = Path(out)
    if not out.parent.is_dir():
        raise ValidationError(f"Folder {out.parent} does not exist.")
    if out.exists() and out.resolve() == source.resolve():
        raise ValidationError("The backup file cannot be the database itself.")
    partial = out.with_name(f".{out.name}.{uuid.uuid4().hex[:8]}.partial")
    try:
        # Readable by this user only from the first byte: a backup holds everything the database holds.
        config.create_private_file(partial)
        # Read-only, so a typo in the URL can never create an empty database.
        with closing(sqlite3.connect(f"{source.resolve().as_uri()}?mode=ro", uri=True, timeout=15)) as src, \
                closing(sqlite3.connect(partial)) as dst:
            src.backup(dst)
            # One self-contained file: the source's WAL mode is copied with the pages, switch it back.
            dst.execute("PRAGMA journal_mode=DELETE")
        with open(partial, "rb+") as written:
            os.fsync(written.fileno())
        os.replace(partial, out)
    finally:
        partial.unlink(missing_ok=True)
    return out.stat().st_size


def postgres_hint(url: str, out: Path | str = "ctpat.dump") -> str:
    """The pg_dump command that backs up the PostgreSQL database of ``url``, without its password.

    pg_dump reads the password from PGPASSWORD or ~/.pgpass, so it never appears in the command line.
    """
    parsed = make_url(url)
    target = URL.create("postgresql", username=parsed.username, host=parsed.host, port=parsed.port,
                        database=parsed.database, query=parsed.query)
    dsn = target.render_as_string(hide_password=False)
    return f"pg_dump --format=custom --file={shlex.quote(str(out))} --dbname={shlex.quote(dsn)}"
