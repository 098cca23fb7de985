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


BAND_COLORS = {"High": "#dc2626", "Medium": "#f59e0b", "Low": "#16a34a"}


def share_trend(frame: pd.DataFrame, *, x: str, series: dict[str, str], title: str = "") -> alt.Chart:
    """Lines of shares (0-1) over `x` in its order (e.g. cycles oldest first), one per column of `series`
    (column -> label), with points and the value as a percentage in the tooltip."""
    long = frame.melt(id_vars=[x], value_vars=list(series), var_name="measure", value_name="share")
    long["measure"] = long["measure"].map(series)
    long = long.dropna(subset=["share"])
    order = list(dict.fromkeys(frame[x]))
    return alt.Chart(long).mark_line(point=True).encode(
        x=alt.X(f"{x}:N").sort(order).title(None).axis(labelAngle=0, labelLimit=160),
        y=alt.Y("share:Q").axis(format="%").scale(domain=[0, 1]).title(title or None),
        color=alt.Color("measure:N").title(None).legend(orient="bottom"),
        tooltip=[alt.Tooltip(f"{x}:N", title=labels.label(x)), alt.Tooltip("measure:N", title="measure"),
                 alt.Tooltip("share:Q", title="share", format=".0%")],
    ).properties(height=240)


def band_trend(frame: pd.DataFrame, *, x: str, columns: dict[str, str], title: str = "") -> alt.Chart:
    """Counts per risk band over `x` (e.g. snapshots oldest first); `columns` maps a column to its band."""
    long = frame.melt(id_vars=[x], value_vars=list(columns), var_name="column", value_name="count")
    long["band"] = long["column"].map(columns)
    order = list(dict.fromkeys(frame[x]))
    return alt.Chart(long).mark_line(point=True).encode(
        x=alt.X(f"{x}:N").sort(order).title(None).axis(labelAngle=0, labelLimit=160),
        y=alt.Y("count:Q").axis(count_axis(title or "count")),
        color=alt.Color("band:N").scale(domain=list(BAND_COLORS), range=list(BAND_COLORS.values())).title(None)
        .legend(orient="bottom"),
        tooltip=[alt.Tooltip(f"{x}:N", title=labels.label(x)), alt.Tooltip("band:N", title="risk"),
                 alt.Tooltip("count:Q", title=title or "count")],
    ).properties(height=240)


def band_bars(frame: pd.DataFrame, *, title: str) -> alt.Chart:
    """Now and before per risk band (frame: band, now, before, move), side by side, with the move in the tooltip."""
    long = frame.melt(id_vars=["band", "move"], value_vars=["before", "now"], var_name="when", value_name="count")
    long = long.dropna(subset=["count"])
    long["when"] = long["when"].map({"before": "previous snapshot", "now": "latest snapshot"})
    return alt.Chart(long).mark_bar().encode(
        y=alt.Y("band:N").sort(list(BAND_COLORS)).title(None),
        yOffset=alt.YOffset("when:N").sort(["previous snapshot", "latest snapshot"]),
        x=alt.X("count:Q").axis(count_axis(title)),
        color=alt.Color("band:N").scale(domain=list(BAND_COLORS), range=list(BAND_COLORS.values())).legend(None),
        opacity=alt.Opacity("when:N").scale(domain=["previous snapshot", "latest snapshot"], range=[0.4, 1.0])
        .legend(orient="bottom").title(None),
        tooltip=[alt.Tooltip("band:N", title="risk"), alt.Tooltip("when:N", title="snapshot"),
                 alt.Tooltip("count:Q", title=title), alt.Tooltip("move:Q", title="move since previous")],
    ).properties(height=alt.Step(16))
