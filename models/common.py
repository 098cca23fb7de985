"""Shared vocabularies and helpers of the data model."""

from datetime import UTC, datetime
from enum import StrEnum

from sqlalchemy.types import TypeDecorator
from sqlmodel import AutoString


def utcnow() -> datetime:
    """Aware UTC timestamp: SQLModel's datetime columns refuse naive values and read back in UTC."""
    return datetime.now(UTC)


class EnumText(TypeDecorator):
    """A StrEnum stored as plain VARCHAR (no database enum type, so no migration): members in, members out.

    Writing a value outside the enum fails, as a last guard behind the services' own checks.
    """

    impl = AutoString
    cache_ok = True

    def __init__(self, enum: type[StrEnum], length: int):
        super().__init__(length=length)
        self.enum = enum

    def process_bind_param(self, value, dialect):
        return None if value is None else self.enum(value).value

    def process_result_value(self, value, dialect):
        return None if value is None else self.enum(value)


class Requirement(StrEnum):
    """How CBP words a Minimum Security Criterion: "must" is required, "should" recommended."""

    must = "must"
    should = "should"


class Applicability(StrEnum):
    """Whether a criterion applies to an entity type; "unknown" until a source or an admin decides."""

    yes = "yes"
    no = "no"
    unknown = "unknown"


class Role(StrEnum):
    admin = "admin"
    analyst = "analyst"
    viewer = "viewer"


# CBP's 12 eligible CTPAT entity types, spelled as in the MSC applicability reference.
ENTITY_TYPES: tuple[str, ...] = (
    "Importer",
    "Exporter",
    "Foreign Manufacturer",
    "Highway Carrier",
    "Long Haul Highway Carrier (Mexico)",
    "Air Carrier",
    "Rail Carrier",
    "Sea Carrier",
    "Third Party Logistics Provider",
    "Consolidator",
    "Customs Broker",
    "Marine Port Authority and Terminal Operator",
)

PARTNER_STATUSES: tuple[str, ...] = ("active", "inactive")
CRITICALITIES: tuple[str, ...] = ("low", "medium", "high", "critical")
LANGUAGES: dict[str, str] = {"en": "English", "es": "Español", "zh": "简体中文"}
TIERS: tuple[str, ...] = ("Not certified", "Tier I", "Tier II", "Tier III")
