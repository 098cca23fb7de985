"""Where a partner works (sites) and whom to write to (contacts)."""

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Index, text
from sqlmodel import Field, SQLModel

from models.common import utcnow


class SiteActivity(StrEnum):
    manufacturing = "manufacturing"
    stuffing = "stuffing"
    warehousing = "warehousing"
    cross_dock = "cross-dock"
    office_only = "office only"


class PartnerSite(SQLModel, table=True):
    """One site of a partner (factory, warehouse, office); a place in the cargo flow when it has coordinates."""

    __table_args__ = (
        Index("uq_partnersite_primary", "partner_id", unique=True,
              sqlite_where=text("is_primary = 1"), postgresql_where=text("is_primary")),
    )

    id: int | None = Field(default=None, primary_key=True)
    partner_id: int = Field(foreign_key="partner.id", index=True)
    name: str = Field(max_length=120)
    address: str = Field(default="", max_length=300)
    city: str = Field(default="", max_length=100)
    region_code: str = Field(default="", max_length=6, index=True)  # ISO 3166-2 subdivision, e.g. MX-NLE
    country_iso2: str = Field(foreign_key="country.iso2", max_length=2, index=True)
    latitude: float | None = None
    longitude: float | None = None
    mid: str | None = Field(default=None, max_length=15, index=True)
    activities: str = Field(default="", max_length=120)  # SiteActivity values, comma-separated
    is_primary: bool = False
    status: str = Field(default="active", max_length=10)
    notes: str = Field(default="", max_length=1000)
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class PartnerContact(SQLModel, table=True):
    """A person at a partner; the primary contact receives the questionnaires."""

    __table_args__ = (
        Index("uq_partnercontact_primary", "partner_id", unique=True,
              sqlite_where=text("is_primary = 1"), postgresql_where=text("is_primary")),
    )

    id: int | None = Field(default=None, primary_key=True)
    partner_id: int = Field(foreign_key="partner.id", index=True)
    name: str = Field(default="", max_length=120)
    role: str = Field(default="", max_length=80)  # e.g. "Security manager", "Export coordinator"
    email: str = Field(default="", max_length=254, index=True)
    phone: str = Field(default="", max_length=40)
    language: str = Field(default="en", max_length=5)
    is_primary: bool = False
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)
