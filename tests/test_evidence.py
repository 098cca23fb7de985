"""Evidence files: type by content, size limit, stored once by hash outside the database, staff-only download."""

import hashlib
import io
import zipfile
from datetime import date, timedelta

import pytest
from openpyxl import Workbook
from sqlalchemy import select

from models import Assignment, Evidence, Partner
from services.collection import cycles, evidence, questionnaire
from services.core import audit, config
from services.core.permissions import PermissionDenied, ValidationError
from services.partners.registry import create_partner
from tests.conftest import ADMIN, ANALYST, VIEWER, via_link

PDF = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00\x00\x90wS\xde"
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00\xff\xd9"


@pytest.fixture(autouse=True)
def evidence_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("CTPAT_DATA_DIR", str(tmp_path))
    return tmp_path / "evidence"


def ooxml(parts: dict[str, bytes], content_types: bytes = b"<Types/>") -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", content_types)
        for name, data in parts.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def plain_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("photo.jpg", JPEG)
    return buffer.getvalue()


def xlsx() -> bytes:
    buffer = io.BytesIO()
    book = Workbook()
    book.active["A1"] = "seal log"
    book.save(buffer)
    return buffer.getvalue()


@pytest.fixture
def assignments(session, staff) -> dict[str, Assignment]:
    """Partners A1 and B1 in an open cycle."""
    for code in ("A1", "B1"):
        create_partner(session=session, actor=ANALYST, values={
            "partner_code": code, "legal_name": f"{code} Ltd", "entity_type": "Foreign Manufacturer",
            "country_iso2": "CN"})
    cycle = cycles.open_cycle(session=session, actor=ANALYST, name="2027", due_date=date.today() + timedelta(days=60))
    rows = session.exec(select(Partner.partner_code, Assignment).join(Assignment, Assignment.partner_id == Partner.id)
                        .where(Assignment.cycle_id == cycle.id)).all()
    return dict(rows)


def upload(session, assignment, filename, data, criterion_id="7.1", actor=None):
    return evidence.add_evidence(session=session, assignment_id=assignment.id, criterion_id=criterion_id,
                                 filename=filename, data=data, uploaded_by="Ms. Chen",
                                 actor=actor or via_link(session, assignment.id))


def test_sniffing_by_content():
    assert evidence.sniff_type(PDF) == "application/pdf"
    assert evidence.sniff_type(PNG) == "image/png"
    assert evidence.sniff_type(JPEG) == "image/jpeg"
    assert evidence.sniff_type(b"GIF89a\x01\x00\x01\x00") == "image/gif"
    assert evidence.sniff_type(b"RIFF\x24\x00\x00\x00WEBPVP8 ") == "image/webp"
    assert evidence.sniff_type(xlsx()) == evidence.XLSX
    assert evidence.sniff_type(ooxml({"word/document.xml": b"<w:document/>"})) == evidence.DOCX
    assert evidence.sniff_type("Seal log checked daily by the guard.\nFirma: José\n".encode()) == "text/plain"
    for refused in (
        b"MZ\x90\x00\x03\x00\x00\x00\x04\x00",  # Windows program
        b"\x7fELF\x02\x01\x01\x00",
        b"#!/bin/sh\nrm -rf /\n",
        ooxml({"word/document.xml": b"x", "word/vbaProject.bin": b"macro"}),
        ooxml({"xl/workbook.xml": b"x"}, b"<Types><Override ContentType='application/vnd.ms-excel.sheet.macroEnabled"
                                          b".main+xml'/></Types>"),
        b"PK\x03\x04not really a zip",
        b"<!DOCTYPE html><html><body>invoice</body></html>",
        b"<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>",
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1\x00\x00",  # old .doc/.xls
        plain_zip(),
        bytes(range(256)),
    ):
        assert evidence.sniff_type(refused) is None, refused[:20]


@pytest.mark.parametrize(("filename", "data", "message"), [
    ("tool.exe", b"MZ\x90\x00\x03" + b"\x00" * 100, "a program or script"),
    ("photo.pdf", b"MZ\x90\x00\x03" + b"\x00" * 100, "a program or script"),
    ("policy.docx", ooxml({"word/document.xml": b"x", "word/vbaProject.bin": b"m"}), "an Office file with macros"),
    ("photos.zip", plain_zip(), "a ZIP archive"),
    ("invoice.pdf", b"<html><body><script>document.location='http://evil'</script></body></html>",
     "HTML, SVG, XML or script"),
    ("scan.jpg", PDF, "the content is a PDF document, so the name must end in .pdf"),
    ("empty.pdf", b"", "the file is empty"),
    ("huge.pdf", PDF + b"0" * evidence.MAX_EVIDENCE_BYTES, "over the 10 MB limit"),
])
def test_refused_uploads_say_why(session, assignments, filename, data, message):
    assignment = assignments["A1"]
    with pytest.raises(ValidationError) as raised:
        upload(session, assignment, filename, data)
    assert message in str(raised.value) and str(raised.value).startswith(filename)
    assert session.exec(select(Evidence)).first() is None


