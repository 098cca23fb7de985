"""Reference data: countries, MSC criteria and their applicability, question texts, MRA programs."""

import re
from pathlib import Path

import pandas as pd
import pycountry
from sqlalchemy import insert
from sqlmodel import Session, func, select

from models import Country, Criterion, CriterionApplicability, CriterionText, MraProgram
from models.common import ENTITY_TYPES
from services.places import registry as places
from services.threats import sources as threat_sources

SEED = Path(__file__).resolve().parents[2] / "seed"
REFERENCE = SEED / "reference"

# Shown wherever criteria are shown (from seed/reference/README.md).
CRITERIA_CAVEATS: tuple[str, ...] = (
    "Rebuilt from unofficial public sources (a CTPAT Portal prototype and a seeder with criterion text), checked "
    "against the opening of CBP's importer document: good, not official. Summaries are paraphrases, not CBP wording.",
    "Must/should of 2.2 is uncertain; 5.7, 5.15 and 5.24 are unconfirmed for importers; IDs that may exist but are "
    "missing: 3.2, 3.3, 8.2, 9.3, 11.3, 11.4, 12.3, 12.5.",
    "Criterion ids are text: 4.1 and 4.10 are different criteria.",
    "Applicability outside importers and foreign manufacturers is thin in the sources; where no source decides, the "
    "product applies a documented default (basis 'product default'), which an admin can review.",
)
MRA_CAVEAT = (
    "Peru (2018-09) and Uruguay (2022-07) dates are from secondary sources; the Guatemala and Colombia program names "
    "are assumed (OEA). Newer arrangements may exist: an admin can add and correct them."
)

# MRA partner name -> ISO alpha-2 codes covered (the EU arrangement covers its member states).
EU_MEMBERS = ("AT BE BG HR CY CZ DK EE FI FR DE GR HU IE IT LV LT LU MT NL PL PT RO SK SI ES SE").split()
_MRA_COUNTRY = {
    "New Zealand": ["NZ"], "Canada": ["CA"], "Jordan": ["JO"], "Japan": ["JP"], "Korea (Republic of)": ["KR"],
    "European Union": EU_MEMBERS, "Taiwan": ["TW"], "Israel": ["IL"], "Mexico": ["MX"], "Singapore": ["SG"],
    "Dominican Republic": ["DO"], "Peru": ["PE"], "United Kingdom": ["GB"], "India": ["IN"], "Uruguay": ["UY"],
    "Brazil": ["BR"], "Guatemala": ["GT"], "Colombia": ["CO"],
}

_BRACKET_NOTE = re.compile(r"\s*\[([^\]]+)\]\s*$")


def criterion_sort_key(criterion_id: str) -> int:
    major, _, minor = criterion_id.partition(".")
    return int(major) * 1000 + int(minor or 0)


def _countries() -> pd.DataFrame:
    regions = pd.read_csv(SEED / "regions.csv", dtype=str, keep_default_na=False).set_index("iso2")["region"]
    rows = [
        {
            "iso2": c.alpha_2,
            "iso3": c.alpha_3,
            "numeric": c.numeric.zfill(3),
            "name": getattr(c, "common_name", None) or c.name,
            "region": regions.get(c.alpha_2, ""),
        }
        for c in pycountry.countries
    ]
    return pd.DataFrame(rows)


def _criteria() -> tuple[pd.DataFrame, pd.DataFrame]:
    importer = pd.read_csv(REFERENCE / "msc-importer.csv", dtype=str, keep_default_na=False)
    by_entity = pd.read_csv(REFERENCE / "msc-by-entity.csv", dtype=str, keep_default_na=False)
    importer["category_number"] = importer["criterion_id"].str.split(".").str[0].astype(int)
    categories = importer.drop_duplicates("category_number").set_index("category_number")[["focus_area", "category"]]

    rows = []
    for r in importer.itertuples():
        note = _BRACKET_NOTE.search(r.summary)
        rows.append({
            "criterion_id": r.criterion_id, "focus_area": r.focus_area, "category_number": r.category_number,
            "category": r.category, "requirement": r.requirement,
            "summary": _BRACKET_NOTE.sub("", r.summary), "caveat": note.group(1) if note else "", "source": r.source,
        })
    known = set(importer["criterion_id"])
    for cid, group in by_entity[~by_entity["criterion_id"].isin(known)].groupby("criterion_id", sort=False):
        described = group[group["summary_if_different"] != ""]
        first = (described if len(described) else group).iloc[0]
        number = int(cid.split(".")[0])
        requirement = first["requirement"]
        rows.append({
            "criterion_id": cid, "focus_area": categories.loc[number, "focus_area"], "category_number": number,
            "category": categories.loc[number, "category"], "requirement": requirement,
            "summary": first["summary_if_different"],
            "caveat": "" if requirement else "Must/should not confirmed in the sources.",
            "source": first["source"],
        })
    criteria = pd.DataFrame(rows)
    criteria["sort_key"] = criteria["criterion_id"].map(criterion_sort_key)
    return criteria, by_entity


