"""Deep links: never a page without login, and after login the page that was asked for.

A cold-start deep link must be the first session on its server: with a `pages/` folder next to app.py, Streamlit
starts in its legacy "pages directory" mode, in which the first browser to open /<name> would run pages/<name>.py
directly instead of the router (streamlit-engineering.md §0); the server leaves that mode when it starts
(ui/web.py). The router's table itself is unit-tested (tests/test_menu.py); here two cold paths prove the way in,
on servers of their own that start together, and the first-start test adds a third (/admin).
"""

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.e2e.support import (
    ADMIN_PASSWORD,
    USER_PASSWORD,
    VIEWPORT,
    AppServer,
    BrowserWatch,
    expect_only_login_form,
    log_in,
    login_form,
    open_app,
    page_paths,
    stop_all,
    wait_for_app_run,
)

TITLES = [title for _path, title in page_paths()]
COLD_PATHS = {"dashboard": "Dashboard", "partners": "Partners"}


@pytest.fixture(scope="module")
def cold_servers(tmp_path_factory) -> Iterator[dict[str, AppServer]]:
    servers = {path: AppServer(tmp_path_factory.mktemp(f"cold-{path}")) for path in COLD_PATHS}
    try:
        for server in servers.values():
            server.wait_until_up()
        yield servers
    finally:
        stop_all(list(servers.values()))


@pytest.mark.parametrize("path", list(COLD_PATHS))
def test_cold_start_deep_link_shows_only_the_login_form_then_the_page(browser: Browser, cold_servers, path):
    server = cold_servers[path]
    context = browser.new_context(viewport=VIEWPORT)
    watch = BrowserWatch().attach(context)
    try:
        page = context.new_page()
        open_app(page, f"{server.url}/{path}")
        expect(login_form(page)).to_be_visible()
        expect_only_login_form(page, TITLES)  # no "Page not found" dialog either (it used to cover /dashboard)
        # Not even the names of the modules in pages/ (Streamlit's legacy sidebar).
        for name, _title in page_paths():
            expect(page.get_by_role("link", name=name)).to_have_count(0)

        log_in(page, "admin", ADMIN_PASSWORD)
        expect(page.get_by_role("heading", name=COLD_PATHS[path], exact=True)).to_be_visible()
        expect(page).to_have_url(f"{server.url}/{path}")
        expect(login_form(page)).to_have_count(0)
        expect(page.get_by_test_id("stDialog")).to_have_count(0)
    finally:
        context.close()
    assert not watch.problems(), watch.problems()


def test_deep_links_before_and_after_login(page: Page, context: BrowserContext, app_server):
    open_app(page, f"{app_server.url}/criteria")
    expect_only_login_form(page, TITLES)
    log_in(page, "admin", ADMIN_PASSWORD)
    expect(page.get_by_role("heading", name="Criteria", exact=True)).to_be_visible()
    expect(page).to_have_url(f"{app_server.url}/criteria")

    # A new tab of the same browser sends the login cookie and lands on the page it asked for (with the cookie
    # reader of streamlit-authenticator, whose answer reran the first run, it landed on the dashboard: #179).
    tab = context.new_page()
    open_app(tab, f"{app_server.url}/partners")
    expect(tab.get_by_role("heading", name="Partners", exact=True)).to_be_visible()
    expect(login_form(tab)).to_have_count(0)
    expect(tab).to_have_url(f"{app_server.url}/partners")

    tab.reload()
    wait_for_app_run(tab)
    expect(tab.get_by_role("heading", name="Partners", exact=True)).to_be_visible()
    expect(tab).to_have_url(f"{app_server.url}/partners")

    # The dashboard has an address of its own too, cold and warm.
    open_app(tab, f"{app_server.url}/dashboard")
    expect(tab.get_by_role("heading", name="Dashboard", exact=True)).to_be_visible()
    expect(tab.get_by_test_id("stDialog")).to_have_count(0)


def test_deep_link_to_a_page_outside_the_role_does_not_open_it(page: Page, app_server):
    open_app(page, f"{app_server.url}/admin")
    log_in(page, "vp", USER_PASSWORD)
    expect(page.get_by_test_id("stAlert").filter(has_text="Your role does not give access")).to_be_visible()
    expect(page.get_by_role("heading", name="Admin", exact=True)).to_have_count(0)
    sidebar = page.get_by_test_id("stSidebar")
    expect(sidebar.get_by_role("link", name="Dashboard")).to_be_visible()
    expect(sidebar.get_by_role("link", name="Admin")).to_have_count(0)
