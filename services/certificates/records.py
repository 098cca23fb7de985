"""Recording a partner's certificates: add, correct, verify, end (suspended, revoked, expired), delete; evidence.

Every change is audited and leaves a CertificateEvent; a change after which a partner is no longer covered makes it
join the open cycles it was exempt from (services.certificates.exemption).
"""

import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import pandas as pd
from sqlalchemy import delete, func, update
from sqlmodel import Session, col, select

from models import (
    Certificate,
    CertificateEvent,
    CertificateSite,
    CertificateVerification,
    Country,
    MraProgram,
    Partner,
    PartnerSite,
)
from models.certificate import (
    CTPAT,
    ENDED_STATUSES,
    RECORDABLE_METHODS,
    CertificateEventKind,
    CertificateStatus,
    VerificationMethod,
)
from models.common import Role, utcnow
from services.certificates import exemption, rule
from services.collection import evidence as store
from services.core import audit
from services.core.permissions import Actor, ValidationError, require, require_write

S, E = CertificateStatus, CertificateEventKind
FIELDS = ("program", "issuing_country", "certificate_number", "certificate_type", "valid_from", "valid_to",
          "no_expiry", "covers_all_sites", "covered_sites", "notes")
LIST_COLUMNS = ["id", "program", "certificate_type", "certificate_number", "issuing_country", "status", "valid_from",
                "valid_to", "no_expiry", "covers_all_sites", "site_ids", "sites", "covered_sites", "last_verified",
                "recheck_by",
                "verifications", "recognition", "arrangement", "counts", "covers_partner", "why", "evidence_filename",
                "notes"]
VERIFICATION_COLUMNS = ["id", "verified_on", "verified_by", "method", "reference", "evidence_filename", "recorded_by",
                        "recorded_at"]
EVENT_COLUMNS = ["id", "certificate_id", "kind", "effective_on", "from_status", "to_status", "note", "recorded_by",
                 "recorded_at"]
_PROGRAM = re.compile(r"^[A-Z0-9][A-Z0-9 ./()&-]*$")
_LIMITS = {"program": 40, "certificate_number": 60, "certificate_type": 20, "notes": 1000}


@dataclass(frozen=True)
class Upload:
    """A file a user attached: its name as uploaded and its bytes."""

    filename: str
    data: bytes


def _day(value: Any, field: str, errors: list[str]) -> date | None:
    if value is None or value == "" or (not isinstance(value, date) and pd.isna(value)):
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value).strip())
    except ValueError:
        errors.append(f"{field}: '{value}' is not a date (YYYY-MM-DD)")
        return None


def registry_rows(*, session: Session) -> list[MraProgram]:
    """Every arrangement of the registry (a handful of rows)."""
    return list(session.exec(select(MraProgram).order_by(MraProgram.partner_country)).all())


def matching_arrangements(programs: list[MraProgram], program: str, country: str) -> list[MraProgram]:
    """The arrangements whose program codes include `program` and whose countries include `country`."""
    program, country = program.strip().upper(), country.strip().upper()
    return [p for p in programs if program in p.codes.upper().split() and country in p.country_codes.upper().split()]


def program_codes(*, session: Session) -> list[str]:
    """CTPAT, then every program code of the registry once (for pickers; other codes may be typed)."""
    codes = [c for p in registry_rows(session=session) for c in p.codes.upper().split()]
    return [CTPAT, *sorted(set(codes) - {CTPAT})]


def type_choices(*, session: Session, program: str, country: str) -> list[str]:
    """The certificate types the matching arrangements list for this program and issuing country."""
    found = matching_arrangements(registry_rows(session=session), program, country)
    return list(dict.fromkeys(t for p in found for t in p.certificate_types.upper().split()))


def site_choices(*, session: Session, partner_id: int) -> dict[int, str]:
    """Site id -> "name · MID · city" of the partner's sites (inactive ones marked), primary first, for pickers."""
    rows = session.exec(select(PartnerSite).where(PartnerSite.partner_id == partner_id)
                        .order_by(col(PartnerSite.is_primary).desc(), PartnerSite.id)).all()
    return {s.id: site_label(s.name, s.mid, s.city, s.status) for s in rows}


