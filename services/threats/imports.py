"""Importing threat data from CSV/XLSX, in two forms (docs/import-formats.md, section Threats):

- a register file: country, optional region, category, level (High/Medium/Low), and optionally rationale, source and
  as-of date per row; its rows become register ratings (basis "file import"), each with a history entry;
- an index file: country, optional region, value, optionally as-of; an index the user licenses (corruption,
  organized crime, peace...). The preview proposes a mapping of values to High/Medium/Low (thresholds for numbers,
  a level per value for text) which the user confirms or changes, and the categories the index feeds. The values
  are kept with the mapping, and the index joins the suggestions (the worst source wins), which analysts accept or
  override like the built-in ones.

A file with a level column is a register file; one with a value column an index file. Any error and nothing is
written. Loading an index under a name already loaded replaces that index's values and mapping.
"""

import re
from dataclasses import dataclass, field
from datetime import date, datetime

import pandas as pd
from sqlalchemy import delete, insert
from sqlmodel import Session, select

from models import ImportRecord, ThreatIndicator, ThreatSource
from models.common import utcnow
from models.threats import RatingBasis, SourceKind, ThreatCategory
from services.core import audit
from services.core.permissions import Actor, ValidationError, require_write
from services.imports.partners import country_lookup
from services.imports.reader import (
    Problem,
    ProblemCounts,
    Table,
    UnreadableFile,
    header_key,
    problems_frame,
    read_table,
)
from services.places.regions import clean_region
from services.threats import register, rules, sources

COLUMN_ALIASES: dict[str, tuple[str, ...]] = {
    "country": ("country", "iso2", "iso3", "iso", "country code", "country name", "country_iso2", "nation"),
    "region": ("region", "region_code", "state", "province", "subdivision"),
    "category": ("category", "threat category", "threat"),
    "level": ("level", "rating", "threat level"),
    "value": ("value", "score", "index", "tier", "rank"),
    "rationale": ("rationale", "comment", "comments", "notes", "why"),
    "source": ("source", "reference", "citation"),
    "as_of": ("as_of", "as of", "date", "year", "edition"),
}
CODE_KEYS = {header_key(a) for a in ("iso2", "iso3", "iso", "country code", "country_iso2")}
CATEGORY_WORDS = {c.value: c.value for c in ThreatCategory} | {
    "contraband": ThreatCategory.contraband_smuggling, "smuggling": ThreatCategory.contraband_smuggling,
    "drugs": ThreatCategory.contraband_smuggling, "human trafficking": ThreatCategory.human_smuggling,
    "trafficking": ThreatCategory.human_smuggling, "crime": ThreatCategory.organized_crime,
    "organised crime": ThreatCategory.organized_crime, "corruption": ThreatCategory.conditions,
    "unrest": ThreatCategory.conditions, "governance": ThreatCategory.conditions,
    "conditions that foster these": ThreatCategory.conditions, "agriculture": ThreatCategory.agricultural,
    "pests": ThreatCategory.agricultural, "forced labour": ThreatCategory.forced_labor,
    "forced-labor": ThreatCategory.forced_labor,
}
LEVEL_WORDS = {"high": "High", "h": "High", "medium": "Medium", "m": "Medium", "med": "Medium", "moderate": "Medium",
               "low": "Low", "l": "Low"}
MAX_CATEGORIES = 30  # distinct text values an index may have for a value-by-value mapping
ROW_COLUMNS = ["row", "iso2", "region_code", "category", "level", "value", "rationale", "source", "as_of"]


@dataclass
class ThreatFilePreview(ProblemCounts):
    filename: str
    sha256: str
    kind: str  # register | index | "" when unreadable
    rows: pd.DataFrame
    problems: pd.DataFrame
    numeric: bool = False
    distinct: list[str] = field(default_factory=list)
    proposed: dict = field(default_factory=dict)

    def levels(self, mapping: dict) -> pd.Series:
        """The level each index row gets under a mapping (None where a value does not map)."""
        return rules.index_level(self.rows["value"], mapping)


def _as_of(text: str) -> date | None:
    text = text.strip()
    if not text:
        return None
    if re.fullmatch(r"\d{4}", text):
        return date(int(text), 1, 1)
    if re.fullmatch(r"\d{5}(\.0+)?", text):  # an Excel serial number
        return (pd.Timestamp("1899-12-30") + pd.Timedelta(days=int(float(text)))).date()
    for fmt in ("%Y-%m-%d", "%m/%d/%Y", "%d.%m.%Y"):
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise ValueError(text)


