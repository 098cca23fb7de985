"""PostgreSQL: the backup and restore of docs/OPERATIONS.md ("Backups and restore"), run exactly as written there.

A demo company (a few hundred partners, answers, evidence files, action items with files, audit events) is backed up
with the commands the document gives (checked against what `manage.py backup` and `manage.py restore` print, so the
document and the code cannot drift apart), restored into a new empty database and a new data folder, and compared:
every table row by row, the schema, the sequences (new rows still get new ids), the audit log's append-only
triggers, and every file byte by byte. Then the same restore over the restored database (its tables dropped and made
again) gives the backup's content once more, and a restore that fails half-way leaves the database as it was.

Runs only on PostgreSQL (CTPAT_TEST_DATABASE_URL) with pg_dump, pg_restore and tar on PATH; skips with the reason
otherwise, and fails instead where CI requires PostgreSQL (CTPAT_REQUIRE_POSTGRES=1).
"""

import os
import re
import shlex
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, inspect, make_url, text
from sqlalchemy.exc import DatabaseError
from sqlmodel import Session, select

from cli import main as cli_main
from models import ActionEvidence, ActionItem, Assignment, AuditEvent, Cycle, Evidence, Partner
from models.collection import AssignmentStatus, CycleStatus
from services.actions import generate as action_plan
from services.actions import items as actions
from services.actions.states import Move
from services.collection import evidence, questionnaire
from services.core import audit, backup, config, db, users
from services.core.permissions import SYSTEM
from services.demo import generator as demo
from services.partners import registry as partners
from tests.conftest import ADMIN, ANALYST, _postgres_database

pytestmark = pytest.mark.postgres

DOC = Path(__file__).resolve().parent.parent / "docs" / "OPERATIONS.md"
PARTNERS = 300
PASSWORD = "correct horse battery staple"
PDF = b"%%PDF-1.4\n%% seal log %d\n%%%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 64


