"""Risk scoring in the app: the cached inputs and scores, the risk-matrix heatmap, explanations in words, site visits,
and the partner page's Risk tab (``risk_tab``, mounted in pages.partners.detail.TABS).

The inputs are read once per data version (st.cache_resource: shared, never copied, treated as read-only); scores
are cached per configuration, so moving a what-if input back and forth costs one scoring each.
"""

import json
import threading
from datetime import date
from functools import cache

import altair as alt
import numpy as np
import pandas as pd
import streamlit as st

from models.risk import Band
from services.core.permissions import Actor
from services.risk import assessment, explain, site_visits
from services.risk import config as risk_config
from services.risk import inputs as risk_inputs
from services.risk.config import RiskConfig
from services.risk.inputs import Inputs
from services.risk.scoring import CODE, VULNERABILITY_COLUMNS, Scores, distribution, matrix_cells, ranked, score
from ui import presentation, state
from ui.text import plain

COLORS = {Band.low.value: "#16a34a", Band.medium.value: "#f59e0b", Band.high.value: "#dc2626",
          Band.unknown.value: "#6b7280"}
THREAT_ROWS = [Band.high.value, Band.medium.value, Band.low.value]
FLASH = "risk_flash"
RANK_LABELS = {
    "rank": st.column_config.NumberColumn("#", format="%d"), "partner_code": "Code", "legal_name": "Partner",
    "country_iso2": "Country", "risk": "Risk", "change": "What-if", "threat": "Threat",
    "vulnerability": "Vulnerability", "vulnerability_score": st.column_config.NumberColumn("Not met %", format="%.1f"),
    "unmet_musts": st.column_config.NumberColumn("Unmet musts", format="%d"),
    "covered": st.column_config.CheckboxColumn("Certificate"),
    "incidents": st.column_config.NumberColumn("Open incidents", format="%d"),
    "questionnaire_overdue": st.column_config.CheckboxColumn("Overdue"),
    "criticality": "Criticality", "entity_type": "Entity type",
    "code": "Code", "name": "Lane", "mode": "Mode", "weakest": "Weakest party", "threat_location": "Highest threat at",
    "volume_share": st.column_config.NumberColumn("Volume %", format="%.1f"),
}


@st.cache_resource(show_spinner="Reading partners, answers, threats and lanes…", max_entries=1)
def _inputs(url: str, version: int, today: date) -> Inputs:
    with state.session() as s:
        return risk_inputs.load(session=s, today=today)


@st.cache_data(show_spinner=False, max_entries=4)
def _active(url: str, version: int) -> tuple[dict, int | None]:
    with state.session() as s:
        config, number = risk_config.active(session=s)
    return config.to_dict(), number


# A what-if moved back and forth needs the active configuration and two others; every entry holds a scored copy of
# the partners (some 3.5 MB at 10,000 partners), so no more are kept.
@st.cache_resource(show_spinner=False, max_entries=4)
def _scores(url: str, version: int, today: date, settings: str) -> Scores:
    return score(_inputs(url, version, today), RiskConfig.from_dict(json.loads(settings)))


@st.cache_resource(show_spinner=False, max_entries=3)
def _view(url: str, version: int, today: date, base_key: str, config_key: str) -> dict:
    """What the results show for a configuration against the active one, made once per pair and records version
    (a what-if moved back and forth reruns without ranking 10,000 partners again); shared, treated as read-only."""
    active = _scores(url, version, today, base_key)
    found = _scores(url, version, today, config_key)
    partners, lanes = ranked(found.partners), ranked(found.lanes)
    return {"found": found, "cells": matrix_cells(found),
            "partner_bands": distribution(found.partners), "lane_bands": distribution(found.lanes),
            "active_partner_bands": distribution(active.partners), "active_lane_bands": distribution(active.lanes),
            "partners": partners.assign(change=_change(partners, active.partners, "partner_id")),
            "lanes": lanes.assign(change=_change(lanes, active.lanes, "lane_id"))}


