"""The questionnaire: order, languages, pre-fill from last cycle, saving only changes, history, submit and review."""

from datetime import date, timedelta

import pandas as pd
import pytest
from sqlalchemy import delete, select, update
from sqlmodel import Session

from models import Answer, Assignment, CriterionText, Cycle, Partner, ReviewComment
from models.common import ENTITY_TYPES, utcnow
from services.collection import cycles, links, questionnaire
from services.core import audit
from services.core.permissions import PermissionDenied, ValidationError
from services.partners.registry import create_partner
from services.reference.criteria import criteria_for_entity_type
from tests.conftest import ANALYST, VIEWER, via_link

DUE = date.today() + timedelta(days=60)


def add_partner(session: Session, code: str, **values) -> Partner:
    base = {"partner_code": code, "legal_name": f"{code} Ltd", "entity_type": "Foreign Manufacturer",
            "country_iso2": "CN"}
    return create_partner(session=session, actor=ANALYST, values={**base, **values})


def open_for(session: Session, partner: Partner, name: str = "2027") -> Assignment:
    cycle = cycles.open_cycle(session=session, actor=ANALYST, name=name, due_date=DUE, partner_ids=[partner.id])
    return session.exec(select(Assignment).where(Assignment.cycle_id == cycle.id)).scalar_one()


def answer_all(session: Session, assignment: Assignment, value: str = "yes", source: str = "link", **extra) -> int:
    ids = questionnaire.applicable_criteria(session=session, assignment_id=assignment.id)
    actor = ANALYST if source == "staff" else via_link(session, assignment.id)
    return questionnaire.save_answers(
        session=session, assignment_id=assignment.id, source=source, answered_by="Ms. Chen", actor=actor,
        answers=[{"criterion_id": c, "value": value, "comment": f"comment {c}" if value != "yes" else ""} | extra
                 for c in ids],
    )


def history_count(session: Session, assignment: Assignment) -> int:
    return len(session.exec(select(Answer.id).where(Answer.assignment_id == assignment.id)).all())


def test_questions_follow_category_then_must_then_number(session, staff):
    assignment = open_for(session, add_partner(session, "A1"))
    frame = questionnaire.questionnaire(session=session, assignment_id=assignment.id)
    assert list(frame.columns) == questionnaire.QUESTIONNAIRE_COLUMNS

    catalogue = criteria_for_entity_type(session=session, entity_type="Foreign Manufacturer")
    expected = set(catalogue.loc[catalogue["asked_by_default"] == "yes", "criterion_id"])  # no land border in China
    assert set(frame["criterion_id"]) == expected and frame["criterion_id"].is_unique
    assert frame["category_number"].is_monotonic_increasing
    for _, category in frame.groupby("category_number"):
        must = category["requirement"].eq("must").tolist()
        assert must == sorted(must, reverse=True)  # every must before any should
        for _, same in category.groupby(category["requirement"].eq("must")):
            numbers = same["criterion_id"].str.split(".").str[1].astype(int).tolist()
            assert numbers == sorted(numbers)
    ids = frame["criterion_id"].tolist()
    assert ids.index("4.9") < ids.index("4.10")
    assert frame["question"].str.len().gt(0).all()
    assert frame["evidence_count"].eq(0).all() and set(frame["value"]) == {""}


def test_questions_are_the_criteria_catalogue_set_for_every_entity_type(session, staff):
    for number, entity_type in enumerate(ENTITY_TYPES):
        add_partner(session, f"E{number}", entity_type=entity_type)
    cycle = cycles.open_cycle(session=session, actor=ANALYST, name="all types", due_date=DUE)
    for assignment in session.exec(select(Assignment).where(Assignment.cycle_id == cycle.id)).scalars():
        entity_type = session.get(Partner, assignment.partner_id).entity_type
        catalogue = criteria_for_entity_type(session=session, entity_type=entity_type)
        catalogue = catalogue[catalogue["asked_by_default"] == "yes"]  # partners in China: no land-border items
        frame = questionnaire.questionnaire(session=session, assignment_id=assignment.id)
        assert dict(zip(frame["criterion_id"], frame["requirement"], strict=True)) == dict(
            zip(catalogue["criterion_id"], catalogue["requirement"], strict=True)), entity_type


