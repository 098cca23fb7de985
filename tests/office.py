"""LibreOffice, headless, for tests that check what a real spreadsheet makes of the files the product writes.

Without a `soffice` (or `libreoffice`) binary these tests skip with the reason, unless CTPAT_REQUIRE_LIBREOFFICE=1
(CI), where they fail instead. Conversions run with a user profile of the test process's own (never the user's),
made on the first conversion and reused: making one takes a few seconds.
"""

import atexit
import os
import shutil
import subprocess
import tempfile
from functools import cache
from pathlib import Path

import pytest
from openpyxl import load_workbook


def soffice() -> str:
    """The LibreOffice binary; skips the test (fails under CTPAT_REQUIRE_LIBREOFFICE=1) when there is none."""
    found = shutil.which("soffice") or shutil.which("libreoffice")
    if found:
        return found
    problem = "LibreOffice (soffice) is not installed: apt-get install libreoffice-calc-nogui"
    if os.environ.get("CTPAT_REQUIRE_LIBREOFFICE") == "1":
        pytest.fail(f"CTPAT_REQUIRE_LIBREOFFICE=1 but {problem}", pytrace=False)
    pytest.skip(problem)


def convert(files: list[Path], to: str, folder: Path) -> list[Path]:
    """Convert the files with LibreOffice (`to`: "pdf", "xlsx", "csv", or a filter string); the converted files, in
    the order given. Fails with LibreOffice's output when a file does not come out."""
    binary = soffice()
    out = folder / "converted"
    out.mkdir(parents=True, exist_ok=True)
    home = _profile()
    result = subprocess.run(
        [binary, f"-env:UserInstallation={(home / 'profile').as_uri()}", "--headless", "--norestore",
         "--convert-to", to, "--outdir", str(out), *map(str, files)],
        capture_output=True, text=True, timeout=180, env={**os.environ, "HOME": str(home)})
    extension = to.split(":")[0]
    converted = [out / f"{Path(f).stem}.{extension}" for f in files]
    missing = [str(p) for p in converted if not p.exists()]
    assert not missing, f"LibreOffice did not write {missing}: {result.stdout}\n{result.stderr}"
    return converted


@cache
def _profile() -> Path:
    folder = Path(tempfile.mkdtemp(prefix="ctpat-libreoffice-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    return folder


def cells(path: Path) -> list[list[tuple[object, str]]]:
    """(value, type) of every cell of the first sheet of an .xlsx LibreOffice wrote; type "f" is a formula."""
    sheet = load_workbook(path).worksheets[0]
    return [[(cell.value, cell.data_type) for cell in row] for row in sheet.iter_rows()]


def pdf_pages(path: Path) -> list[tuple[float, float, str]]:
    """(width, height in points, text) of each page of a PDF, with poppler's pdfinfo and pdftotext."""
    tools = [shutil.which("pdfinfo"), shutil.which("pdftotext")]
    if not all(tools):
        problem = "poppler-utils (pdfinfo, pdftotext) is not installed"
        if os.environ.get("CTPAT_REQUIRE_LIBREOFFICE") == "1":
            pytest.fail(f"CTPAT_REQUIRE_LIBREOFFICE=1 but {problem}", pytrace=False)
        pytest.skip(problem)
    info = subprocess.run([tools[0], "-f", "1", "-l", "9999", str(path)], capture_output=True, text=True,
                          check=True).stdout
    sizes = [line.split(":", 1)[1].split("pts")[0].split(" x ") for line in info.splitlines()
             if line.startswith("Page") and " size:" in line]
    text = subprocess.run([tools[1], "-layout", str(path), "-"], capture_output=True, text=True, check=True).stdout
    pages = text.split("\f")
    return [(float(w), float(h), pages[i]) for i, (w, h) in enumerate(sizes)]
