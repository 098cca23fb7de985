"""A partner's sites (where it works, with MID and activities), its internal owner, and moving them on a merge.

Sites replace the single address of the partner record: the first site of every partner that existed before them was
made from that address by migration 0003, and ``ensure_first_sites`` does the same for partners added since by code
that does not know about sites yet.
"""

from typing import Any

import pandas as pd
from sqlalchemy import insert, update
from sqlmodel import Session, col, func, select

from models import Country, LaneNode, Partner, PartnerContact, PartnerSite, ScreeningMatch, User
from models.common import utcnow
from models.sites import SiteActivity
from services.core import audit
from services.core.permissions import Actor, ValidationError, require_write
from services.partners.identifiers import identifier_error, normalize_identifier
from services.places.regions import clean_region, region_name

SITE_FIELDS = ("name", "address", "city", "region_code", "country_iso2", "latitude", "longitude", "mid", "activities",
               "is_primary", "status", "notes")
SITE_COLUMNS = ["id", "partner_id", "name", "address", "city", "region_code", "region", "country_iso2", "latitude",
                "longitude", "mid", "activities", "is_primary", "status", "notes", "updated_at"]
SITE_STATUSES = ("active", "inactive")
_ACTIVITY_WORDS = {a.value.replace("-", " "): a.value for a in SiteActivity} | {
    "crossdock": SiteActivity.cross_dock.value, "office": SiteActivity.office_only.value,
    "warehouse": SiteActivity.warehousing.value, "factory": SiteActivity.manufacturing.value,
    "production": SiteActivity.manufacturing.value, "loading": SiteActivity.stuffing.value,
}


def clean_activities(value: object) -> str:
    """Activities as stored: known values, comma-separated, in the enum's order; a list or a text both work."""
    items = value if isinstance(value, list | tuple | set) else str(value or "").replace(";", ",").split(",")
    found = []
    for item in items:
        word = " ".join(str(item).strip().casefold().replace("-", " ").replace("_", " ").split())
        if not word:
            continue
        activity = _ACTIVITY_WORDS.get(word)
        if activity is None:
            raise ValidationError(f"activities: '{item}' is not one of {', '.join(SiteActivity)}")
        found.append(activity)
    order = list(SiteActivity)
    return ",".join(a for a in order if a in found)


def _number(value: object) -> float | None:
    if value is None or value == "" or (isinstance(value, float) and pd.isna(value)):
        return None
    return float(value)


def clean_site_values(session: Session, values: dict[str, Any]) -> dict[str, Any]:
    """Validated site values; raises ValidationError listing every problem (field name first)."""
    problems: list[str] = []
    out: dict[str, Any] = {}
    for field, limit in (("name", 120), ("address", 300), ("city", 100), ("notes", 1000)):
        text = " ".join(str(values.get(field) or "").split()) if field != "notes" else str(values.get(field) or "")
        if len(text) > limit:
            problems.append(f"{field}: longer than {limit} characters")
        out[field] = text.strip()
    if not out["name"]:
        out["name"] = out["city"] or "Main site"
    country = str(values.get("country_iso2") or "").strip().upper()
    if session.get(Country, country) is None:
        problems.append(f"country_iso2: '{country}' is not an ISO 3166 alpha-2 country code")
    out["country_iso2"] = country
    try:
        out["region_code"] = clean_region(country, values.get("region_code"))
    except ValidationError as exc:
        problems.append(f"region_code: {exc}")
        out["region_code"] = ""
    for field, low, high in (("latitude", -90, 90), ("longitude", -180, 180)):
        try:
            number = _number(values.get(field))
        except (TypeError, ValueError):
            problems.append(f"{field}: '{values.get(field)}' is not a number")
            number = None
        if number is not None and not low <= number <= high:
            problems.append(f"{field}: {number} is outside {low}..{high}")
        out[field] = number
    if (out["latitude"] is None) != (out["longitude"] is None):
        problems.append("coordinates: give both latitude and longitude, or neither")
    out["mid"] = normalize_identifier("mid", values.get("mid"))
    mid_problem = identifier_error("mid", out["mid"], country)
    if mid_problem:
        problems.append(f"mid: {mid_problem}")
    try:
        out["activities"] = clean_activities(values.get("activities"))
    except ValidationError as exc:
        problems.append(str(exc))
    status = str(values.get("status") or "active").strip().lower()
    if status not in SITE_STATUSES:
        problems.append(f"status: one of {', '.join(SITE_STATUSES)}")
    out["status"] = status
    out["is_primary"] = bool(values.get("is_primary", False))
    if problems:
        raise ValidationError("; ".join(problems))
    return out


