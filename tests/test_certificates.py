"""Recording certificates, their checks and endings; the late join of a partner that loses its exemption; the
daily check; evidence files."""

import re
from datetime import date, timedelta

import pytest
from sqlmodel import select

from models import Assignment, AuditEvent, Certificate, CertificateEvent, CertificateVerification, Cycle, Partner
from services.certificates import exemption, monitor, records, rule
from services.certificates import settings as rule_settings
from services.certificates.records import Upload
from services.collection import cycles
from services.collection.evidence import evidence_path
from services.core.permissions import PermissionDenied, ValidationError
from services.partners.registry import create_partner
from tests.certificate_support import certify
from tests.conftest import ADMIN, ANALYST, VIEWER

TODAY = date.today()
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@pytest.fixture(autouse=True)
def evidence_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("CTPAT_DATA_DIR", str(tmp_path / "data"))


def add_partner(session, code: str, country: str = "US", entity: str = "Highway Carrier") -> int:
    return create_partner(session=session, actor=ANALYST, values={
        "partner_code": code, "legal_name": f"{code} Inc", "entity_type": entity, "country_iso2": country}).id


CTPAT = {"program": "ctpat", "certificate_number": "CT-100", "no_expiry": True}
PORTAL = {"verified_on": TODAY - timedelta(days=3), "verified_by": "Luis Ortega", "method": "portal check",
          "reference": "SVI status screen"}


def test_record_then_verify_a_certificate(session, staff):
    pid = add_partner(session, "HWY1")
    cert = records.add_certificate(session=session, actor=ANALYST, partner_id=pid, values=CTPAT,
                                   evidence=Upload("ctpat.pdf", PDF))
    assert (cert.program, cert.issuing_country, cert.status) == ("CTPAT", "US", "claimed")
    assert not rule.counts_on(session=session, day=TODAY, certificate_ids=[cert.id]).iloc[0]["counts"]
    records.add_verification(session=session, actor=ANALYST, certificate_id=cert.id, **PORTAL)
    session.commit()
    listed = records.list_for_partner(session=session, partner_id=pid).iloc[0]
    assert (listed["status"], listed["counts"], listed["verifications"]) == ("verified", True, 1)
    assert listed["last_verified"] == PORTAL["verified_on"] and listed["evidence_filename"] == "ctpat.pdf"
    kinds = records.events(session=session, certificate_id=cert.id)["kind"].tolist()
    assert kinds == ["verified", "recorded"]
    actions = [e.action for e in session.exec(select(AuditEvent).where(AuditEvent.entity == "certificate")
                                              .order_by(AuditEvent.id))]
    assert actions == ["create", "verify"]
    name, content_type, data = records.read_evidence(session=session, actor=VIEWER, certificate_id=cert.id)
    assert (name, content_type, data) == ("ctpat.pdf", "application/pdf", PDF)


def test_a_certificate_recorded_with_its_check_is_verified_at_once(session, staff):
    pid = add_partner(session, "DE1", "DE", "Sea Carrier")
    cert = records.add_certificate(
        session=session, actor=ANALYST, partner_id=pid,
        values={"program": "AEO", "issuing_country": "de", "certificate_number": "DEAEOF0001", "certificate_type":
                "aeo-f", "no_expiry": True},
        verification={**PORTAL, "method": "copy of certificate"})
    assert (cert.status, cert.certificate_type) == ("verified", "AEO-F")
    assert rule.exemptions(session=session, partner_ids=[pid], day=TODAY)[pid].startswith(
        "AEO-F certificate DEAEOF0001 (mutually recognized: European Union)")


@pytest.mark.parametrize(("values", "message"), [
    ({"program": ""}, "program: required"),
    ({"certificate_number": " "}, "certificate_number: required"),
    ({"issuing_country": "XX", "program": "AEO"}, "issuing_country: 'XX' is not an ISO 3166"),
    ({"issuing_country": "MX"}, "CTPAT certificates are issued by CBP (US)"),
    ({"certificate_type": "AEO-S"}, "CTPAT certificates have no type"),
    ({"program": "AEO", "issuing_country": "DE", "certificate_type": "AEO-X"}, "one of AEO-C, AEO-S, AEO-F"),
    ({"no_expiry": False}, "valid_to: required, or choose 'no expiry'"),
    ({"valid_to": TODAY}, "not both"),
    ({"no_expiry": False, "valid_to": "31/12/2027"}, "valid_to: '31/12/2027' is not a date"),
    ({"no_expiry": False, "valid_from": TODAY, "valid_to": TODAY - timedelta(days=1)}, "before valid_from"),
    ({"covers_all_sites": False}, "covered_sites: choose the sites it covers, or all sites"),
])
def test_bad_certificates_are_refused_with_the_field_named(session, staff, values, message):
    pid = add_partner(session, "HWY1")
    with pytest.raises(ValidationError, match=re.escape(message)):
        records.add_certificate(session=session, actor=ANALYST, partner_id=pid, values={**CTPAT, **values})


