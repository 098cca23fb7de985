"""The company's own Security Profile: a self-assessment against the MSC of its own entity type."""

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from models.common import EnumText, utcnow


class SelfAssessmentStatus(StrEnum):
    """How far the company meets a criterion, as it states in its Security Profile; n/a needs a reason."""

    met = "met"
    partly_met = "partly met"
    not_met = "not met"
    not_applicable = "n/a"


class SelfAssessmentEntry(SQLModel, table=True):
    """The company's answer to one criterion: how it is met (CBP's portal asks for text), status, owner, review."""

    id: int | None = Field(default=None, primary_key=True)
    criterion_id: str = Field(foreign_key="criterion.criterion_id", max_length=10, unique=True)
    narrative: str = Field(default="", max_length=10000)
    status: SelfAssessmentStatus | None = Field(default=None, sa_type=EnumText(SelfAssessmentStatus, 12))
    na_reason: str = Field(default="", max_length=1000)
    owner: str = Field(default="", max_length=120)
    reviewed_on: date | None = None
    reviewed_by: str = Field(default="", max_length=64)
    updated_at: datetime = Field(default_factory=utcnow)


class SelfAssessmentEvidence(SQLModel, table=True):
    """An evidence file for a criterion of the self-assessment; the bytes live in the evidence store (by hash)."""

    id: int | None = Field(default=None, primary_key=True)
    criterion_id: str = Field(foreign_key="criterion.criterion_id", max_length=10, index=True)
    filename: str = Field(max_length=255)
    content_type: str = Field(max_length=100)
    size_bytes: int
    sha256: str = Field(max_length=64)
    uploaded_by: str = Field(max_length=64)
    uploaded_at: datetime = Field(default_factory=utcnow)


class EligibilityCheck(SQLModel, table=True):
    """Whether the company confirms one eligibility requirement of its entity type (seed/eligibility.csv)."""

    __table_args__ = (UniqueConstraint("entity_type", "item_id", name="uq_eligibilitycheck_item"),)

    id: int | None = Field(default=None, primary_key=True)
    entity_type: str = Field(max_length=60)
    item_id: str = Field(max_length=20)
    confirmed: bool = False
    note: str = Field(default="", max_length=500)
    checked_by: str = Field(default="", max_length=64)
    checked_on: date | None = None
