#!/usr/bin/env python3
"""Differential check of ACLs: the same ACL SETUSER sequences (fixed ones and random ones) against
redis-server and shoal-server; SETUSER replies, ACL GETUSER, ACL LIST and ACL DRYRUN of a set of
commands must be identical. Command rules list single commands in Redis's hash-table order
(which changes from run to run), so those are compared as sets, leaving out commands shoal does
not have; categories as sets too (their order follows their sizes); everything else as text.

Usage: tests/py/acl_differential.py [path/to/shoal-server] [--rounds N] [--seed S]
Exits 1 at the first difference, printing the sequence and both replies.
"""
import argparse
import os
import random
import sys

from differential import ROOT, call, free_port, start


KNOWN = set()  # shoal's commands: tokens naming commands it lacks (SORT...) are left out


def norm_rules(text):
    """Categories in order, single commands (that shoal has) as a set."""
    toks = text.split()
    # Ties between categories are broken by their sizes, and shoal's lack commands Redis has
    # (SORT in @list...): the set of categories must match, their order may not.
    cats = sorted(t for t in toks if t[1:2] == "@")
    single = sorted(
        t for t in toks if t[1:2] != "@" and (not KNOWN or t[1:].split("|")[0] in KNOWN)
    )
    return (tuple(cats), tuple(single))


def norm_line(line):
    """An ACL LIST line: selectors split out, each one's command rules normalized."""
    out = []
    for part in line.replace(")", "(").split("("):
        toks = part.split()
        rules = " ".join(t for t in toks if t[:1] in "+-" and t != "resetchannels")
        rest = [t for t in toks if not (t[:1] in "+-")]
        out.append((tuple(rest), norm_rules(rules)))
    return out


def norm_getuser(v):
    if v is None:
        return None
    d = dict(zip(v[0::2], v[1::2]))
    sels = []
    for s in d[b"selectors"]:
        sd = dict(zip(s[0::2], s[1::2]))
        sels.append((norm_rules(sd[b"commands"].decode()), sd[b"keys"], sd[b"channels"]))
    return (
        sorted(d[b"flags"]),
        d[b"passwords"],
        norm_rules(d[b"commands"].decode()),
        d[b"keys"],
        d[b"channels"],
        sels,
    )


RULES = [
    "on", "off", "nopass", "resetpass", ">pw1", ">pw2", "<pw1", "<nosuch",
    "#" + "a" * 64, "!" + "a" * 64, "#bad", "reset", "allkeys", "resetkeys", "~foo*", "~*",
    "%R~r*", "%W~w*", "%RW~rw*", "%R~foo*", "%X~x", "%~x", "&ch*", "&*", "allchannels",
    "resetchannels", "+@all", "-@all", "allcommands", "nocommands", "+@hash", "-@hash",
    "+@list", "+@set", "-@set", "+@sortedset", "+@string", "-@string", "+@pubsub",
    "+@nosuch", "+get", "-get", "+set", "-set", "+hset", "-hget", "+client|id", "-client",
    "+client", "+client|nosuch", "+select|0", "+select|1", "+config|get", "-config|set",
    "+nosuch", "+get|x|y", "+client|id|x", "+publish", "+subscribe", "+psubscribe", "+eval",
    "+mget", "+copy", "(~x* +get)", "(%R~r* +@read)", "( ~y +set )", "clearselectors", "bogus",
]

DRYRUNS = [
    ["get", "foo1"], ["get", "r1"], ["set", "r1", "v"], ["set", "w1", "v"],
    ["set", "w1", "v", "get"], ["set", "rw1", "v", "get"], ["publish", "ch1", "m"],
    ["publish", "zz", "m"], ["subscribe", "ch1", "zz"], ["psubscribe", "ch*"],
    ["psubscribe", "ch1"], ["hset", "foo", "a", "b"], ["hget", "foo", "a"],
    ["lpush", "x1", "1"], ["client", "id"], ["client", "list"], ["select", "0"],
    ["select", "1"], ["mget", "foo1", "r1"], ["copy", "r1", "w1"], ["copy", "w1", "r1"],
    ["eval", "", "1", "foo"], ["eval", "", "3", "rw", "read"], ["ping"], ["config", "get", "x"],
    ["config", "set", "x", "y"], ["sadd", "foo", "1"], ["zadd", "y", "1", "a"],
]

FIXED = [
    ["on", ">p1", "~foo*", "%R~bar", "&ch*", "+get", "+@hash", "-hset", "+client|id", "(~x* +set)"],
    ["reset"],
    ["on", "nopass", "+@all", "-get", "~*", "&*"],
    ["+select|0", "+select|1"],
    ["+select|0", "+select"],
    ["-@all", "+@slow"],
    ["+@all", "-client", "+client|id"],
    ["%R~foo", "%W~foo", "%RW~bar"],
    ["~*", "~x"],
    ["&*", "&x"],
    ["(~x"],
    ["(this-is-invalid)"],
    ["(&* &fail)"],
    ["#abc"],
    ["+get|x|y"],
    ["+client|id|x"],
    ["+debug|"],
    ["-@all", "+@string", "-incr", "+debug|digest"],
    ["+@all", "-@string", "+incr", "-debug", "+debug|digest"],
]


def compare(R, S, user, seq):
    for cmd in (["ACL", "SETUSER", user] + seq,):
        a, b = call(R, cmd), call(S, cmd)
        if a != b:
            return f"{cmd}: redis {a} shoal {b}"
    a = norm_getuser(R.execute_command("ACL", "GETUSER", user))
    b = norm_getuser(S.execute_command("ACL", "GETUSER", user))
    if a != b:
        return f"GETUSER {user}: redis {a}\n  shoal {b}"
    la = [norm_line(x.decode()) for x in R.execute_command("ACL", "LIST")]
    lb = [norm_line(x.decode()) for x in S.execute_command("ACL", "LIST")]
    if la != lb:
        return f"ACL LIST: redis {la}\n  shoal {lb}"
    if R.execute_command("ACL", "GETUSER", user) is None:
        return None
    for d in DRYRUNS:
        cmd = ["ACL", "DRYRUN", user] + d
        a, b = call(R, cmd), call(S, cmd)
        if a != b:
            return f"{cmd}: redis {a} shoal {b}"
    return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("shoal", nargs="?", default=os.path.join(ROOT, "target", "release", "shoal-server"))
    ap.add_argument("--rounds", type=int, default=200)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    rng = random.Random(args.seed)
    rp, sp = free_port(), free_port()
    redis_p, R = start(["redis-server", "--port", str(rp), "--save", "", "--appendonly", "no"], rp)
    shoal_p, S = start([args.shoal, "--port", str(sp), "--bind", "127.0.0.1"], sp)
    checked = 0
    S.response_callbacks.pop("COMMAND LIST", None)
    S.response_callbacks.pop("COMMAND", None)
    KNOWN.update(c.decode() for c in S.execute_command("COMMAND", "LIST"))
    try:
        seqs = [(f"fixed{i}", s) for i, s in enumerate(FIXED)]
        for i in range(args.rounds):
            seqs.append((f"u{i % 7}", [rng.choice(RULES) for _ in range(rng.randint(1, 6))]))
        for user, seq in seqs:
            diff = compare(R, S, user, seq)
            checked += 1
            if diff:
                print(f"acl differential: difference after ACL SETUSER {user} {seq}:\n  {diff}")
                return 1
        print(f"acl differential: {checked} SETUSER sequences, same replies from redis-server and shoal")
        return 0
    finally:
        for p in (redis_p, shoal_p):
            p.terminate()
            p.wait()


if __name__ == "__main__":
    sys.exit(main())
