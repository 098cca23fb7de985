"""The scoring: threat, vulnerability and risk of every partner and lane at once, as a pure function of the inputs
(services.risk.inputs) and a configuration (services.risk.config). No database, no loops over partners: numpy over
arrays, so a what-if is the same call with another configuration. docs/RISK-METHOD.md explains it in words.

Bands are codes 0 Low, 1 Medium, 2 High, 3 Unknown (vulnerability only: no accepted answers within the age).

Vulnerability of a partner (CBP step 3):
  each criterion it is asked counts with the weight of its gap: an unmet must > a partial must > an unmet should >=
  a partial should > met (0); "not applicable" with a justification in an accepted questionnaire drops out; n/a
  without one, and a criterion asked but not answered, count as not met. A site-visit finding within the age
  replaces the partner's answer. Per MSC category c: gap_c = sum of gap weights, max_c = sum of unmet weights.
  score = sum_c(w_c * gap_c) / sum_c(w_c * max_c) * 100 (w_c: the category weights), banded by the thresholds;
  any must not met makes it at least `unmet_must_floor`. No accepted answers and no findings within the age:
  Unknown, the worst (it reads as High in the matrix and is never better than Low).
  A certificate that counts (services.certificates.rule) lowers it `certificate_credit` bands; a covered partner
  without answers is Low. An open incident raises a rated band `incident_raise` bands (never above High); for a
  covered partner the raise applies after the credit.
Threat of a place: the worst of the counted categories (Unknown counted as `threat_unknown_as`; categories no source
  feeds left out); a country override replaces it. A lane: the worst node, nodes where cargo rests at least
  `rest_hours` or custody changes in full, other nodes `other_nodes_lower` bands lower. A partner: its place, or the
  worst lane it serves when that is higher (`inherit_lane_threat`).
Vulnerability of a lane: the worst of the partners with custody on it (a node without a named partner is Unknown),
  raised by its own open incidents.
Risk = matrix[threat][vulnerability] (Unknown is the worst: read as High), one band higher for high impact
  (criticality or import share; a lane's volume share) when `impact_raise`.
"""

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import pandas as pd

from models.collection import AnswerValue
from models.lanes import Custody
from models.risk import Band
from services.risk.config import LEVELS, RiskConfig
from services.risk.inputs import THREAT_CATEGORIES, VALUE_CODE, Inputs

LOW, MEDIUM, HIGH, UNKNOWN = 0, 1, 2, 3
BAND_NAMES = np.array([Band.low.value, Band.medium.value, Band.high.value, Band.unknown.value], dtype=object)
CODE = {Band.low.value: LOW, Band.medium.value: MEDIUM, Band.high.value: HIGH, Band.unknown.value: UNKNOWN}
YES, PARTIAL, NO, NA = (VALUE_CODE[v] for v in (AnswerValue.yes, AnswerValue.partial, AnswerValue.no, AnswerValue.na))
PARTNER_COLUMNS = [
    "rank", "partner_id", "partner_code", "legal_name", "entity_type", "country_iso2", "criticality", "import_share",
    "risk", "matrix_risk", "threat", "threat_unknown", "place_threat", "place_threat_unknown", "threat_override",
    "threat_category", "threat_inherited", "vulnerability", "vulnerability_base", "vulnerability_score",
    "unmet_musts", "answered", "covered", "certificate_credit", "incidents", "questionnaire_overdue", "high_impact",
    "impact_raised",
]
LANE_COLUMNS = ["rank", "lane_id", "code", "name", "mode", "volume_share", "risk", "matrix_risk", "threat",
                "threat_unknown", "threat_location", "vulnerability", "weakest", "incidents", "high_impact",
                "impact_raised"]


@dataclass(frozen=True)
class Scores:
    """The result: one row per active partner and per active lane (inputs order; `rank` 1 = riskiest), and per
    partner the weighted share of criteria not met per MSC category (percent; NaN where nothing counts)."""

    config: RiskConfig
    threat_unknown_as: str
    cutoff: pd.Timestamp  # answers and findings from this day on count
    partners: pd.DataFrame
    lanes: pd.DataFrame
    category_gap: np.ndarray


def matrix_codes(config: RiskConfig) -> np.ndarray:
    """The risk matrix as a (threat x vulnerability) array of band codes."""
    levels = [b.value for b in LEVELS]
    return np.array([[CODE[config.matrix[t][v]] for v in levels] for t in levels], dtype=np.int8)


