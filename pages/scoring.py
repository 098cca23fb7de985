"""Step 3 · Vulnerability: risk scoring with what-if inputs, the risk matrix, rankings of partners and lanes, why a
band is what it is, assessment snapshots and their comparison, re-screening by risk, site visits, configurations."""

import contextlib
from datetime import date, timedelta

import pandas as pd
import streamlit as st

from models.common import CRITICALITIES
from models.risk import Band
from models.threats import CATEGORY_LABELS
from services.collection import cycles
from services.core.permissions import Actor, ValidationError
from services.exports.safe import csv_bytes
from services.risk import assessment, explain
from services.risk import config as risk_config
from services.risk.config import CATEGORY_NUMBERS, LEVELS, THREAT_CATEGORIES, RiskConfig
from services.risk.scoring import CODE, in_cell
from ui import auth, filters, presentation, risk, state
from ui.text import plain

FLASH = "scoring_flash"
TABS = ["What-if and ranking", "Snapshots", "Reassessment due", "Site visits", "Configurations"]
W = "risk_w_"  # prefix of the what-if widgets' keys
BASE = "risk_w_base"  # the active configuration the widgets started from
BANDS = [b.value for b in LEVELS]
ARROWS = {1: "↑", -1: "↓"}
PARTNER_COLUMNS = ["rank", "partner_code", "legal_name", "country_iso2", "risk", "change", "threat", "vulnerability",
                   "vulnerability_score", "unmet_musts", "covered", "incidents", "questionnaire_overdue", "criticality"]
LANE_COLUMNS = ["rank", "code", "name", "mode", "risk", "change", "threat", "threat_location", "vulnerability",
                "weakest", "incidents", "volume_share"]
EXPLAIN_CHOICES = 500  # a select box of thousands of options slows every rerun


def _flash() -> None:
    if message := st.session_state.pop(FLASH, None):
        st.success(message, icon=":material/check_circle:")


def _reset_widgets() -> None:
    for name in [k for k in st.session_state if str(k).startswith(W)]:
        del st.session_state[name]


def _kept(name: str, default):
    """The value of an input not drawn this run (its group is closed): what the user set, else the default. The
    value is written back, because Streamlit forgets a widget's value in a run that does not draw it."""
    key = W + name
    if key not in st.session_state:
        return default
    st.session_state[key] = st.session_state[key]
    return st.session_state[key]


def _number(label: str, name: str, value: float, low: float, high: float, step: float, col=None, *, shown=True,
            **options) -> float:
    if not shown:
        return _kept(name, value)
    where = col or st
    return where.number_input(label, min_value=low, max_value=high, value=value, step=step, key=W + name, **options)


def _choice(label: str, name: str, options: list, value, col=None, *, shown=True, **extra):
    if not shown:
        return _kept(name, value)
    where = col or st
    return where.selectbox(label, options, index=options.index(value), key=W + name, **extra)


def _many(label: str, name: str, options: list, default: list, *, shown=True, **extra) -> list:
    if not shown:
        return _kept(name, default)
    return st.multiselect(label, options, default=default, key=W + name, **extra)


def _switch(label: str, name: str, value: bool, *, shown=True) -> bool:
    if not shown:
        return _kept(name, value)
    return st.toggle(label, value=value, key=W + name)


def _columns(count: int, shown: bool) -> list:
    return st.columns(count) if shown else [None] * count


def _group(label: str, icon: str, name: str):
    """A closed group of inputs, drawn only when opened: some forty inputs mounted on every visit made the page the
    slowest to open in the browser (docs/PERFORMANCE.md, the page switch). None while closed."""
    group = st.expander(label, icon=icon, key=f"risk_open_{name}", on_change="rerun")
    return group if group.open else None


