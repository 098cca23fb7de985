"""Personal-link tokens kept readable for the follow-up e-mails, without a working link in the database.

The database keeps a link's SHA-256 (services.collection.links) for the lookup and, beside it, the token encrypted
with the server's link key (Fernet: AES-128-CBC with an HMAC-SHA256; services.core.config.link_key, a file of mode
0600 in the data folder, like the cookie key). A copy of the database alone opens no questionnaire; the sender of
the follow-ups, which runs where the key is, puts the working link into each message as it goes out.

When a sealed token cannot be read (a link issued before tokens were sealed, or the key was replaced), the sender
issues a fresh link and the old one stops working (services.followups.outbox).
"""

from collections.abc import Callable
from functools import cache

from cryptography.fernet import Fernet, InvalidToken

from services.core import config


@cache
def _fernet(key: bytes) -> Fernet:
    return Fernet(key)


def seal(token: str) -> str:
    """The token encrypted with the link key (about 140 characters)."""
    return sealer()(token)


def sealer() -> Callable[[str], str]:
    """`seal` with the key read once, for many tokens."""
    fernet = _fernet(config.link_key())
    return lambda token: fernet.encrypt(token.encode("utf-8")).decode("ascii")


def unseal(sealed: str | None) -> str | None:
    """The token of a sealed value, or None when there is none or it was sealed with another key."""
    if not sealed:
        return None
    try:
        return _fernet(config.link_key()).decrypt(sealed.encode("ascii")).decode("utf-8")
    except (InvalidToken, ValueError):
        return None
