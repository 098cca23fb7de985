"""The zip container of .xlsx and .ods workbooks, opened with every part's true unpacked size counted.

A zip archive states each part's unpacked size, but a crafted one can state less than its deflate stream holds:
parts are inflated here (in slices, so memory stays bounded) and counted against the unpacked-size limit before
the spreadsheet library sees them, and an archive whose parts unpack to more than they state is refused.
"""

import io
import re
import struct
import zipfile
import zlib
from collections.abc import Iterator

from services.imports.reader import limits as reader_limits
from services.imports.reader.table import unreadable

MAX_PARTS = 10_000
MAX_ELEMENT_BYTES = 64_000_000  # a row of 1,000 cells of 32,767 characters is about 33 MB of XML
_SLICE = 1 << 22
_LOCAL_HEADER = b"PK\x03\x04"


class Malformed(Exception):
    """The XML of a part cannot be what a spreadsheet program writes."""


class Archive:
    """A workbook's zip archive: its part names, and its parts inflated with their sizes checked."""

    def __init__(self, name: str, data: bytes, what: str = "workbook"):
        self.name, self.data, self.what = name, data, what
        self.limits = reader_limits.current()
        try:
            self.zip = zipfile.ZipFile(io.BytesIO(data))
            infos = self.zip.infolist()
        except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError, struct.error) as exc:
            raise self.damaged() from exc
        if len(infos) > MAX_PARTS:
            raise unreadable(name, f"The {what} has {len(infos):,} parts; a spreadsheet has a few dozen.")
        self.parts = {info.filename: info for info in infos}
        self.lower = {n.lower(): n for n in self.parts}
        if sum(info.file_size for info in infos) > self.limits.max_unpacked_bytes:
            raise self.too_large()
        self.inflated = 0
        self.done: set[str] = set()

    def damaged(self) -> Exception:
        return unreadable(self.name, "The file is a damaged zip/Excel file and cannot be read.")

    def too_large(self) -> Exception:
        most = self.limits.max_unpacked_bytes / 1e6
        return unreadable(self.name, (
            f"The {self.what} is too large to read: it unpacks to more than {most:,.0f} MB (at most {most:,.0f} MB "
            f"are read, and a sheet of {self.limits.max_rows:,} rows needs far less). Save the sheet to import on "
            "its own, or as CSV."))

    def find(self, path: str) -> str | None:
        """The part's name as stored (part names are matched without regard to case, as Excel does)."""
        return self.lower.get(path.lower())

    def read(self, path: str, most: int = 20_000_000) -> bytes:
        """A small part (workbook structure, relationships) whole; larger than `most` bytes is refused."""
        info = self.parts[path]
        if info.file_size > most:
            raise unreadable(self.name, f"The {self.what} is damaged: its part {path} is {info.file_size:,} bytes.")
        return b"".join(self.chunks(path))

    def chunks(self, path: str) -> Iterator[bytes]:
        """The part inflated, in slices of at most 4 MB, counted against the unpacked-size limit."""
        info = self.parts[path]
        if info.flag_bits & 0x1:
            raise unreadable(self.name, (f"The {self.what} is password-protected (encrypted), which cannot be read: "
                                         "save it again without a password."))
        start = info.header_offset
        header = self.data[start:start + 30]
        if len(header) < 30 or header[:4] != _LOCAL_HEADER:
            raise self.damaged()
        name_length, extra_length = struct.unpack("<HH", header[26:30])
        begin = start + 30 + name_length + extra_length
        stored = memoryview(self.data)[begin:begin + info.compress_size]
        produced = 0
        for piece in self._inflate(info, stored):
            produced += len(piece)
            self.inflated += len(piece)
            if produced > info.file_size:
                raise self.damaged()
            if self.inflated > self.limits.max_unpacked_bytes:
                raise self.too_large()
            yield piece
        if produced != info.file_size:
            raise self.damaged()
        self.done.add(path)

    def _inflate(self, info: zipfile.ZipInfo, stored: memoryview) -> Iterator[bytes]:
        if info.compress_type == zipfile.ZIP_STORED:
            for offset in range(0, len(stored), _SLICE):
                yield stored[offset:offset + _SLICE].tobytes()
            return
        if info.compress_type != zipfile.ZIP_DEFLATED:
            raise unreadable(self.name, f"The {self.what} is compressed in a way spreadsheet programs do not use.")
        inflater = zlib.decompressobj(-zlib.MAX_WBITS)
        try:
            for offset in range(0, len(stored), _SLICE):
                pending: bytes | memoryview = stored[offset:offset + _SLICE]
                while pending and not inflater.eof:
                    piece = inflater.decompress(pending, _SLICE)
                    pending = inflater.unconsumed_tail
                    if piece:
                        yield piece
                if inflater.eof:
                    break
            rest = inflater.flush()
        except zlib.error as exc:
            raise self.damaged() from exc
        if rest:
            yield rest

    def check_the_rest(self) -> None:
        """Inflate every part not read yet (the spreadsheet library may read any of them), counting its size."""
        for path in self.parts:
            if path not in self.done:
                for _ in self.chunks(path):
                    pass


def slices(pieces: Iterator[bytes], boundary: re.Pattern) -> Iterator[bytes]:
    """Inflated slices re-cut after the last `boundary` match, so that no element spans two slices."""
    held = b""
    for piece in pieces:
        held += piece
        cut = _last_end(held, boundary)
        if cut:
            yield held[:cut]
            held = held[cut:]
        elif len(held) > MAX_ELEMENT_BYTES:
            raise Malformed("a row of more than 64 MB")
    if held:
        yield held


def _last_end(data: bytes, boundary: re.Pattern) -> int:
    """End of the last match of `boundary` (an end tag such as </row>) in `data`, or 0."""
    at = len(data)
    while (at := data.rfind(b">", 0, at)) >= 0:
        start = data.rfind(b"</", max(0, at - 64), at)
        if start >= 0 and boundary.fullmatch(data, start, at + 1):
            return at + 1
    return 0
