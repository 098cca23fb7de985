"""Imports: partner files and questionnaire response files, always previewed before one all-or-nothing import."""

import hashlib
from datetime import date
from pathlib import Path

import pandas as pd
import streamlit as st

from models.collection import CycleStatus
from services.collection import cycles
from services.core.permissions import Actor
from services.imports import answers as answer_import
from services.imports import partners as partner_import
from services.imports import reader as tabular
from services.imports.history import import_history
from ui import auth, labels, state
from ui.text import plain

# Only a hint for the file picker: the importers judge a file by its content.
FILE_TYPES = ["csv", "txt", "xlsx", "xlsm", "xls", "ods"]
# The example files of docs/import-formats.md (a test imports them), offered as templates to start from.
EXAMPLES = Path(__file__).resolve().parent.parent / "docs" / "examples"
PARTNER_EXAMPLES = {"partners.csv": "Example partner file (ERP column names, CSV)"}
RESPONSE_EXAMPLES = {"responses-long.csv": "Example answers, long form (CSV)",
                     "responses-wide.csv": "Example answers, wide form (CSV)"}


@st.cache_data(show_spinner=False)
def _history(url: str) -> pd.DataFrame:
    with state.session() as s:
        return import_history(session=s)


@st.cache_data(show_spinner=False)
def _open_cycles(url: str, today: date) -> dict[int, str]:
    with state.session() as s:
        frame = cycles.list_cycles(session=s, today=today)
    frame = frame[frame["status"] == CycleStatus.open]
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
        preview = state.attempt(make)
    if preview is not None:
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
    labels.table(problems, overrides={"value": "Value in the file"}, height=min(38 + 35 * len(problems), 420))
    st.download_button("Download the problems (CSV)", tabular.problems_csv(problems), file_name=f"{kind} problems.csv",
                       mime="text/csv", icon=":material/download:", on_click="ignore", key=f"imports_{kind}_csv")


def _apply(kind: str, action, message) -> None:
    """Import through the page write helper; `message` turns the import records into the flash (markdown)."""
    done = {}

    def write(s):
        done["records"] = action(s)

    if state.write(write):
        st.session_state.pop(f"imports_{kind}_preview", None)
        st.session_state[f"imports_{kind}_round"] += 1
        st.session_state["imports_flash"] = message(done["records"])
        st.rerun()


def _examples(files: dict[str, str]) -> None:
    """The example files as downloads: real files that import cleanly, to start a file from."""
    cols = st.columns(len(files))
    for column, (name, title) in zip(cols, files.items(), strict=True):
        column.download_button(title, (EXAMPLES / name).read_bytes, file_name=name, mime="text/csv",
                               icon=":material/download:", on_click="ignore", key=f"imports_example_{name}")
    st.caption("The formats and rules are in docs/import-formats.md; the Excel questionnaires of the Cycles page "
               "also import back as they are.")


def _responses(actor: Actor) -> None:
    st.caption("Excel questionnaires exported by the app, or CSV/XLSX files in long form (partner_code, "
               "criterion_id, answer, comment, answered_on) or wide form (partner_code, then one column per "
               "criterion). One file or many.")
    _examples(RESPONSE_EXAMPLES)
    options = _open_cycles(state.database_url(), date.today())
    if not options:
        st.info("No open cycle. Open one on the Cycles page first.")
        return
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
    labels.table(preview.files_frame)
    if not preview.summary.empty:
        st.markdown("**Per partner**")
        labels.table(preview.summary, height=min(38 + 35 * len(preview.summary), 420))
    _problems("responses", preview.problems)
    nothing = preview.writes.empty
    if nothing and not preview.has_errors:
        st.info("Nothing to import: every answer in the files is already stored.")
    if st.button("Import", type="primary", icon=":material/upload:", disabled=preview.has_errors or nothing,
                 key="imports_responses_apply"):
        _apply("responses", lambda s: answer_import.apply_responses(session=s, actor=actor, preview=preview),
               lambda records: f"Imported {len(records)} file(s) into {plain(preview.cycle_name)}: "
                               f"{totals['new']:,} new, {totals['changed']:,} changed, {totals['unchanged']:,} "
                               "unchanged answers.")


def _partners(actor: Actor) -> None:
    st.caption("CSV or XLSX files with one partner per row, e.g. an ERP export. Headers are matched by name in any "
               "order (partner_code or vendor code, legal_name, entity_type, country, identifiers, contact, "
               "language, criticality, ...). A row with an existing partner code updates that partner.")
    _examples(PARTNER_EXAMPLES)
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
        labels.table(preview.rows, height=min(38 + 35 * len(preview.rows), 420))
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
    labels.table(history, overrides={"username": "By", "sha256": st.column_config.TextColumn(
        labels.label("sha256"), width="small")})


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