def site_label(name: str, mid: str | None, city: str, status: str) -> str:
    """How a site is named in pickers and lists."""
    parts = [name, mid or "", city if city and city != name else ""]
    label = " · ".join(p for p in parts if p)
    return label if status == "active" else f"{label} (inactive)"


def linked_sites(*, session: Session, certificate_ids) -> dict[int, list[int]]:
    """Certificate id -> the ids of the sites it names (only certificates that name any)."""
    found: dict[int, list[int]] = {}
    ids = sorted({int(i) for i in certificate_ids})
    for start in range(0, len(ids), 5_000):
        for cert_id, site_id in session.exec(
                select(CertificateSite.certificate_id, CertificateSite.site_id)
                .where(col(CertificateSite.certificate_id).in_(ids[start:start + 5_000]))
                .order_by(CertificateSite.certificate_id, CertificateSite.site_id)).all():
            found.setdefault(cert_id, []).append(site_id)
    return found


def _set_sites(session: Session, certificate_id: int, site_ids: list[int]) -> None:
    """Make the certificate name exactly these sites."""
    have = set(linked_sites(session=session, certificate_ids=[certificate_id]).get(certificate_id, []))
    gone = have - set(site_ids)
    if gone:
        session.exec(delete(CertificateSite).where(col(CertificateSite.certificate_id) == certificate_id,
                                                   col(CertificateSite.site_id).in_(sorted(gone))))
    for site_id in sorted(set(site_ids) - have):
        session.add(CertificateSite(certificate_id=certificate_id, site_id=site_id))
    session.flush()


def clean_values(*, session: Session, values: dict[str, Any], registry: list[MraProgram] | None = None,
                 countries: set[str] | None = None, sites: dict[int, str] | None = None) -> dict[str, Any]:
    """The certificate fields checked and normalised; ValidationError naming every field that is wrong.

    The sites covered: all of the partner's (`covers_all_sites`), or those of `site_ids`, which must be among
    `sites` (the partner's: site id -> label) when given. `covered_sites` is the text recorded before sites could be
    linked (migration 0006 kept what it could not match); whoever chooses the sites passes it empty. An import passes
    the registry, the country codes and the sites once, so that checking a row costs no query.
    """
    errors: list[str] = []
    out: dict[str, Any] = {}
    for field, limit in _LIMITS.items():
        out[field] = " ".join(str(values.get(field) or "").split())
        if len(out[field]) > limit:
            errors.append(f"{field}: longer than {limit} characters")
    out["program"] = out["program"].upper()
    out["certificate_type"] = out["certificate_type"].upper()
    out["issuing_country"] = str(values.get("issuing_country") or "").strip().upper()
    if out["program"] == CTPAT and not out["issuing_country"]:
        out["issuing_country"] = "US"
    if not out["program"]:
        errors.append("program: required (CTPAT or the foreign program's code, e.g. AEO)")
    elif not _PROGRAM.match(out["program"]):
        errors.append(f"program: '{out['program']}' is not a program code (letters, digits, e.g. AEO or PIP)")
    if not out["certificate_number"]:
        errors.append("certificate_number: required (CTPAT account or SVI number, or the certificate's number)")
    if not out["issuing_country"]:
        errors.append("issuing_country: required (ISO code, e.g. DE)")
    elif (out["issuing_country"] not in countries if countries is not None
          else session.get(Country, out["issuing_country"]) is None):
        errors.append(f"issuing_country: '{out['issuing_country']}' is not an ISO 3166 alpha-2 code")
    elif out["program"] == CTPAT and out["issuing_country"] != "US":
        errors.append("issuing_country: CTPAT certificates are issued by CBP (US)")
    if out["program"] == CTPAT and out["certificate_type"]:
        errors.append("certificate_type: CTPAT certificates have no type (leave it empty)")
    elif out["program"] and out["issuing_country"] and out["certificate_type"]:
        found = matching_arrangements(registry if registry is not None else registry_rows(session=session),
                                      out["program"], out["issuing_country"])
        issued = list(dict.fromkeys(t for p in found for t in p.certificate_types.upper().split()))
        if issued and out["certificate_type"] not in issued:
            errors.append(f"certificate_type: '{out['certificate_type']}' is not a type of {out['program']} "
                          f"certificates from {out['issuing_country']} (one of {', '.join(issued)})")
    out["valid_from"] = _day(values.get("valid_from"), "valid_from", errors)
    out["valid_to"] = _day(values.get("valid_to"), "valid_to", errors)
    out["no_expiry"] = bool(values.get("no_expiry", False))
    if out["no_expiry"] and out["valid_to"] is not None:
        errors.append("valid_to: give a valid-to date or choose 'no expiry', not both")
    elif not out["no_expiry"] and out["valid_to"] is None and not any(e.startswith("valid_to") for e in errors):
        errors.append("valid_to: required, or choose 'no expiry' explicitly (CTPAT has none but is re-checked)")
    if out["valid_from"] and out["valid_to"] and out["valid_to"] < out["valid_from"]:
        errors.append("valid_to: before valid_from")
    out["covers_all_sites"] = bool(values.get("covers_all_sites", True))
    site_ids = sorted({int(i) for i in values.get("site_ids") or []})
    legacy = " ".join(str(values.get("covered_sites") or "").split())[:500]
    if out["covers_all_sites"]:
        site_ids, legacy = [], ""
    else:
        foreign = [i for i in site_ids if sites is not None and i not in sites]
        if foreign:
            errors.append(f"covered_sites: site {foreign[0]} is not a site of this partner")
        elif not site_ids and not legacy:
            errors.append("covered_sites: choose the sites it covers, or all sites")
    out["site_ids"], out["covered_sites"] = site_ids, legacy
    if errors:
        raise ValidationError("; ".join(errors))
    return out


