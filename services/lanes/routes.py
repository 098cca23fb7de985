"""Sea routes for ocean legs, computed offline by `searoute` (a maritime network) and kept in the database.

A route is keyed by its two ends rounded to 3 decimals (about 100 m), so moving a place or site gives a new key
instead of a stale path. Routes are computed when lanes are saved or imported; map reads only look them up, and draw
a straight leg (marked as such) where none is stored yet.
"""

import logging
from functools import lru_cache

import pandas as pd
from sqlalchemy import insert, tuple_
from sqlmodel import Session, select

from models import SeaRoute
from models.common import utcnow
from models.lanes import TransportMode

log = logging.getLogger(__name__)
ENDS = ["from_lon", "from_lat", "to_lon", "to_lat"]
SEA_MODES = (TransportMode.ocean, TransportMode.barge)


def legs(nodes: pd.DataFrame) -> pd.DataFrame:
    """Consecutive located nodes of each lane: lane_id, seq and to_seq, mode, the two ends' coordinates.

    A node without coordinates (a customs broker, a place not yet located) is stepped over: the leg runs from the
    node before it to the node after it, with the mode of the node it starts from.
    """
    ordered = nodes.dropna(subset=["latitude", "longitude"]).sort_values(["lane_id", "seq"], kind="stable")
    nxt = ordered.groupby("lane_id").shift(-1)
    frame = pd.DataFrame({
        "lane_id": ordered["lane_id"], "seq": ordered["seq"], "mode": ordered["mode_to_next"],
        "from_lon": ordered["longitude"], "from_lat": ordered["latitude"],
        "to_lon": nxt["longitude"], "to_lat": nxt["latitude"], "to_seq": nxt["seq"]})
    frame = frame[frame["to_seq"].notna()]
    frame["to_seq"] = frame["to_seq"].astype(int)
    return frame.reset_index(drop=True)


def _key(frame: pd.DataFrame) -> pd.DataFrame:
    return frame[ENDS].astype(float).round(3)


@lru_cache(maxsize=4096)
def compute(from_lon: float, from_lat: float, to_lon: float, to_lat: float) -> tuple[list, float, str]:
    """The sea route between two points: coordinates [[lon, lat], ...], length in km, passages (Panama, Suez...)."""
    import searoute

    route = searoute.searoute([from_lon, from_lat], [to_lon, to_lat], append_orig_dest=True, return_passages=True)
    coordinates = [[round(lon, 2), round(lat, 2)] for lon, lat in route["geometry"]["coordinates"]]
    passages = ", ".join(route["properties"].get("traversed_passages") or [])
    return coordinates, float(route["properties"]["length"]), passages


def stored(*, session: Session, ends: pd.DataFrame) -> pd.DataFrame:
    """Stored routes for these ends (rounded): the ends, coordinates, length_km and passages."""
    keys = _key(ends).drop_duplicates()
    if keys.empty:
        return pd.DataFrame(columns=[*ENDS, "coordinates", "length_km", "passages"])
    found = []
    tuples = list(keys.itertuples(index=False, name=None))
    for start in range(0, len(tuples), 500):
        found.extend(session.exec(select(SeaRoute.from_lon, SeaRoute.from_lat, SeaRoute.to_lon, SeaRoute.to_lat,
                                         SeaRoute.coordinates, SeaRoute.length_km, SeaRoute.passages)
                                  .where(tuple_(SeaRoute.from_lon, SeaRoute.from_lat, SeaRoute.to_lon,
                                                SeaRoute.to_lat).in_(tuples[start:start + 500]))).all())
    return pd.DataFrame(found, columns=[*ENDS, "coordinates", "length_km", "passages"])


def ensure(*, session: Session, ends: pd.DataFrame) -> int:
    """Compute and store the sea routes not stored yet for these ends; returns how many were added."""
    keys = _key(ends.dropna(subset=ENDS)).drop_duplicates()
    if keys.empty:
        return 0
    have = stored(session=session, ends=keys)
    missing = keys.merge(have[ENDS], on=ENDS, how="left", indicator=True)
    missing = missing[missing["_merge"] == "left_only"]
    rows = []
    now = utcnow()
    for a, b, c, d in missing[ENDS].itertuples(index=False, name=None):
        try:
            coordinates, length, passages = compute(a, b, c, d)
        except Exception as exc:  # searoute raises plain exceptions for unroutable points
            log.warning("No sea route from (%s, %s) to (%s, %s): %s", a, b, c, d, exc)
            continue
        rows.append({"from_lon": a, "from_lat": b, "to_lon": c, "to_lat": d, "coordinates": coordinates,
                     "length_km": length, "passages": passages[:200], "computed_at": now})
    if rows:
        session.exec(insert(SeaRoute), params=rows)
    return len(rows)


def ensure_for_lanes(*, session: Session, lane_ids: list[int] | None = None) -> int:
    """Sea routes for every ocean leg of these lanes (all lanes when None)."""
    from services.lanes.registry import nodes_frame

    frame = legs(nodes_frame(session=session, lane_ids=lane_ids))
    return ensure(session=session, ends=frame[frame["mode"].isin(SEA_MODES)])
