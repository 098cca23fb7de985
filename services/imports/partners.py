"""Importing the partner registry from CSV/XLSX (an ERP export): preview, then all or nothing.

Columns are matched by name, with the usual ERP names accepted (`COLUMN_ALIASES`: "vendor code" is the partner
code, "supplier name" the legal name, "country" may be an ISO code or an English name, ...). A row whose partner
code exists updates that partner: only the columns present in the file, and a blank cell leaves the stored value
alone (clearing a value is done in the app). Any other row is a new partner and needs code, name, entity type
and country. Rows are checked with the same rules as the partner form (services.partners.registry.clean_partner_values).

Duplicates: a new row that shares a trade identifier (MID, SCAC, DUNS, ...) or its normalised name and country
with an existing partner, or with an earlier new row of the files, is not created and is listed as a duplicate
(warning) — import it under the existing partner's code to update that partner instead. The same partner code
twice in the files is an error. Any error anywhere means nothing is written.
"""

from dataclasses import dataclass, field
from typing import Any

import pandas as pd
import pycountry
from sqlalchemy import insert, update
from sqlmodel import Session, select

from models import Country, ImportRecord, Partner
from models.common import ENTITY_TYPES, utcnow
from services.core import audit
from services.core.permissions import Actor, ValidationError, require_write
from services.imports.reader import (
    Problem,
    ProblemCounts,
    Table,
    UnreadableFile,
    header_key,
    problems_frame,
    read_table,
    sha256_hex,
)
from services.partners.identifiers import IDENTIFIER_FORMATS
from services.partners.registry import EDITABLE_FIELDS, clean_partner_values

COLUMN_ALIASES: dict[str, tuple[str, ...]] = {
    "partner_code": ("partner_code", "code", "vendor code", "vendor id", "vendor no", "vendor number", "vendor",
                     "supplier code", "supplier id", "supplier no", "supplier number", "partner id", "partner no"),
    "legal_name": ("legal_name", "name", "supplier name", "vendor name", "partner name", "company name", "company",
                   "legal name"),
    "entity_type": ("entity_type", "type", "partner type", "supplier type", "vendor type", "ctpat entity type",
                    "business type"),
    "country_iso2": ("country_iso2", "country", "country code", "iso2", "country iso", "pais", "país"),
    "address": ("address", "street", "address line 1", "address1"),
    "city": ("city", "town", "ciudad"),
    "latitude": ("latitude", "lat"),
    "longitude": ("longitude", "lon", "lng", "long"),
    "mid": ("mid", "manufacturer id", "mfr id", "mid code"),
    "scac": ("scac", "scac code"),
    "ior_ein": ("ior_ein", "ior/ein", "ior", "ein", "irs number", "ior number"),
    "duns": ("duns", "duns number", "d-u-n-s"),
    "fmc": ("fmc", "fmc number", "fmc no", "fmc org"),
    "iata_code": ("iata_code", "iata", "icao"),
    "broker_license": ("broker_license", "broker licence", "customs broker license", "broker license number"),
    "usdot": ("usdot", "us dot", "dot number", "usdot number"),
    "contact_name": ("contact_name", "contact", "contact person"),
    "contact_email": ("contact_email", "email", "e-mail", "email address", "contact e-mail"),
    "language": ("language", "lang", "idioma"),
    "parent_code": ("parent_code", "parent", "parent partner code", "parent vendor code"),
    "criticality": ("criticality",),
    "import_share": ("import_share", "import share %", "share of imports", "import share pct"),
    "status": ("status",),
    "notes": ("notes", "note", "remarks", "comments"),
}
# Columns of the app's own partner export that are not imported.
INFO_COLUMNS = frozenset(header_key(c) for c in ("id", "created_at", "updated_at", "country_name"))
ENTITY_ALIASES: dict[str, str] = {
    **{e.casefold(): e for e in ENTITY_TYPES},
    "manufacturer": "Foreign Manufacturer", "factory": "Foreign Manufacturer",
    "3pl": "Third Party Logistics Provider", "third party logistics": "Third Party Logistics Provider",
    "broker": "Customs Broker", "ocean carrier": "Sea Carrier", "airline": "Air Carrier",
    "railroad": "Rail Carrier", "trucking": "Highway Carrier", "motor carrier": "Highway Carrier",
    "nvocc": "Consolidator", "lhc": "Long Haul Highway Carrier (Mexico)",
    "long haul highway carrier": "Long Haul Highway Carrier (Mexico)",
    "mpato": "Marine Port Authority and Terminal Operator",
}
COUNTRY_ALIASES: dict[str, str] = {
    "uk": "GB", "great britain": "GB", "england": "GB", "turkey": "TR", "russia": "RU", "holland": "NL",
    "ivory coast": "CI", "czech republic": "CZ", "iran": "IR", "laos": "LA", "syria": "SY", "bolivia": "BO",
    "venezuela": "VE", "tanzania": "TZ", "moldova": "MD", "korea": "KR", "macau": "MO", "the netherlands": "NL",
}
ROW_COLUMNS = ["file", "row", "partner_code", "legal_name", "action", "changes", "duplicate_of"]
_NUMBERS = ("latitude", "longitude", "import_share")


