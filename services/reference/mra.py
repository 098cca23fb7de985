"""Mutual Recognition Arrangements: the foreign AEO-type programs whose certificates CBP recognises.

Besides what CBP announces (partner, program, date signed), each arrangement holds what the certificate rule reads
(services.certificates.rule): the program codes certificates carry, the types the program issues and those the
arrangement covers, when it is in force, and whether it is confirmed (an unconfirmed one counts for nobody until an
admin confirms it). Every change is audited.
"""

import re
from datetime import date
from typing import Any

import pandas as pd
from sqlmodel import Session, select

from models import Country, MraProgram
from services.core import audit
from services.core.permissions import Actor, ValidationError, require_admin

FIELDS = ("partner_country", "customs_administration", "program_name", "acronym", "signed", "confirmed",
          "country_codes", "source", "codes", "certificate_types", "types_counted", "types_note", "in_force_from",
          "in_force_until", "caveat")
LIST_FIELDS = (*FIELDS, "checked_on", "confirmed_by", "confirmed_on")
_LIMITS = {"partner_country": 80, "customs_administration": 200, "program_name": 200, "acronym": 20,
           "source": 1000, "types_note": 1000, "caveat": 1000}
_TOKENS = {"codes": 100, "certificate_types": 200, "types_counted": 200}
_TOKEN = re.compile(r"^[A-Z0-9][A-Z0-9-]*$")
_REQUIRED = ("partner_country", "program_name", "acronym")
_SIGNED = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


def list_programs(*, session: Session) -> pd.DataFrame:
    """All MRA programs, oldest arrangement first."""
    rows = session.exec(select(MraProgram).order_by(MraProgram.signed, MraProgram.id)).all()
    return pd.DataFrame([{"id": p.id, **{f: getattr(p, f) for f in LIST_FIELDS}} for p in rows],
                        columns=["id", *LIST_FIELDS])


def _date(value: Any, field: str, errors: list[str]) -> date | None:
    if value is None or value == "" or (not isinstance(value, date) and pd.isna(value)):
        return None
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value).strip())
    except ValueError:
        errors.append(f"{field}: '{value}' is not a date (YYYY-MM-DD)")
        return None


def _tokens(value: Any) -> list[str]:
    return list(dict.fromkeys(str(value or "").replace(",", " ").upper().split()))


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
    for field, limit in _TOKENS.items():
        tokens = _tokens(values.get(field))
        wrong = [t for t in tokens if not _TOKEN.match(t)]
        if wrong:
            errors.append(f"{field}: '{wrong[0]}' is not a code (letters, digits and hyphens, e.g. AEO-S)")
        out[field] = " ".join(tokens)
        if len(out[field]) > limit:
            errors.append(f"{field}: longer than {limit} characters")
    first_word = re.match(r"[A-Za-z0-9-]+", out["acronym"])
    if not out["codes"] and first_word:
        out["codes"] = first_word.group().upper()  # "OEA (formerly NEEC)" -> OEA
    if not out["codes"]:
        errors.append("codes: give the program code(s) certificates carry, e.g. AEO")
    issued, counted = out["certificate_types"].split(), out["types_counted"].split()
    if counted and not issued:
        errors.append("types_counted: list the program's certificate types first (certificate_types)")
    elif set(counted) - set(issued):
        errors.append(f"types_counted: {', '.join(sorted(set(counted) - set(issued)))} not among the "
                      "certificate types")
    out["in_force_from"] = _date(values.get("in_force_from"), "in_force_from", errors)
    if out["in_force_from"] is None and _SIGNED.match(out["signed"]):
        out["in_force_from"] = date.fromisoformat(f"{out['signed']}-01")
    out["in_force_until"] = _date(values.get("in_force_until"), "in_force_until", errors)
    if out["in_force_from"] and out["in_force_until"] and out["in_force_until"] < out["in_force_from"]:
        errors.append("in_force_until: before in_force_from")
    if errors:
        raise ValidationError("; ".join(errors))
    return out


