#!/usr/bin/env bash
# Throughput of the tiles endpoint under a loopback load generator (issue 6).
# Builds the release binary, loads the bundled sample into a temporary store, serves it,
# and runs wrk (Debian package `wrk`) for 15 s over the 83 zoom 5–10 tiles of the sample's
# area (a Lua script walks the list), then over one tile, with and without gzip.
# Usage: benches/tiles_wrk.sh [connections, default 32]
set -euo pipefail
cd "$(dirname "$0")/.."
command -v wrk >/dev/null || { echo "install wrk (apt-get install wrk)"; exit 1; }
cargo build --release --quiet
STORE=$(mktemp -d)
PORT=18099
trap 'kill $SERVER 2>/dev/null || true; rm -rf "$STORE"' EXIT
for kind_file in areas:admin1.geojson population:population.csv climate:rainfall.csv \
                 geopko:geopko.csv acled:acled.csv ucdp:ucdp_ged.csv; do
  ./target/release/vigil --store "$STORE" --log warn ingest "${kind_file%%:*}" "data/sample/${kind_file#*:}" >/dev/null
done
./target/release/vigil --store "$STORE" --log warn score >/dev/null
./target/release/vigil --store "$STORE" --log warn serve --bind 127.0.0.1:$PORT >/dev/null &
SERVER=$!
sleep 1
LUA=$(mktemp --suffix .lua)
python3 - "$LUA" <<'PY'
import math, sys
paths = []
for z in range(5, 11):
    n = 2 ** z
    tx = lambda lon: int((lon + 180) / 360 * n)
    ty = lambda lat: int((1 - math.log(math.tan(math.radians(lat)) + 1 / math.cos(math.radians(lat))) / math.pi) / 2 * n)
    for x in range(tx(20.0), tx(22.4) + 1):
        for y in range(ty(7.4), ty(5.6) + 1):
            paths.append(f"/tiles/risk/{z}/{x}/{y}.mvt")
with open(sys.argv[1], "w") as f:
    f.write("local paths = {" + ",".join(f'"{p}"' for p in paths) + "}\n")
    f.write("local i = 0\nrequest = function()\n  i = i % #paths + 1\n  return wrk.format('GET', paths[i])\nend\n")
print(f"{len(paths)} tiles", file=sys.stderr)
PY
C=${1:-32}
echo "== all tiles, $C connections, no compression"
wrk -t2 -c"$C" -d15s -s "$LUA" --latency "http://127.0.0.1:$PORT" | sed -n '1,20p'
echo "== all tiles, $C connections, gzip"
wrk -t2 -c"$C" -d15s -s "$LUA" -H 'Accept-Encoding: gzip' --latency "http://127.0.0.1:$PORT" | sed -n '1,20p'
echo "== one zoom-7 tile, $C connections"
wrk -t2 -c"$C" -d15s --latency "http://127.0.0.1:$PORT/tiles/risk/7/71/61.mvt" | sed -n '1,20p'
echo "server peak RSS: $(grep VmHWM /proc/$SERVER/status)"
rm -f "$LUA"
