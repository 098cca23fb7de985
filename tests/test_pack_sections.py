"""The pack's sections for the self-assessment, the risk snapshot, the action plan, incidents and site visits: demo
data plus one of each, read back with calamine (typed text never a formula), their evidence files in the ZIP, the
PDF's text, determinism, and the risk sheet without a snapshot (it says so and invents no score)."""

import zipfile
from datetime import date, timedelta
from pathlib import Path

import pytest
from python_calamine import CalamineWorkbook
from sqlmodel import func, select

from models import Partner, RiskAssessmentScore
from services.actions import incidents, items
from services.actions.states import Move
from services.demo.generator import seed_demo
from services.reference.applicability import questions_for_partner
from services.reports import pack
from services.risk import assessment as risk
from services.risk import site_visits
from services.selfassessment import assessment as self_assessment
from tests import office
from tests.conftest import ANALYST

TODAY = date(2027, 3, 1)
FORMULA = '=HYPERLINK("http://evil.example","click")'
MARKUP = "<b>Fix</b> **seals** now"
SPANISH = "Revisión de sellos en Peña y Muñoz"
CLOSURE_PDF = b"%PDF-1.4\n% closure photo log\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PROFILE_PDF = b"%PDF-1.4\n% security procedure\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@pytest.fixture
def evidence_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("CTPAT_DATA_DIR", str(tmp_path / "data"))
    return tmp_path / "data" / "evidence"


def _seed(session, *, snapshot: bool = True) -> dict:
    seed_demo(session=session, partners=40, today=TODAY)
    session.commit()
    partners = session.exec(select(Partner).where(Partner.status == "active").order_by(Partner.partner_code)).all()
    made: dict = {"partner": partners[0]}
    if snapshot:
        made["snapshot"] = risk.take_snapshot(session=session, actor=ANALYST, name="2027 Q1 risk assessment",
                                              today=TODAY, note="before the validation")
    criteria = self_assessment.rows(session=session)
    first, second, third = criteria["criterion_id"].iloc[:3]
    self_assessment.save_entry(session=session, actor=ANALYST, criterion_id=first, narrative=FORMULA, status="met",
                               owner="Security manager", today=TODAY - timedelta(days=3))
    self_assessment.save_entry(session=session, actor=ANALYST, criterion_id=second, narrative=SPANISH,
                               status="partly met", owner="=owner", today=TODAY)
    self_assessment.save_entry(session=session, actor=ANALYST, criterion_id=third, narrative="", status="n/a",
                               na_reason="We run no warehouse of our own.", today=TODAY)
    self_assessment.add_evidence(session=session, actor=ANALYST, criterion_id=first, filename="procedure.pdf",
                                 data=PROFILE_PDF)
    made["criteria"] = (first, second, third)

    closed = items.add_item(session=session, actor=ANALYST, values={
        "title": "Replace the broken seal reader", "due_date": TODAY + timedelta(days=10),
        "partner_id": partners[1].id})
    items.move(session=session, actor=ANALYST, action_id=closed.id, to=Move.close, note=FORMULA,
               files=[items.Upload("closure log.pdf", CLOSURE_PDF)])
    late = items.add_item(session=session, actor=ANALYST, values={
        "title": MARKUP, "due_date": TODAY - timedelta(days=5), "partner_id": partners[2].id})
    items.add_item(session=session, actor=ANALYST, values={"title": SPANISH, "due_date": TODAY + timedelta(days=30)})
    made["actions"] = (closed.id, late.id)

    made["incident"] = incidents.record_incident(session=session, actor=ANALYST, today=TODAY, values={
        "occurred_on": TODAY - timedelta(days=20), "kind": "seal discrepancy", "partner_id": partners[3].id,
        "description": "@SUM(A1) seal number did not match the bill of lading", "reported_to": "CBP",
        "reported_on": TODAY - timedelta(days=19)})

    asked = [q.criterion_id for q in questions_for_partner(session=session, partner_id=partners[4].id)]
    made["visit"] = site_visits.record_visit(
        session=session, actor=ANALYST, partner_id=partners[4].id, visited_on=TODAY - timedelta(days=40),
        visited_by="Ana Peña, Luis", notes="-Gate left open at night", today=TODAY,
        findings=[{"criterion_id": asked[0], "finding": "met"},
                  {"criterion_id": asked[1], "finding": "not met", "note": "No seal log kept"}])
    made["visit_criteria"] = tuple(asked[:2])
    session.commit()
    return made


