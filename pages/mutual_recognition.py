"""Mutual recognition: CBP's arrangements, which of our partners a CTPAT or mutually recognized certificate covers,
and the certificates to act on (MSC 3.4: screen partners' status and keep monitoring it)."""

from datetime import date

import pandas as pd
import streamlit as st

from models.common import Role
from services.certificates import coverage, monitor, rule
from services.certificates import settings as rule_settings
from services.core.permissions import Actor
from services.partners import registry as partners
from services.reference import mra
from services.reference.loader import MRA_CAVEAT, MRA_TYPES_CAVEAT
from ui import auth, charts, filters, presentation, state
from ui.certificates import certificates_section, import_panel

FLASH = "mr_flash"
FIRST_DAY = date(2001, 1, 1)  # before the first arrangement (New Zealand, 2007)
TABS = ("Arrangements", "Coverage", "Watch list", "Partner certificates", "Import certificates", "Settings")
STATE_COLORS = {mra.IN_FORCE: "#2563eb", mra.UNCONFIRMED: "#f59e0b", mra.NOT_IN_FORCE: "#9ca3af"}
BASIS_COLORS = {rule.Recognition.ctpat.value: "#1d4ed8", rule.Recognition.mutual.value: "#60a5fa",
                coverage.NOT_COVERED: "#d1d5db"}
MAP_NOTE = ("Map: Natural Earth 1:110m via world-atlas (seed/world/NOTICE.md); states too small for this scale (e.g. "
            "Singapore) are not drawn; borders are indicative.")
WATCH_LABELS = {"partner_code": "Partner", "legal_name": "Name", "program": "Program", "certificate_type": "Type",
                "certificate_number": "Number", "issuing_country": "Issued in", "status": "Status",
                "valid_to": "Valid to", "days_left": "Days left", "last_verified": "Last verified",
                "recheck_by": "Re-check by", "why": "Why it does not count"}


@st.cache_data(show_spinner=False)
def _registry(url: str, today: date) -> dict:
    with state.session() as s:
        programs = mra.list_programs(session=s)
        results = rule.counts_on(session=s, day=today, active_only=True)
        countries = mra.arrangement_countries(session=s, day=today)
        checked = mra.last_checked(session=s)
        settings = rule_settings.current(session=s)
    use = coverage.arrangement_use(results)
    programs = programs.merge(use, left_on="id", right_on="arrangement_id", how="left").drop(columns="arrangement_id")
    programs[["certificates", "counting"]] = programs[["certificates", "counting"]].fillna(0).astype(int)
    return {
        "programs": programs, "checked": checked, "settings": settings,
        "map_spec": charts.world_categories(countries, category="state", title="arrangement", colors=STATE_COLORS,
                                            tooltip=["arrangement", "program", "signed"]).to_dict(),
    }


@st.cache_data(show_spinner=False)
def _coverage(url: str, today: date) -> dict:
    with state.session() as s:
        results = rule.counts_on(session=s, day=today, active_only=True)
        table = coverage.partner_table(session=s, day=today, results=results)
        lists = coverage.watch_lists(session=s, day=today, results=results)
        recheck = rule_settings.current(session=s).recheck_days
    countries, types = coverage.by_group(table, "country"), coverage.by_group(table, "entity_type")
    specs = {}
    if not table.empty:
        shares = countries.assign(**{"covered %": (countries["share_covered"] * 100).round(1)})
        specs["map"] = charts.world_choropleth(shares, value="covered %", title="% of partners covered").to_dict()
        for name, frame, by in (("countries", countries.head(20), "country"), ("types", types, "entity_type")):
            specs[name] = charts.stacked_bar(
                _long(frame, by), category=by, part="basis", value="partners", colors=BASIS_COLORS,
                title="active partners",
                tooltip=["share covered:N", "import covered:N"]).to_dict()
    return {"summary": coverage.summary(table), "countries": countries, "types": types, "lists": lists,
            "recheck": recheck, "specs": specs}


