"""The Mutual recognition page in a real browser on the demo data: the registry with its map, coverage charts,
the watch list and a partner's certificates."""

import os

from playwright.sync_api import Page, expect

from tests.e2e.support import USER_PASSWORD, log_in, open_app, wait_for_app_run


def _tab(page: Page, name: str) -> None:
    page.get_by_role("tab", name=name, exact=True).click()
    wait_for_app_run(page)


def _screenshot(page: Page, name: str) -> None:
    """With CTPAT_SCREENSHOTS=DIR, keep a picture of the page for a person to look at."""
    if os.environ.get("CTPAT_SCREENSHOTS"):
        page.screenshot(path=os.path.join(os.environ["CTPAT_SCREENSHOTS"], f"{name}.png"), full_page=True)


def test_registry_coverage_and_a_partners_certificates(page: Page, app_server):
    open_app(page, f"{app_server.url}/mutual_recognition")
    log_in(page, "vp", USER_PASSWORD)
    expect(page.get_by_role("heading", name="Mutual recognition", exact=True)).to_be_visible()
    expect(page.get_by_test_id("stAlert").filter(has_text="India's arrangement is uncertain")).to_be_visible()
    expect(page.get_by_test_id("stVegaLiteChart").locator("canvas, svg").first).to_be_visible()
    expect(page.get_by_test_id("stDataFrame")).to_have_count(1)
    _screenshot(page, "mr-arrangements")

    _tab(page, "Coverage")
    expect(page.get_by_test_id("stMetric").filter(has_text="Active partners covered")).to_be_visible()
    expect(page.get_by_test_id("stVegaLiteChart")).to_have_count(3)
    _screenshot(page, "mr-coverage")

    _tab(page, "Watch list")
    expect(page.get_by_test_id("stMetric").filter(has_text="Claims never verified")).to_be_visible()
    expect(page.get_by_role("button", name="Run the daily check now")).to_have_count(0)  # a viewer
    _screenshot(page, "mr-watch")

    _tab(page, "Partner certificates")
    partner = page.get_by_test_id("stSelectbox").filter(has_text="Partner")
    partner.locator("input").fill("P-0000")
    page.keyboard.press("Enter")
    wait_for_app_run(page)
    expect(page.get_by_test_id("stAlert").filter(has_text="today")).to_be_visible()
    _screenshot(page, "mr-partner")
