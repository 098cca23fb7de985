"""A partner's sites (where it works, with MID and activities), its internal owner, and moving them on a merge.

Sites replace the single address of the partner record: the first site of every partner that existed before them was
made from that address by migration 0003, and ``ensure_first_sites`` does the same for partners added since (a new
partner, a file import, the demo). Until the record's address columns are dropped, they hold a copy of the primary
site (``mirror_primary_sites``), so code that still reads them sees the same address; only this module writes it.
"""

from datetime import date
from typing import Any

import pandas as pd
from sqlalchemy import Select, literal, true, update
from sqlalchemy import case as when
from sqlmodel import Session, col, func, select

from models import Country, LaneNode, Partner, PartnerContact, PartnerSite, ScreeningMatch, User
from models.common import utcnow
from models.sites import SiteActivity
from services.certificates import exemption
from services.core import audit
from services.core.permissions import Actor, ValidationError, require_write
from services.partners.bulk import insert_from_select, partner_chunks
from services.partners.contacts import mirror_primary_contacts
from services.partners.identifiers import identifier_error, normalize_identifier
from services.places.regions import clean_region, region_name

SITE_FIELDS = ("name", "address", "city", "region_code", "country_iso2", "latitude", "longitude", "mid", "activities",
               "is_primary", "status", "notes")
SITE_COLUMNS = ["id", "partner_id", "name", "address", "city", "region_code", "region", "country_iso2", "latitude",
                "longitude", "mid", "activities", "is_primary", "status", "notes", "updated_at"]
SITE_STATUSES = ("active", "inactive")
RECORD_FIELDS = ("address", "city", "latitude", "longitude", "mid")  # the partner record's copy of its primary site
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
    if clean["status"] == "inactive" and clean["is_primary"]:
        raise ValidationError("status: the primary site cannot be inactive")
    if clean["is_primary"]:  # first, so that the one-primary index never sees two
        _unset_other_primaries(session, partner_id, -1)
        session.flush()
    site = PartnerSite(partner_id=partner_id, **clean)
    session.add(site)
    session.flush()
    if site.is_primary:
        mirror_primary_sites(session=session, partner_ids=[partner_id])
    audit.record(session=session, actor=actor, action="create", entity="site", entity_id=partner.partner_code,
                 summary=f"Added site '{site.name}' to partner {partner.partner_code}", after=_snapshot(site))
    # A certificate that named every site no longer does: the partner may lose its exemption.
    exemption.join_uncovered(session=session, actor=actor, partner_ids=[partner_id], today=date.today(),
                             why=f"site {site.name} added, which no certificate names")
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
    if clean["is_primary"] and not before["is_primary"]:  # first, so that the one-primary index never sees two
        _unset_other_primaries(session, site.partner_id, site.id)
        session.flush()
    for field, value in clean.items():
        setattr(site, field, value)
    site.updated_at = utcnow()
    session.add(site)
    session.flush()
    if site.is_primary:
        mirror_primary_sites(session=session, partner_ids=[site.partner_id])
    code = session.get(Partner, site.partner_id).partner_code
    audit.record(session=session, actor=actor, action="update", entity="site", entity_id=code,
                 summary=f"Changed site '{site.name}' of partner {code}", before=before, after=_snapshot(site))
    if before["status"] != site.status:
        exemption.join_uncovered(session=session, actor=actor, partner_ids=[site.partner_id], today=date.today(),
                                 why=f"site {site.name} now {site.status}")
    return site


