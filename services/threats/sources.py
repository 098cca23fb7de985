"""Threat sources: the public-domain indicators shipped in seed/reference, and indices or files users import."""

from datetime import date

import pandas as pd
from sqlalchemy import insert
from sqlmodel import Session, col, select

from models import Country, ThreatIndicator, ThreatSource
from models.threats import SourceKind, ThreatCategory
from services.core.config import ROOT
from services.threats import rules

ADVISORY_KEY = "us-travel-advisory"
TIP_KEY = "us-tip"
# The TIP report of a year is dated later in that year; the 2025 edition used in the seed is dated 2025-09-29.
TIP_EDITION_DATES = {"2025": date(2025, 9, 29)}

REFERENCE = ROOT / "seed" / "reference"

# Shown wherever the values are shown (seed/reference/country-threat-sources.md).
ADVISORY_CAVEAT = (
    "The travel advisory level is the country-wide baseline for travellers and a composite of all risks (crime, "
    "terrorism, unrest, health, natural disaster...), not a supply-chain score. Many advisories name areas at a "
    "higher level (e.g. Mexican states, Colombian departments): a site there can warrant a higher regional rating. "
    "The reason letters are derived from the advisory's headline, not copied from an official field. The United "
    "States has no advisory: rate it yourself."
)
TIP_CAVEAT = (
    "The Trafficking in Persons tier measures a government's efforts against trafficking under the TVPA, not how "
    "much trafficking or migrant smuggling there is; Tier 1 does not mean none. Special Case means not ranked, usually "
    "in conflict or collapse. Tier 1 and Tier 2 placements rest on one transcription and should be spot-checked "
    "against the State Department's report."
)
BUILT_IN = {
    ADVISORY_KEY: {
        "name": "US State Department travel advisories", "publisher": "US Department of State",
        "categories": ",".join(rules.ADVISORY_CATEGORIES), "caveat": ADVISORY_CAVEAT,
        "licence": "Public domain (US Government work, 17 U.S.C. 105)",
        "citation": "travel.state.gov Travel Advisories RSS feed https://travel.state.gov/_res/rss/TAsTWs.xml, "
                    "snapshot captured 2026-10-07 (seed/reference/country-threat-sources.csv)",
        "indicators": ("travel_advisory_level", "travel_advisory_flags"),
    },
    TIP_KEY: {
        "name": "US Trafficking in Persons report tiers", "publisher": "US Department of State",
        "categories": ",".join(rules.TIP_CATEGORIES), "caveat": TIP_CAVEAT,
        "licence": "Public domain (US Government work, 17 U.S.C. 105)",
        "citation": "US Department of State, 2025 Trafficking in Persons Report, "
                    "https://www.state.gov/reports/2025-trafficking-in-persons-report/ "
                    "(seed/reference/country-threat-sources.csv)",
        "indicators": ("tip_tier",),
    },
}
_MEMO = "threat_suggestions"
# Suggestions change only when sources do: kept per database and sources fingerprint for the whole process, so the
# pages, the map and the CLI do not apply the rules again on every read.
_PROCESS_MEMO: dict[tuple, pd.DataFrame] = {}
SOURCE_COLUMNS = ["id", "key", "name", "publisher", "kind", "categories", "as_of", "licence", "citation", "caveat",
                  "is_demo", "filename", "loaded_by", "loaded_at", "active"]


def _as_of(text: str) -> date | None:
    text = (text or "").strip()
    if len(text) == 4 and text.isdigit():
        return TIP_EDITION_DATES.get(text, date(int(text), 1, 1))
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


def load_reference_sources(*, session: Session) -> int:
    """Load the built-in sources of seed/reference/country-threat-sources.csv once; returns the values loaded."""
    have = set(session.exec(select(ThreatSource.key)).all())
    if have >= set(BUILT_IN):
        return 0
    forget_suggestions(session)
    seed = pd.read_csv(REFERENCE / "country-threat-sources.csv", dtype=str, keep_default_na=False)
    loaded = 0
    for key, info in BUILT_IN.items():
        if key in have:
            continue
        rows = seed[seed["indicator"].isin(info["indicators"])]
        dates = rows["as_of"].map(_as_of)
        source = ThreatSource(key=key, name=info["name"], publisher=info["publisher"], kind=SourceKind.built_in,
                              categories=info["categories"], licence=info["licence"], citation=info["citation"],
                              caveat=info["caveat"], as_of=max(d for d in dates if d is not None))
        session.add(source)
        session.flush()
        values = pd.DataFrame({"source_id": source.id, "iso2": rows["iso2"], "region_code": "",
                               "indicator": rows["indicator"], "value": rows["value"], "as_of": dates,
                               "as_of_text": rows["as_of"]})
        session.exec(insert(ThreatIndicator), params=values.to_dict("records"))
        loaded += len(values)
    return loaded


