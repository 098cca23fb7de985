"""The action plan (MSC 3.6): generation from gaps, lane flags, incidents and threats (idempotent, in order), the
status moves with their closing rules, the partner's scope through its link, reopening, follow-up and progress reads.
"""

import io
from datetime import date, timedelta

import openpyxl
import pandas as pd
import pytest
from sqlalchemy import func, update
from sqlmodel import Session, select

from models import AuditEvent
from models.actions import ActionChange, ActionEvidence, ActionItem, ActionSource, ActionStatus
from models.collection import AnswerValue
from models.threats import ThreatCategory
from services.actions import export, generate, incidents, items, rules
from services.actions.items import Upload
from services.actions.states import Move
from services.core.permissions import SYSTEM, PermissionDenied, ValidationError
from services.lanes import flags, registry
from services.partners import sites
from services.threats import register
from tests.action_support import accepted, add_partner
from tests.conftest import ADMIN, ANALYST, VIEWER, add_user, via_link
from tests.risk_support import OCEAN_LANE, book

PDF = b"%PDF-1.4\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
TODAY = date.today()


@pytest.fixture(autouse=True)
def evidence_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("CTPAT_DATA_DIR", str(tmp_path))


def gap_items(session: Session, partner_id: int | None = None) -> pd.DataFrame:
    frame = items.list_items(session=session, today=TODAY, partner_id=partner_id)
    return frame[frame["source"] == ActionSource.gap]


def item_for(session: Session, partner_id: int, criterion: str) -> ActionItem:
    return session.exec(select(ActionItem).where(ActionItem.partner_id == partner_id,
                                                 ActionItem.criterion_id == criterion)
                        .order_by(ActionItem.occurrence.desc())).first()


def close(session: Session, item_id: int, note: str = "New seal log in use since May; photo attached") -> ActionItem:
    return items.move(session=session, actor=ANALYST, action_id=item_id, to=Move.close, note=note,
                      files=[Upload("seal-log.pdf", PDF)])


def test_gaps_are_generated_unmet_must_first_once_and_only_in_the_plan(session, staff):
    factory = add_partner(session, "CN-F1")
    # 6.1 and 7.23 are musts for a foreign manufacturer; 1.1 and 1.2 shoulds.
    accepted(session, factory, {"6.1": AnswerValue.no, "7.23": AnswerValue.partial, "1.1": AnswerValue.no,
                                "1.2": AnswerValue.partial})
    preview = generate.generate(session=session, actor=ANALYST, dry_run=True)
    assert preview.created[ActionSource.gap] == 3 and preview.dry_run
    assert session.exec(select(func.count()).select_from(ActionItem)).one() == 0  # a dry run writes nothing

    report = generate.generate(session=session, actor=ANALYST)
    session.commit()
    assert report.created[ActionSource.gap] == 3
    plan = gap_items(session)
    assert plan["criterion_id"].tolist() == ["6.1", "7.23", "1.1"]  # unmet must, partial must, unmet should
    assert plan["priority"].tolist() == [1, 2, 3]
    assert plan["answer_value"].tolist() == ["no", "partial", "no"]
    assert plan["due_date"].tolist() == [TODAY + timedelta(days=d) for d in (30, 60, 90)]
    assert plan["shared_with_partner"].all() and (plan["status"] == ActionStatus.open).all()
    assert "1.2" not in set(plan["criterion_id"])  # a partial should is not generated (rules.GAP_RULES)
    assert "not yet for 6.1" in plan.iloc[0]["detail"]

    again = generate.generate(session=session, actor=ANALYST)
    session.commit()
    assert again.total == 0 and again.tracked == report.total
    assert session.exec(select(func.count()).select_from(ActionItem)).one() == report.total
    keys = session.exec(select(ActionItem.source_key)).all()
    assert len(keys) == len(set(keys)) and all(k.endswith("#1") for k in keys)
    events = session.exec(select(AuditEvent).where(AuditEvent.action == "generate")).all()
    assert len(events) == 1 and "3 gap" in events[0].summary  # nothing changed the second time: no event


