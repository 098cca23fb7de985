"""Business partners: validation, search, add, edit, deactivate, duplicate detection."""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

import pandas as pd
import pydantic
from sqlalchemy import or_, update
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, func, select

from models import Answer, Assignment, Country, Evidence, Partner, PartnerSite, ReviewComment, User
from models.common import utcnow
from models.partner import PartnerIn
from models.reference import PartnerRole, RoleSetting
from services.certificates import exemption
from services.certificates import records as certificate_records
from services.core import audit
from services.core.permissions import Actor, ValidationError, require_write
from services.partners import contacts, sites
from services.partners.identifiers import IDENTIFIER_FORMATS, normalize_name

EDITABLE_FIELDS: tuple[str, ...] = tuple(PartnerIn.model_fields)
SORTABLE = ("partner_code", "legal_name", "entity_type", "country_iso2", "criticality", "import_share", "status",
            "updated_at")
LIST_COLUMNS = ["id", "partner_code", "legal_name", "entity_type", "country_iso2", "city", "criticality",
                "import_share", "status", "contact_email", "owner", "updated_at"]
NO_OWNER = ""  # in an owners filter: partners without an owner


@dataclass
class PartnerPage:
    rows: pd.DataFrame
    total: int


def partner_input(values: PartnerIn | Mapping[str, Any], *, country_codes: set[str]) -> PartnerIn:
    """The values checked as a PartnerIn; ValidationError lists every problem ("field: message"; "; " between)."""
    data = values.model_dump() if isinstance(values, PartnerIn) else values
    try:
        return PartnerIn.model_validate(data, context={"country_codes": country_codes})
    except pydantic.ValidationError as error:
        raise ValidationError("; ".join(PartnerIn.problems(error))) from None


def clean_partner_values(values: Mapping[str, Any], *, country_codes: set[str]) -> tuple[dict[str, Any], list[str]]:
    """The row check of file imports: the values as a Partner row and every problem ("field: message").

    With problems, the values are the normalised input, so a preview can still show what the row says.
    """
    try:
        return partner_input(values, country_codes=country_codes).row(), []
    except ValidationError as error:
        out = PartnerIn.normalise(values)
        out["normalized_name"] = normalize_name(out["legal_name"])
        return out, str(error).split("; ")


def _country_codes(session: Session) -> set[str]:
    return set(session.exec(select(Country.iso2)).all())


def _as_dict(partner: Partner) -> dict[str, Any]:
    return {f: getattr(partner, f) for f in EDITABLE_FIELDS}


def find_duplicates(
    *, session: Session, values: Mapping[str, Any], exclude_id: int | None = None
) -> list[tuple[Partner, str]]:
    """Existing partners that share a trade identifier or the normalised name, with the reason."""
    conditions = [getattr(Partner, f) == values[f] for f in IDENTIFIER_FORMATS if values.get(f)]
    if values.get("mid"):  # the MID of any site, not only the primary one
        conditions.append(col(Partner.id).in_(select(PartnerSite.partner_id).where(PartnerSite.mid == values["mid"])))
    name = values.get("normalized_name") or normalize_name(values.get("legal_name", ""))
    if name:
        conditions.append((Partner.normalized_name == name) & (Partner.country_iso2 == values.get("country_iso2")))
    if not conditions:
        return []
    stmt = select(Partner).where(or_(*conditions))
    if exclude_id is not None:
        stmt = stmt.where(Partner.id != exclude_id)
    found = []
    for partner in session.exec(stmt.limit(20)).all():
        reasons = [IDENTIFIER_FORMATS[f][0] for f in IDENTIFIER_FORMATS
                   if values.get(f) and getattr(partner, f) == values[f]]
        if values.get("mid") and partner.mid != values["mid"] and values["mid"] in session.exec(
                select(PartnerSite.mid).where(PartnerSite.partner_id == partner.id)).all():
            reasons.append(f"{IDENTIFIER_FORMATS['mid'][0]} of a site")
        if partner.normalized_name == name and partner.country_iso2 == values.get("country_iso2"):
            reasons.append("same name and country")
        found.append((partner, ", ".join(reasons)))
    return found


