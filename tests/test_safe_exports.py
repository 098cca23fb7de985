"""Downloads never run what partners or staff typed (formula injection): every CSV and workbook the product writes.

Each writer gets text starting with =, +, -, @, a tab or a carriage return, and the files are opened the way a user
opens them: with the csv module and openpyxl, and in LibreOffice, which runs a CSV cell "=1+1" as a formula.
"""

import csv
import io
import tomllib
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest
from openpyxl import Workbook, load_workbook
from sqlmodel import select

from models import Assignment, CompanyProfile, Cycle
from pages import admin as admin_page
from pages import cycles as cycles_page
from pages import partners as partners_page
from services.collection import cycles, questionnaire
from services.core import audit
from services.exports.safe import csv_bytes, csv_text, sheet_cell, xml_text_cell
from services.exports.workbook import ANSWERS_SHEET, INSTRUCTIONS_SHEET, questionnaire_workbook
from services.imports.reader import Problem, problems_csv
from services.partners import registry
from tests import office
from tests.conftest import ADMIN, ANALYST, via_link

TYPED = ["=1+1", "+1+1", "-1+1", "@SUM(1+1)", "\t=1+1", "\r=1+1", '=HYPERLINK("http://evil.example","Click")',
         "=cmd|' /C calc'!A0"]
HARMLESS = ["plain", "a=b", "1+1", " =1+1", "Dana Whitfield <dana@bluecrest.example>", ""]

EVIL_TITLE = '=HYPERLINK("http://evil.example","Title")'


def read_csv(data: bytes) -> list[list[str]]:
    assert data.startswith(b"\xef\xbb\xbf")  # UTF-8 with BOM: Excel reads accents and Chinese
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def test_csv_text_gets_an_apostrophe_and_numbers_dates_stay_as_they_are():
    frame = pd.DataFrame({
        "text": TYPED + HARMLESS[:2],
        "number": [-3.5, 2.25, -1.0, 0.0, 1e6, -0.001, 7.0, 8.0, 9.0, 10.0],
        "count": [-3, 2, -1, 0, 1, -2, 3, 4, 5, 6],
        "when": pd.to_datetime(["2026-11-16 16:00"] * 10, utc=True),
        "day": [date(2027, 1, 31)] * 10,
        "mixed": [-4, "-4", None, {"name": "=x"}, 1.5, "@a", "b", float("nan"), "", "+"],
    })
    frame["typed"] = pd.array(TYPED + ["x", None], dtype="str")  # pandas' own text dtype
    header, *rows = read_csv(csv_bytes(frame))
    assert header == ["text", "number", "count", "when", "day", "mixed", "typed"]
    assert [r[0] for r in rows] == ["'" + t for t in TYPED] + HARMLESS[:2]
    assert [r[6] for r in rows] == ["'" + t for t in TYPED] + ["x", ""]
    assert [r[1] for r in rows][:3] == ["-3.5", "2.25", "-1.0"]  # real numbers: no apostrophe, even when negative
    assert [r[2] for r in rows][:3] == ["-3", "2", "-1"]
    assert rows[0][3] == "2026-11-16 16:00:00+00:00" and rows[0][4] == "2027-01-31"
    assert [r[5] for r in rows] == ["-4", "'-4", "", "{\"name\": \"=x\"}", "1.5", "'@a", "b", "", "", "'+"]
    assert csv_bytes(frame).count(b"\r\n") == len(frame) + 1  # CRLF line ends
    assert frame["text"].tolist()[0] == "=1+1"  # the caller's frame is left as it was


def test_openpyxl_cells_are_text_never_formulas_and_keep_their_types(tmp_path):
    book = Workbook(write_only=True)
    sheet = book.create_sheet("Export")
    moment = datetime(2026, 11, 16, 16, 30, tzinfo=UTC)
    values = [*TYPED, "plain", -3.5, 42, True, date(2027, 1, 31), moment, pd.Timestamp(moment), None, float("nan"),
              {"a": 1}, "bell\x07 here"]
    sheet.append([sheet_cell(sheet, v) for v in values])
    path = tmp_path / "export.xlsx"
    book.save(path)

    row = next(load_workbook(path).active.iter_rows())
    for cell, typed in zip(row, TYPED, strict=False):  # XML reads a carriage return back as a line feed
        assert (cell.value, cell.data_type, cell.quotePrefix) == (typed.replace("\r", "\n"), "s", True)
    plain, number, integer, flag, day, when, stamp, empty, nan, mapping, bell = row[len(TYPED):]
    assert (plain.value, plain.data_type, plain.quotePrefix) == ("plain", "s", False)
    assert (number.value, number.data_type) == (-3.5, "n") and (integer.value, integer.data_type) == (42, "n")
    assert (flag.value, flag.data_type) == (True, "b")
    assert day.is_date and day.value == datetime(2027, 1, 31) and day.number_format == "yyyy-mm-dd"
    assert when.is_date and when.value == datetime(2026, 11, 16, 16, 30)  # UTC, without a zone
    assert stamp.value == when.value
    assert empty.value is None and nan.value is None
    assert mapping.value == '{"a": 1}' and bell.value == "bell here"


