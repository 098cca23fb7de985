"""The pure scoring (services.risk.scoring): examples in CBP's High/Medium/Low terms, then properties over any small
book of partners and lanes and any sound configuration."""

from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from models.collection import AnswerValue
from models.risk import Band
from services.core.permissions import ValidationError
from services.risk import scoring
from services.risk.config import THREAT_CATEGORIES, RiskConfig
from tests.risk_scoring_support import MUSTS, Answer, Lane, Node, Partner, all_yes, books, build, configs

ORDER = {Band.low.value: 0, Band.medium.value: 1, Band.high.value: 2, Band.unknown.value: 3}
LOW, MEDIUM, HIGH = (b.value for b in (Band.low, Band.medium, Band.high))
DEFAULT = RiskConfig()
ROOT = Path(__file__).resolve().parent.parent
FAST = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def scored(partners, lanes=(), config=DEFAULT):
    return scoring.score(build(partners, list(lanes)), config)


def row(scores, code):
    return scores.partners.set_index("partner_code").loc[code]


def with_unmet(answers, criterion):
    return {**answers, criterion: Answer(AnswerValue.no)}


def test_all_met_is_low_and_one_unmet_must_weighs_more_than_a_partial_must_and_an_unmet_should():
    partners = [Partner("MET", answers=all_yes()),
                Partner("NO-MUST", answers=with_unmet(all_yes(), "6.1")),
                Partner("PART-MUST", answers={**all_yes(), "6.1": Answer(AnswerValue.partial)}),
                Partner("NO-SHOULD", answers=with_unmet(all_yes(), "1.2"))]
    s = scored(partners)
    score = s.partners.set_index("partner_code")["vulnerability_score"]
    assert score["MET"] == 0
    assert score["NO-MUST"] > score["PART-MUST"] > score["NO-SHOULD"] > 0
    assert row(s, "MET")["vulnerability"] == LOW
    assert row(s, "NO-MUST")["unmet_musts"] == 1
    assert row(s, "NO-MUST")["vulnerability"] == HIGH  # 10 of 44 points: 22.7 % >= 20 %


def test_the_worked_example_of_risk_method_md():
    """docs/RISK-METHOD.md: max 44 points; one unmet must 22.7 % High, one partial must 9.1 % Medium, one unmet
    should 4.5 % Low; and the default matrix as the document prints it."""
    s = scored([Partner("NO-MUST", answers=with_unmet(all_yes(), "6.1")),
                Partner("PART-MUST", answers={**all_yes(), "6.1": Answer(AnswerValue.partial)}),
                Partner("NO-SHOULD", answers=with_unmet(all_yes(), "1.2"))])
    got = s.partners.set_index("partner_code")[["vulnerability_score", "vulnerability"]]
    assert got.to_dict("index") == {"NO-MUST": {"vulnerability_score": 22.7, "vulnerability": HIGH},
                                    "PART-MUST": {"vulnerability_score": 9.1, "vulnerability": MEDIUM},
                                    "NO-SHOULD": {"vulnerability_score": 4.5, "vulnerability": LOW}}
    text = (ROOT / "docs" / "RISK-METHOD.md").read_text(encoding="utf-8")
    for threat in (HIGH, MEDIUM, LOW):
        cells = " | ".join(DEFAULT.matrix[threat][v] for v in (LOW, MEDIUM, HIGH))
        assert f"| **{threat}** | {cells} |" in text
    for setting in ("must_unmet", "high_from", "medium_from", "certificate_credit", "incident_raise", "rest_hours",
                    "answer_max_age_months", "impact_import_share", "lane_volume_share"):
        assert f"`{setting}` = **{getattr(DEFAULT, setting):g}" in text, setting


def test_na_counts_only_with_a_justification():
    justified = {**all_yes(), "6.1": Answer(AnswerValue.na, justified=True)}
    bare = {**all_yes(), "6.1": Answer(AnswerValue.na, justified=False)}
    s = scored([Partner("J", answers=justified), Partner("B", answers=bare)])
    assert row(s, "J")["vulnerability_score"] == 0 and row(s, "J")["unmet_musts"] == 0
    assert row(s, "B")["unmet_musts"] == 1 and row(s, "B")["vulnerability"] == HIGH


