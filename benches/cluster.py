#!/usr/bin/env python3
"""Cluster measurements on 127.0.0.1: time to form a 6-node cluster by CLUSTER MEET, gossip
convergence after one MEET of a new node, failure-detection time after kill -9, and
redis-benchmark --cluster throughput on 3 shoal primaries beside 3 redis-server primaries.

Usage: benches/cluster.py [--node-timeout 2000] [--requests 100000]
"""
import argparse
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHOAL = os.path.join(ROOT, "target", "release", "shoal-server")


def free_port():
    """A free data port whose bus port (+10000) is free too, both below the ephemeral range."""
    import random
    while True:
        p = random.randrange(12000, 22000)
        try:
            for q in (p, p + 10000):
                with socket.socket() as s:
                    s.bind(("127.0.0.1", q))
            return p
        except OSError:
            continue


def cli(port, *args):
    return subprocess.run(["redis-cli", "-p", str(port), *args], capture_output=True, text=True, timeout=10).stdout


def wait(cond, timeout, step=0.01):
    end = time.time() + timeout
    while time.time() < end:
        if cond():
            return True
        time.sleep(step)
    return False


class Node:
    def __init__(self, kind, timeout, tmp):
        self.port = free_port()
        self.dir = tempfile.mkdtemp(dir=tmp)
        if kind == "shoal":
            argv = [SHOAL, "--port", str(self.port), "--bind", "127.0.0.1", "--cluster-enabled", "yes", "--dir", self.dir,
                    "--cluster-node-timeout", str(timeout), "--threads", "1"]
        else:
            argv = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--cluster-enabled", "yes", "--dir", self.dir,
                    "--cluster-node-timeout", str(timeout), "--save", "", "--appendonly", "no"]
        self.proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait(lambda: "PONG" in cli(self.port, "ping"), 10)

    def known(self):
        return int(re.search(r"cluster_known_nodes:(\d+)", cli(self.port, "cluster", "info")).group(1))

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def formation(kind, n, timeout, tmp):
    nodes = [Node(kind, timeout, tmp) for _ in range(n)]
    try:
        t0 = time.time()
        for nd in nodes[1:]:
            cli(nodes[0].port, "cluster", "meet", "127.0.0.1", str(nd.port))
        ok = wait(lambda: all(nd.known() == n for nd in nodes), 60)
        formed = time.time() - t0
        # One more node met by a single member: how long until everyone knows it (gossip).
        extra = Node(kind, timeout, tmp)
        nodes.append(extra)
        t1 = time.time()
        cli(nodes[1].port, "cluster", "meet", "127.0.0.1", str(extra.port))
        ok2 = wait(lambda: all(nd.known() == n + 1 for nd in nodes), 60)
        converged = time.time() - t1
        return (formed if ok else None), (converged if ok2 else None)
    finally:
        for nd in nodes:
            nd.stop()


def failure_detection(kind, timeout, tmp):
    nodes = [Node(kind, timeout, tmp) for _ in range(3)]
    try:
        per = 16384 // 3
        for i, nd in enumerate(nodes):
            hi = 16383 if i == 2 else (i + 1) * per - 1
            cli(nd.port, "cluster", "addslotsrange", str(i * per), str(hi))
        for nd in nodes[1:]:
            cli(nodes[0].port, "cluster", "meet", "127.0.0.1", str(nd.port))
        wait(lambda: all("cluster_state:ok" in cli(nd.port, "cluster", "info") for nd in nodes), 60)
        victim = cli(nodes[2].port, "cluster", "myid").strip()
        nodes[2].proc.send_signal(signal.SIGKILL)
        t0 = time.time()
        def failed():
            for nd in nodes[:2]:
                line = [l for l in cli(nd.port, "cluster", "nodes").splitlines() if l.startswith(victim)]
                if not line or "fail" not in line[0].split()[2].split(","):
                    return False
            return True
        ok = wait(failed, 10 * timeout / 1000 + 10)
        return time.time() - t0 if ok else None
    finally:
        for nd in nodes:
            nd.stop()


def bench(kind, requests, tmp):
    nodes = [Node(kind, 5000, tmp) for _ in range(3)]
    try:
        addrs = [f"127.0.0.1:{nd.port}" for nd in nodes]
        subprocess.run(["redis-cli", "--cluster", "create", *addrs, "--cluster-yes"], capture_output=True, timeout=60)
        wait(lambda: all("cluster_state:ok" in cli(nd.port, "cluster", "info") for nd in nodes), 60)
        out = subprocess.run(["redis-benchmark", "--cluster", "-p", str(nodes[0].port), "-q", "-t", "set,get", "-n", str(requests),
                              "-r", "100000", "-c", "50", "-P", "16", "--csv"], capture_output=True, text=True, timeout=300).stdout
        res = {}
        for line in out.splitlines():
            f = [x.strip('"') for x in line.split('","')]
            if len(f) > 2 and f[0] in ("SET", "GET"):
                res[f[0]] = float(f[1])
        return res
    finally:
        for nd in nodes:
            nd.stop()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--node-timeout", type=int, default=2000)
    ap.add_argument("--requests", type=int, default=200000)
    args = ap.parse_args()
    if not os.path.exists(SHOAL):
        sys.exit("build first: cargo build --release")
    tmp = tempfile.mkdtemp(prefix="shoal-cluster-bench-")
    try:
        print(f"# node-timeout {args.node_timeout} ms, all nodes on 127.0.0.1")
        print("| measure | shoal | redis-server |")
        print("|---|---|---|")
        rows = {}
        for kind in ("shoal", "redis"):
            formed, converged = formation(kind, 6, args.node_timeout, tmp)
            rows.setdefault("6-node formation by CLUSTER MEET (s)", {})[kind] = formed
            rows.setdefault("gossip convergence after one MEET of a 7th node (s)", {})[kind] = converged
            rows.setdefault("failure detection after kill -9, 3 primaries (s)", {})[kind] = failure_detection(kind, args.node_timeout, tmp)
            b = bench(kind, args.requests, tmp)
            rows.setdefault("redis-benchmark --cluster SET -P 16 (req/s)", {})[kind] = b.get("SET")
            rows.setdefault("redis-benchmark --cluster GET -P 16 (req/s)", {})[kind] = b.get("GET")
        for k, v in rows.items():
            fmt = lambda x: "n/a" if x is None else (f"{x:.0f}" if x > 100 else f"{x:.2f}")
            print(f"| {k} | {fmt(v.get('shoal'))} | {fmt(v.get('redis'))} |")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
