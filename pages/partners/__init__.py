"""Partners: find, read, add, edit, deactivate, merge and export business partners (paged on the server).

The page is a package so that each part stays small: ``list`` (filters, the paged table, CSV export), ``detail``
(one partner and its tabs), ``form`` (add and edit), ``merge``. Later tabs (risk, actions) go in modules of
their own and into ``detail.TABS``.
"""

import streamlit as st

from pages.partners import detail, form
from pages.partners import list as partner_list
from pages.partners.common import FLASH, FOCUS, countries
from pages.partners.list import export_csv
from ui import auth, state

__all__ = ["FOCUS", "export_csv", "render"]


def render() -> None:
    actor = auth.require_role()
    if actor is None:
        return
    st.title("Partners")
    url = state.database_url()
    if message := st.session_state.pop(FLASH, None):
        st.success(message, icon=":material/check_circle:")  # markdown, typed parts made plain
    names = countries(url)
    if actor.can_write:
        form.add_panel(url, actor, names)
    partner_list.table(url, partner_list.filters(names))
    if st.session_state.get(FOCUS) is not None:
        detail.panel(url, actor, st.session_state[FOCUS], names)
