//! HyperLogLog commands against the real binary. Expected bytes and counts are redis-server
//! 7.0.15's for the same commands.
mod common;
use common::*;
use redis::Value;

fn get_bytes(c: &mut redis::Connection, key: &str) -> Vec<u8> {
    redis::cmd("GET").arg(key).query(c).expect("GET")
}

fn set_bytes(c: &mut redis::Connection, key: &str, val: &[u8]) {
    let _: () = redis::cmd("SET").arg(key).arg(val).query(c).expect("SET");
}

#[test]
fn pfadd_pfcount_and_redis_representation() {
    let s = server(&[]);
    let mut c = conn(&s);
    assert_eq!(q::<i64>(&mut c, &["PFADD", "h", "a", "b", "c"]), 1);
    assert_eq!(q::<i64>(&mut c, &["PFADD", "h", "a", "b", "c"]), 0);
    // Redis's sparse bytes, the cache marked stale.
    let mut want = b"HYLL\x01\0\0\0\0\0\0\0\0\0\0\x80".to_vec();
    want.extend_from_slice(b"`\xf3\x80P\xb1\x84K\xfb\x80BZ");
    assert_eq!(get_bytes(&mut c, "h"), want);
    assert_eq!(q::<i64>(&mut c, &["PFCOUNT", "h"]), 3);
    // The estimate is cached in the header (as Redis: 3, valid).
    want[8] = 3;
    want[15] = 0;
    assert_eq!(get_bytes(&mut c, "h"), want);
    assert_eq!(q::<i64>(&mut c, &["PFADD", "h", "a"]), 0);
    assert_eq!(get_bytes(&mut c, "h")[15], 0, "no change, cache kept");
    assert_eq!(q::<i64>(&mut c, &["PFADD", "h", "1", "2", "3"]), 1);
    assert_eq!(get_bytes(&mut c, "h")[15], 0x80);
    // PFADD with no element creates an empty HLL (once).
    assert_eq!(q::<i64>(&mut c, &["PFADD", "empty"]), 1);
    assert_eq!(q::<i64>(&mut c, &["PFADD", "empty"]), 0);
    assert_eq!(q::<i64>(&mut c, &["PFCOUNT", "empty"]), 0);
    assert_eq!(q::<i64>(&mut c, &["PFCOUNT", "missing"]), 0);
    assert_eq!(q::<i64>(&mut c, &["PFADD", "h", ""]), 1);
    // Several keys: the union, missing keys as empty.
    assert_eq!(
        q::<i64>(
            &mut c,
            &[
                "PFADD", "h2", "1", "2", "3", "4", "5", "6", "7", "8", "9", "10"
            ]
        ),
        1
    );
    assert_eq!(q::<i64>(&mut c, &["PFCOUNT", "h", "h2", "missing"]), 14);
    assert_eq!(
        q::<String>(&mut c, &["PFDEBUG", "DECODE", "h2"]),
        "Z:495 v:2,1 Z:2084 v:1,1 Z:4946 v:1,1 Z:3297 v:1,1 Z:147 v:1,1 Z:3136 v:1,1 Z:728 v:1,1 \
         Z:531 v:4,1 Z:185 v:1,1 z:22 v:2,1 Z:803"
    );
}

#[test]
fn counts_match_redis_across_sparse_and_dense() {
    let s = server(&[]);
    let mut c = conn(&s);
    // redis-server 7.0.15: PFADD big e0..e4999 in batches of 100, PFCOUNT after each 1000.
    let want = [
        (1000, 1008),
        (2000, 2000),
        (3000, 2979),
        (4000, 3974),
        (5000, 4968),
    ];
    let mut n = 0;
    for (upto, card) in want {
        while n < upto {
            let mut cmd = redis::cmd("PFADD");
            cmd.arg("big");
            for j in n..n + 100 {
                cmd.arg(format!("e{j}"));
            }
            let _: i64 = cmd.query(&mut c).unwrap();
            n += 100;
        }
        assert_eq!(q::<i64>(&mut c, &["PFCOUNT", "big"]), card, "after {upto}");
    }
    assert_eq!(
        q::<String>(&mut c, &["PFDEBUG", "ENCODING", "big"]),
        "dense"
    );
    assert_eq!(get_bytes(&mut c, "big").len(), 12304);
    // Small ones stay sparse; TODENSE converts once.
    q::<i64>(&mut c, &["PFADD", "small", "x", "y"]);
    assert_eq!(
        q::<String>(&mut c, &["PFDEBUG", "ENCODING", "small"]),
        "sparse"
    );
    assert_eq!(q::<i64>(&mut c, &["PFDEBUG", "TODENSE", "small"]), 1);
    assert_eq!(q::<i64>(&mut c, &["PFDEBUG", "TODENSE", "small"]), 0);
    assert_eq!(q::<i64>(&mut c, &["PFCOUNT", "small"]), 2);
    let regs: Vec<i64> = q(&mut c, &["PFDEBUG", "GETREG", "small"]);
    assert_eq!(regs.len(), 16384);
    assert_eq!(regs.iter().filter(|r| **r != 0).count(), 2);
    // hll-sparse-max-bytes drives the promotion.
    ok(&mut c, &["CONFIG", "SET", "hll-sparse-max-bytes", "30"]);
    q::<i64>(&mut c, &["PFADD", "tiny", "a", "b", "c", "d", "e", "f"]);
    assert_eq!(
        q::<String>(&mut c, &["PFDEBUG", "ENCODING", "tiny"]),
        "dense"
    );
    assert_eq!(q::<i64>(&mut c, &["PFCOUNT", "tiny"]), 6);
}

