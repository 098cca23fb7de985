"""Which criteria each partner is asked: its entity type's applicability, narrowed by what the partner does.

The one home of that rule. An entity type's rows (CBP source, role rule or admin override, one per criterion) say
whether a criterion applies: yes, no, or unknown (asked, flagged for an admin to confirm). A row may carry a role
condition (models.reference.PartnerRole values joined by "|"): the criterion is then asked only of partners with one
of those roles. A partner's roles are its own flags where set, else its entity type's defaults (seed/entity-roles.csv;
the land border also from its country). docs/APPLICABILITY.md explains the rules.
"""

from collections.abc import Iterable, Mapping
from functools import cache
from typing import Any

import pandas as pd
from sqlalchemy import update
from sqlmodel import Session, col, func, select

from models import Criterion, CriterionApplicability, Partner
from models.common import ENTITY_TYPES, utcnow
from models.reference import Applies, PartnerRole
from services.core import audit
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
_CHUNK = 5_000


@cache
def _defaults() -> pd.DataFrame:
    """Entity type -> its default role flags as read from seed/entity-roles.csv (yes, no, or country codes)."""
    return loader.entity_roles().set_index("entity_type")


def resolve_roles(partners: pd.DataFrame) -> pd.DataFrame:
    """Each partner's roles as booleans (one column per PartnerRole), from columns entity_type, country_iso2 and the
    partner's own flags (None = its entity type's default; a country list in the defaults means "partners in these
    countries"). Columns "<role>_default" say whether the value is the default. Vectorised."""
    defaults = _defaults()
    out = pd.DataFrame(index=partners.index)
    for role in ROLES:
        rule = partners["entity_type"].map(defaults[role.value]).fillna("no")
        default = rule.eq("yes")
        for countries in set(rule) - {"yes", "no"}:
            default |= rule.eq(countries) & partners["country_iso2"].isin(countries.split())
        own = partners[role.value] if role.value in partners else pd.Series(None, index=partners.index)
        own = own.astype("boolean")
        out[role.value] = own.fillna(default).astype(bool)
        out[f"{role.value}_default"] = own.isna().to_numpy()
    return out


def condition_met(conditions: pd.Series, roles: pd.DataFrame) -> pd.Series:
    """Per row: True when its role condition is empty or the row's partner (roles, aligned) has one of its roles."""
    met = pd.Series(True, index=conditions.index)
    for condition in conditions.unique():
        if not condition:
            continue
        rows = conditions.eq(condition)
        met[rows] = roles.loc[rows, condition.split("|")].any(axis=1)
    return met


def condition_text(condition: str) -> str:
    """A role condition in words, e.g. "only if: ships across a US land border"."""
    if not condition:
        return ""
    return "only if: " + " or ".join(ROLE_LABELS[PartnerRole(r)].lower() for r in condition.split("|"))


def _partners(session: Session, partner_ids: list[int]) -> pd.DataFrame:
    columns = ["partner_id", "entity_type", "country_iso2", *(r.value for r in ROLES)]
    found = []
    for start in range(0, len(partner_ids), _CHUNK):
        found += session.exec(
            select(Partner.id, Partner.entity_type, Partner.country_iso2, *(getattr(Partner, r.value) for r in ROLES))
            .where(col(Partner.id).in_(partner_ids[start:start + _CHUNK]))
        ).all()
    return pd.DataFrame([tuple(r) for r in found], columns=columns)


def _asked_rows(session: Session, entity_types: Iterable[str]) -> pd.DataFrame:
    """The applicability rows that put a criterion in an entity type's questionnaire (yes or unknown)."""
    rows = session.exec(
        select(CriterionApplicability.entity_type, Criterion.criterion_id, Criterion.category_number,
               Criterion.category,
               func.coalesce(func.nullif(CriterionApplicability.requirement, ""), Criterion.requirement),
               CriterionApplicability.applies, CriterionApplicability.basis, CriterionApplicability.role_condition,
               Criterion.sort_key)
        .join(Criterion, col(Criterion.criterion_id) == CriterionApplicability.criterion_id)
        .where(col(CriterionApplicability.entity_type).in_(list(entity_types)),
               col(CriterionApplicability.applies).in_([Applies.yes.value, Applies.unknown.value]))
    ).all()
    return pd.DataFrame([tuple(r) for r in rows], columns=["entity_type", *PARTNER_COLUMNS[1:]])


