"""Everything the scoring reads, gathered in one place: ``load(session=, today=)`` returns frames and arrays, and the
scoring (services.risk.scoring) is a pure function of them and a configuration.

What is loaded (one query per kind, whatever the number of partners):
- the active partners, with the threat of their place (services.threats.register.partner_threats: primary site's
  region, then country; per category), whether a certificate covers them today (services.certificates.rule), whether
  their latest questionnaire is overdue, and when they were last assessed;
- per partner and criterion it is asked (services.reference.applicability, with the requirement as it is asked),
  the latest answer from an accepted questionnaire, with its date and whether an n/a carries a justification; the
  age filter is the configuration's, so it is applied by the scoring, not here;
- per partner and asked criterion, the latest site-visit finding (it overrides the answer while within the age);
- the active lanes and their nodes, each with the threat of its place, per category;
- the open incidents (``open_incidents``), the threat register's rows for the places above (for explanations).
"""

from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlmodel import Session, col, func, select

from models import Answer, Assignment, Criterion, Cycle, Partner, PartnerSite, SiteVisit, SiteVisitFinding
from models.collection import AnswerValue, AssignmentStatus
from models.common import Requirement
from models.lanes import LaneStatus
from models.threats import ThreatCategory, ThreatLevel
from services.actions import incidents as incident_register
from services.certificates import rule as certificate_rule
from services.collection import states
from services.core import bulk
from services.lanes import registry as lanes_registry
from services.reference.applicability import question_sets_for_partners
from services.threats import register

VALUES: tuple[AnswerValue, ...] = (AnswerValue.yes, AnswerValue.partial, AnswerValue.no, AnswerValue.na)
VALUE_CODE = {v.value: i for i, v in enumerate(VALUES)}
# Threat levels as codes: the rated bands 0-2, Unknown 3, a category no source feeds -1 (left out).
THREAT_CODE = {ThreatLevel.low.value: 0, ThreatLevel.medium.value: 1, ThreatLevel.high.value: 2,
               ThreatLevel.unknown.value: 3, register.NOT_ASSESSED: -1}
INCIDENT_COLUMNS = ["incident_id", "partner_id", "lane_id", "kind", "occurred_on", "title"]
_EPOCH = np.datetime64("1970-01-01", "D")
MISSING_DAY = np.iinfo(np.int32).min  # older than any age limit
THREAT_CATEGORIES: tuple[str, ...] = tuple(c.value for c in ThreatCategory)
CHUNK_ROWS = 100_000  # answer rows read at a time


@dataclass(frozen=True)
class Inputs:
    """The scoring's inputs; treat as read-only (pages share one copy).

    partners: one row per active partner in partner id order (the row number is the partner's index in the arrays).
    answers / findings: one row per partner and asked criterion (pidx, criterion, cidx, category, is_must, value code,
    justified, day = days since 1970-01-01, plus source details), sorted by pidx; the answers without partner_id
    (pidx is the partner), their criterion_id a category.
    members / sets: each partner's question set and the sets' criteria (services.reference.applicability).
    asked_must / asked_should: (partners x 13) counts of criteria asked per MSC category (column = category number).
    partner_threat: (partners x categories) threat codes; nodes / node_threat the same for lane nodes.
    """

    today: date
    partners: pd.DataFrame
    answers: pd.DataFrame
    findings: pd.DataFrame
    asked_must: np.ndarray
    asked_should: np.ndarray
    members: pd.DataFrame
    sets: pd.DataFrame
    criteria: pd.DataFrame
    categories: tuple[str, ...]
    partner_threat: np.ndarray
    lanes: pd.DataFrame
    nodes: pd.DataFrame
    node_threat: np.ndarray
    incidents: pd.DataFrame
    threat_table: pd.DataFrame
    threat_unknown_as: str

    @property
    def today_days(self) -> int:
        return int((np.datetime64(self.today, "D") - _EPOCH).astype(int))


def _days(values) -> np.ndarray:
    """Dates or timestamps as whole days since 1970-01-01 (int32); MISSING_DAY where there is none."""
    stamps = pd.to_datetime(pd.Series(values, dtype=object), errors="coerce", utc=True, format="ISO8601")
    days = stamps.dt.tz_localize(None).to_numpy().astype("datetime64[D]")  # numpy's cast, not pandas' per element
    return np.where(np.isnat(days), MISSING_DAY, (days - _EPOCH).astype(np.int64)).astype(np.int32)


