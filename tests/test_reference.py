"""Reference data as loaded into the database: countries, criteria, applicability, question texts, MRAs."""

from collections.abc import Iterator

import pandas as pd
import pytest
from sqlalchemy import update
from sqlmodel import Session, col, func, select

from models import Country, Criterion, CriterionApplicability, CriterionText, MraProgram
from models.common import ENTITY_TYPES, LANGUAGES
from services.core import db
from services.reference import loader as reference
from tests.test_db import new_database


@pytest.fixture(scope="module")
def session(tmp_path_factory) -> Iterator[Session]:
    """Reference data loaded into a database of this module's own.

    Not the shared test database: other tests correct reference rows there (an added MRA program, an admin override
    of applicability) and leave them, and these tests check the data exactly as shipped.
    """
    with new_database(tmp_path_factory.mktemp("reference")) as engine:
        db.upgrade(engine)
        with db.session_scope(engine) as s:
            reference.load_reference_data(session=s)
        with Session(engine) as s:
            yield s


def _count(session, model) -> int:
    return session.exec(select(func.count()).select_from(model)).one()


def test_countries_with_zero_padded_numeric_codes(session):
    assert _count(session, Country) == 249
    argentina = session.get(Country, "AR")
    assert (argentina.iso3, argentina.numeric, argentina.name) == ("ARG", "032", "Argentina")
    assert session.get(Country, "AD").numeric == "020"
    numerics = session.exec(select(Country.numeric)).all()
    assert all(len(n) == 3 and n.isdigit() for n in numerics)
    assert len(set(numerics)) == 249
    assert session.get(Country, "CN").region != ""


def test_criteria_ids_are_text(session):
    assert _count(session, Criterion) == 101
    c41, c410 = session.get(Criterion, "4.1"), session.get(Criterion, "4.10")
    assert c41 is not None and c410 is not None
    assert c41.summary != c410.summary
    assert c41.category_number == c410.category_number == 4
    ordered = session.exec(select(Criterion.criterion_id).where(Criterion.category_number == 4)
                           .order_by(Criterion.sort_key)).all()
    assert ordered == [f"4.{n}" for n in range(1, 14)]  # 4.10 sorts after 4.9, not after 4.1
    assert set(session.exec(select(Criterion.requirement)).all()) <= {"must", "should", ""}
    assert {c.criterion_id for c in session.exec(select(Criterion).where(Criterion.category_number == 6))} >= {
        "6.1", "6.2", "6.3", "6.4"}


def test_mra_programs(session):
    assert _count(session, MraProgram) == 18
    programs = {p.partner_country: p for p in session.exec(select(MraProgram))}
    eu = programs["European Union"].country_codes.split()
    assert {"DE", "FR", "NL", "PL"} <= set(eu) and len(eu) == 27 and "GB" not in eu
    assert programs["Mexico"].country_codes == "MX"
    assert programs["United Kingdom"].country_codes == "GB"
    assert all(p.country_codes for p in programs.values())  # every arrangement covers at least one country
    assert all(len(p.signed) == 7 and p.signed[4] == "-" for p in programs.values())


def _applicability(session) -> pd.DataFrame:
    rows = session.exec(select(CriterionApplicability.criterion_id, CriterionApplicability.entity_type,
                               CriterionApplicability.applies, CriterionApplicability.basis,
                               Criterion.category_number)
                        .join(Criterion, col(Criterion.criterion_id) == CriterionApplicability.criterion_id)).all()
    return pd.DataFrame(rows, columns=["criterion_id", "entity_type", "applies", "basis", "category"])


def test_applicability_rows_per_pair_with_their_basis(session):
    matrix = _applicability(session)
    assert len(matrix) == 101 * 12 and not matrix.duplicated(["criterion_id", "entity_type"]).any()
    assert set(matrix["entity_type"]) == set(ENTITY_TYPES)
    assert set(matrix["basis"]) == {"CBP source", "role rule"}

    lookup = matrix.set_index(["criterion_id", "entity_type"])
    assert tuple(lookup.loc[("6.3", "Highway Carrier"), ["applies", "basis"]]) == ("yes", "CBP source")
    assert lookup.loc[("6.3", "Importer"), "applies"] == "no"

    broker = matrix[matrix["entity_type"] == "Customs Broker"]
    assert broker.loc[broker["category"] == 5, "applies"].ne("yes").sum() >= 12  # 5.29 is theirs
    assert broker.loc[broker["basis"] == "role rule", "applies"].eq("yes").any()

    # Importers: CBP's importer rows, role rules only where the importer set has no row (3.8, 7.35, 7.36).
    importer = matrix[(matrix["entity_type"] == "Importer") & (matrix["basis"] == "role rule")]
    assert sorted(importer["criterion_id"]) == ["3.8", "7.35", "7.36"] and importer["applies"].eq("no").all()


