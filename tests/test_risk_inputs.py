"""The scoring inputs read from the database (services.risk.inputs): the day of an answer (SQLite, or PostgreSQL with
CTPAT_TEST_DATABASE_URL)."""

from datetime import UTC, date, datetime

import numpy as np
from sqlmodel import select

from models import Answer, Assignment
from models.collection import AssignmentStatus
from services.demo.generator import seed_demo
from services.risk import inputs

TODAY = date(2026, 11, 16)


def _day(value: date) -> int:
    return int((np.datetime64(value, "D") - np.datetime64("1970-01-01", "D")).astype(int))


def test_an_answer_is_dated_by_its_own_date_or_else_by_the_utc_day_it_was_recorded(session):
    seed_demo(session=session, partners=30, seed=7, today=TODAY)
    session.commit()
    dated, undated = session.exec(
        select(Answer).join(Assignment, Assignment.id == Answer.assignment_id)
        .where(Answer.is_current, Assignment.status == AssignmentStatus.accepted).order_by(Answer.id).limit(2)).all()
    dated.answered_on = date(2026, 11, 14)
    undated.answered_on = None
    undated.recorded_at = datetime(2026, 11, 15, 23, 30, tzinfo=UTC)  # late in the UTC day, early next day eastward
    session.add_all([dated, undated])
    session.commit()
    partner_of = dict(session.exec(select(Assignment.id, Assignment.partner_id)).all())
    loaded = inputs.load(session=session, today=TODAY)
    pidx = loaded.partners.reset_index().set_index("partner_id")["index"]
    answers = loaded.answers
    for answer, expected in ((dated, date(2026, 11, 14)), (undated, date(2026, 11, 15))):
        row = answers[(answers["pidx"] == pidx[partner_of[answer.assignment_id]])
                      & (answers["criterion_id"] == answer.criterion_id)]
        assert len(row) == 1
        assert int(row["assignment_id"].iloc[0]) == answer.assignment_id
        assert int(row["day"].iloc[0]) == _day(expected)
