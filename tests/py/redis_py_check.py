"""redis-py against a running shoal-server: the connect handshake it sends (RESP3 HELLO,
CLIENT SETINFO), plain commands, pipeline() with its default MULTI/EXEC, WATCH, errors.

Usage: python3 tests/py/redis_py_check.py PORT
"""
import time

import redis

from checklib import check, summary, target

port, _ = target()


for protocol in (3, 2):
    r = redis.Redis(host="127.0.0.1", port=port, protocol=protocol, decode_responses=True)
    check(r.ping() is True, "ping")
    r.flushdb()
    check(r.set("a", "1") is True, "set")
    check(r.get("a") == "1", "get")
    check(r.get("missing") is None, "get missing")
    check(r.incr("a") == 2, "incr")
    check(r.incrbyfloat("f", 1.5) == 1.5, "incrbyfloat")
    check(r.mset({"x{t}": "1", "y{t}": "2"}) is True, "mset")
    check(r.mget(["x{t}", "y{t}", "z{t}"]) == ["1", "2", None], "mget")
    check(r.set("e", "v", ex=100) is True and 99 <= r.ttl("e") <= 100, "set ex / ttl")
    check(r.expire("e", 5) is True and r.persist("e") is True, "expire / persist")
    check(r.exists("a", "x{t}", "nope") == 2, "exists")
    check(r.type("a") == "string", "type")
    check(sorted(r.keys("*")) == sorted(["a", "f", "x{t}", "y{t}", "e"]), "keys")
    check(sorted(r.scan_iter(match="*{t}")) == ["x{t}", "y{t}"], "scan_iter")
    check(r.dbsize() == 5, "dbsize")
    check(r.getrange("x{t}", 0, -1) == "1", "getrange")
    check(r.append("x{t}", "0") == 2, "append")
    check(r.getdel("x{t}") == "10", "getdel")
    # pipeline() wraps in MULTI/EXEC by default
    with r.pipeline() as p:
        p.set("p1", "a").incr("ctr").incr("ctr").get("p1")
        check(p.execute() == [True, 1, 2, "a"], "pipeline transaction")
    with r.pipeline(transaction=False) as p:
        p.get("p1").get("ctr")
        check(p.execute() == ["a", "2"], "plain pipeline")
    # WATCH-based optimistic transaction
    with r.pipeline() as p:
        p.watch("ctr")
        cur = int(p.get("ctr"))
        p.multi()
        p.set("ctr", cur + 10)
        check(p.execute() == [True], "watch transaction")
    check(r.get("ctr") == "12", "watch result")
    other = redis.Redis(host="127.0.0.1", port=port, protocol=protocol)
    with r.pipeline() as p:
        p.watch("ctr")
        other.set("ctr", "99")
        p.multi()
        p.set("ctr", "0")
        try:
            p.execute()
            check(False, "WatchError expected")
        except redis.WatchError:
            check(True, "watch error")
    # errors are raised with Redis's text
    try:
        r.execute_command("SET", "k")
        check(False, "arity error expected")
    except redis.ResponseError as e:
        check(str(e) == "wrong number of arguments for 'set' command", f"arity text: {e}")
    r.set("s", "abc")
    try:
        r.incr("s")
        check(False, "not-integer error expected")
    except redis.ResponseError as e:
        check("not an integer" in str(e), f"incr text: {e}")
    # the handshake left its traces
    info = r.client_info()
    check(info.get("lib-name", "").startswith("redis-py"), f"CLIENT SETINFO lib-name: {info}")
    check(str(info.get("resp")) == str(protocol), f"resp in client info: {info}")
    check(r.info("server")["redis_version"].startswith("7."), "info server")
    check(r.config_get("save") == {"save": ""}, "config get save")
    cmds = r.command()
    check("get" in cmds and cmds["get"]["arity"] == 2, "COMMAND parsed")
    check(r.client_setname("py") is True and r.client_getname() == "py", "client name")
    r.close()
    other.close()


