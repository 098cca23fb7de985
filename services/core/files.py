"""Files that a logged-in user downloads from the server's disk: /downloads/<id>, by random id, owner and expiry.

A feature that offers a large or sensitive file (evidence, an export, the validation pack) registers it here for
the user who asked for it and shows the link; the server's download route (ui/web.py) streams it from disk to
that user's browser only, while their login holds and the entry has not expired. Only files inside the data
folder can be registered, and only a hash of the id is stored.
"""

import hashlib
import re
import secrets
import uuid
from datetime import datetime, timedelta
from pathlib import Path, PurePath

from sqlmodel import Session, col, delete, select

from models import Download
from models.common import utcnow
from services.core import config
from services.core.permissions import ValidationError

DEFAULT_TTL = timedelta(hours=1)
ROUTE = "downloads"  # the server answers /downloads/<id>
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _inside_data_dir(path: Path) -> Path:
    resolved = Path(path).resolve()
    root = config.load().data_dir.resolve()
    if not resolved.is_relative_to(root):
        raise ValidationError(f"{path} is outside the data folder; only files in {root} can be downloaded.")
    if not resolved.is_file():
        raise ValidationError(f"No file at {path}.")
    return resolved


def safe_filename(filename: str) -> str:
    """The name the browser saves the file under: no folders, no control characters, at most 200 characters."""
    name = _CONTROL.sub("", PurePath(str(filename or "").replace("\\", "/")).name).strip()
    if len(name) > 200:
        suffix = PurePath(name).suffix[:20]
        name = name[: 200 - len(suffix)] + suffix
    return name or "download"


def export_path(suffix: str) -> Path:
    """A new, private place in the data folder for a generated file (register it with ``delete_file=True``)."""
    folder = config.private_dir(config.data_dir() / "downloads")
    return folder / f"{uuid.uuid4().hex}{suffix}"


def register(*, session: Session, owner: str, path: Path, filename: str,
             media_type: str = "application/octet-stream", ttl: timedelta = DEFAULT_TTL,
             delete_file: bool = False) -> str:
    """Offer the file at ``path`` to the user ``owner`` for ``ttl``; returns the random id of /downloads/<id>.

    ``delete_file`` marks a generated file that is removed with its entry once it expires.
    """
    resolved = _inside_data_dir(path)
    token = secrets.token_urlsafe(32)
    session.add(Download(token_hash=_hash(token), path=str(resolved), filename=safe_filename(filename),
                         media_type=media_type, owner=owner, expires_at=utcnow() + ttl, delete_file=delete_file))
    session.flush()
    return token


def url(token: str) -> str:
    """The address of a registered file, relative to the app's page (so a base URL path is kept)."""
    return f"{ROUTE}/{token}"


def find(*, session: Session, token: str, username: str, now: datetime | None = None) -> Download | None:
    """The entry behind /downloads/<token> when it belongs to ``username``, has not expired, and its file exists."""
    if not token or len(token) > 100:
        return None
    entry = session.exec(select(Download).where(Download.token_hash == _hash(token))).first()
    if entry is None or entry.owner != username or entry.expires_at <= (now or utcnow()):
        return None
    if not Path(entry.path).is_file():
        return None
    return entry


PARTIAL_KEPT = timedelta(days=1)  # longer than any export runs


def purge_expired(*, session: Session, now: datetime | None = None) -> int:
    """Drop expired entries and the generated files they own, and the half-written ``.part`` files an export killed
    mid-way left in the downloads folder a day ago or more; returns how many entries went."""
    now = now or utcnow()
    folder = config.data_dir() / "downloads"
    if folder.is_dir():
        for partial in folder.glob("*.part"):
            if datetime.fromtimestamp(partial.stat().st_mtime, now.tzinfo) <= now - PARTIAL_KEPT:
                partial.unlink(missing_ok=True)
    expired = session.exec(select(Download).where(Download.expires_at <= now)).all()
    for entry in expired:
        if entry.delete_file:
            Path(entry.path).unlink(missing_ok=True)
    if expired:
        session.execute(delete(Download).where(col(Download.id).in_([e.id for e in expired])))
    return len(expired)
