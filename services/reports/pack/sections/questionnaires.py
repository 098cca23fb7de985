"""Questionnaires per cycle: one row per partner and cycle, with where it stands and its dates."""

from typing import TYPE_CHECKING

import altair as alt
import pandas as pd
from sqlalchemy import func
from sqlmodel import col, select

from models import Answer, Assignment, Cycle, Partner
from models.collection import AssignmentStatus
from services.reports.pack.base import Column, Kind, PackContext, Section, chunked

if TYPE_CHECKING:
    from services.reports.pack.pdf import PdfReport

_FINISHED = (AssignmentStatus.submitted, AssignmentStatus.accepted)


def cycles(ctx: PackContext) -> pd.DataFrame:
    """The cycles the pack covers (those due on or after `since`, else all), oldest first."""
    def load() -> pd.DataFrame:
        stmt = select(Cycle.id, Cycle.name, Cycle.due_date, Cycle.status, Cycle.created_at).order_by(
            Cycle.created_at, Cycle.id)
        if ctx.since:
            stmt = stmt.where(Cycle.due_date >= ctx.since)
        return pd.DataFrame([tuple(r) for r in ctx.session.exec(stmt).all()],
                            columns=["cycle_id", "cycle", "cycle_due", "cycle_status", "cycle_created"])
    return ctx.shared("cycles", load)


def assignments(ctx: PackContext) -> pd.DataFrame:
    def load() -> pd.DataFrame:
        chosen = cycles(ctx)
        ids = chosen["cycle_id"].tolist()
        if not ids:
            return pd.DataFrame()
        found = ctx.session.exec(
            select(Assignment.id, Assignment.cycle_id, Partner.partner_code, Partner.legal_name, Partner.entity_type,
                   Assignment.status, Assignment.language, Assignment.due_date, Assignment.sent_at,
                   Assignment.submitted_at, Assignment.reviewed_at, Assignment.reviewed_by, Assignment.exempt_reason)
            .join(Partner, col(Partner.id) == Assignment.partner_id).where(col(Assignment.cycle_id).in_(ids))
        ).all()
        frame = pd.DataFrame([tuple(r) for r in found],
                             columns=["assignment_id", "cycle_id", "partner_code", "legal_name", "entity_type",
                                      "status", "language", "own_due", "sent_at", "submitted_at", "reviewed_at",
                                      "reviewed_by", "exempt_reason"])
        answered = dict(ctx.session.exec(
            select(Answer.assignment_id, func.count()).join(Assignment, col(Assignment.id) == Answer.assignment_id)
            .where(col(Assignment.cycle_id).in_(ids), col(Answer.is_current)).group_by(Answer.assignment_id)).all())
        frame["answers"] = frame["assignment_id"].map(answered).fillna(0).astype(int)
        frame = frame.merge(chosen, on="cycle_id")
        frame["due"] = frame["own_due"].where(frame["own_due"].notna(), frame["cycle_due"])
        frame["status"] = frame["status"].astype(str)
        order = {c: i for i, c in enumerate(chosen["cycle_id"])}
        frame["_order"] = frame["cycle_id"].map(order)
        return frame.sort_values(["_order", "partner_code"], kind="stable").reset_index(drop=True)
    return ctx.shared("assignments", load)


def rows(ctx: PackContext):
    frame = assignments(ctx)
    if not frame.empty:
        yield from chunked(frame)


def figures(ctx: PackContext) -> list[tuple[str, str]]:
    frame = assignments(ctx)
    if frame.empty:
        return []
    latest = cycles(ctx)["cycle_id"].iloc[-1]
    current = frame[frame["cycle_id"] == latest]
    asked = current[current["status"] != AssignmentStatus.exempt]
    done = asked["status"].isin([s.value for s in _FINISHED]).sum()
    rate = f"{done / len(asked):.0%}" if len(asked) else "Unknown"
    return [(f"Response rate, cycle {current['cycle'].iloc[0]} (submitted or accepted)", rate),
            (f"Questionnaires accepted, cycle {current['cycle'].iloc[0]}",
             f"{(current['status'] == AssignmentStatus.accepted).sum():,} of {len(asked):,}")]


def pdf(ctx: PackContext, report: "PdfReport") -> None:
    frame = assignments(ctx)
    if frame.empty:
        return
    report.heading("Questionnaires", level=1)
    counts = frame.groupby(["cycle", "status"]).size().rename("questionnaires").reset_index()
    order = cycles(ctx)["cycle"].tolist()
    report.chart(alt.Chart(counts).mark_bar().encode(
        y=alt.Y("cycle:N", sort=order, title=None), x=alt.X("questionnaires:Q", stack="normalize",
                                                            title="share of the cycle's questionnaires"),
        color=alt.Color("status:N", sort=[s.value for s in AssignmentStatus], title="status"))
        .properties(width=420, height=max(60, 40 * len(order)), title="Questionnaires by status, per cycle")
        .to_dict(), width_mm=170)
    table = counts.pivot(index="cycle", columns="status", values="questionnaires").fillna(0).astype(int)
    statuses = [s.value for s in AssignmentStatus if s.value in table.columns]
    report.table(["Cycle", *statuses, "Total"],
                 [(cycle, *(f"{table.loc[cycle, s]:,}" for s in statuses), f"{table.loc[cycle].sum():,}")
                  for cycle in order if cycle in table.index], widths=[30, *([10] * len(statuses)), 10])


SECTION = Section(
    key="questionnaires", order=30, sheet="Questionnaires", title="Questionnaires per cycle",
    description="One row per partner and collection cycle: status, language, due date, when it was sent, "
                "submitted and reviewed, by whom, the exemption reason and how many answers it holds.",
    columns=(Column("cycle", "Cycle", 22), Column("partner_code", "Partner code", 14),
             Column("legal_name", "Legal name", 32, Kind.wrap), Column("entity_type", "Entity type", 16),
             Column("status", "Status", 12), Column("language", "Language", 9), Column("due", "Due", 11, Kind.date),
             Column("sent_at", "Sent (UTC)", 17, Kind.datetime),
             Column("submitted_at", "Submitted (UTC)", 17, Kind.datetime),
             Column("reviewed_at", "Reviewed (UTC)", 17, Kind.datetime), Column("reviewed_by", "Reviewed by", 12),
             Column("answers", "Answers", 9, Kind.integer), Column("exempt_reason", "Exemption reason", 50, Kind.wrap)),
    rows=rows, figures=figures, pdf=pdf,
)
