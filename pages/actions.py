"""Step 4 · Action plan: corrective action items from gaps, lane flags, incidents and High threats (MSC 3.6), overdue
first; filters, one item's panel, progress over time, generating the plan and adding items by hand, exports."""

from datetime import date

import pandas as pd
import streamlit as st

from models.actions import ActionSource, ActionStatus
from services.actions import export, generate, items, rules, states
from services.lanes.registry import list_lanes
from services.partners import registry as partners
from ui import actions as actions_ui
from ui import auth, charts, filters, state

PREVIEW = "actions_preview"
STATUSES = [s.value for s in ActionStatus]
SOURCES = [s.value for s in ActionSource]
NOT_CLOSED = [s.value for s in ActionStatus if s in states.NOT_CLOSED]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@st.cache_data(show_spinner=False, max_entries=5)
def _progress(url: str, version: int, today: date) -> pd.DataFrame:
    with state.session() as s:
        return items.progress(session=s, today=today, weeks=26)


@st.cache_data(show_spinner=False, max_entries=5)
def _choices(url: str, version: int) -> dict:
    with state.session() as s:
        lanes = list_lanes(session=s)
        return {"partners": partners.partner_options(session=s), "countries": partners.country_names(session=s),
                "lanes": {int(i): f"{c} · {n}" for i, c, n in zip(lanes["id"], lanes["code"], lanes["name"],
                                                                   strict=True)}}


def _export(ids: list[int], kind: str) -> bytes:
    with state.session() as s:
        frame = export.plan_export(session=s, today=date.today(), ids=ids)
    return export.plan_csv(frame) if kind == "csv" else export.plan_xlsx(frame)


def _filtered(frame: pd.DataFrame) -> pd.DataFrame:
    c1, c2, c3, c4, c5 = st.columns([3, 2, 2, 2, 1], vertical_alignment="bottom")
    statuses = c1.multiselect("Status", STATUSES, default=NOT_CLOSED, key="actions_status", placeholder="Any status")
    owners = sorted({o for o in frame["owner"] if o}) + [actions_ui.UNASSIGNED]
    chosen_owners = c2.multiselect("Owner", owners, key="actions_owner", placeholder="Anyone")
    partner = c3.text_input("Partner", key="actions_partner", placeholder="Code or name")
    sources = c4.multiselect("Source", SOURCES, key="actions_source", placeholder="Any source")
    filters.initial("actions_overdue", "past_due")  # the dashboard's "Overdue actions"
    overdue = c5.toggle("Overdue", key="actions_overdue")
    search = st.text_input("Search", key="actions_search", placeholder="Words in what is to be done, criterion or lane")
    shown = frame
    if statuses:
        shown = shown[shown["status"].isin(statuses)]
    if chosen_owners:
        shown = shown[shown["owner"].replace("", actions_ui.UNASSIGNED).isin(chosen_owners)]
    if partner.strip():
        text = partner.strip().casefold()
        shown = shown[shown["partner_code"].str.casefold().str.contains(text, regex=False)
                      | shown["partner_name"].str.casefold().str.contains(text, regex=False)]
    if sources:
        shown = shown[shown["source"].isin(sources)]
    if overdue:
        shown = shown[shown["past_due"]]
    if search.strip():
        text = search.strip().casefold()
        shown = shown[shown["title"].str.casefold().str.contains(text, regex=False)
                      | (shown["criterion_id"] == search.strip()) | shown["lane_code"].str.casefold().eq(text)]
    return shown


def _plan_tab(url: str, actor, frame: pd.DataFrame) -> None:
    shown = _filtered(frame)
    st.caption(f"{len(shown):,} of {len(frame):,} items shown · overdue first, then priority (1: unmet must, open "
               "incidents; 2: partial must, lane flags, threats; 3: unmet should), then the due date")
    if shown.empty:
        st.info("No action items match.", icon=":material/filter_alt_off:")
        return
    chosen = actions_ui.plan_table(shown, "actions_table", height=420)
    ids = shown["id"].astype(int).tolist()
    left, right, _ = st.columns([1, 1, 3])
    left.download_button("Plan (CSV)", data=lambda: _export(ids, "csv"), file_name="action plan.csv",
                         mime="text/csv", icon=":material/download:", on_click="ignore", key="actions_csv")
    right.download_button("Plan (Excel)", data=lambda: _export(ids, "xlsx"), file_name="action plan.xlsx",
                          mime=XLSX, icon=":material/download:", on_click="ignore", key="actions_xlsx")
    if chosen is not None:
        actions_ui.item_panel(url, actor, chosen, f"action_{chosen}")
    else:
        st.caption("Select a row to see the item, its evidence and history" + (", and to work it."
                                                                              if actor.can_write else "."))


