"""Quiet periods per country: days on which messages to that country's partners wait.

Three sources, merged:
1. public holidays of the country, from the ``holidays`` package (one period per run of consecutive holidays);
2. widenings where factories close for longer than the official days (WIDENINGS): Chinese New Year (about three
   weeks around the Spring Festival), Vietnam's Tết (about two weeks), and Mexico's Semana Santa (Palm Sunday to
   Easter Sunday, derived from Easter: the package has no holiday for it in Mexico);
3. periods an admin adds for a country (QuietPeriod), e.g. a region's factory shutdown.

Only messages to partners wait (services.followups.engine); the team's own messages do not. A partner whose due date
falls in or just after a quiet period can have it moved past the period in one action (``extend_due_dates``).
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache

import holidays
import pandas as pd
from dateutil.easter import easter
from sqlalchemy import update
from sqlmodel import Session, col, delete, select

from models import Assignment, Country, Cycle, Partner, QuietPeriod
from models.collection import CycleStatus
from models.common import utcnow
from services.collection import states
from services.core import audit
from services.core.permissions import Actor, ValidationError, require_admin, require_write
from services.followups import settings as followup_settings
from services.followups.dates import assignment_due

PERIOD_COLUMNS = ["country_iso2", "name", "starts_on", "ends_on", "source", "period_id"]
EXTENSION_COLUMNS = ["assignment_id", "partner_id", "partner_code", "legal_name", "cycle", "status", "due_date",
                     "new_due_date"]


class Source:
    holidays = "public holidays"
    widened = "factory closure"
    admin = "added by an admin"


@dataclass(frozen=True)
class Period:
    country_iso2: str
    name: str
    starts_on: date
    ends_on: date
    source: str
    period_id: int | None = None


def _lunar_new_year(names: Iterable[str]) -> Callable[[dict[date, str]], date | None]:
    """The first day of the lunar new year in a country's holiday list, found by the package's English name."""
    def find(days: dict[date, str]) -> date | None:
        found = sorted(d for d, name in days.items() if any(n == name or n in name for n in names)
                       and "Eve" not in name)
        return found[0] if found else None
    return find


# country -> (name, the holiday the closure is built around, days before, days after, basis).
WIDENINGS: dict[str, tuple[str, Callable[[int, dict[date, str]], date | None], int, int, str]] = {
    "CN": ("Chinese New Year factory closure",
           lambda year, days: _lunar_new_year(("Spring Festival", "Chinese New Year"))(days), 7, 13,
           "Factories close about three weeks around the Spring Festival (workers travel home); the official "
           "holiday is about a week."),
    "VN": ("Tết factory closure", lambda year, days: _lunar_new_year(("Lunar New Year",))(days), 7, 7,
           "Factories close about two weeks around Tết; the official holiday is five to seven days."),
    "MX": ("Semana Santa", lambda year, days: easter(year), 7, 0,
           "Holy Week, Palm Sunday to Easter Sunday, derived from Easter: many plants close or run skeleton "
           "crews; the holidays package lists no holiday for it in Mexico."),
}


@cache
def _holidays(country: str, year: int) -> dict[date, str]:
    """The country's public holidays in a year, by the package's English names where it has them."""
    if country not in holidays.list_supported_countries():
        return {}
    try:
        days = holidays.country_holidays(country, years=year, language="en_US")
    except (NotImplementedError, KeyError):
        days = holidays.country_holidays(country, years=year)
    return dict(days.items())


@cache
def _year_periods(country: str, year: int, public_holidays: bool) -> tuple[Period, ...]:
    """The holiday and widened periods of a country that start in a year (none when public holidays are off)."""
    if not public_holidays:
        return ()
    days = _holidays(country, year)
    out: list[Period] = []
    widened = WIDENINGS.get(country)
    if widened:
        name, anchor, before, after, _ = widened
        day = anchor(year, days)
        if day is not None:
            out.append(Period(country, name, day - timedelta(days=before), day + timedelta(days=after), Source.widened))
    run: list[tuple[date, str]] = []
    for day, name in sorted(days.items()) + [(date.max, "")]:
        if run and day != date.max and day - run[-1][0] <= timedelta(days=1):
            run.append((day, name))
            continue
        if run:
            names = list(dict.fromkeys(n.replace(" (observed)", "") for _, n in run))
            out.append(Period(country, "; ".join(names), run[0][0], run[-1][0], Source.holidays))
        run = [(day, name)]
    return tuple(out)


def holiday_periods(country: str, start: date, end: date, *, public_holidays: bool = True) -> list[Period]:
    """The country's public-holiday and widened periods that overlap start..end."""
    found = []
    for year in range(start.year - 1, end.year + 1):
        found += [p for p in _year_periods(country, year, public_holidays) if p.starts_on <= end and p.ends_on >= start]
    return found


