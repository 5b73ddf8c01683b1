#!/usr/bin/env python3
"""Long scripts on different keys, one alone and two at once, against a running server.

    python3 benches/scripts_parallel.py PORT

Start the server with a high busy-reply-threshold (e.g. --busy-reply-threshold 100000) so the
scripts are not reported busy. Prints the best of three wall times for 1 and 2 scripts at once:
two at the time of one means they ran side by side.
"""
import sys
import threading
import time

import redis

SCRIPT = "local x=0 for i=1,30000000 do x=x+i end redis.call('set',KEYS[1],x) return x"


def run(port, key):
    redis.Redis(port=port).eval(SCRIPT, 1, key)


def main():
    port = int(sys.argv[1])
    for n in (1, 2):
        best = float("inf")
        for _ in range(3):
            ts = [threading.Thread(target=run, args=(port, f"k{i}")) for i in range(n)]
            t = time.time()
            for x in ts:
                x.start()
            for x in ts:
                x.join()
            best = min(best, time.time() - t)
        print(f"{n} scripts at once: {best:.3f}s")


if __name__ == "__main__":
    main()
