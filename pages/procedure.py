"""Risk assessment procedure (step 5): the documented procedure generated from the live configuration, its saved
versions compared in words, an admin's sign-off and the next review date, and a PDF of any version."""

from datetime import date

import streamlit as st

from services import procedure
from services.company import profile as company_profile
from services.procedure import export
from ui import auth, labels, presentation, state
from ui.text import plain

FLASH = "procedure_flash"
LIVE = "Live draft (from the current configuration)"


@st.cache_data(show_spinner=False, max_entries=5)
def _data(url: str, version: int, today: date) -> dict:
    with state.session() as s:
        company = company_profile.get_profile(session=s)
        return {"live": procedure.generate(session=s),
                "identifiers": (company.ctpat_account_number, company.ior_number) if company else (),
                "status": procedure.status(session=s, today=today),
                "versions": procedure.list_versions(session=s),
                "saved": procedure.saved_texts(session=s)}


def _pdf(version: int | None, today: date):
    def build() -> bytes:
        with state.session() as s:
            return export.pdf_bytes(session=s, today=today, version=version)
    return build


def _status(status: dict, today: date) -> None:
    cols = st.columns(3)
    cols[0].metric("Latest version", status["latest_version"] or "none")
    signed = (f"v{status['signed_version']} · {status['approved_on'].isoformat()}" if status["signed_version"]
              else "not signed")
    cols[1].metric("Signed off", signed, help=f"by {status['approved_by']}" if status["approved_by"] else None)
    days = status["days_to_review"]
    cols[2].metric("Next review", status["next_review_on"].isoformat() if status["next_review_on"] else "Unknown",
                   delta=None if days is None else (f"{days} days left" if days >= 0 else f"{-days} days overdue"),
                   delta_color="off" if days is None or days >= 0 else "inverse")
    if status["signed_version"] is None:
        st.warning("No version of the procedure is signed off yet: save a version and have an administrator sign "
                   "it off (CBP checks a documented, approved procedure at validation).", icon=":material/warning:")
    elif days is not None and days < 0:
        st.error("The procedure's review date has passed: review it, save a new version and sign it off "
                 "(at least yearly, MSC 2.3).", icon=":material/event_busy:")
    changes = status["changed_since_latest"]
    if changes:
        with st.expander(f"The live configuration changed since version {status['latest_version']}: "
                         f"{len(changes)} difference(s)", icon=":material/difference:", expanded=False):
            for line in changes:
                st.markdown("- " + plain(line))


def _text(sections, identifiers: tuple) -> None:
    for heading, paragraphs in sections:
        st.subheader(plain(heading))
        for paragraph in paragraphs:
            st.markdown(plain(presentation.scrub(paragraph, *identifiers)))


def _save(actor) -> None:
    with st.form("procedure_save", clear_on_submit=True):
        note = st.text_input("Why this version (optional)", max_chars=procedure.NOTE_MAX,
                             placeholder="e.g. annual review 2027; new threat source")
        if st.form_submit_button("Save the live text as a new version", icon=":material/save:"):
            state.write(lambda s: procedure.save_version(session=s, actor=actor, note=note),
                        success="Saved a new version of the procedure.", flash_key=FLASH)
            st.rerun()


def _sign(actor, status: dict, today: date) -> None:
    version = status["latest_version"]
    with st.form("procedure_sign"):
        st.markdown(f"**Sign off version {version}** (records your name and today's date).")
        review = st.date_input("Next review by", value=procedure.add_months(today, procedure.REVIEW_MONTHS),
                               min_value=today, max_value=procedure.add_months(today, procedure.REVIEW_MONTHS))
        if st.form_submit_button(f"Sign off version {version}", icon=":material/verified:"):
            state.write(lambda s: procedure.sign_off(session=s, actor=actor, version=version, today=today,
                                                     next_review_on=review),
                        success=f"Signed off version {version}.", flash_key=FLASH)
            st.rerun()


def _compare(saved: dict) -> None:
    numbers = sorted(saved, reverse=True)
    if len(numbers) < 2:
        st.caption("Two saved versions are needed to compare.")
        return
    c1, c2 = st.columns(2)
    before = c1.selectbox("Older version", numbers[1:], key="procedure_before")
    after = c2.selectbox("Newer version", numbers, key="procedure_after")
    lines = procedure.differences(saved[before], saved[after])
    if not lines:
        st.info(f"Versions {before} and {after} have the same text.")
    for line in lines:
        st.markdown("- " + plain(line))


def render() -> None:
    actor = auth.require_role()
    if actor is None:
        return
    st.title("Risk assessment procedure")
    if message := st.session_state.pop(FLASH, None):
        st.success(plain(message), icon=":material/check_circle:")
    today = date.today()
    data = _data(state.database_url(), state.data_version(), today)
    status = data["status"]
    st.caption("CBP's step 5: the documented procedure of the risk assessment, generated from the live data and "
               "scoring configuration. Versions are kept and compared; an administrator signs one off, which sets "
               "the next review date (the follow-ups remind the admins).")
    if not actor.can_write:
        st.info("Read only: your role can read and download the procedure.", icon=":material/visibility:")
    _status(status, today)
    choices = [LIVE, *[f"Version {n}" for n in sorted(data["saved"], reverse=True)]]
    shown = st.selectbox("Show", choices, key="procedure_show")
    version = None if shown == LIVE else int(shown.split()[-1])
    st.download_button("Download PDF", data=_pdf(version, today),
                       file_name=f"risk-assessment-procedure-{'draft' if version is None else f'v{version}'}.pdf",
                       mime="application/pdf", on_click="ignore", icon=":material/picture_as_pdf:",
                       key="procedure_pdf")
    _text(data["live"] if version is None else data["saved"][version], data["identifiers"])
    st.divider()
    if actor.can_write:
        _save(actor)
    if actor.is_admin and status["latest_unsigned"]:
        _sign(actor, status, today)
    with st.expander("Compare versions", icon=":material/compare_arrows:"):
        _compare(data["saved"])
    with st.expander("All versions", icon=":material/history:"):
        labels.table(data["versions"], overrides={"configuration_version": "Scoring configuration",
                                                  "approved_by": "Signed off by",
                                                  "approved_at": ("Signed off at", "time"),
                                                  "next_review_on": ("Next review", "date")})
