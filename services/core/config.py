"""Settings: the one place that reads the CTPAT_* environment variables and the secrets file.

Every setting has an environment variable (``CTPAT_<NAME>``) and may also be given under its lower-case name in
``.streamlit/secrets.toml``; a secret wins over the environment. The app passes Streamlit's ``st.secrets`` (so
tests can inject values); the command line and the server start read the same secrets files directly.
"""

import logging
import os
import secrets
import time
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
log = logging.getLogger(__name__)
PRIVATE_DIR = 0o700
PRIVATE_FILE = 0o600
_FALSE = {"0", "false", "no", "off"}


@dataclass(frozen=True)
class Settings:
    """Everything the deployment can configure (README, "Configuration")."""

    data_dir: Path
    database_url: str
    demo: bool
    admin_password: str | None
    cookie_key: str | None  # None: generated once into <data_dir>/.cookie_key
    cookie_expiry_days: float
    base_url: str | None

    @property
    def evidence_dir(self) -> Path:
        return self.data_dir / "evidence"

    @property
    def downloads_dir(self) -> Path:
        return self.data_dir / "downloads"


def secrets_files() -> list[Path]:
    """Where Streamlit looks for secrets by default, in its order (later files win)."""
    return [Path.home() / ".streamlit" / "secrets.toml", Path.cwd() / ".streamlit" / "secrets.toml"]


def _read_secrets_files() -> dict:
    merged: dict = {}
    for path in secrets_files():
        if path.is_file():
            with open(path, "rb") as f:
                merged.update(tomllib.load(f))
    return merged


def load(secrets: Mapping | None = None, environ: Mapping[str, str] | None = None) -> Settings:
    """The settings from ``secrets`` (default: the secrets files) over the environment (default: os.environ)."""
    env = os.environ if environ is None else environ
    given = _read_secrets_files() if secrets is None else secrets

    def value(name: str) -> str | None:
        raw = given.get(name)
        if raw is None or raw == "":
            raw = env.get(f"CTPAT_{name.upper()}")
        text = None if raw is None else str(raw).strip()
        return text or None

    data_dir = Path(value("data_dir") or ROOT / "data")
    return Settings(
        data_dir=data_dir,
        database_url=value("database_url") or f"sqlite:///{data_dir / 'ctpat.db'}",
        demo=(value("demo") or "1").lower() not in _FALSE,
        admin_password=value("admin_password"),
        cookie_key=value("cookie_key"),
        cookie_expiry_days=float(value("cookie_expiry_days") or "1"),
        base_url=value("base_url"),
    )


def private_dir(path: Path) -> Path:
    """Create ``path`` (and missing parents) readable by this user only (0700), and return it.

    Each folder is created with its mode, never opened up and closed afterwards; a folder that already exists is
    left as it is, except the data folder, which ``data_dir`` tightens.
    """
    missing = []
    for folder in (path, *path.parents):
        if folder.exists():
            break
        missing.append(folder)
    for folder in reversed(missing):
        try:
            os.mkdir(folder, PRIVATE_DIR)
        except FileExistsError:
            pass
    return path


def create_private_file(path: Path) -> bool:
    """Create an empty file readable by this user only (0600) unless it exists; True when it was created."""
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE))
    except FileExistsError:
        return False
    return True


def data_dir(settings: Settings | None = None) -> Path:
    """Folder for the SQLite file, evidence files and generated keys (git-ignored), private to this user."""
    path = private_dir((settings or load()).data_dir)
    if path.stat().st_mode & 0o077:
        try:
            path.chmod(PRIVATE_DIR)  # it holds the cookie key and the database: nobody else may list or read it
        except PermissionError:
            log.warning("The data folder %s is readable by others and not ours to change: make it 0700.", path)
    return path


def database_url() -> str:
    return load().database_url


def demo_enabled() -> bool:
    return load().demo


def cookie_key(settings: Settings | None = None) -> str:
    """The key that signs login cookies: configured, else generated once into the data folder (0600 from the start)."""
    settings = settings or load()
    if settings.cookie_key:
        return settings.cookie_key
    path = data_dir(settings) / ".cookie_key"
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE)
    except FileExistsError:
        pass
    else:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(secrets.token_urlsafe(48))
    for _ in range(50):
        key = path.read_text(encoding="utf-8").strip()
        if key:
            return key
        time.sleep(0.02)  # another process created the file a moment ago and is writing it
    raise RuntimeError(f"{path} is empty: delete it, or set CTPAT_COOKIE_KEY.")


def cookie_expiry_days() -> float:
    return load().cookie_expiry_days


def base_url() -> str | None:
    """The public address partners use to reach the app (CTPAT_BASE_URL, e.g. behind a proxy); None when unset."""
    return load().base_url


def evidence_dir() -> Path:
    settings = load()
    data_dir(settings)
    return private_dir(settings.evidence_dir)