def _sheets(path: Path, tmp_path: Path) -> tuple[CalamineWorkbook, bytes, list[str]]:
    with zipfile.ZipFile(path) as z:
        (tmp_path / "book.xlsx").write_bytes(z.read(pack.WORKBOOK))
        (tmp_path / "summary.pdf").write_bytes(z.read(pack.PDF))
        names = z.namelist()
    with zipfile.ZipFile(tmp_path / "book.xlsx") as book:
        xml = b"".join(book.read(n) for n in book.namelist() if n.startswith("xl/worksheets/"))
    return CalamineWorkbook.from_path(str(tmp_path / "book.xlsx")), xml, names


def _table(book: CalamineWorkbook, sheet: str) -> list[dict]:
    rows = book.get_sheet_by_name(sheet).to_python()
    return [dict(zip(rows[0], row, strict=False)) for row in rows[1:]]


def _pdf_text(tmp_path: Path) -> str:
    return " ".join(" ".join(page[2] for page in office.pdf_pages(tmp_path / "summary.pdf")).split())


def test_new_sections_on_demo_data(session, evidence_dir, tmp_path):
    made = _seed(session)
    summary = pack.build_pack(session=session, out=tmp_path / "one.zip", today=TODAY)
    again = pack.build_pack(session=session, out=tmp_path / "two.zip", today=TODAY)
    assert (tmp_path / "one.zip").read_bytes() == (tmp_path / "two.zip").read_bytes()
    assert summary.rows == again.rows and not summary.missing_files
    book, xml, names = _sheets(summary.path, tmp_path)
    assert b"<f>" not in xml and b"<f " not in xml

    # The self-assessment: every criterion of the entity type in portal order, typed text as typed.
    portal = self_assessment.rows(session=session)
    sa = _table(book, "Self-assessment")
    assert [r["Criterion"] for r in sa] == portal["criterion_id"].tolist()
    assert [r["Portal order"] for r in sa] == list(range(1, len(portal) + 1))
    first, second, third = (next(r for r in sa if r["Criterion"] == c) for c in made["criteria"])
    assert first["How it is met (narrative)"] == FORMULA and first["Status"] == "met"
    assert first["Last reviewed on"] == TODAY - timedelta(days=3) and first["Last reviewed by"] == "luis"
    assert first["Evidence files (in pack)"].endswith("/procedure.pdf")
    assert second["Owner"] == "=owner" and second["Status"] == "partly met"
    assert third["Reason for n/a"] == "We run no warehouse of our own." and third["Status"] == "n/a"
    assert sum(r["Status"] == "not assessed" for r in sa) == len(portal) - 3
    assert any(r["Flag"] for r in sa)  # must criteria without a narrative are flagged
    assert first["Evidence files (in pack)"] in names

    # The snapshot: every score, partners then lanes, with the words that explain them.
    snapshot = made["snapshot"]
    scores = _table(book, "Risk scores")
    stored = session.exec(select(func.count()).select_from(RiskAssessmentScore)
                          .where(RiskAssessmentScore.assessment_id == snapshot.id)).one()
    assert len(scores) == stored > 0
    assert {r["Snapshot"] for r in scores} == {"2027 Q1 risk assessment (as of 2027-03-01)"}
    kinds = [r["Partner / lane"] for r in scores]
    assert kinds == sorted(kinds, key=lambda k: k != "partner") and {"partner", "lane"} <= set(kinds)
    assert all(r["Risk"] in ("High", "Medium", "Low", "Unknown") and r["Threat: why"] for r in scores)
    partner_risks = [r["Risk"] for r in scores if r["Partner / lane"] == "partner"]
    order = {"High": 0, "Medium": 1, "Low": 2, "Unknown": 3}
    assert partner_risks == sorted(partner_risks, key=order.get)

    # The action plan: closing note and the closure's evidence file, which is in the ZIP with its bytes.
    plan = {r["Id"]: r for r in _table(book, "Action plan")}
    closed_id, late_id = made["actions"]
    assert plan[closed_id]["Status"] == "closed" and plan[closed_id]["Closing note"] == FORMULA
    member = plan[closed_id]["Evidence files (in pack)"]
    assert member.endswith("/closure log.pdf") and member in names
    assert plan[late_id]["Overdue"] == "Yes" and plan[late_id]["Days left"] == -5
    assert any(r["Incident"] == made["incident"].id for r in plan.values())  # the incident's own item
    with zipfile.ZipFile(summary.path) as z:
        assert z.read(member) == CLOSURE_PDF
        assert z.read(first["Evidence files (in pack)"]) == PROFILE_PDF
    index = _table(book, "Evidence index")
    assert {"action item", "self-assessment"} <= {r["Backs"] for r in index}
    assert {member, first["Evidence files (in pack)"]} <= {r["File in pack"] for r in index}

    # Incidents and site visits.
    [incident] = _table(book, "Incidents")
    assert incident["What happened"].startswith("@SUM(A1)") and incident["Reported to"] == "CBP"
    assert incident["Status"] == "open" and incident["Action item"].endswith("(open)")
    visits = _table(book, "Site visits")
    assert [r["Criterion"] for r in visits] == list(made["visit_criteria"])
    assert [r["Finding"] for r in visits] == ["met", "not met"]
    assert visits[1]["Finding note"] == "No seal log kept" and visits[0]["Visit notes"] == "-Gate left open at night"
    assert visits[0]["Visited on"] == TODAY - timedelta(days=40)

    # The PDF: the new parts, typed text printed as typed.
    text = _pdf_text(tmp_path)
    assert "Security Profile self-assessment" in text and "Must criteria without a narrative" in text
    assert "Risk assessment" in text and "Highest-risk partners (the latest saved snapshot" in text
    assert "Highest-risk lanes" in text and "not a saved snapshot" not in text
    overdue = sum(r["Overdue"] == "Yes" for r in plan.values())
    assert "Action plan status" in text and f"Overdue action items ({overdue})" in text
    assert MARKUP in text
    assert "Action items overdue" in text and "Partners at High risk" in text and "Site visits on record" in text


