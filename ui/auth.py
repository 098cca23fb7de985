"""Login for staff through streamlit-authenticator, with users, lockout and sessions kept in the database.

Pages never touch the library: they call ``require_role`` and get the current Actor.
"""

import hashlib
import importlib
import types
from datetime import UTC, datetime, timedelta

import streamlit as st
import streamlit_authenticator as stauth
from streamlit_authenticator.models import cookie_model
from streamlit_authenticator.utilities import LoginError

from models.common import Role
from services.core import config, sessions, users
from services.core.permissions import Actor
from ui import presentation, state

COOKIE_NAME = sessions.COOKIE_NAME
LOGOUT_KEY = "log_out"  # not "logout": the library keeps its own flag under st.session_state["logout"]
NOTICE_KEY = "login_notice"
COOKIE_PENDING = "login_cookie_pending"
ALL_ROLES = tuple(Role)

LOCKED = "This account is locked after too many failed logins. Try again in 15 minutes or ask an admin."
INACTIVE = "Your account is not active. Ask an admin."
ENDED = ("Your session has ended: you logged out, your password was changed or an admin reset it. "
         "Log in again.")
WRONG = "Wrong username or password."


# extra_streamlit_components' cookie component: its iframe sets or deletes a cookie in the browser and answers True.
_cookie_component = importlib.import_module("extra_streamlit_components.CookieManager")._component_func


class _NoCookieReader:
    """Stands in for extra_streamlit_components' CookieManager inside streamlit-authenticator.

    The original reads all cookies through a component on every run, and its answer reruns the page after every
    page load: that rerun interrupts the first run (streamlit-authenticator #179) and can swallow a click made at
    that moment, such as "Login". The login cookie is read from the request instead (``st.context.cookies``), and
    written through the component directly (``_Authenticator.set_pending_cookie``, ``end_here``).
    """

    def __init__(self, key: str = "init") -> None:
        self.cookies: dict = {}


cookie_model.stx = types.SimpleNamespace(CookieManager=_NoCookieReader)


class _Authenticator(stauth.Authenticate):
    """The library's login form and cookie manager, with this app's checks in place of the library's own.

    Three seams of streamlit-authenticator 0.4.2 (pinned) are replaced on the instance: the password check
    (``users.check_login``: each attempt counted atomically in the database before the check, lockout there),
    the cookie's check on a new browser session (``sessions.check_token``: signature, expiry, session version,
    active user) and the setting of the cookie (``sessions.issue_token``: with the session version; set by
    ``set_pending_cookie`` until the browser confirms it, because the library sets it only in the login's own
    run, and a rerun that interrupts that run, e.g. the cookie manager's first answer, lost the cookie).
    """

    def __init__(self, credentials: dict, *, key: str, expiry_days: float):
        # Built on every run: the library keeps per-session state and must not be shared between users.
        super().__init__(credentials, cookie_name=COOKIE_NAME, cookie_key=key, cookie_expiry_days=expiry_days,
                         auto_hash=False, login_sleep_time=0)
        self._key = key
        self._expiry_days = expiry_days
        self._model = self.authentication_controller.authentication_model
        self._model.check_credentials = self._check_password
        cookie = self.cookie_controller.cookie_model
        cookie.get_cookie = self._read_cookie
        cookie.set_cookie = self._cookie_later
        self.logged_in_now = False  # by the form, in this run
        # The one place where the cookie is set or deleted, first in the page: the form and the page below never
        # move when it comes and goes (a moved form loses what was typed into it).
        self.cookie_slot = st.empty()

    def _check_password(self, username: str, password: str) -> bool:
        with state.session() as s:
            attempt = users.check_login(session=s, username=username, password=password)
            user = users.get_user(session=s, username=attempt.username)
        if attempt.outcome == users.LoginOutcome.locked:
            raise LoginError(LOCKED)
        if attempt.outcome == users.LoginOutcome.inactive:
            raise LoginError(INACTIVE)
        if attempt.outcome != users.LoginOutcome.ok:
            return False
        st.session_state["session_version"] = attempt.session_version
        self.logged_in_now = True
        # The library reads the user's entry next; a user created after this run began is not in it yet.
        self._model.credentials["usernames"].setdefault(
            user.username, {"email": user.email, "first_name": user.name, "last_name": "", "roles": [user.role]})
        return True

    def _read_cookie(self) -> dict | None:
        if st.session_state.get("logout"):  # logged out in this browser session: the cookie may still be there
            return None
        token = st.context.cookies.get(COOKIE_NAME)
        if not token:
            return None
        with state.session() as s:
            user, problem = sessions.check_token(session=s, token=token, key=self._key)
        if user is None:
            if problem == "inactive":
                st.session_state[NOTICE_KEY] = INACTIVE
            return None
        st.session_state["session_version"] = user.session_version
        return {"username": user.username}

    def _cookie_later(self) -> None:
        """The library's "set the cookie now" after a password login: remembered, and set by set_pending_cookie."""
        expires = datetime.now(UTC) + timedelta(days=self._expiry_days)  # with its offset: browsers elsewhere agree
        token = sessions.issue_token(username=st.session_state["username"],
                                     session_version=st.session_state["session_version"],
                                     key=self._key, expiry_days=self._expiry_days)
        st.session_state[COOKIE_PENDING] = (token, expires.isoformat())

    def set_pending_cookie(self) -> None:
        """Have the browser store the login cookie; repeated on every run until the browser says it has it."""
        pending = st.session_state.get(COOKIE_PENDING)
        if not pending:
            return
        token, expires = pending
        # A key of its own per cookie, so that an answer about an earlier cookie can never count for this one.
        with self.cookie_slot:
            stored = _cookie_component(
                method="set", cookie=COOKIE_NAME, value=token, default=False,
                key=f"set_cookie_{hashlib.sha256(token.encode()).hexdigest()[:16]}",
                options={"path": "/", "expires": expires, "sameSite": "strict"})
        if stored:
            st.session_state.pop(COOKIE_PENDING, None)

    def end_here(self) -> None:
        """Forget the login in this browser session and delete its cookie (the form is drawn next)."""
        st.session_state.pop(COOKIE_PENDING, None)
        self.authentication_controller.logout()
        with self.cookie_slot:
            _cookie_component(method="delete", cookie=COOKIE_NAME, key="delete_cookie", default=False)


