"""Importing the partner registry from CSV/XLSX (an ERP export): preview, then all or nothing.

Columns are matched by name, with the usual ERP names accepted (`COLUMN_ALIASES`: "vendor code" is the partner
code, "supplier name" the legal name, "country" may be an ISO code or an English name, ...). A row whose partner
code exists updates that partner: only the columns present in the file, and a blank cell leaves the stored value
alone (clearing a value is done in the app). Any other row is a new partner and needs code, name, entity type
and country. Rows are checked with the same rules as the partner form (services.partners.registry.clean_partner_values).

Beside the partner record, a row may give the partner's internal owner (a staff username), what it physically does
(the four role flags: yes, no, or "default" for its entity type's default; blank keeps) and the region (state,
province) of its main site. A new partner's address, MID and contact become its first site and primary contact;
for an existing partner, changed address or contact columns change its primary site or contact.

Duplicates: a new row that shares a trade identifier (MID, SCAC, DUNS, ...) or its normalised name and country
with an existing partner, or with an earlier new row of the files, is not created and is listed as a duplicate
(warning) — import it under the existing partner's code to update that partner instead. The same partner code
twice in the files is an error. Any error anywhere means nothing is written.
"""

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
import pycountry
from sqlalchemy import bindparam, update
from sqlmodel import Session, col, func, select

from models import Country, ImportRecord, Partner, PartnerSite, User
from models.common import ENTITY_TYPES, utcnow
from models.reference import PartnerRole, RoleSetting
from services import texts
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
from services.imports.reader import limits as reader_limits
from services.partners import contacts, sites
from services.partners.identifiers import IDENTIFIER_FORMATS
from services.partners.registry import EDITABLE_FIELDS, clean_partner_values
from services.places.regions import clean_region

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
    "region": ("region", "state", "province", "state/province", "region/state", "estado", "provincia"),
    "owner": ("owner", "internal owner", "owner username", "account owner", "buyer", "responsible"),
    "crosses_land_border": ("crosses_land_border", "crosses land border", "land border"),
    "stuffs_containers": ("stuffs_containers", "stuffs containers", "loads containers"),
    "operates_conveyances": ("operates_conveyances", "operates conveyances", "own conveyances"),
    "handles_cargo": ("handles_cargo", "handles cargo"),
}
ROLE_FLAGS: tuple[str, ...] = tuple(r.value for r in PartnerRole)
# Columns beside the partner record's own fields (PartnerIn): the main site's region, the owner, the role flags.
EXTRA_COLUMNS: tuple[str, ...] = ("region", "owner", *ROLE_FLAGS)
FLAG_WORDS = {word: value for word, value in texts.flag_spellings().items() if word}  # blank keeps, not "no"
ADDRESS_FIELDS = frozenset(sites.RECORD_FIELDS)
CONTACT_FIELDS = frozenset({"contact_name", "contact_email", "language"})
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
RECORD_COLUMNS = [*ROW_COLUMNS, "partner_id", "parent_code"]
NEW_COLUMNS = [*EDITABLE_FIELDS, "normalized_name", "owner_id", *ROLE_FLAGS]
_CHUNK = 50_000
_IN_LIST = 5_000
_NUMBERS = ("latitude", "longitude", "import_share")


@dataclass
class PartnerPreview(ProblemCounts):
    """What a partner import would do: one row per file row (action new, update, unchanged, duplicate, error)."""

    files: list[dict[str, Any]]
    rows: pd.DataFrame
    problems: pd.DataFrame
    new_partners: pd.DataFrame = field(repr=False)  # the checked values of each partner to create
    updates: list[dict[str, Any]] = field(repr=False)  # {"id", "partner_code", "values", "before", "after"}
    parents: dict[str, str] = field(repr=False)  # partner_code -> parent partner_code
    regions: dict[str, str] = field(default_factory=dict, repr=False)  # partner_code -> region of its main site

    @property
    def counts(self) -> dict[str, int]:
        actions = self.rows["action"].value_counts()
        return {a: int(actions.get(a, 0)) for a in ("new", "update", "unchanged", "duplicate", "error")}

    @property
    def creates(self) -> Sequence[dict[str, Any]]:
        """The partners to create, one dict of values each (read from `new_partners` as they are used)."""
        return _Records(self.new_partners)

    @property
    def has_changes(self) -> bool:
        return bool(len(self.new_partners) or self.updates or self.parents or self.regions)


