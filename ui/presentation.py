"""Presentation mode: a switch kept for the whole session, under which pages hide editing controls, e-mail
addresses and identifiers (for a demo to management or on a shared screen).

The switch is a widget on the dashboard; its value is copied to a plain session key, because Streamlit forgets a
widget's value on pages that do not draw it. Other pages ask ``active()``.
"""

import streamlit as st

KEY = "presentation_mode"
_WIDGET = "presentation_mode_switch"


def active() -> bool:
    """True while presentation mode is on."""
    return bool(st.session_state.get(KEY, False))


def _copy() -> None:
    st.session_state[KEY] = bool(st.session_state.get(_WIDGET, False))


def switch(container=st) -> bool:
    """Draw the switch (in `container`) and return whether presentation mode is on."""
    st.session_state[_WIDGET] = active()
    container.toggle("Presentation mode", key=_WIDGET, on_change=_copy,
                     help="Hides editing controls, e-mail addresses and identifiers, for showing on a shared screen.")
    return active()


def hidden(value: object, placeholder: str = "hidden") -> object:
    """`value`, or the placeholder while presentation mode is on (for an e-mail address or an identifier)."""
    return placeholder if active() else value
