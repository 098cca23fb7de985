"""The partner page's "Sites & contacts" tab for every role (AppTest): viewers read, writers add and change sites and
contacts through the services, refused input shows its message and writes nothing."""

import re

import pytest
from sqlmodel import select

from models import AuditEvent, Partner, PartnerContact, PartnerSite
from pages import partners as partners_page
from services.partners import contacts, registry, sites
from tests.conftest import ANALYST

TAB = "Sites & contacts"
SITE_PICKER, CONTACT_PICKER = "Add or change a site", "Add or change a contact"


@pytest.fixture
def factory(session, staff) -> int:
    """A Mexican factory with its primary site and contact (from the record) and a second plant."""
    made = registry.create_partner(session=session, actor=ANALYST, values={
        "partner_code": "MX-F1", "legal_name": "Muebles del Norte S.A. de C.V.", "entity_type": "Foreign Manufacturer",
        "country_iso2": "MX", "city": "Monterrey", "address": "Av. Constitución 100", "mid": "MXMUEDEL100MON",
        "contact_name": "Rosa Garza", "contact_email": "rosa@norte.example", "language": "es"})
    session.flush()
    sites.create_site(session=session, actor=ANALYST, partner_id=made.id,
                      values={"name": "Plant 2", "city": "Apodaca", "region_code": "MX-NLE"})
    session.commit()
    return made.id


def _open(page_app, role: str, partner_id: int):
    at = page_app("partners", role=role).run()
    at.session_state[partners_page.FOCUS] = partner_id
    at.session_state["partner_tab"] = TAB
    return at.run()


def _frame(at, column: str):
    return next(df.value for df in at.dataframe if column in df.value.columns)


def _widget(widgets, label: str):
    return next(w for w in widgets if w.label == label)


def _read(markdown: str) -> str:
    """Markdown as a user reads it: typed text reaches the page escaped (ui.text.plain)."""
    return re.sub(r"\\(.)", r"\1", markdown)


def _submit(at, label: str):
    return next(b for b in at.button if b.label == label).click().run()


@pytest.mark.parametrize("role", ["admin", "analyst", "viewer"])
def test_every_role_reads_the_sites_and_contacts(page_app, factory, role):
    at = _open(page_app, role, factory)
    assert not at.exception and not at.error
    assert TAB in [t.label for t in at.tabs]
    assert _frame(at, "activities")["name"].tolist() == ["Monterrey", "Plant 2"]
    assert _frame(at, "activities")["region"].tolist()[1] == "Nuevo León"
    assert _frame(at, "phone")["email"].tolist() == ["rosa@norte.example"]
    pickers = {s.label for s in at.selectbox}
    if role == "viewer":
        assert not {SITE_PICKER, CONTACT_PICKER} & pickers
        assert not at.get("form") and not [b for b in at.button if "site" in b.label or "contact" in b.label]
    else:
        assert {SITE_PICKER, CONTACT_PICKER} <= pickers


def test_a_writer_adds_a_site_and_retires_another(page_app, factory, session):
    at = _open(page_app, "analyst", factory)
    _widget(at.selectbox, SITE_PICKER).set_value(-1).run()
    _widget(at.text_input, "Site name").input("Plant 3")
    _widget(at.text_input, "City").input("Saltillo")
    _widget(at.text_input, "MID (manufacturer identification code)").input("mxmuedel77sal")
    _widget(at.selectbox, "Region").set_value("MX-COA")
    _widget(at.multiselect, "Activities").set_value(["manufacturing", "stuffing"])
    at = _submit(at, "Add site")
    assert not at.exception and not at.error
    assert "Added site Plant 3 to MX-F1." in [_read(s.value) for s in at.success]
    session.expire_all()
    added = session.exec(select(PartnerSite).where(PartnerSite.name == "Plant 3")).one()
    assert (added.partner_id, added.city, added.region_code, added.mid, added.activities, added.is_primary) == (
        factory, "Saltillo", "MX-COA", "MXMUEDEL77SAL", "manufacturing,stuffing", False)
    assert session.exec(select(AuditEvent).where(AuditEvent.entity == "site", AuditEvent.action == "create",
                                                 AuditEvent.summary.contains("Plant 3"))).one()

    plant = session.exec(select(PartnerSite).where(PartnerSite.name == "Plant 2")).one()
    _widget(at.selectbox, SITE_PICKER).set_value(plant.id).run()
    _widget(at.radio, "Status").set_value("inactive")
    at = _submit(at, "Save site")
    assert not at.exception and not at.error
    session.expire_all()
    assert session.get(PartnerSite, plant.id).status == "inactive"
    assert "inactive" in _frame(at, "activities")["status"].tolist()
    at.session_state["partner_tab"] = "History"
    history = _frame(at.run(), "changes")
    assert history["summary"].tolist()[:2] == ["Changed site 'Plant 2' of partner MX-F1",
                                               "Added site 'Plant 3' to partner MX-F1"]
    assert "Status: active → inactive" in history["changes"].iloc[0]


