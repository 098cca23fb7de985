"""Migration 0006 on SQLite and PostgreSQL: the sites a certificate named as text become links, what cannot be
matched is named in the audit log, a partner keeps one primary site, and the way back drops the links."""

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import command

from services.core import db
from tests.test_db import empty_engine  # noqa: F401  (fixture: a database without any table)

NOW = datetime(2026, 6, 1, 9, tzinfo=UTC)


def _migrate(engine, revision: str, down: bool = False) -> None:
    cfg = db.alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        (command.downgrade if down else command.upgrade)(cfg, revision)
    engine.dispose()


def _rows(conn) -> None:
    meta = sa.MetaData()
    tables = {name: sa.Table(name, meta, autoload_with=conn)
              for name in ("country", "partner", "partnersite", "certificate")}
    conn.execute(tables["country"].insert(), [{"iso2": "MX", "iso3": "MEX", "numeric": "484", "name": "Mexico",
                                               "region": ""}, {"iso2": "US", "iso3": "USA", "numeric": "840",
                                                               "name": "United States", "region": ""}])
    base = {"entity_type": "Foreign Manufacturer", "country_iso2": "MX", "address": "", "city": "", "mid": None,
            "contact_name": "", "contact_email": "", "language": "es", "criticality": "medium", "status": "active",
            "notes": "", "created_at": NOW, "updated_at": NOW}
    conn.execute(tables["partner"].insert(), [
        {**base, "id": 1, "partner_code": "MX1", "legal_name": "Muebles", "normalized_name": "muebles"},
        {**base, "id": 2, "partner_code": "MX2", "legal_name": "Vidrios", "normalized_name": "vidrios"}])
    site = {"region_code": "", "country_iso2": "MX", "latitude": None, "longitude": None, "activities": "",
            "status": "active", "notes": "", "created_at": NOW, "updated_at": NOW, "city": ""}
    conn.execute(tables["partnersite"].insert(), [
        {**site, "id": 11, "partner_id": 1, "name": "Monterrey", "address": "Av. Uno 1", "mid": "MXMUEAV1MON",
         "is_primary": True},
        {**site, "id": 12, "partner_id": 1, "name": "Plant 2", "address": "Calle Dos 2", "mid": "MXMUECAL2APO",
         "is_primary": True},  # a second primary: the upgrade keeps the oldest one
        {**site, "id": 13, "partner_id": 1, "name": "Warehouse", "address": "Ruta 3", "mid": None,
         "is_primary": False},
        {**site, "id": 21, "partner_id": 2, "name": "Main site", "address": "", "mid": "MXVIDRIO1TIJ",
         "is_primary": True}])
    cert = {"program": "CTPAT", "issuing_country": "US", "certificate_type": "", "status": "verified",
            "valid_from": None, "valid_to": None, "no_expiry": True, "evidence_filename": "",
            "evidence_content_type": "", "notes": "", "created_by": "luis", "created_at": NOW, "updated_at": NOW}
    conn.execute(tables["certificate"].insert(), [
        {**cert, "id": 1, "partner_id": 1, "certificate_number": "CT-1", "covers_all_sites": False,
         "covered_sites": "mxmueav1mon, MXMUECAL2APO; warehouse"},
        {**cert, "id": 2, "partner_id": 1, "certificate_number": "CT-2", "covers_all_sites": False,
         "covered_sites": "Ruta 3 | MXMUEXXX9MON | Planta Norte"},
        {**cert, "id": 3, "partner_id": 2, "certificate_number": "CT-3", "covers_all_sites": True,
         "covered_sites": ""},
        {**cert, "id": 4, "partner_id": 2, "certificate_number": "CT-4", "covers_all_sites": False,
         "covered_sites": "MXMUEAV1MON"}])  # another partner's MID: never linked


def test_named_sites_become_links_and_the_rest_is_reported(empty_engine):  # noqa: F811
    _migrate(empty_engine, "0003s")
    with empty_engine.begin() as conn:
        _rows(conn)
    _migrate(empty_engine, "0006")
    with empty_engine.connect() as conn:
        links = conn.execute(sa.text("SELECT certificate_id, site_id FROM certificatesite "
                                     "ORDER BY certificate_id, site_id")).all()
        assert [tuple(r) for r in links] == [(1, 11), (1, 12), (1, 13), (2, 13)]
        primaries = conn.execute(sa.text("SELECT id FROM partnersite WHERE is_primary ORDER BY id")).scalars().all()
        assert primaries == [11, 21]
        events = {r.entity_id: r.summary for r in conn.execute(sa.text(
            "SELECT entity_id, summary FROM auditevent WHERE username = 'system' AND action = 'migrate'"))}
        assert set(events) == {"2", "4", ""}
        assert "could not match MXMUEXXX9MON; Planta Norte" in events["2"] and "covers the 1 site(s)" in events["2"]
        assert "could not match MXMUEAV1MON" in events["4"] and "covers the 0 site(s)" in events["4"]
        assert events[""].startswith("Linked 4 named sites to 2 of the 3 certificates that name sites; 2 ")
        kept = conn.execute(sa.text("SELECT covered_sites FROM certificate WHERE id = 2")).scalar_one()
        assert kept == "Ruta 3 | MXMUEXXX9MON | Planta Norte"  # the text stays, for whoever links the rest
        # One primary per partner is now the database's rule too.
        failed = False
        try:
            with conn.begin_nested():
                conn.execute(sa.text("UPDATE partnersite SET is_primary = true WHERE id = 13"))
        except sa.exc.IntegrityError:
            failed = True
        assert failed

    _migrate(empty_engine, "0003s", down=True)
    assert "certificatesite" not in sa.inspect(empty_engine).get_table_names()
    _migrate(empty_engine, "head")
