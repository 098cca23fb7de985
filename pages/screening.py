"""Step 2 · Screening: restricted-party lists (UFLPA Entity List or any other) and partner matches to decide."""

import hashlib
from datetime import date

import streamlit as st

from models.screening import MatchStatus
from services.core.permissions import Actor, PermissionDenied, ValidationError
from services.imports import reader as tabular
from services.lanes import flags as lane_flags
from services.screening import lists
from ui import auth, presentation, state
from ui.markdown import plain

FLASH = "screening_flash"
FILE_TYPES = ["csv", "txt", "xlsx", "xlsm", "xls"]
MATCH_COLUMNS = ["status", "partner_code", "legal_name", "country_iso2", "listed_name", "matched_name", "match_kind",
                 "list", "listed_country", "address", "reference", "listed_on", "reason", "decided_by", "decided_at"]


def _version(url: str) -> tuple:
    with state.session() as s:
        return lane_flags.inputs_version(session=s)


@st.cache_data(show_spinner=False, max_entries=5)
def _data(url: str, version: tuple) -> dict:
    with state.session() as s:
        return {"matches": lists.list_matches(session=s), "lists": lists.list_lists(session=s)}


def _matches_tab(actor: Actor, data: dict) -> None:
    matches = data["matches"]
    if matches.empty:
        st.info("No matches: load a list on the Lists tab to screen the partners.")
        return
    status = st.segmented_control("Show", ["open", "confirmed", "dismissed", "all"], default="open",
                                  key="screening_status")
    shown = matches if status in (None, "all") else matches[matches["status"] == status]
    counts = matches["status"].value_counts()
    st.caption(f"{int(counts.get('open', 0))} open · {int(counts.get('confirmed', 0))} confirmed (forced labor High) · "
               f"{int(counts.get('dismissed', 0))} dismissed")
    if shown.empty:
        st.info("No match with this status.")
        return
    st.dataframe(presentation.masked(shown[MATCH_COLUMNS]),
                 hide_index=True, width="stretch", height=min(38 + 35 * len(shown), 420),
                 column_config={"listed_on": st.column_config.DateColumn("listed on"),
                                "decided_at": st.column_config.DatetimeColumn("decided", format="YYYY-MM-DD"),
                                "match_kind": "matched on", "country_iso2": "country"})
    if not actor.can_write:
        return
    labels = {int(r.id): f"{r.partner_code} · {r.legal_name} ↔ {r.listed_name} ({r.status})"
              for r in shown.itertuples()}
    chosen = st.selectbox("Match to decide", list(labels), format_func=labels.get, index=None,
                          key="screening_match", placeholder="Choose a match")
    if chosen is None:
        return
    match = shown[shown["id"] == chosen].iloc[0]
    st.markdown(f"**{plain(match['partner_code'])} · {plain(match['legal_name'])}** ({match['country_iso2']}) "
                f"matches **{plain(match['listed_name'])}** on *{plain(match['list'])}*")
    st.text(f"Matched on: {match['match_kind']} ('{match['matched_name']}')\nAliases: {match['aliases'] or '–'}\n"
            f"Listed country: {match['listed_country'] or '–'} · address: {match['address'] or '–'}\n"
            f"Reference: {match['reference'] or '–'} · listed on: {match['listed_on'] or '–'}")
    with st.form(f"screening_decide_{match['id']}"):
        decision = st.radio("Decision", [MatchStatus.confirmed.value, MatchStatus.dismissed.value], horizontal=True,
                            index=None, format_func=lambda d: {"confirmed": "Confirm: it is this listed party",
                                                               "dismissed": "Dismiss: a different company"}[d])
        reason = st.text_area("Reason (what was checked)", max_chars=1000)
        submitted = st.form_submit_button("Save decision", type="primary", icon=":material/gavel:")
    if submitted:
        if decision is None:
            st.error("Choose confirm or dismiss.")
            return
        if state.write(lambda s: lists.decide(session=s, actor=actor, match_id=int(match["id"]), status=decision,
                                              reason=reason),
                       success=f"{decision.capitalize()} the match of {match['partner_code']}.", flash_key=FLASH):
            st.rerun()