def _columns(table: Table, problems: list[Problem]) -> dict[str, int] | None:
    columns: dict[str, int] = {}
    for target, aliases in COLUMN_ALIASES.items():
        positions = table.positions(*(header_key(a) for a in aliases))
        if target == "country" and len(positions) > 1:  # "Country" and "ISO3", as index files have: the code wins
            codes = [p for p in positions if table.keys[p] in CODE_KEYS]
            positions = codes[:1] if len(codes) == 1 else positions
        if len(positions) > 1:
            labels = ", ".join(table.label(p) for p in positions)
            problems.append(Problem(table.filename, table.header_row, labels, "",
                                    f"More than one column could be '{target}' ({labels}); keep one."))
            return None
        if positions:
            columns[target] = positions[0]
    if "country" not in columns:
        problems.append(Problem(table.filename, table.header_row, "", ", ".join(table.headers)[:200],
                                "No country column (country, iso2 or iso3)."))
        return None
    if "level" not in columns and "value" not in columns:  # an index's own name: "CPI score", "GPI 2025 value"
        taken = set(columns.values())
        ending = [i for i, key in enumerate(table.keys) if i not in taken and key.endswith(("score", "value"))]
        if len(ending) == 1:
            columns["value"] = ending[0]
    if "level" not in columns and "value" not in columns:
        problems.append(Problem(table.filename, table.header_row, "", ", ".join(table.headers)[:200],
                                "Neither a level column (a register file) nor a value column (an index file)."))
        return None
    if "level" in columns and "category" not in columns:
        problems.append(Problem(table.filename, table.header_row, "", ", ".join(table.headers)[:200],
                                "A register file needs a category column next to its level column."))
        return None
    return columns


def preview_threat_file(*, session: Session, filename: str, data: bytes) -> ThreatFilePreview:
    """Read and check a register or index file; writes nothing."""
    problems: list[Problem] = []
    try:
        table = read_table(filename=filename, data=data, sheet="Threats",
                           header_keys=[header_key(a) for a in COLUMN_ALIASES["country"]])
    except UnreadableFile as exc:
        return ThreatFilePreview(filename, "", "", pd.DataFrame(columns=ROW_COLUMNS), problems_frame([exc.problem]))
    problems.extend(table.problems)
    columns = _columns(table, problems)
    if columns is None:
        return ThreatFilePreview(filename, table.sha256, "", pd.DataFrame(columns=ROW_COLUMNS),
                                 problems_frame(problems))
    kind = "register" if "level" in columns else "index"
    labels = {t: table.label(p) for t, p in columns.items()}
    countries = country_lookup(session=session)
    records = []
    for row, cells in zip(table.cells.index, table.cells.itertuples(index=False), strict=True):
        raw = {t: str(cells[p]).strip() for t, p in columns.items()}
        row = int(row)

        def problem(target: str, message: str, severity: str = "error", row: int = row, raw: dict = raw) -> None:
            problems.append(Problem(filename, row, labels.get(target, target), raw.get(target, ""), message,
                                    severity))

        iso2 = countries.get(raw["country"].casefold(), "")
        if not iso2:
            problem("country", "Not a country: use the ISO code (CN, CHN) or the English name.")
        region = ""
        if raw.get("region") and iso2:
            try:
                region = clean_region(iso2, raw["region"])
            except ValidationError as exc:
                problem("region", str(exc))
        record = {"row": row, "iso2": iso2, "region_code": region, "category": "", "level": "", "value": "",
                  "rationale": raw.get("rationale", "")[:1000], "source": raw.get("source", "")[:1000],
                  "as_of": None}
        try:
            record["as_of"] = _as_of(raw.get("as_of", ""))
        except ValueError:
            problem("as_of", "Not a date (YYYY-MM-DD) or a year.")
        if kind == "register":
            word = " ".join(raw["category"].casefold().replace("_", " ").split())
            record["category"] = str(CATEGORY_WORDS.get(word, ""))
            if not record["category"]:
                problem("category", f"Not a threat category (one of {', '.join(ThreatCategory)}).")
            record["level"] = LEVEL_WORDS.get(raw["level"].casefold(), "")
            if not record["level"]:
                problem("level", "The level must be High, Medium or Low.")
        else:
            record["value"] = raw["value"]
            if not raw["value"]:
                problem("value", "No value: the row is skipped.", "warning")
        records.append(record)
    rows = pd.DataFrame(records, columns=ROW_COLUMNS)
    if kind == "index":
        rows = rows[rows["value"] != ""]
    key = ["iso2", "region_code", "category"]
    repeated = rows[(rows["iso2"] != "") & rows.duplicated(key, keep="first")]
    for r in repeated.itertuples():
        problems.append(Problem(filename, r.row, labels["country"], r.iso2,
                                f"{r.iso2}{' ' + r.region_code if r.region_code else ''} "
                                f"{r.category or ''} is already in an earlier row.".replace("  ", " ")))
    if rows.empty and not any(p.severity == "error" for p in problems):
        problems.append(Problem(filename, table.header_row, "", "", "The file has no rows with values."))
    preview = ThreatFilePreview(filename, table.sha256, kind, rows.reset_index(drop=True),
                                problems_frame(problems).sort_values("row", kind="stable").reset_index(drop=True))
    if kind == "index" and not rows.empty:
        _propose(preview)
    return preview


