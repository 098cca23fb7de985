"""Merging a duplicate partner into the one kept: nothing is lost."""

from datetime import date, timedelta

import pandas as pd
import pytest
from sqlmodel import select

from models import Answer, Assignment, AuditEvent, Certificate, Partner
from services.collection import answers, cycles
from services.core.permissions import PermissionDenied, ValidationError
from services.partners import registry as partners
from tests.certificate_support import certify
from tests.conftest import ANALYST, VIEWER


def _partner(session, code, name, **extra):
    values = {"partner_code": code, "legal_name": name, "entity_type": "Foreign Manufacturer", "country_iso2": "CN",
              **extra}
    return partners.create_partner(session=session, actor=ANALYST, values=values)


def _answer(session, assignment_id, criterion_id, value, comment=""):
    rows = pd.DataFrame([{"assignment_id": assignment_id, "criterion_id": criterion_id, "value": value,
                          "comment": comment, "answered_on": None, "source": "staff", "answered_by": "luis"}])
    answers.store_answers(session=session, rows=rows)


def test_merge_moves_everything_and_deactivates_the_duplicate(session, staff):
    keep = _partner(session, "K1", "Huaxin Electronics Co., Ltd.", mid="CNHUAELE12SHE")
    dup = _partner(session, "D1", "Huaxin Electronics Limited", duns="123456789")
    child = _partner(session, "C1", "Huaxin Plant 2", parent_id=dup.id)
    certify(session, dup.id, number="X-1", verified_on=None)
    session.commit()
    cycle = cycles.open_cycle(session=session, actor=ANALYST, name="2027", due_date=date.today() + timedelta(30),
                              partner_ids=[keep.id, dup.id])
    session.commit()
    by_partner = {a.partner_id: a.id for a in session.exec(select(Assignment))}
    _answer(session, by_partner[keep.id], "1.1", "yes")
    _answer(session, by_partner[dup.id], "1.1", "no", "not yet")
    _answer(session, by_partner[dup.id], "1.2", "yes")
    session.commit()

    partners.merge_partners(session=session, actor=ANALYST, keep_id=keep.id, duplicate_id=dup.id)
    session.commit()

    session.expire_all()
    kept, merged = session.get(Partner, keep.id), session.get(Partner, dup.id)
    assert merged.status == "inactive" and "Merged into K1" in merged.notes
    assert kept.duns == "123456789" and kept.mid == "CNHUAELE12SHE"
    assert session.get(Partner, child.id).parent_id == keep.id
    assert session.exec(select(Certificate.partner_id)).all() == [keep.id]
    assert [a.partner_id for a in session.exec(select(Assignment).where(Assignment.cycle_id == cycle.id))] == [keep.id]
    rows = {(a.criterion_id, a.value): a.is_current for a in session.exec(select(Answer))}
    assert rows == {("1.1", "yes"): True, ("1.1", "no"): False, ("1.2", "yes"): True}
    assert session.exec(select(AuditEvent).where(AuditEvent.action == "merge", AuditEvent.entity == "partner")
                        ).one().entity_id == "K1"


def test_merge_rules(session, staff):
    a, b = _partner(session, "A1", "Alpha Works"), _partner(session, "B1", "Beta Works")
    session.commit()
    with pytest.raises(PermissionDenied):
        partners.merge_partners(session=session, actor=VIEWER, keep_id=a.id, duplicate_id=b.id)
    with pytest.raises(ValidationError, match="itself"):
        partners.merge_partners(session=session, actor=ANALYST, keep_id=a.id, duplicate_id=a.id)


