"""First start (user journey 1): the server prints a one-time admin password when it starts, the login page says
where to find it, and it must be changed at the first login. Also the third cold-start deep link (/admin)."""

from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.support import (
    AppServer,
    expect_only_login_form,
    log_in,
    login_form,
    open_app,
    page_paths,
    wait_for_app_run,
    wait_for_no_login_cookie,
)

NEW_PASSWORD = "a new admin password"


@pytest.fixture(scope="module")
def first_start_server(tmp_path_factory) -> Iterator[AppServer]:
    server = AppServer(tmp_path_factory.mktemp("first-start"), admin_password=None).wait_until_up()
    yield server
    server.stop()


def test_first_login_forces_a_password_change(page: Page, first_start_server):
    # Printed when the server started: nobody has opened a page yet.
    password = first_start_server.generated_admin_password()

    open_app(page, f"{first_start_server.url}/admin")  # the first session of this server: a cold deep link
    expect_only_login_form(page, [title for _path, title in page_paths()])
    expect(page.get_by_test_id("stAlert").filter(has_text="printed on its console")).to_be_visible()

    log_in(page, "admin", password)
    expect(page.get_by_role("heading", name="My account", exact=True)).to_be_visible()
    expect(page.get_by_test_id("stAlert").filter(has_text="Set a new password")).to_be_visible()
    sidebar = page.get_by_test_id("stSidebar")
    expect(sidebar.get_by_role("link", name="Dashboard")).to_have_count(0)

    # No way around it: a deep link in another tab lands on the password change too.
    tab = page.context.new_page()
    open_app(tab, f"{first_start_server.url}/partners")
    expect(tab.get_by_role("heading", name="My account", exact=True)).to_be_visible()
    expect(tab.get_by_test_id("stAlert").filter(has_text="Set a new password")).to_be_visible()
    expect(tab.get_by_role("heading", name="Partners", exact=True)).to_have_count(0)
    tab.close()

    page.get_by_label("Current password", exact=True).fill(password)
    page.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("Repeat new password", exact=True).fill(NEW_PASSWORD)
    page.get_by_test_id("stFormSubmitButton").get_by_role("button", name="Change password").click()
    wait_for_app_run(page)
    # A password change ends every session of the user, this one too: in again with the new password.
    expect(page.get_by_test_id("stAlert").filter(has_text="Your session has ended")).to_be_visible()
    expect(login_form(page)).to_be_visible()
    wait_for_no_login_cookie(page)
    log_in(page, "admin", NEW_PASSWORD)
    expect(page.get_by_role("heading", name="Admin", exact=True)).to_be_visible()  # the page first asked for
    expect(page).to_have_url(f"{first_start_server.url}/admin")
    expect(sidebar.get_by_role("link", name="Partners")).to_be_visible()
    expect(page.get_by_test_id("stAlert").filter(has_text="printed on its console")).to_have_count(0)
    expect(page.get_by_test_id("stAlert").filter(has_text="Your session has ended")).to_have_count(0)
