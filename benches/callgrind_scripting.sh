#!/usr/bin/env bash
# User-space instructions per EVALSHA, shoal vs redis-server, counted by callgrind (the loop of
# benches/callgrind.sh): one-key scripts on random keys, -c 50 -P 16, 2 000 requests of warm-up
# then the counted ones. Kernel time is not counted (see BENCHMARKS.md section 14).
# Usage: benches/callgrind_scripting.sh [requests] [scripts: get,incr,2keys]
#   SHOAL=path/to/shoal-server: measure that binary (no build).
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-20000}
TESTS=${2:-get,incr,2keys}
command -v valgrind >/dev/null || { echo "valgrind not found"; exit 1; }
if [ -z "${SHOAL:-}" ]; then
  cargo build --release --bin shoal-server >/dev/null
  SHOAL=./target/release/shoal-server
fi
OUT=$(mktemp -d)
. benches/callgrind_lib.sh
body() {
  case $1 in
    get) echo "return redis.call('get', KEYS[1])" ;;
    incr) echo "return redis.call('incr', KEYS[1])" ;;
    2keys) echo "redis.call('incr', KEYS[1]); return redis.call('get', 'other')" ;;
  esac
}
echo "| script | -P | requests | Redis instr/req | shoal instr/req | ratio (shoal/Redis) |"
echo "|---|---|---|---|---|---|"
for t in ${TESTS//,/ }; do
  declare -A per
  for srv in redis shoal; do
    p=$(port)
    cg_start "$srv" "$OUT/$srv.$t" "$p" "$SHOAL"
    sha=$(redis-cli -p "$p" script load "$(body "$t")")
    redis-benchmark -p "$p" -c 50 -P 16 -r 100000 -n 2000 -q EVALSHA "$sha" 1 key:__rand_int__ >/dev/null
    # Count only the load: zero the counters after the warm-up, dump after the run.
    cg_zero
    redis-benchmark -p "$p" -c 50 -P 16 -r 100000 -n "$N" -q EVALSHA "$sha" 1 key:__rand_int__ >/dev/null
    total=$(cg_stop "$OUT/$srv.$t" "$p")
    per[$srv]=$((total / N))
  done
  echo "| $t | 16 | $N | ${per[redis]} | ${per[shoal]} | $(python3 -c "print(f'{${per[shoal]}/${per[redis]}:.2f}')") |"
done
rm -rf "$OUT"
