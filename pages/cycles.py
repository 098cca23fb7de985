"""Cycles: open a collection cycle, follow the response funnel, hand out the partners' personal links."""

from collections.abc import Callable
from datetime import date, timedelta
from urllib.parse import urlparse

import altair as alt
import pandas as pd
import streamlit as st

from models import Cycle
from models.collection import AssignmentStatus, CycleStatus, DerivedStatus
from models.common import CRITICALITIES, ENTITY_TYPES, LANGUAGES, Applicability
from services import texts
from services.collection import cycles, links, states, titles
from services.core import config
from services.core.permissions import Actor
from services.exports import workbook
from services.exports.safe import csv_bytes
from services.reference import criteria
from services.reports import overview
from ui import auth, cached, charts, filters, labels, presentation, state
from ui.text import plain

S = AssignmentStatus
STATE_COLORS = {
    S.not_sent: "#cbd5e1", S.sent: "#93c5fd", S.opened: "#60a5fa", S.in_progress: "#2563eb",
    S.submitted: "#7c3aed", S.accepted: "#16a34a", S.returned: "#f59e0b", S.exempt: "#64748b",
    DerivedStatus.overdue: "#dc2626",
}
# States whose partner still needs a link to answer (a link replaces the previous one); overdue ones are editable.
NEEDS_LINK = (*sorted(states.EDITABLE), DerivedStatus.overdue)
DRILL_COLUMNS = ["partner_code", "legal_name", "country", "entity_type", "criticality", "language", "status",
                 "sent_at", "opened_at", "submitted_at", "reviewed_at"]
TOP_COUNTRIES = 20
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# One workbook for the partners shown stays quick to build (2,000 partners: a few seconds) and to open in Excel;
# beyond that, manage.py export-questionnaires writes one file per partner.
MAX_WORKBOOK_PARTNERS = 2_000
SHEET_ROWS = 1_048_575  # Excel's rows below the header
MAX_PICK = 500  # a selectbox of 10,000 options costs a third of a second on every rerun


@st.cache_data(show_spinner=False)
def _question_counts(url: str) -> dict[str, int]:
    """Entity type -> number of questions in its questionnaire (the rows it takes on the Answers sheet)."""
    with state.session() as s:
        rows = criteria.applicability(session=s)
    return rows[rows["applies"] == Applicability.yes].groupby("entity_type")["criterion_id"].nunique().to_dict()


@st.cache_data(show_spinner=False)
def _partner_countries(url: str) -> dict[str, str]:
    with state.session() as s:
        frame = overview.partners_by_country(session=s)
    return dict(zip(frame["iso2"], frame["country"], strict=True)) if not frame.empty else {}


@st.cache_data(show_spinner=False)
def _partner_titles(url: str, version: int, cycle_id: int) -> tuple[dict[str, str], dict[str, str]]:
    """(titles set by the team, titles partners see) of a cycle, by language."""
    with state.session() as s:
        cycle = s.get(Cycle, cycle_id)
        return dict(cycle.partner_titles or {}), titles.partner_titles(cycle)


def _title_inputs(stored: dict[str, str], due: date, prefix: str) -> dict[str, str]:
    """One text input per language for the cycle's title for partners; the neutral default shows greyed out."""
    example = Cycle(name="", due_date=due, created_by="")
    columns = st.columns(len(LANGUAGES))
    return {language: column.text_input(
        f"Title for partners ({name})", value=stored.get(language, ""), max_chars=titles.MAX_TITLE,
        placeholder=titles.default_title(example, language), key=f"{prefix}_{language}")
        for column, (language, name) in zip(columns, LANGUAGES.items(), strict=True)}


TITLE_HELP = ("Partners never see the cycle's name: the questionnaire page, the Excel file and its file name show "
              "this title in the partner's language. Left empty, a language gets the neutral title shown in grey.")


