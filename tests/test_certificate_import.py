"""Certificate files: the documented example, every kind of mistake named by file, row and column, all or nothing,
updates and status changes, XLSX."""

from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlmodel import func, select

from models import Assignment, AuditEvent, Certificate, CertificateVerification, ImportRecord
from services.certificates import rule
from services.certificates.imports import apply_certificates, parse_day, preview_certificates
from services.collection import cycles
from services.core.permissions import PermissionDenied, ValidationError
from services.imports import partners as partner_import
from services.imports.reader import problems_csv
from tests.conftest import ANALYST, VIEWER
from tests.test_tabular import xlsx_bytes

EXAMPLES = Path(__file__).resolve().parent.parent / "docs" / "examples"
TODAY = date.today()
HEADER = "partner_code,program,issuing_country,certificate_number,certificate_type,valid_to,verified_on," \
         "verification_method"


@pytest.fixture
def book(session, staff) -> None:
    """The partners of docs/examples/partners.csv."""
    files = [("partners.csv", (EXAMPLES / "partners.csv").read_bytes())]
    partner_import.apply_partners(session=session, actor=ANALYST,
                                  preview=partner_import.preview_partners(session=session, files=files))
    session.commit()


def csv(*lines: str, header: str = HEADER) -> list[tuple[str, bytes]]:
    return [("certs.csv", "\n".join([header, *lines]).encode())]


def count(session, model) -> int:
    return session.exec(select(func.count()).select_from(model)).one()


def test_the_example_file_imports_as_documented(session, book):
    files = [("certificates.csv", (EXAMPLES / "certificates.csv").read_bytes())]
    preview = preview_certificates(session=session, files=files)
    assert not preview.has_errors, preview.problems.to_dict("records")
    assert preview.counts == {"new": 4, "update": 0, "unchanged": 0, "error": 0, "checks": 3}
    apply_certificates(session=session, actor=ANALYST, preview=preview)
    session.commit()
    certs = {c.certificate_number: c for c in session.exec(select(Certificate))}
    assert certs["RX7TQ2MB"].no_expiry and certs["RX7TQ2MB"].status == "verified"
    assert certs["IVA-IEPS-AAA-2291"].status == "claimed" and certs["CN4403123456"].issuing_country == "CN"
    record = session.exec(select(ImportRecord).where(ImportRecord.kind == "certificates")).one()
    assert (record.kind, record.created, record.rows) == ("certificates", 4, 4)
    event = session.exec(select(AuditEvent).where(AuditEvent.entity == "certificates")).one()
    assert "4 new, 0 updated, 0 unchanged, 3 checks" in event.summary

    again = preview_certificates(session=session, files=files)
    assert again.counts == {"new": 0, "update": 0, "unchanged": 4, "error": 0, "checks": 0}
    results = rule.counts_on(session=session, day=date(2026, 11, 21)).set_index("certificate_number")
    assert results.loc["RX7TQ2MB", "counts"] and results.loc["OEA-MX-000417", "counts"]
    assert "IVA-IEPS does not count" in results.loc["IVA-IEPS-AAA-2291", "why"]
    assert "no arrangement in the registry covers AEO certificates issued in CN" in results.loc["CN4403123456", "why"]


@pytest.mark.parametrize(("line", "column", "message"), [
    ("V-9999,CTPAT,US,CT-1,,no expiry,,", "partner_code", "no partner with code V-9999"),
    ("V-1001,AEO,Atlantis,A-1,,2030-01-01,,", "issuing_country", "'Atlantis' is not a country"),
    ("V-1001,AEO,DE,A-1,AEO-X,2030-01-01,,", "certificate_type", "is not a type of AEO certificates from DE"),
    ("V-1001,AEO,DE,A-1,AEO-F,,,", "valid_to", "required, or choose 'no expiry'"),
    ("V-1001,AEO,DE,A-1,AEO-F,31/12/2030,,", "valid_to", "'31/12/2030' is not a date"),
    ("V-1001,AEO,DE,A-1,AEO-F,2030-01-01,2026-01-05,", "verification_method", "required with verified_on"),
    ("V-1001,AEO,DE,A-1,AEO-F,2030-01-01,2026-01-05,telepathy", "verification_method", "'telepathy' is not"),
    (f"V-1001,AEO,DE,A-1,AEO-F,2030-01-01,{(TODAY + timedelta(days=3)).isoformat()},copy", "verified_on",
     "is in the future"),
    ("V-1001,,DE,A-1,AEO-F,2030-01-01,,", "program", "required"),
    ("V-1001,AEO,DE,=HYPERLINK(1),AEO-F,2030-01-01,,", "certificate_number", "Formulas are not accepted"),
])
def test_mistakes_are_named_and_nothing_is_written(session, book, line, column, message):
    good = "V-2001,CTPAT,US,CT-1,,no expiry,2026-11-20,portal check"
    preview = preview_certificates(session=session, files=csv(good, line))
    assert preview.has_errors
    errors = preview.problems[preview.problems["severity"] == "error"]
    found = errors[(errors["row"] == 3) & (errors["column"] == column)]
    assert len(found) == 1 and message in found["message"].iloc[0], errors.to_dict("records")
    assert preview.rows["action"].tolist() == ["new", "error"]
    with pytest.raises(ValidationError, match="nothing was imported"):
        apply_certificates(session=session, actor=ANALYST, preview=preview)
    assert count(session, Certificate) == 0
    assert b"certs.csv" in problems_csv(preview.problems)