def test_raw_xml_cells_are_inline_strings_with_the_quote_prefixed_style():
    assert xml_text_cell("B7", "=1+1", 3, 4) == '<c r="B7" s="4" t="inlineStr"><is><t>=1+1</t></is></c>'
    assert xml_text_cell("B7", "a<b & c", 3, 4) == '<c r="B7" s="3" t="inlineStr"><is><t>a&lt;b &amp; c</t></is></c>'
    assert xml_text_cell("A1", " two\nlines ") == ('<c r="A1" t="inlineStr"><is><t xml:space="preserve"> two\nlines '
                                                   '</t></is></c>')
    with pytest.raises(ValueError, match="quote-prefixed"):
        xml_text_cell("A1", "@x", 3)
    assert csv_text("-x") == "'-x" and csv_text("x-") == "x-"


@pytest.fixture
def evil(session, staff, database_url, monkeypatch):
    """A partner, a cycle, a company profile and an audit event full of text a spreadsheet would run."""
    monkeypatch.setenv("CTPAT_DATABASE_URL", database_url)
    monkeypatch.setenv("CTPAT_DEMO", "0")
    partner = registry.create_partner(session=session, actor=ANALYST, values={
        "partner_code": "MX-EVIL", "legal_name": '=HYPERLINK("http://evil.example","Click")',
        "entity_type": "Foreign Manufacturer", "country_iso2": "MX", "city": "+1+1", "address": "-1+1 Calle",
        "contact_name": "@SUM(1+1)", "contact_email": "evil@evil.example", "notes": "=cmd|' /C calc'!A0",
        "latitude": 25.686, "longitude": -100.316, "language": "es"})
    session.add(CompanyProfile(legal_name="=1+1 Imports", primary_contact="@Dana", primary_contact_email="d@x.example",
                               updated_at=datetime.now(UTC)))
    session.commit()
    cycle = cycles.open_cycle(session=session, actor=ANALYST, name='=HYPERLINK("http://evil.example","Cycle")',
                              due_date=date.today() + timedelta(days=30), partner_ids=[partner.id],
                              partner_titles=dict.fromkeys(("en", "es", "zh"), EVIL_TITLE))
    audit.record(session=session, actor=ADMIN, action="update", entity="partner", entity_id="-1+1",
                 summary="=1+1 typed into a summary", after={"notes": "=1+1"})
    session.commit()
    assignment = session.exec(select(Assignment).where(Assignment.cycle_id == cycle.id)).one()
    first = questionnaire.applicable_criteria(session=session, assignment_id=assignment.id)[0]
    questionnaire.save_answers(session=session, assignment_id=assignment.id, source="link",
                               actor=via_link(session, assignment.id), answered_by="x",
                               answers=[{"criterion_id": first, "value": "partial", "comment": "-1+1 done"}])
    session.commit()
    return {"partner": partner, "cycle": session.get(Cycle, cycle.id), "assignment": assignment, "first": first}


def _files(evil) -> dict[str, bytes]:
    """What each download of the product holds for the evil data."""
    shown = pd.DataFrame([{"assignment_id": evil["assignment"].id, "partner_code": "MX-EVIL",
                           "legal_name": evil["partner"].legal_name, "contact_name": "@SUM(1+1)",
                           "contact_email": "+evil@evil.example", "language": "es"}])
    filters = {"text": "", "entity_types": [], "countries": [], "statuses": [], "criticalities": [],
               "sort": "partner_code", "descending": False}
    return {
        "partners.csv": partners_page.export_csv(filters),
        "links.csv": cycles_page.links_csv(shown, {evil["assignment"].id: "token"}, "https://ctpat.example.com/"),
        "audit.csv": admin_page.audit_csv({"username": None, "entity": None, "action": None, "since": None,
                                           "until": None, "text": None}),
        "problems.csv": problems_csv([Problem("=a.csv", 5, "@comment", '=HYPERLINK("x")', "-1 is not allowed")]),
    }