def cutoff_day(inputs: Inputs, config: RiskConfig) -> pd.Timestamp:
    return pd.Timestamp(inputs.today) - pd.DateOffset(months=int(config.answer_max_age_months))


def _ranks(*keys: np.ndarray) -> np.ndarray:
    """1-based rank by the keys, the first key most significant (np.lexsort wants the last key first)."""
    order = np.lexsort(tuple(reversed(keys)))
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(1, len(order) + 1)
    return rank


def _threat_levels(codes: np.ndarray, mask: np.ndarray, unknown: int):
    """Per row: the level (worst counted category, Unknown read as `unknown`), whether Unknown decided it, and the
    deciding category's position (-1 where no category is assessed)."""
    chosen = codes[:, mask].astype(np.int16)
    if chosen.shape[1] == 0:
        n = len(codes)
        return np.full(n, unknown, dtype=np.int8), np.ones(n, dtype=bool), np.full(n, -1)
    read = np.where(chosen == UNKNOWN, unknown, chosen)
    read = np.where(chosen < 0, -1, read)
    level = read.max(axis=1)
    rated = np.where((chosen >= 0) & (chosen <= HIGH), chosen, -1).max(axis=1)
    none = level < 0
    decided_by_unknown = none | (level > rated) | ((level == rated) & (rated < 0))
    # The deciding category: a rated one at the level when there is one, else an Unknown one.
    rated_at_level = (chosen == level[:, None]) & (chosen <= HIGH)
    unknown_at_level = (chosen == UNKNOWN) & (read == level[:, None])
    pick = np.where(rated_at_level.any(axis=1), rated_at_level.argmax(axis=1), unknown_at_level.argmax(axis=1))
    columns = np.flatnonzero(mask)
    category = np.where(none, -1, columns[pick] if len(columns) else -1)
    return np.where(none, unknown, level).astype(np.int8), decided_by_unknown, category


def _overrides(iso2: np.ndarray, overrides: dict[str, str]) -> tuple[np.ndarray, np.ndarray]:
    """Per place: the override's band code (-1 where none) and whether there is one."""
    if not overrides:
        return np.full(len(iso2), -1, dtype=np.int8), np.zeros(len(iso2), dtype=bool)
    codes = pd.Series(iso2).map({k: CODE[v] for k, v in overrides.items()}).fillna(-1).to_numpy(dtype=np.int8)
    return codes, codes >= 0


def node_threats(inputs: Inputs, config: RiskConfig) -> dict[str, np.ndarray]:
    """Per lane node: its place's threat `level` (code), whether Unknown decided it (`decided_by_unknown`), the deciding
    category's position (`category`), whether it counts in `full` (cargo rests long enough or custody changes)
    and the `effective` level it gives its lane, and whether an override set it (`override`)."""
    nodes = inputs.nodes
    unknown = CODE[config.threat_unknown_as or inputs.threat_unknown_as]
    mask = np.array([c in config.threat_categories for c in THREAT_CATEGORIES], dtype=bool)
    level, level_unknown, category = _threat_levels(inputs.node_threat, mask, unknown)
    iso2 = nodes["iso2"].fillna("").to_numpy(dtype=object)
    level = np.where(iso2 == "", unknown, level)
    level_unknown = level_unknown | (iso2 == "")
    override, overridden = _overrides(iso2, config.threat_overrides)
    level = np.where(overridden, override, level)
    dwell = nodes["dwell_hours"].to_numpy(dtype=float)
    full = nodes["custody_change"].to_numpy(dtype=bool) | (
        nodes["rests"].to_numpy(dtype=bool) & (np.isnan(dwell) | (dwell >= config.rest_hours)))
    effective = np.where(full, level, np.maximum(level - config.other_nodes_lower, LOW))
    return {"level": level.astype(np.int8), "decided_by_unknown": level_unknown & ~overridden, "category": category,
            "full": full, "effective": effective.astype(np.int8), "override": overridden}


class _PartnerVulnerability(NamedTuple):
    known: np.ndarray  # accepted answers or site-visit findings within the age
    base: np.ndarray  # the band from the answers, before the certificate credit and incidents
    share: np.ndarray  # percent of the weighted gaps
    unmet_musts: np.ndarray
    category_gap: np.ndarray
    answered: np.ndarray
    covered: np.ndarray
    credit_applied: np.ndarray
    incidents: np.ndarray
    band: np.ndarray  # the vulnerability