def _partners(session: Session) -> pd.DataFrame:
    rows = session.exec(select(Partner.id, Partner.partner_code, Partner.legal_name, Partner.entity_type,
                               Partner.country_iso2, Partner.criticality, Partner.import_share)
                        .where(Partner.status == "active").order_by(Partner.id)).all()
    return pd.DataFrame([tuple(r) for r in rows], columns=["partner_id", "partner_code", "legal_name", "entity_type",
                                                           "country_iso2", "criticality", "import_share"])


def _assignments(session: Session, partner_ids: set[int], today: date) -> pd.DataFrame:
    """Per partner: overdue (its latest questionnaire is past due and not finished), the last accepted questionnaire's
    review day and cycle."""
    rows = session.exec(select(Assignment.partner_id, Assignment.id, Assignment.status, Assignment.reviewed_at,
                               Assignment.due_date, Cycle.due_date, Cycle.name, Cycle.id)
                        .join(Cycle, col(Cycle.id) == Assignment.cycle_id)).all()
    frame = pd.DataFrame([tuple(r) for r in rows], columns=["partner_id", "assignment_id", "status", "reviewed_at",
                                                            "own_due", "cycle_due", "cycle", "cycle_id"])
    frame = frame[frame["partner_id"].isin(partner_ids)]
    due = frame["own_due"].where(frame["own_due"].notna(), frame["cycle_due"])
    frame = frame.assign(due=pd.to_datetime(due))
    latest = frame.sort_values(["partner_id", "cycle_id"]).drop_duplicates("partner_id", keep="last")
    overdue = (latest["due"] < pd.Timestamp(today)) & ~latest["status"].isin(list(states.FINISHED))
    accepted = frame[frame["status"] == AssignmentStatus.accepted].sort_values(["partner_id", "reviewed_at"])
    last = accepted.drop_duplicates("partner_id", keep="last").set_index("partner_id")
    out = pd.DataFrame({"partner_id": latest["partner_id"].to_numpy(), "questionnaire_overdue": overdue.to_numpy(),
                        "overdue_cycle": latest["cycle"].where(overdue.to_numpy(), "").to_numpy()})
    out["last_accepted"] = out["partner_id"].map(pd.to_datetime(last["reviewed_at"], utc=True).dt.date)
    out["last_cycle"] = out["partner_id"].map(last["cycle"]).astype(object).fillna("")  # all missing: float NaN
    return out


def _asked(session: Session, partners: pd.DataFrame, criteria: pd.DataFrame):
    """What each partner is asked: (set of each partner, the sets' rows, counts per category of musts and shoulds)."""
    members, sets = question_sets_for_partners(session=session, partner_ids=partners["partner_id"].tolist())
    n = len(partners)
    must = np.zeros((n, 13), dtype=np.int32)
    should = np.zeros((n, 13), dtype=np.int32)
    position = pd.Series(np.arange(n), index=partners["partner_id"].to_numpy())
    members = members.assign(pidx=members["partner_id"].map(position).to_numpy(dtype=np.int64))
    sets = sets.assign(is_must=(sets["requirement"] == Requirement.must).to_numpy(dtype=bool))
    if members.empty or sets.empty:
        return members, sets, must, should
    counts = sets.groupby(["set_id", "category_number", "is_must"]).size().rename("n").reset_index()
    table = members.merge(counts, on="set_id")
    for is_must, target in ((True, must), (False, should)):
        part = table[table["is_must"] == is_must]
        np.add.at(target, (part["pidx"].to_numpy(), part["category_number"].to_numpy()), part["n"].to_numpy())
    return members, sets, must, should


