#!/usr/bin/env python3
"""Differential check for bitmaps, BITFIELD, LCS and SORT: random command sequences against
redis-server and shoal-server, every reply compared (errors by their text), and the values the
writes leave behind compared too.

Usage: tests/py/differential_bits.py [path/to/shoal-server] [--rounds N] [--seed S]
Exits 1 at the first difference, printing the command and both replies.
"""
import sys

from differential import replay

KEYS = ["b1", "b2", "b3", "n", "l"]


def offset(rng):
    return str(rng.choice([
        rng.randint(0, 40), rng.randint(0, 300), rng.randint(0, 5000), -1,
        rng.choice(["x", "4294967296", "1.5", "#3", ""]),
    ]))


def index(rng):
    return str(rng.choice([rng.randint(-12, 12), rng.randint(-80, 80), -100, 100]))


def value(rng):
    return rng.choice([
        bytes(rng.randint(0, 255) for _ in range(rng.randint(0, 12))),
        b"\xff" * rng.randint(1, 40),
        b"\x00" * rng.randint(1, 40) + b"\x01",
        b"foobar",
        str(rng.randint(-1000, 100000)).encode(),
        b"",
    ])


def field_type(rng):
    if rng.random() < 0.05:
        return rng.choice(["u64", "i65", "u0", "x8", "i"])
    if rng.random() < 0.5:
        return f"i{rng.choice([1, 2, 3, 5, 8, 13, 16, 31, 32, 63, 64])}"
    return f"u{rng.choice([1, 2, 3, 5, 8, 13, 16, 31, 32, 63])}"


def field_value(rng):
    return str(rng.choice([
        rng.randint(-300, 300), rng.randint(-2**63, 2**63 - 1), 2**63 - 1, -2**63, 0, 1, -1,
    ]))


def bitfield(rng, key):
    cmd = ["BITFIELD" if rng.random() < 0.8 else "BITFIELD_RO", key]
    for _ in range(rng.randint(0, 5)):
        r = rng.random()
        t = field_type(rng)
        off = rng.choice([str(rng.randint(0, 100)), f"#{rng.randint(0, 10)}"])
        if r < 0.35:
            cmd += ["GET", t, off]
        elif r < 0.6:
            cmd += ["SET", t, off, field_value(rng)]
        elif r < 0.85:
            cmd += ["INCRBY", t, off, field_value(rng)]
        else:
            cmd += ["OVERFLOW", rng.choice(["WRAP", "SAT", "FAIL", "wrap", "bad"])]
    return cmd


def bit_commands(rng):
    key = rng.choice(KEYS)
    r = rng.random()
    if r < 0.15:
        return ["SETBIT", key, offset(rng), rng.choice(["0", "1", "1", "2", "-1"])]
    if r < 0.25:
        return ["GETBIT", key, offset(rng)]
    if r < 0.4:
        cmd = ["BITCOUNT", key]
        k = rng.random()
        if k < 0.7:
            cmd += [index(rng), index(rng)]
            if rng.random() < 0.6:
                cmd.append(rng.choice(["BIT", "BYTE", "bit", "bits"]))
        elif k < 0.8:
            cmd.append(index(rng))
        return cmd
    if r < 0.55:
        cmd = ["BITPOS", key, rng.choice(["0", "1", "1", "0", "2"])]
        k = rng.random()
        if k < 0.7:
            cmd.append(index(rng))
            if rng.random() < 0.7:
                cmd.append(index(rng))
                if rng.random() < 0.6:
                    cmd.append(rng.choice(["BIT", "BYTE", "byte", "x"]))
        return cmd
    if r < 0.65:
        op = rng.choice(["AND", "OR", "XOR", "NOT", "or", "nand"])
        n = 1 if op == "NOT" and rng.random() < 0.9 else rng.randint(1, 3)
        return ["BITOP", op, rng.choice(KEYS + ["dest"]), *[rng.choice(KEYS + ["none"]) for _ in range(n)]]
    if r < 0.85:
        return bitfield(rng, key)
    if r < 0.92:
        return ["SET", key, value(rng)]
    if r < 0.96:
        return ["APPEND", key, value(rng)]
    return ["SETRANGE", key, str(rng.randint(0, 30)), value(rng)]


