"""The MSC catalogue: criteria, which entity types each applies to, question texts, admin corrections."""

import pandas as pd
from sqlmodel import Session, select

from models import Criterion, CriterionApplicability, CriterionText
from models.common import ENTITY_TYPES, LANGUAGES, Applicability, Requirement
from models.reference import Basis, RoleDefault
from services.core import audit
from services.core.permissions import Actor, ValidationError, require_admin
from services.reference import loader
from services.reference.applicability import condition_text, type_questionnaire
from services.reference.questions import compose

APPLIES: tuple[str, ...] = tuple(Applicability)
ADMIN_OVERRIDE = Basis.admin.value
BASES: tuple[str, ...] = tuple(b.value for b in Basis)
CRITERION_COLUMNS = ["criterion_id", "focus_area", "category_number", "category", "requirement", "summary", "caveat",
                     "source", "sort_key"]
# role_condition: PartnerRole values joined by "|"; applicability() adds "condition", the same in words.
APPLICABILITY_COLUMNS = ["id", "criterion_id", "entity_type", "applies", "requirement", "basis", "note", "source",
                         "role_condition", "sort_key"]
_REQUIREMENT_ORDER = {Requirement.must: 0, Requirement.should: 1}


def list_criteria(*, session: Session) -> pd.DataFrame:
    """Every criterion, by category number then criterion number (4.10 after 4.9)."""
    rows = session.exec(select(*(getattr(Criterion, c) for c in CRITERION_COLUMNS))
                        .order_by(Criterion.category_number, Criterion.sort_key)).all()
    return pd.DataFrame(rows, columns=CRITERION_COLUMNS)


def question_texts(*, session: Session) -> pd.DataFrame:
    """The question asked for each criterion (its general wording, with checks and recommended part), one column
    per questionnaire language (en, es, zh)."""
    rows = session.exec(select(CriterionText.criterion_id, CriterionText.language, CriterionText.question,
                               CriterionText.checks, CriterionText.recommended)
                        .where(CriterionText.entity_type == "")).all()
    long = pd.DataFrame([(r.criterion_id, r.language, compose(r.question, r.checks, r.recommended, r.language))
                         for r in rows], columns=["criterion_id", "language", "question"])
    wide = long.pivot(index="criterion_id", columns="language", values="question")
    return wide.reindex(columns=list(LANGUAGES)).rename_axis(columns=None).reset_index()


def _entity_order(frame: pd.DataFrame) -> pd.Series:
    return frame["entity_type"].map({e: i for i, e in enumerate(ENTITY_TYPES)}).fillna(len(ENTITY_TYPES))


def entity_type_texts(*, session: Session, criterion_id: str | None = None) -> pd.DataFrame:
    """Questions worded for one entity type (5.3's 17-point inspection for highway carriers): criterion_id,
    entity_type, language, question (composed); of one criterion, or of all."""
    stmt = select(CriterionText.criterion_id, CriterionText.entity_type, CriterionText.language,
                  CriterionText.question, CriterionText.checks, CriterionText.recommended
                  ).where(CriterionText.entity_type != "")
    if criterion_id is not None:
        stmt = stmt.where(CriterionText.criterion_id == criterion_id)
    return pd.DataFrame([(r.criterion_id, r.entity_type, r.language,
                          compose(r.question, r.checks, r.recommended, r.language)) for r in session.exec(stmt).all()],
                        columns=["criterion_id", "entity_type", "language", "question"])


def applicability(*, session: Session, entity_type: str | None = None) -> pd.DataFrame:
    """Applicability rows (criterion x entity type: applies, basis, note, role condition), in criterion then
    entity-type order; "condition" is the role condition in words ("only if: ...")."""
    stmt = (select(*(getattr(CriterionApplicability, c) for c in APPLICABILITY_COLUMNS[:-1]), Criterion.sort_key)
            .join(Criterion, Criterion.criterion_id == CriterionApplicability.criterion_id))
    if entity_type:
        stmt = stmt.where(CriterionApplicability.entity_type == entity_type)
    frame = pd.DataFrame(session.exec(stmt).all(), columns=APPLICABILITY_COLUMNS)
    frame = frame.assign(_entity=_entity_order(frame)).sort_values(["sort_key", "_entity"], ignore_index=True)
    return frame.drop(columns="_entity").assign(condition=frame["role_condition"].map(condition_text))


