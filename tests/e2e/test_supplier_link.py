"""The supplier link in a real browser: the token leaves the address bar, the partner answers, uploads and submits;
a bad token shows one plain message; staff pages stay out of reach."""

import re
import time
import uuid

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect
from sqlmodel import select

from models import Answer, Assignment, Evidence
from services.collection import questionnaire
from services.core import db
from tests.conftest import via_link
from tests.e2e.support import (
    expect_only_login_form,
    open_app,
    page_paths,
    partner_with_link,
    submit_questionnaire,
    wait_for_app_run,
)

PDF = b"%PDF-1.4\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n"
STAFF_TITLES = [title for _path, title in page_paths()]


@pytest.fixture
def supplier_link(app_server, page: Page):
    """A Chinese factory of its own with a one-partner cycle and a fresh link; yields (token, assignment id, engine)."""
    open_app(page, app_server.url)  # the server initialises its database (and demo data) on its first run
    engine = db.make_engine(f"sqlite:///{app_server.data_dir / 'e2e.db'}")
    tag = uuid.uuid4().hex[:6].upper()
    _, assignment_id, token = partner_with_link(engine, code=f"E2E-{tag}",
                                                legal_name=f"Ningbo Harbour Lamps {tag} Co., Ltd.", country="CN",
                                                language="zh", cycle_name=f"E2E link {tag}")
    with db.session_scope(engine) as s:
        questions = questionnaire.questionnaire(session=s, assignment_id=assignment_id)
    first_section = questions[questions["category_number"] == questions["category_number"].iloc[0]]
    yield token, assignment_id, engine, f"Ningbo Harbour Lamps {tag}", len(first_section)
    engine.dispose()


def test_supplier_answers_uploads_and_submits(page: Page, app_server, supplier_link):
    token, assignment_id, engine, name, count = supplier_link
    open_app(page, f"{app_server.url}/?token={token}")
    expect(page.get_by_role("heading", name="供应链安全问卷")).to_be_visible()
    assert "token" not in page.url
    expect(page.get_by_text(name)).to_be_visible()
    for testid in ("stSidebar", "stSidebarNav", "stPageLink"):
        expect(page.get_by_test_id(testid)).to_have_count(0)
    expect(page.get_by_label("Username", exact=True)).to_have_count(0)

    form = page.get_by_test_id("stForm")
    radios = form.get_by_test_id("stRadio")
    expect(radios).to_have_count(count)  # the first section only
    for i in range(count):
        radios.nth(i).get_by_text("是", exact=True).click()
    form.get_by_test_id("stFileUploaderDropzoneInput").first.set_input_files(
        files=[{"name": "seal-log.pdf", "mimeType": "application/pdf", "buffer": PDF}])
    expect(form.get_by_test_id("stFileChip").first).to_be_visible()
    form.get_by_role("button", name="保存草稿").click()
    wait_for_app_run(page)
    expect(page.get_by_text(f"草稿已保存：更改了 {count} 个回答。")).to_be_visible()
    expect(page.get_by_text("已附文件：seal-log.pdf")).to_be_visible()
    assert "token" not in page.url

    with db.session_scope(engine) as s:
        stored = s.exec(select(Answer).where(Answer.assignment_id == assignment_id, Answer.is_current)).all()
        assert len(stored) == count and {a.source for a in stored} == {"link"}
        assert s.exec(select(Evidence.filename).where(Evidence.assignment_id == assignment_id)).all() == [
            "seal-log.pdf"]
        # The other sections answered the quick way, so the browser can submit the whole questionnaire.
        rest = [c for c in questionnaire.applicable_criteria(session=s, assignment_id=assignment_id)
                if c not in {a.criterion_id for a in stored}]
        questionnaire.save_answers(session=s, assignment_id=assignment_id, source="link", answered_by="e2e",
                                   answers=[{"criterion_id": c, "value": "yes", "comment": ""} for c in rest],
                                   actor=via_link(s, assignment_id))

    page.get_by_role("button", name="提交问卷").click()
    wait_for_app_run(page)
    expect(page.get_by_text(re.compile("谢谢：问卷已于"))).to_be_visible()
    expect(page.get_by_test_id("stRadio")).to_have_count(0)
    expect(page.get_by_test_id("stButton")).to_have_count(0)
    with db.session_scope(engine) as s:
        assert s.get(Assignment, assignment_id).status == "submitted"


