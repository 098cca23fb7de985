"""Why a partner's or a lane's band is what it is, in words a manager understands.

Each explanation is built from the same inputs, configuration and scores as the ranking (nothing is recomputed
differently): the matrix cell, the threat and its sources, the categories and criteria that drive vulnerability,
the certificate credit, open incidents, the impact step and the flags. Sentences are plain text (pages show them
literally); tables come as frames.
"""

from typing import Any

import numpy as np
import pandas as pd

from models.collection import AnswerValue
from models.common import Requirement
from models.lanes import Custody
from models.risk import Band
from models.threats import CATEGORY_LABELS, ThreatLevel
from services.risk.inputs import THREAT_CATEGORIES, VALUES, Inputs
from services.risk.scoring import CODE, Scores, node_threats
from services.threats import register

ANSWER_WORDS = {AnswerValue.yes: "met", AnswerValue.partial: "partly met", AnswerValue.no: "not met",
                AnswerValue.na: "not applicable"}
CRITERIA_COLUMNS = ["criterion_id", "category", "requirement", "summary", "value", "source", "day", "counts",
                    "gap", "note"]


def _lower(text: str) -> str:
    """A label inside a sentence: its first letter in lower case, acronyms kept ("forced labor (MSC 3.9 ...)")."""
    return text[:1].lower() + text[1:]


def _pct(value: float) -> str:
    return f"{value:.1f} %".replace(".0 %", " %")


def _band_change(before: str, after: str) -> str:
    return f"{before} → {after}" if before != after else f"stays {after}"


def _place(inputs: Inputs, iso2: str, region_code: str) -> tuple[str, pd.DataFrame]:
    """A place in words and the threat register's rows that rate it (its region's, else its country's)."""
    table = inputs.threat_table
    rows = table[(table["iso2"] == iso2) & (table["region_code"] == region_code)] if region_code else table.iloc[0:0]
    if rows.empty:
        rows = table[(table["iso2"] == iso2) & (table["region_code"] == "")]
    country = rows["country"].iloc[0] if len(rows) else iso2
    region = rows["region"].iloc[0] if len(rows) and region_code and rows["region_code"].iloc[0] else ""
    words = f"{region}, {country} ({region_code})" if region else f"{country} ({iso2})" if iso2 else "an unknown place"
    return words, rows


def threat_rows(inputs: Inputs, scores: Scores, iso2: str, region_code: str) -> pd.DataFrame:
    """The categories of a place's threat: level, whether it counts, the rule, the source and its date."""
    _, rows = _place(inputs, iso2, region_code)
    counted = set(scores.config.threat_categories)
    out = rows.assign(counts=rows["category"].isin(counted) & (rows["level"] != register.NOT_ASSESSED),
                      category=rows["category"].map(lambda c: CATEGORY_LABELS.get(c, c)))
    return out[["category", "level", "counts", "status", "rule", "source", "as_of", "stale"]].reset_index(drop=True)


def _threat_sentences(inputs: Inputs, scores: Scores, iso2: str, region_code: str, level: str,
                      decided_by_unknown: bool, category: str, overridden: bool) -> list[str]:
    where, rows = _place(inputs, iso2, region_code)
    unknown_as = scores.threat_unknown_as
    if overridden:
        return [f"The what-if treats {where} as {level} (threat override), whatever the register says."]
    if rows.empty or not category:
        return [f"No threat source rates {where}: Unknown, counted as {unknown_as}."]
    row = rows[rows["category"] == category]
    label = CATEGORY_LABELS.get(category, category)
    if decided_by_unknown:
        text = (f"The threat register has no value for {_lower(label)} in {where}: Unknown, counted as "
                f"{unknown_as}, which is the worst of its categories.")
    else:
        text = f"Threat in {where} is {level}, set by {_lower(label)}"
        if len(row):
            r = row.iloc[0]
            basis = "; ".join(part for part in (str(r["rule"] or ""), f"source: {r['source']}" if r["source"] else "",
                                               f"as of {r['as_of']}" if pd.notna(r["as_of"]) and r["as_of"] else "",
                                               "stale" if r["stale"] else "", "suggested, not yet reviewed"
                                               if r["status"] == "suggested" else "") if part)
            text += f" ({basis})" if basis else ""
        text += "."
    others = rows[(rows["level"] == level) & (rows["category"] != category)
                  & rows["category"].isin(scores.config.threat_categories)]
    if len(others) and level in (ThreatLevel.high, ThreatLevel.medium):
        text += " Also " + level + ": " + ", ".join(_lower(CATEGORY_LABELS.get(c, c)) for c in others["category"]) \
            + "."
    left_out = [_lower(CATEGORY_LABELS.get(c, c)) for c in THREAT_CATEGORIES
                if c not in scores.config.threat_categories]
    if left_out:
        text += f" Not counted in this configuration: {', '.join(left_out)}."
    return [text]