def _inputs_panel(base: RiskConfig, countries: dict[str, str]) -> dict:
    """The what-if inputs, started from the active configuration; returns the settings they give."""
    values = base.to_dict()
    with st.expander("Vulnerability: weights and bands", icon=":material/fact_check:", expanded=True):
        values["answer_max_age_months"] = int(_number("Answers count for (months)", "age", base.answer_max_age_months,
                                                      1, 60, 1, help="Accepted answers and site-visit findings "
                                                      "older than this do not count; none left: Unknown."))
        a, b = st.columns(2)
        values["must_unmet"] = _number("Unmet must", "must_unmet", base.must_unmet, 0.0, 100.0, 0.5, a)
        values["must_partial"] = _number("Partial must", "must_partial", base.must_partial, 0.0, 100.0, 0.5, b)
        values["should_unmet"] = _number("Unmet should", "should_unmet", base.should_unmet, 0.0, 100.0, 0.5, a)
        values["should_partial"] = _number("Partial should", "should_partial", base.should_partial, 0.0, 100.0, 0.5, b)
        values["medium_from"] = _number("Medium from (% not met)", "medium_from", base.medium_from, 0.5, 100.0, 0.5, a)
        values["high_from"] = _number("High from (% not met)", "high_from", base.high_from, 0.5, 100.0, 0.5, b)
        values["unmet_must_floor"] = _choice(
            "An unmet must makes it at least", "floor", BANDS, base.unmet_must_floor, a,
            format_func=lambda v: "no floor" if v == Band.low else v)
        values["certificate_credit"] = _choice("Certificate credit (bands lower)", "credit", [0, 1, 2],
                                               base.certificate_credit, a)
        values["incident_raise"] = _choice("Open incident (bands higher)", "incident", [0, 1, 2],
                                           base.incident_raise, b)
    group = _group("MSC category weights", ":material/balance:", "weights")
    with group or contextlib.nullcontext():
        shown = group is not None
        cols = _columns(3, shown)
        values["category_weights"] = {
            str(number): _number(f"{number}", f"cat_{number}", base.category_weights[str(number)], 0.0, 10.0, 0.5,
                                 cols[i % 3], shown=shown)
            for i, number in enumerate(CATEGORY_NUMBERS)}
    group = _group("Threat", ":material/crisis_alert:", "threat")
    with group or contextlib.nullcontext():
        shown = group is not None
        values["threat_categories"] = _many("Categories that count", "categories", list(THREAT_CATEGORIES),
                                            list(base.threat_categories), shown=shown,
                                            format_func=lambda c: CATEGORY_LABELS.get(c, c))
        unknown = base.threat_unknown_as or ""
        values["threat_unknown_as"] = _choice("Unknown threat counts as", "unknown_t", ["", *BANDS], unknown,
                                              shown=shown, format_func=lambda v: v or "the register's setting") or None
        chosen: dict[str, str] = {}
        names = sorted(countries, key=countries.get)
        for level in reversed(BANDS):
            default = [c for c, v in base.threat_overrides.items() if v == level and c in countries]
            picked = _many(f"Treat as {level}", f"override_{level}", names, default, shown=shown,
                           format_func=lambda c: f"{countries[c]} ({c})", placeholder="No country")
            chosen.update(dict.fromkeys(picked, level))
        values["threat_overrides"] = chosen
        a, b = _columns(2, shown)
        values["rest_hours"] = _number("Cargo at rest from (hours)", "rest", base.rest_hours, 0.0, 720.0, 1.0, a,
                                       shown=shown)
        values["other_nodes_lower"] = _choice("Other nodes (bands lower)", "lower", [0, 1, 2], base.other_nodes_lower,
                                              b, shown=shown)
        values["inherit_lane_threat"] = _switch("Partners take the worst lane they serve when higher", "inherit",
                                                base.inherit_lane_threat, shown=shown)
    group = _group("Risk matrix (threat × vulnerability)", ":material/grid_on:", "matrix")
    with group or contextlib.nullcontext():
        shown = group is not None
        matrix = {}
        if shown:
            header = st.columns(4)
            header[0].caption("Threat ↓ · Vulnerability →")
            for i, v in enumerate(BANDS):
                header[i + 1].caption(v)
        for t in reversed(BANDS):
            cols = _columns(4, shown)
            if shown:
                cols[0].markdown(f"**{t}**")
            matrix[t] = {v: _choice(f"{t} × {v}", f"m_{t}_{v}", BANDS, base.matrix[t][v], cols[i + 1], shown=shown,
                                    label_visibility="collapsed") for i, v in enumerate(BANDS)}
        values["matrix"] = matrix
    group = _group("Impact and re-screening", ":material/trending_up:", "impact")
    with group or contextlib.nullcontext():
        shown = group is not None
        values["impact_raise"] = _switch("High impact raises risk one band", "impact", base.impact_raise, shown=shown)
        values["impact_criticalities"] = _many("High-impact criticalities", "crit", list(CRITICALITIES),
                                               list(base.impact_criticalities), shown=shown)
        a, b = _columns(2, shown)
        share = _number("Import share from (%, 0: off)", "share", base.impact_import_share or 0.0, 0.0, 100.0, 0.5, a,
                        shown=shown)
        values["impact_import_share"] = share or None
        lane = _number("Lane volume from (%, 0: off)", "lane_share", base.lane_volume_share or 0.0, 0.0, 100.0, 0.5,
                       b, shown=shown)
        values["lane_volume_share"] = lane or None
        cols = _columns(3, shown)
        values["reassess_months"] = {band: int(_number(f"{band}: every (months)", f"every_{band}",
                                                       base.reassess_months[band], 1, 60, 1, cols[i], shown=shown))
                                     for i, band in enumerate(reversed(BANDS))}
    return values


