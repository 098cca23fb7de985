"""The certificate rule: each case of issue 10, on the database, and its properties on generated frames."""

from datetime import date, timedelta

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlmodel import select

from models import MraProgram, Partner
from services.certificates import rule
from services.certificates import settings as rule_settings
from services.reference import mra
from tests.certificate_support import certify
from tests.conftest import ADMIN
from tests.test_criteria_service import restore_reference  # noqa: F401  (fixture)

TODAY = date.today()


def partner(session, code: str, country: str = "DE") -> int:
    row = Partner(partner_code=code, legal_name=f"{code} GmbH", normalized_name=code.lower(),
                  entity_type="Foreign Manufacturer", country_iso2=country)
    session.add(row)
    session.flush()
    return row.id


def verdict(session, cert, day: date = TODAY) -> tuple[bool, str]:
    row = rule.counts_on(session=session, day=day, certificate_ids=[cert.id]).iloc[0]
    return bool(row["counts"]), row["why"]


def test_ctpat_with_no_expiry_counts_while_verified_within_the_interval(session):
    fresh = certify(session, partner(session, "CT1", "US"), number="CT-1", verified_on=TODAY - timedelta(days=90))
    stale = certify(session, partner(session, "CT2", "US"), number="CT-2", verified_on=TODAY - timedelta(days=91))
    ok, why = verdict(session, fresh)
    assert ok and why.startswith("CTPAT certificate CT-1, no expiry, verified ")
    assert f"re-check by {TODAY.isoformat()}" in why  # the 90th day is the last that counts
    ok, why = verdict(session, stale)
    assert not ok and "is more than 90 days old: re-check due" in why


def test_the_recheck_interval_is_a_setting(session, staff):
    cert = certify(session, partner(session, "CT1", "US"), verified_on=TODAY - timedelta(days=100))
    assert not verdict(session, cert)[0]
    rule_settings.save(session=session, actor=ADMIN, recheck_days=120, join_notice_days=30)
    assert verdict(session, cert)[0]
    assert rule_settings.current(session=session).recheck_days == 120


def test_an_aeo_from_a_country_without_an_arrangement_never_counts(session):
    cert = certify(session, partner(session, "VN1", "VN"), program="AEO", country="VN", number="VN-AEO-1")
    ok, why = verdict(session, cert)
    assert not ok and why == "no arrangement in the registry covers AEO certificates issued in VN"
    assert rule.counts_on(session=session, day=TODAY, certificate_ids=[cert.id]).iloc[0]["recognition"] == \
        rule.Recognition.none


@pytest.mark.parametrize(("country", "kind", "counts"), [
    ("DE", "AEO-F", True), ("DE", "AEO-S", True), ("DE", "AEO-C", False), ("GB", "AEO-C", False),
    ("GB", "AEO-S", True), ("DE", "", False),
])
def test_eu_and_uk_types(session, country, kind, counts):
    cert = certify(session, partner(session, "EU1", country), program="AEO", country=country, number="X1", kind=kind)
    ok, why = verdict(session, cert)
    assert ok == counts
    if kind == "AEO-C":
        assert "AEO-C does not count under the" in why and "(only AEO-S, AEO-F do)" in why
    if not kind:
        assert why.startswith("its type is not recorded: under the European Union arrangement only AEO-S, AEO-F")
    if counts:
        assert "mutually recognized: " in why and ("European Union" in why or "United Kingdom" in why)


def test_a_mexican_vat_certification_is_not_a_security_program(session):
    pid = partner(session, "MX1", "MX")
    vat = certify(session, pid, program="OEA", country="MX", number="IVA-1", kind="IVA-IEPS")
    oea = certify(session, pid, program="OEA", country="MX", number="OEA-1", kind="OEA")
    neec = certify(session, pid, program="NEEC", country="MX", number="NEEC-1", kind="OEA")  # the former code
    assert verdict(session, vat) == (False, "IVA-IEPS does not count under the Mexico arrangement (only OEA do)")
    assert verdict(session, oea)[0] and verdict(session, neec)[0]


def test_an_unverified_claim_does_not_count(session):
    cert = certify(session, partner(session, "CT1", "US"), verified_on=None)
    assert verdict(session, cert) == (False, "the claim has not been verified")


@pytest.mark.parametrize("status", ["suspended", "revoked", "expired"])
def test_suspension_revocation_and_expiry_end_coverage(session, status):
    cert = certify(session, partner(session, "CT1", "US"), valid_to=TODAY + timedelta(days=100), status=status)
    assert verdict(session, cert) == (False, f"it is {status}")


def test_valid_through_the_last_day_only(session):
    pid = partner(session, "JP1", "JP")
    today = certify(session, pid, program="AEO", country="JP", number="A", valid_to=TODAY)
    yesterday = certify(session, pid, program="AEO", country="JP", number="B", valid_to=TODAY - timedelta(days=1))
    future = certify(session, pid, program="AEO", country="JP", number="C", valid_to=TODAY + timedelta(days=200))
    assert verdict(session, today)[0]
    assert verdict(session, yesterday) == (False, f"it expired after {(TODAY - timedelta(days=1)).isoformat()}")
    assert verdict(session, future)[0]
    assert not verdict(session, future, TODAY + timedelta(days=201))[0]


