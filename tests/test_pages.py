"""Every page for every role through AppTest, and the widgets doing what they say (on a real test database)."""

import re
from datetime import date, timedelta

import pandas as pd
import pytest
from sqlmodel import Session, func, select

from models import AuditEvent, CompanyProfile, CriterionApplicability, MraProgram, Partner, User
from models.common import utcnow
from pages import partners as partners_page
from services.demo.generator import seed_demo
from services.partners import registry as partners
from services.reference import criteria
from services.reference.loader import CRITERIA_CAVEATS, MRA_CAVEAT
from tests.certificate_support import certify
from tests.conftest import ADMIN, ANALYST, add_user
from tests.test_criteria_service import restore_reference  # noqa: F401  (fixture)

TITLES = {"dashboard": "Dashboard", "partners": "Partners", "criteria": "Criteria", "admin": "Admin",
          "account": "My account"}
ROLES = ("admin", "analyst", "viewer")
WRITE_LABELS = {"Add partner", "Save", "Save changes", "Deactivate", "Reactivate", "Create anyway"}


def _add(session: Session, **values) -> Partner:
    partner = partners.create_partner(session=session, actor=ANALYST, values=values)
    session.flush()
    return partner


@pytest.fixture
def book(session, staff) -> dict[str, int]:
    """A small partner book: an agent with two factories behind it, a certified carrier and a broker."""
    agent = _add(session, partner_code="AG-VN-01", legal_name="Saigon Forwarding Agent Co",
                 entity_type="Third Party Logistics Provider", country_iso2="VN", city="Ho Chi Minh City")
    factory = _add(session, partner_code="VN-F01", legal_name="Mekong Furniture Factory",
                   entity_type="Foreign Manufacturer", country_iso2="VN", parent_id=agent.id, mid="VNMEKFUR123HCM")
    _add(session, partner_code="VN-F02", legal_name="Delta Lamps Factory", entity_type="Foreign Manufacturer",
         country_iso2="VN", parent_id=agent.id)
    carrier = _add(session, partner_code="SEA-01", legal_name="Maersk Line", entity_type="Sea Carrier",
                   country_iso2="DK", scac="MAEU", criticality="high")
    _add(session, partner_code="BRK-01", legal_name="Laredo Customs Brokers", entity_type="Customs Broker",
         country_iso2="US", broker_license="12345")
    eu = session.exec(select(MraProgram).where(MraProgram.partner_country == "European Union")).one()
    assert "DK" in eu.country_codes.split()
    certify(session, carrier.id, program="AEO", country="DK", number="DKAEOF000123", kind="AEO-F",
            valid_to=date.today() + timedelta(days=300))
    session.commit()
    return {"agent": agent.id, "factory": factory.id, "carrier": carrier.id}


def _fresh(session: Session, model, **where):
    session.expire_all()
    stmt = select(model)
    for field, value in where.items():
        stmt = stmt.where(getattr(model, field) == value)
    return session.exec(stmt).first()


def _frame(at, column: str) -> pd.DataFrame:
    """The table that has this column (plain tables have no key in AppTest)."""
    return next(df.value for df in at.dataframe if column in df.value.columns)


def _table(at, prefix: str) -> pd.DataFrame:
    return next(df for df in at.dataframe if (df.key or "").startswith(prefix)).value


def _button(at, label: str):
    return next(b for b in at.button if b.label == label)


def _read(markdown: str) -> str:
    """Markdown as a user reads it: typed text reaches the page escaped (ui.text.plain)."""
    return re.sub(r"\\(.)", r"\1", markdown)


def _texts(elements) -> str:
    return _read("\n".join(str(e.value) for e in elements))


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("page_name", list(TITLES))
def test_every_page_renders_for_every_role(page_app, book, page_name, role):
    at = page_app(page_name, role=role).run()
    assert not at.exception
    if page_name == "admin" and role != "admin":
        assert [e.value for e in at.error] == ["Your role does not give access to this page."]
        assert not at.title and not at.dataframe and not at.button and not at.tabs
    else:
        assert [t.value for t in at.title] == [TITLES[page_name]]


