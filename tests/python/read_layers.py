"""Reads Vigil's exports with the tools an analyst uses and prints what they saw as JSON.

    python3 read_layers.py geoparquet FILE...   GeoPandas and DuckDB (spatial) per file
    python3 read_layers.py pmtiles FILE         the pmtiles reader: header, metadata, tiles

Run by tests/it/gis_clients.rs; the test compares the report with the store.
"""
import json
import os
import sys


def duckdb_connection():
    import duckdb
    import duckdb_extension_spatial

    con = duckdb.connect()
    root = os.path.join(os.path.dirname(duckdb_extension_spatial.__file__), "extensions")
    (version,) = os.listdir(root)
    con.execute(f"LOAD '{os.path.join(root, version, 'spatial.duckdb_extension')}'")
    return con


def geoparquet(files):
    import geopandas

    con = duckdb_connection()
    report = {}
    for path in files:
        gdf = geopandas.read_parquet(path)
        crs = gdf.crs
        seen = {
            "geopandas": {
                "rows": len(gdf),
                "crs": crs.to_string() if crs is not None else None,
                "epsg": crs.to_epsg() if crs is not None else None,
                "types": sorted(set(gdf.geom_type.dropna())),
                "nulls": int(gdf.geometry.isna().sum()),
                "valid": bool(gdf.geometry.dropna().is_valid.all()),
                "bounds": [float(x) for x in gdf.total_bounds],
                "columns": list(gdf.columns),
            }
        }
        # DuckDB reads the `geo` metadata and gives a GEOMETRY column.
        rel = con.execute(
            "SELECT count(*), count(geometry), min(ST_XMin(geometry)), max(ST_YMax(geometry)),"
            " list(DISTINCT ST_GeometryType(geometry)::VARCHAR) FROM read_parquet(?)",
            [path],
        ).fetchone()
        kind = con.execute(
            "SELECT column_type FROM (DESCRIBE SELECT geometry FROM read_parquet(?))", [path]
        ).fetchone()[0]
        seen["duckdb"] = {
            "rows": rel[0],
            "geometries": rel[1],
            "xmin": rel[2],
            "ymax": rel[3],
            "types": sorted(t for t in rel[4] if t is not None),
            "column_type": kind,
        }
        report[os.path.basename(path)] = seen
    return report


def pmtiles(path):
    from pmtiles.reader import MmapSource, Reader, all_tiles

    with open(path, "rb") as f:
        reader = Reader(MmapSource(f))
        header = reader.header()
        metadata = reader.metadata()
        tiles = {}
        for (z, x, y), data in all_tiles(reader.get_bytes):
            tiles[f"{z}/{x}/{y}"] = data.hex()
        return {
            "header": {k: (v.name if hasattr(v, "name") else v) for k, v in header.items()},
            "metadata": metadata,
            "tiles": tiles,
        }


if __name__ == "__main__":
    mode, args = sys.argv[1], sys.argv[2:]
    out = geoparquet(args) if mode == "geoparquet" else pmtiles(args[0])
    json.dump(out, sys.stdout, default=str)
