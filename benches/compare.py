#!/usr/bin/env python3
"""Compare shoal-server with redis-server under redis-benchmark, in one run.

Both servers are pinned to the same CPU (default 0) and the load generator to another (default 1).
For every (test, pipeline) row the servers are benchmarked in interleaved order (A/B, then B/A, ...)
for several rounds; the script prints medians of requests/s, p99 latency and the server's CPU time
per request (on-CPU nanoseconds of all the server's threads from /proc/PID/task/*/schedstat over the
run, divided by the number of requests), and the ratio shoal/Redis.

Usage: benches/compare.sh [--rounds 3] [--requests 200000] [--threads-scaling]
"""
import argparse
import glob
import os
import shutil
import socket
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHOAL = os.path.join(ROOT, "target", "release", "shoal-server")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, timeout=10.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listening on {port}")


def cpu_ns(pid):
    """On-CPU time of every thread of `pid`, in nanoseconds."""
    total = 0
    for f in glob.glob(f"/proc/{pid}/task/*/schedstat"):
        try:
            with open(f) as fh:
                total += int(fh.read().split()[0])
        except (OSError, ValueError, IndexError):
            pass
    return total


class Server:
    def __init__(self, name, argv, cpu):
        self.name = name
        self.port = free_port()
        argv = [a.replace("{port}", str(self.port)) for a in argv]
        if cpu is not None and shutil.which("taskset"):
            argv = ["taskset", "-c", str(cpu)] + argv
        self.proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_port(self.port)
        # taskset execs the server, so the pid is the server's own.
        self.pid = self.proc.pid

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def run_pinned(server, argv, requests, client_cpu):
    """Runs the redis-benchmark command `argv` on `client_cpu`: its output, and the server's
    on-CPU microseconds per request over the run."""
    if client_cpu is not None and shutil.which("taskset"):
        argv = ["taskset", "-c", str(client_cpu)] + argv
    before = cpu_ns(server.pid)
    out = subprocess.run(argv, capture_output=True, text=True, check=True).stdout
    return out, (cpu_ns(server.pid) - before) / 1000.0 / requests


