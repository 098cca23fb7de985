"""Follow-ups of the action plan (CBP step 4, MSC 3.6), to each item's owner (the admins when it has none).

Which items count comes from the action plan's own rule (services.actions.items.due_and_overdue, on the transition
table's working statuses: open, in progress, reopened); an item marked done and awaiting the team's acceptance, or
closed, gets none. Steps are keyed by the due date, so a moved due date starts its own messages.

- due: 7 days and 1 day before the due date;
- overdue: once, the day after the due date (and again only when the due date moves and passes again).
"""

import pandas as pd

from models.followups import Audience, FollowupKind
from services.actions import items
from services.followups.dates import latest_step
from services.followups.rules import NO_ADDRESS, Rule, RuleContext, candidates, iso, owner_recipient, register, text

K = FollowupKind
DUE_DAYS = (7, 1)  # days before an item's due date that its owner is reminded


def _rows(ctx: RuleContext, frame: pd.DataFrame, steps: list[str]) -> pd.DataFrame:
    rows = []
    for step, r in zip(steps, frame.itertuples(index=False), strict=True):
        recipients, name, note = owner_recipient(ctx, r.owner_name, r.owner_email)
        partner = f"{r.partner_code}" if text(r.partner_code) else "no partner"
        rows.append({"object_id": str(r.id), "step": step,
                     "partner_id": None if pd.isna(r.partner_id) else int(r.partner_id), "assignment_id": None,
                     "country_iso2": "", "recipients": recipients, "recipient_name": name, "language": "en",
                     "values": {"owner": name or "team", "title": r.title, "item": str(r.id), "partner": partner,
                                "due": iso(r.due_date), "days": str(abs(int(r.days_left))),
                                "status": str(r.status), "priority": str(r.priority), "note": note},
                     "problem": "" if recipients else NO_ADDRESS})
    return candidates(rows)


def find_due(ctx: RuleContext) -> pd.DataFrame:
    """Items still to act on whose due date is 7 or 1 day(s) away (the latest step due today)."""
    frame = items.due_and_overdue(session=ctx.session, today=ctx.today, within_days=max(DUE_DAYS))
    frame = frame[~frame["past_due"]]
    steps = [latest_step(pd.Timestamp(d).date(), DUE_DAYS, ctx.today) for d in frame["due_date"]]
    keep = pd.Series([s is not None for s in steps], index=frame.index, dtype=bool)
    return _rows(ctx, frame[keep], [f"{iso(d)}:{s}d" for d, s in zip(frame["due_date"], steps, strict=True)
                                    if s is not None])


def find_overdue(ctx: RuleContext) -> pd.DataFrame:
    """Items still to act on past their due date: one notice per due date."""
    frame = items.due_and_overdue(session=ctx.session, today=ctx.today, within_days=0)
    frame = frame[frame["past_due"]]
    return _rows(ctx, frame, [f"{iso(d)}:overdue" for d in frame["due_date"]])


_SAMPLE = {"owner": "Luis Ortega", "title": "Criterion 5.1: seal verification (VVTT) not done at loading",
           "item": "42", "partner": "MX-T01", "due": "2027-02-15", "days": "7", "status": "open", "priority": "1",
           "note": ""}
register(Rule(K.action_due, Audience.owner, f"{' and '.join(map(str, DUE_DAYS))} day(s) before an open action "
              "item's due date; to its owner", find_due, _SAMPLE, chases=False, priority=6))
register(Rule(K.action_overdue, Audience.owner, "the day after an open action item's due date; to its owner",
              find_overdue, {**_SAMPLE, "days": "3"}, chases=False, priority=3))
