"""Revalidation readiness: a checklist computed from the data against what a CBP validation looks at.

Each item is green (in order), amber (needs attention soon, or only partly in order) or red (missing, overdue, or
Unknown because the data to judge it is not recorded: never a reassuring default), with the reason in words, the
basis it rests on and where the records behind it are (a page's url_path and the filter to apply there).
"""

from dataclasses import dataclass, field
from datetime import date, timedelta
from enum import StrEnum
from typing import Any

import pandas as pd
from sqlmodel import Session

from models.actions import ActionStatus
from models.certificate import CertificateStatus
from models.common import Requirement
from models.risk import Band
from models.selfassessment import SelfAssessmentStatus
from services import procedure
from services.actions import items as action_items
from services.actions import states as action_states
from services.certificates import rule as certificate_rule
from services.certificates import settings as certificate_settings
from services.risk import assessment
from services.selfassessment import assessment as self_assessment

YEAR_DAYS = 365
SOON_DAYS = 30  # amber this many days before a yearly item lapses
LATE_DAYS = 30  # an action item overdue longer than this is red
CONTINUITY_CRITERION = "2.4"  # MSC 2.4: crisis management, business continuity, security recovery and resumption


class Light(StrEnum):
    green = "green"
    amber = "amber"
    red = "red"


@dataclass(frozen=True)
class Item:
    """One line of the checklist."""

    key: str
    title: str
    light: Light
    reason: str
    basis: str
    url_path: str  # the page holding the records behind it
    filter: dict[str, str] = field(default_factory=dict)  # what to filter there (query parameters)
    count: int | None = None  # how many records need attention (None: not a count)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


def _risk_assessment(session: Session, today: date) -> Item:
    snapshots = assessment.list_snapshots(session=session)
    basis = "MSC 2.3: the risk assessment is reviewed at least once a year (dated snapshot)"
    if snapshots.empty:
        return Item("risk_assessment", "Risk assessment reviewed within 12 months", Light.red,
                    "No assessment snapshot was ever taken: there is no dated record of a review (Unknown).",
                    basis, "scoring", {"view": "snapshots"})
    latest = snapshots.sort_values("as_of").iloc[-1]
    as_of = pd.Timestamp(latest["as_of"]).date()
    age = (today - as_of).days
    left = YEAR_DAYS - age
    if left < 0:
        light, reason = Light.red, f"Latest snapshot “{latest['name']}” is of {as_of.isoformat()}, {age} days ago."
    elif left <= SOON_DAYS:
        light, reason = Light.amber, (f"Latest snapshot “{latest['name']}” is of {as_of.isoformat()}: the next "
                                      f"review is due in {left} days.")
    else:
        light, reason = Light.green, f"Latest snapshot “{latest['name']}” is of {as_of.isoformat()} ({age} days ago)."
    return Item("risk_assessment", "Risk assessment reviewed within 12 months", light, reason, basis, "scoring",
                {"view": "snapshots"})


def _procedure(session: Session, today: date) -> Item:
    title, basis = "Procedure signed within a year", "CBP step 5 and MSC 2.3: a documented, approved procedure"
    state = procedure.status(session=session, today=today)
    if state["signed_version"] is None:
        saved = state["latest_version"]
        return Item("procedure", title, Light.red,
                    "No version of the risk assessment procedure is signed off"
                    + (f" (version {saved} is saved, not signed)." if saved else " (none is saved)."),
                    basis, "procedure")
    signed_on, review = state["approved_on"], state["next_review_on"]
    who = f"Version {state['signed_version']} signed by {state['approved_by']} on {signed_on.isoformat()}"
    if (today - signed_on).days > YEAR_DAYS or review < today:
        return Item("procedure", title, Light.red, f"{who}; its review was due on {review.isoformat()}.", basis,
                    "procedure")
    if state["latest_unsigned"]:
        return Item("procedure", title, Light.amber, f"{who}; version {state['latest_version']} is saved and waits "
                    "for sign-off.", basis, "procedure")
    if state["days_to_review"] <= SOON_DAYS:
        return Item("procedure", title, Light.amber, f"{who}; review due in {state['days_to_review']} days "
                    f"({review.isoformat()}).", basis, "procedure")
    return Item("procedure", title, Light.green, f"{who}; next review by {review.isoformat()}.", basis, "procedure")