def test_merge_moves_sites_contacts_lane_custody_screening_and_owner(session, staff):
    from models import CertificateSite, LaneNode, PartnerContact, PartnerSite, ScreeningMatch
    from services.certificates import records
    from services.lanes import registry as lanes
    from services.partners import contacts, sites
    from services.screening import lists
    from tests.risk_support import node
    from tests.test_answer_import import csv_bytes

    keep = _partner(session, "K1", "Hongyuan Spinning Co., Ltd.", city="Aksu", mid="CNHONTEX1AKS",
                    contact_name="Li Wei", contact_email="li@hongyuan.example")
    dup = _partner(session, "D1", "Hongyuan Textile Limited", city="Kashgar", mid="CNHONTEX2KAS",
                   contact_name="Wang Fang", contact_email="wang@hongyuan.example", language="zh")
    sites.set_owner(session=session, actor=ANALYST, partner_id=dup.id, username="luis")
    # The same CTPAT certificate recorded on both, naming each one's site: folded into one naming both.
    own_site = sites.primary_site(session=session, partner_id=keep.id).id
    dup_site = sites.primary_site(session=session, partner_id=dup.id).id
    kept_cert = records.add_certificate(session=session, actor=ANALYST, partner_id=keep.id, values={
        "program": "CTPAT", "certificate_number": "CT-7", "no_expiry": True, "covers_all_sites": False,
        "site_ids": [own_site]})
    records.add_certificate(session=session, actor=ANALYST, partner_id=dup.id, values={
        "program": "CTPAT", "certificate_number": "CT-7", "no_expiry": True, "covers_all_sites": False,
        "site_ids": [dup_site]})
    lanes.save_lane(session=session, actor=ANALYST, values={"code": "CN-9", "name": "Aksu cotton", "mode": "truck"},
                    rows=[node("origin", "D1", mode="truck"), node("distribution center", "", "USLAX",
                                                                   custody="own", place_kind="seaport")])
    listed = csv_bytes([["Hongyuan Textile Limited", "", "CN", "", "", ""]],
                       header=["Entity", "Also known as", "Country", "Address", "Date added", "Federal Register"])
    lists.apply_list(session=session, actor=ANALYST, name="UFLPA Entity List",
                     preview=lists.read_list(session=session, filename="uflpa.csv", data=listed))
    session.commit()
    assert session.exec(select(ScreeningMatch.partner_id)).all() == [dup.id]

    partners.merge_partners(session=session, actor=ANALYST, keep_id=keep.id, duplicate_id=dup.id)
    session.commit()
    session.expire_all()

    moved = session.exec(select(PartnerSite).where(PartnerSite.partner_id == keep.id)
                         .order_by(PartnerSite.id)).all()
    assert [(s.city, s.mid, s.is_primary) for s in moved] == [("Aksu", "CNHONTEX1AKS", True),
                                                              ("Kashgar", "CNHONTEX2KAS", False)]
    people = contacts.list_contacts(session=session, partner_id=keep.id)
    assert people[["email", "is_primary"]].values.tolist() == [["li@hongyuan.example", True],
                                                                ["wang@hongyuan.example", False]]
    kept = session.get(Partner, keep.id)
    # The record keeps the kept partner's own address and contact; the MID of the moved site is found by search.
    assert (kept.city, kept.mid, kept.contact_email) == ("Aksu", "CNHONTEX1AKS", "li@hongyuan.example")
    found = partners.search_partners(session=session, text="cnhontex2").rows  # the merged record says where it went
    assert found["partner_code"].tolist() == ["D1", "K1"] and found["status"].tolist() == ["inactive", "active"]
    assert sites.owner_of(session=session, partner_id=keep.id) == "luis"
    assert session.exec(select(LaneNode.partner_id).where(LaneNode.partner_id.is_not(None))).all() == [keep.id]
    assert session.exec(select(ScreeningMatch.partner_id)).all() == [keep.id]
    assert session.exec(select(PartnerContact).where(PartnerContact.partner_id == dup.id)).all() == []
    [cert] = session.exec(select(Certificate)).all()
    assert cert.id == kept_cert.id
    assert sorted(session.exec(select(CertificateSite.site_id)).all()) == sorted([own_site, dup_site])
    summary = session.exec(select(AuditEvent.summary).where(AuditEvent.entity == "site",
                                                            AuditEvent.action == "merge")).one()
    assert "1 sites, 1 contacts, 1 lane nodes, 1 screening matches" in summary
    assert "owner" in session.exec(select(AuditEvent.summary).where(AuditEvent.entity == "partner",
                                                                    AuditEvent.action == "merge")).one()
