"""Follow-ups: the rules, the engine's holds, the outbox and delivery to a real SMTP server on loopback (aiosmtpd),
on SQLite or PostgreSQL (CTPAT_TEST_DATABASE_URL)."""

import re
from datetime import date, timedelta

import pytest
from sqlmodel import Session, select

from cli.base import CLI
from models import Assignment, CompanyProfile, FollowupMessage, User
from models.collection import AssignmentStatus
from models.followups import FollowupKind, MessageStatus
from services.certificates import records as certificate_records
from services.collection import cycles, links, questionnaire
from services.core.permissions import PermissionDenied, ValidationError
from services.followups import engine as followup_engine
from services.followups import outbox, pauses, quiet, runner, templates
from services.followups import settings as followup_settings
from services.partners import contacts, sites
from services.partners import registry as partners
from tests.certificate_support import certify
from tests.conftest import ADMIN, ANALYST, VIEWER, add_user, via_link
from tests.mail_support import free_port, smtp_server

K, M = FollowupKind, MessageStatus
TODAY = date.today()
DUE = TODAY + timedelta(days=30)
BASE = "https://ctpat.example.com"
LINK = re.compile(re.escape(BASE) + r"/\?token=([A-Za-z0-9_\-]+)")


@pytest.fixture(autouse=True)
def _environment(monkeypatch, tmp_path):
    monkeypatch.setenv("CTPAT_LINK_KEY", "test-link-key-" + "k" * 40)
    monkeypatch.setenv("CTPAT_BASE_URL", BASE)
    monkeypatch.setenv("CTPAT_SECRETS_FILE", str(tmp_path / "no-secrets.toml"))


def add_partner(session: Session, code: str, *, country: str = "TW", language: str = "zh",
                email: str | bool | None = None, owner: str | None = None, name: str | None = None):
    """A partner with a primary contact (unless email is False) and, when given, an internal owner."""
    partner = partners.create_partner(session=session, actor=ANALYST, values={
        "partner_code": code, "legal_name": name or f"{code} Factory Co., Ltd.", "entity_type": "Foreign Manufacturer",
        "country_iso2": country, "language": language})
    if email is not False:
        contacts.create_contact(session=session, actor=ANALYST, partner_id=partner.id, values={
            "name": f"Contact {code}", "email": email or f"{code.lower()}@partner.example", "language": language})
    if owner:
        sites.set_owner(session=session, actor=ANALYST, partner_id=partner.id, username=owner)
    return partner


@pytest.fixture
def book(session, staff) -> dict:
    """Three partners in countries without factory closures, public holidays off: an owner with an address."""
    add_user(session, "buyer", "analyst", email="buyer@importer.example")
    admin = session.exec(select(User).where(User.username == "admin")).one()
    admin.email = "admin@importer.example"
    session.add(admin)
    followup_settings.save(session=session, actor=ADMIN, values={"public_holidays": False})
    tw = add_partner(session, "TW-F01", owner="buyer", name="Taipei <b>Lamps</b> & Co")
    co = add_partner(session, "CO-F01", country="CO", language="es")
    us = add_partner(session, "US-B01", country="US", language="en", email=False)
    cycle = cycles.open_cycle(session=session, actor=ANALYST, name="2027 annual review", due_date=DUE,
                              partner_ids=[tw.id, co.id, us.id])
    session.commit()
    ids = dict(session.exec(select(Assignment.partner_id, Assignment.id).where(Assignment.cycle_id == cycle.id)).all())
    return {"cycle": cycle.id, "tw": tw.id, "co": co.id, "us": us.id, "a_tw": ids[tw.id], "a_co": ids[co.id],
            "a_us": ids[us.id]}


def run(engine, day: date = TODAY, smtp=None, **kwargs) -> runner.RunReport:
    from services.core.config import SmtpSettings

    return runner.run(engine=engine, actor=CLI, today=day, smtp=smtp or SmtpSettings(), **kwargs)


def outbox_rows(session: Session, kind: FollowupKind | None = None) -> list[FollowupMessage]:
    session.expire_all()
    stmt = select(FollowupMessage).order_by(FollowupMessage.id)
    if kind:
        stmt = stmt.where(FollowupMessage.kind == kind)
    return list(session.exec(stmt).all())


