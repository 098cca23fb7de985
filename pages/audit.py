"""Audit trail: every change in words (who, when, what, before and after), filterable by person, object and date,
exportable as CSV. Append-only for everyone, admins included: the page has no edit or delete, and the database
refuses them."""

import pandas as pd
import streamlit as st

from models.common import Role
from services import audittrail
from services.core.permissions import Actor
from ui import auth, labels, presentation, state

SHOWN = 500


@st.cache_data(show_spinner=False, max_entries=20)
def _events(url: str, version: int, filters: dict, actor_name: str, role: str) -> pd.DataFrame:
    with state.session() as s:
        return audittrail.events(session=s, actor=Actor(actor_name, role), limit=SHOWN, **filters)


@st.cache_data(show_spinner=False, max_entries=5)
def _choices(url: str, version: int, actor_name: str, role: str) -> dict[str, list[str]]:
    with state.session() as s:
        return audittrail.choices(session=s, actor=Actor(actor_name, role))


def render() -> None:
    actor = auth.require_role(Role.admin, Role.analyst)
    if actor is None:
        return
    st.title("Audit trail")
    st.caption("Every change, in words: who did what and when, with the values before and after. A bulk action such "
               "as an import is one event with its counts and its import record. The trail is append-only for "
               "everyone, admins included: the database refuses to change or delete an event.")
    url = state.database_url()
    version = state.data_version()
    if presentation.active():  # ui.auth made the actor a viewer for writes; reading the trail needs the real role
        actor = auth.current_user()
    options = _choices(url, version, actor.username, actor.role)
    c1, c2, c3 = st.columns(3)
    person = c1.selectbox("Person", options["people"], index=None, placeholder="Anyone", key="audit_person",
                          format_func=presentation.hidden)
    kind = c2.selectbox("Object", options["records"], index=None, placeholder="Anything", key="audit_object")
    record_id = c3.text_input("Object id", key="audit_object_id", placeholder="e.g. a partner code or 1.3")
    c4, c5, c6 = st.columns(3)
    since = c4.date_input("From", value=None, key="audit_since")
    until = c5.date_input("To", value=None, key="audit_until")
    text = c6.text_input("Text", key="audit_text", placeholder="in the summary or the object id")
    if since and until and since > until:
        st.warning("'From' is after 'To': no event can match.", icon=":material/date_range:")
    filters = {"username": person, "entity": kind, "record_id": record_id.strip() or None, "since": since,
               "until": until, "text": text.strip() or None}
    frame = _events(url, version, filters, actor.username, actor.role)
    more = f" (the newest {SHOWN:,}; narrow the filters, or download them all)" if len(frame) == SHOWN else ""
    st.caption(f"{len(frame):,} events{more}")
    labels.table(frame, audittrail.COLUMNS, overrides={
        "at": st.column_config.DatetimeColumn("When (UTC)", format="YYYY-MM-DD HH:mm:ss"),
        "user": "Who", "action": "Did", "record": "What", "summary": ("Summary", "long"),
        "changes": ("Before and after", "long"), "import_record": "Import record"}, key="audit_table")

    def download() -> bytes:
        with state.session() as s:
            return audittrail.events_csv(session=s, actor=actor, **filters)

    st.download_button("Download CSV", data=download, file_name="audit-trail.csv", mime="text/csv",
                       on_click="ignore", icon=":material/download:", key="audit_csv")
