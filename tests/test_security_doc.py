"""docs/SECURITY.md cites only tests that exist, and the controls it proves here hold (pins, error details, logs)."""

import ast
import logging
import re
import tomllib
from pathlib import Path

from sqlmodel import select

from models import AuditEvent
from services.collection import links
from services.core import users
from tests.conftest import ADMIN
from tests.test_links import add_partner, open_cycle

ROOT = Path(__file__).resolve().parent.parent
CITED = re.compile(r"`(tests/[\w/]+\.py)::(\w+)`")


def _test_names(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return {node.name for node in ast.walk(tree)
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name.startswith("test_")}


def test_every_cited_test_exists():
    cited = CITED.findall((ROOT / "docs" / "SECURITY.md").read_text(encoding="utf-8"))
    assert len(cited) > 40, "SECURITY.md cites its proofs as `tests/<file>.py::<test name>`"
    missing = [f"{file}::{name}" for file, name in cited
               if not (ROOT / file).is_file() or name not in _test_names(ROOT / file)]
    assert not missing, f"docs/SECURITY.md cites tests that do not exist: {missing}"


def test_every_dependency_is_pinned_exactly():
    loose = []
    for name in ("requirements.txt", "requirements-test.txt"):
        for line in (ROOT / name).read_text(encoding="utf-8").splitlines():
            line = line.split("#", 1)[0].strip()
            if not line or line.startswith("-r "):
                continue
            if not re.fullmatch(r"[A-Za-z0-9_.\-]+(\[[\w,\-]+\])?==[\w.\-+]+", line):
                loose.append(f"{name}: {line}")
    assert not loose, f"pin these to one exact version (==): {loose}"


def test_error_details_are_hidden_from_users():
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text(encoding="utf-8"))
    assert config["client"]["showErrorDetails"] == "none"
    assert config["client"]["toolbarMode"] == "viewer"


def test_the_app_logs_no_secret(session, staff, caplog):
    """A password set, a wrong and a right login, a reset and a link issued: no password or token in any log
    record (at every level) nor in the audit log."""
    password = "Tr0ub4dor&3-horse-battery"
    with caplog.at_level(logging.DEBUG):
        users.create_user(session=session, actor=ADMIN, username="ines", name="Ines", role="analyst",
                          password=password)
        session.commit()
        users.check_login(session=session, username="ines", password=password + "x")
        users.check_login(session=session, username="ines", password=password)
        generated = users.reset_password(session=session, actor=ADMIN, username="ines")
        session.commit()
    secrets = [password, password + "x", generated]
    logged = caplog.text + "".join(repr(r.args) for r in caplog.records)
    audited = " ".join(repr((e.summary, e.before, e.after)) for e in session.exec(select(AuditEvent)))
    for secret in secrets:
        assert secret not in logged and secret not in audited
    assert "ines" in audited  # the events are there, only the secrets are not

    add_partner(session, "SEC-1")
    _, [assignment] = open_cycle(session)
    session.commit()
    assignment_id = assignment.id
    with caplog.at_level(logging.DEBUG):
        token = links.issue_link(session=session, actor=ADMIN, assignment_id=assignment_id)
        session.commit()
        assert links.resolve_token(session=session, token=token) is not None
    logged = caplog.text + "".join(repr(r.args) for r in caplog.records)
    audited = " ".join(repr((e.summary, e.before, e.after)) for e in session.exec(select(AuditEvent)))
    assert token not in logged and token not in audited
