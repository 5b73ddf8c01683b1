#!/bin/bash
# CPU time of the server per request: HSET/HGET (1M requests, 100k random fields, P16, c50).
bin=${1:?usage: benches/hash_cpu.sh SERVER-BINARY [port]}
port=${2:-21003}
if [ "$(basename "$bin")" = redis-server ]; then extra=(--save "" --appendonly no); else extra=(--threads 2); fi
$bin --port $port --bind 127.0.0.1 "${extra[@]}" > /dev/null 2>&1 & pid=$!
sleep 0.5
cpu() { awk '{print $14+$15}' /proc/$pid/stat; }
tck=$(getconf CLK_TCK)
for cmd in "HSET myhash element:__rand_int__ xxxxxxxx" "HGET myhash element:__rand_int__" "HSET h:__rand_int__ f v" "HGET h:__rand_int__ f"; do
  a=$(cpu); redis-benchmark -p $port -n 1000000 -P 16 -c 50 -r 100000 -q $cmd > /dev/null 2>&1; b=$(cpu)
  echo "$cmd: $(echo "($b-$a)*1000000/$tck/1000000" | bc -l | cut -c1-5) us CPU/request"
done
kill $pid
