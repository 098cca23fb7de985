"""Shared fixtures: a real database (SQLite file, or PostgreSQL when CTPAT_TEST_DATABASE_URL is set)."""

import os
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlmodel import Session, select

from models.common import Role
from services.core import db
from services.core.permissions import Actor
from services.reference import loader as reference

ADMIN = Actor("admin", Role.admin)
ANALYST = Actor("luis", Role.analyst)
VIEWER = Actor("vp", Role.viewer)


def _postgres_database(base_url: str) -> Iterator[str]:
    """A throw-away database on the PostgreSQL server of base_url."""
    name = f"ctpat_t_{uuid.uuid4().hex[:10]}"
    admin = create_engine(base_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = admin.url.set(database=name).render_as_string(hide_password=False)
    try:
        yield url
    finally:
        with admin.connect() as conn:
            # Our own connections (cached engines of AppTests) are ended first; a plain DROP then also stops an
            # autovacuum worker itself, which WITH (FORCE) may not do without privileges this role lacks.
            conn.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :name "
                              "AND usename = current_user AND pid <> pg_backend_pid()"), {"name": name})
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()


@pytest.fixture(scope="session")
def database_url(tmp_path_factory) -> Iterator[str]:
    """URL of a freshly migrated database, shared by the session; tests clean up after themselves."""
    base = os.environ.get("CTPAT_TEST_DATABASE_URL")
    if base:
        yield from _postgres_database(base)
    else:
        yield f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"


@pytest.fixture(scope="session")
def migrated_engine(database_url) -> Iterator[Engine]:
    engine = db.make_engine(database_url)
    db.upgrade(engine)
    with db.session_scope(engine) as session:
        reference.load_reference_data(session=session)
    yield engine
    engine.dispose()


# Tables holding user data; reference tables stay loaded between tests.
_USER_TABLES = ("selfassessmentevidence", "selfassessmententry", "eligibilitycheck",
                "reviewcomment", "evidence", "answer", "importrecord", "assignment", "cycle", "certificateevent",
                "certificateverification", "certificate", "certificatesettings", "auditevent", "companyprofile",
                '"user"', "download")
_USER_TABLES = ("procedureversion", *_USER_TABLES)  # step 5: the procedure's versions


# Risk assessment steps 1 and 2: rows pointing at partners, users and each other go first; reference places and
# the built-in threat sources stay.
_RISK_TABLES = ("screeningmatch", "restrictedname", "restrictedentry", "restrictedlist", "threatratingchange",
                "threatrating", "threatsettings", "lanenode", "lane", "partnercontact", "partnersite", "searoute")
_RISK_TABLES = ("certificatesite", *_RISK_TABLES)  # the sites a certificate names: before certificates and sites


# Risk assessment steps 3 and 4: they point at partners, sites, lanes and users, so they go first.
_ACTION_TABLES = ("actionchange", "actionevidence", "actionitem", "incident")


