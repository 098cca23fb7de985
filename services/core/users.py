"""Staff accounts: bcrypt hashes in the database, roles, lockout after failed logins, the first admin."""

import os
import secrets
from datetime import timedelta

import bcrypt
import pandas as pd
from sqlmodel import Session, func, select

from models import User
from models.common import Role, utcnow
from services.core import audit
from services.core.permissions import Actor, ValidationError, require_admin

MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_BYTES = 72  # bcrypt ignores (bcrypt 5 refuses) anything longer
MAX_FAILED_LOGINS = 5
LOCKOUT = timedelta(minutes=15)


def password_problem(password: str) -> str | None:
    """Why a password is not acceptable, or None."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"Password must have at least {MIN_PASSWORD_LENGTH} characters."
    if len(password.encode("utf-8")) > MAX_PASSWORD_BYTES:
        return f"Password must be at most {MAX_PASSWORD_BYTES} bytes (bcrypt's limit); use fewer or plainer characters."
    return None


def hash_password(password: str) -> str:
    problem = password_problem(password)
    if problem:
        raise ValidationError(problem)
    return bcrypt.hashpw(password.encode("utf-8"), bcrypt.gensalt()).decode()


def verify_password(password: str, password_hash: str) -> bool:
    if len(password.encode("utf-8")) > MAX_PASSWORD_BYTES:
        return False
    return bcrypt.checkpw(password.encode("utf-8"), password_hash.encode())


def _clean_username(username: str) -> str:
    name = (username or "").strip().lower()  # streamlit-authenticator lower-cases what users type
    if not name or not name.replace("_", "").replace(".", "").replace("-", "").isalnum() or len(name) > 64:
        raise ValidationError("Username: letters, digits, '.', '-' and '_' only, at most 64 characters.")
    return name


def _snapshot(user: User) -> dict:
    return {"username": user.username, "name": user.name, "email": user.email, "role": user.role,
            "is_active": user.is_active}


def get_user(*, session: Session, username: str) -> User | None:
    return session.exec(select(User).where(User.username == (username or "").strip().lower())).first()


def create_user(
    *,
    session: Session,
    actor: Actor,
    username: str,
    name: str,
    role: str,
    password: str,
    email: str = "",
    must_change_password: bool = True,
) -> User:
    """Add a staff account (admins only)."""
    require_admin(actor)
    username = _clean_username(username)
    if role not in set(Role):
        raise ValidationError(f"Role must be one of {', '.join(Role)}.")
    if get_user(session=session, username=username):
        raise ValidationError(f"Username '{username}' is already taken.")
    user = User(username=username, name=name.strip() or username, email=email.strip(), role=role,
                password_hash=hash_password(password), must_change_password=must_change_password)
    session.add(user)
    session.flush()
    audit.record(session=session, actor=actor, action="create", entity="user", entity_id=username,
                 summary=f"Created user {username} ({role})", after=_snapshot(user))
    return user


def update_user(
    *, session: Session, actor: Actor, username: str, role: str | None = None, is_active: bool | None = None,
    name: str | None = None, email: str | None = None,
) -> User:
    """Change a user's role, name, email or active flag (admins only; never lock out the last admin)."""
    require_admin(actor)
    user = get_user(session=session, username=username)
    if user is None:
        raise ValidationError(f"No user '{username}'.")
    before = _snapshot(user)
    if role is not None:
        if role not in set(Role):
            raise ValidationError(f"Role must be one of {', '.join(Role)}.")
        user.role = role
    if is_active is not None:
        user.is_active = is_active
    if name is not None:
        user.name = name.strip() or user.name
    if email is not None:
        user.email = email.strip()
    if before["role"] == Role.admin and (user.role != Role.admin or not user.is_active):
        others = session.exec(
            select(func.count()).select_from(User).where(User.role == Role.admin, User.is_active, User.id != user.id)
        ).one()
        if others == 0:
            raise ValidationError("The last active admin cannot be demoted or deactivated.")
    session.add(user)
    audit.record(session=session, actor=actor, action="update", entity="user", entity_id=user.username,
                 summary=f"Changed user {user.username}", before=before, after=_snapshot(user))
    return user


