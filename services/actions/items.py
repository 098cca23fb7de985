"""Action items: the plan, one item with its evidence and history, adding by hand, assigning, and every status move
(through the one table of services.actions.states). Partners act through their personal link on their own items
only, and only on those shared with them.
"""

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import pandas as pd
from sqlalchemy import update
from sqlmodel import Session, col, func, select

from models import Assignment, Country, Criterion, Incident, Lane, Partner, User
from models.actions import ActionChange, ActionEvidence, ActionItem, ActionSource, ActionStatus
from models.common import Role, utcnow
from models.threats import ThreatCategory
from services.actions import rules, states
from services.actions.generate import user_id
from services.actions.states import Move, Needs
from services.collection import evidence as store
from services.collection.states import PartnerActor
from services.core import audit
from services.core.permissions import Actor, PermissionDenied, ValidationError, require, require_write
from services.places.regions import clean_region
from services.reference.questions import question_texts_for

LIST_COLUMNS = ["id", "status", "past_due", "days_left", "priority", "title", "source", "basis", "partner_id",
                "partner_code", "partner_name", "criterion_id", "lane_id", "lane_code", "incident_id", "iso2",
                "region_code", "threat_category", "answer_value", "owner", "owner_name", "due_date",
                "shared_with_partner", "cause_gone_on", "evidence", "closing_note", "review_comment", "detail",
                "created_by", "created_at", "done_at", "done_by", "closed_at", "closed_by", "updated_at", "version"]
FOLLOWUP_COLUMNS = ["id", "title", "status", "due_date", "past_due", "days_left", "priority", "partner_id",
                    "partner_code", "owner_id", "owner", "owner_name", "owner_email"]
EVIDENCE_COLUMNS = ["id", "filename", "content_type", "size_bytes", "sha256", "uploaded_by", "uploaded_at"]
HISTORY_COLUMNS = ["changed_at", "changed_by", "from_status", "to_status", "comment"]
STAFF_ROLES = (Role.admin, Role.analyst, Role.viewer)
MAX_TITLE, MAX_DETAIL, MAX_NOTE, MAX_COMMENT = 300, 4000, 4000, 2000
FIRST_DAY, LAST_DAY = date(2000, 1, 1), date(2099, 12, 31)


@dataclass(frozen=True)
class Upload:
    """An evidence file as received: its name and bytes (checked by services.collection.evidence)."""

    filename: str
    data: bytes


def is_overdue(status: object, due_date: object, today: date) -> bool:
    """Past its due date while the owner (or partner) still has to act; an item marked done waits on the team."""
    return status in states.WORKING and due_date is not None and not pd.isna(due_date) and due_date < today


def _with_dates(frame: pd.DataFrame, today: date) -> pd.DataFrame:
    due = pd.to_datetime(frame["due_date"])
    frame["days_left"] = (due - pd.Timestamp(today)).dt.days.astype("Int64")
    frame["past_due"] = frame["status"].isin(list(states.WORKING)) & (frame["days_left"] < 0).fillna(False)
    frame["past_due"] = frame["past_due"].astype(bool)
    return frame


