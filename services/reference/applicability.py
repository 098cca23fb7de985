"""Which criteria each partner is asked: its entity type's applicability, narrowed by what the partner does.

The one home of that rule. An entity type's rows (CBP source, role rule or admin override, one per criterion) say
whether a criterion applies: yes, no, or unknown (asked, flagged for an admin to confirm). A row may carry a role
condition (models.reference.PartnerRole values joined by "|"): the criterion is then asked only of partners with one
of those roles. A partner's roles are its own flags where set, else its entity type's defaults (seed/entity-roles.csv;
the land border also from its country). docs/APPLICABILITY.md explains the rules.
"""

from collections import namedtuple
from collections.abc import Iterable, Mapping
from functools import cache
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import update
from sqlmodel import Session, col, func, select

from models import Criterion, CriterionApplicability, Partner
from models.common import ENTITY_TYPES, Applicability, Requirement, utcnow
from models.reference import PartnerRole, RoleDefault, RoleSetting
from services.core import audit, bulk
from services.core.permissions import Actor, ValidationError, require_write
from services.reference import loader

ROLES: tuple[PartnerRole, ...] = tuple(PartnerRole)
ROLE_LABELS: dict[PartnerRole, str] = {
    PartnerRole.crosses_land_border: "Ships across a US land border",
    PartnerRole.stuffs_containers: "Loads and seals containers or trailers",
    PartnerRole.operates_conveyances: "Operates its own trucks, trains, vessels or aircraft",
    PartnerRole.handles_cargo: "Receives, stores or releases cargo at its premises",
}
ROLE_HELP: dict[PartnerRole, str] = {
    PartnerRole.crosses_land_border: "Its U.S.-bound goods cross the U.S.-Canada or U.S.-Mexico border by road. Asks "
    "the land-border criteria 5.16 (no unscheduled stops) and 5.24 (last check before the crossing).",
    PartnerRole.stuffs_containers: "It loads (stuffs) and seals the containers or trailers going to the U.S. Asks the "
    "shipper's criteria: container inspection, seals, supervised loading, seal photos and numbers (7.4, 7.5, 7.29).",
    PartnerRole.operates_conveyances: "It runs its own conveyances. Asks conveyance inspection, tracking and driver "
    "training criteria.",
    PartnerRole.handles_cargo: "Cargo is staged, stored or handed over at its premises or yards. Asks cargo staging, "
    "pick-up log, driver ID and cargo-area criteria.",
}
# What a partner is asked per criterion, in questionnaire order (category, must first, then 4.9 before 4.10).
PARTNER_COLUMNS = ["partner_id", "criterion_id", "category_number", "category", "requirement", "applies", "basis",
                   "role_condition", "sort_key"]
SET_COLUMNS = ["set_id", "entity_type", *PARTNER_COLUMNS[1:]]
_INDEX = {role.value: i for i, role in enumerate(ROLES)}
_FEW = 500
_OFF = (RoleDefault.no, frozenset())


def _default(written: str) -> tuple[RoleDefault, frozenset[str]]:
    """A default as seed/entity-roles.csv writes it (yes, no, or country codes), with the countries of one by
    country."""
    if written in (RoleDefault.yes, RoleDefault.no):
        return RoleDefault(written), frozenset()
    return RoleDefault.by_country, frozenset(written.split())


@cache
def _defaults() -> dict[str, dict[str, tuple[RoleDefault, frozenset[str]]]]:
    """Entity type -> role -> its default (seed/entity-roles.csv) and the countries where a default by country is
    on."""
    roles = loader.entity_roles().set_index("entity_type")
    return {entity: {r.value: _default(str(roles.loc[entity, r.value])) for r in ROLES} for entity in roles.index}


@cache
def _why() -> dict[str, str]:
    return loader.entity_roles().set_index("entity_type")["why"].to_dict()


def default_roles(entity_type: str, country_iso2: str) -> tuple[bool, ...]:
    """The roles (in PartnerRole order) a partner of this type in this country has unless its own flags say
    otherwise; a country list in the defaults means "partners in these countries"."""
    rules = _defaults().get(entity_type, {})
    return tuple(default is RoleDefault.yes or country_iso2 in countries
                 for default, countries in (rules.get(r.value, _OFF) for r in ROLES))


def roles_of(entity_type: str, country_iso2: str, own: tuple) -> tuple[bool, ...]:
    """A partner's roles: its own flags (True/False) where set, else its entity type's defaults."""
    default = default_roles(entity_type, country_iso2)
    return tuple(d if o is None or o != o else bool(o) for d, o in zip(default, own, strict=True))


def meets(condition: str, roles: tuple[bool, ...]) -> bool:
    """True when a row's role condition is empty or the partner has one of its roles (joined by "|")."""
    return not condition or any(roles[_INDEX[r]] for r in condition.split("|"))


