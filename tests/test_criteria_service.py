"""Services behind the pages: the criteria catalogue and applicability, MRA programs, and the partner additions
(export, new-partner check, certifications)."""

import io
from datetime import date, timedelta

import pytest
from sqlalchemy import delete, insert, update
from sqlmodel import Session, col, func, select

from models import AuditEvent, CriterionApplicability, MraProgram
from models.common import ENTITY_TYPES
from services.core.permissions import PermissionDenied, ValidationError
from services.partners import registry as partners
from services.reference import criteria, mra
from tests.certificate_support import certify
from tests.conftest import ADMIN, ANALYST, VIEWER


@pytest.fixture
def restore_reference(engine):
    """Put back applicability rows and MRA programs a test changed (the conftest keeps reference tables)."""
    with Session(engine) as s:
        saved = {model: [row.model_dump() for row in s.exec(select(model))]
                 for model in (CriterionApplicability, MraProgram)}
    yield
    with Session(engine) as s:
        for model, rows in saved.items():
            s.exec(delete(model).where(col(model.id).not_in([row["id"] for row in rows])))
            there = set(s.exec(select(model.id)))
            if missing := [row for row in rows if row["id"] not in there]:
                s.execute(insert(model), missing)
            s.execute(update(model), [row for row in rows if row["id"] in there])
        s.commit()


def test_criteria_come_by_category_then_number(session):
    frame = criteria.list_criteria(session=session)
    ids = frame["criterion_id"].tolist()
    assert len(ids) == len(set(ids)) == 101
    assert ids.index("4.1") < ids.index("4.2") < ids.index("4.9") < ids.index("4.10") < ids.index("4.11")
    assert ids.index("4.10") == ids.index("4.9") + 1
    assert frame["category_number"].is_monotonic_increasing
    assert frame.set_index("criterion_id").loc["4.10", "category"] == "Cybersecurity"
    assert set(frame["requirement"]) == {"must", "should", ""}  # one criterion's must/should is not confirmed


def test_question_texts_in_three_languages(session):
    questions = criteria.question_texts(session=session).set_index("criterion_id")
    assert list(questions.columns) == ["en", "es", "zh"]
    assert questions.notna().all().all() and len(questions) == 101
    assert questions.loc["1.1", "es"].startswith("¿")


def test_applicability_for_one_entity_type_and_for_all(session):
    broker = criteria.applicability(session=session, entity_type="Customs Broker")
    assert set(broker["entity_type"]) == {"Customs Broker"}
    assert broker["sort_key"].is_monotonic_increasing
    assert set(broker["basis"]) <= {"CBP source", "role rule"}
    assert {"role_condition", "condition"} <= set(broker.columns)
    everything = criteria.applicability(session=session)
    assert set(everything["entity_type"]) == set(ENTITY_TYPES)
    first = everything[everything["criterion_id"] == "1.1"]["entity_type"].tolist()
    assert first == [e for e in ENTITY_TYPES if e in first]  # entity types in CBP's order


def test_questionnaire_set_is_what_applies_must_first(session):
    importer = criteria.criteria_for_entity_type(session=session, entity_type="Importer")
    applies = criteria.applicability(session=session, entity_type="Importer")
    # yes and unknown are asked (unknown flagged to confirm); the land-border items depend on the country.
    assert set(importer["criterion_id"]) == set(applies.loc[applies["applies"] != "no", "criterion_id"])
    assert set(importer.loc[importer["applies"] == "unknown", "criterion_id"]) == {"5.7", "5.15", "5.24"}
    order = importer["requirement"].map({"must": 0, "should": 1}).fillna(2)
    assert order.is_monotonic_increasing
    for _, group in importer.groupby("requirement"):
        assert group["sort_key"].is_monotonic_increasing  # 4.10 after 4.9 within must and within should
    assert {"basis", "note", "summary", "category", "applies", "condition", "asked_by_default"} <= set(
        importer.columns)
    broker = criteria.criteria_for_entity_type(session=session, entity_type="Customs Broker")
    assert set(broker.loc[broker["criterion_id"].str.match(r"^[56]\."), "criterion_id"]) == {"5.29"}
    catalogue = criteria.list_criteria(session=session).set_index("criterion_id")["requirement"]
    rules = broker[broker["basis"] == "role rule"]  # no must/should of their own: the criterion's applies
    assert len(rules) and (rules["requirement"] == rules["criterion_id"].map(catalogue)).all()


def test_questionnaire_set_refuses_an_unknown_entity_type(session):
    with pytest.raises(ValidationError, match="not a CTPAT entity type"):
        criteria.criteria_for_entity_type(session=session, entity_type="Florist")


