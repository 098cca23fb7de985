"""Imports: partner files and questionnaire response files, always previewed before one all-or-nothing import."""

import hashlib
from datetime import date

import pandas as pd
import streamlit as st
from sqlmodel import col, select

from models import Cycle, ImportRecord
from services.collection import cycles
from services.core.permissions import Actor, PermissionDenied, ValidationError
from services.imports import answers as answer_import
from services.imports import partners as partner_import
from services.imports import reader as tabular
from ui import auth, state

# Only a hint for the file picker: the importers judge a file by its content.
FILE_TYPES = ["csv", "txt", "xlsx", "xlsm", "xls"]
HISTORY_COLUMNS = ["imported_at", "kind", "filename", "cycle", "username", "rows", "created", "changed", "unchanged",
                   "sha256"]


@st.cache_data(show_spinner=False)
def _history(url: str) -> pd.DataFrame:
    # The import services have no history read (yet): the only query written in a page.
    with state.session() as s:
        rows = s.exec(
            select(ImportRecord.imported_at, ImportRecord.kind, ImportRecord.filename, Cycle.name,
                   ImportRecord.username, ImportRecord.rows, ImportRecord.created, ImportRecord.changed,
                   ImportRecord.unchanged, ImportRecord.sha256)
            .outerjoin(Cycle, col(Cycle.id) == ImportRecord.cycle_id)
            .order_by(col(ImportRecord.id).desc()).limit(1000)
        ).all()
    return pd.DataFrame(rows, columns=HISTORY_COLUMNS)


@st.cache_data(show_spinner=False)
def _open_cycles(url: str, today: date) -> dict[int, str]:
    with state.session() as s:
        frame = cycles.list_cycles(session=s, today=today)
    frame = frame[frame["status"] == "open"]
    return dict(zip(frame["id"].astype(int), frame["name"], strict=True))


def _fingerprint(kind: str, files: list[tuple[str, bytes]], extra: object = None) -> tuple:
    return (kind, extra, tuple((name, hashlib.sha256(data).hexdigest()) for name, data in files))


def _uploads(kind: str, label: str, *, multiple: bool) -> list[tuple[str, bytes]]:
    # A new key after each import empties the uploader, so the same files are not offered again by mistake.
    round_ = st.session_state.setdefault(f"imports_{kind}_round", 0)
    uploaded = st.file_uploader(label, type=FILE_TYPES, accept_multiple_files=multiple,
                                key=f"imports_{kind}_files_{round_}")
    if not uploaded:
        return []
    return [(f.name, f.getvalue()) for f in (uploaded if multiple else [uploaded])]


def _cached_preview(kind: str, fingerprint: tuple, make):
    """The preview of these exact files, computed once per upload (checking a big file takes seconds)."""
    held = st.session_state.get(f"imports_{kind}_preview")
    if held and held[0] == fingerprint:
        return held[1]
    with st.spinner("Checking the files…"):
        try:
            with state.session() as s:
                preview = make(s)
        except ValidationError as exc:
            st.error(str(exc))
            return None
    st.session_state[f"imports_{kind}_preview"] = (fingerprint, preview)
    return preview


def _problems(kind: str, problems: pd.DataFrame) -> None:
    errors = int((problems["severity"] == "error").sum())
    warnings = len(problems) - errors
    if errors:
        st.error(f"{errors:,} errors: nothing can be imported until they are fixed in the file.",
                 icon=":material/error:")
    if problems.empty:
        st.success("No problems found.", icon=":material/check_circle:")
        return
    st.markdown(f"**Problems** ({errors:,} errors, {warnings:,} warnings)")
    st.dataframe(problems, hide_index=True, width="stretch", height=min(38 + 35 * len(problems), 420),
                 column_config={"row": st.column_config.NumberColumn(format="%d")})
    st.download_button("Download the problems (CSV)", tabular.problems_csv(problems), file_name=f"{kind} problems.csv",
                       mime="text/csv", icon=":material/download:", on_click="ignore", key=f"imports_{kind}_csv")


def _apply(kind: str, action, message) -> None:
    try:
        with state.session() as s:
            result = action(s)
    except (ValidationError, PermissionDenied) as exc:
        st.error(str(exc))
        return
    state.invalidate()
    st.session_state.pop(f"imports_{kind}_preview", None)
    st.session_state[f"imports_{kind}_round"] += 1
    st.session_state["imports_flash"] = message(result)
    st.rerun()


