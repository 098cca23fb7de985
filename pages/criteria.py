"""Criteria: CBP's Minimum Security Criteria, which entity types each applies to, and the questions partners get."""

import hashlib
import re

import pandas as pd
import streamlit as st

from models.common import ENTITY_TYPES, LANGUAGES, Applicability, Requirement
from services.core.permissions import Actor, ValidationError
from services.reference import criteria
from services.reference.loader import CRITERIA_CAVEATS
from ui import auth, state

PICK = "criteria_pick"  # id of the criterion whose detail is open
SEEN = "criteria_seen"  # the selection last seen in each table, so only a new click opens a criterion
CRITERION_ID = re.compile(r"^\d{1,2}\.\d{1,2}$")
ROW_HEIGHT = 35  # pixels per table row: category tables are drawn at full height, without inner scrolling
MARKS = {"CBP source": "", "product default": "*", criteria.ADMIN_OVERRIDE: "†"}


@st.cache_data(show_spinner=False)
def _catalogue(url: str) -> dict[str, pd.DataFrame]:
    with state.session() as s:
        return {"criteria": criteria.list_criteria(session=s),
                "applicability": criteria.applicability(session=s),
                "questions": criteria.question_texts(session=s)}


@st.cache_data(show_spinner=False)
def _questionnaire_set(url: str, entity_type: str) -> pd.DataFrame:
    with state.session() as s:
        return criteria.criteria_for_entity_type(session=s, entity_type=entity_type)


def _caveats() -> None:
    st.warning("**Read these criteria with care.**\n\n" + "\n".join(f"- {c}" for c in CRITERIA_CAVEATS),
               icon=":material/warning:")


def _filtered(data: dict[str, pd.DataFrame], entity_type: str | None, requirements: list[str],
              text: str) -> pd.DataFrame:
    """Criteria shown: the whole catalogue or the entity type's questionnaire set, narrowed by must/should and text."""
    url = state.database_url()
    frame = data["criteria"] if entity_type is None else _questionnaire_set(url, entity_type)
    applies = data["applicability"]
    counts = applies[applies["applies"] == Applicability.yes].groupby("criterion_id").size()
    frame = frame.assign(applies_to=frame["criterion_id"].map(counts).fillna(0).astype(int))
    if requirements:
        frame = frame[frame["requirement"].isin(requirements)]
    if CRITERION_ID.match(text):  # an id finds that criterion only: "4.1" is not 4.10 or 4.11
        frame = frame[frame["criterion_id"] == text]
    elif text:
        questions = data["questions"].set_index("criterion_id")["en"]
        haystack = (frame["criterion_id"] + " " + frame["category"] + " " + frame["summary"] + " " + frame["caveat"]
                    + " " + frame["criterion_id"].map(questions).fillna("")).str.lower()
        frame = frame[haystack.str.contains(text.lower(), regex=False)]
    return frame.sort_values(["category_number", "sort_key"], ignore_index=True)


def _summary(frame: pd.DataFrame, entity_type: str | None) -> None:
    cols = st.columns(4)
    cols[0].metric("Criteria shown", len(frame))
    cols[1].metric("Must", int((frame["requirement"] == Requirement.must).sum()))
    cols[2].metric("Should", int((frame["requirement"] == Requirement.should).sum()))
    if entity_type:
        defaults = int((frame["basis"] == "product default").sum())
        cols[3].metric("On the product default", defaults, help="Applicability no CBP source decides for this "
                       "entity type; see the caveats above.")
        st.caption(f"The questionnaire for a **{entity_type}** asks these {len(frame)} criteria (those that apply), "
                   "must first.")
    else:
        cols[3].metric("Categories", frame["category_number"].nunique())


def _catalogue_tab(frame: pd.DataFrame, entity_type: str | None, data: dict, actor: Actor, sig: str) -> None:
    """Tables by focus area and category; a clicked row opens the criterion right under its table."""
    columns = ["criterion_id", "requirement", "applies_to", "summary", "caveat",
               *(["basis", "note"] if entity_type else [])]
    # Fixed widths so that the tables of all categories line up.
    config = {"criterion_id": st.column_config.TextColumn("Criterion", width=80),
              "requirement": st.column_config.TextColumn("Must/should", width=95),
              "summary": st.column_config.TextColumn("Summary", width=480),
              "caveat": st.column_config.TextColumn("Caveat", width=180),
              "basis": st.column_config.TextColumn("Basis", width=120),
              "note": st.column_config.TextColumn("Note", width=200),
              "applies_to": st.column_config.NumberColumn("Entity types", width=95,
                                                          help="How many of the 12 entity types it applies to.")}
    seen = st.session_state.setdefault(SEEN, {})
    slots = {}
    for focus_area, area in frame.groupby("focus_area", sort=False):
        st.subheader(focus_area)
        for (number, category), group in area.groupby(["category_number", "category"], sort=False):
            st.markdown(f"**{number}. {category}**")
            key = f"criteria_table_{number}_{sig}"
            event = st.dataframe(group[columns], key=key, on_select="rerun", selection_mode="single-row",
                                 hide_index=True, width="stretch", column_config=config,
                                 height=ROW_HEIGHT * (len(group) + 1) + 3)
            slot = st.container()
            ids = group["criterion_id"].tolist()
            for cid in ids:
                slots[cid] = slot
            clicked = ids[event.selection.rows[0]] if event.selection.rows else None
            if seen.get(key) != clicked:
                seen[key] = clicked
                if clicked:
                    st.session_state[PICK] = clicked
    pick = st.session_state.get(PICK)
    if pick in slots:
        with slots[pick]:
            _detail(pick, data, actor)


