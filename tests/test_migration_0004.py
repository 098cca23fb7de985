"""Migration 0004 on a database that already holds partners, applicability and texts (SQLite or PostgreSQL)."""

import pytest
from alembic import command
from sqlalchemy import Engine, inspect, text
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from models import CriterionApplicability, CriterionText, Partner
from services.core import db
from services.reference import loader
from tests.test_db import new_database


def _migrate(engine: Engine, revision: str, *, down: bool = False) -> None:
    cfg = db.alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        (command.downgrade if down else command.upgrade)(cfg, revision)
    engine.dispose()


def _rows(conn, sql: str) -> list[tuple]:
    return [tuple(r) for r in conn.execute(text(sql)).all()]


def test_upgrade_keeps_partners_and_overrides_and_the_loader_refreshes_the_rest(tmp_path):
    with new_database(tmp_path) as engine:
        _migrate(engine, "0001")
        criteria, _ = loader._criteria()
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO country (iso2, iso3, numeric, name, region) "
                              "VALUES ('MX', 'MEX', '484', 'Mexico', 'Americas')"))
            conn.execute(text("INSERT INTO criterion (criterion_id, focus_area, category_number, category, sort_key, "
                              "requirement, summary, caveat, source) VALUES (:criterion_id, :focus_area, "
                              ":category_number, :category, :sort_key, :requirement, :summary, :caveat, :source)"),
                         criteria.to_dict("records"))
            conn.execute(text(
                "INSERT INTO partner (partner_code, legal_name, normalized_name, entity_type, country_iso2, address, "
                "city, contact_name, contact_email, language, criticality, status, notes, created_at, updated_at) "
                "VALUES ('MX-F1', 'Monterrey Castings', 'monterrey castings', 'Foreign Manufacturer', 'MX', '', '', "
                "'', '', 'es', 'high', 'active', '', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"))
            old = ("INSERT INTO criterionapplicability (criterion_id, entity_type, applies, requirement, basis, note, "
                   "source) VALUES (:c, :e, :a, '', :b, :n, '')")
            conn.execute(text(old), [
                {"c": "7.4", "e": "Highway Carrier", "a": "yes", "b": "product default", "n": "FM baseline"},
                {"c": "7.4", "e": "Highway Carrier", "a": "yes", "b": "product default", "n": "written twice"},
                {"c": "12.6", "e": "Customs Broker", "a": "no", "b": "admin override", "n": "Covered by 7.10"}])
            conn.execute(text("INSERT INTO criteriontext (criterion_id, language, question) "
                              "VALUES ('1.1', 'es', '¿Texto viejo?')"))

        _migrate(engine, "head")
        with engine.connect() as conn:
            assert _rows(conn, "SELECT partner_code, crosses_land_border, stuffs_containers, operates_conveyances, "
                               "handles_cargo FROM partner") == [("MX-F1", None, None, None, None)]
            assert _rows(conn, "SELECT criterion_id, entity_type, note, role_condition FROM criterionapplicability "
                               "ORDER BY id") == [("7.4", "Highway Carrier", "FM baseline", ""),
                                                  ("12.6", "Customs Broker", "Covered by 7.10", "")]
            assert _rows(conn, "SELECT count(*) FROM criteriontext") == [(0,)]
        assert inspect(engine).get_pk_constraint("criteriontext")["constrained_columns"] == [
            "criterion_id", "language", "entity_type"]

        with db.session_scope(engine) as session:
            loaded = loader.load_reference_data(session=session)
        assert loaded["criterionapplicability"] == 101 * 12 - 1  # every pair but the unchanged override
        with Session(engine) as session:
            def row(cid: str, entity: str) -> CriterionApplicability:
                return session.exec(select(CriterionApplicability).where(
                    CriterionApplicability.criterion_id == cid, CriterionApplicability.entity_type == entity)).one()
            assert (row("7.4", "Highway Carrier").applies, row("7.4", "Highway Carrier").basis) == ("no", "role rule")
            kept = row("12.6", "Customs Broker")
            assert (kept.applies, kept.basis, kept.note) == ("no", "admin override", "Covered by 7.10")
            assert session.get(CriterionText, ("1.1", "es", "")).question.startswith("¿Un alto directivo")
            partner = session.exec(select(Partner)).one()
            assert partner.crosses_land_border is None
            session.add(CriterionApplicability(criterion_id="7.4", entity_type="Highway Carrier", applies="yes",
                                               basis="admin override"))
            with pytest.raises(IntegrityError):  # one row per criterion and entity type
                session.commit()

        _migrate(engine, "0001", down=True)
        with engine.connect() as conn:
            assert "crosses_land_border" not in {c["name"] for c in inspect(conn).get_columns("partner")}
            assert _rows(conn, "SELECT partner_code FROM partner") == [("MX-F1",)]
        _migrate(engine, "head")