def test_two_runs_at_once_never_duplicate(session, engine, staff):
    factory = add_partner(session, "CN-F1")
    accepted(session, factory, {"6.1": AnswerValue.no})
    causes = generate.all_causes(session=session, today=TODAY)
    plan = generate.plan_changes(session=session, causes=causes)  # this run read before the other one wrote
    with Session(engine) as other:
        generate.generate(session=other, actor=ANALYST)
        other.commit()
    generate.apply_plan(session=session, actor=ANALYST, plan=plan, today=TODAY, default_owner=None)
    session.commit()
    assert session.exec(select(func.count()).select_from(ActionItem)).one() == len(causes)


def test_a_closed_item_stays_closed_and_a_gap_that_returns_opens_a_new_one(session, staff):
    factory = add_partner(session, "CN-F1")
    accepted(session, factory, {"6.1": AnswerValue.no}, cycle="2026")
    generate.generate(session=session, actor=ANALYST)
    first = item_for(session, factory.id, "6.1")
    close(session, first.id)
    session.commit()
    # Still the same accepted questionnaire: the closure stands, nothing new.
    report = generate.generate(session=session, actor=ANALYST)
    assert report.created[ActionSource.gap] == 0 and item_for(session, factory.id, "6.1").id == first.id

    accepted(session, factory, {}, cycle="2027")  # fixed: the cause is gone
    report = generate.generate(session=session, actor=ANALYST)
    session.commit()
    assert report.gone >= 1 and report.created[ActionSource.gap] == 0
    session.refresh(first)
    assert first.status == ActionStatus.closed and first.cause_gone_on == TODAY  # not reopened

    accepted(session, factory, {"6.1": AnswerValue.partial}, cycle="2028")  # the gap is back
    report = generate.generate(session=session, actor=ANALYST)
    session.commit()
    assert report.created[ActionSource.gap] == 1 and report.returned == 1
    second = item_for(session, factory.id, "6.1")
    assert second.id != first.id and second.occurrence == 2 and second.source_key.endswith("#2")
    assert second.status == ActionStatus.open and second.priority == 2


def test_a_gap_seen_again_in_a_later_questionnaire_after_closing_opens_a_new_item(session, staff):
    factory = add_partner(session, "CN-F1")
    accepted(session, factory, {"6.1": AnswerValue.no}, cycle="2026")
    generate.generate(session=session, actor=ANALYST)
    close(session, item_for(session, factory.id, "6.1").id)
    session.commit()
    accepted(session, factory, {"6.1": AnswerValue.no}, cycle="2027")  # accepted after the closure, still a gap
    assert generate.generate(session=session, actor=ANALYST).returned == 1


def test_an_open_item_whose_cause_went_is_marked_and_unmarked_when_it_is_back(session, staff):
    factory = add_partner(session, "CN-F1")
    accepted(session, factory, {"6.1": AnswerValue.no}, cycle="2026")
    generate.generate(session=session, actor=ANALYST)
    accepted(session, factory, {}, cycle="2027")
    generate.generate(session=session, actor=ANALYST)
    item = item_for(session, factory.id, "6.1")
    session.refresh(item)
    assert item.status == ActionStatus.open and item.cause_gone_on == TODAY  # closing still needs note and evidence
    accepted(session, factory, {"6.1": AnswerValue.no}, cycle="2028")
    report = generate.generate(session=session, actor=ANALYST)
    session.refresh(item)
    assert report.back == 1 and report.created[ActionSource.gap] == 0 and item.cause_gone_on is None


