"""Lanes and their ordered nodes: reading, checking and writing (forms and file imports share the checks).

A node is written as a row of the same plain fields in the lane form's table and in an import file: role,
partner_code, site, place, place_kind, custody, contracted_by, mode_to_next, rests, dwell_hours, custody_change,
seal_applied, seal_verified, transmits_data, notes. ``resolve_nodes`` turns such rows into node values with ids,
naming every problem by row and field; a node without a partner is a warning (it becomes a flag), not an error.
"""

from dataclasses import dataclass
from typing import Any

import pandas as pd
from sqlalchemy import delete, insert
from sqlmodel import Session, col, func, select

from models import Lane, LaneNode, Partner, PartnerSite, Place
from models.common import utcnow
from models.lanes import Custody, LaneStatus, NodeRole, TransportMode
from services import texts
from services.core import audit
from services.core.permissions import Actor, ValidationError, require_write
from services.lanes import routes
from services.places import registry as places
from services.places.regions import region_name

LANE_FIELDS = ("code", "name", "commodity", "mode", "volume_share", "status", "notes")
NODE_FIELDS = ("role", "partner_id", "site_id", "place_id", "custody", "contracted_by_id", "mode_to_next", "rests",
               "dwell_hours", "custody_change", "seal_applied", "seal_verified", "transmits_data", "notes")
ROW_FIELDS = ("role", "partner_code", "site", "place", "place_kind", "custody", "contracted_by", "mode_to_next",
              "rests", "dwell_hours", "custody_change", "seal_applied", "seal_verified", "transmits_data", "notes")
BOOL_FIELDS = ("rests", "custody_change", "seal_applied", "seal_verified", "transmits_data")
FLAG_WORDS = texts.flag_spellings()  # yes/no in the file's words (services.texts, "import.flag")
ROLE_WORDS = {r.value: r.value for r in NodeRole} | {
    "origin site": NodeRole.origin, "stuffing": NodeRole.origin, "factory": NodeRole.origin,
    "consolidator": NodeRole.consolidation, "3pl": NodeRole.consolidation, "warehouse": NodeRole.consolidation,
    "3pl warehouse": NodeRole.consolidation, "cfs": NodeRole.consolidation, "inland leg": NodeRole.inland_carrier,
    "inland": NodeRole.inland_carrier, "rail ramp": NodeRole.inland_carrier, "truck yard": NodeRole.inland_carrier,
    "pol": NodeRole.port_of_lading, "port of loading": NodeRole.port_of_lading, "airport of lading":
    NodeRole.port_of_lading, "transshipment port": NodeRole.transshipment, "tranship": NodeRole.transshipment,
    "pod": NodeRole.port_of_entry, "port of discharge": NodeRole.port_of_entry, "border crossing":
    NodeRole.port_of_entry, "us port of entry": NodeRole.port_of_entry, "broker": NodeRole.customs_broker,
    "dc": NodeRole.distribution_center, "distribution centre": NodeRole.distribution_center,
}
MODE_WORDS = {m.value: m.value for m in TransportMode} | {
    "sea": TransportMode.ocean, "vessel": TransportMode.ocean, "fcl": TransportMode.ocean, "lcl": TransportMode.ocean,
    "road": TransportMode.truck, "ftl": TransportMode.truck, "ltl": TransportMode.truck, "train": TransportMode.rail,
    "intermodal": TransportMode.rail, "plane": TransportMode.air, "express": TransportMode.courier,
}
MODE_KINDS = {TransportMode.ocean: "seaport", TransportMode.barge: "seaport", TransportMode.air: "airport"}
NODE_COLUMNS = ["lane_id", "seq", "id", *NODE_FIELDS, "partner_code", "partner_name", "partner_status", "entity_type",
                "contracted_by_code", "site_name", "place_code", "place_name", "place_kind", "location", "iso2",
                "region_code", "region", "latitude", "longitude"]
LIST_COLUMNS = ["id", "code", "name", "commodity", "mode", "volume_share", "status", "nodes", "origin", "entry",
                "version", "updated_by", "updated_at"]