def bench(server, test, pipeline, requests, client_cpu, clients=50):
    argv = ["redis-benchmark", "-p", str(server.port), "-c", str(clients), "-r", "100000", "-d", "64",
            "-n", str(requests), "-P", str(pipeline), "-t", test, "--csv"]
    out, cpu_us = run_pinned(server, argv, requests, client_cpu)
    rows = [[x.strip('"') for x in l.split('","')] for l in out.splitlines() if l.startswith('"') and not l.startswith('"test"')]
    # LRANGE tests come after the LPUSH that fills their list: take the row of the test asked for.
    rows = [f for f in rows if f[0].split()[0].lower() == test] or rows
    if not rows:
        raise RuntimeError(f"no csv from redis-benchmark: {out}")
    f = rows[0]
    # "test","rps","avg_latency_ms","min_latency_ms","p50_latency_ms","p95_latency_ms","p99_latency_ms","max_latency_ms"
    return {"rps": float(f[1]), "p99": float(f[6]), "cpu_us": cpu_us}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--requests", type=int, default=200000)
    ap.add_argument("--tests", default="set,get,incr,mset", help="comma list, or 'all' for redis-benchmark's default suite")
    ap.add_argument("--pipelines", default="1,16")
    ap.add_argument("--server-cpu", type=int, default=0)
    ap.add_argument("--client-cpu", type=int, default=1)
    ap.add_argument("--threads-scaling", action="store_true", help="also compare shoal --threads 1 and 2")
    ap.add_argument("--against", metavar="BIN", help="compare with another shoal-server binary instead of redis-server")
    ap.add_argument("--shoal-args", default="", help="extra arguments for shoal-server")
    args = ap.parse_args()
    if args.tests == "all":
        args.tests = "set,get,incr,lpush,rpush,lpop,rpop,sadd,hset,spop,zadd,zpopmin,lrange_100,lrange_300,lrange_500,lrange_600,mset"

    for tool in ("redis-server", "redis-benchmark"):
        if not shutil.which(tool):
            sys.exit(f"{tool} not found (apt-get install redis-server redis-tools)")
    if not os.path.exists(SHOAL):
        sys.exit("build first: cargo build --release")
    base = "Redis"
    if args.against:
        base = "base"
        print(f"# base: {args.against} --threads 1")
    else:
        version = subprocess.run(["redis-server", "--version"], capture_output=True, text=True).stdout.strip()
        print(f"# {version}")
    print(f"# shoal: {SHOAL} --threads 1; cpu {args.server_cpu} for servers, cpu {args.client_cpu} for redis-benchmark")
    print(f"# redis-benchmark -c 50 -r 100000 -d 64 -n {args.requests}; {args.rounds} rounds, interleaved; medians")

    redis_argv = ["redis-server", "--port", "{port}", "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    if args.against:
        redis_argv = [args.against, "--port", "{port}", "--bind", "127.0.0.1", "--threads", "1"]
    servers = {
        "redis": Server("redis", redis_argv, args.server_cpu),
        "shoal": Server("shoal", [SHOAL, "--port", "{port}", "--bind", "127.0.0.1", "--threads", "1"] + args.shoal_args.split(), args.server_cpu),
    }
    try:
        results = {}
        for pipeline in [int(p) for p in args.pipelines.split(",")]:
            for test in args.tests.split(","):
                for r in range(args.rounds):
                    order = ["redis", "shoal"] if r % 2 == 0 else ["shoal", "redis"]
                    for name in order:
                        res = bench(servers[name], test, pipeline, args.requests, args.client_cpu)
                        results.setdefault((test, pipeline, name), []).append(res)
        print()
        print(f"| test | -P | {base} req/s | shoal req/s | req/s ratio | {base} CPU µs/req | shoal CPU µs/req | CPU ratio (shoal/{base}) | {base} p99 ms | shoal p99 ms |")
        print("|---|---|---|---|---|---|---|---|---|---|")
        ratios = {}
        for pipeline in [int(p) for p in args.pipelines.split(",")]:
            for test in args.tests.split(","):
                m = {}
                for name in ("redis", "shoal"):
                    rs = results[(test, pipeline, name)]
                    m[name] = {k: statistics.median(x[k] for x in rs) for k in ("rps", "p99", "cpu_us")}
                r, s = m["redis"], m["shoal"]
                ratios.setdefault(pipeline, []).append(r["cpu_us"] / s["cpu_us"])
                print(f"| {test.upper()} | {pipeline} | {r['rps']:.0f} | {s['rps']:.0f} | {s['rps'] / r['rps']:.2f} | "
                      f"{r['cpu_us']:.2f} | {s['cpu_us']:.2f} | {s['cpu_us'] / r['cpu_us']:.2f} | {r['p99']:.3f} | {s['p99']:.3f} |")
        print()
        for p, rs in ratios.items():
            gm = statistics.geometric_mean(rs)
            print(f"# -P {p}: geometric mean of {base} CPU / shoal CPU per request = {gm:.2f} over {len(rs)} tests")
    finally:
        for s in servers.values():
            s.stop()

    if args.threads_scaling:
        print()
        print("| shoal threads | test | -P | req/s (median) |")
        print("|---|---|---|---|")
        for threads in (1, 2):
            srv = Server("shoal", [SHOAL, "--port", "{port}", "--bind", "127.0.0.1", "--threads", str(threads)], None)
            try:
                for test in ("set", "get"):
                    rps = statistics.median(bench(srv, test, 16, args.requests, None, clients=100)["rps"] for _ in range(args.rounds))
                    print(f"| {threads} | {test.upper()} | 16 | {rps:.0f} |")
            finally:
                srv.stop()


if __name__ == "__main__":
    main()
