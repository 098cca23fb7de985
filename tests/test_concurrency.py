"""Eight worker processes at once on the test database (SQLite file, or PostgreSQL with CTPAT_TEST_DATABASE_URL):
importing partner and answer files, two users editing the same partners, partners answering through their links,
scoring snapshots and two follow-up runs sending to a real SMTP server on loopback. Afterwards: no lost update, no
partial import, no error (such as "database is locked") reaching a caller, one audit event per write, no e-mail
twice. Also: two processes with the same data folder share the evidence store."""

import hashlib
import os
from collections import Counter
from datetime import date, timedelta

import pytest
from sqlmodel import col, func, select

from models import (
    Answer,
    Assignment,
    AuditEvent,
    FollowupMessage,
    ImportRecord,
    Partner,
    RiskAssessment,
    RiskAssessmentScore,
)
from models.followups import MessageStatus
from services.collection import cycles, questionnaire
from services.followups import settings as followup_settings
from tests.conftest import ADMIN, ANALYST
from tests.mail_support import smtp_server
from tests.process_support import add_partners, environment, result_of, run_workers, start


@pytest.fixture
def worker_env(monkeypatch, tmp_path) -> dict[str, str]:
    return environment(monkeypatch, tmp_path)


def test_eight_workers_at_once_lose_nothing_and_send_nothing_twice(engine, session, staff, database_url, worker_env,
                                                                   tmp_path):
    followup_settings.save(session=session, actor=ADMIN, values={"public_holidays": False})
    book = add_partners(session, 16)
    cycle = cycles.open_cycle(session=session, actor=ANALYST, name="2027 annual review",
                              due_date=date.today() + timedelta(days=30), partner_ids=[p.id for p in book])
    session.commit()
    assignment_of = dict(session.exec(select(Assignment.partner_id, Assignment.id)
                                      .where(Assignment.cycle_id == cycle.id)).all())
    criteria = {p.partner_code: questionnaire.applicable_criteria(session=session, assignment_id=assignment_of[p.id])
                for p in book}
    by_file, by_link, shared = book[0:4], book[4:8], book[8:11]
    answer_files = [[[p.partner_code, c] for p in by_file[i:i + 2] for c in criteria[p.partner_code]]
                    for i in (0, 2)]
    through_links = [[assignment_of[p.id], criteria[p.partner_code][:15]] for p in by_link]
    prefixes = ["IMP1", "IMP2", "IMP3"]
    snapshot_names = ["Concurrent snapshot 1", "Concurrent snapshot 2", "Concurrent snapshot 3"]
    url = database_url

    with smtp_server() as (smtp, inbox):
        smtp_job = dict(smtp.__dict__)
        jobs = [
            {"work": "import_partners", "name": "partner import", "user": "importer", "prefixes": prefixes,
             "rows": 100},
            {"work": "import_answers", "name": "answer import", "user": "answers", "cycle_id": cycle.id,
             "files": answer_files},
            {"work": "edit_partners", "name": "ed1", "user": "ed1", "partner_ids": [p.id for p in shared],
             "edits": 8},
            {"work": "edit_partners", "name": "ed2", "user": "ed2", "partner_ids": [p.id for p in shared],
             "edits": 8},
            {"work": "answer_through_links", "name": "links", "assignments": through_links, "per_save": 5},
            {"work": "score", "name": "scoring", "user": "scorer", "names": snapshot_names},
            {"work": "follow_up", "name": "cron 1", "user": "cron1", "smtp": smtp_job},
            {"work": "follow_up", "name": "cron 2", "user": "cron2", "smtp": smtp_job},
        ]
        results = run_workers([{**job, "url": url} for job in jobs], worker_env, tmp_path / "go")
        with inbox.lock:
            received = [m["X-CTPAT-Followup"] for _, m in inbox.messages]

    # Nothing reached a caller: no "database is locked", no serialization failure, no conflict left unhandled.
    failed = {r["name"]: r.get("traceback", r["error"]) for r in results if not r["ok"]}
    assert not failed, failed
    report = {r["name"]: r for r in results}
    session.expire_all()

    def events(action: str, entity: str, *usernames: str) -> int:
        return session.exec(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.action == action, AuditEvent.entity == entity, col(AuditEvent.username).in_(usernames))).one()

    # Each partner import fully present: its 100 partners, its record and its audit event.
    assert report["partner import"]["imported"] == prefixes
    for prefix in prefixes:
        codes = session.exec(select(func.count()).select_from(Partner)
                             .where(col(Partner.partner_code).like(f"{prefix}-%"))).one()
        assert codes == 100, prefix
    records = session.exec(select(ImportRecord).where(ImportRecord.kind == "partners")).all()
    assert sorted(r.filename for r in records) == [f"{p}.csv" for p in prefixes]
    assert all(r.created == 100 for r in records)
    assert events("import", "partners", "importer") == 3

    # The answer files: every row stored as the current answer, one record and one audit event per file.
    for p in by_file:
        stored = session.exec(select(Answer.criterion_id).where(Answer.assignment_id == assignment_of[p.id],
                                                                col(Answer.is_current))).all()
        assert sorted(stored) == sorted(criteria[p.partner_code]), p.partner_code
    answer_records = select(func.count()).select_from(ImportRecord).where(ImportRecord.kind != "partners")
    assert session.exec(answer_records).one() == 2

    # The same partners edited by two users at once: every saved edit is there exactly once (a conflict was
    # refused with a clear message, and the user saved again), one audit event per saved edit.
    saved = report["ed1"]["saved"] + report["ed2"]["saved"]
    assert len(saved) == 16
    notes = "".join(session.get(Partner, p.id).notes or "" for p in shared)
    assert all(notes.count(token) == 1 for token in saved), notes
    assert events("update", "partner", "ed1", "ed2") == 16

    # Answers through the links: every answer current once, one audit event per save.
    for assignment_id, asked in through_links:
        current = session.exec(select(Answer.criterion_id).where(Answer.assignment_id == assignment_id,
                                                                 col(Answer.is_current))).all()
        assert sorted(current) == sorted(asked)
    assert report["links"]["saves"] == 12
    assert session.exec(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.action == "answer", col(AuditEvent.username).like("partner:%"))).one() == 12

    # Each snapshot complete: a score row for every partner and lane it counted, and a count the register had at
    # one moment (the imports went in whole).
    snapshots = session.exec(select(RiskAssessment).where(col(RiskAssessment.name).in_(snapshot_names))).all()
    assert len(snapshots) == 3 and events("create", "risk assessment", "scorer") == 3
    for snapshot in snapshots:
        rows = session.exec(select(func.count()).select_from(RiskAssessmentScore)
                            .where(RiskAssessmentScore.assessment_id == snapshot.id)).one()
        assert rows == snapshot.summary["partner_count"] + snapshot.summary["lane_count"]
        assert snapshot.summary["partner_count"] in {16 + 100 * k for k in range(4)}

    # Two follow-up runs at once: each outbox key queued once, and each e-mail received once.
    messages = session.exec(select(FollowupMessage)).all()
    sent = sorted(f"{m.kind}; {m.object_id}; {m.step}" for m in messages if m.status == MessageStatus.sent)
    assert sent and sorted(received) == sent, Counter(received).most_common(3)
    assert not [m for m in messages if m.status == MessageStatus.sending]
    assert report["cron 1"]["sent"] + report["cron 2"]["sent"] == len(sent)


