"""The router (app.py) with the login in AppTest: the form, live-session checks on every run, the first start."""

from pathlib import Path

import pytest
from sqlmodel import Session

from services.core import db, sessions, users
from tests.conftest import ADMIN, add_user, session_version

APP = str(Path(__file__).resolve().parent.parent / "app.py")
KEY = "test-cookie-key-" + "x" * 32


@pytest.fixture
def router(engine, database_url, monkeypatch):
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("CTPAT_DEMO", "0")
    st.cache_data.clear()

    def make(username: str | None = None):
        at = AppTest.from_file(APP, default_timeout=60)
        at.secrets["database_url"] = database_url
        at.secrets["cookie_key"] = KEY
        if username:
            at.session_state["authentication_status"] = True
            at.session_state["username"] = username
            at.session_state["session_version"] = session_version(engine, username)
        return at

    yield make
    st.cache_data.clear()


def _texts(at) -> list[str]:
    return [str(e.value) for kind in ("error", "info", "warning", "success") for e in getattr(at, kind)]


def _login_form_shown(at) -> bool:
    return [t.label for t in at.text_input] == ["Username", "Password"]


def _log_in(at, username: str, password: str):
    at.text_input[0].input(username)
    at.text_input[1].input(password)
    return at.button[0].click().run()


def test_logging_in_through_the_form(router, staff, engine):
    at = router().run()
    assert not at.exception and _login_form_shown(at) and not at.title
    _log_in(at, "LUIS", "wrong password!")
    assert "Wrong username or password." in _texts(at) and _login_form_shown(at)
    _log_in(at, "luis", "correct horse battery")
    assert [t.value for t in at.title] == ["Dashboard"]
    assert at.session_state["session_version"] == 0
    # The login cookie waits for the browser to confirm it (AppTest has no browser): signed, with the version.
    token, _expires = at.session_state["login_cookie_pending"]
    with Session(engine) as s:
        assert sessions.check_token(session=s, token=token, key=KEY)[0].username == "luis"
    assert "1 · Map cargo flow and partners" in [c.value for c in at.sidebar.caption]


def test_a_deactivated_user_sees_why_at_once(router, staff, engine):
    at = router("luis").run()
    assert [t.value for t in at.title] == ["Dashboard"]
    with db.session_scope(engine) as s:
        users.update_user(session=s, actor=ADMIN, username="luis", is_active=False)
    at.run()
    assert not at.exception
    assert "Your account is not active. Ask an admin." in _texts(at)
    assert _login_form_shown(at) and not at.title and not at.sidebar.children
    assert not at.session_state["authentication_status"]


@pytest.mark.parametrize("end", ["logout elsewhere", "reset by admin"])
def test_a_session_ended_elsewhere_returns_to_the_form(router, staff, engine, end):
    at = router("vp").run()
    assert [t.value for t in at.title] == ["Dashboard"]
    with db.session_scope(engine) as s:
        if end == "logout elsewhere":
            users.log_out(session=s, username="vp")
        else:
            users.reset_password(session=s, actor=ADMIN, username="vp")
    at.run()
    assert any(t.startswith("Your session has ended") for t in _texts(at))
    assert _login_form_shown(at) and not at.title


def test_log_out_ends_the_session_and_shows_the_form(router, staff, engine):
    at = router("admin").run()
    at.sidebar.button[0].click().run()
    assert _login_form_shown(at) and not at.title
    with Session(engine) as s:
        assert users.get_user(session=s, username="admin").session_version == 1
        assert users.session_problem(session=s, username="admin", session_version=0) == "ended"


def test_first_start_tells_where_the_password_is(router, engine, monkeypatch):
    monkeypatch.delenv("CTPAT_ADMIN_PASSWORD", raising=False)
    with db.session_scope(engine) as s:
        password = users.ensure_first_admin(session=s)
    at = router().run()
    assert _login_form_shown(at)
    assert any("printed on its console" in t for t in _texts(at))
    _log_in(at, "admin", password)
    assert [t.value for t in at.title] == ["My account"]  # the forced change comes first, at the root address
    assert not at.sidebar.caption  # and no menu until it is done


def test_a_user_created_during_the_run_can_log_in(router, staff, session):
    at = router().run()
    add_user(session, "newbie", "viewer")
    _log_in(at, "newbie", "correct horse battery")
    assert [t.value for t in at.title] == ["Dashboard"]
