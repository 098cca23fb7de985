"""The action plan in the pages: the plan table, one item's panel (evidence, history, moves), the form to add an item
by hand, the progress charts, a partner's items (the partner detail's Actions tab) and the partner's own corrective
actions on the supplier page, in the partner's language. Reads are cached by data version; writes go through
ui.state.write; the rules are the services'.
"""

from datetime import date, timedelta

import altair as alt
import pandas as pd
import streamlit as st

from models.actions import ActionStatus
from models.common import Role
from models.threats import CATEGORY_LABELS, ThreatCategory
from services import texts
from services.actions import items, rules, states
from services.actions.items import Upload
from services.actions.states import Move
from services.collection import evidence as evidence_store
from services.collection import links
from services.core import users
from services.core.permissions import Actor, ValidationError
from services.reference import criteria
from ui import charts, labels, presentation, state
from ui.text import plain

FLASH = "actions_flash"
ROUND = "actions_round"  # bumped after each write, so table selections from before are dropped
SUPPLIER_FLASH = "supplier_actions_flash"
UNASSIGNED = "(unassigned)"
EVIDENCE_ENDINGS = sorted({end.lstrip(".") for _, ends in evidence_store.EVIDENCE_TYPES.values() for end in ends})
EVIDENCE_MB = evidence_store.MAX_EVIDENCE_BYTES // (1024 * 1024)
STATUS_COLORS = {ActionStatus.open: "blue", ActionStatus.in_progress: "orange", ActionStatus.awaiting: "violet",
                 ActionStatus.closed: "green", ActionStatus.reopened: "red"}
TABLE_COLUMNS = ["id", "status", "past_due", "priority", "title", "partner_code", "criterion_id", "lane_code", "source",
                 "owner", "due_date", "days_left", "evidence", "cause_gone_on"]
TABLE_LABELS = {
    "id": ("Id", "number"), "past_due": ("Overdue", "bool"), "priority": ("Priority", "number"),
    "title": ("What", "long"), "partner_code": ("Partner", "text"), "lane_code": ("Lane", "text"),
    "source": ("Source", "text"), "owner": ("Owner", "text"), "due_date": ("Due", "date"),
    "days_left": ("Days left", "number"), "evidence": ("Files", "count"), "cause_gone_on": ("Cause gone", "date"),
}


def version() -> int:
    return state.data_version()


@st.cache_data(show_spinner=False, max_entries=20)
def plan(url: str, data_version: int, today: date, partner_id: int | None = None) -> pd.DataFrame:
    """The plan (or one partner's items) in plan order."""
    with state.session() as s:
        return items.list_items(session=s, today=today, partner_id=partner_id)


@st.cache_data(show_spinner=False, max_entries=200)
def _detail(url: str, data_version: int, actor: Actor, action_id: int) -> dict:
    with state.session() as s:
        return items.get_item(session=s, actor=actor, action_id=action_id)


@st.cache_data(show_spinner=False, max_entries=10)
def owner_choices(url: str, data_version: int) -> dict[str, str]:
    """username -> "Name (username)" of the active staff who can own an item (admins and analysts)."""
    with state.session() as s:
        found = users.list_users(session=s)
    found = found[found["active"] & found["role"].isin([Role.admin, Role.analyst])]
    return {u: f"{n} ({u})" for u, n in zip(found["username"], found["name"], strict=True)}


@st.cache_data(show_spinner=False, max_entries=5)
def _criteria_ids(url: str) -> list[str]:
    with state.session() as s:
        return criteria.list_criteria(session=s)["criterion_id"].tolist()


def _evidence(actor: Actor, evidence_id: int) -> bytes:
    with state.session() as s:
        return items.read_evidence(session=s, actor=actor, evidence_id=evidence_id)[1]


def show_flash() -> None:
    if message := st.session_state.pop(FLASH, None):
        st.success(message, icon=":material/check_circle:")


def badge(status: str) -> str:
    return f":{STATUS_COLORS.get(status, 'gray')}-badge[{status}]"


def _written(action, message: str) -> None:
    if state.write(action, success=message, flash_key=FLASH):
        st.session_state[ROUND] = st.session_state.get(ROUND, 0) + 1
        st.rerun()


