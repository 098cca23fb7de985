"""A copied login cookie dies with the session it came from, and files leave the server only for their session."""

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from services.core import db, files
from tests.e2e.support import (
    ADMIN_PASSWORD,
    USER_PASSWORD,
    VIEWPORT,
    BrowserWatch,
    log_in,
    login_form,
    open_app,
    rerun,
    wait_for_app_run,
)


@pytest.fixture
def offered(app_server, monkeypatch):
    """A file on the server's disk offered to dana through /downloads/<id>."""
    monkeypatch.setenv("CTPAT_DATA_DIR", str(app_server.data_dir))
    engine = db.make_engine(f"sqlite:///{app_server.data_dir / 'e2e.db'}")
    path = files.export_path(".csv")
    path.write_text("partner,score\nACME,3\n", encoding="utf-8")
    with db.session_scope(engine) as s:
        token = files.register(session=s, owner="dana", path=path, filename="scores.csv", media_type="text/csv")
    engine.dispose()
    return f"{app_server.url}/{files.url(token)}"


def test_a_copied_cookie_stops_working_after_logout(page: Page, context: BrowserContext, browser: Browser,
                                                   app_server, offered):
    open_app(page, app_server.url)
    log_in(page, "dana", USER_PASSWORD)
    expect(page.get_by_role("heading", name="Dashboard", exact=True)).to_be_visible()
    cookie = next(c for c in context.cookies() if c["name"] == "ctpat_auth")
    assert context.request.get(offered).text() == "partner,score\nACME,3\n"
    anonymous = browser.new_context()
    assert anonymous.request.get(offered).status == 401
    anonymous.close()

    # Someone copies the cookie into another browser: it works while dana's session lives ...
    thief = browser.new_context(viewport=VIEWPORT)
    watch = BrowserWatch().attach(thief)
    thief.add_cookies([cookie])
    stolen = thief.new_page()
    open_app(stolen, f"{app_server.url}/partners")
    expect(stolen.get_by_role("heading", name="Partners", exact=True)).to_be_visible()
    assert thief.request.get(offered).status == 200

    # ... and not a moment after she logs out.
    page.get_by_test_id("stSidebar").get_by_role("button", name="Log out").click()
    wait_for_app_run(page)
    expect(login_form(page)).to_be_visible()

    rerun(stolen)  # the open session's next run
    expect(stolen.get_by_test_id("stAlert").filter(has_text="Your session has ended")).to_be_visible()
    expect(login_form(stolen)).to_be_visible()
    expect(stolen.get_by_role("heading", name="Partners", exact=True)).to_have_count(0)

    again = thief.new_page()  # a new browser session presenting the same cookie
    open_app(again, f"{app_server.url}/partners")
    expect(login_form(again)).to_be_visible()
    expect(again.get_by_role("heading", name="Partners", exact=True)).to_have_count(0)
    assert thief.request.get(offered).status == 401
    thief.close()
    assert not watch.problems(), watch.problems()


def test_streamlit_download_files_go_only_to_the_browser_that_asked(page: Page, context: BrowserContext,
                                                                   browser: Browser, app_server):
    open_app(page, f"{app_server.url}/partners")
    log_in(page, "admin", ADMIN_PASSWORD)
    expect(page.get_by_role("heading", name="Partners", exact=True)).to_be_visible()
    with page.expect_download() as download:
        page.get_by_test_id("stDownloadButton").filter(has_text="Download CSV").get_by_role("button").click()
    url = download.value.url
    assert "/media/" in url and download.value.suggested_filename == "partners.csv"
    assert context.request.get(url).status == 200

    outsider = browser.new_context()
    response = outsider.request.get(url)  # the address alone, e.g. from a proxy log or a shared screen
    assert (response.status, response.text()) == (403, "Open this file from the page that offers it.")
    outsider.close()
