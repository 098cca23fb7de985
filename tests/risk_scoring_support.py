"""Scoring inputs built by hand (no database), shaped exactly as services.risk.inputs.load returns them, for examples
and properties of the pure scoring; plus hypothesis strategies for partners, lanes and configurations."""

from dataclasses import dataclass, field, replace
from datetime import date, timedelta

import numpy as np
import pandas as pd
from hypothesis import strategies as st

from models.collection import AnswerValue
from models.common import Requirement
from services.risk.config import CATEGORY_NUMBERS, LEVELS, THREAT_CATEGORIES, RiskConfig
from services.risk.inputs import VALUE_CODE, Inputs

TODAY = date(2027, 1, 15)
# (criterion, category, must): six criteria in three MSC categories, asked of every partner.
CRITERIA = [("1.1", 1, True), ("1.2", 1, False), ("6.1", 6, True), ("6.2", 6, True), ("9.1", 9, False),
            ("9.2", 9, True)]
MUSTS = [c for c, _, must in CRITERIA if must]
BANDS = [b.value for b in LEVELS]


@dataclass
class Answer:
    value: str  # an AnswerValue
    months_ago: int = 1
    justified: bool = False


@dataclass
class Partner:
    code: str
    answers: dict[str, Answer] = field(default_factory=dict)
    findings: dict[str, Answer] = field(default_factory=dict)
    covered: bool = False
    threat: tuple[int, ...] = (0,) * len(THREAT_CATEGORIES)  # per category: 0-2 rated, 3 Unknown, -1 not assessed
    country: str = "MX"
    criticality: str = "medium"
    import_share: float | None = None
    incidents: int = 0


@dataclass
class Node:
    partner: int | None  # position in the partner list, None: no partner named
    country: str = "CN"
    threat: tuple[int, ...] = (0,) * len(THREAT_CATEGORIES)
    rests: bool = True
    dwell_hours: float | None = 48.0
    custody_change: bool = True
    custody: str = "direct"


@dataclass
class Lane:
    code: str
    nodes: list[Node]
    volume_share: float | None = None
    incidents: int = 0


def all_yes(months_ago: int = 1) -> dict[str, Answer]:
    return {c: Answer(AnswerValue.yes, months_ago) for c, _, _ in CRITERIA}


def _day(months_ago: int) -> int:
    day = TODAY - timedelta(days=int(months_ago * 30.5))
    return (np.datetime64(day, "D") - np.datetime64("1970-01-01", "D")).astype(int)


def _rows(partners: list[Partner], attribute: str) -> pd.DataFrame:
    index = {c: i for i, (c, _, _) in enumerate(CRITERIA)}
    rows = []
    for pidx, p in enumerate(partners):
        for criterion, answer in sorted(getattr(p, attribute).items(), key=lambda kv: index[kv[0]]):
            _, category, must = CRITERIA[index[criterion]]
            rows.append({"partner_id": pidx + 1, "criterion_id": criterion, "value": VALUE_CODE[answer.value],
                         "justified": answer.justified or attribute == "findings", "assignment_id": pidx + 1,
                         "day": _day(answer.months_ago), "pidx": pidx, "is_must": must, "cidx": index[criterion],
                         "category": category, "note": "", "visited_on": None, "visited_by": "Dana", "visit_id": 1})
    columns = ["partner_id", "criterion_id", "value", "justified", "assignment_id", "day", "pidx", "is_must", "cidx",
               "category", "note", "visited_on", "visited_by", "visit_id"]
    frame = pd.DataFrame(rows, columns=columns)
    return frame.astype({"value": np.int8, "day": np.int32, "pidx": np.int32, "cidx": np.int16,
                         "category": np.int8, "is_must": bool, "justified": bool})


