"""Demo data for steps 1 and 2: about 25 lanes of the demo company, threat ratings, and a fictional restricted list.

The partner demo (``seed_demo``) runs it on its partners: ``seed_demo_lanes(session=..., partner_ids=...)``.
The lanes come from seed/demo/lanes.csv. A partner is chosen there by a selector: ``FM@CN~Shenzhen/Huizhou`` is a
foreign manufacturer in China not used by another lane, preferring those cities; ``SEA#2`` the second sea carrier.
A place is a UN/LOCODE, a demo place key (seed/demo/lane_places.csv: foreign airports, Mexican transfer yards,
Canadian rail ramps, the importer's own distribution centers), ``@site`` (the partner's primary site) or ``@pol``
(the port of lading nearest the origin factory's city). Every threat value written here is marked as demo; the
restricted list's entries are fictional, and one carries a demo partner's name as an alias so that screening has
a match to decide.
"""

from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pandas as pd
from sqlalchemy import insert, update
from sqlmodel import Session, col, func, select

from models import Lane, Partner, PartnerSite, Place, ThreatRating
from models.common import Role
from services.core import audit
from services.core.config import ROOT
from services.core.permissions import Actor
from services.imports.reader import sha256_hex
from services.lanes import registry as lanes
from services.partners import contacts, sites
from services.partners import registry as partner_registry
from services.places.registry import place_label
from services.screening import lists
from services.threats import register

DEMO = ROOT / "seed" / "demo"
ANALYST = Actor("demo", Role.analyst)  # the audit log names these writes "demo"
RESTRICTED_LIST = "Demo restricted-party list (fictional entries)"
TYPES = {"FM": "Foreign Manufacturer", "CON": "Consolidator", "SEA": "Sea Carrier", "PORT":
         "Marine Port Authority and Terminal Operator", "BRK": "Customs Broker", "HWY": "Highway Carrier",
         "MXL": "Long Haul Highway Carrier (Mexico)", "RAIL": "Rail Carrier", "AIR": "Air Carrier",
         "TPL": "Third Party Logistics Provider", "EXP": "Exporter"}
# The port of lading for a factory's city (seaports of seed/reference/ports.csv, demo airports for India by air).
SEAPORT_BY_CITY = {
    "Shenzhen": "CNYTN", "Dongguan": "CNYTN", "Huizhou": "CNYTN", "Guangzhou": "CNNSA", "Foshan": "CNNSA",
    "Zhongshan": "CNNSA", "Ningbo": "CNNBO", "Yiwu": "CNNBO", "Shanghai": "CNSGH", "Suzhou": "CNSGH",
    "Xiamen": "CNXMG", "Qingdao": "CNQIN", "Ho Chi Minh City": "VNCMT", "Thu Dau Mot": "VNCMT", "Bien Hoa": "VNCMT",
    "Hanoi": "VNHPH", "Hai Phong": "VNHPH", "Bac Ninh": "VNHPH", "Da Nang": "VNHPH",
}
DEFAULT_SEAPORT = {"CN": "CNYTN", "VN": "VNCMT", "IN": "INNSA"}
REGION_BY_CITY = {  # the Mexican states of the demo generator's cities
    "Monterrey": "MX-NLE", "Apodaca": "MX-NLE", "Tijuana": "MX-BCN", "Ciudad Juárez": "MX-CHH",
    "Guadalajara": "MX-JAL", "Reynosa": "MX-TAM", "Nuevo Laredo": "MX-TAM", "Saltillo": "MX-COA",
    "Querétaro": "MX-QUE",
}


@dataclass
class LaneDemoSummary:
    lanes: int
    nodes: int
    places: int
    sites: int
    ratings: int
    restricted_entries: int
    matches: int


