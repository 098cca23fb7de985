"""Merging a duplicate partner into the one kept: nothing is lost."""

from datetime import date, timedelta

import pandas as pd
import pytest
from sqlmodel import select

from models import Answer, Assignment, AuditEvent, Certificate, Partner
from services.collection import answers, cycles
from services.core.permissions import PermissionDenied, ValidationError
from services.partners import registry as partners
from tests.certificate_support import certify
from tests.conftest import ANALYST, VIEWER


def _partner(session, code, name, **extra):
    values = {"partner_code": code, "legal_name": name, "entity_type": "Foreign Manufacturer", "country_iso2": "CN",
              **extra}
    return partners.create_partner(session=session, actor=ANALYST, values=values)


def _answer(session, assignment_id, criterion_id, value, comment=""):
    rows = pd.DataFrame([{"assignment_id": assignment_id, "criterion_id": criterion_id, "value": value,
                          "comment": comment, "answered_on": None, "source": "staff", "answered_by": "luis"}])
    answers.store_answers(session=session, rows=rows)


def test_merge_moves_everything_and_deactivates_the_duplicate(session, staff):
    keep = _partner(session, "K1", "Huaxin Electronics Co., Ltd.", mid="CNHUAELE12SHE")
    dup = _partner(session, "D1", "Huaxin Electronics Limited", duns="123456789")
    child = _partner(session, "C1", "Huaxin Plant 2", parent_id=dup.id)
    certify(session, dup.id, number="X-1", verified_on=None)
    session.commit()
    cycle = cycles.open_cycle(session=session, actor=ANALYST, name="2027", due_date=date.today() + timedelta(30),
                              partner_ids=[keep.id, dup.id])
    session.commit()
    by_partner = {a.partner_id: a.id for a in session.exec(select(Assignment))}
    _answer(session, by_partner[keep.id], "1.1", "yes")
    _answer(session, by_partner[dup.id], "1.1", "no", "not yet")
    _answer(session, by_partner[dup.id], "1.2", "yes")
    session.commit()

    partners.merge_partners(session=session, actor=ANALYST, keep_id=keep.id, duplicate_id=dup.id)
    session.commit()

    session.expire_all()
    kept, merged = session.get(Partner, keep.id), session.get(Partner, dup.id)
    assert merged.status == "inactive" and "Merged into K1" in merged.notes
    assert kept.duns == "123456789" and kept.mid == "CNHUAELE12SHE"
    assert session.get(Partner, child.id).parent_id == keep.id
    assert session.exec(select(Certificate.partner_id)).all() == [keep.id]
    assert [a.partner_id for a in session.exec(select(Assignment).where(Assignment.cycle_id == cycle.id))] == [keep.id]
    rows = {(a.criterion_id, a.value): a.is_current for a in session.exec(select(Answer))}
    assert rows == {("1.1", "yes"): True, ("1.1", "no"): False, ("1.2", "yes"): True}
    assert session.exec(select(AuditEvent).where(AuditEvent.action == "merge")).one().entity_id == "K1"


def test_merge_rules(session, staff):
    a, b = _partner(session, "A1", "Alpha Works"), _partner(session, "B1", "Beta Works")
    session.commit()
    with pytest.raises(PermissionDenied):
        partners.merge_partners(session=session, actor=VIEWER, keep_id=a.id, duplicate_id=b.id)
    with pytest.raises(ValidationError, match="itself"):
        partners.merge_partners(session=session, actor=ANALYST, keep_id=a.id, duplicate_id=a.id)