def _metrics(label: str, now: dict[str, int], before: dict[str, int], differs: bool) -> None:
    cols = st.columns(3)
    for col, band in zip(cols, (Band.high.value, Band.medium.value, Band.low.value), strict=True):
        delta = now[band] - before[band] if differs else None
        col.metric(f"{label} {band}", f"{now[band]:,}", delta=delta if delta else None,
                   delta_color="inverse" if band == Band.high else "normal" if band == Band.low else "off")


def _matrix_table(cells: pd.DataFrame) -> pd.DataFrame:
    """The matrix as a plain table (readable without the chart): partners · lanes per cell, and the cell's band."""
    shown = cells.assign(text=cells["label"] + " (" + cells["band"] + ")")
    table = shown.pivot(index="threat", columns="vulnerability", values="text")
    return table.reindex(index=risk.THREAT_ROWS, columns=["Low", "Medium", "High", "Unknown"]).rename_axis(
        index="Threat ↓ / Vulnerability →", columns=None)


@st.cache_data(show_spinner=False, max_entries=4)
def _countries(url: str, version: int, today: date) -> dict[str, str]:
    """Country code -> name of the places partners and lane nodes sit in (the threat override choices)."""
    loaded = risk.inputs(today)
    places = set(loaded.partners["threat_iso2"]) | set(loaded.nodes["iso2"].dropna())
    return {c: n for c, n in zip(loaded.threat_table["iso2"], loaded.threat_table["country"], strict=True)
            if c in places}


@st.fragment
def _what_if(actor: Actor, today: date) -> None:
    base, number = risk.active()
    loaded = risk.inputs(today)
    if st.session_state.get(BASE) != (number, risk.key(base)):
        _reset_widgets()
        st.session_state[BASE] = (number, risk.key(base))
    countries = _countries(state.database_url(), state.data_version(), today)
    left, right = st.columns([1, 2.3], gap="large")
    with left:
        st.markdown("**Inputs** (nothing is saved until an admin saves them)")
        values = _inputs_panel(base, countries)
        config = None
        try:
            config = RiskConfig.from_dict(values)
        except ValidationError as exc:
            st.error(state.refusal(exc), icon=":material/error:")
        _save_controls(actor, base, config, number)
    if config is None:
        right.warning("Fix the inputs on the left to see the scores.", icon=":material/warning:")
        return
    with right:
        _results(actor, today, loaded, base, config, number)


