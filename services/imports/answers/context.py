"""What an answer import checks against: the cycle, its partners, and the criteria that apply to each type."""

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sqlalchemy import String, type_coerce
from sqlmodel import Session, col, select

from models import Assignment, Criterion, Cycle, Partner
from models.collection import CycleStatus
from models.common import Requirement
from services.core import bulk
from services.core.permissions import ValidationError
from services.reference.applicability import question_sets_for_partners


@dataclass
class CycleContext:
    """The cycle's partners and the criteria each of them is asked, loaded once per preview.

    Criteria are numbered by their position in `ids`, question sets (partners of one entity type with the same
    roles, services.reference.applicability) by their position in `entities`, which holds each set's entity type;
    one extra row of `applies` and `must`, all False, stands for partners that are unknown or not in the cycle.
    """

    cycle: Cycle
    partners: pd.DataFrame  # index partner_code (upper case): partner_id, legal_name, entity, assignment_id, status
    ids: np.ndarray
    index: dict[str, int]
    entities: list[str]
    applies: np.ndarray  # bool [entity, criterion]
    must: np.ndarray  # bool [entity, criterion]: a must criterion for that entity type (where it applies)
    number_order: dict[str, int]
    default_order: dict[str, tuple]  # questionnaire order with each criterion's own must/should
    entity_order: list[dict[str, tuple]]  # per entity: questionnaire order of its criteria
    short_to_long: dict[str, str]  # "4.1" -> "4.10": ids a spreadsheet number can stand for

    @classmethod
    def load(cls, session: Session, cycle_id: int) -> "CycleContext":
        cycle = session.get(Cycle, cycle_id)
        if cycle is None:
            raise ValidationError(f"No cycle with id {cycle_id}.")
        if cycle.status != CycleStatus.open:
            raise ValidationError(f"Cycle '{cycle.name}' is closed; answers can only be imported into an open cycle.")
        catalogue = pd.DataFrame(session.exec(select(Criterion.criterion_id, Criterion.category_number,
                                                     Criterion.sort_key, Criterion.requirement)
                                              .order_by(Criterion.sort_key)).all(),
                                 columns=["criterion_id", "category_number", "sort_key", "requirement"])
        ids = catalogue["criterion_id"].to_numpy(dtype=object)
        index = {cid: i for i, cid in enumerate(ids)}
        # The driver's tuples, not ORM or Core rows: ten thousand partners cost a tenth of a second through the
        # ORM's row loading, and still several hundredths through Core's rows and the status enum's conversion.
        names = ["partner_code", "partner_id", "legal_name", "entity_type", "assignment_id", "status"]
        partners = bulk.read_plain(session.connection(), select(
            Partner.partner_code, Partner.id, Partner.legal_name, Partner.entity_type, Assignment.id,
            type_coerce(Assignment.status, String))
            .outerjoin(Assignment, (col(Assignment.partner_id) == Partner.id) & (Assignment.cycle_id == cycle_id)),
            names)
        # What each partner of the cycle is asked (services.reference.applicability): one row of `applies` per
        # question set (partners of a type with the same roles), labelled with its entity type.
        members, sets = question_sets_for_partners(
            session=session, partner_ids=partners.loc[partners["assignment_id"].notna(), "partner_id"].tolist())
        entities = members.merge(partners[["partner_id", "entity_type"]], on="partner_id").drop_duplicates(
            "set_id").sort_values("set_id")["entity_type"].tolist()
        applies = np.zeros((len(entities) + 1, len(ids)), dtype=bool)
        at = (sets["set_id"].to_numpy(dtype="int64"), sets["criterion_id"].map(index).to_numpy())
        applies[at] = True
        must = np.zeros_like(applies)
        must[at] = sets["requirement"].eq(Requirement.must).to_numpy()
        entity_order: list[dict[str, tuple]] = [{} for _ in entities]
        for entity, cid, order in zip(sets["set_id"], sets["criterion_id"], zip(
                sets["category_number"], sets["requirement"].ne(Requirement.must).astype(int), sets["sort_key"],
                strict=True), strict=True):
            entity_order[entity][cid] = order
        partners["partner_code"] = partners["partner_code"].str.upper()
        partners["entity"] = partners["partner_id"].map(members.set_index("partner_id")["set_id"]).fillna(
            len(entities)).astype("int64")
        partners["assignment_id"] = partners["assignment_id"].fillna(-1).astype("int64")
        partners["status"] = partners["status"].fillna("")
        partners = partners.drop_duplicates("partner_code").set_index("partner_code")
        return cls(
            cycle=cycle, partners=partners[["partner_id", "legal_name", "entity", "assignment_id", "status"]],
            ids=ids, index=index, entities=entities, applies=applies, must=must,
            number_order=dict(zip(catalogue["criterion_id"], catalogue["sort_key"], strict=True)),
            default_order=dict(zip(ids, zip(catalogue["category_number"], catalogue["requirement"].ne(Requirement.must)
                                            .astype(int), catalogue["sort_key"], strict=True), strict=True)),
            entity_order=entity_order,
            short_to_long={cid[:-1]: cid for cid in index if cid.endswith("0") and len(cid.split(".")[1]) == 2},
        )

