"""The documented risk assessment procedure (step 5): generated from the live configuration, versions kept and
compared in words, an admin's sign-off with the next review date, its follow-up, the PDF and the page per role."""

import shutil
import subprocess
from datetime import date, timedelta

import pytest
from sqlmodel import select

from models import CompanyProfile, ProcedureVersion
from models.followups import FollowupKind
from services import procedure
from services.core.permissions import PermissionDenied, ValidationError
from services.followups import settings as followup_settings
from services.followups.rules import RULES, RuleContext
from services.partners import registry as partners
from services.procedure import export
from services.risk import config as risk_config
from tests.conftest import ADMIN, ANALYST, VIEWER

TODAY = date.today()


@pytest.fixture
def company(session, staff):
    session.add(CompanyProfile(legal_name="Importadora Núñez <b>S.A.</b>", ctpat_account_number="CT-1",
                               primary_contact="José Núñez", primary_contact_email="jose@importer.example"))
    partners.create_partner(session=session, actor=ANALYST, values={
        "partner_code": "CN-F01", "legal_name": "深圳灯具厂", "entity_type": "Foreign Manufacturer",
        "country_iso2": "CN"})
    session.commit()


def _text(session) -> str:
    return procedure.as_text(procedure.generate(session=session))


def test_the_text_comes_from_the_live_configuration(session, company):
    text = _text(session)
    assert "Importadora Núñez <b>S.A.</b> (CTPAT account CT-1)" in text
    assert "every active business partner (1: 1 Foreign Manufacturer)" in text
    assert "US State Department travel advisories (US Department of State), as of 2026-" in text
    assert "a must criterion not met 10" in text and "threat High and vulnerability Low: Medium" in text
    assert "at least once every 12 months" in text and "MSC 2.3" in text
    assert "The company's CTPAT point of contact is José Núñez." in text
    assert "built-in default" in text
    risk_config.save(session=session, actor=ADMIN, config=risk_config.RiskConfig().replace(must_unmet=12.0))
    session.commit()
    changed = _text(session)
    assert "a must criterion not met 12" in changed and "version 1, saved by admin" in changed


def test_versions_are_kept_and_compared_in_words(session, company):
    first = procedure.save_version(session=session, actor=ANALYST, note="first")
    session.commit()
    assert first.version == 1 and first.approved_at is None
    with pytest.raises(ValidationError, match="nothing changed since version 1"):
        procedure.save_version(session=session, actor=ANALYST)
    assert procedure.changes_since_latest(session=session) == []
    risk_config.save(session=session, actor=ADMIN, config=risk_config.RiskConfig().replace(must_unmet=12.0))
    session.commit()
    pending = procedure.changes_since_latest(session=session)
    assert any(line.startswith("Step 3: vulnerability assessment: “Weights: a must criterion not met 10")
               and "became “Weights: a must criterion not met 12" in line for line in pending)
    procedure.save_version(session=session, actor=ADMIN)
    session.commit()
    lines = procedure.compare(session=session, before=1, after=2)
    assert lines == pending
    assert procedure.compare(session=session, before=2, after=2) == []
    assert list(procedure.list_versions(session=session)["version"]) == [2, 1]
    with pytest.raises(PermissionDenied):
        procedure.save_version(session=session, actor=VIEWER)
    with pytest.raises(ValidationError, match="no procedure version 9"):
        procedure.compare(session=session, before=1, after=9)


def test_only_an_admin_signs_the_latest_version_once_within_a_year(session, company):
    procedure.save_version(session=session, actor=ANALYST)
    with pytest.raises(PermissionDenied):
        procedure.sign_off(session=session, actor=ANALYST, version=1, today=TODAY)
    with pytest.raises(ValidationError, match="reviewed at least yearly"):
        procedure.sign_off(session=session, actor=ADMIN, version=1, today=TODAY,
                           next_review_on=TODAY + timedelta(days=400))
    signed = procedure.sign_off(session=session, actor=ADMIN, version=1, today=TODAY)
    session.commit()
    assert signed.approved_by == "admin" and signed.next_review_on == procedure.add_months(TODAY, 12)
    with pytest.raises(ValidationError, match="already signed off by admin"):
        procedure.sign_off(session=session, actor=ADMIN, version=1, today=TODAY)
    state = procedure.status(session=session, today=TODAY)
    assert (state["signed_version"], state["approved_by"], state["latest_unsigned"]) == (1, "admin", False)
    assert state["days_to_review"] == (procedure.add_months(TODAY, 12) - TODAY).days
    partners.create_partner(session=session, actor=ANALYST, values={
        "partner_code": "MX-C01", "legal_name": "Transportes del Norte", "entity_type": "Highway Carrier",
        "country_iso2": "MX"})
    procedure.save_version(session=session, actor=ANALYST)
    with pytest.raises(ValidationError, match="only the latest version"):
        procedure.sign_off(session=session, actor=ADMIN, version=1, today=TODAY)
    assert procedure.status(session=session, today=TODAY)["signed_version"] == 1  # until version 2 is signed


