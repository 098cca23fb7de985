"""File imports of partners and questionnaire answers: ``import-partners`` and ``import-responses``.

Both print the preview (counts per partner or per row, then every problem with file, row, column, value and
message). Exit code 2 and nothing written when any file has an error; 0 otherwise (also for --dry-run, which
writes nothing).
"""

import argparse
import sys
from pathlib import Path

from cli.base import CLI, Context, arg, command, print_problems, table_text, write_problems
from services.collection import cycles
from services.core import db
from services.core.permissions import ValidationError
from services.imports.answers import apply_responses, preview_responses
from services.imports.partners import apply_partners, preview_partners

DRY_RUN = arg("--dry-run", action="store_true", help="show the preview only; write nothing")
PROBLEMS_CSV = arg("--problems-csv", type=Path, metavar="OUT", help="also write the problems to this CSV")
SHOWN_ROWS = 1_000


@command("import-partners", "Import or update partners from a CSV/XLSX file (preview, then all or nothing).",
         arg("file", type=Path, metavar="FILE"), DRY_RUN, PROBLEMS_CSV)
def cmd_import_partners(args: argparse.Namespace, ctx: Context) -> int:
    """Import or update partners from a CSV/XLSX file. Rows with an existing partner code update that partner;
    possible duplicates are listed and skipped."""
    files = _read_files([args.file])
    with db.session_scope(ctx.engine) as session:
        preview = preview_partners(session=session, files=files)
        _print_partner_preview(preview)
        write_problems(args.problems_csv, preview.problems)
        if preview.has_errors:
            return _refuse(preview.error_count)
        if args.dry_run:
            print("Dry run: nothing was written.")
            return 0
        apply_partners(session=session, actor=CLI, preview=preview)
    counts = preview.counts
    print(f"Imported: {counts['new']} new, {counts['update']} updated partners.")
    return 0


@command("import-responses", "Import questionnaire answers from CSV/XLSX files (long or wide form).",
         arg("files", type=Path, nargs="+", metavar="FILE"),
         arg("--cycle", metavar="NAME", help="cycle name (default: the newest open cycle)"),
         DRY_RUN, PROBLEMS_CSV)
def cmd_import_responses(args: argparse.Namespace, ctx: Context) -> int:
    """Import questionnaire answers from CSV/XLSX files into a cycle (default: the newest open one). All files are
    one transaction: any error in any file and nothing is written."""
    files = _read_files(args.files)
    with db.session_scope(ctx.engine) as session:
        cycle = (cycles.get_cycle_by_name(session=session, name=args.cycle) if args.cycle
                 else cycles.latest_open_cycle(session=session))
        if cycle is None:
            raise ValidationError(f"No cycle named '{args.cycle}'." if args.cycle else "There is no open cycle.")
        preview = preview_responses(session=session, files=files, cycle_id=cycle.id)
        _print_response_preview(preview)
        write_problems(args.problems_csv, preview.problems)
        if preview.has_errors:
            return _refuse(preview.error_count)
        if args.dry_run:
            print("Dry run: nothing was written.")
            return 0
        apply_responses(session=session, actor=CLI, preview=preview)
    totals = preview.totals
    print(f"Imported into '{preview.cycle_name}': {totals['new']} new and {totals['changed']} changed answers.")
    return 0


def _read_files(paths: list[Path]) -> list[tuple[str, bytes]]:
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        raise ValidationError(f"No such file: {', '.join(missing)}")
    return [(p.name, p.read_bytes()) for p in paths]


def _refuse(errors: int) -> int:
    print(f"error: {errors:,} error(s); nothing was imported. Fix the file(s) and run the command again.",
          file=sys.stderr)
    return 2





def _print_response_preview(preview) -> None:
    print(f"Cycle: {preview.cycle_name}")
    print(table_text(preview.files_frame))
    print("\nAnswers per partner:")
    print(table_text(preview.summary))
    print_problems(preview.problems)


def _print_partner_preview(preview) -> None:
    counts = preview.counts
    print(f"Partners: {counts['new']} new, {counts['update']} updated, {counts['unchanged']} unchanged, "
          f"{counts['duplicate']} possible duplicates (skipped), {counts['error']} rows with errors")
    shown = preview.rows[preview.rows["action"] != "unchanged"]
    print(table_text(shown.head(SHOWN_ROWS)))  # all of a million rows would take a GB to format
    if len(shown) > SHOWN_ROWS:
        print(f"... and {len(shown) - SHOWN_ROWS:,} more rows (every problem is listed below).")
    print_problems(preview.problems)
