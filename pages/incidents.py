"""Step 4 · Incidents: the register of security incidents and exceptions (seal discrepancies, breaches, contraband,
shortages and overages, suspicious activity), their internal investigation (MSC 7.37) and closing. An open incident
has an action item in the plan and counts against its partner and lane."""

from datetime import date, timedelta

import pandas as pd
import streamlit as st

from models.incidents import IncidentKind, IncidentStatus
from services.actions import incidents
from services.lanes.registry import list_lanes
from services.partners import registry as partners
from services.partners import sites
from ui import actions as actions_ui
from ui import auth, labels, presentation, state
from ui.text import plain

FLASH = "incidents_flash"
ROUND = "incidents_round"
KINDS = [k.value for k in IncidentKind]
STATUSES = [s.value for s in IncidentStatus]
STATUS_COLORS = {IncidentStatus.open: "red", IncidentStatus.investigating: "orange", IncidentStatus.closed: "green"}
TABLE_COLUMNS = ["id", "occurred_on", "kind", "status", "partner_code", "site_name", "lane_code", "description",
                 "reported_to", "reported_on", "action_id", "action_status"]
TABLE_LABELS = {"id": ("Id", "number"), "occurred_on": ("Date", "date"), "kind": "Kind", "partner_code": "Partner",
                "site_name": "Site", "lane_code": "Lane", "description": ("What happened", "long"),
                "reported_to": "Reported to", "reported_on": ("Reported on", "date"),
                "action_id": ("Action", "number"), "action_status": "Action status"}


@st.cache_data(show_spinner=False, max_entries=5)
def _register(url: str, version: int) -> pd.DataFrame:
    with state.session() as s:
        return incidents.list_incidents(session=s)


@st.cache_data(show_spinner=False, max_entries=5)
def _choices(url: str, version: int) -> dict:
    with state.session() as s:
        lanes = list_lanes(session=s)
        return {"partners": partners.partner_options(session=s),
                "lanes": {int(i): f"{c} · {n}" for i, c, n in zip(lanes["id"], lanes["code"], lanes["name"],
                                                                   strict=True)}}


@st.cache_data(show_spinner=False, max_entries=50)
def _sites(url: str, version: int, partner_id: int) -> dict[int, str]:
    with state.session() as s:
        found = sites.list_sites(session=s, partner_id=partner_id)
    return {int(i): f"{n} ({c}, {iso})" for i, n, c, iso in zip(found["id"], found["name"], found["city"],
                                                                 found["country_iso2"], strict=True)}


def _written(action, message: str) -> None:
    if state.write(action, success=message, flash_key=FLASH):
        st.session_state[ROUND] = st.session_state.get(ROUND, 0) + 1
        st.rerun()


def _record_tab(url: str, actor, version: int) -> None:
    choices = _choices(url, version)
    st.caption("Name the partner (and its site) or the lane where it happened, or both. Recording an incident puts "
               "an action item for its investigation into the plan at once.")
    options = choices["partners"]
    partner_id = st.selectbox("Partner", list(options), index=None, format_func=options.get,
                              key="incident_new_partner", placeholder="None (a lane only)")
    site_options = _sites(url, version, partner_id) if partner_id is not None else {}
    owners = actions_ui.owner_choices(url, version)
    with st.form("incident_new", enter_to_submit=False):
        c1, c2, c3 = st.columns(3)
        occurred = c1.date_input("Date", value=date.today(), max_value=date.today(), key="incident_new_date")
        kind = c2.selectbox("Kind", KINDS, index=None, key="incident_new_kind", placeholder="Choose")
        site_id = c3.selectbox("Site", list(site_options), index=None, format_func=site_options.get,
                               key="incident_new_site", placeholder="Not a particular site",
                               disabled=not site_options)
        lanes = choices["lanes"]
        lane_id = st.selectbox("Lane", list(lanes), index=None, format_func=lanes.get, key="incident_new_lane",
                               placeholder="No lane")
        description = st.text_area("What happened", max_chars=4000, key="incident_new_description")
        r1, r2 = st.columns(2)
        reported_to = r1.multiselect("Reported to", incidents.REPORTED_TO, accept_new_options=True,
                                     key="incident_new_reported_to", placeholder="Nobody yet")
        reported_on = r2.date_input("Reported on", value=None, max_value=date.today(), key="incident_new_reported_on")
        owner = st.selectbox("Owner of its action item", ["", *owners],
                             format_func=lambda u: owners.get(u, "The partner's owner, else you"),
                             key="incident_new_owner")
        submitted = st.form_submit_button("Record incident", type="primary", icon=":material/report:")
    if submitted:
        values = {"occurred_on": occurred, "kind": kind, "partner_id": partner_id, "site_id": site_id,
                  "lane_id": lane_id, "description": description, "reported_to": ", ".join(reported_to),
                  "reported_on": reported_on}
        _written(lambda s: incidents.record_incident(session=s, actor=actor, values=values, owner=owner or None),
                 "Recorded the incident; its action item is in the plan.")