@dataclass
class Lookup:
    """What node rows are resolved against, read once per form save or import (no query per row)."""

    partners: dict[str, tuple[int, str]]  # code -> (id, legal name)
    sites: pd.DataFrame  # id, partner_id, name, is_primary, status
    places: pd.DataFrame  # id, code, kind, name, active, label

    @classmethod
    def build(cls, session: Session) -> "Lookup":
        partners = {code.upper(): (pid, name) for pid, code, name in
                    session.exec(select(Partner.id, Partner.partner_code, Partner.legal_name)).all()}
        sites = pd.DataFrame(session.exec(select(PartnerSite.id, PartnerSite.partner_id, PartnerSite.name,
                                                 PartnerSite.is_primary, PartnerSite.status)).all(),
                             columns=["id", "partner_id", "name", "is_primary", "status"])
        frame = places.list_places(session=session)
        frame["label"] = [places.place_label(c, n, k) for c, n, k in zip(frame["code"], frame["name"], frame["kind"],
                                                                        strict=True)]
        return cls(partners=partners, sites=sites, places=frame)


def _text(value: Any) -> str:
    if value is None or (isinstance(value, float) and pd.isna(value)) or value is pd.NA:
        return ""
    return str(value).strip()


def parse_bool(value: Any) -> bool:
    """A yes/no cell: yes, y, true, 1, x, sí, 是 (or a real bool) is True; no, n, false, 0, 否 or blank is False."""
    if isinstance(value, bool):
        return value
    word = _text(value).casefold()
    if word in FLAG_WORDS:
        return FLAG_WORDS[word]
    raise ValueError(f"'{value}' is not yes or no")


def _word(value: Any, table: dict[str, str], what: str) -> str:
    word = " ".join(_text(value).casefold().replace("_", " ").split())
    if word in table:
        return str(table[word])
    raise ValueError(f"'{_text(value)}' is not a {what}")


