"""The Action plan and Incidents pages for every role, the partner detail's Actions tab, and the partner closing its
corrective actions through its personal link (AppTest): widgets that do what they say, writes reach the database."""

from datetime import date, timedelta

import pytest
from sqlmodel import select

from models.actions import ActionEvidence, ActionItem, ActionSource, ActionStatus
from models.collection import AnswerValue
from models.incidents import Incident, IncidentStatus
from pages.partners.common import FOCUS
from services.actions import generate, incidents, items
from services.actions.items import Upload
from services.actions.states import Move
from services.collection import links
from tests.action_support import accepted, add_partner
from tests.conftest import ANALYST

TITLES = {"actions": "Action plan", "incidents": "Incidents"}
ROLES = ("admin", "analyst", "viewer")
TODAY = date.today()
PDF = b"%PDF-1.4\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n"


@pytest.fixture(autouse=True)
def evidence_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("CTPAT_DATA_DIR", str(tmp_path))


@pytest.fixture
def plan(session, staff):
    """A Chinese factory with two gaps (an unmet must, a partial must) and a carrier with an open seal incident."""
    factory = add_partner(session, "CN-F1", language="zh")
    assignment = accepted(session, factory, {"6.1": AnswerValue.no, "7.23": AnswerValue.partial})
    carrier = add_partner(session, "MX-T1", entity_type="Long Haul Highway Carrier (Mexico)", country_iso2="MX")
    incident = incidents.record_incident(session=session, actor=ANALYST, values={
        "occurred_on": TODAY - timedelta(days=3), "kind": "seal discrepancy", "partner_id": carrier.id,
        "description": "Seal number on arrival differs from the bill of lading", "reported_to": "CBP",
        "reported_on": TODAY - timedelta(days=2)})
    generate.generate(session=session, actor=ANALYST)
    session.commit()
    return {"factory": factory, "carrier": carrier, "assignment": assignment, "incident": incident}


def item_of(session, partner_id: int, criterion: str | None = None) -> ActionItem:
    stmt = select(ActionItem).where(ActionItem.partner_id == partner_id)
    if criterion:
        stmt = stmt.where(ActionItem.criterion_id == criterion)
    session.expire_all()
    return session.exec(stmt).one()


def buttons(at) -> list[str]:
    return [b.label for b in at.button]


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("page_name", list(TITLES))
def test_every_page_renders_for_every_role(page_app, plan, page_name, role):
    at = page_app(page_name, role=role).run()
    assert not at.exception
    assert [t.value for t in at.title] == [TITLES[page_name]]
    writer = role != "viewer"
    tabs = {"actions": ["Plan", "Progress", *(["Generate", "Add"] if writer else [])],
            "incidents": ["Register", *(["Record"] if writer else [])]}[page_name]
    assert [t.label for t in at.tabs] == tabs


@pytest.mark.parametrize("page_name", list(TITLES))
def test_nothing_without_login(page_app, page_name):
    at = page_app(page_name, role=None).run()
    assert not at.exception and not at.main.children


def test_plan_metrics_filters_and_progress(page_app, plan):
    at = page_app("actions", role="viewer").run()
    metrics = {m.label: m.value for m in at.metric}
    # two gaps, the incident, and three High threats (forced labor and smuggling in China, crime in Mexico)
    assert metrics["Open"] == "6" and metrics["Overdue"] == "0" and metrics["Closed in 30 days"] == "0"
    table = at.dataframe[0].value
    assert table["source"].tolist() == ["incident", "gap", "gap", "threat", "threat", "threat"]
    at.text_input(key="actions_partner").set_value("mx-t1").run()
    assert len(at.dataframe[0].value) == 1
    at.text_input(key="actions_partner").set_value("").run()
    at.multiselect(key="actions_source").set_value([ActionSource.incident.value]).run()
    assert len(at.dataframe[0].value) == 1
    at.toggle(key="actions_overdue").set_value(True).run()
    assert not at.dataframe and at.info[0].value == "No action items match."
    assert [b.label for b in at.get("download_button")] == []
    at.toggle(key="actions_overdue").set_value(False)
    at.multiselect(key="actions_source").set_value([]).run()
    assert [b.proto.label for b in at.get("download_button")] == ["Plan (CSV)", "Plan (Excel)"]
    at.session_state["actions_tab"] = "Progress"
    at.run()
    assert not at.exception and len(at.get("arrow_vega_lite_chart") or at.get("vega_lite_chart")) == 3


def test_viewer_sees_an_item_but_cannot_work_it(page_app, plan, session):
    target = item_of(session, plan["factory"].id, "6.1")
    at = page_app("actions", role="viewer")
    at.session_state["actions_table_focus"] = target.id
    at.run()
    assert not at.exception
    assert any(f"#{target.id} ·" in m.value for m in at.markdown)
    assert "Start work" not in buttons(at) and not at.text_area


