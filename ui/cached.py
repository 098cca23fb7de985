"""Cached reads that several pages share, keyed by the data version so other processes' writes show at once."""

from datetime import date

import pandas as pd
import streamlit as st

from services.collection import cycles
from ui import state


@st.cache_data(show_spinner=False)
def _cycle_list(url: str, version: int, today: date) -> pd.DataFrame:
    with state.session() as s:
        return cycles.list_cycles(session=s, today=today)


@st.cache_data(show_spinner=False)
def _cycle_funnel(url: str, version: int, cycle_id: int, today: date) -> pd.DataFrame:
    with state.session() as s:
        return cycles.funnel(session=s, cycle_id=cycle_id, today=today)


def cycle_list(today: date) -> pd.DataFrame:
    """All cycles with their counts per state."""
    return _cycle_list(state.database_url(), state.data_version(), today)


def cycle_funnel(cycle_id: int, today: date) -> pd.DataFrame:
    """One row per assignment of the cycle, with its effective state."""
    return _cycle_funnel(state.database_url(), state.data_version(), cycle_id, today)
