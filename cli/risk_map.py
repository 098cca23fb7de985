"""Risk assessment steps 1 and 2 from the command line: lanes, threat files, restricted-party screening.

Each command previews first (counts, then every problem with file, row, column, value and message). Exit code 2
and nothing written when the file has an error or the options are wrong; 0 otherwise, also for --dry-run, which
writes nothing.
"""

import argparse
import sys
from datetime import date
from pathlib import Path

from cli.base import CLI, Context, arg, command, print_problems, table_text, write_problems
from models.threats import ThreatCategory
from services.core import db
from services.core.permissions import ValidationError
from services.lanes import imports as lane_import
from services.screening import lists
from services.threats import imports as threat_import

DRY_RUN = arg("--dry-run", action="store_true", help="show the preview only; write nothing")
PROBLEMS = arg("--problems-csv", type=Path, metavar="OUT", help="also write the problems to this CSV")


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a date (YYYY-MM-DD)") from None


def _read(path: Path) -> bytes:
    if not path.is_file():
        raise ValidationError(f"No such file: {path}")
    return path.read_bytes()




def _refuse(errors: int) -> int:
    print(f"error: {errors:,} error(s); nothing was imported. Fix the file and run the command again.",
          file=sys.stderr)
    return 2


@command("import-lanes", "Import cargo-flow lanes from a CSV/XLSX file (one row per node; all or nothing).",
         arg("file", type=Path, metavar="FILE"), DRY_RUN, PROBLEMS)
def cmd_import_lanes(args: argparse.Namespace, ctx: Context) -> int:
    """Preview a lane file, then import it unless it has errors or --dry-run is given."""
    data = _read(args.file)
    with db.session_scope(ctx.engine) as session:
        preview = lane_import.preview_lanes(session=session, filename=args.file.name, data=data)
        counts = preview.counts
        print(f"Lanes: {counts['new']} new, {counts['replace']} replaced, {counts['unchanged']} unchanged, "
              f"{counts['error']} with errors")
        print(table_text(preview.lanes))
        print_problems(preview.problems)
        write_problems(args.problems_csv, preview.problems)
        if preview.has_errors:
            return _refuse(preview.error_count)
        if args.dry_run:
            print("Dry run: nothing was written.")
            return 0
        lane_import.apply_lanes(session=session, actor=CLI, preview=preview)
    print(f"Imported: {counts['new']} new and {counts['replace']} replaced lanes.")
    return 0


def _mapping(args: argparse.Namespace, preview: threat_import.ThreatFilePreview) -> dict:
    if args.high is not None or args.medium is not None:
        if args.high is None or args.medium is None:
            raise ValidationError("Give both --high and --medium for a numeric index.")
        return {"kind": "numeric", "higher_is_worse": not args.lower_is_worse, "high": args.high,
                "medium": args.medium}
    if args.map:
        levels = {}
        for item in args.map:
            value, _, level = item.rpartition("=")
            if not value or level.capitalize() not in ("High", "Medium", "Low"):
                raise ValidationError(f"--map '{item}': write VALUE=High, VALUE=Medium or VALUE=Low")
            levels[value] = level.capitalize()
        missing = [v for v in preview.distinct if v not in levels]
        if missing:
            raise ValidationError(f"--map gives no level for: {', '.join(missing[:10])}")
        return {"kind": "categorical", "levels": levels}
    return preview.proposed


@command("import-threats", "Import threat ratings (a register file) or an index with its mapping to High/Medium/Low.",
         arg("file", type=Path, metavar="FILE"),
         arg("--name", help="name of the index (default: the file name)"),
         arg("--category", action="append", choices=[c.value for c in ThreatCategory], metavar="CATEGORY",
             help="a category the index feeds (repeat for several): " + ", ".join(c.value for c in ThreatCategory)),
         arg("--high", type=float, help="numeric index: values from here on are High"),
         arg("--medium", type=float, help="numeric index: values from here on are Medium"),
         arg("--lower-is-worse", action="store_true", help="numeric index: lower values are worse (e.g. CPI)"),
         arg("--map", action="append", metavar="VALUE=LEVEL", help="text index: the level of a value (repeat)"),
         arg("--publisher", default=""), arg("--licence", default="", help="the licence under which you use it"),
         arg("--citation", default=""), arg("--as-of", type=_date, metavar="YYYY-MM-DD"),
         DRY_RUN, PROBLEMS)
def cmd_import_threats(args: argparse.Namespace, ctx: Context) -> int:
    """Preview a register or index file, then import it unless it has errors or --dry-run is given."""
    data = _read(args.file)
    with db.session_scope(ctx.engine) as session:
        preview = threat_import.preview_threat_file(session=session, filename=args.file.name, data=data)
        kind = {"register": "register file", "index": "index file"}.get(preview.kind, "unreadable file")
        print(f"{args.file.name}: {kind}, {len(preview.rows)} rows")
        print_problems(preview.problems)
        write_problems(args.problems_csv, preview.problems)
        if preview.has_errors:
            return _refuse(preview.error_count)
        options: dict = {"as_of": args.as_of}
        if preview.kind == "index":
            mapping = _mapping(args, preview)
            threat_import.check_mapping(mapping, args.category or [])
            levels = preview.levels(mapping).fillna("no level").value_counts()
            print("Levels: " + ", ".join(f"{levels[level]} {level}" for level in ("High", "Medium", "Low", "no level")
                                         if level in levels))
            options |= {"name": args.name or args.file.stem, "categories": args.category, "mapping": mapping,
                        "publisher": args.publisher, "licence": args.licence, "citation": args.citation}
        if args.dry_run:
            print("Dry run: nothing was written.")
            return 0
        record = threat_import.apply_threat_file(session=session, actor=CLI, preview=preview, **options)
    print(f"Imported {record.rows} rows from {args.file.name}.")
    return 0


@command("screen-partners", "Load a restricted-party list (e.g. the UFLPA Entity List) and screen all partners.",
         arg("file", type=Path, metavar="LIST_FILE"),
         arg("--name", default="UFLPA Entity List", help="the list's name; a list loaded under it is replaced"),
         arg("--publisher", default=""), arg("--citation", default="", help="where the file was downloaded"),
         arg("--as-of", type=_date, metavar="YYYY-MM-DD"), DRY_RUN, PROBLEMS)
def cmd_screen_partners(args: argparse.Namespace, ctx: Context) -> int:
    """Preview a list file and the matches it gives, then load it and record the matches for review."""
    data = _read(args.file)
    with db.session_scope(ctx.engine) as session:
        preview = lists.read_list(session=session, filename=args.file.name, data=data)
        print(f"{args.file.name}: {len(preview.entries)} entries; {len(preview.matches)} partner match(es)")
        print(table_text(preview.matches))
        print_problems(preview.problems)
        write_problems(args.problems_csv, preview.problems)
        if preview.has_errors:
            return _refuse(preview.error_count)
        if args.dry_run:
            print("Dry run: nothing was written.")
            return 0
        lists.apply_list(session=session, actor=CLI, preview=preview, name=args.name, publisher=args.publisher,
                         citation=args.citation, as_of=args.as_of or date.today())
        waiting = lists.open_match_count(session=session)
    print(f"Loaded {args.name}; {waiting} match(es) wait for an analyst's decision (Screening page).")
    return 0
