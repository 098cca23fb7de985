"""The validation pack: one ZIP with a workbook for people, a PDF for management and the evidence files.

Built straight into a file on disk (never in memory: with evidence it can be hundreds of MB): the workbook is
streamed into its ZIP entry sheet by sheet (services.reports.pack.workbook), the PDF follows, then each evidence
file the workbook names, copied in blocks. The file appears under its final name only when complete. Every entry
carries the pack's one timestamp (midnight UTC of the day it is as of), so the same data gives the same bytes.

The content comes from the sections (services.reports.pack.sections): adding a section is adding one module there.
"""

import hashlib
import os
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from sqlmodel import Session

from services.collection.evidence import evidence_path
from services.company import profile as company
from services.core import audit
from services.core.permissions import Actor, PermissionDenied, ValidationError
from services.reports.pack.base import PackContext, Section
from services.reports.pack.sections import SECTIONS
from services.reports.pack.workbook import write_workbook

WORKBOOK = "validation-pack.xlsx"
PDF = "validation-summary.pdf"
README = "README.txt"
CHECKSUMS = "evidence/SHA256SUMS.txt"
_BLOCK = 1 << 20

Progress = Callable[[float, str], None]


@dataclass
class PackSummary:
    path: Path
    size_bytes: int
    rows: dict[str, int]  # sheet -> data rows
    evidence_files: int
    missing_files: list[str] = field(default_factory=list)  # pack members whose bytes were not in the store
    font_note: str = ""


def default_name(today: date) -> str:
    return f"validation-pack-{today.isoformat()}.zip"


def may_build(actor: Actor) -> bool:
    """Admins and analysts build and download the pack; viewers neither (it holds the audit extract: who changed
    what, with the values before and after)."""
    return actor.can_write


def _info(name: str, ctx: PackContext, compress: int = zipfile.ZIP_DEFLATED) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=ctx.as_of.timetuple()[:6])
    info.compress_type = compress
    info.external_attr = 0o644 << 16
    return info


def _title(ctx: PackContext) -> tuple[str, str]:
    profile = company.get_profile(session=ctx.session)
    name = profile.legal_name if profile else "Company profile not entered"
    return name, f"CTPAT validation pack · {name}"


def _readme(ctx: PackContext, sections: list[Section], counts: dict[str, int]) -> str:
    lines = [
        "CTPAT validation pack", "", f"As of {ctx.today.isoformat()}" + (
            f"; dated logs (certificate checks, evidence files, audit extract) and cycles due from "
            f"{ctx.since.isoformat()}" if ctx.since else ""), "",
        f"{WORKBOOK}  the records, one sheet per section (the About sheet lists them)",
        f"{PDF}  the summary for management: key figures, charts, cargo-flow map",
        "evidence/  the evidence files the workbook names (Evidence index sheet); SHA256SUMS.txt to check them", "",
        "Sheets:",
    ]
    lines += [f"  {s.sheet}: {counts.get(s.sheet, 0):,} rows" for s in sections]
    return "\r\n".join(lines) + "\r\n"


def _about(ctx: PackContext, company_name: str, sections: list[Section], note: str):
    def lines(counts: dict[str, int]) -> list[tuple[str, str, str, str]]:
        out = [("title", "CTPAT validation pack", "", ""), ("text", "", "", ""),
               ("heading", "Company", "", company_name), ("heading", "As of", "", ctx.today.isoformat()),
               ("heading", "Dated logs from", "", ctx.since.isoformat() if ctx.since else "the beginning"),
               ("text", "", "", ""), ("heading", "Sheet", "Rows", "What it holds")]
        out += [("text", s.sheet, f"{counts.get(s.sheet, 0):,}", s.description) for s in sections]
        out += [("text", "", "", ""), ("text", "Note", "", "Text typed by partners or staff is shown as typed: a "
                 "cell starting with = + - @ is text, never a formula. Times are UTC.")]
        if note:
            out.append(("text", "PDF", "", note))
        return out
    return lines


