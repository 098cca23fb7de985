"""The validation pack on the demo data: ZIP entries, the workbook read back with calamine, formulas neutralised,
the PDF's text (accents, Chinese, no markup), evidence files, determinism, --since, the CLI and LibreOffice."""

import hashlib
import re
import subprocess
import zipfile
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from python_calamine import CalamineWorkbook
from sqlmodel import col, select, update

from models import Answer, AuditEvent, Evidence, Partner
from services.collection.evidence import store_file
from services.demo.generator import seed_demo
from services.reports import pack
from services.reports.pack.sections import SECTIONS
from tests import office

TODAY = date(2027, 3, 1)
SPANISH = "Exportadora Peña y Muñoz, S.A. de C.V."
CHINESE = "深圳华强物流有限公司"
FORMULA = '=HYPERLINK("http://evil.example","click")'
MARKUP = "<b>Bold</b> **Star** Logistics"
PDF_BYTES = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@pytest.fixture
def evidence_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("CTPAT_DATA_DIR", str(tmp_path / "data"))
    return tmp_path / "data" / "evidence"


def _seed(session) -> dict[str, str]:
    """Demo data with names that test the pack: accents, Chinese, a formula and markup, and one evidence file."""
    seed_demo(session=session, partners=60, today=TODAY)
    codes = session.exec(select(Partner.partner_code).where(Partner.status == "active")
                         .order_by(Partner.partner_code)).all()
    names = {codes[0]: SPANISH, codes[1]: CHINESE, codes[2]: FORMULA, codes[3]: MARKUP}
    for share, (code, name) in enumerate(names.items()):
        session.exec(update(Partner).where(Partner.partner_code == code)
                     .values(legal_name=name, import_share=90 - share))
    answer = session.exec(select(Answer).where(col(Answer.is_current)).order_by(Answer.id)).first()
    sha256, filename, content_type = store_file(filename="seal log.pdf", data=PDF_BYTES)
    session.add(Evidence(assignment_id=answer.assignment_id, criterion_id=answer.criterion_id, filename=filename,
                         content_type=content_type, size_bytes=len(PDF_BYTES), sha256=sha256, uploaded_by="luis"))
    session.commit()
    return names


def _build(session, path: Path, **options) -> pack.PackSummary:
    return pack.build_pack(session=session, out=path, today=TODAY, **options)