def test_closing_needs_a_note_and_evidence_and_leaves_nothing_half_written(session, staff):
    factory = add_partner(session, "CN-F1")
    accepted(session, factory, {"6.1": AnswerValue.no})
    generate.generate(session=session, actor=ANALYST)
    item = item_for(session, factory.id, "6.1")
    session.commit()
    with pytest.raises(ValidationError, match="closing note"):
        items.move(session=session, actor=ANALYST, action_id=item.id, to=Move.close, files=[Upload("a.pdf", PDF)])
    with pytest.raises(ValidationError, match="evidence file"):
        items.move(session=session, actor=ANALYST, action_id=item.id, to=Move.close, note="Fixed it")
    with pytest.raises(ValidationError, match="program or script"):
        items.move(session=session, actor=ANALYST, action_id=item.id, to=Move.close, note="Fixed it",
                   files=[Upload("fix.pdf", b"MZ\x90\x00")])
    session.rollback()
    assert session.exec(select(func.count()).select_from(ActionEvidence)).one() == 0
    with pytest.raises(ValidationError, match="is open; it cannot be closed on acceptance now"):
        items.move(session=session, actor=ANALYST, action_id=item.id, to=Move.accept)
    with pytest.raises(PermissionDenied):
        items.move(session=session, actor=VIEWER, action_id=item.id, to=Move.close, note="x",
                   files=[Upload("a.pdf", PDF)])

    closed = close(session, item.id)
    session.commit()
    assert closed.status == ActionStatus.closed and closed.closed_by == "luis" and closed.closing_note
    assert closed.version == 2 and closed.closed_at is not None
    [change] = session.exec(select(ActionChange).where(ActionChange.action_id == item.id)).all()
    assert (change.from_status, change.to_status) == (ActionStatus.open, ActionStatus.closed)
    detail = items.get_item(session=session, actor=VIEWER, action_id=item.id)
    assert detail["evidence"]["filename"].tolist() == ["seal-log.pdf"]
    assert detail["history"]["to_status"].tolist() == [ActionStatus.open, ActionStatus.closed]
    row, data = items.read_evidence(session=session, actor=VIEWER, evidence_id=int(detail["evidence"]["id"][0]))
    assert data == PDF and row.sha256 == detail["evidence"]["sha256"][0]
    assert session.exec(select(AuditEvent).where(AuditEvent.entity == "action item",
                                                 AuditEvent.action == Move.close)).one()


def test_a_stale_form_is_refused(session, staff):
    factory = add_partner(session, "CN-F1")
    accepted(session, factory, {"6.1": AnswerValue.no})
    generate.generate(session=session, actor=ANALYST)
    item = item_for(session, factory.id, "6.1")
    items.update_item(session=session, actor=ANALYST, action_id=item.id, values={"priority": 3})
    with pytest.raises(ValidationError, match="changed since you opened it"):
        items.move(session=session, actor=ANALYST, action_id=item.id, to=Move.start, expected_version=1)


@pytest.fixture
def two_partners(session, staff):
    mine = add_partner(session, "CN-F1")
    other = add_partner(session, "VN-F2", country_iso2="VN")
    mine_assignment = accepted(session, mine, {"6.1": AnswerValue.no, "7.23": AnswerValue.partial})
    accepted(session, other, {"6.1": AnswerValue.no})
    generate.generate(session=session, actor=ANALYST)
    session.commit()
    return mine, other, via_link(session, mine_assignment.id)


