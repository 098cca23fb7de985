"""Dashboard: the page a manager opens. This cycle's progress, risk by band and its move since the last snapshot,
mutual recognition coverage, the action plan, the company's CTPAT dates, the trend across cycles and snapshots;
every figure links to the page behind it. A presentation mode hides identifiers and e-mail addresses."""

from datetime import date

import pandas as pd
import streamlit as st

from models.collection import AssignmentStatus
from services.collection.cycles import FUNNEL_STATES
from services.reports import dashboard, overview
from ui import auth, charts, labels, links, presentation, state
from ui.labels import show
from ui.text import plain

UNKNOWN = "Unknown"
# The states of a partner in scope whose questionnaire is not accepted yet: "Assessed this cycle" links to them.
NOT_ASSESSED = ",".join(str(s) for s in FUNNEL_STATES if s not in (AssignmentStatus.accepted, AssignmentStatus.exempt))


@st.cache_data(show_spinner=False, max_entries=3)
def _load(url: str, version: int, today: date) -> dict:
    with state.session() as s:
        data = dashboard.figures(session=s, today=today)
        by_country = overview.partners_by_country(session=s)
        by_type = overview.partners_by_entity_type(session=s)
    # Chart specs are built here, once per data change: validating the inline world map costs most of a rerun.
    trend, snapshots, bands = data["trend"], data["snapshots"], data["bands"]
    data.update({
        "by_country": by_country,
        "map_spec": charts.world_choropleth(by_country, value="partners", title="partners").to_dict()
        if not by_country.empty else None,
        "type_spec": charts.bar(by_type, category="entity_type", value="partners", color="status",
                                title="partners").to_dict(),
        "cycle_spec": charts.share_trend(trend, x="cycle", series={"response_rate": "responded",
                                                                   "assessed_share": "assessed (accepted)"},
                                         title="share of partners in scope").to_dict() if len(trend) else None,
        "snapshot_spec": charts.band_trend(snapshots, x="name", columns={"partners_high": "High",
                                                                         "partners_medium": "Medium",
                                                                         "partners_low": "Low"},
                                           title="partners").to_dict() if len(snapshots) else None,
        "band_specs": {kind: charts.band_bars(bands[bands["kind"] == kind], title=kind).to_dict()
                       for kind in ("partners", "lanes")} if len(snapshots) else None,
    })
    return data


def _percent(value: float | None) -> str:
    return UNKNOWN if value is None or pd.isna(value) else f"{value:.0%}"


def _days(value: int | None) -> str:
    return UNKNOWN if value is None else f"{value:,}"


def _figure(column, label: str, value: str, link: tuple[str, str, dict | None], *, help: str | None = None,
            delta: str | None = None, delta_color: str = "off") -> None:
    """A metric with the link to the page behind it."""
    with column:
        st.metric(label, value, delta=delta, delta_color=delta_color, delta_arrow="off" if delta_color == "off"
                  else "auto", help=help)
        url_path, text, params = link
        links.page_link(url_path, text, query_params=params)


def _headline(data: dict) -> None:
    cycle = data["cycle"]
    cols = st.columns(6)
    if cycle is None:
        _figure(cols[0], "Assessed this cycle", UNKNOWN, ("cycles", "Cycles", None), help="No cycle has been opened.")
        _figure(cols[1], "Response rate", UNKNOWN, ("cycles", "Cycles", None), help="No cycle has been opened.")
    else:
        name = plain(cycle["name"])
        _figure(cols[0], "Assessed this cycle", _percent(cycle["assessed_share"]),
                ("cycles", "Not yet assessed", {"cycle": str(cycle["id"]), "state": NOT_ASSESSED}),
                delta=f"{cycle['assessed']:,} of {cycle['in_scope']:,}",
                help=f"Cycle {name}: partners whose questionnaire was accepted, of the {cycle['in_scope']:,} not "
                     f"exempt ({cycle['exempted']:,} exempt by a certificate).")
        _figure(cols[1], "Response rate", _percent(cycle["response_rate"]),
                ("review", "Review", {"cycle": str(cycle["id"])}),
                delta=f"{cycle['responded']:,} of {cycle['in_scope']:,}",
                help=f"Cycle {name}: submitted, accepted, or returned after submitting, of the partners in scope; "
                     f"{cycle['late']:,} overdue.")
    head = data["headline"]
    _figure(cols[2], "MRA coverage", _percent(data["coverage"]),
            ("mutual_recognition", "Certificates due", {"tab": "Watch list"}),
            delta=f"{head['certified']:,} of {head['active']:,}",
            help="Active partners a verified CTPAT or mutually recognized certificate covers.")
    _figure(cols[3], "Overdue actions", f"{data['actions_overdue']:,}",
            ("actions", "Overdue items", {"past_due": "true"}), delta=f"{data['actions_open']:,} open",
            delta_color="inverse" if data["actions_overdue"] else "off")
    _figure(cols[4], "Days to annual review", _days(data["days_to_annual_review"]),
            ("self_assessment", "Security Profile", None),
            help="The Annual Security Profile Review is due on the certification anniversary (window opens 90 days "
                 "before). Unknown: no anniversary in the company profile.")
    _figure(cols[5], "Days to revalidation", _days(data["days_to_revalidation"]),
            ("readiness", "Readiness", None),
            help="Four years after the last validation (SAFE Port Act). Unknown: no validation date on file.")


