"""Settings from the environment (the one place that reads CTPAT_* variables)."""

import os
import secrets
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
