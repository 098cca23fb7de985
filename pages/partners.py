"""Partners: find, read, add, edit, deactivate and export business partners (paged on the server)."""

import hashlib
import math
import re

import pandas as pd
import streamlit as st

from models.common import CRITICALITIES, ENTITY_TYPES, LANGUAGES, PARTNER_STATUSES
from pages.admin import changes_text
from services.core import audit
from services.core.permissions import Actor, ValidationError
from services.exports.safe import csv_bytes
from services.partners import registry as partners
from services.partners.identifiers import IDENTIFIER_FORMATS
from ui import auth, state

PAGE_SIZES = (25, 50, 100, 200)
SORT_LABELS = {"partner_code": "Code", "legal_name": "Name", "entity_type": "Entity type", "country_iso2": "Country",
               "criticality": "Criticality", "import_share": "Import share", "status": "Status",
               "updated_at": "Last change"}
FOCUS = "partner_focus"  # id of the partner whose detail is open
VERSION = "partner_version"  # bumped after each write so table selections from before are dropped
PENDING = "partner_pending"  # a new partner waiting for "create anyway" after a duplicate warning
TABLE_COLUMNS = {"partner_code": "Code", "legal_name": "Legal name", "entity_type": "Entity type",
                 "country_iso2": "Country", "city": "City", "criticality": "Criticality",
                 "import_share": "Import %", "status": "Status", "contact_email": "Contact email",
                 "updated_at": "Last change"}
_EXAMPLE = re.compile(r"\(e\.g\. ([^)]+)\)")


@st.cache_data(show_spinner=False)
def _countries(url: str) -> dict[str, str]:
    with state.session() as s:
        return partners.country_names(session=s)


@st.cache_data(show_spinner=False, max_entries=200)
def _search(url: str, filters: dict, page: int, page_size: int) -> partners.PartnerPage:
    with state.session() as s:
        return partners.search_partners(session=s, **filters, page=page, page_size=page_size)


@st.cache_data(show_spinner=False)
def _parent_options(url: str) -> dict[int, str]:
    with state.session() as s:
        return partners.partner_options(session=s)


@st.cache_data(show_spinner=False, max_entries=100)
def _detail(url: str, partner_id: int) -> dict | None:
    with state.session() as s:
        partner = partners.get_partner(session=s, partner_id=partner_id)
        if partner is None:
            return None
        parent = partners.get_partner(session=s, partner_id=partner.parent_id) if partner.parent_id else None
        kids = partners.children(session=s, partner_id=partner_id)
        history = audit.list_events(session=s, entity="partner", text=partner.partner_code, limit=200)
        return {
            "partner": partner.model_dump(),
            "parent": parent.model_dump() if parent else None,
            "children": pd.DataFrame(
                [{"id": k.id, "code": k.partner_code, "legal name": k.legal_name, "entity type": k.entity_type,
                  "country": k.country_iso2, "city": k.city, "status": k.status} for k in kids],
                columns=["id", "code", "legal name", "entity type", "country", "city", "status"],
            ),
            "certifications": partners.certifications(session=s, partner_id=partner_id),
            "history": history[history["id"] == partner.partner_code],
        }


def export_csv(filters: dict) -> bytes:
    """Every partner matching the filters as CSV, with a BOM so Excel reads accents and Chinese names."""
    with state.session() as s:
        frame = partners.export_partners(session=s, **filters)
    return csv_bytes(frame)


def _digest(*parts: object) -> str:
    return hashlib.sha1(repr(parts).encode()).hexdigest()[:12]


def _after_write(message: str, focus: int | None = None) -> None:
    state.invalidate()
    st.session_state[VERSION] = st.session_state.get(VERSION, 0) + 1
    st.session_state["partner_flash"] = message
    if focus is not None:
        st.session_state[FOCUS] = focus
    st.rerun()


def _show_errors(exc: ValidationError) -> None:
    st.error("\n".join(f"- {problem}" for problem in str(exc).split("; ")))


