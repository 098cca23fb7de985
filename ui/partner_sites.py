"""The partner's sites (where it works: address, region, MID, activities) and contacts (whom to write to).

For the partner page: ``partner_sites.panel(partner_id, actor, countries)`` inside the partner's detail. Viewers read
both lists; staff who may write add and change sites and contacts, and remove a contact who left. Reads and rules
are services.partners.sites / contacts; writes go through the page write helper.
"""

import pandas as pd
import streamlit as st

from models.common import LANGUAGES
from models.sites import SiteActivity
from services.core.permissions import Actor
from services.partners import contacts, sites
from services.places.regions import regions
from ui import labels, presentation, state
from ui.text import plain

FLASH = "partner_sites_flash"
ROUND = "partner_sites_round"  # bumped after each write: the pickers start empty again, with no stale form open
SITE_LIST = ["name", "address", "city", "region", "country_iso2", "mid", "activities", "is_primary", "status"]
CONTACT_LIST = ["name", "role", "email", "phone", "language", "is_primary"]
OVERRIDES = {"is_primary": ("Primary", "bool"), "activities": "Activities", "phone": "Phone"}
NEW = -1  # the picker's choice for "a new site / contact"


@st.cache_data(show_spinner=False, max_entries=200)
def _lists(url: str, partner_id: int, version: int) -> dict[str, pd.DataFrame]:
    with state.session() as s:
        return {"sites": sites.list_sites(session=s, partner_id=partner_id),
                "contacts": contacts.list_contacts(session=s, partner_id=partner_id),
                "owner": sites.owner_of(session=s, partner_id=partner_id),
                "owner_choices": sites.owner_choices(session=s)}


def _number(value: object) -> float | None:
    return None if value is None or pd.isna(value) else float(value)


def _text(value: object) -> str:
    return "" if value is None or (not isinstance(value, str) and pd.isna(value)) else str(value)


def _save(action, message: str) -> None:
    if state.write(action, success=message, flash_key=FLASH):
        st.session_state[ROUND] = st.session_state.get(ROUND, 0) + 1
        st.rerun()


def _site_form(partner: dict, actor: Actor, site: dict | None, countries: dict[str, str]) -> None:
    """Add a site (site None) or change one; the country decides which regions and MID format apply."""
    key = f"partner_site_{partner['id']}_{site['id'] if site else 'new'}"
    site = site or {"name": "", "address": "", "city": "", "region_code": "", "country_iso2": partner["country_iso2"],
                    "latitude": None, "longitude": None, "mid": "", "activities": "", "is_primary": False,
                    "status": "active", "notes": ""}
    codes = list(countries)
    country = st.selectbox("Country", codes, index=codes.index(site["country_iso2"]) if site["country_iso2"] in codes
                           else None, format_func=lambda c: f"{countries[c]} ({c})", key=f"{key}_country")
    known = regions(country or "")
    with st.form(key):
        left, right = st.columns(2)
        name = left.text_input("Site name", site["name"], max_chars=120,
                               help="E.g. 'Plant 2'; the city when left empty.")
        address = left.text_input("Address", site["address"], max_chars=300)
        city = left.text_input("City", site["city"], max_chars=100)
        region = left.selectbox("Region", list(known), format_func=lambda c: f"{known[c]} ({c})",
                                index=list(known).index(site["region_code"]) if site["region_code"] in known
                                else None, placeholder="Unknown" if known else "No regions known for this country",
                                disabled=not known)
        mid = right.text_input("MID (manufacturer identification code)", _text(site["mid"]), max_chars=15)
        activities = right.multiselect("Activities", list(SiteActivity),
                                       default=[a for a in SiteActivity if a in str(site["activities"]).split(",")])
        latitude = right.number_input("Latitude", -90.0, 90.0, _number(site["latitude"]), format="%.5f")
        longitude = right.number_input("Longitude", -180.0, 180.0, _number(site["longitude"]), format="%.5f")
        status = right.radio("Status", sites.SITE_STATUSES, index=sites.SITE_STATUSES.index(site["status"]),
                             horizontal=True, disabled=bool(site["is_primary"]),
                             help="A site no longer used: certificates need not name it. The primary site stays "
                                  "active.")
        primary = st.checkbox("Primary site (the partner's main address)", bool(site["is_primary"]),
                              disabled=bool(site["is_primary"]),
                              help="Making another site primary moves the main address there.")
        notes = st.text_area("Notes", site["notes"], max_chars=1000)
        submitted = st.form_submit_button("Save site" if "id" in site else "Add site", icon=":material/save:")
    if not submitted:
        return
    values = {"name": name, "address": address, "city": city, "region_code": region or "", "country_iso2": country,
              "mid": mid, "activities": list(activities), "latitude": latitude, "longitude": longitude,
              "status": status, "is_primary": primary, "notes": notes}
    code = plain(partner["partner_code"])
    if "id" in site:
        _save(lambda s: sites.update_site(session=s, actor=actor, site_id=int(site["id"]), values=values),
              f"Saved site {plain(name or city or site['name'])} of {code}.")
    else:
        _save(lambda s: sites.create_site(session=s, actor=actor, partner_id=partner["id"], values=values),
              f"Added site {plain(name or city or 'Main site')} to {code}.")