class _Records(Sequence):
    """Rows of a frame as dicts, without holding them all: a million new partners as dicts would take GBs."""

    def __init__(self, frame: pd.DataFrame):
        self.frame = frame

    def __len__(self) -> int:
        return len(self.frame)

    def __getitem__(self, index):
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        return _plain(self.frame.iloc[index].to_dict())


def _plain(values: dict[str, Any]) -> dict[str, Any]:
    """Missing values (NaN, NA) as None, numpy numbers as Python ones."""
    return {k: None if v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v))
            else v.item() if hasattr(v, "item") else v for k, v in values.items()}


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
    (file, row, column, value, message) and what `apply_partners` would write. Rows are checked in chunks, and
    the registry is read once (no query per row), so a file of a million partners fits in memory (with the
    command line's limits; an upload is capped by services.imports.reader.limits).
    """
    existing = _Existing(session)
    countries = country_lookup(session=session)
    country_codes = set(countries.values())
    staff = {name.casefold(): uid for name, uid in session.exec(select(User.username, User.id).where(User.is_active))}
    problems: list[Problem] = []
    file_info: list[dict[str, Any]] = []
    checked = _Checked()
    with reader_limits.one_import():
        for filename, data in files:
            info = {"file": filename, "sha256": sha256_hex(data), "rows": 0}
            file_info.append(info)
            try:
                table = read_table(filename=filename, data=data, sheet="Partners",
                                   header_keys=[header_key(a) for a in COLUMN_ALIASES["partner_code"]])
            except UnreadableFile as exc:
                problems.append(exc.problem)
                continue
            del data
            info["rows"] = len(table.cells)
            problems.extend(table.problems)
            _check_file(table, existing, countries, country_codes, staff, problems, checked)
            del table
    frame, new = checked.frames()
    _same_code_twice(frame, problems)
    _find_duplicates(frame, new, existing.frame, problems)
    _check_parents(frame, existing.codes, problems)
    errors = pd.DataFrame([(p.file, p.row) for p in problems if p.severity == "error"], columns=["file", "row"])
    if len(errors) and len(frame):
        has_error = pd.MultiIndex.from_frame(frame[["file", "row"]]).isin(
            pd.MultiIndex.from_frame(errors.dropna().astype({"row": "int64"})))
        frame.loc[has_error, "action"] = "error"
    still_new = frame["action"].reindex(new.index).eq("new").to_numpy()
    if not still_new.all():
        new = new[still_new]
    actions = frame["action"].to_numpy()
    updates = [u for u in checked.updates if actions[u.pop("_at")] == "update"]
    regions = {code: region for at, code, region in checked.regions if actions[at] in ("new", "update")}
    with_parent = frame[(frame["parent_code"] != "") & frame["action"].isin(["new", "update"])]
    parents = dict(zip(with_parent["partner_code"], with_parent["parent_code"], strict=True))
    ordered = problems_frame(problems)
    order = {f["file"]: i for i, f in enumerate(file_info)}
    ordered = (ordered.assign(_file=ordered["file"].map(order)).sort_values(["_file", "row"], kind="stable")
               .drop(columns="_file").reset_index(drop=True))
    del frame["partner_id"], frame["parent_code"]
    return PartnerPreview(files=file_info, rows=frame, problems=ordered, new_partners=new.reset_index(drop=True),
                          updates=updates, parents=parents, regions=regions)


def _typed(frame: pd.DataFrame) -> pd.DataFrame:
    """New partners' values in compact column types: text as Arrow strings, numbers as floats, ids as Int64."""
    for column in frame.columns:
        if column in _NUMBERS:
            frame[column] = pd.to_numeric(frame[column], errors="coerce").astype("float64")
        elif column in ("parent_id", "owner_id"):
            frame[column] = frame[column].astype("Int64")
        elif column in ROLE_FLAGS:
            frame[column] = frame[column].astype("boolean")
        else:
            frame[column] = frame[column].astype("str")  # None stays missing
    return frame


class _Existing:
    """The registry read once: every partner's editable fields (in slices, as columns, not as objects), its
    parent's code, and a position for each partner code."""

    def __init__(self, session: Session):
        columns = ["id", *EDITABLE_FIELDS, "normalized_name", "owner_id", *ROLE_FLAGS]
        stmt = (select(*(getattr(Partner, c) for c in columns)).order_by(Partner.id)
                .execution_options(stream_results=True, yield_per=_CHUNK))
        result = session.connection().execute(stmt)
        parts = [pd.DataFrame(rows, columns=columns) for rows in result.partitions()]
        self.frame = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=columns)
        codes = pd.Series(self.frame["partner_code"].to_numpy(), index=self.frame["id"].to_numpy())
        self.frame["parent_code"] = self.frame["parent_id"].map(codes).fillna("").astype(str)
        owners = dict(session.exec(select(User.id, User.username)).all())
        self.frame["owner"] = self.frame["owner_id"].map(owners).astype(object).fillna("").astype(str)
        regions = dict(session.exec(select(PartnerSite.partner_id, PartnerSite.region_code)
                                    .where(PartnerSite.is_primary)).all())
        self.frame["region"] = self.frame["id"].map(regions).astype(object).fillna("").astype(str)
        self.codes = pd.Index(self.frame["partner_code"].astype(str).str.upper())

    def before(self, positions: list[int]) -> list[dict[str, Any]]:
        """The stored values of the partners at these positions, as plain dicts."""
        if not positions:
            return []
        part = self.frame.iloc[positions][[*EDITABLE_FIELDS, "parent_code", "owner", "region", *ROLE_FLAGS]]
        part = part.astype(object)
        return [_plain(values) for values in part.to_dict("records")]