def _detail(actor, row: pd.Series) -> None:
    incident_id = int(row["id"])
    with st.container(border=True):
        st.markdown(f"**Incident {incident_id} · {row['kind']} on {row['occurred_on']}** "
                    f":{STATUS_COLORS[IncidentStatus(row['status'])]}-badge[{row['status']}]")
        where = [f"**Partner:** {presentation.partner(plain(row['partner_code']), plain(row['partner_name']))}"
                 if row["partner_code"]
                 else "", f"**Site:** {plain(row['site_name'])}" if row["site_name"] else "",
                 f"**Lane:** {plain(row['lane_code'])}" if row["lane_code"] else ""]
        st.markdown("  \n".join(w for w in where if w))
        st.markdown(f"**What happened:** {plain(row['description'])}")
        reported = (f"{plain(row['reported_to'])}" + (f" on {row['reported_on']}" if pd.notna(row["reported_on"])
                                                      else "")) if row["reported_to"] else "not reported yet"
        st.markdown(f"**Reported to:** {reported}")
        if row["investigation"]:
            st.markdown(f"**Investigation (MSC 7.37):** {plain(row['investigation'])}")
        if row["closing_note"]:
            st.markdown(f"**Closed on {row['closed_on']} by {plain(row['closed_by'])}:** {plain(row['closing_note'])}")
        if pd.notna(row["action_id"]):
            st.caption(f"Action item #{int(row['action_id'])} ({row['action_status']}) on the Action plan page.")
        st.caption(f"Recorded by {plain(row['created_by'])} on {row['created_at']:%Y-%m-%d}; last change by "
                   f"{plain(row['updated_by'])} on {row['updated_at']:%Y-%m-%d %H:%M} UTC.")
        if not actor.can_write:
            return
        version = int(row["version"])
        for target in incidents.NEXT[IncidentStatus(row["status"])]:
            label = {IncidentStatus.investigating: "Start the investigation" if row["status"] == IncidentStatus.open
                     else "Take it up again", IncidentStatus.closed: "Close"}[target]
            with st.expander(label, icon=":material/published_with_changes:"):
                with st.form(f"incident_{incident_id}_{target.name}"):
                    note = st.text_area("What the investigation found and what was done" if target ==
                                        IncidentStatus.closed else "Note (required to take a closed one up again)",
                                        max_chars=2000, key=f"incident_{incident_id}_{target.name}_note")
                    go = st.form_submit_button(label, icon=":material/check:")
                if go:
                    _written(lambda s, t=target, n=note: incidents.set_status(
                        session=s, actor=actor, incident_id=incident_id, status=t, note=n, expected_version=version),
                        f"Incident {incident_id} is {target}.")
        with st.expander("Correct, or record the investigation", icon=":material/edit:"):
            with st.form(f"incident_{incident_id}_edit"):
                description = st.text_area("What happened", value=row["description"], max_chars=4000,
                                           key=f"incident_{incident_id}_description")
                r1, r2 = st.columns(2)
                reported_to = r1.text_input("Reported to", value=row["reported_to"], max_chars=300,
                                            key=f"incident_{incident_id}_reported_to")
                reported_on = r2.date_input("Reported on", value=None if pd.isna(row["reported_on"])
                                            else row["reported_on"], key=f"incident_{incident_id}_reported_on")
                investigation = st.text_area("Investigation (MSC 7.37): what was found", value=row["investigation"],
                                             max_chars=4000, key=f"incident_{incident_id}_investigation")
                save = st.form_submit_button("Save", icon=":material/save:")
            if save:
                values = {"description": description, "reported_to": reported_to, "reported_on": reported_on,
                          "investigation": investigation}
                _written(lambda s: incidents.update_incident(session=s, actor=actor, incident_id=incident_id,
                                                             values=values, expected_version=version),
                         f"Saved incident {incident_id}.")


