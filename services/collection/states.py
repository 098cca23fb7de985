"""A questionnaire's life: every status move, from which statuses, to which one, and who may make it.

TRANSITIONS is the one table. Every status change in services.collection reads its from-statuses here (the single
``UPDATE ... WHERE status IN (...)`` of cycles.guarded_update), and the action plan and the follow-ups read it to
know what can happen next. Who may: the team (an admin or analyst, or the command line), the partner through its
own personal link, or the application itself.
"""

from dataclasses import dataclass
from enum import StrEnum

from models.collection import AssignmentStatus, DerivedStatus
from services.core.permissions import SYSTEM, WRITE_ROLES, Actor, PermissionDenied

S = AssignmentStatus


class Mover(StrEnum):
    staff = "staff"  # a signed-in admin or analyst, or the command line
    partner = "partner"  # the partner through its own personal link
    system = "system"  # the application itself, e.g. a scheduled job


class Action(StrEnum):
    """The moves, named as the audit log names them."""

    create = "create"  # a cycle opens with a questionnaire per partner
    send = "send"  # a link is issued, or the invitation is marked as sent
    open = "open"  # the partner opens its link for the first time
    answer = "answer"  # answers or evidence are saved (a draft)
    submit = "submit"
    return_ = "return"  # the team sends a submission back with comments per question
    accept = "accept"
    exempt = "exempt"
    unexempt = "unexempt"
    reopen = "reopen"  # the team opens an accepted questionnaire for changes again


@dataclass(frozen=True)
class Transition:
    action: Action
    sources: frozenset[AssignmentStatus]  # empty: the move creates the questionnaire
    target: AssignmentStatus
    movers: frozenset[Mover]
    basis: str  # why, in the team's words


# Answers (and evidence) may change in these; the partner's link shows the form.
EDITABLE: frozenset[AssignmentStatus] = frozenset({S.not_sent, S.sent, S.opened, S.in_progress, S.returned})
# The partner's part is done: never overdue.
FINISHED: frozenset[AssignmentStatus] = frozenset({S.submitted, S.accepted, S.exempt})
# A personal link opens the questionnaire (the form, or the read-only view once submitted) in these.
LINK_OPENS: frozenset[AssignmentStatus] = frozenset(S) - {S.exempt}

_TEAM = frozenset({Mover.staff})
_TEAM_OR_SYSTEM = frozenset({Mover.staff, Mover.system})
_PARTNER = frozenset({Mover.partner})
_PARTNER_OR_TEAM = frozenset({Mover.partner, Mover.staff})

TRANSITIONS: tuple[Transition, ...] = (
    Transition(Action.create, frozenset(), S.not_sent, _TEAM_OR_SYSTEM, "a cycle opens for the partner"),
    Transition(Action.create, frozenset(), S.exempt, _TEAM_OR_SYSTEM,
               "a cycle opens and the partner holds a valid, verified CTPAT or MRA certification"),
    Transition(Action.send, frozenset({S.not_sent}), S.sent, _TEAM_OR_SYSTEM,
               "a personal link is issued or the invitation went out by other means"),
    Transition(Action.open, frozenset({S.not_sent, S.sent}), S.opened, _PARTNER, "the partner opens its link"),
    Transition(Action.answer, EDITABLE, S.in_progress, _PARTNER_OR_TEAM, "answers are saved as a draft"),
    Transition(Action.answer, frozenset({S.submitted}), S.submitted, _TEAM,
               "the team corrects a submission it is reviewing (e.g. from the partner's corrected file)"),
    Transition(Action.submit, EDITABLE, S.submitted, _PARTNER_OR_TEAM,
               "every question is answered, with a comment where the answer rules require one"),
    Transition(Action.return_, frozenset({S.submitted}), S.returned, _TEAM,
               "the team asks for fixes, with a comment per question"),
    Transition(Action.accept, frozenset({S.submitted}), S.accepted, _TEAM,
               "the answers become the partner's record and next cycle's pre-fill"),
    Transition(Action.exempt, frozenset(S) - {S.exempt, S.accepted}, S.exempt, _TEAM,
               "the team exempts the partner, with a reason (an accepted questionnaire is already the record)"),
    Transition(Action.unexempt, frozenset({S.exempt}), S.not_sent, _TEAM, "the team removes an exemption"),
    Transition(Action.reopen, frozenset({S.accepted}), S.returned, _TEAM,
               "the team opens an accepted questionnaire for changes, with a reason"),
)


