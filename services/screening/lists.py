"""Restricted-party lists (the UFLPA Entity List, or any list a user downloads) loaded from CSV/XLSX files.

A file has one entry per row: the entity's name, and where known its aliases (separated by ";" or "|"), country,
address, the date it was listed and a reference (e.g. the Federal Register notice). Loading a list under a name that
is already loaded replaces that list; decisions on matches that are still found carry over.
"""

import re
from dataclasses import dataclass, field
from datetime import date, datetime

import pandas as pd
from sqlalchemy import insert, update
from sqlmodel import Session, col, func, select

from models import Country, Partner, RestrictedEntry, RestrictedList, RestrictedName, ScreeningMatch
from models.common import utcnow
from models.screening import MatchStatus
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
)
from services.screening import matching

COLUMN_ALIASES: dict[str, tuple[str, ...]] = {
    "name": ("name", "entity", "entity name", "company", "company name", "legal name", "party"),
    "aliases": ("aliases", "alias", "aka", "also known as", "other names", "alternate names"),
    "country": ("country", "country code", "iso2", "country_iso2"),
    "address": ("address", "addresses", "location"),
    "listed_on": ("listed on", "date added", "added", "effective date", "listed", "date"),
    "reference": ("reference", "federal register", "fr notice", "citation", "notice", "section", "list section"),
}
ALIAS_SPLIT = re.compile(r"\s*[;|\n]\s*")
ENTRY_COLUMNS = ["row", "name", "aliases", "country_iso2", "address", "listed_on", "reference"]
UFLPA_CAVEAT = (
    "A name match is a lead, not a finding: the same name can be another company, and a listed entity can trade "
    "under names the list does not give. Confirm only after checking address, ownership and documents; dismiss with "
    "the reason. Load the current list from the publisher (UFLPA Entity List: dhs.gov/uflpa-entity-list) before each "
    "screening."
)


@dataclass
class ListPreview(ProblemCounts):
    """A restricted-party list file read and checked, with the matches it would give; nothing written yet."""

    filename: str
    sha256: str
    entries: pd.DataFrame
    problems: pd.DataFrame
    matches: pd.DataFrame = field(default_factory=pd.DataFrame)


def _date(text: str) -> date | None:
    text = text.strip()
    if not text:
        return None
    if re.fullmatch(r"\d{4,5}(\.0+)?", text):  # an Excel serial number
        return (pd.Timestamp("1899-12-30") + pd.Timedelta(days=int(float(text)))).date()
    for fmt in ("%Y-%m-%d", "%m/%d/%Y", "%d.%m.%Y", "%B %d, %Y", "%b %d, %Y"):
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise ValueError(text)


def _columns(table: Table, problems: list[Problem]) -> dict[str, int] | None:
    columns: dict[str, int] = {}
    for target, aliases in COLUMN_ALIASES.items():
        positions = table.positions(*(header_key(a) for a in aliases))
        if len(positions) > 1:
            labels = ", ".join(table.label(p) for p in positions)
            problems.append(Problem(table.filename, table.header_row, labels, "",
                                    f"More than one column could be '{target}' ({labels}); keep one."))
            return None
        if positions:
            columns[target] = positions[0]
    if "name" not in columns:
        problems.append(Problem(table.filename, table.header_row, "", ", ".join(table.headers)[:200],
                                "No name column (name, entity or company)."))
        return None
    return columns