def test_a_partner_sees_and_closes_only_its_own_shared_items(session, two_partners):
    mine, other, partner = two_partners
    private = items.add_item(session=session, actor=ANALYST, values={
        "title": "Check the partner's CCTV retention on the next visit", "partner_id": mine.id,
        "due_date": TODAY + timedelta(days=20)})
    own = items.partner_items(session=session, actor=partner, language="zh")
    assert own["criterion_id"].tolist() == ["6.1", "7.23"]  # own, shared, in plan order; not the private item
    assert private.id not in set(own["id"])
    assert own["question"].str.len().gt(0).all() and own["question"].iloc[0] != own["question"].iloc[1]
    theirs = item_for(session, other.id, "6.1")
    for action_id in (theirs.id, private.id):
        with pytest.raises(PermissionDenied, match="its own action items"):
            items.move(session=session, actor=partner, action_id=action_id, to=Move.done, note="done",
                       files=[Upload("a.pdf", PDF)])
        with pytest.raises(PermissionDenied):
            items.add_evidence(session=session, actor=partner, action_id=action_id, files=[Upload("a.pdf", PDF)])
    with pytest.raises(PermissionDenied):
        items.get_item(session=session, actor=partner, action_id=theirs.id)  # staff only
    with pytest.raises(PermissionDenied):
        items.partner_items(session=session, actor=ANALYST)

    target = int(own["id"].iloc[0])
    with pytest.raises(PermissionDenied):  # only the team accepts or closes
        items.move(session=session, actor=partner, action_id=target, to=Move.close, note="done",
                   files=[Upload("a.pdf", PDF)])
    items.move(session=session, actor=partner, action_id=target, to=Move.start)
    done = items.move(session=session, actor=partner, action_id=target, to=Move.done,
                      note="Seal procedure rewritten, staff trained", files=[Upload("procedure.pdf", PDF)])
    session.commit()
    assert done.status == ActionStatus.awaiting and done.done_by == "partner:CN-F1"
    shown = items.partner_items(session=session, actor=partner)
    assert shown.set_index("id").loc[target, "files"] == ["procedure.pdf"]
    with pytest.raises(PermissionDenied):
        items.move(session=session, actor=partner, action_id=target, to=Move.accept)
    accepted_item = items.move(session=session, actor=ANALYST, action_id=target, to=Move.accept)
    assert accepted_item.status == ActionStatus.closed and accepted_item.closed_by == "luis"
    assert target not in set(items.partner_items(session=session, actor=partner)["id"])  # closed: off the link


def test_reopening_needs_a_comment_the_partner_reads_and_new_evidence(session, two_partners):
    mine, _, partner = two_partners
    target = item_for(session, mine.id, "6.1").id
    items.move(session=session, actor=partner, action_id=target, to=Move.done, note="New seals bought",
               files=[Upload("invoice.pdf", PDF)])
    with pytest.raises(ValidationError, match="Write a comment"):
        items.move(session=session, actor=ANALYST, action_id=target, to=Move.reopen)
    items.move(session=session, actor=ANALYST, action_id=target, to=Move.reopen,
               comment="An invoice does not show the seals are used: send a photo of the seal log")
    session.commit()
    row = items.partner_items(session=session, actor=partner).set_index("id").loc[target]
    assert row["status"] == ActionStatus.reopened and "photo of the seal log" in row["review_comment"]
    with pytest.raises(ValidationError, match="since the item was reopened"):  # the old invoice does not count
        items.move(session=session, actor=partner, action_id=target, to=Move.done, note="See invoice")
    items.move(session=session, actor=partner, action_id=target, to=Move.done, note="Photo of the log",
               files=[Upload("log.png", PNG)])
    closed = items.move(session=session, actor=ANALYST, action_id=target, to=Move.accept)
    reopened = items.move(session=session, actor=ADMIN, action_id=target, to=Move.reopen,
                          comment="The seal log was not kept in June")
    assert closed.status == ActionStatus.reopened == reopened.status
    assert reopened.closed_at is None and reopened.closed_by == ""
    history = items.get_item(session=session, actor=ANALYST, action_id=target)["history"]
    assert history["to_status"].tolist() == [ActionStatus.open, ActionStatus.awaiting, ActionStatus.reopened,
                                             ActionStatus.awaiting, ActionStatus.closed, ActionStatus.reopened]


