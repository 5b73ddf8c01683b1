#!/usr/bin/env bash
# End-to-end test of the docker compose cluster: build the image (no registry needed), bring the
# cluster up, wait for cluster_state:ok, run a redis-py cluster workload from the host, kill one
# node and check the others mark it failed, restart it and check it rejoins, tear down.
# Bounded in time; exits 0 with a message when no Docker daemon answers.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! docker info >/dev/null 2>&1; then
  echo "docker: no daemon answers; skipping the compose test"
  exit 0
fi
if docker compose version >/dev/null 2>&1; then COMPOSE=(docker compose); else COMPOSE=(docker-compose); fi
PROJECT=shoaltest
DC=("${COMPOSE[@]}" -p "$PROJECT" -f docker/docker-compose.yml)
cleanup() { "${DC[@]}" down -v --remove-orphans >/dev/null 2>&1 || true; }
trap cleanup EXIT
cleanup

deadline() { # seconds, command...: retry until it succeeds or time runs out
  local until=$((SECONDS + $1)); shift
  until "$@" >/dev/null 2>&1; do
    [ $SECONDS -lt $until ] || return 1
    sleep 0.5
  done
}
state_ok() { redis-cli -h "$1" -p 6379 cluster info | grep -q 'cluster_state:ok'; }
sees_fail() { redis-cli -h "$1" -p 6379 cluster nodes | grep "^$2 " | awk '{print $3}' | tr ',' '\n' | grep -qx fail; }

bash docker/build-image.sh
start=$SECONDS
"${DC[@]}" up -d
for ip in 172.28.0.11 172.28.0.12 172.28.0.13; do
  deadline 60 state_ok $ip || { echo "node $ip never reached cluster_state:ok"; "${DC[@]}" logs --tail 30; exit 1; }
done
echo "compose cluster formed itself in $((SECONDS - start)) s"
redis-cli -h 172.28.0.11 cluster nodes

python3 tests/py/redis_py_cluster_check.py 6379 172.28.0.11
curl -sf http://172.28.0.11:9121/metrics | grep -q '^shoal_cluster_state_ok 1' \
  || { echo "metrics of a compose node do not show cluster_state ok"; exit 1; }
echo "metrics: ok"

victim=$(redis-cli -h 172.28.0.13 cluster myid)
docker kill "${PROJECT}_shoal3_1" >/dev/null 2>&1 || docker kill "${PROJECT}-shoal3-1" >/dev/null
t=$SECONDS
deadline 20 sees_fail 172.28.0.11 "$victim" && deadline 20 sees_fail 172.28.0.12 "$victim" \
  || { echo "the others did not mark the killed node failed"; exit 1; }
echo "killed node marked failed after $((SECONDS - t)) s"

"${DC[@]}" start shoal3 >/dev/null
t=$SECONDS
for ip in 172.28.0.11 172.28.0.12 172.28.0.13; do
  deadline 60 state_ok $ip || { echo "node $ip not ok after the restart"; exit 1; }
done
[ "$(redis-cli -h 172.28.0.13 cluster myid)" = "$victim" ] || { echo "restarted node lost its identity"; exit 1; }
echo "restarted node rejoined with its identity after $((SECONDS - t)) s"
echo "docker compose test: passed"
