"""The action plan generated from its causes: gaps in accepted answers, lane flags, open incidents, and High threats
without a mitigation (services.actions.rules says which, how urgent and by when; docs/ACTIONS.md explains it).

Every cause has a stable key ("gap:<partner id>:<criterion>", "lane:...", "incident:<id>", "threat:..."), and an
item answers one occurrence of it (source_key = cause key + "#" + occurrence, unique in the database):
- a cause without an item gets one; generating again finds it and adds nothing;
- an item whose cause is gone is marked (cause_gone_on), never closed or reopened by generation: closing needs a
  note and evidence (MSC 3.6), and a closed item stays closed;
- a cause that returns after its item was closed gets a new item: it returned when generation had found it gone
  since, or when it was seen after the closure (a questionnaire accepted later still has the gap).
Reads are set-wise (a handful of queries whatever the number of partners) and new items go in with one bulk INSERT.
"""

from dataclasses import dataclass, field
from datetime import date, timedelta

import numpy as np
import pandas as pd
from sqlalchemy import String, type_coerce, update
from sqlmodel import Session, col, func, select

from models import Answer, Assignment, Country, Criterion, Cycle, Incident, Partner, User
from models.actions import ActionItem, ActionSource, ActionStatus
from models.collection import AnswerValue, AssignmentStatus
from models.common import utcnow
from models.incidents import OPEN_INCIDENT_STATUSES
from models.lanes import LaneStatus
from models.threats import CATEGORY_LABELS
from services.actions import rules, states
from services.actions.states import Move
from services.collection.rules import GAP_VALUES
from services.core import audit, bulk
from services.core.permissions import Actor, ValidationError
from services.lanes import flags
from services.lanes.registry import lane_rows, nodes_frame
from services.places.regions import region_name
from services.reference.applicability import question_sets_for_partners
from services.threats import register

CAUSE_COLUMNS = ["cause_key", "source", "title", "detail", "basis", "priority", "due_days", "partner_id",
                 "criterion_id", "lane_id", "incident_id", "iso2", "region_code", "threat_category", "answer_value",
                 "shared_with_partner", "observed_at"]
ITEM_COLUMNS = ["source", "cause_key", "occurrence", "source_key", "title", "detail", "basis", "priority",
                "partner_id", "criterion_id", "lane_id", "incident_id", "iso2", "region_code", "threat_category",
                "answer_value", "owner_id", "due_date", "status", "shared_with_partner", "closing_note",
                "review_comment", "observed_at", "done_by", "closed_by", "version", "created_by", "created_at",
                "updated_at"]
_ID_COLUMNS = ("partner_id", "lane_id", "incident_id")
_CHUNK = 5_000


def _frame(records: list[dict] | pd.DataFrame) -> pd.DataFrame:
    """Causes with every column, ids as nullable integers."""
    frame = pd.DataFrame(records).reindex(columns=CAUSE_COLUMNS)
    for column in _ID_COLUMNS:
        frame[column] = pd.array(frame[column], dtype="Int64")
    for column in ("iso2", "region_code", "threat_category", "answer_value", "detail"):
        frame[column] = frame[column].astype(object).fillna("").astype(str)
    frame["criterion_id"] = frame["criterion_id"].astype(object).where(frame["criterion_id"].notna(), None)
    frame["shared_with_partner"] = frame["shared_with_partner"].fillna(False).astype(bool)
    # One dtype in every part, so joining them keeps it (a column of objects costs a conversion per row twice).
    frame["observed_at"] = pd.to_datetime(frame["observed_at"], utc=True)
    return frame


def _short(text: str, limit: int) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[:limit - 1] + "…"


