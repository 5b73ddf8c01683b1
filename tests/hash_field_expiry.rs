//! Per-field hash expiry (Redis 7.4 / 8: HEXPIRE, HPEXPIRE, HEXPIREAT, HPEXPIREAT, HTTL, HPTTL,
//! HEXPIRETIME, HPEXPIRETIME, HPERSIST, HGETEX, HSETEX, HGETDEL) against the real binary:
//! replies and error texts as Redis 8's t_hash.c gives them, lazy expiry on every read, active
//! expiry, DUMP/RESTORE, SAVE and restart, replication, keyspace events.
mod common;
use common::*;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_millis() as i64
}

fn ints(c: &mut redis::Connection, args: &[&str]) -> Vec<i64> {
    q(c, args)
}

/// A hash `k` with fields a b c (values 1 2 3).
fn abc(c: &mut redis::Connection, k: &str) {
    let _: i64 = q(c, &["DEL", k]);
    let _: i64 = q(c, &["HSET", k, "a", "1", "b", "2", "c", "3"]);
}

#[test]
fn hexpire_family_replies_and_conditions() {
    let s = server(&[]);
    let mut c = conn(&s);
    abc(&mut c, "h");
    assert_eq!(
        ints(&mut c, &["HEXPIRE", "h", "100", "FIELDS", "2", "a", "nope"]),
        [1, -2]
    );
    assert_eq!(
        ints(&mut c, &["HTTL", "h", "FIELDS", "3", "a", "b", "nope"]),
        [100, -1, -2]
    );
    let pttl = ints(&mut c, &["HPTTL", "h", "FIELDS", "1", "a"])[0];
    assert!((99_000..=100_000).contains(&pttl), "{pttl}");
    // NX / XX / GT / LT, as EXPIRE's: no TTL counts as infinite.
    assert_eq!(
        ints(
            &mut c,
            &["HEXPIRE", "h", "200", "NX", "FIELDS", "2", "a", "b"]
        ),
        [0, 1]
    );
    assert_eq!(
        ints(
            &mut c,
            &["HEXPIRE", "h", "300", "XX", "FIELDS", "2", "a", "c"]
        ),
        [1, 0]
    );
    assert_eq!(
        ints(
            &mut c,
            &["HEXPIRE", "h", "50", "GT", "FIELDS", "2", "a", "c"]
        ),
        [0, 0]
    );
    assert_eq!(
        ints(&mut c, &["HEXPIRE", "h", "400", "gt", "FIELDS", "1", "a"]),
        [1]
    );
    assert_eq!(
        ints(
            &mut c,
            &["HEXPIRE", "h", "50", "LT", "FIELDS", "2", "a", "c"]
        ),
        [1, 1]
    );
    assert_eq!(
        ints(&mut c, &["HEXPIRE", "h", "60", "LT", "FIELDS", "1", "a"]),
        [0]
    );
    // Absolute forms and the *EXPIRETIME readers.
    let at = now_ms() / 1000 + 1000;
    assert_eq!(
        ints(
            &mut c,
            &["HEXPIREAT", "h", &at.to_string(), "FIELDS", "1", "a"]
        ),
        [1]
    );
    assert_eq!(
        ints(&mut c, &["HEXPIRETIME", "h", "FIELDS", "2", "a", "nope"]),
        [at, -2]
    );
    let pat = now_ms() + 500_000;
    assert_eq!(
        ints(
            &mut c,
            &["HPEXPIREAT", "h", &pat.to_string(), "FIELDS", "1", "b"]
        ),
        [1]
    );
    assert_eq!(
        ints(&mut c, &["HPEXPIRETIME", "h", "FIELDS", "1", "b"]),
        [pat]
    );
    let _: Vec<i64> = q(&mut c, &["HPEXPIRE", "h", "1500", "FIELDS", "1", "c"]);
    let t = ints(&mut c, &["HTTL", "h", "FIELDS", "1", "c"])[0];
    assert_eq!(t, 2, "seconds round up");
    // HPERSIST: 1 removed, -1 no TTL, -2 no field.
    let _: i64 = q(&mut c, &["HSET", "h", "d", "4"]);
    assert_eq!(
        ints(&mut c, &["HPERSIST", "h", "FIELDS", "3", "a", "d", "nope"]),
        [1, -1, -2]
    );
    assert_eq!(ints(&mut c, &["HTTL", "h", "FIELDS", "1", "a"]), [-1]);
    // A missing key: every field -2.
    assert_eq!(
        ints(
            &mut c,
            &["HEXPIRE", "missing", "10", "FIELDS", "2", "a", "b"]
        ),
        [-2, -2]
    );
    assert_eq!(ints(&mut c, &["HTTL", "missing", "FIELDS", "1", "a"]), [-2]);
    assert_eq!(
        ints(&mut c, &["HPERSIST", "missing", "FIELDS", "1", "a"]),
        [-2]
    );
    assert_eq!(q::<i64>(&mut c, &["EXISTS", "missing"]), 0);
    // HSET drops a field's TTL, HINCRBY keeps it.
    let _: Vec<i64> = q(&mut c, &["HEXPIRE", "h", "100", "FIELDS", "2", "a", "d"]);
    let _: i64 = q(&mut c, &["HSET", "h", "a", "9"]);
    let _: i64 = q(&mut c, &["HINCRBY", "h", "d", "1"]);
    assert_eq!(
        ints(&mut c, &["HTTL", "h", "FIELDS", "2", "a", "d"]),
        [-1, 100]
    );
    let _: String = q(&mut c, &["HINCRBYFLOAT", "h", "d", "1.5"]);
    assert_eq!(ints(&mut c, &["HTTL", "h", "FIELDS", "1", "d"]), [100]);
    assert_eq!(q::<String>(&mut c, &["HGET", "h", "d"]), "6.5");
    // HDEL drops the TTL with the field.
    let _: i64 = q(&mut c, &["HDEL", "h", "d"]);
    let _: i64 = q(&mut c, &["HSET", "h", "d", "x"]);
    assert_eq!(ints(&mut c, &["HTTL", "h", "FIELDS", "1", "d"]), [-1]);
}

