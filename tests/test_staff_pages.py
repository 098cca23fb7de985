"""Staff pages as a new user meets them: refusals shown as messages, typed text shown as typed, tables with labels
and formats, whole-number chart axes, figures that add up, forms that clear, buttons enabled only when they can act.
"""

import ast
import json
import re
from datetime import date, timedelta
from pathlib import Path

import pandas as pd
import pytest
from sqlmodel import select

from models import Assignment, User
from services.collection import cycles, links, questionnaire, titles
from services.demo.generator import seed_demo
from services.partners import registry as partners
from tests.conftest import ADMIN, ANALYST, session_version, via_link
from ui import charts

ROOT = Path(__file__).resolve().parent.parent
# Typed text that markdown would turn into a link, a heading and an autolink.
LINK = "[x](http://evil.example)"
HEADING = "# h"
URL = "https://evil.example/raw"
# Elements whose text Streamlit reads as markdown.
MARKDOWN = ("title", "header", "subheader", "markdown", "caption", "info", "warning", "error", "success")


def _markdown_texts(at) -> list[str]:
    texts = [str(e.value) for kind in MARKDOWN for e in getattr(at, kind)]
    texts += [e.label for e in at.expander] + [e.label for e in at.checkbox] + [e.label for e in at.button]
    return texts + [m.label for m in at.metric]


def _read(markdown: str) -> str:
    return re.sub(r"\\(.)", r"\1", markdown)


def _assert_shown_literally(at, *typed: str) -> None:
    """Each typed text reaches the page only escaped (never as a link, heading or autolink) and reads as typed."""
    texts = _markdown_texts(at)
    for text in texts:
        assert "](" not in text and "http://" not in text and "https://" not in text, text
        assert not any(line.lstrip().startswith("#") for line in text.splitlines()), text
    shown = _read("\n".join(texts)) + "\n" + "\n".join(
        str(v) for df in at.dataframe for column in df.value.columns for v in df.value[column].tolist())
    for text in typed:
        assert text in shown, text


@pytest.fixture
def hostile(session, staff) -> dict:
    """A partner, a cycle and an answer comment whose typed text is markdown syntax."""
    partner = partners.create_partner(session=session, actor=ANALYST, values={
        "partner_code": "EVIL-1", "legal_name": f"{LINK} {HEADING} {URL}", "entity_type": "Highway Carrier",
        "country_iso2": "MX", "city": URL, "notes": f"{HEADING}\n{LINK}", "contact_name": LINK})
    cycle = cycles.open_cycle(session=session, actor=ANALYST, name=f"{HEADING} {LINK}",
                              due_date=date.today() + timedelta(days=30))
    session.commit()
    assignment = session.exec(select(Assignment).where(Assignment.cycle_id == cycle.id)).one()
    first = questionnaire.applicable_criteria(session=session, assignment_id=assignment.id)[0]
    questionnaire.save_answers(session=session, assignment_id=assignment.id, source="link",
                               actor=via_link(session, assignment.id), answered_by="partner",
                               answers=[{"criterion_id": first, "value": "no", "comment": f"{HEADING}\n{URL} {LINK}"}])
    session.commit()
    return {"partner": partner.id, "cycle": cycle.id, "assignment": assignment.id}


def test_typed_text_shows_literally_on_partners_review_cycles_and_the_supplier_header(page_app, session, hostile):
    at = page_app("partners", role="analyst")
    at.session_state["partner_focus"] = hostile["partner"]
    at.run()
    assert not at.exception
    _assert_shown_literally(at, f"EVIL-1 · {LINK} {HEADING} {URL}", f"**City:** {URL}", LINK, HEADING)

    at = page_app("review", role="analyst")
    at.session_state["review_everyone"] = True
    at.run()
    assert not at.exception
    _assert_shown_literally(at, f"EVIL-1 · {LINK} {HEADING} {URL}", f"{HEADING} {LINK} (due", f"{URL} {LINK}")

    at = page_app("cycles", role="analyst").run()
    assert not at.exception
    at.checkbox(key="cycles_close_sure").check().run()
    _assert_shown_literally(at, f"Yes, close {HEADING} {LINK}")

    # Partners read the cycle's title for partners (never its name): typed by staff, shown as typed.
    titles.set_partner_titles(session=session, actor=ADMIN, cycle_id=hostile["cycle"],
                              titles=dict.fromkeys(("en", "es", "zh"), f"{HEADING} {LINK}"))
    token = links.issue_link(session=session, actor=ADMIN, assignment_id=hostile["assignment"])
    session.commit()
    at = page_app("supplier", role="")
    at.session_state["supplier_token"] = token
    at.run()
    assert not at.exception
    _assert_shown_literally(at, f"For **{LINK} {HEADING} {URL}** · due", f"{HEADING} {LINK}")
    assert at.title[0].value.replace("\\", "") == f"{HEADING} {LINK}"


