"""Forced-labor screening: list files, name matching, analyst decisions, the High forced-labor flag."""

from datetime import date

import pandas as pd
import pytest
from sqlmodel import func, select

from models import RestrictedList, ScreeningMatch
from services.core.permissions import PermissionDenied, ValidationError
from services.screening import lists, matching
from services.screening.lists import entry_names
from services.threats import register
from tests.conftest import ANALYST, VIEWER
from tests.risk_support import partner
from tests.test_answer_import import csv_bytes

LIST = csv_bytes([
    ["Xinjiang Hongyuan Cotton Spinning Co., Ltd.", "Hongyuan Textile; Red Source Cotton", "China",
     "Aksu, Xinjiang", "2024-06-11", "89 FR 12345"],
    ["Brightstar Silicon Co., Ltd.", "", "CN", "", "06/02/2023", ""],
    ["Golden Loom Apparel", "", "", "", "", ""],
], header=["Entity", "Also known as", "Country", "Address", "Date added", "Federal Register"])


def test_matching_kinds():
    partners = pd.DataFrame({"partner_id": [1, 2, 3, 4, 5],
                             "normalized_name": matching.normalized(pd.Series([
                                 "Hongyuan Textile Co., Ltd.", "Cotton Red Source Ltd", "Golden Loom Apparel Trading "
                                 "(Shenzhen) Co.", "Golden Apparel", "Bright Lamps"]))})
    entries = pd.DataFrame({"name": ["Xinjiang Hongyuan Cotton Spinning", "Golden Loom Apparel"],
                            "aliases": ["Hongyuan Textile; Red Source Cotton", ""]})
    found = matching.find_matches(partners, entry_names(entries)).set_index("partner_id")
    assert found.loc[1, "match_kind"] == "same name" and found.loc[1, "matched_name"] == "Hongyuan Textile"
    assert found.loc[2, "match_kind"] == "same words, other order"
    assert found.loc[3, "match_kind"] == "all words of the listed name"
    assert set(found.index) == {1, 2, 3}  # "Golden Apparel" lacks "Loom"; "Bright Lamps" shares nothing


def test_list_import_matches_decisions_and_the_forced_labor_flag(session, staff):
    partner(session, "CN-9", "Hongyuan Textile Co., Ltd.", city="Aksu")
    partner(session, "CN-8", "Shenzhen Bright Lamps Co., Ltd.")
    session.commit()
    preview = lists.read_list(session=session, filename="uflpa.csv", data=LIST)
    assert not preview.has_errors and len(preview.entries) == 3
    assert preview.entries.loc[1, "listed_on"] == date(2023, 6, 2)
    assert preview.matches[["partner_code", "listed_name", "match_kind"]].values.tolist() == [
        ["CN-9", "Xinjiang Hongyuan Cotton Spinning Co., Ltd.", "same name"]]
    with pytest.raises(PermissionDenied):
        lists.apply_list(session=session, actor=VIEWER, preview=preview, name="UFLPA Entity List")
    loaded = lists.apply_list(session=session, actor=ANALYST, preview=preview, name="UFLPA Entity List",
                              publisher="DHS", as_of=date(2026, 11, 1))
    session.commit()
    assert loaded.entries == 3
    matches = lists.list_matches(session=session)
    assert matches[["status", "partner_code", "listed_country", "reference"]].values.tolist() == [
        ["open", "CN-9", "CN", "89 FR 12345"]]
    with pytest.raises(ValidationError):
        lists.decide(session=session, actor=ANALYST, match_id=int(matches.loc[0, "id"]), status="confirmed",
                     reason="yes")
    lists.decide(session=session, actor=ANALYST, match_id=int(matches.loc[0, "id"]), status="confirmed",
                 reason="Same address in Aksu and same owner in the business licence")
    session.commit()
    threats = register.partner_threats(session=session, today=date(2026, 12, 5)).set_index("partner_code")
    assert threats.loc["CN-9", "forced labor"] == "High" and threats.loc["CN-9", "restricted_party"] == \
        "UFLPA Entity List"
    assert threats.loc["CN-9", "overall"] == "High"

    # A newer load of the same list replaces it and keeps the decision on the same partner and entry.
    again = lists.read_list(session=session, filename="uflpa-2.csv", data=LIST)
    lists.apply_list(session=session, actor=ANALYST, preview=again, name="UFLPA Entity List")
    session.commit()
    assert session.exec(select(func.count()).select_from(RestrictedList).where(RestrictedList.active)).one() == 1
    current = lists.list_matches(session=session)
    current = current[current["list_current"]]
    assert current["status"].tolist() == ["confirmed"]
    assert current.iloc[0]["reason"].startswith("Carried over from the previous load")
    assert lists.screen(session=session, actor=ANALYST) == 0  # nothing new on a second screening


def test_bad_list_files_name_row_and_column(session, staff):
    data = csv_bytes([["", "x"], ["Acme", "y"]], header=["Company", "Aliases"])
    preview = lists.read_list(session=session, filename="bad.csv", data=data)
    assert preview.has_errors
    assert preview.problems.iloc[0][["row", "column", "message"]].tolist() == [2, "Company", "The entry has no name."]
    with pytest.raises(ValidationError):
        lists.apply_list(session=session, actor=ANALYST, preview=preview, name="Bad")
    assert session.exec(select(func.count()).select_from(ScreeningMatch)).one() == 0
    preview = lists.read_list(session=session, filename="nothing.csv", data=csv_bytes([["x"]], header=["foo"]))
    assert "No name column" in preview.problems.iloc[0]["message"]
