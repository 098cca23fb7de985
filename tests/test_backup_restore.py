"""manage.py backup --files then restore (SQLite): the same content, table by table, and the same evidence files;
all or nothing when the input is wrong."""

import io
import sqlite3
import sys
import tarfile
from pathlib import Path

import pytest

from cli import main as cli_main
from services.collection import evidence
from services.core import config


@pytest.fixture
def run(monkeypatch, capsys):
    def command(data_dir: Path, database: Path, *argv: str) -> tuple[int, str, str]:
        monkeypatch.setenv("CTPAT_DATA_DIR", str(data_dir))
        monkeypatch.setenv("CTPAT_DATABASE_URL", f"sqlite:///{database}")
        monkeypatch.setenv("CTPAT_ADMIN_PASSWORD", "correct horse battery staple")
        monkeypatch.setattr(sys, "stdin", io.StringIO(""))
        capsys.readouterr()
        code = cli_main(list(argv))
        out, err = capsys.readouterr()
        return code, out, err

    return command


def tables(path: Path) -> dict[str, list[tuple]]:
    """Every table's rows in a fixed order: what 'identical content' is compared on."""
    with sqlite3.connect(path) as conn:
        names = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' "
                                            "AND name NOT LIKE 'sqlite_%' ORDER BY name")]
        content = {}
        for name in names:
            width = len(conn.execute(f'SELECT * FROM "{name}" LIMIT 0').description)
            order = ", ".join(str(i) for i in range(1, width + 1))
            content[name] = conn.execute(f'SELECT * FROM "{name}" ORDER BY {order}').fetchall()
    return content


def files(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()
            and p.parts[-2] != "packs"}


@pytest.fixture
def source(run, tmp_path, monkeypatch):
    """A demo company with two evidence files, and its backup: (data folder, database, backup, files archive)."""
    data, database = tmp_path / "live", tmp_path / "live" / "ctpat.db"
    assert run(data, database, "seed-demo", "--partners", "25")[0] == 0
    evidence.store_file(filename="seal-log.pdf", data=b"%PDF-1.4\n% seal log\n%%EOF\n")
    evidence.store_file(filename="fence.png", data=b"\x89PNG\r\n\x1a\n" + b"\0" * 64)
    key = config.link_key()  # made by the first partner link: issued links stay valid after a restore
    out, archive = tmp_path / "backup" / "ctpat.db", tmp_path / "backup" / "files.tar.gz"
    out.parent.mkdir()
    code, text, err = run(data, database, "backup", "--out", str(out), "--files", str(archive))
    # The two evidence files and the link key (the cookie key is made by the app's first run, not had here).
    assert (code, err) == (0, "") and "Backed up 3 files of the data folder" in text
    assert key == (data / ".link_key").read_text().encode()
    return data, database, out, archive


def test_restore_into_an_empty_place_gives_the_same_tables_and_files(run, source, tmp_path):
    data, database, out, archive = source
    target_data, target = tmp_path / "restored", tmp_path / "restored" / "ctpat.db"
    code, text, err = run(target_data, target, "restore", "--from", str(out), "--files", str(archive))
    assert (code, err) == (0, ""), err
    assert "Restored 3 files into the data folder." in text
    assert tables(target) == tables(database)
    before = {k: v for k, v in files(data).items() if not k.startswith("ctpat.db")}
    after = {k: v for k, v in files(target_data).items() if not k.startswith("ctpat.db")}
    assert after == before and any(k.startswith("evidence/") for k in after)
    assert all(p.stat().st_mode & 0o077 == 0 for p in (target_data / "evidence").rglob("*"))
    # The restored database is usable: the command line works on it without a first-admin notice.
    code, text, err = run(target_data, target, "stats", "--json")
    assert code == 0 and "password" not in err


def test_restore_never_replaces_work_without_force_and_refuses_a_bad_archive(run, source, tmp_path):
    data, database, out, archive = source
    kept = tables(database)
    code, _, err = run(data, database, "restore", "--from", str(out))
    assert code == 2 and "already holds data; add --force" in err
    evil = tmp_path / "evil.tar.gz"
    with tarfile.open(evil, "w:gz") as tar:
        member = tarfile.TarInfo("ctpat-files/../../outside.txt")
        member.size = 3
        tar.addfile(member, io.BytesIO(b"bad"))
    code, _, err = run(data, database, "restore", "--from", str(out), "--files", str(evil), "--force")
    assert code == 2 and "is not part of a files backup; nothing was restored" in err
    assert tables(database) == kept and not (tmp_path / "outside.txt").exists()
    not_a_db = tmp_path / "notes.db"
    not_a_db.write_bytes(b"not a database at all" * 100)
    code, _, err = run(tmp_path / "other", tmp_path / "other" / "ctpat.db", "restore", "--from", str(not_a_db))
    assert code == 2 and "not a SQLite database" in err
    assert run(data, database, "restore", "--from", str(out), "--force")[0] == 0
    assert tables(database) == kept
