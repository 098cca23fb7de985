"""Demo data: deterministic, believable, valid by the app's own rules."""

import hashlib
import os
import subprocess
import sys
import unicodedata
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func
from sqlmodel import Session, select

from models import (
    Answer,
    Assignment,
    Certificate,
    CertificateEvent,
    CertificateVerification,
    CompanyProfile,
    Country,
    Cycle,
    Lane,
    LaneNode,
    MraProgram,
    Partner,
    PartnerContact,
    PartnerSite,
    Place,
    ReviewComment,
)
from models.common import ENTITY_TYPES
from models.user import User
from services.certificates import rule
from services.collection import rules
from services.company import profile as company
from services.core import db
from services.demo.data import demo_data
from services.demo.generator import DemoSummary, seed_demo
from services.partners.identifiers import IDENTIFIER_FORMATS, LEGAL_FORMS, name_words
from services.partners.registry import EDITABLE_FIELDS, clean_partner_values, find_duplicates
from services.reference import loader as reference
from services.reference.applicability import applicable_criteria_for_partners

TODAY = date(2026, 11, 16)
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Iterator[Session]:
    """A database holding the 200-partner demo, shared by the read-only tests of this module."""
    engine = db.make_engine(f"sqlite:///{tmp_path_factory.mktemp('demo') / 'demo.db'}")
    db.upgrade(engine)
    with db.session_scope(engine) as session:
        reference.load_reference_data(session=session)
        seed_demo(session=session, partners=200, today=TODAY)
    with Session(engine) as session:
        yield session
    engine.dispose()


def _aware(value: datetime | None) -> datetime | None:
    return value if value is None or value.tzinfo else value.replace(tzinfo=UTC)


def _plain(value: object) -> object:
    if isinstance(value, datetime):
        return _aware(value).astimezone(UTC).isoformat()
    if isinstance(value, float):
        return round(value, 6)
    if isinstance(value, date):
        return value.isoformat()
    return value


def fingerprint(session: Session) -> str:
    """A hash of every demo row, with database ids replaced by partner codes and cycle names."""
    codes = dict(session.exec(select(Partner.id, Partner.partner_code)).all())
    cycles = dict(session.exec(select(Cycle.id, Cycle.name)).all())
    assignments = {a.id: (cycles[a.cycle_id], codes[a.partner_id]) for a in session.exec(select(Assignment))}
    certificates = {c.id: (codes[c.partner_id], c.program, c.certificate_number)
                    for c in session.exec(select(Certificate))}
    site_names = {s.id: (codes[s.partner_id], s.name) for s in session.exec(select(PartnerSite))}
    lanes = dict(session.exec(select(Lane.id, Lane.code)).all())
    places = {p.id: (p.code, p.kind, p.name) for p in session.exec(select(Place))}
    digest = hashlib.sha256()
    # Rows the services stamp with the time they are written: their content must repeat, their time cannot.
    stamped = {"created_at", "updated_at"}
    for model, refs in (
        (CompanyProfile, {}),
        (Partner, {"parent_id": codes}),
        (Certificate, {"partner_id": codes}),
        (CertificateVerification, {"certificate_id": certificates}),
        (CertificateEvent, {"certificate_id": certificates, "partner_id": codes}),
        (Cycle, {}),
        (Assignment, {"cycle_id": cycles, "partner_id": codes}),
        (Answer, {"assignment_id": assignments}),
        (ReviewComment, {"assignment_id": assignments}),
        (PartnerSite, {"partner_id": codes}),
        (PartnerContact, {"partner_id": codes}),
        (Lane, {}),
        (LaneNode, {"lane_id": lanes, "partner_id": codes, "contracted_by_id": codes, "site_id": site_names,
                    "place_id": places}),
    ):
        rows = []
        skip = {"id"} | (stamped if model in (PartnerSite, PartnerContact, Lane) else set())
        for row in session.exec(select(model)):
            values = row.model_dump(exclude=skip)
            for field, mapping in refs.items():
                values[field] = mapping.get(values[field])
            rows.append(repr(sorted((k, _plain(v)) for k, v in values.items())))
        digest.update(f"{model.__name__}:{len(rows)}".encode())
        for row in sorted(rows):
            digest.update(row.encode())
    return digest.hexdigest()


