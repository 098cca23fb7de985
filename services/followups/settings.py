"""The follow-up engine's settings: one row of FollowupSettings (the defaults while there is none)."""

from dataclasses import asdict, dataclass, fields

from sqlmodel import Session, select

from models import FollowupSettings
from models.common import utcnow
from models.followups import FollowupKind
from services.core import audit
from services.core.permissions import Actor, ValidationError, require_admin

# (field, label, lowest, highest) of the whole-number settings.
_NUMBERS = (
    ("escalate_after_days", "escalate after (days overdue)", 1, 120),
    ("reverification_days", "re-verification warning (days before)", 1, 90),
    ("weekly_cap", "messages per partner per week", 1, 20),
    ("max_attempts", "tries before giving up", 1, 20),
    ("retry_minutes", "first retry after (minutes)", 1, 1440),
    ("extension_days", "days added after a quiet period", 1, 60),
)
# (field, label, lowest, highest) of the lists of days before a date.
_DAY_LISTS = (
    ("reminder_days", "reminders (days before the due date)", 0, 90),
    ("certificate_expiry_days", "certificate expiry warnings (days before)", 0, 365),
    ("annual_review_days", "annual review (days before the anniversary)", 0, 90),
    ("revalidation_days", "revalidation (days before it is due)", 0, 730),
)


@dataclass(frozen=True)
class Settings:
    """What the rules and the engine read."""

    reminder_days: tuple[int, ...] = (14, 7, 2)
    escalate_after_days: int = 7
    certificate_expiry_days: tuple[int, ...] = (60, 30, 7)
    reverification_days: int = 14
    annual_review_days: tuple[int, ...] = (90, 30, 7, 0)  # the window opens 90 days before (CBP's ASPR)
    revalidation_days: tuple[int, ...] = (365, 180, 90, 30)
    weekly_cap: int = 3
    max_attempts: int = 6
    retry_minutes: int = 10  # doubles with each failed try
    public_holidays: bool = True
    extension_days: int = 14
    disabled_kinds: frozenset[FollowupKind] = frozenset()

    def enabled(self, kind: FollowupKind) -> bool:
        return kind not in self.disabled_kinds


def _days(text: str) -> tuple[int, ...]:
    return tuple(sorted({int(p) for p in str(text).replace(";", ",").split(",") if p.strip()}, reverse=True))


def _kinds(text: str) -> frozenset[FollowupKind]:
    return frozenset(FollowupKind(k.strip()) for k in str(text).split(",") if k.strip() in set(FollowupKind))


def current(*, session: Session) -> Settings:
    """The saved settings, or the defaults."""
    row = session.exec(select(FollowupSettings).order_by(FollowupSettings.id)).first()
    if row is None:
        return Settings()
    values = {f.name: getattr(row, f.name) for f in fields(Settings)}
    for name, *_ in _DAY_LISTS:
        values[name] = _days(values[name])
    values["disabled_kinds"] = _kinds(values["disabled_kinds"])
    return Settings(**values)


def check(values: dict) -> Settings:
    """The values checked as Settings; ValidationError lists every problem, each naming its setting."""
    problems = []
    out = asdict(Settings())
    out.update({k: v for k, v in values.items() if k in out})
    for name, label, low, high in _NUMBERS:
        value = out[name]
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            problems.append(f"{label}: {value!r} is not a whole number from {low} to {high}")
    for name, label, low, high in _DAY_LISTS:
        value = out[name]
        try:
            days = _days(value) if isinstance(value, str) else tuple(sorted({int(v) for v in value}, reverse=True))
        except (TypeError, ValueError):
            problems.append(f"{label}: '{value}' is not a list of whole numbers such as 14, 7, 2")
            continue
        if not days or any(not low <= d <= high for d in days):
            problems.append(f"{label}: give one or more days from {low} to {high}, e.g. 14, 7, 2")
        out[name] = days
    kinds = out["disabled_kinds"]
    unknown = [k for k in kinds if k not in set(FollowupKind)]
    if unknown:
        problems.append(f"switched off: '{unknown[0]}' is not a kind of follow-up")
    else:
        out["disabled_kinds"] = frozenset(FollowupKind(k) for k in kinds)
    out["public_holidays"] = bool(out["public_holidays"])
    if problems:
        raise ValidationError("; ".join(problems))
    return Settings(**out)


def _stored(settings: Settings) -> dict:
    values = asdict(settings)
    for name, *_ in _DAY_LISTS:
        values[name] = ",".join(str(d) for d in values[name])
    values["disabled_kinds"] = ",".join(sorted(values["disabled_kinds"]))
    return values


def save(*, session: Session, actor: Actor, values: dict) -> Settings:
    """Change the settings (admins only; only the given ones change); audited with before and after."""
    require_admin(actor)
    before = current(session=session)
    after = check({**asdict(before), **values})
    row = session.exec(select(FollowupSettings).order_by(FollowupSettings.id)).first() or FollowupSettings()
    for name, value in _stored(after).items():
        setattr(row, name, value)
    row.updated_by, row.updated_at = actor.username, utcnow()
    session.add(row)
    session.flush()
    audit.record(session=session, actor=actor, action="update", entity="follow-up settings", entity_id=row.id,
                 summary="Changed the follow-up settings", before=_stored(before), after=_stored(after))
    return after
