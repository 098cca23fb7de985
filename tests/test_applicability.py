"""Which criteria each partner is asked: entity-type applicability (CBP source, role rule, admin override, unknown)
narrowed by the partner's roles, the examples a CTPAT specialist flagged, the role flags, and the per-type texts."""

from datetime import date, timedelta

import pandas as pd
import pytest
from sqlalchemy import delete, update
from sqlmodel import Session, col, select

from models import Assignment, AuditEvent, CriterionApplicability, Partner
from models.reference import Basis, PartnerRole
from services.collection import cycles, questionnaire
from services.core.permissions import PermissionDenied, ValidationError
from services.exports.workbook import questionnaire_workbook
from services.imports.answers import preview_responses
from services.partners.registry import create_partner
from services.reference import applicability, criteria, loader
from services.reference.questions import CHECKS_RULE, RECOMMENDED, compose
from tests.conftest import ADMIN, ANALYST, VIEWER
from tests.test_workbook import fill, import_file, open_cycle, sheet_rows

LAND_BORDER = {"5.16", "5.24"}
SHIPPER_ACTS = {"7.4", "7.5", "7.29"}
BROKER_NOT = {"7.1", "7.2", "7.4", "7.5", "7.28", "7.29", "7.30", "10.3", "10.4", "10.7", "12.2"}
BROKER_ROLE = {"7.10", "12.6", "5.29"}


@pytest.fixture
def restore_applicability(engine):
    """Put back the applicability rows a test overrode (the conftest keeps reference tables between tests)."""
    with Session(engine) as s:
        saved = [row.model_dump() for row in s.exec(select(CriterionApplicability))]
    yield
    with Session(engine) as s:
        s.exec(delete(CriterionApplicability).where(col(CriterionApplicability.id).not_in([r["id"] for r in saved])))
        s.execute(update(CriterionApplicability), saved)
        s.commit()


def add(session: Session, code: str, entity_type: str, country: str, **flags) -> Partner:
    partner = create_partner(session=session, actor=ANALYST, values={
        "partner_code": code, "legal_name": f"{code} Ltd", "entity_type": entity_type, "country_iso2": country})
    session.flush()
    if flags:
        applicability.set_partner_roles(session=session, actor=ANALYST, partner_id=partner.id, values=flags)
    session.commit()
    return partner


def asked(session: Session, partner: Partner) -> pd.DataFrame:
    return applicability.applicable_criteria_for_partner(session=session, partner_id=partner.id).set_index(
        "criterion_id")


# The shipped matrix ------------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def matrix() -> pd.DataFrame:
    criteria_frame, by_entity = loader._criteria()
    return loader.applicability_matrix(criteria_frame, by_entity)


def test_every_pair_is_decided_once_and_cbp_rows_always_win(matrix):
    assert len(matrix) == 101 * 12 and not matrix.duplicated(["criterion_id", "entity_type"]).any()
    assert set(matrix["basis"]) == {Basis.cbp, Basis.role_rule}
    cbp = pd.read_csv(loader.REFERENCE / "msc-by-entity.csv", dtype=str, keep_default_na=False)
    shipped = matrix[matrix["basis"] == Basis.cbp].merge(cbp, on=["criterion_id", "entity_type"],
                                                         suffixes=("", "_cbp"))
    assert len(shipped) == len(cbp)  # every CBP source row is in, as CBP says
    assert (shipped["applies"] == shipped["applies_cbp"]).all()
    assert (shipped["requirement"] == shipped["requirement_cbp"]).all()
    rules = matrix[matrix["basis"] == Basis.role_rule]
    assert rules["note"].str.len().gt(20).all() and rules["source"].str.startswith("applicability-rules.csv").all()
    # Every pair no CBP row decides was decided deliberately: none falls through to the last, catch-all rule.
    catch_all = pd.read_csv(loader.RULES_FILE, dtype=str, keep_default_na=False).iloc[-1]["rule"]
    assert not rules["note"].eq(catch_all).any()
    assert set(matrix["role_condition"].str.split("|").explode()) <= {"", *PartnerRole}


def test_a_bad_rules_file_names_file_row_and_column(tmp_path, monkeypatch):
    bad = tmp_path / "applicability-rules.csv"
    text = loader.RULES_FILE.read_text(encoding="utf-8").splitlines()
    text[3] = text[3].replace("no,,,", "perhaps,,,", 1)
    bad.write_text("\n".join(text), encoding="utf-8")
    monkeypatch.setattr(loader, "RULES_FILE", bad)
    monkeypatch.setattr(loader, "SEED", tmp_path.parent)
    with pytest.raises(loader.SeedError, match=r"applicability-rules.csv, row 4, column applies: 'perhaps'"):
        loader.applicability_rules(["5.16", "5.24", "7.35", "7.36"])


