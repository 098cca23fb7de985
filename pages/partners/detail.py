"""One partner: its fields, parent and the partners behind it, certificates, history, and the write actions."""

import pandas as pd
import streamlit as st

from models.common import LANGUAGES
from pages.partners import form, merge
from pages.partners.common import FOCUS, VERSION, after_write, detail
from services.core.permissions import Actor
from services.partners import registry as partners
from services.partners.identifiers import IDENTIFIER_FORMATS
from ui import certificates, labels, partner_roles, partner_sites, presentation, risk, state
from ui.actions import actions_tab
from ui.labels import show
from ui.text import plain


def _field_lines(p: dict, countries: dict[str, str]) -> tuple[str, str]:
    """The partner's fields as two markdown blocks; typed values shown as typed, missing ones as a dash."""
    def typed(value: object, unit: str = "") -> str:
        return plain(show(value, unit))

    coordinates = f"{p['latitude']}, {p['longitude']}" if p["latitude"] is not None else None
    left = (f"**Entity type:** {p['entity_type']}  \n"
            f"**Country:** {countries.get(p['country_iso2'], p['country_iso2'])} ({p['country_iso2']})  \n"
            f"**City:** {typed(p['city'])}  \n**Address:** {typed(p['address'])}  \n"
            f"**Coordinates:** {typed(coordinates)}  \n"
            f"**Criticality:** {p['criticality']}  \n**Import share:** {typed(p['import_share'], ' %')}")
    email = presentation.hidden(p["contact_email"])
    right = (f"**Contact:** {typed(p['contact_name'])}  \n**Email:** {typed(email)}  \n"
             f"**Questionnaire language:** {LANGUAGES.get(p['language'], p['language'])}  \n"
             f"**Status:** {p['status']}  \n"
             f"**Added:** {p['created_at']:%Y-%m-%d}  \n**Last change:** {p['updated_at']:%Y-%m-%d %H:%M} UTC")
    return left, right


def _details_tab(url: str, actor: Actor, data: dict, countries: dict[str, str]) -> None:
    p = data["partner"]
    left, right = st.columns(2)
    left_text, right_text = _field_lines(p, countries)
    left.markdown(left_text)
    right.markdown(right_text)
    if p["notes"]:
        st.markdown(f"**Notes:**  \n{plain(p['notes'])}")
    st.markdown("**Trade identifiers**")
    identifiers = pd.DataFrame([{"identifier": label, "value": presentation.hidden(p[field]), "format": description}
                                for field, (label, _pattern, description) in IDENTIFIER_FORMATS.items()])
    labels.table(identifiers)
    parent = data["parent"]
    if parent:
        who = presentation.partner(plain(parent["partner_code"]), plain(parent["legal_name"]))
        st.markdown(f"**Works through:** {who} "
                    f"({parent['entity_type']}, {parent['country_iso2']}, {parent['status']})")
    kids = data["children"]
    if not kids.empty:
        st.markdown(f"**Partners behind it** ({len(kids)}): it stands in front of these sites and factories")
        labels.table(kids, [c for c in kids.columns if c != "id"])
    if not parent and kids.empty:
        st.caption("No parent partner and no partners behind it.")


def _roles_tab(url: str, actor: Actor, data: dict, countries: dict[str, str]) -> None:
    partner_roles.panel(data["partner"]["id"], actor)


def _sites_tab(url: str, actor: Actor, data: dict, countries: dict[str, str]) -> None:
    partner_sites.panel(data["partner"], actor, countries)


def _history_tab(url: str, actor: Actor, data: dict, countries: dict[str, str]) -> None:
    history = data["history"]
    if history.empty:
        st.info("No recorded changes.")
        return
    shown = history.assign(changes=[labels.changes_text(b, a) for b, a in zip(history["before"], history["after"],
                                                                                 strict=True)])
    labels.table(shown, ["at", "user", "action", "summary", "changes"])


# Tab name -> (what draws it, whether it changes data: writers only). Each takes (url, actor, data, countries);
# later issues add their tabs (risk, actions) here.
TABS = {
    "Details": (_details_tab, False),
    "Sites & contacts": (_sites_tab, False),
    "Roles": (_roles_tab, False),
    "Certificates": (certificates.certificates_tab, False),
    "Risk": (risk.risk_tab, False),
    "Actions": (actions_tab, False),
    "History": (_history_tab, False),
    "Edit": (form.edit_tab, True),
    "Merge": (merge.merge_tab, True),
}


def _set_status(actor: Actor, partner_id: int, status: str) -> None:
    done = {}

    def action(s):
        done["code"] = partners.set_status(session=s, actor=actor, partner_id=partner_id, status=status).partner_code

    if state.write(action):
        verb = "Deactivated" if status == "inactive" else "Reactivated"
        after_write(f"{verb} partner {plain(done['code'])}.", focus=partner_id)


def _close_detail() -> None:
    st.session_state.pop(FOCUS, None)
    st.session_state[VERSION] = st.session_state.get(VERSION, 0) + 1


def panel(url: str, actor: Actor, partner_id: int, countries: dict[str, str]) -> None:
    """The open partner under the list: header, status actions and its tabs."""
    data = detail(url, partner_id)
    if data is None:
        st.session_state.pop(FOCUS, None)
        return
    p = data["partner"]
    st.divider()
    head, actions = st.columns([3, 2], vertical_alignment="center")
    head.subheader(presentation.partner(plain(p['partner_code']), plain(p['legal_name'])))
    if p["status"] != "active":
        head.badge("inactive", color="gray", icon=":material/block:")
    buttons = actions.columns(2)
    if actor.can_write:
        if p["status"] == "active":
            if buttons[0].button("Deactivate", icon=":material/block:", key="partner_deactivate",
                                 help="Partners are never deleted: an inactive partner keeps its history."):
                _set_status(actor, partner_id, "inactive")
        elif buttons[0].button("Reactivate", icon=":material/undo:", key="partner_reactivate"):
            _set_status(actor, partner_id, "active")
    buttons[1].button("Close", icon=":material/close:", key="partner_close", on_click=_close_detail)
    names = [name for name, (_, writes) in TABS.items() if actor.can_write or not writes]
    for name, tab in zip(names, st.tabs(names, key="partner_tab", on_change="rerun"), strict=True):
        if tab.open:
            with tab:
                TABS[name][0](url, actor, data, countries)
