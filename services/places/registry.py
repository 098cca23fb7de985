"""Cargo places: reference ports from seed/reference/ports.csv, places admins add, and partner sites as places."""

import re
from typing import Any

import pandas as pd
from sqlalchemy import insert
from sqlmodel import Session, col, select

from models import Country, Partner, PartnerSite, Place
from models.common import utcnow
from models.places import PLACE_KIND_LABELS, PlaceKind
from services.core import audit
from services.core.config import ROOT
from services.core.permissions import Actor, ValidationError, require_admin
from services.places.regions import clean_region

REFERENCE = ROOT / "seed" / "reference"

# Shown wherever the reference places are shown (seed/reference/ports.md).
PLACES_ATTRIBUTION = (
    "Port locations: World Port Index (NGA Pub. 150), public domain. Land-port location (Nogales): US DOT BTS Border "
    "Crossing Entry Data, public domain. Airport locations: airportsdata, © 2020- Mike Borsetti, includes data © 2014 "
    "mwgg, MIT licence. Location codes: UN/LOCODE, UNECE. Some points mark the town, not the terminal or bridge."
)

# Carrier schedules and bills of lading use these codes for Chinese ports; UN/LOCODE gives them to the cities'
# airports (seed/reference/ports.md, caveat 2). Imports read them as the seaport, with a warning.
CARRIER_ALIASES: dict[str, str] = {
    "CNSHA": "CNSGH", "CNNGB": "CNNBO", "CNTAO": "CNQIN", "CNXMN": "CNXMG", "CNDLC": "CNDAL", "CNCAN": "CNNSA",
    "CNSZX": "CNYTN", "CNTSN": "CNTXG",
}
LOCODE = re.compile(r"^[A-Z]{2}[A-Z2-9]{3}$")
PLACE_FIELDS = ("code", "kind", "name", "country_iso2", "region_code", "latitude", "longitude", "notes", "source")
LOCATION_COLUMNS = ["key", "place_id", "site_id", "partner_id", "partner_code", "kind", "code", "name", "country_iso2",
                    "region_code", "latitude", "longitude", "active"]


def reference_places() -> pd.DataFrame:
    """The rows of seed/reference/ports.csv as place values."""
    ports = pd.read_csv(REFERENCE / "ports.csv", dtype=str, keep_default_na=False)
    return pd.DataFrame({
        "code": ports["code"], "kind": ports["kind"], "name": ports["name"], "country_iso2": ports["country_iso2"],
        "region_code": "", "latitude": ports["lat"].astype(float), "longitude": ports["lon"].astype(float),
        "notes": ports["notes"].str.slice(0, 1000), "source": ports["source"].str.slice(0, 500), "is_reference": True,
        "active": True, "created_by": "system",
    })


def load_reference_places(*, session: Session) -> int:
    """Insert the reference places not yet in the table (by code and kind); returns how many were added.

    Places already present are left alone, so an admin's corrections survive restarts.
    """
    have = set(session.exec(select(Place.code, Place.kind).where(Place.code != "")).all())
    rows = reference_places()
    missing = rows[[(c, k) not in have for c, k in zip(rows["code"], rows["kind"], strict=True)]]
    if missing.empty:
        return 0
    now = utcnow()
    session.exec(insert(Place), params=missing.assign(created_at=now, updated_at=now).to_dict("records"))
    return len(missing)


def list_places(*, session: Session, kinds: list[str] | None = None, country: str | None = None,
                include_inactive: bool = True) -> pd.DataFrame:
    """Places (not partner sites) as a table, sorted by country, kind and name."""
    stmt = select(Place)
    if kinds:
        stmt = stmt.where(col(Place.kind).in_(kinds))
    if country:
        stmt = stmt.where(Place.country_iso2 == country)
    if not include_inactive:
        stmt = stmt.where(Place.active)
    rows = [p.model_dump() for p in session.exec(stmt)]
    columns = ["id", *PLACE_FIELDS, "is_reference", "active", "created_by", "updated_at"]
    frame = pd.DataFrame(rows, columns=columns)
    return frame.sort_values(["country_iso2", "kind", "name"], kind="stable").reset_index(drop=True)


def locations(*, session: Session) -> pd.DataFrame:
    """Every place a lane node can be at: places and partner sites, with one key each ("place:7", "site:12")."""
    places = pd.DataFrame(session.exec(select(Place.id, Place.kind, Place.code, Place.name, Place.country_iso2,
                                              Place.region_code, Place.latitude, Place.longitude,
                                              Place.active)).all(),
                          columns=["place_id", "kind", "code", "name", "country_iso2", "region_code", "latitude",
                                   "longitude", "active"])
    places = places.assign(key="place:" + places["place_id"].astype(str), site_id=pd.NA, partner_id=pd.NA,
                           partner_code="")
    sites = pd.DataFrame(session.exec(
        select(PartnerSite.id, PartnerSite.partner_id, Partner.partner_code, Partner.legal_name, PartnerSite.name,
               PartnerSite.country_iso2, PartnerSite.region_code, PartnerSite.latitude, PartnerSite.longitude,
               PartnerSite.status).join(Partner, col(Partner.id) == PartnerSite.partner_id)).all(),
        columns=["site_id", "partner_id", "partner_code", "legal_name", "site", "country_iso2", "region_code",
                 "latitude", "longitude", "status"])
    sites = sites.assign(key="site:" + sites["site_id"].astype(str), place_id=pd.NA, kind="partner site", code="",
                         name=sites["legal_name"] + " · " + sites["site"], active=sites["status"] == "active")
    frame = pd.concat([places[LOCATION_COLUMNS], sites[LOCATION_COLUMNS]], ignore_index=True)
    for column in ("place_id", "site_id", "partner_id"):
        frame[column] = frame[column].astype("Int64")
    return frame


