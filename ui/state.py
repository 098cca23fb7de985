"""The process-wide engine, first-start initialisation, and per-action sessions for the pages."""

import logging
from collections.abc import Iterator
from contextlib import contextmanager

import streamlit as st
from sqlalchemy import Engine
from sqlmodel import Session

from services.core import config, db, startup
from services.core.permissions import PermissionDenied, ValidationError

log = logging.getLogger("ctpat")


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