def _partner(session: Session, partner_id: int) -> Partner:
    partner = session.get(Partner, partner_id)
    if partner is None:
        raise ValidationError(f"No partner with id {partner_id}")
    return partner


def get_certificate(*, session: Session, certificate_id: int) -> Certificate:
    """The certificate, or ValidationError when there is none with that id."""
    cert = session.get(Certificate, certificate_id)
    if cert is None:
        raise ValidationError(f"No certificate with id {certificate_id}")
    return cert


def _label(cert: Certificate) -> str:
    return f"{rule.certificate_name(cert.program, cert.certificate_type)} {cert.certificate_number} " \
           f"({cert.issuing_country})"


def _snapshot(cert: Certificate, session: Session | None = None) -> dict[str, Any]:
    values = {f: getattr(cert, f) for f in (*FIELDS, "status", "evidence_filename", "evidence_sha256")}
    if session is not None and cert.id is not None:
        values["site_ids"] = linked_sites(session=session, certificate_ids=[cert.id]).get(cert.id, [])
    return values


def _event(session: Session, actor: Actor, cert: Certificate, kind: E, effective_on: date, note: str = "",
           from_status: str = "", to_status: str = "") -> None:
    session.add(CertificateEvent(certificate_id=cert.id, partner_id=cert.partner_id, kind=kind,
                                 effective_on=effective_on, from_status=from_status, to_status=to_status,
                                 note=note[:500], recorded_by=actor.username))


def _taken(session: Session, partner_id: int, clean: dict[str, Any], except_id: int | None = None) -> bool:
    stmt = select(Certificate.id).where(
        Certificate.partner_id == partner_id, Certificate.program == clean["program"],
        Certificate.issuing_country == clean["issuing_country"],
        Certificate.certificate_number == clean["certificate_number"])
    if except_id is not None:
        stmt = stmt.where(Certificate.id != except_id)
    return session.exec(stmt).first() is not None


def _attach(target, upload: Upload | None) -> None:
    if upload is None:
        return
    sha256, name, content_type = store.store_file(filename=upload.filename, data=upload.data)
    target.evidence_sha256, target.evidence_filename = sha256, name
    target.evidence_content_type, target.evidence_size_bytes = content_type, len(upload.data)


