"""The check of an Excel 97-2003 (.xls) workbook before it is read: password, macros, the sheet, its size.

An .xls file is an OLE2 compound file (a small file system of sectors) holding a "Workbook" stream of BIFF
records. The stream is followed through the sector tables and its records are walked here: sheet names and
types, the shared strings' lengths, and the position of every cell of the sheet to read, so that a few
kilobytes claiming a cell in the last row and column, or a long shared string copied into a million cells, are
refused before the spreadsheet library builds them.
"""

import struct

from services.imports.reader.extent import Extent
from services.imports.reader.table import UnreadableFile, unreadable
from services.imports.reader.xlsx import Checked, pick_sheet

OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_END_OF_CHAIN = 0xFFFFFFFE
_FREE = 0xFFFFFFFF

_BOF, _EOF, _FILEPASS, _BOUNDSHEET, _SST, _CONTINUE = 0x0809, 0x000A, 0x002F, 0x0085, 0x00FC, 0x003C
_NUMBER, _RK, _BOOLERR, _MULRK, _LABEL, _LABELSST, _RSTRING = 0x0203, 0x027E, 0x0205, 0x00BD, 0x0204, 0x00FD, 0x00D6
_FORMULA, _STRING = 0x0006, 0x0207


class _Damaged(Exception):
    pass


def check(name: str, data: bytes, preferred: str) -> Checked:
    """Refuse what must not be read in an .xls file; the sheet to read and its formula cells."""
    try:
        compound = _Compound(data)
        streams = compound.streams()
        if "EncryptedPackage" in streams or "EncryptionInfo" in streams:
            raise unreadable(name, ("The workbook is password-protected (encrypted), which cannot be read: save it "
                                    "again without a password."))
        if {"_VBA_PROJECT_CUR", "_VBA_PROJECT", "Macros", "VBA"} & set(streams):
            raise unreadable(name, ("The workbook contains macros, which are never opened here. Save it as 'Excel "
                                    "Workbook (.xlsx)' without macros and upload that."))
        stream = streams.get("Workbook") or streams.get("Book")
        if stream is None:
            raise unreadable(name, ("The file is an Office document but not an Excel workbook. Upload a .xlsx, "
                                    ".xls or .csv file."))
        workbook = compound.read(stream)
        sheets, shared = _globals(name, workbook)
        names = [n for n, kind, _ in sheets if kind == 0]
        sheet = pick_sheet(names, preferred)
        if sheet is None:
            raise unreadable(name, "The workbook has no sheet to read.")
        offset = next(at for n, kind, at in sheets if kind == 0 and n == sheet)
        extent = _cells(name, sheet, workbook, offset, shared)
    except UnreadableFile:
        raise
    except (_Damaged, struct.error, IndexError, ValueError, UnicodeDecodeError) as exc:
        raise unreadable(name, "The file is a damaged Excel 97-2003 (.xls) workbook and cannot be read.") from exc
    return Checked(sheet, extent.formulas)


