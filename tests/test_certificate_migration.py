"""Migration 0005 on SQLite and PostgreSQL: certification rows become certificates, the registry is filled and
corrected, and the way back restores certification."""

from datetime import UTC, date, datetime

import sqlalchemy as sa
from alembic import command
from alembic.script import ScriptDirectory

from services.core import db
from tests.test_db import empty_engine  # noqa: F401  (fixture: a database without any table)

NOW = datetime(2026, 6, 1, 9, tzinfo=UTC)
meta = sa.MetaData()
country = sa.Table("country", meta, sa.Column("iso2", sa.String), sa.Column("iso3", sa.String),
                   sa.Column("numeric", sa.String), sa.Column("name", sa.String), sa.Column("region", sa.String))
partner = sa.Table("partner", meta, *(sa.Column(c, sa.String) for c in (
    "partner_code", "legal_name", "normalized_name", "entity_type", "country_iso2", "address", "city", "contact_name",
    "contact_email", "language", "criticality", "status", "notes")), sa.Column("id", sa.Integer),
    sa.Column("created_at", sa.DateTime(timezone=True)), sa.Column("updated_at", sa.DateTime(timezone=True)))
mraprogram = sa.Table("mraprogram", meta, sa.Column("id", sa.Integer), *(sa.Column(c, sa.String) for c in (
    "partner_country", "customs_administration", "program_name", "acronym", "signed", "country_codes", "source")),
    sa.Column("confirmed", sa.Boolean))
certification = sa.Table("certification", meta, sa.Column("id", sa.Integer), sa.Column("partner_id", sa.Integer),
                         sa.Column("program", sa.String), sa.Column("mra_program_id", sa.Integer),
                         sa.Column("certificate_number", sa.String), sa.Column("valid_until", sa.Date),
                         sa.Column("verified_on", sa.Date), sa.Column("verified_by", sa.String),
                         sa.Column("created_at", sa.DateTime(timezone=True)))


def _day(value) -> str | None:
    """A date as SQLite (text) and PostgreSQL (date) return it through raw SQL, as ISO text."""
    return None if value is None else str(value)[:10]


def _config(engine):
    return db.alembic_config(engine.url.render_as_string(hide_password=False))


def _migrate(engine, revision: str, down: bool = False) -> None:
    cfg = _config(engine)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        (command.downgrade if down else command.upgrade)(cfg, revision)
    engine.dispose()


def _legacy_rows(conn) -> None:
    conn.execute(country.insert(), [
        {"iso2": c, "iso3": c + "X", "numeric": n, "name": name, "region": ""}
        for c, n, name in (("US", "840", "United States"), ("DE", "276", "Germany"), ("MX", "484", "Mexico"),
                           ("JP", "392", "Japan"), ("IN", "356", "India"), ("NZ", "554", "New Zealand"))])
    base = {"address": "", "city": "", "contact_name": "", "contact_email": "", "language": "en",
            "criticality": "medium", "status": "active", "notes": "", "created_at": NOW, "updated_at": NOW,
            "entity_type": "Foreign Manufacturer"}
    conn.execute(partner.insert(), [
        {**base, "id": 1, "partner_code": "US1", "legal_name": "Trucking", "normalized_name": "trucking",
         "country_iso2": "US"},
        {**base, "id": 2, "partner_code": "DE1", "legal_name": "Moebel", "normalized_name": "moebel",
         "country_iso2": "DE"},
        {**base, "id": 3, "partner_code": "JP1", "legal_name": "Denki", "normalized_name": "denki",
         "country_iso2": "JP"}])
    conn.execute(mraprogram.insert(), [
        {"id": 1, "partner_country": "European Union", "customs_administration": "TAXUD", "program_name": "EU AEO",
         "acronym": "AEO", "signed": "2012-05", "country_codes": "DE FR", "source": "", "confirmed": True},
        {"id": 2, "partner_country": "Japan", "customs_administration": "Japan Customs", "program_name": "AEO",
         "acronym": "AEO", "signed": "2009-06", "country_codes": "JP", "source": "", "confirmed": True},
        {"id": 3, "partner_country": "Mexico", "customs_administration": "SAT", "acronym": "NEEC",
         "program_name": "Nuevo Esquema de Empresas Certificadas (New Certified Companies Scheme)",
         "signed": "2014-10", "country_codes": "MX", "source": "", "confirmed": True},
        {"id": 4, "partner_country": "India", "customs_administration": "CBIC", "program_name": "AEO Programme",
         "acronym": "AEO", "signed": "2021-09", "country_codes": "IN", "source": "", "confirmed": True},
        {"id": 5, "partner_country": "New Zealand", "customs_administration": "NZCS",
         "program_name": "Secure Export Scheme", "acronym": "SES", "signed": "2007-06", "country_codes": "NZ",
         "source": "", "confirmed": True},
        {"id": 6, "partner_country": "Australia", "customs_administration": "ABF", "program_name": "ATT",
         "acronym": "ATT", "signed": "2025-03", "country_codes": "", "source": "", "confirmed": False}])
    conn.execute(certification.insert(), [
        {"id": 10, "partner_id": 1, "program": "ctpat", "mra_program_id": None, "certificate_number": "CT-1",
         "valid_until": None, "verified_on": date(2026, 5, 1), "verified_by": "luis", "created_at": NOW},
        {"id": 11, "partner_id": 2, "program": "AEO", "mra_program_id": 1, "certificate_number": "DEAEOF000123",
         "valid_until": date(2028, 1, 1), "verified_on": date(2026, 4, 1), "verified_by": "dana",
         "created_at": NOW},
        {"id": 12, "partner_id": 3, "program": "AEO", "mra_program_id": 2, "certificate_number": "",
         "valid_until": date(2027, 1, 1), "verified_on": None, "verified_by": "", "created_at": NOW},
        {"id": 13, "partner_id": 3, "program": "AEO", "mra_program_id": 2, "certificate_number": "",
         "valid_until": date(2027, 1, 1), "verified_on": None, "verified_by": "", "created_at": NOW},
        {"id": 14, "partner_id": 2, "program": "ISO 28000", "mra_program_id": None, "certificate_number": "ISO-9",
         "valid_until": date(2027, 1, 1), "verified_on": date(2026, 4, 2), "verified_by": "", "created_at": NOW}])


