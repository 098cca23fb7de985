"""Staff accounts: bcrypt hashes in the database, roles, lockout after failed logins, sessions, the first admin."""

import functools
import secrets
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum

import bcrypt
import pandas as pd
from sqlalchemy import and_, case, literal, or_, update
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
    if before["is_active"] and not user.is_active:
        end_sessions(session=session, username=user.username)
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
    end_sessions(session=session, username=user.username)
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
    # Every session ends, this one too: whoever held the old password or a copied cookie is out.
    end_sessions(session=session, username=user.username)


def credentials(*, session: Session) -> dict:
    """The credentials dict that streamlit-authenticator expects: the active users, without password hashes.

    The passwords are checked by ``check_login`` (the library's own check is replaced in ``ui/auth.py``); leaving
    the hashes out makes the library refuse everyone should that replacement ever be missing.
    """
    users = {}
    for user in session.exec(select(User).where(User.is_active)):
        users[user.username] = {"email": user.email, "first_name": user.name, "last_name": "", "roles": [user.role]}
    return {"usernames": users}


class LoginOutcome(StrEnum):
    ok = "ok"
    wrong = "wrong"  # wrong password or unknown user: the same answer for both
    locked = "locked"
    inactive = "inactive"  # right password, deactivated account


@dataclass(frozen=True)
class LoginAttempt:
    outcome: LoginOutcome
    username: str
    session_version: int | None = None  # of a successful login, to be kept with the session


_LOCKED_UNTIL = User.__table__.c.locked_until.type


@functools.cache
def _dummy_hash() -> bytes:
    return bcrypt.hashpw(b"no such user", bcrypt.gensalt())


def check_login(*, session: Session, username: str, password: str) -> LoginAttempt:
    """Check a password, counting the attempt first, so that at most MAX_FAILED_LOGINS passwords are ever
    checked per lockout, however many attempts arrive at once.

    The attempt is counted by one atomic ``UPDATE ... SET failed_login_attempts = failed_login_attempts + 1
    ... RETURNING`` on an account that is not locked, and committed before the (slow) bcrypt check; the attempt
    that reaches the limit locks the account for LOCKOUT. A right password clears the count and the lock. An
    unknown user costs the same bcrypt check as a known one. Commits its own work.
    """
    name = (username or "").strip().lower()
    now = utcnow()
    expired = and_(User.locked_until.is_not(None), User.locked_until <= now)
    attempts = case((expired, 1), else_=User.failed_login_attempts + 1)
    reserved = session.execute(
        update(User)
        .where(User.username == name, or_(User.locked_until.is_(None), User.locked_until <= now))
        .values(failed_login_attempts=attempts,
                locked_until=case((attempts >= MAX_FAILED_LOGINS, literal(now + LOCKOUT, _LOCKED_UNTIL)),
                                  else_=None))
        .returning(User.id, User.failed_login_attempts, User.password_hash, User.is_active)
    ).first()
    session.commit()
    if reserved is None:
        if get_user(session=session, username=name) is not None:
            return LoginAttempt(LoginOutcome.locked, name)
        bcrypt.checkpw((password or "").encode("utf-8")[:MAX_PASSWORD_BYTES], _dummy_hash())
        return LoginAttempt(LoginOutcome.wrong, name)

    user_id, count, password_hash, is_active = reserved
    if not verify_password(password or "", password_hash):
        if count >= MAX_FAILED_LOGINS:
            user = session.get(User, user_id)
            audit.record(session=session, actor=Actor(user.username, user.role), action="lock", entity="user",
                         entity_id=user.username,
                         summary=f"Locked {user.username} for {LOCKOUT.seconds // 60} minutes after {count} "
                                 "failed logins")
            session.commit()
            return LoginAttempt(LoginOutcome.locked, name)
        return LoginAttempt(LoginOutcome.wrong, name)
    session.execute(update(User).where(User.id == user_id).values(failed_login_attempts=0, locked_until=None))
    if not is_active:
        session.commit()
        return LoginAttempt(LoginOutcome.inactive, name)
    version = record_login(session=session, username=name)
    session.commit()
    return LoginAttempt(LoginOutcome.ok, name, version)


def record_login(*, session: Session, username: str) -> int | None:
    """Note a successful login (time, audit); returns the user's session version, None for an unknown user."""
    user = get_user(session=session, username=username)
    if user is None:
        return None
    session.refresh(user)
    user.failed_login_attempts = 0
    user.locked_until = None
    user.last_login_at = utcnow()
    session.add(user)
    audit.record(session=session, actor=Actor(user.username, user.role), action="login", entity="user",
                 entity_id=user.username, summary=f"{user.username} logged in")
    return user.session_version


def end_sessions(*, session: Session, username: str) -> int | None:
    """End every session of the user (each browser, each copied cookie): raise the session version atomically.

    Returns the new version, None for an unknown user.
    """
    version = session.execute(
        update(User).where(User.username == (username or "").strip().lower())
        .values(session_version=User.session_version + 1).returning(User.session_version)
    ).scalar_one_or_none()  # a User already loaded in this session gets the new number too (ORM synchronisation)
    return version


def log_out(*, session: Session, username: str) -> None:
    """The user logged out: all their sessions end, everywhere."""
    user = get_user(session=session, username=username)
    if user is None:
        return
    end_sessions(session=session, username=user.username)
    audit.record(session=session, actor=Actor(user.username, user.role), action="logout", entity="user",
                 entity_id=user.username, summary=f"{user.username} logged out")


def session_problem(*, session: Session, username: str, session_version: int | None) -> str | None:
    """Why a session that logged in as ``username`` with ``session_version`` may not go on, or None when it may."""
    return problem_with(get_user(session=session, username=username), session_version)


def problem_with(user: User | None, session_version: int | None) -> str | None:
    """``session_problem`` for a user already loaded: "ended", "inactive" or None."""
    if user is None or session_version is None:
        return "ended"
    if not user.is_active:
        return "inactive"
    if user.session_version != session_version:
        return "ended"
    return None


def first_start_hint(*, session: Session) -> str | None:
    """What the login page tells the first user, until someone has logged in: where the admin password is."""
    if session.exec(select(func.count()).select_from(User).where(User.last_login_at.is_not(None))).one():
        return None
    admin = get_user(session=session, username="admin")
    if admin is None:
        return None
    if admin.must_change_password:
        return ("First start: log in as **admin** with the one-time password that the server printed on its "
                "console (the terminal or log of `streamlit run app.py`) when it started. You will then choose "
                "your own password.")
    return "First start: log in as **admin** with the password given in `CTPAT_ADMIN_PASSWORD`."


def ensure_first_admin(*, session: Session, given: str | None = None) -> str | None:
    """Create the user 'admin' on an empty user table; returns the generated password when one was made.

    The password is ``given`` (CTPAT_ADMIN_PASSWORD) when set; otherwise a random one is generated, which the
    caller prints once to the server console, and which must be changed at the first login.
    """
    if session.exec(select(func.count()).select_from(User)).one():
        return None
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
