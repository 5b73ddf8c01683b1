#!/usr/bin/env python3
"""What an ACL user with 10 key patterns costs per GET/SET against the default user, on shoal
and redis-server in the same run, one core each (servers on --server-cpu, redis-benchmark on
--client-cpu), over plain TCP.

The user is `ACL SETUSER bench on >pw ~a:* ~b:* ~c:* ~d:* ~e:* ~f:* ~g:* ~h:* ~i:* ~key:*
+@all`: redis-benchmark's keys (key:__rand_int__) match only the last pattern, so every check
walks all ten. Each server's on-CPU time per request (all threads, /proc/PID/task/*/schedstat)
is read over the run; the issue's target is <= 5 % over the default user.

Usage: python3 benches/acl.py [--requests 200000] [--rounds 3]
"""
import argparse
import os
import statistics
import sys

import redis

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from compare import SHOAL, Server, run_pinned  # noqa: E402

PATTERNS = ["~a:*", "~b:*", "~c:*", "~d:*", "~e:*", "~f:*", "~g:*", "~h:*", "~i:*", "~key:*"]


def bench(server, test, pipeline, requests, client_cpu, user):
    argv = ["redis-benchmark", "-p", str(server.port), "-c", "50", "-r", "100000", "-d", "64",
            "-n", str(requests), "-P", str(pipeline), "-t", test, "-q"]
    if user:
        argv += ["--user", "bench", "-a", "pw"]
    return run_pinned(server, argv, requests, client_cpu)[1]


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
    tests = [(t, p, u) for t in ("set", "get") for p in (1, 16) for u in (False, True)]
    cpu = {s: {t: [] for t in tests} for s in servers}
    for _ in range(args.rounds):
        for sname, argv in servers.items():
            srv = Server(sname, argv, args.server_cpu)
            try:
                c = redis.Redis(port=srv.port)
                c.execute_command("ACL", "SETUSER", "bench", "on", ">pw", *PATTERNS, "+@all")
                c.close()
                for t in tests:
                    cpu[sname][t].append(bench(srv, t[0], t[1], args.requests, args.client_cpu, t[2]))
            finally:
                srv.stop()
    print(f"# {args.rounds} rounds, medians; servers on cpu {args.server_cpu}, redis-benchmark on cpu {args.client_cpu}")
    print("# redis-benchmark -c 50 -r 100000 -d 64 -n %d -P {1,16} -t {set,get} [--user bench -a pw]" % args.requests)
    print("| test | -P | Redis default µs/req | Redis 10 patterns µs/req | Redis overhead | "
          "shoal default µs/req | shoal 10 patterns µs/req | shoal overhead |")
    print("|---|---|---|---|---|---|---|---|")
    for t, p in [(t, p) for t in ("set", "get") for p in (1, 16)]:
        row = [t.upper(), str(p)]
        for s in ("redis", "shoal"):
            d = statistics.median(cpu[s][(t, p, False)])
            u = statistics.median(cpu[s][(t, p, True)])
            row += [f"{d:.2f}", f"{u:.2f}", f"{(u / d - 1) * 100:+.1f} %"]
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
