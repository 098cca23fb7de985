"""open-cycle and export-questionnaires: in-process through the cli package's parser, and once through manage.py."""

import os
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlmodel import select

import cli
from cli.base import Context
from models import Assignment, AuditEvent, Cycle, Partner
from services.core.permissions import ValidationError
from services.exports.workbook import ANSWERS_SHEET
from services.partners.registry import create_partner
from tests.certificate_support import certify
from tests.conftest import ANALYST

ROOT = Path(__file__).resolve().parent.parent
DUE = (date.today() + timedelta(days=60)).isoformat()


@pytest.fixture
def run(engine, database_url, capsys):
    """Parse argv with the command line's parser and run the handler on the test database; (code, stdout, stderr)."""
    parser = cli.build_parser()
    context = Context(engine=engine, url=database_url, startup=None)

    def invoke(*argv: str) -> tuple[int, str, str]:
        capsys.readouterr()
        args = parser.parse_args(list(argv))
        code = args.run(args, context)
        out, err = capsys.readouterr()
        return code, out, err

    return invoke


@pytest.fixture
def partners(session, staff) -> dict[str, Partner]:
    made = {}
    for code, entity_type, country, criticality, language in (
        ("MX1", "Foreign Manufacturer", "MX", "high", "es"),
        ("CN1", "Foreign Manufacturer", "CN", "low", "zh"),
        ("HWY1", "Highway Carrier", "MX", "high", "en"),
        ("US/1", "Customs Broker", "US", "medium", "en"),
    ):
        made[code] = create_partner(session=session, actor=ANALYST, values={
            "partner_code": code, "legal_name": f"{code} Ltd", "entity_type": entity_type, "country_iso2": country,
            "criticality": criticality, "language": language})
    certify(session, made["HWY1"].id, number="CT-7", verified_on=date.today())
    session.commit()
    return made


def assignments(session, name: str) -> dict[str, str]:
    """partner code -> status of the cycle's questionnaires."""
    session.expire_all()
    rows = session.exec(select(Partner.partner_code, Assignment.status)
                        .join(Assignment, Assignment.partner_id == Partner.id)
                        .join(Cycle, Cycle.id == Assignment.cycle_id).where(Cycle.name == name)).all()
    return dict(rows)


def test_open_cycle_for_everyone_prints_counts_and_audits_as_cli(run, session, partners):
    code, out, err = run("open-cycle", "2027 annual review", "--due", DUE, "--language", "es")
    assert (code, err) == (0, "")
    year = DUE[:4]
    assert out == (f"Opened cycle '2027 annual review' (due {DUE}) for 4 partners: 3 not sent, 1 exempt.\n"
                   f"Partners see it as: en: Supply chain security questionnaire {year}; es: Cuestionario de "
                   f"seguridad de la cadena de suministro {year}; zh: {year} 年供应链安全问卷\n")
    assert assignments(session, "2027 annual review") == {"MX1": "not sent", "CN1": "not sent", "HWY1": "exempt",
                                                          "US/1": "not sent"}
    cycle = session.exec(select(Cycle).where(Cycle.name == "2027 annual review")).one()
    assert (cycle.default_language, cycle.due_date.isoformat(), cycle.created_by) == ("es", DUE, "cli")
    event = session.exec(select(AuditEvent).where(AuditEvent.entity == "cycle")).one()
    assert (event.username, event.action) == ("cli", "open")


def test_open_cycle_filters_repeat_and_no_exempt(run, session, partners):
    code, out, _ = run("open-cycle", "Mexico high", "--due", DUE, "--country", "mx", "--criticality", "high",
                       "--entity-type", "foreign manufacturer", "--entity-type", "Highway Carrier", "--no-exempt")
    assert code == 0 and "for 2 partners: 2 not sent." in out
    assert assignments(session, "Mexico high") == {"MX1": "not sent", "HWY1": "not sent"}


def test_open_cycle_with_titles_for_partners(run, session, partners):
    code, out, _ = run("open-cycle", "2027 critical partners spot check", "--due", DUE,
                       "--title", "en", "  Annual   security review ", "--title", "ZH", "年度安全审查")
    assert code == 0
    assert out.splitlines()[1] == (f"Partners see it as: en: Annual security review; es: Cuestionario de seguridad "
                                   f"de la cadena de suministro {DUE[:4]}; zh: 年度安全审查")
    cycle = session.exec(select(Cycle).where(Cycle.name == "2027 critical partners spot check")).one()
    assert cycle.partner_titles == {"en": "Annual security review", "zh": "年度安全审查"}
    event = session.exec(select(AuditEvent).where(AuditEvent.entity == "cycle")).one()
    assert event.after["partner_titles"] == cycle.partner_titles


@pytest.mark.parametrize(("argv", "message"), [
    (("--title", "fr", "Revue annuelle"), "title: 'fr' is not a language of the questionnaire; use one of en, es, zh"),
    (("--title", "es", "Uno", "--title", "es", "Dos"), "--title: es is given twice"),
    (("--title", "en", "x" * 121), "title (English): 121 characters, at most 120"),
])
def test_open_cycle_refuses_bad_titles_and_writes_nothing(run, session, partners, argv, message):
    with pytest.raises(ValidationError, match=message.replace("(", r"\(").replace(")", r"\)")):
        run("open-cycle", "2027", "--due", DUE, *argv)
    assert session.exec(select(Cycle)).all() == []