def token_in(message) -> str:
    found = LINK.search(message.get_body(("plain",)).get_content())
    assert found, "no personal link in the message"
    return found.group(1)


def test_a_cycle_opened_produces_invitations_in_each_language_with_a_working_link(engine, session, book):
    with smtp_server() as (smtp, inbox):
        report = run(engine, smtp=smtp)
        assert report.queued.queued == {"invitation": 2}
        assert report.queued.held == {"no e-mail address": 1}  # the US broker has no contact address
        assert report.sent.sent == 2 and report.sent.failed == 0
        [zh] = inbox.to("tw-f01@partner.example")
        [es] = inbox.to("co-f01@partner.example")
    assert zh["Subject"].startswith("CTPAT Workbench：供应链安全问卷") and zh["Content-Language"] == "zh"
    assert "Estimado/a Contact CO-F01" in es.get_body(("plain",)).get_content()
    assert zh["To"].addresses[0].display_name == "Contact TW-F01"
    assert zh["Reply-To"] == "compliance@importer.example" and zh["Auto-Submitted"] == "auto-generated"
    # The link opens this partner's questionnaire, and the partner's link actor may answer it.
    assignment = links.resolve_token(session=session, token=token_in(zh))
    assert assignment is not None and assignment.id == book["a_tw"]
    assert questionnaire.questionnaire(session=session, assignment_id=assignment.id).shape[0] > 10
    # The HTML part has the link as an anchor and the typed partner name escaped, never as markup.
    html = zh.get_body(("html",)).get_content()
    assert f'<a href="{BASE}/?token={token_in(zh)}">' in html
    assert "Taipei &lt;b&gt;Lamps&lt;/b&gt; &amp; Co" in html and "<b>Lamps" not in html
    # Issuing the link made the questionnaire "sent"; the outbox keeps no working link.
    session.expire_all()
    assert session.get(Assignment, book["a_tw"]).status == AssignmentStatus.sent
    assert session.get(Assignment, book["a_us"]).status == AssignmentStatus.not_sent
    for row in outbox_rows(session):
        assert row.status == M.sent and "token=" not in row.body_text and followup_engine.MASKED_LINK in row.body_text
    # Nothing twice: the next hourly run queues and sends nothing.
    again = run(engine, smtp=smtp)
    assert again.queued.total == 0 and (again.sent is None or again.sent.sent == 0)


def _days_run(engine, smtp, days: range) -> dict[int, dict[str, int]]:
    out = {}
    for offset in days:
        report = run(engine, TODAY + timedelta(days=offset), smtp=smtp)
        out[offset] = dict(report.queued.queued)
    return out


def test_partners_read_the_cycle_title_for_partners_never_the_team_name(engine, session, book):
    """The cycle's name is the team's word ("2027 annual review"); a partner's e-mail shows the title set for its
    language, or the neutral title in its language."""
    from services.collection import titles

    titles.set_partner_titles(session=session, actor=ANALYST, cycle_id=book["cycle"],
                              titles={"es": "Revisión anual de seguridad 2027"})
    session.commit()
    with smtp_server() as (smtp, inbox):
        run(engine, smtp=smtp)
        [zh] = inbox.to("tw-f01@partner.example")
        [es] = inbox.to("co-f01@partner.example")
    for message in (zh, es):
        assert "2027 annual review" not in message["Subject"] + message.get_body(("plain",)).get_content()
    assert "Revisión anual de seguridad 2027" in es.get_body(("plain",)).get_content()
    assert f"{DUE.year} 年供应链安全问卷" in zh.get_body(("plain",)).get_content()