class _Threats(NamedTuple):
    unknown_as: str
    own: np.ndarray  # each partner's place
    own_unknown: np.ndarray
    own_category: np.ndarray
    overridden: np.ndarray
    threat: np.ndarray  # each partner's, with the lanes it serves
    threat_unknown: np.ndarray
    inherited: np.ndarray
    lane: np.ndarray
    lane_unknown: np.ndarray
    lane_location: np.ndarray


def score(inputs: Inputs, config: RiskConfig) -> Scores:
    """Threat, vulnerability and risk of every active partner and lane (see the module docstring)."""
    partners, lanes = inputs.partners, inputs.lanes
    cutoff = cutoff_day(inputs, config)
    cut = int((np.datetime64(cutoff.date(), "D") - np.datetime64("1970-01-01", "D")).astype(int))
    v = _partner_vulnerability(inputs, config, cut)
    t = _threats(inputs, config)
    lane_vulnerability, weakest, lane_incidents = _lane_vulnerability(inputs, config, v.band)
    vulnerability, threat, lane_threat = v.band, t.threat, t.lane

    # Risk through the matrix, then impact.
    grid = matrix_codes(config)
    p_matrix = grid[threat, np.minimum(vulnerability, HIGH)]  # Unknown reads as High: the worst
    l_matrix = grid[lane_threat, np.minimum(lane_vulnerability, HIGH)]
    high_impact = partners["criticality"].isin(list(config.impact_criticalities)).to_numpy().copy()
    if config.impact_import_share is not None:
        high_impact |= partners["import_share"].to_numpy(dtype=float) >= config.impact_import_share
    lane_high_impact = np.zeros(len(lanes), dtype=bool)
    if config.lane_volume_share is not None:
        lane_high_impact = lanes["volume_share"].to_numpy(dtype=float) >= config.lane_volume_share
    p_raise = config.impact_raise & high_impact & (p_matrix < HIGH)
    l_raise = config.impact_raise & lane_high_impact & (l_matrix < HIGH)
    p_risk = (p_matrix + p_raise).astype(np.int8)
    l_risk = (l_matrix + l_raise).astype(np.int8)

    vulnerability_score = np.where(v.known, np.round(v.share, 1), np.nan)
    partner_frame = pd.DataFrame({
        "rank": _ranks(-p_risk, -threat, -vulnerability, -np.nan_to_num(vulnerability_score, nan=101.0),
                       partners["partner_code"].to_numpy(dtype=str)),
        "partner_id": partners["partner_id"].to_numpy(), "partner_code": partners["partner_code"].to_numpy(),
        "legal_name": partners["legal_name"].to_numpy(), "entity_type": partners["entity_type"].to_numpy(),
        "country_iso2": partners["country_iso2"].to_numpy(), "criticality": partners["criticality"].to_numpy(),
        "import_share": partners["import_share"].to_numpy(dtype=float),
        "risk": BAND_NAMES[p_risk], "matrix_risk": BAND_NAMES[p_matrix], "threat": BAND_NAMES[threat],
        "threat_unknown": t.threat_unknown, "place_threat": BAND_NAMES[t.own], "place_threat_unknown": t.own_unknown,
        "threat_override": t.overridden,
        "threat_category": np.where((t.own_category >= 0) & ~t.overridden,
                                    np.array(THREAT_CATEGORIES + ("",), dtype=object)[t.own_category], ""),
        "threat_inherited": t.inherited,
        "vulnerability": BAND_NAMES[vulnerability], "vulnerability_base": BAND_NAMES[v.base],
        "vulnerability_score": vulnerability_score, "unmet_musts": np.where(v.known, v.unmet_musts, 0),
        "answered": v.answered, "covered": v.covered,
        "certificate_credit": v.credit_applied,
        "incidents": v.incidents, "questionnaire_overdue": partners["questionnaire_overdue"].to_numpy(dtype=bool),
        "high_impact": high_impact, "impact_raised": p_raise,
    }, columns=PARTNER_COLUMNS)
    lane_frame = pd.DataFrame({
        "rank": _ranks(-l_risk, -lane_threat, -lane_vulnerability, lanes["code"].to_numpy(dtype=str)),
        "lane_id": lanes["lane_id"].to_numpy(), "code": lanes["code"].to_numpy(), "name": lanes["name"].to_numpy(),
        "mode": lanes["mode"].to_numpy(), "volume_share": lanes["volume_share"].to_numpy(dtype=float),
        "risk": BAND_NAMES[l_risk], "matrix_risk": BAND_NAMES[l_matrix], "threat": BAND_NAMES[lane_threat],
        "threat_unknown": t.lane_unknown, "threat_location": t.lane_location,
        "vulnerability": BAND_NAMES[lane_vulnerability], "weakest": weakest, "incidents": lane_incidents,
        "high_impact": lane_high_impact, "impact_raised": l_raise,
    }, columns=LANE_COLUMNS)
    return Scores(config=config, threat_unknown_as=t.unknown_as, cutoff=cutoff, partners=partner_frame,
                  lanes=lane_frame, category_gap=v.category_gap)