def _check_parent(session: Session, parent_id: int | None, own_id: int | None) -> None:
    if parent_id is None:
        return
    if parent_id == own_id:
        raise ValidationError("parent_id: a partner cannot be its own parent")
    if session.get(Partner, parent_id) is None:
        raise ValidationError(f"parent_id: no partner with id {parent_id}")


def _checked(session: Session, values: PartnerIn | Mapping[str, Any], own: Partner | None = None) -> PartnerIn:
    """values as a PartnerIn, plus the rules that need the register: a free partner code and an existing parent."""
    partner = partner_input(values, country_codes=_country_codes(session))
    if own is None or partner.partner_code != own.partner_code:
        if session.exec(select(Partner.id).where(Partner.partner_code == partner.partner_code)).first():
            raise ValidationError(f"partner_code: '{partner.partner_code}' is already used")
    _check_parent(session, partner.parent_id, own.id if own else None)
    return partner


def create_partner(*, session: Session, actor: Actor, values: PartnerIn | Mapping[str, Any]) -> Partner:
    """Validate and add a partner, its address and MID as its first site and its contact (if any) as its primary
    contact; raises ValidationError listing every problem."""
    require_write(actor)
    partner = Partner(**_checked(session, values).row())
    session.add(partner)
    session.flush()
    sites.ensure_first_sites(session=session, actor=actor, partner_ids=[partner.id], audited=False)
    contacts.ensure_first_contacts(session=session, actor=actor, partner_ids=[partner.id], audited=False)
    audit.record(session=session, actor=actor, action="create", entity="partner", entity_id=partner.partner_code,
                 summary=f"Added partner {partner.partner_code} {partner.legal_name}", after=_as_dict(partner))
    return partner


def _same(shown: Any, stored: Any) -> bool:
    """Whether a value the form showed is the stored one (blank and None alike, floats to rounding)."""
    if shown in (None, "") and stored in (None, ""):
        return True
    if isinstance(shown, float) or isinstance(stored, float):
        try:
            return abs(float(shown) - float(stored)) < 1e-9
        except (TypeError, ValueError):
            return False
    return shown == stored


def update_partner(
    *, session: Session, actor: Actor, partner_id: int, values: PartnerIn | Mapping[str, Any],
    expected: Mapping[str, Any] | None = None,
) -> Partner:
    """Change a partner's fields (a mapping may hold only the fields that change); the audit log keeps the values
    before and after.

    The partner's row is locked for the transaction (PostgreSQL; SQLite's writes take turns anyway), so two edits
    at once apply one after the other. `expected` (the partner's fields as the edit form showed them) makes the
    edit safe against another user's edit in between: only the fields that differ from it change, and when one
    of those was changed elsewhere since, nothing is written and ValidationError names it.
    """
    require_write(actor)
    partner = session.get(Partner, partner_id, with_for_update=True, populate_existing=True)
    if partner is None:
        raise ValidationError(f"No partner with id {partner_id}")
    before = _as_dict(partner)
    changes = dict(values.model_dump() if isinstance(values, PartnerIn) else values)
    if expected is not None:
        changes = {f: v for f, v in changes.items() if f not in expected or not _same(v, expected[f])}
        moved = [f for f in changes if f in expected and not _same(expected[f], before.get(f))]
        if moved:
            raise ValidationError(f"Partner {partner.partner_code} was changed by someone else since this page "
                                  f"showed it ({', '.join(moved)}): nothing was saved. Reload the partner and make "
                                  "your change again.")
    for field, value in _checked(session, {**before, **changes}, own=partner).row().items():
        setattr(partner, field, value)
    partner.updated_at = utcnow()
    session.add(partner)
    audit.record(session=session, actor=actor, action="update", entity="partner", entity_id=partner.partner_code,
                 summary=f"Edited partner {partner.partner_code}", before=before, after=_as_dict(partner))
    return partner