def _unavailable(reason: str) -> None:
    if os.environ.get("CTPAT_REQUIRE_POSTGRES") == "1":
        pytest.fail(f"CTPAT_REQUIRE_POSTGRES=1 but {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture
def server() -> str:
    """The test server's URL (CTPAT_TEST_DATABASE_URL), with pg_dump, pg_restore and tar on PATH."""
    base = os.environ.get("CTPAT_TEST_DATABASE_URL", "")
    if not base.startswith("postgresql"):
        _unavailable("CTPAT_TEST_DATABASE_URL is not set to PostgreSQL: the pg_dump/pg_restore round trip needs it")
    missing = [tool for tool in ("pg_dump", "pg_restore", "tar") if shutil.which(tool) is None]
    if missing:
        _unavailable(f"{', '.join(missing)} not on PATH (Debian: postgresql-client, in /usr/lib/postgresql/*/bin)")
    return base


def documented() -> dict[str, str]:
    """The PostgreSQL commands of "Backups and restore", by what they run, and the example URL they are written for.

    Every line of the section's PostgreSQL code blocks must be one the test runs, so a command added to the
    document, or changed in it, is either run here or fails the test."""
    section = DOC.read_text(encoding="utf-8").split("\n## Backups and restore\n", 1)[1].split("\n## ", 1)[0]
    part = section[section.index("\nPostgreSQL:"):]
    commands = {"url": re.search(r"`CTPAT_DATABASE_URL=(postgresql\+psycopg://\S+?)`", part).group(1)}
    for block in re.findall(r"```bash\n(.*?)```", part, re.S):
        for line in filter(str.strip, block.splitlines()):
            words = [w for w in shlex.split(line) if not re.fullmatch(r"[A-Z_]+=.*", w)]
            name = words[2] if words[:2] == [".venv/bin/python", "manage.py"] else words[0]
            assert name in ("backup", "pg_dump", "pg_restore", "tar", "init-db"), f"{DOC}: a command the test " \
                f"does not run: {line}"
            assert name not in commands, f"{DOC}: {name} is given twice"
            commands[name] = line
    assert set(commands) == {"url", "backup", "pg_dump", "pg_restore", "tar", "init-db"}, commands
    return commands


def _option(line: str, name: str) -> str:
    words = shlex.split(line)
    return words[words.index(name) + 1]


def localised(line: str, doc: dict[str, str], *, url: str, dump: Path, files: Path) -> str:
    """A documented line for this test's database and files: the document's example URL and paths replaced; the
    password placeholder dropped (the test gives pg_dump and pg_restore the password in PGPASSWORD, as the
    document says)."""
    example = doc["backup"]
    line = line.removeprefix("PGPASSWORD=... ")
    for old, new in ((backup.libpq_url(doc["url"]), backup.libpq_url(url)),
                     (_option(example, "--out"), str(dump)), (_option(example, "--files"), str(files))):
        line = line.replace(old, shlex.quote(new))
    return line


def shell(line: str, *, url: str, data_dir: Path, ok: bool = True) -> subprocess.CompletedProcess:
    """Run one documented line in bash as an operator would, with the password in PGPASSWORD; it must succeed
    (``ok``) or fail."""
    password = make_url(url).password
    env = {**os.environ, **({"PGPASSWORD": password} if password else {}), "CTPAT_DATA_DIR": str(data_dir)}
    done = subprocess.run(["bash", "-c", line], env=env, capture_output=True, text=True, timeout=300)
    assert (done.returncode == 0) == ok, f"{line}\nexit code {done.returncode}\n{done.stderr}"
    return done


def manage(monkeypatch, capsys, *argv: str, url: str, data_dir: Path) -> tuple[int, str, str]:
    """`manage.py ARGV` for the database `url` and the data folder `data_dir`."""
    monkeypatch.setenv("CTPAT_DATABASE_URL", url)
    monkeypatch.setenv("CTPAT_DATA_DIR", str(data_dir))
    capsys.readouterr()
    code = cli_main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def printed(err: str, program: str) -> str:
    """The command that `manage.py` printed at the end of its message."""
    found = re.search(rf"\b({program} --.*)$", err.strip())
    assert found, err
    return found.group(1)


def seed(engine: Engine) -> None:
    """A demo company, staff accounts, evidence files on answers of the open cycle and action items with files."""
    with Session(engine, expire_on_commit=False) as session:
        demo.seed_demo(session=session, partners=PARTNERS, seed=2027)
        for actor in (ADMIN, ANALYST):
            users.create_user(session=session, actor=SYSTEM, username=actor.username, name=actor.username.title(),
                              role=actor.role, password=PASSWORD, email=f"{actor.username}@example.com")
        session.commit()

        open_cycle = session.exec(select(Cycle.id).where(Cycle.status == CycleStatus.open)).one()
        answering = session.exec(select(Assignment.id).where(
            Assignment.cycle_id == open_cycle, Assignment.status == AssignmentStatus.in_progress)
            .order_by(Assignment.id).limit(6)).all()
        assert len(answering) == 6
        for n, assignment_id in enumerate(answering):
            criteria = questionnaire.applicable_criteria(session=session, assignment_id=assignment_id)
            uploads = [(f"seal-log-{n}.pdf", PDF % n), ("fence.png", PNG)]
            for criterion, (name, data) in zip(criteria[:2], uploads, strict=True):
                evidence.add_evidence(session=session, assignment_id=assignment_id, criterion_id=criterion,
                                      filename=name, data=data, uploaded_by="Ms. Chen", actor=ANALYST)
        session.commit()

        report = action_plan.generate(session=session, actor=ANALYST)
        session.commit()
        assert report.total > 10, report.summary()
        items = session.exec(select(ActionItem.id).order_by(ActionItem.id).limit(3)).all()
        for n, action_id in enumerate(items):
            actions.add_evidence(session=session, actor=ANALYST, action_id=action_id,
                                 files=[actions.Upload(f"gate-{n}.pdf", PDF % (100 + n))])
        actions.move(session=session, actor=ANALYST, action_id=items[0], to=Move.start)
        session.commit()
    config.cookie_key()
    config.link_key()


def tables(engine: Engine) -> dict[str, list[tuple]]:
    """Every table of the schema with its rows in primary-key order."""
    found = inspect(engine)
    content = {}
    with engine.connect() as conn:
        for name in sorted(found.get_table_names()):
            key = found.get_pk_constraint(name)["constrained_columns"]
            assert key, f"table {name} has no primary key to order its rows by"
            order = ", ".join(f'"{c}"' for c in key)
            content[name] = [tuple(r) for r in conn.execute(text(f'SELECT * FROM "{name}" ORDER BY {order}'))]
    return content


SEQUENCES = text("""
    SELECT s.relname, t.relname, a.attname, q.last_value
    FROM pg_class s
    JOIN pg_namespace n ON n.oid = s.relnamespace AND n.nspname = 'public'
    JOIN pg_sequences q ON q.schemaname = n.nspname AND q.sequencename = s.relname
    JOIN pg_depend d ON d.objid = s.oid AND d.classid = 'pg_class'::regclass AND d.refclassid = 'pg_class'::regclass
    JOIN pg_class t ON t.oid = d.refobjid
    JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = d.refobjsubid
    WHERE s.relkind = 'S' ORDER BY s.relname""")


def sequences(engine: Engine) -> dict[str, int | None]:
    """Each table's id sequence and where it stands; checks that a sequence in use stands at or past the highest id,
    so the next row gets a new one."""
    stands = {}
    with engine.connect() as conn:
        for sequence, table, column, last in conn.execute(SEQUENCES):
            highest = conn.execute(text(f'SELECT max("{column}") FROM "{table}"')).scalar()
            # A sequence never used (a row with a given id, as the single data version row) has no value yet.
            assert last is None or highest is None or last >= highest, \
                f"{sequence} at {last}, {table}.{column} at {highest}"
            stands[sequence] = last
    return stands


def schema(url: str) -> str:
    """The schema as pg_dump writes it (tables, keys, indexes, functions, triggers), without the random key that
    pg_dump puts around its output."""
    done = subprocess.run(["pg_dump", "--schema-only", "--no-owner", f"--dbname={backup.libpq_url(url)}"],
                          env={**os.environ, "PGPASSWORD": make_url(url).password or ""},
                          capture_output=True, text=True, timeout=120, check=True)
    return "\n".join(line for line in done.stdout.splitlines() if not line.startswith(("\\restrict", "\\unrestrict")))


def files(folder: Path) -> dict[str, bytes]:
    """The files a backup carries (evidence and keys), by path in the data folder."""
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file() and p.relative_to(folder).parts[0] in backup.FILE_MEMBERS}