@pytest.mark.parametrize(("filename", "data", "language", "message"), [
    ("tool.exe", b"MZ\x90\x00\x03" + b"\x00" * 100, "zh", "tool.exe：该文件是程序或脚本。证明文件可以是 PDF 文档"),
    ("scan.jpg", PDF, "es", "scan.jpg: el contenido es un documento PDF, así que el nombre debe terminar en .pdf."),
    ("photo.png", JPEG, "es", "photo.png: el contenido es una imagen JPEG, así que el nombre debe terminar en .jpg o "
                              ".jpeg."),
    ("huge.pdf", PDF + b"0" * evidence.MAX_EVIDENCE_BYTES, "zh", "huge.pdf：10.0 MB，超过了 10 MB 的上限。"),
    ("empty.pdf", b"", "pt", "empty.pdf: the file is empty."),  # a language without texts: English
])
def test_refusals_are_said_in_the_partners_language(filename, data, language, message):
    """Issue 7, item 19: a partner reads why a file was not attached in its own language; staff read English."""
    with pytest.raises(evidence.EvidenceRefused) as raised:
        evidence.check_file(filename=filename, data=data)
    assert raised.value.message(language).startswith(message)
    assert str(raised.value).startswith(filename) and isinstance(raised.value, ValidationError)


def test_stored_copies_missing_or_damaged_are_found_and_named_for_staff(session, assignments, evidence_folder):
    """Issue 7, item 19: the reviewer is told which file cannot be served and what to do, not a server-log line."""
    assignment = assignments["A1"]
    kept, lost, spoiled, resized = (upload(session, assignment, name, data) for name, data in (
        ("gate.png", PNG), ("seal.pdf", PDF), ("log.jpg", JPEG), ("sheet.xlsx", xlsx())))
    session.commit()
    files = evidence.list_evidence(session=session, assignment_id=assignment.id)
    assert evidence.stored_problems(files=files) == {}

    def stored(item):
        return evidence_folder / item.sha256[:2] / item.sha256

    stored(lost).unlink()
    stored(spoiled).write_bytes(JPEG[:-1] + b"X")  # same size, other content: found when the file is read
    stored(resized).write_bytes(b"short")
    problems = evidence.stored_problems(files=files)
    assert set(problems) == {lost.id, resized.id}
    assert problems[lost.id].startswith("seal.pdf: the stored file is missing from ")
    assert "ask the partner to upload the file again" in problems[lost.id]
    assert problems[resized.id].startswith("sheet.xlsx: the stored file is damaged")
    assert evidence.stored_problem(sha256=spoiled.sha256, filename="log.jpg").startswith(
        "log.jpg: the stored file is damaged (its content hash changed). Restore it from a backup")
    assert evidence.stored_problem(sha256=kept.sha256, filename="gate.png") is None


def test_upload_is_stored_once_by_hash(session, assignments, evidence_folder):
    assignment = assignments["A1"]
    first = upload(session, assignment, "seal-log.pdf", PDF)
    again = upload(session, assignment, "seal-log (1).pdf", PDF)
    other_question = upload(session, assignment, "seal-log.pdf", PDF, criterion_id="6.1")
    photo = upload(session, assignment, "../../etc/gate\x07.JPG", JPEG, actor=ANALYST)
    session.commit()

    sha = hashlib.sha256(PDF).hexdigest()
    assert again.id == first.id and other_question.id != first.id
    assert (first.sha256, first.size_bytes, first.content_type) == (sha, len(PDF), "application/pdf")
    stored = evidence_folder / sha[:2] / sha
    assert stored.read_bytes() == PDF
    assert sorted(p.name for p in evidence_folder.rglob("*") if p.is_file()) == sorted(
        [sha, hashlib.sha256(JPEG).hexdigest()])
    assert photo.filename == "gate.JPG" and photo.uploaded_by == "Ms. Chen"
    assert config.evidence_dir() == evidence_folder

    listed = evidence.list_evidence(session=session, assignment_id=assignment.id)
    assert list(listed.columns) == evidence.LIST_COLUMNS
    assert listed[["criterion_id", "filename"]].values.tolist() == [
        ["6.1", "seal-log.pdf"], ["7.1", "seal-log.pdf"], ["7.1", "gate.JPG"]]
    counts = questionnaire.questionnaire(session=session, assignment_id=assignment.id).set_index("criterion_id")
    assert (counts.loc["7.1", "evidence_count"], counts.loc["6.1", "evidence_count"]) == (2, 1)

    events = audit.list_events(session=session, action="add evidence")
    assert events["user"].tolist() == ["luis", "partner:A1", "partner:A1"]


