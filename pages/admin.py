"""Admin: staff accounts, the company's CTPAT profile, MRA programs and the audit log (admins only)."""

import json
import secrets
from datetime import date, timedelta

import pandas as pd
import streamlit as st

from models.common import ENTITY_TYPES, TIERS, Role
from services.company import profile as company
from services.core import audit, users
from services.core.permissions import Actor
from services.exports.safe import csv_bytes
from services.reference import mra
from services.reference.loader import MRA_CAVEAT
from ui import auth, labels, presentation, state
from ui.labels import changes_text
from ui.text import plain

TABS = ["Users", "Company profile", "MRA programs", "Audit log"]
AUDIT_LIMIT = 500  # rows shown; the CSV download holds every matching event
EXPORT_LIMIT = 1_000_000
FIRST_CTPAT_DATE = date(2001, 11, 1)  # CTPAT started in November 2001: no earlier certification exists


FLASH = "admin_flash"
PRESENTING = "Presentation mode is on: turn it off to make changes here."


def _write(action, success: str) -> None:
    """Write through the page write helper; on success show `success` (markdown) after the rerun."""
    if state.write(action, success=success, flash_key=FLASH):
        st.rerun()


@st.cache_data(show_spinner=False)
def _users(url: str) -> pd.DataFrame:
    with state.session() as s:
        return users.list_users(session=s)


def _create_user_form(actor: Actor) -> None:
    st.markdown("**Create a user**")
    # A new form (new widget keys) after each user created: the next one starts empty. After a refusal the
    # values stay, so only the wrong one needs retyping.
    round_ = st.session_state.setdefault("admin_create_round", 0)
    with st.form(f"admin_create_user_{round_}"):
        username = st.text_input("Username", max_chars=64, help="Letters, digits, '.', '-' and '_'.")
        name = st.text_input("Full name", max_chars=120)
        email = st.text_input("Email", max_chars=254)
        role = st.selectbox("Role", list(Role), index=list(Role).index(Role.analyst),
                            help="admin: everything; analyst: partners and questionnaires; viewer: reads only.")
        password = st.text_input("Initial password", type="password",
                                 help=f"At least {users.MIN_PASSWORD_LENGTH} characters. Leave empty to generate "
                                      "one, shown once.")
        must_change = st.checkbox("Must change the password at first login", value=True)
        submitted = st.form_submit_button("Create user", type="primary", icon=":material/person_add:")
    if not submitted:
        return
    generated = not password
    password = password or secrets.token_urlsafe(12)
    created = {}

    def action(s):
        created["username"] = users.create_user(session=s, actor=actor, username=username, name=name, role=role,
                                                password=password, email=email,
                                                must_change_password=must_change).username

    if state.write(action):
        if generated:
            st.session_state["admin_temp_password"] = (created["username"], password)
        st.session_state["admin_create_round"] = round_ + 1
        st.session_state[FLASH] = f"Created user {plain(created['username'])} ({role})."
        st.rerun()


def _manage_user(actor: Actor, frame: pd.DataFrame) -> None:
    st.markdown("**Change a user**")
    username = st.selectbox("User", frame["username"].tolist(), key="admin_user_pick")
    if username is None:
        return
    user = frame[frame["username"] == username].iloc[0]
    roles = list(Role)
    with st.form(f"admin_role_{username}"):
        role = st.selectbox("Role", roles, index=roles.index(user["role"]) if user["role"] in roles else 0)
        change = st.form_submit_button("Change role", icon=":material/manage_accounts:")
    if change:
        _update_user(actor, username, f"{plain(username)} is now {role}.", role=role)
    left, right = st.columns(2)
    if user["active"]:
        if left.button("Deactivate", key="admin_user_deactivate", icon=":material/person_off:",
                       disabled=username == actor.username, help="You cannot deactivate yourself."):
            _update_user(actor, username, f"Deactivated {plain(username)}.", is_active=False)
    elif left.button("Reactivate", key="admin_user_reactivate", icon=":material/person_check:"):
        _update_user(actor, username, f"Reactivated {plain(username)}.", is_active=True)
    if right.button("Reset password", key="admin_user_reset", icon=":material/key:",
                    help="Sets a temporary password, shown once, that must be changed at the next login."):
        reset = {}

        def action(s):
            reset["password"] = users.reset_password(session=s, actor=actor, username=username)

        if state.write(action):
            st.session_state["admin_temp_password"] = (username, reset["password"])
            st.session_state[FLASH] = f"Reset the password of {plain(username)}."
            st.rerun()


def _update_user(actor: Actor, username: str, message: str, **changes) -> None:
    _write(lambda s: users.update_user(session=s, actor=actor, username=username, **changes), message)