def test_questionnaire_applies_the_entity_type(session, staff):
    broker = open_for(session, add_partner(session, "BRK1", entity_type="Customs Broker", country_iso2="US"))
    frame = questionnaire.questionnaire(session=session, assignment_id=broker.id)
    # Brokers do not handle conveyances or seals; reporting a threat to a shipment (5.29) is theirs.
    assert set(frame.loc[frame["category_number"].isin([5, 6]), "criterion_id"]) == {"5.29"}
    with pytest.raises(ValidationError, match="not a question for a Customs Broker"):
        questionnaire.save_answers(session=session, assignment_id=broker.id, source="link", answered_by="x",
                                   answers=[{"criterion_id": "6.1", "value": "yes"}],
                                   actor=via_link(session, broker.id))


def test_question_language_with_english_fallback(session, staff):
    partner = add_partner(session, "ZH1", language="zh")
    assignment = open_for(session, partner)
    english = dict(session.exec(select(CriterionText.criterion_id, CriterionText.question)
                                .where(CriterionText.language == "en")).all())
    chinese = questionnaire.questionnaire(session=session, assignment_id=assignment.id)
    row = chinese.set_index("criterion_id").loc["1.1"]
    assert row["question"] != english["1.1"] and "CTPAT" in row["question"]
    spanish = questionnaire.questionnaire(session=session, assignment_id=assignment.id, language="es")
    assert spanish.set_index("criterion_id").loc["1.1", "question"].startswith("¿")
    assert questionnaire.questionnaire(session=session, assignment_id=assignment.id, language="fr").set_index(
        "criterion_id").loc["1.1", "question"] == english["1.1"]
    try:
        session.exec(delete(CriterionText).where(CriterionText.criterion_id == "1.1", CriterionText.language == "zh"))
        fallback = questionnaire.questionnaire(session=session, assignment_id=assignment.id)
        assert fallback.set_index("criterion_id").loc["1.1", "question"] == english["1.1"]
    finally:
        session.rollback()  # reference data stays as loaded for the other tests


def test_answers_are_stored_once_whatever_the_language(session, staff):
    assignment = open_for(session, add_partner(session, "ES1", language="es"))
    questionnaire.save_answers(session=session, assignment_id=assignment.id, source="link", answered_by="Sra. Ramírez",
                               answers=[{"criterion_id": "1.1", "value": "YES "}],
                               actor=via_link(session, assignment.id))
    english = questionnaire.questionnaire(session=session, assignment_id=assignment.id, language="en")
    spanish = questionnaire.questionnaire(session=session, assignment_id=assignment.id)
    assert english.set_index("criterion_id").loc["1.1", "value"] == "yes"
    assert spanish.set_index("criterion_id").loc["1.1", "value"] == "yes"
    assert history_count(session, assignment) == 1


def test_save_writes_only_changes_and_keeps_history(session, staff):
    assignment = open_for(session, add_partner(session, "A1"))
    links.issue_link(session=session, actor=ANALYST, assignment_id=assignment.id)
    total = len(questionnaire.applicable_criteria(session=session, assignment_id=assignment.id))
    assert answer_all(session, assignment) == total
    assert assignment.status == "in progress"
    assert answer_all(session, assignment) == 0  # nothing changed, nothing written
    assert history_count(session, assignment) == total

    written = questionnaire.save_answers(
        session=session, assignment_id=assignment.id, source="staff", answered_by="luis", actor=ANALYST,
        answers=[{"criterion_id": "4.10", "value": "partial", "comment": "new seal log since March"},
                 {"criterion_id": "4.9", "value": "yes", "comment": ""}],
    )
    assert written == 1 and history_count(session, assignment) == total + 1
    history = questionnaire.answer_history(session=session, assignment_id=assignment.id, criterion_id="4.10")
    assert list(history.columns) == questionnaire.HISTORY_COLUMNS
    assert history[["value", "source", "answered_by", "is_current"]].values.tolist() == [
        ["partial", "staff", "luis", True], ["yes", "link", "Ms. Chen", False]]
    assert history["recorded_at"].notna().all()
    row = questionnaire.questionnaire(session=session, assignment_id=assignment.id).set_index("criterion_id").loc[
        "4.10"]
    assert (row["value"], row["comment"], row["source"], row["answered_by"]) == (
        "partial", "new seal log since March", "staff", "luis")

    events = audit.list_events(session=session, action="answer")
    assert events["user"].tolist() == ["luis", "partner:A1"]
    assert events.iloc[0]["after"] == {"4.10": "partial"} and events.iloc[0]["before"] == {"4.10": "yes"}


