"""The scoring configuration: every number and choice the scoring reads, its defaults and checks, and its saved
versions (the highest version is the active configuration; every save is audited).

The scoring (services.risk.scoring) takes a ``RiskConfig`` as an argument, so a what-if is the same call with another
configuration. docs/RISK-METHOD.md explains each setting and why its default is what it is.
"""

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from models import RiskConfiguration
from models.common import CRITICALITIES
from models.risk import Band
from models.threats import ThreatCategory
from services.core import audit
from services.core.permissions import Actor, ValidationError, require_admin

LEVELS: tuple[Band, ...] = (Band.low, Band.medium, Band.high)  # the rated bands, in order
CATEGORY_NUMBERS: tuple[int, ...] = tuple(range(1, 13))  # the 12 MSC categories
THREAT_CATEGORIES: tuple[str, ...] = tuple(c.value for c in ThreatCategory)

# Threat (row) x vulnerability (column) -> risk: the practitioners' 1-2-3 scale with risk = T x V, 1-2 Low,
# 3-4 Medium, 6-9 High (CTPAT domain notes, section 2.3); CBP leaves the method to the company.
DEFAULT_MATRIX: dict[str, dict[str, str]] = {
    Band.low: {Band.low: Band.low, Band.medium: Band.low, Band.high: Band.medium},
    Band.medium: {Band.low: Band.low, Band.medium: Band.medium, Band.high: Band.high},
    Band.high: {Band.low: Band.medium, Band.medium: Band.high, Band.high: Band.high},
}


def _matrix() -> dict[str, dict[str, str]]:
    return {t.value: {v.value: b.value for v, b in row.items()} for t, row in DEFAULT_MATRIX.items()}