def test_two_processes_with_one_data_folder_share_the_evidence_store(engine, session, staff, database_url,
                                                                     worker_env, tmp_path):
    """A file a partner uploads through one app process is read by staff through another (same CTPAT_DATA_DIR)."""
    [partner] = add_partners(session, 1)
    cycle = cycles.open_cycle(session=session, actor=ANALYST, name="2027 annual review",
                              due_date=date.today() + timedelta(days=30), partner_ids=[partner.id])
    session.commit()
    assignment_id = session.exec(select(Assignment.id).where(Assignment.cycle_id == cycle.id)).one()
    criterion = questionnaire.applicable_criteria(session=session, assignment_id=assignment_id)[0]
    data = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n" + os.urandom(64).hex().encode()
    common = {"url": database_url}
    writer = result_of(start({**common, "work": "add_evidence", "assignment_id": assignment_id,
                              "criterion_id": criterion, "filename": "seal-policy.pdf", "data": data.hex()},
                             worker_env))
    assert writer["ok"], writer.get("traceback")
    reader = result_of(start({**common, "work": "read_evidence", "evidence_id": writer["evidence_id"]}, worker_env))
    assert reader["ok"], reader.get("traceback")
    assert reader["filename"] == "seal-policy.pdf" and bytes.fromhex(reader["data"]) == data
    # ...and this (third) process finds the same bytes in the folder both use.
    from services.collection import evidence

    assert evidence.evidence_path(hashlib.sha256(data).hexdigest()).read_bytes() == data