def test_invalid_answers_write_nothing(session, staff):
    assignment = open_for(session, add_partner(session, "A1"))
    bad = [
        {"criterion_id": "1.1", "value": "maybe"},
        {"criterion_id": "99.1", "value": "yes"},
        {"criterion_id": "1.2", "value": "", "comment": "forgot the answer"},
        {"criterion_id": "1.3", "value": "yes"},
        {"criterion_id": "1.3", "value": "no"},
    ]
    with pytest.raises(ValidationError) as raised:
        questionnaire.save_answers(session=session, assignment_id=assignment.id, source="link", answered_by="x",
                                   answers=bad, actor=via_link(session, assignment.id))
    message = str(raised.value)
    assert "1.1: 'maybe' is not an answer" in message and "99.1: not a question" in message
    assert "1.2: choose an answer" in message and "1.3: answered twice" in message
    assert history_count(session, assignment) == 0 and assignment.status == "not sent"
    # Unanswered rows of a draft are simply skipped.
    assert questionnaire.save_answers(session=session, assignment_id=assignment.id, source="link", answered_by="x",
                                      answers=[{"criterion_id": "1.1", "value": None, "comment": float("nan")}],
                                      actor=via_link(session, assignment.id)) == 0


def test_staff_entry_needs_a_writer(session, staff):
    assignment = open_for(session, add_partner(session, "A1"))
    answers = [{"criterion_id": "1.1", "value": "yes"}]
    with pytest.raises(PermissionDenied):
        questionnaire.save_answers(session=session, assignment_id=assignment.id, source="staff", answered_by="vp",
                                   actor=VIEWER, answers=answers)
    with pytest.raises(PermissionDenied):
        questionnaire.save_answers(session=session, assignment_id=assignment.id, source="staff", answered_by="x",
                                   answers=answers, actor=None)
    with pytest.raises(ValidationError, match="source"):
        questionnaire.save_answers(session=session, assignment_id=assignment.id, source="email", answered_by="x",
                                   answers=answers, actor=ANALYST)


def test_prefill_from_last_cycles_accepted_answers(session, staff):
    add_partner(session, "A1")
    add_partner(session, "B1")
    cycle_2026 = cycles.open_cycle(session=session, actor=ANALYST, name="2026", due_date=DUE)
    old, old_other = session.exec(select(Assignment).where(Assignment.cycle_id == cycle_2026.id)
                                  .order_by(Assignment.partner_id)).scalars().all()
    answer_all(session, old, value="partial")
    assert questionnaire.submit(session=session, assignment_id=old.id, submitted_by="Ms. Chen",
                                actor=via_link(session, old.id)) == []
    questionnaire.accept(session=session, actor=ANALYST, assignment_id=old.id)
    answer_all(session, old_other, value="no")
    assert questionnaire.submit(session=session, assignment_id=old_other.id, submitted_by="B",
                                actor=via_link(session, old_other.id)) == []  # not accepted
    cycles.close_cycle(session=session, actor=ANALYST, cycle_id=cycle_2026.id)

    cycle_2027 = cycles.open_cycle(session=session, actor=ANALYST, name="2027", due_date=DUE)
    new, new_other = session.exec(select(Assignment).where(Assignment.cycle_id == cycle_2027.id)
                                  .order_by(Assignment.partner_id)).scalars().all()
    frame = questionnaire.questionnaire(session=session, assignment_id=new.id)
    assert set(frame["previous_value"]) == {"partial"} and set(frame["value"]) == {""}
    assert frame.set_index("criterion_id").loc["4.10", "previous_comment"] == "comment 4.10"
    assert set(questionnaire.questionnaire(session=session, assignment_id=new_other.id)["previous_value"]) == {""}

    # The partner confirms the pre-filled answers: they are written for the new cycle.
    confirmed = [{"criterion_id": r.criterion_id, "value": r.previous_value, "comment": r.previous_comment}
                 for r in frame.itertuples()]
    assert questionnaire.save_answers(session=session, assignment_id=new.id, source="link", answered_by="Ms. Chen",
                                      answers=confirmed, actor=via_link(session, new.id)) == len(frame)
    assert questionnaire.submit(session=session, assignment_id=new.id, submitted_by="Ms. Chen",
                                actor=via_link(session, new.id)) == []
    assert set(questionnaire.questionnaire(session=session, assignment_id=old.id)["value"]) == {"partial"}


