//! Bitmaps (SETBIT, GETBIT, BITCOUNT, BITPOS, BITOP), BITFIELD / BITFIELD_RO, LCS and
//! SORT / SORT_RO against the real binary: happy paths, edges and every error text.
mod common;
use common::*;
use redis::Value;

fn int(n: i64) -> Value {
    Value::Int(n)
}

fn bulk(s: &str) -> Value {
    Value::BulkString(s.as_bytes().to_vec())
}

fn ints(c: &mut redis::Connection, args: &[&str]) -> Vec<Option<i64>> {
    q(c, args)
}

fn strs(c: &mut redis::Connection, args: &[&str]) -> Vec<String> {
    q(c, args)
}

const OFFSET_ERR: &str = "ERR bit offset is not an integer or out of range";
const BIT_ERR: &str = "ERR bit is not an integer or out of range";
const NOT_INT: &str = "ERR value is not an integer or out of range";
const SYNTAX: &str = "ERR syntax error";
const WRONGTYPE: &str = "WRONGTYPE Operation against a key holding the wrong kind of value";
const TYPE_ERR: &str = "ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is.";

#[test]
fn setbit_getbit() {
    let s = server(&[]);
    let mut c = conn(&s);
    assert_eq!(q::<i64>(&mut c, &["SETBIT", "b", "7", "1"]), 0);
    assert_eq!(q::<Vec<u8>>(&mut c, &["GET", "b"]), vec![1u8]);
    assert_eq!(q::<i64>(&mut c, &["SETBIT", "b", "7", "1"]), 1);
    assert_eq!(q::<i64>(&mut c, &["SETBIT", "b", "0", "1"]), 0);
    assert_eq!(q::<Vec<u8>>(&mut c, &["GET", "b"]), vec![0x81u8]);
    // Growth pads with zero bytes; GET / STRLEN / SETRANGE / APPEND see the same bytes.
    assert_eq!(q::<i64>(&mut c, &["SETBIT", "b", "23", "1"]), 0);
    assert_eq!(q::<Vec<u8>>(&mut c, &["GET", "b"]), vec![0x81u8, 0, 1]);
    assert_eq!(q::<i64>(&mut c, &["APPEND", "b", "\u{7f}"]), 4);
    assert_eq!(q::<i64>(&mut c, &["GETBIT", "b", "25"]), 1);
    assert_eq!(q::<i64>(&mut c, &["GETBIT", "b", "24"]), 0);
    assert_eq!(q::<i64>(&mut c, &["SETRANGE", "b", "1", "\u{40}"]), 4);
    assert_eq!(q::<i64>(&mut c, &["GETBIT", "b", "9"]), 1);
    assert_eq!(q::<i64>(&mut c, &["SETBIT", "b", "7", "0"]), 1);
    assert_eq!(q::<i64>(&mut c, &["GETBIT", "b", "7"]), 0);
    // Past the end and on a missing key: 0.
    assert_eq!(q::<i64>(&mut c, &["GETBIT", "b", "100000"]), 0);
    assert_eq!(q::<i64>(&mut c, &["GETBIT", "nokey", "3"]), 0);
    assert_eq!(q::<i64>(&mut c, &["EXISTS", "nokey"]), 0);
    // An integer-encoded string is its decimal digits ("1" = 0x31).
    ok(&mut c, &["SET", "n", "1"]);
    assert_eq!(q::<i64>(&mut c, &["GETBIT", "n", "2"]), 1);
    assert_eq!(q::<i64>(&mut c, &["GETBIT", "n", "7"]), 1);
    assert_eq!(q::<i64>(&mut c, &["SETBIT", "n", "6", "1"]), 0);
    assert_eq!(q::<String>(&mut c, &["GET", "n"]), "3");
    // Errors, in Redis's order: offset, then bit, then type.
    for off in ["-1", "4294967296", "abc", "1.5", ""] {
        assert_eq!(e(&mut c, &["SETBIT", "b", off, "1"]), OFFSET_ERR, "{off}");
        assert_eq!(e(&mut c, &["GETBIT", "b", off]), OFFSET_ERR, "{off}");
    }
    for bit in ["2", "-1", "x", "01"] {
        assert_eq!(e(&mut c, &["SETBIT", "b", "1", bit]), BIT_ERR, "{bit}");
    }
    q::<i64>(&mut c, &["LPUSH", "l", "x"]);
    assert_eq!(e(&mut c, &["SETBIT", "l", "1", "1"]), WRONGTYPE);
    assert_eq!(e(&mut c, &["SETBIT", "l", "-1", "1"]), OFFSET_ERR);
    assert_eq!(e(&mut c, &["SETBIT", "l", "1", "2"]), BIT_ERR);
    assert_eq!(e(&mut c, &["GETBIT", "l", "1"]), WRONGTYPE);
    assert_eq!(
        e(&mut c, &["SETBIT", "b", "1"]),
        "ERR wrong number of arguments for 'setbit' command"
    );
    // Highest offset allowed by proto-max-bulk-len (512 MB), refused one byte further and
    // never allocated when refused.
    assert_eq!(e(&mut c, &["SETBIT", "big", "4294967296", "1"]), OFFSET_ERR);
    assert_eq!(q::<i64>(&mut c, &["EXISTS", "big"]), 0);
    ok(&mut c, &["CONFIG", "SET", "proto-max-bulk-len", "1048576"]);
    assert_eq!(e(&mut c, &["SETBIT", "big", "8388608", "1"]), OFFSET_ERR);
    assert_eq!(q::<i64>(&mut c, &["SETBIT", "big", "8388607", "1"]), 0);
    assert_eq!(q::<i64>(&mut c, &["STRLEN", "big"]), 1048576);
}