def _base_url() -> str:
    """Where partners reach the app: CTPAT_BASE_URL behind a proxy, else the address staff are using now."""
    configured = config.base_url()
    if configured:
        return configured
    parsed = urlparse(st.context.url or "")
    return f"{parsed.scheme}://{parsed.netloc}" if parsed.scheme and parsed.netloc else "http://localhost:8501"


def funnel_chart(frame: pd.DataFrame, *, by: str | None = None, top: int | None = None, legend: bool = True
                 ) -> alt.Chart:
    """Assignments per state as bars, stacked by state per `by` (country or entity_type) when given."""
    states = list(cycles.FUNNEL_STATES)
    group = [by, "status"] if by else ["status"]
    counts = frame.groupby(group).size().rename("partners").reset_index()
    counts["order"] = counts["status"].map({s: i for i, s in enumerate(states)})
    color = alt.Color("status:N").scale(domain=states, range=[STATE_COLORS[s] for s in states]).title("state")
    if not legend:
        color = color.legend(None)
    if by is None:
        encoding = {"y": alt.Y("status:N").sort(states).title(None), "x": alt.X("partners:Q").axis(
            charts.count_axis("partners"))}
        tooltip = [alt.Tooltip("status:N", title="state"), alt.Tooltip("partners:Q")]
    else:
        totals = counts.groupby(by)["partners"].sum().sort_values(ascending=False)
        if top:
            counts = counts[counts[by].isin(totals.index[:top])]
        encoding = {
            "y": alt.Y(f"{by}:N").sort(list(totals.index)).title(None).axis(labelLimit=220),
            "x": alt.X("sum(partners):Q").axis(charts.count_axis("partners")),
            "order": alt.Order("order:Q"),
        }
        tooltip = [alt.Tooltip(f"{by}:N", title=labels.label(by)), alt.Tooltip("status:N", title="state"),
                   alt.Tooltip("partners:Q")]
    return (alt.Chart(counts).mark_bar().encode(color=color, tooltip=tooltip, **encoding)
            .properties(height=alt.Step(20)))


def _write(action, success: str) -> bool:
    return state.write(action, success=success, flash_key="cycles_flash")


def _open_form(actor: Actor) -> None:
    countries = _partner_countries(state.database_url())
    with st.form("open_cycle", enter_to_submit=False):
        left, middle, right = st.columns([2, 1, 1])
        name = left.text_input("Name", placeholder=f"{date.today().year + 1} annual review", max_chars=120,
                               key="open_name")
        due = middle.date_input("Due date", value=date.today() + timedelta(days=60), min_value=date.today(),
                                key="open_due")
        language = right.selectbox("Default language", list(LANGUAGES), format_func=LANGUAGES.get, key="open_language",
                                   help="Used for partners whose own language is not English, Spanish or Chinese.")
        st.caption("Partners: every active partner, or only those matching the filters below (empty = all).")
        a, b, c = st.columns(3)
        entity_types = a.multiselect("Entity types", ENTITY_TYPES, key="open_types")
        chosen_countries = b.multiselect("Countries", list(countries), format_func=lambda c: countries.get(c, c),
                                         key="open_countries")
        criticalities = c.multiselect("Criticality", CRITICALITIES, key="open_criticalities")
        st.caption(TITLE_HELP)
        partner_titles = _title_inputs({}, date.today() + timedelta(days=60), "open_title")
        exempt = st.checkbox("Exempt partners with a valid, verified CTPAT or MRA certification", value=True,
                             help="CBP accepts that certification as evidence; you can override it per partner.",
                             key="open_exempt")
        submitted = st.form_submit_button("Open cycle", type="primary", icon=":material/play_arrow:", key="open_submit")
    if not submitted:
        return
    opened = {}

    def action(s):
        cycle = cycles.open_cycle(session=s, actor=actor, name=name, due_date=due, language=language,
                                  entity_types=entity_types or None, countries=chosen_countries or None,
                                  criticalities=criticalities or None, exempt_certified=exempt,
                                  partner_titles=partner_titles)
        opened["id"] = cycle.id

    if _write(action, f"Cycle {plain(name)} opened."):
        st.session_state["cycles_choice"] = opened["id"]
        st.rerun()