def _partners(session: Session, today: date, current: assessment.Assessment) -> Item:
    title = "Every active partner screened"
    basis = ("MSC 3.1 to 3.7: each partner assessed, exempt by a certificate that counts, or with an open action; "
             "re-assessed at the interval of its risk band")
    source, scores = current.inputs.partners, current.scores.partners
    if source.empty:
        return Item("partners", title, Light.red, "No active partner is on file (Unknown): map the business "
                    "partners first (step 1).", basis, "partners")
    ids = source["partner_id"].astype(int).to_numpy()
    covered = source["covered"].to_numpy(dtype=bool)
    assessed = (scores["vulnerability_base"] != Band.unknown).to_numpy()
    plan = action_items.list_items(session=session, today=today, statuses=action_states.NOT_CLOSED)
    with_action = pd.Series(ids).isin(plan["partner_id"].dropna().astype(int)).to_numpy()
    unscreened = int((~covered & ~assessed & ~with_action).sum())
    only_action = int((~covered & ~assessed & with_action).sum())
    overdue = assessment.reassessment_due(current, horizon_days=0)
    late = int(((overdue["days_left"] < 0) & overdue["last_assessed"].notna()).sum())
    counts = (f"{_plural(len(ids), 'active partner')}: {int((assessed & ~covered).sum())} assessed, "
              f"{int(covered.sum())} exempt by a certificate that counts, {only_action} only with an open action, "
              f"{unscreened} not screened")
    if unscreened:
        return Item("partners", title, Light.red, counts + ".", basis, "scoring", {"view": "reassessment due"},
                    unscreened)
    if only_action or late:
        extra = f"; {_plural(late, 'partner')} past the re-assessment interval" if late else ""
        return Item("partners", title, Light.amber, counts + extra + ".", basis, "scoring",
                    {"view": "reassessment due"}, only_action + late)
    return Item("partners", title, Light.green, counts + ".", basis, "scoring", {"view": "reassessment due"}, 0)


def _actions(session: Session, today: date) -> Item:
    title, basis = "Action items closed or on time", "CBP step 4: the action plan is carried out by its due dates"
    plan = action_items.list_items(session=session, today=today)
    open_items = plan[plan["status"] != ActionStatus.closed]
    late = open_items[open_items["past_due"]]
    if plan.empty:
        return Item("actions", title, Light.green, "No action items are on record.", basis, "actions", {}, 0)
    worst = int(-late["days_left"].min()) if not late.empty else 0
    text = (f"{_plural(len(open_items), 'open item')}, {len(late)} overdue"
            + (f" (the oldest by {worst} days)" if worst else "") + f"; {int((plan['status'] == 'closed').sum())} "
            "closed.")
    light = Light.green if late.empty else Light.red if worst > LATE_DAYS else Light.amber
    return Item("actions", title, light, text, basis, "actions", {"status": "past due"} if len(late) else {}, len(late))


def _certificates(session: Session, today: date) -> Item:
    title = "Certificates verified within the interval"
    days = certificate_settings.current(session=session).recheck_days
    basis = f"MSC 3.4: a partner's CTPAT or mutual-recognition status is checked at least every {days} days"
    certs = certificate_rule.load_certificates(session=session, day=today, active_only=True)
    valid_to = pd.to_datetime(certs["valid_to"])
    live = certs[certs["status"].isin([CertificateStatus.claimed, CertificateStatus.verified])
                 & (certs["no_expiry"].astype(bool) | valid_to.isna() | (valid_to >= pd.Timestamp(today)))]
    if live.empty:
        return Item("certificates", title, Light.green, "No certificate in force is on file, so none needs a check.",
                    basis, "mutual_recognition", {}, 0)
    last = pd.to_datetime(live["last_verified"])
    never = int(last.isna().sum())
    stale = int((last < pd.Timestamp(today - timedelta(days=days))).sum())
    text = (f"{_plural(len(live), 'certificate')} in force: {never} never verified, {stale} last verified more than "
            f"{days} days ago.")
    light = Light.red if never else Light.amber if stale else Light.green
    return Item("certificates", title, light, text, basis, "mutual_recognition",
                {"certificates": "to check"} if never or stale else {}, never + stale)


