"""Lane flags: what in a lane needs attention before CBP asks (one home for these rules).

- node without a partner: someone has custody there, but the lane does not say who (custody "own" excepted);
- partner without a current assessment: no questionnaire accepted (or exemption granted) within 15 months;
- cargo at rest in a High-threat place: the node's overall threat (region, else country) is High, or Unknown
  counted as High by the register settings;
- custody changes hands without a seal check: custody changes at the node and no seal is applied or verified there;
- transshipment through a High-threat country: a transshipment node whose place is High (or Unknown as High);
- partner on a restricted-party list: a screening match an analyst confirmed (forced labor High).
"""

from datetime import date

import pandas as pd
from sqlmodel import Session, col, select

from models import Assignment, Cycle
from models.collection import AssignmentStatus
from models.lanes import Custody, NodeRole
from models.threats import ThreatLevel
from services.threats import register

ASSESSMENT_MAX_AGE_MONTHS = 15  # an accepted questionnaire counts this long (the vulnerability default of issue 9)
NO_PARTNER = "node without a partner"
NO_ASSESSMENT = "partner without a current assessment"
REST_HIGH = "cargo at rest in a High-threat place"
CUSTODY_NO_SEAL = "custody changes hands without a seal check"
TRANSSHIP_HIGH = "transshipment through a High-threat country"
RESTRICTED = "partner on a restricted-party list"
NO_COORDINATES = "place without coordinates"
FLAG_KINDS = (NO_PARTNER, NO_ASSESSMENT, REST_HIGH, CUSTODY_NO_SEAL, TRANSSHIP_HIGH, RESTRICTED, NO_COORDINATES)
FLAG_COLUMNS = ["lane_id", "seq", "role", "location", "partner_code", "flag", "detail"]


def assessed_partners(*, session: Session, today: date, months: int = ASSESSMENT_MAX_AGE_MONTHS,
                      partner_ids: list[int] | None = None) -> set[int]:
    """Partners (of `partner_ids`, or all) with a questionnaire accepted, or an exemption granted in a cycle,
    within `months`."""
    since = (pd.Timestamp(today) - pd.DateOffset(months=months)).tz_localize("UTC").to_pydatetime()
    accepted = select(Assignment.partner_id).where(Assignment.status == AssignmentStatus.accepted,
                                                   col(Assignment.reviewed_at) >= since)
    exempt = select(Assignment.partner_id).join(Cycle, col(Cycle.id) == Assignment.cycle_id) \
        .where(Assignment.status == AssignmentStatus.exempt, col(Cycle.created_at) >= since)
    if partner_ids is not None:
        accepted = accepted.where(col(Assignment.partner_id).in_(partner_ids))
        exempt = exempt.where(col(Assignment.partner_id).in_(partner_ids))
    return set(session.exec(accepted).all()) | set(session.exec(exempt).all())


def node_threats(nodes: pd.DataFrame, table: pd.DataFrame, *, unknown_as: str) -> pd.DataFrame:
    """The threat of each node's place (region, else country): per category, overall and score_level."""
    return register.locate(table, nodes[["iso2", "region_code"]], unknown_as=unknown_as)