def clean_verification(verified_on: Any, verified_by: str, method: str, reference: str,
                        today: date) -> tuple[date, str, VerificationMethod, str]:
    errors: list[str] = []
    day = _day(verified_on, "verified_on", errors)
    if day is None and not errors:
        errors.append("verified_on: required")
    elif day is not None and day > today:
        errors.append(f"verified_on: {day.isoformat()} is in the future")
    by = " ".join(str(verified_by or "").split())
    if not by:
        errors.append("verified_by: say who checked it")
    elif len(by) > 120:
        errors.append("verified_by: longer than 120 characters")
    methods = {m.value: m for m in RECORDABLE_METHODS}
    chosen = methods.get(str(method or "").strip().lower())
    if chosen is None:
        errors.append(f"method: '{method}' is not one of {', '.join(methods)}")
    reference = " ".join(str(reference or "").split())
    if len(reference) > 300:
        errors.append("reference: longer than 300 characters")
    if errors:
        raise ValidationError("; ".join(errors))
    return day, by, chosen, reference


def add_certificate(
    *, session: Session, actor: Actor, partner_id: int, values: dict[str, Any], evidence: Upload | None = None,
    verification: dict[str, Any] | None = None, today: date | None = None,
) -> Certificate:
    """Record a certificate of a partner (writers), as claimed; with `verification` (verified_on, verified_by,
    method, reference) it is verified at once. Audited; a "recorded" event (and "verified") is left."""
    require_write(actor)
    today = today or date.today()
    partner = _partner(session, partner_id)
    clean = clean_values(session=session, values=values, sites=site_choices(session=session, partner_id=partner_id))
    site_ids = clean.pop("site_ids")
    checked = clean_verification(**verification, today=today) if verification else None
    if _taken(session, partner_id, clean):
        raise ValidationError(f"certificate_number: {partner.partner_code} already has {clean['program']} certificate "
                              f"{clean['certificate_number']} from {clean['issuing_country']}")
    cert = Certificate(partner_id=partner_id, **clean, status=S.claimed, created_by=actor.username)
    _attach(cert, evidence)
    session.add(cert)
    session.flush()
    _set_sites(session, cert.id, site_ids)
    _event(session, actor, cert, E.recorded, today, to_status=S.claimed)
    audit.record(session=session, actor=actor, action="create", entity="certificate", entity_id=cert.id,
                 summary=f"Recorded certificate {_label(cert)} of {partner.partner_code}",
                 after=_snapshot(cert, session))
    if checked:
        _verify(session, actor, cert, partner.partner_code, checked, None, today)
    return cert


def update_certificate(
    *, session: Session, actor: Actor, certificate_id: int, values: dict[str, Any], evidence: Upload | None = None,
    today: date | None = None,
) -> Certificate:
    """Correct a certificate's fields (writers); audited. A later valid-to date on an expired certificate renews
    it: claimed again until verified. A correction after which the partner is no longer covered makes it join the
    open cycles it was exempt from."""
    require_write(actor)
    today = today or date.today()
    cert = get_certificate(session=session, certificate_id=certificate_id)
    partner = _partner(session, cert.partner_id)
    before = _snapshot(cert, session)
    clean = clean_values(session=session, values={**before, **values},
                         sites=site_choices(session=session, partner_id=cert.partner_id))
    if _taken(session, cert.partner_id, clean, except_id=cert.id):
        raise ValidationError(f"certificate_number: {partner.partner_code} already has {clean['program']} certificate "
                              f"{clean['certificate_number']} from {clean['issuing_country']}")
    _set_sites(session, cert.id, clean.pop("site_ids"))
    for field, value in clean.items():
        setattr(cert, field, value)
    _attach(cert, evidence)
    renewed = cert.status == S.expired and (cert.no_expiry or (cert.valid_to is not None and cert.valid_to >= today))
    if renewed:
        cert.status = S.claimed
    after = _snapshot(cert, session)
    changed = [f for f in after if before[f] != after[f]]
    if not changed:
        return cert
    cert.updated_at = utcnow()
    session.add(cert)
    session.flush()
    _event(session, actor, cert, E.corrected, today, note="Changed: " + ", ".join(changed))
    if renewed:
        _event(session, actor, cert, E.renewed, today, note="A later validity end was recorded; verify it again.",
               from_status=S.expired, to_status=S.claimed)
    audit.record(session=session, actor=actor, action="update", entity="certificate", entity_id=cert.id,
                 summary=f"Corrected certificate {_label(cert)} of {partner.partner_code}", before=before, after=after)
    exemption.join_uncovered(session=session, actor=actor, partner_ids=[cert.partner_id], today=today,
                             why=f"certificate {_label(cert)} corrected")
    return cert


