"""Platform benchmarks: demo seeding, page reruns at scale (AppTest), server start to login page.

Run: .venv/bin/python bench/bench_platform.py [--partners 10000] [--reruns 7]
Prints a markdown table and writes bench/results/platform.json. A baseline measured in the same run (a trivial
page, plain executemany) gives ratios, since the machine is small and noisy.
"""

import argparse
import json
import os
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlmodel import select  # noqa: E402
from streamlit.testing.v1 import AppTest  # noqa: E402

from models import Assignment, Cycle  # noqa: E402
from models.common import Role  # noqa: E402
from services.collection import links  # noqa: E402
from services.core import db, users  # noqa: E402
from services.core.permissions import Actor  # noqa: E402
from services.demo import generator as demo  # noqa: E402
from services.reference import loader as reference  # noqa: E402

PAGES = ("dashboard", "partners", "criteria", "admin", "cycles", "review", "imports")


def _timed(fn):
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def seed(url: str, partners: int) -> dict:
    engine = db.make_engine(url)
    db.upgrade(engine)
    with db.session_scope(engine) as s:
        reference.load_reference_data(session=s)
        users.ensure_first_admin(session=s)
        users.create_user(session=s, actor=Actor("bench", Role.admin), username="bench", name="Bench",
                          role=Role.admin, password="benchmark-password", must_change_password=False)
    with db.session_scope(engine) as s:
        seconds, summary = _timed(lambda: demo.seed_demo(session=s, partners=partners, seed=2027))
    engine.dispose()
    return {"seconds": seconds, "summary": summary.__dict__}


def baseline_insert(rows: int) -> float:
    """Plain sqlite3 executemany of as many answer-shaped rows as the demo wrote: the floor for any seeding."""
    with tempfile.TemporaryDirectory() as tmp:
        conn = sqlite3.connect(Path(tmp) / "b.db")
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("CREATE TABLE a (id INTEGER PRIMARY KEY, assignment_id INT, criterion_id TEXT, value TEXT, "
                     "comment TEXT, source TEXT, answered_by TEXT, recorded_at TEXT, is_current INT)")
        data = [(i, i // 100, f"{i % 12 + 1}.{i % 17 + 1}", "yes", "", "link", "Contact", "2026-01-01 00:00:00", 1)
                for i in range(rows)]
        seconds, _ = _timed(lambda: (conn.executemany("INSERT INTO a VALUES (?,?,?,?,?,?,?,?,?)", data),
                                     conn.commit()))
        conn.close()
    return seconds


def supplier_token(url: str) -> str:
    """A personal link to the largest questionnaire in progress in the open cycle."""
    engine = db.make_engine(url)
    with db.session_scope(engine) as s:
        assignment_id = s.exec(
            select(Assignment.id).join(Cycle).where(Cycle.status == "open", Assignment.status == "in progress")
            .order_by(Assignment.id)
        ).first()
        token = links.issue_link(session=s, actor=Actor("bench", Role.admin), assignment_id=assignment_id)
    engine.dispose()
    return token


def page_reruns(url: str, page: str | None, reruns: int, token: str | None = None) -> dict:
    script = f"import pages.{page} as page\npage.render()\n" if page else "import streamlit as st\nst.title('x')\n"
    at = AppTest.from_string(script, default_timeout=120)
    at.secrets["database_url"] = url
    at.secrets["cookie_key"] = "bench-" + "x" * 40
    if token:
        at.session_state["supplier_token"] = token
    else:
        at.session_state["authentication_status"] = True
        at.session_state["username"] = "bench"
        at.session_state["session_version"] = 0  # a new user's; a logged-in session keeps it (ui/auth.py)
    first, _ = _timed(at.run)
    assert not at.exception, at.exception
    times = []
    for _ in range(reruns):
        seconds, _ = _timed(at.run)
        times.append(seconds)
    return {"first_run": first, "rerun_median": statistics.median(times), "rerun_max": max(times)}


def server_start(url: str, data_dir: str) -> dict:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "CTPAT_DATABASE_URL": url, "CTPAT_DATA_DIR": data_dir, "CTPAT_DEMO": "0"}
    start = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port),
         "--server.address", "127.0.0.1", "--server.headless", "true"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        health = None
        while time.perf_counter() - start < 60:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=1) as r:
                    if r.status == 200:
                        health = time.perf_counter() - start
                        break
            except OSError:
                time.sleep(0.05)
        login = _login_form_seconds(port, start)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    return {"health_ok": health, "login_form_visible": login}


def _login_form_seconds(port: int, start: float) -> float | None:
    """Seconds from process start until a real browser shows the login form (None without Chromium)."""
    import shutil

    chromium = shutil.which("chromium")
    if not chromium:
        return None
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--no-first-run"])
        page = browser.new_page()
        page.goto(f"http://127.0.0.1:{port}/")
        page.get_by_label("Username", exact=True).wait_for(timeout=60_000)
        seconds = time.perf_counter() - start
        browser.close()
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--partners", type=int, default=10_000)
    parser.add_argument("--reruns", type=int, default=7)
    args = parser.parse_args()
    os.environ["CTPAT_DEMO"] = "0"
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["CTPAT_DATA_DIR"] = tmp
        url = f"sqlite:///{tmp}/bench.db"
        results = {"partners": args.partners, "seed": seed(url, args.partners)}
        written = results["seed"]["summary"]
        results["rows_written"] = written["partners"] + written["assignments"] + written["answers"]
        results["baseline_insert_seconds"] = baseline_insert(results["rows_written"])
        results["baseline_page"] = page_reruns(url, None, args.reruns)
        for page in PAGES:
            results[page] = page_reruns(url, page, args.reruns)
        results["supplier"] = page_reruns(url, "supplier", args.reruns, token=supplier_token(url))
        results["server"] = server_start(url, tmp)
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "platform.json").write_text(json.dumps(results, indent=2, default=str))
    base = results["baseline_page"]["rerun_median"]
    print(f"| measure ({args.partners:,} partners) | seconds | ratio to baseline |")
    print("|---|---|---|")
    print(f"| demo seeding | {results['seed']['seconds']:.2f} | "
          f"{results['seed']['seconds'] / results['baseline_insert_seconds']:.1f}x plain executemany of "
          f"{results['rows_written']:,} answer-shaped rows ({results['baseline_insert_seconds']:.2f} s) |")
    print(f"| trivial page rerun (baseline) | {base:.3f} | 1.0 |")
    for page in (*PAGES, "supplier"):
        r = results[page]
        print(f"| {page} first run | {r['first_run']:.3f} | |")
        print(f"| {page} rerun, median of {args.reruns} (max) | {r['rerun_median']:.3f} ({r['rerun_max']:.3f}) | "
              f"{r['rerun_median'] / base:.1f} |")
    server = results["server"]
    print(f"| server start to health check | {server['health_ok']:.2f} | |")
    login = server["login_form_visible"]
    print(f"| server start to login form in Chromium | {login:.2f} | |" if login else "| login form | no Chromium | |")


if __name__ == "__main__":
    main()
