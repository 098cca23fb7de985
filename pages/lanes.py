"""Step 1 · Cargo flow: lanes of partners and places on a map, flow diagrams, flags, lane import, places."""

import dataclasses
import hashlib
from datetime import date

import pandas as pd
import streamlit as st

from models.lanes import Custody, LaneStatus, NodeRole, TransportMode
from models.places import PLACE_KIND_LABELS, PlaceKind
from services.core.permissions import Actor, PermissionDenied, ValidationError
from services.imports import reader as tabular
from services.lanes import flags as lane_flags
from services.lanes import imports as lane_import
from services.lanes import maps, registry
from services.places import registry as places
from services.places.regions import regions
from ui import auth, presentation, state
from ui.markdown import plain

FLASH = "lanes_flash"
FILE_TYPES = ["csv", "txt", "xlsx", "xlsm", "xls"]
MODES = [m.value for m in TransportMode]
TAB_NAMES = ["Map", "Lanes", "Flags", "Import", "Places"]
FLAG_HELP = {
    lane_flags.NO_PARTNER: "Name who has custody (direct partner, or a subcontractor as indirect).",
    lane_flags.NO_ASSESSMENT: "Send a questionnaire (Vulnerability) or record a certificate exemption.",
    lane_flags.REST_HIGH: "Shorten the dwell, add controls, or review the threat rating of that place.",
    lane_flags.CUSTODY_NO_SEAL: "Add a seal check where custody passes, or record it.",
    lane_flags.TRANSSHIP_HIGH: "Ask the carrier for another routing or extra controls at the hub.",
    lane_flags.RESTRICTED: "Forced-labor High: see Screening.",
    lane_flags.NO_COORDINATES: "Add coordinates to the partner's site or ask an admin to locate the place.",
}
NODE_COLUMNS = list(registry.ROW_FIELDS)


def _version(url: str) -> tuple:
    with state.session() as s:
        return lane_flags.inputs_version(session=s)


@st.cache_data(show_spinner=False, max_entries=20)
def _map(url: str, version: tuple, today: date, modes: tuple, countries: tuple, flagged_only: bool,
         presenting: bool = False) -> dict:
    """Map spec, flags and counts, built once per data change and filter: the spec is what costs."""
    with state.session() as s:
        data = maps.map_data(session=s, today=today)
    nodes = data.nodes
    keep = set(nodes["lane_id"])
    lanes = nodes.drop_duplicates("lane_id")
    origin = nodes[nodes["seq"] == 1].set_index("lane_id")["iso2"]
    if modes:
        keep &= set(nodes.loc[nodes["mode_to_next"].isin(modes), "lane_id"])
    if countries:
        keep &= {lane for lane, iso in origin.items() if iso in countries}
    if flagged_only:
        keep &= set(data.flags["lane_id"])
    if len(keep) != len(lanes):
        with state.session() as s:
            data = maps.map_data(session=s, today=today, lane_ids=sorted(keep))
    if presenting:  # the places' tooltips name partners by code
        data = dataclasses.replace(data, points=data.points.assign(partners=presentation.PLACEHOLDER))
    return {"spec": maps.lane_map_spec(data), "lanes": len(keep), "nodes": len(data.nodes),
            "flags": len(data.flags), "countries": sorted(origin.unique())}


@st.cache_data(show_spinner=False)
def _lane_list(url: str, version: tuple) -> pd.DataFrame:
    with state.session() as s:
        return registry.list_lanes(session=s)


@st.cache_data(show_spinner=False)
def _flags(url: str, version: tuple, today: date) -> pd.DataFrame:
    with state.session() as s:
        return lane_flags.all_flags(session=s, today=today)


