//! String commands against the real binary.
mod common;
use common::*;
use redis::Value;

#[test]
fn set_get_and_options() {
    let s = server(&[]);
    let mut c = conn(&s);
    ok(&mut c, &["SET", "k", "v"]);
    assert_eq!(q::<String>(&mut c, &["GET", "k"]), "v");
    assert_eq!(v(&mut c, &["GET", "missing"]), Value::Nil);
    // NX / XX
    assert_eq!(v(&mut c, &["SET", "k", "x", "NX"]), Value::Nil);
    ok(&mut c, &["SET", "k", "x", "XX"]);
    assert_eq!(v(&mut c, &["SET", "new", "x", "XX"]), Value::Nil);
    ok(&mut c, &["SET", "new", "x", "NX"]);
    // GET returns the old value, nil when there was none
    assert_eq!(q::<String>(&mut c, &["SET", "k", "y", "GET"]), "x");
    assert_eq!(v(&mut c, &["SET", "fresh", "y", "GET"]), Value::Nil);
    assert_eq!(q::<String>(&mut c, &["GET", "fresh"]), "y");
    // NX GET on an existing key: no write, old value back
    assert_eq!(q::<String>(&mut c, &["SET", "k", "z", "NX", "GET"]), "y");
    assert_eq!(q::<String>(&mut c, &["GET", "k"]), "y");
    // TTL options
    ok(&mut c, &["SET", "t", "v", "EX", "100"]);
    assert!((99..=100).contains(&q::<i64>(&mut c, &["TTL", "t"])));
    ok(&mut c, &["SET", "t", "v", "PX", "100000"]);
    assert!(q::<i64>(&mut c, &["PTTL", "t"]) > 99_000);
    ok(&mut c, &["SET", "t", "v2", "KEEPTTL"]);
    assert!(q::<i64>(&mut c, &["PTTL", "t"]) > 99_000);
    ok(&mut c, &["SET", "t", "v3"]);
    assert_eq!(q::<i64>(&mut c, &["TTL", "t"]), -1);
    let at = (std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 1000)
        .to_string();
    ok(&mut c, &["SET", "t", "v", "EXAT", &at]);
    assert!(q::<i64>(&mut c, &["TTL", "t"]) > 990);
    ok(&mut c, &["SET", "t", "v", "PXAT", "1000"]);
    assert_eq!(
        q::<i64>(&mut c, &["EXISTS", "t"]),
        0,
        "a PXAT in the past deletes the key"
    );
}

#[test]
fn set_errors() {
    let s = server(&[]);
    let mut c = conn(&s);
    assert_eq!(
        e(&mut c, &["SET", "k"]),
        "ERR wrong number of arguments for 'set' command"
    );
    assert_eq!(
        e(&mut c, &["SET", "k", "v", "NX", "XX"]),
        "ERR syntax error"
    );
    assert_eq!(
        e(&mut c, &["SET", "k", "v", "EX", "10", "PX", "10"]),
        "ERR syntax error"
    );
    assert_eq!(
        e(&mut c, &["SET", "k", "v", "EX", "10", "KEEPTTL"]),
        "ERR syntax error"
    );
    assert_eq!(e(&mut c, &["SET", "k", "v", "EX"]), "ERR syntax error");
    assert_eq!(e(&mut c, &["SET", "k", "v", "BOGUS"]), "ERR syntax error");
    assert_eq!(
        e(&mut c, &["SET", "k", "v", "EX", "abc"]),
        "ERR value is not an integer or out of range"
    );
    assert_eq!(
        e(&mut c, &["SET", "k", "v", "EX", "0"]),
        "ERR invalid expire time in 'set' command"
    );
    assert_eq!(
        e(&mut c, &["SET", "k", "v", "EX", "-5"]),
        "ERR invalid expire time in 'set' command"
    );
    assert_eq!(
        e(&mut c, &["SET", "k", "v", "EX", "9223372036854775807"]),
        "ERR invalid expire time in 'set' command"
    );
    assert_eq!(
        e(&mut c, &["SETEX", "k", "0", "v"]),
        "ERR invalid expire time in 'setex' command"
    );
    assert_eq!(
        e(&mut c, &["PSETEX", "k", "-1", "v"]),
        "ERR invalid expire time in 'psetex' command"
    );
    assert_eq!(
        v(&mut c, &["EXISTS", "k"]),
        Value::Int(0),
        "failed SETs write nothing"
    );
}

