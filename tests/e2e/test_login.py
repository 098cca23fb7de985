"""Logging in and out, wrong passwords and the lockout, in a real browser."""

from playwright.sync_api import BrowserContext, Page, expect

from tests.e2e.support import (
    ADMIN_PASSWORD,
    USER_PASSWORD,
    VIEWPORT,
    log_in,
    login_form,
    open_app,
    wait_for_app_run,
)

SCREENSHOT = "/tmp/e2e-dashboard.png"


def _log_out(page: Page) -> None:
    page.get_by_test_id("stSidebar").get_by_role("button", name="Log out").click()
    wait_for_app_run(page)


def test_login_shows_the_dashboard_and_logout_returns_to_the_form(page: Page, context: BrowserContext, app_server):
    open_app(page, app_server.url)
    expect(login_form(page)).to_be_visible()

    log_in(page, "admin", ADMIN_PASSWORD)
    expect(page.get_by_role("heading", name="Dashboard", exact=True)).to_be_visible()
    expect(page.get_by_test_id("stMetric").filter(has_text="Active partners")).to_be_visible()
    sidebar = page.get_by_test_id("stSidebar")
    expect(sidebar.get_by_role("link", name="Partners")).to_be_visible()
    expect(sidebar.get_by_role("link", name="Admin")).to_be_visible()
    expect(login_form(page)).to_have_count(0)
    expect(page.get_by_test_id("stException")).to_have_count(0)
    # Streamlit scrolls inside its main area, so a tall window is what shows the whole dashboard.
    page.set_viewport_size({"width": 1440, "height": 2400})
    wait_for_app_run(page)
    page.screenshot(path=SCREENSHOT)
    page.set_viewport_size(VIEWPORT)

    _log_out(page)
    expect(login_form(page)).to_be_visible()
    expect(page.get_by_role("heading", name="Dashboard", exact=True)).to_have_count(0)
    expect(page.get_by_test_id("stSidebar")).to_have_count(0)

    # The login cookie is gone too: a new tab of the same browser is not logged in again.
    other = context.new_page()
    open_app(other, f"{app_server.url}/partners")
    expect(login_form(other)).to_be_visible()
    expect(other.get_by_role("heading", name="Partners", exact=True)).to_have_count(0)


def test_wrong_password_is_refused(page: Page, app_server):
    open_app(page, app_server.url)
    log_in(page, "admin", "not the password", fails=True)
    expect(page.get_by_test_id("stAlert").filter(has_text="Wrong username or password")).to_be_visible()
    expect(login_form(page)).to_be_visible()
    expect(page.get_by_role("heading", name="Dashboard", exact=True)).to_have_count(0)

    log_in(page, "nobody", ADMIN_PASSWORD, fails=True)
    expect(page.get_by_test_id("stAlert").filter(has_text="Wrong username or password")).to_be_visible()
    expect(page.get_by_test_id("stSidebar")).to_have_count(0)


def test_five_wrong_passwords_lock_the_account(page: Page, app_server):
    open_app(page, app_server.url)
    for _ in range(4):
        log_in(page, "luis", "wrong password", fails=True)
        expect(page.get_by_test_id("stAlert").filter(has_text="Wrong username or password")).to_be_visible()
    log_in(page, "luis", "wrong password", fails=True)
    expect(page.get_by_test_id("stAlert").filter(has_text="locked")).to_be_visible()

    log_in(page, "luis", USER_PASSWORD, fails=True)
    expect(page.get_by_test_id("stAlert").filter(has_text="locked")).to_be_visible()
    expect(page.get_by_role("heading", name="Dashboard", exact=True)).to_have_count(0)

    # The lock is kept in the database, not in this browser session: a new session is refused too.
    page.reload()
    wait_for_app_run(page)
    log_in(page, "luis", USER_PASSWORD, fails=True)
    expect(page.get_by_test_id("stAlert").filter(has_text="locked")).to_be_visible()
    expect(page.get_by_test_id("stSidebar")).to_have_count(0)
