"""Reference data: countries, MSC criteria and their applicability, question texts, MRA programs."""

import re
from datetime import date
from pathlib import Path

import pandas as pd
import pycountry
from sqlalchemy import delete, insert, update
from sqlmodel import Session, col, func, select

from models import Country, Criterion, CriterionApplicability, CriterionText, MraProgram
from models.common import ENTITY_TYPES, LANGUAGES, Applicability, Requirement
from models.reference import Basis, PartnerRole, RoleDefault
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
    "Applicability outside importers and foreign manufacturers is thin in the sources; where no source decides, a "
    "documented role rule does (basis 'role rule', the rule in words; docs/APPLICABILITY.md) or the pair stays "
    "'unknown': asked, and flagged for an admin to confirm. An admin's override wins.",
)
RULES_FILE = SEED / "applicability-rules.csv"
ROLES_FILE = SEED / "entity-roles.csv"
QUESTIONS_FILE = SEED / "criteria_questions.csv"
APPLICABILITY_FIELDS = ["applies", "requirement", "basis", "note", "source", "role_condition"]
MRA_CAVEAT = (
    "Peru (2018-09) and Uruguay (2022-07) dates are from secondary sources and India's arrangement is uncertain "
    "(2023 statements said it was still being finalised): these do not count until an admin confirms them. The "
    "Guatemala and Colombia program names are assumed (OEA). Newer arrangements may exist: an admin can add and "
    "correct them."
)
MRA_TYPES_CAVEAT = (
    "CBP's list does not say which certificate types count. Under the EU and UK arrangements AEO-S and AEO-F count "
    "and AEO-C (customs simplifications only) does not; for Japan and Korea the covered categories are uncertain; "
    "for the other programs check the arrangement's text. A Mexican VAT (IVA/IEPS) certification is not a security "
    "program. Dates given as a month are taken as the first of the month."
)
MRA_COVERAGE = SEED / "mra-coverage.csv"  # what the certificate rule reads per arrangement (codes, types, in force)

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
    _check_codes(REFERENCE / "msc-importer.csv", importer, "requirement", tuple(Requirement))
    _check_codes(REFERENCE / "msc-by-entity.csv", by_entity, "requirement", ("", *Requirement))
    _check_codes(REFERENCE / "msc-by-entity.csv", by_entity, "applies", tuple(Applicability))
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


class SeedError(ValueError):
    """A reference file in seed/ that cannot be read as it stands; the message names file, row and column."""


def _problem(path: Path, row: int, column: str, message: str) -> SeedError:
    return SeedError(f"{path.relative_to(SEED.parent)}, row {row}, column {column}: {message}")


def _check_codes(path: Path, frame: pd.DataFrame, column: str, allowed: tuple[str, ...]) -> None:
    """Every value of a code column (must/should, yes/no/unknown) is one of `allowed`: the rules compare with the
    enums, so another word would silently drop a criterion. A SeedError names the first wrong row."""
    wrong = frame.index[~frame[column].isin(allowed)]
    if len(wrong):
        words = ", ".join(f"'{code}'" for code in allowed)
        raise _problem(path, int(wrong[0]) + 2, column, f"'{frame.at[wrong[0], column]}' is not one of {words}")


def entity_roles() -> pd.DataFrame:
    """seed/entity-roles.csv: per entity type its code and default role flags (yes/no; the land border also a list
    of country codes, on for partners in those countries), with the reason."""
    roles = pd.read_csv(ROLES_FILE, dtype=str, keep_default_na=False)
    for number, row in enumerate(roles.itertuples(index=False), start=2):
        if row.entity_type not in ENTITY_TYPES:
            raise _problem(ROLES_FILE, number, "entity_type", f"'{row.entity_type}' is not a CTPAT entity type")
        for role in PartnerRole:
            value = getattr(row, role.value)
            countries = value.split()
            by_country = bool(countries) and all(re.fullmatch(r"[A-Z]{2}", c) for c in countries)
            if value not in (RoleDefault.yes, RoleDefault.no) and not by_country:
                raise _problem(ROLES_FILE, number, role.value, f"'{value}' is not yes, no or country codes")
    missing = set(ENTITY_TYPES) - set(roles["entity_type"])
    if missing:
        raise _problem(ROLES_FILE, len(roles) + 2, "entity_type", f"no row for {', '.join(sorted(missing))}")
    return roles


