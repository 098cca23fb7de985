"""Excel questionnaires: layout, protection, drop-downs, pre-fill, languages, round trip through the importer."""

import io
from datetime import date, timedelta

import pytest
from openpyxl import load_workbook
from sqlmodel import Session, func, select

from models import Answer, Assignment, CompanyProfile, Partner
from services import texts
from services.collection import cycles, questionnaire
from services.core.permissions import ValidationError
from services.exports.workbook import (
    ANSWER_COLUMNS,
    ANSWERS_SHEET,
    DROPDOWN_WORDS,
    INSTRUCTIONS_SHEET,
    column_headers,
    column_names,
    cycle_workbooks,
    questionnaire_workbook,
)
from services.imports.answers import answer_value, apply_responses, preview_responses
from services.imports.reader import read_table
from services.partners.registry import create_partner
from tests import office
from tests.certificate_support import certify
from tests.conftest import ANALYST, via_link

DUE = date.today() + timedelta(days=60)


def add_partner(session: Session, code: str, **values) -> Partner:
    base = {"partner_code": code, "legal_name": f"{code} Ltd", "entity_type": "Foreign Manufacturer",
            "country_iso2": "CN"}
    return create_partner(session=session, actor=ANALYST, values={**base, **values})


def open_cycle(session: Session, name: str, *partners: Partner) -> dict[str, int]:
    """Open a cycle for the partners; returns partner code -> assignment id."""
    cycle = cycles.open_cycle(session=session, actor=ANALYST, name=name, due_date=DUE,
                              partner_ids=[p.id for p in partners])
    session.commit()
    rows = session.exec(select(Partner.partner_code, Assignment.id)
                        .join(Assignment, Assignment.partner_id == Partner.id)
                        .where(Assignment.cycle_id == cycle.id)).all()
    return dict(rows)


def answer_all(session: Session, assignment_id: int, value: str = "yes") -> list[str]:
    ids = questionnaire.applicable_criteria(session=session, assignment_id=assignment_id)
    questionnaire.save_answers(session=session, assignment_id=assignment_id, source="link", answered_by="Ms. Chen",
                               answers=[{"criterion_id": c, "value": value, "comment": f"last year {c}"} for c in ids],
                               actor=via_link(session, assignment_id))
    session.commit()
    return ids


def accepted_last_year(session: Session, partner: Partner, value: str = "partial") -> None:
    """A closed earlier cycle in which the partner's answers were accepted."""
    assignment_id = open_cycle(session, f"2026 {partner.partner_code}", partner)[partner.partner_code]
    answer_all(session, assignment_id, value)
    assert questionnaire.submit(session=session, assignment_id=assignment_id, submitted_by="Ms. Chen",
                                actor=via_link(session, assignment_id)) == []
    questionnaire.accept(session=session, actor=ANALYST, assignment_id=assignment_id)
    session.commit()


def sheet_rows(data: bytes) -> list[dict]:
    """The rows of the Answers sheet by column name (ANSWER_COLUMNS), whatever the language of its headers."""
    book = load_workbook(io.BytesIO(data))
    sheet = book[ANSWERS_SHEET]
    header = column_names([c.value for c in sheet[1]])
    return [dict(zip(header, values, strict=True)) for values in sheet.iter_rows(min_row=2, values_only=True)]


def instructions_text(data: bytes) -> str:
    book = load_workbook(io.BytesIO(data))
    return "\n".join(" ".join(str(v) for v in row if v) for row in book[INSTRUCTIONS_SHEET].iter_rows(values_only=True))


def fill(data: bytes, answers: dict[str, tuple[str, str]], default: tuple[str, str] | None = None) -> bytes:
    """What a partner does: pick answers and type comments in Excel, then save (the sheet stays protected)."""
    book = load_workbook(io.BytesIO(data))
    sheet = book[ANSWERS_SHEET]
    for row in sheet.iter_rows(min_row=2):
        chosen = answers.get(row[1].value, default)
        if chosen is not None:
            row[5].value, row[6].value = chosen
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def import_file(session: Session, cycle_id: int, name: str, data: bytes):
    preview = preview_responses(session=session, files=[(name, data)], cycle_id=cycle_id)
    errors = preview.problems[preview.problems["severity"] == "error"]
    assert errors.empty, errors.to_dict("records")
    apply_responses(session=session, actor=ANALYST, preview=preview)
    session.commit()
    return preview


