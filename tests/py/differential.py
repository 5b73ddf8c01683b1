#!/usr/bin/env python3
"""Differential check: the same random command sequences against redis-server and shoal-server,
replies compared one by one. Covers sorted-set ranges (by index, score and lex, REV, LIMIT,
WITHSCORES, counts, removals, ranks, stores) on small (listpack) and large sets, and hash and set
commands whose replies are deterministic.

Usage: tests/py/differential.py [path/to/shoal-server] [--rounds N] [--seed S]
Exits 1 at the first difference, printing the command and both replies.
"""
import argparse
import os
import random
import socket
import subprocess
import sys
import time

import redis

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(argv, port):
    p = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    r = redis.Redis(port=port, protocol=2)
    for _ in range(200):
        try:
            r.ping()
            return p, r
        except redis.ConnectionError:
            time.sleep(0.05)
    raise RuntimeError(f"{argv[0]} did not start")


def call(r, cmd):
    try:
        return ("ok", r.execute_command(*cmd))
    except redis.ResponseError as e:
        return ("err", str(e))


def score_bound(rng):
    v = rng.choice(["-inf", "+inf", str(rng.randint(-5, 25)), f"{rng.randint(-5, 25)}.5"])
    return ("(" + v) if rng.random() < 0.3 and "inf" not in v else v


def lex_bound(rng):
    c = rng.choice(["-", "+", "[m1", "(m1", "[m5", "(m9", "[m", "(m3", "[z"])
    return c


def zset_commands(rng, key, same_score):
    n = rng.randint(-30, 300)
    i, j = rng.randint(-n - 5 if n > 0 else -5, n + 5 if n > 0 else 5), rng.randint(-10, 300)
    opts = []
    # Lex ranges are only defined when every member has the same score.
    kind = rng.choice(["index", "score", "lex"] if same_score else ["index", "score"])
    if kind == "index":
        lo, hi = str(i), str(j)
    elif kind == "score":
        lo, hi = score_bound(rng), score_bound(rng)
        opts.append("BYSCORE")
    else:
        lo, hi = lex_bound(rng), lex_bound(rng)
        opts.append("BYLEX")
    if rng.random() < 0.5:
        opts.append("REV")
    if kind != "index" and rng.random() < 0.5:
        opts += ["LIMIT", str(rng.randint(-1, 40)), str(rng.randint(-2, 40))]
    if kind != "lex" and rng.random() < 0.5:
        opts.append("WITHSCORES")
    yield ["ZRANGE", key, lo, hi, *opts]
    yield ["ZRANGESTORE", key + ":dst", key, lo, hi, *[o for o in opts if o != "WITHSCORES"]]
    yield ["ZRANGE", key + ":dst", "0", "-1", "WITHSCORES"]
    s1, s2 = score_bound(rng), score_bound(rng)
    yield ["ZCOUNT", key, s1, s2]
    yield ["ZRANGEBYSCORE", key, s1, s2, "WITHSCORES"]
    yield ["ZREVRANGEBYSCORE", key, s2, s1, "LIMIT", str(rng.randint(0, 5)), str(rng.randint(-1, 30))]
    l1, l2 = lex_bound(rng), lex_bound(rng)
    if same_score:
        yield ["ZLEXCOUNT", key, l1, l2]
        yield ["ZRANGEBYLEX", key, l1, l2, "LIMIT", str(rng.randint(0, 5)), str(rng.randint(-1, 30))]
        yield ["ZREVRANGEBYLEX", key, l2, l1]
    m = f"m{rng.randint(0, 400)}"
    yield ["ZRANK", key, m]  # WITHSCORE is Redis 7.2 (the reference here may be 7.0)
    yield ["ZREVRANK", key, m]
    yield ["ZREVRANGE", key, str(i), str(j), "WITHSCORES"]
    r = rng.random()
    if r < 0.1:
        yield ["ZREMRANGEBYSCORE", key, s1, s2]
    elif r < 0.2 and same_score:
        yield ["ZREMRANGEBYLEX", key, l1, l2]
    elif r < 0.3:
        yield ["ZREMRANGEBYRANK", key, str(rng.randint(-20, 20)), str(rng.randint(-20, 20))]
    yield ["ZPOPMIN", key, str(rng.randint(0, 3))]
    yield ["ZCARD", key]


