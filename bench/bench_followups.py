"""Follow-up benchmark (issue 10): queue everything due over a demo company with an open cycle and certificates.

Run: .venv/bin/python bench/bench_followups.py [--partners 10000] [--repeat 3]
Prints a markdown table and writes bench/results/followups.json. The baseline, measured in the same run, is one
plain SELECT of the open cycle's assignments with their partners (the floor for any rule that looks at them all).
Target: `send-followups` without sending (the dry run: certificate sweep + every rule + holds) under 10 s at 10,000
partners, with one query per rule, not one per partner.
"""

import argparse
import json
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import event, text  # noqa: E402

from bench.support import demo_engine, timed  # noqa: E402
from models.common import Role  # noqa: E402
from services.core.config import SmtpSettings  # noqa: E402
from services.core.permissions import Actor  # noqa: E402
from services.followups import runner  # noqa: E402

BENCH = Actor("bench", Role.admin)



def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--partners", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    today = date.today()
    with tempfile.TemporaryDirectory() as tmp:
        engine = demo_engine(f"{tmp}/bench.db", args.partners)
        statements = []
        event.listen(engine, "before_cursor_execute", lambda *a, **k: statements.append(1))
        with engine.connect() as conn:
            assignments = conn.execute(text(
                "SELECT count(*) FROM assignment a JOIN cycle c ON c.id = a.cycle_id WHERE c.status = 'open'")
            ).scalar_one()
            baseline, _ = timed(lambda: conn.execute(text(
                "SELECT a.*, p.* FROM assignment a JOIN cycle c ON c.id = a.cycle_id JOIN partner p ON "
                "p.id = a.partner_id WHERE c.status = 'open'")).all(), args.repeat)
        statements.clear()
        dry, report = timed(lambda: runner.run(engine=engine, actor=BENCH, today=today, dry_run=True,
                                                smtp=SmtpSettings()), args.repeat)
        dry_statements = len(statements) // args.repeat
        start = time.perf_counter()
        queued = runner.run(engine=engine, actor=BENCH, today=today, send=False, smtp=SmtpSettings())
        first = time.perf_counter() - start
        start = time.perf_counter()
        again = runner.run(engine=engine, actor=BENCH, today=today, send=False, smtp=SmtpSettings())
        second = time.perf_counter() - start
        engine.dispose()
    result = {
        "partners": args.partners, "open_assignments": assignments, "baseline_s": baseline, "dry_run_s": dry,
        "dry_run_statements": dry_statements, "dry_run_queued": report.queued.queued,
        "dry_run_held": report.queued.held, "queue_s": first, "queued": queued.queued.queued,
        "second_run_s": second, "second_run_queued": again.queued.queued, "target_s": 10,
    }
    print(f"| measure ({args.partners:,} partners, {assignments:,} open questionnaires) | seconds | x baseline |")
    print("|---|---|---|")
    print(f"| baseline: one SELECT of the open cycle's assignments with partners | {baseline:.3f} | 1.0 |")
    print(f"| `send-followups --dry-run` (sweep + every rule + holds; {dry_statements} statements) | {dry:.3f} | "
          f"{dry / baseline:.0f} |")
    print(f"| first real run without sending (queues {sum(queued.queued.queued.values()):,}) | {first:.3f} | "
          f"{first / baseline:.0f} |")
    print(f"| second run (queues {sum(again.queued.queued.values()):,}) | {second:.3f} | {second / baseline:.0f} |")
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "followups.json").write_text(json.dumps(result, indent=2, default=str))


if __name__ == "__main__":
    main()