def _users_tab(url: str, actor: Actor) -> None:
    if temp := st.session_state.pop("admin_temp_password", None):
        st.warning(f"Temporary password for **{plain(temp[0])}**, shown only now. Hand it over safely; it must be "
                   "changed at the first login.", icon=":material/key:")
        st.code(temp[1], language=None)
    frame = _users(url)
    # utc=True reads naive times as UTC and converts aware ones, so the comparison works for either kind.
    locked_until = pd.to_datetime(frame["locked_until"], utc=True)
    shown = frame.assign(locked=locked_until.notna() & (locked_until > pd.Timestamp.now(tz="UTC")))
    labels.table(shown, ["username", "name", "email", "role", "active", "locked", "last_login",
                         "must_change_password"],
                 overrides={"locked": st.column_config.CheckboxColumn(
                     "Locked", help="Too many failed logins; unlocks by itself after 15 minutes or with a password "
                                    "reset.")})
    if not actor.can_write:  # presentation mode: the admin reads, edits with the mode off
        st.info(PRESENTING, icon=":material/slideshow:")
        return
    left, right = st.columns(2)
    with left:
        _create_user_form(actor)
    with right:
        _manage_user(actor, frame)


@st.cache_data(show_spinner=False)
def _profile(url: str) -> tuple[dict | None, dict | None]:
    with state.session() as s:
        profile = company.get_profile(session=s)
        return (profile.model_dump(), company.key_dates(profile)) if profile else (None, None)


def _company_tab(url: str, actor: Actor) -> None:
    if not actor.can_write:  # presentation mode: the admin reads, edits with the mode off
        st.info(PRESENTING, icon=":material/slideshow:")
        return
    profile, dates = _profile(url)
    p = profile or {}
    latest = date.today() + timedelta(days=5 * 366)
    limit = company.ProfileIn.max_chars
    with st.form("admin_company"):
        c1, c2 = st.columns(2)
        values = {
            "legal_name": c1.text_input("Legal name", value=p.get("legal_name", ""), max_chars=limit("legal_name")),
            "ctpat_account_number": c2.text_input("CTPAT account number", value=p.get("ctpat_account_number", ""),
                                                  max_chars=limit("ctpat_account_number")),
            "entity_type": c1.selectbox("Entity type", ENTITY_TYPES,
                                        index=ENTITY_TYPES.index(p.get("entity_type", "Importer"))),
            "tier": c2.selectbox("Tier", TIERS, index=TIERS.index(p.get("tier", "Not certified"))),
            "certification_date": c1.date_input("Certification date", value=p.get("certification_date"),
                                                min_value=FIRST_CTPAT_DATE, max_value=latest),
            "last_validation_date": c2.date_input("Last validation date", value=p.get("last_validation_date"),
                                                  min_value=FIRST_CTPAT_DATE, max_value=latest),
            "annual_review_anniversary": c1.date_input(
                "Annual review anniversary", value=p.get("annual_review_anniversary"), min_value=FIRST_CTPAT_DATE,
                max_value=latest, help="The Annual Security Profile Review window opens 90 days before it."),
            "ior_number": c2.text_input("IOR number", value=p.get("ior_number", ""), max_chars=limit("ior_number")),
            "primary_contact": c1.text_input("Primary contact", value=p.get("primary_contact", ""),
                                             max_chars=limit("primary_contact")),
            "primary_contact_email": c2.text_input("Primary contact email", value=p.get("primary_contact_email", ""),
                                                   max_chars=limit("primary_contact_email")),
        }
        submitted = st.form_submit_button("Save profile", type="primary", icon=":material/save:")
    if submitted:
        _write(lambda s: company.save_profile(session=s, actor=actor, values=values), "Saved the company profile.")
    if dates is None:
        st.info("No profile yet: the dashboard shows the key dates once it is saved.")
        return
    st.markdown("**Key dates**")
    cols = st.columns(3)
    cols[0].metric("Next annual review anniversary", labels.show(dates["next_anniversary"]),
                   f"in {dates['days_to_anniversary']} days" if dates["next_anniversary"] else None,
                   delta_color="off")
    cols[1].metric("Review window opens", labels.show(dates["review_window_opens"]))
    cols[2].metric("Revalidation due", labels.show(dates["revalidation_due"]),
                   f"in {dates['days_to_revalidation']} days" if dates["revalidation_due"] else None,
                   delta_color="off")


@st.cache_data(show_spinner=False)
def _programs(url: str) -> pd.DataFrame:
    with state.session() as s:
        return mra.list_programs(session=s)


