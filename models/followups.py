"""Automatic follow-ups: the outbox of messages, the engine's settings, quiet periods, paused partners and the
admins' edits of the message templates (services.followups).

Each message is queued once per (kind, object, step): the unique key of FollowupMessage, so two runs of the engine
at the same moment cannot both queue it, and the claim on its status (services.followups.outbox) stops two senders
from both sending it.
"""

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import JSON, Column, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from models.common import EnumText, utcnow


class FollowupKind(StrEnum):
    """What a follow-up is about; each kind has one rule in services.followups.rules and its texts in the catalogue
    ("followup.<kind>.subject" and ".body"). A new kind (e.g. an action-plan item due) adds a member here."""

    invitation = "invitation"  # the questionnaire's personal link, when the cycle opens (or the partner joins)
    reminder = "reminder"  # before the due date (14, 7 and 2 days by default)
    overdue = "overdue"  # to the partner, the day after the due date
    escalation = "escalation"  # to the partner's internal owner, N days after the due date
    returned = "returned"  # to the partner: the review team returned the questionnaire with comments
    certificate_expiry = "certificate expiry"  # to the owner, before a certificate's valid-to day
    reverification = "re-verification"  # to the owner, before the last check of a certificate goes stale
    certificate_lost = "certificate lost"  # to the owner: suspended, revoked, expired or stale (monitor's events)
    annual_review = "annual review"  # to the admins: the Annual Security Profile Review window and due day
    revalidation = "revalidation"  # to the admins: the revalidation horizon
    action_due = "action due"  # to an action item's owner, before its due date (services.actions)
    action_overdue = "action overdue"  # to an action item's owner, the day after its due date
    procedure_review = "procedure review"  # to the admins: the risk assessment procedure's next review date


class Audience(StrEnum):
    """Who a kind of follow-up goes to."""

    partner = "partner"  # the partner's primary contact, in the partner's language
    owner = "owner"  # the partner's internal owner (the admins when it has none)
    admins = "admins"  # the application's admins (the company profile's contact when none has an address)


class MessageStatus(StrEnum):
    """Where a message of the outbox stands."""

    queued = "queued"  # waiting for the sender (or for SMTP settings)
    sending = "sending"  # claimed by one sender right now
    sent = "sent"
    failed = "failed"  # the last try failed; retried after a back-off
    given_up = "given up"  # failed too often, refused for good, or interrupted mid-send: retried by hand only
    cancelled = "cancelled"  # no longer due when its turn came (e.g. the partner submitted), or cancelled by hand


class FollowupMessage(SQLModel, table=True):
    """One message of the outbox. The rendered body keeps the personal link masked: the link is put in when the
    message is sent, from the assignment's sealed token, so the outbox never holds a working link."""

    __table_args__ = (
        UniqueConstraint("kind", "object_id", "step", name="uq_followupmessage_key"),
        Index("ix_followupmessage_due_to_send", "status", "next_attempt_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    kind: FollowupKind = Field(sa_type=EnumText(FollowupKind, 24), index=True)
    object_id: str = Field(max_length=64)  # what it is about: an assignment, certificate, event id, or "company"
    step: str = Field(max_length=40)  # which message of the kind, e.g. "2027-01-31:7d" or "overdue"
    due_on: date = Field(index=True)  # the day the rule made it due (the --today of the run that queued it)
    audience: Audience = Field(sa_type=EnumText(Audience, 10))
    # Plain ids, no foreign keys: the outbox is a record and outlives a merged (deleted) assignment.
    partner_id: int | None = Field(default=None, index=True)
    assignment_id: int | None = Field(default=None, index=True)
    recipients: str = Field(max_length=2000)  # addresses, comma-separated
    recipient_name: str = Field(default="", max_length=200)
    language: str = Field(default="en", max_length=5)
    subject: str = Field(max_length=300)
    body_text: str = Field(sa_column=Column(Text, nullable=False))
    values: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    status: MessageStatus = Field(default=MessageStatus.queued, sa_type=EnumText(MessageStatus, 10), index=True)
    attempts: int = 0
    next_attempt_at: datetime | None = None
    last_error: str = Field(default="", max_length=1000)
    claimed_by: str = Field(default="", max_length=64)
    claimed_at: datetime | None = None
    note: str = Field(default="", max_length=300)  # e.g. "a fresh link was issued", "cancelled: submitted"
    message_id: str = Field(default="", max_length=200)  # the Message-ID header of the sent mail
    queued_by: str = Field(default="", max_length=64)
    queued_at: datetime = Field(default_factory=utcnow)
    sent_at: datetime | None = None


class FollowupSettings(SQLModel, table=True):
    """The engine's settings (one row; services.followups.settings has the defaults while there is none)."""

    id: int | None = Field(default=None, primary_key=True)
    reminder_days: str = Field(default="14,7,2", max_length=60)
    escalate_after_days: int = 7
    certificate_expiry_days: str = Field(default="60,30,7", max_length=60)
    reverification_days: int = 14
    annual_review_days: str = Field(default="90,30,7,0", max_length=60)
    revalidation_days: str = Field(default="365,180,90,30", max_length=60)
    weekly_cap: int = 3
    max_attempts: int = 6
    retry_minutes: int = 10
    public_holidays: bool = True
    extension_days: int = 14
    disabled_kinds: str = Field(default="", max_length=300)
    updated_by: str = Field(default="", max_length=64)
    updated_at: datetime = Field(default_factory=utcnow)


class QuietPeriod(SQLModel, table=True):
    """Days an admin marks as quiet for one country (e.g. a factory's summer shutdown): partner messages wait."""

    id: int | None = Field(default=None, primary_key=True)
    country_iso2: str = Field(foreign_key="country.iso2", max_length=2, index=True)
    name: str = Field(max_length=120)
    starts_on: date
    ends_on: date
    created_by: str = Field(max_length=64)
    created_at: datetime = Field(default_factory=utcnow)


class FollowupPause(SQLModel, table=True):
    """A partner nobody chases for now (a dispute, a closure, a visit planned): no invitation, reminder, notice or
    escalation is queued for it until the pause ends or is lifted."""

    id: int | None = Field(default=None, primary_key=True)
    partner_id: int = Field(foreign_key="partner.id", unique=True)
    until: date | None = None  # None: until lifted by hand
    reason: str = Field(max_length=300)
    created_by: str = Field(max_length=64)
    created_at: datetime = Field(default_factory=utcnow)


class MessageTemplate(SQLModel, table=True):
    """An admin's version of one kind's subject and body in one language, in place of the catalogue's."""

    __table_args__ = (UniqueConstraint("kind", "language", name="uq_messagetemplate_kind_language"),)

    id: int | None = Field(default=None, primary_key=True)
    kind: FollowupKind = Field(sa_type=EnumText(FollowupKind, 24))
    language: str = Field(max_length=5)
    subject: str = Field(max_length=300)
    body: str = Field(sa_column=Column(Text, nullable=False))
    updated_by: str = Field(max_length=64)
    updated_at: datetime = Field(default_factory=utcnow)
