//! Stream commands against the real binary. Replies and error texts are redis-server 7.0.15's
//! for the same commands.
mod common;
use common::*;
use redis::Value;
use std::time::Duration;

fn ids(v: &Value) -> Vec<String> {
    match v {
        Value::Array(items) => items
            .iter()
            .map(|e| match e {
                Value::Array(p) => match &p[0] {
                    Value::BulkString(b) => String::from_utf8_lossy(b).into_owned(),
                    o => panic!("not an id: {o:?}"),
                },
                Value::BulkString(b) => String::from_utf8_lossy(b).into_owned(),
                o => panic!("not an entry: {o:?}"),
            })
            .collect(),
        Value::Nil => Vec::new(),
        o => panic!("not an array: {o:?}"),
    }
}

fn xadd(c: &mut redis::Connection, key: &str, id: &str) -> String {
    q(c, &["XADD", key, id, "f", "v"])
}

const SMALLER: &str =
    "ERR The ID specified in XADD is equal or smaller than the target stream top item";
const INVALID: &str = "ERR Invalid stream ID specified as stream command argument";

#[test]
fn xadd_ids_and_errors() {
    let s = server(&[]);
    let mut c = conn(&s);
    assert_eq!(xadd(&mut c, "s", "1-1"), "1-1");
    assert_eq!(xadd(&mut c, "s", "1-*"), "1-2");
    assert_eq!(xadd(&mut c, "s", "5"), "5-0");
    assert_eq!(xadd(&mut c, "s", "+7-+1"), "7-1");
    assert_eq!(e(&mut c, &["XADD", "s", "7-1", "f", "v"]), SMALLER);
    assert_eq!(e(&mut c, &["XADD", "s", "6-*", "f", "v"]), SMALLER);
    let auto = xadd(&mut c, "s", "*");
    let (ms, seq) = auto.split_once('-').unwrap();
    assert!(ms.parse::<u64>().unwrap() > 1_600_000_000_000 && seq == "0");
    assert_eq!(q::<String>(&mut c, &["TYPE", "s"]), "stream");
    assert_eq!(q::<String>(&mut c, &["OBJECT", "ENCODING", "s"]), "stream");
    assert_eq!(q::<i64>(&mut c, &["XLEN", "s"]), 5);
    assert_eq!(q::<i64>(&mut c, &["XLEN", "nokey"]), 0);
    // 0-0 is refused before the key is created.
    assert_eq!(
        e(&mut c, &["XADD", "new", "0-0", "f", "v"]),
        "ERR The ID specified in XADD must be greater than 0-0"
    );
    assert_eq!(q::<i64>(&mut c, &["EXISTS", "new"]), 0);
    for bad in ["x", "1-", "-", "+", "1-2-3", "18446744073709551616", "-1"] {
        assert_eq!(e(&mut c, &["XADD", "s", bad, "f", "v"]), INVALID, "{bad}");
    }
    assert_eq!(
        e(&mut c, &["XADD", "s", "*", "f"]),
        "ERR wrong number of arguments for 'xadd' command"
    );
    assert_eq!(
        e(
            &mut c,
            &["XADD", "s", "MAXLEN", "1", "MINID", "1", "*", "f", "v"]
        ),
        "ERR syntax error, MAXLEN and MINID options at the same time are not compatible"
    );
    assert_eq!(
        e(&mut c, &["XADD", "s", "MAXLEN", "-1", "*", "f", "v"]),
        "ERR The MAXLEN argument must be >= 0."
    );
    assert_eq!(
        e(
            &mut c,
            &[
                "XADD", "s", "MAXLEN", "=", "1", "LIMIT", "10", "*", "f", "v"
            ]
        ),
        "ERR syntax error, LIMIT cannot be used without the special ~ option"
    );
    assert_eq!(
        e(
            &mut c,
            &[
                "XADD", "s", "MAXLEN", "~", "1", "LIMIT", "-1", "*", "f", "v"
            ]
        ),
        "ERR The LIMIT argument must be >= 0."
    );
    // NOMKSTREAM on a missing key: nil, no key.
    assert_eq!(
        v(&mut c, &["XADD", "nokey", "NOMKSTREAM", "*", "f", "v"]),
        Value::Nil
    );
    assert_eq!(q::<i64>(&mut c, &["EXISTS", "nokey"]), 0);
    ok(&mut c, &["SET", "str", "x"]);
    assert_eq!(
        e(&mut c, &["XADD", "str", "*", "f", "v"]),
        "WRONGTYPE Operation against a key holding the wrong kind of value"
    );
}

#[test]
fn ids_at_the_u64_limits() {
    let s = server(&[]);
    let mut c = conn(&s);
    let max = "18446744073709551615-18446744073709551615";
    assert_eq!(
        xadd(&mut c, "m", "18446744073709551615-0"),
        "18446744073709551615-0"
    );
    assert_eq!(xadd(&mut c, "m", max), max);
    let exhausted = "ERR The stream has exhausted the last possible ID, unable to add more items";
    assert_eq!(e(&mut c, &["XADD", "m", "*", "f", "v"]), exhausted);
    assert_eq!(
        e(&mut c, &["XADD", "m", "18446744073709551615-*", "f", "v"]),
        exhausted
    );
    assert_eq!(ids(&v(&mut c, &["XRANGE", "m", max, "+"])), vec![max]);
    assert_eq!(
        ids(&v(&mut c, &["XREVRANGE", "m", "+", "-", "COUNT", "1"])),
        vec![max]
    );
    assert_eq!(
        e(&mut c, &["XRANGE", "m", &format!("({max}"), "+"]),
        "ERR invalid start ID for the interval"
    );
    assert_eq!(
        e(&mut c, &["XRANGE", "m", "-", "(0-0"]),
        "ERR invalid end ID for the interval"
    );
    // `ms-*` at seq u64::MAX cannot advance.
    xadd(&mut c, "n", "5-18446744073709551615");
    assert_eq!(e(&mut c, &["XADD", "n", "5-*", "f", "v"]), SMALLER);
    assert_eq!(xadd(&mut c, "n", "*").split_once('-').unwrap().1, "0");
    assert_eq!(
        ids(&v(&mut c, &["XREAD", "STREAMS", "m", max])),
        Vec::<String>::new()
    );
}

