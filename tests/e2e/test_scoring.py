"""Risk scoring in Chromium (issue 9): moving a what-if input moves the partner bands and the matrix, and saves
nothing; the page says it is a what-if and how to go back."""

import re
import time

from playwright.sync_api import Page, expect

from tests.e2e.support import ADMIN_PASSWORD, log_in, open_app, wait_for_app_run, wait_until_idle


def _metric(page: Page, label: str) -> int:
    metric = page.get_by_test_id("stMetric").filter(has_text=label).first
    return int(metric.get_by_test_id("stMetricValue").inner_text().replace(",", ""))


def test_a_what_if_input_moves_the_bands_and_the_matrix(page: Page, app_server):
    open_app(page, f"{app_server.url}/scoring")
    log_in(page, "admin", ADMIN_PASSWORD)
    wait_until_idle(page)
    expect(page.get_by_role("heading", name="Risk scoring", exact=True)).to_be_visible()
    high_before = _metric(page, "Partners High")
    table = page.get_by_test_id("stTable").first
    matrix_before = table.inner_text()

    field = page.locator(".st-key-risk_w_high_from input")
    field.fill("95")
    field.press("Enter")
    wait_for_app_run(page)
    expect(page.get_by_test_id("stAlert").filter(has_text=re.compile("What-if"))).to_be_visible()
    deadline = time.monotonic() + 30
    while _metric(page, "Partners High") == high_before and time.monotonic() < deadline:
        page.wait_for_timeout(200)
    assert _metric(page, "Partners High") < high_before  # fewer partners High when High needs 95 % not met
    assert table.inner_text() != matrix_before

    page.get_by_role("button", name="Back to the active configuration").click()
    wait_for_app_run(page)
    expect(page.get_by_test_id("stAlert").filter(has_text=re.compile("What-if"))).to_have_count(0)
    assert _metric(page, "Partners High") == high_before