def test_making_another_site_primary_moves_the_main_address(page_app, factory, session):
    plant = session.exec(select(PartnerSite).where(PartnerSite.name == "Plant 2")).one()
    at = _open(page_app, "analyst", factory)
    _widget(at.selectbox, SITE_PICKER).set_value(plant.id).run()
    _widget(at.text_input, "Address").input("Calle Industrial 5")
    _widget(at.checkbox, "Primary site (the partner's main address)").check()
    at = _submit(at, "Save site")
    assert not at.exception and not at.error
    session.expire_all()
    assert sites.primary_site(session=session, partner_id=factory).id == plant.id
    record = session.get(Partner, factory)
    assert (record.city, record.address) == ("Apodaca", "Calle Industrial 5")


def test_refused_site_input_shows_why_and_writes_nothing(page_app, factory, session):
    at = _open(page_app, "analyst", factory)
    _widget(at.selectbox, SITE_PICKER).set_value(-1).run()
    _widget(at.text_input, "Site name").input("Plant 9")
    _widget(at.text_input, "MID (manufacturer identification code)").input("not a mid")
    at = _submit(at, "Add site")
    assert not at.exception and [e.value for e in at.error][0].startswith("mid")
    session.expire_all()
    assert session.exec(select(PartnerSite).where(PartnerSite.name == "Plant 9")).first() is None

    primary = sites.primary_site(session=session, partner_id=factory)
    _widget(at.selectbox, SITE_PICKER).set_value(primary.id).run()
    assert _widget(at.radio, "Status").disabled  # the primary site stays active


def test_a_writer_adds_a_contact_makes_it_primary_and_removes_the_old_one(page_app, factory, session):
    at = _open(page_app, "analyst", factory)
    _widget(at.selectbox, CONTACT_PICKER).set_value(-1).run()
    _widget(at.text_input, "Name").input("Ana Ruiz")
    _widget(at.text_input, "Role").input("Security manager")
    _widget(at.text_input, "Email").input("ana@norte.example")
    _widget(at.checkbox, "Primary contact (receives the questionnaires)").check()
    at = _submit(at, "Add contact")
    assert not at.exception and not at.error
    session.expire_all()
    assert contacts.primary_contact(session=session, partner_id=factory).email == "ana@norte.example"
    record = session.get(Partner, factory)
    assert (record.contact_name, record.contact_email, record.language) == ("Ana Ruiz", "ana@norte.example", "es")

    rosa = session.exec(select(PartnerContact).where(PartnerContact.name == "Rosa Garza")).one()
    _widget(at.selectbox, CONTACT_PICKER).set_value(rosa.id).run()
    at = _submit(at, "Remove contact")
    assert not at.exception and not at.error
    session.expire_all()
    assert session.exec(select(PartnerContact.name).where(PartnerContact.partner_id == factory)).all() == ["Ana Ruiz"]
    assert _frame(at, "phone")["name"].tolist() == ["Ana Ruiz"]


def test_the_primary_contact_cannot_be_removed_while_others_exist(page_app, factory, session):
    contacts.create_contact(session=session, actor=ANALYST, partner_id=factory,
                            values={"name": "Luis Peña", "email": "luis@norte.example"})
    session.commit()
    rosa = contacts.primary_contact(session=session, partner_id=factory)
    at = _open(page_app, "analyst", factory)
    _widget(at.selectbox, CONTACT_PICKER).set_value(rosa.id).run()
    at = _submit(at, "Remove contact")
    assert [_read(e.value) for e in at.error] == [
        "The primary contact cannot be removed while others exist: make another one primary."]
    session.expire_all()
    assert contacts.primary_contact(session=session, partner_id=factory).id == rosa.id


def test_a_writer_sets_the_internal_owner_and_a_viewer_reads_it(page_app, factory, session):
    at = _open(page_app, "viewer", factory)
    assert any("None: escalations and warnings go to the admins" in m.value for m in at.markdown)
    at = _open(page_app, "analyst", factory)
    picker = _widget(at.selectbox, "Internal owner (gets escalations and certificate warnings)")
    picker.set_value("luis").run()
    at = _submit(at, "Save owner")
    assert not at.exception and not at.error
    assert sites.owner_of(session=session, partner_id=factory) == "luis"
    at = _open(page_app, "viewer", factory)
    assert any("(luis)" in _read(m.value) or _read(m.value) == "luis" for m in at.markdown)
