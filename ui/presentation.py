"""Presentation mode: a switch kept for the whole session, under which pages hide editing controls, e-mail
addresses and identifiers (for a demo to management or on a shared screen).

The switch is a widget in the sidebar (and on the dashboard); its value is copied to a plain session key, because
Streamlit forgets a widget's value on pages that do not draw it. While it is on, ``ui.auth.require_role`` gives every
page a read-only actor (no editing controls, writes refused); pages ask ``active()`` or ``hidden()`` for e-mail
addresses and identifiers.
"""

import streamlit as st

KEY = "presentation_mode"
_WIDGET = "presentation_mode_switch"


def active() -> bool:
    """True while presentation mode is on."""
    return bool(st.session_state.get(KEY, False))


def switch(container=st, key: str = _WIDGET) -> bool:
    """Draw the switch (in `container`, under widget `key`: the sidebar's and the dashboard's are two widgets) and
    return whether presentation mode is on."""
    st.session_state[key] = active()
    container.toggle("Presentation mode", key=key, on_change=lambda: st.session_state.update({KEY: bool(
        st.session_state.get(key, False))}),
        help="Hides editing controls, e-mail addresses and identifiers, for showing on a shared screen.")
    return active()


def hidden(value: object, placeholder: str = "hidden") -> object:
    """`value`, or the placeholder while presentation mode is on (for an e-mail address or an identifier)."""
    return placeholder if active() else value
