"""Vigil's harm, armed-conflict and spread of one as-of day, with pandas + h3-py.

The same quantities and rules as polars_peer.py (read its docstring), written as an analyst
would with pandas, numpy and h3-py: vectorised column arithmetic; h3-py has no vectorised
calls, so the cell of each distinct coordinate and the disk of each source cell are one
call each (the only per-item Python work), and the disks are flattened with numpy.

    python pandas_peer.py --csv acled.csv --grid grid.geojson --date 2024-12-31 --out out.parquet
"""

import json

import h3
import numpy as np
import pandas as pd

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


def grid(path: str) -> pd.DataFrame:
    with open(path) as f:
        fc = json.load(f)
    cells = set()
    for feat in fc["features"]:
        cells.update(h3.str_to_int(c) for c in h3.geo_to_cells(feat["geometry"], RES))
    cells = np.array(sorted(cells), dtype=np.uint64)
    ll = np.array([h3.cell_to_latlng(h3.int_to_str(int(c))) for c in cells])
    return pd.DataFrame({"cell": cells, "lat": ll[:, 0], "lng": ll[:, 1]})


def amounts(csv: str, day: pd.Timestamp) -> pd.DataFrame:
    df = pd.read_csv(
        csv,
        engine="pyarrow",
        usecols=["event_date", "event_type", "civilian_targeting", "latitude", "longitude",
                 "geo_precision", "fatalities", "timestamp"],
        dtype={"geo_precision": "string", "civilian_targeting": "string"},
    )
    date = pd.to_datetime(df["event_date"], format="%Y-%m-%d")
    age = (day - date).dt.days
    known = np.maximum(date, pd.to_datetime(df["timestamp"] // 86400 * 86400, unit="s"))
    df = df[(age >= 0) & (age < WINDOW_DAYS) & (known <= day)].assign(age=age)
    et = df["event_type"].str.lower()
    harm = et.str.startswith("violence against civilians") | (df["civilian_targeting"].fillna("") != "")
    conflict = ~harm & (
        et.str.startswith("battle") | et.str.startswith("explosions") | et.str.startswith("remote violence")
    )
    precision = np.select([df["geo_precision"] == "1", df["geo_precision"] == "2"], [1.0, 0.8], 0.1)
    w = (1.0 + np.log1p(df["fatalities"].clip(lower=0))) * precision * 0.5 ** (df["age"] / HALF_LIFE_DAYS)
    # One h3 call per distinct coordinate.
    xy = pd.MultiIndex.from_arrays([df["latitude"], df["longitude"]])
    uniq = xy.unique()
    cell_of = np.fromiter(
        (h3.str_to_int(h3.latlng_to_cell(a, b, RES)) for a, b in uniq), dtype=np.uint64, count=len(uniq)
    )
    cell = cell_of[uniq.get_indexer(xy)]
    out = pd.DataFrame({"cell": cell, "H": w * harm.astype(float), "C": w * conflict.astype(float)})
    return out.groupby("cell", as_index=False).sum()


def spread(src: pd.DataFrame, cells: pd.DataFrame) -> pd.DataFrame:
    signal = src["H"] + 0.5 * src["C"]
    src = src[signal > 0].assign(signal=signal[signal > 0])
    disks = [np.array([h3.str_to_int(n) for n in h3.grid_disk(h3.int_to_str(int(c)), RINGS)], dtype=np.uint64)
             for c in src["cell"]]
    sizes = np.fromiter((len(x) for x in disks), dtype=np.int64, count=len(disks))
    ll = np.array([h3.cell_to_latlng(h3.int_to_str(int(c))) for c in src["cell"]])
    pairs = pd.DataFrame({
        "cell": np.concatenate(disks),
        "src": np.repeat(src["cell"].to_numpy(), sizes),
        "signal": np.repeat(src["signal"].to_numpy(), sizes),
        "s_lat": np.repeat(ll[:, 0], sizes),
        "s_lng": np.repeat(ll[:, 1], sizes),
    })
    pairs = pairs[pairs["cell"] != pairs["src"]].merge(cells, on="cell", how="inner")
    la1, lo1 = np.radians(pairs["s_lat"].to_numpy()), np.radians(pairs["s_lng"].to_numpy())
    la2, lo2 = np.radians(pairs["lat"].to_numpy()), np.radians(pairs["lng"].to_numpy())
    h = np.sin((la2 - la1) / 2) ** 2 + np.cos(la1) * np.cos(la2) * np.sin((lo2 - lo1) / 2) ** 2
    d = 2 * EARTH_KM * np.arcsin(np.sqrt(np.minimum(h, 1.0)))
    keep = d <= SPREAD_KM
    contrib = pairs["signal"].to_numpy()[keep] * np.exp(-d[keep] / SPREAD_DECAY_KM)
    return pd.DataFrame({"cell": pairs["cell"].to_numpy()[keep], "S": contrib}).groupby("cell", as_index=False).sum()


def main() -> None:
    a = arguments(__doc__)
    day = pd.Timestamp(a.date)
    cells = grid(a.grid)
    src = amounts(a.csv, day)
    s = spread(src, cells)
    out = cells[["cell"]].merge(src, on="cell", how="left").merge(s, on="cell", how="left")
    out[["H", "C", "S"]] = out[["H", "C", "S"]].fillna(0.0)
    pd.DataFrame({
        "cell": out["cell"].astype(np.uint64),
        "harm": 1.0 - np.exp(-WEIGHTS[0] * out["H"] / SCALES[0]),
        "conflict": 1.0 - np.exp(-WEIGHTS[1] * out["C"] / SCALES[1]),
        "spread": 1.0 - np.exp(-WEIGHTS[2] * out["S"] / SCALES[2]),
    }).to_parquet(a.out, index=False)


if __name__ == "__main__":
    main()
