"""import-lanes, import-threats and screen-partners: called directly, and through manage.py once cli/ is merged."""

import argparse
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlmodel import func, select

from cli.base import COMMANDS, Context
from cli.risk_map import cmd_import_lanes, cmd_import_threats, cmd_screen_partners
from models import Lane, RestrictedList, ScreeningMatch, ThreatRating, ThreatSource
from services.core.permissions import ValidationError
from tests.risk_support import book, partner
from tests.test_screening import LIST

ROOT = Path(__file__).resolve().parent.parent
LANES = (b"lane_code,lane_name,mode,role,partner_code,place,mode_to_next,custody\n"
         b"MX-01,Monterrey to Laredo,truck,origin,MX-F1,,truck,direct\n"
         b"MX-01,,,port of entry,,USLRD,truck,direct\n"
         b"MX-01,,,distribution center,,USLGB,,own\n")


def namespace(**values) -> argparse.Namespace:
    """The arguments as argparse gives them, defaults included."""
    parser = argparse.ArgumentParser()
    name = values.pop("_command")
    for names, options in COMMANDS[name].arguments:
        parser.add_argument(*names, **options)
    args = parser.parse_args([str(values.pop("file"))])
    for key, value in values.items():
        setattr(args, key, value)
    return args


@pytest.fixture
def ctx(engine, database_url) -> Context:
    return Context(engine=engine, url=database_url, startup=None)


def test_commands_are_registered():
    assert {"import-lanes", "import-threats", "screen-partners"} <= set(COMMANDS)


def test_import_lanes_dry_run_errors_and_import(ctx, session, staff, tmp_path, capsys):
    book(session)
    path = tmp_path / "lanes.csv"
    path.write_bytes(LANES.replace(b"MX-F1", b"NOPE"))
    problems = tmp_path / "problems.csv"
    assert cmd_import_lanes(namespace(_command="import-lanes", file=path, problems_csv=problems), ctx) == 2
    out, err = capsys.readouterr()
    assert "error: lanes.csv, row 2, column partner_code [NOPE]: No partner with code NOPE" in out
    assert "nothing was imported" in err and b"NOPE" in problems.read_bytes()
    path.write_bytes(LANES)
    assert cmd_import_lanes(namespace(_command="import-lanes", file=path, dry_run=True), ctx) == 0
    assert "Dry run" in capsys.readouterr().out
    assert session.exec(select(func.count()).select_from(Lane)).one() == 0
    assert cmd_import_lanes(namespace(_command="import-lanes", file=path), ctx) == 0
    assert "Imported: 1 new" in capsys.readouterr().out
    assert session.exec(select(Lane.code)).all() == ["MX-01"]
    with pytest.raises(ValidationError):
        cmd_import_lanes(namespace(_command="import-lanes", file=tmp_path / "missing.csv"), ctx)


def test_import_threats_index_and_register(ctx, session, staff, tmp_path, capsys):
    index = tmp_path / "cpi.csv"
    index.write_bytes(b"iso3,score\nMEX,31\nCAN,75\nCHN,43\n")
    with pytest.raises(ValidationError):  # an index needs the categories it feeds
        cmd_import_threats(namespace(_command="import-threats", file=index), ctx)
    with pytest.raises(ValidationError):
        cmd_import_threats(namespace(_command="import-threats", file=index, category=["conditions"], high=35.0), ctx)
    args = namespace(_command="import-threats", file=index, category=["conditions"], high=35.0, medium=50.0,
                     lower_is_worse=True, name="CPI 2025", licence="own licence")
    assert cmd_import_threats(args, ctx) == 0
    assert "Levels: 1 High, 1 Medium, 1 Low" in capsys.readouterr().out
    assert session.exec(select(ThreatSource.name).where(ThreatSource.kind == "index")).all() == ["CPI 2025"]
    text = tmp_path / "watch.csv"
    text.write_bytes(b"country,value\nMX,watch\nCN,severe\n")
    with pytest.raises(ValidationError):
        cmd_import_threats(namespace(_command="import-threats", file=text, category=["organized crime"],
                                     map=["watch=Medium"]), ctx)
    assert cmd_import_threats(namespace(_command="import-threats", file=text, category=["organized crime"],
                                        map=["watch=Medium", "severe=High"], dry_run=True), ctx) == 0
    bad = tmp_path / "register.csv"
    bad.write_bytes(b"country,category,level\nMX,organized crime,Extreme\n")
    assert cmd_import_threats(namespace(_command="import-threats", file=bad), ctx) == 2
    assert session.exec(select(func.count()).select_from(ThreatRating)).one() == 0
    bad.write_bytes(b"country,category,level\nMX,organized crime,High\n")
    assert cmd_import_threats(namespace(_command="import-threats", file=bad), ctx) == 0
    assert session.exec(select(ThreatRating.basis)).all() == ["file import"]


def test_screen_partners(ctx, session, staff, tmp_path, capsys):
    partner(session, "CN-9", "Hongyuan Textile Co., Ltd.")
    session.commit()
    path = tmp_path / "uflpa.csv"
    path.write_bytes(LIST)
    assert cmd_screen_partners(namespace(_command="screen-partners", file=path, dry_run=True), ctx) == 0
    assert "3 entries; 1 partner match(es)" in capsys.readouterr().out
    assert session.exec(select(func.count()).select_from(RestrictedList)).one() == 0
    assert cmd_screen_partners(namespace(_command="screen-partners", file=path), ctx) == 0
    assert "1 match(es) wait" in capsys.readouterr().out
    assert session.exec(select(ScreeningMatch.status)).all() == ["open"]
    path.write_bytes(b"company,aliases\n,x\n")
    assert cmd_screen_partners(namespace(_command="screen-partners", file=path), ctx) == 2


def test_through_manage_py(tmp_path):
    """The real command line, once the cli/ package with its auto-import is merged into manage.py."""
    listed = subprocess.run([sys.executable, "manage.py", "--help"], cwd=ROOT, capture_output=True, text=True,
                            env={**os.environ, "CTPAT_DATABASE_URL": f"sqlite:///{tmp_path / 'help.db'}"})
    if "import-lanes" not in listed.stdout:
        pytest.skip("manage.py does not load cli/ yet (the cli package is merged separately)")
    env = {**os.environ, "CTPAT_DATABASE_URL": f"sqlite:///{tmp_path / 'ctpat.db'}", "CTPAT_ADMIN_PASSWORD":
           "correct horse battery staple"}
    bad = tmp_path / "lanes.csv"
    bad.write_bytes(LANES.replace(b"truck,origin", b"truck,nonsense"))
    run = subprocess.run([sys.executable, "manage.py", "import-lanes", str(bad)], cwd=ROOT, capture_output=True,
                         text=True, env=env)
    assert run.returncode == 2 and "nothing was imported" in run.stderr
    good = tmp_path / "list.csv"
    good.write_bytes(LIST)
    run = subprocess.run([sys.executable, "manage.py", "screen-partners", str(good), "--dry-run"], cwd=ROOT,
                         capture_output=True, text=True, env=env)
    assert run.returncode == 0 and "3 entries" in run.stdout
