"""AppTests of the Follow-ups page: every role sees it, the dry-run preview, and the writes each role may do."""

from datetime import date, timedelta

import pytest
from sqlmodel import select

from models import FollowupPause
from models.followups import FollowupKind
from pages import followups as followups_page
from services.collection import cycles
from services.followups import settings as followup_settings
from tests.conftest import ANALYST
from tests.test_followups import add_partner


@pytest.fixture
def cycle(session, staff):
    tw = add_partner(session, "TW-F01")
    co = add_partner(session, "CO-F01", country="CO", language="es")
    cycles.open_cycle(session=session, actor=ANALYST, name="2027 annual review",
                      due_date=date.today() + timedelta(days=30), partner_ids=[tw.id, co.id])
    session.commit()
    return {"tw": tw.id, "co": co.id}


TAB = "followups_tab"


def buttons_on(at, tab: str) -> set[str]:
    """The button labels on one tab of the page (only the open tab is drawn)."""
    at.session_state[TAB] = tab
    at.run()
    assert not at.exception
    return {b.label for b in at.button}


@pytest.mark.parametrize("role", ["admin", "analyst", "viewer"])
def test_renders_for_every_role_with_the_preview(page_app, cycle, role, monkeypatch):
    monkeypatch.delenv("CTPAT_SMTP_HOST", raising=False)
    at = page_app("followups", role=role).run()
    assert not at.exception
    assert at.title[0].value == "Follow-ups"
    assert any("SMTP is not configured" in w.value for w in at.warning)
    preview = at.dataframe[0].value
    assert sorted(preview["kind"].astype(str)) == ["invitation", "invitation"]
    assert sorted(preview["language"]) == ["es", "zh"]
    assert {t.label for t in at.tabs} == set(followups_page.TABS)
    assert not at.text_input  # only the open tab is drawn
    assert ("Save settings" in buttons_on(at, "Settings")) == (role == "admin")
    assert ("Pause" in buttons_on(at, "Pauses")) == (role != "viewer")


def test_an_analyst_pauses_a_partner_and_the_preview_holds_it(page_app, cycle, session):
    at = page_app("followups", role="analyst")
    at.session_state[TAB] = "Pauses"
    at.run()
    form = next(s for s in at.selectbox if s.label == "Partner")
    form.set_value(cycle["tw"])
    [reason] = [t for t in at.text_input if t.label == "Reason"]
    reason.input("Factory moving to a new site")
    next(b for b in at.button if b.label == "Pause").click()
    at.run()
    assert not at.exception and not at.error
    session.expire_all()
    [pause] = session.exec(select(FollowupPause)).all()
    assert pause.partner_id == cycle["tw"] and pause.reason == "Factory moving to a new site"
    assert "Paused TW-F01" in at.success[0].value
    at.session_state[TAB] = "Due this week"
    at.run()
    preview = at.dataframe[0].value
    assert preview.loc[preview["recipients"] == "tw-f01@partner.example", "hold"].tolist() == ["partner paused"]


def test_an_admin_changes_the_settings_and_bad_values_are_refused(page_app, cycle, session):
    at = page_app("followups", role="admin")
    at.session_state[TAB] = "Settings"
    at.run()
    field = next(t for t in at.text_input if t.label == "Reminders, days before the due date")
    field.input("21, 7")
    next(b for b in at.button if b.label == "Save settings").click()
    at.run()
    assert not at.exception and not at.error
    session.expire_all()
    assert followup_settings.current(session=session).reminder_days == (21, 7)
    field = next(t for t in at.text_input if t.label == "Reminders, days before the due date")
    field.input("soon")
    next(b for b in at.button if b.label == "Save settings").click()
    at.run()
    assert at.error and "soon" in at.error[0].value and "reminders" in at.error[0].value
    session.expire_all()
    assert followup_settings.current(session=session).reminder_days == (21, 7)


def test_an_admin_adds_a_quiet_period_and_moves_the_due_dates_around_it(page_app, cycle, session):
    from models import Assignment, QuietPeriod

    due = date.today() + timedelta(days=30)
    at = page_app("followups", role="admin")
    at.session_state[TAB] = "Quiet periods"
    at.run()
    next(t for t in at.text_input if t.label == "Country (ISO code, e.g. CN)").input("CO")
    next(t for t in at.text_input if t.label == "Name").input("Plant shutdown")
    next(d for d in at.date_input if d.label == "First day").set_value(due - timedelta(days=3))
    next(d for d in at.date_input if d.label == "Last day").set_value(due + timedelta(days=2))
    next(b for b in at.button if b.label == "Add").click()
    at.run()
    assert not at.exception and "Added the quiet period Plant shutdown." in at.success[0].value
    [period] = session.exec(select(QuietPeriod)).all()
    assert (period.country_iso2, period.name) == ("CO", "Plant shutdown")
    picker = next(s for s in at.selectbox if s.label == "Move the due dates around a period")
    picker.set_value(next(i for i, label in enumerate(picker.options) if "Plant shutdown" in label)).run()
    move = next(b for b in at.button if b.label.startswith("Move 1 due date(s) to "))
    move.click()
    at.run()
    assert not at.exception and "Moved 1 due date(s)." in at.success[0].value
    session.expire_all()
    moved = session.exec(select(Assignment.due_date).where(Assignment.partner_id == cycle["co"])).one()
    assert moved is not None and moved > due + timedelta(days=2)


@pytest.mark.parametrize("role", ["admin", "analyst", "viewer"])
def test_every_message_shows_in_each_language_and_only_admins_edit_it(page_app, cycle, session, role):
    at = page_app("followups", role=role)
    at.session_state[TAB] = "Messages"
    at.run()
    next(s for s in at.selectbox if s.label == "Message").set_value(FollowupKind.reminder)
    at.run()
    assert not at.exception
    assert any("Default text" in c.value for c in at.caption)
    forms = [t for t in at.text_area if t.label == "Text"]
    assert bool(forms) == (role == "admin")
    if role != "admin":
        return
    next(t for t in at.text_input if t.label == "Subject").input("Recordatorio: {cycle} vence el {due}")
    next(b for b in at.button if b.label == "Save this text").click()
    at.run()
    assert not at.exception and not at.error
    at.segmented_control(key="followups_template_language").set_value("es").run()
    assert any("Default text" in c.value for c in at.caption)  # the edit was English; Spanish keeps its default
    at.segmented_control(key="followups_template_language").set_value("en").run()
    assert any("Edited by an admin" in c.value for c in at.caption)


def test_presentation_mode_draws_the_page_read_only_for_an_admin(page_app, cycle):
    """On a shared screen nothing can be changed by a stray click: the admin's page has no editing controls."""
    at = page_app("followups", role="admin")
    at.session_state["presentation_mode"] = True
    at.run()
    assert not at.exception
    assert "Save settings" not in buttons_on(at, "Settings") and "Pause" not in buttons_on(at, "Pauses")
