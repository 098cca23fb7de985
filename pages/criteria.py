"""Criteria: CBP's Minimum Security Criteria, which entity types each applies to, and the questions partners get."""

import hashlib
import re

import pandas as pd
import streamlit as st

from models.common import ENTITY_TYPES, LANGUAGES, Applicability, Requirement
from services.core.permissions import Actor
from services.reference import criteria
from services.reference.loader import CRITERIA_CAVEATS
from ui import auth, labels, state
from ui.questions import question_markdown
from ui.text import plain

PICK = "criteria_pick"  # id of the criterion whose detail is open
SEEN = "criteria_seen"  # the selection last seen in each table, so only a new click opens a criterion
CRITERION_ID = re.compile(r"^\d{1,2}\.\d{1,2}$")
ROW_HEIGHT = 35  # pixels per table row: category tables are drawn at full height, without inner scrolling
MARKS = {"CBP source": "", "role rule": "*", criteria.ADMIN_OVERRIDE: "†"}
# A criterion's must/should: "" where the sources do not confirm it (6.4 today), so the figures add up.
REQUIREMENTS = {Requirement.must: "Must", Requirement.should: "Should", "": "Not confirmed"}


@st.cache_data(show_spinner=False)
def _catalogue(url: str) -> dict[str, pd.DataFrame]:
    with state.session() as s:
        return {"criteria": criteria.list_criteria(session=s),
                "applicability": criteria.applicability(session=s),
                "questions": criteria.question_texts(session=s),
                "type_texts": criteria.entity_type_texts(session=s)}


@st.cache_data(show_spinner=False)
def _questionnaire_set(url: str, entity_type: str) -> pd.DataFrame:
    with state.session() as s:
        return criteria.criteria_for_entity_type(session=s, entity_type=entity_type)


def _caveats() -> None:
    st.warning("**Read these criteria with care.**\n\n" + "\n".join(f"- {c}" for c in CRITERIA_CAVEATS),
               icon=":material/warning:")


def _filtered(data: dict[str, pd.DataFrame], entity_type: str | None, requirements: list[str],
              text: str, bases: list[str] = ()) -> pd.DataFrame:
    """Criteria shown: the whole catalogue or the entity type's questionnaire set, narrowed by must/should, basis
    (of the entity type's rows, or of any row in the catalogue) and text."""
    url = state.database_url()
    frame = data["criteria"] if entity_type is None else _questionnaire_set(url, entity_type)
    applies = data["applicability"]
    counts = applies[applies["applies"] == Applicability.yes].groupby("criterion_id").size()
    frame = frame.assign(applies_to=frame["criterion_id"].map(counts).fillna(0).astype(int))
    if requirements:
        frame = frame[frame["requirement"].isin(requirements)]
    if bases:
        frame = frame[frame["basis"].isin(bases)] if entity_type else frame[frame["criterion_id"].isin(
            applies.loc[applies["basis"].isin(bases), "criterion_id"])]
    if CRITERION_ID.match(text):  # an id finds that criterion only: "4.1" is not 4.10 or 4.11
        frame = frame[frame["criterion_id"] == text]
    elif text:
        questions = data["questions"].set_index("criterion_id")["en"]
        haystack = (frame["criterion_id"] + " " + frame["category"] + " " + frame["summary"] + " " + frame["caveat"]
                    + " " + frame["criterion_id"].map(questions).fillna("")).str.lower()
        frame = frame[haystack.str.contains(text.lower(), regex=False)]
    return frame.sort_values(["category_number", "sort_key"], ignore_index=True)


def _summary(frame: pd.DataFrame, entity_type: str | None) -> None:
    """Criteria shown = must + should + not confirmed: the figures add up, and the odd ones are named."""
    unconfirmed = frame.loc[frame["requirement"] == "", "criterion_id"].tolist()
    cols = st.columns(5 if unconfirmed else 4)
    cols[0].metric("Criteria shown", len(frame))
    cols[1].metric("Must", int((frame["requirement"] == Requirement.must).sum()))
    cols[2].metric("Should", int((frame["requirement"] == Requirement.should).sum()))
    if unconfirmed:
        cols.pop(3).metric("Must/should not confirmed", len(unconfirmed),
                           help="CBP's sources in seed/reference do not say whether these are must or should: "
                                f"{', '.join(unconfirmed)}.")
        st.caption(f"Must/should not confirmed in the sources: {', '.join(unconfirmed)} "
                   f"({'; '.join(frame.loc[frame['requirement'] == '', 'summary'].map(plain))}). Treat "
                   f"{'it' if len(unconfirmed) == 1 else 'them'} as must until CBP's document says otherwise.")
    if entity_type:
        cols[3].metric("To confirm", int((frame["applies"] == Applicability.unknown).sum()),
                       help="Applies 'unknown': neither a CBP source nor a clear role rule decides. Partners are "
                       "asked; an admin confirms or overrides.")
        bases = frame["basis"].value_counts()
        st.caption(f"The questionnaire for a **{entity_type}** asks these {len(frame)} criteria (those that apply), "
                   "must first: " + ", ".join(f"{n} on {b}" for b, n in bases.items()) + ". Criteria with a "
                   "condition are asked only of partners with that role (the partner's role flags).")
    else:
        cols[3].metric("Categories", frame["category_number"].nunique())