def resolve_roles(partners: pd.DataFrame) -> pd.DataFrame:
    """Each partner's roles as booleans (one column per PartnerRole) from columns entity_type, country_iso2 and the
    partner's own flags (missing or None = the default); "<role>_default" columns say where the default applies."""
    own = [partners[r.value] if r.value in partners else pd.Series(None, index=partners.index, dtype=object)
           for r in ROLES]
    keys = list(zip(partners["entity_type"], partners["country_iso2"], zip(*own, strict=True), strict=True))
    resolved = {key: roles_of(*key) for key in set(keys)}
    out = pd.DataFrame([resolved[key] for key in keys], columns=[r.value for r in ROLES], index=partners.index,
                       dtype=bool)
    for role, values in zip(ROLES, own, strict=True):
        out[f"{role.value}_default"] = values.isna().to_numpy()
    return out


def condition_text(condition: str) -> str:
    """A role condition in words, e.g. "only if: ships across a US land border"."""
    if not condition:
        return ""
    labels = (ROLE_LABELS[PartnerRole(r)] for r in condition.split("|"))
    return "only if: " + " or ".join(label[0].lower() + label[1:] for label in labels)


def _partners(session: Session, partner_ids: list[int]) -> list[tuple]:
    """(id, entity type, country, own flags...) of the partners, in id order."""
    stmt = select(Partner.id, Partner.entity_type, Partner.country_iso2, *(getattr(Partner, r.value) for r in ROLES))
    # The driver's tuples: Row objects cost more than the query at 15,000 partners; the flags stay 0/1 on SQLite,
    # which roles_of reads as booleans.
    if len(partner_ids) > _FEW:  # reading every partner costs less than binding thousands of ids (0.2 s at 8,000)
        wanted = set(partner_ids)
        found = [r for r in bulk.plain_rows(session.connection(), stmt) if r[0] in wanted]
    else:
        found = bulk.plain_rows(session.connection(), stmt.where(col(Partner.id).in_(partner_ids)))
    return sorted(found, key=lambda r: r[0])


def _asked_rows(session: Session, entity_types: Iterable[str]) -> dict[str, list[tuple]]:
    """Entity type -> its applicability rows that put a criterion in the questionnaire (yes or unknown), in
    questionnaire order, as tuples of PARTNER_COLUMNS[1:]."""
    rows = session.exec(
        select(CriterionApplicability.entity_type, Criterion.criterion_id, Criterion.category_number,
               Criterion.category,
               func.coalesce(func.nullif(CriterionApplicability.requirement, ""), Criterion.requirement),
               CriterionApplicability.applies, CriterionApplicability.basis, CriterionApplicability.role_condition,
               Criterion.sort_key)
        .join(Criterion, col(Criterion.criterion_id) == CriterionApplicability.criterion_id)
        .where(col(CriterionApplicability.entity_type).in_(list(entity_types)),
               col(CriterionApplicability.applies).in_([Applicability.yes, Applicability.unknown]))
    ).all()
    by_type: dict[str, list[tuple]] = {}
    for row in sorted(rows, key=lambda r: (r[2], r[4] != Requirement.must, r[8])):
        by_type.setdefault(row[0], []).append(tuple(row[1:]))
    return by_type


def _sets(session: Session, partner_ids: Iterable[int]) -> tuple[list[tuple[int, int]], list[tuple]]:
    """(partner id, set id) per partner in id order, and the sets' rows (set id, entity type, PARTNER_COLUMNS[1:])
    in set then questionnaire order. Partners of one entity type with the same roles share a set."""
    partners = _partners(session, sorted({int(i) for i in partner_ids}))
    rows = _asked_rows(session, {p[1] for p in partners})
    resolved: dict[tuple, tuple] = {}
    set_ids: dict[tuple, int] = {}
    members = []
    for pid, entity_type, country, *own in partners:
        key = (entity_type, country, tuple(own))
        if key not in resolved:
            resolved[key] = roles_of(*key)
        members.append((pid, set_ids.setdefault((entity_type, resolved[key]), len(set_ids))))
    sets = [(sid, entity_type, *row) for (entity_type, roles), sid in set_ids.items()
            for row in rows.get(entity_type, []) if meets(row[6], roles)]
    return members, sets