def resolve_nodes(lookup: Lookup, rows: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[tuple]]:
    """Node values (with ids) for rows of plain fields, and the problems as (row index, field, value, message,
    severity) tuples; row index is the position in `rows`."""
    nodes: list[dict[str, Any]] = []
    problems: list[tuple] = []
    last = len(rows) - 1
    for i, row in enumerate(rows):
        def problem(field: str, message: str, severity: str = "error", value: Any = None, i: int = i,
                    row: dict = row) -> None:
            problems.append((i, field, _text(row.get(field)) if value is None else value, message, severity))

        node: dict[str, Any] = dict.fromkeys(NODE_FIELDS)
        node["notes"] = _text(row.get("notes"))[:500]
        try:
            node["role"] = _word(row.get("role"), ROLE_WORDS, f"node role (one of {', '.join(NodeRole)})")
        except ValueError as exc:
            problem("role", str(exc))
        custody_text = _text(row.get("custody")) or Custody.direct.value
        if custody_text.casefold() in set(Custody):
            node["custody"] = custody_text.casefold()
        else:
            node["custody"] = Custody.direct.value
            problem("custody", f"'{custody_text}' is not direct, indirect or own")
        code = _text(row.get("partner_code")).upper()
        partner = lookup.partners.get(code) if code else None
        if code and partner is None:
            problem("partner_code", f"No partner with code {code}")
        node["partner_id"] = partner[0] if partner else None
        if node["custody"] == Custody.own and partner:
            problem("custody", "Custody 'own' means the importer itself: leave the partner empty")
        elif partner is None and not code and node["custody"] != Custody.own and node.get("role") is not None:
            problem("partner_code", "No partner has custody here: the node is flagged until one is named",
                    "warning")
        contracted = _text(row.get("contracted_by")).upper()
        if contracted:
            found = lookup.partners.get(contracted)
            if found is None:
                problem("contracted_by", f"No partner with code {contracted}")
            node["contracted_by_id"] = found[0] if found else None
            if node["custody"] != Custody.indirect:
                problem("contracted_by", "Only an indirect (subcontracted) party is contracted by another partner",
                        "warning")
        site_text = _text(row.get("site"))
        if partner and site_text:
            mine = lookup.sites[(lookup.sites["partner_id"] == partner[0])]
            hit = mine[mine["name"].str.casefold() == site_text.casefold()]
            if site_text.isdigit() and hit.empty:
                hit = mine[mine["id"] == int(site_text)]
            if hit.empty:
                names = ", ".join(mine["name"]) or "none recorded"
                problem("site", f"Partner {code} has no site '{site_text}' (sites: {names})")
            else:
                node["site_id"] = int(hit.iloc[0]["id"])
        elif site_text:
            problem("site", "A site belongs to a partner: give the partner code too")
        place_text = _text(row.get("place"))
        kind = _text(row.get("place_kind")).casefold().replace(" ", "_")
        if place_text:
            by_label = lookup.places[lookup.places["label"] == place_text]
            if not by_label.empty:
                node["place_id"] = int(by_label.iloc[0]["id"])
            else:
                found, note = places.resolve_code(places=lookup.places, code=place_text, kind=kind or None)
                if found is None and not kind:  # one code, several kinds (USLAX): the modes tell which
                    arriving = _text(rows[i - 1].get("mode_to_next")).casefold() if i else ""
                    leaving = _text(row.get("mode_to_next")).casefold()
                    for mode in (arriving, leaving):
                        guess = MODE_KINDS.get(MODE_WORDS.get(mode, ""))
                        if guess:
                            found, note = places.resolve_code(places=lookup.places, code=place_text, kind=guess)
                            if found is not None:
                                break
                    if found is None:
                        _, note = places.resolve_code(places=lookup.places, code=place_text)
                if found is None:
                    named = lookup.places[(lookup.places["name"].str.casefold() == place_text.casefold())
                                          & lookup.places["active"]]
                    if len(named) == 1:
                        node["place_id"] = int(named.iloc[0]["id"])
                    else:
                        problem("place", note + " (use a UN/LOCODE such as CNYTN, or ask an admin to add the place)")
                else:
                    node["place_id"] = int(found["id"])
                    if note:
                        problem("place", note, "warning")
        # A broker handles documents, not cargo: it is not placed on the route unless a place is given.
        if partner and not site_text and node["place_id"] is None and node.get("role") != NodeRole.customs_broker:
            mine = lookup.sites[(lookup.sites["partner_id"] == partner[0]) & (lookup.sites["status"] == "active")]
            primary = mine[mine["is_primary"]]
            if len(mine) == 1 or len(primary) == 1:
                node["site_id"] = int((primary if len(primary) == 1 else mine).iloc[0]["id"])
        if node["site_id"] is None and node["place_id"] is None and node.get("role") != NodeRole.customs_broker \
                and not place_text:
            problem("place", "Where is this node? Give a place (UN/LOCODE) or the partner's site")
        mode = _text(row.get("mode_to_next"))
        if i < last:
            try:
                node["mode_to_next"] = _word(mode, MODE_WORDS, f"transport mode (one of {', '.join(TransportMode)})")
            except ValueError as exc:
                problem("mode_to_next", str(exc) if mode else "How does cargo move on to the next node? (mode)")
        else:
            node["mode_to_next"] = ""
            if mode:
                problem("mode_to_next", "The last node has no next node; the mode is ignored", "warning")
        for field in BOOL_FIELDS:
            try:
                node[field] = parse_bool(row.get(field))
            except ValueError as exc:
                problem(field, str(exc))
                node[field] = False
        dwell = row.get("dwell_hours")
        if _text(dwell):
            try:
                node["dwell_hours"] = float(dwell)
            except (TypeError, ValueError):
                problem("dwell_hours", f"'{dwell}' is not a number of hours")
            else:
                if node["dwell_hours"] < 0 or node["dwell_hours"] > 24 * 365:
                    problem("dwell_hours", "Hours at rest must be between 0 and 8,760")
                elif node["dwell_hours"] > 0:
                    node["rests"] = True
        if node["rests"] and node["dwell_hours"] is None:
            problem("dwell_hours", "Cargo rests here: how many hours, typically? (the map sizes the node by it)",
                    "warning")
        nodes.append(node)
    if len(rows) < 2:
        problems.append((max(len(rows) - 1, 0), "role", "", "A lane needs at least two nodes (origin and destination)",
                         "error"))
    elif nodes[0].get("role") not in (None, NodeRole.origin):
        problems.append((0, "role", nodes[0]["role"], "A lane usually starts at the origin site where cargo is "
                                                      "stuffed", "warning"))
    return nodes, problems


