"""Issue 12, "the supplier link from invitation e-mail to submission on a phone-sized viewport": an app server and the
hourly `manage.py send-followups` configured as a deployment is (SMTP and base URL in the environment) with a real
SMTP server on loopback; the invitation arrives, the partner opens its link on a phone, answers and submits, and the
team sees the submission on the Review page."""

import os
import re
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlmodel import select

from models import Assignment, FollowupMessage
from models.collection import AssignmentStatus
from models.followups import FollowupKind, MessageStatus
from services.collection import cycles, questionnaire
from services.core import db, startup
from services.followups import settings as followup_settings
from services.partners import contacts
from services.partners import registry as partners
from tests.conftest import ADMIN, ANALYST, via_link
from tests.e2e.support import (
    ADMIN_PASSWORD,
    ROOT,
    AppServer,
    BrowserWatch,
    free_port,
    log_in,
    open_app,
    submit_questionnaire,
)
from tests.mail_support import smtp_server

SCREENSHOTS = Path(os.environ.get("CTPAT_SCREENSHOTS") or ROOT / "test-results" / "flows")
PHONE = {"width": 390, "height": 844}
CONTACT = "compras@textiles-andinos.example"
TITLE = "Cuestionario de seguridad de la cadena de suministro"  # the Spanish default title for partners


def _screenshot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENSHOTS / f"{name}.png", full_page=True)


@pytest.fixture
def deployment(tmp_path_factory) -> Iterator[dict]:
    """A server of its own (its settings must be there before it starts): SMTP to a loopback server and its own
    address as the base URL; a Colombian supplier with a contact in a freshly opened cycle (nothing sent yet)."""
    data_dir = tmp_path_factory.mktemp("mail-app")
    port = free_port()
    with smtp_server() as (smtp, inbox):
        settings = {"CTPAT_BASE_URL": f"http://127.0.0.1:{port}", "CTPAT_SMTP_HOST": smtp.host,
                    "CTPAT_SMTP_PORT": str(smtp.port), "CTPAT_SMTP_SECURITY": smtp.security,
                    "CTPAT_SMTP_SENDER": smtp.sender, "CTPAT_SMTP_REPLY_TO": smtp.reply_to,
                    "CTPAT_SECRETS_FILE": str(data_dir / "no-secrets.toml")}  # a developer's secrets stay out
        engine = db.make_engine(f"sqlite:///{data_dir / 'e2e.db'}")
        with pytest.MonkeyPatch.context() as mp:
            mp.setenv("CTPAT_ADMIN_PASSWORD", ADMIN_PASSWORD)
            startup.initialise(engine=engine, with_demo=False)
        tag = uuid.uuid4().hex[:6].upper()
        with db.session_scope(engine) as s:
            # Colombia's public holidays would hold the invitation on some days; the test must not depend on the date.
            followup_settings.save(session=s, actor=ADMIN, values={"public_holidays": False})
            partner = partners.create_partner(session=s, actor=ANALYST, values={
                "partner_code": f"CO-{tag}", "legal_name": f"Textiles Andinos {tag} S.A.S.",
                "entity_type": "Foreign Manufacturer", "country_iso2": "CO", "language": "es"})
            contacts.create_contact(session=s, actor=ANALYST, partner_id=partner.id, values={
                "name": "Lucía Herrera", "email": CONTACT, "language": "es"})
            cycle = cycles.open_cycle(session=s, actor=ANALYST, name="Revisión anual 2027",
                                      due_date=date.today() + timedelta(days=30), partner_ids=[partner.id])
            assignment_id = s.exec(select(Assignment.id).where(Assignment.cycle_id == cycle.id)).one()
            code, name = partner.partner_code, partner.legal_name
        server = AppServer(data_dir, extra_env=settings, port=port)
        try:
            server.wait_until_up()
            yield {"server": server, "inbox": inbox, "engine": engine, "settings": settings, "code": code,
                   "name": name, "assignment_id": assignment_id}
        finally:
            server.stop()
            engine.dispose()


