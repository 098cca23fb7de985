"""Step 5 of CBP's risk assessment: the documented risk assessment procedure, kept as signed versions.

The text is generated from the live configuration (services.procedure); a version is a frozen copy of it, so what
was approved stays readable after the configuration moves on.
"""

from datetime import date, datetime

from sqlalchemy import JSON, Column, Text
from sqlmodel import Field, SQLModel

from models.common import utcnow


class ProcedureVersion(SQLModel, table=True):
    """One saved version of the risk assessment procedure, with its sign-off once an admin approves it."""

    id: int | None = Field(default=None, primary_key=True)
    version: int = Field(unique=True)
    sections: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))  # [[heading, [para]]]
    text: str = Field(sa_column=Column(Text, nullable=False))  # the same as plain text, for search and diff
    configuration_version: int | None = None  # the scoring configuration it describes (None: the defaults)
    note: str = Field(default="", max_length=500)  # why this version was made
    saved_by: str = Field(max_length=64)
    saved_at: datetime = Field(default_factory=utcnow)
    approved_by: str = Field(default="", max_length=64)  # empty: not signed off
    approved_at: datetime | None = None
    next_review_on: date | None = None  # set at sign-off: at most a year later (MSC 2.3)
