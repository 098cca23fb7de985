"""Step 1 of CBP's risk assessment (MSC 2.2): lanes of cargo from origin to the distribution center."""

from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, Column, UniqueConstraint
from sqlmodel import Field, SQLModel

from models.common import utcnow


class TransportMode(StrEnum):
    ocean = "ocean"
    air = "air"
    truck = "truck"
    rail = "rail"
    barge = "barge"
    courier = "courier"


class NodeRole(StrEnum):
    """What happens at a node, in the order CBP's guidance lists them."""

    origin = "origin"  # the site where the container or load is stuffed
    consolidation = "consolidation"  # consolidation point or 3PL warehouse
    inland_carrier = "inland carrier"  # a handover on the inland leg: truck yard, rail ramp, barge terminal
    port_of_lading = "port of lading"  # seaport or airport where cargo leaves the country
    transshipment = "transshipment"
    port_of_entry = "port of entry"  # border crossing or US port of entry
    customs_broker = "customs broker"
    distribution_center = "distribution center"
    other = "other"


class Custody(StrEnum):
    direct = "direct"  # a partner we contract with
    indirect = "indirect"  # subcontracted by a partner: a carrier's carrier, an agent's factory
    own = "own"  # the importer itself (its own distribution center)


class LaneStatus(StrEnum):
    active = "active"
    inactive = "inactive"


class Lane(SQLModel, table=True):
    """One supply chain from origin to the importer's distribution center."""

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=40, unique=True, index=True)
    name: str = Field(max_length=120)
    commodity: str = Field(default="", max_length=120)  # HTS chapter or free text
    mode: str = Field(max_length=12, index=True)  # the main mode
    volume_share: float | None = None  # percent of the importer's volume on this lane
    status: str = Field(default=LaneStatus.active, max_length=10, index=True)
    notes: str = Field(default="", max_length=2000)
    version: int = 1  # bumped on every change, so a form saved over a newer change is refused
    created_by: str = Field(default="", max_length=64)
    created_at: datetime = Field(default_factory=utcnow)
    updated_by: str = Field(default="", max_length=64)
    updated_at: datetime = Field(default_factory=utcnow)


class LaneNode(SQLModel, table=True):
    """A stop of a lane, in order: who has custody, where, how cargo moves on, rests, seals and data."""

    __table_args__ = (UniqueConstraint("lane_id", "seq", name="uq_lanenode_lane_seq"),)

    id: int | None = Field(default=None, primary_key=True)
    lane_id: int = Field(foreign_key="lane.id", index=True)
    seq: int
    role: str = Field(max_length=24)
    partner_id: int | None = Field(default=None, foreign_key="partner.id", index=True)
    site_id: int | None = Field(default=None, foreign_key="partnersite.id", index=True)
    place_id: int | None = Field(default=None, foreign_key="place.id", index=True)
    custody: str = Field(default=Custody.direct, max_length=10)
    contracted_by_id: int | None = Field(default=None, foreign_key="partner.id")  # for indirect custody
    mode_to_next: str = Field(default="", max_length=12)  # empty on the last node
    rests: bool = False  # cargo is at rest here (stored, waiting)
    dwell_hours: float | None = None
    custody_change: bool = False  # custody passes to another party here
    seal_applied: bool = False
    seal_verified: bool = False
    transmits_data: bool = False  # this party transmits shipment data (ISF, manifest, entry)
    notes: str = Field(default="", max_length=500)


class SeaRoute(SQLModel, table=True):
    """A sea route computed once by `searoute` between two points (rounded), kept for the maps."""

    __table_args__ = (UniqueConstraint("from_lon", "from_lat", "to_lon", "to_lat", name="uq_searoute_ends"),)

    id: int | None = Field(default=None, primary_key=True)
    from_lon: float
    from_lat: float
    to_lon: float
    to_lat: float
    coordinates: list = Field(sa_column=Column(JSON, nullable=False))
    length_km: float
    passages: str = Field(default="", max_length=200)
    computed_at: datetime = Field(default_factory=utcnow)