def criteria_for_entity_type(*, session: Session, entity_type: str) -> pd.DataFrame:
    """The questionnaire set for an entity type: criteria that apply (yes, or unknown: asked and to confirm) to a
    partner of that type with its type's default roles, must first, then by criterion number.

    ``requirement`` is the entity type's own must/should where the sources give one, else the criterion's.
    ``condition`` names the partner role a criterion depends on; ``asked_by_default`` is RoleDefault.by_country for the
    land-border criteria, asked of partners in Canada and Mexico (seed/entity-roles.csv).
    """
    if entity_type not in ENTITY_TYPES:
        raise ValidationError(f"'{entity_type}' is not a CTPAT entity type.")
    rows = type_questionnaire(session=session, entity_type=entity_type)
    rows = rows[rows["asked_by_default"] != RoleDefault.no]
    notes = applicability(session=session, entity_type=entity_type).set_index("criterion_id")["note"]
    rows = rows.assign(note=rows["criterion_id"].map(notes).fillna(""))[
        ["criterion_id", "requirement", "applies", "basis", "note", "role_condition", "condition", "asked_by_default"]]
    merged = list_criteria(session=session).merge(rows, on="criterion_id", suffixes=("_criterion", ""))
    merged["_order"] = merged["requirement"].map(_REQUIREMENT_ORDER).fillna(len(_REQUIREMENT_ORDER))
    merged = merged.sort_values(["_order", "sort_key"], ignore_index=True)
    return merged.drop(columns=["_order", "requirement_criterion"])


def set_applicability(
    *, session: Session, actor: Actor, criterion_id: str, entity_type: str, applies: str, note: str
) -> CriterionApplicability:
    """An admin decides whether a criterion applies to an entity type; the row's basis becomes "admin override".

    A pair without a row yet gets one. Nothing is recorded when nothing changes.
    """
    require_admin(actor)
    if session.get(Criterion, criterion_id) is None:
        raise ValidationError(f"No criterion {criterion_id}.")
    if entity_type not in ENTITY_TYPES:
        raise ValidationError(f"'{entity_type}' is not a CTPAT entity type.")
    if applies not in APPLIES:
        raise ValidationError(f"Applies must be one of: {', '.join(APPLIES)}.")
    note = (note or "").strip()
    if len(note) > 500:
        raise ValidationError("Note: at most 500 characters.")
    row = session.exec(select(CriterionApplicability).where(
        CriterionApplicability.criterion_id == criterion_id, CriterionApplicability.entity_type == entity_type
    )).first()
    before = {"applies": row.applies, "basis": row.basis, "note": row.note} if row else None
    after = {"applies": applies, "basis": ADMIN_OVERRIDE, "note": note}
    if before == after:
        return row
    row = row or CriterionApplicability(criterion_id=criterion_id, entity_type=entity_type, applies=applies,
                                        basis=ADMIN_OVERRIDE)
    row.applies, row.basis, row.note = applies, ADMIN_OVERRIDE, note
    session.add(row)
    session.flush()
    audit.record(session=session, actor=actor, action="update" if before else "create", entity="criterion",
                 entity_id=criterion_id, summary=f"Set {criterion_id} for {entity_type}: applies {applies}",
                 before=before, after=after)
    return row


def restore_shipped_applicability(
    *, session: Session, actor: Actor, criterion_id: str, entity_type: str
) -> CriterionApplicability:
    """An admin hands an overridden pair back to its CBP source or role rule (from the seed files); audited."""
    require_admin(actor)
    row = session.exec(select(CriterionApplicability).where(
        CriterionApplicability.criterion_id == criterion_id, CriterionApplicability.entity_type == entity_type
    )).first()
    if row is None or row.basis != ADMIN_OVERRIDE:
        raise ValidationError(f"{criterion_id} for {entity_type} has no admin override to undo.")
    shipped = loader.shipped_applicability().set_index(["criterion_id", "entity_type"])
    if (criterion_id, entity_type) not in shipped.index:
        raise ValidationError(f"No shipped rule for {criterion_id} and {entity_type}.")
    values = shipped.loc[(criterion_id, entity_type)][list(loader.APPLICABILITY_FIELDS)].to_dict()
    before = {"applies": row.applies, "basis": row.basis, "note": row.note}
    for field, value in values.items():
        setattr(row, field, value)
    session.add(row)
    session.flush()
    audit.record(session=session, actor=actor, action="update", entity="criterion", entity_id=criterion_id,
                 summary=f"Undid the override of {criterion_id} for {entity_type}: back to the {row.basis} "
                 f"(applies {row.applies})",
                 before=before, after={"applies": row.applies, "basis": row.basis, "note": row.note})
    return row