def _progress_tab(url: str, frame: pd.DataFrame, today: date) -> None:
    weekly = _progress(url, actions_ui.version(), today)
    bars, line = actions_ui.progress_charts(weekly)
    st.markdown("**Opened and closed per week** (last 26 weeks)")
    st.altair_chart(bars, width="stretch")
    st.markdown("**Open at the end of each week**")
    st.altair_chart(line, width="stretch")
    open_items = frame[frame["status"] != ActionStatus.closed]
    if open_items.empty:
        return
    by_owner = open_items.assign(owner=open_items["owner"].replace("", actions_ui.UNASSIGNED),
                                 state=open_items["past_due"].map({True: "past due", False: "on time"}), items=1)
    by_owner = by_owner.groupby(["owner", "state"], as_index=False)["items"].sum()
    by_owner["state_order"] = by_owner["state"].map({"past due": 0, "on time": 1})
    st.markdown("**Open items by owner**")
    st.altair_chart(charts.stacked_bar(by_owner, category="owner", part="state", value="items",
                                       colors={"past due": "#b91c1c", "on time": "#60a5fa"}, title="open items"),
                    width="stretch")


def _generate_tab(url: str, actor) -> None:
    st.markdown("Creates an item for every cause that has none: **unmet must criteria first**, then partially met "
                "must, then unmet should criteria (from each active partner's latest accepted questionnaire, in the "
                "criteria its entity type and roles are asked); lane flags; open incidents; High threats without a "
                "mitigation. Generating again adds nothing; a closed item stays closed; a cause that returns after "
                "closing gets a new item.")
    st.caption(rules.MITIGATION)
    owners = actions_ui.owner_choices(url, actions_ui.version())
    owner = st.selectbox("Owner of new items whose partner has no internal owner", ["", *owners],
                         format_func=lambda u: owners.get(u, actions_ui.UNASSIGNED), key="actions_generate_owner")
    if st.button("Preview", icon=":material/preview:", key="actions_preview_button"):
        found = state.attempt(lambda s: generate.generate(session=s, actor=actor, dry_run=True,
                                                          default_owner=owner or None))
        if found is not None:
            st.session_state[PREVIEW] = found
    report = st.session_state.get(PREVIEW)
    if report is None:
        return
    st.info(report.summary(), icon=":material/preview:")
    if report.total:
        preview = report.new.head(500)[["priority", "source", "title", "basis", "due_days"]]
        st.dataframe(preview, hide_index=True, width="stretch", height=320,
                     column_config={"title": st.column_config.TextColumn("What", width="large"),
                                    "due_days": st.column_config.NumberColumn("Due in (days)")})
    if st.button(f"Generate {report.total:,} item(s)", type="primary", disabled=not (report.total or report.gone
                                                                                     or report.back),
                 icon=":material/playlist_add_check:", key="actions_generate"):
        done: dict = {}

        def run(s):
            done["report"] = generate.generate(session=s, actor=actor, default_owner=owner or None)

        if state.write(run):
            st.session_state.pop(PREVIEW, None)
            st.session_state[actions_ui.FLASH] = done["report"].summary()
            st.rerun()


def render() -> None:
    actor = auth.require_role()
    if actor is None:
        return
    st.title("Action plan")
    st.caption("Step 4 of CBP's risk assessment: each gap, flag, incident or High threat gets an action with an "
               "owner, a due date and evidence of closure (MSC 3.6). Partners close their own corrective actions "
               "through their personal link; the team accepts or reopens them.")
    actions_ui.show_flash()
    url, today = state.database_url(), date.today()
    frame = actions_ui.plan(url, actions_ui.version(), today)
    found = items.counts(frame, today)
    for column, (label, value) in zip(st.columns(5), (("Open", found["open"]), ("Overdue", found["past_due"]),
                                                      ("Awaiting acceptance", found["awaiting"]),
                                                      ("Unassigned", found["unassigned"]),
                                                      ("Closed in 30 days", found["closed_30_days"])), strict=True):
        column.metric(label, f"{value:,}")
    names = ["Plan", "Progress", *(["Generate", "Add"] if actor.can_write else [])]
    tabs = dict(zip(names, st.tabs(names, key="actions_tab", on_change="rerun"), strict=True))
    if tabs["Plan"].open:
        with tabs["Plan"]:
            _plan_tab(url, actor, frame)
    if tabs["Progress"].open:
        with tabs["Progress"]:
            _progress_tab(url, frame, today)
    if "Generate" in tabs and tabs["Generate"].open:
        with tabs["Generate"]:
            _generate_tab(url, actor)
    if "Add" in tabs and tabs["Add"].open:
        with tabs["Add"]:
            choices = _choices(url, actions_ui.version())
            actions_ui.add_form(url, actor, "actions", partners=choices["partners"], lanes=choices["lanes"],
                                countries=choices["countries"], expanded=True)
