"""Step 2 · Threats: the threat register per country and region, suggestions to accept or override, history,
sources and index imports."""

import hashlib
from datetime import date

import pandas as pd
import streamlit as st

from models.threats import CATEGORY_LABELS, ThreatCategory
from services.core.permissions import Actor, PermissionDenied, ValidationError
from services.imports import reader as tabular
from services.lanes import flags as lane_flags
from services.places.regions import regions
from services.threats import imports as threat_import
from services.threats import maps, register, rules, sources
from ui import auth, state

FLASH = "threats_flash"
FILE_TYPES = ["csv", "txt", "xlsx", "xlsm", "xls"]
CATEGORIES = [c.value for c in ThreatCategory]
LEVEL_FILTER = ["High", "Unknown", "Medium", "Low", register.NOT_ASSESSED]
TAB_NAMES = ["Register", "Review and rate", "History", "Sources and import", "Settings"]
TABLE_COLUMNS = ["country", "region", "category", "level", "status", "basis", "suggested", "rule", "source", "as_of",
                 "stale", "is_demo", "reason", "updated_by", "updated_at"]


def _version(url: str) -> tuple:
    with state.session() as s:
        return lane_flags.inputs_version(session=s)


@st.cache_data(show_spinner=False, max_entries=5)
def _register(url: str, version: tuple, today: date) -> dict:
    with state.session() as s:
        table = register.threat_table(session=s, today=today)
        settings = register.get_settings(session=s)
        found = sources.list_sources(session=s)
    return {"table": table, "overall": register.overall(table, unknown_as=settings.unknown_as),
            "settings": {"stale_after_months": settings.stale_after_months, "unknown_as": settings.unknown_as},
            "sources": found}


@st.cache_data(show_spinner=False, max_entries=20)
def _choropleth(url: str, version: tuple, today: date, category: str | None) -> dict:
    data = _register(url, version, today)
    view = maps.register_view(data["table"], data["overall"], category)
    title = "Overall threat" if category is None else category.capitalize()
    return maps.choropleth_spec(view, title=title)


@st.cache_data(show_spinner=False, max_entries=20)
def _history(url: str, version: tuple, iso2: str | None, category: str | None) -> pd.DataFrame:
    with state.session() as s:
        return register.history(session=s, iso2=iso2, category=category)


def _flash() -> None:
    message = st.session_state.pop(FLASH, None)
    if message:
        st.success(message, icon=":material/check_circle:")


def _caveats(data: dict) -> None:
    with st.expander("How the suggestions are made, and their caveats", icon=":material/info:"):
        for text in rules.RULES_TEXT.values():
            st.markdown(f"- {text}")
        st.markdown("- A category no source feeds is **not assessed** (left out of the overall); a country without "
                    "a value in a category that has a source is **Unknown**, counted as "
                    f"**{data['settings']['unknown_as']}** in scoring. Values older than "
                    f"{data['settings']['stale_after_months']} months are labelled stale; demo values are labelled "
                    "demo. These rules are this product's starting point, not CBP's: CBP leaves the method to the "
                    "company.")
        for caveat in data["sources"].loc[data["sources"]["active"], "caveat"]:
            if caveat:
                st.caption(caveat)


def _register_tab(url: str, version: tuple, today: date, data: dict) -> None:
    table = data["table"]
    cols = st.columns([2, 2, 2, 2])
    category = cols[0].selectbox("Category", [None, *CATEGORIES], key="threats_category",
                                 format_func=lambda c: "Overall (worst category)" if c is None else CATEGORY_LABELS[c])
    levels = cols[1].multiselect("Level", LEVEL_FILTER, key="threats_levels", placeholder="All levels")
    statuses = cols[2].multiselect("Status", ["rated", "suggested", "inherited", "no value", "not assessed"],
                                   key="threats_statuses", placeholder="Any status")
    search = cols[3].text_input("Country", key="threats_search", placeholder="Name or code")
    st.vega_lite_chart(spec=_choropleth(url, version, today, category), width="stretch")
    st.caption("Countries of the world map (Natural Earth); regions such as Mexican states are rated in the table "
               "below, not drawn. Grey: not on the map's data or not assessed.")
    shown = table if category is None else table[table["category"] == category]
    if levels:
        shown = shown[shown["level"].isin(levels)]
    if statuses:
        shown = shown[shown["status"].isin(statuses)]
    if search.strip():
        text = search.strip().casefold()
        shown = shown[shown["country"].str.casefold().str.contains(text, regex=False)
                      | (shown["iso2"].str.casefold() == text)]
    st.caption(f"{len(shown):,} ratings shown · {int(shown['stale'].sum()):,} stale · "
               f"{int(shown['is_demo'].sum()):,} demo")
    st.dataframe(shown[TABLE_COLUMNS], hide_index=True, width="stretch", height=460,
                 column_config={"as_of": st.column_config.DateColumn("as of"),
                                "stale": st.column_config.CheckboxColumn("stale"),
                                "is_demo": st.column_config.CheckboxColumn("demo"),
                                "updated_at": st.column_config.DatetimeColumn("decided", format="YYYY-MM-DD")})