@dataclass
class PartnerPreview(ProblemCounts):
    """What a partner import would do: one row per file row (action new, update, unchanged, duplicate, error)."""

    files: list[dict[str, Any]]
    rows: pd.DataFrame
    problems: pd.DataFrame
    creates: list[dict[str, Any]] = field(repr=False)
    updates: list[dict[str, Any]] = field(repr=False)  # {"id", "partner_code", "values", "before", "after"}
    parents: dict[str, str] = field(repr=False)  # partner_code -> parent partner_code

    @property
    def counts(self) -> dict[str, int]:
        actions = self.rows["action"].value_counts()
        return {a: int(actions.get(a, 0)) for a in ("new", "update", "unchanged", "duplicate", "error")}


def country_lookup(*, session: Session) -> dict[str, str]:
    """Every spelling accepted for a country (ISO2, ISO3, English names, casefolded) -> ISO alpha-2 code."""
    lookup = dict(COUNTRY_ALIASES)
    for iso2, iso3, name in session.exec(select(Country.iso2, Country.iso3, Country.name)).all():
        for spelling in (iso2, iso3, name):
            lookup[spelling.casefold()] = iso2
    for country in pycountry.countries:
        for spelling in ("name", "official_name", "common_name"):
            value = getattr(country, spelling, None)
            if value:
                lookup.setdefault(value.casefold(), country.alpha_2)
    return lookup


def preview_partners(*, session: Session, files: list[tuple[str, bytes]]) -> PartnerPreview:
    """Read and check partner files against the registry; writes nothing.

    Returns one row per file row with its action (new, update, unchanged, duplicate, error), every problem
    (file, row, column, value, message) and what `apply_partners` would write.
    """
    existing = _existing(session)
    countries = country_lookup(session=session)
    country_codes = set(countries.values())
    problems: list[Problem] = []
    file_info: list[dict[str, Any]] = []
    records: list[dict[str, Any]] = []
    for filename, data in files:
        info = {"file": filename, "sha256": sha256_hex(data), "rows": 0}
        file_info.append(info)
        try:
            table = read_table(filename=filename, data=data, sheet="Partners",
                               header_keys=[header_key(a) for a in COLUMN_ALIASES["partner_code"]])
        except UnreadableFile as exc:
            problems.append(exc.problem)
            continue
        info["rows"] = len(table.cells)
        problems.extend(table.problems)
        records.extend(_file_records(table, existing, countries, country_codes, problems))
    frame = pd.DataFrame(records, columns=[*ROW_COLUMNS, "clean", "partner_id", "parent_code"])
    _same_code_twice(frame, problems)
    _find_duplicates(frame, existing, problems)
    _check_parents(frame, existing, problems)
    errors = {(p.file, p.row) for p in problems if p.severity == "error"}
    has_error = pd.Series([(f, r) in errors for f, r in zip(frame["file"], frame["row"], strict=True)],
                          index=frame.index, dtype=bool)
    frame.loc[has_error, "action"] = "error"
    creates = [c for c, a in zip(frame["clean"], frame["action"], strict=True) if a == "new"]
    updates = [{"id": int(pid), **c} for c, pid, a in zip(frame["clean"], frame["partner_id"], frame["action"],
                                                          strict=True) if a == "update"]
    parents = {code: p for code, p, a in zip(frame["partner_code"], frame["parent_code"], frame["action"], strict=True)
               if p and a in ("new", "update")}
    ordered = problems_frame(problems)
    order = {f["file"]: i for i, f in enumerate(file_info)}
    ordered = (ordered.assign(_file=ordered["file"].map(order)).sort_values(["_file", "row"], kind="stable")
               .drop(columns="_file").reset_index(drop=True))
    return PartnerPreview(files=file_info, rows=frame[ROW_COLUMNS].reset_index(drop=True), problems=ordered,
                          creates=creates, updates=updates, parents=parents)