def _lists_tab(actor: Actor, data: dict) -> None:
    loaded = data["lists"]
    if loaded.empty:
        st.info("No list loaded yet.")
    else:
        st.dataframe(loaded.drop(columns=["id", "sha256"]), hide_index=True, width="stretch",
                     column_config={"loaded_at": st.column_config.DatetimeColumn("loaded", format="YYYY-MM-DD"),
                                    "as_of": st.column_config.DateColumn("as of"),
                                    "active": st.column_config.CheckboxColumn("current"),
                                    "is_demo": st.column_config.CheckboxColumn("demo")})
    if not actor.can_write:
        return
    st.markdown("**Load a list file** (CSV or XLSX, one entity per row: name, aliases separated by ';', country, "
                "address, date listed, reference). Loading a list under a name already used replaces it.")
    round_ = st.session_state.setdefault("screening_round", 0)
    upload = st.file_uploader("List file", type=FILE_TYPES, key=f"screening_file_{round_}")
    if upload is None:
        return
    raw = upload.getvalue()
    fingerprint = (upload.name, hashlib.sha256(raw).hexdigest())
    held = st.session_state.get("screening_preview")
    if not held or held[0] != fingerprint:
        with st.spinner("Reading the list and matching the partners…"), state.session() as s:
            held = (fingerprint, lists.read_list(session=s, filename=upload.name, data=raw))
        st.session_state["screening_preview"] = held
    preview = held[1]
    st.caption(f"{len(preview.entries):,} entries · {len(preview.matches):,} partner match(es) to review after "
               "loading")
    if not preview.problems.empty:
        st.dataframe(preview.problems, hide_index=True, width="stretch",
                     column_config={"row": st.column_config.NumberColumn(format="%d")})
        st.download_button("Download the problems (CSV)", tabular.problems_csv(preview.problems),
                           file_name="list problems.csv", mime="text/csv", on_click="ignore",
                           icon=":material/download:", key="screening_problems_csv")
    if not preview.matches.empty:
        st.dataframe(preview.matches, hide_index=True, width="stretch", height=min(38 + 35 * len(preview.matches), 300))
    if preview.has_errors:
        st.error("Nothing can be loaded until the errors are fixed in the file.", icon=":material/error:")
        return
    cols = st.columns(3)
    name = cols[0].text_input("List name", value="UFLPA Entity List", key="screening_name")
    publisher = cols[1].text_input("Publisher", value="US Department of Homeland Security", key="screening_publisher")
    as_of = cols[2].date_input("List as of", value=date.today(), key="screening_as_of")
    citation = st.text_input("Where it was downloaded", key="screening_citation",
                             placeholder="https://www.dhs.gov/uflpa-entity-list")
    if st.button("Load and screen", type="primary", icon=":material/upload:", key="screening_apply"):
        try:
            with state.session() as s:
                lists.apply_list(session=s, actor=actor, preview=preview, name=name, publisher=publisher,
                                 citation=citation, as_of=as_of)
        except (ValidationError, PermissionDenied) as exc:
            st.error(str(exc))
            return
        state.invalidate()
        st.session_state.pop("screening_preview", None)
        st.session_state["screening_round"] = round_ + 1
        st.session_state[FLASH] = f"Loaded {name}: {len(preview.entries):,} entries; partners screened."
        st.rerun()
    if st.button("Screen all partners again", key="screening_rescreen", icon=":material/refresh:"):
        if state.write(lambda s: lists.screen(session=s, actor=actor), success="Screened all partners against the "
                       "current lists.", flash_key=FLASH):
            st.rerun()


def render() -> None:
    actor = auth.require_role()
    if actor is None:
        return
    st.title("Screening")
    st.caption("Forced-labor screening (MSC 3.9; UFLPA and withhold release orders): partners matched by name and "
               "alias against restricted-party lists you load. An analyst confirms or dismisses every match with a "
               "reason; a confirmed match is a High forced-labor flag on the partner and its lanes.")
    message = st.session_state.pop(FLASH, None)
    if message:
        st.success(message, icon=":material/check_circle:")
    st.caption(lists.UFLPA_CAVEAT)
    url = state.database_url()
    data = _data(url, _version(url))
    tabs = dict(zip(["Matches", "Lists"], st.tabs(["Matches", "Lists"], key="screening_tab", on_change="rerun"),
                    strict=True))
    if tabs["Matches"].open:
        with tabs["Matches"]:
            _matches_tab(actor, data)
    if tabs["Lists"].open:
        with tabs["Lists"]:
            _lists_tab(actor, data)
