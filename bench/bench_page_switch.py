"""Where a page switch's time goes: the server's script run or the browser (issue 12, speed at scale).

Run: .venv/bin/python bench/bench_page_switch.py [--partners 10000] [--lanes 500] [--repeat 3] [PAGE ...]

On the database of bench/bench_pages_browser.py (built there once), the server runs with bench/page_switch_probe on
its PYTHONPATH: that probe logs, with wall-clock times, when the click's message reached the server, how long the
app script ran, when Streamlit's end-of-run work was over and every message sent on the WebSocket. Chromium clicks
from My account to each page (default: every page of ui/menu.PAGES; My account itself, the baseline, from Reports)
`--repeat` times after one visit that fills the caches, and the browser's own clock says when the page was finished
(as in bench_pages_browser.py). Per page, medians in seconds from the click: the script's run, the server done (run
and end-of-run work), the last message sent, and the page finished in the browser; what lies between the last
message and the page finished is the browser's work (mounting the new page's elements, drawing charts and tables).
Prints a markdown table.
"""

import argparse
import json
import shutil
import statistics
import sys
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

PROBE = ROOT / "bench" / "page_switch_probe"
ORIGIN = "account"  # every switch starts on My account (the lightest page) ...
BASELINE_ORIGIN = "reports"  # ... but the one to My account itself, the baseline, which starts on Reports
CLOCK = "() => ({origin: performance.timeOrigin, act: window.__bench.act, finished: window.__bench.changed})"


def server_side(events: list[dict], clicked: float) -> dict:
    """The server's events of the run the click at `clicked` started: until the next message from the browser."""
    after = [e for e in events if e["t"] >= clicked - 0.05]
    first = next(i for i, e in enumerate(after) if e["event"] == "received")
    run = []
    for event in after[first + 1:]:
        if event["event"] == "received":
            break
        run.append(event)
    sent = [e for e in run if e["event"] == "sent"]
    script = [e for e in run if e["event"] == "script"]
    finished = [e for e in run if e["event"] == "finished"]
    return {"received": after[first]["t"] - clicked, "script_seconds": sum(e["seconds"] for e in script),
            "server_done": finished[-1]["t"] - clicked if finished else None,
            "last_sent": sent[-1]["t"] - clicked if sent else None, "messages": len(sent),
            "bytes": sum(e["size"] for e in sent)}


def run(db_path: Path, repeat: int, wanted: list[str]) -> dict:
    from playwright.sync_api import sync_playwright

    from tests.e2e.conftest import CHROMIUM_FLAGS

    server, data_dir, log_path = probed_server(db_path, PROBE, "PAGE_SWITCH_LOG", "page-switch-bench-")
    visits: dict[str, list[dict]] = {path: [] for path in wanted}
    try:
        server.wait_until_up()
        with sync_playwright() as p:
            chrome = p.chromium.launch(executable_path=shutil.which("chromium"), args=CHROMIUM_FLAGS)
            ctx, page = logged_in(chrome, server.url)
            for path in wanted:  # fill the caches
                act(page, sidebar_link(page, path).click)
            for _ in range(repeat):
                for path in wanted:
                    act(page, sidebar_link(page, ORIGIN if path != ORIGIN else BASELINE_ORIGIN).click)
                    act(page, sidebar_link(page, path).click)
                    clock = page.evaluate(CLOCK)
                    clicked = (clock["origin"] + clock["act"]) / 1000
                    visits[path].append({"clicked": clicked,
                                         "finished": (clock["finished"] - clock["act"]) / 1000})
            chrome.close()
        events = [json.loads(line) for line in log_path.read_text(encoding="utf-8").splitlines()]
    finally:
        server.stop()
        shutil.rmtree(data_dir, ignore_errors=True)
    return {path: [{**v, **server_side(events, v["clicked"])} for v in runs] for path, runs in visits.items()}


def report(results: dict, repeat: int) -> None:
    titles = {p.url_path: p.title for p in menu_pages()}
    print(f"| page (seconds from the click; median of {repeat}) | script run | server done | last message sent | "
          "page finished in the browser | browser's share | messages |")
    print("|---|---|---|---|---|---|---|")
    for path, runs in results.items():
        med = {key: statistics.median(r[key] for r in runs if r[key] is not None)
               for key in ("script_seconds", "server_done", "last_sent", "finished", "messages")}
        last, finished = med["last_sent"], med["finished"]
        print(f"| {titles.get(path, path)} | {med['script_seconds']:.2f} | {med['server_done']:.2f} | {last:.2f} | "
              f"{finished:.2f} | {(finished - last) / finished:.0%} | {med['messages']:.0f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("pages", nargs="*", help="url paths (default: every page of the menu)")
    parser.add_argument("--partners", type=int, default=10_000)
    parser.add_argument("--lanes", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    wanted = args.pages or [p.url_path for p in menu_pages()]
    results = run(database(args.partners, args.lanes, rebuild=False), args.repeat, wanted)
    report(results, args.repeat)


if __name__ == "__main__":
    main()