def _existing(session: Session) -> pd.DataFrame:
    """Every partner's fields once (no query per row), with its parent's code."""
    columns = ["id", *EDITABLE_FIELDS, "normalized_name"]
    rows = session.exec(select(*(getattr(Partner, c) for c in columns))).all()
    frame = pd.DataFrame(rows, columns=columns).astype(object)
    frame = frame.where(frame.notna(), None)
    codes = dict(zip(frame["id"], frame["partner_code"], strict=True))
    frame["parent_code"] = [codes.get(p, "") if p is not None else "" for p in frame["parent_id"]]
    return frame


def _file_records(table: Table, existing: pd.DataFrame, countries: dict[str, str], country_codes: set[str],
                  problems: list[Problem]) -> list[dict[str, Any]]:
    """Check every row of one file; returns the row records (action new, update or unchanged so far)."""
    name = table.filename
    columns: dict[str, int] = {}
    for target, aliases in COLUMN_ALIASES.items():
        positions = table.positions(*(header_key(a) for a in aliases))
        if len(positions) > 1:
            labels = ", ".join(table.label(p) for p in positions)
            problems.append(Problem(name, table.header_row, labels, "", (
                f"More than one column could be '{target}' ({labels}); keep one.")))
            return []
        if positions:
            columns[target] = positions[0]
    for position, key in enumerate(table.keys):
        if position not in columns.values() and key not in INFO_COLUMNS:
            problems.append(Problem(name, table.header_row, table.label(position), "",
                                    "This column is not imported (unknown column name).", "warning"))
    if "partner_code" not in columns:
        problems.append(Problem(name, table.header_row, "", ", ".join(table.headers)[:200], (
            "No partner code column (partner_code, vendor code or supplier code).")))
        return []
    if table.cells.empty:
        problems.append(Problem(name, table.header_row, "", "", "The file has a header row but no data rows."))
        return []
    by_code = {str(code).upper(): i for i, code in enumerate(existing["partner_code"])}
    labels = {target: table.label(p) for target, p in columns.items()}
    records = []
    for row, cells in zip(table.cells.index, table.cells.itertuples(index=False), strict=True):
        raw = {target: str(cells[p]).strip() for target, p in columns.items()}
        given = {k: v for k, v in raw.items() if v != ""}
        code = given.get("partner_code", "").upper()
        parent_code = given.pop("parent_code", "").upper()
        at = by_code.get(code) if code else None
        mistakes = _value_mistakes(given, countries)
        if at is None:
            for required in ("legal_name", "entity_type", "country_iso2"):
                if required not in given:
                    mistakes.setdefault(required, "required for a new partner")
        usable = {k: v for k, v in given.items() if k not in mistakes}
        before = {f: existing.at[at, f] for f in EDITABLE_FIELDS} if at is not None else {}
        clean, errors = clean_partner_values({**before, **usable}, country_codes=country_codes)
        for message in errors:
            target, _, text = message.partition(": ")
            mistakes.setdefault(target, text)
        for target, text in mistakes.items():
            problems.append(Problem(name, int(row), labels.get(target, target), raw.get(target, ""), text))
        record = {"file": name, "row": int(row), "partner_code": code, "legal_name": clean.get("legal_name", ""),
                  "action": "new", "changes": "", "duplicate_of": "", "clean": clean, "partner_id": None,
                  "parent_code": parent_code}
        if at is not None:
            changed = {f: (before[f], clean[f]) for f in usable if f != "partner_code" and not _same(before[f],
                                                                                                  clean[f])}
            values = {f: after for f, (_, after) in changed.items()}
            if "legal_name" in values:
                values["normalized_name"] = clean["normalized_name"]
            old_parent = existing.at[at, "parent_code"]
            if parent_code and parent_code != old_parent:
                changed["parent_code"] = (old_parent, parent_code)
            else:
                record["parent_code"] = ""
            record.update(partner_id=int(existing.at[at, "id"]), action="update" if changed else "unchanged",
                          changes="; ".join(f"{f}: {_shown(b)} → {_shown(a)}" for f, (b, a) in changed.items()))
            record["clean"] = {"values": values, "before": {f: b for f, (b, _) in changed.items()},
                               "after": {f: a for f, (_, a) in changed.items()}, "partner_code": code}
        records.append(record)
    return records