def gap_causes(*, session: Session) -> pd.DataFrame:
    """Gaps of active partners' latest accepted questionnaires, in the criteria the partner is asked today.

    The requirement is the partner's entity type's (services.reference.applicability); which answers are gaps is
    services.collection.rules.GAP_VALUES, and which gaps are generated rules.GAP_RULES. A few queries, vectorised.
    """
    connection = session.connection()
    latest = (select(Assignment.partner_id, func.max(Assignment.cycle_id).label("cycle_id"))
              .where(Assignment.status == AssignmentStatus.accepted).group_by(Assignment.partner_id).subquery())
    assignments = bulk.read_plain(connection, select(
        Assignment.id, Assignment.partner_id, type_coerce(Assignment.reviewed_at, String), Cycle.name)
        .join(latest, (latest.c.partner_id == Assignment.partner_id) & (latest.c.cycle_id == Assignment.cycle_id))
        .join(Cycle, col(Cycle.id) == Assignment.cycle_id)
        .join(Partner, col(Partner.id) == Assignment.partner_id)
        .where(Assignment.status == AssignmentStatus.accepted, Partner.status == "active"),
        ["assignment_id", "partner_id", "observed_at", "cycle"])
    if assignments.empty:
        return _frame([])
    assignments["observed_at"] = bulk.utc_times(assignments["observed_at"])
    gaps = bulk.read_plain(connection, select(
        Answer.assignment_id, Answer.criterion_id, type_coerce(Answer.value, String), Answer.comment)
        .join(Assignment, col(Assignment.id) == Answer.assignment_id)
        .join(latest, (latest.c.partner_id == Assignment.partner_id) & (latest.c.cycle_id == Assignment.cycle_id))
        .where(Assignment.status == AssignmentStatus.accepted, Answer.is_current,
               col(Answer.value).in_(sorted(GAP_VALUES))),
        ["assignment_id", "criterion_id", "value", "comment"]).merge(assignments, on="assignment_id")
    if gaps.empty:
        return _frame([])
    members, sets = question_sets_for_partners(session=session, partner_ids=assignments["partner_id"].tolist())
    chosen = pd.DataFrame([(str(r), str(v), rule.priority, rule.due_days, rule.basis, rule.shared)
                           for (r, v), rule in rules.GAP_RULES.items()],
                          columns=["requirement", "value", "priority", "due_days", "basis", "shared_with_partner"])
    sets = sets[["set_id", "criterion_id", "requirement"]].astype({"requirement": str})
    gaps = (gaps.merge(members, on="partner_id").merge(sets, on=["set_id", "criterion_id"])
            .merge(chosen, on=["requirement", "value"]))
    if gaps.empty:
        return _frame([])
    summaries = dict(session.exec(select(Criterion.criterion_id, Criterion.summary)).all())
    verbs = {AnswerValue.no: "Meet", AnswerValue.partial: "Fully meet"}
    pairs = list(zip(gaps["value"].tolist(), gaps["criterion_id"].tolist(), strict=True))
    titles = {(v, c): _short(f"{verbs[AnswerValue(v)]} {c}: {summaries.get(c, '')}", 300) for v, c in set(pairs)}
    comment = gaps["comment"].fillna("").astype(str)
    detail = ("Answered " + gaps["value"] + " (" + gaps["requirement"] + ") in " + gaps["cycle"].astype(str) + "."
              + (" Partner's comment: " + comment).where(comment != "", ""))
    return _frame({
        "cause_key": "gap:" + gaps["partner_id"].astype(str) + ":" + gaps["criterion_id"],
        "source": ActionSource.gap,
        "title": [titles[key] for key in pairs],
        "detail": detail.str.slice(0, 4000),
        "basis": gaps["basis"],
        "priority": gaps["priority"],
        "due_days": gaps["due_days"],
        "partner_id": gaps["partner_id"],
        "criterion_id": gaps["criterion_id"],
        "answer_value": gaps["value"],
        "shared_with_partner": gaps["shared_with_partner"],
        "observed_at": gaps["observed_at"],
    })


