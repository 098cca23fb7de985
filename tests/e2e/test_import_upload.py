"""Issue 12, "an upload with errors then a good one", in Chromium: a partner file with mistakes shows each problem
with its row and column and imports nothing; the corrected file imports, and the page and the database show it."""

import os
import uuid
from pathlib import Path

from playwright.sync_api import Page, expect
from sqlmodel import col, select

from models import ImportRecord, Partner
from models.common import Role
from services.core import db
from tests.e2e.support import ROOT, USER_PASSWORD, ensure_user, log_in, open_app, wait_for_app_run

SCREENSHOTS = Path(os.environ.get("CTPAT_SCREENSHOTS") or ROOT / "test-results" / "flows")
IMPORTER = "ines"  # an analyst of this module's own
HEADER = "Vendor Code;Supplier Name;Type;Country;E-mail;Language"


def _screenshot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENSHOTS / f"{name}.png", full_page=True)


def _upload(page: Page, name: str, rows: list[str]) -> None:
    data = "\n".join([HEADER, *rows]).encode("utf-8")
    page.get_by_test_id("stFileUploaderDropzoneInput").first.set_input_files(
        files=[{"name": name, "mimeType": "text/csv", "buffer": data}])
    expect(page.get_by_test_id("stFileChipName").filter(has_text=name)).to_be_visible()
    wait_for_app_run(page)


def test_a_file_with_errors_imports_nothing_then_the_corrected_file_imports(page: Page, app_server):
    ensure_user(app_server, IMPORTER, Role.analyst)
    tag = uuid.uuid4().hex[:6].upper()
    codes = [f"V-{tag}-{n}" for n in (1, 2, 3)]
    good = f"{codes[0]};Hanoi Garment {tag} JSC;Foreign Manufacturer;VN;sales@hanoi-{tag.lower()}.example;en"
    open_app(page, f"{app_server.url}/imports")
    log_in(page, IMPORTER, USER_PASSWORD)
    expect(page.get_by_role("heading", name="Imports", exact=True)).to_be_visible()

    _upload(page, "vendors.csv", [
        good,
        f"{codes[1]};Atlantis Freight {tag};Sea Carrier;Atlantis;ops@atlantis.example;en",
        f"{codes[2]};Orbital Lamps {tag};Spaceport;CN;lamps@orbital.example;zh",
    ])
    expect(page.get_by_test_id("stAlert").filter(
        has_text="2 errors: nothing can be imported until they are fixed in the file.")).to_be_visible()
    expect(page.get_by_text("Problems (2 errors, 0 warnings)")).to_be_visible()
    problems = page.get_by_test_id("stDataFrame").last
    # Each problem names the row of the file (the header is row 1) and the column as the file calls it; the grid is
    # drawn on a canvas, whose accessible table holds the cells the user sees.
    for row, column, message in (("3", "Country", "'Atlantis' is not a country"),
                                 ("4", "Type", "'Spaceport' is not a CTPAT entity type")):
        line = problems.locator("tr[role='row']").filter(has_text=message)
        expect(line).to_have_count(1)
        cells = line.locator("td[role='gridcell']")
        expect(cells.nth(0)).to_have_text("vendors.csv")
        expect(cells.nth(1)).to_have_text(row)
        expect(cells.nth(2)).to_have_text(column)
    expect(page.get_by_role("button", name="Import", exact=True)).to_be_disabled()
    _screenshot(page, "import-with-errors")
    engine = db.make_engine(f"sqlite:///{app_server.data_dir / 'e2e.db'}")
    with db.session_scope(engine) as s:
        assert s.exec(select(Partner).where(col(Partner.partner_code).in_(codes))).all() == []
        assert s.exec(select(ImportRecord).where(ImportRecord.filename == "vendors.csv")).all() == []

    # The analyst takes the bad file away and uploads the corrected one.
    page.get_by_test_id("stFileChip").filter(has_text="vendors.csv").get_by_test_id("stFileChipDeleteBtn").click()
    wait_for_app_run(page)
    expect(page.get_by_test_id("stAlert").filter(has_text="errors")).to_have_count(0)
    _upload(page, "vendors-fixed.csv", [
        good,
        f"{codes[1]};Atlantis Freight {tag};Sea Carrier;Greece;ops@atlantis.example;en",
        f"{codes[2]};Orbital Lamps {tag};Foreign Manufacturer;CN;lamps@orbital.example;zh",
    ])
    expect(page.get_by_test_id("stAlert").filter(has_text="No problems found.")).to_be_visible()
    page.get_by_role("button", name="Import", exact=True).click()
    wait_for_app_run(page)
    expect(page.get_by_test_id("stAlert").filter(
        has_text="Imported 1 file(s): 3 new, 0 updated, 0 unchanged partners.")).to_be_visible()
    expect(page.get_by_test_id("stFileChip")).to_have_count(0)  # the uploader is empty again
    page.get_by_role("tab", name="History", exact=True).click()
    wait_for_app_run(page)
    expect(page.get_by_test_id("stDataFrame").filter(has_text="vendors-fixed.csv")).to_have_count(1)
    _screenshot(page, "import-corrected")

    with db.session_scope(engine) as s:
        stored = {p.partner_code: (p.country_iso2, p.entity_type) for p in s.exec(
            select(Partner).where(col(Partner.partner_code).in_(codes)))}
        assert stored == {codes[0]: ("VN", "Foreign Manufacturer"), codes[1]: ("GR", "Sea Carrier"),
                          codes[2]: ("CN", "Foreign Manufacturer")}
        [record] = s.exec(select(ImportRecord).where(ImportRecord.filename == "vendors-fixed.csv")).all()
        assert (record.username, record.rows, record.created) == (IMPORTER, 3, 3)
    engine.dispose()