def _partner_vulnerability(inputs: Inputs, config: RiskConfig, cut: int) -> _PartnerVulnerability:
    """Each partner's vulnerability from the answers and findings that count (from day `cut` on)."""
    partners = inputs.partners
    n = len(partners)
    answers, findings = inputs.answers, inputs.findings
    a_ok = answers["day"].to_numpy() >= cut
    f_ok = findings["day"].to_numpy() >= cut
    size = max(len(inputs.criteria), 1)
    a_key = answers["pidx"].to_numpy(dtype=np.int64) * size + answers["cidx"].to_numpy(dtype=np.int64)
    f_key = findings["pidx"].to_numpy(dtype=np.int64) * size + findings["cidx"].to_numpy(dtype=np.int64)
    replaced = np.isin(a_key, f_key[f_ok]) if f_ok.any() else np.zeros(len(answers), dtype=bool)
    used_a = a_ok & ~replaced
    pidx = np.concatenate([answers["pidx"].to_numpy()[used_a], findings["pidx"].to_numpy()[f_ok]]).astype(np.int64)
    cat = np.concatenate([answers["category"].to_numpy()[used_a], findings["category"].to_numpy()[f_ok]])
    must = np.concatenate([answers["is_must"].to_numpy()[used_a], findings["is_must"].to_numpy()[f_ok]]).astype(bool)
    value = np.concatenate([answers["value"].to_numpy()[used_a], findings["value"].to_numpy()[f_ok]])
    justified = np.concatenate([answers["justified"].to_numpy()[used_a],
                                findings["justified"].to_numpy()[f_ok]]).astype(bool)
    known = np.bincount(pidx, minlength=n)[:n] > 0  # accepted answers or site-visit findings within the age

    unmet_w = np.where(must, config.must_unmet, config.should_unmet)
    partial_w = np.where(must, config.must_partial, config.should_partial)
    dropped = (value == NA) & justified
    gap = np.where(value == YES, 0.0, np.where(value == PARTIAL, partial_w, np.where(dropped, 0.0, unmet_w)))
    ceiling = np.where(dropped, 0.0, unmet_w)
    cell = pidx * 13 + cat.astype(np.int64)
    gaps = np.bincount(cell, weights=gap, minlength=n * 13).reshape(n, 13)
    ceilings = np.bincount(cell, weights=ceiling, minlength=n * 13).reshape(n, 13)
    answered_must = np.bincount(cell[must], minlength=n * 13).reshape(n, 13)
    answered_should = np.bincount(cell[~must], minlength=n * 13).reshape(n, 13)
    missing_must = np.clip(inputs.asked_must - answered_must, 0, None)
    missing_should = np.clip(inputs.asked_should - answered_should, 0, None)
    gaps = gaps + missing_must * config.must_unmet + missing_should * config.should_unmet
    ceilings = ceilings + missing_must * config.must_unmet + missing_should * config.should_unmet
    weights = np.zeros(13)
    for number, weight in config.category_weights.items():
        weights[int(number)] = float(weight)
    top = (gaps * weights).sum(axis=1)
    bottom = (ceilings * weights).sum(axis=1)
    share = np.divide(top, bottom, out=np.zeros(n), where=bottom > 0) * 100
    unmet_musts = (np.bincount(pidx[must & ((value == NO) | ((value == NA) & ~justified))], minlength=n)[:n]
                   + missing_must.sum(axis=1))
    base = np.where(share >= config.high_from, HIGH, np.where(share >= config.medium_from, MEDIUM, LOW))
    base = np.where(unmet_musts > 0, np.maximum(base, CODE[config.unmet_must_floor]), base)
    base = np.where(known, base, UNKNOWN).astype(np.int8)
    category_gap = np.divide(gaps, ceilings, out=np.full((n, 13), np.nan), where=ceilings > 0) * 100
    category_gap[~known] = np.nan

    covered = partners["covered"].to_numpy(dtype=bool)
    credited = np.where(known, np.maximum(base - config.certificate_credit, LOW), LOW)
    credit_applied = covered & (credited != base)
    partner_incidents = _counts(inputs.incidents["partner_id"], partners["partner_id"])
    # Open incidents raise a rated band; Unknown is the worst already.
    raise_by = np.where(partner_incidents > 0, config.incident_raise, 0)
    uncovered = np.where(base == UNKNOWN, UNKNOWN, np.minimum(base + raise_by, HIGH))
    vulnerability = np.where(covered, np.minimum(credited + raise_by, HIGH), uncovered).astype(np.int8)
    return _PartnerVulnerability(known, base, share, unmet_musts, category_gap, np.bincount(pidx, minlength=n)[:n],
                                 covered, credit_applied, partner_incidents, vulnerability)


