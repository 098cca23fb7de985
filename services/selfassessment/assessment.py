"""The company's own Security Profile: per MSC criterion of its entity type, how it is met (a narrative, as CBP's
portal asks for text), status, owner, evidence files and the last review.

The criteria are the entity type's set from services.reference.criteria (importer when no company profile says
otherwise), in the portal's order: category, then criterion number (4.10 after 4.9).
"""

from collections.abc import Iterable
from datetime import date

import pandas as pd
from sqlmodel import Session, col, func, select

from models import SelfAssessmentEntry, SelfAssessmentEvidence
from models.common import Requirement, Role, utcnow
from models.selfassessment import SelfAssessmentStatus
from services.collection import evidence as evidence_store
from services.company.profile import get_profile
from services.core import audit
from services.core.permissions import Actor, ValidationError, require, require_write
from services.reference.criteria import criteria_for_entity_type

DEFAULT_ENTITY_TYPE = "Importer"
STATUSES: tuple[str, ...] = tuple(SelfAssessmentStatus)
NARRATIVE_MAX = 10000
ROW_COLUMNS = ["criterion_id", "category_number", "category", "focus_area", "requirement", "summary", "caveat",
               "narrative", "status", "na_reason", "owner", "reviewed_on", "reviewed_by", "evidence_files",
               "evidence_count", "flag"]
EVIDENCE_COLUMNS = ["id", "criterion_id", "filename", "content_type", "size_bytes", "sha256", "uploaded_by",
                    "uploaded_at"]
NO_NARRATIVE = "Must criterion without a narrative"
_FIELDS = ("narrative", "status", "na_reason", "owner")


def entity_type(*, session: Session) -> str:
    """The company's own entity type: from the company profile, importer when there is none yet."""
    profile = get_profile(session=session)
    return profile.entity_type if profile and profile.entity_type else DEFAULT_ENTITY_TYPE


def _criteria(session: Session, kind: str) -> pd.DataFrame:
    frame = criteria_for_entity_type(session=session, entity_type=kind)
    return frame.sort_values(["category_number", "sort_key"], ignore_index=True)


def rows(*, session: Session) -> pd.DataFrame:
    """One row per criterion of the company's entity type, in the portal's order, with the company's answer.

    ``status`` is None where nothing was stated yet (shown as not assessed, never as met); ``flag`` names what is
    missing: a must criterion without a narrative, or n/a without a reason.
    """
    criteria = _criteria(session, entity_type(session=session))
    entries = pd.DataFrame(
        [(e.criterion_id, e.narrative, e.status, e.na_reason, e.owner, e.reviewed_on, e.reviewed_by)
         for e in session.exec(select(SelfAssessmentEntry)).all()],
        columns=["criterion_id", "narrative", "status", "na_reason", "owner", "reviewed_on", "reviewed_by"])
    files = pd.DataFrame(session.exec(select(SelfAssessmentEvidence.criterion_id, SelfAssessmentEvidence.filename)
                                      .order_by(SelfAssessmentEvidence.id)).all(),
                         columns=["criterion_id", "filename"])
    names = files.groupby("criterion_id")["filename"].agg("\n".join)
    frame = criteria.merge(entries, on="criterion_id", how="left")
    for column in ("narrative", "na_reason", "owner", "reviewed_by"):
        frame[column] = frame[column].fillna("").astype(str)
    frame["status"] = pd.Series([SelfAssessmentStatus(v) if isinstance(v, str) and v else None
                                 for v in frame["status"]], index=frame.index, dtype=object)
    frame["reviewed_on"] = frame["reviewed_on"].astype(object).where(frame["reviewed_on"].notna(), None)
    frame["evidence_files"] = frame["criterion_id"].map(lambda cid: names.get(cid, ""))
    frame["evidence_count"] = frame["criterion_id"].map(files.groupby("criterion_id").size()).fillna(0).astype(int)
    frame["flag"] = _flags(frame)
    return frame[ROW_COLUMNS]


