"""Collection cycles and their assignments: open a cycle for many partners, exemptions, states, the funnel."""

from collections.abc import Iterable, Sequence
from datetime import date
from typing import Any

import pandas as pd
from sqlalchemy import func, insert, update
from sqlmodel import Session, col, select

from models import Assignment, Country, Cycle, Partner
from models.collection import AssignmentStatus, CycleStatus, DerivedStatus
from models.common import CRITICALITIES, ENTITY_TYPES, LANGUAGES, utcnow
from services.certificates import rule as certificate_rule
from services.collection import states, titles
from services.collection.states import Action
from services.core import audit
from services.core.permissions import Actor, ValidationError, require_write

S = AssignmentStatus
# Funnel order as the team reads it; "overdue" is derived from the due date.
FUNNEL_STATES: tuple[str, ...] = (
    S.not_sent, S.sent, S.opened, S.in_progress, S.submitted, S.accepted, S.returned, S.exempt, DerivedStatus.overdue,
)
FUNNEL_COLUMNS = [
    "assignment_id", "partner_id", "partner_code", "legal_name", "entity_type", "country_iso2", "country",
    "criticality", "contact_name", "contact_email", "language", "status", "sent_at", "opened_at", "submitted_at",
    "reviewed_at", "due_date",
]


def get_assignment(*, session: Session, assignment_id: int) -> Assignment:
    """The assignment, or ValidationError when there is none with that id."""
    assignment = session.get(Assignment, assignment_id)
    if assignment is None:
        raise ValidationError(f"No assignment with id {assignment_id}")
    return assignment


def guarded_update(
    *, session: Session, assignment_id: int, allowed_from: Iterable[str], values: dict[str, Any]
) -> bool:
    """Set values on an assignment only while its status is one of allowed_from; False when it was not.

    One UPDATE ... WHERE status IN (...): two users acting at once cannot both pass the check. Callers take
    allowed_from (and the new status) from the transition table, services.collection.states.
    """
    result = session.exec(
        update(Assignment)
        .where(col(Assignment.id) == assignment_id, col(Assignment.status).in_(sorted(allowed_from)))
        .values(**values, updated_at=utcnow())
    )
    return result.rowcount == 1


def current_status(*, session: Session, assignment_id: int) -> str:
    """The stored status as the database has it now (not a possibly stale object in the session)."""
    status = session.exec(select(Assignment.status).where(Assignment.id == assignment_id)).first()
    if status is None:
        raise ValidationError(f"No assignment with id {assignment_id}")
    return status


def assignment_due_date(own_due_date: date | None, cycle_due_date: date) -> date:
    """The due date of an assignment: its own where it has one (a partner that joined the cycle late, e.g. after
    losing its exemption), else the cycle's. ``DUE_DATE`` is the same rule as a column expression for queries that
    join Assignment and Cycle."""
    return own_due_date or cycle_due_date


DUE_DATE = func.coalesce(Assignment.due_date, Cycle.due_date)


def effective_status(status: str, due_date: date, today: date) -> str:
    """The status the team sees: "overdue" once the due date has passed and the partner has not finished; pass the
    assignment's own due date (assignment_due_date)."""
    return states.effective_status(status, overdue=due_date < today)


def _partner_filter(
    entity_types: Sequence[str] | None, countries: Sequence[str] | None, criticalities: Sequence[str] | None
) -> list:
    conditions = [Partner.status == "active"]
    for column, chosen in ((Partner.entity_type, entity_types), (Partner.country_iso2, countries),
                           (Partner.criticality, criticalities)):
        if chosen:
            conditions.append(col(column).in_(list(chosen)))
    return conditions