def place_label(code: str, name: str, kind: str) -> str:
    """How a place is named in pickers and files: "CNYTN · Shenzhen (Yantian) (seaport)"."""
    shown = PLACE_KIND_LABELS.get(kind, kind)
    return f"{code} · {name} ({shown})" if code else f"{name} ({shown})"


def resolve_code(*, places: pd.DataFrame, code: str, kind: str | None = None) -> tuple[pd.Series | None, str]:
    """The place row for a UN/LOCODE (and kind, when one code has several); (None, why) when there is none.

    A carrier-style Chinese port code (CNSHA...) is read as the UN/LOCODE seaport, and the message says so.
    """
    wanted = (code or "").strip().upper().replace(" ", "")
    note = ""
    found = places[(places["code"] == wanted) & places["active"]]
    if found.empty and wanted in CARRIER_ALIASES:
        note = f"{wanted} is a carrier-style code; read as the seaport {CARRIER_ALIASES[wanted]}"
        wanted = CARRIER_ALIASES[wanted]
        found = places[(places["code"] == wanted) & places["active"]]
    if kind:
        found = found[found["kind"] == kind]
    if found.empty:
        return None, f"No active place with code {wanted}" + (f" and kind {kind}" if kind else "")
    if len(found) > 1:
        kinds = ", ".join(sorted(found["kind"]))
        return None, f"{wanted} is several places ({kinds}); give the place kind"
    return found.iloc[0], note


def _clean(session: Session, values: dict[str, Any], current: Place | None) -> dict[str, Any]:
    merged = {f: getattr(current, f) for f in PLACE_FIELDS} if current else {}
    merged.update({k: v for k, v in values.items() if k in PLACE_FIELDS})
    problems: list[str] = []
    clean: dict[str, Any] = {}
    clean["name"] = " ".join(str(merged.get("name") or "").split())[:120]
    if not clean["name"]:
        problems.append("name: required")
    kind = str(merged.get("kind") or "")
    if kind not in set(PlaceKind):
        problems.append(f"kind: one of {', '.join(PlaceKind)}")
    clean["kind"] = kind
    country = str(merged.get("country_iso2") or "").strip().upper()
    if session.get(Country, country) is None:
        problems.append(f"country: '{country}' is not an ISO country code")
    clean["country_iso2"] = country
    try:
        clean["region_code"] = clean_region(country, merged.get("region_code"))
    except ValidationError as exc:
        problems.append(f"region: {exc}")
    code = str(merged.get("code") or "").strip().upper().replace(" ", "")
    if code and not LOCODE.match(code):
        problems.append(f"code: '{code}' is not a UN/LOCODE (country code then 3 letters or digits, e.g. MXNLD)")
    elif code and code[:2] != country:
        problems.append(f"code: a UN/LOCODE starts with its country code ({country}), not {code[:2]}")
    clean["code"] = code
    for field, low, high in (("latitude", -90, 90), ("longitude", -180, 180)):
        value = merged.get(field)
        try:
            number = float(value) if value not in (None, "") else None
        except (TypeError, ValueError):
            number = None
            problems.append(f"{field}: '{value}' is not a number")
        else:
            if number is None or pd.isna(number):
                problems.append(f"{field}: required (a place without coordinates cannot be drawn or rated)")
            elif not low <= number <= high:
                problems.append(f"{field}: must be between {low} and {high}")
        clean[field] = number
    clean["notes"] = str(merged.get("notes") or "").strip()[:1000]
    clean["source"] = str(merged.get("source") or "").strip()[:500]
    if code and kind and not problems:
        clash = session.exec(select(Place).where(Place.code == code, Place.kind == kind)).first()
        if clash is not None and (current is None or clash.id != current.id):
            problems.append(f"code: {code} is already the {kind} '{clash.name}'")
    if problems:
        raise ValidationError("; ".join(problems))
    return clean


def create_place(*, session: Session, actor: Actor, values: dict[str, Any]) -> Place:
    """Add a place with coordinates (admins only)."""
    require_admin(actor)
    clean = _clean(session, values, None)
    place = Place(**clean, created_by=actor.username)
    session.add(place)
    session.flush()
    audit.record(session=session, actor=actor, action="create", entity="place", entity_id=place.id,
                 summary=f"Added place {place_label(place.code, place.name, place.kind)}", after=clean)
    return place


def update_place(*, session: Session, actor: Actor, place_id: int, values: dict[str, Any]) -> Place:
    """Correct a place, e.g. coordinates that mark the town instead of the terminal (admins only)."""
    require_admin(actor)
    place = session.get(Place, place_id)
    if place is None:
        raise ValidationError(f"No place {place_id}.")
    before = {f: getattr(place, f) for f in PLACE_FIELDS}
    clean = _clean(session, values, place)
    for field, value in clean.items():
        setattr(place, field, value)
    place.updated_at = utcnow()
    session.add(place)
    audit.record(session=session, actor=actor, action="update", entity="place", entity_id=place.id,
                 summary=f"Changed place {place_label(place.code, place.name, place.kind)}", before=before,
                 after=clean)
    return place


def set_place_active(*, session: Session, actor: Actor, place_id: int, active: bool) -> Place:
    """Retire a place from the pickers (or bring it back); lanes that use it keep it (admins only)."""
    require_admin(actor)
    place = session.get(Place, place_id)
    if place is None:
        raise ValidationError(f"No place {place_id}.")
    if place.active != active:
        place.active = active
        place.updated_at = utcnow()
        session.add(place)
        audit.record(session=session, actor=actor, action="activate" if active else "deactivate", entity="place",
                     entity_id=place.id, summary=f"{'Reactivated' if active else 'Retired'} place {place.name}",
                     before={"active": not active}, after={"active": active})
    return place
