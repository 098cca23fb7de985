"""Coverage by country and entity type, import share (Unknown where missing), and the watch lists."""

from datetime import date, timedelta

import pandas as pd

from models import Partner
from services.certificates import coverage
from tests.certificate_support import certify

TODAY = date.today()


def partner(session, code, country, entity="Foreign Manufacturer", share=None, status="active") -> int:
    row = Partner(partner_code=code, legal_name=f"{code} Ltd", normalized_name=code.lower(), entity_type=entity,
                  country_iso2=country, import_share=share, status=status)
    session.add(row)
    session.flush()
    return row.id


def test_coverage_by_country_and_entity_type_with_unknown_import_share(session):
    us = partner(session, "US1", "US", "Highway Carrier", share=None)
    de = partner(session, "DE1", "DE", share=30.0)
    de2 = partner(session, "DE2", "DE", share=10.0)
    vn = partner(session, "VN1", "VN", share=60.0)
    gone = partner(session, "OLD", "US", status="inactive")
    certify(session, us, number="CT-1")
    certify(session, de, program="AEO", country="DE", number="DEAEOF1", kind="AEO-F")
    certify(session, de2, program="AEO", country="DE", number="DEAEOC2", kind="AEO-C")
    certify(session, vn, program="AEO", country="VN", number="VN-1")
    certify(session, gone, number="CT-OLD")

    table = coverage.partner_table(session=session, day=TODAY)
    assert sorted(table["partner_code"]) == ["DE1", "DE2", "US1", "VN1"]
    basis = table.set_index("partner_code")["basis"].to_dict()
    assert basis == {"US1": "CTPAT", "DE1": "mutual recognition", "DE2": "not covered", "VN1": "not covered"}
    head = coverage.summary(table)
    assert (head["active"], head["covered"], head["by_ctpat"], head["by_mutual_recognition"]) == (4, 2, 1, 1)
    assert head["share_of_import_covered"] == 30.0 / 100.0 and head["import_unknown"] == 1

    countries = coverage.by_group(table, "country").set_index("country")
    assert (countries.loc["Germany", "partners"], countries.loc["Germany", "covered"]) == (2, 1)
    assert countries.loc["Germany", "share_of_import_covered"] == 0.75
    assert pd.isna(countries.loc["United States", "share_of_import_covered"])  # Unknown, not 0 %
    assert countries.loc["United States", "import_unknown"] == 1
    types = coverage.by_group(table, "entity_type").set_index("entity_type")
    assert types.loc["Foreign Manufacturer", "not_covered"] == 2


def test_import_share_is_unknown_when_nobody_has_one(session):
    certify(session, partner(session, "US1", "US"), number="CT-1")
    head = coverage.summary(coverage.partner_table(session=session, day=TODAY))
    assert head["share_of_import_covered"] is None and head["share_covered"] == 1.0


def test_watch_lists(session):
    pid = partner(session, "MX1", "MX")
    for days, number in ((10, "A"), (45, "B"), (80, "C"), (120, "D")):
        certify(session, pid, program="OEA", country="MX", number=number, kind="OEA",
                valid_to=TODAY + timedelta(days=days))
    certify(session, pid, program="OEA", country="MX", number="GONE", kind="OEA",
            valid_to=TODAY + timedelta(days=5), status="revoked")
    certify(session, pid, number="CLAIM", verified_on=None)
    certify(session, pid, number="OLD", verified_on=TODAY - timedelta(days=120))
    certify(session, pid, program="OEA", country="MX", number="VAT", kind="IVA-IEPS", valid_to=TODAY + timedelta(400))
    lists = coverage.watch_lists(session=session, day=TODAY)
    expiring = lists["expiring"].set_index("certificate_number")
    assert expiring["window"].to_dict() == {"A": 30, "B": 60, "C": 90}
    assert expiring.loc["A", "days_left"] == 10
    assert lists["never verified"]["certificate_number"].tolist() == ["CLAIM"]
    assert lists["stale"]["certificate_number"].tolist() == ["OLD"]
    assert lists["not recognized"]["certificate_number"].tolist() == ["VAT"]


def test_an_empty_book(session):
    table = coverage.partner_table(session=session, day=TODAY)
    assert table.empty and coverage.summary(table)["share_covered"] is None
    assert coverage.by_group(table, "country").empty
    assert all(frame.empty for frame in coverage.watch_lists(session=session, day=TODAY).values())
