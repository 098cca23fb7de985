"""The views of step 1: a flow diagram per lane (Graphviz DOT) and a world map of lanes (a Vega-Lite spec).

Both are built from plain frames, so tests read the DOT text and the spec, and the pages cache them. On the map,
ocean legs follow the stored sea routes (straight and dashed grey where none is stored yet), land and air legs are
drawn as lines (great circles), nodes where cargo rests are sized by dwell time, and legs and nodes are coloured by
threat now (by risk once scoring exists: pass another colour field).
"""

from dataclasses import dataclass
from datetime import date

import altair as alt
import pandas as pd
from sqlmodel import Session

from models.lanes import LaneStatus
from models.threats import ThreatLevel
from services.lanes import flags as lane_flags
from services.lanes import routes
from services.lanes.registry import lane_rows, nodes_frame
from services.places import world
from services.threats import register

LEVELS = [ThreatLevel.high.value, ThreatLevel.unknown.value, ThreatLevel.medium.value, ThreatLevel.low.value,
          register.NOT_ASSESSED]
LEVEL_COLORS = ["#dc2626", "#7c3aed", "#f59e0b", "#16a34a", "#9ca3af"]
LEVEL_FILLS = {"High": "#fee2e2", "Unknown": "#ede9fe", "Medium": "#fef3c7", "Low": "#dcfce7",
               register.NOT_ASSESSED: "#f3f4f6"}
MODES = ["ocean", "air", "truck", "rail", "barge", "courier"]
MODE_DASHES = [[1, 0], [6, 3], [2, 2], [8, 2, 2, 2], [1, 0], [4, 4]]


@dataclass
class LaneMapData:
    """What the map and the flags table show, computed once per data change."""

    nodes: pd.DataFrame  # one row per lane node, with its threat (overall) and flags
    legs: pd.DataFrame  # one row per distinct drawn leg: path, mode, level, lanes
    points: pd.DataFrame  # one row per distinct location: roles, partners, lanes, dwell, level, flags
    flags: pd.DataFrame


def _worse(a: pd.Series, b: pd.Series) -> pd.Series:
    rank = register.DISPLAY_ORDER
    return a.where(a.map(rank).fillna(-1) >= b.map(rank).fillna(-1), b)


def map_data(*, session: Session, today: date, lane_ids: list[int] | None = None,
             status: str | None = LaneStatus.active) -> LaneMapData:
    """Nodes, legs, points and flags of the chosen lanes (default: the active ones)."""
    lanes = lane_rows(session=session, status=status)
    if lane_ids is not None:
        lanes = lanes[lanes["id"].isin(lane_ids)]
    nodes = nodes_frame(session=session, lane_ids=lanes["id"].tolist())
    settings = register.get_settings(session=session)
    table = register.threat_table(session=session, today=today)
    threats = lane_flags.node_threats(nodes, table, unknown_as=settings.unknown_as)
    nodes = nodes.assign(level=threats["overall"].fillna(register.NOT_ASSESSED).to_numpy(),
                         score_level=threats["score_level"].to_numpy(),
                         lane_code=nodes["lane_id"].map(lanes.set_index("id")["code"]))
    found = lane_flags.lane_flags(nodes=nodes, threats=threats,
                                  assessed=lane_flags.assessed_partners(
                                      session=session, today=today,
                                      partner_ids=nodes["partner_id"].dropna().astype(int).unique().tolist()),
                                  restricted=register.confirmed_forced_labor(session=session),
                                  unknown_as=settings.unknown_as)
    found = found.assign(lane_code=found["lane_id"].map(lanes.set_index("id")["code"]),
                         lane_name=found["lane_id"].map(lanes.set_index("id")["name"]))
    per_node: dict[tuple, dict] = {}
    for lane, seq, flag in zip(found["lane_id"], found["seq"], found["flag"], strict=True):
        per_node.setdefault((lane, seq), {})[flag] = None
    nodes["flags"] = ["; ".join(per_node.get((lane, seq), ())) for lane, seq in zip(nodes["lane_id"], nodes["seq"],
                                                                                     strict=True)]
    return LaneMapData(nodes=nodes, legs=_legs(session, nodes), points=_points(nodes), flags=found)