def _save_controls(actor: Actor, base: RiskConfig, config: RiskConfig | None, number: int | None) -> None:
    differs = config is not None and risk.key(config) != risk.key(base)
    st.button("Back to the active configuration", key="risk_reset", on_click=_reset_widgets, disabled=not differs,
              icon=":material/undo:")
    if not actor.is_admin:
        st.caption("An admin saves the inputs as the active configuration.")
        return
    note = st.text_input("Why this change (kept with the version)", key="risk_save_note", max_chars=500)
    if st.button("Save as the active configuration", key="risk_save", type="primary", disabled=not differs,
                 icon=":material/save:"):
        saved = {}

        def action(s):
            saved["version"] = risk_config.save(session=s, actor=actor, config=config, note=note)

        if state.write(action):
            st.session_state[FLASH] = f"Saved configuration version {saved['version']}; it is now the active one."
            st.session_state.pop("risk_save_note", None)
            st.rerun()


def _results(actor: Actor, today: date, loaded, base: RiskConfig, config: RiskConfig, number: int | None) -> None:
    view = risk.what_if_view(today, base, config)
    found = view["found"]
    differs = risk.key(config) != risk.key(base)
    st.caption(f"Active: {'configuration version ' + str(number) if number else 'the default configuration'}. "
               f"{len(found.partners):,} active partners and {len(found.lanes):,} lanes as of {today.isoformat()}; "
               f"answers from {found.cutoff.date().isoformat()} on count.")
    if differs:
        changes = risk_config.describe_changes(base, config)
        st.info("What-if: " + plain("; ".join(changes)), icon=":material/science:")
    p_now, l_now = view["partner_bands"], view["lane_bands"]
    _metrics("Partners", p_now, view["active_partner_bands"], differs)
    _metrics("Lanes", l_now, view["active_lane_bands"], differs)

    cells = view["cells"]
    st.markdown("**Risk matrix**: partners · lanes per cell (click a cell to list them; the colour is the cell's "
                "risk, before the impact step)")
    event = st.vega_lite_chart(spec=risk.spec("matrix", cells), width="stretch", on_select="rerun",
                               selection_mode=["cell"], key="risk_matrix")
    st.table(_matrix_table(cells))
    picked = (event.selection.get("cell") or []) if event else []
    if picked:
        threat, vulnerability = picked[0].get("threat"), picked[0].get("vulnerability")
        partners, lanes = in_cell(found, threat, vulnerability)
        st.markdown(f"**Threat {threat} × vulnerability {vulnerability}**: {len(partners):,} partner(s), "
                    f"{len(lanes):,} lane(s)")
        if len(partners):
            st.dataframe(presentation.masked(partners),
                         hide_index=True, width="stretch", height=min(38 + 35 * len(partners), 300),
                         column_order=[c for c in PARTNER_COLUMNS if c != "change"], column_config=risk.RANK_LABELS)
        if len(lanes):
            st.dataframe(presentation.masked(lanes),
                         hide_index=True, width="stretch", column_order=[c for c in LANE_COLUMNS
                                                                                if c != "change"],
                         column_config=risk.RANK_LABELS)

    bars = pd.DataFrame([{"scores": which, "band": band, "count": counts[band], "order": CODE[band]}
                         for which, counts in (("what-if", p_now), ("active", view["active_partner_bands"]))
                         for band in counts])
    if differs:
        st.vega_lite_chart(spec=risk.spec("distribution", bars), width="stretch")

    partners, lanes = view["partners"], view["lanes"]
    st.markdown("**Lanes, high-risk first** (CBP advises assessing the high-risk supply chains first)")
    st.dataframe(presentation.masked(lanes), hide_index=True, width="stretch", height=min(38 + 35 * len(lanes), 320),
                 column_order=LANE_COLUMNS, column_config=risk.RANK_LABELS)
    cols = st.columns([2, 3])
    filters.initial("risk_rank_bands", "band", [Band.high.value, Band.medium.value, Band.low.value], many=True)
    bands = cols[0].multiselect("Partners in risk band", [Band.high.value, Band.medium.value, Band.low.value],
                                key="risk_rank_bands", placeholder="All bands")
    search = cols[1].text_input("Find a partner", key="risk_rank_search", placeholder="Code, name or country")
    shown = partners
    if bands:
        shown = shown[shown["risk"].isin(bands)]
    if search.strip():
        text = search.strip().casefold()
        shown = shown[shown["partner_code"].str.casefold().str.contains(text, regex=False)
                      | shown["legal_name"].str.casefold().str.contains(text, regex=False)
                      | (shown["country_iso2"].str.casefold() == text)]
    st.markdown(f"**Partners, riskiest first** ({len(shown):,})")
    st.dataframe(presentation.masked(shown), hide_index=True, width="stretch", height=360, column_order=PARTNER_COLUMNS,
                 column_config=risk.RANK_LABELS)
    _why(loaded, found, shown, lanes)


