"""Action plan benchmark: generating action items for every gap (and lane flag, incident and threat) at demo scale.

Run: .venv/bin/python bench/bench_actions.py [--partners 10000] [--repeat 3] [--url postgresql+psycopg://...]
Prints a markdown table and writes bench/results/actions-<backend>.json. The baseline, measured in the same run, is
the database work generation cannot avoid, done without any of its logic: one plain SELECT of its main input (the gap
answers of every partner's latest accepted questionnaire, as driver tuples) plus one plain executemany INSERT of the
very rows generation writes (prepared beforehand, rolled back). Generation's ratio to that floor is the stable figure
on a noisy machine.

Target (issue 9): generating actions for all gaps at 10,000 partners and 1.2 million answers in at most 5 s.
"""

import argparse
import json
import sys
import tempfile
import time
import uuid
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import pandas as pd  # noqa: E402
from sqlalchemy import create_engine, text  # noqa: E402
from sqlmodel import Session  # noqa: E402

from bench.support import timed  # noqa: E402
from models.common import Role  # noqa: E402
from services.actions import generate  # noqa: E402
from services.core import db  # noqa: E402
from services.core.permissions import Actor  # noqa: E402
from services.demo import generator as demo  # noqa: E402
from services.reference import loader as reference  # noqa: E402

BENCH = Actor("bench", Role.admin)



def _database(url: str | None, tmp: str) -> tuple[str, callable]:
    """A fresh database: SQLite in `tmp`, or a throw-away database on the PostgreSQL server of `url`."""
    if not url:
        return f"sqlite:///{tmp}/bench.db", lambda: None
    name = f"ctpat_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()

    return admin.url.set(database=name).render_as_string(hide_password=False), drop


# Generation's main input, as plain SQL: the gap answers ("no", "partial") of each partner's latest accepted cycle.
_INPUTS = """
SELECT a.partner_id, n.criterion_id, n.value, n.comment, a.reviewed_at
FROM answer n
JOIN assignment a ON a.id = n.assignment_id
JOIN (SELECT partner_id, max(cycle_id) AS cycle_id FROM assignment WHERE status = 'accepted' GROUP BY partner_id) l
  ON l.partner_id = a.partner_id AND l.cycle_id = a.cycle_id
WHERE a.status = 'accepted' AND n.is_current AND n.value IN ('no', 'partial')
"""


def _plain(value: object) -> object:
    """A frame's value as the driver takes it (numpy and pandas scalars to Python, missing to None)."""
    if value is None or value is pd.NA or value is pd.NaT or (isinstance(value, float) and value != value):
        return None
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    return value.item() if hasattr(value, "item") and not isinstance(value, str) else value


def _plain_insert(session: Session, today: date) -> tuple[str, list[tuple]]:
    """The INSERT generation makes into an empty plan, as one statement and its rows of plain values (prepared here,
    untimed, so the timing is the database's work only)."""
    causes = generate.all_causes(session=session, today=today)
    plan = generate.plan_changes(session=session, causes=causes)
    frame = generate._rows(plan.new, actor=BENCH, today=today, owners=generate.partner_owners(session=session),
                           default_owner=None)
    frame["source"] = frame["source"].astype(str)
    frame["status"] = frame["status"].astype(str)
    mark = "?" if session.connection().dialect.paramstyle == "qmark" else "%s"
    sql = (f"INSERT INTO actionitem ({', '.join(frame.columns)}) "
           f"VALUES ({', '.join([mark] * len(frame.columns))})")
    return sql, [tuple(_plain(v) for v in row) for row in frame.astype(object).itertuples(index=False)]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--partners", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--url", help="a PostgreSQL server URL (default: SQLite in a temporary folder)")
    args = parser.parse_args()
    today = date.today()
    with tempfile.TemporaryDirectory() as tmp:
        url, drop = _database(args.url, tmp)
        engine = db.make_engine(url)
        try:
            db.upgrade(engine)
            with db.session_scope(engine) as s:
                reference.load_reference_data(session=s)
                started = time.perf_counter()
                demo.seed_demo(session=s, partners=args.partners, seed=2027)
            seeding = time.perf_counter() - started
            with Session(engine) as s:
                answers = s.execute(text("SELECT count(*) FROM answer")).scalar_one()
                read_floor, _ = timed(lambda: s.connection().exec_driver_sql(_INPUTS).fetchall(), args.repeat)
                sql, rows = _plain_insert(s, today)
                s.rollback()

            def plain_insert() -> None:
                with Session(engine) as s:
                    s.connection().exec_driver_sql(sql, rows)
                    s.rollback()

            write_floor, _ = timed(plain_insert, args.repeat)
            with Session(engine) as s:
                gaps, found = timed(lambda: generate.gap_causes(session=s), args.repeat)
                causes_time, causes = timed(lambda: generate.all_causes(session=s, today=today), args.repeat)

            def first_run() -> generate.Report:
                with Session(engine) as s:
                    report = generate.generate(session=s, actor=BENCH, today=today)
                    s.rollback()  # every repeat starts from an empty plan
                    return report

            first, report = timed(first_run, args.repeat)
            with db.session_scope(engine) as s:
                generate.generate(session=s, actor=BENCH, today=today)
            with Session(engine) as s:
                again, repeat_report = timed(lambda: generate.generate(session=s, actor=BENCH, today=today),
                                              args.repeat)
                s.rollback()
        finally:
            engine.dispose()
            drop()
    baseline = read_floor + write_floor
    rows = {
        "plain SELECT of the gap answers of the latest accepted questionnaires": read_floor,
        f"plain executemany INSERT of the same {len(rows):,} items": write_floor,
        "baseline: the SELECT plus the INSERT": baseline,
        "gap causes (latest accepted answers x applicability)": gaps,
        "all causes (gaps, lane flags, incidents, threats)": causes_time,
        "generate, empty plan (reads + bulk INSERT)": first,
        "generate again (nothing new: idempotent)": again,
    }
    backend = "PostgreSQL" if args.url else "SQLite"
    print(f"{backend}: {args.partners:,} partners, {answers:,} answers (seeded in {seeding:.1f} s); "
          f"{len(found):,} gap causes, {len(causes):,} causes; {report.total:,} items created "
          f"({report.created}); second run created {repeat_report.total}; median of {args.repeat}\n")
    print("| step | seconds | × baseline |\n|---|---|---|")
    for name, seconds in rows.items():
        print(f"| {name} | {seconds:.3f} | {seconds / baseline:.1f} |")
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    (out / f"actions-{backend.lower()}.json").write_text(json.dumps({
        "partners": args.partners, "answers": answers, "gap_causes": len(found), "causes": len(causes),
        "created": report.created, "seconds": rows}, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