@dataclass
class _Checked:
    """The checked rows of all files, gathered chunk by chunk as columns."""

    parts: list[pd.DataFrame] = field(default_factory=list)
    new_parts: list[pd.DataFrame] = field(default_factory=list)
    updates: list[dict[str, Any]] = field(default_factory=list)
    regions: list[tuple[int, str, str]] = field(default_factory=list)  # (row position, partner code, region)
    count: int = 0

    def frames(self) -> tuple[pd.DataFrame, pd.DataFrame]:
        """All rows (RECORD_COLUMNS) and the new partners' values (NEW_COLUMNS, indexed by row position)."""
        frame = pd.concat(self.parts, ignore_index=True) if self.parts else pd.DataFrame(columns=RECORD_COLUMNS)
        new = pd.concat(self.new_parts) if self.new_parts else pd.DataFrame(columns=NEW_COLUMNS)
        self.parts, self.new_parts = [], []
        return frame, new


def _check_file(table: Table, existing: _Existing, countries: dict[str, str], country_codes: set[str],
                staff: dict[str, int], problems: list[Problem], checked: _Checked) -> None:
    """Check every row of one file, in chunks: its action (new, update or unchanged so far) and values."""
    name = table.filename
    columns: dict[str, int] = {}
    for target, aliases in COLUMN_ALIASES.items():
        positions = table.positions(*(header_key(a) for a in aliases))
        if len(positions) > 1:
            labels = ", ".join(table.label(p) for p in positions)
            problems.append(Problem(name, table.header_row, labels, "", (
                f"More than one column could be '{target}' ({labels}); keep one.")))
            return
        if positions:
            columns[target] = positions[0]
    for position, key in enumerate(table.keys):
        if position not in columns.values() and key not in INFO_COLUMNS:
            problems.append(Problem(name, table.header_row, table.label(position), "",
                                    "This column is not imported (unknown column name).", "warning"))
    if "partner_code" not in columns:
        problems.append(Problem(name, table.header_row, "", ", ".join(table.headers)[:200], (
            "No partner code column (partner_code, vendor code or supplier code).")))
        return
    if table.cells.empty:
        problems.append(Problem(name, table.header_row, "", "", "The file has a header row but no data rows."))
        return
    labels = {target: table.label(p) for target, p in columns.items()}
    for start in range(0, len(table.cells), _CHUNK):
        cells = table.cells.iloc[start:start + _CHUNK]
        values = {target: cells[p].str.strip().tolist() for target, p in columns.items()}
        codes = [code.upper() for code in values["partner_code"]]
        at_positions = existing.codes.get_indexer(codes).tolist() if len(existing.codes) else [-1] * len(codes)
        matched = [p for p in at_positions if p >= 0]
        befores = dict(zip(matched, existing.before(matched), strict=True))
        codes_out, names, actions, changes_out, partner_ids, parent_codes = [], [], [], [], [], []
        new_rows: list[dict[str, Any]] = []
        new_at: list[int] = []
        targets = list(values)
        for i, row in enumerate(cells.index.tolist()):
            raw = {target: values[target][i] for target in targets}
            given = {k: v for k, v in raw.items() if v != ""}
            code = codes[i] if given.get("partner_code") else ""
            parent_code = given.pop("parent_code", "").upper()
            extras = {k: given.pop(k) for k in EXTRA_COLUMNS if k in given}
            at = at_positions[i] if code else -1
            mistakes = _value_mistakes(given, countries)
            if at < 0:
                for required in ("legal_name", "entity_type", "country_iso2"):
                    if required not in given:
                        mistakes.setdefault(required, "required for a new partner")
            usable = {k: v for k, v in given.items() if k not in mistakes}
            before = befores[at] if at >= 0 else {}
            clean, errors = clean_partner_values({**before, **usable}, country_codes=country_codes)
            for message in errors:
                target, _, text = message.partition(": ")
                mistakes.setdefault(target, text)
            extra = _extra_values(extras, clean.get("country_iso2") or before.get("country_iso2", ""), staff,
                                  mistakes)
            for target, text in mistakes.items():
                problems.append(Problem(name, int(row), labels.get(target, target), raw.get(target, ""), text))
            action, changes, partner_id = "new", "", None
            if at >= 0:
                changed = {f: (before[f], clean[f]) for f in usable if f != "partner_code" and not _same(before[f],
                                                                                                      clean[f])}
                if parent_code and parent_code != before["parent_code"]:
                    changed["parent_code"] = (before["parent_code"], parent_code)
                else:
                    parent_code = ""
                for target, value in extra.items():
                    if target == "owner_id":
                        continue
                    stored = before[target]
                    stored = None if stored is None or stored is pd.NA or stored != stored else stored
                    if target in ROLE_FLAGS and stored is not None:
                        stored = bool(stored)
                    if value != stored and not (value in (None, "") and stored in (None, "")):
                        changed[target] = (stored, value)
                action = "update" if changed else "unchanged"
                changes = "; ".join(f"{f}: {_shown(b, f)} → {_shown(a, f)}" for f, (b, a) in changed.items())
                partner_id = int(existing.frame.at[at, "id"])
                if "region" in changed:
                    checked.regions.append((checked.count + i, code, changed["region"][1]))
                if changed:
                    fields = {f: after for f, (_, after) in changed.items()
                              if f not in ("parent_code", "region", "owner")}
                    if "owner" in changed:
                        fields["owner_id"] = extra["owner_id"]
                    if "legal_name" in fields:
                        fields["normalized_name"] = clean["normalized_name"]
                    checked.updates.append({
                        "_at": checked.count + i, "id": partner_id, "partner_code": code, "values": fields,
                        "before": {f: b for f, (b, _) in changed.items()},
                        "after": {f: a for f, (_, a) in changed.items()}})
            else:
                new_rows.append({**clean, "owner_id": extra.get("owner_id"),
                                 **{flag: extra.get(flag) for flag in ROLE_FLAGS}})
                new_at.append(checked.count + i)
                if extra.get("region"):
                    checked.regions.append((checked.count + i, code, extra["region"]))
            codes_out.append(code)
            names.append(clean.get("legal_name", ""))
            actions.append(action)
            changes_out.append(changes)
            partner_ids.append(partner_id)
            parent_codes.append(parent_code)
        rows = cells.index.to_numpy()
        checked.parts.append(pd.DataFrame({
            "file": name, "row": rows.astype("int64"), "partner_code": pd.array(codes_out, dtype="str"),
            "legal_name": pd.array(names, dtype="str"), "action": actions,
            "changes": pd.array(changes_out, dtype="str"),
            "duplicate_of": "", "partner_id": pd.array(partner_ids, dtype="Int64"),
            "parent_code": pd.array(parent_codes, dtype="str")}, index=range(checked.count, checked.count + len(rows))))
        if new_rows:
            checked.new_parts.append(_typed(pd.DataFrame.from_records(new_rows, columns=NEW_COLUMNS, index=new_at)))
        checked.count += len(cells)


