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
from services.lanes.registry import list_lanes, nodes_frame
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
    lanes = list_lanes(session=session, status=status)
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
                                  assessed=lane_flags.assessed_partners(session=session, today=today),
                                  restricted=register.confirmed_forced_labor(session=session),
                                  unknown_as=settings.unknown_as)
    found = found.assign(lane_code=found["lane_id"].map(lanes.set_index("id")["code"]),
                         lane_name=found["lane_id"].map(lanes.set_index("id")["name"]))
    per_node = found.groupby(["lane_id", "seq"])["flag"].agg(lambda s: "; ".join(dict.fromkeys(s)))
    nodes["flags"] = [per_node.get((lane, seq), "") for lane, seq in zip(nodes["lane_id"], nodes["seq"],
                                                                          strict=True)]
    return LaneMapData(nodes=nodes, legs=_legs(session, nodes), points=_points(nodes), flags=found)


def _legs(session: Session, nodes: pd.DataFrame) -> pd.DataFrame:
    frame = routes.legs(nodes)
    if frame.empty:
        return pd.DataFrame(columns=["path", "mode", "level", "lanes", "lane_count", "from", "to", "length_km",
                                     "straight"])
    ends = nodes.set_index(["lane_id", "seq"])
    start = ends.loc[list(zip(frame["lane_id"], frame["seq"], strict=True))]
    finish = ends.loc[list(zip(frame["lane_id"], frame["to_seq"], strict=True))]
    frame["from"] = start["location"].to_numpy()
    frame["to"] = finish["location"].to_numpy()
    frame["level"] = _worse(pd.Series(start["level"].to_numpy()), pd.Series(finish["level"].to_numpy())).to_numpy()
    frame["lane_code"] = start["lane_code"].to_numpy()
    frame = frame.dropna(subset=routes.ENDS)
    sea = frame["mode"].isin(routes.SEA_MODES)
    found = routes.stored(session=session, ends=frame[sea])
    keys = frame[routes.ENDS].astype(float).round(3)
    by_key = {tuple(k): (c, length) for k, c, length in zip(found[routes.ENDS].itertuples(index=False, name=None),
                                                            found["coordinates"], found["length_km"], strict=True)}
    paths, lengths, straight = [], [], []
    for is_sea, key, row in zip(sea, keys.itertuples(index=False, name=None),
                                frame[routes.ENDS].itertuples(index=False, name=None), strict=True):
        stored = by_key.get(key) if is_sea else None
        if stored:
            paths.append(stored[0])
            lengths.append(stored[1])
            straight.append(False)
        else:
            paths.append([[round(row[0], 2), round(row[1], 2)], [round(row[2], 2), round(row[3], 2)]])
            lengths.append(None)
            straight.append(bool(is_sea))
    frame["path"], frame["length_km"], frame["straight"] = paths, lengths, straight
    frame["_key"] = [repr(p) for p in paths]
    grouped = frame.groupby(["_key", "mode", "level"], sort=False).agg(
        path=("path", "first"), lanes=("lane_code", lambda s: ", ".join(sorted(set(s)))),
        lane_count=("lane_code", "nunique"), **{"from": ("from", "first"), "to": ("to", "first")},
        length_km=("length_km", "first"), straight=("straight", "first")).reset_index()
    return grouped.drop(columns="_key")


def _points(nodes: pd.DataFrame) -> pd.DataFrame:
    located = nodes.dropna(subset=["latitude", "longitude"])
    if located.empty:
        return pd.DataFrame(columns=["location", "latitude", "longitude", "roles", "partners", "lanes", "lane_count",
                                     "dwell_hours", "rests", "level", "flags", "flag_count"])

    def joined(s: pd.Series) -> str:
        return ", ".join(sorted({v for v in s if v}))

    grouped = located.assign(lat=located["latitude"].round(3), lon=located["longitude"].round(3)).groupby(
        ["location", "lat", "lon"], sort=False).agg(
        latitude=("latitude", "first"), longitude=("longitude", "first"), roles=("role", joined),
        partners=("partner_code", joined), lanes=("lane_code", joined), lane_count=("lane_code", "nunique"),
        dwell_hours=("dwell_hours", "max"), rests=("rests", "any"), level=("level", "first"),
        flags=("flags", lambda s: "; ".join(dict.fromkeys(f for v in s for f in v.split("; ") if f))))
    grouped = grouped.reset_index().drop(columns=["lat", "lon"])
    grouped["flag_count"] = grouped["flags"].map(lambda f: len(f.split("; ")) if f else 0)
    grouped["dwell_hours"] = grouped["dwell_hours"].where(grouped["rests"], 0).fillna(0)
    return grouped


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
