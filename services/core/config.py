"""Settings: the one place that reads the CTPAT_* environment variables and the secrets file.

Every setting has an environment variable (``CTPAT_<NAME>``) and may also be given under its lower-case name in
``.streamlit/secrets.toml``; a secret wins over the environment. The app passes Streamlit's ``st.secrets`` (so
tests can inject values); the command line and the server start read the same secrets files directly.
"""

import base64
import hashlib
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


# Follow-up e-mail (services.followups): SMTP from the [smtp] table of .streamlit/secrets.toml, else CTPAT_SMTP_*.
SMTP_SECURITY = ("starttls", "tls", "none")


@dataclass(frozen=True)
class SmtpSettings:
    """Where follow-up mail goes; host empty means not configured (messages then wait in the outbox)."""

    host: str = ""
    port: int = 587
    security: str = "starttls"  # starttls (submission, 587), tls (implicit TLS, 465) or none (a relay on 25)
    user: str = ""
    password: str = ""
    sender: str = ""  # From, e.g. "CTPAT Team <ctpat@importer.example>"
    reply_to: str = ""
    ca_file: str = ""  # a CA bundle for an intranet relay's certificate; default: the system's
    timeout: float = 30.0

    @property
    def configured(self) -> bool:
        return bool(self.host and self.sender)


def _secret(name: str) -> object:
    """One entry of the secrets files (a value or a table), None when absent; CTPAT_SECRETS_FILE names another file."""
    other = os.environ.get("CTPAT_SECRETS_FILE")
    if not other:
        return _read_secrets_files().get(name)
    path = Path(other)
    if not path.is_file():
        return None
    with path.open("rb") as file:
        return tomllib.load(file).get(name)


def smtp_settings() -> SmtpSettings:
    """The SMTP settings: each from secrets.toml's [smtp] table, else its CTPAT_SMTP_* variable, else the default.

    A port or security value that makes no sense raises ValueError naming the setting.
    """
    table = _secret("smtp")
    table = table if isinstance(table, dict) else {}
    values = {}
    for name in ("host", "port", "security", "user", "password", "sender", "reply_to", "ca_file", "timeout"):
        value = table.get(name)
        if value in (None, ""):
            value = os.environ.get(f"CTPAT_SMTP_{name.upper()}", "").strip()
        if value not in (None, ""):
            values[name] = value
    security = str(values.get("security", "starttls")).strip().lower()
    if security not in SMTP_SECURITY:
        raise ValueError(f"SMTP security '{security}' must be one of {', '.join(SMTP_SECURITY)}")
    values["security"] = security
    default_port = {"starttls": 587, "tls": 465, "none": 25}[security]
    try:
        values["port"] = int(values.get("port", default_port))
        values["timeout"] = float(values.get("timeout", 30))
    except (TypeError, ValueError):
        raise ValueError(f"SMTP port '{values.get('port')}' is not a number") from None
    if not 0 < values["port"] < 65536:
        raise ValueError(f"SMTP port {values['port']} is outside 1..65535")
    return SmtpSettings(**{k: (str(v).strip() if k not in ("port", "timeout") else v) for k, v in values.items()})


def link_key() -> bytes:
    """The key that seals personal-link tokens (a Fernet key): from secrets ``link_key`` or CTPAT_LINK_KEY (any
    long random text), else generated once and kept in the data folder like the cookie key (file mode 0600)."""
    configured = str(_secret("link_key") or os.environ.get("CTPAT_LINK_KEY", "")).strip()
    if configured:
        return base64.urlsafe_b64encode(hashlib.sha256(configured.encode("utf-8")).digest())
    path = data_dir() / ".link_key"
    if not path.exists():
        try:  # exclusive create: two processes starting at once keep one key, never two
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "w", encoding="utf-8") as file:
                file.write(base64.urlsafe_b64encode(secrets.token_bytes(32)).decode("ascii"))
    for _ in range(50):  # the other process may be between creating the file and writing it
        key = path.read_text(encoding="utf-8").strip()
        if key:
            return key.encode("ascii")
        time.sleep(0.02)
    raise RuntimeError(f"{path} is empty: delete it to have a new link key made (issued links then need renewal)")
