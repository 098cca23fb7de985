"""Places (reference ports, admin places), partner sites, contacts and owners, and migration 0003's data move."""

import os
import uuid

import pytest
from alembic import command
from sqlalchemy import create_engine, text
from sqlmodel import Session, func, select

from models import AuditEvent, LaneNode, Partner, PartnerContact, PartnerSite, Place
from services.core import db
from services.core.permissions import PermissionDenied, ValidationError
from services.partners import contacts, sites
from services.places import registry as places
from services.places.regions import clean_region, region_name
from tests.conftest import ADMIN, ANALYST, VIEWER
from tests.risk_support import book, partner


def test_reference_places_are_loaded_once_and_keep_admin_corrections(session, staff):
    assert session.exec(select(func.count()).select_from(Place).where(Place.is_reference)).one() == 105
    laredo = session.exec(select(Place).where(Place.code == "USLRD")).one()
    places.update_place(session=session, actor=ADMIN, place_id=laredo.id, values={"latitude": 27.5})
    session.commit()
    assert places.load_reference_places(session=session) == 0
    session.refresh(laredo)
    assert laredo.latitude == 27.5
    kinds = set(session.exec(select(Place.kind).where(Place.code == "USLAX")).all())
    assert kinds == {"seaport", "airport"}


def test_admin_adds_a_place_with_coordinates_and_the_rules_hold(session, staff):
    values = {"code": "mxnld", "kind": "inland", "name": "Nuevo Laredo yard", "country_iso2": "MX",
              "region_code": "Tamaulipas", "latitude": 27.48, "longitude": -99.51}
    with pytest.raises(PermissionDenied):
        places.create_place(session=session, actor=ANALYST, values=values)
    place = places.create_place(session=session, actor=ADMIN, values=values)
    assert (place.code, place.region_code) == ("MXNLD", "MX-TAM")
    with pytest.raises(ValidationError) as error:
        places.create_place(session=session, actor=ADMIN, values={**values, "name": "Again"})
    assert "already" in str(error.value)
    with pytest.raises(ValidationError) as error:
        places.create_place(session=session, actor=ADMIN, values={"code": "USXYZ", "kind": "seaport", "name": "X",
                                                                  "country_iso2": "MX", "latitude": None,
                                                                  "longitude": 200})
    message = str(error.value)
    assert "starts with its country code" in message and "latitude: required" in message
    assert "longitude: must be between" in message
    places.set_place_active(session=session, actor=ADMIN, place_id=place.id, active=False)
    frame = places.list_places(session=session, include_inactive=False)
    assert "MXNLD" not in set(frame["code"])
    assert session.exec(select(AuditEvent).where(AuditEvent.entity == "place")).all()


def test_codes_resolve_with_carrier_aliases_and_kinds(session):
    frame = places.list_places(session=session)
    found, note = places.resolve_code(places=frame, code="CNSHA")
    assert found["code"] == "CNSGH" and "carrier-style" in note
    found, note = places.resolve_code(places=frame, code="USLAX")
    assert found is None and "several places" in note
    found, _ = places.resolve_code(places=frame, code="uslax", kind="airport")
    assert found["kind"] == "airport"


def test_regions_by_code_or_name():
    assert clean_region("MX", "Nuevo León") == "MX-NLE" == clean_region("mx", "nle")
    assert clean_region("MX", "") == ""
    assert region_name("MX-TAM") == "Tamaulipas"
    with pytest.raises(ValidationError):
        clean_region("MX", "Texas")


