"""Business partners: field validation, identifiers, add/edit/deactivate with audit, duplicates, search."""

import pytest
from sqlmodel import Session, func, select

from models import Partner
from services.core import audit
from services.core.permissions import PermissionDenied, ValidationError
from services.partners import registry as partners
from services.partners.identifiers import normalize_name
from tests.conftest import ADMIN, ANALYST, VIEWER

COUNTRIES = {"CN", "VN", "MX", "US", "DE", "IN", "TR"}
FACTORY = {"partner_code": "cn-0001", "legal_name": "Shenzhen Lumen Electronics Co., Ltd.",
           "entity_type": "Foreign Manufacturer", "country_iso2": "CN", "city": "Shenzhen"}


def clean(**changes):
    return partners.clean_partner_values({**FACTORY, **changes}, country_codes=COUNTRIES)


def problems(**changes) -> list[str]:
    return clean(**changes)[1]


def test_clean_values_of_a_valid_partner():
    values, errors = clean(partner_code=" cn-0001 ", contact_email=" qa@lumen.cn ", latitude="22.54",
                           longitude=114.06, import_share="", mid=" cn lumel 1234 she ")
    assert errors == []
    assert values["partner_code"] == "CN-0001"
    assert values["contact_email"] == "qa@lumen.cn"
    assert (values["latitude"], values["longitude"], values["import_share"]) == (22.54, 114.06, None)
    assert values["mid"] == "CNLUMEL1234SHE"
    assert (values["criticality"], values["status"], values["language"]) == ("medium", "active", "en")
    assert values["normalized_name"] == "shenzhen lumen electronics"
    assert values["scac"] is None and values["parent_id"] is None


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("mid", "CNSHEELE1234SHE", "CNSHEELE1234SHE"),
        ("mid", "cn.shenzhen", "CNSHENZHEN"),
        ("scac", "maeu", "MAEU"),
        ("scac", "CM", "CM"),
        ("ior_ein", "12-3456789", "12-3456789"),
        ("ior_ein", "12-3456789ab", "12-3456789AB"),
        ("ior_ein", "123-45-6789", "123-45-6789"),
        ("ior_ein", "260101-12345", "260101-12345"),
        ("duns", "123456789", "123456789"),
        ("duns", "12 345 6789", "123456789"),
        ("duns", 123456789, "123456789"),
        ("fmc", "012345", "012345"),
        ("fmc", "012345N", "012345N"),
        ("fmc", "0a2345nf", "0A2345NF"),
        ("iata_code", "5x", "5X"),
        ("iata_code", "UPS", "UPS"),
        ("iata_code", "0112345", "0112345"),
        ("iata_code", "01123456789", "01123456789"),
        ("broker_license", "1234", "1234"),
        ("broker_license", "12345", "12345"),
        ("usdot", "12345", "12345"),
        ("usdot", "12345678", "12345678"),
        ("usdot", "", None),
        ("usdot", None, None),
    ],
)
def test_valid_identifiers_are_normalised(field, value, expected):
    values, errors = clean(**{field: value})
    assert errors == []
    assert values[field] == expected


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("mid", "CNSHEELE1234SHEX", "MID 'CNSHEELE1234SHEX' is not valid"),  # 16 characters
        ("mid", "C", "MID 'C' is not valid"),
        ("mid", "CN-LUMEL", "MID 'CN-LUMEL' is not valid"),
        ("mid", "VNLUMEL1234HAN", "MID 'VNLUMEL1234HAN' must start with the partner's country code CN"),
        ("scac", "M", "SCAC 'M' is not valid: Standard Carrier Alpha Code"),
        ("scac", "MAEU1", "SCAC 'MAEU1' is not valid"),
        ("scac", "MA3U", "SCAC 'MA3U' is not valid"),
        ("ior_ein", "123456789", "IOR/EIN '123456789' is not valid: IRS number"),
        ("ior_ein", "12-345678", "IOR/EIN '12-345678' is not valid"),
        ("ior_ein", "12-3456789A", "IOR/EIN '12-3456789A' is not valid"),
        ("duns", "12345678", "DUNS '12345678' is not valid: D-U-N-S number: 9 digits"),
        ("duns", "12-345-6789", "DUNS '12-345-6789' is not valid"),
        ("fmc", "01234", "FMC '01234' is not valid"),
        ("fmc", "012345X", "FMC '012345X' is not valid"),
        ("iata_code", "U2S", "IATA 'U2S' is not valid"),
        ("iata_code", "123456", "IATA '123456' is not valid"),
        ("broker_license", "123", "Broker licence '123' is not valid: customs broker licence: 4 or 5 digits"),
        ("broker_license", "123456", "Broker licence '123456' is not valid"),
        ("usdot", "1234", "USDOT '1234' is not valid: USDOT number: 5 to 8 digits"),
        ("usdot", "US123456", "USDOT 'US123456' is not valid"),
    ],
)
def test_invalid_identifiers_are_named_with_their_format(field, value, message):
    [error] = problems(**{field: value})
    assert error.startswith(f"{field}: {message}")