@st.cache_data(show_spinner=False, max_entries=50)
def _lane(url: str, version: tuple, lane_id: int, today: date) -> dict | None:
    with state.session() as s:
        found = registry.get_lane(session=s, lane_id=lane_id)
        if found is None:
            return None
        data = maps.map_data(session=s, today=today, lane_ids=[lane_id], status=None)
    lane = found["lane"]
    return {"lane": lane, "rows": registry.node_rows(found["nodes"]), "nodes": data.nodes, "flags": data.flags,
            "dot": maps.lane_dot(data.nodes, title=f"{lane['code']} · {lane['name']}")}


@st.cache_data(show_spinner=False)
def _place_labels(url: str, version: tuple) -> list[str]:
    with state.session() as s:
        frame = places.list_places(session=s, include_inactive=False)
    return [places.place_label(c, n, k) for c, n, k in zip(frame["code"], frame["name"], frame["kind"], strict=True)]


@st.cache_data(show_spinner=False)
def _places(url: str, version: tuple) -> pd.DataFrame:
    with state.session() as s:
        return places.list_places(session=s)


@st.cache_data(show_spinner=False)
def _countries(url: str) -> dict[str, str]:
    from services.partners import registry as partner_registry

    with state.session() as s:
        return partner_registry.country_names(session=s)


def _flash() -> None:
    message = st.session_state.pop(FLASH, None)
    if message:
        st.success(message, icon=":material/check_circle:")


def _map_tab(url: str, version: tuple, today: date) -> None:
    cols = st.columns([2, 2, 1], vertical_alignment="bottom")
    modes = cols[0].multiselect("Modes", MODES, key="lanes_map_modes", placeholder="All modes")
    countries = _countries(url)
    origins = cols[1].multiselect("Origin country", sorted(countries), key="lanes_map_countries",
                                  format_func=lambda c: f"{countries.get(c, c)} ({c})", placeholder="All origins")
    flagged = cols[2].toggle("Flagged lanes only", key="lanes_map_flagged")
    shown = _map(url, version, today, tuple(modes), tuple(origins), flagged, presentation.active())
    if not shown["lanes"]:
        st.info("No active lane matches. Add lanes on the Lanes tab or import them.")
        return
    metrics = st.columns(3)
    metrics[0].metric("Lanes", f"{shown['lanes']:,}")
    metrics[1].metric("Nodes", f"{shown['nodes']:,}")
    metrics[2].metric("Flags", f"{shown['flags']:,}")
    st.vega_lite_chart(spec=shown["spec"], width="stretch")
    st.caption("Legs and places are coloured by threat (the worse of a leg's two ends; Unknown counts as High in "
               "scoring). Ocean legs follow sea routes computed offline by the searoute package; land and air "
               "legs are drawn direct. Circles grow with the hours cargo rests there; a dark ring marks a flag. "
               + places.PLACES_ATTRIBUTION)


def _lanes_tab(url: str, version: tuple, actor: Actor, today: date) -> None:
    lanes = _lane_list(url, version)
    if actor.can_write:
        with st.popover("Find a partner code", icon=":material/search:"):
            _partner_finder(url)
        _new_lane(url, version, actor)
    if lanes.empty:
        st.info("No lane yet: add one above or import a file on the Import tab.")
        return
    status = st.segmented_control("Status", ["active", "inactive", "all"], default="active", key="lanes_status")
    shown = lanes if status in (None, "all") else lanes[lanes["status"] == status]
    event = st.dataframe(
        shown, key=f"lanes_table_{status}", on_select="rerun", selection_mode="single-row", hide_index=True,
        width="stretch", column_order=["code", "name", "commodity", "mode", "volume_share", "nodes", "origin", "entry",
                                       "status", "updated_by", "updated_at"],
        column_config={"volume_share": st.column_config.NumberColumn("volume %", format="%.1f"),
                       "updated_at": st.column_config.DatetimeColumn("last change", format="YYYY-MM-DD HH:mm"),
                       "entry": "port of entry"})
    if event.selection.rows:
        st.session_state["lanes_focus"] = int(shown.iloc[event.selection.rows[0]]["id"])
    focus = st.session_state.get("lanes_focus")
    if focus is not None:
        _lane_detail(url, version, actor, int(focus), today)


