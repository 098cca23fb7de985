"""The threat register: per country (and region) and category, the level, its basis and its source."""

from services.reports.pack.base import Column, Kind, PackContext, Section, chunked
from services.threats import register


def table(ctx: PackContext):
    def load():
        frame = register.threat_table(session=ctx.session, today=ctx.today)
        frame = frame[frame["level"] != register.NOT_ASSESSED].copy()
        frame["category"] = frame["category"].map(register.category_label)
        return frame.reset_index(drop=True)
    return ctx.shared("threat_table", load)


def rows(ctx: PackContext):
    yield from chunked(table(ctx))


def figures(ctx: PackContext) -> list[tuple[str, str]]:
    frame = table(ctx)
    if frame.empty:
        return []
    high = frame.loc[(frame["level"] == "High") & (frame["region_code"] == ""), "iso2"].nunique()
    return [("Countries rated High in at least one threat category", f"{high:,}")]


SECTION = Section(
    key="threats", order=60, sheet="Threat register", title="Threat register",
    description="Every country (and region with its own value) and threat category that a source covers: the level, "
                "whether it is rated by the team, suggested by a source or inherited, the rule and rationale, the "
                "source and its date, and whether it is stale. Sources are on the Threat sources sheet.",
    columns=(Column("country", "Country", 20), Column("iso2", "Code", 6), Column("region", "Region", 16),
             Column("category", "Category", 22), Column("level", "Level", 10), Column("status", "Status", 11),
             Column("rule", "Rule", 40, Kind.wrap), Column("rationale", "Rationale", 36, Kind.wrap),
             Column("source", "Source", 28, Kind.wrap), Column("as_of", "Source as of", 11, Kind.date),
             Column("stale", "Stale", 7, Kind.flag), Column("is_demo", "Demo value", 7, Kind.flag),
             Column("updated_by", "Rated by", 12), Column("updated_at", "Rated (UTC)", 17, Kind.datetime)),
    rows=rows, figures=figures,
)
