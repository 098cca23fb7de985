"""Settings from the environment (the one place that reads CTPAT_* variables)."""

import base64
import hashlib
import os
import secrets
import time
import tomllib
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def data_dir() -> Path:
    """Folder for the SQLite file, evidence files and generated keys (git-ignored)."""
    path = Path(os.environ.get("CTPAT_DATA_DIR", ROOT / "data"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def database_url() -> str:
    return os.environ.get("CTPAT_DATABASE_URL") or f"sqlite:///{data_dir() / 'ctpat.db'}"


def demo_enabled() -> bool:
    return os.environ.get("CTPAT_DEMO", "1").strip().lower() not in {"0", "false", "no", "off"}


def cookie_key(configured: str | None = None) -> str:
    """The key that signs login cookies: from secrets/env, else generated once and kept in the data folder."""
    key = configured or os.environ.get("CTPAT_COOKIE_KEY")
    if key:
        return key
    path = data_dir() / ".cookie_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(48), encoding="utf-8")
        path.chmod(0o600)
    return path.read_text(encoding="utf-8").strip()


def cookie_expiry_days() -> float:
    return float(os.environ.get("CTPAT_COOKIE_EXPIRY_DAYS", "1"))


def base_url() -> str | None:
    """The public address partners use to reach the app (CTPAT_BASE_URL, e.g. behind a proxy); None when unset."""
    return os.environ.get("CTPAT_BASE_URL", "").strip() or None


def evidence_dir() -> Path:
    path = data_dir() / "evidence"
    path.mkdir(parents=True, exist_ok=True)
    return path


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


def secrets_file() -> Path:
    """The Streamlit secrets file the app reads (CTPAT_SECRETS_FILE to point the command line elsewhere)."""
    return Path(os.environ.get("CTPAT_SECRETS_FILE") or ROOT / ".streamlit" / "secrets.toml")


def _secret(name: str) -> object:
    """One entry of the secrets file (a value or a table), None when absent."""
    path = secrets_file()
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
