import math
import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import pydantic
from pydantic import ValidationInfo, field_validator, model_validator
from pydantic_core import PydanticCustomError
from sqlmodel import Field, SQLModel

from models.common import CRITICALITIES, ENTITY_TYPES, LANGUAGES, PARTNER_STATUSES, utcnow
from services.partners.identifiers import (
    EMAIL,
    IDENTIFIER_FORMATS,
    identifier_error,
    normalize_identifier,
    normalize_name,
)


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
    # What the partner physically does (models.reference.PartnerRole); None = the entity type's default
    # (seed/entity-roles.csv; the land border also from the country). Decides role-conditional criteria.
    crosses_land_border: bool | None = None
    stuffs_containers: bool | None = None
    operates_conveyances: bool | None = None
    handles_cargo: bool | None = None
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


_FINITE = {"allow_inf_nan": False}  # "nan" and "inf" are not numbers a user means


class PartnerIn(SQLModel):
    """A partner as staff enter it (the form, a file import, the CLI): the one home of the partner field rules.

    ``PartnerIn.model_validate(values, context={"country_codes": {...}})`` trims text, upper-cases codes and
    identifiers, reads vocabularies in any case, turns blanks into defaults, and reports every problem under its
    field with a message meant for the user (``PartnerIn.problems(error)``). Without country codes in the context a
    country only has to be two letters; the services always pass them. Field order is the order problems are listed.
    """

    partner_code: str = Field(min_length=1, max_length=40)
    legal_name: str = Field(min_length=1, max_length=200)
    address: str = Field(default="", max_length=300)
    city: str = Field(default="", max_length=100)
    contact_name: str = Field(default="", max_length=120)
    contact_email: str = Field(default="", max_length=254)
    notes: str = Field(default="", max_length=2000)
    entity_type: str
    country_iso2: str
    criticality: str = "medium"
    status: str = "active"
    language: str = "en"
    latitude: float | None = Field(default=None, ge=-90, le=90, schema_extra=_FINITE)
    longitude: float | None = Field(default=None, ge=-180, le=180, schema_extra=_FINITE)
    import_share: float | None = Field(default=None, ge=0, le=100, schema_extra=_FINITE)  # percent of import volume
    mid: str | None = None
    scac: str | None = None
    ior_ein: str | None = None
    duns: str | None = None
    fmc: str | None = None
    iata_code: str | None = None
    broker_license: str | None = None
    usdot: str | None = None
    parent_id: int | None = None

    @property
    def normalized_name(self) -> str:
        """The legal name reduced for duplicate detection."""
        return normalize_name(self.legal_name)

    def row(self) -> dict[str, Any]:
        """The values of a Partner row, normalised name included."""
        return {**self.model_dump(), "normalized_name": self.normalized_name}

    @classmethod
    def max_chars(cls, field: str) -> int | None:
        """The length limit of a text field, for the form's inputs."""
        return next((m.max_length for m in cls.model_fields[field].metadata if hasattr(m, "max_length")), None)

    @classmethod
    def bounds(cls, field: str) -> tuple[float, float]:
        """The allowed range of a number field."""
        metadata = cls.model_fields[field].metadata
        return (next(m.ge for m in metadata if hasattr(m, "ge")), next(m.le for m in metadata if hasattr(m, "le")))

    @classmethod
    def normalise(cls, values: Mapping[str, Any]) -> dict[str, Any]:
        """The values as the rules read them, before any check: trimmed, cased, blanks as defaults."""
        out: dict[str, Any] = {}
        for field in _TEXT_FIELDS:
            out[field] = _text(values.get(field))
        out["partner_code"] = out["partner_code"].upper()
        out["entity_type"] = _ENTITY_TYPES.get(out["entity_type"].casefold(), out["entity_type"])
        out["country_iso2"] = out["country_iso2"].upper()
        for field, default in (("criticality", "medium"), ("status", "active"), ("language", "en")):
            out[field] = (_text(values.get(field)) or default).lower()
        for field in _NUMBER_FIELDS:
            raw = values.get(field)
            out[field] = (raw.strip() if isinstance(raw, str) else raw) if _text(raw) else None
        for field in IDENTIFIER_FORMATS:
            out[field] = normalize_identifier(field, values.get(field))
        parent = values.get("parent_id")
        if isinstance(parent, float) and parent.is_integer():  # an id read from a spreadsheet
            parent = int(parent)
        out["parent_id"] = (parent.strip() if isinstance(parent, str) else parent) if _text(parent) else None
        return out

    @classmethod
    def problems(cls, error: pydantic.ValidationError) -> list[str]:
        """Every problem of a failed validation as "field: message"."""
        out = []
        for problem in error.errors(include_url=False):
            field = str(problem["loc"][0]) if problem["loc"] else "partner"
            kind, given = problem["type"], problem.get("input")
            if kind == "string_too_short":
                message = "required"
            elif kind == "string_too_long":
                message = f"longer than {problem['ctx']['max_length']} characters"
            elif kind in ("greater_than_equal", "less_than_equal"):
                low, high = cls.bounds(field)
                message = f"{float(given)} is outside {low}..{high}"
            elif kind.startswith(("float_", "finite_")):
                message = f"'{given}' is not a number"
            elif kind.startswith("int_"):
                message = f"'{given}' is not a partner id"
            else:
                message = problem["msg"]
            out.append(f"{field}: {message}")
        return out

    @model_validator(mode="before")
    @classmethod
    def _normalised(cls, data: Any) -> Any:
        return cls.normalise(data) if isinstance(data, Mapping) else data

    @field_validator("contact_email")
    @classmethod
    def _email(cls, value: str) -> str:
        if value and not EMAIL.match(value):
            raise _problem(f"'{value}' is not an email address")
        return value

    @field_validator("entity_type")
    @classmethod
    def _entity_type(cls, value: str) -> str:
        if value not in ENTITY_TYPES:
            raise _problem(f"'{value}' is not a CTPAT entity type")
        return value

    @field_validator("country_iso2")
    @classmethod
    def _country(cls, value: str, info: ValidationInfo) -> str:
        known = (info.context or {}).get("country_codes")
        valid = value in known if known is not None else re.fullmatch(r"[A-Z]{2}", value) is not None
        if not valid:
            raise _problem(f"'{value}' is not an ISO 3166 alpha-2 country code")
        return value

    @field_validator("criticality", "status", "language")
    @classmethod
    def _vocabulary(cls, value: str, info: ValidationInfo) -> str:
        allowed = {"criticality": CRITICALITIES, "status": PARTNER_STATUSES, "language": tuple(LANGUAGES)}[
            info.field_name]
        if value not in allowed:
            raise _problem(f"'{value}' must be one of {', '.join(allowed)}")
        return value

    @field_validator(*IDENTIFIER_FORMATS)
    @classmethod
    def _identifier(cls, value: str | None, info: ValidationInfo) -> str | None:
        problem = identifier_error(info.field_name, value, info.data.get("country_iso2"))
        if problem:
            raise _problem(problem)
        return value


_TEXT_FIELDS = ("partner_code", "legal_name", "address", "city", "contact_name", "contact_email", "notes",
                "entity_type", "country_iso2")
_NUMBER_FIELDS = ("latitude", "longitude", "import_share")
_ENTITY_TYPES = {e.casefold(): e for e in ENTITY_TYPES}  # entity types read in any case


def _text(value: object) -> str:
    """A cell or form value as trimmed text; None and NaN (an empty spreadsheet cell) are empty."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return str(value).strip()


def _problem(message: str) -> PydanticCustomError:
    return PydanticCustomError("partner_rule", message)