@pytest.mark.parametrize("page_name", list(TITLES))
def test_a_page_shows_nothing_without_login(page_app, page_name):
    at = page_app(page_name, role=None).run()
    assert not at.exception
    assert not at.main.children and not at.sidebar.children


def test_pages_on_demo_data(page_app, session):
    seed_demo(session=session, partners=120)
    session.commit()
    for page in TITLES:
        at = page_app(page, role="admin").run()
        assert not at.exception and [t.value for t in at.title] == [TITLES[page]]
    factory = session.exec(select(Partner).where(Partner.parent_id.is_not(None))).first()
    agent = session.get(Partner, factory.parent_id)
    at = page_app("partners", role="viewer").run()
    assert f"{session.exec(select(func.count()).select_from(Partner)).one()} partners match" in _texts(at.caption)
    at.text_input(key="partner_search").input(factory.partner_code).run()
    assert _table(at, "partner_table_")["partner_code"].tolist() == [factory.partner_code]
    at = _open_partner(at, factory.id)
    assert f"**Works through:** {agent.partner_code} · {agent.legal_name}" in _texts(at.markdown)


def _open_partner(at, partner_id: int, tab: str = "Details"):
    at.session_state[partners_page.FOCUS] = partner_id
    at.session_state["partner_tab"] = tab
    return at.run()


@pytest.mark.parametrize("tab", ["Details", "Sites & contacts", "Roles", "Certificates", "Risk", "Actions", "History"])
def test_viewer_reads_partners_without_any_write_control(page_app, book, tab):
    at = page_app("partners", role="viewer").run()
    assert len(_table(at, "partner_table_")) == 5
    at = _open_partner(at, book["carrier"], tab)
    assert not at.exception
    assert _read(at.subheader[0].value) == "SEA-01 · Maersk Line"
    assert [t.label for t in at.tabs] == ["Details", "Sites & contacts", "Roles", "Certificates", "Risk", "Actions",
                                          "History"]
    assert not WRITE_LABELS & {b.label for b in at.button}
    assert not at.get("form") and "Add partner" not in {e.label for e in at.expander}


def test_writers_get_the_add_and_edit_controls(page_app, book):
    at = page_app("partners", role="analyst").run()
    assert [e.label for e in at.expander] == ["Add partner"]
    at = _open_partner(at, book["carrier"])
    assert {"Deactivate", "Close"} <= {b.label for b in at.button}
    assert [t.label for t in at.tabs] == ["Details", "Sites & contacts", "Roles", "Certificates", "Risk", "Actions",
                                          "History", "Edit", "Merge"]


def test_viewer_and_analyst_cannot_correct_criteria(page_app, book):
    for role in ("viewer", "analyst"):
        at = page_app("criteria", role=role)
        at.session_state["criteria_pick"] = "4.10"
        at.run()
        assert at.markdown and "4.10 · Cybersecurity" in _texts(at.markdown)
        assert not at.get("form") and "Save" not in {b.label for b in at.button}


def test_search_and_filters_narrow_the_partner_list(page_app, book):
    at = page_app("partners", role="viewer").run()
    at.text_input(key="partner_search").input("factory").run()
    assert sorted(_table(at, "partner_table_")["partner_code"]) == ["VN-F01", "VN-F02"]
    assert "2 partners match · page 1 of 1" in _texts(at.caption)
    at.text_input(key="partner_search").input("maeu").run()  # identifiers are searched too
    assert _table(at, "partner_table_")["partner_code"].tolist() == ["SEA-01"]
    at.text_input(key="partner_search").input("").run()
    at.multiselect(key="partner_f_type").select("Foreign Manufacturer").run()
    at.multiselect(key="partner_f_country").select("VN").run()
    assert sorted(_table(at, "partner_table_")["partner_code"]) == ["VN-F01", "VN-F02"]
    at.multiselect(key="partner_f_type").unselect("Foreign Manufacturer").run()
    at.selectbox(key="partner_sort").select("legal_name").run()
    at.toggle(key="partner_desc").set_value(True).run()
    assert _table(at, "partner_table_")["legal_name"].tolist() == [
        "Saigon Forwarding Agent Co", "Mekong Furniture Factory", "Delta Lamps Factory"]