def test_owners_come_from_the_partner_then_the_default(session, staff):
    add_user(session, "dana", "admin", email="dana@example.com")
    owned = add_partner(session, "CN-F1")
    sites.set_owner(session=session, actor=ANALYST, partner_id=owned.id, username="dana")
    unowned = add_partner(session, "CN-F2")
    accepted(session, owned, {"6.1": AnswerValue.no})
    accepted(session, unowned, {"6.1": AnswerValue.no})
    with pytest.raises(ValidationError, match="no active staff user 'nobody'"):
        generate.generate(session=session, actor=ANALYST, default_owner="nobody")
    with pytest.raises(PermissionDenied):
        generate.generate(session=session, actor=VIEWER)
    generate.generate(session=session, actor=SYSTEM, default_owner="luis")
    plan = gap_items(session).set_index("partner_code")
    assert plan.loc["CN-F1", "owner"] == "dana" and plan.loc["CN-F2", "owner"] == "luis"


def test_due_and_overdue_for_the_follow_ups(session, staff):
    add_user(session, "dana", "admin", email="dana@example.com")
    made = {}
    for days, title in ((-3, "late"), (0, "today"), (5, "this week"), (30, "later")):
        made[title] = items.add_item(session=session, actor=ANALYST, values={
            "title": title, "due_date": TODAY + timedelta(days=days), "owner": "dana"}).id
    waiting = items.add_item(session=session, actor=ANALYST, values={"title": "waiting",
                                                                     "due_date": TODAY - timedelta(days=9)})
    items.move(session=session, actor=ANALYST, action_id=waiting.id, to=Move.done, note="done",
               files=[Upload("a.pdf", PDF)])
    session.commit()
    due = items.due_and_overdue(session=session, today=TODAY, within_days=7)
    assert list(due.columns) == items.FOLLOWUP_COLUMNS
    assert due["title"].tolist() == ["late", "today", "this week"]
    assert due["past_due"].tolist() == [True, False, False] and due["days_left"].tolist() == [-3, 0, 5]
    assert set(due["owner_email"]) == {"dana@example.com"}
    assert items.due_and_overdue(session=session, today=TODAY, within_days=0)["title"].tolist() == ["late", "today"]
    with pytest.raises(ValidationError):
        items.due_and_overdue(session=session, today=TODAY, within_days=-1)


def test_plan_order_puts_overdue_first_then_priority_then_due_date(session, staff):
    for title, priority, days in (("p1 later", 1, 40), ("p3 overdue", 3, -1), ("p2 soon", 2, 3), ("p1 soon", 1, 2)):
        items.add_item(session=session, actor=ANALYST, values={"title": title, "priority": priority,
                                                                "due_date": TODAY + timedelta(days=days)})
    plan = items.list_items(session=session, today=TODAY)
    assert plan["title"].tolist() == ["p3 overdue", "p1 soon", "p1 later", "p2 soon"]
    assert items.counts(plan, TODAY) == {"open": 4, "past_due": 1, "awaiting": 0, "unassigned": 4,
                                         "closed_30_days": 0}


def test_progress_counts_opened_closed_and_open_per_week(session, staff):
    ids = [items.add_item(session=session, actor=ANALYST, values={"title": f"item {i}", "due_date": TODAY}).id
           for i in range(3)]
    three_weeks_ago = pd.Timestamp(TODAY - timedelta(days=21), tz="UTC").to_pydatetime()
    session.exec(update(ActionItem).where(ActionItem.id == ids[0]).values(created_at=three_weeks_ago))
    close(session, ids[0])
    close(session, ids[1])
    items.move(session=session, actor=ANALYST, action_id=ids[1], to=Move.reopen, comment="came back")
    session.commit()
    weekly = items.progress(session=session, today=TODAY, weeks=5)
    assert len(weekly) == 5 and weekly["week"].iloc[-1] == TODAY - timedelta(days=TODAY.weekday())
    assert weekly["new"].sum() == 3 and weekly["closed"].tolist()[-1] == 2
    assert weekly["open_at_end"].tolist()[-1] == 2  # three opened, two closed, one of them reopened
    assert weekly["open_at_end"].iloc[-4] == 1  # the old one was open three weeks ago