def test_submit_lists_problems_in_questionnaire_order(session, staff):
    assignment = open_for(session, add_partner(session, "A1"))
    ids = questionnaire.applicable_criteria(session=session, assignment_id=assignment.id)
    answers = [{"criterion_id": c, "value": "yes"} for c in ids if c not in ("1.2", "4.10", "4.9")]
    answers += [{"criterion_id": "4.10", "value": "no"}, {"criterion_id": "4.9", "value": "partial", "comment": " "}]
    questionnaire.save_answers(session=session, assignment_id=assignment.id, source="link", answered_by="x",
                               answers=answers, actor=via_link(session, assignment.id))
    problems = questionnaire.submit(session=session, assignment_id=assignment.id, submitted_by="x",
                                    actor=via_link(session, assignment.id))
    assert problems == ["1.2: not answered", "4.9: a comment is required for 'partial'",
                        "4.10: a comment is required for 'no'"]
    assert questionnaire.missing_answers(session=session, assignment_id=assignment.id) == ["1.2"]
    assert assignment.status == "in progress"


def test_state_machine_refuses_illegal_transitions(session, staff):
    assignment = open_for(session, add_partner(session, "A1"))
    with pytest.raises(ValidationError, match="only a submitted questionnaire can be accepted"):
        questionnaire.accept(session=session, actor=ANALYST, assignment_id=assignment.id)
    with pytest.raises(ValidationError, match="only a submitted questionnaire can be returned"):
        questionnaire.return_for_fixes(session=session, actor=ANALYST, assignment_id=assignment.id,
                                       comments={"1.1": "why?"})
    answer_all(session, assignment)
    assert questionnaire.submit(session=session, assignment_id=assignment.id, submitted_by="Ms. Chen",
                                actor=via_link(session, assignment.id)) == []
    assert assignment.status == "submitted" and assignment.submitted_at is not None
    with pytest.raises(ValidationError, match="submitted; it cannot be submitted again"):
        questionnaire.submit(session=session, assignment_id=assignment.id, submitted_by="Ms. Chen",
                             actor=via_link(session, assignment.id))
    with pytest.raises(ValidationError, match="submitted; its answers cannot be changed"):
        answer_all(session, assignment, value="no")
    with pytest.raises(PermissionDenied):
        questionnaire.accept(session=session, actor=VIEWER, assignment_id=assignment.id)
    with pytest.raises(PermissionDenied):
        questionnaire.accept(session=session, actor=via_link(session, assignment.id), assignment_id=assignment.id)
    questionnaire.accept(session=session, actor=ANALYST, assignment_id=assignment.id)
    with pytest.raises(ValidationError, match="this one is accepted"):
        questionnaire.accept(session=session, actor=ANALYST, assignment_id=assignment.id)
    with pytest.raises(ValidationError, match="accepted; its answers cannot be changed"):
        answer_all(session, assignment, value="no", source="staff")


