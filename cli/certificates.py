"""Certificates on the command line: ``import-certificates`` and the daily ``check-certificates``.

The import prints the preview (one line per row that changes something, then every problem with file, row,
column, value and message); exit code 2 and nothing written when the file has an error, 0 otherwise (also for
--dry-run, which writes nothing). The check is safe to run from cron as often as wanted.
"""

import argparse
import sys
from pathlib import Path

from cli.base import CLI, Context, arg, command, day, print_problems, write_problems
from services.certificates import monitor
from services.certificates.imports import apply_certificates, preview_certificates
from services.core import db
from services.core.permissions import ValidationError


@command("import-certificates", "Import or update partners' certificates from a CSV/XLSX file (preview, then all "
         "or nothing).",
         arg("file", type=Path, metavar="FILE"),
         arg("--dry-run", action="store_true", help="show the preview only; write nothing"),
         arg("--problems-csv", type=Path, metavar="OUT", help="also write the problems to this CSV"))
def cmd_import_certificates(args: argparse.Namespace, ctx: Context) -> int:
    """Import partners' CTPAT and foreign (AEO-type) certificates from a CSV/XLSX file (format:
    docs/import-formats.md). A row whose partner, program, issuing country and number match a stored certificate
    corrects it; a row with verified_on adds that check; status may end a certificate."""
    if not args.file.is_file():
        raise ValidationError(f"No such file: {args.file}")
    files = [(args.file.name, args.file.read_bytes())]
    with db.session_scope(ctx.engine) as session:
        preview = preview_certificates(session=session, files=files)
        counts = preview.counts
        print(f"Certificates: {counts['new']} new, {counts['update']} updated, {counts['unchanged']} unchanged, "
              f"{counts['error']} rows with errors; {counts['checks']} checks")
        changed = preview.rows[preview.rows["action"] != "unchanged"]
        print(changed.to_string(index=False) if not changed.empty else "(nothing to change)")
        print_problems(preview.problems)
        write_problems(args.problems_csv, preview.problems)
        if preview.has_errors:
            print(f"error: {preview.error_count:,} error(s); nothing was imported. Fix the file and run the command "
                  "again.", file=sys.stderr)
            return 2
        if args.dry_run:
            print("Dry run: nothing was written.")
            return 0
        apply_certificates(session=session, actor=CLI, preview=preview)
    print(f"Imported: {counts['new']} new, {counts['update']} updated certificates, {counts['checks']} checks.")
    return 0


@command("check-certificates", "Record certificates that expired or whose check went stale; partners no longer "
         "covered join the open cycles (run daily from cron).",
         arg("--today", type=day, metavar="YYYY-MM-DD", help="the day to check as (default: today)"))
def cmd_check_certificates(args: argparse.Namespace, ctx: Context) -> int:
    """Mark certificates past their valid-to day expired and record verifications older than the re-check interval
    as stale, each once (the follow-ups read these events); partners no longer covered join the open cycles they
    were exempt from. Running it twice on a day changes nothing the second time."""
    with db.session_scope(ctx.engine) as session:
        report = monitor.sweep(session=session, actor=CLI, today=args.today)
    print(f"Checked certificates: {len(report.expired)} expired, {len(report.stale)} verifications stale, "
          f"{len(report.joined)} partners joined an open cycle.")
    return 0

