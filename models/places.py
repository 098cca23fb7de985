"""Places cargo passes through: ports, airports, border crossings and other points with coordinates.

Reference places come from seed/reference/ports.csv (UN/LOCODE, coordinates); admins add others. Partner sites are
places too: they live in ``PartnerSite`` with their partner, and ``services.places.locations`` lists both.
"""

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Index, text
from sqlmodel import Field, SQLModel

from models.common import utcnow


class PlaceKind(StrEnum):
    seaport = "seaport"
    airport = "airport"
    land_border = "land_border"
    inland = "inland"  # inland port, rail ramp, intermodal hub
    warehouse = "warehouse"  # a warehouse or yard not tied to a partner
    other = "other"


PLACE_KIND_LABELS: dict[str, str] = {
    PlaceKind.seaport: "seaport", PlaceKind.airport: "airport", PlaceKind.land_border: "land border crossing",
    PlaceKind.inland: "inland hub / rail ramp", PlaceKind.warehouse: "warehouse or yard", PlaceKind.other: "other",
}


class Place(SQLModel, table=True):
    """A cargo place. The key of a reference place is (code, kind): USLAX is both a seaport and an airport."""

    __table_args__ = (
        Index("uq_place_code_kind", "code", "kind", unique=True,
              sqlite_where=text("code != ''"), postgresql_where=text("code != ''")),
    )

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(default="", max_length=10, index=True)  # UN/LOCODE where it has one
    kind: str = Field(max_length=20, index=True)
    name: str = Field(max_length=120)
    country_iso2: str = Field(foreign_key="country.iso2", max_length=2, index=True)
    region_code: str = Field(default="", max_length=6)  # ISO 3166-2 subdivision, e.g. MX-TAM
    latitude: float | None = None
    longitude: float | None = None
    notes: str = Field(default="", max_length=1000)
    source: str = Field(default="", max_length=500)
    is_reference: bool = False  # loaded from seed/reference/ports.csv
    active: bool = True
    created_by: str = Field(default="system", max_length=64)
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)
