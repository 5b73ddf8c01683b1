#!/usr/bin/env python3
"""Differential check for streams: random command sequences against redis-server and shoal-server,
every reply compared (errors by their text). Ids are explicit (`*` reads the clock); trimming
is exact (`~` depends on the node layout, which differs); replies that carry times (idle,
seen-time) or the node layout (radix-tree-*) are normalized, and so is what differs between
redis-server 7.0 (the reference here) and the Redis 7.2 that shoal follows for consumers (see
`strip_times`).

Usage: tests/py/differential_streams.py [path/to/shoal-server] [--rounds N] [--seed S]
Exits 1 at the first difference, printing the command and both replies.
"""
import sys

from differential import call, replay

KEYS = ["s1", "s2", "str"]
GROUPS = ["g1", "g2", "nog"]
CONSUMERS = ["alice", "bob", "carol"]


def sid(rng, top):
    """An id near the stream's top, sometimes odd or invalid."""
    r = rng.random()
    if r < 0.03:
        return rng.choice(["x", "1-", "-1", "18446744073709551616", "0-0", "+", "-"])
    if r < 0.06:
        return rng.choice(["18446744073709551615-18446744073709551615", "18446744073709551615"])
    ms = max(0, top + rng.randint(-5, 8))
    if rng.random() < 0.5:
        return str(ms)
    return f"{ms}-{rng.randint(0, 3)}"


def bound(rng, top, start):
    r = rng.random()
    if r < 0.15:
        return "-" if start else "+"
    b = sid(rng, top)
    if rng.random() < 0.2 and b not in ("-", "+"):
        b = "(" + b
    return b


def fields(rng):
    out = []
    for _ in range(rng.randint(1, 3)):
        out += [rng.choice(["a", "b", "c", "field"]), str(rng.randint(0, 99))]
    return out


def stream_round(rng, rnd):
    seq = [["FLUSHALL"], ["SET", "str", "x"]]
    top = {"s1": 1, "s2": 1}
    for _ in range(120):
        key = rng.choice(["s1", "s1", "s2", "str", "none"])
        t = top.get(key, 1)
        r = rng.random()
        g = rng.choice(GROUPS)
        c = rng.choice(CONSUMERS)
        if r < 0.25:
            top[key] = t + rng.randint(0, 3)
            cmd = ["XADD", key]
            if rng.random() < 0.1:
                cmd.append("NOMKSTREAM")
            if rng.random() < 0.1:
                cmd += rng.choice([["MAXLEN", "=", str(rng.randint(0, 15))],
                                   ["MINID", sid(rng, t)], ["MAXLEN", "-1"],
                                   ["MAXLEN", "5", "LIMIT", "2"]])
            cmd.append(rng.choice([f"{top[key]}-*", str(top[key]), f"{top[key]}-{rng.randint(0, 2)}", sid(rng, t)]))
            seq.append(cmd + (fields(rng) if rng.random() < 0.97 else ["odd"]))
        elif r < 0.35:
            cmd = [rng.choice(["XRANGE", "XREVRANGE"]), key]
            a, b = bound(rng, t, True), bound(rng, t, False)
            cmd += [a, b] if cmd[0] == "XRANGE" else [b, a]
            if rng.random() < 0.5:
                cmd += ["COUNT", str(rng.choice([0, 1, 2, 5, -1, 100]))]
            seq.append(cmd)
        elif r < 0.4:
            seq.append(["XLEN", key])
        elif r < 0.45:
            seq.append(["XDEL", key] + [sid(rng, t) for _ in range(rng.randint(1, 3))])
        elif r < 0.5:
            how = rng.choice([["MAXLEN", str(rng.randint(0, 20))], ["MAXLEN", "=", str(rng.randint(0, 20))],
                              ["MINID", sid(rng, t)], ["FOO", "1"]])
            seq.append(["XTRIM", key] + how)
        elif r < 0.56:
            cmd = ["XGROUP", "CREATE", key, g, rng.choice(["0", "$", sid(rng, t)])]
            if rng.random() < 0.3:
                cmd.append("MKSTREAM")
            if rng.random() < 0.2:
                cmd += ["ENTRIESREAD", str(rng.randint(-2, 10))]
            seq.append(cmd)
        elif r < 0.7:
            cmd = ["XREADGROUP", "GROUP", g, c]
            if rng.random() < 0.6:
                cmd += ["COUNT", str(rng.randint(0, 4))]
            if rng.random() < 0.2:
                cmd.append("NOACK")
            ks = rng.sample(["s1", "s2"], rng.randint(1, 2))
            cmd += ["STREAMS", *ks, *[rng.choice([">", ">", "0", sid(rng, t)]) for _ in ks]]
            seq.append(cmd)
        elif r < 0.76:
            cmd = ["XREAD"]
            if rng.random() < 0.5:
                cmd += ["COUNT", str(rng.randint(0, 4))]
            ks = rng.sample(["s1", "s2", "none"], rng.randint(1, 3))
            cmd += ["STREAMS", *ks, *[rng.choice(["0", "$", sid(rng, t)]) for _ in ks]]
            seq.append(cmd)
        elif r < 0.81:
            seq.append(["XACK", key, g] + [sid(rng, t) for _ in range(rng.randint(1, 3))])
        elif r < 0.86:
            cmd = ["XPENDING", key, g]
            if rng.random() < 0.7:
                cmd += [bound(rng, t, True), bound(rng, t, False), str(rng.randint(-1, 10))]
                if rng.random() < 0.4:
                    cmd.append(c)
            seq.append(cmd)
        elif r < 0.9:
            cmd = ["XCLAIM", key, g, c, "0"] + [sid(rng, t) for _ in range(rng.randint(1, 3))]
            cmd += rng.sample(["JUSTID", "FORCE"], rng.randint(0, 2))
            if rng.random() < 0.2:
                cmd += ["RETRYCOUNT", str(rng.randint(0, 5))]
            if rng.random() < 0.1:
                cmd += ["LASTID", sid(rng, t)]
            seq.append(cmd)
        elif r < 0.93:
            cmd = ["XAUTOCLAIM", key, g, c, "0", bound(rng, t, True)]
            if rng.random() < 0.6:
                cmd += ["COUNT", str(rng.randint(0, 5))]
            if rng.random() < 0.3:
                cmd.append("JUSTID")
            seq.append(cmd)
        elif r < 0.96:
            sub = rng.choice(["SETID", "DESTROY", "CREATECONSUMER", "DELCONSUMER"])
            cmd = ["XGROUP", sub, key, g]
            if sub == "SETID":
                cmd.append(rng.choice(["0", "$", sid(rng, t)]))
            elif sub != "DESTROY":
                cmd.append(c)
            seq.append(cmd)
        elif r < 0.98:
            seq.append(rng.choice([["XINFO", "GROUPS", key], ["XINFO", "STREAM", key],
                                   ["XINFO", "CONSUMERS", key, g]]))
        else:
            seq.append(["XSETID", key, sid(rng, t + 5)])
    for k in ("s1", "s2"):
        seq += [["XRANGE", k, "-", "+"], ["XINFO", "GROUPS", k], ["XINFO", "STREAM", k]]
    return seq


