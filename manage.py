"""Command line for operators: ``python manage.py <command>``; ``python manage.py --help`` lists the commands.

Every command first brings the database of CTPAT_DATABASE_URL up to date (migrations, reference data, first admin),
then does its work in one transaction. Results go to stdout, notices and errors to stderr. Exit code 0 on success,
2 on invalid input (with a one-line message). Passwords are read from stdin, never taken as arguments, because
arguments show up in ``ps`` and in shell history.

Adding a command: write ``def cmd_x(args, ctx) -> int`` and decorate it with ``@command("x", "help", arg(...))``.
"""

import argparse
import contextlib
import getpass
import json
import secrets
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, OperationalError
from sqlmodel import func, select

import cli_collection
import cli_cycles
from models import Partner
from models.common import Role
from services.core import backup, config, db, startup, users
from services.core.permissions import Actor, PermissionDenied, ValidationError
from services.demo import generator as demo
from services.imports.reader import limits as reader_limits
from services.reports import overview

CLI = Actor("cli", Role.admin)  # the audit log names command-line changes "cli"
DEMO_PARTNERS = 200
DEMO_SEED = 2027


@dataclass(frozen=True)
class Context:
    """What every command gets besides its arguments: the initialised database."""

    engine: Engine
    url: str
    startup: startup.StartupReport


@dataclass(frozen=True)
class Command:
    name: str
    help: str
    run: Callable[[argparse.Namespace, Context], int]
    arguments: tuple[tuple[tuple[str, ...], dict], ...]


COMMANDS: dict[str, Command] = {}


def arg(*names: str, **options) -> tuple[tuple[str, ...], dict]:
    """One argparse argument of a command, as given to ``add_argument``."""
    return names, options


def command(name: str, help: str, *arguments: tuple[tuple[str, ...], dict]):
    """Register the decorated function as the subcommand ``name``."""

    def register(run: Callable[[argparse.Namespace, Context], int]):
        COMMANDS[name] = Command(name, help, run, arguments)
        return run

    return register


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


@command("init-db", "Migrate the database, load reference data and create the first admin.",
         arg("--demo", action="store_true", help=f"also add demo data ({DEMO_PARTNERS} partners) when there are "
                                                 "no partners yet"))
def cmd_init_db(args: argparse.Namespace, ctx: Context) -> int:
    loaded = ", ".join(f"{count} {table}" for table, count in ctx.startup.loaded.items()) or "nothing new"
    print(f"Database {make_url(ctx.url).render_as_string(hide_password=True)} is at the newest schema; "
          f"reference data loaded: {loaded}.")
    if args.demo:
        with db.session_scope(ctx.engine) as session:
            existing = session.exec(select(func.count()).select_from(Partner)).one()
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


def _print_demo(summary: demo.DemoSummary) -> None:
    print(f"Demo data added: {summary.partners} partners, {summary.certifications} certifications, "
          f"{summary.cycles} cycles, {summary.assignments} assignments, {summary.answers} answers.")


@command("seed-demo", "Fill an empty database with a believable demo company.",
         arg("--partners", type=_partner_count, default=DEMO_PARTNERS, metavar="N", help=f"default {DEMO_PARTNERS}"),
         arg("--seed", type=_seed, default=DEMO_SEED, metavar="S", help=f"random seed, default {DEMO_SEED}"))
def cmd_seed_demo(args: argparse.Namespace, ctx: Context) -> int:
    with db.session_scope(ctx.engine) as session:
        existing = session.exec(select(func.count()).select_from(Partner)).one()
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


@command("backup", "Copy the SQLite database into FILE while the app keeps running (PostgreSQL: use pg_dump).",
         arg("--out", required=True, type=Path, metavar="FILE"),
         arg("--force", action="store_true", help="replace FILE when it exists"))
def cmd_backup(args: argparse.Namespace, ctx: Context) -> int:
    backend = make_url(ctx.url).get_backend_name()
    if backend == "postgresql":
        raise ValidationError(f"PostgreSQL is backed up with pg_dump (password from PGPASSWORD or ~/.pgpass): "
                              f"{backup.postgres_hint(ctx.url, args.out)}")
    if backend != "sqlite":
        raise ValidationError(f"No backup for {backend} databases; use that database's own tools.")
    if args.out.exists() and not args.force:
        raise ValidationError(f"{args.out} already exists; choose another file or add --force to replace it.")
    size = backup.backup_sqlite(url=ctx.url, out=args.out)
    print(f"Backed up {backup.sqlite_path(ctx.url)} to {args.out} ({size:,} bytes).")
    return 0


def build_parser() -> argparse.ArgumentParser:
    # No abbreviations: "--password x" must not pass for "--password-stdin".
    parser = argparse.ArgumentParser(prog="manage.py", allow_abbrev=False, description="CTPAT Workbench "
                                     "administration. The database is CTPAT_DATABASE_URL (default: SQLite in "
                                     "CTPAT_DATA_DIR).")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for cmd in COMMANDS.values():
        sub = commands.add_parser(cmd.name, help=cmd.help, description=cmd.help, allow_abbrev=False)
        for names, options in cmd.arguments:
            sub.add_argument(*names, **options)
        sub.set_defaults(run=cmd.run)
    cli_cycles.register(commands)
    cli_collection.register(commands)
    return parser


def _fail(message: str, code: int) -> int:
    print(f"error: {' '.join(message.split())}", file=sys.stderr)
    return code


def main(argv: list[str] | None = None) -> int:
    """Run one command; returns the exit code (0 ok, 1 database unreachable, 2 invalid input)."""
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as done:  # argparse exits 2 on bad arguments (message already printed), 0 after --help
        return done.code if isinstance(done.code, int) else 2
    url = config.database_url()
    try:
        engine = db.make_engine(url)
    except ArgumentError as error:
        return _fail(f"CTPAT_DATABASE_URL is not a usable database URL: {error}", 2)
    try:
        report = startup.initialise(engine=engine, with_demo=False)
        if report.admin_password:
            # A notice, not the command's result: keeps stdout clean for `stats --json | ...`.
            with contextlib.redirect_stdout(sys.stderr):
                startup.announce_admin_password(report.admin_password)
        with reader_limits.command_line():  # imports from the command line may be larger than an upload
            return args.run(args, Context(engine=engine, url=url, startup=report))
    except (ValidationError, PermissionDenied) as error:
        return _fail(str(error), 2)
    except OperationalError as error:
        return _fail(f"database {engine.url.render_as_string(hide_password=True)}: {error.orig}", 1)
    finally:
        engine.dispose()


if __name__ == "__main__":
    sys.exit(main())
