"""Every check of a certificate: when, by whom, how, with what proof (CertificateVerification)."""

import pandas as pd
from sqlmodel import col, select

from models import Certificate, CertificateVerification, Partner
from services.certificates.rule import certificate_name
from services.reports.pack.base import Column, Kind, PackContext, Section, chunked


def rows(ctx: PackContext):
    stmt = (select(CertificateVerification.verified_on, Partner.partner_code, Certificate.program,
                   Certificate.certificate_type, Certificate.certificate_number, Certificate.issuing_country,
                   CertificateVerification.method, CertificateVerification.verified_by,
                   CertificateVerification.reference, CertificateVerification.evidence_sha256,
                   CertificateVerification.evidence_filename, CertificateVerification.recorded_by,
                   CertificateVerification.recorded_at, CertificateVerification.id)
            .join(Certificate, col(Certificate.id) == CertificateVerification.certificate_id)
            .join(Partner, col(Partner.id) == Certificate.partner_id)
            .order_by(CertificateVerification.verified_on, Partner.partner_code, CertificateVerification.id))
    if ctx.since:
        stmt = stmt.where(CertificateVerification.verified_on >= ctx.since)
    frame = pd.DataFrame([tuple(r) for r in ctx.session.exec(stmt).all()],
                         columns=["verified_on", "partner_code", "program", "certificate_type", "certificate_number",
                                  "issuing_country", "method", "verified_by", "reference", "sha256", "filename",
                                  "recorded_by", "recorded_at", "id"])
    if frame.empty:
        return
    frame["certificate"] = [certificate_name(p, t) for p, t in zip(frame["program"], frame["certificate_type"],
                                                                   strict=True)]
    frame["method"] = frame["method"].astype(str)
    frame["proof_file"] = [ctx.file(s, f) for s, f in zip(frame["sha256"], frame["filename"].fillna(""), strict=True)]
    yield from chunked(frame)


SECTION = Section(
    key="certificate_checks", order=55, sheet="Certificate checks", title="Certificate checks",
    description="Every verification of a certificate, oldest first (from --since when given): the date, how it was "
                "checked, by whom, the reference and the proof file.",
    columns=(Column("verified_on", "Verified on", 11, Kind.date), Column("partner_code", "Partner code", 14),
             Column("certificate", "Certificate", 14), Column("certificate_number", "Number", 18),
             Column("issuing_country", "Issued by", 9), Column("method", "Method", 20),
             Column("verified_by", "Verified by", 18), Column("reference", "Reference", 36, Kind.wrap),
             Column("proof_file", "Proof (file in pack)", 30), Column("recorded_by", "Recorded by", 12),
             Column("recorded_at", "Recorded (UTC)", 17, Kind.datetime)),
    rows=rows,
)