@st.cache_data(show_spinner=False)
def _partner_options(url: str) -> dict[int, str]:
    with state.session() as s:
        return partners.partner_options(session=s)


def _day(value) -> date | None:
    return None if value is None or pd.isna(value) else pd.Timestamp(value).date()


def _percent(value) -> str:
    return "Unknown" if value is None or pd.isna(value) else f"{value:.0%}"


def _long(frame: pd.DataFrame, by: str) -> pd.DataFrame:
    """Coverage per group as one row per group and basis, with the shares as text for the tooltips."""
    parts = {rule.Recognition.ctpat.value: "by_ctpat", rule.Recognition.mutual.value: "by_mutual_recognition",
             coverage.NOT_COVERED: "not_covered"}
    return pd.concat([pd.DataFrame({
        by: frame[by], "basis": basis, "partners": frame[column],
        "share covered": frame["share_covered"].map(_percent),
        "import covered": [f"{_percent(v)} of the known import share" + (f"; unknown for {u}" if u else "")
                           for v, u in zip(frame["share_of_import_covered"], frame["import_unknown"], strict=True)],
    }) for basis, column in parts.items()], ignore_index=True)


def _flash() -> None:
    if message := st.session_state.pop(FLASH, None):
        st.success(message, icon=":material/check_circle:")


def _write(action, message: str) -> None:
    if state.write(action, success=message, flash_key=FLASH):
        st.rerun()


def _arrangements_tab(url: str, actor: Actor, today: date) -> None:
    data = _registry(url, today)
    programs: pd.DataFrame = data["programs"]
    checked = data["checked"]
    cols = st.columns(4)
    cols[0].metric("Arrangements", len(programs))
    cols[1].metric("Confirmed", f"{int(programs['confirmed'].sum())} of {len(programs)}")
    cols[2].metric("List last checked against CBP's", checked.isoformat() if checked else "Unknown",
                   help="When an admin last compared this registry with cbp.gov's CTPAT Mutual Recognition page.")
    cols[3].metric("Re-check interval", f"{data['settings'].recheck_days} days")
    st.warning(MRA_CAVEAT, icon=":material/info:")
    st.info(MRA_TYPES_CAVEAT, icon=":material/rule:")
    if checked is None:
        st.warning("Nobody has recorded checking this list against CBP's published list: newer arrangements may be "
                   "missing.", icon=":material/event_busy:")
    st.vega_lite_chart(spec=data["map_spec"], width="stretch")
    st.caption(f"The EU arrangement is shown as its member states. {MAP_NOTE}")
    shown = programs.assign(
        confirmed=[("Confirmed" + (f" ({by}, {on})" if by else "")) if ok else "Not confirmed"
                   for ok, by, on in zip(programs["confirmed"], programs["confirmed_by"], programs["confirmed_on"],
                                         strict=True)],
        certificate_types=programs["certificate_types"].replace("", "– none recorded –"),
        types_counted=[c or ("every certificate of the program" if not t else "none")
                       for c, t in zip(programs["types_counted"], programs["certificate_types"], strict=True)])
    st.dataframe(presentation.masked(shown), hide_index=True, width="stretch", column_order=[
        "partner_country", "customs_administration", "program_name", "acronym", "codes", "certificate_types",
        "types_counted", "signed", "in_force_from", "in_force_until", "confirmed", "caveat", "types_note",
        "certificates", "counting", "source", "checked_on"], column_config={
        "partner_country": "Partner", "customs_administration": "Customs administration", "program_name": "Program",
        "acronym": "Acronym", "codes": "Codes on certificates", "certificate_types": "Types issued",
        "types_counted": "Types that count", "signed": "Signed", "in_force_from": st.column_config.DateColumn(
            "In force from"), "in_force_until": st.column_config.DateColumn("Ended"), "confirmed": "Confirmed",
        "caveat": "Caveat", "types_note": "Basis of the types", "certificates": "Our certificates",
        "counting": "Counting today", "source": "Source", "checked_on": st.column_config.DateColumn("Checked")})
    if actor.is_admin:
        _admin_forms(actor, programs)