def _threats(inputs: Inputs, config: RiskConfig) -> _Threats:
    """The threat of each partner's place, of each lane (its worst node) and of each partner with its lanes."""
    partners = inputs.partners
    n = len(partners)
    unknown_as = config.threat_unknown_as or inputs.threat_unknown_as
    unknown = CODE[unknown_as]
    mask = np.array([c in config.threat_categories for c in THREAT_CATEGORIES], dtype=bool)
    own, own_unknown, own_category = _threat_levels(inputs.partner_threat, mask, unknown)
    override, overridden = _overrides(partners["threat_iso2"].to_numpy(dtype=object), config.threat_overrides)
    own = np.where(overridden, override, own)
    own_unknown = own_unknown & ~overridden

    nodes, lanes = inputs.nodes, inputs.lanes
    m = len(lanes)
    lane_threat = np.full(m, -1, dtype=np.int16)
    lane_threat_unknown = np.zeros(m, dtype=bool)
    lane_location = np.full(m, "", dtype=object)
    node_pidx = nodes["pidx"].to_numpy(dtype=np.int64)
    node_lidx = nodes["lidx"].to_numpy(dtype=np.int64)
    if len(nodes):
        node = node_threats(inputs, config)
        effective, level_unknown = node["effective"].astype(np.int16), node["decided_by_unknown"]
        np.maximum.at(lane_threat, node_lidx, effective)
        # The node that decides each lane's threat: the first at the lane's level.
        deciding = effective == lane_threat[node_lidx]
        first = pd.Series(np.flatnonzero(deciding)).groupby(node_lidx[deciding]).first()
        lane_location[first.index.to_numpy()] = nodes["location"].to_numpy(dtype=object)[first.to_numpy()]
        lane_threat_unknown[first.index.to_numpy()] = level_unknown[first.to_numpy()]
    no_nodes = lane_threat < 0
    lane_threat = np.where(no_nodes, unknown, lane_threat).astype(np.int8)
    lane_threat_unknown |= no_nodes

    served = np.full(n, -1, dtype=np.int16)
    on_lane = node_pidx >= 0
    if on_lane.any():
        np.maximum.at(served, node_pidx[on_lane], lane_threat[node_lidx[on_lane]])
    inherited = config.inherit_lane_threat & (served > own)
    threat = np.where(inherited, served, own).astype(np.int8)
    served_unknown = np.zeros(n, dtype=bool)
    if on_lane.any():
        lane_of, partner_of = node_lidx[on_lane], node_pidx[on_lane]
        decided = lane_threat_unknown[lane_of] & (lane_threat[lane_of] == served[partner_of])
        served_unknown[partner_of[decided]] = True
    threat_unknown = np.where(inherited, served_unknown, own_unknown)
    return _Threats(unknown_as, own, own_unknown, own_category, overridden, threat, threat_unknown, inherited,
                    lane_threat, lane_threat_unknown, lane_location)


