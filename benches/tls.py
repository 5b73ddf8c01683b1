#!/usr/bin/env python3
"""TLS GET/SET against redis-server in the same run, one core each (servers on --server-cpu,
redis-benchmark on --client-cpu).

Both servers listen on TLS only (`--port 0 --tls-port P`) with the certificates
tests/redis-suite/gen-test-certs.sh makes (server.crt signed by ca.crt), `--tls-auth-clients no`;
redis-benchmark connects with `--tls --cacert ca.crt`. Each server's on-CPU time per request (all
threads, /proc/PID/task/*/schedstat) is read over the run; the issue's target is shoal's CPU per
request <= Redis's / 1.2. The same time is also split into user and system (kernel) time from
/proc/PID/stat (utime, stime: tick-sampled, so only their medians over several rounds mean much).

Usage: python3 benches/tls.py [--requests 200000] [--rounds 3] [--pipelines 1,16] [--rt] [--shoal BIN]
"""
import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from compare import ROOT, SHOAL, Server, run_pinned  # noqa: E402


TICK_US = 1e6 / os.sysconf("SC_CLK_TCK")


def user_sys(pid):
    """User and system CPU time of every thread of `pid` so far, in microseconds."""
    with open(f"/proc/{pid}/stat") as fh:
        f = fh.read().rsplit(")", 1)[1].split()
    return int(f[11]) * TICK_US, int(f[12]) * TICK_US


def bench(server, test, pipeline, requests, client_cpu, certs, rt=False):
    argv = (["chrt", "-f", "10"] if rt else []) + ["redis-benchmark", "-p", str(server.port), "--tls", "--cacert", os.path.join(certs, "ca.crt"),
            "-c", "50", "-r", "100000", "-d", "64", "-n", str(requests), "-P", str(pipeline), "-t", test, "--csv"]
    u0, s0 = user_sys(server.pid)
    out, cpu_us = run_pinned(server, argv, requests, client_cpu)
    u1, s1 = user_sys(server.pid)
    rps = 0.0
    for line in out.splitlines():
        f = [x.strip('"') for x in line.split('","')]
        if line.startswith('"') and not line.startswith('"test"'):
            rps = float(f[1])
    return cpu_us, rps, (u1 - u0) / requests, (s1 - s0) / requests


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--requests", type=int, default=200000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--server-cpu", type=int, default=0)
    ap.add_argument("--client-cpu", type=int, default=1)
    ap.add_argument("--pipelines", default="1,16", help="comma list of -P values")
    ap.add_argument("--rt", action="store_true",
                    help="run servers and redis-benchmark at SCHED_FIFO priority 10 (chrt): other work on "
                         "the machine no longer preempts them (a shared build machine otherwise decides -P 1)")
    ap.add_argument("--shoal", default=SHOAL, help="the shoal-server binary (to compare builds)")
    ap.add_argument("--only", choices=["redis", "shoal"], help="run one server only (for profiling)")
    args = ap.parse_args()
    certs = tempfile.mkdtemp(prefix="shoal-tls-bench-")
    subprocess.run([os.path.join(ROOT, "tests", "redis-suite", "gen-test-certs.sh"), certs], check=True,
                   capture_output=True)
    tls = ["--tls-cert-file", os.path.join(certs, "server.crt"), "--tls-key-file", os.path.join(certs, "server.key"),
           "--tls-ca-cert-file", os.path.join(certs, "ca.crt"), "--tls-auth-clients", "no"]
    servers = {
        "redis": ["redis-server", "--port", "0", "--tls-port", "{port}", "--bind", "127.0.0.1", "--save", "",
                  "--appendonly", "no"] + tls,
        "shoal": [args.shoal, "--port", "0", "--tls-port", "{port}", "--bind", "127.0.0.1", "--threads", "1"] + tls,
    }
    if args.only:
        servers = {args.only: servers[args.only]}
    tests = [(t, int(p)) for t in ("set", "get") for p in args.pipelines.split(",")]
    cpu = {s: {t: [] for t in tests} for s in servers}
    rps = {s: {t: [] for t in tests} for s in servers}
    usr = {s: {t: [] for t in tests} for s in servers}
    sys_ = {s: {t: [] for t in tests} for s in servers}
    try:
        for _ in range(args.rounds):
            # Alternate which server goes first, so drift over the run is shared.
            order = list(servers.items())
            if _ % 2:
                order.reverse()
            for sname, argv in order:
                srv = Server(sname, (["chrt", "-f", "10"] if args.rt else []) + argv, args.server_cpu)
                try:
                    for t in tests:
                        c, r, u, k = bench(srv, t[0], t[1], args.requests, args.client_cpu, certs, args.rt)
                        cpu[sname][t].append(c)
                        rps[sname][t].append(r)
                        usr[sname][t].append(u)
                        sys_[sname][t].append(k)
                finally:
                    srv.stop()
    finally:
        shutil.rmtree(certs, ignore_errors=True)
    print(f"# {args.rounds} rounds, medians; servers on cpu {args.server_cpu}, redis-benchmark on cpu {args.client_cpu}"
          + ("; SCHED_FIFO (--rt)" if args.rt else ""))
    print("# redis-benchmark --tls --cacert ca.crt -c 50 -r 100000 -d 64 -n %d -P {%s} -t {set,get}"
          % (args.requests, args.pipelines))
    if args.only:
        for t in tests:
            print(t, statistics.median(cpu[args.only][t]), statistics.median(rps[args.only][t]))
        return
    print("| test | -P | Redis req/s | shoal req/s | Redis CPU µs/req | shoal CPU µs/req | shoal/Redis CPU |")
    print("|---|---|---|---|---|---|---|")
    for t in tests:
        rc, sc = statistics.median(cpu["redis"][t]), statistics.median(cpu["shoal"][t])
        rr, sr = statistics.median(rps["redis"][t]), statistics.median(rps["shoal"][t])
        print(f"| {t[0].upper()} | {t[1]} | {rr:.0f} | {sr:.0f} | {rc:.2f} | {sc:.2f} | {sc / rc:.2f} |")
    print()
    print("| test | -P | Redis user µs/req | Redis sys µs/req | shoal user µs/req | shoal sys µs/req |")
    print("|---|---|---|---|---|---|")
    for t in tests:
        m = [statistics.median(x[s][t]) for s in ("redis", "shoal") for x in (usr, sys_)]
        print(f"| {t[0].upper()} | {t[1]} | {m[0]:.2f} | {m[1]:.2f} | {m[2]:.2f} | {m[3]:.2f} |")


if __name__ == "__main__":
    main()
