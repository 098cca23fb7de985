"""Lanes (cargo flows) with their flags, and the cargo-flow map in the PDF."""

from typing import TYPE_CHECKING

import pandas as pd

from models.lanes import LaneStatus
from services.lanes import flags as lane_flags
from services.lanes import maps
from services.lanes.registry import list_lanes
from services.reports.pack.base import Column, Kind, PackContext, Section, chunked

if TYPE_CHECKING:
    from services.reports.pack.pdf import PdfReport


def lanes(ctx: PackContext) -> pd.DataFrame:
    def load() -> pd.DataFrame:
        frame = list_lanes(session=ctx.session)
        if frame.empty:
            return frame
        found = lane_flags.all_flags(session=ctx.session, today=ctx.today)
        counts = found.groupby("lane_id").size()
        kinds = found.groupby("lane_id")["flag"].agg(lambda f: "; ".join(sorted(set(f))))
        frame["flag_count"] = frame["id"].map(counts).fillna(0).astype(int)
        frame["flags"] = frame["id"].map(kinds).fillna("")
        return frame
    return ctx.shared("lanes", load)


def rows(ctx: PackContext):
    yield from chunked(lanes(ctx))


def figures(ctx: PackContext) -> list[tuple[str, str]]:
    frame = lanes(ctx)
    if frame.empty:
        return []
    active = frame[frame["status"] == LaneStatus.active]
    return [("Active lanes (cargo flows)", f"{len(active):,}"),
            ("Active lanes with at least one flag", f"{(active['flag_count'] > 0).sum():,}")]


def pdf(ctx: PackContext, report: "PdfReport") -> None:
    frame = lanes(ctx)
    active = frame[frame["status"] == LaneStatus.active] if not frame.empty else frame
    if active.empty:
        return
    report.heading("Cargo flow")
    data = maps.map_data(session=ctx.session, today=ctx.today)
    if not data.points.empty:
        spec = maps.lane_map_spec(data, height=380)
        spec["width"] = 760
        report.chart(spec, caption="Lanes on the world map, coloured by the threat of each place (Natural Earth "
                                   "1:110m via world-atlas; borders are indicative; sea legs follow computed sea "
                                   "routes where known).")
    flagged = active.sort_values(["flag_count", "code"], ascending=[False, True])
    flagged = flagged[flagged["flag_count"] > 0].head(15)
    if not flagged.empty:
        report.heading("Lanes needing attention (most flags)", level=2)
        report.table(["Lane", "Name", "Origin", "Entry", "Flags", "What"],
                     [(r.code, r.name, r.origin, r.entry, r.flag_count, r.flags) for r in flagged.itertuples()],
                     widths=[10, 24, 22, 18, 7, 40])


SECTION = Section(
    key="lanes", order=70, sheet="Lanes", title="Lanes",
    description="Every lane (cargo flow from origin to the US port of entry): commodity, mode, share of volume, "
                "status, origin and entry, and the flags that need attention (see the Lane nodes sheet for each "
                "node).",
    columns=(Column("code", "Lane", 12), Column("name", "Name", 30, Kind.wrap), Column("commodity", "Commodity", 18),
             Column("mode", "Mode", 10), Column("volume_share", "Volume share %", 10, Kind.number),
             Column("status", "Status", 9), Column("nodes", "Nodes", 7, Kind.integer),
             Column("origin", "Origin", 28, Kind.wrap), Column("entry", "Port of entry", 24, Kind.wrap),
             Column("flag_count", "Flags", 7, Kind.integer), Column("flags", "Flag kinds", 44, Kind.wrap),
             Column("updated_by", "Updated by", 12), Column("updated_at", "Updated (UTC)", 17, Kind.datetime)),
    rows=rows, figures=figures, pdf=pdf,
)
