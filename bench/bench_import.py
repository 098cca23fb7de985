"""Answer import benchmark: 1,200,000 answers from one CSV against plain executemany; a 50,000-answer .xlsx.

Run: .venv/bin/python bench/bench_import.py [--partners 10000] [--answers-per-partner 120] [--xlsx-answers 50000]

(a) baseline: plain sqlite3 executemany of the same answer rows into the `answer` table of a fresh migrated SQLite
database (WAL, synchronous=NORMAL, foreign keys on, as services.db sets them); (b) the full import (read + validate
+ preview + apply + commit) of the CSV into another fresh database. Both run in this same invocation, each in its
own process so that its peak memory (ru_maxrss) is its own. No entity type has 120 applicable criteria (at most
93), so the partner count is raised to keep the number of answers (partners x answers per partner); the note in
the output says so. Prints a markdown table and writes bench/results/import-<time>.json.
"""

import argparse
import json
import os
import platform
import random
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import date, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import pandas as pd  # noqa: E402
from openpyxl import Workbook  # noqa: E402
from sqlalchemy import insert  # noqa: E402
from sqlmodel import select  # noqa: E402

from models import Assignment, Criterion, CriterionText, Cycle, Partner  # noqa: E402
from models.collection import AnswerValue  # noqa: E402
from models.common import Role, utcnow  # noqa: E402
from services.collection import rules  # noqa: E402
from services.core import db  # noqa: E402
from services.core.permissions import Actor  # noqa: E402
from services.imports.answers import apply_responses, preview_responses  # noqa: E402
from services.reference import criteria  # noqa: E402
from services.reference import loader as reference  # noqa: E402

RESULTS = ROOT / "bench" / "results"
ACTOR = Actor("bench", Role.analyst)
CYCLE = "2027 annual review"
# Entity types with the most applicable criteria, so each partner answers as many questions as possible.
ENTITY_TYPES = ("Importer", "Highway Carrier", "Sea Carrier")
ANSWER_MIX = (("yes", 0.80), ("partial", 0.08), ("no", 0.05), ("na", 0.07))


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def fresh_database(path: Path, partners: int, prefix: str) -> str:
    """A migrated SQLite file with reference data, `partners` partners and one open cycle assigning them all."""
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    url = f"sqlite:///{path}"
    engine = db.make_engine(url)
    db.upgrade(engine)
    now = utcnow()
    with db.session_scope(engine) as session:
        reference.load_reference_data(session=session)
        if partners:
            session.exec(insert(Partner), params=[{
                "partner_code": f"{prefix}{i:06d}", "legal_name": f"Partner {i}", "normalized_name": f"partner {i}",
                "entity_type": ENTITY_TYPES[i % len(ENTITY_TYPES)], "country_iso2": "CN", "created_at": now,
                "updated_at": now} for i in range(partners)])
            cycle = Cycle(name=CYCLE, due_date=date(2027, 1, 31), created_by="bench", created_at=now)
            session.add(cycle)
            session.flush()
            ids = session.exec(select(Partner.id)).all()
            session.exec(insert(Assignment), params=[{"cycle_id": cycle.id, "partner_id": pid, "status": "sent",
                                                      "updated_at": now} for pid in ids])
    engine.dispose()
    return url


def questionnaires(url: str) -> dict[str, pd.DataFrame]:
    """Entity type -> its applicable criteria (questionnaire order) with category, requirement, question."""
    engine = db.make_engine(url)
    with db.session_scope(engine) as session:
        texts = dict(session.exec(select(CriterionText.criterion_id, CriterionText.question)
                                  .where(CriterionText.language == "en", CriterionText.entity_type == "")).all())
        categories = dict(session.exec(select(Criterion.criterion_id, Criterion.category)).all())
        out = {}
        for entity in ENTITY_TYPES:
            frame = criteria.criteria_for_entity_type(session=session, entity_type=entity)
            frame = frame.loc[frame["asked_by_default"] == "yes", ["criterion_id", "requirement"]].copy()  # in China
            frame["category"] = frame["criterion_id"].map(categories)
            frame["question"] = frame["criterion_id"].map(texts)
            out[entity] = frame.reset_index(drop=True)
    engine.dispose()
    return out


def answer_rows(sets: dict[str, pd.DataFrame], partners: int, total: int, prefix: str, seed: int) -> pd.DataFrame:
    """`total` answers, each partner answering its questionnaire in order (the last one possibly in part)."""
    rng = random.Random(seed)
    parts, left = [], total
    for i in range(partners):
        questions = sets[ENTITY_TYPES[i % len(ENTITY_TYPES)]].iloc[:left]
        parts.append(questions.assign(partner_code=f"{prefix}{i:06d}"))
        left -= len(questions)
        if left == 0:
            break
    frame = pd.concat(parts, ignore_index=True)
    values, weights = zip(*ANSWER_MIX, strict=True)
    frame["answer"] = rng.choices(values, weights, k=len(frame))
    needs = rules.comment_required_mask(frame["answer"], frame["requirement"])  # partial, no; n/a on a must
    frame["comment"] = ""
    frame.loc[needs, "comment"] = "Procedure being rolled out at the second plant; due next quarter."
    not_applicable = needs & frame["answer"].eq(AnswerValue.na).to_numpy()
    frame.loc[not_applicable, "comment"] = "Not done at this site: the forwarder does it."
    frame["answered_on"] = "2026-11-15"
    return frame