def _verify(session: Session, actor: Actor, cert: Certificate, partner_code: str,
            checked: tuple[date, str, VerificationMethod, str], evidence: Upload | None,
            today: date) -> CertificateVerification:
    day, by, method, reference = checked
    if cert.status == S.revoked:
        raise ValidationError(f"{_label(cert)} is revoked: record the partner's new certificate instead.")
    if cert.status == S.expired or (not cert.no_expiry and cert.valid_to is not None and cert.valid_to < day):
        raise ValidationError(f"{_label(cert)} has expired: record the renewed certificate's valid-to date first.")
    check = CertificateVerification(certificate_id=cert.id, verified_on=day, verified_by=by, method=method,
                                    reference=reference, recorded_by=actor.username)
    _attach(check, evidence)
    session.add(check)
    before = cert.status
    kind = E.reinstated if before == S.suspended else E.verified
    cert.status, cert.updated_at = S.verified, utcnow()
    session.add(cert)
    session.flush()
    _event(session, actor, cert, kind, day, note=f"{method} by {by}" + (f": {reference}" if reference else ""),
           from_status=before, to_status=S.verified)
    audit.record(session=session, actor=actor, action="verify", entity="certificate", entity_id=cert.id,
                 summary=f"Verified certificate {_label(cert)} of {partner_code} on {day.isoformat()} ({method}, "
                         f"{by})", after={"verified_on": day, "verified_by": by, "method": method,
                                          "reference": reference, "evidence": check.evidence_filename})
    return check


def add_verification(
    *, session: Session, actor: Actor, certificate_id: int, verified_on: date, verified_by: str, method: str,
    reference: str = "", evidence: Upload | None = None, today: date | None = None,
) -> CertificateVerification:
    """Record a check of a certificate (writers): claimed or suspended become verified (a suspension lifted is a
    reinstatement). Revoked and expired certificates cannot be verified; a date in the future is refused."""
    require_write(actor)
    today = today or date.today()
    cert = get_certificate(session=session, certificate_id=certificate_id)
    partner = _partner(session, cert.partner_id)
    checked = clean_verification(verified_on, verified_by, method, reference, today)
    return _verify(session, actor, cert, partner.partner_code, checked, evidence, today)