def test_analyst_starts_closes_and_the_close_needs_evidence(page_app, plan, session):
    target = item_of(session, plan["factory"].id, "6.1")
    at = page_app("actions", role="analyst")
    at.session_state["actions_table_focus"] = target.id
    at.run()
    at.button(key=f"action_{target.id}_start").click().run()
    assert not at.exception and item_of(session, plan["factory"].id, "6.1").status == ActionStatus.in_progress
    assert f"Action {target.id} is in progress." in [s.value for s in at.success]

    at.text_area(key=f"action_{target.id}_note").set_value("Seal procedure rewritten")
    at.button(key=f"FormSubmitter:action_{target.id}_close_form-Close").click().run()
    assert at.error and item_of(session, plan["factory"].id, "6.1").status == ActionStatus.in_progress
    at.text_area(key=f"action_{target.id}_note").set_value("Seal procedure rewritten")
    at.file_uploader(key=f"action_{target.id}_uploads").set_value([("procedure.pdf", PDF, "application/pdf")])
    at.button(key=f"FormSubmitter:action_{target.id}_close_form-Close").click().run()
    assert not at.exception, at.exception
    closed = item_of(session, plan["factory"].id, "6.1")
    assert closed.status == ActionStatus.closed and closed.closing_note == "Seal procedure rewritten"
    assert session.exec(select(ActionEvidence.filename).where(ActionEvidence.action_id == target.id)).all() == [
        "procedure.pdf"]
    assert at.metric[0].value == "5"  # one fewer open


def test_generate_previews_then_adds_nothing_twice(page_app, plan, session):
    late = add_partner(session, "VN-F2", country_iso2="VN")
    accepted(session, late, {"6.1": AnswerValue.no})
    at = page_app("actions", role="analyst")
    at.session_state["actions_tab"] = "Generate"
    at.run()
    at.button(key="actions_preview_button").click().run()
    assert not at.exception and "1" in at.info[0].value
    assert session.exec(select(ActionItem).where(ActionItem.partner_id == late.id)).all() == []  # a preview only
    at.button(key="actions_generate").click().run()
    assert not at.exception
    assert len(session.exec(select(ActionItem).where(ActionItem.partner_id == late.id)).all()) == 1
    at.button(key="actions_preview_button").click().run()
    assert at.button(key="actions_generate").disabled


def test_add_by_hand_checks_and_adds(page_app, plan, session):
    at = page_app("actions", role="admin")
    at.session_state["actions_tab"] = "Add"
    at.run()
    at.button(key="FormSubmitter:actions_add_form-Add action item").click().run()
    assert at.error  # no title
    count = len(session.exec(select(ActionItem)).all())
    at.text_input(key="actions_add_title").set_value("Visit the carrier's yard")
    at.selectbox(key="actions_add_partner").set_value(plan["carrier"].id)
    at.button(key="FormSubmitter:actions_add_form-Add action item").click().run()
    assert not at.exception and not at.error
    session.expire_all()
    made = session.exec(select(ActionItem).where(ActionItem.title == "Visit the carrier's yard")).one()
    assert made.partner_id == plan["carrier"].id and made.source == ActionSource.manual
    assert len(session.exec(select(ActionItem)).all()) == count + 1


def test_incident_recorded_moves_and_closes(page_app, plan, session):
    at = page_app("incidents", role="analyst")
    at.session_state["incidents_tab"] = "Record"
    at.run()
    at.selectbox(key="incident_new_partner").set_value(plan["carrier"].id).run()
    at.selectbox(key="incident_new_kind").set_value("suspicious activity")
    at.text_area(key="incident_new_description").set_value("Unknown person photographing the loading dock")
    at.multiselect(key="incident_new_reported_to").set_value(["CBP"])
    at.button(key="FormSubmitter:incident_new-Record incident").click().run()
    assert not at.exception and not at.error
    session.expire_all()
    made = session.exec(select(Incident).where(Incident.kind == "suspicious activity")).one()
    assert made.status == IncidentStatus.open and made.reported_to == "CBP"
    assert session.exec(select(ActionItem).where(ActionItem.incident_id == made.id)).one().priority == 1

    at.session_state["incidents_tab"] = "Register"
    at.session_state["incidents_focus"] = made.id
    at.run()
    start = f"FormSubmitter:incident_{made.id}_investigating-Start the investigation"
    at.button(key=start).click().run()
    session.expire_all()
    assert session.get(Incident, made.id).status == IncidentStatus.investigating
    close = f"FormSubmitter:incident_{made.id}_closed-Close"
    at.button(key=close).click().run()
    assert at.error and session.get(Incident, made.id).status == IncidentStatus.investigating  # needs a note
    at.text_area(key=f"incident_{made.id}_closed_note").set_value("A visitor of the neighbour; guard briefed")
    at.button(key=close).click().run()
    session.expire_all()
    assert session.get(Incident, made.id).status == IncidentStatus.closed


def test_viewer_cannot_record_or_move_an_incident(page_app, plan):
    at = page_app("incidents", role="viewer")
    at.session_state["incidents_focus"] = plan["incident"].id
    at.run()
    assert not at.exception and any("Incident" in m.value for m in at.markdown)
    assert not at.text_area and not at.button


