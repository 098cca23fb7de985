"""Per-assignment due dates: a partner that joined a cycle late is due on its own date everywhere."""

from datetime import date, timedelta

from sqlmodel import select

from models import Assignment, Partner
from services.certificates import records
from services.collection import cycles, questionnaire
from services.exports.workbook import cycle_workbooks, questionnaire_workbook
from services.partners.registry import create_partner
from tests.certificate_support import certify
from tests.conftest import ANALYST
from tests.test_workbook import instructions_text

TODAY = date.today()
DUE = TODAY + timedelta(days=10)
LATE = TODAY + timedelta(days=30)  # the notice a late joiner gets (certificate settings)


def _partner(session, code: str) -> Partner:
    return create_partner(session=session, actor=ANALYST, values={
        "partner_code": code, "legal_name": f"{code} Ltd", "entity_type": "Foreign Manufacturer",
        "country_iso2": "CN"})


def _cycle_with_a_late_joiner(session):
    """A cycle due in 10 days: ON1 from the start, LATE1 joined after losing its certificate (due in 30 days)."""
    on_time, late = _partner(session, "ON1"), _partner(session, "LATE1")
    cert = certify(session, late.id)
    session.commit()
    cycle = cycles.open_cycle(session=session, actor=ANALYST, name="2027 annual review", due_date=DUE)
    session.commit()
    ids = dict(session.exec(select(Assignment.partner_id, Assignment.id).where(Assignment.cycle_id == cycle.id)).all())
    assert session.get(Assignment, ids[late.id]).status == "exempt"
    records.set_status(session=session, actor=ANALYST, certificate_id=cert.id, status="revoked", effective_on=TODAY,
                       note="Revoked: seen on the CTPAT portal")
    session.commit()
    assert session.get(Assignment, ids[late.id]).status == "not sent"
    return cycle, ids[on_time.id], ids[late.id]


def test_the_due_date_of_an_assignment_is_its_own_else_the_cycles():
    assert cycles.assignment_due_date(None, DUE) == DUE
    assert cycles.assignment_due_date(LATE, DUE) == LATE


def test_late_joiner_keeps_its_own_due_date_in_funnel_and_cycle_counts(session, staff):
    cycle, on_time, late = _cycle_with_a_late_joiner(session)
    assert session.get(Assignment, late).due_date == LATE  # today + the 30-day notice, later than the cycle's

    between = DUE + timedelta(days=1)
    funnel = cycles.funnel(session=session, cycle_id=cycle.id, today=between).set_index("assignment_id")
    assert funnel.loc[on_time, "status"] == "overdue" and funnel.loc[late, "status"] == "not sent"
    assert (funnel.loc[on_time, "due_date"], funnel.loc[late, "due_date"]) == (DUE, LATE)
    row = cycles.list_cycles(session=session, today=between).iloc[0]
    assert (row["overdue"], row["not sent"], row["partners"]) == (1, 1, 2)

    after = LATE + timedelta(days=1)
    assert set(cycles.funnel(session=session, cycle_id=cycle.id, today=after)["status"]) == {"overdue"}
    assert cycles.list_cycles(session=session, today=after).iloc[0]["overdue"] == 2
    assert cycles.effective_status("sent", cycles.assignment_due_date(LATE, DUE), between) == "sent"


def test_supplier_header_and_workbooks_show_the_assignments_due_date(session, staff):
    cycle, on_time, late = _cycle_with_a_late_joiner(session)
    assert questionnaire.assignment_info(session=session, assignment_id=late)["due_date"] == LATE
    assert questionnaire.assignment_info(session=session, assignment_id=on_time)["due_date"] == DUE

    own = instructions_text(questionnaire_workbook(session=session, assignment_ids=[late]))
    assert LATE.isoformat() in own and DUE.isoformat() not in own
    both = instructions_text(questionnaire_workbook(session=session, assignment_ids=[late, on_time]))
    assert DUE.isoformat() in both  # several partners in one file: the earliest date
    files = cycle_workbooks(session=session, cycle_id=cycle.id)
    assert LATE.isoformat() in instructions_text(files["LATE1.xlsx"])
    assert DUE.isoformat() in instructions_text(files["ON1.xlsx"])
