"""What goes into the action plan, how urgent it is and by when: the one home of these rules (docs/ACTIONS.md).

Priority 1 comes first, then 2, then 3; within a priority the earlier due date first; overdue items before all
(``plan_order``). Due dates are counted from the day an item is generated. The intervals are this product's
defaults, not CBP's: MSC 3.6 asks for weaknesses to be addressed "promptly" and leaves the timing to the company.
"""

from dataclasses import dataclass

import pandas as pd

from models.actions import ActionSource
from models.collection import AnswerValue
from models.common import Requirement
from models.incidents import IncidentKind
from models.threats import ThreatCategory, ThreatLevel
from services.lanes import flags


@dataclass(frozen=True)
class Rule:
    priority: int
    due_days: int
    basis: str  # why the item is in the plan, shown with it
    shared: bool = False  # the partner sees the item through its personal link


# Gaps in accepted answers (services.collection.rules.GAP_VALUES): unmet must first, then partial must, then unmet
# should. A partial "should" is not generated: CBP words it as a recommendation and part of the measure is in place;
# the team adds an item by hand where it wants one.
GAP_RULES: dict[tuple[Requirement, AnswerValue], Rule] = {
    (Requirement.must, AnswerValue.no): Rule(1, 30, "unmet must criterion (MSC 3.6)", shared=True),
    (Requirement.must, AnswerValue.partial): Rule(2, 60, "partially met must criterion (MSC 3.6)", shared=True),
    (Requirement.should, AnswerValue.no): Rule(3, 90, "unmet should criterion (MSC 3.6)", shared=True),
}

# Lane flags (services.lanes.flags) that call for an action. "Place without coordinates" only keeps a lane off the
# map, and a restricted-party match is a High forced-labor threat of the partner (THREAT_PARTNER), lane or not.
LANE_FLAG_RULES: dict[str, Rule] = {
    flags.CUSTODY_NO_SEAL: Rule(2, 30, "seal not checked where custody changes (MSC 6, 2.2)"),
    flags.REST_HIGH: Rule(2, 60, "cargo at rest in a High-threat place (MSC 2.2)"),
    flags.TRANSSHIP_HIGH: Rule(2, 60, "transshipment through a High-threat country (MSC 2.2)"),
    flags.NO_PARTNER: Rule(3, 30, "custody at a node without a named partner (MSC 2.2)"),
    flags.NO_ASSESSMENT: Rule(3, 60, "partner without a current assessment (MSC 3.5)"),
}
# Short, stable codes of the flags in cause keys (the flag texts may be reworded).
LANE_FLAG_CODES: dict[str, str] = {
    flags.CUSTODY_NO_SEAL: "seal", flags.REST_HIGH: "rest", flags.TRANSSHIP_HIGH: "tranship",
    flags.NO_PARTNER: "nopartner", flags.NO_ASSESSMENT: "noassessment",
}

INCIDENT_RULE = Rule(1, 14, "open incident: investigate and fix the cause (MSC 7.37)")
INCIDENT_TITLES: dict[IncidentKind, str] = {
    IncidentKind.seal_discrepancy: "Seal discrepancy",
    IncidentKind.breach: "Security breach",
    IncidentKind.contraband: "Contraband found",
    IncidentKind.shortage_overage: "Shortage or overage",
    IncidentKind.suspicious_activity: "Suspicious activity",
}

# A High threat where active partners are (their primary site, else their country) or where active lanes pass.
# Unknown is not High here: it asks for data (the threat register), not for a mitigation.
THREAT_LEVEL = ThreatLevel.high
THREAT_RULE = Rule(2, 90, "High threat without a mitigation (MSC 2.1, 2.3)")
# A partner with a confirmed restricted-party match: forced labor High for that partner (services.threats.register).
THREAT_PARTNER = Rule(1, 14, "confirmed restricted-party match: forced labor High (MSC 3.9)")
FORCED_LABOR = ThreatCategory.forced_labor
MITIGATION = ("A High threat counts as mitigated when an action item addresses it, open or closed: one generated "
              "for it earlier, or one added by hand for the same threat category and the same place (country and "
              "region) or, for a partner's restricted-party match, the same partner.")

MANUAL_PRIORITY = 2
PRIORITIES: dict[int, str] = {1: "1 · first", 2: "2 · next", 3: "3 · then"}
SOURCE_ORDER = {s: i for i, s in enumerate(ActionSource)}


def gap_rule(requirement: object, value: object) -> Rule | None:
    """The rule of a gap in an accepted answer, None when it is not generated."""
    return GAP_RULES.get((requirement, value))


def plan_order(frame: pd.DataFrame) -> pd.DataFrame:
    """Items in plan order: overdue first, then priority, then the earlier due date, then the oldest.

    `frame` holds past_due (bool: overdue), priority, due_date and id.
    """
    return frame.sort_values(["past_due", "priority", "due_date", "id"], ascending=[False, True, True, True],
                             kind="stable").reset_index(drop=True)