def _extra_values(extras: dict[str, str], country: str, staff: dict[str, int],
                  mistakes: dict[str, str]) -> dict[str, Any]:
    """The region, owner and role flags a row gives, checked; what is wrong goes into `mistakes` by column."""
    out: dict[str, Any] = {}
    if "region" in extras:
        try:
            out["region"] = clean_region(country, extras["region"])
        except ValidationError as error:
            mistakes.setdefault("region", str(error))
    if "owner" in extras:
        username = extras["owner"].strip().lower()
        if username.casefold() in staff:
            out["owner"], out["owner_id"] = username, staff[username.casefold()]
        else:
            mistakes.setdefault("owner", f"no active staff user '{extras['owner']}': give the owner's username")
    for flag in ROLE_FLAGS:
        if flag in extras:
            word = " ".join(extras[flag].casefold().split())
            if word == RoleSetting.default:
                out[flag] = None
            elif word in FLAG_WORDS:
                out[flag] = FLAG_WORDS[word]
            else:
                mistakes.setdefault(flag, f"'{extras[flag]}' is not yes, no or {RoleSetting.default} (blank keeps "
                                          "the stored value; a new partner's default is its entity type's)")
    return out


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


def _shown(value: Any, field: str = "") -> str:
    if field in ROLE_FLAGS:
        return RoleSetting.of(value)
    return "(blank)" if value in (None, "") else str(value)


