"""Risk-assessment benchmarks (issue 8): the lane map at 500 lanes and 10,000 partners, the Threats page, screening.

Run: .venv/bin/python bench/bench_lanes.py [--partners 10000] [--lanes 500] [--entries 10000] [--reruns 7]
Prints a markdown table and writes bench/results/lanes.json. Targets: the map's chart spec in at most 1 s and its
rerun from cache in at most 0.3 s; the Threats page rerun in at most 0.3 s; screening 10,000 partners against a
10,000-entry list in at most 5 s. A trivial page measured in the same run is the baseline for ratios.
"""

import argparse
import json
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import pandas as pd  # noqa: E402
from sqlmodel import Session, select  # noqa: E402

from bench.bench_platform import _timed, page_reruns, seed  # noqa: E402
from models import Partner, PartnerSite  # noqa: E402
from models.common import Role  # noqa: E402
from services.core import db  # noqa: E402
from services.core.permissions import Actor  # noqa: E402
from services.demo import lanes as demo_lanes  # noqa: E402
from services.lanes import maps, registry  # noqa: E402
from services.screening import lists, matching  # noqa: E402

BENCH = Actor("bench", Role.admin)


def add_lanes(url: str, total: int) -> dict:
    """The 25 demo lanes, then copies of them from other factories of the same country up to `total` lanes."""
    engine = db.make_engine(url)
    with db.session_scope(engine) as s:  # seed_demo (bench_platform.seed) added the 25 demo lanes already
        seconds, summary = 0.0, demo_lanes.LaneDemoSummary(
            lanes=len(registry.list_lanes(session=s)), nodes=len(registry.nodes_frame(session=s)), places=0, sites=0,
            ratings=0, restricted_entries=0, matches=0)
    rng = random.Random(8)
    with db.session_scope(engine) as s:
        from services.partners import sites

        sites.ensure_first_sites(session=s, actor=BENCH)
        lanes = registry.list_lanes(session=s)
        nodes = registry.nodes_frame(session=s)
        factories = pd.DataFrame(s.exec(select(Partner.partner_code, Partner.country_iso2)
                                        .join(PartnerSite, PartnerSite.partner_id == Partner.id)
                                        .where(Partner.entity_type == "Foreign Manufacturer",
                                               PartnerSite.latitude.is_not(None))).all(), columns=["code", "iso2"])
        lookup = registry.Lookup.build(s)
        writes = []
        for number in range(total - len(lanes)):
            template = lanes.iloc[number % len(lanes)]
            rows = registry.node_rows(nodes[nodes["lane_id"] == template["id"]])
            origin = nodes[(nodes["lane_id"] == template["id"]) & (nodes["seq"] == 1)].iloc[0]
            pool = factories[factories["iso2"] == origin["iso2"]]
            if not pool.empty:
                rows[0] = {**rows[0], "partner_code": pool.iloc[rng.randrange(len(pool))]["code"], "site": ""}
            resolved, _ = registry.resolve_nodes(lookup, rows)
            values = {"code": f"B-{number:04d}", "name": f"{template['name']} ({number})",
                      "commodity": template["commodity"], "mode": template["mode"], "volume_share": None,
                      "status": "active", "notes": ""}
            writes.append({"values": values, "nodes": resolved, "lane_id": None})
        copy_seconds, _ = _timed(lambda: registry.write_lanes(session=s, actor=BENCH, lanes=writes))
    engine.dispose()
    return {"demo_seconds": seconds, "demo": summary.__dict__, "copies": len(writes), "copy_seconds": copy_seconds}


def map_build(url: str, repeat: int) -> dict:
    """Builds of the map from the database, split into data and spec: the first with the process's threat memos
    empty (cold), then with the threat register kept (as after a lane edit)."""
    from services.threats import register, sources

    sources._PROCESS_MEMO.clear()
    register._TABLE_MEMO.clear()
    engine = db.make_engine(url)
    data_times, spec_times, sizes = [], [], []
    for _ in range(repeat):
        with Session(engine) as s:
            seconds, data = _timed(lambda s=s: maps.map_data(session=s, today=pd.Timestamp.today().date()))
        data_times.append(seconds)
        seconds, spec = _timed(lambda data=data: maps.lane_map_spec(data))
        spec_times.append(seconds)
        sizes.append(len(json.dumps(spec)))
    engine.dispose()
    total = [a + b for a, b in zip(data_times, spec_times, strict=True)]
    return {"cold_data": data_times[0], "cold_spec": spec_times[0], "cold_total": total[0],
            "warm_data_median": statistics.median(data_times[1:]),
            "warm_spec_median": statistics.median(spec_times[1:]),
            "warm_total_median": statistics.median(total[1:]), "warm_total_max": max(total[1:]),
            "spec_bytes": sizes[-1], "legs": len(data.legs), "points": len(data.points), "nodes": len(data.nodes),
            "flags": len(data.flags)}