@pytest.mark.parametrize(("file", "column", "old", "new"), [
    ("msc-by-entity.csv", "applies", ",yes,", ",perhaps,"),
    ("msc-importer.csv", "requirement", ",must,", ",required,"),
])
def test_a_bad_cbp_reference_file_names_file_row_and_column(tmp_path, monkeypatch, file, column, old, new):
    reference = tmp_path / "reference"
    reference.mkdir()
    for name in ("msc-importer.csv", "msc-by-entity.csv"):
        (reference / name).write_bytes((loader.REFERENCE / name).read_bytes())
    lines = (reference / file).read_text(encoding="utf-8").splitlines()
    row = next(i for i, line in enumerate(lines) if i and old in line)
    lines[row] = lines[row].replace(old, new, 1)
    (reference / file).write_text("\n".join(lines), encoding="utf-8")
    monkeypatch.setattr(loader, "REFERENCE", reference)
    monkeypatch.setattr(loader, "SEED", tmp_path)
    with pytest.raises(loader.SeedError, match=rf"reference/{file}, row {row + 1}, column {column}: "
                                               rf"'{new.strip(',')}' is not one of"):
        loader._criteria()


# The specialist's examples, per partner ------------------------------------------------------------------------------

@pytest.mark.parametrize("entity_type", ["Highway Carrier", "Long Haul Highway Carrier (Mexico)"])
def test_road_carriers_get_subcontracting_not_the_shippers_acts(session, staff, entity_type):
    carrier = add(session, "TRK", entity_type, "MX")
    rows = asked(session, carrier)
    assert not (SHIPPER_ACTS | {"5.15"}) & set(rows.index)  # no stuffing supervision, seal photos, carriers' GPS
    assert "3.8" in rows.index and rows.loc["3.8", "requirement"] == "must"
    assert {"5.3", "5.14", "6.3", "12.2"} <= set(rows.index)  # their own conveyances, LTL seals, drivers


@pytest.mark.parametrize(("entity_type", "country"), [("Sea Carrier", "DK"), ("Air Carrier", "US"),
                                                      ("Rail Carrier", "MX"), ("Rail Carrier", "CA")])
def test_sea_air_and_rail_carriers_get_no_land_border_or_driver_items(session, staff, entity_type, country):
    carrier = add(session, "CAR", entity_type, country)
    assert not (LAND_BORDER | {"12.2"}) & set(asked(session, carrier).index)


def test_terminal_operators_get_no_bill_of_lading_or_stuffing_items(session, staff):
    terminal = add(session, "TERM", "Marine Port Authority and Terminal Operator", "US")
    rows = asked(session, terminal)
    assert not ({"7.30"} | SHIPPER_ACTS) & set(rows.index)
    assert {"5.1", "7.1", "10.3", "6.7"} <= set(rows.index)  # containers and cargo at the terminal


def test_customs_brokers_get_their_security_role_not_cargo_items(session, staff):
    broker = add(session, "CB", "Customs Broker", "MX")
    rows = asked(session, broker)
    assert not BROKER_NOT & set(rows.index)
    assert not rows.index.str.match(r"^6\.").any() and not (LAND_BORDER & set(rows.index))
    assert BROKER_ROLE <= set(rows.index)
    assert rows.loc["7.10", "requirement"] == "must" and rows.loc["7.10", "basis"] == Basis.role_rule

    # A broker that also runs a warehouse gets the cargo items, and the seal items to confirm; never stuffing.
    warehouse = add(session, "CB2", "Customs Broker", "US", handles_cargo=True)
    rows = asked(session, warehouse)
    assert {"7.1", "7.2", "7.28", "10.3", "10.4", "10.7"} <= set(rows.index)
    assert set(rows.loc[rows.index.str.match(r"^6\."), "applies"]) == {"unknown"}
    assert not (SHIPPER_ACTS | {"7.30", "12.2"}) & set(rows.index)


@pytest.mark.parametrize("entity_type", ["Consolidator", "Third Party Logistics Provider"])
def test_consolidators_and_3pls_get_air_cargo_seals_and_document_review(session, staff, entity_type):
    forwarder = add(session, "FWD", entity_type, "HK")
    rows = asked(session, forwarder)
    assert {"6.4", "7.10", "12.6"} <= set(rows.index)
    assert set(rows.loc[["7.10", "12.6"], "applies"]) == {"yes"}