def plan_table(frame: pd.DataFrame, key: str, *, height: int | str = "auto") -> int | None:
    """The items as a table with single-row selection; the id of the row chosen (kept across reruns)."""
    focus = f"{key}_focus"
    event = labels.table(frame, TABLE_COLUMNS, overrides=TABLE_LABELS, key=f"{key}_{st.session_state.get(ROUND, 0)}",
                         on_select="rerun", selection_mode="single-row", height=height)
    if event.selection.rows:
        st.session_state[focus] = int(frame.iloc[event.selection.rows[0]]["id"])
    chosen = st.session_state.get(focus)
    return chosen if chosen is not None and chosen in set(frame["id"]) else None


def _where(item: dict) -> str:
    parts = []
    if item["partner_code"]:
        parts.append(f"**Partner:** {presentation.partner(plain(item['partner_code']), plain(item['partner_name']))}")
    if item["criterion_id"]:
        parts.append(f"**Criterion:** {item['criterion_id']}" + (f" (answered {item['answer_value']})"
                                                                   if item["answer_value"] else ""))
    if item["lane_code"]:
        parts.append(f"**Lane:** {plain(item['lane_code'])} · {plain(item['lane_name'])}")
    if item["incident"]:
        parts.append(f"**Incident {item['incident_id']}:** {plain(item['incident'])}")
    if item["threat_category"]:
        place = item["iso2"] + (f" / {item['region_code']}" if item["region_code"] else "")
        parts.append(f"**Threat:** {CATEGORY_LABELS.get(item['threat_category'], item['threat_category'])} in "
                     f"{place}")
    return "  \n".join(parts)


def item_panel(url: str, actor: Actor, action_id: int, prefix: str) -> None:
    """One item: what, why, where, who and when, its evidence (downloads), history and, for writers, its moves."""
    detail = _detail(url, version(), actor, action_id)
    item = detail["item"]
    today = date.today()
    with st.container(border=True):
        overdue = items.is_overdue(item["status"], item["due_date"], today)
        st.markdown(f"**#{item['id']} · {plain(item['title'])}**  \n{badge(item['status'])} "
                    + (":red-badge[overdue]" if overdue else "")
                    + f" Priority {item['priority']} · due {item['due_date']} · owner "
                    f"{plain(item['owner_name'] or UNASSIGNED)}"
                    + (" · shared with the partner" if item["shared_with_partner"] else ""))
        st.caption(f"{item['source']}: {plain(item['basis'])} · created {item['created_at']:%Y-%m-%d} by "
                   f"{plain(item['created_by'])}")
        if item["detail"]:
            st.markdown(plain(item["detail"]))
        if where := _where(item):
            st.markdown(where)
        if item["cause_gone_on"] and item["status"] != ActionStatus.closed:
            st.info(f"The cause was no longer found on {item['cause_gone_on']}: close the item with a note and the "
                    "evidence of the fix.", icon=":material/info:")
        if item["closing_note"]:
            st.markdown(f"**Closing note** ({plain(item['done_by'])}): {plain(item['closing_note'])}")
        if item["review_comment"]:
            st.markdown(f"**Team's comment when reopened:** {plain(item['review_comment'])}")
        files: pd.DataFrame = detail["evidence"]
        st.markdown(f"**Evidence** ({len(files)})")
        for f in files.itertuples():
            st.download_button(f"{f.filename} · {f.size_bytes:,} bytes · {f.uploaded_by} · {f.uploaded_at:%Y-%m-%d}",
                               data=lambda eid=int(f.id): _evidence(actor, eid), file_name=f.filename,
                               on_click="ignore", icon=":material/download:", key=f"{prefix}_file_{f.id}")
        with st.expander(f"History ({len(detail['history'])})", icon=":material/history:"):
            labels.table(detail["history"], overrides={"changed_at": ("When (UTC)", "time"), "changed_by": "By",
                                                       "from_status": "From", "to_status": "To",
                                                       "comment": ("Note or comment", "long")})
        if actor.can_write:
            _moves(url, actor, item, prefix)


def _files(uploads) -> list[Upload]:
    return [Upload(u.name, u.getvalue()) for u in uploads or []]


