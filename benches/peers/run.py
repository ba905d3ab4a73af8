#!/usr/bin/env python3
"""Vigil against the Python tools an analyst would pick instead (issue 17).

Generates scattered, clustered ACLED events and the region they fall in (generate.py),
installs the peers' pinned packages in a venv, builds Vigil (release), then runs, in
interleaved rounds:

- vigil: `ingest areas` (the region), `ingest acled`, `score --date D` into a fresh store;
- polars: polars_peer.py (polars + polars-h3);
- pandas: pandas_peer.py (pandas + h3-py + numpy);

each computing the same harm, armed-conflict and spread components of day D on the same
grid. Prints each run, the medians of wall time and peak memory, the ratios, and the
agreement of the three outputs (compare.py). Uses only the standard library itself.

    python3 benches/peers/run.py [--rows 1000000] [--rounds 4] [--seed 17] [--skip-pandas]
"""

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
DAY = "2024-12-31"


def run(cmd, env=None):
    """Wall seconds and peak RSS (MiB) of one command (its own process, waited with wait4)."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed ({proc.returncode}):\n{err}")
    return wall, usage.ru_maxrss / 1024.0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000, help="events generated (default 1,000,000)")
    ap.add_argument("--rounds", type=int, default=4, help="interleaved rounds (default 4)")
    ap.add_argument("--seed", type=int, default=17, help="generator seed (default 17)")
    ap.add_argument("--work", default=os.path.join(ROOT, "target", "peers"), help="work folder")
    ap.add_argument("--skip-pandas", action="store_true", help="leave out the (slow) pandas peer")
    a = ap.parse_args()

    venv = os.path.join(a.work, "venv")
    py = os.path.join(venv, "bin", "python")
    if not os.path.exists(py):
        subprocess.run([sys.executable, "-m", "venv", venv], check=True)
        subprocess.run([py, "-m", "pip", "install", "-q", "-r", os.path.join(HERE, "requirements.txt")], check=True)
    data = os.path.join(a.work, f"data-{a.rows}-{a.seed}")
    csv, grid = os.path.join(data, "acled.csv"), os.path.join(data, "grid.geojson")
    if not os.path.exists(grid):
        subprocess.run([py, os.path.join(HERE, "generate.py"), "--rows", str(a.rows), "--seed", str(a.seed),
                        "--out", data], check=True)
    subprocess.run(["cargo", "build", "--release", "--quiet", "--bin", "vigil"], cwd=ROOT, check=True)
    vigil = os.path.join(ROOT, "target", "release", "vigil")
    versions = subprocess.run(
        [py, "-c", "import sys; from importlib.metadata import version as v;"
         "print('Python', sys.version.split()[0], *(f'{p} {v(p)}' for p in"
         " ('h3', 'polars', 'polars-h3', 'pandas', 'numpy', 'pyarrow')))"],
        capture_output=True, text=True, check=True).stdout.strip()
    print(f"input: {csv} ({os.path.getsize(csv) / 1e6:.0f} MB, {a.rows:,} rows), day {DAY}")
    print(f"peers: {versions}")

    store = os.path.join(a.work, "store")
    out = {name: os.path.join(a.work, f"{name}.parquet") for name in ("polars", "pandas")}
    quiet = {**os.environ, "RUST_LOG": "warn"}

    def vigil_run():
        shutil.rmtree(store, ignore_errors=True)
        steps = [[vigil, "--store", store, "ingest", "areas", grid],
                 [vigil, "--store", store, "ingest", "acled", csv],
                 [vigil, "--store", store, "score", "--date", DAY]]
        results = [run(s, quiet) for s in steps]
        return sum(w for w, _ in results), max(m for _, m in results), [w for w, _ in results]

    def peer_run(name):
        def go():
            w, m = run([py, os.path.join(HERE, f"{name}_peer.py"), "--csv", csv, "--grid", grid, "--date", DAY,
                        "--out", out[name]])
            return w, m, []
        return go

    tools = {"vigil": vigil_run, "polars": peer_run("polars")}
    if not a.skip_pandas:
        tools["pandas"] = peer_run("pandas")
    times = {t: [] for t in tools}
    peaks = {t: [] for t in tools}
    for r in range(a.rounds):
        order = list(tools) if r % 2 == 0 else list(reversed(tools))
        for t in order:
            w, m, steps = tools[t]()
            times[t].append(w)
            peaks[t].append(m)
            detail = f"  (areas {steps[0]:.2f} s, acled {steps[1]:.2f} s, score {steps[2]:.2f} s)" if steps else ""
            print(f"round {r + 1}: {t:7} {w:7.2f} s  peak {m:8.0f} MiB{detail}", flush=True)
    print()
    med = {t: statistics.median(times[t]) for t in tools}
    for t in tools:
        print(f"{t:7} median {med[t]:7.2f} s   peak memory median {statistics.median(peaks[t]):8.0f} MiB")
    for t in tools:
        if t != "vigil":
            print(f"vigil is {med[t] / med['vigil']:.2f}x faster than {t} (median wall time)")
    snapshot = os.path.join(store, "snapshots")
    snap = os.path.join(snapshot, sorted(os.listdir(snapshot))[0])
    subprocess.run([py, os.path.join(HERE, "compare.py"), snap, *[out[t] for t in tools if t != "vigil"]], check=True)


if __name__ == "__main__":
    main()