def test_items_added_by_hand_are_checked_and_audited(session, staff):
    factory = add_partner(session, "CN-F1")
    with pytest.raises(ValidationError) as refused:
        items.add_item(session=session, actor=ANALYST, values={
            "title": "", "due_date": TODAY, "partner_id": 999999, "criterion_id": "99.9", "iso2": "XX",
            "threat_category": "aliens"})
    message = str(refused.value)
    assert message.startswith("title")
    with pytest.raises(ValidationError) as refused:
        items.add_item(session=session, actor=ANALYST, values={
            "title": "x", "due_date": TODAY, "partner_id": 999999, "criterion_id": "99.9", "iso2": "XX",
            "threat_category": "aliens"})
    for part in ("partner: no partner 999999", "criterion: no criterion 99.9", "'XX' is not an ISO country",
                 "threat category"):
        assert part in str(refused.value)
    with pytest.raises(ValidationError, match="choose the partner"):
        items.add_item(session=session, actor=ANALYST, values={"title": "x", "due_date": TODAY,
                                                                "shared_with_partner": True})
    with pytest.raises(PermissionDenied):
        items.add_item(session=session, actor=VIEWER, values={"title": "x", "due_date": TODAY})
    made = items.add_item(session=session, actor=ANALYST, values={
        "title": "Visit the Shenzhen factory", "partner_id": factory.id, "due_date": TODAY + timedelta(days=45),
        "owner": "luis", "priority": 1, "shared_with_partner": True})
    assert made.source == ActionSource.manual and made.source_key is None and made.owner_id is not None
    changed = items.update_item(session=session, actor=ANALYST, action_id=made.id,
                                values={"owner": "", "due_date": TODAY + timedelta(days=60), "title": "Visit"})
    assert changed.owner_id is None and changed.version == 2 and changed.title == "Visit"
    event = session.exec(select(AuditEvent).where(AuditEvent.entity == "action item",
                                                  AuditEvent.action == "update")).one()
    assert event.before["owner"] == "luis" and event.after["owner"] == ""


def test_an_open_incident_has_an_item_and_closing_it_marks_the_cause_gone(session, staff):
    carrier = add_partner(session, "MX-T1", entity_type="Long Haul Highway Carrier (Mexico)", country_iso2="MX")
    incident = incidents.record_incident(session=session, actor=ANALYST, values={
        "occurred_on": TODAY - timedelta(days=2), "kind": "seal discrepancy", "partner_id": carrier.id,
        "description": "Seal number on arrival differs from the bill of lading", "reported_to": "CBP",
        "reported_on": TODAY - timedelta(days=1)})
    session.commit()
    [item] = session.exec(select(ActionItem).where(ActionItem.incident_id == incident.id)).all()
    assert item.source == ActionSource.incident and item.priority == 1 and item.partner_id == carrier.id
    assert item.due_date == TODAY + timedelta(days=14) and not item.shared_with_partner
    assert item.owner_id is not None  # whoever recorded it, without a partner owner
    assert generate.generate(session=session, actor=ANALYST).created[ActionSource.incident] == 0
    assert incidents.open_incidents(session=session)["partner_id"].tolist() == [carrier.id]

    incidents.set_status(session=session, actor=ANALYST, incident_id=incident.id, status="investigating")
    with pytest.raises(ValidationError, match="what the investigation found"):
        incidents.set_status(session=session, actor=ANALYST, incident_id=incident.id, status="closed", note="ok")
    incidents.set_status(session=session, actor=ANALYST, incident_id=incident.id, status="closed",
                         note="Driver replaced a broken seal without logging it; retrained")
    session.refresh(item)
    assert item.cause_gone_on == TODAY and item.status == ActionStatus.open
    assert incidents.open_incidents(session=session).empty
    close(session, item.id)
    incidents.set_status(session=session, actor=ANALYST, incident_id=incident.id, status="investigating",
                         note="Same seal found again on the next load")
    items_now = session.exec(select(ActionItem).where(ActionItem.incident_id == incident.id)
                             .order_by(ActionItem.id)).all()
    assert [i.occurrence for i in items_now] == [1, 2] and items_now[1].status == ActionStatus.open