def list_items(*, session: Session, today: date, partner_id: int | None = None,
               statuses: Iterable[ActionStatus] | None = None) -> pd.DataFrame:
    """The plan (or one partner's items) in plan order (rules.plan_order): overdue first, then priority, due date.

    days_left is negative once overdue; evidence counts the item's files. One query.
    """
    files = (select(ActionEvidence.action_id, func.count().label("files")).group_by(ActionEvidence.action_id)
             .subquery())
    stmt = (select(ActionItem.id, ActionItem.status, ActionItem.priority, ActionItem.title, ActionItem.source,
                   ActionItem.basis, ActionItem.partner_id, Partner.partner_code, Partner.legal_name,
                   ActionItem.criterion_id, ActionItem.lane_id, Lane.code, ActionItem.incident_id, ActionItem.iso2,
                   ActionItem.region_code, ActionItem.threat_category, ActionItem.answer_value, User.username,
                   User.name, ActionItem.due_date, ActionItem.shared_with_partner, ActionItem.cause_gone_on,
                   func.coalesce(files.c.files, 0), ActionItem.closing_note, ActionItem.review_comment,
                   ActionItem.detail, ActionItem.created_by, ActionItem.created_at, ActionItem.done_at,
                   ActionItem.done_by, ActionItem.closed_at, ActionItem.closed_by, ActionItem.updated_at,
                   ActionItem.version)
            .outerjoin(Partner, col(Partner.id) == ActionItem.partner_id)
            .outerjoin(Lane, col(Lane.id) == ActionItem.lane_id)
            .outerjoin(User, col(User.id) == ActionItem.owner_id)
            .outerjoin(files, files.c.action_id == ActionItem.id))
    if partner_id is not None:
        stmt = stmt.where(ActionItem.partner_id == partner_id)
    if statuses is not None:
        stmt = stmt.where(col(ActionItem.status).in_(list(statuses)))
    columns = [c for c in LIST_COLUMNS if c not in ("past_due", "days_left")]
    frame = pd.DataFrame(session.exec(stmt).all(), columns=columns)
    for column in ("partner_code", "partner_name", "lane_code", "owner", "owner_name", "criterion_id"):
        frame[column] = frame[column].fillna("")
    for column in ("partner_id", "lane_id", "incident_id"):
        frame[column] = frame[column].astype("Int64")
    frame = rules.plan_order(_with_dates(frame, today))
    return frame[LIST_COLUMNS]


def counts(frame: pd.DataFrame, today: date) -> dict[str, int]:
    """Headline figures of a plan frame (list_items): open, overdue, awaiting acceptance, unassigned, closed in the
    last 30 days."""
    not_closed = frame["status"] != ActionStatus.closed
    closed_at = pd.to_datetime(frame["closed_at"], utc=True)
    since = pd.Timestamp(today - timedelta(days=30), tz="UTC")
    return {"open": int(not_closed.sum()), "past_due": int(frame["past_due"].sum()),
            "awaiting": int((frame["status"] == ActionStatus.awaiting).sum()),
            "unassigned": int((not_closed & (frame["owner"] == "")).sum()),
            "closed_30_days": int(((frame["status"] == ActionStatus.closed) & (closed_at >= since)).sum())}


def due_and_overdue(*, session: Session, today: date, within_days: int = 7) -> pd.DataFrame:
    """Items the owner still has to act on that are overdue or due within `within_days`, in one query, for the
    follow-up rule "action item due / overdue, to its owner": FOLLOWUP_COLUMNS, overdue first then by due date.

    Items marked done and awaiting the team's acceptance are left out (the owner has acted); so are closed ones.
    owner_id is None for unassigned items.
    """
    if within_days < 0:
        raise ValidationError("within_days: 0 or more")
    stmt = (select(ActionItem.id, ActionItem.title, ActionItem.status, ActionItem.due_date, ActionItem.priority,
                   ActionItem.partner_id, Partner.partner_code, ActionItem.owner_id, User.username, User.name,
                   User.email)
            .outerjoin(Partner, col(Partner.id) == ActionItem.partner_id)
            .outerjoin(User, col(User.id) == ActionItem.owner_id)
            .where(col(ActionItem.status).in_(sorted(states.WORKING)),
                   col(ActionItem.due_date) <= today + timedelta(days=within_days))
            .order_by(ActionItem.due_date, ActionItem.id))
    columns = [c for c in FOLLOWUP_COLUMNS if c not in ("past_due", "days_left")]
    frame = pd.DataFrame(session.exec(stmt).all(), columns=columns)
    for column in ("partner_code", "owner", "owner_name", "owner_email"):
        frame[column] = frame[column].fillna("")
    for column in ("partner_id", "owner_id"):
        frame[column] = frame[column].astype("Int64")
    frame = _with_dates(frame, today)
    return frame.sort_values(["past_due", "due_date", "id"], ascending=[False, True, True], kind="stable")[
        FOLLOWUP_COLUMNS].reset_index(drop=True)


