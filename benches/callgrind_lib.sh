# Shared by benches/callgrind.sh and benches/callgrind_scripting.sh (source it): start a server
# under callgrind, count only a load's instructions, sum them over the dump's parts.

port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 1 300); do redis-cli -p "$1" ping >/dev/null 2>&1 && return 0; sleep 0.1; done; return 1; }

# cg_start redis|shoal OUTFILE PORT [shoal binary]: the server under callgrind; sets CG_PID.
cg_start() {
  if [ "$1" = redis ]; then
    valgrind --tool=callgrind --callgrind-out-file="$2" redis-server --port "$3" --bind 127.0.0.1 --save "" --appendonly no >/dev/null 2>&1 &
  else
    valgrind --tool=callgrind --callgrind-out-file="$2" "${4:-./target/release/shoal-server}" --port "$3" --bind 127.0.0.1 --threads 1 >/dev/null 2>&1 &
  fi
  CG_PID=$!
  wait_port "$3"
}

# cg_zero: count from now on (after start-up or a warm-up).
cg_zero() { callgrind_control -z "$CG_PID" >/dev/null 2>&1; }

# cg_stop OUTFILE PORT: dump, shut the server down, print the instructions counted.
cg_stop() {
  callgrind_control -d "$CG_PID" >/dev/null 2>&1
  redis-cli -p "$2" shutdown nosave >/dev/null 2>&1 || true
  wait "$CG_PID" 2>/dev/null || true
  local total=0 n f
  for f in "$1".*; do
    n=$(callgrind_annotate "$f" 2>/dev/null | awk '/PROGRAM TOTALS/ {gsub(",","",$1); print $1}')
    total=$((total + ${n:-0}))
  done
  echo "$total"
}
