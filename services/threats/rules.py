"""The documented rules that turn source values into High/Medium/Low suggestions (pure, vectorised functions).

Every suggestion carries the rule that produced it in words, so an analyst (and CBP) can see why. The rules are a
starting point the analyst accepts or overrides with a reason; they are this product's, not CBP's (CBP leaves the
method to the company). Basis: seed/reference/country-threat-sources.md and docs/THREATS.md.

US State Department travel advisory (level 1-4, and the reasons its headline cites as letters):
  base band from the level: 1-2 Low, 3 Medium, 4 High, for terrorism, contraband smuggling, organized crime and
  conditions; each cited reason that matches the category raises the band one step (High stays High):
  terrorism <- T (terrorism); contraband smuggling <- C (crime); organized crime <- C (crime) and K (kidnapping);
  conditions <- U (civil unrest) and O (armed conflict, arbitrary enforcement and other).
US Trafficking in Persons report tier, for human smuggling and forced labor:
  Tier 1 Low, Tier 2 Medium, Tier 2 Watch List High, Tier 3 High, Special Case High (not ranked because of conflict
  or collapse).
An imported index: the mapping chosen in its import preview (numeric thresholds, or a level per value).
Several sources for one category: the worst band wins, and every source's rule is listed.
"""

from datetime import date

import pandas as pd

from models.threats import ThreatCategory, ThreatLevel

C = ThreatCategory
LEVEL_ORDER = {ThreatLevel.low: 0, ThreatLevel.medium: 1, ThreatLevel.high: 2}
BANDS = [ThreatLevel.low, ThreatLevel.medium, ThreatLevel.high]
ADVISORY_BASE = {1: ThreatLevel.low, 2: ThreatLevel.low, 3: ThreatLevel.medium, 4: ThreatLevel.high}
ADVISORY_LETTERS: dict[str, tuple[str, ...]] = {
    C.terrorism: ("T",),
    C.contraband_smuggling: ("C",),
    C.organized_crime: ("C", "K"),
    C.conditions: ("U", "O"),
}
LETTER_WORDS = {"C": "crime", "T": "terrorism", "U": "civil unrest", "K": "kidnapping", "N": "natural disaster",
                "H": "health", "D": "wrongful detention", "O": "armed conflict or other", "E": "time-limited event"}
TIP_LEVELS = {"Tier 1": ThreatLevel.low, "Tier 2": ThreatLevel.medium, "Tier 2 Watch List": ThreatLevel.high,
              "Tier 3": ThreatLevel.high, "Special Case": ThreatLevel.high}
TIP_CATEGORIES = (C.human_smuggling, C.forced_labor)
ADVISORY_CATEGORIES = tuple(ADVISORY_LETTERS)

SUGGESTION_COLUMNS = ["iso2", "region_code", "category", "level", "rule", "source_key", "source_name", "as_of",
                      "is_demo"]

RULES_TEXT: dict[str, str] = {
    "travel advisory": "Travel advisory level 1-2 Low, 3 Medium, 4 High; each reason cited in the advisory that "
                       "matches the category raises it one band (terrorism: T; contraband: C; organized crime: C, K; "
                       "conditions: U, O).",
    "tip": "Trafficking in Persons tier: Tier 1 Low, Tier 2 Medium, Tier 2 Watch List High, Tier 3 High, Special Case "
           "High; for human smuggling and forced labor.",
    "index": "Imported index: the thresholds or the value-to-level table chosen when it was imported.",
    "combine": "Several sources for one category: the worst band wins.",
}


def raise_band(level: str, steps: int) -> str:
    return BANDS[min(LEVEL_ORDER[ThreatLevel(level)] + steps, 2)]


def advisory_suggestions(levels: pd.DataFrame, flags: pd.DataFrame) -> pd.DataFrame:
    """Suggestions from travel advisories: `levels` has iso2, value (1-4), as_of; `flags` iso2, value (letters)."""
    frame = levels.rename(columns={"value": "advisory"}).merge(
        flags[["iso2", "value"]].rename(columns={"value": "letters"}), on="iso2", how="left")
    frame["letters"] = frame["letters"].fillna("").astype(str).str.upper()
    frame["advisory"] = pd.to_numeric(frame["advisory"], errors="coerce")
    frame = frame[frame["advisory"].isin([1, 2, 3, 4])]
    out = []
    for category, letters in ADVISORY_LETTERS.items():
        cited = [frame["letters"].str.contains(letter, regex=False) for letter in letters]
        steps = sum(c.astype(int) for c in cited)
        base = frame["advisory"].astype(int).map(ADVISORY_BASE)
        level = [raise_band(b, s) for b, s in zip(base, steps, strict=True)]
        words = [", ".join(f"{LETTER_WORDS[letter]} ({letter})" for letter, hit in zip(letters, flags_hit, strict=True)
                           if hit) for flags_hit in zip(*cited, strict=True)] if len(frame) else []
        rule = [f"Travel advisory level {int(a)} → {b}" + (f"; cites {w} → {lvl}" if w else "")
                for a, b, w, lvl in zip(frame["advisory"], base, words, level, strict=True)]
        out.append(pd.DataFrame({"iso2": frame["iso2"].to_numpy(), "region_code": frame["region_code"].to_numpy(),
                                 "category": category.value, "level": level, "rule": rule,
                                 "as_of": frame["as_of"].to_numpy()}))
    return pd.concat(out, ignore_index=True) if out else pd.DataFrame(columns=SUGGESTION_COLUMNS)