def _same_code_twice(frame: pd.DataFrame, problems: list[Problem]) -> None:
    codes = frame["partner_code"].where(frame["partner_code"] != "")
    repeated = frame[codes.notna() & codes.duplicated(keep="first")]
    if repeated.empty:
        return
    first_row = frame.drop_duplicates("partner_code").set_index("partner_code")[["file", "row"]]
    for record in repeated.itertuples():
        first = first_row.loc[record.partner_code]
        where = f"row {first['row']}" + (f" of {first['file']}" if first["file"] != record.file else "")
        problems.append(Problem(record.file, record.row, "partner_code", record.partner_code,
                                f"Partner code {record.partner_code} is already used in {where}."))


def _find_duplicates(frame: pd.DataFrame, new: pd.DataFrame, existing: pd.DataFrame, problems: list[Problem]) -> None:
    """New rows matching an existing partner, or an earlier new row, on an identifier or on name and country."""
    if new.empty:
        return
    checks = [([f], IDENTIFIER_FORMATS[f][0]) for f in IDENTIFIER_FORMATS] + [
        (["normalized_name", "country_iso2"], "same name and country")]
    keys = new[[*IDENTIFIER_FORMATS, "normalized_name", "country_iso2"]]
    keys = keys[keys.index.isin(frame.index[frame["action"] == "new"])]
    reasons: dict[int, list[str]] = {}
    for on, label in checks:
        have = keys[on].dropna()
        have = have[(have != "").all(axis=1)]
        if have.empty:
            continue
        if len(existing):
            known = existing[[*on, "partner_code"]].dropna(subset=on)
            matches = have.reset_index(names="_at").merge(known, on=on)
            for index, code in zip(matches["_at"], matches["partner_code"], strict=True):
                reasons.setdefault(int(index), []).append(f"{label} as partner {code}")
        earlier = have[have.duplicated(on, keep="first")]
        if earlier.empty:
            continue
        firsts = have.drop_duplicates(on, keep="first").reset_index(names="_at").set_index(on)["_at"]
        for index, values in zip(earlier.index, earlier.itertuples(index=False, name=None), strict=True):
            first = firsts.loc[values if len(on) > 1 else values[0]]
            reasons.setdefault(int(index), []).append(f"{label} as row {frame.at[first, 'row']} "
                                                      f"({frame.at[first, 'partner_code']})")
    for index, found in reasons.items():
        frame.at[index, "action"] = "duplicate"
        frame.at[index, "duplicate_of"] = "; ".join(found)
        problems.append(Problem(frame.at[index, "file"], int(frame.at[index, "row"]), "partner_code",
                                frame.at[index, "partner_code"], (
                                    f"Possible duplicate, not imported: {'; '.join(found)}. To update that partner, "
                                    "use its partner code."), "warning"))


def _check_parents(frame: pd.DataFrame, existing_codes: pd.Index, problems: list[Problem]) -> None:
    children = frame[frame["parent_code"] != ""]
    if children.empty:
        return
    known = set(existing_codes) | set(frame.loc[frame["action"] == "new", "partner_code"])
    for record in children.itertuples():
        if record.parent_code == record.partner_code:
            problems.append(Problem(record.file, record.row, "parent_code", record.parent_code,
                                    "A partner cannot be its own parent."))
        elif record.parent_code not in known:
            problems.append(Problem(record.file, record.row, "parent_code", record.parent_code,
                                    f"No partner with code {record.parent_code} (in the registry or this file)."))


