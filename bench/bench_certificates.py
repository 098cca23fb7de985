"""Certificate rule benchmark: whether every certificate counts today, at demo scale, and opening a cycle with
exemptions decided by the rule.

Run: .venv/bin/python bench/bench_certificates.py [--partners 10000] [--repeat 5]
Prints a markdown table and writes bench/results/certificates.json. The baseline, measured in the same run, is
reading the same certificate rows with one plain SELECT (the floor for any rule that looks at them all).
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

from sqlalchemy import text  # noqa: E402

from bench.support import demo_engine  # noqa: E402
from models.common import Role  # noqa: E402
from services.certificates import rule  # noqa: E402
from services.collection import cycles  # noqa: E402
from services.core import db  # noqa: E402
from services.core.permissions import Actor  # noqa: E402

BENCH = Actor("bench", Role.admin)


def _median(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--partners", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    today = date.today()
    with tempfile.TemporaryDirectory() as tmp:
        engine = demo_engine(f"{tmp}/bench.db", args.partners)
        with db.session_scope(engine) as s:
            certificates = s.execute(text("SELECT count(*) FROM certificate")).scalar_one()
            baseline = _median(lambda: s.execute(text("SELECT * FROM certificate")).all(), args.repeat)
            quiet = _median(lambda: rule.counts_on(session=s, day=today, words=False), args.repeat)
            words = _median(lambda: rule.counts_on(session=s, day=today), args.repeat)
            coverage = _median(lambda: rule.partner_coverage(session=s, day=today), args.repeat)

        def open_cycle(exempt: bool) -> None:
            with db.session_scope(engine) as s:
                cycles.open_cycle(session=s, actor=BENCH, name=f"bench {time.perf_counter()}",
                                  due_date=today + timedelta(days=60), exempt_certified=exempt)
                s.rollback()

        plain = _median(lambda: open_cycle(False), args.repeat)
        exempting = _median(lambda: open_cycle(True), args.repeat)
        engine.dispose()
    rows = {
        "plain SELECT of the certificates (baseline)": baseline,
        "counts_on, words=False (scoring credit)": quiet,
        "counts_on with the reasons in words": words,
        "partner_coverage (best certificate per partner)": coverage,
        "open_cycle without exemptions": plain,
        "open_cycle with exemptions by the rule": exempting,
    }
    print(f"{args.partners:,} partners, {certificates:,} certificates, median of {args.repeat}\n")
    print("| step | seconds | × baseline |\n|---|---|---|")
    for name, seconds in rows.items():
        ratio = seconds / baseline if "open_cycle" not in name else seconds / plain
        print(f"| {name} | {seconds:.3f} | {ratio:.1f} |")
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    (out / "certificates.json").write_text(json.dumps({"partners": args.partners, "certificates": certificates,
                                                        "seconds": rows}, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
