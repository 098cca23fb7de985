"""The threat register: current ratings per country (and region) and category, with their history.

What a place's threat is, category by category (the one home of this rule):
1. the register's rating for its region, else for its country (accepted suggestion, override, analyst rating or
   file import);
2. else the current suggestion of the rules (shown as "suggested": not yet reviewed by an analyst);
3. else, when some source feeds the category, Unknown: shown as Unknown and counted as High in scoring unless the
   settings say otherwise;
4. else "Not assessed": no source has been loaded for the category at all; it is left out of the overall.
The overall threat of a place is its worst category: High, then Unknown, then Medium, then Low.
"""

from datetime import date
from typing import Any

import pandas as pd
from sqlalchemy import insert, update
from sqlmodel import Session, col, delete, select

from models import Country, Partner, PartnerSite, ThreatRating, ThreatRatingChange, ThreatSettings
from models.common import utcnow
from models.screening import MatchStatus, ScreeningMatch
from models.threats import CATEGORY_LABELS, RatingBasis, ThreatCategory, ThreatLevel
from services.core import audit
from services.core.permissions import Actor, ValidationError, require_admin, require_write
from services.places.regions import clean_region, region_name
from services.threats import rules, sources

NOT_ASSESSED = "Not assessed"
DISPLAY_ORDER = {NOT_ASSESSED: -1, ThreatLevel.low: 0, ThreatLevel.medium: 1, ThreatLevel.unknown: 2,
                 ThreatLevel.high: 3}
RATED_LEVELS = (ThreatLevel.high, ThreatLevel.medium, ThreatLevel.low)
MIN_REASON = 10
KEY = ["iso2", "region_code", "category"]
_TABLE_MEMO: dict[tuple, pd.DataFrame] = {}
TABLE_COLUMNS = ["iso2", "country", "numeric", "region_code", "region", "category", "level", "status", "basis",
                 "suggested", "suggestion_rule", "rule", "rationale", "reason", "source", "as_of", "stale", "is_demo",
                 "review", "version", "updated_by", "updated_at"]


def get_settings(*, session: Session) -> ThreatSettings:
    """The register settings (defaults until an admin saves them)."""
    return session.exec(select(ThreatSettings)).first() or ThreatSettings()


def update_settings(*, session: Session, actor: Actor, stale_after_months: int, unknown_as: str) -> ThreatSettings:
    """Set when values count as stale and how Unknown counts in scoring (admins only)."""
    require_admin(actor)
    if not 1 <= int(stale_after_months) <= 120:
        raise ValidationError("stale_after_months: between 1 and 120")
    if unknown_as not in RATED_LEVELS:
        raise ValidationError(f"unknown_as: one of {', '.join(RATED_LEVELS)}")
    current = session.exec(select(ThreatSettings)).first()
    before = {"stale_after_months": current.stale_after_months, "unknown_as": current.unknown_as} if current else \
        {"stale_after_months": 12, "unknown_as": ThreatLevel.high.value}
    current = current or ThreatSettings()
    current.stale_after_months, current.unknown_as = int(stale_after_months), str(unknown_as)
    current.updated_by, current.updated_at = actor.username, utcnow()
    session.add(current)
    audit.record(session=session, actor=actor, action="update", entity="threat settings", entity_id="1",
                 summary="Changed the threat register settings", before=before,
                 after={"stale_after_months": current.stale_after_months, "unknown_as": current.unknown_as})
    return current


def ratings(*, session: Session) -> pd.DataFrame:
    """The register's current rows."""
    columns = list(ThreatRating.model_fields)
    return pd.DataFrame(session.exec(select(*(getattr(ThreatRating, c) for c in columns))).all(), columns=columns)