def _filters(countries: dict[str, str]) -> dict:
    st.text_input("Search", key="partner_search", icon=":material/search:",
                  placeholder="Code, name, city, contact email or identifier (MID, SCAC, DUNS…)")
    cols = st.columns(4)
    cols[0].multiselect("Entity type", ENTITY_TYPES, key="partner_f_type", placeholder="All entity types")
    cols[1].multiselect("Country", list(countries), key="partner_f_country", placeholder="All countries",
                        format_func=lambda c: f"{countries.get(c, c)} ({c})")
    cols[2].multiselect("Status", PARTNER_STATUSES, key="partner_f_status", placeholder="Any status")
    cols[3].multiselect("Criticality", CRITICALITIES, key="partner_f_crit", placeholder="Any criticality")
    ss = st.session_state
    return {
        "text": (ss.get("partner_search") or "").strip(),
        "entity_types": list(ss.get("partner_f_type") or []),
        "countries": list(ss.get("partner_f_country") or []),
        "statuses": list(ss.get("partner_f_status") or []),
        "criticalities": list(ss.get("partner_f_crit") or []),
        "sort": ss.get("partner_sort", "partner_code"),
        "descending": bool(ss.get("partner_desc", False)),
    }


def _table(url: str, filters: dict) -> None:
    """Sort and paging controls, the current page of partners, and the row selection that opens a partner."""
    sort_col, desc_col, size_col, page_col = st.columns([2, 1, 1, 1], vertical_alignment="bottom")
    sort_col.selectbox("Sort by", list(SORT_LABELS), format_func=SORT_LABELS.get, key="partner_sort")
    desc_col.toggle("Descending", key="partner_desc")
    size = size_col.selectbox("Rows per page", PAGE_SIZES, index=PAGE_SIZES.index(50), key="partner_size")

    # A new query starts again at page 1; a page past the end (rows filtered away) falls back to the last page.
    query = _digest(filters, size)
    if st.session_state.get("partner_query") != query:
        st.session_state["partner_query"] = query
        st.session_state["partner_page"] = 1
    page = int(st.session_state.get("partner_page", 1))
    result = _search(url, filters, page, size)
    pages = max(1, math.ceil(result.total / size))
    if page > pages:
        page = pages
        st.session_state["partner_page"] = page
        result = _search(url, filters, page, size)
    page_col.number_input("Page", min_value=1, max_value=pages, step=1, key="partner_page")
    if result.rows.empty:
        st.info("No partner matches these filters.")
        return
    st.caption(f"{result.total:,} partners match · page {page} of {pages} · select a row to open the partner")
    rows = result.rows
    key = "partner_table_" + _digest(query, page, st.session_state.get(VERSION, 0))
    event = st.dataframe(
        rows, key=key, on_select="rerun", selection_mode="single-row", hide_index=True, width="stretch",
        column_order=list(TABLE_COLUMNS),
        column_config={
            **{c: st.column_config.Column(label) for c, label in TABLE_COLUMNS.items()},
            "import_share": st.column_config.NumberColumn("Import %", format="%.1f"),
            "updated_at": st.column_config.DatetimeColumn("Last change", format="YYYY-MM-DD HH:mm"),
        },
    )
    # Only a new click opens a partner, so a selection left in the table does not override a partner opened since.
    clicked = int(rows.iloc[event.selection.rows[0]]["id"]) if event.selection.rows else None
    if st.session_state.get("partner_clicked") != (key, clicked):
        st.session_state["partner_clicked"] = (key, clicked)
        if clicked is not None:
            st.session_state[FOCUS] = clicked
    st.download_button("Download CSV", data=lambda: export_csv(filters), file_name="partners.csv", mime="text/csv",
                       on_click="ignore", icon=":material/download:", key="partner_csv",
                       help=f"All {result.total:,} partners matching the search and filters, with all fields.")


def _number(value: object) -> float | None:
    return None if value is None or pd.isna(value) else float(value)