def _stale_cycles_panel(cycle_id: int) -> None:
    """The Cycles page's partner panel as a fragment rerun draws it: with the actor of the page's last full run,
    when luis was still an analyst."""
    from datetime import date

    from pages import cycles as page
    from services.core.permissions import Actor
    from ui import cached

    today = date.today()
    cycle = cached.cycle_list(today).set_index("id", drop=False).loc[cycle_id]
    page._partners_panel(Actor("luis", "analyst"), cached.cycle_funnel(cycle_id, today), cycle)


def test_a_role_lowered_while_the_page_is_open_is_refused_with_a_message(page_app, session, hostile, database_url,
                                                                         engine):
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_function(_stale_cycles_panel, args=(hostile["cycle"],), default_timeout=30)
    at.secrets["database_url"] = database_url
    at.session_state["authentication_status"] = True
    at.session_state["username"] = "luis"
    at.session_state["session_version"] = session_version(engine, "luis")
    at.run()
    assert not at.exception and "Issue link" in [b.label for b in at.button]

    luis = session.exec(select(User).where(User.username == "luis")).one()
    luis.role = "viewer"  # an admin lowers the role while luis has the page open
    session.add(luis)
    session.commit()
    at.button(key="cycles_issue").click().run()
    assert not at.exception
    [refusal] = [e.value for e in at.error]
    assert "luis (viewer) may not send a questionnaire" in _read(refusal) and "reload the page" in refusal
    session.expire_all()
    assert session.get(Assignment, hostile["assignment"]).token_hash is None  # nothing written


def test_a_refused_write_shows_every_problem_as_a_list(page_app, staff):
    at = page_app("partners", role="analyst")
    at.session_state["partner_add"] = True
    at.run()
    at.text_input(key="add_code").set_value("X-1")
    at.text_input(key="add_name").set_value("Bad Factory")
    at.selectbox(key="add_type").set_value("Foreign Manufacturer")
    at.selectbox(key="add_country").set_value("CN")
    at.text_input(key="add_email").set_value("not-an-email")
    at.text_input(key="add_duns").set_value("12")
    at = next(b for b in at.button if b.label == "Add partner").click().run()
    [error] = [e.value for e in at.error]
    assert [line[:2] for line in error.splitlines()] == ["- ", "- "]
    assert "contact_email: 'not-an-email' is not an email address" in _read(error)
    assert "duns: DUNS '12' is not valid" in _read(error)


def _columns(df) -> list[tuple[str, str]]:
    """(column, label) of each column a table shows."""
    config = json.loads(df.proto.columns or "{}")
    shown = list(df.proto.column_order) or list(df.value.columns)
    return [(c, config.get(f"col:name:{c}", config.get(c, {})).get("label", c)) for c in shown]


def test_every_staff_table_shows_labels_and_a_dash_for_empty(page_app, session, staff):
    seed_demo(session=session, partners=60)
    session.commit()
    first = int(partners.search_partners(session=session).rows["id"][0])
    views = [("dashboard", {}), ("cycles", {}), ("review", {"review_everyone": True}), ("imports", {}),
             ("criteria", {}), ("admin", {"admin_tab": "Users"}), ("admin", {"admin_tab": "MRA programs"}),
             ("admin", {"admin_tab": "Audit log"})]
    views += [("partners", {"partner_focus": first, "partner_tab": tab}) for tab in ("Details", "Certificates",
                                                                                    "History")]
    seen = 0
    for page, state in views:
        at = page_app(page, role="admin")
        for key, value in state.items():
            at.session_state[key] = value
        at.run()
        assert not at.exception, page
        for df in at.dataframe:
            if df.value.index.name == "Criterion":  # the applicability matrix: entity types as columns
                continue
            seen += 1
            assert df.proto.placeholder == "–", (page, df.value.columns)
            for column, label in _columns(df):
                assert "_" not in label and label != column, (page, column, label)
    assert seen >= 15
    # The audit log shows the changes in words, not the JSON of the values before and after.
    at = page_app("admin", role="admin")
    at.session_state["admin_tab"] = "Audit log"
    log = next(df for df in at.run().dataframe if "changes" in df.value.columns)
    assert [c for c, _ in _columns(log)] == ["at", "user", "action", "entity", "id", "summary", "changes"]


def test_review_names_the_questionnaire_language(page_app, hostile):
    at = page_app("review", role="viewer")
    at.session_state["review_everyone"] = True
    at.run()
    assert "questionnaire in English" in _read("\n".join(c.value for c in at.caption))