def current(session: Session, assignment_id: int) -> dict[str, tuple[str, str]]:
    rows = session.exec(select(Answer.criterion_id, Answer.value, Answer.comment)
                        .where(Answer.assignment_id == assignment_id, Answer.is_current)).all()
    return {c: (v, t) for c, v, t in rows}


def test_layout_text_ids_dropdown_protection_and_instructions(session, staff):
    session.add(CompanyProfile(legal_name="Bluecrest Home, Inc.", primary_contact="Dana Whitfield",
                               primary_contact_email="dana@bluecrest.example"))
    supplier = add_partner(session, "SUP1", legal_name="Acme & Sons <Shenzhen>")
    assignment_id = open_cycle(session, "2027 annual review", supplier)["SUP1"]
    data = questionnaire_workbook(session=session, assignment_ids=[assignment_id])

    book = load_workbook(io.BytesIO(data))
    assert book.sheetnames == [INSTRUCTIONS_SHEET, ANSWERS_SHEET] and book.active.title == INSTRUCTIONS_SHEET
    sheet = book[ANSWERS_SHEET]
    assert [c.value for c in sheet[1]] == ANSWER_COLUMNS
    expected = questionnaire.questionnaire(session=session, assignment_id=assignment_id)
    assert sheet.max_row == len(expected) + 1
    ids = [row[1] for row in sheet.iter_rows(min_row=2)]
    assert [c.value for c in ids] == expected["criterion_id"].tolist()
    assert "4.10" in [c.value for c in ids]
    assert all(c.data_type == "s" and c.number_format == "@" and c.protection.locked for c in ids)
    assert [c.value for c in sheet["E"][1:]] == expected["question"].tolist()
    assert all(c.protection.locked for column in "ACDE" for c in sheet[column])

    assert sheet.protection.sheet and not sheet.protection.autoFilter and not sheet.protection.formatColumns
    for column, number_format in (("F", "@"), ("G", "@"), ("H", "yyyy-mm-dd")):
        assert sheet.column_dimensions[column].protection.locked is False  # the empty answer cells
        assert sheet.column_dimensions[column].number_format == number_format
    [choice] = sheet.data_validations.dataValidation
    assert choice.type == "list" and choice.formula1 == '"yes,partial,no,n/a"' and choice.showErrorMessage
    assert str(choice.sqref) == f"F2:F{sheet.max_row}"
    assert sheet.freeze_panes == "C2" and sheet.auto_filter.ref == f"A1:H{sheet.max_row}"
    assert sheet.column_dimensions["E"].width > sheet.column_dimensions["B"].width
    assert sheet["A1"].font.b and sheet["E2"].alignment.wrap_text

    text = instructions_text(data)
    # The cycle's title for partners (here the neutral default), never the team's own cycle name.
    assert f"Supply chain security questionnaire {DUE.year}" in text and DUE.isoformat() in text
    assert "2027 annual review" not in text
    assert "SUP1 — Acme & Sons <Shenzhen>" in text and f"{len(expected):,}" in text
    assert "Dana Whitfield <dana@bluecrest.example>, Bluecrest Home, Inc." in text
    assert "comment is required" in text and "n/a does not apply" in text
    # The importer finds the sheet and every column it needs by name, and nothing it would report as unknown.
    table = read_table(filename="q.xlsx", data=data, sheet="Answers", header_keys=["partnercode"])
    assert table.sheet == ANSWERS_SHEET and table.headers == ANSWER_COLUMNS and not table.problems