#[test]
fn bitcount_and_bitpos() {
    let s = server(&[]);
    let mut c = conn(&s);
    ok(&mut c, &["SET", "s", "foobar"]);
    assert_eq!(q::<i64>(&mut c, &["BITCOUNT", "s"]), 26);
    assert_eq!(q::<i64>(&mut c, &["BITCOUNT", "s", "0", "0"]), 4);
    assert_eq!(q::<i64>(&mut c, &["BITCOUNT", "s", "1", "1"]), 6);
    assert_eq!(q::<i64>(&mut c, &["BITCOUNT", "s", "1", "1", "BYTE"]), 6);
    assert_eq!(q::<i64>(&mut c, &["BITCOUNT", "s", "5", "30", "BIT"]), 17);
    assert_eq!(q::<i64>(&mut c, &["BITCOUNT", "s", "-2", "-1"]), 7);
    assert_eq!(q::<i64>(&mut c, &["BITCOUNT", "s", "-1", "-2"]), 0);
    assert_eq!(q::<i64>(&mut c, &["BITCOUNT", "s", "100", "200"]), 0);
    assert_eq!(q::<i64>(&mut c, &["BITCOUNT", "s", "-100", "100"]), 26);
    assert_eq!(q::<i64>(&mut c, &["BITCOUNT", "nokey"]), 0);
    // As Redis 7.0: a missing key answers 0 before its arguments are looked at.
    assert_eq!(q::<i64>(&mut c, &["BITCOUNT", "nokey", "1"]), 0);
    assert_eq!(e(&mut c, &["BITCOUNT", "s", "1"]), SYNTAX);
    assert_eq!(e(&mut c, &["BITCOUNT", "s", "1", "2", "bits"]), SYNTAX);
    assert_eq!(e(&mut c, &["BITCOUNT", "s", "1", "2", "bit", "x"]), SYNTAX);
    assert_eq!(e(&mut c, &["BITCOUNT", "s", "a", "2"]), NOT_INT);
    ok(&mut c, &["SET", "n", "12"]); // "12" = 0x31 0x32: 3 + 3 bits
    assert_eq!(q::<i64>(&mut c, &["BITCOUNT", "n"]), 6);
    q::<i64>(&mut c, &["LPUSH", "l", "x"]);
    assert_eq!(e(&mut c, &["BITCOUNT", "l"]), WRONGTYPE);

    ok(&mut c, &["SET", "p", "\u{0}\u{ff}\u{f0}"]);
    // (`\u{ff}` is two UTF-8 bytes: use raw bytes instead.)
    let raw = |c: &mut redis::Connection, k: &str, b: &[u8]| {
        let _: () = redis::cmd("SET").arg(k).arg(b).query(c).unwrap();
    };
    raw(&mut c, "p", &[0x00, 0xff, 0xf0]);
    assert_eq!(q::<i64>(&mut c, &["BITPOS", "p", "1"]), 8);
    assert_eq!(q::<i64>(&mut c, &["BITPOS", "p", "0"]), 0);
    assert_eq!(q::<i64>(&mut c, &["BITPOS", "p", "1", "2"]), 16);
    assert_eq!(
        q::<i64>(&mut c, &["BITPOS", "p", "1", "2", "-1", "BYTE"]),
        16
    );
    assert_eq!(q::<i64>(&mut c, &["BITPOS", "p", "1", "7", "15", "BIT"]), 8);
    assert_eq!(
        q::<i64>(&mut c, &["BITPOS", "p", "0", "8", "15", "BIT"]),
        -1
    );
    assert_eq!(q::<i64>(&mut c, &["BITPOS", "p", "0", "1", "1"]), -1);
    assert_eq!(q::<i64>(&mut c, &["BITPOS", "p", "0", "2"]), 20);
    raw(&mut c, "f", &[0xff, 0xff]);
    // Without an end the string counts as followed by zeros; with one, not.
    assert_eq!(q::<i64>(&mut c, &["BITPOS", "f", "0"]), 16);
    assert_eq!(q::<i64>(&mut c, &["BITPOS", "f", "0", "0"]), 16);
    assert_eq!(q::<i64>(&mut c, &["BITPOS", "f", "0", "0", "-1"]), -1);
    assert_eq!(q::<i64>(&mut c, &["BITPOS", "f", "1", "3", "2"]), -1);
    assert_eq!(q::<i64>(&mut c, &["BITPOS", "nokey", "0"]), 0);
    assert_eq!(q::<i64>(&mut c, &["BITPOS", "nokey", "1"]), -1);
    assert_eq!(q::<i64>(&mut c, &["BITPOS", "nokey", "1", "junk"]), -1);
    ok(&mut c, &["SET", "empty", ""]);
    assert_eq!(q::<i64>(&mut c, &["BITPOS", "empty", "0"]), -1);
    assert_eq!(
        e(&mut c, &["BITPOS", "p", "2"]),
        "ERR The bit argument must be 1 or 0."
    );
    assert_eq!(e(&mut c, &["BITPOS", "p", "x"]), NOT_INT);
    assert_eq!(e(&mut c, &["BITPOS", "p", "1", "x"]), NOT_INT);
    assert_eq!(e(&mut c, &["BITPOS", "p", "1", "0", "1", "bytes"]), SYNTAX);
    assert_eq!(
        e(&mut c, &["BITPOS", "p", "1", "0", "1", "bit", "x"]),
        SYNTAX
    );
    assert_eq!(e(&mut c, &["BITPOS", "l", "1"]), WRONGTYPE);
    // A long run of zeros before the hit (the word-at-a-time scan).
    assert_eq!(q::<i64>(&mut c, &["SETBIT", "long", "80001", "1"]), 0);
    assert_eq!(q::<i64>(&mut c, &["BITPOS", "long", "1"]), 80001);
    assert_eq!(
        q::<i64>(&mut c, &["BITPOS", "long", "1", "3", "-1", "BIT"]),
        80001
    );
    assert_eq!(q::<i64>(&mut c, &["BITCOUNT", "long"]), 1);
}

