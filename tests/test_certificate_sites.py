"""Certificates that name sites (issue 10: "coverage is per site where the certificate names sites"): the rule, the
coverage per site, recording, importing, and what adding a site does to an exemption."""

from datetime import date, timedelta

import pandas as pd
import pytest
from sqlmodel import select

from models import Assignment, AuditEvent, CertificateSite
from services.certificates import records, rule
from services.certificates.imports import apply_certificates, preview_certificates
from services.collection import cycles
from services.core.permissions import ValidationError
from services.partners import sites
from tests.conftest import ANALYST
from tests.risk_support import partner

TODAY = date.today()
CTPAT = {"program": "CTPAT", "certificate_number": "CT-1", "no_expiry": True}
CHECK = {"verified_on": TODAY - timedelta(days=5), "verified_by": "luis", "method": "portal check", "reference": ""}


def two_sites(session, code: str = "MX-F1"):
    """A Mexican factory with its primary site (from the record) and a second plant; returns (partner, [ids])."""
    made = partner(session, code, f"{code} Muebles S.A. de C.V.", country="MX", city="Monterrey",
                   mid=f"MX{code[-2:]}MUE1MON".replace("-", ""))
    second = sites.create_site(session=session, actor=ANALYST, partner_id=made.id, values={
        "name": "Plant 2", "city": "Apodaca", "mid": "MXMUEPLA2APO", "activities": "manufacturing, stuffing"})
    session.commit()
    return made, [sites.primary_site(session=session, partner_id=made.id).id, second.id]


def named(session, partner_id: int, site_ids: list[int], number: str = "CT-1"):
    return records.add_certificate(session=session, actor=ANALYST, partner_id=partner_id, verification=CHECK,
                                   values={**CTPAT, "certificate_number": number, "covers_all_sites": False,
                                           "site_ids": site_ids})


def test_naming_some_sites_covers_those_only_and_naming_every_active_site_covers_the_partner(session, staff):
    made, (main, plant) = two_sites(session)
    cert = named(session, made.id, [main])
    session.commit()
    row = rule.counts_on(session=session, day=TODAY, certificate_ids=[cert.id]).iloc[0]
    assert row["counts"] and not row["covers_partner"]
    assert "covers named sites only (1 of the partner's 2 active sites)" in row["why"]
    assert rule.exemptions(session=session, partner_ids=[made.id], day=TODAY) == {}
    words = rule.explain(session=session, certificate_id=cert.id, day=TODAY)
    assert "for the sites it names only (1 of the partner's 2 active sites)" in words

    per_site = rule.site_coverage(session=session, day=TODAY, partner_ids=[made.id]).set_index("site_id")
    assert per_site["covered"].to_dict() == {main: True, plant: False}
    assert per_site.loc[main, "certificate_id"] == cert.id and per_site.loc[main, "recognition"] == "CTPAT"
    assert per_site.loc[plant, "reason"].startswith("no certificate of the partner names this site; closest: CTPAT")

    records.update_certificate(session=session, actor=ANALYST, certificate_id=cert.id,
                               values={"site_ids": [main, plant]})
    session.commit()
    assert rule.exemptions(session=session, partner_ids=[made.id], day=TODAY)[made.id].endswith(
        "names every active site of the partner (2)")
    changed = session.exec(select(AuditEvent).where(AuditEvent.entity == "certificate",
                                                    AuditEvent.action == "update")).one()
    assert (changed.before["site_ids"], changed.after["site_ids"]) == ([main], [main, plant])

    # An inactive site does not need to be named.
    records.update_certificate(session=session, actor=ANALYST, certificate_id=cert.id, values={"site_ids": [main]})
    sites.update_site(session=session, actor=ANALYST, site_id=plant, values={"status": "inactive"})
    session.commit()
    assert made.id in rule.exemptions(session=session, partner_ids=[made.id], day=TODAY)


def test_site_coverage_follows_the_rule_per_site(session, staff):
    made, (main, plant) = two_sites(session)
    other, (elsewhere, _) = two_sites(session, "MX-F2")
    every = records.add_certificate(session=session, actor=ANALYST, partner_id=other.id,
                                    values={**CTPAT, "certificate_number": "CT-9"})  # a claim: does not count
    session.commit()
    frame = rule.site_coverage(session=session, day=TODAY)
    assert set(frame["site_id"]) >= {main, plant, elsewhere} and list(frame.columns) == rule.SITE_COVERAGE_COLUMNS
    by_site = frame.set_index("site_id")
    assert not by_site.loc[main, "covered"] and by_site.loc[main, "reason"] == "no certificate recorded"
    assert not by_site.loc[elsewhere, "covered"] and by_site.loc[elsewhere, "reason"] == \
        "the claim has not been verified"
    assert by_site.loc[elsewhere, "certificate_id"] == every.id

    # The pure function: a link to another partner's site covers nothing.
    results = rule.counts_on(session=session, day=TODAY)
    results.loc[:, ["counts", "covers_all_sites"]] = [True, False]
    links = pd.DataFrame({"certificate_id": [every.id], "site_id": [main]})
    sites_frame = frame[["site_id", "partner_id", "site_status"]]
    assert not rule.evaluate_sites(results, sites_frame, links)["covered"].any()
    links = pd.DataFrame({"certificate_id": [every.id], "site_id": [elsewhere]})
    covered = rule.evaluate_sites(results, sites_frame, links).set_index("site_id")["covered"]
    assert covered[covered].index.tolist() == [elsewhere]


