#!/usr/bin/env bash
# What the instrumentation costs: shoal as shipped (per-command timing and counters for INFO,
# SLOWLOG, LATENCY and the metrics page, with the exporter listening) against the same code built
# with `--features no-stats`, which compiles the timing and counters out.
#   1. user-space instructions per request (callgrind; exact and repeatable),
#   2. CPU per request and requests/s under redis-benchmark (compare.py, one core each).
# Usage: benches/instrumentation.sh [requests] [rounds]
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-200000}
ROUNDS=${2:-5}
cargo build --release --bin shoal-server >/dev/null
CARGO_TARGET_DIR=target/no-stats cargo build --release --bin shoal-server --features no-stats >/dev/null
BASE=target/no-stats/release/shoal-server
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 1 300); do redis-cli -p "$1" ping >/dev/null 2>&1 && return 0; sleep 0.1; done; return 1; }
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
echo "| test | -P | no-stats instr/req | shipped instr/req | cost |"
echo "|---|---|---|---|---|"
for t in get set; do
  declare -A per
  for which in base shipped; do
    p=$(port)
    if [ $which = base ]; then bin=$BASE; extra=(); else bin=./target/release/shoal-server; extra=(--metrics-port 0); fi
    valgrind --tool=callgrind --callgrind-out-file="$OUT/$which.$t" "$bin" --port "$p" --bind 127.0.0.1 --threads 1 "${extra[@]}" >/dev/null 2>&1 &
    pid=$!
    wait_port "$p"
    callgrind_control -z "$pid" >/dev/null 2>&1
    redis-benchmark -p "$p" -c 50 -r 100000 -d 64 -n "$N" -P 16 -t "$t" -q >/dev/null 2>&1
    callgrind_control -d "$pid" >/dev/null 2>&1
    kill "$pid"; wait "$pid" 2>/dev/null || true
    total=$(cat "$OUT/$which.$t"* | awk '/^summary:/ {s+=$2} END {print s}')
    per[$which]=$((total / N))
  done
  echo "| ${t^^} | 16 | ${per[base]} | ${per[shipped]} | $(python3 -c "print(f'{${per[shipped]}/${per[base]}-1:+.1%}')") |"
done
echo
python3 benches/compare.py --against "$BASE" --shoal-args "--metrics-port 0" --rounds "$ROUNDS" --requests "$N"