def _partner_fields(prefix: str, d: dict, countries: dict[str, str], parents: dict[int, str]) -> dict:
    """The partner fields of a form, prefilled from d; returns the values entered."""
    c1, c2, c3 = st.columns(3)
    values = {
        "partner_code": c1.text_input("Partner code", value=d.get("partner_code", ""), max_chars=40,
                                      key=f"{prefix}_code"),
        "legal_name": c2.text_input("Legal name", value=d.get("legal_name", ""), max_chars=200,
                                    key=f"{prefix}_name"),
    }
    entity = d.get("entity_type")
    values["entity_type"] = c3.selectbox("Entity type", ENTITY_TYPES, key=f"{prefix}_type", placeholder="Choose",
                                         index=ENTITY_TYPES.index(entity) if entity in ENTITY_TYPES else None)
    codes = list(countries)
    country = d.get("country_iso2")
    values["country_iso2"] = c1.selectbox("Country", codes, key=f"{prefix}_country",
                                          index=codes.index(country) if country in codes else None,
                                          format_func=lambda c: f"{countries[c]} ({c})", placeholder="Choose")
    values["city"] = c2.text_input("City", value=d.get("city", ""), max_chars=100, key=f"{prefix}_city")
    values["address"] = c3.text_input("Address", value=d.get("address", ""), max_chars=300, key=f"{prefix}_addr")
    values["latitude"] = c1.number_input("Latitude", min_value=-90.0, max_value=90.0,
                                         value=_number(d.get("latitude")), format="%.4f", key=f"{prefix}_lat")
    values["longitude"] = c2.number_input("Longitude", min_value=-180.0, max_value=180.0,
                                          value=_number(d.get("longitude")), format="%.4f", key=f"{prefix}_lon")
    values["import_share"] = c3.number_input("Import share (%)", min_value=0.0, max_value=100.0,
                                             value=_number(d.get("import_share")), key=f"{prefix}_share",
                                             help="Share of our import volume that comes through this partner.")
    values["contact_name"] = c1.text_input("Contact name", value=d.get("contact_name", ""), max_chars=120,
                                           key=f"{prefix}_contact")
    values["contact_email"] = c2.text_input("Contact email", value=d.get("contact_email", ""), max_chars=254,
                                            key=f"{prefix}_email")
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
    values["notes"] = st.text_area("Notes", value=d.get("notes", ""), max_chars=2000, key=f"{prefix}_notes")
    return values


def _create(actor: Actor, values: dict) -> None:
    try:
        with state.session() as s:
            partner = partners.create_partner(session=s, actor=actor, values=values)
            created = (partner.id, partner.partner_code)
    except ValidationError as exc:
        _show_errors(exc)
        return
    st.session_state.pop(PENDING, None)
    st.session_state["partner_close_add"] = True
    _after_write(f"Added partner {created[1]}.", focus=created[0])


def _add_panel(url: str, actor: Actor, countries: dict[str, str]) -> None:
    """Add-partner form; warns about likely duplicates and asks for an explicit 'create anyway'."""
    if st.session_state.pop("partner_close_add", False):
        st.session_state["partner_add"] = False
    panel = st.expander("Add partner", icon=":material/add_business:", key="partner_add", on_change="rerun")
    if not panel.open:
        return
    with panel:
        with st.form("partner_add_form"):
            values = _partner_fields("add", {}, countries, _parent_options(url))
            submitted = st.form_submit_button("Add partner", type="primary", icon=":material/add:")
        if submitted:
            st.session_state.pop(PENDING, None)
            try:
                with state.session() as s:
                    duplicates = partners.check_new_partner(session=s, values=values)
                    found = [{"code": p.partner_code, "legal name": p.legal_name, "country": p.country_iso2,
                              "status": p.status, "why": why} for p, why in duplicates]
            except ValidationError as exc:
                _show_errors(exc)
                return
            if not found:
                _create(actor, values)
                return
            st.session_state[PENDING] = {"values": values, "duplicates": found}
        pending = st.session_state.get(PENDING)
        if pending:
            st.warning(f"{len(pending['duplicates'])} existing partner(s) look like the same company. Check them "
                       "before you add another record.", icon=":material/content_copy:")
            st.dataframe(pd.DataFrame(pending["duplicates"]), hide_index=True, width="stretch")
            go, cancel = st.columns(2)
            if go.button("Create anyway", icon=":material/done_all:", key="partner_create_anyway"):
                _create(actor, pending["values"])
            if cancel.button("Cancel", key="partner_create_cancel"):
                st.session_state.pop(PENDING, None)
                st.rerun()


