//! Hashes, lists, sets and sorted sets against the real binary: happy paths, edge cases, errors,
//! WRONGTYPE, encodings, empty collections deleted, RESP3 shapes.
mod common;
use common::*;
use redis::Value;

const WRONGTYPE: &str = "WRONGTYPE Operation against a key holding the wrong kind of value";

fn bulks(v: &[&str]) -> Value {
    Value::Array(
        v.iter()
            .map(|s| Value::BulkString(s.as_bytes().to_vec()))
            .collect(),
    )
}

#[test]
fn hashes() {
    let s = server(&[]);
    let mut c = conn(&s);
    assert_eq!(q::<i64>(&mut c, &["HSET", "h", "a", "1", "b", "2"]), 2);
    assert_eq!(q::<i64>(&mut c, &["HSET", "h", "a", "10", "c", "3"]), 1);
    assert_eq!(q::<String>(&mut c, &["HGET", "h", "a"]), "10");
    assert_eq!(v(&mut c, &["HGET", "h", "zz"]), Value::Nil);
    assert_eq!(v(&mut c, &["HGET", "nokey", "a"]), Value::Nil);
    assert_eq!(
        v(&mut c, &["HMGET", "h", "a", "zz", "c"]),
        Value::Array(vec![
            Value::BulkString(b"10".to_vec()),
            Value::Nil,
            Value::BulkString(b"3".to_vec())
        ])
    );
    assert_eq!(q::<i64>(&mut c, &["HLEN", "h"]), 3);
    assert_eq!(q::<i64>(&mut c, &["HEXISTS", "h", "b"]), 1);
    assert_eq!(q::<i64>(&mut c, &["HSTRLEN", "h", "a"]), 2);
    assert_eq!(q::<i64>(&mut c, &["HSETNX", "h", "a", "x"]), 0);
    assert_eq!(q::<i64>(&mut c, &["HSETNX", "h", "d", "4"]), 1);
    ok(&mut c, &["HMSET", "h", "e", "5"]);
    let mut keys: Vec<String> = q(&mut c, &["HKEYS", "h"]);
    keys.sort();
    assert_eq!(keys, vec!["a", "b", "c", "d", "e"]);
    assert_eq!(q::<Vec<String>>(&mut c, &["HVALS", "h"]).len(), 5);
    let all: std::collections::HashMap<String, String> = q(&mut c, &["HGETALL", "h"]);
    assert_eq!(all.get("b").map(String::as_str), Some("2"));
    assert_eq!(q::<i64>(&mut c, &["HINCRBY", "h", "a", "5"]), 15);
    assert_eq!(q::<i64>(&mut c, &["HINCRBY", "h", "new", "-3"]), -3);
    assert_eq!(
        q::<String>(&mut c, &["HINCRBYFLOAT", "h", "f", "1.5"]),
        "1.5"
    );
    ok(&mut c, &["HMSET", "h", "s", "abc"]);
    assert_eq!(
        e(&mut c, &["HINCRBY", "h", "s", "1"]),
        "ERR hash value is not an integer"
    );
    assert_eq!(
        e(&mut c, &["HINCRBYFLOAT", "h", "s", "1"]),
        "ERR hash value is not a float"
    );
    ok(&mut c, &["HMSET", "h", "big", "9223372036854775807"]);
    assert_eq!(
        e(&mut c, &["HINCRBY", "h", "big", "1"]),
        "ERR increment or decrement would overflow"
    );
    assert_eq!(
        e(&mut c, &["HSET", "h", "a"]),
        "ERR wrong number of arguments for 'hset' command"
    );
    assert_eq!(
        e(&mut c, &["HSET", "h", "a", "1", "b"]),
        "ERR wrong number of arguments for 'hset' command"
    );
    assert_eq!(
        q::<String>(&mut c, &["OBJECT", "ENCODING", "h"]),
        "listpack"
    );
    for i in 0..200 {
        let _: i64 = q(&mut c, &["HSET", "h", &format!("x{i}"), "v"]);
    }
    assert_eq!(
        q::<String>(&mut c, &["OBJECT", "ENCODING", "h"]),
        "hashtable"
    );
    let r: Vec<String> = q(&mut c, &["HRANDFIELD", "h", "5"]);
    assert_eq!(r.len(), 5);
    let r: Vec<String> = q(&mut c, &["HRANDFIELD", "h", "-300"]);
    assert_eq!(r.len(), 300, "negative count repeats");
    // A large hash is scanned COUNT fields at a time until the cursor comes back to 0.
    let (cur, first): (String, Vec<String>) = q(&mut c, &["HSCAN", "h", "0", "COUNT", "10"]);
    assert_ne!(cur, "0", "a large hash comes in pages");
    assert_eq!(first.len(), 20);
    let items = scan_all(&mut c, &["HSCAN", "h"], &["MATCH", "x1*", "COUNT", "10"]);
    assert_eq!(
        items.len(),
        2 * 111,
        "x1, x10-x19, x100-x199: 111 fields with values"
    );
    // Deleting the last field deletes the key.
    ok(&mut c, &["HMSET", "h2", "only", "1"]);
    assert_eq!(q::<i64>(&mut c, &["HDEL", "h2", "only", "nope"]), 1);
    assert_eq!(q::<i64>(&mut c, &["EXISTS", "h2"]), 0);
    ok(&mut c, &["SET", "str", "x"]);
    assert_eq!(e(&mut c, &["HSET", "str", "a", "1"]), WRONGTYPE);
    assert_eq!(e(&mut c, &["HGET", "str", "a"]), WRONGTYPE);
    assert_eq!(e(&mut c, &["GET", "h"]), WRONGTYPE);
    assert_eq!(q::<String>(&mut c, &["TYPE", "h"]), "hash");
    let mut c3 = resp3(&s);
    assert!(matches!(v(&mut c3, &["HGETALL", "h"]), Value::Map(_)));
}

