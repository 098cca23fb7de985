"""Follow-ups: what goes out today and this week, the outbox, pauses and the settings of the automatic e-mails.

The page never talks to SMTP: it shows what ``manage.py send-followups`` (cron) queues and sends; "send now" (admins)
and "retry" use the same sender and outbox as the command.
"""

from datetime import date, timedelta

import pandas as pd
import streamlit as st

from models.common import LANGUAGES
from models.followups import FollowupKind, MessageStatus
from services.core import config
from services.core.permissions import Actor
from services.followups import engine as followup_engine
from services.followups import outbox, pauses, quiet, templates
from services.followups import settings as followup_settings
from services.followups.rules import RULES
from ui import auth, presentation, state
from ui import text as ui_text

FLASH = "followups_flash"
QUIET_HORIZON = 120  # days of quiet periods listed ahead
PREVIEW_COLUMNS = ["day", "kind", "recipients", "recipient_name", "language", "object_id", "step", "hold"]
TABS = ("Due this week", "Outbox", "Pauses", "Quiet periods", "Messages", "Settings")


@st.cache_data(show_spinner=False, max_entries=5)
def _data(url: str, version: int, today: date) -> dict:
    with state.session() as s:
        return {"counts": outbox.status_counts(session=s), "outbox": outbox.messages(session=s),
                "forecast": followup_engine.forecast(session=s, today=today, days=7),
                "pauses": pauses.pauses(session=s, day=today), "partners": pauses.partner_choices(session=s),
                "settings": followup_settings.current(session=s),
                "periods": quiet.periods(session=s, start=today, end=today + timedelta(days=QUIET_HORIZON)),
                "edits": templates.overrides(session=s)}


@st.cache_data(show_spinner=False, max_entries=20)
def _extension(url: str, version: int, country: str, starts_on: date, ends_on: date) -> pd.DataFrame:
    with state.session() as s:
        return quiet.extension_candidates(session=s, country_iso2=country, starts_on=starts_on, ends_on=ends_on)


def _smtp_line() -> None:
    try:
        smtp = config.smtp_settings()
    except ValueError as error:
        st.error(f"SMTP settings: {error}")
        return
    if smtp.configured:
        st.caption(f"SMTP: {smtp.host}:{smtp.port} ({smtp.security}), from {smtp.sender}.")
    else:
        st.warning("SMTP is not configured: messages stay queued in the outbox until it is (README, "
                   "\"Follow-ups\").", icon=":material/mail_lock:")


def _due_tab(data: dict, today: date) -> None:
    forecast = data["forecast"]
    st.caption("A dry run of the rules for today and the next six days: what the command would queue on each day "
               "(nothing is written). \"hold\" says why a message waits (quiet period, pause, weekly cap, no "
               "address).")
    if forecast.empty:
        st.info("Nothing becomes due in the next seven days.")
        return
    today_rows = forecast[forecast["day"] == today]
    st.metric("Due today", len(today_rows[today_rows["hold"] == ""]))
    st.dataframe(presentation.masked(forecast[PREVIEW_COLUMNS]), hide_index=True, width="stretch",
                 column_config={"day": st.column_config.DateColumn("day"), "object_id": "object",
                                "recipient_name": "name"})


