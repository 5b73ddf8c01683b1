"""Writes keys into a running cluster and waits until every replica has them, or reads them all
back (retrying the redirects and CLUSTERDOWN a failover causes, for a bounded time).

Usage: python3 tests/py/compose_data_check.py write|read HOST [PORT] [COUNT]
"""
import os
import sys
import time

import redis
from redis.cluster import RedisCluster

# SHOAL_TLS_DIR (docker/test-compose.sh --tls): talk TLS with the certificates there.
_tls = os.environ.get("SHOAL_TLS_DIR")
TLS = dict(ssl=True, ssl_ca_certs=f"{_tls}/ca.crt", ssl_certfile=f"{_tls}/client.crt",
           ssl_keyfile=f"{_tls}/client.key") if _tls else {}

mode, host = sys.argv[1], sys.argv[2]
port = int(sys.argv[3]) if len(sys.argv) > 3 else 6379
count = int(sys.argv[4]) if len(sys.argv) > 4 else 2000
DEADLINE = time.monotonic() + 60


def fail(what):
    print(f"FAIL: {what}")
    sys.exit(1)


def replicas_caught_up(rc):
    """Every primary's replicas report its whole replication offset."""
    for node in rc.get_primaries():
        info = redis.Redis(host=node.host, port=node.port, **TLS).info("replication")
        if info.get("connected_slaves", 0) < 1:
            return False
        offset = info["master_repl_offset"]
        for k, v in info.items():
            if k.startswith("slave") and isinstance(v, dict) and v.get("offset", -1) < offset:
                return False
    return True


rc = RedisCluster(host=host, port=port, decode_responses=True, **TLS)
if mode == "write":
    for i in range(count):
        rc.set(f"compose:{i}", f"v{i}")
    while not replicas_caught_up(rc):
        if time.monotonic() > DEADLINE:
            fail("replicas did not catch up with their primaries in 60 s")
        time.sleep(0.2)
    print(f"wrote {count} keys; every replica caught up")
elif mode == "read":
    missing = []
    for i in range(count):
        while True:
            try:
                v = rc.get(f"compose:{i}")
                break
            except (redis.exceptions.ClusterDownError, redis.exceptions.ConnectionError,
                    redis.exceptions.TimeoutError):
                if time.monotonic() > DEADLINE:
                    fail("cluster did not serve reads within 60 s")
                time.sleep(0.2)
                rc = RedisCluster(host=host, port=port, decode_responses=True, **TLS)
        if v != f"v{i}":
            missing.append((i, v))
    if missing:
        fail(f"{len(missing)} of {count} keys lost or wrong after the failover: {missing[:5]}")
    print(f"all {count} keys readable")
else:
    fail(f"unknown mode {mode}")