def _legs(session: Session, nodes: pd.DataFrame) -> pd.DataFrame:
    """One row per distinct drawn leg (same path, mode and colour), with the lanes that use it."""
    columns = ["path", "mode", "level", "lanes", "lane_count", "from", "to", "length_km", "straight"]
    frame = routes.legs(nodes)
    if frame.empty:
        return pd.DataFrame(columns=columns)
    about = nodes[["lane_id", "seq", "location", "level", "lane_code"]]
    frame = frame.merge(about, on=["lane_id", "seq"], how="left").merge(
        about.drop(columns="lane_code").rename(columns={"seq": "to_seq", "location": "to", "level": "to_level"}),
        on=["lane_id", "to_seq"], how="left").rename(columns={"location": "from"})
    frame["level"] = _worse(frame["level"], frame["to_level"])
    sea = frame["mode"].isin(routes.SEA_MODES)
    found = routes.stored(session=session, ends=frame[sea])
    by_key = {k: (c, length) for k, c, length in zip(
        found[routes.ENDS].itertuples(index=False, name=None), found["coordinates"].tolist(),
        found["length_km"].tolist(), strict=True)}
    keys = frame[routes.ENDS].astype(float).round(3).itertuples(index=False, name=None)
    ends = frame[routes.ENDS].astype(float).round(2).itertuples(index=False, name=None)
    legs: dict[tuple, dict] = {}
    for is_sea, key, end, mode, level, lane, start_name, end_name in zip(
            sea.tolist(), keys, ends, frame["mode"].tolist(), frame["level"].tolist(), frame["lane_code"].tolist(),
            frame["from"].tolist(), frame["to"].tolist(), strict=True):
        stored = by_key.get(key) if is_sea else None
        path = stored[0] if stored else [[end[0], end[1]], [end[2], end[3]]]
        leg = legs.setdefault((key if stored or not is_sea else ("straight", *key), mode, level), {
            "path": path, "mode": mode, "level": level, "lanes": set(), "from": start_name, "to": end_name,
            "length_km": stored[1] if stored else None, "straight": bool(is_sea and not stored)})
        leg["lanes"].add(lane)
    rows = [{**leg, "lanes": _listed(leg["lanes"]), "lane_count": len(leg["lanes"])} for leg in legs.values()]
    return pd.DataFrame(rows, columns=columns)


def _listed(codes: set[str], shown: int = 8) -> str:
    """Codes for a tooltip: a hub used by hundreds of lanes names the first few and counts the rest."""
    ordered = sorted(codes)
    more = f" … and {len(ordered) - shown} more" if len(ordered) > shown else ""
    return ", ".join(ordered[:shown]) + more


def _points(nodes: pd.DataFrame) -> pd.DataFrame:
    """One row per distinct located place: what happens there across lanes (one pass over the nodes)."""
    located = nodes.dropna(subset=["latitude", "longitude"])
    columns = ["location", "latitude", "longitude", "roles", "partners", "lanes", "lane_count", "dwell_hours", "rests",
               "level", "flags", "flag_count"]
    places: dict[tuple, dict] = {}
    for loc, lat, lon, role, partner, lane, dwell, rests, level, flagged in zip(
            located["location"], located["latitude"], located["longitude"], located["role"],
            located["partner_code"], located["lane_code"], located["dwell_hours"], located["rests"],
            located["level"], located["flags"], strict=True):
        point = places.setdefault((loc, round(lat, 3), round(lon, 3)), {
            "location": loc, "latitude": lat, "longitude": lon, "roles": set(), "partners": set(), "lanes": set(),
            "dwell_hours": 0.0, "rests": False, "level": level, "flags": {}})
        point["roles"].add(role)
        if partner:
            point["partners"].add(partner)
        point["lanes"].add(lane)
        if rests:
            point["rests"] = True
            if dwell == dwell and dwell > point["dwell_hours"]:  # NaN-safe
                point["dwell_hours"] = float(dwell)
        for flag in flagged.split("; ") if flagged else ():
            point["flags"][flag] = None
    rows = [{**p, "roles": ", ".join(sorted(p["roles"])), "partners": _listed(p["partners"]),
             "lanes": _listed(p["lanes"]), "lane_count": len(p["lanes"]), "flags": "; ".join(p["flags"]),
             "flag_count": len(p["flags"])} for p in places.values()]
    return pd.DataFrame(rows, columns=columns)