@pytest.mark.parametrize("token", ["forged-token", "x" * 43])
def test_invalid_token_shows_only_a_plain_message(page: Page, app_server, token):
    open_app(page, f"{app_server.url}/?token={token}")
    expect(page.get_by_text("This link is not valid. Ask your contact for a new link.")).to_be_visible()
    assert "token" not in page.url
    expect(page.get_by_role("heading")).to_have_count(0)
    for testid in ("stSidebar", "stPageLink", "stForm", "stDataFrame", "stButton", "stException"):
        expect(page.get_by_test_id(testid)).to_have_count(0)


def test_staff_pages_stay_out_of_reach_of_a_supplier_session(page: Page, app_server, supplier_link):
    token = supplier_link[0]
    open_app(page, f"{app_server.url}/?token={token}")
    expect(page.get_by_role("heading", name="供应链安全问卷")).to_be_visible()
    for path in ("partners", "cycles", "admin"):
        open_app(page, f"{app_server.url}/{path}")
        expect_only_login_form(page, STAFF_TITLES)
        expect(page.get_by_text("供应链安全问卷")).to_have_count(0)


def test_the_offline_questionnaire_goes_only_to_the_partner_browser(page: Page, context: BrowserContext,
                                                                    browser: Browser, app_server, supplier_link):
    """A partner has no login: Streamlit's file is tied to the browser whose session asked for it."""
    token = supplier_link[0]
    open_app(page, f"{app_server.url}/?token={token}")
    page.get_by_test_id("stExpander").first.locator("summary").click()  # the help, where the offline file is
    with page.expect_download() as download:
        page.locator(".st-key-supplier_xlsx").get_by_role("button").click()
    url = download.value.url
    assert "/media/" in url and download.value.suggested_filename.endswith(".xlsx")
    assert context.request.get(url).status == 200
    outsider = browser.new_context()
    assert outsider.request.get(url).status == 403
    outsider.close()


def test_supplier_on_a_phone_sees_the_first_question_and_the_confirmation(page: Page, app_server, supplier_link):
    """Issue 7, item 7 at 390x844: the header takes a few lines, so the first question is on the first screen; after
    Submit the confirmation is on the screen, in place of the form."""
    token, assignment_id, engine, name, count = supplier_link
    page.set_viewport_size({"width": 390, "height": 844})
    open_app(page, f"{app_server.url}/?token={token}")
    heading = page.get_by_role("heading", name="供应链安全问卷")
    expect(heading).to_be_visible()
    # The small-screen style arrives with the page's elements; give it the moment it takes to apply.
    deadline = time.monotonic() + 10
    while (title_box := heading.bounding_box()) is None or title_box["height"] >= 80:
        if time.monotonic() > deadline:
            break
        page.wait_for_timeout(200)
    assert title_box is not None and title_box["height"] < 80, (title_box, heading.inner_text())  # 2 lines, not 4
    first = page.get_by_test_id("stForm").get_by_test_id("stRadio").first
    expect(first).to_be_in_viewport()

    with db.session_scope(engine) as s:
        questionnaire.save_answers(
            session=s, assignment_id=assignment_id, source="link", answered_by="e2e",
            answers=[{"criterion_id": c, "value": "yes", "comment": ""}
                     for c in questionnaire.applicable_criteria(session=s, assignment_id=assignment_id)],
            actor=via_link(s, assignment_id))
    open_app(page, f"{app_server.url}/?token={token}")
    submit_questionnaire(page, "提交问卷", "谢谢：问卷已于")
