"""The server around the Streamlit app (Streamlit's ``st.App``, built in app.py).

What plain ``streamlit run`` cannot do: prepare the database when the server starts (so the first admin password
is printed then), security headers on every response, a health route that checks the database, downloads that
stream from disk to a logged-in user only, and ``/media/`` files (Streamlit's download buttons and images) served
only to the browser whose session shows them or to a logged-in staff browser.
"""

import base64
import hashlib
import hmac
import importlib.util
import logging
import os
import re
import threading
from contextlib import asynccontextmanager
from pathlib import Path

import streamlit
from sqlalchemy import text
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import MutableHeaders
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send
from streamlit import config as st_config
from streamlit.runtime import Runtime
from streamlit.runtime.pages_manager import PagesManager
from streamlit.web.server.starlette.starlette_app_utils import decode_xsrf_token_string
from streamlit.web.server.starlette.starlette_server_config import XSRF_COOKIE_NAME

from services.core import config, files, sessions
from ui import state

log = logging.getLogger("ctpat")

HEALTH_PATH = "healthz"
MEDIA_PATH = "media"
_INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.DOTALL)


def _base() -> str:
    base = (st_config.get_option("server.baseUrlPath") or "").strip("/")
    return f"/{base}" if base else ""


def _inline_script_hashes() -> list[str]:
    """CSP hashes of the inline scripts in the HTML that the app serves: Streamlit's page and its components."""
    pages = [Path(streamlit.__file__).parent / "static" / "index.html"]
    # Located, not imported: a component module imported outside a session never registers with Streamlit.
    components = importlib.util.find_spec("extra_streamlit_components")
    for folder in components.submodule_search_locations if components else []:
        pages += sorted(Path(folder).glob("*/frontend/build/index.html"))
    hashes = []
    for page in pages:
        for script in _INLINE_SCRIPT.findall(page.read_text(encoding="utf-8")):
            digest = base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode()
            hashes.append(f"'sha256-{digest}'")
    return sorted(set(hashes))


def content_security_policy() -> str:
    """Everything from this server only; inline styles (Streamlit's CSS-in-JS) and the known inline scripts."""
    return "; ".join([
        "default-src 'self'",
        f"script-src 'self' {' '.join(_inline_script_hashes())}",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data: blob:",
        "font-src 'self' data:",
        "media-src 'self' data: blob:",
        "connect-src 'self'",
        "worker-src 'self' blob:",
        "frame-src 'self'",  # Streamlit components (the login cookie manager) are same-origin iframes
        "frame-ancestors 'self'",  # no other site may frame the app (clickjacking)
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
    ])


def security_headers() -> list[tuple[str, str]]:
    return [
        ("Content-Security-Policy", content_security_policy()),
        ("X-Frame-Options", "SAMEORIGIN"),
        ("X-Content-Type-Options", "nosniff"),
        ("Referrer-Policy", "no-referrer"),  # partners' links carry a token in the address
        ("Cross-Origin-Opener-Policy", "same-origin"),
        ("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=(), usb=()"),
    ]


class SecurityHeaders:
    """Adds the security headers to every HTTP response (a header the response sets itself is kept)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.headers = security_headers()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in self.headers:
                    if name not in headers:
                        headers[name] = value
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _browser_token(cookies) -> bytes | None:
    """The token of Streamlit's XSRF cookie: random per browser, and the same for every request it makes."""
    token, _ = decode_xsrf_token_string(cookies.get(XSRF_COOKIE_NAME, ""))
    return token


class _DeferredOwners:
    """Which session asked for each file a deferred download button generated: Streamlit keeps the file under no
    session, so without this record it could not be tied to the browser that asked for it."""

    def __init__(self) -> None:
        self._by_file: dict[str, str] = {}
        self._lock = threading.Lock()

    def install(self, manager) -> None:
        original = manager.execute_deferred

        def execute_deferred(file_id: str) -> str:
            entry = manager._deferred_callables.get(file_id)
            url = original(file_id)
            if entry is not None:
                with self._lock:
                    if len(self._by_file) > 1000:  # forget files Streamlit has dropped since
                        self._by_file = {f: s for f, s in self._by_file.items() if f in manager._file_metadata}
                    self._by_file[os.path.splitext(url.rsplit("/", 1)[-1])[0]] = entry["session_id"]
            return url

        manager.execute_deferred = execute_deferred

    def session_of(self, file_id: str) -> str | None:
        with self._lock:
            return self._by_file.get(file_id)


