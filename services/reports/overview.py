"""Aggregates for the dashboard and `manage.py stats`."""

import pandas as pd
from sqlalchemy import func, inspect, select
from sqlmodel import Session, SQLModel

from models import Country, Partner
from models.common import utcnow
from services.certificates.rule import best_per_partner, counts_on


def table_counts(*, session: Session) -> dict[str, int]:
    """Row count of every table of the application."""
    present = set(inspect(session.get_bind()).get_table_names())
    counts = {}
    for name, table in sorted(SQLModel.metadata.tables.items()):
        if name in present:
            counts[name] = session.execute(select(func.count()).select_from(table)).scalar_one()
    return counts


def partners_by_country(*, session: Session) -> pd.DataFrame:
    """Active partners per country with the map key (ISO numeric) and region."""
    stmt = (
        select(Country.iso2, Country.numeric, Country.name, Country.region, func.count(Partner.id))
        .join(Partner, Partner.country_iso2 == Country.iso2)
        .where(Partner.status == "active")
        .group_by(Country.iso2, Country.numeric, Country.name, Country.region)
    )
    frame = pd.DataFrame(session.execute(stmt).all(), columns=["iso2", "numeric", "country", "region", "partners"])
    return frame.sort_values("partners", ascending=False, ignore_index=True)


def partners_by_entity_type(*, session: Session) -> pd.DataFrame:
    stmt = (
        select(Partner.entity_type, Partner.status, func.count(Partner.id))
        .group_by(Partner.entity_type, Partner.status)
    )
    return pd.DataFrame(session.execute(stmt).all(), columns=["entity_type", "status", "partners"])


def headline(*, session: Session) -> dict[str, int]:
    """Counts shown at the top of the dashboard."""
    today = utcnow().date()
    active = session.execute(select(func.count()).where(Partner.status == "active")).scalar_one()
    inactive = session.execute(select(func.count()).where(Partner.status == "inactive")).scalar_one()
    critical = session.execute(
        select(func.count()).where(Partner.status == "active", Partner.criticality.in_(["high", "critical"]))
    ).scalar_one()
    certified = int(best_per_partner(counts_on(session=session, day=today, active_only=True))["covered"].sum())
    countries = session.execute(
        select(func.count(func.distinct(Partner.country_iso2))).where(Partner.status == "active")
    ).scalar_one()
    return {"active": active, "inactive": inactive, "high_or_critical": critical, "certified": certified,
            "countries": countries}