def partner_criteria(inputs: Inputs, scores: Scores, partner_id: int) -> pd.DataFrame:
    """Every criterion the partner is asked with what counts for it: the answer or finding, its day and source,
    whether it counts (within the age), and the weight of its gap (CRITERIA_COLUMNS), biggest gaps first."""
    config = scores.config
    positions = inputs.partners.index[inputs.partners["partner_id"] == partner_id]
    if len(positions) == 0:
        return pd.DataFrame(columns=CRITERIA_COLUMNS)
    pidx = int(positions[0])
    member = inputs.members[inputs.members["pidx"] == pidx]
    if member.empty:
        return pd.DataFrame(columns=CRITERIA_COLUMNS)
    asked = inputs.sets[inputs.sets["set_id"] == int(member["set_id"].iloc[0])]
    cut = scores.cutoff.date()

    def rows_of(frame: pd.DataFrame) -> pd.DataFrame:
        lo, hi = np.searchsorted(frame["pidx"].to_numpy(), [pidx, pidx + 1])
        return frame.iloc[lo:hi].set_index("criterion_id")

    answers, findings = rows_of(inputs.answers), rows_of(inputs.findings)
    criteria = inputs.criteria.set_index("criterion_id")
    out = []
    for c in asked.itertuples():
        must = c.requirement == Requirement.must
        unmet = config.must_unmet if must else config.should_unmet
        partial = config.must_partial if must else config.should_partial
        found = answers.loc[c.criterion_id] if c.criterion_id in answers.index else None
        finding = findings.loc[c.criterion_id] if c.criterion_id in findings.index else None
        day = lambda r: (np.datetime64("1970-01-01") + np.timedelta64(int(r["day"]), "D")).astype(object)  # noqa: E731
        if finding is not None and day(finding) >= cut:
            value, justified, source, when = VALUES[int(finding["value"])], True, \
                f"site visit by {finding['visited_by']}", day(finding)
            note = str(finding["note"] or "")
        elif found is not None and day(found) >= cut:
            value, justified, source, when, note = VALUES[int(found["value"])], bool(found["justified"]), \
                "questionnaire", day(found), ""
        elif found is not None:
            value, justified, source, when, note = None, False, "questionnaire (too old)", day(found), ""
        else:
            value, justified, source, when, note = None, False, "", None, ""
        if value is None:
            gap, counts, word = unmet, True, "not answered within the age"
        elif value == AnswerValue.na and justified:
            gap, counts, word = 0.0, False, "not applicable (justified)"
        elif value == AnswerValue.na:
            gap, counts, word = unmet, True, "not applicable without a justification"
        else:
            gap = {AnswerValue.yes: 0.0, AnswerValue.partial: partial, AnswerValue.no: unmet}[value]
            counts, word = True, ANSWER_WORDS[value]
        if finding is not None and source.startswith("site visit") and found is not None:
            shown = VALUES[int(found["value"])]
            note = (note + " " if note else "") + f"(the partner reported: {ANSWER_WORDS[shown]})"
        weight = float(config.category_weights.get(str(c.category_number), 1.0))
        out.append({"criterion_id": c.criterion_id, "category": c.category, "requirement": c.requirement,
                    "summary": str(criteria.loc[c.criterion_id, "summary"]) if c.criterion_id in criteria.index
                    else "", "value": word, "source": source, "day": when, "counts": counts,
                    "gap": gap * weight, "note": note})
    frame = pd.DataFrame(out, columns=CRITERIA_COLUMNS)
    return frame.sort_values(["gap", "criterion_id"], ascending=[False, True], kind="stable").reset_index(drop=True)


def category_rows(inputs: Inputs, scores: Scores, partner_id: int) -> pd.DataFrame:
    """Per MSC category the partner is asked: the weighted share of criteria not met (percent), worst first."""
    positions = inputs.partners.index[inputs.partners["partner_id"] == partner_id]
    if len(positions) == 0:
        return pd.DataFrame(columns=["category_number", "category", "not_met"])
    shares = scores.category_gap[int(positions[0])]
    rows = [{"category_number": n, "category": inputs.categories[n], "not_met": round(float(shares[n]), 1)}
            for n in range(1, 13) if not np.isnan(shares[n])]
    frame = pd.DataFrame(rows, columns=["category_number", "category", "not_met"])
    return frame.sort_values(["not_met", "category_number"], ascending=[False, True]).reset_index(drop=True)


