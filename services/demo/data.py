"""The demo's literal data, read from seed/demo/: the partner mix, cities, company and people names, comments.

The files are data a user may adapt (another industry, other countries); the generator (services.demo.generator)
draws from them in file order, so the same files and seed give the same demo.
"""

import csv
import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from models.collection import AnswerValue, AssignmentStatus

FOLDER = Path(__file__).resolve().parents[2] / "seed" / "demo"


@dataclass(frozen=True)
class Style:
    """How companies of one country are named and addressed."""

    first: tuple[str, ...]  # brand = a first word and optionally a second, or a surname and a family suffix
    second: tuple[str, ...]
    products: tuple[str, ...]  # what its manufacturers make, in the local business language
    makers: tuple[str, ...]  # name templates of manufacturers
    form: str  # legal form appended to service companies' names
    address: str
    streets: tuple[str, ...]
    joined: bool = False  # Chinese brands join two syllables: Hua + xin = Huaxin
    surnames: tuple[str, ...] = ()
    family: tuple[str, ...] = ("",)


@dataclass(frozen=True)
class DemoData:
    mix: dict[str, float]  # entity type -> share of partners
    where: dict[str, dict[str, float]]  # entity type -> country -> weight
    criticality: dict[str, tuple[float, float, float, float]]  # entity type -> low, medium, high, critical
    ctpat_odds: dict[str, float]
    agent_factories: dict[str, tuple[str, ...]]
    funnel: dict[AssignmentStatus, float]  # status -> weight
    spanish: frozenset[str]  # countries whose partners answer in Spanish
    chinese: frozenset[str]
    cities: dict[str, tuple[tuple[str, float, float], ...]]  # country -> (city, latitude, longitude)
    styles: dict[str, Style]
    services: dict[str, tuple[str, ...]]
    services_es: dict[str, tuple[str, ...]]
    people: dict[str, tuple[tuple[str, ...], tuple[str, ...], bool]]  # given names, surnames, surname first?
    people_of: dict[str, str]
    gaps: dict[str, dict[int, tuple[tuple[str, ...], tuple[str, ...]]]]  # language -> category -> (partial, no)
    return_notes: tuple[str, ...]
    not_applicable: dict[str, tuple[str, ...]]  # language -> why a must criterion does not apply at the site
    company: dict[str, str]  # the importer's profile: legal_name, primary_contact, primary_contact_email


@cache
def demo_data(folder: Path = FOLDER) -> DemoData:
    """Everything the demo generator draws from, read once."""
    mix, names, people, comments, company = (_toml(folder / f"{name}.toml")
                                              for name in ("mix", "names", "people", "comments", "company"))
    surnames = {key: tuple(values) for key, values in names["surnames"].items()}

    def listed(value: str | list[str]) -> tuple[str, ...]:
        return surnames[value] if isinstance(value, str) else tuple(value)

    styles = {}
    for country, style in names["styles"].items():
        own = listed(style.get("surnames", []))
        family = tuple(part for value in style.get("family", [""]) for part in (own if value == "*" else (value,)))
        styles[country] = Style(
            first=tuple(style["first"]), second=tuple(style["second"]), products=tuple(style["products"]),
            makers=tuple(style["makers"]), form=style["form"], address=style["address"],
            streets=tuple(style["streets"]), joined=style.get("joined", False), surnames=own, family=family)
    cities: dict[str, list[tuple[str, float, float]]] = {}
    with (folder / "cities.csv").open(encoding="utf-8", newline="") as file:
        for row in csv.DictReader(file):
            cities.setdefault(row["country_iso2"], []).append(
                (row["city"], float(row["latitude"]), float(row["longitude"])))
    return DemoData(
        mix=dict(mix["share"]), where={entity: dict(weights) for entity, weights in mix["where"].items()},
        criticality={entity: tuple(odds) for entity, odds in mix["criticality"].items()},
        ctpat_odds=dict(mix["ctpat_odds"]),
        agent_factories={country: tuple(where) for country, where in mix["agent_factories"].items()},
        funnel={AssignmentStatus(status): weight for status, weight in mix["funnel"].items()},
        spanish=frozenset(mix["languages"]["es"]),
        chinese=frozenset(mix["languages"]["zh"]),
        cities={country: tuple(rows) for country, rows in cities.items()},
        styles=styles,
        services={entity: tuple(values) for entity, values in names["services"].items()},
        services_es={entity: tuple(values) for entity, values in names["services_es"].items()},
        people={key: (tuple(person["given"]), listed(person["surnames"]), person["surname_first"])
                for key, person in people["people"].items()},
        people_of=dict(people["people_of"]),
        gaps={language: {int(category): (tuple(texts[AnswerValue.partial]), tuple(texts[AnswerValue.no]))
                         for category, texts in categories.items()}
              for language, categories in comments["gaps"].items()},
        return_notes=tuple(comments["return_notes"]),
        not_applicable={language: tuple(notes) for language, notes in comments["not_applicable"].items()},
        company=dict(company),
    )


def _toml(path: Path) -> dict:
    with path.open("rb") as file:
        return tomllib.load(file)