def _propose(preview: ThreatFilePreview) -> None:
    """A first mapping: numbers in thirds (higher is worse), text values by name where they are levels."""
    numbers = pd.to_numeric(preview.rows["value"], errors="coerce")
    preview.numeric = bool(numbers.notna().all())
    if preview.numeric:
        low, high = numbers.quantile([1 / 3, 2 / 3]).round(2)
        preview.proposed = {"kind": "numeric", "higher_is_worse": True, "high": float(high), "medium": float(low)}
        return
    preview.distinct = sorted(preview.rows["value"].unique(), key=str.casefold)
    if len(preview.distinct) > MAX_CATEGORIES:
        preview.problems = pd.concat([preview.problems, problems_frame([Problem(
            preview.filename, None, "value", "", f"{len(preview.distinct)} different text values: too many to map "
            f"one by one (at most {MAX_CATEGORIES}). Use numbers or levels.")])], ignore_index=True)
        return
    preview.proposed = {"kind": "categorical",
                        "levels": {v: LEVEL_WORDS.get(v.casefold(), rules.TIP_LEVELS.get(v, "")) for v in
                                   preview.distinct}}


def check_mapping(mapping: dict, categories: list[str]) -> None:
    """Refuse a mapping that leaves values without a level, or no category."""
    if not categories or not set(categories) <= set(ThreatCategory):
        raise ValidationError(f"categories: choose at least one of {', '.join(ThreatCategory)}")
    if mapping.get("kind") == "numeric":
        try:
            high, medium = float(mapping["high"]), float(mapping["medium"])
        except (KeyError, TypeError, ValueError) as exc:
            raise ValidationError("mapping: give the High and Medium thresholds as numbers") from exc
        worse_first = mapping.get("higher_is_worse", True)
        if (worse_first and high < medium) or (not worse_first and high > medium):
            raise ValidationError("mapping: the High threshold must be beyond the Medium one")
    elif mapping.get("kind") == "categorical":
        missing = [v for v, level in mapping.get("levels", {}).items() if level not in rules.LEVEL_ORDER]
        if missing:
            raise ValidationError(f"mapping: choose High, Medium or Low for {', '.join(missing[:5])}")
    else:
        raise ValidationError("mapping: numeric or categorical")


def _slug(name: str) -> str:
    return "index-" + re.sub(r"[^a-z0-9]+", "-", name.casefold()).strip("-")[:50]


def apply_threat_file(*, session: Session, actor: Actor, preview: ThreatFilePreview, name: str = "",
                      categories: list[str] | None = None, mapping: dict | None = None, publisher: str = "",
                      licence: str = "", citation: str = "", as_of: date | None = None,
                      today: date | None = None) -> ImportRecord:
    """Write a checked file: register ratings, or an index with its mapping (replacing an index of that name)."""
    require_write(actor)
    preview.refuse_if_errors()
    if preview.rows.empty:
        raise ValidationError(f"{preview.filename}: nothing to import.")
    today = today or date.today()
    if preview.kind == "register":
        written = _apply_register(session, actor, preview, as_of or today)
        created, changed = written, 0
    else:
        name = " ".join((name or "").split())
        if not name:
            raise ValidationError("name: name the index, e.g. 'Corruption Perceptions Index 2025'")
        mapping = mapping or preview.proposed
        check_mapping(mapping, categories or [])
        created, changed = _apply_index(session, actor, preview, name, categories, mapping, publisher, licence,
                                        citation, as_of)
    record = ImportRecord(kind=f"threats ({preview.kind})", filename=preview.filename[:255], sha256=preview.sha256,
                          username=actor.username, rows=len(preview.rows), created=created, changed=changed)
    session.add(record)
    session.flush()
    return record


