"""The choropleth of the threat register on the offline world map (a Vega-Lite spec, built from a frame)."""

import altair as alt
import pandas as pd

from services.lanes.maps import LEVEL_COLORS, LEVELS
from services.places import world


def register_view(table: pd.DataFrame, overall: pd.DataFrame, category: str | None) -> pd.DataFrame:
    """One row per country for a category (or the overall when None): numeric, country, iso2, level, status, rule,
    source, as_of, stale, is_demo."""
    countries = table[table["region_code"] == ""]
    if category:
        rows = countries[countries["category"] == category]
        return rows[["iso2", "numeric", "country", "level", "status", "rule", "source", "as_of", "stale", "is_demo"]] \
            .reset_index(drop=True)
    first = countries.drop_duplicates("iso2")[["iso2", "numeric", "country"]]
    worst = overall[overall["region_code"] == ""][["iso2", "overall"]].rename(columns={"overall": "level"})
    flags = countries.groupby("iso2").agg(stale=("stale", "any"), is_demo=("is_demo", "any"))
    view = first.merge(worst, on="iso2").merge(flags, on="iso2")
    view["status"] = "overall"
    view["rule"] = "Worst category; 'Not assessed' categories are left out"
    view["source"], view["as_of"] = "", None
    return view[["iso2", "numeric", "country", "level", "status", "rule", "source", "as_of", "stale", "is_demo"]]


def choropleth_spec(view: pd.DataFrame, *, title: str, height: int = 420) -> dict:
    """Countries coloured by level, with a tooltip naming the rule, the source and the date."""
    shown = view.assign(as_of=view["as_of"].astype(str).replace({"None": "", "NaT": "", "nan": ""}),
                        labels=[", ".join(w for w, on in (("stale", s), ("demo", d)) if on)
                                for s, d in zip(view["stale"], view["is_demo"], strict=True)])
    records = shown[["numeric", "country", "level", "status", "rule", "source", "as_of", "labels"]].to_dict("records")
    base = alt.Chart(alt.Data(name="world", format=alt.DataFormat(type="topojson", feature="countries"))) \
        .mark_geoshape(fill="#f3f4f6", stroke="white", strokeWidth=0.5)
    shaded = alt.Chart(alt.Data(name="world", format=alt.DataFormat(type="topojson", feature="countries"))) \
        .mark_geoshape(stroke="white", strokeWidth=0.5).transform_lookup(
            lookup="id", from_=alt.LookupData(data=alt.Data(name="threat_levels"), key="numeric",
                                              fields=["country", "level", "status", "rule", "source", "as_of",
                                                      "labels"])) \
        .transform_filter("isValid(datum.level)").encode(
            color=alt.Color("level:N", scale=alt.Scale(domain=LEVELS, range=LEVEL_COLORS), title=title),
            tooltip=[alt.Tooltip("country:N"), alt.Tooltip("level:N"), alt.Tooltip("status:N"),
                     alt.Tooltip("rule:N"), alt.Tooltip("source:N"), alt.Tooltip("as_of:N", title="as of"),
                     alt.Tooltip("labels:N", title="labelled")])
    spec = alt.layer(base, shaded).project(type="equalEarth").properties(height=height).to_dict(validate=False)
    spec["datasets"] = {"world": world.topology(), "threat_levels": records}
    return spec
