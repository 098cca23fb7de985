"""Certificates for tests that need a partner to hold one (written as rows, as the demo and imports do)."""

from datetime import date, timedelta

from sqlmodel import Session

from models import Certificate, CertificateVerification
from models.certificate import CertificateStatus, VerificationMethod

_UNSET = object()


def certify(session: Session, partner_id: int, *, program: str = "CTPAT", country: str = "US",
            number: str = "CT-1", kind: str = "", valid_to: date | None = None, verified_on=_UNSET,
            status: str | None = None, covers_all_sites: bool = True) -> Certificate:
    """A certificate of the partner: no expiry unless valid_to is given; verified ten days ago unless verified_on
    says otherwise (None: a claim never verified)."""
    if verified_on is _UNSET:
        verified_on = date.today() - timedelta(days=10)
    cert = Certificate(partner_id=partner_id, program=program, issuing_country=country, certificate_number=number,
                       certificate_type=kind, valid_to=valid_to, no_expiry=valid_to is None,
                       status=status or (CertificateStatus.verified if verified_on else CertificateStatus.claimed),
                       covers_all_sites=covers_all_sites, covered_sites="" if covers_all_sites else "Plant 2",
                       created_by="luis")
    session.add(cert)
    session.flush()
    if verified_on:
        session.add(CertificateVerification(certificate_id=cert.id, verified_on=verified_on, verified_by="luis",
                                            method=VerificationMethod.portal_check, recorded_by="luis"))
        session.flush()
    return cert