def reset_password(*, session: Session, actor: Actor, username: str, new_password: str | None = None) -> str:
    """Set a temporary password (generated when none is given) that must be changed at next login."""
    require_admin(actor)
    user = get_user(session=session, username=username)
    if user is None:
        raise ValidationError(f"No user '{username}'.")
    password = new_password or secrets.token_urlsafe(12)
    user.password_hash = hash_password(password)
    user.must_change_password = True
    user.failed_login_attempts = 0
    user.locked_until = None
    session.add(user)
    audit.record(session=session, actor=actor, action="reset password", entity="user", entity_id=user.username,
                 summary=f"Reset the password of {user.username}")
    return password


def change_own_password(*, session: Session, username: str, current_password: str, new_password: str) -> None:
    """The logged-in user replaces their password (also used for the forced change at first login)."""
    user = get_user(session=session, username=username)
    if user is None or not verify_password(current_password, user.password_hash):
        raise ValidationError("The current password is wrong.")
    if current_password == new_password:
        raise ValidationError("The new password must differ from the current one.")
    user.password_hash = hash_password(new_password)
    user.must_change_password = False
    session.add(user)
    audit.record(session=session, actor=Actor(user.username, user.role), action="change password",
                 entity="user", entity_id=user.username, summary=f"{user.username} changed their password")


def credentials(*, session: Session) -> dict:
    """The credentials dict that streamlit-authenticator expects, built from active users.

    A locked account is given the maximum failed-attempt count, so the library refuses it before checking the
    password; other accounts start at zero and the library's in-place count is written back by the caller.
    """
    now = utcnow()
    users = {}
    for user in session.exec(select(User).where(User.is_active)):
        locked = user.locked_until is not None and user.locked_until > now
        users[user.username] = {
            "email": user.email,
            "first_name": user.name,
            "last_name": "",
            "password": user.password_hash,
            "roles": [user.role],
            "failed_login_attempts": MAX_FAILED_LOGINS if locked else 0,
        }
    return {"usernames": users}


def record_failed_login(*, session: Session, username: str) -> User | None:
    """Count a wrong password; lock the account for a while after too many."""
    user = get_user(session=session, username=username)
    if user is None:
        return None
    now = utcnow()
    if user.locked_until is not None and user.locked_until <= now:
        user.failed_login_attempts = 0
        user.locked_until = None
    user.failed_login_attempts += 1
    if user.failed_login_attempts >= MAX_FAILED_LOGINS:
        user.locked_until = now + LOCKOUT
        audit.record(session=session, actor=Actor(user.username, user.role), action="lock", entity="user",
                     entity_id=user.username,
                     summary=f"Locked {user.username} for {LOCKOUT.seconds // 60} minutes after "
                             f"{user.failed_login_attempts} failed logins")
    session.add(user)
    return user


def record_login(*, session: Session, username: str) -> None:
    user = get_user(session=session, username=username)
    if user is None:
        return
    user.failed_login_attempts = 0
    user.locked_until = None
    user.last_login_at = utcnow()
    session.add(user)
    audit.record(session=session, actor=Actor(user.username, user.role), action="login", entity="user",
                 entity_id=user.username, summary=f"{user.username} logged in")


def ensure_first_admin(*, session: Session) -> str | None:
    """Create the user 'admin' on an empty user table; returns the generated password when one was made.

    The password comes from CTPAT_ADMIN_PASSWORD when set; otherwise a random one is generated, which the caller
    prints once to the server console, and which must be changed at the first login.
    """
    if session.exec(select(func.count()).select_from(User)).one():
        return None
    given = os.environ.get("CTPAT_ADMIN_PASSWORD")
    password = given or secrets.token_urlsafe(15)
    user = User(username="admin", name="Administrator", role=Role.admin, password_hash=hash_password(password),
                must_change_password=not given)
    session.add(user)
    audit.record(session=session, actor=Actor("system", Role.admin), action="create", entity="user",
                 entity_id="admin", summary="Created the first admin account")
    return None if given else password


def list_users(*, session: Session) -> pd.DataFrame:
    rows = session.exec(select(User).order_by(User.username)).all()
    return pd.DataFrame(
        [{"username": u.username, "name": u.name, "email": u.email, "role": u.role, "active": u.is_active,
          "locked_until": u.locked_until, "last_login": u.last_login_at,
          "must_change_password": u.must_change_password} for u in rows],
        columns=["username", "name", "email", "role", "active", "locked_until", "last_login",
                 "must_change_password"],
    )
