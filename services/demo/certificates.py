"""Demo certificates for a seeded demo: the cases a compliance team meets, so the rule has something to decide.

``seed_certificates`` runs on a database the demo generator filled (partners and cycles, no certificates): CTPAT
certificates for eligible partners in North America and sea carriers, foreign certificates where the registry has
an arrangement (EU and UK with AEO-S, AEO-F and some AEO-C; Mexico's OEA and a VAT certification), a few AEOs from
countries without an arrangement, claims never verified, stale verifications, suspensions, revocations, expiries and
certificates expiring within 30, 60 and 90 days. The open cycle's exemptions are then made to follow the rule.
Deterministic for a (seed, today) pair; bulk inserts, never a query per row.
"""

import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pandas as pd
from sqlalchemy import insert, update
from sqlmodel import Session, col, func, select

from models import Assignment, Certificate, CertificateEvent, CertificateVerification, Cycle, MraProgram, Partner
from models.certificate import CTPAT, CertificateEventKind, CertificateStatus, VerificationMethod
from models.collection import AssignmentStatus, CycleStatus
from services.certificates import rule

S, E, M = CertificateStatus, CertificateEventKind, VerificationMethod
STAFF = ("luis", "luis", "dana")
# Chance that a partner of a CTPAT-eligible type (in the US, Mexico or Canada; any sea carrier) is certified.
CTPAT_ODDS = {"Highway Carrier": .35, "Long Haul Highway Carrier (Mexico)": .45, "Sea Carrier": .6,
              "Air Carrier": .3, "Rail Carrier": .8, "Third Party Logistics Provider": .5, "Consolidator": .3,
              "Customs Broker": .6, "Marine Port Authority and Terminal Operator": .5, "Importer": .4}
# Countries with an AEO program but no arrangement with CBP: a certificate from there never counts.
NO_ARRANGEMENT = ("CN", "VN", "TH", "MY", "TR", "ID", "HK")
# Types drawn where an arrangement lists them.
TYPE_WEIGHTS = {"AEO-F": 45, "AEO-S": 30, "AEO-C": 25, "OEA": 85, "IVA-IEPS": 15}


@dataclass
class CertificateDemo:
    """What seed_certificates wrote, and how many certificates cover their partner on the day."""

    certificates: int
    verifications: int
    events: int
    covering: int
    exempt_in_open_cycle: int


def _at(day: date, hour: int = 10) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=UTC)


def _number(rng: random.Random, program: str, country: str, kind: str) -> str:
    if program == CTPAT:
        return rng.choice("BCDFGHJKLMNPRSTVWXZ") + "".join(rng.choices("ABCDEFGHJKLMNPQRSTUVWXYZ23456789", k=7))
    if kind.startswith("AEO-"):
        return f"{country}AEO{kind[-1]}{rng.randint(1, 999999):06d}"  # EU/UK style: DEAEOF000123
    return f"{program}-{country}-{rng.randint(1, 999999):06d}"


def _programs(session: Session) -> dict[str, MraProgram]:
    """Issuing country -> the confirmed arrangement covering it (the first by id)."""
    found: dict[str, MraProgram] = {}
    for program in session.exec(select(MraProgram).order_by(col(MraProgram.id))).all():
        for country in program.country_codes.split():
            found.setdefault(country, program)
    return found


def _plan(rng: random.Random, partners: pd.DataFrame, programs: dict[str, MraProgram],
          exempt_before: set[int]) -> list[dict[str, Any]]:
    """Which partners hold which certificate (program, country, type)."""
    plans = []
    for p in partners.itertuples():
        country, entity = p.country_iso2, p.entity_type
        odds = CTPAT_ODDS.get(entity, 0.0) if country in ("US", "MX", "CA") or entity == "Sea Carrier" else 0.0
        if entity == "Foreign Manufacturer" and country in ("MX", "CA"):
            odds = 0.1
        boost = 0.5 if p.id in exempt_before else 0.0  # last year's exempt partners mostly still hold one
        program = programs.get(country)
        foreign = (0.3 if entity in ("Foreign Manufacturer", "Exporter", "Consolidator") else 0.4) + boost
        if odds and rng.random() < odds + boost:
            plans.append({"partner_id": p.id, "program": CTPAT, "country": "US", "type": ""})
        elif program is not None and rng.random() < foreign:
            types = program.certificate_types.split()
            kind = rng.choices(types, [TYPE_WEIGHTS.get(t, 1) for t in types])[0] if types else ""
            plans.append({"partner_id": p.id, "program": program.codes.split()[0], "country": country,
                          "type": kind})
        elif country in NO_ARRANGEMENT and rng.random() < 0.04:
            plans.append({"partner_id": p.id, "program": "AEO", "country": country, "type": ""})
    return plans