#[test]
fn past_times_delete_fields_and_the_key() {
    let s = server(&[]);
    let mut c = conn(&s);
    abc(&mut c, "h");
    assert_eq!(
        ints(&mut c, &["HEXPIRE", "h", "0", "FIELDS", "2", "a", "nope"]),
        [2, -2]
    );
    assert_eq!(
        ints(&mut c, &["HPEXPIREAT", "h", "1", "FIELDS", "1", "b"]),
        [2]
    );
    assert_eq!(q::<i64>(&mut c, &["HLEN", "h"]), 1);
    assert_eq!(
        ints(&mut c, &["HEXPIREAT", "h", "0", "FIELDS", "1", "c"]),
        [2]
    );
    assert_eq!(
        q::<i64>(&mut c, &["EXISTS", "h"]),
        0,
        "the last field took the key"
    );
}

#[test]
fn errors_match_redis() {
    let s = server(&[]);
    let mut c = conn(&s);
    abc(&mut c, "h");
    let cases: &[(&[&str], &str)] = &[
        (
            &["HEXPIRE", "h", "10", "FIELDS", "0", "a"],
            "ERR Parameter `numFields` should be greater than 0",
        ),
        (
            &["HEXPIRE", "h", "10", "FIELDS", "x", "a"],
            "ERR Parameter `numFields` should be greater than 0",
        ),
        (
            &["HEXPIRE", "h", "10", "FIELDS", "2", "a"],
            "ERR The `numfields` parameter must match the number of arguments",
        ),
        (
            &["HEXPIRE", "h", "10", "FIELDS", "1", "a", "b"],
            "ERR The `numfields` parameter must match the number of arguments",
        ),
        (
            &["HEXPIRE", "h", "10", "XY", "1", "a"],
            "ERR Mandatory argument FIELDS is missing or not at the right position",
        ),
        (
            &["HEXPIRE", "h", "10", "NX", "XX", "FIELDS", "1", "a"],
            "ERR Mandatory argument FIELDS is missing or not at the right position",
        ),
        (
            &["HEXPIRE", "h", "abc", "FIELDS", "1", "a"],
            "ERR value is not an integer or out of range",
        ),
        (
            &["HEXPIRE", "h", "-1", "FIELDS", "1", "a"],
            "ERR invalid expire time, must be >= 0",
        ),
        (
            &["HEXPIRE", "h", "70368744177664", "FIELDS", "1", "a"],
            "ERR invalid expire time in 'hexpire' command",
        ),
        (
            &["HPEXPIRE", "h", "70368744177663", "FIELDS", "1", "a"],
            "ERR invalid expire time in 'hpexpire' command",
        ),
        (
            &["HPEXPIREAT", "h", "70368744177664", "FIELDS", "1", "a"],
            "ERR invalid expire time in 'hpexpireat' command",
        ),
        (
            &["HTTL", "h", "FIELDS", "0", "a"],
            "ERR Number of fields must be a positive integer",
        ),
        (
            &["HTTL", "h", "FIELDS", "3", "a"],
            "ERR The `numfields` parameter must match the number of arguments",
        ),
        (
            &["HTTL", "h", "FOO", "1", "a"],
            "ERR Mandatory argument FIELDS is missing or not at the right position",
        ),
        (
            &["HPERSIST", "h", "FIELDS", "-1", "a"],
            "ERR Number of fields must be a positive integer",
        ),
        (
            &["HGETDEL", "h", "FIELDS", "2", "a"],
            "ERR The `numfields` parameter must match the number of arguments",
        ),
        (
            &["HGETDEL", "h", "FELDS", "1", "a"],
            "ERR Mandatory argument FIELDS is missing or not at the right position",
        ),
        (
            &["HGETEX", "h", "EX", "-5", "FIELDS", "1", "a"],
            "ERR invalid expire time, must be >= 0",
        ),
        (
            &["HGETEX", "h", "BAD", "FIELDS", "1", "a"],
            "ERR Mandatory argument FIELDS is missing or not at the right position",
        ),
        (
            &["HGETEX", "h", "PERSIST", "FIELDS", "0", "a"],
            "ERR Number of fields must be a positive integer",
        ),
        (
            &["HSETEX", "h", "FIELDS", "2", "a", "1"],
            "ERR wrong number of arguments for 'hsetex' command",
        ),
        (
            &["HSETEX", "h", "FIELDS", "0", "a", "1"],
            "ERR invalid number of fields",
        ),
        (
            &[
                "HSETEX", "h", "EX", "10", "PX", "10", "FIELDS", "1", "a", "1",
            ],
            "ERR Only one of EX, PX, EXAT, PXAT or KEEPTTL arguments can be specified",
        ),
        (
            &[
                "HSETEX", "h", "KEEPTTL", "EX", "10", "FIELDS", "1", "a", "1",
            ],
            "ERR Only one of EX, PX, EXAT, PXAT or KEEPTTL arguments can be specified",
        ),
        (
            &["HSETEX", "h", "FNX", "FXX", "FIELDS", "1", "a", "1"],
            "ERR Only one of FXX or FNX arguments can be specified",
        ),
        (
            &["HSETEX", "h", "BOGUS", "FIELDS", "1", "a", "1"],
            "ERR unknown argument: BOGUS",
        ),
        (
            &["HSETEX", "h", "EX", "x", "FIELDS", "1", "a", "1"],
            "ERR value is not an integer or out of range",
        ),
        (
            &["HTTL", "h", "FIELDS", "1"],
            "ERR wrong number of arguments for 'httl' command",
        ),
        (
            &["HEXPIRE", "h", "1", "FIELDS", "1"],
            "ERR wrong number of arguments for 'hexpire' command",
        ),
    ];
    for (args, want) in cases {
        assert_eq!(e(&mut c, args), *want, "{args:?}");
    }
    // Nothing changed by the refused commands.
    assert_eq!(
        ints(&mut c, &["HTTL", "h", "FIELDS", "3", "a", "b", "c"]),
        [-1, -1, -1]
    );
    // WRONGTYPE before any argument is looked at, as Redis.
    ok(&mut c, &["SET", "s", "x"]);
    let wt = "WRONGTYPE Operation against a key holding the wrong kind of value";
    for args in [
        &["HEXPIRE", "s", "10", "FIELDS", "1", "a"][..],
        &["HPEXPIRE", "s", "bad", "FIELDS", "1", "a"],
        &["HTTL", "s", "FIELDS", "1", "a"],
        &["HPTTL", "s", "FIELDS", "9", "a"],
        &["HEXPIRETIME", "s", "FIELDS", "1", "a"],
        &["HPERSIST", "s", "FIELDS", "1", "a"],
        &["HGETEX", "s", "FIELDS", "1", "a"],
        &["HGETDEL", "s", "FIELDS", "1", "a"],
        &["HSETEX", "s", "FIELDS", "1", "a", "1"],
    ] {
        assert_eq!(e(&mut c, args), wt, "{args:?}");
    }
}

