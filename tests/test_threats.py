"""The threat register: documented rules, Unknown and "not assessed", accept and override, history, imports."""

from datetime import date

import pandas as pd
import pytest
from sqlmodel import func, select

from models import AuditEvent, ImportRecord, ThreatIndicator, ThreatRating, ThreatRatingChange, ThreatSource
from services.core.permissions import PermissionDenied, ValidationError
from services.threats import imports, register, rules, sources
from tests.conftest import ADMIN, ANALYST, VIEWER
from tests.test_answer_import import csv_bytes

TODAY = date(2026, 12, 5)


def levels(table: pd.DataFrame, iso2: str, region: str = "") -> dict[str, str]:
    rows = table[(table["iso2"] == iso2) & (table["region_code"] == region)]
    return dict(zip(rows["category"], rows["level"], strict=True))


def test_the_documented_examples(session):
    found = sources.suggestions(session=session)
    table = found.assign(region_code="")

    def of(iso2):
        rows = found[found["iso2"] == iso2]
        return dict(zip(rows["category"], rows["level"], strict=True))

    # Mexico: level 2 citing crime, terrorism, kidnapping; TIP Tier 2.
    assert of("MX") == {"terrorism": "Medium", "contraband smuggling": "Medium", "organized crime": "High",
                        "conditions": "Low", "human smuggling": "Medium", "forced labor": "Medium"}
    # China: level 2 citing other (O); TIP Tier 3.
    assert of("CN") == {"terrorism": "Low", "contraband smuggling": "Low", "organized crime": "Low",
                        "conditions": "Medium", "human smuggling": "High", "forced labor": "High"}
    assert set(of("HT").values()) == {"High"}  # level 4 everywhere, Special Case
    assert set(of("CA").values()) == {"Low"}
    mx = found[(found["iso2"] == "MX") & (found["category"] == "organized crime")].iloc[0]
    assert mx["rule"] == "Travel advisory level 2 → Low; cites crime (C), kidnapping (K) → High"
    assert mx["source_name"] == "US State Department travel advisories" and str(mx["as_of"]) == "2026-05-29"
    assert not table.empty


def test_unknown_is_not_low_and_not_assessed_is_left_out(session):
    table = register.threat_table(session=session, today=TODAY)
    us = table[(table["iso2"] == "US") & (table["region_code"] == "")].set_index("category")
    # No travel advisory covers the US: the advisory's categories are Unknown, never Low.
    assert us.loc["terrorism", "level"] == "Unknown" and us.loc["terrorism", "status"] == "no value"
    assert us.loc["human smuggling", "level"] == "Low"  # TIP Tier 1
    # No source feeds agricultural threats: not assessed, for every country.
    assert set(table.loc[table["category"] == "agricultural", "level"]) == {"Not assessed"}
    overall = register.overall(table).set_index("iso2")
    assert overall.loc["US", "overall"] == "Unknown" and overall.loc["US", "score_level"] == "High"
    assert overall.loc["CA", "overall"] == "Low"  # agricultural (not assessed) is left out
    assert register.overall(table, unknown_as="Medium").set_index("iso2").loc["US", "score_level"] == "Medium"


def test_stale_values_are_labelled(session, staff):
    table = register.threat_table(session=session, today=TODAY)
    tip = table[(table["iso2"] == "CA") & (table["category"] == "forced labor")].iloc[0]
    assert tip["stale"]  # the 2025 TIP report (2025-09-29) is over 12 months old on 2026-12-05
    register.update_settings(session=session, actor=ADMIN, stale_after_months=24, unknown_as="High")
    session.commit()
    table = register.threat_table(session=session, today=TODAY)
    assert not table[(table["iso2"] == "CA") & (table["category"] == "forced labor")].iloc[0]["stale"]
    with pytest.raises(PermissionDenied):
        register.update_settings(session=session, actor=ANALYST, stale_after_months=6, unknown_as="High")


