"""What the benchmarks share: timing a step the same way in each."""

import statistics
import time


def timed(fn, repeat: int) -> tuple[float, object]:
    """The median seconds of `repeat` calls of fn, and the last call's result."""
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result
