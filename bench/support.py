"""What the benchmarks share: timing a step the same way in each, and a demo company in a fresh SQLite file."""

import statistics
import time

from sqlalchemy import Engine

from services.core import db
from services.demo import generator as demo
from services.reference import loader as reference


def timed(fn, repeat: int) -> tuple[float, object]:
    """The median seconds of `repeat` calls of fn, and the last call's result."""
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def demo_engine(path: str, partners: int) -> Engine:
    """A migrated SQLite database at `path` with the reference data and a demo company of `partners` partners."""
    engine = db.make_engine(f"sqlite:///{path}")
    db.upgrade(engine)
    with db.session_scope(engine) as s:
        reference.load_reference_data(session=s)
        demo.seed_demo(session=s, partners=partners, seed=2027)
    return engine