def fresh_fingerprint(path: str, partners: int) -> str:
    """Seed a new SQLite database at `path` and return its fingerprint (run in a separate process)."""
    engine = db.make_engine(f"sqlite:///{path}")
    db.upgrade(engine)
    with db.session_scope(engine) as session:
        reference.load_reference_data(session=session)
        seed_demo(session=session, partners=partners, seed=7, today=TODAY)
    with Session(engine) as session:
        return fingerprint(session)


def test_same_arguments_give_the_same_data_in_another_process(session, tmp_path):
    # Another process with another hash seed: set ordering leaking into the data would show here.
    code = f"from tests.test_demo import fresh_fingerprint; print(fresh_fingerprint({str(tmp_path / 'b.db')!r}, 60))"
    env = {**os.environ, "PYTHONHASHSEED": "12345", "PYTHONPATH": str(ROOT)}
    other = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    seed_demo(session=session, partners=60, seed=7, today=TODAY)
    session.commit()
    out, err = other.communicate(timeout=120)
    assert other.returncode == 0, err
    assert fingerprint(session) == out.strip().splitlines()[-1]


def test_another_seed_gives_other_data(session):
    seed_demo(session=session, partners=30, seed=1, today=TODAY)
    names = set(session.exec(select(Partner.legal_name)).all())
    session.rollback()
    seed_demo(session=session, partners=30, seed=2, today=TODAY)
    assert set(session.exec(select(Partner.legal_name)).all()) != names


def test_summary_counts_what_was_written(session):
    summary = seed_demo(session=session, partners=50, today=TODAY)

    def count(model) -> int:
        return session.exec(select(func.count()).select_from(model)).one()

    assert summary == DemoSummary(partners=count(Partner) - summary.lane_partners, certifications=count(Certificate),
                                  cycles=count(Cycle), assignments=count(Assignment), answers=count(Answer),
                                  lanes=count(Lane), lane_partners=summary.lane_partners, owned=0)
    assert summary.partners == 50 and summary.cycles == 2 and summary.answers > 0 and summary.lanes >= 20
    # Every partner has its first site, and its contact where its record names one.
    assert count(PartnerSite) == count(Partner)
    assert count(PartnerContact) == session.exec(select(func.count()).select_from(Partner).where(
        (Partner.contact_name != "") | (Partner.contact_email != ""))).one()


def test_owners_are_spread_over_the_staff_who_may_write(session):
    from tests.conftest import add_user

    for username, role in (("luis", "analyst"), ("dana", "admin"), ("vp", "viewer")):
        add_user(session, username, role)
    summary = seed_demo(session=session, partners=60, today=TODAY)
    owners = Counter(session.exec(select(Partner.owner_id).where(Partner.status == "active")).all())
    users = {u.id: u.username for u in session.exec(select(User))}
    named = Counter({users.get(k, "Unknown"): n for k, n in owners.items() if k is not None})
    assert set(named) == {"luis", "dana"} and min(named.values()) > 10  # never the viewer
    assert 0 < owners[None] < 15 and summary.owned == sum(named.values())


@pytest.mark.parametrize("partners", [1, 5])
def test_tiny_demos_work(session, partners):
    assert seed_demo(session=session, partners=partners, today=TODAY).partners == partners


@pytest.mark.parametrize("partners", [0, -3, 100_001])
def test_partner_count_out_of_range_is_refused(session, partners):
    with pytest.raises(ValueError, match="between 1 and 100,000"):
        seed_demo(session=session, partners=partners, today=TODAY)


def test_refuses_a_database_that_has_partners(session):
    seed_demo(session=session, partners=3, today=TODAY)
    with pytest.raises(ValueError, match="partner table already has rows"):
        seed_demo(session=session, partners=3, today=TODAY)


def test_keeps_an_existing_company_profile(session):
    session.add(CompanyProfile(legal_name="Acme Imports LLC", updated_at=datetime.now(UTC)))
    session.flush()
    seed_demo(session=session, partners=3, today=TODAY)
    assert session.exec(select(CompanyProfile.legal_name)).all() == ["Acme Imports LLC"]


def test_company_profile_is_tier_two_with_revalidation_due_within_a_year(demo):
    profile = company.get_profile(session=demo)
    assert profile.tier == "Tier II" and profile.entity_type == "Importer"
    assert IDENTIFIER_FORMATS["ior_ein"][1].match(profile.ior_number)
    assert 7 <= len(profile.ctpat_account_number) <= 8 and profile.ctpat_account_number.isalnum()
    dates = company.key_dates(profile, TODAY)
    assert 0 < dates["days_to_revalidation"] <= 365
    assert 4.5 < (TODAY - profile.certification_date).days / 365.25 < 5.5