def _why(loaded, found, partners: pd.DataFrame, lanes: pd.DataFrame) -> None:
    st.markdown("**Why is it in its band?**")
    cols = st.columns(2)
    options = partners.head(EXPLAIN_CHOICES)
    labels = {int(r.partner_id): f"{presentation.partner(r.partner_code, r.legal_name)} ({r.risk})"
              for r in options.itertuples()}
    partner_id = cols[0].selectbox("Partner", list(labels), format_func=labels.get, index=None, key="risk_why_partner",
                                   placeholder="Choose a partner (the list follows the filters above)")
    lane_labels = {int(r.lane_id): f"{r.code} · {r.name} ({r.risk})" for r in lanes.itertuples()}
    lane_id = cols[1].selectbox("Lane", list(lane_labels), format_func=lane_labels.get, index=None,
                                key="risk_why_lane", placeholder="Choose a lane")
    if partner_id is not None:
        with st.container(border=True):
            risk.partner_explanation(explain.explain_partner(loaded, found, partner_id))
    if lane_id is not None:
        with st.container(border=True):
            risk.lane_explanation(explain.explain_lane(loaded, found, lane_id))


@st.cache_data(show_spinner=False, max_entries=4)
def _snapshots(url: str, version: int) -> pd.DataFrame:
    with state.session() as s:
        return assessment.list_snapshots(session=s)


@st.cache_data(show_spinner=False, max_entries=8)
def _snapshot_scores(url: str, version: int, snapshot_id: int) -> pd.DataFrame:
    with state.session() as s:
        return assessment.snapshot_scores(session=s, assessment_id=snapshot_id)


@st.cache_data(show_spinner=False, max_entries=8)
def _comparison(url: str, version: int, before: int, after: int) -> dict:
    with state.session() as s:
        return assessment.compare(session=s, before_id=before, after_id=after)


