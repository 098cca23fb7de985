"""Issue 10 in Chromium: an analyst records the check of a partner's certificate on the Mutual recognition page, and
the partner's coverage (and with it its exemption from the questionnaire) changes where the team reads it."""

import os
import re
import uuid
from datetime import date, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from sqlmodel import select

from models import Certificate, CertificateVerification
from models.certificate import CertificateStatus, VerificationMethod
from models.common import Role
from services.certificates import rule
from services.core import db
from services.partners import registry as partners
from tests.certificate_support import certify
from tests.conftest import ANALYST
from tests.e2e.support import ROOT, USER_PASSWORD, ensure_user, log_in, open_app, rerun, wait_for_app_run

SCREENSHOTS = Path(os.environ.get("CTPAT_SCREENSHOTS") or ROOT / "test-results" / "flows")
CHECKER = "cora"  # an analyst of this module's own, so the lockout and session tests cannot get in the way


def _screenshot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENSHOTS / f"{name}.png", full_page=True)


def _tab(page: Page, name: str) -> None:
    page.get_by_role("tab", name=name, exact=True).click()
    wait_for_app_run(page)


def _metric(page: Page, label: str) -> str:
    return page.get_by_test_id("stMetric").filter(has_text=label).get_by_test_id("stMetricValue").inner_text()


@pytest.fixture
def claimed(app_server, page: Page):
    """A German factory of its own holding an AEO-F claim nobody has checked, and an expired one; yields (partner id,
    code, certificate id, its number, engine)."""
    open_app(page, app_server.url)  # the server prepares its database (and demo data) on its first run
    ensure_user(app_server, CHECKER, Role.analyst)
    engine = db.make_engine(f"sqlite:///{app_server.data_dir / 'e2e.db'}")
    tag = uuid.uuid4().hex[:6].upper()
    with db.session_scope(engine) as s:
        partner = partners.create_partner(session=s, actor=ANALYST, values={
            "partner_code": f"DE-C{tag}", "legal_name": f"Schwarzwald Präzisionsteile {tag} GmbH",
            "entity_type": "Foreign Manufacturer", "country_iso2": "DE", "language": "en"})
        cert = certify(s, partner.id, program="AEO", country="DE", number=f"DEAEOF{tag}", kind="AEO-F",
                       verified_on=None)
        # An older certificate, expired, listed first (newest first): the analyst picks the claim.
        certify(s, partner.id, program="AEO", country="DE", number=f"DEAEOF{tag}-2019", kind="AEO-F",
                valid_to=date.today() - timedelta(days=400), verified_on=date.today() - timedelta(days=800),
                status=CertificateStatus.expired)
        ids = partner.id, partner.partner_code, cert.id, cert.certificate_number
    yield (*ids, engine)
    engine.dispose()


def test_recording_a_check_makes_the_partner_covered_and_exempt(page: Page, app_server, claimed):
    partner_id, code, cert_id, cert_number, engine = claimed
    today = date.today()
    open_app(page, f"{app_server.url}/mutual_recognition")
    log_in(page, CHECKER, USER_PASSWORD)

    _tab(page, "Coverage")
    covered_before = _metric(page, "Active partners covered")
    mutual_before = int(_metric(page, "By mutual recognition"))
    _tab(page, "Watch list")
    never_before = int(_metric(page, "Claims never verified"))

    _tab(page, "Partner certificates")
    partner = page.get_by_test_id("stSelectbox").filter(has_text="Partner")
    partner.locator("input").fill(code)
    page.get_by_role("option", name=re.compile(re.escape(code))).click()
    wait_for_app_run(page)
    alerts = page.get_by_test_id("stAlert")
    expect(alerts.filter(has_text="Not covered today: the claim has not been verified.")).to_be_visible()
    expect(alerts.filter(has_text=re.compile("Covered today"))).to_have_count(0)
    picker = page.get_by_test_id("stSelectbox").filter(has_text="Certificate")
    picker.locator("input").click()
    page.get_by_role("option", name=re.compile(f"{cert_number} ")).click()
    wait_for_app_run(page)
    expect(page.get_by_text(re.compile(f"^AEO-F certificate {cert_number}, issued in Germany"))).to_be_visible()

    check = page.get_by_test_id("stExpander").filter(has_text="Record a check")
    check.locator("summary").click()
    # A selectbox is a combobox: click its input, then the option in the listbox that opens.
    check.get_by_test_id("stSelectbox").filter(has_text="How").locator("input").click()
    page.get_by_role("option", name=VerificationMethod.certificate_copy.value, exact=True).click()
    check.get_by_label("Reference (e.g. SVI screen, customs letter number)").fill("Zoll AEO register, 2026-12")
    check.get_by_role("button", name="Record check").click()
    wait_for_app_run(page)

    expect(alerts.filter(has_text=f"Recorded the check of {today}.")).to_be_visible()
    covered = alerts.filter(has_text=re.compile(r"Covered today: .*mutually recognized"))
    expect(covered).to_be_visible()
    expect(covered).to_contain_text("Exempt from the questionnaire; still rated for threat and risk.")
    expect(alerts.filter(has_text="Not covered today")).to_have_count(0)
    expect(page.get_by_text("Never checked.")).to_have_count(0)
    # The picker stays on the certificate just checked, also on the next run of the page.
    rerun(page)
    expect(picker.get_by_role("combobox")).to_have_value(re.compile(f"{cert_number} \\(DE\\)"))
    expect(page.get_by_text(re.compile(f"^AEO-F certificate {cert_number}, issued in Germany"))).to_be_visible()
    expect(page.get_by_text("Checks (1)")).to_be_visible()
    _screenshot(page, "certificate-check-covered")

    _tab(page, "Watch list")
    assert int(_metric(page, "Claims never verified")) == never_before - 1
    _tab(page, "Coverage")
    assert int(_metric(page, "By mutual recognition")) == mutual_before + 1
    covered_now, active = (int(n.replace(",", "")) for n in _metric(page, "Active partners covered").split(" of "))
    was, active_before = (int(n.replace(",", "")) for n in covered_before.split(" of "))
    assert (covered_now, active) == (was + 1, active_before)
    _screenshot(page, "certificate-check-coverage")

    with db.session_scope(engine) as s:
        assert s.get(Certificate, cert_id).status == CertificateStatus.verified
        [check_row] = s.exec(select(CertificateVerification).where(
            CertificateVerification.certificate_id == cert_id)).all()
        assert (check_row.verified_on, check_row.method, check_row.verified_by, check_row.recorded_by,
                check_row.reference) == (today, VerificationMethod.certificate_copy, CHECKER, CHECKER,
                                         "Zoll AEO register, 2026-12")
        best = rule.best_per_partner(rule.counts_on(session=s, day=today, partner_ids=[partner_id]))
        assert bool(best.iloc[0]["covered"])