def _responses(actor: Actor) -> None:
    options = _open_cycles(state.database_url(), date.today())
    if not options:
        st.info("No open cycle. Open one on the Cycles page first.")
        return
    st.caption("Excel questionnaires exported by the app, or CSV/XLSX files in long form (partner_code, "
               "criterion_id, answer, comment, answered_on) or wide form (partner_code, then one column per "
               "criterion). One file or many.")
    cycle_id = st.selectbox("Cycle", list(options), format_func=options.get, key="imports_cycle")
    files = _uploads("responses", "Questionnaire response files", multiple=True)
    if not files:
        return
    preview = _cached_preview(
        "responses", _fingerprint("responses", files, cycle_id),
        lambda s: answer_import.preview_responses(session=s, files=files, cycle_id=cycle_id))
    if preview is None:
        return
    totals = preview.totals
    cols = st.columns(4)
    cols[0].metric("New answers", f"{totals['new']:,}")
    cols[1].metric("Changed", f"{totals['changed']:,}")
    cols[2].metric("Unchanged", f"{totals['unchanged']:,}")
    cols[3].metric("Partners", f"{len(preview.summary):,}")
    st.dataframe(preview.files_frame, hide_index=True, width="stretch")
    if not preview.summary.empty:
        st.markdown("**Per partner**")
        st.dataframe(preview.summary, hide_index=True, width="stretch", height=min(38 + 35 * len(preview.summary), 420),
                     column_config={"status_after": "status after import"})
    _problems("responses", preview.problems)
    nothing = preview.writes.empty
    if nothing and not preview.has_errors:
        st.info("Nothing to import: every answer in the files is already stored.")
    if st.button("Import", type="primary", icon=":material/upload:", disabled=preview.has_errors or nothing,
                 key="imports_responses_apply"):
        _apply("responses", lambda s: answer_import.apply_responses(session=s, actor=actor, preview=preview),
               lambda records: f"Imported {len(records)} file(s) into {preview.cycle_name}: {totals['new']:,} new, "
                               f"{totals['changed']:,} changed, {totals['unchanged']:,} unchanged answers.")


def _partners(actor: Actor) -> None:
    st.caption("CSV or XLSX files with one partner per row, e.g. an ERP export. Headers are matched by name in any "
               "order (partner_code or vendor code, legal_name, entity_type, country, identifiers, contact, "
               "language, criticality, ...). A row with an existing partner code updates that partner.")
    files = _uploads("partners", "Partner files", multiple=True)
    if not files:
        return
    preview = _cached_preview("partners", _fingerprint("partners", files),
                              lambda s: partner_import.preview_partners(session=s, files=files))
    if preview is None:
        return
    counts = preview.counts
    cols = st.columns(len(counts))
    for column, (label, count) in zip(cols, counts.items(), strict=True):
        column.metric(label.capitalize(), f"{count:,}")
    if not preview.rows.empty:
        st.dataframe(preview.rows, hide_index=True, width="stretch", height=min(38 + 35 * len(preview.rows), 420),
                     column_config={"row": st.column_config.NumberColumn(format="%d"),
                                    "duplicate_of": "possible duplicate of"})
    _problems("partners", preview.problems)
    nothing = not (preview.creates or preview.updates or preview.parents)
    if nothing and not preview.has_errors:
        st.info("Nothing to import: every partner in the files is already stored as it is.")
    if st.button("Import", type="primary", icon=":material/upload:", disabled=preview.has_errors or nothing,
                 key="imports_partners_apply"):
        _apply("partners", lambda s: partner_import.apply_partners(session=s, actor=actor, preview=preview),
               lambda records: f"Imported {len(records)} file(s): {counts['new']:,} new, {counts['update']:,} "
                               f"updated, {counts['unchanged']:,} unchanged partners"
                               + (f", {counts['duplicate']:,} possible duplicates skipped." if counts["duplicate"]
                                  else "."))


def _history_table() -> None:
    history = _history(state.database_url())
    if history.empty:
        st.caption("No import yet.")
        return
    st.dataframe(history, hide_index=True, width="stretch",
                 column_config={"imported_at": st.column_config.DatetimeColumn("when", format="YYYY-MM-DD HH:mm"),
                                "filename": "file", "username": "by", "created": "new",
                                "sha256": st.column_config.TextColumn("content hash", width="small")})


def render() -> None:
    actor = auth.require_role()
    if actor is None:
        return
    st.title("Imports")
    flash = st.session_state.pop("imports_flash", None)
    if flash:
        st.success(flash, icon=":material/check_circle:")
    if not actor.can_write:
        st.subheader("Import history")
        _history_table()
        return
    partners_tab, responses_tab, history_tab = st.tabs(["Partners file", "Questionnaire responses", "History"])
    with partners_tab:
        _partners(actor)
    with responses_tab:
        _responses(actor)
    with history_tab:
        _history_table()
