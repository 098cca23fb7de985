from datetime import date, datetime

from sqlmodel import Field, SQLModel

from models.common import utcnow


class CompanyProfile(SQLModel, table=True):
    """The importer's own CTPAT account: one row."""

    id: int | None = Field(default=None, primary_key=True)
    legal_name: str = Field(max_length=200)
    ctpat_account_number: str = Field(default="", max_length=40)
    entity_type: str = Field(default="Importer", max_length=60)
    tier: str = Field(default="Not certified", max_length=20)
    certification_date: date | None = None
    last_validation_date: date | None = None
    annual_review_anniversary: date | None = None
    ior_number: str = Field(default="", max_length=20)
    primary_contact: str = Field(default="", max_length=120)
    primary_contact_email: str = Field(default="", max_length=254)
    updated_at: datetime = Field(default_factory=utcnow)
