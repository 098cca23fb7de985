"""The file reader shared by all imports: formats, encodings, delimiters, headers, row numbers, refusals."""

import io
import zipfile
from datetime import datetime

import pytest
from openpyxl import Workbook

from services.imports.reader import MAX_CELL_CHARS, UnreadableFile, header_key, problems_csv, problems_frame, read_table

HEADER = "partner_code,criterion_id,answer,comment"


def xlsx_bytes(sheets: dict[str, list[list]]) -> bytes:
    book = Workbook()
    book.remove(book.active)
    for title, rows in sheets.items():
        sheet = book.create_sheet(title)
        for row in rows:
            sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def unreadable(filename: str, data: bytes) -> str:
    with pytest.raises(UnreadableFile) as caught:
        read_table(filename=filename, data=data)
    assert caught.value.problem.file == filename
    return caught.value.problem.message


@pytest.mark.parametrize("text", ["partner_code", "Partner Code", "PARTNER_CODE", "\ufeffpartner_code",
                                  " partner-code ", "Partner__Code"])
def test_header_key_ignores_case_spaces_underscores_and_bom(text):
    assert header_key(text) == "partnercode"


def test_utf8_with_bom_comma_keeps_header_text_and_row_numbers():
    data = ("\ufeff" + HEADER + "\nP1,1.1,yes,\n\n,,,\nP2,4.10,no,\"two\nlines\"\nP3,4.1,yes,ok\n").encode("utf-8")
    table = read_table(filename="a.csv", data=data)
    assert table.headers == ["partner_code", "criterion_id", "answer", "comment"]
    assert table.encoding == "UTF-8" and table.delimiter == ","
    # Blank rows are left out but the numbering is the spreadsheet's: the quoted line break stays in one row.
    assert list(table.cells.index) == [2, 5, 6]
    assert table.cells.loc[5].tolist() == ["P2", "4.10", "no", "two\nlines"]
    assert table.cells.loc[6, 1] == "4.1"


def test_windows_1252_semicolon_file():
    data = "partner_code;criterion_id;answer;comment\nP1;1.1;sí;Año de revisión – café\n".encode("cp1252")
    table = read_table(filename="b.csv", data=data)
    assert table.encoding == "Windows-1252" and table.delimiter == ";"
    assert table.cells.loc[2].tolist() == ["P1", "1.1", "sí", "Año de revisión – café"]


def test_tab_and_utf16_excel_unicode_text():
    data = "partner_code\tcriterion_id\tanswer\nP1\t1.1\t是\n".encode("utf-16")
    table = read_table(filename="c.txt", data=data)
    assert table.encoding == "UTF-16" and table.delimiter == "\t"
    assert table.cells.loc[2, 2] == "是"


def test_excel_sep_hint_line_is_not_a_row():
    table = read_table(filename="d.csv", data=b"sep=|\npartner_code|answer\nP1|yes\n")
    assert table.delimiter == "|" and table.header_row == 1 and list(table.cells.index) == [2]


def test_header_row_found_below_a_title():
    data = b"Questionnaire export 2027,,\n,,\npartner_code,criterion_id,answer\nP1,1.1,yes\n"
    table = read_table(filename="e.csv", data=data, header_keys=["partnercode"])
    assert table.header_row == 3 and list(table.cells.index) == [4]


def test_columns_are_found_by_name_not_position():
    table = read_table(filename="f.csv", data=b"Answer,COMMENT,Criterion ID,Partner Code\nyes,,1.1,P1\n")
    assert table.positions("partnercode") == [3]
    assert table.positions("answer") == [0]


def test_xlsx_reads_answers_sheet_values_not_formulas():
    data = xlsx_bytes({
        "Instructions": [["Fill in the answers"]],
        "Answers": [["partner_code", "criterion_id", "answer", "comment", "answered_on"],
                    [1001, 4.1, "yes", '=HYPERLINK("http://evil.example","click")', datetime(2026, 1, 31)],
                    [],
                    ["P2", "4.10", "no", "fine", 46023]],
    })
    table = read_table(filename="g.xlsx", data=data)
    assert table.sheet == "Answers" and table.kind == "xlsx"
    assert table.cells.loc[2].tolist()[:3] == ["1001", "4.1", "yes"]
    assert table.cells.loc[2, 4] == "2026-01-31"  # a date cell arrives as a date
    assert table.cells.loc[4].tolist() == ["P2", "4.10", "no", "fine", "46023"]
    [formula] = table.problems
    assert (formula.row, formula.column) == (2, "comment")
    assert "Formulas are not accepted" in formula.message and formula.value.startswith("=HYPERLINK")


def test_xlsx_text_starting_with_equals_is_text_but_csv_cell_is_a_formula():
    book = Workbook()
    book.active.append(["partner_code", "comment"])
    book.active.append(["P1", "=SUM(A1) is what we wrote"])
    book.active["B2"].data_type = "s"  # stored as text, as the app's export writes comments
    buffer = io.BytesIO()
    book.save(buffer)
    table = read_table(filename="t.xlsx", data=buffer.getvalue())
    assert table.problems == [] and table.cells.loc[2, 1] == "=SUM(A1) is what we wrote"
    table = read_table(filename="t.csv", data=b"partner_code,comment\nP1,=SUM(A1) is what we wrote\n")
    [problem] = table.problems
    assert (problem.row, problem.column) == (2, "comment") and "Formulas are not accepted" in problem.message