def _table_key(session: Session, today: date) -> tuple:
    from sqlalchemy import func as f

    row = session.exec(select(select(f.count()).select_from(ThreatRating).scalar_subquery(),
                              select(f.max(ThreatRatingChange.id)).scalar_subquery(),
                              select(f.max(ThreatRatingChange.changed_at)).scalar_subquery(),
                              select(f.max(ThreatSettings.updated_at)).scalar_subquery())).one()
    return (str(session.get_bind().engine.url), today, sources.fingerprint(session=session), *map(str, row))


def threat_table(*, session: Session, today: date) -> pd.DataFrame:
    """Every country (and every region with a rating) x every category, with its effective threat.

    Columns: see TABLE_COLUMNS. `status` is rated, suggested, inherited (a region without its own rating), no value
    (Unknown) or not assessed; `review` marks suggestions nobody has decided on, or that changed since the decision.
    Kept per database state for the process (the register, its sources and settings change only through writes
    that change the key).
    """
    key = _table_key(session, today)
    found = _TABLE_MEMO.get(key)
    if found is None:
        found = _threat_table(session, today)
        _TABLE_MEMO.clear()
        _TABLE_MEMO[key] = found
    return found.copy()


def _threat_table(session: Session, today: date) -> pd.DataFrame:
    settings = get_settings(session=session)
    countries = pd.DataFrame(session.exec(select(Country.iso2, Country.name, Country.numeric)).all(),
                             columns=["iso2", "country", "numeric"])
    suggestion = sources.suggestions(session=session)
    covered = sources.covered_categories(session=session)
    rated = ratings(session=session)
    regions = pd.concat([rated.loc[rated["region_code"] != "", ["iso2", "region_code"]],
                         suggestion.loc[suggestion["region_code"] != "", ["iso2", "region_code"]]]).drop_duplicates()
    places = pd.concat([countries[["iso2"]].assign(region_code=""), regions], ignore_index=True)
    grid = places.merge(pd.DataFrame({"category": [c.value for c in ThreatCategory]}), how="cross")
    grid = grid.merge(countries, on="iso2", how="inner")
    sug = suggestion.rename(columns={"level": "suggested", "rule": "suggestion_rule", "source_name": "sug_source",
                                     "as_of": "sug_as_of", "is_demo": "sug_demo"}).drop(columns="source_key")
    grid = grid.merge(sug, on=KEY, how="left")
    reg = rated.rename(columns={"level": "rated_level", "as_of": "rated_as_of", "is_demo": "rated_demo",
                                "rule": "rated_rule", "source": "rated_source"}).drop(columns="id")
    grid = grid.merge(reg, on=KEY, how="left")

    has_rating = grid["rated_level"].notna()
    has_suggestion = grid["suggested"].notna()
    grid["level"] = grid["rated_level"].where(has_rating, grid["suggested"])
    grid["status"] = pd.Series("rated", index=grid.index).where(has_rating, "suggested").where(
        has_rating | has_suggestion, "")
    grid["rule"] = grid["rated_rule"].where(has_rating, grid["suggestion_rule"])
    grid["source"] = grid["rated_source"].where(has_rating, grid["sug_source"])
    grid["as_of"] = grid["rated_as_of"].where(has_rating, grid["sug_as_of"])
    grid["is_demo"] = grid["rated_demo"].where(has_rating, grid["sug_demo"]).astype("boolean").fillna(False)
    grid["review"] = has_suggestion & (~has_rating | (grid["suggested_level"].fillna("") != grid["suggested"]))

    # A region without its own value in a category takes its country's.
    region_rows = grid["region_code"] != ""
    empty = region_rows & (grid["status"] == "")
    if empty.any():
        country_rows = grid.loc[grid["region_code"] == ""].set_index(["iso2", "category"])
        inherit = grid.loc[empty, ["iso2", "category"]].merge(country_rows.reset_index(), on=["iso2", "category"],
                                                             how="left").set_index(grid.index[empty])
        for column in ("level", "rule", "source", "as_of", "is_demo"):
            grid.loc[empty, column] = inherit[column]
        grid.loc[empty, "status"] = "inherited"
        grid.loc[empty, "rule"] = "From the country: " + inherit["rule"].fillna("").astype(str)
    missing = grid["level"].isna() | (grid["level"] == "")
    in_covered = grid["category"].isin(covered)
    grid.loc[missing & in_covered, ["level", "status"]] = [ThreatLevel.unknown.value, "no value"]
    grid.loc[missing & in_covered, "rule"] = "No source has a value for this place: Unknown, never Low"
    grid.loc[missing & ~in_covered, ["level", "status"]] = [NOT_ASSESSED, "not assessed"]
    grid.loc[missing & ~in_covered, "rule"] = "No source loaded for this category"
    grid["stale"] = rules.is_stale(grid["as_of"], today=today, months=settings.stale_after_months)
    grid["region"] = grid["region_code"].map(region_name)
    grid["basis"] = grid["basis"].fillna("")
    for column in ("rationale", "reason", "updated_by", "suggestion_rule", "suggested"):
        grid[column] = grid[column].fillna("")
    grid["version"] = grid["version"].astype("Int64")
    return grid[TABLE_COLUMNS].sort_values(["country", "region_code", "category"], kind="stable").reset_index(drop=True)