def _admin_forms(actor: Actor, programs: pd.DataFrame) -> None:
    unconfirmed = programs[~programs["confirmed"].astype(bool)]
    if not unconfirmed.empty:
        with st.expander("Confirm an arrangement", icon=":material/verified:"):
            st.caption("An unconfirmed arrangement counts for nobody. Confirm it once you have checked it against "
                       "CBP's published list or the arrangement's text.")
            with st.form("mr_confirm"):
                labels = {int(r.id): f"{r.partner_country} ({r.acronym}, {r.signed})" for r in unconfirmed.itertuples()}
                pick = st.selectbox("Arrangement", list(labels), format_func=labels.get, index=None)
                note = st.text_input("Checked against", placeholder="e.g. cbp.gov CTPAT Mutual Recognition page")
                submitted = st.form_submit_button("Confirm", type="primary", icon=":material/verified:")
            if submitted:
                _write(lambda s: mra.confirm_program(session=s, actor=actor, program_id=pick or 0, note=note),
                       f"Confirmed the {labels.get(pick, '')} arrangement.")
    with st.expander("Record a check of the list against CBP's", icon=":material/event_available:"):
        with st.form("mr_checked"):
            day = st.date_input("Checked on", value=date.today(), max_value=date.today())
            note = st.text_input("Note", placeholder="e.g. no new arrangement since April 2023")
            submitted = st.form_submit_button("Record the check", icon=":material/event_available:")
        if submitted:
            _write(lambda s: mra.mark_checked(session=s, actor=actor, checked_on=day, note=note),
                   f"Recorded the check of the list on {day}.")
    with st.expander("Add or correct an arrangement", icon=":material/edit:"):
        labels = {int(r.id): f"{r.partner_country} · {r.acronym} ({r.signed})" for r in programs.itertuples()}
        pick = st.selectbox("Arrangement", [None, *labels], key="mr_pick",
                            format_func=lambda i: "New arrangement" if i is None else labels[i])
        p = programs[programs["id"] == pick].iloc[0].to_dict() if pick is not None else {}
        with st.form(f"mr_edit_{pick or 'new'}"):
            c1, c2, c3 = st.columns(3)
            values = {
                "partner_country": c1.text_input("Partner country or union", value=p.get("partner_country", "")),
                "customs_administration": c2.text_input("Customs administration",
                                                        value=p.get("customs_administration", "")),
                "program_name": c3.text_input("Program name", value=p.get("program_name", "")),
                "acronym": c1.text_input("Acronym", value=p.get("acronym", ""), max_chars=20),
                "codes": c2.text_input("Codes on certificates", value=p.get("codes", ""),
                                       help="The program codes certificates carry, e.g. OEA NEEC."),
                "country_codes": c3.text_input("Countries covered", value=p.get("country_codes", ""),
                                               help="ISO alpha-2 codes separated by spaces, e.g. DE FR IT."),
                "certificate_types": c1.text_input("Types issued", value=p.get("certificate_types", ""),
                                                   help="Empty when the program has no types, e.g. AEO-C AEO-S AEO-F."),
                "types_counted": c2.text_input("Types that count", value=p.get("types_counted", ""),
                                               help="Those the arrangement covers, e.g. AEO-S AEO-F."),
                "signed": c3.text_input("Signed (YYYY-MM)", value=p.get("signed", ""), max_chars=7),
                "in_force_from": c1.date_input("In force from", value=_day(p.get("in_force_from")),
                                               min_value=FIRST_DAY),
                "in_force_until": c2.date_input("Ended on", value=_day(p.get("in_force_until")), min_value=FIRST_DAY),
                "confirmed": c3.checkbox("Confirmed by a primary source", value=bool(p.get("confirmed", False))),
                "types_note": st.text_area("Basis of the types", value=p.get("types_note", ""), max_chars=1000),
                "caveat": st.text_area("Caveat (shown with the arrangement)", value=p.get("caveat", ""),
                                       max_chars=1000),
                "source": st.text_area("Source", value=p.get("source", ""), max_chars=1000),
            }
            submitted = st.form_submit_button("Save arrangement", type="primary", icon=":material/save:")
        if submitted:
            _write(lambda s: mra.save_program(session=s, actor=actor, values=values, program_id=pick),
                   f"Saved the {values['partner_country']} arrangement.")