def test_moving_today_forward_gives_reminders_an_overdue_notice_and_an_escalation_exactly_once(engine, session, book):
    with smtp_server() as (smtp, inbox):
        queued = _days_run(engine, smtp, range(0, 41))
        queued_again = _days_run(engine, smtp, range(0, 41))  # every day again: nothing new
    assert all(not q for q in queued_again.values())
    days = {offset: q for offset, q in queued.items() if q}
    assert days == {0: {"invitation": 2}, 16: {"reminder": 2}, 23: {"reminder": 2}, 28: {"reminder": 2},
                    31: {"overdue": 2}, 37: {"escalation": 3}}
    assert len(inbox.to("tw-f01@partner.example")) == 5  # invitation, three reminders, overdue notice
    # Escalations: to the owner, else to the admins with a note saying why.
    [owned] = inbox.to("buyer@importer.example")
    assert "TW-F01" in owned["Subject"] and "7 days overdue" in owned["Subject"]
    to_admins = inbox.to("admin@importer.example")
    assert len(to_admins) == 2 and all("no internal owner" in m.get_content() if not m.is_multipart() else
                                       "no internal owner" in m.get_body(("plain",)).get_content() for m in to_admins)
    assert "US-B01" in " ".join(m["Subject"] for m in to_admins)  # never invited (no address), still escalated
    reminder = [m for m in inbox.to("co-f01@partner.example") if m["Subject"].startswith("Recordatorio")]
    assert len(reminder) == 3
    # Every reminder carries the same working link as the invitation (sealed, not reissued).
    tokens = {token_in(m) for m in inbox.to("co-f01@partner.example")}
    assert len(tokens) == 1
    assert links.resolve_token(session=session, token=tokens.pop()).id == book["a_co"]


def test_a_submission_stops_reminders_also_those_already_queued(engine, session, book):
    with smtp_server() as (smtp, _):
        run(engine, smtp=smtp)  # the invitations go out
    assert run(engine, TODAY + timedelta(days=16)).queued.queued == {"reminder": 2}  # no SMTP: they wait
    # The Colombian partner submits through its link before the queued reminder goes out.
    actor = via_link(session, book["a_co"])
    ids = questionnaire.applicable_criteria(session=session, assignment_id=book["a_co"])
    questionnaire.save_answers(session=session, assignment_id=book["a_co"], source="link", answered_by="Sra. Ruiz",
                               actor=actor, answers=[{"criterion_id": c, "value": "yes", "comment": ""} for c in ids])
    assert questionnaire.submit(session=session, assignment_id=book["a_co"], submitted_by="Sra. Ruiz",
                                actor=actor) == []
    session.commit()
    with smtp_server() as (smtp, inbox):
        report = run(engine, TODAY + timedelta(days=16), smtp=smtp)
        assert report.sent.cancelled == 1
        assert inbox.to("co-f01@partner.example") == []  # the queued reminder was cancelled, not sent
        later = _days_run(engine, smtp, range(17, 45))
    assert all("co" not in str(q) for q in later.values())
    [cancelled] = [r for r in outbox_rows(session, K.reminder) if r.assignment_id == book["a_co"]]
    assert cancelled.status == M.cancelled and "submitted" in cancelled.note
    assert not [r for r in outbox_rows(session) if r.assignment_id == book["a_co"] and r.kind in (K.overdue,
                                                                                                   K.escalation)]


def test_an_exempted_partner_gets_no_more_reminders(engine, session, book):
    with smtp_server() as (smtp, _):
        run(engine, smtp=smtp)
    cycles.set_exempt(session=session, actor=ANALYST, assignment_id=book["a_tw"], exempt=True,
                      reason="CTPAT certificate verified by phone")
    session.commit()
    run(engine, TODAY + timedelta(days=16))
    assert {r.assignment_id for r in outbox_rows(session, K.reminder)} == {book["a_co"]}


def test_returned_questionnaire_notice_carries_the_comments_escaped_in_html(engine, session, book):
    run(engine)
    actor = via_link(session, book["a_tw"])
    ids = questionnaire.applicable_criteria(session=session, assignment_id=book["a_tw"])
    questionnaire.save_answers(session=session, assignment_id=book["a_tw"], source="link", answered_by="陈丽",
                               actor=actor, answers=[{"criterion_id": c, "value": "yes", "comment": ""} for c in ids])
    questionnaire.submit(session=session, assignment_id=book["a_tw"], submitted_by="陈丽", actor=actor)
    questionnaire.return_for_fixes(session=session, actor=ANALYST, assignment_id=book["a_tw"],
                                   comments={ids[0]: "Photo of the 7-point <script>alert(1)</script> checklist"})
    session.commit()
    with smtp_server() as (smtp, inbox):
        assert run(engine, TODAY + timedelta(days=1), smtp=smtp).queued.queued == {"returned": 1}
        [notice] = [m for m in inbox.to("tw-f01@partner.example") if m["Subject"].startswith("请更新")]
    text = notice.get_body(("plain",)).get_content()
    assert f"- {ids[0]}: Photo of the 7-point <script>alert(1)</script> checklist" in text
    html = notice.get_body(("html",)).get_content()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "<script>" not in html
    assert links.resolve_token(session=session, token=token_in(notice)).id == book["a_tw"]


