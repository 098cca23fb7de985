"""Partner registry import: ERP column names, updates by partner code, duplicates, all or nothing, CLI."""

import io

import pytest
from openpyxl import Workbook
from sqlmodel import Session, func, select

import manage
from models import AuditEvent, ImportRecord, Partner
from services.core.permissions import PermissionDenied, ValidationError
from services.imports.partners import apply_partners, preview_partners
from services.imports.reader import limits as reader_limits
from services.partners import registry as partner_service
from tests.conftest import ANALYST, VIEWER
from tests.test_answer_import import csv_bytes


def existing(session: Session, code: str, **values) -> Partner:
    fields = {"partner_code": code, "legal_name": f"{code} Industrial Co., Ltd.", "entity_type": "Foreign Manufacturer",
              "country_iso2": "CN", **values}
    return partner_service.create_partner(session=session, actor=ANALYST, values=fields)


def errors(preview) -> list[dict]:
    return preview.problems[preview.problems["severity"] == "error"].to_dict("records")


def test_erp_columns_country_names_and_entity_aliases(session, staff):
    data = csv_bytes([
        ["V-100", "Shenzhen Bright Lamps Co., Ltd.", "Factory", "China", "CNSHEBRI1234SHE", "chen@bright.example"],
        ["V-200", "Transportes del Norte SA de CV", "Trucking", "MEX", "", "ops@norte.example"],
        ["V-300", "Saigon Furniture JSC", "foreign manufacturer", "Vietnam", "", ""],
    ], header=["Vendor Code", "Supplier Name", "Type", "Country", "MID", "E-mail"])
    preview = preview_partners(session=session, files=[("erp.csv", data)])
    assert preview.problems.empty, preview.problems
    assert preview.counts == {"new": 3, "update": 0, "unchanged": 0, "duplicate": 0, "error": 0}
    [record] = apply_partners(session=session, actor=ANALYST, preview=preview)
    session.commit()
    stored = {p.partner_code: p for p in session.exec(select(Partner)).all()}
    assert stored["V-100"].country_iso2 == "CN" and stored["V-100"].mid == "CNSHEBRI1234SHE"
    assert stored["V-200"].entity_type == "Highway Carrier" and stored["V-200"].country_iso2 == "MX"
    assert stored["V-300"].country_iso2 == "VN" and stored["V-300"].normalized_name == "saigon furniture"
    assert (record.kind, record.created, record.changed, record.rows) == ("partners", 3, 0, 3)
    event = session.exec(select(AuditEvent).where(AuditEvent.action == "import")).one()
    assert event.after["created"] == ["V-100", "V-200", "V-300"]


def test_existing_code_updates_only_given_nonblank_fields(session, staff):
    existing(session, "V-100", city="Shenzhen", contact_email="old@bright.example", criticality="high")
    session.commit()
    data = csv_bytes([["v-100", "", "Dongguan", "new@bright.example", "high"]],
                     header=["partner_code", "legal_name", "city", "contact_email", "criticality"])
    preview = preview_partners(session=session, files=[("upd.csv", data)])
    assert preview.counts["update"] == 1
    assert preview.rows.loc[0, "changes"] == ("city: Shenzhen → Dongguan; contact_email: old@bright.example → "
                                              "new@bright.example")
    apply_partners(session=session, actor=ANALYST, preview=preview)
    session.commit()
    partner = session.exec(select(Partner)).one()
    session.refresh(partner)
    assert (partner.city, partner.contact_email, partner.legal_name) == (
        "Dongguan", "new@bright.example", "V-100 Industrial Co., Ltd.")
    event = session.exec(select(AuditEvent).where(AuditEvent.action == "update")).one()
    assert event.before == {"city": "Shenzhen", "contact_email": "old@bright.example"}
    assert event.after == {"city": "Dongguan", "contact_email": "new@bright.example"}

    again = preview_partners(session=session, files=[("upd.csv", data)])
    assert again.counts["unchanged"] == 1 and not again.updates