def test_foreign_manufacturers_get_fencing_and_wood_packaging_land_border_only_by_road(session, staff):
    china = add(session, "CN-F", "Foreign Manufacturer", "CN")
    mexico = add(session, "MX-F", "Foreign Manufacturer", "MX")
    in_china, in_mexico = asked(session, china), asked(session, mexico)
    for rows in (in_china, in_mexico):
        assert {"9.2", "12.7"} <= set(rows.index)
        assert rows.loc["12.7", "requirement"] == "must"
        assert SHIPPER_ACTS | {"5.3", "6.2", "5.15"} <= set(rows.index)
    assert not LAND_BORDER & set(in_china.index)
    assert LAND_BORDER <= set(in_mexico.index)
    assert in_mexico.loc["5.16", "basis"] == Basis.cbp  # CBP puts it in the FM set; the partner's roles scope it


def test_the_land_border_flag_decides_for_highway_carriers(session, staff):
    crossing = add(session, "MX-HC", "Highway Carrier", "MX")
    assert LAND_BORDER <= set(asked(session, crossing).index)
    us_domestic = add(session, "US-HC", "Highway Carrier", "US", crosses_land_border=False)
    assert not LAND_BORDER & set(asked(session, us_domestic).index)
    china = add(session, "CN-F2", "Foreign Manufacturer", "CN", crosses_land_border=True)  # trucks via Mexico
    assert LAND_BORDER <= set(asked(session, china).index)


def test_a_factory_whose_goods_go_through_a_consolidator_is_not_asked_the_stuffing_items(session, staff):
    factory = add(session, "LCL", "Foreign Manufacturer", "VN", stuffs_containers=False)
    rows = asked(session, factory)
    assert not (SHIPPER_ACTS | {"5.3", "6.5", "7.30", "12.2"}) & set(rows.index)
    assert {"6.1", "6.2", "7.1", "9.2"} <= set(rows.index)  # CBP's core seal items and its own premises stay


def test_unknown_is_asked_and_flagged(session, staff):
    factory = add(session, "CN-F3", "Foreign Manufacturer", "CN")
    rows = asked(session, factory)
    assert rows.loc["3.8", "applies"] == "unknown" and rows.loc["3.8", "basis"] == Basis.cbp
    assert rows.loc["7.10", "applies"] == "unknown" and rows.loc["7.10", "basis"] == Basis.role_rule
    assert "3.8" in questionnaire_ids(session, factory)


def questionnaire_ids(session: Session, partner: Partner) -> list[str]:
    cycle = cycles.open_cycle(session=session, actor=ANALYST, name=f"Cycle {partner.partner_code}",
                              due_date=date.today() + timedelta(days=30), partner_ids=[partner.id],
                              exempt_certified=False)
    session.commit()
    assignment = session.exec(select(Assignment).where(Assignment.cycle_id == cycle.id)).one()
    return questionnaire.applicable_criteria(session=session, assignment_id=assignment.id)


def test_questionnaire_order_and_many_partners_at_once(session, staff):
    made = [add(session, f"P{i}", entity, country) for i, (entity, country) in enumerate([
        ("Foreign Manufacturer", "CN"), ("Foreign Manufacturer", "MX"), ("Highway Carrier", "MX"),
        ("Customs Broker", "US"), ("Sea Carrier", "DK")])]
    together = applicability.applicable_criteria_for_partners(session=session, partner_ids=[p.id for p in made])
    assert list(together.columns) == applicability.PARTNER_COLUMNS
    for partner in made:
        alone = applicability.applicable_criteria_for_partner(session=session, partner_id=partner.id)
        mine = together[together["partner_id"] == partner.id].reset_index(drop=True)
        pd.testing.assert_frame_equal(mine, alone)
        order = list(zip(alone["category_number"], alone["requirement"].ne("must"), alone["sort_key"], strict=True))
        assert order == sorted(order)  # by category, must first, then 4.9 before 4.10
    assert applicability.applicable_criteria_for_partners(session=session, partner_ids=[]).empty


# Admin overrides -----------------------------------------------------------------------------------------------------

