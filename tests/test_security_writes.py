"""Every write service refuses a viewer and a partner's link, and writes nothing when it does.

The services are found by introspection: every public function under services/ that takes an ``actor`` must be
declared here, either as a write (with a factory of plausible arguments, in WRITES) or as not a write (with the
reason, in NOT_WRITES). A new service that takes an actor and is in neither fails test_every_actor_service_is_declared,
so it cannot be forgotten. Each factory's arguments are proven plausible: the same call from an admin succeeds (in
a transaction rolled back afterwards), so the refusals are about the role, not about bad arguments.

Partner-scoped services (a partner answers through its own link) must refuse the partner of another assignment and
accept the partner of its own; every other write refuses even the partner of the records it touches.
"""

import importlib
import inspect
import pkgutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, update
from sqlmodel import Session, SQLModel, col, select

import services
from models import (
    Assignment,
    Certificate,
    Cycle,
    FollowupMessage,
    Lane,
    MraProgram,
    Partner,
    PartnerContact,
    PartnerSite,
    Place,
    RestrictedList,
    RestrictedName,
    ScreeningMatch,
    SelfAssessmentEvidence,
)
from models.collection import AnswerSource, AssignmentStatus, CycleStatus
from models.followups import FollowupKind, MessageStatus
from models.threats import RatingBasis
from services.actions import generate as action_generate
from services.actions import incidents
from services.actions import items as action_items
from services.actions.states import Move
from services.certificates import imports as certificate_imports
from services.collection import cycles, links, questionnaire
from services.collection import evidence as collection_evidence
from services.core.config import SmtpSettings
from services.core.permissions import Actor, PermissionDenied
from services.demo import generator as demo
from services.followups import engine as followup_engine
from services.followups import pauses, quiet, templates
from services.imports import answers as answer_import
from services.imports import partners as partner_import
from services.lanes import imports as lane_imports
from services.partners.identifiers import normalize_name
from services.procedure import save_version
from services.reference import criteria
from services.reports.pack import PackSummary
from services.risk import config as risk_config
from services.risk import site_visits
from services.screening import lists
from services.selfassessment import assessment as self_assessment
from services.threats import imports as threat_imports
from services.threats import register
from services.threats import sources as threat_sources
from tests.conftest import ADMIN, ANALYST, VIEWER, _wipe, add_user, via_link

TODAY = date.today()
EXAMPLES = Path(__file__).resolve().parent.parent / "docs" / "examples"
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"

# The same question as the app's: who may change this? A viewer, never; a partner, only through its own link.
NOT_WRITES: dict[str, str] = {
    "services.actions.items.get_item": "reads one action item (a partner only its own, shared with it)",
    "services.actions.items.read_evidence": "reads an action item's evidence file",
    "services.actions.items.partner_items": "reads the partner's own shared action items",
    "services.actions.states.require": "the permission check itself",
    "services.audittrail.events": "reads the audit log (admins only)",
    "services.audittrail.choices": "reads the audit log's filter choices (admins only)",
    "services.audittrail.events_csv": "reads the audit log as CSV through events()",
    "services.certificates.records.read_evidence": "reads a certificate's evidence file",
    "services.collection.evidence.read_evidence": "reads a questionnaire's evidence file",
    "services.collection.states.mover_of": "classifies an actor for the permission check",
    "services.collection.states.require": "the permission check itself",
    "services.core.audit.record": "the audit log itself: each service calls it after its own check, and a "
                                  "viewer's download or sign-in is recorded too",
    "services.core.permissions.require": "the permission check itself",
    "services.core.permissions.require_write": "the permission check itself",
    "services.core.permissions.require_admin": "the permission check itself",
    "services.reports.pack.may_build": "the pack's permission check",
    "services.selfassessment.assessment.read_evidence": "reads a self-assessment evidence file",
}


@dataclass
class World:
    """Ids of the demo company's records that the factories point the writes at."""

    engine: Engine
    cycle: int  # the open cycle
    sent: int  # assignments in the open cycle, by status
    editable: int
    complete: int  # every question answered: may be submitted
    submitted: int
    accepted: int
    other: int  # an assignment of another partner (the partner acting out of its scope)
    fresh: int  # "not sent"
    exempted: int  # exempt, while no certificate covers its partner any more
    bare_partner: int  # without a site or contact yet, named like a restricted-list entry not yet screened
    evidence: int  # on `editable`
    action: int  # shared with the partner of `editable`
    incident: int
    visit: int
    certificate: int
    site: int
    contact: int
    lane: int
    place: int
    program: int
    match: int
    restricted_list: int
    message: int  # queued
    failed_message: int
    pause_partner: int
    quiet_period: int
    sa_evidence: int

    def partner_of(self, session: Session, assignment_id: int) -> int:
        return session.exec(select(Assignment.partner_id).where(Assignment.id == assignment_id)).one()

    def code_of(self, session: Session, assignment_id: int) -> str:
        return session.exec(select(Partner.partner_code).join(Assignment, col(Assignment.partner_id) == Partner.id)
                            .where(Assignment.id == assignment_id)).one()


