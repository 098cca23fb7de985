"""A partner closes a corrective action through its personal link in Chromium (issue 9): it reads the action in its
language, sends a closing note with an evidence file, and the item waits for the team's acceptance."""

import uuid
from datetime import date, timedelta

from playwright.sync_api import Page, expect
from sqlmodel import select

from models.actions import ActionEvidence, ActionItem, ActionStatus
from services.actions import items
from services.core import db
from tests.conftest import ANALYST
from tests.e2e.support import open_app, partner_with_link, wait_for_app_run

PDF = b"%PDF-1.4\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n"


def test_a_partner_closes_its_action_with_evidence_through_its_link(page: Page, app_server):
    open_app(page, app_server.url)  # the server's first run prepares its database
    engine = db.make_engine(f"sqlite:///{app_server.data_dir / 'e2e.db'}")
    tag = uuid.uuid4().hex[:6].upper()
    partner_id, _, token = partner_with_link(engine, code=f"MX-A{tag}",
                                             legal_name=f"Muebles Ensenada {tag} S.A. de C.V.", country="MX",
                                             language="es", cycle_name=f"E2E action {tag}")
    with db.session_scope(engine) as s:
        item = items.add_item(session=s, actor=ANALYST, values={
            "title": "Sellos de alta seguridad ISO 17712 en cada contenedor", "partner_id": partner_id,
            "due_date": date.today() + timedelta(days=14), "shared_with_partner": True})
        item_id = item.id
    try:
        open_app(page, f"{app_server.url}/?token={token}")
        box = page.locator(f".st-key-supplier_action_{item_id}")
        expect(box.get_by_text("Sellos de alta seguridad ISO 17712 en cada contenedor")).to_be_visible()
        box.get_by_role("textbox").fill("Compramos sellos ISO 17712 y capacitamos al personal de carga.")
        box.get_by_test_id("stFileUploaderDropzoneInput").first.set_input_files(
            files=[{"name": "sellos.pdf", "mimeType": "application/pdf", "buffer": PDF}])
        expect(box.get_by_test_id("stFileChip").first).to_be_visible()
        box.get_by_role("button").filter(has_text="revisión").last.click()
        wait_for_app_run(page)
        expect(page.get_by_test_id("stAlert").filter(has_text="Gracias")).to_be_visible()
        with db.session_scope(engine) as s:
            done = s.get(ActionItem, item_id)
            assert done.status == ActionStatus.awaiting
            assert done.closing_note == "Compramos sellos ISO 17712 y capacitamos al personal de carga."
            assert s.exec(select(ActionEvidence.filename).where(ActionEvidence.action_id == item_id)).all() == [
                "sellos.pdf"]
    finally:
        engine.dispose()
