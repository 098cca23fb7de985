"""manage.py actions generate [--dry-run] and actions due, in-process on a fresh SQLite database."""

import json
from datetime import date, timedelta

from sqlmodel import func, select

from models import AuditEvent
from models.actions import ActionItem
from models.collection import AnswerValue
from services.actions import items
from tests.action_support import accepted, add_partner
from tests.conftest import ANALYST
from tests.test_cli import cli, database, initialised, opened  # noqa: F401  (fixtures)


def _count() -> int:
    with opened() as session:
        return session.exec(select(func.count()).select_from(ActionItem)).one()


def test_generate_previews_then_writes_once(cli, database, tmp_path, monkeypatch):  # noqa: F811
    monkeypatch.setenv("CTPAT_DATA_DIR", str(tmp_path / "data"))
    with opened() as session:
        factory = add_partner(session, "CN-F1")
        accepted(session, factory, {"6.1": AnswerValue.no, "7.23": AnswerValue.partial})
        session.commit()

    code, out, _ = cli("actions", "generate", "--dry-run")
    assert code == 0 and out.startswith("Dry run: ") and "would create" in out
    assert "  1  gap:" in out and "Dry run: nothing was written." in out
    assert _count() == 0

    code, _, err = cli("actions", "generate", "--owner", "nobody")
    assert code == 2 and "no active staff user 'nobody'" in err and _count() == 0
    code, _, err = cli("actions", "generate", "--today", "soon")
    assert code == 2 and "'soon' is not a date" in err

    code, out, _ = cli("actions", "generate", "--owner", "admin", "--json")
    assert code == 0
    result = json.loads(out)
    assert result["created"]["gap"] == 2 and not result["dry_run"]
    made = _count()
    code, out, _ = cli("actions", "generate")
    assert code == 0 and out.startswith("0 new action item(s) created") and _count() == made
    with opened() as session:
        owners = set(items.list_items(session=session, today=date.today())["owner"])
        assert owners == {"admin"}
        assert session.exec(select(AuditEvent.username).where(AuditEvent.action == "generate")).all() == ["cli"]


def test_due_lists_overdue_first(cli, database):  # noqa: F811
    with opened() as session:
        for days, title in ((3, "soon"), (-2, "late"), (40, "later")):
            items.add_item(session=session, actor=ANALYST, values={"title": title, "owner": "admin",
                                                                    "due_date": date.today() + timedelta(days=days)})
        session.commit()
    code, out, _ = cli("actions", "due", "--within", "7")
    assert code == 0 and out.startswith("2 action item(s) overdue or due within 7 days (1 overdue).")
    lines = out.splitlines()
    assert "overdue 2 d" in lines[1] and "late" in lines[1] and "soon" in lines[2]
    code, out, _ = cli("actions", "due", "--json")
    assert code == 0 and [r["title"] for r in json.loads(out)] == ["late", "soon"]
