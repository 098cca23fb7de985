"""Spreadsheets built to hurt a reader, small on disk: zip bombs, sheets spanning every row and column, shared
strings copied into every cell, repeated rows of an .ods. Used by the reader's tests and by bench/bench_import.py.
"""

import io
import json
import subprocess
import sys
import zipfile
from collections.abc import Iterable, Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
_NS = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
_REL_NS = 'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"'


def zip_parts(parts: dict[str, bytes | Iterable[bytes]], level: int = 1) -> bytes:
    """A zip archive of the parts (a part may be an iterable of pieces, compressed as they come)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=level) as archive:
        for name, content in parts.items():
            if name == "mimetype":
                archive.writestr(name, content, compress_type=zipfile.ZIP_STORED)
                continue
            with archive.open(name, "w") as part:
                for piece in [content] if isinstance(content, bytes) else content:
                    part.write(piece)
    return buffer.getvalue()


def xlsx(sheet_data: bytes | Iterable[bytes], shared: list[str] | None = None, sheet: str = "Answers",
         level: int = 1) -> bytes:
    """A workbook of one sheet whose <sheetData> holds `sheet_data` (bytes, or pieces streamed into the zip)."""
    pieces = [sheet_data] if isinstance(sheet_data, bytes) else sheet_data

    def sheet_xml() -> Iterator[bytes]:
        yield f'<?xml version="1.0" encoding="UTF-8"?><worksheet {_NS}><sheetData>'.encode()
        yield from pieces
        yield b"</sheetData></worksheet>"

    parts: dict[str, bytes | Iterable[bytes]] = {
        "[Content_Types].xml": (
            b'<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
            b'content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
            b'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/'
            b'workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
            b'<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-'
            b'officedocument.spreadsheetml.worksheet+xml"/></Types>'),
        "_rels/.rels": (
            b'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/'
            b'2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
            b'relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>'),
        "xl/workbook.xml": (f'<?xml version="1.0" encoding="UTF-8"?><workbook {_NS} {_REL_NS}><sheets>'
                            f'<sheet name="{sheet}" sheetId="1" r:id="rId1"/></sheets></workbook>').encode(),
        "xl/_rels/workbook.xml.rels": (
            '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/'
            '2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
            'relationships/worksheet" Target="worksheets/sheet1.xml"/>'
            + ('<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
               'sharedStrings" Target="sharedStrings.xml"/>' if shared is not None else "")
            + "</Relationships>").encode(),
        "xl/worksheets/sheet1.xml": sheet_xml(),
    }
    if shared is not None:
        strings = "".join(f"<si><t>{s}</t></si>" for s in shared)
        parts["xl/sharedStrings.xml"] = (f'<?xml version="1.0" encoding="UTF-8"?><sst {_NS} count="{len(shared)}" '
                                         f'uniqueCount="{len(shared)}">{strings}</sst>').encode()
    return zip_parts(parts, level)


def answer_rows(count: int, first: int = 2, comment: str = "Seal log kept by security staff") -> Iterator[bytes]:
    """`count` rows of a long-form answer sheet (partner, criterion, answer, comment) from row `first`, in
    pieces of about 1 MB."""
    batch = []
    for row in range(first, first + count):
        batch.append(f'<row r="{row}"><c r="A{row}" t="inlineStr"><is><t>SUP001</t></is></c><c r="B{row}" '
                     f't="inlineStr"><is><t>1.1</t></is></c><c r="C{row}" t="inlineStr"><is><t>yes</t></is></c>'
                     f'<c r="D{row}" t="inlineStr"><is><t>{comment}</t></is></c></row>')
        if len(batch) == 5_000:
            yield "".join(batch).encode()
            batch = []
    if batch:
        yield "".join(batch).encode()


HEADER_ROW = (b'<row r="1"><c r="A1" t="inlineStr"><is><t>partner_code</t></is></c><c r="B1" t="inlineStr"><is>'
              b'<t>criterion_id</t></is></c><c r="C1" t="inlineStr"><is><t>answer</t></is></c><c r="D1" '
              b't="inlineStr"><is><t>comment</t></is></c></row>')


def repeated(piece: bytes, total: int) -> Iterator[bytes]:
    """`piece` repeated to about `total` bytes, in pieces of about 1 MB."""
    block = piece * max(1, 1_000_000 // len(piece))
    for _ in range(max(1, total // len(block))):
        yield block


def unpacked_bomb(total: int) -> bytes:
    """The workbook of the issue: a sheet of ordinary-looking rows unpacking to `total` bytes, a few MB on disk
    (rows without numbers compress to almost nothing)."""
    row = (b'<row><c t="inlineStr"><is><t>SUP001</t></is></c><c t="inlineStr"><is><t>1.1</t></is></c>'
           b'<c t="inlineStr"><is><t>yes</t></is></c><c t="inlineStr"><is><t>Seal log kept</t></is></c></row>')
    return xlsx([HEADER_ROW, *repeated(row, total)])


def understated(workbook: bytes, part: str, stated: int) -> bytes:
    """The workbook with `part` stating an unpacked size of `stated` bytes (in both of its zip headers)."""
    data = bytearray(workbook)
    info = zipfile.ZipFile(io.BytesIO(workbook)).getinfo(part)
    data[info.header_offset + 22:info.header_offset + 26] = stated.to_bytes(4, "little")
    central = data.find(b"PK\x01\x02")
    while central >= 0:
        length = int.from_bytes(data[central + 28:central + 30], "little")
        if data[central + 46:central + 46 + length] == part.encode():
            data[central + 24:central + 28] = stated.to_bytes(4, "little")
        central = data.find(b"PK\x01\x02", central + 4)
    return bytes(data)


def sparse_corners() -> bytes:
    """Two cells, A1 and XFD1048576: a library that keeps sheets as a dense grid allocates 17 billion cells."""
    return xlsx([b'<row r="1"><c r="A1" t="inlineStr"><is><t>partner_code</t></is></c></row><row r="1048576">'
                 b'<c r="XFD1048576" t="inlineStr"><is><t>x</t></is></c></row>'])


def shared_string_copies(cells: int, length: int = 32_000) -> bytes:
    """One long shared string used by `cells` cells: each cell gets its own copy when the sheet is read."""
    rows = (f'<row r="{r}"><c r="A{r}" t="s"><v>0</v></c></row>'.encode() for r in range(1, cells + 1))
    return xlsx(rows, shared=["x" * length])


def ods(content_rows: bytes | Iterable[bytes], sheet: str = "Answers") -> bytes:
    """An OpenDocument spreadsheet of one sheet whose rows are `content_rows`."""
    pieces = [content_rows] if isinstance(content_rows, bytes) else content_rows

    def content() -> Iterator[bytes]:
        yield (b'<?xml version="1.0" encoding="UTF-8"?><office:document-content '
               b'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
               b'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
               b'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" '
               b'xmlns:of="urn:oasis:names:tc:opendocument:xmlns:of:1.2" office:version="1.2"><office:body>'
               b'<office:spreadsheet><table:table table:name="' + sheet.encode() + b'">')
        yield from pieces
        yield b"</table:table></office:spreadsheet></office:body></office:document-content>"

    manifest = (b'<?xml version="1.0" encoding="UTF-8"?><manifest:manifest xmlns:manifest="urn:oasis:names:tc:'
                b'opendocument:xmlns:manifest:1.0" manifest:version="1.2"><manifest:file-entry manifest:full-path="/"'
                b' manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/><manifest:file-entry '
                b'manifest:full-path="content.xml" manifest:media-type="text/xml"/></manifest:manifest>')
    return zip_parts({"mimetype": b"application/vnd.oasis.opendocument.spreadsheet", "content.xml": content(),
                      "META-INF/manifest.xml": manifest})


def ods_row(*cells: str | float | None, repeat: int = 1) -> bytes:
    """One .ods row; a cell is text, a number, or None for an empty cell."""
    out = []
    for cell in cells:
        if cell is None:
            out.append("<table:table-cell/>")
        elif isinstance(cell, str):
            out.append(f'<table:table-cell office:value-type="string"><text:p>{cell}</text:p></table:table-cell>')
        else:
            out.append(f'<table:table-cell office:value-type="float" office:value="{cell}"><text:p>{cell}</text:p>'
                       "</table:table-cell>")
    repeated_rows = f' table:number-rows-repeated="{repeat}"' if repeat > 1 else ""
    return f"<table:table-row{repeated_rows}>{''.join(out)}</table:table-row>".encode()


def read_in_subprocess(files: list[tuple[Path, str]]) -> list[dict]:
    """Read each (file, limits) in one fresh Python process: whether it was refused (message, row), the seconds
    taken and by how many MB the process's peak memory (VmHWM) grew while reading it. The peak is reset before
    each file through /proc/self/clear_refs, after the heap freed by the previous file has been given back;
    where that is not allowed, each file gets a process of its own."""
    code = f"""