def test_accept_override_history_and_review(session, staff):
    written = register.accept_suggestions(session=session, actor=ANALYST, keys=[("MX", "", "organized crime")])
    session.commit()
    assert written == 1
    assert register.accept_suggestions(session=session, actor=ANALYST, keys=[("MX", "", "organized crime")]) == 0
    with pytest.raises(ValidationError) as error:
        register.rate(session=session, actor=ANALYST, iso2="MX", category="organized crime", level="Medium",
                      reason="short", source="x")
    assert "rather than the suggested High" in str(error.value)
    rating = register.rate(session=session, actor=ANALYST, iso2="MX", category="organized crime", level="Medium",
                           reason="All our Mexican plants sit in guarded parks", source="Site visits 2026",
                           expected_version=1, today=TODAY)
    session.commit()
    assert (rating.level, rating.basis, rating.suggested_level, rating.version) == ("Medium", "override", "High", 2)
    with pytest.raises(ValidationError) as error:
        register.rate(session=session, actor=ANALYST, iso2="MX", category="organized crime", level="High",
                      expected_version=1)
    assert "changed by luis" in str(error.value)
    with pytest.raises(PermissionDenied):
        register.rate(session=session, actor=VIEWER, iso2="MX", category="organized crime", level="High")
    changes = register.history(session=session, iso2="MX")
    assert changes[["previous_level", "level", "basis", "changed_by"]].values.tolist() == [
        ["High", "Medium", "override", "luis"], ["", "High", "accepted suggestion", "luis"]]
    assert changes.iloc[0]["reason"] == "All our Mexican plants sit in guarded parks"
    table = register.threat_table(session=session, today=TODAY)
    row = table[(table["iso2"] == "MX") & (table["region_code"] == "") & (table["category"] == "organized crime")]
    assert row.iloc[0]["status"] == "rated" and not row.iloc[0]["review"]
    # "Accept all" never overwrites an override.
    register.accept_suggestions(session=session, actor=ANALYST)
    session.commit()
    session.expire_all()
    assert session.exec(select(ThreatRating).where(ThreatRating.iso2 == "MX", ThreatRating.category ==
                                                   "organized crime")).one().level == "Medium"
    assert session.exec(select(func.count()).select_from(AuditEvent).where(AuditEvent.entity == "threat rating")
                        ).one() == 3


def test_a_region_takes_its_own_rating_else_its_country(session, staff):
    register.rate(session=session, actor=ANALYST, iso2="MX", region_code="Tamaulipas", category="organized crime",
                  level="High", reason="Do Not Travel state in the 2024 advisory", source="State Dept 2024",
                  today=TODAY)
    session.commit()
    table = register.threat_table(session=session, today=TODAY)
    tam = table[(table["iso2"] == "MX") & (table["region_code"] == "MX-TAM")].set_index("category")
    assert tam.loc["organized crime", "status"] == "rated" and tam.loc["organized crime", "level"] == "High"
    assert tam.loc["terrorism", "status"] == "inherited" and tam.loc["terrorism", "level"] == "Medium"
    places = pd.DataFrame({"iso2": ["MX", "MX", "CA"], "region_code": ["MX-TAM", "MX-NLE", ""]})
    located = register.locate(table, places)
    assert located["organized crime"].tolist() == ["High", "High", "Low"]
    assert located["overall"].tolist() == ["High", "High", "Low"]
    register.clear_rating(session=session, actor=ANALYST, iso2="MX", region_code="MX-TAM",
                          category="organized crime", reason="Advisory lowered the state again")
    session.commit()
    assert register.history(session=session, iso2="MX").iloc[0]["basis"] == "removed"


