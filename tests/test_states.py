"""The transition table (services.collection.states) and the answer rules (services.collection.rules)."""

import pandas as pd
import pytest

from models.collection import AnswerValue, AssignmentStatus
from models.common import Requirement
from services.collection import rules, states
from services.collection.states import Action, Mover, PartnerActor
from services.core.permissions import SYSTEM, PermissionDenied
from tests.conftest import ADMIN, ANALYST, VIEWER

S = AssignmentStatus


def test_every_status_is_reached_and_left_by_the_table():
    reached = {t.target for t in states.TRANSITIONS}
    assert reached == set(S)
    for status in S:
        assert states.next_moves(status), f"{status} is a dead end"


def test_allowed_from_reads_the_table():
    assert states.allowed_from(S.submitted, action=Action.submit) == states.EDITABLE
    assert states.allowed_from(S.accepted) == {S.submitted}
    assert states.allowed_from(S.returned) == {S.submitted, S.accepted}  # return, reopen
    assert states.allowed_from(action=Action.answer, mover=Mover.partner) == states.EDITABLE
    assert states.allowed_from(action=Action.answer, mover=Mover.staff) == states.EDITABLE | {S.submitted}
    assert states.allowed_from(S.exempt) == set(S) - {S.exempt, S.accepted}
    assert states.LOCKED == {S.accepted, S.exempt}
    assert states.FINISHED == {S.submitted, S.accepted, S.exempt}
    assert S.exempt not in states.LINK_OPENS and S.submitted in states.LINK_OPENS


def test_who_may_move():
    assert states.can(Mover.partner, S.sent, S.opened)
    assert not states.can(Mover.staff, S.sent, S.opened)  # only the partner opens its link
    assert states.can(Mover.partner, S.returned, S.submitted) and states.can(Mover.staff, S.returned, S.submitted)
    assert not states.can(Mover.partner, S.submitted, S.accepted)
    assert states.can(Mover.staff, S.accepted, S.returned)  # reopen
    assert states.can(Mover.system, None, S.not_sent) and not states.can(Mover.partner, None, S.not_sent)
    assert states.target(Action.answer, S.sent) == S.in_progress
    assert states.target(Action.answer, S.submitted) == S.submitted
    assert states.target(Action.submit, S.accepted) is None
    assert [t.action for t in states.next_moves(S.submitted, Mover.staff)] == [
        Action.answer, Action.return_, Action.accept, Action.exempt]


def test_actors_are_checked_by_kind_and_scope():
    partner = states.partner_actor("A1", 7)
    assert isinstance(partner, PartnerActor) and partner.username == "partner:A1"
    assert states.mover_of(partner) == Mover.partner
    assert states.mover_of(ANALYST) == states.mover_of(ADMIN) == Mover.staff
    assert states.mover_of(SYSTEM) == Mover.system
    assert states.mover_of(VIEWER) is None and states.mover_of(None) is None
    assert states.require(partner, Action.submit, 7) == Mover.partner
    with pytest.raises(PermissionDenied, match="own link"):
        states.require(partner, Action.submit, 8)
    with pytest.raises(PermissionDenied, match="may not accept"):
        states.require(partner, Action.accept, 7)
    with pytest.raises(PermissionDenied):
        states.require(VIEWER, Action.answer, 7)
    with pytest.raises(PermissionDenied, match="Nobody signed in"):
        states.require(None, Action.submit, 7)
    with pytest.raises(PermissionDenied, match="may not open"):
        states.require(ANALYST, Action.open, 7)


@pytest.mark.parametrize(("value", "requirement", "required"), [
    ("yes", "must", False), ("partial", "should", True), ("no", "must", True), ("na", "must", True),
    ("na", "should", False), ("yes", "should", False),
])
def test_when_a_comment_is_required(value, requirement, required):
    assert rules.comment_required(value, requirement) is required
    assert rules.comment_required_mask([value], [requirement]).tolist() == [required]
    assert (rules.comment_problem(value, requirement, " ") is not None) is required
    assert rules.comment_problem(value, requirement, "because") is None


def test_answer_values_and_flags():
    assert rules.parse_value(" YES ") == AnswerValue.yes and rules.parse_value("maybe") is None
    assert rules.is_answered("na") and not rules.is_answered("") and not rules.is_answered(None)
    assert rules.flag("na", Requirement.must) == rules.NA_ON_MUST
    assert rules.flag("na", Requirement.should) == rules.flag("no", Requirement.must) == ""
    assert rules.check_answer("1.1", "maybe", "") == ["1.1: 'maybe' is not an answer; use yes, partial, no or na"]
    assert rules.check_answer("1.1", "yes", "x" * 4001) == ["1.1: the comment is longer than 4000 characters"]


def test_prefill_counts_as_answered():
    frame = pd.DataFrame({
        "criterion_id": ["1.1", "1.2", "1.3", "1.4"],
        "requirement": ["must", "must", "must", "should"],
        "value": ["yes", "", "", ""], "comment": ["", "", "", ""],
        "previous_value": ["no", "partial", "", "na"], "previous_comment": ["old", "", "", ""],
    })
    shown = rules.with_prefill(frame)
    assert shown["shown_value"].tolist() == ["yes", "partial", "", "na"]
    assert shown["shown_comment"].tolist() == ["", "", "", ""]
    assert shown["carried"].tolist() == [False, True, False, True]
    assert rules.incomplete(shown) == ["1.2: a comment is required for 'partial'", "1.3: not answered"]
