"""Browser-test helpers: the app in a real `streamlit run` subprocess, and Streamlit's own wait recipe."""

import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

from playwright.sync_api import BrowserContext, ConsoleMessage, Locator, Page, Request, expect

ROOT = Path(__file__).resolve().parents[2]
ADMIN_PASSWORD = "e2e admin password 1"
USER_PASSWORD = "e2e user password 1"
STARTUP_TIMEOUT = 90  # seconds; a cold server on a busy 2-core CI machine
VIEWPORT = {"width": 1440, "height": 1000}
RUN_TIMEOUT = 60_000  # ms for one script run; the first run of a server migrates and imports everything


def page_paths() -> list[tuple[str, str]]:
    """(url_path, title) of every staff page in the menu table."""
    from ui.menu import PAGES

    return [(page.url_path, page.title) for page in PAGES]


def ensure_user(server: "AppServer", username: str, role: str) -> None:
    """A staff account with USER_PASSWORD on the server's database, made unless it is there (for a flow of its own
    that the lockout and session tests must not get in the way of)."""
    from models.common import Role
    from services.core import db, users
    from services.core.permissions import Actor

    engine = db.make_engine(f"sqlite:///{server.data_dir / 'e2e.db'}")
    with db.session_scope(engine) as session:
        if users.get_user(session=session, username=username) is None:
            users.create_user(session=session, actor=Actor("admin", Role.admin), username=username,
                              name=username.title(), role=role, password=USER_PASSWORD, must_change_password=False)
    engine.dispose()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class AppServer:
    """`python -m streamlit run app.py` on a free port with its own data folder; output goes to a log file."""

    def __init__(self, data_dir: Path, *, admin_password: str | None = ADMIN_PASSWORD, demo: bool = False,
                 extra_env: dict[str, str] | None = None, port: int | None = None):
        self.data_dir = data_dir
        self.port = port or free_port()
        self.log_path = data_dir / "server.log"
        env = {k: v for k, v in os.environ.items() if not k.startswith("CTPAT_")}
        env.update(CTPAT_DATA_DIR=str(data_dir), CTPAT_DATABASE_URL=f"sqlite:///{data_dir / 'e2e.db'}",
                   CTPAT_DEMO="1" if demo else "0", PYTHONUNBUFFERED="1")
        if admin_password is not None:
            env["CTPAT_ADMIN_PASSWORD"] = admin_password
        env.update(extra_env or {})  # a deployment's own settings, e.g. SMTP and the base URL
        self.started = time.monotonic()
        self.ready_after: float | None = None
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(self.port),
                 "--server.address", "127.0.0.1", "--server.headless", "true", "--server.fileWatcherType", "none",
                 "--browser.gatherUsageStats", "false", "--global.developmentMode", "false"],
                cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
            )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def wait_until_up(self) -> "AppServer":
        """Block until the app's health route answers (after the database is ready); fail with the server log if
        the process dies or hangs."""
        deadline = self.started + STARTUP_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"streamlit exited with {self.proc.returncode}:\n{self.log()}")
            try:
                with urllib.request.urlopen(f"{self.url}/healthz", timeout=1) as response:
                    if response.status == 200:
                        self.ready_after = time.monotonic() - self.started
                        return self
            except OSError:
                time.sleep(0.1)
        raise AssertionError(f"streamlit did not answer within {STARTUP_TIMEOUT} s:\n{self.log()}")

    def generated_admin_password(self) -> str:
        """The one-time admin password the server printed when it started (before anyone opened a page)."""
        match = re.search(r"one-time password:\s+(\S+)", self.log())
        if match is None:
            raise AssertionError(f"no generated admin password in the server output:\n{self.log()}")
        return match.group(1)

    def stop(self) -> None:
        stop_all([self])


def stop_all(servers: list[AppServer]) -> None:
    """Stop the servers together; a test server has nothing to save, so one that lingers is killed."""
    for server in servers:
        server.proc.terminate()
    for server in servers:
        try:
            server.proc.wait(timeout=3)
        except subprocess.TimeoutExpired:
            server.proc.kill()
            server.proc.wait()