def test_prefill_current_answer_else_last_cycles_accepted_one(session, staff):
    old, new = add_partner(session, "OLD1"), add_partner(session, "NEW1", entity_type="Highway Carrier")
    accepted_last_year(session, old, "partial")
    assignments = open_cycle(session, "2027 annual review", old, new)
    first = questionnaire.applicable_criteria(session=session, assignment_id=assignments["OLD1"])[0]
    questionnaire.save_answers(session=session, assignment_id=assignments["OLD1"], source="link", answered_by="x",
                               answers=[{"criterion_id": first, "value": "no", "comment": "lost the seal log"}],
                               actor=via_link(session, assignments["OLD1"]))
    session.commit()

    rows = sheet_rows(questionnaire_workbook(session=session, assignment_ids=list(assignments.values())))
    assert [r["partner_code"] for r in rows] == sorted(r["partner_code"] for r in rows)  # partner by partner
    for code, assignment_id in assignments.items():
        frame = questionnaire.questionnaire(session=session, assignment_id=assignment_id)
        mine = [r for r in rows if r["partner_code"] == code]
        assert [r["criterion_id"] for r in mine] == frame["criterion_id"].tolist()
        prefill = frame["value"].where(frame["value"] != "", frame["previous_value"])
        words = {"": None, **DROPDOWN_WORDS["en"]}
        assert [r["answer"] for r in mine] == [words[v] for v in prefill]
        assert all(r["answered_on"] is None for r in mine)
    old_rows = {r["criterion_id"]: r for r in rows if r["partner_code"] == "OLD1"}
    assert (old_rows[first]["answer"], old_rows[first]["comment"]) == ("no", "lost the seal log")
    second = next(cid for cid in old_rows if cid != first)
    assert (old_rows[second]["answer"], old_rows[second]["comment"]) == ("partial", f"last year {second}")
    assert all(r["answer"] is None and r["comment"] is None for r in rows if r["partner_code"] == "NEW1")


def test_round_trip_through_the_importer(session, staff):
    supplier = add_partner(session, "SUP1")
    assignment_id = open_cycle(session, "2027 annual review", supplier)["SUP1"]
    cycle_id = session.get(Assignment, assignment_id).cycle_id
    data = questionnaire_workbook(session=session, assignment_ids=[assignment_id])
    ids = questionnaire.applicable_criteria(session=session, assignment_id=assignment_id)

    filled = fill(data, {"4.10": ("no", "Seal log starts in March"), "4.9": ("partial", "Half the sites"),
                         ids[0]: ("n/a", "not at this site")}, default=("yes", None))
    book = load_workbook(io.BytesIO(filled))
    assert book[ANSWERS_SHEET].protection.sheet  # what the partner sends back is still protected
    preview = import_file(session, cycle_id, "SUP1.xlsx", filled)
    assert preview.totals == {"new": len(ids), "changed": 0, "unchanged": 0}
    stored = current(session, assignment_id)
    assert len(stored) == len(ids)
    assert stored["4.10"] == ("no", "Seal log starts in March") and stored["4.9"] == ("partial", "Half the sites")
    assert stored[ids[0]] == ("na", "not at this site") and stored[ids[-1]] == ("yes", "")
    assert session.get(Assignment, assignment_id).status == "submitted"

    versions = session.exec(select(func.count()).select_from(Answer)).one()
    again = import_file(session, cycle_id, "SUP1 again.xlsx", filled)
    assert again.totals == {"new": 0, "changed": 0, "unchanged": len(ids)}
    assert session.exec(select(func.count()).select_from(Answer)).one() == versions

    # A fresh export shows what was imported; sending it back unchanged changes nothing either.
    rows = sheet_rows(questionnaire_workbook(session=session, assignment_ids=[assignment_id]))
    assert {r["criterion_id"]: (r["answer"], r["comment"] or "") for r in rows}["4.10"] == (
        "no", "Seal log starts in March")
    unchanged = import_file(session, cycle_id, "re-export.xlsx",
                            questionnaire_workbook(session=session, assignment_ids=[assignment_id]))
    assert unchanged.totals == {"new": 0, "changed": 0, "unchanged": len(ids)}


