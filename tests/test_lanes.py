"""Lanes: nodes checked like the form and the import, flags, sea routes, the map spec and the flow diagram."""

import json
from datetime import UTC, date, datetime

import pytest
from sqlmodel import Session, func, select

from models import Assignment, AuditEvent, Cycle, ImportRecord, Lane, LaneNode, RestrictedEntry, SeaRoute
from services.core.permissions import PermissionDenied, ValidationError
from services.imports.reader import problems_csv
from services.lanes import flags, imports, maps, registry, routes
from services.screening import lists
from services.threats import register
from tests.conftest import ADMIN, ANALYST, VIEWER
from tests.risk_support import OCEAN_LANE, book, node

TODAY = date(2026, 12, 5)
LANE = {"code": "cn-01", "name": "Shenzhen lamps to Long Beach", "commodity": "HTS 94", "mode": "sea",
        "volume_share": "8"}


def lane_csv(rows: list[list[str]]) -> bytes:
    header = "lane_code,lane_name,mode,seq,role,partner_code,place,mode_to_next,rests,dwell_hours,custody," \
             "custody_change,seal_applied,seal_verified\n"
    return (header + "\n".join(",".join(r) for r in rows) + "\n").encode()


def test_a_lane_is_saved_with_warnings_for_a_missing_partner(session, staff):
    book(session)
    lane, warnings = registry.save_lane(session=session, actor=ANALYST, values=LANE, rows=OCEAN_LANE)
    session.commit()
    assert (lane.code, lane.mode, lane.volume_share, lane.version) == ("CN-01", "ocean", 8.0, 1)
    assert [(w[0], w[1]) for w in warnings] == [(2, "partner_code")]
    nodes = registry.nodes_frame(session=session, lane_ids=[lane.id])
    assert nodes["seq"].tolist() == [1, 2, 3, 4, 5]
    assert nodes.loc[0, "location"] == "Shenzhen Bright Lamps Co., Ltd. · Shenzhen"  # the primary site
    assert nodes.loc[3, "location"] == "" and nodes.loc[3, "latitude"] != nodes.loc[3, "latitude"]  # broker: none
    assert nodes.loc[4, "place_kind"] == "seaport" and nodes.loc[4, "custody"] == "own"
    assert session.exec(select(func.count()).select_from(SeaRoute)).one() == 1  # the one ocean leg
    listed = registry.list_lanes(session=session)
    assert listed.loc[0, "entry"] == "USLGB · Long Beach (seaport)" and listed.loc[0, "nodes"] == 5
    with pytest.raises(PermissionDenied):
        registry.save_lane(session=session, actor=VIEWER, values=LANE, rows=OCEAN_LANE)


def test_errors_refuse_the_lane_and_versions_refuse_stale_forms(session, staff):
    book(session)
    bad = [node("origin", "NOPE", mode="truck"), node("distribution center", "", "XXXXX", mode="air")]
    with pytest.raises(ValidationError) as error:
        registry.save_lane(session=session, actor=ANALYST, values={**LANE, "mode": "teleport"}, rows=bad)
    assert "mode" in str(error.value)
    with pytest.raises(ValidationError) as error:
        registry.save_lane(session=session, actor=ANALYST, values=LANE, rows=bad)
    assert "node 1 partner_code: No partner with code NOPE" in str(error.value)
    assert "node 2 place: No active place with code XXXXX" in str(error.value)
    assert session.exec(select(func.count()).select_from(Lane)).one() == 0
    lane, _ = registry.save_lane(session=session, actor=ANALYST, values=LANE, rows=OCEAN_LANE)
    session.commit()
    registry.save_lane(session=session, actor=ADMIN, values={**LANE, "name": "Renamed"}, rows=OCEAN_LANE,
                       lane_id=lane.id, expected_version=1)
    session.commit()
    with pytest.raises(ValidationError) as error:
        registry.save_lane(session=session, actor=ANALYST, values=LANE, rows=OCEAN_LANE, lane_id=lane.id,
                           expected_version=1)
    assert "changed by admin" in str(error.value)
    registry.set_lane_status(session=session, actor=ANALYST, lane_id=lane.id, status="inactive")
    session.commit()
    assert registry.list_lanes(session=session, status="active").empty
    assert len(session.exec(select(AuditEvent).where(AuditEvent.entity == "lane")).all()) == 3


