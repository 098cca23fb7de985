"""The incident register: security incidents and exceptions, their internal investigation (MSC 7.37) and closing.

An incident names the partner, the partner's site or the lane where it happened (at least one). While it is open or
investigated it counts against that partner and lane (models.incidents.OPEN_INCIDENT_STATUSES, read by the scoring
through ``open_incidents``) and has an action item in the plan, created when it is recorded. Every change is audited.
"""

from datetime import date
from typing import Any

import pandas as pd
from sqlalchemy import update
from sqlmodel import Session, col, select

from models import Lane, Partner, PartnerSite, User
from models.actions import ActionItem
from models.common import utcnow
from models.incidents import OPEN_INCIDENT_STATUSES, Incident, IncidentKind, IncidentStatus
from services.actions import generate
from services.core import audit
from services.core.permissions import Actor, ValidationError, require_write

# Who incidents are usually reported to; the field takes any text.
REPORTED_TO = ("CBP", "local police", "the carrier", "the partner", "the insurer", "the importer's security team")
FIELDS = ("occurred_on", "kind", "partner_id", "site_id", "lane_id", "description", "reported_to", "reported_on")
# Where an incident may go from each status; closing needs a note, and so does taking a closed one up again.
NEXT: dict[IncidentStatus, tuple[IncidentStatus, ...]] = {
    IncidentStatus.open: (IncidentStatus.investigating, IncidentStatus.closed),
    IncidentStatus.investigating: (IncidentStatus.closed,),
    IncidentStatus.closed: (IncidentStatus.investigating,),
}
LIST_COLUMNS = ["id", "occurred_on", "kind", "status", "partner_id", "partner_code", "partner_name", "site_id",
                "site_name", "lane_id", "lane_code", "description", "reported_to", "reported_on", "investigation",
                "closing_note", "closed_on", "closed_by", "action_id", "action_status", "created_by", "created_at",
                "updated_by", "updated_at", "version"]
OPEN_COLUMNS = ["incident_id", "partner_id", "site_id", "lane_id", "kind", "occurred_on", "status"]
MIN_NOTE = 10
FIRST_DAY = date(2000, 1, 1)


def _id(value: object) -> int | None:
    if value is None or value == "" or (not isinstance(value, str) and pd.isna(value)):
        return None
    return int(value)


def clean_values(*, session: Session, values: dict[str, Any], today: date) -> dict[str, Any]:
    """The incident's fields checked; every problem named, joined by "; ". A site's partner is the partner."""
    problems = []
    out: dict[str, Any] = {}
    kind = values.get("kind")
    if kind not in IncidentKind._value2member_map_:
        problems.append(f"kind: one of {', '.join(IncidentKind)}")
    else:
        out["kind"] = IncidentKind(kind)
    occurred = values.get("occurred_on")
    if not isinstance(occurred, date):
        problems.append("date: when did it happen?")
    elif not FIRST_DAY <= occurred <= today:
        problems.append(f"date: between {FIRST_DAY} and today ({today})")
    out["occurred_on"] = occurred
    partner_id, site_id, lane_id = (_id(values.get(k)) for k in ("partner_id", "site_id", "lane_id"))
    if site_id is not None:
        site = session.get(PartnerSite, site_id)
        if site is None:
            problems.append(f"site: no site {site_id}")
        elif partner_id is not None and site.partner_id != partner_id:
            problems.append("site: the site belongs to another partner")
        else:
            partner_id = site.partner_id
    if partner_id is not None and session.get(Partner, partner_id) is None:
        problems.append(f"partner: no partner {partner_id}")
    if lane_id is not None and session.get(Lane, lane_id) is None:
        problems.append(f"lane: no lane {lane_id}")
    if partner_id is None and lane_id is None:
        problems.append("where: name the partner, the partner's site or the lane where it happened")
    out.update(partner_id=partner_id, site_id=site_id, lane_id=lane_id)
    description = str(values.get("description") or "").strip()
    if not description:
        problems.append("what happened: describe it")
    elif len(description) > 4000:
        problems.append("what happened: at most 4,000 characters")
    out["description"] = description
    reported_to = str(values.get("reported_to") or "").strip()
    if len(reported_to) > 300:
        problems.append("reported to: at most 300 characters")
    out["reported_to"] = reported_to
    reported_on = values.get("reported_on")
    if reported_on is not None and not isinstance(reported_on, date):
        problems.append("reported on: a date, or empty")
    elif reported_on is not None:
        if isinstance(occurred, date) and reported_on < occurred:
            problems.append("reported on: not before the incident happened")
        if reported_on > today:
            problems.append("reported on: not after today")
        if not reported_to:
            problems.append("reported to: say to whom it was reported on that day")
    out["reported_on"] = reported_on
    if problems:
        raise ValidationError("; ".join(problems))
    return out


