"""Revalidation readiness (step 5): the checklist a validation walks through, computed from the data, each item
green, amber or red with its reason and a link to the records behind it (services.reports.readiness)."""

from datetime import date

import streamlit as st

from services.company import profile as company_profile
from services.reports import readiness
from ui import auth, links, risk, state
from ui.text import plain

BADGE = {readiness.Light.green: ("green", "In order", ":material/check_circle:"),
         readiness.Light.amber: ("orange", "Attention", ":material/warning:"),
         readiness.Light.red: ("red", "Not ready", ":material/cancel:")}


@st.cache_data(show_spinner=False, max_entries=5)
def _data(url: str, version: int, today: date) -> dict:
    with state.session() as s:
        profile = company_profile.get_profile(session=s)
        return {"items": readiness.checklist(session=s, today=today, current=risk.current(today)),
                "dates": company_profile.key_dates(profile, today) if profile else None}


def _item(item: readiness.Item) -> None:
    color, word, icon = BADGE[item.light]
    with st.container(border=True):
        c1, c2 = st.columns([1, 4])
        c1.badge(word, color=color, icon=icon)
        c2.markdown(f"**{plain(item.title)}**  \n{plain(item.reason)}")
        c2.caption(plain(item.basis))
        where = ", ".join(f"{k}: {v}" for k, v in item.filter.items())
        links.page_link(item.url_path, "Open the records" + (f" ({where})" if where else ""),
                        query_params=item.filter, help="The page holding the records behind this item.")


def render() -> None:
    actor = auth.require_role()
    if actor is None:
        return
    st.title("Revalidation readiness")
    today = date.today()
    data = _data(state.database_url(), state.data_version(), today)
    items = data["items"]
    counts = readiness.summary(items)
    st.caption("What a CBP validation looks at, checked against the data today. Red also means Unknown: where the "
               "data to judge an item is not recorded, it is never shown as in order.")
    cols = st.columns(4)
    cols[0].metric("In order", counts["green"])
    cols[1].metric("Attention", counts["amber"])
    cols[2].metric("Not ready", counts["red"])
    days = data["dates"]["days_to_revalidation"] if data["dates"] else None
    cols[3].metric("Days to revalidation", "Unknown" if days is None else days,
                   help="Four years after the last validation (SAFE Port Act), from Admin > Company profile.")
    for item in items:
        _item(item)