def _pdf(ctx: PackContext, sections: list[Section], company_name: str, title: str, counts: dict[str, int],
         stream) -> str:
    # fpdf and its font tools cost the server some 30 MB: imported when the first pack is built, not with the page
    from services.reports.pack.pdf import PdfReport

    report = PdfReport(title=title, created=ctx.as_of)
    report.page()
    report.pdf.ln(25)
    report.paragraph("CTPAT validation pack", size=24, bold=True)
    report.paragraph(company_name, size=16)
    report.pdf.ln(4)
    profile = company.get_profile(session=ctx.session)
    if profile:
        report.paragraph(f"{profile.entity_type} · {profile.tier} · CTPAT account "
                         f"{profile.ctpat_account_number or 'Unknown'}", size=11)
    report.paragraph(f"As of {ctx.today.isoformat()}" + (f" · dated logs from {ctx.since.isoformat()}"
                                                         if ctx.since else ""), size=11)
    report.pdf.ln(6)
    report.paragraph("Contents: key figures; one part per area with data (self-assessment, business partners, "
                     "questionnaires, cargo flow, risk assessment, action plan). The records behind every figure "
                     "are in validation-pack.xlsx in the same ZIP, the evidence files under evidence/.", size=10)
    if report.font.note:
        report.paragraph("Note: " + report.font.note, size=9)
    figures = [item for s in sections if s.figures for item in s.figures(ctx)]
    figures.append(("Evidence files in the pack", f"{len(ctx.files):,}"))
    report.heading("Key figures")
    report.figures(figures)
    report.paragraph("Where data is missing, the figure says Unknown or is left out; nothing is estimated.", size=8)
    for section in sections:
        if section.pdf:
            section.pdf(ctx, report)
    report.output(stream)
    return report.font.note


def build_pack(*, session: Session, out: Path, today: date, since: date | None = None,
               progress: Progress | None = None, sections: list[Section] | None = None) -> PackSummary:
    """Write the validation pack to `out` (a .zip), replacing it only once complete.

    `since` limits the dated logs (certificate checks, evidence files, audit extract) and the cycles (due on or
    after it). `progress(fraction, what)` is told as the pack is built. Raises ValidationError for a `since` after
    `today` or an output folder that does not exist.
    """
    if since and since > today:
        raise ValidationError(f"--since {since.isoformat()} is after the pack's day {today.isoformat()}")
    out = Path(out)
    if not out.parent.is_dir():
        raise ValidationError(f"The folder {out.parent} does not exist")
    sections = list(SECTIONS if sections is None else sections)
    ctx = PackContext(session=session, today=today, since=since)
    company_name, title = _title(ctx)
    steps = len(sections) + 3
    done = [0]

    def step(what: str) -> None:
        if progress:
            progress(min(done[0] / steps, 1.0), what)
        done[0] += 1

    partial = out.with_name(out.name + ".part")
    missing: list[str] = []
    try:
        with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED, allowZip64=True) as pack:
            with pack.open(_info(WORKBOOK, ctx, zipfile.ZIP_STORED), "w", force_zip64=True) as stream:
                counts = write_workbook(stream, sections=sections, ctx=ctx, title=title,
                                        about=_about(ctx, company_name, sections, ""), progress=step)
            step("PDF summary")
            with pack.open(_info(PDF, ctx), "w", force_zip64=True) as stream:
                note = _pdf(ctx, sections, company_name, title, counts, stream)
            step("Evidence files")
            sums = []
            for member, (sha256, _name) in sorted(ctx.files.items()):
                source = evidence_path(sha256)
                if not source.is_file():
                    missing.append(member)
                    continue
                digest = hashlib.sha256()
                with source.open("rb") as data, pack.open(_info(member, ctx), "w", force_zip64=True) as target:
                    while block := data.read(_BLOCK):
                        digest.update(block)
                        target.write(block)
                sums.append(f"{digest.hexdigest()}  {member.removeprefix('evidence/')}")
                if digest.hexdigest() != sha256:
                    missing.append(member)
            if sums:
                pack.writestr(_info(CHECKSUMS, ctx), "\n".join(sums) + "\n")
            pack.writestr(_info(README, ctx), _readme(ctx, sections, counts))
        os.replace(partial, out)
    finally:
        partial.unlink(missing_ok=True)
    step("Done")
    return PackSummary(path=out, size_bytes=out.stat().st_size, rows=counts,
                       evidence_files=len(ctx.files) - len(missing), missing_files=missing, font_note=note)


def record_export(*, session: Session, actor: Actor, summary: PackSummary, since: date | None) -> None:
    """The audit event of a pack export (who took which data out, and when); the caller commits."""
    if not may_build(actor):
        raise PermissionDenied("Only admins and analysts export the validation pack.")
    audit.record(session=session, actor=actor, action="export", entity="validation pack",
                 summary=f"Exported the validation pack {summary.path.name} ({summary.size_bytes:,} bytes, "
                         f"{summary.evidence_files:,} evidence files" + (f", from {since.isoformat()}" if since
                                                                         else "") + ")",
                 after={"rows": summary.rows, "evidence_files": summary.evidence_files})