def _open(session: Session, status: str, skip: tuple[int, ...] = ()) -> int:
    return session.exec(select(Assignment.id).join(Cycle, col(Cycle.id) == Assignment.cycle_id)
                        .where(Cycle.status == CycleStatus.open, Assignment.status == status,
                               col(Assignment.id).not_in(skip)).order_by(Assignment.id)).first()


def _first(session: Session, model, *where) -> int:
    return session.exec(select(model.id).where(*where).order_by(model.id)).first()


def _answer_all(session: Session, assignment_id: int) -> None:
    asked = questionnaire.applicable_criteria(session=session, assignment_id=assignment_id)
    questionnaire.save_answers(session=session, assignment_id=assignment_id, source=AnswerSource.staff,
                               answered_by="luis", actor=ANALYST,
                               answers=[{"criterion_id": c, "value": "yes", "comment": ""} for c in asked])


def _build(session: Session, engine: Engine) -> World:
    for actor in (ADMIN, ANALYST, VIEWER):
        add_user(session, actor.username, actor.role)
    demo.seed_demo(session=session, partners=12, seed=2027, today=TODAY)
    session.commit()
    sent = _open(session, AssignmentStatus.sent)
    editable = _open(session, AssignmentStatus.in_progress)
    complete = _open(session, AssignmentStatus.in_progress, (editable,))
    _answer_all(session, complete)
    submitted = _open(session, AssignmentStatus.submitted)
    accepted = _open(session, AssignmentStatus.accepted)
    other = _open(session, AssignmentStatus.sent, (sent,))
    fresh = _open(session, AssignmentStatus.sent, (sent, other))
    exempted = _open(session, AssignmentStatus.sent, (sent, other, fresh))
    cycles.set_exempt(session=session, actor=ANALYST, assignment_id=fresh, exempt=True, reason="certified")
    cycles.set_exempt(session=session, actor=ANALYST, assignment_id=fresh, exempt=False, reason="lapsed")
    cycles.set_exempt(session=session, actor=ANALYST, assignment_id=exempted, exempt=True, reason="certified")
    links.issue_link(session=session, actor=ANALYST, assignment_id=editable)
    listed = session.exec(select(RestrictedName.name).order_by(RestrictedName.id)).first()
    bare = Partner(partner_code="BARE-1", legal_name=listed, normalized_name=normalize_name(listed),
                   entity_type="Exporter", country_iso2="CN", contact_name="Wong Mei",
                   contact_email="mei@example.test")
    session.add(bare)
    first = questionnaire.applicable_criteria(session=session, assignment_id=editable)[0]
    partner = session.exec(select(Assignment.partner_id).where(Assignment.id == editable)).one()
    evidence = collection_evidence.add_evidence(session=session, assignment_id=editable, criterion_id=first,
                                                filename="audit.txt", data=b"Audit report\n", uploaded_by="ops",
                                                actor=ANALYST)
    action = action_items.add_item(session=session, actor=ANALYST, values={
        "title": "Seal log", "partner_id": partner, "due_date": TODAY + timedelta(days=20),
        "shared_with_partner": True})
    incident = incidents.record_incident(session=session, actor=ANALYST, values={
        "occurred_on": TODAY - timedelta(days=3), "kind": "seal discrepancy", "partner_id": partner,
        "description": "Seal number differs from the bill of lading", "reported_to": "CBP",
        "reported_on": TODAY - timedelta(days=2)})
    visit = site_visits.record_visit(session=session, actor=ANALYST, partner_id=partner,
                                     visited_on=TODAY - timedelta(days=40), visited_by="Luis", today=TODAY,
                                     findings=[{"criterion_id": first, "finding": "met"}])
    save_version(session=session, actor=ANALYST, note="first")
    suggested = threat_sources.suggestions(session=session).iloc[0]
    register.rate(session=session, actor=ANALYST, iso2=suggested["iso2"], region_code=suggested["region_code"],
                  category=suggested["category"], level="Low" if suggested["level"] != "Low" else "High",
                  reason="our own view of the risk here", source="own assessment")
    risk_config.save(session=session, actor=ADMIN, config=risk_config.RiskConfig().replace(must_unmet=11.0))
    criteria.set_applicability(session=session, actor=ADMIN, criterion_id="12.6", entity_type="Customs Broker",
                               applies="no", note="trained under 7.10")
    templates.save_override(session=session, actor=ADMIN, kind=FollowupKind.reminder, language="en",
                            subject="Reminder", body="Please answer: {link}")
    sa_criterion = self_assessment.rows(session=session)["criterion_id"].iloc[0]
    sa_evidence = self_assessment.add_evidence(session=session, actor=ANALYST, criterion_id=sa_criterion,
                                               filename="plan.pdf", data=PDF)
    self_assessment.save_entry(session=session, actor=ANALYST, criterion_id=sa_criterion, narrative="Logged",
                               status="met")
    period = quiet.add_period(session=session, actor=ADMIN, country_iso2="CN", name="Spring Festival",
                              starts_on=TODAY + timedelta(days=30), ends_on=TODAY + timedelta(days=40))
    pause_partner = session.exec(select(Assignment.partner_id).where(Assignment.id == other)).one()
    pauses.pause(session=session, actor=ANALYST, partner_id=pause_partner, reason="Audit dispute")
    session.commit()
    followup_engine.queue(session=session, actor=ANALYST, today=TODAY)
    session.commit()
    queued = session.exec(select(FollowupMessage.id).order_by(FollowupMessage.id)).all()
    assert len(queued) >= 2, "the demo company's follow-ups"
    session.exec(update(FollowupMessage).where(FollowupMessage.id == queued[-1])
                 .values(status=MessageStatus.failed, last_error="connection refused"))
    session.commit()
    world = World(
        engine=engine, cycle=session.exec(select(Cycle.id).where(Cycle.status == CycleStatus.open)).first(),
        sent=sent, editable=editable, complete=complete, submitted=submitted, accepted=accepted, other=other,
        fresh=fresh, exempted=exempted, bare_partner=bare.id, failed_message=queued[-1],
        evidence=evidence.id, action=action.id, incident=incident.id, visit=visit.id,
        certificate=_first(session, Certificate), site=_first(session, PartnerSite),
        contact=_first(session, PartnerContact), lane=_first(session, Lane),
        place=_first(session, Place, col(Place.is_reference)),
        program=_first(session, MraProgram, col(MraProgram.confirmed).is_(False)),
        match=_first(session, ScreeningMatch), restricted_list=_first(session, RestrictedList),
        message=queued[0], pause_partner=pause_partner, quiet_period=period.id,
        sa_evidence=sa_evidence.id)
    assert all(v is not None for v in vars(world).values()), vars(world)
    return world