def transitions(action: Action) -> tuple[Transition, ...]:
    """The rows of one action (answer and create have two)."""
    return tuple(t for t in TRANSITIONS if t.action == action)


def allowed_from(to: AssignmentStatus | None = None, *, action: Action | None = None,
                 mover: Mover | None = None) -> frozenset[AssignmentStatus]:
    """The statuses a move may start from: into `to`, by `action`, for `mover` (each optional, combined)."""
    return frozenset().union(*(
        t.sources for t in TRANSITIONS
        if (to is None or t.target == to) and (action is None or t.action == action)
        and (mover is None or mover in t.movers)
    ))


def can(mover: Mover, from_status: AssignmentStatus | None, to: AssignmentStatus) -> bool:
    """Whether `mover` may move a questionnaire from `from_status` (None: not yet created) to `to`."""
    return any(
        mover in t.movers and t.target == to and (from_status in t.sources if from_status else not t.sources)
        for t in TRANSITIONS
    )


def next_moves(status: AssignmentStatus, mover: Mover | None = None) -> tuple[Transition, ...]:
    """What can happen next to a questionnaire in `status` (for `mover`, when given)."""
    return tuple(t for t in TRANSITIONS if status in t.sources and (mover is None or mover in t.movers))


def target(action: Action, from_status: AssignmentStatus) -> AssignmentStatus | None:
    """Where `action` leads from `from_status`, or None when it is not allowed from there."""
    return next((t.target for t in transitions(action) if from_status in t.sources), None)


# Answers that are the record (or not asked for): nobody may change them until the team reopens the questionnaire
# or removes the exemption.
LOCKED: frozenset[AssignmentStatus] = frozenset(S) - allowed_from(action=Action.answer, mover=Mover.staff)


def effective_status(status: str, *, overdue: bool) -> str:
    """The status the team sees: "overdue" once past the due date while the partner has not finished."""
    return DerivedStatus.overdue if overdue and status not in FINISHED else status


@dataclass(frozen=True)
class PartnerActor(Actor):
    """A partner acting through its personal link: it may act on its own questionnaire only."""

    assignment_id: int = 0


def partner_actor(partner_code: str, assignment_id: int) -> PartnerActor:
    """The identity of a partner acting through the link of one assignment (audit name "partner:<code>")."""
    return PartnerActor(f"partner:{partner_code}", Mover.partner, assignment_id)


def mover_of(actor: Actor | None) -> Mover | None:
    """Which kind of mover an actor is; None for anyone who may not move a questionnaire (a viewer)."""
    if isinstance(actor, PartnerActor):
        return Mover.partner
    if actor == SYSTEM:
        return Mover.system
    if actor is not None and actor.role in WRITE_ROLES:
        return Mover.staff
    return None


def require(actor: Actor | None, action: Action, assignment_id: int | None = None) -> Mover:
    """The actor's kind when it may make `action` (on this assignment, when given); PermissionDenied otherwise.

    A partner actor may act only on the assignment of its own link; staff need a write role.
    """
    mover = mover_of(actor)
    if actor is None:
        raise PermissionDenied("Nobody signed in: this change needs a team member or the partner's own link.")
    if mover is None or all(mover not in t.movers for t in transitions(action)):
        raise PermissionDenied(f"{actor.username} ({actor.role}) may not {action} a questionnaire.")
    if isinstance(actor, PartnerActor) and (assignment_id is None or actor.assignment_id != assignment_id):
        raise PermissionDenied(f"{actor.username} may act only on the questionnaire of its own link.")
    return mover