def _coverage_tab(url: str, today: date) -> None:
    data = _coverage(url, today)
    head = data["summary"]
    if not head["active"]:
        st.info("No active partners yet.")
        return
    cols = st.columns(4)
    cols[0].metric("Active partners covered", f"{head['covered']:,} of {head['active']:,}",
                   _percent(head["share_covered"]), delta_color="off", delta_arrow="off")
    cols[1].metric("By CTPAT", f"{head['by_ctpat']:,}")
    cols[2].metric("By mutual recognition", f"{head['by_mutual_recognition']:,}")
    unknown = head["import_unknown"]
    cols[3].metric("Import share covered", _percent(head["share_of_import_covered"]),
                   f"unknown for {unknown:,} partners" if unknown else None, delta_color="off", delta_arrow="off",
                   help="Share of the known import share of active partners that a counting certificate covers; "
                        "partners without an import share are counted as unknown, never as zero.")
    st.caption("Covered: a CTPAT certificate, or a mutually recognized one, verified within the re-check interval "
               "and valid today (Mutual recognition rule; MSC 3.4). Covered partners are exempt from the "
               "questionnaire but still rated for threat and risk.")
    specs = data["specs"]
    st.markdown("**Share of active partners covered, by country**")
    st.vega_lite_chart(spec=specs["map"], width="stretch")
    st.caption(MAP_NOTE)
    left, right = st.columns(2)
    with left:
        st.markdown("**By country** (the 20 with most partners)")
        st.vega_lite_chart(spec=specs["countries"], width="stretch")
    with right:
        st.markdown("**By entity type**")
        st.vega_lite_chart(spec=specs["types"], width="stretch")
    for title, frame, by in (("By country", data["countries"], "country"),
                             ("By entity type", data["types"], "entity_type")):
        st.markdown(f"**{title}**")
        shown = frame.assign(share_covered=frame["share_covered"].map(_percent),
                             share_of_import_covered=frame["share_of_import_covered"].map(_percent))
        st.dataframe(presentation.masked(shown), hide_index=True, width="stretch", column_order=[
            by, "partners", "covered", "by_ctpat", "by_mutual_recognition", "not_covered", "share_covered",
            "share_of_import_covered", "import_unknown"], column_config={
            by: by.replace("_", " ").capitalize(), "by_ctpat": "CTPAT", "by_mutual_recognition": "Mutual recognition",
            "not_covered": "Not covered", "share_covered": "Share covered",
            "share_of_import_covered": "Import share covered", "import_unknown": "Import share unknown"})