def test_paging_goes_through_the_whole_list(page_app, session, staff):
    for i in range(30):
        session.add(Partner(partner_code=f"P{i:03d}", legal_name=f"Supplier {i}", normalized_name=f"supplier {i}",
                            entity_type="Foreign Manufacturer", country_iso2="CN"))
    session.commit()
    at = page_app("partners", role="viewer").run()
    at.selectbox(key="partner_size").select(25).run()
    assert len(_table(at, "partner_table_")) == 25
    at.number_input(key="partner_page").set_value(2).run()
    assert _table(at, "partner_table_")["partner_code"].tolist() == [f"P{i:03d}" for i in range(25, 30)]
    assert "30 partners match · page 2 of 2" in _texts(at.caption)
    at.text_input(key="partner_search").input("Supplier 1").run()  # a new search starts at page 1
    assert at.number_input(key="partner_page").value == 1


def test_selecting_a_row_opens_the_partner_with_parent_children_certificates_and_history(page_app, book):
    at = page_app("partners", role="viewer").run()
    table = next(df for df in at.dataframe if (df.key or "").startswith("partner_table_"))
    row = table.value["partner_code"].tolist().index("AG-VN-01")
    at.session_state[table.key] = {"selection": {"rows": [row], "columns": [], "cells": []}}
    at.run()
    assert _read(at.subheader[0].value) == "AG-VN-01 · Saigon Forwarding Agent Co"
    kids = next(df.value for df in at.dataframe if not df.key and "legal_name" in df.value.columns)
    assert sorted(kids["partner_code"]) == ["VN-F01", "VN-F02"]

    at = _open_partner(at, book["factory"])
    assert "**Works through:** AG-VN-01 · Saigon Forwarding Agent Co" in _texts(at.markdown)
    identifiers = _frame(at, "identifier")
    assert identifiers.set_index("identifier").loc["MID", "value"] == "VNMEKFUR123HCM"

    at = _open_partner(at, book["carrier"], "Certificates")
    certs = _frame(at, "certificate_number")
    assert certs[["program", "certificate_number", "counts"]].values.tolist() == [["AEO", "DKAEOF000123", True]]

    at = _open_partner(at, book["carrier"], "History")
    history = _frame(at, "changes")
    assert history["action"].tolist() == ["create"] and history["user"].tolist() == ["luis"]


def _fill_new_partner(at, **values):
    for field, value in values.items():
        widget = at.selectbox(key=f"add_{field}") if field in {"country", "type"} else at.text_input(key=f"add_{field}")
        widget.set_value(value)
    return _button(at, "Add partner").click().run()


def test_adding_a_partner_through_the_form_creates_it(page_app, book, session):
    at = page_app("partners", role="analyst")
    at.session_state["partner_add"] = True
    at.run()
    at = _fill_new_partner(at, code="mx-hc-01", name="Transportes del Norte SA de CV", type="Highway Carrier",
                           country="MX", scac="tdnx", email="ops@tdn.example")
    assert not at.exception and not at.error
    created = _fresh(session, Partner, partner_code="MX-HC-01")
    assert (created.legal_name, created.entity_type, created.country_iso2, created.scac, created.contact_email) == (
        "Transportes del Norte SA de CV", "Highway Carrier", "MX", "TDNX", "ops@tdn.example")
    assert "Added partner MX-HC-01." in _texts(at.success)
    assert _read(at.subheader[0].value) == "MX-HC-01 · Transportes del Norte SA de CV"  # the new partner is opened
    assert not at.get("form")  # and the add form closed
    assert _fresh(session, AuditEvent, entity="partner", entity_id="MX-HC-01").username == "luis"


def test_adding_a_partner_shows_every_validation_problem(page_app, book, session):
    at = page_app("partners", role="analyst")
    at.session_state["partner_add"] = True
    at.run()
    at = _fill_new_partner(at, code="CN-BAD", name="Bad MID Factory", type="Foreign Manufacturer", country="CN",
                           mid="VN123", email="not-an-email")
    errors = _texts(at.error)
    assert "must start with the partner's country code CN" in errors and "is not an email address" in errors
    assert _fresh(session, Partner, partner_code="CN-BAD") is None