def test_partner_detail_actions_tab(page_app, plan, session):
    target = item_of(session, plan["factory"].id, "7.23")
    for role, writer in (("viewer", False), ("analyst", True)):
        at = page_app("partners", role=role)
        at.session_state[FOCUS] = plan["factory"].id
        at.session_state["partner_tab"] = "Actions"
        at.session_state[f"partner_actions_{plan['factory'].id}_focus"] = target.id
        at.run()
        assert not at.exception
        assert "Actions" in [t.label for t in at.tabs]
        assert any(c.value.startswith("2 open · 0 overdue · 0 awaiting acceptance · 0 closed") for c in at.caption)
        table = next(d.value for d in at.dataframe if "criterion_id" in d.value.columns)
        assert table["criterion_id"].tolist() == ["6.1", "7.23"]  # only this partner's items
        assert any(f"#{target.id} ·" in m.value for m in at.markdown)
        adding = f"partner_actions_{plan['factory'].id}_add_title"
        assert (adding in [t.key for t in at.text_input]) == writer
        assert (f"partner_action_{target.id}_start" in [b.key for b in at.button]) == writer


@pytest.fixture
def supplier_app(page_app):
    def make(token: str):
        at = page_app("supplier", role="")
        at.session_state["supplier_token"] = token
        return at

    return make


def test_partner_closes_its_action_through_its_link_in_its_language(supplier_app, plan, session):
    token = links.issue_link(session=session, actor=ANALYST, assignment_id=plan["assignment"].id)
    session.commit()
    at = supplier_app(token).run()
    assert not at.exception
    assert any("纠正措施" in s.value for s in at.subheader), [s.value for s in at.subheader]
    target = item_of(session, plan["factory"].id, "6.1")
    send = f"FormSubmitter:supplier_action_form_{target.id}-提交审核"
    assert len([b for b in at.button if b.key.startswith("FormSubmitter:supplier_action_form_")]) == 2
    at.button(key=send).click().run()
    errors = [e.value for e in at.error]
    assert "请说明贵公司采取的措施。" in errors and "请至少附上一个能证明已整改的文件。" in errors
    assert item_of(session, plan["factory"].id, "6.1").status == ActionStatus.open

    at.text_area(key=f"supplier_action_note_{target.id}").set_value("新封条程序已实施，员工已培训")
    at.file_uploader(key=f"supplier_action_files_{target.id}_0").set_value([("封条程序.pdf", PDF, "application/pdf")])
    at.button(key=send).click().run()
    assert not at.exception and "已提交审核，谢谢。" in [s.value for s in at.success]
    done = item_of(session, plan["factory"].id, "6.1")
    assert done.status == ActionStatus.awaiting and done.closing_note == "新封条程序已实施，员工已培训"
    assert session.exec(select(ActionEvidence.filename).where(ActionEvidence.action_id == target.id)).all() == [
        "封条程序.pdf"]
    assert "已提交审核：审核团队正在核查贵公司的证据。" in [i.value for i in at.info]
    assert send not in [b.key for b in at.button]  # nothing more to send until the team answers


def test_partner_without_shared_actions_sees_no_section(supplier_app, plan, session):
    other = add_partner(session, "VN-F2", country_iso2="VN", language="es")
    assignment = accepted(session, other, {})
    token = links.issue_link(session=session, actor=ANALYST, assignment_id=assignment.id)
    session.commit()
    at = supplier_app(token).run()
    assert not at.exception and not any("Acciones correctivas" in s.value for s in at.subheader)


def test_team_reopens_with_a_comment_the_partner_reads_then_accepts(page_app, supplier_app, plan, session):
    target = item_of(session, plan["factory"].id, "7.23")
    partner = links.partner_actor(session=session, assignment_id=plan["assignment"].id)
    items.move(session=session, actor=partner, action_id=target.id, to=Move.done, note="Procedure written",
               files=[Upload("procedure.pdf", PDF)])
    session.commit()
    at = page_app("actions", role="analyst")
    at.session_state["actions_table_focus"] = target.id
    at.run()
    assert at.metric[2].value == "1"  # awaiting acceptance
    assert [b.proto.label for b in at.get("download_button") if "procedure.pdf" in b.proto.label]
    reopen = f"FormSubmitter:action_{target.id}_reopen_form-Reopen"
    at.button(key=reopen).click().run()
    assert at.error and item_of(session, plan["factory"].id, "7.23").status == ActionStatus.awaiting
    at.text_area(key=f"action_{target.id}_comment").set_value("Add the escalation contact list")
    at.button(key=reopen).click().run()
    assert item_of(session, plan["factory"].id, "7.23").status == ActionStatus.reopened

    token = links.issue_link(session=session, actor=ANALYST, assignment_id=plan["assignment"].id)
    session.commit()
    link = supplier_app(token).run()
    assert any("Add the escalation contact list" in w.value for w in link.warning)
    items.move(session=session, actor=partner, action_id=target.id, to=Move.done, note="List added",
               files=[Upload("contacts.pdf", PDF + b"% contacts\n")])
    session.commit()
    at.run()
    at.button(key=f"action_{target.id}_accept").click().run()
    assert not at.exception
    assert item_of(session, plan["factory"].id, "7.23").status == ActionStatus.closed
