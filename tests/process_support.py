"""Worker processes for the concurrency and crash tests (tests/concurrency_worker.py) and the data they share."""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from sqlmodel import Session

from models import Partner
from services.partners import registry as partners
from tests.conftest import ANALYST

ROOT = Path(__file__).resolve().parent.parent
WORKER_TIMEOUT = 120


def environment(monkeypatch, tmp_path: Path) -> dict[str, str]:
    """The environment of a test and its worker processes: one data folder, link key and base URL."""
    values = {"CTPAT_DATA_DIR": str(tmp_path / "data"), "CTPAT_LINK_KEY": "test-link-key-" + "k" * 40,
              "CTPAT_BASE_URL": "https://ctpat.example.com", "CTPAT_SECRETS_FILE": str(tmp_path / "none.toml")}
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    return {**os.environ, **values}


def start(job: dict, env: dict[str, str]) -> subprocess.Popen:
    """A worker process (tests/concurrency_worker.py) doing `job`."""
    return subprocess.Popen([sys.executable, "-m", "tests.concurrency_worker", json.dumps(job)], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def result_of(process: subprocess.Popen) -> dict:
    out, err = process.communicate(timeout=WORKER_TIMEOUT)
    lines = [line for line in out.splitlines() if line.startswith("{")]
    assert lines, f"worker printed no result (exit {process.returncode}): {err[-3000:]}"
    return json.loads(lines[-1])


def run_workers(jobs: list[dict], env: dict[str, str], go: Path) -> list[dict]:
    """Start every worker, let them all begin at once, and collect what each reports."""
    processes = [start({**job, "go": str(go)}, env) for job in jobs]
    deadline = time.monotonic() + WORKER_TIMEOUT
    while len(list(go.parent.glob(f"{go.name}.ready-*"))) < len(jobs) and time.monotonic() < deadline:
        if any(p.poll() is not None for p in processes):
            break  # one ended before it was ready: its result says why
        time.sleep(0.05)
    go.touch()
    return [result_of(p) for p in processes]


def add_partners(session: Session, count: int) -> list[Partner]:
    """Partners in the United States (no factory closures) with a contact address each."""
    out = []
    for n in range(1, count + 1):
        code = f"CC-{n:03d}"
        out.append(partners.create_partner(session=session, actor=ANALYST, values={
            "partner_code": code, "legal_name": f"Concurrent Supplier {n} Inc", "entity_type": "Foreign Manufacturer",
            "country_iso2": "US", "language": "en", "contact_name": f"Contact {code}",
            "contact_email": f"{code.lower()}@partner.example"}))
    session.commit()
    return out