def test_smtp_not_configured_keeps_messages_queued(engine, session, book):
    report = run(engine)
    assert report.sent is None and not report.smtp_configured and report.in_outbox == 2
    assert "SMTP is not configured: 2 message(s) wait in the outbox" in " ".join(report.lines())
    assert {r.status for r in outbox_rows(session)} == {M.queued}
    session.expire_all()
    assert session.get(Assignment, book["a_tw"]).status == AssignmentStatus.not_sent  # nothing went out


def test_a_dry_run_writes_nothing(engine, session, book):
    report = run(engine, dry_run=True)
    assert report.queued.queued == {"invitation": 2}
    assert outbox_rows(session) == [] and "Dry run" in report.lines()[-1]


def test_a_refused_connection_is_retried_with_back_off_then_given_up(engine, session, book):
    run(engine)
    port = free_port()
    with smtp_server(port=port) as (smtp, _):
        pass  # the settings of a server that is gone: connections are refused
    first = outbox.send_due(engine=engine, smtp=smtp, actor=CLI, today=TODAY)
    assert first.failed == 2 and first.sent == 0 and "Connection refused" in first.errors[0]
    rows = outbox_rows(session)
    assert {r.status for r in rows} == {M.failed} and {r.attempts for r in rows} == {1}
    assert all("ConnectionRefusedError" in r.last_error for r in rows)
    # Not before the back-off (10 minutes after the first try)...
    soon = rows[0].next_attempt_at - timedelta(minutes=1)
    with smtp_server(port=port) as (smtp, inbox):
        assert outbox.send_due(engine=engine, smtp=smtp, actor=CLI, today=TODAY, now=soon).sent == 0
        later = outbox.send_due(engine=engine, smtp=smtp, actor=CLI, today=TODAY,
                                now=rows[0].next_attempt_at + timedelta(seconds=1))
        assert later.sent == 2 and len(inbox.messages) == 2
    assert {(r.status, r.attempts, r.last_error) for r in outbox_rows(session)} == {(M.sent, 2, "")}


def test_failing_too_often_or_for_good_gives_up(engine, session, book):
    followup_settings.save(session=session, actor=ADMIN, values={"max_attempts": 2, "retry_minutes": 1})
    contacts_row = contacts.list_contacts(session=session, partner_id=book["co"]).iloc[0]
    contacts.update_contact(session=session, actor=ANALYST, contact_id=int(contacts_row["id"]),
                            values={"email": "bounce@partner.example"})
    session.commit()
    run(engine)
    with smtp_server(port=free_port()) as (gone, _):
        pass
    clock = outbox_rows(session)[0].queued_at
    for minutes in (0, 5):
        outbox.send_due(engine=engine, smtp=gone, actor=CLI, today=TODAY, now=clock + timedelta(minutes=minutes))
    assert {r.status for r in outbox_rows(session)} == {M.given_up}
    assert outbox.retry(session=session, actor=ANALYST, ids=[r.id for r in outbox_rows(session)]) == 2
    session.commit()
    with smtp_server() as (smtp, inbox):
        report = outbox.send_due(engine=engine, smtp=smtp, actor=CLI, today=TODAY)
    assert report.sent == 1 and report.given_up == 1  # a 550 answer is not retried
    [bounced] = [r for r in outbox_rows(session) if r.recipients == "bounce@partner.example"]
    assert bounced.status == M.given_up and "550" in bounced.last_error and bounced.attempts == 1


def test_starttls_delivery(engine, session, book, tmp_path):
    run(engine)
    with smtp_server(starttls_in=tmp_path) as (smtp, inbox):
        assert smtp.security == "starttls"
        report = outbox.send_due(engine=engine, smtp=smtp, actor=CLI, today=TODAY)
        assert report.sent == 2 and len(inbox.messages) == 2