def _node_editor(key: str, rows: list[dict], labels: list[str]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=NODE_COLUMNS)
    for column in registry.BOOL_FIELDS:
        frame[column] = frame[column].map(lambda v: registry.parse_bool(v) if v not in (None, "") else False) \
            .astype(bool)
    frame["dwell_hours"] = pd.to_numeric(frame["dwell_hours"], errors="coerce")
    frame["place"] = frame["place"].where(frame["place"].isin(labels), None)
    return st.data_editor(
        frame.drop(columns="place_kind"), key=key, num_rows="dynamic", hide_index=True, width="stretch",
        column_config={
            "role": st.column_config.SelectboxColumn("role", options=[r.value for r in NodeRole], required=True),
            "partner_code": st.column_config.TextColumn("partner code", help="Who has custody here; empty flags the "
                                                                             "node (custody 'own' = the importer)"),
            "site": st.column_config.TextColumn("site", help="The partner's site by name; empty = its primary site"),
            "place": st.column_config.SelectboxColumn("place", options=labels, width="large",
                                                      help="A port, airport, crossing or other place; empty for a "
                                                           "partner's site"),
            "custody": st.column_config.SelectboxColumn("custody", options=[c.value for c in Custody],
                                                        default=Custody.direct.value),
            "contracted_by": st.column_config.TextColumn("contracted by", help="For indirect custody: the partner "
                                                                               "that subcontracts"),
            "mode_to_next": st.column_config.SelectboxColumn("mode to next", options=["", *MODES]),
            "rests": st.column_config.CheckboxColumn("rests"),
            "dwell_hours": st.column_config.NumberColumn("hours at rest", min_value=0, max_value=8760),
            "custody_change": st.column_config.CheckboxColumn("custody changes"),
            "seal_applied": st.column_config.CheckboxColumn("seal applied"),
            "seal_verified": st.column_config.CheckboxColumn("seal verified"),
            "transmits_data": st.column_config.CheckboxColumn("transmits data"),
            "notes": st.column_config.TextColumn("notes", max_chars=500)})


def _lane_fields(prefix: str, lane: dict) -> dict:
    cols = st.columns([1, 3, 2, 1, 1])
    mode = lane.get("mode")
    return {
        "code": cols[0].text_input("Code", value=lane.get("code", ""), max_chars=40, key=f"{prefix}_code"),
        "name": cols[1].text_input("Name", value=lane.get("name", ""), max_chars=120, key=f"{prefix}_name"),
        "commodity": cols[2].text_input("Commodity (HTS chapter or text)", value=lane.get("commodity", ""),
                                        max_chars=120, key=f"{prefix}_commodity"),
        "mode": cols[3].selectbox("Main mode", MODES, index=MODES.index(mode) if mode in MODES else 0,
                                  key=f"{prefix}_mode"),
        "volume_share": cols[4].number_input("Volume %", min_value=0.0, max_value=100.0,
                                             value=lane.get("volume_share"), key=f"{prefix}_share"),
    }


def _rows(edited: pd.DataFrame) -> list[dict]:
    rows = edited.astype(object).where(edited.notna(), None).to_dict("records")
    return [r for r in rows if any(v not in (None, "", False) for v in r.values())]


def _save(actor: Actor, values: dict, rows: list[dict], lane_id: int | None, version: int | None) -> None:
    result: dict = {}

    def action(s):
        lane, warnings = registry.save_lane(session=s, actor=actor, values=values, rows=rows, lane_id=lane_id,
                                            expected_version=version)
        result.update(id=lane.id, code=lane.code, warnings=len(warnings))

    done = state.write(action, success="Saved.", flash_key=FLASH)
    if done:
        st.session_state[FLASH] = (f"Saved lane {result['code']}" + (
            f"; {result['warnings']} warning(s) became flags." if result["warnings"] else "."))
        st.session_state["lanes_focus"] = result["id"]
        st.session_state["lanes_form_round"] = st.session_state.get("lanes_form_round", 0) + 1
        st.rerun()