def _watch_tab(url: str, actor: Actor, today: date) -> None:
    data = _coverage(url, today)
    lists = data["lists"]
    expiring = lists["expiring"]
    cols = st.columns(6)
    for column, window in zip(cols[:3], coverage.EXPIRY_WINDOWS, strict=True):
        column.metric(f"Expiring within {window} days", int((expiring["window"] <= window).sum()))
    cols[3].metric("Claims never verified", len(lists["never verified"]))
    cols[4].metric(f"Checks older than {data['recheck']} days", len(lists["stale"]))
    cols[5].metric("Held, never recognized", len(lists["not recognized"]))
    if actor.can_write:
        st.caption("The daily check marks expired certificates and stale checks (once each) and makes partners no "
                   "longer covered join the open cycles; cron runs `manage.py check-certificates`.")
        if st.button("Run the daily check now", icon=":material/update:", key="mr_sweep"):
            _write(lambda s: monitor.sweep(session=s, actor=actor, today=today), "Ran the daily certificate check.")
    for title, name, columns in (
        ("Expiring within 90 days", "expiring", ["window", "days_left", "partner_code", "legal_name", "program",
                                                  "certificate_type", "certificate_number", "valid_to", "status"]),
        ("Claims never verified", "never verified", ["partner_code", "legal_name", "program", "certificate_type",
                                                     "certificate_number", "issuing_country"]),
        (f"Verified more than {data['recheck']} days ago", "stale",
         ["partner_code", "legal_name", "program", "certificate_number", "last_verified", "recheck_by"]),
        ("Verified but never recognized as things stand", "not recognized",
         ["partner_code", "legal_name", "program", "certificate_type", "certificate_number", "issuing_country",
          "why"]),
    ):
        frame = lists[name]
        st.markdown(f"**{title}** ({len(frame):,})")
        if frame.empty:
            st.caption("None.")
            continue
        st.dataframe(presentation.masked(frame.assign(**{c: frame[c].dt.date
                                                        for c in ("valid_to", "last_verified", "recheck_by")})),
                     hide_index=True, width="stretch", column_order=columns,
                     column_config={"window": "Within (days)", **WATCH_LABELS})


def _partner_tab(url: str, actor: Actor) -> None:
    options = _partner_options(url)
    if not options:
        st.info("No partners yet.")
        return
    pick = st.selectbox("Partner", list(options), format_func=options.get, index=None, key="mr_partner",
                        placeholder="Type a partner code or name")
    if pick is not None:
        certificates_section(url, actor, int(pick))


def _settings_tab(actor: Actor, url: str, today: date) -> None:
    settings = _registry(url, today)["settings"]
    st.caption("The re-check interval decides when a verification no longer counts (MSC 3.4 asks for monitoring of "
               "a partner's on-going status); a partner that loses its exemption during an open cycle gets at least "
               "the notice period to answer.")
    with st.form("mr_settings"):
        recheck = st.number_input("Re-check interval (days)", min_value=1, max_value=730, step=1,
                                  value=settings.recheck_days)
        notice = st.number_input("Notice for a late join (days)", min_value=30, max_value=365, step=1,
                                 value=settings.join_notice_days)
        submitted = st.form_submit_button("Save settings", type="primary", icon=":material/save:")
    if submitted:
        _write(lambda s: rule_settings.save(session=s, actor=actor, recheck_days=int(recheck),
                                            join_notice_days=int(notice)), "Saved the certificate settings.")


def render() -> None:
    actor = auth.require_role()
    if actor is None:
        return
    st.title("Mutual recognition")
    st.caption("MSC 3.4: partners' CTPAT or mutually recognized (AEO-type) status, with evidence, monitored. Whether a "
               "certificate counts is derived from the registry below, never typed.")
    _flash()
    url, today = state.database_url(), date.today()
    names = [name for name in TABS if (name != "Import certificates" or actor.can_write)
             and (name != "Settings" or actor.role == Role.admin)]
    filters.initial("mr_tab", "tab", names)  # the dashboard's certificates due: the watch list
    tabs = dict(zip(names, st.tabs(names, key="mr_tab", on_change="rerun"), strict=True))
    for name, draw in (("Arrangements", lambda: _arrangements_tab(url, actor, today)),
                       ("Coverage", lambda: _coverage_tab(url, today)),
                       ("Watch list", lambda: _watch_tab(url, actor, today)),
                       ("Partner certificates", lambda: _partner_tab(url, actor)),
                       ("Import certificates", lambda: import_panel(actor)),
                       ("Settings", lambda: _settings_tab(actor, url, today))):
        if name in tabs and tabs[name].open:
            with tabs[name]:
                draw()