def explain_partner(inputs: Inputs, scores: Scores, partner_id: int) -> dict[str, Any]:
    """Why a partner's risk band is what it is: {"headline", "threat", "vulnerability", "adjustments" (lists of
    sentences), "criteria", "categories", "threats" (frames)}; None-free, plain text."""
    p = scores.partners.set_index("partner_id").loc[partner_id]
    source = inputs.partners.set_index("partner_id").loc[partner_id]
    config = scores.config
    headline = (f"{p['partner_code']} is {p['risk']} risk: threat {p['threat']} × vulnerability "
                f"{p['vulnerability']}" + (" (read as High)" if p["vulnerability"] == Band.unknown else "")
                + f" gives {p['matrix_risk']} in the risk matrix")
    headline += f", raised to {p['risk']} for high impact." if p["impact_raised"] else "."

    threat = _threat_sentences(inputs, scores, source["threat_iso2"], source["threat_region"], p["place_threat"],
                               bool(p["place_threat_unknown"]), p["threat_category"], bool(p["threat_override"]))
    lanes = partner_lanes(inputs, scores, partner_id)
    if p["threat_inherited"] and len(lanes):
        worst = lanes.iloc[0]
        threat = [f"It serves lane {worst['code']} ({worst['name']}), whose threat is {worst['threat']} at "
                  f"{worst['threat_location']}; the partner takes the lane's threat because it is higher than that of "
                  f"its own place ({p['place_threat']})."] + threat
    elif len(lanes):
        worst = lanes.iloc[0]
        tail = ", not higher than its own." if config.inherit_lane_threat else \
            " (partners do not inherit lane threat in this configuration)."
        threat.append(f"It serves {len(lanes)} lane(s); the worst, {worst['code']}, is {worst['threat']} threat{tail}")
    if source["restricted_party"]:
        threat.append(f"Confirmed restricted-party match ({source['restricted_party']}): forced labor counts as High.")

    vulnerability = _vulnerability_sentences(inputs, scores, p, source)
    adjustments = []
    if p["covered"]:
        basis = source["certificate"] or "a certificate that counts today"
        if p["vulnerability_base"] == Band.unknown:
            adjustments.append(f"Certificate: {basis}. It has no answers within the age, and a certified partner is "
                               "exempt from the questionnaire, so its vulnerability is Low. It is still rated for "
                               "threat and risk.")
        elif p["certificate_credit"]:
            adjustments.append(f"Certificate: {basis}. That lowers vulnerability {config.certificate_credit} band(s): "
                               f"{p['vulnerability_base']} → "
                               f"{_after_credit(p['vulnerability_base'], config.certificate_credit)}.")
        else:
            adjustments.append(f"Certificate: {basis}. Its vulnerability is already Low (or the credit is 0 bands), so "
                               "the credit changes nothing.")
    if p["incidents"]:
        titles = _incident_words(inputs.incidents[inputs.incidents["partner_id"] == partner_id])
        adjustments.append(f"{p['incidents']} open incident(s){titles}: vulnerability raised "
                           f"{config.incident_raise} band(s)" + (" (it is Unknown already)."
                                                                  if p["vulnerability"] == Band.unknown else "."))
    if p["high_impact"]:
        why = []
        if p["criticality"] in config.impact_criticalities:
            why.append(f"criticality {p['criticality']}")
        share = p["import_share"]
        if config.impact_import_share is not None and pd.notna(share) and share >= config.impact_import_share:
            why.append(f"{_pct(share)} of imports (from {_pct(config.impact_import_share)})")
        if p["impact_raised"]:
            adjustments.append(f"High impact ({', '.join(why)}): risk raised one band, {p['matrix_risk']} → "
                               f"{p['risk']}.")
        elif config.impact_raise:
            adjustments.append(f"High impact ({', '.join(why)}), but the matrix already gives High.")
        else:
            adjustments.append(f"High impact ({', '.join(why)}); impact does not raise risk in this configuration.")
    if p["questionnaire_overdue"]:
        adjustments.append(f"Flag: its questionnaire in '{source['overdue_cycle']}' is overdue; accepted answers still "
                           f"count until they are {config.answer_max_age_months} months old.")
    return {"headline": headline, "threat": threat, "vulnerability": vulnerability, "adjustments": adjustments,
            "criteria": partner_criteria(inputs, scores, partner_id),
            "categories": category_rows(inputs, scores, partner_id),
            "threats": threat_rows(inputs, scores, source["threat_iso2"], source["threat_region"]), "lanes": lanes}


