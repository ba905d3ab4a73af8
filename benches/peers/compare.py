"""Whether Vigil's snapshot and the peers' outputs hold the same harm, conflict and spread.

    python compare.py SNAPSHOT.parquet PEER.parquet [PEER.parquet ...]

For each peer and component: the cells compared (the grid's; a cell missing on one side
is an error), Pearson's correlation and the largest absolute difference. Exits 1 when a
spread correlation is below 0.999 or the cells differ.
"""

import sys

import polars as pl

COMPONENTS = ("harm", "conflict", "spread")


def main() -> int:
    vigil = pl.read_parquet(sys.argv[1], columns=["cell", *COMPONENTS])
    ok = True
    for path in sys.argv[2:]:
        peer = pl.read_parquet(path, columns=["cell", *COMPONENTS])
        both = vigil.join(peer, on="cell", how="full", suffix="_peer", coalesce=True)
        missing = both.filter(pl.any_horizontal(pl.all().is_null())).height
        if missing:
            print(f"{path}: {missing} cells in one output only")
            ok = False
        both = both.drop_nulls()
        for c in COMPONENTS:
            r = both.select(pl.corr(c, f"{c}_peer")).item()
            diff = both.select((pl.col(c) - pl.col(f"{c}_peer")).abs().max()).item()
            print(f"{path}: {c:8} cells {both.height:,}  correlation {r:.12f}  max |difference| {diff:.3e}")
            if c == "spread" and not r >= 0.999:
                ok = False
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
