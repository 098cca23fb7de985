"""Deterministic demo data: Dana's company, a US importer of consumer electronics and furniture, with its partners.

Everything is drawn from ``random.Random(seed)`` and ``numpy.random.default_rng(seed)`` relative to ``today``, so
the same (partners, seed, today) always gives the same rows. Rows are built in memory and bulk-inserted in chunks.
The risk assessment's demo (services.demo.lanes: first sites and contacts, about 25 lanes, threat ratings, a
fictional restricted list) follows, and the partners get internal owners among the staff users there are.
"""

import math
import random
import re
import unicodedata
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import numpy as np
from sqlalchemy import insert, update
from sqlmodel import Session, SQLModel, col, func, select

from models import (
    Answer,
    Assignment,
    AuditEvent,
    CompanyProfile,
    Country,
    Criterion,
    CriterionApplicability,
    Cycle,
    MraProgram,
    Partner,
    ReviewComment,
    User,
)
from models.collection import AnswerSource, AnswerValue, AssignmentStatus, CycleStatus
from models.common import ENTITY_TYPES, Requirement, Role
from services.collection import rules
from services.demo import certificates as demo_certificates
from services.demo import lanes as demo_lanes
from services.demo.data import demo_data
from services.partners.identifiers import normalize_name
from services.reference.applicability import question_sets_for_partners

MAX_PARTNERS = 100_000
_CHUNK = 20_000

IMP, EXP, FM, HWY = "Importer", "Exporter", "Foreign Manufacturer", "Highway Carrier"
MXL, AIR, RAIL, SEA = "Long Haul Highway Carrier (Mexico)", "Air Carrier", "Rail Carrier", "Sea Carrier"
TPL, CON, BRK = "Third Party Logistics Provider", "Consolidator", "Customs Broker"
PORT = "Marine Port Authority and Terminal Operator"

# The literal data (partner mix, cities, names, people, comments) is in seed/demo/, read by services.demo.data.
_DATA = demo_data()
_MIX, _WHERE, _CRITICALITY = _DATA.mix, _DATA.where, _DATA.criticality
_SPANISH, _CHINESE = _DATA.spanish, _DATA.chinese
_CITIES, _STYLES, _SERVICES, _SERVICES_ES = _DATA.cities, _DATA.styles, _DATA.services, _DATA.services_es
_PEOPLE, _PEOPLE_OF, _GAPS, _RETURN_NOTES = _DATA.people, _DATA.people_of, _DATA.gaps, _DATA.return_notes
_FUNNEL, _AGENT_FACTORIES, _CTPAT_ODDS = _DATA.funnel, _DATA.agent_factories, _DATA.ctpat_odds
_ASCII = str.maketrans({"ı": "i", "ø": "o", "Ø": "O", "ß": "ss", "æ": "ae", "đ": "d", "Đ": "D"})
_UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_MID_SKIP = {"a", "an", "and", "of", "the"}
# Words that tell the demo's names apart no better than their legal forms, which normalize_name removes.
_FILLER_WORDS = frozenset({"de", "industrial", "indonesia", "international"})
S = AssignmentStatus
_ANSWERED = (S.in_progress, S.submitted, S.returned, S.accepted)
_VALUES = np.array(rules.ANSWER_VALUES, dtype=object)
_NOT_APPLICABLE = _DATA.not_applicable


@dataclass
class DemoSummary:
    """How many rows seed_demo wrote (`partners`: those asked for; `lane_partners`: the few the lanes add for a type
    or country the mix lacks, seed/demo/lane_partners.csv)."""

    partners: int
    certifications: int
    cycles: int
    assignments: int
    answers: int
    lanes: int = 0
    lane_partners: int = 0
    owned: int = 0  # partners with an internal owner