#[test]
fn setnx_setex_getset_getdel_getex() {
    let s = server(&[]);
    let mut c = conn(&s);
    assert_eq!(q::<i64>(&mut c, &["SETNX", "a", "1"]), 1);
    assert_eq!(q::<i64>(&mut c, &["SETNX", "a", "2"]), 0);
    ok(&mut c, &["SETEX", "b", "100", "x"]);
    assert!(q::<i64>(&mut c, &["TTL", "b"]) > 90);
    ok(&mut c, &["PSETEX", "b", "100000", "x"]);
    assert!(q::<i64>(&mut c, &["PTTL", "b"]) > 90_000);
    assert_eq!(q::<String>(&mut c, &["GETSET", "b", "y"]), "x");
    assert_eq!(q::<i64>(&mut c, &["TTL", "b"]), -1, "GETSET clears the TTL");
    assert_eq!(v(&mut c, &["GETSET", "nokey", "y"]), Value::Nil);
    assert_eq!(q::<String>(&mut c, &["GETDEL", "b"]), "y");
    assert_eq!(v(&mut c, &["GETDEL", "b"]), Value::Nil);
    ok(&mut c, &["SET", "g", "v"]);
    assert_eq!(q::<String>(&mut c, &["GETEX", "g", "EX", "100"]), "v");
    assert!(q::<i64>(&mut c, &["TTL", "g"]) > 90);
    assert_eq!(q::<String>(&mut c, &["GETEX", "g", "PERSIST"]), "v");
    assert_eq!(q::<i64>(&mut c, &["TTL", "g"]), -1);
    assert_eq!(q::<String>(&mut c, &["GETEX", "g"]), "v");
    assert_eq!(v(&mut c, &["GETEX", "nokey2", "EX", "10"]), Value::Nil);
    assert_eq!(
        e(&mut c, &["GETEX", "g", "EX", "10", "PERSIST"]),
        "ERR syntax error"
    );
    assert_eq!(
        e(&mut c, &["GETEX", "g", "EX", "0"]),
        "ERR invalid expire time in 'getex' command"
    );
    assert_eq!(e(&mut c, &["GETEX", "g", "FOO"]), "ERR syntax error");
}

#[test]
fn mget_mset_msetnx() {
    let s = server(&[]);
    let mut c = conn(&s);
    ok(&mut c, &["MSET", "a{t}", "1", "b{t}", "2"]);
    assert_eq!(
        v(&mut c, &["MGET", "a{t}", "b{t}", "c{t}"]),
        Value::Array(vec![
            Value::BulkString(b"1".to_vec()),
            Value::BulkString(b"2".to_vec()),
            Value::Nil
        ])
    );
    assert_eq!(
        e(&mut c, &["MSET", "a{t}", "1", "b{t}"]),
        "ERR wrong number of arguments for 'mset' command"
    );
    assert_eq!(q::<i64>(&mut c, &["MSETNX", "a{t}", "9", "z{t}", "9"]), 0);
    assert_eq!(
        v(&mut c, &["GET", "z{t}"]),
        Value::Nil,
        "MSETNX is all or nothing"
    );
    assert_eq!(q::<i64>(&mut c, &["MSETNX", "y{t}", "9", "z{t}", "9"]), 1);
    assert_eq!(
        e(&mut c, &["MSETNX", "a{t}"]),
        "ERR wrong number of arguments for 'msetnx' command"
    );
}

#[test]
fn counters() {
    let s = server(&[]);
    let mut c = conn(&s);
    assert_eq!(q::<i64>(&mut c, &["INCR", "n"]), 1);
    assert_eq!(q::<i64>(&mut c, &["INCRBY", "n", "10"]), 11);
    assert_eq!(q::<i64>(&mut c, &["DECR", "n"]), 10);
    assert_eq!(q::<i64>(&mut c, &["DECRBY", "n", "20"]), -10);
    assert_eq!(q::<String>(&mut c, &["OBJECT", "ENCODING", "n"]), "int");
    ok(&mut c, &["SET", "n", "9223372036854775807"]);
    assert_eq!(
        e(&mut c, &["INCR", "n"]),
        "ERR increment or decrement would overflow"
    );
    ok(&mut c, &["SET", "n", "-9223372036854775808"]);
    assert_eq!(
        e(&mut c, &["DECR", "n"]),
        "ERR increment or decrement would overflow"
    );
    assert_eq!(
        e(&mut c, &["DECRBY", "x", "-9223372036854775808"]),
        "ERR increment or decrement would overflow"
    );
    ok(&mut c, &["SET", "s", "abc"]);
    assert_eq!(
        e(&mut c, &["INCR", "s"]),
        "ERR value is not an integer or out of range"
    );
    ok(&mut c, &["SET", "s", " 1"]);
    assert_eq!(
        e(&mut c, &["INCR", "s"]),
        "ERR value is not an integer or out of range"
    );
    assert_eq!(
        e(&mut c, &["INCRBY", "n", "1.5"]),
        "ERR value is not an integer or out of range"
    );
    // the value is kept as text when it is not canonical
    ok(&mut c, &["SET", "z", "007"]);
    assert_eq!(q::<String>(&mut c, &["GET", "z"]), "007");
    assert_eq!(
        e(&mut c, &["INCR", "z"]),
        "ERR value is not an integer or out of range"
    );
    // float
    assert_eq!(q::<String>(&mut c, &["INCRBYFLOAT", "f", "10.5"]), "10.5");
    assert_eq!(q::<String>(&mut c, &["INCRBYFLOAT", "f", "0.1"]), "10.6");
    assert_eq!(q::<String>(&mut c, &["INCRBYFLOAT", "f", "-5.6"]), "5");
    assert_eq!(q::<String>(&mut c, &["INCRBYFLOAT", "f", "2e2"]), "205");
    assert_eq!(
        e(&mut c, &["INCRBYFLOAT", "f", "abc"]),
        "ERR value is not a valid float"
    );
    assert_eq!(
        e(&mut c, &["INCRBYFLOAT", "f", "inf"]),
        "ERR increment would produce NaN or Infinity"
    );
    assert_eq!(
        e(&mut c, &["INCRBYFLOAT", "s", "1"]),
        "ERR value is not a valid float"
    );
    assert_eq!(q::<String>(&mut c, &["GET", "f"]), "205");
}

