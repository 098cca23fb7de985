"""The company's own Security Profile self-assessment from the command line."""

import argparse
from pathlib import Path

from cli.base import Context, arg, command
from services.core import db
from services.core.permissions import ValidationError
from services.selfassessment import export


@command("self-assessment", "Export the company's Security Profile self-assessment in the portal's order.",
         arg("action", choices=["export"], help="export: write the XLSX workbook or the PDF"),
         arg("--out", required=True, type=Path, metavar="FILE", help="FILE.xlsx or FILE.pdf"),
         arg("--force", action="store_true", help="replace the file when it exists"))
def cmd_self_assessment(args: argparse.Namespace, ctx: Context) -> int:
    """Write the self-assessment (category, criterion id, text, then status, narrative, owner, evidence and last
    review) to FILE.xlsx (a workbook for people: Summary, Self-assessment, Eligibility) or FILE.pdf (printable). An
    existing file is never replaced without --force."""
    out: Path = args.out
    kind = out.suffix.lower()
    if kind not in (".xlsx", ".pdf"):
        raise ValidationError(f"--out: {out} must end in .xlsx or .pdf.")
    if out.exists() and not args.force:
        raise ValidationError(f"--out: {out} already exists; nothing was written. Add --force to replace it.")
    if not out.parent.is_dir():
        raise ValidationError(f"--out: the folder {out.parent} does not exist.")
    with db.session_scope(ctx.engine) as session:
        data = (export.workbook_bytes if kind == ".xlsx" else export.pdf_bytes)(session=session)
        counts = export.assessment.self_assessment_status(session=session)
    out.write_bytes(data)
    print(f"Wrote the self-assessment ({counts['entity_type']}, {counts['criteria']} criteria; "
          f"{counts['must_without_narrative']} must criteria without a narrative) to {out}.")
    return 0