def _send_followups(server: AppServer, settings: dict[str, str]) -> str:
    """The cron line's command, run with the deployment's environment."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CTPAT_")}
    env.update(settings, CTPAT_DATA_DIR=str(server.data_dir),
               CTPAT_DATABASE_URL=f"sqlite:///{server.data_dir / 'e2e.db'}")
    done = subprocess.run([sys.executable, "manage.py", "send-followups"], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_invitation_mail_to_submission_on_a_phone(browser: Browser, page: Page, deployment):
    server, inbox, engine = deployment["server"], deployment["inbox"], deployment["engine"]
    output = _send_followups(server, deployment["settings"])
    assert "Sent 1." in output, output

    [mail] = inbox.to(CONTACT)
    assert mail["Content-Language"] == "es" and mail["To"].addresses[0].display_name == "Lucía Herrera"
    assert "cuestionario de seguridad de la cadena de suministro" in mail["Subject"]
    body = mail.get_body(("plain",)).get_content()
    assert body.startswith("Estimado/a Lucía Herrera")
    [link] = re.findall(re.escape(server.url) + r"/\?token=[A-Za-z0-9_\-]+", body)
    assert f'href="{link}"' in mail.get_body(("html",)).get_content()

    assignment_id = deployment["assignment_id"]
    with db.session_scope(engine) as s:
        assert s.get(Assignment, assignment_id).status == AssignmentStatus.sent
        [message] = s.exec(select(FollowupMessage)).all()
        assert (message.kind, message.status, message.recipients) == (FollowupKind.invitation, MessageStatus.sent,
                                                                      CONTACT)
        # The partner answered the other sections on an earlier visit; on the phone it answers the first and submits.
        questions = questionnaire.questionnaire(session=s, assignment_id=assignment_id)
        first = questions["category_number"].iloc[0]
        rest = questions.loc[questions["category_number"] != first, "criterion_id"].tolist()
        questionnaire.save_answers(session=s, assignment_id=assignment_id, source="link", answered_by="e2e",
                                   answers=[{"criterion_id": c, "value": "yes", "comment": ""} for c in rest],
                                   actor=via_link(s, assignment_id))
    count = len(questions) - len(rest)

    phone = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True, device_scale_factor=2)
    watch = BrowserWatch().attach(phone)
    try:
        mobile = phone.new_page()
        open_app(mobile, link)
        expect(mobile.get_by_role("heading", name=TITLE)).to_be_visible()
        assert "token" not in mobile.url
        expect(mobile.get_by_text(deployment["name"])).to_be_visible()
        form = mobile.get_by_test_id("stForm")
        radios = form.get_by_test_id("stRadio")
        expect(radios).to_have_count(count)
        expect(radios.first).to_be_in_viewport()
        for i in range(count):
            radios.nth(i).get_by_text("Sí", exact=True).click()
        submit_questionnaire(mobile, "Enviar cuestionario", "Gracias: el cuestionario se envió el")
        _screenshot(mobile, "invitation-phone-submitted")
    finally:
        phone.close()
    assert not watch.problems(), watch.problems()

    with db.session_scope(engine) as s:
        assignment = s.get(Assignment, assignment_id)
        assert assignment.status == AssignmentStatus.submitted and assignment.submitted_at is not None

    # The team's side: the submission waits on the Review page.
    open_app(page, f"{server.url}/review")
    log_in(page, "admin", ADMIN_PASSWORD)
    waiting = page.get_by_test_id("stSelectbox").filter(has_text="Partner (1 submitted, waiting for review)")
    expect(waiting).to_be_visible()
    expect(page.get_by_role("heading", name=f"{deployment['code']} · {deployment['name']}")).to_be_visible()
    expect(page.get_by_test_id("stMetric").filter(has_text="Status")).to_contain_text(AssignmentStatus.submitted)
    expect(page.get_by_test_id("stMetric").filter(has_text="Answered")).to_contain_text(
        f"{len(questions)} of {len(questions)}")
    _screenshot(page, "invitation-review")