def phase_baseline(args: argparse.Namespace) -> dict:
    """Plain executemany of the same rows (prepared before the clock starts) into the answer table."""
    rows = pd.read_csv(args.csv, dtype=str, keep_default_na=False)
    conn = sqlite3.connect(args.db)
    for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "foreign_keys=ON", "busy_timeout=15000"):
        conn.execute(f"PRAGMA {pragma}")
    assignment = dict(conn.execute("SELECT p.partner_code, a.id FROM assignment a JOIN partner p "
                                   "ON p.id = a.partner_id").fetchall())
    now = datetime.now().isoformat(sep=" ", timespec="microseconds")
    params = list(zip(rows["partner_code"].map(assignment).tolist(), rows["criterion_id"].tolist(),
                      rows["answer"].tolist(), rows["comment"].tolist(), rows["answered_on"].tolist(),
                      ["file"] * len(rows), [ACTOR.username] * len(rows), [now] * len(rows), [1] * len(rows),
                      strict=True))
    del rows
    start, cpu = time.perf_counter(), time.process_time()
    conn.executemany("INSERT INTO answer (assignment_id, criterion_id, value, comment, answered_on, source, "
                     "answered_by, recorded_at, is_current) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", params)
    conn.commit()
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    count = conn.execute("SELECT count(*) FROM answer").fetchone()[0]
    conn.close()
    return {"seconds": seconds, "cpu_seconds": cpu, "rows": count, "peak_mb": _peak_mb()}


def phase_import(args: argparse.Namespace) -> dict:
    """The full import: read the file, validate, preview, apply and commit, as the app and the CLI do it."""
    engine = db.make_engine(f"sqlite:///{args.db}")
    with db.session_scope(engine) as session:  # warm the connection and migrations check out of the clock
        cycle_id = session.exec(select(Cycle.id).where(Cycle.name == CYCLE)).one()
    marks = {}
    start, cpu = time.perf_counter(), time.process_time()
    data = Path(args.file).read_bytes()
    with db.session_scope(engine) as session:
        preview = preview_responses(session=session, files=[(Path(args.file).name, data)], cycle_id=cycle_id)
        marks["preview"] = time.perf_counter() - start
        if preview.has_errors:
            raise SystemExit(f"benchmark file has errors: {preview.problems.head(5).to_dict('records')}")
        apply_responses(session=session, actor=ACTOR, preview=preview)
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    with db.session_scope(engine) as session:
        count = session.connection().exec_driver_sql("SELECT count(*) FROM answer").scalar()
    engine.dispose()
    return {"seconds": seconds, "cpu_seconds": cpu, "preview_seconds": marks["preview"],
            "apply_seconds": seconds - marks["preview"],
            "rows": count, "new": preview.totals["new"], "peak_mb": _peak_mb()}


def write_xlsx(frame: pd.DataFrame, path: Path) -> None:
    """The layout of the app's Excel export: Instructions first, then Answers in long form, ids as text."""
    book = Workbook(write_only=True)
    instructions = book.create_sheet("Instructions")
    instructions.append(["Answer each question in column 'answer': yes, partial, no or n/a. A comment is required "
                         "for partial and no. Do not change partner_code or criterion_id."])
    sheet = book.create_sheet("Answers")
    columns = ["partner_code", "criterion_id", "category", "requirement", "question", "answer", "comment",
               "answered_on"]
    sheet.append(columns)
    for row in frame[columns].itertuples(index=False, name=None):
        sheet.append(list(row))
    book.save(path)