def test_xlsx_first_sheet_other_than_instructions_when_no_answers_sheet():
    data = xlsx_bytes({"Instructions": [["x"]], "Export": [["partner_code"], ["P1"]]})
    assert read_table(filename="h.xlsx", data=data).sheet == "Export"


def test_xlsx_by_content_even_when_named_csv():
    data = xlsx_bytes({"Sheet1": [["partner_code", "answer"], ["P1", "yes"]]})
    assert read_table(filename="really-a-workbook.csv", data=data).kind == "xlsx"


def test_macro_workbook_is_refused_whatever_its_name():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/workbook.xml", "<workbook/>")
        archive.writestr("xl/vbaProject.bin", b"\x00macro")
    for name in ("m.xlsm", "m.xlsx", "m.csv"):
        assert "contains macros" in unreadable(name, buffer.getvalue())


def test_macro_content_type_without_vba_part_is_refused():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml",
                         '<Types><Override ContentType="application/vnd.ms-excel.sheet.macroEnabled.main+xml"/>'
                         "</Types>")
        archive.writestr("xl/workbook.xml", "<workbook/>")
    assert "contains macros" in unreadable("n.xlsx", buffer.getvalue())


@pytest.mark.parametrize(("name", "data", "expected"), [
    ("empty.csv", b"", "The file is empty"),
    ("blank.csv", b"\r\n \n\t\n", "The file is empty"),
    ("old.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600, "damaged Excel 97-2003 (.xls) workbook"),
    ("fake.xlsx", b"partner_code,answer\nP1,yes\n", "named like a spreadsheet but is not one"),
    ("garbage.csv", bytes(range(256)) * 8, "binary data"),
    ("broken.xlsx", b"PK\x03\x04" + b"\x13" * 300, "damaged zip"),
])
def test_unreadable_files(name, data, expected):
    assert expected in unreadable(name, data)


def test_zip_that_is_not_a_workbook():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("readme.txt", "hello")
    assert "not an Excel workbook" in unreadable("z.xlsx", buffer.getvalue())


def test_mixed_encodings_name_the_rows():
    data = "partner_code,comment\nP1,café\n".encode() + "P2,café\n".encode("cp1252")
    with pytest.raises(UnreadableFile) as caught:
        read_table(filename="mixed.csv", data=data)
    problem = caught.value.problem
    assert problem.row == 3 and "row 2 is UTF-8 but row 3 is not" in problem.message


def test_gbk_file_is_read_not_garbled():
    data = "partner_code;answer;comment\nP1;是;我们每年检查一次\n".encode("gbk")
    table = read_table(filename="gbk.csv", data=data)
    assert table.encoding == "GB18030" and table.cells.loc[2].tolist() == ["P1", "是", "我们每年检查一次"]


def test_bytes_undefined_in_windows_1252():
    assert "neither UTF-8 nor Windows-1252" in unreadable("odd.csv", b"partner_code,comment\nP1,a\x81b\n")


def test_too_many_columns_csv_and_xlsx():
    header = ",".join(f"c{i}" for i in range(10_000))
    assert "10,000 columns" in unreadable("wide.csv", (header + "\n" + "x," * 9_999 + "x\n").encode())
    data = xlsx_bytes({"Answers": [[f"c{i}" for i in range(10_000)]]})
    assert "10,000 columns" in unreadable("wide.xlsx", data)


def test_cell_longer_than_excel_allows_is_reported():
    data = f"{HEADER}\nP1,1.1,yes,{'x' * (MAX_CELL_CHARS + 1)}\n".encode()
    table = read_table(filename="long.csv", data=data)
    [problem] = table.problems
    assert (problem.row, problem.column) == (2, "comment") and "at most 32,767" in problem.message


def test_ragged_row_and_unclosed_quote_name_the_row():
    with pytest.raises(UnreadableFile) as caught:
        read_table(filename="r.csv", data=f"{HEADER}\nP1,1.1,yes,\nP1,1.2,yes,a,b\n".encode())
    assert caught.value.problem.row == 3 and "has 5 cells but the header has 4" in caught.value.problem.message
    with pytest.raises(UnreadableFile) as caught:
        read_table(filename="q.csv", data=f'{HEADER}\nP1,1.1,yes,"never closed\n'.encode())
    assert caught.value.problem.row == 2 and "never closed" in caught.value.problem.message


def test_header_only_file_has_no_rows():
    table = read_table(filename="h.csv", data=(HEADER + "\n").encode())
    assert table.cells.empty and table.headers[0] == "partner_code"


def test_trailing_empty_columns_are_dropped_but_unnamed_data_columns_kept():
    table = read_table(filename="t.csv", data=b"partner_code,answer,,,\nP1,yes,,x,\n")
    assert table.headers == ["partner_code", "answer", ""]
    assert table.label(2) == "column C"


def test_problem_report_csv_neutralises_formulas():
    from services.imports.reader import Problem

    report = problems_csv([Problem("a.csv", 5, "comment", '=HYPERLINK("x")', "Formulas are not accepted")])
    assert report.startswith(b"\xef\xbb\xbf")
    text = report.decode("utf-8-sig")
    assert text.splitlines()[0] == "file,row,column,value,message,severity"
    assert "'=HYPERLINK" in text and ",5," in text
    assert problems_frame([]).columns.tolist() == ["file", "row", "column", "value", "message", "severity"]