def _pending(table: pd.DataFrame) -> pd.DataFrame:
    return table[table["review"] & (table["region_code"] == "")][
        ["iso2", "country", "category", "suggested", "level", "status", "suggestion_rule", "as_of", "stale"]]


def _review_tab(url: str, actor: Actor, data: dict, today: date) -> None:
    table = data["table"]
    pending = _pending(table)
    if not actor.can_write:
        st.info("Only analysts and admins decide on suggestions.")
        return
    st.markdown(f"**Suggestions to decide** ({len(pending):,}): no decision yet, or the sources changed since.")
    if not pending.empty:
        event = st.dataframe(pending, key="threats_pending", on_select="rerun", selection_mode="multi-row",
                             hide_index=True, width="stretch", height=min(38 + 35 * len(pending), 360),
                             column_config={"level": "now", "suggestion_rule": "rule",
                                            "as_of": st.column_config.DateColumn("as of")})
        chosen = pending.iloc[event.selection.rows] if event.selection.rows else pending.iloc[0:0]
        cols = st.columns(2)
        if cols[0].button(f"Accept the {len(chosen)} selected", key="threats_accept_selected",
                          disabled=chosen.empty, icon=":material/done:"):
            keys = [(r.iso2, "", r.category) for r in chosen.itertuples()]
            if state.write(lambda s: register.accept_suggestions(session=s, actor=actor, keys=keys),
                           success=f"Accepted {len(keys)} suggestion(s).", flash_key=FLASH):
                st.rerun()
        sure = cols[1].toggle(f"Accept all {len(pending):,} (overrides stay)", key="threats_accept_all_sure")
        if cols[1].button("Accept all", key="threats_accept_all", disabled=not sure, icon=":material/done_all:"):
            if state.write(lambda s: register.accept_suggestions(session=s, actor=actor),
                           success="Accepted every pending suggestion.", flash_key=FLASH):
                st.rerun()
    st.divider()
    _rate_form(actor, table, today)


def _rate_form(actor: Actor, table: pd.DataFrame, today: date) -> None:
    st.markdown("**Rate or override** a country, or one of its regions (a Mexican state, a province...)")
    names = table.drop_duplicates("iso2").set_index("iso2")["country"].to_dict()
    cols = st.columns(3)
    iso2 = cols[0].selectbox("Country", sorted(names, key=names.get), key="threats_rate_country", index=None,
                             format_func=lambda c: f"{names[c]} ({c})", placeholder="Choose")
    if iso2 is None:
        return
    options = regions(iso2)
    region = cols[1].selectbox("Region", ["", *options], key="threats_rate_region",
                               format_func=lambda r: options.get(r, "– the whole country –"))
    category = cols[2].selectbox("Category", CATEGORIES, key="threats_rate_category",
                                 format_func=lambda c: CATEGORY_LABELS[c])
    row = table[(table["iso2"] == iso2) & (table["region_code"] == region) & (table["category"] == category)]
    if row.empty:
        row = table[(table["iso2"] == iso2) & (table["region_code"] == "") & (table["category"] == category)]
        current, version = f"{row.iloc[0]['level']} (from the country)", 0
    else:
        current = row.iloc[0]["level"]
        version = int(row.iloc[0]["version"]) if pd.notna(row.iloc[0]["version"]) else 0
    info = row.iloc[0]
    st.caption(f"Now: **{current}** ({info['status']}). Suggested: **{info['suggested'] or 'none'}**"
               + (f" by the rule: {info['suggestion_rule']}" if info["suggestion_rule"] else "")
               + ". A level other than the suggestion needs a reason and a source.")
    with st.form(f"threats_rate_{iso2}_{region}_{category}"):
        level = st.radio("Level", list(register.RATED_LEVELS), horizontal=True, index=None)
        reason = st.text_area("Reason (why this level)", max_chars=1000)
        source = st.text_input("Source (report, advisory, own assessment)", max_chars=1000)
        as_of = st.date_input("As of", value=today, max_value=today)
        submitted = st.form_submit_button("Save rating", type="primary", icon=":material/save:")
    if submitted:
        if level is None:
            st.error("Choose High, Medium or Low.")
            return
        if state.write(lambda s: register.rate(session=s, actor=actor, iso2=iso2, region_code=region,
                                               category=category, level=level, reason=reason, source=source,
                                               as_of=as_of, expected_version=version, today=today),
                       success=f"Saved: {names[iso2]}{' / ' + options[region] if region else ''} {category} is "
                               f"{level}.", flash_key=FLASH):
            st.rerun()