def _moves(url: str, actor: Actor, item: dict, prefix: str) -> None:
    action_id, status, expected = int(item["id"]), ActionStatus(item["status"]), int(item["version"])
    possible = {t.move for t in states.next_moves(status, states.Mover.staff)}
    if Move.start in possible and st.button("Start work", icon=":material/play_arrow:", key=f"{prefix}_start"):
        _written(lambda s: items.move(session=s, actor=actor, action_id=action_id, to=Move.start,
                                      expected_version=expected), f"Action {action_id} is in progress.")
    if Move.accept in possible:
        if st.button("Accept the closure", type="primary", icon=":material/task_alt:", key=f"{prefix}_accept"):
            _written(lambda s: items.move(session=s, actor=actor, action_id=action_id, to=Move.accept,
                                          expected_version=expected), f"Action {action_id} is closed.")
    if Move.close in possible:
        with st.expander("Close, or mark done for acceptance", icon=":material/done_all:"):
            with st.form(f"{prefix}_close_form"):
                note = st.text_area("Closing note: what was done (MSC 3.6)", max_chars=items.MAX_NOTE,
                                    key=f"{prefix}_note")
                uploads = st.file_uploader("Evidence", type=EVIDENCE_ENDINGS, accept_multiple_files=True,
                                           max_upload_size=EVIDENCE_MB, key=f"{prefix}_uploads")
                left, right = st.columns(2)
                close = left.form_submit_button("Close", type="primary", icon=":material/task_alt:")
                done = right.form_submit_button("Mark done (for acceptance)", icon=":material/outbox:")
            if close or done:
                to = Move.close if close else Move.done
                _written(lambda s: items.move(session=s, actor=actor, action_id=action_id, to=to, note=note,
                                              files=_files(uploads), expected_version=expected),
                         f"Action {action_id} is {states.transition(to).target}.")
    if Move.reopen in possible:
        with st.expander("Reopen", icon=":material/undo:"):
            with st.form(f"{prefix}_reopen_form"):
                comment = st.text_area("What is missing or came back (the partner reads this when the item is "
                                       "shared)", max_chars=items.MAX_COMMENT, key=f"{prefix}_comment")
                reopen = st.form_submit_button("Reopen", icon=":material/undo:")
            if reopen:
                _written(lambda s: items.move(session=s, actor=actor, action_id=action_id, to=Move.reopen,
                                              comment=comment, expected_version=expected),
                         f"Action {action_id} is reopened.")
    if status != ActionStatus.closed:
        _assign_form(url, actor, item, prefix)


def _assign_form(url: str, actor: Actor, item: dict, prefix: str) -> None:
    owners = owner_choices(url, version())
    choices = ["", *owners]
    with st.expander("Owner, due date, priority", icon=":material/edit_calendar:"):
        with st.form(f"{prefix}_assign_form"):
            c1, c2, c3 = st.columns(3)
            owner = c1.selectbox("Owner", choices, index=choices.index(item["owner"]) if item["owner"] in choices
                                 else 0, format_func=lambda u: owners.get(u, UNASSIGNED), key=f"{prefix}_owner")
            due = c2.date_input("Due", value=item["due_date"], key=f"{prefix}_due")
            priority = c3.selectbox("Priority", list(rules.PRIORITIES), index=list(rules.PRIORITIES).index(
                item["priority"]) if item["priority"] in rules.PRIORITIES else 1, format_func=rules.PRIORITIES.get,
                key=f"{prefix}_priority")
            shared = st.toggle("Shared with the partner (it sees the item through its personal link and can send "
                               "the closing evidence there)", value=bool(item["shared_with_partner"]),
                               disabled=not item["partner_id"], key=f"{prefix}_shared")
            save = st.form_submit_button("Save", icon=":material/save:")
        if save:
            values = {"owner": owner, "due_date": due, "priority": priority}
            if item["partner_id"]:
                values["shared_with_partner"] = shared
            _written(lambda s: items.update_item(session=s, actor=actor, action_id=int(item["id"]), values=values,
                                                 expected_version=int(item["version"])),
                     f"Saved action {item['id']}.")