def test_applicability_follows_the_seed_files_and_keeps_admin_overrides(tmp_path_factory):
    """A stale shipped row is brought back to the rules, an admin override stays, a removed text goes."""
    with new_database(tmp_path_factory.mktemp("refresh")) as engine:
        db.upgrade(engine)
        with db.session_scope(engine) as s:
            reference.load_reference_data(session=s)
        with db.session_scope(engine) as s:
            s.exec(update(CriterionApplicability).where(CriterionApplicability.criterion_id == "7.4",
                                                        CriterionApplicability.entity_type == "Highway Carrier")
                   .values(applies="yes", basis="product default", note="old", role_condition=""))
            s.exec(update(CriterionApplicability).where(CriterionApplicability.criterion_id == "5.16",
                                                        CriterionApplicability.entity_type == "Foreign Manufacturer")
                   .values(applies="no", basis="admin override", note="ours", role_condition=""))
            s.add(CriterionText(criterion_id="1.1", language="es", entity_type="Sea Carrier", question="¿Obsoleta?"))
        with db.session_scope(engine) as s:
            assert reference.load_reference_data(session=s) == {"criterionapplicability": 2, "criteriontext": 1}
        with Session(engine) as s:
            def row(cid, entity):
                return s.exec(select(CriterionApplicability).where(CriterionApplicability.criterion_id == cid,
                                                                   CriterionApplicability.entity_type == entity)).one()
            stale = row("7.4", "Highway Carrier")
            assert (stale.applies, stale.basis) == ("no", "role rule") and "Shipper's acts" in stale.note
            kept = row("5.16", "Foreign Manufacturer")
            assert (kept.applies, kept.basis, kept.note, kept.role_condition) == (
                "no", "admin override", "ours", "crosses_land_border")
            assert s.get(CriterionText, ("1.1", "es", "Sea Carrier")) is None
        with db.session_scope(engine) as s:
            assert reference.load_reference_data(session=s) == {}


def test_question_texts(session):
    english = set(session.exec(select(CriterionText.criterion_id).where(CriterionText.language == "en")).all())
    assert english == set(session.exec(select(Criterion.criterion_id)).all())
    assert all(session.exec(select(CriterionText.question)).all())

    questions = reference.SEED / "criteria_questions.csv"
    if questions.exists():
        written = pd.read_csv(questions, dtype=str, keep_default_na=False)
        general = written[written["entity_type"] == ""]
        for language in LANGUAGES:
            have = set(session.exec(select(CriterionText.criterion_id).where(CriterionText.language == language,
                                                                             CriterionText.entity_type == "")))
            assert have == set(general.loc[general["language"] == language, "criterion_id"]), language
        chinese = general.set_index(["criterion_id", "language"]).loc[("4.10", "zh"), "question"]
        assert session.get(CriterionText, ("4.10", "zh", "")).question == chinese
        # Every text written for one entity type exists in all three languages, and so does every general text.
        for _, group in written.groupby(["criterion_id", "entity_type"]):
            assert set(group["language"]) == set(LANGUAGES)
        assert {"Highway Carrier", "Long Haul Highway Carrier (Mexico)"} <= set(
            written.loc[written["criterion_id"] == "5.3", "entity_type"])


def test_loading_again_loads_nothing_and_keeps_corrections(session):
    argentina = session.get(Country, "AR")
    argentina.region = "South America (checked)"
    session.add(argentina)
    session.commit()
    tables = (Country, Criterion, CriterionApplicability, CriterionText, MraProgram)
    before = {model: _count(session, model) for model in tables}
    assert reference.load_reference_data(session=session) == {}
    session.commit()
    assert {model: _count(session, model) for model in tables} == before
    assert session.get(Country, "AR").region == "South America (checked)"
