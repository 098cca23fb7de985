"""The company's own Security Profile: criteria of its entity type in portal order, narratives, statuses, evidence,
eligibility checklist, the status counts for readiness, and the audit trail of every change."""

from datetime import date

import pytest
from sqlmodel import select

from models import AuditEvent, SelfAssessmentEntry
from models.common import Requirement
from models.selfassessment import SelfAssessmentStatus
from services.company.profile import save_profile
from services.core.permissions import PermissionDenied, ValidationError
from services.reference.criteria import criteria_for_entity_type
from services.selfassessment import assessment, eligibility, self_assessment_status
from tests.conftest import ADMIN, ANALYST, VIEWER

PDF = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


@pytest.fixture(autouse=True)
def evidence_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("CTPAT_DATA_DIR", str(tmp_path))
    return tmp_path / "evidence"


def _first_must(session) -> str:
    frame = assessment.rows(session=session)
    return frame.loc[frame["requirement"] == Requirement.must, "criterion_id"].iloc[0]


def test_importer_by_default_in_portal_order_and_every_must_flagged(session):
    frame = assessment.rows(session=session)
    assert assessment.entity_type(session=session) == "Importer"
    expected = criteria_for_entity_type(session=session, entity_type="Importer")
    assert set(frame["criterion_id"]) == set(expected["criterion_id"])
    keys = list(zip(frame["category_number"], [tuple(map(int, c.split("."))) for c in frame["criterion_id"]],
                    strict=True))
    assert keys == sorted(keys)  # category, then criterion number: 4.10 after 4.9
    ids = list(frame["criterion_id"])
    if "4.10" in ids and "4.9" in ids:
        assert ids.index("4.9") < ids.index("4.10")
    must = frame["requirement"] == Requirement.must
    assert (frame.loc[must, "flag"] == assessment.NO_NARRATIVE).all()
    assert (frame.loc[~must, "flag"] == "").all()
    assert frame["status"].isna().all()  # not assessed, never a reassuring default


def test_entity_type_follows_the_company_profile(session):
    save_profile(session=session, actor=ADMIN, values={"legal_name": "Acme", "entity_type": "Customs Broker"})
    session.commit()
    frame = assessment.rows(session=session)
    broker = criteria_for_entity_type(session=session, entity_type="Customs Broker")
    assert set(frame["criterion_id"]) == set(broker["criterion_id"])
    assert self_assessment_status(session=session)["entity_type"] == "Customs Broker"
    assert list(eligibility.checklist(session=session)["item_id"]) == ["CB-1"]


def test_a_narrative_clears_the_flag_and_the_status_counts_add_up(session):
    before = self_assessment_status(session=session)
    assert before["must_with_narrative"] == 0 and before["must_without_narrative"] == before["must_total"] > 0
    assert before["not_assessed"] == before["criteria"]
    cid = _first_must(session)
    assessment.save_entry(session=session, actor=ANALYST, criterion_id=cid, narrative="  Written risk policy, "
                          "reviewed yearly by the security officer. ", status="met", owner="María José Núñez",
                          today=date(2026, 12, 1))
    session.commit()
    row = assessment.rows(session=session).set_index("criterion_id").loc[cid]
    assert row["flag"] == "" and row["status"] is SelfAssessmentStatus.met
    assert row["narrative"].startswith("Written") and row["owner"] == "María José Núñez"
    assert row["reviewed_on"] == date(2026, 12, 1) and row["reviewed_by"] == ANALYST.username
    after = self_assessment_status(session=session)
    assert after["must_with_narrative"] == 1 and after["met"] == 1
    assert after["must_without_narrative"] == before["must_total"] - 1
    assert after["met"] + after["partly_met"] + after["not_met"] + after["not_applicable"] + after["not_assessed"] \
        == after["criteria"]


def test_na_needs_a_reason_and_a_reason_is_kept_only_with_na(session):
    cid = _first_must(session)
    with pytest.raises(ValidationError, match="n/a needs a reason"):
        assessment.save_entry(session=session, actor=ANALYST, criterion_id=cid, narrative="", status="n/a")
    with pytest.raises(ValidationError, match="Status must be one of"):
        assessment.save_entry(session=session, actor=ANALYST, criterion_id=cid, narrative="", status="done")
    assessment.save_entry(session=session, actor=ANALYST, criterion_id=cid, narrative="", status="n/a",
                          na_reason="We do not stuff containers.")
    assessment.save_entry(session=session, actor=ANALYST, criterion_id=cid, narrative="x", status="partly met",
                          na_reason="left over")
    session.commit()
    entry = session.exec(select(SelfAssessmentEntry).where(SelfAssessmentEntry.criterion_id == cid)).one()
    assert entry.status is SelfAssessmentStatus.partly_met and entry.na_reason == ""