def test_writers_only_and_no_duplicates(session, staff):
    pid = add_partner(session, "HWY1")
    with pytest.raises(PermissionDenied):
        records.add_certificate(session=session, actor=VIEWER, partner_id=pid, values=CTPAT)
    records.add_certificate(session=session, actor=ANALYST, partner_id=pid, values=CTPAT)
    with pytest.raises(ValidationError, match="HWY1 already has CTPAT certificate CT-100 from US"):
        records.add_certificate(session=session, actor=ANALYST, partner_id=pid, values=CTPAT)


@pytest.mark.parametrize(("check", "message"), [
    ({"verified_on": TODAY + timedelta(days=1)}, "is in the future"),
    ({"verified_by": ""}, "verified_by: say who checked it"),
    ({"method": "phone call"}, "method: 'phone call' is not one of portal check, copy of certificate, customs"),
    ({"method": "not recorded"}, "is not one of"),
])
def test_bad_checks_are_refused(session, staff, check, message):
    cert = certify(session, add_partner(session, "HWY1"), verified_on=None)
    with pytest.raises(ValidationError, match=message):
        records.add_verification(session=session, actor=ANALYST, certificate_id=cert.id, **{**PORTAL, **check})


def test_revoked_and_expired_certificates_cannot_be_verified_and_renewal_needs_a_check(session, staff):
    pid = add_partner(session, "MX1", "MX", "Foreign Manufacturer")
    cert = certify(session, pid, program="OEA", country="MX", number="OEA-1", kind="OEA",
                   valid_to=TODAY - timedelta(days=2), status="expired")
    with pytest.raises(ValidationError, match="has expired: record the renewed"):
        records.add_verification(session=session, actor=ANALYST, certificate_id=cert.id, **PORTAL)
    records.update_certificate(session=session, actor=ANALYST, certificate_id=cert.id,
                               values={"valid_to": TODAY + timedelta(days=700)})
    assert cert.status == "claimed"
    assert records.events(session=session, certificate_id=cert.id)["kind"].tolist()[:2] == ["renewed", "corrected"]
    records.add_verification(session=session, actor=ANALYST, certificate_id=cert.id, **PORTAL)
    assert cert.status == "verified"
    records.set_status(session=session, actor=ANALYST, certificate_id=cert.id, status="revoked",
                       effective_on=TODAY, note="SAT letter of revocation")
    with pytest.raises(ValidationError, match="revoked"):
        records.add_verification(session=session, actor=ANALYST, certificate_id=cert.id, **PORTAL)
    with pytest.raises(ValidationError, match="stays revoked"):
        records.set_status(session=session, actor=ANALYST, certificate_id=cert.id, status="suspended",
                           effective_on=TODAY, note="x")


def test_a_lifted_suspension_is_a_reinstatement(session, staff):
    cert = certify(session, add_partner(session, "HWY1"))
    records.set_status(session=session, actor=ANALYST, certificate_id=cert.id, status="suspended",
                       effective_on=TODAY - timedelta(days=1), note="Portal shows suspended")
    with pytest.raises(ValidationError, match="already suspended"):
        records.set_status(session=session, actor=ANALYST, certificate_id=cert.id, status="suspended",
                           effective_on=TODAY, note="again")
    with pytest.raises(ValidationError, match="note: say what happened"):
        records.set_status(session=session, actor=ANALYST, certificate_id=cert.id, status="revoked",
                           effective_on=TODAY, note="")
    with pytest.raises(ValidationError, match="is not one of suspended, revoked, expired"):
        records.set_status(session=session, actor=ANALYST, certificate_id=cert.id, status="verified",
                           effective_on=TODAY, note="x")
    records.add_verification(session=session, actor=ANALYST, certificate_id=cert.id, **PORTAL)
    events = records.events(session=session, certificate_id=cert.id)
    assert events["kind"].tolist() == ["reinstated", "suspended"]
    assert (events.loc[1, "from_status"], events.loc[1, "to_status"]) == ("verified", "suspended")


