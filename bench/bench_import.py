"""Import benchmark: answers (1,200,000 from one CSV against plain executemany; 50,000 in an .xlsx), a
1,000,000-partner file through `manage.py import-partners`, and the refusal of oversized spreadsheets.

Run: .venv/bin/python bench/bench_import.py [--partners 10000] [--answers-per-partner 120] [--xlsx-answers 50000]
     [--repeat 3] [--partner-rows 1000000] [--skip-answers] [--skip-partners] [--skip-refusals]

(a) baseline: plain sqlite3 executemany of the same answer rows into the `answer` table of a fresh migrated SQLite
database (WAL, synchronous=NORMAL, foreign keys on, as services.core.db sets them); (b) the full import (read +
validate + preview + apply + commit) of the CSV into another fresh database, with the command line's limits.
Both run in this same invocation, each in its own process so that its peak memory (VmHWM) is its own, and
alternate when repeated (medians are reported). No entity type has 120 applicable criteria (at most 93), so the
partner count is raised to keep the number of answers (partners x answers per partner); the output says so.
The .xlsx import is timed the same way (median of the runs). The partner file is imported by manage.py in a
process of its own (time, peak memory, partners stored). Last, workbooks built to exhaust memory (tests/bombs.py:
the 1.6 GB zip bomb of issue 6, a sheet spanning every row and column, a shared string copied into every cell)
are read with the upload and the command-line limits in a fresh process: seconds to refuse and memory growth.
Prints markdown tables and writes bench/results/import-<time>.json.
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
from services.imports.reader import limits  # noqa: E402
from services.reference import criteria  # noqa: E402
from services.reference import loader as reference  # noqa: E402
from tests import bombs  # noqa: E402

RESULTS = ROOT / "bench" / "results"
ACTOR = Actor("bench", Role.analyst)
CYCLE = "2027 annual review"
# Entity types with the most applicable criteria, so each partner answers as many questions as possible.
ENTITY_TYPES = ("Importer", "Highway Carrier", "Sea Carrier")
ANSWER_MIX = (("yes", 0.80), ("partial", 0.08), ("no", 0.05), ("na", 0.07))


def _peak_mb() -> float:
    """This process's peak resident memory. VmHWM, not ru_maxrss: a child process inherits in ru_maxrss the peak
    of the parent that started it (Linux keeps it across exec), which would hide the child's own."""
    try:
        with open("/proc/self/status") as status:
            return next(int(line.split()[1]) for line in status if line.startswith("VmHWM")) / 1024
    except (OSError, StopIteration):
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
    with db.session_scope(engine) as session, limits.command_line():
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


def phase_upload(args: argparse.Namespace) -> dict:
    """The preview of one upload with the app's limits, as the Imports page runs it: seconds and memory growth."""
    engine = db.make_engine(f"sqlite:///{args.db}")
    with db.session_scope(engine) as session:
        cycle_id = session.exec(select(Cycle.id).where(Cycle.name == CYCLE)).one()
    data = Path(args.file).read_bytes()
    idle = _peak_mb()
    start = time.perf_counter()
    with db.session_scope(engine) as session:
        preview = preview_responses(session=session, files=[(Path(args.file).name, data)], cycle_id=cycle_id)
    seconds = time.perf_counter() - start
    engine.dispose()
    return {"seconds": seconds, "errors": preview.error_count, "new": preview.totals["new"], "idle_mb": idle,
            "peak_mb": _peak_mb(), "grew_mb": _peak_mb() - idle}


def phase_partners(args: argparse.Namespace) -> dict:
    """`manage.py import-partners FILE` in this process (its output discarded): seconds, peak memory, partners."""
    import contextlib
    import io

    import manage

    os.environ["CTPAT_DATABASE_URL"] = f"sqlite:///{args.db}"
    idle = _peak_mb()
    start, cpu = time.perf_counter(), time.process_time()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        code = manage.main(["import-partners", args.file])
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    count = sqlite3.connect(args.db).execute("SELECT count(*) FROM partner").fetchone()[0]
    return {"exit": code, "seconds": seconds, "cpu_seconds": cpu, "partners": count, "peak_mb": _peak_mb(),
            "idle_mb": idle}


