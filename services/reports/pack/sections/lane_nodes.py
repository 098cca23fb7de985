"""Every node of every lane in order: who has custody where, seals, rests and data transmitted."""

from services.lanes.registry import nodes_frame
from services.reports.pack.base import Column, Kind, PackContext, Section, chunked
from services.reports.pack.sections.lanes import lanes


def rows(ctx: PackContext):
    frame = lanes(ctx)
    if frame.empty:
        return
    nodes = nodes_frame(session=ctx.session)
    nodes["lane"] = nodes["lane_id"].map(frame.set_index("id")["code"])
    for column in ("role", "custody", "mode_to_next"):
        nodes[column] = nodes[column].astype("string").fillna("").astype(str)
    yield from chunked(nodes.sort_values(["lane", "seq"], kind="stable"))


SECTION = Section(
    key="lane_nodes", order=72, sheet="Lane nodes", title="Lane nodes",
    description="Each lane's nodes in order: role, partner, location (site or place), custody and who contracted "
                "it, the mode to the next node, time at rest, custody changes, seals applied and verified, data "
                "transmitted.",
    columns=(Column("lane", "Lane", 12), Column("seq", "Step", 6, Kind.integer), Column("role", "Role", 18),
             Column("partner_code", "Partner code", 14), Column("partner_name", "Partner", 28, Kind.wrap),
             Column("location", "Location", 30, Kind.wrap), Column("iso2", "Country", 8),
             Column("region", "Region", 14), Column("custody", "Custody", 12),
             Column("contracted_by_code", "Contracted by", 14), Column("mode_to_next", "Mode to next", 12),
             Column("rests", "At rest", 7, Kind.flag), Column("dwell_hours", "Hours at rest", 9, Kind.number),
             Column("custody_change", "Custody changes", 9, Kind.flag),
             Column("seal_applied", "Seal applied", 8, Kind.flag),
             Column("seal_verified", "Seal verified", 8, Kind.flag),
             Column("transmits_data", "Data sent", 8, Kind.flag), Column("notes", "Notes", 30, Kind.wrap)),
    rows=rows,
)
