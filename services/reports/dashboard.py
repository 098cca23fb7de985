"""The management dashboard's figures, from grouped queries (no per-partner loop, no re-scoring: risk bands come
from the dated assessment snapshots, which is what was reviewed and what CBP sees).

- this cycle: the latest open questionnaire cycle (else the latest cycle): partners in it, assessed (accepted),
  responded (submitted, accepted, or returned after submitting), exempt;
- risk: partners and lanes per band in the latest snapshot and the move since the one before;
- mutual recognition coverage: active partners a certificate that counts covers (services.certificates.rule);
- the action plan's open and overdue items; the company's key dates; the trend across cycles and snapshots.
Where there is nothing to count, a figure is None (shown as Unknown), never 0 % or "all good".
"""

from datetime import date
from typing import Any

import pandas as pd
from sqlalchemy import func
from sqlmodel import Session, col, select

from models import ActionItem
from models.actions import ActionStatus
from models.collection import AssignmentStatus, DerivedStatus
from services import procedure
from services.actions import states as action_states
from services.collection import cycles
from services.company import profile as company_profile
from services.reports import overview
from services.risk import assessment

S = AssignmentStatus
BANDS = ("High", "Medium", "Low")
RESPONDED = (S.submitted, S.accepted, S.returned)
TREND_COLUMNS = ["cycle", "due_date", "partners", "in_scope", "assessed", "responded", "assessed_share",
                 "response_rate"]
BAND_COLUMNS = ["kind", "band", "now", "before", "move"]


def _share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def cycle_figures(frame: pd.DataFrame) -> pd.DataFrame:
    """Per cycle (oldest first): partners, in scope (not exempt), assessed, responded and their shares."""
    if frame.empty:
        return pd.DataFrame(columns=TREND_COLUMNS)
    out = pd.DataFrame({"cycle": frame["name"], "due_date": frame["due_date"], "partners": frame["partners"]})
    out["in_scope"] = frame["partners"] - frame[S.exempt]
    out["assessed"] = frame[S.accepted]
    out["responded"] = frame[list(RESPONDED)].sum(axis=1)
    scope = out["in_scope"].where(out["in_scope"] > 0)
    out["assessed_share"] = out["assessed"] / scope
    out["response_rate"] = out["responded"] / scope
    return out.iloc[::-1].reset_index(drop=True)[TREND_COLUMNS]


def band_moves(snapshots: pd.DataFrame) -> pd.DataFrame:
    """Partners and lanes per band in the latest snapshot, the one before, and the move (None: no snapshot)."""
    rows = []
    latest = snapshots.iloc[0] if len(snapshots) else None
    before = snapshots.iloc[1] if len(snapshots) > 1 else None
    for kind in ("partners", "lanes"):
        for band in BANDS:
            column = f"{kind}_{band.lower()}"
            now = int(latest[column]) if latest is not None else None
            was = int(before[column]) if before is not None else None
            rows.append({"kind": kind, "band": band, "now": now, "before": was,
                         "move": now - was if now is not None and was is not None else None})
    return pd.DataFrame(rows, columns=BAND_COLUMNS)


def figures(*, session: Session, today: date) -> dict[str, Any]:
    """Everything the dashboard shows, as plain values and frames."""
    head = overview.headline(session=session)
    cycle_list = cycles.list_cycles(session=session, today=today)
    trend = cycle_figures(cycle_list)
    open_cycles = cycle_list[cycle_list["status"] == "open"]
    current = (open_cycles if not open_cycles.empty else cycle_list).head(1)
    this_cycle = None
    if not current.empty:
        row = current.iloc[0]
        figures_row = trend[trend["cycle"] == row["name"]].iloc[0]
        this_cycle = {"id": int(row["id"]), "name": row["name"], "status": row["status"],
                      "due_date": row["due_date"], "partners": int(row["partners"]),
                      "in_scope": int(figures_row["in_scope"]), "assessed": int(figures_row["assessed"]),
                      "responded": int(figures_row["responded"]), "late": int(row[DerivedStatus.overdue]),
                      "exempted": int(row[S.exempt]),
                      "assessed_share": _share(int(figures_row["assessed"]), int(figures_row["in_scope"])),
                      "response_rate": _share(int(figures_row["responded"]), int(figures_row["in_scope"]))}
    snapshots = assessment.list_snapshots(session=session)
    items = dict(session.exec(select(ActionItem.status, func.count()).group_by(ActionItem.status)).all())
    overdue = session.exec(select(func.count()).select_from(ActionItem).where(  # as services.actions.items.is_overdue
        col(ActionItem.status).in_(list(action_states.WORKING)), ActionItem.due_date < today)).one()
    profile = company_profile.get_profile(session=session)
    dates = company_profile.key_dates(profile, today) if profile else None
    review = procedure.latest_signed(session=session)
    return {
        "headline": head,
        "coverage": _share(head["certified"], head["active"]),
        "cycle": this_cycle,
        "trend": trend,
        "snapshots": snapshots.iloc[::-1].reset_index(drop=True),
        "bands": band_moves(snapshots),
        "latest_snapshot": snapshots.iloc[0].to_dict() if len(snapshots) else None,
        "previous_snapshot": snapshots.iloc[1].to_dict() if len(snapshots) > 1 else None,
        "actions_open": int(sum(n for s, n in items.items() if s != ActionStatus.closed)),
        "actions_overdue": int(overdue),
        "actions_closed": int(items.get(ActionStatus.closed, 0)),
        "days_to_annual_review": dates["days_to_anniversary"] if dates else None,
        "days_to_revalidation": dates["days_to_revalidation"] if dates else None,
        "dates": dates,
        "profile": profile.model_dump() if profile else None,
        "days_to_procedure_review": (review.next_review_on - today).days if review and review.next_review_on
        else None,
    }