def partner_file(path: Path, rows: int) -> None:
    """An ERP export of `rows` partners (vendor code, name, type, country, city, e-mail, criticality)."""
    types = ("Foreign Manufacturer", "Highway Carrier", "Sea Carrier", "Exporter", "Customs Broker", "Consolidator")
    countries = ("CN", "MX", "VN", "IN", "DE", "TR", "BD", "TH")
    with path.open("w", encoding="utf-8", newline="") as out:
        out.write("Vendor Code,Supplier Name,Type,Country,City,E-mail,Criticality\r\n")
        for i in range(rows):
            out.write(f"V-{i:07d},Supplier {i} Industrial Co. Ltd.,{types[i % 6]},{countries[i % 8]},City {i % 500},"
                      f"ops{i}@supplier.example,{('low', 'medium', 'high')[i % 3]}\r\n")


def refusals(work: Path) -> list[dict]:
    """Oversized workbooks read with each set of limits in a fresh process: seconds to refuse, memory growth."""
    built = {
        "issue-6 zip bomb, 1.6 GB of rows (9 MB on disk)": ("bomb.xlsx", lambda: bombs.unpacked_bomb(1_600_000_000)),
        "the same rows stating 200 MB": ("understated.xlsx", lambda: bombs.understated(
            bombs.unpacked_bomb(1_600_000_000), "xl/worksheets/sheet1.xml", 200_000_000)),
        "cells A1 and XFD1048576": ("corners.xlsx", bombs.sparse_corners),
        "a 32,000-character shared string in 200,000 cells": ("copies.xlsx",
                                                              lambda: bombs.shared_string_copies(200_000)),
        "largest upload accepted: 100,000 answer rows": ("largest.xlsx", lambda: bombs.xlsx(
            [bombs.HEADER_ROW, *bombs.answer_rows(limits.UPLOAD.max_rows)])),
    }
    files = []
    for label, (name, build) in built.items():
        path = work / name
        path.write_bytes(build())
        files.append((label, path))
    reads = [(path, which) for _, path in files for which in ("UPLOAD", "COMMAND_LINE")]
    results = bombs.read_in_subprocess(reads)
    out = []
    for (label, path), upload, command_line in zip(files, results[::2], results[1::2], strict=True):
        out.append({"file": label, "mb_on_disk": path.stat().st_size / 1e6, "upload": upload,
                    "command_line": command_line})
    return out


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