def read_list(*, session: Session, filename: str, data: bytes) -> ListPreview:
    """Read and check a list file; the preview also lists the partners it would match."""
    problems: list[Problem] = []
    try:
        table = read_table(filename=filename, data=data, sheet="Entities",
                           header_keys=[header_key(a) for a in COLUMN_ALIASES["name"]])
    except UnreadableFile as exc:
        return ListPreview(filename=filename, sha256="", entries=pd.DataFrame(columns=ENTRY_COLUMNS),
                           problems=problems_frame([exc.problem]))
    problems.extend(table.problems)
    columns = _columns(table, problems)
    rows = []
    if columns is not None and table.cells.empty:
        problems.append(Problem(filename, table.header_row, "", "", "The file has a header row but no entries."))
    if columns is not None:
        countries = {c.casefold(): iso for iso, iso3, c in session.exec(select(Country.iso2, Country.iso3,
                                                                               Country.name)).all()}
        codes = set(session.exec(select(Country.iso2)).all())
        labels = {t: table.label(p) for t, p in columns.items()}
        for row, cells in zip(table.cells.index, table.cells.itertuples(index=False), strict=True):
            raw = {t: str(cells[p]).strip() for t, p in columns.items()}
            name = " ".join(raw.get("name", "").split())
            if not name:
                problems.append(Problem(filename, int(row), labels["name"], "", "The entry has no name."))
                continue
            aliases = [a for a in ALIAS_SPLIT.split(raw.get("aliases", "")) if a and a.casefold() != name.casefold()]
            country = raw.get("country", "")
            iso = country.upper() if country.upper() in codes else countries.get(country.casefold(), "")
            if country and not iso:
                problems.append(Problem(filename, int(row), labels.get("country", "country"), country,
                                        "Not a country code or English country name; kept without a country.",
                                        "warning"))
            try:
                listed = _date(raw.get("listed_on", ""))
            except ValueError:
                listed = None
                problems.append(Problem(filename, int(row), labels.get("listed_on", "listed_on"), raw["listed_on"],
                                        "Not a date (use YYYY-MM-DD); kept without a date.", "warning"))
            rows.append({"row": int(row), "name": name[:300], "aliases": "; ".join(aliases)[:2000],
                         "country_iso2": iso, "address": raw.get("address", "")[:500], "listed_on": listed,
                         "reference": raw.get("reference", "")[:300]})
    entries = pd.DataFrame(rows, columns=ENTRY_COLUMNS)
    repeated = entries[entries["name"].str.casefold().duplicated(keep="first")]
    for r in repeated.itertuples():
        problems.append(Problem(filename, r.row, "name", r.name, "The same name is listed again; both are kept.",
                                "warning"))
    preview = ListPreview(filename=filename, sha256=table.sha256, entries=entries, problems=problems_frame(problems))
    if not entries.empty:
        preview.matches = _preview_matches(session, entries)
    return preview


def entry_names(entries: pd.DataFrame) -> pd.DataFrame:
    """One row per name and alias of each entry (entry_id = the entry's position when not stored yet)."""
    ids = entries["id"] if "id" in entries else pd.Series(range(len(entries)), index=entries.index)
    main = pd.DataFrame({"entry_id": ids.to_numpy(), "name": entries["name"].to_numpy(), "is_alias": False})
    alias = pd.DataFrame({"entry_id": ids.to_numpy(), "name": entries["aliases"].str.split("; ").to_numpy()})
    alias = alias.explode("name").dropna(subset=["name"])
    alias = alias[alias["name"] != ""].assign(is_alias=True)
    names = pd.concat([main, alias], ignore_index=True)
    names["normalized_name"] = matching.normalized(names["name"]).str.slice(0, 300)
    names["name"] = names["name"].str.slice(0, 300)
    return names


def _partners(session: Session) -> pd.DataFrame:
    rows = session.exec(select(Partner.id, Partner.partner_code, Partner.legal_name, Partner.normalized_name,
                               Partner.country_iso2).where(Partner.status == "active")).all()
    return pd.DataFrame(rows, columns=["partner_id", "partner_code", "legal_name", "normalized_name", "country_iso2"])


def _preview_matches(session: Session, entries: pd.DataFrame) -> pd.DataFrame:
    partners = _partners(session)
    found = matching.find_matches(partners, entry_names(entries))
    shown = found.merge(partners, on="partner_id").merge(
        entries.reset_index(drop=True).rename_axis("entry_id").reset_index()[["entry_id", "row", "name",
                                                                              "country_iso2"]],
        on="entry_id", suffixes=("", "_listed"))
    return shown[["partner_code", "legal_name", "country_iso2", "row", "name", "country_iso2_listed", "matched_name",
                  "match_kind"]].rename(columns={"name": "listed_name", "country_iso2_listed": "listed_country"})


