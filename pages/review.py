"""Review: read a partner's submission, its evidence and answer history; accept it or return it with comments."""

from datetime import date

import pandas as pd
import streamlit as st

from models.collection import AnswerSource, AssignmentStatus, DerivedStatus
from models.common import LANGUAGES
from services.collection import evidence, questionnaire, rules
from services.core.permissions import Actor
from services.exports import workbook
from ui import auth, cached, labels, state
from ui.text import plain

S = AssignmentStatus
VALUES = rules.ANSWER_VALUES
# The review queue: what waits for the team first, then what the partner still has, then what is done.
QUEUE_ORDER = (S.submitted, S.returned, S.in_progress, S.opened, DerivedStatus.overdue, S.sent, S.not_sent, S.accepted)
VIEWS = {
    "all": "All questions",
    "changed": "Changed since last cycle",
    "attention": "Partial, no or flagged",
    "open": "Not answered",
}
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
ANSWER = ("Answer", "answer")  # answer values in words in every table of the page
ANSWER_COLUMNS = ["criterion_id", "requirement", "question", "value", "comment", "flag", "previous_value",
                  "evidence_count", "source", "answered_by", "answered_on"]


@st.cache_data(show_spinner=False)
def _submission(url: str, version: int, assignment_id: int) -> dict:
    with state.session() as s:
        return {
            "info": questionnaire.assignment_info(session=s, assignment_id=assignment_id),
            "questions": questionnaire.questionnaire(session=s, assignment_id=assignment_id, language="en"),
            "evidence": evidence.list_evidence(session=s, assignment_id=assignment_id),
            "history": questionnaire.answer_history(session=s, assignment_id=assignment_id),
        }


def review_queue(frame: pd.DataFrame, *, everyone: bool) -> pd.DataFrame:
    """Assignments to review: submitted ones, oldest submission first; with `everyone`, the rest after them."""
    rank = {s: i for i, s in enumerate(QUEUE_ORDER)}
    queue = frame[frame["status"] != S.exempt] if everyone else frame[frame["status"] == S.submitted]
    queue = queue.assign(_rank=queue["status"].map(rank).fillna(len(rank)))
    return queue.sort_values(["_rank", "submitted_at", "partner_code"], na_position="last").drop(columns="_rank")


def answer_view(frame: pd.DataFrame, view: str) -> pd.DataFrame:
    """The questions of one view: all, changed since last cycle, needing attention, not answered.

    Needing attention: partial and no, and what the answer rules flag (not applicable on a must criterion).
    """
    if view == "changed":
        return frame[(frame["previous_value"] != "") & (frame["value"] != frame["previous_value"])]
    if view == "attention":
        return frame[frame["value"].isin(list(rules.GAP_VALUES)) | (frame["flag"] != "")]
    if view == "open":
        return frame[frame["value"] == ""]
    return frame


def _write(action, success: str) -> bool:
    return state.write(action, success=success, flash_key="review_flash")


def _pick(today: date) -> int | None:
    """The cycle and assignment pickers; returns the chosen assignment id."""
    all_cycles = cached.cycle_list(today)
    if all_cycles.empty:
        st.info("No cycle yet. Open one on the Cycles page.")
        return None
    names = dict(zip(all_cycles["id"].astype(int), all_cycles["name"], strict=True))
    left, right = st.columns([1, 2])
    cycle_id = left.selectbox("Cycle", list(names), format_func=names.get, key="review_cycle")
    everyone = left.toggle("Show every partner of the cycle", key="review_everyone")
    queue = review_queue(cached.cycle_funnel(cycle_id, today), everyone=everyone)
    if queue.empty:
        right.info("No submission waits for review in this cycle." if not everyone
                   else "This cycle has no partner to review.")
        return None
    choices = {
        int(r.assignment_id): f"{r.partner_code} · {r.legal_name} · {r.status}"
        + (f" {r.submitted_at:%Y-%m-%d}" if r.status == S.submitted and pd.notna(r.submitted_at) else "")
        for r in queue.itertuples()
    }
    waiting = int((queue["status"] == S.submitted).sum())
    return right.selectbox(f"Partner ({waiting:,} submitted, waiting for review)", list(choices),
                           format_func=choices.get, key="review_assignment")