def test_links_issued_before_sealing_are_replaced_by_a_fresh_link(engine, session, book):
    token = links.issue_link(session=session, actor=ANALYST, assignment_id=book["a_co"])
    session.exec(Assignment.__table__.update().where(Assignment.__table__.c.id == book["a_co"])
                 .values(token_sealed=None))  # as links issued before this release are
    session.commit()
    # The link was issued in the app (status sent) and handed over by hand: the first reminder needs a link it
    # cannot read back, so it goes with a fresh one.
    with smtp_server() as (smtp, inbox):
        report = run(engine, TODAY + timedelta(days=16), smtp=smtp)
        [mail] = inbox.to("co-f01@partner.example")
    assert mail["Subject"].startswith("Recordatorio")
    assert report.sent.fresh_links == 1
    assert links.resolve_token(session=session, token=token) is None  # the old one stopped working
    assert links.resolve_token(session=session, token=token_in(mail)).id == book["a_co"]
    [row] = [r for r in outbox_rows(session) if r.assignment_id == book["a_co"]]
    assert "fresh link" in row.note


def test_without_a_base_url_link_messages_wait(engine, session, book, monkeypatch):
    monkeypatch.delenv("CTPAT_BASE_URL")
    run(engine)
    with smtp_server() as (smtp, inbox):
        report = outbox.send_due(engine=engine, smtp=smtp, actor=CLI, today=TODAY)
    assert report.waiting == 2 and inbox.messages == []
    assert all("CTPAT_BASE_URL" in r.note and r.status == M.queued for r in outbox_rows(session))


def _next_closure(country: str, name: str) -> quiet.Period:
    found = [p for p in quiet.holiday_periods(country, TODAY + timedelta(days=20), TODAY + timedelta(days=420))
             if p.source == quiet.Source.widened and p.name == name]
    return found[0]


def test_chinese_new_year_holds_partner_messages_then_the_due_date_moves_past_it(engine, session, staff):
    closure = _next_closure("CN", "Chinese New Year factory closure")
    assert (closure.ends_on - closure.starts_on).days == 20  # about three weeks
    factory = add_partner(session, "CN-F01", country="CN")
    cycle = cycles.open_cycle(session=session, actor=ANALYST, name="CNY",
                              due_date=closure.starts_on + timedelta(days=5),
                              partner_ids=[factory.id])
    session.commit()
    assignment_id = session.exec(select(Assignment.id).where(Assignment.cycle_id == cycle.id)).one()
    with smtp_server() as (smtp, _):
        run(engine, closure.starts_on - timedelta(days=20), smtp=smtp)  # invitation sent before the closure
    during = run(engine, closure.starts_on + timedelta(days=1))  # the 7-day reminder would be due: it waits
    assert during.queued.total == 0 and during.queued.held == {"quiet period in CN": 1}
    plan = followup_engine.plan(session=session, today=closure.starts_on + timedelta(days=1))
    assert "Chinese New Year factory closure" in plan.held["hold"].iloc[0]
    # One action moves the due date of the country's partners past the closure (plus 14 days).
    preview = quiet.extension_candidates(session=session, country_iso2="CN", starts_on=closure.starts_on,
                                         ends_on=closure.ends_on)
    assert preview["assignment_id"].tolist() == [assignment_id]
    assert quiet.extend_due_dates(session=session, actor=ANALYST, country_iso2="CN", starts_on=closure.starts_on,
                                  ends_on=closure.ends_on) == 1
    session.commit()
    new_due = closure.ends_on + timedelta(days=14)
    assert session.get(Assignment, assignment_id).due_date == new_due
    # After the closure, reminders follow the new due date.
    after = run(engine, new_due - timedelta(days=7))
    assert after.queued.queued == {"reminder": 1}
    assert outbox_rows(session, K.reminder)[0].step == f"{new_due.isoformat()}:7d"


def test_semana_santa_is_derived_from_easter_for_mexico():
    periods = quiet.holiday_periods("MX", date(2027, 3, 1), date(2027, 4, 30))
    [holy_week] = [p for p in periods if p.name == "Semana Santa"]
    assert (holy_week.starts_on, holy_week.ends_on) == (date(2027, 3, 21), date(2027, 3, 28))  # Easter 28 March
    assert quiet.holiday_periods("MX", date(2027, 3, 1), date(2027, 4, 30), public_holidays=False) == []