def login() -> Actor | None:
    """Render the login form when nobody is logged in; return the logged-in actor otherwise.

    A logged-in session is checked against the database on every run: a logout elsewhere, a password change, an
    admin's reset or a deactivation ends it at once, with a message above the form.
    """
    settings = state.settings()
    with state.session() as s:
        creds = users.credentials(session=s)
    authenticator = _Authenticator(creds, key=config.cookie_key(settings), expiry_days=settings.cookie_expiry_days)
    username = st.session_state.get("username")
    if st.session_state.get("authentication_status"):
        if st.session_state.get(LOGOUT_KEY):
            # "Log out" was clicked: every session of the user ends, and this run already shows the form (the
            # cookie is deleted by a component that stays on that page long enough to do it).
            with state.session() as s:
                users.log_out(session=s, username=username)
            authenticator.end_here()
        else:
            with state.session() as s:
                problem = users.session_problem(session=s, username=username,
                                                session_version=st.session_state.get("session_version"))
            if problem:
                st.session_state[NOTICE_KEY] = INACTIVE if problem == "inactive" else ENDED
                authenticator.end_here()
    messages = st.container()  # above the form, filled once the login attempt of this run is known
    try:
        authenticator.login(location="main", fields={"Form name": "CTPAT Workbench: log in"})
    except LoginError as exc:
        messages.error(str(exc) if str(exc) in (LOCKED, INACTIVE) else INACTIVE)
        st.session_state["authentication_status"] = None
        return None
    if st.session_state.get("authentication_status") is not None:  # a login attempt: the old notice is done
        st.session_state.pop(NOTICE_KEY, None)
    # Kept until then: deleting the cookie reruns the page at once, and the notice must survive that rerun.
    notice = st.session_state.get(NOTICE_KEY)
    if st.session_state.get("authentication_status"):
        if authenticator.logged_in_now:
            st.rerun()  # the page in a run of its own, without the form above it
        authenticator.set_pending_cookie()
        return current_user()
    if st.session_state.get("authentication_status") is False:
        messages.error(WRONG)
    elif notice:
        (messages.error if notice == INACTIVE else messages.info)(notice)
    else:
        with state.session() as s:
            hint = users.first_start_hint(session=s)
        if hint:
            messages.info(hint, icon=":material/key:")
    return None


def current_user() -> Actor | None:
    """The logged-in, still active user of a live session, with the role the database holds now."""
    if not st.session_state.get("authentication_status"):
        return None
    username = st.session_state.get("username")
    with state.session() as s:
        user = users.get_user(session=s, username=username)
        if users.problem_with(user, st.session_state.get("session_version")):
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
    if presentation.active() and actor.can_write:
        # On a shared screen the page is drawn read-only: pages hide their editing controls for a reader, and the
        # services refuse a reader's writes, so nothing changes by a stray click during a demo.
        return Actor(actor.username, Role.viewer)
    return actor