def _history_tab(url: str, version: tuple, data: dict) -> None:
    names = data["table"].drop_duplicates("iso2").set_index("iso2")["country"].to_dict()
    cols = st.columns(2)
    iso2 = cols[0].selectbox("Country", [None, *sorted(names, key=names.get)], key="threats_history_country",
                             format_func=lambda c: "All countries" if c is None else f"{names[c]} ({c})")
    category = cols[1].selectbox("Category", [None, *CATEGORIES], key="threats_history_category",
                                 format_func=lambda c: "All categories" if c is None else CATEGORY_LABELS[c])
    changes = _history(url, version, iso2, category)
    if changes.empty:
        st.info("No change recorded yet.")
        return
    st.dataframe(changes, hide_index=True, width="stretch", height=460, column_config={
        "changed_at": st.column_config.DatetimeColumn("when (UTC)", format="YYYY-MM-DD HH:mm"),
        "changed_by": "who", "previous_level": "before", "level": "after",
        "as_of": st.column_config.DateColumn("as of"), "is_demo": st.column_config.CheckboxColumn("demo")})


def _sources_tab(actor: Actor, data: dict) -> None:
    shown = data["sources"].drop(columns=["id", "mapping"])
    st.dataframe(shown, hide_index=True, width="stretch",
                 column_config={"loaded_at": st.column_config.DatetimeColumn("loaded", format="YYYY-MM-DD"),
                                "as_of": st.column_config.DateColumn("as of"),
                                "is_demo": st.column_config.CheckboxColumn("demo")})
    if not actor.can_write:
        return
    st.markdown("**Import** a register file (country, region, category, level) or an index you license "
                "(country and a value: a score, a tier...). See docs/import-formats.md, section Threats.")
    round_ = st.session_state.setdefault("threats_import_round", 0)
    upload = st.file_uploader("Threat file", type=FILE_TYPES, key=f"threats_import_file_{round_}")
    if upload is None:
        return
    data_bytes = upload.getvalue()
    fingerprint = (upload.name, hashlib.sha256(data_bytes).hexdigest())
    held = st.session_state.get("threats_import_preview")
    if not held or held[0] != fingerprint:
        with state.session() as s:
            held = (fingerprint, threat_import.preview_threat_file(session=s, filename=upload.name, data=data_bytes))
        st.session_state["threats_import_preview"] = held
    preview = held[1]
    if preview.kind:
        st.caption(f"{'A register file' if preview.kind == 'register' else 'An index file'}: "
                   f"{len(preview.rows):,} rows.")
    if not preview.problems.empty:
        st.dataframe(preview.problems, hide_index=True, width="stretch",
                     column_config={"row": st.column_config.NumberColumn(format="%d")})
        st.download_button("Download the problems (CSV)", tabular.problems_csv(preview.problems),
                           file_name="threat problems.csv", mime="text/csv", on_click="ignore",
                           icon=":material/download:", key="threats_problems_csv")
    if preview.has_errors or not preview.kind:
        st.error("Nothing can be imported until the errors are fixed in the file.", icon=":material/error:")
        return
    options: dict = {}
    if preview.kind == "index":
        options = _mapping_form(preview, upload.name)
        if options is None:
            return
    else:
        st.dataframe(preview.rows.drop(columns=["value"]), hide_index=True, width="stretch", height=300)
    if st.button("Import", type="primary", icon=":material/upload:", key="threats_import_apply"):
        try:
            with state.session() as s:
                threat_import.apply_threat_file(session=s, actor=actor, preview=preview, **options)
        except (ValidationError, PermissionDenied) as exc:
            st.error(str(exc))
            return
        state.invalidate()
        st.session_state.pop("threats_import_preview", None)
        st.session_state["threats_import_round"] = round_ + 1
        st.session_state[FLASH] = f"Imported {upload.name}."
        st.rerun()