def _snapshots_tab(url: str, actor: Actor, today: date) -> None:
    version = state.data_version()
    st.markdown("A snapshot keeps the active configuration and every partner's and lane's score on a day, with who "
                "saved it. It is never changed: it is the record of the risk assessment for CBP (MSC 2.3: review at "
                "least yearly and on change).")
    if actor.can_write:
        with st.form("risk_snapshot_form", enter_to_submit=False):
            cols = st.columns([2, 3])
            quarter = f"{today:%Y} Q{(today.month - 1) // 3 + 1} risk assessment"
            name = cols[0].text_input("Name", key="risk_snapshot_name", placeholder=quarter, max_chars=120)
            note = cols[1].text_input("Note", key="risk_snapshot_note", max_chars=1000)
            if st.form_submit_button("Save a snapshot with the active configuration", icon=":material/photo_camera:"):
                if state.write(lambda s: assessment.take_snapshot(session=s, actor=actor, name=name, today=today,
                                                                  note=note),
                               success=f"Saved snapshot '{plain(name.strip())}'.", flash_key=FLASH):
                    st.rerun()
    found = _snapshots(url, version)
    if found.empty:
        st.info("No snapshot yet.")
        return
    st.dataframe(presentation.masked(found.drop(columns="id")), hide_index=True, width="stretch", column_config={
        "name": "Snapshot", "as_of": st.column_config.DateColumn("As of"), "run_by": "By",
        "run_at": st.column_config.DatetimeColumn("Saved (UTC)", format="YYYY-MM-DD HH:mm"),
        "configuration_version": st.column_config.NumberColumn("Configuration", format="%d"),
        "partners_high": "Partners High", "partners_medium": "Partners Medium", "partners_low": "Partners Low",
        "lanes_high": "Lanes High", "lanes_medium": "Lanes Medium", "lanes_low": "Lanes Low", "note": "Note"})
    labels = {int(r.id): f"{r.name} ({r.as_of})" for r in found.itertuples()}
    ids = list(labels)
    st.markdown("**Compare two snapshots**: who moved bands, and why")
    cols = st.columns(2)
    before = cols[0].selectbox("Before", ids, index=min(1, len(ids) - 1), format_func=labels.get,
                               key="risk_compare_before")
    after = cols[1].selectbox("After", ids, index=0, format_func=labels.get, key="risk_compare_after")
    if before is not None and after is not None and before != after:
        result = _comparison(url, version, before, after)
        counts = result["counts"]
        metric = st.columns(4)
        metric[0].metric("Partners up", counts["partner"]["up"])
        metric[1].metric("Partners down", counts["partner"]["down"])
        metric[2].metric("Lanes up", counts["lane"]["up"])
        metric[3].metric("Lanes down", counts["lane"]["down"])
        if result["configuration"]:
            st.markdown("**Configuration changes**")
            risk.sentences(result["configuration"])
        moves = result["moves"]
        if moves.empty:
            st.success("Nobody moved bands.", icon=":material/check_circle:")
        else:
            st.dataframe(presentation.masked(moves), hide_index=True, width="stretch", column_config={
                "kind": "Partner or lane", "code": "Code", "name": "Name", "before": "Before", "after": "After",
                "direction": "Moved", "why": st.column_config.TextColumn("Why", width="large")})
    chosen = st.selectbox("Scores of a snapshot", ids, format_func=labels.get, index=None, key="risk_snapshot_view",
                          placeholder="Choose a snapshot")
    if chosen is not None:
        rows = _snapshot_scores(url, version, chosen)
        st.dataframe(presentation.masked(rows), hide_index=True, width="stretch", height=360)
        st.download_button("Download its scores (CSV)", csv_bytes(rows), file_name=f"risk-snapshot-{chosen}.csv",
                           mime="text/csv", key="risk_snapshot_csv", icon=":material/download:")


def _reassessment_tab(actor: Actor, today: date) -> None:
    now = risk.current(today)
    months = now.scores.config.reassess_months
    st.markdown(f"Re-screening follows risk (MSC 3.7): High every {months['High']} months, Medium every "
                f"{months['Medium']}, Low every {months['Low']}, counted from the last accepted questionnaire or site "
                "visit; a partner never assessed, or without answers within the age, is due now. Partners a "
                "certificate covers are re-screened through the certificate's re-check instead.")
    horizon = st.select_slider("Due within", [0, 30, 60, 90, 180, 365], value=60, key="risk_due_horizon",
                               format_func=lambda d: "overdue now" if d == 0 else f"{d} days")
    due = assessment.reassessment_due(now, horizon_days=horizon)
    st.markdown(f"**{len(due):,} partner(s)** due within {horizon} days")
    st.dataframe(presentation.masked(due.drop(columns="partner_id")),
                 hide_index=True, width="stretch", height=360, column_config={
        "partner_code": "Code", "legal_name": "Partner", "country_iso2": "Country", "risk": "Risk",
        "last_assessed": st.column_config.DateColumn("Last assessed"), "every_months": "Every (months)",
        "due_on": st.column_config.DateColumn("Due"), "days_left": "Days left", "why": "Why"})
    if due.empty or not actor.can_write:
        return
    with st.form("risk_due_cycle", enter_to_submit=False):
        st.markdown("**Open a questionnaire cycle for exactly these partners** (or: `manage.py open-cycle NAME --due "
                    "DATE --reassessment-due`, or `--risk-band High`)")
        cols = st.columns(2)
        name = cols[0].text_input("Cycle name", key="risk_due_name", placeholder="2027 risk-based reassessment")
        due_date = cols[1].date_input("Due date", value=today + timedelta(days=45), min_value=today,
                                      key="risk_due_date")
        if st.form_submit_button("Open the cycle", icon=":material/event_repeat:"):
            ids = due["partner_id"].astype(int).tolist()
            if state.write(lambda s: cycles.open_cycle(session=s, actor=actor, name=name, due_date=due_date,
                                                       partner_ids=ids),
                           success=f"Opened cycle '{plain(name.strip())}' for {len(ids):,} partner(s); send the "
                                   "invitations on the Cycles page.", flash_key=FLASH):
                st.rerun()