def _register_tab(actor, frame: pd.DataFrame) -> None:
    c1, c2, c3 = st.columns([2, 2, 2])
    statuses = c1.multiselect("Status", STATUSES, key="incidents_status", placeholder="Any status")
    kinds = c2.multiselect("Kind", KINDS, key="incidents_kind", placeholder="Any kind")
    partner = c3.text_input("Partner or lane", key="incidents_partner", placeholder="Code or name")
    shown = frame
    if statuses:
        shown = shown[shown["status"].isin(statuses)]
    if kinds:
        shown = shown[shown["kind"].isin(kinds)]
    if partner.strip():
        text = partner.strip().casefold()
        shown = shown[shown["partner_code"].str.casefold().str.contains(text, regex=False)
                      | shown["partner_name"].str.casefold().str.contains(text, regex=False)
                      | shown["lane_code"].str.casefold().str.contains(text, regex=False)]
    if shown.empty:
        st.info("No incidents recorded." if frame.empty else "No incidents match.", icon=":material/verified_user:")
        return
    event = labels.table(shown, TABLE_COLUMNS, overrides=TABLE_LABELS, on_select="rerun",
                         selection_mode="single-row", key=f"incidents_table_{st.session_state.get(ROUND, 0)}")
    if event.selection.rows:
        st.session_state["incidents_focus"] = int(shown.iloc[event.selection.rows[0]]["id"])
    focus = st.session_state.get("incidents_focus")
    if focus in set(shown["id"]):
        _detail(actor, shown.set_index("id", drop=False).loc[focus])


def render() -> None:
    actor = auth.require_role()
    if actor is None:
        return
    st.title("Incidents")
    st.caption("Security incidents and exceptions in the supply chain, reported to whom and when, investigated "
               "(MSC 7.37) and closed with a note. An open incident raises its partner's and lane's vulnerability "
               "and has an action item in the plan.")
    if message := st.session_state.pop(FLASH, None):
        st.success(message, icon=":material/check_circle:")
    url, version = state.database_url(), state.data_version()
    frame = _register(url, version)
    year_ago = date.today() - timedelta(days=365)
    closed = frame[(frame["status"] == IncidentStatus.closed)
                   & (pd.to_datetime(frame["closed_on"]) >= pd.Timestamp(year_ago))] if not frame.empty else frame
    for column, (label, value) in zip(st.columns(3), (
            ("Open", int((frame["status"] == IncidentStatus.open).sum())),
            ("Investigating", int((frame["status"] == IncidentStatus.investigating).sum())),
            ("Closed in 12 months", len(closed))), strict=True):
        column.metric(label, f"{value:,}")
    names = ["Register", *(["Record"] if actor.can_write else [])]
    tabs = dict(zip(names, st.tabs(names, key="incidents_tab", on_change="rerun"), strict=True))
    if tabs["Register"].open:
        with tabs["Register"]:
            _register_tab(actor, frame)
    if "Record" in tabs and tabs["Record"].open:
        with tabs["Record"]:
            _record_tab(url, actor, version)
