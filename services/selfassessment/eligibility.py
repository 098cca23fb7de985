"""The eligibility requirements of the company's entity type, as a checklist at the top of the self-assessment.

The requirements come from seed/eligibility.csv (each with its source; importers' list is complete, the other
entity types carry the few items the shared notes confirm); whether the company meets each is the company's own
audited statement.
"""

from datetime import date
from functools import cache
from pathlib import Path

import pandas as pd
from sqlmodel import Session, select

from models import EligibilityCheck
from services.core import audit
from services.core.permissions import Actor, ValidationError, require_write
from services.selfassessment.assessment import entity_type

FILE = Path(__file__).resolve().parents[2] / "seed" / "eligibility.csv"
COLUMNS = ["item_id", "requirement", "source", "confirmed", "note", "checked_by", "checked_on"]


@cache
def requirements() -> pd.DataFrame:
    """Every entity type's eligibility requirements: entity_type, item_id, requirement, source."""
    return pd.read_csv(FILE, dtype=str, keep_default_na=False)


def checklist(*, session: Session) -> pd.DataFrame:
    """The company's entity type's requirements with what the company confirmed (not confirmed until it says so)."""
    kind = entity_type(session=session)
    items = requirements()
    items = items[items["entity_type"] == kind].drop(columns="entity_type")
    checks = pd.DataFrame([(c.item_id, c.confirmed, c.note, c.checked_by, c.checked_on) for c in session.exec(
        select(EligibilityCheck).where(EligibilityCheck.entity_type == kind)).all()],
        columns=["item_id", "confirmed", "note", "checked_by", "checked_on"])
    frame = items.merge(checks, on="item_id", how="left")
    frame["confirmed"] = frame["confirmed"].astype(object).where(frame["confirmed"].notna(), False).astype(bool)
    frame["note"] = frame["note"].fillna("")
    frame["checked_by"] = frame["checked_by"].fillna("")
    frame["checked_on"] = frame["checked_on"].astype(object).where(frame["checked_on"].notna(), None)
    return frame[COLUMNS].reset_index(drop=True)


def set_check(*, session: Session, actor: Actor, item_id: str, confirmed: bool, note: str = "",
              today: date | None = None) -> EligibilityCheck:
    """The company confirms (or withdraws) one eligibility requirement of its entity type; audited."""
    require_write(actor)
    kind = entity_type(session=session)
    items = requirements()
    match = items[(items["entity_type"] == kind) & (items["item_id"] == item_id)]
    if match.empty:
        raise ValidationError(f"{item_id} is not an eligibility requirement of the entity type {kind}.")
    note = (note or "").strip()
    if len(note) > 500:
        raise ValidationError("Note: longer than 500 characters.")
    row = session.exec(select(EligibilityCheck).where(EligibilityCheck.entity_type == kind,
                                                      EligibilityCheck.item_id == item_id)).first()
    before = {"confirmed": row.confirmed, "note": row.note} if row else None
    after = {"confirmed": bool(confirmed), "note": note}
    if before == after:
        return row
    row = row or EligibilityCheck(entity_type=kind, item_id=item_id)
    row.confirmed, row.note = bool(confirmed), note
    row.checked_by, row.checked_on = actor.username, today or date.today()
    session.add(row)
    session.flush()
    audit.record(session=session, actor=actor, action="update" if before else "create", entity="eligibility",
                 entity_id=item_id, summary=f"Eligibility {item_id} ({kind}) "
                 + ("confirmed" if confirmed else "not confirmed"), before=before, after=after)
    return row
