//! Data-type behaviour Redis 7.0.15's own test suite checks (unit/type/*, unit/keyspace): error
//! texts byte for byte as redis-server 7.0.15 sends them, blocked clients woken (or not) as
//! Redis wakes them, sorted-set scores in Redis 7.0's `%.17g`.
mod common;
use common::*;
use redis::Value;
use std::time::Duration;

fn bulks(items: &[&str]) -> Value {
    Value::Array(
        items
            .iter()
            .map(|s| Value::BulkString(s.as_bytes().to_vec()))
            .collect(),
    )
}

const RANGE_ERR: &str =
    "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807";

#[test]
fn random_member_counts_are_range_checked() {
    let s = server(&[]);
    let mut c = conn(&s);
    let _: i64 = q(&mut c, &["SADD", "s", "a"]);
    let _: i64 = q(&mut c, &["HSET", "h", "a", "1"]);
    let _: i64 = q(&mut c, &["ZADD", "z", "0", "a"]);
    let min = "-9223372036854775808";
    // Used to answer 2^24 picks: the suite's client stalled reading them.
    assert_eq!(e(&mut c, &["SRANDMEMBER", "s", min]), RANGE_ERR);
    assert_eq!(e(&mut c, &["HRANDFIELD", "h", min]), RANGE_ERR);
    assert_eq!(
        e(&mut c, &["HRANDFIELD", "h", min, "WITHVALUES"]),
        RANGE_ERR
    );
    assert_eq!(e(&mut c, &["ZRANDMEMBER", "z", min]), RANGE_ERR);
    assert_eq!(
        e(&mut c, &["ZRANDMEMBER", "z", min, "WITHSCORES"]),
        RANGE_ERR
    );
    // With pairs, half the range.
    for big in ["-9223372036854770000", "9223372036854775807"] {
        assert_eq!(
            e(&mut c, &["HRANDFIELD", "h", big, "WITHVALUES"]),
            "ERR value is out of range"
        );
        assert_eq!(
            e(&mut c, &["ZRANDMEMBER", "z", big, "WITHSCORES"]),
            "ERR value is out of range"
        );
    }
    // The count is parsed before the syntax is checked, the pair range after.
    assert_eq!(e(&mut c, &["HRANDFIELD", "h", min, "foo"]), RANGE_ERR);
    assert_eq!(
        e(&mut c, &["HRANDFIELD", "h", "9223372036854775807", "foo"]),
        "ERR syntax error"
    );
    // In range: answered as before.
    assert_eq!(
        q::<Vec<String>>(&mut c, &["SRANDMEMBER", "s", "-5"]),
        vec!["a"; 5]
    );
    assert_eq!(
        q::<Vec<String>>(&mut c, &["ZRANDMEMBER", "z", "-3", "WITHSCORES"]),
        vec!["a", "0", "a", "0", "a", "0"]
    );
}

