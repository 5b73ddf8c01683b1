#!/usr/bin/env python3
"""EVALSHA against redis-server in the same run, one core each (servers on --server-cpu,
redis-benchmark on --client-cpu).

Measures each server's on-CPU time per request (all threads, /proc/PID/task/*/schedstat) for
one-key scripts run with EVALSHA on random keys:
  get    return redis.call('get', KEYS[1])
  incr   return redis.call('incr', KEYS[1])
  2keys  an INCR on a declared key and a GET on a key it does not declare

Usage: python3 benches/scripting.py [--requests 200000] [--rounds 3]
"""
import argparse
import os
import statistics
import sys

import redis

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from compare import SHOAL, Server, run_pinned  # noqa: E402

SCRIPTS = {
    "get": "return redis.call('get', KEYS[1])",
    "incr": "return redis.call('incr', KEYS[1])",
    "2keys": "redis.call('incr', KEYS[1]); return redis.call('get', 'other')",
}


def run(server, sha, n, pipeline, client_cpu):
    argv = ["redis-benchmark", "-p", str(server.port), "-c", "50", "-P", str(pipeline), "-r", "100000",
            "-n", str(n), "EVALSHA", sha, "1", "key:__rand_int__"]
    return run_pinned(server, argv, n, client_cpu)[1]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--requests", type=int, default=200000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--server-cpu", type=int, default=0)
    ap.add_argument("--client-cpu", type=int, default=1)
    args = ap.parse_args()
    servers = {
        "redis": ["redis-server", "--port", "{port}", "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        "shoal": [SHOAL, "--port", "{port}", "--bind", "127.0.0.1", "--threads", "1"],
    }
    tests = [(name, p) for name in SCRIPTS for p in (1, 16)]
    results = {s: {t: [] for t in tests} for s in servers}
    for _ in range(args.rounds):
        for sname, argv in servers.items():
            srv = Server(sname, argv, args.server_cpu)
            try:
                c = redis.Redis(port=srv.port)
                for t in tests:
                    sha = c.script_load(SCRIPTS[t[0]])
                    results[sname][t].append(run(srv, sha, args.requests, t[1], args.client_cpu))
                c.close()
            finally:
                srv.stop()
    print(f"# {args.rounds} rounds, medians; servers on cpu {args.server_cpu}, redis-benchmark on cpu {args.client_cpu}")
    print("# redis-benchmark -c 50 -r 100000 -n %d EVALSHA <sha> 1 key:__rand_int__" % args.requests)
    print("| script | -P | Redis CPU µs/req | shoal CPU µs/req | shoal/Redis |")
    print("|---|---|---|---|---|")
    for t in tests:
        r = statistics.median(results["redis"][t])
        s = statistics.median(results["shoal"][t])
        print(f"| {t[0]} | {t[1]} | {r:.2f} | {s:.2f} | {s / r:.2f} |")


if __name__ == "__main__":
    main()