def test_every_flag(session, staff):
    made = book(session)
    register.rate(session=session, actor=ANALYST, iso2="MX", region_code="MX-TAM", category="organized crime",
                  level="High", reason="Do Not Travel state in the 2024 advisory", source="State Dept", today=TODAY)
    rows = [
        node("origin", "MX-F1", mode="truck", rests="yes", dwell_hours=8, custody_change="yes", seal_applied="yes"),
        node("inland carrier", "MX-T1", "MXNLD", "truck", rests="yes", dwell_hours=12, custody_change="yes"),
        node("port of entry", "", "USLRD", "truck", custody_change="yes", seal_verified="yes"),
        node("distribution center", "", "USLAX", custody="own", place_kind="seaport"),
    ]
    from services.places import registry as places  # the Nuevo Laredo yard is a place an admin adds
    places.create_place(session=session, actor=ADMIN, values={"code": "MXNLD", "kind": "inland",
                                                              "name": "Nuevo Laredo yard", "country_iso2": "MX",
                                                              "region_code": "MX-TAM", "latitude": 27.48,
                                                              "longitude": -99.51})
    registry.save_lane(session=session, actor=ANALYST, values={**LANE, "code": "MX-01", "mode": "truck"}, rows=rows)
    ocean = [*OCEAN_LANE[:2], node("transshipment", "SEA-1", "HKHKG", "ocean", rests="yes", dwell_hours=48),
             *OCEAN_LANE[2:]]
    registry.save_lane(session=session, actor=ANALYST, values=LANE, rows=ocean)
    # The Monterrey plant has a questionnaire accepted last month; nobody else has.
    cycle = Cycle(name="2026 review", due_date=date(2026, 12, 31), created_by="luis")
    session.add(cycle)
    session.flush()
    session.add(Assignment(cycle_id=cycle.id, partner_id=made["plant"].id, status="accepted",
                           reviewed_at=datetime(2026, 11, 2, tzinfo=UTC)))
    session.commit()
    found = flags.all_flags(session=session, today=TODAY)
    by_lane = {(r.lane_code, r.seq, r.flag) for r in found.itertuples()}
    assert ("MX-01", 2, flags.REST_HIGH) in by_lane  # the yard in Tamaulipas
    assert ("MX-01", 2, flags.CUSTODY_NO_SEAL) in by_lane
    assert ("MX-01", 3, flags.NO_PARTNER) in by_lane
    assert ("MX-01", 1, flags.NO_ASSESSMENT) not in by_lane  # accepted within 15 months
    assert ("MX-01", 2, flags.NO_ASSESSMENT) in by_lane
    assert ("CN-01", 3, flags.TRANSSHIP_HIGH) in by_lane  # Hong Kong: TIP places it High
    assert ("CN-01", 1, flags.REST_HIGH) in by_lane  # China is High (TIP Tier 3)
    assert not any(f == flags.NO_PARTNER for (lane, seq, f) in by_lane if lane == "CN-01" and seq == 5)  # own DC
    assert not any(lane == "MX-01" and seq == 4 for (lane, seq, _f) in by_lane)


def test_map_spec_and_flow_diagram(session, staff):
    book(session)
    registry.save_lane(session=session, actor=ANALYST, values=LANE, rows=OCEAN_LANE)
    session.commit()
    data = maps.map_data(session=session, today=TODAY)
    assert len(data.points) == 4  # the broker has no place on the map
    ocean = data.legs[data.legs["mode"] == "ocean"].iloc[0]
    assert len(ocean["path"]) > 10 and not ocean["straight"]  # a sea route, not a straight line
    assert ocean["level"] == "High"  # Shenzhen port is High; Long Beach Unknown (the US has no advisory)
    assert data.legs[data.legs["mode"] == "truck"]["to"].tolist()[-1].startswith("USLAX")
    spec = maps.lane_map_spec(data)
    assert [layer["mark"]["type"] for layer in spec["layer"]] == ["geoshape", "geoshape", "circle"]
    assert spec["projection"]["type"] == "equalEarth" and spec["datasets"]["world"]["type"] == "Topology"
    points = spec["datasets"]["lane_points"]
    origin = next(p for p in points if p["roles"] == "origin")
    assert origin["dwell"] == 24 and "cargo at rest in a High-threat place" in origin["flags"]
    json.dumps(spec)  # plain JSON for the browser
    nodes = data.nodes[data.nodes["lane_code"] == "CN-01"]
    nodes.loc[nodes.index[0], "notes"] = 'say "hi"'
    dot = maps.lane_dot(nodes.assign(partner_name=nodes["partner_name"].str.replace("Bright", 'Bri"ght')),
                        title="CN-01")
    assert dot.startswith("digraph lane {") and 'Bri\\"ght' in dot and "n4 -> n5" in dot
    assert "⚑ partner without a current assessment; cargo at rest in a High-threat place" in dot
    assert "importer (own custody)" in dot


def test_sea_routes_are_computed_once_and_looked_up(session):
    ends = routes.legs(__import__("pandas").DataFrame({
        "lane_id": [1, 1], "seq": [1, 2], "mode_to_next": ["ocean", ""], "latitude": [22.58, 33.75],
        "longitude": [114.27, -118.21]}))
    assert routes.ensure(session=session, ends=ends) == 1
    assert routes.ensure(session=session, ends=ends) == 0
    found = routes.stored(session=session, ends=ends)
    assert found.loc[0, "length_km"] > 10_000 and found.loc[0, "coordinates"][0] == [114.27, 22.58]
    session.rollback()