def tip_suggestions(tiers: pd.DataFrame) -> pd.DataFrame:
    """Suggestions from Trafficking in Persons tiers: `tiers` has iso2, region_code, value (tier), as_of."""
    frame = tiers[tiers["value"].isin(TIP_LEVELS)]
    out = []
    for category in TIP_CATEGORIES:
        out.append(pd.DataFrame({
            "iso2": frame["iso2"].to_numpy(), "region_code": frame["region_code"].to_numpy(),
            "category": category.value, "level": frame["value"].map(TIP_LEVELS).to_numpy(),
            "rule": [f"Trafficking in Persons report: {tier} → {TIP_LEVELS[tier]}" for tier in frame["value"]],
            "as_of": frame["as_of"].to_numpy()}))
    return pd.concat(out, ignore_index=True)


def index_level(values: pd.Series, mapping: dict) -> pd.Series:
    """Levels of an index's values under a mapping chosen at import; None where a value does not map.

    Numeric: {"kind": "numeric", "higher_is_worse": bool, "high": x, "medium": y}: with higher_is_worse a value of
    at least `high` is High, at least `medium` Medium, else Low (mirrored when lower is worse). Categorical:
    {"kind": "categorical", "levels": {value: level}}.
    """
    if mapping.get("kind") == "numeric":
        numbers = pd.to_numeric(values, errors="coerce")
        high, medium = float(mapping["high"]), float(mapping["medium"])
        if mapping.get("higher_is_worse", True):
            level = pd.Series(ThreatLevel.low.value, index=values.index).mask(numbers >= medium, "Medium") \
                .mask(numbers >= high, "High")
        else:
            level = pd.Series(ThreatLevel.low.value, index=values.index).mask(numbers <= medium, "Medium") \
                .mask(numbers <= high, "High")
        return level.astype(object).where(numbers.notna(), None)
    table = {str(k).strip().casefold(): v for k, v in mapping.get("levels", {}).items()}
    found = values.astype(str).str.strip().str.casefold().map(table).astype(object)
    return found.where(found.isin(list(LEVEL_ORDER)), None)


def describe_mapping(mapping: dict) -> str:
    if mapping.get("kind") == "numeric":
        sign = "≥" if mapping.get("higher_is_worse", True) else "≤"
        return f"{sign} {mapping['high']:g} High, {sign} {mapping['medium']:g} Medium, else Low"
    return ", ".join(f"{value} → {level}" for value, level in mapping.get("levels", {}).items())


def index_suggestions(values: pd.DataFrame, *, name: str, categories: list[str], mapping: dict) -> pd.DataFrame:
    """Suggestions from an imported index: `values` has iso2, region_code, value, as_of."""
    levels = index_level(values["value"], mapping)
    frame = values.assign(level=levels).dropna(subset=["level"])
    out = [pd.DataFrame({"iso2": frame["iso2"].to_numpy(), "region_code": frame["region_code"].to_numpy(),
                         "category": category, "level": frame["level"].to_numpy(),
                         "rule": [f"{name} {v} → {lvl} ({describe_mapping(mapping)})"
                                  for v, lvl in zip(frame["value"], frame["level"], strict=True)],
                         "as_of": frame["as_of"].to_numpy()}) for category in categories]
    return pd.concat(out, ignore_index=True) if out else pd.DataFrame(columns=SUGGESTION_COLUMNS)


def combine(suggestions: pd.DataFrame) -> pd.DataFrame:
    """One suggestion per country, region and category: the worst band, with every source's rule listed.

    The as-of date is that of the source giving the worst band (the oldest among ties).
    """
    if suggestions.empty:
        return pd.DataFrame(columns=SUGGESTION_COLUMNS)
    frame = suggestions.assign(_rank=suggestions["level"].map(LEVEL_ORDER))
    key = ["iso2", "region_code", "category"]
    frame = frame.sort_values([*key, "_rank", "as_of"], ascending=[True, True, True, False, True], kind="stable")
    shared = frame.duplicated(key, keep=False)
    worst = frame.drop_duplicates(key, keep="first").set_index(key)
    if shared.any():  # only keys fed by several sources need their rules joined (a Python step per key)
        several = frame[shared].groupby(key, sort=False)
        worst.loc[several.groups.keys(), "rule"] = several["rule"].agg("; ".join)
        worst.loc[several.groups.keys(), "source_name"] = several["source_name"].agg(
            lambda s: "; ".join(dict.fromkeys(s)))
        worst.loc[several.groups.keys(), "is_demo"] = several["is_demo"].any()
    worst = worst.reset_index()
    return worst[SUGGESTION_COLUMNS].reset_index(drop=True)


def is_stale(as_of: pd.Series, *, today: date, months: int) -> pd.Series:
    """True where a value's as-of date is older than `months` (a missing date is not stale, it is unknown)."""
    limit = pd.Timestamp(today) - pd.DateOffset(months=months)
    return pd.to_datetime(as_of, errors="coerce") < limit