@pytest.fixture(scope="module")
def world(migrated_engine, tmp_path_factory) -> Iterator[World]:
    """The demo company (12 partners) with one record of every kind a write service changes; built once."""
    data_dir = tmp_path_factory.mktemp("security_writes")
    patch = pytest.MonkeyPatch()
    patch.setenv("CTPAT_DATA_DIR", str(data_dir))
    _wipe(migrated_engine)
    try:
        with Session(migrated_engine, expire_on_commit=False) as session:
            yield _build(session, migrated_engine)
    finally:
        _wipe(migrated_engine)
        patch.undo()


def _file(name: str) -> bytes:
    return (EXAMPLES / name).read_bytes()


def _responses(s: Session, w: World) -> dict:
    code = w.code_of(s, w.editable)
    asked = questionnaire.applicable_criteria(session=s, assignment_id=w.editable)
    data = ("partner_code,criterion_id,answer,comment\n"
            + "".join(f"{code},{c},no,Not in place yet\n" for c in asked[:2])).encode()
    return {"preview": answer_import.preview_responses(session=s, files=[("answers.csv", data)], cycle_id=w.cycle)}


def _asked(s: Session, w: World, assignment_id: int) -> str:
    return questionnaire.applicable_criteria(session=s, assignment_id=assignment_id)[0]


def _smtp() -> SmtpSettings:
    return SmtpSettings(host="127.0.0.1", port=9, sender="ctpat@example.test")