def _change(what_if: pd.DataFrame, active: pd.DataFrame, key: str) -> np.ndarray:
    """Per row of `what_if`: how its risk moved from the active configuration ("↑ Medium", "" when the same)."""
    before = what_if[key].map(active.set_index(key)["risk"])
    now = what_if["risk"].map(CODE).to_numpy()
    old = before.map(CODE).fillna(-1).to_numpy()
    arrow = np.sign(now - old)
    return np.where(arrow == 0, "", np.where(arrow > 0, "↑ from ", "↓ from ") + before.fillna("").to_numpy(dtype=str))


_held: dict[str, tuple[int, date]] = {}  # database URL -> the records version and day whose inputs are cached
_held_lock = threading.Lock()


def _version(today: date) -> tuple[str, int]:
    """The database URL and records version to key the scoring caches by. When the records moved, the inputs, scores
    and views of the old version are dropped before the new ones are read: nothing reads them again, and keeping
    them while a million answers are read again would hold two copies."""
    url, version = state.database_url(), state.records_version()
    with _held_lock:
        if _held.get(url, (version, today)) != (version, today):
            for cached in (_view, _scores, _inputs):
                cached.clear()
        _held[url] = (version, today)
    return url, version


def key(config: RiskConfig) -> str:
    """A configuration as a cache key."""
    return json.dumps(config.to_dict(), sort_keys=True)


def inputs(today: date) -> Inputs:
    """Today's scoring inputs (cached per records version)."""
    return _inputs(*_version(today), today)


def active() -> tuple[RiskConfig, int | None]:
    """The active configuration and its version."""
    settings, number = _active(state.database_url(), state.data_version())
    return RiskConfig.from_dict(settings), number


def scores(today: date, config: RiskConfig) -> Scores:
    """The scores under a configuration (cached per records version and configuration)."""
    return _scores(*_version(today), today, key(config))


def current(today: date) -> assessment.Assessment:
    """Today's assessment under the active configuration, from the cached inputs and scores."""
    config, number = active()
    return assessment.Assessment(inputs(today), scores(today, config), number)


def what_if_view(today: date, base: RiskConfig, config: RiskConfig) -> dict:
    """The results of a what-if configuration against the active one (_view), cached per records version."""
    return _view(*_version(today), today, key(base), key(config))


def matrix_chart(cells: pd.DataFrame | alt.Data) -> alt.LayerChart:
    """The risk matrix: threat (rows, High on top) x vulnerability (columns, Unknown last), each cell coloured by its
    risk band and labelled with how many partners · lanes sit in it; a click selects a cell (parameter "cell")."""
    cell = alt.selection_point(name="cell", fields=["threat", "vulnerability"], on="click", clear="dblclick")
    base = alt.Chart(cells).encode(
        x=alt.X("vulnerability:N").sort(VULNERABILITY_COLUMNS).title("Vulnerability").axis(labelAngle=0, orient="top"),
        y=alt.Y("threat:N").sort(THREAT_ROWS).title("Threat"),
    )
    heat = base.mark_rect(stroke="white", strokeWidth=2, cornerRadius=4).encode(
        color=alt.Color("band:N").scale(domain=list(COLORS)[:3], range=list(COLORS.values())[:3]).title("Risk"),
        opacity=alt.when(cell).then(alt.value(1.0)).otherwise(alt.value(0.45)),
        tooltip=[alt.Tooltip("threat:N", title="Threat"), alt.Tooltip("vulnerability:N", title="Vulnerability"),
                 alt.Tooltip("band:N", title="Risk (matrix)"), alt.Tooltip("partners:Q", title="Partners"),
                 alt.Tooltip("lanes:Q", title="Lanes")],
    ).add_params(cell)
    text = base.mark_text(fontSize=15, fontWeight="bold", color="white").encode(text="label:N")
    return (heat + text).properties(height=260)


