"""Timing probe for the app server of bench/bench_page_switch.py (never loaded by the app itself).

The benchmark starts `streamlit run app.py` with this folder on PYTHONPATH, so Python imports this module at
start-up. It wraps four Streamlit internals and writes one JSON line per event to $PAGE_SWITCH_LOG, with wall-clock
times (time.time(), comparable with the browser's performance.timeOrigin + performance.now()):
- "received": a message from the browser (a page switch or a rerun) reached the session;
- "script": the app script's own run (exec) ended, with its duration and the page's URL;
- "finished": Streamlit's end-of-run work (session state cleanup, its forced garbage collection) ended;
- "sent": one message went out on the WebSocket (its size).
"""

import json
import os
import time

_PATH = os.environ.get("PAGE_SWITCH_LOG")


def _install() -> None:
    from starlette import websockets
    from streamlit.runtime import app_session
    from streamlit.runtime.scriptrunner import script_runner

    log = open(_PATH, "a", buffering=1, encoding="utf-8")  # noqa: SIM115 - open for the server's lifetime

    def write(**event) -> None:
        log.write(json.dumps({"t": time.time(), **event}) + "\n")

    handle_backmsg = app_session.AppSession.handle_backmsg

    def received(self, msg):
        write(event="received", kind=msg.WhichOneof("type"))
        return handle_backmsg(self, msg)

    run_script = script_runner.exec_func_with_error_handling

    def script(*args, **kwargs):
        start = time.perf_counter()
        try:
            return run_script(*args, **kwargs)
        finally:
            import streamlit as st

            write(event="script", seconds=time.perf_counter() - start, url=st.context.url)

    on_finished = script_runner.ScriptRunner._on_script_finished

    def finished(self, *args, **kwargs):
        start = time.perf_counter()
        try:
            return on_finished(self, *args, **kwargs)
        finally:
            write(event="finished", seconds=time.perf_counter() - start)

    send_bytes = websockets.WebSocket.send_bytes

    async def sent(self, data):
        await send_bytes(self, data)
        write(event="sent", size=len(data))

    app_session.AppSession.handle_backmsg = received
    script_runner.exec_func_with_error_handling = script
    script_runner.ScriptRunner._on_script_finished = finished
    websockets.WebSocket.send_bytes = sent


if _PATH:
    _install()