def _value_mistakes(given: dict[str, str], countries: dict[str, str]) -> dict[str, str]:
    """Translate country names and entity-type aliases in place; what cannot be translated, by field."""
    mistakes: dict[str, str] = {}
    if "country_iso2" in given:
        iso2 = countries.get(given["country_iso2"].casefold())
        if iso2 is None:
            mistakes["country_iso2"] = (f"'{given['country_iso2']}' is not a country: use the ISO code (e.g. CN or "
                                        "CHN) or the English name")
        else:
            given["country_iso2"] = iso2
    if "entity_type" in given:
        entity = ENTITY_ALIASES.get(" ".join(given["entity_type"].casefold().split()))
        if entity is None:
            mistakes["entity_type"] = (f"'{given['entity_type']}' is not a CTPAT entity type (one of: "
                                       f"{', '.join(ENTITY_TYPES)})")
        else:
            given["entity_type"] = entity
    return mistakes


def _same(before: Any, after: Any) -> bool:
    if before in (None, "") and after in (None, ""):
        return True
    if isinstance(before, float) or isinstance(after, float):
        try:
            return abs(float(before) - float(after)) < 1e-9
        except (TypeError, ValueError):
            return False
    return before == after


def _shown(value: Any) -> str:
    return "(blank)" if value in (None, "") else str(value)


def _same_code_twice(frame: pd.DataFrame, problems: list[Problem]) -> None:
    codes = frame["partner_code"].where(frame["partner_code"] != "")
    repeated = frame[codes.notna() & codes.duplicated(keep="first")]
    first_row = frame.drop_duplicates("partner_code").set_index("partner_code")[["file", "row"]]
    for record in repeated.itertuples():
        first = first_row.loc[record.partner_code]
        where = f"row {first['row']}" + (f" of {first['file']}" if first["file"] != record.file else "")
        problems.append(Problem(record.file, record.row, "partner_code", record.partner_code,
                                f"Partner code {record.partner_code} is already used in {where}."))


def _find_duplicates(frame: pd.DataFrame, existing: pd.DataFrame, problems: list[Problem]) -> None:
    """New rows matching an existing partner, or an earlier new row, on an identifier or on name and country."""
    new = frame[frame["action"] == "new"]
    if new.empty:
        return
    keys = pd.DataFrame(list(new["clean"]), index=new.index)
    checks = [([f], IDENTIFIER_FORMATS[f][0]) for f in IDENTIFIER_FORMATS] + [
        (["normalized_name", "country_iso2"], "same name and country")]
    reasons: dict[int, list[str]] = {}
    for on, label in checks:
        have = keys.dropna(subset=on)
        have = have[(have[on] != "").all(axis=1)]
        if have.empty:
            continue
        if len(existing):
            known = existing.dropna(subset=on)
            matches = have[on].reset_index().merge(known[[*on, "partner_code"]], on=on)
            for index, code in zip(matches["index"], matches["partner_code"], strict=True):
                reasons.setdefault(index, []).append(f"{label} as partner {code}")
        earlier = have[have.duplicated(on, keep="first")]
        firsts = have.drop_duplicates(on, keep="first").reset_index().set_index(on)["index"]
        for index, values in zip(earlier.index, earlier[on].itertuples(index=False, name=None), strict=True):
            first = firsts.loc[values if len(on) > 1 else values[0]]
            reasons.setdefault(index, []).append(f"{label} as row {frame.at[first, 'row']} "
                                                 f"({frame.at[first, 'partner_code']})")
    for index, found in reasons.items():
        frame.at[index, "action"] = "duplicate"
        frame.at[index, "duplicate_of"] = "; ".join(found)
        problems.append(Problem(frame.at[index, "file"], int(frame.at[index, "row"]), "partner_code",
                                frame.at[index, "partner_code"], (
                                    f"Possible duplicate, not imported: {'; '.join(found)}. To update that partner, "
                                    "use its partner code."), "warning"))