def save_program(
    *, session: Session, actor: Actor, values: dict[str, Any], program_id: int | None = None
) -> MraProgram:
    """Add an MRA program, or correct the one with program_id (admins only); audited with before and after."""
    require_admin(actor)
    program = None
    if program_id is not None:
        program = session.get(MraProgram, program_id)
        if program is None:
            raise ValidationError(f"No MRA program with id {program_id}.")
    before = {f: getattr(program, f) for f in FIELDS} if program else None
    # A correction changes the fields given; the others keep their values.
    clean = _clean(session, {**(before or {}), **values})
    newly_confirmed = clean["confirmed"] and not (before or {}).get("confirmed", False)
    program = program or MraProgram(**clean)
    for field, value in clean.items():
        setattr(program, field, value)
    if newly_confirmed:
        program.confirmed_by, program.confirmed_on = actor.username, date.today()
    elif not clean["confirmed"]:
        program.confirmed_by, program.confirmed_on = "", None
    session.add(program)
    session.flush()
    audit.record(session=session, actor=actor, action="update" if before else "create", entity="mra program",
                 entity_id=program.id, summary=f"Saved MRA program {program.acronym} ({program.partner_country})",
                 before=before, after=clean)
    return program


def confirm_program(*, session: Session, actor: Actor, program_id: int, note: str) -> MraProgram:
    """An admin confirms an arrangement whose date or text was unconfirmed, saying on what basis (e.g. "checked on
    cbp.gov's Mutual Recognition page"): from then on its certificates can count. Audited."""
    require_admin(actor)
    program = session.get(MraProgram, program_id)
    if program is None:
        raise ValidationError(f"No MRA program with id {program_id}.")
    note = " ".join(str(note or "").split())
    if not note:
        raise ValidationError("note: say what you checked the arrangement against")
    if program.confirmed:
        raise ValidationError(f"The {program.partner_country} arrangement is already confirmed.")
    program.confirmed, program.confirmed_by, program.confirmed_on = True, actor.username, date.today()
    session.add(program)
    session.flush()
    audit.record(session=session, actor=actor, action="confirm", entity="mra program", entity_id=program.id,
                 summary=f"Confirmed the {program.partner_country} arrangement ({program.acronym}): {note}"[:500],
                 before={"confirmed": False}, after={"confirmed": True, "note": note})
    return program


def mark_checked(*, session: Session, actor: Actor, checked_on: date, note: str = "") -> int:
    """Record that the registry was checked against CBP's published list on that day (admins); returns how many
    arrangements it covers. Audited."""
    require_admin(actor)
    if not isinstance(checked_on, date) or checked_on > date.today():
        raise ValidationError("checked_on: a day not in the future")
    programs = list(session.exec(select(MraProgram)).all())
    for program in programs:
        program.checked_on = checked_on
        session.add(program)
    session.flush()
    note = " ".join(str(note or "").split())
    audit.record(session=session, actor=actor, action="check", entity="mra program", entity_id="all",
                 summary=f"Checked the {len(programs)} arrangements against CBP's published list on "
                         f"{checked_on.isoformat()}" + (f": {note}" if note else ""),
                 after={"checked_on": checked_on, "arrangements": len(programs), "note": note})
    return len(programs)


def last_checked(*, session: Session) -> date | None:
    """When the registry was last checked against CBP's list (None: never recorded)."""
    days = [d for d in session.exec(select(MraProgram.checked_on)).all() if d is not None]
    return max(days) if days else None


MAP_COLUMNS = ["iso2", "numeric", "country", "arrangement", "program", "signed", "state"]
IN_FORCE, UNCONFIRMED, NOT_IN_FORCE = "in force", "unconfirmed: does not count yet", "not in force"


def arrangement_countries(*, session: Session, day: date) -> pd.DataFrame:
    """One row per country an arrangement covers (the EU as its member states) with the arrangement's state on the
    day: in force, unconfirmed (does not count until an admin confirms it) or not in force (MAP_COLUMNS)."""
    names = {c.iso2: c for c in session.exec(select(Country)).all()}
    rows = []
    for program in session.exec(select(MraProgram).order_by(MraProgram.signed, MraProgram.id)).all():
        started = program.in_force_from is None or program.in_force_from <= day
        ended = program.in_force_until is not None and program.in_force_until < day
        state = NOT_IN_FORCE if not started or ended else IN_FORCE if program.confirmed else UNCONFIRMED
        for code in program.country_codes.split():
            country = names.get(code)
            if country is not None:
                rows.append({"iso2": code, "numeric": country.numeric, "country": country.name,
                             "arrangement": program.partner_country, "program": program.acronym,
                             "signed": program.signed, "state": state})
    return pd.DataFrame(rows, columns=MAP_COLUMNS)