@dataclass(frozen=True)
class RiskConfig:
    """What the scoring reads. Percentages are 0-100; bands are Band values ("Low", "Medium", "High")."""

    # Vulnerability (step 3)
    answer_max_age_months: int = 15  # accepted answers and site-visit findings older than this do not count
    must_unmet: float = 10.0  # weight of a must criterion not met (also: not answered, n/a without justification)
    must_partial: float = 4.0
    should_unmet: float = 2.0
    should_partial: float = 1.0
    category_weights: dict[str, float] = field(default_factory=lambda: {str(c): 1.0 for c in CATEGORY_NUMBERS})
    medium_from: float = 8.0  # weighted share of criteria not met (percent) from which vulnerability is Medium
    high_from: float = 20.0  # ... and High
    unmet_must_floor: str = Band.low.value  # any must criterion not met: at least this band (Low: no floor)
    certificate_credit: int = 1  # bands lower for a certificate that counts (services.certificates.rule)
    incident_raise: int = 1  # bands higher for a partner or lane with an open incident
    # Threat (step 2 as the scoring reads it)
    threat_unknown_as: str | None = None  # None: the threat register's setting (Unknown counts as High by default)
    threat_categories: tuple[str, ...] = THREAT_CATEGORIES  # the categories that count towards a place's threat
    threat_overrides: dict[str, str] = field(default_factory=dict)  # country (ISO alpha-2) -> band, for a what-if
    rest_hours: float = 24.0  # a node counts in full where cargo rests at least this long, or custody changes
    other_nodes_lower: int = 1  # bands lower for the other nodes of a lane
    inherit_lane_threat: bool = True  # a partner takes the worst threat of the lanes it serves when higher
    # Risk
    matrix: dict[str, dict[str, str]] = field(default_factory=_matrix)
    impact_raise: bool = True  # raise risk one band for a high-impact partner or lane
    impact_criticalities: tuple[str, ...] = ("critical",)  # partner criticalities that count as high impact
    impact_import_share: float | None = 10.0  # percent of import volume from which a partner is high impact
    lane_volume_share: float | None = 15.0  # percent of volume from which a lane is high impact
    # Re-screening (MSC 3.7): months between assessments, per risk band
    reassess_months: dict[str, int] = field(default_factory=lambda: {Band.high.value: 12, Band.medium.value: 18,
                                                                      Band.low.value: 24})

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON values (lists for tuples), as stored in a configuration version and a snapshot."""
        out = dataclasses.asdict(self)
        for key, value in out.items():
            if isinstance(value, tuple):
                out[key] = list(value)
        return out

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> "RiskConfig":
        """A checked configuration from stored or typed values; missing keys take the defaults, unknown keys are
        refused. Raises ValidationError naming every problem."""
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValidationError(f"unknown setting(s): {', '.join(unknown)}")
        given = dict(values)
        for key in ("threat_categories", "impact_criticalities"):
            if key in given and given[key] is not None:
                given[key] = tuple(given[key])
        if "category_weights" in given:
            given["category_weights"] = {**cls().category_weights,
                                         **{str(k): v for k, v in (given["category_weights"] or {}).items()}}
        if "reassess_months" in given:
            given["reassess_months"] = {**cls().reassess_months, **(given["reassess_months"] or {})}
        if "threat_overrides" in given:
            overrides = given["threat_overrides"] or {}
            given["threat_overrides"] = {str(k).strip().upper(): v for k, v in overrides.items()}
        config = cls(**given)
        config.check()
        return config

    def replace(self, **changes: Any) -> "RiskConfig":
        """This configuration with some settings changed, checked."""
        return RiskConfig.from_dict({**self.to_dict(), **changes})

    def check(self) -> None:
        """Raise ValidationError listing every problem ("setting: what is wrong")."""
        problems = problems_of(self)
        if problems:
            raise ValidationError("; ".join(problems))


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value == value


def _whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def problems_of(config: RiskConfig) -> list[str]:
    """Every problem of a configuration, in words; empty when it is sound."""
    out: list[str] = []
    levels = [b.value for b in LEVELS]
    if not _whole(config.answer_max_age_months) or not 1 <= config.answer_max_age_months <= 60:
        out.append("answer age: a whole number of months from 1 to 60")
    weights = (config.must_unmet, config.must_partial, config.should_unmet, config.should_partial)
    if not all(_number(w) and 0 <= w <= 100 for w in weights):
        out.append("criterion weights: numbers from 0 to 100")
    elif not (config.must_unmet > config.must_partial > config.should_unmet >= config.should_partial):
        out.append("criterion weights: an unmet must must weigh more than a partial must, which must weigh more "
                   "than an unmet should, which weighs at least as much as a partial should")
    cats = config.category_weights
    if set(cats) != {str(c) for c in CATEGORY_NUMBERS} or not all(_number(w) and 0 <= w <= 10 for w in cats.values()):
        out.append("category weights: one number from 0 to 10 for each of the 12 MSC categories")
    elif not any(w > 0 for w in cats.values()):
        out.append("category weights: at least one category must count")
    if not (_number(config.medium_from) and _number(config.high_from) and
            0 < config.medium_from < config.high_from <= 100):
        out.append("vulnerability thresholds: Medium from more than 0 %, High from more than Medium, at most 100 %")
    if config.unmet_must_floor not in levels:
        out.append(f"unmet must floor: one of {', '.join(levels)}")
    for name, value in (("certificate credit", config.certificate_credit), ("incident raise", config.incident_raise),
                        ("other nodes", config.other_nodes_lower)):
        if not _whole(value) or not 0 <= value <= 2:
            out.append(f"{name}: 0, 1 or 2 bands")
    if config.threat_unknown_as is not None and config.threat_unknown_as not in levels:
        out.append(f"Unknown threat: one of {', '.join(levels)}")
    bad = [c for c in config.threat_categories if c not in THREAT_CATEGORIES]
    if bad or not config.threat_categories:
        out.append(f"threat categories: at least one of {', '.join(THREAT_CATEGORIES)}")
    for iso2, level in config.threat_overrides.items():
        if len(iso2) != 2 or not iso2.isalpha() or level not in levels:
            out.append(f"threat override {iso2}: a country code and one of {', '.join(levels)}")
    if not _number(config.rest_hours) or not 0 <= config.rest_hours <= 24 * 30:
        out.append("rest hours: from 0 to 720")
    if not isinstance(config.inherit_lane_threat, bool) or not isinstance(config.impact_raise, bool):
        out.append("switches: true or false")
    out += _matrix_problems(config.matrix)
    if any(c not in CRITICALITIES for c in config.impact_criticalities):
        out.append(f"impact criticalities: some of {', '.join(CRITICALITIES)}")
    for name, value in (("impact import share", config.impact_import_share),
                        ("lane volume share", config.lane_volume_share)):
        if value is not None and not (_number(value) and 0 < value <= 100):
            out.append(f"{name}: a percentage above 0 and at most 100, or none")
    months = config.reassess_months
    if set(months) != set(levels) or not all(_whole(m) and 1 <= m <= 60 for m in months.values()):
        out.append("reassessment: months from 1 to 60 for High, Medium and Low")
    elif not months[Band.high] <= months[Band.medium] <= months[Band.low]:
        out.append("reassessment: a riskier band is reassessed at least as often (High <= Medium <= Low months)")
    return out


def _matrix_problems(matrix: dict[str, dict[str, str]]) -> list[str]:
    levels = [b.value for b in LEVELS]
    if set(matrix) != set(levels) or any(set(row) != set(levels) for row in matrix.values()) or any(
            band not in levels for row in matrix.values() for band in row.values()):
        return ["risk matrix: a band (Low, Medium, High) for each threat and vulnerability band"]
    rank = {b: i for i, b in enumerate(levels)}
    for t in range(3):
        for v in range(3):
            here = rank[matrix[levels[t]][levels[v]]]
            if (t and rank[matrix[levels[t - 1]][levels[v]]] > here) or \
                    (v and rank[matrix[levels[t]][levels[v - 1]]] > here):
                return [f"risk matrix: risk must not fall as threat or vulnerability rises (threat {levels[t]}, "
                        f"vulnerability {levels[v]})"]
    return []


def active(*, session: Session) -> tuple[RiskConfig, int | None]:
    """The active configuration and its version (the defaults and None while none was saved)."""
    row = session.exec(select(RiskConfiguration).order_by(col(RiskConfiguration.version).desc())).first()
    if row is None:
        return RiskConfig(), None
    return RiskConfig.from_dict(row.settings), row.version


def save(*, session: Session, actor: Actor, config: RiskConfig, note: str = "") -> int:
    """Save the configuration as the next version, which becomes the active one (admins only; audited with what
    changed). Returns the new version number."""
    require_admin(actor)
    config.check()
    if len(note) > 500:
        raise ValidationError("note: at most 500 characters")
    before, version = active(session=session)
    newest = session.exec(select(func.max(RiskConfiguration.version))).one() or 0
    number = int(newest) + 1
    after = config.to_dict()
    session.add(RiskConfiguration(version=number, settings=after, note=note.strip(), saved_by=actor.username))
    changed = describe_changes(before, config)
    audit.record(session=session, actor=actor, action="update", entity="risk configuration", entity_id=number,
                 summary=f"Saved scoring configuration version {number}"
                         + (f" (was {version})" if version else " (replaces the defaults)")
                         + (f": {'; '.join(changed)}" if changed else ": no change of settings"),
                 before=before.to_dict(), after=after)
    session.flush()
    return number


def versions(*, session: Session) -> list[dict[str, Any]]:
    """Every saved version, newest first: version, saved_by, saved_at, note, settings."""
    rows = session.exec(select(RiskConfiguration).order_by(col(RiskConfiguration.version).desc())).all()
    return [{"version": r.version, "saved_by": r.saved_by, "saved_at": r.saved_at, "note": r.note,
             "settings": r.settings} for r in rows]


LABELS = {
    "answer_max_age_months": "answer age (months)", "must_unmet": "weight of an unmet must",
    "must_partial": "weight of a partial must", "should_unmet": "weight of an unmet should",
    "should_partial": "weight of a partial should", "category_weights": "category weights",
    "medium_from": "vulnerability Medium from (%)", "high_from": "vulnerability High from (%)",
    "unmet_must_floor": "an unmet must makes vulnerability at least",
    "certificate_credit": "certificate credit (bands)",
    "incident_raise": "open incident raise (bands)",
    "threat_unknown_as": "Unknown threat counts as", "threat_categories": "threat categories counted",
    "threat_overrides": "threat overrides", "rest_hours": "cargo at rest from (hours)",
    "other_nodes_lower": "other lane nodes lower by (bands)", "inherit_lane_threat": "partners inherit lane threat",
    "matrix": "risk matrix", "impact_raise": "impact raises risk", "impact_criticalities": "high-impact criticalities",
    "impact_import_share": "high-impact import share (%)", "lane_volume_share": "high-impact lane volume (%)",
    "reassess_months": "reassessment interval (months)",
}


def describe_changes(before: RiskConfig, after: RiskConfig) -> list[str]:
    """What differs between two configurations, in words ("weight of an unmet must 10 → 12")."""
    old, new = before.to_dict(), after.to_dict()
    out = []
    for key, label in LABELS.items():
        if old[key] == new[key]:
            continue
        if isinstance(new[key], dict) and isinstance(old[key], dict):
            parts = []
            for sub in dict.fromkeys([*old[key], *new[key]]):
                a, b = old[key].get(sub), new[key].get(sub)
                if a != b:
                    parts.append(f"{sub}: {_short(a)} → {_short(b)}")
            out.append(f"{label} ({', '.join(parts)})")
        else:
            out.append(f"{label} {_short(old[key])} → {_short(new[key])}")
    return out


def _short(value: Any) -> str:
    if value is None:
        return "none"
    if isinstance(value, list):
        return ", ".join(map(str, value)) or "none"
    if isinstance(value, dict):
        return "; ".join(f"{k}: {_short(v)}" for k, v in value.items())
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
