"""Excel 97-2003 (.xls) workbooks built byte by byte for the reader's tests: an OLE2 compound file holding one
"Workbook" stream of BIFF8 records. Small enough to build in a test, and able to say what Excel would not
(a cell in the last row and column, a shared string used by every cell, a macro sheet).
"""

import struct

_FREE, _END, _FAT_SECTOR, _NONE = 0xFFFFFFFF, 0xFFFFFFFE, 0xFFFFFFFD, 0xFFFFFFFF


def record(kind: int, data: bytes = b"") -> bytes:
    return struct.pack("<HH", kind, len(data)) + data


def _text(value: str) -> bytes:
    return struct.pack("<HB", len(value), 1) + value.encode("utf-16-le")


def label(row: int, column: int, value: str) -> bytes:
    return record(0x0204, struct.pack("<HHH", row, column, 15) + _text(value))


def number(row: int, column: int, value: float, xf: int = 15) -> bytes:
    return record(0x0203, struct.pack("<HHHd", row, column, xf, value))


def shared(row: int, column: int, index: int) -> bytes:
    return record(0x00FD, struct.pack("<HHHI", row, column, 15, index))


def formula(row: int, column: int, cached: float) -> bytes:
    tokens = struct.pack("<BH", 0x1E, 1)  # ptgInt 1: the formula "=1"
    return record(0x0006, struct.pack("<HHHdHIH", row, column, 15, cached, 0, 0, len(tokens)) + tokens)


def _globals_records() -> bytes:
    font = record(0x0031, struct.pack("<HHHHHBBBB", 200, 0, 0x7FFF, 400, 0, 0, 0, 0, 0) + b"\x05\x01" +
                  "Arial".encode("utf-16-le"))
    xf = record(0x00E0, struct.pack("<HHHBBBBIIH", 0, 0, 0xFFF5, 0x20, 0, 0, 0, 0, 0, 0x20C0))
    cell_xf = record(0x00E0, struct.pack("<HHHBBBBIIH", 0, 0, 0x0001, 0x20, 0, 0, 0, 0, 0, 0x20C0))
    date_xf = record(0x00E0, struct.pack("<HHHBBBBIIH", 0, 14, 0x0001, 0x20, 0, 0, 0, 0, 0, 0x20C0))
    return (record(0x0042, struct.pack("<H", 1200)) + font * 5 + xf * 15 + cell_xf + date_xf)


def workbook(sheets: dict[str, list[bytes]], strings: list[str] = (), sheet_types: dict[str, int] | None = None,
             extra_streams: tuple[str, ...] = (), password: bool = False) -> bytes:
    """An .xls file: `sheets` maps each sheet name to its cell records; `strings` is the shared string table;
    `sheet_types` gives a sheet another type than worksheet (1: Excel 4.0 macro sheet); `password` adds the
    FILEPASS record of an encrypted workbook."""
    bof_globals = record(0x0809, struct.pack("<HHHHII", 0x0600, 0x0005, 0x0DBB, 0x07CC, 0, 0x06))
    if password:
        bof_globals += record(0x002F, b"\x01\x00" + b"\x00" * 52)
    bof_sheet = record(0x0809, struct.pack("<HHHHII", 0x0600, 0x0010, 0x0DBB, 0x07CC, 0, 0x06))
    eof = record(0x000A)
    sst = b""
    if strings:
        body = struct.pack("<II", len(strings), len(strings)) + b"".join(_text(s) for s in strings)
        sst = record(0x00FC, body)
    names = list(sheets)

    def boundsheets(offsets: list[int]) -> bytes:
        out = b""
        for name, offset in zip(names, offsets, strict=True):
            kind = (sheet_types or {}).get(name, 0)
            out += record(0x0085, struct.pack("<IBBB", offset, 0, kind, len(name)) + b"\x01" + name.encode("utf-16-le"))
        return out

    head_length = len(bof_globals + _globals_records() + boundsheets([0] * len(names)) + sst + eof)
    bodies, offsets, at = [], [], head_length
    for name in names:
        cells = sheets[name]
        rows = max((struct.unpack_from("<H", c, 4)[0] for c in cells), default=0) + 1
        columns = max((struct.unpack_from("<H", c, 6)[0] for c in cells), default=0) + 1
        dimensions = record(0x0200, struct.pack("<IIHHH", 0, rows, 0, columns, 0))
        body = bof_sheet + dimensions + b"".join(cells) + eof
        offsets.append(at)
        bodies.append(body)
        at += len(body)
    stream = bof_globals + _globals_records() + boundsheets(offsets) + sst + eof + b"".join(bodies)
    stream += b"\x00" * max(0, 4096 - len(stream))  # a stream this long lives in regular sectors
    return compound_file({"Workbook": stream, **dict.fromkeys(extra_streams, b"\x00" * 4096)})


