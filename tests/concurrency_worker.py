"""One worker process of the concurrency and crash tests: ``python -m tests.concurrency_worker '<json job>'``.

It opens its own engine on the test database (``url`` in the job), waits until the file ``go`` exists (so all
workers start their work at the same moment), does one kind of work through the services exactly as the pages
and the command line do (writes through ``services.core.db.write``), and prints one JSON line with what it did.
Any exception is reported in that line ("error") rather than raised, so the test can show every worker's
failure. The crash tests run the same jobs and kill the process part-way.
"""

import csv
import io
import json
import os
import sys
import time
import traceback
from datetime import date
from pathlib import Path

from sqlmodel import Session, select

from models import Partner
from models.common import Role
from services.collection import evidence, links, questionnaire
from services.core import db
from services.core.config import SmtpSettings
from services.core.permissions import Actor, ValidationError
from services.followups import outbox, runner
from services.imports import partners as partner_import
from services.imports.answers import apply_responses, preview_responses
from services.partners import registry
from services.reports import pack
from services.risk import assessment

TODAY = date.today()


def partner_file(prefix: str, count: int) -> bytes:
    """A partner import file of `count` new partners with codes <prefix>-0001 ... and a contact address each."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["partner_code", "legal_name", "entity_type", "country_iso2", "city", "contact_name",
                     "contact_email", "language"])
    for n in range(1, count + 1):
        code = f"{prefix}-{n:04d}"
        writer.writerow([code, f"{prefix} Manufacturing {n} Ltd", "Foreign Manufacturer", "VN", "Hanoi",
                         f"Contact {code}", f"{code.lower()}@partner.example", "en"])
    return buffer.getvalue().encode()


def answer_file(rows: list[tuple[str, str]], value: str = "yes") -> bytes:
    """A long-form answer file: (partner code, criterion id) rows, all with the same answer."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["partner_code", "criterion_id", "answer", "comment"])
    writer.writerows([code, criterion, value, ""] for code, criterion in rows)
    return buffer.getvalue().encode()


def import_partners(engine, actor: Actor, job: dict) -> dict:

    done = []
    for prefix in job["prefixes"]:
        data = partner_file(prefix, job["rows"])
        with Session(engine) as s:  # the preview (the upload), then the write (the click), as on the page
            preview = partner_import.preview_partners(session=s, files=[(f"{prefix}.csv", data)])
        db.write(engine, lambda s, p=preview: partner_import.apply_partners(session=s, actor=actor, preview=p))
        done.append(prefix)
    return {"imported": done}


def import_answers(engine, actor: Actor, job: dict) -> dict:

    files = 0
    for n, rows in enumerate(job["files"]):
        data = answer_file([tuple(r) for r in rows])
        with Session(engine) as s:
            preview = preview_responses(session=s, files=[(f"answers-{n}.csv", data)], cycle_id=job["cycle_id"])
        db.write(engine, lambda s, p=preview: apply_responses(session=s, actor=actor, preview=p))
        files += 1
    return {"files": files}


def edit_partners(engine, actor: Actor, job: dict) -> dict:
    """Append this worker's tokens to the shared partners' notes, as a user would in the edit form: read what the
    form shows, then save with the values shown as `expected`; a conflict is refused, and the user reloads."""

    saved, conflicts = [], 0
    for n in range(job["edits"]):
        partner_id = job["partner_ids"][n % len(job["partner_ids"])]
        token = f"[{job['name']}:{n}]"
        while True:
            with Session(engine) as s:
                shown = registry.get_partner(session=s, partner_id=partner_id).model_dump()
            try:
                db.write(engine, lambda s, pid=partner_id, shown=shown, t=token: registry.update_partner(
                    session=s, actor=actor, partner_id=pid, values={"notes": (shown["notes"] or "") + t},
                    expected=shown))
            except ValidationError as refused:
                if "changed by someone else" not in str(refused):
                    raise
                conflicts += 1
                continue
            saved.append(token)
            break
    return {"saved": saved, "conflicts": conflicts}