# Function -> factory(session, world) of the arguments besides session/engine and actor.
Factory = Callable[[Session, World], dict[str, Any]]
WRITES: dict[str, Factory] = {
    "services.actions.generate.apply_plan": lambda s, w: {
        "plan": action_generate.plan_changes(session=s, causes=action_generate.all_causes(session=s, today=TODAY)),
        "today": TODAY, "default_owner": None},
    "services.actions.generate.generate": lambda s, w: {"today": TODAY},
    "services.actions.incidents.record_incident": lambda s, w: {"values": {
        "occurred_on": TODAY, "kind": "seal discrepancy", "description": "Broken seal on arrival",
        "partner_id": w.partner_of(s, w.sent)}},
    "services.actions.incidents.update_incident": lambda s, w: {
        "incident_id": w.incident, "values": {"description": "Seal number differs (corrected)"}},
    "services.actions.incidents.set_status": lambda s, w: {
        "incident_id": w.incident, "status": "closed", "note": "Reported and settled"},
    "services.actions.items.add_evidence": lambda s, w: {
        "action_id": w.action, "files": [action_items.Upload("seals.pdf", PDF)]},
    "services.actions.items.move": lambda s, w: {
        "action_id": w.action, "to": Move.done, "note": "Seal log kept",
        "files": [action_items.Upload("log.pdf", PDF)]},
    "services.actions.items.add_item": lambda s, w: {"values": {"title": "Check CCTV", "due_date": TODAY}},
    "services.actions.items.update_item": lambda s, w: {"action_id": w.action, "values": {"title": "Seal log v2"}},
    "services.certificates.exemption.join_uncovered": lambda s, w: {
        "partner_ids": [w.partner_of(s, w.exempted)], "today": TODAY, "why": "expired"},
    "services.certificates.imports.apply_certificates": lambda s, w: {
        "preview": certificate_imports.preview_certificates(
            session=s, files=[("c.csv", b"".join(_file("certificates.csv").splitlines(keepends=True)[:2])
                               .replace(b"V-2001", w.code_of(s, w.sent).encode()))],
            today=TODAY)},
    "services.certificates.monitor.sweep": lambda s, w: {"today": TODAY + timedelta(days=3650)},
    "services.certificates.records.add_certificate": lambda s, w: {
        "partner_id": w.partner_of(s, w.sent), "values": {
            "program": "CTPAT", "issuing_country": "US", "certificate_number": "SEC-1",
            "valid_from": TODAY - timedelta(days=10), "no_expiry": True}},
    "services.certificates.records.update_certificate": lambda s, w: {
        "certificate_id": w.certificate, "values": {"notes": "checked again"}},
    "services.certificates.records.add_verification": lambda s, w: {
        "certificate_id": w.certificate, "verified_on": TODAY, "verified_by": "Luis", "method": "portal check"},
    "services.certificates.records.set_status": lambda s, w: {
        "certificate_id": w.certificate, "status": "suspended", "effective_on": TODAY, "note": "CBP letter"},
    "services.certificates.records.delete_certificate": lambda s, w: {
        "certificate_id": w.certificate, "reason": "entered twice"},
    "services.certificates.settings.save": lambda s, w: {"recheck_days": 120, "join_notice_days": 30},
    "services.collection.cycles.open_cycle": lambda s, w: {
        "name": "Security review cycle", "due_date": TODAY + timedelta(days=60),
        "partner_ids": [w.partner_of(s, w.sent)]},
    "services.collection.cycles.set_exempt": lambda s, w: {
        "assignment_id": w.sent, "exempt": True, "reason": "certified"},
    "services.collection.cycles.mark_sent": lambda s, w: {"assignment_ids": [w.fresh]},
    "services.collection.cycles.close_cycle": lambda s, w: {"cycle_id": w.cycle},
    "services.collection.evidence.add_evidence": lambda s, w: {
        "assignment_id": w.editable, "criterion_id": _asked(s, w, w.editable), "filename": "seal.txt",
        "data": b"Seal log\n", "uploaded_by": "ops"},
    "services.collection.evidence.remove_evidence": lambda s, w: {
        "assignment_id": w.editable, "evidence_id": w.evidence, "removed_by": "ops"},
    "services.collection.links.issue_link": lambda s, w: {"assignment_id": w.sent},
    "services.collection.links.issue_links": lambda s, w: {"assignment_ids": [w.sent, w.other]},
    "services.collection.links.revoke_link": lambda s, w: {"assignment_id": w.editable},
    "services.collection.questionnaire.save_answers": lambda s, w: {
        "assignment_id": w.editable, "source": AnswerSource.link, "answered_by": "ops",
        "answers": [{"criterion_id": _asked(s, w, w.editable), "value": "no", "comment": "Not yet"}]},
    "services.collection.questionnaire.mark_opened": lambda s, w: {"assignment_id": w.sent},
    "services.collection.questionnaire.submit": lambda s, w: {"assignment_id": w.complete, "submitted_by": "ops"},
    "services.collection.questionnaire.accept": lambda s, w: {"assignment_id": w.submitted},
    "services.collection.questionnaire.return_for_fixes": lambda s, w: {
        "assignment_id": w.submitted, "comments": {_asked(s, w, w.submitted): "Which seals?"}},
    "services.collection.questionnaire.reopen": lambda s, w: {
        "assignment_id": w.accepted, "comments": {_asked(s, w, w.accepted): "New site"}},
    "services.collection.titles.set_partner_titles": lambda s, w: {
        "cycle_id": w.cycle, "titles": {"en": "Annual security review"}},
    "services.company.profile.save_profile": lambda s, w: {"values": {
        "legal_name": "Example Imports LLC", "ctpat_account": "12345678", "tier": "Tier II"}},
    "services.core.users.create_user": lambda s, w: {
        "username": "mallory", "name": "Mallory", "role": "admin", "password": "a long enough password 1"},
    "services.core.users.update_user": lambda s, w: {"username": "vp", "role": "admin"},
    "services.core.users.reset_password": lambda s, w: {"username": "luis"},
    "services.followups.engine.queue": lambda s, w: {"today": TODAY + timedelta(days=30)},
    "services.followups.outbox.send_due": lambda s, w: {"smtp": _smtp(), "today": TODAY},
    "services.followups.outbox.retry": lambda s, w: {"ids": [w.failed_message]},
    "services.followups.outbox.cancel": lambda s, w: {"ids": [w.message]},
    "services.followups.outbox.send_now": lambda s, w: {"ids": [w.message], "smtp": _smtp(), "today": TODAY},
    "services.followups.pauses.pause": lambda s, w: {"partner_id": w.partner_of(s, w.sent), "reason": "On hold"},
    "services.followups.pauses.resume": lambda s, w: {"partner_id": w.pause_partner},
    "services.followups.quiet.add_period": lambda s, w: {
        "country_iso2": "MX", "name": "Semana Santa", "starts_on": TODAY, "ends_on": TODAY + timedelta(days=5)},
    "services.followups.quiet.remove_period": lambda s, w: {"period_id": w.quiet_period},
    "services.followups.quiet.extend_due_dates": lambda s, w: {
        "country_iso2": "CN", "starts_on": TODAY - timedelta(days=400), "ends_on": TODAY + timedelta(days=400),
        "days": 7},
    "services.followups.runner.run": lambda s, w: {"today": TODAY, "send": False},
    "services.followups.settings.save": lambda s, w: {"values": {"reminder_days": "10, 3"}},
    "services.followups.templates.save_override": lambda s, w: {
        "kind": FollowupKind.reminder, "language": "en", "subject": "Reminder", "body": "Please answer: {link}"},
    "services.followups.templates.reset_override": lambda s, w: {"kind": FollowupKind.reminder, "language": "en"},
    "services.imports.answers.apply.apply_responses": _responses,
    "services.imports.partners.apply_partners": lambda s, w: {"preview": partner_import.preview_partners(
        session=s, files=[("partners.csv", _file("partners.csv"))])},
    "services.lanes.imports.apply_lanes": lambda s, w: {"preview": lane_imports.preview_lanes(
        session=s, filename="lanes.csv", data=b"".join(_file("lanes.csv").splitlines(keepends=True)[:5]).replace(
            b"V-1001", w.code_of(s, w.sent).encode()).replace(b"V-1000", w.code_of(s, w.other).encode()))},
    "services.lanes.registry.write_lanes": lambda s, w: {"lanes": [
        {"lane_id": w.lane, "values": {"name": "Renamed lane"}, "nodes": []}]},
    "services.lanes.registry.save_lane": lambda s, w: {
        "values": {"code": "SEC-01", "name": "Security lane", "mode": "ocean"}, "rows": [
            {"role": "origin", "partner_code": w.code_of(s, w.sent), "place": "", "mode_to_next": "truck"},
            {"role": "port of lading", "partner_code": "", "place": "CNSHA", "mode_to_next": "ocean"},
            {"role": "port of entry", "partner_code": "", "place": "USLGB", "mode_to_next": "truck"},
            {"role": "distribution center", "partner_code": "", "place": "USLGB", "custody": "own"}]},
    "services.lanes.registry.set_lane_status": lambda s, w: {"lane_id": w.lane, "status": "inactive"},
    "services.partners.contacts.create_contact": lambda s, w: {
        "partner_id": w.partner_of(s, w.sent), "values": {"name": "Ana", "email": "ana@example.test"}},
    "services.partners.contacts.update_contact": lambda s, w: {"contact_id": w.contact, "values": {"name": "Ana B"}},
    "services.partners.contacts.delete_contact": lambda s, w: {"contact_id": w.contact},
    "services.partners.contacts.ensure_first_contacts": lambda s, w: {"partner_ids": [w.bare_partner]},
    "services.partners.registry.create_partner": lambda s, w: {"values": {
        "partner_code": "SEC-1", "legal_name": "Security Test Ltd", "entity_type": "Exporter",
        "country_iso2": "CN"}},
    "services.partners.registry.update_partner": lambda s, w: {
        "partner_id": w.partner_of(s, w.sent), "values": {"city": "Ningbo"}},
    "services.partners.registry.set_status": lambda s, w: {"partner_id": w.partner_of(s, w.sent),
                                                           "status": "inactive"},
    "services.partners.registry.merge_partners": lambda s, w: {
        "keep_id": w.partner_of(s, w.sent), "duplicate_id": w.partner_of(s, w.other)},
    "services.partners.sites.create_site": lambda s, w: {
        "partner_id": w.partner_of(s, w.sent), "values": {"name": "Second plant", "country_iso2": "CN"}},
    "services.partners.sites.update_site": lambda s, w: {"site_id": w.site, "values": {"name": "Main plant"}},
    "services.partners.sites.ensure_first_sites": lambda s, w: {"partner_ids": [w.bare_partner]},
    "services.partners.sites.set_owner": lambda s, w: {"partner_id": w.partner_of(s, w.sent), "username": "vp"},
    "services.partners.sites.merge_into": lambda s, w: {
        "keep_id": w.partner_of(s, w.sent), "duplicate_id": w.partner_of(s, w.other)},
    "services.places.registry.create_place": lambda s, w: {"values": {
        "code": "MXSEC", "kind": "inland", "name": "Security yard", "country_iso2": "MX", "latitude": 27.48,
        "longitude": -99.51}},
    "services.places.registry.update_place": lambda s, w: {"place_id": w.place, "values": {"name": "Renamed port"}},
    "services.places.registry.set_place_active": lambda s, w: {"place_id": w.place, "active": False},
    "services.procedure.save_version": lambda s, w: {"note": "again"},
    "services.procedure.sign_off": lambda s, w: {"version": 1, "today": TODAY},
    "services.reference.applicability.set_partner_roles": lambda s, w: {
        "partner_id": w.partner_of(s, w.sent), "values": {"stuffs_containers": False}},
    "services.reference.criteria.set_applicability": lambda s, w: {
        "criterion_id": "5.15", "entity_type": "Highway Carrier", "applies": "yes", "note": "they subcontract"},
    "services.reference.criteria.restore_shipped_applicability": lambda s, w: {
        "criterion_id": "12.6", "entity_type": "Customs Broker"},
    "services.reference.mra.save_program": lambda s, w: {"program_id": w.program, "values": {
        **s.get(MraProgram, w.program).model_dump(exclude={"id"}), "caveat": "checked"}},
    "services.reference.mra.confirm_program": lambda s, w: {"program_id": w.program, "note": "checked on cbp.gov"},
    "services.reference.mra.mark_checked": lambda s, w: {"checked_on": TODAY, "note": "cbp.gov"},
    "services.reports.pack.record_export": lambda s, w: {"summary": PackSummary(
        path=Path("validation-pack.zip"), size_bytes=1, rows={}, evidence_files=0), "since": None},
    "services.risk.assessment.take_snapshot": lambda s, w: {"name": "Security review", "today": TODAY},
    "services.risk.config.save": lambda s, w: {"config": risk_config.RiskConfig().replace(must_unmet=12.0)},
    "services.risk.site_visits.record_visit": lambda s, w: {
        "partner_id": w.partner_of(s, w.sent), "visited_on": TODAY, "visited_by": "Luis", "today": TODAY,
        "findings": [{"criterion_id": _asked(s, w, w.sent), "finding": "met"}]},
    "services.risk.site_visits.correct_visit": lambda s, w: {
        "visit_id": w.visit, "visited_on": TODAY - timedelta(days=41), "visited_by": "Luis", "today": TODAY,
        "findings": [{"criterion_id": _asked(s, w, w.editable), "finding": "met"}]},
    "services.risk.site_visits.remove_visit": lambda s, w: {"visit_id": w.visit, "reason": "wrong partner"},
    "services.screening.lists.apply_list": lambda s, w: {"name": "Example list", "preview": lists.read_list(
        session=s, filename="restricted-list.csv", data=_file("restricted-list.csv"))},
    "services.screening.lists.screen": lambda s, w: {},
    "services.screening.lists.decide": lambda s, w: {
        "match_id": w.match, "status": "dismissed", "reason": "Different address and owner"},
    "services.selfassessment.assessment.save_entry": lambda s, w: {
        "criterion_id": _sa_criterion(s), "narrative": "Seals are logged", "status": "met"},
    "services.selfassessment.assessment.mark_reviewed": lambda s, w: {"criterion_ids": [_sa_criterion(s)]},
    "services.selfassessment.assessment.add_evidence": lambda s, w: {
        "criterion_id": _sa_criterion(s), "filename": "policy.pdf", "data": PDF},
    "services.selfassessment.assessment.remove_evidence": lambda s, w: {"evidence_id": w.sa_evidence},
    "services.selfassessment.eligibility.set_check": lambda s, w: {"item_id": "IM-1", "confirmed": True},
    "services.threats.imports.apply_threat_file": lambda s, w: {"preview": threat_imports.preview_threat_file(
        session=s, filename="threat-register.csv", data=_file("threat-register.csv"))},
    "services.threats.register.update_settings": lambda s, w: {"stale_after_months": 24, "unknown_as": "High"},
    "services.threats.register.write_ratings": lambda s, w: {"rows": [
        {"iso2": "MX", "region_code": "", "category": "organized crime", "level": "High", "reason": "advisory",
         "rationale": "", "source": "State Department advisory", "as_of": TODAY, "basis": RatingBasis.imported,
         "rule": "", "is_demo": False}]},
    "services.threats.register.accept_suggestions": lambda s, w: {"keys": [
        tuple(threat_sources.suggestions(session=s).iloc[0][register.KEY])]},
    "services.threats.register.rate": lambda s, w: {
        "iso2": "MX", "category": "organized crime", "level": "Low", "reason": "new advisory",
        "source": "State Department advisory"},
    "services.threats.register.clear_rating": lambda s, w: {
        "iso2": "MX", "category": "organized crime", "reason": "no longer rated"},
}