#[test]
fn xrange_and_xrevrange() {
    let s = server(&[]);
    let mut c = conn(&s);
    for i in 1..=10 {
        xadd(&mut c, "s", &format!("{i}-0"));
    }
    let all =
        |r: std::ops::RangeInclusive<i32>| -> Vec<String> { r.map(|i| format!("{i}-0")).collect() };
    assert_eq!(ids(&v(&mut c, &["XRANGE", "s", "-", "+"])), all(1..=10));
    assert_eq!(ids(&v(&mut c, &["XRANGE", "s", "3", "5"])), all(3..=5));
    // `(5` is below 5-18446744073709551615, so 5-0 is in (as in Redis).
    assert_eq!(ids(&v(&mut c, &["XRANGE", "s", "(3", "(5"])), all(4..=5));
    assert_eq!(
        ids(&v(&mut c, &["XRANGE", "s", "(3-0", "(5-0"])),
        all(4..=4)
    );
    assert_eq!(
        ids(&v(&mut c, &["XRANGE", "s", "-", "+", "COUNT", "2"])),
        all(1..=2)
    );
    let mut rev = all(8..=10);
    rev.reverse();
    assert_eq!(
        ids(&v(&mut c, &["XREVRANGE", "s", "+", "-", "COUNT", "3"])),
        rev
    );
    assert_eq!(
        ids(&v(&mut c, &["XREVRANGE", "s", "(3-0", "-"])),
        vec!["2-0", "1-0"]
    );
    // COUNT 0 and negative: a null array; a missing key: an empty one.
    assert_eq!(
        v(&mut c, &["XRANGE", "s", "-", "+", "COUNT", "0"]),
        Value::Nil
    );
    assert_eq!(
        v(&mut c, &["XRANGE", "s", "-", "+", "COUNT", "-1"]),
        Value::Nil
    );
    assert_eq!(
        v(&mut c, &["XRANGE", "nokey", "-", "+"]),
        Value::Array(vec![])
    );
    assert_eq!(v(&mut c, &["XRANGE", "s", "+", "-"]), Value::Array(vec![]));
    assert_eq!(e(&mut c, &["XRANGE", "s", "(-", "+"]), INVALID);
    assert_eq!(
        e(&mut c, &["XRANGE", "s", "1", "2", "foo"]),
        "ERR syntax error"
    );
    assert_eq!(
        e(&mut c, &["XRANGE", "s", "1", "2", "COUNT", "x"]),
        "ERR value is not an integer or out of range"
    );
    // A huge COUNT allocates nothing up front.
    assert_eq!(
        ids(&v(
            &mut c,
            &["XRANGE", "s", "-", "+", "COUNT", "9223372036854775807"]
        ))
        .len(),
        10
    );
    // Fields come back in order, different field sets included.
    let _: String = q(&mut c, &["XADD", "f", "1", "a", "1", "b", "2"]);
    let _: String = q(&mut c, &["XADD", "f", "2", "a", "3", "b", "4"]);
    let _: String = q(&mut c, &["XADD", "f", "3", "other", ""]);
    let r: Vec<(String, Vec<String>)> = q(&mut c, &["XRANGE", "f", "-", "+"]);
    assert_eq!(
        r,
        vec![
            (
                "1-0".into(),
                vec!["a".into(), "1".into(), "b".into(), "2".into()]
            ),
            (
                "2-0".into(),
                vec!["a".into(), "3".into(), "b".into(), "4".into()]
            ),
            ("3-0".into(), vec!["other".into(), "".into()]),
        ]
    );
}

#[test]
fn xdel_xtrim_and_trimming_xadd() {
    let s = server(&["--stream-node-max-entries", "10"]);
    let mut c = conn(&s);
    for i in 1..=100 {
        xadd(&mut c, "s", &format!("{i}"));
    }
    assert_eq!(e(&mut c, &["XDEL", "s", "1", "x"]), INVALID);
    assert_eq!(q::<i64>(&mut c, &["XLEN", "s"]), 100, "nothing deleted");
    assert_eq!(q::<i64>(&mut c, &["XDEL", "s", "1", "1", "2", "999"]), 2);
    assert_eq!(q::<i64>(&mut c, &["XDEL", "nokey", "1"]), 0);
    // `~` removes whole nodes only; `=` exactly.
    assert_eq!(q::<i64>(&mut c, &["XTRIM", "s", "MAXLEN", "~", "85"]), 8);
    assert_eq!(q::<i64>(&mut c, &["XLEN", "s"]), 90);
    assert_eq!(q::<i64>(&mut c, &["XTRIM", "s", "MAXLEN", "85"]), 5);
    assert_eq!(q::<i64>(&mut c, &["XTRIM", "s", "MINID", "=", "50"]), 34);
    assert_eq!(
        ids(&v(&mut c, &["XRANGE", "s", "-", "+", "COUNT", "1"])),
        vec!["50-0"]
    );
    // LIMIT caps the work: the first node holds one entry, the next ten.
    assert_eq!(
        q::<i64>(&mut c, &["XTRIM", "s", "MAXLEN", "~", "0", "LIMIT", "5"]),
        1
    );
    assert_eq!(
        q::<i64>(&mut c, &["XTRIM", "s", "MAXLEN", "~", "0", "LIMIT", "5"]),
        0
    );
    assert_eq!(q::<i64>(&mut c, &["XTRIM", "nokey", "MAXLEN", "0"]), 0);
    assert_eq!(e(&mut c, &["XTRIM", "s", "FOO", "1"]), "ERR syntax error");
    assert_eq!(
        e(&mut c, &["XTRIM", "s", "MAXLEN", "1", "LIMIT", "1"]),
        "ERR syntax error, LIMIT cannot be used without the special ~ option"
    );
    // XADD with MAXLEN 0 keeps nothing, not even the new entry.
    let id = xadd(&mut c, "s", "*");
    let id2: String = q(&mut c, &["XADD", "s", "MAXLEN", "0", "*", "f", "v"]);
    assert!(id2 > id);
    assert_eq!(q::<i64>(&mut c, &["XLEN", "s"]), 0);
    let info: Vec<Value> = q(&mut c, &["XINFO", "STREAM", "s"]);
    assert_eq!(info[1], Value::Int(0));
    assert_eq!(
        info[13],
        Value::BulkString(b"0-0".to_vec()),
        "recorded-first-entry-id"
    );
}

