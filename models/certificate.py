"""A partner's certificates (CTPAT or a foreign AEO-type program), every verification of them, what happened to
them, and the settings of the rule that decides whether one counts (services.certificates.rule).

Mutual recognition is never stored: it is derived on the day from the program, issuing country and type of a
certificate and the arrangements in the registry (models.reference.MraProgram).
"""

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, Enum, UniqueConstraint
from sqlmodel import Field, SQLModel

from models.common import utcnow


def _stored(enum: type[StrEnum], length: int) -> Enum:
    """A VARCHAR column holding the enum's values (not a database enum type): rows read back as enum members, and
    a value outside the enum is refused before it reaches the database."""
    return Enum(enum, native_enum=False, length=length, values_callable=lambda members: [m.value for m in members])


CTPAT = "CTPAT"  # the program code of CBP's own certificates; every other code is a foreign program's


class CertificateStatus(StrEnum):
    """Where a certificate stands as far as the team knows."""

    claimed = "claimed"  # the partner says so; nobody has checked it yet
    verified = "verified"  # checked at least once (CertificateVerification); the rule still wants a recent check
    suspended = "suspended"
    revoked = "revoked"
    expired = "expired"


# Statuses that end coverage at once.
ENDED_STATUSES: tuple[CertificateStatus, ...] = (CertificateStatus.suspended, CertificateStatus.revoked,
                                                 CertificateStatus.expired)


class VerificationMethod(StrEnum):
    """How the team checked a certificate."""

    portal_check = "portal check"  # the CTPAT Portal (SVI) or the foreign customs' public AEO register
    certificate_copy = "copy of certificate"
    customs_confirmation = "customs confirmation"  # a written confirmation from the issuing administration
    not_recorded = "not recorded"  # only checks migrated from before the method was recorded


# What a user may choose for a new verification.
RECORDABLE_METHODS: tuple[VerificationMethod, ...] = (VerificationMethod.portal_check,
                                                      VerificationMethod.certificate_copy,
                                                      VerificationMethod.customs_confirmation)


class CertificateEventKind(StrEnum):
    """What happened to a certificate; the loss events are what the follow-up engine turns into follow-ups."""

    recorded = "recorded"
    corrected = "corrected"
    verified = "verified"
    renewed = "renewed"  # a later valid-to date on an expired certificate: claimed again until verified
    reinstated = "reinstated"  # verified again after a suspension
    suspended = "suspended"
    revoked = "revoked"
    expired = "expired"
    verification_stale = "verification stale"  # the last check is older than the re-check interval


LOSS_EVENTS: tuple[CertificateEventKind, ...] = (
    CertificateEventKind.suspended, CertificateEventKind.revoked, CertificateEventKind.expired,
    CertificateEventKind.verification_stale,
)


class Certificate(SQLModel, table=True):
    """A partner's CTPAT or foreign security-program certificate (evidence for MSC 3.4)."""

    __table_args__ = (
        UniqueConstraint("partner_id", "program", "issuing_country", "certificate_number",
                         name="uq_certificate_partner_number"),
        # Validity ends on a date or explicitly never (CTPAT has no expiry): never both, never neither.
        CheckConstraint("(no_expiry AND valid_to IS NULL) OR (NOT no_expiry AND valid_to IS NOT NULL)",
                        name="validity_end"),
    )

    id: int | None = Field(default=None, primary_key=True)
    partner_id: int = Field(foreign_key="partner.id", index=True)
    program: str = Field(max_length=40, index=True)  # CTPAT, or a program code of the registry (AEO, PIP, OEA...)
    issuing_country: str = Field(foreign_key="country.iso2", max_length=2, index=True)
    certificate_number: str = Field(max_length=60)  # CTPAT account or SVI number, or the certificate's number
    certificate_type: str = Field(default="", max_length=20)  # e.g. AEO-S, where the program has types
    status: CertificateStatus = Field(default=CertificateStatus.claimed, sa_type=_stored(CertificateStatus, 10),
                                      index=True)
    valid_from: date | None = None
    valid_to: date | None = Field(default=None, index=True)
    no_expiry: bool = False
    # The partner's sites it covers: all of them, or those linked in CertificateSite. covered_sites is the text
    # recorded before sites could be linked (migration 0006 linked what it could match and kept the text).
    covers_all_sites: bool = True
    covered_sites: str = Field(default="", max_length=500)
    # A copy of the certificate in the content-hash evidence store (services.collection.evidence).
    evidence_sha256: str | None = Field(default=None, max_length=64)
    evidence_filename: str = Field(default="", max_length=255)
    evidence_content_type: str = Field(default="", max_length=100)
    evidence_size_bytes: int | None = None
    notes: str = Field(default="", max_length=1000)
    created_by: str = Field(max_length=64)
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class CertificateSite(SQLModel, table=True):
    """A site of the partner that a certificate names: a certificate that names sites covers those only."""

    certificate_id: int = Field(foreign_key="certificate.id", primary_key=True)
    site_id: int = Field(foreign_key="partnersite.id", primary_key=True, index=True)


class CertificateVerification(SQLModel, table=True):
    """One check of a certificate: when, by whom, how, with what proof."""

    id: int | None = Field(default=None, primary_key=True)
    certificate_id: int = Field(foreign_key="certificate.id", index=True)
    verified_on: date
    verified_by: str = Field(max_length=120)
    method: VerificationMethod = Field(sa_type=_stored(VerificationMethod, 30))
    reference: str = Field(default="", max_length=300)  # e.g. the SVI screen, the customs letter's number
    evidence_sha256: str | None = Field(default=None, max_length=64)
    evidence_filename: str = Field(default="", max_length=255)
    evidence_content_type: str = Field(default="", max_length=100)
    evidence_size_bytes: int | None = None
    recorded_by: str = Field(max_length=64)
    recorded_at: datetime = Field(default_factory=utcnow)


class CertificateEvent(SQLModel, table=True):
    """Something that happened to a certificate, dated when it took effect (LOSS_EVENTS end coverage)."""

    id: int | None = Field(default=None, primary_key=True)
    certificate_id: int = Field(foreign_key="certificate.id", index=True)
    partner_id: int = Field(foreign_key="partner.id", index=True)
    kind: CertificateEventKind = Field(sa_type=_stored(CertificateEventKind, 20), index=True)
    effective_on: date = Field(index=True)
    from_status: str = Field(default="", max_length=10)
    to_status: str = Field(default="", max_length=10)
    note: str = Field(default="", max_length=500)
    recorded_by: str = Field(max_length=64)
    recorded_at: datetime = Field(default_factory=utcnow, index=True)


class CertificateSettings(SQLModel, table=True):
    """The certificate rule's settings (one row; defaults while there is none)."""

    id: int | None = Field(default=None, primary_key=True)
    recheck_days: int = 90  # a verification older than this no longer counts (MSC 3.4: monitor on-going status)
    join_notice_days: int = 30  # a partner that loses its exemption mid-cycle gets at least this long to answer
    updated_by: str = Field(default="", max_length=64)
    updated_at: datetime = Field(default_factory=utcnow)