def test_pack_on_demo_data(session, evidence_dir, tmp_path):
    _seed(session)
    steps = []
    summary = _build(session, tmp_path / "one.zip", progress=lambda f, what: steps.append((f, what)))
    again = _build(session, tmp_path / "two.zip")

    # The same data gives the same bytes; the progress bar only moves forward.
    assert (tmp_path / "one.zip").read_bytes() == (tmp_path / "two.zip").read_bytes()
    assert [f for f, _ in steps] == sorted(f for f, _ in steps) and steps[-1][0] <= 1.0
    assert summary.rows == again.rows
    assert not list(tmp_path.glob("*.part"))

    with zipfile.ZipFile(summary.path) as z:
        names = z.namelist()
        assert names[:2] == [pack.WORKBOOK, pack.PDF]
        assert pack.README in names and pack.CHECKSUMS in names
        assert {info.date_time for info in z.infolist()} == {(2027, 3, 1, 0, 0, 0)}
        files = [n for n in names if n.startswith("evidence/") and n != pack.CHECKSUMS]
        assert len(files) == 1 and files[0].endswith("/seal log.pdf")
        assert z.read(files[0]) == PDF_BYTES
        assert hashlib.sha256(PDF_BYTES).hexdigest() in z.read(pack.CHECKSUMS).decode()
        (tmp_path / "book.xlsx").write_bytes(z.read(pack.WORKBOOK))
        (tmp_path / "summary.pdf").write_bytes(z.read(pack.PDF))
        with zipfile.ZipFile(tmp_path / "book.xlsx") as book:
            sheets_xml = b"".join(book.read(n) for n in book.namelist() if n.startswith("xl/worksheets/"))
            styles = book.read("xl/styles.xml")
            workbook_xml = book.read("xl/workbook.xml").decode()

    # The workbook: every section a sheet, in order, with its headers and as many rows as reported.
    book = CalamineWorkbook.from_path(str(tmp_path / "book.xlsx"))
    assert book.sheet_names == ["About", *(s.sheet for s in SECTIONS)]
    for section in SECTIONS:
        rows = book.get_sheet_by_name(section.sheet).to_python()
        assert rows[0][:len(section.columns)] == [c.header for c in section.columns]
        assert len(rows) - 1 == summary.rows[section.sheet]
    for sheet in ("Partners", "Questionnaires", "Answers", "Certificates", "Threat register", "Lanes",
                  "Lane nodes", "Evidence index", "Audit extract", "Company profile"):
        assert summary.rows[sheet] > 0, sheet
    partners = book.get_sheet_by_name("Partners").to_python()
    header = partners[0]
    by_name = {row[header.index("Legal name")]: row for row in partners[1:]}
    assert {SPANISH, CHINESE, FORMULA, MARKUP} <= set(by_name)
    assert by_name[SPANISH][header.index("Country code")]
    assert any(str(row[header.index("CTPAT / mutual recognition")]).startswith("Covered") for row in partners[1:])
    evidence = book.get_sheet_by_name("Evidence index").to_python()
    assert evidence[1][0] == files[0]

    # Typed text is never a formula: no formula element at all, and the formula-like name has the quote prefix.
    assert b"<f>" not in sheets_xml and b"<f " not in sheets_xml
    assert re.search(rb'quotePrefix="1"', styles)
    # Filters end at each sheet's last row, never at Excel's last row.
    assert "1048576" not in workbook_xml and b"1048576" not in sheets_xml
    assert "_xlnm._FilterDatabase" in workbook_xml

    # The PDF: accents, Chinese and markup printed as typed.
    text = subprocess.run(["pdftotext", "-layout", str(tmp_path / "summary.pdf"), "-"], capture_output=True,
                          text=True, check=True).stdout if office.pdf_pages(tmp_path / "summary.pdf") else ""
    flat = " ".join(text.split())
    assert "CTPAT validation pack" in flat and "Key figures" in flat
    assert "Peña y Muñoz" in flat
    assert CHINESE in flat
    assert "<b>Bold</b> **Star**" in flat
    assert "Cargo flow" in flat and "Business partners" in flat


def test_since_limits_the_dated_logs(session, evidence_dir, tmp_path):
    session.add(AuditEvent(at=datetime(2026, 1, 5, tzinfo=UTC), username="old", action="update", entity="partner",
                           summary="before", before={"city": "A"}, after={"city": "B"}))
    session.add(AuditEvent(at=datetime(2027, 2, 5, tzinfo=UTC), username="new", action="update", entity="partner",
                           summary="after", before={"city": "B"}, after={"city": "C"}))
    session.commit()
    everything = _build(session, tmp_path / "all.zip")
    recent = _build(session, tmp_path / "recent.zip", since=date(2027, 1, 1))
    assert everything.rows["Audit extract"] == 2 and recent.rows["Audit extract"] == 1
    with zipfile.ZipFile(recent.path) as z:
        (tmp_path / "r.xlsx").write_bytes(z.read(pack.WORKBOOK))
    audit = CalamineWorkbook.from_path(str(tmp_path / "r.xlsx")).get_sheet_by_name("Audit extract").to_python()
    assert audit[1][1] == "new" and audit[1][-1] == "city: B → C"
    # No company profile: the pack says Unknown, and sections without data leave their sheet empty.
    book = CalamineWorkbook.from_path(str(tmp_path / "r.xlsx"))
    assert "Unknown" in str(book.get_sheet_by_name("Company profile").to_python())
    assert recent.rows["Partners"] == 0


def test_bad_options_write_nothing(session, tmp_path):
    from services.core.permissions import ValidationError

    with pytest.raises(ValidationError, match="after"):
        _build(session, tmp_path / "x.zip", since=date(2027, 3, 2))
    with pytest.raises(ValidationError, match="does not exist"):
        _build(session, tmp_path / "missing" / "x.zip")
    assert not list(tmp_path.glob("*.zip*"))


def test_section_registry():
    keys = [s.key for s in SECTIONS]
    assert keys[:5] == ["company", "self_assessment", "partners", "questionnaires", "answers"]
    assert len({s.sheet for s in SECTIONS}) == len(SECTIONS)
    assert all(len(s.sheet) <= 31 and s.columns and s.description for s in SECTIONS)