def seed_demo(*, session: Session, partners: int = 200, seed: int = 2027, today: date | None = None) -> DemoSummary:
    """Fill an empty database with a believable demo: company profile, partners, certificates and two cycles.

    The reference tables (countries, criteria, applicability, MRA programs) must be loaded and the partner table
    empty; raises ValueError otherwise. The same (partners, seed, today) always produces the same rows; only the
    one "Loaded demo data" audit event carries the real time. Rows are flushed, not committed: the caller commits.
    """
    today = today or date.today()
    _check_ready(session, partners)
    rng = random.Random(seed)
    gen = np.random.default_rng(seed)
    clock = _Clock(today, aware=bool(getattr(Partner.__table__.c.created_at.type, "timezone", False)))

    if session.exec(select(func.count()).select_from(CompanyProfile)).one() == 0:
        _bulk(session, CompanyProfile, [_company(rng, clock)])
    firms = _build_partners(rng, partners, clock)
    _bulk(session, Partner, [f.row for f in firms])
    ids = dict(session.exec(select(Partner.partner_code, Partner.id)).all())
    for firm in firms:
        firm.id = ids[firm.row["partner_code"]]
    links = [{"id": f.id, "parent_id": firms[f.parent].id} for f in firms if f.parent is not None]
    if links:
        session.exec(update(Partner), params=links)

    certificates = _certifications(session, rng, firms, clock)
    assignments, questionnaires = _cycles(session, rng, firms, certificates, clock)
    answers = _answers(session, gen, firms, questionnaires)
    # The stored certificates, and the open cycle's exemptions that follow from them, come from here.
    certified = demo_certificates.seed_certificates(session=session, seed=seed, today=today)
    last_firm = max(f.id for f in firms)
    steps = demo_lanes.seed_demo_lanes(session=session, today=today)
    lane_partners = _stamp_lane_partners(session, last_firm, clock)
    owned = _owners(session, seed)

    summary = DemoSummary(partners=len(firms), certifications=certified.certificates, cycles=2,
                          assignments=assignments, answers=answers, lanes=steps.lanes, lane_partners=lane_partners,
                          owned=owned)
    _bulk(session, AuditEvent, [{
        "at": clock.real_now(), "username": "system", "action": "create", "entity": "demo", "entity_id": "",
        "summary": f"Loaded demo data: {summary.partners} partners, {summary.certifications} certificates, "
                   f"{summary.assignments} questionnaires, {summary.answers} answers, {summary.lanes} lanes "
                   f"(seed {seed}, as of {today})",
        "after": asdict(summary),
    }])
    session.flush()
    return summary


def _stamp_lane_partners(session: Session, last_firm: int, clock: "_Clock") -> int:
    """The partners the lane demo added get the demo's own time, as every other demo row: same arguments, same rows."""
    added = session.exec(update(Partner).where(col(Partner.id) > last_firm)
                         .values(created_at=clock.now, updated_at=clock.now)).rowcount
    return added


def _owners(session: Session, seed: int) -> int:
    """Spread the active partners over the active staff who may write (admins and analysts, by username) as their
    internal owners, about one in twelve left without one; none when there are no staff users yet (a fresh install
    has only its first admin, so all are the admin's). Its own random stream: the rest of the demo stays as it was."""
    staff = session.exec(select(User.id).where(User.is_active, col(User.role).in_([Role.admin, Role.analyst]))
                         .order_by(User.username)).all()
    if not staff:
        return 0
    rng = random.Random(f"owners-{seed}")
    partners = session.exec(select(Partner.id).where(Partner.status == "active").order_by(Partner.id)).all()
    rows = [{"id": pid, "owner_id": rng.choice(staff)} for pid in partners if rng.random() >= 0.08]
    for start in range(0, len(rows), _CHUNK):
        session.exec(update(Partner), params=rows[start:start + _CHUNK])
    return len(rows)


def _check_ready(session: Session, partners: int) -> None:
    if not 1 <= partners <= MAX_PARTNERS:
        raise ValueError(f"Demo partners must be between 1 and {MAX_PARTNERS:,}; got {partners}.")
    for model, what in ((Country, "country"), (Criterion, "criterion"),
                        (CriterionApplicability, "criterion applicability"), (MraProgram, "MRA program")):
        if session.exec(select(func.count()).select_from(model)).one() == 0:
            raise ValueError(f"Load the reference data before the demo data: the {what} table is empty.")
    if session.exec(select(func.count()).select_from(Partner)).one():
        raise ValueError("Demo data can only be loaded into an empty database: the partner table already has rows.")


class _Clock:
    """Demo times relative to `today`, in the form the timestamp columns store."""

    def __init__(self, today: date, *, aware: bool) -> None:
        self.today = today
        # SQLModel 0.0.50 stores plain datetime fields as aware UTC; NaiveDatetime columns take naive UTC.
        self.tz = UTC if aware else None
        self.now = self.at(today, 16)

    def at(self, day: date, hours: float = 0.0) -> datetime:
        return datetime.combine(day, time(), tzinfo=self.tz) + timedelta(seconds=round(hours * 3600))

    def real_now(self) -> datetime:
        return datetime.now(UTC).replace(tzinfo=self.tz)