#[test]
fn bitop() {
    let s = server(&[]);
    let mut c = conn(&s);
    let raw = |c: &mut redis::Connection, k: &str, b: &[u8]| {
        let _: () = redis::cmd("SET").arg(k).arg(b).query(c).unwrap();
    };
    raw(&mut c, "a{t}", &[0xf0, 0x0f, 0xaa]);
    raw(&mut c, "b{t}", &[0xff, 0x01]);
    let get = |c: &mut redis::Connection, k: &str| q::<Vec<u8>>(c, &["GET", k]);
    assert_eq!(
        q::<i64>(&mut c, &["BITOP", "AND", "d{t}", "a{t}", "b{t}"]),
        3
    );
    assert_eq!(get(&mut c, "d{t}"), vec![0xf0, 0x01, 0x00]);
    assert_eq!(
        q::<i64>(&mut c, &["BITOP", "or", "d{t}", "a{t}", "b{t}"]),
        3
    );
    assert_eq!(get(&mut c, "d{t}"), vec![0xff, 0x0f, 0xaa]);
    assert_eq!(
        q::<i64>(&mut c, &["BITOP", "XOR", "d{t}", "a{t}", "b{t}"]),
        3
    );
    assert_eq!(get(&mut c, "d{t}"), vec![0x0f, 0x0e, 0xaa]);
    assert_eq!(q::<i64>(&mut c, &["BITOP", "NOT", "d{t}", "a{t}"]), 3);
    assert_eq!(get(&mut c, "d{t}"), vec![0x0f, 0xf0, 0x55]);
    // A missing source is a run of zeros; dest may be a source.
    assert_eq!(
        q::<i64>(&mut c, &["BITOP", "AND", "d{t}", "a{t}", "no{t}"]),
        3
    );
    assert_eq!(get(&mut c, "d{t}"), vec![0, 0, 0]);
    assert_eq!(
        q::<i64>(&mut c, &["BITOP", "OR", "a{t}", "a{t}", "b{t}"]),
        3
    );
    assert_eq!(get(&mut c, "a{t}"), vec![0xff, 0x0f, 0xaa]);
    // Integer-encoded sources are their digits.
    ok(&mut c, &["SET", "n{t}", "1"]);
    assert_eq!(q::<i64>(&mut c, &["BITOP", "NOT", "d{t}", "n{t}"]), 1);
    assert_eq!(get(&mut c, "d{t}"), vec![!b'1']);
    // The result replaces any value and TTL; an empty result deletes the destination.
    q::<i64>(&mut c, &["EXPIRE", "d{t}", "100"]);
    assert_eq!(q::<i64>(&mut c, &["BITOP", "OR", "d{t}", "b{t}"]), 2);
    assert_eq!(q::<i64>(&mut c, &["TTL", "d{t}"]), -1);
    assert_eq!(
        q::<i64>(&mut c, &["BITOP", "OR", "d{t}", "no{t}", "no2{t}"]),
        0
    );
    assert_eq!(q::<i64>(&mut c, &["EXISTS", "d{t}"]), 0);
    q::<i64>(&mut c, &["RPUSH", "l{t}", "x"]);
    assert_eq!(q::<i64>(&mut c, &["BITOP", "OR", "l{t}", "b{t}"]), 2);
    assert_eq!(q::<String>(&mut c, &["TYPE", "l{t}"]), "string");
    q::<i64>(&mut c, &["DEL", "l{t}"]);
    q::<i64>(&mut c, &["RPUSH", "l{t}", "x"]);
    assert_eq!(
        e(&mut c, &["BITOP", "AND", "d{t}", "a{t}", "l{t}"]),
        WRONGTYPE
    );
    assert_eq!(e(&mut c, &["BITOP", "NAND", "d{t}", "a{t}"]), SYNTAX);
    assert_eq!(
        e(&mut c, &["BITOP", "NOT", "d{t}", "a{t}", "b{t}"]),
        "ERR BITOP NOT must be called with a single source key."
    );
    assert_eq!(
        e(&mut c, &["BITOP", "AND", "d{t}"]),
        "ERR wrong number of arguments for 'bitop' command"
    );
    // A large value: every byte combined, counted at word speed.
    let big = vec![0x5au8; 100_003];
    let _: () = redis::cmd("SET")
        .arg("x{t}")
        .arg(&big)
        .query(&mut c)
        .unwrap();
    assert_eq!(q::<i64>(&mut c, &["BITOP", "NOT", "y{t}", "x{t}"]), 100_003);
    assert_eq!(q::<i64>(&mut c, &["BITCOUNT", "y{t}"]), 4 * 100_003);
    assert_eq!(
        q::<i64>(&mut c, &["BITOP", "XOR", "z{t}", "x{t}", "y{t}"]),
        100_003
    );
    assert_eq!(q::<i64>(&mut c, &["BITCOUNT", "z{t}"]), 8 * 100_003);
}

