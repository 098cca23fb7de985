"""The collection pages through AppTest: cycles, review, imports, and the supplier questionnaire behind its link."""

import io
import os
import re
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import pandas as pd
import pytest
from openpyxl import load_workbook
from sqlmodel import select

from models import Answer, Assignment, CriterionText, Cycle, Partner
from pages import review
from pages.supplier import INVALID_LINK, TOO_MANY_LINKS
from services import texts as texts_catalogue
from services.collection import cycles, evidence, guesses, links, questionnaire
from services.core import config
from services.core.permissions import ValidationError
from services.exports.workbook import ANSWERS_SHEET, INSTRUCTIONS_SHEET, column_names
from services.partners import registry as partners
from services.texts import text as catalogue_text
from tests.certificate_support import certify
from tests.conftest import ADMIN, ANALYST, via_link

APP = str(Path(__file__).resolve().parent.parent / "app.py")
PARTNERS = [
    {"partner_code": "CN-0001", "legal_name": "Shenzhen Lumen Electronics Co., Ltd.",
     "entity_type": "Foreign Manufacturer", "country_iso2": "CN", "language": "zh", "contact_name": "Chen Wei",
     "contact_email": "chen@lumen.cn"},
    {"partner_code": "MX-0001", "legal_name": "Transportes Ramírez SA de CV", "entity_type": "Highway Carrier",
     "country_iso2": "MX", "language": "es", "contact_email": "ramirez@tr.mx"},
    {"partner_code": "VN-0001", "legal_name": "Saigon Forwarding JSC", "entity_type": "Third Party Logistics Provider",
     "country_iso2": "VN", "contact_email": "ops@saigonfwd.vn"},
    {"partner_code": "DE-0001", "legal_name": "Hamburg Ocean Lines GmbH", "entity_type": "Sea Carrier",
     "country_iso2": "DE", "criticality": "high"},
]
ROLES = ("admin", "analyst", "viewer")


@pytest.fixture
def partner_ids(session, staff) -> dict[str, int]:
    """Four active partners; the German sea carrier holds a verified CTPAT certificate."""
    ids = {}
    for values in PARTNERS:
        ids[values["partner_code"]] = partners.create_partner(session=session, actor=ADMIN, values=values).id
    certify(session, ids["DE-0001"], number="C-77", valid_to=date.today() + timedelta(days=300),
            verified_on=date.today())
    session.commit()
    return ids


@pytest.fixture
def cycle(session, partner_ids) -> Cycle:
    opened = cycles.open_cycle(session=session, actor=ANALYST, name="2027 annual review",
                               due_date=date.today() + timedelta(days=30))
    session.commit()
    return opened


def fresh(session) -> None:
    """See what the page wrote through its own session: a new transaction and no stale objects."""
    session.rollback()
    session.expire_all()


def assignment_of(session, cycle_id: int, partner_id: int) -> Assignment:
    fresh(session)
    return session.exec(select(Assignment).where(Assignment.cycle_id == cycle_id,
                                                 Assignment.partner_id == partner_id)).one()


def texts(at) -> str:
    """Everything a user can read on the page (markdown, titles, alerts, captions, code)."""
    parts = [e.value for kind in ("title", "header", "subheader", "markdown", "caption", "info", "warning",
                                  "error", "success", "code") for e in getattr(at, kind)]
    parts += [e.label for e in at.expander]
    return re.sub(r"\\(.)", r"\1", "\n".join(str(p) for p in parts))  # as read, without markdown escapes


def buttons(at) -> list[str]:
    return [b.label for b in at.button]


@pytest.fixture
def downloads(monkeypatch, database_url) -> dict:
    """File name -> the callable behind each download button that builds its file on click.

    AppTest cannot click a download button, so this spy keeps what the page handed to Streamlit's media file
    manager, and the test calls it as Streamlit does on a click: outside the script run, where the database URL
    comes from the environment as it does from the secrets file in a real server.
    """
    from streamlit.runtime.media_file_manager import MediaFileManager

    registered: dict = {}
    add_deferred = MediaFileManager.add_deferred

    def spy(self, data_callable, mimetype, coordinates, file_name=None, **kwargs):
        registered[file_name] = data_callable
        return add_deferred(self, data_callable, mimetype, coordinates, file_name=file_name, **kwargs)

    monkeypatch.setattr(MediaFileManager, "add_deferred", spy)
    monkeypatch.setenv("CTPAT_DATABASE_URL", database_url)
    return registered


def workbook_rows(data: bytes) -> pd.DataFrame:
    """The Answers sheet of a downloaded questionnaire."""
    sheet = load_workbook(io.BytesIO(data))[ANSWERS_SHEET]
    rows = list(sheet.iter_rows(values_only=True))
    return pd.DataFrame(rows[1:], columns=column_names(rows[0]))


def instructions(data: bytes) -> str:
    sheet = load_workbook(io.BytesIO(data))[INSTRUCTIONS_SHEET]
    return "\n".join(" ".join(str(v) for v in row if v) for row in sheet.iter_rows(values_only=True))


# --- Cycles ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ROLES)
def test_cycles_page_renders_for_every_role(page_app, cycle, role):
    at = page_app("cycles", role=role).run()
    assert not at.exception
    assert "Cycles" in texts(at)
    assert at.selectbox(key="cycles_choice").value == cycle.id
    table = at.dataframe[1].value
    assert set(table["partner_code"]) == {"CN-0001", "MX-0001", "VN-0001", "DE-0001"}
    assert table.set_index("partner_code").loc["DE-0001", "status"] == "exempt"


def test_viewer_sees_no_write_controls_on_cycles(page_app, cycle):
    at = page_app("cycles", role="viewer").run()
    assert buttons(at) == []
    assert "Open a cycle" not in texts(at)
    assert len(at.text_input) == 1  # the drill-down search only


def test_open_a_cycle_through_the_form(page_app, session, partner_ids):
    at = page_app("cycles", role="analyst").run()
    assert "No cycle yet" in texts(at)
    at.text_input(key="open_name").set_value("2027 carriers")
    at.multiselect(key="open_types").set_value(["Highway Carrier", "Sea Carrier"])
    at.button(key="open_submit").click().run()
    assert not at.exception
    assert "Cycle 2027 carriers opened." in texts(at)
    fresh(session)
    opened = session.exec(select(Cycle).where(Cycle.name == "2027 carriers")).one()
    rows = session.exec(select(Assignment).where(Assignment.cycle_id == opened.id)).all()
    by_partner = {r.partner_id: r for r in rows}
    assert set(by_partner) == {partner_ids["MX-0001"], partner_ids["DE-0001"]}
    assert by_partner[partner_ids["DE-0001"]].status == "exempt"
    assert by_partner[partner_ids["MX-0001"]].language == "es"


def test_a_cycle_gets_titles_for_partners_when_opened(page_app, session, partner_ids):
    at = page_app("cycles", role="analyst").run()
    year = (date.today() + timedelta(days=60)).year
    assert at.text_input(key="open_title_es").placeholder == (
        f"Cuestionario de seguridad de la cadena de suministro {year}")  # the neutral default, greyed out
    at.text_input(key="open_name").set_value("2027 critical partners spot check")
    at.text_input(key="open_title_en").set_value("Security review 2027")
    at.text_input(key="open_title_zh").set_value("2027 年度安全审查")
    at.button(key="open_submit").click().run()
    assert not at.exception
    fresh(session)
    opened = session.exec(select(Cycle).where(Cycle.name == "2027 critical partners spot check")).one()
    assert opened.partner_titles == {"en": "Security review 2027", "zh": "2027 年度安全审查"}


