"""The follow-up rules: one small rule per kind of follow-up, in one registry (RULES).

A rule says who a kind of message goes to and, in one query whatever the number of partners, which messages of its
kind are due on a day: one row per message with its key (object and step), recipient, language and the values its
template needs. The engine (services.followups.engine) does the rest the same way for every kind: skips what was
queued before, holds what must wait (quiet period, paused partner, weekly cap), queues the others once.

Adding a kind of follow-up (e.g. the action plan's "action item due" and "action item overdue", issue 9, or the
risk assessment procedure's next review, issue 11):
1. a member of models.followups.FollowupKind;
2. its subject and body in services/texts/{en,es,zh}.toml under "followup.<member name>";
3. a module here with a ``find`` function and ``register(Rule(...))``, imported at the end of this file.
Nothing else changes: the command, the page, the preview and the outbox pick it up from RULES.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from functools import cached_property

import pandas as pd
from sqlmodel import Session, select

from models import User
from models.common import Role
from models.followups import Audience, FollowupKind
from services.company import profile as company_profile
from services.followups.settings import Settings

# What a rule's ``find`` returns, one row per message due.
CANDIDATE_COLUMNS = ["object_id", "step", "partner_id", "assignment_id", "country_iso2", "recipients",
                     "recipient_name", "language", "values", "problem"]
NO_ADDRESS = "no e-mail address"
NO_OWNER_NOTE = ("This partner has no internal owner with an e-mail address, so this went to the admins: set its "
                 "owner on the partner's page.")


@dataclass
class RuleContext:
    """What every rule reads: the session, the day, the settings, and recipients shared by several rules."""

    session: Session
    today: date
    settings: Settings

    @cached_property
    def profile(self):
        return company_profile.get_profile(session=self.session)

    @cached_property
    def company(self) -> str:
        """The importer's name as partners know it."""
        return self.profile.legal_name if self.profile and self.profile.legal_name else "CTPAT Workbench"

    @cached_property
    def admins(self) -> tuple[str, str]:
        """(addresses, names) of the active admins with an e-mail address; else the company profile's contact."""
        rows = self.session.exec(select(User.name, User.email).where(User.role == Role.admin, User.is_active,
                                                                    User.email != "").order_by(User.id)).all()
        if not rows and self.profile is not None and self.profile.primary_contact_email:
            rows = [(self.profile.primary_contact, self.profile.primary_contact_email)]
        return ", ".join(e for _, e in rows), ", ".join(n for n, _ in rows)


@dataclass(frozen=True)
class Rule:
    """One kind of follow-up."""

    kind: FollowupKind
    audience: Audience
    when: str  # when it is due and to whom, in the team's words (the page lists it)
    find: Callable[[RuleContext], pd.DataFrame]  # the messages due on ctx.today (CANDIDATE_COLUMNS); one query
    sample: dict[str, str]  # template values for the preview
    chases: bool = True  # a paused partner gets none
    priority: int = 5  # lower first when the weekly cap lets only some through
    # Messages (frame: id, object_id, step, assignment_id) that are no longer due when their turn to be sent comes:
    # id -> why; checked just before sending, so a partner that submitted gets no reminder queued before.
    stale: Callable[[Session, pd.DataFrame], dict[int, str]] | None = None
    carries_link: bool = False  # the partner's personal link is put in when it is sent


RULES: dict[FollowupKind, Rule] = {}


def register(rule: Rule) -> Rule:
    """Add a rule to the registry (one per kind)."""
    if rule.kind in RULES:
        raise RuntimeError(f"Two follow-up rules for {rule.kind}")
    RULES[rule.kind] = rule
    return rule


def candidates(rows: list[dict]) -> pd.DataFrame:
    """A rule's rows as the engine reads them."""
    return pd.DataFrame(rows, columns=CANDIDATE_COLUMNS)


def owner_recipient(ctx: RuleContext, owner_name: str | None, owner_email: str | None) -> tuple[str, str, str]:
    """(addresses, name, note) for a message to a partner's internal owner: the admins when it has none."""
    if text(owner_email):
        return text(owner_email), text(owner_name), ""
    addresses, names = ctx.admins
    return addresses, names, NO_OWNER_NOTE


def text(value) -> str:
    """A database text that may be missing (None, or NaN in a pandas column) as a string."""
    return "" if value is None or (isinstance(value, float) and pd.isna(value)) else str(value)


def iso(day) -> str:
    return "" if day is None or pd.isna(day) else pd.Timestamp(day).date().isoformat()


# The rules, in the order the page lists them. A new rule module is imported here.
from services.followups.rules import collection, certificates, company, actions  # noqa: E402, F401, I001
from services.followups.rules import procedure  # noqa: E402, F401, I001