def _new_lane(url: str, version: tuple, actor: Actor) -> None:
    with st.expander("New lane", icon=":material/add_road:"):
        round_ = st.session_state.get("lanes_form_round", 0)
        with st.form(f"lanes_new_{round_}"):
            values = _lane_fields(f"new{round_}", {})
            st.caption("Nodes in order, from the origin site where cargo is stuffed to the distribution center.")
            edited = _node_editor(f"lanes_new_nodes_{round_}", [], _place_labels(url, version))
            submitted = st.form_submit_button("Add lane", type="primary", icon=":material/add:")
        if submitted:
            _save(actor, values, _rows(edited), None, None)


def _partner_finder(url: str) -> None:
    text = st.text_input("Find a partner code", key="lanes_find", icon=":material/search:",
                         placeholder="Part of a code or name")
    if text.strip():
        with state.session() as s:
            found = registry.find_partners(session=s, text=text)
        st.dataframe(presentation.masked(found),
                     hide_index=True, width="stretch", height=min(38 + 35 * len(found), 280))


def _lane_detail(url: str, version: tuple, actor: Actor, lane_id: int, today: date) -> None:
    data = _lane(url, version, lane_id, today)
    if data is None:
        st.session_state.pop("lanes_focus", None)
        return
    lane = data["lane"]
    st.divider()
    head, close = st.columns([5, 1], vertical_alignment="center")
    head.subheader(f"{plain(lane['code'])} · {plain(lane['name'])}")
    close.button("Close", key="lanes_close", icon=":material/close:",
                 on_click=lambda: st.session_state.pop("lanes_focus", None))
    st.caption(f"{plain(lane['commodity']) or 'Commodity not recorded'} · main mode {lane['mode']} · "
               f"{lane['volume_share'] if lane['volume_share'] is not None else '–'} % of volume · {lane['status']} · "
               f"version {lane['version']}, last change by {lane['updated_by']}")
    st.graphviz_chart(data["dot"], width="stretch")
    found = data["flags"]
    if found.empty:
        st.success("No flags on this lane.", icon=":material/verified:")
    else:
        st.markdown(f"**Flags** ({len(found)})")
        st.dataframe(presentation.masked(found[["seq", "role", "location", "partner_code", "flag", "detail"]]),
                     hide_index=True,
                     width="stretch")
    if not actor.can_write:
        return
    round_ = st.session_state.get("lanes_form_round", 0)
    with st.expander("Edit lane", icon=":material/edit:"):
        with st.form(f"lanes_edit_{lane_id}_{round_}"):
            values = _lane_fields(f"edit{lane_id}_{round_}", lane)
            edited = _node_editor(f"lanes_edit_nodes_{lane_id}_{round_}", data["rows"], _place_labels(url, version))
            submitted = st.form_submit_button("Save lane", type="primary", icon=":material/save:")
        if submitted:
            _save(actor, {**values, "status": lane["status"]}, _rows(edited), lane_id, lane["version"])
    target = LaneStatus.inactive if lane["status"] == LaneStatus.active else LaneStatus.active
    if st.button("Retire lane" if target == LaneStatus.inactive else "Reactivate lane", key="lanes_status_button",
                 icon=":material/block:" if target == LaneStatus.inactive else ":material/undo:"):
        if state.write(lambda s: registry.set_lane_status(session=s, actor=actor, lane_id=lane_id, status=target),
                       success=f"Lane {lane['code']} is now {target}.", flash_key=FLASH):
            st.rerun()