TIMED = {b"idle", b"radix-tree-keys", b"radix-tree-nodes", b"seen-time"}


def strip_times(cmd, reply):
    """Blanks what carries times or the node layout: the value after an `idle`, `seen-time`
    or `radix-tree-*` label, and XPENDING's idle column.

    Also what Redis 7.2 changed for consumers (shoal follows 7.2, the reference server is
    7.0.15): XREADGROUP, XCLAIM and XAUTOCLAIM create their consumer even when they find
    nothing (7.0 only when they deliver or claim), and XINFO CONSUMERS adds `inactive`. So the
    consumer counts of XINFO GROUPS and XGROUP CREATECONSUMER's 0/1 are blanked, XINFO
    CONSUMERS lists only the consumers with pending entries (those exist in both) and drops
    `inactive`; tests/streams.rs checks the 7.2 behaviour itself."""
    def walk(v):
        if not isinstance(v, list):
            return v
        out = [walk(x) for x in v]
        for i in range(len(out) - 1):
            if isinstance(out[i], bytes) and out[i] in TIMED:
                out[i + 1] = None
        return out
    kind, v = reply
    if cmd[0] == "XPENDING" and len(cmd) > 3 and kind == "ok" and isinstance(v, list):
        v = [[e[0], e[1], e[3]] for e in v]
    if kind == "ok" and cmd[:2] == ["XGROUP", "CREATECONSUMER"]:
        v = None
    if kind == "ok" and cmd[:2] == ["XINFO", "GROUPS"]:
        v = [[None if i > 0 and g[i - 1] == b"consumers" else x for i, x in enumerate(g)]
             for g in v]
    if kind == "ok" and cmd[:2] == ["XINFO", "CONSUMERS"]:
        v = [dict(zip(c[::2], c[1::2])) for c in v]
        v = [[k for kv in c.items() if kv[0] != b"inactive" for k in kv]
             for c in v if c.get(b"pending")]
    return kind, walk(v)


def raw(r, cmd):
    """The reply as sent (redis-py's parsers choke on some XPENDING and XINFO forms)."""
    r.response_callbacks.clear()
    return call(r, cmd)


def main():
    return replay("differential_streams", stream_round, default_rounds=200,
                  normalize_reply=strip_times, runner=raw)


if __name__ == "__main__":
    sys.exit(main())
