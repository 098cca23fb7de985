"""The company profile and its key dates; the audit log's filters."""

from datetime import date, timedelta

import pytest
from sqlmodel import func, select

from models import CompanyProfile
from models.common import utcnow
from services.company import profile as company
from services.core import audit
from services.core.permissions import Actor, PermissionDenied, ValidationError
from tests.conftest import ADMIN, ANALYST, VIEWER

PROFILE = {"legal_name": "Northwind Home & Electronics, Inc.", "ctpat_account_number": "CTP-123456",
           "entity_type": "Importer", "tier": "Tier II", "certification_date": date(2019, 3, 15),
           "last_validation_date": date(2023, 6, 1), "annual_review_anniversary": date(2019, 3, 15),
           "ior_number": "12-3456789AB", "primary_contact": "Dana Miller", "primary_contact_email": "dana@nw.example"}


def test_admin_creates_then_updates_the_one_profile(session, staff):
    created = company.save_profile(session=session, actor=ADMIN, values=PROFILE)
    session.commit()
    assert company.get_profile(session=session).id == created.id
    updated = company.save_profile(session=session, actor=ADMIN, values={"tier": "Tier III", "legal_name": "Northwind"})
    session.commit()
    assert updated.id == created.id
    assert session.exec(select(func.count()).select_from(CompanyProfile)).one() == 1
    profile = company.get_profile(session=session)
    assert (profile.legal_name, profile.tier, profile.ctpat_account_number) == ("Northwind", "Tier III", "CTP-123456")

    first, second = audit.list_events(session=session, entity="company").to_dict("records")[::-1]
    assert (first["action"], first["user"], first["before"]) == ("create", "admin", None)
    assert first["after"]["certification_date"] == "2019-03-15"  # dates stored as ISO text in the JSON column
    assert second["action"] == "update"
    assert second["before"] == {"legal_name": PROFILE["legal_name"], "tier": "Tier II"}
    assert second["after"] == {"legal_name": "Northwind", "tier": "Tier III"}


@pytest.mark.parametrize("actor", [ANALYST, VIEWER], ids=["analyst", "viewer"])
def test_only_admins_save_the_profile(session, staff, actor):
    with pytest.raises(PermissionDenied):
        company.save_profile(session=session, actor=actor, values=PROFILE)
    assert company.get_profile(session=session) is None


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"legal_name": "  "}, "Legal name is required."),
        ({"entity_type": "Retailer"}, "Entity type must be one of: Importer, Exporter"),
        ({"tier": "Tier IV"}, "Tier must be one of: Not certified, Tier I, Tier II, Tier III."),
    ],
)
def test_profile_validation(session, staff, changes, message):
    with pytest.raises(ValidationError, match=message.replace(".", r"\.")):
        company.save_profile(session=session, actor=ADMIN, values={**PROFILE, **changes})


def _dates(today: date, **fields) -> dict:
    return company.key_dates(CompanyProfile(legal_name="X", **fields), today=today)


def test_anniversary_is_the_next_occurrence_with_a_90_day_window():
    dates = _dates(date(2027, 1, 10), annual_review_anniversary=date(2019, 3, 15))
    assert dates["next_anniversary"] == date(2027, 3, 15)
    assert dates["review_window_opens"] == date(2026, 12, 15)
    assert dates["days_to_anniversary"] == 64
    assert _dates(date(2027, 3, 15), annual_review_anniversary=date(2019, 3, 15))["days_to_anniversary"] == 0
    later = _dates(date(2027, 3, 16), annual_review_anniversary=date(2019, 3, 15))
    assert (later["next_anniversary"], later["days_to_anniversary"]) == (date(2028, 3, 15), 365)
    future = _dates(date(2027, 1, 10), annual_review_anniversary=date(2028, 5, 1))
    assert future["next_anniversary"] == date(2028, 5, 1)