def clean_lane_values(session: Session, values: dict[str, Any], lane_id: int | None) -> dict[str, Any]:
    """Validated lane fields; raises ValidationError listing every problem (field first)."""
    problems = []
    out: dict[str, Any] = {}
    out["code"] = _text(values.get("code")).upper()[:40]
    if not out["code"]:
        problems.append("code: required")
    out["name"] = " ".join(_text(values.get("name")).split())[:120]
    if not out["name"]:
        problems.append("name: required")
    out["commodity"] = _text(values.get("commodity"))[:120]
    try:
        out["mode"] = _word(values.get("mode"), MODE_WORDS, f"transport mode (one of {', '.join(TransportMode)})")
    except ValueError as exc:
        problems.append(f"mode: {exc}")
    share = values.get("volume_share")
    out["volume_share"] = None
    if _text(share):
        try:
            out["volume_share"] = float(share)
        except (TypeError, ValueError):
            problems.append(f"volume_share: '{share}' is not a number")
        else:
            if not 0 <= out["volume_share"] <= 100:
                problems.append("volume_share: a percentage between 0 and 100")
    status = _text(values.get("status")).lower() or LaneStatus.active.value
    if status not in set(LaneStatus):
        problems.append("status: active or inactive")
    out["status"] = status
    out["notes"] = _text(values.get("notes"))[:2000]
    if out["code"]:
        clash = session.exec(select(Lane.id).where(Lane.code == out["code"])).first()
        if clash is not None and clash != lane_id:
            problems.append(f"code: lane {out['code']} already exists")
    if problems:
        raise ValidationError("; ".join(problems))
    return out


def _refuse(problems: list[tuple]) -> None:
    errors = [p for p in problems if p[4] == "error"]
    if errors:
        raise ValidationError("; ".join(f"node {i + 1} {field}: {message}" for i, field, _v, message, _s in errors))


def write_lanes(*, session: Session, actor: Actor, lanes: list[dict[str, Any]]) -> list[Lane]:
    """Write checked lanes in one go: each item has `values` (clean lane fields), `nodes` (resolved node values)
    and `lane_id` (None for a new lane). Nodes of an existing lane are replaced; sea routes are computed once."""
    require_write(actor)
    now = utcnow()
    written = []
    for item in lanes:
        lane = session.get(Lane, item["lane_id"]) if item.get("lane_id") else None
        if lane is None:
            lane = Lane(**item["values"], created_by=actor.username, updated_by=actor.username, created_at=now,
                        updated_at=now)
        else:
            for field, value in item["values"].items():
                setattr(lane, field, value)
            lane.version += 1
            lane.updated_by, lane.updated_at = actor.username, now
        session.add(lane)
        written.append(lane)
    session.flush()
    replaced = [lane.id for lane, item in zip(written, lanes, strict=True) if item.get("lane_id")]
    if replaced:
        session.exec(delete(LaneNode).where(col(LaneNode.lane_id).in_(replaced)))
    rows = [{**node, "lane_id": lane.id, "seq": i + 1} for lane, item in zip(written, lanes, strict=True)
            for i, node in enumerate(item["nodes"])]
    for start in range(0, len(rows), 5_000):
        session.exec(insert(LaneNode), params=rows[start:start + 5_000])
    session.flush()
    routes.ensure_for_lanes(session=session, lane_ids=[lane.id for lane in written])
    return written


def save_lane(*, session: Session, actor: Actor, values: dict[str, Any], rows: list[dict[str, Any]],
              lane_id: int | None = None, expected_version: int | None = None) -> tuple[Lane, list[tuple]]:
    """Create a lane (lane_id None) or replace one's fields and nodes; returns it with the warnings.

    Refuses (ValidationError) on any error, and when `expected_version` differs from the stored version (the form
    was opened before someone else's change).
    """
    require_write(actor)
    lane = session.get(Lane, lane_id) if lane_id is not None else None
    if lane_id is not None and lane is None:
        raise ValidationError(f"No lane {lane_id}.")
    if lane is not None and expected_version is not None and lane.version != expected_version:
        raise ValidationError(f"Lane {lane.code} was changed by {lane.updated_by} at {lane.updated_at:%Y-%m-%d %H:%M} "
                              "UTC since you opened it; reload it and make your change again.")
    clean = clean_lane_values(session, values, lane_id)
    nodes, problems = resolve_nodes(Lookup.build(session), rows)
    _refuse(problems)
    before = None
    if lane is not None:
        before = {**{f: getattr(lane, f) for f in LANE_FIELDS}, "nodes": _node_count(session, lane.id)}
    (lane,) = write_lanes(session=session, actor=actor, lanes=[{"values": clean, "nodes": nodes, "lane_id": lane_id}])
    audit.record(session=session, actor=actor, action="create" if before is None else "update", entity="lane",
                 entity_id=lane.code, summary=f"{'Added' if before is None else 'Saved'} lane {lane.code} "
                 f"{lane.name} ({len(nodes)} nodes)", before=before,
                 after={**clean, "nodes": len(nodes)})
    return lane, [p for p in problems if p[4] != "error"]