def _flags_tab(url: str, version: tuple, today: date) -> None:
    found = _flags(url, version, today)
    if found.empty:
        st.success("No flags on any lane.", icon=":material/verified:")
        return
    kinds = st.multiselect("Flags", lane_flags.FLAG_KINDS, key="lanes_flag_kinds", placeholder="All flags")
    shown = found[found["flag"].isin(kinds)] if kinds else found
    counts = shown["flag"].value_counts()
    st.dataframe(pd.DataFrame({"flag": counts.index, "nodes": counts.values,
                               "what to do": [FLAG_HELP.get(f, "") for f in counts.index]}),
                 hide_index=True, width="stretch")
    table = shown[["lane_code", "lane_name", "seq", "role", "location", "partner_code", "flag", "detail"]]
    st.dataframe(presentation.masked(table), hide_index=True, width="stretch", height=min(38 + 35 * len(table), 560))
    st.download_button("Download the flags (CSV)", data=lambda: _csv(table), file_name="lane flags.csv",
                       mime="text/csv", icon=":material/download:", on_click="ignore", key="lanes_flags_csv")


def _csv(frame: pd.DataFrame) -> bytes:
    text = frame.astype(str)
    text = text.where(~text.apply(lambda c: c.str.match(r"^[=+\-@\t\r]")), "'" + text)
    return text.to_csv(index=False).encode("utf-8-sig")


def _import_tab(actor: Actor) -> None:
    st.caption("One row per node: lane_code, lane_name, mode, seq, role, partner_code, site, place (UN/LOCODE), "
               "custody, mode_to_next, rests, dwell_hours, custody_change, seal_applied, seal_verified, "
               "transmits_data, notes (docs/import-formats.md, section Lanes). A lane code that exists replaces that "
               "lane. Nothing is written while the file has errors.")
    round_ = st.session_state.setdefault("lanes_import_round", 0)
    upload = st.file_uploader("Lane file", type=FILE_TYPES, key=f"lanes_import_file_{round_}")
    if upload is None:
        return
    data = upload.getvalue()
    fingerprint = (upload.name, hashlib.sha256(data).hexdigest())
    held = st.session_state.get("lanes_import_preview")
    if not held or held[0] != fingerprint:
        with st.spinner("Checking the file…"), state.session() as s:
            held = (fingerprint, lane_import.preview_lanes(session=s, filename=upload.name, data=data))
        st.session_state["lanes_import_preview"] = held
    preview = held[1]
    counts = preview.counts
    cols = st.columns(4)
    for column, (label, count) in zip(cols, counts.items(), strict=True):
        column.metric(label.capitalize(), f"{count:,}")
    if not preview.lanes.empty:
        st.dataframe(preview.lanes, hide_index=True, width="stretch",
                     column_config={"first_row": st.column_config.NumberColumn("first row", format="%d")})
    errors = preview.error_count
    if errors:
        st.error(f"{errors:,} errors: nothing can be imported until they are fixed in the file.",
                 icon=":material/error:")
    if not preview.problems.empty:
        st.dataframe(preview.problems, hide_index=True, width="stretch",
                     column_config={"row": st.column_config.NumberColumn(format="%d")})
        st.download_button("Download the problems (CSV)", tabular.problems_csv(preview.problems),
                           file_name="lane problems.csv", mime="text/csv", icon=":material/download:",
                           on_click="ignore", key="lanes_problems_csv")
    nothing = not preview.writes
    if nothing and not preview.has_errors:
        st.info("Nothing to import: every lane in the file is stored as it is.")
    if st.button("Import", type="primary", icon=":material/upload:", disabled=preview.has_errors or nothing,
                 key="lanes_import_apply"):
        try:
            with state.session() as s:
                lane_import.apply_lanes(session=s, actor=actor, preview=preview)
        except (ValidationError, PermissionDenied) as exc:
            st.error(str(exc))
            return
        state.invalidate()
        st.session_state.pop("lanes_import_preview", None)
        st.session_state["lanes_import_round"] = round_ + 1
        st.session_state[FLASH] = (f"Imported {upload.name}: {counts['new']} new and {counts['replace']} replaced "
                                   "lanes.")
        st.rerun()