def set_status(*, session: Session, actor: Actor, partner_id: int, status: str) -> Partner:
    """Deactivate (or reactivate) a partner; partners are never deleted, their history stays."""
    return update_partner(session=session, actor=actor, partner_id=partner_id, values={"status": status})


def _filtered(stmt, *, text: str, entity_types, countries, statuses, criticalities, owners=None):
    """The partner search filters applied to a select (shared by the list and the export). `owners` are usernames
    (NO_OWNER: partners without one); the text also finds the MID of any site."""
    if text:
        like = f"%{text.strip().lower()}%"
        stmt = stmt.where(
            or_(
                func.lower(Partner.partner_code).like(like),
                func.lower(Partner.legal_name).like(like),
                func.lower(Partner.city).like(like),
                func.lower(Partner.contact_email).like(like),
                *(func.lower(getattr(Partner, f)).like(like) for f in IDENTIFIER_FORMATS),
                col(Partner.id).in_(select(PartnerSite.partner_id).where(func.lower(PartnerSite.mid).like(like))),
            )
        )
    if owners:
        named = [o for o in owners if o != NO_OWNER]
        chosen = [col(Partner.owner_id).in_(select(User.id).where(col(User.username).in_(named)))] if named else []
        if NO_OWNER in owners:
            chosen.append(col(Partner.owner_id).is_(None))
        stmt = stmt.where(or_(*chosen))
    for field, chosen in (("entity_type", entity_types), ("country_iso2", countries), ("status", statuses),
                          ("criticality", criticalities)):
        if chosen:
            stmt = stmt.where(col(getattr(Partner, field)).in_(chosen))
    return stmt


def search_partners(
    *,
    session: Session,
    text: str = "",
    entity_types: list[str] | None = None,
    countries: list[str] | None = None,
    statuses: list[str] | None = None,
    criticalities: list[str] | None = None,
    owners: list[str] | None = None,
    sort: str = "partner_code",
    descending: bool = False,
    page: int = 1,
    page_size: int = 50,
) -> PartnerPage:
    """One page of partners matching the filters, and how many match in all (`owner`: the owner's username)."""
    filters = {"text": text, "entity_types": entity_types, "countries": countries, "statuses": statuses,
               "criticalities": criticalities, "owners": owners}
    total = session.exec(_filtered(select(func.count()).select_from(Partner), **filters)).one()
    # Selecting the columns (not the Partner entity) makes exec return whole rows rather than first-column scalars.
    fields = [User.username if c == "owner" else getattr(Partner, c) for c in LIST_COLUMNS]
    stmt = _filtered(select(*fields).select_from(Partner).outerjoin(User, col(User.id) == Partner.owner_id),
                     **filters)
    order = getattr(Partner, sort if sort in SORTABLE else "partner_code")
    stmt = stmt.order_by(order.desc() if descending else order, Partner.id)
    rows = session.exec(stmt.offset(max(page - 1, 0) * page_size).limit(page_size)).all()
    frame = pd.DataFrame([tuple(r) for r in rows], columns=LIST_COLUMNS)
    frame["owner"] = frame["owner"].fillna("")
    return PartnerPage(rows=frame, total=total)


def get_partner(*, session: Session, partner_id: int) -> Partner | None:
    return session.get(Partner, partner_id)


def children(*, session: Session, partner_id: int) -> list[Partner]:
    return list(session.exec(select(Partner).where(Partner.parent_id == partner_id).order_by(Partner.partner_code)))


def partner_options(*, session: Session) -> dict[int, str]:
    """id -> "CODE · name" for pickers (parent partner)."""
    rows = session.exec(select(Partner.id, Partner.partner_code, Partner.legal_name).order_by(Partner.partner_code))
    return {pid: f"{code} · {name}" for pid, code, name in rows}


