#!/usr/bin/env bash
# Live migration: full-sync time of a replica of a redis-server 7.0.15 primary holding N keys
# (DEBUG POPULATE N), a redis-server replica vs a shoal replica (REPLICAOF, then until the link
# is up, no sync is in progress and DBSIZE matches).
#
#   benches/live_migration.sh [./target/release/shoal-server] [N] [diskless: yes|no]
# A shoal replica does not announce `capa eof`, so Redis sends it a disk-based RDB; with
# diskless=yes (its default; the delay is set to 0) the redis-server replica gets a socket one.
set -euo pipefail
BIN=${1:-./target/release/shoal-server}
N=${2:-1000000}
DISKLESS=${3:-yes}
P1=${P1:-$((17000 + RANDOM % 1000))}; P2=$((P1 + 1)); P3=$((P1 + 2))  # P1=...: ports of your own
DIR=$(mktemp -d)
mkdir -p "$DIR/p" "$DIR/r" "$DIR/s"
trap 'for p in $P1 $P2 $P3; do redis-cli -p $p shutdown nosave >/dev/null 2>&1 || true; done; rm -rf "$DIR"' EXIT

up() { for _ in $(seq 100); do redis-cli -p "$1" ping >/dev/null 2>&1 && return; sleep 0.05; done; echo "no server on $1"; exit 1; }

synced() { # port keys
  while true; do
    local info; info=$(redis-cli -p "$1" info replication)
    if grep -q master_link_status:up <<<"$info" && grep -q master_sync_in_progress:0 <<<"$info" \
      && [ "$(redis-cli -p "$1" dbsize)" = "$2" ]; then break; fi
    sleep 0.01
  done
}

redis-server --port $P1 --enable-debug-command yes --repl-diskless-sync "$DISKLESS" \
  --repl-diskless-sync-delay 0 --save "" --appendonly no --dir "$DIR/p" >/dev/null 2>&1 &
up $P1
redis-cli -p $P1 debug populate "$N" >/dev/null
keys=$(redis-cli -p $P1 dbsize)
echo "| replica of redis-server (diskless $DISKLESS) | keys | full sync |"
echo "|---|---|---|"
redis-server --port $P2 --save "" --appendonly no --dir "$DIR/r" >/dev/null 2>&1 &
up $P2
t0=$(date +%s.%N); redis-cli -p $P2 replicaof 127.0.0.1 $P1 >/dev/null; synced $P2 "$keys"
printf '| redis-server | %s | %.2f s |\n' "$keys" "$(echo "$(date +%s.%N) - $t0" | bc)"
redis-cli -p $P2 shutdown nosave >/dev/null 2>&1 || true
$BIN --port $P3 --dir "$DIR/s" >/dev/null 2>&1 &
up $P3
t0=$(date +%s.%N); redis-cli -p $P3 replicaof 127.0.0.1 $P1 >/dev/null; synced $P3 "$keys"
printf '| shoal | %s | %.2f s |\n' "$keys" "$(echo "$(date +%s.%N) - $t0" | bc)"