import ctypes, gc, json, resource, sys, time
sys.path.insert(0, {str(ROOT)!r})
import pandas, python_calamine  # loaded before the measurements start
from services.imports.reader import UnreadableFile, limits, read_table

def peak_mb():
    # VmHWM, not ru_maxrss: ru_maxrss starts at the peak of the process that started this one (kept across exec)
    try:
        with open("/proc/self/status") as status:
            return next(int(line.split()[1]) for line in status if line.startswith("VmHWM")) / 1024
    except (OSError, StopIteration):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

try:
    trim = ctypes.CDLL("libc.so.6").malloc_trim
except (OSError, AttributeError):
    trim = None

for path, which in zip(sys.argv[1::2], sys.argv[2::2], strict=True):
    data = open(path, "rb").read()
    gc.collect()
    if trim is not None:
        trim(0)  # give the heap freed by the previous file back, or the next one reuses it unseen
    try:
        with open("/proc/self/clear_refs", "w") as reset:
            reset.write("5")
        was_reset = True
    except OSError:
        was_reset = False
    before = peak_mb()
    start = time.perf_counter()
    out = {{"file": path, "refused": None, "row": None, "reset": was_reset}}
    try:
        with limits.using(getattr(limits, which)):
            out["rows"] = len(read_table(filename=path.rpartition("/")[2], data=data).cells)
    except UnreadableFile as refused:
        out.update(refused=refused.problem.message, row=refused.problem.row)
    out["seconds"] = time.perf_counter() - start
    out["grew_mb"] = peak_mb() - before
    del data
    print(json.dumps(out), flush=True)
"""
    argv = [str(part) for path, which in files for part in (path, which)]
    done = subprocess.run([sys.executable, "-c", code, *argv], capture_output=True, text=True, check=False,
                          timeout=900)
    if done.returncode != 0:
        raise AssertionError(f"the reader's process failed ({done.returncode}): {done.stderr[-2000:]}")
    results = [json.loads(line) for line in done.stdout.strip().splitlines()]
    if len(files) > 1 and not all(r["reset"] for r in results):
        return [result for file in files for result in read_in_subprocess([file])]
    return results