/// A blocked pop woken by a transaction that leaves its key holding another type keeps waiting
/// (Redis serves a woken client only from a key of the type it waits for), while the first call
/// on a wrong-type key answers WRONGTYPE at once.
#[test]
fn blocked_pops_stay_blocked_when_the_key_changes_type() {
    let s = server(&[]);
    let mut c = conn(&s);
    type Case = (
        Vec<&'static str>,
        [&'static str; 4],
        [&'static str; 4],
        Value,
    );
    let cases: Vec<Case> = vec![
        (
            vec!["BLPOP", "k", "10"],
            ["LPUSH", "k", "a", ""],
            ["LPUSH", "k", "b", ""],
            bulks(&["k", "b"]),
        ),
        (
            vec!["BRPOP", "k", "10"],
            ["RPUSH", "k", "a", ""],
            ["RPUSH", "k", "b", ""],
            bulks(&["k", "b"]),
        ),
        (
            vec!["BLMPOP", "10", "1", "k", "LEFT", "COUNT", "1"],
            ["LPUSH", "k", "a", ""],
            ["LPUSH", "k", "b", ""],
            Value::Array(vec![Value::BulkString(b"k".to_vec()), bulks(&["b"])]),
        ),
        (
            vec!["BLMOVE", "k", "dst", "LEFT", "LEFT", "10"],
            ["LPUSH", "k", "a", ""],
            ["LPUSH", "k", "b", ""],
            Value::BulkString(b"b".to_vec()),
        ),
        (
            vec!["BZPOPMIN", "k", "10"],
            ["ZADD", "k", "0", "foo"],
            ["ZADD", "k", "1", "bar"],
            bulks(&["k", "bar", "1"]),
        ),
        (
            vec!["BZPOPMAX", "k", "10"],
            ["ZADD", "k", "0", "foo"],
            ["ZADD", "k", "1", "bar"],
            bulks(&["k", "bar", "1"]),
        ),
        (
            vec!["BZMPOP", "10", "1", "k", "MIN"],
            ["ZADD", "k", "0", "foo"],
            ["ZADD", "k", "1", "bar"],
            Value::Array(vec![
                Value::BulkString(b"k".to_vec()),
                Value::Array(vec![bulks(&["bar", "1"])]),
            ]),
        ),
    ];
    for (cmd, first, later, want) in cases {
        let _: i64 = q(&mut c, &["DEL", "k", "dst"]);
        let h = spawn_cmd(s.url(), cmd.clone());
        wait_blocked(&mut c, 1);
        ok(&mut c, &["MULTI"]);
        let trim = |a: &[&'static str; 4]| -> Vec<&'static str> {
            a.iter().copied().filter(|x| !x.is_empty()).collect()
        };
        let _: String = q(&mut c, &trim(&first));
        let _: String = q(&mut c, &["DEL", "k"]);
        let _: String = q(&mut c, &["SET", "k", "foo"]);
        let _: Value = q(&mut c, &["EXEC"]);
        std::thread::sleep(Duration::from_millis(100));
        assert!(!h.is_finished(), "{cmd:?} answered: {:?}", h.join());
        assert_eq!(blocked_count(&mut c), 1, "{cmd:?}");
        let _: i64 = q(&mut c, &["DEL", "k"]);
        let _: i64 = q(&mut c, &trim(&later));
        assert_eq!(h.join().unwrap(), Ok(want), "{cmd:?}");
        wait_blocked(&mut c, 0);
        // Not a re-run: WRONGTYPE at once.
        let _: i64 = q(&mut c, &["DEL", "k"]);
        ok(&mut c, &["SET", "k", "foo"]);
        assert_eq!(
            spawn_cmd(s.url(), cmd.clone()).join().unwrap(),
            Err("WRONGTYPE Operation against a key holding the wrong kind of value".into()),
            "{cmd:?}"
        );
    }
}

/// BRPOPLPUSH / BLMOVE into a key of another type block (Redis checks the destination once
/// there is something to move); the element then stays in the source.
#[test]
fn blocking_move_to_a_wrong_type_destination_blocks() {
    let s = server(&[]);
    let mut c = conn(&s);
    for cmd in [
        vec!["BRPOPLPUSH", "blist{t}", "target{t}", "10"],
        vec!["BLMOVE", "blist{t}", "target{t}", "RIGHT", "LEFT", "10"],
    ] {
        let _: i64 = q(&mut c, &["DEL", "blist{t}", "target{t}"]);
        ok(&mut c, &["SET", "target{t}", "nolist"]);
        let h = spawn_cmd(s.url(), cmd.clone());
        wait_blocked(&mut c, 1);
        let _: i64 = q(&mut c, &["RPUSH", "blist{t}", "foo"]);
        assert_eq!(
            h.join().unwrap(),
            Err("WRONGTYPE Operation against a key holding the wrong kind of value".into()),
            "{cmd:?}"
        );
        assert_eq!(
            q::<Vec<String>>(&mut c, &["LRANGE", "blist{t}", "0", "-1"]),
            vec!["foo"]
        );
        // With data already there the error is immediate.
        assert_eq!(
            e(&mut c, &cmd),
            "WRONGTYPE Operation against a key holding the wrong kind of value"
        );
        wait_blocked(&mut c, 0);
    }
}

/// RENAME, COPY, MOVE and RESTORE that put a list or sorted set in place wake a client blocked
/// on that key (these used to leave it blocked forever).
#[test]
fn whole_value_writes_wake_blocked_clients() {
    let s = server(&[]);
    let mut c = conn(&s);
    let url = s.url();
    let want = bulks(&["foo{t}", "hij"]);

    let h = spawn_cmd(url.clone(), vec!["BLPOP", "foo{t}", "10"]);
    wait_blocked(&mut c, 1);
    let _: i64 = q(&mut c, &["LPUSH", "bob{t}", "abc", "def", "hij"]);
    ok(&mut c, &["RENAME", "bob{t}", "foo{t}"]);
    assert_eq!(h.join().unwrap(), Ok(want.clone()), "RENAME");

    let _: i64 = q(&mut c, &["DEL", "foo{t}"]);
    let h = spawn_cmd(url.clone(), vec!["BLPOP", "foo{t}", "10"]);
    wait_blocked(&mut c, 1);
    let _: i64 = q(&mut c, &["LPUSH", "bob{t}", "abc", "def", "hij"]);
    assert_eq!(q::<i64>(&mut c, &["RENAMENX", "bob{t}", "foo{t}"]), 1);
    assert_eq!(h.join().unwrap(), Ok(want.clone()), "RENAMENX");

    let _: i64 = q(&mut c, &["DEL", "foo{t}"]);
    let h = spawn_cmd(url.clone(), vec!["BLPOP", "foo{t}", "10"]);
    wait_blocked(&mut c, 1);
    let _: i64 = q(&mut c, &["LPUSH", "src{t}", "hij"]);
    assert_eq!(q::<i64>(&mut c, &["COPY", "src{t}", "foo{t}"]), 1);
    assert_eq!(h.join().unwrap(), Ok(want.clone()), "COPY");

    // COPY ... DB and MOVE wake the client blocked in the target database.
    let h = spawn_cmd(format!("{url}1"), vec!["BLPOP", "foo{t}", "10"]);
    wait_blocked(&mut c, 1);
    assert_eq!(
        q::<i64>(&mut c, &["COPY", "src{t}", "foo{t}", "DB", "1"]),
        1
    );
    assert_eq!(h.join().unwrap(), Ok(want.clone()), "COPY DB");
    let h = spawn_cmd(format!("{url}1"), vec!["BLPOP", "src{t}", "10"]);
    wait_blocked(&mut c, 1);
    assert_eq!(q::<i64>(&mut c, &["MOVE", "src{t}", "1"]), 1);
    assert_eq!(h.join().unwrap(), Ok(bulks(&["src{t}", "hij"])), "MOVE");

    let _: i64 = q(&mut c, &["RPUSH", "src{t}", "hij"]);
    let dump: Vec<u8> = q(&mut c, &["DUMP", "src{t}"]);
    let h = spawn_cmd(url.clone(), vec!["BLPOP", "foo{t}", "10"]);
    wait_blocked(&mut c, 1);
    let r: String = redis::cmd("RESTORE")
        .arg("foo{t}")
        .arg(0)
        .arg(dump)
        .query(&mut c)
        .unwrap();
    assert_eq!(r, "OK");
    assert_eq!(h.join().unwrap(), Ok(want), "RESTORE");

    // SWAPDB: a string coming into place keeps the client waiting, a list serves it.
    let mut c9: redis::Connection = redis::Client::open(format!("{url}9"))
        .unwrap()
        .get_connection()
        .unwrap();
    let _: () = redis::cmd("FLUSHALL").query(&mut c).unwrap();
    let mut c1: redis::Connection = redis::Client::open(format!("{url}1"))
        .unwrap()
        .get_connection()
        .unwrap();
    ok(&mut c1, &["SET", "k", "str"]);
    let h = spawn_cmd(format!("{url}9"), vec!["BRPOP", "k", "10"]);
    wait_blocked(&mut c, 1);
    ok(&mut c, &["SWAPDB", "1", "9"]);
    std::thread::sleep(Duration::from_millis(100));
    assert!(!h.is_finished(), "SWAPDB string: {:?}", h.join());
    let _: i64 = q(&mut c9, &["DEL", "k"]);
    let _: i64 = q(&mut c1, &["RPUSH", "k", "hello"]);
    ok(&mut c, &["SWAPDB", "1", "9"]);
    assert_eq!(h.join().unwrap(), Ok(bulks(&["k", "hello"])), "SWAPDB");

    // Sorted sets too.
    let h = spawn_cmd(url, vec!["BZPOPMIN", "zz{t}", "10"]);
    wait_blocked(&mut c, 1);
    let _: i64 = q(&mut c, &["ZADD", "zsrc{t}", "1", "a"]);
    ok(&mut c, &["RENAME", "zsrc{t}", "zz{t}"]);
    assert_eq!(
        h.join().unwrap(),
        Ok(bulks(&["zz{t}", "a", "1"])),
        "RENAME zset"
    );
}

#[test]
fn argument_error_texts_match_redis() {
    let s = server(&[]);
    let mut c = conn(&s);
    let _: i64 = q(&mut c, &["SADD", "myset{t}", "a"]);
    for (args, want) in [
        (
            &["LPOP", "key", "1", "1"][..],
            "ERR wrong number of arguments for 'lpop' command",
        ),
        (
            &["RPOP", "key", "2", "2"],
            "ERR wrong number of arguments for 'rpop' command",
        ),
        (
            &["SINTERCARD", "a", "myset{t}"],
            "ERR numkeys should be greater than 0",
        ),
        (
            &["SINTERCARD", "0", "myset{t}"],
            "ERR numkeys should be greater than 0",
        ),
        (
            &["SINTERCARD", "2", "myset{t}"],
            "ERR Number of keys can't be greater than number of args",
        ),
        (
            &["SINTERCARD", "3", "myset{t}", "myset2{t}"],
            "ERR Number of keys can't be greater than number of args",
        ),
        (
            &["SINTERCARD", "9223372036854775807", "myset{t}"],
            "ERR Number of keys can't be greater than number of args",
        ),
        (
            &["SINTERCARD", "1", "myset{t}", "LIMIT"],
            "ERR syntax error",
        ),
        (
            &["SINTERCARD", "1", "myset{t}", "LIMIT", "-1"],
            "ERR LIMIT can't be negative",
        ),
        (
            &["ZINTERCARD", "0", "key"],
            "ERR at least 1 input key is needed for 'zintercard' command",
        ),
        (
            &["ZINTERCARD", "-1", "key"],
            "ERR at least 1 input key is needed for 'zintercard' command",
        ),
        (&["ZINTERCARD", "2", "key"], "ERR syntax error"),
        (
            &[
                "ZRANGESTORE",
                "z2{t}",
                "z1{t}",
                "0",
                "-1",
                "LIMIT",
                "1",
                "2",
            ],
            "ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX",
        ),
        (
            &["ZRANGESTORE", "z2{t}", "nokey{t}", "a", "b", "BYSCORE"],
            "ERR min or max is not a float",
        ),
        (
            &["ZRANGESTORE", "z2{t}", "nokey{t}", "a", "b", "BYLEX"],
            "ERR min or max not valid string range item",
        ),
        (
            &["HINCRBYFLOAT", "hfoo", "field", "+inf"],
            "ERR value is NaN or Infinity",
        ),
        (
            &["HINCRBYFLOAT", "hfoo", "field", "-inf"],
            "ERR value is NaN or Infinity",
        ),
    ] {
        assert_eq!(e(&mut c, args), want, "{args:?}");
    }
    assert_eq!(q::<i64>(&mut c, &["EXISTS", "hfoo"]), 0);
    // LIMIT may be given more than once: the last one counts.
    let _: i64 = q(&mut c, &["SADD", "myset2{t}", "a"]);
    assert_eq!(
        q::<i64>(
            &mut c,
            &[
                "SINTERCARD",
                "2",
                "myset{t}",
                "myset2{t}",
                "LIMIT",
                "0",
                "LIMIT",
                "1"
            ]
        ),
        1
    );
    let _: i64 = q(&mut c, &["ZADD", "z{t}", "1", "a", "2", "b"]);
    assert_eq!(
        q::<i64>(
            &mut c,
            &["ZINTERCARD", "1", "z{t}", "LIMIT", "5", "LIMIT", "1"]
        ),
        1
    );
}

/// SMOVE to a set that already holds the member changes only the source: WATCH on the
/// destination stays clean. SMOVE s s m changes nothing (the TTL stays).
#[test]
fn smove_leaves_a_destination_that_has_the_member_alone() {
    let s = server(&[]);
    let mut c = conn(&s);
    let mut c2 = conn(&s);
    let _: i64 = q(&mut c, &["SADD", "srcset{t}", "a", "b"]);
    let _: i64 = q(&mut c, &["SADD", "dstset{t}", "a"]);
    ok(&mut c, &["WATCH", "dstset{t}"]);
    ok(&mut c, &["MULTI"]);
    let _: String = q(&mut c, &["SADD", "dstset{t}", "c"]);
    assert_eq!(
        q::<i64>(&mut c2, &["SMOVE", "srcset{t}", "dstset{t}", "a"]),
        1
    );
    assert_eq!(v(&mut c, &["EXEC"]), Value::Array(vec![Value::Int(1)]));
    assert_eq!(q::<i64>(&mut c, &["SCARD", "dstset{t}"]), 2);
    assert_eq!(
        q::<Vec<String>>(&mut c, &["SMEMBERS", "srcset{t}"]),
        vec!["b"]
    );

    let _: i64 = q(&mut c, &["SADD", "one", "a"]);
    let _: i64 = q(&mut c, &["EXPIRE", "one", "100"]);
    ok(&mut c, &["WATCH", "one"]);
    ok(&mut c, &["MULTI"]);
    let _: String = q(&mut c, &["SCARD", "one"]);
    assert_eq!(q::<i64>(&mut c2, &["SMOVE", "one", "one", "a"]), 1);
    assert_eq!(q::<i64>(&mut c2, &["SMOVE", "one", "one", "zz"]), 0);
    assert_eq!(v(&mut c, &["EXEC"]), Value::Array(vec![Value::Int(1)]));
    assert!(q::<i64>(&mut c, &["TTL", "one"]) > 90);
    // Type checks as Redis: a missing source answers 0 before the destination's type counts.
    ok(&mut c, &["SET", "str", "x"]);
    assert_eq!(q::<i64>(&mut c, &["SMOVE", "nosuch", "str", "a"]), 0);
    assert_eq!(
        e(&mut c, &["SMOVE", "one", "str", "a"]),
        "WRONGTYPE Operation against a key holding the wrong kind of value"
    );
}

/// Redis 7.0 replies with sorted-set scores as `%.17g` (the suite compares them with Tcl's
/// 17-digit doubles); other doubles (INCRBYFLOAT) keep their own format.
#[test]
fn scores_are_replied_as_redis_7_0_does() {
    let s = server(&[]);
    let mut c = conn(&s);
    let _: i64 = q(
        &mut c,
        &[
            "ZADD",
            "z",
            "0.6456809079487253",
            "a",
            "0.1",
            "b",
            "1e-5",
            "c",
            "3",
            "d",
            "1.7976931348623157e308",
            "e",
            "1e17",
            "h",
        ],
    );
    for (m, want) in [
        ("a", "0.64568090794872535"),
        ("b", "0.10000000000000001"),
        ("c", "1.0000000000000001e-05"),
        ("d", "3"),
        ("e", "1.7976931348623157e+308"),
        ("h", "1e+17"),
    ] {
        assert_eq!(q::<String>(&mut c, &["ZSCORE", "z", m]), want, "{m}");
    }
    assert_eq!(
        q::<Vec<String>>(&mut c, &["ZMSCORE", "z", "a", "e"]),
        vec!["0.64568090794872535", "1.7976931348623157e+308"]
    );
    assert_eq!(
        q::<Vec<String>>(&mut c, &["ZRANGE", "z", "0", "1", "WITHSCORES"]),
        vec!["c", "1.0000000000000001e-05", "b", "0.10000000000000001"]
    );
    assert_eq!(
        q::<String>(&mut c, &["ZINCRBY", "z", "0.1", "d"]),
        "3.1000000000000001"
    );
    // ZSCAN of a small set: integers as integers, the rest `%.17g`.
    let (_, flat): (String, Vec<String>) = q(&mut c, &["ZSCAN", "z", "0"]);
    assert!(flat.contains(&"100000000000000000".to_string()), "{flat:?}");
    assert!(
        flat.contains(&"0.10000000000000001".to_string()),
        "{flat:?}"
    );
    let mut c3 = resp3(&s);
    assert_eq!(
        v(&mut c3, &["ZSCORE", "z", "a"]),
        Value::Double(0.6456809079487253)
    );
    assert_eq!(q::<String>(&mut c, &["INCRBYFLOAT", "f", "0.1"]), "0.1");
    assert_eq!(
        q::<String>(&mut c, &["HINCRBYFLOAT", "hf", "x", "0.1"]),
        "0.1"
    );
}

/// PTTL right after GETEX/SET PXAT never exceeds the TTL given (the connection's clock used to
/// lag the wall clock by up to 1 ms).
#[test]
fn pttl_after_pxat_does_not_exceed_the_ttl() {
    let s = server(&[]);
    let mut c = conn(&s);
    ok(&mut c, &["SET", "foo", "bar"]);
    let mut over = 0;
    for _ in 0..1000 {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis() as u64;
        let at = (now + 10_000).to_string();
        let _: String = q(&mut c, &["GETEX", "foo", "PXAT", &at]);
        let t: i64 = q(&mut c, &["PTTL", "foo"]);
        assert!(t > 5000, "{t}");
        if t > 10_000 {
            over += 1;
        }
    }
    assert_eq!(over, 0, "PTTL above 10000 in {over} of 1000 tries");
}