@pytest.mark.parametrize(("argv", "message"), [
    (("--title", "en"), "argument --title: expected 2 arguments"),
    (("--due", "31/12/2027"), "argument --due: '31/12/2027' is not a date; write it as YYYY-MM-DD"),
    (("--due", DUE, "--language", "fr"), "argument --language: invalid choice: 'fr'"),
    (("--due", DUE, "--criticality", "extreme"), "argument --criticality: invalid choice: 'extreme'"),
    ((), "the following arguments are required: --due"),
])
def test_open_cycle_refuses_malformed_arguments_with_exit_2(run, partners, capsys, argv, message):
    with pytest.raises(SystemExit) as done:
        run("open-cycle", "2027", *argv)
    assert done.value.code == 2
    assert message in capsys.readouterr().err


@pytest.mark.parametrize(("argv", "message"), [
    (("--due", "2001-01-01"), "due date: 2001-01-01 is in the past"),
    (("--due", DUE, "--entity-type", "Pirate"), "--entity-type: unknown 'Pirate'; choose from: Importer, "),
    (("--due", DUE, "--country", "XX"), "country: unknown country code 'XX'"),
    (("--due", DUE, "--country", "JP"), "No active partner matches"),
])
def test_open_cycle_refuses_invalid_input_and_writes_nothing(run, session, partners, argv, message):
    with pytest.raises(ValidationError, match=message.replace("(", r"\(")):
        run("open-cycle", "2027", *argv)
    assert session.exec(select(Cycle)).all() == []


def test_open_cycle_refuses_a_second_cycle_with_the_same_name(run, partners):
    assert run("open-cycle", "2027", "--due", DUE)[0] == 0
    with pytest.raises(ValidationError, match="a cycle called '2027' already exists"):
        run("open-cycle", "2027", "--due", DUE)


def test_export_writes_one_file_per_partner_and_never_overwrites(run, partners, tmp_path):
    run("open-cycle", "2027 annual review", "--due", DUE)
    out_dir = tmp_path / "out" / "2027"
    code, out, err = run("export-questionnaires", "--cycle", "2027 annual review", "--out", str(out_dir))
    assert (code, err) == (0, "")
    assert out == (f"Wrote 3 workbooks, one per partner of cycle '2027 annual review' to {out_dir}; "
                   "1 exempt partner(s) left out.\n")
    assert sorted(p.name for p in out_dir.iterdir()) == ["CN1.xlsx", "MX1.xlsx", "US_1.xlsx"]
    book = load_workbook(out_dir / "US_1.xlsx")
    assert {row[0] for row in book[ANSWERS_SHEET].iter_rows(min_row=2, values_only=True)} == {"US/1"}

    before = {p.name: p.stat().st_mtime_ns for p in out_dir.iterdir()}
    (out_dir / "MX1.xlsx").write_bytes(b"partner's copy")
    with pytest.raises(ValidationError, match=r"3 of the files already exist in .* \(e.g. CN1.xlsx\); nothing was "
                                              "written"):
        run("export-questionnaires", "--cycle", "2027 annual review", "--out", str(out_dir))
    assert (out_dir / "MX1.xlsx").read_bytes() == b"partner's copy"
    assert {p.name: p.stat().st_mtime_ns for p in out_dir.iterdir() if p.name != "MX1.xlsx"} == {
        k: v for k, v in before.items() if k != "MX1.xlsx"}
    assert run("export-questionnaires", "--cycle", "2027 annual review", "--out", str(out_dir), "--force")[0] == 0
    assert (out_dir / "MX1.xlsx").read_bytes().startswith(b"PK")


def test_export_single_file_and_refusals(run, partners, tmp_path):
    run("open-cycle", "2027 annual review", "--due", DUE)
    code, out, _ = run("export-questionnaires", "--cycle", "2027 annual review", "--out", str(tmp_path),
                       "--single-file")
    assert code == 0 and "Wrote 1 workbook with every partner" in out
    book = load_workbook(tmp_path / "2027_annual_review.xlsx")
    assert {row[0] for row in book[ANSWERS_SHEET].iter_rows(min_row=2, values_only=True)} == {"MX1", "CN1", "US/1"}

    with pytest.raises(ValidationError, match="No cycle named 'nope'"):
        run("export-questionnaires", "--cycle", "nope", "--out", str(tmp_path / "x"))
    assert not (tmp_path / "x").exists()
    (tmp_path / "file").write_text("")
    with pytest.raises(ValidationError, match="is a file, not a folder"):
        run("export-questionnaires", "--cycle", "2027 annual review", "--out", str(tmp_path / "file"))


def test_commands_through_manage_py_in_a_real_process(partners, database_url, tmp_path):
    env = {**os.environ, "CTPAT_DATABASE_URL": database_url, "CTPAT_DATA_DIR": str(tmp_path / "data")}

    def manage_py(*argv: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "manage.py", *argv], cwd=ROOT, env=env, capture_output=True, text=True,
                              timeout=300)

    done = manage_py("open-cycle", "2027 annual review", "--due", DUE, "--country", "MX")
    assert done.returncode == 0, done.stderr
    assert "for 2 partners: 1 not sent, 1 exempt." in done.stdout
    done = manage_py("export-questionnaires", "--cycle", "2027 annual review", "--out", str(tmp_path / "files"))
    assert done.returncode == 0, done.stderr
    assert [p.name for p in (tmp_path / "files").iterdir()] == ["MX1.xlsx"]
    for argv, message in ((("export-questionnaires", "--cycle", "nope", "--out", str(tmp_path)),
                           "error: No cycle named 'nope'."),
                          (("open-cycle", "x", "--due", "tomorrow"), "is not a date; write it as YYYY-MM-DD"),
                          (("open-cycle", "x", "--due", DUE, "--language", "de"), "invalid choice: 'de'")):
        done = manage_py(*argv)
        assert done.returncode == 2 and message in done.stderr, done.stderr