def progress(*, session: Session, today: date, weeks: int = 26) -> pd.DataFrame:
    """Per week (Monday) of the last `weeks`: items opened, items closed, and items open at the end of the week.

    A reopened item that was closed counts as open again from its reopening. Two queries.
    """
    created = pd.to_datetime(pd.Series(session.exec(select(ActionItem.created_at)).all(), dtype=object), utc=True)
    moves = pd.DataFrame(session.exec(select(ActionChange.changed_at, ActionChange.from_status,
                                             ActionChange.to_status)).all(),
                         columns=["changed_at", "from_status", "to_status"])
    closed = pd.to_datetime(moves.loc[moves["to_status"] == ActionStatus.closed, "changed_at"], utc=True)
    reopened = pd.to_datetime(moves.loc[(moves["from_status"] == ActionStatus.closed)
                                        & (moves["to_status"] == ActionStatus.reopened), "changed_at"], utc=True)
    first = pd.Timestamp(today - timedelta(days=today.weekday())) - pd.Timedelta(weeks=weeks - 1)
    starts = pd.date_range(first, periods=weeks, freq="7D")

    def per_week(times: pd.Series) -> tuple[pd.Series, int]:
        days = times.dt.tz_convert(None).dt.normalize() if len(times) else pd.Series([], dtype="datetime64[ns]")
        week = days - pd.to_timedelta(days.dt.day_of_week, unit="D")
        before = int((week < first).sum())
        return week[week >= first].value_counts().reindex(starts, fill_value=0), before

    opened, opened_before = per_week(created)
    closings, closed_before = per_week(closed)
    reopenings, reopened_before = per_week(reopened)
    open_at_end = (opened_before - closed_before + reopened_before
                   + (opened - closings + reopenings).cumsum())
    return pd.DataFrame({"week": starts.date, "new": opened.to_numpy(), "closed": closings.to_numpy(),
                         "open_at_end": open_at_end.to_numpy()})


def _partner_of(session: Session, actor: Actor) -> int | None:
    """The partner a link actor acts for (its assignment's partner); None for staff."""
    if not isinstance(actor, PartnerActor):
        return None
    found = session.exec(select(Assignment.partner_id).where(Assignment.id == actor.assignment_id)).first()
    if found is None:
        raise PermissionDenied(f"{actor.username}: the link's questionnaire no longer exists.")
    return found


def _load(session: Session, actor: Actor, action_id: int) -> ActionItem:
    """The item, when the actor may see it: staff any, a partner only its own items shared with it."""
    item = session.get(ActionItem, action_id)
    partner_id = _partner_of(session, actor)
    if partner_id is not None and (item is None or item.partner_id != partner_id or not item.shared_with_partner):
        raise PermissionDenied(f"{actor.username} may act only on its own action items.")
    if item is None:
        raise ValidationError(f"No action item {action_id}")
    return item


def _text(value: object, limit: int, what: str) -> str:
    text = str(value or "").strip()
    if len(text) > limit:
        raise ValidationError(f"{what}: at most {limit:,} characters ({len(text):,} given)")
    return text


def _attach(session: Session, actor: Actor, item: ActionItem, files: Sequence[Upload]) -> list[dict]:
    """Check and store the files (content-checked, size-limited, by hash) and add them to the item; the same bytes
    are kept once per item."""
    added = []
    for upload in files:
        sha256, name, content_type = store.store_file(filename=upload.filename, data=upload.data)
        known = session.exec(select(ActionEvidence.id).where(ActionEvidence.action_id == item.id,
                                                             ActionEvidence.sha256 == sha256)).first()
        if known is not None:
            continue
        session.add(ActionEvidence(action_id=item.id, filename=name, content_type=content_type,
                                   size_bytes=len(upload.data), sha256=sha256, uploaded_by=actor.username[:120]))
        added.append({"filename": name, "sha256": sha256, "size_bytes": len(upload.data)})
    session.flush()
    return added


