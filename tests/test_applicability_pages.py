"""The Criteria page shows each row's basis and role condition; the partner roles panel (ui.partner_roles)."""

import pandas as pd
import pytest
from sqlmodel import Session, select
from streamlit.testing.v1 import AppTest

from models import AuditEvent, CriterionApplicability, Partner
from services.partners.registry import create_partner
from tests.conftest import ANALYST
from tests.test_applicability import restore_applicability  # noqa: F401  (a fixture)


def _tables(at) -> pd.DataFrame:
    return pd.concat([df.value for df in at.dataframe if (df.key or "").startswith("criteria_table_")])


def test_criteria_page_shows_and_filters_the_basis(page_app, staff):
    at = page_app("criteria", role="viewer").run()
    at.selectbox(key="criteria_entity").select("Highway Carrier").run()
    shown = _tables(at).set_index("criterion_id")
    assert shown.loc["5.3", "basis"] == "CBP source" and shown.loc["7.10", "applies"] == "unknown"
    assert shown.loc["5.16", "condition"] == "only if: ships across a US land border"
    assert "7.4" not in shown.index  # the shipper's act, not a carrier's
    assert at.metric[3].label == "To confirm" and at.metric[3].value == str((shown["applies"] == "unknown").sum())
    assert "on role rule" in "\n".join(c.value for c in at.caption)

    at.multiselect(key="criteria_basis").select("role rule").run()
    only = _tables(at)
    assert set(only["basis"]) == {"role rule"} and "5.3" not in set(only["criterion_id"])
    assert not at.exception


def test_a_criterion_shows_its_wording_per_entity_type_and_the_matrix_its_marks(page_app, staff):
    at = page_app("criteria", role="viewer")
    at.session_state["criteria_pick"] = "5.3"
    at.run()
    assert [e.label for e in at.expander] == ["Worded for Highway Carrier", "Worded for Long Haul Highway Carrier "
                                              "(Mexico)"]
    assert any("fifth" in m.value and "wheel area" in m.value for m in at.expander[0].markdown)
    applies = next(df.value for df in at.dataframe if "condition" in df.value.columns).set_index("entity_type")
    assert applies.loc["Highway Carrier", "condition"] == "only if: operates its own trucks, trains, vessels or " \
        "aircraft"

    at.session_state["criteria_tab"] = "Applicability matrix"
    at.run()
    matrix = next(df.value for df in at.dataframe if "Sea Carrier" in df.value.columns)
    assert matrix.loc["5.16", "Foreign Manufacturer"] == "yes◦"  # CBP source, asked by road from CA/MX only
    assert matrix.loc["5.16", "Sea Carrier"] == "no*"  # role rule
    assert not at.exception


def _panel_app(database_url: str, partner_id: int, username: str, role: str) -> AppTest:
    script = ("from services.core.permissions import Actor\nfrom ui import partner_roles\n"
              f"partner_roles.panel({partner_id}, Actor({username!r}, {role!r}))\n")
    at = AppTest.from_string(script, default_timeout=30)
    at.secrets["database_url"] = database_url
    return at


def test_partner_roles_panel_saves_for_staff_and_shows_for_viewers(engine, database_url, session: Session, staff,
                                                                   monkeypatch):
    import streamlit as st

    monkeypatch.setenv("CTPAT_DEMO", "0")
    st.cache_data.clear()
    factory = create_partner(session=session, actor=ANALYST, values={
        "partner_code": "MX-F1", "legal_name": "Monterrey Castings", "entity_type": "Foreign Manufacturer",
        "country_iso2": "MX"})
    session.commit()

    at = _panel_app(database_url, factory.id, "luis", "analyst").run()
    land = at.radio(key=f"partner_role_{factory.id}_crosses_land_border")
    assert land.value == "default" and land.format_func("default") == "default (yes)"
    land.set_value("no")
    at.radio(key=f"partner_role_{factory.id}_operates_conveyances").set_value("yes")
    at.button[0].click().run()
    assert not at.exception and not at.error
    stored = session.exec(select(Partner).where(Partner.id == factory.id)).one()
    session.refresh(stored)
    assert (stored.crosses_land_border, stored.operates_conveyances, stored.stuffs_containers) == (False, True, None)
    event = session.exec(select(AuditEvent).where(AuditEvent.entity == "partner", AuditEvent.action == "update")
                         ).one()
    assert event.after == {"crosses_land_border": False, "operates_conveyances": True}
    assert at.success[0].value == "Saved the partner's roles."

    viewer = _panel_app(database_url, factory.id, "vp", "viewer").run()
    assert not viewer.radio and not viewer.button
    values = viewer.dataframe[0].value.set_index("label")["value"]
    assert values["Ships across a US land border"] == "no" and values["Loads and seals containers or trailers"] == \
        "yes (default)"
    st.cache_data.clear()


@pytest.mark.usefixtures("restore_applicability")
def test_admin_undoes_an_override_on_the_criteria_page(page_app, session, staff):
    at = page_app("criteria", role="admin")
    at.session_state["criteria_pick"] = "12.6"
    at.run()
    at.selectbox(key="criteria_override_type_12.6").select("Customs Broker").run()
    assert not [b for b in at.button if b.label == "Undo the override"]
    at.radio[0].set_value("no")
    at.text_area[0].set_value("Trained under 7.10")
    at = next(b for b in at.button if b.label == "Save").click().run()
    at = next(b for b in at.button if b.label == "Undo the override").click().run()
    assert not at.exception and "follows the shipped rule again" in at.success[0].value
    row = session.exec(select(CriterionApplicability).where(
        CriterionApplicability.criterion_id == "12.6", CriterionApplicability.entity_type == "Customs Broker")).one()
    session.refresh(row)
    assert (row.applies, row.basis) == ("yes", "role rule")


def test_question_lines_render_one_per_line_without_formatting():
    from services.reference.questions import compose
    from ui.questions import question_markdown

    text = compose("Is **it** sealed?", "First [link](x)\nSecond", "Escort visitors.", "en")
    assert question_markdown(text).split("  \n") == [
        r"Is \*\*it\*\* sealed?", r"Answer yes if every point below is met, partial if some are, no if none is\:",
        r"• First \[link\]\(x\)", "• Second", r"Recommended, not required\: Escort visitors\."]
    assert question_markdown(None) == ""
