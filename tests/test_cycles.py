"""Cycles and assignments: opening (bulk, exemptions, languages), overrides, states, overdue, the funnel."""

import time
from datetime import date, timedelta

import pytest
from sqlalchemy import event, insert, select
from sqlmodel import Session

from models import Assignment, Cycle, Partner
from services.collection import cycles, links, questionnaire
from services.core import audit
from services.core.permissions import PermissionDenied, ValidationError
from services.partners.registry import create_partner
from tests.certificate_support import certify as add_certificate
from tests.conftest import ANALYST, VIEWER, via_link

TODAY = date.today()
DUE = TODAY + timedelta(days=60)


def add_partner(session: Session, code: str, **values) -> Partner:
    base = {"partner_code": code, "legal_name": f"{code} Ltd", "entity_type": "Foreign Manufacturer",
            "country_iso2": "CN", "language": "en"}
    return create_partner(session=session, actor=ANALYST, values={**base, **values})


def bulk_partners(session: Session, count: int, prefix: str = "P", **values) -> None:
    rows = [{"partner_code": f"{prefix}{i:05d}", "legal_name": f"Partner {i}", "normalized_name": f"partner {i}",
             "entity_type": "Foreign Manufacturer", "country_iso2": "CN", "language": "en", **values}
            for i in range(count)]
    session.exec(insert(Partner), params=rows)


def certify(session: Session, partner: Partner, program="CTPAT", number="CT-1", valid_until=None, verified=True,
            country="US", kind=""):
    add_certificate(session, partner.id, program=program, country=country, number=number, kind=kind,
                    valid_to=valid_until, verified_on=TODAY - timedelta(days=10) if verified else None)


def assignment_of(session: Session, cycle: Cycle, partner: Partner) -> Assignment:
    return session.exec(
        select(Assignment).where(Assignment.cycle_id == cycle.id, Assignment.partner_id == partner.id)
    ).scalar_one()


def test_open_cycle_assigns_active_partners_in_their_language(session, staff):
    es = add_partner(session, "ES1", language="es", country_iso2="MX")
    zh = add_partner(session, "ZH1", language="zh")
    en = add_partner(session, "EN1")
    inactive = add_partner(session, "OFF1", status="inactive")
    bulk_partners(session, 1, prefix="PT", language="pt")  # a language the questionnaire does not have
    cycle = cycles.open_cycle(session=session, actor=ANALYST, name=" 2027 annual review ", due_date=DUE,
                              language="es")
    session.commit()

    assert cycle.name == "2027 annual review" and cycle.status == "open" and cycle.created_by == "luis"
    rows = session.exec(select(Assignment.partner_id, Assignment.language, Assignment.status)
                        .where(Assignment.cycle_id == cycle.id)).all()
    by_partner = {pid: (lang, status) for pid, lang, status in rows}
    assert len(by_partner) == 4 and inactive.id not in by_partner
    assert by_partner[es.id] == ("es", "not sent")
    assert by_partner[zh.id] == ("zh", "not sent")
    assert by_partner[en.id] == ("en", "not sent")
    pt = session.exec(select(Partner).where(Partner.partner_code == "PT00000")).scalar_one()
    assert by_partner[pt.id][0] == "es"  # falls back to the cycle's language

    events = audit.list_events(session=session, entity="cycle")
    assert events.loc[0, "action"] == "open" and events.loc[0, "after"]["assignments"] == 4
    assert "4 partners (0 exempt)" in events.loc[0, "summary"]


def test_open_cycle_filters(session, staff):
    a = add_partner(session, "A1", entity_type="Highway Carrier", country_iso2="MX", criticality="high")
    b = add_partner(session, "B1", entity_type="Highway Carrier", country_iso2="US", criticality="low")
    c = add_partner(session, "C1", country_iso2="MX", criticality="high")

    def chosen(name, **filters):
        cycle = cycles.open_cycle(session=session, actor=ANALYST, name=name, due_date=DUE, **filters)
        return set(session.exec(select(Assignment.partner_id).where(Assignment.cycle_id == cycle.id)).scalars())

    assert chosen("by type", entity_types=["Highway Carrier"]) == {a.id, b.id}
    assert chosen("by country", countries=["MX"]) == {a.id, c.id}
    assert chosen("by criticality", criticalities=["high"], entity_types=["Foreign Manufacturer"]) == {c.id}
    assert chosen("by id", partner_ids=[b.id, c.id]) == {b.id, c.id}
    with pytest.raises(ValidationError, match="No active partner"):
        cycles.open_cycle(session=session, actor=ANALYST, name="nobody", due_date=DUE, countries=["FR"])