def add_evidence(*, session: Session, actor: Actor, action_id: int, files: Sequence[Upload]) -> int:
    """Add evidence files to an item that is not closed (staff, or the partner on its own shared item); returns how
    many were new."""
    states.require(actor, Move.done)
    item = _load(session, actor, action_id)
    if item.status == ActionStatus.closed:
        raise ValidationError(f"Action {action_id} is closed; reopen it to add evidence.")
    if not files:
        raise ValidationError("Choose at least one file.")
    added = _attach(session, actor, item, files)
    if added:
        audit.record(session=session, actor=actor, action="add evidence", entity="action item", entity_id=action_id,
                     summary=f"{len(added)} evidence file(s) added to action {action_id}: "
                     + ", ".join(a["filename"] for a in added), after={"files": added})
    return len(added)


def _evidence_since(session: Session, item: ActionItem) -> int:
    stmt = select(func.count()).select_from(ActionEvidence).where(ActionEvidence.action_id == item.id)
    if item.reopened_at is not None:
        stmt = stmt.where(col(ActionEvidence.uploaded_at) >= item.reopened_at)
    return session.exec(stmt).one()


def move(*, session: Session, actor: Actor, action_id: int, to: Move, note: str = "", comment: str = "",
         files: Sequence[Upload] = (), expected_version: int | None = None) -> ActionItem:
    """Make one move of the transition table on an item: start, mark done, accept, close or reopen.

    Marking done and closing need a closing note and at least one evidence file added since the item was last
    reopened (files given here count; MSC 3.6); reopening needs a comment, which the partner reads. A partner may
    move only its own items shared with it. `expected_version` refuses a form saved over a newer change. Everything
    or nothing is written.
    """
    mover = states.require(actor, to)
    item = _load(session, actor, action_id)
    step = states.transition(to)
    if item.status not in step.sources:
        raise ValidationError(f"Action {action_id} is {item.status}; it cannot be {_verb(to)} now.")
    if expected_version is not None and item.version != expected_version:
        raise ValidationError(f"Action {action_id} was changed since you opened it; reload it and decide again.")
    note = _text(note, MAX_NOTE, "closing note")
    comment = _text(comment, MAX_COMMENT, "comment")
    if Needs.note in step.needs and not note:
        raise ValidationError("Write a closing note: what was done to fix it (MSC 3.6).")
    if Needs.comment in step.needs and not comment:
        raise ValidationError("Write a comment: what is missing or what came back (the partner reads it).")
    added = _attach(session, actor, item, files) if files else []
    if Needs.evidence in step.needs and _evidence_since(session, item) == 0:
        raise ValidationError("Attach at least one evidence file (a photo, a document) that shows the fix"
                              + (" since the item was reopened" if item.reopened_at else "") + " (MSC 3.6).")
    now = utcnow()
    values: dict[str, Any] = {"status": step.target, "version": item.version + 1, "updated_at": now}
    if to in (Move.done, Move.close):
        values.update(closing_note=note, done_at=now, done_by=actor.username[:120])
    if to in (Move.accept, Move.close):
        values.update(closed_at=now, closed_by=actor.username[:64])
    if to == Move.reopen:
        values.update(review_comment=comment, reopened_at=now, closed_at=None, closed_by="")
    before = item.status
    done = session.exec(update(ActionItem).where(col(ActionItem.id) == action_id,
                                                 col(ActionItem.status).in_(sorted(step.sources)),
                                                 ActionItem.version == item.version).values(**values))
    if done.rowcount != 1:
        raise ValidationError(f"Action {action_id} was changed meanwhile; reload it and decide again.")
    session.add(ActionChange(action_id=action_id, from_status=before, to_status=step.target,
                             comment=note or comment, changed_by=actor.username[:120], changed_at=now))
    session.refresh(item)
    audit.record(session=session, actor=actor, action=str(to), entity="action item", entity_id=action_id,
                 summary=_short(f"Action {action_id} ({item.title}): {before} → {step.target} by {actor.username}"
                                f" ({mover})" + (f": {note or comment}" if note or comment else "")),
                 before={"status": before}, after={"status": step.target, "note": note, "comment": comment,
                                                   **({"files": added} if added else {})})
    return item