def test_a_likely_duplicate_needs_create_anyway(page_app, book, session):
    at = page_app("partners", role="analyst")
    at.session_state["partner_add"] = True
    at.run()
    at = _fill_new_partner(at, code="SEA-02", name="MAERSK LINE LIMITED", type="Sea Carrier", country="DK")
    assert "look like the same company" in _texts(at.warning)
    duplicates = _frame(at, "reason")
    assert duplicates["partner_code"].tolist() == ["SEA-01"]
    assert _fresh(session, Partner, partner_code="SEA-02") is None
    at = _button(at, "Create anyway").click().run()
    assert _fresh(session, Partner, partner_code="SEA-02").legal_name == "MAERSK LINE LIMITED"
    assert "Added partner SEA-02." in _texts(at.success)


def test_editing_a_partner_changes_it_and_shows_in_its_history(page_app, book, session):
    at = _open_partner(page_app("partners", role="analyst").run(), book["factory"], "Edit")
    prefix = f"edit{book['factory']}"
    assert at.text_input(key=f"{prefix}_mid").value == "VNMEKFUR123HCM"
    at.text_input(key=f"{prefix}_city").set_value("Da Nang")
    at.selectbox(key=f"{prefix}_crit").set_value("critical")
    at.selectbox(key=f"{prefix}_parent").set_value(book["carrier"])
    at = _button(at, "Save changes").click().run()
    assert not at.error
    factory = _fresh(session, Partner, id=book["factory"])
    assert (factory.city, factory.criticality, factory.parent_id) == ("Da Nang", "critical", book["carrier"])
    at.session_state["partner_tab"] = "History"
    history = _frame(at.run(), "changes")
    assert "City: – → Da Nang" in history["changes"].iloc[0]


def test_deactivate_then_reactivate(page_app, book, session):
    at = _open_partner(page_app("partners", role="analyst").run(), book["carrier"])
    at = _button(at, "Deactivate").click().run()
    assert _fresh(session, Partner, id=book["carrier"]).status == "inactive"
    assert "Deactivated partner SEA-01." in _texts(at.success)
    at = _button(at, "Reactivate").click().run()
    assert _fresh(session, Partner, id=book["carrier"]).status == "active"


def test_partner_csv_holds_every_match_with_all_fields(book, database_url, monkeypatch):
    monkeypatch.setenv("CTPAT_DATABASE_URL", database_url)
    monkeypatch.setenv("CTPAT_DEMO", "0")
    raw = partners_page.export_csv({"text": "", "entity_types": [], "countries": ["VN"], "statuses": [],
                                    "criticalities": [], "sort": "partner_code", "descending": False})
    assert raw.startswith(b"\xef\xbb\xbf")  # BOM: Excel opens it as UTF-8
    frame = pd.read_csv(pd.io.common.BytesIO(raw), encoding="utf-8-sig", dtype=str, keep_default_na=False)
    assert frame["partner_code"].tolist() == ["AG-VN-01", "VN-F01", "VN-F02"]
    assert frame.set_index("partner_code").loc["VN-F01", ["mid", "parent_code"]].tolist() == [
        "VNMEKFUR123HCM", "AG-VN-01"]


def test_criteria_page_shows_the_caveats_and_groups_by_category(page_app, book):
    at = page_app("criteria", role="viewer").run()
    warning = _texts(at.warning)
    assert all(caveat in warning for caveat in CRITERIA_CAVEATS)
    assert [s.value for s in at.subheader] == ["Corporate Security", "Transportation Security",
                                                "People and Physical Security"]
    cyber = _table(at, "criteria_table_4_")["criterion_id"].tolist()
    assert cyber.index("4.10") == cyber.index("4.9") + 1


