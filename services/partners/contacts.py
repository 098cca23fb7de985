"""A partner's contacts: name, role, email, language; one primary contact receives the questionnaires."""

from typing import Any

import pandas as pd
from sqlalchemy import insert, update
from sqlmodel import Session, col, delete, func, select

from models import Partner, PartnerContact
from models.common import LANGUAGES, utcnow
from services.core import audit
from services.core.permissions import Actor, ValidationError, require_write
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
    audit.record(session=session, actor=actor, action="delete", entity="contact", entity_id=code,
                 summary=f"Removed contact {before['name'] or before['email']} of partner {code}", before=before)


def ensure_first_contacts(*, session: Session, actor: Actor, partner_ids: list[int] | None = None) -> int:
    """Make the partner record's contact name, email and language the primary contact of partners without one.

    Partners whose record has neither a contact name nor an email get none. One INSERT; returns how many.
    """
    require_write(actor)
    stmt = select(Partner).where(col(Partner.id).not_in(select(PartnerContact.partner_id)),
                                 (Partner.contact_name != "") | (Partner.contact_email != ""))
    if partner_ids is not None:
        stmt = stmt.where(col(Partner.id).in_(partner_ids))
    now = utcnow()
    rows = [{"partner_id": p.id, "name": p.contact_name, "role": "", "email": p.contact_email, "phone": "",
             "language": p.language if p.language in LANGUAGES else "en", "is_primary": True, "created_at": now,
             "updated_at": now} for p in session.exec(stmt)]
    if rows:
        session.exec(insert(PartnerContact), params=rows)
        audit.record(session=session, actor=actor, action="create", entity="contact", entity_id="",
                     summary=f"Made the record's contact the primary contact of {len(rows)} partners",
                     after={"partners": len(rows)})
    return len(rows)