def lane_map_spec(data: LaneMapData, *, color_field: str = "level", color_domain: list[str] | None = None,
                  color_range: list[str] | None = None, color_title: str = "Threat", height: int = 480) -> dict:
    """The Vega-Lite spec of the lane map (legs, then nodes, over the offline world map).

    The chart is built over named datasets that are filled in afterwards: Altair would otherwise walk every
    coordinate of the world outlines and the sea routes on each build.
    """
    domain, colors = color_domain or LEVELS, color_range or LEVEL_COLORS
    color_scale = alt.Scale(domain=domain, range=colors)
    base = alt.Chart(alt.Data(name="world", format=alt.DataFormat(type="topojson", feature="countries"))) \
        .mark_geoshape(fill="#eef0f3", stroke="white", strokeWidth=0.5)
    layers = [base]
    datasets: dict = {"world": world.topology()}
    legs = data.legs
    if not legs.empty:
        datasets["lane_legs"] = [
            {"type": "Feature", "geometry": {"type": "LineString", "coordinates": path},
             "properties": {"color": str(value), "mode": mode, "lanes": lanes, "lane_count": int(count),
                            "from": start, "to": end, "length": f"{length:,.0f} km" if pd.notna(length) else "",
                            "route": "straight line (sea route not computed yet)" if straight else
                            ("sea route" if mode in routes.SEA_MODES else "direct line")}}
            for path, value, mode, lanes, count, start, end, length, straight in zip(
                legs["path"], legs[color_field], legs["mode"], legs["lanes"], legs["lane_count"], legs["from"],
                legs["to"], legs["length_km"], legs["straight"], strict=True)]
        layers.append(alt.Chart(alt.Data(name="lane_legs")).mark_geoshape(filled=False, strokeWidth=1.6,
                                                                          opacity=0.75).encode(
            color=alt.Color("properties.color:N", scale=color_scale, title=color_title),
            strokeDash=alt.StrokeDash("properties.mode:N", scale=alt.Scale(domain=MODES, range=MODE_DASHES),
                                      title="Mode"),
            tooltip=[alt.Tooltip("properties.from:N", title="from"), alt.Tooltip("properties.to:N", title="to"),
                     alt.Tooltip("properties.mode:N", title="mode"),
                     alt.Tooltip("properties.color:N", title=color_title.lower()),
                     alt.Tooltip("properties.lane_count:Q", title="lanes"),
                     alt.Tooltip("properties.lanes:N", title="lane codes"),
                     alt.Tooltip("properties.length:N", title="length"),
                     alt.Tooltip("properties.route:N", title="drawn as")]))
    points = data.points
    if not points.empty:
        shown = pd.DataFrame({
            "location": points["location"], "latitude": points["latitude"].round(4),
            "longitude": points["longitude"].round(4), "roles": points["roles"], "partners": points["partners"],
            "lanes": points["lanes"], "lane_count": points["lane_count"].astype(int),
            "dwell": points["dwell_hours"].round(0), "color": points[color_field] if color_field in points
            else points["level"], "flags": points["flags"], "flagged": points["flag_count"] > 0})
        datasets["lane_points"] = shown.to_dict("records")
        flagged = alt.datum.flagged
        layers.append(alt.Chart(alt.Data(name="lane_points")).mark_circle(opacity=0.9).encode(
            longitude="longitude:Q", latitude="latitude:Q",
            size=alt.Size("dwell:Q", scale=alt.Scale(range=[25, 420], domainMin=0), title="Hours at rest"),
            color=alt.Color("color:N", scale=color_scale, title=color_title),
            stroke=alt.when(flagged).then(alt.value("#111827")).otherwise(alt.value("white")),
            strokeWidth=alt.when(flagged).then(alt.value(2)).otherwise(alt.value(0.5)),
            tooltip=[alt.Tooltip("location:N", title="place"), alt.Tooltip("roles:N"),
                     alt.Tooltip("partners:N", title="partners"), alt.Tooltip("color:N", title=color_title.lower()),
                     alt.Tooltip("dwell:Q", title="hours at rest (max)"), alt.Tooltip("lane_count:Q", title="lanes"),
                     alt.Tooltip("lanes:N", title="lane codes"), alt.Tooltip("flags:N")]))
    chart = alt.layer(*layers).project(type="equalEarth", rotate=world.PACIFIC_ROTATION).properties(height=height)
    spec = chart.to_dict(validate=False)
    spec["datasets"] = datasets
    return spec