#[test]
fn append_strlen_ranges() {
    let s = server(&[]);
    let mut c = conn(&s);
    assert_eq!(q::<i64>(&mut c, &["APPEND", "s", "Hello"]), 5);
    assert_eq!(q::<i64>(&mut c, &["APPEND", "s", " World"]), 11);
    assert_eq!(q::<i64>(&mut c, &["STRLEN", "s"]), 11);
    assert_eq!(q::<i64>(&mut c, &["STRLEN", "nokey"]), 0);
    ok(&mut c, &["SET", "i", "12345"]);
    assert_eq!(q::<i64>(&mut c, &["STRLEN", "i"]), 5);
    assert_eq!(q::<i64>(&mut c, &["APPEND", "i", "6"]), 6);
    assert_eq!(q::<i64>(&mut c, &["INCR", "i"]), 123457);
    ok(&mut c, &["SET", "r", "This is a string"]);
    assert_eq!(q::<String>(&mut c, &["GETRANGE", "r", "0", "3"]), "This");
    assert_eq!(q::<String>(&mut c, &["GETRANGE", "r", "-3", "-1"]), "ing");
    assert_eq!(
        q::<String>(&mut c, &["GETRANGE", "r", "0", "-1"]),
        "This is a string"
    );
    assert_eq!(
        q::<String>(&mut c, &["GETRANGE", "r", "10", "100"]),
        "string"
    );
    assert_eq!(q::<String>(&mut c, &["GETRANGE", "r", "5", "2"]), "");
    assert_eq!(q::<String>(&mut c, &["GETRANGE", "r", "-1", "-5"]), "");
    assert_eq!(q::<String>(&mut c, &["GETRANGE", "nokey", "0", "-1"]), "");
    assert_eq!(q::<String>(&mut c, &["SUBSTR", "r", "0", "3"]), "This");
    assert_eq!(
        e(&mut c, &["GETRANGE", "r", "a", "1"]),
        "ERR value is not an integer or out of range"
    );
    ok(&mut c, &["SET", "w", "Hello World"]);
    assert_eq!(q::<i64>(&mut c, &["SETRANGE", "w", "6", "Redis"]), 11);
    assert_eq!(q::<String>(&mut c, &["GET", "w"]), "Hello Redis");
    assert_eq!(q::<i64>(&mut c, &["SETRANGE", "pad", "3", "x"]), 4);
    assert_eq!(q::<Vec<u8>>(&mut c, &["GET", "pad"]), b"\0\0\0x".to_vec());
    assert_eq!(q::<i64>(&mut c, &["SETRANGE", "empty", "3", ""]), 0);
    assert_eq!(
        q::<i64>(&mut c, &["EXISTS", "empty"]),
        0,
        "an empty SETRANGE creates nothing"
    );
    assert_eq!(
        e(&mut c, &["SETRANGE", "w", "-1", "x"]),
        "ERR offset is out of range"
    );
    assert_eq!(
        e(&mut c, &["SETRANGE", "w", "536870911", "xx"]),
        "ERR string exceeds maximum allowed size (proto-max-bulk-len)"
    );
}

#[test]
fn binary_safe_keys_and_values() {
    let s = server(&[]);
    let mut c = conn(&s);
    let key = vec![0u8, 255, 13, 10, 32];
    let val: Vec<u8> = (0..=255).collect();
    let _: () = redis::cmd("SET").arg(&key).arg(&val).query(&mut c).unwrap();
    let got: Vec<u8> = redis::cmd("GET").arg(&key).query(&mut c).unwrap();
    assert_eq!(got, val);
    let big = vec![b'x'; 1 << 20];
    let _: () = redis::cmd("SET")
        .arg("big")
        .arg(&big)
        .query(&mut c)
        .unwrap();
    assert_eq!(q::<i64>(&mut c, &["STRLEN", "big"]), 1 << 20);
    assert_eq!(q::<String>(&mut c, &["OBJECT", "ENCODING", "big"]), "raw");
    ok(&mut c, &["SET", "small", "abc"]);
    assert_eq!(
        q::<String>(&mut c, &["OBJECT", "ENCODING", "small"]),
        "embstr"
    );
}
