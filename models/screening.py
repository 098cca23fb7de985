"""Forced-labor screening: restricted-party lists (UFLPA Entity List or any other) and partner matches."""

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from models.common import utcnow


class RestrictedList(SQLModel, table=True):
    """A restricted-party list as loaded from a file (UFLPA Entity List or any other)."""

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200, index=True)
    publisher: str = Field(default="", max_length=200)
    citation: str = Field(default="", max_length=1000)
    as_of: date | None = None
    filename: str = Field(default="", max_length=255)
    sha256: str = Field(default="", max_length=64)
    entries: int = 0
    is_demo: bool = False
    active: bool = True  # a newer load of the same list replaces this one
    loaded_by: str = Field(max_length=64)
    loaded_at: datetime = Field(default_factory=utcnow)


class RestrictedEntry(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    list_id: int = Field(foreign_key="restrictedlist.id", index=True)
    name: str = Field(max_length=300)
    aliases: str = Field(default="", max_length=2000)  # "; "-separated, as shown
    country_iso2: str = Field(default="", max_length=2)
    address: str = Field(default="", max_length=500)
    listed_on: date | None = None
    reference: str = Field(default="", max_length=300)  # e.g. the Federal Register notice
    row: int = 0  # row in the loaded file


class RestrictedName(SQLModel, table=True):
    """A name or alias of an entry, normalised for matching."""

    id: int | None = Field(default=None, primary_key=True)
    entry_id: int = Field(foreign_key="restrictedentry.id", index=True)
    list_id: int = Field(foreign_key="restrictedlist.id", index=True)
    name: str = Field(max_length=300)
    normalized_name: str = Field(max_length=300, index=True)
    is_alias: bool = False


class MatchStatus(StrEnum):
    open = "open"
    confirmed = "confirmed"
    dismissed = "dismissed"


class ScreeningMatch(SQLModel, table=True):
    """A partner whose name matches a list entry; an analyst confirms or dismisses it with a reason."""

    __table_args__ = (UniqueConstraint("partner_id", "entry_id", name="uq_screeningmatch_partner_entry"),)

    id: int | None = Field(default=None, primary_key=True)
    partner_id: int = Field(foreign_key="partner.id", index=True)
    entry_id: int = Field(foreign_key="restrictedentry.id", index=True)
    list_id: int = Field(foreign_key="restrictedlist.id", index=True)
    partner_name: str = Field(max_length=200)
    matched_name: str = Field(max_length=300)
    match_kind: str = Field(max_length=30)
    status: str = Field(default=MatchStatus.open, max_length=10, index=True)
    reason: str = Field(default="", max_length=1000)
    decided_by: str = Field(default="", max_length=64)
    decided_at: datetime | None = None
    created_at: datetime = Field(default_factory=utcnow)