def _header(info: dict, questions: pd.DataFrame) -> None:
    st.subheader(f"{plain(info['partner_code'])} · {plain(info['legal_name'])}")
    st.caption(f"{info['entity_type']} · {plain(info['cycle_name'])} (due {info['due_date']}) · questionnaire in "
               f"{LANGUAGES.get(info['language'], info['language'])}")
    answered = int((questions["value"] != "").sum())
    changed = len(answer_view(questions, "changed"))
    cols = st.columns(5)
    cols[0].metric("Status", info["status"])
    cols[1].metric("Answered", f"{answered} of {len(questions)}")
    if (questions["previous_value"] == "").all():
        cols[2].metric("Changed since last cycle", "–", help="No accepted answers from an earlier cycle.")
    else:
        cols[2].metric("Changed since last cycle", changed)
    cols[3].metric("Partial, no or flagged", len(answer_view(questions, "attention")),
                   help="Partial and no answers, and not applicable on a must criterion (it needs a reason).")
    cols[4].metric("Evidence files", int(questions["evidence_count"].sum()))
    if info["status"] == S.submitted and info["submitted_at"] is not None:
        st.caption(f"Submitted {info['submitted_at']:%Y-%m-%d %H:%M} UTC")
    if info["reviewed_by"]:
        st.caption(f"Last reviewed by {plain(info['reviewed_by'])} on {info['reviewed_at']:%Y-%m-%d}")
    assignment_id = info["assignment_id"]

    def content() -> bytes:
        # Built when the button is clicked, not on every rerun.
        with state.session() as s:
            return workbook.questionnaire_workbook(session=s, assignment_ids=[assignment_id])

    st.download_button("Download questionnaire (.xlsx)", content,
                       file_name=f"{info['partner_code']} {info['cycle_name']}.xlsx", mime=XLSX,
                       icon=":material/table_view:", on_click="ignore", key="review_xlsx",
                       help="The partner's questionnaire as an Excel workbook in its language, current answers filled "
                            "in; e.g. to send to a partner who answers offline.")


def _answers(questions: pd.DataFrame) -> None:
    view = st.segmented_control("Show", list(VIEWS), format_func=VIEWS.get, default="all", key="review_view",
                                required=True)
    shown = answer_view(questions, view or "all")
    columns = ANSWER_COLUMNS + (["review_comment"] if (questions["review_comment"] != "").any() else [])
    labels.table(shown, columns, height=min(38 + 35 * len(shown), 520), overrides={
        "criterion_id": st.column_config.TextColumn(labels.label("criterion_id"), width="small"),
        "value": ANSWER,
        "comment": st.column_config.TextColumn(labels.label("comment"), width="medium"),
        "flag": st.column_config.TextColumn("Flag", help="What the answer rules ask a reviewer to look at: not "
                                            "applicable on a must criterion."),
        "evidence_count": st.column_config.NumberColumn(labels.label("evidence_count"), width="small"),
    })


def _evidence(actor: Actor, files: pd.DataFrame) -> None:
    st.markdown("**Evidence files**")
    if files.empty:
        st.caption("No evidence file attached.")
        return
    labels.table(files, ["criterion_id", "filename", "content_type", "size_bytes", "uploaded_by", "uploaded_at"])
    names = {int(r.id): f"{r.criterion_id} · {r.filename}" for r in files.itertuples()}
    chosen = st.selectbox("File", list(names), format_func=names.get, key="review_evidence")
    row = files[files["id"] == chosen].iloc[0]

    def content() -> bytes:
        # Read when the button is clicked, not on every rerun: evidence files can be several MB.
        with state.session() as s:
            return evidence.read_evidence(session=s, actor=actor, evidence_id=chosen)[1]

    st.download_button("Download", content, file_name=row["filename"], mime=row["content_type"],
                       icon=":material/download:", on_click="ignore", key="review_download")


def _history(questions: pd.DataFrame, history: pd.DataFrame) -> None:
    st.markdown("**Answer history**")
    names = {cid: f"{cid} · {question}" for cid, question in zip(questions["criterion_id"], questions["question"],
                                                                   strict=True)}
    criterion = st.selectbox("Question", list(names), format_func=names.get, key="review_history_question")
    rows = history[history["criterion_id"] == criterion]
    if rows.empty:
        st.caption("Not answered yet.")
        return
    labels.table(rows, ["value", "comment", "source", "answered_by", "answered_on", "recorded_at", "is_current"],
                 overrides={"value": ANSWER, "source": "Path"})


def _decide(actor: Actor, info: dict, questions: pd.DataFrame) -> None:
    st.markdown("**Decision**")
    assignment_id = info["assignment_id"]
    if info["status"] == S.accepted:
        _reopen(actor, info, questions)
        return
    if info["status"] != S.submitted:
        st.caption(f"Only a submitted questionnaire can be accepted or returned; this one is {info['status']}.")
        return
    if st.button("Accept", type="primary", icon=":material/task_alt:", key="review_accept"):
        if _write(lambda s: questionnaire.accept(session=s, actor=actor, assignment_id=assignment_id),
                  f"Accepted the questionnaire of {plain(info['partner_code'])}."):
            st.rerun()
    with st.form("review_return", enter_to_submit=False):
        st.caption("Or return it: write what to fix next to each question concerned (at least one). The partner's "
                   "link opens the questionnaire again with your comments.")
        editor = questions[["criterion_id", "question", "value", "comment"]].assign(return_comment="")
        edited = st.data_editor(
            editor, hide_index=True, width="stretch", key="review_return_editor", placeholder=labels.EMPTY,
            disabled=["criterion_id", "question", "value", "comment"],
            column_config={**labels.column_config(editor.columns, {"value": ANSWER}),
                           "return_comment": st.column_config.TextColumn(labels.label("return_comment"),
                                                                         max_chars=2000)},
        )
        note = st.text_area("Note (kept in the audit log)", max_chars=1000, key="review_note")
        returned = st.form_submit_button("Return to partner", icon=":material/undo:", key="review_return_submit")
    if returned:
        comments = {cid: text for cid, text in zip(edited["criterion_id"], edited["return_comment"], strict=True)
                    if isinstance(text, str) and text.strip()}
        if _write(lambda s: questionnaire.return_for_fixes(session=s, actor=actor, assignment_id=assignment_id,
                                                           comments=comments, note=note),
                  f"Returned to {plain(info['partner_code'])} with {len(comments)} comment(s)."):
            st.rerun()