def add_form(url: str, actor: Actor, prefix: str, *, partner_id: int | None = None,
             partners: dict[int, str] | None = None, lanes: dict[int, str] | None = None,
             countries: dict[str, str] | None = None, expanded: bool = False) -> None:
    """Add an item by hand (writers): for a partner (fixed, or chosen from `partners`), a lane, or as the mitigation
    of a threat in a country (rules.MITIGATION)."""
    owners = owner_choices(url, version())
    with st.expander("Add an action item by hand", icon=":material/add_task:", expanded=expanded):
        with st.form(f"{prefix}_add_form"):
            title = st.text_input("What is to be done", max_chars=items.MAX_TITLE, key=f"{prefix}_add_title")
            detail = st.text_area("Detail", max_chars=items.MAX_DETAIL, key=f"{prefix}_add_detail")
            values: dict = {"partner_id": partner_id}
            c1, c2, c3 = st.columns(3)
            if partner_id is None and partners is not None:
                values["partner_id"] = c1.selectbox("Partner", list(partners), index=None, format_func=partners.get,
                                                    key=f"{prefix}_add_partner", placeholder="None")
            criterion_ids = _criteria_ids(url)
            values["criterion_id"] = c2.selectbox("Criterion", criterion_ids, index=None,
                                                  key=f"{prefix}_add_criterion", placeholder="None")
            if lanes is not None:
                values["lane_id"] = c3.selectbox("Lane", list(lanes), index=None, format_func=lanes.get,
                                                 key=f"{prefix}_add_lane", placeholder="None")
            if countries is not None:
                t1, t2 = st.columns(2)
                values["iso2"] = t1.selectbox("Mitigates a threat in", list(countries), index=None,
                                              format_func=lambda c: f"{countries[c]} ({c})",
                                              key=f"{prefix}_add_country", placeholder="No country")
                values["threat_category"] = t2.selectbox(
                    "Threat category", [c.value for c in ThreatCategory], index=None, format_func=CATEGORY_LABELS.get,
                    key=f"{prefix}_add_category", placeholder="No threat")
            d1, d2, d3 = st.columns(3)
            values["owner"] = d1.selectbox("Owner", ["", *owners], format_func=lambda u: owners.get(u, UNASSIGNED),
                                           key=f"{prefix}_add_owner")
            values["due_date"] = d2.date_input("Due", value=date.today() + timedelta(days=30),
                                               key=f"{prefix}_add_due")
            values["priority"] = d3.selectbox("Priority", list(rules.PRIORITIES), index=1,
                                              format_func=rules.PRIORITIES.get, key=f"{prefix}_add_priority")
            values["shared_with_partner"] = st.toggle("Shared with the partner", key=f"{prefix}_add_shared")
            add = st.form_submit_button("Add action item", type="primary", icon=":material/add_task:")
        if add:
            values.update(title=title, detail=detail)
            _written(lambda s: items.add_item(session=s, actor=actor, values=values), f"Added: {title.strip()}")


def progress_charts(weekly: pd.DataFrame) -> tuple[alt.Chart, alt.Chart]:
    """Items opened and closed per week (bars side by side), and items open at the end of each week (a line)."""
    moves = weekly.melt(id_vars="week", value_vars=["new", "closed"], var_name="what", value_name="items")
    moves["week"] = pd.to_datetime(moves["week"])
    bars = alt.Chart(moves).mark_bar().encode(
        x=alt.X("yearmonthdate(week):O").title("Week of").axis(labelAngle=-45),
        xOffset=alt.XOffset("what:N").sort(["new", "closed"]),
        y=alt.Y("items:Q").axis(charts.count_axis("items")),
        color=alt.Color("what:N").scale(domain=["new", "closed"], range=["#d97706", "#15803d"]).title(None)
        .legend(orient="bottom"),
        tooltip=[alt.Tooltip("yearmonthdate(week):T", title="Week of"), alt.Tooltip("what:N"),
                 alt.Tooltip("items:Q")],
    ).properties(height=240)
    line_data = weekly.assign(week=pd.to_datetime(weekly["week"]))
    line = alt.Chart(line_data).mark_line(point=True).encode(
        x=alt.X("week:T").title("Week of"),
        y=alt.Y("open_at_end:Q").axis(charts.count_axis("open at the end of the week")),
        tooltip=[alt.Tooltip("week:T", title="Week of"), alt.Tooltip("open_at_end:Q", title="open")],
    ).properties(height=200)
    return bars, line


def actions_tab(url: str, actor: Actor, data: dict, countries: dict[str, str]) -> None:
    """The partner detail's Actions tab (the signature of pages.partners.detail.TABS): the partner's items, one
    item's panel, and for writers adding one by hand."""
    partner = data["partner"]
    partner_id = int(partner["id"])
    show_flash()
    today = date.today()
    frame = plan(url, version(), today, partner_id)
    found = items.counts(frame, today)
    st.caption(f"{found['open']} open · {found['past_due']} overdue · {found['awaiting']} awaiting acceptance · "
               f"{len(frame) - found['open']} closed. Generated items come from the partner's accepted answers, "
               "lane flags, incidents and threats (the Action plan page generates them).")
    if actor.can_write:
        add_form(url, actor, f"partner_actions_{partner_id}", partner_id=partner_id)
    if frame.empty:
        st.info("No action items for this partner.", icon=":material/task_alt:")
        return
    chosen = plan_table(frame, f"partner_actions_{partner_id}")
    if chosen is not None:
        item_panel(url, actor, chosen, f"partner_action_{chosen}")


