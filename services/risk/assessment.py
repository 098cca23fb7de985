"""The assessment as the team keeps it: today's scores under the active configuration, dated snapshots (the record
for CBP: configuration plus every score, who ran it; never changed), the comparison of two snapshots, and the
re-screening that follows risk (MSC 3.7: a reassessment interval per risk band).
"""

from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import insert
from sqlmodel import Session, col, select

from models import RiskAssessment, RiskAssessmentScore
from models.risk import Band, SubjectKind
from models.threats import CATEGORY_LABELS
from services.core import audit
from services.core.permissions import Actor, ValidationError, require_write
from services.risk import config as risk_config
from services.risk import inputs as risk_inputs
from services.risk.config import LEVELS, RiskConfig
from services.risk.inputs import Inputs
from services.risk.scoring import CODE, Scores, distribution, ranked, score

SNAPSHOT_COLUMNS = ["id", "name", "as_of", "run_by", "run_at", "configuration_version", "partners_high",
                    "partners_medium", "partners_low", "lanes_high", "lanes_medium", "lanes_low", "note"]
SCORE_COLUMNS = ["kind", "subject_id", "code", "name", "country", "threat", "vulnerability", "vulnerability_score",
                 "risk", "matrix_risk", "certificate_credit", "incidents", "impact_raised", "questionnaire_overdue",
                 "threat_detail", "vulnerability_detail"]
MOVE_COLUMNS = ["kind", "code", "name", "before", "after", "direction", "why"]
DUE_COLUMNS = ["partner_id", "partner_code", "legal_name", "country_iso2", "risk", "last_assessed", "every_months",
               "due_on", "days_left", "why"]


@dataclass(frozen=True)
class Assessment:
    """Today's inputs and scores under a configuration (the active one unless a what-if was given)."""

    inputs: Inputs
    scores: Scores
    version: int | None  # the saved configuration version; None: the defaults or an unsaved what-if


def current(*, session: Session, today: date, config: RiskConfig | None = None) -> Assessment:
    """Load the inputs and score them with `config`, or with the active configuration."""
    version = None
    if config is None:
        config, version = risk_config.active(session=session)
    loaded = risk_inputs.load(session=session, today=today)
    return Assessment(loaded, score(loaded, config), version)


def _threat_detail(inputs: Inputs, scores: Scores) -> np.ndarray:
    p, source = scores.partners, inputs.partners
    region = source["threat_region"].to_numpy(dtype=object)
    place = np.where(region != "", region, source["threat_iso2"].to_numpy(dtype=object))
    out = []
    for where, level, category, unknown, override, inherited in zip(
            place, p["place_threat"], p["threat_category"], p["place_threat_unknown"], p["threat_override"],
            p["threat_inherited"], strict=True):
        text = f"{where} {level}"
        if override:
            text += " (what-if override)"
        elif unknown:
            text += f" (Unknown counted as {scores.threat_unknown_as})"
        elif category:
            text += f" ({CATEGORY_LABELS.get(category, category).split(' (')[0].lower()})"
        if inherited:
            text += "; a lane it serves is higher"
        out.append(text)
    return np.array(out, dtype=object)


def _vulnerability_detail(inputs: Inputs, scores: Scores) -> np.ndarray:
    p = scores.partners
    gaps = scores.category_gap
    worst = np.where(np.isnan(gaps).all(axis=1, keepdims=True), -1, np.nan_to_num(gaps, nan=-1)).argmax(axis=1)
    out = []
    for i, (base, share, musts, covered, incidents) in enumerate(zip(
            p["vulnerability_base"], p["vulnerability_score"], p["unmet_musts"], p["covered"], p["incidents"],
            strict=True)):
        if base == Band.unknown:
            text = "no accepted answers within the age"
        else:
            text = f"{share:.1f} % not met, {int(musts)} must(s) not met"
            if worst[i] > 0 and gaps[i, worst[i]] > 0:
                text += f"; weakest {inputs.categories[worst[i]]} {gaps[i, worst[i]]:.0f} %"
        if covered:
            text += "; certificate counts"
        if incidents:
            text += f"; {int(incidents)} open incident(s)"
        out.append(text)
    return np.array(out, dtype=object)