# Services a partner reaches through its own link: its own assignment (or action item) only.
PARTNER_SCOPED = {
    "services.actions.items.add_evidence", "services.actions.items.move",
    "services.collection.evidence.add_evidence", "services.collection.evidence.remove_evidence",
    "services.collection.questionnaire.save_answers", "services.collection.questionnaire.mark_opened",
    "services.collection.questionnaire.submit",
}


# Writes that use the engine (their own sessions and commits) cannot run in a rolled-back transaction; their
# admin runs are left to the follow-up tests (tests/test_followups.py) and would change the shared demo company.
OWN_TRANSACTIONS = {"services.followups.outbox.send_due", "services.followups.outbox.send_now",
                    "services.followups.runner.run"}


def _sa_criterion(s: Session) -> str:
    return s.exec(select(SelfAssessmentEvidence.criterion_id)).first()


def _actor_services() -> dict[str, Callable]:
    """Every public function under services/ with an `actor` parameter, by its dotted name."""
    found = {}
    for info in pkgutil.walk_packages(services.__path__, "services."):
        module = importlib.import_module(info.name)
        for name, fn in vars(module).items():
            if (not name.startswith("_") and inspect.isfunction(fn) and fn.__module__ == module.__name__
                    and "actor" in inspect.signature(fn).parameters):
                found[f"{module.__name__}.{name}"] = fn
    return found


