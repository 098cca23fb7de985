"""The server's own routes and middleware (ui/web.py), driven through ASGI calls on a real database.

The browser-side proofs (a real login cookie, a copied cookie after logout, Streamlit's /media/ files, no request
leaving the machine, no content-security-policy violation) are in tests/e2e.
"""

import asyncio
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

import pytest
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from services.core import db, files, sessions, users
from ui import web

KEY = "web-test-cookie-key-" + "w" * 40


def _call(app, path: str, cookies: dict[str, str] | None = None) -> tuple[int, dict[str, str], list[bytes]]:
    """One GET through the ASGI app; returns the status, the headers and the body as the chunks that were sent."""
    headers = [(b"host", b"testserver")]
    if cookies:
        headers.append((b"cookie", "; ".join(f"{k}={v}" for k, v in cookies.items()).encode()))
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET", "scheme": "http",
             "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "", "headers": headers,
             "client": ("127.0.0.1", 50000), "server": ("testserver", 80)}
    sent: list[dict] = []

    async def run():
        requested, done = asyncio.Event(), asyncio.Event()

        async def receive():
            if not requested.is_set():
                requested.set()
                return {"type": "http.request", "body": b"", "more_body": False}
            await done.wait()  # a client that stays until the whole response has arrived
            return {"type": "http.disconnect"}

        async def send(message):
            sent.append(message)
            if message["type"] == "http.response.body" and not message.get("more_body"):
                done.set()

        await app(scope, receive, send)

    with ThreadPoolExecutor(max_workers=1) as pool:  # a loop of its own: Playwright may hold this thread's loop
        pool.submit(asyncio.run, run()).result()
    start = next(m for m in sent if m["type"] == "http.response.start")
    head = {k.decode().lower(): v.decode() for k, v in start["headers"]}
    chunks = [m.get("body", b"") for m in sent if m["type"] == "http.response.body" and m.get("body")]
    return start["status"], head, chunks


@pytest.fixture
def server(engine, database_url, staff, tmp_path, monkeypatch):
    """The routes and middleware of the real server, with stand-ins for Streamlit's page and media routes."""
    monkeypatch.setenv("CTPAT_DATABASE_URL", database_url)
    monkeypatch.setenv("CTPAT_COOKIE_KEY", KEY)
    monkeypatch.setenv("CTPAT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("CTPAT_DEMO", "0")

    async def page(_request):
        return PlainTextResponse("the app")

    return Starlette(routes=[*web.routes(), Route("/", page), Route("/media/{name}", page)],
                     middleware=web.middleware())


def _cookie(username: str, version: int = 0) -> dict[str, str]:
    token = sessions.issue_token(username=username, session_version=version, key=KEY, expiry_days=1)
    return {sessions.COOKIE_NAME: token}


def _offer(engine, owner: str, data: bytes, ttl=files.DEFAULT_TTL) -> str:
    path = files.export_path(".bin")
    path.write_bytes(data)
    with db.session_scope(engine) as s:
        return files.register(session=s, owner=owner, path=path, filename="export 2027.bin", ttl=ttl)


def test_every_response_carries_the_security_headers(server):
    status, head, _ = _call(server, "/")
    assert status == 200
    csp = head["content-security-policy"]
    assert "default-src 'self'" in csp and "frame-ancestors 'self'" in csp and "object-src 'none'" in csp
    assert "'unsafe-eval'" not in csp and "http" not in csp  # nothing from another host, no eval
    assert "script-src 'self' 'sha256-" in csp  # Streamlit's and the cookie manager's inline scripts, by hash
    assert (head["x-frame-options"], head["x-content-type-options"], head["referrer-policy"]) == (
        "SAMEORIGIN", "nosniff", "no-referrer")


def test_health_checks_the_database(server):
    status, head, body = _call(server, "/healthz")
    assert (status, b"".join(body)) == (200, b'{"status":"ok","database":"ok"}')
    assert "content-security-policy" in head


def test_download_needs_a_live_login_of_its_owner(server, engine):
    token = _offer(engine, "luis", b"partner data")
    path = f"/{files.url(token)}"

    status, _, body = _call(server, path)  # anonymous
    assert (status, b"".join(body)) == (401, b"Log in to download this file.")
    assert _call(server, path, {sessions.COOKIE_NAME: "forged"})[0] == 401

    status, head, body = _call(server, path, _cookie("luis"))
    assert (status, b"".join(body)) == (200, b"partner data")
    assert head["content-disposition"] == "attachment; filename*=utf-8''export%202027.bin"
    assert head["cache-control"] == "no-store"

    assert _call(server, path, _cookie("vp"))[0] == 404  # another user's id
    expired = _offer(engine, "luis", b"old", ttl=timedelta(seconds=-1))
    assert _call(server, f"/{files.url(expired)}", _cookie("luis"))[0] == 404

    # Logged out: the same cookie no longer downloads anything.
    with db.session_scope(engine) as s:
        users.log_out(session=s, username="luis")
    assert _call(server, path, _cookie("luis"))[0] == 401
    assert _call(server, path, _cookie("luis", version=1))[0] == 200


def test_download_streams_from_disk_in_chunks(server, engine):
    data = bytes(range(256)) * 4096 * 3  # 3 MB
    token = _offer(engine, "admin", data)
    status, head, chunks = _call(server, f"/{files.url(token)}", _cookie("admin"))
    assert status == 200 and int(head["content-length"]) == len(data)
    assert b"".join(chunks) == data
    assert len(chunks) > 10 and max(map(len, chunks)) <= 1024 * 1024  # read and sent piece by piece


def test_media_needs_the_showing_browser_or_a_staff_login(server, engine):
    assert _call(server, "/media/0123abcd.csv")[0] == 403
    assert _call(server, "/media/0123abcd.csv", {"_streamlit_xsrf": "2|00|00|1"})[0] == 403
    assert _call(server, "/media/0123abcd.csv", _cookie("vp"))[0] == 200
    with db.session_scope(engine) as s:
        users.log_out(session=s, username="vp")
    assert _call(server, "/media/0123abcd.csv", _cookie("vp"))[0] == 403


def test_streamlit_run_serves_app_py_as_st_app():
    """`streamlit run app.py` (the README's command) finds `app` and runs the router inside it."""
    from streamlit.web.server.app_discovery import discover_asgi_app

    result = discover_asgi_app(Path(__file__).resolve().parent.parent / "app.py")
    assert (result.is_asgi_app, result.import_string) == (True, "app:app")