def _events(session, entity: str) -> list[AuditEvent]:
    return list(session.exec(select(AuditEvent).where(AuditEvent.entity == entity).order_by(AuditEvent.id)))


def test_admin_override_changes_the_questionnaire_set_and_is_audited(session, staff, restore_reference):
    before = set(criteria.criteria_for_entity_type(session=session, entity_type="Customs Broker")["criterion_id"])
    assert "5.1" not in before
    row = criteria.set_applicability(session=session, actor=ADMIN, criterion_id="5.1", entity_type="Customs Broker",
                                     applies="yes", note="  Our broker also drives the containers  ")
    session.commit()
    assert (row.applies, row.basis, row.note) == ("yes", "admin override", "Our broker also drives the containers")
    after = criteria.criteria_for_entity_type(session=session, entity_type="Customs Broker")
    assert set(after["criterion_id"]) == before | {"5.1"}
    assert after.set_index("criterion_id").loc["5.1", "basis"] == "admin override"
    [event] = _events(session, "criterion")
    assert (event.username, event.entity_id, event.action) == ("admin", "5.1", "update")
    assert event.before == {"applies": "no", "basis": "role rule",
                            "note": "Customs brokers handle documents and data, not conveyances or containers."}
    assert event.after == {"applies": "yes", "basis": "admin override", "note": "Our broker also drives the containers"}

    criteria.set_applicability(session=session, actor=ADMIN, criterion_id="5.1", entity_type="Customs Broker",
                               applies="yes", note="Our broker also drives the containers")
    session.commit()
    assert len(_events(session, "criterion")) == 1  # nothing changed, nothing recorded


def test_override_of_a_pair_without_a_row_adds_one(session, staff, restore_reference):
    session.exec(delete(CriterionApplicability).where(CriterionApplicability.criterion_id == "7.35",
                                                      CriterionApplicability.entity_type == "Importer"))
    criteria.set_applicability(session=session, actor=ADMIN, criterion_id="7.35", entity_type="Importer",
                               applies="unknown", note="Ask CBP")
    session.commit()
    rows = criteria.applicability(session=session, entity_type="Importer")
    assert rows.set_index("criterion_id").loc["7.35", ["applies", "basis"]].tolist() == ["unknown", "admin override"]
    assert _events(session, "criterion")[0].action == "create"


@pytest.mark.parametrize("actor", [VIEWER, ANALYST], ids=["viewer", "analyst"])
def test_only_admins_set_applicability(session, staff, actor):
    with pytest.raises(PermissionDenied):
        criteria.set_applicability(session=session, actor=actor, criterion_id="4.10", entity_type="Importer",
                                   applies="no", note="")
    assert criteria.applicability(session=session, entity_type="Importer").set_index("criterion_id").loc[
        "4.10", "basis"] != "admin override"


@pytest.mark.parametrize(("changes", "message"), [
    ({"criterion_id": "4.99"}, "No criterion 4.99"),
    ({"entity_type": "Florist"}, "not a CTPAT entity type"),
    ({"applies": "maybe"}, "Applies must be one of"),
    ({"note": "x" * 501}, "at most 500"),
])
def test_set_applicability_rejects_bad_input(session, staff, changes, message):
    values = {"criterion_id": "4.10", "entity_type": "Importer", "applies": "no", "note": "", **changes}
    with pytest.raises(ValidationError, match=message):
        criteria.set_applicability(session=session, actor=ADMIN, **values)


def test_mra_programs_listed_oldest_first(session):
    programs = mra.list_programs(session=session)
    assert programs["signed"].is_monotonic_increasing
    assert programs.iloc[0]["partner_country"] == "New Zealand"
    assert "DE" in programs.set_index("partner_country").loc["European Union", "country_codes"].split()


NEW_PROGRAM = {"partner_country": "Australia", "customs_administration": "Australian Border Force",
               "program_name": "Australian Trusted Trader", "acronym": "ATT", "signed": "2025-03",
               "confirmed": False, "country_codes": "au, AU", "source": "https://example.org/att"}


def test_admin_adds_then_corrects_a_program(session, staff, restore_reference):
    count = session.exec(select(func.count()).select_from(MraProgram)).one()
    program = mra.save_program(session=session, actor=ADMIN, values=NEW_PROGRAM)
    session.commit()
    assert (program.country_codes, program.confirmed) == ("AU", False)
    assert session.exec(select(func.count()).select_from(MraProgram)).one() == count + 1
    fixed = mra.save_program(session=session, actor=ADMIN, values={**NEW_PROGRAM, "signed": "2025-04",
                                                                   "confirmed": True}, program_id=program.id)
    session.commit()
    assert (fixed.id, fixed.signed, fixed.confirmed) == (program.id, "2025-04", True)
    created, corrected = _events(session, "mra program")
    assert (created.action, created.before, created.after["acronym"]) == ("create", None, "ATT")
    assert (corrected.action, corrected.entity_id) == ("update", str(program.id))
    assert corrected.before == {"signed": "2025-03", "confirmed": False}
    assert corrected.after == {"signed": "2025-04", "confirmed": True}


