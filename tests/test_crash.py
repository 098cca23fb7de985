"""SIGKILL in the middle of a large import, a scoring snapshot, a validation pack export and a follow-up run (a
worker process, tests/concurrency_worker.py, killed once the operation has visibly started: it holds the database's
write lock or has written rows, the pack's file is growing, e-mails have arrived). The database is then exactly as
before the operation, no half file carries the final name, and the next run completes the work, sending each
remaining e-mail once and none twice. SQLite, or PostgreSQL with CTPAT_TEST_DATABASE_URL."""

import os
import signal
import sqlite3
import subprocess
import time
import zipfile
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import make_url, text
from sqlmodel import Session, SQLModel, col, func, select

from models import Assignment, FollowupMessage, ImportRecord, Partner, RiskAssessment
from models.common import utcnow
from models.followups import MessageStatus
from services.collection import cycles, evidence, questionnaire
from services.core import db
from services.followups import outbox, runner
from services.followups import settings as followup_settings
from services.imports import partners as partner_import
from services.reports import pack
from services.risk import assessment
from tests.concurrency_worker import partner_file
from tests.conftest import ADMIN, ANALYST
from tests.mail_support import smtp_server
from tests.process_support import add_partners, environment, start

APP = "ctpat-crash-worker"  # the killed worker's PostgreSQL application_name
TODAY = date.today()


@pytest.fixture
def worker_env(monkeypatch, tmp_path) -> dict[str, str]:
    return environment(monkeypatch, tmp_path)


def worker_url(database_url: str) -> str:
    """The test database's URL for the worker; on PostgreSQL it names its connections, so they can be watched."""
    url = make_url(database_url)
    return url.update_query_dict({"application_name": APP}).render_as_string(hide_password=False) \
        if url.get_backend_name() == "postgresql" else database_url


def contents(engine) -> dict[str, list[tuple]]:
    """Every table's rows in a fixed order (the data version counter aside): what "as before" compares."""
    out = {}
    with engine.connect() as conn:
        for table in SQLModel.metadata.sorted_tables:
            if table.name != "dataversion":
                out[table.name] = sorted(tuple(map(repr, row)) for row in conn.execute(table.select()))
    return out


def writing(engine) -> bool:
    """Whether the worker is inside a write transaction: PostgreSQL, its connection has written rows not yet
    committed; SQLite, someone holds the write lock (we cannot take it without waiting)."""
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            return conn.execute(text("SELECT count(*) FROM pg_stat_activity WHERE application_name = :app "
                                     "AND backend_xid IS NOT NULL"), {"app": APP}).scalar_one() > 0
    probe = sqlite3.connect(make_url(engine.url).database, timeout=0)
    try:
        probe.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError:
        return True
    finally:
        probe.close()
    return False


def kill_when(process: subprocess.Popen, started: Callable[[], bool], *, what: str, timeout: float = 90) -> None:
    """SIGKILL the worker once `started()` holds twice in a row (40 ms apart); fails when it ended first."""
    deadline = time.monotonic() + timeout
    seen = 0
    while time.monotonic() < deadline:
        if process.poll() is not None:
            out, err = process.communicate()
            pytest.fail(f"the worker finished before {what} could be interrupted: {out[-500:]} {err[-2000:]}")
        seen = seen + 1 if started() else 0
        if seen >= 2:
            process.send_signal(signal.SIGKILL)
            process.communicate(timeout=30)
            assert process.returncode == -signal.SIGKILL
            return
        time.sleep(0.04)
    process.kill()
    pytest.fail(f"{what} never started within {timeout} s")


def import_partners(engine, prefix: str, rows: int) -> None:
    with Session(engine) as s:
        preview = partner_import.preview_partners(session=s, files=[(f"{prefix}.csv", partner_file(prefix, rows))])
    db.write(engine, lambda s: partner_import.apply_partners(session=s, actor=ANALYST, preview=preview))


def test_a_killed_import_and_snapshot_leave_the_database_as_before_and_run_again(engine, staff, database_url,
                                                                                 worker_env):
    url = worker_url(database_url)
    # (a) A large partner import killed while it writes: nothing of it stays; the same import then goes in whole.
    before = contents(engine)
    worker = start({"work": "import_partners", "url": url, "user": "importer", "prefixes": ["BIG"], "rows": 2500},
                   worker_env)
    kill_when(worker, lambda: writing(engine), what="the import")
    assert contents(engine) == before
    import_partners(engine, "BIG", 2500)
    with Session(engine) as s:
        assert s.exec(select(func.count()).select_from(Partner)).one() == 2500
        assert [r.created for r in s.exec(select(ImportRecord)).all()] == [2500]

    # (b) A scoring snapshot of those partners killed while it writes its rows: no half snapshot; the same name
    # can then be taken, complete.
    before = contents(engine)
    worker = start({"work": "score", "url": url, "user": "scorer", "names": ["Year-end assessment"]}, worker_env)
    kill_when(worker, lambda: writing(engine), what="the snapshot")
    assert contents(engine) == before
    snapshot = db.write(engine, lambda s: assessment.take_snapshot(session=s, actor=ANALYST,
                                                                   name="Year-end assessment", today=TODAY))
    with Session(engine) as s:
        scores = assessment.snapshot_scores(session=s, assessment_id=snapshot.id)
        assert snapshot.summary["partner_count"] == 2500 and len(scores) == 2500 + snapshot.summary["lane_count"]
        assert s.exec(select(func.count()).select_from(RiskAssessment)).one() == 1