def _outbox_tab(actor: Actor, data: dict) -> None:
    counts = data["counts"]
    st.caption(" · ".join(f"{n} {status}" for status, n in counts.items()))
    frame = data["outbox"]
    if frame.empty:
        st.info("The outbox is empty: the command queues messages when they are due.")
        return
    status = st.multiselect("Status", [str(m) for m in MessageStatus], key="followups_status")
    shown = frame[frame["status"].isin(status)] if status else frame
    st.dataframe(presentation.masked(shown.drop(columns=["partner_id", "assignment_id"])),
                 hide_index=True, width="stretch",
                 column_config={"due_on": st.column_config.DateColumn("due"),
                                "queued_at": st.column_config.DatetimeColumn("queued on", format="YYYY-MM-DD HH:mm"),
                                "sent_at": st.column_config.DatetimeColumn("sent on", format="YYYY-MM-DD HH:mm"),
                                "next_attempt_at": st.column_config.DatetimeColumn("next try",
                                                                                   format="YYYY-MM-DD HH:mm")})
    if not actor.can_write:
        return
    labels = {int(r.id): f"#{r.id} {r.kind} to {r.recipients} ({r.status})" for r in shown.itertuples()}
    chosen = st.multiselect("Messages", list(labels), format_func=labels.get, key="followups_chosen")
    left, middle, right = st.columns(3)
    if left.button("Retry", icon=":material/replay:", disabled=not chosen, key="followups_retry"):
        if state.write(lambda s: outbox.retry(session=s, actor=actor, ids=chosen),
                       success="Put back in the queue for the next run.", flash_key=FLASH):
            st.rerun()
    if middle.button("Cancel", icon=":material/cancel:", disabled=not chosen, key="followups_cancel"):
        if state.write(lambda s: outbox.cancel(session=s, actor=actor, ids=chosen), success="Cancelled.",
                       flash_key=FLASH):
            st.rerun()
    if actor.is_admin and right.button("Send now", icon=":material/send:", disabled=not chosen,
                                       key="followups_send"):
        report: list = []
        if state.write(lambda s: report.append(outbox.send_now(engine=state.engine(), actor=actor, ids=chosen)),
                       flash_key=FLASH):
            st.session_state[FLASH] = report[0].summary() if report else "Sent."
            st.rerun()


def _pauses_tab(actor: Actor, data: dict, today: date) -> None:
    st.caption("Nobody chases a paused partner (no invitation, reminder, notice or escalation) until the pause ends "
               "or is lifted; certificate and company messages to the team still go.")
    current = data["pauses"]
    if current.empty:
        st.info("No partner is paused.")
    else:
        st.dataframe(presentation.masked(current.drop(columns=["partner_id"])), hide_index=True, width="stretch")
    if not actor.can_write:
        return
    partners = data["partners"]
    with st.form("followups_pause"):
        partner = st.selectbox("Partner", list(partners), format_func=partners.get, index=None,
                               placeholder="Choose a partner")
        until = st.date_input("Until (empty: until lifted)", value=None, min_value=today)
        reason = st.text_input("Reason", max_chars=300)
        paused = st.form_submit_button("Pause", icon=":material/pause:")
    if paused:
        if partner is None:
            st.error("Choose a partner.")
        elif state.write(lambda s: pauses.pause(session=s, actor=actor, partner_id=int(partner), reason=reason,
                                                until=until, today=today),
                         success=f"Paused {partners[partner]}.", flash_key=FLASH):
            st.rerun()
    if not current.empty:
        names = dict(zip(current["partner_id"].astype(int), current["partner_code"], strict=True))
        lift = st.selectbox("Lift the pause of", list(names), format_func=names.get, index=None,
                            key="followups_lift")
        if lift is not None and st.button("Resume", icon=":material/play_arrow:", key="followups_resume"):
            if state.write(lambda s: pauses.resume(session=s, actor=actor, partner_id=int(lift)),
                           success=f"Resumed {names[lift]}.", flash_key=FLASH):
                st.rerun()


def _days(values: tuple[int, ...]) -> str:
    return ", ".join(str(d) for d in values)