def fill_zset(rng, key, n, same_score):
    cmd = ["ZADD", key]
    for k in range(n):
        score = 0 if same_score else rng.randint(-5, 25) + rng.choice([0, 0.5])
        cmd += [str(score), f"m{rng.randint(0, 400)}" if not same_score else f"m{k}"]
    return cmd


def hash_set_commands(rng):
    n = rng.choice([5, 300])
    yield ["DEL", "h", "s"]
    yield ["HSET", "h", *[x for k in range(n) for x in (f"f{k}", f"v{rng.randint(0, 9)}")]]
    yield ["SADD", "s", *[f"m{rng.randint(0, 2 * n)}" for _ in range(n)]]
    for _ in range(20):
        f = f"f{rng.randint(0, n + 5)}"
        yield rng.choice([
            ["HGET", "h", f], ["HDEL", "h", f], ["HLEN", "h"], ["HEXISTS", "h", f],
            ["HINCRBY", "h", "cnt", "3"], ["HSTRLEN", "h", f], ["HSETNX", "h", f, "x"],
            ["SISMEMBER", "s", f"m{rng.randint(0, 2 * n)}"], ["SCARD", "s"],
            ["SREM", "s", f"m{rng.randint(0, 2 * n)}"], ["SMISMEMBER", "s", "m1", "m2", "m3"],
        ])
    yield ["HGETALL_SORTED"]
    yield ["SMEMBERS_SORTED"]


def normalize(cmd, reply):
    kind, v = reply
    if kind == "ok" and cmd[0] in ("HGETALL_SORTED", "SMEMBERS_SORTED"):
        return kind, sorted(v) if isinstance(v, list) else v
    return kind, v


def run(cmd, r):
    if cmd[0] == "HGETALL_SORTED":
        return call(r, ["HGETALL", "h"])
    if cmd[0] == "SMEMBERS_SORTED":
        return call(r, ["SMEMBERS", "s"])
    return call(r, cmd)


def replay(name, make_round, default_rounds=300, normalize_reply=None, width=None, runner=None):
    """Runs the same random command sequences against redis-server and shoal (PATH [--rounds N]
    [--seed S] from the command line) and stops at the first reply that differs.
    `make_round(rng, rnd)` gives one round's commands; `normalize_reply(cmd, reply)` may make
    replies comparable (orders Redis leaves unspecified); `runner(r, cmd)` replaces `call` (for
    pseudo-commands); `width` clips long printouts."""
    ap = argparse.ArgumentParser()
    ap.add_argument("shoal", nargs="?", default=os.path.join(ROOT, "target", "release", "shoal-server"))
    ap.add_argument("--rounds", type=int, default=default_rounds)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    rp, sp = free_port(), free_port()
    redis_p, R = start(["redis-server", "--port", str(rp), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"], rp)
    shoal_p, S = start([args.shoal, "--port", str(sp), "--bind", "127.0.0.1"], sp)
    rng = random.Random(args.seed)
    norm = normalize_reply or (lambda cmd, reply: reply)
    runner = runner or call
    clip = (lambda s: s[:width]) if width else (lambda s: s)
    checked = 0
    try:
        for rnd in range(args.rounds):
            for cmd in make_round(rng, rnd):
                a, b = norm(cmd, runner(R, cmd)), norm(cmd, runner(S, cmd))
                checked += 1
                if a != b:
                    print(f"DIFFERENCE at round {rnd}: {clip(' '.join(map(str, cmd)))}")
                    print(f"  redis: {clip(str(a))}")
                    print(f"  shoal: {clip(str(b))}")
                    return 1
        print(f"{name}: {checked} commands, same replies from redis-server and shoal")
        return 0
    finally:
        for p in (redis_p, shoal_p):
            p.kill()
            p.wait()


def zset_round(rng, rnd):
    same = rnd % 3 == 0
    size = rng.choice([3, 40, 200, 600])
    seq = [["DEL", "z", "z:dst"], fill_zset(rng, "z", size, same)]
    seq += list(zset_commands(rng, "z", same))
    if rnd % 5 == 0:
        seq += list(hash_set_commands(rng))
    return seq


def main():
    return replay("differential", zset_round, normalize_reply=normalize, runner=lambda r, cmd: run(cmd, r))


if __name__ == "__main__":
    sys.exit(main())