def test_incidents_are_checked(session, staff):
    carrier = add_partner(session, "MX-T1", entity_type="Long Haul Highway Carrier (Mexico)", country_iso2="MX")
    other = add_partner(session, "MX-T2", entity_type="Long Haul Highway Carrier (Mexico)", country_iso2="MX")
    sites.ensure_first_sites(session=session, actor=ANALYST, partner_ids=[other.id])  # kept with the record now
    other_site = sites.list_sites(session=session, partner_id=other.id)["id"].iloc[0]
    with pytest.raises(ValidationError) as refused:
        incidents.record_incident(session=session, actor=ANALYST, values={
            "occurred_on": TODAY + timedelta(days=1), "kind": "theft", "partner_id": carrier.id,
            "site_id": int(other_site), "description": " ", "reported_on": TODAY})
    for part in ("kind: one of", "date: between", "site: the site belongs to another partner", "describe it",
                 "reported to: say to whom"):
        assert part in str(refused.value)
    with pytest.raises(ValidationError, match="name the partner, the partner's site or the lane"):
        incidents.record_incident(session=session, actor=ANALYST, values={
            "occurred_on": TODAY, "kind": "breach", "description": "Fence cut"})
    with pytest.raises(PermissionDenied):
        incidents.record_incident(session=session, actor=VIEWER, values={
            "occurred_on": TODAY, "kind": "breach", "partner_id": carrier.id, "description": "Fence cut"})
    made = incidents.record_incident(session=session, actor=ANALYST, values={
        "occurred_on": TODAY, "kind": "breach", "site_id": int(other_site), "description": "Fence cut"})
    assert made.partner_id == other.id  # the site's partner
    updated = incidents.update_incident(session=session, actor=ANALYST, incident_id=made.id,
                                        values={"investigation": "CCTV shows two people at 02:10"})
    assert updated.version == 2
    with pytest.raises(ValidationError, match="changed by luis"):
        incidents.update_incident(session=session, actor=ANALYST, incident_id=made.id, expected_version=1,
                                  values={"description": "Fence cut twice"})
    listed = incidents.list_incidents(session=session)
    assert listed["partner_code"].tolist() == ["MX-T2"] and listed["action_status"].tolist() == ["open"]


def test_lane_flags_become_items_with_keys_that_survive_a_new_stop(session, staff):
    made = book(session)
    lane, _ = registry.save_lane(session=session, actor=ANALYST, values={
        "code": "CN-01", "name": "Shenzhen lamps to Long Beach", "mode": "ocean"}, rows=OCEAN_LANE)
    session.commit()
    causes = generate.lane_flag_causes(session=session, today=TODAY)
    found = flags.all_flags(session=session, today=TODAY, lane_ids=[lane.id])
    wanted = found[found["flag"].isin(list(rules.LANE_FLAG_RULES))]
    assert len(causes) == len(wanted.drop_duplicates(["seq", "flag"])) > 0
    assert flags.NO_COORDINATES not in " ".join(causes["title"])
    generate.generate(session=session, actor=ANALYST)
    session.commit()
    before = set(session.exec(select(ActionItem.cause_key).where(ActionItem.source == ActionSource.lane_flag)).all())
    assert any(made["factory"].id == p for p in
               session.exec(select(ActionItem.partner_id).where(ActionItem.source == ActionSource.lane_flag)).all())
    rows = registry.node_rows(registry.nodes_frame(session=session, lane_ids=[lane.id]))
    rows.insert(1, {**rows[1], "role": "consolidation", "partner_code": "", "site": "", "place": "CNSHK",
                   "place_kind": "seaport", "custody": "direct"})
    registry.save_lane(session=session, actor=ANALYST, values={"code": "CN-01", "name": lane.name, "mode": "ocean"},
                       rows=rows, lane_id=lane.id, expected_version=lane.version)
    session.commit()
    after = set(generate.lane_flag_causes(session=session, today=TODAY)["cause_key"])
    assert before - after == set()  # the same nodes keep their keys after a stop was inserted before them


