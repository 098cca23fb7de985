"""The audit log is append-only in the database: triggers (migration 0011) refuse every UPDATE and DELETE of an
audit event on SQLite and PostgreSQL, whether it comes through a service session, the ORM or raw SQL."""

import pytest
from sqlalchemy import delete, text, update
from sqlalchemy.exc import DatabaseError
from sqlmodel import Session, select

from models import AuditEvent
from services.core import audit
from tests.conftest import ADMIN


@pytest.fixture
def event_id(session) -> int:
    event = audit.record(session=session, actor=ADMIN, action="update", entity="partner", entity_id="P1",
                         summary="Renamed", before={"name": "A"}, after={"name": "B"})
    session.commit()
    return event.id


def test_a_raw_update_or_delete_is_refused(engine, event_id):
    for statement in ("UPDATE auditevent SET summary = 'forged' WHERE id = :id",
                      "DELETE FROM auditevent WHERE id = :id", "DELETE FROM auditevent"):
        with pytest.raises(DatabaseError, match="append-only"), engine.begin() as conn:
            conn.execute(text(statement), {"id": event_id})
    with engine.connect() as conn:
        assert conn.execute(text("SELECT summary FROM auditevent WHERE id = :id"), {"id": event_id}).scalar() \
            == "Renamed"


def test_the_orm_cannot_change_or_delete_an_event_either(engine, event_id):
    with Session(engine) as s:
        event = s.get(AuditEvent, event_id)
        event.summary = "forged"
        with pytest.raises(DatabaseError, match="append-only"):
            s.commit()
    with Session(engine) as s:
        s.delete(s.get(AuditEvent, event_id))
        with pytest.raises(DatabaseError, match="append-only"):
            s.commit()
    with Session(engine) as s:
        for statement in (update(AuditEvent).values(username="someone"), delete(AuditEvent)):
            with pytest.raises(DatabaseError, match="append-only"):
                s.exec(statement)
            s.rollback()
        assert s.exec(select(AuditEvent.summary)).all() == ["Renamed"]


def test_truncate_is_refused_on_postgresql(engine, event_id):
    if engine.dialect.name != "postgresql":
        pytest.skip("TRUNCATE is PostgreSQL's; SQLite's DELETE without WHERE is refused above")
    with pytest.raises(DatabaseError, match="append-only"), engine.begin() as conn:
        conn.execute(text("TRUNCATE auditevent"))


def test_new_events_are_still_added(session, event_id):
    audit.record(session=session, actor=ADMIN, action="create", entity="partner", entity_id="P2", summary="Added")
    session.commit()
    assert len(session.exec(select(AuditEvent)).all()) == 2