def test_admin_quiet_periods_and_pauses_hold_messages(engine, session, book):
    quiet.add_period(session=session, actor=ADMIN, country_iso2="co", name="Plant shutdown", starts_on=TODAY,
                     ends_on=TODAY + timedelta(days=3))
    pauses.pause(session=session, actor=ANALYST, partner_id=book["tw"], reason="Audit dispute: Dana calls them")
    session.commit()
    report = run(engine)
    assert report.queued.total == 0
    assert report.queued.held == {"quiet period in CO": 1, "partner paused": 1, "no e-mail address": 1}
    assert run(engine, TODAY + timedelta(days=4)).queued.queued == {"invitation": 1}  # the plant reopened
    pauses.resume(session=session, actor=ANALYST, partner_id=book["tw"])
    session.commit()
    assert run(engine, TODAY + timedelta(days=4)).queued.queued == {"invitation": 1}
    with pytest.raises(PermissionDenied):
        quiet.add_period(session=session, actor=ANALYST, country_iso2="CO", name="x", starts_on=TODAY,
                         ends_on=TODAY)
    with pytest.raises(ValidationError, match="at most 92 days"):
        quiet.add_period(session=session, actor=ADMIN, country_iso2="CO", name="Season", starts_on=TODAY,
                         ends_on=TODAY + timedelta(days=120))
    with pytest.raises(ValidationError, match="reason"):
        pauses.pause(session=session, actor=ANALYST, partner_id=book["co"], reason=" ")


def test_the_weekly_cap_lets_the_most_urgent_through_first(engine, session, book):
    followup_settings.save(session=session, actor=ADMIN, values={"weekly_cap": 1})
    session.commit()
    run(engine)  # invitations: one each
    # A return on the same week would be the second message: it waits for the week to pass.
    actor = via_link(session, book["a_tw"])
    ids = questionnaire.applicable_criteria(session=session, assignment_id=book["a_tw"])
    questionnaire.save_answers(session=session, assignment_id=book["a_tw"], source="link", answered_by="x",
                               actor=actor, answers=[{"criterion_id": c, "value": "yes", "comment": ""} for c in ids])
    questionnaire.submit(session=session, assignment_id=book["a_tw"], submitted_by="x", actor=actor)
    questionnaire.return_for_fixes(session=session, actor=ANALYST, assignment_id=book["a_tw"],
                                   comments={ids[0]: "Please attach the seal log"})
    session.commit()
    assert run(engine, TODAY + timedelta(days=3)).queued.held == {"weekly cap reached": 1, "no e-mail address": 1}
    assert run(engine, TODAY + timedelta(days=7)).queued.queued == {"returned": 1}


def test_certificates_warn_the_owner_before_expiry_and_when_lost(engine, session, book):
    cert = certify(session, book["tw"], program="AEO", country="TW", number="TWAEO-77",
                   valid_to=TODAY + timedelta(days=45), verified_on=TODAY - timedelta(days=10))
    session.commit()
    queued = {}
    for offset in range(0, 50):
        report = run(engine, TODAY + timedelta(days=offset))
        kinds = {k: n for k, n in report.queued.queued.items() if k not in ("invitation", "reminder", "overdue",
                                                                            "escalation")}
        if kinds:
            queued[offset] = kinds
    # 45 days to go is already inside the 60-day step; then 30 and 7 days before; re-verification before the
    # 90-day re-check interval ends (day 80) is outside the 50 days; the expiry (day 46) is a loss.
    assert queued == {0: {"certificate expiry": 1}, 15: {"certificate expiry": 1}, 38: {"certificate expiry": 1},
                      46: {"certificate lost": 1}}
    rows = outbox_rows(session, K.certificate_expiry)
    assert [r.recipients for r in rows] == ["buyer@importer.example"] * 3
    assert [r.step for r in rows] == [f"{cert.valid_to.isoformat()}:{d}d" for d in (60, 30, 7)]
    [lost] = outbox_rows(session, K.certificate_lost)
    assert "expired" in lost.subject and lost.recipients == "buyer@importer.example"


def test_a_suspension_recorded_by_hand_tells_the_owner_once(engine, session, book):
    cert = certify(session, book["tw"], program="CTPAT", number="CT-9", verified_on=TODAY - timedelta(days=5))
    certificate_records.set_status(session=session, actor=ANALYST, certificate_id=cert.id, status="suspended",
                                   effective_on=TODAY, note="CBP suspended the account")
    session.commit()
    assert run(engine).queued.queued.get("certificate lost") == 1
    assert "certificate lost" not in run(engine).queued.queued


