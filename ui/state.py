"""The process-wide engine, first-start initialisation, and per-action sessions for the pages."""

import logging
from collections.abc import Iterator
from contextlib import contextmanager

import streamlit as st
from sqlalchemy import Engine
from sqlmodel import Session

from services import config, db, startup

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
