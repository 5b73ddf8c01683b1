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
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 1 300); do redis-cli -p "$1" ping >/dev/null 2>&1 && return 0; sleep 0.1; done; return 1; }
echo "| test | -P | requests | Redis instr/req | shoal instr/req | ratio (shoal/Redis) |"
echo "|---|---|---|---|---|---|"
for t in ${TESTS//,/ }; do
  declare -A per
  for srv in redis shoal; do
    p=$(port)
    if [ $srv = redis ]; then
      valgrind --tool=callgrind --callgrind-out-file="$OUT/$srv.$t" redis-server --port "$p" --bind 127.0.0.1 --save "" --appendonly no >/dev/null 2>&1 &
    else
      valgrind --tool=callgrind --callgrind-out-file="$OUT/$srv.$t" ./target/release/shoal-server --port "$p" --bind 127.0.0.1 --threads 1 >/dev/null 2>&1 &
    fi
    pid=$!
    wait_port "$p"
    # Count only the load: zero the counters after start-up, dump after the run.
    callgrind_control -z "$pid" >/dev/null 2>&1
    redis-benchmark -p "$p" -c 50 -r 100000 -d 64 -n "$N" -P "$P" -t "$t" -q >/dev/null
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
  echo "| ${t^^} | $P | $N | ${per[redis]} | ${per[shoal]} | $(python3 -c "print(f'{${per[shoal]}/${per[redis]}:.2f}')") |"
done
rm -rf "$OUT"
