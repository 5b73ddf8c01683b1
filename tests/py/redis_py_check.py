"""redis-py against a running shoal-server: the connect handshake it sends (RESP3 HELLO,
CLIENT SETINFO), plain commands, pipeline() with its default MULTI/EXEC, WATCH, errors.

Usage: python3 tests/py/redis_py_check.py PORT
"""
import sys

import redis

port = int(sys.argv[1])
checks = 0


def check(cond, what):
    global checks
    if not cond:
        print(f"FAIL: {what}")
        sys.exit(1)
    checks += 1


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

print(f"redis-py {redis.__version__}: {checks} passed, 0 failed")