def test_a_stale_page_cannot_change_a_submitted_questionnaire(session, staff, engine):
    assignment = open_for(session, add_partner(session, "A1"))
    answer_all(session, assignment)
    session.commit()
    with Session(engine, expire_on_commit=False) as other:
        stale = other.get(Assignment, assignment.id)  # loaded while still "in progress"
        assert stale.status == "in progress"
        assert questionnaire.submit(session=session, assignment_id=assignment.id, submitted_by="x",
                                    actor=via_link(session, assignment.id)) == []
        session.commit()
        with pytest.raises(ValidationError, match="submitted"):
            questionnaire.save_answers(session=other, assignment_id=assignment.id, source="link", answered_by="x",
                                       answers=[{"criterion_id": "1.1", "value": "no", "comment": "late"}],
                                       actor=via_link(other, assignment.id))
        other.rollback()
    current = select(Answer.value).where(Answer.assignment_id == assignment.id, Answer.criterion_id == "1.1",
                                         Answer.is_current)
    assert session.exec(current).scalar_one() == "yes"


def test_closed_cycle_is_read_only(session, staff):
    assignment = open_for(session, add_partner(session, "A1"))
    cycles.close_cycle(session=session, actor=ANALYST, cycle_id=assignment.cycle_id)
    with pytest.raises(ValidationError, match="closed"):
        answer_all(session, assignment)
    with pytest.raises(ValidationError, match="closed"):
        questionnaire.submit(session=session, assignment_id=assignment.id, submitted_by="x",
                             actor=via_link(session, assignment.id))
    assert questionnaire.assignment_info(session=session, assignment_id=assignment.id)["editable"] is False


def test_mark_opened_once(session, staff):
    assignment = open_for(session, add_partner(session, "A1"))
    links.issue_link(session=session, actor=ANALYST, assignment_id=assignment.id)
    assert questionnaire.mark_opened(session=session, assignment_id=assignment.id,
                                     actor=via_link(session, assignment.id)) is True
    session.refresh(assignment)
    assert assignment.status == "opened" and assignment.opened_at is not None
    assert questionnaire.mark_opened(session=session, assignment_id=assignment.id,
                                     actor=via_link(session, assignment.id)) is False
    events = audit.list_events(session=session, action="open", entity="assignment")
    assert events["user"].tolist() == ["partner:A1"]


def test_return_then_fix_then_accept(session, staff):
    assignment = open_for(session, add_partner(session, "A1"))
    token = links.issue_link(session=session, actor=ANALYST, assignment_id=assignment.id, valid_days=5)
    answer_all(session, assignment)
    assert questionnaire.submit(session=session, assignment_id=assignment.id, submitted_by="Ms. Chen",
                                actor=via_link(session, assignment.id)) == []
    assert links.resolve_token(session=session, token=token).status == "submitted"  # read-only view stays reachable

    with pytest.raises(ValidationError, match="at least one question"):
        questionnaire.return_for_fixes(session=session, actor=ANALYST, assignment_id=assignment.id,
                                       comments={"1.1": "  "})
    with pytest.raises(ValidationError, match="99.9: not a question"):
        questionnaire.return_for_fixes(session=session, actor=ANALYST, assignment_id=assignment.id,
                                       comments={"99.9": "what?"})
    questionnaire.return_for_fixes(session=session, actor=ANALYST, assignment_id=assignment.id,
                                   comments={"7.1": "Photo of the 7-point inspection checklist, please", "1.1": ""},
                                   note="Two small things")
    session.commit()
    assert assignment.status == "returned" and assignment.reviewed_by == "luis"
    assert links.resolve_token(session=session, token=token).id == assignment.id  # the link reopens
    assert assignment.token_expires_at > utcnow() + timedelta(days=29)  # extended so the partner can act on it

    frame = questionnaire.questionnaire(session=session, assignment_id=assignment.id).set_index("criterion_id")
    assert frame.loc["7.1", "review_comment"] == "Photo of the 7-point inspection checklist, please"
    assert frame.loc["1.1", "review_comment"] == ""

    questionnaire.save_answers(session=session, assignment_id=assignment.id, source="link", answered_by="Ms. Chen",
                               answers=[{"criterion_id": "7.1", "value": "yes", "comment": "checklist attached"}],
                               actor=via_link(session, assignment.id))
    assert assignment.status == "in progress"
    assert questionnaire.submit(session=session, assignment_id=assignment.id, submitted_by="Ms. Chen",
                                actor=via_link(session, assignment.id)) == []
    assert session.exec(select(ReviewComment.resolved)).scalars().all() == [True]
    assert set(questionnaire.questionnaire(session=session, assignment_id=assignment.id)["review_comment"]) == {""}
    questionnaire.accept(session=session, actor=ANALYST, assignment_id=assignment.id)
    session.commit()
    assert assignment.status == "accepted" and assignment.reviewed_at is not None

    events = audit.list_events(session=session, entity="assignment")
    flow = events[events["action"].isin(["submit", "return", "accept"])][["action", "user"]].values.tolist()
    assert flow[::-1] == [["submit", "partner:A1"], ["return", "luis"], ["submit", "partner:A1"], ["accept", "luis"]]
    returned = events[events["action"] == "return"].iloc[0]
    assert returned["after"]["comments"] == {"7.1": "Photo of the 7-point inspection checklist, please"}
    assert "Two small things" in returned["summary"]