def _bulk(session: Session, model: type[SQLModel], rows: list[dict[str, Any]]) -> None:
    """Core executemany in chunks: several times faster than ORM objects, and never a query per row."""
    table = model.__table__  # type: ignore[attr-defined]
    for start in range(0, len(rows), _CHUNK):
        session.exec(insert(table), params=rows[start:start + _CHUNK])


def _company(rng: random.Random, clock: _Clock) -> dict[str, Any]:
    """Dana's company: certified five years ago and validated 3.5 years ago, so revalidation is due within a year."""
    certified = clock.today - timedelta(days=round(5 * 365.25) + rng.randint(-40, 40))
    return {
        "legal_name": _DATA.company["legal_name"],
        "ctpat_account_number": _account_number(rng),
        "entity_type": IMP,
        "tier": "Tier II",
        "certification_date": certified,
        "last_validation_date": clock.today - timedelta(days=round(3.5 * 365.25) + rng.randint(-20, 20)),
        "annual_review_anniversary": certified,
        "ior_number": f"{rng.randint(20, 98)}-{rng.randint(1000000, 9999999)}00",
        "primary_contact": _DATA.company["primary_contact"],
        "primary_contact_email": _DATA.company["primary_contact_email"],
        "updated_at": clock.now,
    }


def _account_number(rng: random.Random) -> str:
    return rng.choice("BCDFGHJKLMNPRSTVWXZ") + "".join(rng.choices("ABCDEFGHJKLMNPQRSTUVWXYZ23456789", k=7))


class _Firm:
    """A partner row under construction, with what the later steps need to know about it."""

    __slots__ = ("row", "parent", "id", "onboarded", "weakness")

    def __init__(self, row: dict[str, Any], onboarded: date, weakness: float) -> None:
        self.row = row
        self.parent: int | None = None  # index of the parent firm
        self.id = 0
        self.onboarded = onboarded
        self.weakness = weakness  # how often the partner falls short of a criterion


class _Taken:
    """Names and identifiers already given out, so they stay unique."""

    def __init__(self) -> None:
        self.names: set[tuple[str, ...]] = set()
        self.values: dict[str, set[str]] = {}
        self.iata = [a + b for a in _UPPER for b in _UPPER + "0123456789"]

    def fresh(self, field: str, make: Callable[[], str]) -> str:
        used = self.values.setdefault(field, set())
        value = make()
        while value in used:
            value = make()
        used.add(value)
        return value


def _allocate(total: int) -> list[str]:
    """Entity type of each partner: the importer's mix, with every type present from 24 partners on."""
    counts = {entity: int(share * total) for entity, share in _MIX.items()}
    if total >= 2 * len(ENTITY_TYPES):
        counts = {entity: max(1, n) for entity, n in counts.items()}
    counts[FM] += total - sum(counts.values())
    return [entity for entity, n in counts.items() for _ in range(n)]


def _build_partners(rng: random.Random, total: int, clock: _Clock) -> list[_Firm]:
    entities = _allocate(total)
    rng.shuffle(entities)
    taken = _Taken()
    firms = []
    for number, entity in enumerate(entities, start=1):
        country = rng.choices(list(_WHERE[entity]), weights=list(_WHERE[entity].values()))[0]
        firms.append(_make_firm(rng, number, entity, country, clock, taken))
    _link_agents(rng, firms)
    _shares_and_criticality(rng, firms)
    return firms


def _make_firm(rng: random.Random, number: int, entity: str, country: str, clock: _Clock, taken: _Taken) -> _Firm:
    style = _STYLES[country]
    city, lat, lon = rng.choice(_CITIES[country])
    name = _company_name(rng, entity, country, city, taken)
    street_number = rng.randint(1, 2999)
    mid = None
    if entity == FM:  # the MID is built from the address, so a clash means another street number
        used = taken.values.setdefault("mid", set())
        mid = _mid(country, name, street_number, city)
        while mid in used:
            street_number = rng.randint(1, 9999)
            mid = _mid(country, name, street_number, city)
        used.add(mid)
    contact = _person(rng, country)
    streets = rng.sample(style.streets, 2)
    onboarded = clock.today - timedelta(days=rng.randint(20, 3300))
    status = "inactive" if rng.random() < 0.03 else "active"
    row: dict[str, Any] = {
        "partner_code": f"P-{number:06d}", "legal_name": name, "normalized_name": normalize_name(name),
        "entity_type": entity, "country_iso2": country,
        "address": style.address.format(n=street_number, s=streets[0], s2=streets[1], L=rng.choice("ABCDE"),
                                        m=rng.randint(1, 12)),
        "city": city,
        "latitude": round(lat + rng.uniform(-0.05, 0.05), 5), "longitude": round(lon + rng.uniform(-0.05, 0.05), 5),
        "mid": mid, "scac": None, "ior_ein": None, "duns": None, "fmc": None, "iata_code": None,
        "broker_license": None, "usdot": None,
        "contact_name": contact, "contact_email": f"{_slug(contact, '.')}@{_domain(name, city)}",
        "language": "zh" if country in _CHINESE else "es" if country in _SPANISH else "en",
        "criticality": "medium", "import_share": None, "status": status,
        "notes": f"Deactivated: no purchase orders since {clock.today.year - rng.randint(1, 3)}."
                 if status == "inactive" else "",
        "created_at": clock.at(onboarded, rng.uniform(8, 18)),
        "updated_at": clock.at(onboarded + timedelta(days=rng.randint(0, (clock.today - onboarded).days)),
                               rng.uniform(8, 18)),
    }
    row.update(_identifiers(rng, entity, country, name, taken))
    return _Firm(row, onboarded, rng.betavariate(1.3, 9))


