"""The self-assessment exports: XLSX in portal order (opened with calamine, formulas neutralised, layout for
people) and a PDF whose text (pdftotext) holds Spanish accents and Chinese names, and no markup."""

import io
import shutil
import subprocess
from datetime import date

import pytest
from openpyxl import load_workbook
from python_calamine import CalamineWorkbook

from models.common import Requirement
from services.company.profile import save_profile
from services.selfassessment import assessment, eligibility, export
from tests.conftest import ADMIN, ANALYST

DAY = date(2026, 12, 5)


@pytest.fixture(autouse=True)
def evidence_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("CTPAT_DATA_DIR", str(tmp_path))


@pytest.fixture
def filled(session):
    save_profile(session=session, actor=ADMIN, values={"legal_name": "Importadora Peñalosa y Hijos, S.A.",
                                                       "entity_type": "Importer"})
    frame = assessment.rows(session=session)
    musts = list(frame.loc[frame["requirement"] == Requirement.must, "criterion_id"])
    assessment.save_entry(session=session, actor=ANALYST, criterion_id=musts[0], status="met", owner="José Núñez",
                          narrative="=HYPERLINK(\"http://evil\",\"click\") policy signed by 王小明 (上海精密制造)",
                          today=DAY)
    assessment.save_entry(session=session, actor=ANALYST, criterion_id=musts[1], status="n/a",
                          narrative="<b>bold</b> **stars** <script>alert(1)</script>",
                          na_reason="We ship no containers.", today=DAY)
    assessment.add_evidence(session=session, actor=ANALYST, criterion_id=musts[0], filename="policy.pdf",
                            data=b"%PDF-1.7\n%%EOF\n")
    eligibility.set_check(session=session, actor=ANALYST, item_id="IM-2", confirmed=True, note="EIN on file",
                          today=DAY)
    session.commit()
    return musts


def test_workbook_in_portal_order_safe_and_laid_out_for_people(session, filled):
    data = export.workbook_bytes(session=session, today=DAY)
    book = CalamineWorkbook.from_filelike(io.BytesIO(data))
    assert book.sheet_names == ["Summary", "Self-assessment", "Eligibility"]
    rows = book.get_sheet_by_name("Self-assessment").to_python()
    header = rows[0]
    assert header[:4] == ["Category", "Criterion", "Must / should", "Criterion text"]
    body = rows[1:]
    expected = assessment.rows(session=session)
    assert [r[1] for r in body] == list(expected["criterion_id"])  # portal order
    numbers = [(int(r[0].split(".")[0]), *map(int, r[1].split("."))) for r in body]
    assert numbers == sorted(numbers)
    by_id = {r[1]: dict(zip(header, r, strict=True)) for r in body}
    first = by_id[filled[0]]
    assert first["Status"] == "met" and first["Owner"] == "José Núñez" and first["Evidence files"] == "policy.pdf"
    narrative = first["How it is met (narrative)"]
    assert narrative.startswith("=HYPERLINK") and "王小明" in narrative
    assert first["Flag"] == "" and first["Last reviewed on"] == DAY
    assert by_id[filled[1]]["Reason for n/a"] == "We ship no containers."
    untouched = by_id[filled[2]]
    assert untouched["Status"] == "not assessed" and untouched["Flag"] == assessment.NO_NARRATIVE
    summary = [r[0] for r in book.get_sheet_by_name("Summary").to_python()]
    assert "Company: Importadora Peñalosa y Hijos, S.A." in summary
    checks = book.get_sheet_by_name("Eligibility").to_python()
    assert checks[2][:4] == ["IM-2", checks[2][1], "confirmed", "EIN on file"]

    sheet = load_workbook(io.BytesIO(data))["Self-assessment"]
    cell = sheet.cell(row=list(expected["criterion_id"]).index(filled[0]) + 2, column=7)
    assert cell.data_type == "s" and cell.quotePrefix  # text, never a formula
    assert sheet.freeze_panes == "C2" and sheet.auto_filter.ref == f"A1:M{len(body) + 1}"
    assert sheet.page_setup.fitToWidth == 1 and sheet.page_setup.fitToHeight == 0
    assert sheet.sheet_properties.pageSetUpPr.fitToPage and sheet.print_title_rows == "$1:$1"
    assert sheet.column_dimensions["G"].width == 70
    again = CalamineWorkbook.from_filelike(io.BytesIO(export.workbook_bytes(session=session, today=DAY)))
    assert [again.get_sheet_by_name(n).to_python() for n in again.sheet_names] == \
        [book.get_sheet_by_name(n).to_python() for n in book.sheet_names]  # same data, same content


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="pdftotext (poppler-utils) is not installed")
def test_pdf_text_holds_accents_chinese_and_no_markup(session, filled, tmp_path):
    data = export.pdf_bytes(session=session, today=DAY)
    assert data.startswith(b"%PDF-")
    path = tmp_path / "sa.pdf"
    path.write_bytes(data)
    text = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True,
                          check=True).stdout
    flat = " ".join(text.split())
    assert "Importadora Peñalosa y Hijos, S.A." in flat and "José Núñez" in flat
    assert "王小明" in flat and "上海精密制造" in flat
    assert "<b>bold</b> **stars** <script>alert(1)</script>" in flat  # typed markup shown literally
    assert "[x] IM-2" in flat and "[ ] IM-1" in flat
    assert f"Flag: {assessment.NO_NARRATIVE}" in flat
    ids = list(assessment.rows(session=session)["criterion_id"])
    positions = [flat.find(f"{cid} (") for cid in ids]
    assert all(p >= 0 for p in positions) and positions == sorted(positions)
    assert export.pdf_bytes(session=session, today=DAY) == data