def _places_tab(url: str, version: tuple, actor: Actor) -> None:
    frame = _places(url, version)
    kinds = st.multiselect("Kinds", [k.value for k in PlaceKind], key="lanes_place_kinds",
                           format_func=lambda k: PLACE_KIND_LABELS.get(k, k), placeholder="All kinds")
    shown = frame[frame["kind"].isin(kinds)] if kinds else frame
    st.dataframe(presentation.masked(shown.drop(columns=["id"])), hide_index=True, width="stretch", height=420,
                 column_config={"updated_at": st.column_config.DatetimeColumn("last change", format="YYYY-MM-DD"),
                                "is_reference": st.column_config.CheckboxColumn("reference")})
    st.caption("Partner sites are places too: they are kept with their partner and picked by partner code and site "
               "name in a lane. " + places.PLACES_ATTRIBUTION)
    if not actor.is_admin:
        return
    countries = _countries(url)
    with st.expander("Add a place", icon=":material/add_location_alt:"):
        round_ = st.session_state.get("lanes_place_round", 0)
        country = st.selectbox("Country", sorted(countries), key=f"lanes_place_country_{round_}", index=None,
                               format_func=lambda c: f"{countries.get(c, c)} ({c})", placeholder="Choose")
        with st.form(f"lanes_place_form_{round_}"):
            cols = st.columns(3)
            values = {
                "name": cols[0].text_input("Name", max_chars=120),
                "kind": cols[1].selectbox("Kind", [k.value for k in PlaceKind],
                                          format_func=lambda k: PLACE_KIND_LABELS.get(k, k)),
                "code": cols[2].text_input("UN/LOCODE (if it has one)", max_chars=10),
                "country_iso2": country or "",
                "region_code": cols[0].selectbox("Region", ["", *regions(country or "")],
                                                 format_func=lambda r: regions(country or "").get(r, "– none –")),
                "latitude": cols[1].number_input("Latitude", min_value=-90.0, max_value=90.0, value=None,
                                                 format="%.4f"),
                "longitude": cols[2].number_input("Longitude", min_value=-180.0, max_value=180.0, value=None,
                                                  format="%.4f"),
                "source": st.text_input("Source of the coordinates", max_chars=500),
                "notes": st.text_input("Notes", max_chars=1000)}
            submitted = st.form_submit_button("Add place", type="primary", icon=":material/add:")
        if submitted and state.write(lambda s: places.create_place(session=s, actor=actor, values=values),
                                     success=f"Added place {values['name']}.", flash_key=FLASH):
            st.session_state["lanes_place_round"] = round_ + 1
            st.rerun()


def render() -> None:
    actor = auth.require_role()
    if actor is None:
        return
    st.title("Cargo flow")
    st.caption("Step 1 of CBP's risk assessment (MSC 2.2): every lane from the origin where cargo is stuffed to the "
               "distribution center, who has custody at each node (direct or subcontracted), where cargo rests, "
               "where seals are applied and checked, and who transmits the shipment data.")
    _flash()
    url, today = state.database_url(), date.today()
    version = _version(url)
    names = TAB_NAMES if actor.can_write else [t for t in TAB_NAMES if t != "Import"]
    tabs = dict(zip(names, st.tabs(names, key="lanes_tab", on_change="rerun"), strict=True))
    if tabs["Map"].open:
        with tabs["Map"]:
            _map_tab(url, version, today)
    if tabs["Lanes"].open:
        with tabs["Lanes"]:
            _lanes_tab(url, version, actor, today)
    if tabs["Flags"].open:
        with tabs["Flags"]:
            _flags_tab(url, version, today)
    if "Import" in tabs and tabs["Import"].open:
        with tabs["Import"]:
            _import_tab(actor)
    if tabs["Places"].open:
        with tabs["Places"]:
            _places_tab(url, version, actor)