def _flags(frame: pd.DataFrame) -> pd.Series:
    no_narrative = (frame["requirement"] == Requirement.must) & (frame["narrative"].str.strip() == "")
    return no_narrative.map({True: NO_NARRATIVE, False: ""})


def self_assessment_status(*, session: Session) -> dict[str, int | str]:
    """Counts for the readiness checklist and the page header: criteria and must criteria of the company's entity
    type, how many have a narrative, how many per status (not_assessed: no status yet), flagged must criteria."""
    frame = rows(session=session)
    must = frame[frame["requirement"] == Requirement.must]
    statuses = frame["status"].map(lambda s: s.value if s is not None else None)
    return {
        "entity_type": entity_type(session=session),
        "criteria": len(frame),
        "must_total": len(must),
        "must_with_narrative": int((must["narrative"].str.strip() != "").sum()),
        "must_without_narrative": int((must["flag"] == NO_NARRATIVE).sum()),
        "with_narrative": int((frame["narrative"].str.strip() != "").sum()),
        "met": int((statuses == SelfAssessmentStatus.met).sum()),
        "partly_met": int((statuses == SelfAssessmentStatus.partly_met).sum()),
        "not_met": int((statuses == SelfAssessmentStatus.not_met).sum()),
        "not_applicable": int((statuses == SelfAssessmentStatus.not_applicable).sum()),
        "not_assessed": int(statuses.isna().sum()),
        "reviewed": int(frame["reviewed_on"].notna().sum()),
    }


def _check_criterion(session: Session, criterion_id: str) -> None:
    ids = set(_criteria(session, entity_type(session=session))["criterion_id"])
    if criterion_id not in ids:
        raise ValidationError(f"Criterion {criterion_id} is not in the self-assessment of the entity type "
                              f"{entity_type(session=session)}.")


def _entry_values(entry: SelfAssessmentEntry | None) -> dict | None:
    if entry is None:
        return None
    return {f: getattr(entry, f) for f in _FIELDS}


def save_entry(*, session: Session, actor: Actor, criterion_id: str, narrative: str, status: str | None,
               na_reason: str = "", owner: str = "", today: date | None = None) -> SelfAssessmentEntry:
    """Save the company's answer to one criterion; the saver becomes its last reviewer (today). Audited.

    n/a needs a reason; a reason is kept only with n/a. Nothing is recorded when nothing changes.
    """
    require_write(actor)
    _check_criterion(session, criterion_id)
    narrative, na_reason, owner = (narrative or "").strip(), (na_reason or "").strip(), (owner or "").strip()
    problems = []
    try:
        status = SelfAssessmentStatus(status) if status not in (None, "") else None
    except ValueError:
        problems.append(f"Status must be one of: {', '.join(STATUSES)}.")
        status = None
    if len(narrative) > NARRATIVE_MAX:
        problems.append(f"Narrative: longer than {NARRATIVE_MAX:,} characters.")
    if len(na_reason) > 1000:
        problems.append("Reason for n/a: longer than 1,000 characters.")
    if len(owner) > 120:
        problems.append("Owner: longer than 120 characters.")
    if status is SelfAssessmentStatus.not_applicable and not na_reason:
        problems.append(f"{criterion_id}: n/a needs a reason (why the criterion does not apply to the company).")
    if problems:
        raise ValidationError("; ".join(problems))
    if status is not SelfAssessmentStatus.not_applicable:
        na_reason = ""
    entry = session.exec(select(SelfAssessmentEntry).where(SelfAssessmentEntry.criterion_id == criterion_id)).first()
    before = _entry_values(entry)
    after = {"narrative": narrative, "status": status, "na_reason": na_reason, "owner": owner}
    if before == after:
        return entry
    entry = entry or SelfAssessmentEntry(criterion_id=criterion_id)
    for field, value in after.items():
        setattr(entry, field, value)
    entry.reviewed_on, entry.reviewed_by, entry.updated_at = today or date.today(), actor.username, utcnow()
    session.add(entry)
    session.flush()
    audit.record(session=session, actor=actor, action="update" if before else "create", entity="self-assessment",
                 entity_id=criterion_id, summary=f"Self-assessment of {criterion_id} saved"
                 + (f" ({status.value})" if status else ""), before=before, after=after)
    return entry


