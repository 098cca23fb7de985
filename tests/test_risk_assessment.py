"""Scoring on the database: inputs loaded from real tables (SQLite, or PostgreSQL with CTPAT_TEST_DATABASE_URL),
configuration versions, site visits, snapshots and their comparison, re-screening, and `manage.py score`."""

import hashlib
import json
from datetime import date

import pytest
from sqlmodel import Session, select

import cli
from cli.base import Context
from models import AuditEvent, RiskAssessmentScore
from models.collection import AnswerValue
from models.risk import Band
from services.core import db
from services.core.permissions import PermissionDenied, ValidationError
from services.demo.generator import seed_demo
from services.reference import loader as reference
from services.risk import assessment, explain, site_visits
from services.risk import config as risk_config
from tests.conftest import ADMIN, ANALYST, VIEWER

TODAY = date(2026, 11, 16)
PARTNERS = 60
BANDS = {Band.low.value, Band.medium.value, Band.high.value}


@pytest.fixture
def demo(session) -> Session:
    seed_demo(session=session, partners=PARTNERS, seed=7, today=TODAY)
    session.commit()
    return session


def digest(done: assessment.Assessment) -> str:
    """A hash of every score, by partner and lane code (ids differ between databases)."""
    p = done.scores.partners.drop(columns=["partner_id"]).sort_values("partner_code")
    lanes = done.scores.lanes.drop(columns=["lane_id"]).sort_values("code")
    text = p.to_csv(index=False, float_format="%.4f") + lanes.to_csv(index=False, float_format="%.4f")
    return hashlib.sha256(text.encode()).hexdigest()


def test_the_demo_tells_a_story_and_every_active_partner_and_lane_is_scored(demo):
    done = assessment.current(session=demo, today=TODAY)
    partners, lanes = done.scores.partners, done.scores.lanes
    assert len(partners) == len(done.inputs.partners) > 0 and len(lanes) > 0
    risks = set(partners["risk"])
    assert risks <= BANDS and len(risks) >= 2, partners["risk"].value_counts()  # not everyone High
    assert (partners["risk"] != Band.high.value).any()
    assert sorted(partners["rank"]) == list(range(1, len(partners) + 1))
    # Every partner's band is explained in words.
    first = int(partners.sort_values("rank")["partner_id"].iloc[0])
    words = explain.explain_partner(done.inputs, done.scores, first)
    assert words and json.dumps(words, default=str).count(partners.set_index("partner_id").loc[first, "risk"])
    lane = int(lanes.sort_values("rank")["lane_id"].iloc[0])
    assert explain.explain_lane(done.inputs, done.scores, lane)


def test_the_same_inputs_give_the_same_scores_on_this_database_and_on_sqlite(demo, tmp_path):
    here = digest(assessment.current(session=demo, today=TODAY))
    engine = db.make_engine(f"sqlite:///{tmp_path / 'other.db'}")
    try:
        db.upgrade(engine)
        with db.session_scope(engine) as other:
            reference.load_reference_data(session=other)
            seed_demo(session=other, partners=PARTNERS, seed=7, today=TODAY)
        with Session(engine) as other:
            assert digest(assessment.current(session=other, today=TODAY)) == here
    finally:
        engine.dispose()


def test_only_an_admin_saves_a_configuration_and_every_save_is_a_new_audited_version(demo):
    assert risk_config.active(session=demo) == (risk_config.RiskConfig(), None)
    changed = risk_config.RiskConfig().replace(high_from=30.0, certificate_credit=2)
    for actor in (ANALYST, VIEWER):
        with pytest.raises(PermissionDenied):
            risk_config.save(session=demo, actor=actor, config=changed)
    first = risk_config.save(session=demo, actor=ADMIN, config=changed, note="wider High")
    second = risk_config.save(session=demo, actor=ADMIN, config=changed.replace(incident_raise=2))
    assert second > first
    active, version = risk_config.active(session=demo)
    assert version == second and active.incident_raise == 2 and active.high_from == 30.0
    assert len(risk_config.versions(session=demo)) == 2
    assert demo.exec(select(AuditEvent).where(AuditEvent.username == ADMIN.username)).all()


