"""Company names compared without their legal forms (services.partners.identifiers): one list for the app and the
demo, names as partners write them in the countries an importer buys from."""

import unicodedata

import pytest
from alembic import command
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import text

from services.core import db
from services.partners.identifiers import LEGAL_FORM_PREFIXES, LEGAL_FORMS, name_words, normalize_name
from tests.test_db import new_database

SAME_COMPANY = [
    # China, Hong Kong, Taiwan
    ("Shenzhen Foo Electronics Co., Ltd.", "SHENZHEN FOO ELECTRONICS CO LTD", "shenzhen foo electronics"),
    ("Shenzhen Foo Electronics Co., Ltd.", "Shenzhen Foo Electronics Company Limited", "shenzhen foo electronics"),
    ("深圳市富电子有限公司", "深圳市 富电子 有限公司", "深圳市富电子"),
    ("深圳市富电子股份有限公司", "深圳市富电子（有限公司）", "深圳市富电子"),
    ("台灣光明電子股份有限公司", "台灣光明電子有限責任公司", "台灣光明電子"),
    ("Golden Dragon Industrial (H.K.) Limited", "GOLDEN DRAGON INDUSTRIAL (HK) LTD", "golden dragon industrial hk"),
    # Malaysia, Indonesia, Vietnam, Singapore, India, Thailand
    ("Hup Seng Furniture Sdn. Bhd.", "HUP SENG FURNITURE SDN BHD", "hup seng furniture"),
    ("Lian Huat Industries Berhad", "Lian Huat Industries Bhd", "lian huat industries"),
    ("PT Sinar Jaya Mebel", "PT. SINAR JAYA MEBEL", "sinar jaya mebel"),
    ("PT Sinar Jaya Mebel Tbk", "Sinar Jaya Mebel", "sinar jaya mebel"),
    ("Thanh Cong Garment Joint Stock Company", "Thanh Cong Garment JSC", "thanh cong garment"),
    ("Raffles Electronics Pte. Ltd.", "RAFFLES ELECTRONICS PTE LTD", "raffles electronics"),
    ("Shree Ganesh Handicrafts Pvt. Ltd.", "Shree Ganesh Handicrafts Private Limited", "shree ganesh handicrafts"),
    ("Siam Parawood Public Company Limited", "Siam Parawood Co., Ltd.", "siam parawood"),
    # Mexico and Latin America
    ("Transportes del Norte, S. de R.L. de C.V.", "TRANSPORTES DEL NORTE S DE RL DE CV", "transportes del norte"),
    ("Transportes del Norte, S. de R.L.", "Transportes del Norte SA de CV", "transportes del norte"),
    ("Grupo Saltillo, S.A.B. de C.V.", "Grupo Saltillo S. A. de C. V.", "grupo saltillo"),
    ("Muebles Finos S.A.P.I. de C.V.", "Muebles Finos, S.A.", "muebles finos"),
    ("Têxteis Paulista Ltda.", "TEXTEIS PAULISTA LTDA", "texteis paulista"),
    # Europe, Turkey, Japan
    ("Hanse Möbelwerke GmbH & Co. KG", "HANSE MOEBELWERKE GMBH", None),
    ("Hanse Möbelwerke GmbH & Co. KG", "Hanse Mobelwerke GmbH", "hanse mobelwerke"),
    ("Nordic Line A/S", "NORDIC LINE AS", "nordic line"),
    ("Anadolu Mobilya San. ve Tic. A.Ş.", "ANADOLU MOBILYA SAN VE TIC AS", "anadolu mobilya"),
    ("Fontana Arredamenti S.r.l.", "Fontana Arredamenti SRL", "fontana arredamenti"),
    ("Yamato Seiki Kabushiki Kaisha", "Yamato Seiki K.K.", "yamato seiki"),
    ("株式会社ヤマト精機", "ヤマト精機株式会社", "ヤマト精機"),
]


