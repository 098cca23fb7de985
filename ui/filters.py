"""Filters a page opens with: a link (``ui.links.page_link(..., query_params=...)``, e.g. from a dashboard figure)
names initial filter values in the address, and the page shows them in its own filter widgets, where the user sees
and changes them.

Each parameter is read once: ``initial`` moves it from ``st.query_params`` into the widget's session value and out of
the address, so a later rerun keeps what the user chose and the same link clicked again applies it again. Values
outside the widget's options are ignored (a stale or hand-typed link), never an error.
"""

from collections.abc import Iterable

import streamlit as st

TRUE = ("1", "true", "on")


def initial(key: str, param: str, options: Iterable | None = None, *, many: bool = False) -> None:
    """Set widget `key` from query parameter `param` if the address has it: a toggle when `options` is None, else
    one of `options` (a select box) or, with `many`, the comma-separated ones (a multiselect). Call it before
    the widget is drawn."""
    if param not in st.query_params:
        return
    raw = st.query_params[param]
    del st.query_params[param]
    if options is None:
        st.session_state[key] = raw.strip().lower() in TRUE
        return
    by_text = {str(option): option for option in options}
    chosen = [by_text[value.strip()] for value in raw.split(",") if value.strip() in by_text]
    if many:
        st.session_state[key] = chosen
    elif chosen:
        st.session_state[key] = chosen[0]