EXPORT_COLUMNS = ["partner_code", "legal_name", "entity_type", "country_iso2", "address", "city", "region",
                  "latitude", "longitude", *IDENTIFIER_FORMATS, "contact_name", "contact_email", "language",
                  "parent_code", "criticality", "import_share", "status", "owner", *(r.value for r in PartnerRole),
                  "notes", "created_at", "updated_at"]


def export_partners(
    *,
    session: Session,
    text: str = "",
    entity_types: list[str] | None = None,
    countries: list[str] | None = None,
    statuses: list[str] | None = None,
    criticalities: list[str] | None = None,
    owners: list[str] | None = None,
    sort: str = "partner_code",
    descending: bool = False,
) -> pd.DataFrame:
    """Every partner matching the same filters as search_partners, with all fields, the parent's code, the owner's
    username and the region of its primary site: the columns the partner import reads back.

    Times are UTC without a zone, so the frame can be written to Excel (which stores no zones) as well as CSV.
    """
    parent = aliased(Partner)
    special = {"parent_code": parent.partner_code, "owner": User.username, "region": PartnerSite.region_code}
    fields = [special.get(c, getattr(Partner, c, None)) for c in EXPORT_COLUMNS]
    stmt = (select(*fields).select_from(Partner).outerjoin(parent, parent.id == Partner.parent_id)
            .outerjoin(User, col(User.id) == Partner.owner_id)
            .outerjoin(PartnerSite, (col(PartnerSite.partner_id) == Partner.id) & col(PartnerSite.is_primary)))
    stmt = _filtered(stmt, text=text, entity_types=entity_types, countries=countries, statuses=statuses,
                     criticalities=criticalities, owners=owners)
    order = getattr(Partner, sort if sort in SORTABLE else "partner_code")
    stmt = stmt.order_by(order.desc() if descending else order, Partner.id)
    frame = pd.DataFrame([tuple(r) for r in session.exec(stmt).all()], columns=EXPORT_COLUMNS)
    frame[["owner", "region"]] = frame[["owner", "region"]].fillna("")
    for flag in PartnerRole:  # as the import reads them: yes, no, default
        frame[flag.value] = [RoleSetting.of(None if v is None or v != v else bool(v)).value for v in frame[flag.value]]
    for column in ("created_at", "updated_at"):
        frame[column] = pd.to_datetime(frame[column], utc=True).dt.tz_localize(None)
    return frame


def check_new_partner(
    *, session: Session, values: PartnerIn | Mapping[str, Any]
) -> list[tuple[Partner, str]]:
    """Validate a new partner without saving it: raises ValidationError as create_partner would, else returns
    the existing partners it may duplicate (same identifier, or same normalised name and country), with reasons."""
    return find_duplicates(session=session, values=_checked(session, values).row())


def certifications(*, session: Session, partner_id: int) -> pd.DataFrame:
    """A partner's certificates with what the certificate rule says of each today (services.certificates)."""
    return certificate_records.list_for_partner(session=session, partner_id=partner_id)


def country_names(*, session: Session) -> dict[str, str]:
    """ISO alpha-2 code -> country name, sorted by name (for pickers)."""
    return dict(session.exec(select(Country.iso2, Country.name).order_by(Country.name)).all())