def test_program_problems_are_all_named(session, staff):
    bad = {**NEW_PROGRAM, "acronym": "", "signed": "March 2025", "country_codes": "AU XX"}
    with pytest.raises(ValidationError) as info:
        mra.save_program(session=session, actor=ADMIN, values=bad)
    message = str(info.value)
    assert "acronym: required" in message and "signed: 'March 2025'" in message and "XX" in message
    with pytest.raises(ValidationError, match="No MRA program with id 9999"):
        mra.save_program(session=session, actor=ADMIN, values=NEW_PROGRAM, program_id=9999)


def test_only_admins_save_programs(session, staff):
    with pytest.raises(PermissionDenied):
        mra.save_program(session=session, actor=ANALYST, values=NEW_PROGRAM)


@pytest.fixture
def agent_and_factory(session, staff):
    agent = partners.create_partner(session=session, actor=ANALYST, values={
        "partner_code": "AG-1", "legal_name": "Ningbo Sourcing Agent Ltd", "entity_type": "Consolidator",
        "country_iso2": "CN"})
    session.flush()
    factory = partners.create_partner(session=session, actor=ANALYST, values={
        "partner_code": "CN-F1", "legal_name": "Ningbo Ceramics Factory", "entity_type": "Foreign Manufacturer",
        "country_iso2": "CN", "parent_id": agent.id, "mid": "CNNINCER1NIN", "criticality": "high"})
    session.commit()
    return agent, factory


def test_export_uses_the_search_filters_and_names_the_parent(session, agent_and_factory):
    frame = partners.export_partners(session=session, countries=["CN"], criticalities=["high"])
    assert frame[["partner_code", "mid", "parent_code"]].values.tolist() == [["CN-F1", "CNNINCER1NIN", "AG-1"]]
    everything = partners.export_partners(session=session, text="ningbo", sort="legal_name", descending=True)
    assert everything["partner_code"].tolist() == ["AG-1", "CN-F1"]
    assert list(everything.columns) == partners.EXPORT_COLUMNS
    assert everything["updated_at"].dt.tz is None  # Excel stores no time zones
    everything.to_excel(io.BytesIO(), index=False)


def test_new_partner_check_reports_problems_then_duplicates(session, agent_and_factory):
    with pytest.raises(ValidationError, match="partner_code: 'CN-F1' is already used"):
        partners.check_new_partner(session=session, values={"partner_code": "cn-f1", "legal_name": "X",
                                                            "entity_type": "Exporter", "country_iso2": "CN"})
    found = partners.check_new_partner(session=session, values={
        "partner_code": "CN-F2", "legal_name": "NINGBO CERAMICS FACTORY", "entity_type": "Foreign Manufacturer",
        "country_iso2": "CN", "mid": "cnnincer1nin"})
    assert [(p.partner_code, why) for p, why in found] == [("CN-F1", "MID, same name and country")]
    assert partners.check_new_partner(session=session, values={
        "partner_code": "CN-F3", "legal_name": "Other Ceramics", "entity_type": "Foreign Manufacturer",
        "country_iso2": "CN"}) == []


def test_certifications_say_what_the_rule_decides_today(session, agent_and_factory):
    _, factory = agent_and_factory
    today = date.today()
    certify(session, factory.id, number="A", valid_to=today + timedelta(days=30))
    certify(session, factory.id, program="AEO", country="JP", number="B", valid_to=today + timedelta(days=60),
            verified_on=None)
    certify(session, factory.id, number="C", valid_to=today - timedelta(days=1), status="expired")
    session.commit()
    certs = partners.certifications(session=session, partner_id=factory.id).set_index("certificate_number")
    assert certs["counts"].to_dict() == {"A": True, "B": False, "C": False}
    assert certs.loc["B", "why"] == "the claim has not been verified" and certs.loc["B", "arrangement"] == "Japan"
    assert certs.loc["C", "why"] == f"it expired after {(today - timedelta(days=1)).isoformat()}"


def test_country_names_for_pickers(session):
    names = partners.country_names(session=session)
    assert (names["VN"], names["MX"], len(names)) == ("Vietnam", "Mexico", 249)
