#!/usr/bin/env bash
# User-space instructions per request, shoal vs redis-server, counted by callgrind: repeatable on a
# noisy shared machine where wall-clock numbers are not (kernel time is not counted: both servers
# make the same read/write system calls per batch, see BENCHMARKS.md).
# Usage: benches/callgrind.sh [requests] [pipeline] [tests]
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-200000}
P=${2:-16}
TESTS=${3:-get,set,incr}
command -v valgrind >/dev/null || { echo "valgrind not found"; exit 1; }
cargo build --release --bin shoal-server >/dev/null
OUT=$(mktemp -d)
. benches/callgrind_lib.sh
echo "| test | -P | requests | Redis instr/req | shoal instr/req | ratio (shoal/Redis) |"
echo "|---|---|---|---|---|---|"
for t in ${TESTS//,/ }; do
  declare -A per
  for srv in redis shoal; do
    p=$(port)
    cg_start "$srv" "$OUT/$srv.$t" "$p"
    # Count only the load: zero the counters after start-up, dump after the run.
    cg_zero
    redis-benchmark -p "$p" -c 50 -r 100000 -d 64 -n "$N" -P "$P" -t "$t" -q >/dev/null
    total=$(cg_stop "$OUT/$srv.$t" "$p")
    per[$srv]=$((total / N))
  done
  echo "| ${t^^} | $P | $N | ${per[redis]} | ${per[shoal]} | $(python3 -c "print(f'{${per[shoal]}/${per[redis]}:.2f}')") |"
done
rm -rf "$OUT"