def applicability_rules(criterion_ids: list[str]) -> list[dict]:
    """seed/applicability-rules.csv, checked, each row with the criterion ids and entity types it matches.

    criteria: ids, "N.*" (every criterion of category N) or "*"; entity_types: codes of entity-roles.csv or "*".
    """
    roles = entity_roles()
    codes = dict(zip(roles["code"], roles["entity_type"], strict=True))
    frame = pd.read_csv(RULES_FILE, dtype=str, keep_default_na=False)
    known = set(criterion_ids)
    rules = []
    for number, row in enumerate(frame.itertuples(index=False), start=2):
        matched: list[str] = []
        for token in row.criteria.split():
            if token == "*":
                matched += criterion_ids
            elif token.endswith(".*") and token[:-2].isdigit():
                matched += [c for c in criterion_ids if c.split(".")[0] == token[:-2]]
            elif token in known:
                matched.append(token)
            else:
                raise _problem(RULES_FILE, number, "criteria", f"'{token}' is not a criterion id, N.* or *")
        types: list[str] = []
        for token in row.entity_types.split():
            if token == "*":
                types += list(ENTITY_TYPES)
            elif token in codes:
                types.append(codes[token])
            else:
                raise _problem(RULES_FILE, number, "entity_types", f"'{token}' is not a code of entity-roles.csv")
        if row.applies not in set(Applicability):
            raise _problem(RULES_FILE, number, "applies", f"'{row.applies}' is not yes, no or unknown")
        if row.requirement not in ("", *Requirement):
            raise _problem(RULES_FILE, number, "requirement", f"'{row.requirement}' is not must, should or empty")
        condition = [r for r in row.role_condition.split("|") if r]
        wrong = [r for r in condition if r not in set(PartnerRole)]
        if wrong:
            raise _problem(RULES_FILE, number, "role_condition", f"'{wrong[0]}' is not one of "
                           f"{', '.join(PartnerRole)}")
        if not row.rule.strip() or len(row.rule) > 500:
            raise _problem(RULES_FILE, number, "rule", "the rule in words is required, at most 500 characters")
        rules.append({"row": number, "criteria": set(matched), "entity_types": set(types), "applies": row.applies,
                      "requirement": row.requirement, "role_condition": "|".join(condition), "rule": row.rule.strip()})
    return rules


def applicability_matrix(criteria: pd.DataFrame, by_entity: pd.DataFrame) -> pd.DataFrame:
    """One row per criterion x entity type: the CBP source row where one exists, else the first matching role rule.

    The first matching rule also gives every pair its role condition (the partner roles the criterion is about),
    CBP rows included: CBP decides whether a criterion belongs to an entity type, the partner's roles decide whether
    that partner does what it is about (a Chinese factory ships no goods across a U.S. land border).
    """
    ids = criteria.sort_values("sort_key")["criterion_id"].tolist()
    rules = applicability_rules(ids)
    explicit = by_entity.set_index(["criterion_id", "entity_type"])
    rows = []
    for entity in ENTITY_TYPES:
        for cid in ids:
            rule = next((r for r in rules if cid in r["criteria"] and entity in r["entity_types"]), None)
            condition = rule["role_condition"] if rule else ""
            if (cid, entity) in explicit.index:
                cbp = explicit.loc[(cid, entity)]
                rows.append({"criterion_id": cid, "entity_type": entity, "applies": cbp["applies"],
                             "requirement": cbp["requirement"], "basis": Basis.cbp.value,
                             "note": cbp["summary_if_different"], "source": cbp["source"][:1000],
                             "role_condition": condition if cbp["applies"] != Applicability.no else ""})
            elif rule is not None:
                rows.append({"criterion_id": cid, "entity_type": entity, "applies": rule["applies"],
                             "requirement": rule["requirement"], "basis": Basis.role_rule.value, "note": rule["rule"],
                             "source": f"{RULES_FILE.name}, row {rule['row']}",
                             "role_condition": condition if rule["applies"] != Applicability.no else ""})
    return pd.DataFrame(rows, columns=["criterion_id", "entity_type", *APPLICABILITY_FIELDS])