SERVICES = _actor_services()


def test_every_actor_service_is_declared():
    undeclared = sorted(set(SERVICES) - set(WRITES) - set(NOT_WRITES))
    assert not undeclared, (
        "These services take an actor but are declared neither a write nor not a write. If one writes, check the "
        "role in it (services.core.permissions) and add an argument factory to WRITES in "
        f"tests/test_security_writes.py; otherwise add it to NOT_WRITES with the reason: {undeclared}")
    stale = sorted((set(WRITES) | set(NOT_WRITES)) - set(SERVICES))
    assert not stale, f"Declared in tests/test_security_writes.py but no longer a service taking an actor: {stale}"
    assert not set(WRITES) & set(NOT_WRITES)
    assert PARTNER_SCOPED <= set(WRITES)


def test_write_services_take_the_actor_as_a_keyword():
    positional = [n for n in WRITES if inspect.signature(SERVICES[n]).parameters["actor"].kind
                  != inspect.Parameter.KEYWORD_ONLY]
    assert not positional


def _fingerprint(conn) -> dict[str, list]:
    """Every row of every table (the database is the small demo company): any insert, update or delete shows."""
    tables = {}
    for table in SQLModel.metadata.sorted_tables:
        rows = conn.execute(table.select()).all()
        tables[table.name] = sorted(repr(tuple(r)) for r in rows)
    return tables


