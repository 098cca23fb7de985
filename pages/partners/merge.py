"""Merging a duplicate partner into the one kept: its records move over, the duplicate is deactivated."""

import streamlit as st

from pages.partners.common import after_write, parent_options
from services.core.permissions import Actor
from services.partners import registry as partners
from ui import state
from ui.text import plain


def merge_tab(url: str, actor: Actor, data: dict, countries: dict[str, str]) -> None:
    p = data["partner"]
    st.caption("Merge a duplicate of this partner into it. The duplicate's certifications, child partners, "
               "questionnaires, answers and history move here; the duplicate is deactivated, never deleted.")
    with state.session() as s:
        duplicates = [(d.partner_code, reason) for d, reason in
                      partners.find_duplicates(session=s, values=p, exclude_id=p["id"])]
    if duplicates:
        st.info("Possible duplicates: " + "; ".join(f"{plain(code)} ({reason})" for code, reason in duplicates))
    options = {k: v for k, v in parent_options(url).items() if k != p["id"]}
    with st.form(f"partner_merge_{p['id']}"):
        duplicate_id = st.selectbox("Duplicate to merge into this partner", list(options), format_func=options.get,
                                    index=None, placeholder="Choose the duplicate")
        confirmed = st.checkbox("I checked that both records are the same company")
        submitted = st.form_submit_button("Merge", icon=":material/merge:")
    if not submitted:
        return
    if duplicate_id is None or not confirmed:
        st.error("Choose the duplicate and confirm that both records are the same company.")
        return
    if state.write(lambda s: partners.merge_partners(session=s, actor=actor, keep_id=p["id"],
                                                     duplicate_id=duplicate_id)):
        after_write(f"Merged {plain(options[duplicate_id])} into {plain(p['partner_code'])}.", focus=p["id"])