def admin_periods(*, session: Session, start: date, end: date, countries: Iterable[str] | None = None
                  ) -> list[Period]:
    """The periods admins added that overlap start..end (of the countries, when given)."""
    stmt = select(QuietPeriod).where(QuietPeriod.starts_on <= end, QuietPeriod.ends_on >= start)
    if countries is not None:
        stmt = stmt.where(col(QuietPeriod.country_iso2).in_(sorted(set(countries))))
    return [Period(p.country_iso2, p.name, p.starts_on, p.ends_on, Source.admin, p.id)
            for p in session.exec(stmt.order_by(QuietPeriod.starts_on))]


def partner_countries(*, session: Session) -> list[str]:
    """The countries of the active partners."""
    return sorted(session.exec(select(Partner.country_iso2).where(Partner.status == "active").distinct()).all())


def periods(*, session: Session, start: date, end: date, countries: Iterable[str] | None = None,
            public_holidays: bool | None = None) -> pd.DataFrame:
    """Every quiet period overlapping start..end for the countries (default: the active partners'), by start."""
    countries = sorted(set(countries)) if countries is not None else partner_countries(session=session)
    if public_holidays is None:
        public_holidays = followup_settings.current(session=session).public_holidays
    found = admin_periods(session=session, start=start, end=end, countries=countries)
    for country in countries:
        found += holiday_periods(country, start, end, public_holidays=public_holidays)
    frame = pd.DataFrame([p.__dict__ for p in found], columns=PERIOD_COLUMNS)
    return frame.sort_values(["starts_on", "country_iso2"], ignore_index=True)


def quiet_on(*, session: Session, day: date, countries: Iterable[str], public_holidays: bool = True
             ) -> dict[str, str]:
    """Country -> the quiet period it is in on the day (its name), for those of the countries that are."""
    countries = sorted({c for c in countries if c})
    out: dict[str, str] = {}
    for p in admin_periods(session=session, start=day, end=day, countries=countries):
        out.setdefault(p.country_iso2, f"{p.name} (until {p.ends_on.isoformat()})")
    for country in countries:
        if country in out:
            continue
        for p in holiday_periods(country, day, day, public_holidays=public_holidays):
            out[country] = f"{p.name} (until {p.ends_on.isoformat()})"
            break
    return out


def add_period(*, session: Session, actor: Actor, country_iso2: str, name: str, starts_on: date,
               ends_on: date) -> QuietPeriod:
    """Add a quiet period for a country (admins only): 1 to 92 days, named."""
    require_admin(actor)
    country = str(country_iso2 or "").strip().upper()
    name = " ".join(str(name or "").split())
    problems = []
    if session.get(Country, country) is None:
        problems.append(f"country: '{country}' is not an ISO 3166 alpha-2 country code")
    if not name:
        problems.append("name: say what the period is, e.g. \"Plant shutdown\"")
    elif len(name) > 120:
        problems.append("name: longer than 120 characters")
    if not isinstance(starts_on, date) or not isinstance(ends_on, date):
        problems.append("dates: give the first and the last day")
    elif ends_on < starts_on:
        problems.append(f"dates: the last day {ends_on.isoformat()} is before the first {starts_on.isoformat()}")
    elif (ends_on - starts_on).days > 91:
        problems.append("dates: a quiet period is at most 92 days; messages must not wait for a season")
    if problems:
        raise ValidationError("; ".join(problems))
    period = QuietPeriod(country_iso2=country, name=name, starts_on=starts_on, ends_on=ends_on,
                         created_by=actor.username)
    session.add(period)
    session.flush()
    audit.record(session=session, actor=actor, action="create", entity="quiet period", entity_id=period.id,
                 summary=f"Quiet period for {country}: {name}, {starts_on.isoformat()} to {ends_on.isoformat()}",
                 after={"country": country, "name": name, "starts_on": starts_on, "ends_on": ends_on})
    return period


