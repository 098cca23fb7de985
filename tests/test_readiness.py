"""Revalidation readiness: each item of the checklist tells the truth about the data (red where it is missing, never a
reassuring default), and the page shows every item with a link to its records, for every role."""

from datetime import date, timedelta

import pytest
from sqlmodel import select

from models import ProcedureVersion
from models.common import Requirement
from services import procedure
from services.actions import items as action_items
from services.reports import readiness
from services.reports.readiness import Light
from services.risk import assessment
from services.selfassessment import assessment as self_assessment
from tests.action_support import accepted, add_partner
from tests.certificate_support import certify
from tests.conftest import ADMIN, ANALYST

TODAY = date.today()


def _items(session, day: date = TODAY) -> dict[str, readiness.Item]:
    return {i.key: i for i in readiness.checklist(session=session, today=day)}


def test_an_empty_database_is_not_ready_and_says_unknown(session, staff):
    items = _items(session)
    assert list(items) == ["risk_assessment", "procedure", "partners", "actions", "certificates", "self_assessment",
                           "continuity"]
    for key in ("risk_assessment", "procedure", "partners", "self_assessment", "continuity"):
        assert items[key].light is Light.red, key
    assert "Unknown" in items["risk_assessment"].reason and "Unknown" in items["partners"].reason
    assert "No business continuity plan is recorded" in items["continuity"].reason
    assert items["continuity"].filter == {"criterion": "2.4"}
    assert readiness.summary(list(items.values()))["worst"] is Light.red


def test_snapshot_and_procedure_age(session, staff):
    assessment.take_snapshot(session=session, actor=ANALYST, name="2025 review", today=TODAY - timedelta(days=400))
    session.commit()
    item = _items(session)["risk_assessment"]
    assert item.light is Light.red and "400 days ago" in item.reason and item.url_path == "scoring"
    assessment.take_snapshot(session=session, actor=ANALYST, name="Annual review", today=TODAY - timedelta(days=340))
    session.commit()
    assert _items(session)["risk_assessment"].light is Light.amber  # due in 25 days
    assessment.take_snapshot(session=session, actor=ANALYST, name="Now", today=TODAY)
    procedure.save_version(session=session, actor=ANALYST)
    session.commit()
    items = _items(session)
    assert items["risk_assessment"].light is Light.green
    assert items["procedure"].light is Light.red and "version 1 is saved, not signed" in items["procedure"].reason
    procedure.sign_off(session=session, actor=ADMIN, version=1, today=TODAY)
    session.commit()
    assert _items(session)["procedure"].light is Light.green
    row = session.exec(select(ProcedureVersion)).one()
    row.approved_at = row.approved_at - timedelta(days=370)
    row.next_review_on = TODAY - timedelta(days=5)
    session.add(row)
    session.commit()
    item = _items(session)["procedure"]
    assert item.light is Light.red and "review was due on" in item.reason


def test_partners_are_screened_by_answers_certificates_or_an_open_action(session, staff):
    answered = add_partner(session, "CN-F01")
    exempt = add_partner(session, "MX-C01", country_iso2="MX", entity_type="Highway Carrier")
    waiting = add_partner(session, "VN-F01", country_iso2="VN")
    certify(session, exempt.id)
    session.commit()
    accepted(session, answered, {})
    item = _items(session)["partners"]
    assert item.light is Light.red and item.count == 1 and "1 not screened" in item.reason
    action_items.add_item(session=session, actor=ANALYST, values={
        "title": "Send the questionnaire again", "due_date": TODAY + timedelta(days=10), "partner_id": waiting.id})
    session.commit()
    item = _items(session)["partners"]
    assert item.light is Light.amber and "1 assessed, 1 exempt by a certificate that counts, 1 only with an open " \
        "action, 0 not screened" in item.reason


def test_overdue_action_items_and_stale_certificates(session, staff):
    partner = add_partner(session, "CN-F01")
    action_items.add_item(session=session, actor=ANALYST, values={"title": "Fix seals", "due_date": TODAY,
                                                                  "partner_id": partner.id})
    session.commit()
    assert _items(session)["actions"].light is Light.green
    assert _items(session, TODAY + timedelta(days=10))["actions"].light is Light.amber
    late = _items(session, TODAY + timedelta(days=40))["actions"]
    assert late.light is Light.red and "the oldest by 40 days" in late.reason and late.filter == {"status": "past due"}
    certify(session, partner.id, number="CT-9", verified_on=TODAY - timedelta(days=200))
    session.commit()
    item = _items(session)["certificates"]
    assert item.light is Light.amber and "1 last verified more than 90 days ago" in item.reason
    certify(session, partner.id, program="AEO", country="DE", number="DE-1", verified_on=None)
    session.commit()
    assert _items(session)["certificates"].light is Light.red


def test_self_assessment_and_the_continuity_plan(session, staff, tmp_path, monkeypatch):
    monkeypatch.setenv("CTPAT_DATA_DIR", str(tmp_path))
    rows = self_assessment.rows(session=session)
    for cid in rows.loc[rows["requirement"] == Requirement.must, "criterion_id"]:
        self_assessment.save_entry(session=session, actor=ANALYST, criterion_id=cid, narrative="Policy", status="met")
    session.commit()
    items = _items(session)
    assert items["self_assessment"].light is Light.green
    assert items["continuity"].light is Light.red  # 2.4 (a should criterion for importers) has no answer yet
    self_assessment.save_entry(session=session, actor=ANALYST, criterion_id="2.4", narrative="Crisis plan in the "
                               "quality manual", status="met")
    session.commit()
    continuity = _items(session)["continuity"]
    assert continuity.light is Light.amber and "no plan document is attached" in continuity.reason
    self_assessment.add_evidence(session=session, actor=ANALYST, criterion_id="2.4", filename="bcp.pdf",
                                 data=b"%PDF-1.4 plan")
    session.commit()
    continuity = _items(session)["continuity"]
    assert continuity.light is Light.green and "bcp.pdf" in continuity.reason


@pytest.mark.parametrize("role", ["admin", "analyst", "viewer"])
def test_the_page_shows_every_item_for_every_role(page_app, session, role):
    at = page_app("readiness", role=role).run()
    assert not at.exception
    assert at.title[0].value == "Revalidation readiness"
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Not ready"] == "5" and metrics["Days to revalidation"] == "Unknown"
    assert len(at.get("page_link")) == 7
    assert "No business continuity plan is recorded" in " ".join(m.value for m in at.markdown)
