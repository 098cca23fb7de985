"""The command API every cli/ module codes against: ``@command(name, help, arg(...))`` on ``cmd_x(args, ctx)``.

Stand-in with the API of the cli package being written in parallel (Context, CLI, arg, command); the merge keeps
that package's version of this file.
"""

import argparse
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Engine

from models.common import Role
from services.core.permissions import Actor
from services.core.startup import StartupReport

CLI = Actor("cli", Role.admin)  # the audit log names command-line changes "cli"


@dataclass(frozen=True)
class Context:
    """What every command gets besides its arguments: the initialised database."""

    engine: Engine
    url: str
    startup: StartupReport


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