def remove_period(*, session: Session, actor: Actor, period_id: int) -> None:
    """Remove a quiet period an admin added (admins only)."""
    require_admin(actor)
    period = session.get(QuietPeriod, period_id)
    if period is None:
        raise ValidationError(f"No quiet period with id {period_id} (public holidays cannot be removed).")
    before = {"country": period.country_iso2, "name": period.name, "starts_on": period.starts_on,
              "ends_on": period.ends_on}
    session.exec(delete(QuietPeriod).where(QuietPeriod.id == period_id))
    audit.record(session=session, actor=actor, action="delete", entity="quiet period", entity_id=period_id,
                 summary=f"Removed the quiet period {before['name']} of {before['country']}", before=before)


def extension_candidates(*, session: Session, country_iso2: str, starts_on: date, ends_on: date,
                         days: int | None = None) -> pd.DataFrame:
    """The open questionnaires of the country's partners whose due date falls in the period or less than `days`
    after it (default: the setting), with the new due date: the period's last day plus `days`."""
    if days is None:
        days = followup_settings.current(session=session).extension_days
    new_due = ends_on + timedelta(days=days)
    due = assignment_due()
    stmt = (select(Assignment.id, Assignment.partner_id, Partner.partner_code, Partner.legal_name, Cycle.name,
                   Assignment.status, due)
            .join(Partner, col(Partner.id) == Assignment.partner_id)
            .join(Cycle, col(Cycle.id) == Assignment.cycle_id)
            .where(Cycle.status == CycleStatus.open, Partner.country_iso2 == country_iso2.upper(),
                   col(Assignment.status).not_in(sorted(states.FINISHED)), due >= starts_on, due < new_due)
            .order_by(Partner.partner_code))
    frame = pd.DataFrame([(*r, new_due) for r in session.exec(stmt).all()], columns=EXTENSION_COLUMNS)
    return frame


def extend_due_dates(*, session: Session, actor: Actor, country_iso2: str, starts_on: date, ends_on: date,
                     days: int | None = None) -> int:
    """Move the due dates of extension_candidates to the period's last day plus `days`, in one UPDATE; audited as
    one event. Reminders then follow the new due date. Returns how many moved."""
    require_write(actor)
    if not isinstance(starts_on, date) or not isinstance(ends_on, date) or ends_on < starts_on:
        raise ValidationError("period: give a first day and a last day on or after it")
    frame = extension_candidates(session=session, country_iso2=country_iso2, starts_on=starts_on, ends_on=ends_on,
                                 days=days)
    if frame.empty:
        return 0
    new_due = frame["new_due_date"].iloc[0]
    ids = [int(i) for i in frame["assignment_id"]]
    session.exec(update(Assignment).where(col(Assignment.id).in_(ids))
                 .values(due_date=new_due, updated_at=utcnow()))
    codes = frame["partner_code"].tolist()
    audit.record(session=session, actor=actor, action="extend", entity="assignment",
                 entity_id=str(ids[0]) if len(ids) == 1 else f"{len(ids)} assignments",
                 summary=f"Moved the due date of {len(ids)} questionnaire(s) of {country_iso2.upper()} partners to "
                         f"{new_due.isoformat()} (quiet period {starts_on.isoformat()} to {ends_on.isoformat()}): "
                         f"{', '.join(codes[:5])}{' and more' if len(codes) > 5 else ''}",
                 after={"assignment_ids": ids, "due_date": new_due,
                        "before": {str(a): d.isoformat() for a, d in zip(ids, frame["due_date"], strict=True)}})
    return len(ids)