def test_open_cycle_refuses_bad_input_and_viewers(session, staff):
    add_partner(session, "A1")
    cycles.open_cycle(session=session, actor=ANALYST, name="2027", due_date=DUE)
    with pytest.raises(ValidationError, match="already exists"):
        cycles.open_cycle(session=session, actor=ANALYST, name="2027", due_date=DUE)
    with pytest.raises(ValidationError, match="name: required"):
        cycles.open_cycle(session=session, actor=ANALYST, name="  ", due_date=DUE)
    with pytest.raises(ValidationError, match="language"):
        cycles.open_cycle(session=session, actor=ANALYST, name="2028", due_date=DUE, language="fr")
    with pytest.raises(PermissionDenied):
        cycles.open_cycle(session=session, actor=VIEWER, name="2029", due_date=DUE)


def test_open_cycle_refuses_what_only_the_command_line_refused(session, staff):
    """A past due date and filters naming nothing that exists are refused by the service, whoever calls it."""
    add_partner(session, "A1", country_iso2="MX")
    for filters, message in (
        ({"due_date": TODAY - timedelta(days=1)}, "is in the past; every questionnaire would be overdue"),
        ({"countries": ["XX"]}, "country: unknown country code 'XX'"),
        ({"entity_types": ["Pirate"]}, "entity type: unknown 'Pirate'"),
        ({"criticalities": ["extreme"]}, "criticality: unknown 'extreme'"),
    ):
        with pytest.raises(ValidationError, match=message):
            cycles.open_cycle(session=session, actor=ANALYST, name="2027", **{"due_date": DUE, **filters})
    assert session.exec(select(Cycle)).first() is None
    cycle = cycles.open_cycle(session=session, actor=ANALYST, name="2027", due_date=TODAY, countries=[" mx"])
    assert cycle.due_date == TODAY  # due today is fine


def test_valid_verified_certification_exempts(session, staff):
    ctpat = add_partner(session, "CT1")
    certify(session, ctpat, number="CT-778", valid_until=TODAY + timedelta(days=300))
    aeo = add_partner(session, "AEO1", country_iso2="DE")
    certify(session, aeo, program="AEO", number="DEAEOF123", valid_until=None, country="DE", kind="AEO-F")
    today_expiry = add_partner(session, "CT2")
    certify(session, today_expiry, number="CT-2", valid_until=TODAY)
    expired = add_partner(session, "EXP1")
    certify(session, expired, valid_until=TODAY - timedelta(days=1))
    unverified = add_partner(session, "UNV1")
    certify(session, unverified, valid_until=TODAY + timedelta(days=300), verified=False)
    other = add_partner(session, "ISO1")
    certify(session, other, program="ISO 28000", valid_until=TODAY + timedelta(days=300), country="CN")

    cycle = cycles.open_cycle(session=session, actor=ANALYST, name="2027", due_date=DUE)
    status = {p.partner_code: assignment_of(session, cycle, p) for p in
              (ctpat, aeo, today_expiry, expired, unverified, other)}
    assert status["CT1"].status == "exempt"
    assert "CTPAT certificate CT-778" in status["CT1"].exempt_reason
    assert "valid until" in status["CT1"].exempt_reason and "verified" in status["CT1"].exempt_reason
    assert status["AEO1"].status == "exempt"
    reason = status["AEO1"].exempt_reason
    assert "AEO-F certificate DEAEOF123 (mutually recognized: European Union), no expiry" in reason
    assert status["CT2"].status == "exempt"  # valid through its last day
    for code in ("EXP1", "UNV1", "ISO1"):
        assert status[code].status == "not sent" and status[code].exempt_reason == ""
    assert "6 partners (3 exempt)" in audit.list_events(session=session, entity="cycle").loc[0, "summary"]

    plain = cycles.open_cycle(session=session, actor=ANALYST, name="no exemptions", due_date=DUE,
                              exempt_certified=False)
    assert assignment_of(session, plain, ctpat).status == "not sent"