def test_reverification_is_due_before_the_check_goes_stale(engine, session, book):
    certify(session, book["co"], program="CTPAT", number="CT-7", verified_on=TODAY - timedelta(days=80))
    session.commit()
    report = run(engine)
    assert report.queued.queued.get("re-verification") == 1
    [row] = outbox_rows(session, K.reverification)
    assert row.step == (TODAY + timedelta(days=10)).isoformat() and row.recipients == "admin@importer.example"


def test_company_dates_go_to_the_admins(engine, session, book):
    anniversary = TODAY + timedelta(days=60)
    earlier = anniversary.replace(year=anniversary.year - 3)
    session.add(CompanyProfile(legal_name="Acme Imports Inc.", tier="Tier II", annual_review_anniversary=earlier,
                               certification_date=earlier,
                               last_validation_date=TODAY - timedelta(days=4 * 365 - 100)))
    session.commit()
    report = run(engine)
    assert report.queued.queued.get("annual review") == 1 and report.queued.queued.get("revalidation") == 1
    [review] = outbox_rows(session, K.annual_review)
    assert review.recipients == "admin@importer.example" and review.step == f"{anniversary.isoformat()}:90d"
    assert "Acme Imports Inc." in review.subject
    assert run(engine, TODAY + timedelta(days=30)).queued.queued.get("annual review") == 1  # the 30-day step
    # Invitations now name the company.
    assert outbox_rows(session, K.invitation)[0].subject.startswith("Acme Imports Inc.")


def test_templates_edited_per_language_are_checked_and_escaped(engine, session, book):
    with pytest.raises(ValidationError, match=r"\{token\} is not a placeholder"):
        templates.save_override(session=session, actor=ADMIN, kind=K.reminder, language="es", subject="{token}",
                                body="{link}")
    with pytest.raises(ValidationError, match=r"keep \{link\}"):
        templates.save_override(session=session, actor=ADMIN, kind=K.reminder, language="es", subject="Hola",
                                body="Sin enlace")
    with pytest.raises(ValidationError, match="not a placeholder"):
        templates.save_override(session=session, actor=ADMIN, kind=K.reminder, language="es", subject="x",
                                body="{link.__class__} {link}")
    with pytest.raises(PermissionDenied):
        templates.save_override(session=session, actor=ANALYST, kind=K.reminder, language="es", subject="x",
                                body="{link}")
    templates.save_override(session=session, actor=ADMIN, kind=K.invitation, language="es",
                            subject="Cuestionario {cycle} <urgente>",
                            body="Hola {contact}, <b>responda</b> aquí:\n{link}\n\nGracias")
    session.commit()
    with smtp_server() as (smtp, inbox):
        run(engine, smtp=smtp)
        [mail] = inbox.to("co-f01@partner.example")
    assert mail["Subject"] == "Cuestionario Cuestionario de seguridad de la cadena de suministro 2027 <urgente>"
    html = mail.get_body(("html",)).get_content()
    assert "&lt;b&gt;responda&lt;/b&gt;" in html and "<b>" not in html
    assert links.resolve_token(session=session, token=token_in(mail)).id == book["a_co"]
    templates.reset_override(session=session, actor=ADMIN, kind=K.invitation, language="es")
    assert not templates.template(session=session, kind=K.invitation, language="es").edited


def test_every_kind_renders_in_every_language_from_its_sample():
    from models.common import LANGUAGES
    from services.followups.rules import RULES

    assert set(RULES) == set(FollowupKind)
    for kind, rule in RULES.items():
        assert templates.placeholders(kind) <= set(rule.sample), kind
        for language in LANGUAGES:
            rendered = templates.render(templates.default(kind, language), rule.sample)
            assert "{" not in rendered.text and rendered.subject and "\n" not in rendered.subject
            if rule.carries_link:
                assert rule.sample["link"] in rendered.text


def test_settings_are_checked_and_only_admins_change_them(session, staff):
    with pytest.raises(ValidationError) as refused:
        followup_settings.save(session=session, actor=ADMIN, values={"reminder_days": "14, x", "weekly_cap": 0})
    assert "reminders" in str(refused.value) and "messages per partner per week" in str(refused.value)
    with pytest.raises(PermissionDenied):
        followup_settings.save(session=session, actor=ANALYST, values={"weekly_cap": 5})
    saved = followup_settings.save(session=session, actor=ADMIN, values={"reminder_days": "21, 7", "disabled_kinds":
                                                                         [K.revalidation]})
    assert saved.reminder_days == (21, 7) and not saved.enabled(K.revalidation)
    assert followup_settings.current(session=session) == saved


