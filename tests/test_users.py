"""Staff accounts: password rules, roles, last-admin guard, lockout, sessions, the first admin, audit."""

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import bcrypt
import pytest
from sqlmodel import Session, func, select

from models import AuditEvent, User
from models.common import utcnow
from services.core import audit, db, users
from services.core.permissions import PermissionDenied, ValidationError
from tests.conftest import ADMIN, ANALYST, VIEWER, add_user

GOOD = "correct horse battery staple"


def _events(session: Session, **filters) -> list[dict]:
    return audit.list_events(session=session, **filters).to_dict("records")


def test_password_length_rules_have_clear_messages():
    assert users.password_problem("x" * 11) == "Password must have at least 12 characters."
    assert users.password_problem("x" * 12) is None
    assert users.password_problem("x" * 72) is None
    assert "at most 72 bytes" in users.password_problem("x" * 73)
    with pytest.raises(ValidationError, match="at least 12 characters"):
        users.hash_password("too short")


def test_password_limit_counts_bytes_not_characters():
    # 24 Chinese characters are 72 bytes in UTF-8: allowed; 25 are 75 bytes: refused although only 25 characters.
    assert users.password_problem("密" * 24) is None
    assert "at most 72 bytes" in users.password_problem("密" * 25)
    assert "at most 72 bytes" in users.password_problem("contraseña-" * 6 + "ñ")  # 67 characters, 74 bytes
    hashed = users.hash_password("密" * 24)
    assert users.verify_password("密" * 24, hashed)
    assert not users.verify_password("密" * 23 + "码", hashed)
    assert not users.verify_password("密" * 25, hashed)  # longer than bcrypt can check: refused, not truncated


def test_admin_creates_user_with_normalised_name_and_audit(session, staff):
    user = users.create_user(session=session, actor=ADMIN, username="  Dana.M ", name=" Dana Miller ", role="admin",
                             password=GOOD, email=" dana@importer.example ")
    session.commit()
    stored = users.get_user(session=session, username="DANA.M")
    assert stored.id == user.id
    assert (stored.username, stored.name, stored.email, stored.role) == ("dana.m", "Dana Miller",
                                                                         "dana@importer.example", "admin")
    assert stored.must_change_password and stored.is_active
    assert users.verify_password(GOOD, stored.password_hash)
    assert GOOD not in stored.password_hash
    [event] = _events(session, entity="user", action="create")
    assert (event["user"], event["id"]) == ("admin", "dana.m")
    assert event["after"]["role"] == "admin" and "password_hash" not in event["after"]


@pytest.mark.parametrize("actor", [ANALYST, VIEWER], ids=["analyst", "viewer"])
def test_only_admins_create_users(session, staff, actor):
    with pytest.raises(PermissionDenied, match="needs admin"):
        users.create_user(session=session, actor=actor, username="eve", name="Eve", role="viewer", password=GOOD)
    assert users.get_user(session=session, username="eve") is None


@pytest.mark.parametrize(
    ("username", "role", "password", "message"),
    [
        ("LUIS", "viewer", GOOD, "Username 'luis' is already taken."),
        ("two words", "viewer", GOOD, "Username: letters, digits"),
        ("", "viewer", GOOD, "Username: letters, digits"),
        ("x" * 65, "viewer", GOOD, "at most 64 characters"),
        ("newbie", "superuser", GOOD, "Role must be one of admin, analyst, viewer."),
        ("newbie", "viewer", "short", "at least 12 characters"),
    ],
)
def test_create_user_rejects_bad_input(session, staff, username, role, password, message):
    with pytest.raises(ValidationError, match=message.replace(".", r"\.")):
        users.create_user(session=session, actor=ADMIN, username=username, name="", role=role, password=password)


