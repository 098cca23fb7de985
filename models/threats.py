"""Step 2 of CBP's risk assessment: the threat register per country (and region), its sources and history."""

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import JSON, Column, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from models.common import utcnow


class ThreatCategory(StrEnum):
    terrorism = "terrorism"
    contraband_smuggling = "contraband smuggling"
    human_smuggling = "human smuggling"
    organized_crime = "organized crime"
    conditions = "conditions"
    agricultural = "agricultural"
    forced_labor = "forced labor"


CATEGORY_LABELS: dict[str, str] = {
    ThreatCategory.terrorism: "Terrorism",
    ThreatCategory.contraband_smuggling: "Contraband smuggling (drugs, weapons)",
    ThreatCategory.human_smuggling: "Human smuggling",
    ThreatCategory.organized_crime: "Organized crime",
    ThreatCategory.conditions: "Conditions that foster these (corruption, unrest, weak governance)",
    ThreatCategory.agricultural: "Agricultural (pests, contamination)",
    ThreatCategory.forced_labor: "Forced labor (MSC 3.9; UFLPA, withhold release orders)",
}


class ThreatLevel(StrEnum):
    high = "High"
    medium = "Medium"
    low = "Low"
    unknown = "Unknown"


class RatingBasis(StrEnum):
    accepted = "accepted suggestion"
    override = "override"
    analyst = "analyst rating"  # no suggestion to accept (a region, a category without a rule)
    imported = "file import"


class SourceKind(StrEnum):
    built_in = "built-in"  # seed/reference/country-threat-sources.csv with the documented rules
    index = "index"  # an index the user licenses, mapped to High/Medium/Low on import
    register_file = "register file"  # ratings imported as they are


class ThreatSource(SQLModel, table=True):
    """Where threat values come from; a category fed by no source is "not assessed"."""

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=60, unique=True, index=True)
    name: str = Field(max_length=200)
    publisher: str = Field(default="", max_length=200)
    kind: str = Field(max_length=16)
    categories: str = Field(default="", max_length=200)  # ThreatCategory values, comma-separated
    mapping: dict | None = Field(default=None, sa_column=Column(JSON))  # index -> High/Medium/Low
    licence: str = Field(default="", max_length=300)
    citation: str = Field(default="", max_length=1000)
    caveat: str = Field(default="", max_length=1000)
    as_of: date | None = None
    is_demo: bool = False
    filename: str = Field(default="", max_length=255)
    sha256: str = Field(default="", max_length=64)
    loaded_by: str = Field(default="system", max_length=64)
    loaded_at: datetime = Field(default_factory=utcnow)
    active: bool = True


class ThreatIndicator(SQLModel, table=True):
    """One value of a source for a country (or region), as published."""

    __table_args__ = (Index("ix_threatindicator_source_iso2", "source_id", "iso2"),)

    id: int | None = Field(default=None, primary_key=True)
    source_id: int = Field(foreign_key="threatsource.id", index=True)
    iso2: str = Field(max_length=2, index=True)  # not a foreign key: sources use codes such as XK
    region_code: str = Field(default="", max_length=6)
    indicator: str = Field(max_length=40)  # e.g. travel_advisory_level, tip_tier, value
    value: str = Field(max_length=100)
    as_of: date | None = None
    as_of_text: str = Field(default="", max_length=20)  # as the source gives it (YYYY for a report edition)


class ThreatRating(SQLModel, table=True):
    """The register: the current rating of one category in one country, or in one region of it."""

    __table_args__ = (UniqueConstraint("iso2", "region_code", "category", name="uq_threatrating_key"),)

    id: int | None = Field(default=None, primary_key=True)
    iso2: str = Field(foreign_key="country.iso2", max_length=2, index=True)
    region_code: str = Field(default="", max_length=6)  # "" = the whole country
    category: str = Field(max_length=24, index=True)
    level: str = Field(max_length=8)
    basis: str = Field(max_length=24)
    rationale: str = Field(default="", max_length=1000)
    reason: str = Field(default="", max_length=1000)  # why the analyst departed from the suggestion
    source: str = Field(default="", max_length=1000)
    rule: str = Field(default="", max_length=500)
    as_of: date | None = None
    suggested_level: str = Field(default="", max_length=8)  # what the rules said when this was decided
    is_demo: bool = False
    version: int = 1
    updated_by: str = Field(max_length=64)
    updated_at: datetime = Field(default_factory=utcnow)


class ThreatRatingChange(SQLModel, table=True):
    """Every change of the register: value, who, when, why, source."""

    __table_args__ = (Index("ix_threatratingchange_key", "iso2", "region_code", "category"),)

    id: int | None = Field(default=None, primary_key=True)
    iso2: str = Field(max_length=2)
    region_code: str = Field(default="", max_length=6)
    category: str = Field(max_length=24)
    level: str = Field(max_length=8)
    previous_level: str = Field(default="", max_length=8)
    basis: str = Field(max_length=24)
    rationale: str = Field(default="", max_length=1000)
    reason: str = Field(default="", max_length=1000)
    source: str = Field(default="", max_length=1000)
    rule: str = Field(default="", max_length=500)
    as_of: date | None = None
    is_demo: bool = False
    changed_by: str = Field(max_length=64)
    changed_at: datetime = Field(default_factory=utcnow, index=True)


class ThreatSettings(SQLModel, table=True):
    """How the register is read: when a value is stale, and how Unknown counts in scoring (one row)."""

    id: int | None = Field(default=None, primary_key=True)
    stale_after_months: int = 12
    unknown_as: str = Field(default=ThreatLevel.high, max_length=8)
    updated_by: str = Field(default="system", max_length=64)
    updated_at: datetime = Field(default_factory=utcnow)