def _dot_text(text: object) -> str:
    return str(text).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def lane_dot(nodes: pd.DataFrame, *, title: str = "") -> str:
    """The flow diagram of one lane (nodes of `map_data` for that lane), left to right, for st.graphviz_chart."""
    lines = ["digraph lane {", '  graph [rankdir=LR, fontname="Helvetica", fontsize=11, nodesep=0.3, ranksep=0.35'
             + (f', label="{_dot_text(title)}", labelloc=t' if title else "") + "];",
             '  node [shape=box, style="rounded,filled", fontname="Helvetica", fontsize=10];',
             '  edge [fontname="Helvetica", fontsize=9];']
    ordered = nodes.sort_values("seq")
    for n in ordered.itertuples():
        who = n.partner_code and f"{n.partner_name} ({n.partner_code})" or (
            "importer (own custody)" if n.custody == "own" else "⚠ no partner named")
        details = [f"custody {n.custody}"]
        if n.rests:
            details.append(f"rests {n.dwell_hours:g} h" if pd.notna(n.dwell_hours) else "rests")
        if n.custody_change:
            details.append("custody changes")
        seals = [w for w, on in (("seal applied", n.seal_applied), ("seal verified", n.seal_verified)) if on]
        details.extend(seals)
        if n.transmits_data:
            details.append("transmits data")
        level = getattr(n, "level", register.NOT_ASSESSED) or register.NOT_ASSESSED
        label_lines = [f"{n.seq}. {n.role}", who, n.location or "(no place)",
                       f"{n.iso2}{(' / ' + n.region) if n.region else ''} · threat {level}", " · ".join(details)]
        flagged = getattr(n, "flags", "")
        if flagged:
            label_lines.append("⚑ " + flagged)
        color = ', color="#b91c1c", penwidth=2' if flagged else ', color="#6b7280"'
        tooltip = flagged or f"threat {level}"
        lines.append(f'  n{n.seq} [label="{_dot_text(chr(10).join(label_lines))}", '
                     f'fillcolor="{LEVEL_FILLS.get(level, "#f3f4f6")}"{color}, tooltip="{_dot_text(tooltip)}"];')
    seqs = list(ordered["seq"])
    modes = list(ordered["mode_to_next"])
    for a, b, mode in zip(seqs, seqs[1:], modes, strict=False):
        style = ', style=dashed' if mode == "air" else ""
        lines.append(f'  n{a} -> n{b} [label="{_dot_text(mode)}"{style}];')
    lines.append("}")
    return "\n".join(lines)
