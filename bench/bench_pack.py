"""Validation pack benchmark: `manage.py export-pack` on demo data, time and peak memory, against reading the same
answers into pandas as the baseline.

Run: .venv/bin/python bench/bench_pack.py [--partners 2000 10000] [--evidence 200]
For each size: seeds a demo database (partners, certificates, two cycles of answers, lanes) in a temporary folder,
adds `--evidence` evidence files of 200 kB to answers, then runs the real command in a subprocess and reports its
wall time and peak RSS (the child's own VmHWM) and the pack's size. The baseline, in the same run, is one
query reading every current answer into a DataFrame (the least any export of them costs). Memory is bounded when
the peak RSS stays about the same as the partners (and rows) grow. Prints a markdown table.
"""

import argparse
import os
import subprocess
import sys
import tempfile
import time
import zipfile
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import pandas as pd  # noqa: E402
from sqlmodel import Session, col, select  # noqa: E402

from models import Answer, Evidence  # noqa: E402
from services.collection.evidence import store_file  # noqa: E402
from services.core import db  # noqa: E402
from services.demo import generator as demo  # noqa: E402
from services.reference import loader as reference  # noqa: E402

TODAY = date(2027, 3, 1)


def _seed(url: str, partners: int, evidence: int) -> int:
    engine = db.make_engine(url)
    db.upgrade(engine)
    with Session(engine) as session:
        reference.load_reference_data(session=session)
        session.commit()
        demo.seed_demo(session=session, partners=partners, today=TODAY)
        answers = session.exec(select(Answer).where(col(Answer.is_current)).order_by(Answer.id).limit(evidence)).all()
        for number, answer in enumerate(answers):
            data = b"%PDF-1.4\n" + os.urandom(200_000) + f"\n{number}\n%%EOF\n".encode()
            sha256, name, kind = store_file(filename=f"evidence {number}.pdf", data=data)
            session.add(Evidence(assignment_id=answer.assignment_id, criterion_id=answer.criterion_id, filename=name,
                                 content_type=kind, size_bytes=len(data), sha256=sha256, uploaded_by="bench"))
        session.commit()
        count = session.exec(select(Answer.id).where(col(Answer.is_current))).all()
    engine.dispose()
    return len(count)


def _baseline(url: str) -> float:
    engine = db.make_engine(url)
    start = time.perf_counter()
    with engine.connect() as conn:
        frame = pd.read_sql(select(Answer.assignment_id, Answer.criterion_id, Answer.value, Answer.comment,
                                   Answer.answered_on, Answer.recorded_at).where(col(Answer.is_current)), conn)
    elapsed = time.perf_counter() - start
    engine.dispose()
    assert len(frame)
    return elapsed


# The child reports its own peak (VmHWM of its memory after exec): getrusage's ru_maxrss of a child also counts the
# benchmark's memory it was forked from.
_PEAK = ("import runpy, sys\ntry:\n    sys.argv = ['manage.py', *sys.argv[1:]]\n    runpy.run_path('manage.py', "
         "run_name='__main__')\nfinally:\n    print(next(line for line in open('/proc/self/status') "
         "if line.startswith('VmHWM')), file=sys.stderr)\n")


def _export(url: str, data_dir: str, out: Path) -> tuple[float, float]:
    env = {**os.environ, "CTPAT_DATABASE_URL": url, "CTPAT_DATA_DIR": data_dir, "CTPAT_DEMO": "0",
           "CTPAT_ADMIN_PASSWORD": "bench-password-123456"}
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", _PEAK, "export-pack", "--out", str(out), "--as-of",
                           TODAY.isoformat(), "--quiet"], cwd=ROOT, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    assert done.returncode == 0, done.stderr
    peak_kb = int(done.stderr.strip().splitlines()[-1].split()[1])
    return elapsed, peak_kb / 1024


def _seed_in_child(url: str, partners: int, evidence: int, folder: str) -> int:
    """Seeds in a child process, so that this one stays small."""
    done = subprocess.run([sys.executable, __file__, "--seed-only", url, str(partners), str(evidence)], cwd=ROOT,
                          env={**os.environ, "CTPAT_DATA_DIR": folder}, capture_output=True, text=True, check=True)
    return int(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--partners", type=int, nargs="+", default=[2000, 10000])
    parser.add_argument("--evidence", type=int, default=200)
    parser.add_argument("--seed-only", nargs=3, metavar=("URL", "PARTNERS", "EVIDENCE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.seed_only:
        url, partners, evidence = args.seed_only
        print(_seed(url, int(partners), int(evidence)))
        return
    print("| partners | answers in pack | baseline: read answers | export-pack (wall) | ratio | peak RSS | pack size |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    for partners in args.partners:
        with tempfile.TemporaryDirectory() as folder:
            os.environ["CTPAT_DATA_DIR"] = folder
            url = f"sqlite:///{Path(folder) / 'bench.db'}"
            start = time.perf_counter()
            answers = _seed_in_child(url, partners, args.evidence, folder)
            seeded = time.perf_counter() - start
            out = Path(folder) / "pack.zip"
            wall, peak = _export(url, folder, out)
            baseline = _baseline(url)
            with zipfile.ZipFile(out) as z:
                files = sum(1 for n in z.namelist() if n.startswith("evidence/") and not n.endswith(".txt"))
            print(f"| {partners:,} | {answers:,} | {baseline:.1f} s | {wall:.1f} s | {wall / baseline:.0f}x | "
                  f"{peak:,.0f} MB | {out.stat().st_size / 1e6:,.0f} MB ({files} evidence files) |", flush=True)
            print(f"<!-- seeding took {seeded:.0f} s -->", flush=True)


if __name__ == "__main__":
    main()