def _catalogue_tab(frame: pd.DataFrame, entity_type: str | None, data: dict, actor: Actor, sig: str) -> None:
    """Tables by focus area and category; a clicked row opens the criterion right under its table."""
    columns = ["criterion_id", "requirement", "applies_to", "summary", "caveat",
               *(["applies", "basis", "condition", "note"] if entity_type else [])]
    # Fixed widths so that the tables of all categories line up.
    widths = {"criterion_id": 80, "requirement": 95, "summary": 480, "caveat": 180, "basis": 120, "applies": 80,
              "condition": 180, "note": 200, "applies_to": 95}
    config = {column: st.column_config.TextColumn(labels.label(column), width=width)
              for column, width in widths.items()}
    config["applies"] = st.column_config.TextColumn(labels.label("applies"), width=80,
                                                    help="unknown: asked, to confirm")
    config["requirement"] = st.column_config.SelectboxColumn(labels.label("requirement"), width=95,
                                                             options=list(REQUIREMENTS), format_func=REQUIREMENTS.get)
    config["applies_to"] = st.column_config.NumberColumn(labels.label("applies_to"), width=95,
                                                         help="How many of the 12 entity types it applies to.")
    seen = st.session_state.setdefault(SEEN, {})
    slots = {}
    for focus_area, area in frame.groupby("focus_area", sort=False):
        st.subheader(focus_area)
        for (number, category), group in area.groupby(["category_number", "category"], sort=False):
            st.markdown(f"**{number}. {category}**")
            key = f"criteria_table_{number}_{sig}"
            event = labels.table(group, columns, overrides=config, key=key, on_select="rerun",
                                 selection_mode="single-row", height=ROW_HEIGHT * (len(group) + 1) + 3)
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
        st.badge(crit["requirement"] or "must/should not confirmed",
                 color="red" if crit["requirement"] == Requirement.must else "blue")
        st.markdown(crit["summary"])
        if crit["caveat"]:
            st.warning(crit["caveat"], icon=":material/warning:")
        st.caption(f"Source: {crit['source']}")
        st.markdown("**Question asked of partners**")
        questions = data["questions"].set_index("criterion_id")
        for col, (code, language) in zip(st.columns(len(LANGUAGES)), LANGUAGES.items(), strict=True):
            text = questions[code].get(cid) if code in questions else None
            col.markdown(f"*{language}*  \n{question_markdown(text) if isinstance(text, str) and text else '–'}")
        worded = data["type_texts"][data["type_texts"]["criterion_id"] == cid]
        for entity, texts in worded.groupby("entity_type", sort=False):
            with st.expander(f"Worded for {entity}"):
                for col, (code, language) in zip(st.columns(len(LANGUAGES)), LANGUAGES.items(), strict=True):
                    text = texts.loc[texts["language"] == code, "question"]
                    col.markdown(f"*{language}*  \n{question_markdown(text.iloc[0]) if len(text) else '–'}")
        st.markdown("**Applies to**")
        rows = data["applicability"]
        rows = rows[rows["criterion_id"] == cid][["entity_type", "applies", "requirement", "basis", "condition",
                                                   "note"]]
        labels.table(rows)
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
    if submitted and state.write(
        lambda s: criteria.set_applicability(session=s, actor=actor, criterion_id=cid, entity_type=entity,
                                             applies=applies, note=note),
        success=f"Saved: {cid} for {entity} applies {applies} (admin override).", flash_key="criteria_flash",
    ):
        st.rerun()
    if now.get("basis") == criteria.ADMIN_OVERRIDE and st.button(
            "Undo the override", key=f"criteria_restore_{cid}_{entity}", icon=":material/undo:",
            help="Back to the CBP source or role rule the product ships for this pair."):
        if state.write(lambda s: criteria.restore_shipped_applicability(session=s, actor=actor, criterion_id=cid,
                                                                        entity_type=entity),
                       success=f"{cid} for {entity} follows the shipped rule again.", flash_key="criteria_flash"):
            st.rerun()


def _matrix_tab(frame: pd.DataFrame, data: dict) -> None:
    rows = data["applicability"]
    rows = rows[rows["criterion_id"].isin(frame["criterion_id"])]
    cells = rows.assign(cell=rows["applies"] + rows["basis"].map(MARKS).fillna("")
                        + rows["role_condition"].ne("").map({True: "◦", False: ""}))
    matrix = (cells.pivot(index="criterion_id", columns="entity_type", values="cell")
              .reindex(index=frame["criterion_id"], columns=[e for e in ENTITY_TYPES if e in set(rows["entity_type"])])
              .fillna("–"))
    st.caption("yes / no / unknown (asked, to confirm); * role rule, † admin override, no mark: CBP source; ◦ only "
               "for partners with the role the criterion is about (see the criterion); – no row.")
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
    c1, c2, c4, c3 = st.columns([2, 1, 1, 2])
    entity_type = c1.selectbox("Entity type", ENTITY_TYPES, index=None, key="criteria_entity",
                               placeholder="All entity types (the whole catalogue)",
                               help="Pick one to see its questionnaire set: the criteria that apply to it.")
    requirements = c2.multiselect("Must / should", list(REQUIREMENTS), format_func=REQUIREMENTS.get,
                                  key="criteria_requirement", placeholder="All")
    bases = c4.multiselect("Basis", criteria.BASES, key="criteria_basis", placeholder="Any",
                           help="What the applicability rests on: a CBP source, a role rule (the rule in words in "
                           "the note) or an admin override.")
    text = (c3.text_input("Search", key="criteria_search", icon=":material/search:",
                          placeholder="criterion id (4.10) or words") or "").strip()
    frame = _filtered(data, entity_type, requirements, text, bases)
    _summary(frame, entity_type)
    if frame.empty:
        st.info("No criterion matches.")
        return
    sig = hashlib.sha1(repr((entity_type, requirements, text, bases)).encode()).hexdigest()[:10]
    catalogue, matrix = st.tabs(["Catalogue", "Applicability matrix"], key="criteria_tab", on_change="rerun")
    if catalogue.open:
        with catalogue:
            _catalogue_tab(frame, entity_type, data, actor, sig)
    if matrix.open:
        with matrix:
            _matrix_tab(frame, data)
