"""How much one uploaded file may hold, checked before the file is parsed.

Two sets of limits: `UPLOAD` for files sent through the app (the default: a web server shares its memory with
every user, so an upload stays within about 300 MB of it) and `COMMAND_LINE` for `manage.py import-...`, which
runs in its own process and reads the large files. Both refuse the same things (zip bombs, sheets wider than
`MAX_COLUMNS`, cells longer than Excel allows); the command line reads more rows.

The limits in force are a context variable: `command_line()` switches to the command-line limits for a block,
and `one_import()` counts the rows of every file read in its block against the per-import row limit, so that
several files of one upload cannot add up to more than one large file.
"""

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

MAX_COLUMNS = 1_000  # a questionnaire in wide form has about 200 columns; an ERP export a few dozen
MAX_CELL_CHARS = 32_767  # Excel's own limit for one cell: longer text did not come from a spreadsheet


@dataclass(frozen=True)
class Limits:
    """The most one file (and one import) may hold."""

    name: str
    max_file_bytes: int  # the file as uploaded
    max_unpacked_bytes: int  # a workbook's parts once decompressed (.xlsx and .ods are zip archives)
    max_rows: int  # rows of one import, all its files together
    max_cells: int  # non-empty cells of one sheet or file (rows x columns for a CSV file)
    max_text_chars: int  # characters of text in one sheet once shared strings and repeats are expanded
    max_columns: int = MAX_COLUMNS

    @property
    def advice(self) -> str:
        """What to do with a file over the row limit."""
        if self.name == "upload":
            return (f"Split it into files of at most {UPLOAD.max_rows:,} rows, or have an administrator import it "
                    f"on the server with `manage.py import-partners` / `import-responses` (up to "
                    f"{COMMAND_LINE.max_rows:,} rows).")
        return "Split it into smaller files."


UPLOAD = Limits(name="upload", max_file_bytes=50_000_000, max_unpacked_bytes=250_000_000, max_rows=100_000,
                max_cells=1_500_000, max_text_chars=60_000_000)
COMMAND_LINE = Limits(name="command line", max_file_bytes=1_000_000_000, max_unpacked_bytes=500_000_000,
                      max_rows=2_000_000, max_cells=15_000_000, max_text_chars=400_000_000)

_limits: ContextVar[Limits | None] = ContextVar("reader_limits", default=None)
_rows_read: ContextVar[list[int] | None] = ContextVar("reader_rows_read", default=None)


def current() -> Limits:
    """The limits in force here: UPLOAD unless inside `command_line()` (or `using(...)`)."""
    return _limits.get() or UPLOAD


@contextmanager
def using(limits: Limits) -> Iterator[Limits]:
    token = _limits.set(limits)
    try:
        yield limits
    finally:
        _limits.reset(token)


def command_line() -> AbstractContextManager[Limits]:
    """Read with the command-line limits inside this block (manage.py wraps every command in it)."""
    return using(COMMAND_LINE)


@contextmanager
def one_import() -> Iterator[None]:
    """Count the rows of every file read in this block against one import's row limit."""
    token = _rows_read.set([0])
    try:
        yield
    finally:
        _rows_read.reset(token)


def rows_left() -> int:
    """Rows the next file may still hold: the row limit less the rows of this import's earlier files."""
    used = _rows_read.get()
    return current().max_rows - (used[0] if used else 0)


def count_rows(rows: int) -> None:
    used = _rows_read.get()
    if used is not None:
        used[0] += rows
