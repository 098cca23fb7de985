"""The reader's limits: files that would take too much memory are refused before they are parsed, quickly and
with memory bounded, in the app (upload limits) and on the command line (larger limits) alike.

Memory is measured in a fresh process (peak RSS growth while reading), with bounds generous enough for a
noisy machine yet far below what the files would take if they were read: the zip bomb of issue 6 grew the
server to 5-6 GB.
"""

import dataclasses
import re
from pathlib import Path

import pytest

import manage
from services.imports.reader import UnreadableFile, limits, read_table
from tests import bombs
from tests.xls_files import encrypted_ooxml, label, number, shared, workbook

ROOT = Path(__file__).resolve().parent.parent


def refusal(filename: str, data: bytes) -> UnreadableFile:
    with pytest.raises(UnreadableFile) as caught:
        read_table(filename=filename, data=data)
    assert caught.value.problem.file == filename
    return caught.value


CELL_900 = (b'<table:table-cell office:value-type="string" table:number-columns-repeated="900"><text:p>x</text:p>'
            b"</table:table-cell>")
BUILT = {
    # the workbook of the issue: 1.6 GB of rows, a few MB on disk (here stating its size; the rows do not matter)
    "stated.xlsx": lambda: bombs.understated(bombs.unpacked_bomb(20_000_000), "xl/worksheets/sheet1.xml",
                                             1_600_000_000),
    # 60 MB of rows stating 40 MB: inflated in slices, and refused
    "understated.xlsx": lambda: bombs.understated(bombs.unpacked_bomb(60_000_000), "xl/worksheets/sheet1.xml",
                                                  40_000_000),
    "corners.xlsx": bombs.sparse_corners,
    "copies.xlsx": lambda: bombs.shared_string_copies(50_000),  # 50,000 copies of 32,000 characters
    "repeats.ods": lambda: bombs.ods(b'<table:table-row table:number-rows-repeated="1000000">' + CELL_900
                                     + b"</table:table-row>"),
    # an upload at the row limit, in the layout of a long-form answer file
    "largest.xlsx": lambda: bombs.xlsx([bombs.HEADER_ROW, *bombs.answer_rows(
        limits.UPLOAD.max_rows, comment="Procedure being rolled out at the second plant; due next quarter.")]),
}
READS = [("stated.xlsx", "UPLOAD"), ("stated.xlsx", "COMMAND_LINE"), ("understated.xlsx", "UPLOAD"),
         ("corners.xlsx", "UPLOAD"), ("corners.xlsx", "COMMAND_LINE"), ("copies.xlsx", "COMMAND_LINE"),
         ("repeats.ods", "COMMAND_LINE"), ("largest.xlsx", "UPLOAD")]


@pytest.fixture(scope="module")
def measured(tmp_path_factory) -> dict[tuple[str, str], dict]:
    """Every file of BUILT read in one fresh process (per-file peak memory), keyed by (file, limits)."""
    folder = tmp_path_factory.mktemp("bombs")
    for name, build in BUILT.items():
        (folder / name).write_bytes(build())
    results = bombs.read_in_subprocess([(folder / name, which) for name, which in READS])
    return {(Path(r["file"]).name, which): r for r, (_, which) in zip(results, READS, strict=True)}


def test_documented_limits_are_the_enforced_ones():
    """docs/import-formats.md states the limits the reader enforces (it once said 10,000 columns for 1,000)."""
    text = (ROOT / "docs" / "import-formats.md").read_text()
    numbers = {int(n.replace(",", "")) for n in re.findall(r"\b\d{1,3}(?:,\d{3})+\b|\b\d+\b", text)}
    assert limits.MAX_COLUMNS == 1_000 and "1,000 columns" in text and "10,000 columns" not in text
    for value in (limits.UPLOAD.max_rows, limits.COMMAND_LINE.max_rows, limits.MAX_CELL_CHARS):
        assert value in numbers, value
    for value in (limits.UPLOAD.max_unpacked_bytes, limits.COMMAND_LINE.max_unpacked_bytes,
                  limits.UPLOAD.max_file_bytes):
        assert f"{value // 1_000_000:,} MB" in text, value