def test_partners_read_the_title_for_partners_never_the_cycle_name(page_app, supplier_app, session, cycle,
                                                                    partner_ids, downloads):
    """Issue 7, item 6: the page, the workbook, its file name and its properties show the title in the partner's
    language; a language without one gets the neutral default; viewers see the titles, writers change them."""
    viewer = page_app("cycles", role="viewer")
    viewer.session_state[f"cycles_titles_open_{cycle.id}"] = True  # the panel is drawn only when opened
    viewer.run()
    neutral = f"Cuestionario de seguridad de la cadena de suministro {cycle.due_date.year}"
    assert f"Español: {neutral} (neutral default)" in texts(viewer)

    at = page_app("cycles", role="analyst")
    at.session_state[f"cycles_titles_open_{cycle.id}"] = True
    at.run()
    at.text_input(key=f"cycles_title_{cycle.id}_es").set_value("Revisión anual de seguridad 2027")
    at.text_input(key=f"cycles_title_{cycle.id}_en").set_value("Annual security review 2027")
    at.button(key="cycles_titles_save").click().run()
    assert not at.exception
    assert "Title for partners: Annual security review 2027" in texts(at)
    fresh(session)
    assert session.get(Cycle, cycle.id).partner_titles == {"en": "Annual security review 2027",
                                                           "es": "Revisión anual de seguridad 2027"}

    mexican = assignment_of(session, cycle.id, partner_ids["MX-0001"])
    page = supplier_app(issue_token(session, mexican)).run()
    assert page.title[0].value == "Revisión anual de seguridad 2027"
    assert cycle.name not in texts(page)
    data = downloads["MX-0001 Revisión anual de seguridad 2027.xlsx"]()
    assert "Revisión anual de seguridad 2027" in instructions(data) and cycle.name not in instructions(data)
    properties = load_workbook(io.BytesIO(data)).properties
    assert properties.title == "Cuestionario de seguridad CTPAT: Revisión anual de seguridad 2027"
    page.segmented_control(key="supplier_language").set_value("zh").run()
    assert page.title[0].value == f"{cycle.due_date.year} 年供应链安全问卷"  # no Chinese title: the default

    at.text_input(key=f"cycles_title_{cycle.id}_es").set_value("")
    at.button(key="cycles_titles_save").click().run()
    fresh(session)
    assert session.get(Cycle, cycle.id).partner_titles == {"en": "Annual security review 2027"}
    page.segmented_control(key="supplier_language").set_value("es").run()
    assert page.title[0].value == neutral


def test_open_cycle_problem_is_shown(page_app, cycle):
    at = page_app("cycles", role="admin").run()
    assert not any(t.key == "open_name" for t in at.text_input)  # a cycle exists: the form waits until opened
    at.session_state["cycles_open"] = True
    at.run()
    at.text_input(key="open_name").set_value(cycle.name)
    at.button(key="open_submit").click().run()
    assert "already exists" in "\n".join(e.value for e in at.error)


def test_base_url_setting(monkeypatch):
    monkeypatch.delenv("CTPAT_BASE_URL", raising=False)
    assert config.base_url() is None
    monkeypatch.setenv("CTPAT_BASE_URL", "   ")
    assert config.base_url() is None
    monkeypatch.setenv("CTPAT_BASE_URL", " https://ctpat.example.com/app \n")
    assert config.base_url() == "https://ctpat.example.com/app"


def test_issue_link_uses_the_configured_base_url(page_app, session, cycle, partner_ids, monkeypatch):
    monkeypatch.setenv("CTPAT_BASE_URL", "https://ctpat.example.com/")
    at = page_app("cycles", role="analyst").run()
    at.selectbox(key="cycles_assignment").set_value(assignment_of(session, cycle.id, partner_ids["MX-0001"]).id)
    at.button(key="cycles_issue").click().run()
    assert at.code[0].value.startswith("https://ctpat.example.com/?token=")


def test_issue_link_shows_a_working_url_where_the_click_was(page_app, session, cycle, partner_ids, monkeypatch):
    monkeypatch.delenv("CTPAT_BASE_URL", raising=False)
    at = page_app("cycles", role="analyst").run()
    assignment = assignment_of(session, cycle.id, partner_ids["CN-0001"])
    at.selectbox(key="cycles_assignment").set_value(assignment.id)
    at.button(key="cycles_issue").click().run()
    assert not at.exception
    # In a box right under the partner's buttons (not at the top of the page), with the code block's copy button.
    shown = [c.value for c in at.container("cycles_new_link").code]
    assert len(shown) == 1 and len(at.code) == 1
    url = shown[0]
    assert url.startswith("http://localhost:8501/?token=")
    token = url.split("token=", 1)[1]
    assert len(token) >= 43
    fresh(session)
    assert links.resolve_token(session=session, token=token).id == assignment.id
    assert assignment_of(session, cycle.id, partner_ids["CN-0001"]).status == "sent"
    assert "It works until" in texts(at) and "only its hash is stored" in texts(at)

    at.run()  # still there while this partner stays chosen: the analyst has time to copy it
    assert [c.value for c in at.code] == [url]
    at.button(key="cycles_link_hide").click().run()
    assert len(at.code) == 0  # hidden, it is gone: only its hash is kept

    at.button(key="cycles_issue").click().run()
    assert len(at.code) == 1
    at.selectbox(key="cycles_assignment").set_value(assignment_of(session, cycle.id, partner_ids["MX-0001"]).id)
    at.run()
    assert len(at.code) == 0  # another partner chosen: the link is not shown next to it


def test_bulk_links_need_a_confirmation_stating_the_number(page_app, session, cycle, partner_ids):
    at = page_app("cycles", role="admin").run()
    assert "Issue links for 3 partners" in buttons(at)
    at.button(key="cycles_issue_all").click().run()
    assert not at.exception
    assert "Issue new links for 3 partners?" in texts(at)
    assert "Yes, issue 3 links" in buttons(at)
    fresh(session)
    assert {a.status for a in session.exec(select(Assignment)).all()} == {"not sent", "exempt"}  # nothing yet

    at.button(key="cycles_issue_all_cancel").click().run()
    assert "Issue new links for 3 partners?" not in texts(at)
    fresh(session)
    assert {a.status for a in session.exec(select(Assignment)).all()} == {"not sent", "exempt"}

    at.button(key="cycles_issue_all").click().run()
    at.multiselect(key="cycles_countries").set_value(["Mexico"]).run()
    assert "Issue new links for" not in texts(at)  # the partners shown changed: the question is asked again
    assert "Issue links for 1 partners" in buttons(at)
    at.multiselect(key="cycles_countries").set_value([]).run()

    at.button(key="cycles_issue_all").click().run()
    at.button(key="cycles_issue_all_yes").click().run()
    assert not at.exception
    assert "3 links issued" in texts(at)
    assert at.download_button(key="cycles_links_download").label == "Download the links (CSV)"
    fresh(session)
    states = {a.partner_id: a.status for a in session.exec(select(Assignment)).all()}
    assert states[partner_ids["DE-0001"]] == "exempt"
    assert sorted(s for p, s in states.items() if p != partner_ids["DE-0001"]) == ["sent", "sent", "sent"]

    at.checkbox(key="cycles_replace").check().run()
    at.button(key="cycles_issue_all").click().run()
    assert "3 of them were sent a link before: that link stops working." in texts(at)
    at.button(key="cycles_issue_all_cancel").click().run()

    assignment = assignment_of(session, cycle.id, partner_ids["VN-0001"])
    at.selectbox(key="cycles_assignment").set_value(assignment.id)
    at.button(key="cycles_revoke").click().run()
    assert assignment_of(session, cycle.id, partner_ids["VN-0001"]).token_revoked


def test_links_csv_holds_working_links(session, cycle, partner_ids):
    from pages.cycles import links_csv

    frame = cycles.funnel(session=session, cycle_id=cycle.id)
    asked = frame[frame["status"] != "exempt"]
    tokens = links.issue_links(session=session, actor=ANALYST, assignment_ids=asked["assignment_id"].tolist())
    data = links_csv(frame, tokens, "https://ctpat.example.com/")
    table = pd.read_csv(io.BytesIO(data), encoding="utf-8-sig", keep_default_na=False)
    assert list(table.columns) == ["partner_code", "partner", "contact", "email", "language", "url"]
    rows = table.set_index("partner_code")
    assert sorted(rows.index) == ["CN-0001", "MX-0001", "VN-0001"]
    assert tuple(rows.loc["CN-0001", ["contact", "email", "language"]]) == ("Chen Wei", "chen@lumen.cn", "zh")
    assert tuple(rows.loc["VN-0001", ["contact", "email"]]) == ("", "ops@saigonfwd.vn")
    for code, url in rows["url"].items():
        assert url.startswith("https://ctpat.example.com/?token=")
        resolved = links.resolve_token(session=session, token=url.split("token=", 1)[1])
        assert resolved.partner_id == partner_ids[code]


def test_exempt_override_and_close(page_app, session, cycle, partner_ids):
    at = page_app("cycles", role="admin").run()
    exempt = assignment_of(session, cycle.id, partner_ids["DE-0001"])
    at.selectbox(key="cycles_assignment").set_value(exempt.id).run()
    at.button[[b.label for b in at.button].index("Remove the exemption")].click().run()
    assert assignment_of(session, cycle.id, partner_ids["DE-0001"]).status == "not sent"
    at.checkbox(key="cycles_close_sure").check().run()
    at.button(key="cycles_close").click().run()
    fresh(session)
    assert session.get(Cycle, cycle.id).status == "closed"
    assert "Close cycle" not in buttons(at)