def test_change_role_records_only_what_changed(session, staff):
    users.update_user(session=session, actor=ADMIN, username="luis", role="viewer", name="Luis")
    session.commit()
    assert users.get_user(session=session, username="luis").role == "viewer"
    [event] = _events(session, entity="user", action="update")
    assert (event["user"], event["id"]) == ("admin", "luis")
    assert event["before"] == {"role": "analyst"} and event["after"] == {"role": "viewer"}
    with pytest.raises(PermissionDenied):
        users.update_user(session=session, actor=ANALYST, username="vp", role="analyst")
    with pytest.raises(ValidationError, match="No user 'ghost'"):
        users.update_user(session=session, actor=ADMIN, username="ghost", role="viewer")
    with pytest.raises(ValidationError, match="Role must be one of"):
        users.update_user(session=session, actor=ADMIN, username="vp", role="owner")


@pytest.mark.parametrize("change", [{"role": "analyst"}, {"is_active": False}], ids=["demote", "deactivate"])
def test_last_active_admin_cannot_be_demoted_or_deactivated(engine, staff, change):
    with pytest.raises(ValidationError, match="last active admin"), db.session_scope(engine) as session:
        users.update_user(session=session, actor=ADMIN, username="admin", **change)
    with Session(engine) as session:
        admin = users.get_user(session=session, username="admin")
        assert admin.role == "admin" and admin.is_active  # rolled back, nothing half-written
        assert not _events(session, entity="user", action="update")

    # An inactive second admin does not count; an active one does.
    with db.session_scope(engine) as session:
        add_user(session, "dana", "admin", is_active=False)
    with pytest.raises(ValidationError, match="last active admin"), db.session_scope(engine) as session:
        users.update_user(session=session, actor=ADMIN, username="admin", **change)
    with db.session_scope(engine) as session:
        users.update_user(session=session, actor=ADMIN, username="dana", is_active=True)
        users.update_user(session=session, actor=ADMIN, username="admin", **change)
    with Session(engine) as session:
        admin = users.get_user(session=session, username="admin")
        assert (admin.role, admin.is_active) == (change.get("role", "admin"), change.get("is_active", True))


def test_reset_password_forces_change_and_unlocks(session, staff):
    luis = users.get_user(session=session, username="luis")
    luis.failed_login_attempts = users.MAX_FAILED_LOGINS
    luis.locked_until = utcnow() + timedelta(minutes=10)
    session.add(luis)
    session.commit()

    temporary = users.reset_password(session=session, actor=ADMIN, username="Luis")
    session.commit()
    luis = users.get_user(session=session, username="luis")
    assert len(temporary) >= users.MIN_PASSWORD_LENGTH
    assert users.verify_password(temporary, luis.password_hash)
    assert luis.must_change_password
    assert (luis.failed_login_attempts, luis.locked_until) == (0, None)
    [event] = _events(session, action="reset password")
    assert (event["user"], event["id"]) == ("admin", "luis")
    assert temporary not in event["summary"]

    assert users.reset_password(session=session, actor=ADMIN, username="luis", new_password=GOOD) == GOOD
    assert users.verify_password(GOOD, users.get_user(session=session, username="luis").password_hash)
    with pytest.raises(ValidationError, match="at least 12"):
        users.reset_password(session=session, actor=ADMIN, username="luis", new_password="short")
    with pytest.raises(ValidationError, match="No user 'ghost'"):
        users.reset_password(session=session, actor=ADMIN, username="ghost")
    with pytest.raises(PermissionDenied):
        users.reset_password(session=session, actor=ANALYST, username="vp")