def test_lane_import_preview_all_or_nothing_and_replace(session, staff):
    book(session)
    good = [["T-01", "Test lane", "ocean", "1", "origin", "CN-F1", "", "truck", "yes", "24", "direct", "yes", "yes",
             "no"],
            ["T-01", "", "", "2", "port of lading", "SEA-1", "CNSHA", "ocean", "yes", "48", "direct", "yes", "no",
             "yes"],
            ["T-01", "", "", "3", "distribution center", "", "USLGB", "", "no", "", "own", "yes", "no", "yes"]]
    bad = [["T-02", "Bad", "ocean", "1", "origin", "NOPE", "", "truck", "maybe", "", "direct", "", "", ""],
           ["T-02", "Other name", "", "2", "distribution center", "", "USLGB", "", "", "", "own", "", "", ""]]
    preview = imports.preview_lanes(session=session, filename="lanes.csv", data=lane_csv(good + bad))
    assert preview.counts == {"new": 1, "replace": 0, "unchanged": 0, "error": 1}
    errors = preview.problems[preview.problems["severity"] == "error"]
    assert errors[["row", "column"]].values.tolist() == [[5, "partner_code"], [5, "place"], [5, "rests"],
                                                         [6, "lane_name"]]
    assert b"No partner with code NOPE" in problems_csv(preview.problems)
    with pytest.raises(ValidationError):
        imports.apply_lanes(session=session, actor=ANALYST, preview=preview)
    assert session.exec(select(func.count()).select_from(Lane)).one() == 0
    preview = imports.preview_lanes(session=session, filename="lanes.csv", data=lane_csv(good))
    warnings = preview.problems["message"].tolist()
    assert any("carrier-style code" in w for w in warnings)
    record = imports.apply_lanes(session=session, actor=ANALYST, preview=preview)
    session.commit()
    assert (record.kind, record.created) == ("lanes", 1)
    again = imports.preview_lanes(session=session, filename="lanes.csv", data=lane_csv(good))
    assert again.counts["unchanged"] == 1 and not again.writes
    changed = [*good[:2], ["T-01", "", "", "3", "port of entry", "", "USLGB", "truck", "yes", "24", "indirect", "yes",
                           "no", "yes"], ["T-01", "", "", "4", "distribution center", "", "USLGB", "", "", "", "own",
                                          "", "", ""]]
    replaced = imports.preview_lanes(session=session, filename="lanes.csv", data=lane_csv(changed))
    assert replaced.counts["replace"] == 1 and replaced.lanes.loc[0, "changes"] == "nodes 3 → 4"
    imports.apply_lanes(session=session, actor=ANALYST, preview=replaced)
    session.commit()
    assert session.exec(select(func.count()).select_from(LaneNode)).one() == 4
    assert session.exec(select(func.count()).select_from(ImportRecord)).one() == 2


def test_demo_lanes_on_the_demo_company(tmp_path):
    from services.core import db
    from services.demo import lanes as demo_lanes
    from services.demo.generator import seed_demo
    from services.reference import loader

    engine = db.make_engine(f"sqlite:///{tmp_path / 'demo.db'}")
    db.upgrade(engine)
    with db.session_scope(engine) as s:
        loader.load_reference_data(session=s)
        summary = seed_demo(session=s, partners=200, seed=2027, today=TODAY)  # the lanes come with it
    assert summary.lanes == 25
    with Session(engine) as s:
        assert s.exec(select(func.count()).select_from(LaneNode)).one() > 120
        assert s.exec(select(func.count()).select_from(RestrictedEntry)).one() == 9
        assert lists.open_match_count(session=s) == 1
    with Session(engine) as s:
        lanes = registry.list_lanes(session=s)
        assert {c[:2] for c in lanes["code"]} == {"CN", "VN", "MX", "IN", "CA"}
        assert set(lanes["mode"]) == {"ocean", "truck", "air", "rail"}
        data = maps.map_data(session=s, today=TODAY)
        assert data.legs[data.legs["mode"] == "ocean"]["straight"].sum() == 0
        kinds = set(data.flags["flag"])
        assert {flags.REST_HIGH, flags.CUSTODY_NO_SEAL, flags.TRANSSHIP_HIGH, flags.NO_PARTNER} <= kinds
        mx = data.nodes[(data.nodes["lane_code"] == "MX-01") & (data.nodes["role"] == "origin")].iloc[0]
        assert mx["region_code"] == "MX-NLE" and mx["level"] == "Medium"  # the demo's regional override
        table = register.threat_table(session=s, today=TODAY)
        assert table["is_demo"].any() and (table.loc[table["status"] == "rated", "is_demo"]).all()
        with pytest.raises(ValueError):
            demo_lanes.seed_demo_lanes(session=s, today=TODAY)
    engine.dispose()
    small = db.make_engine(f"sqlite:///{tmp_path / 'small.db'}")  # a 30-partner demo lacks many partner types
    db.upgrade(small)
    with db.session_scope(small) as s:
        loader.load_reference_data(session=s)
        assert seed_demo(session=s, partners=30, seed=7, today=TODAY).lanes >= 20
    small.dispose()