def list_sources(*, session: Session) -> pd.DataFrame:
    rows = [s.model_dump() for s in session.exec(select(ThreatSource).order_by(ThreatSource.id))]
    return pd.DataFrame(rows, columns=[*SOURCE_COLUMNS, "mapping"])


def covered_categories(*, session: Session) -> set[str]:
    """Categories fed by at least one active source: elsewhere they are "not assessed"."""
    found: set[str] = set()
    for text in session.exec(select(ThreatSource.categories).where(ThreatSource.active)).all():
        found.update(c for c in text.split(",") if c)
    return found & set(ThreatCategory)


def indicator_values(*, session: Session, source_ids: list[int] | None = None) -> pd.DataFrame:
    stmt = select(ThreatIndicator.source_id, ThreatIndicator.iso2, ThreatIndicator.region_code,
                  ThreatIndicator.indicator, ThreatIndicator.value, ThreatIndicator.as_of, ThreatIndicator.as_of_text)
    if source_ids is not None:
        stmt = stmt.where(col(ThreatIndicator.source_id).in_(source_ids))
    return pd.DataFrame(session.exec(stmt).all(), columns=["source_id", "iso2", "region_code", "indicator", "value",
                                                           "as_of", "as_of_text"])


def suggestions(*, session: Session) -> pd.DataFrame:
    """The rules applied to every active source, combined: one suggestion per country, region and category.

    Kept for the rest of the session's transaction (sources change only through imports, which drop it).
    """
    held = session.info.get(_MEMO)
    if held is not None:
        return held.copy()
    key = (str(session.get_bind().engine.url), fingerprint(session=session))
    found = _PROCESS_MEMO.get(key)
    if found is None:
        found = _suggestions(session)
        _PROCESS_MEMO.clear()  # one database state is enough: older ones are never asked for again
        _PROCESS_MEMO[key] = found
    session.info[_MEMO] = found
    return found.copy()


def fingerprint(*, session: Session) -> tuple:
    """What the suggestions depend on, in one query: the sources and their values."""
    from sqlalchemy import func as f

    row = session.exec(select(
        select(f.count()).select_from(ThreatSource).scalar_subquery(),
        select(f.max(ThreatSource.loaded_at)).scalar_subquery(),
        select(f.count()).select_from(ThreatSource).where(ThreatSource.active).scalar_subquery(),
        select(f.max(ThreatIndicator.id)).scalar_subquery(),
        select(f.count()).select_from(ThreatIndicator).scalar_subquery(),
        select(f.count()).select_from(Country).scalar_subquery())).one()
    return tuple(str(v) for v in row)


def forget_suggestions(session: Session) -> None:
    """Drop the suggestions kept in the session: a source or its values changed."""
    session.info.pop(_MEMO, None)


def _suggestions(session: Session) -> pd.DataFrame:
    sources = session.exec(select(ThreatSource).where(ThreatSource.active,
                                                      ThreatSource.kind != SourceKind.register_file)).all()
    values = indicator_values(session=session, source_ids=[s.id for s in sources])
    parts = []
    for source in sources:
        mine = values[values["source_id"] == source.id]
        if source.key == ADVISORY_KEY:
            found = rules.advisory_suggestions(mine[mine["indicator"] == "travel_advisory_level"],
                                               mine[mine["indicator"] == "travel_advisory_flags"])
        elif source.key == TIP_KEY:
            found = rules.tip_suggestions(mine[mine["indicator"] == "tip_tier"])
        elif source.mapping:
            found = rules.index_suggestions(mine, name=source.name, categories=source.categories.split(","),
                                            mapping=source.mapping)
        else:
            continue
        parts.append(found.assign(source_key=source.key, source_name=source.name, is_demo=source.is_demo))
    if not parts:
        return pd.DataFrame(columns=rules.SUGGESTION_COLUMNS)
    combined = rules.combine(pd.concat(parts, ignore_index=True))
    # Codes outside ISO 3166 (XK) have no country row, so nothing can be located there.
    known = set(session.exec(select(Country.iso2)).all())
    return combined[combined["iso2"].isin(known)].reset_index(drop=True)