def test_change_own_password(session, staff):
    luis = users.get_user(session=session, username="luis")
    luis.must_change_password = True
    session.add(luis)
    session.commit()
    with pytest.raises(ValidationError, match="current password is wrong"):
        users.change_own_password(session=session, username="luis", current_password="wrong password!!",
                                  new_password=GOOD)
    with pytest.raises(ValidationError, match="must differ"):
        users.change_own_password(session=session, username="luis", current_password="correct horse battery",
                                  new_password="correct horse battery")
    with pytest.raises(ValidationError, match="at least 12"):
        users.change_own_password(session=session, username="luis", current_password="correct horse battery",
                                  new_password="short")
    with pytest.raises(ValidationError, match="current password is wrong"):
        users.change_own_password(session=session, username="ghost", current_password="x", new_password=GOOD)

    users.change_own_password(session=session, username="luis", current_password="correct horse battery",
                              new_password=GOOD)
    session.commit()
    luis = users.get_user(session=session, username="luis")
    assert users.verify_password(GOOD, luis.password_hash)
    assert not users.verify_password("correct horse battery", luis.password_hash)
    assert not luis.must_change_password
    [event] = _events(session, action="change password")
    assert (event["user"], event["id"]) == ("luis", "luis")


def test_credentials_list_active_users_without_password_hashes(session, staff):
    add_user(session, "gone", "analyst", is_active=False)
    creds = users.credentials(session=session)["usernames"]
    assert set(creds) == {"admin", "luis", "vp"}
    assert creds["luis"]["roles"] == ["analyst"]
    # The library never sees a hash: were its own password check ever used again, it would refuse everyone.
    assert all("password" not in entry for entry in creds.values())


def _checks(monkeypatch) -> list[str]:
    """Records every password that reaches bcrypt (the real check still runs)."""
    seen: list[str] = []
    real = users.verify_password

    def counted(password: str, password_hash: str) -> bool:
        seen.append(password)
        return real(password, password_hash)

    monkeypatch.setattr(users, "verify_password", counted)
    return seen


def test_wrong_passwords_lock_the_account_until_the_lock_expires(engine, staff, monkeypatch):
    checked = _checks(monkeypatch)
    with Session(engine) as session:
        for attempt in range(1, users.MAX_FAILED_LOGINS):
            result = users.check_login(session=session, username="LUIS", password="wrong password!")
            assert result.outcome == users.LoginOutcome.wrong
            luis = users.get_user(session=session, username="luis")
            session.refresh(luis)
            assert (luis.failed_login_attempts, luis.locked_until) == (attempt, None)
        assert not _events(session, action="lock")

        before = utcnow()
        assert users.check_login(session=session, username="luis", password="wrong again!").outcome == "locked"
        luis = users.get_user(session=session, username="luis")
        session.refresh(luis)
        assert luis.failed_login_attempts == users.MAX_FAILED_LOGINS
        assert before + users.LOCKOUT <= luis.locked_until <= utcnow() + users.LOCKOUT
        [event] = _events(session, action="lock")
        assert (event["user"], event["id"]) == ("luis", "luis")
        assert "15 minutes after 5 failed logins" in event["summary"]

        # Locked: even the right password is not checked.
        assert users.check_login(session=session, username="luis", password="correct horse battery").outcome == (
            "locked")
        assert len(checked) == users.MAX_FAILED_LOGINS

        # The lock runs out: the count starts over, and the right password gets in.
        luis.locked_until = utcnow() - timedelta(seconds=1)
        session.add(luis)
        session.commit()
        assert users.check_login(session=session, username="luis", password="wrong password!").outcome == "wrong"
        session.refresh(luis)
        assert (luis.failed_login_attempts, luis.locked_until) == (1, None)
        result = users.check_login(session=session, username="luis", password="correct horse battery")
        assert (result.outcome, result.session_version) == ("ok", 0)
        session.refresh(luis)
        assert (luis.failed_login_attempts, luis.locked_until) == (0, None)


def test_unknown_and_inactive_users(engine, staff, monkeypatch):
    checked = _checks(monkeypatch)
    with Session(engine) as session:
        add_user(session, "gone", "analyst", is_active=False)
        assert users.check_login(session=session, username="nobody", password="anything at all").outcome == "wrong"
        assert checked == []  # no user, no hash: but the same bcrypt work is done (see check_login)
        assert users.check_login(session=session, username="gone", password="wrong password!").outcome == "wrong"
        assert users.check_login(session=session, username="gone", password="correct horse battery").outcome == (
            "inactive")
        assert not _events(session, action="login")


