"""The incident register: security incidents and exceptions in the supply chain (MSC 7.37: investigate them).

Other parts read open incidents by partner and lane (``OPEN_INCIDENT_STATUSES``): the vulnerability score raises a
partner's and a lane's rating while one is open, and the action plan gives each open incident an action item.
"""

from datetime import date, datetime
from enum import StrEnum

from sqlmodel import Field, SQLModel

from models.common import EnumText, utcnow


class IncidentKind(StrEnum):
    seal_discrepancy = "seal discrepancy"  # a seal number that does not match, a broken or tampered seal
    breach = "breach"  # of a container, trailer, facility or IT system
    contraband = "contraband found"  # drugs, weapons, stowaways or other unmanifested goods
    shortage_overage = "shortage or overage"  # more or fewer pieces than manifested
    suspicious_activity = "suspicious activity"


class IncidentStatus(StrEnum):
    open = "open"  # recorded, nobody investigating yet
    investigating = "investigating"  # the internal investigation of MSC 7.37 is under way
    closed = "closed"  # investigated, with a closing note


# An incident counts against the partner and the lane until it is closed.
OPEN_INCIDENT_STATUSES: frozenset[IncidentStatus] = frozenset({IncidentStatus.open, IncidentStatus.investigating})


class Incident(SQLModel, table=True):
    """One security incident or exception: what happened, where, to whom it was reported, and how it was closed."""

    id: int | None = Field(default=None, primary_key=True)
    occurred_on: date = Field(index=True)
    kind: IncidentKind = Field(sa_type=EnumText(IncidentKind, 24))
    partner_id: int | None = Field(default=None, foreign_key="partner.id", index=True)
    site_id: int | None = Field(default=None, foreign_key="partnersite.id", index=True)
    lane_id: int | None = Field(default=None, foreign_key="lane.id", index=True)
    description: str = Field(max_length=4000)
    reported_to: str = Field(default="", max_length=300)  # e.g. "CBP, local police"
    reported_on: date | None = None
    status: IncidentStatus = Field(default=IncidentStatus.open, sa_type=EnumText(IncidentStatus, 14), index=True)
    investigation: str = Field(default="", max_length=4000)  # findings of the internal investigation (MSC 7.37)
    closing_note: str = Field(default="", max_length=2000)
    closed_on: date | None = None
    closed_by: str = Field(default="", max_length=64)
    version: int = 1  # bumped on every change, so a form saved over a newer change is refused
    created_by: str = Field(max_length=64)
    created_at: datetime = Field(default_factory=utcnow)
    updated_by: str = Field(default="", max_length=64)
    updated_at: datetime = Field(default_factory=utcnow)