def test_zip_bomb_stating_its_size_is_refused_before_anything_is_unpacked(measured):
    for which, limit in (("UPLOAD", "250 MB"), ("COMMAND_LINE", "500 MB")):
        result = measured[("stated.xlsx", which)]
        assert f"unpacks to more than {limit}" in result["refused"], result
        assert result["grew_mb"] < 50, result


def test_zip_bomb_understating_its_size_is_refused_while_unpacking_with_memory_bounded(measured):
    result = measured[("understated.xlsx", "UPLOAD")]
    assert "more than 100,000 rows" in result["refused"], result  # its rows have no numbers: counted one by one
    assert result["grew_mb"] < 150, result


def test_sheet_spanning_every_row_and_column_is_refused(measured):
    upload, command_line = measured[("corners.xlsx", "UPLOAD")], measured[("corners.xlsx", "COMMAND_LINE")]
    assert "more than 100,000 rows" in upload["refused"], upload
    assert "has 16,384 columns; at most 1,000 are read" in command_line["refused"], command_line
    assert command_line["row"] == 1048576
    assert upload["grew_mb"] < 50 and command_line["grew_mb"] < 50, (upload, command_line)


def test_shared_string_copied_into_every_cell_is_refused(measured):
    result = measured[("copies.xlsx", "COMMAND_LINE")]
    assert "characters of text; at most 400,000,000 are read" in result["refused"], result
    assert result["grew_mb"] < 80, result


def test_largest_accepted_upload_stays_within_the_memory_budget(measured):
    """An upload at the row limit reads within about 300 MB."""
    result = measured[("largest.xlsx", "UPLOAD")]
    assert result["refused"] is None and result["rows"] == limits.UPLOAD.max_rows, result
    assert result["grew_mb"] < 300, result


def test_rows_over_the_upload_limit_are_refused_with_advice_and_read_on_the_command_line(monkeypatch):
    monkeypatch.setattr(limits, "UPLOAD", dataclasses.replace(limits.UPLOAD, max_rows=1_000))
    data = bombs.xlsx([bombs.HEADER_ROW, *bombs.answer_rows(1_050)])
    message = str(refusal("many.xlsx", data))
    assert "Sheet 'Answers' has more than 1,000 rows; at most 1,000 are read per import" in message
    assert "manage.py import-partners" in message and "(up to 2,000,000 rows)" in message
    with limits.command_line():
        assert len(read_table(filename="many.xlsx", data=data).cells) == 1_050


def test_csv_rows_and_cells_limits():
    header = "partner_code,criterion_id,answer,comment\n"
    data = (header + "SUP001,1.1,yes,\n" * (limits.UPLOAD.max_rows + 1)).encode()
    assert "more than 100,000 rows" in str(refusal("many.csv", data))
    with limits.command_line():
        assert len(read_table(filename="many.csv", data=data).cells) == limits.UPLOAD.max_rows + 1
    wide = ",".join(f"c{i}" for i in range(900)) + "\n"
    data = (wide + ",".join("x" for _ in range(900)) + "\n") * 2_000
    assert "more than 1,500,000 cells" in str(refusal("wide.csv", data.encode()))


def test_one_import_counts_the_rows_of_all_its_files():
    data = ("partner_code,answer\n" + "P1,yes\n" * 60_000).encode()
    with limits.one_import():
        read_table(filename="first.csv", data=data)
        message = str(refusal("second.csv", data))
    assert "With the files before it, this import has more than 100,000 rows" in message
    read_table(filename="alone.csv", data=data)  # outside an import, each file counts alone


def test_file_over_the_upload_size_is_refused(monkeypatch):
    monkeypatch.setattr(limits, "UPLOAD", dataclasses.replace(limits.UPLOAD, max_file_bytes=100_000))
    assert "The file is 0.2 MB; at most 0.1 MB are read" in str(refusal("big.csv", b"a,b\n" + b"1,2\n" * 50_000))


