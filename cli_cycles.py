"""Command-line cycles: ``manage.py open-cycle`` and ``manage.py export-questionnaires``.

``register(subparsers)`` adds both commands to manage.py's parser. Each handler is ``cmd_x(args, ctx) -> int``
like manage.py's own commands (``ctx`` is manage.Context; only ``ctx.engine`` is used) and is stored in
``args.run``. As there, invalid input raises ValidationError, which manage.main prints as one line with exit code
2; malformed arguments (a date that is not YYYY-MM-DD, an unknown language) are refused by argparse, also with 2.
"""

import argparse
import re
import sys
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from sqlmodel import func, select

from models import Assignment
from models.collection import AssignmentStatus, CycleStatus
from models.common import CRITICALITIES, ENTITY_TYPES, LANGUAGES, Role
from services.collection import cycles
from services.core import db
from services.core.permissions import Actor, ValidationError
from services.exports import workbook

if TYPE_CHECKING:
    from manage import Context

CLI = Actor("cli", Role.admin)  # the audit log names command-line changes "cli"
_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add open-cycle and export-questionnaires to a parser's subcommands (handler in ``args.run``)."""
    opening = subparsers.add_parser(
        "open-cycle", help="Open a questionnaire cycle for all active partners or a chosen part of them.",
        description="Open a questionnaire cycle: one questionnaire per chosen active partner. Partners with a "
                    "valid, verified CTPAT or MRA certification start as exempt unless --no-exempt is given. "
                    "Repeat a filter option to allow several values.", allow_abbrev=False)
    opening.add_argument("name", metavar="NAME", help='e.g. "2027 annual review"')
    opening.add_argument("--due", required=True, type=_due_date, metavar="YYYY-MM-DD", help="due date")
    opening.add_argument("--language", choices=list(LANGUAGES), default="en",
                         help="questionnaire language of partners without en/es/zh as their own (default: en)")
    opening.add_argument("--entity-type", action="append", dest="entity_types", metavar="TYPE",
                         help=f"only partners of this entity type, e.g. \"{ENTITY_TYPES[2]}\"")
    opening.add_argument("--country", action="append", dest="countries", metavar="XX",
                         help="only partners in this country (ISO code, e.g. MX)")
    opening.add_argument("--criticality", action="append", dest="criticalities", choices=list(CRITICALITIES),
                         help="only partners of this criticality")
    opening.add_argument("--no-exempt", action="store_true",
                         help="ask certified partners too instead of marking them exempt")
    opening.set_defaults(run=cmd_open_cycle)

    export = subparsers.add_parser(
        "export-questionnaires", help="Write the Excel questionnaires of a cycle: one file per partner.",
        description="Write the Excel questionnaires of a cycle into DIR: one file per partner that is not exempt, "
                    "named after its partner code, or with --single-file all partners in one file named after the "
                    "cycle. Existing files are never replaced without --force.", allow_abbrev=False)
    export.add_argument("--cycle", required=True, metavar="NAME")
    export.add_argument("--out", required=True, type=Path, metavar="DIR", help="folder (created when missing)")
    export.add_argument("--single-file", action="store_true", help="all partners in one workbook")
    export.add_argument("--force", action="store_true", help="replace files that already exist")
    export.set_defaults(run=cmd_export_questionnaires)


def _due_date(text: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a date; write it as YYYY-MM-DD, e.g. 2027-03-31") from None


def _entity_types(chosen: list[str] | None) -> list[str] | None:
    """The chosen entity types in their official spelling (any case); unknown ones are refused."""
    if not chosen:
        return None
    official = {name.casefold(): name for name in ENTITY_TYPES}
    unknown = [name for name in chosen if name.strip().casefold() not in official]
    if unknown:
        raise ValidationError(f"--entity-type: unknown '{unknown[0]}'; choose from: {', '.join(ENTITY_TYPES)}")
    return [official[name.strip().casefold()] for name in chosen]


def cmd_open_cycle(args: argparse.Namespace, ctx: "Context") -> int:
    """Open the cycle and print how many questionnaires start in each state."""
    entity_types = _entity_types(args.entity_types)
    countries = sorted({c.strip().upper() for c in args.countries}) if args.countries else None
    with db.session_scope(ctx.engine) as session:
        cycle = cycles.open_cycle(
            session=session, actor=CLI, name=args.name, due_date=args.due, language=args.language,
            entity_types=entity_types, countries=countries, criticalities=args.criticalities,
            exempt_certified=not args.no_exempt,
        )
        counts = dict(session.exec(select(Assignment.status, func.count()).where(Assignment.cycle_id == cycle.id)
                                   .group_by(Assignment.status)).all())
        name, due = cycle.name, cycle.due_date
    states = ", ".join(f"{counts[s]:,} {s}" for s in cycles.FUNNEL_STATES if counts.get(s))
    print(f"Opened cycle '{name}' (due {due.isoformat()}) for {sum(counts.values()):,} partners: {states}.")
    return 0


def cmd_export_questionnaires(args: argparse.Namespace, ctx: "Context") -> int:
    """Write the cycle's questionnaires into --out; refuses to replace existing files without --force."""
    out: Path = args.out
    if out.exists() and not out.is_dir():
        raise ValidationError(f"--out: {out} is a file, not a folder.")
    with db.session_scope(ctx.engine) as session:
        cycle = cycles.get_cycle_by_name(session=session, name=args.cycle)
        if cycle is None:
            raise ValidationError(f"No cycle named '{args.cycle}'.")
        statuses = session.exec(select(Assignment.id, Assignment.status).where(Assignment.cycle_id == cycle.id)).all()
        if args.single_file:
            stem = _UNSAFE_NAME.sub("_", cycle.name).strip("._") or "questionnaires"
            files = {f"{stem}.xlsx": workbook.questionnaire_workbook(session=session,
                                                                     assignment_ids=[i for i, _ in statuses])}
        else:
            files = workbook.cycle_workbooks(session=session, cycle_id=cycle.id)
        name, closed = cycle.name, cycle.status != CycleStatus.open
    existing = sorted(file_name for file_name in files if (out / file_name).exists())
    if existing and not args.force:
        raise ValidationError(f"{len(existing)} of the files already exist in {out} (e.g. {existing[0]}); nothing "
                              "was written. Choose another folder or add --force to replace them.")
    out.mkdir(parents=True, exist_ok=True)
    for file_name, data in files.items():
        (out / file_name).write_bytes(data)
    exempt = sum(1 for _, status in statuses if status == AssignmentStatus.exempt)
    what = "1 workbook with every partner" if args.single_file else f"{len(files):,} workbooks, one per partner"
    print(f"Wrote {what} of cycle '{name}' to {out}; {exempt:,} exempt partner(s) left out.")
    if closed:
        print(f"Note: cycle '{name}' is closed; answers in these files can no longer be imported.", file=sys.stderr)
    return 0