@st.cache_data(show_spinner=False, max_entries=20)
def _chart_specs(url: str, cycle_id: int, today: date) -> dict[str, dict]:
    """Vega-Lite specs of the three funnel charts, built once per data change (Altair's validation is slow)."""
    frame = cached.cycle_funnel(cycle_id, today)
    return {
        "overall": funnel_chart(frame).to_dict(),
        "country": funnel_chart(frame.fillna({"country": "?"}), by="country", top=TOP_COUNTRIES,
                                legend=False).to_dict(),
        "entity_type": funnel_chart(frame, by="entity_type", legend=False).to_dict(),
    }


def _charts(frame: pd.DataFrame, specs: dict[str, dict]) -> None:
    counts = frame["status"].value_counts()
    responded = int(counts.get(S.submitted, 0) + counts.get(S.accepted, 0))
    asked = len(frame) - int(counts.get(S.exempt, 0))
    cols = st.columns(5)
    cols[0].metric("Partners", f"{len(frame):,}")
    cols[1].metric("Submitted or accepted", f"{responded:,}", f"{responded / asked:.0%} of those asked" if asked
                   else None, delta_color="off", delta_arrow="off")
    cols[2].metric("Returned", f"{int(counts.get(S.returned, 0)):,}")
    cols[3].metric("Overdue", f"{int(counts.get(DerivedStatus.overdue, 0)):,}")
    cols[4].metric("Exempt", f"{int(counts.get(S.exempt, 0)):,}")
    st.vega_lite_chart(spec=specs["overall"], width="stretch")
    left, right = st.columns(2)
    with left:
        st.markdown(f"**By country** (top {TOP_COUNTRIES})" if frame["country"].nunique() > TOP_COUNTRIES
                    else "**By country**")
        st.vega_lite_chart(spec=specs["country"], width="stretch")
    with right:
        st.markdown("**By entity type**")
        st.vega_lite_chart(spec=specs["entity_type"], width="stretch")


def drill_down(frame: pd.DataFrame, *, states=(), countries=(), entity_types=(), text: str = "") -> pd.DataFrame:
    """The assignments matching the chosen states, countries, entity types and text (empty choice = all)."""
    mask = pd.Series(True, index=frame.index)
    for column, chosen in (("status", states), ("country", countries), ("entity_type", entity_types)):
        if chosen:
            mask &= frame[column].isin(list(chosen))
    if text.strip():
        needle = text.strip().lower()
        mask &= (frame["partner_code"].str.lower().str.contains(needle, regex=False)
                 | frame["legal_name"].str.lower().str.contains(needle, regex=False))
    return frame[mask]


def _filters(frame: pd.DataFrame) -> pd.DataFrame:
    a, b, c, d = st.columns(4)
    present = set(frame["status"])
    states = [s for s in cycles.FUNNEL_STATES if s in present]
    filters.initial("cycles_states", "state", states, many=True)  # the dashboard's "not yet assessed"
    chosen_states = a.multiselect("State", states, key="cycles_states")
    chosen_countries = b.multiselect("Country", sorted(frame["country"].dropna().unique()), key="cycles_countries")
    chosen_types = c.multiselect("Entity type", sorted(frame["entity_type"].unique()), key="cycles_types")
    text = d.text_input("Code or name contains", key="cycles_text")
    shown = drill_down(frame, states=chosen_states, countries=chosen_countries, entity_types=chosen_types, text=text)
    labels.table(shown, DRILL_COLUMNS, height=320)
    st.caption(f"{len(shown):,} of {len(frame):,} partners shown.")
    return shown


def links_csv(shown: pd.DataFrame, tokens: dict[int, str], base_url: str) -> bytes:
    """The new links as CSV for a mail merge: partner_code, partner, contact, email, language, url (UTF-8 BOM)."""
    rows = shown[shown["assignment_id"].isin(list(tokens))]
    out = pd.DataFrame({
        "partner_code": rows["partner_code"], "partner": rows["legal_name"], "contact": rows["contact_name"],
        "email": rows["contact_email"], "language": rows["language"],
        "url": [links.link_url(base_url=base_url, token=tokens[a]) for a in rows["assignment_id"]],
    })
    return csv_bytes(out)


