"""Site visits (MSC 3.5: due diligence by visits as well as questionnaires): record, correct, remove, list.

A visit has a date, who went, the site (optional: a partner without site records), notes, and a finding per criterion:
met, partly met, not met or not applicable (stored as the answer values yes, partial, no, na). In the scoring a
finding overrides what the partner reported for that criterion while it is within the answer age. Only criteria the
partner is asked can carry a finding (services.reference.applicability), since no other would count. Every change
is audited.
"""

from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any

import pandas as pd
from sqlalchemy import delete, func, update
from sqlmodel import Session, col, select

from models import Criterion, Partner, PartnerSite, SiteVisit, SiteVisitFinding
from models.collection import AnswerValue
from services.collection import rules
from services.core import audit
from services.core.permissions import Actor, ValidationError, require_write
from services.reference.applicability import questions_for_partner

FINDING_LABELS: dict[AnswerValue, str] = {AnswerValue.yes: "met", AnswerValue.partial: "partly met",
                                          AnswerValue.no: "not met", AnswerValue.na: "not applicable"}
_WORDS = {label: value for value, label in FINDING_LABELS.items()} | {v.value: v for v in AnswerValue} | {
    "n/a": AnswerValue.na, "partly": AnswerValue.partial}
FIRST_DAY = date(2001, 11, 1)  # CTPAT began in November 2001
VISIT_COLUMNS = ["visit_id", "partner_id", "partner_code", "legal_name", "site_id", "site", "visited_on",
                 "visited_by", "findings", "not_met", "partly_met", "notes", "recorded_by", "recorded_at"]
FINDING_COLUMNS = ["criterion_id", "category", "requirement", "summary", "finding", "note"]


def finding_value(text: object) -> AnswerValue | None:
    """A finding as typed ("not met", "partly met", "met", "n/a", or an answer code), None when it is none."""
    return _WORDS.get(str(text or "").strip().lower())


def _check(session: Session, partner_id: int, site_id: int | None, visited_on: object, visited_by: str,
           notes: str, findings: Iterable[Mapping[str, Any]], today: date) -> tuple[Partner, list[dict[str, Any]]]:
    problems: list[str] = []
    partner = session.get(Partner, partner_id)
    if partner is None:
        raise ValidationError(f"No partner with id {partner_id}")
    if site_id is not None:
        site = session.get(PartnerSite, site_id)
        if site is None or site.partner_id != partner_id:
            problems.append(f"site: {site_id} is not a site of {partner.partner_code}")
    if not isinstance(visited_on, date):
        problems.append("date: required")
    elif not FIRST_DAY <= visited_on <= today:
        problems.append(f"date: {visited_on.isoformat()} is not between {FIRST_DAY.isoformat()} and today")
    if not visited_by.strip():
        problems.append("visited by: say who visited")
    elif len(visited_by) > 200:
        problems.append("visited by: at most 200 characters")
    if len(notes) > 2000:
        problems.append("notes: at most 2000 characters")
    asked = {q.criterion_id: q.requirement for q in questions_for_partner(session=session, partner_id=partner_id)}
    rows, seen = [], set()
    for number, item in enumerate(findings, start=1):
        criterion = str(item.get("criterion_id") or "").strip()
        value = finding_value(item.get("finding"))
        note = str(item.get("note") or "").strip()
        where = f"finding {number} ({criterion or 'no criterion'})"
        if criterion not in asked:
            known = session.get(Criterion, criterion) is not None
            problems.append(f"{where}: {partner.partner_code} is not asked this criterion, so a finding would not "
                            "count" if known else f"{where}: no such criterion")
            continue
        if criterion in seen:
            problems.append(f"{where}: this criterion has two findings")
            continue
        seen.add(criterion)
        if value is None:
            problems.append(f"{where}: '{item.get('finding')}' is not a finding; use met, partly met, not met or "
                            "not applicable")
            continue
        if rules.comment_required(value, asked[criterion]) and not note:
            problems.append(f"{where}: say what was seen ({FINDING_LABELS[value]} needs a note)")
        if len(note) > 1000:
            problems.append(f"{where}: the note is longer than 1000 characters")
        rows.append({"criterion_id": criterion, "finding": value, "note": note})
    if not rows and not problems:
        problems.append("findings: record at least one finding")
    if problems:
        raise ValidationError("; ".join(problems))
    return partner, rows


