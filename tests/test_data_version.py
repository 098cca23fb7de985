"""The data version: every committed write, whatever path it takes, moves it; reads and rollbacks do not."""

from datetime import date, timedelta

import pytest
from sqlalchemy import text, update
from sqlmodel import Session, select

from models import Cycle
from services.core import data_version, db


def test_every_committed_write_moves_the_data_version(engine):
    def version() -> int:
        return data_version.current(engine)

    start = version()
    with db.session_scope(engine) as session:
        session.exec(select(Cycle)).all()
    assert version() == start  # a read

    with db.session_scope(engine) as session:  # an ORM insert
        session.add(Cycle(name="2027", due_date=date.today() + timedelta(days=9), created_by="luis"))
    assert version() == start + 1

    with db.session_scope(engine) as session:  # a Core UPDATE, two statements: one transaction, one step
        session.exec(update(Cycle).values(created_by="dana"))
        session.exec(update(Cycle).values(created_by="luis"))
    assert version() == start + 2

    with pytest.raises(RuntimeError), db.session_scope(engine) as session:  # rolled back: nothing happened
        session.exec(update(Cycle).values(created_by="dana"))
        raise RuntimeError
    assert version() == start + 2

    with engine.begin() as conn:  # raw SQL of the driver, as the bulk answer writer sends it
        conn.exec_driver_sql("UPDATE cycle SET created_by = 'ana'")
    assert version() == start + 3

    with Session(engine) as other:  # another session sees the new number at once
        assert other.exec(text("SELECT version FROM dataversion")).scalar_one() == start + 3