@pytest.mark.parametrize("language", ["es", "zh"])
def test_spanish_and_chinese_workbooks_import_back(session, staff, language):
    supplier = add_partner(session, "SUP1", language=language)
    assignment_id = open_cycle(session, "2027 annual review", supplier)["SUP1"]
    cycle_id = session.get(Assignment, assignment_id).cycle_id
    data = questionnaire_workbook(session=session, assignment_ids=[assignment_id])
    words = DROPDOWN_WORDS[language]
    assert {value: answer_value(word) for value, word in words.items()} == {v: v for v in words}

    book = load_workbook(io.BytesIO(data))
    [choice] = book[ANSWERS_SHEET].data_validations.dataValidation
    assert choice.formula1 == '"' + ",".join(words.values()) + '"'
    text = instructions_text(data)
    assert ("Cómo llenarlo" if language == "es" else "填写说明") in text
    expected = questionnaire.questionnaire(session=session, assignment_id=assignment_id)
    assert [r["question"] for r in sheet_rows(data)] == expected["question"].tolist()

    filled = fill(data, {"4.10": (words["partial"], "comentario"), "4.9": (words["na"], "aquí no")},
                  default=(words["yes"], None))
    import_file(session, cycle_id, "respuesta.xlsx", filled)
    stored = current(session, assignment_id)
    assert stored["4.10"] == ("partial", "comentario") and stored["4.9"] == ("na", "aquí no")
    assert {v for v, _ in stored.values()} == {"yes", "partial", "na"}
    # Pre-filled in the partner's words next time.
    rows = {r["criterion_id"]: r["answer"] for r in sheet_rows(
        questionnaire_workbook(session=session, assignment_ids=[assignment_id]))}
    assert rows["4.10"] == words["partial"] and rows["4.9"] == words["na"]


def test_mixed_languages_give_english_instructions_with_each_partners_questions(session, staff):
    chinese, spanish = add_partner(session, "ZH1", language="zh"), add_partner(session, "ES1", language="es")
    assignments = open_cycle(session, "2027 annual review", chinese, spanish)
    data = questionnaire_workbook(session=session, assignment_ids=list(assignments.values()))
    assert "How to fill it in" in instructions_text(data) and "2 partners" in instructions_text(data)
    rows = sheet_rows(data)
    for code, assignment_id in assignments.items():
        expected = questionnaire.questionnaire(session=session, assignment_id=assignment_id)["question"].tolist()
        assert [r["question"] for r in rows if r["partner_code"] == code] == expected

    spanish_file = questionnaire_workbook(session=session, assignment_ids=list(assignments.values()), language="es")
    assert "Cómo llenarlo" in instructions_text(spanish_file)
    forced = questionnaire.questionnaire(session=session, assignment_id=assignments["ZH1"], language="es")
    assert [r["question"] for r in sheet_rows(spanish_file) if r["partner_code"] == "ZH1"] == forced[
        "question"].tolist()


def test_text_is_never_a_formula_and_odd_characters_survive(session, staff):
    supplier = add_partner(session, "SUP1")
    assignment_id = open_cycle(session, "2027 annual review", supplier)["SUP1"]
    ids = questionnaire.applicable_criteria(session=session, assignment_id=assignment_id)
    odd = {ids[0]: "=HYPERLINK(\"http://x\")", ids[1]: "<b>bold</b> & \"quoted\"", ids[2]: "  two\nlines  ",
           ids[3]: "bell\x07 here"}
    session.add_all([Answer(assignment_id=assignment_id, criterion_id=c, value="no", comment=text, source="link",
                            answered_by="x") for c, text in odd.items()])
    session.commit()
    book = load_workbook(io.BytesIO(questionnaire_workbook(session=session, assignment_ids=[assignment_id])))
    cells = {row[1].value: row[6] for row in book[ANSWERS_SHEET].iter_rows(min_row=2)}
    assert cells[ids[0]].data_type == "s" and cells[ids[0]].value == odd[ids[0]]
    assert cells[ids[1]].value == odd[ids[1]] and cells[ids[2]].value == odd[ids[2]]
    assert cells[ids[3]].value == "bell here"  # control characters cannot be stored in a workbook
    assert not cells[ids[0]].protection.locked and cells[ids[0]].alignment.wrap_text