def _words(name: str) -> list[str]:
    return [w for w in normalize_name(name).split() if w not in _FILLER_WORDS]


def _company_name(rng: random.Random, entity: str, country: str, city: str, taken: _Taken) -> str:
    """A company name whose words (ignoring order and legal form) no other partner in the country has."""
    style = _STYLES[country]
    attempt = 0
    while True:
        pick = rng.randrange(len(style.first) + len(style.surnames))
        if pick >= len(style.first):
            surname, family = style.surnames[pick - len(style.first)], rng.choice(style.family)
            brand = f"{surname} {family}".strip() if family != surname else surname
        else:
            first, second = style.first[pick], rng.choice(style.second)
            if style.joined:
                brand = first + second if first.lower() != second else first + "xing"
            else:
                brand = f"{first} {second}".strip() if second != first else first
        if attempt >= 12:  # a crowded name space (tens of thousands of partners): real groups number their plants
            brand = f"{brand} Unit {attempt - 10}"
        if entity == FM:
            template = rng.choice(style.makers)
        elif country == "MX" and entity in _SERVICES_ES:
            template = rng.choice(_SERVICES_ES[entity]) + style.form
        else:
            template = ("{city} " if country == "CN" else "") + "{brand} " + rng.choice(_SERVICES[entity]) + style.form
        name = template.format(brand=brand, product=rng.choice(style.products), city=city)
        key = (country, *sorted(set(_words(name))))
        if key not in taken.names:
            taken.names.add(key)
            return name
        attempt += 1


def _person(rng: random.Random, country: str) -> str:
    given, surnames, surname_first = _PEOPLE[_PEOPLE_OF.get(country, "en")]
    first, last = rng.choice(given), rng.choice(surnames)
    return f"{last} {first}" if surname_first else f"{first} {last}"


def _ascii(text: str) -> str:
    return unicodedata.normalize("NFKD", text.translate(_ASCII)).encode("ascii", "ignore").decode()


def _slug(text: str, sep: str) -> str:
    return sep.join(re.findall(r"[a-z0-9]+", _ascii(text).lower()))


def _domain(name: str, city: str) -> str:
    skip = {*_slug(city, " ").split(), "del", "la", "las", "los", "y", "e", "di", "du", "le"}
    words = [w for w in _words(_ascii(name)) if w not in skip]
    return f"{'-'.join(words[:2]) or 'partner'}.example"  # a reserved TLD: demo invitations can never reach anyone


def _mid(country: str, name: str, street_number: int, city: str) -> str:
    """CBP's manufacturer ID: country, 3 letters of the first two name words, street number digits, 3 of the city."""
    words = [w for w in re.findall(r"[A-Za-z]+", _ascii(name)) if w.lower() not in _MID_SKIP]
    city_part = re.sub(r"[^A-Za-z]", "", _ascii(city))[:3]
    return (country + "".join(w[:3] for w in words[:2]) + str(street_number)[:4] + city_part).upper()[:15]