def test_login_resets_failed_attempts_and_is_audited(engine, staff):
    with Session(engine) as session:
        for _ in range(3):
            users.check_login(session=session, username="vp", password="wrong password!")
        result = users.check_login(session=session, username="vp", password="correct horse battery")
        assert (result.outcome, result.username, result.session_version) == ("ok", "vp", 0)
        vp = users.get_user(session=session, username="vp")
        session.refresh(vp)
        assert (vp.failed_login_attempts, vp.locked_until) == (0, None)
        assert vp.last_login_at is not None and abs(utcnow() - vp.last_login_at) < timedelta(minutes=1)
        [event] = _events(session, action="login")
        assert (event["user"], event["id"]) == ("vp", "vp")


def test_ten_simultaneous_wrong_passwords_check_at_most_five(engine, monkeypatch):
    """Real threads against the real database (SQLite here, PostgreSQL with CTPAT_TEST_DATABASE_URL)."""
    with Session(engine) as session:
        add_user(session, "target", "viewer")
        target = users.get_user(session=session, username="target")
        # A real cost, so that every thread is inside its check while the others arrive (bcrypt frees the GIL).
        target.password_hash = bcrypt.hashpw(b"the right password", bcrypt.gensalt(rounds=10)).decode()
        session.add(target)
        session.commit()
    checked = _checks(monkeypatch)
    start = threading.Barrier(10)

    def attempt(i: int) -> str:
        with Session(engine) as session:
            start.wait()
            return users.check_login(session=session, username="target", password=f"guess number {i}").outcome

    with ThreadPoolExecutor(max_workers=10) as pool:
        outcomes = list(pool.map(attempt, range(10)))
    assert len(checked) == users.MAX_FAILED_LOGINS
    assert sorted(outcomes) == ["locked"] * 6 + ["wrong"] * 4  # 4 wrong, the 5th locks, 5 refused unchecked
    with Session(engine) as session:
        target = users.get_user(session=session, username="target")
        assert target.failed_login_attempts == users.MAX_FAILED_LOGINS and target.locked_until > utcnow()
        assert len(_events(session, action="lock")) == 1
        assert users.check_login(session=session, username="target", password="the right password").outcome == (
            "locked")
    assert len(checked) == users.MAX_FAILED_LOGINS


def _version(engine, username: str) -> int:
    with Session(engine) as session:
        return users.get_user(session=session, username=username).session_version


@pytest.mark.parametrize("end", ["log out", "change password", "reset", "deactivate"])
def test_logout_password_change_reset_and_deactivation_end_every_session(engine, staff, end):
    with Session(engine) as session:
        first = users.check_login(session=session, username="luis", password="correct horse battery")
        second = users.check_login(session=session, username="luis", password="correct horse battery")
        assert first.session_version == second.session_version == 0  # two browsers, one version
        assert users.session_problem(session=session, username="luis", session_version=0) is None
    with db.session_scope(engine) as session:
        if end == "log out":
            users.log_out(session=session, username="luis")
        elif end == "change password":
            users.change_own_password(session=session, username="luis", current_password="correct horse battery",
                                      new_password=GOOD)
        elif end == "reset":
            users.reset_password(session=session, actor=ADMIN, username="luis")
        else:
            users.update_user(session=session, actor=ADMIN, username="luis", is_active=False)
    assert _version(engine, "luis") == 1
    with Session(engine) as session:
        expected = "inactive" if end == "deactivate" else "ended"
        assert users.session_problem(session=session, username="luis", session_version=0) == expected
        # A new login after the end gets the new version, and works.
        if end in ("log out", "change password"):
            password = GOOD if end == "change password" else "correct horse battery"
            again = users.check_login(session=session, username="luis", password=password)
            assert again.session_version == 1
            assert users.session_problem(session=session, username="luis", session_version=1) is None
        # Nobody else's sessions end.
        assert users.session_problem(session=session, username="vp", session_version=0) is None
    if end == "log out":
        with Session(engine) as session:
            assert [e["user"] for e in _events(session, action="logout")] == ["luis"]