def overall(table: pd.DataFrame, *, unknown_as: str = ThreatLevel.high) -> pd.DataFrame:
    """Per country and region: the overall threat (worst category; "Not assessed" ones left out) and the level
    that scoring uses (Unknown counted as `unknown_as`)."""
    ranked = table.assign(_rank=table["level"].map(DISPLAY_ORDER))
    worst = ranked.sort_values("_rank", ascending=False, kind="stable").drop_duplicates(["iso2", "region_code"])
    out = worst[["iso2", "region_code", "level"]].rename(columns={"level": "overall"})
    out["score_level"] = out["overall"].where(out["overall"] != ThreatLevel.unknown, unknown_as)
    return out.reset_index(drop=True)


def locate(table: pd.DataFrame, places: pd.DataFrame, *, unknown_as: str = ThreatLevel.high) -> pd.DataFrame:
    """The threat of arbitrary places (columns iso2, region_code): one column per category, plus overall and
    score_level; a region without rows in the table falls back to its country."""
    wide = table.pivot_table(index=["iso2", "region_code"], columns="category", values="level", aggfunc="first")
    wide = wide.join(overall(table, unknown_as=unknown_as).set_index(["iso2", "region_code"]))
    keys = places[["iso2", "region_code"]].fillna("").astype(str)
    known = pd.MultiIndex.from_frame(keys).isin(wide.index)
    chosen = pd.MultiIndex.from_arrays([keys["iso2"], keys["region_code"].where(known, "")])
    found = wide.reindex(chosen)
    found.index = places.index
    return found


def _current_suggestion(session: Session, iso2: str, region_code: str, category: str) -> pd.Series | None:
    found = sources.suggestions(session=session)
    for region in dict.fromkeys([region_code, ""]):
        row = found[(found["iso2"] == iso2) & (found["region_code"] == region) & (found["category"] == category)]
        if not row.empty:
            return row.iloc[0]
    return None


def _history_row(rating: dict[str, Any], previous: str, changed_by: str, now) -> dict[str, Any]:
    return {"iso2": rating["iso2"], "region_code": rating["region_code"], "category": rating["category"],
            "level": rating["level"], "previous_level": previous, "basis": rating["basis"],
            "rationale": rating["rationale"], "reason": rating["reason"], "source": rating["source"],
            "rule": rating["rule"], "as_of": rating["as_of"], "is_demo": rating["is_demo"], "changed_by": changed_by,
            "changed_at": now}


