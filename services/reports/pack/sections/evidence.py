"""An index of every evidence file the pack holds: answers' evidence, certificate copies, verification proofs, the
evidence of action items and of the company's self-assessment.

Each row names the file's path inside the ZIP; the files themselves are copied in after the workbook. A file whose
bytes are missing from the store is listed as missing, never left out silently.
"""

import pandas as pd
from sqlmodel import col, select

from models import Assignment, Certificate, CertificateVerification, Cycle, Evidence, Partner
from models.actions import ActionEvidence, ActionItem
from models.selfassessment import SelfAssessmentEvidence
from services.collection.evidence import evidence_path
from services.reports.pack.base import Column, Kind, PackContext, Section, chunked

_COLUMNS = ["attached_to", "partner_code", "cycle", "record", "filename", "content_type", "size_bytes", "sha256",
            "added_by", "added_at"]


def _answers(ctx: PackContext) -> pd.DataFrame:
    stmt = (select(Partner.partner_code, Cycle.name, Evidence.criterion_id, Evidence.filename, Evidence.content_type,
                   Evidence.size_bytes, Evidence.sha256, Evidence.uploaded_by, Evidence.uploaded_at)
            .join(Assignment, col(Assignment.id) == Evidence.assignment_id)
            .join(Cycle, col(Cycle.id) == Assignment.cycle_id)
            .join(Partner, col(Partner.id) == Assignment.partner_id))
    if ctx.since_start:
        stmt = stmt.where(Evidence.uploaded_at >= ctx.since_start)
    frame = pd.DataFrame([tuple(r) for r in ctx.session.exec(stmt).all()],
                         columns=["partner_code", "cycle", "record", "filename", "content_type", "size_bytes",
                                  "sha256", "added_by", "added_at"])
    frame["record"] = "criterion " + frame["record"]
    return frame.assign(attached_to="answer")


def _certificates(ctx: PackContext) -> pd.DataFrame:
    stmt = (select(Partner.partner_code, Certificate.program, Certificate.certificate_number,
                   Certificate.evidence_filename, Certificate.evidence_content_type, Certificate.evidence_size_bytes,
                   Certificate.evidence_sha256, Certificate.created_by, Certificate.updated_at)
            .join(Partner, col(Partner.id) == Certificate.partner_id)
            .where(col(Certificate.evidence_sha256).is_not(None)))
    if ctx.since_start:
        stmt = stmt.where(Certificate.updated_at >= ctx.since_start)
    frame = pd.DataFrame([tuple(r) for r in ctx.session.exec(stmt).all()],
                         columns=["partner_code", "program", "number", "filename", "content_type", "size_bytes",
                                  "sha256", "added_by", "added_at"])
    frame["record"] = frame["program"] + " " + frame["number"]
    return frame.drop(columns=["program", "number"]).assign(attached_to="certificate copy", cycle="")


def _verifications(ctx: PackContext) -> pd.DataFrame:
    stmt = (select(Partner.partner_code, Certificate.program, Certificate.certificate_number,
                   CertificateVerification.verified_on, CertificateVerification.evidence_filename,
                   CertificateVerification.evidence_content_type, CertificateVerification.evidence_size_bytes,
                   CertificateVerification.evidence_sha256, CertificateVerification.recorded_by,
                   CertificateVerification.recorded_at)
            .join(Certificate, col(Certificate.id) == CertificateVerification.certificate_id)
            .join(Partner, col(Partner.id) == Certificate.partner_id)
            .where(col(CertificateVerification.evidence_sha256).is_not(None)))
    if ctx.since:
        stmt = stmt.where(CertificateVerification.verified_on >= ctx.since)
    frame = pd.DataFrame([tuple(r) for r in ctx.session.exec(stmt).all()],
                         columns=["partner_code", "program", "number", "verified_on", "filename", "content_type",
                                  "size_bytes", "sha256", "added_by", "added_at"])
    frame["record"] = (frame["program"] + " " + frame["number"] + " verified "
                       + frame["verified_on"].astype(str))
    return frame.drop(columns=["program", "number", "verified_on"]).assign(attached_to="certificate check",
                                                                           cycle="")