def mark_reviewed(*, session: Session, actor: Actor, criterion_ids: Iterable[str],
                  today: date | None = None) -> int:
    """Record that the answers to these criteria were reviewed unchanged today (the annual review): one audit
    event with the count. Criteria never answered cannot be marked reviewed. Returns how many were marked."""
    require_write(actor)
    wanted = sorted(set(criterion_ids))
    if not wanted:
        raise ValidationError("Choose the criteria you reviewed.")
    entries = session.exec(select(SelfAssessmentEntry).where(col(SelfAssessmentEntry.criterion_id).in_(wanted))).all()
    missing = sorted(set(wanted) - {e.criterion_id for e in entries})
    if missing:
        raise ValidationError(f"Not answered yet, so not reviewable: {', '.join(missing)}.")
    day = today or date.today()
    for entry in entries:
        entry.reviewed_on, entry.reviewed_by = day, actor.username
        session.add(entry)
    session.flush()
    audit.record(session=session, actor=actor, action="review", entity="self-assessment",
                 entity_id=f"{len(entries)} criteria",
                 summary=f"Marked {len(entries)} self-assessment criteria reviewed: {', '.join(wanted)}"[:500])
    return len(entries)


def add_evidence(*, session: Session, actor: Actor, criterion_id: str, filename: str,
                 data: bytes) -> SelfAssessmentEvidence:
    """Attach an evidence file to a criterion (checked by content and size as any evidence; kept by its hash)."""
    require_write(actor)
    _check_criterion(session, criterion_id)
    sha256, name, content_type = evidence_store.store_file(filename=filename, data=data)
    row = SelfAssessmentEvidence(criterion_id=criterion_id, filename=name, content_type=content_type,
                                 size_bytes=len(data), sha256=sha256, uploaded_by=actor.username)
    session.add(row)
    session.flush()
    audit.record(session=session, actor=actor, action="create", entity="self-assessment evidence",
                 entity_id=criterion_id, summary=f"Evidence {name} added to the self-assessment of {criterion_id}",
                 after={"filename": name, "size_bytes": len(data), "sha256": sha256})
    return row


def remove_evidence(*, session: Session, actor: Actor, evidence_id: int) -> None:
    """Detach an evidence file from its criterion (the bytes stay in the store: other records may share them)."""
    require_write(actor)
    row = session.get(SelfAssessmentEvidence, evidence_id)
    if row is None:
        raise ValidationError(f"No self-assessment evidence file {evidence_id}.")
    audit.record(session=session, actor=actor, action="delete", entity="self-assessment evidence",
                 entity_id=row.criterion_id,
                 summary=f"Evidence {row.filename} removed from the self-assessment of {row.criterion_id}",
                 before={"filename": row.filename, "size_bytes": row.size_bytes, "sha256": row.sha256})
    session.delete(row)
    session.flush()


def list_evidence(*, session: Session, criterion_id: str | None = None) -> pd.DataFrame:
    """Evidence files of the self-assessment (of one criterion, or all), oldest first."""
    stmt = select(*(getattr(SelfAssessmentEvidence, c) for c in EVIDENCE_COLUMNS)).order_by(SelfAssessmentEvidence.id)
    if criterion_id is not None:
        stmt = stmt.where(SelfAssessmentEvidence.criterion_id == criterion_id)
    return pd.DataFrame(session.exec(stmt).all(), columns=EVIDENCE_COLUMNS)


def read_evidence(*, session: Session, actor: Actor, evidence_id: int) -> tuple[SelfAssessmentEvidence, bytes]:
    """An evidence file and its bytes, checked against its hash (any staff role)."""
    require(actor, *Role)
    row = session.get(SelfAssessmentEvidence, evidence_id)
    if row is None:
        raise ValidationError(f"No self-assessment evidence file {evidence_id}.")
    return row, evidence_store.load_file(sha256=row.sha256, filename=row.filename)


def evidence_total(*, session: Session) -> int:
    return session.exec(select(func.count()).select_from(SelfAssessmentEvidence)).one()
