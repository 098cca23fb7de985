"""CSV files are read by Arrow's parser when they are plain UTF-8 with whole quoted cells, else by pandas' C parser:
both must give the same cells, so that which one reads a file never changes what is imported or reported."""

import csv

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.imports.reader import read_table
from services.imports.reader import text as reader_text
from services.imports.reader.encoding import Encoding
from services.imports.reader.table import UnreadableFile

UTF8 = Encoding("utf-8", "UTF-8", 0)
PIECES = ["a", "b", "4.10", ",", ",", ";", "\t", '"', '"', '""', "\n", "\r\n", "\r", " ", "é", "=", "x,y", "答"]


def _both(data: bytes, delimiter: str) -> tuple[pd.DataFrame | None, pd.DataFrame | Exception]:
    lines = data.decode().splitlines()
    first = next((i for i, line in enumerate(lines) if line.strip()), 0)
    columns = len(next(csv.reader(lines[first:first + 1], delimiter=delimiter), []))
    fast = reader_text._read_arrow(data, UTF8, delimiter, 0, columns, 1_000) if first == 0 else None  # as read_text
    try:
        slow = reader_text._read_pandas("f.csv", data, UTF8, delimiter, 0, 1_001)
    except UnreadableFile as exc:
        slow = exc
    return fast, slow


@settings(max_examples=400, deadline=None)
@given(delimiter=st.sampled_from([",", ";", "\t"]),
       rows=st.lists(st.lists(st.lists(st.sampled_from(PIECES), max_size=4).map("".join), min_size=1, max_size=4),
                     min_size=1, max_size=5),
       newline=st.sampled_from(["\n", "\r\n"]), end=st.sampled_from(["", "\n", "\r\n"]))
def test_arrow_reads_what_pandas_reads_or_leaves_the_file_to_it(delimiter, rows, newline, end):
    data = (newline.join(delimiter.join(cells) for cells in rows) + end).encode()
    fast, slow = _both(data, delimiter)
    if fast is None:
        return
    assert not isinstance(slow, Exception), f"Arrow read a file pandas refuses: {slow}"
    pd.testing.assert_frame_equal(fast, slow.reset_index(drop=True))


@pytest.mark.parametrize("data, fast", [
    (b'partner_code,criterion_id,answer,comment\nP1,4.10,no,"late, see plan"\n', True),
    (b'partner_code,criterion_id,answer,comment\nP1,4.10,no,"line one\r\nline ""two"""\n', True),
    (b'partner_code,criterion_id,answer,comment\nP1,4.10,no,"never closed\n', False),  # pandas names the row
    (b'partner_code,criterion_id,answer,comment\n\nP1,4.10,yes,\n', True),  # a blank row keeps its number
    (b'\npartner_code,criterion_id,answer,comment\nP1,4.10,yes,\n', False),  # blank lines before the header
    (b'partner_code,criterion_id,answer,comment\nP1,4.10,yes\n', False),  # a short row
    (b'partner_code,criterion_id,answer,comment\nP1,4.10,say "yes",\n', False),  # a quote inside a cell
])
def test_which_parser_reads_a_file(data, fast):
    arrow, pandas = _both(data, ",")
    assert (arrow is not None) is fast
    if arrow is not None:
        pd.testing.assert_frame_equal(arrow, pandas.reset_index(drop=True))


def test_tables_read_by_either_parser_are_the_same(monkeypatch):
    data = ('\ufeffpartner_code,criterion_id,answer,comment\r\nP1,4.10,no,"late, see ""plan"""\r\n'
            "P2,4.1,yes,\r\n").encode()
    fast = read_table(filename="a.csv", data=data, header_keys=["partnercode"])
    monkeypatch.setattr(reader_text, "_read_arrow", lambda *args: None)
    slow = read_table(filename="a.csv", data=data, header_keys=["partnercode"])
    pd.testing.assert_frame_equal(fast.cells, slow.cells)
    assert (fast.headers, fast.header_row, fast.problems) == (slow.headers, slow.header_row, slow.problems)