def merge_partners(*, session: Session, actor: Actor, keep_id: int, duplicate_id: int) -> Partner:
    """Merge a duplicate partner into the one kept, losing nothing; the duplicate is deactivated, never deleted.

    The duplicate's certifications, child partners and questionnaires move to the kept partner. Where both have a
    questionnaire in the same cycle, the duplicate's answers, evidence and review comments move onto the kept one:
    they become the current answer where the kept questionnaire has none for that criterion, and history otherwise.
    Its sites (with their MIDs), contacts, lane custody and screening matches move too (sites.merge_into), never as
    the primary ones. Trade identifiers and the owner the kept partner lacks are taken over. A kept partner whose
    certificates no longer cover all its sites joins the open cycles it was exempt from. One transaction; audited
    with both partner codes.
    """
    require_write(actor)
    if keep_id == duplicate_id:
        raise ValidationError("A partner cannot be merged into itself.")
    keep, duplicate = session.get(Partner, keep_id), session.get(Partner, duplicate_id)
    if keep is None or duplicate is None:
        raise ValidationError("Both partners must exist.")
    if keep.parent_id == duplicate.id:
        keep.parent_id = duplicate.parent_id if duplicate.parent_id != keep.id else None
    # Each record's own address and contact first become its sites and contacts, so that both are kept.
    sites.ensure_first_sites(session=session, actor=actor, partner_ids=[keep.id, duplicate.id], audited=False)
    contacts.ensure_first_contacts(session=session, actor=actor, partner_ids=[keep.id, duplicate.id], audited=False)

    certificate_records.move_to_partner(session=session, from_partner_id=duplicate.id, to_partner_id=keep.id)
    session.exec(update(Partner).where(Partner.parent_id == duplicate.id, Partner.id != keep.id)
                 .values(parent_id=keep.id))
    kept_cycles = dict(session.exec(select(Assignment.cycle_id, Assignment.id)
                                    .where(Assignment.partner_id == keep.id)).all())
    moved = folded = 0
    for assignment in session.exec(select(Assignment).where(Assignment.partner_id == duplicate.id)).all():
        target = kept_cycles.get(assignment.cycle_id)
        if target is None:
            assignment.partner_id = keep.id
            session.add(assignment)
            moved += 1
            continue
        current = set(session.exec(select(Answer.criterion_id).where(Answer.assignment_id == target,
                                                                     Answer.is_current)))
        session.exec(update(Answer).where(Answer.assignment_id == assignment.id,
                                          col(Answer.criterion_id).in_(current)).values(is_current=False))
        for model in (Answer, Evidence, ReviewComment):
            session.exec(update(model).where(model.assignment_id == assignment.id).values(assignment_id=target))
        session.flush()
        session.delete(assignment)
        folded += 1

    # A MID belongs to a site: it moves with the duplicate's sites.
    taken = {f: getattr(duplicate, f) for f in IDENTIFIER_FORMATS
             if f != "mid" and getattr(keep, f) is None and getattr(duplicate, f) is not None}
    if keep.owner_id is None and duplicate.owner_id is not None:
        taken["owner"] = sites.owner_of(session=session, partner_id=duplicate.id)
        keep.owner_id = duplicate.owner_id
    for field, value in taken.items():
        if field != "owner":
            setattr(keep, field, value)
    duplicate.status = "inactive"
    duplicate.notes = f"Merged into {keep.partner_code}. {duplicate.notes}".strip()[:2000]
    keep.updated_at = duplicate.updated_at = utcnow()
    session.add_all([keep, duplicate])
    session.flush()
    sites.merge_into(session=session, actor=actor, keep_id=keep.id, duplicate_id=duplicate.id)
    session.refresh(keep)
    exemption.join_uncovered(session=session, actor=actor, partner_ids=[keep.id], today=date.today(),
                             why=f"merged with {duplicate.partner_code}, whose sites it now has")
    audit.record(session=session, actor=actor, action="merge", entity="partner", entity_id=keep.partner_code,
                 summary=f"Merged partner {duplicate.partner_code} into {keep.partner_code}: {moved} questionnaires "
                         f"moved, {folded} combined, identifiers taken over: {', '.join(taken) or 'none'}",
                 after={"kept": keep.partner_code, "merged": duplicate.partner_code})
    return keep


def partner_count(*, session: Session) -> int:
    """How many partners the register holds (active or not)."""
    return session.exec(select(func.count()).select_from(Partner)).one()
