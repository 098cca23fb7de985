"""The partner's roles panel: what the partner physically does, which decides the role-conditional criteria.

For the partner page: ``partner_roles.panel(partner_id, actor)`` inside the partner's detail. It reads and writes
through services.reference.applicability and the page write helper.
"""

import streamlit as st

from models.reference import RoleSetting
from services.core.permissions import Actor
from services.reference import applicability
from ui import state

_CHOICES = tuple(RoleSetting)


@st.cache_data(show_spinner=False)
def _roles(url: str, partner_id: int):
    with state.session() as s:
        return applicability.partner_roles(session=s, partner_id=partner_id)


def panel(partner_id: int, actor: Actor) -> None:
    """Each role with its value and where it comes from; staff who may write change them in one form."""
    roles = _roles(state.database_url(), partner_id)
    st.markdown("**What this partner does**")
    st.caption("Decides the criteria that depend on a partner's role, such as the land-border items (5.16, 5.24) "
               "or the shipper's acts at loading (7.4, 7.5, 7.29). 'default' follows its entity type "
               "(and its country for the land border). An admin's override of a criterion still wins.")
    if not actor.can_write:
        shown = roles.assign(value=[f"{RoleSetting.of(bool(v))}{' (default)' if own is None else ''}"
                                    for v, own in zip(roles["value"], roles["own"], strict=True)])
        st.dataframe(shown[["label", "value"]], hide_index=True, width="stretch",
                     column_config={"label": "Role", "value": "Value"})
        return
    with st.form(f"partner_roles_{partner_id}"):
        chosen = {}
        for row in roles.itertuples():
            own = RoleSetting.of(None if row.own is None or row.own != row.own else bool(row.own))
            default = f"{RoleSetting.default} ({RoleSetting.of(bool(row.default))})"
            chosen[row.role] = st.radio(
                row.label, _CHOICES, index=_CHOICES.index(own), horizontal=True,
                format_func=lambda c, d=default: d if c == RoleSetting.default else str(c),
                key=f"partner_role_{partner_id}_{row.role}", help=f"{row.help}\n\nDefault: {row.why_default}")
        submitted = st.form_submit_button("Save roles", icon=":material/save:")
    if submitted:
        values = {role: RoleSetting(choice).flag for role, choice in chosen.items()}
        if state.write(lambda s: applicability.set_partner_roles(session=s, actor=actor, partner_id=partner_id,
                                                                 values=values),
                       success="Saved the partner's roles.", flash_key="partner_roles_flash"):
            st.rerun()
    if message := st.session_state.pop("partner_roles_flash", None):
        st.success(message, icon=":material/check_circle:")
