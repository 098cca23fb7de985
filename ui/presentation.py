"""Presentation mode: a switch kept for the whole session, under which every page hides editing controls, e-mail
addresses and identifiers (for a demo to management or on a shared screen).

The switch is a widget in the sidebar (and on the dashboard); its value is copied to a plain session key, because
Streamlit forgets a widget's value on pages that do not draw it. While it is on:
- ``ui.auth.require_role`` gives every page a read-only actor (no editing controls, writes refused);
- ``ui.labels.table`` (and ``masked`` for a page's own ``st.dataframe`` or chart data) shows "hidden" in every column
  that ``SENSITIVE`` names, and hides e-mail addresses inside any other text cell;
- text a page writes itself goes through ``hidden`` (one value), ``partner`` (a partner's label) or ``scrub``.

What counts (the one list, ``SENSITIVE``): e-mail addresses; partner codes; trade identifiers (MID, SCAC, IOR/EIN,
DUNS, FMC, IATA, broker licence, USDOT); CTPAT account / SVI and mutual recognition certificate numbers; the
company's own account and importer-of-record numbers; staff usernames (who did, verified, uploaded or answered
what); personal links. Names stay visible: partners' and people's names, countries, lanes and criteria are what
management came to see. Downloads are not changed: a file is not the screen.
"""

import re

import pandas as pd
import streamlit as st

from services.partners.identifiers import IDENTIFIER_FORMATS

KEY = "presentation_mode"
_WIDGET = "presentation_mode_switch"
PLACEHOLDER = "hidden"
EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")

EMAIL_COLUMNS = frozenset({"contact_email", "email", "primary_contact_email", "recipients", "recipient"})
IDENTIFIER_COLUMNS = frozenset({
    "partner_code", "parent_code", "duplicate_of", *IDENTIFIER_FORMATS, "certificate_number",
    "ctpat_account_number", "ior_number", "username", "user", "verified_by", "uploaded_by", "answered_by",
    "checked_by", "changed_by", "visited_by", "owner_username", "link", "url", "token",
})
SENSITIVE = EMAIL_COLUMNS | IDENTIFIER_COLUMNS


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


def _present(value: object) -> bool:
    return not (value is None or (isinstance(value, str) and not value.strip())
                or (pd.api.types.is_scalar(value) and pd.isna(value)))


def hidden(value: object, placeholder: str = PLACEHOLDER) -> object:
    """`value`, or the placeholder while presentation mode is on (for an e-mail address or an identifier); a missing
    value stays missing."""
    return placeholder if active() and _present(value) else value


def partner(code: str, name: str, sep: str = " · ") -> str:
    """A partner's label "code · name" (plain strings, escaped by the caller); the name alone while presenting."""
    return name if active() else f"{code}{sep}{name}"


def scrub(text: str, *identifiers: object) -> str:
    """Free text with its e-mail addresses and the given identifier values hidden while presenting."""
    if not active() or not isinstance(text, str):
        return text
    for value in identifiers:
        if _present(value) and str(value).strip():
            text = text.replace(str(value), PLACEHOLDER)
    return EMAIL.sub(PLACEHOLDER, text)


def masked(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame as shown: while presenting, its SENSITIVE columns read "hidden" and e-mail addresses in other text
    cells are hidden (the frame itself is not changed)."""
    if not active() or frame.empty:
        return frame
    out = frame.copy()
    for column in out.columns:
        if column in SENSITIVE:
            out[column] = out[column].map(lambda v: PLACEHOLDER if _present(v) else v).astype(object)
        elif out[column].dtype == object or pd.api.types.is_string_dtype(out[column].dtype):
            out[column] = out[column].map(lambda v: EMAIL.sub(PLACEHOLDER, v) if isinstance(v, str) else v)
    return out