def _rows(inputs: Inputs, scores: Scores) -> list[dict[str, Any]]:
    p, lanes = scores.partners, scores.lanes
    partners = pd.DataFrame({
        "kind": SubjectKind.partner.value, "subject_id": p["partner_id"].astype(int), "code": p["partner_code"],
        "name": p["legal_name"].str.slice(0, 200), "country": p["country_iso2"], "threat": p["threat"],
        "vulnerability": p["vulnerability"], "vulnerability_score": p["vulnerability_score"], "risk": p["risk"],
        "matrix_risk": p["matrix_risk"], "certificate_credit": p["certificate_credit"] | (
            p["covered"] & (p["vulnerability_base"] == Band.unknown)),
        "incidents": p["incidents"].astype(int), "impact_raised": p["impact_raised"],
        "questionnaire_overdue": p["questionnaire_overdue"],
        "threat_detail": _threat_detail(inputs, scores), "vulnerability_detail": _vulnerability_detail(inputs, scores),
    })
    lane_rows = pd.DataFrame({
        "kind": SubjectKind.lane.value, "subject_id": lanes["lane_id"].astype(int), "code": lanes["code"],
        "name": lanes["name"].str.slice(0, 200), "country": "", "threat": lanes["threat"],
        "vulnerability": lanes["vulnerability"], "vulnerability_score": np.nan, "risk": lanes["risk"],
        "matrix_risk": lanes["matrix_risk"], "certificate_credit": False, "incidents": lanes["incidents"].astype(int),
        "impact_raised": lanes["impact_raised"], "questionnaire_overdue": False,
        "threat_detail": ("highest at " + lanes["threat_location"].astype(str)).str.slice(0, 1000),
        "vulnerability_detail": ("weakest party " + lanes["weakest"].astype(str)).str.slice(0, 1000),
    })
    frame = pd.concat([partners, lane_rows], ignore_index=True)
    frame["vulnerability_score"] = frame["vulnerability_score"].astype(object).where(
        frame["vulnerability_score"].notna(), None)
    for column in ("certificate_credit", "impact_raised", "questionnaire_overdue"):
        frame[column] = frame[column].astype(bool)
    return frame.to_dict("records")


def take_snapshot(*, session: Session, actor: Actor, name: str, today: date, note: str = "") -> RiskAssessment:
    """Save today's scores under the active configuration as a named, dated, immutable snapshot (analysts and
    admins); audited. Names are unique."""
    require_write(actor)
    name = (name or "").strip()
    if not name:
        raise ValidationError("name: required, e.g. \"2027 Q1 risk assessment\"")
    if len(name) > 120:
        raise ValidationError("name: at most 120 characters")
    if len(note) > 1000:
        raise ValidationError("note: at most 1000 characters")
    if session.exec(select(RiskAssessment.id).where(RiskAssessment.name == name)).first() is not None:
        raise ValidationError(f"name: a snapshot called '{name}' already exists")
    done = current(session=session, today=today)
    config = done.scores.config.replace(threat_unknown_as=done.scores.threat_unknown_as)
    summary = {"partners": distribution(done.scores.partners), "lanes": distribution(done.scores.lanes),
               "partner_count": len(done.scores.partners), "lane_count": len(done.scores.lanes)}
    snapshot = RiskAssessment(name=name, as_of=today, configuration=config.to_dict(),
                              configuration_version=done.version, summary=summary, note=note.strip(),
                              run_by=actor.username)
    session.add(snapshot)
    session.flush()
    rows = _rows(done.inputs, done.scores)
    for row in rows:
        row["assessment_id"] = snapshot.id
    if rows:
        session.exec(insert(RiskAssessmentScore), params=rows)
    p = summary["partners"]
    audit.record(session=session, actor=actor, action="create", entity="risk assessment", entity_id=snapshot.id,
                 summary=f"Saved assessment snapshot '{name}' as of {today.isoformat()} (configuration "
                         f"{done.version or 'defaults'}): partners High {p['High']}, Medium {p['Medium']}, "
                         f"Low {p['Low']}; {summary['lane_count']} lanes",
                 after={"name": name, "as_of": today, "configuration_version": done.version, **summary})
    return snapshot


