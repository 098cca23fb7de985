"""Dates the follow-up rules share."""

from datetime import date, timedelta

from sqlalchemy import func

from models import Assignment, Cycle


def assignment_due():
    """An assignment's due date as SQL: its own when it has one (a late joiner, an extension), else its cycle's.
    Queries using it join Cycle."""
    return func.coalesce(Assignment.due_date, Cycle.due_date)


def latest_step(target: date, steps: tuple[int, ...], today: date) -> int | None:
    """Of the steps (days before `target`), the one most recently due on `today`: its day is on or before today and
    today is not past the target. None when none is due (too early, or the target has passed).

    Steps a run missed (cron down, a quiet period) are not sent late: the latest due step stands for them.
    """
    if today > target:
        return None
    due = [d for d in steps if target - timedelta(days=d) <= today]
    return min(due) if due else None