def _open_cycle(session, due: date) -> Cycle:
    cycle = cycles.open_cycle(session=session, actor=ANALYST, name="2027 annual review", due_date=due)
    session.flush()
    return cycle


def _assignment(session, cycle: Cycle, pid: int) -> Assignment:
    session.expire_all()
    return session.exec(select(Assignment).where(Assignment.cycle_id == cycle.id,
                                                 Assignment.partner_id == pid)).one()


def test_a_partner_that_loses_its_exemption_joins_the_open_cycle_with_at_least_30_days(session, staff):
    pid = add_partner(session, "HWY1")
    cert = certify(session, pid, number="CT-1")
    cycle = _open_cycle(session, TODAY + timedelta(days=10))
    assert _assignment(session, cycle, pid).status == "exempt"

    records.set_status(session=session, actor=ANALYST, certificate_id=cert.id, status="suspended",
                       effective_on=TODAY, note="Portal shows suspended since this morning")
    joined = _assignment(session, cycle, pid)
    assert (joined.status, joined.exempt_reason, joined.due_date) == ("not sent", "", TODAY + timedelta(days=30))
    event = session.exec(select(AuditEvent).where(AuditEvent.action == "join")).one()
    assert "HWY1 joins 2027 annual review" in event.summary and "suspended" in event.summary
    loss = monitor.loss_events(session=session)
    assert loss[["partner_code", "kind"]].values.tolist() == [["HWY1", "suspended"]]


def test_a_late_joiner_keeps_the_cycle_due_date_when_that_is_later(session, staff):
    pid = add_partner(session, "HWY1")
    cert = certify(session, pid)
    cycle = _open_cycle(session, TODAY + timedelta(days=60))
    records.delete_certificate(session=session, actor=ANALYST, certificate_id=cert.id,
                               reason="Recorded for the wrong partner")
    assert _assignment(session, cycle, pid).due_date == TODAY + timedelta(days=60)
    assert session.exec(select(Certificate)).all() == []
    deleted = session.exec(select(AuditEvent).where(AuditEvent.action == "delete")).one()
    assert deleted.before["certificate_number"] == "CT-1" and "wrong partner" in deleted.summary


def test_a_partner_still_covered_by_another_certificate_stays_exempt(session, staff):
    pid = add_partner(session, "HWY1")
    first = certify(session, pid, number="CT-1")
    certify(session, pid, program="PIP", country="CA", number="PIP-9", valid_to=TODAY + timedelta(days=300))
    cycle = _open_cycle(session, TODAY + timedelta(days=10))
    records.set_status(session=session, actor=ANALYST, certificate_id=first.id, status="revoked",
                       effective_on=TODAY, note="CBP removed the member")
    assignment = _assignment(session, cycle, pid)
    assert assignment.status == "exempt" and assignment.due_date is None


def test_the_notice_for_a_late_join_is_a_setting_never_below_30_days(session, staff):
    with pytest.raises(ValidationError, match="from 30 to 365"):
        rule_settings.save(session=session, actor=ADMIN, recheck_days=90, join_notice_days=20)
    with pytest.raises(PermissionDenied):
        rule_settings.save(session=session, actor=ANALYST, recheck_days=90, join_notice_days=45)
    rule_settings.save(session=session, actor=ADMIN, recheck_days=90, join_notice_days=45)
    pid = add_partner(session, "HWY1")
    cycle = _open_cycle(session, TODAY + timedelta(days=10))
    cert = certify(session, pid)
    session.exec(select(Assignment)).all()
    cycles.set_exempt(session=session, actor=ANALYST, assignment_id=_assignment(session, cycle, pid).id, exempt=True,
                      reason="CTPAT certificate CT-1 verified")
    records.set_status(session=session, actor=ANALYST, certificate_id=cert.id, status="expired",
                       effective_on=TODAY, note="The member let it lapse")
    assert _assignment(session, cycle, pid).due_date == TODAY + timedelta(days=45)