def _identifiers(rng: random.Random, entity: str, country: str, name: str, taken: _Taken) -> dict[str, str]:
    """The trade identifiers a partner of this type and country holds, in their valid formats."""
    ids: dict[str, str] = {}
    us = country == "US"
    if entity in (HWY, MXL, SEA, RAIL) or (entity == CON and rng.random() < 0.6) or (
            entity == TPL and rng.random() < 0.4):
        initials = "".join(re.findall(r"[A-Z]", _ascii(name)))
        length = 3 if entity == SEA else 4

        def scac() -> str:  # mostly the name's initials; ocean carriers' codes end in U
            start = initials if rng.random() < 0.7 else ""
            return (start + "".join(rng.choices(_UPPER, k=4)))[:length] + ("U" if entity == SEA else "")

        ids["scac"] = taken.fresh("scac", scac)
    if entity == HWY or (entity == TPL and us and rng.random() < 0.5):
        ids["usdot"] = taken.fresh("usdot", lambda: str(rng.randint(1_000_000, 3_999_999)))
    if entity == AIR:
        ids["iata_code"] = (taken.iata.pop(rng.randrange(len(taken.iata))) if taken.iata
                            else taken.fresh("icao", lambda: "".join(rng.choices(_UPPER, k=3))))
    elif entity == CON and rng.random() < 0.35:  # air freight forwarders hold an IATA cargo agent code
        ids["iata_code"] = taken.fresh("iata", lambda: f"{rng.randint(1, 99):02d}{rng.randint(10000, 99999)}")
    if entity == CON or (entity == TPL and us and rng.random() < 0.3):
        suffix = rng.choice(("NF", "F")) if us else "N"
        ids["fmc"] = taken.fresh("fmc", lambda: f"{rng.randint(1, 999999):06d}{suffix}")
    if entity == BRK:
        ids["broker_license"] = taken.fresh("broker", lambda: str(rng.randint(10000, 99999)))
    if entity == IMP or (us and entity in (BRK, TPL, CON, EXP) and rng.random() < 0.5):
        suffix = "00" if entity == IMP else ""  # an importer of record number is the EIN plus a suffix
        ids["ior_ein"] = taken.fresh("ein", lambda: f"{rng.randint(10, 98)}-{rng.randint(1000000, 9999999)}{suffix}")
    if rng.random() < (0.8 if country in ("US", "CA") else 0.55):
        ids["duns"] = taken.fresh("duns", lambda: f"{rng.randint(10_000_000, 999_999_999):09d}")
    return ids


def _link_agents(rng: random.Random, firms: list[_Firm]) -> None:
    """Make some exporters and consolidators the parent of 2-6 factories they answer questionnaires for."""
    free: dict[str, list[int]] = {}
    for i, firm in enumerate(firms):
        if firm.row["entity_type"] == FM:
            free.setdefault(firm.row["country_iso2"], []).append(i)
    for i, agent in enumerate(firms):
        row = agent.row
        chosen = (row["entity_type"] == EXP and rng.random() < 0.75) or (
            row["entity_type"] == CON and row["country_iso2"] in ("HK", "CN", "VN") and rng.random() < 0.3)
        if not chosen or row["status"] != "active" or row["country_iso2"] not in _AGENT_FACTORIES:
            continue
        pool = [j for country in _AGENT_FACTORIES[row["country_iso2"]] for j in free.get(country, [])]
        wanted = min(rng.randint(2, 6), len(pool))
        if wanted < 2:
            continue
        for j in rng.sample(pool, wanted):
            firms[j].parent = i
            free[firms[j].row["country_iso2"]].remove(j)
        row["notes"] = f"Trading agent for {wanted} factories; returns their questionnaires in one Excel file."


def _shares_and_criticality(rng: random.Random, firms: list[_Firm]) -> None:
    """Import shares over active factories (a long tail summing to ~100 %); criticality by share or by type."""
    makers = [f for f in firms if f.row["entity_type"] == FM and f.row["status"] == "active"]
    weights = [rng.paretovariate(1.16) for _ in makers]
    total = sum(weights)
    for firm, weight in zip(makers, weights, strict=True):
        firm.row["import_share"] = max(round(100 * weight / total, 3), 0.001)
    ranked = sorted(makers, key=lambda f: -f.row["import_share"])
    for rank, firm in enumerate(ranked):
        position = rank / len(ranked)
        firm.row["criticality"] = ("critical" if position < 0.03 else "high" if position < 0.2 else
                                   "medium" if position < 0.65 else "low")
    for firm in firms:
        entity = firm.row["entity_type"]
        if entity != FM:
            firm.row["criticality"] = rng.choices(("low", "medium", "high", "critical"), _CRITICALITY[entity])[0]
        elif firm.row["status"] == "inactive":
            firm.row.update(import_share=0.0, criticality="low")