def _snapshot(site: PartnerSite) -> dict[str, Any]:
    return {f: getattr(site, f) for f in SITE_FIELDS}


def _partner(session: Session, partner_id: int) -> Partner:
    partner = session.get(Partner, partner_id)
    if partner is None:
        raise ValidationError(f"No partner with id {partner_id}.")
    return partner


def _unset_other_primaries(session: Session, partner_id: int, keep_id: int) -> None:
    session.exec(update(PartnerSite).where(PartnerSite.partner_id == partner_id, PartnerSite.id != keep_id)
                 .values(is_primary=False))


def list_sites(*, session: Session, partner_id: int | None = None) -> pd.DataFrame:
    """Sites (of one partner, or all), primary first, with the region's name."""
    stmt = select(PartnerSite)
    if partner_id is not None:
        stmt = stmt.where(PartnerSite.partner_id == partner_id)
    rows = [s.model_dump() for s in session.exec(stmt.order_by(col(PartnerSite.is_primary).desc(), PartnerSite.id))]
    frame = pd.DataFrame(rows, columns=[c for c in SITE_COLUMNS if c != "region"])
    frame.insert(6, "region", frame["region_code"].map(region_name))
    return frame


def get_site(*, session: Session, site_id: int) -> PartnerSite | None:
    return session.get(PartnerSite, site_id)


def create_site(*, session: Session, actor: Actor, partner_id: int, values: dict[str, Any]) -> PartnerSite:
    """Add a site to a partner; the first site is the primary one."""
    require_write(actor)
    partner = _partner(session, partner_id)
    clean = clean_site_values(session, {"country_iso2": partner.country_iso2, **values})
    has_sites = session.exec(select(func.count()).select_from(PartnerSite)
                             .where(PartnerSite.partner_id == partner_id)).one()
    clean["is_primary"] = clean["is_primary"] or not has_sites
    site = PartnerSite(partner_id=partner_id, **clean)
    session.add(site)
    session.flush()
    if site.is_primary:
        _unset_other_primaries(session, partner_id, site.id)
    audit.record(session=session, actor=actor, action="create", entity="site", entity_id=partner.partner_code,
                 summary=f"Added site '{site.name}' to partner {partner.partner_code}", after=_snapshot(site))
    return site


def update_site(*, session: Session, actor: Actor, site_id: int, values: dict[str, Any]) -> PartnerSite:
    """Change a site; making it primary makes the partner's other sites not primary."""
    require_write(actor)
    site = session.get(PartnerSite, site_id)
    if site is None:
        raise ValidationError(f"No site with id {site_id}.")
    before = _snapshot(site)
    clean = clean_site_values(session, {**before, **values})
    if before["is_primary"] and not clean["is_primary"]:
        raise ValidationError("is_primary: make another site primary instead; a partner keeps one primary site")
    if clean["status"] == "inactive" and clean["is_primary"]:
        raise ValidationError("status: the primary site cannot be inactive; make another site primary first")
    for field, value in clean.items():
        setattr(site, field, value)
    site.updated_at = utcnow()
    session.add(site)
    if site.is_primary:
        _unset_other_primaries(session, site.partner_id, site.id)
    code = session.get(Partner, site.partner_id).partner_code
    audit.record(session=session, actor=actor, action="update", entity="site", entity_id=code,
                 summary=f"Changed site '{site.name}' of partner {code}", before=before, after=_snapshot(site))
    return site


def ensure_first_sites(*, session: Session, actor: Actor, partner_ids: list[int] | None = None) -> int:
    """Give every partner without a site (or those of `partner_ids`) a primary site from its partner record.

    The same move migration 0003 made for the partners that existed then: name (the city, else "Main site"),
    address, city, country, coordinates and MID; activities "manufacturing" for foreign manufacturers, else none.
    One INSERT for all; returns how many sites were made.
    """
    require_write(actor)
    have = select(PartnerSite.partner_id)
    stmt = select(Partner).where(col(Partner.id).not_in(have))
    if partner_ids is not None:
        stmt = stmt.where(col(Partner.id).in_(partner_ids))
    now = utcnow()
    rows = [{"partner_id": p.id, "name": (p.city or "Main site")[:120], "address": p.address, "city": p.city,
             "region_code": "", "country_iso2": p.country_iso2, "latitude": p.latitude, "longitude": p.longitude,
             "mid": p.mid, "activities": "manufacturing" if p.entity_type == "Foreign Manufacturer" else "",
             "is_primary": True, "status": "active", "notes": "", "created_at": now, "updated_at": now}
            for p in session.exec(stmt)]
    if rows:
        session.exec(insert(PartnerSite), params=rows)
        audit.record(session=session, actor=actor, action="create", entity="site", entity_id="",
                     summary=f"Made a first site from the partner record for {len(rows)} partners",
                     after={"partners": len(rows)})
    return len(rows)