def _on_asked(frame: pd.DataFrame, members: pd.DataFrame, sets: pd.DataFrame, criteria: pd.DataFrame) -> pd.DataFrame:
    """Keep the rows (partner_id, criterion_id, ...) of criteria the partner is asked, with the requirement as asked,
    the category, the partner's index and the criterion's index; sorted by partner index then criterion."""
    if frame.empty:
        return frame.assign(pidx=pd.Series(dtype=np.int32), cidx=pd.Series(dtype=np.int16),
                            category=pd.Series(dtype=np.int8), is_must=pd.Series(dtype=bool))
    keyed = frame.merge(members[["partner_id", "set_id", "pidx"]], on="partner_id")
    keyed = keyed.merge(sets[["set_id", "criterion_id", "category_number", "is_must"]], on=["set_id", "criterion_id"])
    cidx = pd.Series(np.arange(len(criteria)), index=criteria["criterion_id"].to_numpy())
    keyed = keyed.assign(cidx=keyed["criterion_id"].map(cidx).to_numpy().astype(np.int16),
                         category=keyed["category_number"].to_numpy().astype(np.int8),
                         pidx=keyed["pidx"].to_numpy().astype(np.int32))
    keyed = keyed.drop(columns=["set_id", "category_number"])
    order = np.lexsort((keyed["cidx"].to_numpy(), keyed["pidx"].to_numpy()))
    return keyed.iloc[order].reset_index(drop=True)


def _narrow(answers: pd.DataFrame, criteria: pd.DataFrame) -> pd.DataFrame:
    """The answers as the server keeps them for the day (a million rows at 10,000 partners): the partner by its
    index only, the criterion as a category of the criteria, the questionnaire's id in 32 bits (29 MB -> 12 MB)."""
    return answers.drop(columns=["partner_id"]).assign(
        criterion_id=pd.Categorical(answers["criterion_id"], categories=criteria["criterion_id"]),
        assignment_id=answers["assignment_id"].to_numpy(dtype=np.int32))


def _latest_per_key(frame: pd.DataFrame, *, by: list[str]) -> pd.DataFrame:
    """The last row per (partner, criterion) after sorting by `by` (the newest, ties by the later id)."""
    frame = frame.sort_values(["partner_id", "criterion_id", *by], kind="stable")
    return frame.drop_duplicates(["partner_id", "criterion_id"], keep="last")


def _answers(session: Session, partner_ids: set[int]) -> pd.DataFrame:
    """The latest answer per partner and criterion from accepted questionnaires, with its day and justification."""
    justified = func.length(func.trim(Answer.comment)) > 0
    # Columns without a result conversion (the answer as its code, no time zone per row); _days reads the stored
    # dates as they come, and the time recorded is read only for an answer without its own date.
    value = sa.case(*((Answer.value == v, code) for code, v in enumerate(VALUES)), else_=-1)  # VALUE_CODE's codes
    answered_on = sa.type_coerce(Answer.answered_on, sa.String)
    recorded_at = sa.type_coerce(sa.case((col(Answer.answered_on).is_(None), Answer.recorded_at)), sa.String)
    stmt = (select(Assignment.partner_id, Answer.criterion_id, value, justified, answered_on, recorded_at,
                    Answer.assignment_id)
            .join(Assignment, col(Assignment.id) == Answer.assignment_id)
            .where(Answer.is_current, Assignment.status == AssignmentStatus.accepted))
    wanted = np.fromiter(partner_ids, dtype=np.int64, count=len(partner_ids))
    # In chunks: a million rows of Python objects at once cost some 300 MB of the server's memory for a moment.
    parts = [_answer_chunk(rows, wanted) for rows in bulk.plain_chunks(session.connection(), stmt, CHUNK_ROWS)]
    frame = pd.concat(parts, ignore_index=True) if parts else _answer_chunk([], wanted)
    return _latest_per_key(frame, by=["day", "assignment_id"])


def _answer_chunk(rows: list[tuple], wanted: np.ndarray) -> pd.DataFrame:
    """One chunk of answer rows as narrow columns: the active partners' rows with a known answer value."""
    frame = pd.DataFrame(rows, columns=["partner_id", "criterion_id", "value", "justified", "answered_on",
                                        "recorded_at", "assignment_id"])
    frame = frame[frame["partner_id"].isin(wanted) & (frame["value"] >= 0)]
    day = _days(frame["answered_on"])
    missing = day == MISSING_DAY
    if missing.any():  # an answer without its own date dates from when it was recorded
        day[missing] = _days(frame["recorded_at"].to_numpy()[missing])
    return frame.assign(value=frame["value"].astype(np.int8), justified=frame["justified"].fillna(False).astype(bool),
                        day=day).drop(columns=["answered_on", "recorded_at"])


