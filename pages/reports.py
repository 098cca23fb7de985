"""Reports (step 5, documentation): the validation pack, built into a file on disk with a progress bar and
downloaded from there.

Admins and analysts build and download the pack; viewers do not (it holds the audit extract: who changed what, with
the values before and after), and the page tells them whom to ask.
"""

from datetime import UTC, date, datetime
from pathlib import Path

import streamlit as st

from services.core import config
from services.reports import pack
from services.reports.pack.sections import SECTIONS
from ui import auth, state
from ui.text import plain

_BUILT = "reports_pack_built"
_KEEP = 5  # packs kept per user on disk; older ones are removed when a new one is built


def _folder(username: str) -> Path:
    """Where this user's packs are written (under the data folder, never served as static files)."""
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in username) or "user"
    folder = config.data_dir() / "packs" / safe
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _packs(folder: Path) -> list[Path]:
    return sorted(folder.glob("validation-pack-*.zip"), key=lambda p: p.stat().st_mtime, reverse=True)


def _prune(folder: Path) -> None:
    for old in _packs(folder)[_KEEP:]:
        old.unlink(missing_ok=True)


def _reader(path: Path):
    """Reads the pack from disk only when the download is clicked (not on every rerun)."""
    def read() -> bytes:
        return path.read_bytes()
    return read


def _build(actor, since: date | None) -> None:
    folder = _folder(actor.username)
    today = datetime.now(UTC).date()
    out = folder / pack.default_name(today)
    bar = st.progress(0.0, text="Starting…")

    def progress(fraction: float, what: str) -> None:
        bar.progress(fraction, text=f"Writing: {what}")

    def action(session) -> None:
        summary = pack.build_pack(session=session, out=out, today=today, since=since, progress=progress)
        pack.record_export(session=session, actor=actor, summary=summary, since=since)
        st.session_state[_BUILT] = {"name": summary.path.name, "rows": summary.rows,
                                    "evidence": summary.evidence_files, "missing": summary.missing_files,
                                    "note": summary.font_note}

    if state.write(action):
        bar.progress(1.0, text="Done")
        _prune(folder)


def _contents() -> None:
    with st.expander("What the pack holds", icon=":material/info:"):
        st.markdown("- **validation-pack.xlsx**: one sheet per section, with frozen headers, filters and a print "
                    "setup as wide as the page:")
        st.markdown("\n".join(f"  - **{plain(s.sheet)}**: {plain(s.description)}" for s in SECTIONS))
        st.markdown("- **validation-summary.pdf**: cover, key figures, charts and the cargo-flow map, for "
                    "management and the validation.\n- **evidence/**: every evidence file the workbook names, "
                    "with SHA-256 checksums.")
        st.caption("Text typed by partners or staff stays text: a cell starting with = + - @ is never a formula, "
                   "and nothing typed is read as markup in the PDF. The same data gives the same file.")


def render() -> None:
    actor = auth.require_role()
    if actor is None:
        return
    st.title("Reports")
    st.subheader("Validation pack")
    st.write("Everything CBP's supply chain security specialist asks for at a validation, in one ZIP: the records "
             "as a workbook, a summary PDF for management and the evidence files.")
    _contents()
    if not pack.may_build(actor):
        st.info("The validation pack holds the audit extract (who changed what, before and after): admins and analysts "
                "build and download it. Ask one of them for a copy.", icon=":material/lock:")
        return
    with st.form("pack"):
        since = st.date_input("Dated logs from (optional)", value=None, format="YYYY-MM-DD",
                              help="Limits certificate checks, evidence files, the audit extract and the cycles to "
                                   "those from this date. Leave empty for everything.")
        build = st.form_submit_button("Build the validation pack", icon=":material/folder_zip:", type="primary")
    if build:
        _build(actor, since)
    built = st.session_state.get(_BUILT)
    if built:
        st.success(f"Built {built['name']}: " + ", ".join(f"{plain(sheet)} {rows:,}"
                                                         for sheet, rows in built["rows"].items())
                   + f"; {built['evidence']:,} evidence files.")
        for member in built["missing"]:
            st.warning(f"Evidence file {plain(member)} is missing from the evidence store or damaged: it is listed "
                       "in the index but not in the pack.")
        if built["note"]:
            st.warning(built["note"])
    packs = _packs(_folder(actor.username))
    if not packs:
        st.caption("No pack built yet.")
        return
    st.markdown("**Your packs**")
    for path in packs:
        size = path.stat().st_size
        left, right = st.columns([3, 1], vertical_alignment="center")
        left.markdown(f"{plain(path.name)} · {size / 1_000_000:,.1f} MB · built "
                      f"{datetime.fromtimestamp(path.stat().st_mtime, UTC):%Y-%m-%d %H:%M} UTC")
        right.download_button("Download", data=_reader(path), file_name=path.name, mime="application/zip",
                              key=f"download-{path.name}", icon=":material/download:", on_click="ignore")
