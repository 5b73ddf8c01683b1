#!/usr/bin/env python3
"""Latency and memory under eviction, shoal vs redis-server, in one run.

Each server is started with a small `maxmemory` and an eviction policy, then flooded with SETs of
new keys by redis-benchmark (`-t set -r 100000000 -d 100`), so nearly every command has to evict
first. A second connection samples INFO every 20 ms for the highest `used_memory` seen. The table
gives requests/s, latency percentiles and the maximum (redis-benchmark's), the peak over the limit,
and the keys evicted; a run without a limit is the baseline.

Servers are pinned to CPU 0 and redis-benchmark to CPU 1, as in compare.py.

Usage: benches/eviction.py [--requests 2000000] [--maxmemory 64mb] [--pipeline 1]
"""
import argparse
import os
import shutil
import subprocess
import sys
import threading
import time

import redis

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from servers import start as start_server  # noqa: E402


def start(kind, maxmemory, policy):
    return start_server(kind, ["--maxmemory", str(maxmemory), "--maxmemory-policy", policy], cpu=0)


def bench(port, requests, pipeline):
    argv = ["redis-benchmark", "-p", str(port), "-t", "set", "-r", "100000000", "-d", "100",
            "-n", str(requests), "-c", "50", "-P", str(pipeline), "--csv"]
    if shutil.which("taskset"):
        argv = ["taskset", "-c", "1"] + argv
    out = subprocess.run(argv, capture_output=True, text=True, check=True).stdout
    for line in out.splitlines():
        if line.startswith('"SET"'):
            f = [x.strip('"') for x in line.split(",")]
            # "test","rps","avg","min","p50","p95","p99","max"
            return float(f[1]), float(f[4]), float(f[6]), float(f[7])
    raise RuntimeError(f"no SET row in: {out}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--requests", type=int, default=2_000_000)
    ap.add_argument("--maxmemory", default="64mb")
    ap.add_argument("--pipeline", type=int, default=1)
    args = ap.parse_args()
    units = {"kb": 1 << 10, "mb": 1 << 20, "gb": 1 << 30}
    m = args.maxmemory.lower()
    limit = int(m[:-2]) * units[m[-2:]] if m[-2:] in units else int(m)
    runs = [
        ("redis", "noeviction", 0),
        ("shoal", "noeviction", 0),
        ("redis", "allkeys-lru", limit),
        ("shoal", "allkeys-lru", limit),
        ("redis", "allkeys-lfu", limit),
        ("shoal", "allkeys-lfu", limit),
        ("shoal", "allkeys-s3fifo", limit),
    ]
    print(f"# SET of new 100-byte values, {args.requests} requests, 50 clients, -P {args.pipeline}, maxmemory {limit}")
    print("| server | policy | maxmemory | req/s | p50 ms | p99 ms | max ms | peak used_memory | peak / maxmemory | evicted keys |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for kind, policy, mm in runs:
        p, r, port = start(kind, mm, policy)
        peak = [0]
        done = threading.Event()

        def sample():
            s = redis.Redis(port=port)
            while not done.is_set():
                try:
                    peak[0] = max(peak[0], int(s.info("memory")["used_memory"]))
                except redis.RedisError:
                    pass
                time.sleep(0.02)

        t = threading.Thread(target=sample)
        t.start()
        try:
            rps, p50, p99, mx = bench(port, args.requests, args.pipeline)
        finally:
            done.set()
            t.join()
        evicted = int(r.info("stats")["evicted_keys"])
        p.kill()
        p.wait()
        ratio = f"{peak[0] / mm:.3f}" if mm else "-"
        print(f"| {kind} | {policy} | {mm or '-'} | {rps:.0f} | {p50:.3f} | {p99:.3f} | {mx:.3f} | {peak[0]} | {ratio} | {evicted} |")


if __name__ == "__main__":
    sys.exit(main())