def _apply_register(session: Session, actor: Actor, preview: ThreatFilePreview, as_of: date) -> int:
    rows = preview.rows
    categories = sorted(set(rows["category"]))
    source = ThreatSource(key=f"file-{preview.sha256[:16]}", name=f"Register file {preview.filename}"[:200],
                          kind=SourceKind.register_file, categories=",".join(categories), filename=preview.filename,
                          sha256=preview.sha256, loaded_by=actor.username, as_of=as_of,
                          citation=f"Imported by {actor.username} from {preview.filename}")
    existing = session.exec(select(ThreatSource).where(ThreatSource.key == source.key)).first()
    if existing is None:
        session.add(source)
    sources.forget_suggestions(session)
    found = sources.suggestions(session=session)
    merged = rows.merge(found[["iso2", "region_code", "category", "level"]].rename(columns={"level": "suggested"}),
                        on=["iso2", "region_code", "category"], how="left")
    ratings = [{"iso2": r.iso2, "region_code": r.region_code, "category": r.category, "level": r.level,
                "basis": RatingBasis.imported.value,
                "rationale": r.rationale or f"Imported from {preview.filename}", "reason": "",
                "source": r.source or f"File {preview.filename}", "rule": f"File import ({preview.filename})"[:500],
                "as_of": r.as_of or as_of, "suggested_level": "" if pd.isna(r.suggested) else r.suggested,
                "is_demo": False} for r in merged.itertuples()]
    written = register.write_ratings(session=session, actor=actor, rows=ratings)
    audit.record(session=session, actor=actor, action="import", entity="threat rating", entity_id="",
                 summary=f"Imported {written} threat ratings from {preview.filename}",
                 after={"file": preview.filename, "sha256": preview.sha256, "categories": categories,
                        "ratings": written})
    return written


def _apply_index(session: Session, actor: Actor, preview: ThreatFilePreview, name: str, categories: list[str],
                 mapping: dict, publisher: str, licence: str, citation: str, as_of: date | None) -> tuple[int, int]:
    key = _slug(name)
    source = session.exec(select(ThreatSource).where(ThreatSource.key == key)).first()
    replaced = source is not None
    if source is None:
        source = ThreatSource(key=key, name=name[:200], kind=SourceKind.index)
    dates = [d for d in preview.rows["as_of"] if d is not None and not pd.isna(d)]
    source.categories, source.mapping = ",".join(categories), mapping
    source.publisher, source.licence, source.citation = publisher[:200], licence[:300], citation[:1000]
    source.as_of = as_of or (max(dates) if dates else None)
    source.filename, source.sha256, source.loaded_by, source.active = preview.filename[:255], preview.sha256, \
        actor.username, True
    source.loaded_at = utcnow()
    source.caveat = f"Imported index, mapped {rules.describe_mapping(mapping)}"[:1000]
    session.add(source)
    session.flush()
    if replaced:
        session.exec(delete(ThreatIndicator).where(ThreatIndicator.source_id == source.id))
    rows = preview.rows
    session.exec(insert(ThreatIndicator), params=[
        {"source_id": source.id, "iso2": r.iso2, "region_code": r.region_code, "indicator": "value",
         "value": str(r.value)[:100], "as_of": None if r.as_of is None or pd.isna(r.as_of) else r.as_of,
         "as_of_text": "" if r.as_of is None or pd.isna(r.as_of) else str(r.as_of)} for r in rows.itertuples()])
    sources.forget_suggestions(session)
    audit.record(session=session, actor=actor, action="import", entity="threat source", entity_id=key,
                 summary=f"{'Replaced' if replaced else 'Loaded'} the index {name} from {preview.filename}: "
                         f"{len(rows)} values for {', '.join(categories)}, mapped {rules.describe_mapping(mapping)}",
                 after={"file": preview.filename, "sha256": preview.sha256, "mapping": mapping,
                        "categories": categories, "licence": licence})
    return (0, len(rows)) if replaced else (len(rows), 0)