#[test]
fn node_limits_are_real() {
    let s = server(&[]);
    let mut c = conn(&s);
    ok(&mut c, &["CONFIG", "SET", "stream-node-max-entries", "5"]);
    for i in 1..=23 {
        xadd(&mut c, "s", &format!("{i}"));
    }
    let info: Vec<Value> = q(&mut c, &["XINFO", "STREAM", "s"]);
    assert_eq!(info[3], Value::Int(5), "radix-tree-keys");
    ok(&mut c, &["CONFIG", "SET", "stream-node-max-entries", "0"]);
    ok(&mut c, &["CONFIG", "SET", "stream-node-max-bytes", "100"]);
    let big = "x".repeat(40);
    for i in 1..=10 {
        let _: String = q(&mut c, &["XADD", "b", &i.to_string(), "f", &big]);
    }
    // 40-byte values fill a 100-byte node alone (as in Redis); 4096 bytes hold them all.
    let info: Vec<Value> = q(&mut c, &["XINFO", "STREAM", "b"]);
    assert_eq!(info[3], Value::Int(10));
    ok(&mut c, &["CONFIG", "SET", "stream-node-max-bytes", "4096"]);
    for i in 1..=10 {
        let _: String = q(&mut c, &["XADD", "b2", &i.to_string(), "f", &big]);
    }
    let info: Vec<Value> = q(&mut c, &["XINFO", "STREAM", "b2"]);
    assert_eq!(info[3], Value::Int(1));
    ok(&mut c, &["CONFIG", "SET", "stream-node-max-bytes", "100"]);
    assert_eq!(
        q::<Vec<String>>(&mut c, &["CONFIG", "GET", "stream-node-max-bytes"]),
        vec!["stream-node-max-bytes", "100"]
    );
}

#[test]
fn xread_many_streams_and_blocking() {
    let s = server(&[]);
    let mut c = conn(&s);
    xadd(&mut c, "a", "1");
    xadd(&mut c, "a", "2");
    xadd(&mut c, "b", "5");
    let r = v(
        &mut c,
        &[
            "XREAD", "COUNT", "1", "STREAMS", "a", "b", "nokey", "0", "0", "0",
        ],
    );
    let Value::Array(streams) = r else { panic!() };
    assert_eq!(streams.len(), 2);
    assert_eq!(v(&mut c, &["XREAD", "STREAMS", "a", "$"]), Value::Nil);
    assert_eq!(
        e(&mut c, &["XREAD", "COUNT", "1", "STREAMS", "a", "b", "0"]),
        "ERR Unbalanced XREAD list of streams: for each stream key an ID or '$' must be specified."
    );
    assert_eq!(
        e(&mut c, &["XREAD", "STREAMS", "a", ">"]),
        "ERR The > ID can be specified only when calling XREADGROUP using the GROUP <group> <consumer> option."
    );
    assert_eq!(
        e(&mut c, &["XREAD", "BLOCK", "-1", "STREAMS", "a", "0"]),
        "ERR timeout is negative"
    );
    assert_eq!(
        e(&mut c, &["XREAD", "FOO", "STREAMS", "a", "0"]),
        "ERR syntax error"
    );
    // BLOCK with a timeout: nil.
    assert_eq!(
        v(&mut c, &["XREAD", "BLOCK", "50", "STREAMS", "a", "$"]),
        Value::Nil
    );
    // Woken by XADD on any of its streams; `$` means what it meant when the client blocked.
    let url = s.url();
    let h1 = spawn_cmd(
        url.clone(),
        vec!["XREAD", "BLOCK", "0", "STREAMS", "a", "b", "$", "$"],
    );
    let h2 = spawn_cmd(url, vec!["XREAD", "BLOCK", "5000", "STREAMS", "b", "$"]);
    wait_blocked(&mut c, 2);
    assert_eq!(xadd(&mut c, "b", "9"), "9-0");
    for h in [h1, h2] {
        let r = h.join().unwrap().unwrap();
        let Value::Array(streams) = r else {
            panic!("{r:?}")
        };
        assert_eq!(streams.len(), 1);
        let Value::Array(pair) = &streams[0] else {
            panic!()
        };
        assert_eq!(pair[0], Value::BulkString(b"b".to_vec()));
        assert_eq!(ids(&pair[1]), vec!["9-0"]);
    }
    // Inside MULTI a blocking read answers at once.
    let r: Value = redis::pipe()
        .atomic()
        .cmd("XREAD")
        .arg("BLOCK")
        .arg("0")
        .arg("STREAMS")
        .arg("a")
        .arg("$")
        .query(&mut c)
        .unwrap();
    assert_eq!(r, Value::Array(vec![Value::Nil]));
}

