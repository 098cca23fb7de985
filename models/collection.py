"""Collection tables (cycles, assignments, answers, evidence, imports) and the vocabularies they store.

The vocabularies are StrEnums, stored as VARCHAR of the same length as before (models.common.EnumText: no database
enum type, no migration) and read back as members; no other module spells a status or an answer value out.
"""

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import JSON, Column, Index, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from models.common import EnumText, utcnow


class AssignmentStatus(StrEnum):
    """Where a partner's questionnaire stands; the moves between them are in services.collection.states."""

    not_sent = "not sent"
    sent = "sent"
    opened = "opened"
    in_progress = "in progress"
    submitted = "submitted"
    returned = "returned"
    accepted = "accepted"
    exempt = "exempt"


class DerivedStatus(StrEnum):
    """Shown in place of the stored status, never stored: past the due date and not finished."""

    overdue = "overdue"


class AnswerValue(StrEnum):
    """A partner's answer to one criterion."""

    yes = "yes"
    partial = "partial"
    no = "no"
    na = "na"  # not applicable to the partner's business


class AnswerSource(StrEnum):
    """The path an answer came through."""

    link = "link"  # the partner, through its personal link
    file = "file"  # a file import (Excel round-trip or bulk file)
    staff = "staff"  # the team, on the partner's behalf


class CycleStatus(StrEnum):
    open = "open"
    closed = "closed"


class Cycle(SQLModel, table=True):
    """One round of partner data collection, e.g. "2027 annual review"."""

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=120, unique=True)
    due_date: date
    default_language: str = Field(default="en", max_length=5)
    status: CycleStatus = Field(default=CycleStatus.open, sa_type=EnumText(CycleStatus, 10))
    created_by: str = Field(max_length=64)
    created_at: datetime = Field(default_factory=utcnow)
    # What partners read instead of the internal name, by language (en/es/zh); a language without one gets the
    # neutral title of the text catalogue (services.collection.titles).
    partner_titles: dict[str, str] = Field(default_factory=dict, sa_column=Column(
        JSON, nullable=False, server_default=text("'{}'")))


class Assignment(SQLModel, table=True):
    """One partner's questionnaire in one cycle, with its personal link."""

    __table_args__ = (UniqueConstraint("cycle_id", "partner_id", name="uq_assignment_cycle_partner"),)

    id: int | None = Field(default=None, primary_key=True)
    cycle_id: int = Field(foreign_key="cycle.id", index=True)
    partner_id: int = Field(foreign_key="partner.id", index=True)
    status: AssignmentStatus = Field(default=AssignmentStatus.not_sent, sa_type=EnumText(AssignmentStatus, 12),
                                     index=True)
    language: str = Field(default="en", max_length=5)
    exempt_reason: str = Field(default="", max_length=300)
    token_hash: str | None = Field(default=None, max_length=64, unique=True)
    # The same token encrypted with the server's link key (services.collection.sealed), so follow-ups can carry it.
    token_sealed: str | None = Field(default=None, max_length=200)
    token_expires_at: datetime | None = None
    token_revoked: bool = False
    sent_at: datetime | None = None
    opened_at: datetime | None = None
    submitted_at: datetime | None = None
    reviewed_at: datetime | None = None
    reviewed_by: str = Field(default="", max_length=64)
    # This partner's own due date when it joined the cycle late (services.certificates.exemption); else the cycle's.
    due_date: date | None = None
    updated_at: datetime = Field(default_factory=utcnow)


class Answer(SQLModel, table=True):
    """One version of a partner's answer to a criterion; the current one has is_current set.

    Keeping versions in one table gives every answer its history (value, who, when, path) without a
    second write per answer on bulk import.
    """

    __table_args__ = (
        Index(
            "uq_answer_current",
            "assignment_id",
            "criterion_id",
            unique=True,
            sqlite_where=text("is_current = 1"),
            postgresql_where=text("is_current"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    assignment_id: int = Field(foreign_key="assignment.id", index=True)
    criterion_id: str = Field(foreign_key="criterion.criterion_id", max_length=10)
    value: AnswerValue = Field(sa_type=EnumText(AnswerValue, 8))
    comment: str = Field(default="", max_length=4000)
    answered_on: date | None = None
    source: AnswerSource = Field(sa_type=EnumText(AnswerSource, 8))
    answered_by: str = Field(max_length=120)
    recorded_at: datetime = Field(default_factory=utcnow)
    is_current: bool = True


class ReviewComment(SQLModel, table=True):
    """The team's comment on one question when a submission is returned."""

    id: int | None = Field(default=None, primary_key=True)
    assignment_id: int = Field(foreign_key="assignment.id", index=True)
    criterion_id: str = Field(foreign_key="criterion.criterion_id", max_length=10)
    comment: str = Field(max_length=2000)
    author: str = Field(max_length=64)
    created_at: datetime = Field(default_factory=utcnow)
    resolved: bool = False


class Evidence(SQLModel, table=True):
    """An evidence file for an answer; the bytes live on disk under their content hash."""

    id: int | None = Field(default=None, primary_key=True)
    assignment_id: int = Field(foreign_key="assignment.id", index=True)
    criterion_id: str = Field(foreign_key="criterion.criterion_id", max_length=10)
    filename: str = Field(max_length=255)
    content_type: str = Field(max_length=100)
    size_bytes: int
    sha256: str = Field(max_length=64, index=True)
    uploaded_by: str = Field(max_length=120)
    uploaded_at: datetime = Field(default_factory=utcnow)


class ImportRecord(SQLModel, table=True):
    """One completed file import: who, when, which file, what it changed."""

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=20)  # partners | responses
    filename: str = Field(max_length=255)
    sha256: str = Field(max_length=64, index=True)
    username: str = Field(max_length=64)
    cycle_id: int | None = Field(default=None, foreign_key="cycle.id")
    rows: int = 0
    created: int = 0
    changed: int = 0
    unchanged: int = 0
    imported_at: datetime = Field(default_factory=utcnow)