def _verb(to: Move) -> str:
    return {Move.start: "started", Move.done: "marked done", Move.accept: "closed on acceptance", Move.close: "closed",
            Move.reopen: "reopened", Move.create: "created"}[to]


def _short(text: str, limit: int = 500) -> str:
    return text if len(text) <= limit else text[:limit - 1] + "…"


def _check_refs(session: Session, values: Mapping[str, Any]) -> dict[str, Any]:
    """Partner, criterion, lane, incident, place and threat category of an item, checked; problems joined by "; "."""
    out: dict[str, Any] = {}
    problems = []

    def ref(name: str, model, label: str) -> None:
        value = values.get(name)
        if value is None or (not isinstance(value, str) and pd.isna(value)) or value == "":
            out[name] = None
            return
        key = str(value).strip() if name == "criterion_id" else int(value)
        if session.get(model, key) is None:
            problems.append(f"{label}: no {label} {value}")
        out[name] = key

    ref("partner_id", Partner, "partner")
    ref("criterion_id", Criterion, "criterion")
    ref("lane_id", Lane, "lane")
    ref("incident_id", Incident, "incident")
    iso2 = str(values.get("iso2") or "").strip().upper()
    if iso2 and session.get(Country, iso2) is None:
        problems.append(f"country: '{iso2}' is not an ISO country code")
    out["iso2"] = iso2
    out["region_code"] = ""
    if values.get("region_code"):
        if not iso2:
            problems.append("region: choose the country first")
        else:
            try:
                out["region_code"] = clean_region(iso2, values.get("region_code"))
            except ValidationError as exc:
                problems.append(str(exc))
    category = str(values.get("threat_category") or "").strip()
    if category and category not in set(ThreatCategory):
        problems.append(f"threat category: one of {', '.join(ThreatCategory)}")
    out["threat_category"] = category
    if problems:
        raise ValidationError("; ".join(problems))
    return out


def _due(value: object) -> date:
    if not isinstance(value, date):
        raise ValidationError("due date: choose a date")
    if not FIRST_DAY <= value <= LAST_DAY:
        raise ValidationError(f"due date: between {FIRST_DAY} and {LAST_DAY}")
    return value


def _priority(value: object) -> int:
    if value not in rules.PRIORITIES:
        raise ValidationError(f"priority: one of {', '.join(map(str, rules.PRIORITIES))}")
    return int(value)


def add_item(*, session: Session, actor: Actor, values: Mapping[str, Any]) -> ActionItem:
    """Add an item by hand (writers): title, due_date, and optionally detail, partner_id, criterion_id, lane_id,
    incident_id, iso2, region_code, threat_category (a mitigation of that threat: rules.MITIGATION), owner (a staff
    username), priority (1-3) and shared_with_partner (only with a partner)."""
    require_write(actor)
    title = _text(values.get("title"), MAX_TITLE, "title")
    if not title:
        raise ValidationError("title: say what is to be done")
    refs = _check_refs(session, values)
    shared = bool(values.get("shared_with_partner"))
    if shared and refs["partner_id"] is None:
        raise ValidationError("shared with the partner: choose the partner")
    now = utcnow()
    item = ActionItem(source=ActionSource.manual, title=title, detail=_text(values.get("detail"), MAX_DETAIL, "detail"),
                      basis="added by hand", priority=_priority(values.get("priority", rules.MANUAL_PRIORITY)),
                      owner_id=user_id(session=session, username=values.get("owner")), due_date=_due(values.get(
                          "due_date")), shared_with_partner=shared, created_by=actor.username, created_at=now,
                      updated_at=now, **refs)
    session.add(item)
    session.flush()
    audit.record(session=session, actor=actor, action="create", entity="action item", entity_id=item.id,
                 summary=_short(f"Added action {item.id} by hand: {title}, due {item.due_date}"),
                 after={"title": title, "due_date": item.due_date, "owner": values.get("owner") or "", **refs})
    return item