def _certifications(session: Session, rng: random.Random, firms: list[_Firm], clock: _Clock) -> list[dict[str, Any]]:
    """CTPAT certificates for eligible partners; MRA-recognized (AEO-type) certificates in MRA countries."""
    programs: dict[str, MraProgram] = {}
    for program in session.exec(select(MraProgram).order_by(col(MraProgram.id))).all():
        for code in program.country_codes.split():
            programs.setdefault(code, program)
    rows = []
    for firm in firms:
        entity, country = firm.row["entity_type"], firm.row["country_iso2"]
        odds = _CTPAT_ODDS.get(entity, 0.0) if country in ("US", "MX", "CA") or entity == SEA else 0.0
        if entity == FM and country in ("MX", "CA"):
            odds = 0.1
        program = programs.get(country)
        if rng.random() < odds:
            number, acronym, program_id = _account_number(rng), "CTPAT", None
        elif program and rng.random() < (0.25 if entity in (FM, EXP, CON) else 0.4):
            number, acronym, program_id = _mra_number(rng, program, country), program.acronym, program.id
        else:
            continue
        expired = rng.random() < 0.1
        valid_until = clock.today + timedelta(days=-rng.randint(5, 400) if expired else rng.randint(30, 1100))
        verified_on = None
        if rng.random() < 0.82:
            verified_on = min(clock.today, valid_until) - timedelta(days=rng.randint(3, 330))
        rows.append({
            "partner_id": firm.id, "program": acronym, "mra_program_id": program_id, "certificate_number": number,
            "valid_until": valid_until, "verified_on": verified_on, "verified_by": "luis" if verified_on else "",
            "created_at": clock.at(verified_on or clock.today - timedelta(days=rng.randint(1, 200)), 10),
        })
    return rows


def _mra_number(rng: random.Random, program: MraProgram, country: str) -> str:
    if program.acronym == "AEO" and (len(program.country_codes.split()) > 1 or country == "GB"):
        return f"{country}AEO{rng.choice('FCS')}{rng.randint(1, 999999):06d}"  # EU/UK style: DEAEOF000123
    return f"{program.acronym}-{country}-{rng.randint(1, 999999):06d}"


@dataclass
class _Questionnaire:
    """An assignment that has answers: whose, how far it got, and when it was answered."""

    assignment_id: int
    firm: int
    status: str
    opened: datetime
    finished: datetime  # submitted, or the last save while in progress
    reviewed: datetime | None
    reviewer: str
    open_cycle: bool


def _cycles(session: Session, rng: random.Random, firms: list[_Firm], certificates: list[dict[str, Any]],
            clock: _Clock) -> tuple[int, list[_Questionnaire]]:
    """Last season's closed annual review and this season's open one; returns the assignment count and the
    assignments that have answers."""
    today = clock.today
    closed_due = date(today.year if today > date(today.year, 1, 31) else today.year - 1, 1, 31)
    open_due = today + timedelta(days=60)
    # Named by the January they are due in, as the team names them ("2027 annual review" is due 31 January 2027).
    names = (f"{closed_due.year} annual review", f"{closed_due.year + 1} annual review")
    if session.exec(select(Cycle.id).where(col(Cycle.name).in_(names))).first():
        raise ValueError(f"A cycle named {names[0]!r} or {names[1]!r} already exists.")
    # (start, last activity): reviews of the closed cycle ran two weeks past its due date.
    windows = ((closed_due - timedelta(days=92), closed_due + timedelta(days=14)),
               (open_due - timedelta(days=90), today))
    _bulk(session, Cycle, [
        {"name": name, "due_date": due, "default_language": "en", "status": status, "created_by": "luis",
         "created_at": clock.at(start, 14)}
        for name, due, status, (start, _) in zip(names, (closed_due, open_due), (CycleStatus.closed, CycleStatus.open),
                                                 windows,
                                                 strict=True)])
    cycle_ids = dict(session.exec(select(Cycle.name, Cycle.id).where(col(Cycle.name).in_(names))).all())
    exempt = {c["partner_id"]: c for c in certificates if c["verified_on"]}

    rows: list[dict[str, Any]] = []
    plans: list[tuple[int, dict[str, Any], bool]] = []
    for i, firm in enumerate(firms):
        for is_open, (start, limit) in enumerate(windows):
            if is_open and firm.row["status"] != "active":
                continue
            if not is_open and (firm.onboarded >= start or rng.random() < 0.04):
                continue
            cert = exempt.get(firm.id)
            reason = ""
            known = cert and cert["verified_on"] <= (today if is_open else start)  # verified before the cycle
            if known and cert["valid_until"] >= (open_due if is_open else closed_due) and rng.random() < 0.9:
                status = S.exempt
                label = "CTPAT" if cert["program"] == "CTPAT" else f"MRA-recognized {cert['program']}"
                reason = (f"{label} certificate {cert['certificate_number']} verified on {cert['verified_on']}, "
                          f"valid until {cert['valid_until']}")
            elif is_open:
                status = rng.choices(list(_FUNNEL), weights=list(_FUNNEL.values()))[0]
            else:
                status = rng.choices((S.accepted, S.returned, S.submitted, S.sent), (88, 3, 3, 6))[0]
            row = _assignment(rng, clock, cycle_ids[names[is_open]], firm, status, start, limit, reason)
            rows.append(row)
            if status in _ANSWERED:
                plans.append((i, row, bool(is_open)))
    _bulk(session, Assignment, rows)
    ids = {(c, p): a for a, c, p in session.exec(select(Assignment.id, Assignment.cycle_id, Assignment.partner_id)
                                                 .where(col(Assignment.cycle_id).in_(list(cycle_ids.values()))))}
    return len(rows), [
        _Questionnaire(ids[(row["cycle_id"], row["partner_id"])], i, row["status"], row["opened_at"],
                       row["submitted_at"] or row["updated_at"], row["reviewed_at"], row["reviewed_by"], is_open)
        for i, row, is_open in plans]


