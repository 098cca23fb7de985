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
    "checked_by", "changed_by", "visited_by", "saved_by", "approved_by", "created_by", "updated_by", "decided_by",
    "closed_by", "reviewed_by", "recorded_by", "owner", "link", "url", "token",
    "reference",  # a certificate check's registry reference, a list entry's number
    "weakest",  # a lane's weakest party, by partner code
})
# In an audit frame (it has an "entity" column) "id" is the record's id: a partner code, a username, or a number.
AUDIT_ENTITY, AUDIT_ID = "entity", "id"
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
    """A partner's label "code · name" (strings escaped by the caller, or pandas Series of them); the name alone while
    presenting."""
    return name if active() else code + sep + name


def scrub(text: str, *identifiers: object) -> str:
    """Free text with its e-mail addresses and the given identifier values hidden while presenting."""
    if not active() or not isinstance(text, str):
        return text
    for value in identifiers:
        if _present(value) and str(value).strip():
            text = text.replace(str(value), PLACEHOLDER)
    return EMAIL.sub(PLACEHOLDER, text)


def _identifier(value: object) -> bool:
    """Worth hiding inside a text: a short plain number (a record number, a count) is not an identifier."""
    text = str(value).strip() if _present(value) else ""
    return len(text) >= 3 and not (text.isdigit() and len(text) < 6)


# "Field: value" in the audit trail's words (services.audittrail.changes_words) for a SENSITIVE field.
_FIELD_LABELS = frozenset(key.replace("_", " ").capitalize() for key in SENSITIVE)


def _scrub_fields(text: str) -> str:
    parts = text.split("; ")
    for i, part in enumerate(parts):
        label, sep, rest = part.partition(": ")
        if sep and label in _FIELD_LABELS:
            parts[i] = f"{label}: " + " → ".join(PLACEHOLDER if v.strip() not in ("", "–") else v
                                                 for v in rest.split(" → "))
    return "; ".join(parts)


def _scrub_row(text: object, values: tuple) -> object:
    if not isinstance(text, str):
        return text
    text = _scrub_fields(text)
    for value in values:
        if _identifier(value):
            text = re.sub(rf"(?<!\w){re.escape(str(value).strip())}(?!\w)", PLACEHOLDER, text)
    return EMAIL.sub(PLACEHOLDER, text)


def masked(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame as shown: while presenting, its SENSITIVE columns (and an audit record's id) read "hidden", and in
    its other text cells e-mail addresses and the row's own identifiers are hidden (e.g. a partner code in an audit
    summary). The frame itself is not changed."""
    if not active() or frame.empty:
        return frame
    hide = [c for c in frame.columns if c in SENSITIVE]
    if AUDIT_ENTITY in frame.columns and AUDIT_ID in frame.columns:
        hide.append(AUDIT_ID)
    out = frame.copy()
    own = list(zip(*(frame[c] for c in hide), strict=True)) if hide else [()] * len(frame)
    for column in out.columns:
        if column in hide:
            hidden_here = _identifier if column == AUDIT_ID else _present
            out[column] = pd.Series([PLACEHOLDER if hidden_here(v) else v for v in out[column]], index=out.index,
                                    dtype=object)
        elif out[column].dtype == object or pd.api.types.is_string_dtype(out[column].dtype):
            out[column] = [_scrub_row(text, values) for text, values in zip(out[column], own, strict=True)]
    return out
