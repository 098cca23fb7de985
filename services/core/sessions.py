"""The login cookie: a JWT signed with the cookie key that names the user and their session version.

The app sets it after a login (through streamlit-authenticator's cookie manager) and reads it on a new browser
session; the server's own routes (downloads) read it from the request. A cookie counts only while its signature,
its expiry and the user's current session version (raised by logout, password change, reset, deactivation) all
hold, so a copied cookie dies with the session it came from.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

import jwt
from sqlmodel import Session

from models.common import utcnow
from services.core import users

COOKIE_NAME = "ctpat_auth"
ALGORITHM = "HS256"


@dataclass(frozen=True)
class SessionUser:
    """Who a valid login cookie belongs to."""

    username: str
    role: str
    session_version: int


def issue_token(*, username: str, session_version: int, key: str, expiry_days: float,
                now: datetime | None = None) -> str:
    """A signed login cookie value for the user's current session version."""
    now = now or utcnow()
    expires = now + timedelta(days=expiry_days)
    # exp_date is what streamlit-authenticator itself checks; exp is the standard claim PyJWT enforces.
    claims = {"username": username, "sv": session_version, "iat": int(now.timestamp()),
              "exp": int(expires.timestamp()), "exp_date": expires.timestamp()}
    return jwt.encode(claims, key, algorithm=ALGORITHM)


def read_token(token: str | None, *, key: str) -> dict | None:
    """The claims of a cookie whose signature and expiry hold; None for anything else (never raises)."""
    if not token:
        return None
    try:
        claims = jwt.decode(token, key, algorithms=[ALGORITHM], options={"require": ["exp", "username", "sv"]})
    except jwt.PyJWTError:
        return None
    if not isinstance(claims.get("username"), str) or not isinstance(claims.get("sv"), int):
        return None
    return claims


def check_token(*, session: Session, token: str | None, key: str) -> tuple[SessionUser | None, str | None]:
    """The user a login cookie stands for, or None and why not ("invalid", "ended", "inactive")."""
    claims = read_token(token, key=key)
    if claims is None:
        return None, "invalid"
    problem = users.session_problem(session=session, username=claims["username"], session_version=claims["sv"])
    if problem:
        return None, problem
    user = users.get_user(session=session, username=claims["username"])
    return SessionUser(user.username, user.role, user.session_version), None
