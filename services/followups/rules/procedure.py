"""Follow-up of the documented risk assessment procedure (services.procedure), to the admins: its next review date,
set when an admin signs a version off (at most a year later, MSC 2.3), warned 30, 7 and 0 days before and once when
it has passed without a newer signed version."""

from models.followups import Audience, FollowupKind
from services import procedure
from services.followups.dates import latest_step
from services.followups.rules import NO_ADDRESS, Rule, RuleContext, candidates, iso, register

REVIEW_STEPS = (30, 7, 0)  # days before the next review date
OBJECT = "procedure"


def find_procedure_review(ctx: RuleContext):
    """The step of the signed procedure's next review that is due today, or "overdue" once it has passed."""
    signed = procedure.latest_signed(session=ctx.session)
    if signed is None or signed.next_review_on is None:
        return candidates([])
    due = signed.next_review_on
    step = latest_step(due, REVIEW_STEPS, ctx.today)
    name = f"{due.isoformat()}:overdue" if due < ctx.today else f"{due.isoformat()}:{step}d" if step is not None \
        else None
    if name is None:
        return candidates([])
    recipients, names = ctx.admins
    return candidates([{"object_id": f"{OBJECT}-{signed.version}", "step": name, "partner_id": None,
                        "assignment_id": None, "country_iso2": "", "recipients": recipients, "recipient_name": names,
                        "language": "en", "problem": "" if recipients else NO_ADDRESS,
                        "values": {"company": ctx.company, "due": iso(due), "days": str((due - ctx.today).days),
                                   "version": str(signed.version), "approved_by": signed.approved_by}}])


register(Rule(FollowupKind.procedure_review, Audience.admins, "30, 7 and 0 days before the risk assessment "
              "procedure's next review date (set at sign-off, at most a year later, MSC 2.3), and once when it has "
              "passed; to the admins", find_procedure_review,
              {"company": "Acme Imports Inc.", "due": "2027-06-30", "days": "30", "version": "3",
               "approved_by": "admin"}, chases=False, priority=8))