def _label(session: Session, incident: Incident) -> str:
    where = []
    if incident.partner_id:
        where.append(session.exec(select(Partner.partner_code).where(Partner.id == incident.partner_id)).one())
    if incident.lane_id:
        where.append("lane " + session.exec(select(Lane.code).where(Lane.id == incident.lane_id)).one())
    return f"{incident.kind} on {incident.occurred_on} ({', '.join(where)})"


def _sync_action(session: Session, actor: Actor, incident: Incident, owner: str | None = None) -> None:
    """The incident's action item: created for an open incident that has none (or whose item was closed before the
    incident was taken up again), its cause marked gone when the incident is closed."""
    if incident.status in OPEN_INCIDENT_STATUSES:
        owner_id = generate.user_id(session=session, username=owner) if owner else None
        if owner_id is None and incident.partner_id:
            owner_id = generate.partner_owners(session=session).get(incident.partner_id)
        if owner_id is None:
            owner_id = session.exec(select(User.id).where(User.username == actor.username)).first()
        causes = generate.incident_causes(session=session, incident_ids=[incident.id])
        plan = generate.plan_changes(session=session, causes=causes, mark_gone=False)
        generate.apply_plan(session=session, actor=actor, plan=plan, today=date.today(), default_owner=owner_id)
    else:
        session.exec(update(ActionItem).where(ActionItem.incident_id == incident.id,
                                              col(ActionItem.cause_gone_on).is_(None))
                     .values(cause_gone_on=incident.closed_on or date.today()))


def record_incident(*, session: Session, actor: Actor, values: dict[str, Any], owner: str | None = None,
                    today: date | None = None) -> Incident:
    """Record an incident (writers), open; its action item goes into the plan at once, owned by `owner` (a staff
    username), else the partner's internal owner, else whoever recorded it."""
    require_write(actor)
    today = today or date.today()
    clean = clean_values(session=session, values=values, today=today)
    now = utcnow()
    incident = Incident(**clean, status=IncidentStatus.open, created_by=actor.username, created_at=now,
                        updated_by=actor.username, updated_at=now)
    session.add(incident)
    session.flush()
    audit.record(session=session, actor=actor, action="create", entity="incident", entity_id=incident.id,
                 summary=f"Recorded incident {incident.id}: {_label(session, incident)}",
                 after={k: clean[k] for k in FIELDS})
    _sync_action(session, actor, incident, owner)
    return incident


def _get(session: Session, incident_id: int, expected_version: int | None) -> Incident:
    incident = session.get(Incident, incident_id)
    if incident is None:
        raise ValidationError(f"No incident {incident_id}")
    if expected_version is not None and incident.version != expected_version:
        raise ValidationError(f"Incident {incident_id} was changed by {incident.updated_by} since you opened it; "
                              "reload it and decide again.")
    return incident


def update_incident(*, session: Session, actor: Actor, incident_id: int, values: dict[str, Any],
                    expected_version: int | None = None, today: date | None = None) -> Incident:
    """Correct an incident's fields or record the investigation's findings (writers); audited before and after."""
    require_write(actor)
    incident = _get(session, incident_id, expected_version)
    current = {k: getattr(incident, k) for k in FIELDS}
    clean = clean_values(session=session, values={**current, **{k: v for k, v in values.items() if k in FIELDS}},
                         today=today or date.today())
    if "investigation" in values:
        text = str(values.get("investigation") or "").strip()
        if len(text) > 4000:
            raise ValidationError("investigation: at most 4,000 characters")
        clean["investigation"] = text
    before = {k: getattr(incident, k) for k in clean}
    changed = {k: v for k, v in clean.items() if before[k] != v}
    if not changed:
        return incident
    for name, value in changed.items():
        setattr(incident, name, value)
    incident.version += 1
    incident.updated_by, incident.updated_at = actor.username, utcnow()
    session.add(incident)
    session.flush()
    audit.record(session=session, actor=actor, action="update", entity="incident", entity_id=incident_id,
                 summary=f"Changed incident {incident_id}: {', '.join(changed)}", before=before, after=clean)
    return incident


