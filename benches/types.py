#!/usr/bin/env python3
"""Bitmaps, HyperLogLog, geo and streams against redis-server in the same run (issues 14, 15).

CPU: each server pinned to --server-cpu, redis-benchmark on --client-cpu; the table is each
server's on-CPU time per request (all threads, /proc/PID/task/*/schedstat), medians of --rounds.
Memory: used_memory and RSS after loading a 1M-member geo set and 10k dense HLLs.

Usage: python3 benches/types.py [--rounds 3] [--requests 100000] [--only cpu|memory] [--match TEXT]
"""
import argparse
import os
import statistics
import sys

import redis

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from compare import SHOAL, Server, run_pinned  # noqa: E402

SERVERS = {
    "redis": ["redis-server", "--port", "{port}", "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
    "shoal": [SHOAL, "--port", "{port}", "--bind", "127.0.0.1", "--threads", "1"],
}

MB = 1 << 20

# (name, pipeline, redis-benchmark command, requests divisor for the slow ones)
TESTS = [
    ("SETBIT (10k keys)", 16, ["SETBIT", "bits:__rand_int__", "12345", "1"], 1),
    ("GETBIT (10k keys)", 16, ["GETBIT", "bits:__rand_int__", "12345"], 1),
    ("BITCOUNT 1 MB", 1, ["BITCOUNT", "big1"], 20),
    ("BITOP AND 2 x 1 MB", 1, ["BITOP", "AND", "dest", "big1", "big2"], 20),
    ("BITPOS 1 MB (bit at the end)", 1, ["BITPOS", "tail", "1"], 20),
    ("PFADD", 16, ["PFADD", "hll", "__rand_int__"], 1),
    ("PFCOUNT one dense HLL", 16, ["PFCOUNT", "hll"], 1),
    ("PFCOUNT two dense HLLs (merge)", 1, ["PFCOUNT", "hll", "hll2"], 5),
    ("GEOADD", 16, ["GEOADD", "geo", "13.361389", "38.115556", "m:__rand_int__"], 1),
    ("GEOSEARCH 50 km COUNT 10", 1, ["GEOSEARCH", "geo2", "FROMLONLAT", "15", "37", "BYRADIUS", "50", "km", "ASC", "COUNT", "10"], 5),
    ("XADD 3 fields", 16, ["XADD", "s", "*", "name", "__rand_int__", "kind", "click", "n", "1"], 1),
    ("XRANGE COUNT 10", 16, ["XRANGE", "s2", "-", "+", "COUNT", "10"], 1),
]


def setup(c):
    c.flushall()
    pipe = c.pipeline(transaction=False)
    pipe.setrange("big1", MB - 1, b"\x00")
    pipe.setrange("big2", MB - 1, b"\x00")
    pipe.execute()
    # Fill both with a pattern (SETRANGE in 64 KB pieces).
    piece = bytes(range(256)) * 256
    for off in range(0, MB, len(piece)):
        c.setrange("big1", off, piece)
        c.setrange("big2", off, piece[::-1])
    c.setrange("tail", MB - 1, b"\x01")
    for name in ("hll", "hll2"):
        for start in range(0, 20000, 1000):
            c.pfadd(name, *[f"{name}-{i}" for i in range(start, start + 1000)])
    # A 10k-entry stream for XRANGE.
    pipe = c.pipeline(transaction=False)
    for i in range(10000):
        pipe.xadd("s2", {"name": f"user{i}", "kind": "click", "n": i})
    pipe.execute()
    # 100k members around (15, 37) for GEOSEARCH.
    pipe = c.pipeline(transaction=False)
    for i in range(100000):
        lon = 10 + (i % 1000) * 0.01
        lat = 35 + (i // 1000) * 0.05
        pipe.geoadd("geo2", (lon, lat, f"g{i}"))
        if i % 5000 == 4999:
            pipe.execute()
    pipe.execute()


def run(server, argv, n, pipeline, client_cpu):
    cmd = ["redis-benchmark", "-p", str(server.port), "-c", "50", "-P", str(pipeline), "-r", "10000",
           "-n", str(n)] + argv
    return run_pinned(server, cmd, n, client_cpu)[1]


def cpu(args):
    results = {s: {t[0]: [] for t in TESTS} for s in SERVERS}
    for _ in range(args.rounds):
        for sname, argv in SERVERS.items():
            srv = Server(sname, argv, args.server_cpu)
            try:
                c = redis.Redis(port=srv.port)
                setup(c)
                for name, p, argv2, div in TESTS:
                    results[sname][name].append(run(srv, argv2, max(args.requests // div, 1000), p,
                                                    args.client_cpu))
                c.close()
            finally:
                srv.stop()
    print(f"# {args.rounds} rounds, medians; servers on cpu {args.server_cpu}, redis-benchmark on cpu {args.client_cpu}, -c 50 -r 10000")
    print("| command | -P | Redis CPU µs/req | shoal CPU µs/req | shoal/Redis |")
    print("|---|---|---|---|---|")
    for name, p, _, _ in TESTS:
        r = statistics.median(results["redis"][name])
        s = statistics.median(results["shoal"][name])
        print(f"| {name} | {p} | {r:.2f} | {s:.2f} | {s / r:.2f} |")


def rss(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def memory(args):
    print("| data | Redis used_memory | shoal used_memory | Redis RSS | shoal RSS | RSS shoal/Redis |")
    print("|---|---|---|---|---|---|")
    for what in ("geo", "hll"):
        row = {}
        for sname, argv in SERVERS.items():
            srv = Server(sname, argv, args.server_cpu)
            try:
                c = redis.Redis(port=srv.port)
                base_used = int(c.info("memory")["used_memory"])
                base_rss = rss(srv.pid)
                pipe = c.pipeline(transaction=False)
                if what == "geo":
                    for i in range(1_000_000):
                        pipe.geoadd("geo", (-170 + (i % 3400) * 0.1, -80 + (i // 3400) * 0.5, f"member:{i}"))
                        if i % 10000 == 9999:
                            pipe.execute()
                else:
                    # Dense from the first element (12 KB each on Redis).
                    c.config_set("hll-sparse-max-bytes", 0)
                    for k in range(10_000):
                        pipe.pfadd(f"hll:{k}", *[f"e{k}-{i}" for i in range(100)])
                        if k % 50 == 49:
                            pipe.execute()
                pipe.execute()
                row[sname] = (int(c.info("memory")["used_memory"]) - base_used, rss(srv.pid) - base_rss)
                c.close()
            finally:
                srv.stop()
        label = "1M-member geo set" if what == "geo" else "10k dense HLLs"
        (ru, rr), (su, sr) = row["redis"], row["shoal"]
        print(f"| {label} | {ru / MB:.1f} MB | {su / MB:.1f} MB | {rr / MB:.1f} MB | {sr / MB:.1f} MB | {sr / rr:.2f} |")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--requests", type=int, default=100000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--server-cpu", type=int, default=0)
    ap.add_argument("--client-cpu", type=int, default=1)
    ap.add_argument("--only", choices=["cpu", "memory"])
    ap.add_argument("--match", help="only the CPU rows whose name contains this text")
    args = ap.parse_args()
    if args.match:
        TESTS[:] = [t for t in TESTS if args.match in t[0]]
    if args.only != "memory":
        cpu(args)
    if args.only != "cpu":
        memory(args)


if __name__ == "__main__":
    main()
