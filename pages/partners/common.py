"""What the parts of the Partners page share: session keys, cached reads, and what follows a write."""

import pandas as pd
import streamlit as st

from services.core import audit
from services.partners import registry as partners
from ui import state

FOCUS = "partner_focus"  # id of the partner whose detail is open
VERSION = "partner_version"  # bumped after each write so table selections from before are dropped
FLASH = "partner_flash"


@st.cache_data(show_spinner=False)
def countries(url: str) -> dict[str, str]:
    with state.session() as s:
        return partners.country_names(session=s)


@st.cache_data(show_spinner=False)
def parent_options(url: str) -> dict[int, str]:
    with state.session() as s:
        return partners.partner_options(session=s)


@st.cache_data(show_spinner=False, max_entries=100)
def detail(url: str, partner_id: int) -> dict | None:
    """One partner with its parent, the partners behind it, and its history (with its sites' and contacts')."""
    with state.session() as s:
        partner = partners.get_partner(session=s, partner_id=partner_id)
        if partner is None:
            return None
        parent = partners.get_partner(session=s, partner_id=partner.parent_id) if partner.parent_id else None
        kids = partners.children(session=s, partner_id=partner_id)
        # The partner's own changes and those of its sites and contacts (their events name the partner's code).
        found = [audit.list_events(session=s, entity=entity, text=partner.partner_code, limit=200)
                 for entity in ("partner", "site", "contact")]
        kept = [f for f in found if not f.empty]
        history = pd.concat(kept, ignore_index=True).sort_values("at", ascending=False) if kept else found[0]
        columns = ["id", "partner_code", "legal_name", "entity_type", "country_iso2", "city", "status"]
        return {
            "partner": partner.model_dump(),
            "parent": parent.model_dump() if parent else None,
            "children": pd.DataFrame([{c: getattr(k, c) for c in columns} for k in kids], columns=columns),
            "history": history[history["id"] == partner.partner_code],
        }


def after_write(message: str, focus: int | None = None) -> None:
    """Show `message` after the rerun, drop stale table selections, and open the partner written (if given)."""
    st.session_state[VERSION] = st.session_state.get(VERSION, 0) + 1
    st.session_state[FLASH] = message
    if focus is not None:
        st.session_state[FOCUS] = focus
    st.rerun()