def list_snapshots(*, session: Session) -> pd.DataFrame:
    """Every snapshot, newest first, with its counts per band (SNAPSHOT_COLUMNS)."""
    rows = session.exec(select(RiskAssessment).order_by(col(RiskAssessment.run_at).desc(),
                                                        col(RiskAssessment.id).desc())).all()
    out = []
    for r in rows:
        p, lanes = r.summary.get("partners", {}), r.summary.get("lanes", {})
        out.append({"id": r.id, "name": r.name, "as_of": r.as_of, "run_by": r.run_by, "run_at": r.run_at,
                    "configuration_version": r.configuration_version, "partners_high": p.get("High", 0),
                    "partners_medium": p.get("Medium", 0), "partners_low": p.get("Low", 0),
                    "lanes_high": lanes.get("High", 0), "lanes_medium": lanes.get("Medium", 0),
                    "lanes_low": lanes.get("Low", 0), "note": r.note})
    return pd.DataFrame(out, columns=SNAPSHOT_COLUMNS)


def snapshot_scores(*, session: Session, assessment_id: int) -> pd.DataFrame:
    """Every score of a snapshot (SCORE_COLUMNS), partners then lanes, riskiest first."""
    rows = session.exec(select(*(getattr(RiskAssessmentScore, c) for c in SCORE_COLUMNS))
                        .where(RiskAssessmentScore.assessment_id == assessment_id)).all()
    frame = pd.DataFrame([tuple(r) for r in rows], columns=SCORE_COLUMNS)
    frame["kind"] = frame["kind"].astype(str)
    order = frame["risk"].map(CODE).fillna(0) * -1
    return frame.assign(_o=order).sort_values(["kind", "_o", "code"], ascending=[False, True, True]) \
        .drop(columns="_o").reset_index(drop=True)


def _get(session: Session, assessment_id: int) -> RiskAssessment:
    found = session.get(RiskAssessment, assessment_id)
    if found is None:
        raise ValidationError(f"No snapshot with id {assessment_id}")
    return found


def compare(*, session: Session, before_id: int, after_id: int) -> dict[str, Any]:
    """Who moved bands between two snapshots and why: {"before", "after" (names and dates), "configuration"
    (what changed, in words), "moves" (MOVE_COLUMNS: every partner or lane whose risk band changed, or that is new
    or gone), "counts" ({kind: {"up", "down", "new", "gone"}})}."""
    before, after = _get(session, before_id), _get(session, after_id)
    old = snapshot_scores(session=session, assessment_id=before_id)
    new = snapshot_scores(session=session, assessment_id=after_id)
    joined = old.merge(new, on=["kind", "subject_id"], how="outer", suffixes=("_b", "_a"), indicator=True)
    moves = []
    for r in joined.to_dict("records"):
        if r["_merge"] == "left_only":
            moves.append({"kind": r["kind"], "code": r["code_b"], "name": r["name_b"], "before": r["risk_b"],
                          "after": "", "direction": "gone", "why": "no longer scored (inactive or removed)"})
            continue
        if r["_merge"] == "right_only":
            moves.append({"kind": r["kind"], "code": r["code_a"], "name": r["name_a"], "before": "",
                          "after": r["risk_a"], "direction": "new", "why": "scored for the first time"})
            continue
        if r["risk_b"] == r["risk_a"]:
            continue
        up = CODE[r["risk_a"]] > CODE[r["risk_b"]]
        moves.append({"kind": r["kind"], "code": r["code_a"], "name": r["name_a"], "before": r["risk_b"],
                      "after": r["risk_a"], "direction": "up" if up else "down", "why": "; ".join(_why(r))})
    frame = pd.DataFrame(moves, columns=MOVE_COLUMNS)
    order = {"up": 0, "down": 1, "new": 2, "gone": 3}
    frame = frame.assign(_o=frame["direction"].map(order)).sort_values(["kind", "_o", "code"],
                                                                        ascending=[False, True, True])
    counts = {kind: {d: int(((frame["kind"] == kind) & (frame["direction"] == d)).sum()) for d in order}
              for kind in (SubjectKind.partner.value, SubjectKind.lane.value)}
    changes = risk_config.describe_changes(RiskConfig.from_dict(before.configuration),
                                           RiskConfig.from_dict(after.configuration))
    return {"before": {"name": before.name, "as_of": before.as_of}, "after": {"name": after.name, "as_of": after.as_of},
            "configuration": changes, "moves": frame.drop(columns="_o").reset_index(drop=True), "counts": counts}