def test_an_admin_override_wins_and_the_basis_says_so(session, staff, restore_applicability):
    broker = add(session, "CB3", "Customs Broker", "US")
    criteria.set_applicability(session=session, actor=ADMIN, criterion_id="12.6", entity_type="Customs Broker",
                               applies="no", note="Our brokers train on this under 7.10")
    session.commit()
    assert "12.6" not in asked(session, broker).index
    criteria.set_applicability(session=session, actor=ADMIN, criterion_id="5.15", entity_type="Highway Carrier",
                               applies="yes", note="Our carriers subcontract and must see their GPS")
    session.commit()
    carrier = add(session, "HC3", "Highway Carrier", "CA")
    assert asked(session, carrier).loc["5.15", "basis"] == Basis.admin

    # The override decides for the type; the land-border scope still follows each partner's roles.
    criteria.set_applicability(session=session, actor=ADMIN, criterion_id="5.24", entity_type="Foreign Manufacturer",
                               applies="yes", note="Confirmed against CBP's FM document")
    session.commit()
    assert "5.24" not in asked(session, add(session, "CN-F4", "Foreign Manufacturer", "CN")).index
    assert asked(session, add(session, "MX-F4", "Foreign Manufacturer", "MX")).loc["5.24", "basis"] == Basis.admin


# Role flags ----------------------------------------------------------------------------------------------------------

def test_role_flags_default_from_type_and_country_and_changes_are_audited(session, staff):
    factory = add(session, "MX-F5", "Foreign Manufacturer", "MX")
    roles = applicability.partner_roles(session=session, partner_id=factory.id).set_index("role")
    assert roles["own"].isna().all()
    assert roles["value"].to_dict() == {"crosses_land_border": True, "stuffs_containers": True,
                                        "operates_conveyances": False, "handles_cargo": True}
    assert "Mexico" in roles.loc["crosses_land_border", "why_default"]

    changed = applicability.set_partner_roles(session=session, actor=ANALYST, partner_id=factory.id,
                                              values={"crosses_land_border": False, "stuffs_containers": None})
    session.commit()
    assert changed == {"crosses_land_border": False}  # stuffs_containers was already the default
    assert session.get(Partner, factory.id).crosses_land_border is False
    [event] = session.exec(select(AuditEvent).where(AuditEvent.entity == "partner",
                                                    AuditEvent.action == "update")).all()
    assert (event.entity_id, event.before, event.after) == ("MX-F5", {"crosses_land_border": None},
                                                            {"crosses_land_border": False})
    assert event.summary == "Roles of MX-F5: crosses_land_border no"
    assert not LAND_BORDER & set(asked(session, factory).index)
    assert applicability.set_partner_roles(session=session, actor=ANALYST, partner_id=factory.id,
                                           values={"crosses_land_border": False}) == {}

    applicability.set_partner_roles(session=session, actor=ANALYST, partner_id=factory.id,
                                    values={"crosses_land_border": None})
    session.commit()
    assert session.exec(select(AuditEvent.summary).where(AuditEvent.entity == "partner").order_by(
        AuditEvent.id.desc())).first() == "Roles of MX-F5: crosses_land_border default"
    assert LAND_BORDER <= set(asked(session, factory).index)  # back to the default: a partner in Mexico


def test_role_flags_refuse_viewers_and_bad_input(session, staff):
    factory = add(session, "CN-F6", "Foreign Manufacturer", "CN")
    with pytest.raises(PermissionDenied):
        applicability.set_partner_roles(session=session, actor=VIEWER, partner_id=factory.id,
                                        values={"handles_cargo": False})
    with pytest.raises(ValidationError, match="Not a partner role: flies"):
        applicability.set_partner_roles(session=session, actor=ANALYST, partner_id=factory.id, values={"flies": True})
    with pytest.raises(ValidationError, match="handles_cargo: 'yes' must be"):
        applicability.set_partner_roles(session=session, actor=ANALYST, partner_id=factory.id,
                                        values={"handles_cargo": "yes"})
    with pytest.raises(ValidationError, match="No partner with id 999999"):
        applicability.partner_roles(session=session, partner_id=999999)


def test_every_entity_type_has_default_roles():
    roles = loader.entity_roles()
    assert len(roles) == 12 and roles["why"].str.len().gt(30).all()
    frame = pd.DataFrame({"entity_type": ["Highway Carrier", "Foreign Manufacturer", "Foreign Manufacturer",
                                          "Customs Broker"], "country_iso2": ["US", "CA", "CN", "MX"],
                          "handles_cargo": [None, None, None, True]})
    resolved = applicability.resolve_roles(frame)
    assert resolved["crosses_land_border"].tolist() == [True, True, False, True]
    assert resolved["handles_cargo"].tolist() == [True, True, True, True]
    assert resolved["handles_cargo_default"].tolist() == [True, True, True, False]


