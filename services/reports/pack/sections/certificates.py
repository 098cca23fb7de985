"""Partners' certificates and whether each counts on the pack's day (services.certificates.rule), with the basis."""

import pandas as pd
from sqlmodel import col, select

from models import Certificate, Partner
from services.certificates import rule
from services.reports.pack.base import Column, Kind, PackContext, Section, chunked


def certificates(ctx: PackContext) -> pd.DataFrame:
    def load() -> pd.DataFrame:
        results = rule.counts_on(session=ctx.session, day=ctx.today)
        if results.empty:
            return results
        found = ctx.session.exec(
            select(Certificate.id, Partner.partner_code, Partner.legal_name, Certificate.evidence_sha256,
                   Certificate.evidence_filename, Certificate.notes)
            .join(Partner, col(Partner.id) == Certificate.partner_id)).all()
        extra = pd.DataFrame([tuple(r) for r in found], columns=["certificate_id", "partner_code", "legal_name",
                                                                 "sha256", "filename", "notes"])
        frame = results.merge(extra, on="certificate_id", how="left")
        frame["name"] = [rule.certificate_name(p, t) for p, t in zip(frame["program"], frame["certificate_type"],
                                                                     strict=True)]
        for column in ("valid_from", "valid_to", "last_verified", "recheck_by"):
            frame[column] = pd.to_datetime(frame[column], errors="coerce")
        return frame.sort_values(["partner_code", "certificate_id"], kind="stable").reset_index(drop=True)
    return ctx.shared("certificates", load)


def rows(ctx: PackContext):
    frame = certificates(ctx)
    if frame.empty:
        return
    frame = frame.copy()
    frame["copy_file"] = [ctx.file(s, f) if isinstance(s, str) else "" for s, f in
                          zip(frame["sha256"], frame["filename"].fillna(""), strict=True)]
    yield from chunked(frame)


def figures(ctx: PackContext) -> list[tuple[str, str]]:
    frame = certificates(ctx)
    if frame.empty:
        return []
    return [("Certificates that count today (verified, valid, recognized)",
             f"{int(frame['counts'].sum()):,} of {len(frame):,}")]


SECTION = Section(
    key="certificates", order=50, sheet="Certificates", title="Certificates and mutual recognition",
    description="Every certificate on file (CTPAT or a foreign AEO-type program) and whether it counts on the "
                "pack's day under the certificate rule: recognition, validity, last verification, the re-check date "
                "and the basis in words (or every reason it does not count).",
    columns=(Column("partner_code", "Partner code", 14), Column("legal_name", "Legal name", 30, Kind.wrap),
             Column("name", "Certificate", 14), Column("certificate_number", "Number", 18),
             Column("issuing_country", "Issued by", 9), Column("status", "Status", 10),
             Column("valid_from", "Valid from", 11, Kind.date), Column("valid_to", "Valid to", 11, Kind.date),
             Column("no_expiry", "No expiry", 9, Kind.flag), Column("covers_all_sites", "All sites", 9, Kind.flag),
             Column("last_verified", "Last verified", 12, Kind.date),
             Column("recheck_by", "Re-check by", 12, Kind.date),
             Column("recognition", "Recognition", 16), Column("arrangement", "Arrangement", 24, Kind.wrap),
             Column("counts", "Counts today", 9, Kind.flag), Column("covers_partner", "Covers partner", 9, Kind.flag),
             Column("why", "Basis / reasons", 60, Kind.wrap), Column("copy_file", "Copy (file in pack)", 30),
             Column("notes", "Notes", 30, Kind.wrap)),
    rows=rows, figures=figures,
)