def _mapping_form(preview, filename: str) -> dict | None:
    """The index's name, licence and its mapping to High/Medium/Low, with the levels it gives."""
    cols = st.columns(3)
    options = {
        "name": cols[0].text_input("Index name", value=filename.rsplit(".", 1)[0], key="threats_index_name"),
        "publisher": cols[1].text_input("Publisher", key="threats_index_publisher"),
        "licence": cols[2].text_input("Licence (under which you use it)", key="threats_index_licence"),
        "citation": st.text_input("Citation or URL", key="threats_index_citation"),
        "as_of": st.date_input("Edition date", value=None, key="threats_index_as_of"),
        "categories": st.multiselect("Feeds these categories", CATEGORIES, key="threats_index_categories",
                                     format_func=lambda c: CATEGORY_LABELS[c]),
    }
    proposed = preview.proposed
    if proposed.get("kind") == "numeric":
        cols = st.columns(3)
        worse = cols[0].radio("Worse is", ["higher", "lower"], key="threats_index_direction", horizontal=True)
        high = cols[1].number_input("High from", value=float(proposed["high"]), key="threats_index_high")
        medium = cols[2].number_input("Medium from", value=float(proposed["medium"]), key="threats_index_medium")
        mapping = {"kind": "numeric", "higher_is_worse": worse == "higher", "high": high, "medium": medium}
    elif proposed.get("kind") == "categorical":
        table = pd.DataFrame({"value": list(proposed["levels"]),
                              "level": [v or None for v in proposed["levels"].values()]})
        edited = st.data_editor(table, key="threats_index_levels", hide_index=True, disabled=["value"],
                                column_config={"level": st.column_config.SelectboxColumn(
                                    "level", options=list(register.RATED_LEVELS), required=True)})
        mapping = {"kind": "categorical", "levels": dict(zip(edited["value"], edited["level"].fillna(""),
                                                             strict=True))}
    else:
        return None
    try:
        threat_import.check_mapping(mapping, options["categories"])
    except ValidationError as exc:
        st.warning(str(exc))
        return None
    levels = preview.levels(mapping).fillna("no level")
    st.caption("Levels this mapping gives: " + ", ".join(f"{n} {level}" for level, n in
                                                          levels.value_counts().items()))
    if not options["licence"].strip():
        st.warning("Record the licence under which you use this index.", icon=":material/gavel:")
    return {**options, "mapping": mapping}


def _settings_tab(actor: Actor, data: dict) -> None:
    settings = data["settings"]
    if not actor.is_admin:
        st.caption(f"Values older than {settings['stale_after_months']} months are labelled stale; Unknown counts as "
                   f"{settings['unknown_as']} in scoring. An admin can change this.")
        return
    with st.form("threats_settings"):
        months = st.number_input("Label values stale after (months)", min_value=1, max_value=120,
                                 value=int(settings["stale_after_months"]))
        unknown = st.selectbox("Unknown counts in scoring as", list(register.RATED_LEVELS),
                               index=list(register.RATED_LEVELS).index(settings["unknown_as"]))
        submitted = st.form_submit_button("Save settings", type="primary", icon=":material/save:")
    if submitted and state.write(lambda s: register.update_settings(session=s, actor=actor, stale_after_months=months,
                                                                    unknown_as=unknown),
                                 success="Saved the register settings.", flash_key=FLASH):
        st.rerun()


def render() -> None:
    actor = auth.require_role()
    if actor is None:
        return
    st.title("Threats")
    st.caption("Step 2 of CBP's risk assessment: terrorism, contraband smuggling, human smuggling, organized crime, "
               "conditions that foster them, agricultural threats, and forced labor as a separate category (MSC 3.9), "
               "per country and region, each High, Medium or Low with its rationale, source, date and rule.")
    _flash()
    url, today = state.database_url(), date.today()
    version = _version(url)
    data = _register(url, version, today)
    _caveats(data)
    tabs = dict(zip(TAB_NAMES, st.tabs(TAB_NAMES, key="threats_tab", on_change="rerun"), strict=True))
    if tabs["Register"].open:
        with tabs["Register"]:
            _register_tab(url, version, today, data)
    if tabs["Review and rate"].open:
        with tabs["Review and rate"]:
            _review_tab(url, actor, data, today)
    if tabs["History"].open:
        with tabs["History"]:
            _history_tab(url, version, data)
    if tabs["Sources and import"].open:
        with tabs["Sources and import"]:
            _sources_tab(actor, data)
    if tabs["Settings"].open:
        with tabs["Settings"]:
            _settings_tab(actor, data)