def _assignment(rng: random.Random, clock: _Clock, cycle_id: int, firm: _Firm, status: str, start: date,
                limit: date, reason: str) -> dict[str, Any]:
    """One assignment whose timestamps follow its status, in order, between the cycle start and `limit`."""
    begin = clock.at(start, 9)
    end = min(clock.now, clock.at(limit, 17))

    def later(after: datetime, share: float) -> datetime:
        return after + (end - after) * (share * rng.random())

    sent = opened = saved = submitted = reviewed = None
    reviewer = ""
    if status == S.exempt:
        reviewed, reviewer = later(begin, 0.05), "luis"
    elif status != S.not_sent:
        sent = later(begin, 0.15)
        if status != S.sent:
            opened = later(sent, 0.4)
        if opened and status == S.in_progress:
            saved = later(opened, 1.0)
        if opened and status in (S.submitted, S.returned, S.accepted):
            submitted = later(opened, 0.7)
        if submitted and status in (S.returned, S.accepted):
            reviewed, reviewer = later(submitted, 1.0), rng.choice(("luis", "luis", "luis", "dana"))
    return {
        "cycle_id": cycle_id, "partner_id": firm.id, "status": status, "language": firm.row["language"],
        "exempt_reason": reason, "token_hash": None, "token_expires_at": None, "token_revoked": False,
        "sent_at": sent, "opened_at": opened, "submitted_at": submitted, "reviewed_at": reviewed,
        "reviewed_by": reviewer,
        "updated_at": max((t for t in (sent, opened, saved, submitted, reviewed) if t), default=begin),
    }