def run_phase(phase: str, script: Path | None = None, **options) -> dict:
    """Run one phase in a fresh process; `script` runs it with another checkout's bench_import.py instead."""
    argv = [sys.executable, str(script or __file__), "--phase", phase]
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
    parser.add_argument("--partner-rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=1, help="runs of (a) and (b), alternating; medians are reported")
    parser.add_argument("--workdir", type=Path, default=None, help="where the databases and files go (default: temp)")
    parser.add_argument("--skip-answers", action="store_true")
    parser.add_argument("--skip-partners", action="store_true")
    parser.add_argument("--skip-refusals", action="store_true")
    parser.add_argument("--compare-with", type=Path, metavar="CHECKOUT",
                        help="also run the answer imports with the code of another checkout (e.g. main before "
                             "issue 6), alternating with this one")
    parser.add_argument("--phase", choices=["baseline", "import", "partners", "upload"], help=argparse.SUPPRESS)
    parser.add_argument("--db", help=argparse.SUPPRESS)
    parser.add_argument("--csv", help=argparse.SUPPRESS)
    parser.add_argument("--file", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phase:
        phases = {"baseline": phase_baseline, "import": phase_import, "partners": phase_partners,
                  "upload": phase_upload}
        print(json.dumps(phases[args.phase](args)))
        return

    work = args.workdir or Path(tempfile.mkdtemp(prefix="ctpat-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    result: dict = {"at": datetime.now().isoformat(timespec="seconds"), "load_average_start": os.getloadavg()}
    tables = []
    if not args.skip_answers:
        result.update(answers(args, work))
        tables.append(answers_table(result, args))
    if not args.skip_partners:
        path = work / "partners.csv"
        partner_file(path, args.partner_rows)
        runs = []
        for _ in range(args.repeat):
            fresh_database(work / "partners.db", 0, "X")
            print(f"Import of {args.partner_rows:,} partners through manage.py ...", flush=True)
            runs.append(run_phase("partners", db=work / "partners.db", file=path))
        partners = _median(runs)
        result["partners"] = {**partners, "rows": args.partner_rows, "csv_mb": path.stat().st_size / 1e6,
                              "runs": runs}
        tables.append(f"""| {args.partner_rows:,}-partner CSV ({result['partners']['csv_mb']:.0f} MB) through \
`manage.py import-partners` | value |
|---|---|
| exit code, partners stored | {partners['exit']}, {partners['partners']:,} |
| seconds (CPU) | {partners['seconds']:.1f} s ({partners['cpu_seconds']:.1f} s) |
| peak memory (process) | {partners['peak_mb']:.0f} MB (of which {partners['idle_mb']:.0f} MB before the import) |""")
    if not args.skip_refusals:
        print("Workbooks built to exhaust memory, read with the upload and command-line limits ...", flush=True)
        result["refusals"] = refusals(work)
        lines = ["| file | on disk | upload limits: result, seconds, memory growth | command-line limits |",
                 "|---|---|---|---|"]
        for row in result["refusals"]:
            cells = []
            for which in ("upload", "command_line"):
                read = row[which]
                outcome = f"refused: {read['refused'][:70]}…" if read["refused"] else f"read, {read['rows']:,} rows"
                cells.append(f"{outcome} {read['seconds']:.2f} s, +{read['grew_mb']:.0f} MB")
            lines.append(f"| {row['file']} | {row['mb_on_disk']:.1f} MB | {cells[0]} | {cells[1]} |")
        tables.append("\n".join(lines))
    result["machine"] = {"python": platform.python_version(), "sqlite": sqlite3.sqlite_version, "cpus": os.cpu_count(),
                         "load_average_end": os.getloadavg()}
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"import-{datetime.now():%Y%m%d-%H%M%S}.json"
    out.write_text(json.dumps(result, indent=2))
    print("\n\n".join(["", *tables]))
    print(f"\nMachine: Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}, {os.cpu_count()} CPUs, "
          f"load average {', '.join(f'{x:.1f}' for x in result['load_average_start'])} at the start, "
          f"{', '.join(f'{x:.1f}' for x in os.getloadavg())} at the end. Results: {out.relative_to(ROOT)}")


def answers(args: argparse.Namespace, work: Path) -> dict:
    """(a) executemany and (b) the full import of the 1.2-million-answer CSV, alternating; the .xlsx import."""
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
    xlsx_partners = -(-args.xlsx_answers // per_partner)
    xlsx_frame = answer_rows(sets, xlsx_partners, args.xlsx_answers, "X", seed=7)
    xlsx_path = work / "answers.xlsx"
    write_xlsx(xlsx_frame, xlsx_path)
    baselines, imports, xlsx_runs, other_imports, other_xlsx = [], [], [], [], []
    other = args.compare_with / "bench" / "bench_import.py" if args.compare_with else None
    for run in range(1, args.repeat + 1):  # alternating, so that a noisy neighbour hurts both alike
        baseline_db, import_db, xlsx_db = work / "baseline.db", work / "import.db", work / "xlsx.db"
        fresh_database(baseline_db, partners, "P")
        fresh_database(import_db, partners, "P")
        fresh_database(xlsx_db, xlsx_partners, "X")
        print(f"Run {run}: (a) sqlite3 executemany ...", flush=True)
        baselines.append(run_phase("baseline", db=baseline_db, csv=csv_path))
        print(f"Run {run}: (b) full import of the CSV ...", flush=True)
        imports.append(run_phase("import", db=import_db, file=csv_path))
        print(f"Run {run}: import of a {args.xlsx_answers:,}-answer .xlsx ...", flush=True)
        xlsx_runs.append(run_phase("import", db=xlsx_db, file=xlsx_path))
        if other:
            fresh_database(import_db, partners, "P")
            fresh_database(xlsx_db, xlsx_partners, "X")
            print(f"Run {run}: the same two imports with {args.compare_with} ...", flush=True)
            other_imports.append(run_phase("import", other, db=import_db, file=csv_path))
            other_xlsx.append(run_phase("import", other, db=xlsx_db, file=xlsx_path))
    baseline, imported, xlsx = _median(baselines), _median(imports), _median(xlsx_runs)
    compared = {}
    if other:
        compared = {"checkout": str(args.compare_with), "import": _median(other_imports),
                    "xlsx": _median(other_xlsx), "runs": {"import": other_imports, "xlsx": other_xlsx}}
    upload_rows = limits.UPLOAD.max_rows
    upload_partners = -(-upload_rows // per_partner)
    upload_path = work / "upload.xlsx"
    write_xlsx(answer_rows(sets, upload_partners, upload_rows, "U", seed=11), upload_path)
    fresh_database(work / "upload.db", upload_partners, "U")
    print(f"Preview of the largest upload the app accepts ({upload_rows:,} answers, .xlsx) ...", flush=True)
    upload = run_phase("upload", db=work / "upload.db", file=upload_path)
    upload["mb"] = upload_path.stat().st_size / 1e6
    ratios = sorted(i["seconds"] / b["seconds"] for b, i in zip(baselines, imports, strict=True))
    return {
        "answers": total, "partners_answering": partners, "answers_per_partner": per_partner, "note": note,
        "csv_mb": csv_path.stat().st_size / 1e6, "xlsx_mb": xlsx_path.stat().st_size / 1e6, "baseline": baseline,
        "import": imported, "runs": {"baseline": baselines, "import": imports, "xlsx": xlsx_runs},
        "ratio": imported["seconds"] / baseline["seconds"], "ratios_per_run": ratios,
        "cpu_ratio": imported["cpu_seconds"] / baseline["cpu_seconds"], "ratio_target": 1.3, "xlsx": xlsx,
        "xlsx_answers": args.xlsx_answers, "xlsx_target_s": 2.0, "upload": upload, "compared": compared,
    }


def answers_table(result: dict, args: argparse.Namespace) -> str:
    baseline, imported, xlsx, upload = result["baseline"], result["import"], result["xlsx"], result["upload"]
    runs = f" (medians of {args.repeat} runs)" if args.repeat > 1 else ""
    return f"""| measure | value | target |
|---|---|---|
| answers in the CSV | {result['answers']:,} ({result['partners_answering']:,} partners x \
{result['answers_per_partner']}) | 1,200,000 |
| (a) sqlite3 executemany, same rows{runs} | {baseline['seconds']:.1f} s (CPU {baseline['cpu_seconds']:.1f} s) | |
| (b) full import: read + validate + preview + apply{runs} | {imported['seconds']:.1f} s \
(preview {imported['preview_seconds']:.1f} s, apply {imported['apply_seconds']:.1f} s; CPU \
{imported['cpu_seconds']:.1f} s) | |
| ratio (b) / (a) of the medians (per run: {', '.join(f'{r:.2f}' for r in result['ratios_per_run'])}) | \
{result['ratio']:.2f} | <= 1.3 {'met' if result['ratio'] <= 1.3 else 'NOT met'} |
| ratio of CPU times (less sensitive to other load on the machine) | {result['cpu_ratio']:.2f} | |
| peak memory (a) / (b) | {baseline['peak_mb']:.0f} MB / {imported['peak_mb']:.0f} MB | |
| {args.xlsx_answers:,}-answer .xlsx import ({result['xlsx_mb']:.1f} MB){runs} | {xlsx['seconds']:.2f} s \
(preview {xlsx['preview_seconds']:.2f} s), peak {xlsx['peak_mb']:.0f} MB | < 2 s \
{'met' if xlsx['seconds'] < 2 else 'NOT met'} |
| largest upload the app accepts: preview of {limits.UPLOAD.max_rows:,} answers in the export layout \
({upload['mb']:.1f} MB .xlsx) | {upload['seconds']:.1f} s, memory +{upload['grew_mb']:.0f} MB \
| about 300 MB {'met' if upload['grew_mb'] <= 300 else 'NOT met'} |""" + _compared_rows(result)


def _compared_rows(result: dict) -> str:
    compared = result["compared"]
    if not compared:
        return ""
    old, old_xlsx = compared["import"], compared["xlsx"]
    ratio = old["seconds"] / result["baseline"]["seconds"]
    return f"""
| (b) with {compared['checkout']}, same runs | {old['seconds']:.1f} s (preview {old['preview_seconds']:.1f} s, apply \
{old['apply_seconds']:.1f} s; CPU {old['cpu_seconds']:.1f} s); ratio to (a) {ratio:.2f} | |
| .xlsx import with {compared['checkout']}, same runs | {old_xlsx['seconds']:.2f} s (preview \
{old_xlsx['preview_seconds']:.2f} s) | |"""


if __name__ == "__main__":
    main()