def test_high_threats_without_a_mitigation(session, staff):
    made = book(session)
    register.rate(session=session, actor=ANALYST, iso2="MX", category=ThreatCategory.organized_crime.value,
                  level="High", reason="Cartel activity along the highway to Laredo", source="Own assessment")
    session.commit()
    causes = generate.threat_causes(session=session, today=TODAY)
    mexico = causes[causes["cause_key"] == f"threat:MX::{ThreatCategory.organized_crime}"]
    assert len(mexico) == 1 and "2 active partner(s)" in mexico.iloc[0]["detail"]

    # A mitigation added by hand for that place and category: no item generated for it.
    items.add_item(session=session, actor=ANALYST, values={
        "title": "Armed escort and GPS tracking for Monterrey-Laredo loads", "due_date": TODAY + timedelta(days=30),
        "iso2": "MX", "threat_category": ThreatCategory.organized_crime.value})
    generate.generate(session=session, actor=ANALYST)
    session.commit()
    generated = session.exec(select(ActionItem.cause_key).where(ActionItem.source == ActionSource.threat)).all()
    assert f"threat:MX::{ThreatCategory.organized_crime}" not in generated
    some = session.exec(select(ActionItem).where(ActionItem.source == ActionSource.threat)).first()
    close(session, some.id)  # a generated threat item closed: mitigated, the threat stays High
    session.commit()
    assert generate.generate(session=session, actor=ANALYST).created[ActionSource.threat] == 0
    assert made


def test_export_is_formula_safe_with_the_proof_of_closure(session, staff):
    item = items.add_item(session=session, actor=ANALYST, values={"title": "=HYPERLINK(\"http://x\")",
                                                                   "due_date": TODAY})
    close(session, item.id)
    session.commit()
    frame = export.plan_export(session=session, today=TODAY)
    assert frame.loc[0, "evidence"] == "seal-log.pdf" and len(frame.loc[0, "evidence_sha256"]) == 64
    text = export.plan_csv(frame).decode("utf-8-sig")
    assert "'=HYPERLINK" in text
    book_ = openpyxl.load_workbook(io.BytesIO(export.plan_xlsx(frame)))
    sheet = book_.active
    title_column = [c.value for c in sheet[1]].index("What") + 1
    cell = sheet.cell(row=2, column=title_column)
    assert cell.value == "=HYPERLINK(\"http://x\")" and cell.data_type == "s" and cell.quotePrefix


def test_open_incidents_raise_the_risk_inputs_until_closed(session, staff):
    """Scoring reads open incidents from the register's own rule (open or investigating); a site's incident counts
    for the site's partner."""
    from services.risk import inputs as risk_inputs

    carrier = add_partner(session, "MX-R1", entity_type="Long Haul Highway Carrier (Mexico)", country_iso2="MX")
    site_id = int(sites.list_sites(session=session, partner_id=carrier.id)["id"].iloc[0])
    incident = incidents.record_incident(session=session, actor=ANALYST, values={
        "occurred_on": TODAY - timedelta(days=3), "kind": "seal discrepancy", "site_id": site_id,
        "description": "Seal number differs from the bill of lading", "reported_to": "CBP",
        "reported_on": TODAY - timedelta(days=2)})
    session.commit()
    frame = risk_inputs.open_incidents(session)
    assert frame[["incident_id", "partner_id", "kind"]].to_dict("records") == [
        {"incident_id": incident.id, "partner_id": carrier.id, "kind": "seal discrepancy"}]
    incidents.set_status(session=session, actor=ANALYST, incident_id=incident.id, status="investigating")
    assert len(risk_inputs.open_incidents(session)) == 1
    incidents.set_status(session=session, actor=ANALYST, incident_id=incident.id, status="closed",
                         note="Seal log corrected; driver retrained")
    assert risk_inputs.open_incidents(session).empty