def _write(session: Session, actor: Actor, rows: list[dict[str, Any]], existing: pd.DataFrame) -> int:
    """Insert or update ratings (keyed by country, region and category) with one history row each."""
    if not rows:
        return 0
    now = utcnow()
    known = {tuple(k): (i, lvl, v) for k, i, lvl, v in zip(existing[KEY].itertuples(index=False, name=None),
                                                           existing["id"], existing["level"], existing["version"],
                                                           strict=True)}
    inserts, updates, history = [], [], []
    for row in rows:
        key = (row["iso2"], row["region_code"], row["category"])
        values = {**row, "updated_by": actor.username, "updated_at": now}
        if key in known:
            rating_id, previous, version = known[key]
            updates.append({"id": int(rating_id), **values, "version": int(version) + 1})
        else:
            previous = ""
            inserts.append({**values, "version": 1})
        history.append(_history_row(row, previous, actor.username, now))
    if inserts:
        session.exec(insert(ThreatRating), params=inserts)
    if updates:
        session.exec(update(ThreatRating), params=updates)
    session.exec(insert(ThreatRatingChange), params=history)
    return len(rows)


def write_ratings(*, session: Session, actor: Actor, rows: list[dict[str, Any]]) -> int:
    """Insert or update checked ratings with a history entry each (for imports); returns how many."""
    require_write(actor)
    return _write(session, actor, rows, ratings(session=session))


def accept_suggestions(*, session: Session, actor: Actor, keys: list[tuple[str, str, str]] | None = None) -> int:
    """Accept the current suggestions for these (iso2, region_code, category) keys (all pending ones when None).

    A key whose rating already equals its suggestion is left alone. Returns how many ratings were written.
    """
    require_write(actor)
    found = sources.suggestions(session=session)
    existing = ratings(session=session)
    if keys is not None:
        wanted = pd.DataFrame(list(keys), columns=KEY).drop_duplicates()
        unknown = wanted.merge(found[KEY], on=KEY, how="left", indicator=True)
        unknown = unknown[unknown["_merge"] == "left_only"]
        if not unknown.empty:
            first = unknown.iloc[0]
            raise ValidationError(f"No suggestion to accept for {first['iso2']} {first['category']}.")
        found = found.merge(wanted, on=KEY)
    merged = found.merge(existing[[*KEY, "level", "suggested_level", "basis"]], on=KEY, how="left",
                         suffixes=("", "_rated"))
    same = (merged["level_rated"] == merged["level"]) & (merged["suggested_level"] == merged["level"]) & \
        (merged["basis"] == RatingBasis.accepted)
    todo = merged[~same]
    if keys is None:  # "accept all" never overwrites an analyst's override or a region's own rating
        todo = todo[todo["basis"].isna() | (todo["basis"] == RatingBasis.accepted)]
    rows = [{"iso2": r.iso2, "region_code": r.region_code, "category": r.category, "level": r.level,
             "basis": RatingBasis.accepted.value, "rationale": r.rule[:1000], "reason": "",
             "source": r.source_name[:1000], "rule": r.rule[:500],
             "as_of": None if pd.isna(r.as_of) else r.as_of, "suggested_level": r.level, "is_demo": bool(r.is_demo)}
            for r in todo.itertuples()]
    written = _write(session, actor, rows, existing)
    if written:
        audit.record(session=session, actor=actor, action="accept", entity="threat rating", entity_id="",
                     summary=f"Accepted {written} threat suggestion(s)",
                     after={"ratings": [f"{r['iso2']}{'/' + r['region_code'] if r['region_code'] else ''} "
                                        f"{r['category']}: {r['level']}" for r in rows][:500]})
    return written


