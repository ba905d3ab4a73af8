#!/usr/bin/env bash
# Issue 7 benchmark: the weekly 2019–2022 backtest (horizon 30 days) on the real CAR
# extracts (../shared/data/real, not part of the repository; skipped when absent), through
# the release CLI: ingest once, calibrate on the tuning window (origins to 2018, events to
# 2018-12-31), then time the backtest alone, all five models (budget ≤ 60 s).
set -euo pipefail
cd "$(dirname "$0")/.."
R=../shared/data/real
if [ ! -d "$R" ]; then echo "skipping: $R is absent"; exit 0; fi
cargo build --release --quiet
STORE=$(mktemp -d)
OUT=$(mktemp -d)
trap 'rm -rf "$STORE" "$OUT"' EXIT
V="./target/release/vigil --store $STORE --log warn"
$V ingest areas  "$R/geoboundaries/geoBoundaries-CAF-ADM3_simplified.geojson" >/dev/null
$V ingest geopko "$R/geopko/geopko_v2x_location_map_MINUSCA_UNMISS_MONUSCO_MINUSMA.csv" >/dev/null
$V ingest climate "$R/spei/spei_-0.25_5.25.csv.gz" >/dev/null
$V ingest ucdp   "$R/ucdp_ged/GEDEvent_v23_1_CAF_reconstructed.csv" >/dev/null
/usr/bin/time -f "calibrate 2015-2018: %e s wall, %M KB peak" \
  $V calibrate --from 2015-01-01 --to 2018-12-31 --step 7 --horizon 30 >/dev/null
for run in 1 2 3; do
  /usr/bin/time -f "run $run: %e s wall, %M KB peak" \
    $V backtest --from 2019-01-01 --to 2022-12-31 --step 7 --horizon 30 --out "$OUT" >/dev/null
done
cat "$OUT/results.md"