def _site_visits_tab(url: str, actor: Actor, today: date) -> None:
    version = state.data_version()
    visits = risk._visits(url, version, None)
    st.markdown(f"**{len(visits):,} site visit(s)** recorded. A finding overrides what the partner reported for that "
                "criterion while it is within the answer age.")
    if not visits.empty:
        st.dataframe(presentation.masked(visits),
                     hide_index=True, width="stretch", height=300, column_config=risk.VISIT_LABELS,
                     column_order=["visited_on", "partner_code", "legal_name", "site", "visited_by", "findings",
                                   "not_met", "partly_met", "notes"])
    loaded = risk.inputs(today)
    search = st.text_input("Partner to record a visit for, or to see its visits", key="risk_visit_search",
                           placeholder="Code or name")
    partners = loaded.partners
    if search.strip():
        text = search.strip().casefold()
        partners = partners[partners["partner_code"].str.casefold().str.contains(text, regex=False)
                            | partners["legal_name"].str.casefold().str.contains(text, regex=False)]
    labels = {int(r.partner_id): presentation.partner(r.partner_code, r.legal_name)
              for r in partners.head(200).itertuples()}
    chosen = st.selectbox("Partner", list(labels), format_func=labels.get, index=None, key="risk_visit_partner",
                          placeholder="Choose a partner")
    if chosen is not None:
        risk.site_visits_section(url, actor, chosen, today)


def _configurations_tab() -> None:
    with state.session() as s:
        found = risk_config.versions(session=s)
    if not found:
        st.info("No configuration saved yet: the defaults apply (docs/RISK-METHOD.md explains them).")
        return
    previous = [RiskConfig.from_dict(v["settings"]) for v in found[1:]] + [RiskConfig()]
    rows = [{"version": v["version"], "saved_by": v["saved_by"], "saved_at": v["saved_at"], "note": v["note"],
             "changes": "; ".join(risk_config.describe_changes(before, RiskConfig.from_dict(v["settings"])))
             or "no change"} for v, before in zip(found, previous, strict=True)]
    st.dataframe(presentation.masked(pd.DataFrame(rows)), hide_index=True, width="stretch", column_config={
        "version": st.column_config.NumberColumn("Version", format="%d"), "saved_by": "Saved by",
        "saved_at": st.column_config.DatetimeColumn("Saved (UTC)", format="YYYY-MM-DD HH:mm"), "note": "Why",
        "changes": st.column_config.TextColumn("What changed (from the version before)", width="large")})


def render() -> None:
    actor = auth.require_role()
    if actor is None:
        return
    st.title("Risk scoring")
    st.caption("Step 3 of CBP's risk assessment: vulnerability against the Minimum Security Criteria, threat from "
               "step 2, risk through the matrix, for every partner and lane. docs/RISK-METHOD.md explains the method.")
    _flash()
    url = state.database_url()
    today = date.today()
    for name, tab in zip(TABS, st.tabs(TABS, key="scoring_tab", on_change="rerun"), strict=True):
        if not tab.open:
            continue
        with tab:
            if name == TABS[0]:
                _what_if(actor, today)
            elif name == TABS[1]:
                _snapshots_tab(url, actor, today)
            elif name == TABS[2]:
                _reassessment_tab(actor, today)
            elif name == TABS[3]:
                _site_visits_tab(url, actor, today)
            else:
                _configurations_tab()
