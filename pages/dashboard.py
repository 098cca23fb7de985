"""Dashboard: partners at a glance and the company's own CTPAT profile."""

import pandas as pd
import streamlit as st

from services.company import profile as company
from services.reports import overview
from ui import auth, charts, labels, state
from ui.labels import show
from ui.text import plain


@st.cache_data(show_spinner=False)
def _load(url: str) -> dict:
    with state.session() as s:
        profile = company.get_profile(session=s)
        by_country = overview.partners_by_country(session=s)
        by_type = overview.partners_by_entity_type(session=s)
        headline = overview.headline(session=s)
    # Chart specs are built here, once per data change: validating the inline world map costs most of a rerun.
    return {
        "headline": headline,
        "by_country": by_country,
        "map_spec": charts.world_choropleth(by_country, value="partners", title="partners").to_dict()
        if not by_country.empty else None,
        "type_spec": charts.bar(by_type, category="entity_type", value="partners", color="status",
                                title="partners").to_dict(),
        "profile": profile.model_dump() if profile else None,
        "dates": company.key_dates(profile) if profile else None,
    }


def _profile_panel(profile: dict | None, dates: dict | None) -> None:
    st.subheader("Our CTPAT profile")
    if profile is None:
        st.info("No company profile yet. An admin enters it on the Admin page.")
        return
    st.markdown(f"**{plain(profile['legal_name'])}** · {profile['entity_type']} · **{profile['tier']}**")
    left, right = st.columns(2)
    left.markdown(
        f"Account number: {plain(show(profile['ctpat_account_number']))}  \n"
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


def render() -> None:
    if auth.require_role() is None:
        return
    st.title("Dashboard")
    data = _load(state.database_url())
    head = data["headline"]
    cols = st.columns(5)
    cols[0].metric("Active partners", f"{head['active']:,}")
    cols[1].metric("Countries", head["countries"])
    cols[2].metric("High or critical", f"{head['high_or_critical']:,}")
    share = head["certified"] / head["active"] if head["active"] else 0
    cols[3].metric("Verified CTPAT/AEO", f"{head['certified']:,}", f"{share:.0%} of active", delta_color="off",
                   delta_arrow="off")
    cols[4].metric("Inactive", f"{head['inactive']:,}")

    _profile_panel(data["profile"], data["dates"])

    by_country: pd.DataFrame = data["by_country"]
    st.subheader("Active partners by country")
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
