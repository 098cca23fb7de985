"""Step 4 of CBP's risk assessment, the action plan (MSC 3.6): corrective action items, their evidence of closure
and every status change. The moves between statuses are in services.actions.states.
"""

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import Index
from sqlmodel import Field, SQLModel

from models.common import EnumText, utcnow


class ActionStatus(StrEnum):
    open = "open"
    in_progress = "in progress"
    awaiting = "done awaiting acceptance"  # the owner or the partner says it is done, with a note and evidence
    closed = "closed"  # the team accepted the closure (or closed it itself, with a note and evidence)
    reopened = "reopened"  # the team sent it back, with a comment the partner sees


class ActionSource(StrEnum):
    """What an action item came from; every source but "added by hand" is generated (services.actions.generate)."""

    gap = "gap"  # an accepted answer that does not meet a criterion
    lane_flag = "lane flag"  # services.lanes.flags
    incident = "incident"  # an open incident of the register (models.incidents)
    threat = "threat"  # a High threat where partners or lanes are, without a mitigation
    manual = "added by hand"


class ActionItem(SQLModel, table=True):
    """One corrective action: what, about which partner, criterion, lane, incident or place, who, by when, status.

    A generated item carries its cause (``cause_key``, e.g. "gap:12:7.4") and the occurrence of that cause it
    answers: ``source_key`` = cause key + "#" + occurrence, unique, so generating twice never duplicates an item and
    a cause that returns after its item was closed gets a new one.
    """

    __table_args__ = (Index("ix_actionitem_status_due", "status", "due_date"),)

    id: int | None = Field(default=None, primary_key=True)
    source: ActionSource = Field(sa_type=EnumText(ActionSource, 14), index=True)
    cause_key: str = Field(default="", max_length=120, index=True)  # "" for items added by hand
    occurrence: int = 1
    source_key: str | None = Field(default=None, max_length=130, unique=True)  # None for items added by hand
    title: str = Field(max_length=300)
    detail: str = Field(default="", max_length=4000)
    basis: str = Field(default="", max_length=120)  # why it is in the plan, e.g. "unmet must (MSC 3.6)"
    priority: int = Field(default=2, index=True)  # 1 first; services.actions.rules
    partner_id: int | None = Field(default=None, foreign_key="partner.id", index=True)
    criterion_id: str | None = Field(default=None, foreign_key="criterion.criterion_id", max_length=10)
    lane_id: int | None = Field(default=None, foreign_key="lane.id", index=True)
    incident_id: int | None = Field(default=None, foreign_key="incident.id", index=True)
    iso2: str = Field(default="", max_length=2)  # the place of a threat item
    region_code: str = Field(default="", max_length=6)
    threat_category: str = Field(default="", max_length=24)
    answer_value: str = Field(default="", max_length=8)  # the answer behind a gap item (partial or no)
    owner_id: int | None = Field(default=None, foreign_key="user.id", index=True)
    due_date: date
    status: ActionStatus = Field(default=ActionStatus.open, sa_type=EnumText(ActionStatus, 24))
    shared_with_partner: bool = False  # the partner sees it through its personal link and may close it there
    closing_note: str = Field(default="", max_length=4000)
    review_comment: str = Field(default="", max_length=2000)  # the team's comment when it reopened the item
    observed_at: datetime | None = None  # when the cause was seen (e.g. the questionnaire was accepted)
    cause_gone_on: date | None = None  # the day generation last found the cause gone (None: still there)
    done_at: datetime | None = None
    done_by: str = Field(default="", max_length=120)
    closed_at: datetime | None = None
    closed_by: str = Field(default="", max_length=64)
    reopened_at: datetime | None = None
    version: int = 1  # bumped on every change, so a form saved over a newer change is refused
    created_by: str = Field(max_length=64)
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class ActionEvidence(SQLModel, table=True):
    """A file proving an action was done; the bytes live in the evidence store under their SHA-256."""

    id: int | None = Field(default=None, primary_key=True)
    action_id: int = Field(foreign_key="actionitem.id", index=True)
    filename: str = Field(max_length=255)
    content_type: str = Field(max_length=100)
    size_bytes: int
    sha256: str = Field(max_length=64, index=True)
    uploaded_by: str = Field(max_length=120)
    uploaded_at: datetime = Field(default_factory=utcnow)


class ActionChange(SQLModel, table=True):
    """A status change of an action item, with the note or comment that went with it (the item's history)."""

    id: int | None = Field(default=None, primary_key=True)
    action_id: int = Field(foreign_key="actionitem.id", index=True)
    from_status: str = Field(max_length=24)
    to_status: str = Field(max_length=24)
    comment: str = Field(default="", max_length=4000)
    changed_by: str = Field(max_length=120)
    changed_at: datetime = Field(default_factory=utcnow, index=True)
