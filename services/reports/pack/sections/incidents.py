"""The incident register (MSC 7.37): every security incident or exception, how it was reported, investigated and
closed, and its action item (services.actions.incidents)."""

import pandas as pd

from models.incidents import OPEN_INCIDENT_STATUSES
from services.actions.incidents import list_incidents
from services.reports.pack.base import Column, Kind, PackContext, Section, chunked


def register(ctx: PackContext) -> pd.DataFrame:
    def load() -> pd.DataFrame:
        frame = list_incidents(session=ctx.session)
        for column in ("kind", "status", "action_status"):
            frame[column] = frame[column].astype(str)
        return frame
    return ctx.shared("incidents", load)


def rows(ctx: PackContext):
    frame = register(ctx)
    if frame.empty:
        return
    frame = frame.copy()
    frame["action"] = [f"{int(a)} ({s})" if not pd.isna(a) else "" for a, s in
                       zip(frame["action_id"], frame["action_status"], strict=True)]
    yield from chunked(frame)


def figures(ctx: PackContext) -> list[tuple[str, str]]:
    frame = register(ctx)
    if frame.empty:
        return [("Security incidents on record", "0")]
    still_open = frame["status"].isin([s.value for s in OPEN_INCIDENT_STATUSES]).sum()
    return [("Security incidents open or under investigation", f"{still_open:,} of {len(frame):,}")]


SECTION = Section(
    key="incidents", order=77, sheet="Incidents", title="Incident register",
    description="Every security incident or exception in the supply chain (MSC 7.37), newest first: when, what, "
                "partner, site and lane, what happened, to whom and when it was reported, the investigation, how it "
                "was closed, and its action item in the plan.",
    columns=(Column("id", "Id", 6, Kind.integer), Column("occurred_on", "Occurred on", 11, Kind.date),
             Column("kind", "Kind", 18), Column("status", "Status", 12),
             Column("partner_code", "Partner code", 14), Column("partner_name", "Partner", 26, Kind.wrap),
             Column("site_name", "Site", 18, Kind.wrap), Column("lane_code", "Lane", 10),
             Column("description", "What happened", 44, Kind.wrap), Column("reported_to", "Reported to", 20, Kind.wrap),
             Column("reported_on", "Reported on", 11, Kind.date),
             Column("investigation", "Investigation", 40, Kind.wrap),
             Column("closing_note", "Closing note", 36, Kind.wrap), Column("closed_on", "Closed on", 11, Kind.date),
             Column("closed_by", "Closed by", 12), Column("action", "Action item", 24),
             Column("created_by", "Recorded by", 12), Column("created_at", "Recorded (UTC)", 17, Kind.datetime)),
    rows=rows, figures=figures,
)
