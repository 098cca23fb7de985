"""Bulk answer writes (services.core.bulk.insert_frame through store_answers): every row and value as given, in
statements of many rows with the shared values bound once, one error type on both databases."""

from datetime import date, timedelta

import pandas as pd
import pytest
from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from models import Answer, Assignment, Criterion
from services.collection import answers, cycles
from services.core import bulk, data_version
from services.partners import registry as partners
from tests.conftest import ANALYST


def _assignments(session, count: int) -> list[int]:
    made = [partners.create_partner(session=session, actor=ANALYST, values={
        "partner_code": f"B{i}", "legal_name": f"Bulk Partner {i}", "entity_type": "Foreign Manufacturer",
        "country_iso2": "CN"}) for i in range(count)]
    session.commit()
    cycles.open_cycle(session=session, actor=ANALYST, name="2027", due_date=date.today() + timedelta(30),
                      partner_ids=[p.id for p in made])
    session.commit()
    return sorted(session.exec(select(Assignment.id)).all())


def _stored(session) -> pd.DataFrame:
    rows = session.exec(select(Answer.assignment_id, Answer.criterion_id, Answer.value, Answer.comment,
                               Answer.answered_on, Answer.source, Answer.answered_by, Answer.is_current)
                        .order_by(Answer.assignment_id, Answer.criterion_id)).all()
    return pd.DataFrame([tuple(r) for r in rows], columns=["assignment_id", "criterion_id", "value", "comment",
                                                           "answered_on", "source", "answered_by", "is_current"])


@pytest.mark.parametrize("per_statement", [7, bulk.ROWS_PER_INSERT])
def test_many_rows_in_statements_of_several_rows_with_shared_values(session, staff, monkeypatch, per_statement):
    monkeypatch.setattr(bulk, "ROWS_PER_INSERT", per_statement)
    monkeypatch.setattr(bulk, "ROWS_PER_CALL", 20)  # several calls of several statements, and a remainder
    assignment_ids = _assignments(session, 3)
    criteria = session.exec(select(Criterion.criterion_id).order_by(Criterion.sort_key).limit(17)).all()
    rows = pd.DataFrame([{"assignment_id": a, "criterion_id": c, "value": ("yes", "no", "partial")[i % 3],
                          "comment": "" if i % 3 == 0 else f"comment {i}\twith a tab, 'quotes' and é",
                          "answered_on": date(2026, 11, 1 + i % 5) if i % 4 else None,
                          "source": "file", "answered_by": "luis"}
                         for i, (a, c) in enumerate((a, c) for a in assignment_ids for c in criteria)])
    assert answers.store_answers(session=session, rows=rows) == 51
    session.commit()

    stored = _stored(session)
    expected = rows.assign(is_current=True).sort_values(["assignment_id", "criterion_id"]).reset_index(drop=True)
    assert stored.drop(columns="answered_on").astype(str).equals(expected.drop(columns="answered_on").astype(str))
    assert stored["answered_on"].tolist() == expected["answered_on"].tolist()
    recorded = session.exec(select(Answer.recorded_at).distinct()).all()
    assert len(recorded) == 1  # one time for the whole write


def test_one_row_and_a_column_empty_in_every_row(session, staff):
    [assignment_id] = _assignments(session, 1)
    one = pd.DataFrame([{"assignment_id": assignment_id, "criterion_id": "1.1", "value": "no", "comment": "not yet",
                         "answered_on": None, "source": "staff", "answered_by": "luis"}])
    assert answers.store_answers(session=session, rows=one) == 1
    session.commit()
    assert _stored(session).to_dict("records") == [{
        "assignment_id": assignment_id, "criterion_id": "1.1", "value": "no", "comment": "not yet",
        "answered_on": None, "source": "staff", "answered_by": "luis", "is_current": True}]


def test_a_second_current_answer_is_an_integrity_error_and_a_write_moves_the_data_version(session, staff, engine):
    [assignment_id] = _assignments(session, 1)
    rows = pd.DataFrame([{"assignment_id": assignment_id, "criterion_id": c, "value": "yes", "comment": "",
                          "answered_on": None, "source": "file", "answered_by": "luis"} for c in ("1.1", "1.2")])
    before = data_version.current(engine)
    answers.store_answers(session=session, rows=rows)
    session.commit()  # the bulk write alone (COPY on PostgreSQL) counts as a write
    assert data_version.current(engine) == before + 1

    with pytest.raises(IntegrityError):  # what apply_responses turns into "preview again"
        answers.store_answers(session=session, rows=rows.iloc[[1]])
    session.rollback()
    assert len(_stored(session)) == 2