def next_message(ps, timeout=5.0):
    """The next message (not a confirmation) from a PubSub, or None after timeout seconds."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        m = ps.get_message(ignore_subscribe_messages=True, timeout=0.2)
        if m is not None:
            return m
    return None


# Pub/Sub as applications use it: get_message, listen, run_in_thread, patterns, keyspace events.
for protocol in (3, 2):
    r = redis.Redis(host="127.0.0.1", port=port, protocol=protocol, decode_responses=True)
    ps = r.pubsub()
    ps.subscribe("news")
    ps.psubscribe("ev.*")
    first = ps.get_message(timeout=2)
    check(first and first["type"] == "subscribe" and first["data"] == 1, f"subscribe: {first}")
    check(ps.get_message(timeout=2)["type"] == "psubscribe", "psubscribe confirmation")
    check(r.publish("news", "hello") == 1, "publish count")
    m = next_message(ps)
    check(m and m["channel"] == "news" and m["data"] == "hello", f"message: {m}")
    r.publish("ev.login", "bob")
    m = next_message(ps)
    check(m and m["type"] == "pmessage" and m["pattern"] == "ev.*", f"pmessage: {m}")
    check(r.pubsub_numsub("news") == [("news", 1)], "PUBSUB NUMSUB")
    check(r.pubsub_numpat() == 1, "PUBSUB NUMPAT")
    check("news" in r.pubsub_channels(), "PUBSUB CHANNELS")
    # listen() yields in publish order
    for i in range(5):
        r.publish("news", str(i))
    got = []
    for m in ps.listen():
        if m["type"] == "message":
            got.append(m["data"])
            if len(got) == 5:
                break
    check(got == ["0", "1", "2", "3", "4"], f"listen order: {got}")
    ps.unsubscribe()
    ps.punsubscribe()
    ps.close()
    # run_in_thread with a handler
    seen = []
    ps = r.pubsub()
    ps.subscribe(**{"jobs": lambda m: seen.append(m["data"])})
    worker = ps.run_in_thread(sleep_time=0.05, daemon=True)
    deadline = time.time() + 5
    while r.pubsub_numsub("jobs") != [("jobs", 1)] and time.time() < deadline:
        time.sleep(0.02)
    r.publish("jobs", "j1")
    r.publish("jobs", "j2")
    while len(seen) < 2 and time.time() < deadline:
        time.sleep(0.02)
    worker.stop()
    worker.join(timeout=5)
    ps.close()
    check(seen == ["j1", "j2"], f"run_in_thread: {seen}")
    # keyspace notifications
    r.config_set("notify-keyspace-events", "KEA")
    ps = r.pubsub()
    ps.psubscribe("__keyevent@0__:*")
    ps.get_message(timeout=2)
    r.set("kn", "1")
    m = next_message(ps)
    check(m and m["channel"] == "__keyevent@0__:set" and m["data"] == "kn", f"keyevent: {m}")
    ps.close()
    r.config_set("notify-keyspace-events", "")
    r.close()

# Client-side caching (RESP3, CLIENT TRACKING, invalidation pushes). One connection: a pooled
# connection with an unread push is dropped by redis-py's pool (against Redis too).
r = redis.Redis(
    host="127.0.0.1", port=port, protocol=3, decode_responses=True, single_connection_client=True
)
w = redis.Redis(host="127.0.0.1", port=port, decode_responses=True)
w.set("cached", "v1")
check(r.client_tracking_on() in (True, "OK"), "CLIENT TRACKING ON")
check(r.get("cached") == "v1", "tracked read")
w.set("cached", "v2")
check(r.get("cached") == "v2", "read after invalidation")
check(r.client_trackinginfo()["flags"] == ["on"], f"trackinginfo: {r.client_trackinginfo()}")
r.close()
w.close()

# Scripting as libraries use it: Lock (SCRIPT LOAD + EVALSHA), Script objects (NOSCRIPT
# fallback after SCRIPT FLUSH), scripts in pipelines, functions.
for protocol in (3, 2):
    r = redis.Redis(host="127.0.0.1", port=port, protocol=protocol, decode_responses=True)
    r.delete("lock:a", "rl", "ctr")
    lock = r.lock("lock:a", timeout=5)
    check(lock.acquire(blocking=False) is True, "lock acquire")
    check(r.lock("lock:a").acquire(blocking=False) is False, "second lock refused")
    check(lock.extend(5) is True, "lock extend")
    check(lock.reacquire() is True, "lock reacquire")
    lock.release()
    check(r.get("lock:a") is None, "lock released")
    incr_by = r.register_script("return redis.call('incrby', KEYS[1], ARGV[1])")
    check(incr_by(keys=["ctr"], args=[5]) == 5, "Script call")
    r.script_flush()
    check(incr_by(keys=["ctr"], args=[2]) == 7, "Script reloads after NOSCRIPT")
    limiter = r.register_script(
        "local n = redis.call('incr', KEYS[1]) "
        "if n == 1 then redis.call('pexpire', KEYS[1], ARGV[2]) end "
        "return n <= tonumber(ARGV[1]) and 1 or 0"
    )
    allowed = [limiter(keys=["rl"], args=[3, 10000]) for _ in range(5)]
    check(allowed == [1, 1, 1, 0, 0], f"rate limiter: {allowed}")
    with r.pipeline() as p:
        incr_by(keys=["ctr"], args=[1], client=p)
        p.get("ctr")
        check(p.execute() == [8, "8"], "script in a pipeline")
    r.function_load(
        "#!lua name=pylib\nredis.register_function('hi', function(k, a) return 'hi ' .. a[1] end)",
        replace=True,
    )
    check(r.fcall("hi", 0, "py") == "hi py", "fcall")
    try:
        r.eval("return redis.call('nosuch')", 0)
        check(False, "script error expected")
    except redis.ResponseError as e:
        check("Unknown Redis command called from script" in str(e), f"script error: {e}")
    r.function_delete("pylib")
    # Streams as redis-py's tests for Redis 7.2 read them: XINFO CONSUMERS with `inactive`
    # (-1 for a consumer that never got entries), XINFO STREAM FULL with `active-time`.
    r.delete("st")
    for _ in range(3):
        r.xadd("st", {"foo": "bar"})
    r.xgroup_create("st", "grp", 0)
    r.xreadgroup("grp", "consumer1", streams={"st": ">"}, count=1)
    r.xreadgroup("grp", "consumer2", streams={"st": ">"})
    r.xreadgroup("grp", "consumer3", streams={"st": ">"})
    info = r.xinfo_consumers("st", "grp")
    for c in info:
        check(isinstance(c.pop("idle"), int), f"xinfo_consumers idle ({protocol})")
    inactive = [c.pop("inactive") for c in info]
    check(inactive[2] == -1 and all(isinstance(n, int) and n >= 0 for n in inactive[:2]),
          f"xinfo_consumers inactive: {inactive} ({protocol})")
    want = [{"name": "consumer1", "pending": 1}, {"name": "consumer2", "pending": 2},
            {"name": "consumer3", "pending": 0}]
    check(info == want, f"xinfo_consumers: {info} ({protocol})")
    full = r.xinfo_stream("st", full=True)
    cons = full["groups"][0]["consumers"]
    check([c["active-time"] for c in cons][2] == -1
          and cons[0]["active-time"] == cons[0]["seen-time"],
          f"xinfo_stream full consumers: {cons} ({protocol})")
    r.close()

summary(f"redis-py {redis.__version__}")
