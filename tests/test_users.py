"""Staff accounts: password rules, roles, last-admin guard, lockout, the first admin, audit."""

from datetime import timedelta

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


def test_credentials_leave_out_inactive_users_and_mark_locked_ones(session, staff):
    add_user(session, "gone", "analyst", is_active=False)
    add_user(session, "locked", "viewer", failed_login_attempts=5, locked_until=utcnow() + timedelta(minutes=5))
    add_user(session, "was.locked", "viewer", failed_login_attempts=5, locked_until=utcnow() - timedelta(minutes=1))

    creds = users.credentials(session=session)["usernames"]
    assert set(creds) == {"admin", "luis", "vp", "locked", "was.locked"}
    assert creds["locked"]["failed_login_attempts"] == users.MAX_FAILED_LOGINS
    assert creds["was.locked"]["failed_login_attempts"] == 0
    assert creds["luis"]["roles"] == ["analyst"]
    assert creds["luis"]["password"].startswith("$2")
    assert users.verify_password("correct horse battery", creds["luis"]["password"])


def test_failed_logins_lock_the_account_until_the_lock_expires(session, staff):
    for attempt in range(1, users.MAX_FAILED_LOGINS):
        user = users.record_failed_login(session=session, username="LUIS")
        session.commit()
        assert (user.failed_login_attempts, user.locked_until) == (attempt, None)
    assert not _events(session, action="lock")

    before = utcnow()
    user = users.record_failed_login(session=session, username="luis")
    session.commit()
    assert user.failed_login_attempts == users.MAX_FAILED_LOGINS
    assert before + users.LOCKOUT <= user.locked_until <= utcnow() + users.LOCKOUT
    assert users.credentials(session=session)["usernames"]["luis"]["failed_login_attempts"] == users.MAX_FAILED_LOGINS
    [event] = _events(session, action="lock")
    assert (event["user"], event["id"]) == ("luis", "luis")
    assert "15 minutes after 5 failed logins" in event["summary"]

    # The lock runs out: the account may log in again and the count starts over.
    user.locked_until = utcnow() - timedelta(seconds=1)
    session.add(user)
    session.commit()
    assert users.credentials(session=session)["usernames"]["luis"]["failed_login_attempts"] == 0
    user = users.record_failed_login(session=session, username="luis")
    session.commit()
    assert (user.failed_login_attempts, user.locked_until) == (1, None)

    assert users.record_failed_login(session=session, username="nobody") is None


def test_login_resets_failed_attempts_and_is_audited(session, staff):
    for _ in range(3):
        users.record_failed_login(session=session, username="vp")
    session.commit()
    users.record_login(session=session, username="vp")
    session.commit()
    vp = users.get_user(session=session, username="vp")
    assert (vp.failed_login_attempts, vp.locked_until) == (0, None)
    assert vp.last_login_at is not None and abs(utcnow() - vp.last_login_at) < timedelta(minutes=1)
    [event] = _events(session, action="login")
    assert (event["user"], event["id"]) == ("vp", "vp")
    users.record_login(session=session, username="nobody")  # unknown names are ignored
    session.commit()
    assert len(_events(session, action="login")) == 1


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


def test_first_admin_takes_the_password_from_the_environment(session, monkeypatch):
    monkeypatch.setenv("CTPAT_ADMIN_PASSWORD", "chosen by IT, 2027!")
    assert users.ensure_first_admin(session=session) is None  # nothing to print: IT knows it
    session.commit()
    admin = users.get_user(session=session, username="admin")
    assert users.verify_password("chosen by IT, 2027!", admin.password_hash)
    assert not admin.must_change_password


def test_first_admin_refuses_a_weak_password_from_the_environment(session, monkeypatch):
    monkeypatch.setenv("CTPAT_ADMIN_PASSWORD", "admin")
    with pytest.raises(ValidationError, match="at least 12 characters"):
        users.ensure_first_admin(session=session)
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