def test_count_axes_have_whole_number_ticks(session, hostile):
    from pages import cycles as page

    frame = cycles.funnel(session=session, cycle_id=hostile["cycle"])
    for chart in (page.funnel_chart(frame), page.funnel_chart(frame, by="country"),
                  charts.bar(pd.DataFrame({"entity_type": ["Sea Carrier"], "partners": [1], "status": ["active"]}),
                             category="entity_type", value="partners", color="status", title="partners")):
        axis = chart.to_dict()["encoding"]["x"]["axis"]
        assert (axis["tickMinStep"], axis["format"]) == (1, "d")


def test_criteria_figures_add_up_and_name_the_odd_one(page_app, staff):
    at = page_app("criteria", role="viewer").run()
    figures = {m.label: int(m.value) for m in at.metric}
    assert figures["Criteria shown"] == figures["Must"] + figures["Should"] + figures["Must/should not confirmed"]
    assert (figures["Criteria shown"], figures["Must/should not confirmed"]) == (101, 1)
    assert "Must/should not confirmed in the sources: 6.4" in _read("\n".join(c.value for c in at.caption))
    at.multiselect(key="criteria_requirement").select("").run()
    assert [df.value["criterion_id"].tolist() for df in at.dataframe if (df.key or "").startswith("criteria_table")] \
        == [["6.4"]]


def test_create_user_form_is_empty_after_success_and_kept_after_a_refusal(page_app, session, staff):
    at = page_app("admin", role="admin")
    at.session_state["admin_tab"] = "Users"
    at.run()
    at.text_input[0].set_value("two words")
    at.text_input[1].set_value("Dana Miller")
    at = next(b for b in at.button if b.label == "Create user").click().run()
    assert at.error and at.text_input[1].value == "Dana Miller"  # refused: what was typed stays
    at.text_input[0].set_value("dana")
    at = next(b for b in at.button if b.label == "Create user").click().run()
    assert "Created user dana (analyst)." in _read("\n".join(s.value for s in at.success))
    assert [t.value for t in at.text_input[:4]] == ["", "", "", ""]
    assert session.exec(select(User).where(User.username == "dana")).one().name == "Dana Miller"


def test_revoke_link_is_enabled_only_for_a_working_link(page_app, session, hostile):
    at = page_app("cycles", role="analyst").run()
    assert at.button(key="cycles_revoke").disabled
    links.issue_link(session=session, actor=ADMIN, assignment_id=hostile["assignment"])
    session.commit()
    at = page_app("cycles", role="analyst").run()
    assert not at.button(key="cycles_revoke").disabled
    at.button(key="cycles_revoke").click().run()
    assert not at.exception and at.button(key="cycles_revoke").disabled
    session.expire_all()
    assert session.get(Assignment, hostile["assignment"]).token_revoked


def _top_level_calls(path: Path) -> list[str]:
    """Statements of a module that do something at import (anything but imports, defs, classes, constants)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    allowed = (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.ClassDef, ast.Assign, ast.AnnAssign)
    found = [ast.unparse(node)[:60] for node in tree.body
             if not isinstance(node, allowed) and not (isinstance(node, ast.Expr) and isinstance(node.value,
                                                                                              ast.Constant))]
    for node in tree.body:  # constants may call pure helpers, never streamlit
        if isinstance(node, ast.Assign | ast.AnnAssign) and "st." in ast.unparse(node):
            found.append(ast.unparse(node)[:60])
    return found


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names} | {
        node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}


def test_pages_only_define_functions_hold_no_sql_and_import_no_other_page():
    modules = sorted((ROOT / "pages").rglob("*.py"))
    assert len(modules) >= 12
    for path in modules:
        assert _top_level_calls(path) == [], path
        imported = _imports(path)
        assert not {m for m in imported if m.split(".")[0] in ("sqlmodel", "sqlalchemy")}, path
        assert not re.search(r"\bselect\(", path.read_text(encoding="utf-8")), path
        package = path.relative_to(ROOT).parts[:2] if path.parent != ROOT / "pages" else None
        for module in imported:
            if module.startswith("pages.") or module == "pages":
                assert package and tuple(module.split(".")[:2]) == package, (path, module)


def test_the_command_line_holds_no_sql():
    for path in sorted((ROOT / "cli").glob("*.py")):
        assert not {m for m in _imports(path) if m.split(".")[0] in ("sqlmodel", "sqlalchemy")} - {
            "sqlalchemy", "sqlalchemy.engine", "sqlalchemy.exc"}, path
        assert not re.search(r"\bselect\(", path.read_text(encoding="utf-8")), path
    assert not (ROOT / "cli_cycles.py").exists() and not (ROOT / "cli_collection.py").exists()
    assert len((ROOT / "manage.py").read_text(encoding="utf-8").splitlines()) <= 10