def _node_count(session: Session, lane_id: int) -> int:
    return session.exec(select(func.count()).select_from(LaneNode).where(LaneNode.lane_id == lane_id)).one()


def set_lane_status(*, session: Session, actor: Actor, lane_id: int, status: str) -> Lane:
    """Retire a lane no longer used (or bring it back); lanes are kept for the record."""
    require_write(actor)
    if status not in set(LaneStatus):
        raise ValidationError("status: active or inactive")
    lane = session.get(Lane, lane_id)
    if lane is None:
        raise ValidationError(f"No lane {lane_id}.")
    if lane.status != status:
        before = lane.status
        lane.status, lane.version = status, lane.version + 1
        lane.updated_by, lane.updated_at = actor.username, utcnow()
        session.add(lane)
        audit.record(session=session, actor=actor, action="update", entity="lane", entity_id=lane.code,
                     summary=f"Lane {lane.code} is now {status}", before={"status": before}, after={"status": status})
    return lane


def lane_rows(*, session: Session, status: str | None = None) -> pd.DataFrame:
    """The lanes' own fields (no nodes), by code."""
    columns = [*LANE_FIELDS, "id", "version", "updated_by", "updated_at"]
    stmt = select(*(getattr(Lane, c) for c in columns))
    if status:
        stmt = stmt.where(Lane.status == status)
    return pd.DataFrame(session.exec(stmt.order_by(Lane.code)).all(), columns=columns)


def list_lanes(*, session: Session, status: str | None = None) -> pd.DataFrame:
    """Lanes with their node count, origin and port of entry."""
    lanes = lane_rows(session=session, status=status)
    if lanes.empty:
        return pd.DataFrame(columns=LIST_COLUMNS)
    nodes = nodes_frame(session=session, lane_ids=lanes["id"].tolist())
    counts = nodes.groupby("lane_id").size()
    origin = nodes[nodes["seq"] == 1].set_index("lane_id")["location"]
    entry = nodes[nodes["role"] == NodeRole.port_of_entry].drop_duplicates("lane_id").set_index("lane_id")["location"]
    lanes["nodes"] = lanes["id"].map(counts).fillna(0).astype(int)
    origin, entry = origin.to_dict(), entry.to_dict()
    lanes["origin"] = [origin.get(i, "") for i in lanes["id"]]
    lanes["entry"] = [entry.get(i, "") for i in lanes["id"]]
    return lanes[LIST_COLUMNS]