def _findings(session: Session, partner_ids: set[int]) -> pd.DataFrame:
    """The latest site-visit finding per partner and criterion."""
    rows = session.exec(select(SiteVisit.partner_id, SiteVisitFinding.criterion_id, SiteVisitFinding.finding,
                               SiteVisitFinding.note, SiteVisit.visited_on, SiteVisit.visited_by, SiteVisit.id)
                        .join(SiteVisit, col(SiteVisit.id) == SiteVisitFinding.visit_id)).all()
    frame = pd.DataFrame([tuple(r) for r in rows], columns=["partner_id", "criterion_id", "value", "note",
                                                            "visited_on", "visited_by", "visit_id"])
    frame = frame[frame["partner_id"].isin(partner_ids)]
    frame = frame.assign(day=_days(frame["visited_on"]),
                         value=frame["value"].astype(str).map(VALUE_CODE).fillna(-1).astype(np.int8),
                         justified=True)  # a visitor's "not applicable" is the team's own reviewed judgement
    return _latest_per_key(frame, by=["day", "visit_id"])


def _threat_codes(frame: pd.DataFrame) -> np.ndarray:
    """(rows x categories) threat codes from a frame with one column per threat category."""
    columns = []
    for category in THREAT_CATEGORIES:
        values = frame[category] if category in frame else pd.Series(register.NOT_ASSESSED, index=frame.index)
        columns.append(values.astype(object).fillna(ThreatLevel.unknown.value).map(THREAT_CODE).fillna(3)
                       .to_numpy(dtype=np.int8))
    return np.column_stack(columns) if columns else np.zeros((len(frame), 0), dtype=np.int8)


def open_incidents(session: Session) -> pd.DataFrame:
    """Open incidents (INCIDENT_COLUMNS), as the incident register defines open (services.actions.incidents); an
    incident recorded against a site counts for the site's partner."""
    frame = incident_register.open_incidents(session=session)
    by_site = frame["partner_id"].isna() & frame["site_id"].notna()
    if by_site.any():
        owners = dict(session.exec(select(PartnerSite.id, PartnerSite.partner_id).where(
            col(PartnerSite.id).in_(frame.loc[by_site, "site_id"].astype(int).tolist()))).all())
        frame.loc[by_site, "partner_id"] = frame.loc[by_site, "site_id"].map(owners)
    frame = frame.assign(partner_id=frame["partner_id"].astype("Int64"), lane_id=frame["lane_id"].astype("Int64"),
                         kind=frame["kind"].fillna("").astype(str), title="")
    return frame[INCIDENT_COLUMNS].reset_index(drop=True)


def _lanes(session: Session, partner_index: pd.Series, table: pd.DataFrame, unknown_as: str):
    lanes = lanes_registry.lane_rows(session=session, status=LaneStatus.active)
    lanes = lanes[["id", "code", "name", "mode", "volume_share"]].rename(columns={"id": "lane_id"})
    lanes = lanes.sort_values("lane_id").reset_index(drop=True)
    nodes = lanes_registry.nodes_frame(session=session, lane_ids=lanes["lane_id"].tolist()) if len(lanes) else \
        pd.DataFrame(columns=lanes_registry.NODE_COLUMNS)
    position = pd.Series(np.arange(len(lanes)), index=lanes["lane_id"].to_numpy())
    nodes = nodes.assign(
        lidx=nodes["lane_id"].map(position).to_numpy(dtype=np.int32),
        pidx=nodes["partner_id"].map(partner_index).fillna(-1).to_numpy(dtype=np.int32),
        rests=nodes["rests"].fillna(False).astype(bool), custody_change=nodes["custody_change"].fillna(False)
        .astype(bool), dwell_hours=pd.to_numeric(nodes["dwell_hours"], errors="coerce"))
    nodes = nodes.sort_values(["lidx", "seq"]).reset_index(drop=True)
    threats = register.locate(table, nodes[["iso2", "region_code"]].fillna(""), unknown_as=unknown_as) \
        if len(nodes) else pd.DataFrame(index=nodes.index)
    keep = ["lidx", "lane_id", "seq", "role", "partner_id", "pidx", "partner_code", "partner_status", "custody",
            "location", "iso2", "region_code", "rests", "dwell_hours", "custody_change", "seal_applied",
            "seal_verified"]
    return lanes, nodes[keep], _threat_codes(threats.reindex(nodes.index))