def test_ods_repeated_rows_and_cells_are_multiplied_out_before_reading(measured):
    result = measured[("repeats.ods", "COMMAND_LINE")]
    assert "spans 1,000,000 rows and 900 columns" in result["refused"], result
    assert result["grew_mb"] < 50, result
    spaces = bombs.ods(bombs.ods_row("partner_code") + b'<table:table-row><table:table-cell office:value-type='
                       b'"string"><text:p>a<text:s text:c="2000000000"/></text:p></table:table-cell></table:table-row>')
    assert "characters of text" in str(refusal("spaces.ods", spaces))


def test_xls_sparse_cells_and_copied_shared_strings_are_refused():
    corners = workbook({"Answers": [label(0, 0, "partner_code"), label(65535, 255, "x")]})
    with limits.command_line():
        assert "spans 65,536 rows and 256 columns" in str(refusal("corners.xls", corners))
    copies = workbook({"Answers": [shared(row, column, 0) for row in range(400) for column in range(250)]},
                      strings=["x" * 20_000])
    assert "characters of text" in str(refusal("copies.xls", copies))


def test_xls_macros_and_passwords_are_refused():
    macro_sheet = workbook({"Answers": [label(0, 0, "partner_code")], "Macro1": []}, sheet_types={"Macro1": 1})
    assert "Excel 4.0 macro sheet" in str(refusal("m.xls", macro_sheet))
    vba = workbook({"Answers": [label(0, 0, "partner_code")]}, extra_streams=("_VBA_PROJECT_CUR",))
    assert "contains macros" in str(refusal("v.xls", vba))
    assert "password-protected" in str(refusal("secret.xlsx", encrypted_ooxml()))
    protected = workbook({"Answers": [label(0, 0, "partner_code"), number(1, 0, 1.0)]}, password=True)
    assert "password-protected" in str(refusal("p.xls", protected))


def test_command_line_reads_with_the_command_line_limits(tmp_path, database_url, monkeypatch, capsys):
    """manage.py reads files over the upload limit; the app (a plain preview) refuses them."""
    monkeypatch.setattr(limits, "UPLOAD", dataclasses.replace(limits.UPLOAD, max_rows=3))
    monkeypatch.setenv("CTPAT_DATABASE_URL", database_url)
    path = tmp_path / "partners.csv"
    path.write_text("partner_code,legal_name,entity_type,country\n"
                    + "".join(f"L-{i},Limits Test {i} Ltd,Exporter,CN\n" for i in range(5)))
    assert manage.main(["import-partners", str(path), "--dry-run"]) == 0
    assert "Partners: 5 new" in capsys.readouterr().out
    assert "more than 3 rows" in str(refusal("partners.csv", path.read_bytes()))


def test_text_the_library_holds_counts_even_where_no_cell_shows_it(monkeypatch):
    """Shared strings are all held when a workbook opens, and every sheet of an .ods: they count as a whole."""
    monkeypatch.setattr(limits, "UPLOAD", dataclasses.replace(limits.UPLOAD, max_text_chars=10_000))
    unused = bombs.xlsx([bombs.HEADER_ROW], shared=["x" * 20_000])
    assert "shared texts are too many or too long" in str(refusal("unused.xlsx", unused))
    sheets = bombs.zip_parts({"mimetype": b"application/vnd.oasis.opendocument.spreadsheet", "content.xml": (
        b'<office:document-content xmlns:office="o" xmlns:table="t" xmlns:text="x"><office:body><office:spreadsheet>'
        + b"".join(f'<table:table table:name="S{i}">'.encode() + bombs.ods_row("y" * 3_000) + b"</table:table>"
                   for i in range(5))
        + b"</office:spreadsheet></office:body></office:document-content>")})
    assert "all sheets together" in str(refusal("sheets.ods", sheets))
