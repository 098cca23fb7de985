"""manage.py import-certificates and check-certificates, in-process on a fresh SQLite database."""

from datetime import date, timedelta
from pathlib import Path

from sqlmodel import func, select

from models import Certificate, CertificateEvent
from tests.test_cli import cli, database, initialised, opened  # noqa: F401  (fixtures)

EXAMPLES = Path(__file__).resolve().parent.parent / "docs" / "examples"


def _count(model) -> int:
    with opened() as session:
        return session.exec(select(func.count()).select_from(model)).one()


def test_import_certificates_previews_then_writes_all_or_nothing(cli, database, tmp_path):  # noqa: F811
    assert cli("import-partners", str(EXAMPLES / "partners.csv"))[0] == 0
    code, out, _ = cli("import-certificates", str(EXAMPLES / "certificates.csv"), "--dry-run")
    assert code == 0 and "Certificates: 4 new, 0 updated, 0 unchanged, 0 rows with errors; 3 checks" in out
    assert "Dry run: nothing was written." in out and _count(Certificate) == 0

    code, out, _ = cli("import-certificates", str(EXAMPLES / "certificates.csv"))
    assert code == 0 and "Imported: 4 new, 0 updated certificates, 3 checks." in out
    assert _count(Certificate) == 4

    bad = tmp_path / "bad.csv"
    bad.write_text("partner_code,program,certificate_number,valid_to\nV-1001,AEO,X-1,someday\n", encoding="utf-8")
    problems = tmp_path / "problems.csv"
    code, out, err = cli("import-certificates", str(bad), "--problems-csv", str(problems))
    assert code == 2 and "nothing was imported" in err
    assert "error: bad.csv, row 2, column valid_to [someday]: 'someday' is not a date" in out
    assert 'bad.csv,2,issuing_country,,"required (ISO code, e.g. DE)",error' in problems.read_text(encoding="utf-8-sig")
    assert _count(Certificate) == 4
    code, _, err = cli("import-certificates", str(tmp_path / "missing.csv"))
    assert code == 2 and "No such file" in err


def test_check_certificates_records_expiries_once(cli, database):  # noqa: F811
    assert cli("import-partners", str(EXAMPLES / "partners.csv"))[0] == 0
    assert cli("import-certificates", str(EXAMPLES / "certificates.csv"))[0] == 0
    later = (date(2027, 1, 14) + timedelta(days=1)).isoformat()  # the day after the VAT certificate's end
    code, out, _ = cli("check-certificates", "--today", later)
    assert code == 0 and "1 expired, 1 verifications stale" in out  # the Chinese AEO was checked 2026-10-02
    assert cli("check-certificates", "--today", later)[1].startswith("Checked certificates: 0 expired, 0 ")
    assert _count(CertificateEvent) == 4 + 3 + 2  # recorded, verified, the two losses
    code, _, err = cli("check-certificates", "--today", "tomorrow")
    assert code == 2 and "'tomorrow' is not a date" in err