#[test]
fn consumer_groups_deliver_ack_and_claim() {
    let s = server(&[]);
    let mut c = conn(&s);
    for i in 1..=5 {
        xadd(&mut c, "s", &format!("{i}"));
    }
    ok(&mut c, &["XGROUP", "CREATE", "s", "g", "0"]);
    assert_eq!(
        e(&mut c, &["XGROUP", "CREATE", "s", "g", "0"]),
        "BUSYGROUP Consumer Group name already exists"
    );
    assert_eq!(
        e(&mut c, &["XGROUP", "CREATE", "nokey", "g", "0"]),
        "ERR The XGROUP subcommand requires the key to exist. Note that for CREATE you may want to use the MKSTREAM option to create an empty stream automatically."
    );
    ok(&mut c, &["XGROUP", "CREATE", "new", "g", "$", "MKSTREAM"]);
    assert_eq!(q::<String>(&mut c, &["TYPE", "new"]), "stream");
    assert_eq!(
        e(
            &mut c,
            &["XREADGROUP", "GROUP", "nog", "c", "STREAMS", "s", ">"]
        ),
        "NOGROUP No such key 's' or consumer group 'nog' in XREADGROUP with GROUP option"
    );
    let r = v(
        &mut c,
        &[
            "XREADGROUP",
            "GROUP",
            "g",
            "alice",
            "COUNT",
            "2",
            "STREAMS",
            "s",
            ">",
        ],
    );
    let Value::Array(streams) = r else { panic!() };
    let Value::Array(pair) = &streams[0] else {
        panic!()
    };
    assert_eq!(ids(&pair[1]), vec!["1-0", "2-0"]);
    let _: Value = q(
        &mut c,
        &[
            "XREADGROUP",
            "GROUP",
            "g",
            "bob",
            "COUNT",
            "1",
            "STREAMS",
            "s",
            ">",
        ],
    );
    // Summary form: count, first, last, consumers with pending entries.
    let summary: (i64, String, String, Vec<(String, String)>) = q(&mut c, &["XPENDING", "s", "g"]);
    assert_eq!(summary.0, 3);
    assert_eq!((summary.1.as_str(), summary.2.as_str()), ("1-0", "3-0"));
    assert_eq!(
        summary.3,
        vec![("alice".into(), "2".into()), ("bob".into(), "1".into())]
    );
    let ext: Vec<(String, String, i64, i64)> =
        q(&mut c, &["XPENDING", "s", "g", "-", "+", "10", "alice"]);
    assert_eq!(ext.len(), 2);
    assert_eq!(ext[0].3, 1);
    assert_eq!(
        e(&mut c, &["XPENDING", "s", "g", "-", "+"]),
        "ERR syntax error"
    );
    assert_eq!(
        e(&mut c, &["XPENDING", "s", "nog"]),
        "NOGROUP No such key 's' or consumer group 'nog'"
    );
    // History: the consumer's own pending entries, again (delivery count +1).
    let _: Value = q(
        &mut c,
        &["XREADGROUP", "GROUP", "g", "alice", "STREAMS", "s", "0"],
    );
    let ext: Vec<(String, String, i64, i64)> =
        q(&mut c, &["XPENDING", "s", "g", "-", "+", "10", "alice"]);
    assert_eq!(ext[0].3, 2);
    assert_eq!(q::<i64>(&mut c, &["XACK", "s", "g", "1", "1", "9"]), 1);
    assert_eq!(e(&mut c, &["XACK", "s", "g", "x"]), INVALID);
    assert_eq!(q::<i64>(&mut c, &["XACK", "s", "nog", "1"]), 0);
    // XCLAIM moves 2-0 to carol; JUSTID leaves the count alone.
    let claimed: Vec<String> = q(&mut c, &["XCLAIM", "s", "g", "carol", "0", "2", "JUSTID"]);
    assert_eq!(claimed, vec!["2-0"]);
    let ext: Vec<(String, String, i64, i64)> = q(&mut c, &["XPENDING", "s", "g", "2", "2", "1"]);
    assert_eq!((ext[0].1.as_str(), ext[0].3), ("carol", 2));
    assert_eq!(
        e(&mut c, &["XCLAIM", "s", "g", "c", "x", "1"]),
        "ERR Invalid min-idle-time argument for XCLAIM"
    );
    assert_eq!(
        e(&mut c, &["XCLAIM", "s", "g", "c", "0", "1", "FOO"]),
        "ERR Unrecognized XCLAIM option 'FOO'"
    );
    // A min idle time not reached: nothing claimed.
    let none: Vec<String> = q(
        &mut c,
        &["XCLAIM", "s", "g", "dan", "100000", "3", "JUSTID"],
    );
    assert!(none.is_empty());
    // FORCE makes a NACK for an entry nobody was given.
    let forced: Vec<String> = q(
        &mut c,
        &["XCLAIM", "s", "g", "dan", "0", "5", "FORCE", "JUSTID"],
    );
    assert_eq!(forced, vec!["5-0"]);
    // A deleted entry leaves the PEL when claimed.
    assert_eq!(q::<i64>(&mut c, &["XDEL", "s", "3"]), 1);
    let r = v(
        &mut c,
        &["XAUTOCLAIM", "s", "g", "erin", "0", "0", "COUNT", "10"],
    );
    let Value::Array(parts) = r else { panic!() };
    assert_eq!(parts[0], Value::BulkString(b"0-0".to_vec()));
    assert_eq!(ids(&parts[1]), vec!["2-0", "5-0"]);
    assert_eq!(ids(&parts[2]), vec!["3-0"]);
    assert_eq!(
        e(
            &mut c,
            &["XAUTOCLAIM", "s", "g", "erin", "0", "0", "COUNT", "0"]
        ),
        "ERR COUNT must be > 0"
    );
    // XAUTOCLAIM as an iterator: COUNT 1 returns the next cursor.
    let r = v(
        &mut c,
        &[
            "XAUTOCLAIM",
            "s",
            "g",
            "fay",
            "0",
            "0",
            "COUNT",
            "1",
            "JUSTID",
        ],
    );
    let Value::Array(parts) = r else { panic!() };
    assert_eq!(parts[0], Value::BulkString(b"5-0".to_vec()));
    // Consumers: created on demand, deleted with their pending entries.
    assert_eq!(
        q::<i64>(&mut c, &["XGROUP", "CREATECONSUMER", "s", "g", "zed"]),
        1
    );
    assert_eq!(
        q::<i64>(&mut c, &["XGROUP", "CREATECONSUMER", "s", "g", "zed"]),
        0
    );
    assert_eq!(
        q::<i64>(&mut c, &["XGROUP", "DELCONSUMER", "s", "g", "fay"]),
        1
    );
    assert_eq!(
        e(&mut c, &["XGROUP", "DELCONSUMER", "s", "nog", "fay"]),
        "NOGROUP No such consumer group 'nog' for key name 's'"
    );
    ok(&mut c, &["XGROUP", "SETID", "s", "g", "$"]);
    assert_eq!(q::<i64>(&mut c, &["XGROUP", "DESTROY", "s", "g"]), 1);
    assert_eq!(q::<i64>(&mut c, &["XGROUP", "DESTROY", "s", "g"]), 0);
}

#[test]
fn lag_and_entries_read_as_redis() {
    let s = server(&[]);
    let mut c = conn(&s);
    for i in 1..=5 {
        xadd(&mut c, "x", &format!("{i}"));
    }
    ok(&mut c, &["XGROUP", "CREATE", "x", "g1", "0"]);
    let groups = |c: &mut redis::Connection| -> Vec<Value> {
        let v: Vec<Vec<Value>> = q(c, &["XINFO", "GROUPS", "x"]);
        v.into_iter().next().unwrap()
    };
    assert_eq!(groups(&mut c)[9], Value::Nil, "entries-read unknown");
    assert_eq!(groups(&mut c)[11], Value::Int(5), "lag");
    let _: Value = q(
        &mut c,
        &[
            "XREADGROUP",
            "GROUP",
            "g1",
            "c",
            "COUNT",
            "1",
            "STREAMS",
            "x",
            ">",
        ],
    );
    assert_eq!(groups(&mut c)[9], Value::Int(1));
    assert_eq!(groups(&mut c)[11], Value::Int(4));
    // A tombstone ahead of the group: the lag is unknown until the group passes it.
    q::<i64>(&mut c, &["XDEL", "x", "3"]);
    assert_eq!(groups(&mut c)[11], Value::Nil);
    let _: Value = q(
        &mut c,
        &["XREADGROUP", "GROUP", "g1", "c", "STREAMS", "x", ">"],
    );
    assert_eq!(groups(&mut c)[9], Value::Int(5));
    assert_eq!(groups(&mut c)[11], Value::Int(0));
    ok(
        &mut c,
        &["XGROUP", "SETID", "x", "g1", "0", "ENTRIESREAD", "0"],
    );
    assert_eq!(groups(&mut c)[9], Value::Int(0));
    assert_eq!(
        e(
            &mut c,
            &["XGROUP", "SETID", "x", "g1", "0", "ENTRIESREAD", "-5"]
        ),
        "ERR value for ENTRIESREAD must be positive or -1"
    );
}