def questionnaire_file(assignment_ids: list[int]) -> Callable[[], bytes]:
    """What a download button calls on click: the .xlsx of these assignments, each in its partner's language.

    Built only then (not on every rerun), outside the script run, so it opens its own session.
    """
    def build() -> bytes:
        with state.session() as s:
            return workbook.questionnaire_workbook(session=s, assignment_ids=assignment_ids)

    return build


def workbook_limit(shown: pd.DataFrame, question_counts: dict[str, int]) -> str | None:
    """Why the questionnaires shown do not go into one workbook (too many partners or rows), else None."""
    asked = shown[shown["status"] != S.exempt]
    rows = int(asked["entity_type"].map(question_counts).fillna(0).sum())
    if len(asked) > MAX_WORKBOOK_PARTNERS:
        return f"{len(asked):,} partners are more than one workbook holds ({MAX_WORKBOOK_PARTNERS:,})."
    if rows > SHEET_ROWS:
        return f"{rows:,} questions are more than one Excel sheet holds ({SHEET_ROWS:,} rows)."
    return None


def _shown_workbook(shown: pd.DataFrame, cycle_name: str) -> None:
    """The questionnaires of the partners shown, as one workbook (every role: it changes nothing)."""
    asked = shown[shown["status"] != S.exempt]
    problem = workbook_limit(shown, _question_counts(state.database_url()))
    if problem:
        st.info(f"{problem} Narrow the filters, or write one file per partner with:", icon=":material/table_view:")
        st.code(f'manage.py export-questionnaires --cycle "{cycle_name}" --out DIR', language="bash")
        return
    build = questionnaire_file(asked["assignment_id"].astype(int).tolist())
    label = f"Download {len(asked):,} questionnaire{'' if len(asked) == 1 else 's'} (.xlsx)"
    st.download_button(
        label, build, file_name=f"questionnaires {cycle_name}.xlsx", mime=XLSX, icon=":material/table_view:",
        on_click="ignore", disabled=asked.empty, key="cycles_xlsx_shown",
        help="One workbook, one row per partner and question, answers pre-filled (exempt partners left out). "
             "Filled in, it goes back in on the Imports page.")


def _forget(key: str) -> None:
    st.session_state.pop(key, None)


def _bulk_links(actor: Actor, shown: pd.DataFrame, cycle_name: str) -> None:
    replace = st.checkbox("Also replace links already sent (their old links stop working)", key="cycles_replace")
    wanted = NEEDS_LINK if replace else (S.not_sent,)
    targets = shown[shown["status"].isin(wanted)]
    ids = tuple(int(i) for i in targets["assignment_id"])
    left, right = st.columns(2)
    if left.button(f"Issue links for {len(targets):,} partners", icon=":material/link:", disabled=targets.empty,
                   key="cycles_issue_all"):
        st.session_state["cycles_issue_all_pending"] = ids
    not_sent = int((shown["status"] == S.not_sent).sum())
    if right.button(f"Mark {not_sent:,} as sent", icon=":material/outgoing_mail:",
                    key="cycles_mark_all", disabled=not not_sent,
                    help="After sending the invitations yourself, e.g. with the Excel questionnaires."):
        marked = shown["assignment_id"].tolist()
        if _write(lambda s: cycles.mark_sent(session=s, actor=actor, assignment_ids=marked), "Marked as sent."):
            st.rerun()
    pending = st.session_state.get("cycles_issue_all_pending")
    if pending is not None and pending != ids:  # the filters or states changed since the click: ask again
        st.session_state.pop("cycles_issue_all_pending")
        pending = None
    if pending:
        _confirm_bulk_links(actor, shown, targets, cycle_name)
    ready = st.session_state.pop("cycles_links_csv", None)
    if ready:
        st.success(ready[2], icon=":material/link:")
        st.download_button("Download the links (CSV)", ready[1], file_name=ready[0], mime="text/csv",
                           icon=":material/download:", on_click="ignore", type="primary", key="cycles_links_download")