def rate(*, session: Session, actor: Actor, iso2: str, category: str, level: str, region_code: str = "",
         reason: str = "", rationale: str = "", source: str = "", as_of: date | None = None,
         expected_version: int | None = None, today: date | None = None) -> ThreatRating:
    """Set one rating by hand: the suggestion's level is an acceptance, any other level an override that needs a
    reason (at least 10 characters) and a source. `expected_version` refuses a form saved over a newer change."""
    require_write(actor)
    iso2 = (iso2 or "").strip().upper()
    if session.get(Country, iso2) is None:
        raise ValidationError(f"country: '{iso2}' is not an ISO country code")
    region_code = clean_region(iso2, region_code)
    if category not in set(ThreatCategory):
        raise ValidationError(f"category: one of {', '.join(ThreatCategory)}")
    if level not in RATED_LEVELS:
        raise ValidationError(f"level: one of {', '.join(RATED_LEVELS)}")
    current = session.exec(select(ThreatRating).where(ThreatRating.iso2 == iso2, ThreatRating.region_code ==
                                                      region_code, ThreatRating.category == category)).first()
    if expected_version is not None and (current.version if current else 0) != expected_version:
        who = f" by {current.updated_by} at {current.updated_at:%Y-%m-%d %H:%M} UTC" if current else ""
        raise ValidationError(f"This rating was changed{who} since you opened it; reload and decide again.")
    suggestion = _current_suggestion(session, iso2, region_code, category)
    reason, rationale, source = reason.strip(), rationale.strip(), source.strip()
    place = f"{iso2}{'/' + region_code if region_code else ''}"
    if suggestion is not None and suggestion["level"] == level and not region_code:
        basis, rule = RatingBasis.accepted, suggestion["rule"]
        rationale = rationale or suggestion["rule"]
        source = source or suggestion["source_name"]
        as_of = as_of or (None if pd.isna(suggestion["as_of"]) else suggestion["as_of"])
    else:
        basis = RatingBasis.override if suggestion is not None else RatingBasis.analyst
        if len(reason) < MIN_REASON:
            raise ValidationError(f"reason: say why {place} {category} is {level}"
                                  + (f" rather than the suggested {suggestion['level']}" if suggestion is not None
                                     else "") + f" (at least {MIN_REASON} characters)")
        if not source:
            raise ValidationError("source: name what the rating rests on (report, advisory, own assessment)")
        rule = f"Analyst {basis}" + (f" of the suggestion {suggestion['level']} ({suggestion['rule']})"
                                     if suggestion is not None else "")
        rationale = rationale or reason
        as_of = as_of or today or date.today()
    row = {"iso2": iso2, "region_code": region_code, "category": category, "level": level, "basis": basis.value,
           "rationale": rationale[:1000], "reason": reason[:1000], "source": source[:1000], "rule": rule[:500],
           "as_of": as_of, "suggested_level": "" if suggestion is None else suggestion["level"], "is_demo": False}
    existing = ratings(session=session)
    existing = existing[(existing["iso2"] == iso2) & (existing["region_code"] == region_code)
                        & (existing["category"] == category)]
    _write(session, actor, [row], existing)
    audit.record(session=session, actor=actor, action=basis.value, entity="threat rating",
                 entity_id=f"{place} {category}", summary=f"{place} {category}: {level} ({basis.value})"
                 + (f": {reason}" if reason else ""),
                 before={"level": current.level} if current else None, after={"level": level, "reason": reason,
                                                                              "source": source})
    session.flush()
    return session.exec(select(ThreatRating).where(ThreatRating.iso2 == iso2, ThreatRating.region_code == region_code,
                                                   ThreatRating.category == category)).one()


def clear_rating(*, session: Session, actor: Actor, iso2: str, category: str, region_code: str = "",
                 reason: str) -> None:
    """Remove a rating (e.g. a region's own rating that no longer applies); the history keeps it."""
    require_write(actor)
    rating = session.exec(select(ThreatRating).where(ThreatRating.iso2 == iso2, ThreatRating.region_code ==
                                                     region_code, ThreatRating.category == category)).first()
    if rating is None:
        raise ValidationError("There is no rating to remove.")
    if len(reason.strip()) < MIN_REASON:
        raise ValidationError(f"reason: say why the rating goes (at least {MIN_REASON} characters)")
    now = utcnow()
    session.exec(insert(ThreatRatingChange), params=[{
        **_history_row(rating.model_dump(), rating.level, actor.username, now), "level": "", "basis": "removed",
        "reason": reason.strip()[:1000]}])
    session.exec(delete(ThreatRating).where(ThreatRating.id == rating.id))
    place = f"{iso2}{'/' + region_code if region_code else ''}"
    audit.record(session=session, actor=actor, action="remove", entity="threat rating",
                 entity_id=f"{place} {category}", summary=f"Removed the rating {place} {category}: {reason.strip()}",
                 before={"level": rating.level}, after=None)


