#!/usr/bin/env python3
"""Differential check of HyperLogLog and geo commands: the same random command sequences against
redis-server and shoal-server, every reply compared (HLL values byte for byte through GET, so the
sparse/dense representation and the cached cardinality must be Redis's own; geo scores, positions,
hashes, distances and search results to Redis's precision).

Usage: tests/py/differential_hll_geo.py [path/to/shoal-server] [--rounds N] [--seed S]
Exits 1 at the first difference, printing the command and both replies.
"""
import sys

from differential import replay


def hll_commands(rng):
    keys = ["h1{t}", "h2{t}", "h3{t}"]
    yield ["DEL", *keys]
    if rng.random() < 0.3:
        yield ["CONFIG", "SET", "hll-sparse-max-bytes", str(rng.choice([0, 100, 3000, 12000]))]
    for _ in range(rng.randint(1, 12)):
        k = rng.choice(keys)
        n = rng.choice([0, 1, 3, 50, 400, 3000])
        base = rng.randint(0, 5000)
        eles = [f"e{base + j}" for j in range(n)]
        if rng.random() < 0.2:
            eles.append("")
        yield ["PFADD", k, *eles]
        r = rng.random()
        if r < 0.4:
            yield ["PFCOUNT", k]
            yield ["GET", k]
        elif r < 0.6:
            yield ["PFCOUNT", *rng.sample(keys, rng.randint(2, 3))]
        elif r < 0.8:
            yield ["PFMERGE", rng.choice(keys), *rng.sample(keys, rng.randint(0, 3))]
            yield ["GET", keys[0]]
        else:
            yield ["PFDEBUG", "ENCODING", k]
    for k in keys:
        yield ["PFCOUNT", k]
        yield ["GET", k]
    # Corruptions: Redis's errors, never a crash.
    yield ["SET", "bad{t}", "HYLL\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x7f"]
    yield ["PFCOUNT", "bad{t}"]
    yield ["PFADD", "bad{t}", "x"]
    yield ["SET", "bad{t}", "HYLX"]
    yield ["PFCOUNT", "bad{t}"]
    yield ["PFMERGE", "bad{t}", "h1{t}"]
    yield ["SET", "bad{t}", "123"]
    yield ["PFADD", "bad{t}", "a"]


def point(rng, cx, cy, spread):
    x = min(180.0, max(-180.0, cx + rng.uniform(-spread, spread)))
    y = min(85.05, max(-85.05, cy + rng.uniform(-spread, spread)))
    return f"{x:.6f}", f"{y:.6f}"