def test_index_import_with_a_numeric_mapping_feeds_suggestions(session, staff):
    data = csv_bytes([["MEX", "31", "2025"], ["Canada", "75", "2025"], ["CN", "43", "2025"], ["Atlantis", "10", ""]],
                     header=["ISO3", "CPI score", "Year"])
    preview = imports.preview_threat_file(session=session, filename="cpi.csv", data=data)
    assert preview.kind == "index" and preview.has_errors
    assert preview.problems.iloc[0][["row", "column", "value"]].tolist() == [5, "ISO3", "Atlantis"]
    data = csv_bytes([["MEX", "31", "2025"], ["Canada", "75", "2025"], ["CN", "43", "2025"]],
                     header=["ISO3", "CPI score", "Year"])
    preview = imports.preview_threat_file(session=session, filename="cpi.csv", data=data)
    assert not preview.has_errors and preview.numeric and preview.proposed["kind"] == "numeric"
    mapping = {"kind": "numeric", "higher_is_worse": False, "high": 35, "medium": 50}
    assert preview.levels(mapping).tolist() == ["High", "Low", "Medium"]
    with pytest.raises(ValidationError):
        imports.apply_threat_file(session=session, actor=ANALYST, preview=preview, name="CPI 2025", categories=[],
                                  mapping=mapping)
    imports.apply_threat_file(session=session, actor=ANALYST, preview=preview, name="CPI 2025",
                              categories=["conditions"], mapping=mapping, licence="CC BY-ND 4.0 (own licence)")
    session.commit()
    found = sources.suggestions(session=session)
    mx = found[(found["iso2"] == "MX") & (found["category"] == "conditions")].iloc[0]
    assert mx["level"] == "High" and "CPI 2025 31 → High" in mx["rule"] and "Travel advisory" in mx["rule"]
    # Loading the same index again replaces its values.
    imports.apply_threat_file(session=session, actor=ANALYST, preview=preview, name="CPI 2025",
                              categories=["conditions"], mapping=mapping)
    session.commit()
    source = session.exec(select(ThreatSource).where(ThreatSource.name == "CPI 2025")).one()
    assert session.exec(select(func.count()).select_from(ThreatIndicator)
                        .where(ThreatIndicator.source_id == source.id)).one() == 3


def test_categorical_index_and_register_file(session, staff):
    data = csv_bytes([["MX", "watch"], ["CN", "severe"], ["VN", "watch"]], header=["country", "value"])
    preview = imports.preview_threat_file(session=session, filename="idx.csv", data=data)
    assert preview.distinct == ["severe", "watch"] and preview.proposed["levels"] == {"severe": "", "watch": ""}
    with pytest.raises(ValidationError):
        imports.check_mapping(preview.proposed, ["organized crime"])
    register_file = csv_bytes([["CN", "", "agricultural", "Medium", "ISPM 15 findings", "2026-06-01"],
                               ["MX", "Tamaulipas", "organized crime", "high", "", ""],
                               ["MX", "", "nonsense", "Huge", "", "soon"]],
                              header=["country", "state", "category", "level", "rationale", "as of"])
    preview = imports.preview_threat_file(session=session, filename="register.csv", data=register_file)
    assert preview.kind == "register"
    assert preview.problems[["row", "column"]].values.tolist() == [[4, "as of"], [4, "category"], [4, "level"]]
    with pytest.raises(ValidationError):
        imports.apply_threat_file(session=session, actor=ANALYST, preview=preview)
    assert session.exec(select(func.count()).select_from(ThreatRating)).one() == 0
    preview = imports.preview_threat_file(session=session, filename="register.csv",
                                          data=csv_bytes([["CN", "", "agricultural", "Medium", "ISPM 15 findings",
                                                           "2026-06-01"]],
                                                         header=["country", "state", "category", "level",
                                                                 "rationale", "as of"]))
    record = imports.apply_threat_file(session=session, actor=ANALYST, preview=preview, today=TODAY)
    session.commit()
    assert (record.kind, record.created) == ("threats (register)", 1)
    table = register.threat_table(session=session, today=TODAY)
    # The register file is a source for agricultural threats: elsewhere they are now Unknown, not "not assessed".
    assert levels(table, "CN")["agricultural"] == "Medium" and levels(table, "CA")["agricultural"] == "Unknown"
    assert session.exec(select(ThreatRatingChange).where(ThreatRatingChange.category == "agricultural")
                        ).one().basis == "file import"
    assert session.exec(select(ImportRecord)).one().filename == "register.csv"


def test_rules_are_pure_functions():
    mapping = {"kind": "categorical", "levels": {"Tier 3": "High", "tier 1": "Low"}}
    assert rules.index_level(pd.Series(["tier 3", "Tier 1", "other"]), mapping).tolist() == ["High", "Low", None]
    assert rules.raise_band("Low", 5) == "High"
    assert rules.is_stale(pd.Series([date(2025, 1, 1), None]), today=TODAY, months=12).tolist() == [True, False]