def compound_file(streams: dict[str, bytes]) -> bytes:
    """An OLE2 compound file of 512-byte sectors with the given streams (each at least 4,096 bytes long, so
    that none lives in the mini stream)."""
    size, per_sector = 512, 128
    sectors: list[bytes] = []
    chains: list[list[int]] = []
    for data in streams.values():
        padded = data + b"\x00" * (-len(data) % size)
        chains.append(list(range(len(sectors), len(sectors) + len(padded) // size)))
        sectors += [padded[i:i + size] for i in range(0, len(padded), size)]
    directory = _directory(streams, [chain[0] for chain in chains])
    chains.append(list(range(len(sectors), len(sectors) + len(directory) // size)))
    sectors += [directory[i:i + size] for i in range(0, len(directory), size)]
    fat_count = -(-(len(sectors) + 1) // per_sector)
    while fat_count * per_sector < len(sectors) + fat_count:
        fat_count += 1
    assert fat_count <= 109, "the header's table of FAT sectors holds 109"
    fat = [_FREE] * (fat_count * per_sector)
    for chain in chains:
        for this, following in zip(chain, [*chain[1:], _END], strict=True):
            fat[this] = following
    fat_sectors = list(range(len(sectors), len(sectors) + fat_count))
    for sector in fat_sectors:
        fat[sector] = _FAT_SECTOR
    table = struct.pack(f"<{len(fat)}I", *fat)
    sectors += [table[i:i + size] for i in range(0, len(table), size)]
    header = (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 16 + struct.pack("<HHHHH", 0x3E, 3, 0xFFFE, 9, 6)
              + b"\x00" * 6 + struct.pack("<IIIIIIIII", 0, fat_count, chains[-1][0], 0, 4096, _END, 0, _END, 0)
              + struct.pack("<109I", *fat_sectors, *[_FREE] * (109 - fat_count)))
    return header + b"".join(sectors)


def _directory(streams: dict[str, bytes], starts: list[int]) -> bytes:
    def entry(name: str, kind: int, start: int, length: int, child: int = _NONE, right: int = _NONE) -> bytes:
        encoded = name.encode("utf-16-le") + b"\x00\x00"
        return (encoded.ljust(64, b"\x00") + struct.pack("<HBBIII", len(encoded), kind, 1, _NONE, right, child)
                + b"\x00" * 36 + struct.pack("<IQ", start, length))

    names = list(streams)
    directory = entry("Root Entry", 5, _END, 0, child=1)
    for i, name in enumerate(names):
        directory += entry(name, 2, starts[i], len(streams[name]), right=i + 2 if i + 1 < len(names) else _NONE)
    return directory.ljust(-(-len(directory) // 512) * 512, b"\x00")


def encrypted_ooxml() -> bytes:
    """What Excel writes for an .xlsx saved with a password: an OLE2 file with EncryptionInfo and
    EncryptedPackage streams."""
    return compound_file({"EncryptionInfo": b"\x04\x00\x04\x00" + b"\x00" * 4092, "EncryptedPackage": b"\x00" * 4096})
