#!/usr/bin/env python3
"""Failover time, shoal vs redis-server, same machine, same node-timeout.

For each server: 3 primaries + 3 replicas on 127.0.0.1 built by `redis-cli --cluster create
--cluster-replicas 1`, 2000 keys written; then, per run, `kill -9` of a primary and the times
from the kill until
  pfail     its replica flags it fail? (PFAIL)
  fail      every live node flags it fail
  promoted  its replica is a primary that accepts a write
  ok        every live node says cluster_state:ok
then the killed node is restarted and must rejoin as a replica before the next run.

usage: benches/failover.py ./target/release/shoal-server [--runs 3] [--node-timeout 2000]
"""
import argparse
import os
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

import redis


def poll(f, timeout=30.0):
    t = time.time()
    while time.time() - t < timeout:
        try:
            if f():
                return True
        except Exception:
            pass
        time.sleep(0.005)
    return False


class Cluster:
    def __init__(self, kind, binary, nt):
        self.kind, self.binary, self.nt = kind, binary, nt
        self.base = random.randrange(11000, 19000, 10)
        self.tmp = tempfile.mkdtemp(prefix=f"failover-{kind}-")
        self.procs = {}

    def start(self, i):
        port = self.base + i
        d = os.path.join(self.tmp, f"n{i}")
        os.makedirs(d, exist_ok=True)
        log = open(os.path.join(self.tmp, f"n{i}.log"), "a")
        if self.kind == "shoal":
            cmd = [self.binary, "--port", str(port), "--bind", "127.0.0.1", "--cluster-enabled",
                   "yes", "--dir", d, "--cluster-node-timeout", str(self.nt)]
        else:
            cmd = ["redis-server", "--port", str(port), "--bind", "127.0.0.1",
                   "--cluster-enabled", "yes", "--dir", d, "--cluster-node-timeout", str(self.nt),
                   "--save", "", "--appendonly", "no"]
        self.procs[i] = subprocess.Popen(cmd, stdout=log, stderr=log)
        if not poll(lambda: redis.Redis(port=port).ping(), 10):
            sys.exit(f"{self.kind} node {i} did not start")

    def r(self, i):
        return redis.Redis(port=self.base + i, socket_timeout=1)

    def node_id(self, i):
        return self.r(i).execute_command("CLUSTER", "MYID").decode()

    def create(self):
        for i in range(6):
            self.start(i)
        addrs = [f"127.0.0.1:{self.base + i}" for i in range(6)]
        subprocess.run(["redis-cli", "--cluster", "create", *addrs, "--cluster-replicas", "1",
                        "--cluster-yes"], capture_output=True, check=True, timeout=120)
        if not poll(lambda: all(b"cluster_state:ok" in self.r(i).execute_command("CLUSTER", "INFO")
                                for i in range(6)), 60):
            sys.exit("cluster did not form")
        # Every replica must hold its primary's data before a primary is killed (Redis's first
        # sync starts after its 5 s diskless delay, and a replica that never synced does not
        # stand for election).
        if not poll(lambda: all(self.r(i).info("replication").get("master_link_status") == "up"
                                for i in range(6)
                                if self.r(i).info("replication")["role"] == "slave"), 60):
            sys.exit("replicas did not sync")
        from redis.cluster import RedisCluster
        rc = RedisCluster(host="127.0.0.1", port=self.base)
        for k in range(2000):
            rc.set(f"fk:{k}", k)
        rc.close()

    def replica_of(self, pid):
        for i in range(6):
            text = self.r(i).execute_command("CLUSTER", "NODES").decode()
            for line in text.splitlines():
                f = line.split()
                if "myself" in f[2] and f[3] == pid and "slave" in f[2]:
                    return i
        return None

    def flags_of(self, i, nid):
        text = self.r(i).execute_command("CLUSTER", "NODES").decode()
        for line in text.splitlines():
            f = line.split()
            if f[0] == nid:
                return f[2].split(",")
        return []

    def run_once(self, victim):
        vid = self.node_id(victim)
        rep = self.replica_of(vid)
        live = [i for i in range(6) if i != victim]
        # A key of the victim's slots, to prove the promoted replica takes writes.
        key = next(f"probe:{n}" for n in range(100000)
                   if self.r(victim).execute_command("CLUSTER", "KEYSLOT", f"probe:{n}") in
                   self.owned(victim))
        t0 = time.time()
        self.procs[victim].send_signal(signal.SIGKILL)
        self.procs[victim].wait()
        marks = {}

        def seen(name, cond):
            if name not in marks and cond():
                marks[name] = time.time() - t0

        def step():
            seen("pfail", lambda: any(f in ("fail?", "fail") for f in self.flags_of(rep, vid)))
            seen("fail", lambda: all("fail" in self.flags_of(i, vid) for i in live))
            seen("promoted", lambda: self.r(rep).execute_command("ROLE")[0] == b"master"
                 and self.r(rep).set(key, "x"))
            seen("ok", lambda: "promoted" in marks and all(
                b"cluster_state:ok" in self.r(i).execute_command("CLUSTER", "INFO") for i in live))
            return len(marks) == 4

        if not poll(step, 60):
            sys.exit(f"{self.kind}: failover incomplete: {marks}")
        self.start(victim)
        if not poll(lambda: self.replica_of(self.node_id(rep)) is not None
                    and self.r(victim).info("replication").get("master_link_status") == "up", 60):
            print(self.r(victim).execute_command("CLUSTER", "NODES").decode())
            sys.exit(f"{self.kind}: the old primary did not rejoin as a replica")
        return marks, rep

    def owned(self, i):
        nid = self.node_id(i)
        out = set()
        for e in self.r(i).execute_command("CLUSTER", "SLOTS"):
            if e[2][2].decode() == nid:
                out.update(range(e[0], min(e[1], e[0] + 50) + 1))
        return out

    def close(self):
        for p in self.procs.values():
            p.kill()
        shutil.rmtree(self.tmp, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("binary")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--node-timeout", type=int, default=2000)
    args = ap.parse_args()
    kinds = ["shoal"] + (["redis"] if shutil.which("redis-server") else [])
    for kind in kinds:
        c = Cluster(kind, args.binary, args.node_timeout)
        try:
            c.create()
            results = []
            victim = 0
            for run in range(args.runs):
                marks, rep = c.run_once(victim)
                results.append(marks)
                print(f"{kind} run {run + 1}: " + "  ".join(
                    f"{k} {marks[k]:.2f}s" for k in ("pfail", "fail", "promoted", "ok")))
                victim = rep  # next time, kill the node just promoted
            med = {k: statistics.median(m[k] for m in results)
                   for k in ("pfail", "fail", "promoted", "ok")}
            print(f"{kind} median over {args.runs} (node-timeout {args.node_timeout} ms): " +
                  "  ".join(f"{k} {v:.2f}s" for k, v in med.items()))
        finally:
            c.close()


if __name__ == "__main__":
    main()
