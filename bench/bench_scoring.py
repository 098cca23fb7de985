"""Risk scoring benchmark (issue 9): full re-score of 10,000 partners and 500 lanes, a what-if, the scoring page.

Run: .venv/bin/python bench/bench_scoring.py [--partners 10000] [--lanes 500] [--repeat 7] [--reruns 7]
Prints a markdown table and writes bench/results/scoring.json. Targets: a full re-score in at most 0.5 s; a what-if
change reruns the scoring page in at most 0.3 s (AppTest). A trivial page measured in the same run is the baseline
for ratios.
"""

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import func, text  # noqa: E402
from sqlmodel import Session, select  # noqa: E402
from streamlit.testing.v1 import AppTest  # noqa: E402

from bench.bench_lanes import add_lanes  # noqa: E402
from bench.bench_platform import _timed, page_reruns, seed  # noqa: E402
from models import Answer  # noqa: E402
from services.core import db  # noqa: E402
from services.risk import assessment, inputs, scoring  # noqa: E402
from services.risk.config import RiskConfig  # noqa: E402


def _runs(fn, repeat: int) -> dict:
    times = []
    for _ in range(repeat):
        seconds, result = _timed(fn)
        times.append(seconds)
    return {"median": statistics.median(times), "max": max(times), "result": result}


def score_times(url: str, repeat: int) -> dict:
    """Loading the inputs from the database, the pure scoring with the default and another configuration (a what-if
    is the same call), and both together (what the CLI and a fresh page do)."""
    engine = db.make_engine(url)
    today = date.today()
    with Session(engine) as s:
        answers = s.exec(select(func.count()).select_from(Answer)).one()
        plain = _runs(lambda: s.connection().execute(text("SELECT * FROM answer")).fetchall(), repeat)
        plain.pop("result")
        load = _runs(lambda: inputs.load(session=s, today=today), repeat)
        loaded = load.pop("result")
        default = _runs(lambda: scoring.score(loaded, RiskConfig()), repeat)
        scores = default.pop("result")
        other = RiskConfig().replace(high_from=30.0, threat_overrides={"MX": "High"}, certificate_credit=0)
        what_if = _runs(lambda: scoring.score(loaded, other), repeat)
        moved = int((what_if.pop("result").partners["risk"] != scores.partners["risk"]).sum())
        full = _runs(lambda: assessment.current(session=s, today=today), max(3, repeat // 2))
        full.pop("result")
    engine.dispose()
    return {"answers": answers, "partners": len(scores.partners), "lanes": len(scores.lanes),
            "distribution": scoring.distribution(scores.partners), "lane_distribution":
            scoring.distribution(scores.lanes), "load": load, "score": default, "what_if": what_if,
            "what_if_moved": moved, "load_and_score": full, "select_answers": plain}


def what_if_reruns(url: str, reruns: int) -> dict:
    """The scoring page: first run, then a what-if input moved back and forth, one rerun each."""
    at = AppTest.from_string("import pages.scoring as page\npage.render()\n", default_timeout=300)
    at.secrets["database_url"] = url
    at.secrets["cookie_key"] = "bench-" + "x" * 40
    at.session_state["authentication_status"] = True
    at.session_state["username"] = "bench"
    at.session_state["session_version"] = 0  # a new user's; a logged-in session keeps it (ui/auth.py)
    first, _ = _timed(at.run)
    assert not at.exception, at.exception
    times = []
    for i in range(reruns):
        at.number_input(key="risk_w_high_from").set_value(30.0 if i % 2 == 0 else 20.0)
        seconds, _ = _timed(at.run)
        assert not at.exception, at.exception
        times.append(seconds)
    fresh = []  # a value not tried before each time: the page scores once more
    for i in range(reruns):
        at.number_input(key="risk_w_high_from").set_value(31.0 + i)
        seconds, _ = _timed(at.run)
        assert not at.exception, at.exception
        fresh.append(seconds)
    return {"first_run": first, "rerun_median": statistics.median(times), "rerun_max": max(times),
            "new_value_median": statistics.median(fresh), "new_value_max": max(fresh)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--partners", type=int, default=10_000)
    parser.add_argument("--lanes", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--reruns", type=int, default=7)
    args = parser.parse_args()
    folder = tempfile.mkdtemp(prefix="bench-scoring-")
    url = f"sqlite:///{Path(folder) / 'bench.db'}"
    os.environ["CTPAT_DEMO"] = "0"
    results: dict = {"partners": args.partners, "lanes": args.lanes, "started": time.strftime("%Y-%m-%d %H:%M:%S")}
    try:
        results["seed"] = seed(url, args.partners)
        results["lanes_seed"] = add_lanes(url, args.lanes)
        results["baseline_page"] = page_reruns(url, None, args.reruns)
        results["scoring"] = score_times(url, args.repeat)
        results["page"] = what_if_reruns(url, args.reruns)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    (out / "scoring.json").write_text(json.dumps(results, indent=2, default=str), encoding="utf-8")
    base = results["baseline_page"]["rerun_median"]
    sc, page = results["scoring"], results["page"]
    print(f"{sc['partners']:,} partners, {sc['lanes']} lanes, {sc['answers']:,} answers; partners by risk "
          f"{sc['distribution']}, lanes {sc['lane_distribution']}; the what-if moved {sc['what_if_moved']:,} partners")
    print(f"| measure ({args.partners:,} partners, {args.lanes} lanes) | seconds | target | ratio to baseline |")
    print("|---|---|---|---|")
    print(f"| trivial page rerun (baseline) | {base:.3f} | | 1.0 |")
    rows = [("full re-score, pure scoring of loaded inputs: median (max)", sc["score"], "≤ 0.5"),
            ("what-if: the same call with another configuration: median (max)", sc["what_if"], "≤ 0.5"),
            ("load the inputs from the database: median (max)", sc["load"], ""),
            ("load and score (CLI, fresh page): median (max)", sc["load_and_score"], "")]
    for label, r, target in rows:
        print(f"| {label} | {r['median']:.3f} ({r['max']:.3f}) | {target} | {r['median'] / base:.0f} |")
    plain = sc["select_answers"]
    print(f"| plain SELECT of every answer row (baseline for loading): median (max) | {plain['median']:.3f} "
          f"({plain['max']:.3f}) | | loading the inputs takes {sc['load']['median'] / plain['median']:.1f}x it |")
    print(f"| Risk scoring page first run | {page['first_run']:.3f} | | |")
    print(f"| Risk scoring page, what-if input moved, rerun: median of {args.reruns} (max) | "
          f"{page['rerun_median']:.3f} ({page['rerun_max']:.3f}) | ≤ 0.3 | {page['rerun_median'] / base:.0f} |")
    print(f"| Risk scoring page, what-if input set to a value not tried before, rerun: median of {args.reruns} (max) | "
          f"{page['new_value_median']:.3f} ({page['new_value_max']:.3f}) | ≤ 0.3 | "
          f"{page['new_value_median'] / base:.0f} |")


if __name__ == "__main__":
    main()