def test_without_unicode_fonts_the_pdf_says_so_and_keeps_latin1(session, filled, tmp_path, monkeypatch):
    from services.exports import pdf_fonts

    monkeypatch.setattr(pdf_fonts, "TEXT_CANDIDATES", ())
    monkeypatch.delenv("CTPAT_PDF_FONT", raising=False)
    path = tmp_path / "plain.pdf"
    path.write_bytes(export.pdf_bytes(session=session, today=DAY))
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler-utils) is not installed")
    flat = " ".join(subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True,
                                   check=True).stdout.split())
    assert "José Núñez" in flat and "No Unicode font was found" in flat and "王小明" not in flat


def test_manage_py_writes_xlsx_and_pdf_and_refuses_bad_output(session, filled, database_url, tmp_path):
    import os
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    env = {**os.environ, "CTPAT_DATABASE_URL": database_url, "CTPAT_DATA_DIR": str(tmp_path / "data")}

    def manage_py(*argv: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "manage.py", "self-assessment", *argv], cwd=root, env=env,
                              capture_output=True, text=True, timeout=120)

    xlsx = tmp_path / "sa.xlsx"
    done = manage_py("export", "--out", str(xlsx))
    assert done.returncode == 0, done.stderr
    assert "Wrote the self-assessment (Importer, " in done.stdout and str(xlsx) in done.stdout
    rows = CalamineWorkbook.from_path(str(xlsx)).get_sheet_by_name("Self-assessment").to_python()
    assert [r[1] for r in rows[1:]] == list(assessment.rows(session=session)["criterion_id"])
    wrong = manage_py("export", "--out", str(tmp_path / "sa.docx"))
    assert wrong.returncode == 2 and ".xlsx or .pdf" in wrong.stderr and not (tmp_path / "sa.docx").exists()


def test_the_command_in_process_writes_a_pdf_and_never_replaces_a_file(engine, database_url, filled, tmp_path,
                                                                         capsys):
    import cli
    from cli.base import Context
    from services.core.permissions import ValidationError

    parser = cli.build_parser()
    context = Context(engine=engine, url=database_url, startup=None)
    pdf = tmp_path / "sa.pdf"
    args = parser.parse_args(["self-assessment", "export", "--out", str(pdf)])
    assert args.run(args, context) == 0 and pdf.read_bytes().startswith(b"%PDF-")
    pdf.write_bytes(b"mine")
    with pytest.raises(ValidationError, match="already exists"):
        args.run(args, context)
    assert pdf.read_bytes() == b"mine"
    forced = parser.parse_args(["self-assessment", "export", "--out", str(pdf), "--force"])
    assert forced.run(forced, context) == 0 and pdf.read_bytes().startswith(b"%PDF-")