def test_sites_primary_mid_activities_and_locations(session, staff):
    made = book(session)
    first = sites.list_sites(session=session, partner_id=made["factory"].id)
    assert len(first) == 1 and first.loc[0, "is_primary"] and first.loc[0, "mid"] == "CNSHEBRI1234SHE"
    assert first.loc[0, "activities"] == "manufacturing"
    second = sites.create_site(session=session, actor=ANALYST, partner_id=made["factory"].id, values={
        "name": "Warehouse Huizhou", "city": "Huizhou", "region_code": "Guangdong", "latitude": 23.1,
        "longitude": 114.4, "activities": "Warehousing; cross dock", "is_primary": True})
    session.commit()
    frame = sites.list_sites(session=session, partner_id=made["factory"].id)
    assert frame["is_primary"].tolist() == [True, False]
    assert frame.loc[0, "activities"] == "warehousing,cross-dock" and frame.loc[0, "region"].startswith("Guangdong")
    with pytest.raises(ValidationError) as error:
        sites.update_site(session=session, actor=ANALYST, site_id=second.id, values={"is_primary": False})
    assert "another site primary" in str(error.value)
    with pytest.raises(ValidationError) as error:
        sites.create_site(session=session, actor=ANALYST, partner_id=made["factory"].id, values={
            "name": "X", "mid": "MXABC1", "latitude": 10, "activities": "juggling"})
    message = str(error.value)
    assert "must start with the partner's country code CN" in message and "both latitude and longitude" in message
    assert "juggling" in message
    with pytest.raises(PermissionDenied):
        sites.create_site(session=session, actor=VIEWER, partner_id=made["factory"].id, values={"name": "Y"})
    located = places.locations(session=session)
    mine = located[located["partner_code"] == "CN-F1"]
    assert set(mine["kind"]) == {"partner site"} and len(mine) == 2
    assert located["key"].is_unique


def test_contacts_one_primary_and_the_record_contact_moves(session, staff):
    made = book(session)
    factory = made["factory"].id
    assert sites.ensure_first_sites(session=session, actor=ANALYST) == 0  # every partner has one already
    first = contacts.create_contact(session=session, actor=ANALYST, partner_id=factory, values={
        "name": "Chen Li", "role": "Security manager", "email": "chen@bright.example", "language": "zh"})
    second = contacts.create_contact(session=session, actor=ANALYST, partner_id=factory, values={
        "name": "Wang Fang", "email": "wang@bright.example", "language": "en", "is_primary": True})
    session.commit()
    assert contacts.primary_contact(session=session, partner_id=factory).id == second.id
    session.refresh(first)
    assert not first.is_primary
    with pytest.raises(ValidationError):
        contacts.delete_contact(session=session, actor=ANALYST, contact_id=second.id)
    contacts.delete_contact(session=session, actor=ANALYST, contact_id=first.id)
    with pytest.raises(ValidationError) as error:
        contacts.create_contact(session=session, actor=ANALYST, partner_id=factory, values={"email": "nope",
                                                                                          "language": "fr"})
    assert "not an email address" in str(error.value) and "language" in str(error.value)
    plant = made["plant"]
    plant.contact_name, plant.contact_email, plant.language = "Rosa Garza", "rosa@norte.example", "es"
    session.add(plant)
    session.commit()
    assert contacts.ensure_first_contacts(session=session, actor=ANALYST) == 1
    moved = contacts.primary_contact(session=session, partner_id=plant.id)
    assert (moved.name, moved.email, moved.language) == ("Rosa Garza", "rosa@norte.example", "es")


def test_owner_is_an_active_staff_user_and_changes_are_audited(session, staff):
    made = book(session)
    partner_id = made["plant"].id
    sites.set_owner(session=session, actor=ANALYST, partner_id=partner_id, username="luis")
    session.commit()
    assert sites.owner_of(session=session, partner_id=partner_id) == "luis"
    assert sites.owners(session=session)["username"].tolist() == ["luis"]
    with pytest.raises(ValidationError):
        sites.set_owner(session=session, actor=ANALYST, partner_id=partner_id, username="nobody")
    with pytest.raises(PermissionDenied):
        sites.set_owner(session=session, actor=VIEWER, partner_id=partner_id, username="admin")
    sites.set_owner(session=session, actor=ANALYST, partner_id=partner_id, username=None)
    session.commit()
    events = session.exec(select(AuditEvent).where(AuditEvent.summary.like("Owner of partner%"))
                          .order_by(AuditEvent.id)).all()
    assert [e.after["owner"] for e in events] == ["luis", ""]