def distribution_chart(frame: pd.DataFrame | alt.Data) -> alt.Chart:
    """Partners (or lanes) per risk band, what-if next to the active configuration: frame has band, scores, count."""
    return alt.Chart(frame).mark_bar().encode(
        y=alt.Y("scores:N").title(None).sort(["what-if", "active"]),
        x=alt.X("count:Q").title(None).stack("zero").axis(tickMinStep=1, format="d"),
        color=alt.Color("band:N").scale(domain=list(COLORS)[:3], range=list(COLORS.values())[:3]).title("Risk")
        .sort([Band.high.value, Band.medium.value, Band.low.value]),
        order=alt.Order("order:Q"),
        tooltip=["scores:N", "band:N", "count:Q"],
    ).properties(height=90)


@cache
def _template(name: str) -> str:
    """A chart's Vega-Lite spec with a named, empty data source, built (and validated) by Altair once: building an
    Altair chart costs tens of milliseconds per rerun, filling in the data of a ready spec almost nothing."""
    build = {"matrix": matrix_chart, "distribution": distribution_chart}[name]
    return json.dumps(build(alt.Data(name="table")).to_dict())


def spec(name: str, frame: pd.DataFrame) -> dict:
    """The ready spec of chart `name` ("matrix", "distribution") with the frame as its data."""
    found = json.loads(_template(name))
    found["datasets"] = {"table": frame.to_dict("records")}
    return found


def sentences(items: list[str]) -> None:
    """Sentences of an explanation as a list, shown literally."""
    if items:
        st.markdown("\n".join(f"- {plain(item)}" for item in items))


def partner_explanation(found: dict, code: str = "") -> None:
    """A partner's explanation (services.risk.explain.explain_partner) on the page; the partner's `code` is hidden
    from it in presentation mode."""
    st.markdown(f"**{plain(presentation.scrub(found['headline'], code))}**")
    st.markdown("**Threat**")
    sentences([presentation.scrub(s, code) for s in found["threat"]])
    st.markdown("**Vulnerability**")
    sentences([presentation.scrub(s, code) for s in found["vulnerability"]])
    if found["adjustments"]:
        st.markdown("**Credit, incidents, impact and flags**")
        sentences([presentation.scrub(s, code) for s in found["adjustments"]])
    categories = found["categories"]
    if not categories.empty:
        chart = alt.Chart(categories).mark_bar(color=COLORS[Band.medium.value]).encode(
            x=alt.X("not_met:Q").title("Weighted share not met (%)").scale(domain=[0, 100]),
            y=alt.Y("category:N").sort("-x").title(None).axis(labelLimit=360),
            tooltip=[alt.Tooltip("category:N", title="Category"), alt.Tooltip("not_met:Q", title="Not met %")],
        ).properties(height=alt.Step(20))
        st.altair_chart(chart, width="stretch")
    with st.expander("Criteria: what counts and what each gap weighs", icon=":material/checklist:"):
        st.dataframe(presentation.masked(found["criteria"]), hide_index=True, width="stretch", column_config={
            "criterion_id": "Criterion", "category": "Category", "requirement": "Must/should",
            "summary": st.column_config.TextColumn("Criterion", width="large"), "value": "Counts as",
            "source": "From", "day": st.column_config.DateColumn("On"), "counts": st.column_config.CheckboxColumn(
                "Counts"), "gap": st.column_config.NumberColumn("Gap weight", format="%.1f"), "note": "Note"})
    with st.expander("Threat categories of its place, with sources", icon=":material/crisis_alert:"):
        st.dataframe(presentation.masked(found["threats"]), hide_index=True, width="stretch", column_config={
            "category": "Category", "level": "Level", "counts": st.column_config.CheckboxColumn("Counts"),
            "status": "Status", "rule": st.column_config.TextColumn("Rule", width="large"), "source": "Source",
            "as_of": st.column_config.DateColumn("As of"), "stale": st.column_config.CheckboxColumn("Stale")})