def test_duplicates_of_existing_partners_and_within_the_file_are_skipped(session, staff):
    existing(session, "V-100", mid="CNSHEBRI1234SHE")
    existing(session, "V-200", legal_name="Ningbo Ocean Trading Co Ltd")
    session.commit()
    data = csv_bytes([
        ["ERP-1", "Bright Lamps (new name)", "Foreign Manufacturer", "CN", "cnshebri1234she", ""],
        ["ERP-2", "Ningbo Ocean Trading Company Limited", "Foreign Manufacturer", "CN", "", ""],
        ["ERP-3", "Hanoi Textiles", "Foreign Manufacturer", "VN", "", "123456789"],
        ["ERP-4", "Hanoi Textile Mill", "Foreign Manufacturer", "VN", "", "123456789"],
    ], header=["partner_code", "legal_name", "entity_type", "country_iso2", "mid", "duns"])
    preview = preview_partners(session=session, files=[("dups.csv", data)])
    assert preview.counts == {"new": 1, "update": 0, "unchanged": 0, "duplicate": 3, "error": 0}
    reasons = dict(zip(preview.rows["partner_code"], preview.rows["duplicate_of"], strict=True))
    assert reasons["ERP-1"] == "MID as partner V-100"
    assert reasons["ERP-2"] == "same name and country as partner V-200"
    assert reasons["ERP-4"] == "DUNS as row 4 (ERP-3)"
    warnings = preview.problems[preview.problems["severity"] == "warning"]
    assert warnings["row"].tolist() == [2, 3, 5] and warnings["message"].str.contains("not imported").all()
    apply_partners(session=session, actor=ANALYST, preview=preview)
    session.commit()
    assert sorted(session.exec(select(Partner.partner_code)).all()) == ["ERP-3", "V-100", "V-200"]


def test_invalid_rows_block_the_whole_file(session, staff):
    data = csv_bytes([
        ["P1", "Good Partner", "Importer", "US", "", ""],
        ["P2", "Bad Country", "Importer", "Narnia", "", ""],
        ["P3", "Bad MID", "Foreign Manufacturer", "CN", "XX12", ""],
        ["P4", "", "Sea Carrier", "DK", "", ""],
        ["P5", "Bad type", "Spaceport", "US", "", "x@"],
        ["P1", "Twice", "Importer", "US", "", ""],
    ], header=["partner_code", "legal_name", "entity_type", "country", "mid", "contact_email"])
    preview = preview_partners(session=session, files=[("bad.csv", data)])
    found = {(e["row"], e["column"]): e["message"] for e in errors(preview)}
    assert found[(3, "country")].startswith("'Narnia' is not a country")
    assert "MID 'XX12' must start with the partner's country code CN" in found[(4, "mid")]
    assert found[(5, "legal_name")] == "required for a new partner"
    assert found[(6, "entity_type")].startswith("'Spaceport' is not a CTPAT entity type")
    assert "is not an email address" in found[(6, "contact_email")]
    assert found[(7, "partner_code")] == "Partner code P1 is already used in row 2."
    assert preview.counts["error"] == 5
    with pytest.raises(ValidationError, match="nothing was imported"):
        apply_partners(session=session, actor=ANALYST, preview=preview)
    assert session.exec(select(func.count()).select_from(Partner)).one() == 0


def test_parent_codes_link_to_partners_in_the_file_or_registry(session, staff):
    existing(session, "GROUP")
    session.commit()
    data = csv_bytes([["F1", "Factory One", "Foreign Manufacturer", "CN", "GROUP"],
                      ["F2", "Factory Two", "Foreign Manufacturer", "CN", "F1"],
                      ["F3", "Factory Three", "Foreign Manufacturer", "CN", "NOPE"]],
                     header=["partner_code", "legal_name", "entity_type", "country_iso2", "parent_code"])
    preview = preview_partners(session=session, files=[("p.csv", data)])
    [error] = errors(preview)
    assert (error["row"], error["value"]) == (4, "NOPE")
    preview = preview_partners(session=session, files=[("p.csv", data.rsplit(b"\n", 2)[0] + b"\n")])
    apply_partners(session=session, actor=ANALYST, preview=preview)
    session.commit()
    ids = dict(session.exec(select(Partner.partner_code, Partner.id)).all())
    parents = dict(session.exec(select(Partner.partner_code, Partner.parent_id)).all())
    assert parents["F1"] == ids["GROUP"] and parents["F2"] == ids["F1"]