def set_status(
    *, session: Session, actor: Actor, certificate_id: int, status: str, effective_on: date, note: str,
    today: date | None = None,
) -> Certificate:
    """End a certificate (writers): suspended, revoked or expired from the given day, with the reason. Coverage
    ends at once: a "loss" event is recorded (the follow-up engine reads it) and a partner no longer covered joins
    the open cycles it was exempt from."""
    require_write(actor)
    today = today or date.today()
    cert = get_certificate(session=session, certificate_id=certificate_id)
    partner = _partner(session, cert.partner_id)
    errors = []
    targets = {s.value: s for s in ENDED_STATUSES}
    target = targets.get(str(status or "").strip().lower())
    if target is None:
        errors.append(f"status: '{status}' is not one of {', '.join(targets)} (a check makes it verified)")
    note = " ".join(str(note or "").split())
    if not note:
        errors.append("note: say what happened and how you learned it")
    elif len(note) > 500:
        errors.append("note: longer than 500 characters")
    effective = _day(effective_on, "effective_on", errors)
    if effective is None and not any(e.startswith("effective_on") for e in errors):
        errors.append("effective_on: required")
    if errors:
        raise ValidationError("; ".join(errors))
    if cert.status == target:
        raise ValidationError(f"{_label(cert)} is already {target}.")
    if cert.status == S.revoked:
        raise ValidationError(f"{_label(cert)} is revoked; a revoked certificate stays revoked.")
    before = cert.status
    cert.status, cert.updated_at = target, utcnow()
    session.add(cert)
    session.flush()
    _event(session, actor, cert, E(target.value), effective, note=note, from_status=before, to_status=target)
    audit.record(session=session, actor=actor, action=target.value, entity="certificate", entity_id=cert.id,
                 summary=f"Certificate {_label(cert)} of {partner.partner_code} {target} from "
                         f"{effective.isoformat()}: {note}", before={"status": before},
                 after={"status": target, "effective_on": effective, "note": note})
    exemption.join_uncovered(session=session, actor=actor, partner_ids=[cert.partner_id], today=today,
                             why=f"certificate {_label(cert)} {target}")
    return cert


def delete_certificate(*, session: Session, actor: Actor, certificate_id: int, reason: str,
                       today: date | None = None) -> None:
    """Delete a certificate recorded in error, with its verifications and events (writers); audited with what it
    held. To record that a real certificate ended, use set_status instead."""
    require_write(actor)
    today = today or date.today()
    cert = get_certificate(session=session, certificate_id=certificate_id)
    partner = _partner(session, cert.partner_id)
    reason = " ".join(str(reason or "").split())
    if not reason:
        raise ValidationError("reason: say why the certificate is deleted (e.g. recorded for the wrong partner)")
    checks = session.exec(select(func.count()).select_from(CertificateVerification)
                          .where(CertificateVerification.certificate_id == cert.id)).one()
    before = {**_snapshot(cert, session), "verifications": checks}
    label = _label(cert)
    session.exec(delete(CertificateSite).where(col(CertificateSite.certificate_id) == cert.id))
    session.exec(delete(CertificateEvent).where(col(CertificateEvent.certificate_id) == cert.id))
    session.exec(delete(CertificateVerification).where(col(CertificateVerification.certificate_id) == cert.id))
    session.delete(cert)
    session.flush()
    audit.record(session=session, actor=actor, action="delete", entity="certificate", entity_id=certificate_id,
                 summary=f"Deleted certificate {label} of {partner.partner_code}: {reason[:300]}", before=before)
    exemption.join_uncovered(session=session, actor=actor, partner_ids=[partner.id], today=today,
                             why=f"certificate {label} deleted")


def list_for_partner(*, session: Session, partner_id: int, day: date | None = None) -> pd.DataFrame:
    """A partner's certificates with what the rule says of each on the day (LIST_COLUMNS), newest first."""
    day = day or date.today()
    results = rule.counts_on(session=session, day=day, partner_ids=[partner_id])
    rows = session.exec(select(Certificate.id, Certificate.covered_sites, Certificate.evidence_filename,
                               Certificate.notes).where(Certificate.partner_id == partner_id)).all()
    extra = pd.DataFrame([tuple(r) for r in rows], columns=["id", "covered_sites", "evidence_filename", "notes"])
    counts = dict(session.exec(select(CertificateVerification.certificate_id, func.count())
                               .join(Certificate, col(Certificate.id) == CertificateVerification.certificate_id)
                               .where(Certificate.partner_id == partner_id)
                               .group_by(CertificateVerification.certificate_id)).all())
    frame = results.rename(columns={"certificate_id": "id"}).merge(extra, on="id", how="left")
    frame["verifications"] = frame["id"].map(counts).fillna(0).astype(int)
    named = linked_sites(session=session, certificate_ids=frame["id"].tolist())
    labels = site_choices(session=session, partner_id=partner_id)
    frame["site_ids"] = [named.get(int(i), []) for i in frame["id"]]
    frame["sites"] = ["all sites" if every else "; ".join(labels.get(s, str(s)) for s in ids)
                      for every, ids in zip(frame["covers_all_sites"], frame["site_ids"], strict=True)]
    for column in ("valid_from", "valid_to", "last_verified", "recheck_by"):
        frame[column] = frame[column].dt.date
    return frame.sort_values("id", ascending=False, ignore_index=True)[LIST_COLUMNS]