def lcs_commands(rng):
    alphabet = rng.choice(["ab", "acgt", "abcdefgh"])
    for k in ("s1", "s2"):
        yield ["SET", k, "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 60)))]
    for _ in range(4):
        opts = []
        for o in rng.sample(["LEN", "IDX", "WITHMATCHLEN", "MINMATCHLEN"], rng.randint(0, 3)):
            opts.append(o)
            if o == "MINMATCHLEN":
                opts.append(str(rng.randint(-1, 5)))
        yield ["LCS", rng.choice(["s1", "s2", "none", "l"]), rng.choice(["s1", "s2", "n"]), *opts]


def sort_commands(rng):
    n = rng.randint(0, 25)
    kind = rng.choice(["list", "set", "zset"])
    yield ["DEL", "src"]
    # Distinct elements and weights: SORT with ties on BY ... ALPHA has no defined order.
    elems = rng.sample(range(-50, 200), n)
    nums = rng.random() < 0.8
    members = [str(e) if nums else f"e{e}" for e in elems]
    if n:
        if kind == "list":
            yield ["RPUSH", "src", *members]
        elif kind == "set":
            yield ["SADD", "src", *members]
        else:
            yield ["ZADD", "src", *[x for m in members for x in (str(rng.randint(0, 9)), m)]]
    weights = rng.sample(range(1000), n)
    for m, w in zip(members, weights):
        if rng.random() < 0.9:
            yield ["SET", f"w_{m}", str(w) if rng.random() < 0.97 else "x"]
        yield ["HSET", f"h_{m}", "f", str(w), "name", f"name{w}"]
    for _ in range(5):
        cmd = [rng.choice(["SORT", "SORT", "SORT_RO"]), rng.choice(["src", "src", "none", "b1"])]
        # A set's own order differs between servers: without sorting it only goes in STORE.
        by = rng.choice([None, None, "w_*", "h_*->f", "nosort", "h_*->name"])
        if kind == "set" and by == "nosort":
            by = None
        if by:
            cmd += ["BY", by]
        if rng.random() < 0.5:
            cmd.append(rng.choice(["ASC", "DESC"]))
        # ALPHA BY a missing value ties (no defined order): only BY the hash, always there.
        if (rng.random() < 0.4 and by in (None, "nosort", "h_*->f", "h_*->name")) or (
            by == "h_*->name" and rng.random() < 0.8
        ):
            cmd.append("ALPHA")
        if rng.random() < 0.4:
            cmd += ["LIMIT", str(rng.randint(-3, 30)), str(rng.randint(-2, 30))]
        for _ in range(rng.randint(0, 2)):
            cmd += ["GET", rng.choice(["#", "w_*", "h_*->name", "const", "h_*->"])]
        if rng.random() < 0.3:
            cmd += ["STORE", "dst"]
        if rng.random() < 0.03:
            cmd.append(rng.choice(["BOGUS", "LIMIT"]))
        yield cmd
        if "STORE" in cmd:
            yield ["LRANGE", "dst", "0", "-1"]
            yield ["EXISTS", "dst"]


def bits_round(rng, rnd):
    seq = [["FLUSHALL"], ["RPUSH", "l", "x"], ["SET", "n", str(rng.randint(0, 99999))]]
    for k in ("b1", "b2", "b3"):
        if rng.random() < 0.7:
            seq.append(["SET", k, value(rng)])
    seq += [bit_commands(rng) for _ in range(40)]
    seq += [["GET", k] for k in ("b1", "b2", "b3", "n", "dest")]
    seq += list(lcs_commands(rng))
    seq += list(sort_commands(rng))
    return seq


def main():
    return replay("differential_bits", bits_round)

if __name__ == "__main__":
    sys.exit(main())
