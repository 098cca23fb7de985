"""Supplier links: random tokens of which only a hash is stored, expiry, revocation, one assignment per token."""

import hashlib
import re
from datetime import date, timedelta

import pytest
from sqlalchemy import select
from sqlmodel import Session

from models import Assignment, Cycle, Partner
from models.common import utcnow
from services.collection import cycles, links, questionnaire
from services.core import audit
from services.core.permissions import PermissionDenied, ValidationError
from services.partners.registry import create_partner
from tests.conftest import ANALYST, VIEWER, via_link

DUE = date.today() + timedelta(days=60)


def add_partner(session: Session, code: str, **values) -> Partner:
    base = {"partner_code": code, "legal_name": f"{code} Ltd", "entity_type": "Foreign Manufacturer",
            "country_iso2": "CN"}
    return create_partner(session=session, actor=ANALYST, values={**base, **values})


def open_cycle(session: Session, name: str = "2027") -> tuple[Cycle, list[Assignment]]:
    cycle = cycles.open_cycle(session=session, actor=ANALYST, name=name, due_date=DUE)
    assignments = session.exec(
        select(Assignment).where(Assignment.cycle_id == cycle.id).order_by(Assignment.partner_id)
    ).scalars().all()
    return cycle, list(assignments)


def test_issued_token_is_random_and_only_its_hash_is_stored(session, staff):
    add_partner(session, "A1")
    _, [assignment] = open_cycle(session)
    token = links.issue_link(session=session, actor=ANALYST, assignment_id=assignment.id)
    session.commit()
    session.refresh(assignment)

    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", token)  # 32 random bytes = 256 bits
    assert assignment.token_hash == hashlib.sha256(token.encode()).hexdigest() != token
    assert token not in str(session.exec(select(Assignment.__table__)).all())
    assert assignment.status == "sent" and assignment.sent_at is not None
    assert abs(assignment.token_expires_at - (utcnow() + timedelta(days=90))) < timedelta(minutes=1)

    event = audit.list_events(session=session, action="issue link").iloc[0]
    assert event["user"] == "luis" and "A1" in event["summary"]
    assert token not in str(event.to_dict())
    assert links.link_url(base_url="https://ctpat.example.com/", token=token) == (
        f"https://ctpat.example.com/?token={token}")


def test_resolve_token(session, staff):
    add_partner(session, "A1")
    cycle, [assignment] = open_cycle(session)
    token = links.issue_link(session=session, actor=ANALYST, assignment_id=assignment.id, valid_days=30)
    session.commit()

    assert links.resolve_token(session=session, token=token).id == assignment.id
    for bad in ("", "x" * 43, token[:-1], token + "A", "A" * 10_000, None, 12345):
        assert links.resolve_token(session=session, token=bad) is None

    assignment.token_expires_at = utcnow() - timedelta(minutes=1)
    session.add(assignment)
    session.commit()
    assert links.resolve_token(session=session, token=token) is None  # expired

    token = links.issue_link(session=session, actor=ANALYST, assignment_id=assignment.id)
    links.revoke_link(session=session, actor=ANALYST, assignment_id=assignment.id)
    session.commit()
    assert links.resolve_token(session=session, token=token) is None  # revoked
    assert audit.list_events(session=session, action="revoke link").shape[0] == 1

    token = links.issue_link(session=session, actor=ANALYST, assignment_id=assignment.id)
    session.commit()
    assert links.resolve_token(session=session, token=token) is not None
    cycles.close_cycle(session=session, actor=ANALYST, cycle_id=cycle.id)
    session.commit()
    assert links.resolve_token(session=session, token=token) is None  # cycle closed
    with pytest.raises(ValidationError, match="closed"):
        links.issue_link(session=session, actor=ANALYST, assignment_id=assignment.id)


def test_new_link_replaces_the_old_one(session, staff):
    add_partner(session, "A1")
    _, [assignment] = open_cycle(session)
    first = links.issue_link(session=session, actor=ANALYST, assignment_id=assignment.id)
    second = links.issue_link(session=session, actor=ANALYST, assignment_id=assignment.id)
    session.commit()
    assert first != second
    assert links.resolve_token(session=session, token=first) is None
    assert links.resolve_token(session=session, token=second).id == assignment.id


def test_token_of_one_assignment_never_yields_another(session, staff):
    add_partner(session, "A1")
    add_partner(session, "B1")
    _, [a, b] = open_cycle(session)
    tokens = links.issue_links(session=session, actor=ANALYST, assignment_ids=[a.id, b.id])
    first_question = questionnaire.applicable_criteria(session=session, assignment_id=b.id)[0]
    questionnaire.save_answers(session=session, assignment_id=b.id, source="link", answered_by="B1 contact",
                               answers=[{"criterion_id": first_question, "value": "no", "comment": "B's secret"}],
                               actor=via_link(session, b.id))
    session.commit()

    assert len(set(tokens.values())) == 2
    resolved = links.resolve_token(session=session, token=tokens[a.id])
    assert resolved.id == a.id and resolved.partner_id == a.partner_id
    frame = questionnaire.questionnaire(session=session, assignment_id=resolved.id)
    assert "B's secret" not in frame.to_string() and set(frame["value"]) == {""}
    assert questionnaire.assignment_info(session=session, assignment_id=resolved.id)["partner_code"] == "A1"


def test_links_are_staff_only_and_not_for_exempt_partners(session, staff):
    add_partner(session, "A1")
    _, [assignment] = open_cycle(session)
    with pytest.raises(PermissionDenied):
        links.issue_link(session=session, actor=VIEWER, assignment_id=assignment.id)
    with pytest.raises(PermissionDenied):
        links.issue_link(session=session, actor=via_link(session, assignment.id), assignment_id=assignment.id)
    with pytest.raises(ValidationError, match="no link"):
        links.revoke_link(session=session, actor=ANALYST, assignment_id=assignment.id)
    with pytest.raises(ValidationError, match="No assignment"):
        links.issue_link(session=session, actor=ANALYST, assignment_id=999_999)
    cycles.set_exempt(session=session, actor=ANALYST, assignment_id=assignment.id, exempt=True, reason="AEO")
    with pytest.raises(ValidationError, match="exempt"):
        links.issue_link(session=session, actor=ANALYST, assignment_id=assignment.id)
