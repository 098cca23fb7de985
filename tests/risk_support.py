"""Shared builders for the risk-assessment tests (steps 1 and 2)."""

from sqlmodel import Session

from services.partners import registry as partner_registry
from services.partners import sites
from tests.conftest import ANALYST


def partner(session: Session, code: str, name: str, entity: str = "Foreign Manufacturer", country: str = "CN",
            **values):
    """A partner with a primary site made from its record."""
    made = partner_registry.create_partner(session=session, actor=ANALYST, values={
        "partner_code": code, "legal_name": name, "entity_type": entity, "country_iso2": country, **values})
    sites.ensure_first_sites(session=session, actor=ANALYST, partner_ids=[made.id])
    session.flush()
    return made


def book(session: Session) -> dict:
    """A small supply chain: a Shenzhen factory, a sea carrier, a Monterrey plant, a Mexican carrier, a broker."""
    made = {
        "factory": partner(session, "CN-F1", "Shenzhen Bright Lamps Co., Ltd.", city="Shenzhen", latitude=22.54,
                           longitude=114.06, mid="CNSHEBRI1234SHE"),
        "carrier": partner(session, "SEA-1", "Pacific Blue Line", "Sea Carrier", "DK", scac="PBLU"),
        "plant": partner(session, "MX-F1", "Muebles del Norte S.A. de C.V.", country="MX", city="Monterrey",
                         latitude=25.69, longitude=-100.32),
        "trucker": partner(session, "MX-T1", "Fletes Regios S.A. de C.V.", "Long Haul Highway Carrier (Mexico)", "MX",
                           city="Monterrey", latitude=25.7, longitude=-100.3),
        "broker": partner(session, "BRK-1", "Laredo Customs Brokers", "Customs Broker", "US", broker_license="12345"),
    }
    session.commit()
    return made


def node(role: str, partner_code: str = "", place: str = "", mode: str = "", **values) -> dict:
    return {"role": role, "partner_code": partner_code, "place": place, "mode_to_next": mode, **values}


OCEAN_LANE = [
    node("origin", "CN-F1", mode="truck", rests="yes", dwell_hours=24, custody_change="yes", seal_applied="yes"),
    node("port of lading", "SEA-1", "CNYTN", "ocean", rests="yes", dwell_hours=72, custody_change="yes",
         seal_verified="yes", transmits_data="yes"),
    node("port of entry", "", "USLGB", "truck", rests="yes", dwell_hours=48, custody_change="yes"),
    node("customs broker", "BRK-1", mode="truck", transmits_data="yes"),
    node("distribution center", "", "USLAX", custody="own", place_kind="seaport"),
]
