from datetime import datetime

from sqlmodel import Field, SQLModel

from models.common import utcnow


class User(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(max_length=64, unique=True, index=True)
    name: str = Field(max_length=120)
    email: str = Field(default="", max_length=254)
    role: str = Field(max_length=16)
    password_hash: str = Field(max_length=100)
    is_active: bool = True
    must_change_password: bool = False
    failed_login_attempts: int = 0
    locked_until: datetime | None = None
    last_login_at: datetime | None = None
    # Raised by logout, password change, reset and deactivation: every login cookie and session that carries an
    # older number stops working at once.
    session_version: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    created_at: datetime = Field(default_factory=utcnow)
