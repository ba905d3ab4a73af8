"""Scattered, clustered ACLED-format events for the peer comparison (issue 17).

Writes an ACLED export (the current 31-column layout Vigil and the peers read) whose
events sit at their own coordinates: a share around a few hundred hot spots of different
sizes (Gaussian, 5-40 km), the rest scattered over the whole region, dated over two years
with a seasonal rhythm, and a one-feature GeoJSON of the region (the grid the three
pipelines score). Deterministic for a seed.

    python generate.py --rows 1000000 --seed 17 --out DIR
"""

import argparse
import json
import os

import numpy as np
import polars as pl

LAT = (0.0, 10.0)
LON = (15.0, 30.0)
FIRST = np.datetime64("2023-01-01")
DAYS = 731  # to 2024-12-31

EVENT_TYPES = [
    # (event_type, sub_event_type, share, civilian targeting share)
    ("Violence against civilians", "Attack", 0.30, 1.0),
    ("Battles", "Armed clash", 0.30, 0.0),
    ("Explosions/Remote violence", "Shelling/artillery/missile attack", 0.08, 0.1),
    ("Riots", "Mob violence", 0.10, 0.2),
    ("Protests", "Peaceful protest", 0.12, 0.0),
    ("Strategic developments", "Looting/property destruction", 0.10, 0.0),
]

HEADER = [
    "event_id_cnty", "event_date", "year", "time_precision", "disorder_type",
    "event_type", "sub_event_type", "actor1", "assoc_actor_1", "inter1", "actor2",
    "assoc_actor_2", "inter2", "interaction", "civilian_targeting", "iso", "region",
    "country", "admin1", "admin2", "admin3", "location", "latitude", "longitude",
    "geo_precision", "source", "source_scale", "notes", "fatalities", "tags", "timestamp",
]


def events(n: int, seed: int) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    # Hot spots: a few hundred, sizes from a Zipf-like law; 60 % of events around them.
    spots = 400
    centre_lat = rng.uniform(*LAT, spots)
    centre_lon = rng.uniform(*LON, spots)
    sigma_km = rng.uniform(5.0, 40.0, spots)
    weight = 1.0 / np.arange(1, spots + 1) ** 0.8
    weight /= weight.sum()
    clustered = rng.random(n) < 0.6
    which = rng.choice(spots, size=n, p=weight)
    dlat = rng.normal(0.0, 1.0, n) * sigma_km[which] / 111.2
    dlon = rng.normal(0.0, 1.0, n) * sigma_km[which] / (111.2 * np.cos(np.radians(centre_lat[which])))
    lat = np.where(clustered, centre_lat[which] + dlat, rng.uniform(*LAT, n))
    lon = np.where(clustered, centre_lon[which] + dlon, rng.uniform(*LON, n))
    lat = np.clip(lat, LAT[0], LAT[1])
    lon = np.clip(lon, LON[0], LON[1])
    # Dates: more in the dry season (November-April).
    day = rng.integers(0, DAYS, n * 2)
    month = ((FIRST + day.astype("timedelta64[D]")).astype("datetime64[M]").astype(int) % 12) + 1
    keep = rng.random(n * 2) < np.where((month >= 5) & (month <= 10), 0.6, 1.0)
    day = np.sort(day[keep][:n])
    if len(day) < n:
        day = np.sort(np.concatenate([day, rng.integers(0, DAYS, n - len(day))]))
    date = FIRST + day.astype("timedelta64[D]")
    share = np.array([t[2] for t in EVENT_TYPES])
    kind = rng.choice(len(EVENT_TYPES), size=n, p=share / share.sum())
    targeting = rng.random(n) < np.array([t[3] for t in EVENT_TYPES])[kind]
    fatalities = np.where(rng.random(n) < 0.55, 0, rng.geometric(0.25, n))
    precision = rng.choice([1, 2, 3], size=n, p=[0.6, 0.3, 0.1])
    # Published 1-30 days after the event (ACLED's weekly upload), as a Unix timestamp.
    published = (day + rng.integers(1, 31, n)).astype(np.int64) * 86400 + 43200
    published += FIRST.astype("datetime64[s]").astype(np.int64)
    def const(value: str) -> pl.Series:
        return pl.repeat(value, n, eager=True)

    types = pl.Series([t[0] for t in EVENT_TYPES])
    subs = pl.Series([t[1] for t in EVENT_TYPES])
    kind_s = pl.Series(kind)
    date_s = pl.Series(date.astype("datetime64[D]")).cast(pl.Date).dt.strftime("%Y-%m-%d")
    return pl.DataFrame(
        {
            "event_id_cnty": "SYN" + pl.Series(np.arange(n)).cast(pl.Utf8),
            "event_date": date_s,
            "year": date_s.str.slice(0, 4),
            "time_precision": pl.Series(np.ones(n, dtype=np.int64)),
            "disorder_type": const("Political violence"),
            "event_type": types.gather(kind_s),
            "sub_event_type": subs.gather(kind_s),
            "actor1": const("Synthetic armed group"),
            "assoc_actor_1": const(""),
            "inter1": const("Rebel group"),
            "actor2": const("Civilians"),
            "assoc_actor_2": const(""),
            "inter2": const("Civilians"),
            "interaction": const("Rebel group-Civilians"),
            "civilian_targeting": pl.Series(np.where(targeting, "Civilian targeting", "")),
            "iso": const("999"),
            "region": const("Middle Africa"),
            "country": const("Synthetica"),
            "admin1": const(""),
            "admin2": const(""),
            "admin3": const(""),
            "location": const("Somewhere"),
            "latitude": pl.Series(np.round(lat, 4)),
            "longitude": pl.Series(np.round(lon, 4)),
            "geo_precision": pl.Series(precision),
            "source": const("Synthetic Radio"),
            "source_scale": const("Subnational"),
            "notes": const("A synthetic event of the peer benchmark; no real place or person."),
            "fatalities": pl.Series(fatalities.astype(np.int64)),
            "tags": const(""),
            "timestamp": pl.Series(published),
        }
    ).select(HEADER)


def region() -> dict:
    ring = [[LON[0], LAT[0]], [LON[1], LAT[0]], [LON[1], LAT[1]], [LON[0], LAT[1]], [LON[0], LAT[0]]]
    return {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {"shapeName": "Synthetica", "shapeID": "SYN-ADM0", "shapeType": "ADM0"},
                "geometry": {"type": "Polygon", "coordinates": [ring]},
            }
        ],
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000, help="events to write (default 1,000,000)")
    ap.add_argument("--seed", type=int, default=17, help="random seed (default 17)")
    ap.add_argument("--out", required=True, help="folder for acled.csv and grid.geojson")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    events(a.rows, a.seed).write_csv(os.path.join(a.out, "acled.csv"))
    with open(os.path.join(a.out, "grid.geojson"), "w") as f:
        json.dump(region(), f)


if __name__ == "__main__":
    main()
