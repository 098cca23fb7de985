"""Supplier questionnaire: what a partner sees through its personal link, without a staff login.

The router shows this page alone when the session holds a supplier token. The token is resolved again on every
run, so a revoked or expired link stops working at once, and the page shows nothing but this one assignment.
"""

import re
from collections.abc import Callable
from datetime import date, datetime

import pandas as pd
import streamlit as st

from models.collection import AnswerSource, AssignmentStatus
from models.common import LANGUAGES, Requirement
from services import texts
from services.collection import evidence, guesses, links, questionnaire, rules
from services.core.permissions import ValidationError
from services.exports import workbook
from ui import state
from ui.actions import supplier_section
from ui.text import plain as _plain

VALUES = rules.ANSWER_VALUES
# The uploader's filter only guides the file picker; the evidence service judges the content.
EVIDENCE_ENDINGS = sorted({end.lstrip(".") for _, ends in evidence.EVIDENCE_TYPES.values() for end in ends})
EVIDENCE_MB = evidence.MAX_EVIDENCE_BYTES // (1024 * 1024)
# The submit check's wording (services.collection.questionnaire.submission_problems), translated for the partner.
_COMMENT_PROBLEM = re.compile(r"^(\S+): a comment is required for '(\w+)'$")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# Shown for an unknown, expired or revoked link, before the partner's language is known: in every language.
INVALID_LINK = "  \n".join(texts.texts_in_every_language("supplier.invalid_link").values())
TOO_MANY_LINKS = "  \n".join(texts.texts_in_every_language("supplier.too_many_links").values())
# On a phone (Streamlit stacks columns below 640 px) the header takes a few lines, so the first question shows on
# the first screen: a smaller title and less empty space above it. Desktop keeps Streamlit's own sizes.
SMALL_SCREEN_CSS = """<style>
@media (max-width: 640px) {
  [data-testid="stMainBlockContainer"] { padding-top: 3.5rem; }
  .st-key-supplier_header h1 { font-size: 1.5rem; line-height: 1.25; padding: 0.25rem 0 0; }
}
</style>"""


def t(key: str, language: str, **values) -> str:
    """A text of this page in the partner's language (catalogue key "supplier.<key>", services.texts)."""
    return texts.text(f"supplier.{key}", language, **values)


def _word(value: object, language: str) -> str:
    """An answer (yes, partial, no, na) in the partner's words."""
    return texts.text(f"answer.{value}", language)


def _answer_words(language: str) -> dict[str, str]:
    return {value: _word(value, language) for value in VALUES}


def _category(number: object, language: str) -> str:
    return texts.text(f"category.{int(number)}", language)


def _blank(value: object) -> bool:
    return value is None or (not isinstance(value, str) and pd.isna(value)) or value == ""


def upload_limit_mb() -> int:
    """The evidence size limit the uploader checks in the browser: the evidence rule's, or the server's own upload
    limit (server.maxUploadSize) when that is lower. A file between the two would pass the browser's check and then
    be refused by the server with a bare "AxiosError 413" in the file's chip, which no page code can translate."""
    return max(1, min(EVIDENCE_MB, int(st.get_option("server.maxUploadSize"))))


def _day(value: date | datetime | None) -> str:
    return value.strftime("%Y-%m-%d") if value else ""


@st.cache_data(show_spinner=False, max_entries=1000)
def _questions(url: str, version: int, assignment_id: int, language: str) -> pd.DataFrame:
    # Cached per assignment, language and data version: reruns do not query the question texts again, and an
    # answer changed by another process (an import on the command line) shows on the next run.
    with state.session() as s:
        frame = questionnaire.questionnaire(session=s, assignment_id=assignment_id, language=language)
    return rules.with_prefill(frame)


@st.cache_data(show_spinner=False, max_entries=1000)
def _evidence_names(url: str, version: int, assignment_id: int) -> dict[str, list[str]]:
    with state.session() as s:
        files = evidence.list_evidence(session=s, assignment_id=assignment_id)
    if files.empty:
        return {}
    return files.groupby("criterion_id")["filename"].agg(list).to_dict()