def test_staff_can_submit_on_behalf(session, staff):
    assignment = open_for(session, add_partner(session, "A1"))
    answer_all(session, assignment, source="staff")
    with pytest.raises(PermissionDenied):
        questionnaire.submit(session=session, assignment_id=assignment.id, submitted_by="vp", actor=VIEWER)
    assert questionnaire.submit(session=session, assignment_id=assignment.id, submitted_by="by email",
                                actor=ANALYST) == []
    assert audit.list_events(session=session, action="submit").iloc[0]["user"] == "luis"


def test_unknown_assignment(session, staff):
    with pytest.raises(ValidationError, match="No assignment"):
        questionnaire.questionnaire(session=session, assignment_id=424242)
    assert session.exec(select(Cycle)).first() is None


def accepted_last_cycle(session: Session, partner: Partner, answers: dict[str, tuple[str, str]]):
    """An accepted 2026 questionnaire with these answers (the rest "yes"), then the 2027 one; returns it."""
    old = open_for(session, partner, name="2026")
    ids = questionnaire.applicable_criteria(session=session, assignment_id=old.id)
    questionnaire.save_answers(
        session=session, assignment_id=old.id, source="staff", answered_by="luis", actor=ANALYST,
        answers=[{"criterion_id": c, "value": answers.get(c, ("yes", ""))[0], "comment": answers.get(c, ("", ""))[1]}
                 for c in ids])
    session.exec(update(Assignment).where(Assignment.id == old.id).values(status="accepted"))
    return open_for(session, partner, name="2027"), ids


def test_prefilled_answers_count_and_are_confirmed_on_submit(session, staff):
    """Issue 7, item 1: what the partner sees pre-filled is what counts, and submitting stores it."""
    new, ids = accepted_last_cycle(session, add_partner(session, "A1"), {"4.10": ("no", "lost the log")})
    assert questionnaire.missing_answers(session=session, assignment_id=new.id) == []
    assert questionnaire.submission_problems(session=session, assignment_id=new.id) == []
    questionnaire.save_answers(session=session, assignment_id=new.id, source="link", answered_by="Ms. Chen",
                               answers=[{"criterion_id": "1.1", "value": "partial", "comment": "new CEO"}],
                               actor=via_link(session, new.id))
    assert questionnaire.submit(session=session, assignment_id=new.id, submitted_by="Ms. Chen",
                                actor=via_link(session, new.id)) == []
    stored = {a.criterion_id: a for a in session.exec(select(Answer).where(
        Answer.assignment_id == new.id, Answer.is_current)).scalars()}
    assert set(stored) == set(ids)
    assert (stored["1.1"].value, stored["4.10"].value, stored["4.10"].comment) == ("partial", "no", "lost the log")
    assert {a.source for a in stored.values()} == {"link"} and stored["4.10"].answered_by == "Ms. Chen"
    assert stored["4.10"].answered_on == date.today()
    event = audit.list_events(session=session, action="submit").iloc[0]
    assert f"{len(ids) - 1} answers confirmed from the last cycle" in event["summary"]
    assert len(event["after"]["confirmed"]) == len(ids) - 1


