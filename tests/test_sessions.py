"""The login cookie: signature, expiry and the user's session version decide, on SQLite and PostgreSQL."""

from datetime import timedelta

import jwt
import pytest

from models.common import utcnow
from services.core import db, sessions, users
from tests.conftest import ADMIN

KEY = "test-cookie-key-" + "k" * 40


def _token(username="luis", version=0, key=KEY, expiry_days=1.0, now=None) -> str:
    return sessions.issue_token(username=username, session_version=version, key=key, expiry_days=expiry_days,
                                now=now)


def test_a_fresh_cookie_names_the_user(session, staff):
    user, problem = sessions.check_token(session=session, token=_token(), key=KEY)
    assert problem is None
    assert user == sessions.SessionUser("luis", "analyst", 0)
    claims = jwt.decode(_token(), KEY, algorithms=["HS256"])
    # streamlit-authenticator's own check reads exp_date; PyJWT enforces exp.
    assert {"username", "sv", "exp", "exp_date", "iat"} <= set(claims)


@pytest.mark.parametrize(
    "token",
    [
        None,
        "",
        "not a jwt",
        _token(key="another key of at least 32 bytes, 123"),  # signed with another key
        _token(now=utcnow() - timedelta(days=2)),  # expired a day ago
        jwt.encode({"username": "luis", "exp_date": 9e9}, KEY, algorithm="HS256"),  # the library's own, no version
        jwt.encode({"username": "luis", "sv": 0}, KEY, algorithm="HS256"),  # no expiry
        jwt.encode({"username": "luis", "sv": "0", "exp": 9999999999}, KEY, algorithm="HS256"),
        jwt.encode({"username": "luis", "sv": 0, "exp": 9999999999}, KEY * 2, algorithm="HS512"),  # another algorithm
        jwt.encode({"username": "luis", "sv": 0, "exp": 9999999999}, "", algorithm="none"),  # unsigned
    ],
    ids=["none", "empty", "garbage", "other-key", "expired", "no-version", "no-expiry", "text-version", "hs512",
         "unsigned"],
)
def test_forged_expired_or_foreign_cookies_are_refused(session, staff, token):
    assert sessions.check_token(session=session, token=token, key=KEY) == (None, "invalid")


def test_a_copied_cookie_dies_with_its_session(engine, staff):
    copied = _token()
    with db.session_scope(engine) as s:
        users.log_out(session=s, username="luis")
    with db.session_scope(engine) as s:
        assert sessions.check_token(session=s, token=copied, key=KEY) == (None, "ended")
        fresh = _token(version=1)
        assert sessions.check_token(session=s, token=fresh, key=KEY)[0].session_version == 1
        users.update_user(session=s, actor=ADMIN, username="luis", is_active=False)
    with db.session_scope(engine) as s:
        assert sessions.check_token(session=s, token=fresh, key=KEY) == (None, "inactive")
        assert sessions.check_token(session=s, token=_token("ghost"), key=KEY) == (None, "ended")
