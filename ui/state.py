"""The process-wide engine, first-start initialisation, and per-action sessions for the pages."""

import gc
import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

import streamlit as st
from sqlalchemy import Engine
from sqlmodel import Session

from services.core import config, db, memory, startup
from services.core import data_version as versions
from services.core.permissions import PermissionDenied, ValidationError
from ui.text import plain

log = logging.getLogger("ctpat")
T = TypeVar("T")


def _secrets() -> dict:
    try:
        return st.secrets.to_dict()
    except Exception:  # no secrets file at all raises, whatever is asked
        return {}


def settings() -> config.Settings:
    """The deployment's settings: Streamlit's secrets over the CTPAT_* environment."""
    return config.load(secrets=_secrets())


def database_url() -> str:
    return settings().database_url


@st.cache_resource(show_spinner=False)
def _engine(url: str) -> Engine:
    engine = db.make_engine(url)
    report = startup.initialise(engine=engine, with_demo=settings().demo)
    if report.admin_password:
        startup.announce_admin_password(report.admin_password)
    if report.loaded or report.demo_partners:
        log.warning("Initialised database: %s; demo partners %s", report.loaded, report.demo_partners)
    return engine


def engine() -> Engine:
    """One engine per process and database URL, migrated and initialised on first use."""
    return _engine(database_url())


@contextmanager
def session() -> Iterator[Session]:
    """A session for one user action, committed at the end."""
    with db.session_scope(engine()) as s:
        yield s


def invalidate() -> None:
    """Drop cached reads after a write so every page shows the change."""
    st.cache_data.clear()


_heap_frozen = threading.Event()


def freeze_heap() -> None:
    """Once per process, at the start of its first script run (the app's modules and libraries imported): collect
    the garbage, then move every object still alive out of the garbage collector's reach (``gc.freeze``).

    Those are some 300,000 long-lived objects (altair's schema, pandas, SQLAlchemy, the pages); a full collection
    walks all of them, about 0.1 s on a quiet 2-core machine and up to 1 s under load, and lands in the middle of a
    random page run a few times a minute (bench/bench_pages_browser.py, docs/PERFORMANCE.md).

    It also lets what a heavy read frees go back to the system (services.core.memory.return_freed_memory).
    """
    if _heap_frozen.is_set():
        return
    _heap_frozen.set()
    memory.return_freed_memory()
    gc.collect()
    gc.freeze()


_seen: dict[str, int] = {}  # database URL -> the data version this process saw last
_seen_lock = threading.Lock()


def data_version() -> int:
    """The database's data version now (one indexed row; services.core.data_version), for a page run to pass to
    its cached reads, so that what another process wrote shows within one run.

    When it moved since this process last looked, every cached read is dropped too (for caches not keyed by it).
    """
    url = database_url()
    version = versions.current(engine())
    with _seen_lock:
        moved = _seen.get(url, version) != version
        _seen[url] = version
    if moved:
        st.cache_data.clear()
    return version


def records_version() -> int:
    """The records version now (services.core.data_version.RECORDS): it moves with every write but sign-in
    bookkeeping (logins, logouts, failed attempts, download tokens). For the heaviest cached reads, the scoring's,
    which a colleague's login must not drop; whatever shows users or the audit trail uses data_version."""
    return versions.current(engine(), versions.RECORDS)


def refusal(exc: ValidationError | PermissionDenied) -> str:
    """Why a write or a check was refused, as markdown that shows the service's message literally.

    Several problems of one input (joined by "; ") become a list; a PermissionDenied also says what to do, since
    it mostly means the user's role was changed while the page was open.
    """
    if isinstance(exc, PermissionDenied):
        return (f"{plain(exc)}  \nYour role may have been changed since this page was opened: reload the page to "
                "see what you may do now.")
    problems = [p for p in str(exc).split("; ") if p.strip()]
    return plain(problems[0]) if len(problems) == 1 else "\n".join(f"- {plain(p)}" for p in problems)


def _refused(exc: ValidationError | PermissionDenied, on_error: Callable[[str], None] | None) -> None:
    if on_error is not None:
        on_error(refusal(exc))
    else:
        st.error(refusal(exc), icon=":material/block:" if isinstance(exc, PermissionDenied) else ":material/error:")


def write(action: Callable[[Session], object], *, success: str | None = None, flash_key: str | None = None,
          on_error: Callable[[str], None] | None = None) -> bool:
    """Run one write in its own transaction and show the outcome; True when it worked.

    Every page writes through here. A refused write (ValidationError: bad input; PermissionDenied: the role does
    not allow it) commits nothing and shows its message, or hands it to ``on_error`` when the page shows messages
    its own way (e.g. after a rerun). On success the cached reads are dropped and ``success`` is kept under
    ``flash_key`` for the page to show after its rerun.
    """
    try:
        db.write(engine(), action)  # one transaction, run again when it only met other writers
    except (ValidationError, PermissionDenied) as exc:
        _refused(exc, on_error)
        return False
    invalidate()
    if flash_key and success:
        st.session_state[flash_key] = success
    return True


def attempt(check: Callable[[Session], T], *, on_error: Callable[[str], None] | None = None) -> T | None:
    """Run a check that writes nothing but may refuse its input (an import preview, a duplicate check): its
    result, or None after showing why it was refused, as ``write`` does."""
    try:
        with session() as s:
            return check(s)
    except (ValidationError, PermissionDenied) as exc:
        _refused(exc, on_error)
        return None