def open_cycle(
    *,
    session: Session,
    actor: Actor,
    name: str,
    due_date: date,
    language: str = "en",
    entity_types: Sequence[str] | None = None,
    countries: Sequence[str] | None = None,
    criticalities: Sequence[str] | None = None,
    partner_ids: Sequence[int] | None = None,
    exempt_certified: bool = True,
    partner_titles: dict[str, str] | None = None,
) -> Cycle:
    """Open a cycle with one assignment per chosen active partner, in one bulk insert.

    Each assignment takes the partner's language when it is one of en/es/zh, else the cycle's. With
    exempt_certified, partners a certificate covers today (services.certificates.rule: CTPAT or mutually
    recognized, verified recently, valid) start as "exempt", the certificate named in exempt_reason; the others
    start as "not sent". Refused: a due date in the past (every questionnaire would be overdue at once), and
    filters naming an entity type, country code or criticality that does not exist (they would silently match
    nobody). partner_titles: what partners read instead of the name, by language (services.collection.titles).
    """
    states.require(actor, Action.create)
    name = (name or "").strip()
    if not name:
        raise ValidationError("name: required")
    if len(name) > 120:
        raise ValidationError("name: longer than 120 characters")
    if not isinstance(due_date, date):
        raise ValidationError("due_date: required")
    if due_date < date.today():
        raise ValidationError(f"due date: {due_date.isoformat()} is in the past; every questionnaire would be "
                              "overdue at once.")
    if language not in LANGUAGES:
        raise ValidationError(f"language: '{language}' must be one of {', '.join(LANGUAGES)}")
    partner_titles = titles.clean_titles(partner_titles)
    if session.exec(select(Cycle.id).where(Cycle.name == name)).first() is not None:
        raise ValidationError(f"name: a cycle called '{name}' already exists")
    countries = _known_countries(session, countries)
    for field, chosen, known in (("entity type", entity_types, ENTITY_TYPES),
                                 ("criticality", criticalities, CRITICALITIES)):
        unknown = [c for c in chosen or () if c not in known]
        if unknown:
            raise ValidationError(f"{field}: unknown '{unknown[0]}'; choose from: {', '.join(known)}")

    conditions = _partner_filter(entity_types, countries, criticalities)
    partners = session.exec(select(Partner.id, Partner.language).where(*conditions).order_by(Partner.id)).all()
    if partner_ids is not None:
        wanted = {int(i) for i in partner_ids}
        partners = [p for p in partners if p[0] in wanted]
    if not partners:
        raise ValidationError("No active partner matches the choice; the cycle was not opened.")

    today = date.today()
    reasons: dict[int, str] = {}
    if exempt_certified:
        reasons = certificate_rule.exemptions(session=session, partner_ids=[p for p, _ in partners], day=today)

    cycle = Cycle(name=name, due_date=due_date, default_language=language, created_by=actor.username,
                  partner_titles=partner_titles)
    session.add(cycle)
    session.flush()

    now = utcnow()
    rows = [
        {
            "cycle_id": cycle.id, "partner_id": pid, "language": lang if lang in LANGUAGES else language,
            "status": S.exempt if pid in reasons else S.not_sent, "exempt_reason": reasons.get(pid, ""),
            "token_revoked": False, "updated_at": now,
        }
        for pid, lang in partners
    ]
    session.exec(insert(Assignment), params=rows)
    exempt = sum(1 for r in rows if r["status"] == S.exempt)
    audit.record(
        session=session, actor=actor, action="open", entity="cycle", entity_id=cycle.name,
        summary=f"Opened cycle {cycle.name} for {len(rows)} partners ({exempt} exempt), due {due_date.isoformat()}",
        after={
            "due_date": due_date, "language": language, "assignments": len(rows), S.exempt: exempt,
            "entity_types": list(entity_types or []), "countries": list(countries or []),
            "criticalities": list(criticalities or []), "chosen_partners": None if partner_ids is None else
            len(partner_ids), "exempt_certified": exempt_certified, "partner_titles": partner_titles,
        },
    )
    return cycle


def _known_countries(session: Session, countries: Sequence[str] | None) -> list[str] | None:
    """The chosen country codes in upper case; ValidationError naming the first one that is not a known ISO code."""
    if not countries:
        return None
    codes = sorted({str(c).strip().upper() for c in countries})
    known = set(session.exec(select(Country.iso2).where(col(Country.iso2).in_(codes))).all())
    unknown = [c for c in codes if c not in known]
    if unknown:
        raise ValidationError(f"country: unknown country code '{unknown[0]}' (use ISO codes such as MX)")
    return codes