def nodes_frame(*, session: Session, lane_ids: list[int] | None = None) -> pd.DataFrame:
    """Nodes in order with who and where: partner, site or place, country, region and coordinates."""
    columns = ["id", "lane_id", "seq", *NODE_FIELDS]
    stmt = select(*(getattr(LaneNode, c) for c in columns))
    if lane_ids is not None:
        stmt = stmt.where(col(LaneNode.lane_id).in_(lane_ids))
    nodes = pd.DataFrame(session.exec(stmt.order_by(LaneNode.lane_id, LaneNode.seq)).all(), columns=columns)
    partner_ids = set(nodes["partner_id"].dropna().astype(int)) | set(nodes["contracted_by_id"].dropna().astype(int))
    partners = pd.DataFrame(session.exec(select(Partner.id, Partner.partner_code, Partner.legal_name, Partner.status,
                                                Partner.entity_type, Partner.country_iso2)
                                         .where(col(Partner.id).in_(partner_ids))).all() if partner_ids else [],
                            columns=["id", "partner_code", "partner_name", "partner_status", "entity_type",
                                     "partner_country"]).set_index("id")
    site_ids = set(nodes["site_id"].dropna().astype(int))
    sites = pd.DataFrame(session.exec(select(PartnerSite.id, PartnerSite.name, PartnerSite.city,
                                             PartnerSite.country_iso2, PartnerSite.region_code, PartnerSite.latitude,
                                             PartnerSite.longitude).where(col(PartnerSite.id).in_(site_ids))).all()
                         if site_ids else [],
                         columns=["id", "site_name", "site_city", "s_iso2", "s_region", "s_lat", "s_lon"]
                         ).set_index("id")
    place_ids = set(nodes["place_id"].dropna().astype(int))
    place_rows = pd.DataFrame(session.exec(select(Place.id, Place.code, Place.name, Place.kind, Place.country_iso2,
                                                  Place.region_code, Place.latitude, Place.longitude)
                                           .where(col(Place.id).in_(place_ids))).all() if place_ids else [],
                              columns=["id", "place_code", "place_name", "place_kind", "p_iso2", "p_region", "p_lat",
                                       "p_lon"]).set_index("id")
    frame = nodes.join(partners, on="partner_id").join(sites, on="site_id").join(place_rows, on="place_id")
    frame["contracted_by_code"] = frame["contracted_by_id"].map(partners["partner_code"]).fillna("")
    has_site = frame["site_id"].notna()
    frame["iso2"] = frame["s_iso2"].where(has_site, frame["p_iso2"]).fillna(frame["partner_country"])
    frame["region_code"] = frame["s_region"].where(has_site, frame["p_region"]).fillna("")
    frame["latitude"] = frame["s_lat"].where(has_site, frame["p_lat"])
    frame["longitude"] = frame["s_lon"].where(has_site, frame["p_lon"])
    site_label = frame["partner_name"].fillna("") + " · " + frame["site_name"].fillna("")
    place_label = [places.place_label(c, n, k) if isinstance(n, str) else ""
                   for c, n, k in zip(frame["place_code"].fillna(""), frame["place_name"], frame["place_kind"],
                                      strict=True)]
    frame["location"] = site_label.where(has_site, pd.Series(place_label, index=frame.index))
    frame["region"] = frame["region_code"].map(region_name)
    for column in ("partner_code", "partner_name", "partner_status", "entity_type", "site_name", "place_code",
                   "place_name", "place_kind", "iso2"):
        frame[column] = frame[column].fillna("")
    for column in ("partner_id", "site_id", "place_id", "contracted_by_id"):
        frame[column] = frame[column].astype("Int64")
    return frame[NODE_COLUMNS].reset_index(drop=True)


def node_rows(nodes: pd.DataFrame) -> list[dict[str, Any]]:
    """Stored nodes back as rows of plain fields (for the form's table and for exports)."""
    rows = []
    for n in nodes.itertuples():
        place = places.place_label(n.place_code, n.place_name, n.place_kind) if n.place_name else ""
        rows.append({"role": n.role, "partner_code": n.partner_code, "site": n.site_name, "place": place,
                     "place_kind": "", "custody": n.custody, "contracted_by": n.contracted_by_code,
                     "mode_to_next": n.mode_to_next, "rests": bool(n.rests),
                     "dwell_hours": None if pd.isna(n.dwell_hours) else float(n.dwell_hours),
                     "custody_change": bool(n.custody_change), "seal_applied": bool(n.seal_applied),
                     "seal_verified": bool(n.seal_verified), "transmits_data": bool(n.transmits_data),
                     "notes": n.notes})
    return rows


def get_lane(*, session: Session, lane_id: int) -> dict[str, Any] | None:
    lane = session.get(Lane, lane_id)
    if lane is None:
        return None
    return {"lane": lane.model_dump(), "nodes": nodes_frame(session=session, lane_ids=[lane_id])}


def find_partners(*, session: Session, text: str, limit: int = 20) -> pd.DataFrame:
    """Partners whose code or name contains `text`, with their sites: a picker for the node table's codes."""
    like = f"%{text.strip().lower()}%"
    found = session.exec(select(Partner.id, Partner.partner_code, Partner.legal_name, Partner.entity_type,
                                Partner.country_iso2)
                         .where(func.lower(Partner.partner_code).like(like) | func.lower(Partner.legal_name).like(like))
                         .order_by(Partner.partner_code).limit(limit)).all()
    frame = pd.DataFrame(found, columns=["id", "partner_code", "legal_name", "entity_type", "country_iso2"])
    names = pd.DataFrame(session.exec(select(PartnerSite.partner_id, PartnerSite.name)
                                      .where(col(PartnerSite.partner_id).in_(frame["id"].tolist()))).all(),
                         columns=["partner_id", "name"])
    sites = names.groupby("partner_id")["name"].agg(", ".join)
    frame["sites"] = frame["id"].map(sites).fillna("")
    return frame.drop(columns="id")