#[test]
fn xsetid_checks_and_sets() {
    let s = server(&[]);
    let mut c = conn(&s);
    xadd(&mut c, "s", "5");
    assert_eq!(
        e(&mut c, &["XSETID", "s", "1"]),
        "ERR The ID specified in XSETID is smaller than the target stream top item"
    );
    assert_eq!(e(&mut c, &["XSETID", "nokey", "1"]), "ERR no such key");
    assert_eq!(
        e(&mut c, &["XSETID", "s", "9", "ENTRIESADDED", "0"]),
        "ERR The entries_added specified in XSETID is smaller than the target stream length"
    );
    assert_eq!(
        e(&mut c, &["XSETID", "s", "9", "MAXDELETEDID", "10"]),
        "ERR The ID specified in XSETID is smaller than the provided max_deleted_entry_id"
    );
    ok(
        &mut c,
        &["XSETID", "s", "9", "ENTRIESADDED", "7", "MAXDELETEDID", "8"],
    );
    let info: Vec<Value> = q(&mut c, &["XINFO", "STREAM", "s"]);
    assert_eq!(info[7], Value::BulkString(b"9-0".to_vec()));
    assert_eq!(info[9], Value::BulkString(b"8-0".to_vec()));
    assert_eq!(info[11], Value::Int(7));
    assert_eq!(e(&mut c, &["XADD", "s", "9", "f", "v"]), SMALLER);
}

#[test]
fn blocked_xreadgroup_learns_its_group_is_gone() {
    let s = server(&[]);
    let mut c = conn(&s);
    for (i, how) in ["DEL", "DESTROY", "SET", "FLUSHALL"].iter().enumerate() {
        let key = format!("k{i}");
        ok(&mut c, &["XGROUP", "CREATE", &key, "g", "$", "MKSTREAM"]);
        let h = spawn_cmd(
            s.url(),
            vec![
                "XREADGROUP",
                "GROUP",
                "g",
                "c",
                "BLOCK",
                "0",
                "STREAMS",
                Box::leak(key.clone().into_boxed_str()),
                ">",
            ],
        );
        wait_blocked(&mut c, 1);
        match *how {
            "DEL" => drop(q::<i64>(&mut c, &["DEL", &key])),
            "DESTROY" => drop(q::<i64>(&mut c, &["XGROUP", "DESTROY", &key, "g"])),
            "SET" => ok(&mut c, &["SET", &key, "x"]),
            _ => ok(&mut c, &["FLUSHALL"]),
        }
        let r = h.join().unwrap();
        assert_eq!(
            r.unwrap_err(),
            "NOGROUP the consumer group this client was blocked on no longer exists",
            "{how}"
        );
    }
    // Woken with data by XADD; `>` delivers it and records it pending.
    ok(&mut c, &["XGROUP", "CREATE", "w", "g", "$", "MKSTREAM"]);
    let h = spawn_cmd(
        s.url(),
        vec![
            "XREADGROUP",
            "GROUP",
            "g",
            "c",
            "BLOCK",
            "0",
            "STREAMS",
            "w",
            ">",
        ],
    );
    wait_blocked(&mut c, 1);
    xadd(&mut c, "w", "7");
    let r = h.join().unwrap().unwrap();
    let Value::Array(streams) = r else { panic!() };
    let Value::Array(pair) = &streams[0] else {
        panic!()
    };
    assert_eq!(ids(&pair[1]), vec!["7-0"]);
    let summary: (i64, String, String, Vec<(String, String)>) = q(&mut c, &["XPENDING", "w", "g"]);
    assert_eq!(summary.0, 1);
}

#[test]
fn dump_restore_and_copy_keep_groups() {
    let s = server(&[]);
    let mut c = conn(&s);
    for i in 1..=3 {
        xadd(&mut c, "s", &format!("{i}"));
    }
    ok(&mut c, &["XGROUP", "CREATE", "s", "g", "0"]);
    let _: Value = q(
        &mut c,
        &[
            "XREADGROUP",
            "GROUP",
            "g",
            "c",
            "COUNT",
            "2",
            "STREAMS",
            "s",
            ">",
        ],
    );
    q::<i64>(&mut c, &["XDEL", "s", "3"]);
    let payload: Vec<u8> = redis::cmd("DUMP").arg("s").query(&mut c).unwrap();
    let _: () = redis::cmd("RESTORE")
        .arg("t")
        .arg(0)
        .arg(&payload)
        .query(&mut c)
        .unwrap();
    let _: i64 = q(&mut c, &["COPY", "s", "u"]);
    for k in ["s", "t", "u"] {
        assert_eq!(
            ids(&v(&mut c, &["XRANGE", k, "-", "+"])),
            vec!["1-0", "2-0"],
            "{k}"
        );
        let info: Vec<Value> = q(&mut c, &["XINFO", "STREAM", k]);
        assert_eq!(
            info[9],
            Value::BulkString(b"3-0".to_vec()),
            "{k} max-deleted-entry-id"
        );
        let summary: (i64, String, String, Vec<(String, String)>) =
            q(&mut c, &["XPENDING", k, "g"]);
        assert_eq!(summary.0, 2, "{k}");
    }
    let mut bad = payload.clone();
    bad[3] ^= 1;
    let err = redis::cmd("RESTORE")
        .arg("v")
        .arg(0)
        .arg(&bad)
        .query::<()>(&mut c)
        .unwrap_err();
    assert!(err.to_string().contains("checksum"), "{err}");
}

#[test]
fn keyspace_events_for_streams() {
    let s = server(&[]);
    let mut c = conn(&s);
    ok(&mut c, &["CONFIG", "SET", "notify-keyspace-events", "KEA"]);
    let mut sub = conn(&s);
    let mut ps = sub.as_pubsub();
    ps.psubscribe("__keyevent@0__:*").unwrap();
    ps.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let _: String = q(&mut c, &["XADD", "s", "MAXLEN", "1", "*", "f", "v"]);
    let _: String = q(&mut c, &["XADD", "s", "MAXLEN", "1", "*", "f", "v"]);
    ok(&mut c, &["XGROUP", "CREATE", "s", "g", "$"]);
    let _: i64 = q(&mut c, &["XGROUP", "CREATECONSUMER", "s", "g", "c"]);
    let _: i64 = q(&mut c, &["XGROUP", "DELCONSUMER", "s", "g", "c"]);
    ok(&mut c, &["XGROUP", "SETID", "s", "g", "0"]);
    let _: i64 = q(&mut c, &["XGROUP", "DESTROY", "s", "g"]);
    // `A` leaves out `n`: no `new` event.
    let want = [
        "xadd",
        "xadd",
        "xtrim",
        "xgroup-create",
        "xgroup-createconsumer",
        "xgroup-delconsumer",
        "xgroup-setid",
        "xgroup-destroy",
    ];
    for w in want {
        let m = ps.get_message().unwrap();
        assert_eq!(m.get_channel_name(), format!("__keyevent@0__:{w}"));
    }
}