def _client() -> str:
    peer = st.context.ip_address
    return guesses.client_address(peer=peer if isinstance(peer, str) else None,  # a test harness gives a stand-in
                                  forwarded_for=st.context.headers.get("X-Forwarded-For"))


def _resolve(token: str | None) -> dict | None:
    """The assignment behind the token (partner, cycle, status), or None when the link is not valid.

    A token is counted against the client's invalid attempts once per browser session; a client past the limit has
    no token looked up, a valid one included, until its window passes (services/collection/guesses.py)."""
    if not token:
        return None
    if st.session_state.get("supplier_token_valid") != token and guesses.LIMIT.blocked(_client()):
        st.session_state["supplier_link_blocked"] = True
        return None
    st.session_state.pop("supplier_link_blocked", None)
    with state.session() as s:
        actor = links.link_actor(session=s, token=token)
        if actor is None:
            if st.session_state.get("supplier_token_counted") != token:
                st.session_state["supplier_token_counted"] = token
                guesses.LIMIT.failed(_client())
            return None
        info = questionnaire.assignment_info(session=s, assignment_id=actor.assignment_id)
    st.session_state["supplier_token_valid"] = token
    info["language"] = texts.language_of(info["language"])
    info["actor"], info["who"] = actor, actor.username
    return info


def offline_file(token: str, language: str) -> Callable[[], bytes]:
    """What the download button calls on click: the questionnaire behind the token as .xlsx in `language`.

    The token is resolved again then, so the file is always the link's own assignment, and a link revoked or
    expired since the page was drawn gets nothing.
    """
    def build() -> bytes:
        with state.session() as s:
            assignment = links.resolve_token(session=s, token=token)
            if assignment is None:
                raise ValidationError(INVALID_LINK)
            return workbook.questionnaire_workbook(session=s, assignment_ids=[assignment.id], language=language)

    return build


def _offline(info: dict, token: str, language: str) -> None:
    st.caption(t("offline_help", language, sheet=workbook.ANSWERS_SHEET))
    # on_click="rerun": when the link was revoked after the page was drawn, the file is not built (Streamlit then
    # only says "Failed to generate file" in English, for a few seconds) and the rerun shows the plain message.
    st.download_button(t("offline", language), offline_file(token, language),
                       file_name=workbook.partner_file_name(partner_code=info["partner_code"],
                                                            title=info["partner_titles"][language]),
                       mime=XLSX, icon=":material/download:", on_click="rerun", key="supplier_xlsx")


def _mark_opened(info: dict) -> None:
    assignment_id = info["assignment_id"]
    if st.session_state.get("supplier_opened") == assignment_id:
        return
    state.write(lambda s: questionnaire.mark_opened(session=s, assignment_id=assignment_id, actor=info["actor"]))
    st.session_state["supplier_opened"] = assignment_id


def _flash(kind: str, message: str) -> None:
    st.session_state.setdefault("supplier_flash", []).append((kind, message))


def _show_flash() -> None:
    for kind, message in st.session_state.pop("supplier_flash", []):
        getattr(st, kind)(message)


def _answer_label(value: object, language: str) -> str:
    return texts.text("answer.not_answered", language) if _blank(value) else _word(value, language)


def _question_heading(row, language: str) -> None:
    badge = f":orange-badge[{texts.text('requirement.must', language)}]" if row.requirement == Requirement.must else \
        f":gray-badge[{texts.text('requirement.should', language)}]"
    st.markdown(f"**{row.criterion_id}** {badge}  \n{_plain(row.question)}")


