"""The validation pack from the browser (issue 11): an analyst builds it on the demo data, downloads the ZIP, and
its workbook and PDF open (the workbook converted by headless LibreOffice, the PDF read by pdftotext)."""

import zipfile

from playwright.sync_api import Page, expect

from services.reports import pack
from tests import office
from tests.e2e.support import ADMIN_PASSWORD, log_in, open_app, wait_for_app_run, wait_until_idle


def test_an_admin_builds_and_downloads_the_pack_and_it_opens(page: Page, app_server, tmp_path):
    open_app(page, f"{app_server.url}/reports")
    log_in(page, "admin", ADMIN_PASSWORD)
    wait_until_idle(page)
    page.get_by_role("button", name="Build the validation pack").click()
    wait_for_app_run(page, timeout=300_000)
    expect(page.get_by_test_id("stAlert").filter(has_text="Built ")).to_be_visible(timeout=300_000)
    with page.expect_download(timeout=120_000) as download:
        page.get_by_role("button", name="Download").first.click()
    path = tmp_path / download.value.suggested_filename
    download.value.save_as(path)
    assert path.suffix == ".zip"
    with zipfile.ZipFile(path) as z:
        assert z.testzip() is None
        names = z.namelist()
        (tmp_path / "book.xlsx").write_bytes(z.read(pack.WORKBOOK))
        (tmp_path / "summary.pdf").write_bytes(z.read(pack.PDF))
    assert pack.WORKBOOK in names and pack.PDF in names
    text = " ".join(page_text for _, _, page_text in office.pdf_pages(tmp_path / "summary.pdf"))
    assert "CTPAT" in text and len(text) > 500
    [converted] = office.convert([tmp_path / "book.xlsx"], "pdf", tmp_path / "out")
    assert converted.stat().st_size > 10_000