#[test]
fn hgetex_hsetex_hgetdel() {
    let s = server(&[]);
    let mut c = conn(&s);
    abc(&mut c, "h");
    // HGETEX: values, TTLs set only on fields that exist.
    let v: Vec<Option<String>> = q(
        &mut c,
        &["HGETEX", "h", "EX", "100", "FIELDS", "2", "a", "x"],
    );
    assert_eq!(v, [Some("1".into()), None]);
    assert_eq!(
        ints(&mut c, &["HTTL", "h", "FIELDS", "2", "a", "x"]),
        [100, -2]
    );
    let v: Vec<Option<String>> = q(&mut c, &["HGETEX", "h", "PERSIST", "FIELDS", "1", "a"]);
    assert_eq!(v, [Some("1".into())]);
    assert_eq!(ints(&mut c, &["HTTL", "h", "FIELDS", "1", "a"]), [-1]);
    let at = (now_ms() + 200_000).to_string();
    let _: Vec<Option<String>> = q(&mut c, &["HGETEX", "h", "PXAT", &at, "FIELDS", "1", "b"]);
    assert_eq!(
        ints(&mut c, &["HPEXPIRETIME", "h", "FIELDS", "1", "b"]),
        [at.parse::<i64>().unwrap()]
    );
    let v: Vec<Option<String>> = q(&mut c, &["HGETEX", "h", "FIELDS", "1", "b"]);
    assert_eq!(v, [Some("2".into())]);
    // A time in the past deletes the field (the value is still the reply).
    let v: Vec<Option<String>> = q(&mut c, &["HGETEX", "h", "EXAT", "1", "FIELDS", "1", "c"]);
    assert_eq!(v, [Some("3".into())]);
    assert_eq!(q::<Option<String>>(&mut c, &["HGET", "h", "c"]), None);
    let v: Vec<Option<String>> = q(&mut c, &["HGETEX", "nokey", "EX", "1", "FIELDS", "1", "c"]);
    assert_eq!(v, [None]);

    // HSETEX: 1 set, 0 when FNX/FXX say no.
    assert_eq!(
        q::<i64>(&mut c, &["HSETEX", "n", "FXX", "FIELDS", "1", "a", "1"]),
        0
    );
    assert_eq!(q::<i64>(&mut c, &["EXISTS", "n"]), 0);
    assert_eq!(
        q::<i64>(
            &mut c,
            &[
                "HSETEX", "n", "FNX", "EX", "100", "FIELDS", "2", "a", "1", "b", "2"
            ]
        ),
        1
    );
    assert_eq!(
        ints(&mut c, &["HTTL", "n", "FIELDS", "2", "a", "b"]),
        [100, 100]
    );
    assert_eq!(
        q::<i64>(
            &mut c,
            &["HSETEX", "n", "FNX", "FIELDS", "2", "a", "1", "z", "2"]
        ),
        0
    );
    assert_eq!(q::<Option<String>>(&mut c, &["HGET", "n", "z"]), None);
    assert_eq!(
        q::<i64>(
            &mut c,
            &["HSETEX", "n", "FXX", "KEEPTTL", "FIELDS", "1", "a", "new"]
        ),
        1
    );
    assert_eq!(ints(&mut c, &["HTTL", "n", "FIELDS", "1", "a"]), [100]);
    assert_eq!(q::<String>(&mut c, &["HGET", "n", "a"]), "new");
    // Without KEEPTTL or a time, the TTL goes (as HSET).
    assert_eq!(
        q::<i64>(&mut c, &["HSETEX", "n", "FIELDS", "1", "a", "again"]),
        1
    );
    assert_eq!(ints(&mut c, &["HTTL", "n", "FIELDS", "1", "a"]), [-1]);
    assert_eq!(
        q::<i64>(
            &mut c,
            &["HSETEX", "n", "PX", "0", "FIELDS", "2", "a", "1", "b", "2"]
        ),
        1
    );
    assert_eq!(
        q::<i64>(&mut c, &["EXISTS", "n"]),
        0,
        "fields set in the past are gone"
    );

    // HGETDEL: values, fields deleted, the key with the last.
    abc(&mut c, "d");
    let v: Vec<Option<String>> = q(&mut c, &["HGETDEL", "d", "FIELDS", "2", "a", "x"]);
    assert_eq!(v, [Some("1".into()), None]);
    assert_eq!(q::<i64>(&mut c, &["HLEN", "d"]), 2);
    let v: Vec<Option<String>> = q(&mut c, &["HGETDEL", "d", "FIELDS", "2", "b", "c"]);
    assert_eq!(v, [Some("2".into()), Some("3".into())]);
    assert_eq!(q::<i64>(&mut c, &["EXISTS", "d"]), 0);
    let v: Vec<Option<String>> = q(&mut c, &["HGETDEL", "d", "FIELDS", "1", "b"]);
    assert_eq!(v, [None]);
}