def _question_editor(row, language: str, files: list[str], upload_round: int) -> tuple:
    """Widgets of one question inside the form; returns (value, comment, uploaded files)."""
    _question_heading(row, language)
    if not _blank(row.review_comment):
        st.warning(t("team_comment", language, comment=_plain(row.review_comment)), icon=":material/rate_review:")
    if row.carried:
        st.caption(t("to_confirm", language))
    elif not _blank(row.previous_value):
        previous = t("last_year", language, value=_word(row.previous_value, language))
        if not _blank(row.previous_comment):
            previous += f" · {_plain(row.previous_comment)}"
        st.caption(previous)
    # A new cycle starts from last cycle's accepted answer (rules.with_prefill): pre-filled, counted as answered,
    # confirmed by saving the section or submitting.
    current, comment = row.shown_value, row.shown_comment
    if f"q_{row.criterion_id}" not in st.session_state:  # the widget starts from this answer version
        st.session_state.setdefault("supplier_base", {})[row.criterion_id] = _answer_id(row.answer_id)
    value = st.radio(
        t("answer", language), VALUES, index=VALUES.index(current) if current in VALUES else None,
        format_func=lambda v: _word(v, language), horizontal=True, key=f"q_{row.criterion_id}",
        label_visibility="collapsed",
    )
    text = st.text_area(t("comment", language), value="" if _blank(comment) else str(comment),
                        help=t("comment_help", language, **_answer_words(language)), key=f"c_{row.criterion_id}",
                        height=68, max_chars=4000)
    if files:
        st.caption(t("attached", language, files=", ".join(_plain(f) for f in files)))
    limit = upload_limit_mb()
    uploads = st.file_uploader(t("evidence", language), type=EVIDENCE_ENDINGS, accept_multiple_files=True,
                               help=t("evidence_help", language, mb=limit), max_upload_size=limit,
                               key=f"e_{row.criterion_id}_{upload_round}")
    st.caption(t("upload_hint", language, mb=limit))  # Streamlit 1.67 cannot translate the uploader's own text
    st.divider()
    return value, text, uploads or []


def _read_only(frame: pd.DataFrame, language: str, files: dict[str, list[str]]) -> None:
    """The answers as submitted, folded away in one expander: the page stays short, so the confirmation above it
    is on the screen wherever the partner was on the page when submitting."""
    with st.expander(f"{t('read_only', language)} ({len(frame)})", icon=":material/checklist:"):
        for (number, _name), group in frame.groupby(["category_number", "category"], sort=False):
            st.markdown(f"**{number}. {_category(number, language)}**")
            for row in group.itertuples():
                _question_heading(row, language)
                line = f"{t('answer', language)}: **{_answer_label(row.value, language)}**"
                if not _blank(row.comment):
                    line += f"  \n{t('comment', language)}: {_plain(row.comment)}"
                attached = files.get(row.criterion_id)
                if attached:
                    line += "  \n" + t("attached", language, files=", ".join(_plain(f) for f in attached))
                st.markdown(line)
                st.divider()


def _answer_id(value: object) -> int | None:
    return None if value is None or pd.isna(value) else int(value)


def _forget_widgets(criteria) -> None:
    """The next run draws these questions afresh from the stored answers (and their versions)."""
    for cid in criteria:
        for key in (f"q_{cid}", f"c_{cid}"):
            st.session_state.pop(key, None)
        st.session_state.get("supplier_base", {}).pop(cid, None)


def _save(info: dict, token: str, entries: dict[str, tuple], language: str) -> int | None:
    """Store the section's answers, then its evidence files; the number of answers written, None when nothing was.

    The save is optimistic: answers changed elsewhere since the form was drawn are never overwritten; the partner
    is told and the page shows the newer ones.
    """
    answers = [{"criterion_id": cid, "value": value, "comment": (comment or "").strip()}
               for cid, (value, comment, _) in entries.items() if value is not None]
    base = st.session_state.get("supplier_base", {})
    expected = {cid: base[cid] for cid in entries if cid in base}
    saved: dict = {}
    stale: list[str] = []

    def save(s):
        actor = links.link_actor(session=s, token=token)
        if actor is None:
            return
        try:
            saved["count"] = questionnaire.save_answers(
                session=s, assignment_id=info["assignment_id"], answers=answers, source=AnswerSource.link,
                answered_by=info["who"], actor=actor, expected=expected)
        except questionnaire.StaleAnswers as exc:
            stale.extend(exc.criteria)
            raise

    def refused(message: str) -> None:
        if stale:
            _flash("error", t("stale", language, ids=", ".join(stale)))
            _forget_widgets(stale)
        else:
            _flash("error", message)

    if not state.write(save, on_error=refused) or "count" not in saved:
        return None
    for cid, (_, _, uploads) in entries.items():
        for upload in uploads:
            _attach(info, cid, upload, language)
    return saved["count"]