def test_anniversary_on_29_february():
    feb29 = date(2020, 2, 29)
    assert _dates(date(2027, 1, 10), annual_review_anniversary=feb29)["next_anniversary"] == date(2027, 2, 28)
    assert _dates(date(2028, 1, 10), annual_review_anniversary=feb29)["next_anniversary"] == date(2028, 2, 29)
    # After 28 Feb of a common year the next anniversary falls in a leap year: 29 February again.
    assert _dates(date(2027, 3, 1), annual_review_anniversary=feb29)["next_anniversary"] == date(2028, 2, 29)
    assert _dates(date(2028, 3, 1), annual_review_anniversary=feb29)["next_anniversary"] == date(2029, 2, 28)


def test_revalidation_is_due_four_years_after_the_last_validation():
    today = date(2027, 1, 10)
    dates = _dates(today, certification_date=date(2019, 3, 15), last_validation_date=date(2023, 6, 1))
    assert dates["revalidation_due"] == date(2027, 6, 1)
    assert dates["days_to_revalidation"] == (date(2027, 6, 1) - today).days
    never_validated = _dates(today, certification_date=date(2019, 3, 15))
    assert never_validated["revalidation_due"] == date(2023, 3, 15)
    assert never_validated["days_to_revalidation"] < 0  # overdue shows as negative days
    assert _dates(today, last_validation_date=date(2024, 2, 29))["revalidation_due"] == date(2028, 2, 29)
    empty = _dates(today)
    assert set(empty.values()) == {None}


def _event(session, actor: Actor, action: str, entity: str, entity_id: str, summary: str, days_ago: int = 0):
    event = audit.record(session=session, actor=actor, action=action, entity=entity, entity_id=entity_id,
                         summary=summary)
    event.at = utcnow() - timedelta(days=days_ago)
    return event


def test_audit_record_keeps_only_changed_values(session, staff):
    before = {"tier": "Tier II", "city": "Laredo", "since": date(2020, 1, 2)}
    after = {"tier": "Tier III", "city": "Laredo", "since": date(2021, 1, 2)}
    audit.record(session=session, actor=ADMIN, action="update", entity="company", entity_id=1, summary="x" * 600,
                 before=before, after=after)
    session.commit()
    [event] = audit.list_events(session=session).to_dict("records")
    assert event["before"] == {"tier": "Tier II", "since": "2020-01-02"}
    assert event["after"] == {"tier": "Tier III", "since": "2021-01-02"}
    assert (event["id"], len(event["summary"]), event["user"]) == ("1", 500, "admin")


def test_audit_filters(session, staff):
    _event(session, ADMIN, "create", "user", "luis", "Created user luis (analyst)", days_ago=40)
    _event(session, ANALYST, "create", "partner", "CN-0001", "Added partner CN-0001 Lumen", days_ago=10)
    _event(session, ANALYST, "update", "partner", "CN-0001", "Edited partner CN-0001", days_ago=1)
    _event(session, ADMIN, "update", "company", "1", "Saved the company profile")
    session.commit()
    today = utcnow().date()

    def ids(**filters) -> list[str]:
        return audit.list_events(session=session, **filters)["summary"].str.slice(0, 12).tolist()

    assert ids() == ["Saved the co", "Edited partn", "Added partne", "Created user"]  # newest first
    assert ids(username="luis") == ["Edited partn", "Added partne"]
    assert ids(entity="partner", action="create") == ["Added partne"]
    assert ids(action="update") == ["Saved the co", "Edited partn"]
    assert ids(text="cn-0001") == ["Edited partn", "Added partne"]
    assert ids(text="LUMEN") == ["Added partne"]
    assert ids(text="luis") == ["Created user"]  # summary or entity id, not the username column
    assert ids(since=today - timedelta(days=10)) == ["Saved the co", "Edited partn", "Added partne"]
    assert ids(until=today - timedelta(days=10)) == ["Added partne", "Created user"]
    assert ids(since=today - timedelta(days=45), until=today - timedelta(days=2)) == ["Added partne", "Created user"]
    assert ids(since=today + timedelta(days=1)) == []
    assert ids(limit=2) == ["Saved the co", "Edited partn"]
    assert list(audit.list_events(session=session, username="nobody").columns) == [
        "at", "user", "action", "entity", "id", "summary", "before", "after"]