def _shape(rng: random.Random, plan: dict[str, Any], today: date, forced: str | None) -> dict[str, Any]:
    """Dates, status and checks of one certificate; `forced` makes it one of the cases the demo must show."""
    indefinite = _indefinite(plan)
    valid_from = today - timedelta(days=rng.randint(200, 2600))
    valid_to = None if indefinite else today + timedelta(days=rng.choice((
        rng.randint(-400, -5), rng.randint(91, 1100), rng.randint(91, 1100), rng.randint(91, 1100),
        rng.randint(5, 90))))
    draw = rng.random()
    status = S.claimed if draw < 0.12 else S.suspended if draw < 0.16 else S.revoked if draw < 0.18 else S.verified
    stale = rng.random() < 0.22
    if forced and forced.startswith("expiring"):
        valid_to, status, stale = today + timedelta(days=int(forced.split()[1])), S.verified, False
    elif forced in ("claimed", "suspended", "revoked"):
        status = S(forced)
    elif forced == "stale":
        status, stale = S.verified, True
    elif forced == "expired":
        valid_to, status = today - timedelta(days=rng.randint(10, 200)), S.verified
    elif forced == "fresh":
        status, stale = S.verified, False
        if valid_to is not None and valid_to < today + timedelta(days=91):
            valid_to = today + timedelta(days=rng.randint(200, 900))
    if valid_to is not None and valid_to < today and status != S.revoked:
        status = S.expired
    checks = []
    if status != S.claimed:
        last = today - timedelta(days=rng.randint(95, 400) if stale else rng.randint(0, 80))
        if valid_to is not None and valid_to < today:
            last = valid_to - timedelta(days=rng.randint(20, 300))
        last = max(last, valid_from)
        for back in range(rng.choice((1, 1, 2, 3))):
            day = last - timedelta(days=back * rng.randint(85, 120))
            if day >= valid_from:
                checks.append(day)
    return {"valid_from": valid_from, "valid_to": valid_to, "no_expiry": valid_to is None, "status": status,
            "checks": sorted(checks)}


def _method(rng: random.Random, program: str) -> M:
    if program == CTPAT:
        return rng.choices((M.portal_check, M.certificate_copy), (85, 15))[0]
    return rng.choices((M.portal_check, M.certificate_copy, M.customs_confirmation), (45, 40, 15))[0]


def _indefinite(plan: dict[str, Any]) -> bool:
    """CTPAT and EU/UK AEO authorisations have no end date (they are monitored instead)."""
    return plan["program"] == CTPAT or plan["type"].startswith("AEO-")


def _forced_cases(plans: list[dict[str, Any]], rng: random.Random) -> dict[int, str]:
    """Index of a plan -> the case it must show, so every case appears in a demo of any size that allows it.

    The certificates that show a type or country rule (AEO-C, the VAT certification, an AEO without an
    arrangement) are verified and fresh, so that the rule is what stops them.
    """
    order = list(range(len(plans)))
    rng.shuffle(order)
    forced: dict[int, str] = {}

    def take(pool: list[int], case: str) -> None:
        pick = next((i for i in pool if i not in forced), None)
        if pick is not None:
            forced[pick] = case

    for i in order:
        if plans[i]["type"] in ("AEO-C", "IVA-IEPS") or plans[i]["country"] in NO_ARRANGEMENT:
            forced[i] = "fresh"
    take([i for i in order if plans[i]["program"] == CTPAT], "fresh")
    dated = [i for i in order if not _indefinite(plans[i])]
    for case in ("expiring 12", "expiring 44", "expiring 75", "expired"):
        take(dated, case)
    for case in ("claimed", "stale", "suspended", "revoked"):
        take(order, case)
    return forced