@pytest.mark.usefixtures("restore_reference")
def test_an_unconfirmed_arrangement_counts_only_once_an_admin_confirms_it(session, staff):
    cert = certify(session, partner(session, "PE1", "PE"), program="OEA", country="PE", number="PE-1")
    ok, why = verdict(session, cert)
    assert not ok and why == "the Peru arrangement is not confirmed (it counts once an admin confirms it)"
    peru = session.exec(select(MraProgram).where(MraProgram.partner_country == "Peru")).one()
    mra.confirm_program(session=session, actor=ADMIN, program_id=peru.id,
                        note="Listed on cbp.gov's Mutual Recognition page on " + TODAY.isoformat())
    assert verdict(session, cert)[0]
    assert (peru.confirmed_by, peru.confirmed_on) == ("admin", TODAY)


def test_india_is_unconfirmed_and_new_zealand_and_mexico_are_corrected(session):
    programs = {p.partner_country: p for p in session.exec(select(MraProgram))}
    assert not programs["India"].confirmed and not programs["Peru"].confirmed and not programs["Uruguay"].confirmed
    assert programs["New Zealand"].program_name == "Secure Exports Scheme"
    assert programs["Mexico"].acronym == "OEA (formerly NEEC)" and programs["Mexico"].codes == "OEA NEEC"
    assert programs["European Union"].types_counted == "AEO-S AEO-F"
    assert all(p.codes and p.in_force_from for p in programs.values())


def test_an_arrangement_counts_only_while_in_force(session):
    cert = certify(session, partner(session, "CO1", "CO"), program="OEA", country="CO", number="CO-1",
                   verified_on=date(2023, 4, 1), valid_to=date(2030, 1, 1))
    before = verdict(session, cert, date(2023, 4, 10))
    assert before == (False, "the Colombia arrangement is in force only from 2023-04-17")
    assert verdict(session, cert, date(2023, 4, 20))[0]


def test_japan_counts_with_its_uncertain_categories_explained(session):
    cert = certify(session, partner(session, "JP1", "JP"), program="AEO", country="JP", number="JP-9",
                   valid_to=TODAY + timedelta(days=30))
    assert verdict(session, cert)[0]
    words = rule.explain(session=session, certificate_id=cert.id, day=TODAY)
    assert "Matches the Japan arrangement" in words and "uncertain" in words
    assert "It counts on" in words and "still rated for threat and risk" in words


def test_a_certificate_naming_sites_covers_those_sites_only(session):
    pid = partner(session, "CT1", "US")
    cert = certify(session, pid, covers_all_sites=False)
    row = rule.counts_on(session=session, day=TODAY, certificate_ids=[cert.id]).iloc[0]
    assert row["counts"] and not row["covers_partner"] and "covers named sites only" in row["why"]
    assert rule.exemptions(session=session, partner_ids=[pid], day=TODAY) == {}


def test_exemption_prefers_ctpat_and_names_the_certificate(session):
    pid = partner(session, "MX1", "MX")
    certify(session, pid, program="OEA", country="MX", number="OEA-1", kind="OEA", valid_to=TODAY + timedelta(400))
    certify(session, pid, number="CT-9")
    other = partner(session, "MX2", "MX")
    certify(session, other, program="OEA", country="MX", number="OEA-2", kind="IVA-IEPS")
    reasons = rule.exemptions(session=session, partner_ids=[pid, other], day=TODAY)
    assert list(reasons) == [pid] and reasons[pid].startswith("CTPAT certificate CT-9, no expiry")
    coverage = rule.partner_coverage(session=session, day=TODAY).set_index("partner_id")
    assert not coverage.loc[other, "covered"] and "IVA-IEPS does not count" in coverage.loc[other, "reason"]


def test_explain_a_certificate_that_does_not_count(session):
    cert = certify(session, partner(session, "DE1", "DE"), program="AEO", country="DE", number="DEAEOC1",
                   kind="AEO-C")
    words = rule.explain(session=session, certificate_id=cert.id, day=TODAY)
    assert words.startswith("AEO-C certificate DEAEOC1, issued in Germany (DE); status verified.")
    assert "It does not count on" in words and "AEO-C does not count" in words
    assert rule.explain(session=session, certificate_id=999999, day=TODAY) == "There is no certificate 999999."