def _actions(ctx: PackContext) -> pd.DataFrame:
    stmt = (select(Partner.partner_code, ActionItem.id, ActionItem.title, ActionEvidence.filename,
                   ActionEvidence.content_type, ActionEvidence.size_bytes, ActionEvidence.sha256,
                   ActionEvidence.uploaded_by, ActionEvidence.uploaded_at)
            .join(ActionItem, col(ActionItem.id) == ActionEvidence.action_id)
            .join(Partner, col(Partner.id) == ActionItem.partner_id, isouter=True))
    if ctx.since_start:
        stmt = stmt.where(ActionEvidence.uploaded_at >= ctx.since_start)
    frame = pd.DataFrame([tuple(r) for r in ctx.session.exec(stmt).all()],
                         columns=["partner_code", "action_id", "title", "filename", "content_type", "size_bytes",
                                  "sha256", "added_by", "added_at"])
    frame["record"] = "action " + frame["action_id"].astype(str) + ": " + frame["title"]
    frame["partner_code"] = frame["partner_code"].fillna("")
    return frame.drop(columns=["action_id", "title"]).assign(attached_to="action item", cycle="")


def _self_assessment(ctx: PackContext) -> pd.DataFrame:
    stmt = select(SelfAssessmentEvidence.criterion_id, SelfAssessmentEvidence.filename,
                  SelfAssessmentEvidence.content_type, SelfAssessmentEvidence.size_bytes, SelfAssessmentEvidence.sha256,
                  SelfAssessmentEvidence.uploaded_by, SelfAssessmentEvidence.uploaded_at)
    if ctx.since_start:
        stmt = stmt.where(SelfAssessmentEvidence.uploaded_at >= ctx.since_start)
    frame = pd.DataFrame([tuple(r) for r in ctx.session.exec(stmt).all()],
                         columns=["record", "filename", "content_type", "size_bytes", "sha256", "added_by",
                                  "added_at"])
    frame["record"] = "criterion " + frame["record"]
    return frame.assign(attached_to="self-assessment", partner_code="", cycle="")


def rows(ctx: PackContext):
    frames = [f for f in (_answers(ctx), _certificates(ctx), _verifications(ctx), _actions(ctx),
                          _self_assessment(ctx)) if not f.empty]
    if not frames:
        return
    frame = pd.concat(frames, ignore_index=True)[_COLUMNS]
    frame = frame.sort_values(["attached_to", "partner_code", "cycle", "record", "filename", "sha256"],
                              kind="stable").reset_index(drop=True)
    present = {sha: evidence_path(sha).is_file() for sha in frame["sha256"].unique()}
    frame["in_pack"] = frame["sha256"].map(present)
    frame["file"] = [ctx.file(sha, name) if present[sha] else "missing from the evidence store"
                     for sha, name in zip(frame["sha256"], frame["filename"], strict=True)]
    ctx.memo["evidence_files"] = len(frame)
    yield from chunked(frame)



SECTION = Section(
    key="evidence", order=80, sheet="Evidence index", title="Evidence files",
    description="Every evidence file in the pack (answers' evidence, certificate copies, verification proofs, "
                "action items' and the self-assessment's evidence; from --since when given): what it backs, the "
                "original name, type, size, SHA-256 (to check the copy), "
                "who added it and when, and its path inside this ZIP.",
    columns=(Column("file", "File in pack", 40), Column("attached_to", "Backs", 16),
             Column("partner_code", "Partner code", 14), Column("cycle", "Cycle", 18),
             Column("record", "Record", 28, Kind.wrap), Column("filename", "Original name", 28, Kind.wrap),
             Column("content_type", "Type", 18), Column("size_bytes", "Bytes", 11, Kind.integer),
             Column("sha256", "SHA-256", 24), Column("added_by", "Added by", 14),
             Column("added_at", "Added (UTC)", 17, Kind.datetime), Column("in_pack", "In pack", 7, Kind.flag)),
    rows=rows,
)
