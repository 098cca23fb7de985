"""The Security Profile page for every role: figures, eligibility checklist, a criterion answered through the form,
viewers read only; exports offered to everyone."""

import pytest
from sqlmodel import select

from models import SelfAssessmentEntry
from models.common import Requirement
from models.selfassessment import SelfAssessmentStatus
from services.selfassessment import assessment
from tests.conftest import ANALYST


@pytest.fixture(autouse=True)
def evidence_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("CTPAT_DATA_DIR", str(tmp_path))


def _first_must(session) -> str:
    frame = assessment.rows(session=session)
    return frame.loc[frame["requirement"] == Requirement.must, "criterion_id"].iloc[0]


@pytest.mark.parametrize("role", ["admin", "analyst", "viewer"])
def test_the_page_renders_for_every_role(page_app, session, role):
    at = page_app("self_assessment", role=role).run()
    assert not at.exception
    assert at.title[0].value == "Security Profile self-assessment"
    counts = assessment.self_assessment_status(session=session)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Must without a narrative"] == str(counts["must_without_narrative"])
    assert [b.label for b in at.get("download_button")][:2] == ["Download XLSX", "Download PDF"]
    assert ("Read only" in " ".join(i.value for i in at.info)) == (role == "viewer")
    assert any("Eligibility requirements of a Importer: 0 of 8 confirmed" in e.label for e in at.expander)


def test_an_analyst_answers_a_criterion_and_na_without_reason_is_refused(page_app, session):
    cid = _first_must(session)
    at = page_app("self_assessment", role="analyst")
    at.session_state["self_assessment_pick"] = cid
    at.run()
    assert at.subheader[0].value.startswith(cid)
    at.text_area[0].input("Policy ‘=1+1’ signed by the CEO, 王小明.")
    at.selectbox[0].select(SelfAssessmentStatus.not_applicable)
    at.button(key="FormSubmitter:self_assessment_form_" + cid + "-Save").click().run()
    assert "n/a needs a reason" in at.error[0].value
    assert session.exec(select(SelfAssessmentEntry)).first() is None
    at.selectbox[0].select(SelfAssessmentStatus.met)
    at.text_input[-1].input("")
    at.button(key="FormSubmitter:self_assessment_form_" + cid + "-Save").click().run()
    assert not at.exception and at.success[0].value.startswith("Saved")
    session.expire_all()
    entry = session.exec(select(SelfAssessmentEntry)).one()
    assert entry.status is SelfAssessmentStatus.met and "王小明" in entry.narrative
    assert entry.reviewed_by == ANALYST.username


def test_a_viewer_sees_the_answer_but_cannot_change_it(page_app, session):
    cid = _first_must(session)
    assessment.save_entry(session=session, actor=ANALYST, criterion_id=cid, narrative="Signed policy", status="met")
    session.commit()
    at = page_app("self_assessment", role="viewer")
    at.session_state["self_assessment_pick"] = cid
    at.run()
    assert not at.exception
    assert at.text_area[0].value == "Signed policy" and at.text_area[0].disabled
    assert at.button(key="FormSubmitter:self_assessment_form_" + cid + "-Save").disabled
    assert not [b for b in at.button if b.label in ("Reviewed today, unchanged", "Save eligibility")]
