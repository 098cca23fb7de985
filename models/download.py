from datetime import datetime

from sqlmodel import Field, SQLModel

from models.common import utcnow


class Download(SQLModel, table=True):
    """A file on the server's disk that one logged-in user may fetch from /downloads/<id> until it expires.

    Only a hash of the random id in the address is stored, as for partners' links.
    """

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(max_length=64, unique=True)
    path: str = Field(max_length=1000)
    filename: str = Field(max_length=255)
    media_type: str = Field(max_length=100)
    owner: str = Field(max_length=64, index=True)
    expires_at: datetime = Field(index=True)
    delete_file: bool = False  # a generated export: the file goes with the entry
    created_at: datetime = Field(default_factory=utcnow)
