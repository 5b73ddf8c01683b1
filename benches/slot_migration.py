#!/usr/bin/env python3
"""Moving 1000 slots of a loaded cluster: shoal's atomic slot migration (CLUSTER MIGRATESLOTS)
against `redis-cli --cluster reshard` (key by key with MIGRATE) on shoal and on redis-server,
in one run, each under a redis-py RedisCluster read/write load that counts errors, stale reads
and lost keys.

usage: benches/slot_migration.py ./target/release/shoal-server [--keys N] [--redis redis-server]
"""
import argparse
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests", "py"))
from cluster_reshard_check import Load, atomic_move, cli  # noqa: E402

import redis  # noqa: E402
from redis.cluster import RedisCluster  # noqa: E402


def start_cluster(binary, base, tmp, redis_server):
    procs = []
    for i in range(3):
        d = os.path.join(tmp, f"n{base + i}")
        os.makedirs(d, exist_ok=True)
        args = [binary, "--port", str(base + i), "--bind", "127.0.0.1", "--cluster-enabled",
                "yes", "--dir", d, "--cluster-node-timeout", "5000"]
        if redis_server:
            args += ["--save", "", "--appendonly", "no"]
        log = open(os.path.join(tmp, f"n{base + i}.log"), "w")
        procs.append(subprocess.Popen(args, stdout=log, stderr=log))
    for i in range(3):
        for _ in range(100):
            try:
                redis.Redis(port=base + i).ping()
                break
            except Exception:
                if procs[i].poll() is not None:
                    sys.exit(f"node {base + i} exited; see {tmp}")
                time.sleep(0.1)
    rc, out = cli("--cluster", "create", *[f"127.0.0.1:{base + i}" for i in range(3)],
                  "--cluster-yes")
    if rc != 0:
        sys.exit(out)
    for _ in range(100):
        if all(b"cluster_state:ok" in redis.Redis(port=base + i).execute_command("CLUSTER", "INFO")
               for i in range(3)):
            break
        time.sleep(0.1)
    time.sleep(1)
    return procs


def fill(base, n):
    rc = RedisCluster(host="127.0.0.1", port=base)
    p = rc.pipeline()
    for i in range(n):
        p.set(f"fill:{i}", "x" * 64)
        if i % 10000 == 9999:
            p.execute()
    p.execute()


def node_id(port):
    return redis.Redis(port=port).execute_command("CLUSTER", "MYID").decode()


def run(name, binary, keys, redis_server, atomic):
    # Client ports and bus ports (port + 10000) stay below the ephemeral range (32768+).
    base = random.randrange(12000, 22000, 10)
    tmp = tempfile.mkdtemp(prefix="shoal-slotmig-")
    procs = start_cluster(binary, base, tmp, redis_server)
    try:
        fill(base, keys)
        load = Load(base, 20000)
        load.start()
        time.sleep(1)
        t = time.time()
        if atomic:
            atomic_move(base, node_id(base + 1), 1000)
        else:
            rc, out = cli("--cluster", "reshard", f"127.0.0.1:{base}", "--cluster-from",
                          node_id(base), "--cluster-to", node_id(base + 1), "--cluster-slots",
                          "1000", "--cluster-yes", "--cluster-pipeline", "100")
            if rc != 0:
                sys.exit(out[-2000:])
        took = time.time() - t
        moved = redis.Redis(port=base + 1).dbsize() - keys // 3
        time.sleep(1)
        load.stop.set()
        load.join(30)
        rc = RedisCluster(host="127.0.0.1", port=base)
        lost = sum(1 for k, v in load.last.items() if (rc.get(k) or b"").decode() != v)
        pause = ""
        if atomic:
            import re
            for i in range(3):
                with open(os.path.join(tmp, f"n{base + i}.log")) as f:
                    m = re.search(r"writes paused (\d+) ms", f.read())
                    if m:
                        pause = f" (writes paused {m.group(1)} ms for the hand-over)"
        print(f"| {name}{pause} | {took:.2f} | ~{moved} | {load.ops} | {len(load.errors)} | "
              f"{len(load.stale)} | {lost} |", flush=True)
    finally:
        died = [p.args[2] for p in procs if p.poll() is not None]
        for p in procs:
            p.kill()
        if died:
            print(f"nodes on ports {died} died; logs kept in {tmp}", flush=True)
        else:
            shutil.rmtree(tmp, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("binary")
    ap.add_argument("--keys", type=int, default=1_000_000)
    ap.add_argument("--redis", default=shutil.which("redis-server"))
    a = ap.parse_args()
    sys.stdout.reconfigure(line_buffering=True)
    print(f"1000 of 16384 slots moved in a 3-primary cluster holding {a.keys} keys (64-byte "
          f"values), under a RedisCluster load")
    print("| server, method | seconds | keys moved | load ops | errors | stale | lost |")
    print("|---|---|---|---|---|---|---|")
    run("shoal, CLUSTER MIGRATESLOTS", a.binary, a.keys, False, True)
    run("shoal, redis-cli reshard", a.binary, a.keys, False, False)
    if a.redis:
        run("redis-server, redis-cli reshard", a.redis, a.keys, True, False)


if __name__ == "__main__":
    main()
