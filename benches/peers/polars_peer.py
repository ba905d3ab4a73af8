"""Vigil's harm, armed-conflict and spread of one as-of day, with polars + polars-h3.

The same quantities `vigil score` computes for these three components (docs/methodology.md
§2-§3), as an analyst would write them in polars: one lazy query per step, no Python loop
over rows.

- An event counts on day D when its date is D or before, it is younger than 365 days
  (age = D - event_date) and it was known by D: its ACLED `timestamp` (upload time) falls
  on D or before, or on its own date.
- Civilian harm: `Violence against civilians`, or any event with `civilian_targeting`
  set; armed conflict: `Battles`, `Explosions/Remote violence` (older `Remote violence`);
  everything else weighs nothing.
- Weight = (1 + ln(1 + fatalities)) x precision (geo_precision 1: 1.0, 2: 0.8, else 0.1)
  x 0.5 ^ (age / 30).
- H and C: the weights of a cell's events (H3 resolution 7); spread S at a cell: the sum
  over the other cells within 20 km (centre to centre, great circle) of (H + C / 2) x
  exp(-d / 8 km).
- Components on the grid (the cells whose centre lies in the region): 1 - exp(-w x amount
  / scale) with w = 0.4, 0.15, 0.25 and scales 1.5, 2.0, 4.0 (Vigil's defaults).

    python polars_peer.py --csv acled.csv --grid grid.geojson --date 2024-12-31 --out out.parquet
"""

import datetime as dt
import json

import polars as pl
import polars_h3 as plh3

from rules import (
    EARTH_KM,
    HALF_LIFE_DAYS,
    RES,
    RINGS,
    SCALES,
    SPREAD_DECAY_KM,
    SPREAD_KM,
    WEIGHTS,
    WINDOW_DAYS,
    arguments,
)


def grid(path: str) -> pl.DataFrame:
    with open(path) as f:
        fc = json.load(f)
    rings = []
    for feat in fc["features"]:
        geom = feat["geometry"]
        polys = [geom["coordinates"]] if geom["type"] == "Polygon" else geom["coordinates"]
        for poly in polys:
            rings.append(
                "POLYGON("
                + ",".join("(" + ",".join(f"{x} {y}" for x, y in r) + ")" for r in poly)
                + ")"
            )
    return (
        pl.DataFrame({"wkt": rings})
        .select(plh3.polygon_to_cells("wkt", RES).alias("cell"))
        .explode("cell")
        .unique("cell")
        .with_columns(lat=plh3.cell_to_lat("cell"), lng=plh3.cell_to_lng("cell"))
    )


def amounts(csv: str, day: dt.date) -> pl.DataFrame:
    d = pl.lit(day)
    et = pl.col("event_type").str.to_lowercase()
    targeting = pl.col("civilian_targeting").fill_null("") != ""
    harm = et.str.starts_with("violence against civilians") | targeting
    conflict = ~harm & (
        et.str.starts_with("battle")
        | et.str.starts_with("explosions")
        | et.str.starts_with("remote violence")
    )
    precision = (
        pl.when(pl.col("geo_precision") == "1")
        .then(1.0)
        .when(pl.col("geo_precision") == "2")
        .then(0.8)
        .otherwise(0.1)
    )
    known = pl.max_horizontal(
        pl.col("date"), pl.from_epoch(pl.col("timestamp") // 86400 * 86400, time_unit="s").dt.date()
    )
    return (
        pl.scan_csv(
            csv,
            schema_overrides={"geo_precision": pl.Utf8, "civilian_targeting": pl.Utf8, "timestamp": pl.Int64},
        )
        .select("event_date", "event_type", "civilian_targeting", "latitude", "longitude",
                "geo_precision", "fatalities", "timestamp")
        .with_columns(date=pl.col("event_date").str.to_date("%Y-%m-%d"))
        .with_columns(age=(d - pl.col("date")).dt.total_days())
        .filter((pl.col("age") >= 0) & (pl.col("age") < WINDOW_DAYS) & (known <= d))
        .with_columns(
            w=(1.0 + (1.0 + pl.col("fatalities").clip(lower_bound=0)).log())
            * precision
            * pl.lit(0.5).pow(pl.col("age") / HALF_LIFE_DAYS),
            harm=harm,
            conflict=conflict,
            cell=plh3.latlng_to_cell("latitude", "longitude", RES),
        )
        .group_by("cell")
        .agg(
            H=(pl.col("w") * pl.col("harm")).sum(),
            C=(pl.col("w") * pl.col("conflict")).sum(),
        )
        .collect()
    )


def haversine_km(lat1: str, lng1: str, lat2: str, lng2: str) -> pl.Expr:
    """Great-circle distance on H3's sphere (polars-h3 0.7's `great_circle_distance` takes
    a radius of 6,373 km: 0.03 % longer, enough to move pairs across the 20 km edge)."""
    la1, lo1, la2, lo2 = (pl.col(c).radians() for c in (lat1, lng1, lat2, lng2))
    h = ((la2 - la1) / 2).sin().pow(2) + la1.cos() * la2.cos() * ((lo2 - lo1) / 2).sin().pow(2)
    return 2.0 * EARTH_KM * h.sqrt().clip(upper_bound=1.0).arcsin()


def spread(sources: pl.DataFrame, cells: pl.DataFrame) -> pl.DataFrame:
    return (
        sources.lazy()
        .with_columns(signal=pl.col("H") + 0.5 * pl.col("C"))
        .filter(pl.col("signal") > 0)
        .select(
            "signal",
            src=pl.col("cell"),
            s_lat=plh3.cell_to_lat("cell"),
            s_lng=plh3.cell_to_lng("cell"),
            cell=plh3.grid_disk("cell", RINGS),
        )
        .explode("cell")
        .filter(pl.col("cell") != pl.col("src"))
        .join(cells.lazy(), on="cell", how="inner")
        .with_columns(d=haversine_km("s_lat", "s_lng", "lat", "lng"))
        .filter(pl.col("d") <= SPREAD_KM)
        .group_by("cell")
        .agg(S=(pl.col("signal") * (-pl.col("d") / SPREAD_DECAY_KM).exp()).sum())
        .collect()
    )


def main() -> None:
    a = arguments(__doc__)
    day = dt.date.fromisoformat(a.date)
    cells = grid(a.grid)
    src = amounts(a.csv, day)
    s = spread(src, cells)
    (
        cells.select("cell")
        .join(src, on="cell", how="left")
        .join(s, on="cell", how="left")
        .with_columns(pl.col("H", "C", "S").fill_null(0.0))
        .select(
            "cell",
            harm=1.0 - (-WEIGHTS[0] * pl.col("H") / SCALES[0]).exp(),
            conflict=1.0 - (-WEIGHTS[1] * pl.col("C") / SCALES[1]).exp(),
            spread=1.0 - (-WEIGHTS[2] * pl.col("S") / SCALES[2]).exp(),
        )
        .write_parquet(a.out)
    )


if __name__ == "__main__":
    main()