@st.cache_data(show_spinner=False, max_entries=1000)
def _own_items(url: str, data_version: int, assignment_id: int, language: str, today: date) -> pd.DataFrame:
    with state.session() as s:
        actor = links.partner_actor(session=s, assignment_id=assignment_id)
        return items.partner_items(session=s, actor=actor, language=language, today=today)


def t(key: str, language: str, **values) -> str:
    return texts.text(f"actions.{key}", language, **values)


def _supplier_flash(kind: str, message: str) -> None:
    st.session_state.setdefault(SUPPLIER_FLASH, []).append((kind, message))


def supplier_section(info: dict, token: str, language: str) -> None:
    """The partner's own open corrective actions below its questionnaire (nothing when it has none): what to fix,
    by when, the team's comment, and a form to send the closing note and evidence for review."""
    today = date.today()
    frame = _own_items(state.database_url(), version(), info["assignment_id"], language, today)
    if frame.empty:
        return
    st.divider()
    st.subheader(f"{t('title', language)} · {t('count', language, count=len(frame))}")
    st.caption(t("intro", language))
    for kind, message in st.session_state.pop(SUPPLIER_FLASH, []):
        getattr(st, kind)(message)
    upload_round = st.session_state.setdefault("supplier_actions_round", 0)
    for row in frame.itertuples():
        with st.container(border=True, key=f"supplier_action_{row.id}"):
            _supplier_item(row, token, language, today, upload_round)


def _supplier_item(row, token: str, language: str, today: date, upload_round: int) -> None:
    status = ActionStatus(row.status)
    if row.criterion_id:
        answer = texts.text(f"answer.{row.answer_value}", language) if row.answer_value else ""
        st.markdown(f"**{t('gap', language, criterion=row.criterion_id, answer=answer)}**  \n"
                    + plain(row.question))
    else:
        st.markdown(f"**{plain(row.title)}**" + (f"  \n{plain(row.detail)}" if row.detail else ""))
    when = t("overdue", language, due=row.due_date) if row.past_due else t("due", language, due=row.due_date)
    st.markdown(f":{STATUS_COLORS[status]}-badge[{t(f'status.{status.name}', language)}] {when}")
    if status == ActionStatus.reopened and row.review_comment:
        st.warning(t("team_comment", language, comment=plain(row.review_comment)), icon=":material/rate_review:")
    if row.files:
        st.caption(t("files", language, files=", ".join(plain(f) for f in row.files)))
    if status == ActionStatus.awaiting:
        st.info(t("waiting", language), icon=":material/hourglass_top:")
        return
    with st.form(f"supplier_action_form_{row.id}", enter_to_submit=False):
        note = st.text_area(t("note", language), help=t("note_help", language), max_chars=items.MAX_NOTE,
                            key=f"supplier_action_note_{row.id}")
        uploads = st.file_uploader(t("evidence", language), type=EVIDENCE_ENDINGS, accept_multiple_files=True,
                                   help=t("evidence_help", language, mb=EVIDENCE_MB), max_upload_size=EVIDENCE_MB,
                                   key=f"supplier_action_files_{row.id}_{upload_round}")
        send = st.form_submit_button(t("send", language), type="primary", icon=":material/send:")
    if send:
        _send(row, token, language, note, uploads or [])


def _send(row, token: str, language: str, note: str, uploads: list) -> None:
    """Mark the item done with the note and files: checked here first so the partner reads why in its language."""
    problems = []
    if not note.strip():
        problems.append(t("need_note", language))
    if not uploads and (row.status == ActionStatus.reopened or not row.files):
        problems.append(t("need_new_evidence" if row.status == ActionStatus.reopened else "need_evidence", language))
    for upload in uploads:
        try:
            evidence_store.check_file(filename=upload.name, data=upload.getvalue())
        except ValidationError as exc:
            problems.append(t("rejected", language, file=plain(upload.name), reason=plain(exc)))
    if problems:
        for problem in problems:
            st.error(problem, icon=":material/error:")
        return

    def done(s):
        actor = links.link_actor(session=s, token=token)
        if actor is None:
            raise ValidationError(texts.text("supplier.invalid_link", language))
        items.move(session=s, actor=actor, action_id=int(row.id), to=Move.done, note=note, files=_files(uploads))

    if state.write(done, on_error=lambda message: _supplier_flash("error", message)):
        _supplier_flash("success", t("sent", language))
        st.session_state["supplier_actions_round"] = st.session_state.get("supplier_actions_round", 0) + 1
    st.rerun()
