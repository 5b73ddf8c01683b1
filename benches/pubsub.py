#!/usr/bin/env python3
"""Pub/Sub against redis-server in the same run, one core each (servers on --server-cpu).

Measures the servers' on-CPU time (all threads, /proc/PID/task/*/schedstat):
  fanout    1 publisher (redis-benchmark -c 1 -P 16 PUBLISH) to 100 subscribers, 64-byte messages:
            messages delivered per second of server CPU (higher is better).
  nosub     PUBLISH to a channel nobody listens on (-c 50 -P 16): CPU per request.
  patterns  the same with 1000 pattern subscriptions that do not match: CPU per request.

Usage: python3 benches/pubsub.py [--messages 100000] [--rounds 3]
"""
import argparse
import multiprocessing
import os
import selectors
import shutil
import socket
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from compare import SHOAL, Server, cpu_ns  # noqa: E402

PAYLOAD = "x" * 64


def frame_len(channel):
    return len(f"*3\r\n$7\r\nmessage\r\n${len(channel)}\r\n{channel}\r\n$64\r\n{PAYLOAD}\r\n")


def subscribers(port, n, channel, want_bytes, ready, done):
    """n subscribed sockets reading and counting bytes until each has `want_bytes` (or 120 s)."""
    sel = selectors.DefaultSelector()
    socks = []
    for _ in range(n):
        s = socket.create_connection(("127.0.0.1", port))
        cmd = f"*2\r\n$9\r\nSUBSCRIBE\r\n${len(channel)}\r\n{channel}\r\n".encode()
        s.sendall(cmd)
        confirm = f"*3\r\n$9\r\nsubscribe\r\n${len(channel)}\r\n{channel}\r\n:1\r\n".encode()
        got = b""
        while len(got) < len(confirm):
            got += s.recv(len(confirm) - len(got))
        s.setblocking(False)
        sel.register(s, selectors.EVENT_READ, [0])
        socks.append(s)
    ready.set()
    left = n
    deadline = time.time() + 120
    while left and time.time() < deadline:
        for key, _ in sel.select(timeout=1):
            try:
                data = key.fileobj.recv(1 << 20)
            except BlockingIOError:
                continue
            if not data:
                sel.unregister(key.fileobj)
                left -= 1
                continue
            key.data[0] += len(data)
            if key.data[0] >= want_bytes:
                sel.unregister(key.fileobj)
                left -= 1
    done.value = n - left
    for s in socks:
        s.close()


def benchmark(port, args, client_cpu):
    argv = ["redis-benchmark", "-p", str(port)] + args
    if client_cpu is not None and shutil.which("taskset"):
        argv = ["taskset", "-c", str(client_cpu)] + argv
    subprocess.run(argv, capture_output=True, text=True, check=True)


def fanout(server, msgs, client_cpu):
    channel = "fan"
    want = msgs * frame_len(channel)
    ready = multiprocessing.Event()
    done = multiprocessing.Value("i", 0)
    p = multiprocessing.Process(target=subscribers, args=(server.port, 100, channel, want, ready, done))
    p.start()
    ready.wait(30)
    before = cpu_ns(server.pid)
    benchmark(server.port, ["-c", "1", "-P", "16", "-n", str(msgs), "PUBLISH", channel, PAYLOAD], client_cpu)
    p.join(150)
    after = cpu_ns(server.pid)
    delivered = done.value * msgs
    if done.value != 100:
        print(f"# {server.name}: only {done.value} subscribers got every message", file=sys.stderr)
    return delivered / ((after - before) / 1e9)


def per_request(server, n, client_cpu):
    before = cpu_ns(server.pid)
    benchmark(server.port, ["-c", "50", "-P", "16", "-n", str(n), "PUBLISH", "nobody", PAYLOAD], client_cpu)
    return (cpu_ns(server.pid) - before) / 1000.0 / n


def with_patterns(server, n, client_cpu):
    s = socket.create_connection(("127.0.0.1", server.port))
    parts = [f"*{1001}\r\n$10\r\nPSUBSCRIBE\r\n"]
    for i in range(1000):
        pat = f"pat:{i}:*"
        parts.append(f"${len(pat)}\r\n{pat}\r\n")
    s.sendall("".join(parts).encode())
    time.sleep(0.5)
    try:
        return per_request(server, n, client_cpu)
    finally:
        s.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--messages", type=int, default=100000)
    ap.add_argument("--requests", type=int, default=500000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--server-cpu", type=int, default=0)
    ap.add_argument("--client-cpu", type=int, default=1)
    args = ap.parse_args()
    servers = {
        "redis": ["redis-server", "--port", "{port}", "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        "shoal": [SHOAL, "--port", "{port}", "--bind", "127.0.0.1", "--threads", "1"],
    }
    results = {name: {"fanout": [], "nosub": [], "patterns": []} for name in servers}
    for _ in range(args.rounds):
        for name, argv in servers.items():
            srv = Server(name, argv, args.server_cpu)
            try:
                results[name]["fanout"].append(fanout(srv, args.messages, args.client_cpu))
                results[name]["nosub"].append(per_request(srv, args.requests, args.client_cpu))
                results[name]["patterns"].append(with_patterns(srv, args.requests // 5, args.client_cpu))
            finally:
                srv.stop()
    med = {n: {k: statistics.median(v) for k, v in r.items()} for n, r in results.items()}
    print(f"# {args.rounds} rounds, medians; servers on cpu {args.server_cpu}, clients on cpu {args.client_cpu}")
    print("| test | redis | shoal | shoal/redis |")
    print("|---|---|---|---|")
    r, s = med["redis"], med["shoal"]
    print(f"| fan-out 1→100, messages delivered per CPU-second | {r['fanout']:,.0f} | {s['fanout']:,.0f} | {s['fanout'] / r['fanout']:.2f} |")
    print(f"| PUBLISH, no subscribers, CPU µs/request | {r['nosub']:.3f} | {s['nosub']:.3f} | {s['nosub'] / r['nosub']:.2f} |")
    print(f"| PUBLISH, 1000 patterns, CPU µs/request | {r['patterns']:.3f} | {s['patterns']:.3f} | {s['patterns'] / r['patterns']:.2f} |")


if __name__ == "__main__":
    main()