def test_exempt_partners_are_left_out_and_bad_requests_refused(session, staff):
    supplier, certified = add_partner(session, "SUP1"), add_partner(session, "CERT1")
    certify(session, certified.id, number="CT-9", verified_on=date.today())
    session.commit()
    assignments = open_cycle(session, "2027 annual review", supplier, certified)
    assert session.get(Assignment, assignments["CERT1"]).status == "exempt"
    rows = sheet_rows(questionnaire_workbook(session=session, assignment_ids=list(assignments.values())))
    assert {r["partner_code"] for r in rows} == {"SUP1"}

    with pytest.raises(ValidationError, match="exempt"):
        questionnaire_workbook(session=session, assignment_ids=[assignments["CERT1"]])
    with pytest.raises(ValidationError, match="No assignment with id 999999"):
        questionnaire_workbook(session=session, assignment_ids=[assignments["SUP1"], 999999])
    with pytest.raises(ValidationError, match="language"):
        questionnaire_workbook(session=session, assignment_ids=[assignments["SUP1"]], language="fr")
    with pytest.raises(ValidationError, match="at least one"):
        questionnaire_workbook(session=session, assignment_ids=[])
    other = open_cycle(session, "2028 annual review", supplier)["SUP1"]
    with pytest.raises(ValidationError, match="different cycles"):
        questionnaire_workbook(session=session, assignment_ids=[assignments["SUP1"], other])
    with pytest.raises(ValidationError, match="No cycle"):
        cycle_workbooks(session=session, cycle_id=999999)


def test_cycle_workbooks_one_file_per_partner_named_by_code(session, staff):
    partners = [add_partner(session, "SUP/2", language="es", entity_type="Highway Carrier"),
                add_partner(session, "SUP-1"), add_partner(session, "CON"), add_partner(session, "CERT1")]
    certify(session, partners[-1].id, verified_on=date.today())
    session.commit()
    assignments = open_cycle(session, "2027 annual review", *partners)
    cycle_id = session.get(Assignment, assignments["SUP-1"]).cycle_id
    files = cycle_workbooks(session=session, cycle_id=cycle_id)
    assert list(files) == ["CON_.xlsx", "SUP-1.xlsx", "SUP_2.xlsx"]
    for name, code in (("CON_.xlsx", "CON"), ("SUP-1.xlsx", "SUP-1"), ("SUP_2.xlsx", "SUP/2")):
        rows = sheet_rows(files[name])
        expected = questionnaire.questionnaire(session=session, assignment_id=assignments[code])
        assert {r["partner_code"] for r in rows} == {code}
        assert [r["question"] for r in rows] == expected["question"].tolist()
        assert f"{code} — {code} Ltd" in instructions_text(files[name])
    assert "Cómo llenarlo" in instructions_text(files["SUP_2.xlsx"])
    [choice] = load_workbook(io.BytesIO(files["SUP_2.xlsx"]))[ANSWERS_SHEET].data_validations.dataValidation
    assert "parcial" in choice.formula1


def test_print_setup_of_both_sheets(session, staff):
    supplier = add_partner(session, "SUP1", language="es")
    assignment_id = open_cycle(session, "2027 annual review", supplier)["SUP1"]
    book = load_workbook(io.BytesIO(questionnaire_workbook(session=session, assignment_ids=[assignment_id])))
    answers, instructions = book[ANSWERS_SHEET], book[INSTRUCTIONS_SHEET]
    for sheet, orientation in ((answers, "landscape"), (instructions, "portrait")):
        assert sheet.page_setup.orientation == orientation
        assert sheet.sheet_properties.pageSetUpPr.fitToPage
        assert (sheet.page_setup.fitToWidth, sheet.page_setup.fitToHeight) == (1, 0)  # one page wide, any length
        assert "Página &P de &N" in sheet.oddFooter.right.text
    assert answers.print_title_rows == "$1:$1"  # the header row on every page
    assert answers.print_area == f"'{ANSWERS_SHEET}'!$B$1:$H${answers.max_row}"  # the partner's own file: no code
    assert answers.print_options.gridLines
    assert instructions.print_area == f"'{INSTRUCTIONS_SHEET}'!$A$1:$B${instructions.max_row}"
    two = open_cycle(session, "2028 annual review", supplier, add_partner(session, "SUP2"))
    many = load_workbook(io.BytesIO(questionnaire_workbook(session=session, assignment_ids=list(two.values()))))
    assert many[ANSWERS_SHEET].print_area == f"'{ANSWERS_SHEET}'!$A$1:$H${many[ANSWERS_SHEET].max_row}"
    # Long questions wrap: their rows are as tall as their text (LibreOffice does not fit heights on opening).
    heights = [answers.row_dimensions[r].height or 15 for r in range(2, answers.max_row + 1)]
    assert max(heights) >= 45 and min(heights) >= 15