def update_item(*, session: Session, actor: Actor, action_id: int, values: Mapping[str, Any],
                expected_version: int | None = None) -> ActionItem:
    """Change an item's owner (username or "" for none), due date, priority or sharing with the partner (writers);
    title and detail of items added by hand. Only the keys given change; audited with before and after."""
    require_write(actor)
    item = _load(session, actor, action_id)
    if expected_version is not None and item.version != expected_version:
        raise ValidationError(f"Action {action_id} was changed since you opened it; reload it and decide again.")
    owners = dict(session.exec(select(User.id, User.username)).all())
    changes: dict[str, Any] = {}
    if "owner" in values:
        owner = user_id(session=session, username=values["owner"])
        if owner != item.owner_id:
            changes["owner_id"] = owner
    if "due_date" in values and _due(values["due_date"]) != item.due_date:
        changes["due_date"] = values["due_date"]
    if "priority" in values and _priority(values["priority"]) != item.priority:
        changes["priority"] = int(values["priority"])
    if "shared_with_partner" in values and bool(values["shared_with_partner"]) != item.shared_with_partner:
        if values["shared_with_partner"] and item.partner_id is None:
            raise ValidationError("shared with the partner: this item has no partner")
        changes["shared_with_partner"] = bool(values["shared_with_partner"])
    for name, limit in (("title", MAX_TITLE), ("detail", MAX_DETAIL)):
        if name in values and _text(values[name], limit, name) != getattr(item, name):
            if item.source != ActionSource.manual:
                raise ValidationError(f"{name}: only items added by hand can be reworded")
            changes[name] = _text(values[name], limit, name)
    if changes.get("title") == "":
        raise ValidationError("title: say what is to be done")
    if not changes:
        return item

    def shown(name: str, value: Any) -> Any:
        return owners.get(value, "") if name == "owner_id" else value

    before = {k.replace("_id", "") if k == "owner_id" else k: shown(k, getattr(item, k)) for k in changes}
    after = {k.replace("_id", "") if k == "owner_id" else k: shown(k, v) for k, v in changes.items()}
    for name, value in changes.items():
        setattr(item, name, value)
    item.version += 1
    item.updated_at = utcnow()
    session.add(item)
    session.flush()
    audit.record(session=session, actor=actor, action="update", entity="action item", entity_id=action_id,
                 summary=_short(f"Action {action_id}: " + ", ".join(f"{k} {after[k]}" for k in after)),
                 before=before, after=after)
    return item


