"""Security Profile: the company's own self-assessment against the MSC of its entity type, with the eligibility
requirements as a checklist at the top and exports in the portal's order (XLSX and PDF)."""

from datetime import date

import pandas as pd
import streamlit as st

from models.selfassessment import SelfAssessmentStatus
from services.core.permissions import Actor
from services.reference.loader import CRITERIA_CAVEATS
from services.selfassessment import assessment, eligibility, export
from ui import auth, labels, state
from ui.text import plain

FLASH = "self_assessment_flash"
PICK = "self_assessment_pick"
NOT_ASSESSED = "not assessed"
STATUS_CHOICES = [None, *SelfAssessmentStatus]
OVERRIDES = {"criterion_id": "Criterion", "requirement": "Must / should", "summary": ("Criterion text", "long"),
             "status": "Status", "owner": "Owner", "reviewed_on": ("Last reviewed on", "date"),
             "reviewed_by": "Last reviewed by", "evidence_count": ("Evidence files", "count"), "flag": "Flag",
             "narrative": ("How it is met", "long")}


@st.cache_data(show_spinner=False, max_entries=5)
def _data(url: str, version: int) -> dict:
    with state.session() as s:
        return {"rows": assessment.rows(session=s), "status": assessment.self_assessment_status(session=s),
                "eligibility": eligibility.checklist(session=s), "evidence": assessment.list_evidence(session=s)}


def _workbook() -> bytes:
    with state.session() as s:
        return export.workbook_bytes(session=s)


def _pdf() -> bytes:
    with state.session() as s:
        return export.pdf_bytes(session=s)


def _evidence_bytes(actor: Actor, evidence_id: int) -> bytes:
    with state.session() as s:
        return assessment.read_evidence(session=s, actor=actor, evidence_id=evidence_id)[1]


def _figures(counts: dict) -> None:
    cols = st.columns(5)
    cols[0].metric("Criteria", counts["criteria"], help=f"{counts['must_total']} of them must criteria.")
    cols[1].metric("Must with a narrative", f"{counts['must_with_narrative']} of {counts['must_total']}")
    cols[2].metric("Must without a narrative", counts["must_without_narrative"],
                   help="Flagged: CBP's portal asks how each criterion is met, in words.")
    cols[3].metric("Met / partly / not met", f"{counts['met']} / {counts['partly_met']} / {counts['not_met']}")
    cols[4].metric("n/a · not assessed", f"{counts['not_applicable']} · {counts['not_assessed']}")


def _eligibility(items: pd.DataFrame, kind: str, actor: Actor) -> None:
    confirmed = int(items["confirmed"].sum())
    with st.expander(f"Eligibility requirements of a {kind}: {confirmed} of {len(items)} confirmed",
                     expanded=confirmed < len(items), icon=":material/task_alt:"):
        if items.empty:
            st.info(f"No eligibility requirements are on file for {kind}.")
            return
        st.caption("CBP's eligibility requirements for the entity type, with their sources (seed/eligibility.csv). "
                   "Only the importers' list is complete; other entity types carry the items the sources confirm.")
        config = labels.column_config(["confirmed", "item_id", "requirement", "note", "checked_by", "checked_on",
                                       "source"], {"item_id": "Item", "requirement": ("Requirement", "long"),
                                                   "confirmed": ("Confirmed", "bool"),
                                                   "checked_on": ("Checked on", "date"), "source": "Source"})
        if not actor.can_write:
            labels.table(items, ["confirmed", "item_id", "requirement", "note", "checked_by", "checked_on",
                                 "source"], overrides=config)
            return
        edited = st.data_editor(items, column_order=["confirmed", "item_id", "requirement", "note", "checked_by",
                                                     "checked_on", "source"], column_config=config,
                                disabled=["item_id", "requirement", "checked_by", "checked_on", "source"],
                                hide_index=True, width="stretch", key="self_assessment_eligibility")
        changed = edited[(edited["confirmed"] != items["confirmed"]) | (edited["note"] != items["note"])]
        if st.button("Save eligibility", disabled=changed.empty, icon=":material/save:",
                     key="self_assessment_eligibility_save"):
            def action(s):
                for row in changed.itertuples():
                    eligibility.set_check(session=s, actor=actor, item_id=row.item_id, confirmed=bool(row.confirmed),
                                          note=row.note or "")

            if state.write(action, success=f"Saved {len(changed)} eligibility item(s).", flash_key=FLASH):
                st.rerun()