# What the Criteria page shows for an entity type --------------------------------------------------------------------

def test_type_view_shows_basis_condition_and_what_is_asked_by_default(session):
    broker = criteria.criteria_for_entity_type(session=session, entity_type="Customs Broker").set_index(
        "criterion_id")
    assert not BROKER_NOT & set(broker.index) and BROKER_ROLE <= set(broker.index)
    assert set(broker["basis"]) <= {Basis.cbp, Basis.role_rule, Basis.admin}
    factory = criteria.criteria_for_entity_type(session=session, entity_type="Foreign Manufacturer").set_index(
        "criterion_id")
    assert factory.loc["5.16", "asked_by_default"] == "by country"
    assert factory.loc["5.16", "condition"] == "only if: ships across a US land border"
    assert factory.loc["7.4", "condition"].startswith("only if: loads and seals")
    rows = criteria.applicability(session=session, entity_type="Sea Carrier").set_index("criterion_id")
    assert rows.loc["5.16", "applies"] == "no" and rows.loc["5.16", "basis"] == Basis.role_rule
    assert "land border" in rows.loc["5.16", "note"]


# Question texts ------------------------------------------------------------------------------------------------------

def test_highway_carriers_read_the_17_point_inspection_factories_the_container_one(session, staff):
    carrier = add(session, "HC9", "Highway Carrier", "MX", crosses_land_border=True)
    factory = add(session, "CN-F9", "Foreign Manufacturer", "CN")
    for language, tractor, container in (("en", "fifth-wheel", "fan housing"), ("es", "quinta rueda", "ventilador"),
                                         ("zh", "第五轮", "风机罩")):
        texts = {}
        for partner in (carrier, factory):
            cycle = cycles.open_cycle(session=session, actor=ANALYST, name=f"{partner.partner_code} {language}",
                                      due_date=date.today() + timedelta(days=9), partner_ids=[partner.id],
                                      language=language, exempt_certified=False)
            session.commit()
            assignment = session.exec(select(Assignment).where(Assignment.cycle_id == cycle.id)).one()
            frame = questionnaire.questionnaire(session=session, assignment_id=assignment.id, language=language)
            texts[partner.entity_type] = frame.set_index("criterion_id")["question"]
        assert tractor in texts["Highway Carrier"]["5.3"] and container not in texts["Highway Carrier"]["5.3"]
        assert container in texts["Foreign Manufacturer"]["5.3"]
        assert CHECKS_RULE[language] in texts["Highway Carrier"]["5.3"]
        # Every other question reads the same for both.
        shared = texts["Highway Carrier"].index.intersection(texts["Foreign Manufacturer"].index).drop(
            ["5.3", "5.14"], errors="ignore")
        assert (texts["Highway Carrier"][shared] == texts["Foreign Manufacturer"][shared]).all()


def test_checks_and_recommended_parts_are_composed_in_each_language():
    text = compose("Does it?", "First\n Second \n", "Escort visitors.", "es")
    assert text.splitlines() == ["Does it?", CHECKS_RULE["es"], "• First", "• Second",
                                 RECOMMENDED["es"].format(text="Escort visitors.")]
    assert compose("Plain?", "", "", "zh") == "Plain?"


def test_reviewed_question_texts(session):
    questions = criteria.question_texts(session=session).set_index("criterion_id")
    for cid in ("2.1", "5.3", "6.1", "10.1"):  # four to seven checks under the question, one answer
        for language in ("en", "es", "zh"):
            lines = questions.loc[cid, language].splitlines()
            assert lines[1] == CHECKS_RULE[language] and 4 <= sum(x.startswith("• ") for x in lines) <= 7
    for cid in ("3.1", "9.13", "10.2"):  # the "should" part of a must criterion is apart
        for language in ("en", "es", "zh"):
            assert questions.loc[cid, language].splitlines()[-1].startswith(RECOMMENDED[language].split("{")[0])
    assert "escort" not in questions.loc["10.2", "en"].splitlines()[0].lower()
    assert "first place outside the United States" in questions.loc["7.8", "en"]
    assert "primer lugar fuera de EE. UU." in questions.loc["7.8", "es"] and "境外" not in questions.loc["7.8", "zh"]
    assert "CTPAT shipment" not in questions.loc["6.2", "en"] and "CTPAT" not in questions.loc["6.2", "zh"]
    assert "National Institute of Standards and Technology" in questions.loc["4.13", "en"]
    assert "美国国家标准与技术研究院" in questions.loc["4.13", "zh"]
    assert "última oportunidad" not in questions.loc["5.24", "es"] and "最后机会" not in questions.loc["5.24", "zh"]
    assert questions.notna().all().all()