def list_file(url: str, entries: int, hits: int) -> bytes:
    """A restricted list of `entries` entities (names and aliases built like company names), `hits` of them
    carrying the name of a partner."""
    engine = db.make_engine(url)
    with Session(engine) as s:
        names = list(s.exec(select(Partner.legal_name)).all())
    engine.dispose()
    rng = random.Random(11)
    words = ["Xinjiang", "Aksu", "Hotan", "Kashgar", "Turpan", "Korla", "Changji", "Shihezi", "Tianshan", "Golden",
             "Silk", "Road", "Cotton", "Spinning", "Textile", "Polysilicon", "Aluminium", "Tomato", "Garment",
             "Apparel", "Northgate", "Redstone", "Clearwater", "Brightstar", "Hongyuan", "Evergreen", "Loom",
             "Whitepeak", "Sunrise", "Harvest", "Unity", "Pioneer", "Oasis", "Desert", "Steppe", "Pamir"]
    rows = ["name,aliases,country,listed_on,reference"]
    for number in range(entries):
        name = " ".join(rng.sample(words, 3)) + f" {number} Co., Ltd."
        aliases = "; ".join(" ".join(rng.sample(words, 2)) + f" {number}" for _ in range(rng.randint(0, 2)))
        if number < hits:
            aliases = names[rng.randrange(len(names))].replace('"', "")
        rows.append(f'"{name}","{aliases}",CN,2025-01-01,Bench entry')
    return ("\n".join(rows) + "\n").encode()


def screening(url: str, entries: int) -> dict:
    data = list_file(url, entries, hits=40)
    engine = db.make_engine(url)
    with Session(engine) as s:
        partners = pd.DataFrame(s.exec(select(Partner.id, Partner.normalized_name)).all(),
                                columns=["partner_id", "normalized_name"])
        read_seconds, preview = _timed(lambda: lists.read_list(session=s, filename="bench.csv", data=data))
    names = lists.entry_names(preview.entries)
    match_seconds, found = _timed(lambda: matching.find_matches(partners, names))
    with db.session_scope(engine) as s:
        apply_seconds, _ = _timed(lambda: lists.apply_list(session=s, actor=BENCH, preview=preview,
                                                           name="Bench list"))
    with db.session_scope(engine) as s:
        screen_seconds, new = _timed(lambda: lists.screen(session=s, actor=BENCH))
    engine.dispose()
    return {"partners": len(partners), "entries": len(preview.entries), "names": len(names),
            "matches": len(found), "match_seconds": match_seconds, "read_and_preview_seconds": read_seconds,
            "load_and_screen_seconds": apply_seconds, "rescreen_seconds": screen_seconds, "rescreen_new": new}


def lanes_page(url: str, reruns: int) -> dict:
    return page_reruns(url, "lanes", reruns)


def threats_page(url: str, reruns: int) -> dict:
    return page_reruns(url, "threats", reruns)


