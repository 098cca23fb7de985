"""Follow-ups: what goes out today and this week, the outbox, pauses and the settings of the automatic e-mails.

The page never talks to SMTP: it shows what ``manage.py send-followups`` (cron) queues and sends; "send now" (admins)
and "retry" use the same sender and outbox as the command.
"""

from datetime import date, timedelta

import pandas as pd
import streamlit as st

from models.followups import FollowupKind, MessageStatus
from services.core import config
from services.core.permissions import Actor
from services.followups import engine as followup_engine
from services.followups import outbox, pauses
from services.followups import settings as followup_settings
from services.followups.rules import RULES
from ui import auth, state

FLASH = "followups_flash"
PREVIEW_COLUMNS = ["day", "kind", "recipients", "recipient_name", "language", "object_id", "step", "hold"]


@st.cache_data(show_spinner=False, max_entries=5)
def _data(url: str, version: int, today: date) -> dict:
    with state.session() as s:
        return {"counts": outbox.status_counts(session=s), "outbox": outbox.messages(session=s),
                "forecast": followup_engine.forecast(session=s, today=today, days=7),
                "pauses": pauses.pauses(session=s, day=today), "partners": pauses.partner_choices(session=s),
                "settings": followup_settings.current(session=s)}


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
    st.dataframe(forecast[PREVIEW_COLUMNS], hide_index=True, width="stretch",
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
    st.dataframe(shown.drop(columns=["partner_id", "assignment_id"]), hide_index=True, width="stretch",
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
        st.dataframe(current.drop(columns=["partner_id"]), hide_index=True, width="stretch")
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
    due, box, paused, settings = st.tabs(["Due this week", "Outbox", "Pauses", "Settings"])
    with due:
        _due_tab(data, today)
    with box:
        _outbox_tab(actor, data)
    with paused:
        _pauses_tab(actor, data, today)
    with settings:
        _settings_tab(actor, data)
    st.caption(f"Window: {today.isoformat()} to {(today + timedelta(days=6)).isoformat()}.")
