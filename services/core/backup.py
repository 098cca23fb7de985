"""Backups and restores: SQLite's online backup into a single file, the pg_dump command for PostgreSQL, and the
data folder's files the database points at (evidence by content hash) with the keys that keep login cookies and
partners' links valid."""

import os
import shlex
import sqlite3
import tarfile
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


def libpq_url(url: str) -> str:
    """The URL as pg_dump and pg_restore take it (libpq's postgresql:// form), without the password."""
    parsed = make_url(url)
    target = URL.create("postgresql", username=parsed.username, host=parsed.host, port=parsed.port,
                        database=parsed.database, query=parsed.query)
    return target.render_as_string(hide_password=False)


def postgres_hint(url: str, out: Path | str = "ctpat.dump") -> str:
    """The pg_dump command that backs up the PostgreSQL database of ``url``, without its password.

    pg_dump reads the password from PGPASSWORD or ~/.pgpass, so it never appears in the command line. The custom
    format is compressed and is what pg_restore reads.
    """
    return f"pg_dump --format=custom --file={shlex.quote(str(out))} --dbname={shlex.quote(libpq_url(url))}"


def postgres_restore_hint(url: str, dump: Path | str = "ctpat.dump") -> str:
    """The pg_restore command that puts the ``postgres_hint`` dump ``dump`` into the database of ``url``.

    The database may be a new empty one or the live one (its tables are dropped first: ``--clean --if-exists``);
    objects become the connecting role's (``--no-owner``), and one transaction makes it all or nothing (a failed
    restore leaves the database as it was).
    """
    return (f"pg_restore --clean --if-exists --no-owner --single-transaction --dbname={shlex.quote(libpq_url(url))} "
            f"{shlex.quote(str(dump))}")


# What of the data folder a backup carries: evidence files (kept by hash; the database names them), and the keys
# that sign login cookies and seal link tokens. Packs and downloads are made again from the data.
FILE_MEMBERS = ("evidence", ".cookie_key", ".link_key")
_ARCHIVE_TOP = "ctpat-files"


def backup_files(*, out: Path, data_dir: Path | None = None) -> int:
    """Write the data folder's evidence files and keys into the tar.gz ``out``; returns the number of files.

    Written under a temporary name and renamed when complete, readable by this user only, like the database
    backup. An existing ``out`` is replaced.
    """
    folder = Path(data_dir or config.data_dir())
    out = Path(out)
    if not out.parent.is_dir():
        raise ValidationError(f"Folder {out.parent} does not exist.")
    partial = out.with_name(f".{out.name}.{uuid.uuid4().hex[:8]}.partial")
    count = 0
    try:
        config.create_private_file(partial)
        with tarfile.open(partial, "w:gz") as archive:
            for name in FILE_MEMBERS:
                source = folder / name
                if source.is_file():
                    archive.add(source, arcname=f"{_ARCHIVE_TOP}/{name}")
                    count += 1
                elif source.is_dir():
                    for path in sorted(p for p in source.rglob("*") if p.is_file()):
                        archive.add(path, arcname=f"{_ARCHIVE_TOP}/{path.relative_to(folder).as_posix()}")
                        count += 1
        with open(partial, "rb+") as written:
            os.fsync(written.fileno())
        os.replace(partial, out)
    finally:
        partial.unlink(missing_ok=True)
    return count


def check_files_archive(archive: Path) -> int:
    """Check a ``backup_files`` archive without writing anything; returns its number of files.

    Only the members a backup writes are accepted (evidence files and the two keys), as plain files: an archive
    with anything else (another path, a link, a device) is refused.
    """
    try:
        with tarfile.open(archive, "r:gz") as opened:
            members = opened.getmembers()
    except (OSError, tarfile.TarError) as error:
        raise ValidationError(f"{archive}: not a files backup ({error}).") from None
    for member in members:
        name = member.name
        inside = name.startswith(f"{_ARCHIVE_TOP}/") and ".." not in Path(name).parts
        rest = name.removeprefix(f"{_ARCHIVE_TOP}/")
        allowed = rest in FILE_MEMBERS[1:] or (rest.startswith("evidence/") and len(Path(rest).parts) >= 2)
        if not (member.isfile() and inside and allowed):
            raise ValidationError(f"{archive}: '{name}' is not part of a files backup; nothing was restored.")
    return len(members)


def restore_files(*, archive: Path, data_dir: Path | None = None) -> int:
    """Unpack a ``backup_files`` archive into the data folder (checked first, see ``check_files_archive``); each
    file is written under a temporary name and renamed, private to this user. Returns the number of files."""
    check_files_archive(archive)
    folder = Path(data_dir or config.data_dir())
    config.private_dir(folder)
    count = 0
    with tarfile.open(archive, "r:gz") as opened:
        for member in opened.getmembers():
            target = folder / member.name.removeprefix(f"{_ARCHIVE_TOP}/")
            config.private_dir(target.parent)
            data = opened.extractfile(member).read()
            partial = target.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}.partial")
            config.create_private_file(partial)
            partial.write_bytes(data)
            os.replace(partial, target)
            count += 1
    return count


def holds_data(url: str) -> bool:
    """Whether the SQLite database of ``url`` exists and holds partners, cycles or more than one user: a restore
    over it would lose work."""
    path = sqlite_path(url)
    if not path.is_file() or path.stat().st_size == 0:
        return False
    with closing(sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=15)) as conn:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        counts = [conn.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0]
                  for t in ("partner", "cycle") if t in tables]
        users = conn.execute('SELECT count(*) FROM "user"').fetchone()[0] if "user" in tables else 0
    return any(counts) or users > 1


def restore_sqlite(*, backup: Path, url: str) -> int:
    """Put the SQLite backup file ``backup`` in place as the database of ``url``; returns the bytes written.

    The backup is checked first (a SQLite database that passes its integrity check and has a schema version), then
    copied beside the target under a temporary name and renamed over it, with any -wal/-shm files of the old
    database removed, so the database is either the old one or the backup, never a mix. The app must be stopped.
    """
    target = sqlite_path(url)
    backup = Path(backup)
    if not backup.is_file():
        raise ValidationError(f"No backup file at {backup}.")
    if backup.resolve() == target.resolve():
        raise ValidationError("The backup file is the database itself.")
    try:
        with closing(sqlite3.connect(f"{backup.resolve().as_uri()}?mode=ro", uri=True)) as src:
            if src.execute("PRAGMA integrity_check").fetchone() != ("ok",):
                raise ValidationError(f"{backup}: the database fails its integrity check.")
            if not src.execute("SELECT name FROM sqlite_master WHERE name = 'alembic_version'").fetchone():
                raise ValidationError(f"{backup}: not a CTPAT Workbench database (no schema version).")
    except sqlite3.DatabaseError as error:
        raise ValidationError(f"{backup}: not a SQLite database ({error}).") from None
    config.private_dir(target.parent)
    partial = target.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}.partial")
    try:
        config.create_private_file(partial)
        with closing(sqlite3.connect(f"{backup.resolve().as_uri()}?mode=ro", uri=True)) as src, \
                closing(sqlite3.connect(partial)) as dst:
            src.backup(dst)
        with open(partial, "rb+") as written:
            os.fsync(written.fileno())
        for suffix in ("-wal", "-shm"):
            Path(f"{target}{suffix}").unlink(missing_ok=True)
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    return target.stat().st_size
