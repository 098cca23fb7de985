"""Login for staff through streamlit-authenticator, with users kept in the database.

Pages never touch the library: they call ``require_role`` and get the current Actor.
"""

from urllib.parse import urlparse

import streamlit as st
import streamlit_authenticator as stauth
from streamlit.runtime.pages_manager import PagesManager
from streamlit.runtime.scriptrunner import get_script_run_ctx
from streamlit_authenticator.utilities import LoginError

from models.common import Role
from services.core import config, users
from services.core.permissions import Actor
from ui import state

COOKIE_NAME = "ctpat_auth"
LOGOUT_KEY = "log_out"  # not "logout": the library keeps its own flag under st.session_state["logout"]
ALL_ROLES = tuple(Role)


def _authenticator(credentials: dict) -> stauth.Authenticate:
    # Built on every run: the library keeps per-session state and must not be shared between users.
    return stauth.Authenticate(
        credentials,
        cookie_name=COOKIE_NAME,
        cookie_key=config.cookie_key(state._secret("cookie_key")),
        cookie_expiry_days=config.cookie_expiry_days(),
        auto_hash=False,
        login_sleep_time=0,
    )


def remember_entry_path() -> None:
    """Keep the path the session was opened with, to land there after login (Streamlit-Authenticator #179)."""
    if "entry_path" not in st.session_state:
        path = urlparse(st.context.url or "").path if st.context.url else ""
        st.session_state["entry_path"] = path.strip("/").split("/")[-1]


def _on_login(event: dict) -> None:
    with state.session() as s:
        users.record_login(session=s, username=event["username"])


def login() -> Actor | None:
    """Render the login form when nobody is logged in; return the logged-in actor otherwise."""
    with state.session() as s:
        creds = users.credentials(session=s)
    authenticator = _authenticator(creds)
    if st.session_state.get(LOGOUT_KEY) and st.session_state.get("authentication_status"):
        # "Log out" was clicked: log out before anything is drawn, so this very run shows the login form (and the
        # cookie is deleted by a component that stays on that page long enough to do it).
        authenticator.logout(location="unrendered")
    try:
        authenticator.login(location="main", max_login_attempts=users.MAX_FAILED_LOGINS, callback=_on_login,
                            fields={"Form name": "CTPAT Workbench: log in"})
    except LoginError as exc:
        if "login attempts" in str(exc):
            st.error("This account is locked after too many failed logins. Try again in 15 minutes or ask an admin.")
        else:
            st.error("Your account is not active. Ask an admin.")
        st.session_state["authentication_status"] = None
        return None
    failed = [u for u, v in creds["usernames"].items() if v.get("failed_login_attempts", 0) == 1]
    if failed:
        with state.session() as s:
            user = users.record_failed_login(session=s, username=failed[0])
        if user is not None and user.locked_until is not None:
            st.error("Too many failed logins: the account is locked for 15 minutes.")
            return None
    if st.session_state.get("authentication_status") is False:
        st.error("Wrong username or password.")
        return None
    return current_user()


def current_user() -> Actor | None:
    """The logged-in, still active user, with the role the database holds now."""
    if not st.session_state.get("authentication_status"):
        return None
    username = st.session_state.get("username")
    with state.session() as s:
        user = users.get_user(session=s, username=username)
        if user is None or not user.is_active:
            return None
        st.session_state["must_change_password"] = user.must_change_password
        st.session_state["display_name"] = user.name
        return Actor(user.username, user.role)


def logout_button() -> None:
    """The "Log out" button; login() acts on the click at the start of the next run."""
    st.button("Log out", key=LOGOUT_KEY, icon=":material/logout:")


def require_role(*roles: str) -> Actor | None:
    """The current actor when their role is allowed here; otherwise a message and None (the page stops)."""
    actor = current_user()
    if actor is None:
        return None
    if actor.role not in (roles or ALL_ROLES):
        st.error("Your role does not give access to this page.")
        return None
    return actor


def _leave_legacy_pages_mode() -> None:
    """Send a cold-start deep link through the router instead of a bare page file.

    With a pages/ folder next to app.py, Streamlit starts in its legacy "pages directory" mode, and until some
    session runs st.navigation, opening /<name> runs pages/<name>.py on its own: a blank page, on every reload,
    until someone opens the root URL. Every page module imports this module, so its first import during such a
    run ends that mode and reruns, now through app.py (login form, then the page that was asked for).
    """
    if PagesManager.uses_pages_directory and get_script_run_ctx(suppress_warning=True) is not None:
        PagesManager.uses_pages_directory = False
        st.rerun()


_leave_legacy_pages_mode()
