"""A partner's contacts: name, role, email, language; one primary contact receives the questionnaires.

Until the partner record's contact columns are dropped, they hold a copy of the primary contact (name, email and the
questionnaire language: ``mirror_primary_contacts``), so code that still reads them sees the same person.
"""

from typing import Any

import pandas as pd
from sqlalchemy import Select, literal, true, update
from sqlalchemy import case as when
from sqlmodel import Session, col, delete, func, select

from models import Partner, PartnerContact
from models.common import LANGUAGES, utcnow
from services.core import audit
from services.core.permissions import Actor, ValidationError, require_write
from services.partners.bulk import insert_from_select, partner_chunks
from services.partners.identifiers import EMAIL

CONTACT_FIELDS = ("name", "role", "email", "phone", "language", "is_primary")
CONTACT_COLUMNS = ["id", "partner_id", "name", "role", "email", "phone", "language", "is_primary", "updated_at"]


def clean_contact_values(values: dict[str, Any]) -> dict[str, Any]:
    """Validated contact values; raises ValidationError listing every problem (field name first)."""
    problems = []
    out: dict[str, Any] = {}
    for field, limit in (("name", 120), ("role", 80), ("email", 254), ("phone", 40)):
        text = " ".join(str(values.get(field) or "").split())
        if len(text) > limit:
            problems.append(f"{field}: longer than {limit} characters")
        out[field] = text
    if not out["name"] and not out["email"]:
        problems.append("name: a contact needs a name or an email address")
    if out["email"] and not EMAIL.match(out["email"]):
        problems.append(f"email: '{out['email']}' is not an email address")
    language = str(values.get("language") or "en").strip().lower()
    if language not in LANGUAGES:
        problems.append(f"language: one of {', '.join(LANGUAGES)}")
    out["language"] = language
    out["is_primary"] = bool(values.get("is_primary", False))
    if problems:
        raise ValidationError("; ".join(problems))
    return out


def _snapshot(contact: PartnerContact) -> dict[str, Any]:
    return {f: getattr(contact, f) for f in CONTACT_FIELDS}


def _code(session: Session, partner_id: int) -> str:
    partner = session.get(Partner, partner_id)
    if partner is None:
        raise ValidationError(f"No partner with id {partner_id}.")
    return partner.partner_code


def list_contacts(*, session: Session, partner_id: int | None = None) -> pd.DataFrame:
    """Contacts (of one partner, or all), primary first."""
    stmt = select(PartnerContact)
    if partner_id is not None:
        stmt = stmt.where(PartnerContact.partner_id == partner_id)
    rows = [c.model_dump() for c in session.exec(stmt.order_by(col(PartnerContact.is_primary).desc(),
                                                               PartnerContact.id))]
    return pd.DataFrame(rows, columns=CONTACT_COLUMNS)


def primary_contact(*, session: Session, partner_id: int) -> PartnerContact | None:
    """The contact who receives questionnaires."""
    return session.exec(select(PartnerContact).where(PartnerContact.partner_id == partner_id,
                                                      PartnerContact.is_primary)).first()


def create_contact(*, session: Session, actor: Actor, partner_id: int, values: dict[str, Any]) -> PartnerContact:
    """Add a contact; the first contact of a partner is its primary one."""
    require_write(actor)
    code = _code(session, partner_id)
    clean = clean_contact_values(values)
    count = session.exec(select(func.count()).select_from(PartnerContact)
                         .where(PartnerContact.partner_id == partner_id)).one()
    clean["is_primary"] = clean["is_primary"] or count == 0
    if clean["is_primary"]:
        session.exec(update(PartnerContact).where(PartnerContact.partner_id == partner_id).values(is_primary=False))
    contact = PartnerContact(partner_id=partner_id, **clean)
    session.add(contact)
    session.flush()
    if contact.is_primary:
        mirror_primary_contacts(session=session, partner_ids=[partner_id])
    audit.record(session=session, actor=actor, action="create", entity="contact", entity_id=code,
                 summary=f"Added contact {contact.name or contact.email} to partner {code}", after=_snapshot(contact))
    return contact


def update_contact(*, session: Session, actor: Actor, contact_id: int, values: dict[str, Any]) -> PartnerContact:
    """Change a contact; making it primary makes the partner's other contacts not primary."""
    require_write(actor)
    contact = session.get(PartnerContact, contact_id)
    if contact is None:
        raise ValidationError(f"No contact with id {contact_id}.")
    before = _snapshot(contact)
    clean = clean_contact_values({**before, **values})
    if before["is_primary"] and not clean["is_primary"]:
        raise ValidationError("is_primary: make another contact primary instead; questionnaires need one")
    if clean["is_primary"] and not before["is_primary"]:
        session.exec(update(PartnerContact).where(PartnerContact.partner_id == contact.partner_id)
                     .values(is_primary=False))
        session.flush()
    for field, value in clean.items():
        setattr(contact, field, value)
    contact.updated_at = utcnow()
    session.add(contact)
    session.flush()
    if contact.is_primary:
        mirror_primary_contacts(session=session, partner_ids=[contact.partner_id])
    code = _code(session, contact.partner_id)
    audit.record(session=session, actor=actor, action="update", entity="contact", entity_id=code,
                 summary=f"Changed contact {contact.name or contact.email} of partner {code}", before=before,
                 after=_snapshot(contact))
    return contact