@pytest.fixture
def environment(server, monkeypatch) -> None:
    """Settings from the environment only (no secrets file of the machine), keys made in the data folder."""
    monkeypatch.setattr(config, "secrets_files", lambda: [])
    monkeypatch.delenv("CTPAT_SECRETS_FILE", raising=False)
    for name in ("CTPAT_COOKIE_KEY", "CTPAT_LINK_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CTPAT_ADMIN_PASSWORD", PASSWORD)


@pytest.fixture
def empty_database(server) -> Iterator[tuple[str, Engine]]:
    """A new empty database on the test server, made by the test role (CREATEDB), and its engine; dropped after."""
    for url in _postgres_database(server):
        engine = create_engine(url)
        try:
            yield url, engine
        finally:
            engine.dispose()


def test_documented_pg_dump_and_pg_restore_give_the_same_database_and_files(server, environment, request, monkeypatch,
                                                                            capsys, tmp_path):
    doc = documented()
    # The document's example lines are what the code prints for the document's example URL.
    example_dump = _option(doc["backup"], "--out")
    assert doc["pg_dump"] == f"PGPASSWORD=... {backup.postgres_hint(doc['url'], example_dump)}"
    assert doc["pg_restore"] == f"PGPASSWORD=... {backup.postgres_restore_hint(doc['url'], example_dump)}"

    source_url = request.getfixturevalue("database_url")
    source = request.getfixturevalue("engine")
    with source.connect() as conn:
        server_major = int(conn.execute(text("SHOW server_version_num")).scalar()) // 10000
    for tool in ("pg_dump", "pg_restore"):
        version = subprocess.run([tool, "--version"], capture_output=True, text=True, check=True).stdout
        client_major = int(re.search(r"\) (\d+)", version).group(1))
        assert client_major >= server_major, f"{shutil.which(tool)} is version {client_major}, older than the " \
            f"server's {server_major}: put /usr/lib/postgresql/{server_major}/bin first on PATH (docs/OPERATIONS.md)"
    live, restored_dir = tmp_path / "live", tmp_path / "restored"
    monkeypatch.setenv("CTPAT_DATA_DIR", str(live))
    seed(source)

    # Back up: the files archive by manage.py, then the pg_dump command it prints, as the document gives it.
    out = tmp_path / "backup"
    out.mkdir()
    dump, archive = out / "ctpat.dump", out / "ctpat-files.tar.gz"
    argv = shlex.split(localised(doc["backup"], doc, url=source_url, dump=dump, files=archive))
    code, text_out, err = manage(monkeypatch, capsys, *argv[argv.index("manage.py") + 1:], url=source_url,
                                 data_dir=live)
    assert code == 2 and re.fullmatch(rf"Backed up \d+ files of the data folder to {re.escape(str(archive))}\.\n",
                                      text_out), (code, text_out, err)
    command = printed(err, "pg_dump")
    assert command == localised(doc["pg_dump"], doc, url=source_url, dump=dump, files=archive)
    assert f":{make_url(source_url).password}@" not in err
    shell(command, url=source_url, data_dir=live)
    assert dump.read_bytes()[:5] == b"PGDMP"  # pg_dump's custom format, which pg_restore reads

    # Restore into a new empty database and data folder: the pg_restore command manage.py prints for it, as the
    # document gives it, then the document's tar line.
    target_url, target = request.getfixturevalue("empty_database")
    code, _, err = manage(monkeypatch, capsys, "restore", "--from", str(dump), url=target_url, data_dir=restored_dir)
    assert code == 2 and err.startswith("error: Nothing was restored: PostgreSQL is restored with pg_restore"), err
    command = printed(err, "pg_restore")
    assert f":{make_url(target_url).password}@" not in err
    assert command == localised(doc["pg_restore"], doc, url=target_url, dump=dump, files=archive)
    shell(command, url=target_url, data_dir=restored_dir)
    restored_dir.mkdir(mode=0o700)
    shell(localised(doc["tar"], doc, url=target_url, dump=dump, files=archive), url=target_url, data_dir=restored_dir)

    expected = tables(source)
    head = ScriptDirectory.from_config(db.alembic_config(source_url)).get_current_head()
    assert expected["alembic_version"] == [(head,)]
    assert tables(target) == expected
    assert len(expected["partner"]) >= PARTNERS and len(expected["answer"]) > 10_000
    assert len(expected["evidence"]) == 12 and len(expected["actionevidence"]) == 3
    assert len(expected["auditevent"]) > 10
    assert schema(target_url) == schema(source_url)
    assert sequences(target) == sequences(source)

    # The same files, byte by byte, and every stored file the restored database names is there and intact.
    before = files(live)
    assert files(restored_dir) == before
    assert {".cookie_key", ".link_key"} <= set(before) and sum(k.startswith("evidence/") for k in before) == 10
    monkeypatch.setenv("CTPAT_DATA_DIR", str(restored_dir))
    with Session(target) as session:
        stored = session.exec(select(Evidence.sha256, Evidence.filename)).all() + \
            session.exec(select(ActionEvidence.sha256, ActionEvidence.filename)).all()
    for sha256, filename in stored:
        evidence.load_file(sha256=sha256, filename=filename)

    # The audit log is still append-only.
    for statement in ("UPDATE auditevent SET summary = 'forged'", "DELETE FROM auditevent", "TRUNCATE auditevent"):
        with pytest.raises(DatabaseError, match="append-only"), target.begin() as conn:
            conn.execute(text(statement))

    # The documented last step leaves a restored database as it is (same schema version, users already there).
    code, _, err = manage(monkeypatch, capsys, *shlex.split(doc["init-db"])[2:], url=target_url,
                          data_dir=restored_dir)
    assert (code, err) == (0, ""), err
    assert tables(target) == expected
    with target.connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == head

    # New rows get new ids: a partner and an audit event written through the services.
    with Session(target, expire_on_commit=False) as session:
        partner = partners.create_partner(session=session, actor=ANALYST, values={
            "partner_code": "RESTORED-1", "legal_name": "Restored Freight Ltd", "entity_type": "Foreign Manufacturer",
            "country_iso2": "MX"})
        event = audit.record(session=session, actor=ADMIN, action="restore", entity="database", entity_id="",
                             summary="Checked the restored database")
        session.commit()
    assert partner.id > max(row[0] for row in expected["partner"])
    assert event.id > max(row[0] for row in expected["auditevent"])
    sequences(target)

    # The same restore over a database in use (the restored one, with a new partner): its tables are dropped and
    # made again, triggers and all, and it holds the backup's content again.
    shell(command, url=target_url, data_dir=restored_dir)
    assert tables(target) == expected
    with Session(target) as session:
        assert session.exec(select(Partner).where(Partner.partner_code == "RESTORED-1")).first() is None
        assert session.get(AuditEvent, event.id) is None
    with pytest.raises(DatabaseError, match="append-only"), target.begin() as conn:
        conn.execute(text("DELETE FROM auditevent"))

    # A restore that fails half-way (a dump cut short: tables dropped, made and partly filled before pg_restore
    # reaches the end of the file; --verbose shows how far it got) changes nothing: it is one transaction.
    cut = dump.with_name("cut.dump")
    cut.write_bytes(dump.read_bytes()[: dump.stat().st_size * 9 // 10])
    failed = shell(f"{command.replace(shlex.quote(str(dump)), shlex.quote(str(cut)))} --verbose", url=target_url,
                   data_dir=restored_dir, ok=False)
    assert "processing data for table" in failed.stderr and "pg_restore: error" in failed.stderr, failed.stderr
    assert tables(target) == expected
