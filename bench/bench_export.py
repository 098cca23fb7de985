"""Export benchmark: the Excel questionnaires of a cycle, against openpyxl's write-only mode as the baseline.

Run: .venv/bin/python bench/bench_export.py [--partners 700] [--runs 5]
Seeds a demo database in a temporary folder, then times (median of the runs, wall and CPU) one workbook holding every
questionnaire of the open cycle, one file per partner for the whole cycle, and, as a baseline in the same run, the
same answer rows written cell by cell through openpyxl's write-only mode. Prints a markdown table.
"""

import argparse
import io
import statistics
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from openpyxl import Workbook, load_workbook  # noqa: E402
from sqlmodel import Session, select  # noqa: E402

from models import Assignment, Cycle  # noqa: E402
from services.core import db  # noqa: E402
from services.demo import generator as demo  # noqa: E402
from services.exports import workbook  # noqa: E402
from services.exports.safe import sheet_cell  # noqa: E402
from services.reference import loader as reference  # noqa: E402


def _timed(fn, runs: int) -> tuple[float, float, object]:
    walls, cpus, result = [], [], None
    for _ in range(runs):
        wall, cpu = time.perf_counter(), time.process_time()
        result = fn()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return statistics.median(walls), statistics.median(cpus), result


def _write_only(rows: list[tuple]) -> bytes:
    """The baseline: the same rows through openpyxl's write-only mode, one cell object per value."""
    book = Workbook(write_only=True)
    sheet = book.create_sheet("Answers")
    for row in rows:
        sheet.append([sheet_cell(sheet, value) for value in row])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--partners", type=int, default=700)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        engine = db.make_engine(f"sqlite:///{Path(folder) / 'bench.db'}")
        db.upgrade(engine)
        with db.session_scope(engine) as s:
            reference.load_reference_data(session=s)
            demo.seed_demo(session=s, partners=args.partners, seed=5, today=date(2026, 11, 16))
        with Session(engine) as s:
            cycle = s.exec(select(Cycle).where(Cycle.status == "open")).one()
            ids = s.exec(select(Assignment.id).where(Assignment.cycle_id == cycle.id)).all()
            one = _timed(lambda: workbook.questionnaire_workbook(session=s, assignment_ids=ids), args.runs)
            each = _timed(lambda: workbook.cycle_workbooks(session=s, cycle_id=cycle.id), args.runs)
        rows = [tuple(c.value for c in row) for row in load_workbook(io.BytesIO(one[2]))["Answers"].iter_rows()]
        base = _timed(lambda: _write_only(rows), args.runs)
        engine.dispose()
    print(f"{len(rows) - 1:,} answer rows, {len(ids):,} questionnaires, {len(each[2]):,} files; "
          f"median of {args.runs} runs\n")
    print("| export | wall | CPU | CPU vs baseline |\n|---|---|---|---|")
    for name, (wall, cpu, _) in (("one workbook, every questionnaire", one), ("one file per partner", each),
                                 ("baseline: same rows, openpyxl write-only", base)):
        print(f"| {name} | {wall:.2f} s | {cpu:.2f} s | {cpu / base[1]:.2f} |")


if __name__ == "__main__":
    main()