def test_prefill_that_breaks_todays_rules_must_be_fixed(session, staff):
    """An old "not applicable" on a must criterion without a reason: pre-filled, but not complete."""
    catalogue = criteria_for_entity_type(session=session, entity_type="Foreign Manufacturer")
    must = catalogue.loc[catalogue["requirement"] == "must", "criterion_id"].iloc[0]
    new, _ = accepted_last_cycle(session, add_partner(session, "A1"), {must: ("na", "")})
    assert questionnaire.submit(session=session, assignment_id=new.id, submitted_by="x",
                                actor=via_link(session, new.id)) == [f"{must}: a comment is required for 'na'"]
    assert session.exec(select(Answer).where(Answer.assignment_id == new.id)).first() is None  # nothing confirmed


def test_not_applicable_on_a_must_criterion_needs_a_comment_and_is_flagged(session, staff):
    assignment = open_for(session, add_partner(session, "A1"))
    frame = questionnaire.questionnaire(session=session, assignment_id=assignment.id).set_index("criterion_id")
    must = frame.index[frame["requirement"] == "must"][0]
    should = frame.index[frame["requirement"] == "should"][0]
    answers = [{"criterion_id": c, "value": "yes"} for c in frame.index if c not in (must, should)]
    answers += [{"criterion_id": must, "value": "na"}, {"criterion_id": should, "value": "na"}]
    answer_all_of = questionnaire.save_answers(session=session, assignment_id=assignment.id, source="link",
                                               answered_by="x", answers=answers, actor=via_link(session, assignment.id))
    assert answer_all_of == len(frame)
    assert questionnaire.submit(session=session, assignment_id=assignment.id, submitted_by="x",
                                actor=via_link(session, assignment.id)) == [f"{must}: a comment is required for 'na'"]
    questionnaire.save_answers(session=session, assignment_id=assignment.id, source="link", answered_by="x",
                               answers=[{"criterion_id": must, "value": "na", "comment": "no fleet of our own"}],
                               actor=via_link(session, assignment.id))
    assert questionnaire.submit(session=session, assignment_id=assignment.id, submitted_by="x",
                                actor=via_link(session, assignment.id)) == []
    flags = questionnaire.questionnaire(session=session, assignment_id=assignment.id).set_index("criterion_id")["flag"]
    assert flags[must] == "not applicable on a must criterion" and flags[should] == ""
    assert (flags != "").sum() == 1


def test_every_write_checks_its_actor(session, staff):
    """Issue 7, item 18: the service checks the partner's scope or the staff role itself, for every write."""
    a1, b1 = open_for(session, add_partner(session, "A1")), open_for(session, add_partner(session, "B1"), "2027 B")
    answer = [{"criterion_id": "1.1", "value": "yes"}]

    def save(actor, source="link", assignment=a1):
        return questionnaire.save_answers(session=session, assignment_id=assignment.id, source=source,
                                          answered_by="x", answers=answer, actor=actor)

    for actor, source in ((VIEWER, "link"), (ANALYST, "link"), (None, "link"), (via_link(session, b1.id), "link"),
                          (via_link(session, a1.id), "staff"), (via_link(session, a1.id), "file")):
        with pytest.raises(PermissionDenied):
            save(actor, source)
    for actor in (None, VIEWER, via_link(session, b1.id)):
        with pytest.raises(PermissionDenied):
            questionnaire.submit(session=session, assignment_id=a1.id, submitted_by="x", actor=actor)
    for actor in (None, ANALYST, via_link(session, b1.id)):
        with pytest.raises(PermissionDenied):
            questionnaire.mark_opened(session=session, assignment_id=a1.id, actor=actor)
    for action in (questionnaire.accept, questionnaire.return_for_fixes, questionnaire.reopen):
        extra = {} if action is questionnaire.accept else {"comments": {"1.1": "x"}}
        with pytest.raises(PermissionDenied):
            action(session=session, actor=via_link(session, a1.id), assignment_id=a1.id, **extra)
    for call in (lambda a: cycles.set_exempt(session=session, actor=a, assignment_id=a1.id, exempt=True, reason="x"),
                 lambda a: cycles.mark_sent(session=session, actor=a, assignment_ids=[a1.id]),
                 lambda a: links.issue_link(session=session, actor=a, assignment_id=a1.id)):
        for actor in (VIEWER, via_link(session, a1.id)):
            with pytest.raises(PermissionDenied):
                call(actor)
    assert history_count(session, a1) == history_count(session, b1) == 0
    assert save(via_link(session, a1.id)) == 1 and save(ANALYST, "staff", b1) == 1


