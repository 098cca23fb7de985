"""Presentation mode holds on every page: no e-mail address, no identifier and no write control reaches the screen.

Every text an element sends to the browser is read from its protobuf message (markdown, captions, metrics, labels,
options, help texts, and the Arrow bytes of tables and chart data), so a value hidden only by a column order or
drawn in a tooltip counts as shown."""

import re
from datetime import date, timedelta

import pytest
from google.protobuf.descriptor import FieldDescriptor
from sqlmodel import select

from models import CompanyProfile, Partner, User
from models.certificate import Certificate
from services.actions import items as action_items
from services.demo.generator import seed_demo
from services.partners.identifiers import IDENTIFIER_FORMATS
from tests.conftest import ADMIN, ANALYST, add_user
from ui import menu

EMAIL = re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+")
# Buttons a reader may use: they change what is shown, never the data.
READ_BUTTONS = {"Close", "Back to the active configuration"}  # the what-if sliders, not the data
PERSON = "dana.whitfield"


@pytest.fixture
def demo(session, staff):
    add_user(session, PERSON, "analyst", email="dana.whitfield@acme-imports.example")
    seed_demo(session=session, partners=40)
    session.commit()
    partner = session.exec(select(Partner).where(Partner.contact_email != "").order_by(Partner.id)).first()
    action_items.add_item(session=session, actor=ANALYST, values={
        "title": "Fix seals", "due_date": date.today() - timedelta(days=3), "partner_id": partner.id})
    session.commit()
    known = set(session.exec(select(Partner.partner_code)).all())
    for field in IDENTIFIER_FORMATS:
        known |= set(session.exec(select(getattr(Partner, field))).all())
    known |= set(session.exec(select(Certificate.certificate_number)).all())
    company = session.exec(select(CompanyProfile)).one()
    known |= {company.ctpat_account_number, company.ior_number}
    known.add(PERSON)
    # Short values (a 4-letter SCAC, a 4-digit licence) also occur inside other words and numbers.
    return {"partner": partner.id, "known": {v for v in known if v and len(v) >= 6}}


def _strings(message) -> list[str]:
    """Every string and bytes value in a protobuf message, nested messages included."""
    found = []
    for field, value in message.ListFields():
        if field.message_type is not None and field.message_type.GetOptions().map_entry:
            found += [str(k) for k in value] + [str(v) for v in value.values()]
            continue
        for one in value if field.is_repeated else [value]:
            if field.type == FieldDescriptor.TYPE_MESSAGE:
                found += _strings(one)
            elif field.type == FieldDescriptor.TYPE_STRING:
                found.append(one)
            elif field.type == FieldDescriptor.TYPE_BYTES:
                found.append(one.decode("latin-1"))
    return found


def _shown(at) -> str:
    texts = []
    for node in at._tree:
        if getattr(node, "proto", None) is not None:
            texts += _strings(node.proto)
    return re.sub(r"\\(.)", r"\1", "\n".join(texts))  # markdown escapes (ui.text.plain)


def _leaks(at, known: set[str]) -> list[str]:
    text = _shown(at)
    return sorted({m.group(0) for m in EMAIL.finditer(text)} | {v for v in known if v in text})


def _write_controls(at) -> list[str]:
    """Buttons, forms and uploads (downloads only read: a file is not the screen)."""
    controls = [b.label for b in at.button if b.label not in READ_BUTTONS]
    controls += ["form"] * len(at.get("form")) + [f"upload {u.label}" for u in at.get("file_uploader")]
    return controls


def _presenting(page_app, name: str, **state):
    at = page_app(name, role="admin")
    at.session_state["presentation_mode"] = True
    for key, value in state.items():
        at.session_state[key] = value
    return at.run(timeout=60)


@pytest.mark.parametrize("page", [p.url_path for p in menu.PAGES])
def test_presentation_mode_shows_no_email_identifier_or_write_control(page_app, demo, page):
    at = _presenting(page_app, page)
    assert not at.exception
    assert _leaks(at, demo["known"]) == []
    assert _write_controls(at) == []


@pytest.mark.parametrize("tab", ["Details", "Sites & contacts", "Roles", "Certificates", "Risk", "Actions",
                                 "History"])
def test_presentation_mode_hides_them_on_every_partner_tab(page_app, demo, tab):
    at = _presenting(page_app, "partners", partner_focus=demo["partner"], partner_tab=tab)
    assert not at.exception and [t.label for t in at.tabs][-1] == "History"
    assert _leaks(at, demo["known"]) == []
    assert _write_controls(at) == []


def test_the_same_page_shows_them_without_presentation_mode(page_app, demo, session):
    """The check above can fail: without presentation mode the values are on screen."""
    at = page_app("partners", role="admin")
    at.session_state["partner_focus"] = demo["partner"]
    at.run()
    shown = _leaks(at, demo["known"])
    partner = session.get(Partner, demo["partner"])
    assert partner.partner_code in shown and partner.contact_email in shown
    at = page_app("admin", role="admin").run()
    assert "dana.whitfield@acme-imports.example" in _leaks(at, demo["known"])
    assert session.exec(select(User).where(User.username == ADMIN.username)).one()