def lane_flags(*, nodes: pd.DataFrame, threats: pd.DataFrame, assessed: set[int], restricted: pd.DataFrame,
               unknown_as: str = ThreatLevel.high) -> pd.DataFrame:
    """Flags of the given nodes (a `nodes_frame`), with `threats` = node_threats of the same rows."""
    if nodes.empty:
        return pd.DataFrame(columns=FLAG_COLUMNS)
    parts = []
    overall = threats["overall"].fillna(register.NOT_ASSESSED)
    high = threats["score_level"] == ThreatLevel.high
    has_partner = nodes["partner_id"].notna()

    def add(mask: pd.Series, flag: str, detail: pd.Series | str) -> None:
        if mask.any():
            chosen = nodes[mask]
            text = detail[mask] if isinstance(detail, pd.Series) else detail
            parts.append(chosen[["lane_id", "seq", "role", "location", "partner_code"]].assign(flag=flag, detail=text))

    add(~has_partner & (nodes["custody"] != Custody.own) & (nodes["role"] != NodeRole.customs_broker), NO_PARTNER,
        "Name the partner with custody here (direct, or subcontracted: indirect)")
    broker_without = ~has_partner & (nodes["role"] == NodeRole.customs_broker)
    add(broker_without, NO_PARTNER, "Name the customs broker")
    not_assessed = has_partner & ~nodes["partner_id"].isin(list(assessed))
    add(not_assessed, NO_ASSESSMENT, f"No questionnaire accepted or exemption within {ASSESSMENT_MAX_AGE_MONTHS} "
                                     "months")
    why = "Overall threat " + overall + pd.Series(
        [f" (Unknown counts as {unknown_as})" if o == ThreatLevel.unknown else "" for o in overall], index=nodes.index)
    dwell = nodes["dwell_hours"].map(lambda h: f"; rests about {h:g} h" if pd.notna(h) else "")
    add(nodes["rests"].astype(bool) & high, REST_HIGH, why + " in " + nodes["iso2"] + dwell)
    add(nodes["custody_change"].astype(bool) & ~nodes["seal_applied"].astype(bool)
        & ~nodes["seal_verified"].astype(bool), CUSTODY_NO_SEAL,
        "Verify the seal (number and integrity, e.g. the VVTT check) where custody passes, or record it")
    add((nodes["role"] == NodeRole.transshipment) & high, TRANSSHIP_HIGH, why + " in " + nodes["iso2"])
    if not restricted.empty:
        lists = restricted.set_index("partner_id")["list"]
        on_list = has_partner & nodes["partner_id"].isin(lists.index)
        add(on_list, RESTRICTED, "Confirmed match on " + nodes["partner_id"].map(lists).fillna("") +
            ": forced labor High")
    add(nodes["latitude"].isna() & (nodes["role"] != NodeRole.customs_broker), NO_COORDINATES,
        "Not drawn on the map: add coordinates to the site or place")
    if not parts:
        return pd.DataFrame(columns=FLAG_COLUMNS)
    frame = pd.concat(parts, ignore_index=True)
    order = {flag: i for i, flag in enumerate(FLAG_KINDS)}
    frame = frame.assign(_o=frame["flag"].map(order)).sort_values(["lane_id", "seq", "_o"], kind="stable")
    return frame[FLAG_COLUMNS].reset_index(drop=True)


def all_flags(*, session: Session, today: date, lane_ids: list[int] | None = None,
              nodes: pd.DataFrame | None = None) -> pd.DataFrame:
    """Flags of every (or the given) lanes, with the lane's code and name. `nodes`: those lanes' nodes
    (services.lanes.registry.nodes_frame) when the caller has them already."""
    from services.lanes.registry import lane_rows, nodes_frame

    if nodes is None:
        nodes = nodes_frame(session=session, lane_ids=lane_ids)
    settings = register.get_settings(session=session)
    table = register.threat_table(session=session, today=today)
    flags = lane_flags(nodes=nodes, threats=node_threats(nodes, table, unknown_as=settings.unknown_as),
                       assessed=assessed_partners(session=session, today=today,
                                                  partner_ids=nodes["partner_id"].dropna().astype(int).unique().tolist()),
                       restricted=register.confirmed_forced_labor(session=session), unknown_as=settings.unknown_as)
    lanes = lane_rows(session=session).set_index("id")
    return flags.assign(lane_code=flags["lane_id"].map(lanes["code"]), lane_name=flags["lane_id"].map(lanes["name"]))


def inputs_version(*, session: Session) -> tuple:
    """A fingerprint of everything lanes, flags and the map read, in one query: cached views key on it, so a change
    made by another process (the CLI, an import) is seen on the next rerun."""
    from sqlalchemy import func as f

    from models import Lane, LaneNode, Partner, PartnerSite, Place, ScreeningMatch, ThreatRatingChange, ThreatSource

    def scalar(stmt):
        return stmt.scalar_subquery()

    row = session.exec(select(
        scalar(select(f.count()).select_from(Lane)), scalar(select(f.max(Lane.updated_at))),
        scalar(select(f.max(LaneNode.id))), scalar(select(f.max(ThreatRatingChange.id))),
        scalar(select(f.count()).select_from(ThreatSource)), scalar(select(f.max(ThreatSource.loaded_at))),
        scalar(select(f.max(ScreeningMatch.id))), scalar(select(f.max(ScreeningMatch.decided_at))),
        scalar(select(f.max(Place.updated_at))), scalar(select(f.count()).select_from(Place)),
        scalar(select(f.max(PartnerSite.updated_at))), scalar(select(f.count()).select_from(PartnerSite)),
        scalar(select(f.max(Partner.updated_at))), scalar(select(f.max(Assignment.updated_at))))).one()
    return tuple(str(v) for v in row)