def _lane_vulnerability(inputs: Inputs, config: RiskConfig,
                        vulnerability: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each lane's vulnerability (the weakest party with custody on it, raised by its open incidents), the weakest
    party's name, and the lane's open incidents."""
    nodes, lanes = inputs.nodes, inputs.lanes
    n, m = len(inputs.partners), len(lanes)
    node_pidx = nodes["pidx"].to_numpy(dtype=np.int64)
    node_lidx = nodes["lidx"].to_numpy(dtype=np.int64)
    on_lane = node_pidx >= 0
    lane_vulnerability = np.full(m, -1, dtype=np.int16)
    weakest = np.full(m, "", dtype=object)
    if len(nodes):
        counts = nodes["custody"].to_numpy(dtype=object) != Custody.own.value
        party = np.where(on_lane, vulnerability[np.clip(node_pidx, 0, None)] if n else UNKNOWN, UNKNOWN)
        party = np.where(counts, party, -1).astype(np.int16)
        np.maximum.at(lane_vulnerability, node_lidx, party)
        worst = counts & (party == lane_vulnerability[node_lidx])
        first = pd.Series(np.flatnonzero(worst)).groupby(node_lidx[worst]).first()
        codes = nodes["partner_code"].fillna("").to_numpy(dtype=object)[first.to_numpy()]
        names = np.where(on_lane[first.to_numpy()], codes,
                         np.where(codes == "", "no partner named", codes + " (inactive)"))
        weakest[first.index.to_numpy()] = names
    lane_vulnerability = np.where(lane_vulnerability < 0, UNKNOWN, lane_vulnerability)
    lane_incidents = _counts(inputs.incidents["lane_id"], lanes["lane_id"])
    lane_raised = np.minimum(lane_vulnerability + config.incident_raise, HIGH)
    lane_vulnerability = np.where((lane_incidents > 0) & (lane_vulnerability != UNKNOWN), lane_raised,
                                  lane_vulnerability).astype(np.int8)
    return lane_vulnerability, weakest, lane_incidents


def _counts(ids: pd.Series, subjects: pd.Series) -> np.ndarray:
    """How often each subject id occurs in `ids` (missing ids ignored), in the subjects' order."""
    found = pd.Series(ids).dropna().astype(np.int64).value_counts()
    return subjects.map(found).fillna(0).to_numpy(dtype=np.int64)


def ranked(frame: pd.DataFrame) -> pd.DataFrame:
    """A scores frame in rank order (riskiest first)."""
    return frame.sort_values("rank", kind="stable").reset_index(drop=True)


def distribution(frame: pd.DataFrame) -> dict[str, int]:
    """How many partners (or lanes) are in each risk band."""
    counts = frame["risk"].value_counts()
    return {b.value: int(counts.get(b.value, 0)) for b in reversed(LEVELS)}


VULNERABILITY_COLUMNS = [Band.low.value, Band.medium.value, Band.high.value, Band.unknown.value]


def matrix_cells(scores: Scores) -> pd.DataFrame:
    """The risk matrix as the page draws it: one row per threat band x vulnerability band (Unknown a column of its
    own), with the band of the cell and how many partners and lanes sit in it (before the impact step)."""
    grid = matrix_codes(scores.config)
    partners = scores.partners.groupby(["threat", "vulnerability"]).size()
    lanes = scores.lanes.groupby(["threat", "vulnerability"]).size()
    rows = []
    for t in (b.value for b in LEVELS):
        for v in VULNERABILITY_COLUMNS:
            column = HIGH if v == Band.unknown else CODE[v]
            rows.append({"threat": t, "vulnerability": v, "band": BAND_NAMES[grid[CODE[t], column]],
                         "partners": int(partners.get((t, v), 0)), "lanes": int(lanes.get((t, v), 0))})
    cells = pd.DataFrame(rows)
    cells["label"] = cells["partners"].astype(str) + " · " + cells["lanes"].astype(str)
    return cells


def in_cell(scores: Scores, threat: str, vulnerability: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The partners and lanes of one matrix cell, riskiest first."""
    p, lanes = scores.partners, scores.lanes
    return (ranked(p[(p["threat"] == threat) & (p["vulnerability"] == vulnerability)]),
            ranked(lanes[(lanes["threat"] == threat) & (lanes["vulnerability"] == vulnerability)]))
