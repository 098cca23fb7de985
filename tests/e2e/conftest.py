"""Browser tests in Debian's Chromium against the app started with `streamlit run` (see support.py).

Without pytest-playwright or a `chromium` binary these tests skip, unless CTPAT_REQUIRE_BROWSER=1 (CI), where
they fail instead, so a CI machine without a browser cannot pass by skipping them.
"""

import importlib.util
import os
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]


# Without playwright the other modules cannot even be imported; test_browser.py still runs and says why.
if importlib.util.find_spec("playwright") is None:
    collect_ignore = [p.name for p in Path(__file__).parent.glob("test_*.py") if p.name != "test_browser.py"]


def _browser_problem(config: pytest.Config) -> str | None:
    if importlib.util.find_spec("playwright") is None or not config.pluginmanager.hasplugin("playwright"):
        return "pytest-playwright is not installed"
    if shutil.which("chromium") is None:
        return "no `chromium` on PATH (apt-get install chromium)"
    return None


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in item.path.parents:
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session", autouse=True)
def _browser_required(request: pytest.FixtureRequest) -> None:
    problem = _browser_problem(request.config)
    if problem and os.environ.get("CTPAT_REQUIRE_BROWSER") == "1":
        pytest.fail(f"CTPAT_REQUIRE_BROWSER=1 but {problem}", pytrace=False)
    if problem:
        pytest.skip(problem)
    from playwright.sync_api import expect

    # A server's first run imports and migrates everything; on a busy 2-core machine that takes 10-30 s.
    expect.set_options(timeout=45_000)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict) -> dict:
    # Playwright cannot download its own browsers here; Debian's chromium is close enough to its Chromium build.
    return {**browser_type_launch_args, "executable_path": shutil.which("chromium"), "args": CHROMIUM_FLAGS}


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args: dict) -> dict:
    from tests.e2e.support import VIEWPORT

    return {**browser_context_args, "viewport": VIEWPORT}


@pytest.fixture(scope="session")
def app_server(tmp_path_factory) -> Iterator:
    """One server for the login and warm deep-link flows, on a database prepared with three accounts.

    admin (known password), luis (analyst, gets locked by the lockout test), vp (viewer) and dana (analyst,
    whose sessions the cookie test ends).
    """
    from models.common import Role
    from services.core import db, startup, users
    from services.core.permissions import Actor
    from tests.e2e.support import ADMIN_PASSWORD, USER_PASSWORD, AppServer

    data_dir = tmp_path_factory.mktemp("app")
    engine = db.make_engine(f"sqlite:///{data_dir / 'e2e.db'}")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CTPAT_ADMIN_PASSWORD", ADMIN_PASSWORD)
        startup.initialise(engine=engine, with_demo=False)
    with db.session_scope(engine) as session:
        admin = Actor("admin", Role.admin)
        for username, role in (("luis", Role.analyst), ("vp", Role.viewer), ("dana", Role.analyst)):
            users.create_user(session=session, actor=admin, username=username, name=username.title(), role=role,
                              password=USER_PASSWORD, must_change_password=False)
    engine.dispose()

    # Demo data (200 partners, seeded in about two seconds) so the dashboard has something to show.
    server = AppServer(data_dir, demo=True).wait_until_up()
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def _browser_stays_on_the_machine(request: pytest.FixtureRequest) -> Iterator:
    """Every test with a browser fails on a request to a host other than the app's or a CSP violation."""
    if "context" not in request.fixturenames:
        yield None
        return
    from tests.e2e.support import BrowserWatch

    watch = BrowserWatch().attach(request.getfixturevalue("context"))
    yield watch
    if watch.problems():
        pytest.fail("\n".join(watch.problems()), pytrace=False)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    """Attach the output of the servers a failed test used: Streamlit shows users no tracebacks."""
    report = yield
    support = sys.modules.get("tests.e2e.support")  # imported by any test that started a server
    if report.failed and support is not None:
        for value in getattr(item, "funcargs", {}).values():
            for server in value.values() if isinstance(value, dict) else [value]:  # cold_servers: one per path
                if isinstance(server, support.AppServer):
                    report.sections.append((f"server log {server.url}", server.log()[-6000:]))
    return report