def seed_demo_lanes(*, session: Session, partner_ids: list[int] | None = None,
                    today: date | None = None) -> LaneDemoSummary:
    """Add the demo lanes, threat ratings and restricted list for the demo partners (all partners when None).

    Raises ValueError when lanes exist already. Flushes, does not commit: the caller commits.
    """
    today = today or date.today()
    if session.exec(select(func.count()).select_from(Lane)).one():
        raise ValueError("Demo lanes go into a database without lanes only.")
    ids = partner_ids if partner_ids is not None else list(session.exec(select(Partner.id)).all())
    made_sites = sites.ensure_first_sites(session=session, actor=ANALYST, partner_ids=ids)
    contacts.ensure_first_contacts(session=session, actor=ANALYST, partner_ids=ids)
    _mexican_regions(session, ids)
    places, added_places = _places(session)
    partners = _partners(session, ids)
    templates = pd.read_csv(DEMO / "lanes.csv", dtype=str, keep_default_na=False)
    pending: list[tuple[dict, list[dict]]] = []
    used: dict[str, set[int]] = {}
    for code, rows in templates.groupby("lane_code", sort=False):
        first = rows.iloc[0]
        origin = None
        node_rows = []
        for row in rows.itertuples():
            partner = _pick(session, partners, row.partner, used)
            if row.place == "@site" and partner is None:  # a small demo may lack this partner: leave it out
                if row.role == "origin":
                    break
                continue
            if row.role == "origin":
                origin = partner
            node_rows.append(_node(row, partner, origin, places))
        if origin is None:
            continue
        values = {"code": code, "name": first["lane_name"].format(city=origin["city"]).strip(),
                  "commodity": first["commodity"], "mode": first["mode"], "volume_share": first["volume_share"],
                  "notes": "Demo lane"}
        pending.append((values, node_rows))
    # Every lane is checked like a form, then all are written at once (sea routes computed once).
    lookup = lanes.Lookup.build(session)
    writes = []
    for values, node_rows in pending:
        resolved, problems = lanes.resolve_nodes(lookup, node_rows)
        errors = [p for p in problems if p[4] == "error"]
        if errors:
            raise ValueError(f"Demo lane {values['code']}: {errors}")
        writes.append({"values": lanes.clean_lane_values(session, values, None), "nodes": resolved, "lane_id": None})
    lanes.write_lanes(session=session, actor=ANALYST, lanes=writes)
    audit.record(session=session, actor=ANALYST, action="create", entity="lanes", entity_id="",
                 summary=f"Added {len(writes)} demo lanes", after={"lanes": [w["values"]["code"] for w in writes]})
    written, nodes = len(writes), sum(len(w["nodes"]) for w in writes)
    ratings = _threats(session, today)
    entries, matches = _restricted_list(session, partners, today)
    return LaneDemoSummary(lanes=written, nodes=nodes, places=added_places,
                           sites=made_sites, ratings=ratings, restricted_entries=entries, matches=matches)


def _mexican_regions(session: Session, ids: list[int]) -> None:
    found = session.exec(select(PartnerSite.id, PartnerSite.city).where(
        PartnerSite.country_iso2 == "MX", PartnerSite.region_code == "", col(PartnerSite.partner_id).in_(ids))).all()
    changes = [{"id": sid, "region_code": REGION_BY_CITY[city]} for sid, city in found if city in REGION_BY_CITY]
    if changes:
        session.exec(update(PartnerSite), params=changes)


def _places(session: Session) -> tuple[dict[str, str], int]:
    """Demo place key or UN/LOCODE -> the label lanes use; demo places are added once."""
    demo = pd.read_csv(DEMO / "lane_places.csv", dtype=str, keep_default_na=False)
    have = {(c, k) for c, k in session.exec(select(Place.code, Place.kind)).all()}
    named = set(session.exec(select(Place.name)).all())
    new = demo[[(c, k) not in have and n not in named for c, k, n in zip(demo["code"], demo["kind"], demo["name"],
                                                                        strict=True)]]
    if not new.empty:
        session.exec(insert(Place), params=[{
            "code": r.code, "kind": r.kind, "name": r.name, "country_iso2": r.country_iso2,
            "region_code": r.region_code, "latitude": float(r.lat), "longitude": float(r.lon), "notes": r.notes,
            "source": "Demo data (approximate coordinates)", "is_reference": False, "active": True,
            "created_by": ANALYST.username} for r in new.itertuples()])
    labels = {}
    for key, code, kind, name in zip(demo["key"], demo["code"], demo["kind"], demo["name"], strict=True):
        labels[key] = place_label(code, name, kind)
        if code:
            labels[code] = labels[key]
    # A code that is both a seaport and an airport (USLAX, USMIA) means the seaport in the demo lanes.
    reference = session.exec(select(Place.code, Place.kind, Place.name).where(Place.is_reference)).all()
    for code, kind, name in sorted(reference, key=lambda r: r[1] == "seaport"):
        labels[code] = place_label(code, name, kind)
    return labels, len(new)


def _partners(session: Session, ids: list[int]) -> pd.DataFrame:
    rows = session.exec(select(Partner.id, Partner.partner_code, Partner.entity_type, Partner.country_iso2,
                               Partner.city, Partner.legal_name).where(col(Partner.id).in_(ids),
                                                                       Partner.status == "active")).all()
    frame = pd.DataFrame(rows, columns=["id", "code", "entity_type", "country", "city", "name"])
    return frame.sort_values("code").reset_index(drop=True)