#[test]
fn bitfield() {
    let s = server(&[]);
    let mut c = conn(&s);
    assert_eq!(
        ints(
            &mut c,
            &["BITFIELD", "bf", "SET", "i8", "0", "-100", "GET", "i8", "0"]
        ),
        vec![Some(0), Some(-100)]
    );
    assert_eq!(
        ints(
            &mut c,
            &[
                "BITFIELD", "bf", "GET", "u8", "0", "GET", "u4", "0", "GET", "i4", "4"
            ]
        ),
        vec![Some(156), Some(9), Some(-4)]
    );
    // `#n` offsets are n field widths.
    assert_eq!(
        ints(
            &mut c,
            &[
                "BITFIELD", "h", "SET", "u8", "#1", "255", "GET", "u8", "8", "GET", "u16", "#0"
            ]
        ),
        vec![Some(0), Some(255), Some(255)]
    );
    // Overflow: WRAP (the default), SAT, FAIL (nil, nothing written).
    assert_eq!(
        ints(
            &mut c,
            &[
                "BITFIELD", "o", "SET", "u8", "0", "250", "INCRBY", "u8", "0", "10", "OVERFLOW",
                "SAT", "INCRBY", "u8", "0", "300", "OVERFLOW", "FAIL", "INCRBY", "u8", "0", "1",
                "GET", "u8", "0",
            ]
        ),
        vec![Some(0), Some(4), Some(255), None, Some(255)]
    );
    assert_eq!(
        ints(
            &mut c,
            &[
                "BITFIELD", "i", "INCRBY", "i5", "0", "15", "INCRBY", "i5", "0", "1", "OVERFLOW",
                "SAT", "INCRBY", "i5", "0", "-100", "SET", "i5", "0", "100",
            ]
        ),
        vec![Some(15), Some(-16), Some(-16), Some(-16)]
    );
    assert_eq!(
        ints(&mut c, &["BITFIELD", "i", "GET", "i5", "0"]),
        vec![Some(15)]
    );
    assert_eq!(
        ints(
            &mut c,
            &[
                "BITFIELD",
                "w",
                "SET",
                "i64",
                "0",
                "9223372036854775807",
                "INCRBY",
                "i64",
                "0",
                "1",
                "SET",
                "u63",
                "64",
                "9223372036854775807",
                "INCRBY",
                "u63",
                "64",
                "1",
            ]
        ),
        vec![Some(0), Some(i64::MIN), Some(0), Some(0)]
    );
    // GETs read zeros past the end and on a missing key, which they do not create.
    assert_eq!(
        ints(&mut c, &["BITFIELD", "nokey", "GET", "u8", "1000"]),
        vec![Some(0)]
    );
    assert_eq!(q::<i64>(&mut c, &["EXISTS", "nokey"]), 0);
    assert_eq!(v(&mut c, &["BITFIELD", "nokey"]), Value::Array(vec![]));
    assert_eq!(
        ints(&mut c, &["BITFIELD_RO", "bf", "GET", "i8", "0"]),
        vec![Some(-100)]
    );
    // Integer-encoded strings are their digits.
    ok(&mut c, &["SET", "n", "5"]);
    assert_eq!(
        ints(&mut c, &["BITFIELD", "n", "GET", "u8", "0"]),
        vec![Some(53)]
    );
    assert_eq!(
        ints(&mut c, &["BITFIELD", "n", "INCRBY", "u8", "0", "1"]),
        vec![Some(54)]
    );
    assert_eq!(q::<String>(&mut c, &["GET", "n"]), "6");
    // Errors.
    for t in ["i65", "u64", "u0", "i", "x8", "i08", ""] {
        assert_eq!(
            e(&mut c, &["BITFIELD", "bf", "GET", t, "0"]),
            TYPE_ERR,
            "{t}"
        );
    }
    for off in ["-1", "#-1", "x", "#", "4294967296", "#536870912"] {
        assert_eq!(
            e(&mut c, &["BITFIELD", "bf", "GET", "u8", off]),
            OFFSET_ERR,
            "{off}"
        );
    }
    assert_eq!(
        e(
            &mut c,
            &["BITFIELD", "bf", "OVERFLOW", "foo", "GET", "u8", "0"]
        ),
        "ERR Invalid OVERFLOW type specified"
    );
    assert_eq!(e(&mut c, &["BITFIELD", "bf", "FOO"]), SYNTAX);
    assert_eq!(e(&mut c, &["BITFIELD", "bf", "GET", "u8"]), SYNTAX);
    assert_eq!(e(&mut c, &["BITFIELD", "bf", "SET", "u8", "0"]), SYNTAX);
    assert_eq!(
        e(&mut c, &["BITFIELD", "bf", "SET", "u8", "0", "x"]),
        NOT_INT
    );
    assert_eq!(
        e(&mut c, &["BITFIELD", "bf", "INCRBY", "u8", "0", "1.5"]),
        NOT_INT
    );
    assert_eq!(
        e(
            &mut c,
            &["BITFIELD_RO", "bf", "GET", "u8", "0", "SET", "u8", "0", "1"]
        ),
        "ERR BITFIELD_RO only supports the GET subcommand"
    );
    // Argument errors come before the RO refusal, and both before the type check.
    assert_eq!(
        e(&mut c, &["BITFIELD_RO", "bf", "SET", "u99", "0", "1"]),
        TYPE_ERR
    );
    q::<i64>(&mut c, &["LPUSH", "l", "x"]);
    assert_eq!(e(&mut c, &["BITFIELD", "l", "GET", "u8", "0"]), WRONGTYPE);
    assert_eq!(
        e(&mut c, &["BITFIELD", "l", "SET", "u8", "0", "1"]),
        WRONGTYPE
    );
    assert_eq!(
        e(&mut c, &["BITFIELD_RO", "l", "GET", "u8", "0"]),
        WRONGTYPE
    );
    assert_eq!(e(&mut c, &["BITFIELD", "l", "GET", "u99", "0"]), TYPE_ERR);
    // OVERFLOW FAIL on a new key still creates it (as Redis), sized for the operation.
    assert_eq!(
        ints(
            &mut c,
            &[
                "BITFIELD", "f", "OVERFLOW", "FAIL", "INCRBY", "u2", "6", "5"
            ]
        ),
        vec![None]
    );
    assert_eq!(q::<Vec<u8>>(&mut c, &["GET", "f"]), vec![0u8]);
}

