#!/usr/bin/env python3
"""Memory per key and of big and small collections, shoal vs redis-server, after loading the
same data into each through redis-py pipelines (one fresh server per row).

Strings: N keys of 16 bytes with 32-byte values, with and without a TTL: bytes per key by the
servers' own used_memory (what maxmemory counts) and by RSS (from /proc), and the overhead per key
beyond the 48 bytes of key and value. Collections: RSS growth.

Usage: benches/memory.py [--n 1000000] [--only strings|collections]
"""
import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from servers import start as start_server  # noqa: E402


def rss(pid):
    with open(f"/proc/{pid}/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def start(kind):
    p, r, _ = start_server(kind)
    return p, r


def load(r, cmds, batch=10000):
    pipe = r.pipeline(transaction=False)
    for i, c in enumerate(cmds):
        pipe.execute_command(*c)
        if i % batch == batch - 1:
            pipe.execute()
    pipe.execute()


def used_memory(r):
    return int(r.info("memory")["used_memory"])


def strings(n):
    cases = {
        "no TTL": lambda: (("SET", f"key:{i:012d}", "x" * 32) for i in range(n)),
        "with TTL": lambda: (("SET", f"key:{i:012d}", "x" * 32, "EX", 100000) for i in range(n)),
    }
    print(f"{n} keys of 16 bytes with 32-byte values (48 bytes of data per key):")
    print()
    print("| keys | Redis bytes/key (used_memory) | shoal bytes/key (used_memory) | Redis overhead/key | shoal overhead/key | Redis RSS/key | shoal RSS/key |")
    print("|---|---|---|---|---|---|---|")
    for name, gen in cases.items():
        per, rss_per = {}, {}
        for kind in ("redis", "shoal"):
            p, r = start(kind)
            try:
                before, before_rss = used_memory(r), rss(p.pid)
                load(r, gen())
                time.sleep(0.5)
                assert r.dbsize() == n
                per[kind] = (used_memory(r) - before) / n
                rss_per[kind] = (rss(p.pid) - before_rss) / n
            finally:
                p.kill()
                p.wait()
        print(f"| {name} | {per['redis']:.1f} | {per['shoal']:.1f} | {per['redis'] - 48:.1f} | {per['shoal'] - 48:.1f} | {rss_per['redis']:.1f} | {rss_per['shoal']:.1f} |")
    print()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--only", choices=["strings", "collections"])
    args = ap.parse_args()
    n = args.n
    if args.only != "collections":
        strings(n)
    if args.only == "strings":
        return
    cases = {
        f"1 hash of {n} fields (8-byte values)": lambda: (("HSET", "h", f"field:{i}", f"v{i:07d}") for i in range(n)),
        f"1 set of {n} members": lambda: (("SADD", "s", f"member:{i}") for i in range(n)),
        f"1 sorted set of {n} members": lambda: (("ZADD", "z", i, f"member:{i}") for i in range(n)),
        f"{n // 10} hashes of 10 small fields": lambda: (("HSET", f"h:{i}", *[x for j in range(10) for x in (f"f{j}", f"v{j}")]) for i in range(n // 10)),
        f"{n // 10} sets of 10 small members": lambda: (("SADD", f"s:{i}", *[f"m{j}" for j in range(10)]) for i in range(n // 10)),
        f"{n // 10} sorted sets of 10 members": lambda: (("ZADD", f"z:{i}", *[x for j in range(10) for x in (j, f"m{j}")]) for i in range(n // 10)),
        f"1 stream of {n} entries of 3 small fields": lambda: (("XADD", "x", "*", "a", i, "b", i % 97, "c", "v") for i in range(n)),
    }
    print(f"| data | Redis RSS growth (MB) | shoal RSS growth (MB) | shoal / Redis |")
    print("|---|---|---|---|")
    for name, gen in cases.items():
        growth = {}
        for kind in ("redis", "shoal"):
            p, r = start(kind)
            try:
                before = rss(p.pid)
                load(r, gen())
                time.sleep(0.5)
                growth[kind] = (rss(p.pid) - before) / 1e6
            finally:
                p.kill()
                p.wait()
        print(f"| {name} | {growth['redis']:.1f} | {growth['shoal']:.1f} | {growth['shoal'] / growth['redis']:.2f} |")


if __name__ == "__main__":
    sys.exit(main())