def _pick(session: Session, partners: pd.DataFrame, selector: str, used: dict[str, set[int]]) -> pd.Series | None:
    """The partner a selector names ("" none, "-" the importer itself); origins are not reused across lanes.

    When the demo partners have none of that type in that country (or no free factory in the preferred cities),
    a partner from seed/demo/lane_partners.csv is added once.
    """
    if selector in ("", "-"):
        return None
    head, _, nth = selector.partition("#")
    kind_country, _, cities = head.partition("~")
    kind, _, country = kind_country.partition("@")
    wanted = cities.split("/") if cities else []
    pool = partners[partners["entity_type"] == TYPES[kind]]
    if country:
        pool = pool[pool["country"] == country]
    if kind == "FM":  # an origin factory: each lane gets its own
        taken = used.setdefault("FM", set())
        free = pool[~pool["id"].isin(taken)]
        preferred = free[free["city"].isin(wanted)] if wanted else free
        if preferred.empty:
            preferred = _extra_partner(session, partners, TYPES[kind], country, wanted)
        chosen = (preferred if not preferred.empty else free if not free.empty else pool)
        if chosen.empty:
            return None
        taken.add(int(chosen.iloc[0]["id"]))
        return chosen.iloc[0]
    if pool.empty:
        pool = _extra_partner(session, partners, TYPES[kind], country, wanted)
    if pool.empty:
        return None
    return pool.iloc[(int(nth) - 1 if nth else 0) % len(pool)]


def _extra_partner(session: Session, partners: pd.DataFrame, entity_type: str, country: str,
                   cities: list[str]) -> pd.DataFrame:
    """Add (once) a partner of seed/demo/lane_partners.csv for a type and country the demo partners lack."""
    extra = pd.read_csv(DEMO / "lane_partners.csv", dtype=str, keep_default_na=False)
    extra = extra[(extra["entity_type"] == entity_type) & (extra["country_iso2"] == country)]
    if cities:
        extra = extra[extra["city"].isin(cities)] if extra["city"].isin(cities).any() else extra
    for row in extra.to_dict("records"):
        if row["partner_code"] in set(partners["code"]):
            continue
        region = row.pop("region_code")
        partner = partner_registry.create_partner(session=session, actor=ANALYST, values={
            **row, "notes": "Added by the lane demo (seed/demo/lane_partners.csv)"})
        sites.ensure_first_sites(session=session, actor=ANALYST, partner_ids=[partner.id])
        session.exec(update(PartnerSite).where(PartnerSite.partner_id == partner.id).values(region_code=region))
        contacts.ensure_first_contacts(session=session, actor=ANALYST, partner_ids=[partner.id])
        added = pd.DataFrame([{"id": partner.id, "code": partner.partner_code, "entity_type": entity_type,
                               "country": country, "city": partner.city, "name": partner.legal_name}])
        partners.loc[len(partners)] = added.iloc[0]
        return added
    return pd.DataFrame(columns=partners.columns)


def _node(row, partner, origin, places: dict[str, str]) -> dict:
    place = row.place
    site = ""
    if place == "@site":
        place = ""
    elif place == "@pol":
        city = origin["city"] if origin is not None else ""
        country = origin["country"] if origin is not None else ""
        place = places[SEAPORT_BY_CITY.get(city, DEFAULT_SEAPORT.get(country, "CNYTN"))]
    elif place:
        place = places[place]
    return {"role": row.role, "partner_code": "" if partner is None else partner["code"], "site": site,
            "place": place, "custody": row.custody, "mode_to_next": row.mode_to_next, "rests": row.rests,
            "dwell_hours": row.dwell_hours, "custody_change": row.custody_change, "seal_applied": row.seal_applied,
            "seal_verified": row.seal_verified, "transmits_data": row.transmits_data, "notes": row.notes}


def _threats(session: Session, today: date) -> int:
    """Accept every suggestion, then the demo team's own ratings and overrides; all marked as demo."""
    count = register.accept_suggestions(session=session, actor=ANALYST)
    own = pd.read_csv(DEMO / "threats.csv", dtype=str, keep_default_na=False)
    for r in own.itertuples():
        register.rate(session=session, actor=ANALYST, iso2=r.iso2, region_code=r.region_code, category=r.category,
                      level=r.level, reason=r.reason, source=r.source, today=today)
        count += 1
    session.exec(update(ThreatRating).values(is_demo=True))
    return count


def _restricted_list(session: Session, partners: pd.DataFrame, today: date) -> tuple[int, int]:
    data = (DEMO / "restricted_list.csv").read_bytes()
    factories = partners[(partners["entity_type"] == TYPES["FM"]) & (partners["country"] == "CN")]
    if not factories.empty:  # one fictional entry whose alias is a demo factory's name: a match to decide
        alias = factories.iloc[len(factories) // 2]["name"].replace('"', "")
        data += (f'"Altay Evergreen Trading Co., Ltd.","{alias}",CN,"Altay, Xinjiang",{today:%Y-%m-%d},'
                 '"Fictional demo entry"\n').encode()
    preview = lists.read_list(session=session, filename=Path("restricted_list.csv").name, data=data)
    loaded = lists.apply_list(session=session, actor=ANALYST, preview=preview, name=RESTRICTED_LIST,
                              publisher="CTPAT Workbench demo", citation=f"Fictional entries (sha256 "
                              f"{sha256_hex(data)[:12]})", as_of=today, is_demo=True)
    matches = lists.open_match_count(session=session)
    return loaded.entries, matches
