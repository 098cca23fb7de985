from datetime import date, datetime

from sqlmodel import Field, SQLModel

from models.common import utcnow


class Partner(SQLModel, table=True):
    """A business partner: supplier, carrier, broker, 3PL..."""

    id: int | None = Field(default=None, primary_key=True)
    partner_code: str = Field(max_length=40, unique=True, index=True)
    legal_name: str = Field(max_length=200, index=True)
    normalized_name: str = Field(max_length=200, index=True)  # for duplicate detection
    entity_type: str = Field(max_length=60, index=True)
    country_iso2: str = Field(foreign_key="country.iso2", max_length=2, index=True)
    address: str = Field(default="", max_length=300)
    city: str = Field(default="", max_length=100)
    latitude: float | None = None
    longitude: float | None = None
    mid: str | None = Field(default=None, max_length=15, index=True)
    scac: str | None = Field(default=None, max_length=4, index=True)
    ior_ein: str | None = Field(default=None, max_length=14, index=True)
    duns: str | None = Field(default=None, max_length=9, index=True)
    fmc: str | None = Field(default=None, max_length=8, index=True)
    iata_code: str | None = Field(default=None, max_length=11, index=True)
    broker_license: str | None = Field(default=None, max_length=5, index=True)
    usdot: str | None = Field(default=None, max_length=8, index=True)
    contact_name: str = Field(default="", max_length=120)
    contact_email: str = Field(default="", max_length=254)
    language: str = Field(default="en", max_length=5)
    parent_id: int | None = Field(default=None, foreign_key="partner.id", index=True)
    owner_id: int | None = Field(default=None, foreign_key="user.id", index=True)  # staff user for escalations
    criticality: str = Field(default="medium", max_length=10, index=True)
    import_share: float | None = None  # percent of the importer's import volume
    status: str = Field(default="active", max_length=10, index=True)
    notes: str = Field(default="", max_length=2000)
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class Certification(SQLModel, table=True):
    """A partner's CTPAT or MRA-recognized AEO certification (evidence for MSC 3.4)."""

    id: int | None = Field(default=None, primary_key=True)
    partner_id: int = Field(foreign_key="partner.id", index=True)
    program: str = Field(max_length=40)  # "CTPAT" or an MRA program acronym, e.g. "AEO"
    mra_program_id: int | None = Field(default=None, foreign_key="mraprogram.id")
    certificate_number: str = Field(default="", max_length=60)
    valid_until: date | None = None
    verified_on: date | None = None
    verified_by: str = Field(default="", max_length=64)
    created_at: datetime = Field(default_factory=utcnow)
