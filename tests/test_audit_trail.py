"""The audit trail in words: who, when, what, before and after without JSON; an import is one event with its counts
and import record; filters by person, object and date; CSV through exports/safe; the page for admin and analyst
only, with no way to change an event."""

import io
from datetime import UTC, date, datetime, timedelta

import pandas as pd
import pytest
from sqlmodel import select

from models import AuditEvent
from services import audittrail
from services.core import audit
from services.core.permissions import PermissionDenied
from services.imports.partners import apply_partners, preview_partners
from services.partners import registry
from services.selfassessment import assessment
from tests.conftest import ADMIN, ANALYST, VIEWER
from tests.test_answer_import import csv_bytes


@pytest.fixture
def history(session, staff):
    partner = registry.create_partner(session=session, actor=ANALYST, values={
        "partner_code": "P-1", "legal_name": "Núñez Logística SA", "entity_type": "Foreign Manufacturer",
        "country_iso2": "MX"})
    session.commit()
    registry.update_partner(session=session, actor=ADMIN, partner_id=partner.id,
                            values={"legal_name": "=Núñez Logística SA de CV"})
    data = csv_bytes([["V-1", "Shenzhen Bright Lamps Co., Ltd.", "Factory", "China"],
                      ["V-2", "Saigon Furniture JSC", "foreign manufacturer", "Vietnam"]],
                     header=["Vendor Code", "Supplier Name", "Type", "Country"])
    apply_partners(session=session, actor=ANALYST, preview=preview_partners(session=session,
                                                                              files=[("erp.csv", data)]))
    old = audit.record(session=session, actor=ADMIN, action="update", entity="company", entity_id="1",
                       summary="Saved the company profile", before={"tier": "Tier I"}, after={"tier": "Tier II"})
    old.at = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
    session.commit()
    return partner


def test_changes_are_told_in_words_never_json(session, history):
    frame = audittrail.events(session=session, actor=ANALYST)
    rename = frame[(frame["record"] == "partner P-1") & (frame["action"] == "changed")].iloc[0]
    assert rename["user"] == "admin"
    assert rename["changes"] == "Legal name: Núñez Logística SA → =Núñez Logística SA de CV"
    created = frame[(frame["record"] == "partner P-1") & (frame["action"] == "created")].iloc[0]
    assert "Legal name: Núñez Logística SA" in created["changes"]
    for text in frame["changes"]:
        assert "{" not in text and '":' not in text
    assert audittrail.changes_words({"owner": "Ana", "active": True}, None) == \
        "Owner: Ana (removed); Active: yes (removed)"
    assert audittrail.value_words(list("abcdefg")) == "7: a, b, c, d, e and 2 more"


def test_an_import_is_one_event_with_its_counts_and_import_record(session, history):
    frame = audittrail.events(session=session, actor=ADMIN)
    imports = frame[frame["action"] == "imported"]
    assert len(imports) == 1
    event = imports.iloc[0]
    assert "2 new" in event["summary"] and event["import_record"].startswith("#")
    assert "erp.csv" in event["import_record"] and "2 new" in event["import_record"]
    assert "Created: 2: V-1, V-2" in event["changes"]


def test_filters_by_person_object_and_date(session, history):
    assert set(audittrail.events(session=session, actor=ADMIN, username="admin")["user"]) == {"admin"}
    only = audittrail.events(session=session, actor=ADMIN, entity="partner", record_id="P-1")
    assert set(only["record"]) == {"partner P-1"} and len(only) == 2
    old = audittrail.events(session=session, actor=ADMIN, since=date(2025, 3, 1), until=date(2025, 3, 1))
    assert list(old["record"]) == ["company 1"] and old.iloc[0]["changes"] == "Tier: Tier I → Tier II"
    today = datetime.now(UTC).date()
    recent = audittrail.events(session=session, actor=ADMIN, since=today - timedelta(days=1))
    assert "company 1" not in set(recent["record"]) and len(recent) == 3
    assert audittrail.choices(session=session, actor=ADMIN) == {
        "people": ["admin", "luis"], "records": ["company", "partner", "partners"]}


def test_csv_in_words_with_typed_formulas_neutralised(session, history):
    data = audittrail.events_csv(session=session, actor=ADMIN, entity="partner")
    frame = pd.read_csv(io.BytesIO(data), encoding="utf-8-sig", keep_default_na=False)
    assert list(frame.columns) == list(audittrail.CSV_HEADERS.values())
    assert "Legal name: Núñez Logística SA → =Núñez Logística SA de CV" in set(frame["Before and after"])
    audit.record(session=session, actor=ADMIN, action="update", entity="partner", entity_id="X-9",
                 summary="@SUM(1+1)", before={"name": "a"}, after={"name": "-2+3"})
    session.commit()
    risky = pd.read_csv(io.BytesIO(audittrail.events_csv(session=session, actor=ADMIN, text="SUM")),
                        encoding="utf-8-sig", keep_default_na=False)
    assert list(risky["Summary"]) == ["'@SUM(1+1)"]  # typed text never becomes a live formula
    assert list(risky["Before and after"]) == ["Name: a → -2+3"]


def test_only_admin_and_analyst_read_the_trail(session, history):
    with pytest.raises(PermissionDenied):
        audittrail.events(session=session, actor=VIEWER)
    with pytest.raises(PermissionDenied):
        audittrail.events_csv(session=session, actor=VIEWER)


def test_the_trail_survives_what_services_do_and_stays_append_only(session, history, tmp_path, monkeypatch):
    monkeypatch.setenv("CTPAT_DATA_DIR", str(tmp_path))
    count = len(session.exec(select(AuditEvent)).all())
    frame = assessment.rows(session=session)
    assessment.save_entry(session=session, actor=ANALYST, criterion_id=frame["criterion_id"].iloc[0],
                          narrative="x", status="met")
    session.commit()
    assert len(session.exec(select(AuditEvent)).all()) == count + 1


@pytest.mark.parametrize("role", ["admin", "analyst", "viewer"])
def test_the_page_for_each_role(page_app, history, role):
    at = page_app("audit", role=role).run()
    assert not at.exception
    if role == "viewer":
        assert "does not give access" in at.error[0].value
        return
    assert at.title[0].value == "Audit trail"
    shown = at.dataframe[0].value
    assert "Legal name: Núñez Logística SA → =Núñez Logística SA de CV" in set(shown["changes"])
    assert at.get("download_button")[0].label == "Download CSV"
    assert not [b for b in at.button if "delete" in b.label.lower() or "edit" in b.label.lower()]
    at.selectbox(key="audit_person").select("admin").run()
    assert set(at.dataframe[0].value["user"]) == {"admin"}
    at.date_input(key="audit_since").set_value(date(2025, 3, 1)).run()
    at.date_input(key="audit_until").set_value(date(2025, 3, 1)).run()
    assert list(at.dataframe[0].value["record"]) == ["company 1"]