#[test]
fn bit_writes_replicate_and_notify_only_changes() {
    let s = server(&[]);
    let mut c = conn(&s);
    ok(&mut c, &["CONFIG", "SET", "notify-keyspace-events", "KEA"]);
    let mut sub = conn(&s);
    let mut ps = sub.as_pubsub();
    ps.psubscribe("__keyevent@0__:*").unwrap();
    ps.set_read_timeout(Some(std::time::Duration::from_secs(5)))
        .unwrap();
    let mut next = || {
        let m = ps.get_message().unwrap();
        (
            m.get_channel_name().to_string(),
            m.get_payload::<String>().unwrap(),
        )
    };
    q::<i64>(&mut c, &["SETBIT", "k", "1", "1"]);
    q::<i64>(&mut c, &["SETBIT", "k", "1", "1"]); // no change: no event
    q::<Vec<Option<i64>>>(&mut c, &["BITFIELD", "k", "SET", "u8", "0", "64"]); // no change
    q::<Vec<Option<i64>>>(&mut c, &["BITFIELD", "k", "GET", "u8", "0"]);
    q::<Vec<Option<i64>>>(&mut c, &["BITFIELD", "k", "SET", "u8", "0", "65"]);
    q::<i64>(&mut c, &["BITOP", "NOT", "k2", "k"]);
    q::<i64>(&mut c, &["BITOP", "AND", "k2", "none"]);
    q::<i64>(&mut c, &["BITOP", "AND", "k2", "none"]); // nothing to delete: no event
    q::<i64>(&mut c, &["RPUSH", "src", "3", "1", "2"]);
    q::<i64>(&mut c, &["SORT", "src", "STORE", "dst"]);
    q::<i64>(&mut c, &["SORT", "nolist", "STORE", "dst"]);
    ok(&mut c, &["SET", "end", "1"]);
    let mut got = Vec::new();
    loop {
        let (ch, key) = next();
        let ev = ch.trim_start_matches("__keyevent@0__:").to_string();
        if key == "end" {
            break;
        }
        got.push(format!("{ev} {key}"));
    }
    assert_eq!(
        got,
        vec![
            "setbit k",
            "setbit k",
            "set k2",
            "del k2",
            "rpush src",
            "sortstore dst",
            "del dst"
        ]
    );
}

#[test]
fn lcs() {
    let s = server(&[]);
    let mut c = conn(&s);
    ok(&mut c, &["MSET", "a{t}", "ohmytext", "b{t}", "mynewtext"]);
    assert_eq!(q::<String>(&mut c, &["LCS", "a{t}", "b{t}"]), "mytext");
    assert_eq!(q::<i64>(&mut c, &["LCS", "a{t}", "b{t}", "LEN"]), 6);
    assert_eq!(
        v(&mut c, &["LCS", "a{t}", "b{t}", "IDX"]),
        Value::Array(vec![
            bulk("matches"),
            Value::Array(vec![
                Value::Array(vec![
                    Value::Array(vec![int(4), int(7)]),
                    Value::Array(vec![int(5), int(8)]),
                ]),
                Value::Array(vec![
                    Value::Array(vec![int(2), int(3)]),
                    Value::Array(vec![int(0), int(1)]),
                ]),
            ]),
            bulk("len"),
            int(6),
        ])
    );
    assert_eq!(
        v(
            &mut c,
            &[
                "LCS",
                "a{t}",
                "b{t}",
                "IDX",
                "MINMATCHLEN",
                "4",
                "WITHMATCHLEN"
            ]
        ),
        Value::Array(vec![
            bulk("matches"),
            Value::Array(vec![Value::Array(vec![
                Value::Array(vec![int(4), int(7)]),
                Value::Array(vec![int(5), int(8)]),
                int(4),
            ])]),
            bulk("len"),
            int(6),
        ])
    );
    // Missing keys are empty strings; integers are their digits.
    assert_eq!(q::<String>(&mut c, &["LCS", "a{t}", "none{t}"]), "");
    assert_eq!(q::<i64>(&mut c, &["LCS", "none{t}", "none2{t}", "LEN"]), 0);
    ok(&mut c, &["MSET", "n{t}", "12345", "m{t}", "2468"]);
    assert_eq!(q::<String>(&mut c, &["LCS", "n{t}", "m{t}"]), "24");
    // Errors.
    q::<i64>(&mut c, &["RPUSH", "l{t}", "x"]);
    assert_eq!(
        e(&mut c, &["LCS", "a{t}", "l{t}"]),
        "ERR The specified keys must contain string values"
    );
    assert_eq!(
        e(&mut c, &["LCS", "a{t}", "b{t}", "LEN", "IDX"]),
        "ERR If you want both the length and indexes, please just use IDX."
    );
    assert_eq!(e(&mut c, &["LCS", "a{t}", "b{t}", "FOO"]), SYNTAX);
    assert_eq!(e(&mut c, &["LCS", "a{t}", "b{t}", "MINMATCHLEN"]), SYNTAX);
    assert_eq!(
        e(&mut c, &["LCS", "a{t}", "b{t}", "MINMATCHLEN", "x"]),
        NOT_INT
    );
    // The table's transient memory is bounded by proto-max-bulk-len.
    ok(&mut c, &["CONFIG", "SET", "proto-max-bulk-len", "1048576"]);
    let x = "x".repeat(600);
    ok(&mut c, &["MSET", "x{t}", &x, "y{t}", &x]);
    assert_eq!(
        e(&mut c, &["LCS", "x{t}", "y{t}", "LEN"]),
        "ERR Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len"
    );
    ok(&mut c, &["SET", "y{t}", &x[..400]]);
    assert_eq!(q::<i64>(&mut c, &["LCS", "x{t}", "y{t}", "LEN"]), 400);
    assert_eq!(
        strs(&mut c, &["COMMAND", "GETKEYS", "LCS", "k1", "k2"]),
        vec!["k1", "k2"]
    );
}