def test_a_killed_pack_export_leaves_no_file_under_its_name_and_the_next_one_is_whole(engine, session, staff,
                                                                                      database_url, worker_env):
    [partner] = add_partners(session, 1)
    cycle = cycles.open_cycle(session=session, actor=ANALYST, name="2027 annual review",
                              due_date=TODAY + timedelta(days=30), partner_ids=[partner.id])
    session.commit()
    assignment_id = session.exec(select(Assignment.id).where(Assignment.cycle_id == cycle.id)).one()
    asked = questionnaire.applicable_criteria(session=session, assignment_id=assignment_id)
    # Evidence that takes a while to pack: random bytes (which do not compress) in PDF envelopes.
    for n, criterion in enumerate(asked[:4]):
        data = b"%PDF-1.4\n" + os.urandom(4 * 1024 * 1024) + b"\n%%EOF\n"
        evidence.add_evidence(session=session, actor=ANALYST, assignment_id=assignment_id, criterion_id=criterion,
                              filename=f"evidence-{n}.pdf", data=data, uploaded_by="luis")
    session.commit()
    out = Path(worker_env["CTPAT_DATA_DIR"]) / "downloads" / "validation-pack.zip"
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(out.name + ".part")
    before = contents(engine)
    worker = start({"work": "export_pack", "url": database_url, "out": str(out)}, worker_env)
    kill_when(worker, lambda: partial.exists() and partial.stat().st_size > 2 * 1024 * 1024, what="the pack")
    assert not out.exists(), "a half pack carries the final name"
    assert contents(engine) == before
    # The next export replaces the leftover part and is a whole, readable ZIP with every evidence file.
    with Session(engine) as s:
        summary = pack.build_pack(session=s, out=out, today=TODAY)
    assert summary.evidence_files == 4 and not summary.missing_files and not partial.exists()
    with zipfile.ZipFile(out) as z:
        assert z.testzip() is None
        assert len([n for n in z.namelist() if n.startswith("evidence/") and n.endswith(".pdf")]) == 4


def test_a_killed_follow_up_run_sends_each_remaining_message_once_and_none_twice(engine, session, staff,
                                                                                 database_url, worker_env):
    followup_settings.save(session=session, actor=ADMIN, values={"public_holidays": False})
    book = add_partners(session, 20)
    cycles.open_cycle(session=session, actor=ANALYST, name="2027 annual review", due_date=TODAY + timedelta(days=30),
                      partner_ids=[p.id for p in book])
    session.commit()
    queued = runner.run(engine=engine, actor=ANALYST, today=TODAY, send=False)
    assert sum(queued.queued.queued.values()) == 20

    def keys(inbox) -> list[str]:
        with inbox.lock:
            return [m["X-CTPAT-Followup"] for _, m in inbox.messages]

    with smtp_server(delay=0.15) as (smtp, inbox):
        worker = start({"work": "follow_up", "url": database_url, "smtp": dict(smtp.__dict__), "send_only": True},
                       worker_env)
        kill_when(worker, lambda: len(keys(inbox)) >= 4, what="the follow-up run")
        time.sleep(0.3)  # a message the server was accepting at the kill arrives now, or never
        before_next = keys(inbox)
        assert 4 <= len(before_next) < 20
        report = outbox.send_due(engine=engine, smtp=smtp, actor=ANALYST, today=TODAY)
        received = keys(inbox)
    assert len(received) == len(set(received)), "an e-mail arrived twice"

    def rows() -> list[FollowupMessage]:
        session.expire_all()
        return session.exec(select(FollowupMessage).order_by(col(FollowupMessage.id))).all()

    sent = [f"{m.kind}; {m.object_id}; {m.step}" for m in rows() if m.status == MessageStatus.sent]
    in_flight = [m for m in rows() if m.status == MessageStatus.sending]
    # Every message was sent, but at most the one that was going out at the kill: it may or may not have arrived,
    # so it is never sent again by itself.
    assert len(in_flight) <= 1 and len(sent) + len(in_flight) == 20
    assert set(sent) <= set(received) and report.sent == len(set(sent) - set(before_next))
    assert set(received) - set(sent) <= {f"{m.kind}; {m.object_id}; {m.step}" for m in in_flight}
    # After the sending timeout it is given up (retried by hand only), and nothing more goes out.
    later = outbox.send_due(engine=engine, smtp=smtp, actor=ANALYST, today=TODAY,
                            now=utcnow() + outbox.SENDING_TIMEOUT + timedelta(minutes=1)) if in_flight else None
    assert later is None or later.sent == 0
    assert all(m.status in (MessageStatus.sent, MessageStatus.given_up) for m in rows())