def applicable_criteria_for_partners(*, session: Session, partner_ids: Iterable[int]) -> pd.DataFrame:
    """What each partner is asked: one row per partner and criterion (PARTNER_COLUMNS), per partner in
    questionnaire order. applies "unknown" rows are asked too (the admin confirms them on the Criteria page).

    The rows of the partner's entity type that apply (yes or unknown), keeping those whose role condition the
    partner meets. Vectorised: one query for the partners, one for the rows, whatever their number.
    """
    ids = sorted({int(i) for i in partner_ids})
    partners = _partners(session, ids)
    if partners.empty:
        return pd.DataFrame(columns=PARTNER_COLUMNS)
    partners = pd.concat([partners, resolve_roles(partners)[[r.value for r in ROLES]].add_prefix("has_")], axis=1)
    rows = _asked_rows(session, partners["entity_type"].unique())
    merged = partners[["partner_id", "entity_type", *(f"has_{r.value}" for r in ROLES)]].merge(
        rows, on="entity_type")
    roles = merged[[f"has_{r.value}" for r in ROLES]].set_axis([r.value for r in ROLES], axis=1)
    merged = merged[condition_met(merged["role_condition"], roles)]
    merged = merged.assign(_must=merged["requirement"].ne("must"))
    merged = merged.sort_values(["partner_id", "category_number", "_must", "sort_key"], ignore_index=True)
    return merged[PARTNER_COLUMNS]


def applicable_criteria_for_partner(*, session: Session, partner_id: int) -> pd.DataFrame:
    """What one partner is asked, in questionnaire order (see applicable_criteria_for_partners)."""
    return applicable_criteria_for_partners(session=session, partner_ids=[partner_id])


def partner_roles(*, session: Session, partner_id: int) -> pd.DataFrame:
    """A partner's roles for its page: role, label, help, the partner's own setting (True/False/None), the value
    used and the default it falls back to, with why (its entity type, and its country for the land border)."""
    partner = session.get(Partner, partner_id)
    if partner is None:
        raise ValidationError(f"No partner with id {partner_id}")
    frame = pd.DataFrame([{"entity_type": partner.entity_type, "country_iso2": partner.country_iso2}])
    defaults = resolve_roles(frame)  # without the partner's own flags: the defaults
    reason = _defaults().loc[partner.entity_type, "why"] if partner.entity_type in _defaults().index else ""
    records = []
    for role in ROLES:
        own = getattr(partner, role.value)
        default = bool(defaults.loc[0, role.value])
        records.append({"role": role.value, "label": ROLE_LABELS[role], "help": ROLE_HELP[role], "own": own,
                        "default": default, "value": default if own is None else bool(own),
                        "why_default": reason})
    return pd.DataFrame(records)


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
            raise ValidationError(f"{role}: '{value}' must be yes, no or the default")
    before = {r: getattr(partner, r) for r in values if getattr(partner, r) != values[r]}
    after = {r: values[r] for r in before}
    if not after:
        return {}
    session.exec(update(Partner).where(col(Partner.id) == partner_id).values(**after, updated_at=utcnow()))
    session.refresh(partner)
    words = {True: "yes", False: "no", None: "default"}
    audit.record(session=session, actor=actor, action="update", entity="partner", entity_id=partner.partner_code,
                 summary=f"Roles of {partner.partner_code}: " + ", ".join(f"{r} {words[v]}" for r, v in after.items()),
                 before=before, after=after)
    return after


def type_questionnaire(*, session: Session, entity_type: str) -> pd.DataFrame:
    """An entity type's rows that apply (yes or unknown), with the role condition in words and whether a partner of
    that type with the default roles is asked ("yes", "no", or "by country" for the land border)."""
    if entity_type not in ENTITY_TYPES:
        raise ValidationError(f"'{entity_type}' is not a CTPAT entity type.")
    rows = _asked_rows(session, [entity_type])
    defaults = _defaults().loc[entity_type]
    asked = []
    for condition in rows["role_condition"]:
        flags = [defaults[r] for r in condition.split("|")] if condition else ["yes"]
        asked.append("yes" if "yes" in flags else "no" if all(f == "no" for f in flags) else "by country")
    return rows.assign(condition=rows["role_condition"].map(condition_text), asked_by_default=asked)