def _settings_tab(actor: Actor, data: dict) -> None:
    current: followup_settings.Settings = data["settings"]
    st.dataframe(pd.DataFrame([{"kind": str(k), "when": r.when, "on": k not in current.disabled_kinds}
                               for k, r in RULES.items()]), hide_index=True, width="stretch")
    if not actor.is_admin:
        st.caption(f"Reminders {_days(current.reminder_days)} days before the due date; escalation after "
                   f"{current.escalate_after_days} days overdue; at most {current.weekly_cap} messages per partner "
                   "a week. Admins change these.")
        return
    with st.form("followups_settings"):
        reminders = st.text_input("Reminders, days before the due date", _days(current.reminder_days))
        escalate = st.number_input("Escalate to the owner after days overdue", 1, 365, current.escalate_after_days)
        expiry = st.text_input("Certificate expiry warnings, days before", _days(current.certificate_expiry_days))
        cap = st.number_input("At most this many messages per partner a week", 1, 50, current.weekly_cap)
        holidays = st.checkbox("Hold messages on public holidays and factory closures", current.public_holidays)
        off = st.multiselect("Switched off", [str(k) for k in FollowupKind],
                             default=sorted(str(k) for k in current.disabled_kinds))
        saved = st.form_submit_button("Save settings", type="primary", icon=":material/save:")
    if saved:
        values = {"reminder_days": reminders, "escalate_after_days": int(escalate),
                  "certificate_expiry_days": expiry, "weekly_cap": int(cap), "public_holidays": holidays,
                  "disabled_kinds": off}
        if state.write(lambda s: followup_settings.save(session=s, actor=actor, values=values),
                       success="Saved the follow-up settings.", flash_key=FLASH):
            st.rerun()


def _quiet_tab(actor: Actor, data: dict, today: date) -> None:
    st.caption("While a partner's country is in a quiet period (public holidays from the `holidays` package, widened "
               "where factories close longer, e.g. Chinese New Year and Semana Santa, or a period an admin adds), "
               "its partners' messages wait. Due dates falling in or just after a period can be moved in one step.")
    periods = data["periods"]
    if periods.empty:
        st.info(f"No quiet period in the next {QUIET_HORIZON} days for the partners' countries.")
    else:
        st.dataframe(periods.drop(columns=["period_id"]), hide_index=True, width="stretch",
                     column_config={"country_iso2": "country", "starts_on": st.column_config.DateColumn("from"),
                                    "ends_on": st.column_config.DateColumn("to")})
    if not actor.can_write:
        return
    choices = {i: f"{r['country_iso2']} · {r['name']} · {r['starts_on']} to {r['ends_on']}"
               for i, r in periods.iterrows()}
    picked = st.selectbox("Move the due dates around a period", list(choices), format_func=choices.get, index=None,
                          placeholder="Choose a period", key="followups_extend_period")
    if picked is not None:
        period = periods.loc[picked]
        candidates = _extension(state.database_url(), state.data_version(), period["country_iso2"],
                                period["starts_on"], period["ends_on"])
        if candidates.empty:
            st.caption("No open questionnaire of that country is due in or just after the period.")
        else:
            st.dataframe(presentation.masked(candidates.drop(columns=["assignment_id", "partner_id"])),
                         hide_index=True, width="stretch")
            if st.button(f"Move {len(candidates)} due date(s) to {candidates['new_due_date'].iloc[0]}",
                         icon=":material/event_upcoming:", key="followups_extend"):
                if state.write(lambda s: quiet.extend_due_dates(
                        session=s, actor=actor, country_iso2=period["country_iso2"], starts_on=period["starts_on"],
                        ends_on=period["ends_on"]), success=f"Moved {len(candidates)} due date(s).", flash_key=FLASH):
                    st.rerun()
    if not actor.is_admin:
        return
    with st.form("followups_quiet", clear_on_submit=True):
        st.markdown("**Add a quiet period** (admins)")
        country = st.text_input("Country (ISO code, e.g. CN)", max_chars=2)
        name = st.text_input("Name", placeholder="Plant shutdown", max_chars=120)
        first, last = st.columns(2)
        starts_on = first.date_input("First day", value=None, min_value=today)
        ends_on = last.date_input("Last day", value=None, min_value=today)
        added = st.form_submit_button("Add", icon=":material/add:")
    if added and state.write(lambda s: quiet.add_period(session=s, actor=actor, country_iso2=country, name=name,
                                                        starts_on=starts_on, ends_on=ends_on),
                             success=f"Added the quiet period {name}.", flash_key=FLASH):
        st.rerun()
    own = periods[periods["period_id"].notna()]
    if not own.empty:
        names = {int(r.period_id): f"{r.country_iso2} · {r.name}" for r in own.itertuples()}
        gone = st.selectbox("Remove a period an admin added", list(names), format_func=names.get, index=None,
                            key="followups_remove_period")
        if gone is not None and st.button("Remove", icon=":material/delete:", key="followups_remove"):
            if state.write(lambda s: quiet.remove_period(session=s, actor=actor, period_id=gone),
                           success=f"Removed {names[gone]}.", flash_key=FLASH):
                st.rerun()


