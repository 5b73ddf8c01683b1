#!/usr/bin/env bash
# Where a TLS request's CPU goes, shoal vs redis-server, in counts that a shared, noisy machine
# does not blur (benches/tls.py gives the wall-clock CPU): for redis-benchmark --tls -P 1 (or -P
# given) against each server, TLS-only, one core each:
#   - system calls per request, by name (strace -c -f over a 50 000-request run);
#   - voluntary context switches (sleeps in epoll_wait) and run-queue wait per request
#     (/proc/PID/task/*/status and schedstat, over a 200 000-request run without strace);
#   - user-space instructions per request (callgrind: a 40 000-request run minus a 10 000-request
#     one, so the 50 handshakes of each run cancel out).
# Usage: benches/tls_profile.sh [test=set] [pipeline=1] [shoal binary]
set -euo pipefail
cd "$(dirname "$0")/.."
T=${1:-set}
P=${2:-1}
BIN=${3:-./target/release/shoal-server}
for tool in redis-server redis-benchmark redis-cli strace valgrind callgrind_annotate; do
  command -v $tool >/dev/null || { echo "$tool not found"; exit 1; }
done
C=$(mktemp -d)
trap 'rm -rf "$C"' EXIT
tests/redis-suite/gen-test-certs.sh "$C" >/dev/null 2>&1
TLS=(--tls-cert-file "$C/server.crt" --tls-key-file "$C/server.key" --tls-ca-cert-file "$C/ca.crt" --tls-auth-clients no)
CLI=(--tls --cacert "$C/ca.crt")
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 1 300); do redis-cli -p "$1" "${CLI[@]}" ping >/dev/null 2>&1 && return 0; sleep 0.1; done; return 1; }
# start NAME PORT [wrapper...]: the server's command line, TLS only.
argv() {
  if [ "$1" = redis ]; then
    echo redis-server --port 0 --tls-port "$2" --bind 127.0.0.1 --save "" --appendonly no "${TLS[@]}"
  else
    echo "$BIN" --port 0 --tls-port "$2" --bind 127.0.0.1 --threads 1 "${TLS[@]}"
  fi
}
bench() { taskset -c 1 redis-benchmark -p "$1" "${CLI[@]}" -c 50 -r 100000 -d 64 -n "$2" -P "$P" -t "$T" -q >/dev/null; }
sum() { awk -v c="$1" '{s+=$c} END{print s+0}'; }

echo "# redis-benchmark --tls -c 50 -r 100000 -d 64 -P $P -t $T; servers on cpu 0, redis-benchmark on cpu 1"
for srv in redis shoal; do
  echo "## $srv"
  # System calls.
  p=$(port)
  # shellcheck disable=SC2046
  taskset -c 0 $(argv $srv "$p") >/dev/null 2>&1 &
  pid=$!
  wait_port "$p"
  strace -c -f -p "$pid" -o "$C/strace" 2>/dev/null &
  st=$!
  sleep 0.5
  bench "$p" 50000
  kill -INT $st; wait $st 2>/dev/null || true
  awk 'NR>2 && $NF!="total" && $1 !~ /^-/ { calls=($4 ~ /^[0-9]+$/) ? $4 : $3; if (calls+0 >= 500) printf "syscall %-14s %.3f per request\n", $NF, calls/50000 }' "$C/strace"
  # Sleeps and run-queue wait.
  v0=$(cat /proc/$pid/task/*/status | awk '/^voluntary_ctxt/{s+=$2} END{print s}')
  r0=$(cat /proc/$pid/task/*/schedstat | sum 1); w0=$(cat /proc/$pid/task/*/schedstat | sum 2)
  bench "$p" 200000
  v1=$(cat /proc/$pid/task/*/status | awk '/^voluntary_ctxt/{s+=$2} END{print s}')
  r1=$(cat /proc/$pid/task/*/schedstat | sum 1); w1=$(cat /proc/$pid/task/*/schedstat | sum 2)
  python3 -c "print(f'on-CPU {($r1-$r0)/2e8:.2f} us/req, run-queue wait {($w1-$w0)/2e8:.2f} us/req, sleeps {($v1-$v0)/2e5:.4f} per request')"
  kill $pid; wait $pid 2>/dev/null || true
  # User-space instructions.
  p=$(port)
  # shellcheck disable=SC2046
  valgrind --tool=callgrind --callgrind-out-file="$C/cg" $(argv $srv "$p") >/dev/null 2>&1 &
  pid=$!
  wait_port "$p"
  total() { local s=0 n; for f in "$C"/cg.*; do n=$(callgrind_annotate "$f" 2>/dev/null | awk '/PROGRAM TOTALS/ {gsub(",","",$1); print $1}'); s=$((s + ${n:-0})); done; rm -f "$C"/cg.*; echo $s; }
  callgrind_control -z $pid >/dev/null 2>&1; bench "$p" 10000; callgrind_control -d $pid >/dev/null 2>&1; a=$(total)
  callgrind_control -z $pid >/dev/null 2>&1; bench "$p" 40000; callgrind_control -d $pid >/dev/null 2>&1; b=$(total)
  kill $pid; wait $pid 2>/dev/null || true
  echo "user-space instructions $(( (b - a) / 30000 )) per request (callgrind)"
done