def _answers(session: Session, gen: np.random.Generator, firms: list[_Firm],
             questionnaires: list[_Questionnaire]) -> int:
    """Answers to every applicable criterion (a leading part of them while in progress), in bulk; returns the count.

    Each partner has one underlying answer pattern; this season repeats last season's answers with a few changes,
    as a partner does when it edits a pre-filled questionnaire.
    """
    # What each partner is asked (services.reference.applicability), in criterion-number order.
    members, sets = question_sets_for_partners(session=session, partner_ids=[f.id for f in firms])
    sets = sets.sort_values(["set_id", "sort_key"])
    criteria = sorted(set(zip(sets["criterion_id"], sets["category_number"], strict=True)))
    position = {cid: k for k, (cid, _) in enumerate(criteria)}
    by_set = {int(sid): np.array([position[c] for c in group], dtype=np.int64)
              for sid, group in sets.groupby("set_id")["criterion_id"]}
    musts_of_set = {int(sid): {position[c] for c in group[group["requirement"] == Requirement.must]["criterion_id"]}
                    for sid, group in sets.groupby("set_id")}
    set_of = {int(pid): int(sid) for pid, sid in zip(members["partner_id"], members["set_id"], strict=True)}
    categories = np.array([category for _, category in criteria])

    shape = (len(firms), len(criteria))
    gap = np.clip(np.array([f.weakness for f in firms])[:, None] * gen.uniform(0.4, 1.8, len(criteria))[None, :],
                  0, 0.7).astype(np.float32)
    last_year = _draw_codes(gen, gap)
    this_year = np.where(gen.random(shape, dtype=np.float32) < 0.08, _draw_codes(gen, gap * 0.7), last_year)
    picks = gen.integers(0, 1 << 30, shape, dtype=np.int32)

    rows: list[dict[str, Any]] = []
    notes: list[dict[str, Any]] = []
    total = 0
    for q in questionnaires:
        firm = firms[q.firm]
        cols = by_set.get(set_of.get(firm.id, -1), np.array([], dtype=np.int64))
        if q.status == S.in_progress:
            cols = cols[:max(1, math.ceil(len(cols) * gen.uniform(0.15, 0.9)))]
        values = _VALUES[(this_year if q.open_cycle else last_year)[q.firm, cols]].tolist()
        parent = firms[firm.parent] if firm.parent is not None else None
        source = AnswerSource.file if parent or picks[q.firm, 0] % 10 == 0 else AnswerSource.link
        answered_by = (parent or firm).row["contact_name"]
        language = firm.row["language"]
        must = musts_of_set.get(set_of.get(firm.id, -1), set())
        comments = [_comment(language, category, value, pick, Requirement.must if k in must else Requirement.should)
                    for k, category, value, pick in zip(cols.tolist(), categories[cols].tolist(), values,
                                                        picks[q.firm, cols].tolist(), strict=True)]
        ids = [criteria[k][0] for k in cols.tolist()]
        start = 0
        for count, stamp in _saves(gen, len(ids), q, source):
            day = stamp.date()
            rows.extend({"assignment_id": q.assignment_id, "criterion_id": cid, "value": value, "comment": comment,
                         "answered_on": day, "source": source, "answered_by": answered_by, "recorded_at": stamp,
                         "is_current": True}
                        for cid, value, comment in zip(ids[start:start + count], values[start:start + count],
                                                       comments[start:start + count], strict=True))
            start += count
        if q.status == S.returned:
            notes.extend(_return_notes(gen, q, cols.tolist(), values, criteria))
        if len(rows) >= _CHUNK:
            _bulk(session, Answer, rows)
            total += len(rows)
            rows = []
    _bulk(session, Answer, rows)
    _bulk(session, ReviewComment, notes)
    return total + len(rows)


def _comment(language: str, category: int, value: str, pick: int, requirement: str) -> str:
    """The explanation the answer rules ask for (partial, no, n/a on a must), fitting the criterion's category."""
    if not rules.comment_required(value, requirement):
        return ""
    if value == AnswerValue.na:
        options = _NOT_APPLICABLE[language]
    else:
        texts = _GAPS[language]
        options = texts.get(category, texts[7])[value == AnswerValue.no]
    return options[pick % len(options)]


def _saves(gen: np.random.Generator, count: int, q: _Questionnaire, source: str) -> list[tuple[int, datetime]]:
    """When the answers were recorded: (how many, when) per save, in questionnaire order.

    An uploaded file records everything at once; a partner on the link saves one to three times, the last save
    at submission (or at the assignment's last update while still in progress).
    """
    if source == AnswerSource.file:
        return [(count, q.finished)]
    saves = min(count, int(gen.integers(1, 4)))
    sizes = [len(part) for part in np.array_split(np.arange(count), saves)]
    return [(size, q.opened + (q.finished - q.opened) * ((k + 1) / saves)) for k, size in enumerate(sizes)]


def _draw_codes(gen: np.random.Generator, gap: np.ndarray) -> np.ndarray:
    """Index into _VALUES: mostly yes; a gap is partial twice as often as no; a few criteria do not apply on site."""
    roll = gen.random(gap.shape, dtype=np.float32)
    codes = np.where(roll < gap * 0.65, 1, np.where(roll < gap, 2, 0)).astype(np.int8)
    codes[gen.random(gap.shape, dtype=np.float32) < 0.015] = 3
    return codes


def _return_notes(gen: np.random.Generator, q: _Questionnaire, cols: list[int], values: list[str],
                  criteria: list[tuple[str, int]]) -> list[dict[str, Any]]:
    """Why a submission was sent back: the reviewer's comment on one or two weak answers (else any question)."""
    weak = [k for k, value in zip(cols, values, strict=True) if value in rules.GAP_VALUES] or cols
    chosen = gen.choice(weak, size=min(len(weak), int(gen.integers(1, 3))), replace=False).tolist()
    return [{"assignment_id": q.assignment_id, "criterion_id": criteria[k][0],
             "comment": _RETURN_NOTES[int(gen.integers(len(_RETURN_NOTES)))], "author": q.reviewer,
             "created_at": q.reviewed, "resolved": False} for k in chosen]
