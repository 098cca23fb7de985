"""Settings in one place, and the data folder, database, backups and cookie key private from the start."""

import os
import stat
from pathlib import Path

import pytest
from sqlalchemy import text

from services.core import backup, config, db


@pytest.fixture
def open_umask(monkeypatch):
    """Umask 0, and no chmod: only a mode given when the file or folder is created keeps it private.

    (A file created open and restricted afterwards would be readable by anyone in between.)
    """

    def refuse(*_args, **_kwargs):
        raise AssertionError("a private file must get its mode when it is created, not by a chmod afterwards")

    monkeypatch.setattr(os, "chmod", refuse)
    monkeypatch.setattr(os, "fchmod", refuse)
    monkeypatch.setattr(Path, "chmod", refuse)
    previous = os.umask(0)
    yield
    os.umask(previous)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def no_secrets_files(tmp_path, monkeypatch):
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_defaults_without_environment_or_secrets(no_secrets_files):
    settings = config.load(environ={})
    assert settings.data_dir == config.ROOT / "data"
    assert settings.database_url == f"sqlite:///{config.ROOT / 'data' / 'ctpat.db'}"
    assert (settings.demo, settings.admin_password, settings.cookie_key) == (True, None, None)
    assert (settings.cookie_expiry_days, settings.base_url) == (1.0, None)
    assert settings.evidence_dir == config.ROOT / "data" / "evidence"


def test_environment_then_secrets(no_secrets_files, tmp_path):
    env = {"CTPAT_DATA_DIR": str(tmp_path / "d"), "CTPAT_DEMO": "off", "CTPAT_COOKIE_EXPIRY_DAYS": "0.5",
           "CTPAT_BASE_URL": "  ", "CTPAT_COOKIE_KEY": "from-env", "CTPAT_ADMIN_PASSWORD": "chosen by IT, 2027"}
    settings = config.load(environ=env)
    assert settings.database_url == f"sqlite:///{tmp_path / 'd' / 'ctpat.db'}"  # follows the data folder
    assert (settings.demo, settings.cookie_expiry_days, settings.base_url) == (False, 0.5, None)
    assert (settings.cookie_key, settings.admin_password) == ("from-env", "chosen by IT, 2027")

    # A secret wins over the environment; an empty secret does not count.
    secrets = {"database_url": "postgresql+psycopg://u@h/db", "cookie_key": "", "demo": False,
               "base_url": "https://ctpat.example.com"}
    settings = config.load(secrets=secrets, environ=env)
    assert settings.database_url == "postgresql+psycopg://u@h/db"
    assert (settings.cookie_key, settings.demo, settings.base_url) == ("from-env", False, "https://ctpat.example.com")


def test_the_command_line_reads_the_same_secrets_file(no_secrets_files, monkeypatch):
    folder = no_secrets_files / ".streamlit"
    folder.mkdir()
    (folder / "secrets.toml").write_text('database_url = "sqlite:////srv/ctpat/ctpat.db"\n', encoding="utf-8")
    monkeypatch.setenv("CTPAT_DATABASE_URL", "sqlite:////elsewhere.db")
    assert config.database_url() == "sqlite:////srv/ctpat/ctpat.db"
    assert config.load(secrets={}).database_url == "sqlite:////elsewhere.db"  # the app passes st.secrets instead


def test_data_folder_and_nested_folders_are_created_private(tmp_path, open_umask):
    settings = config.load(secrets={}, environ={"CTPAT_DATA_DIR": str(tmp_path / "a" / "data")})
    assert config.data_dir(settings) == tmp_path / "a" / "data"
    assert _mode(tmp_path / "a") == 0o700 and _mode(tmp_path / "a" / "data") == 0o700
    nested = config.private_dir(tmp_path / "a" / "data" / "evidence" / "ab")
    assert _mode(nested) == _mode(nested.parent) == 0o700


def test_an_existing_open_data_folder_is_made_private(tmp_path):
    folder = tmp_path / "data"
    folder.mkdir()
    folder.chmod(0o755)
    config.data_dir(config.load(secrets={}, environ={"CTPAT_DATA_DIR": str(folder)}))
    assert _mode(folder) == 0o700


def test_generated_cookie_key_is_private_from_the_start_and_kept(tmp_path, open_umask):
    settings = config.load(secrets={}, environ={"CTPAT_DATA_DIR": str(tmp_path / "data")})
    key = config.cookie_key(settings)
    path = tmp_path / "data" / ".cookie_key"
    assert len(key) >= 60 and path.read_text(encoding="utf-8") == key
    assert _mode(path) == 0o600 and _mode(path.parent) == 0o700
    assert config.cookie_key(settings) == key  # generated once
    configured = config.load(secrets={"cookie_key": "configured"}, environ={"CTPAT_DATA_DIR": str(tmp_path)})
    assert config.cookie_key(configured) == "configured"


def test_new_sqlite_database_and_its_wal_files_are_private(tmp_path, open_umask):
    engine = db.make_engine(f"sqlite:///{tmp_path / 'new' / 'ctpat.db'}")
    try:
        with engine.begin() as conn:
            conn.execute(text("CREATE TABLE t (x INTEGER)"))
            conn.execute(text("INSERT INTO t VALUES (1)"))
        files = sorted(p.name for p in (tmp_path / "new").iterdir())
        assert files == ["ctpat.db", "ctpat.db-shm", "ctpat.db-wal"]
        assert {name: _mode(tmp_path / "new" / name) for name in files} == dict.fromkeys(files, 0o600)
        assert _mode(tmp_path / "new") == 0o700
    finally:
        engine.dispose()


def test_backups_are_private(tmp_path, open_umask):
    url = f"sqlite:///{tmp_path / 'live.db'}"
    engine = db.make_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(text("CREATE TABLE t (x INTEGER)"))
        out = tmp_path / "backup.db"
        assert backup.backup_sqlite(url=url, out=out) > 0
        assert _mode(out) == 0o600
        assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []  # no partial file left
    finally:
        engine.dispose()