#[test]
fn sort_basics() {
    let s = server(&[]);
    let mut c = conn(&s);
    q::<i64>(
        &mut c,
        &["RPUSH", "l", "3", "1", "2", "10", "0.5", "-4", ""],
    );
    assert_eq!(
        strs(&mut c, &["SORT", "l"]),
        ["-4", "", "0.5", "1", "2", "3", "10"]
    );
    assert_eq!(
        strs(&mut c, &["SORT", "l", "DESC"]),
        ["10", "3", "2", "1", "0.5", "", "-4"]
    );
    assert_eq!(
        strs(&mut c, &["SORT", "l", "ALPHA"]),
        ["", "-4", "0.5", "1", "10", "2", "3"]
    );
    assert_eq!(strs(&mut c, &["SORT", "l", "LIMIT", "1", "2"]), ["", "0.5"]);
    assert_eq!(strs(&mut c, &["SORT", "l", "LIMIT", "-5", "2"]), ["-4", ""]);
    assert_eq!(
        strs(&mut c, &["SORT", "l", "LIMIT", "5", "-1"]),
        ["3", "10"]
    );
    assert_eq!(
        strs(&mut c, &["SORT", "l", "LIMIT", "50", "10"]),
        Vec::<String>::new()
    );
    assert_eq!(
        strs(&mut c, &["SORT", "l", "LIMIT", "6", "9223372036854775807"]),
        ["10"]
    );
    // BY a constant keeps the list's order (reversed by DESC); LIMIT picks from it.
    assert_eq!(
        strs(
            &mut c,
            &["SORT", "l", "BY", "nosort", "DESC", "LIMIT", "0", "2"]
        ),
        ["", "-4"]
    );
    // Sorted sets: by score with nosort, by member value otherwise.
    q::<i64>(&mut c, &["ZADD", "z", "1", "c", "2", "a", "3", "b"]);
    assert_eq!(
        strs(&mut c, &["SORT", "z", "BY", "nosort"]),
        ["c", "a", "b"]
    );
    assert_eq!(
        strs(&mut c, &["SORT", "z", "BY", "nosort", "DESC"]),
        ["b", "a", "c"]
    );
    assert_eq!(strs(&mut c, &["SORT", "z", "ALPHA"]), ["a", "b", "c"]);
    q::<i64>(&mut c, &["SADD", "s", "5", "3", "40"]);
    assert_eq!(strs(&mut c, &["SORT", "s"]), ["3", "5", "40"]);
    assert_eq!(strs(&mut c, &["SORT_RO", "s", "DESC"]), ["40", "5", "3"]);
    assert_eq!(strs(&mut c, &["SORT", "nokey"]), Vec::<String>::new());
    // Numbers as C's strtod reads them; anything else is an error.
    q::<i64>(&mut c, &["RPUSH", "f", " 5", "0x10", "1e1", "-inf"]);
    assert_eq!(strs(&mut c, &["SORT", "f"]), ["-inf", " 5", "1e1", "0x10"]);
    q::<i64>(&mut c, &["RPUSH", "bad", "1", "x"]);
    assert_eq!(
        e(&mut c, &["SORT", "bad"]),
        "ERR One or more scores can't be converted into double"
    );
    assert_eq!(strs(&mut c, &["SORT", "bad", "ALPHA"]), ["1", "x"]);
    // Errors.
    ok(&mut c, &["SET", "str", "x"]);
    assert_eq!(e(&mut c, &["SORT", "str"]), WRONGTYPE);
    assert_eq!(e(&mut c, &["SORT", "l", "FOO"]), SYNTAX);
    assert_eq!(e(&mut c, &["SORT", "l", "LIMIT", "1"]), SYNTAX);
    assert_eq!(e(&mut c, &["SORT", "l", "LIMIT", "a", "1"]), NOT_INT);
    assert_eq!(e(&mut c, &["SORT", "l", "BY"]), SYNTAX);
    assert_eq!(e(&mut c, &["SORT", "l", "GET"]), SYNTAX);
    assert_eq!(e(&mut c, &["SORT", "l", "STORE"]), SYNTAX);
    assert_eq!(e(&mut c, &["SORT_RO", "l", "STORE", "x"]), SYNTAX);
    assert_eq!(
        e(&mut c, &["SORT", "str", "FOO"]),
        SYNTAX,
        "options before the type"
    );
}