def get_item(*, session: Session, actor: Actor, action_id: int) -> dict[str, Any]:
    """One item for staff: its fields with partner, lane, owner and incident in words, its evidence files and its
    history (creation first, then every status change)."""
    require(actor, *STAFF_ROLES)
    item = _load(session, actor, action_id)
    data = item.model_dump()
    partner = session.get(Partner, item.partner_id) if item.partner_id else None
    lane = session.get(Lane, item.lane_id) if item.lane_id else None
    owner = session.get(User, item.owner_id) if item.owner_id else None
    incident = session.get(Incident, item.incident_id) if item.incident_id else None
    data.update(partner_code=partner.partner_code if partner else "", partner_name=partner.legal_name if partner
                else "", lane_code=lane.code if lane else "", lane_name=lane.name if lane else "",
                owner=owner.username if owner else "", owner_name=owner.name if owner else "",
                incident=(f"{incident.kind} on {incident.occurred_on} ({incident.status})" if incident else ""))
    files = pd.DataFrame(session.exec(select(*(getattr(ActionEvidence, c) for c in EVIDENCE_COLUMNS))
                                      .where(ActionEvidence.action_id == action_id)
                                      .order_by(ActionEvidence.uploaded_at, ActionEvidence.id)).all(),
                         columns=EVIDENCE_COLUMNS)
    changes = session.exec(select(*(getattr(ActionChange, c) for c in HISTORY_COLUMNS))
                           .where(ActionChange.action_id == action_id).order_by(ActionChange.id)).all()
    history = pd.DataFrame([(item.created_at, item.created_by, "", ActionStatus.open.value,
                             f"{item.source}: {item.basis}"), *changes], columns=HISTORY_COLUMNS)
    return {"item": data, "evidence": files, "history": history}


def read_evidence(*, session: Session, actor: Actor, evidence_id: int) -> tuple[ActionEvidence, bytes]:
    """An evidence file's row and bytes, for staff only (a partner's link never downloads files)."""
    require(actor, *STAFF_ROLES)
    found = session.get(ActionEvidence, evidence_id)
    if found is None:
        raise ValidationError(f"No evidence file with id {evidence_id}")
    return found, store.load_file(sha256=found.sha256, filename=found.filename)


PARTNER_COLUMNS = ["id", "status", "title", "detail", "source", "criterion_id", "question", "answer_value",
                   "due_date", "past_due", "days_left", "priority", "review_comment", "closing_note", "files"]


def partner_items(*, session: Session, actor: Actor, language: str = "en", today: date | None = None) -> pd.DataFrame:
    """The items a partner sees through its link: its own, shared with it, not closed, in plan order, with the
    question of a gap item in `language` and the names of the files it sent (PARTNER_COLUMNS)."""
    partner_id = _partner_of(session, actor)
    if partner_id is None:
        raise PermissionDenied("Only a partner's own link lists the partner's action items.")
    rows = session.exec(select(ActionItem.id, ActionItem.status, ActionItem.title, ActionItem.detail,
                               ActionItem.source, ActionItem.criterion_id, ActionItem.answer_value,
                               ActionItem.due_date, ActionItem.priority, ActionItem.review_comment,
                               ActionItem.closing_note)
                        .where(ActionItem.partner_id == partner_id, col(ActionItem.shared_with_partner),
                               col(ActionItem.status).in_(sorted(states.NOT_CLOSED)))).all()
    frame = pd.DataFrame(rows, columns=["id", "status", "title", "detail", "source", "criterion_id", "answer_value",
                                        "due_date", "priority", "review_comment", "closing_note"])
    if frame.empty:
        return pd.DataFrame(columns=PARTNER_COLUMNS)
    entity_type = session.exec(select(Partner.entity_type).where(Partner.id == partner_id)).one()
    questions = question_texts_for(session=session, language=language, entity_type=entity_type)
    frame["question"] = [questions.get(c, "") if c else "" for c in frame["criterion_id"]]
    frame["criterion_id"] = frame["criterion_id"].fillna("")
    names = pd.DataFrame(session.exec(select(ActionEvidence.action_id, ActionEvidence.filename)
                                      .where(col(ActionEvidence.action_id).in_(frame["id"].tolist()))
                                      .order_by(ActionEvidence.id)).all(), columns=["id", "filename"])
    files = names.groupby("id")["filename"].agg(list).to_dict()
    frame["files"] = [files.get(i, []) for i in frame["id"]]
    frame = rules.plan_order(_with_dates(frame, today or date.today()))
    return frame[PARTNER_COLUMNS]