def test_drill_down_filters_the_partners(page_app, cycle):
    at = page_app("cycles", role="viewer").run()
    at.multiselect(key="cycles_states").set_value(["exempt"]).run()
    assert list(at.dataframe[1].value["partner_code"]) == ["DE-0001"]
    at.multiselect(key="cycles_states").set_value([]).run()
    at.multiselect(key="cycles_countries").set_value(["Mexico"]).run()
    assert list(at.dataframe[1].value["partner_code"]) == ["MX-0001"]


@pytest.mark.parametrize("role", ROLES)
def test_cycles_excel_downloads_hold_the_partners_shown(page_app, session, cycle, partner_ids, downloads, role):
    at = page_app("cycles", role=role).run()
    shown = at.download_button(key="cycles_xlsx_shown")
    assert shown.label == "Download 3 questionnaires (.xlsx)"  # the exempt sea carrier is left out
    assert not shown.disabled
    rows = workbook_rows(downloads["questionnaires 2027 annual review.xlsx"]())
    assert set(rows["partner_code"]) == {"CN-0001", "MX-0001", "VN-0001"}

    at.multiselect(key="cycles_countries").set_value(["Mexico"]).run()
    assert at.download_button(key="cycles_xlsx_shown").label == "Download 1 questionnaire (.xlsx)"
    rows = workbook_rows(downloads["questionnaires 2027 annual review.xlsx"]())
    mexican = assignment_of(session, cycle.id, partner_ids["MX-0001"])
    assert set(rows["partner_code"]) == {"MX-0001"}
    assert rows["criterion_id"].tolist() == questions_of(session, mexican)

    at.multiselect(key="cycles_countries").set_value([]).run()
    chinese = assignment_of(session, cycle.id, partner_ids["CN-0001"])
    at.selectbox(key="cycles_assignment").set_value(chinese.id).run()
    assert not at.download_button(key="cycles_xlsx_one").disabled
    # Named as the partner reads it: its code and the title for partners in its language, not the cycle's name.
    data = downloads[f"CN-0001 {cycle.due_date.year} 年供应链安全问卷.xlsx"]()
    rows = workbook_rows(data)
    assert set(rows["partner_code"]) == {"CN-0001"}
    first = questions_of(session, chinese)[0]
    question = session.get(CriterionText, (first, "zh", "")).question
    assert rows.set_index("criterion_id").at[first, "question"] == question
    assert "Shenzhen Lumen Electronics" in instructions(data)

    at.selectbox(key="cycles_assignment").set_value(assignment_of(session, cycle.id, partner_ids["DE-0001"]).id).run()
    assert at.download_button(key="cycles_xlsx_one").disabled  # an exempt partner has no questionnaire
    assert not at.exception


def test_workbook_limit_names_partners_or_rows():
    from pages.cycles import MAX_WORKBOOK_PARTNERS, SHEET_ROWS, workbook_limit

    def frame(count: int, status: str = "sent") -> pd.DataFrame:
        return pd.DataFrame({"entity_type": ["Sea Carrier"] * count, "status": [status] * count})

    assert workbook_limit(frame(MAX_WORKBOOK_PARTNERS), {"Sea Carrier": 100}) is None
    assert workbook_limit(pd.concat([frame(MAX_WORKBOOK_PARTNERS), frame(50, "exempt")]), {"Sea Carrier": 100}) is None
    too_many = workbook_limit(frame(MAX_WORKBOOK_PARTNERS + 1), {"Sea Carrier": 100})
    assert too_many == f"{MAX_WORKBOOK_PARTNERS + 1:,} partners are more than one workbook holds (2,000)."
    per_partner = SHEET_ROWS // 1_000 + 1
    too_long = workbook_limit(frame(1_000), {"Sea Carrier": per_partner})
    assert too_long == f"{per_partner * 1_000:,} questions are more than one Excel sheet holds (1,048,575 rows)."


def test_cycles_page_says_when_the_shown_partners_are_too_many_for_one_workbook(page_app, cycle, monkeypatch):
    import pages.cycles

    monkeypatch.setattr(pages.cycles, "MAX_WORKBOOK_PARTNERS", 2)
    at = page_app("cycles", role="viewer").run()
    assert len(at.get("download_button")) == 1  # the one partner's, not the partners shown
    assert "3 partners are more than one workbook holds (2)." in texts(at)
    assert 'manage.py export-questionnaires --cycle "2027 annual review" --out DIR' in texts(at)


def test_funnel_chart_stacks_states_in_funnel_order(session, cycle):
    from pages.cycles import funnel_chart

    frame = cycles.funnel(session=session, cycle_id=cycle.id)
    spec = funnel_chart(frame, by="country").to_dict()
    assert spec["encoding"]["color"]["scale"]["domain"] == list(cycles.FUNNEL_STATES)
    values = spec["datasets"][spec["data"]["name"]]
    assert {(v["country"], v["status"], v["partners"]) for v in values} >= {("Germany", "exempt", 1)}


# --- Supplier questionnaire -----------------------------------------------------------------------------------


def issue_token(session, assignment: Assignment) -> str:
    token = links.issue_link(session=session, actor=ANALYST, assignment_id=assignment.id)
    session.commit()
    return token


def questions_of(session, assignment: Assignment) -> list[str]:
    return questionnaire.applicable_criteria(session=session, assignment_id=assignment.id)


@pytest.fixture
def supplier_app(page_app):
    """The supplier page for a token, with no staff login at all."""

    def make(token: str):
        at = page_app("supplier", role="")
        at.session_state["supplier_token"] = token
        return at

    return make


@pytest.fixture
def chen(session, cycle, partner_ids) -> tuple[Assignment, str]:
    """The Chinese factory's assignment and a fresh link token."""
    assignment = assignment_of(session, cycle.id, partner_ids["CN-0001"])
    return assignment, issue_token(session, assignment)


def save_by_link(session, assignment: Assignment, ids: list[str], value: str = "yes", comment: str = "") -> None:
    questionnaire.save_answers(session=session, assignment_id=assignment.id, source="link", answered_by="partner",
                               answers=[{"criterion_id": c, "value": value, "comment": comment} for c in ids],
                               actor=via_link(session, assignment.id))
    session.commit()


def sections_of(session, assignment: Assignment) -> dict[int, list[str]]:
    frame = questionnaire.questionnaire(session=session, assignment_id=assignment.id)
    return {int(n): list(g["criterion_id"]) for n, g in frame.groupby("category_number", sort=False)}


def test_supplier_sees_its_questionnaire_in_chinese(supplier_app, session, cycle, chen):
    assignment, token = chen
    at = supplier_app(token).run()
    assert not at.exception
    page = texts(at)
    assert at.title[0].value == f"{cycle.due_date.year} 年供应链安全问卷"  # the neutral title, not the cycle's name
    assert "Shenzhen Lumen Electronics" in page and "2027 annual review" not in page
    first = questions_of(session, assignment)[0]
    question = session.get(CriterionText, (first, "zh", "")).question
    assert question in page
    assert "必须" in page  # must criteria are marked
    assert at.radio(key=f"q_{first}").options == ["是", "部分符合", "否", "不适用"]
    assert at.selectbox(key="supplier_section").value == 1
    assert "1. 安全愿景与责任 · 0/" in at.selectbox(key="supplier_section").options[0]
    for other in ("Transportes Ramírez", "Saigon Forwarding", "Hamburg Ocean"):
        assert other not in page
    assert assignment_of(session, assignment.cycle_id, assignment.partner_id).status == "opened"


def test_supplier_saves_a_draft_and_continues(supplier_app, session, chen):
    assignment, token = chen
    first_section = sections_of(session, assignment)[1]
    at = supplier_app(token).run()
    at.radio(key=f"q_{first_section[0]}").set_value("yes")
    at.radio(key=f"q_{first_section[1]}").set_value("partial")
    at.text_area(key=f"c_{first_section[1]}").set_value("Seal log started in March")
    at.button(key="save").click().run()
    assert not at.exception
    assert "草稿已保存：更改了 2 个回答。" in texts(at)
    fresh(session)
    rows = session.exec(select(Answer).where(Answer.assignment_id == assignment.id, Answer.is_current)).all()
    assert {(r.criterion_id, r.value, r.comment, r.source) for r in rows} == {
        (first_section[0], "yes", "", "link"), (first_section[1], "partial", "Seal log started in March", "link")}
    assert assignment_of(session, assignment.cycle_id, assignment.partner_id).status == "in progress"
    assert at.selectbox(key="supplier_section").options[0].endswith(f" · 2/{len(first_section)}")

    at.radio(key=f"q_{first_section[2]}").set_value("na")
    at.button(key="save_next").click().run()
    assert at.selectbox(key="supplier_section").value == 2
    fresh(session)
    assert len(session.exec(select(Answer).where(Answer.assignment_id == assignment.id)).all()) == 3