def apply_list(*, session: Session, actor: Actor, preview: ListPreview, name: str, publisher: str = "",
               citation: str = "", as_of: date | None = None, is_demo: bool = False) -> RestrictedList:
    """Load a checked list (replacing a list loaded before under the same name), then screen all partners on it."""
    require_write(actor)
    preview.refuse_if_errors()
    name = " ".join((name or "").split())
    if not name:
        raise ValidationError("name: give the list a name, e.g. 'UFLPA Entity List'")
    if preview.entries.empty:
        raise ValidationError(f"{preview.filename}: the file has no entries; nothing was loaded.")
    previous = session.exec(select(RestrictedList).where(RestrictedList.name == name, RestrictedList.active)).all()
    loaded = RestrictedList(name=name[:200], publisher=publisher.strip()[:200], citation=citation.strip()[:1000],
                            as_of=as_of, filename=preview.filename[:255], sha256=preview.sha256,
                            entries=len(preview.entries), is_demo=is_demo, loaded_by=actor.username)
    session.add(loaded)
    session.flush()
    if previous:
        session.exec(update(RestrictedList).where(col(RestrictedList.id).in_([p.id for p in previous]))
                     .values(active=False))
    rows = preview.entries.assign(list_id=loaded.id).to_dict("records")
    session.exec(insert(RestrictedEntry), params=rows)
    stored = pd.DataFrame(session.exec(select(RestrictedEntry.id, RestrictedEntry.name, RestrictedEntry.aliases)
                                       .where(RestrictedEntry.list_id == loaded.id)
                                       .order_by(RestrictedEntry.id)).all(), columns=["id", "name", "aliases"])
    names = entry_names(stored).assign(list_id=loaded.id)
    session.exec(insert(RestrictedName), params=names[["entry_id", "list_id", "name", "normalized_name",
                                                       "is_alias"]].to_dict("records"))
    audit.record(session=session, actor=actor, action="import", entity="restricted list", entity_id=loaded.id,
                 summary=f"Loaded {name} from {preview.filename}: {len(stored)} entries"
                         + (f" (replaces the load of {previous[0].loaded_at:%Y-%m-%d})" if previous else ""),
                 after={"file": preview.filename, "sha256": preview.sha256, "entries": len(stored)})
    screen(session=session, actor=actor, list_ids=[loaded.id], carry_from=[p.id for p in previous])
    return loaded


def screen(*, session: Session, actor: Actor, list_ids: list[int] | None = None,
           carry_from: list[int] | None = None) -> int:
    """Match all active partners against the active lists (or `list_ids`); returns the new matches recorded.

    Pairs already recorded keep their status. A new match of a list that replaces an older load takes over the
    decision made on the same partner and the same listed name in that older load.
    """
    require_write(actor)
    stmt = select(RestrictedName.entry_id, RestrictedName.list_id, RestrictedName.name,
                  RestrictedName.normalized_name).join(RestrictedList,
                                                       col(RestrictedList.id) == RestrictedName.list_id)
    stmt = stmt.where(col(RestrictedList.id).in_(list_ids)) if list_ids else stmt.where(RestrictedList.active)
    names = pd.DataFrame(session.exec(stmt).all(), columns=["entry_id", "list_id", "name", "normalized_name"])
    partners = _partners(session)
    found = matching.find_matches(partners, names)
    if found.empty:
        return 0
    found = found.merge(names[["entry_id", "list_id"]].drop_duplicates(), on="entry_id")
    have = pd.DataFrame(session.exec(select(ScreeningMatch.partner_id, ScreeningMatch.entry_id)).all(),
                        columns=["partner_id", "entry_id"])
    new = found.merge(have, on=["partner_id", "entry_id"], how="left", indicator=True)
    new = new[new["_merge"] == "left_only"].drop(columns="_merge")
    if new.empty:
        return 0
    new = new.merge(partners[["partner_id", "legal_name"]], on="partner_id")
    now = utcnow()
    new = new.assign(partner_name=new["legal_name"].str.slice(0, 200), status=MatchStatus.open.value, reason="",
                     decided_by="", decided_at=None, created_at=now)
    if carry_from:
        new = _carry_decisions(session, new, carry_from)
    session.exec(insert(ScreeningMatch), params=new[["partner_id", "entry_id", "list_id", "partner_name",
                                                     "matched_name", "match_kind", "status", "reason", "decided_by",
                                                     "decided_at", "created_at"]].to_dict("records"))
    audit.record(session=session, actor=actor, action="screen", entity="screening", entity_id="",
                 summary=f"Screened partners: {len(new)} new match(es) to review",
                 after={"new": len(new), "open": int((new["status"] == MatchStatus.open).sum())})
    return len(new)


