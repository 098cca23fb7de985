"""The management dashboard: figures from the data (Unknown where there is nothing to count), risk moves between
snapshots, the trend across cycles, links to the pages behind the figures, and presentation mode."""

from datetime import date, timedelta

import pytest

from models import CompanyProfile
from services.actions import items as action_items
from services.collection import cycles
from services.reports import dashboard
from services.risk import assessment
from tests.action_support import DUE, accepted, add_partner
from tests.certificate_support import certify
from tests.conftest import ANALYST

TODAY = date.today()


@pytest.fixture
def company(session, staff):
    first = add_partner(session, "CN-F01")
    second = add_partner(session, "MX-C01", country_iso2="MX", entity_type="Highway Carrier")
    third = add_partner(session, "VN-F01", country_iso2="VN")
    certify(session, second.id)
    session.add(CompanyProfile(legal_name="Acme Imports Inc.", ctpat_account_number="CT-12345", tier="Tier II",
                               annual_review_anniversary=TODAY + timedelta(days=40) - timedelta(days=365 * 2),
                               last_validation_date=TODAY - timedelta(days=365)))
    session.commit()
    accepted(session, first, {}, cycle="2026")
    assessment.take_snapshot(session=session, actor=ANALYST, name="2026 review", today=TODAY - timedelta(days=90))
    cycles.open_cycle(session=session, actor=ANALYST, name="2027 annual", due_date=DUE,
                      partner_ids=[first.id, second.id, third.id])
    action_items.add_item(session=session, actor=ANALYST, values={"title": "Fix seals", "due_date": TODAY,
                                                                  "partner_id": third.id})
    session.commit()
    assessment.take_snapshot(session=session, actor=ANALYST, name="2027 review", today=TODAY)
    session.commit()
    return {"first": first.id, "second": second.id, "third": third.id}


def test_nothing_to_count_is_unknown_not_zero(session, staff):
    data = dashboard.figures(session=session, today=TODAY)
    assert data["cycle"] is None and data["coverage"] is None and data["latest_snapshot"] is None
    assert data["bands"]["now"].isna().all() and data["days_to_revalidation"] is None
    assert data["actions_overdue"] == 0 and data["trend"].empty


def test_figures_follow_the_data(session, company):
    data = dashboard.figures(session=session, today=TODAY)
    cycle = data["cycle"]
    assert cycle["name"] == "2027 annual" and (cycle["partners"], cycle["in_scope"], cycle["exempted"]) == (3, 2, 1)
    assert (cycle["assessed"], cycle["responded"], cycle["assessed_share"], cycle["response_rate"]) == (0, 0, 0, 0)
    assert list(data["trend"]["cycle"]) == ["2026 CN-F01", "2027 annual"]
    assert list(data["trend"]["assessed_share"]) == [1.0, 0.0]
    assert data["coverage"] == pytest.approx(1 / 3)
    assert data["actions_open"] == 1 and data["actions_overdue"] == 0
    assert dashboard.figures(session=session, today=TODAY + timedelta(days=1))["actions_overdue"] == 1
    assert data["days_to_annual_review"] == 40 and data["days_to_revalidation"] == 3 * 365 + 1
    snapshots = assessment.list_snapshots(session=session)
    bands = data["bands"].set_index(["kind", "band"])
    for kind in ("partners", "lanes"):
        for band in ("High", "Medium", "Low"):
            now, before = snapshots.iloc[0][f"{kind}_{band.lower()}"], snapshots.iloc[1][f"{kind}_{band.lower()}"]
            assert bands.loc[(kind, band), "move"] == now - before
    assert list(data["snapshots"]["name"]) == ["2026 review", "2027 review"]  # oldest first for the trend


def test_the_page_links_every_figure_and_presentation_mode_hides_identifiers(page_app, session, company):
    at = page_app("dashboard", role="viewer").run()
    assert not at.exception
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Assessed this cycle"] == "0%" and metrics["MRA coverage"] == "33%"
    assert metrics["Days to annual review"] == "40"
    targets = [link.proto.page for link in at.get("page_link")]
    for page in ("cycles", "review", "mutual_recognition", "actions", "self_assessment", "readiness", "scoring",
                 "partners"):
        assert page in targets, page
    assert "CT\\-12345" in " ".join(m.value for m in at.markdown)
    at.toggle(key="presentation_mode_switch").set_value(True).run()
    assert not at.exception and at.session_state["presentation_mode"] is True
    assert "CT\\-12345" not in " ".join(m.value for m in at.markdown)
    at.run()  # stays on across reruns
    assert at.toggle(key="presentation_mode_switch").value is True
    assert "CT\\-12345" not in " ".join(m.value for m in at.markdown)


def test_the_page_says_unknown_without_data(page_app, staff):
    at = page_app("dashboard", role="admin").run()
    assert not at.exception
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Assessed this cycle"] == "Unknown" and metrics["Days to revalidation"] == "Unknown"
    assert any("risk by band is Unknown" in w.value for w in at.warning)