def test_chinese_workbook_reads_in_chinese(session, staff):
    supplier = add_partner(session, "ZH1", language="zh")
    assignment_id = open_cycle(session, "2027 annual review", supplier)["ZH1"]
    data = questionnaire_workbook(session=session, assignment_ids=[assignment_id])
    sheet = load_workbook(io.BytesIO(data))[ANSWERS_SHEET]
    assert [c.value for c in sheet[1]] == column_headers("zh") == [
        "合作伙伴代码", "标准编号", "类别", "要求", "问题", "回答", "说明", "回答日期"]
    rows = sheet_rows(data)
    expected = questionnaire.questionnaire(session=session, assignment_id=assignment_id)
    names = {n: texts.text(f"category.{n}", "zh") for n in range(1, 13)}
    assert [r["category"] for r in rows] == [names[n] for n in expected["category_number"]]
    assert {r["requirement"] for r in rows} == {"必须", "建议"}
    assert [r["requirement"] == "必须" for r in rows] == (expected["requirement"] == "must").tolist()
    english = set(expected["category"]) | {"must", "should", "Required", "Recommended"}
    everything = " ".join(str(c.value) for row in sheet.iter_rows() for c in row if c.value)
    assert not any(word in everything for word in english)
    text = instructions_text(data)
    assert "“回答”列" in text and "部分符合" in text and "“部分”" not in text


def test_libreoffice_opens_the_workbook_and_prints_it_as_wide_as_the_page(session, staff, tmp_path):
    supplier = add_partner(session, "ZH1", language="zh", legal_name="深圳市光明电子有限公司")
    assignment_id = open_cycle(session, "2027 annual review", supplier)["ZH1"]
    ids = answer_all(session, assignment_id, "partial")
    path = tmp_path / "ZH1.xlsx"
    path.write_bytes(questionnaire_workbook(session=session, assignment_ids=[assignment_id]))

    # Opened and saved again by LibreOffice, the sheet holds what was written, ids as text.
    [saved] = office.convert([path], "xlsx", tmp_path / "saved")
    rows = sheet_rows(saved.read_bytes())
    assert [r["criterion_id"] for r in rows] == ids and "4.10" in ids
    assert [(r["answer"], r["comment"]) for r in rows if r["criterion_id"] == "4.10"] == [
        ("部分符合", "last year 4.10")]
    expected = questionnaire.questionnaire(session=session, assignment_id=assignment_id)
    assert [r["question"] for r in rows] == expected["question"].tolist()

    # Printed: the instructions on one portrait page, the answers in landscape, every page with all the columns
    # (fit to the page width) under the repeated header row, and numbered.
    [pdf] = office.convert([path], "pdf", tmp_path / "pdf")
    pages = office.pdf_pages(pdf)
    assert len(pages) >= 3
    width, height, first = pages[0]
    assert width < height and "填写说明" in first and "深圳市光明电子有限公司" in first
    for number, (width, height, page) in enumerate(pages[1:], start=2):
        assert width > height, number
        assert all(header in page for header in ("标准编号", "问题", "回答日期")), number
        assert f"第 {number} 页，共 {len(pages)} 页" in page
    printed = "".join(page for _, _, page in pages[1:])
    assert all(cid in printed for cid in ids)
    assert "ZH1" not in printed  # the partner's own file leaves out the code column