def _diff(before: dict[str, list], after: dict[str, list]) -> list[str]:
    return [f"{t}: {len(before[t])} -> {len(after[t])} rows" + ("" if len(before[t]) != len(after[t]) else
                                                                " (changed)")
            for t in before if before[t] != after[t]]


def _call(name: str, session: Session, world: World, actor: Actor) -> Any:
    fn = SERVICES[name]
    kwargs = WRITES[name](session, world)
    where = {"engine": world.engine} if "engine" in inspect.signature(fn).parameters else {"session": session}
    return fn(**where, actor=actor, **kwargs)


@pytest.fixture(scope="module")
def world_print(world) -> dict[str, list]:
    with world.engine.connect() as conn:
        return _fingerprint(conn)


@pytest.fixture
def scratch(world) -> Iterator[Session]:
    """A session in a transaction that is rolled back afterwards (a service's commit only ends a savepoint)."""
    with world.engine.connect() as conn:
        outer = conn.begin()
        with Session(bind=conn, expire_on_commit=False, join_transaction_mode="create_savepoint") as session:
            yield session
        outer.rollback()


def _partner_for(name: str, session: Session, world: World) -> Actor:
    """A partner acting through its own link: of another assignment for a partner-scoped service (out of its
    scope), else of the records the write touches (the partner itself may still not do it)."""
    return via_link(session, world.other if name in PARTNER_SCOPED else world.editable)


