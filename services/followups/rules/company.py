"""Follow-ups of the company's own CTPAT dates, to the admins (services.company.profile.key_dates):

- the Annual Security Profile Review: its window opens 90 days before the certification anniversary and the review
  is due on the anniversary (90, 30, 7 and 0 days before by default);
- the revalidation horizon: revalidation at least every four years from the last validation (SAFE Port Act), warned
  365, 180, 90 and 30 days before by default, and once when it is overdue.
"""

from models.followups import Audience, FollowupKind
from services.company import profile as company_profile
from services.followups.dates import latest_step
from services.followups.rules import NO_ADDRESS, Rule, RuleContext, candidates, iso, register

K = FollowupKind
COMPANY = "company"


def _row(ctx: RuleContext, step: str, values: dict) -> dict:
    recipients, names = ctx.admins
    return {"object_id": COMPANY, "step": step, "partner_id": None, "assignment_id": None, "country_iso2": "",
            "recipients": recipients, "recipient_name": names, "language": "en",
            "values": {"company": ctx.company, **values}, "problem": "" if recipients else NO_ADDRESS}


def find_annual_review(ctx: RuleContext):
    """The review's steps before the next anniversary (the first one: its window opens)."""
    if ctx.profile is None:
        return candidates([])
    dates = company_profile.key_dates(ctx.profile, ctx.today)
    anniversary = dates["next_anniversary"]
    if anniversary is None:
        return candidates([])
    step = latest_step(anniversary, ctx.settings.annual_review_days, ctx.today)
    if step is None:
        return candidates([])
    return candidates([_row(ctx, f"{anniversary.isoformat()}:{step}d", {
        "anniversary": iso(anniversary), "opens": iso(dates["review_window_opens"]),
        "days": str(dates["days_to_anniversary"])})])


def find_revalidation(ctx: RuleContext):
    """The revalidation's steps before it is due, and once when it is overdue."""
    if ctx.profile is None:
        return candidates([])
    dates = company_profile.key_dates(ctx.profile, ctx.today)
    due = dates["revalidation_due"]
    if due is None:
        return candidates([])
    step = latest_step(due, ctx.settings.revalidation_days, ctx.today)
    name = f"{due.isoformat()}:overdue" if due < ctx.today else f"{due.isoformat()}:{step}d" if step is not None \
        else None
    if name is None:
        return candidates([])
    last = ctx.profile.last_validation_date or ctx.profile.certification_date
    return candidates([_row(ctx, name, {"due": iso(due), "days": str(dates["days_to_revalidation"]),
                                        "last_validation": iso(last)})])


register(Rule(K.annual_review, Audience.admins, "on the days set before the certification anniversary (the "
              "review window opens 90 days before; CBP's Annual Security Profile Review); to the admins",
              find_annual_review,
              {"company": "Acme Imports Inc.", "anniversary": "2027-05-14", "opens": "2027-02-13", "days": "30"},
              chases=False, priority=7))
register(Rule(K.revalidation, Audience.admins, "on the days set before revalidation is due (four years after the "
              "last validation), and once when overdue; to the admins", find_revalidation,
              {"company": "Acme Imports Inc.", "due": "2027-09-30", "days": "180", "last_validation": "2023-09-30"},
              chases=False, priority=8))