#[test]
fn xinfo_replies() {
    let s = server(&[]);
    let mut c = conn(&s);
    assert_eq!(e(&mut c, &["XINFO", "STREAM", "nokey"]), "ERR no such key");
    assert_eq!(
        e(&mut c, &["XINFO", "STREAM"]),
        "ERR wrong number of arguments for 'xinfo|stream' command"
    );
    assert_eq!(
        e(&mut c, &["XINFO", "FOO", "x"]),
        "ERR unknown subcommand 'FOO'. Try XINFO HELP."
    );
    xadd(&mut c, "s", "1");
    ok(&mut c, &["XGROUP", "CREATE", "s", "g", "0"]);
    let _: Value = q(
        &mut c,
        &["XREADGROUP", "GROUP", "g", "c", "STREAMS", "s", ">"],
    );
    assert_eq!(
        e(&mut c, &["XINFO", "CONSUMERS", "s", "nog"]),
        "NOGROUP No such consumer group 'nog' for key name 's'"
    );
    let cons: Vec<Vec<Value>> = q(&mut c, &["XINFO", "CONSUMERS", "s", "g"]);
    assert_eq!(cons[0][1], Value::BulkString(b"c".to_vec()));
    assert_eq!(cons[0][3], Value::Int(1));
    let full: Vec<Value> = q(&mut c, &["XINFO", "STREAM", "s", "FULL", "COUNT", "0"]);
    assert_eq!(full.len(), 18);
    assert_eq!(full[14], Value::BulkString(b"entries".to_vec()));
    // The key is looked up before FULL's options are checked; a negative COUNT is the
    // default 10 (as in Redis 7.0 and 7.2).
    assert_eq!(
        e(&mut c, &["XINFO", "STREAM", "nokey", "FULL", "BOGUS"]),
        "ERR no such key"
    );
    assert_eq!(
        e(&mut c, &["XINFO", "STREAM", "nokey", "FULL", "COUNT", "x"]),
        "ERR no such key"
    );
    for i in 2..=12 {
        xadd(&mut c, "s", &i.to_string());
    }
    for (count, n) in [("-1", 10), ("0", 12), ("3", 3)] {
        let full: Vec<Value> = q(&mut c, &["XINFO", "STREAM", "s", "FULL", "COUNT", count]);
        assert_eq!(ids(&full[15]).len(), n, "COUNT {count}");
    }
    let mut r3 = resp3(&s);
    let m = v(&mut r3, &["XINFO", "STREAM", "s"]);
    assert!(matches!(m, Value::Map(ref kv) if kv.len() == 10), "{m:?}");
    let m = v(&mut r3, &["XREAD", "STREAMS", "s", "0"]);
    assert!(matches!(m, Value::Map(ref kv) if kv.len() == 1), "{m:?}");
}

#[test]
fn replica_gets_the_same_pel() {
    let p = server(&[]);
    let mut pc = conn(&p);
    let port = p.port().to_string();
    let r = server(&["--replicaof", "127.0.0.1", &port]);
    let mut rc = conn(&r);
    assert!(wait_until(Duration::from_secs(10), || {
        info_field(&mut rc, "replication", "master_link_status") == "up"
    }));
    let id: String = q(&mut pc, &["XADD", "s", "*", "f", "v"]);
    for i in 1..=20 {
        xadd(
            &mut pc,
            "s",
            &format!("{}-{i}", id.split_once('-').unwrap().0),
        );
    }
    let _: String = q(&mut pc, &["XADD", "s", "MAXLEN", "~", "5", "*", "f", "v"]);
    ok(&mut pc, &["XGROUP", "CREATE", "s", "g", "0"]);
    let _: Value = q(
        &mut pc,
        &[
            "XREADGROUP",
            "GROUP",
            "g",
            "a",
            "COUNT",
            "3",
            "STREAMS",
            "s",
            ">",
        ],
    );
    let _: Value = q(
        &mut pc,
        &[
            "XREADGROUP",
            "GROUP",
            "g",
            "b",
            "NOACK",
            "COUNT",
            "2",
            "STREAMS",
            "s",
            ">",
        ],
    );
    let _: Value = q(
        &mut pc,
        &["XAUTOCLAIM", "s", "g", "c", "0", "0", "COUNT", "1"],
    );
    let last: String = q(&mut pc, &["XADD", "s", "*", "f", "v"]);
    // Entries, groups (last id, entries read, lag) and the PEL (owner, deliveries) agree.
    let view = |c: &mut redis::Connection| {
        let entries = ids(&v(c, &["XRANGE", "s", "-", "+"]));
        let groups: Value = q(c, &["XINFO", "GROUPS", "s"]);
        let pel: Vec<(String, String, i64, i64)> = q(c, &["XPENDING", "s", "g", "-", "+", "100"]);
        let pel: Vec<(String, String, i64)> =
            pel.into_iter().map(|(i, c, _, n)| (i, c, n)).collect();
        (entries, groups, pel)
    };
    let want = view(&mut pc);
    assert_eq!(want.2.len(), 3);
    let mut ok_sync = false;
    for _ in 0..100 {
        if view(&mut rc) == want {
            ok_sync = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(
        ok_sync,
        "the replica's stream, groups and PEL differ from the primary's"
    );
    assert_eq!(
        ids(&v(&mut rc, &["XREVRANGE", "s", "+", "-", "COUNT", "1"])),
        vec![last]
    );
}

#[test]
fn scripts_read_streams_but_never_block() {
    let s = server(&[]);
    let mut c = conn(&s);
    xadd(&mut c, "s", "1");
    let r: Value = q(
        &mut c,
        &[
            "EVAL",
            "return redis.call('XREAD', 'STREAMS', KEYS[1], '0')",
            "1",
            "s",
        ],
    );
    assert!(matches!(r, Value::Array(ref a) if a.len() == 1), "{r:?}");
    let err = e(
        &mut c,
        &[
            "EVAL",
            "return redis.pcall('xread', 'BLOCK', 0, 'STREAMS', KEYS[1], '$')",
            "1",
            "s",
        ],
    );
    assert!(
        err.contains("xread command is not allowed with BLOCK option from scripts"),
        "{err}"
    );
}

#[test]
fn one_entry_serves_one_of_two_blocked_group_readers() {
    let s = server(&[]);
    let mut c = conn(&s);
    ok(&mut c, &["XGROUP", "CREATE", "q", "g", "$", "MKSTREAM"]);
    let args = |who: &'static str| {
        vec![
            "XREADGROUP",
            "GROUP",
            "g",
            who,
            "BLOCK",
            "0",
            "STREAMS",
            "q",
            ">",
        ]
    };
    let h1 = spawn_cmd(s.url(), args("w1"));
    let h2 = spawn_cmd(s.url(), args("w2"));
    wait_blocked(&mut c, 2);
    xadd(&mut c, "q", "1");
    // One worker gets the entry, the other waits on for the next one.
    wait_blocked(&mut c, 1);
    xadd(&mut c, "q", "2");
    let mut got: Vec<String> = [h1, h2]
        .into_iter()
        .map(|h| {
            let Value::Array(streams) = h.join().unwrap().unwrap() else {
                panic!()
            };
            let Value::Array(pair) = &streams[0] else {
                panic!()
            };
            ids(&pair[1]).join(",")
        })
        .collect();
    got.sort();
    assert_eq!(got, vec!["1-0", "2-0"]);
}

/// The value after `label` in a flat RESP2 map.
fn field<'a>(kv: &'a [Value], label: &str) -> &'a Value {
    kv.chunks(2)
        .find(|p| p[0] == Value::BulkString(label.as_bytes().to_vec()))
        .map(|p| &p[1])
        .unwrap_or_else(|| panic!("no {label} in {kv:?}"))
}