def test_criteria_filters_show_the_questionnaire_set(page_app, book, session):
    at = page_app("criteria", role="viewer").run()
    at.selectbox(key="criteria_entity").select("Customs Broker").run()
    expected = criteria.criteria_for_entity_type(session=session, entity_type="Customs Broker")
    assert at.metric[0].value == str(len(expected))
    shown = pd.concat([df.value for df in at.dataframe if (df.key or "").startswith("criteria_table_")])
    assert set(shown["criterion_id"]) == set(expected["criterion_id"])
    # Brokers handle no conveyances or seals; reporting a threat to a shipment (5.29) is theirs.
    assert set(shown.loc[shown["criterion_id"].str.startswith(("5.", "6.")), "criterion_id"]) == {"5.29"}
    assert {"applies", "basis", "condition"} <= set(shown.columns)
    at.multiselect(key="criteria_requirement").select("should").run()
    assert at.metric[1].value == "0" and at.metric[2].value == at.metric[0].value
    at.multiselect(key="criteria_requirement").unselect("should").run()
    at.text_input(key="criteria_search").input("4.1").run()
    shown = [df.value for df in at.dataframe if (df.key or "").startswith("criteria_table_")]
    assert [ids for df in shown for ids in df["criterion_id"]] == ["4.1"]  # not 4.10 or 4.11


def test_clicking_a_criterion_shows_its_questions_and_applicability(page_app, book):
    at = page_app("criteria", role="viewer").run()
    table = next(df for df in at.dataframe if (df.key or "").startswith("criteria_table_4_"))
    at.session_state[table.key] = {"selection": {"rows": [table.value["criterion_id"].tolist().index("4.10")],
                                                 "columns": [], "cells": []}}
    at.run()
    text = _texts(at.markdown)
    assert "4.10 · Cybersecurity" in text and "*Español*" in text and "*简体中文*" in text
    applies = _frame(at, "basis")
    assert len(applies) == 12 and set(applies["basis"]) <= {"CBP source", "role rule"}
    assert "condition" in applies.columns


@pytest.mark.usefixtures("restore_reference")
def test_admin_overrides_an_applicability_row(page_app, book, session):
    at = page_app("criteria", role="admin")
    at.session_state["criteria_pick"] = "5.1"
    at.run()
    at.selectbox(key="criteria_override_type_5.1").select("Customs Broker").run()
    at.radio[0].set_value("yes")
    at.text_area[0].set_value("Broker runs its own trucks")
    at = _button(at, "Save").click().run()
    row = _fresh(session, CriterionApplicability, criterion_id="5.1", entity_type="Customs Broker")
    assert (row.applies, row.basis, row.note) == ("yes", "admin override", "Broker runs its own trucks")
    assert _fresh(session, AuditEvent, entity="criterion", entity_id="5.1").username == "admin"
    at.session_state["criteria_tab"] = "Applicability matrix"
    matrix = _frame(at.run(), "Customs Broker")
    assert matrix.loc["5.1", "Customs Broker"] == "yes†"


def _admin_tab(page_app, tab: str):
    at = page_app("admin", role="admin")
    at.session_state["admin_tab"] = tab
    return at.run()


def test_admin_creates_a_user_who_must_change_the_password(page_app, session):
    at = _admin_tab(page_app, "Users")
    at.text_input[0].set_value("dana")
    at.text_input[1].set_value("Dana Miller")
    at.text_input[3].set_value("a long initial password")
    at = _button(at, "Create user").click().run()
    assert "Created user dana (analyst)." in _texts(at.success)
    dana = _fresh(session, User, username="dana")
    assert (dana.role, dana.must_change_password) == ("analyst", True)
    assert "dana" in _frame(at, "must_change_password")["username"].tolist()


def test_admin_changes_a_role_and_deactivates_a_user(page_app, session):
    at = _admin_tab(page_app, "Users")
    at.selectbox(key="admin_user_pick").select("vp").run()
    next(s for s in at.selectbox if s.label == "Role" and s.value == "viewer").set_value("analyst")
    at = _button(at, "Change role").click().run()
    assert _fresh(session, User, username="vp").role == "analyst"
    at = _button(at, "Deactivate").click().run()
    assert _fresh(session, User, username="vp").is_active is False