def apply_partners(*, session: Session, actor: Actor, preview: PartnerPreview) -> list[ImportRecord]:
    """Write a checked preview in the caller's transaction: new partners with their first site and primary contact,
    updates (a changed address or contact also changes the primary site or contact), parents, the main sites'
    regions, records, audit.

    Raises ValidationError when the preview has errors (nothing is written). New partners go in through one
    driver-level executemany per slice of rows, their sites and contacts through one INSERT ... SELECT each; look-ups
    by partner code use IN lists of at most 5,000 codes (a database allows only so many parameters in one statement).
    """
    require_write(actor)
    preview.refuse_if_errors()
    now = utcnow()
    new = preview.new_partners
    taken = _ids_by_code(session, new["partner_code"].tolist()) if len(new) else {}
    if taken:
        raise ValidationError(f"Partners {', '.join(sorted(taken)[:20])} were added since the preview; preview "
                              "again.")
    last_id = session.exec(select(func.max(Partner.id))).one() or 0
    _insert_partners(session, new, now)
    updates = [{"id": u["id"], **u["values"], "updated_at": now} for u in preview.updates if u["values"]]
    for start in range(0, len(updates), _CHUNK):
        session.exec(update(Partner), params=updates[start:start + _CHUNK])
    if len(new):
        added = select(Partner.id).where(Partner.id > last_id)
        sites.ensure_first_sites(session=session, actor=actor, partner_ids=added, audited=False)
        contacts.ensure_first_contacts(session=session, actor=actor, partner_ids=added, audited=False)
    if preview.updates:  # an older partner without a site gets one before its address or region changes
        sites.ensure_first_sites(session=session, actor=actor, partner_ids=[u["id"] for u in preview.updates],
                                 audited=False)
    moved = [u["id"] for u in preview.updates if ADDRESS_FIELDS & set(u["values"])]
    if moved:
        sites.copy_record_to_primary_sites(session=session, partner_ids=moved)
    people = [u["id"] for u in preview.updates if CONTACT_FIELDS & set(u["values"])]
    if people:
        contacts.copy_record_to_primary_contacts(session=session, partner_ids=people)
        contacts.ensure_first_contacts(session=session, actor=actor, partner_ids=people, audited=False)
    if preview.regions:
        _set_regions(session, preview.regions)
    if preview.parents:
        ids = _ids_by_code(session, list(set(preview.parents) | set(preview.parents.values())))
        rows = [{"id": ids[code], "parent_id": ids[parent]} for code, parent in preview.parents.items()]
        for start in range(0, len(rows), _CHUNK):
            session.exec(update(Partner), params=rows[start:start + _CHUNK])
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


def _set_regions(session: Session, regions: dict[str, str]) -> None:
    """The region of each partner's main site (primary), by partner code; one executemany per slice."""
    site = PartnerSite.__table__.c
    partner = Partner.__table__.c
    of_code = select(partner.id).where(partner.partner_code == bindparam("code")).scalar_subquery()
    stmt = (update(PartnerSite.__table__).where(site.is_primary, site.partner_id == of_code)
            .values(region_code=bindparam("region")))
    rows = [{"code": code, "region": region} for code, region in regions.items()]
    connection = session.connection()
    for start in range(0, len(rows), _CHUNK):
        connection.execute(stmt, rows[start:start + _CHUNK])


def _ids_by_code(session: Session, codes: list[str]) -> dict[str, int]:
    """Partner code -> id of the given codes that exist, looked up in IN lists of at most 5,000 codes."""
    found: dict[str, int] = {}
    for start in range(0, len(codes), _IN_LIST):
        chunk = codes[start:start + _IN_LIST]
        found.update(session.exec(select(Partner.partner_code, Partner.id)
                                  .where(col(Partner.partner_code).in_(chunk))).all())
    return found


def _insert_partners(session: Session, new: pd.DataFrame, now) -> None:
    """Insert the new partners, a slice of rows at a time, through the driver's executemany: the ORM's bulk
    insert spends more on each row's parameters than the database spends on the row."""
    if new.empty:
        return
    connection = session.connection()
    dialect = connection.dialect
    table = Partner.__table__
    columns = [*NEW_COLUMNS, "created_at", "updated_at"]
    processors = {c: table.c[c].type.dialect_impl(dialect).bind_processor(dialect) for c in columns}
    mark = "?" if dialect.paramstyle == "qmark" else "%s"
    sql = f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES ({', '.join([mark] * len(columns))})"
    stamp = [processors["created_at"](now) if processors["created_at"] else now]
    for start in range(0, len(new), _CHUNK):
        part = new.iloc[start:start + _CHUNK]
        data = []
        for column in NEW_COLUMNS:
            values = part[column].astype(object).where(part[column].notna(), None).tolist()
            process = processors[column]
            data.append([None if v is None else process(v) for v in values] if process else values)
        data += [stamp * len(part), stamp * len(part)]
        connection.exec_driver_sql(sql, list(zip(*data, strict=True)))