#[test]
fn lists() {
    let s = server(&[]);
    let mut c = conn(&s);
    assert_eq!(q::<i64>(&mut c, &["RPUSH", "l", "a", "b", "c"]), 3);
    assert_eq!(q::<i64>(&mut c, &["LPUSH", "l", "z"]), 4);
    assert_eq!(
        v(&mut c, &["LRANGE", "l", "0", "-1"]),
        bulks(&["z", "a", "b", "c"])
    );
    assert_eq!(v(&mut c, &["LRANGE", "l", "-2", "100"]), bulks(&["b", "c"]));
    assert_eq!(v(&mut c, &["LRANGE", "l", "5", "10"]), bulks(&[]));
    assert_eq!(v(&mut c, &["LRANGE", "nokey", "0", "-1"]), bulks(&[]));
    assert_eq!(q::<i64>(&mut c, &["LLEN", "l"]), 4);
    assert_eq!(q::<String>(&mut c, &["LINDEX", "l", "-1"]), "c");
    assert_eq!(v(&mut c, &["LINDEX", "l", "10"]), Value::Nil);
    ok(&mut c, &["LSET", "l", "1", "A"]);
    assert_eq!(
        e(&mut c, &["LSET", "l", "10", "x"]),
        "ERR index out of range"
    );
    assert_eq!(e(&mut c, &["LSET", "nokey", "0", "x"]), "ERR no such key");
    assert_eq!(q::<i64>(&mut c, &["LINSERT", "l", "BEFORE", "b", "B"]), 5);
    assert_eq!(
        q::<i64>(&mut c, &["LINSERT", "l", "AFTER", "nope", "x"]),
        -1
    );
    assert_eq!(
        e(&mut c, &["LINSERT", "l", "MIDDLE", "b", "x"]),
        "ERR syntax error"
    );
    assert_eq!(
        v(&mut c, &["LRANGE", "l", "0", "-1"]),
        bulks(&["z", "A", "B", "b", "c"])
    );
    assert_eq!(q::<String>(&mut c, &["LPOP", "l"]), "z");
    assert_eq!(v(&mut c, &["RPOP", "l", "2"]), bulks(&["c", "b"]));
    assert_eq!(v(&mut c, &["LPOP", "nokey"]), Value::Nil);
    assert_eq!(v(&mut c, &["LPOP", "nokey", "2"]), Value::Nil);
    assert_eq!(
        e(&mut c, &["LPOP", "l", "-1"]),
        "ERR value is out of range, must be positive"
    );
    assert_eq!(q::<i64>(&mut c, &["LPUSHX", "nokey", "a"]), 0);
    assert_eq!(q::<i64>(&mut c, &["EXISTS", "nokey"]), 0);
    assert_eq!(q::<i64>(&mut c, &["RPUSHX", "l", "x", "x", "y", "x"]), 6);
    assert_eq!(q::<i64>(&mut c, &["LREM", "l", "-2", "x"]), 2);
    assert_eq!(
        v(&mut c, &["LRANGE", "l", "0", "-1"]),
        bulks(&["A", "B", "x", "y"])
    );
    assert_eq!(q::<i64>(&mut c, &["LPOS", "l", "y"]), 3);
    assert_eq!(v(&mut c, &["LPOS", "l", "nope"]), Value::Nil);
    let _: i64 = q(&mut c, &["RPUSH", "p", "a", "b", "a", "c", "a"]);
    assert_eq!(
        q::<Vec<i64>>(&mut c, &["LPOS", "p", "a", "COUNT", "0"]),
        vec![0, 2, 4]
    );
    assert_eq!(
        q::<Vec<i64>>(&mut c, &["LPOS", "p", "a", "RANK", "-1", "COUNT", "2"]),
        vec![4, 2]
    );
    assert_eq!(q::<i64>(&mut c, &["LPOS", "p", "a", "RANK", "2"]), 2);
    assert_eq!(v(&mut c, &["LPOS", "p", "c", "MAXLEN", "2"]), Value::Nil);
    assert!(e(&mut c, &["LPOS", "p", "a", "RANK", "0"]).starts_with("ERR RANK can't be zero"));
    assert_eq!(
        e(&mut c, &["LPOS", "p", "a", "COUNT", "-1"]),
        "ERR COUNT can't be negative"
    );
    ok(&mut c, &["LTRIM", "p", "1", "-2"]);
    assert_eq!(
        v(&mut c, &["LRANGE", "p", "0", "-1"]),
        bulks(&["b", "a", "c"])
    );
    ok(&mut c, &["LTRIM", "p", "5", "10"]);
    assert_eq!(
        q::<i64>(&mut c, &["EXISTS", "p"]),
        0,
        "a trimmed-empty list is deleted"
    );
    let _: i64 = q(&mut c, &["RPUSH", "src{t}", "1", "2", "3"]);
    assert_eq!(
        q::<String>(&mut c, &["LMOVE", "src{t}", "dst{t}", "LEFT", "RIGHT"]),
        "1"
    );
    assert_eq!(q::<String>(&mut c, &["RPOPLPUSH", "src{t}", "dst{t}"]), "3");
    assert_eq!(
        v(&mut c, &["LRANGE", "dst{t}", "0", "-1"]),
        bulks(&["3", "1"])
    );
    assert_eq!(
        q::<String>(&mut c, &["LMOVE", "src{t}", "src{t}", "LEFT", "RIGHT"]),
        "2",
        "rotation"
    );
    assert_eq!(
        v(&mut c, &["LMOVE", "none{t}", "dst{t}", "LEFT", "LEFT"]),
        Value::Nil
    );
    ok(&mut c, &["SET", "str{t}", "x"]);
    assert_eq!(
        e(&mut c, &["LMOVE", "src{t}", "str{t}", "LEFT", "LEFT"]),
        WRONGTYPE
    );
    assert_eq!(
        q::<i64>(&mut c, &["LLEN", "src{t}"]),
        1,
        "nothing popped when the target is of another type"
    );
    assert_eq!(e(&mut c, &["LPUSH", "str{t}", "a"]), WRONGTYPE);
    assert_eq!(
        q::<String>(&mut c, &["OBJECT", "ENCODING", "dst{t}"]),
        "listpack"
    );
    for i in 0..200 {
        let _: i64 = q(&mut c, &["RPUSH", "dst{t}", &i.to_string()]);
    }
    assert_eq!(
        q::<String>(&mut c, &["OBJECT", "ENCODING", "dst{t}"]),
        "quicklist"
    );
}

