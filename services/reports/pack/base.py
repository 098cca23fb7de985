"""What a section of the validation pack is, and what every section gets while the pack is built.

A section is one sheet of the workbook (its columns and the rows, produced as pandas frames in chunks so that a
large sheet never sits in memory at once), optionally a few key figures for the PDF's cover page and a part of the
PDF. Sections live one per module in services/reports/pack/sections/ and are found there (sections.SECTIONS).
"""

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from enum import StrEnum
from pathlib import PurePosixPath
from typing import TYPE_CHECKING

import pandas as pd
from sqlmodel import Session

if TYPE_CHECKING:
    from services.reports.pack.pdf import PdfReport

CHUNK_ROWS = 5_000  # rows per chunk a section yields: bounds the memory a long sheet needs


class Kind(StrEnum):
    """How a column's values are written: the cell type and style."""

    text = "text"  # one line, not wrapped
    wrap = "wrap"  # long text, wrapped (the row grows)
    integer = "integer"
    number = "number"  # two decimals
    date = "date"
    datetime = "datetime"  # in UTC
    flag = "flag"  # a boolean shown as Yes/No, empty when unknown


@dataclass(frozen=True)
class Column:
    """One column of a sheet: the frame's column `name`, its header for people, width in characters and kind."""

    name: str
    header: str
    width: float = 14
    kind: Kind = Kind.text


@dataclass
class PackContext:
    """What every section reads: the session, the day the pack is as of, the optional start of the dated logs,
    and the evidence files the workbook names (filled while the sheets are written, then copied into the ZIP)."""

    session: Session
    today: date
    since: date | None = None
    files: dict[str, tuple[str, str]] = field(default_factory=dict)  # pack member -> (sha256, original name)
    memo: dict[str, object] = field(default_factory=dict)  # data several sections share, loaded once

    @property
    def as_of(self) -> datetime:
        """The pack's one timestamp (midnight UTC of `today`): the same data gives the same bytes."""
        return datetime(self.today.year, self.today.month, self.today.day, tzinfo=UTC)

    @property
    def since_start(self) -> datetime | None:
        return datetime(self.since.year, self.since.month, self.since.day, tzinfo=UTC) if self.since else None

    def shared(self, key: str, load: Callable[[], object]) -> object:
        """`load()` once per pack under `key` (e.g. the certificate rule's result for every partner)."""
        if key not in self.memo:
            self.memo[key] = load()
        return self.memo[key]

    def file(self, sha256: str | None, filename: str) -> str:
        """The path inside the ZIP of an evidence file the workbook names ("" when there is none); the file is
        added to the ZIP after the workbook."""
        if not sha256:
            return ""
        name = PurePosixPath(filename.replace("\\", "/")).name or "file"
        member = f"evidence/{sha256[:12]}/{_safe_member_name(name)}"
        self.files.setdefault(member, (sha256, filename))
        return member


def _safe_member_name(name: str) -> str:
    """A file name every unzip tool accepts: no control characters or reserved punctuation, at most 120 chars."""
    cleaned = "".join("_" if (ord(c) < 32 or c in '<>:"/\\|?*') else c for c in name).strip(" .") or "file"
    if len(cleaned) > 120:
        stem, dot, ext = cleaned.rpartition(".")
        cleaned = (stem[:110] + dot + ext[:9]) if dot and len(ext) < 10 else cleaned[:120]
    return cleaned


Rows = Callable[[PackContext], Iterable[pd.DataFrame]]
Figures = Callable[[PackContext], list[tuple[str, str]]]
PdfPart = Callable[[PackContext, "PdfReport"], None]


@dataclass(frozen=True)
class Section:
    """One part of the pack.

    `rows(ctx)` yields frames holding (at least) the columns' names, a chunk at a time, in sheet order. `figures`
    gives key figures for the PDF's first page; `pdf` writes the section's part of the PDF (omitted when the
    data it needs does not exist: the PDF never shows an empty or invented chart). `order` places the sheet
    among the others (ten apart, so a new section fits in between).
    """

    key: str
    order: int
    sheet: str  # at most 31 characters, unique
    title: str
    description: str
    columns: tuple[Column, ...]
    rows: Rows
    figures: Figures | None = None
    pdf: PdfPart | None = None


def records(rows: Iterable, columns: list[str]) -> pd.DataFrame:
    """Database rows as a frame of plain Python objects: turning half a million texts into Arrow strings (pandas'
    default) and back for the XML costs seconds."""
    return pd.DataFrame([tuple(r) for r in rows], columns=columns, dtype=object)


def chunked(frame: pd.DataFrame, size: int = CHUNK_ROWS) -> Iterator[pd.DataFrame]:
    """A frame in chunks of `size` rows (an empty frame gives nothing)."""
    for start in range(0, len(frame), size):
        yield frame.iloc[start:start + size]
