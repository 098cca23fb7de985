"""The importer's own CTPAT profile and the dates that follow from it."""

from datetime import date, timedelta
from typing import Any

from sqlmodel import Session, select

from models import CompanyProfile
from models.common import ENTITY_TYPES, TIERS, utcnow
from services.core import audit
from services.core.permissions import Actor, ValidationError, require_admin

FIELDS = ("legal_name", "ctpat_account_number", "entity_type", "tier", "certification_date",
          "last_validation_date", "annual_review_anniversary", "ior_number", "primary_contact",
          "primary_contact_email")
REVALIDATION_YEARS = 4  # SAFE Port Act: revalidation at least once in every 4-year period
ASPR_WINDOW_DAYS = 90  # the Annual Security Profile Review window opens 90 days before the anniversary


def get_profile(*, session: Session) -> CompanyProfile | None:
    return session.exec(select(CompanyProfile).order_by(CompanyProfile.id)).first()


def save_profile(*, session: Session, actor: Actor, values: dict[str, Any]) -> CompanyProfile:
    """Create or update the company profile (admins only)."""
    require_admin(actor)
    if not str(values.get("legal_name") or "").strip():
        raise ValidationError("Legal name is required.")
    if values.get("entity_type") and values["entity_type"] not in ENTITY_TYPES:
        raise ValidationError(f"Entity type must be one of: {', '.join(ENTITY_TYPES)}.")
    if values.get("tier") and values["tier"] not in TIERS:
        raise ValidationError(f"Tier must be one of: {', '.join(TIERS)}.")
    profile = get_profile(session=session)
    before = {f: getattr(profile, f) for f in FIELDS} if profile else None
    profile = profile or CompanyProfile(legal_name="")
    for field in FIELDS:
        if field in values:
            setattr(profile, field, values[field])
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
