#!/usr/bin/env bash
# Redis 7.0.15's own test suite (this folder: its tests/ and runtest, BSD-3, see COPYING) against
# shoal, unit by unit, with a floor per unit (floors.txt): fails if any unit passes fewer tests
# than its floor. Raise a floor when work lands; never lower one without saying why.
#
#   tests/redis-suite/check.sh target/release/shoal-server            # check against the floors
#   tests/redis-suite/check.sh target/release/shoal-server --print    # just print the counts
set -uo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
BIN=${1:?usage: check.sh <shoal-server> [--print]}
MODE=${2:-check}
FLOORS="$HERE/floors.txt"
UNITS=$(awk '!/^#/ && NF {print $1}' "$FLOORS" | tr '\n' ' ')
command -v tclsh >/dev/null || { echo "check.sh: tclsh is needed (apt-get install tcl)"; exit 2; }

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
LOG=$(mktemp)
# The suite may SAVE: the RDB file goes to a scratch dir, not the current one.
DIR=$(mktemp -d)
"$BIN" --port "$PORT" --bind 127.0.0.1 --threads 2 --enable-debug-command yes --dir "$DIR" >"$LOG" 2>&1 &
PID=$!
trap 'kill $PID 2>/dev/null; rm -f "$LOG"; rm -rf "$DIR"' EXIT
for _ in $(seq 1 100); do grep -q "Ready to accept" "$LOG" && break; sleep 0.1; done
grep -q "Ready to accept" "$LOG" || { echo "shoal did not start:"; cat "$LOG"; exit 2; }

OUT=$(bash "$HERE/run-external.sh" --host 127.0.0.1 --port "$PORT" --units "$UNITS" --skipfile none)
echo "$OUT"
kill -0 $PID 2>/dev/null || { echo "shoal-server died during the suite:"; tail -20 "$LOG"; exit 1; }
[ "$MODE" = "--print" ] && exit 0

fail=0 total=0 floor_total=0
while read -r unit floor _; do
  case "$unit" in ''|\#*) continue;; esac
  line=$(echo "$OUT" | grep -E "^$unit: " | head -1)
  got=$(echo "$line" | sed -E 's/^[^:]*: ([0-9]+) passed.*/\1/')
  [ -n "$got" ] || got=0
  total=$((total + got)); floor_total=$((floor_total + floor))
  if [ "$got" -lt "$floor" ]; then
    echo "REGRESSION: $unit passed $got, floor is $floor"; fail=1
  elif echo "$line" | grep -q ABORTED; then
    echo "REGRESSION: $unit aborted: $line"; fail=1
  fi
done <"$FLOORS"
echo "redis suite: $total passed (floors sum to $floor_total)"
exit $fail