def _attach(info: dict, criterion_id: str, upload, language: str) -> None:
    """One evidence file in a transaction of its own: a rejected file does not undo the answers or other files."""
    name = _plain(upload.name)

    def add(s):
        try:
            evidence.add_evidence(session=s, assignment_id=info["assignment_id"], criterion_id=criterion_id,
                                  filename=upload.name, data=upload.getvalue(), uploaded_by=info["who"],
                                  actor=info["actor"])
        except evidence.EvidenceRefused as refused:  # said in the partner's language
            raise ValidationError(refused.message(language)) from refused

    def reject(reason: str) -> None:
        _flash("error", t("upload_rejected", language, file=name, criterion=criterion_id, reason=reason))

    if state.write(add, on_error=reject):
        _flash("success", t("uploaded", language, file=name))


def _submit(info: dict, language: str) -> list[str]:
    """Submit; the problems that stopped it, in the partner's language (empty when submitted)."""
    found: dict = {"problems": [], "missing": []}

    def submit(s):
        found["problems"] = questionnaire.submit(session=s, assignment_id=info["assignment_id"],
                                                 submitted_by=info["who"], actor=info["actor"])
        if found["problems"]:
            found["missing"] = questionnaire.missing_answers(session=s, assignment_id=info["assignment_id"])

    state.write(submit, on_error=lambda message: _flash("error", message))
    problems, missing = found["problems"], found["missing"]
    lines = [t("unanswered", language, ids=", ".join(missing))] if missing else []
    for problem in problems:
        if problem.split(":", 1)[0] in missing:
            continue
        comment = _COMMENT_PROBLEM.match(problem)
        lines.append(t("comment_required", language, criterion=comment[1], value=_word(comment[2], language))
                     if comment and comment[2] in VALUES else problem)
    return lines


def _sections(frame: pd.DataFrame, language: str) -> dict[int, str]:
    """Category number -> its label with progress, in questionnaire order."""
    labels = {}
    for (number, _name), group in frame.groupby(["category_number", "category"], sort=False):
        done = int((group["shown_value"] != "").sum())
        label = t("section_label", language, number=number, name=_category(number, language), done=done,
                  total=len(group))
        carried = int(group["carried"].sum())
        comments = int((group["review_comment"] != "").sum())
        label += f" · {t('confirm_count', language, count=carried)}" if carried else ""
        labels[int(number)] = label + (f" · {t('to_fix', language, count=comments)}" if comments else "")
    return labels


def _first_section(frame: pd.DataFrame) -> int:
    """Where to start: the first section with a team comment, else with an open question, else the first."""
    for column, empty in (("review_comment", False), ("shown_value", True)):
        hits = frame[(frame[column] == "") == empty]
        if not hits.empty:
            return int(hits["category_number"].iloc[0])
    return int(frame["category_number"].iloc[0])