def _filtered(rows: pd.DataFrame) -> pd.DataFrame:
    c1, c2, c3, c4 = st.columns([2, 2, 1, 2])
    categories = list(dict.fromkeys(rows["category_number"].astype(str) + ". " + rows["category"]))
    chosen = c1.multiselect("Category", categories, key="self_assessment_category", placeholder="All")
    statuses = c2.multiselect("Status", [NOT_ASSESSED, *SelfAssessmentStatus], key="self_assessment_status",
                              placeholder="Any")
    flagged = c3.toggle("Flagged only", key="self_assessment_flagged")
    text = c4.text_input("Text", key="self_assessment_text", placeholder="criterion, narrative or owner").strip()
    shown = rows.assign(status=rows["status"].map(lambda s: s.value if s is not None else NOT_ASSESSED))
    if chosen:
        shown = shown[(shown["category_number"].astype(str) + ". " + shown["category"]).isin(chosen)]
    if statuses:
        shown = shown[shown["status"].isin(statuses)]
    if flagged:
        shown = shown[shown["flag"] != ""]
    if text:
        hay = (shown["criterion_id"] + " " + shown["summary"] + " " + shown["narrative"] + " "
               + shown["owner"]).str.lower()
        shown = shown[hay.str.contains(text.lower(), regex=False)]
    return shown.reset_index(drop=True)


def _detail(row: pd.Series, files: pd.DataFrame, actor: Actor) -> None:
    cid = row["criterion_id"]
    requirement = row["requirement"] or export.UNCONFIRMED_REQUIREMENT
    st.subheader(f"{cid} ({requirement})")
    st.markdown(plain(row["summary"]))
    if row["caveat"]:
        st.caption(f"Caveat: {plain(row['caveat'])}")
    if row["flag"]:
        st.warning(plain(row["flag"]), icon=":material/flag:")
    reviewed = f"{row['reviewed_on']} by {plain(row['reviewed_by'])}" if row["reviewed_on"] else "never"
    st.caption(f"Last reviewed: {reviewed}")
    status = None if row["status"] == NOT_ASSESSED else SelfAssessmentStatus(row["status"])
    with st.form(f"self_assessment_form_{cid}"):
        narrative = st.text_area("How the company meets it (narrative)", value=row["narrative"],
                                 max_chars=assessment.NARRATIVE_MAX, height=180, disabled=not actor.can_write)
        c1, c2 = st.columns(2)
        chosen = c1.selectbox("Status", STATUS_CHOICES, index=STATUS_CHOICES.index(status),
                              format_func=lambda s: NOT_ASSESSED if s is None else s.value,
                              disabled=not actor.can_write)
        owner = c2.text_input("Owner", value=row["owner"], max_chars=120, disabled=not actor.can_write)
        reason = st.text_input("Reason for n/a (required with n/a)", value=row["na_reason"], max_chars=1000,
                               disabled=not actor.can_write)
        saved = st.form_submit_button("Save", type="primary", icon=":material/save:", disabled=not actor.can_write)
    if saved:
        def action(s):
            assessment.save_entry(session=s, actor=actor, criterion_id=cid, narrative=narrative, status=chosen,
                                  na_reason=reason, owner=owner)

        if state.write(action, success=f"Saved {cid}.", flash_key=FLASH):
            st.rerun()
    if actor.can_write and row["reviewed_on"] is not None and st.button(
            "Reviewed today, unchanged", icon=":material/event_available:", key=f"self_assessment_review_{cid}",
            help="The annual review: records you as its last reviewer today without changing the answer."):
        if state.write(lambda s: assessment.mark_reviewed(session=s, actor=actor, criterion_ids=[cid]),
                       success=f"Marked {cid} reviewed on {date.today()}.", flash_key=FLASH):
            st.rerun()
    st.markdown("**Evidence files**")
    mine = files[files["criterion_id"] == cid]
    if mine.empty:
        st.caption("No evidence files yet.")
    for item in mine.itertuples():
        c1, c2, c3 = st.columns([4, 1, 1])
        c1.markdown(f"{plain(item.filename)} · {item.size_bytes:,} bytes · {plain(item.uploaded_by)}")
        c2.download_button("Download", data=lambda i=item.id: _evidence_bytes(actor, i), file_name=item.filename,
                           mime=item.content_type, on_click="ignore", icon=":material/download:",
                           key=f"self_assessment_file_{item.id}")
        if actor.can_write and c3.button("Remove", key=f"self_assessment_remove_{item.id}",
                                         icon=":material/delete:"):
            if state.write(lambda s, i=item.id: assessment.remove_evidence(session=s, actor=actor, evidence_id=i),
                           success=f"Removed {item.filename}.", flash_key=FLASH):
                st.rerun()
    if actor.can_write:
        round_ = st.session_state.get("self_assessment_upload_round", 0)
        upload = st.file_uploader("Add an evidence file", key=f"self_assessment_upload_{cid}_{round_}",
                                  help="PDF, image, Word (.docx), Excel (.xlsx) or text; checked by its content.")
        if upload is not None and st.button("Attach", key=f"self_assessment_attach_{cid}",
                                            icon=":material/attach_file:"):
            def attach(s):
                assessment.add_evidence(session=s, actor=actor, criterion_id=cid, filename=upload.name,
                                        data=upload.getvalue())

            if state.write(attach, success=f"Attached {upload.name} to {cid}.", flash_key=FLASH):
                st.session_state["self_assessment_upload_round"] = round_ + 1
                st.rerun()