def test_exemption_override(session, staff):
    partner = add_partner(session, "A1")
    certify(session, partner)
    cycle = cycles.open_cycle(session=session, actor=ANALYST, name="2027", due_date=DUE)
    assignment = assignment_of(session, cycle, partner)

    cycles.set_exempt(session=session, actor=ANALYST, assignment_id=assignment.id, exempt=False,
                      reason="certificate under suspension")
    assert assignment.status == "not sent" and assignment.exempt_reason == ""
    with pytest.raises(ValidationError, match="cannot unexempt"):
        cycles.set_exempt(session=session, actor=ANALYST, assignment_id=assignment.id, exempt=False)

    token = links.issue_link(session=session, actor=ANALYST, assignment_id=assignment.id)
    with pytest.raises(ValidationError, match="reason"):
        cycles.set_exempt(session=session, actor=ANALYST, assignment_id=assignment.id, exempt=True)
    with pytest.raises(PermissionDenied):
        cycles.set_exempt(session=session, actor=VIEWER, assignment_id=assignment.id, exempt=True, reason="x")
    cycles.set_exempt(session=session, actor=ANALYST, assignment_id=assignment.id, exempt=True,
                      reason="AEO certificate seen on paper")
    session.commit()
    assert assignment.status == "exempt" and assignment.exempt_reason == "AEO certificate seen on paper"
    assert links.resolve_token(session=session, token=token) is None  # an exempt partner's link stops working

    events = audit.list_events(session=session, entity="assignment")
    actions = events["action"].tolist()
    assert "exempt" in actions and "unexempt" in actions
    exempted = events[events["action"] == "exempt"].iloc[0]
    assert exempted["before"]["status"] == "sent" and exempted["after"]["status"] == "exempt"


def test_accepted_assignment_cannot_be_exempted(session, staff):
    partner = add_partner(session, "A1")
    cycle = cycles.open_cycle(session=session, actor=ANALYST, name="2027", due_date=DUE)
    assignment = assignment_of(session, cycle, partner)
    ids = questionnaire.applicable_criteria(session=session, assignment_id=assignment.id)
    questionnaire.save_answers(session=session, assignment_id=assignment.id, source="staff", answered_by="luis",
                               actor=ANALYST, answers=[{"criterion_id": c, "value": "yes"} for c in ids])
    assert questionnaire.submit(session=session, assignment_id=assignment.id, submitted_by="luis",
                                actor=via_link(session, assignment.id)) == []
    questionnaire.accept(session=session, actor=ANALYST, assignment_id=assignment.id)
    with pytest.raises(ValidationError, match="cannot exempt an assignment that is accepted"):
        cycles.set_exempt(session=session, actor=ANALYST, assignment_id=assignment.id, exempt=True, reason="x")


def test_effective_status_derives_overdue():
    due = date(2027, 1, 31)
    assert cycles.effective_status("sent", due, date(2027, 1, 31)) == "sent"  # due today is not overdue yet
    for status in ("not sent", "sent", "opened", "in progress", "returned"):
        assert cycles.effective_status(status, due, date(2027, 2, 1)) == "overdue"
    for status in ("submitted", "accepted", "exempt"):
        assert cycles.effective_status(status, due, date(2027, 2, 1)) == status