def set_owner(*, session: Session, actor: Actor, partner_id: int, username: str | None) -> Partner:
    """Make a staff user the partner's internal owner (who gets its escalations); None removes the owner."""
    require_write(actor)
    partner = _partner(session, partner_id)
    owner = None
    if username:
        owner = session.exec(select(User).where(User.username == username.strip().lower())).first()
        if owner is None or not owner.is_active:
            raise ValidationError(f"owner: no active staff user '{username}'")
    before = owner_of(session=session, partner_id=partner_id)
    partner.owner_id = owner.id if owner else None
    partner.updated_at = utcnow()
    session.add(partner)
    after = owner.username if owner else ""
    if before != after:
        audit.record(session=session, actor=actor, action="update", entity="partner", entity_id=partner.partner_code,
                     summary=f"Owner of partner {partner.partner_code}: {after or 'none'}",
                     before={"owner": before}, after={"owner": after})
    return partner


def owner_of(*, session: Session, partner_id: int) -> str:
    """Username of the partner's internal owner, "" when it has none."""
    found = session.exec(select(User.username).join(Partner, col(Partner.owner_id) == User.id)
                         .where(Partner.id == partner_id)).first()
    return found or ""


def owners(*, session: Session) -> pd.DataFrame:
    """Every partner with an owner: partner_id, partner_code, username, name, email."""
    rows = session.exec(select(Partner.id, Partner.partner_code, User.username, User.name, User.email)
                        .join(User, col(Partner.owner_id) == User.id)).all()
    return pd.DataFrame(rows, columns=["partner_id", "partner_code", "username", "name", "email"])


def merge_into(*, session: Session, actor: Actor, keep_id: int, duplicate_id: int) -> dict[str, int]:
    """Move the duplicate's sites, contacts, lane custody and screening matches to the partner kept.

    For ``merge_partners``: the moved sites and contacts are never primary (the kept partner keeps its own), and
    a screening match the kept partner already has for the same entry stays with the duplicate.
    """
    require_write(actor)
    _partner(session, keep_id)
    _partner(session, duplicate_id)
    moved = {}
    if session.exec(select(func.count()).select_from(PartnerSite).where(PartnerSite.partner_id == keep_id)).one():
        session.exec(update(PartnerSite).where(PartnerSite.partner_id == duplicate_id).values(is_primary=False))
    moved["sites"] = session.exec(update(PartnerSite).where(PartnerSite.partner_id == duplicate_id)
                                  .values(partner_id=keep_id)).rowcount
    keep_has_contact = session.exec(select(func.count()).select_from(PartnerContact)
                                    .where(PartnerContact.partner_id == keep_id)).one()
    if keep_has_contact:
        session.exec(update(PartnerContact).where(PartnerContact.partner_id == duplicate_id).values(is_primary=False))
    moved["contacts"] = session.exec(update(PartnerContact).where(PartnerContact.partner_id == duplicate_id)
                                     .values(partner_id=keep_id)).rowcount
    moved["lane nodes"] = session.exec(update(LaneNode).where(LaneNode.partner_id == duplicate_id)
                                       .values(partner_id=keep_id)).rowcount
    session.exec(update(LaneNode).where(LaneNode.contracted_by_id == duplicate_id).values(contracted_by_id=keep_id))
    taken = select(ScreeningMatch.entry_id).where(ScreeningMatch.partner_id == keep_id)
    moved["screening matches"] = session.exec(
        update(ScreeningMatch).where(ScreeningMatch.partner_id == duplicate_id,
                                     col(ScreeningMatch.entry_id).not_in(taken)).values(partner_id=keep_id)).rowcount
    audit.record(session=session, actor=actor, action="merge", entity="site", entity_id=str(keep_id),
                 summary=f"Moved from partner {duplicate_id} to {keep_id}: "
                         + ", ".join(f"{n} {what}" for what, n in moved.items()), after=moved)
    return moved