def test_every_csv_download_writes_typed_text_safely_and_numbers_as_numbers(evil):
    files = _files(evil)
    partners = {row["partner_code"]: row for row in csv.DictReader(io.StringIO(
        files["partners.csv"].decode("utf-8-sig"), newline=""))}
    row = partners["MX-EVIL"]
    assert row["legal_name"] == "'" + evil["partner"].legal_name
    assert (row["city"], row["address"], row["contact_name"], row["notes"]) == (
        "'+1+1", "'-1+1 Calle", "'@SUM(1+1)", "'=cmd|' /C calc'!A0")
    assert (row["latitude"], row["longitude"]) == ("25.686", "-100.316")  # numbers, negative ones too

    [link] = list(csv.DictReader(io.StringIO(files["links.csv"].decode("utf-8-sig"), newline="")))
    assert (link["partner"], link["contact"], link["email"]) == (
        "'" + evil["partner"].legal_name, "'@SUM(1+1)", "'+evil@evil.example")
    assert link["url"].startswith("https://ctpat.example.com/")

    events = list(csv.DictReader(io.StringIO(files["audit.csv"].decode("utf-8-sig"), newline="")))
    typed = next(e for e in events if e["summary"].endswith("typed into a summary"))
    assert (typed["summary"], typed["id"]) == ("'=1+1 typed into a summary", "'-1+1")
    assert typed["after"] == '{"notes": "=1+1"}'
    opened = next(e for e in events if e["summary"].startswith("Opened cycle"))
    assert "=HYPERLINK" in opened["summary"]  # inside the text, where no spreadsheet runs it

    [problem] = list(csv.DictReader(io.StringIO(files["problems.csv"].decode("utf-8-sig"), newline="")))
    assert problem == {"file": "'=a.csv", "row": "5", "column": "'@comment", "value": "'=HYPERLINK(\"x\")",
                       "message": "'-1 is not allowed", "severity": "error"}


def _all_cells(data: bytes) -> dict[str, list[list]]:
    book = load_workbook(io.BytesIO(data))
    return {sheet.title: [list(row) for row in sheet.iter_rows()] for sheet in book.worksheets}


def test_the_questionnaire_workbook_writes_names_and_answers_as_text(session, evil):
    data = questionnaire_workbook(session=session, assignment_ids=[evil["assignment"].id])
    sheets = _all_cells(data)
    cells = [cell for rows in sheets.values() for row in rows for cell in row if cell.value is not None]
    assert cells and all(cell.data_type == "s" for cell in cells)  # no formula anywhere
    quoted = {cell.value for cell in cells if cell.quotePrefix}
    assert {EVIL_TITLE, "@Dana <d@x.example>, =1+1 Imports", "-1+1 done"} <= quoted
    instructions = {cell.value: cell for row in sheets[INSTRUCTIONS_SHEET] for cell in row}
    # The cycle's title for partners (partners never see the cycle's name): a text cell, not =HYPERLINK(...)
    assert instructions[EVIL_TITLE].quotePrefix and evil["cycle"].name not in instructions
    assert not instructions[f"MX-EVIL — {evil['partner'].legal_name}"].quotePrefix  # starts with the code
    answers = {row[1].value: row for row in sheets[ANSWERS_SHEET][1:]}
    assert answers[evil["first"]][6].value == "-1+1 done" and answers[evil["first"]][6].quotePrefix
    assert not answers[evil["first"]][6].protection.locked  # the quote-prefixed twin keeps the column's style
    assert answers[evil["first"]][6].alignment.wrap_text
    assert not any(cell.quotePrefix for cell in answers[evil["first"]][:6])


def test_libreoffice_runs_none_of_it(session, evil, tmp_path):
    """What a user sees: LibreOffice opens the downloads and runs no formula (a plain CSV shows it would)."""
    paths = []
    for name, data in {**_files(evil), "control.csv": b"a,b\n=1+1,-2\n"}.items():
        paths.append(tmp_path / name)
        paths[-1].write_bytes(data)
    workbook = tmp_path / "questionnaire.xlsx"
    workbook.write_bytes(questionnaire_workbook(session=session, assignment_ids=[evil["assignment"].id]))
    *converted, control, converted_book = office.convert([*paths, workbook], "xlsx", tmp_path / "out")
    assert office.cells(control)[1] == [("=1+1", "f"), (-2, "n")]  # a CSV cell "=1+1" does run
    for path in converted:
        formulas = [value for row in office.cells(path) for value, kind in row if kind == "f"]
        assert formulas == [], path.name
    partners = office.cells(converted[0])
    header = [value for value, _ in partners[0]]
    row = next(r for r in partners if ("MX-EVIL", "s") in r)
    assert row[header.index("longitude")] == (-100.316, "n")  # still a number: sorting and filters work
    book = load_workbook(converted_book)
    assert [c.data_type for sheet in book.worksheets for row in sheet.iter_rows() for c in row
            if c.value is not None and c.data_type == "f"] == []
    assert EVIL_TITLE in [c.value for row in book[INSTRUCTIONS_SHEET].iter_rows() for c in row]


def test_tables_offer_no_raw_csv_download():
    """st.dataframe's own CSV button writes typed text raw: it is switched off for the app, so every CSV a user
    downloads comes from services/exports/safe.py."""
    with open(Path(__file__).resolve().parent.parent / ".streamlit" / "config.toml", "rb") as f:
        settings = tomllib.load(f)
    assert settings["client"]["disableDataExport"] is True