def test_a_site_visit_finding_moves_a_partner_and_two_snapshots_say_who_moved_and_why(demo):
    before = assessment.take_snapshot(session=demo, actor=ANALYST, name="Before the visit", today=TODAY)
    done = assessment.current(session=demo, today=TODAY)
    p = done.scores.partners
    low = p[(p["risk"] == Band.low.value) & ~p["covered"]]
    assert len(low), "the demo has uncovered Low partners"
    partner_id = int(low["partner_id"].iloc[0])
    asked = done.inputs.members.merge(done.inputs.sets, on="set_id")
    musts = asked[(asked["partner_id"] == partner_id) & asked["is_must"]]["criterion_id"].tolist()
    site_visits.record_visit(session=demo, actor=ANALYST, partner_id=partner_id, visited_on=TODAY,
                             visited_by="Dana Ortiz", today=TODAY,
                             findings=[{"criterion_id": c, "finding": AnswerValue.no, "note": "not in place"}
                                       for c in musts])
    demo.commit()
    moved = assessment.current(session=demo, today=TODAY).scores.partners.set_index("partner_id").loc[partner_id]
    assert moved["vulnerability"] == Band.high.value and moved["unmet_musts"] >= len(musts)
    after = assessment.take_snapshot(session=demo, actor=ANALYST, name="After the visit", today=TODAY)
    demo.commit()
    result = assessment.compare(session=demo, before_id=before.id, after_id=after.id)
    moves = result["moves"]
    mine = moves[moves["code"] == p.set_index("partner_id").loc[partner_id, "partner_code"]]
    assert len(mine) == 1 and mine["before"].iloc[0] == Band.low.value and mine["direction"].iloc[0] == "up"
    assert mine["why"].iloc[0]
    saved = demo.exec(select(RiskAssessmentScore).where(RiskAssessmentScore.assessment_id == after.id)).all()
    assert len(saved) == len(p) + len(done.scores.lanes)
    assert set(assessment.list_snapshots(session=demo)["name"]) == {"Before the visit", "After the visit"}


def test_snapshots_need_a_unique_name_and_a_writer(demo):
    assessment.take_snapshot(session=demo, actor=ANALYST, name="Q1", today=TODAY)
    with pytest.raises(ValidationError, match="already exists"):
        assessment.take_snapshot(session=demo, actor=ANALYST, name="Q1", today=TODAY)
    with pytest.raises(ValidationError, match="name"):
        assessment.take_snapshot(session=demo, actor=ANALYST, name="  ", today=TODAY)
    with pytest.raises(PermissionDenied):
        assessment.take_snapshot(session=demo, actor=VIEWER, name="Q2", today=TODAY)


def test_reassessment_follows_risk_and_bands_pick_partners(demo):
    done = assessment.current(session=demo, today=TODAY)
    due = assessment.reassessment_due(done, horizon_days=60)
    p = done.scores.partners.set_index("partner_id")
    assert not p.loc[due["partner_id"], "covered"].any()  # a certificate's re-check replaces re-screening
    unknown = p[(p["vulnerability"] == Band.unknown.value) & ~p["covered"]].index
    assert set(unknown) <= set(due["partner_id"])  # never assessed within the age: due now
    high = assessment.partners_in_bands(done, ["high"])
    assert set(high) == set(p[p["risk"] == Band.high.value].index)
    with pytest.raises(ValidationError):
        assessment.partners_in_bands(done, ["severe"])


@pytest.fixture
def run(engine, database_url, capsys):
    parser = cli.build_parser()
    context = Context(engine=engine, url=database_url, startup=None)

    def invoke(*argv: str) -> tuple[int, str, str]:
        capsys.readouterr()
        args = parser.parse_args(list(argv))
        code = args.run(args, context)
        out, err = capsys.readouterr()
        return code, out, err

    return invoke


def test_manage_score_prints_bands_json_and_saves_a_snapshot(run, demo):
    code, out, _ = run("score")
    assert code == 0 and "Partners:" in out and "Riskiest partners" in out
    code, out, _ = run("score", "--json", "--snapshot", "CLI run")
    assert code == 0
    data = json.loads(out)
    assert data["snapshot"]["name"] == "CLI run"
    assert len(data["partners"]) == len(assessment.current(session=demo, today=date.today()).scores.partners)
    assert data["lanes"] and data["configuration"]["answer_max_age_months"] == 15
    assert sum(data["distribution"]["partners"].values()) == len(data["partners"])
    assert {r["risk"] for r in data["partners"]} <= BANDS
    assert len(assessment.list_snapshots(session=demo)) == 1
    with pytest.raises(ValidationError, match="already exists"):  # manage.py turns it into exit 2
        run("score", "--snapshot", "CLI run")
    assert len(assessment.list_snapshots(session=demo)) == 1