def _assignment_label(session: Session, assignment: Assignment) -> tuple[str, str]:
    """(partner code, cycle name) for messages and audit entries."""
    code = session.exec(select(Partner.partner_code).where(Partner.id == assignment.partner_id)).one()
    cycle_name = session.exec(select(Cycle.name).where(Cycle.id == assignment.cycle_id)).one()
    return code, cycle_name


def set_exempt(*, session: Session, actor: Actor, assignment_id: int, exempt: bool, reason: str = "") -> Assignment:
    """Override the exemption: exempt a partner (reason required; its link is revoked) or un-exempt it ("not sent").

    An accepted assignment cannot be exempted: its answers are already the record.
    """
    action = Action.exempt if exempt else Action.unexempt
    states.require(actor, action, assignment_id)
    assignment = get_assignment(session=session, assignment_id=assignment_id)
    code, cycle_name = _assignment_label(session, assignment)
    reason = (reason or "").strip()
    before = {"status": assignment.status, "exempt_reason": assignment.exempt_reason}
    if exempt:
        if not reason:
            raise ValidationError("reason: say why this partner is exempt")
        if len(reason) > 300:
            raise ValidationError("reason: longer than 300 characters")
        values = {"exempt_reason": reason, "token_revoked": True}
    else:
        values = {"exempt_reason": ""}
    [move] = states.transitions(action)
    if not guarded_update(session=session, assignment_id=assignment_id, allowed_from=move.sources,
                          values={"status": move.target, **values}):
        status = current_status(session=session, assignment_id=assignment_id)
        raise ValidationError(f"{code}: cannot {action} an assignment that is {status}")
    session.refresh(assignment)
    audit.record(
        session=session, actor=actor, action=action, entity="assignment",
        entity_id=assignment_id,
        summary=f"{'Exempted' if exempt else 'Removed the exemption of'} {code} in {cycle_name}"
        + (f": {reason}" if reason else ""),
        before=before, after={"status": assignment.status, "exempt_reason": assignment.exempt_reason},
    )
    return assignment


def mark_sent(*, session: Session, actor: Actor, assignment_ids: Sequence[int]) -> int:
    """Record that invitations went out (by mail merge, Excel...): "not sent" -> "sent"; returns how many changed."""
    states.require(actor, Action.send)
    ids = [int(i) for i in assignment_ids]
    if not ids:
        return 0
    now = utcnow()
    changed = 0
    [move] = states.transitions(Action.send)
    for start in range(0, len(ids), 5_000):
        chunk = ids[start:start + 5_000]
        result = session.exec(
            update(Assignment)
            .where(col(Assignment.id).in_(chunk), col(Assignment.status).in_(sorted(move.sources)))
            .values(status=move.target, sent_at=now, updated_at=now)
        )
        changed += result.rowcount
    if changed:
        audit.record(session=session, actor=actor, action="mark sent", entity="assignment",
                     entity_id=str(ids[0]) if len(ids) == 1 else f"{len(ids)} assignments",
                     summary=f"Marked {changed} assignments as sent", after={"assignment_ids": ids})
    return changed


def close_cycle(*, session: Session, actor: Actor, cycle_id: int) -> Cycle:
    """Close a cycle: its links stop working; answers and reviews stay."""
    require_write(actor)
    cycle = session.get(Cycle, cycle_id)
    if cycle is None:
        raise ValidationError(f"No cycle with id {cycle_id}")
    result = session.exec(
        update(Cycle).where(col(Cycle.id) == cycle_id, Cycle.status == CycleStatus.open)
        .values(status=CycleStatus.closed)
    )
    if result.rowcount != 1:
        raise ValidationError(f"Cycle {cycle.name} is already closed")
    session.refresh(cycle)
    audit.record(session=session, actor=actor, action="close", entity="cycle", entity_id=cycle.name,
                 summary=f"Closed cycle {cycle.name}", before={"status": CycleStatus.open},
                 after={"status": CycleStatus.closed})
    return cycle