def _confirm_bulk_links(actor: Actor, shown: pd.DataFrame, targets: pd.DataFrame, cycle_name: str) -> None:
    """Right under the button: how many links, and how many working links they replace; issued only on "Yes"."""
    count = len(targets)
    replaced = int((targets["status"] != S.not_sent).sum())
    with st.container(border=True, key="cycles_issue_all_confirmation"):
        st.markdown(f"**Issue new links for {count:,} partner{'' if count == 1 else 's'}?**")
        st.caption("Each partner gets a new personal link; you download them once, as a CSV for your mail merge."
                   + (f" {replaced:,} of them were sent a link before: that link stops working." if replaced
                      else ""))
        yes, no = st.columns(2)
        confirmed = yes.button(f"Yes, issue {count:,} link{'' if count == 1 else 's'}", type="primary",
                               icon=":material/link:", key="cycles_issue_all_yes")
        no.button("Cancel", key="cycles_issue_all_cancel", on_click=_forget, args=("cycles_issue_all_pending",))
    if not confirmed:
        return
    st.session_state.pop("cycles_issue_all_pending", None)
    base_url = _base_url()
    issued: dict[int, str] = {}
    ids = targets["assignment_id"].tolist()

    def action(s):
        issued.update(links.issue_links(session=s, actor=actor, assignment_ids=ids))

    if state.write(action, flash_key="cycles_flash"):
        st.session_state["cycles_links_csv"] = (
            f"links {cycle_name}.csv", links_csv(shown, issued, base_url),
            f"{len(issued):,} links issued. Download them now: they are not stored anywhere.")
        st.rerun()


def _choose(shown: pd.DataFrame, partner_titles: dict[str, str]) -> pd.Series | None:
    """The partner picker and its questionnaire download; the chosen assignment's row."""
    if shown.empty:
        st.caption("No partner shown.")
        return None
    if len(shown) > MAX_PICK:
        st.caption(f"{len(shown):,} partners shown: the picker lists the first {MAX_PICK:,}; narrow the filters or "
                   "search to reach the others.")
    options = shown.head(MAX_PICK)
    labels = dict(zip(options["assignment_id"].astype(int),
                      presentation.partner(options["partner_code"], options["legal_name"]) + " · " + options["status"],
                      strict=True))
    assignment_id = st.selectbox("Partner", list(labels), format_func=labels.get, key="cycles_assignment")
    row = shown[shown["assignment_id"] == assignment_id].iloc[0]
    # Sent to the partner, so named as the partner reads it: code and title in its language.
    title = partner_titles[texts.language_of(row.language)]
    st.download_button(
        "Download questionnaire (.xlsx)", questionnaire_file([int(assignment_id)]),
        file_name=workbook.partner_file_name(partner_code=row.partner_code, title=title), mime=XLSX,
        icon=":material/table_view:", on_click="ignore", disabled=row.status == S.exempt, key="cycles_xlsx_one",
        help="In the partner's language, answers pre-filled; for a partner who answers in Excel.")
    return row


