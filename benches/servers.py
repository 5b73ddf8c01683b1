"""Starting redis-server and shoal-server for the benchmark scripts (memory.py, eviction.py)."""
import os
import shutil
import socket
import subprocess
import time

import redis

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHOAL = os.environ.get("SHOAL_BIN", os.path.join(ROOT, "target", "release", "shoal-server"))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(kind, extra=(), cpu=None):
    """Starts `kind` ("redis" or "shoal") on a free loopback port with `extra` arguments, pinned
    to `cpu` when given; returns (process, redis-py client, port) once it answers PING."""
    port = free_port()
    if kind == "shoal":
        argv = [SHOAL, "--port", str(port), "--bind", "127.0.0.1", "--threads", "1"]
    else:
        argv = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    argv += list(extra)
    if cpu is not None and shutil.which("taskset"):
        argv = ["taskset", "-c", str(cpu)] + argv
    p = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    r = redis.Redis(port=port)
    for _ in range(200):
        try:
            r.ping()
            return p, r, port
        except redis.ConnectionError:
            time.sleep(0.05)
    p.kill()
    raise RuntimeError(f"{kind} did not start")
