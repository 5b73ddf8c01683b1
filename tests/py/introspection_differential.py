#!/usr/bin/env python3
"""Differential check of introspection: for every command and subcommand shoal lists (COMMAND
LIST) that redis-server 7.0.15 has too, COMMAND INFO (all but the subcommand list, and each
subcommand shoal shows) and COMMAND DOCS (all but `subcommands`) must be identical; and COMMAND
GETKEYSANDFLAGS must give the same keys, flags and errors on a corpus of command lines.

Usage: tests/py/introspection_differential.py [path/to/shoal-server]
Exits 1 listing every difference.
"""
import argparse
import os
import shlex
import sys

from differential import ROOT, call, free_port, start

GETKEYS_CORPUS = [
    "set k v", "set k v get", "mset a 1 b 2", "lmove a b left right", "sort k store d",
    "sort k limit 0 1 get # by x store d", "sort_ro k", "bitfield k get u8 0",
    "bitfield k set u8 0 1", "bitfield k overflow sat get u8 0",
    "georadius g 1 2 3 m store d storedist e", "georadiusbymember g m 1 m storedist d",
    "georadius_ro g 1 2 3 m", "geosearchstore d s frommember m byradius 1 m storedist",
    "eval s 2 a b", "eval s 0", "evalsha s 1 a", "fcall f 1 k", "fcall_ro f 0",
    "zunionstore d 2 a b", "zunionstore d -1 a", "zunionstore d 3 a b", "zinterstore d 1 a",
    "zdiff 2 a b", "sintercard 2 a b limit 1", "lmpop 2 a b left", "blmpop 0 2 a b left count 2",
    "bzmpop 0 1 z min", "zmpop 1 z max", 'migrate h 1 k 0 5', 'migrate h 1 "" 0 5 keys a b',
    'migrate h 1 "" 0 5 auth p keys a', "object encoding k", "memory usage k", "del a b",
    "unlink a", "rename a b", "renamenx a b", "smove a b m", "pfmerge d a b", "pfcount a b",
    "bitop and d a b", "copy a b", "getex k", "getdel k", "lcs a b", "touch a b", "expire k 10",
    "watch a b", "hset h f v", "incr k", "spop s", "rpoplpush a b", "blpop a b 0",
    "brpoplpush a b 0", "set k", "get", "ping x", "nosuch a", "client list", "debug object k",
    "memory foo k", "config get x", "object", "publish c m", "restore k 0 x",
]


def as_map(v):
    """A map reply, as RESP2 (a flat list) or RESP3 (a dict) gives it."""
    return dict(v) if isinstance(v, dict) else dict(zip(v[::2], v[1::2]))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("shoal", nargs="?", default=os.path.join(ROOT, "target", "release", "shoal-server"))
    args = ap.parse_args()
    rp, sp = free_port(), free_port()
    redis_p, R = start(["redis-server", "--port", str(rp), "--save", "", "--appendonly", "no"], rp)
    shoal_p, S = start([args.shoal, "--port", str(sp), "--bind", "127.0.0.1"], sp)
    diffs = []
    try:
        for c in (R, S):
            for k in list(c.response_callbacks):
                if k.startswith("COMMAND"):
                    c.response_callbacks.pop(k)
        names = [n.decode() for n in S.execute_command("COMMAND", "LIST")]
        known = {n.decode() for n in R.execute_command("COMMAND", "LIST")}
        checked = 0
        for n in names:
            if n not in known:
                continue
            checked += 1
            a = R.execute_command("COMMAND", "INFO", n)[0]
            b = S.execute_command("COMMAND", "INFO", n)[0]
            if a[:9] != b[:9]:
                diffs.append(f"COMMAND INFO {n}:\n  redis {a[:9]}\n  shoal {b[:9]}")
            subs = {x[0]: x for x in a[9]}
            for x in b[9]:
                if x[0] in subs and subs[x[0]] != x:
                    diffs.append(f"COMMAND INFO {n}, subcommand {x[0]}")
            da = as_map(R.execute_command("COMMAND", "DOCS", n))
            db = as_map(S.execute_command("COMMAND", "DOCS", n))
            if list(da) != list(db):
                diffs.append(f"COMMAND DOCS {n}: names {list(da)} / {list(db)}")
                continue
            for k in da:
                x, y = as_map(da[k]), as_map(db[k])
                x.pop(b"subcommands", None)
                y.pop(b"subcommands", None)
                if x != y:
                    diffs.append(f"COMMAND DOCS {n}:\n  redis {x}\n  shoal {y}")
        for line in GETKEYS_CORPUS:
            argv = ["COMMAND", "GETKEYSANDFLAGS"] + shlex.split(line)
            a, b = call(R, argv), call(S, argv)
            if a != b:
                diffs.append(f"COMMAND GETKEYSANDFLAGS {line}:\n  redis {a}\n  shoal {b}")
    finally:
        for p in (redis_p, shoal_p):
            p.kill()
            p.wait()
    for d in diffs:
        print(d)
    if diffs:
        sys.exit(1)
    print(f"introspection differential: {checked} commands and subcommands, "
          f"{len(GETKEYS_CORPUS)} GETKEYSANDFLAGS lines, same replies from redis-server and shoal")


if __name__ == "__main__":
    main()
