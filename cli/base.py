"""What every command shares: the registration decorator, the context it runs in and the CLI's audit identity.

Adding a command: in any module of this package, write ``def cmd_x(args, ctx) -> int`` and decorate it with
``@command("x", "one-line help", arg("--flag", ...), ...)``. The function's docstring, when it has one, is the
command's longer description in ``--help``. A command calls services only (no SQL here), raises ValidationError
for invalid input (printed as one line, exit code 2) and returns its exit code.
"""

import argparse
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pandas as pd
from sqlalchemy import Engine

from models.common import Role
from services.core import startup
from services.core.permissions import Actor
from services.imports.reader import problems_csv

CLI = Actor("cli", Role.admin)  # the audit log names command-line changes "cli"


@dataclass(frozen=True)
class Context:
    """What every command gets besides its arguments: the initialised database."""

    engine: Engine
    url: str
    startup: startup.StartupReport | None


Argument = tuple[tuple[str, ...], dict]
Handler = Callable[[argparse.Namespace, Context], int]


@dataclass(frozen=True)
class Command:
    name: str
    help: str
    run: Handler
    arguments: tuple[Argument, ...]
    prepares_database: bool = True  # False: the command gets the database as it is (restore writes it whole)

    @property
    def description(self) -> str:
        return " ".join((self.run.__doc__ or self.help).split())


COMMANDS: dict[str, Command] = {}


def day(text: str) -> date:
    """An argparse type for a day written YYYY-MM-DD; a clear message (exit 2) otherwise."""
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a date; write it as YYYY-MM-DD") from None


def table_text(frame: pd.DataFrame) -> str:
    """A preview table as plain text; "(none)" when it is empty."""
    return frame.to_string(index=False) if not frame.empty else "(none)"


def print_problems(problems: pd.DataFrame) -> None:
    """An import's problems, one line each with file, row and column, after a count of errors and warnings."""
    errors = int((problems["severity"] == "error").sum())
    print(f"\nProblems: {errors} error(s), {len(problems) - errors} warning(s)")
    for p in problems.itertuples():
        row = "" if pd.isna(p.row) else f"row {p.row}"
        where = ", ".join(part for part in (p.file, row, p.column and f"column {p.column}") if part)
        value = f" [{p.value}]" if p.value else ""
        print(f"  {p.severity}: {where}{value}: {p.message}")


def write_problems(path: Path | None, problems: pd.DataFrame) -> None:
    """The problems as a CSV (neutralised against formulas) at `path`, when one was asked for."""
    if path is not None:
        path.write_bytes(problems_csv(problems))
        print(f"Problems written to {path}.")


def arg(*names: str, **options) -> Argument:
    """One argparse argument of a command, as given to ``add_argument``."""
    return names, options


def command(name: str, help: str, *arguments: Argument, prepares_database: bool = True
            ) -> Callable[[Handler], Handler]:
    """Register the decorated function as the subcommand ``name``; with ``prepares_database=False`` the database
    is neither migrated nor initialised first (Context.startup is None)."""

    def register(run: Handler) -> Handler:
        if name in COMMANDS and _origin(COMMANDS[name].run) != _origin(run):
            raise RuntimeError(f"Two commands are called '{name}'.")
        COMMANDS[name] = Command(name, help, run, arguments, prepares_database)
        return run

    return register


def _origin(run: Handler) -> str:
    return f"{run.__module__}.{run.__qualname__}"
