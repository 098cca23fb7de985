"""Review: read a partner's submission, its evidence and answer history; accept it or return it with comments."""

from datetime import date

import pandas as pd
import streamlit as st

from models.collection import AnswerSource, AssignmentStatus, DerivedStatus
from models.common import LANGUAGES
from services import texts
from services.collection import evidence, questionnaire, rules
from services.core.permissions import Actor
from services.exports import workbook
from ui import auth, cached, filters, labels, presentation, state
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
BOXES_PER_PART = 25  # comment boxes drawn at once under "Return" and "Reopen"
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
    filters.initial("review_cycle", "cycle", names)
    cycle_id = left.selectbox("Cycle", list(names), format_func=names.get, key="review_cycle")
    everyone = left.toggle("Show every partner of the cycle", key="review_everyone")
    queue = review_queue(cached.cycle_funnel(cycle_id, today), everyone=everyone)
    if queue.empty:
        right.info("No submission waits for review in this cycle." if not everyone
                   else "This cycle has no partner to review.")
        return None
    choices = {
        int(r.assignment_id): f"{presentation.partner(r.partner_code, r.legal_name)} · {r.status}"
        + (f" {r.submitted_at:%Y-%m-%d}" if r.status == S.submitted and pd.notna(r.submitted_at) else "")
        for r in queue.itertuples()
    }
    waiting = int((queue["status"] == S.submitted).sum())
    return right.selectbox(f"Partner ({waiting:,} submitted, waiting for review)", list(choices),
                           format_func=choices.get, key="review_assignment")


def _header(info: dict, questions: pd.DataFrame) -> None:
    st.subheader(presentation.partner(plain(info['partner_code']), plain(info['legal_name'])))
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
                       file_name=workbook.partner_file_name(
                           partner_code=info["partner_code"],
                           title=info["partner_titles"][texts.language_of(info["language"])]), mime=XLSX,
                       icon=":material/table_view:", on_click="ignore", key="review_xlsx",
                       help="The partner's questionnaire as an Excel workbook in its language, current answers filled "
                            "in; e.g. to send to a partner who answers offline.")


def _answers(questions: pd.DataFrame) -> str:
    """The answers table under its view picker; the view chosen (the return and reopen comments follow it)."""
    view = st.segmented_control("Show", list(VIEWS), format_func=VIEWS.get, default="all", key="review_view",
                                required=True) or "all"
    shown = answer_view(questions, view)
    columns = ANSWER_COLUMNS + (["review_comment"] if (questions["review_comment"] != "").any() else [])
    labels.table(shown, columns, height=min(38 + 35 * len(shown), 520), overrides={
        "criterion_id": st.column_config.TextColumn(labels.label("criterion_id"), width="small"),
        "value": ANSWER,
        "comment": st.column_config.TextColumn(labels.label("comment"), width="medium"),
        "flag": st.column_config.TextColumn("Flag", help="What the answer rules ask a reviewer to look at: not "
                                            "applicable on a must criterion."),
        "evidence_count": st.column_config.NumberColumn(labels.label("evidence_count"), width="small"),
    })
    return view


def _evidence(actor: Actor, files: pd.DataFrame) -> None:
    st.markdown("**Evidence files**")
    if files.empty:
        st.caption("No evidence file attached.")
        return
    labels.table(files, ["criterion_id", "filename", "content_type", "size_bytes", "uploaded_by", "uploaded_at"])
    # Missing or damaged stored copies are said here, with what to do, not only in the server log.
    problems = evidence.stored_problems(files=files)
    if problems:
        st.warning(f"{len(problems):,} of {len(files):,} files cannot be downloaded: their stored copy is missing "
                   "or damaged. Choose one below for details.", icon=":material/report:")
    names = {int(r.id): f"{r.criterion_id} · {r.filename}" + (" (unavailable)" if int(r.id) in problems else "")
             for r in files.itertuples()}
    chosen = st.selectbox("File", list(names), format_func=names.get, key="review_evidence")
    row = files[files["id"] == chosen].iloc[0]
    problem = problems.get(chosen) or evidence.stored_problem(sha256=row["sha256"], filename=row["filename"])
    if problem:
        st.error(plain(problem), icon=":material/error:")

    def content() -> bytes:
        # Read when the button is clicked, not on every rerun: evidence files can be several MB.
        with state.session() as s:
            return evidence.read_evidence(session=s, actor=actor, evidence_id=chosen)[1]

    st.download_button("Download", content, file_name=row["filename"], mime=row["content_type"],
                       icon=":material/download:", on_click="ignore", disabled=bool(problem), key="review_download")


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


def _decide(actor: Actor, info: dict, questions: pd.DataFrame, view: str) -> None:
    st.markdown("**Decision**")
    assignment_id = info["assignment_id"]
    if info["status"] == S.accepted:
        st.caption("Accepted: these answers are the partner's record. To change them (the partner's situation "
                   "changed, a corrected file arrived), reopen it with what to update under each question "
                   "concerned; the partner's link, staff entry and imports can then change it, and it is reviewed "
                   "again.")
        _send_back(actor, info, questions, view, "reopen")
        return
    if info["status"] != S.submitted:
        st.caption(f"Only a submitted questionnaire can be accepted or returned; this one is {info['status']}.")
        return
    if st.button("Accept", type="primary", icon=":material/task_alt:", key="review_accept"):
        if _write(lambda s: questionnaire.accept(session=s, actor=actor, assignment_id=assignment_id),
                  f"Accepted the questionnaire of {plain(info['partner_code'])}."):
            st.rerun()
    st.caption("Or return it: write what to fix under each question concerned (at least one). The partner's link "
               "opens the questionnaire again with your comments.")
    _send_back(actor, info, questions, view, "return")


