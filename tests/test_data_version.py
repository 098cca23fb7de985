"""The data version: every committed write, whatever path it takes, moves it; reads and rollbacks do not."""

from datetime import date, timedelta

import pytest
from sqlalchemy import text, update
from sqlmodel import Session, select

from models import Cycle
from models.collection import CycleStatus
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
        assert other.exec(text("SELECT version FROM dataversion WHERE id = 1")).scalar_one() == start + 3


def test_sign_in_bookkeeping_moves_the_data_version_but_not_the_records_version(engine, staff):
    """A login, a failed attempt and a logout write only the user row and the audit trail: the pages showing those
    see the change (data version), while the scoring's cached million answers stay (records version)."""
    from services.core import users

    def versions() -> tuple[int, int]:
        return data_version.current(engine), data_version.current(engine, data_version.RECORDS)

    start_any, start_records = versions()
    with db.session_scope(engine) as session:
        users.record_login(session=session, username="luis")
    with db.session_scope(engine) as session:
        users.check_login(session=session, username="luis", password="not the password")
    with db.session_scope(engine) as session:
        users.log_out(session=session, username="luis")
    moved_any, records = versions()
    assert moved_any > start_any
    assert records == start_records

    with db.session_scope(engine) as session:  # a record and its audit event: both counters move once
        session.add(Cycle(name="2028", due_date=date.today() + timedelta(days=9), created_by="luis"))
    assert versions() == (moved_any + 1, start_records + 1)


def test_a_copy_on_the_drivers_cursor_moves_the_records_version(engine):
    """PostgreSQL's COPY goes through the driver's own cursor, out of SQLAlchemy's sight (services.core.bulk)."""
    import pandas as pd

    from services.core import bulk

    start = data_version.current(engine, data_version.RECORDS)
    with db.session_scope(engine) as session:
        bulk.insert_frame(session.connection(), Cycle.__table__,
                          pd.DataFrame({"name": ["2029"], "due_date": [date.today() + timedelta(days=9)],
                                        "default_language": ["en"], "status": [CycleStatus.open.value],
                                        "created_by": ["luis"], "created_at": [pd.Timestamp.now(tz="UTC")]}))
    assert data_version.current(engine, data_version.RECORDS) == start + 1
