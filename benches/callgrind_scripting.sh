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
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 1 300); do redis-cli -p "$1" ping >/dev/null 2>&1 && return 0; sleep 0.1; done; return 1; }
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
    if [ $srv = redis ]; then
      valgrind --tool=callgrind --callgrind-out-file="$OUT/$srv.$t" redis-server --port "$p" --bind 127.0.0.1 --save "" --appendonly no >/dev/null 2>&1 &
    else
      valgrind --tool=callgrind --callgrind-out-file="$OUT/$srv.$t" "$SHOAL" --port "$p" --bind 127.0.0.1 --threads 1 >/dev/null 2>&1 &
    fi
    pid=$!
    wait_port "$p"
    sha=$(redis-cli -p "$p" script load "$(body "$t")")
    redis-benchmark -p "$p" -c 50 -P 16 -r 100000 -n 2000 -q EVALSHA "$sha" 1 key:__rand_int__ >/dev/null
    # Count only the load: zero the counters after the warm-up, dump after the run.
    callgrind_control -z "$pid" >/dev/null 2>&1
    redis-benchmark -p "$p" -c 50 -P 16 -r 100000 -n "$N" -q EVALSHA "$sha" 1 key:__rand_int__ >/dev/null
    callgrind_control -d "$pid" >/dev/null 2>&1
    redis-cli -p "$p" shutdown nosave >/dev/null 2>&1 || true
    wait "$pid" 2>/dev/null || true
    total=0
    for f in "$OUT/$srv.$t".*; do
      n=$(callgrind_annotate "$f" 2>/dev/null | awk '/PROGRAM TOTALS/ {gsub(",","",$1); print $1}')
      total=$((total + ${n:-0}))
    done
    per[$srv]=$((total / N))
  done
  echo "| $t | 16 | $N | ${per[redis]} | ${per[shoal]} | $(python3 -c "print(f'{${per[shoal]}/${per[redis]}:.2f}')") |"
done
rm -rf "$OUT"