def test_no_answers_within_the_age_is_unknown_and_reads_as_high_in_the_matrix():
    s = scored([Partner("NONE"), Partner("OLD", answers=all_yes(months_ago=16)), Partner("FRESH", answers=all_yes())])
    for code in ("NONE", "OLD"):
        assert row(s, code)["vulnerability"] == Band.unknown.value
        assert row(s, code)["risk"] == DEFAULT.matrix[LOW][HIGH] == MEDIUM  # threat Low x vulnerability read High
    assert row(s, "FRESH")["risk"] == LOW
    # A longer age brings the 16-month-old answers back.
    longer = scored([Partner("OLD", answers=all_yes(months_ago=16))], config=DEFAULT.replace(answer_max_age_months=18))
    assert row(longer, "OLD")["vulnerability"] == LOW


def test_a_site_visit_finding_overrides_the_answer_for_its_criterion():
    reported = Partner("P", answers=all_yes())
    visited = replace(reported, findings={"6.1": Answer(AnswerValue.no)})
    assert row(scored([reported]), "P")["unmet_musts"] == 0
    assert row(scored([visited]), "P")["unmet_musts"] == 1
    # Findings alone make a partner assessed (not Unknown).
    only_visit = Partner("V", findings={"1.1": Answer(AnswerValue.yes)})
    assert row(scored([only_visit]), "V")["vulnerability"] != Band.unknown.value


def test_a_counting_certificate_lowers_one_band_and_a_covered_partner_without_answers_is_low():
    gaps = with_unmet(all_yes(), "6.1")
    s = scored([Partner("U", answers=gaps), Partner("C", answers=gaps, covered=True), Partner("E", covered=True)])
    assert row(s, "U")["vulnerability"] == HIGH
    assert row(s, "C")["vulnerability"] == MEDIUM and row(s, "C")["certificate_credit"]
    assert row(s, "E")["vulnerability"] == LOW
    assert row(s, "E")["threat"] == LOW and row(s, "E")["risk"] == LOW  # still rated for threat and risk


def test_an_open_incident_raises_vulnerability_by_the_configured_bands():
    s = scored([Partner("I", answers=all_yes(), incidents=1)], [Lane("L", [Node(0)], incidents=1)])
    assert row(s, "I")["vulnerability"] == MEDIUM and row(s, "I")["incidents"] == 1
    none = scored([Partner("I", answers=all_yes(), incidents=1)], config=DEFAULT.replace(incident_raise=0))
    assert row(none, "I")["vulnerability"] == LOW


def test_lane_threat_counts_resting_or_custody_nodes_in_full_and_others_one_band_lower():
    high = (2,) * len(THREAT_CATEGORIES)
    passing = Node(None, threat=high, rests=False, dwell_hours=2, custody_change=False)
    resting = Node(None, threat=high, rests=True, dwell_hours=30, custody_change=False)
    s = scored([Partner("P", answers=all_yes())], [Lane("PASS", [Node(0), passing]), Lane("REST", [Node(0), resting])])
    lanes = s.lanes.set_index("code")
    assert lanes.loc["PASS", "threat"] == MEDIUM
    assert lanes.loc["REST", "threat"] == HIGH
    # The partner inherits the worst lane it serves, unless switched off.
    assert row(s, "P")["threat"] == HIGH and row(s, "P")["threat_inherited"]
    alone = scored([Partner("P", answers=all_yes())], [Lane("REST", [Node(0), resting])],
                   DEFAULT.replace(inherit_lane_threat=False))
    assert row(alone, "P")["threat"] == LOW


def test_a_lane_is_as_vulnerable_as_its_weakest_party_and_ranked_riskiest_first():
    partners = [Partner("GOOD", answers=all_yes()), Partner("WEAK", answers=with_unmet(all_yes(), "9.2"))]
    s = scored(partners, [Lane("SAFE", [Node(0)]), Lane("RISKY", [Node(0), Node(1)])])
    lanes = s.lanes.set_index("code")
    assert lanes.loc["RISKY", "vulnerability"] == HIGH and lanes.loc["RISKY", "weakest"] == "WEAK"
    assert lanes.loc["SAFE", "vulnerability"] == LOW
    assert s.lanes.sort_values("rank")["code"].tolist()[0] == "RISKY"


