"""redis-py pub/sub against a running shoal cluster of primaries: sharded pub/sub through
RedisCluster (ssubscribe on each channel's owner, spublish, get_sharded_message), and classic
PUBLISH carried by the cluster bus to a subscriber on another node, in order.

Usage: python3 tests/py/cluster_pubsub_check.py PORT [HOST]
"""
import time

import redis
from redis.cluster import RedisCluster

from checklib import check, summary, target

port, host = target()


def drain(get, want, what, timeout=10.0):
    """Calls get() until `want` messages of type message/smessage/pmessage came."""
    got = []
    deadline = time.time() + timeout
    while len(got) < want and time.time() < deadline:
        m = get()
        if m and m["type"] in ("message", "smessage", "pmessage"):
            got.append(m)
    check(len(got) == want, f"{what}: {len(got)} of {want} messages: {got[:5]}")
    return got


rc = RedisCluster(host=host, port=port, decode_responses=True)
primaries = rc.get_primaries()
check(len(primaries) >= 2, f"primaries discovered: {primaries}")

# One shard channel per primary.
owner = {}
i = 0
while len(owner) < len(primaries):
    ch = f"shard:{i}"
    node = rc.get_node_from_key(ch)
    owner.setdefault(node.name, ch)
    i += 1
channels = list(owner.values())

sp = rc.pubsub()
sp.ssubscribe(*channels)
confirmed = set()
deadline = time.time() + 10
while len(confirmed) < len(channels) and time.time() < deadline:
    m = sp.get_sharded_message(timeout=0.5)
    if m and m["type"] == "ssubscribe":
        confirmed.add(m["channel"])
check(confirmed == set(channels), f"ssubscribe confirmed on every owner: {confirmed}")

for ch in channels:
    check(rc.spublish(ch, f"hello {ch}") == 1, f"spublish {ch} reaches its subscriber")
got = drain(lambda: sp.get_sharded_message(timeout=0.5), len(channels), "sharded messages")
check(
    sorted((m["channel"], m["data"]) for m in got) == sorted((c, f"hello {c}") for c in channels),
    f"sharded messages: {got}",
)
plain = redis.Redis(host=host, port=port)
try:
    plain.execute_command("SSUBSCRIBE", channels[0], channels[1])
    check(False, "CROSSSLOT expected")
except redis.ResponseError as e:
    check("don't hash to the same slot" in str(e), f"cross-slot SSUBSCRIBE refused: {e}")
plain.close()
sp.sunsubscribe()
sp.close()

# PUBLISH on one node, subscribers (channel and pattern) on another: every message, in order.
ps = rc.pubsub()
ps.subscribe("news")
ps.psubscribe("ne*")
sub_node = ps.get_pubsub_node() if hasattr(ps, "get_pubsub_node") else ps.node
time.sleep(0.2)
others = [n for n in primaries if n.name != sub_node.name]
check(len(others) >= 1, "a node other than the subscriber's")
pub = redis.Redis(host=others[0].host, port=others[0].port, decode_responses=True)
for n in range(100):
    pub.publish("news", str(n))
got = drain(lambda: ps.get_message(timeout=0.5), 200, "published messages")
plain_msgs = [m["data"] for m in got if m["type"] == "message"]
pat_msgs = [m["data"] for m in got if m["type"] == "pmessage"]
check(plain_msgs == [str(n) for n in range(100)], f"channel messages in order: {plain_msgs[:10]}")
check(pat_msgs == [str(n) for n in range(100)], f"pattern messages in order: {pat_msgs[:10]}")
info = pub.execute_command("CLUSTER", "INFO")
if isinstance(info, bytes):
    info = info.decode()
check("cluster_stats_messages_publish_sent:" in info, "publish counted in CLUSTER INFO")
pub.close()
ps.close()
rc.close()
summary(f"redis-py {redis.__version__} cluster pub/sub")