def _median(runs: list[dict]) -> dict:
    """The run with the median time (of an odd number of runs; the faster middle one otherwise)."""
    ordered = sorted(runs, key=lambda r: r["seconds"])
    return ordered[(len(ordered) - 1) // 2]


def run_phase(phase: str, **options) -> dict:
    argv = [sys.executable, __file__, "--phase", phase]
    for key, value in options.items():
        argv += [f"--{key}", str(value)]
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"phase {phase} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--partners", type=int, default=10_000)
    parser.add_argument("--answers-per-partner", type=int, default=120)
    parser.add_argument("--xlsx-answers", type=int, default=50_000)
    parser.add_argument("--repeat", type=int, default=1, help="runs of (a) and (b), alternating; medians are reported")
    parser.add_argument("--workdir", type=Path, default=None, help="where the databases and files go (default: temp)")
    parser.add_argument("--phase", choices=["baseline", "import"], help=argparse.SUPPRESS)
    parser.add_argument("--db", help=argparse.SUPPRESS)
    parser.add_argument("--csv", help=argparse.SUPPRESS)
    parser.add_argument("--file", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phase:
        result = phase_baseline(args) if args.phase == "baseline" else phase_import(args)
        print(json.dumps(result))
        return

    work = args.workdir or Path(tempfile.mkdtemp(prefix="ctpat-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    total = args.partners * args.answers_per_partner
    probe = fresh_database(work / "probe.db", 0, "X")
    sets = questionnaires(probe)
    per_partner = min(args.answers_per_partner, min(len(s) for s in sets.values()))
    partners = -(-total // per_partner)
    note = "" if per_partner == args.answers_per_partner else (
        f"At most {per_partner} criteria apply to one partner ({', '.join(ENTITY_TYPES)}), not "
        f"{args.answers_per_partner}: {partners:,} partners x {per_partner} answers keep {total:,} answers.")
    if note:
        print(note)

    print(f"Preparing {total:,} answers for {partners:,} partners in {work} ...", flush=True)
    frame = answer_rows(sets, partners, total, "P", seed=2027)
    csv_path = work / "answers.csv"
    frame[["partner_code", "criterion_id", "answer", "comment", "answered_on"]].to_csv(csv_path, index=False)
    baselines, imports = [], []
    for run in range(1, args.repeat + 1):  # alternating, so that a noisy neighbour hurts both alike
        baseline_db, import_db = work / "baseline.db", work / "import.db"
        fresh_database(baseline_db, partners, "P")
        fresh_database(import_db, partners, "P")
        print(f"Run {run}: (a) sqlite3 executemany ...", flush=True)
        baselines.append(run_phase("baseline", db=baseline_db, csv=csv_path))
        print(f"Run {run}: (b) full import of the CSV ...", flush=True)
        imports.append(run_phase("import", db=import_db, file=csv_path))
    baseline, imported = _median(baselines), _median(imports)

    xlsx_partners = -(-args.xlsx_answers // per_partner)
    xlsx_frame = answer_rows(sets, xlsx_partners, args.xlsx_answers, "X", seed=7)
    xlsx_path = work / "answers.xlsx"
    write_xlsx(xlsx_frame, xlsx_path)
    xlsx_db = work / "xlsx.db"
    fresh_database(xlsx_db, xlsx_partners, "X")
    print(f"Import of a {args.xlsx_answers:,}-answer .xlsx ...", flush=True)
    xlsx = run_phase("import", db=xlsx_db, file=xlsx_path)

    ratio = imported["seconds"] / baseline["seconds"]
    cpu_ratio = imported["cpu_seconds"] / baseline["cpu_seconds"]
    result = {
        "at": datetime.now().isoformat(timespec="seconds"), "answers": total, "partners": partners,
        "answers_per_partner": per_partner, "note": note, "csv_mb": csv_path.stat().st_size / 1e6,
        "xlsx_mb": xlsx_path.stat().st_size / 1e6, "baseline": baseline, "import": imported,
        "runs": {"baseline": baselines, "import": imports},
        "ratio": ratio, "cpu_ratio": cpu_ratio, "ratio_target": 2.0, "xlsx": xlsx, "xlsx_answers": args.xlsx_answers,
        "xlsx_target_s": 15,
        "machine": {"python": platform.python_version(), "sqlite": sqlite3.sqlite_version, "cpus": os.cpu_count(),
                    "load_average": os.getloadavg()},
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"import-{datetime.now():%Y%m%d-%H%M%S}.json"
    out.write_text(json.dumps(result, indent=2))
    print(f"""
| measure | value | target |
|---|---|---|
| answers in the CSV | {total:,} ({partners:,} partners x {per_partner}) | 1,200,000 |
| (a) sqlite3 executemany, same rows | {baseline['seconds']:.1f} s (CPU {baseline['cpu_seconds']:.1f} s) | |
| (b) full import: read + validate + preview + apply | {imported['seconds']:.1f} s \
(preview {imported['preview_seconds']:.1f} s, apply {imported['apply_seconds']:.1f} s; CPU \
{imported['cpu_seconds']:.1f} s) | |
| ratio (b) / (a){f" (medians of {args.repeat} runs)" if args.repeat > 1 else ""} | {ratio:.2f} | \
<= 2.0 {'met' if ratio <= 2 else 'NOT met'} |
| ratio of CPU times (less sensitive to other load on the machine) | {cpu_ratio:.2f} | |
| peak memory (a) / (b) | {baseline['peak_mb']:.0f} MB / {imported['peak_mb']:.0f} MB | |
| {args.xlsx_answers:,}-answer .xlsx import ({result['xlsx_mb']:.1f} MB) | {xlsx['seconds']:.1f} s \
(preview {xlsx['preview_seconds']:.1f} s), peak {xlsx['peak_mb']:.0f} MB | < 15 s \
{'met' if xlsx['seconds'] < 15 else 'NOT met'} |

Machine: Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}, {os.cpu_count()} CPUs, load average \
{', '.join(f'{x:.1f}' for x in os.getloadavg())}. Results: {out.relative_to(ROOT)}""")


if __name__ == "__main__":
    main()