def browser(url: str, data_dir: str) -> dict | None:
    """Click-to-finished in Debian's Chromium: the Cargo flow map after login, a filter change, the Threats page."""
    if not shutil.which("chromium"):
        return None
    from playwright.sync_api import sync_playwright

    from tests.e2e.support import AppServer, log_in, wait_for_app_run

    Path(data_dir).mkdir(parents=True, exist_ok=True)
    shutil.copyfile(url.removeprefix("sqlite:///"), Path(data_dir) / "e2e.db")  # AppServer's database file
    server = AppServer(Path(data_dir), admin_password=None).wait_until_up()
    result = {}
    try:
        with sync_playwright() as p:
            chrome = p.chromium.launch(executable_path=shutil.which("chromium"), args=["--no-sandbox"])
            page = chrome.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(server.url + "/lanes")
            wait_for_app_run(page, timeout=120_000)
            log_in(page, "bench", "benchmark-password")
            start = time.perf_counter()
            page.goto(server.url + "/lanes")
            wait_for_app_run(page, timeout=120_000)
            page.locator("[data-testid='stVegaLiteChart'] canvas, [data-testid='stVegaLiteChart'] svg") \
                .first.wait_for(timeout=120_000)
            result["lanes_open"] = time.perf_counter() - start
            toggles = []
            for _ in range(4):
                start = time.perf_counter()
                page.get_by_text("Flagged lanes only").click()
                wait_for_app_run(page, timeout=120_000)
                page.locator("[data-testid='stVegaLiteChart'] canvas, [data-testid='stVegaLiteChart'] svg") \
                    .first.wait_for(timeout=120_000)
                toggles.append(time.perf_counter() - start)
            result["lanes_filter_first"], result["lanes_filter_cached_median"] = toggles[0], \
                statistics.median(toggles[2:])
            start = time.perf_counter()
            page.goto(server.url + "/threats")
            wait_for_app_run(page, timeout=120_000)
            page.locator("[data-testid='stVegaLiteChart'] canvas, [data-testid='stVegaLiteChart'] svg") \
                .first.wait_for(timeout=120_000)
            result["threats_open"] = time.perf_counter() - start
            chrome.close()
    finally:
        server.stop()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--partners", type=int, default=10_000)
    parser.add_argument("--lanes", type=int, default=500)
    parser.add_argument("--entries", type=int, default=10_000)
    parser.add_argument("--reruns", type=int, default=7)
    parser.add_argument("--no-browser", action="store_true")
    args = parser.parse_args()
    os.environ["CTPAT_DEMO"] = "0"
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["CTPAT_DATA_DIR"] = tmp
        url = f"sqlite:///{tmp}/bench.db"
        results = {"partners": args.partners, "lanes": args.lanes, "seed": seed(url, args.partners)}
        results["add_lanes"] = add_lanes(url, args.lanes)
        results["map"] = map_build(url, repeat=5)
        results["baseline_page"] = page_reruns(url, None, args.reruns)
        results["lanes_page"] = lanes_page(url, args.reruns)
        results["threats_page"] = threats_page(url, args.reruns)
        results["screening"] = screening(url, args.entries)
        results["browser"] = None if args.no_browser else browser(url, tmp + "/browser")
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "lanes.json").write_text(json.dumps(results, indent=2, default=str))
    base = results["baseline_page"]["rerun_median"]
    m, sc = results["map"], results["screening"]
    print(f"| measure ({args.partners:,} partners, {args.lanes} lanes) | seconds | target | ratio to baseline |")
    print("|---|---|---|---|")
    print(f"| map from the database, cold: data (nodes, threats, flags, routes) + spec | {m['cold_data']:.3f} + "
          f"{m['cold_spec']:.3f} = {m['cold_total']:.3f} | ≤ 1 | |")
    print(f"| map from the database, threat register kept: median of 4 (max) | {m['warm_total_median']:.3f} "
          f"({m['warm_total_max']:.3f}) | ≤ 1 | |")
    print(f"| map chart spec from the data alone, median of 4 | {m['warm_spec_median']:.3f} | | |")
    print(f"| trivial page rerun (baseline) | {base:.3f} | | 1.0 |")
    for key, label in (("lanes_page", "Cargo flow (map tab)"), ("threats_page", "Threats (register tab)")):
        r = results[key]
        print(f"| {label} first run | {r['first_run']:.3f} | | |")
        print(f"| {label} rerun, median of {args.reruns} (max) | {r['rerun_median']:.3f} ({r['rerun_max']:.3f}) | "
              f"≤ 0.3 | {r['rerun_median'] / base:.1f} |")
    print(f"| match {sc['partners']:,} partners against {sc['entries']:,} entries ({sc['names']:,} names and "
          f"aliases) | {sc['match_seconds']:.3f} | | |")
    print(f"| read and preview the list file (incl. matching) | {sc['read_and_preview_seconds']:.3f} | | |")
    print(f"| load the list and screen all partners | {sc['load_and_screen_seconds']:.3f} | ≤ 5 | |")
    print(f"| screen all partners again (nothing new) | {sc['rescreen_seconds']:.3f} | ≤ 5 | |")
    b = results["browser"]
    if b:
        print(f"| Chromium: open Cargo flow to the map drawn | {b['lanes_open']:.2f} | | |")
        print(f"| Chromium: filter click to the map redrawn, first (cached, median) | {b['lanes_filter_first']:.2f} "
              f"({b['lanes_filter_cached_median']:.2f}) | | |")
        print(f"| Chromium: open Threats to the map drawn | {b['threats_open']:.2f} | | |")
    print(f"\nmap: {m['legs']} legs, {m['points']} places, {m['nodes']} nodes, {m['flags']} flags, spec "
          f"{m['spec_bytes'] / 1e6:.1f} MB; screening matches: {sc['matches']}")


if __name__ == "__main__":
    main()