def _after_credit(band: str, steps: int) -> str:
    order = [Band.low.value, Band.medium.value, Band.high.value]
    return order[max(order.index(band) - steps, 0)] if band in order else band


def _incident_words(frame: pd.DataFrame) -> str:
    parts = []
    for r in frame.head(3).itertuples():
        text = " ".join(str(v) for v in (r.kind, r.title) if v)
        when = f"{r.occurred_on}" if pd.notna(r.occurred_on) and r.occurred_on else ""
        parts.append(", ".join(x for x in (text, when) if x) or f"incident {r.incident_id}")
    return f" ({'; '.join(parts)})" if parts else ""


def _vulnerability_sentences(inputs: Inputs, scores: Scores, p: pd.Series, source: pd.Series) -> list[str]:
    config = scores.config
    since = scores.cutoff.date().isoformat()
    if p["vulnerability_base"] == Band.unknown:
        out = [f"No accepted questionnaire answers or site-visit findings since {since} "
               f"(the last {config.answer_max_age_months} months): vulnerability is Unknown, the worst: "
               "it reads as High in the matrix, because missing answers are never reassuring."]
        if pd.notna(source["last_accepted"]) and source["last_accepted"]:
            out.append(f"Its last accepted questionnaire ({source['last_cycle']}) was accepted on "
                       f"{source['last_accepted']}.")
        else:
            out.append("No questionnaire of it has ever been accepted.")
        return out
    criteria = partner_criteria(inputs, scores, int(p.name))
    counted = criteria[criteria["source"] != ""]
    visits = counted[counted["source"].str.startswith("site visit")]
    out = [f"{_pct(p['vulnerability_score'])} of its weighted criteria are not met (Medium from "
           f"{_pct(config.medium_from)}, High from {_pct(config.high_from)}): {p['vulnerability_base']}. Based on "
           f"{int(p['answered'])} answers" + (f" from the questionnaire accepted on {source['last_accepted']} "
                                               f"({source['last_cycle']})" if source['last_cycle'] else "")
           + (f" and {len(visits)} site-visit finding(s), which override the partner's answers" if len(visits) else "")
           + "."]
    if p["unmet_musts"] and config.unmet_must_floor != Band.low and p["vulnerability_base"] == \
            config.unmet_must_floor and p["vulnerability_score"] < (config.high_from if config.unmet_must_floor
                                                                    == Band.high else config.medium_from):
        out.append(f"At least one must criterion is not met, which makes it {config.unmet_must_floor} at least.")
    categories = category_rows(inputs, scores, int(p.name))
    weak = categories[categories["not_met"] > 0].head(3)
    if len(weak):
        out.append("Weakest categories: " + "; ".join(f"{r.category} ({_pct(r.not_met)} not met)"
                                                    for r in weak.itertuples()) + ".")
    for requirement, word in ((Requirement.must, "Must"), (Requirement.should, "Should")):
        gaps = criteria[(criteria["requirement"] == requirement) & (criteria["gap"] > 0)]
        if len(gaps):
            listed = ", ".join(f"{r.criterion_id} {r.value}" for r in gaps.head(6).itertuples())
            more = f" and {len(gaps) - 6} more" if len(gaps) > 6 else ""
            out.append(f"{word} criteria with gaps: {listed}{more}.")
    for r in visits[visits["gap"] > 0].head(3).itertuples():
        out.append(f"The {r.source} on {r.day} found {r.criterion_id} {r.value} {r.note}".strip() + ".")
    return out


def partner_lanes(inputs: Inputs, scores: Scores, partner_id: int) -> pd.DataFrame:
    """The lanes a partner has custody on, worst threat first (code, name, threat, threat_location, risk)."""
    lane_ids = inputs.nodes.loc[inputs.nodes["partner_id"] == partner_id, "lane_id"].unique()
    lanes = scores.lanes[scores.lanes["lane_id"].isin(lane_ids)]
    order = np.array([CODE.get(t, 0) for t in lanes["threat"]], dtype=int)
    return lanes.assign(_o=-order).sort_values(["_o", "rank"]).drop(columns="_o").reset_index(drop=True)


