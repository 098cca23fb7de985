"""The validation pack on the command line: ``export-pack``."""

import argparse
import sys
from datetime import date
from pathlib import Path

from cli.base import CLI, Context, arg, command, day
from services.core import db
from services.reports import pack


@command("export-pack", "Write the validation pack (workbook, PDF summary, evidence files) to a ZIP file.",
         arg("--out", type=Path, required=True, metavar="FILE.zip", help="the ZIP file to write (replaced when done)"),
         arg("--since", type=day, metavar="DATE",
             help="limit certificate checks, evidence files, the audit extract and cycles to those from this date"),
         arg("--as-of", type=day, metavar="DATE", help="the day the pack describes (default: today)"),
         arg("--quiet", action="store_true", help="no progress lines"))
def cmd_export_pack(args: argparse.Namespace, ctx: Context) -> int:
    """Write the validation pack for CBP's validation: a workbook for people (one sheet per section), a PDF for
    management and the evidence files the workbook names, in one ZIP written straight to disk. The same data gives
    the same file. The export is recorded in the audit trail."""
    today = args.as_of or date.today()

    def progress(fraction: float, what: str) -> None:
        if not args.quiet:
            print(f"{fraction:4.0%} {what}", file=sys.stderr, flush=True)

    with db.session_scope(ctx.engine) as session:
        summary = pack.build_pack(session=session, out=args.out, today=today, since=args.since, progress=progress)
        pack.record_export(session=session, actor=CLI, summary=summary, since=args.since)
    print(f"Wrote {summary.path} ({summary.size_bytes:,} bytes): "
          + ", ".join(f"{sheet} {rows:,}" for sheet, rows in summary.rows.items())
          + f"; {summary.evidence_files:,} evidence files.")
    for member in summary.missing_files:
        print(f"warning: evidence file {member} is missing from the evidence store or damaged; not in the pack",
              file=sys.stderr)
    if summary.font_note:
        print(f"note: {summary.font_note}", file=sys.stderr)
    return 0