#[test]
fn sets() {
    let s = server(&[]);
    let mut c = conn(&s);
    assert_eq!(q::<i64>(&mut c, &["SADD", "s", "1", "2", "3", "2"]), 3);
    assert_eq!(q::<String>(&mut c, &["OBJECT", "ENCODING", "s"]), "intset");
    assert_eq!(q::<i64>(&mut c, &["SADD", "s", "x"]), 1);
    assert_eq!(
        q::<String>(&mut c, &["OBJECT", "ENCODING", "s"]),
        "listpack"
    );
    assert_eq!(q::<i64>(&mut c, &["SCARD", "s"]), 4);
    assert_eq!(q::<i64>(&mut c, &["SISMEMBER", "s", "x"]), 1);
    assert_eq!(
        q::<Vec<i64>>(&mut c, &["SMISMEMBER", "s", "1", "9"]),
        vec![1, 0]
    );
    let mut m: Vec<String> = q(&mut c, &["SMEMBERS", "s"]);
    m.sort();
    assert_eq!(m, vec!["1", "2", "3", "x"]);
    assert_eq!(q::<i64>(&mut c, &["SREM", "s", "x", "nope"]), 1);
    let _: i64 = q(&mut c, &["SADD", "a{t}", "1", "2", "3"]);
    let _: i64 = q(&mut c, &["SADD", "b{t}", "2", "3", "4"]);
    let mut inter: Vec<String> = q(&mut c, &["SINTER", "a{t}", "b{t}"]);
    inter.sort();
    assert_eq!(inter, vec!["2", "3"]);
    assert_eq!(
        q::<Vec<String>>(&mut c, &["SINTER", "a{t}", "none{t}"]).len(),
        0
    );
    assert_eq!(
        q::<Vec<String>>(&mut c, &["SUNION", "a{t}", "b{t}"]).len(),
        4
    );
    assert_eq!(
        q::<Vec<String>>(&mut c, &["SDIFF", "a{t}", "b{t}"]),
        vec!["1"]
    );
    assert_eq!(
        q::<i64>(&mut c, &["SUNIONSTORE", "u{t}", "a{t}", "b{t}"]),
        4
    );
    assert_eq!(q::<i64>(&mut c, &["SCARD", "u{t}"]), 4);
    assert_eq!(
        q::<i64>(&mut c, &["SINTERSTORE", "u{t}", "a{t}", "none{t}"]),
        0
    );
    assert_eq!(
        q::<i64>(&mut c, &["EXISTS", "u{t}"]),
        0,
        "an empty result deletes the destination"
    );
    assert_eq!(q::<i64>(&mut c, &["SMOVE", "a{t}", "b{t}", "1"]), 1);
    assert_eq!(q::<i64>(&mut c, &["SMOVE", "a{t}", "b{t}", "nope"]), 0);
    assert_eq!(q::<i64>(&mut c, &["SCARD", "b{t}"]), 4);
    let p: Vec<String> = q(&mut c, &["SPOP", "b{t}", "10"]);
    assert_eq!(p.len(), 4);
    assert_eq!(q::<i64>(&mut c, &["EXISTS", "b{t}"]), 0);
    assert_eq!(v(&mut c, &["SPOP", "b{t}"]), Value::Nil);
    assert_eq!(
        e(&mut c, &["SPOP", "a{t}", "-1"]),
        "ERR value is out of range, must be positive"
    );
    for i in 0..300 {
        let _: i64 = q(&mut c, &["SADD", "big", &format!("m{i}")]);
    }
    assert_eq!(
        q::<String>(&mut c, &["OBJECT", "ENCODING", "big"]),
        "hashtable"
    );
    assert_eq!(
        q::<Vec<String>>(&mut c, &["SRANDMEMBER", "big", "10"]).len(),
        10
    );
    assert_eq!(
        q::<Vec<String>>(&mut c, &["SRANDMEMBER", "big", "-500"]).len(),
        500
    );
    assert_eq!(
        q::<Vec<String>>(&mut c, &["SRANDMEMBER", "big", "1000"]).len(),
        300
    );
    let all = scan_all(&mut c, &["SSCAN", "big"], &["MATCH", "m2??"]);
    assert_eq!(all.len(), 100);
    ok(&mut c, &["SET", "str", "x"]);
    assert_eq!(e(&mut c, &["SADD", "str", "a"]), WRONGTYPE);
    assert_eq!(e(&mut c, &["SINTER", "big", "str"]), WRONGTYPE);
    let mut c3 = resp3(&s);
    assert!(matches!(v(&mut c3, &["SMEMBERS", "big"]), Value::Set(_)));
}

