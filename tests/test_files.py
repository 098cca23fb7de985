"""The registry of downloadable files: random id, owner, expiry, and only files inside the data folder."""

from datetime import datetime, timedelta

import pytest
from sqlmodel import select

from models import Download
from models.common import utcnow
from services.core import files
from services.core.permissions import ValidationError


@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("CTPAT_DATA_DIR", str(tmp_path / "data"))
    return tmp_path / "data"


def test_register_and_find_for_its_owner_only(session, staff, data_dir):
    path = files.export_path(".csv")
    path.write_text("a,b\n", encoding="utf-8")
    assert path.parent == data_dir / "downloads"
    token = files.register(session=session, owner="luis", path=path, filename="../../etc/partners\x07.csv",
                           media_type="text/csv")
    session.commit()
    assert len(token) >= 43 and files.url(token) == f"downloads/{token}"
    stored = session.exec(select(Download)).one()
    assert token not in stored.token_hash and stored.filename == "partners.csv"  # only a hash; no folders

    entry = files.find(session=session, token=token, username="luis")
    assert (entry.path, entry.media_type) == (str(path.resolve()), "text/csv")
    assert files.find(session=session, token=token, username="vp") is None  # someone else's
    assert files.find(session=session, token=token + "x", username="luis") is None
    assert files.find(session=session, token="", username="luis") is None
    assert files.find(session=session, token=token, username="luis", now=utcnow() + timedelta(hours=2)) is None
    path.unlink()
    assert files.find(session=session, token=token, username="luis") is None  # the file is gone


def test_only_files_inside_the_data_folder(session, staff, data_dir, tmp_path):
    outside = tmp_path / "secret.txt"
    outside.write_text("x", encoding="utf-8")
    with pytest.raises(ValidationError, match="outside the data folder"):
        files.register(session=session, owner="luis", path=outside, filename="secret.txt")
    sneaky = data_dir / ".." / "secret.txt"
    data_dir.mkdir(exist_ok=True)
    with pytest.raises(ValidationError, match="outside the data folder"):
        files.register(session=session, owner="luis", path=sneaky, filename="secret.txt")
    with pytest.raises(ValidationError, match="No file at"):
        files.register(session=session, owner="luis", path=data_dir / "missing.pdf", filename="x.pdf")


def test_purge_removes_expired_entries_and_generated_files(session, staff, data_dir):
    generated, kept = files.export_path(".zip"), files.export_path(".pdf")
    generated.write_bytes(b"zip")
    kept.write_bytes(b"pdf")
    files.register(session=session, owner="luis", path=generated, filename="pack.zip", ttl=timedelta(seconds=-1),
                   delete_file=True)
    files.register(session=session, owner="luis", path=kept, filename="evidence.pdf", ttl=timedelta(seconds=-1))
    live = files.register(session=session, owner="luis", path=kept, filename="evidence.pdf")
    session.commit()
    assert files.purge_expired(session=session) == 2
    session.commit()
    assert not generated.exists() and kept.exists()  # evidence is not the registry's to delete
    assert files.find(session=session, token=live, username="luis") is not None
    assert files.purge_expired(session=session) == 0


def test_purge_removes_half_written_exports_a_day_old(session, staff, data_dir):
    import os

    old, running = files.export_path(".zip.part"), files.export_path(".zip.part")
    old.write_bytes(b"half a pack")
    running.write_bytes(b"an export writing now")
    day_ago = (datetime.now() - files.PARTIAL_KEPT - timedelta(minutes=1)).timestamp()
    os.utime(old, (day_ago, day_ago))
    files.purge_expired(session=session)
    assert not old.exists() and running.exists()