def _self_assessment(session: Session) -> Item:
    title = "Self-assessment complete for every must criterion"
    basis = "The Security Profile in the CTPAT portal states how each criterion is met"
    rows = self_assessment.rows(session=session)
    must = rows[rows["requirement"] == Requirement.must]
    if must.empty:
        return Item("self_assessment", title, Light.red, "No must criteria are on file for the company's entity type "
                    "(Unknown).", basis, "self_assessment")
    missing = int(((must["narrative"].str.strip() == "") | must["status"].isna()).sum())
    weak = int(must["status"].isin([SelfAssessmentStatus.not_met, SelfAssessmentStatus.partly_met]).sum())
    text = (f"{len(must) - missing} of {len(must)} must criteria have a narrative and a status; {missing} do not"
            + (f"; {weak} are not or only partly met" if weak else "") + ".")
    light = Light.red if missing else Light.amber if weak else Light.green
    return Item("self_assessment", title, light, text, basis, "self_assessment",
                {"flag": "must without narrative"} if missing else {}, missing + weak)


def _continuity(session: Session) -> Item:
    title = "Business continuity plan on file"
    basis = (f"MSC {CONTINUITY_CRITERION}: written crisis management, business continuity, security recovery and "
             f"resumption procedures; recorded as the evidence of criterion {CONTINUITY_CRITERION} in the "
             "self-assessment")
    rows = self_assessment.rows(session=session)
    row = rows[rows["criterion_id"] == CONTINUITY_CRITERION]
    target = {"criterion": CONTINUITY_CRITERION}
    if row.empty:
        return Item("continuity", title, Light.red, f"Criterion {CONTINUITY_CRITERION} is not among the company's "
                    "criteria, so no plan is recorded (Unknown).", basis, "self_assessment", target)
    r = row.iloc[0]
    files = int(r["evidence_count"])
    if files and r["status"] == SelfAssessmentStatus.met:
        return Item("continuity", title, Light.green, f"Criterion {CONTINUITY_CRITERION} is met with "
                    f"{_plural(files, 'evidence file')}: {', '.join(r['evidence_files'].splitlines())}.", basis,
                    "self_assessment", target)
    if files or r["narrative"].strip():
        status = r["status"].value if r["status"] is not None else "not assessed"
        return Item("continuity", title, Light.amber, f"Criterion {CONTINUITY_CRITERION} is {status} with "
                    f"{_plural(files, 'evidence file')}"
                    + ("" if files else ": the plan is described but no plan document is attached") + ".",
                    basis, "self_assessment", target)
    return Item("continuity", title, Light.red, "No business continuity plan is recorded: criterion "
                f"{CONTINUITY_CRITERION} has no narrative and no evidence file (Unknown).", basis,
                "self_assessment", target)


def checklist(*, session: Session, today: date, current: assessment.Assessment | None = None) -> list[Item]:
    """The revalidation readiness checklist on `today`, in the order a validation walks through it.

    `current`: today's assessment under the active configuration when the caller holds it already (the app's cached
    scoring); otherwise it is loaded and scored here.
    """
    current = current or assessment.current(session=session, today=today)
    return [_risk_assessment(session, today), _procedure(session, today), _partners(session, today, current),
            _actions(session, today), _certificates(session, today), _self_assessment(session),
            _continuity(session)]


def summary(items: list[Item]) -> dict[str, Any]:
    """How many items are green, amber and red, and the worst light."""
    counts = {light.value: sum(i.light == light for i in items) for light in Light}
    worst = Light.red if counts["red"] else Light.amber if counts["amber"] else Light.green
    return {**counts, "worst": worst}