def _editor(info: dict, token: str, frame: pd.DataFrame, language: str, files: dict[str, list[str]]) -> None:
    """One section at a time, in a form: typing does not rerun the page, and each run draws only ~15 questions."""
    labels = _sections(frame, language)
    numbers = list(labels)
    if "supplier_next_section" in st.session_state:
        st.session_state["supplier_section"] = st.session_state.pop("supplier_next_section")
    if st.session_state.get("supplier_section") not in numbers:
        st.session_state["supplier_section"] = _first_section(frame)
    number = st.selectbox(t("section", language), numbers, format_func=labels.get, key="supplier_section",
                          help=t("section_help", language))
    position = numbers.index(number)
    upload_round = st.session_state.setdefault("supplier_upload_round", 0)
    entries: dict[str, tuple] = {}
    with st.form(f"section_{number}", enter_to_submit=False):
        for row in frame[frame["category_number"] == number].itertuples():
            entries[row.criterion_id] = _question_editor(row, language, files.get(row.criterion_id, []),
                                                         upload_round)
        left, right = st.columns(2)
        saved = left.form_submit_button(t("save", language), key="save", icon=":material/save:", width="stretch")
        last = position == len(numbers) - 1
        advance = right.form_submit_button(t("save_next", language), key="save_next", disabled=last,
                                           icon=":material/arrow_forward:", width="stretch")
        submitted = st.form_submit_button(t("submit", language), key="submit", type="primary",
                                          icon=":material/send:", width="stretch", help=t("submit_help", language))
    if not (saved or advance or submitted):
        return
    # A link revoked meanwhile saves nothing; the rerun then shows the plain message.
    count = _save(info, token, entries, language)
    if count is not None:
        _forget_widgets(entries)  # redrawn from what was stored, with the new answer versions
        problems = _submit(info, language) if submitted else []
        if problems:
            _flash("error", t("problems", language) + "\n" + "\n".join(f"- {_plain(p)}" for p in problems))
        if not submitted or problems:
            _flash("success", t("saved", language, count=count))
        if advance:
            st.session_state["supplier_next_section"] = numbers[position + 1]
    st.session_state["supplier_upload_round"] = upload_round + 1
    state.invalidate()
    st.rerun()


def _header(info: dict, language: str) -> None:
    """Title for partners, partner and due date, language: a few lines, also on a phone."""
    st.html(SMALL_SCREEN_CSS)
    with st.container(key="supplier_header"):
        st.title(_plain(info["partner_titles"][language]), anchor=False)
        line, pick = st.columns([3, 2], vertical_alignment="center")
        line.markdown(t("for_partner", language, partner=_plain(info["legal_name"])) + " · "
                      + t("due", language, due=_day(info["due_date"])))
        pick.segmented_control(t("language", language), list(LANGUAGES), format_func=LANGUAGES.get,
                               default=language, required=True, key="supplier_language",
                               label_visibility="collapsed")


def _help(info: dict, token: str, language: str) -> None:
    with st.expander(t("help", language), icon=":material/help:"):
        st.caption(t("intro", language, **_answer_words(language)))
        _offline(info, token, language)


def render() -> None:
    token = st.session_state.get("supplier_token")
    info = _resolve(token)
    if info is None:
        st.info(TOO_MANY_LINKS if st.session_state.get("supplier_link_blocked") else INVALID_LINK)
        return
    _mark_opened(info)
    language = st.session_state.get("supplier_language") or info["language"]
    _header(info, language)

    version = state.data_version()
    frame = _questions(state.database_url(), version, info["assignment_id"], language)
    files = _evidence_names(state.database_url(), version, info["assignment_id"])
    status = info["status"]
    if not info["editable"]:  # submitted or accepted: a closed cycle or an exemption has no valid link
        # In place of the form, with the answers folded away below: on the screen after pressing Submit.
        _show_flash()
        st.success(t("accepted", language) if status == AssignmentStatus.accepted
                   else t("submitted", language, when=_day(info["submitted_at"])), icon=":material/task_alt:")
        _read_only(frame, language, files)
        supplier_section(info, token, language)
        return

    if status == AssignmentStatus.returned:
        to_fix = int((frame["review_comment"] != "").sum())
        st.warning(t("returned", language, count=to_fix), icon=":material/rate_review:")
    answered, carried = int((frame["shown_value"] != "").sum()), int(frame["carried"].sum())
    st.progress(answered / len(frame) if len(frame) else 0.0,
                text=t("progress", language, answered=answered, count=len(frame))
                + (f" · {t('carried', language, count=carried)}" if carried else ""))
    _help(info, token, language)
    _editor(info, token, frame, language, files)
    _show_flash()
    supplier_section(info, token, language)
