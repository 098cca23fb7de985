"""Adding and editing a partner: one form of the PartnerIn fields, a duplicate check before adding."""

import re

import pandas as pd
import streamlit as st

from models.common import CRITICALITIES, ENTITY_TYPES, LANGUAGES
from models.partner import PartnerIn
from pages.partners.common import after_write, parent_options
from services.core.permissions import Actor
from services.partners import registry as partners
from services.partners.identifiers import IDENTIFIER_FORMATS
from ui import labels, state
from ui.text import plain

PENDING = "partner_pending"  # a new partner waiting for "create anyway" after a duplicate warning
_EXAMPLE = re.compile(r"\(e\.g\. ([^)]+)\)")


def _number(value: object) -> float | None:
    return None if value is None or pd.isna(value) else float(value)


def _text(column, label: str, field: str, d: dict, key: str):
    return column.text_input(label, value=d.get(field) or "", max_chars=PartnerIn.max_chars(field), key=key)


def _number_input(column, label: str, field: str, d: dict, key: str, **options):
    low, high = PartnerIn.bounds(field)
    return column.number_input(label, min_value=float(low), max_value=float(high), value=_number(d.get(field)),
                               key=key, **options)


def fields(prefix: str, d: dict, countries: dict[str, str], parents: dict[int, str]) -> dict:
    """The partner fields of a form, prefilled from d; returns the values entered (checked by the service)."""
    c1, c2, c3 = st.columns(3)
    values = {
        "partner_code": _text(c1, "Partner code", "partner_code", d, f"{prefix}_code"),
        "legal_name": _text(c2, "Legal name", "legal_name", d, f"{prefix}_name"),
    }
    entity = d.get("entity_type")
    values["entity_type"] = c3.selectbox("Entity type", ENTITY_TYPES, key=f"{prefix}_type", placeholder="Choose",
                                         index=ENTITY_TYPES.index(entity) if entity in ENTITY_TYPES else None)
    codes = list(countries)
    country = d.get("country_iso2")
    values["country_iso2"] = c1.selectbox("Country", codes, key=f"{prefix}_country",
                                          index=codes.index(country) if country in codes else None,
                                          format_func=lambda c: f"{countries[c]} ({c})", placeholder="Choose")
    values["city"] = _text(c2, "City", "city", d, f"{prefix}_city")
    values["address"] = _text(c3, "Address", "address", d, f"{prefix}_addr")
    values["latitude"] = _number_input(c1, "Latitude", "latitude", d, f"{prefix}_lat", format="%.4f")
    values["longitude"] = _number_input(c2, "Longitude", "longitude", d, f"{prefix}_lon", format="%.4f")
    values["import_share"] = _number_input(c3, "Import share (%)", "import_share", d, f"{prefix}_share",
                                           help="Share of our import volume that comes through this partner.")
    values["contact_name"] = _text(c1, "Contact name", "contact_name", d, f"{prefix}_contact")
    values["contact_email"] = _text(c2, "Contact email", "contact_email", d, f"{prefix}_email")
    languages = list(LANGUAGES)
    values["language"] = c3.selectbox("Questionnaire language", languages, format_func=LANGUAGES.get,
                                      index=languages.index(d.get("language", "en")), key=f"{prefix}_lang")
    values["criticality"] = c1.selectbox("Criticality", CRITICALITIES, key=f"{prefix}_crit",
                                         index=CRITICALITIES.index(d.get("criticality", "medium")))
    # None is a real option so that a parent can be removed again.
    parent_ids = [None, *(pid for pid in parents if pid != d.get("id"))]
    parent = d.get("parent_id")
    values["parent_id"] = c2.selectbox(
        "Parent partner", parent_ids, index=parent_ids.index(parent) if parent in parent_ids else 0,
        format_func=lambda pid: "– none –" if pid is None else parents[pid], key=f"{prefix}_parent",
        help="The agent or trading company this partner works through (e.g. a forwarding agent in front of "
             "its factories).")
    st.markdown("**Trade identifiers** (leave empty when not known)")
    id_cols = st.columns(4)
    for i, (field, (label, _pattern, description)) in enumerate(IDENTIFIER_FORMATS.items()):
        example = _EXAMPLE.search(description)
        values[field] = id_cols[i % 4].text_input(label, value=d.get(field) or "", key=f"{prefix}_{field}",
                                                  help=description, placeholder=example.group(1) if example else "")
    values["notes"] = st.text_area("Notes", value=d.get("notes") or "", max_chars=PartnerIn.max_chars("notes"),
                                   key=f"{prefix}_notes")
    return values


def _add(actor: Actor, values: dict, *, anyway: bool) -> None:
    """Add the partner unless it looks like an existing one (then ask for "create anyway")."""
    result: dict = {}

    def action(s):
        if not anyway:
            found = partners.check_new_partner(session=s, values=values)
            if found:
                result["duplicates"] = [{"partner_code": p.partner_code, "legal_name": p.legal_name,
                                         "country_iso2": p.country_iso2, "status": p.status, "reason": why}
                                        for p, why in found]
                return
        partner = partners.create_partner(session=s, actor=actor, values=values)
        result["created"] = (partner.id, partner.partner_code)

    st.session_state.pop(PENDING, None)
    if not state.write(action):
        return
    if "duplicates" in result:
        st.session_state[PENDING] = {"values": values, "duplicates": result["duplicates"]}
        return
    st.session_state["partner_close_add"] = True
    after_write(f"Added partner {plain(result['created'][1])}.", focus=result["created"][0])


def add_panel(url: str, actor: Actor, countries: dict[str, str]) -> None:
    """Add-partner form; warns about likely duplicates and asks for an explicit 'create anyway'."""
    if st.session_state.pop("partner_close_add", False):
        st.session_state["partner_add"] = False
    panel = st.expander("Add partner", icon=":material/add_business:", key="partner_add", on_change="rerun")
    if not panel.open:
        return
    with panel:
        with st.form("partner_add_form"):
            values = fields("add", {}, countries, parent_options(url))
            submitted = st.form_submit_button("Add partner", type="primary", icon=":material/add:")
        if submitted:
            _add(actor, values, anyway=False)
        pending = st.session_state.get(PENDING)
        if pending:
            st.warning(f"{len(pending['duplicates'])} existing partner(s) look like the same company. Check them "
                       "before you add another record.", icon=":material/content_copy:")
            labels.table(pd.DataFrame(pending["duplicates"]))
            go, cancel = st.columns(2)
            if go.button("Create anyway", icon=":material/done_all:", key="partner_create_anyway"):
                _add(actor, pending["values"], anyway=True)
            if cancel.button("Cancel", key="partner_create_cancel"):
                st.session_state.pop(PENDING, None)
                st.rerun()


def edit_tab(url: str, actor: Actor, data: dict, countries: dict[str, str]) -> None:
    p = data["partner"]
    with st.form(f"partner_edit_{p['id']}"):
        values = fields(f"edit{p['id']}", p, countries, parent_options(url))
        submitted = st.form_submit_button("Save changes", type="primary", icon=":material/save:")
    if not submitted:
        return
    saved = {}

    def action(s):
        saved["code"] = partners.update_partner(session=s, actor=actor, partner_id=p["id"], values=values,
                                                expected=p).partner_code  # refused if changed since shown

    if state.write(action):
        after_write(f"Saved partner {plain(saved['code'])}.", focus=p["id"])