/// Every item a collection SCAN returns, following the cursor until it comes back to 0.
fn scan_all(c: &mut redis::Connection, cmd: &[&str], opts: &[&str]) -> Vec<String> {
    let mut cursor = "0".to_string();
    let mut all = Vec::new();
    for _ in 0..100_000 {
        let mut args: Vec<&str> = cmd.to_vec();
        args.push(&cursor);
        args.extend_from_slice(opts);
        let (next, items): (String, Vec<String>) = q(c, &args);
        all.extend(items);
        if next == "0" {
            return all;
        }
        cursor = next;
    }
    panic!("{cmd:?} never finished");
}

#[test]
fn sorted_sets() {
    let s = server(&[]);
    let mut c = conn(&s);
    assert_eq!(
        q::<i64>(&mut c, &["ZADD", "z", "1", "a", "2", "b", "3", "c"]),
        3
    );
    assert_eq!(
        q::<i64>(&mut c, &["ZADD", "z", "CH", "5", "a", "2", "b"]),
        1
    );
    assert_eq!(
        q::<i64>(&mut c, &["ZADD", "z", "NX", "9", "a", "4", "d"]),
        1
    );
    assert_eq!(q::<i64>(&mut c, &["ZADD", "z", "XX", "9", "nope"]), 0);
    assert_eq!(
        q::<i64>(&mut c, &["ZADD", "z", "GT", "CH", "1", "a"]),
        0,
        "GT: 1 < 5"
    );
    assert_eq!(
        q::<String>(&mut c, &["ZADD", "z", "INCR", "1.5", "a"]),
        "6.5"
    );
    assert_eq!(
        v(&mut c, &["ZADD", "z", "NX", "INCR", "1", "a"]),
        Value::Nil
    );
    assert_eq!(
        e(&mut c, &["ZADD", "z", "NX", "XX", "1", "a"]),
        "ERR XX and NX options at the same time are not compatible"
    );
    assert_eq!(
        e(&mut c, &["ZADD", "z", "GT", "LT", "1", "a"]),
        "ERR GT, LT, and/or NX options at the same time are not compatible"
    );
    assert_eq!(
        e(&mut c, &["ZADD", "z", "INCR", "1", "a", "2", "b"]),
        "ERR INCR option supports a single increment-element pair"
    );
    assert_eq!(
        e(&mut c, &["ZADD", "z", "x", "a"]),
        "ERR value is not a valid float"
    );
    assert_eq!(
        e(&mut c, &["ZADD", "z", "nan", "a"]),
        "ERR value is not a valid float"
    );
    assert_eq!(e(&mut c, &["ZADD", "z", "1", "a", "2"]), "ERR syntax error");
    assert_eq!(q::<i64>(&mut c, &["ZCARD", "z"]), 4);
    assert_eq!(q::<String>(&mut c, &["ZSCORE", "z", "b"]), "2");
    assert_eq!(v(&mut c, &["ZSCORE", "z", "nope"]), Value::Nil);
    assert_eq!(
        v(&mut c, &["ZRANGE", "z", "0", "-1"]),
        bulks(&["b", "c", "d", "a"])
    );
    assert_eq!(
        v(&mut c, &["ZRANGE", "z", "0", "0", "WITHSCORES"]),
        bulks(&["b", "2"])
    );
    assert_eq!(
        v(&mut c, &["ZRANGE", "z", "0", "1", "REV"]),
        bulks(&["a", "d"])
    );
    assert_eq!(v(&mut c, &["ZREVRANGE", "z", "0", "0"]), bulks(&["a"]));
    assert_eq!(
        v(&mut c, &["ZRANGE", "z", "(2", "4", "BYSCORE"]),
        bulks(&["c", "d"])
    );
    assert_eq!(
        v(
            &mut c,
            &[
                "ZRANGE", "z", "+inf", "-inf", "BYSCORE", "REV", "LIMIT", "1", "2"
            ]
        ),
        bulks(&["d", "c"])
    );
    assert_eq!(
        v(&mut c, &["ZRANGEBYSCORE", "z", "-inf", "(3"]),
        bulks(&["b"])
    );
    assert_eq!(
        v(
            &mut c,
            &["ZREVRANGEBYSCORE", "z", "+inf", "4", "WITHSCORES"]
        ),
        bulks(&["a", "6.5", "d", "4"])
    );
    assert_eq!(
        e(&mut c, &["ZRANGEBYSCORE", "z", "x", "1"]),
        "ERR min or max is not a float"
    );
    assert_eq!(q::<i64>(&mut c, &["ZCOUNT", "z", "2", "4"]), 3);
    let _: i64 = q(
        &mut c,
        &["ZADD", "lex", "0", "a", "0", "b", "0", "c", "0", "d"],
    );
    assert_eq!(
        v(&mut c, &["ZRANGE", "lex", "[b", "(d", "BYLEX"]),
        bulks(&["b", "c"])
    );
    assert_eq!(
        v(
            &mut c,
            &["ZRANGE", "lex", "+", "-", "BYLEX", "REV", "LIMIT", "0", "2"]
        ),
        bulks(&["d", "c"])
    );
    assert_eq!(
        e(&mut c, &["ZRANGE", "lex", "b", "d", "BYLEX"]),
        "ERR min or max not valid string range item"
    );
    assert_eq!(q::<i64>(&mut c, &["ZRANK", "z", "c"]), 1);
    assert_eq!(q::<i64>(&mut c, &["ZREVRANK", "z", "c"]), 2);
    assert_eq!(
        v(&mut c, &["ZRANK", "z", "c", "WITHSCORE"]),
        Value::Array(vec![Value::Int(1), Value::BulkString(b"3".to_vec())])
    );
    assert_eq!(v(&mut c, &["ZRANK", "z", "nope"]), Value::Nil);
    assert_eq!(q::<String>(&mut c, &["ZINCRBY", "z", "-10", "a"]), "-3.5");
    assert_eq!(v(&mut c, &["ZPOPMIN", "z"]), bulks(&["a", "-3.5"]));
    assert_eq!(
        v(&mut c, &["ZPOPMAX", "z", "2"]),
        bulks(&["d", "4", "c", "3"])
    );
    assert_eq!(q::<i64>(&mut c, &["ZREM", "z", "b", "nope"]), 1);
    assert_eq!(q::<i64>(&mut c, &["EXISTS", "z"]), 0);
    assert_eq!(v(&mut c, &["ZPOPMIN", "z"]), Value::Array(vec![]));
    let _: i64 = q(&mut c, &["ZADD", "inf", "-inf", "lo", "+inf", "hi"]);
    assert_eq!(
        v(&mut c, &["ZRANGE", "inf", "0", "-1", "WITHSCORES"]),
        bulks(&["lo", "-inf", "hi", "inf"])
    );
    assert_eq!(
        q::<String>(&mut c, &["OBJECT", "ENCODING", "inf"]),
        "listpack"
    );
    ok(&mut c, &["SET", "str", "x"]);
    assert_eq!(e(&mut c, &["ZADD", "str", "1", "a"]), WRONGTYPE);
    // RESP3: scores are doubles, WITHSCORES gives pairs.
    let mut c3 = resp3(&s);
    let _: i64 = q(&mut c3, &["ZADD", "r3", "1.5", "m"]);
    assert_eq!(v(&mut c3, &["ZSCORE", "r3", "m"]), Value::Double(1.5));
    assert_eq!(
        v(&mut c3, &["ZRANGE", "r3", "0", "-1", "WITHSCORES"]),
        Value::Array(vec![Value::Array(vec![
            Value::BulkString(b"m".to_vec()),
            Value::Double(1.5)
        ])])
    );
}