def test_users_table_shows_who_is_locked(page_app, session):
    add_user(session, "chen", "viewer", locked_until=utcnow() + timedelta(minutes=10), failed_login_attempts=5)
    table = _frame(_admin_tab(page_app, "Users"), "must_change_password").set_index("username")
    assert table.loc["chen", "locked"] and not table.loc["luis", "locked"]


def test_reset_password_is_shown_once(page_app, session):
    at = _admin_tab(page_app, "Users")
    at.selectbox(key="admin_user_pick").select("luis").run()
    at = _button(at, "Reset password").click().run()
    password = at.code[0].value
    assert len(password) >= 12 and _fresh(session, User, username="luis").must_change_password
    assert not at.run().code


def test_admin_saves_the_company_profile_and_sees_its_key_dates(page_app, session):
    at = _admin_tab(page_app, "Company profile")
    at.text_input[0].set_value("Northwind Home & Electronics, Inc.")
    next(s for s in at.selectbox if s.label == "Tier").set_value("Tier II")
    next(d for d in at.date_input if d.label == "Last validation date").set_value(date(2023, 6, 1))
    at = _button(at, "Save profile").click().run()
    profile = _fresh(session, CompanyProfile)
    assert (profile.legal_name, profile.tier, profile.last_validation_date) == (
        "Northwind Home & Electronics, Inc.", "Tier II", date(2023, 6, 1))
    assert next(m for m in at.metric if m.label == "Revalidation due").value == "2027-06-01"


@pytest.mark.usefixtures("restore_reference")
def test_admin_adds_and_corrects_an_mra_program(page_app, session):
    at = _admin_tab(page_app, "MRA programs")
    assert MRA_CAVEAT in _texts(at.warning)
    fields = {t.label: t for t in at.text_input}
    fields["Partner country or union"].set_value("Australia")
    fields["Program name"].set_value("Australian Trusted Trader")
    fields["Acronym"].set_value("ATT")
    fields["Signed (YYYY-MM)"].set_value("2025-13")
    at = _button(at, "Save program").click().run()
    assert "is not a year and month" in _texts(at.error)
    next(t for t in at.text_input if t.label == "Signed (YYYY-MM)").set_value("2025-03")
    next(t for t in at.text_input if t.label == "Countries covered").set_value("au")
    at = _button(at, "Save program").click().run()
    program = _fresh(session, MraProgram, acronym="ATT")
    assert (program.partner_country, program.signed, program.country_codes) == ("Australia", "2025-03", "AU")
    assert _fresh(session, AuditEvent, entity="mra program").after["acronym"] == "ATT"


def test_audit_filters_narrow_the_log(page_app, book, session):
    partners.set_status(session=session, actor=ADMIN, partner_id=book["carrier"], status="inactive")
    session.commit()
    at = _admin_tab(page_app, "Audit log")
    everything = _frame(at, "changes")
    assert len(everything) == 6 and set(everything["user"]) == {"luis", "admin"}
    at.selectbox(key="admin_audit_user").select("admin").run()
    only_admin = _frame(at, "changes")
    assert only_admin["summary"].tolist() == ["Edited partner SEA-01"]
    assert only_admin["changes"].tolist() == ["Status: active → inactive"]

    at = _admin_tab(page_app, "Audit log")
    at.text_input(key="admin_audit_text").input("VN-F0").run()
    assert sorted(_frame(at, "changes")["id"]) == ["VN-F01", "VN-F02"]
    at.date_input(key="admin_audit_until").set_value(date.today() - timedelta(days=1)).run()
    assert _frame(at, "changes").empty


def test_merge_tab_merges_a_duplicate_into_the_partner(page_app, book, session):
    duplicate = _add(session, partner_code="SEA-99", legal_name="Maersk Line A/S", entity_type="Sea Carrier",
                     country_iso2="DK", duns="123456789")
    session.commit()
    at = _open_partner(page_app("partners", role="analyst").run(), book["carrier"], "Merge")
    at.selectbox[-1].set_value(duplicate.id)
    at.checkbox[-1].check()
    at.button[-1].click().run()
    assert not at.exception and not at.error
    session.expire_all()
    assert session.get(Partner, duplicate.id).status == "inactive"
    assert session.get(Partner, book["carrier"]).duns == "123456789"
