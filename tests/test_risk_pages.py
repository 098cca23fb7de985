"""The Cargo flow, Threats and Screening pages for every role, and their widgets doing what they say (AppTest)."""


import pytest
from sqlmodel import func, select

from models import Lane, Place, ScreeningMatch, ThreatRating, ThreatRatingChange, ThreatSource
from services.lanes import registry
from tests.conftest import ANALYST
from tests.risk_support import OCEAN_LANE, book
from tests.test_answer_import import csv_bytes
from tests.test_screening import LIST

TITLES = {"lanes": "Cargo flow", "threats": "Threats", "screening": "Screening"}
ROLES = ("admin", "analyst", "viewer")
LANE = {"code": "CN-01", "name": "Shenzhen lamps to Long Beach", "commodity": "HTS 94", "mode": "ocean"}


@pytest.fixture
def lane(session, staff) -> int:
    book(session)
    made, _ = registry.save_lane(session=session, actor=ANALYST, values=LANE, rows=OCEAN_LANE)
    session.commit()
    return made.id


def labels(elements) -> set[str]:
    return {e.label for e in elements}


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("page_name", list(TITLES))
def test_every_risk_page_renders_for_every_role(page_app, lane, page_name, role):
    at = page_app(page_name, role=role).run()
    assert not at.exception
    assert [t.value for t in at.title] == [TITLES[page_name]]


@pytest.mark.parametrize("page_name", list(TITLES))
def test_nothing_without_login(page_app, page_name):
    at = page_app(page_name, role=None).run()
    assert not at.exception and not at.main.children


def test_lane_map_flags_and_diagram(page_app, lane):
    at = page_app("lanes", role="viewer").run()
    assert [t.label for t in at.tabs] == ["Map", "Lanes", "Flags", "Places"]  # no Import for a viewer
    assert [m.value for m in at.metric] == ["1", "5", str(len(at.metric) and at.metric[2].value)]
    assert at.get("arrow_vega_lite_chart") or at.get("vega_lite_chart")
    at.session_state["lanes_tab"] = "Flags"
    at.run()
    flags = next(df.value for df in at.dataframe if "flag" in df.value.columns and "lane_code" in df.value.columns)
    assert "cargo at rest in a High-threat place" in set(flags["flag"])
    at.session_state["lanes_tab"] = "Lanes"
    at.session_state["lanes_focus"] = lane
    at.run()
    assert not at.exception
    assert at.subheader[0].value == "CN\\-01 · Shenzhen lamps to Long Beach"
    assert at.get("graphviz_chart")
    assert not ({"Save lane", "Add lane", "Retire lane"} & labels(at.button))
    assert not at.get("form")


def test_analyst_edits_a_lane_through_the_form(page_app, session, lane):
    at = page_app("lanes", role="analyst")
    at.session_state["lanes_tab"] = "Lanes"
    at.session_state["lanes_focus"] = lane
    at.run()
    at.text_input(key=f"edit{lane}_0_name").input("Shenzhen lamps to Long Beach (weekly)")
    next(b for b in at.button if b.label == "Save lane").click().run()
    assert not at.exception and not at.error
    assert [s.value for s in at.success][0].startswith("Saved lane CN-01")
    session.expire_all()
    stored = session.get(Lane, lane)
    assert (stored.name, stored.version) == ("Shenzhen lamps to Long Beach (weekly)", 2)
    assert registry.nodes_frame(session=session, lane_ids=[lane])["role"].tolist() == [n["role"] for n in OCEAN_LANE]
    next(b for b in at.button if b.label == "Retire lane").click().run()
    session.expire_all()
    assert session.get(Lane, lane).status == "inactive"


def test_lane_import_from_the_page(page_app, session, staff):
    book(session)
    data = (b"lane_code,lane_name,mode,role,partner_code,place,mode_to_next,custody\n"
            b"MX-01,Monterrey to Laredo,truck,origin,MX-F1,,truck,direct\n"
            b"MX-01,,,port of entry,,USLRD,truck,direct\n"
            b"MX-01,,,distribution center,,USLAX,,own\n")
    at = page_app("lanes", role="analyst")
    at.session_state["lanes_tab"] = "Import"
    at.run()
    at.file_uploader(key="lanes_import_file_0").set_value(("lanes.csv", data, "text/csv")).run()
    assert not at.exception
    assert next(b for b in at.button if b.label == "Import").disabled  # USLAX after a truck leg is ambiguous
    assert session.exec(select(func.count()).select_from(Lane)).one() == 0
    fixed = data.replace(b"USLAX,,own", b"USLGB,,own")
    at.file_uploader(key="lanes_import_file_0").set_value(("lanes.csv", fixed, "text/csv")).run()
    next(b for b in at.button if b.label == "Import").click().run()
    assert not at.exception
    assert "Imported lanes.csv: 1 new" in at.success[0].value
    assert session.exec(select(Lane.code)).all() == ["MX-01"]


def test_admin_adds_a_place(page_app, session, staff):
    at = page_app("lanes", role="analyst")
    at.session_state["lanes_tab"] = "Places"
    at.run()
    assert "Add a place" not in labels(at.expander)
    at = page_app("lanes", role="admin")
    at.session_state["lanes_tab"] = "Places"
    at.run()
    at.selectbox(key="lanes_place_country_0").set_value("MX").run()
    form = at.get("form")[0]
    next(t for t in at.text_input if t.label == "Name").input("Nuevo Laredo yard")
    next(t for t in at.text_input if t.label == "UN/LOCODE (if it has one)").input("MXNLD")
    next(n for n in at.number_input if n.label == "Latitude").set_value(27.48)
    next(n for n in at.number_input if n.label == "Longitude").set_value(-99.51)
    next(b for b in at.button if b.label == "Add place").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert session.exec(select(Place).where(Place.code == "MXNLD")).one().created_by == "admin"
    assert form is not None


