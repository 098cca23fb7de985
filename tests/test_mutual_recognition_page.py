"""The Mutual recognition page and the partner certificates section: every tab for every role, and what the
widgets do."""

import re
from datetime import date, timedelta

import pytest
from sqlmodel import Session, select

from models import Assignment, AuditEvent, Certificate, CertificateVerification, MraProgram, Partner
from services.collection import cycles
from tests.certificate_support import certify
from tests.conftest import ANALYST
from tests.test_criteria_service import restore_reference  # noqa: F401  (fixture)

ROLES = ("admin", "analyst", "viewer")
TODAY = date.today()
TABS = {"admin": ["Arrangements", "Coverage", "Watch list", "Partner certificates", "Import certificates",
                  "Settings"],
        "analyst": ["Arrangements", "Coverage", "Watch list", "Partner certificates", "Import certificates"],
        "viewer": ["Arrangements", "Coverage", "Watch list", "Partner certificates"]}


def _texts(elements) -> str:
    """Text as a user reads it: messages reach the page escaped (ui.text.plain)."""
    return re.sub(r"\\(.)", r"\1", "\n".join(str(e.value) for e in elements))


def _button(at, label: str):
    return next(b for b in at.button if b.label == label)


def _metric(at, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


@pytest.fixture
def book(session, staff) -> dict[str, int]:
    """Partners: a covered US carrier (CTPAT), a German factory with an AEO-F, one with an AEO-C, a Vietnamese one
    with an AEO from a country without an arrangement and a claim never verified, a Mexican one with nothing."""
    ids = {}
    for code, country, entity, share in (("US1", "US", "Highway Carrier", None), ("DE1", "DE", "Foreign Manufacturer",
                                         30.0), ("DE2", "DE", "Foreign Manufacturer", 10.0),
                                         ("VN1", "VN", "Foreign Manufacturer", 45.0),
                                         ("MX1", "MX", "Foreign Manufacturer", 15.0)):
        row = Partner(partner_code=code, legal_name=f"{code} Ltd", normalized_name=code.lower(), entity_type=entity,
                      country_iso2=country, import_share=share)
        session.add(row)
        session.flush()
        ids[code] = row.id
    certify(session, ids["US1"], number="CT-1")
    certify(session, ids["DE1"], program="AEO", country="DE", number="DEAEOF1", kind="AEO-F")
    certify(session, ids["DE2"], program="AEO", country="DE", number="DEAEOC2", kind="AEO-C")
    certify(session, ids["VN1"], program="AEO", country="VN", number="VN-AEO-1",
            valid_to=TODAY + timedelta(days=20))
    certify(session, ids["VN1"], number="CT-CLAIM", verified_on=None)
    session.commit()
    return ids


def _page(page_app, role: str, tab: str = "Arrangements"):
    at = page_app("mutual_recognition", role=role)
    at.session_state["mr_tab"] = tab
    return at


@pytest.mark.parametrize("role", ROLES)
def test_every_tab_renders_for_every_role(page_app, book, role):
    for tab in TABS[role]:
        at = _page(page_app, role, tab).run()
        assert not at.exception, (tab, [e.stack_trace for e in at.exception])
        assert [t.value for t in at.title] == ["Mutual recognition"]
        assert [t.label for t in at.tabs] == TABS[role]
    at = _page(page_app, role, "Partner certificates")
    at.session_state["mr_partner"] = book["VN1"]
    at = at.run()
    assert not at.exception
    assert "Not covered today: the claim has not been verified." in _texts(at.warning)  # the closest to counting
    labels = [e.label for e in at.expander]
    assert ("Add a certificate" in labels) == (role != "viewer")
    assert ("Record a check" in labels) == (role != "viewer")


def test_a_page_shows_nothing_without_login(page_app):
    at = page_app("mutual_recognition", role=None).run()
    assert not at.exception and not at.main.children


def test_arrangements_with_their_caveats_types_and_map(page_app, book):
    at = _page(page_app, "viewer").run()
    assert "India's arrangement is uncertain" in _texts(at.warning)
    assert "AEO-C (customs simplifications only) does not" in _texts(at.info)
    assert _metric(at, "List last checked against CBP's") == "Unknown"
    assert "Nobody has recorded checking this list" in _texts(at.warning)
    table = next(df.value for df in at.dataframe if "types_counted" in df.value.columns).set_index("partner_country")
    assert len(table) == 18
    assert table.loc["European Union", "types_counted"] == "AEO-S AEO-F"
    assert table.loc["Canada", "types_counted"] == "every certificate of the program"
    assert table.loc["Mexico", "program_name"].startswith("Operador Economico Autorizado (OEA)")
    assert table.loc["Peru", "confirmed"] == "Not confirmed"
    assert (table.loc["European Union", "certificates"], table.loc["European Union", "counting"]) == (2, 1)
    assert len(at.get("vega_lite_chart")) == 1
    assert not [e for e in at.expander if e.label == "Confirm an arrangement"]


@pytest.mark.usefixtures("restore_reference")
def test_an_admin_confirms_an_arrangement_and_records_the_list_check(page_app, book, session):
    at = _page(page_app, "admin").run()
    confirm = next(s for s in at.selectbox if s.label == "Arrangement" and "Peru (OEA, 2018-09)" in s.options)
    confirm.set_value(next(p.id for p in session.exec(select(MraProgram).where(MraProgram.partner_country == "Peru"))))
    next(t for t in at.text_input if t.label == "Checked against").set_value("cbp.gov Mutual Recognition page")
    at = _button(at, "Confirm").click().run()
    assert "Confirmed the Peru (OEA, 2018-09) arrangement." in _texts(at.success)
    session.expire_all()
    peru = session.exec(select(MraProgram).where(MraProgram.partner_country == "Peru")).one()
    assert peru.confirmed and peru.confirmed_by == "admin"
    at = _button(at, "Record the check").click().run()
    assert _metric(at, "List last checked against CBP's") == TODAY.isoformat()
    assert session.exec(select(AuditEvent).where(AuditEvent.action == "check")).one().entity == "mra program"


@pytest.mark.usefixtures("restore_reference")
def test_an_admin_corrects_which_types_count(page_app, book, session):
    at = _page(page_app, "admin").run()
    japan = session.exec(select(MraProgram).where(MraProgram.partner_country == "Japan")).one()
    at.selectbox(key="mr_pick").set_value(japan.id).run()
    next(t for t in at.text_input if t.label == "Types issued").set_value("EXPORTER IMPORTER")
    next(t for t in at.text_input if t.label == "Types that count").set_value("EXPORTER")
    at = _button(at, "Save arrangement").click().run()
    assert "Saved the Japan arrangement." in _texts(at.success)
    session.expire_all()
    japan = session.get(MraProgram, japan.id)
    assert (japan.certificate_types, japan.types_counted) == ("EXPORTER IMPORTER", "EXPORTER")
    next(t for t in at.text_input if t.label == "Types that count").set_value("MANUFACTURER")
    at = _button(at, "Save arrangement").click().run()
    assert "MANUFACTURER not among the certificate types" in _texts(at.error)


def test_coverage_with_unknown_import_share(page_app, book):
    at = _page(page_app, "viewer", "Coverage").run()
    assert _metric(at, "Active partners covered") == "2 of 5"
    assert _metric(at, "By CTPAT") == "1" and _metric(at, "By mutual recognition") == "1"
    assert _metric(at, "Import share covered") == "30%"  # 30 of the 100 known; US1 has none: unknown
    by_country = next(df.value for df in at.dataframe if "country" in df.value.columns).set_index("country")
    assert by_country.loc["United States", "share_of_import_covered"] == "Unknown"
    assert by_country.loc["Germany", "share_of_import_covered"] == "75%"
    assert len(at.get("vega_lite_chart")) == 3


def test_watch_list_and_the_daily_check(page_app, book, session):
    at = _page(page_app, "analyst", "Watch list").run()
    assert _metric(at, "Expiring within 30 days") == "1" and _metric(at, "Claims never verified") == "1"
    assert _metric(at, "Held, never recognized") == "2"  # the AEO-C and the Vietnamese AEO
    at = _button(at, "Run the daily check now").click().run()
    assert "Ran the daily certificate check." in _texts(at.success)
    viewer = _page(page_app, "viewer", "Watch list").run()
    assert not [b for b in viewer.button if b.label == "Run the daily check now"]


def _section(page_app, role: str, partner_id: int):
    at = _page(page_app, role, "Partner certificates")
    at.session_state["mr_partner"] = partner_id
    return at.run()


def test_an_analyst_adds_and_checks_a_certificate_and_the_partner_is_covered(page_app, book, session):
    pid = book["MX1"]
    at = _section(page_app, "analyst", pid)
    assert "No certificate recorded" in _texts(at.info)
    prefix = f"cert_add_{pid}"
    at.selectbox(key=f"{prefix}_program").set_value("OEA")
    at.selectbox(key=f"{prefix}_country").set_value("MX")
    at.text_input(key=f"{prefix}_number").set_value("OEA-MX-77")
    at.selectbox(key=f"{prefix}_type").set_value("OEA")
    at = _button(at, "Add certificate").click().run()
    assert "valid_to: required, or choose 'no expiry'" in _texts(at.error)  # the end must be chosen explicitly
    at.radio(key=f"{prefix}_ends").set_value("Valid to a date")
    at.date_input(key=f"{prefix}_to").set_value(TODAY + timedelta(days=400))
    at = _button(at, "Add certificate").click().run()
    assert "Added OEA certificate OEA-MX-77." in _texts(at.success)
    assert "Not covered today: the claim has not been verified." in _texts(at.warning)

    cert = session.exec(select(Certificate).where(Certificate.partner_id == pid)).one()
    at.selectbox(key=f"cert_{cert.id}_how").set_value("copy of certificate")
    at = _button(at, "Record check").click().run()
    assert f"Recorded the check of {TODAY}." in _texts(at.success)
    assert "Covered today: OEA certificate OEA-MX-77 (mutually recognized: Mexico)" in _texts(at.success)
    assert "It counts on" in _texts(at.markdown)
    assert session.exec(select(CertificateVerification)).all()[-1].verified_by == "luis"


def test_suspending_a_certificate_in_the_section_pulls_the_partner_into_the_open_cycle(page_app, book,
                                                                                         session: Session):
    cycles.open_cycle(session=session, actor=ANALYST, name="2027 annual review", due_date=TODAY + timedelta(days=5))
    session.commit()
    pid = book["US1"]
    cert = session.exec(select(Certificate).where(Certificate.partner_id == pid)).one()
    at = _section(page_app, "analyst", pid)
    at.selectbox(key=f"cert_{cert.id}_status").set_value("suspended")
    at.text_input(key=f"cert_{cert.id}_note").set_value("SVI shows the member suspended")
    at = _button(at, "Record").click().run()
    assert "Recorded the certificate as suspended." in _texts(at.success)
    assert "Not covered today: it is suspended." in _texts(at.warning)
    session.expire_all()
    joined = session.exec(select(Assignment).where(Assignment.partner_id == pid)).one()
    assert (joined.status, joined.due_date) == ("not sent", TODAY + timedelta(days=30))


def test_the_settings_tab_is_for_admins(page_app, book, session):
    at = _page(page_app, "admin", "Settings").run()
    at.number_input[0].set_value(120)
    at = _button(at, "Save settings").click().run()
    assert "Saved the certificate settings." in _texts(at.success)
    assert _page(page_app, "admin").run().metric[3].value == "120 days"


@pytest.mark.parametrize("role", ROLES)
def test_the_section_mounts_as_a_partner_detail_tab(page_app, book, database_url, staff, engine, role):
    from streamlit.testing.v1 import AppTest

    from tests.conftest import session_version

    script = (f"from ui import auth\nfrom ui.certificates import certificates_tab\nactor = auth.require_role()\n"
              f"certificates_tab('', actor, {{'partner': {{'id': {book['DE2']}}}}}, {{}}) if actor else None\n")
    at = AppTest.from_string(script, default_timeout=30)
    at.secrets["database_url"] = database_url
    at.secrets["cookie_key"] = "test-cookie-key-" + "x" * 32
    at.session_state["authentication_status"] = True
    at.session_state["username"] = staff[role].username
    at.session_state["session_version"] = session_version(engine, staff[role].username)
    at = at.run()
    assert not at.exception
    assert "AEO-C does not count under the European Union arrangement" in _texts(at.warning)
    assert bool([e for e in at.expander if e.label == "Correct"]) == (role != "viewer")
