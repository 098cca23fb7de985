"""The command line (cli package behind manage.py), run in-process on a fresh SQLite database per test (and once as a
real subprocess through manage.py)."""

import io
import json
import os
import re
import shlex
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager, redirect_stderr, redirect_stdout
from datetime import timedelta
from pathlib import Path

import pytest
from sqlmodel import Session, func, select

from cli import main as cli_main
from models import AuditEvent, Partner, User
from models.common import utcnow
from services.core import backup, config, db, users
from services.reports import overview

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "correct horse battery staple"


@pytest.fixture
def cli(tmp_path, monkeypatch, capsys):
    """Run ``cli.main(argv)`` on tmp_path/ctpat.db; returns (exit code, stdout, stderr)."""
    monkeypatch.setenv("CTPAT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("CTPAT_DATABASE_URL", f"sqlite:///{tmp_path / 'ctpat.db'}")
    monkeypatch.delenv("CTPAT_ADMIN_PASSWORD", raising=False)

    def run(*argv: str, stdin: str = "") -> tuple[int, str, str]:
        capsys.readouterr()
        monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
        code = cli_main(list(argv))
        out, err = capsys.readouterr()
        return code, out, err

    return run


@contextmanager
def opened() -> Iterator[Session]:
    """A session on the CLI's database, for checking what a command did."""
    engine = db.make_engine(config.database_url())
    try:
        with Session(engine) as session:
            yield session
    finally:
        engine.dispose()


@pytest.fixture(scope="module")
def initialised(tmp_path_factory) -> Path:
    """A database file after `init-db`, made once: migrating and loading reference data takes seconds."""
    path = tmp_path_factory.mktemp("template") / "ctpat.db"
    with pytest.MonkeyPatch.context() as env, redirect_stdout(io.StringIO()), redirect_stderr(io.StringIO()):
        env.setenv("CTPAT_DATABASE_URL", f"sqlite:///{path}")
        env.delenv("CTPAT_ADMIN_PASSWORD", raising=False)
        assert cli_main(["init-db"]) == 0
    return path


@pytest.fixture
def database(cli, initialised, tmp_path) -> Iterator[Session]:
    """The CLI's database as `init-db` left it, so commands print no first-admin notice."""
    shutil.copyfile(initialised, tmp_path / "ctpat.db")  # no connection is open: a plain copy is complete
    with opened() as session:
        yield session


def _one_time_password(output: str) -> str:
    return re.search(r"^    (\S+)$", output, re.MULTILINE).group(1)


def test_init_db_creates_the_database_and_prints_the_admin_password_once(cli):
    code, out, err = cli("init-db")
    assert code == 0
    assert "249 country, 101 criterion" in out and "18 mraprogram" in out
    password = _one_time_password(err)  # a notice on stderr, so stdout stays machine-readable
    assert password not in out
    with opened() as session:
        admin = users.get_user(session=session, username="admin")
        assert users.verify_password(password, admin.password_hash) and admin.must_change_password

    code, out, err = cli("init-db")
    assert (code, err) == (0, "")
    assert "reference data loaded: nothing new" in out


def test_create_user_with_generated_password(cli, database):
    code, out, err = cli("create-user", "Luis", "--role", "analyst", "--name", "Luis Ortega", "--email", "luis@nw.ex")
    assert (code, err) == (0, "")
    assert "Created user 'luis' (analyst)" in out
    password = _one_time_password(out)
    luis = users.get_user(session=database, username="luis")
    assert (luis.name, luis.email, luis.role) == ("Luis Ortega", "luis@nw.ex", "analyst")
    assert luis.must_change_password
    assert users.verify_password(password, luis.password_hash)
    [event] = database.exec(select(AuditEvent).where(AuditEvent.entity_id == "luis")).all()
    assert (event.username, event.action) == ("cli", "create")


def test_create_user_with_password_from_stdin(cli, database):
    code, out, err = cli("create-user", "dana", "--role", "admin", "--password-stdin", stdin=PASSWORD + "\r\n")
    assert (code, err) == (0, "")
    assert PASSWORD not in out
    assert "One-time password" not in out
    assert users.verify_password(PASSWORD, users.get_user(session=database, username="dana").password_hash)


@pytest.mark.parametrize(
    ("argv", "stdin", "message"),
    [
        (("--role", "owner"), "", "argument --role: invalid choice: 'owner'"),
        ((), "", "the following arguments are required: --role"),
        (("--role", "viewer", "--password", "visible in ps"), "", "unrecognized arguments: --password"),
        (("--role", "viewer", "--password-stdin"), "short\n", "error: Password must have at least 12 characters.\n"),
        (("--role", "viewer", "--password-stdin"), "密" * 25, "error: Password must be at most 72 bytes"),
        (("--role", "viewer", "--password-stdin"), "", "error: No password on stdin.\n"),
        (("--role", "viewer", "--password-stdin"), "first line\nsecond line\n",
         "error: The password on stdin must be a single line.\n"),
    ],
)
def test_create_user_refuses_bad_input(cli, database, argv, stdin, message):
    code, out, err = cli("create-user", "eve", *argv, stdin=stdin)
    assert (code, out) == (2, "")
    assert message in err
    if message.startswith("error: "):
        assert err.count("\n") == 1  # one line
    assert users.get_user(session=database, username="eve") is None
    assert database.exec(select(func.count()).select_from(AuditEvent)).one() == 1  # only the first admin's


def test_create_user_twice(cli, database):
    assert cli("create-user", "luis", "--role", "analyst")[0] == 0
    assert cli("create-user", "LUIS", "--role", "viewer") == (2, "", "error: Username 'luis' is already taken.\n")
    assert cli("create-user", "two words", "--role", "viewer")[2].startswith("error: Username: letters, digits")


def test_reset_password(cli, database):
    cli("create-user", "luis", "--role", "analyst")
    luis = users.get_user(session=database, username="luis")
    luis.must_change_password = False
    luis.locked_until = utcnow() + timedelta(minutes=10)
    luis.failed_login_attempts = 5
    database.add(luis)
    database.commit()

    code, out, err = cli("reset-password", "Luis")
    assert (code, err) == (0, "")
    password = _one_time_password(out)
    database.expire_all()
    luis = users.get_user(session=database, username="luis")
    assert users.verify_password(password, luis.password_hash)
    assert (luis.must_change_password, luis.failed_login_attempts, luis.locked_until) == (True, 0, None)

    code, out, _ = cli("reset-password", "luis", "--password-stdin", stdin=PASSWORD)
    assert code == 0 and PASSWORD not in out
    database.expire_all()
    assert users.verify_password(PASSWORD, users.get_user(session=database, username="luis").password_hash)
    actions = database.exec(select(AuditEvent.username, AuditEvent.action).where(AuditEvent.entity_id == "luis")).all()
    assert actions.count(("cli", "reset password")) == 2


def test_reset_password_refuses_bad_input(cli, database):
    assert cli("reset-password", "ghost") == (2, "", "error: No user 'ghost'.\n")
    cli("create-user", "luis", "--role", "analyst")
    before = users.get_user(session=database, username="luis").password_hash
    assert cli("reset-password", "luis", "--password-stdin", stdin="short") == (
        2, "", "error: Password must have at least 12 characters.\n")
    database.expire_all()
    assert users.get_user(session=database, username="luis").password_hash == before


def test_stats_json_matches_the_database(cli, database):
    cli("create-user", "luis", "--role", "analyst")
    code, out, err = cli("stats", "--json")
    assert (code, err) == (0, "")
    counts = json.loads(out)
    assert counts == overview.table_counts(session=database)
    assert (counts["country"], counts["criterion"], counts["mraprogram"], counts["user"]) == (249, 101, 18, 2)
    assert counts["partner"] == 0

    code, out, _ = cli("stats")
    assert code == 0
    assert re.search(r"^country\s+249$", out, re.MULTILINE)
    assert len(out.splitlines()) == len(counts)


def _row_counts(path: Path) -> dict[str, int]:
    with sqlite3.connect(path) as conn:
        tables = [t for (t,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        return {t: conn.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in tables}


def test_backup_copies_the_live_database(cli, database, tmp_path):
    cli("create-user", "luis", "--role", "analyst")
    # A change the running app just committed: while a connection stays open it sits in the -wal file, which a plain
    # file copy of ctpat.db would miss.
    database.add(User(username="wal.only", name="In the WAL", role="viewer", password_hash="-"))
    database.commit()
    wal = Path(config.database_url().removeprefix("sqlite:///") + "-wal")
    assert wal.stat().st_size > 0
    out_file = tmp_path / "backups" / "ctpat-2027-01-10.db"
    out_file.parent.mkdir()

    code, out, err = cli("backup", "--out", str(out_file))
    assert (code, err) == (0, "")
    size = int(re.search(r"\(([\d,]+) bytes\)", out).group(1).replace(",", ""))
    assert size == out_file.stat().st_size > 100_000
    assert os.listdir(out_file.parent) == [out_file.name]  # no temporary file left behind

    with sqlite3.connect(out_file) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("delete",)  # one self-contained file
        assert conn.execute("SELECT name FROM user WHERE username = 'wal.only'").fetchone() == ("In the WAL",)
    copied = _row_counts(out_file)
    live = overview.table_counts(session=database)
    assert {t: copied[t] for t in live} == live
    assert copied["user"] == 3 and copied["alembic_version"] == 1


def test_backup_never_overwrites_by_accident(cli, database, tmp_path):
    out_file = tmp_path / "backup.db"
    out_file.write_bytes(b"yesterday's backup")
    code, out, err = cli("backup", "--out", str(out_file))
    assert (code, out) == (2, "")
    assert err == f"error: {out_file} already exists; choose another file or add --force to replace it.\n"
    assert out_file.read_bytes() == b"yesterday's backup"

    assert cli("backup", "--out", str(out_file), "--force")[0] == 0
    assert _row_counts(out_file)["country"] == 249

    code, _, err = cli("backup", "--out", str(tmp_path / "missing" / "b.db"))
    assert (code, err) == (2, f"error: Folder {tmp_path / 'missing'} does not exist.\n")
    code, _, err = cli("backup", "--out", config.database_url().removeprefix("sqlite:///"), "--force")
    assert (code, err) == (2, "error: The backup file cannot be the database itself.\n")


def test_postgres_backup_hint_hides_the_password():
    hint = backup.postgres_hint("postgresql+psycopg://ctpat:s3cr%40t@db.internal:5433/ctpat?sslmode=require",
                                "/backups/ctpat 2027.dump")
    assert "s3cr" not in hint
    assert shlex.split(hint) == ["pg_dump", "--format=custom", "--file=/backups/ctpat 2027.dump",
                                 "--dbname=postgresql://ctpat@db.internal:5433/ctpat?sslmode=require"]
    assert shlex.split(backup.postgres_hint("postgresql://localhost/ctpat"))[-1] == "--dbname=postgresql://localhost/ctpat"


def test_postgres_restore_hint_hides_the_password_and_restores_in_one_transaction():
    hint = backup.postgres_restore_hint("postgresql+psycopg://ctpat:s3cr%40t@db.internal:5433/ctpat?sslmode=require",
                                        "/backups/ctpat 2027.dump")
    assert "s3cr" not in hint
    assert shlex.split(hint) == ["pg_restore", "--clean", "--if-exists", "--no-owner", "--single-transaction",
                                 "--dbname=postgresql://ctpat@db.internal:5433/ctpat?sslmode=require",
                                 "/backups/ctpat 2027.dump"]


def test_backup_on_postgresql_prints_the_pg_dump_command(database_url, engine, monkeypatch, capsys, tmp_path):
    if not database_url.startswith("postgresql"):
        pytest.skip("needs PostgreSQL through CTPAT_TEST_DATABASE_URL")
    monkeypatch.setenv("CTPAT_DATABASE_URL", database_url)
    monkeypatch.setenv("CTPAT_ADMIN_PASSWORD", PASSWORD)
    code = cli_main(["backup", "--out", str(tmp_path / "ctpat.dump")])
    out, err = capsys.readouterr()
    assert (code, out) == (2, "")
    assert err.startswith("error: PostgreSQL is backed up with pg_dump") and "pg_dump --format=custom" in err
    password = engine.url.password
    # Not as the password of a URL (the user name may be the same word, as with ctpat:ctpat in CI).
    assert not password or f":{password}@" not in err and "***" not in err


def test_seed_demo_once(cli, database):
    code, out, err = cli("seed-demo", "--partners", "30", "--seed", "7")
    assert (code, err) == (0, "")
    assert out.startswith("Demo data added: 30 partners, ")
    # The lanes add a few partners of their own (seed/demo/lane_partners.csv) for types and countries the 30 lack.
    lanes, extra = map(int, re.search(r", (\d+) lanes \(with (\d+) more partners they need\)\.$", out).groups())
    assert lanes >= 20 and 0 < extra <= 11
    stored = database.exec(select(func.count()).select_from(Partner)).one()
    assert stored == 30 + extra
    counts = overview.table_counts(session=database)

    assert cli("seed-demo", "--partners", "30") == (
        2, "", f"error: The database already holds {stored} partners; demo data goes into a database without "
               "partners only.\n")
    database.expire_all()
    assert overview.table_counts(session=database) == counts


@pytest.mark.parametrize(("argv", "message"), [
    (("--partners", "0"), "argument --partners: must be between 1 and 100,000, not 0"),
    (("--partners", "many"), "argument --partners: 'many' is not a whole number"),
    (("--seed", "x"), "argument --seed: 'x' is not a whole number"),
])
def test_seed_demo_refuses_bad_numbers(cli, argv, message):
    code, out, err = cli("seed-demo", *argv)
    assert (code, out) == (2, "")
    assert message in err


def test_init_db_demo_fills_only_an_empty_database(cli, database):
    code, out, err = cli("init-db", "--demo")
    assert (code, err) == (0, "")
    assert "Demo data added: 200 partners" in out
    extra = int(re.search(r"\(with (\d+) more partners they need\)", out).group(1))
    assert database.exec(select(func.count()).select_from(Partner)).one() == 200 + extra

    code, out, err = cli("init-db", "--demo")
    assert code == 0
    assert err == f"Demo data not added: the database already holds {200 + extra} partners.\n"
    assert database.exec(select(func.count()).select_from(Partner)).one() == 200 + extra


def test_usage_errors(cli, monkeypatch):
    assert cli()[0] == 2
    assert cli("frobnicate")[0] == 2
    code, out, _ = cli("--help")
    assert code == 0 and "create-user" in out and "backup" in out
    monkeypatch.setenv("CTPAT_DATABASE_URL", "not a database url")
    code, out, err = cli("stats")
    assert (code, out) == (2, "")
    assert err.startswith("error: CTPAT_DATABASE_URL is not a usable database URL: ") and err.count("\n") == 1


def test_stats_in_a_real_process(tmp_path):
    env = {**os.environ, "CTPAT_DATA_DIR": str(tmp_path), "CTPAT_DATABASE_URL": f"sqlite:///{tmp_path / 'p.db'}"}
    env.pop("CTPAT_ADMIN_PASSWORD", None)
    done = subprocess.run([sys.executable, "manage.py", "stats", "--json"], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    counts = json.loads(done.stdout)
    assert (counts["country"], counts["user"], counts["partner"]) == (249, 1, 0)
    assert "One-time password" not in done.stdout and "one-time password" in done.stderr


def test_a_new_module_in_the_package_plugs_in_its_commands(tmp_path, monkeypatch, capsys):
    """A file with @command functions (e.g. cli/lanes.py) is found by the parser without editing anything else."""
    import cli
    from cli.base import COMMANDS, Context

    (tmp_path / "lanes_probe.py").write_text(
        "from cli.base import CLI, arg, command\n\n\n"
        "@command('lanes-probe', 'Probe a plug-in.', arg('--times', type=int, default=1))\n"
        "def cmd_lanes_probe(args, ctx):\n"
        "    '''Print who runs it and how often.'''\n"
        "    print(f'{CLI.username} x{args.times} on {ctx.url}')\n"
        "    return 0\n")
    monkeypatch.setattr(cli, "__path__", [*cli.__path__, str(tmp_path)])
    try:
        parser = cli.build_parser()
        args = parser.parse_args(["lanes-probe", "--times", "3"])
        assert args.run(args, Context(engine=None, url="sqlite://", startup=None)) == 0
        assert capsys.readouterr().out == "cli x3 on sqlite://\n"
        assert "Print who runs it and how often." in parser._subparsers._group_actions[0].choices[
            "lanes-probe"].format_help()
    finally:
        COMMANDS.pop("lanes-probe", None)
        sys.modules.pop("cli.lanes_probe", None)
    assert {"init-db", "import-partners", "open-cycle"} <= set(COMMANDS)