def shipped_applicability() -> pd.DataFrame:
    """The applicability rows as the seed files give them (CBP source rows and role rules), before any override."""
    criteria, by_entity = _criteria()
    return applicability_matrix(criteria, by_entity)


def _mras() -> pd.DataFrame:
    """The arrangements of mra.csv ("no" and "uncertain" are unconfirmed) with what seed/mra-coverage.csv adds."""
    mra = pd.read_csv(REFERENCE / "mra.csv", dtype=str, keep_default_na=False)
    coverage = pd.read_csv(MRA_COVERAGE, dtype=str, keep_default_na=False).set_index("partner_country_or_union")
    coverage = coverage.reindex(mra["partner_country_or_union"]).fillna("")
    return pd.DataFrame({
        "partner_country": mra["partner_country_or_union"],
        "customs_administration": mra["customs_administration"],
        "program_name": mra["program_name"],
        "acronym": mra["program_acronym"],
        "signed": mra["signed_date"].str.slice(0, 7),
        "confirmed": mra["confirmed"].eq("yes"),
        "country_codes": mra["partner_country_or_union"].map(lambda n: " ".join(_MRA_COUNTRY.get(n, []))),
        "source": mra["source"].str.slice(0, 1000),
        "codes": coverage["codes"].to_numpy(),
        "certificate_types": coverage["certificate_types"].to_numpy(),
        "types_counted": coverage["types_counted"].to_numpy(),
        "types_note": coverage["types_note"].to_numpy(),
        "in_force_from": [date.fromisoformat(d) if d else None for d in coverage["in_force_from"]],
        "caveat": coverage["caveat"].to_numpy(),
    })


def _question_texts(criteria: pd.DataFrame) -> pd.DataFrame:
    """Questions in English, Spanish and Chinese, general (entity_type "") or for one entity type, with their checks
    (one per line) and recommended part; a criterion without a written English question asks its summary."""
    written = pd.read_csv(QUESTIONS_FILE, dtype=str, keep_default_na=False)
    for number, row in enumerate(written.itertuples(index=False), start=2):
        for column, known in (("criterion_id", set(criteria["criterion_id"])), ("language", set(LANGUAGES)),
                              ("entity_type", {"", *ENTITY_TYPES})):
            if getattr(row, column) not in known:
                raise _problem(QUESTIONS_FILE, number, column, f"'{getattr(row, column)}' is not known")
        if not row.question.strip():
            raise _problem(QUESTIONS_FILE, number, "question", "empty")
    keys = ["criterion_id", "language", "entity_type"]
    if written.duplicated(keys).any():
        number = int(written.index[written.duplicated(keys)][0]) + 2
        raise _problem(QUESTIONS_FILE, number, "criterion_id", "the same criterion, language and entity type twice")
    general = written[(written["language"] == "en") & (written["entity_type"] == "")]
    fallback = criteria.loc[~criteria["criterion_id"].isin(general["criterion_id"])]
    english = pd.DataFrame({"criterion_id": fallback["criterion_id"], "language": "en", "entity_type": "",
                            "question": fallback["summary"], "checks": "", "recommended": ""})
    columns = [*keys, "question", "checks", "recommended"]
    texts = pd.concat([written[columns], english], ignore_index=True)
    for column in ("question", "checks", "recommended"):
        texts[column] = texts[column].str.strip()
    return texts


