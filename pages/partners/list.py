"""The partner list: search and filters, the paged table, the row that opens a partner, the CSV export."""

import hashlib
import math

import streamlit as st

from models.common import CRITICALITIES, ENTITY_TYPES, PARTNER_STATUSES
from pages.partners.common import FOCUS, VERSION
from services.exports.safe import csv_bytes
from services.partners import registry as partners
from ui import filters as initial_filters
from ui import labels, state

PAGE_SIZES = (25, 50, 100, 200)
COLUMNS = ["partner_code", "legal_name", "entity_type", "country_iso2", "city", "criticality", "import_share",
           "status", "contact_email", "updated_at"]


@st.cache_data(show_spinner=False, max_entries=200)
def _search(url: str, filters: dict, page: int, page_size: int) -> partners.PartnerPage:
    with state.session() as s:
        return partners.search_partners(session=s, **filters, page=page, page_size=page_size)


def export_csv(filters: dict) -> bytes:
    """Every partner matching the filters as CSV, with a BOM so Excel reads accents and Chinese names."""
    with state.session() as s:
        frame = partners.export_partners(session=s, **filters)
    return csv_bytes(frame)


def _digest(*parts: object) -> str:
    return hashlib.sha1(repr(parts).encode()).hexdigest()[:12]


def filters(countries: dict[str, str]) -> dict:
    """The search box and filter pickers; returns the chosen filters and sort order."""
    st.text_input("Search", key="partner_search", icon=":material/search:",
                  placeholder="Code, name, city, contact email or identifier (MID, SCAC, DUNS…)")
    cols = st.columns(4)
    cols[0].multiselect("Entity type", ENTITY_TYPES, key="partner_f_type", placeholder="All entity types")
    cols[1].multiselect("Country", list(countries), key="partner_f_country", placeholder="All countries",
                        format_func=lambda c: f"{countries.get(c, c)} ({c})")
    initial_filters.initial("partner_f_status", "status", PARTNER_STATUSES, many=True)  # e.g. from the dashboard
    initial_filters.initial("partner_f_crit", "criticality", CRITICALITIES, many=True)
    cols[2].multiselect("Status", PARTNER_STATUSES, key="partner_f_status", placeholder="Any status")
    cols[3].multiselect("Criticality", CRITICALITIES, key="partner_f_crit", placeholder="Any criticality")
    ss = st.session_state
    return {
        "text": (ss.get("partner_search") or "").strip(),
        "entity_types": list(ss.get("partner_f_type") or []),
        "countries": list(ss.get("partner_f_country") or []),
        "statuses": list(ss.get("partner_f_status") or []),
        "criticalities": list(ss.get("partner_f_crit") or []),
        "sort": ss.get("partner_sort", "partner_code"),
        "descending": bool(ss.get("partner_desc", False)),
    }


def table(url: str, filters: dict) -> None:
    """Sort and paging controls, the current page of partners, and the row selection that opens a partner."""
    sort_col, desc_col, size_col, page_col = st.columns([2, 1, 1, 1], vertical_alignment="bottom")
    sort_col.selectbox("Sort by", partners.SORTABLE, format_func=labels.label, key="partner_sort")
    desc_col.toggle("Descending", key="partner_desc")
    size = size_col.selectbox("Rows per page", PAGE_SIZES, index=PAGE_SIZES.index(50), key="partner_size")

    # A new query starts again at page 1; a page past the end (rows filtered away) falls back to the last page.
    query = _digest(filters, size)
    if st.session_state.get("partner_query") != query:
        st.session_state["partner_query"] = query
        st.session_state["partner_page"] = 1
    page = int(st.session_state.get("partner_page", 1))
    result = _search(url, filters, page, size)
    pages = max(1, math.ceil(result.total / size))
    if page > pages:
        page = pages
        st.session_state["partner_page"] = page
        result = _search(url, filters, page, size)
    page_col.number_input("Page", min_value=1, max_value=pages, step=1, key="partner_page")
    if result.rows.empty:
        st.info("No partner matches these filters.")
        return
    st.caption(f"{result.total:,} partners match · page {page} of {pages} · select a row to open the partner")
    rows = result.rows
    key = "partner_table_" + _digest(query, page, st.session_state.get(VERSION, 0))
    event = labels.table(rows, COLUMNS, key=key, on_select="rerun", selection_mode="single-row")
    # Only a new click opens a partner, so a selection left in the table does not override a partner opened since.
    clicked = int(rows.iloc[event.selection.rows[0]]["id"]) if event.selection.rows else None
    if st.session_state.get("partner_clicked") != (key, clicked):
        st.session_state["partner_clicked"] = (key, clicked)
        if clicked is not None:
            st.session_state[FOCUS] = clicked
    st.download_button("Download CSV", data=lambda: export_csv(filters), file_name="partners.csv", mime="text/csv",
                       on_click="ignore", icon=":material/download:", key="partner_csv",
                       help=f"All {result.total:,} partners matching the search and filters, with all fields.")
