"""The Reports page per role: admins and analysts build the validation pack on disk and download it from there;
viewers are told whom to ask."""

import zipfile
from datetime import date

import pytest
from sqlmodel import select

from models import AuditEvent
from services.demo.generator import seed_demo
from services.reports import pack


@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("CTPAT_DATA_DIR", str(tmp_path / "data"))
    return tmp_path / "data"


@pytest.mark.parametrize("role", ["admin", "analyst"])
def test_writers_build_and_download_the_pack(page_app, session, data_dir, role):
    seed_demo(session=session, partners=15, today=date(2027, 3, 1))
    session.commit()
    at = page_app("reports", role=role, timeout=240).run()
    assert not at.exception
    assert at.title[0].value == "Reports"
    assert not at.get("download_button")
    at.button[0].click().run()
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    [built] = (data_dir / "packs").glob("*/validation-pack-*.zip")
    assert built.parent.name == {"admin": "admin", "analyst": "luis"}[role]
    assert zipfile.ZipFile(built).namelist()[:2] == [pack.WORKBOOK, pack.PDF]
    assert "Built validation-pack-" in at.success[0].value
    [download] = at.get("download_button")
    assert download.proto.label == "Download"
    session.expire_all()
    event = session.exec(select(AuditEvent).where(AuditEvent.entity == "validation pack")).one()
    assert event.action == "export"


def test_viewer_cannot_build_or_download(page_app, data_dir, tmp_path):
    at = page_app("reports", role="viewer").run()
    assert not at.exception
    assert "admins and analysts build and download it" in at.info[0].value
    assert not at.button and not at.get("download_button")
    assert not (data_dir / "packs").exists()


def test_not_logged_in_sees_nothing(page_app, data_dir):
    at = page_app("reports", role=None).run()
    assert not at.exception
    assert not at.title and not at.button
