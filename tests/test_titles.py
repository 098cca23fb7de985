"""A cycle's title for partners (issue 7, item 6): per language, a neutral default, never the team's cycle name."""

import io
from datetime import date, timedelta

import pytest
from openpyxl import load_workbook
from sqlmodel import Session, select

from models import Assignment, AuditEvent, Cycle
from services.collection import cycles, questionnaire, titles
from services.core.permissions import PermissionDenied, ValidationError
from services.exports import workbook
from services.partners.registry import create_partner
from tests.conftest import ANALYST, VIEWER

DUE = date.today() + timedelta(days=60)
NAME = "2027 critical partners spot check"


def open_cycle(session: Session, **values) -> Cycle:
    create_partner(session=session, actor=ANALYST, values={
        "partner_code": "MX1", "legal_name": "Transportes MX", "entity_type": "Foreign Manufacturer",
        "country_iso2": "MX", "language": "es"})
    cycle = cycles.open_cycle(session=session, actor=ANALYST, name=NAME, due_date=DUE, language="es", **values)
    session.commit()
    return cycle


def assignment_id(session: Session) -> int:
    return session.exec(select(Assignment.id)).one()


def test_without_titles_partners_read_the_neutral_default_in_their_language(session, staff):
    cycle = open_cycle(session)
    assert cycle.partner_titles == {}
    assert titles.partner_titles(cycle) == {
        "en": f"Supply chain security questionnaire {DUE.year}",
        "es": f"Cuestionario de seguridad de la cadena de suministro {DUE.year}",
        "zh": f"{DUE.year} 年供应链安全问卷"}
    assert titles.partner_title(cycle, "pt") == titles.partner_title(cycle, "en")  # unknown language: English
    info = questionnaire.assignment_info(session=session, assignment_id=assignment_id(session))
    assert info["partner_titles"] == titles.partner_titles(cycle)  # what the supplier page shows


def test_titles_set_per_language_are_tidied_stored_and_audited(session, staff):
    cycle = open_cycle(session, partner_titles={"en": "  Annual \t security\nreview ", "zh": "", "es": None})
    assert cycle.partner_titles == {"en": "Annual security review"}  # blank ones: the default applies
    assert titles.partner_title(cycle, "es") == f"Cuestionario de seguridad de la cadena de suministro {DUE.year}"

    titles.set_partner_titles(session=session, actor=ANALYST, cycle_id=cycle.id,
                              titles={"en": "", "es": "Revisión anual 2027", "zh": "年度审查"})
    session.commit()
    session.expire_all()
    stored = session.get(Cycle, cycle.id)
    assert stored.partner_titles == {"es": "Revisión anual 2027", "zh": "年度审查"}
    assert titles.partner_title(stored, "en") == f"Supply chain security questionnaire {DUE.year}"
    event = session.exec(select(AuditEvent).where(AuditEvent.action == "set titles")).one()
    assert event.username == "luis" and event.entity_id == NAME
    assert event.before == {"partner_titles": {"en": "Annual security review"}}
    assert event.after == {"partner_titles": {"es": "Revisión anual 2027", "zh": "年度审查"}}

    titles.set_partner_titles(session=session, actor=ANALYST, cycle_id=cycle.id,
                              titles={"es": " Revisión anual 2027 ", "zh": "年度审查"})  # no change: no event
    session.commit()
    assert len(session.exec(select(AuditEvent).where(AuditEvent.action == "set titles")).all()) == 1


@pytest.mark.parametrize(("given", "message"), [
    ({"fr": "Revue"}, "'fr' is not a language of the questionnaire"),
    ({"es": "x" * 121}, r"title \(Español\): 121 characters, at most 120"),
])
def test_bad_titles_are_refused_and_nothing_is_written(session, staff, given, message):
    with pytest.raises(ValidationError, match=message):
        open_cycle(session, partner_titles=given)
    session.rollback()
    assert session.exec(select(Cycle)).all() == []


def test_only_writers_set_titles(session, staff):
    cycle = open_cycle(session)
    with pytest.raises(PermissionDenied):
        titles.set_partner_titles(session=session, actor=VIEWER, cycle_id=cycle.id, titles={"en": "Mine"})
    with pytest.raises(ValidationError, match="No cycle with id 999"):
        titles.set_partner_titles(session=session, actor=ANALYST, cycle_id=999, titles={"en": "Mine"})


def test_the_workbook_sent_to_a_partner_carries_the_title_not_the_name(session, staff):
    open_cycle(session, partner_titles={"es": "Revisión anual 2027"})
    data = workbook.questionnaire_workbook(session=session, assignment_ids=[assignment_id(session)])
    book = load_workbook(io.BytesIO(data))
    text = "\n".join(str(c.value) for row in book.worksheets[0].iter_rows() for c in row if c.value)
    assert "Revisión anual 2027" in text and NAME not in text
    assert NAME not in (book.properties.title or "")


@pytest.mark.parametrize(("code", "title", "expected"), [
    ("MX-0001", "Revisión anual 2027", "MX-0001 Revisión anual 2027.xlsx"),
    ("CN-0001", "2027 年供应链安全问卷", "CN-0001 2027 年供应链安全问卷.xlsx"),
    ("A/B", 'Review: "Q1" <2027>?', "A_B Review_ _Q1_ _2027.xlsx"),
])
def test_partner_file_name_keeps_letters_of_every_script_and_drops_unsafe_characters(code, title, expected):
    assert workbook.partner_file_name(partner_code=code, title=title) == expected