def test_impact_raises_risk_one_band_and_a_threat_override_is_a_what_if():
    p = Partner("BIG", answers=all_yes(), criticality="critical")
    assert row(scored([p]), "BIG")["risk"] == MEDIUM  # Low x Low = Low, raised for a critical partner
    assert row(scored([p], config=DEFAULT.replace(impact_raise=False)), "BIG")["risk"] == LOW
    what_if = scored([replace(p, criticality="low")], config=DEFAULT.replace(threat_overrides={"MX": HIGH}))
    assert row(what_if, "BIG")["threat"] == HIGH and row(what_if, "BIG")["threat_override"]


def test_a_configuration_out_of_order_is_refused_with_every_problem_named():
    with pytest.raises(ValidationError) as error:
        DEFAULT.replace(must_unmet=1.0, medium_from=50.0, high_from=10.0)
    assert "must" in str(error.value).lower() and "high" in str(error.value).lower()
    with pytest.raises(ValidationError):
        RiskConfig.from_dict({"no_such_setting": 1})


def test_distribution_and_matrix_cells_count_every_partner_once():
    partners = [Partner("A", answers=all_yes()), Partner("B"), Partner("C", answers=with_unmet(all_yes(), "6.1"))]
    s = scored(partners)
    assert sum(scoring.distribution(s.partners).values()) == 3
    cells = scoring.matrix_cells(s)
    assert cells.select_dtypes("number").to_numpy().sum() >= 3
    listed, _ = scoring.in_cell(s, LOW, Band.unknown.value)
    assert listed["partner_code"].tolist() == ["B"]


def _risk(scores, code):
    return ORDER[row(scores, code)["risk"]]


@FAST
@given(book=books(), config=configs(), data=st.data())
def test_one_more_unmet_must_never_lowers_a_partners_risk(book, config, data):
    partners, lanes = book
    i = data.draw(st.integers(0, len(partners) - 1))
    criterion = data.draw(st.sampled_from(MUSTS))
    p = partners[i]
    answered = any(a.months_ago <= config.answer_max_age_months for a in p.answers.values()) or p.findings
    if not answered:
        return  # from Unknown (the worst) a first answer may well lower risk: that is the point of answering
    worse = [*partners[:i], replace(p, answers=with_unmet(p.answers, criterion)), *partners[i + 1:]]
    assert _risk(scored(worse, lanes, config), f"P{i}") >= _risk(scored(partners, lanes, config), f"P{i}")


@FAST
@given(book=books(), config=configs(), data=st.data())
def test_a_counting_certificate_never_raises_risk(book, config, data):
    partners, lanes = book
    i = data.draw(st.integers(0, len(partners) - 1))
    without = [*partners[:i], replace(partners[i], covered=False), *partners[i + 1:]]
    covered = [*partners[:i], replace(partners[i], covered=True), *partners[i + 1:]]
    before, after = scored(without, lanes, config), scored(covered, lanes, config)
    assert _risk(after, f"P{i}") <= _risk(before, f"P{i}")
    for code in before.lanes["code"]:
        lane_before = ORDER[before.lanes.set_index("code").loc[code, "risk"]]
        assert ORDER[after.lanes.set_index("code").loc[code, "risk"]] <= lane_before


@FAST
@given(book=books(), config=configs())
def test_unknown_is_never_better_than_low(book, config):
    partners, lanes = book
    unknown = [replace(p, answers={}, findings={}, covered=False) for p in partners]
    met = [replace(p, answers=all_yes(0), findings={}, covered=False) for p in partners]
    s_unknown, s_met = scored(unknown, lanes, config), scored(met, lanes, config)
    assert set(s_unknown.partners["vulnerability"]) == {Band.unknown.value}
    for i in range(len(partners)):
        assert _risk(s_unknown, f"P{i}") >= _risk(s_met, f"P{i}")


@FAST
@given(book=books(), config=configs())
def test_bands_respect_the_matrix(book, config):
    s = scored(*book, config=config)
    for frame in (s.partners, s.lanes):
        for r in frame.itertuples():
            vulnerability = HIGH if r.vulnerability == Band.unknown.value else r.vulnerability
            assert r.matrix_risk == config.matrix[r.threat][vulnerability]
            assert ORDER[r.risk] == ORDER[r.matrix_risk] + int(r.impact_raised)
            assert r.risk in (LOW, MEDIUM, HIGH)
    assert sorted(s.partners["rank"]) == list(range(1, len(s.partners) + 1))
