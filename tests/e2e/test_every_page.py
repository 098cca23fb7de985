"""Every page of the menu, for every role, in Chromium on the demo data: it renders with no exception and no error
alert, and a screenshot of it is kept under test-results/pages/ (CTPAT_SCREENSHOTS to put them elsewhere)."""

import os
from pathlib import Path

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from models.common import Role
from tests.e2e.support import ADMIN_PASSWORD, ROOT, USER_PASSWORD, log_in, open_app, wait_until_idle
from ui import menu

SCREENSHOTS = Path(os.environ.get("CTPAT_SCREENSHOTS") or ROOT / "test-results" / "pages")
ACCOUNTS = {Role.admin: ("admin", ADMIN_PASSWORD), Role.analyst: ("pages.analyst", USER_PASSWORD),
            Role.viewer: ("vp", USER_PASSWORD)}


@pytest.fixture(scope="module")
def analyst(app_server) -> None:
    """An analyst of this test's own (the other flows lock or end the sessions of theirs)."""
    from services.core import db, users
    from services.core.permissions import Actor

    engine = db.make_engine(f"sqlite:///{app_server.data_dir / 'e2e.db'}")
    with db.session_scope(engine) as session:
        if users.get_user(session=session, username="pages.analyst") is None:
            users.create_user(session=session, actor=Actor("admin", Role.admin), username="pages.analyst",
                              name="Page Analyst", role=Role.analyst, password=USER_PASSWORD,
                              must_change_password=False)
    engine.dispose()


@pytest.mark.parametrize("role", list(ACCOUNTS))
def test_every_page_of_the_role_renders_without_an_error(page: Page, context: BrowserContext, app_server, analyst,
                                                         role):
    username, password = ACCOUNTS[role]
    open_app(page, app_server.url)
    log_in(page, username, password)
    opened = [p for p in menu.PAGES if p not in menu.menu_for(role).closed]
    assert opened, "the role opens no page"
    problems = []
    for entry in opened:
        open_app(page, f"{app_server.url}/{entry.url_path}")
        wait_until_idle(page)
        expect(page.get_by_role("heading", level=1).first).to_be_visible()
        errors = page.get_by_test_id("stException").all_inner_texts() + page.locator(
            "[data-testid='stAlertContentError']").all_inner_texts()
        if errors:
            problems.append(f"{entry.url_path}: {' | '.join(e[:300] for e in errors)}")
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=SCREENSHOTS / f"{role}-{entry.url_path}.png", full_page=True)
    assert not problems, "\n".join(problems)
