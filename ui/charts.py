"""Altair charts built from DataFrames (pure functions, so tests can inspect chart.to_dict())."""

import json
from functools import cache

import altair as alt
import pandas as pd

from services.reference.loader import SEED
from ui import labels


@cache
def _world() -> dict:
    return json.loads((SEED / "world" / "countries-110m.json").read_text(encoding="utf-8"))


def world_choropleth(frame: pd.DataFrame, *, value: str, title: str, scheme: str = "blues") -> alt.Chart:
    """Countries coloured by `value`; frame has columns numeric (ISO numeric as text), country and value."""
    countries = alt.InlineData(values=_world(), format=alt.DataFormat(type="topojson", feature="countries"))
    base = alt.Chart(countries).mark_geoshape(fill="#e5e7eb", stroke="white", strokeWidth=0.5)
    lookup = frame[["numeric", "country", value]]
    shaded = (
        alt.Chart(countries)
        .mark_geoshape(stroke="white", strokeWidth=0.5)
        .transform_lookup(lookup="id", from_=alt.LookupData(lookup, key="numeric", fields=["country", value]))
        .transform_filter(f"isValid(datum['{value}'])")
        .encode(
            color=alt.Color(f"{value}:Q").scale(scheme=scheme, type="sqrt").title(title),
            tooltip=[alt.Tooltip("country:N", title="Country"), alt.Tooltip(f"{value}:Q", title=title)],
        )
    )
    return (base + shaded).project(type="equalEarth").properties(height=380)


def count_axis(title: str) -> alt.Axis:
    """The axis of a count (partners, questionnaires): whole-number ticks only, never "0.2 partners"."""
    return alt.Axis(title=title, tickMinStep=1, format="d")


def bar(frame: pd.DataFrame, *, category: str, value: str, color: str | None = None, title: str = "") -> alt.Chart:
    """Horizontal bars of a count per category, sorted by the count."""
    encoding = {
        "y": alt.Y(f"{category}:N").sort("-x").title(None).axis(labelLimit=320),
        "x": alt.X(f"sum({value}):Q").axis(count_axis(title or value)),
        "tooltip": [alt.Tooltip(f"{category}:N", title=labels.label(category)),
                    alt.Tooltip(f"sum({value}):Q", title=title or value)],
    }
    if color:
        encoding["color"] = alt.Color(f"{color}:N").title(labels.label(color))
    return alt.Chart(frame).mark_bar().encode(**encoding).properties(height=alt.Step(22))


def world_categories(frame: pd.DataFrame, *, category: str, title: str, colors: dict[str, str],
                     tooltip: list[str]) -> alt.Chart:
    """Countries coloured by a category (in the order and colours of `colors`); frame has columns numeric (ISO
    numeric as text), country, the category and the tooltip columns. Other countries stay grey."""
    countries = alt.InlineData(values=_world(), format=alt.DataFormat(type="topojson", feature="countries"))
    base = alt.Chart(countries).mark_geoshape(fill="#e5e7eb", stroke="white", strokeWidth=0.5)
    fields = list(dict.fromkeys(["country", category, *tooltip]))
    shaded = (
        alt.Chart(countries)
        .mark_geoshape(stroke="white", strokeWidth=0.5)
        .transform_lookup(lookup="id", from_=alt.LookupData(frame[["numeric", *fields]], key="numeric",
                                                             fields=fields))
        .transform_filter(f"isValid(datum['{category}'])")
        .encode(
            color=alt.Color(f"{category}:N").scale(domain=list(colors), range=list(colors.values())).title(title)
            .legend(labelLimit=320),
            tooltip=[alt.Tooltip(f"{f}:N") for f in fields],
        )
    )
    return (base + shaded).project(type="equalEarth").properties(height=380)


def stacked_bar(frame: pd.DataFrame, *, category: str, part: str, value: str, colors: dict[str, str],
                title: str = "", tooltip: list | None = None) -> alt.Chart:
    """Horizontal bars of `value` per `category`, stacked by `part` (in the order and colours of `colors`), the
    biggest total first; `tooltip` adds columns to the hover text."""
    order = frame.groupby(category)[value].sum().sort_values(ascending=False).index.tolist()
    return alt.Chart(frame).mark_bar().encode(
        y=alt.Y(f"{category}:N").sort(order).title(None).axis(labelLimit=320),
        x=alt.X(f"sum({value}):Q").title(title or value),
        color=alt.Color(f"{part}:N").scale(domain=list(colors), range=list(colors.values())).title(None)
        .legend(orient="bottom"),
        order=alt.Order(f"{part}_order:Q"),
        tooltip=[alt.Tooltip(f"{category}:N"), alt.Tooltip(f"{part}:N"), alt.Tooltip(f"{value}:Q", title=title),
                 *(t if isinstance(t, alt.Tooltip) else alt.Tooltip(t) for t in tooltip or [])],
    ).transform_calculate(**{f"{part}_order": f"indexof({list(colors)!r}, datum['{part}'])"}).properties(
        height=alt.Step(22))