def _reopen(actor: Actor, info: dict, questions: pd.DataFrame) -> None:
    """An accepted questionnaire is the partner's record; reopening it (with what to update) lets answers change."""
    with st.form("review_reopen", enter_to_submit=False):
        st.caption("Accepted: these answers are the partner's record. To change them (the partner's situation "
                   "changed, a corrected file arrived), reopen it with what to update next to each question "
                   "concerned; the partner's link, staff entry and imports can then change it, and it is reviewed "
                   "again.")
        editor = questions[["criterion_id", "question", "value", "comment"]].assign(reopen_comment="")
        edited = st.data_editor(
            editor, hide_index=True, width="stretch", key="review_reopen_editor",
            disabled=["criterion_id", "question", "value", "comment"],
            column_config={"criterion_id": "criterion",
                           "reopen_comment": st.column_config.TextColumn("what to update", max_chars=2000)},
        )
        note = st.text_area("Reason (kept in the audit log)", max_chars=1000, key="review_reopen_note")
        reopened = st.form_submit_button("Reopen", icon=":material/lock_open:", key="review_reopen_submit")
    if reopened:
        comments = {cid: text for cid, text in zip(edited["criterion_id"], edited["reopen_comment"], strict=True)
                    if isinstance(text, str) and text.strip()}
        if _write(lambda s: questionnaire.reopen(session=s, actor=actor, assignment_id=info["assignment_id"],
                                                 comments=comments, note=note),
                  f"Reopened the questionnaire of {info['partner_code']} with {len(comments)} comment(s)."):
            st.rerun()


def _staff_entry(actor: Actor, info: dict, questions: pd.DataFrame) -> None:
    if not info["editable"]:
        return
    # The answer versions the page showed on the run before this one: a save never overwrites a newer answer.
    shown = st.session_state.get("review_entry_base")
    base = shown[1] if shown and shown[0] == info["assignment_id"] else {}
    st.session_state["review_entry_base"] = (info["assignment_id"], dict(zip(
        questions["criterion_id"], questions["answer_id"].astype(object).where(questions["answer_id"].notna(), None),
        strict=True)))
    with st.expander("Enter an answer on the partner's behalf", icon=":material/edit_note:"):
        st.caption("For answers received by mail or phone; recorded with your name and the path \"staff\".")
        with st.form("review_staff_entry", enter_to_submit=False, border=False):
            names = dict(zip(questions["criterion_id"], questions["question"], strict=True))
            criterion = st.selectbox("Question", list(names), format_func=lambda c: f"{c} · {names[c]}",
                                     key="review_entry_question")
            value = st.radio("Answer", VALUES, horizontal=True, index=None, key="review_entry_value")
            comment = st.text_area("Comment", max_chars=4000, key="review_entry_comment")
            answered_on = st.date_input("Answered on", value=date.today(), max_value=date.today(),
                                        key="review_entry_date")
            saved = st.form_submit_button("Save answer", icon=":material/save:", key="review_entry_save")
    if saved:
        if value is None:
            st.error("Choose an answer.")
            return
        answer = {"criterion_id": criterion, "value": value, "comment": comment, "answered_on": answered_on}
        expected = {criterion: base[criterion]} if criterion in base else None
        if _write(lambda s: questionnaire.save_answers(session=s, assignment_id=info["assignment_id"],
                                                       answers=[answer], source=AnswerSource.staff,
                                                       answered_by=actor.username, actor=actor, expected=expected),
                  f"Answer to {criterion} saved for {plain(info['partner_code'])}."):
            st.rerun()


def render() -> None:
    actor = auth.require_role()
    if actor is None:
        return
    st.title("Review")
    flash = st.session_state.pop("review_flash", None)
    if flash:
        st.success(flash)
    assignment_id = _pick(date.today())
    if assignment_id is None:
        return
    data = _submission(state.database_url(), state.data_version(), assignment_id)
    info, questions = data["info"], data["questions"]
    _header(info, questions)
    _answers(questions)
    left, right = st.columns(2)
    with left:
        _evidence(actor, data["evidence"])
    with right:
        _history(questions, data["history"])
    if actor.can_write:
        _decide(actor, info, questions)
        _staff_entry(actor, info, questions)