def build(partners: list[Partner], lanes: list[Lane] = ()) -> Inputs:
    """Inputs for these partners (ids 1..n) and lanes (ids 1..m), as of TODAY."""
    n = len(partners)
    frame = pd.DataFrame({
        "partner_id": np.arange(1, n + 1), "partner_code": [p.code for p in partners],
        "legal_name": [f"{p.code} Ltd" for p in partners], "entity_type": "Foreign Manufacturer",
        "country_iso2": [p.country for p in partners], "criticality": [p.criticality for p in partners],
        "import_share": [np.nan if p.import_share is None else p.import_share for p in partners],
        "threat_iso2": [p.country for p in partners], "threat_region": "", "restricted_party": "",
        "covered": [p.covered for p in partners], "certificate": ["CTPAT certificate X" if p.covered else ""
                                                                  for p in partners],
        "questionnaire_overdue": False, "overdue_cycle": "",
        "last_accepted": [TODAY - timedelta(days=30)] * n, "last_cycle": "",
        "last_visit": [None] * n,
    })
    must = np.zeros((n, 13), dtype=np.int32)
    should = np.zeros((n, 13), dtype=np.int32)
    for _, category, is_must in CRITERIA:
        (must if is_must else should)[:, category] += 1
    criteria = pd.DataFrame({"criterion_id": [c for c, _, _ in CRITERIA],
                             "category_number": [k for _, k, _ in CRITERIA],
                             "category": [f"Category {k}" for _, k, _ in CRITERIA],
                             "requirement": [Requirement.must if m else Requirement.should for _, _, m in CRITERIA],
                             "summary": [f"Criterion {c}" for c, _, _ in CRITERIA]})
    sets = criteria.rename(columns={}).assign(set_id=0, entity_type="Foreign Manufacturer", applies="yes",
                                              basis="", role_condition="", sort_key=range(len(CRITERIA)),
                                              is_must=[m for _, _, m in CRITERIA])
    members = pd.DataFrame({"partner_id": frame["partner_id"], "set_id": 0, "pidx": np.arange(n)})
    lane_frame = pd.DataFrame({"lane_id": np.arange(1, len(lanes) + 1), "code": [lane.code for lane in lanes],
                               "name": [f"Lane {lane.code}" for lane in lanes], "mode": "ocean",
                               "volume_share": [np.nan if lane.volume_share is None else lane.volume_share
                                                for lane in lanes]})
    node_rows, node_threat = [], []
    for lidx, lane in enumerate(lanes):
        for seq, node in enumerate(lane.nodes, start=1):
            partner = partners[node.partner] if node.partner is not None else None
            node_rows.append({"lidx": lidx, "lane_id": lidx + 1, "seq": seq, "role": "origin",
                              "partner_id": None if partner is None else node.partner + 1,
                              "pidx": -1 if partner is None else node.partner,
                              "partner_code": "" if partner is None else partner.code, "partner_status": "active",
                              "custody": node.custody, "location": f"{lane.code} node {seq}", "iso2": node.country,
                              "region_code": "", "rests": node.rests, "dwell_hours": node.dwell_hours,
                              "custody_change": node.custody_change, "seal_applied": False, "seal_verified": False})
            node_threat.append(node.threat)
    nodes = pd.DataFrame(node_rows, columns=["lidx", "lane_id", "seq", "role", "partner_id", "pidx", "partner_code",
                                             "partner_status", "custody", "location", "iso2", "region_code", "rests",
                                             "dwell_hours", "custody_change", "seal_applied", "seal_verified"])
    nodes = nodes.astype({"partner_id": "Int64", "dwell_hours": float, "pidx": np.int32, "lidx": np.int32})
    incidents = [{"incident_id": i, "partner_id": pidx + 1, "lane_id": None}
                 for pidx, p in enumerate(partners) for i in range(p.incidents)]
    incidents += [{"incident_id": 100 + i, "partner_id": None, "lane_id": lidx + 1}
                  for lidx, lane in enumerate(lanes) for i in range(lane.incidents)]
    incident_frame = pd.DataFrame(incidents, columns=["incident_id", "partner_id", "lane_id"]).assign(
        kind="seal discrepancy", occurred_on=TODAY, title="")
    incident_frame = incident_frame.astype({"partner_id": "Int64", "lane_id": "Int64"})
    threat_table = pd.DataFrame(columns=["iso2", "country", "region_code", "region", "category", "level", "status",
                                         "rule", "source", "as_of", "stale"])
    return Inputs(today=TODAY, partners=frame, answers=_rows(partners, "answers"),
                  findings=_rows(partners, "findings"), asked_must=must, asked_should=should, members=members,
                  sets=sets, criteria=criteria, categories=tuple(f"Category {k}" for k in range(13)),
                  partner_threat=np.array([p.threat for p in partners], dtype=np.int8).reshape(n, -1),
                  lanes=lane_frame, nodes=nodes,
                  node_threat=np.array(node_threat, dtype=np.int8).reshape(len(node_rows), len(THREAT_CATEGORIES)),
                  incidents=incident_frame, threat_table=threat_table, threat_unknown_as="High")


