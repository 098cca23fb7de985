"""The management dashboard: figures from the data (Unknown where there is nothing to count), risk moves between
snapshots, the trend across cycles, links to the pages behind the figures, and presentation mode."""

from datetime import date, timedelta
from urllib.parse import parse_qs

import pytest
from sqlmodel import select

from models import CompanyProfile, Cycle, Partner
from services.actions import items as action_items
from services.collection import cycles
from services.partners import registry
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


def _links(at) -> dict[str, tuple[str, dict[str, str]]]:
    """The dashboard's links: label -> (target page, query parameters)."""
    return {link.proto.label: (link.proto.page, {k: v[0] for k, v in parse_qs(link.proto.query_string).items()})
            for link in at.get("page_link")}


def _follow(page_app, link: tuple[str, dict[str, str]], role: str = "viewer"):
    page, params = link
    at = page_app(page, role=role)
    at.query_params.update(params)
    return at.run()


def _frame(at, column: str):
    return next(df.value for df in at.dataframe if column in df.value.columns)


@pytest.fixture
def links(page_app, session, company):
    partners = {p.partner_code: p for p in session.exec(select(Partner)).all()}
    action_items.add_item(session=session, actor=ANALYST, values={
        "title": "Replace the seals", "due_date": TODAY - timedelta(days=2), "partner_id": partners["CN-F01"].id})
    registry.update_partner(session=session, actor=ANALYST, partner_id=partners["VN-F01"].id,
                            values={"criticality": "critical"})
    session.add(Partner(partner_code="OLD-01", legal_name="Closed Works", normalized_name="closed works",
                        entity_type="Foreign Manufacturer", country_iso2="CN", status="inactive"))
    session.commit()
    at = page_app("dashboard", role="viewer").run()
    assert not at.exception
    return _links(at)


def test_overdue_actions_open_the_plan_filtered_to_overdue(page_app, links):
    at = _follow(page_app, links["Overdue items"])
    assert not at.exception and at.toggle(key="actions_overdue").value is True
    assert _frame(at, "title")["title"].tolist() == ["Replace the seals"]
    assert "overdue" not in at.query_params  # read once: the user's choice holds from now on
    at.toggle(key="actions_overdue").set_value(False).run()
    assert sorted(_frame(at, "title")["title"]) == ["Fix seals", "Replace the seals"]


def test_each_partner_band_opens_risk_scoring_filtered_to_that_band(page_app, links):
    shown = 0
    for band in ("High", "Medium", "Low"):
        at = _follow(page_app, links[f"{band} partners"])
        assert not at.exception and at.multiselect(key="risk_rank_bands").value == [band]
        rows = next(df.value for df in at.dataframe if "rank" in df.value.columns and "legal_name" in df.value.columns)
        assert set(rows["risk"]) <= {band}
        shown += len(rows)
    assert shown == 3  # every active partner is in exactly one band


def test_partner_figures_open_the_partner_list_filtered(page_app, links):
    at = _follow(page_app, links["High or critical"])
    assert at.multiselect(key="partner_f_crit").value == ["high", "critical"]
    assert at.multiselect(key="partner_f_status").value == ["active"]
    assert _frame(at, "legal_name")["partner_code"].tolist() == ["VN-F01"]
    at = _follow(page_app, links["Inactive partners"])
    assert _frame(at, "legal_name")["partner_code"].tolist() == ["OLD-01"]
    at = _follow(page_app, links["Active partners"])
    assert sorted(_frame(at, "legal_name")["partner_code"]) == ["CN-F01", "MX-C01", "VN-F01"]


def test_assessed_this_cycle_opens_the_partners_not_yet_assessed(page_app, links, session):
    at = _follow(page_app, links["Not yet assessed"])
    assert not at.exception
    [cycle] = [c for c in session.exec(select(Cycle)).all() if c.name == "2027 annual"]
    assert at.selectbox(key="cycles_choice").value == cycle.id
    assert "accepted" not in at.multiselect(key="cycles_states").value
    assert sorted(_frame(at, "partner_code")["partner_code"]) == ["CN-F01", "VN-F01"]  # MX-C01 is exempt


def test_response_rate_and_coverage_open_their_pages_on_the_cycle_and_the_watch_list(page_app, links, session):
    [cycle] = [c for c in session.exec(select(Cycle)).all() if c.name == "2027 annual"]
    at = _follow(page_app, links["Review"])
    assert not at.exception and at.selectbox(key="review_cycle").value == cycle.id
    at = _follow(page_app, links["Certificates due"])
    assert not at.exception and at.session_state["mr_tab"] == "Watch list"
    assert any("Expiring within 90 days" in m.value for m in at.markdown)