class _Compound:
    """Just enough of the OLE2 compound file format to find and read one stream."""

    def __init__(self, data: bytes):
        if len(data) < 512 or not data.startswith(OLE2):
            raise _Damaged("no OLE2 header")
        self.data = data
        self.shift = struct.unpack_from("<H", data, 0x1E)[0]
        self.mini_shift = struct.unpack_from("<H", data, 0x20)[0]
        if self.shift not in (9, 12) or self.mini_shift != 6:
            raise _Damaged("sector size")
        self.size = 1 << self.shift
        self.sectors = -(-(len(data) - 512) // self.size)
        (self.directory_start, _, self.cutoff, self.minifat_start, _, difat_start, difat_count) = \
            struct.unpack_from("<7I", data, 0x30)
        fat_sectors = [s for s in struct.unpack_from("<109I", data, 0x4C) if s < _END_OF_CHAIN]
        sector = difat_start
        for _ in range(min(difat_count, self.sectors)):
            if sector >= _END_OF_CHAIN:
                break
            entries = struct.unpack_from(f"<{self.size // 4}I", self._sector(sector))
            fat_sectors += [s for s in entries[:-1] if s < _END_OF_CHAIN]
            sector = entries[-1]
        self.fat = []
        for sector in fat_sectors[: self.sectors]:
            self.fat += struct.unpack_from(f"<{self.size // 4}I", self._sector(sector))

    def _sector(self, number: int) -> bytes:
        if number >= self.sectors:
            raise _Damaged("sector out of range")
        start = (number + 1) << self.shift
        return self.data[start:start + self.size]

    def _chain(self, start: int, table: list[int]) -> list[int]:
        chain, sector = [], start
        while sector < _END_OF_CHAIN:
            if sector >= len(table) or len(chain) > len(table):
                raise _Damaged("broken sector chain")
            chain.append(sector)
            sector = table[sector]
        return chain

    def streams(self) -> dict[str, tuple[int, int]]:
        """Every stream and storage of the file: name -> (first sector, size); the root's mini stream too."""
        directory = b"".join(self._sector(s) for s in self._chain(self.directory_start, self.fat))
        found = {}
        for at in range(0, len(directory) - 127, 128):
            length, kind = struct.unpack_from("<HB", directory, at + 64)
            if kind not in (1, 2, 5) or not 2 <= length <= 64:
                continue
            entry_name = directory[at:at + length - 2].decode("utf-16-le")
            start, size = struct.unpack_from("<IQ", directory, at + 116)
            if self.shift == 9:
                size &= 0xFFFFFFFF
            found["\x00root" if kind == 5 else entry_name] = (start, size)
        return found

    def read(self, stream: tuple[int, int]) -> bytes:
        start, size = stream
        if size > len(self.data):
            raise _Damaged("stream larger than the file")
        if size >= self.cutoff:
            return b"".join(self._sector(s) for s in self._chain(start, self.fat))[:size]
        root_start, root_size = self.streams()["\x00root"]
        mini_stream = b"".join(self._sector(s) for s in self._chain(root_start, self.fat))[:root_size]
        minifat_bytes = b"".join(self._sector(s) for s in self._chain(self.minifat_start, self.fat))
        minifat = list(struct.unpack_from(f"<{len(minifat_bytes) // 4}I", minifat_bytes))
        return b"".join(mini_stream[s << 6:(s + 1) << 6] for s in self._chain(start, minifat))[:size]


def _records(stream: bytes, offset: int = 0):
    """(type, data) of each BIFF record from `offset`."""
    end = len(stream)
    while offset + 4 <= end:
        kind, length = struct.unpack_from("<HH", stream, offset)
        yield kind, stream[offset + 4:offset + 4 + length]
        offset += 4 + length


def _globals(name: str, stream: bytes) -> tuple[list[tuple[str, int, int]], list[int]]:
    """The sheets (name, type, offset of their records) and the character count of every shared string."""
    sheets: list[tuple[str, int, int]] = []
    sst: list[bytes] = []
    biff8, collecting = True, False
    for number, (kind, data) in enumerate(_records(stream)):
        if number == 0:
            if kind != _BOF:
                raise _Damaged("no BOF record")
            biff8 = struct.unpack_from("<H", data, 0)[0] == 0x0600
        collecting = kind == _SST or (collecting and kind == _CONTINUE)
        if kind == _FILEPASS:
            raise unreadable(name, ("The workbook is password-protected (encrypted), which cannot be read: save it "
                                    "again without a password."))
        if kind == _BOUNDSHEET:
            offset, _, sheet_type, length = struct.unpack_from("<IBBB", data, 0)
            if biff8:
                wide = data[7] & 1
                sheet_name = data[8:8 + length * (2 if wide else 1)].decode("utf-16-le" if wide else "latin-1")
            else:
                sheet_name = data[7:7 + length].decode("cp1252", "replace")
            if sheet_type == 1:
                raise unreadable(name, ("The workbook contains an Excel 4.0 macro sheet, which is never opened here. "
                                        "Save it as 'Excel Workbook (.xlsx)' without macros and upload that."))
            sheets.append((sheet_name, sheet_type, offset))
        elif collecting:
            sst.append(data)
        elif kind == _EOF:
            break
    return sheets, _shared_lengths(sst)


def _shared_lengths(segments: list[bytes]) -> list[int]:
    """The character count of each shared string (BIFF8 SST, its text possibly continued in CONTINUE records)."""
    if not segments:
        return []
    unique = struct.unpack_from("<I", segments[0], 4)[0]
    lengths: list[int] = []
    part, at = 0, 8
    for _ in range(unique):
        if at >= len(segments[part]):
            part, at = part + 1, 0
        if part >= len(segments):
            break
        segment = segments[part]
        count, flags = struct.unpack_from("<HB", segment, at)
        at += 3
        runs = extra = 0
        if flags & 0x08:
            runs = struct.unpack_from("<H", segment, at)[0] * 4
            at += 2
        if flags & 0x04:
            extra = struct.unpack_from("<I", segment, at)[0]
            at += 4
        wide, left = flags & 0x01, count
        while left:
            fits = min(left, (len(segments[part]) - at) // (2 if wide else 1))
            at += fits * (2 if wide else 1)
            left -= fits
            if left:
                part += 1
                if part >= len(segments):
                    raise _Damaged("shared string runs past its records")
                wide, at = segments[part][0] & 0x01, 1
        skip = runs + extra
        while skip:
            step = min(skip, len(segments[part]) - at)
            at += step
            skip -= step
            if skip:
                part, at = part + 1, 0
                if part >= len(segments):
                    raise _Damaged("shared string runs past its records")
        lengths.append(count)
    return lengths


def _cells(name: str, sheet: str, stream: bytes, offset: int, shared: list[int]) -> Extent:
    """Every non-empty cell of the sheet's records, counted against the limits; formula cells noted."""
    extent = Extent(name, sheet)
    for kind, data in _records(stream, offset):
        if kind == _EOF:
            break
        if kind in (_NUMBER, _RK, _BOOLERR):
            row, column = struct.unpack_from("<HH", data, 0)
            extent.add(row + 1, column, 24)
        elif kind == _MULRK:
            row, first = struct.unpack_from("<HH", data, 0)
            last = struct.unpack_from("<H", data, len(data) - 2)[0]
            for column in range(first, last + 1):
                extent.add(row + 1, column, 24)
        elif kind in (_LABEL, _RSTRING):
            row, column, _, length = struct.unpack_from("<HHHH", data, 0)
            extent.add(row + 1, column, length)
        elif kind == _LABELSST:
            row, column, _, index = struct.unpack_from("<HHHI", data, 0)
            extent.add(row + 1, column, shared[index] if index < len(shared) else 0)
        elif kind == _FORMULA:
            row, column = struct.unpack_from("<HH", data, 0)
            extent.add(row + 1, column, 24)
            if len(extent.formulas) < 10_000:
                extent.formulas[(row + 1, column)] = "=(a formula)"
        elif kind == _STRING:
            extent.text += struct.unpack_from("<H", data, 0)[0]
        if extent.wide_row is not None or extent.cells & 0xFFF == 0:
            extent.check()
    extent.check()
    return extent
