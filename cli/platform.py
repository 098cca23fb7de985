"""The platform: database set-up, staff accounts, demo data, row counts and backups."""

import argparse
import getpass
import json
import secrets
import sys
from pathlib import Path

from sqlalchemy.engine import make_url

from cli.base import CLI, Context, arg, command
from models.common import Role
from services.core import backup, db, users
from services.core.permissions import ValidationError
from services.demo import generator as demo
from services.partners import registry as partners
from services.reports import overview

DEMO_PARTNERS = 200
DEMO_SEED = 2027


def _partner_count(text: str) -> int:
    try:
        number = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a whole number") from None
    if not 1 <= number <= demo.MAX_PARTNERS:
        raise argparse.ArgumentTypeError(f"must be between 1 and {demo.MAX_PARTNERS:,}, not {number:,}")
    return number


def _seed(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a whole number") from None


PASSWORD_STDIN = arg("--password-stdin", action="store_true",
                     help="read the password from stdin (asked twice when stdin is a terminal); "
                          "without it a random password is generated and printed once")


def _read_password() -> str:
    if sys.stdin.isatty():
        first = getpass.getpass("New password: ")
        if first != getpass.getpass("Repeat it: "):
            raise ValidationError("The two passwords differ.")
        return first
    password = sys.stdin.read().rstrip("\r\n")
    if not password:
        raise ValidationError("No password on stdin.")
    if "\n" in password:
        raise ValidationError("The password on stdin must be a single line.")
    return password


def _show_password(username: str, password: str) -> None:
    print(f"One-time password of '{username}' (shown only now; it must be changed at the first login):\n"
          f"    {password}")


def _print_demo(summary: demo.DemoSummary) -> None:
    print(f"Demo data added: {summary.partners} partners, {summary.certifications} certifications, "
          f"{summary.cycles} cycles, {summary.assignments} assignments, {summary.answers} answers, "
          f"{summary.lanes} lanes (with {summary.lane_partners} more partners they need).")


@command("init-db", "Migrate the database, load reference data and create the first admin.",
         arg("--demo", action="store_true", help=f"also add demo data ({DEMO_PARTNERS} partners) when there are "
                                                 "no partners yet"))
def cmd_init_db(args: argparse.Namespace, ctx: Context) -> int:
    loaded = ", ".join(f"{count} {table}" for table, count in ctx.startup.loaded.items()) or "nothing new"
    print(f"Database {make_url(ctx.url).render_as_string(hide_password=True)} is at the newest schema; "
          f"reference data loaded: {loaded}.")
    if args.demo:
        with db.session_scope(ctx.engine) as session:
            existing = partners.partner_count(session=session)
            summary = None if existing else demo.seed_demo(session=session, partners=DEMO_PARTNERS, seed=DEMO_SEED)
        if summary is None:
            print(f"Demo data not added: the database already holds {existing} partners.", file=sys.stderr)
        else:
            _print_demo(summary)
    return 0


@command("create-user", "Add a staff account (admin, analyst or viewer).",
         arg("username"),
         arg("--role", required=True, choices=[role.value for role in Role]),
         arg("--name", default="", help="full name shown in the app (default: the username)"),
         arg("--email", default=""),
         PASSWORD_STDIN)
def cmd_create_user(args: argparse.Namespace, ctx: Context) -> int:
    chosen = _read_password() if args.password_stdin else None
    password = chosen or secrets.token_urlsafe(15)
    with db.session_scope(ctx.engine) as session:
        user = users.create_user(session=session, actor=CLI, username=args.username, name=args.name,
                                 role=args.role, password=password, email=args.email)
    print(f"Created user '{user.username}' ({user.role}); the password must be changed at the first login.")
    if chosen is None:
        _show_password(user.username, password)
    return 0


@command("reset-password", "Give a user a temporary password that must be changed at the next login; unlocks it.",
         arg("username"),
         PASSWORD_STDIN)
def cmd_reset_password(args: argparse.Namespace, ctx: Context) -> int:
    chosen = _read_password() if args.password_stdin else None
    with db.session_scope(ctx.engine) as session:
        password = users.reset_password(session=session, actor=CLI, username=args.username, new_password=chosen)
        username = users.get_user(session=session, username=args.username).username
    print(f"Reset the password of '{username}'; it must be changed at the next login.")
    if chosen is None:
        _show_password(username, password)
    return 0


@command("seed-demo", "Fill an empty database with a believable demo company.",
         arg("--partners", type=_partner_count, default=DEMO_PARTNERS, metavar="N", help=f"default {DEMO_PARTNERS}"),
         arg("--seed", type=_seed, default=DEMO_SEED, metavar="S", help=f"random seed, default {DEMO_SEED}"))
def cmd_seed_demo(args: argparse.Namespace, ctx: Context) -> int:
    with db.session_scope(ctx.engine) as session:
        existing = partners.partner_count(session=session)
        if existing:
            raise ValidationError(f"The database already holds {existing} partners; demo data goes into a database "
                                  "without partners only.")
        summary = demo.seed_demo(session=session, partners=args.partners, seed=args.seed)
    _print_demo(summary)
    return 0


@command("stats", "Row counts per table.",
         arg("--json", action="store_true", help="print one JSON object {table: rows}"))
def cmd_stats(args: argparse.Namespace, ctx: Context) -> int:
    with db.session_scope(ctx.engine) as session:
        counts = overview.table_counts(session=session)
    if args.json:
        print(json.dumps(counts, indent=2))
    else:
        width = max(map(len, counts))
        for table, rows in counts.items():
            print(f"{table:<{width}}  {rows:>10,}")
    return 0


@command("backup", "Copy the SQLite database into FILE while the app keeps running (PostgreSQL: use pg_dump); "
         "--files also writes the evidence files and keys of the data folder.",
         arg("--out", required=True, type=Path, metavar="FILE"),
         arg("--files", type=Path, metavar="FILES.tar.gz",
             help="also write the data folder's evidence files and keys into this archive"),
         arg("--force", action="store_true", help="replace FILE (and FILES.tar.gz) when it exists"))
def cmd_backup(args: argparse.Namespace, ctx: Context) -> int:
    for out in filter(None, (args.out, args.files)):
        if out.exists() and not args.force:
            raise ValidationError(f"{out} already exists; choose another file or add --force to replace it.")
    backend = make_url(ctx.url).get_backend_name()
    if backend == "postgresql":
        if args.files:
            count = backup.backup_files(out=args.files)
            print(f"Backed up {count:,} files of the data folder to {args.files}.")
        raise ValidationError(f"PostgreSQL is backed up with pg_dump (password from PGPASSWORD or ~/.pgpass): "
                              f"{backup.postgres_hint(ctx.url, args.out)}")
    if backend != "sqlite":
        raise ValidationError(f"No backup for {backend} databases; use that database's own tools.")
    size = backup.backup_sqlite(url=ctx.url, out=args.out)
    print(f"Backed up {backup.sqlite_path(ctx.url)} to {args.out} ({size:,} bytes).")
    if args.files:
        count = backup.backup_files(out=args.files)
        print(f"Backed up {count:,} files of the data folder to {args.files}.")
    return 0


@command("restore", "Put a SQLite backup (and its files archive) in place, with the app stopped; then migrate.",
         arg("--from", dest="source", required=True, type=Path, metavar="FILE", help="a file written by backup"),
         arg("--files", type=Path, metavar="FILES.tar.gz", help="the archive written by backup --files"),
         arg("--force", action="store_true", help="replace a database that already holds partners or cycles"),
         prepares_database=False)
def cmd_restore(args: argparse.Namespace, ctx: Context) -> int:
    """Restore a SQLite backup into CTPAT_DATABASE_URL's file and the files archive into CTPAT_DATA_DIR, with the
    app stopped. A database holding partners, cycles or more than the first user is replaced only with --force.
    The schema is then upgraded to this version of the code. PostgreSQL is restored with pg_restore
    (the command is printed; docs/OPERATIONS.md)."""
    backend = make_url(ctx.url).get_backend_name()
    if backend == "postgresql":
        raise ValidationError(f"Nothing was restored: PostgreSQL is restored with pg_restore, with the app stopped "
                              f"(password from PGPASSWORD or ~/.pgpass; the files archive with tar, see "
                              f"docs/OPERATIONS.md): {backup.postgres_restore_hint(ctx.url, args.source)}")
    if backend != "sqlite":
        raise ValidationError(f"{backend} is restored with its own tools; nothing was restored.")
    if backup.holds_data(ctx.url) and not args.force:
        raise ValidationError(f"{backup.sqlite_path(ctx.url)} already holds data; add --force to replace it.")
    if args.files:
        if not args.files.is_file():
            raise ValidationError(f"No files archive at {args.files}.")
        backup.check_files_archive(args.files)  # before the database changes: all or nothing
    ctx.engine.dispose()
    size = backup.restore_sqlite(backup=args.source, url=ctx.url)
    print(f"Restored {args.source} to {backup.sqlite_path(ctx.url)} ({size:,} bytes).")
    if args.files:
        count = backup.restore_files(archive=args.files)
        print(f"Restored {count:,} files into the data folder.")
    db.upgrade(ctx.engine)
    ctx.engine.dispose()
    return 0