ROLES = {"viewer": lambda name, s, w: VIEWER, "partner": _partner_for}


@pytest.mark.parametrize("who", sorted(ROLES))
@pytest.mark.parametrize("name", sorted(WRITES))
def test_write_service_refuses_and_writes_nothing(name, who, world, world_print, scratch):
    actor = ROLES[who](name, scratch, world)
    with pytest.raises(PermissionDenied):
        _call(name, scratch, world, actor)
    scratch.flush()
    assert not _diff(world_print, _fingerprint(scratch.connection())), f"{name} wrote for a refused {who}"
    if name in OWN_TRANSACTIONS:  # their own sessions commit on other connections
        with world.engine.connect() as conn:
            assert not _diff(world_print, _fingerprint(conn)), f"{name} committed for a refused {who}"




@pytest.mark.parametrize("name", sorted(set(WRITES) - OWN_TRANSACTIONS))
def test_factory_arguments_are_plausible_an_admin_may_write(name, world, scratch):
    """The refusals above are about the role: the same arguments from an admin (or, for a partner-scoped service,
    from the partner through its own link) are accepted and write."""
    before = _fingerprint(scratch.connection())
    actor = via_link(scratch, _own_assignment(name, world)) if name in PARTNER_SCOPED else ADMIN
    _call(name, scratch, world, actor)
    scratch.flush()
    assert _diff(before, _fingerprint(scratch.connection())), f"{name} wrote nothing for an allowed actor"


def _own_assignment(name: str, world: World) -> int:
    return {"services.collection.questionnaire.mark_opened": world.sent,
            "services.collection.questionnaire.submit": world.complete}.get(name, world.editable)


def test_a_partner_cannot_read_or_move_another_partners_action_item(world, scratch):
    outsider = via_link(scratch, world.other)
    with pytest.raises(PermissionDenied):
        action_items.get_item(session=scratch, actor=outsider, action_id=world.action)
    assert world.action not in set(action_items.partner_items(session=scratch, actor=outsider)["id"])
    assert world.action in set(action_items.partner_items(session=scratch, actor=via_link(scratch,
                                                                                          world.editable))["id"])


def test_a_partner_cannot_read_another_assignments_evidence(world, scratch):
    with pytest.raises(PermissionDenied):
        collection_evidence.read_evidence(session=scratch, actor=via_link(scratch, world.other),
                                          evidence_id=world.evidence)
    row, data = collection_evidence.read_evidence(session=scratch, actor=VIEWER, evidence_id=world.evidence)
    assert data == b"Audit report\n"