def list_cycles(*, session: Session, today: date | None = None) -> pd.DataFrame:
    """Every cycle, newest first, with its number of partners and a count per funnel state (overdue derived from each
    assignment's own due date)."""
    today = today or date.today()
    base = ["id", "name", "due_date", "default_language", "status", "created_by", "created_at"]
    cycles = pd.DataFrame(
        session.exec(select(*(getattr(Cycle, c) for c in base)).order_by(col(Cycle.id).desc())).all(), columns=base
    )
    counts = pd.DataFrame(
        [tuple(r) for r in session.exec(
            select(Assignment.cycle_id, Assignment.status, DUE_DATE, func.count())
            .join(Cycle, col(Cycle.id) == Assignment.cycle_id)
            .group_by(Assignment.cycle_id, Assignment.status, DUE_DATE)).all()],
        columns=["id", "state", "due", "n"],
    )
    out = cycles.copy()
    out["partners"] = 0
    for state in FUNNEL_STATES:
        out[state] = 0
    if counts.empty or cycles.empty:
        return out
    counts["state"] = [effective_status(s, due, today) for s, due in zip(counts["state"], counts["due"], strict=True)]
    table = counts.pivot_table(index="id", columns="state", values="n", aggfunc="sum", fill_value=0)
    table = table.reindex(columns=list(FUNNEL_STATES), fill_value=0)
    table["partners"] = table.sum(axis=1)
    out = cycles.merge(table.reset_index(), on="id", how="left")
    out[["partners", *FUNNEL_STATES]] = out[["partners", *FUNNEL_STATES]].fillna(0).astype(int)
    return out[[*base, "partners", *FUNNEL_STATES]]


def funnel(*, session: Session, cycle_id: int, today: date | None = None) -> pd.DataFrame:
    """One row per assignment of the cycle with its partner (incl. contact), its due date (assignment_due_date) and
    effective status (overdue derived from that due date)."""
    today = today or date.today()
    cycle = session.get(Cycle, cycle_id)
    if cycle is None:
        raise ValidationError(f"No cycle with id {cycle_id}")
    stmt = (
        select(Assignment.id, Assignment.partner_id, Partner.partner_code, Partner.legal_name, Partner.entity_type,
               Partner.country_iso2, Country.name, Partner.criticality, Partner.contact_name, Partner.contact_email,
               Assignment.language, Assignment.status, Assignment.sent_at, Assignment.opened_at,
               Assignment.submitted_at, Assignment.reviewed_at, DUE_DATE)
        .join(Cycle, col(Cycle.id) == Assignment.cycle_id)
        .join(Partner, col(Partner.id) == Assignment.partner_id)
        .join(Country, col(Country.iso2) == Partner.country_iso2, isouter=True)
        .where(Assignment.cycle_id == cycle_id)
        .order_by(Partner.partner_code)
    )
    # Plain tuples: pandas builds a frame from SQLAlchemy Row objects about ten times slower.
    rows = pd.DataFrame([tuple(r) for r in session.exec(stmt).all()], columns=FUNNEL_COLUMNS)
    if not rows.empty:
        late = pd.to_datetime(rows["due_date"]).dt.date.lt(today) & ~rows["status"].isin(list(states.FINISHED))
        rows["status"] = rows["status"].where(~late, DerivedStatus.overdue)
    return rows


def get_cycle_by_name(*, session: Session, name: str) -> Cycle | None:
    """The cycle with that exact name, if any."""
    return session.exec(select(Cycle).where(Cycle.name == name.strip())).first()


def latest_open_cycle(*, session: Session) -> Cycle | None:
    """The most recently opened cycle that is still open."""
    return session.exec(select(Cycle).where(Cycle.status == CycleStatus.open).order_by(col(Cycle.id).desc())).first()
