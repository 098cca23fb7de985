"""Memory probe for the app server of bench/bench_memory.py (never loaded by the app itself).

The benchmark starts `streamlit run app.py` with this folder on PYTHONPATH, so Python imports this module at
start-up. On SIGUSR1 it appends one JSON line to $MEMORY_PROBE_LOG: the process's resident memory (VmRSS, its peak
VmHWM, anonymous and file-backed parts), glibc's heap (in use, free but kept, mapped blocks), Arrow's allocator and
its bytes in use, Streamlit's cached values (st.cache_data, by function), every live pandas DataFrame's size (the
largest with their shapes), Python's allocated blocks, and the top-level packages imported since the last report.
"""

import gc
import json
import os
import signal
import sys
import time

_PATH = os.environ.get("MEMORY_PROBE_LOG")
_seen_modules: set[str] = set()


def _status() -> dict[str, int]:
    out = {}
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith(("VmRSS", "VmHWM", "RssAnon", "RssFile")):
                key, value = line.split(":")
                out[key] = int(value.split()[0]) // 1024
    return out


def _heap() -> dict[str, int]:
    from services.core import memory  # the app's own reading of glibc's heap (the app's folder is on the path now)

    heap = memory.heap_bytes() or {}
    return {f"{name}_mb": value >> 20 for name, value in heap.items()}


def _caches() -> dict[str, float]:
    from streamlit.runtime import Runtime

    sizes: dict[str, int] = {}
    stats = Runtime.instance().stats_mgr.get_stats()
    for group in stats.values() if isinstance(stats, dict) else [stats]:
        for stat in group:
            if getattr(stat, "category_name", "") == "st_cache_data":
                sizes[stat.cache_name] = sizes.get(stat.cache_name, 0) + stat.byte_length
    return {name: round(size / 2**20, 2) for name, size in sorted(sizes.items(), key=lambda kv: -kv[1])}


def _frames() -> dict:
    import pandas as pd

    frames = [o for o in gc.get_objects() if isinstance(o, pd.DataFrame)]
    sizes = sorted(((int(f.memory_usage(deep=True).sum()), list(f.shape)) for f in frames), reverse=True)
    return {"total_mb": round(sum(s for s, _ in sizes) / 2**20, 1),
            "largest": [[round(s / 2**20, 1), shape] for s, shape in sizes[:5]]}


def _report(*_) -> None:
    global _seen_modules
    import pyarrow

    modules = set(sys.modules)
    new: dict[str, int] = {}
    for name in modules - _seen_modules:
        new[name.split(".")[0]] = new.get(name.split(".")[0], 0) + 1
    _seen_modules = modules
    pool = pyarrow.default_memory_pool()
    report = {"t": time.time(), **_status(), "heap": _heap(),
              "arrow": {"allocator": pool.backend_name, "mb": pool.bytes_allocated() >> 20},
              "cache_data_mb": _caches(), "frames": _frames(), "python_blocks": sys.getallocatedblocks(),
              "new_packages": sorted(new.items(), key=lambda kv: -kv[1])[:10]}
    with open(_PATH, "a", encoding="utf-8") as log:
        log.write(json.dumps(report) + "\n")


if _PATH:
    signal.signal(signal.SIGUSR1, _report)