def _delete_audit_events(conn) -> None:
    """Empty the audit log, which triggers keep append-only (migration 0011): tests lift the guard for it."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("ALTER TABLE auditevent DISABLE TRIGGER USER"))
        conn.execute(text("DELETE FROM auditevent"))
        conn.execute(text("ALTER TABLE auditevent ENABLE TRIGGER USER"))
        return
    triggers = conn.execute(text("SELECT name, sql FROM sqlite_master WHERE type = 'trigger' "
                                 "AND tbl_name = 'auditevent'")).all()
    for name, _ in triggers:
        conn.execute(text(f"DROP TRIGGER {name}"))
    conn.execute(text("DELETE FROM auditevent"))
    for _, sql in triggers:
        conn.execute(text(sql))


# Follow-ups (outbox, settings, quiet periods, pauses, template edits).
_FOLLOWUP_TABLES = ("followupmessage", "followuppause", "followupsettings", "quietperiod", "messagetemplate")
# Risk assessment step 3 (scoring): snapshots, configurations and site visits, before the partners and sites.
_SCORING_TABLES = ("riskassessmentscore", "riskassessment", "riskconfiguration", "sitevisitfinding", "sitevisit")


def _wipe(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(text("UPDATE partner SET parent_id = NULL, owner_id = NULL"))
        for table in (*_FOLLOWUP_TABLES, *_ACTION_TABLES, *_SCORING_TABLES, *_RISK_TABLES, *_USER_TABLES, "partner"):
            if table == "auditevent":
                _delete_audit_events(conn)
            else:
                conn.execute(text(f"DELETE FROM {table}"))
        conn.execute(text("DELETE FROM place WHERE NOT is_reference"))
        conn.execute(text("DELETE FROM threatindicator WHERE source_id IN "
                          "(SELECT id FROM threatsource WHERE kind <> 'built-in')"))
        conn.execute(text("DELETE FROM threatsource WHERE kind <> 'built-in'"))


@pytest.fixture
def engine(migrated_engine) -> Iterator[Engine]:
    """The migrated test database with reference data and no user data."""
    _wipe(migrated_engine)
    yield migrated_engine
    _wipe(migrated_engine)


@pytest.fixture
def session(engine) -> Iterator[Session]:
    with Session(engine, expire_on_commit=False) as s:
        yield s


_CHEAP_HASH: dict[str, str] = {}


def add_user(session: Session, username: str, role: str, password: str = "correct horse battery", **extra):
    """Insert a staff user with a low-cost bcrypt hash (fast tests; login still checks it for real)."""
    import bcrypt

    from models import User

    if password not in _CHEAP_HASH:
        _CHEAP_HASH[password] = bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=4)).decode()
    user = User(username=username, name=username.title(), role=role, password_hash=_CHEAP_HASH[password], **extra)
    session.add(user)
    session.commit()
    return user


def session_version(engine: Engine, username: str) -> int:
    """The user's current session version, which a logged-in session keeps in its state."""
    from models import User

    with Session(engine) as s:
        return s.exec(select(User.session_version).where(User.username == username)).one()


@pytest.fixture
def staff(session) -> dict[str, Actor]:
    """One user per role in the database: admin, luis (analyst), vp (viewer)."""
    for actor in (ADMIN, ANALYST, VIEWER):
        add_user(session, actor.username, actor.role)
    return {"admin": ADMIN, "analyst": ANALYST, "viewer": VIEWER}


@pytest.fixture(autouse=True)
def _fresh_link_guess_limit(monkeypatch) -> None:
    """Every test starts with no invalid link attempts counted (the limit is per process, and AppTests share one)."""
    from services.collection import guesses

    monkeypatch.setattr(guesses, "LIMIT", guesses.GuessLimit())


@pytest.fixture
def page_app(engine, database_url, staff, monkeypatch):
    """Build an AppTest that runs one page's render() as the given role, on the test database.

    Usage: ``at = page_app("partners", role="viewer").run()``; the page module is ``pages.<name>``.
    """
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("CTPAT_DEMO", "0")
    # The cached engine is keyed by URL and stays: one migration per test session, not per test.
    st.cache_data.clear()

    def make(page: str, *, role: str = "admin", timeout: float = 30) -> AppTest:
        script = f"import pages.{page} as page\npage.render()\n"
        at = AppTest.from_string(script, default_timeout=timeout)
        at.secrets["database_url"] = database_url
        at.secrets["cookie_key"] = "test-cookie-key-" + "x" * 32
        if role:
            at.session_state["authentication_status"] = True
            at.session_state["username"] = staff[role].username
            at.session_state["session_version"] = session_version(engine, staff[role].username)
        return at

    yield make
    st.cache_data.clear()


def via_link(session: Session, assignment_id: int):
    """The partner of an assignment acting through its own personal link (a services.collection.states.PartnerActor)."""
    from services.collection import links

    return links.partner_actor(session=session, assignment_id=assignment_id)