#[test]
fn lazy_expiry_hides_fields_from_every_read() {
    // No active expiry: only lookups see the TTL.
    let s = server(&["--enable-debug-command", "yes"]);
    let mut c = conn(&s);
    ok(&mut c, &["DEBUG", "SET-ACTIVE-EXPIRE", "0"]);
    abc(&mut c, "h");
    let _: i64 = q(&mut c, &["HSET", "h", "n", "10"]);
    let _: Vec<i64> = q(&mut c, &["HPEXPIRE", "h", "30", "FIELDS", "2", "a", "n"]);
    assert_eq!(
        q::<String>(&mut c, &["OBJECT", "ENCODING", "h"]),
        "listpackex"
    );
    std::thread::sleep(Duration::from_millis(80));
    assert_eq!(q::<Option<String>>(&mut c, &["HGET", "h", "a"]), None);
    let v: Vec<Option<String>> = q(&mut c, &["HMGET", "h", "a", "b"]);
    assert_eq!(v, [None, Some("2".into())]);
    assert_eq!(q::<i64>(&mut c, &["HEXISTS", "h", "a"]), 0);
    assert_eq!(q::<i64>(&mut c, &["HSTRLEN", "h", "a"]), 0);
    let mut keys: Vec<String> = q(&mut c, &["HKEYS", "h"]);
    keys.sort();
    assert_eq!(keys, ["b", "c"]);
    let mut vals: Vec<String> = q(&mut c, &["HVALS", "h"]);
    vals.sort();
    assert_eq!(vals, ["2", "3"]);
    let all: std::collections::HashMap<String, String> = q(&mut c, &["HGETALL", "h"]);
    assert_eq!(all.len(), 2);
    let (_, scan): (String, Vec<String>) = q(&mut c, &["HSCAN", "h", "0"]);
    assert_eq!(scan.len(), 4);
    for _ in 0..20 {
        let f: String = q(&mut c, &["HRANDFIELD", "h"]);
        assert!(f == "b" || f == "c", "{f}");
    }
    let r: Vec<String> = q(&mut c, &["HRANDFIELD", "h", "-10"]);
    assert!(r.iter().all(|f| f == "b" || f == "c"));
    assert_eq!(
        ints(&mut c, &["HTTL", "h", "FIELDS", "2", "a", "b"]),
        [-2, -1]
    );
    assert_eq!(ints(&mut c, &["HPERSIST", "h", "FIELDS", "1", "a"]), [-2]);
    // As Redis, HLEN counts fields not reaped yet.
    assert_eq!(q::<i64>(&mut c, &["HLEN", "h"]), 4);
    // Writes start again from nothing.
    assert_eq!(q::<i64>(&mut c, &["HINCRBY", "h", "n", "5"]), 5);
    assert_eq!(ints(&mut c, &["HTTL", "h", "FIELDS", "1", "n"]), [-1]);
    assert_eq!(q::<i64>(&mut c, &["HSETNX", "h", "a", "new"]), 1);
    assert_eq!(q::<String>(&mut c, &["HGET", "h", "a"]), "new");
    // A hash whose every field expired reads as empty; a write deletes it.
    let _: Vec<i64> = q(
        &mut c,
        &["HPEXPIRE", "h", "20", "FIELDS", "4", "a", "b", "c", "n"],
    );
    std::thread::sleep(Duration::from_millis(60));
    let all: std::collections::HashMap<String, String> = q(&mut c, &["HGETALL", "h"]);
    assert!(all.is_empty());
    let v: Vec<Option<String>> = q(&mut c, &["HGETDEL", "h", "FIELDS", "1", "a"]);
    assert_eq!(v, [None]);
    let v: Vec<Option<String>> = q(&mut c, &["HGETEX", "h", "FIELDS", "3", "b", "c", "n"]);
    assert_eq!(v, [None, None, None]);
    assert_eq!(q::<i64>(&mut c, &["EXISTS", "h"]), 0);
}