def _check_parents(frame: pd.DataFrame, existing: pd.DataFrame, problems: list[Problem]) -> None:
    known = set(existing["partner_code"].str.upper()) | set(frame.loc[frame["action"] == "new", "partner_code"])
    for record in frame[frame["parent_code"] != ""].itertuples():
        if record.parent_code == record.partner_code:
            problems.append(Problem(record.file, record.row, "parent_code", record.parent_code,
                                    "A partner cannot be its own parent."))
        elif record.parent_code not in known:
            problems.append(Problem(record.file, record.row, "parent_code", record.parent_code,
                                    f"No partner with code {record.parent_code} (in the registry or this file)."))


def apply_partners(*, session: Session, actor: Actor, preview: PartnerPreview) -> list[ImportRecord]:
    """Write a checked preview in the caller's transaction: new partners, updates, parents, records, audit.

    Raises ValidationError when the preview has errors (nothing is written).
    """
    require_write(actor)
    preview.refuse_if_errors()
    now = utcnow()
    creates = [c | {"created_at": now, "updated_at": now} for c in preview.creates]
    codes = {c["partner_code"] for c in creates}
    taken = set(session.exec(select(Partner.partner_code).where(Partner.partner_code.in_(codes))).all()) \
        if codes else set()
    if taken:
        raise ValidationError(f"Partners {', '.join(sorted(taken))} were added since the preview; preview again.")
    for start in range(0, len(creates), 5_000):
        session.exec(insert(Partner), params=creates[start:start + 5_000])
    updates = [{"id": u["id"], **u["values"], "updated_at": now} for u in preview.updates if u["values"]]
    if updates:
        session.exec(update(Partner), params=updates)
    if preview.parents:
        ids = dict(session.exec(select(Partner.partner_code, Partner.id)
                                .where(Partner.partner_code.in_(set(preview.parents) | set(preview.parents.values()))))
                   .all())
        session.exec(update(Partner), params=[{"id": ids[code], "parent_id": ids[parent]}
                                              for code, parent in preview.parents.items()])
    for change in preview.updates:
        audit.record(session=session, actor=actor, action="update", entity="partner", entity_id=change["partner_code"],
                     summary=f"Edited partner {change['partner_code']} by file import", before=change["before"],
                     after=change["after"])
    records = []
    counts_by_file = preview.rows.groupby("file")["action"].value_counts().unstack(fill_value=0)
    for info in preview.files:
        counts = counts_by_file.loc[info["file"]] if info["file"] in counts_by_file.index else pd.Series(dtype=int)
        created, changed = int(counts.get("new", 0)), int(counts.get("update", 0))
        unchanged, duplicates = int(counts.get("unchanged", 0)), int(counts.get("duplicate", 0))
        record = ImportRecord(kind="partners", filename=info["file"][:255], sha256=info["sha256"],
                              username=actor.username, rows=info["rows"], created=created, changed=changed,
                              unchanged=unchanged)
        session.add(record)
        session.flush()
        mine = preview.rows[preview.rows["file"] == info["file"]]
        audit.record(session=session, actor=actor, action="import", entity="partners", entity_id=record.id,
                     summary=(f"Imported partners from {info['file']}: {created} new, {changed} updated, "
                              f"{unchanged} unchanged, {duplicates} possible duplicates skipped"),
                     after={"file": info["file"], "sha256": info["sha256"],
                            "created": sorted(mine.loc[mine["action"] == "new", "partner_code"]),
                            "updated": sorted(mine.loc[mine["action"] == "update", "partner_code"]),
                            "duplicates_skipped": sorted(mine.loc[mine["action"] == "duplicate", "partner_code"])})
        records.append(record)
    return records