#[test]
fn pfmerge_unions_and_keeps_redis_bytes() {
    let s = server(&[]);
    let mut c = conn(&s);
    q::<i64>(&mut c, &["PFADD", "a", "a", "b", "c"]);
    q::<i64>(&mut c, &["PFADD", "b", "b", "c", "d"]);
    q::<i64>(&mut c, &["PFADD", "c", "c", "d", "e"]);
    ok(&mut c, &["PFMERGE", "dst", "a", "b", "c", "missing"]);
    assert_eq!(q::<i64>(&mut c, &["PFCOUNT", "dst"]), 5);
    // No source: an empty HLL, its cache stale (Redis's bytes).
    ok(&mut c, &["PFMERGE", "only"]);
    assert_eq!(
        get_bytes(&mut c, "only"),
        b"HYLL\x01\0\0\0\0\0\0\0\0\0\0\x80\x7f\xff".to_vec()
    );
    // A dense source makes a dense destination.
    q::<i64>(&mut c, &["PFDEBUG", "TODENSE", "a"]);
    ok(&mut c, &["PFMERGE", "dst2", "a", "b"]);
    assert_eq!(
        q::<String>(&mut c, &["PFDEBUG", "ENCODING", "dst2"]),
        "dense"
    );
    assert_eq!(q::<i64>(&mut c, &["PFCOUNT", "dst2"]), 4);
}

#[test]
fn errors_are_redis_texts() {
    let s = server(&[]);
    let mut c = conn(&s);
    ok(&mut c, &["SET", "str", "foo"]);
    ok(&mut c, &["SET", "int", "123"]);
    q::<i64>(&mut c, &["LPUSH", "list", "x"]);
    let not_hll = "WRONGTYPE Key is not a valid HyperLogLog string value.";
    let wrong = "WRONGTYPE Operation against a key holding the wrong kind of value";
    assert_eq!(e(&mut c, &["PFADD", "str", "x"]), not_hll);
    assert_eq!(e(&mut c, &["PFADD", "int", "x"]), not_hll);
    assert_eq!(e(&mut c, &["PFCOUNT", "str"]), not_hll);
    assert_eq!(e(&mut c, &["PFCOUNT", "missing", "str"]), not_hll);
    assert_eq!(e(&mut c, &["PFMERGE", "dst", "str"]), not_hll);
    assert_eq!(e(&mut c, &["PFMERGE", "str", "missing"]), not_hll);
    assert_eq!(q::<i64>(&mut c, &["EXISTS", "dst"]), 0);
    assert_eq!(e(&mut c, &["PFADD", "list", "x"]), wrong);
    assert_eq!(e(&mut c, &["PFCOUNT", "list"]), wrong);
    assert_eq!(
        e(&mut c, &["PFADD"]),
        "ERR wrong number of arguments for 'pfadd' command"
    );
    assert_eq!(
        e(&mut c, &["PFCOUNT"]),
        "ERR wrong number of arguments for 'pfcount' command"
    );
    assert_eq!(
        e(&mut c, &["PFDEBUG", "ENCODING", "missing"]),
        "ERR The specified key does not exist"
    );
    q::<i64>(&mut c, &["PFADD", "h", "x"]);
    assert_eq!(
        e(&mut c, &["PFDEBUG", "foo", "h"]),
        "ERR Unknown PFDEBUG subcommand 'foo'"
    );
    assert_eq!(e(&mut c, &["PFDEBUG", "DECODE", "str"]), not_hll);
    q::<i64>(&mut c, &["PFDEBUG", "TODENSE", "h"]);
    assert_eq!(
        e(&mut c, &["PFDEBUG", "DECODE", "h"]),
        "ERR HLL encoding is not sparse"
    );
    // Corruptions: broken magic and bad encoding are not HLLs; a dense one of the wrong length
    // either; sparse opcodes that do not cover 16384 registers are INVALIDOBJ.
    q::<i64>(&mut c, &["PFADD", "x", "a", "b", "c"]);
    let good = get_bytes(&mut c, "x");
    let mut bad = good.clone();
    bad[0] = b'0';
    set_bytes(&mut c, "x", &bad);
    assert_eq!(e(&mut c, &["PFCOUNT", "x"]), not_hll);
    let mut bad = good.clone();
    bad[4] = b'x';
    set_bytes(&mut c, "x", &bad);
    assert_eq!(e(&mut c, &["PFCOUNT", "x"]), not_hll);
    let mut bad = good.clone();
    bad[4] = 0;
    set_bytes(&mut c, "x", &bad);
    assert_eq!(e(&mut c, &["PFCOUNT", "x"]), not_hll);
    let mut bad = good.clone();
    bad.extend_from_slice(b"hello");
    set_bytes(&mut c, "x", &bad);
    let invalid = "INVALIDOBJ Corrupted HLL object detected";
    assert_eq!(e(&mut c, &["PFCOUNT", "x"]), invalid);
    assert_eq!(e(&mut c, &["PFCOUNT", "x", "h"]), invalid);
    assert_eq!(e(&mut c, &["PFMERGE", "y", "x"]), invalid);
    // A truncated sparse HLL: an XZERO cut in half.
    set_bytes(&mut c, "t", b"HYLL\x01\0\0\0\0\0\0\0\0\0\0\x80\x7f");
    assert_eq!(e(&mut c, &["PFCOUNT", "t"]), invalid);
    // Redis reads the string's terminator as the XZERO's second byte and splits it.
    assert_eq!(q::<i64>(&mut c, &["PFADD", "t", "zz"]), 1);
    assert_eq!(
        get_bytes(&mut c, "t"),
        b"HYLL\x01\0\0\0\0\0\0\0\0\0\0\x80J\xd9\x80t".to_vec()
    );
    assert_eq!(e(&mut c, &["PFCOUNT", "t"]), invalid);
}

