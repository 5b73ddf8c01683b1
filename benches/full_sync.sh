#!/usr/bin/env bash
# Full-sync time of a replica, shoal vs redis-server: fills a primary with redis-benchmark
# (N SETs over random keys, 16-byte values), runs REPLICAOF on an empty second server and times
# until the link is up, no sync is in progress and DBSIZE matches.
#
#   benches/full_sync.sh [./target/release/shoal-server] [N]
# Redis runs twice: with its defaults (5 s diskless-sync delay) and with the delay at 0.
set -euo pipefail
BIN=${1:-./target/release/shoal-server}
N=${2:-1000000}
P1=$((17000 + RANDOM % 1000)); P2=$((P1 + 1000))
DIR=$(mktemp -d)
trap 'redis-cli -p $P1 shutdown nosave >/dev/null 2>&1 || true; redis-cli -p $P2 shutdown nosave >/dev/null 2>&1 || true; rm -rf "$DIR"' EXIT

up() { for _ in $(seq 100); do redis-cli -p "$1" ping >/dev/null 2>&1 && return; sleep 0.05; done; echo "no server on $1"; exit 1; }

one() { # name, then the command that starts a server on port $PORT
  local name=$1; shift
  local d; d=$(mktemp -d -p "$DIR"); mkdir -p "$d/1" "$d/2"
  PORT=$P1 D=$d/1 eval "$@" & up $P1
  PORT=$P2 D=$d/2 eval "$@" & up $P2
  redis-benchmark -p $P1 -t set -n "$N" -r 100000000 -P 64 -d 16 -q >/dev/null
  local keys; keys=$(redis-cli -p $P1 dbsize)
  local t0; t0=$(date +%s.%N)
  redis-cli -p $P2 replicaof 127.0.0.1 $P1 >/dev/null
  while true; do
    local info; info=$(redis-cli -p $P2 info replication)
    if grep -q master_link_status:up <<<"$info" && grep -q master_sync_in_progress:0 <<<"$info" \
      && [ "$(redis-cli -p $P2 dbsize)" = "$keys" ]; then break; fi
    sleep 0.01
  done
  printf '| %s | %s | %.2f s |\n' "$name" "$keys" "$(echo "$(date +%s.%N) - $t0" | bc)"
  redis-cli -p $P1 shutdown nosave >/dev/null 2>&1 || true
  redis-cli -p $P2 shutdown nosave >/dev/null 2>&1 || true
  sleep 0.5
}

echo "| server | keys | full sync |"
echo "|---|---|---|"
one shoal "$BIN --port \$PORT --dir \$D >/dev/null 2>&1"
if command -v redis-server >/dev/null; then
  one "redis-server (defaults)" "redis-server --port \$PORT --save '' --appendonly no --dir \$D >/dev/null 2>&1"
  one "redis-server (repl-diskless-sync-delay 0)" "redis-server --port \$PORT --save '' --appendonly no --repl-diskless-sync-delay 0 --dir \$D >/dev/null 2>&1"
fi
