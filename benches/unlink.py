#!/usr/bin/env python3
"""DEL vs UNLINK of a 1M-member set: server-side time from SLOWLOG (log-slower-than 0).
Usage: python3 benches/unlink.py PORT LABEL (against a running server)."""
import redis, time, sys
r = redis.Redis(port=int(sys.argv[1]))
r.config_set("slowlog-log-slower-than", 0)
for cmd in ["DEL", "UNLINK"]:
    us = []
    for rnd in range(3):
        r.delete("big")
        p = r.pipeline(transaction=False)
        for i in range(0, 1_000_000, 10000):
            p.sadd("big", *[f"member:{j}" for j in range(i, i+10000)])
        p.execute()
        time.sleep(0.2)
        r.slowlog_reset()
        r.execute_command(cmd, "big")
        log = [e for e in r.slowlog_get(10) if e["command"].split()[0].upper() == cmd.encode() or e["command"].upper().startswith(cmd.encode())]
        us.append(log[0]["duration"])
        time.sleep(0.3)
    print(sys.argv[2], cmd, "server-side µs (SLOWLOG), 3 runs:", us)