def test_threat_register_accept_all_and_override(page_app, session, staff):
    at = page_app("threats", role="viewer").run()
    assert not at.exception
    assert at.get("arrow_vega_lite_chart") or at.get("vega_lite_chart")
    at.session_state["threats_tab"] = "Review and rate"
    at.run()
    assert "Only analysts and admins decide on suggestions." in [i.value for i in at.info]

    at = page_app("threats", role="analyst")
    at.session_state["threats_tab"] = "Review and rate"
    at.run()
    at.toggle(key="threats_accept_all_sure").set_value(True).run()
    next(b for b in at.button if b.label == "Accept all").click().run()
    assert not at.exception
    assert session.exec(select(func.count()).select_from(ThreatRating)).one() > 1000

    at.selectbox(key="threats_rate_country").set_value("MX").run()
    at.selectbox(key="threats_rate_category").set_value("organized crime").run()
    at.radio[0].set_value("Medium")
    next(b for b in at.button if b.label == "Save rating").click().run()
    assert "reason" in at.error[0].value  # an override needs a reason
    at.text_area[0].input("Our plants sit in guarded industrial parks")
    next(t for t in at.text_input if t.label.startswith("Source")).input("Site visits 2026")
    next(b for b in at.button if b.label == "Save rating").click().run()
    assert not at.exception and not at.error
    session.expire_all()
    rating = session.exec(select(ThreatRating).where(ThreatRating.iso2 == "MX",
                                                     ThreatRating.category == "organized crime")).one()
    assert (rating.level, rating.basis, rating.updated_by) == ("Medium", "override", "luis")
    at.session_state["threats_tab"] = "History"
    at.run()
    history = next(df.value for df in at.dataframe if "previous_level" in df.value.columns)
    assert history.iloc[0][["level", "reason"]].tolist() == ["Medium", "Our plants sit in guarded industrial parks"]


def test_index_import_with_its_mapping_from_the_page(page_app, session, staff):
    data = csv_bytes([["MEX", "31"], ["CAN", "75"], ["CHN", "43"]], header=["ISO3", "CPI score"])
    at = page_app("threats", role="analyst")
    at.session_state["threats_tab"] = "Sources and import"
    at.run()
    at.file_uploader(key="threats_import_file_0").set_value(("cpi 2025.csv", data, "text/csv")).run()
    assert not at.exception
    assert "Import" not in labels(at.button)  # no category chosen yet
    at.multiselect(key="threats_index_categories").set_value(["conditions"]).run()
    at.radio(key="threats_index_direction").set_value("lower").run()
    at.number_input(key="threats_index_high").set_value(35.0).run()
    at.number_input(key="threats_index_medium").set_value(50.0).run()
    at.text_input(key="threats_index_licence").input("Licensed, CC BY-ND 4.0").run()
    assert "1 High" in " ".join(c.value for c in at.caption)
    next(b for b in at.button if b.label == "Import").click().run()
    assert not at.exception
    source = session.exec(select(ThreatSource).where(ThreatSource.kind == "index")).one()
    assert (source.name, source.categories, source.mapping["higher_is_worse"]) == ("cpi 2025", "conditions", False)


def test_settings_are_for_admins(page_app, session, staff):
    at = page_app("threats", role="analyst")
    at.session_state["threats_tab"] = "Settings"
    at.run()
    assert "Save settings" not in labels(at.button)
    at = page_app("threats", role="admin")
    at.session_state["threats_tab"] = "Settings"
    at.run()
    at.number_input[0].set_value(18)
    next(b for b in at.button if b.label == "Save settings").click().run()
    assert not at.exception
    from models import ThreatSettings
    assert session.exec(select(ThreatSettings)).one().stale_after_months == 18


def test_screening_load_and_decide(page_app, session, staff):
    from tests.risk_support import partner
    partner(session, "CN-9", "Hongyuan Textile Co., Ltd.")
    session.commit()
    at = page_app("screening", role="analyst")
    at.session_state["screening_tab"] = "Lists"
    at.run()
    at.file_uploader(key="screening_file_0").set_value(("uflpa.csv", LIST, "text/csv")).run()
    assert "3 entries · 1 partner match(es)" in " ".join(c.value for c in at.caption)
    next(b for b in at.button if b.label == "Load and screen").click().run()
    assert not at.exception
    at.session_state["screening_tab"] = "Matches"
    at.run()
    match = session.exec(select(ScreeningMatch)).one()
    at.selectbox(key="screening_match").set_value(match.id).run()
    at.radio[0].set_value("dismissed")
    at.text_area[0].input("Different address and owner: Hongyuan Textile of Ningbo, not Aksu")
    next(b for b in at.button if b.label == "Save decision").click().run()
    assert not at.exception and not at.error
    session.expire_all()
    assert session.get(ScreeningMatch, match.id).status == "dismissed"
    viewer = page_app("screening", role="viewer").run()
    assert not viewer.exception and not viewer.get("selectbox")


def test_pages_on_the_demo_company(page_app, session):
    from services.demo.generator import seed_demo

    seed_demo(session=session, partners=150)  # with its lanes, threat ratings and restricted list
    session.commit()
    for page in TITLES:
        at = page_app(page, role="admin").run()
        assert not at.exception, page
    assert session.exec(select(func.count()).select_from(ThreatRatingChange)).one() > 1000
