"""The offline world map (seed/world/countries-110m.json, Natural Earth via world-atlas; see its NOTICE.md)."""

import json
from functools import cache

import altair as alt

from services.core.config import ROOT

WORLD_FILE = ROOT / "seed" / "world" / "countries-110m.json"
# Asia to the Americas without cutting the Pacific: the map's centre meridian is 150° E.
PACIFIC_ROTATION = [-150, 0, 0]


@cache
def topology() -> dict:
    return json.loads(WORLD_FILE.read_text(encoding="utf-8"))


def countries() -> alt.InlineData:
    """The country outlines inline, so the browser never fetches a map from the internet."""
    return alt.InlineData(values=topology(), format=alt.DataFormat(type="topojson", feature="countries"))