def test_supplier_submit_needs_comments_then_becomes_read_only(supplier_app, session, chen):
    assignment, token = chen
    sections = sections_of(session, assignment)
    last = list(sections)[-1]
    save_by_link(session, assignment, [c for n, ids in sections.items() if n != last for c in ids])
    at = supplier_app(token).run()
    assert at.selectbox(key="supplier_section").value == last  # opens where questions are still open
    at.button(key="submit").click().run()
    assert f"尚未回答：{', '.join(sections[last])}" in "\n".join(e.value for e in at.error).replace("\\", "")
    for cid in sections[last]:
        at.radio(key=f"q_{cid}").set_value("yes")
    missing = sections[last][-1]
    at.radio(key=f"q_{missing}").set_value("no")
    at.button(key="submit").click().run()
    assert not at.exception
    assert f"{missing}：回答“否”时必须填写说明" in "\n".join(e.value for e in at.error).replace("\\", "")
    assert assignment_of(session, assignment.cycle_id, assignment.partner_id).status == "in progress"

    at.text_area(key=f"c_{missing}").set_value("Guard post is being built")
    at.button(key="submit").click().run()
    assert not at.exception
    assert assignment_of(session, assignment.cycle_id, assignment.partner_id).status == "submitted"
    assert len(at.radio) == 0 and len(at.text_area) == 0 and len(at.button) == 0
    assert "问卷已于" in texts(at)
    assert "Guard post is being built" in texts(at)


def shown_in_order(at) -> list[str]:
    """The page's elements in the order they are drawn, as "type: text", expanders' contents included."""
    found = []
    for node in at.main:
        kind = getattr(node, "type", "")
        text = node.label if kind == "expander" else getattr(node, "value", None)
        found.append(f"{kind}: {text if isinstance(text, str) else ''}")
    return found


def test_supplier_page_is_compact_on_a_phone_and_confirms_in_place(supplier_app, session, ramirez):
    """Issue 7, item 7: a short header (title, partner and due date on one line, language picker) with a smaller
    title on small screens; the instructions folded away, so the first question follows the header; after Submit
    the confirmation replaces the form, the answers folded under it."""
    assignment, token = ramirez
    at = supplier_app(token).run()
    assert not at.exception
    header = at.container("supplier_header")
    assert [t.value for t in header.title] == [at.title[0].value] and len(at.title) == 1
    assert any("@media (max-width: 640px)" in h.proto.body and ".st-key-supplier_header h1" in h.proto.body
               for h in at.get("html"))
    order = shown_in_order(at)
    first_question = next(i for i, line in enumerate(order) if line.startswith("radio"))
    help_at = order.index(f"expander: {catalogue_text('supplier.help', 'es')}")
    before = [line for line in order[:first_question]
              if not line.startswith(("main", "flex_container", "column", "form", "expander"))]
    # Title, "Para … · fecha límite …", the language picker, the progress bar, then the folded help (its caption and
    # download button inside); nothing else pushes the first question down.
    assert help_at < first_question and len(before) <= 9, before

    for cid in questions_of(session, assignment):
        save_by_link(session, assignment, [cid], value="yes")
    at.run()
    at.button(key="submit").click().run()
    assert not at.exception
    order = shown_in_order(at)
    confirmed = next(i for i, line in enumerate(order) if line.startswith("success"))
    folded = next(i for i, line in enumerate(order)
                  if line.startswith(f"expander: {catalogue_text('supplier.read_only', 'es')}"))
    assert confirmed < folded and not at.radio and not at.button
    assert [line for line in order[:confirmed] if line.startswith(("radio", "text_area", "expander"))] == []


def test_supplier_uploader_never_promises_more_than_the_server_takes(supplier_app, session, ramirez):
    """Issue 7, item 19: with the server's upload limit under the evidence limit, the browser checks the lower one
    (a file between the two would otherwise end in a bare "AxiosError 413") and the caption says it."""
    from streamlit import config as st_config

    _, token = ramirez
    before = st_config.get_option("server.maxUploadSize")
    st_config.set_option("server.maxUploadSize", 4)
    try:
        at = supplier_app(token).run()
        assert not at.exception
        uploader = at.get("file_uploader")[0]
        assert uploader.proto.max_upload_size_mb == 4
        assert catalogue_text("supplier.upload_hint", "es", mb=4) in [c.value for c in at.caption]
    finally:
        st_config.set_option("server.maxUploadSize", before)
    at = supplier_app(token).run()
    assert at.get("file_uploader")[0].proto.max_upload_size_mb == evidence.MAX_EVIDENCE_BYTES // (1024 * 1024)


def test_supplier_evidence_upload_and_rejection(supplier_app, session, chen):
    assignment, token = chen
    first = questions_of(session, assignment)[0]
    at = supplier_app(token).run()
    at.radio(key=f"q_{first}").set_value("yes")
    at.file_uploader(key=f"e_{first}_0").set_value([
        ("seal-log.pdf", b"%PDF-1.4\n1 0 obj\n<<>>\nendobj\n%%EOF\n", "application/pdf"),
        ("invoice.pdf", b"MZ\x90\x00 not a pdf", "application/pdf"),
    ])
    at.button(key="save").click().run()
    assert not at.exception
    errors = "\n".join(e.value for e in at.error)
    assert "invoice" in errors and "程序或脚本" in errors  # why, in the partner's language
    assert "program or script" not in errors
    files = evidence.list_evidence(session=session, assignment_id=assignment.id)
    assert list(files["filename"]) == ["seal-log.pdf"]
    assert "seal-log" in texts(at)
    assert len(at.file_uploader(key=f"e_{first}_1").value or []) == 0  # the uploader was emptied


def test_supplier_downloads_its_own_questionnaire_to_answer_offline(supplier_app, session, cycle, chen, partner_ids,
                                                                   downloads):
    assignment, token = chen
    chinese = f"CN-0001 {cycle.due_date.year} 年供应链安全问卷.xlsx"  # the title for partners, not the cycle's name
    spanish = f"CN-0001 Cuestionario de seguridad de la cadena de suministro {cycle.due_date.year}.xlsx"
    first = questions_of(session, assignment)[0]
    save_by_link(session, assignment, [first], value="partial", comment="Seal log since March")
    for other in ("MX-0001", "VN-0001"):  # other partners of the cycle, with answers and links of their own
        theirs = assignment_of(session, assignment.cycle_id, partner_ids[other])
        issue_token(session, theirs)
        save_by_link(session, theirs, questions_of(session, theirs)[:3])
    at = supplier_app(token).run()
    assert not at.exception
    assert at.download_button(key="supplier_xlsx").label == "下载后离线填写"
    assert catalogue_text("supplier.offline_help", "zh", sheet=ANSWERS_SHEET) in texts(at)
    data = downloads[chinese]()
    rows = workbook_rows(data)
    assert set(rows["partner_code"]) == {"CN-0001"} and len(rows) == len(questions_of(session, assignment))
    row = rows.set_index("criterion_id").loc[first]
    assert (row["answer"], row["comment"]) == ("部分符合", "Seal log since March")
    assert row["question"] == session.get(CriterionText, (first, "zh", "")).question
    text = instructions(data)
    assert "填写说明" in text and "向您发送此文件的人" in text  # how to fill it in; send it back to your contact
    for other in ("Transportes Ramírez", "Saigon Forwarding", "MX-0001", "VN-0001", "2027 annual review"):
        assert other not in text

    at.segmented_control(key="supplier_language").set_value("es").run()
    assert at.download_button(key="supplier_xlsx").label == "Descargar para responder sin conexión"
    rows = workbook_rows(downloads[spanish]())
    assert rows.set_index("criterion_id").at[first, "answer"] == "parcial"

    links.revoke_link(session=session, actor=ANALYST, assignment_id=assignment.id)
    session.commit()
    with pytest.raises(ValidationError, match="not valid"):  # a link revoked after the page was drawn gets no file
        downloads[spanish]()


