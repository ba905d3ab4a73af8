"""What both peers compute, written once: Vigil's defaults (docs/methodology.md §2-§3,
docs/configuration.md) and the peers' command line."""

import argparse
import math

RES = 7
WINDOW_DAYS = 365
HALF_LIFE_DAYS = 30.0
SPREAD_KM = 20.0
SPREAD_DECAY_KM = 8.0
# Component weights and scales of harm, conflict and spread: 1 - exp(-w x amount / scale).
WEIGHTS = (0.4, 0.15, 0.25)
SCALES = (1.5, 2.0, 4.0)
EARTH_KM = 6371.007180918475  # H3's authalic radius, as Vigil and h3-py
# Rings that hold every cell within 20 km at resolution 7 where cells have their average
# size (1.406 km on a side, 1.5 sides a ring): true in the tropics, where the generated
# region lies; at high latitudes more are needed.
RINGS = math.ceil(SPREAD_KM / (1.5 * 1.406475763)) + 1


def arguments(doc: str) -> argparse.Namespace:
    """The peers' command line: --csv, --grid, --date, --out."""
    ap = argparse.ArgumentParser(description=doc.splitlines()[0])
    ap.add_argument("--csv", required=True, help="ACLED export")
    ap.add_argument("--grid", required=True, help="GeoJSON of the region scored")
    ap.add_argument("--date", required=True, help="as-of day, YYYY-MM-DD")
    ap.add_argument("--out", required=True, help="Parquet of cell, harm, conflict, spread")
    return ap.parse_args()
