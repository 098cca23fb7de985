"""Command line for operators: ``python manage.py <command>``; ``python manage.py --help`` lists the commands.

Every command first brings the database of CTPAT_DATABASE_URL up to date (migrations, reference data, first admin),
then does its work in one transaction. Results go to stdout, notices and errors to stderr. Exit code 0 on success,
1 when the database cannot be reached, 2 on invalid input (with a one-line message). Passwords are read from stdin,
never taken as arguments, because arguments show up in ``ps`` and in shell history.

The commands live in the modules of this package (see cli/base.py for how one is added); every module is imported
here, so a new file with ``@command`` functions needs no other change.
"""

import argparse
import contextlib
import importlib
import pkgutil
import sys

from sqlalchemy.exc import ArgumentError, OperationalError

from cli.base import COMMANDS, Context
from services.core import config, db, startup
from services.core.permissions import PermissionDenied, ValidationError
from services.imports.reader import limits as reader_limits


def _load_commands() -> None:
    for module in pkgutil.iter_modules(__path__):
        if module.name != "base":
            importlib.import_module(f"{__name__}.{module.name}")


def build_parser() -> argparse.ArgumentParser:
    """The parser of every registered command; the chosen command's handler is in ``args.run``."""
    _load_commands()
    # No abbreviations: "--password x" must not pass for "--password-stdin".
    parser = argparse.ArgumentParser(prog="manage.py", allow_abbrev=False, description="CTPAT Workbench "
                                     "administration. The database is CTPAT_DATABASE_URL (default: SQLite in "
                                     "CTPAT_DATA_DIR).")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for cmd in sorted(COMMANDS.values(), key=lambda c: c.name):
        sub = commands.add_parser(cmd.name, help=cmd.help, description=cmd.description, allow_abbrev=False)
        for names, options in cmd.arguments:
            sub.add_argument(*names, **options)
        sub.set_defaults(run=cmd.run, prepares_database=cmd.prepares_database)
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
        if not args.prepares_database:
            return args.run(args, Context(engine=engine, url=url, startup=None))
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