def _sync(session: Session, model, keys: list[str], shipped: pd.DataFrame, fields: list[str]) -> int:
    """Make the table hold the shipped rows: insert missing keys, rewrite changed rows; returns the rows written.

    A stored row whose basis is an admin override keeps its fields, except role_condition, which follows the rules.
    """
    stored = pd.DataFrame([tuple(r) for r in session.exec(select(*(getattr(model, c) for c in [*keys, *fields])))],
                          columns=[*keys, *fields])
    merged = shipped.merge(stored, on=keys, how="left", suffixes=("", "_stored"), indicator=True)
    new = merged[merged["_merge"] == "left_only"]
    if len(new):
        session.exec(insert(model), params=new[[*keys, *fields]].to_dict("records"))
    old = merged[merged["_merge"] == "both"]
    admin = old["basis_stored"].eq(Basis.admin.value) if "basis" in fields else pd.Series(False, index=old.index)
    differs = {f: old[f].ne(old[f"{f}_stored"]) for f in fields}
    rewritten = 0
    for position, row in enumerate(old.to_dict("records")):
        index = old.index[position]
        if admin[index]:
            values = {"role_condition": row["role_condition"]} if differs["role_condition"][index] else {}
        else:
            values = {f: row[f] for f in fields} if any(d[index] for d in differs.values()) else {}
        if values:
            session.exec(update(model).where(*(getattr(model, k) == row[k] for k in keys)).values(**values))
            rewritten += 1
    return len(new) + rewritten


def refresh_applicability(*, session: Session, matrix: pd.DataFrame) -> int:
    """Store the shipped applicability: missing pairs are added, rows from a source or a role rule follow the seed
    files, and an admin override keeps its decision (only its role condition follows the rules)."""
    return _sync(session, CriterionApplicability, ["criterion_id", "entity_type"], matrix, APPLICABILITY_FIELDS)


def refresh_question_texts(*, session: Session, texts: pd.DataFrame) -> int:
    """Store the shipped question texts (no one edits them in the app): add, change, and drop those no longer
    shipped; returns the rows written or dropped."""
    keys = ["criterion_id", "language", "entity_type"]
    written = _sync(session, CriterionText, keys, texts, ["question", "checks", "recommended"])
    stored = pd.DataFrame([tuple(r) for r in session.exec(select(*(getattr(CriterionText, k) for k in keys)))],
                          columns=keys)
    gone = stored.merge(texts[keys], on=keys, how="left", indicator=True)
    gone = gone[gone["_merge"] == "left_only"]
    for row in gone.itertuples(index=False):
        session.exec(delete(CriterionText).where(col(CriterionText.criterion_id) == row.criterion_id,
                                                 col(CriterionText.language) == row.language,
                                                 col(CriterionText.entity_type) == row.entity_type))
    return written + len(gone)


def load_reference_data(*, session: Session) -> dict[str, int]:
    """Load countries, criteria and MRAs into empty tables, and bring applicability and question texts up to the
    seed files; returns the rows written per table.

    Criteria and MRAs that already hold rows are left alone, so admins' corrections survive restarts; missing
    countries are added;
    applicability keeps an admin's overrides while the shipped rules follow the seed files, so a corrected rule
    reaches existing databases.
    """
    loaded: dict[str, int] = {}

    def fill(model, frame: pd.DataFrame) -> None:
        if session.exec(select(func.count()).select_from(model)).one():
            return
        session.exec(insert(model), params=frame.to_dict("records"))
        loaded[model.__tablename__] = len(frame)

    criteria, by_entity = _criteria()
    # Countries are topped up by code (places and sites refer to them); stored rows are left as they are.
    countries = _countries()
    known = set(session.exec(select(Country.iso2)).all())
    missing = countries[~countries["iso2"].isin(known)]
    if not missing.empty:
        session.exec(insert(Country), params=missing.to_dict("records"))
        loaded[Country.__tablename__] = len(missing)
    fill(Criterion, criteria)
    session.flush()
    for model, count in ((CriterionApplicability, refresh_applicability(
            session=session, matrix=applicability_matrix(criteria, by_entity))),
            (CriterionText, refresh_question_texts(session=session, texts=_question_texts(criteria)))):
        if count:
            loaded[model.__tablename__] = count
    fill(MraProgram, _mras())
    session.flush()
    # Places and threat sources are topped up by key rather than filled once: sites and imports live there too.
    for table, count in (("place", places.load_reference_places(session=session)),
                         ("threatindicator", threat_sources.load_reference_sources(session=session))):
        if count:
            loaded[table] = count
    session.flush()
    return loaded