# Properties of the rule itself, on generated certificates (no database).
PROGRAMS = pd.DataFrame([
    {"arrangement_id": 1, "partner_country": "European Union", "program_name": "EU AEO", "acronym": "AEO",
     "codes": "AEO", "country_codes": "DE FR", "certificate_types": "AEO-C AEO-S AEO-F",
     "types_counted": "AEO-S AEO-F", "confirmed": True, "in_force_from": date(2012, 7, 1), "in_force_until": None},
    {"arrangement_id": 2, "partner_country": "Peru", "program_name": "OEA", "acronym": "OEA", "codes": "OEA",
     "country_codes": "PE", "certificate_types": "", "types_counted": "", "confirmed": False,
     "in_force_from": date(2018, 9, 1), "in_force_until": None},
])
DAYS = st.dates(min_value=date(2010, 1, 1), max_value=date(2035, 12, 31))
certificates = st.builds(
    dict,
    program=st.sampled_from(["CTPAT", "AEO", "OEA", "PIP"]),
    issuing_country=st.sampled_from(["US", "DE", "FR", "PE", "VN"]),
    certificate_type=st.sampled_from(["", "AEO-C", "AEO-S", "AEO-F"]),
    status=st.sampled_from(["claimed", "verified", "verified", "verified", "suspended", "revoked", "expired"]),
    valid_from=st.none() | DAYS,
    valid_to=st.none() | DAYS,
    no_expiry=st.booleans(),
    covers_all_sites=st.booleans(),
    last_verified=st.none() | DAYS,
    active_sites=st.integers(min_value=0, max_value=3),
    named_active_sites=st.integers(min_value=0, max_value=3),
)


def frame(rows: list[dict]) -> pd.DataFrame:
    return pd.DataFrame([{"certificate_id": i + 1, "partner_id": i % 3 + 1, "certificate_number": f"N{i}", **r}
                         for i, r in enumerate(rows)], columns=rule.CERTIFICATE_COLUMNS)


@settings(max_examples=100, deadline=None)
@given(st.lists(certificates, min_size=1, max_size=12), DAYS, st.integers(min_value=1, max_value=400))
def test_properties_of_the_rule(rows, day, recheck_days):
    given_frame = frame(rows)
    result = rule.evaluate(given_frame, PROGRAMS, day=day, recheck_days=recheck_days)
    assert len(result) == len(rows)
    for r, out in zip(rows, result.itertuples(), strict=True):
        if out.counts:
            # Never after its valid-to day, never unverified or ended, never on a stale or future check.
            assert r["no_expiry"] or (r["valid_to"] is not None and day <= r["valid_to"])
            assert r["status"] == "verified"
            assert r["last_verified"] is not None and 0 <= (day - r["last_verified"]).days <= recheck_days
            assert r["valid_from"] is None or r["valid_from"] <= day
            assert r["program"] == "CTPAT" or (r["program"] == "AEO" and r["issuing_country"] in ("DE", "FR")
                                               and r["certificate_type"] in ("AEO-S", "AEO-F"))
        else:
            assert out.why and not out.covers_partner
        names_every_site = 0 < r["active_sites"] <= r["named_active_sites"]
        assert out.covers_partner == (out.counts and (r["covers_all_sites"] or names_every_site))
    # A certificate alone gets the same answer as among others (first, middle and last checked).
    for i in sorted({0, len(rows) // 2, len(rows) - 1}):
        alone = rule.evaluate(given_frame.iloc[[i]], PROGRAMS, day=day, recheck_days=recheck_days).iloc[0]
        assert (alone["counts"], alone["why"]) == (result.iloc[i]["counts"], result.iloc[i]["why"])
    # Without the site counts, a certificate that names sites never covers the partner as a whole.
    bare = rule.evaluate(given_frame.drop(columns=["active_sites", "named_active_sites"]), PROGRAMS, day=day,
                         recheck_days=recheck_days)
    assert bare["covers_partner"].tolist() == (result["counts"] & result["covers_all_sites"]).tolist()
    # Without words the decisions are the same.
    quiet = rule.evaluate(given_frame, PROGRAMS, day=day, recheck_days=recheck_days, words=False)
    assert quiet["counts"].tolist() == result["counts"].tolist() and not quiet["why"].str.len().any()


@settings(max_examples=60, deadline=None)
@given(st.lists(certificates, min_size=1, max_size=8), DAYS, st.integers(min_value=1, max_value=300),
       st.integers(min_value=0, max_value=300))
def test_a_longer_recheck_interval_never_takes_coverage_away(rows, day, recheck_days, more):
    shorter = rule.evaluate(frame(rows), PROGRAMS, day=day, recheck_days=recheck_days, words=False)["counts"]
    longer = rule.evaluate(frame(rows), PROGRAMS, day=day, recheck_days=recheck_days + more, words=False)["counts"]
    assert not (shorter & ~longer).any()


def test_the_deciding_certificate_is_ctpat_then_the_one_valid_longest(session):
    pid = partner(session, "MX1", "MX")
    certify(session, pid, program="OEA", country="MX", number="SHORT", kind="OEA", valid_to=TODAY + timedelta(100))
    certify(session, pid, program="OEA", country="MX", number="LONG", kind="OEA", valid_to=TODAY + timedelta(400))
    certify(session, pid, program="OEA", country="MX", number="NONE", kind="OEA", valid_to=TODAY + timedelta(900),
            status="suspended")
    best = rule.partner_coverage(session=session, day=TODAY).iloc[0]
    assert best["covered"] and "certificate LONG" in best["reason"]
    certify(session, pid, number="CT-1")
    assert rule.partner_coverage(session=session, day=TODAY).iloc[0]["reason"].startswith("CTPAT certificate CT-1")