def ensure_first_sites(*, session: Session, actor: Actor, partner_ids: list[int] | Select | None = None,
                       audited: bool = True) -> int:
    """Give every partner without a site (of `partner_ids`: a list or a select of ids) a primary site from its record.

    The same move migration 0003 made for the partners that existed then: name (the city, else "Main site"),
    address, city, country, coordinates and MID; activities "manufacturing" for foreign manufacturers, else none.
    One INSERT ... SELECT (per 5,000 listed ids), whatever the number of partners; returns how many sites were made.
    `audited=False` is for a caller whose own audit entry already holds the address (adding one partner).
    """
    require_write(actor)
    now = utcnow()
    p = Partner.__table__.c
    made = 0
    for chunk in partner_chunks(partner_ids):
        stmt = (select(p.id, when((p.city != "", func.substr(p.city, 1, 120)), else_=literal("Main site")),
                       p.address, p.city, literal(""), p.country_iso2, p.latitude, p.longitude, p.mid,
                       when((p.entity_type == "Foreign Manufacturer", literal("manufacturing")), else_=literal("")),
                       true(), literal("active"), literal(""), literal(now, PartnerSite.__table__.c.created_at.type),
                       literal(now, PartnerSite.__table__.c.updated_at.type))
                .where(p.id.not_in(select(PartnerSite.partner_id))))
        if chunk is not None:
            stmt = stmt.where(p.id.in_(chunk))
        columns = ["partner_id", "name", "address", "city", "region_code", "country_iso2", "latitude", "longitude",
                   "mid", "activities", "is_primary", "status", "notes", "created_at", "updated_at"]
        made += insert_from_select(session, PartnerSite.__table__, columns, stmt)
    if made and audited:
        audit.record(session=session, actor=actor, action="create", entity="site", entity_id="",
                     summary=f"Made a first site from the partner record for {made} partners",
                     after={"partners": made})
    return made


def mirror_primary_sites(*, session: Session, partner_ids: list[int] | Select | None = None) -> None:
    """Copy each partner's primary site into the record's address columns (RECORD_FIELDS), for the code that still
    reads them; the MID only where it is valid for the partner's country (a site abroad keeps its MID to itself).
    Set-based: one UPDATE per 5,000 listed ids."""
    site = PartnerSite.__table__.c
    partner = Partner.__table__.c

    def primary(column):
        return (select(column).where(site.partner_id == partner.id, site.is_primary).limit(1)
                .correlate(Partner.__table__).scalar_subquery())

    same_country = primary(site.country_iso2) == partner.country_iso2
    values = {f: func.coalesce(primary(site[f]), "") for f in ("address", "city")}
    values |= {"latitude": primary(site.latitude), "longitude": primary(site.longitude),
               "mid": when((same_country, primary(site.mid)), else_=None)}
    has_primary = select(site.partner_id).where(site.is_primary)
    for chunk in partner_chunks(partner_ids):
        stmt = update(Partner).where(partner.id.in_(has_primary)).values(**values)
        if chunk is not None:
            stmt = stmt.where(partner.id.in_(chunk))
        session.exec(stmt)


def copy_record_to_primary_sites(*, session: Session, partner_ids: list[int] | Select) -> None:
    """The other way round, for a file import that changed the record's address columns of existing partners: their
    primary site takes the record's address, city and coordinates, and its MID when the site is in the partner's
    country. One UPDATE per 5,000 listed ids."""
    site = PartnerSite.__table__.c
    partner = Partner.__table__.c

    def record(column):
        return select(column).where(partner.id == site.partner_id).correlate(PartnerSite.__table__).scalar_subquery()

    same_country = record(partner.country_iso2) == site.country_iso2
    values = {f: record(partner[f]) for f in ("address", "city", "latitude", "longitude")}
    values |= {"mid": when((same_country, record(partner.mid)), else_=site.mid), "updated_at": utcnow()}
    for chunk in partner_chunks(partner_ids):
        session.exec(update(PartnerSite).where(site.is_primary, site.partner_id.in_(chunk)).values(**values))


def primary_site(*, session: Session, partner_id: int) -> PartnerSite | None:
    """The partner's primary site (its main address), if it has any site."""
    return session.exec(select(PartnerSite).where(PartnerSite.partner_id == partner_id,
                                                  PartnerSite.is_primary)).first()


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


def owner_choices(*, session: Session) -> dict[str, str]:
    """Username -> "Name (username)" of every active staff user, for the owner picker."""
    rows = session.exec(select(User.username, User.name).where(User.is_active).order_by(User.name, User.username))
    return {username: f"{name} ({username})" if name and name != username else username for username, name in rows}


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
    mirror_primary_sites(session=session, partner_ids=[keep_id])
    mirror_primary_contacts(session=session, partner_ids=[keep_id])
    audit.record(session=session, actor=actor, action="merge", entity="site", entity_id=str(keep_id),
                 summary=f"Moved from partner {duplicate_id} to {keep_id}: "
                         + ", ".join(f"{n} {what}" for what, n in moved.items()), after=moved)
    return moved