def test_without_a_snapshot_the_sheet_says_so(session, evidence_dir, tmp_path):
    _seed(session, snapshot=False)
    summary = pack.build_pack(session=session, out=tmp_path / "p.zip", today=TODAY)
    book, _, _ = _sheets(summary.path, tmp_path)
    [row] = _table(book, "Risk scores")
    assert row["Snapshot"].startswith("No saved risk assessment snapshot as of 2027-03-01")
    assert all(row[h] == "" for h in ("Code", "Risk", "Threat", "Vulnerability", "Not met %"))
    text = _pdf_text(tmp_path)
    assert "Highest-risk partners (the current assessment (current, not a saved snapshot))" in text
    assert "No risk assessment snapshot has been saved as of 2027-03-01" in text


def test_a_snapshot_after_the_pack_day_is_not_the_latest(session, evidence_dir, tmp_path):
    """A pack as of an earlier day shows the snapshot of that day, never a later one."""
    _seed(session, snapshot=False)
    risk.take_snapshot(session=session, actor=ANALYST, name="early", today=TODAY - timedelta(days=30))
    risk.take_snapshot(session=session, actor=ANALYST, name="later", today=TODAY)
    session.commit()
    summary = pack.build_pack(session=session, out=tmp_path / "p.zip", today=TODAY - timedelta(days=1))
    book, _, _ = _sheets(summary.path, tmp_path)
    assert {r["Snapshot"] for r in _table(book, "Risk scores")} == {"early (as of 2027-01-30)"}


def test_the_procedure_is_in_the_pack_labelled_as_what_it_is(session, evidence_dir, tmp_path):
    """Generated, saved but unsigned, or signed off: the sheet and the PDF say which, never passing one for another."""
    from services import procedure
    from tests.conftest import ADMIN

    _seed(session, snapshot=False)

    def status_line(name: str) -> str:
        summary = pack.build_pack(session=session, out=tmp_path / name, today=TODAY)
        book, _, _ = _sheets(summary.path, tmp_path)
        rows = _table(book, "Procedure")
        assert rows[0]["Part"] == "Status" and any(r["Part"].startswith("Step 1") for r in rows)
        assert "Risk assessment procedure" in _pdf_text(tmp_path)
        return rows[0]["Text"]

    assert status_line("a.zip") == "Generated from the live configuration; no version saved or signed off"
    saved = procedure.save_version(session=session, actor=ANALYST, note="first")
    session.commit()
    assert status_line("b.zip").endswith("NOT SIGNED OFF")
    procedure.sign_off(session=session, actor=ADMIN, version=saved.version, today=TODAY)
    session.commit()
    assert f"signed off by admin on {date.today().isoformat()}" in status_line("c.zip")
