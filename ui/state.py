"""The process-wide engine, first-start initialisation, and per-action sessions for the pages."""

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import streamlit as st
from sqlalchemy import Engine
from sqlmodel import Session

from services.core import config, db, startup
from services.core import data_version as versions
from services.core.permissions import PermissionDenied, ValidationError

log = logging.getLogger("ctpat")


def _secret(name: str) -> str | None:
    try:
        value = st.secrets.get(name)
    except Exception:  # no secrets file at all raises, whatever the default
        return None
    return str(value) if value else None


def database_url() -> str:
    return _secret("database_url") or config.database_url()


@st.cache_resource(show_spinner=False)
def _engine(url: str) -> Engine:
    engine = db.make_engine(url)
    report = startup.initialise(engine=engine, with_demo=config.demo_enabled())
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


def write(action, *, success: str, flash_key: str) -> bool:
    """Run one write in its own transaction and show the outcome; True when it worked.

    On success the cached reads are dropped and `success` is kept under `flash_key` for the page to show after its
    rerun; a refused write shows its message here.
    """
    try:
        with session() as s:
            action(s)
    except (ValidationError, PermissionDenied) as exc:
        st.error(str(exc))
        return False
    invalidate()
    st.session_state[flash_key] = success
    return True