def _contact_form(partner: dict, actor: Actor, contact: dict | None) -> None:
    """Add a contact (contact None), or change or remove one."""
    key = f"partner_contact_{partner['id']}_{contact['id'] if contact else 'new'}"
    contact = contact or {"name": "", "role": "", "email": "", "phone": "", "language": partner["language"],
                          "is_primary": False}
    languages = list(LANGUAGES)
    with st.form(key):
        left, right = st.columns(2)
        name = left.text_input("Name", contact["name"], max_chars=120)
        role = left.text_input("Role", contact["role"], max_chars=80, help="E.g. 'Security manager'.")
        email = right.text_input("Email", contact["email"], max_chars=254)
        phone = right.text_input("Phone", contact["phone"], max_chars=40)
        language = left.selectbox("Questionnaire language", languages, format_func=LANGUAGES.get,
                                  index=languages.index(contact["language"]) if contact["language"] in languages
                                  else 0)
        primary = right.checkbox("Primary contact (receives the questionnaires)", bool(contact["is_primary"]),
                                 disabled=bool(contact["is_primary"]))
        buttons = st.columns(2)
        submitted = buttons[0].form_submit_button("Save contact" if "id" in contact else "Add contact",
                                                  icon=":material/save:")
        removed = "id" in contact and buttons[1].form_submit_button(
            "Remove contact", icon=":material/person_remove:",
            help="For a person who left; the primary contact goes only after another one is made primary.")
    values = {"name": name, "role": role, "email": email, "phone": phone, "language": language,
              "is_primary": primary}
    code = plain(partner["partner_code"])
    if removed:
        _save(lambda s: contacts.delete_contact(session=s, actor=actor, contact_id=int(contact["id"])),
              f"Removed contact {plain(contact['name'] or contact['email'])} of {code}.")
    elif submitted and "id" in contact:
        _save(lambda s: contacts.update_contact(session=s, actor=actor, contact_id=int(contact["id"]), values=values),
              f"Saved contact {plain(name or email)} of {code}.")
    elif submitted:
        _save(lambda s: contacts.create_contact(session=s, actor=actor, partner_id=partner["id"], values=values),
              f"Added contact {plain(name or email)} to {code}.")


def _picker(label: str, frame: pd.DataFrame, key: str, describe) -> int | None:
    options = [NEW, *frame["id"].astype(int).tolist()]
    rows = {int(r["id"]): r for r in frame.to_dict("records")}
    return st.selectbox(label, options, key=key, index=None, placeholder="Choose, or add a new one",
                        format_func=lambda i: "New…" if i == NEW else describe(rows[i]))


def _owner(partner: dict, actor: Actor, data: dict, round_: int) -> None:
    """The internal owner: the staff member responsible for the relationship, who gets its escalations."""
    choices, owner = data["owner_choices"], data["owner"]
    st.markdown("**Internal owner**")
    shown = (plain(presentation.scrub(choices.get(owner, owner), owner)) if owner
             else "None: escalations and warnings go to the admins")
    if not actor.can_write:
        st.write(shown)
        return
    options = ["", *choices]
    picked = st.selectbox("Internal owner (gets escalations and certificate warnings)", options,
                          index=options.index(owner) if owner in options else 0,
                          format_func=lambda u: choices.get(u, u) if u else "No owner (the admins)",
                          key=f"partner_owner_{partner['id']}_{round_}")
    if picked != owner and st.button("Save owner", icon=":material/person_check:", key=f"partner_owner_save_{round_}"):
        _save(lambda s: sites.set_owner(session=s, actor=actor, partner_id=partner["id"], username=picked or None),
              f"Owner of {partner['partner_code']}: {choices.get(picked, 'none') if picked else 'none'}.")


def panel(partner: dict, actor: Actor, countries: dict[str, str]) -> None:
    """The partner's sites and contacts; writers pick one to change, or 'New…' to add one."""
    pid = partner["id"]
    round_ = st.session_state.get(ROUND, 0)
    data = _lists(state.database_url(), pid, state.data_version())
    if message := st.session_state.pop(FLASH, None):
        st.success(message, icon=":material/check_circle:")
    _owner(partner, actor, data, round_)
    st.markdown("**Sites**")
    st.caption("Where the partner works. The primary site is its main address; a certificate may name the sites it "
               "covers, and a site added later that no certificate names ends an exemption.")
    frame = data["sites"]
    if frame.empty:
        st.info("No sites recorded: the partner's address is Unknown.")
    else:
        labels.table(frame.assign(activities=frame["activities"].str.replace(",", ", ")), SITE_LIST,
                     overrides=OVERRIDES)
    if actor.can_write:
        chosen = _picker("Add or change a site", frame, f"partner_site_pick_{pid}_{round_}",
                         lambda r: f"{r['name']} · {r['city'] or r['country_iso2']}"
                                   f"{' (primary)' if r['is_primary'] else ''}")
        if chosen is not None:
            _site_form(partner, actor, None if chosen == NEW else frame.set_index("id").loc[chosen].to_dict()
                       | {"id": chosen}, countries)
    st.markdown("**Contacts**")
    st.caption("The primary contact receives the questionnaires, in their language.")
    people = data["contacts"]
    if people.empty:
        st.info("No contacts recorded: nobody receives this partner's questionnaires.")
    else:
        labels.table(people, CONTACT_LIST, overrides=OVERRIDES)
    if actor.can_write:
        chosen = _picker("Add or change a contact", people, f"partner_contact_pick_{pid}_{round_}",
                         lambda r: f"{r['name'] or r['email']}{' (primary)' if r['is_primary'] else ''}")
        if chosen is not None:
            _contact_form(partner, actor, None if chosen == NEW else people.set_index("id").loc[chosen].to_dict()
                          | {"id": chosen})