def test_the_same_certificate_twice_and_missing_columns(session, book):
    line = "V-2001,CTPAT,US,CT-1,,no expiry,,"
    twice = preview_certificates(session=session, files=csv(line, line))
    assert "already in row 2" in twice.problems["message"].iloc[0]
    missing = preview_certificates(session=session, files=csv("V-2001,CTPAT", header="partner_code,program"))
    assert "Required columns missing: certificate_number" in missing.problems["message"].iloc[0]


def test_corrections_checks_and_status_changes(session, book):
    apply_certificates(session=session, actor=ANALYST, preview=preview_certificates(session=session, files=csv(
        "V-2001,OEA,MX,OEA-1,OEA,2027-06-30,2026-11-20,copy of certificate")))
    session.commit()
    cycle = cycles.open_cycle(session=session, actor=ANALYST, name="2027 annual review",
                              due_date=TODAY + timedelta(days=20))
    session.commit()
    exempt = session.exec(select(Assignment).where(Assignment.status == "exempt")).one()
    assert "OEA certificate OEA-1 (mutually recognized: Mexico)" in exempt.exempt_reason

    preview = preview_certificates(session=session, files=csv(
        "V-2001,OEA,MX,OEA-1,OEA,2028-06-30,2026-11-20,copy of certificate", header=HEADER))
    assert preview.rows[["action", "changes"]].values.tolist() == [["update", "valid_to: 2027-06-30 → 2028-06-30"]]
    apply_certificates(session=session, actor=ANALYST, preview=preview)
    session.commit()
    assert count(session, CertificateVerification) == 1  # the same check is not stored twice

    suspend = preview_certificates(session=session, files=csv(
        "V-2001,OEA,MX,OEA-1,suspended,SAT notice 88", header="partner_code,program,issuing_country,"
        "certificate_number,status,notes"))
    assert suspend.rows["changes"].iloc[0] == "notes: (blank) → SAT notice 88; status → suspended"
    with pytest.raises(PermissionDenied):
        apply_certificates(session=session, actor=VIEWER, preview=suspend)
    apply_certificates(session=session, actor=ANALYST, preview=suspend)
    session.commit()
    session.expire_all()
    assert session.exec(select(Certificate.status)).one() == "suspended"
    joined = session.get(Assignment, exempt.id)
    assert (joined.status, joined.due_date) == ("not sent", TODAY + timedelta(days=30)) and joined.cycle_id == cycle.id

    back = preview_certificates(session=session, files=csv(
        "V-2001,OEA,MX,OEA-1,claimed", header="partner_code,program,issuing_country,certificate_number,status"))
    assert "a suspended certificate cannot become a claim again" in back.problems["message"].iloc[0]
    reinstated = preview_certificates(session=session, files=csv(
        f"V-2001,OEA,MX,OEA-1,OEA,2028-06-30,{TODAY.isoformat()},customs"))
    assert reinstated.rows["changes"].iloc[0] == f"check {TODAY.isoformat()} (customs confirmation); status → verified"


def test_an_xlsx_file_with_excel_dates(session, book):
    data = xlsx_bytes({"Instructions": [["Fill in the Certificates sheet"]], "Certificates": [
        ["Vendor Code", "Program", "Issued in", "SVI number", "Valid until", "Last verified", "Method"],
        ["V-2001", "CTPAT", "", "RX7TQ2MB", "no expiry", 46346, "Portal"],
    ]})
    preview = preview_certificates(session=session, files=[("svi.xlsx", data)])
    assert not preview.has_errors, preview.problems.to_dict("records")
    apply_certificates(session=session, actor=ANALYST, preview=preview)
    check = session.exec(select(CertificateVerification)).one()
    assert (check.verified_on, check.method, check.verified_by) == (date(2026, 11, 20), "portal check", "luis")


def test_dates_in_iso_or_excel_form():
    assert parse_day("2027-1-31") == (date(2027, 1, 31), "")
    assert parse_day("46418") == (date(2027, 1, 31), "")
    assert parse_day("2027-02-30")[1] == "'2027-02-30' is not a valid date"
    assert "YYYY-MM-DD" in parse_day("next Tuesday")[1]