def _why(r: dict[str, Any]) -> list[str]:
    """The components that changed between two scores of one partner or lane, in words."""
    out = []
    if r["threat_b"] != r["threat_a"]:
        out.append(f"threat {r['threat_b']} → {r['threat_a']} ({r['threat_detail_a']})")
    if r["vulnerability_b"] != r["vulnerability_a"]:
        out.append(f"vulnerability {r['vulnerability_b']} → {r['vulnerability_a']} ({r['vulnerability_detail_a']})")
    if bool(r["certificate_credit_b"]) != bool(r["certificate_credit_a"]):
        out.append("certificate credit " + ("gained" if r["certificate_credit_a"] else "lost"))
    if int(r["incidents_b"]) != int(r["incidents_a"]):
        out.append(f"open incidents {int(r['incidents_b'])} → {int(r['incidents_a'])}")
    if bool(r["impact_raised_b"]) != bool(r["impact_raised_a"]):
        out.append("high impact now raises it" if r["impact_raised_a"] else "high impact no longer raises it")
    if not out:
        out.append(f"same threat and vulnerability; the matrix gives {r['matrix_risk_a']} now "
                   f"(was {r['matrix_risk_b']}): the configuration changed")
    return out


def reassessment_due(assessment: Assessment, *, horizon_days: int = 60) -> pd.DataFrame:
    """Partners whose reassessment (MSC 3.7) is due within `horizon_days`, most overdue first (DUE_COLUMNS).

    Due = last assessed (the later of the last accepted questionnaire and the last site visit) + the interval of
    its risk band; a partner never assessed, or not within the answer age, is due now. Partners a certificate
    covers are left out: their re-screening is the certificate's re-check (services.certificates.rule).
    """
    inputs, scores = assessment.inputs, assessment.scores
    months = scores.config.reassess_months
    today = pd.Timestamp(inputs.today)
    p = scores.partners
    source = inputs.partners
    accepted = pd.to_datetime(source["last_accepted"], errors="coerce")
    visited = pd.to_datetime(source["last_visit"], errors="coerce")
    last = pd.concat([accepted, visited], axis=1).max(axis=1)
    interval = p["risk"].map(months).astype(int)
    due = pd.Series([d + pd.DateOffset(months=int(m)) if pd.notna(d) else today for d, m in zip(last, interval,
                                                                                              strict=True)])
    stale = p["vulnerability_base"] == Band.unknown
    due = due.where(~stale | (due < today), today)
    why = np.where(last.isna(), "never assessed", np.where(stale, f"no accepted answers within "
                                                           f"{scores.config.answer_max_age_months} months",
                                                           p["risk"] + " risk: every " + interval.astype(str)
                                                           + " months"))
    frame = pd.DataFrame({
        "partner_id": p["partner_id"], "partner_code": p["partner_code"], "legal_name": p["legal_name"],
        "country_iso2": p["country_iso2"], "risk": p["risk"], "last_assessed": last.dt.date,
        "every_months": interval, "due_on": due.dt.date, "days_left": (due - today).dt.days, "why": why,
    })
    frame = frame[~source["covered"].to_numpy() & (frame["days_left"] <= horizon_days).to_numpy()]
    return frame.sort_values(["days_left", "partner_code"]).reset_index(drop=True)[DUE_COLUMNS]


def partners_in_bands(assessment: Assessment, bands: list[str]) -> list[int]:
    """Ids of the partners whose risk band is one of `bands` (Low, Medium, High; any case)."""
    wanted = {_band(b) for b in bands}
    p = assessment.scores.partners
    return p.loc[p["risk"].isin(wanted), "partner_id"].astype(int).tolist()


def _band(text: str) -> str:
    found = {b.value.casefold(): b.value for b in LEVELS}.get(str(text).strip().casefold())
    if found is None:
        raise ValidationError(f"risk band: '{text}' is not one of {', '.join(b.value for b in LEVELS)}")
    return found


def ranking(assessment: Assessment) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Partners and lanes riskiest first."""
    return ranked(assessment.scores.partners), ranked(assessment.scores.lanes)