def _add_required(plans: list[dict[str, Any]], partners: pd.DataFrame, programs: dict[str, MraProgram]) -> None:
    """An AEO-C from the EU or UK, a Mexican VAT certification and an AEO from a country without an arrangement,
    where the partner book has someone in such a country."""
    def first(countries) -> int | None:
        taken = {p["partner_id"] for p in plans}
        hit = partners[partners["country_iso2"].isin(list(countries)) & ~partners["id"].isin(taken)]
        return int(hit["id"].iloc[0]) if len(hit) else None

    european = [c for c, p in programs.items() if "AEO-C" in p.certificate_types.split()]
    have = {(p["program"], p["type"]) for p in plans}
    if ("AEO", "AEO-C") not in have and (pid := first(european)) is not None:
        country = partners.set_index("id").at[pid, "country_iso2"]
        plans.append({"partner_id": pid, "program": "AEO", "country": country, "type": "AEO-C"})
    if not any(p["type"] == "IVA-IEPS" for p in plans) and "MX" in programs and (pid := first(["MX"])) is not None:
        plans.append({"partner_id": pid, "program": programs["MX"].codes.split()[0], "country": "MX",
                      "type": "IVA-IEPS"})
    if not any(p["country"] in NO_ARRANGEMENT for p in plans) and (pid := first(NO_ARRANGEMENT)) is not None:
        country = partners.set_index("id").at[pid, "country_iso2"]
        plans.append({"partner_id": pid, "program": "AEO", "country": country, "type": ""})


def seed_certificates(*, session: Session, seed: int = 2027, today: date | None = None) -> CertificateDemo:
    """Fill the certificate tables of a seeded demo (partners present, no certificates yet) and make the newest
    open cycle's exemptions follow the rule; raises ValueError when there are no partners or already certificates.
    Rows are flushed, not committed."""
    today = today or date.today()
    if session.exec(select(func.count()).select_from(Certificate)).one():
        raise ValueError("Demo certificates can only be added where there are none yet.")
    partners = pd.DataFrame([tuple(r) for r in session.exec(
        select(Partner.id, Partner.entity_type, Partner.country_iso2).order_by(Partner.id)).all()],
        columns=["id", "entity_type", "country_iso2"])
    if partners.empty:
        raise ValueError("Seed the demo partners before their certificates.")
    rng = random.Random(seed * 31 + 7)
    programs = _programs(session)
    exempt_before = set(session.exec(  # exempt in a closed cycle: last year's certified partners
        select(Assignment.partner_id).join(Cycle, col(Cycle.id) == Assignment.cycle_id)
        .where(Assignment.status == AssignmentStatus.exempt, Cycle.status == CycleStatus.closed)).all())
    plans = _plan(rng, partners, programs, exempt_before)
    _add_required(plans, partners, programs)
    forced = _forced_cases(plans, rng)

    certificates, shapes = [], []
    for i, plan in enumerate(plans):
        shape = _shape(rng, plan, today, forced.get(i))
        shapes.append(shape)
        kind = plan["type"]
        created = (shape["checks"][0] if shape["checks"] else today - timedelta(days=rng.randint(1, 120)))
        certificates.append({
            "partner_id": plan["partner_id"], "program": plan["program"], "issuing_country": plan["country"],
            "certificate_number": _number(rng, plan["program"], plan["country"], kind), "certificate_type": kind,
            "status": shape["status"], "valid_from": shape["valid_from"], "valid_to": shape["valid_to"],
            "no_expiry": shape["no_expiry"], "covers_all_sites": True, "covered_sites": "", "evidence_sha256": None,
            "evidence_filename": "", "evidence_content_type": "", "evidence_size_bytes": None, "notes": "",
            "created_by": rng.choice(STAFF), "created_at": _at(created), "updated_at": _at(created),
        })
    if certificates:
        session.exec(insert(Certificate), params=certificates)
    ids = {(r.partner_id, r.program, r.issuing_country, r.certificate_number): r.id for r in session.exec(
        select(Certificate.id, Certificate.partner_id, Certificate.program, Certificate.issuing_country,
               Certificate.certificate_number)).all()}

    checks, events = [], []
    for row, shape in zip(certificates, shapes, strict=True):
        cid = ids[(row["partner_id"], row["program"], row["issuing_country"], row["certificate_number"])]
        base = {"certificate_id": cid, "partner_id": row["partner_id"], "note": ""}
        created = row["created_at"].date()
        events.append({**base, "kind": E.recorded, "effective_on": created, "from_status": "",
                       "to_status": S.claimed, "recorded_by": row["created_by"], "recorded_at": _at(created)})
        for n, day in enumerate(shape["checks"]):
            who, method = rng.choice(STAFF), _method(rng, row["program"])
            checks.append({"certificate_id": cid, "verified_on": day, "verified_by": who, "method": method,
                           "reference": "SVI partner status screen" if method == M.portal_check else "",
                           "evidence_sha256": None, "evidence_filename": "", "evidence_content_type": "",
                           "evidence_size_bytes": None, "recorded_by": who, "recorded_at": _at(day, 11)})
            events.append({**base, "kind": E.verified, "effective_on": day, "from_status": S.claimed if n == 0 else
                           S.verified, "to_status": S.verified, "note": f"{method} by {who}", "recorded_by": who,
                           "recorded_at": _at(day, 11)})
        ended = shape["status"]
        if ended in (S.suspended, S.revoked):
            on = today - timedelta(days=rng.randint(3, 60))
            note = ("Suspended by the issuing administration pending a re-validation" if ended == S.suspended
                    else "Revoked by the issuing administration after a failed re-validation")
            events.append({**base, "kind": E(ended.value), "effective_on": on, "from_status": S.verified,
                           "to_status": ended, "note": note, "recorded_by": "luis", "recorded_at": _at(on, 15)})
        elif ended == S.expired:
            on = row["valid_to"] + timedelta(days=1)
            events.append({**base, "kind": E.expired, "effective_on": on, "from_status": S.verified,
                           "to_status": S.expired, "note": f"Valid through {row['valid_to'].isoformat()}",
                           "recorded_by": "system", "recorded_at": _at(min(on, today), 6)})
    if checks:
        session.exec(insert(CertificateVerification), params=checks)
    if events:
        session.exec(insert(CertificateEvent), params=events)
    session.flush()
    covering, exempt = _align_open_cycle(session, today)
    return CertificateDemo(certificates=len(certificates), verifications=len(checks), events=len(events),
                           covering=covering, exempt_in_open_cycle=exempt)