def test_viewers_cannot_queue_send_retry_or_pause(engine, session, book):
    with pytest.raises(PermissionDenied):
        followup_engine.queue(session=session, actor=VIEWER)
    with pytest.raises(PermissionDenied):
        outbox.retry(session=session, actor=VIEWER, ids=[1])
    with pytest.raises(PermissionDenied):
        outbox.send_now(engine=engine, actor=ANALYST, ids=[1])  # send now: admins only
    with pytest.raises(PermissionDenied):
        pauses.pause(session=session, actor=VIEWER, partner_id=book["tw"], reason="x")


def test_send_now_sends_only_the_chosen_messages(engine, session, book):
    run(engine)
    rows = outbox_rows(session)
    with smtp_server() as (smtp, inbox):
        report = outbox.send_now(engine=engine, actor=ADMIN, ids=[rows[0].id], smtp=smtp)
        assert report.sent == 1 and len(inbox.messages) == 1
    assert [r.status for r in outbox_rows(session)] == [M.sent, M.queued]


def test_action_items_remind_their_owner_before_the_due_date_and_once_when_overdue(engine, session, book):
    """Items still to act on (open, in progress, reopened) remind their owner 7 and 1 day(s) before the due date and
    once the day after it; an item marked done waits on the team and gets none."""
    from services.actions import items

    due = TODAY + timedelta(days=7)
    mine = items.add_item(session=session, actor=ANALYST, values={
        "title": "Seal verification (VVTT) at loading", "due_date": due, "owner": "buyer", "partner_id": book["tw"],
        "priority": 1})
    items.add_item(session=session, actor=ANALYST, values={"title": "Unowned: goes to the admins", "due_date": due})
    session.commit()
    with smtp_server() as (smtp, inbox):
        report = run(engine, smtp=smtp)
        assert report.queued.queued.get("action due") == 2
        [mail] = [m for m in inbox.to("buyer@importer.example") if "Action item due" in m["Subject"]]
        assert "Seal verification (VVTT) at loading" in mail["Subject"] and f"due on {due}" in \
            mail.get_body(("plain",)).get_content()
        assert [m for m in inbox.to("admin@importer.example") if "Unowned" in m["Subject"]]
        assert run(engine, smtp=smtp).queued.queued.get("action due") is None  # once per step
        assert run(engine, day=due - timedelta(days=1), smtp=smtp).queued.queued.get("action due") == 2
        overdue = run(engine, day=due + timedelta(days=1), smtp=smtp)
        assert overdue.queued.queued.get("action overdue") == 2
        assert run(engine, day=due + timedelta(days=5), smtp=smtp).queued.queued.get("action overdue") is None
    kinds = [m.kind for m in outbox_rows(session) if m.object_id == str(mine.id) and m.kind.startswith("action")]
    assert kinds == [FollowupKind.action_due, FollowupKind.action_due, FollowupKind.action_overdue]


def test_two_runs_at_the_same_moment_queue_and_send_each_message_once(engine, session, book):
    """cron started twice (or two servers' crons): the run lock and the outbox's unique key and claims keep every
    message single, on SQLite and PostgreSQL."""
    import threading

    barrier = threading.Barrier(2)
    reports, errors = [], []

    def one_run(smtp):
        try:
            barrier.wait(timeout=30)
            reports.append(run(engine, smtp=smtp))
        except Exception as error:  # reported below with the test's own message
            errors.append(error)

    with smtp_server() as (smtp, inbox):
        threads = [threading.Thread(target=one_run, args=(smtp,)) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        assert not errors, errors
        assert sorted(sum(r.queued.queued.values()) for r in reports) == [0, 2]
        assert len(inbox.to("tw-f01@partner.example")) == 1 and len(inbox.to("co-f01@partner.example")) == 1
    rows = outbox_rows(session, FollowupKind.invitation)
    assert len(rows) == 2 and len({(r.kind, r.object_id, r.step) for r in rows}) == 2  # the US broker: no address
    assert all(r.status == MessageStatus.sent for r in rows)