def question_sets_for_partners(*, session: Session, partner_ids: Iterable[int]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """What the partners are asked, as distinct question sets: (members: partner_id, set_id in partner order;
    sets: SET_COLUMNS, each set in questionnaire order). Partners of one entity type with the same roles share a set.

    A set holds its entity type's rows that apply (yes, or unknown: asked and flagged to confirm) whose role
    condition the partners meet. Two queries whatever the number of partners.
    """
    members, sets = _sets(session, partner_ids)
    return (pd.DataFrame(members, columns=["partner_id", "set_id"], dtype="int64"),
            pd.DataFrame(sets, columns=SET_COLUMNS))


def applicable_criteria_for_partners(*, session: Session, partner_ids: Iterable[int]) -> pd.DataFrame:
    """What each partner is asked: one row per partner and criterion (PARTNER_COLUMNS), by partner id, each in
    questionnaire order; applies "unknown" rows are asked too (an admin confirms them on the Criteria page).

    See question_sets_for_partners, which callers that work per group of partners can use directly.
    """
    members, sets = question_sets_for_partners(session=session, partner_ids=partner_ids)
    if members.empty or sets.empty:
        return pd.DataFrame(columns=PARTNER_COLUMNS)
    sizes = sets.groupby("set_id", sort=True).size().reindex(range(int(members["set_id"].max()) + 1), fill_value=0)
    starts = np.concatenate([[0], np.cumsum(sizes.to_numpy())[:-1]])
    lengths = sizes.to_numpy()[members["set_id"].to_numpy()]
    first = np.repeat(starts[members["set_id"].to_numpy()], lengths)
    offset = np.arange(int(lengths.sum())) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    frame = sets.take(first + offset)  # sets are in set id order already
    frame.insert(0, "partner_id", np.repeat(members["partner_id"].to_numpy(), lengths))
    return frame[PARTNER_COLUMNS].reset_index(drop=True)


PartnerQuestion = namedtuple("PartnerQuestion", PARTNER_COLUMNS)


def questions_for_partner(*, session: Session, partner_id: int) -> list[PartnerQuestion]:
    """What one partner is asked, in questionnaire order, as light rows (the questionnaire pages rerun this)."""
    members, sets = _sets(session, [partner_id])
    return [PartnerQuestion(partner_id, *row[2:]) for row in sets]


def applicable_criteria_for_partner(*, session: Session, partner_id: int) -> pd.DataFrame:
    """What one partner is asked, in questionnaire order (see applicable_criteria_for_partners)."""
    return pd.DataFrame(questions_for_partner(session=session, partner_id=partner_id), columns=PARTNER_COLUMNS)


def partner_roles(*, session: Session, partner_id: int) -> pd.DataFrame:
    """A partner's roles for its page: role, label, help, the partner's own setting (True/False/None), the value
    used and the default it falls back to, with why (its entity type, and its country for the land border)."""
    partner = session.get(Partner, partner_id)
    if partner is None:
        raise ValidationError(f"No partner with id {partner_id}")
    defaults = default_roles(partner.entity_type, partner.country_iso2)
    records = []
    for role, default in zip(ROLES, defaults, strict=True):
        own = getattr(partner, role.value)
        records.append({"role": role.value, "label": ROLE_LABELS[role], "help": ROLE_HELP[role], "own": own,
                        "default": default, "value": default if own is None else bool(own),
                        "why_default": _why().get(partner.entity_type, "")})
    return pd.DataFrame(records, columns=["role", "label", "help", "own", "default", "value", "why_default"])


def set_partner_roles(*, session: Session, actor: Actor, partner_id: int,
                      values: Mapping[str, bool | None]) -> dict[str, Any]:
    """Set a partner's role flags (True, False, or None for its entity type's default); audited. Returns the changes.

    Only the roles given change; nothing is recorded when nothing changes.
    """
    require_write(actor)
    partner = session.get(Partner, partner_id)
    if partner is None:
        raise ValidationError(f"No partner with id {partner_id}")
    unknown = sorted(set(values) - {r.value for r in ROLES})
    if unknown:
        raise ValidationError(f"Not a partner role: {', '.join(unknown)} (one of {', '.join(r.value for r in ROLES)})")
    for role, value in values.items():
        if value is not None and not isinstance(value, bool):
            raise ValidationError(f"{role}: '{value}' must be {RoleSetting.yes}, {RoleSetting.no} or the "
                                  f"{RoleSetting.default}")
    before = {r: getattr(partner, r) for r in values if getattr(partner, r) != values[r]}
    after = {r: values[r] for r in before}
    if not after:
        return {}
    session.exec(update(Partner).where(col(Partner.id) == partner_id).values(**after, updated_at=utcnow()))
    session.refresh(partner)
    audit.record(session=session, actor=actor, action="update", entity="partner", entity_id=partner.partner_code,
                 summary=f"Roles of {partner.partner_code}: "
                 + ", ".join(f"{r} {RoleSetting.of(v)}" for r, v in after.items()),
                 before=before, after=after)
    return after


def type_questionnaire(*, session: Session, entity_type: str) -> pd.DataFrame:
    """An entity type's rows that apply (yes or unknown) in questionnaire order, with the role condition in words and
    whether a partner of that type with the default roles is asked (asked_by_default, a RoleDefault: yes, no, or by
    country where a default depends on the country: the land border)."""
    if entity_type not in ENTITY_TYPES:
        raise ValidationError(f"'{entity_type}' is not a CTPAT entity type.")
    rows = pd.DataFrame(_asked_rows(session, [entity_type]).get(entity_type, []), columns=PARTNER_COLUMNS[1:])
    rules = _defaults().get(entity_type, {})
    asked = []
    for condition in rows["role_condition"]:
        defaults = {rules.get(r, _OFF)[0] for r in condition.split("|")} if condition else {RoleDefault.yes}
        asked.append(RoleDefault.yes if RoleDefault.yes in defaults else RoleDefault.no
                     if defaults == {RoleDefault.no} else RoleDefault.by_country)
    return rows.assign(entity_type=entity_type, condition=rows["role_condition"].map(condition_text),
                       asked_by_default=asked)
