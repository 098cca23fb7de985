"""Step 4, the action plan (MSC 3.6): every action item with its owner, due date, status, closing note and the
evidence files of its closure (services.actions.items), and the plan's status in the PDF."""

from typing import TYPE_CHECKING

import altair as alt
import pandas as pd
from sqlmodel import col, select

from models.actions import ActionEvidence, ActionStatus
from services.actions import items
from services.reports.pack.base import Column, Kind, PackContext, Section, chunked

if TYPE_CHECKING:
    from services.reports.pack.pdf import PdfReport

LATE = "past its due date"  # the chart's word for overdue items
STATUS_ORDER = [s.value for s in (ActionStatus.open, ActionStatus.in_progress, ActionStatus.awaiting,
                                  ActionStatus.reopened, ActionStatus.closed)]


def plan(ctx: PackContext) -> pd.DataFrame:
    """The plan in plan order (overdue first, then priority, due date) as of the pack's day."""
    def load() -> pd.DataFrame:
        frame = items.list_items(session=ctx.session, today=ctx.today)
        frame["status"] = frame["status"].astype(str)
        frame["source"] = frame["source"].astype(str)
        return frame
    return ctx.shared("action_plan", load)


def rows(ctx: PackContext):
    frame = plan(ctx)
    if frame.empty:
        return
    frame = frame.copy()
    files = pd.DataFrame([tuple(r) for r in ctx.session.exec(
        select(ActionEvidence.action_id, ActionEvidence.filename, ActionEvidence.sha256)
        .where(col(ActionEvidence.action_id).in_(frame["id"].astype(int).tolist()))
        .order_by(ActionEvidence.action_id, ActionEvidence.id)).all()], columns=["action_id", "filename", "sha256"])
    files["member"] = [ctx.file(sha, name) for sha, name in zip(files["sha256"], files["filename"], strict=True)]
    by_item = files.groupby("action_id")["member"].agg("\n".join) if len(files) else pd.Series(dtype=object)
    frame["evidence_in_pack"] = frame["id"].map(lambda i: by_item.get(i, ""))
    frame["owner_text"] = [f"{name} ({user})" if name and name != user else user
                           for user, name in zip(frame["owner"], frame["owner_name"].fillna(""), strict=True)]
    frame["days_left"] = frame["days_left"].where(frame["status"] != ActionStatus.closed.value, None)
    yield from chunked(frame)


def figures(ctx: PackContext) -> list[tuple[str, str]]:
    frame = plan(ctx)
    if frame.empty:
        return [("Action items in the plan", "0")]
    counts = items.counts(frame, ctx.today)
    return [("Action items not closed", f"{counts['open']:,} of {len(frame):,}"),
            ("Action items overdue", f"{counts['past_due']:,}")]


def pdf(ctx: PackContext, report: "PdfReport") -> None:
    frame = plan(ctx)
    if frame.empty:
        return
    counts = items.counts(frame, ctx.today)
    report.heading("Action plan status")
    report.paragraph(
        f"{len(frame):,} action items on {ctx.today.isoformat()}: {counts['open']:,} not closed, of which "
        f"{counts['past_due']:,} overdue and {counts['awaiting']:,} done awaiting the team's acceptance; "
        f"{counts['unassigned']:,} without an owner; {counts['closed_30_days']:,} closed in the last 30 days. "
        "Every item with its closing note and evidence files is on the Action plan sheet.")
    by_status = frame.groupby("status").size()
    late = frame[frame["past_due"]].groupby("status").size()
    table = pd.DataFrame({"status": STATUS_ORDER,
                          "items": [int(by_status.get(s, 0)) for s in STATUS_ORDER],
                          "past_due": [int(late.get(s, 0)) for s in STATUS_ORDER]})
    report.table(["Status", "Items", "Of which overdue"],
                 [(r.status, f"{r.items:,}", f"{r.past_due:,}") for r in table.itertuples()], widths=[40, 20, 20])
    chart = table.assign(on_time=table["items"] - table["past_due"]).melt(
        id_vars="status", value_vars=["on_time", "past_due"], var_name="due", value_name="n")
    chart["due"] = chart["due"].map({"on_time": "not overdue", "past_due": LATE})
    report.chart(alt.Chart(chart).mark_bar().encode(
        y=alt.Y("status:N", sort=STATUS_ORDER, title=None, axis=alt.Axis(labelLimit=320)),
        x=alt.X("n:Q", title="action items", axis=alt.Axis(tickMinStep=1, format="d")),
        color=alt.Color("due:N", title=None, scale=alt.Scale(domain=["not overdue", LATE],
                                                             range=["#1f4e78", "#c62828"])))
        .properties(width=420, height=130, title="Action items by status").to_dict(), width_mm=150)
    late = frame[frame["past_due"]]
    if not late.empty:
        report.heading(f"Overdue action items ({len(late):,})", level=2)
        report.table(["Id", "What", "Partner / lane", "Owner", "Due", "Days over", "Status"],
                     [(r.id, r.title, r.partner_code or r.lane_code, r.owner, r.due_date.isoformat(),
                       -int(r.days_left), r.status) for r in late.head(20).itertuples()],
                     widths=[7, 50, 14, 14, 12, 9, 16])
        if len(late) > 20:
            report.paragraph(f"... and {len(late) - 20:,} more on the Action plan sheet.", size=8)


SECTION = Section(
    key="action_plan", order=78, sheet="Action plan", title="Action plan",
    description="Every action item (step 4, MSC 3.6) in plan order (overdue first, then priority and due date): "
                "what, why, about which partner, criterion, lane or incident, owner, due date, status, the closing "
                "note and the evidence files of the closure (their paths inside this ZIP), who marked it done and "
                "who closed it.",
    columns=(Column("id", "Id", 7, Kind.integer), Column("status", "Status", 14),
             Column("past_due", "Overdue", 8, Kind.flag), Column("days_left", "Days left", 8, Kind.integer),
             Column("priority", "Priority", 8, Kind.integer), Column("title", "What", 44, Kind.wrap),
             Column("basis", "Why", 26, Kind.wrap), Column("source", "Source", 12),
             Column("partner_code", "Partner code", 14), Column("partner_name", "Partner", 26, Kind.wrap),
             Column("criterion_id", "Criterion", 9), Column("lane_code", "Lane", 10),
             Column("incident_id", "Incident", 8, Kind.integer), Column("owner_text", "Owner", 18),
             Column("due_date", "Due", 11, Kind.date), Column("closing_note", "Closing note", 44, Kind.wrap),
             Column("evidence_in_pack", "Evidence files (in pack)", 40, Kind.wrap),
             Column("review_comment", "Comment when reopened", 30, Kind.wrap),
             Column("done_by", "Marked done by", 14), Column("done_at", "Marked done (UTC)", 17, Kind.datetime),
             Column("closed_by", "Closed by", 12), Column("closed_at", "Closed (UTC)", 17, Kind.datetime),
             Column("detail", "Detail", 40, Kind.wrap), Column("created_by", "Created by", 12),
             Column("created_at", "Created (UTC)", 17, Kind.datetime)),
    rows=rows, figures=figures, pdf=pdf,
)