def lane_explanation(found: dict) -> None:
    """A lane's explanation (services.risk.explain.explain_lane) on the page."""
    st.markdown(f"**{plain(found['headline'])}**")
    st.markdown("**Threat**")
    sentences(found["threat"])
    st.markdown("**Vulnerability**")
    sentences(found["vulnerability"])
    if found["adjustments"]:
        st.markdown("**Incidents and impact**")
        sentences(found["adjustments"])
    st.dataframe(presentation.masked(found["nodes"]), hide_index=True, width="stretch", column_config={
        "seq": st.column_config.NumberColumn("#", format="%d"), "role": "Node", "location": "Where",
        "partner_code": "Partner", "custody": "Custody", "iso2": "Country",
        "rests": st.column_config.CheckboxColumn("Rests"), "dwell_hours": st.column_config.NumberColumn(
            "Hours", format="%g"), "custody_change": st.column_config.CheckboxColumn("Custody changes"),
        "threat": "Threat here", "counts": "Counts", "gives": "Gives the lane",
        "vulnerability": "Party's vulnerability"})


@st.cache_data(show_spinner=False, max_entries=50)
def _visits(url: str, version: int, partner_id: int | None) -> pd.DataFrame:
    with state.session() as s:
        return site_visits.list_visits(session=s, partner_id=partner_id)


@st.cache_data(show_spinner=False, max_entries=50)
def _findings(url: str, version: int, visit_id: int) -> pd.DataFrame:
    with state.session() as s:
        return site_visits.visit_findings(session=s, visit_id=visit_id)


@st.cache_data(show_spinner=False, max_entries=50)
def _partner_context(url: str, version: int, partner_id: int) -> dict:
    """What the visit form offers: the partner's sites and the criteria it is asked."""
    from services.partners import sites
    from services.reference.applicability import questions_for_partner

    with state.session() as s:
        found = sites.list_sites(session=s, partner_id=partner_id)
        asked = questions_for_partner(session=s, partner_id=partner_id)
    return {"sites": {int(r.id): str(r.name) for r in found.itertuples()},
            "criteria": {q.criterion_id: f"{q.criterion_id} · {q.category} ({q.requirement})" for q in asked}}


VISIT_LABELS = {"visited_on": st.column_config.DateColumn("Date"), "visited_by": "Visited by", "site": "Site",
                "partner_code": "Partner", "legal_name": "Name", "findings": st.column_config.NumberColumn(
                    "Findings", format="%d"), "not_met": st.column_config.NumberColumn("Not met", format="%d"),
                "partly_met": st.column_config.NumberColumn("Partly met", format="%d"), "notes": "Notes",
                "recorded_by": "Recorded by"}


def site_visits_section(url: str, actor: Actor, partner_id: int, today: date) -> None:
    """A partner's site visits: the list, each visit's findings, and for writers recording and removing one."""
    version = state.data_version()
    visits = _visits(url, version, partner_id)
    st.markdown(f"**Site visits** ({len(visits)}): a finding overrides what the partner reported for that criterion "
                "while it is within the answer age (MSC 3.5).")
    if not visits.empty:
        st.dataframe(presentation.masked(visits), hide_index=True, width="stretch", column_config=VISIT_LABELS,
                     column_order=["visited_on", "visited_by", "site", "findings", "not_met", "partly_met", "notes",
                                   "recorded_by"])
        labels = {int(r.visit_id): f"{r.visited_on} · {r.visited_by}" for r in visits.itertuples()}
        chosen = st.selectbox("Findings of the visit", list(labels), format_func=labels.get,
                              key=f"risk_visit_pick_{partner_id}")
        if chosen is not None:
            st.dataframe(presentation.masked(_findings(url, version, chosen)),
                         hide_index=True, width="stretch", column_config={
                "criterion_id": "Criterion", "category": "Category", "requirement": "Must/should",
                "summary": st.column_config.TextColumn("Criterion", width="large"), "finding": "Finding",
                "note": "Note"})
            if actor.can_write:
                _remove_form(actor, chosen)
    if actor.can_write:
        _record_form(url, actor, partner_id, today)