def answer_through_links(engine, actor: Actor, job: dict) -> dict:
    """Each partner answers its questionnaire through its own link, a few criteria per save."""

    saves = 0
    for assignment_id, criteria in job["assignments"]:
        for start in range(0, len(criteria), job["per_save"]):
            chunk = criteria[start:start + job["per_save"]]

            def save(s, a=assignment_id, c=chunk):
                partner = links.partner_actor(session=s, assignment_id=a)
                return questionnaire.save_answers(
                    session=s, assignment_id=a, source="link", answered_by="Supplier contact", actor=partner,
                    answers=[{"criterion_id": cid, "value": "yes", "comment": ""} for cid in c])

            if db.write(engine, save):
                saves += 1
    return {"saves": saves}


def score(engine, actor: Actor, job: dict) -> dict:

    names = []
    for name in job["names"]:
        db.write(engine, lambda s, n=name: assessment.take_snapshot(session=s, actor=actor, name=n, today=TODAY))
        names.append(name)
    return {"snapshots": names}


def follow_up(engine, actor: Actor, job: dict) -> dict:

    smtp = SmtpSettings(**job["smtp"])
    if job.get("send_only"):
        report = outbox.send_due(engine=engine, smtp=smtp, actor=actor, today=TODAY, batch=job.get("batch", 50))
        return {"sent": report.sent, "queued": 0}
    report = runner.run(engine=engine, actor=actor, today=TODAY, smtp=smtp)
    return {"sent": report.sent.sent if report.sent else 0, "queued": sum(report.queued.queued.values())}


def export_pack(engine, actor: Actor, job: dict) -> dict:

    with Session(engine) as s:
        summary = pack.build_pack(session=s, out=Path(job["out"]), today=TODAY)
    return {"size": summary.size_bytes}


def add_evidence(engine, actor: Actor, job: dict) -> dict:
    """Store an evidence file for an assignment as its partner does through the link; its id."""

    def add(s):
        partner = links.partner_actor(session=s, assignment_id=job["assignment_id"])
        return evidence.add_evidence(session=s, actor=partner, assignment_id=job["assignment_id"],
                                     criterion_id=job["criterion_id"], filename=job["filename"],
                                     data=bytes.fromhex(job["data"]), uploaded_by="Supplier contact").id

    return {"evidence_id": db.write(engine, add)}


def read_evidence(engine, actor: Actor, job: dict) -> dict:

    with Session(engine) as s:
        row, data = evidence.read_evidence(session=s, actor=actor, evidence_id=job["evidence_id"])
    return {"filename": row.filename, "data": data.hex()}


WORK = {"import_partners": import_partners, "import_answers": import_answers, "edit_partners": edit_partners,
        "answer_through_links": answer_through_links, "score": score, "follow_up": follow_up,
        "export_pack": export_pack, "add_evidence": add_evidence, "read_evidence": read_evidence}


def main(job: dict) -> dict:

    engine = db.make_engine(job["url"])
    actor = Actor(job.get("user", "luis"), Role(job.get("role", "analyst")))
    go = Path(job["go"]) if job.get("go") else None
    if go is not None:
        go.with_name(f"{go.name}.ready-{os.getpid()}").touch()  # imported and connected: ready to start
    started = time.monotonic()
    while go is not None and not go.exists():
        if time.monotonic() - started > 60:
            raise TimeoutError("the start signal never came")
        time.sleep(0.01)
    try:
        with Session(engine) as s:  # a first query, so a dead database fails here and not mid-work
            s.exec(select(Partner.id).limit(1)).all()
        return WORK[job["work"]](engine, actor, job)
    finally:
        engine.dispose()


if __name__ == "__main__":
    job = json.loads(sys.argv[1])
    try:
        result = {"name": job.get("name", job["work"]), "ok": True, **main(job)}
    except Exception as error:  # reported to the test, which fails with it
        result = {"name": job.get("name", job["work"]), "ok": False, "error": f"{type(error).__name__}: {error}",
                  "traceback": traceback.format_exc()}
    print(json.dumps(result), flush=True)
    os._exit(0)
