"""services.demo.certificates on a database seeded by the demo generator."""

from datetime import date

import pytest
from sqlalchemy import delete
from sqlmodel import select

from models import Assignment, Certificate, CertificateEvent, CertificateVerification, Cycle
from services.certificates import rule
from services.demo.certificates import seed_certificates
from services.demo.generator import seed_demo

TODAY = date(2026, 11, 16)


def _rows(session) -> list[tuple]:
    return sorted(session.exec(select(Certificate.partner_id, Certificate.program, Certificate.issuing_country,
                                      Certificate.certificate_number, Certificate.certificate_type,
                                      Certificate.status, Certificate.valid_to)).all())


def test_demo_certificates_are_deterministic_and_the_open_cycle_follows_the_rule(session):
    seed_demo(session=session, partners=150, today=TODAY)
    assert _rows(session)
    # The lane demo adds partners after the certificates, so the same partners are compared from here on.
    for model in (CertificateEvent, CertificateVerification, Certificate):
        session.exec(delete(model))
    seed_certificates(session=session, seed=2027, today=TODAY)
    first = _rows(session)
    for model in (CertificateEvent, CertificateVerification, Certificate):
        session.exec(delete(model))
    summary = seed_certificates(session=session, seed=2027, today=TODAY)
    assert _rows(session) == first  # the same partners, seed and day give the same certificates
    assert summary.certificates == len(first) and summary.verifications > 0 and summary.events > summary.certificates
    covered = rule.partner_coverage(session=session, day=TODAY)
    covered = set(covered.loc[covered["covered"], "partner_id"])
    assert summary.covering == len(covered) > 0
    open_cycle = session.exec(select(Cycle).where(Cycle.status == "open")).one()
    exempt = set(session.exec(select(Assignment.partner_id).where(Assignment.cycle_id == open_cycle.id,
                                                                  Assignment.status == "exempt")).all())
    assert exempt and exempt <= covered and summary.exempt_in_open_cycle == len(exempt)
    with pytest.raises(ValueError, match="only be added where there are none"):
        seed_certificates(session=session, today=TODAY)


def test_demo_certificates_need_partners(session):
    with pytest.raises(ValueError, match="Seed the demo partners"):
        seed_certificates(session=session, today=TODAY)