def _active_lanes(session: Session) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Active lanes (lane_rows) and their nodes (nodes_frame), read once for the lane and threat causes."""
    lanes = lane_rows(session=session, status=LaneStatus.active)
    if lanes.empty:
        return lanes, nodes_frame(session=session, lane_ids=[])
    return lanes, nodes_frame(session=session, lane_ids=lanes["id"].astype(int).tolist())


def lane_flag_causes(*, session: Session, today: date,
                     active: tuple[pd.DataFrame, pd.DataFrame] | None = None) -> pd.DataFrame:
    """Flags of active lanes that call for an action (rules.LANE_FLAG_RULES), one cause per lane, node and flag.

    A node is named by its partner, else its site, else its place, so inserting a stop before it keeps its key.
    `active`: the active lanes and their nodes (_active_lanes) when the caller has read them.
    """
    lanes, nodes = active or _active_lanes(session)
    if lanes.empty:
        return _frame([])
    ids = lanes["id"].astype(int).tolist()
    found = flags.all_flags(session=session, today=today, lane_ids=ids, nodes=nodes)
    found = found[found["flag"].isin(list(rules.LANE_FLAG_RULES))]
    if found.empty:
        return _frame([])
    found = found.merge(nodes[["lane_id", "seq", "partner_id", "site_id", "place_id"]], on=["lane_id", "seq"],
                        how="left")
    who = [f"p{p}" if pd.notna(p) else f"s{s}" if pd.notna(s) else f"l{pl}" if pd.notna(pl) else f"n{q}"
           for p, s, pl, q in zip(found["partner_id"], found["site_id"], found["place_id"], found["seq"],
                                  strict=True)]
    chosen = [rules.LANE_FLAG_RULES[f] for f in found["flag"]]
    return _frame({
        "cause_key": [f"lane:{lane}:{role}:{w}:{rules.LANE_FLAG_CODES[f]}"
                      for lane, role, w, f in zip(found["lane_id"], found["role"], who, found["flag"], strict=True)],
        "source": ActionSource.lane_flag,
        "title": [_short(f"{f[0].upper()}{f[1:]} on lane {code}: {where}", 300)
                  for f, code, where in zip(found["flag"], found["lane_code"], found["location"], strict=True)],
        "detail": found["detail"].astype(str),
        "basis": [rule.basis for rule in chosen],
        "priority": [rule.priority for rule in chosen],
        "due_days": [rule.due_days for rule in chosen],
        "partner_id": found["partner_id"],
        "lane_id": found["lane_id"],
        "shared_with_partner": [rule.shared for rule in chosen],
    }).drop_duplicates("cause_key")


def incident_causes(*, session: Session, incident_ids: list[int] | None = None) -> pd.DataFrame:
    """Open incidents (models.incidents.OPEN_INCIDENT_STATUSES): one cause each."""
    stmt = select(Incident.id, Incident.kind, Incident.occurred_on, Incident.description, Incident.partner_id,
                  Incident.lane_id, Incident.created_at).where(col(Incident.status).in_(sorted(OPEN_INCIDENT_STATUSES)))
    if incident_ids is not None:
        stmt = stmt.where(col(Incident.id).in_(incident_ids))
    rows = session.exec(stmt).all()
    rule = rules.INCIDENT_RULE
    return _frame([{
        "cause_key": f"incident:{r.id}", "source": ActionSource.incident,
        "title": _short(f"{rules.INCIDENT_TITLES[r.kind]} on {r.occurred_on}: investigate and fix the cause", 300),
        "detail": _short(r.description, 4000), "basis": rule.basis, "priority": rule.priority,
        "due_days": rule.due_days, "partner_id": r.partner_id, "lane_id": r.lane_id, "incident_id": r.id,
        "shared_with_partner": rule.shared, "observed_at": r.created_at} for r in rows])


def _mitigated(session: Session) -> tuple[set[tuple], set[tuple]]:
    """Threats addressed by items added by hand: (category, iso2, region) and (category, partner id)."""
    rows = session.exec(select(ActionItem.threat_category, ActionItem.iso2, ActionItem.region_code,
                               ActionItem.partner_id)
                        .where(ActionItem.source == ActionSource.manual, ActionItem.threat_category != "")).all()
    return {(c, i, r) for c, i, r, _ in rows}, {(c, p) for c, _, _, p in rows if p is not None}


def threat_causes(*, session: Session, today: date,
                  active: tuple[pd.DataFrame, pd.DataFrame] | None = None) -> pd.DataFrame:
    """High threats where active partners are or active lanes pass, and partners' restricted-party matches, that no
    item added by hand mitigates (rules.MITIGATION; generated ones are found by their key). `active`: as in
    lane_flag_causes."""
    table = register.threat_table(session=session, today=today)
    partners = register.partner_threats(session=session, today=today)
    working = set(session.exec(select(Partner.id).where(Partner.status == "active")).all())
    partners = partners[partners["partner_id"].isin(working)]
    _, nodes = active or _active_lanes(session)
    exposed = pd.concat([partners[["partner_id", "iso2", "region_code"]].assign(lane_id=pd.NA),
                         nodes[["lane_id", "iso2", "region_code"]].assign(partner_id=pd.NA)], ignore_index=True)
    exposed = exposed[exposed["iso2"].fillna("") != ""]
    exposed["region_code"] = exposed["region_code"].fillna("")
    # A region without rows of its own takes its country's threat (services.threats.register.locate).
    rated = pd.MultiIndex.from_frame(table[["iso2", "region_code"]].drop_duplicates())
    own = pd.MultiIndex.from_arrays([exposed["iso2"], exposed["region_code"]]).isin(rated)
    exposed["region_code"] = exposed["region_code"].where(own, "")
    high = table[table["level"] == rules.THREAT_LEVEL][["iso2", "region_code", "category", "status", "source"]]
    hits = exposed.merge(high, on=["iso2", "region_code"])
    by_place, by_partner = _mitigated(session)
    records = []
    if not hits.empty:
        grouped = hits.groupby(["iso2", "region_code", "category"], sort=True).agg(
            partners=("partner_id", "nunique"), lanes=("lane_id", "nunique"), status=("status", "first"),
            source=("source", "first")).reset_index()
        names = dict(session.exec(select(Country.iso2, Country.name)).all())
        for g in grouped.itertuples():
            if (g.category, g.iso2, g.region_code) in by_place:
                continue
            place = names.get(g.iso2, g.iso2) + (f" / {region_name(g.region_code)}" if g.region_code else "")
            label = CATEGORY_LABELS.get(g.category, g.category)
            records.append({
                "cause_key": f"threat:{g.iso2}:{g.region_code}:{g.category}", "source": ActionSource.threat,
                "title": _short(f"High threat in {place}: {label}; plan a mitigation", 300),
                "detail": _short(f"{g.partners} active partner(s) and {g.lanes} active lane(s) are there. Register: "
                                 f"High ({g.status}; {g.source or 'no source named'}).", 4000),
                "basis": rules.THREAT_RULE.basis, "priority": rules.THREAT_RULE.priority,
                "due_days": rules.THREAT_RULE.due_days, "iso2": g.iso2, "region_code": g.region_code,
                "threat_category": g.category, "shared_with_partner": rules.THREAT_RULE.shared})
    restricted = partners[partners["restricted_party"] != ""]
    rule = rules.THREAT_PARTNER
    for p in restricted.itertuples():
        if (rules.FORCED_LABOR, p.partner_id) in by_partner:
            continue
        records.append({
            "cause_key": f"threat:partner:{p.partner_id}:{rules.FORCED_LABOR}", "source": ActionSource.threat,
            "title": _short(f"Confirmed restricted-party match of {p.partner_code}: decide on the business "
                            "relationship", 300),
            "detail": _short(f"Confirmed match on {p.restricted_party}: forced labor High (MSC 3.9; UFLPA, "
                             "withhold release orders).", 4000),
            "basis": rule.basis, "priority": rule.priority, "due_days": rule.due_days,
            "partner_id": p.partner_id, "iso2": p.iso2, "threat_category": rules.FORCED_LABOR,
            "shared_with_partner": rule.shared})
    return _frame(records)


def all_causes(*, session: Session, today: date) -> pd.DataFrame:
    """Every cause of the plan today, one row per cause key (the most urgent where two sources meet)."""
    active = _active_lanes(session)
    parts = [gap_causes(session=session), lane_flag_causes(session=session, today=today, active=active),
             incident_causes(session=session), threat_causes(session=session, today=today, active=active)]
    causes = pd.concat([p for p in parts if not p.empty], ignore_index=True) if any(not p.empty for p in parts) \
        else _frame([])
    return causes.sort_values(["priority", "cause_key"], kind="stable").drop_duplicates("cause_key") \
        .reset_index(drop=True)


@dataclass
class Plan:
    """What generating would change: new items, and the items whose cause is back or gone."""

    new: pd.DataFrame  # causes with their occurrence, to be created
    returned: int = 0  # of the new, causes back after their item was closed
    tracked: int = 0  # causes that already have their item
    back_ids: list[int] = field(default_factory=list)  # items whose cause was marked gone and is present again
    gone_ids: list[int] = field(default_factory=list)  # items whose cause is gone now


def plan_changes(*, session: Session, causes: pd.DataFrame, mark_gone: bool = True) -> Plan:
    """Compare the causes with the stored items (the latest occurrence of each cause key)."""
    items = bulk.read_plain(session.connection(), select(
        ActionItem.id, ActionItem.cause_key, ActionItem.occurrence, type_coerce(ActionItem.status, String),
        type_coerce(ActionItem.closed_at, String), type_coerce(ActionItem.cause_gone_on, String))
        .where(ActionItem.source != ActionSource.manual),
        ["item_id", "cause_key", "occurrence", "status", "closed_at", "gone_on"])  # gone_on: only whether it is set
    latest = items.sort_values("occurrence").drop_duplicates("cause_key", keep="last")
    merged = causes.merge(latest, on="cause_key", how="left")
    known = merged["item_id"].notna()
    closed = merged["status"] == ActionStatus.closed.value
    observed = pd.to_datetime(merged["observed_at"], utc=True)
    closed_at = bulk.utc_times(merged["closed_at"])
    returned = known & closed & (merged["gone_on"].notna() | (observed > closed_at).fillna(False))
    new = merged[~known | returned].copy()
    new["occurrence"] = pd.to_numeric(new["occurrence"]).fillna(0).astype(int) + 1
    back = merged[known & ~closed & merged["gone_on"].notna()]["item_id"].astype(int).tolist()
    gone: list[int] = []
    if mark_gone:
        present = set(causes["cause_key"].tolist())  # a set: pandas' isin on text probes value by value
        absent = np.array([key not in present for key in latest["cause_key"].tolist()], dtype=bool)
        missing = latest[absent & latest["gone_on"].isna().to_numpy()]
        gone = missing["item_id"].astype(int).tolist()
    return Plan(new=new[[*CAUSE_COLUMNS, "occurrence"]].reset_index(drop=True), returned=int(returned.sum()),
                tracked=int((known & ~returned).sum()), back_ids=back, gone_ids=gone)


def partner_owners(*, session: Session) -> dict[int, int]:
    """partner id -> its internal owner (an active staff user), for partners that have one."""
    return dict(session.exec(select(Partner.id, Partner.owner_id).join(User, col(User.id) == Partner.owner_id)
                             .where(col(User.is_active))).all())


def user_id(*, session: Session, username: str | None) -> int | None:
    """The id of an active staff user, None for no name; ValidationError for an unknown or inactive one."""
    if not username or not str(username).strip():
        return None
    found = session.exec(select(User.id).where(User.username == str(username).strip().lower(),
                                               col(User.is_active))).first()
    if found is None:
        raise ValidationError(f"owner: no active staff user '{username}'")
    return found


def _rows(new: pd.DataFrame, *, actor: Actor, today: date, owners: dict[int, int],
          default_owner: int | None) -> pd.DataFrame:
    """The new items as rows of the table (ITEM_COLUMNS)."""
    now = utcnow()
    due = {d: today + timedelta(days=int(d)) for d in new["due_days"].unique().tolist()}
    owner = new["partner_id"].map(owners).astype("Int64")
    if default_owner is not None:
        owner = owner.fillna(default_owner)
    frame = new.assign(
        source_key=new["cause_key"] + "#" + new["occurrence"].astype(str), owner_id=owner,
        due_date=new["due_days"].map(due), status=ActionStatus.open, closing_note="", review_comment="", done_by="",
        closed_by="", version=1, created_by=actor.username, created_at=now, updated_at=now,
        observed_at=pd.to_datetime(new["observed_at"], utc=True))
    return frame[ITEM_COLUMNS]


def _insert(session: Session, rows: pd.DataFrame) -> None:
    """Bulk INSERTs that skip a source key another run stored meanwhile (two runs at once never duplicate)."""
    bulk.insert_frame(session.connection(), ActionItem.__table__, rows, skip_conflicts_on="source_key")


def _mark(session: Session, ids: list[int], gone_on: date | None) -> None:
    for start in range(0, len(ids), _CHUNK):
        session.exec(update(ActionItem).where(col(ActionItem.id).in_(ids[start:start + _CHUNK]))
                     .values(cause_gone_on=gone_on))


def apply_plan(*, session: Session, actor: Actor, plan: Plan, today: date, default_owner: int | None) -> None:
    """Write a plan: the new items in bulk, and the marks of causes gone or back. Staff or the system only."""
    states.require(actor, Move.create)
    session.flush()
    if not plan.new.empty:
        _insert(session, _rows(plan.new, actor=actor, today=today, owners=partner_owners(session=session),
                               default_owner=default_owner))
    _mark(session, plan.back_ids, None)
    _mark(session, plan.gone_ids, today)


@dataclass(frozen=True)
class Report:
    """What a generation did (or would do, on a dry run)."""

    created: dict[str, int]  # new items by source
    returned: int  # of them, causes back after their item was closed
    tracked: int  # causes that already had their item
    gone: int  # items whose cause was found gone now
    back: int  # items whose cause is present again
    dry_run: bool
    new: pd.DataFrame  # the new items (CAUSE_COLUMNS and occurrence)

    @property
    def total(self) -> int:
        return sum(self.created.values())

    def summary(self) -> str:
        made = ", ".join(f"{n:,} {s}" for s, n in self.created.items() if n) or "none"
        verb = "would create" if self.dry_run else "created"
        return (f"{self.total:,} new action item(s) {verb} ({made}); {self.returned:,} of them for causes back after "
                f"closing; {self.tracked:,} causes already tracked; {self.gone:,} items whose cause is gone; "
                f"{self.back:,} whose cause is back.")


def generate(*, session: Session, actor: Actor, today: date | None = None, dry_run: bool = False,
             default_owner: str | None = None) -> Report:
    """Generate the action plan from every cause; idempotent (see the module docstring). Staff or the system only.

    New items get the partner's internal owner, else `default_owner` (a staff username), else none (unassigned).
    On a dry run nothing is written; the report says what would be.
    """
    states.require(actor, Move.create)
    today = today or date.today()
    owner = user_id(session=session, username=default_owner)
    causes = all_causes(session=session, today=today)
    plan = plan_changes(session=session, causes=causes)
    created = {s.value: int((plan.new["source"] == s).sum()) for s in ActionSource if s != ActionSource.manual}
    report = Report(created=created, returned=plan.returned, tracked=plan.tracked, gone=len(plan.gone_ids),
                    back=len(plan.back_ids), dry_run=dry_run, new=plan.new)
    if dry_run:
        return report
    apply_plan(session=session, actor=actor, plan=plan, today=today, default_owner=owner)
    if report.total or report.gone or report.back:
        audit.record(session=session, actor=actor, action="generate", entity="action plan", entity_id="",
                     summary=report.summary(),
                     after={"created": created, "returned_causes": plan.returned, "gone": len(plan.gone_ids),
                            "back": len(plan.back_ids), "keys": plan.new["cause_key"].head(200).tolist()})
    return report
