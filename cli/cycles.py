"""Collection cycles: ``open-cycle`` and ``export-questionnaires``.

Malformed arguments (a date that is not YYYY-MM-DD, an unknown language) are refused by argparse with exit code 2;
the rules on the values themselves (due date, countries, names) are the cycle service's.
"""

import argparse
import re
import sys
from datetime import date
from pathlib import Path

from cli.base import CLI, Context, arg, command
from cli.risk import partners_by_risk, risk_band
from models.collection import AssignmentStatus, CycleStatus
from models.common import CRITICALITIES, ENTITY_TYPES, LANGUAGES
from services.collection import cycles, titles
from services.core import db
from services.core.permissions import ValidationError
from services.exports import workbook

_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


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


def _titles(pairs: list[list[str]] | None) -> dict[str, str]:
    """--title LANG TITLE pairs as titles by language; a language given twice is refused."""
    chosen: dict[str, str] = {}
    for language, title in pairs or []:
        language = language.strip().lower()
        if language in chosen:
            raise ValidationError(f"--title: {language} is given twice")
        chosen[language] = title
    return chosen


@command("open-cycle", "Open a questionnaire cycle for all active partners or a chosen part of them.",
         arg("name", metavar="NAME", help='e.g. "2027 annual review"'),
         arg("--due", required=True, type=_due_date, metavar="YYYY-MM-DD", help="due date"),
         arg("--language", choices=list(LANGUAGES), default="en",
             help="questionnaire language of partners without en/es/zh as their own (default: en)"),
         arg("--entity-type", action="append", dest="entity_types", metavar="TYPE",
             help=f"only partners of this entity type, e.g. \"{ENTITY_TYPES[2]}\""),
         arg("--country", action="append", dest="countries", metavar="XX",
             help="only partners in this country (ISO code, e.g. MX)"),
         arg("--criticality", action="append", dest="criticalities", choices=list(CRITICALITIES),
             help="only partners of this criticality"),
         arg("--no-exempt", action="store_true", help="ask certified partners too instead of marking them exempt"),
         arg("--title", nargs=2, action="append", dest="titles", metavar=("LANG", "TITLE"),
             help="what partners read instead of NAME, in one language (en, es or zh), e.g. --title es \"Revisión "
                  "anual 2027\"; repeat for each language. Default: a neutral title in the partner's language"),
         arg("--risk-band", action="append", dest="risk_bands", type=risk_band, metavar="BAND",
             help="only partners whose risk band (active scoring configuration, today) is BAND: High, Medium or Low"),
         arg("--reassessment-due", action="store_true",
             help="only partners whose risk-based reassessment is due within 60 days (MSC 3.7)"))
def cmd_open_cycle(args: argparse.Namespace, ctx: Context) -> int:
    """Open a questionnaire cycle: one questionnaire per chosen active partner. Partners with a valid, verified
    CTPAT or MRA certification start as exempt unless --no-exempt is given. Repeat a filter option to allow several
    values. Partners never see NAME: they see the title for partners in their language (--title), or a neutral
    default."""
    entity_types = _entity_types(args.entity_types)
    partner_titles = _titles(args.titles)
    countries = sorted({c.strip().upper() for c in args.countries}) if args.countries else None
    with db.session_scope(ctx.engine) as session:
        partner_ids = partners_by_risk(session, args.risk_bands, args.reassessment_due)
        cycle = cycles.open_cycle(
            session=session, actor=CLI, name=args.name, due_date=args.due, language=args.language,
            entity_types=entity_types, countries=countries, criticalities=args.criticalities,
            exempt_certified=not args.no_exempt, partner_titles=partner_titles, partner_ids=partner_ids,
        )
        name, due, shown = cycle.name, cycle.due_date, titles.partner_titles(cycle)
        counts = cycles.list_cycles(session=session).set_index("name").loc[name]
    states = ", ".join(f"{counts[s]:,} {s}" for s in cycles.FUNNEL_STATES if counts[s])
    print(f"Opened cycle '{name}' (due {due.isoformat()}) for {counts['partners']:,} partners: {states}.")
    print("Partners see it as: " + "; ".join(f"{language}: {title}" for language, title in shown.items()))
    return 0


@command("export-questionnaires", "Write the Excel questionnaires of a cycle: one file per partner.",
         arg("--cycle", required=True, metavar="NAME"),
         arg("--out", required=True, type=Path, metavar="DIR", help="folder (created when missing)"),
         arg("--single-file", action="store_true", help="all partners in one workbook"),
         arg("--force", action="store_true", help="replace files that already exist"))
def cmd_export_questionnaires(args: argparse.Namespace, ctx: Context) -> int:
    """Write the Excel questionnaires of a cycle into DIR: one file per partner that is not exempt, named after its
    partner code, or with --single-file all partners in one file named after the cycle. Existing files are never
    replaced without --force."""
    out: Path = args.out
    if out.exists() and not out.is_dir():
        raise ValidationError(f"--out: {out} is a file, not a folder.")
    with db.session_scope(ctx.engine) as session:
        cycle = cycles.get_cycle_by_name(session=session, name=args.cycle)
        if cycle is None:
            raise ValidationError(f"No cycle named '{args.cycle}'.")
        states = cycles.funnel(session=session, cycle_id=cycle.id)
        asked = states.loc[states["status"] != AssignmentStatus.exempt, "assignment_id"].astype(int).tolist()
        if args.single_file:
            stem = _UNSAFE_NAME.sub("_", cycle.name).strip("._") or "questionnaires"
            files = {f"{stem}.xlsx": workbook.questionnaire_workbook(session=session, assignment_ids=asked)}
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
    exempt = len(states) - len(asked)
    what = "1 workbook with every partner" if args.single_file else f"{len(files):,} workbooks, one per partner"
    print(f"Wrote {what} of cycle '{name}' to {out}; {exempt:,} exempt partner(s) left out.")
    if closed:
        print(f"Note: cycle '{name}' is closed; answers in these files can no longer be imported.", file=sys.stderr)
    return 0
