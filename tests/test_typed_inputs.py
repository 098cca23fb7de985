"""Typed service inputs: PartnerIn (the partner form, create/update, file imports) and the company's ProfileIn."""

import pytest
from sqlmodel import select

from models import CompanyProfile, Partner
from models.partner import PartnerIn
from services.company import profile as company
from services.core.permissions import ValidationError
from services.partners import registry as partners
from tests.conftest import ADMIN, ANALYST

FACTORY = {"partner_code": "cn-0001", "legal_name": "Shenzhen Lumen Electronics Co., Ltd.",
           "entity_type": "Foreign Manufacturer", "country_iso2": "CN"}


def test_partner_in_limits_are_the_partner_table_columns():
    for field in PartnerIn.model_fields:
        if PartnerIn.max_chars(field) is not None:
            assert PartnerIn.max_chars(field) == Partner.__table__.c[field].type.length, field
    assert {f for f in PartnerIn.model_fields if PartnerIn.max_chars(f)} == {
        "partner_code", "legal_name", "address", "city", "contact_name", "contact_email", "notes"}
    assert set(PartnerIn.model_fields) == set(partners.EDITABLE_FIELDS)
    assert PartnerIn.bounds("latitude") == (-90, 90) and PartnerIn.bounds("import_share") == (0, 100)


def test_create_and_update_take_a_partner_in(session, staff):
    typed = PartnerIn.model_validate({**FACTORY, "city": " Shenzhen ", "import_share": "7.5"})
    assert (typed.partner_code, typed.city, typed.import_share) == ("CN-0001", "Shenzhen", 7.5)
    created = partners.create_partner(session=session, actor=ANALYST, values=typed)
    session.commit()
    assert (created.partner_code, created.normalized_name) == ("CN-0001", "shenzhen lumen electronics")

    edited = typed.model_copy(update={"city": "Dongguan", "criticality": "high"})
    partners.update_partner(session=session, actor=ANALYST, partner_id=created.id, values=edited)
    session.commit()
    stored = session.exec(select(Partner).where(Partner.id == created.id)).one()
    assert (stored.city, stored.criticality, stored.import_share) == ("Dongguan", "high", 7.5)


def test_without_the_register_a_country_only_has_to_be_two_letters(session, staff):
    # Built without the country list (e.g. by a form before it reaches the service) ...
    typed = PartnerIn.model_validate({**FACTORY, "country_iso2": "xx"})
    assert typed.country_iso2 == "XX"
    # ... the service still checks the country against the register.
    with pytest.raises(ValidationError, match="country_iso2: 'XX' is not an ISO 3166 alpha-2 country code"):
        partners.create_partner(session=session, actor=ANALYST, values=typed)
    assert PartnerIn.problems(_refused({**FACTORY, "country_iso2": "China"})) == [
        "country_iso2: 'CHINA' is not an ISO 3166 alpha-2 country code"]


def _refused(values: dict):
    import pydantic

    with pytest.raises(pydantic.ValidationError) as refused:
        PartnerIn.model_validate(values)
    return refused.value


@pytest.mark.parametrize(("changes", "message"), [
    ({"latitude": "nan"}, "latitude: 'nan' is not a number"),
    ({"import_share": "inf"}, "import_share: 'inf' is not a number"),
    ({"parent_id": "the agent"}, "parent_id: 'the agent' is not a partner id"),
    ({"notes": "x" * 2001}, "notes: longer than 2000 characters"),
    ({"entity_type": None}, "entity_type: '' is not a CTPAT entity type"),
])
def test_every_message_names_its_field(changes, message):
    assert PartnerIn.problems(_refused({**FACTORY, **changes})) == [message]


def test_import_row_check_keeps_the_values_it_could_read():
    values, errors = partners.clean_partner_values({**FACTORY, "duns": "12", "city": float("nan")},
                                                   country_codes={"CN"})
    assert errors == ["duns: DUNS '12' is not valid: D-U-N-S number: 9 digits"]
    assert (values["partner_code"], values["city"], values["duns"]) == ("CN-0001", "", "12")
    assert values["normalized_name"] == "shenzhen lumen electronics"


PROFILE = {"legal_name": "Northwind Home & Electronics, Inc.", "tier": "Tier II"}


@pytest.mark.parametrize(("changes", "message"), [
    ({"ior_number": "1" * 21}, "IOR number: longer than 20 characters."),
    ({"primary_contact_email": "dana at northwind"}, "Primary contact email: 'dana at northwind' is not an email "
                                                     "address."),
    ({"certification_date": "last spring"}, "Certification date: 'last spring' is not a date."),
    ({"legal_name": None, "tier": "Tier 9"}, "Legal name is required.; Tier must be one of: Not certified, Tier I, "
                                             "Tier II, Tier III."),
])
def test_profile_in_names_each_field_at_fault(session, staff, changes, message):
    with pytest.raises(ValidationError) as refused:
        company.save_profile(session=session, actor=ADMIN, values={**PROFILE, **changes})
    assert str(refused.value) == message
    session.rollback()
    assert session.exec(select(CompanyProfile)).first() is None


def test_profile_in_is_trimmed_and_accepted_typed(session, staff):
    typed = company.profile_input({**PROFILE, "primary_contact": "  Dana Miller ", "ior_number": None})
    saved = company.save_profile(session=session, actor=ADMIN, values=typed)
    session.commit()
    assert (saved.primary_contact, saved.ior_number, saved.entity_type) == ("Dana Miller", "", "Importer")