def test_recording_refuses_other_partners_sites_and_delete_drops_the_links(session, staff):
    made, (main, _) = two_sites(session)
    _, (foreign, _) = two_sites(session, "MX-F2")
    with pytest.raises(ValidationError, match=f"covered_sites: site {foreign} is not a site of this partner"):
        named(session, made.id, [foreign])
    with pytest.raises(ValidationError, match="covered_sites: choose the sites it covers, or all sites"):
        named(session, made.id, [])
    cert = named(session, made.id, [main])
    listed = records.list_for_partner(session=session, partner_id=made.id)
    assert listed.loc[0, "site_ids"] == [main] and listed.loc[0, "sites"] == "Monterrey · MXF1MUE1MON"
    records.update_certificate(session=session, actor=ANALYST, certificate_id=cert.id,
                               values={"covers_all_sites": True})
    assert session.exec(select(CertificateSite)).all() == []
    records.update_certificate(session=session, actor=ANALYST, certificate_id=cert.id,
                               values={"covers_all_sites": False, "site_ids": [main]})
    records.delete_certificate(session=session, actor=ANALYST, certificate_id=cert.id, reason="wrong partner")
    session.commit()
    assert session.exec(select(CertificateSite)).all() == []


def test_a_new_site_that_no_certificate_names_ends_the_exemption(session, staff):
    made = partner(session, "MX-F1", "Muebles S.A. de C.V.", country="MX", city="Monterrey")
    main = sites.primary_site(session=session, partner_id=made.id).id
    named(session, made.id, [main])
    session.commit()
    cycle = cycles.open_cycle(session=session, actor=ANALYST, name="2027", due_date=TODAY + timedelta(days=10))
    session.commit()
    assignment = session.exec(select(Assignment).where(Assignment.cycle_id == cycle.id)).one()
    assert assignment.status == "exempt"
    sites.create_site(session=session, actor=ANALYST, partner_id=made.id, values={"name": "Plant 2"})
    session.commit()
    session.refresh(assignment)
    assert assignment.status == "not sent" and assignment.due_date == TODAY + timedelta(days=30)
    joined = session.exec(select(AuditEvent).where(AuditEvent.action == "join")).one()
    assert joined.summary.endswith("site Plant 2 added, which no certificate names")


def test_the_import_names_sites_by_mid_or_name(session, staff):
    made, (main, plant) = two_sites(session)
    header = "partner_code,program,certificate_number,valid_to,verified_on,verification_method,covered_sites"
    good = f"{header}\nMX-F1,CTPAT,CT-1,no expiry,{TODAY - timedelta(days=3)},portal check,mxf1mue1mon; Plant 2\n"
    preview = preview_certificates(session=session, files=[("c.csv", good.encode())])
    assert not preview.has_errors, preview.problems.to_dict("records")
    apply_certificates(session=session, actor=ANALYST, preview=preview)
    session.commit()
    assert sorted(session.exec(select(CertificateSite.site_id)).all()) == sorted([main, plant])
    assert made.id in rule.exemptions(session=session, partner_ids=[made.id], day=TODAY)
    again = preview_certificates(session=session, files=[("c.csv", good.encode())])
    assert again.counts["unchanged"] == 1

    one = good.replace("mxf1mue1mon; Plant 2", "Plant 2")
    preview = preview_certificates(session=session, files=[("c.csv", one.encode())])
    assert preview.rows.loc[0, "changes"] == f"site_ids: {[main, plant]} → {[plant]}"
    apply_certificates(session=session, actor=ANALYST, preview=preview)
    session.commit()
    assert session.exec(select(CertificateSite.site_id)).all() == [plant]
    assert rule.exemptions(session=session, partner_ids=[made.id], day=TODAY) == {}

    every = good.replace("mxf1mue1mon; Plant 2", "all sites")
    apply_certificates(session=session, actor=ANALYST,
                       preview=preview_certificates(session=session, files=[("c.csv", every.encode())]))
    session.commit()
    assert session.exec(select(CertificateSite)).all() == []

    bad = good.replace("mxf1mue1mon; Plant 2", "MXNOPE1MON; Plant 9")
    preview = preview_certificates(session=session, files=[("c.csv", bad.encode())])
    [problem] = preview.problems.to_dict("records")
    assert (problem["row"], problem["column"], problem["value"]) == (2, "covered_sites", "MXNOPE1MON; Plant 9")
    assert problem["message"].startswith("'MXNOPE1MON', 'Plant 9' is no site of partner MX-F1")