def test_only_criteria_of_the_entity_type_and_only_writers(session):
    with pytest.raises(ValidationError, match="not in the self-assessment"):
        assessment.save_entry(session=session, actor=ANALYST, criterion_id="99.1", narrative="x", status="met")
    with pytest.raises(PermissionDenied):
        assessment.save_entry(session=session, actor=VIEWER, criterion_id=_first_must(session), narrative="x",
                              status="met")
    with pytest.raises(PermissionDenied):
        eligibility.set_check(session=session, actor=VIEWER, item_id="IM-1", confirmed=True)


def test_every_change_is_audited_with_before_and_after_and_no_change_records_nothing(session):
    cid = _first_must(session)
    assessment.save_entry(session=session, actor=ANALYST, criterion_id=cid, narrative="A", status="not met")
    assessment.save_entry(session=session, actor=ADMIN, criterion_id=cid, narrative="B", status="met")
    assessment.save_entry(session=session, actor=ADMIN, criterion_id=cid, narrative="B", status="met")
    session.commit()
    events = session.exec(select(AuditEvent).where(AuditEvent.entity == "self-assessment")
                          .order_by(AuditEvent.id)).all()
    assert [e.action for e in events] == ["create", "update"]
    assert events[1].before == {"narrative": "A", "status": "not met"}
    assert events[1].after == {"narrative": "B", "status": "met"}


def test_mark_reviewed_is_one_event_and_refuses_unanswered_criteria(session):
    frame = assessment.rows(session=session)
    ids = list(frame["criterion_id"][:3])
    for cid in ids[:2]:
        assessment.save_entry(session=session, actor=ANALYST, criterion_id=cid, narrative="n", status="met",
                              today=date(2025, 1, 1))
    with pytest.raises(ValidationError, match=f"Not answered yet, so not reviewable: {ids[2]}"):
        assessment.mark_reviewed(session=session, actor=ADMIN, criterion_ids=ids)
    assert assessment.mark_reviewed(session=session, actor=ADMIN, criterion_ids=ids[:2],
                                    today=date(2026, 11, 30)) == 2
    session.commit()
    reviewed = assessment.rows(session=session).set_index("criterion_id").loc[ids[:2]]
    assert set(reviewed["reviewed_on"]) == {date(2026, 11, 30)} and set(reviewed["reviewed_by"]) == {"admin"}
    assert len(session.exec(select(AuditEvent).where(AuditEvent.action == "review")).all()) == 1


def test_evidence_is_checked_stored_by_hash_listed_and_removed(session, evidence_folder):
    cid = _first_must(session)
    with pytest.raises(ValidationError):
        assessment.add_evidence(session=session, actor=ANALYST, criterion_id=cid, filename="run.exe",
                                data=b"MZ\x90\x00")
    row = assessment.add_evidence(session=session, actor=ANALYST, criterion_id=cid, filename="../policy.pdf",
                                  data=PDF)
    session.commit()
    assert row.filename == "policy.pdf" and any(evidence_folder.rglob(row.sha256))
    frame = assessment.rows(session=session).set_index("criterion_id")
    assert frame.loc[cid, "evidence_count"] == 1 and frame.loc[cid, "evidence_files"] == "policy.pdf"
    _, data = assessment.read_evidence(session=session, actor=VIEWER, evidence_id=row.id)
    assert data == PDF
    with pytest.raises(PermissionDenied):
        assessment.remove_evidence(session=session, actor=VIEWER, evidence_id=row.id)
    assessment.remove_evidence(session=session, actor=ANALYST, evidence_id=row.id)
    session.commit()
    assert assessment.list_evidence(session=session).empty
    actions = [e.action for e in session.exec(select(AuditEvent).where(
        AuditEvent.entity == "self-assessment evidence").order_by(AuditEvent.id)).all()]
    assert actions == ["create", "delete"]


def test_eligibility_checklist_starts_unconfirmed_and_records_who_confirmed(session):
    items = eligibility.checklist(session=session)
    assert list(items["item_id"]) == [f"IM-{n}" for n in range(1, 9)]
    assert not items["confirmed"].any() and items["source"].str.len().gt(0).all()
    eligibility.set_check(session=session, actor=ANALYST, item_id="IM-3", confirmed=True, note="Bond 12-345",
                          today=date(2026, 12, 2))
    session.commit()
    row = eligibility.checklist(session=session).set_index("item_id").loc["IM-3"]
    assert bool(row["confirmed"]) and row["checked_by"] == "luis" and row["checked_on"] == date(2026, 12, 2)
    with pytest.raises(ValidationError, match="not an eligibility requirement of the entity type Importer"):
        eligibility.set_check(session=session, actor=ANALYST, item_id="CB-1", confirmed=True)