def _summary(partner: Partner, visited_on: date, visited_by: str, rows: list[dict[str, Any]]) -> str:
    counts = pd.Series([FINDING_LABELS[r["finding"]] for r in rows]).value_counts()
    found = ", ".join(f"{n} {label}" for label, n in counts.items())
    return f"Site visit to {partner.partner_code} on {visited_on.isoformat()} by {visited_by.strip()}: {found}"


def record_visit(*, session: Session, actor: Actor, partner_id: int, visited_on: date, visited_by: str,
                 findings: Iterable[Mapping[str, Any]], site_id: int | None = None, notes: str = "",
                 today: date | None = None) -> SiteVisit:
    """Record a visit with its findings (each: criterion_id, finding, note); all or nothing, audited."""
    require_write(actor)
    partner, rows = _check(session, partner_id, site_id, visited_on, visited_by, notes, list(findings),
                           today or date.today())
    visit = SiteVisit(partner_id=partner_id, site_id=site_id, visited_on=visited_on, visited_by=visited_by.strip(),
                      notes=notes.strip(), recorded_by=actor.username)
    session.add(visit)
    session.flush()
    session.add_all([SiteVisitFinding(visit_id=visit.id, **row) for row in rows])
    audit.record(session=session, actor=actor, action="create", entity="site visit", entity_id=visit.id,
                 summary=_summary(partner, visited_on, visited_by, rows),
                 after={"partner": partner.partner_code, "visited_on": visited_on, "visited_by": visit.visited_by,
                        "site_id": site_id, "findings": {r["criterion_id"]: r["finding"].value for r in rows}})
    session.flush()
    return visit


def correct_visit(*, session: Session, actor: Actor, visit_id: int, visited_on: date, visited_by: str,
                  findings: Iterable[Mapping[str, Any]], site_id: int | None = None, notes: str = "",
                  today: date | None = None) -> SiteVisit:
    """Correct a recorded visit: its fields and the whole set of findings are replaced; audited before and after."""
    require_write(actor)
    visit = session.get(SiteVisit, visit_id)
    if visit is None:
        raise ValidationError(f"No site visit with id {visit_id}")
    partner, rows = _check(session, visit.partner_id, site_id, visited_on, visited_by, notes, list(findings),
                           today or date.today())
    before = _state(session, visit)
    session.exec(delete(SiteVisitFinding).where(col(SiteVisitFinding.visit_id) == visit_id))
    visit.visited_on, visit.visited_by, visit.site_id, visit.notes = visited_on, visited_by.strip(), site_id, \
        notes.strip()
    session.add(visit)
    session.add_all([SiteVisitFinding(visit_id=visit_id, **row) for row in rows])
    session.flush()
    audit.record(session=session, actor=actor, action="update", entity="site visit", entity_id=visit_id,
                 summary="Corrected: " + _summary(partner, visited_on, visited_by, rows), before=before,
                 after=_state(session, visit))
    return visit


