#!/usr/bin/env bash
# End-to-end test of the docker compose cluster: build the image (no registry needed), bring the
# six nodes up and wait until they formed 3 primaries + 3 replicas by themselves, run a redis-py
# cluster workload from the host, write keys, kill a primary container and check its replica is
# promoted with every key, restart the container and check it rejoins as a replica, tear down.
# Bounded in time; exits 0 with a message when no Docker daemon answers.
# With --tls: the same on docker/docker-compose.tls.yml (TLS only, certificates made now by
# docker/gen-tls-certs.sh), every tool talking TLS.
set -euo pipefail
cd "$(dirname "$0")/.."
FILE=docker/docker-compose.yml
PROJECT=shoaltest
TLSARGS=()
if [ "${1:-}" = --tls ]; then
  FILE=docker/docker-compose.tls.yml
  PROJECT=shoaltesttls
  T="$PWD/docker/tls"
  TLSARGS=(--tls --cacert "$T/ca.crt" --cert "$T/client.crt" --key "$T/client.key")
  export SHOAL_TLS_DIR="$T"
fi
rcli() { redis-cli "${TLSARGS[@]}" "$@"; }
if ! docker info >/dev/null 2>&1; then
  echo "docker: no daemon answers; skipping the compose test"
  exit 0
fi
if docker compose version >/dev/null 2>&1; then COMPOSE=(docker compose); else COMPOSE=(docker-compose); fi
DC=("${COMPOSE[@]}" -p "$PROJECT" -f "$FILE")
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
state_ok() { rcli -h "$1" -p 6379 cluster info | grep -q 'cluster_state:ok'; }

ip_of() { echo "172.28.0.1$1"; }      # service number -> address
svc_of() { echo "shoal${1##*.1}"; }     # address -> service name
role_of() { rcli -h "$1" -p 6379 role | head -1; }
is_role() { [ "$(role_of "$1")" = "$2" ]; }
follows() { [ "$(rcli -h "$1" -p 6379 role | sed -n 2p)" = "$2" ]; }
all_ok() { for ip in "$@"; do state_ok "$ip" || return 1; done; }
ALL=(); for i in 1 2 3 4 5 6; do ALL+=("$(ip_of $i)"); done

bash docker/build-image.sh
if [ ${#TLSARGS[@]} -gt 0 ]; then bash docker/gen-tls-certs.sh; fi
start=$SECONDS
"${DC[@]}" up -d
deadline 90 all_ok "${ALL[@]}" || { echo "the cluster never reached cluster_state:ok"; "${DC[@]}" logs --tail 30; exit 1; }
# Formation is done when three primaries own the slots and each has one replica.
shape_ok() {
  local nodes; nodes=$(rcli -h "${ALL[0]}" -p 6379 cluster nodes)
  [ "$(awk '$3 ~ /master/' <<<"$nodes" | wc -l)" = 3 ] && [ "$(awk '$3 ~ /slave/' <<<"$nodes" | wc -l)" = 3 ] || return 1
  for id in $(awk '$3 ~ /master/ {print $1}' <<<"$nodes"); do
    [ "$(awk -v p="$id" '$4 == p' <<<"$nodes" | wc -l)" = 1 ] || return 1
  done
  for ip in "${ALL[@]}"; do is_role "$ip" slave && ! rcli -h "$ip" info replication | grep -q 'master_link_status:up' && return 1; done
  return 0
}
deadline 60 shape_ok || { echo "the cluster did not settle as 3 primaries with one replica each"; rcli -h "${ALL[0]}" cluster nodes; exit 1; }
echo "compose cluster formed itself (3 primaries + 3 replicas) in $((SECONDS - start)) s"
rcli -h "${ALL[0]}" cluster nodes
CHECK=$(mktemp); trap 'cleanup; rm -f "$CHECK"' EXIT
rcli --cluster check "${ALL[0]}:6379" | tee "$CHECK" | tail -3
grep -q '\[OK\] All 16384 slots covered' "$CHECK" \
  && grep -q '\[OK\] All nodes agree' "$CHECK" \
  && ! grep -qE '\[(ERR|WARNING)\]' "$CHECK" || { echo "cluster check not clean"; exit 1; }

python3 tests/py/redis_py_cluster_check.py 6379 "${ALL[0]}"
# Not `grep -q`: it stops reading at the first match, and under pipefail curl's broken pipe
# would then fail the check.
curl -sf "http://${ALL[0]}:9121/metrics" | grep '^shoal_cluster_state_ok 1' >/dev/null \
  || { echo "metrics of a compose node do not show cluster_state ok"; exit 1; }
echo "metrics: ok"
python3 tests/py/compose_data_check.py write "${ALL[0]}"

# Kill a primary (SIGKILL): its replica must take over with every replicated key.
victim_ip=""; for ip in "${ALL[@]}"; do is_role "$ip" master && { victim_ip=$ip; break; }; done
victim=$(rcli -h "$victim_ip" cluster myid)
heir_ip=""; for ip in "${ALL[@]}"; do follows "$ip" "$victim_ip" && heir_ip=$ip; done
[ -n "$heir_ip" ] || { echo "no replica of $victim_ip found"; exit 1; }
survivors=(); for ip in "${ALL[@]}"; do [ "$ip" = "$victim_ip" ] || survivors+=("$ip"); done
"${DC[@]}" kill "$(svc_of "$victim_ip")" >/dev/null
t=$SECONDS
deadline 30 is_role "$heir_ip" master || { echo "replica $heir_ip was not promoted"; "${DC[@]}" logs --tail 20; exit 1; }
deadline 30 all_ok "${survivors[@]}" || { echo "survivors not ok after the failover"; exit 1; }
echo "primary $victim_ip killed: replica $heir_ip promoted, cluster ok after $((SECONDS - t)) s"
python3 tests/py/compose_data_check.py read "${heir_ip}"

# Restart it: same identity, now a replica of the node that took its slots.
"${DC[@]}" start "$(svc_of "$victim_ip")" >/dev/null
t=$SECONDS
deadline 60 follows "$victim_ip" "$heir_ip" || { echo "restarted $victim_ip did not become a replica of $heir_ip"; rcli -h "$victim_ip" role; exit 1; }
deadline 60 all_ok "${ALL[@]}" || { echo "cluster not ok after the restart"; exit 1; }
[ "$(rcli -h "$victim_ip" cluster myid)" = "$victim" ] || { echo "restarted node lost its identity"; exit 1; }
link_up() { rcli -h "$1" info replication | grep -q master_link_status:up; }
deadline 30 link_up "$victim_ip" \
  || { echo "restarted node's replication link is not up"; exit 1; }
echo "restarted $victim_ip rejoined as a replica of $heir_ip after $((SECONDS - t)) s"
echo "docker compose test: passed"
