"""The importer's own CTPAT profile and the dates that follow from it."""

from collections.abc import Mapping
from datetime import date, timedelta
from typing import Any

import pydantic
from pydantic import field_validator
from pydantic_core import PydanticCustomError
from sqlmodel import Field, Session, SQLModel, select

from models import CompanyProfile
from models.common import ENTITY_TYPES, TIERS, utcnow
from services.core import audit
from services.core.permissions import Actor, ValidationError, require_admin
from services.partners.identifiers import EMAIL

LABELS = {"legal_name": "Legal name", "ctpat_account_number": "CTPAT account number", "entity_type": "Entity type",
          "tier": "Tier", "certification_date": "Certification date", "last_validation_date": "Last validation date",
          "annual_review_anniversary": "Annual review anniversary", "ior_number": "IOR number",
          "primary_contact": "Primary contact", "primary_contact_email": "Primary contact email"}
REVALIDATION_YEARS = 4  # SAFE Port Act: revalidation at least once in every 4-year period
ASPR_WINDOW_DAYS = 90  # the Annual Security Profile Review window opens 90 days before the anniversary


class ProfileIn(SQLModel):
    """The company profile as an admin enters it: the one home of its field rules (lengths as the table stores)."""

    legal_name: str = Field(min_length=1, max_length=200)
    ctpat_account_number: str = Field(default="", max_length=40)
    entity_type: str = "Importer"
    tier: str = "Not certified"
    certification_date: date | None = None
    last_validation_date: date | None = None
    annual_review_anniversary: date | None = None
    ior_number: str = Field(default="", max_length=20)
    primary_contact: str = Field(default="", max_length=120)
    primary_contact_email: str = Field(default="", max_length=254)

    @classmethod
    def max_chars(cls, field: str) -> int | None:
        """The length limit of a text field, for the form's inputs."""
        return next((m.max_length for m in cls.model_fields[field].metadata if hasattr(m, "max_length")), None)

    @field_validator("legal_name", "ctpat_account_number", "entity_type", "tier", "ior_number", "primary_contact",
                     "primary_contact_email", mode="before")
    @classmethod
    def _trimmed(cls, value: object) -> object:
        return "" if value is None else value.strip() if isinstance(value, str) else value

    @field_validator("entity_type")
    @classmethod
    def _entity_type(cls, value: str) -> str:
        if value not in ENTITY_TYPES:
            raise PydanticCustomError("profile", "Entity type must be one of: {choices}.",
                                      {"choices": ", ".join(ENTITY_TYPES)})
        return value

    @field_validator("tier")
    @classmethod
    def _tier(cls, value: str) -> str:
        if value not in TIERS:
            raise PydanticCustomError("profile", "Tier must be one of: {choices}.", {"choices": ", ".join(TIERS)})
        return value

    @field_validator("primary_contact_email")
    @classmethod
    def _email(cls, value: str) -> str:
        if value and not EMAIL.match(value):
            raise PydanticCustomError("profile", "Primary contact email: '{value}' is not an email address.",
                                      {"value": value})
        return value


def _problems(error: pydantic.ValidationError) -> str:
    """The problems of a failed ProfileIn, one sentence each, each naming its field."""
    out = []
    for problem in error.errors(include_url=False):
        label = LABELS.get(str(problem["loc"][0]) if problem["loc"] else "", "Profile")
        kind = problem["type"]
        if kind == "string_too_short":
            out.append(f"{label} is required.")
        elif kind == "string_too_long":
            out.append(f"{label}: longer than {problem['ctx']['max_length']} characters.")
        elif kind.startswith(("date_", "datetime_")):
            out.append(f"{label}: '{problem['input']}' is not a date.")
        else:
            out.append(problem["msg"])
    return "; ".join(out)


def profile_input(values: ProfileIn | Mapping[str, Any]) -> ProfileIn:
    """The values checked as a ProfileIn; ValidationError names every field at fault."""
    try:
        return ProfileIn.model_validate(values.model_dump() if isinstance(values, ProfileIn) else values)
    except pydantic.ValidationError as error:
        raise ValidationError(_problems(error)) from None


FIELDS = tuple(ProfileIn.model_fields)


def get_profile(*, session: Session) -> CompanyProfile | None:
    return session.exec(select(CompanyProfile).order_by(CompanyProfile.id)).first()


def save_profile(*, session: Session, actor: Actor, values: ProfileIn | Mapping[str, Any]) -> CompanyProfile:
    """Create or update the company profile (admins only); a mapping may hold only the fields that change."""
    require_admin(actor)
    profile = get_profile(session=session)
    before = {f: getattr(profile, f) for f in FIELDS} if profile else None
    changes = values.model_dump() if isinstance(values, ProfileIn) else values
    checked = profile_input({**(before or {}), **changes})
    profile = profile or CompanyProfile(legal_name="")
    for field in FIELDS:
        setattr(profile, field, getattr(checked, field))
    profile.updated_at = utcnow()
    session.add(profile)
    session.flush()
    audit.record(session=session, actor=actor, action="update" if before else "create", entity="company",
                 entity_id=profile.id or "", summary="Saved the company profile", before=before,
                 after={f: getattr(profile, f) for f in FIELDS})
    return profile


def _add_years(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def key_dates(profile: CompanyProfile, today: date | None = None) -> dict[str, Any]:
    """Next annual review anniversary, when its window opens, and the revalidation due date."""
    today = today or date.today()
    out: dict[str, Any] = {"next_anniversary": None, "review_window_opens": None, "days_to_anniversary": None,
                           "revalidation_due": None, "days_to_revalidation": None}
    if profile.annual_review_anniversary:
        anniversary = profile.annual_review_anniversary
        nxt = _add_years(anniversary, max(today.year - anniversary.year, 0))
        if nxt < today:
            nxt = _add_years(anniversary, today.year - anniversary.year + 1)
        out["next_anniversary"] = nxt
        out["review_window_opens"] = nxt - timedelta(days=ASPR_WINDOW_DAYS)
        out["days_to_anniversary"] = (nxt - today).days
    base = profile.last_validation_date or profile.certification_date
    if base:
        due = _add_years(base, REVALIDATION_YEARS)
        out["revalidation_due"] = due
        out["days_to_revalidation"] = (due - today).days
    return out