def applicability_matrix(criteria: pd.DataFrame, by_entity: pd.DataFrame) -> pd.DataFrame:
    """Criterion x entity type: the reference row where one exists, else the product default.

    Default for a pair no source decides: entity types other than importers take the foreign-manufacturer baseline
    (the fullest partner-side set in the sources), except that customs brokers skip conveyance (5.x) and seal (6.x)
    criteria because they do not handle cargo; importers take nothing beyond their reference rows.
    """
    explicit = by_entity.rename(columns={"summary_if_different": "note"}).assign(basis="CBP source")
    explicit["source"] = explicit["source"].str.slice(0, 1000)
    baseline = explicit[(explicit["entity_type"] == "Foreign Manufacturer") & (explicit["applies"] == "yes")]
    category = criteria.set_index("criterion_id")["category_number"]
    defaults = []
    for entity in ENTITY_TYPES:
        if entity in {"Importer", "Foreign Manufacturer"}:
            continue
        have = set(explicit.loc[explicit["entity_type"] == entity, "criterion_id"])
        for cid in baseline["criterion_id"]:
            if cid in have:
                continue
            skip = entity == "Customs Broker" and category[cid] in (5, 6)
            defaults.append({
                "criterion_id": cid, "entity_type": entity, "applies": "no" if skip else "yes", "requirement": "",
                "note": "Brokers do not handle cargo." if skip else "Foreign-manufacturer baseline until CBP's "
                "document for this entity type is loaded.",
                "source": "", "basis": "product default",
            })
    matrix = pd.concat([explicit, pd.DataFrame(defaults)], ignore_index=True)
    return matrix[["criterion_id", "entity_type", "applies", "requirement", "basis", "note", "source"]]


def _mras() -> pd.DataFrame:
    mra = pd.read_csv(REFERENCE / "mra.csv", dtype=str, keep_default_na=False)
    return pd.DataFrame({
        "partner_country": mra["partner_country_or_union"],
        "customs_administration": mra["customs_administration"],
        "program_name": mra["program_name"],
        "acronym": mra["program_acronym"],
        "signed": mra["signed_date"].str.slice(0, 7),
        "confirmed": mra["confirmed"].eq("yes"),
        "country_codes": mra["partner_country_or_union"].map(lambda n: " ".join(_MRA_COUNTRY.get(n, []))),
        "source": mra["source"].str.slice(0, 1000),
    })


def _question_texts(criteria: pd.DataFrame) -> pd.DataFrame:
    """Questions in English, Spanish and Chinese; a criterion without a written question asks its summary."""
    written = pd.read_csv(SEED / "criteria_questions.csv", dtype=str, keep_default_na=False)
    written = written[written["criterion_id"].isin(criteria["criterion_id"])]
    have = set(written.loc[written["language"] == "en", "criterion_id"])
    fallback = criteria.loc[~criteria["criterion_id"].isin(have)]
    english = pd.DataFrame({"criterion_id": fallback["criterion_id"], "language": "en",
                            "question": fallback["summary"]})
    return pd.concat([written[["criterion_id", "language", "question"]], english], ignore_index=True)


def load_reference_data(*, session: Session) -> dict[str, int]:
    """Load countries, criteria, applicability, question texts and MRAs into empty tables; returns counts loaded.

    Tables that already hold rows are left alone, so admins' corrections survive restarts.
    """
    loaded: dict[str, int] = {}

    def fill(model, frame: pd.DataFrame) -> None:
        if session.exec(select(func.count()).select_from(model)).one():
            return
        session.exec(insert(model), params=frame.to_dict("records"))
        loaded[model.__tablename__] = len(frame)

    criteria, by_entity = _criteria()
    fill(Country, _countries())
    fill(Criterion, criteria)
    fill(CriterionApplicability, applicability_matrix(criteria, by_entity))
    fill(CriterionText, _question_texts(criteria))
    fill(MraProgram, _mras())
    session.flush()
    # Places and threat sources are topped up by key rather than filled once: sites and imports live there too.
    for table, count in (("place", places.load_reference_places(session=session)),
                         ("threatindicator", threat_sources.load_reference_sources(session=session))):
        if count:
            loaded[table] = count
    session.flush()
    return loaded