def _one_assignment(actor: Actor, row: pd.Series) -> None:
    assignment_id = int(row.assignment_id)
    link = st.session_state.get("cycles_link")
    if link and link[0] != assignment_id:  # shown for the partner it was issued for, while that one is chosen
        st.session_state.pop("cycles_link")
    a, b, c = st.columns(3)
    if a.button("Issue link", icon=":material/link:", key="cycles_issue", disabled=row.status == S.exempt,
                help="A new link replaces the partner's previous one."):
        base_url = _base_url()
        issued = {}

        def action(s):
            token = links.issue_link(session=s, actor=actor, assignment_id=assignment_id)
            issued["url"] = links.link_url(base_url=base_url, token=token)
            issued["until"] = links.resolve_token(session=s, token=token).token_expires_at

        if state.write(action, flash_key="cycles_flash"):
            st.session_state["cycles_link"] = (assignment_id, row.partner_code, issued["url"], issued["until"])
            st.rerun()
    with state.session() as s:  # not cached: a link issued or revoked elsewhere shows at once
        linked = links.has_working_link(session=s, assignment_id=assignment_id)
    if b.button("Revoke link", icon=":material/link_off:", key="cycles_revoke", disabled=not linked,
                help=None if linked else "This partner has no working link."):
        if _write(lambda s: links.revoke_link(session=s, actor=actor, assignment_id=assignment_id),
                  f"The link of {plain(row.partner_code)} no longer works."):
            st.session_state.pop("cycles_link", None)
            st.rerun()
    if c.button("Mark sent", icon=":material/outgoing_mail:", key="cycles_mark", disabled=row.status != S.not_sent):
        if _write(lambda s: cycles.mark_sent(session=s, actor=actor, assignment_ids=[assignment_id]),
                  f"{plain(row.partner_code)} marked as sent."):
            st.rerun()
    if st.session_state.get("cycles_link") and linked:
        _new_link(*st.session_state["cycles_link"][1:])
    with st.form("cycles_exempt", enter_to_submit=False, border=False):
        if row.status == S.exempt:
            reason = ""
            label = "Remove the exemption"
        else:
            reason = st.text_input("Reason for the exemption", max_chars=300,
                                   placeholder="e.g. AEO certificate checked on the EU database")
            label = "Exempt this partner"
        if st.form_submit_button(label, icon=":material/verified:"):
            exempt = row.status != S.exempt
            if _write(lambda s: cycles.set_exempt(session=s, actor=actor, assignment_id=assignment_id,
                                                  exempt=exempt, reason=reason),
                      f"{plain(row.partner_code)}: exemption {'set' if exempt else 'removed'}."):
                st.rerun()


def _titles_panel(actor: Actor, cycle: pd.Series) -> None:
    """What partners read as this cycle's title, per language; writers change it here."""
    cycle_id = int(cycle["id"])
    stored, shown = _partner_titles(state.database_url(), state.data_version(), cycle_id)
    panel = st.expander(f"Title for partners: {plain(shown['en'])}", icon=":material/title:",
                        key=f"cycles_titles_open_{cycle_id}", on_change="rerun")
    if not panel.open:  # drawn only when opened: a collapsed form still costs the browser its elements
        return
    with panel:
        if not actor.can_write:
            for language, name in LANGUAGES.items():
                default = "" if language in stored else " (neutral default)"
                st.markdown(f"{name}: {plain(shown[language])}{default}")
            return
        with st.form(f"cycles_titles_{cycle_id}", enter_to_submit=False, border=False):
            st.caption(TITLE_HELP)
            values = _title_inputs(stored, cycle["due_date"], f"cycles_title_{cycle_id}")
            saved = st.form_submit_button("Save titles", icon=":material/save:", key="cycles_titles_save")
        if saved and _write(lambda s: titles.set_partner_titles(session=s, actor=actor, cycle_id=cycle_id,
                                                               titles=values),
                            f"Titles for partners of {plain(cycle['name'])} saved."):
            st.rerun()


def _copy_blocked() -> bool:
    """True when this page is on plain HTTP at an address other than this computer: browsers then keep the clipboard
    from pages, so the code block's copy button does nothing."""
    parsed = urlparse(st.context.url or "")
    return parsed.scheme == "http" and parsed.hostname not in ("localhost", "127.0.0.1", "::1")


def _new_link(partner_code: str, url: str, until) -> None:
    """The link just issued, right under the button that made it, with a copy button; only its hash is stored."""
    with st.container(border=True, key="cycles_new_link"):
        st.markdown(f":material/link: **Personal link of {plain(partner_code)}**")
        st.code(url, language=None, wrap_lines=True)
        st.caption(("Select the link and copy it (Ctrl+C): on this plain-HTTP address the browser blocks the copy "
                    "button. " if _copy_blocked() else "Copy it with the button at the right of the link. ")
                   + f"It works until {until:%Y-%m-%d}. Shown only here: only its hash is stored, so once hidden "
                   "it cannot be shown again (issue a new one).")
        st.button("Hide the link", icon=":material/visibility_off:", type="tertiary", key="cycles_link_hide",
                  on_click=_forget, args=("cycles_link",))