def _risk(data: dict) -> None:
    st.subheader("Risk by band")
    latest, previous = data["latest_snapshot"], data["previous_snapshot"]
    if latest is None:
        st.warning("No assessment snapshot yet: risk by band is Unknown until the team takes one on the Risk "
                   "scoring page.", icon=":material/warning:")
        links.page_link("scoring", "Risk scoring")
        return
    since = (f"moves since “{plain(previous['name'])}” ({previous['as_of']})" if previous is not None
             else "no earlier snapshot to compare with")
    st.caption(f"Latest snapshot “{plain(latest['name'])}” of {latest['as_of']}; {since}.")
    bands = data["bands"]
    left, right = st.columns(2)
    for column, kind in ((left, "partners"), (right, "lanes")):
        with column:
            st.markdown(f"**{kind.capitalize()}**")
            cols = st.columns(3)
            for c, row in zip(cols, bands[bands["kind"] == kind].to_dict("records"), strict=True):
                move = row["move"]
                c.metric(row["band"], f"{row['now']:,}",
                         delta=None if move is None else f"{move:+,}",
                         delta_color={"High": "inverse", "Low": "normal"}.get(row["band"], "off"))
                if kind == "partners":
                    with c:
                        links.page_link("scoring", f"{row['band']} partners", query_params={"band": row["band"]})
            st.vega_lite_chart(spec=data["band_specs"][kind], width="stretch")
    links.page_link("scoring", "Risk scoring: scores and snapshots")


def _trend(data: dict) -> None:
    st.subheader("Trend")
    left, right = st.columns(2)
    with left:
        st.markdown("**Across cycles**")
        if data["cycle_spec"] is None:
            st.info("No cycle yet.")
        else:
            st.vega_lite_chart(spec=data["cycle_spec"], width="stretch")
        links.page_link("cycles", "Cycles")
    with right:
        st.markdown("**Partners by risk across snapshots**")
        if data["snapshot_spec"] is None:
            st.info("No snapshot yet.")
        else:
            st.vega_lite_chart(spec=data["snapshot_spec"], width="stretch")
        links.page_link("scoring", "Risk scoring")


def _profile_panel(profile: dict | None, dates: dict | None) -> None:
    st.subheader("Our CTPAT profile")
    if profile is None:
        st.info("No company profile yet. An admin enters it on the Admin page.")
        return
    st.markdown(f"**{plain(profile['legal_name'])}** · {profile['entity_type']} · **{profile['tier']}**")
    left, right = st.columns(2)
    account = presentation.hidden(show(profile["ctpat_account_number"]))
    left.markdown(
        f"Account number: {plain(account)}  \n"
        f"Certified: {show(profile['certification_date'])}  \n"
        f"Last validation: {show(profile['last_validation_date'])}"
    )
    if dates and dates["next_anniversary"]:
        right.markdown(
            f"Annual review anniversary: **{dates['next_anniversary']}** "
            f"({dates['days_to_anniversary']} days)  \n"
            f"Review window opens: {dates['review_window_opens']}"
        )
    if dates and dates["revalidation_due"]:
        days = dates["days_to_revalidation"]
        right.markdown(f"Revalidation due: **{dates['revalidation_due']}** ({days} days)")
        if days < 0:
            st.error("Revalidation is overdue.")
        elif days < 180:
            st.warning("Revalidation falls within six months: prepare the validation pack.")


def _partners(data: dict) -> None:
    head = data["headline"]
    st.subheader("Partners")
    cols = st.columns(4)
    _figure(cols[0], "Active partners", f"{head['active']:,}", ("partners", "Active partners", {"status": "active"}))
    _figure(cols[1], "Countries", f"{head['countries']:,}", ("partners", "Partners", None))
    _figure(cols[2], "High or critical", f"{head['high_or_critical']:,}",
            ("partners", "High or critical", {"status": "active", "criticality": "high,critical"}),
            help="Active partners of high or critical criticality.")
    _figure(cols[3], "Inactive", f"{head['inactive']:,}", ("partners", "Inactive partners", {"status": "inactive"}))
    by_country: pd.DataFrame = data["by_country"]
    if by_country.empty:
        st.info("No partners yet. Add them on the Partners page or import a file.")
        return
    st.vega_lite_chart(spec=data["map_spec"], width="stretch")
    st.caption("Map: Natural Earth 1:110m via world-atlas (see seed/world/NOTICE.md); borders are indicative.")
    left, right = st.columns(2)
    with left:
        st.markdown("**By entity type**")
        st.vega_lite_chart(spec=data["type_spec"], width="stretch")
    with right:
        st.markdown("**Top countries**")
        labels.table(by_country.head(15), ["country", "region", "partners"], height="content")


def render() -> None:
    if auth.require_role() is None:
        return
    title, switch = st.columns([4, 1], vertical_alignment="bottom")
    title.title("Dashboard")
    presentation.switch(switch)
    data = _load(state.database_url(), state.data_version(), date.today())
    _headline(data)
    _risk(data)
    _trend(data)
    _profile_panel(data["profile"], data["dates"])
    _partners(data)