def test_add_months_keeps_the_end_of_month():
    assert procedure.add_months(date(2027, 1, 31), 1) == date(2027, 2, 28)
    assert procedure.add_months(date(2028, 2, 29), 12) == date(2029, 2, 28)
    assert procedure.add_months(date(2026, 12, 6), 12) == date(2027, 12, 6)


def _due(session, day: date):
    ctx = RuleContext(session=session, today=day, settings=followup_settings.current(session=session))
    return RULES[FollowupKind.procedure_review].find(ctx)


def test_the_next_review_date_feeds_the_follow_ups(session, company):
    assert _due(session, TODAY).empty  # nothing signed: nothing to remind
    procedure.save_version(session=session, actor=ANALYST)
    review = TODAY + timedelta(days=60)
    procedure.sign_off(session=session, actor=ADMIN, version=1, today=TODAY, next_review_on=review)
    session.commit()
    assert _due(session, TODAY).empty  # more than 30 days ahead
    [row] = _due(session, review - timedelta(days=20)).to_dict("records")
    assert row["step"] == f"{review.isoformat()}:30d" and row["object_id"] == "procedure-1"
    assert row["values"]["days"] == "20" and row["values"]["approved_by"] == "admin"
    assert _due(session, review + timedelta(days=1)).iloc[0]["step"] == f"{review.isoformat()}:overdue"
    assert FollowupKind.annual_review in RULES  # the Security Profile review window is its own rule already


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="pdftotext (poppler-utils) is not installed")
def test_the_pdf_prints_typed_text_as_text(session, company, tmp_path):
    procedure.save_version(session=session, actor=ANALYST, note="revisión **anual** <i>2027</i>")
    procedure.sign_off(session=session, actor=ADMIN, version=1, today=TODAY)
    session.commit()
    path = tmp_path / "procedure.pdf"
    path.write_bytes(export.pdf_bytes(session=session, today=TODAY, version=1))
    text = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True).stdout
    assert "Importadora Núñez <b>S.A.</b>" in text and "revisión **anual** <i>2027</i>" in text
    assert "Signed off by admin" in text and "Step 2: threat assessment" in text
    assert export.pdf_bytes(session=session, today=TODAY, version=1) == path.read_bytes()
    draft = export.pdf_bytes(session=session, today=TODAY)
    assert b"%PDF" == draft[:4]


@pytest.mark.parametrize("role", ["admin", "analyst", "viewer"])
def test_the_page_renders_for_every_role(page_app, session, company, role):
    procedure.save_version(session=session, actor=ANALYST)
    session.commit()
    at = page_app("procedure", role=role).run()
    assert not at.exception
    assert at.title[0].value == "Risk assessment procedure"
    assert [b.label for b in at.get("download_button")] == ["Download PDF"]
    assert "Scope" in [s.value for s in at.subheader]
    buttons = {b.label for b in at.button}
    assert ("Save the live text as a new version" in buttons) == (role != "viewer")
    assert ("Sign off version 1" in buttons) == (role == "admin")
    assert ("Read only" in " ".join(i.value for i in at.info)) == (role == "viewer")


def test_an_admin_signs_off_on_the_page(page_app, session, company):
    at = page_app("procedure", role="admin").run()
    assert "No version of the procedure is signed off yet" in at.warning[0].value
    at.button(key="FormSubmitter:procedure_save-Save the live text as a new version").click().run()
    assert not at.exception and at.success[0].value.startswith("Saved a new version")
    at.button(key="FormSubmitter:procedure_sign-Sign off version 1").click().run()
    assert not at.exception and at.success[0].value.startswith("Signed off version 1")
    session.expire_all()
    row = session.exec(select(ProcedureVersion)).one()
    assert row.approved_by == "admin" and row.next_review_on == procedure.add_months(TODAY, 12)
    assert at.metric[1].value == f"v1 · {TODAY.isoformat()}"