def _close(actor: Actor, cycle: pd.Series) -> None:
    with st.expander("Close this cycle", icon=":material/lock:"):
        st.caption("Closing stops every link of the cycle; answers and reviews stay.")
        sure = st.checkbox(f"Yes, close {plain(cycle['name'])}", key="cycles_close_sure")
        if st.button("Close cycle", disabled=not sure, key="cycles_close"):
            if _write(lambda s: cycles.close_cycle(session=s, actor=actor, cycle_id=int(cycle["id"])),
                      f"Cycle {plain(cycle['name'])} closed."):
                st.rerun()


def render() -> None:
    actor = auth.require_role()
    if actor is None:
        return
    st.title("Cycles")
    flash = st.session_state.pop("cycles_flash", None)
    if flash:
        st.success(flash)

    today = date.today()
    all_cycles = cached.cycle_list(today)
    if actor.can_write:
        # Drawn only when opened (a rerun on opening): its dozen fields cost the browser time on every page switch.
        opener = st.expander("Open a cycle", expanded=all_cycles.empty, icon=":material/add_circle:",
                             key="cycles_open", on_change="rerun")
        if opener.open:
            with opener:
                _open_form(actor)
    if all_cycles.empty:
        st.info("No cycle yet." + (" Open one above." if actor.can_write else ""))
        return
    labels.table(all_cycles, ["name", "due_date", "status", "partners", *cycles.FUNNEL_STATES],
                 overrides={name: (name.capitalize(), "count") for name in cycles.FUNNEL_STATES})

    ids = all_cycles["id"].astype(int).tolist()
    if st.session_state.get("cycles_choice") not in ids:
        st.session_state["cycles_choice"] = ids[0]
    names = dict(zip(ids, all_cycles["name"], strict=True))
    filters.initial("cycles_choice", "cycle", ids)
    cycle_id = st.selectbox("Cycle", ids, format_func=names.get, key="cycles_choice")
    cycle = all_cycles[all_cycles["id"] == cycle_id].iloc[0]
    st.caption(f"Due {cycle['due_date']} · {cycle['status']} · opened by {plain(cycle['created_by'])}")
    _titles_panel(actor, cycle)
    frame = cached.cycle_funnel(cycle_id, today)
    if frame.empty:
        st.info("This cycle has no partners.")
        return
    _charts(frame, _chart_specs(state.database_url(), cycle_id, today))

    _partners_panel(actor, frame, cycle)


@st.fragment
def _partners_panel(actor: Actor, frame: pd.DataFrame, cycle: pd.Series) -> None:
    """Drill-down and actions; a fragment, so filtering does not redraw the charts (writes rerun the whole page).

    A fragment rerun gets the arguments of the page's last full run: the controls are those of the role the page
    was drawn for, but each write is done as the user is now, so a role lowered meanwhile is refused (with a
    message) instead of writing under the old role.
    """
    now = auth.current_user()
    if now is None:
        return
    st.subheader("Partners")
    shown = _filters(frame)
    cycle_name = str(cycle["name"])
    writable = actor.can_write and cycle["status"] == CycleStatus.open
    left, right = st.columns(2)
    with left:
        st.markdown("**The partners shown**")
        _shown_workbook(shown, cycle_name)
        if writable:
            _bulk_links(now, shown, cycle_name)
    with right:
        st.markdown("**One partner**")
        _, partner_titles = _partner_titles(state.database_url(), state.data_version(), int(cycle["id"]))
        row = _choose(shown, partner_titles)
        if writable and row is not None:
            _one_assignment(now, row)
    if writable:
        _close(now, cycle)
