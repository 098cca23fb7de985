"""An action item's life: every status move, from which statuses, to which one, who may make it and what it needs.

TRANSITIONS is the one table (in the style of services.collection.states): every status change of an action item
reads its from-statuses here, in one ``UPDATE ... WHERE status IN (...)``. Basis: MSC 3.6 asks that weaknesses
found in partners' assessments are fixed promptly and that the fix is confirmed with documentary evidence; so
saying "done" and closing need a note and evidence, and the team accepts or reopens what the owner or the partner
says is done.
"""

from dataclasses import dataclass
from enum import StrEnum

from models.actions import ActionStatus
from services.collection.states import Mover, mover_of
from services.core.permissions import Actor, PermissionDenied

A = ActionStatus


class Move(StrEnum):
    """The moves, named as the audit log names them."""

    create = "create"  # generated from a cause, or added by hand
    start = "start"
    done = "mark done"  # the owner or the partner says it is done: for the team to accept
    accept = "accept"
    close = "close"  # the team closes it itself
    reopen = "reopen"


class Needs(StrEnum):
    """What a move must carry."""

    note = "a closing note"  # what was done
    evidence = "evidence"  # at least one file added since the item was last reopened
    comment = "a comment"  # why the team sends it back (the partner reads it)


@dataclass(frozen=True)
class Transition:
    move: Move
    sources: frozenset[ActionStatus]  # empty: the move creates the item
    target: ActionStatus
    movers: frozenset[Mover]
    needs: frozenset[Needs]
    basis: str  # why, in the team's words


# The owner (or the partner) still has to act: the item can be worked on, marked done or closed.
WORKING: frozenset[ActionStatus] = frozenset({A.open, A.in_progress, A.reopened})
# Still in the plan: counted as open, can be overdue, reminded.
NOT_CLOSED: frozenset[ActionStatus] = frozenset(A) - {A.closed}

_TEAM = frozenset({Mover.staff})
_TEAM_OR_SYSTEM = frozenset({Mover.staff, Mover.system})
_PARTNER_OR_TEAM = frozenset({Mover.partner, Mover.staff})
_CLOSING = frozenset({Needs.note, Needs.evidence})

TRANSITIONS: tuple[Transition, ...] = (
    Transition(Move.create, frozenset(), A.open, _TEAM_OR_SYSTEM, frozenset(),
               "generated from a gap, a lane flag, an open incident or a High threat, or added by hand"),
    Transition(Move.start, frozenset({A.open, A.reopened}), A.in_progress, _PARTNER_OR_TEAM, frozenset(),
               "the owner or the partner is working on it"),
    Transition(Move.done, WORKING, A.awaiting, _PARTNER_OR_TEAM, _CLOSING,
               "MSC 3.6: the fix is confirmed with a note and documentary evidence, for the team to check"),
    Transition(Move.accept, frozenset({A.awaiting}), A.closed, _TEAM, frozenset(),
               "the team checked the note and the evidence"),
    Transition(Move.close, WORKING, A.closed, _TEAM, _CLOSING,
               "the team closes it itself, with a note and documentary evidence (MSC 3.6)"),
    Transition(Move.reopen, frozenset({A.awaiting, A.closed}), A.reopened, _TEAM, frozenset({Needs.comment}),
               "the evidence does not show the weakness is fixed, or it came back; the comment says what is missing"),
)


def transition(move: Move) -> Transition:
    """The row of one move."""
    return next(t for t in TRANSITIONS if t.move == move)


def next_moves(status: ActionStatus, mover: Mover | None = None) -> tuple[Transition, ...]:
    """What can happen next to an item in `status` (for `mover`, when given)."""
    return tuple(t for t in TRANSITIONS if status in t.sources and (mover is None or mover in t.movers))


def require(actor: Actor | None, move: Move) -> Mover:
    """The actor's kind when it may make `move` at all; PermissionDenied otherwise (a viewer, nobody).

    Whether a partner may touch a given item (its own, shared with it) is checked by the service that loads it.
    """
    if actor is None:
        raise PermissionDenied("Nobody signed in: this change needs a team member or the partner's own link.")
    mover = mover_of(actor)
    if mover is None or mover not in transition(move).movers:
        raise PermissionDenied(f"{actor.username} ({actor.role}) may not {move} an action item.")
    return mover