def test_partner_mix_is_an_importers(demo):
    partners = demo.exec(select(Partner)).all()
    types = Counter(p.entity_type for p in partners)
    assert set(types) == set(ENTITY_TYPES)
    assert 0.55 <= types["Foreign Manufacturer"] / len(partners) <= 0.65
    countries = Counter(p.country_iso2 for p in partners if p.entity_type == "Foreign Manufacturer")
    assert countries.most_common(1)[0][0] == "CN"
    assert {"VN", "MX", "IN", "TR"} <= set(countries)
    assert 0 < sum(p.status == "inactive" for p in partners) < 0.08 * len(partners)
    assert 0 < sum(p.criticality == "critical" for p in partners) < 0.1 * len(partners)
    # The lane demo's few own partners (seed/demo/lane_partners.csv, codes DL-...) have no import share: Unknown.
    drawn = [p for p in partners if not _lane_own(p)]
    assert 0 < len(partners) - len(drawn) <= 11
    shares = [p.import_share for p in drawn if p.entity_type == "Foreign Manufacturer"]
    assert sum(shares) == pytest.approx(100, abs=0.5)
    assert all(p.import_share is None for p in partners if p.entity_type != "Foreign Manufacturer" or p not in drawn)
    for p in partners:
        expected = "zh" if p.country_iso2 in ("CN", "TW", "HK") else "es" if p.country_iso2 == "MX" else "en"
        assert p.language == expected, p.partner_code


def test_every_partner_passes_the_apps_own_validation(demo):
    countries = set(demo.exec(select(Country.iso2)).all())
    for partner in demo.exec(select(Partner)):
        stored = {f: getattr(partner, f) for f in EDITABLE_FIELDS}
        clean, errors = clean_partner_values(stored, country_codes=countries)
        assert errors == [], (partner.partner_code, errors)
        assert {f: clean[f] for f in EDITABLE_FIELDS} == stored, partner.partner_code  # stored already normalised
        assert clean["normalized_name"] == partner.normalized_name
        assert partner.latitude is not None and partner.city and partner.address
        assert partner.contact_email.endswith(".example")


def test_names_and_identifiers_are_unique_and_flag_no_duplicates(demo):
    partners = demo.exec(select(Partner)).all()
    assert len({p.partner_code for p in partners}) == len(partners)
    assert all(p.partner_code.startswith("P-") and len(p.partner_code) == 8 for p in partners if not _lane_own(p))
    assert len({(p.country_iso2, p.normalized_name) for p in partners}) == len(partners)
    for field in IDENTIFIER_FORMATS:
        values = [getattr(p, field) for p in partners if getattr(p, field)]
        assert len(set(values)) == len(values), field
    for partner in partners:
        values = {f: getattr(partner, f) for f in (*IDENTIFIER_FORMATS, "normalized_name", "country_iso2")}
        assert find_duplicates(session=demo, values=values, exclude_id=partner.id) == [], partner.partner_code


def _lane_own(partner: Partner) -> bool:
    """One of the few partners the lane demo adds from seed/demo/lane_partners.csv (codes DL-...)."""
    return partner.partner_code.startswith("DL-")


def test_identifiers_fit_the_entity_type(demo):
    # The lane demo's own partners carry the identifiers its file gives: a MID for each manufacturer, nothing else.
    for p in demo.exec(select(Partner)):
        if _lane_own(p):
            assert bool(p.mid) == (p.entity_type == "Foreign Manufacturer") and not (p.scac or p.fmc), p.partner_code
            continue
        if p.entity_type == "Foreign Manufacturer":
            city = unicodedata.normalize("NFKD", p.city).encode("ascii", "ignore").decode().upper().replace(" ", "")
            assert p.mid and p.mid.startswith(p.country_iso2) and city.startswith(p.mid[-3:])
        else:
            assert p.mid is None
        if p.entity_type in ("Highway Carrier", "Long Haul Highway Carrier (Mexico)", "Sea Carrier", "Rail Carrier"):
            assert p.scac and len(p.scac) == 4
        if p.entity_type == "Sea Carrier":
            assert p.scac.endswith("U")
        if p.entity_type == "Highway Carrier":
            assert p.usdot
        assert bool(p.iata_code and len(p.iata_code) == 2) == (p.entity_type == "Air Carrier")
        assert bool(p.broker_license) == (p.entity_type == "Customs Broker")
        if p.entity_type == "Consolidator":
            assert p.fmc
        if p.entity_type == "Importer":
            assert p.ior_ein and p.ior_ein.endswith("00")