#[test]
fn every_type_dumps_restores_and_copies() {
    let s = server(&[]);
    let mut c = conn(&s);
    let _: i64 = q(&mut c, &["HSET", "h", "f", "v"]);
    let _: i64 = q(&mut c, &["RPUSH", "l", "a", "b"]);
    let _: i64 = q(&mut c, &["SADD", "s", "x", "1"]);
    let _: i64 = q(&mut c, &["ZADD", "z", "1.5", "m"]);
    for (k, t) in [("h", "hash"), ("l", "list"), ("s", "set"), ("z", "zset")] {
        let payload: Vec<u8> = redis::cmd("DUMP").arg(k).query(&mut c).unwrap();
        let _: () = redis::cmd("RESTORE")
            .arg(format!("{k}2"))
            .arg(0)
            .arg(&payload)
            .query(&mut c)
            .unwrap();
        assert_eq!(q::<String>(&mut c, &["TYPE", &format!("{k}2")]), t);
        assert_eq!(q::<i64>(&mut c, &["COPY", k, &format!("{k}3")]), 1);
        let (_, keys): (String, Vec<String>) =
            q(&mut c, &["SCAN", "0", "TYPE", t, "COUNT", "1000"]);
        assert_eq!(keys.len(), 3, "{t}: {keys:?}");
    }
    assert_eq!(
        q::<Vec<String>>(&mut c, &["ZRANGE", "z2", "0", "-1", "WITHSCORES"]),
        vec!["m", "1.5"]
    );
    assert_eq!(
        q::<Vec<String>>(&mut c, &["LRANGE", "l3", "0", "-1"]),
        vec!["a", "b"]
    );
    // MGET reads other types as nil; STRLEN refuses them.
    assert_eq!(
        v(&mut c, &["MGET", "h", "l"]),
        Value::Array(vec![Value::Nil, Value::Nil])
    );
    assert_eq!(e(&mut c, &["STRLEN", "h"]), WRONGTYPE);
}