def test_submitted_questionnaire_offers_no_offline_download(supplier_app, session, chen):
    assignment, token = chen
    save_by_link(session, assignment, questions_of(session, assignment))
    assert questionnaire.submit(session=session, assignment_id=assignment.id, submitted_by="chen",
                                actor=via_link(session, assignment.id)) == []
    session.commit()
    at = supplier_app(token).run()
    assert not at.exception
    assert len(at.get("download_button")) == 0


def test_invalid_token_shows_only_the_plain_message(supplier_app, session, chen):
    assignment, token = chen
    for bad in ("not-a-token", token[:-2] + "xx"):
        at = supplier_app(bad).run()
        assert not at.exception
        assert [e.value for e in at.info] == [INVALID_LINK]
        assert texts(at) == INVALID_LINK
        assert len(at.radio) == len(at.button) == len(at.text_area) == len(at.selectbox) == 0
    links.revoke_link(session=session, actor=ANALYST, assignment_id=assignment.id)
    session.commit()
    at = supplier_app(token).run()
    assert texts(at) == INVALID_LINK


def test_returned_questionnaire_shows_the_team_comments(supplier_app, session, chen):
    assignment, token = chen
    sections = sections_of(session, assignment)
    save_by_link(session, assignment, questions_of(session, assignment))
    assert questionnaire.submit(session=session, assignment_id=assignment.id, submitted_by="chen",
                                actor=via_link(session, assignment.id)) == []
    commented = sections[3][0]
    questionnaire.return_for_fixes(session=session, actor=ANALYST, assignment_id=assignment.id,
                                   comments={commented: "Photo of the 7-point inspection checklist, please"})
    session.commit()
    at = supplier_app(token).run()
    assert not at.exception
    page = texts(at)
    assert "审核团队退回了问卷" in page
    assert "Photo of the 7-point inspection checklist, please" in page
    section = at.selectbox(key="supplier_section")
    assert section.value == 3  # the section with the comment opens first
    assert [o for o in section.options if "1 处需修改" in o] == [section.options[2]]
    assert at.radio(key=f"q_{commented}").value == "yes"


def test_last_cycle_answers_are_prefilled(supplier_app, session, partner_ids, staff):
    first = cycles.open_cycle(session=session, actor=ANALYST, name="2026 annual review",
                              due_date=date.today() + timedelta(days=5), partner_ids=[partner_ids["MX-0001"]])
    session.commit()
    old = assignment_of(session, first.id, partner_ids["MX-0001"])
    ids = questions_of(session, old)
    questionnaire.save_answers(session=session, assignment_id=old.id, source="link", answered_by="ramirez",
                               answers=[{"criterion_id": c, "value": "no", "comment": "pending"} for c in ids],
                               actor=via_link(session, old.id))
    assert questionnaire.submit(session=session, assignment_id=old.id, submitted_by="ramirez",
                                actor=via_link(session, old.id)) == []
    questionnaire.accept(session=session, actor=ANALYST, assignment_id=old.id)
    second = cycles.open_cycle(session=session, actor=ANALYST, name="2027 annual review",
                               due_date=date.today() + timedelta(days=40), partner_ids=[partner_ids["MX-0001"]])
    session.commit()
    new = assignment_of(session, second.id, partner_ids["MX-0001"])
    token = issue_token(session, new)
    at = supplier_app(token).run()
    assert "Cuestionario de seguridad" in texts(at)
    assert at.radio(key=f"q_{ids[0]}").value == "no"
    assert at.text_area(key=f"c_{ids[0]}").value == "pending"
    assert "Su respuesta de la vez anterior: cámbiela si ya no es cierta." in texts(at)
    # Pre-filled answers count as answered, in the progress and the sections, and are marked to confirm.
    assert at.get("progress")[0].proto.text.startswith(f"{len(ids)} de {len(ids)} preguntas respondidas · "
                                                       f"{len(ids)} de ellas son sus respuestas de la vez anterior")
    first_section = at.selectbox(key="supplier_section").options[0]
    assert re.search(r" · (\d+)/\1 · \1 por confirmar$", first_section), first_section

    # Submitting right away confirms them all: stored as this cycle's answers, through the link.
    at.button(key="submit").click().run()
    assert not at.exception and not at.error
    assert assignment_of(session, second.id, partner_ids["MX-0001"]).status == "submitted"
    stored = session.exec(select(Answer).where(Answer.assignment_id == new.id, Answer.is_current)).all()
    assert {(a.criterion_id, a.value, a.comment, a.source) for a in stored} == {
        (c, "no", "pending", "link") for c in ids}


# --- Review -----------------------------------------------------------------------------------------------------


@pytest.fixture
def submitted(session, cycle, partner_ids) -> Assignment:
    """The Mexican carrier's questionnaire, answered through its link (one "no" with a comment) and submitted."""
    assignment = assignment_of(session, cycle.id, partner_ids["MX-0001"])
    ids = questions_of(session, assignment)
    save_by_link(session, assignment, ids)
    save_by_link(session, assignment, ids[:1], value="no", comment="Seals are bought from a local shop")
    assert questionnaire.submit(session=session, assignment_id=assignment.id, submitted_by="ramirez",
                                actor=via_link(session, assignment.id)) == []
    session.commit()
    return assignment


def submitted_year(session, assignment: Assignment) -> int:
    return session.get(Cycle, assignment.cycle_id).due_date.year


@pytest.mark.parametrize("role", ROLES)
def test_review_page_renders_for_every_role(page_app, submitted, role):
    at = page_app("review", role=role).run()
    assert not at.exception
    assert at.selectbox(key="review_assignment").value == submitted.id
    answers = at.dataframe[0].value
    assert len(answers) == len(answers["criterion_id"].unique()) > 20
    assert "Seals are bought from a local shop" in set(answers["comment"])
    writes = {"Accept", "Return to partner", "Save answer"}
    assert (writes & set(buttons(at))) == (set() if role == "viewer" else {"Accept", "Return to partner"})
    if role == "viewer":
        assert len(at.text_area) == 0


def test_review_flags_not_applicable_on_a_must_criterion(page_app, session, cycle, partner_ids):
    assignment = assignment_of(session, cycle.id, partner_ids["MX-0001"])
    frame = questionnaire.questionnaire(session=session, assignment_id=assignment.id)
    must, should = (frame.loc[frame["requirement"] == r, "criterion_id"].iloc[0] for r in ("must", "should"))
    save_by_link(session, assignment, frame["criterion_id"].tolist())
    save_by_link(session, assignment, [must], value="na", comment="We run no trucks of our own")
    save_by_link(session, assignment, [should], value="na")
    assert questionnaire.submit(session=session, assignment_id=assignment.id, submitted_by="ramirez",
                                actor=via_link(session, assignment.id)) == []
    session.commit()
    at = page_app("review", role="analyst").run()
    assert at.metric[3].label == "Partial, no or flagged" and at.metric[3].value == "1"
    at.segmented_control(key="review_view").set_value("attention").run()
    shown = at.dataframe[0].value
    assert shown["criterion_id"].tolist() == [must]
    assert shown["flag"].tolist() == ["not applicable on a must criterion"]


def test_review_accept(page_app, session, submitted):
    at = page_app("review", role="analyst").run()
    at.button(key="review_accept").click().run()
    assert not at.exception
    assert "Accepted the questionnaire of MX-0001." in texts(at)
    fresh(session)
    accepted = session.get(Assignment, submitted.id)
    assert (accepted.status, accepted.reviewed_by) == ("accepted", "luis")


def test_review_return_needs_a_comment_then_returns(page_app, session, submitted):
    at = page_app("review", role="admin").run()
    at.button(key="review_return_submit").click().run()
    assert "at least one question" in "\n".join(e.value for e in at.error)
    fresh(session)
    assert session.get(Assignment, submitted.id).status == "submitted"

    second = questions_of(session, submitted)[1]
    at.text_area(key=f"review_return_{submitted.id}_{second}_text").set_value("Photo of the seal log, please")
    at.button(key="review_return_submit").click().run()  # typed and sent in one go: the comment counts
    assert not at.exception
    assert "Returned to MX-0001 with 1 comment(s)." in texts(at)
    fresh(session)
    assert session.get(Assignment, submitted.id).status == "returned"
    frame = questionnaire.questionnaire(session=session, assignment_id=submitted.id)
    assert frame.set_index("criterion_id").at[second, "review_comment"] == "Photo of the seal log, please"