@pytest.mark.parametrize(("one", "other", "normalized"), SAME_COMPANY)
def test_the_same_company_written_two_ways_normalises_alike(one, other, normalized):
    if normalized is None:  # "ö" written "oe" is another spelling, not another form: not the same
        assert normalize_name(one) != normalize_name(other)
    else:
        assert normalize_name(one) == normalize_name(other) == normalized


@pytest.mark.parametrize(("one", "other"), [
    ("Shenzhen Foo Electronics Co., Ltd.", "Shenzhen Foo Technology Co., Ltd."),
    ("深圳市富电子有限公司", "深圳市大华电子有限公司"),
    ("Acme Trading Company", "Acme Trading Group"),
    ("SA Home Furnishings", "Home Furnishings"),  # "SA" at the start is part of the name, not a legal form
    ("Ltd Logistics Inc.", "Logistics Inc."),
    ("PT Sinar Jaya", "CV Sinar Jaya Makmur"),
])
def test_different_companies_stay_apart(one, other):
    assert normalize_name(one) != normalize_name(other)


@pytest.mark.parametrize("name", ["Co., Ltd.", "Limited", "PT", "S.A. de C.V.", "有限公司", "股份有限公司",
                                  "The Company", "GmbH & Co. KG", "-", ""])
def test_removing_legal_forms_never_empties_a_name(name):
    assert normalize_name(name) == " ".join(name_words(name)).replace("有限 公司", "有限公司")
    assert normalize_name(name) or not name_words(name)


def test_every_legal_form_is_removed_from_a_name():
    for form in LEGAL_FORMS:
        assert normalize_name(f"Bluecrest Woodworks {form}") == "bluecrest woodworks", form
        if form.isascii():
            assert normalize_name(f"Bluecrest Woodworks, {form.upper()}") == "bluecrest woodworks", form
        elif any(unicodedata.east_asian_width(c) == "W" for c in form):  # written without a space
            assert normalize_name(f"蓝峰木业{form}") == "蓝峰木业", form
    for form in LEGAL_FORM_PREFIXES:
        assert normalize_name(f"{form} Bluecrest Woodworks") == "bluecrest woodworks", form
    for required in ("Sdn. Bhd.", "S. de R.L.", "S. de R.L. de C.V.", "GmbH", "Ltda.", "Co., Ltd.", "有限公司",
                     "股份有限公司"):
        assert required in LEGAL_FORMS
    assert "PT" in LEGAL_FORM_PREFIXES


@given(st.text(max_size=40))
def test_any_text_normalises_to_a_stable_non_empty_name_when_it_has_words(text):
    normalized = normalize_name(text)
    assert bool(normalized) == bool(name_words(text))
    assert normalize_name(normalized) == normalized


def test_the_migration_renormalises_stored_names(tmp_path):
    """Names stored with the earlier normalisation (legal forms such as "有限公司" kept) are brought up to date."""
    with new_database(tmp_path) as engine:
        cfg = db.alembic_config(engine.url.render_as_string(hide_password=False))
        with engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "0001")
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO country (iso2, iso3, numeric, name, region) "
                              "VALUES ('CN', 'CHN', '156', 'China', '')"))
            for code, name, stored in (("CN1", "深圳市光明电子有限公司", "深圳市光明电子有限公司"),
                                       ("MY1", "Hup Seng Furniture Sdn. Bhd.", "hup seng furniture sdn bhd"),
                                       ("US1", "Acme Inc.", "acme")):
                conn.execute(text("INSERT INTO partner (partner_code, legal_name, normalized_name, entity_type, "
                                  "country_iso2, address, city, contact_name, contact_email, language, criticality, "
                                  "status, notes, created_at, updated_at) VALUES (:code, :name, :stored, "
                                  "'Foreign Manufacturer', 'CN', '', '', '', '', 'en', 'medium', 'active', '', "
                                  "CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"),
                             {"code": code, "name": name, "stored": stored})
        db.upgrade(engine)
        with engine.connect() as conn:
            stored = dict(conn.execute(text("SELECT partner_code, normalized_name FROM partner")).all())
        assert stored == {"CN1": "深圳市光明电子", "MY1": "hup seng furniture", "US1": "acme"}