def test_the_daily_check_records_each_loss_once_and_joins(session, staff):
    expiring, stale, fine = (add_partner(session, code) for code in ("EXP1", "STALE1", "OK1"))
    certify(session, expiring, program="PIP", country="CA", number="PIP-1", valid_to=TODAY)
    certify(session, stale, number="CT-2", verified_on=TODAY - timedelta(days=90))
    fine_cert = certify(session, fine, number="CT-3")
    cycle = _open_cycle(session, TODAY + timedelta(days=5))
    assert {_assignment(session, cycle, p).status for p in (expiring, stale, fine)} == {"exempt"}

    assert monitor.sweep(session=session, actor=ANALYST, today=TODAY) == monitor.SweepReport()
    tomorrow = TODAY + timedelta(days=1)
    report = monitor.sweep(session=session, actor=ANALYST, today=tomorrow)
    assert len(report.expired) == 1 and len(report.stale) == 1 and len(report.joined) == 2
    assert monitor.sweep(session=session, actor=ANALYST, today=tomorrow) == monitor.SweepReport()
    assert _assignment(session, cycle, expiring).due_date == tomorrow + timedelta(days=30)
    assert _assignment(session, cycle, fine).status == "exempt"
    losses = monitor.loss_events(session=session, since=tomorrow)
    assert sorted(losses["kind"]) == ["expired", "verification stale"]
    assert set(losses["effective_on"]) == {tomorrow}
    # A new check ends the staleness; going stale again later is reported again.
    stale_cert = session.exec(select(Certificate).where(Certificate.partner_id == stale)).one()
    records.add_verification(session=session, actor=ANALYST, certificate_id=stale_cert.id,
                             **{**PORTAL, "verified_on": tomorrow}, today=tomorrow)
    later = tomorrow + timedelta(days=91)
    assert sorted(monitor.sweep(session=session, actor=ANALYST, today=later).stale) == [stale_cert.id, fine_cert.id]
    with pytest.raises(PermissionDenied):
        monitor.sweep(session=session, actor=VIEWER)


def test_merging_partners_folds_the_same_certificate(session, staff):
    from services.partners import registry

    keep, dup = add_partner(session, "K1"), add_partner(session, "D1")
    certify(session, keep, number="CT-1")
    twin = certify(session, dup, number="CT-1", verified_on=TODAY - timedelta(days=2))
    other = certify(session, dup, program="PIP", country="CA", number="PIP-1", valid_to=TODAY + timedelta(days=99))
    registry.merge_partners(session=session, actor=ANALYST, keep_id=keep, duplicate_id=dup)
    session.commit()
    held = session.exec(select(Certificate.certificate_number).where(Certificate.partner_id == keep)).all()
    assert sorted(held) == ["CT-1", "PIP-1"] and session.get(Certificate, twin.id) is None
    checks = session.exec(select(CertificateVerification)).all()
    assert len(checks) == 3 and {c.certificate_id for c in checks} <= {other.id} | set(
        session.exec(select(Certificate.id).where(Certificate.partner_id == keep)).all())
    assert not session.exec(select(CertificateEvent).where(CertificateEvent.partner_id == dup)).all()
    assert session.get(Partner, dup).status == "inactive"


def test_evidence_is_checked_by_content_and_by_hash(session, staff):
    pid = add_partner(session, "HWY1")
    with pytest.raises(ValidationError, match="the content is a PDF document"):
        records.add_certificate(session=session, actor=ANALYST, partner_id=pid, values=CTPAT,
                                evidence=Upload("certificate.png", PDF))
    cert = records.add_certificate(session=session, actor=ANALYST, partner_id=pid, values=CTPAT)
    with pytest.raises(ValidationError, match="No evidence file"):
        records.read_evidence(session=session, actor=ANALYST, certificate_id=cert.id)
    check = records.add_verification(session=session, actor=ANALYST, certificate_id=cert.id,
                                     evidence=Upload("svi.pdf", PDF), **PORTAL)
    path = evidence_path(check.evidence_sha256)
    path.write_bytes(PDF + b"tampered")
    with pytest.raises(ValidationError, match="damaged"):
        records.read_evidence(session=session, actor=ANALYST, verification_id=check.id)


def test_join_without_exempt_assignments_does_nothing(session, staff):
    pid = add_partner(session, "HWY1")
    assert exemption.join_uncovered(session=session, actor=ANALYST, partner_ids=[pid], today=TODAY,
                                    why="test") == []
    assert exemption.join_uncovered(session=session, actor=ANALYST, partner_ids=[], today=TODAY, why="test") == []