#[test]
fn sort_by_get_store() {
    let s = server(&[]);
    let mut c = conn(&s);
    q::<i64>(&mut c, &["RPUSH", "ids", "1", "2", "3"]);
    ok(&mut c, &["MSET", "w_1", "30", "w_2", "10", "w_3", "20"]);
    ok(&mut c, &["MSET", "name_1", "one", "name_2", "two"]);
    q::<i64>(&mut c, &["HSET", "h_1", "w", "3", "n", "uno"]);
    q::<i64>(&mut c, &["HSET", "h_2", "w", "1", "n", "dos"]);
    q::<i64>(&mut c, &["HSET", "h_3", "w", "2"]);
    assert_eq!(strs(&mut c, &["SORT", "ids", "BY", "w_*"]), ["2", "3", "1"]);
    assert_eq!(
        strs(&mut c, &["SORT", "ids", "BY", "h_*->w", "DESC"]),
        ["1", "3", "2"]
    );
    assert_eq!(
        v(
            &mut c,
            &[
                "SORT", "ids", "BY", "w_*", "GET", "#", "GET", "name_*", "GET", "h_*->n"
            ]
        ),
        Value::Array(vec![
            bulk("2"),
            bulk("two"),
            bulk("dos"),
            bulk("3"),
            Value::Nil,
            Value::Nil,
            bulk("1"),
            bulk("one"),
            bulk("uno"),
        ])
    );
    // A missing BY key sorts as 0; ALPHA BY sorts missing values first.
    q::<i64>(&mut c, &["RPUSH", "ids", "4"]);
    assert_eq!(
        strs(&mut c, &["SORT", "ids", "BY", "w_*"]),
        ["4", "2", "3", "1"]
    );
    assert_eq!(
        strs(&mut c, &["SORT", "ids", "BY", "name_*", "ALPHA"]),
        ["3", "4", "1", "2"]
    );
    // GET of a constant (no `*`) is nil; `->` with nothing after it is part of the key name.
    assert_eq!(
        v(&mut c, &["SORT", "ids", "GET", "const", "LIMIT", "0", "1"]),
        Value::Array(vec![Value::Nil])
    );
    ok(&mut c, &["SET", "x:1->", "100"]);
    assert_eq!(
        v(&mut c, &["SORT", "ids", "GET", "x:*->", "LIMIT", "0", "1"]),
        Value::Array(vec![bulk("100")])
    );
    // STORE: a list, missing GETs stored as empty strings; an empty result deletes.
    assert_eq!(
        q::<i64>(
            &mut c,
            &["SORT", "ids", "BY", "w_*", "GET", "name_*", "STORE", "out"]
        ),
        4
    );
    assert_eq!(
        strs(&mut c, &["LRANGE", "out", "0", "-1"]),
        ["", "two", "", "one"]
    );
    q::<i64>(&mut c, &["EXPIRE", "out", "100"]);
    assert_eq!(q::<i64>(&mut c, &["SORT", "ids", "STORE", "out"]), 4);
    assert_eq!(q::<i64>(&mut c, &["TTL", "out"]), -1);
    assert_eq!(
        q::<i64>(&mut c, &["SORT", "ids", "LIMIT", "9", "1", "STORE", "out"]),
        0
    );
    assert_eq!(q::<i64>(&mut c, &["EXISTS", "out"]), 0);
    // An unsorted set is sorted (ALPHA) when stored.
    q::<i64>(&mut c, &["SADD", "set", "b", "c", "a"]);
    assert_eq!(
        q::<i64>(&mut c, &["SORT", "set", "BY", "nosort", "STORE", "out"]),
        3
    );
    assert_eq!(strs(&mut c, &["LRANGE", "out", "0", "-1"]), ["a", "b", "c"]);
    // STORE wakes a client blocked on the destination.
    let mut blocked = conn(&s);
    let h = std::thread::spawn(move || q::<Vec<String>>(&mut blocked, &["BLPOP", "dest", "10"]));
    wait_blocked(&mut c, 1);
    assert_eq!(q::<i64>(&mut c, &["SORT", "ids", "STORE", "dest"]), 4);
    assert_eq!(h.join().unwrap(), ["dest", "1"]);
    // Keys, as COMMAND GETKEYS and the cluster routing see them.
    assert_eq!(
        strs(
            &mut c,
            &["COMMAND", "GETKEYS", "SORT", "abc", "STORE", "def"]
        ),
        ["abc", "def"]
    );
    assert_eq!(
        strs(
            &mut c,
            &[
                "COMMAND", "GETKEYS", "SORT", "abc", "STORE", "x", "GET", "store", "STORE", "def"
            ]
        ),
        ["abc", "def"]
    );
    assert_eq!(
        strs(&mut c, &["COMMAND", "GETKEYS", "SORT_RO", "abc"]),
        ["abc"]
    );
    let info: Vec<Value> = q(&mut c, &["COMMAND", "INFO", "SORT", "SORT_RO"]);
    for i in info {
        assert!(format!("{i:?}").contains("movablekeys"), "{i:?}");
    }
}

#[test]
fn sort_in_scripts_and_transactions() {
    let s = server(&[]);
    let mut c = conn(&s);
    q::<i64>(&mut c, &["SADD", "myset", "c", "a", "b"]);
    ok(&mut c, &["MSET", "k_a", "3", "k_b", "1", "k_c", "2"]);
    // A script gets an unsorted set in order, and may read pattern keys it did not declare.
    assert_eq!(
        q::<Vec<String>>(
            &mut c,
            &[
                "EVAL",
                "return redis.call('sort', KEYS[1], 'by', '_')",
                "1",
                "myset"
            ]
        ),
        ["a", "b", "c"]
    );
    assert_eq!(
        q::<Vec<String>>(
            &mut c,
            &[
                "EVAL",
                "return redis.call('sort', KEYS[1], 'by', 'k_*', 'get', 'k_*')",
                "1",
                "myset"
            ]
        ),
        ["1", "2", "3"]
    );
    let _: () = redis::cmd("MULTI").query(&mut c).unwrap();
    let _: () = redis::cmd("SORT")
        .arg("myset")
        .arg("BY")
        .arg("k_*")
        .query(&mut c)
        .unwrap();
    let _: () = redis::cmd("SORT")
        .arg("myset")
        .arg("ALPHA")
        .arg("STORE")
        .arg("o")
        .query(&mut c)
        .unwrap();
    let r: (Vec<String>, i64) = redis::cmd("EXEC").query(&mut c).unwrap();
    assert_eq!(r, (vec!["b".into(), "c".into(), "a".into()], 3));
}