def _field_lines(p: dict, countries: dict[str, str]) -> tuple[str, str]:
    def show(value: object, unit: str = "") -> str:
        return "–" if value in (None, "") or (isinstance(value, float) and pd.isna(value)) else f"{value}{unit}"

    coordinates = f"{p['latitude']}, {p['longitude']}" if p["latitude"] is not None else "–"
    left = (f"**Entity type:** {p['entity_type']}  \n"
            f"**Country:** {countries.get(p['country_iso2'], p['country_iso2'])} ({p['country_iso2']})  \n"
            f"**City:** {show(p['city'])}  \n**Address:** {show(p['address'])}  \n"
            f"**Coordinates:** {coordinates}  \n"
            f"**Criticality:** {p['criticality']}  \n**Import share:** {show(p['import_share'], ' %')}")
    right = (f"**Contact:** {show(p['contact_name'])}  \n**Email:** {show(p['contact_email'])}  \n"
             f"**Questionnaire language:** {LANGUAGES.get(p['language'], p['language'])}  \n"
             f"**Status:** {p['status']}  \n"
             f"**Added:** {p['created_at']:%Y-%m-%d}  \n**Last change:** {p['updated_at']:%Y-%m-%d %H:%M} UTC")
    return left, right


def _details_tab(data: dict, countries: dict[str, str]) -> None:
    p = data["partner"]
    left, right = st.columns(2)
    left_text, right_text = _field_lines(p, countries)
    left.markdown(left_text)
    right.markdown(right_text)
    if p["notes"]:
        st.markdown(f"**Notes:** {p['notes']}")
    st.markdown("**Trade identifiers**")
    st.dataframe(
        pd.DataFrame([{"identifier": label, "value": p[field] or "–", "format": description}
                      for field, (label, _pattern, description) in IDENTIFIER_FORMATS.items()]),
        hide_index=True, width="stretch")
    parent = data["parent"]
    if parent:
        st.markdown(f"**Works through:** {parent['partner_code']} · {parent['legal_name']} "
                    f"({parent['entity_type']}, {parent['country_iso2']}, {parent['status']})")
    kids = data["children"]
    if not kids.empty:
        st.markdown(f"**Partners behind it** ({len(kids)}): it stands in front of these sites and factories")
        st.dataframe(kids.drop(columns="id"), hide_index=True, width="stretch")
    if not parent and kids.empty:
        st.caption("No parent partner and no partners behind it.")


def _certifications_tab(data: dict) -> None:
    certs = data["certifications"]
    if certs.empty:
        st.info("No CTPAT or MRA certification recorded. Without a verified one, this partner answers the "
                "questionnaire (MSC 3.4).")
        return
    st.dataframe(certs, hide_index=True, width="stretch", column_config={
        "mra_program": st.column_config.Column("MRA program"),
        "valid_until": st.column_config.DateColumn("Valid until"),
        "verified_on": st.column_config.DateColumn("Verified on"),
    })


def _history_tab(data: dict) -> None:
    history = data["history"]
    if history.empty:
        st.info("No recorded changes.")
        return
    shown = history.assign(changes=[changes_text(b, a) for b, a in zip(history["before"], history["after"],
                                                                          strict=True)])
    st.dataframe(shown[["at", "user", "action", "summary", "changes"]], hide_index=True, width="stretch",
                 column_config={"at": st.column_config.DatetimeColumn("When (UTC)", format="YYYY-MM-DD HH:mm")})