def geo_commands(rng):
    yield ["DEL", "g{t}", "dst{t}"]
    cx, cy = rng.uniform(-170, 170), rng.uniform(-80, 80)
    spread = rng.choice([0.01, 0.5, 5, 60])
    n = rng.choice([3, 40, 200, 700])
    names = [f"p{j}" for j in range(n)]
    cmd = ["GEOADD", "g{t}"]
    for m in names:
        cmd += [*point(rng, cx, cy, spread), m]
    yield cmd
    yield ["GEOADD", "g{t}", *rng.choice([[], ["NX"], ["XX"], ["CH"], ["XX", "CH"]]),
           *point(rng, cx, cy, spread), rng.choice(names + ["new"])]
    yield ["ZRANGE", "g{t}", "0", "20", "WITHSCORES"]
    yield ["GEOPOS", "g{t}", *rng.sample(names, min(5, n)), "missing"]
    yield ["GEOHASH", "g{t}", *rng.sample(names, min(5, n)), "missing"]
    unit = rng.choice(["m", "km", "ft", "mi", "KM"])
    yield ["GEODIST", "g{t}", rng.choice(names), rng.choice(names), unit]
    for _ in range(8):
        dist = {"m": 1, "km": 1000, "ft": 0.3048, "mi": 1609.34, "KM": 1000}[unit]
        radius = f"{rng.uniform(0, spread * 150000) / dist:.3f}"
        frm = (["FROMMEMBER", rng.choice(names)] if rng.random() < 0.5
               else ["FROMLONLAT", *point(rng, cx, cy, spread)])
        by = (["BYRADIUS", radius, unit] if rng.random() < 0.5
              else ["BYBOX", radius, f"{float(radius) * rng.uniform(0.2, 2):.3f}", unit])
        opts = []
        if rng.random() < 0.6:
            opts.append(rng.choice(["ASC", "DESC"]))
        if rng.random() < 0.4:
            opts += ["COUNT", str(rng.randint(1, 30))]
            if rng.random() < 0.3 and "ASC" not in opts and "DESC" not in opts:
                opts.append("ANY")
        withs = [w for w in ["WITHCOORD", "WITHDIST", "WITHHASH"] if rng.random() < 0.4]
        yield ["GEOSEARCH", "g{t}", *frm, *by, *opts, *withs]
        store = ["STOREDIST"] if rng.random() < 0.5 else []
        yield ["GEOSEARCHSTORE", "dst{t}", "g{t}", *frm, *by, *opts, *store]
        yield ["ZRANGE", "dst{t}", "0", "-1", "WITHSCORES"]
        if by[0] == "BYRADIUS":
            if frm[0] == "FROMLONLAT":
                yield ["GEORADIUS", "g{t}", frm[1], frm[2], radius, unit, *opts, *withs]
                yield ["GEORADIUS_RO", "g{t}", frm[1], frm[2], radius, unit, *opts]
                yield ["GEORADIUS", "g{t}", frm[1], frm[2], radius, unit, *opts, "STORE", "dst{t}"]
            else:
                yield ["GEORADIUSBYMEMBER", "g{t}", frm[1], radius, unit, *opts, *withs]
                yield ["GEORADIUSBYMEMBER_RO", "g{t}", frm[1], radius, unit, *opts]
                yield ["GEORADIUSBYMEMBER", "g{t}", frm[1], radius, unit, *opts, "STOREDIST", "dst{t}"]
            yield ["ZRANGE", "dst{t}", "0", "-1", "WITHSCORES"]
    # Errors.
    yield ["GEOADD", "g{t}", "181", "0", "x"]
    yield ["GEOADD", "g{t}", "0", "86", "x"]
    yield ["GEOADD", "g{t}", "NX", "XX", "0", "0", "x"]
    yield ["GEOADD", "g{t}", "0", "0"]
    yield ["GEOADD", "g{t}", "abc", "0", "x"]
    yield ["GEOSEARCH", "g{t}", "FROMLONLAT", "0", "0", "BYRADIUS", "-1", "m"]
    yield ["GEOSEARCH", "g{t}", "FROMLONLAT", "0", "0", "BYRADIUS", "1", "parsec"]
    yield ["GEOSEARCH", "g{t}", "FROMMEMBER", "nobody", "BYRADIUS", "1", "m"]
    yield ["GEOSEARCH", "g{t}", "BYRADIUS", "1", "m"]
    yield ["GEOSEARCH", "g{t}", "FROMLONLAT", "0", "0"]
    yield ["GEOSEARCH", "g{t}", "FROMLONLAT", "0", "0", "BYBOX", "1", "-1", "m"]
    yield ["GEOSEARCH", "g{t}", "FROMLONLAT", "0", "0", "BYRADIUS", "1", "m", "ANY"]
    yield ["GEOSEARCH", "g{t}", "FROMLONLAT", "0", "0", "BYRADIUS", "1", "m", "COUNT", "0"]
    yield ["GEOSEARCHSTORE", "dst{t}", "g{t}", "FROMLONLAT", "0", "0", "BYRADIUS", "1", "m", "WITHDIST"]
    yield ["GEORADIUS", "g{t}", "0", "0", "1", "m", "WITHHASH", "STORE", "dst{t}"]
    yield ["GEORADIUS_RO", "g{t}", "0", "0", "1", "m", "STORE", "dst{t}"]
    yield ["GEODIST", "g{t}", "a", "b", "m", "extra"]
    yield ["GEOSEARCH", "nokey{t}", "FROMMEMBER", "x", "BYRADIUS", "1", "m"]
    yield ["GEOSEARCHSTORE", "dst{t}", "nokey{t}", "FROMMEMBER", "x", "BYRADIUS", "1", "m"]
    yield ["EXISTS", "dst{t}"]


def main():
    return replay(
        "differential_hll_geo",
        lambda rng, rnd: list(hll_commands(rng)) if rnd % 2 == 0 else list(geo_commands(rng)),
        default_rounds=100,
        width=2000,
    )

if __name__ == "__main__":
    sys.exit(main())