#[test]
fn multi_key_pops_and_sorted_set_algebra() {
    let s = server(&[]);
    let mut c = conn(&s);
    // LMPOP / ZMPOP take the first non-empty key.
    let _: i64 = q(&mut c, &["RPUSH", "l2{t}", "a", "b", "c"]);
    assert_eq!(
        v(
            &mut c,
            &["LMPOP", "2", "l1{t}", "l2{t}", "RIGHT", "COUNT", "2"]
        ),
        Value::Array(vec![
            Value::BulkString(b"l2{t}".to_vec()),
            bulks(&["c", "b"])
        ])
    );
    assert_eq!(v(&mut c, &["LMPOP", "1", "none{t}", "LEFT"]), Value::Nil);
    assert_eq!(
        e(&mut c, &["LMPOP", "0", "l1{t}", "LEFT"]),
        "ERR numkeys should be greater than 0"
    );
    assert_eq!(
        e(&mut c, &["LMPOP", "1", "l1{t}", "LEFT", "COUNT", "0"]),
        "ERR count should be greater than 0"
    );
    assert_eq!(
        e(&mut c, &["LMPOP", "1", "l1{t}", "UP"]),
        "ERR syntax error"
    );
    assert_eq!(
        v(&mut c, &["BLMPOP", "0.1", "1", "l2{t}", "LEFT"]),
        Value::Array(vec![Value::BulkString(b"l2{t}".to_vec()), bulks(&["a"])])
    );
    assert_eq!(
        v(&mut c, &["BLMPOP", "0.1", "1", "l2{t}", "LEFT"]),
        Value::Nil
    );
    let _: i64 = q(&mut c, &["ZADD", "z1{t}", "1", "a", "2", "b", "3", "c"]);
    assert_eq!(
        v(&mut c, &["ZMPOP", "1", "z1{t}", "MAX", "COUNT", "2"]),
        Value::Array(vec![
            Value::BulkString(b"z1{t}".to_vec()),
            Value::Array(vec![bulks(&["c", "3"]), bulks(&["b", "2"])])
        ])
    );
    assert_eq!(
        q::<Vec<String>>(
            &mut c,
            &["COMMAND", "GETKEYS", "ZMPOP", "2", "x", "y", "MIN"]
        ),
        vec!["x", "y"]
    );
    // Algebra over sorted sets and plain sets.
    let _: i64 = q(&mut c, &["ZADD", "za{t}", "1", "a", "2", "b"]);
    let _: i64 = q(&mut c, &["ZADD", "zb{t}", "10", "b", "20", "c"]);
    let _: i64 = q(&mut c, &["SADD", "sc{t}", "b", "d"]);
    assert_eq!(
        v(&mut c, &["ZUNION", "2", "za{t}", "zb{t}", "WITHSCORES"]),
        bulks(&["a", "1", "b", "12", "c", "20"])
    );
    assert_eq!(
        v(
            &mut c,
            &[
                "ZINTER",
                "2",
                "za{t}",
                "zb{t}",
                "AGGREGATE",
                "MAX",
                "WITHSCORES"
            ]
        ),
        bulks(&["b", "10"])
    );
    assert_eq!(
        v(
            &mut c,
            &[
                "ZINTER",
                "2",
                "za{t}",
                "zb{t}",
                "WEIGHTS",
                "2",
                "1",
                "WITHSCORES"
            ]
        ),
        bulks(&["b", "14"])
    );
    assert_eq!(v(&mut c, &["ZDIFF", "2", "za{t}", "zb{t}"]), bulks(&["a"]));
    assert_eq!(
        v(&mut c, &["ZINTER", "2", "zb{t}", "sc{t}", "WITHSCORES"]),
        bulks(&["b", "11"]),
        "a set counts as score 1"
    );
    assert_eq!(
        q::<i64>(&mut c, &["ZUNIONSTORE", "zu{t}", "2", "za{t}", "zb{t}"]),
        3
    );
    assert_eq!(q::<String>(&mut c, &["ZSCORE", "zu{t}", "b"]), "12");
    assert_eq!(
        q::<i64>(&mut c, &["ZINTERSTORE", "zu{t}", "2", "za{t}", "none{t}"]),
        0
    );
    assert_eq!(q::<i64>(&mut c, &["EXISTS", "zu{t}"]), 0);
    assert_eq!(
        q::<i64>(&mut c, &["ZDIFFSTORE", "zd{t}", "2", "zb{t}", "za{t}"]),
        1
    );
    assert_eq!(q::<i64>(&mut c, &["ZINTERCARD", "2", "za{t}", "zb{t}"]), 1);
    assert_eq!(
        q::<i64>(&mut c, &["SINTERCARD", "2", "sc{t}", "sc{t}", "LIMIT", "1"]),
        1
    );
    assert_eq!(
        e(&mut c, &["ZUNION", "0", "za{t}"]),
        "ERR at least 1 input key is needed for 'zunion' command"
    );
    assert_eq!(
        e(
            &mut c,
            &["ZUNION", "2", "za{t}", "zb{t}", "WEIGHTS", "1", "x"]
        ),
        "ERR weight value is not a float"
    );
    ok(&mut c, &["SET", "str{t}", "x"]);
    assert_eq!(e(&mut c, &["ZUNION", "2", "za{t}", "str{t}"]), WRONGTYPE);
    // Lex ranges, removals by range, RANGESTORE, RANDMEMBER, SCAN.
    let _: i64 = q(
        &mut c,
        &[
            "ZADD", "lx{t}", "0", "a", "0", "b", "0", "c", "0", "d", "0", "e",
        ],
    );
    assert_eq!(
        v(&mut c, &["ZRANGEBYLEX", "lx{t}", "(a", "[c"]),
        bulks(&["b", "c"])
    );
    assert_eq!(
        v(
            &mut c,
            &["ZREVRANGEBYLEX", "lx{t}", "+", "-", "LIMIT", "0", "2"]
        ),
        bulks(&["e", "d"])
    );
    assert_eq!(q::<i64>(&mut c, &["ZLEXCOUNT", "lx{t}", "-", "+"]), 5);
    assert_eq!(
        q::<i64>(&mut c, &["ZRANGESTORE", "lr{t}", "lx{t}", "0", "1"]),
        2
    );
    assert_eq!(
        q::<i64>(&mut c, &["ZREMRANGEBYLEX", "lx{t}", "[a", "(c"]),
        2
    );
    assert_eq!(q::<i64>(&mut c, &["ZREMRANGEBYRANK", "lx{t}", "0", "0"]), 1);
    let _: i64 = q(&mut c, &["ZADD", "sc2{t}", "1", "x", "5", "y"]);
    assert_eq!(
        q::<i64>(&mut c, &["ZREMRANGEBYSCORE", "sc2{t}", "-inf", "(5"]),
        1
    );
    assert_eq!(
        q::<Vec<String>>(&mut c, &["ZRANDMEMBER", "lr{t}", "-5"]).len(),
        5
    );
    assert_eq!(
        q::<Vec<String>>(&mut c, &["ZRANDMEMBER", "lr{t}", "5", "WITHSCORES"]).len(),
        4
    );
    let (_, items): (String, Vec<String>) = q(&mut c, &["ZSCAN", "lr{t}", "0"]);
    assert_eq!(items, vec!["a", "0", "b", "0"]);
}