SEND_BACK = {  # kind -> (comment placeholder, note label, button label, service, what was done)
    "return": ("What the partner should fix", "Note (kept in the audit log)", "Return to partner",
               questionnaire.return_for_fixes, "Returned to"),
    "reopen": ("What the partner should update", "Reason (kept in the audit log)", "Reopen",
               questionnaire.reopen, "Reopened the questionnaire of"),
}


def _first_line(text: object) -> str:
    lines = str(text or "").strip().splitlines()
    return lines[0] if lines else ""


@st.fragment
def _send_back(actor: Actor, info: dict, questions: pd.DataFrame, view: str, kind: str) -> None:
    """A comment box under each question of the view chosen above ("Show"), then one button.

    Plain text boxes, not table cells: what was typed counts even when the button is pressed right after typing,
    and a long partner comment never pushes the box off the screen. Comments on questions of another view are
    kept (and sent) while the reviewer switches views. A fragment: typing reruns only this part.
    """
    placeholder, note_label, button, service, done = SEND_BACK[kind]
    assignment_id = info["assignment_id"]
    prefix = f"review_{kind}_{assignment_id}_"
    shown = answer_view(questions, view)
    st.caption(f"Questions shown: {VIEWS[view].lower()} ({len(shown)} of {len(questions)}); choose others with "
               "“Show” above.")
    drawn = _box_part(shown, f"{prefix}{view}_part")
    for row in drawn.itertuples():
        with st.container(key=f"{prefix}{row.criterion_id}_box"):
            answer = labels.ANSWERS.get(row.value, row.value) if row.value else "not answered"
            line = f"**{row.criterion_id}** · {row.requirement} · answer: **{answer}**"
            if row.flag:
                line += f" · :orange[{plain(row.flag)}]"
            st.markdown(f"{line}  \n{plain(_first_line(row.question))}")
            if row.comment:
                st.caption(f"Partner's comment: {plain(row.comment)}")
            _draft_box(prefix, row.criterion_id, placeholder)
    drafts = _drafts(prefix, questions["criterion_id"])
    elsewhere = sorted(set(drafts) - set(drawn["criterion_id"]))
    if elsewhere:
        st.caption(f"Also kept: your comments on {', '.join(elsewhere)} (not shown here).")
    note = st.text_area(note_label, max_chars=1000, key=f"{prefix}note")
    if st.button(button, icon=":material/undo:" if kind == "return" else ":material/lock_open:",
                 key=f"review_{kind}_submit"):
        if not drafts:
            st.error("Write what to fix under at least one question.")
            return
        if _write(lambda s: service(session=s, actor=actor, assignment_id=assignment_id, comments=drafts, note=note),
                  f"{done} {plain(info['partner_code'])} with {len(drafts)} comment(s)."):
            for key in [k for k in st.session_state if str(k).startswith(prefix)]:
                del st.session_state[key]
            st.rerun()


def _box_part(shown: pd.DataFrame, key: str) -> pd.DataFrame:
    """The questions whose comment boxes are drawn: all of the view, or one part of BOXES_PER_PART when there are
    more. Every box costs the browser a few elements to mount after a page switch (95 questions took Review to
    about 1 s in Chromium at 10,000 partners; docs/PERFORMANCE.md); comments typed in another part are kept."""
    if len(shown) <= BOXES_PER_PART:
        return shown
    starts = list(range(0, len(shown), BOXES_PER_PART))
    names = {start: f"{start + 1}–{min(start + BOXES_PER_PART, len(shown))}" for start in starts}
    if st.session_state.get(key, 0) not in starts:  # the view has fewer questions than when that part was chosen
        st.session_state.pop(key, None)
    start = st.segmented_control("Questions", starts, format_func=names.get, default=0, key=key,
                                 required=True) or 0
    return shown.iloc[start:start + BOXES_PER_PART]


def _draft_box(prefix: str, criterion_id: str, placeholder: str) -> None:
    """The comment box of one question; what is typed is also kept under a key of its own, which outlives the box
    (Streamlit forgets a widget's value once the widget is not drawn, e.g. in another view)."""
    kept, box = f"{prefix}{criterion_id}", f"{prefix}{criterion_id}_text"
    st.session_state.setdefault(box, st.session_state.get(kept, ""))
    st.text_area(placeholder, key=box, placeholder=f"{placeholder} (leave empty if nothing)", height=68,
                 max_chars=2000, label_visibility="collapsed")
    st.session_state[kept] = st.session_state[box]


def _drafts(prefix: str, criteria) -> dict[str, str]:
    """The comments typed so far, by question (empty ones left out)."""
    found = {cid: str(st.session_state.get(f"{prefix}{cid}", "")).strip() for cid in criteria}
    return {cid: text for cid, text in found.items() if text}


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
    view = _answers(questions)
    left, right = st.columns(2)
    with left:
        _evidence(actor, data["evidence"])
    with right:
        _history(questions, data["history"])
    if actor.can_write:
        _decide(actor, info, questions, view)
        _staff_entry(actor, info, questions)
