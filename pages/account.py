"""My account: change my own password (forced at the first login with a generated password)."""

import streamlit as st

from services.core import users
from ui import auth, presentation, state
from ui.text import plain


def render() -> None:
    actor = auth.require_role()
    if actor is None:
        return
    st.title("My account")
    if message := st.session_state.pop("account_flash", None):
        st.success(message, icon=":material/check_circle:")
    if st.session_state.get("must_change_password"):
        st.warning("Set a new password before you continue.")
    if presentation.active():
        st.info("Presentation mode is on: turn it off to change your password.", icon=":material/slideshow:")
        return
    st.caption(f"Signed in as **{plain(actor.username)}** with the role **{actor.role}**.")
    with st.form("change_password", clear_on_submit=True):
        current = st.text_input("Current password", type="password")
        new = st.text_input("New password", type="password",
                            help=f"At least {users.MIN_PASSWORD_LENGTH} characters, at most "
                                 f"{users.MAX_PASSWORD_BYTES} bytes.")
        repeat = st.text_input("Repeat new password", type="password")
        submitted = st.form_submit_button("Change password", type="primary")
    if submitted:
        if new != repeat:
            st.error("The two new passwords differ.")
            return
        if state.write(lambda s: users.change_own_password(session=s, username=actor.username,
                                                           current_password=current, new_password=new),
                       success="Password changed.", flash_key="account_flash"):
            st.session_state["must_change_password"] = False
            st.rerun()