def render() -> None:
    actor = auth.require_role()
    if actor is None:
        return
    st.title("Security Profile self-assessment")
    if message := st.session_state.pop(FLASH, None):
        st.success(plain(message), icon=":material/check_circle:")
    url = state.database_url()
    data = _data(url, state.data_version())
    counts = data["status"]
    kind = counts["entity_type"]
    st.caption(f"The company's own answers for its Security Profile in the CTPAT portal, against every MSC criterion "
               f"of its entity type (**{kind}**, from Admin > Company profile), in the portal's order. CBP asks how "
               "each criterion is met in words: must criteria without a narrative are flagged.")
    if not actor.can_write:
        st.info("Read only: your role can view and export the self-assessment.", icon=":material/visibility:")
    _eligibility(data["eligibility"], kind, actor)
    _figures(counts)
    c1, c2, _ = st.columns([1, 1, 3])
    c1.download_button("Download XLSX", data=_workbook, file_name="security-profile-self-assessment.xlsx",
                       mime=export.XLSX_TYPE, on_click="ignore", icon=":material/table_view:",
                       key="self_assessment_xlsx")
    c2.download_button("Download PDF", data=_pdf, file_name="security-profile-self-assessment.pdf",
                       mime="application/pdf", on_click="ignore", icon=":material/picture_as_pdf:",
                       key="self_assessment_pdf")
    with st.expander("About the criteria", icon=":material/warning:"):
        st.markdown("\n".join(f"- {plain(c)}" for c in CRITERIA_CAVEATS))
    shown = _filtered(data["rows"])
    st.caption(f"{len(shown)} of {len(data['rows'])} criteria shown. Pick a row to answer it.")
    event = labels.table(shown, ["criterion_id", "requirement", "summary", "status", "owner", "evidence_count",
                                 "reviewed_on", "flag"], overrides=OVERRIDES, key="self_assessment_table",
                         on_select="rerun", selection_mode="single-row")
    picked = event.selection.rows if event is not None else []
    if picked:
        st.session_state[PICK] = shown.iloc[picked[0]]["criterion_id"]
    pick = st.session_state.get(PICK)
    if pick in set(shown["criterion_id"]):
        _detail(shown.set_index("criterion_id", drop=False).loc[pick], data["evidence"], actor)