def delete_contact(*, session: Session, actor: Actor, contact_id: int) -> None:
    """Remove a contact who left; the primary one goes only when another becomes primary first."""
    require_write(actor)
    contact = session.get(PartnerContact, contact_id)
    if contact is None:
        raise ValidationError(f"No contact with id {contact_id}.")
    others = session.exec(select(func.count()).select_from(PartnerContact)
                          .where(PartnerContact.partner_id == contact.partner_id,
                                 PartnerContact.id != contact.id)).one()
    if contact.is_primary and others:
        raise ValidationError("The primary contact cannot be removed while others exist: make another one primary.")
    code = _code(session, contact.partner_id)
    before = _snapshot(contact)
    session.exec(delete(PartnerContact).where(PartnerContact.id == contact_id))
    if before["is_primary"]:  # the last contact left: the record names nobody any more
        mirror_primary_contacts(session=session, partner_ids=[contact.partner_id])
    audit.record(session=session, actor=actor, action="delete", entity="contact", entity_id=code,
                 summary=f"Removed contact {before['name'] or before['email']} of partner {code}", before=before)


def ensure_first_contacts(*, session: Session, actor: Actor, partner_ids: list[int] | Select | None = None,
                          audited: bool = True) -> int:
    """Make the partner record's contact name, email and language the primary contact of partners without one (of
    `partner_ids`: a list or a select of ids).

    Partners whose record has neither a contact name nor an email get none. One INSERT ... SELECT (per 5,000 listed
    ids); returns how many. `audited=False` is for a caller whose own audit entry already names the contact.
    """
    require_write(actor)
    now = utcnow()
    p = Partner.__table__.c
    columns = ["partner_id", "name", "role", "email", "phone", "language", "is_primary", "created_at", "updated_at"]
    made = 0
    for chunk in partner_chunks(partner_ids):
        stmt = (select(p.id, p.contact_name, literal(""), p.contact_email, literal(""),
                       when((p.language.in_(list(LANGUAGES)), p.language), else_=literal("en")), true(),
                       literal(now, PartnerContact.__table__.c.created_at.type),
                       literal(now, PartnerContact.__table__.c.updated_at.type))
                .where(p.id.not_in(select(PartnerContact.partner_id)),
                       (p.contact_name != "") | (p.contact_email != "")))
        if chunk is not None:
            stmt = stmt.where(p.id.in_(chunk))
        made += insert_from_select(session, PartnerContact.__table__, columns, stmt)
    if made and audited:
        audit.record(session=session, actor=actor, action="create", entity="contact", entity_id="",
                     summary=f"Made the record's contact the primary contact of {made} partners",
                     after={"partners": made})
    return made


def mirror_primary_contacts(*, session: Session, partner_ids: list[int] | Select | None = None) -> None:
    """Copy each partner's primary contact into the record's contact columns (name, email, questionnaire language);
    a partner left without contacts keeps its language and names nobody. One UPDATE per 5,000 listed ids."""
    contact = PartnerContact.__table__.c
    partner = Partner.__table__.c

    def primary(column):
        return (select(column).where(contact.partner_id == partner.id, contact.is_primary).limit(1)
                .correlate(Partner.__table__).scalar_subquery())

    values = {"contact_name": func.coalesce(primary(contact.name), ""),
              "contact_email": func.coalesce(primary(contact.email), ""),
              "language": func.coalesce(primary(contact.language), partner.language)}
    for chunk in partner_chunks(partner_ids):
        stmt = update(Partner).values(**values)
        if chunk is not None:
            stmt = stmt.where(partner.id.in_(chunk))
        session.exec(stmt)


def copy_record_to_primary_contacts(*, session: Session, partner_ids: list[int] | Select) -> None:
    """The other way round, for a file import that changed the record's contact columns of existing partners: their
    primary contact takes the record's name, email and questionnaire language. One UPDATE per 5,000 listed ids."""
    contact = PartnerContact.__table__.c
    partner = Partner.__table__.c

    def record(column):
        return (select(column).where(partner.id == contact.partner_id).correlate(PartnerContact.__table__)
                .scalar_subquery())

    values = {"name": record(partner.contact_name), "email": record(partner.contact_email),
              "language": record(partner.language), "updated_at": utcnow()}
    for chunk in partner_chunks(partner_ids):
        session.exec(update(PartnerContact).where(contact.is_primary, contact.partner_id.in_(chunk)).values(**values))
