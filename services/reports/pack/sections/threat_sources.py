"""The sources of threat information, with their dates, licences and caveats."""

import pandas as pd
from sqlmodel import select

from models import ThreatSource
from services.reports.pack.base import Column, Kind, PackContext, Section


def rows(ctx: PackContext):
    found = ctx.session.exec(select(ThreatSource).order_by(ThreatSource.key)).all()
    if found:
        yield pd.DataFrame([s.model_dump() for s in found])


SECTION = Section(
    key="threat_sources", order=62, sheet="Threat sources", title="Threat sources",
    description="Where threat values come from: publisher, categories fed, as-of date, licence, citation, caveat, "
                "the file loaded and its SHA-256, who loaded it and whether it is active.",
    columns=(Column("key", "Key", 16), Column("name", "Source", 36, Kind.wrap), Column("publisher", "Publisher", 24),
             Column("kind", "Kind", 10), Column("categories", "Categories", 24, Kind.wrap),
             Column("as_of", "As of", 11, Kind.date), Column("is_demo", "Demo", 7, Kind.flag),
             Column("active", "Active", 7, Kind.flag), Column("licence", "Licence", 30, Kind.wrap),
             Column("citation", "Citation", 40, Kind.wrap), Column("caveat", "Caveat", 40, Kind.wrap),
             Column("filename", "File", 20), Column("sha256", "SHA-256", 20), Column("loaded_by", "Loaded by", 12),
             Column("loaded_at", "Loaded (UTC)", 17, Kind.datetime)),
    rows=rows,
)