def test_mid_country_rule_follows_the_partner_country():
    assert problems(country_iso2="VN", mid="VNLUMEL1234HAN") == []
    assert problems(country_iso2="vn", mid="CNLUMEL1234SHE") == [
        "mid: MID 'CNLUMEL1234SHE' must start with the partner's country code VN"]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"contact_email": "qa@lumen"}, "contact_email: 'qa@lumen' is not an email address"),
        ({"contact_email": "qa lumen@x.cn"}, "contact_email: 'qa lumen@x.cn' is not an email address"),
        ({"country_iso2": "XX"}, "country_iso2: 'XX' is not an ISO 3166 alpha-2 country code"),
        ({"country_iso2": "CHN"}, "country_iso2: 'CHN' is not an ISO 3166 alpha-2 country code"),
        ({"entity_type": "Supplier"}, "entity_type: 'Supplier' is not a CTPAT entity type"),
        ({"criticality": "urgent"}, "criticality: 'urgent' must be one of low, medium, high, critical"),
        ({"status": "deleted"}, "status: 'deleted' must be one of active, inactive"),
        ({"language": "fr"}, "language: 'fr' must be one of en, es, zh"),
        ({"latitude": 91}, "latitude: 91.0 is outside -90..90"),
        ({"longitude": "-180.5"}, "longitude: -180.5 is outside -180..180"),
        ({"import_share": 100.5}, "import_share: 100.5 is outside 0..100"),
        ({"import_share": -1}, "import_share: -1.0 is outside 0..100"),
        ({"latitude": "north"}, "latitude: 'north' is not a number"),
        ({"partner_code": " "}, "partner_code: required"),
        ({"legal_name": ""}, "legal_name: required"),
        ({"partner_code": "X" * 41}, "partner_code: longer than 40 characters"),
    ],
)
def test_each_bad_field_gives_a_message_naming_it(changes, message):
    assert problems(**changes) == [message]


def test_case_insensitive_vocabularies_and_every_problem_reported():
    values, errors = clean(entity_type="  customs BROKER ", criticality="HIGH", country_iso2=" mx ", status="Inactive",
                           language="ES")
    assert errors == []
    assert (values["entity_type"], values["criticality"], values["country_iso2"], values["status"],
            values["language"]) == ("Customs Broker", "high", "MX", "inactive", "es")
    assert (values["import_share"], values["latitude"]) == (None, None)
    assert clean(import_share=0)[0]["import_share"] == 0.0 and clean(import_share=100)[0]["import_share"] == 100.0

    errors = problems(partner_code="", country_iso2="ZZ", scac="1", latitude=200, contact_email="nobody")
    assert [e.split(":")[0] for e in errors] == ["partner_code", "contact_email", "country_iso2", "latitude", "scac"]


def _add(session: Session, actor=ANALYST, **changes) -> Partner:
    partner = partners.create_partner(session=session, actor=actor, values={**FACTORY, **changes})
    session.commit()
    return partner