fn int_of(v: &Value) -> i64 {
    match v {
        Value::Int(n) => *n,
        o => panic!("not an integer: {o:?}"),
    }
}

fn arr(v: &Value) -> &[Value] {
    match v {
        Value::Array(a) => a,
        o => panic!("not an array: {o:?}"),
    }
}

/// XINFO CONSUMERS: (name, pending, idle, inactive) each, checking the labels are Redis 7.2's.
fn consumers(c: &mut redis::Connection, key: &str, group: &str) -> Vec<(String, i64, i64, i64)> {
    let all = v(c, &["XINFO", "CONSUMERS", key, group]);
    arr(&all)
        .iter()
        .map(|one| {
            let kv = arr(one);
            let labels: Vec<&Value> = kv.iter().step_by(2).collect();
            let want: Vec<Value> = ["name", "pending", "idle", "inactive"]
                .iter()
                .map(|l| Value::BulkString(l.as_bytes().to_vec()))
                .collect();
            assert_eq!(labels, want.iter().collect::<Vec<_>>());
            let Value::BulkString(name) = &kv[1] else {
                panic!("no name in {kv:?}")
            };
            (
                String::from_utf8_lossy(name).into_owned(),
                int_of(&kv[3]),
                int_of(&kv[5]),
                int_of(&kv[7]),
            )
        })
        .collect()
}

/// XINFO STREAM FULL's consumers of `group`: name -> (seen-time, active-time), checking the
/// labels are Redis 7.2's.
fn full_times(
    c: &mut redis::Connection,
    key: &str,
    group: &str,
) -> std::collections::BTreeMap<String, (i64, i64)> {
    let full = v(c, &["XINFO", "STREAM", key, "FULL"]);
    let g = arr(field(arr(&full), "groups"))
        .iter()
        .find(|g| *field(arr(g), "name") == Value::BulkString(group.as_bytes().to_vec()))
        .unwrap_or_else(|| panic!("no group {group}"));
    arr(field(arr(g), "consumers"))
        .iter()
        .map(|one| {
            let kv = arr(one);
            let labels: Vec<Value> = kv.iter().step_by(2).cloned().collect();
            let want: Vec<Value> = ["name", "seen-time", "active-time", "pel-count", "pending"]
                .iter()
                .map(|l| Value::BulkString(l.as_bytes().to_vec()))
                .collect();
            assert_eq!(labels, want);
            let Value::BulkString(name) = field(kv, "name") else {
                panic!("no name in {kv:?}")
            };
            (
                String::from_utf8_lossy(name).into_owned(),
                (
                    int_of(field(kv, "seen-time")),
                    int_of(field(kv, "active-time")),
                ),
            )
        })
        .collect()
}