answers = st.builds(Answer, value=st.sampled_from(list(AnswerValue)), months_ago=st.integers(0, 24),
                    justified=st.booleans())
threats = st.tuples(*[st.integers(-1, 3)] * len(THREAT_CATEGORIES))
partner_strategy = st.builds(
    Partner, code=st.just("P"),
    answers=st.dictionaries(st.sampled_from([c for c, _, _ in CRITERIA]), answers, max_size=len(CRITERIA)),
    findings=st.dictionaries(st.sampled_from([c for c, _, _ in CRITERIA]), answers, max_size=2),
    covered=st.booleans(), threat=threats, country=st.sampled_from(["MX", "CN", "US"]),
    criticality=st.sampled_from(["low", "medium", "high", "critical"]),
    import_share=st.one_of(st.none(), st.floats(0, 40)), incidents=st.integers(0, 2))


@st.composite
def books(draw) -> tuple[list[Partner], list[Lane]]:
    """A few partners (codes P0, P1, ...) and lanes through them."""
    partners = draw(st.lists(partner_strategy, min_size=1, max_size=5))
    partners = [replace(p, code=f"P{i}") for i, p in enumerate(partners)]
    node = st.builds(Node, partner=st.one_of(st.none(), st.integers(0, len(partners) - 1)),
                     country=st.sampled_from(["MX", "CN", "US", ""]), threat=threats, rests=st.booleans(),
                     dwell_hours=st.one_of(st.none(), st.floats(0, 200)), custody_change=st.booleans(),
                     custody=st.sampled_from(["direct", "indirect", "own"]))
    lanes = draw(st.lists(st.builds(Lane, code=st.just("L"), nodes=st.lists(node, min_size=1, max_size=4),
                                    volume_share=st.one_of(st.none(), st.floats(0, 40)),
                                    incidents=st.integers(0, 1)), max_size=3))
    return partners, [replace(lane, code=f"L{i}") for i, lane in enumerate(lanes)]


@st.composite
def configs(draw) -> RiskConfig:
    """Any sound configuration: weights in the required order, a monotone matrix, and so on."""
    should_partial = draw(st.floats(0, 5))
    should_unmet = should_partial + draw(st.floats(0, 5))
    must_partial = should_unmet + draw(st.floats(0.5, 5))
    must_unmet = must_partial + draw(st.floats(0.5, 10))
    medium = draw(st.floats(0.5, 60))
    high = min(medium + draw(st.floats(0.5, 60)), 100.0)
    raw = [[draw(st.integers(0, 2)) for _ in range(3)] for _ in range(3)]
    grid = [[max(raw[a][b] for a in range(t + 1) for b in range(v + 1)) for v in range(3)] for t in range(3)]
    categories = draw(st.lists(st.sampled_from(THREAT_CATEGORIES), min_size=1, unique=True))
    return RiskConfig.from_dict({
        "answer_max_age_months": draw(st.integers(1, 30)), "must_unmet": must_unmet, "must_partial": must_partial,
        "should_unmet": should_unmet, "should_partial": should_partial,
        "category_weights": {str(c): draw(st.sampled_from([0.5, 1.0, 2.0])) for c in CATEGORY_NUMBERS},
        "medium_from": medium, "high_from": high, "unmet_must_floor": draw(st.sampled_from(BANDS)),
        "certificate_credit": draw(st.integers(0, 2)), "incident_raise": draw(st.integers(0, 2)),
        "threat_unknown_as": draw(st.sampled_from([None, *BANDS])), "threat_categories": categories,
        "threat_overrides": draw(st.dictionaries(st.sampled_from(["MX", "CN"]), st.sampled_from(BANDS),
                                                 max_size=1)),
        "rest_hours": draw(st.floats(0, 100)), "other_nodes_lower": draw(st.integers(0, 2)),
        "inherit_lane_threat": draw(st.booleans()),
        "matrix": {BANDS[t]: {BANDS[v]: BANDS[grid[t][v]] for v in range(3)} for t in range(3)},
        "impact_raise": draw(st.booleans()),
        "impact_criticalities": draw(st.lists(st.sampled_from(["high", "critical"]), unique=True)),
        "impact_import_share": draw(st.one_of(st.none(), st.floats(1, 30))),
        "lane_volume_share": draw(st.one_of(st.none(), st.floats(1, 30))),
    })