# One workbook and one import for partners of one type that are asked different questions -----------------------------

def test_partners_of_one_type_with_other_roles_get_their_own_questions_in_the_workbook_and_import(session, staff):
    china = add(session, "CN-F7", "Foreign Manufacturer", "CN")
    mexico = add(session, "MX-F7", "Foreign Manufacturer", "MX")
    lcl = add(session, "VN-F7", "Foreign Manufacturer", "VN", stuffs_containers=False)
    members, sets = applicability.question_sets_for_partners(session=session, partner_ids=[china.id, mexico.id,
                                                                                           lcl.id, china.id])
    assert members["partner_id"].tolist() == sorted([china.id, mexico.id, lcl.id]) and sets["set_id"].nunique() == 3
    twin = add(session, "CN-F8", "Foreign Manufacturer", "CN")
    members, _ = applicability.question_sets_for_partners(session=session, partner_ids=[china.id, twin.id])
    assert members["set_id"].nunique() == 1  # same type, same roles: one set

    assignments = open_cycle(session, "2027 mixed roles", china, mexico, lcl)
    cycle_id = session.get(Assignment, assignments["CN-F7"]).cycle_id
    data = questionnaire_workbook(session=session, assignment_ids=list(assignments.values()))
    rows = pd.DataFrame(sheet_rows(data))
    by_partner = rows.groupby("partner_code")["criterion_id"].agg(list).to_dict()
    for code, partner in (("CN-F7", china), ("MX-F7", mexico), ("VN-F7", lcl)):
        assert by_partner[code] == asked(session, partner).index.tolist()  # the link's questions, in its order
    assert LAND_BORDER <= set(by_partner["MX-F7"]) and not LAND_BORDER & set(by_partner["CN-F7"])
    assert "7.4" not in by_partner["VN-F7"]
    five_three = rows[(rows["partner_code"] == "MX-F7") & (rows["criterion_id"] == "5.3")]["question"].iloc[0]
    assert CHECKS_RULE["en"] in five_three and "\n• " in five_three  # checks listed under the question

    # Sent back filled in: every partner's questionnaire is complete, and a question it was not asked is refused.
    preview = import_file(session, cycle_id, "mixed.xlsx", fill(data, {}, default=("yes", None)))
    assert preview.totals["new"] == len(rows)
    statuses = {code: session.get(Assignment, a).status for code, a in assignments.items()}
    assert statuses == {"CN-F7": "submitted", "MX-F7": "submitted", "VN-F7": "submitted"}
    extra = b"partner_code,criterion_id,answer,comment\nCN-F7,5.16,yes,\n"
    refused = preview_responses(session=session, files=[("extra.csv", extra)], cycle_id=cycle_id)
    assert "Criterion 5.16 does not apply to Foreign Manufacturer partners (CN-F7)" in " ".join(
        refused.problems["message"])


def test_an_admin_hands_an_override_back_to_the_shipped_rule(session, staff, restore_applicability):
    criteria.set_applicability(session=session, actor=ADMIN, criterion_id="7.4", entity_type="Highway Carrier",
                               applies="yes", note="We asked our carriers to supervise loading")
    session.commit()
    with pytest.raises(PermissionDenied):
        criteria.restore_shipped_applicability(session=session, actor=ANALYST, criterion_id="7.4",
                                               entity_type="Highway Carrier")
    row = criteria.restore_shipped_applicability(session=session, actor=ADMIN, criterion_id="7.4",
                                                 entity_type="Highway Carrier")
    session.commit()
    assert (row.applies, row.basis, row.role_condition) == ("no", Basis.role_rule, "")
    assert "Shipper's acts" in row.note and row.source.startswith("applicability-rules.csv, row ")
    event = session.exec(select(AuditEvent).where(AuditEvent.entity == "criterion").order_by(
        col(AuditEvent.id).desc())).first()
    assert event.before["basis"] == Basis.admin and event.after == {"applies": "no", "basis": "role rule",
                                                                    "note": row.note}
    with pytest.raises(ValidationError, match="no admin override to undo"):
        criteria.restore_shipped_applicability(session=session, actor=ADMIN, criterion_id="7.4",
                                               entity_type="Highway Carrier")
