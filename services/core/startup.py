"""What the app and the CLI do when they start: migrate, load reference data, first admin, demo data."""

import logging
from dataclasses import dataclass

from sqlalchemy import Engine
from sqlmodel import Session, func, select

from models import Partner
from services.core import config, db, users
from services.demo import generator as demo
from services.reference import loader as reference

log = logging.getLogger(__name__)


@dataclass
class StartupReport:
    loaded: dict[str, int]
    admin_password: str | None
    demo_partners: int


def initialise(*, engine: Engine, with_demo: bool, demo_partners: int = 200) -> StartupReport:
    """Upgrade the schema to head, then fill what is empty; safe to call on every start.

    The first admin's password is CTPAT_ADMIN_PASSWORD when set, else generated and returned in the report.
    """
    db.upgrade(engine)
    with db.session_scope(engine) as session:
        loaded = reference.load_reference_data(session=session)
        password = users.ensure_first_admin(session=session, given=config.load().admin_password)
    seeded = 0
    if with_demo:
        with Session(engine) as session:
            empty = session.exec(select(func.count()).select_from(Partner)).one() == 0
        if empty:
            with db.session_scope(engine) as session:
                seeded = demo.seed_demo(session=session, partners=demo_partners, seed=2027).partners
    return StartupReport(loaded=loaded, admin_password=password, demo_partners=seeded)


def announce_admin_password(password: str) -> None:
    """Print the generated first admin password once, on the server console."""
    banner = "=" * 72
    print(f"\n{banner}\nCTPAT Workbench created the user 'admin' with the one-time password:\n\n    {password}\n\n"
          f"Log in and change it now; it is not shown again. Set CTPAT_ADMIN_PASSWORD to choose it yourself.\n"
          f"{banner}\n", flush=True)