def _templates_tab(actor: Actor, data: dict) -> None:
    st.caption("Each kind of message in each language, as it goes out (filled with example values). Admins may "
               "edit one; the placeholders in braces are filled when it is sent, and typed text is never markup.")
    left, right = st.columns(2)
    kind = left.selectbox("Message", list(RULES), format_func=str, key="followups_template_kind")
    language = right.segmented_control("Language", list(LANGUAGES), format_func=LANGUAGES.get, default="en",
                                       required=True, key="followups_template_language")
    rule = RULES[kind]
    template = data["edits"].get((kind, language)) or templates.default(kind, language)
    shown = templates.render(template, {**rule.sample, "link": "https://ctpat.example/?token=…"})
    st.caption(f"{'Edited by an admin' if template.edited else 'Default text'}; sent {rule.when}.")
    with st.container(border=True):
        st.markdown(f"**{ui_text.plain(shown.subject)}**")
        st.text(shown.text)
    if not actor.is_admin:
        return
    with st.form(f"followups_template_{kind.name}_{language}"):
        subject = st.text_input("Subject", template.subject)
        body = st.text_area("Text", template.body, height=260)
        st.caption("Placeholders: " + ", ".join(f"{{{p}}}" for p in sorted(templates.placeholders(kind))))
        saved = st.form_submit_button("Save this text", icon=":material/save:")
    if saved and state.write(lambda s: templates.save_override(session=s, actor=actor, kind=kind, language=language,
                                                               subject=subject, body=body),
                             success=f"Saved the {kind} message in {LANGUAGES[language]}.", flash_key=FLASH):
        st.rerun()
    if template.edited and st.button("Back to the default text", icon=":material/undo:",
                                     key="followups_template_reset"):
        if state.write(lambda s: templates.reset_override(session=s, actor=actor, kind=kind, language=language),
                       success=f"Restored the default {kind} message.", flash_key=FLASH):
            st.rerun()


def render() -> None:
    actor = auth.require_role()
    if actor is None:
        return
    st.title("Follow-ups")
    st.caption("Invitations, reminders, overdue notices, escalations and certificate and company dates by e-mail, "
               "each sent once; `manage.py send-followups` runs them from cron.")
    message = st.session_state.pop(FLASH, None)
    if message:
        st.success(message, icon=":material/check_circle:")
    _smtp_line()
    today = date.today()
    data = _data(state.database_url(), state.data_version(), today)
    # Only the open tab is drawn (a rerun on switching tabs): drawing all six made a page switch cost the browser
    # some 0.5 s of mounting hidden tables and forms (bench/bench_page_switch.py, docs/PERFORMANCE.md).
    for name, tab in zip(TABS, st.tabs(list(TABS), key="followups_tab", on_change="rerun"), strict=True):
        if not tab.open:
            continue
        with tab:
            if name == "Due this week":
                _due_tab(data, today)
            elif name == "Outbox":
                _outbox_tab(actor, data)
            elif name == "Pauses":
                _pauses_tab(actor, data, today)
            elif name == "Quiet periods":
                _quiet_tab(actor, data, today)
            elif name == "Messages":
                _templates_tab(actor, data)
            else:
                _settings_tab(actor, data)
    st.caption(f"Window: {today.isoformat()} to {(today + timedelta(days=6)).isoformat()}.")