def test_merge_moves_sites_contacts_and_lane_custody(session, staff):
    keep = partner(session, "K-1", "Keep Co", city="Xiamen")
    dup = partner(session, "D-1", "Keep Company", city="Xiamen")
    contacts.create_contact(session=session, actor=ANALYST, partner_id=keep.id, values={"name": "A"})
    contacts.create_contact(session=session, actor=ANALYST, partner_id=dup.id, values={"name": "B"})
    session.commit()
    moved = sites.merge_into(session=session, actor=ANALYST, keep_id=keep.id, duplicate_id=dup.id)
    session.commit()
    assert moved["sites"] == 1 and moved["contacts"] == 1
    assert session.exec(select(func.count()).select_from(PartnerSite).where(PartnerSite.partner_id == keep.id,
                                                                            PartnerSite.is_primary)).one() == 1
    assert session.exec(select(func.count()).select_from(PartnerContact).where(
        PartnerContact.partner_id == keep.id)).one() == 2
    assert session.exec(select(func.count()).select_from(LaneNode)).one() == 0


@pytest.fixture
def fresh_url(tmp_path):
    base = os.environ.get("CTPAT_TEST_DATABASE_URL")
    if not base:
        yield f"sqlite:///{tmp_path / 'migrate.db'}"
        return
    name = f"ctpat_m_{uuid.uuid4().hex[:10]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield admin.url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def test_migration_0003_moves_each_address_to_a_first_site(fresh_url):
    engine = db.make_engine(fresh_url)
    cfg = db.alembic_config(fresh_url)
    try:
        with engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "0001")
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO country (iso2, iso3, numeric, name, region) VALUES "
                              "('MX', 'MEX', '484', 'Mexico', ''), ('DK', 'DNK', '208', 'Denmark', '')"))
            conn.execute(text(
                "INSERT INTO partner (partner_code, legal_name, normalized_name, entity_type, country_iso2, address, "
                "city, latitude, longitude, mid, contact_name, contact_email, language, criticality, status, notes, "
                "created_at, updated_at) VALUES "
                "('P1', 'Muebles SA', 'muebles', 'Foreign Manufacturer', 'MX', 'Av. 1', 'Monterrey', 25.6, -100.3, "
                "'MXMUEAV1MON', 'Rosa', 'rosa@x.example', 'es', 'medium', 'active', '', CURRENT_TIMESTAMP, "
                "CURRENT_TIMESTAMP), "
                "('P2', 'Blue Line', 'blue line', 'Sea Carrier', 'DK', '', '', NULL, NULL, NULL, '', '', 'en', "
                "'medium', 'active', '', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"))
        db.upgrade(engine)
        with Session(engine) as session:
            found = {s.partner_id: s for s in session.exec(select(PartnerSite)).all()}
            codes = dict(session.exec(select(Partner.id, Partner.partner_code)).all())
            by_code = {codes[pid]: s for pid, s in found.items()}
            assert (by_code["P1"].name, by_code["P1"].address, by_code["P1"].mid, by_code["P1"].latitude,
                    by_code["P1"].activities, by_code["P1"].is_primary) == \
                ("Monterrey", "Av. 1", "MXMUEAV1MON", 25.6, "manufacturing", True)
            assert (by_code["P2"].name, by_code["P2"].latitude, by_code["P2"].activities) == ("Main site", None, "")
            people = session.exec(select(PartnerContact)).all()
            assert [(codes[c.partner_id], c.email, c.language, c.is_primary) for c in people] == \
                [("P1", "rosa@x.example", "es", True)]
        # An engine that does not count writes: the downgrade drops the data version table itself.
        untracked = db.make_engine(fresh_url)
        with untracked.begin() as conn:
            cfg.attributes["connection"] = conn
            command.downgrade(cfg, "0001")
        untracked.dispose()
        db.upgrade(engine)
    finally:
        engine.dispose()