def test_trading_agents_are_parents_of_factories(demo):
    partners = {p.id: p for p in demo.exec(select(Partner))}
    children = Counter(p.parent_id for p in partners.values() if p.parent_id)
    assert children
    for parent_id, count in children.items():
        agent = partners[parent_id]
        assert agent.entity_type in ("Exporter", "Consolidator") and agent.status == "active"
        assert 2 <= count <= 6
        assert "Trading agent" in agent.notes
    assert all(partners[p.parent_id].parent_id is None for p in partners.values() if p.parent_id)
    assert all(p.entity_type == "Foreign Manufacturer" for p in partners.values() if p.parent_id)


def test_certificates_cover_the_cases_the_rule_decides(demo):
    partners = {p.id: p for p in demo.exec(select(Partner))}
    programs = list(demo.exec(select(MraProgram)))
    certificates = demo.exec(select(Certificate)).all()
    assert 0.12 <= len(certificates) / len(partners) <= 0.4
    checked = {v.certificate_id for v in demo.exec(select(CertificateVerification))}
    for cert in certificates:
        partner = partners[cert.partner_id]
        if cert.program == "CTPAT":
            assert cert.issuing_country == "US" and cert.no_expiry and not cert.certificate_type
        elif cert.issuing_country == partner.country_iso2 and any(
                cert.program in p.codes.split() and cert.issuing_country in p.country_codes.split() for p in programs):
            pass  # a program of the registry, issued in the partner's country
        else:
            assert cert.program == "AEO" and cert.issuing_country in ("CN", "VN", "TH", "MY", "TR", "ID", "HK")
        assert cert.no_expiry == (cert.valid_to is None)
        assert (cert.status == "claimed") == (cert.id not in checked)
        assert cert.status != "expired" or cert.valid_to < TODAY
    statuses = Counter(c.status for c in certificates)
    assert {"claimed", "verified", "suspended", "revoked", "expired"} <= set(statuses)
    assert any(c.certificate_type == "AEO-C" for c in certificates)
    assert any(c.issuing_country == "MX" and c.certificate_type == "IVA-IEPS" for c in certificates)
    soon = sorted((c.valid_to - TODAY).days for c in certificates if c.valid_to and c.valid_to >= TODAY)
    assert soon[0] <= 30 and any(30 < d <= 60 for d in soon) and any(60 < d <= 90 for d in soon)
    results = rule.counts_on(session=demo, day=TODAY)
    assert results["counts"].any() and not results["counts"].all()
    assert results["why"].str.contains("re-check due").any()  # stale verifications
    assert results["why"].str.contains("no arrangement in the registry").any()
    assert results["why"].str.contains("AEO-C does not count").any()


def test_cycles_and_assignment_funnel(demo):
    cycles = {c.status: c for c in demo.exec(select(Cycle))}
    assert set(cycles) == {"closed", "open"}
    assert cycles["closed"].due_date == date(2026, 1, 31) and cycles["closed"].name == "2026 annual review"
    assert cycles["open"].due_date == TODAY + timedelta(days=60) and cycles["open"].name == "2027 annual review"
    partners = {p.id: p for p in demo.exec(select(Partner))}
    coverage = rule.partner_coverage(session=demo, day=TODAY)
    covered = set(coverage.loc[coverage["covered"], "partner_id"])
    holders = set(demo.exec(select(Certificate.partner_id)).all())
    now = datetime(2026, 11, 16, 16, tzinfo=UTC)
    by_cycle: dict[str, Counter] = {"closed": Counter(), "open": Counter()}
    for a in demo.exec(select(Assignment)):
        cycle = next(c for c in cycles.values() if c.id == a.cycle_id)
        by_cycle[cycle.status][a.status] += 1
        partner = partners[a.partner_id]
        assert a.language == partner.language and a.token_hash is None
        assert bool(a.exempt_reason) == (a.status == "exempt")
        if a.status == "exempt":
            assert "certificate" in a.exempt_reason
            assert a.partner_id in (covered if cycle.status == "open" else holders)
        elif cycle.status == "open" and a.status == "not sent" and partner.status == "active":
            assert a.partner_id not in covered  # the open cycle was opened with the certificate rule
        if cycle.status == "open":
            assert partner.status == "active"
        stamps = [_aware(t) for t in (a.sent_at, a.opened_at, a.submitted_at, a.reviewed_at) if t]
        assert stamps == sorted(stamps) and all(t <= now for t in stamps)
        assert (a.submitted_at is not None) == (a.status in ("submitted", "returned", "accepted"))
    assert by_cycle["closed"]["accepted"] > 0.7 * sum(by_cycle["closed"].values())
    assert {"not sent", "sent", "opened", "in progress", "submitted", "returned", "accepted", "exempt"} == set(
        by_cycle["open"])