def test_review_return_follows_the_view_with_the_comment_box_first(page_app, session, cycle, partner_ids):
    """Issue 7, item 3: the return comments are asked under each question of the view chosen (e.g. partial, no or
    flagged), next to the partner's comment however long, and comments typed in another view are kept."""
    submitted = assignment_of(session, cycle.id, partner_ids["MX-0001"])
    ids = questions_of(session, submitted)
    first, second, third = ids[:3]
    long_comment = " ".join(["Seals are bought from a local shop and logged by the guard on duty."] * 30)
    save_by_link(session, submitted, ids)
    save_by_link(session, submitted, [first], value="no", comment="No seal log")
    save_by_link(session, submitted, [third], value="partial", comment=long_comment)
    assert questionnaire.submit(session=session, assignment_id=submitted.id, submitted_by="ramirez",
                                actor=via_link(session, submitted.id)) == []
    session.commit()
    at = page_app("review", role="analyst").run()
    boxes = [t.key for t in at.text_area if t.key.startswith(f"review_return_{submitted.id}_")]
    # View "all" has 93 questions: their boxes come in parts of BOXES_PER_PART (a page switch mounts fewer), then
    # the note.
    assert len(ids) > 3 * review.BOXES_PER_PART
    assert len(boxes) == review.BOXES_PER_PART + 1 and f"review_return_{submitted.id}_{second}_text" in boxes
    at.text_area(key=f"review_return_{submitted.id}_{second}_text").set_value("Which seals?").run()
    last = 3 * review.BOXES_PER_PART
    at.segmented_control(key=f"review_return_{submitted.id}_all_part").set_value(last).run()
    rest = [t.key for t in at.text_area if t.key.endswith("_text")]
    assert len(rest) == len(ids) - last and not set(rest) & set(boxes)
    assert f"Also kept: your comments on {second}" in texts(at)  # typed in the first part
    at.segmented_control(key=f"review_return_{submitted.id}_all_part").set_value(0).run()
    assert at.text_area(key=f"review_return_{submitted.id}_{second}_text").value == "Which seals?"

    at.segmented_control(key="review_view").set_value("attention").run()
    assert not at.exception
    boxes = [t.key for t in at.text_area if t.key.endswith("_text")]
    assert boxes == [f"review_return_{submitted.id}_{c}_text" for c in (first, third)]  # the no and the partial
    box = at.container(f"review_return_{submitted.id}_{third}_box")
    assert [t.key for t in box.text_area] == [f"review_return_{submitted.id}_{third}_text"]  # beside its comment
    assert "Partner's comment: Seals are bought from a local shop" in box.caption[0].value.replace("\\", "")
    assert f"Also kept: your comments on {second}" in texts(at)

    at.text_area(key=f"review_return_{submitted.id}_{third}_text").set_value("Which seal standard?")
    at.button(key="review_return_submit").click().run()
    assert "Returned to MX-0001 with 2 comment(s)." in texts(at)
    fresh(session)
    frame = questionnaire.questionnaire(session=session, assignment_id=submitted.id).set_index("criterion_id")
    assert (frame.at[second, "review_comment"], frame.at[third, "review_comment"]) == (
        "Which seals?", "Which seal standard?")
    assert frame.at[first, "review_comment"] == ""


def test_review_reopens_an_accepted_questionnaire(page_app, session, submitted):
    questionnaire.accept(session=session, actor=ANALYST, assignment_id=submitted.id)
    session.commit()
    at = page_app("review", role="analyst").run()
    at.toggle(key="review_everyone").set_value(True).run()
    at.selectbox(key="review_assignment").set_value(submitted.id).run()
    assert "Accept" not in buttons(at)
    first = questions_of(session, submitted)[0]
    at.text_area(key=f"review_reopen_{submitted.id}_{first}_text").set_value("New seal supplier since March: update")
    at.button(key="review_reopen_submit").click().run()
    assert not at.exception
    assert "Reopened the questionnaire of MX-0001 with 1 comment(s)." in texts(at)
    fresh(session)
    assert session.get(Assignment, submitted.id).status == "returned"


def test_review_history_and_evidence_download(page_app, session, cycle, partner_ids, downloads):
    assignment = assignment_of(session, cycle.id, partner_ids["VN-0001"])
    first = questions_of(session, assignment)[0]
    save_by_link(session, assignment, [first], value="partial", comment="Audit planned")
    save_by_link(session, assignment, [first], value="yes")
    evidence.add_evidence(session=session, assignment_id=assignment.id, criterion_id=first, filename="audit.txt",
                          data=b"Audit report 2027\n", uploaded_by="ops", actor=via_link(session, assignment.id))
    session.commit()
    at = page_app("review", role="viewer").run()
    at.toggle(key="review_everyone").set_value(True).run()
    at.selectbox(key="review_assignment").set_value(assignment.id).run()
    assert not at.exception
    at.selectbox(key="review_history_question").set_value(first).run()
    history = at.dataframe[-1].value
    assert list(history["value"]) == ["yes", "partial"]
    assert list(history["source"]) == ["link", "link"]
    assert at.download_button(key="review_download").label == "Download"
    assert downloads["audit.txt"]() == b"Audit report 2027\n"


def test_review_says_which_evidence_file_is_missing_or_damaged(page_app, session, cycle, partner_ids, tmp_path,
                                                                 monkeypatch):
    """Issue 7, item 19: a stored copy gone or changed is said on the page, with what to do; no dead download."""
    monkeypatch.setenv("CTPAT_DATA_DIR", str(tmp_path))
    assignment = assignment_of(session, cycle.id, partner_ids["VN-0001"])
    first = questions_of(session, assignment)[0]
    added = {name: evidence.add_evidence(session=session, assignment_id=assignment.id, criterion_id=first,
                                         filename=name, data=data, uploaded_by="ops",
                                         actor=via_link(session, assignment.id))
             for name, data in (("audit.txt", b"Audit report 2027\n"), ("seals.txt", b"Seal log 2027\n"))}
    session.commit()
    evidence.evidence_path(added["seals.txt"].sha256).unlink()
    evidence.evidence_path(added["audit.txt"].sha256).write_bytes(b"Audit report 2028\n")  # same size, changed
    at = page_app("review", role="analyst").run()
    at.toggle(key="review_everyone").set_value(True).run()
    at.selectbox(key="review_assignment").set_value(assignment.id).run()
    assert not at.exception
    assert "1 of 2 files cannot be downloaded" in "\n".join(w.value for w in at.warning)
    at.selectbox(key="review_evidence").set_value(added["seals.txt"].id).run()
    error = "\n".join(e.value for e in at.error).replace("\\", "")  # shown as plain text: markdown escaped
    assert f"seals.txt: the stored file is missing from {tmp_path / 'evidence'}" in error
    assert "ask the partner to upload the file again" in error
    assert at.download_button(key="review_download").disabled
    at.selectbox(key="review_evidence").set_value(added["audit.txt"].id).run()
    assert "audit.txt: the stored file is damaged" in "\n".join(e.value for e in at.error).replace("\\", "")
    assert at.download_button(key="review_download").disabled


@pytest.mark.parametrize("role", ROLES)
def test_review_downloads_the_shown_partners_questionnaire(page_app, session, submitted, downloads, role):
    at = page_app("review", role=role).run()
    assert at.download_button(key="review_xlsx").label == "Download questionnaire (.xlsx)"
    title = f"Cuestionario de seguridad de la cadena de suministro {submitted_year(session, submitted)}"
    rows = workbook_rows(downloads[f"MX-0001 {title}.xlsx"]())  # named in the partner's language, not the cycle's
    assert set(rows["partner_code"]) == {"MX-0001"}
    answers = rows.set_index("criterion_id")
    first, second = questions_of(session, submitted)[:2]
    assert answers.at[first, "answer"] == "no"  # in the partner's language: the Spanish drop-down word is "no" too
    assert answers.at[first, "comment"] == "Seals are bought from a local shop"
    assert answers.at[second, "answer"] == "sí"


def test_staff_enters_an_answer_for_the_partner(page_app, session, cycle, partner_ids):
    assignment = assignment_of(session, cycle.id, partner_ids["CN-0001"])
    first = questions_of(session, assignment)[0]
    at = page_app("review", role="analyst").run()
    at.toggle(key="review_everyone").set_value(True).run()
    at.selectbox(key="review_assignment").set_value(assignment.id).run()
    at.selectbox(key="review_entry_question").set_value(first)
    at.radio(key="review_entry_value").set_value("no")
    at.text_area(key="review_entry_comment").set_value("Told us by phone: no seal policy yet")
    at.button(key="review_entry_save").click().run()
    assert not at.exception
    fresh(session)
    answer = session.exec(select(Answer).where(Answer.assignment_id == assignment.id, Answer.is_current)).one()
    assert (answer.criterion_id, answer.value, answer.source, answer.answered_by) == (first, "no", "staff", "luis")


