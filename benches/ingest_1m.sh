#!/usr/bin/env bash
# Wall time and peak memory of `vigil ingest acled` on a generated 1,000,000-row ACLED
# export (release build). Usage: benches/ingest_1m.sh [ROWS]
set -euo pipefail
cd "$(dirname "$0")/.."
rows="${1:-1000000}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cargo build --release --quiet --bin vigil
bin=target/release/vigil
"$bin" sample --out "$work" --acled-rows "$rows" >/dev/null
ls -l "$work/acled_$rows.csv"
for run in 1 2 3 4 5; do
  rm -rf "$work/store"
  /usr/bin/time -f "run $run: %e s wall, %M KB peak RSS" \
    "$bin" --log warn --store "$work/store" ingest acled "$work/acled_$rows.csv" >/dev/null
done