def _remove_form(actor: Actor, visit_id: int) -> None:
    with st.popover("Remove this visit", icon=":material/delete:"):
        reason = st.text_input("Why is it removed?", key=f"risk_visit_reason_{visit_id}",
                               placeholder="e.g. recorded against the wrong partner")
        if st.button("Remove", key=f"risk_visit_remove_{visit_id}", icon=":material/delete:"):
            if state.write(lambda s: site_visits.remove_visit(session=s, actor=actor, visit_id=visit_id,
                                                              reason=reason),
                           success="Removed the site visit.", flash_key=FLASH):
                st.rerun()


def _record_form(url: str, actor: Actor, partner_id: int, today: date) -> None:
    context = _partner_context(url, state.data_version(), partner_id)
    with st.expander("Record a site visit", icon=":material/add_location_alt:"):
        with st.form(f"risk_visit_form_{partner_id}", clear_on_submit=False, enter_to_submit=False):
            cols = st.columns(3)
            visited_on = cols[0].date_input("Date of the visit", value=today, max_value=today,
                                            key=f"risk_visit_date_{partner_id}")
            visited_by = cols[1].text_input("Visited by", key=f"risk_visit_by_{partner_id}",
                                            placeholder="e.g. Dana Whitfield, Luis Ortega")
            site = cols[2].selectbox("Site", list(context["sites"]), format_func=context["sites"].get, index=None,
                                     placeholder="Not recorded", key=f"risk_visit_site_{partner_id}")
            notes = st.text_area("Notes", key=f"risk_visit_notes_{partner_id}", height=68)
            rows = pd.DataFrame({"criterion_id": pd.Series(dtype=str), "finding": pd.Series(dtype=str),
                                 "note": pd.Series(dtype=str)})
            edited = st.data_editor(rows, num_rows="dynamic", hide_index=True, width="stretch",
                                    key=f"risk_visit_findings_{partner_id}", column_config={
                                        "criterion_id": st.column_config.SelectboxColumn(
                                            "Criterion", options=list(context["criteria"]), required=True,
                                            width="medium"),
                                        "finding": st.column_config.SelectboxColumn(
                                            "Finding", options=list(site_visits.FINDING_LABELS.values()),
                                            required=True),
                                        "note": st.column_config.TextColumn("What was seen", width="large")})
            submitted = st.form_submit_button("Record the visit", icon=":material/save:")
        if submitted:
            findings = edited.dropna(how="all").to_dict("records")
            if state.write(lambda s: site_visits.record_visit(
                    session=s, actor=actor, partner_id=partner_id, visited_on=visited_on, visited_by=visited_by,
                    site_id=site, notes=notes, findings=findings, today=today),
                    success=f"Recorded the site visit with {len(findings)} finding(s).", flash_key=FLASH):
                st.rerun()


def risk_tab(url: str, actor: Actor, data: dict, countries: dict[str, str]) -> None:
    """The partner page's Risk tab: its bands under the active configuration, why, and its site visits."""
    today = date.today()
    partner_id = int(data["partner"]["id"])
    if message := st.session_state.pop(FLASH, None):
        st.success(message, icon=":material/check_circle:")
    now = current(today)
    found = now.scores
    row = found.partners[found.partners["partner_id"] == partner_id]
    if row.empty:
        st.info("Only active partners are scored.")
    else:
        r = row.iloc[0]
        cols = st.columns(4)
        cols[0].metric("Risk", r["risk"])
        cols[1].metric("Threat", r["threat"])
        cols[2].metric("Vulnerability", r["vulnerability"])
        cols[3].metric("Rank", f"{int(r['rank'])} of {len(found.partners):,}")
        used = f"configuration version {now.version}" if now.version else "the default configuration"
        st.caption(f"Scored today with {used} (Risk scoring page, docs/RISK-METHOD.md).")
        partner_explanation(explain.explain_partner(now.inputs, found, partner_id), data["partner"]["partner_code"])
        due = assessment.reassessment_due(now, horizon_days=10**5)
        mine = due[due["partner_id"] == partner_id]
        if len(mine):
            d = mine.iloc[0]
            st.caption(f"Next reassessment (MSC 3.7): {d['due_on']} ({d['why']}).")
    st.divider()
    site_visits_section(url, actor, partner_id, today)
