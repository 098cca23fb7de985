"""Step 3 of CBP's risk assessment and the record of it: site visits, the scoring configuration, assessment snapshots.

The scores themselves are computed (services.risk.scoring), never stored, except in a snapshot: a dated, immutable
copy of the configuration and of every score, which is what the team shows CBP.
"""

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import JSON, Column, UniqueConstraint
from sqlmodel import Field, SQLModel

from models.collection import AnswerValue
from models.common import EnumText, utcnow


class Band(StrEnum):
    """CBP's High/Medium/Low for threat, vulnerability and risk; Unknown where the data to rate it is missing."""

    low = "Low"
    medium = "Medium"
    high = "High"
    unknown = "Unknown"


class SubjectKind(StrEnum):
    """What a score is about."""

    partner = "partner"
    lane = "lane"


class SiteVisit(SQLModel, table=True):
    """A visit to a partner's site (MSC 3.5 due diligence): who went, when, where, and what they found."""

    id: int | None = Field(default=None, primary_key=True)
    partner_id: int = Field(foreign_key="partner.id", index=True)
    site_id: int | None = Field(default=None, foreign_key="partnersite.id", index=True)  # None: not recorded
    visited_on: date = Field(index=True)
    visited_by: str = Field(max_length=200)  # the people who visited, as the team names them
    notes: str = Field(default="", max_length=2000)
    recorded_by: str = Field(max_length=64)
    recorded_at: datetime = Field(default_factory=utcnow)


class SiteVisitFinding(SQLModel, table=True):
    """What a visit found for one criterion: met (yes), partly met (partial), not met (no) or not applicable (na).

    A finding overrides what the partner reported for that criterion in the scoring.
    """

    __table_args__ = (UniqueConstraint("visit_id", "criterion_id", name="uq_sitevisitfinding_visit_criterion"),)

    id: int | None = Field(default=None, primary_key=True)
    visit_id: int = Field(foreign_key="sitevisit.id", index=True)
    criterion_id: str = Field(foreign_key="criterion.criterion_id", max_length=10)
    finding: AnswerValue = Field(sa_type=EnumText(AnswerValue, 8))
    note: str = Field(default="", max_length=1000)


class RiskConfiguration(SQLModel, table=True):
    """One saved version of the scoring configuration; the highest version is the active one."""

    id: int | None = Field(default=None, primary_key=True)
    version: int = Field(unique=True, index=True)
    settings: dict = Field(sa_column=Column(JSON, nullable=False))  # services.risk.config.RiskConfig as JSON
    note: str = Field(default="", max_length=500)
    saved_by: str = Field(max_length=64)
    saved_at: datetime = Field(default_factory=utcnow)


class RiskAssessment(SQLModel, table=True):
    """A saved assessment snapshot: the configuration and every score on a day, who ran it. Never changed."""

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=120, unique=True)
    as_of: date = Field(index=True)
    configuration: dict = Field(sa_column=Column(JSON, nullable=False))
    configuration_version: int | None = None  # the saved version it used; None: unsaved what-if inputs
    summary: dict = Field(sa_column=Column(JSON, nullable=False))  # counts per band, for lists and comparisons
    note: str = Field(default="", max_length=1000)
    run_by: str = Field(max_length=64)
    run_at: datetime = Field(default_factory=utcnow, index=True)


class RiskAssessmentScore(SQLModel, table=True):
    """One partner's or lane's score in a snapshot, as it was: codes and names are copied, not referenced."""

    __table_args__ = (UniqueConstraint("assessment_id", "kind", "subject_id", name="uq_riskassessmentscore_subject"),)

    id: int | None = Field(default=None, primary_key=True)
    assessment_id: int = Field(foreign_key="riskassessment.id", index=True)
    kind: SubjectKind = Field(sa_type=EnumText(SubjectKind, 8))
    subject_id: int
    code: str = Field(max_length=40)
    name: str = Field(max_length=200)
    country: str = Field(default="", max_length=2)
    threat: str = Field(max_length=8)
    vulnerability: str = Field(max_length=8)
    vulnerability_score: float | None = None  # weighted share of criteria not met, 0-100
    risk: str = Field(max_length=8)
    matrix_risk: str = Field(max_length=8)  # the matrix cell, before the impact step
    certificate_credit: bool = False
    incidents: int = 0
    impact_raised: bool = False
    questionnaire_overdue: bool = False
    threat_detail: str = Field(default="", max_length=1000)
    vulnerability_detail: str = Field(default="", max_length=1000)
