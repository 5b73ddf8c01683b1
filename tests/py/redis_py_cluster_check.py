"""redis-py RedisCluster against a running shoal cluster: discovery (CLUSTER SLOTS), writes and
reads spread over every node, redirects, hash tags, pipelines, CROSSSLOT errors.

Usage: python3 tests/py/redis_py_cluster_check.py PORT [HOST]
"""
import os

import redis
from redis.cluster import RedisCluster

from checklib import check, summary, target

# SHOAL_TLS_DIR (docker/test-compose.sh --tls): talk TLS with the certificates there.
_tls = os.environ.get("SHOAL_TLS_DIR")
TLS = dict(ssl=True, ssl_ca_certs=f"{_tls}/ca.crt", ssl_certfile=f"{_tls}/client.crt",
           ssl_keyfile=f"{_tls}/client.key") if _tls else {}

port, host = target()

rc = RedisCluster(host=host, port=port, decode_responses=True, **TLS)
nodes = rc.get_primaries()
check(len(nodes) == 3, f"three primaries discovered: {nodes}")
for i in range(1000):
    rc.set(f"key:{i}", i)
check(all(rc.get(f"key:{i}") == str(i) for i in range(0, 1000, 37)), "reads back")
sizes = [rc.dbsize(target_nodes=n) for n in nodes]
check(sum(sizes) >= 1000 and all(s > 200 for s in sizes), f"keys spread over nodes: {sizes}")
check(rc.mset_nonatomic({"a": 1, "b": 2, "c": 3}) is not None, "mset_nonatomic across slots")
check(rc.mset({"x{t}": 1, "y{t}": 2}) is True, "mset within one slot")
check(rc.mget("x{t}", "y{t}") == ["1", "2"], "mget within one slot")
try:
    rc.mset({"x": 1, "y": 2})
    check(False, "client-side slot check expected")
except redis.exceptions.RedisClusterException:
    check(True, "client refuses cross-slot MSET")
plain = redis.Redis(host=host, port=port, **TLS)
try:
    plain.execute_command("MSET", "x", "1", "y", "2")
    check(False, "CROSSSLOT expected")
except redis.ResponseError as e:
    check(str(e) == "Keys in request don't hash to the same slot", f"server refuses cross-slot: {e}")
plain.close()
pipe = rc.pipeline()
for i in range(50):
    pipe.incr(f"ctr:{i % 5}")
res = pipe.execute()
check(res[-1] == 10, f"pipeline: {res[-5:]}")
check(rc.cluster_keyslot("foo") == 12182, "CLUSTER KEYSLOT")
info = rc.cluster_info()
check(info.get("cluster_state") == "ok", f"cluster_info: {info}")
rc.close()
summary(f"redis-py {redis.__version__} cluster")
