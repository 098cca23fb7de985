"""Deep links: never a page without login, and after login the page that was asked for.

A cold-start deep link must be the first session on its server: with a `pages/` folder next to app.py, Streamlit
starts in its legacy "pages directory" mode, in which the first browser to open /<name> would run pages/<name>.py
directly instead of the router (streamlit-engineering.md §0). Each path therefore gets a fresh server; they start
together, and each is opened while the test before it runs, so that their slow first runs overlap.
"""

import os
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.e2e.support import (
    ADMIN_PASSWORD,
    USER_PASSWORD,
    VIEWPORT,
    AppServer,
    expect_only_login_form,
    log_in,
    login_form,
    open_app,
    page_paths,
    stop_all,
    wait_for_app_run,
)

PAGES = page_paths()
PATHS = [path for path, _title in PAGES]
TITLES = [title for _path, title in PAGES]
# Servers doing their first run at once: more than the CPU cores only makes every one of them slower.
LOOKAHEAD = max(1, (os.cpu_count() or 2) - 1)


class ColdVisits:
    """Opens each page path as the very first visit of its own server, LOOKAHEAD paths ahead of the tests."""

    def __init__(self, browser: Browser, servers: dict[str, AppServer]):
        self.browser = browser
        self.servers = servers
        self.pages: dict[str, Page] = {}

    def _open(self, path: str) -> Page:
        if path not in self.pages:
            self.pages[path] = self.browser.new_context(viewport=VIEWPORT).new_page()
            self.pages[path].goto(f"{self.servers[path].url}/{path}", wait_until="commit")
        return self.pages[path]

    def visit(self, path: str) -> Page:
        page = self._open(path)
        for following in PATHS[PATHS.index(path) + 1:][:LOOKAHEAD]:
            self._open(following)
        return page

    def close(self) -> None:
        for page in self.pages.values():
            page.context.close()


@pytest.fixture(scope="module")
def cold(browser: Browser, tmp_path_factory) -> Iterator[ColdVisits]:
    servers = {path: AppServer(tmp_path_factory.mktemp(f"cold-{path}")) for path in PATHS}
    visits = ColdVisits(browser, servers)
    try:
        for server in servers.values():
            server.wait_until_up()
        yield visits
    finally:
        visits.close()
        stop_all(list(servers.values()))


def test_app_declares_pages():
    assert {"dashboard", "partners", "criteria", "admin", "account"} <= set(PATHS)


@pytest.mark.parametrize("path", PATHS)
def test_cold_start_deep_link_shows_only_the_login_form(cold, path):
    page = cold.visit(path)
    expect(login_form(page)).to_be_visible()
    wait_for_app_run(page)
    expect_only_login_form(page, TITLES)
    # Not even the names of the modules in pages/ (Streamlit's legacy sidebar).
    for name in PATHS:
        expect(page.get_by_role("link", name=name)).to_have_count(0)

    if path == "partners":  # the way in after a cold start is the same for every path; once is enough
        log_in(page, "admin", ADMIN_PASSWORD)
        expect(page.get_by_role("heading", name="Partners", exact=True)).to_be_visible()
        expect(login_form(page)).to_have_count(0)


def test_deep_links_before_and_after_login(page: Page, context: BrowserContext, app_server):
    open_app(page, f"{app_server.url}/criteria")
    expect_only_login_form(page, TITLES)
    log_in(page, "admin", ADMIN_PASSWORD)
    expect(page.get_by_role("heading", name="Criteria", exact=True)).to_be_visible()
    expect(page).to_have_url(f"{app_server.url}/criteria")

    # A new tab of the same browser sends the login cookie; without the workaround for streamlit-authenticator
    # #179 in app.py it would land on the dashboard.
    tab = context.new_page()
    open_app(tab, f"{app_server.url}/partners")
    expect(tab.get_by_role("heading", name="Partners", exact=True)).to_be_visible()
    expect(login_form(tab)).to_have_count(0)
    expect(tab).to_have_url(f"{app_server.url}/partners")

    tab.reload()
    wait_for_app_run(tab)
    expect(tab.get_by_role("heading", name="Partners", exact=True)).to_be_visible()
    expect(tab).to_have_url(f"{app_server.url}/partners")


def test_deep_link_to_a_page_outside_the_role_does_not_open_it(page: Page, app_server):
    open_app(page, f"{app_server.url}/admin")
    log_in(page, "vp", USER_PASSWORD)
    expect(page.get_by_test_id("stAlert").filter(has_text="Your role does not give access")).to_be_visible()
    expect(page.get_by_role("heading", name="Admin", exact=True)).to_have_count(0)
    sidebar = page.get_by_test_id("stSidebar")
    expect(sidebar.get_by_role("link", name="Dashboard")).to_be_visible()
    expect(sidebar.get_by_role("link", name="Admin")).to_have_count(0)