def load(*, session: Session, today: date) -> Inputs:
    """Everything the scoring reads, as of `today` (see the module docstring)."""
    partners = _partners(session)
    ids = set(partners["partner_id"].tolist())
    index = pd.Series(np.arange(len(partners)), index=partners["partner_id"].to_numpy())
    criteria = pd.DataFrame(session.exec(select(Criterion.criterion_id, Criterion.category_number,
                                                Criterion.category, Criterion.requirement, Criterion.summary)
                                         .order_by(Criterion.sort_key)).all(),
                            columns=["criterion_id", "category_number", "category", "requirement", "summary"])
    names = dict(zip(criteria["category_number"], criteria["category"], strict=False))
    categories = tuple(names.get(n, f"Category {n}") for n in range(13))

    members, sets, asked_must, asked_should = _asked(session, partners, criteria)
    answers = _narrow(_on_asked(_answers(session, ids), members, sets, criteria), criteria)
    findings = _on_asked(_findings(session, ids), members, sets, criteria)

    settings = register.get_settings(session=session)
    threats = register.partner_threats(session=session, today=today, unknown_as=settings.unknown_as)
    threats = threats.set_index("partner_id").reindex(partners["partner_id"])
    place = threats["iso2"].to_numpy(dtype=object)
    partners = partners.assign(threat_iso2=np.where(pd.isna(place), partners["country_iso2"].to_numpy(), place),
                               threat_region=threats["region_code"].fillna("").to_numpy(),
                               restricted_party=threats["restricted_party"].fillna("").to_numpy())
    partner_threat = _threat_codes(threats.reset_index(drop=True))

    coverage = certificate_rule.partner_coverage(session=session, day=today, partner_ids=list(ids))
    covered = coverage[coverage["covered"]].set_index("partner_id")["reason"]
    partners["covered"] = partners["partner_id"].isin(covered.index).to_numpy()
    partners["certificate"] = partners["partner_id"].map(covered).astype(object).fillna("").to_numpy()

    state = _assignments(session, ids, today).set_index("partner_id")
    overdue = partners["partner_id"].map(state["questionnaire_overdue"]).astype(object).fillna(False)
    partners["questionnaire_overdue"] = overdue.astype(bool).to_numpy()
    partners["overdue_cycle"] = partners["partner_id"].map(state["overdue_cycle"]).astype(object).fillna("").to_numpy()
    partners["last_accepted"] = partners["partner_id"].map(state["last_accepted"]).to_numpy()
    partners["last_cycle"] = partners["partner_id"].map(state["last_cycle"]).astype(object).fillna("").to_numpy()
    visits = session.exec(select(SiteVisit.partner_id, func.max(SiteVisit.visited_on))
                          .group_by(SiteVisit.partner_id)).all()
    partners["last_visit"] = partners["partner_id"].map(dict(visits)).to_numpy()

    table = register.threat_table(session=session, today=today)
    lanes, nodes, node_threat = _lanes(session, index, table, settings.unknown_as)
    places = pd.concat([partners[["threat_iso2", "threat_region"]].set_axis(["iso2", "region_code"], axis=1),
                        nodes[["iso2", "region_code"]]]).drop_duplicates()
    table = table[table["iso2"].isin(set(places["iso2"]))][
        ["iso2", "country", "region_code", "region", "category", "level", "status", "rule", "source", "as_of",
         "stale"]].reset_index(drop=True)
    return Inputs(today=today, partners=partners.reset_index(drop=True), answers=answers, findings=findings,
                  asked_must=asked_must, asked_should=asked_should, members=members, sets=sets, criteria=criteria,
                  categories=categories,
                  partner_threat=partner_threat, lanes=lanes, nodes=nodes, node_threat=node_threat,
                  incidents=open_incidents(session), threat_table=table, threat_unknown_as=str(settings.unknown_as))