def test_cli_export_pack(session, evidence_dir, tmp_path, database_url, monkeypatch):
    from cli import main as cli_main

    seed_demo(session=session, partners=20, today=TODAY)
    session.commit()
    monkeypatch.setenv("CTPAT_DATABASE_URL", database_url)
    out = tmp_path / "pack.zip"
    assert cli_main(["export-pack", "--out", str(out), "--as-of", TODAY.isoformat(), "--quiet"]) == 0
    assert zipfile.ZipFile(out).namelist()[:2] == [pack.WORKBOOK, pack.PDF]
    event = session.exec(select(AuditEvent).where(AuditEvent.entity == "validation pack")).one()
    assert event.username == "cli" and out.name in event.summary
    assert cli_main(["export-pack", "--out", str(tmp_path / "nowhere" / "p.zip")]) == 2
    assert cli_main(["export-pack", "--out", str(out), "--since", "yesterday"]) == 2


def test_pack_opens_in_libreoffice(session, evidence_dir, tmp_path):
    office.soffice()
    seed_demo(session=session, partners=20, today=TODAY)
    session.commit()
    summary = _build(session, tmp_path / "pack.zip")
    with zipfile.ZipFile(summary.path) as z:
        (tmp_path / "pack.xlsx").write_bytes(z.read(pack.WORKBOOK))
        (tmp_path / "summary.pdf").write_bytes(z.read(pack.PDF))
    [converted] = office.convert([tmp_path / "pack.xlsx"], "pdf", tmp_path / "lo")
    pages = office.pdf_pages(converted)
    text = " ".join(page[2] for page in pages)
    assert "Partner code" in text and "Legal name" in text
    # Fit to the page width: every page is a paper page, never a strip of columns.
    assert all(width < 900 for width, _, _ in pages)
    assert office.pdf_pages(tmp_path / "summary.pdf")


def test_a_new_section_is_one_module_worth_of_code(session, tmp_path):
    """A section defined outside the registry (as a new module would) gets its typed, safe sheet."""
    import pandas as pd

    from services.reports.pack.base import Column, Kind, Section

    def rows(ctx):
        yield pd.DataFrame({
            "text": ["=1+1", "-2", "@SUM(A1)", "\tTab", "plain", None],
            "number": [1.5, 2, None, -3.25, 0, 10**9],
            "day": [date(2027, 2, 28), None, date(1999, 12, 31), date(2027, 3, 1), date(2000, 1, 1), None],
            "at": [datetime(2027, 2, 28, 12, 30, 15, tzinfo=UTC), None, datetime(2026, 1, 1, tzinfo=UTC),
                   pd.Timestamp("2027-03-01 00:00:01", tz="UTC"), None, None],
            "flag": [True, False, None, True, False, None],
        })
        yield pd.DataFrame({"text": ["second chunk"], "number": [7], "day": [None], "at": [None], "flag": [None]})

    section = Section(key="test", order=1, sheet="Test sheet", title="Test", description="A test section.",
                      columns=(Column("text", "Text"), Column("number", "Number", kind=Kind.number),
                               Column("day", "Day", kind=Kind.date), Column("at", "At", kind=Kind.datetime),
                               Column("flag", "Flag", kind=Kind.flag)),
                      rows=rows)
    summary = pack.build_pack(session=session, out=tmp_path / "t.zip", today=TODAY, sections=[section])
    assert summary.rows == {"Test sheet": 7}
    with zipfile.ZipFile(summary.path) as z:
        (tmp_path / "t.xlsx").write_bytes(z.read(pack.WORKBOOK))
    values = CalamineWorkbook.from_path(str(tmp_path / "t.xlsx")).get_sheet_by_name("Test sheet").to_python()
    assert values[0] == ["Text", "Number", "Day", "At", "Flag"]
    assert [row[0] for row in values[1:]] == ["=1+1", "-2", "@SUM(A1)", "\tTab", "plain", "", "second chunk"]
    assert [row[1] for row in values[1:]] == [1.5, 2, "", -3.25, 0, 10**9, 7]
    assert values[1][2] == date(2027, 2, 28) and values[3][2] == date(1999, 12, 31)
    assert values[1][3] == datetime(2027, 2, 28, 12, 30, 15) and values[4][3] == datetime(2027, 3, 1, 0, 0, 1)
    assert [row[4] for row in values[1:]] == ["Yes", "No", "", "Yes", "No", "", ""]