def _mra_tab(url: str, actor: Actor) -> None:
    st.warning(MRA_CAVEAT, icon=":material/info:")
    programs = _programs(url)
    labels.table(programs, ["partner_country", "acronym", "program_name", "signed", "confirmed", "country_codes",
                            "customs_administration", "source"])
    if not actor.can_write:  # presentation mode: the admin reads, edits with the mode off
        st.info(PRESENTING, icon=":material/slideshow:")
        return
    names = {int(r.id): f"{r.acronym} · {r.partner_country} ({r.signed})" for r in programs.itertuples()}
    pick = st.selectbox("Add or correct a program", [None, *names], key="admin_mra_pick",
                        format_func=lambda i: "New program" if i is None else names[i])
    p = programs[programs["id"] == pick].iloc[0].to_dict() if pick is not None else {}
    with st.form(f"admin_mra_{pick or 'new'}"):
        c1, c2 = st.columns(2)
        values = {
            "partner_country": c1.text_input("Partner country or union", value=p.get("partner_country", "")),
            "customs_administration": c2.text_input("Customs administration",
                                                    value=p.get("customs_administration", "")),
            "program_name": c1.text_input("Program name", value=p.get("program_name", "")),
            "acronym": c2.text_input("Acronym", value=p.get("acronym", ""), max_chars=20),
            "signed": c1.text_input("Signed (YYYY-MM)", value=p.get("signed", ""), max_chars=7),
            "country_codes": c2.text_input("Countries covered", value=p.get("country_codes", ""),
                                           help="ISO alpha-2 codes separated by spaces, e.g. DE FR IT."),
            "confirmed": st.checkbox("Confirmed by a primary source", value=bool(p.get("confirmed", True))),
            "source": st.text_area("Source", value=p.get("source", ""), max_chars=1000),
        }
        submitted = st.form_submit_button("Save program", type="primary", icon=":material/save:")
    if not submitted:
        return
    saved = {}

    def action(s):
        saved["acronym"] = mra.save_program(session=s, actor=actor, values=values, program_id=pick).acronym

    if state.write(action):
        st.session_state[FLASH] = f"Saved MRA program {plain(saved['acronym'])}."
        st.rerun()


@st.cache_data(show_spinner=False, max_entries=50)
def _events(url: str, filters: dict, limit: int) -> pd.DataFrame:
    with state.session() as s:
        return audit.list_events(session=s, **filters, limit=limit)


def _readable(events: pd.DataFrame) -> pd.DataFrame:
    """Before/after as JSON text plus a one-line list of the changes."""
    def as_json(values: dict | None) -> str:
        return json.dumps(values, ensure_ascii=False, default=str) if values else ""

    return events.assign(
        changes=[changes_text(b, a) for b, a in zip(events["before"], events["after"], strict=True)],
        before=events["before"].map(as_json),
        after=events["after"].map(as_json),
    )


def audit_csv(filters: dict) -> bytes:
    """Every audit event matching the filters as CSV (UTF-8 with BOM for Excel)."""
    with state.session() as s:
        events = audit.list_events(session=s, **filters, limit=EXPORT_LIMIT)
    return csv_bytes(_readable(events))


def _audit_tab(url: str) -> None:
    recent = _events(url, {}, 5000)  # the choices offered in the filters; any other value can be typed
    usernames = sorted(set(_users(url)["username"]) | set(recent["user"]) | {"system"})
    c1, c2, c3 = st.columns(3)
    c1.selectbox("User", usernames, index=None, placeholder="Anyone", key="admin_audit_user",
                 format_func=presentation.hidden)
    c2.selectbox("Record type", sorted(set(recent["entity"])), index=None, placeholder="Anything",
                 key="admin_audit_entity", accept_new_options=True)
    c3.selectbox("Action", sorted(set(recent["action"])), index=None, placeholder="Any action",
                 key="admin_audit_action", accept_new_options=True)
    c4, c5, c6 = st.columns(3)
    c4.date_input("From", value=None, key="admin_audit_since")
    c5.date_input("To", value=None, key="admin_audit_until")
    c6.text_input("Text", key="admin_audit_text", placeholder="in the summary or the record id")
    ss = st.session_state
    filters = {"username": ss["admin_audit_user"], "entity": ss["admin_audit_entity"],
               "action": ss["admin_audit_action"], "since": ss["admin_audit_since"],
               "until": ss["admin_audit_until"], "text": (ss["admin_audit_text"] or "").strip() or None}
    events = _events(url, filters, AUDIT_LIMIT)
    more = " (the newest shown; narrow the filters or download them all)" if len(events) == AUDIT_LIMIT else ""
    st.caption(f"{len(events):,} events{more}")
    # The changes in words; the raw before/after values are in the CSV download.
    labels.table(_readable(events), ["at", "user", "action", "entity", "id", "summary", "changes"],
                 overrides={"at": st.column_config.DatetimeColumn("When (UTC)", format="YYYY-MM-DD HH:mm:ss")})
    st.download_button("Download CSV", data=lambda: audit_csv(filters), file_name="audit-log.csv", mime="text/csv",
                       on_click="ignore", icon=":material/download:", key="admin_audit_csv")


def render() -> None:
    actor = auth.require_role(Role.admin)
    if actor is None:
        return
    st.title("Admin")
    url = state.database_url()
    if message := st.session_state.pop(FLASH, None):
        st.success(message, icon=":material/check_circle:")  # markdown, typed parts made plain
    tabs = dict(zip(TABS, st.tabs(TABS, key="admin_tab", on_change="rerun"), strict=True))
    for name, draw in (("Users", _users_tab), ("Company profile", _company_tab), ("MRA programs", _mra_tab)):
        if tabs[name].open:
            with tabs[name]:
                draw(url, actor)
    if tabs["Audit log"].open:
        with tabs["Audit log"]:
            _audit_tab(url)