def verifications(*, session: Session, certificate_id: int) -> pd.DataFrame:
    """Every check of a certificate, newest first."""
    stmt = (select(*(getattr(CertificateVerification, c) for c in VERIFICATION_COLUMNS))
            .where(CertificateVerification.certificate_id == certificate_id)
            .order_by(col(CertificateVerification.verified_on).desc(), col(CertificateVerification.id).desc()))
    return pd.DataFrame([tuple(r) for r in session.exec(stmt).all()], columns=VERIFICATION_COLUMNS)


def events(*, session: Session, certificate_id: int | None = None, partner_id: int | None = None) -> pd.DataFrame:
    """What happened to a certificate (or to all of a partner's), newest first."""
    stmt = select(*(getattr(CertificateEvent, c) for c in EVENT_COLUMNS))
    if certificate_id is not None:
        stmt = stmt.where(CertificateEvent.certificate_id == certificate_id)
    if partner_id is not None:
        stmt = stmt.where(CertificateEvent.partner_id == partner_id)
    stmt = stmt.order_by(col(CertificateEvent.recorded_at).desc(), col(CertificateEvent.id).desc())
    return pd.DataFrame([tuple(r) for r in session.exec(stmt).all()], columns=EVENT_COLUMNS)


def read_evidence(*, session: Session, actor: Actor, certificate_id: int | None = None,
                  verification_id: int | None = None) -> tuple[str, str, bytes]:
    """(file name, content type, bytes) of a certificate's copy or a verification's proof, for staff only; the
    bytes are checked against their hash."""
    require(actor, Role.admin, Role.analyst, Role.viewer)
    holder = (session.get(CertificateVerification, verification_id) if verification_id is not None
              else session.get(Certificate, certificate_id))
    if holder is None or not holder.evidence_sha256:
        raise ValidationError("No evidence file is attached there.")
    data = store.load_file(sha256=holder.evidence_sha256, filename=holder.evidence_filename)
    return holder.evidence_filename, holder.evidence_content_type, data


def move_to_partner(*, session: Session, from_partner_id: int, to_partner_id: int) -> int:
    """Move a merged duplicate's certificates to the partner kept; one the kept partner also holds (same program,
    country and number) is folded into it with its verifications and events. Returns how many moved or folded."""
    kept = {(c.program, c.issuing_country, c.certificate_number): c.id for c in session.exec(
        select(Certificate).where(Certificate.partner_id == to_partner_id))}
    moved = 0
    for cert in session.exec(select(Certificate).where(Certificate.partner_id == from_partner_id)).all():
        twin = kept.get((cert.program, cert.issuing_country, cert.certificate_number))
        if twin is None:
            cert.partner_id = to_partner_id
            session.add(cert)
        else:
            for model in (CertificateVerification, CertificateEvent):
                session.exec(update(model).where(col(model.certificate_id) == cert.id).values(certificate_id=twin))
            # The sites both records name stay named once; the duplicate's others are named by the kept one too.
            taken = select(CertificateSite.site_id).where(CertificateSite.certificate_id == twin)
            session.exec(update(CertificateSite).where(col(CertificateSite.certificate_id) == cert.id,
                                                       col(CertificateSite.site_id).not_in(taken))
                         .values(certificate_id=twin))
            session.exec(delete(CertificateSite).where(col(CertificateSite.certificate_id) == cert.id))
            session.flush()
            session.delete(cert)
        moved += 1
    session.flush()
    session.exec(update(CertificateEvent).where(col(CertificateEvent.partner_id) == from_partner_id)
                 .values(partner_id=to_partner_id))
    return moved