def test_viewer_cannot_enter_answers(page_app, session, cycle, partner_ids):
    assignment = assignment_of(session, cycle.id, partner_ids["CN-0001"])
    at = page_app("review", role="viewer").run()
    at.toggle(key="review_everyone").set_value(True).run()
    at.selectbox(key="review_assignment").set_value(assignment.id).run()
    assert buttons(at) == []
    assert len(at.radio) == len(at.text_area) == 0


# --- Imports ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ROLES)
def test_imports_page_renders_for_every_role(page_app, cycle, role):
    at = page_app("imports", role=role).run()
    assert not at.exception
    assert "Imports" in texts(at)
    if role == "viewer":
        assert len(at.file_uploader) == 0 and buttons(at) == [] and len(at.tabs) == 0
        assert "No import yet." in texts(at)
    else:
        assert [t.label for t in at.tabs] == ["Partners file", "Questionnaire responses", "History"]
        assert len(at.file_uploader) == 2


def test_partner_file_preview_then_import(page_app, session, staff):
    data = ("Vendor Code;Supplier Name;Type;Country;Email\n"
            "BR-0001;Santos Cargo Ltda;Consolidator;Brazil;ops@santoscargo.br\n").encode("cp1252")
    at = page_app("imports", role="analyst").run()
    at.file_uploader(key="imports_partners_files_0").set_value(("erp export.csv", data, "text/csv")).run()
    assert not at.exception
    assert "No problems found." in texts(at)
    rows = at.dataframe[0].value
    assert list(zip(rows["partner_code"], rows["action"], strict=True)) == [("BR-0001", "new")]
    assert session.exec(select(Partner).where(Partner.partner_code == "BR-0001")).first() is None  # preview only
    at.button(key="imports_partners_apply").click().run()
    assert not at.exception
    assert "Imported 1 file(s): 1 new, 0 updated, 0 unchanged partners." in texts(at)
    fresh(session)
    partner = session.exec(select(Partner).where(Partner.partner_code == "BR-0001")).one()
    assert (partner.legal_name, partner.country_iso2, partner.contact_email) == ("Santos Cargo Ltda", "BR",
                                                                                  "ops@santoscargo.br")
    history = at.dataframe[-1].value
    assert list(history["filename"]) == ["erp export.csv"] and list(history["created"]) == [1]
    assert len(at.file_uploader(key="imports_partners_files_1").value or []) == 0  # emptied for the next file


def test_partner_file_with_errors_cannot_be_imported(page_app, session, staff):
    data = b"partner_code,legal_name,entity_type,country_iso2\nXX-1,Nowhere Ltd,Consolidator,ZZ\n"
    at = page_app("imports", role="admin").run()
    at.file_uploader(key="imports_partners_files_0").set_value(("bad.csv", data, "text/csv")).run()
    assert not at.exception
    assert "1 errors: nothing can be imported" in "\n".join(e.value for e in at.error)
    problems = at.dataframe[1].value
    assert list(problems["row"]) == [2] and "ZZ" in set(problems["value"])
    assert at.button(key="imports_partners_apply").disabled
    assert "Download the problems (CSV)" in [b.proto.label for b in at.get("download_button")]


def test_imports_page_offers_the_example_files(page_app, staff, downloads):
    at = page_app("imports", role="analyst").run()
    offered = {b.proto.label for b in at.get("download_button")}
    assert {"Example partner file (ERP column names, CSV)", "Example answers, long form (CSV)",
            "Example answers, wide form (CSV)"} <= offered
    examples = Path(__file__).resolve().parent.parent / "docs" / "examples"
    for name in ("partners.csv", "responses-long.csv", "responses-wide.csv"):
        assert downloads[name]() == (examples / name).read_bytes()  # the files tests/test_docs_examples.py imports


def test_response_file_preview_import_and_repeat(page_app, session, cycle, partner_ids):
    assignment = assignment_of(session, cycle.id, partner_ids["CN-0001"])
    ids = questions_of(session, assignment)[:3]
    data = ("partner_code,criterion_id,answer,comment\n"
            + "".join(f"CN-0001,{cid},Y,\n" for cid in ids[:2]) + f"CN-0001,{ids[2]},partially,Only in plant 1\n")
    at = page_app("imports", role="analyst").run()
    assert at.selectbox(key="imports_cycle").value == cycle.id
    at.file_uploader(key="imports_responses_files_0").set_value([("answers.csv", data.encode(), "text/csv")]).run()
    assert not at.exception
    assert [m.value for m in at.metric][:3] == ["3", "0", "0"]
    at.button(key="imports_responses_apply").click().run()
    assert not at.exception
    assert "3 new, 0 changed, 0 unchanged answers" in texts(at)
    fresh(session)
    stored = session.exec(select(Answer).where(Answer.assignment_id == assignment.id, Answer.is_current)).all()
    assert {(a.criterion_id, a.value, a.source) for a in stored} == {
        (ids[0], "yes", "file"), (ids[1], "yes", "file"), (ids[2], "partial", "file")}

    at.file_uploader(key="imports_responses_files_1").set_value([("answers.csv", data.encode(), "text/csv")]).run()
    assert "Nothing to import: every answer in the files is already stored." in texts(at)
    assert at.button(key="imports_responses_apply").disabled


# --- Router: a supplier session sees nothing else ---------------------------------------------------------------


@pytest.fixture
def router_app(engine, database_url, staff, monkeypatch):
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("CTPAT_DEMO", "0")
    st.cache_data.clear()
    st.cache_resource.clear()

    def make() -> AppTest:
        at = AppTest.from_file(APP, default_timeout=60)
        at.secrets["database_url"] = database_url
        at.secrets["cookie_key"] = "test-cookie-key-" + "x" * 32
        return at

    yield make
    st.cache_data.clear()
    st.cache_resource.clear()


STAFF_TITLES = ("Dashboard", "Partners", "Criteria", "Admin", "My account", "Cycles", "Review", "Imports")


def test_router_with_a_token_shows_only_the_questionnaire(router_app, chen):
    _, token = chen
    at = router_app()
    at.query_params["token"] = token
    at.run()
    assert not at.exception
    assert at.session_state["supplier_token"] == token
    assert "token" not in at.query_params
    assert "供应链安全问卷" in texts(at)
    assert len(at.sidebar.children) == 0  # no menu at all
    assert len(at.get("page_link")) == 0
    assert not any(title == t.value for t in at.title for title in STAFF_TITLES)
    assert len(at.text_input) == 0  # no login form
    at.run()
    assert "供应链安全问卷" in texts(at)  # the token stays in the session after it left the address bar


def test_router_with_an_invalid_token_shows_only_the_message(router_app, staff):
    at = router_app()
    at.query_params["token"] = "forged"
    at.run()
    assert not at.exception
    assert texts(at) == INVALID_LINK
    assert len(at.text_input) == 0 and len(at.get("page_link")) == 0


def test_staff_logged_in_with_a_token_still_gets_only_the_questionnaire(router_app, chen):
    _, token = chen
    at = router_app()
    at.session_state["authentication_status"] = True
    at.session_state["username"] = "admin"
    at.query_params["token"] = token
    at.run()
    assert "供应链安全问卷" in texts(at)
    assert len(at.get("page_link")) == 0 and len(at.sidebar.children) == 0


# --- Everything a partner reads is in the partner's language (issue 7, item 8) --------------------------------


def everything_read(at) -> str:
    """Page text plus every widget's label, options, help and placeholder, and the progress bar's text."""
    parts = [texts(at)]
    for kind in ("radio", "selectbox", "text_area", "button", "download_button", "file_uploader"):
        for widget in at.get(kind):
            proto = widget.proto
            parts += [getattr(proto, name, "") for name in ("label", "help", "placeholder")]
            parts += list(getattr(proto, "options", []))
    parts += [p.proto.text for p in at.get("progress")]
    return "\n".join(str(p) for p in parts)


@pytest.fixture
def ramirez(session, cycle, partner_ids) -> tuple[Assignment, str]:
    """The Mexican carrier's assignment (Spanish) and a fresh link token."""
    assignment = assignment_of(session, cycle.id, partner_ids["MX-0001"])
    return assignment, issue_token(session, assignment)