fn unix_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// Redis 7.2's consumer times: `seen-time`/`idle` follow every XREADGROUP, XCLAIM and
/// XAUTOCLAIM that names the consumer (and creates it if new, even when they find nothing);
/// `active-time`/`inactive` only those that put entries in its PEL, -1 before any.
#[test]
fn consumer_seen_and_active_times_as_redis_7_2() {
    let s = server(&[]);
    let mut c = conn(&s);
    xadd(&mut c, "s", "1");
    ok(&mut c, &["XGROUP", "CREATE", "s", "g", "$"]);
    let t0 = unix_ms();
    // A read that finds nothing creates the consumer: seen now, never active.
    let r = v(
        &mut c,
        &["XREADGROUP", "GROUP", "g", "alice", "STREAMS", "s", ">"],
    );
    assert_eq!(r, Value::Nil);
    let t = full_times(&mut c, "s", "g");
    let (seen, active) = t["alice"];
    assert!(seen >= t0 - 50 && seen <= unix_ms() + 50, "{seen} vs {t0}");
    assert_eq!(active, -1);
    let cs = consumers(&mut c, "s", "g");
    assert_eq!(cs.len(), 1);
    assert_eq!((cs[0].0.as_str(), cs[0].1, cs[0].3), ("alice", 0, -1));
    assert!((0..5000).contains(&cs[0].2), "{cs:?}");
    // A read that returns an entry: seen and active at once.
    xadd(&mut c, "s", "2");
    std::thread::sleep(Duration::from_millis(30));
    let r = v(
        &mut c,
        &["XREADGROUP", "GROUP", "g", "alice", "STREAMS", "s", ">"],
    );
    assert_eq!(ids(&arr(&arr(&r)[0])[1]), vec!["2-0"], "{r:?}");
    let (seen2, active2) = full_times(&mut c, "s", "g")["alice"];
    assert!(seen2 > seen, "{seen2} {seen}");
    assert_eq!(active2, seen2);
    // Then reads that find nothing new, and one of its own history: seen, not active.
    std::thread::sleep(Duration::from_millis(250));
    let r = v(
        &mut c,
        &["XREADGROUP", "GROUP", "g", "alice", "STREAMS", "s", ">"],
    );
    assert_eq!(r, Value::Nil);
    let (seen3, active3) = full_times(&mut c, "s", "g")["alice"];
    assert_eq!(active3, active2);
    assert!(seen3 - active3 >= 240, "{seen3} {active3}");
    let cs = consumers(&mut c, "s", "g");
    let (_, pending, idle, inactive) = cs[0].clone();
    assert_eq!(pending, 1);
    assert!(inactive - idle >= 240, "idle {idle} inactive {inactive}");
    std::thread::sleep(Duration::from_millis(20));
    let r = v(
        &mut c,
        &["XREADGROUP", "GROUP", "g", "alice", "STREAMS", "s", "0"],
    );
    assert_eq!(ids(&arr(&arr(&r)[0])[1]), vec!["2-0"]);
    let (seen4, active4) = full_times(&mut c, "s", "g")["alice"];
    assert!(seen4 > seen3, "{seen4} {seen3}");
    assert_eq!(active4, active2);
    // NOACK: the entries go to no PEL, the consumer is not active.
    xadd(&mut c, "s", "3");
    let r = v(
        &mut c,
        &[
            "XREADGROUP",
            "GROUP",
            "g",
            "bob",
            "NOACK",
            "STREAMS",
            "s",
            ">",
        ],
    );
    assert_eq!(ids(&arr(&arr(&r)[0])[1]), vec!["3-0"]);
    assert_eq!(full_times(&mut c, "s", "g")["bob"].1, -1);
    // XCLAIM of nothing claimable creates and sees the consumer; a claim makes it active.
    let r = v(&mut c, &["XCLAIM", "s", "g", "carol", "0", "9-0"]);
    assert_eq!(r, Value::Array(vec![]));
    let r = v(&mut c, &["XCLAIM", "s", "g", "carol", "3600000", "2-0"]);
    assert_eq!(r, Value::Array(vec![]));
    let (cseen, cactive) = full_times(&mut c, "s", "g")["carol"];
    assert_eq!(cactive, -1);
    assert!(cseen >= seen4);
    std::thread::sleep(Duration::from_millis(20));
    let r = v(&mut c, &["XCLAIM", "s", "g", "carol", "0", "2-0", "JUSTID"]);
    assert_eq!(ids(&r), vec!["2-0"]);
    let (cseen2, cactive2) = full_times(&mut c, "s", "g")["carol"];
    assert!(cseen2 > cseen);
    assert_eq!(cactive2, cseen2);
    // XAUTOCLAIM likewise.
    let r = v(
        &mut c,
        &["XAUTOCLAIM", "s", "g", "dave", "3600000", "0", "JUSTID"],
    );
    assert_eq!(ids(&arr(&r)[1].clone()), Vec::<String>::new());
    assert_eq!(full_times(&mut c, "s", "g")["dave"].1, -1);
    let r = v(
        &mut c,
        &["XAUTOCLAIM", "s", "g", "dave", "0", "0", "JUSTID"],
    );
    assert_eq!(ids(&arr(&r)[1].clone()), vec!["2-0"]);
    let (dseen, dactive) = full_times(&mut c, "s", "g")["dave"];
    assert_eq!(dactive, dseen);
    // XGROUP CREATECONSUMER: seen now, never active; XPENDING and XINFO touch nobody.
    let _: i64 = q(&mut c, &["XGROUP", "CREATECONSUMER", "s", "g", "erin"]);
    let before = full_times(&mut c, "s", "g");
    assert_eq!(before["erin"].1, -1);
    std::thread::sleep(Duration::from_millis(20));
    let _: Value = q(&mut c, &["XPENDING", "s", "g", "-", "+", "10", "dave"]);
    let _: Value = q(&mut c, &["XINFO", "CONSUMERS", "s", "g"]);
    assert_eq!(full_times(&mut c, "s", "g"), before);
    let names: Vec<String> = consumers(&mut c, "s", "g")
        .into_iter()
        .map(|x| x.0)
        .collect();
    assert_eq!(names, ["alice", "bob", "carol", "dave", "erin"]);
    let never: Vec<String> = consumers(&mut c, "s", "g")
        .into_iter()
        .filter(|x| x.3 == -1)
        .map(|x| x.0)
        .collect();
    assert_eq!(never, ["bob", "erin"]);
    // DUMP/RESTORE and COPY keep both times, -1 included.
    let payload: Vec<u8> = redis::cmd("DUMP").arg("s").query(&mut c).unwrap();
    let _: () = redis::cmd("RESTORE")
        .arg("t")
        .arg(0)
        .arg(&payload)
        .query(&mut c)
        .unwrap();
    let _: i64 = q(&mut c, &["COPY", "s", "u"]);
    assert_eq!(full_times(&mut c, "t", "g"), before);
    assert_eq!(full_times(&mut c, "u", "g"), before);
    // RESP3: a map of four per consumer.
    let mut r3 = resp3(&s);
    let m = v(&mut r3, &["XINFO", "CONSUMERS", "s", "g"]);
    let Value::Array(all) = m else {
        panic!("{m:?}")
    };
    assert!(
        matches!(&all[1], Value::Map(kv) if kv.len() == 4
            && kv[3].0 == Value::BulkString(b"inactive".to_vec())
            && kv[3].1 == Value::Int(-1)),
        "{all:?}"
    );
}

/// A blocked XREADGROUP has created its consumer (seen, never active) before any entry comes;
/// the entry that wakes it makes it active.
#[test]
fn blocked_group_reader_is_seen_then_active() {
    let s = server(&[]);
    let mut c = conn(&s);
    ok(&mut c, &["XGROUP", "CREATE", "s", "g", "$", "MKSTREAM"]);
    let url = s.url();
    let h = std::thread::spawn(move || {
        let mut b = redis::Client::open(url).unwrap().get_connection().unwrap();
        redis::cmd("XREADGROUP")
            .arg(&["GROUP", "g", "w", "BLOCK", "0", "STREAMS", "s", ">"])
            .query::<Value>(&mut b)
            .unwrap()
    });
    wait_blocked(&mut c, 1);
    let cs = consumers(&mut c, "s", "g");
    assert_eq!(cs.len(), 1);
    assert_eq!((cs[0].0.as_str(), cs[0].3), ("w", -1));
    let seen = full_times(&mut c, "s", "g")["w"].0;
    std::thread::sleep(Duration::from_millis(20));
    xadd(&mut c, "s", "5");
    let got = h.join().unwrap();
    assert_eq!(ids(&arr(&arr(&got)[0])[1]), vec!["5-0"]);
    let (seen2, active2) = full_times(&mut c, "s", "g")["w"];
    assert!(seen2 > seen, "{seen2} {seen}");
    assert_eq!(active2, seen2);
}
