"""Generates crates/shoal-commands/src/introspect/redis_commands.rs from a running redis-server
7.0.15: for every command and subcommand, its COMMAND INFO entry (flags, key specs, tips…) and
its COMMAND DOCS entry, both as RESP3 bytes shoal replays (in RESP2 or RESP3) for the commands
it implements, and its key specs in a form COMMAND GETKEYS(ANDFLAGS) walks as Redis does.

    python3 tests/py/gen_command_docs.py PORT > crates/shoal-commands/src/introspect/redis_commands.rs

Talks RESP3 over a plain socket (HELLO 3) so maps and sets keep their types.
"""
import socket
import sys

KEY_FLAGS = ["RO", "RW", "OW", "RM", "access", "update", "insert", "delete", "not_key",
             "incomplete", "variable_flags"]


class Simple(str):
    pass


class Set(list):
    pass


class Map(list):
    """A list of (key, value) pairs."""


class Conn:
    def __init__(self, port):
        self.s = socket.create_connection(("127.0.0.1", port))
        self.buf = b""

    def line(self):
        while b"\r\n" not in self.buf:
            self.buf += self.s.recv(1 << 20)
        ln, self.buf = self.buf.split(b"\r\n", 1)
        return ln

    def exact(self, n):
        while len(self.buf) < n + 2:
            self.buf += self.s.recv(1 << 20)
        d, self.buf = self.buf[:n], self.buf[n + 2:]
        return d

    def read(self):
        ln = self.line()
        t, rest = ln[:1], ln[1:]
        if t == b"+":
            return Simple(rest.decode())
        if t == b"-":
            raise RuntimeError(rest.decode())
        if t == b":":
            return int(rest)
        if t == b"$":
            return self.exact(int(rest))
        if t == b"_":
            return None
        if t == b"*":
            return [self.read() for _ in range(int(rest))]
        if t == b"~":
            return Set(self.read() for _ in range(int(rest)))
        if t == b"%":
            return Map((self.read(), self.read()) for _ in range(int(rest)))
        raise RuntimeError(f"unexpected reply type {ln!r}")

    def call(self, *args):
        out = b"*%d\r\n" % len(args)
        for a in args:
            a = a.encode() if isinstance(a, str) else a
            out += b"$%d\r\n%s\r\n" % (len(a), a)
        self.s.sendall(out)
        return self.read()


def enc(v):
    if isinstance(v, Simple):
        return b"+" + v.encode() + b"\r\n"
    if isinstance(v, bool):
        raise RuntimeError("bool")
    if isinstance(v, int):
        return b":%d\r\n" % v
    if isinstance(v, bytes):
        return b"$%d\r\n%s\r\n" % (len(v), v)
    if isinstance(v, Set):
        return b"~%d\r\n" % len(v) + b"".join(enc(x) for x in v)
    if isinstance(v, Map):
        return b"%%%d\r\n" % len(v) + b"".join(enc(k) + enc(x) for k, x in v)
    if isinstance(v, list):
        return b"*%d\r\n" % len(v) + b"".join(enc(x) for x in v)
    raise RuntimeError(f"cannot encode {v!r}")


def rust_bytes(b):
    out = []
    for c in b:
        ch = chr(c)
        if ch == "\\":
            out.append("\\\\")
        elif ch == '"':
            out.append('\\"')
        elif ch == "\r":
            out.append("\\r")
        elif ch == "\n":
            out.append("\\n")
        elif 32 <= c < 127:
            out.append(ch)
        else:
            out.append(f"\\x{c:02x}")
    return 'b"' + "".join(out) + '"'


def s(x):
    return x.decode() if isinstance(x, bytes) else str(x)


def get(m, key):
    for k, v in m:
        if s(k) == key:
            return v
    raise KeyError(key)


def key_spec(ks):
    flags = 0
    for f in get(ks, "flags"):
        flags |= 1 << KEY_FLAGS.index(s(f))
    bs = get(ks, "begin_search")
    bt = s(get(bs, "type"))
    spec = get(bs, "spec")
    if bt == "index":
        begin = f"Begin::Index({get(spec, 'index')})"
    elif bt == "keyword":
        begin = f"Begin::Keyword({s(get(spec, 'keyword'))!r}, {get(spec, 'startfrom')})".replace(
            "'", '"')
    else:
        begin = "Begin::Unknown"
    fk = get(ks, "find_keys")
    ft = s(get(fk, "type"))
    spec = get(fk, "spec")
    if ft == "range":
        find = (f"Find::Range {{ lastkey: {get(spec, 'lastkey')}, keystep: {get(spec, 'keystep')}, "
                f"limit: {get(spec, 'limit')} }}")
    elif ft == "keynum":
        find = (f"Find::Keynum {{ keynumidx: {get(spec, 'keynumidx')}, "
                f"firstkey: {get(spec, 'firstkey')}, keystep: {get(spec, 'keystep')} }}")
    else:
        find = "Find::Unknown"
    return f"KeySpec {{ flags: {flags:#x}, begin: {begin}, find: {find} }}"


def main():
    c = Conn(int(sys.argv[1]))
    c.call("HELLO", "3")
    info = c.call("COMMAND", "INFO")
    docs = dict((s(k), v) for k, v in c.call("COMMAND", "DOCS"))
    rows = []

    def walk(entry, doc):
        name = s(entry[0])
        fields = Map((k, v) for k, v in doc if s(k) != "subcommands")
        flags = [s(f) for f in entry[2]]
        specs = [key_spec(ks) for ks in entry[8]]
        rows.append((name, entry[1], enc_seq(entry[1:9]), enc_seq_pairs(fields), len(fields),
                     "no_mandatory_keys" in flags, specs))
        subdocs = {}
        for k, v in doc:
            if s(k) == "subcommands":
                subdocs = dict((s(a), b) for a, b in v)
        for sub in entry[9]:
            walk(sub, subdocs[s(sub[0])])

    for e in info:
        walk(e, docs[s(e[0])])
    rows.sort()
    print("// @generated by tests/py/gen_command_docs.py from redis-server 7.0.15's COMMAND INFO and")
    print("// COMMAND DOCS: do not edit.")
    print("//! Every Redis 7.0.15 command and subcommand, sorted by name: its arity, COMMAND INFO fields")
    print("//! after the name and before the subcommands (8 RESP3 values), its COMMAND DOCS fields")
    print("//! but `subcommands` (RESP3 key/value pairs, and how many), whether it may name no key,")
    print("//! and its key specs.")
    print()
    print("use super::keyspec::{Begin, Find, KeySpec};")
    print("use super::RedisCommand;")
    print()
    print("pub static REDIS_COMMANDS: &[RedisCommand] = &[")
    for name, arity, inf, doc, nfields, nmk, specs in rows:
        print("    RedisCommand {")
        print(f'        name: "{name}",')
        print(f"        arity: {arity},")
        print(f"        info: {rust_bytes(inf)},")
        print(f"        docs: {rust_bytes(doc)},")
        print(f"        doc_fields: {nfields},")
        print(f"        no_mandatory_keys: {'true' if nmk else 'false'},")
        if specs:
            print("        key_specs: &[")
            for sp in specs:
                print(f"            {sp},")
            print("        ],")
        else:
            print("        key_specs: &[],")
        print("    },")
    print("];")


def enc_seq(vals):
    return b"".join(enc(v) for v in vals)


def enc_seq_pairs(m):
    return b"".join(enc(k) + enc(v) for k, v in m)


if __name__ == "__main__":
    main()