def remove_visit(*, session: Session, actor: Actor, visit_id: int, reason: str) -> None:
    """Remove a visit recorded in error, with the reason; the audit log keeps what it said."""
    require_write(actor)
    visit = session.get(SiteVisit, visit_id)
    if visit is None:
        raise ValidationError(f"No site visit with id {visit_id}")
    if len(reason.strip()) < 10:
        raise ValidationError("reason: say why the visit is removed (at least 10 characters)")
    partner = session.get(Partner, visit.partner_id)
    before = _state(session, visit)
    session.exec(delete(SiteVisitFinding).where(col(SiteVisitFinding.visit_id) == visit_id))
    session.exec(delete(SiteVisit).where(col(SiteVisit.id) == visit_id))
    audit.record(session=session, actor=actor, action="remove", entity="site visit", entity_id=visit_id,
                 summary=f"Removed the site visit to {partner.partner_code} on {visit.visited_on.isoformat()}: "
                         f"{reason.strip()}"[:500], before=before, after=None)


def _state(session: Session, visit: SiteVisit) -> dict[str, Any]:
    found = session.exec(select(SiteVisitFinding.criterion_id, SiteVisitFinding.finding)
                         .where(SiteVisitFinding.visit_id == visit.id)).all()
    return {"visited_on": visit.visited_on, "visited_by": visit.visited_by, "site_id": visit.site_id,
            "notes": visit.notes, "findings": {c: f.value for c, f in found}}


def list_visits(*, session: Session, partner_id: int | None = None) -> pd.DataFrame:
    """Visits, newest first (VISIT_COLUMNS), with how many findings each has and how many are not (fully) met."""
    counts = (select(SiteVisitFinding.visit_id, func.count().label("n"),
                     func.sum(_flag(AnswerValue.no)).label("not_met"),
                     func.sum(_flag(AnswerValue.partial)).label("part"))
              .group_by(SiteVisitFinding.visit_id).subquery())
    stmt = (select(SiteVisit.id, SiteVisit.partner_id, Partner.partner_code, Partner.legal_name, SiteVisit.site_id,
                   PartnerSite.name, SiteVisit.visited_on, SiteVisit.visited_by, counts.c.n, counts.c.not_met,
                   counts.c.part, SiteVisit.notes, SiteVisit.recorded_by, SiteVisit.recorded_at)
            .join(Partner, col(Partner.id) == SiteVisit.partner_id)
            .outerjoin(PartnerSite, col(PartnerSite.id) == SiteVisit.site_id)
            .outerjoin(counts, counts.c.visit_id == SiteVisit.id)
            .order_by(col(SiteVisit.visited_on).desc(), col(SiteVisit.id).desc()))
    if partner_id is not None:
        stmt = stmt.where(SiteVisit.partner_id == partner_id)
    frame = pd.DataFrame([tuple(r) for r in session.exec(stmt).all()], columns=VISIT_COLUMNS)
    for column in ("findings", "not_met", "partly_met"):
        frame[column] = frame[column].fillna(0).astype(int)
    frame["site"] = frame["site"].fillna("")
    return frame


def _flag(value: AnswerValue):
    from sqlalchemy import case

    return case((SiteVisitFinding.finding == value, 1), else_=0)


def visit_findings(*, session: Session, visit_id: int) -> pd.DataFrame:
    """The findings of one visit in criterion order (FINDING_COLUMNS; finding in words)."""
    rows = session.exec(select(SiteVisitFinding.criterion_id, Criterion.category, Criterion.requirement,
                               Criterion.summary, SiteVisitFinding.finding, SiteVisitFinding.note)
                        .join(Criterion, col(Criterion.criterion_id) == SiteVisitFinding.criterion_id)
                        .where(SiteVisitFinding.visit_id == visit_id).order_by(Criterion.sort_key)).all()
    frame = pd.DataFrame([tuple(r) for r in rows], columns=FINDING_COLUMNS)
    frame["finding"] = frame["finding"].map(FINDING_LABELS)
    return frame


def move_to_partner(*, session: Session, from_partner_id: int, to_partner_id: int) -> int:
    """Move a merged duplicate's visits to the partner kept (for the partner merge); returns how many moved."""
    return session.exec(update(SiteVisit).where(col(SiteVisit.partner_id) == from_partner_id)
                        .values(partner_id=to_partner_id)).rowcount