def test_create_partner_with_audit(session, staff):
    partner = _add(session, mid="CNLUMEL1234SHE", criticality="High", import_share="12.5")
    stored = partners.get_partner(session=session, partner_id=partner.id)
    assert (stored.partner_code, stored.criticality, stored.import_share, stored.status) == (
        "CN-0001", "high", 12.5, "active")
    assert stored.normalized_name == "shenzhen lumen electronics"
    [event] = audit.list_events(session=session, entity="partner").to_dict("records")
    assert (event["user"], event["action"], event["id"]) == ("luis", "create", "CN-0001")
    assert event["after"]["mid"] == "CNLUMEL1234SHE" and event["before"] is None


def test_viewers_cannot_add_partners(session, staff):
    with pytest.raises(PermissionDenied):
        partners.create_partner(session=session, actor=VIEWER, values=FACTORY)
    assert session.exec(select(func.count()).select_from(Partner)).one() == 0


def test_create_refuses_a_used_code_and_lists_every_problem(session, staff):
    _add(session)
    with pytest.raises(ValidationError, match="partner_code: 'CN-0001' is already used"):
        partners.create_partner(session=session, actor=ADMIN, values={**FACTORY, "partner_code": "Cn-0001 "})
    with pytest.raises(ValidationError) as bad:
        partners.create_partner(session=session, actor=ADMIN,
                                values={**FACTORY, "partner_code": "CN-2", "country_iso2": "XX", "duns": "1"})
    assert str(bad.value).count("; ") == 1
    assert "country_iso2: 'XX'" in str(bad.value) and "duns: DUNS '1'" in str(bad.value)
    session.rollback()
    assert session.exec(select(func.count()).select_from(Partner)).one() == 1


def test_update_audits_only_the_changed_fields(session, staff):
    partner = _add(session)
    created = partner.updated_at
    partners.update_partner(session=session, actor=ADMIN, partner_id=partner.id,
                            values={"city": "Dongguan", "criticality": "CRITICAL", "legal_name": FACTORY["legal_name"]})
    session.commit()
    stored = partners.get_partner(session=session, partner_id=partner.id)
    assert (stored.city, stored.criticality) == ("Dongguan", "critical")
    assert stored.updated_at >= created
    [event] = audit.list_events(session=session, entity="partner", action="update").to_dict("records")
    assert event["user"] == "admin"
    assert event["before"] == {"city": "Shenzhen", "criticality": "medium"}
    assert event["after"] == {"city": "Dongguan", "criticality": "critical"}

    _add(session, partner_code="CN-0002", legal_name="Other Factory")
    with pytest.raises(ValidationError, match="'CN-0002' is already used"):
        partners.update_partner(session=session, actor=ADMIN, partner_id=partner.id, values={"partner_code": "cn-0002"})
    with pytest.raises(ValidationError, match="No partner with id 999999"):
        partners.update_partner(session=session, actor=ADMIN, partner_id=999999, values={"city": "X"})
    with pytest.raises(PermissionDenied):
        partners.update_partner(session=session, actor=VIEWER, partner_id=partner.id, values={"city": "X"})


def test_deactivate_keeps_the_partner(session, staff):
    partner = _add(session)
    partners.set_status(session=session, actor=ANALYST, partner_id=partner.id, status="inactive")
    session.commit()
    assert partners.get_partner(session=session, partner_id=partner.id).status == "inactive"
    [event] = audit.list_events(session=session, action="update").to_dict("records")
    assert (event["before"], event["after"]) == ({"status": "active"}, {"status": "inactive"})
    with pytest.raises(ValidationError, match="status: 'deleted' must be one of"):
        partners.set_status(session=session, actor=ANALYST, partner_id=partner.id, status="deleted")
    with pytest.raises(PermissionDenied):
        partners.set_status(session=session, actor=VIEWER, partner_id=partner.id, status="active")