def test_answers_cover_applicable_criteria_with_comments_on_gaps(demo):
    assignments = {a.id: a for a in demo.exec(select(Assignment))}
    partner_of = {a.id: a.partner_id for a in assignments.values()}  # what a partner is asked depends on its roles
    asked = applicable_criteria_for_partners(session=demo, partner_ids=set(partner_of.values()))
    applies = set(zip(asked["partner_id"], asked["criterion_id"], strict=True))
    requirement = dict(zip(zip(asked["partner_id"], asked["criterion_id"], strict=True), asked["requirement"],
                           strict=True))
    applicable = Counter(asked["partner_id"])
    answers = demo.exec(select(Answer.assignment_id, Answer.criterion_id, Answer.value, Answer.comment,
                               Answer.source, Answer.answered_by, Answer.answered_on, Answer.recorded_at,
                               Answer.is_current)).all()
    values = Counter(a.value for a in answers)
    assert values["yes"] > 0.7 * len(answers) and values["partial"] and values["no"] and values["na"]
    assert {a.source for a in answers} == {"link", "file"}
    for answer in answers:
        assignment = assignments[answer.assignment_id]
        assert (partner_of[assignment.id], answer.criterion_id) in applies
        # The answer rules' comments: partial and no, and n/a on a must criterion.
        assert bool(answer.comment) == rules.comment_required(
            answer.value, requirement[partner_of[assignment.id], answer.criterion_id])
        assert answer.answered_by and answer.is_current
        recorded = _aware(answer.recorded_at)
        assert _aware(assignment.opened_at) <= recorded <= _aware(assignment.submitted_at or assignment.updated_at)
        assert answer.answered_on == recorded.date()
    per_assignment = Counter(a.assignment_id for a in answers)
    for assignment in assignments.values():
        count, full = per_assignment[assignment.id], applicable[partner_of[assignment.id]]
        if assignment.status in ("submitted", "returned", "accepted"):
            assert count == full
        elif assignment.status == "in progress":
            assert 0 < count < full
        else:
            assert count == 0
    comments = demo.exec(select(ReviewComment)).all()
    assert {c.assignment_id for c in comments} == {a.id for a in assignments.values() if a.status == "returned"}
    for comment in comments:
        assignment = assignments[comment.assignment_id]
        assert comment.author == assignment.reviewed_by and comment.created_at == assignment.reviewed_at
        assert (partner_of[assignment.id], comment.criterion_id) in applies


def test_demo_data_files_cover_every_country_and_entity_type():
    data = demo_data()
    assert set(data.mix) == set(ENTITY_TYPES) == set(data.where)
    # Manufacturers are named after their products (a style's `makers`), the others after their service.
    assert set(data.criticality) == set(data.services) == set(ENTITY_TYPES) - {"Foreign Manufacturer"}
    countries = {country for weights in data.where.values() for country in weights}
    assert countries <= set(data.cities) and countries <= set(data.styles)
    assert all(len(data.styles[c].streets) >= 2 and data.styles[c].makers for c in countries)
    assert {*data.people_of.values(), "en", "zh", "es"} <= set(data.people)
    for language in ("en", "es", "zh"):
        assert set(data.gaps[language]) == set(range(1, 13))
        assert all(partial and no for partial, no in data.gaps[language].values())
    assert data.return_notes and data.company["legal_name"]
    # The family suffixes of Mexican names include every surname of the style ("*" in names.toml).
    assert set(data.styles["MX"].surnames) <= set(data.styles["MX"].family)


def test_demo_names_lose_their_legal_forms(demo):
    forms = [" ".join(name_words(form)) for form in LEGAL_FORMS]
    names = demo.exec(select(Partner.legal_name, Partner.normalized_name)).all()
    for legal_name, normalized in names:
        assert not any(normalized.endswith(f" {form}") for form in forms), (legal_name, normalized)
    assert any(name.endswith(("Co., Ltd.", "S.A. de C.V.", "Sdn. Bhd.", "GmbH")) for name, _ in names)
