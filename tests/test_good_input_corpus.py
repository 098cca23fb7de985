"""The good-input corpus: files as partners send them (their own code pages, .xls, .ods, Excel's Unicode text)
are read as written and imported without a problem.

Text files live in tests/corpus/good/; workbooks are built below. Expected: the encoding (or sheet) read, and
what the import writes.
"""

import io
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path

import pytest
from openpyxl import Workbook
from sqlmodel import select

from models import Answer, Partner
from services.imports.answers import apply_responses, preview_responses
from services.imports.partners import apply_partners, preview_partners
from services.imports.reader import read_table
from tests import bombs
from tests.conftest import ANALYST
from tests.test_bad_input_corpus import world  # noqa: F401  (the partners and cycle the files answer for)
from tests.xls_files import label, number, workbook

GOOD = Path(__file__).parent / "corpus" / "good"


def _xlsx_with_a_date() -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.title = "Answers"
    sheet.append(["partner_code", "criterion_id", "answer", "comment", "answered_on"])
    sheet.append(["SUP001", "1.1", "yes", "Sello de alta seguridad", datetime(2026, 1, 31)])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _xls() -> bytes:
    return workbook({"Instructions": [label(0, 0, "Fill in column answer")],
                     "Answers": [label(0, 0, "partner_code"), label(0, 1, "criterion_id"), label(0, 2, "answer"),
                                 label(0, 3, "comment"), label(0, 4, "answered_on"), label(1, 0, "SUP001"),
                                 label(1, 1, "1.1"), label(1, 2, "是"), label(1, 3, "封条记录齐全"),
                                 number(1, 4, 46053, xf=16)]})


def _ods() -> bytes:
    return bombs.ods(bombs.ods_row("partner_code", "criterion_id", "answer", "comment")
                     + bombs.ods_row("SUP001", "1.1", "partial", "Cámaras instaladas; falta el registro")
                     + bombs.ods_row(None, None, None, None, repeat=1_048_000))  # as LibreOffice pads a sheet


BUILT: dict[str, Callable[[], bytes]] = {"answers.xlsx": _xlsx_with_a_date, "answers.xls": _xls,
                                         "answers.ods": _ods}

# file -> (how it is read: encoding or sheet, what the import writes)
ANSWERS: dict[str, tuple[str, dict[str, tuple[str, str, date | None]]]] = {
    "answers_gbk_semicolon.csv": ("GB18030", {"1.1": ("yes", "我们每年检查一次", None),
                                              "1.2": ("no", "尚未完成", None)}),
    "answers_big5.csv": ("Big5", {"1.1": ("yes", "我們每年檢查貨櫃封條", None), "1.2": ("no", "尚未完成", None)}),
    "answers_shift_jis.csv": ("Shift-JIS", {"1.1": ("yes", "毎年コンテナの封印を確認しています", None),
                                            "1.2": ("no", "まだ完了していません", None)}),
    "answers_windows1252.csv": ("Windows-1252", {"1.1": ("yes", "Revisión anual – sellos ISO 17712", None),
                                                 "1.2": ("no", "Año próximo: cámaras en el muelle", None)}),
    "answers_utf16_tab.txt": ("UTF-16", {"1.1": ("partial", "部分完成：门禁系统", None)}),
    "answers.xlsx": ("Answers", {"1.1": ("yes", "Sello de alta seguridad", date(2026, 1, 31))}),
    "answers.xls": ("Answers", {"1.1": ("yes", "封条记录齐全", date(2026, 1, 31))}),
    "answers.ods": ("Answers", {"1.1": ("partial", "Cámaras instaladas; falta el registro", None)}),
}
PARTNERS: dict[str, tuple[str, dict[str, tuple[str, str]]]] = {
    "partners_windows1254.csv": ("Windows-1254", {"TR-1": ("Güneş Tekstil Sanayi ve Ticaret A.Ş.", "İstanbul"),
                                                  "TR-2": ("Yıldız Lojistik", "Şişli")}),
    "partners_windows1250.csv": ("Windows-1250", {"PL-1": ("Zakłady Mięsne Łódź Sp. z o.o.", "Łódź"),
                                                  "PL-2": ("Przedsiębiorstwo Żegluga", "Gdańsk")}),
    "partners_big5.csv": ("Big5", {"TW-1": ("台灣精密機械股份有限公司", "台中"), "TW-2": ("長榮海運", "台北")}),
    "partners_utf8_bom.csv": ("UTF-8", {"VN-1": ("Công ty TNHH Dệt may Việt Nam", "Hồ Chí Minh")}),
}


def good_file(name: str) -> bytes:
    return BUILT[name]() if name in BUILT else (GOOD / name).read_bytes()


def test_good_corpus_is_complete():
    assert {p.name for p in GOOD.iterdir()} | set(BUILT) == set(ANSWERS) | set(PARTNERS)


@pytest.mark.parametrize("name", sorted(ANSWERS))
def test_answer_file_is_read_as_written_and_imported(name, world, session):  # noqa: F811
    read_as, expected = ANSWERS[name]
    data = good_file(name)
    table = read_table(filename=name, data=data)
    assert read_as in (table.encoding, table.sheet), (table.encoding, table.sheet)
    preview = preview_responses(session=session, files=[(name, data)], cycle_id=world.cycle_id)
    assert preview.problems.empty, preview.problems.to_dict("records")
    apply_responses(session=session, actor=ANALYST, preview=preview)
    session.commit()
    stored = session.exec(select(Answer).where(Answer.assignment_id == world.assignments["SUP001"],
                                               Answer.is_current)).all()
    assert {a.criterion_id: (a.value, a.comment, a.answered_on) for a in stored} == expected


@pytest.mark.parametrize("name", sorted(PARTNERS))
def test_partner_file_is_read_as_written_and_imported(name, session, staff):
    read_as, expected = PARTNERS[name]
    data = good_file(name)
    assert read_table(filename=name, data=data).encoding == read_as
    preview = preview_partners(session=session, files=[(name, data)])
    assert preview.problems.empty, preview.problems.to_dict("records")
    apply_partners(session=session, actor=ANALYST, preview=preview)
    session.commit()
    stored = {p.partner_code: (p.legal_name, p.city) for p in session.exec(select(Partner)).all()}
    assert stored == expected