#[test]
fn active_expiry_reclaims_fields_and_deletes_the_key() {
    let s = server(&["--hz", "100"]);
    let mut c = conn(&s);
    ok(&mut c, &["CONFIG", "SET", "notify-keyspace-events", "Ehg"]);
    let mut sub = conn(&s);
    sub.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    sub.send_packed_command(
        &redis::cmd("PSUBSCRIBE")
            .arg("__keyevent@0__:*")
            .get_packed_command(),
    )
    .unwrap();
    let _ = sub.recv_response().unwrap();

    // A big hash (hashtable encoding) and a small one.
    let mut args = vec!["HSET".to_string(), "big".into()];
    for i in 0..300 {
        args.push(format!("f{i}"));
        args.push(format!("v{i}"));
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let _: i64 = q(&mut c, &args);
    let mut exp = vec!["HPEXPIRE", "big", "50", "FIELDS", "200"];
    let names: Vec<String> = (0..200).map(|i| format!("f{i}")).collect();
    exp.extend(names.iter().map(String::as_str));
    let r: Vec<i64> = q(&mut c, &exp);
    assert!(r.iter().all(|&x| x == 1));
    assert_eq!(
        q::<String>(&mut c, &["OBJECT", "ENCODING", "big"]),
        "hashtable"
    );
    abc(&mut c, "small");
    let _: Vec<i64> = q(
        &mut c,
        &["HPEXPIRE", "small", "50", "FIELDS", "3", "a", "b", "c"],
    );
    // HLEN reads nothing lazily: only the active cycle can bring these down.
    assert!(
        wait_until(Duration::from_secs(5), || q::<i64>(
            &mut c,
            &["HLEN", "big"]
        ) == 100),
        "fields never reaped"
    );
    assert!(
        wait_until(Duration::from_secs(5), || q::<i64>(
            &mut c,
            &["EXISTS", "small"]
        ) == 0),
        "the emptied hash never went"
    );
    assert_eq!(q::<String>(&mut c, &["HGET", "big", "f250"]), "v250");
    let mut seen = Vec::new();
    while seen.len() < 50 {
        let m = match sub.recv_response() {
            Ok(m) => m,
            Err(_) => break,
        };
        let p: Vec<String> = redis::from_redis_value(m).unwrap();
        seen.push(format!("{} {}", &p[2][15..], p[3]));
        if seen.iter().any(|s| s == "del small") && seen.iter().any(|s| s == "hexpired big") {
            break;
        }
    }
    assert!(seen.iter().any(|s| s == "hexpire big"), "{seen:?}");
    assert!(seen.iter().any(|s| s == "hexpired big"), "{seen:?}");
    assert!(seen.iter().any(|s| s == "hexpired small"), "{seen:?}");
    assert!(seen.iter().any(|s| s == "del small"), "{seen:?}");
}

#[test]
fn command_events() {
    let s = server(&[]);
    let mut c = conn(&s);
    ok(&mut c, &["CONFIG", "SET", "notify-keyspace-events", "Ehg"]);
    let mut sub = conn(&s);
    sub.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    sub.send_packed_command(
        &redis::cmd("PSUBSCRIBE")
            .arg("__keyevent@0__:*")
            .get_packed_command(),
    )
    .unwrap();
    let _ = sub.recv_response().unwrap();
    let mut next = || -> String {
        let p: Vec<String> = redis::from_redis_value(sub.recv_response().unwrap()).unwrap();
        format!("{} {}", &p[2][15..], p[3])
    };
    abc(&mut c, "h");
    assert_eq!(next(), "hset h");
    let _: Vec<i64> = q(&mut c, &["HEXPIRE", "h", "100", "FIELDS", "1", "a"]);
    assert_eq!(next(), "hexpire h");
    let _: Vec<i64> = q(&mut c, &["HPERSIST", "h", "FIELDS", "1", "a"]);
    assert_eq!(next(), "hpersist h");
    let _: Vec<i64> = q(&mut c, &["HEXPIRE", "h", "0", "FIELDS", "1", "a"]);
    assert_eq!(next(), "hdel h");
    let _: i64 = q(
        &mut c,
        &["HSETEX", "h", "EX", "10", "FIELDS", "1", "b", "x"],
    );
    assert_eq!(next(), "hset h");
    assert_eq!(next(), "hexpire h");
    let _: Vec<Option<String>> = q(&mut c, &["HGETDEL", "h", "FIELDS", "2", "b", "c"]);
    assert_eq!(next(), "hdel h");
    assert_eq!(next(), "del h");
}

#[test]
fn dump_restore_rename_copy_keep_field_ttls() {
    let s = server(&[]);
    let mut c = conn(&s);
    abc(&mut c, "h");
    let _: Vec<i64> = q(&mut c, &["HEXPIRE", "h", "1000", "FIELDS", "1", "a"]);
    let dump: Vec<u8> = redis::cmd("DUMP").arg("h").query(&mut c).unwrap();
    let _: () = redis::cmd("RESTORE")
        .arg("r")
        .arg(0)
        .arg(&dump)
        .query(&mut c)
        .unwrap();
    assert_eq!(
        ints(&mut c, &["HTTL", "r", "FIELDS", "2", "a", "b"]),
        [1000, -1]
    );
    assert_eq!(q::<String>(&mut c, &["HGET", "r", "a"]), "1");
    let _: i64 = q(&mut c, &["COPY", "r", "c1"]);
    ok(&mut c, &["RENAME", "c1", "c2"]);
    assert_eq!(ints(&mut c, &["HTTL", "c2", "FIELDS", "1", "a"]), [1000]);
    let _: i64 = q(&mut c, &["MOVE", "c2", "1"]);
    ok(&mut c, &["SELECT", "1"]);
    assert_eq!(ints(&mut c, &["HTTL", "c2", "FIELDS", "1", "a"]), [1000]);
    // The copy's fields still expire actively.
    let _: Vec<i64> = q(
        &mut c,
        &["HPEXPIRE", "c2", "20", "FIELDS", "3", "a", "b", "c"],
    );
    assert!(wait_until(Duration::from_secs(5), || q::<i64>(
        &mut c,
        &["DBSIZE"]
    ) == 0));
    // A plain hash dumps as before (no TTL table).
    ok(&mut c, &["SELECT", "0"]);
    let _: i64 = q(&mut c, &["HSET", "p", "a", "1"]);
    assert_eq!(
        q::<String>(&mut c, &["OBJECT", "ENCODING", "p"]),
        "listpack"
    );
}

#[test]
fn save_and_restart_keep_field_ttls() {
    let dir = std::env::temp_dir().join(format!("shoal-hfe-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let d = dir.to_str().unwrap().to_string();
    {
        let s = server(&["--dir", &d]);
        let mut c = conn(&s);
        abc(&mut c, "small");
        let _: Vec<i64> = q(&mut c, &["HEXPIRE", "small", "1000", "FIELDS", "1", "b"]);
        let mut args = vec!["HSET".to_string(), "big".into()];
        for i in 0..200 {
            args.push(format!("f{i}"));
            args.push(format!("v{i}"));
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let _: i64 = q(&mut c, &args);
        let _: Vec<i64> = q(
            &mut c,
            &["HEXPIRE", "big", "2000", "FIELDS", "2", "f1", "f7"],
        );
        let _: Vec<i64> = q(&mut c, &["HPEXPIRE", "big", "1500", "FIELDS", "1", "f9"]);
        ok(&mut c, &["SAVE"]);
    }
    let s = server(&["--dir", &d]);
    let mut c = conn(&s);
    // -LOADING until the file is in.
    assert!(wait_until(Duration::from_secs(10), || redis::cmd("DBSIZE")
        .query::<i64>(&mut c)
        .is_ok_and(|n| n == 2)));
    assert_eq!(
        ints(&mut c, &["HTTL", "small", "FIELDS", "2", "a", "b"]),
        [-1, 1000]
    );
    let t = ints(&mut c, &["HTTL", "big", "FIELDS", "3", "f1", "f7", "f2"]);
    assert_eq!(t, [2000, 2000, -1]);
    // The loaded hash is under active expiry too.
    assert!(wait_until(Duration::from_secs(5), || q::<i64>(
        &mut c,
        &["HLEN", "big"]
    ) == 199));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn replicas_follow_field_expiry() {
    let p = server(&[]);
    let mut pc = conn(&p);
    abc(&mut pc, "before");
    let _: Vec<i64> = q(&mut pc, &["HEXPIRE", "before", "1000", "FIELDS", "1", "a"]);
    let port = p.port().to_string();
    let r = server(&["--replicaof", "127.0.0.1", &port]);
    let mut rc = conn(&r);
    assert!(wait_until(Duration::from_secs(10), || info_field(
        &mut rc,
        "replication",
        "master_link_status"
    ) == "up"));
    // Through the full sync.
    assert_eq!(
        ints(&mut rc, &["HTTL", "before", "FIELDS", "1", "a"]),
        [1000]
    );
    // Through the stream: relative times arrive as absolute ones.
    abc(&mut pc, "h");
    let _: Vec<i64> = q(&mut pc, &["HEXPIRE", "h", "500", "FIELDS", "2", "a", "x"]);
    let _: i64 = q(
        &mut pc,
        &["HSETEX", "h", "EX", "700", "FIELDS", "1", "d", "4"],
    );
    let _: Vec<Option<String>> = q(
        &mut pc,
        &["HGETEX", "h", "PX", "900000", "FIELDS", "1", "b"],
    );
    let _: String = q(&mut pc, &["HINCRBYFLOAT", "h", "d", "1"]);
    let _: Vec<i64> = q(&mut pc, &["HEXPIRE", "h", "0", "FIELDS", "1", "c"]);
    let want: Vec<i64> = ints(
        &mut pc,
        &["HPEXPIRETIME", "h", "FIELDS", "4", "a", "b", "c", "d"],
    );
    assert!(wait_until(Duration::from_secs(10), || ints(
        &mut rc,
        &["HPEXPIRETIME", "h", "FIELDS", "4", "a", "b", "c", "d"]
    ) == want));
    assert_eq!(q::<String>(&mut rc, &["HGET", "h", "d"]), "5");
    // Fields the primary reaps are HDELs on the replica, which reaps nothing by itself.
    let _: Vec<i64> = q(&mut pc, &["HPEXPIRE", "h", "100", "FIELDS", "1", "a"]);
    assert!(wait_until(Duration::from_secs(10), || q::<i64>(
        &mut rc,
        &["HLEN", "h"]
    ) == 2));
    assert_eq!(q::<i64>(&mut pc, &["HLEN", "h"]), 2);
    abc(&mut pc, "gone");
    let _: Vec<i64> = q(
        &mut pc,
        &["HPEXPIRE", "gone", "100", "FIELDS", "3", "a", "b", "c"],
    );
    assert!(wait_until(Duration::from_secs(10), || q::<i64>(
        &mut rc,
        &["EXISTS", "gone"]
    ) == 0));
}
