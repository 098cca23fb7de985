"""Exemption from the questionnaire follows the certificate rule: a partner whose certificates stop covering it
during an open cycle joins that cycle, with a due date no earlier than the notice period (30 days or more).

The invitation itself comes with the follow-up engine, which reads the joined assignments (status "not sent" with
their own ``due_date``) and the certificate loss events (services.certificates.monitor.loss_events).
"""

from collections.abc import Iterable
from datetime import date, timedelta

from sqlmodel import Session, col, select

from models import Assignment, Cycle, Partner
from models.collection import AssignmentStatus, CycleStatus
from services.certificates import rule
from services.certificates import settings as rule_settings
from services.collection import cycles
from services.core import audit
from services.core.permissions import Actor, require_write


def join_uncovered(*, session: Session, actor: Actor, partner_ids: Iterable[int], today: date,
                   why: str) -> list[int]:
    """Un-exempt the partners' exempt questionnaires in open cycles when no certificate covers them today any more.

    Each joins "not sent" with its own due date: the cycle's, or today plus the notice period when that is later.
    Partners still covered (e.g. by a second certificate) stay exempt. Returns the assignment ids that joined.
    """
    require_write(actor)
    ids = sorted({int(p) for p in partner_ids})
    if not ids:
        return []
    exempt = session.exec(
        select(Assignment.id, Assignment.partner_id, Cycle.due_date, Cycle.name, Partner.partner_code)
        .join(Cycle, col(Cycle.id) == Assignment.cycle_id)
        .join(Partner, col(Partner.id) == Assignment.partner_id)
        .where(col(Assignment.partner_id).in_(ids), Assignment.status == AssignmentStatus.exempt,
               Cycle.status == CycleStatus.open)
    ).all()
    if not exempt:
        return []
    coverage = rule.partner_coverage(session=session, day=today, partner_ids=ids)
    covered = set(coverage.loc[coverage["covered"], "partner_id"].astype(int))
    notice = rule_settings.current(session=session).join_notice_days
    joined = []
    for assignment_id, partner_id, cycle_due, cycle_name, code in exempt:
        if partner_id in covered:
            continue
        due = max(cycle_due, today + timedelta(days=notice))
        cycles.set_exempt(session=session, actor=actor, assignment_id=assignment_id, exempt=False,
                          reason=f"no certificate covers it any more ({why})")
        cycles.guarded_update(session=session, assignment_id=assignment_id, allowed_from=(AssignmentStatus.not_sent,),
                              values={"due_date": due})
        audit.record(session=session, actor=actor, action="join", entity="assignment", entity_id=assignment_id,
                     summary=f"{code} joins {cycle_name}, due {due.isoformat()}: {why}"[:500],
                     after={"status": AssignmentStatus.not_sent, "due_date": due, "why": why})
        joined.append(assignment_id)
    return joined
