"""Where the app server's memory goes (issue 12: under 400 MB with five sessions at 10,000 partners).

Run: .venv/bin/python bench/bench_memory.py [--partners 10000] [--lanes 500]

On the database of bench/bench_pages_browser.py (built there once), the server runs with bench/memory_probe on its
PYTHONPATH. One admin session in Chromium logs in, opens every page of the menu once from the sidebar, then moves
Risk scoring's "High from" through five new values and back and forth between two; then five more sessions log in,
each on another page (dashboard, partners, lanes, scoring, review), as in bench_pages_browser.py. After each step
the probe reports the server's resident memory (VmRSS), its peak so far (VmHWM), glibc's heap, Arrow's allocator,
the live DataFrames, st.cache_data's values and the packages imported by that step. Prints a markdown table and
writes bench/results/memory.json.
"""

import argparse
import json
import os
import shutil
import signal
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.bench_pages_browser import (  # noqa: E402
    act,
    database,
    logged_in,
    menu_pages,
    probed_server,
    sidebar_link,
)

PROBE = ROOT / "bench" / "memory_probe"
FIVE = ["dashboard", "partners", "lanes", "scoring", "review"]


def probe(pid: int, log: Path) -> dict:
    """Ask the server for a report and wait for it."""
    before = len(log.read_text(encoding="utf-8").splitlines()) if log.exists() else 0
    os.kill(pid, signal.SIGUSR1)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        time.sleep(0.1)
        lines = log.read_text(encoding="utf-8").splitlines() if log.exists() else []
        if len(lines) > before:
            return json.loads(lines[-1])
    raise TimeoutError("the memory probe did not answer")


def run(db_path: Path) -> list[tuple[str, dict]]:
    from playwright.sync_api import sync_playwright

    from tests.e2e.conftest import CHROMIUM_FLAGS

    server, data_dir, log = probed_server(db_path, PROBE, "MEMORY_PROBE_LOG", "memory-bench-")
    steps: list[tuple[str, dict]] = []
    try:
        server.wait_until_up()
        steps.append(("idle after start", probe(server.proc.pid, log)))
        with sync_playwright() as p:
            chrome = p.chromium.launch(executable_path=shutil.which("chromium"), args=CHROMIUM_FLAGS)

            def session(path: str | None = None):
                ctx, page = logged_in(chrome, server.url)
                if path:
                    act(page, sidebar_link(page, path).click)
                return ctx, page

            ctx, page = session()
            steps.append(("logged in (dashboard)", probe(server.proc.pid, log)))
            for entry in menu_pages():
                act(page, sidebar_link(page, entry.url_path).click)
                steps.append((entry.title, probe(server.proc.pid, log)))
            act(page, sidebar_link(page, "scoring").click)
            field = page.locator(".st-key-risk_w_high_from input")
            for value in (31, 32, 33, 34, 35, 30, 31, 30, 31, 30):
                field.fill(str(value))
                act(page, lambda: field.press("Enter"))
            steps.append(("Risk scoring what-if, 6 values", probe(server.proc.pid, log)))
            ctx.close()
            others = [session(path)[0] for path in FIVE]
            steps.append(("five sessions: " + ", ".join(FIVE), probe(server.proc.pid, log)))
            for other in others:
                other.close()
            chrome.close()
    finally:
        server.stop()
        shutil.rmtree(data_dir, ignore_errors=True)
    return steps


def report(steps: list[tuple[str, dict]]) -> None:
    print("| step | RSS MB | peak MB | glibc heap in use / free / mapped MB | Arrow MB | live DataFrames MB "
          "(largest) | st.cache_data MB | packages imported |")
    print("|---|---|---|---|---|---|---|---|")
    for label, r in steps:
        heap = r["heap"]
        largest = r["frames"]["largest"][0] if r["frames"]["largest"] else None
        packages = ", ".join(f"{name} ({n})" for name, n in r["new_packages"][:4] if n >= 5)
        print(f"| {label} | {r['VmRSS']} | {r['VmHWM']} | {heap.get('used_mb')} / {heap.get('free_mb')} / "
              f"{heap.get('mapped_mb')} | {r['arrow']['mb']} ({r['arrow']['allocator']}) | {r['frames']['total_mb']}"
              f"{f' ({largest[0]}: {largest[1][0]:,} x {largest[1][1]})' if largest else ''} | "
              f"{sum(r['cache_data_mb'].values()):.1f} | {packages} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--partners", type=int, default=10_000)
    parser.add_argument("--lanes", type=int, default=500)
    parser.add_argument("--rebuild", action="store_true", help="build the database again")
    args = parser.parse_args()
    steps = run(database(args.partners, args.lanes, args.rebuild))
    report(steps)
    out = ROOT / "bench" / "results" / "memory.json"
    out.write_text(json.dumps({"started": steps[0][1]["t"], "load_average": os.getloadavg(),
                               "steps": [{"step": label, **r} for label, r in steps]}, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