def test_certifications_become_certificates_and_back(empty_engine):  # noqa: F811
    engine = empty_engine
    script = ScriptDirectory.from_config(_config(engine))
    before = script.get_revision("0005").down_revision
    _migrate(engine, before)
    with engine.begin() as conn:
        _legacy_rows(conn)
    _migrate(engine, "0005")

    with engine.connect() as conn:
        certs = {r.certificate_number: r for r in conn.execute(sa.text(
            "SELECT id, partner_id, program, issuing_country, certificate_number, certificate_type, status, "
            "valid_to, no_expiry FROM certificate"))}
        checks = conn.execute(sa.text("SELECT certificate_id, verified_on, verified_by, method "
                                      "FROM certificateverification")).all()
        events = conn.execute(sa.text("SELECT certificate_id, kind FROM certificateevent")).all()
        programs = {r.partner_country: r for r in conn.execute(sa.text(
            "SELECT partner_country, program_name, acronym, confirmed, codes, certificate_types, types_counted, "
            "in_force_from, caveat FROM mraprogram"))}
        audit = conn.execute(sa.text("SELECT username, action, summary FROM auditevent")).all()
        tables = sa.inspect(conn).get_table_names()

    assert "certification" not in tables
    assert set(certs) == {"CT-1", "DEAEOF000123", "not recorded (#12)", "not recorded (#13)", "ISO-9"}
    ct, de = certs["CT-1"], certs["DEAEOF000123"]
    assert (ct.program, ct.issuing_country, ct.status, bool(ct.no_expiry), ct.valid_to) == (
        "CTPAT", "US", "verified", True, None)
    assert (de.issuing_country, de.certificate_type, de.status, _day(de.valid_to)) == (
        "DE", "AEO-F", "verified", "2028-01-01")
    assert certs["not recorded (#12)"].status == "claimed" and certs["not recorded (#12)"].issuing_country == "JP"
    assert certs["ISO-9"].program == "ISO 28000" and certs["ISO-9"].issuing_country == "DE"
    assert sorted((c.verified_by, c.method) for c in checks) == [
        ("dana", "not recorded"), ("luis", "not recorded"), ("unknown", "not recorded")]
    assert len([e for e in events if e.kind == "recorded"]) == 5 and len([e for e in events
                                                                          if e.kind == "verified"]) == 3

    assert programs["New Zealand"].program_name == "Secure Exports Scheme"
    assert programs["Mexico"].acronym == "OEA (formerly NEEC)" and programs["Mexico"].codes == "OEA NEEC"
    assert programs["Mexico"].types_counted == "OEA" and not programs["India"].confirmed
    assert programs["European Union"].types_counted == "AEO-S AEO-F"
    assert _day(programs["European Union"].in_force_from) == "2012-07-01"
    assert (programs["Australia"].codes, _day(programs["Australia"].in_force_from)) == ("ATT", "2025-03-01")
    assert sorted(a.summary for a in audit if a.action == "correct") == [
        "Corrected acronym of the Mexico arrangement (reference data revised)",
        "Corrected confirmed of the India arrangement (reference data revised)",
        "Corrected program_name of the Mexico arrangement (reference data revised)",
        "Corrected program_name of the New Zealand arrangement (reference data revised)"]

    _migrate(engine, before, down=True)
    with engine.connect() as conn:
        back = {r.certificate_number: r for r in conn.execute(sa.text(
            "SELECT program, mra_program_id, certificate_number, valid_until, verified_on, verified_by "
            "FROM certification"))}
        assert "certificate" not in sa.inspect(conn).get_table_names()
    assert (back["DEAEOF000123"].mra_program_id, _day(back["DEAEOF000123"].verified_on)) == (1, "2026-04-01")
    assert (back["CT-1"].program, back["CT-1"].valid_until, back["CT-1"].verified_by) == ("CTPAT", None, "luis")
    assert back["not recorded (#12)"].verified_on is None and back["not recorded (#12)"].mra_program_id == 2
    _migrate(engine, "head")