def lane_nodes(inputs: Inputs, scores: Scores, lane_id: int) -> pd.DataFrame:
    """A lane's nodes with what each gives the lane's threat and vulnerability."""
    nodes = inputs.nodes
    node = node_threats(inputs, scores.config)
    mask = (nodes["lane_id"] == lane_id).to_numpy()
    names = np.array([Band.low.value, Band.medium.value, Band.high.value, Band.unknown.value], dtype=object)
    vulnerability = scores.partners.set_index("partner_id")["vulnerability"]
    frame = nodes[mask][["seq", "role", "location", "partner_code", "partner_id", "custody", "iso2", "rests",
                         "dwell_hours", "custody_change"]].copy()
    frame["threat"] = names[node["level"][mask]]
    frame["counts"] = np.where(node["full"][mask], "in full", f"{scores.config.other_nodes_lower} band(s) lower")
    frame["gives"] = names[node["effective"][mask]]
    frame["vulnerability"] = [vulnerability.get(int(p), Band.unknown.value) if pd.notna(p) else
                              ("" if c == Custody.own else Band.unknown.value)
                              for p, c in zip(frame["partner_id"], frame["custody"], strict=True)]
    return frame.drop(columns="partner_id").reset_index(drop=True)


def explain_lane(inputs: Inputs, scores: Scores, lane_id: int) -> dict[str, Any]:
    """Why a lane's risk band is what it is: {"headline", "threat", "vulnerability", "adjustments", "nodes"}."""
    lane = scores.lanes.set_index("lane_id").loc[lane_id]
    config = scores.config
    nodes = lane_nodes(inputs, scores, lane_id)
    headline = (f"Lane {lane['code']} is {lane['risk']} risk: threat {lane['threat']} × vulnerability "
                f"{lane['vulnerability']}" + (" (read as High)" if lane["vulnerability"] == Band.unknown else "")
                + f" gives {lane['matrix_risk']} in the risk matrix"
                + (f", raised to {lane['risk']} for high impact." if lane["impact_raised"] else "."))
    threat = [f"Its threat is the highest at a node where cargo rests at least {config.rest_hours:g} hours or custody "
              f"changes hands; other nodes count {config.other_nodes_lower} band(s) lower. The highest is "
              f"{lane['threat']} at {lane['threat_location'] or 'no node'}"
              + (f" (Unknown, counted as {scores.threat_unknown_as})" if lane["threat_unknown"] else "") + "."]
    decisive = inputs.nodes[(inputs.nodes["lane_id"] == lane_id) & (inputs.nodes["location"] ==
                                                                    lane["threat_location"])]
    if len(decisive):
        d = decisive.iloc[0]
        category = _node_category(inputs, scores, int(decisive.index[0]))
        threat += _threat_sentences(inputs, scores, d["iso2"], d["region_code"] or "", lane["threat"],
                                    bool(lane["threat_unknown"]), category, d["iso2"] in config.threat_overrides)
    parties = nodes[nodes["vulnerability"] != ""]
    vulnerability = [f"Its vulnerability is that of the weakest party with custody on it: {lane['vulnerability']} "
                     f"({lane['weakest'] or 'none named'})."]
    unknown = parties[parties["vulnerability"] == Band.unknown]
    if len(unknown):
        vulnerability.append("Unknown at: " + ", ".join(f"{r.location} ({r.partner_code or 'no partner named'})"
                                                        for r in unknown.itertuples()) + ".")
    adjustments = []
    if lane["incidents"]:
        titles = _incident_words(inputs.incidents[inputs.incidents["lane_id"] == lane_id])
        adjustments.append(f"{lane['incidents']} open incident(s) on the lane{titles}: vulnerability raised "
                           f"{config.incident_raise} band(s).")
    if lane["high_impact"]:
        adjustments.append(f"High impact: {_pct(lane['volume_share'])} of the volume (from "
                           f"{_pct(config.lane_volume_share)})" + (f": risk raised one band, {lane['matrix_risk']} → "
                                                                  f"{lane['risk']}." if lane["impact_raised"] else "."))
    return {"headline": headline, "threat": threat, "vulnerability": vulnerability, "adjustments": adjustments,
            "nodes": nodes}


def _node_category(inputs: Inputs, scores: Scores, position: int) -> str:
    category = node_threats(inputs, scores.config)["category"][position]
    return THREAT_CATEGORIES[category] if category >= 0 else ""