#[test]
fn encoding_thresholds_are_configurable() {
    let s = server(&[]);
    let mut c = conn(&s);
    assert_eq!(
        q::<Vec<String>>(&mut c, &["CONFIG", "GET", "hash-max-listpack-entries"]),
        vec!["hash-max-listpack-entries", "128"]
    );
    ok(
        &mut c,
        &[
            "CONFIG",
            "SET",
            "hash-max-listpack-entries",
            "4",
            "zset-max-listpack-value",
            "3",
            "set-max-intset-entries",
            "2",
        ],
    );
    let _: i64 = q(
        &mut c,
        &["HSET", "h", "a", "1", "b", "2", "c", "3", "d", "4"],
    );
    assert_eq!(
        q::<String>(&mut c, &["OBJECT", "ENCODING", "h"]),
        "listpack"
    );
    let _: i64 = q(&mut c, &["HSET", "h", "e", "5"]);
    assert_eq!(
        q::<String>(&mut c, &["OBJECT", "ENCODING", "h"]),
        "hashtable"
    );
    let _: i64 = q(&mut c, &["ZADD", "z", "1", "abc"]);
    assert_eq!(
        q::<String>(&mut c, &["OBJECT", "ENCODING", "z"]),
        "listpack"
    );
    let _: i64 = q(&mut c, &["ZADD", "z", "1", "abcd"]);
    assert_eq!(
        q::<String>(&mut c, &["OBJECT", "ENCODING", "z"]),
        "skiplist"
    );
    let _: i64 = q(&mut c, &["SADD", "s", "1", "2", "3"]);
    assert_eq!(
        q::<String>(&mut c, &["OBJECT", "ENCODING", "s"]),
        "listpack"
    );
    assert_eq!(q::<i64>(&mut c, &["ZCARD", "z"]), 2);
    assert!(
        e(&mut c, &["CONFIG", "SET", "hash-max-listpack-entries", "x"])
            .starts_with("ERR CONFIG SET failed")
    );
}