def set_status(*, session: Session, actor: Actor, incident_id: int, status: str, note: str = "",
               expected_version: int | None = None, today: date | None = None) -> Incident:
    """Move an incident along: open -> investigating -> closed (closing needs a note of what was found and done,
    MSC 7.37); a closed one can be taken up again (investigating) with a note of why. Writers; audited."""
    require_write(actor)
    incident = _get(session, incident_id, expected_version)
    if status not in IncidentStatus._value2member_map_:
        raise ValidationError(f"status: one of {', '.join(IncidentStatus)}")
    target = IncidentStatus(status)
    if target not in NEXT[incident.status]:
        raise ValidationError(f"Incident {incident_id} is {incident.status}; it cannot become {target}.")
    note = str(note or "").strip()
    reopening = incident.status == IncidentStatus.closed
    if (target == IncidentStatus.closed or reopening) and len(note) < MIN_NOTE:
        raise ValidationError(f"note: say what the investigation found and what was done (at least {MIN_NOTE} "
                              "characters)" if target == IncidentStatus.closed else
                              f"note: say why the incident is taken up again (at least {MIN_NOTE} characters)")
    if len(note) > 2000:
        raise ValidationError("note: at most 2,000 characters")
    before = {"status": incident.status, "closing_note": incident.closing_note, "closed_on": incident.closed_on}
    incident.status = target
    if target == IncidentStatus.closed:
        incident.closing_note, incident.closed_on, incident.closed_by = note, today or date.today(), actor.username
    elif reopening:
        incident.closed_on, incident.closed_by = None, ""
        incident.investigation = (incident.investigation + f"\nTaken up again: {note}").strip()[:4000]
    incident.version += 1
    incident.updated_by, incident.updated_at = actor.username, utcnow()
    session.add(incident)
    session.flush()
    audit.record(session=session, actor=actor, action="close" if target == IncidentStatus.closed else "update",
                 entity="incident", entity_id=incident_id,
                 summary=f"Incident {incident_id} {before['status']} → {target}" + (f": {note}" if note else ""),
                 before=before, after={"status": target, "closing_note": incident.closing_note,
                                       "closed_on": incident.closed_on, "note": note})
    _sync_action(session, actor, incident)
    return incident


def list_incidents(*, session: Session, statuses: list[str] | None = None, partner_id: int | None = None,
                   lane_id: int | None = None) -> pd.DataFrame:
    """Incidents, newest first (LIST_COLUMNS), with partner, site and lane in words and their latest action item."""
    stmt = (select(Incident.id, Incident.occurred_on, Incident.kind, Incident.status, Incident.partner_id,
                   Partner.partner_code, Partner.legal_name, Incident.site_id, PartnerSite.name, Incident.lane_id,
                   Lane.code, Incident.description, Incident.reported_to, Incident.reported_on,
                   Incident.investigation, Incident.closing_note, Incident.closed_on, Incident.closed_by,
                   Incident.created_by, Incident.created_at, Incident.updated_by, Incident.updated_at,
                   Incident.version)
            .outerjoin(Partner, col(Partner.id) == Incident.partner_id)
            .outerjoin(PartnerSite, col(PartnerSite.id) == Incident.site_id)
            .outerjoin(Lane, col(Lane.id) == Incident.lane_id)
            .order_by(col(Incident.occurred_on).desc(), col(Incident.id).desc()))
    if statuses:
        stmt = stmt.where(col(Incident.status).in_(statuses))
    if partner_id is not None:
        stmt = stmt.where(Incident.partner_id == partner_id)
    if lane_id is not None:
        stmt = stmt.where(Incident.lane_id == lane_id)
    columns = [c for c in LIST_COLUMNS if c not in ("action_id", "action_status")]
    frame = pd.DataFrame(session.exec(stmt).all(), columns=columns)
    actions = pd.DataFrame(session.exec(select(ActionItem.incident_id, ActionItem.id, ActionItem.status)
                                        .where(col(ActionItem.incident_id).is_not(None))
                                        .order_by(ActionItem.id)).all(),
                           columns=["incident_id", "action_id", "action_status"]).drop_duplicates(
        "incident_id", keep="last").set_index("incident_id")
    frame["action_id"] = frame["id"].map(actions["action_id"]).astype("Int64")
    frame["action_status"] = frame["id"].map(actions["action_status"]).fillna("")
    for column in ("partner_code", "partner_name", "site_name", "lane_code"):
        frame[column] = frame[column].fillna("")
    for column in ("partner_id", "site_id", "lane_id"):
        frame[column] = frame[column].astype("Int64")
    return frame[LIST_COLUMNS]


def open_incidents(*, session: Session) -> pd.DataFrame:
    """Incidents open or under investigation (OPEN_COLUMNS): what raises a partner's and a lane's vulnerability."""
    rows = session.exec(select(Incident.id, Incident.partner_id, Incident.site_id, Incident.lane_id, Incident.kind,
                               Incident.occurred_on, Incident.status)
                        .where(col(Incident.status).in_(sorted(OPEN_INCIDENT_STATUSES)))
                        .order_by(Incident.id)).all()
    frame = pd.DataFrame(rows, columns=OPEN_COLUMNS)
    for column in ("partner_id", "site_id", "lane_id"):
        frame[column] = frame[column].astype("Int64")
    return frame

