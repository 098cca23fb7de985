"""Management dashboard benchmark: the dashboard's rerun at 10,000 partners (AppTest), its first run, and the
figures it reads (services.reports.dashboard.figures), against a trivial page measured in the same run.

Run: .venv/bin/python bench/bench_dashboard.py [--partners 10000] [--reruns 7] [--readiness]
Prints a markdown table and writes bench/results/dashboard.json.

The demo brings partners, certificates, two cycles and their answers, but no assessment snapshot; taking one
re-scores every partner (minutes at this size, see docs/PERFORMANCE.md, "Risk scoring"), so the benchmark writes two
snapshot rows with band counts of the demo's size, which is all the dashboard reads of a snapshot. --readiness
also times the Revalidation readiness page's first run, which re-scores (slow at this size).
"""

import argparse
import json
import statistics
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from streamlit.testing.v1 import AppTest  # noqa: E402

from bench.bench_platform import seed  # noqa: E402
from models import RiskAssessment  # noqa: E402
from services.core import db  # noqa: E402
from services.reports import dashboard  # noqa: E402


def _timed(fn):
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def add_snapshots(url: str, partners: int) -> None:
    engine = db.make_engine(url)
    today = date.today()
    with db.session_scope(engine) as s:
        for name, days, high, medium in (("Last year's review", 365, 0.31, 0.33), ("This year's review", 5, 0.28,
                                                                                     0.34)):
            h, m = int(partners * high), int(partners * medium)
            s.add(RiskAssessment(name=name, as_of=today - timedelta(days=days), configuration={},
                                 summary={"partners": {"High": h, "Medium": m, "Low": partners - h - m},
                                          "lanes": {"High": 20, "Medium": 3, "Low": 2}},
                                 note="benchmark", run_by="bench"))
    engine.dispose()


def figures_seconds(url: str, repeat: int) -> list[float]:
    engine = db.make_engine(url)
    times = []
    for _ in range(repeat):
        with db.session_scope(engine) as s:
            seconds, _ = _timed(lambda s=s: dashboard.figures(session=s, today=date.today()))
        times.append(seconds)
    engine.dispose()
    return times


def page_reruns(url: str, page: str | None, reruns: int) -> dict:
    script = f"import pages.{page} as page\npage.render()\n" if page else "import streamlit as st\nst.title('x')\n"
    at = AppTest.from_string(script, default_timeout=600)
    at.secrets["database_url"] = url
    at.secrets["cookie_key"] = "bench-" + "x" * 40
    at.session_state["authentication_status"] = True
    at.session_state["username"] = "bench"
    at.session_state["session_version"] = 0
    first, _ = _timed(at.run)
    assert not at.exception, at.exception
    times = []
    for _ in range(reruns):
        seconds, _ = _timed(at.run)
        times.append(seconds)
    if page == "dashboard":  # the presentation switch, moved: a rerun with other content
        at.toggle(key="presentation_mode_switch").set_value(True)
        switched, _ = _timed(at.run)
        assert not at.exception, at.exception
    else:
        switched = None
    return {"first_run": first, "rerun_median": statistics.median(times), "rerun_max": max(times),
            "presentation_switch": switched}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--partners", type=int, default=10000)
    parser.add_argument("--reruns", type=int, default=7)
    parser.add_argument("--readiness", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/bench.db"
        seeded = seed(url, args.partners)
        add_snapshots(url, args.partners)
        results = {"partners": args.partners, "seed_seconds": seeded["seconds"],
                   "baseline": page_reruns(url, None, args.reruns),
                   "figures": figures_seconds(url, 3),
                   "dashboard": page_reruns(url, "dashboard", args.reruns)}
        if args.readiness:
            results["readiness"] = page_reruns(url, "readiness", 2)
    base = results["baseline"]["rerun_median"]
    d = results["dashboard"]
    print(f"| measure ({args.partners:,} partners) | seconds | ratio to baseline |\n|---|---|---|")
    print(f"| trivial page rerun (baseline), median | {base:.3f} | 1.0 |")
    print(f"| dashboard figures (`services.reports.dashboard.figures`), median of 3 | "
          f"{statistics.median(results['figures']):.3f} | |")
    print(f"| dashboard first run | {d['first_run']:.3f} | |")
    print(f"| dashboard rerun, median of {args.reruns} (max) | {d['rerun_median']:.3f} ({d['rerun_max']:.3f}) | "
          f"{d['rerun_median'] / base:.1f} |")
    print(f"| dashboard rerun after the presentation switch | {d['presentation_switch']:.3f} | |")
    if "readiness" in results:
        r = results["readiness"]
        print(f"| readiness first run | {r['first_run']:.3f} | |")
        print(f"| readiness rerun, median (max) | {r['rerun_median']:.3f} ({r['rerun_max']:.3f}) | |")
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    (out / "dashboard.json").write_text(json.dumps(results, indent=2, default=str))


if __name__ == "__main__":
    main()