def _align_open_cycle(session: Session, today: date) -> tuple[int, int]:
    """The newest open cycle: covered partners that have not started are exempt, exempt ones not covered are back
    to "not sent" (as if the cycle had been opened with the rule). Returns (partners covered, exempt)."""
    coverage = rule.best_per_partner(rule.counts_on(session=session, day=today, active_only=True))
    covered = coverage.loc[coverage["covered"]]
    reasons = dict(zip(covered["partner_id"].astype(int), covered["reason"], strict=True))
    cycle = session.exec(select(Cycle).where(Cycle.status == CycleStatus.open).order_by(col(Cycle.id).desc())).first()
    if cycle is None:
        return len(reasons), 0
    rows = session.exec(select(Assignment.id, Assignment.partner_id, Assignment.status)
                        .where(Assignment.cycle_id == cycle.id)).all()
    moves = []
    for assignment_id, partner_id, status in rows:
        if status == AssignmentStatus.exempt and partner_id not in reasons:
            moves.append({"id": assignment_id, "status": AssignmentStatus.not_sent, "exempt_reason": "",
                          "reviewed_at": None, "reviewed_by": ""})
        elif status == AssignmentStatus.not_sent and partner_id in reasons:
            moves.append({"id": assignment_id, "status": AssignmentStatus.exempt,
                          "exempt_reason": reasons[partner_id][:rule.EXEMPT_REASON_LIMIT],
                          "reviewed_at": _at(cycle.created_at.date(), 15), "reviewed_by": "luis"})
    if moves:
        session.exec(update(Assignment), params=moves)
    exempt = session.exec(select(func.count()).select_from(Assignment)
                          .where(Assignment.cycle_id == cycle.id, Assignment.status == AssignmentStatus.exempt)).one()
    return len(reasons), int(exempt)
