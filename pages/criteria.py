"""criteria page (being written)."""

import streamlit as st

from ui import auth


def render() -> None:
    if auth.require_role() is None:
        return
    st.title("Criteria")