def test_parent_partner_rules(session, staff):
    group = _add(session, partner_code="GRP", legal_name="Lumen Holdings")
    factory = _add(session, parent_id=group.id)
    assert [p.partner_code for p in partners.children(session=session, partner_id=group.id)] == ["CN-0001"]
    with pytest.raises(ValidationError, match="parent_id: a partner cannot be its own parent"):
        partners.update_partner(session=session, actor=ANALYST, partner_id=factory.id, values={"parent_id": factory.id})
    session.rollback()
    with pytest.raises(ValidationError, match="parent_id: no partner with id 999999"):
        partners.update_partner(session=session, actor=ANALYST, partner_id=factory.id, values={"parent_id": 999999})
    session.rollback()
    with pytest.raises(ValidationError, match="parent_id: no partner with id 999999"):
        partners.create_partner(session=session, actor=ANALYST,
                                values={**FACTORY, "partner_code": "CN-9", "parent_id": "999999"})
    session.rollback()
    assert partners.get_partner(session=session, partner_id=factory.id).parent_id == group.id
    assert partners.partner_options(session=session) == {factory.id: "CN-0001 · Shenzhen Lumen Electronics Co., Ltd.",
                                                         group.id: "GRP · Lumen Holdings"}


def _duplicates(session: Session, **changes) -> dict[str, str]:
    values, errors = clean(partner_code="NEW-1", **changes)
    assert errors == []
    return {p.partner_code: reason for p, reason in partners.find_duplicates(session=session, values=values)}


def test_duplicates_by_trade_identifier(session, staff):
    factory = _add(session, mid="CNLUMEL1234SHE", duns="123456789")
    _add(session, partner_code="SEA-1", legal_name="Maersk A/S", entity_type="Sea Carrier", country_iso2="DE",
         scac="MAEU")
    assert _duplicates(session, legal_name="Another name", mid="cnlumel1234she") == {"CN-0001": "MID"}
    assert _duplicates(session, legal_name="Another name", duns="123 456 789") == {"CN-0001": "DUNS"}
    assert _duplicates(session, legal_name="Another carrier", entity_type="Sea Carrier", scac="maeu") == {
        "SEA-1": "SCAC"}
    assert _duplicates(session, mid="CNLUMEL1234SHE", duns="123456789") == {
        "CN-0001": "MID, DUNS, same name and country"}
    assert _duplicates(session, legal_name="Another name", mid="CNOTHER1SHE") == {}
    values, _ = clean(mid="CNLUMEL1234SHE")
    assert partners.find_duplicates(session=session, values=values, exclude_id=factory.id) == []


def test_duplicates_by_normalised_name_and_country(session, staff):
    _add(session, legal_name="Acme Electronics Co., Ltd.")
    assert _duplicates(session, legal_name="ACME ELECTRONICS LIMITED") == {"CN-0001": "same name and country"}
    assert _duplicates(session, legal_name="Acme  Electronics, Inc") == {"CN-0001": "same name and country"}
    assert _duplicates(session, legal_name="ACME ELECTRONICS LIMITED", country_iso2="VN") == {}
    assert _duplicates(session, legal_name="Acme Electronic Components") == {}


def test_normalize_name():
    assert normalize_name("Acme Electronics Co., Ltd.") == normalize_name("ACME ELECTRONICS LIMITED")
    assert normalize_name("Électronique Générale SARL") == normalize_name("ELECTRONIQUE GENERALE")
    # The Mexican legal form is written with dots as often as without.
    assert normalize_name("Grupo Saltillo, S.A. de C.V.") == normalize_name("GRUPO SALTILLO SA DE CV")
    assert normalize_name("Co., Ltd.") == "co ltd"  # a name of legal forms only is kept, not emptied


def test_normalize_name_of_chinese_names():
    name = "深圳市光明电子有限公司"
    assert normalize_name(name) == "深圳市光明电子"  # without its legal form, as "Co., Ltd." is removed
    assert normalize_name(" 深圳市 光明电子（有限公司）。") == normalize_name(name)
    assert normalize_name(name) != normalize_name("深圳市大华电子有限公司")
    # Latin and Chinese in one name: the Chinese part still tells two companies apart.
    assert normalize_name("Shenzhen 光明 Electronics") != normalize_name("Shenzhen 大华 Electronics")