_deferred = _DeferredOwners()


def _sessions_showing(file_id: str) -> list[str]:
    """The Streamlit sessions whose page holds this media file (Streamlit's media manager keeps no public index)."""
    manager = Runtime.instance().media_file_mgr
    with manager._lock:
        showing = [session_id for session_id, by_place in manager._files_by_session_and_coord.items()
                   if file_id in by_place.values()]
    asked = _deferred.session_of(file_id)
    return [*showing, asked] if asked else showing


def _shown_to_this_browser(file_id: str, cookies) -> bool:
    mine = _browser_token(cookies)
    if not mine or not Runtime.exists():
        return False
    runtime = Runtime.instance()
    for session_id in _sessions_showing(file_id):
        client = runtime.get_client(session_id)
        theirs = _browser_token(client.client_context.cookies) if client is not None else None
        if theirs and hmac.compare_digest(theirs, mine):
            return True
    return False


def logged_in_user(cookies) -> sessions.SessionUser | None:
    """The staff user whose valid login cookie this request carries (signature, expiry, session version)."""
    settings = state.settings()
    with Session(state.engine()) as s:
        user, _problem = sessions.check_token(session=s, token=cookies.get(sessions.COOKIE_NAME),
                                              key=config.cookie_key(settings))
    return user


def media_allowed(file_id: str, cookies) -> bool:
    """A media file goes to the browser whose session shows it (partners too), or to a logged-in staff browser."""
    return _shown_to_this_browser(file_id, cookies) or logged_in_user(cookies) is not None


class MediaGuard:
    """Refuses /media/<file> to anyone else: Streamlit would serve it to whoever has the address."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        prefix = f"{_base()}/{MEDIA_PATH}/"
        if scope["type"] == "http" and scope["path"].startswith(prefix):
            request = Request(scope)
            file_id = os.path.splitext(scope["path"][len(prefix):])[0]
            if not await run_in_threadpool(media_allowed, file_id, request.cookies):
                response = PlainTextResponse("Open this file from the page that offers it.", status_code=403,
                                             headers={"Cache-Control": "no-store"})
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


def _download(request: Request) -> Response:
    user = logged_in_user(request.cookies)
    if user is None:
        return PlainTextResponse("Log in to download this file.", status_code=401,
                                 headers={"Cache-Control": "no-store"})
    with Session(state.engine()) as s:
        entry = files.find(session=s, token=request.path_params["token"], username=user.username)
    if entry is None:
        return PlainTextResponse("This download has expired or is not yours. Ask for it again on its page.",
                                 status_code=404, headers={"Cache-Control": "no-store"})
    # FileResponse streams the file from disk in chunks: a large export never sits whole in memory.
    return FileResponse(entry.path, media_type=entry.media_type, filename=entry.filename,
                        headers={"Cache-Control": "no-store"})


async def download(request: Request) -> Response:
    return await run_in_threadpool(_download, request)


def _health() -> Response:
    try:
        with state.engine().connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception:
        log.exception("Health check: the database does not answer")
        return JSONResponse({"status": "error", "database": "unreachable"}, status_code=503)
    return JSONResponse({"status": "ok", "database": "ok"})


async def health(_request: Request) -> Response:
    return await run_in_threadpool(_health)


def routes() -> list[Route]:
    base = _base()
    return [
        Route(f"{base}/{HEALTH_PATH}", health, methods=["GET"]),
        Route(f"{base}/{files.ROUTE}/{{token}}", download, methods=["GET"]),
    ]


def middleware() -> list[Middleware]:
    return [Middleware(SecurityHeaders), Middleware(MediaGuard)]


def start() -> None:
    """What the server does before it answers anyone.

    Files it creates are private (umask 077); Streamlit's legacy pages/-folder mode is off before the first
    session (with it, a cold deep link would run a pages/ module without the router); deferred downloads are
    recorded with the session that asks for them (for MediaGuard); the database is migrated and initialised,
    printing the first admin's one-time password now rather than at the first visit; expired downloads go.
    """
    os.umask(0o077)
    PagesManager.uses_pages_directory = False
    if Runtime.exists():
        _deferred.install(Runtime.instance().media_file_mgr)
    engine = state.engine()
    with Session(engine) as s:
        purged = files.purge_expired(session=s)
        s.commit()
    if purged:
        log.info("Removed %d expired downloads", purged)


@asynccontextmanager
async def lifespan(_app):
    await run_in_threadpool(start)
    yield