#[test]
fn fuzzed_corruptions_never_crash() {
    let s = server(&[]);
    let mut c = conn(&s);
    let mut seed: u64 = 0x9e3779b97f4a7c15;
    let mut rnd = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for round in 0..300 {
        let _: i64 = redis::cmd("DEL").arg("f").query(&mut c).unwrap();
        let mut add = redis::cmd("PFADD");
        add.arg("f");
        for j in 0..(rnd() % 3000) {
            add.arg(format!("{round}-{j}"));
        }
        let _: i64 = add.query(&mut c).unwrap();
        for _ in 0..(1 + rnd() % 5) {
            let len: i64 = q(&mut c, &["STRLEN", "f"]);
            let pos = (rnd() % len as u64) as i64;
            let byte = [(rnd() & 0xff) as u8];
            let _: i64 = redis::cmd("SETRANGE")
                .arg("f")
                .arg(pos)
                .arg(&byte[..])
                .query(&mut c)
                .unwrap();
        }
        let _ = redis::cmd("PFCOUNT").arg("f").query::<Value>(&mut c);
        let _ = redis::cmd("PFADD")
            .arg("f")
            .arg("new")
            .query::<Value>(&mut c);
        let _ = redis::cmd("PFMERGE")
            .arg("g")
            .arg("f")
            .query::<Value>(&mut c);
    }
    assert_eq!(q::<String>(&mut c, &["PING"]), "PONG");
}

#[test]
fn pfselftest_passes() {
    let s = server(&[]);
    let mut c = conn(&s);
    ok(&mut c, &["PFSELFTEST"]);
}

#[test]
fn writes_replicate_with_redis_bytes() {
    use std::time::Duration;
    let p = server(&[]);
    let mut pc = conn(&p);
    let port = p.port().to_string();
    let r = server(&["--replicaof", "127.0.0.1", &port]);
    let mut rc = conn(&r);
    assert!(
        wait_until(Duration::from_secs(10), || info_field(
            &mut rc,
            "replication",
            "master_link_status"
        ) == "up"),
        "link never came up"
    );
    q::<i64>(&mut pc, &["PFADD", "h", "a", "b", "c"]);
    assert_eq!(q::<i64>(&mut pc, &["PFCOUNT", "h"]), 3);
    q::<i64>(&mut pc, &["PFADD", "h2", "x"]);
    q::<i64>(&mut pc, &["PFDEBUG", "TODENSE", "h2"]);
    ok(&mut pc, &["PFMERGE", "m", "h", "h2"]);
    q::<i64>(
        &mut pc,
        &[
            "GEOADD",
            "g",
            "13.361389",
            "38.115556",
            "Palermo",
            "15.087269",
            "37.502669",
            "Catania",
        ],
    );
    q::<i64>(
        &mut pc,
        &[
            "GEOSEARCHSTORE",
            "d",
            "g",
            "FROMLONLAT",
            "15",
            "37",
            "BYRADIUS",
            "200",
            "km",
            "STOREDIST",
        ],
    );
    ok(&mut pc, &["SET", "done", "1"]);
    assert!(wait_until(Duration::from_secs(10), || {
        q::<Option<String>>(&mut rc, &["GET", "done"]).is_some()
    }));
    // The cached count (PFCOUNT replicates), the dense conversion and the merge, byte for byte.
    for k in ["h", "h2", "m"] {
        assert_eq!(get_bytes(&mut rc, k), get_bytes(&mut pc, k), "{k}");
    }
    assert_eq!(get_bytes(&mut rc, "h")[15], 0, "cache valid on the replica");
    for k in ["g", "d"] {
        let a: Vec<String> = q(&mut pc, &["ZRANGE", k, "0", "-1", "WITHSCORES"]);
        let b: Vec<String> = q(&mut rc, &["ZRANGE", k, "0", "-1", "WITHSCORES"]);
        assert_eq!(a, b, "{k}");
    }
}