def test_ending_sessions_updates_a_loaded_user_and_keeps_its_pending_changes(session, staff):
    luis = users.get_user(session=session, username="luis")
    luis.name = "Luis García"
    assert users.end_sessions(session=session, username="luis") == 1
    assert luis.session_version == 1
    session.commit()
    session.expire_all()
    assert (luis.name, luis.session_version) == ("Luis García", 1)
    assert users.end_sessions(session=session, username="ghost") is None


def test_a_role_change_keeps_the_session(engine, staff):
    with db.session_scope(engine) as session:
        users.update_user(session=session, actor=ADMIN, username="luis", role="viewer")
    assert _version(engine, "luis") == 0  # the role is read from the database on every run anyway


def test_session_problem_for_unknown_users_and_missing_versions(session, staff):
    assert users.session_problem(session=session, username="ghost", session_version=0) == "ended"
    assert users.session_problem(session=session, username="luis", session_version=None) == "ended"


def test_first_start_hint_until_somebody_logs_in(engine):
    with db.session_scope(engine) as session:
        assert users.first_start_hint(session=session) is None  # no users at all
        users.ensure_first_admin(session=session)
    with Session(engine) as session:
        hint = users.first_start_hint(session=session)
        assert "one-time password" in hint and "console" in hint and "admin" in hint
        admin = users.get_user(session=session, username="admin")
        admin.must_change_password = False
        session.add(admin)
        session.commit()
        assert "CTPAT_ADMIN_PASSWORD" in users.first_start_hint(session=session)
        users.record_login(session=session, username="admin")
        session.commit()
        assert users.first_start_hint(session=session) is None


def test_first_admin_gets_a_generated_password_that_must_be_changed(session, monkeypatch):
    monkeypatch.delenv("CTPAT_ADMIN_PASSWORD", raising=False)
    password = users.ensure_first_admin(session=session)
    session.commit()
    admin = users.get_user(session=session, username="admin")
    assert password and len(password) >= users.MIN_PASSWORD_LENGTH
    assert users.verify_password(password, admin.password_hash)
    assert (admin.role, admin.is_active, admin.must_change_password) == ("admin", True, True)
    [event] = _events(session, entity="user", action="create")
    assert (event["user"], event["id"]) == ("system", "admin")

    assert users.ensure_first_admin(session=session) is None  # users exist: nothing happens
    session.commit()
    assert session.exec(select(func.count()).select_from(User)).one() == 1
    assert users.verify_password(password, users.get_user(session=session, username="admin").password_hash)
    assert session.exec(select(func.count()).select_from(AuditEvent)).one() == 1


def test_first_admin_takes_the_given_password(session):
    assert users.ensure_first_admin(session=session, given="chosen by IT, 2027!") is None  # IT knows it
    session.commit()
    admin = users.get_user(session=session, username="admin")
    assert users.verify_password("chosen by IT, 2027!", admin.password_hash)
    assert not admin.must_change_password


def test_first_admin_refuses_a_weak_given_password(session):
    with pytest.raises(ValidationError, match="at least 12 characters"):
        users.ensure_first_admin(session=session, given="admin")
    session.rollback()
    assert users.get_user(session=session, username="admin") is None


def test_first_admin_is_not_created_when_only_other_users_exist(session, staff, monkeypatch):
    monkeypatch.delenv("CTPAT_ADMIN_PASSWORD", raising=False)
    session.delete(users.get_user(session=session, username="admin"))
    session.commit()
    assert users.ensure_first_admin(session=session) is None
    assert users.get_user(session=session, username="admin") is None


def test_list_users(session, staff):
    frame = users.list_users(session=session)
    assert frame["username"].tolist() == ["admin", "luis", "vp"]
    assert frame.set_index("username").loc["vp", "role"] == "viewer"
    assert "password_hash" not in frame.columns