def test_export_then_import_changes_nothing(session, staff):
    existing(session, "V-100", city="Shenzhen", import_share=12.5, latitude=22.54, longitude=114.05,
             mid="CNSHEBRI1234SHE")
    existing(session, "V-200", entity_type="Sea Carrier", country_iso2="DK", scac="MAEU")
    session.commit()
    frame = partner_service.export_partners(session=session)
    buffer = io.BytesIO()
    frame.to_excel(buffer, sheet_name="Partners", index=False)
    preview = preview_partners(session=session, files=[("export.xlsx", buffer.getvalue())])
    assert preview.problems.empty, preview.problems
    assert preview.counts["unchanged"] == 2


def test_xlsx_partners_sheet_and_permissions(session, staff):
    book = Workbook()
    book.active.title = "Instructions"
    sheet = book.create_sheet("Partners")
    sheet.append(["Supplier Code", "Company Name", "Partner Type", "Country Code"])
    sheet.append([10045, "Acme Tools GmbH", "Exporter", "de"])
    buffer = io.BytesIO()
    book.save(buffer)
    preview = preview_partners(session=session, files=[("erp.xlsx", buffer.getvalue())])
    assert preview.problems.empty and preview.rows.loc[0, "partner_code"] == "10045"
    with pytest.raises(PermissionDenied):
        apply_partners(session=session, actor=VIEWER, preview=preview)


