"""Shared builders for the action plan and incident tests: partners with accepted questionnaires that have gaps."""

from datetime import date, timedelta

from sqlmodel import Session, select

from models import Assignment, Partner
from models.collection import AnswerValue
from services.collection import cycles, questionnaire
from services.partners import registry as partner_registry
from tests.conftest import ANALYST, via_link

DUE = date.today() + timedelta(days=60)


def add_partner(session: Session, code: str, **values) -> Partner:
    base = {"partner_code": code, "legal_name": f"{code} Ltd", "entity_type": "Foreign Manufacturer",
            "country_iso2": "CN"}
    made = partner_registry.create_partner(session=session, actor=ANALYST, values={**base, **values})
    session.flush()
    return made


def accepted(session: Session, partner: Partner, gaps: dict[str, str], cycle: str = "2027") -> Assignment:
    """`partner` answers every question of a new one-partner cycle ("<cycle> <code>") yes, except `gaps`
    (criterion -> value), through its link; the team accepts. Returns the accepted assignment (committed)."""
    made = cycles.open_cycle(session=session, actor=ANALYST, name=f"{cycle} {partner.partner_code}", due_date=DUE,
                             partner_ids=[partner.id])
    assignment = session.exec(select(Assignment).where(Assignment.cycle_id == made.id)).one()
    ids = questionnaire.applicable_criteria(session=session, assignment_id=assignment.id)
    answers = [{"criterion_id": c, "value": gaps.get(c, AnswerValue.yes),
                "comment": f"not yet for {c}" if c in gaps else ""} for c in ids]
    actor = via_link(session, assignment.id)
    questionnaire.save_answers(session=session, assignment_id=assignment.id, source="link", answered_by="Ms. Chen",
                               actor=actor, answers=answers)
    assert questionnaire.submit(session=session, assignment_id=assignment.id, submitted_by="Ms. Chen",
                                actor=actor) == []
    questionnaire.accept(session=session, actor=ANALYST, assignment_id=assignment.id)
    session.commit()
    return assignment