def _edit_tab(url: str, actor: Actor, data: dict, countries: dict[str, str]) -> None:
    p = data["partner"]
    with st.form(f"partner_edit_{p['id']}"):
        values = _partner_fields(f"edit{p['id']}", p, countries, _parent_options(url))
        submitted = st.form_submit_button("Save changes", type="primary", icon=":material/save:")
    if submitted:
        try:
            with state.session() as s:
                partner = partners.update_partner(session=s, actor=actor, partner_id=p["id"], values=values)
                code = partner.partner_code
        except ValidationError as exc:
            _show_errors(exc)
            return
        _after_write(f"Saved partner {code}.", focus=p["id"])


def _merge_tab(url: str, actor: Actor, data: dict) -> None:
    p = data["partner"]
    st.caption("Merge a duplicate of this partner into it. The duplicate's certifications, child partners, "
               "questionnaires, answers and history move here; the duplicate is deactivated, never deleted.")
    with state.session() as s:
        duplicates = partners.find_duplicates(session=s, values=p, exclude_id=p["id"])
    if duplicates:
        st.info("Possible duplicates: " + "; ".join(f"{d.partner_code} ({reason})" for d, reason in duplicates))
    options = {k: v for k, v in _parent_options(url).items() if k != p["id"]}
    with st.form(f"partner_merge_{p['id']}"):
        duplicate_id = st.selectbox("Duplicate to merge into this partner", list(options), format_func=options.get,
                                    index=None, placeholder="Choose the duplicate")
        confirmed = st.checkbox("I checked that both records are the same company")
        submitted = st.form_submit_button("Merge", icon=":material/merge:")
    if submitted:
        if duplicate_id is None or not confirmed:
            st.error("Choose the duplicate and confirm that both records are the same company.")
            return
        try:
            with state.session() as s:
                partners.merge_partners(session=s, actor=actor, keep_id=p["id"], duplicate_id=duplicate_id)
        except ValidationError as exc:
            _show_errors(exc)
            return
        _after_write(f"Merged {options[duplicate_id]} into {p['partner_code']}.", focus=p["id"])


def _set_status(actor: Actor, partner_id: int, status: str) -> None:
    try:
        with state.session() as s:
            code = partners.set_status(session=s, actor=actor, partner_id=partner_id, status=status).partner_code
    except ValidationError as exc:
        _show_errors(exc)
        return
    verb = "Deactivated" if status == "inactive" else "Reactivated"
    _after_write(f"{verb} partner {code}.", focus=partner_id)


def _close_detail() -> None:
    st.session_state.pop(FOCUS, None)
    st.session_state[VERSION] = st.session_state.get(VERSION, 0) + 1


def _detail_panel(url: str, actor: Actor, partner_id: int, countries: dict[str, str]) -> None:
    data = _detail(url, partner_id)
    if data is None:
        st.session_state.pop(FOCUS, None)
        return
    p = data["partner"]
    st.divider()
    head, actions = st.columns([3, 2], vertical_alignment="center")
    head.subheader(f"{p['partner_code']} · {p['legal_name']}")
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
    names = ["Details", "Certifications", "History", *(["Edit", "Merge"] if actor.can_write else [])]
    tabs = dict(zip(names, st.tabs(names, key="partner_tab", on_change="rerun"), strict=True))
    if tabs["Details"].open:
        with tabs["Details"]:
            _details_tab(data, countries)
    if tabs["Certifications"].open:
        with tabs["Certifications"]:
            _certifications_tab(data)
    if tabs["History"].open:
        with tabs["History"]:
            _history_tab(data)
    if "Edit" in tabs and tabs["Edit"].open:
        with tabs["Edit"]:
            _edit_tab(url, actor, data, countries)
    if "Merge" in tabs and tabs["Merge"].open:
        with tabs["Merge"]:
            _merge_tab(url, actor, data)


def render() -> None:
    actor = auth.require_role()
    if actor is None:
        return
    st.title("Partners")
    url = state.database_url()
    if message := st.session_state.pop("partner_flash", None):
        st.success(message, icon=":material/check_circle:")
    countries = _countries(url)
    if actor.can_write:
        _add_panel(url, actor, countries)
    _table(url, _filters(countries))
    if st.session_state.get(FOCUS) is not None:
        _detail_panel(url, actor, st.session_state[FOCUS], countries)