class BrowserWatch:
    """What a browser context did that an intranet deployment must never do: ask a host other than the app's
    (the app runs without internet), or break the content security policy the server sends."""

    LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost"})

    def __init__(self) -> None:
        self.offsite: list[str] = []
        self.violations: list[str] = []

    def attach(self, context: BrowserContext) -> "BrowserWatch":
        context.on("request", self._request)
        context.on("console", self._console)
        return self

    def _request(self, request: Request) -> None:
        url = urlsplit(request.url)
        if url.scheme not in {"data", "blob", "about"} and url.hostname not in self.LOCAL_HOSTS:
            self.offsite.append(request.url)

    def _console(self, message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text:
            self.violations.append(message.text)

    def problems(self) -> list[str]:
        return [f"request to another host: {u}" for u in self.offsite] + [
            f"content security policy: {v}" for v in self.violations]


def wait_for_app_run(page: Page, timeout: int = RUN_TIMEOUT) -> None:
    """Streamlit's e2e recipe (e2e_playwright/conftest.py): connected, and no script run in progress."""
    page.wait_for_timeout(155)  # Streamlit's own debounce for widget changes
    page.locator("[data-testid='stApp'][data-test-connection-state='CONNECTED']").wait_for(
        state="attached", timeout=timeout)
    page.locator("[data-testid='stApp'][data-test-script-state='notRunning']").wait_for(
        state="attached", timeout=timeout)


def rerun(page: Page) -> None:
    """Rerun the page's script, as Streamlit's own tests do (rerun_app): focus the app, press "r"."""
    page.get_by_test_id("stApp").click(position={"x": 0, "y": 0})
    page.keyboard.press("r")
    wait_for_app_run(page)


def open_app(page: Page, url: str) -> None:
    page.goto(url)
    wait_for_app_run(page)


def login_form(page: Page) -> Locator:
    return page.get_by_test_id("stForm").filter(has=page.get_by_role("button", name="Login", exact=True))


def log_in(page: Page, username: str, password: str, *, fails: bool = False) -> None:
    """Log in through the form; unless the login is meant to fail, wait for the login cookie and the rerun it
    causes (until then the page shows the run before it too)."""
    form = login_form(page)
    form.get_by_label("Username", exact=True).fill(username)
    form.get_by_label("Password", exact=True).fill(password)
    form.get_by_role("button", name="Login", exact=True).click()
    wait_for_app_run(page)
    if not fails:
        wait_for_login_cookie(page)


def wait_until_idle(page: Page, quiet: float = 0.5, timeout: float = 60) -> None:
    """Wait until no script run has started for ``quiet`` seconds (a component's value can start one late)."""
    app = page.locator("[data-testid='stApp']")
    deadline = time.monotonic() + timeout
    idle_since = None
    while time.monotonic() < deadline:
        if app.get_attribute("data-test-script-state") == "notRunning":
            idle_since = idle_since or time.monotonic()
            if time.monotonic() - idle_since >= quiet:
                return
        else:
            idle_since = None
        time.sleep(0.05)
    raise AssertionError(f"the app did not stay idle for {quiet} s within {timeout} s")


def wait_for_no_login_cookie(page: Page, timeout: float = 30) -> None:
    """Wait until the browser has deleted the login cookie (a component does it a moment after the session ends;
    logging in again before that could see the deletion land after the new cookie)."""
    deadline = time.monotonic() + timeout
    while any(c["name"] == "ctpat_auth" for c in page.context.cookies()):
        if time.monotonic() > deadline:
            raise AssertionError("the login cookie is still there after the session ended")
        time.sleep(0.1)


def wait_for_login_cookie(page: Page, timeout: float = 30) -> dict:
    """The login cookie, which the cookie-manager component sets a moment after the login; the component then
    reruns the page (a download button drawn before that rerun is stale), so this also waits for that rerun."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = [c for c in page.context.cookies() if c["name"] == "ctpat_auth"]
        if found:
            wait_until_idle(page)
            return found[0]
        time.sleep(0.1)
    raise AssertionError("no login cookie after logging in")


def expect_only_login_form(page: Page, titles: list[str]) -> None:
    """The login form and nothing of any page: no page heading, data, charts, menu, or "Page not found" dialog."""
    expect(login_form(page).get_by_label("Username", exact=True)).to_be_visible()
    expect(login_form(page).get_by_label("Password", exact=True)).to_be_visible()
    for title in titles:
        expect(page.get_by_role("heading", name=title, exact=True)).to_have_count(0)
    for testid in ("stSidebar", "stSidebarNav", "stPageLink", "stDataFrame", "stMetric", "stVegaLiteChart",
                   "stException", "stDialog"):
        expect(page.get_by_test_id(testid)).to_have_count(0)


def submit_questionnaire(page: Page, button: str, confirmation: str) -> None:
    """Press the supplier page's submit button (its text in the partner's language) and wait for the confirmation
    (a regex of its start), which must show on the first screen, with the form gone."""
    submit = page.get_by_role("button", name=button)
    submit.scroll_into_view_if_needed()
    submit.click()
    wait_for_app_run(page)
    shown = page.get_by_text(re.compile(confirmation))
    expect(shown).to_be_visible()
    expect(shown).to_be_in_viewport()
    expect(page.get_by_test_id("stForm")).to_have_count(0)


def partner_with_link(engine, *, code: str, legal_name: str, country: str, language: str,
                      cycle_name: str) -> tuple[int, int, str]:
    """A foreign manufacturer of its own in a one-partner cycle with a fresh personal link, written straight into the
    server's database: (partner id, assignment id, token)."""
    from datetime import date, timedelta

    from sqlmodel import select

    from models import Assignment
    from services.collection import cycles, links
    from services.core import db
    from services.partners import registry as partners
    from tests.conftest import ADMIN, ANALYST

    with db.session_scope(engine) as s:
        partner = partners.create_partner(session=s, actor=ADMIN, values={
            "partner_code": code, "legal_name": legal_name, "entity_type": "Foreign Manufacturer",
            "country_iso2": country, "language": language})
        cycle = cycles.open_cycle(session=s, actor=ANALYST, name=cycle_name,
                                  due_date=date.today() + timedelta(days=30), partner_ids=[partner.id])
        assignment_id = s.exec(select(Assignment.id).where(Assignment.cycle_id == cycle.id)).one()
        token = links.issue_link(session=s, actor=ANALYST, assignment_id=assignment_id)
        return partner.id, assignment_id, token