def test_chinese_name_duplicate_found_in_the_same_country(session, staff):
    _add(session, legal_name="深圳市光明电子有限公司")
    assert _duplicates(session, legal_name="深圳市 光明电子 有限公司") == {"CN-0001": "same name and country"}
    assert _duplicates(session, legal_name="深圳市大华电子有限公司") == {}


ENTITY_CYCLE = ("Foreign Manufacturer", "Highway Carrier", "Sea Carrier", "Customs Broker")
COUNTRY_CYCLE = ("CN", "VN", "MX", "IN", "TR")
CRITICALITY_CYCLE = ("low", "medium", "high", "critical")


@pytest.fixture
def sixty(session, staff) -> list[Partner]:
    """60 partners with a known spread of type, country, criticality and status; every 10th is inactive."""
    made = []
    for i in range(60):
        made.append(partners.create_partner(session=session, actor=ANALYST, values={
            "partner_code": f"P{i:03d}", "legal_name": f"Partner {59 - i:02d} Trading",
            "entity_type": ENTITY_CYCLE[i % 4], "country_iso2": COUNTRY_CYCLE[i % 5],
            "criticality": CRITICALITY_CYCLE[i % 4],
            "status": "inactive" if i % 10 == 0 else "active", "city": "Monterrey" if i == 7 else "",
            "import_share": i / 2, "duns": f"{100000000 + i}",
        }))
    session.commit()
    return made


def test_search_filters_and_total(session, sixty):
    everything = partners.search_partners(session=session, page_size=100)
    assert everything.total == 60 and len(everything.rows) == 60
    assert list(everything.rows.columns) == partners.LIST_COLUMNS

    assert partners.search_partners(session=session, entity_types=["Sea Carrier"]).total == 15
    assert partners.search_partners(session=session, countries=["CN", "MX"]).total == 24
    assert partners.search_partners(session=session, statuses=["inactive"]).total == 6
    assert partners.search_partners(session=session, criticalities=["critical"]).total == 15
    both = partners.search_partners(session=session, entity_types=["Foreign Manufacturer"], countries=["CN"])
    assert both.total == 3  # i in {0, 20, 40}
    assert set(both.rows["partner_code"]) == {"P000", "P020", "P040"}
    inactive_high = partners.search_partners(session=session, statuses=["inactive"], criticalities=["high"])
    assert inactive_high.rows["partner_code"].tolist() == ["P010", "P030", "P050"]

    assert partners.search_partners(session=session, text="p01").total == 10
    assert partners.search_partners(session=session, text="PARTNER 05 trading").rows["partner_code"].tolist() == [
        "P054"]
    assert partners.search_partners(session=session, text="monterrey").rows["partner_code"].tolist() == ["P007"]
    assert partners.search_partners(session=session, text="100000042").rows["partner_code"].tolist() == ["P042"]
    assert partners.search_partners(session=session, text="no such partner").total == 0


def test_search_sorts_and_pages(session, sixty):
    pages = [partners.search_partners(session=session, page=n, page_size=25) for n in (1, 2, 3)]
    assert [p.total for p in pages] == [60, 60, 60]
    assert [len(p.rows) for p in pages] == [25, 25, 10]
    codes = [code for p in pages for code in p.rows["partner_code"]]
    assert codes == [f"P{i:03d}" for i in range(60)]
    assert partners.search_partners(session=session, page=4, page_size=25).rows.empty

    by_name = partners.search_partners(session=session, sort="legal_name", descending=True, page_size=3)
    assert by_name.rows["legal_name"].tolist() == ["Partner 59 Trading", "Partner 58 Trading", "Partner 57 Trading"]
    by_share = partners.search_partners(session=session, sort="import_share", descending=True, page_size=2)
    assert by_share.rows["import_share"].tolist() == [29.5, 29.0]
    unknown = partners.search_partners(session=session, sort="password; drop table partner", page_size=2)
    assert unknown.rows["partner_code"].tolist() == ["P000", "P001"]