/// HSCAN, SSCAN and ZSCAN of large collections page through them; members present for the whole
/// scan come back at least once although others are removed and added between pages.
#[test]
fn collection_scans_keep_their_guarantee_under_changes() {
    let s = server(&[]);
    let mut c = conn(&s);
    let n = 2000;
    let mut h = redis::cmd("HSET");
    h.arg("h");
    let mut st = redis::cmd("SADD");
    st.arg("s");
    let mut z = redis::cmd("ZADD");
    z.arg("z");
    for i in 0..n {
        h.arg(format!("f{i}")).arg("v");
        st.arg(format!("m{i}"));
        z.arg(i).arg(format!("m{i}"));
    }
    let _: () = h.query(&mut c).unwrap();
    let _: () = st.query(&mut c).unwrap();
    let _: () = z.query(&mut c).unwrap();
    for (scan, key, prefix, step, del, add) in [
        ("HSCAN", "h", "f", 2, "HDEL", vec!["HSET", "h"]),
        ("SSCAN", "s", "m", 1, "SREM", vec!["SADD", "s"]),
        ("ZSCAN", "z", "m", 2, "ZREM", vec!["ZADD", "z"]),
    ] {
        let mut cursor = "0".to_string();
        let mut seen = std::collections::HashSet::new();
        let mut pages = 0;
        loop {
            let (next, items): (String, Vec<String>) =
                q(&mut c, &[scan, key, &cursor, "COUNT", "50"]);
            for it in items.iter().step_by(step) {
                seen.insert(it.clone());
            }
            pages += 1;
            // Between pages: remove members 1000.. (never the first 1000) and add new ones.
            let gone = format!("{prefix}{}", 1000 + pages);
            let _: i64 = q(&mut c, &[del, key, &gone]);
            let new = format!("{prefix}new{pages}");
            let mut add_cmd = add.clone();
            if scan == "ZSCAN" {
                add_cmd.push("5");
            }
            add_cmd.push(&new);
            if scan == "HSCAN" {
                add_cmd.push("v");
            }
            let _: i64 = q(&mut c, &add_cmd);
            if next == "0" {
                break;
            }
            cursor = next;
            assert!(pages < 1000, "{scan} does not end");
        }
        assert!(
            pages > 10,
            "{scan} of {n} members in pages of 50 took {pages} pages"
        );
        for i in 0..1000 {
            let m = format!("{prefix}{i}");
            assert!(seen.contains(&m), "{scan} missed {m}, present all along");
        }
    }
}