def test_only_assignments_can_read_evidence(session, assignments, evidence_folder):
    assignment = assignments["A1"]
    item = upload(session, assignment, "gate.png", PNG)
    session.commit()
    for actor in (ADMIN, ANALYST, VIEWER):
        row, data = evidence.read_evidence(session=session, actor=actor, evidence_id=item.id)
        assert data == PNG and row.filename == "gate.png"
    with pytest.raises(PermissionDenied):
        evidence.read_evidence(session=session, actor=via_link(session, assignment.id), evidence_id=item.id)

    stored = evidence_folder / item.sha256[:2] / item.sha256
    stored.write_bytes(PNG + b"tampered")
    with pytest.raises(ValidationError, match="damaged"):
        evidence.read_evidence(session=session, actor=ANALYST, evidence_id=item.id)
    stored.unlink()
    with pytest.raises(ValidationError, match="missing"):
        evidence.read_evidence(session=session, actor=ANALYST, evidence_id=item.id)


def test_evidence_follows_the_questionnaire_rules(session, assignments):
    assignment = assignments["A1"]
    with pytest.raises(ValidationError, match="99.1: not a question"):
        upload(session, assignment, "a.pdf", PDF, criterion_id="99.1")
    with pytest.raises(PermissionDenied):
        upload(session, assignment, "a.pdf", PDF, actor=VIEWER)
    item = upload(session, assignment, "a.pdf", PDF)

    other = assignments["B1"]
    with pytest.raises(ValidationError, match="No evidence file"):
        evidence.remove_evidence(session=session, assignment_id=other.id, evidence_id=item.id, removed_by="B1",
                                 actor=via_link(session, other.id))

    ids = questionnaire.applicable_criteria(session=session, assignment_id=assignment.id)
    questionnaire.save_answers(session=session, assignment_id=assignment.id, source="link", answered_by="x",
                               answers=[{"criterion_id": c, "value": "yes"} for c in ids],
                               actor=via_link(session, assignment.id))
    assert questionnaire.submit(session=session, assignment_id=assignment.id, submitted_by="x",
                                actor=via_link(session, assignment.id)) == []
    with pytest.raises(ValidationError, match="submitted; evidence cannot be added"):
        upload(session, assignment, "b.png", PNG)
    with pytest.raises(ValidationError, match="submitted; evidence cannot be removed"):
        evidence.remove_evidence(session=session, assignment_id=assignment.id, evidence_id=item.id, removed_by="x",
                                 actor=via_link(session, assignment.id))

    questionnaire.return_for_fixes(session=session, actor=ANALYST, assignment_id=assignment.id,
                                   comments={"7.1": "wrong file"})
    evidence.remove_evidence(session=session, assignment_id=assignment.id, evidence_id=item.id, removed_by="Ms. Chen",
                             actor=via_link(session, assignment.id))
    assert evidence.list_evidence(session=session, assignment_id=assignment.id).empty
    assert audit.list_events(session=session, action="remove evidence").iloc[0]["user"] == "partner:A1"


def test_evidence_changes_check_their_actor(session, assignments, evidence_folder):
    """Issue 7, item 18: without an actor, as a viewer, or through another partner's link: refused."""
    a1, b1 = assignments["A1"], assignments["B1"]
    for actor in (None, VIEWER, via_link(session, b1.id)):
        with pytest.raises(PermissionDenied):
            evidence.add_evidence(session=session, assignment_id=a1.id, criterion_id="7.1", filename="a.png",
                                  data=PNG, uploaded_by="x", actor=actor)
    item = upload(session, a1, "a.png", PNG)
    for actor in (None, VIEWER, via_link(session, b1.id)):
        with pytest.raises(PermissionDenied):
            evidence.remove_evidence(session=session, assignment_id=a1.id, evidence_id=item.id, removed_by="x",
                                     actor=actor)
    evidence.remove_evidence(session=session, assignment_id=a1.id, evidence_id=item.id, removed_by="luis",
                             actor=ANALYST)
    assert evidence.list_evidence(session=session, assignment_id=a1.id).empty