def _carry_decisions(session: Session, new: pd.DataFrame, carry_from: list[int]) -> pd.DataFrame:
    old = pd.DataFrame(session.exec(
        select(ScreeningMatch.partner_id, RestrictedEntry.name, ScreeningMatch.status, ScreeningMatch.reason,
               ScreeningMatch.decided_by, ScreeningMatch.decided_at)
        .join(RestrictedEntry, col(RestrictedEntry.id) == ScreeningMatch.entry_id)
        .where(col(ScreeningMatch.list_id).in_(carry_from), ScreeningMatch.status != MatchStatus.open)).all(),
        columns=["partner_id", "entry_name", "old_status", "old_reason", "old_by", "old_at"])
    if old.empty:
        return new
    entries = pd.DataFrame(session.exec(select(RestrictedEntry.id, RestrictedEntry.name)
                                        .where(col(RestrictedEntry.id).in_(new["entry_id"].tolist()))).all(),
                           columns=["entry_id", "entry_name"])
    merged = new.merge(entries, on="entry_id", how="left").merge(old.drop_duplicates(["partner_id", "entry_name"]),
                                                                 on=["partner_id", "entry_name"], how="left")
    carried = merged["old_status"].notna()
    merged.loc[carried, "status"] = merged.loc[carried, "old_status"]
    merged.loc[carried, "reason"] = ("Carried over from the previous load: " + merged.loc[carried, "old_reason"]) \
        .str.slice(0, 1000)
    merged.loc[carried, "decided_by"] = merged.loc[carried, "old_by"]
    merged.loc[carried, "decided_at"] = merged.loc[carried, "old_at"]
    return merged.drop(columns=["entry_name", "old_status", "old_reason", "old_by", "old_at"])


def decide(*, session: Session, actor: Actor, match_id: int, status: str, reason: str) -> ScreeningMatch:
    """Confirm or dismiss a match, with the reason (at least 10 characters); a confirmed match is a High
    forced-labor flag on the partner. A decision can be changed later, again with a reason."""
    require_write(actor)
    if status not in (MatchStatus.confirmed, MatchStatus.dismissed):
        raise ValidationError("status: confirmed or dismissed")
    reason = reason.strip()
    if len(reason) < 10:
        raise ValidationError("reason: say why (at least 10 characters), e.g. what was checked")
    match = session.get(ScreeningMatch, match_id)
    if match is None:
        raise ValidationError(f"No screening match {match_id}.")
    before = {"status": match.status, "reason": match.reason}
    match.status, match.reason = status, reason[:1000]
    match.decided_by, match.decided_at = actor.username, utcnow()
    session.add(match)
    code = session.get(Partner, match.partner_id).partner_code
    audit.record(session=session, actor=actor, action=status, entity="screening match", entity_id=code,
                 summary=f"{status.capitalize()} the match of partner {code} with '{match.matched_name}': {reason}",
                 before=before, after={"status": status, "reason": reason})
    return match


def list_lists(*, session: Session) -> pd.DataFrame:
    rows = [r.model_dump() for r in session.exec(select(RestrictedList).order_by(col(RestrictedList.id).desc()))]
    return pd.DataFrame(rows, columns=["id", "name", "publisher", "as_of", "entries", "filename", "loaded_by",
                                       "loaded_at", "active", "is_demo", "citation", "sha256"])


def list_matches(*, session: Session, status: str | None = None) -> pd.DataFrame:
    """Matches with the partner and the list entry side by side, open ones first."""
    stmt = (select(ScreeningMatch.id, ScreeningMatch.status, Partner.partner_code, Partner.legal_name,
                   Partner.country_iso2, RestrictedList.name, RestrictedList.active, RestrictedEntry.name,
                   RestrictedEntry.aliases, RestrictedEntry.country_iso2, RestrictedEntry.address,
                   RestrictedEntry.reference, RestrictedEntry.listed_on, ScreeningMatch.matched_name,
                   ScreeningMatch.match_kind, ScreeningMatch.reason, ScreeningMatch.decided_by,
                   ScreeningMatch.decided_at, ScreeningMatch.partner_id)
            .join(Partner, col(Partner.id) == ScreeningMatch.partner_id)
            .join(RestrictedEntry, col(RestrictedEntry.id) == ScreeningMatch.entry_id)
            .join(RestrictedList, col(RestrictedList.id) == ScreeningMatch.list_id))
    if status:
        stmt = stmt.where(ScreeningMatch.status == status)
    columns = ["id", "status", "partner_code", "legal_name", "country_iso2", "list", "list_current", "listed_name",
               "aliases", "listed_country", "address", "reference", "listed_on", "matched_name", "match_kind",
               "reason", "decided_by", "decided_at", "partner_id"]
    frame = pd.DataFrame(session.exec(stmt).all(), columns=columns)
    order = {MatchStatus.open: 0, MatchStatus.confirmed: 1, MatchStatus.dismissed: 2}
    return frame.assign(_o=frame["status"].map(order)).sort_values(["_o", "partner_code"], kind="stable") \
        .drop(columns="_o").reset_index(drop=True)


def open_match_count(*, session: Session) -> int:
    return session.exec(select(func.count()).select_from(ScreeningMatch)
                        .where(ScreeningMatch.status == MatchStatus.open)).one()