def history(*, session: Session, iso2: str | None = None, category: str | None = None,
            region_code: str | None = None, limit: int = 2000) -> pd.DataFrame:
    """Changes of the register, newest first: value, who, when, why, source."""
    stmt = select(ThreatRatingChange)
    if iso2:
        stmt = stmt.where(ThreatRatingChange.iso2 == iso2)
    if category:
        stmt = stmt.where(ThreatRatingChange.category == category)
    if region_code is not None:
        stmt = stmt.where(ThreatRatingChange.region_code == region_code)
    rows = [r.model_dump() for r in session.exec(stmt.order_by(col(ThreatRatingChange.id).desc()).limit(limit))]
    columns = ["changed_at", "changed_by", "iso2", "region_code", "category", "previous_level", "level", "basis",
               "reason", "rationale", "source", "rule", "as_of", "is_demo"]
    return pd.DataFrame(rows, columns=[*columns, "id"])[columns]


def confirmed_forced_labor(*, session: Session) -> pd.DataFrame:
    """Partners with a confirmed restricted-party match: a High forced-labor flag each (partner_id, lists)."""
    from models.screening import RestrictedList

    rows = session.exec(select(ScreeningMatch.partner_id, RestrictedList.name)
                        .join(RestrictedList, col(RestrictedList.id) == ScreeningMatch.list_id)
                        .where(ScreeningMatch.status == MatchStatus.confirmed)).all()
    frame = pd.DataFrame(rows, columns=["partner_id", "list"])
    return frame.groupby("partner_id", as_index=False)["list"].agg(lambda s: "; ".join(sorted(set(s))))


def partner_threats(*, session: Session, today: date, unknown_as: str | None = None) -> pd.DataFrame:
    """Every partner's threat: its primary site's region, then country (the partner's country when it has no site),
    one column per category, overall and score_level; a confirmed restricted-party match makes forced labor High.
    """
    unknown_as = unknown_as or get_settings(session=session).unknown_as
    rows = session.exec(select(Partner.id, Partner.partner_code, Partner.country_iso2, PartnerSite.country_iso2,
                               PartnerSite.region_code)
                        .outerjoin(PartnerSite, (col(PartnerSite.partner_id) == Partner.id) & PartnerSite.is_primary)
                        ).all()
    # Plain tuples: pandas probes each row for attributes, which a SQLAlchemy Row answers through an exception.
    frame = pd.DataFrame([tuple(r) for r in rows], columns=["partner_id", "partner_code", "partner_country",
                                                            "site_country", "region_code"])
    frame["iso2"] = frame["site_country"].fillna(frame["partner_country"])
    frame["region_code"] = frame["region_code"].fillna("")
    table = threat_table(session=session, today=today)
    found = locate(table, frame, unknown_as=unknown_as)
    out = pd.concat([frame[["partner_id", "partner_code", "iso2", "region_code"]], found], axis=1)
    flagged = confirmed_forced_labor(session=session)
    hit = out["partner_id"].isin(flagged["partner_id"])
    out["restricted_party"] = (out["partner_id"].map(flagged.set_index("partner_id")["list"])
                              .astype(object).fillna(""))  # none flagged: float NaN
    if hit.any():
        out.loc[hit, ThreatCategory.forced_labor.value] = ThreatLevel.high.value
        out.loc[hit, ["overall", "score_level"]] = ThreatLevel.high.value
    return out.reset_index(drop=True)


def category_label(category: str) -> str:
    return CATEGORY_LABELS.get(category, category)