def test_a_save_never_overwrites_a_newer_answer(session, staff):
    """Issue 7, item 16: the form says which answer version it was built from; a newer one is never overwritten."""
    assignment = open_for(session, add_partner(session, "A1"))
    partner = via_link(session, assignment.id)
    questionnaire.save_answers(session=session, assignment_id=assignment.id, source="link", answered_by="x",
                               answers=[{"criterion_id": "1.1", "value": "no", "comment": "old"}], actor=partner)
    shown = questionnaire.questionnaire(session=session, assignment_id=assignment.id).set_index("criterion_id")
    form = {cid: (None if pd.isna(i) else int(i)) for cid, i in shown["answer_id"].items()}
    # Meanwhile the team imports a newer answer to 1.1 and a first one to 1.2.
    questionnaire.save_answers(session=session, assignment_id=assignment.id, source="file", answered_by="luis",
                               answers=[{"criterion_id": "1.1", "value": "yes"},
                                        {"criterion_id": "1.2", "value": "yes"}], actor=ANALYST)
    stale = [{"criterion_id": "1.1", "value": "no", "comment": "old"}, {"criterion_id": "1.2", "value": "partial"},
             {"criterion_id": "1.3", "value": "yes"}]
    with pytest.raises(questionnaire.StaleAnswers, match="changed since this page was loaded .by luis.") as raised:
        questionnaire.save_answers(session=session, assignment_id=assignment.id, source="link", answered_by="x",
                                   answers=stale, actor=partner, expected=form)
    assert raised.value.criteria == ["1.1", "1.2"]
    current = questionnaire.questionnaire(session=session, assignment_id=assignment.id).set_index("criterion_id")
    assert (current.at["1.1", "value"], current.at["1.2", "value"], current.at["1.3", "value"]) == ("yes", "yes", "")
    # Rows equal to what is stored now, or not shown by the form, are not conflicts.
    same = [{"criterion_id": "1.1", "value": "yes"}, {"criterion_id": "1.3", "value": "yes"}]
    assert questionnaire.save_answers(session=session, assignment_id=assignment.id, source="link", answered_by="x",
                                      answers=same, actor=partner, expected={"1.1": form["1.1"]}) == 1


def test_reopen_an_accepted_questionnaire(session, staff):
    assignment = open_for(session, add_partner(session, "A1"))
    answer_all(session, assignment)
    partner = via_link(session, assignment.id)
    assert questionnaire.submit(session=session, assignment_id=assignment.id, submitted_by="x", actor=partner) == []
    with pytest.raises(ValidationError, match="only an accepted questionnaire can be reopened; this one is submitted"):
        questionnaire.reopen(session=session, actor=ANALYST, assignment_id=assignment.id, comments={"1.1": "x"})
    questionnaire.accept(session=session, actor=ANALYST, assignment_id=assignment.id)
    questionnaire.reopen(session=session, actor=ANALYST, assignment_id=assignment.id,
                         comments={"6.1": "New seal supplier: update the answer"}, note="annual change")
    assert assignment.status == "returned"
    assert answer_all(session, assignment, value="partial") > 0  # the partner can change it again
    event = audit.list_events(session=session, action="reopen").iloc[0]
    assert event["after"]["comments"] == {"6.1": "New seal supplier: update the answer"}
    assert "annual change" in event["summary"]


def test_the_team_may_correct_a_submission_it_reviews(session, staff):
    assignment = open_for(session, add_partner(session, "A1"))
    answer_all(session, assignment)
    assert questionnaire.submit(session=session, assignment_id=assignment.id, submitted_by="x",
                                actor=via_link(session, assignment.id)) == []
    written = questionnaire.save_answers(session=session, assignment_id=assignment.id, source="staff",
                                         answered_by="luis", actor=ANALYST,
                                         answers=[{"criterion_id": "1.1", "value": "partial", "comment": "by phone"}])
    session.refresh(assignment)
    assert written == 1 and assignment.status == "submitted"  # still waiting for the review