def test_cli_import_partners(session, staff, database_url, monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("CTPAT_DATABASE_URL", database_url)
    bad = tmp_path / "bad.csv"
    bad.write_bytes(csv_bytes([["P1", "Name", "Importer", "Atlantis"]],
                              header=["partner_code", "legal_name", "entity_type", "country"]))
    good = tmp_path / "good.csv"
    good.write_bytes(csv_bytes([["P1", "Name", "Importer", "US"]],
                               header=["partner_code", "legal_name", "entity_type", "country"]))

    def run(*argv: str) -> int:
        return manage.main(list(argv))

    assert run("import-partners", str(bad)) == 2
    assert "bad.csv, row 2, column country [Atlantis]: 'Atlantis' is not a country" in capsys.readouterr().out
    assert run("import-partners", str(good), "--dry-run") == 0
    session.expire_all()
    assert session.exec(select(func.count()).select_from(Partner)).one() == 0
    assert run("import-partners", str(good)) == 0
    assert "Imported: 1 new, 0 updated partners." in capsys.readouterr().out
    assert session.exec(select(Partner.partner_code)).all() == ["P1"]
    assert session.exec(select(ImportRecord.kind)).all() == ["partners"]
    assert run("import-partners", str(tmp_path / "missing.csv")) == 2


def test_more_partners_than_one_statement_may_name_import_in_chunks(session, staff):
    """More partner codes than one SQL statement may hold (SQLite: 32,766 parameters): look-ups go in IN lists
    of 5,000 and new partners in slices, so the import neither fails nor queries per row."""
    count = 33_000
    header = ["partner_code", "legal_name", "entity_type", "country", "parent_code"]
    rows = [[f"B-{i:05d}", f"Bulk Supplier {i} Co., Ltd.", "Foreign Manufacturer", "CN", "B-00000" if i else ""]
            for i in range(count)]
    data = csv_bytes(rows, header=header)
    with reader_limits.command_line():  # more rows than an upload may hold
        preview = preview_partners(session=session, files=[("bulk.csv", data)])
    assert preview.problems.empty and preview.counts["new"] == count and len(preview.creates) == count
    assert preview.creates[1]["partner_code"] == "B-00001" and preview.creates[1]["latitude"] is None
    apply_partners(session=session, actor=ANALYST, preview=preview)
    session.commit()
    assert session.exec(select(func.count()).select_from(Partner)).one() == count
    parent = session.exec(select(Partner.id).where(Partner.partner_code == "B-00000")).one()
    assert session.exec(select(func.count()).select_from(Partner).where(Partner.parent_id == parent)).one() == count - 1


def test_upload_over_the_row_limit_is_refused_with_its_file_named(session, staff):
    data = csv_bytes([[f"U-{i}", f"Upload {i}", "Exporter", "CN"] for i in range(reader_limits.UPLOAD.max_rows + 1)],
                     header=["partner_code", "legal_name", "entity_type", "country"])
    preview = preview_partners(session=session, files=[("erp.csv", data)])
    [problem] = preview.problems.to_dict("records")
    assert problem["file"] == "erp.csv" and "more than 100,000 rows" in problem["message"]
    assert "manage.py import-partners" in problem["message"] and preview.has_errors


def test_owner_role_flags_and_region_new_and_updated(session, staff):
    from models import PartnerContact, PartnerSite
    from services.partners import contacts, sites

    header = ["Vendor Code", "Supplier Name", "Type", "Country", "City", "State", "MID", "Contact", "E-mail",
              "Owner", "Crosses land border", "Handles cargo"]
    data = csv_bytes([
        ["V-1", "Muebles del Norte SA de CV", "factory", "MX", "Monterrey", "Nuevo León", "MXMUEDEL1MON",
         "Rosa Garza", "rosa@norte.example", "Luis", "si", ""],
        ["V-2", "Pacific Blue Line", "ocean carrier", "DK", "", "", "", "", "", "", "", "no"],
    ], header=header)
    preview = preview_partners(session=session, files=[("erp.csv", data)])
    assert preview.problems.empty, preview.problems.to_dict("records")
    apply_partners(session=session, actor=ANALYST, preview=preview)
    session.commit()
    stored = {p.partner_code: p for p in session.exec(select(Partner)).all()}
    factory, carrier = stored["V-1"], stored["V-2"]
    assert sites.owner_of(session=session, partner_id=factory.id) == "luis" and carrier.owner_id is None
    assert (factory.crosses_land_border, factory.handles_cargo, carrier.handles_cargo) == (True, None, False)
    [site] = session.exec(select(PartnerSite).where(PartnerSite.partner_id == factory.id)).all()
    assert (site.city, site.region_code, site.mid, site.activities, site.is_primary) == (
        "Monterrey", "MX-NLE", "MXMUEDEL1MON", "manufacturing", True)
    assert session.exec(select(PartnerSite.name).where(PartnerSite.partner_id == carrier.id)).one() == "Main site"
    person = contacts.primary_contact(session=session, partner_id=factory.id)
    assert (person.name, person.email, person.language) == ("Rosa Garza", "rosa@norte.example", "en")
    assert session.exec(select(PartnerContact).where(PartnerContact.partner_id == carrier.id)).all() == []
    assert not session.exec(select(AuditEvent).where(AuditEvent.entity.in_(["site", "contact"]))).all()

    # An update: blank keeps, "default" resets, a changed address and contact move the primary site and contact.
    update = csv_bytes([["V-1", "Apodaca", "Coahuila", "Ana Ruiz", "ana@norte.example", "admin", "default", ""]],
                       header=["vendor code", "city", "state", "contact", "e-mail", "owner", "crosses land border",
                               "handles cargo"])
    preview = preview_partners(session=session, files=[("upd.csv", update)])
    assert preview.rows.loc[0, "changes"] == (
        "city: Monterrey → Apodaca; contact_name: Rosa Garza → Ana Ruiz; contact_email: rosa@norte.example → "
        "ana@norte.example; region: MX-NLE → MX-COA; owner: luis → admin; crosses_land_border: yes → default")
    apply_partners(session=session, actor=ANALYST, preview=preview)
    session.commit()
    session.expire_all()
    factory = session.get(Partner, factory.id)
    assert sites.owner_of(session=session, partner_id=factory.id) == "admin" and factory.crosses_land_border is None
    site = sites.primary_site(session=session, partner_id=factory.id)
    assert (site.city, site.region_code, site.mid) == ("Apodaca", "MX-COA", "MXMUEDEL1MON")
    person = contacts.primary_contact(session=session, partner_id=factory.id)
    assert (person.name, person.email) == ("Ana Ruiz", "ana@norte.example")
    assert preview_partners(session=session, files=[("upd.csv", update)]).counts["unchanged"] == 1


def test_owner_flag_and_region_mistakes_name_row_and_column(session, staff):
    data = csv_bytes([["V-1", "Muebles SA", "factory", "MX", "Texas", "nobody", "maybe"]],
                     header=["code", "name", "type", "country", "state", "owner", "stuffs containers"])
    preview = preview_partners(session=session, files=[("bad.csv", data)])
    found = {(p["row"], p["column"]): p["message"] for p in errors(preview)}
    assert found[(2, "state")].startswith("'Texas' is not a region of MX")
    assert found[(2, "owner")] == "no active staff user 'nobody': give the owner's username"
    assert found[(2, "stuffs containers")].startswith("'maybe' is not yes, no or default")
    with pytest.raises(ValidationError):
        apply_partners(session=session, actor=ANALYST, preview=preview)