#[test]
fn sort_store_replicates() {
    let primary = server(&[]);
    let replica = server(&[]);
    let mut p = conn(&primary);
    let mut r = conn(&replica);
    let port = primary.port().to_string();
    ok(&mut r, &["REPLICAOF", "127.0.0.1", &port]);
    let secs = std::time::Duration::from_secs(10);
    assert!(wait_until(secs, || info_field(
        &mut r,
        "replication",
        "master_link_status"
    ) == "up"));
    q::<i64>(&mut p, &["RPUSH", "l", "3", "1", "2"]);
    q::<i64>(&mut p, &["SADD", "s", "x", "z", "y"]);
    ok(&mut p, &["MSET", "w_1", "3", "w_2", "2", "w_3", "1"]);
    q::<i64>(&mut p, &["SORT", "l", "BY", "w_*", "STORE", "o1"]);
    q::<i64>(&mut p, &["SORT", "s", "BY", "nosort", "STORE", "o2"]);
    q::<Vec<String>>(&mut p, &["SORT", "l"]);
    q::<i64>(&mut p, &["SETBIT", "b", "100", "1"]);
    q::<Vec<Option<i64>>>(
        &mut p,
        &[
            "BITFIELD", "bf", "INCRBY", "u8", "0", "7", "OVERFLOW", "FAIL", "INCRBY", "u2", "100",
            "9",
        ],
    );
    q::<i64>(&mut p, &["BITOP", "NOT", "nb", "b"]);
    ok(&mut p, &["SET", "done", "1"]);
    assert!(wait_until(secs, || q::<i64>(&mut r, &["EXISTS", "done"]) == 1));
    assert_eq!(strs(&mut r, &["LRANGE", "o1", "0", "-1"]), ["3", "2", "1"]);
    assert_eq!(strs(&mut r, &["LRANGE", "o2", "0", "-1"]), ["x", "y", "z"]);
    for k in ["b", "bf", "nb"] {
        assert_eq!(
            q::<Vec<u8>>(&mut r, &["GET", k]),
            q::<Vec<u8>>(&mut p, &["GET", k]),
            "{k}"
        );
    }
}

/// The differential check against a real redis-server (tests/py/differential_bits.py), when
/// one is installed.
#[test]
fn differential_against_redis() {
    let have = |cmd: &str| {
        std::process::Command::new(cmd)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if !have("redis-server") || !have("python3") {
        eprintln!("skipped: redis-server or python3 not installed");
        return;
    }
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/py/differential_bits.py");
    let out = std::process::Command::new("python3")
        .args([script, BIN, "--rounds", "60"])
        .output()
        .expect("run differential_bits.py");
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Cluster mode: BY and GET patterns are refused as in Redis; the STORE destination is a key,
/// routed with the sorted key (CROSSSLOT when they differ).
#[test]
fn sort_in_cluster_mode() {
    let nodes = common::cluster::form_cluster(1, 5000, "bits-sort");
    let mut c = nodes[0].conn();
    q::<i64>(&mut c, &["RPUSH", "l{t}", "2", "1"]);
    assert_eq!(strs(&mut c, &["SORT", "l{t}"]), ["1", "2"]);
    assert_eq!(strs(&mut c, &["SORT", "l{t}", "BY", "nosort"]), ["2", "1"]);
    assert_eq!(
        e(&mut c, &["SORT", "l{t}", "BY", "w_*"]),
        "ERR BY option of SORT denied in Cluster mode."
    );
    assert_eq!(
        e(&mut c, &["SORT", "l{t}", "GET", "#"]),
        "ERR GET option of SORT denied in Cluster mode."
    );
    assert_eq!(
        e(&mut c, &["SORT_RO", "l{t}", "BY", "nosort", "GET", "x_*"]),
        "ERR GET option of SORT denied in Cluster mode."
    );
    assert_eq!(q::<i64>(&mut c, &["SORT", "l{t}", "STORE", "d{t}"]), 2);
    assert_eq!(strs(&mut c, &["LRANGE", "d{t}", "0", "-1"]), ["1", "2"]);
    assert!(e(&mut c, &["SORT", "l{t}", "STORE", "other"]).starts_with("CROSSSLOT"));
    common::cluster::cleanup(&nodes);
}

/// The dirty counter counts changes, as Redis's: a SETBIT or BITFIELD SET that changed nothing
/// is none, a BITFIELD is as many as the values it changed (or grew).
#[test]
fn setbit_and_bitfield_count_only_changes_as_dirty() {
    let s = server(&[]);
    let mut c = conn(&s);
    let dirty = |c: &mut redis::Connection| -> i64 {
        info_field(c, "persistence", "rdb_changes_since_last_save")
            .parse()
            .expect("a number")
    };
    let d0 = dirty(&mut c);
    let _: i64 = q(&mut c, &["SETBIT", "foo", "0", "0"]);
    let _: Vec<i64> = q(&mut c, &["BITFIELD", "foo2", "SET", "i5", "0", "0"]);
    assert_eq!(dirty(&mut c), d0 + 2, "new keys count");
    let _: i64 = q(&mut c, &["SETBIT", "foo", "0", "0"]);
    let _: Vec<i64> = q(&mut c, &["BITFIELD", "foo2", "SET", "i5", "0", "0"]);
    let _: Vec<i64> = q(&mut c, &["BITFIELD", "foo2", "GET", "i5", "0"]);
    assert_eq!(dirty(&mut c), d0 + 2, "no change, no count");
    let _: i64 = q(&mut c, &["SETBIT", "foo", "0", "1"]);
    let _: Vec<i64> = q(
        &mut c,
        &[
            "BITFIELD", "foo2", "SET", "i5", "0", "1", "SET", "i5", "5", "3", "GET", "u4", "0",
        ],
    );
    assert_eq!(dirty(&mut c), d0 + 5, "one + two changes");
    let _: Vec<i64> = q(&mut c, &["BITFIELD", "foo3", "INCRBY", "i5", "0", "1"]);
    let _: i64 = q(&mut c, &["SETBIT", "foo", "90", "0"]);
    assert_eq!(dirty(&mut c), d0 + 7, "growing is a change");
}