@pytest.mark.parametrize("language", ["es", "zh"])
def test_no_english_text_on_a_spanish_or_chinese_page(supplier_app, session, ramirez, chen, language):
    assignment, token = ramirez if language == "es" else chen
    at = supplier_app(token).run()
    assert not at.exception
    read = everything_read(at)
    # Streamlit's uploader says "Upload" and "10MB per file" in English (fixed in 1.67): a caption says it in words.
    hint = catalogue_text("supplier.upload_hint", language, mb=evidence.MAX_EVIDENCE_BYTES // (1024 * 1024))
    assert hint in [c.value for c in at.caption]
    assert ("MB por archivo" if language == "es" else "每个文件最大") in hint and "Upload" in hint
    english = texts_catalogue.catalogue("en")
    theirs = texts_catalogue.catalogue(language)
    for key, entry in english.items():
        if not key.startswith(("supplier.", "answer.", "requirement.", "category.")) or not isinstance(entry, str):
            continue
        if "{" in entry or entry == theirs[key] or len(entry) < 3:  # "No" is Spanish too
            continue
        assert not re.search(rf"(?<!\w){re.escape(entry)}(?!\w)", read), key  # the sheet name "Answers" may stay
    for word in ("Required", "Recommended", "Not applicable", "Save draft", "Submit questionnaire", "Section"):
        assert word not in read


def test_chinese_page_tells_section_from_partial(supplier_app, session, chen):
    assignment, token = chen
    at = supplier_app(token).run()
    assert at.selectbox(key="supplier_section").label == "章节"
    first = questions_of(session, assignment)[0]
    assert at.radio(key=f"q_{first}").options == ["是", "部分符合", "否", "不适用"]
    assert "部分符合" in "\n".join(c.value for c in at.caption)  # the introduction names the answer as the radio does
    assert "部分" not in at.selectbox(key="supplier_section").label


def test_spanish_counts_agree_with_their_nouns(supplier_app, session, ramirez):
    assignment, token = ramirez
    ids = questions_of(session, assignment)
    save_by_link(session, assignment, ids)
    assert questionnaire.submit(session=session, assignment_id=assignment.id, submitted_by="ramirez",
                                actor=via_link(session, assignment.id)) == []
    questionnaire.return_for_fixes(session=session, actor=ANALYST, assignment_id=assignment.id,
                                   comments={ids[0]: "Falta la foto del sello"})
    session.commit()
    at = supplier_app(token).run()
    assert not at.exception
    warning = "\n".join(w.value for w in at.warning)
    assert "con un comentario en 1 pregunta. Actualice esa respuesta" in warning
    assert "1 preguntas" not in everything_read(at)
    at.radio(key=f"q_{ids[0]}").set_value("partial")
    at.text_area(key=f"c_{ids[0]}").set_value("Foto tomada en marzo")
    at.button(key="save").click().run()
    assert "Borrador guardado: 1 respuesta cambiada." in texts(at)


# --- Fresh data across processes (issue 7, item 16) ----------------------------------------------------------


def manage_py(database_url: str, tmp_path: Path, *argv: str) -> subprocess.CompletedProcess:
    """manage.py in a real process of its own, on the test database."""
    env = {**os.environ, "CTPAT_DATABASE_URL": database_url, "CTPAT_DATA_DIR": str(tmp_path / "data")}
    return subprocess.run([sys.executable, "manage.py", *argv], cwd=Path(APP).parent, env=env, capture_output=True,
                          text=True, timeout=300)


def test_pages_show_what_another_process_wrote_on_the_next_run(page_app, session, cycle, partner_ids, database_url,
                                                                 tmp_path):
    assignment = assignment_of(session, cycle.id, partner_ids["CN-0001"])
    first = questions_of(session, assignment)[0]
    save_by_link(session, assignment, [first], value="no", comment="no seal log yet")
    at = page_app("review", role="analyst").run()
    at.toggle(key="review_everyone").set_value(True).run()
    at.selectbox(key="review_assignment").set_value(assignment.id).run()
    shown = at.dataframe[0].value.set_index("criterion_id")
    assert (shown.at[first, "value"], shown.at[first, "comment"]) == ("no", "no seal log yet")

    answers = tmp_path / "answers.csv"
    answers.write_text(f"partner_code,criterion_id,answer,comment\nCN-0001,{first},yes,\n", encoding="utf-8")
    done = manage_py(database_url, tmp_path, "import-responses", str(answers), "--cycle", cycle.name)
    assert done.returncode == 0, done.stderr
    opened = manage_py(database_url, tmp_path, "open-cycle", "2028 spot check",
                       "--due", (date.today() + timedelta(days=9)).isoformat(), "--country", "VN")
    assert opened.returncode == 0, opened.stderr

    at.run()
    assert not at.exception
    shown = at.dataframe[0].value.set_index("criterion_id")
    assert (shown.at[first, "value"], shown.at[first, "comment"], shown.at[first, "source"]) == ("yes", "", "file")
    assert "2028 spot check" in at.selectbox(key="review_cycle").options  # a cycle opened on the command line


def test_a_stale_save_draft_is_refused_and_the_page_reloads(supplier_app, session, chen):
    assignment, token = chen
    first, second = sections_of(session, assignment)[1][:2]
    at = supplier_app(token).run()
    at.radio(key=f"q_{first}").set_value("no")
    at.text_area(key=f"c_{first}").set_value("no seal log yet")
    at.button(key="save").click().run()
    assert "草稿已保存：更改了 1 个回答。" in texts(at)
    # The team imports the partner's newer answer while the page stays open.
    questionnaire.save_answers(session=session, assignment_id=assignment.id, source="file", answered_by="luis",
                               answers=[{"criterion_id": first, "value": "yes"}], actor=ANALYST)
    session.commit()

    at.radio(key=f"q_{second}").set_value("partial")
    at.text_area(key=f"c_{second}").set_value("half done")
    at.button(key="save").click().run()  # the form still shows "no" for the first question
    assert not at.exception
    assert f"自本页面加载以来，{first} 的回答已在别处被修改，因此未保存任何内容。" in texts(at)
    fresh(session)
    rows = session.exec(select(Answer).where(Answer.assignment_id == assignment.id, Answer.is_current)).all()
    assert {(r.criterion_id, r.value) for r in rows} == {(first, "yes")}  # nothing written over it, nothing else
    assert at.radio(key=f"q_{first}").value == "yes"  # reloaded
    assert at.radio(key=f"q_{second}").value == "partial"  # the partner's own change is still in the form

    at.button(key="save").click().run()
    assert "草稿已保存：更改了 1 个回答。" in texts(at)
    fresh(session)
    rows = session.exec(select(Answer).where(Answer.assignment_id == assignment.id, Answer.is_current)).all()
    assert {(r.criterion_id, r.value) for r in rows} == {(first, "yes"), (second, "partial")}


def test_a_browser_past_the_limit_gets_no_link_opened_until_the_window_passes(supplier_app, session, chen,
                                                                                monkeypatch):
    _, token = chen
    clock = [1000.0]
    monkeypatch.setattr(guesses, "LIMIT", guesses.GuessLimit(limit=3, window=900, clock=lambda: clock[0]))
    good = supplier_app(token).run()  # a partner who opened its link before the flood keeps working
    assert texts(good) != INVALID_LINK
    for i in range(3):
        at = supplier_app(f"guess-{i}").run()
        assert texts(at) == INVALID_LINK
    refused = supplier_app(token).run()
    assert not refused.exception
    assert texts(refused) == TOO_MANY_LINKS
    assert len(refused.radio) == len(refused.button) == len(refused.text_area) == 0
    good.run()
    assert texts(good) != TOO_MANY_LINKS and len(good.radio) > 0
    clock[0] += 901
    assert texts(supplier_app(token).run()) != TOO_MANY_LINKS


def test_one_browser_session_counts_a_bad_token_once(supplier_app, monkeypatch):
    monkeypatch.setattr(guesses, "LIMIT", guesses.GuessLimit(limit=2))
    at = supplier_app("guess").run()
    for _ in range(3):
        at.run()  # reruns of the same page (every click) are not new guesses
    assert texts(at) == INVALID_LINK
    assert not guesses.LIMIT.blocked("127.0.0.1")


def test_a_revoked_link_is_only_invalid_not_a_guess_block(supplier_app, session, chen):
    assignment, token = chen
    links.revoke_link(session=session, actor=ANALYST, assignment_id=assignment.id)
    session.commit()
    assert texts(supplier_app(token).run()) == INVALID_LINK