def _close() -> None:
    st.session_state.pop(PICK, None)


def _detail(cid: str, data: dict, actor: Actor) -> None:
    crit = data["criteria"].set_index("criterion_id").loc[cid]
    with st.container(border=True):
        head, close = st.columns([5, 1], vertical_alignment="center")
        head.markdown(f"#### {cid} · {crit['category']}")
        close.button("Close", key="criteria_close", icon=":material/close:", on_click=_close)
        st.badge(crit["requirement"] or "must/should unconfirmed",
                 color="red" if crit["requirement"] == Requirement.must else "blue")
        st.markdown(crit["summary"])
        if crit["caveat"]:
            st.warning(crit["caveat"], icon=":material/warning:")
        st.caption(f"Source: {crit['source']}")
        st.markdown("**Question asked of partners**")
        questions = data["questions"].set_index("criterion_id")
        for col, (code, language) in zip(st.columns(len(LANGUAGES)), LANGUAGES.items(), strict=True):
            text = questions[code].get(cid) if code in questions else None
            col.markdown(f"*{language}*  \n{text if isinstance(text, str) and text else '–'}")
        st.markdown("**Applies to**")
        rows = data["applicability"]
        rows = rows[rows["criterion_id"] == cid][["entity_type", "applies", "requirement", "basis", "note"]]
        st.dataframe(rows, hide_index=True, width="stretch")
        if actor.is_admin:
            _override_form(cid, rows, actor)


def _override_form(cid: str, rows: pd.DataFrame, actor: Actor) -> None:
    st.markdown("**Correct the applicability** (admin)")
    entity = st.selectbox("Entity type", ENTITY_TYPES, key=f"criteria_override_type_{cid}")
    current = rows[rows["entity_type"] == entity]
    now = current.iloc[0].to_dict() if len(current) else {"applies": Applicability.unknown, "note": ""}
    with st.form(f"criteria_override_{cid}_{entity}"):
        applies = st.radio("Applies", criteria.APPLIES, index=criteria.APPLIES.index(now["applies"]),
                           horizontal=True)
        note = st.text_area("Note", value=now["note"], max_chars=500,
                            help="Why: e.g. the CBP document for this entity type that decides it.")
        submitted = st.form_submit_button("Save", type="primary", icon=":material/save:")
    if submitted:
        try:
            with state.session() as s:
                criteria.set_applicability(session=s, actor=actor, criterion_id=cid, entity_type=entity,
                                           applies=applies, note=note)
        except ValidationError as exc:
            st.error(str(exc))
            return
        state.invalidate()
        st.session_state["criteria_flash"] = f"Saved: {cid} for {entity} applies {applies} (admin override)."
        st.rerun()


def _matrix_tab(frame: pd.DataFrame, data: dict) -> None:
    rows = data["applicability"]
    rows = rows[rows["criterion_id"].isin(frame["criterion_id"])]
    cells = rows.assign(cell=rows["applies"] + rows["basis"].map(MARKS).fillna(""))
    matrix = (cells.pivot(index="criterion_id", columns="entity_type", values="cell")
              .reindex(index=frame["criterion_id"], columns=[e for e in ENTITY_TYPES if e in set(rows["entity_type"])])
              .fillna("–"))
    st.caption("yes / no / unknown; * product default, † admin override, no mark: CBP source; – no row.")
    st.dataframe(matrix.rename_axis("Criterion"), width="stretch", height=ROW_HEIGHT * 20)


def render() -> None:
    actor = auth.require_role()
    if actor is None:
        return
    st.title("Criteria")
    if message := st.session_state.pop("criteria_flash", None):
        st.success(message, icon=":material/check_circle:")
    _caveats()
    data = _catalogue(state.database_url())
    c1, c2, c3 = st.columns([2, 1, 2])
    entity_type = c1.selectbox("Entity type", ENTITY_TYPES, index=None, key="criteria_entity",
                               placeholder="All entity types (the whole catalogue)",
                               help="Pick one to see its questionnaire set: the criteria that apply to it.")
    requirements = c2.multiselect("Must / should", list(Requirement), key="criteria_requirement",
                                  placeholder="Both")
    text = (c3.text_input("Search", key="criteria_search", icon=":material/search:",
                          placeholder="criterion id (4.10) or words") or "").strip()
    frame = _filtered(data, entity_type, requirements, text)
    _summary(frame, entity_type)
    if frame.empty:
        st.info("No criterion matches.")
        return
    sig = hashlib.sha1(repr((entity_type, requirements, text)).encode()).hexdigest()[:10]
    catalogue, matrix = st.tabs(["Catalogue", "Applicability matrix"], key="criteria_tab", on_change="rerun")
    if catalogue.open:
        with catalogue:
            _catalogue_tab(frame, entity_type, data, actor, sig)
    if matrix.open:
        with matrix:
            _matrix_tab(frame, data)