def test_funnel_and_cycle_counts(session, staff):
    partners = [add_partner(session, f"F{i}", country_iso2="VN" if i % 2 else "MX") for i in range(4)]
    partners[0].contact_name, partners[0].contact_email = "Ana Ruiz", "ana@f0.example"
    certify(session, partners[3])
    due = TODAY + timedelta(days=30)
    cycle = cycles.open_cycle(session=session, actor=ANALYST, name="2027", due_date=due)
    a0, a1, a2, a3 = (assignment_of(session, cycle, p) for p in partners)
    assert cycles.mark_sent(session=session, actor=ANALYST, assignment_ids=[a0.id, a1.id, a3.id]) == 2
    questionnaire.mark_opened(session=session, assignment_id=a1.id, actor=via_link(session, a1.id))
    session.commit()

    before_due = cycles.funnel(session=session, cycle_id=cycle.id, today=due - timedelta(days=16))
    assert list(before_due.columns) == cycles.FUNNEL_COLUMNS
    assert dict(zip(before_due["partner_code"], before_due["status"], strict=True)) == {
        "F0": "sent", "F1": "opened", "F2": "not sent", "F3": "exempt"}
    assert set(before_due["country"]) == {"Mexico", "Vietnam"}
    contacts = before_due.set_index("partner_code")[["contact_name", "contact_email"]]
    assert tuple(contacts.loc["F0"]) == ("Ana Ruiz", "ana@f0.example") and tuple(contacts.loc["F1"]) == ("", "")
    assert before_due.loc[before_due["partner_code"] == "F1", "opened_at"].notna().all()

    after_due = cycles.funnel(session=session, cycle_id=cycle.id, today=due + timedelta(days=1))
    assert after_due["status"].value_counts().to_dict() == {"overdue": 3, "exempt": 1}

    listed = cycles.list_cycles(session=session, today=due - timedelta(days=16))
    row = listed[listed["name"] == "2027"].iloc[0]
    assert (row["partners"], row["not sent"], row["sent"], row["opened"], row["exempt"], row["overdue"]) == (
        4, 1, 1, 1, 1, 0)
    late = cycles.list_cycles(session=session, today=due + timedelta(days=1)).iloc[0]
    assert (late["overdue"], late["exempt"], late["sent"]) == (3, 1, 0)
    assert set(cycles.FUNNEL_STATES) <= set(listed.columns)


def test_mark_sent_close_and_lookups(session, staff):
    partner = add_partner(session, "A1")
    first = cycles.open_cycle(session=session, actor=ANALYST, name="2026", due_date=DUE)
    second = cycles.open_cycle(session=session, actor=ANALYST, name="2027", due_date=DUE)
    assignment = assignment_of(session, second, partner)
    with pytest.raises(PermissionDenied):
        cycles.mark_sent(session=session, actor=VIEWER, assignment_ids=[assignment.id])
    assert cycles.mark_sent(session=session, actor=ANALYST, assignment_ids=[assignment.id]) == 1
    assert cycles.mark_sent(session=session, actor=ANALYST, assignment_ids=[assignment.id]) == 0
    session.refresh(assignment)
    assert assignment.status == "sent" and assignment.sent_at is not None

    assert cycles.latest_open_cycle(session=session).id == second.id
    cycles.close_cycle(session=session, actor=ANALYST, cycle_id=second.id)
    assert cycles.latest_open_cycle(session=session).id == first.id
    with pytest.raises(ValidationError, match="already closed"):
        cycles.close_cycle(session=session, actor=ANALYST, cycle_id=second.id)
    assert cycles.get_cycle_by_name(session=session, name="2027").status == "closed"
    assert cycles.get_cycle_by_name(session=session, name="nope") is None
    assert audit.list_events(session=session, entity="cycle", action="close").shape[0] == 1


def test_open_cycle_for_10000_partners_is_bulk(session, staff, engine):
    bulk_partners(session, 10_000)
    certified = session.exec(select(Partner).where(Partner.partner_code == "P00007")).scalar_one()
    certify(session, certified)
    session.commit()

    statements: list[tuple[str, bool]] = []

    def count(conn, cursor, statement, parameters, context, executemany):
        statements.append((statement.split()[0].upper(), executemany))

    event.listen(engine, "before_cursor_execute", count)
    try:
        started = time.perf_counter()
        cycle = cycles.open_cycle(session=session, actor=ANALYST, name="big", due_date=DUE)
        session.commit()
        elapsed = time.perf_counter() - started
    finally:
        event.remove(engine, "before_cursor_execute", count)

    print(f"\nopen_cycle for 10,000 partners: {elapsed:.2f} s, {len(statements)} statements")
    inserts = [s for s in statements if s[0] == "INSERT"]
    # cycle + audit event + the assignments (an executemany; PostgreSQL's driver may page it into a few batches)
    assert len(statements) < 30, statements
    assert len(inserts) <= 2 + 10
    funnel = cycles.funnel(session=session, cycle_id=cycle.id)
    assert len(funnel) == 10_000
    assert funnel["status"].value_counts().to_dict() == {"not sent": 9_999, "exempt": 1}
