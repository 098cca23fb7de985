"""Mutual Recognition Arrangements: the foreign AEO-type programs whose certificates CBP recognises."""

import re
from typing import Any

import pandas as pd
from sqlmodel import Session, select

from models import Country, MraProgram
from services.core import audit
from services.core.permissions import Actor, ValidationError, require_admin

FIELDS = ("partner_country", "customs_administration", "program_name", "acronym", "signed", "confirmed",
          "country_codes", "source")
_LIMITS = {"partner_country": 80, "customs_administration": 200, "program_name": 200, "acronym": 20,
           "source": 1000}
_REQUIRED = ("partner_country", "program_name", "acronym")
_SIGNED = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


def list_programs(*, session: Session) -> pd.DataFrame:
    """All MRA programs, oldest arrangement first."""
    rows = session.exec(select(MraProgram).order_by(MraProgram.signed, MraProgram.id)).all()
    return pd.DataFrame([{"id": p.id, **{f: getattr(p, f) for f in FIELDS}} for p in rows],
                        columns=["id", *FIELDS])


def _clean(session: Session, values: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    errors: list[str] = []
    for field, limit in _LIMITS.items():
        out[field] = str(values.get(field) or "").strip()
        if len(out[field]) > limit:
            errors.append(f"{field}: longer than {limit} characters")
    for field in _REQUIRED:
        if not out[field]:
            errors.append(f"{field}: required")
    out["signed"] = str(values.get("signed") or "").strip()
    if not _SIGNED.match(out["signed"]):
        errors.append(f"signed: '{out['signed']}' is not a year and month like 2014-06")
    out["confirmed"] = bool(values.get("confirmed", True))
    codes = str(values.get("country_codes") or "").replace(",", " ").upper().split()
    known = set(session.exec(select(Country.iso2)).all())
    unknown = [c for c in codes if c not in known]
    if unknown:
        errors.append(f"country_codes: not ISO 3166 alpha-2 codes: {', '.join(unknown)}")
    out["country_codes"] = " ".join(dict.fromkeys(codes))
    if len(out["country_codes"]) > 200:
        errors.append("country_codes: longer than 200 characters")
    if errors:
        raise ValidationError("; ".join(errors))
    return out


def save_program(
    *, session: Session, actor: Actor, values: dict[str, Any], program_id: int | None = None
) -> MraProgram:
    """Add an MRA program, or correct the one with program_id (admins only); audited with before and after."""
    require_admin(actor)
    clean = _clean(session, values)
    program = None
    if program_id is not None:
        program = session.get(MraProgram, program_id)
        if program is None:
            raise ValidationError(f"No MRA program with id {program_id}.")
    before = {f: getattr(program, f) for f in FIELDS} if program else None
    program = program or MraProgram(**clean)
    for field, value in clean.items():
        setattr(program, field, value)
    session.add(program)
    session.flush()
    audit.record(session=session, actor=actor, action="update" if before else "create", entity="mra program",
                 entity_id=program.id, summary=f"Saved MRA program {program.acronym} ({program.partner_country})",
                 before=before, after=clean)
    return program
