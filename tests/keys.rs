//! Generic key commands and TTLs against the real binary.
mod common;
use common::*;
use redis::Value;
use std::collections::HashSet;
use std::time::Duration;

#[test]
fn del_exists_type_touch() {
    let s = server(&[]);
    let mut c = conn(&s);
    ok(&mut c, &["MSET", "a{t}", "1", "b{t}", "2"]);
    assert_eq!(q::<i64>(&mut c, &["EXISTS", "a{t}", "a{t}", "x{t}"]), 2);
    assert_eq!(q::<i64>(&mut c, &["TOUCH", "a{t}", "x{t}"]), 1);
    assert_eq!(q::<String>(&mut c, &["TYPE", "a{t}"]), "string");
    assert_eq!(q::<String>(&mut c, &["TYPE", "x{t}"]), "none");
    assert_eq!(q::<i64>(&mut c, &["DEL", "a{t}", "b{t}", "x{t}"]), 2);
    ok(&mut c, &["SET", "u", "1"]);
    assert_eq!(q::<i64>(&mut c, &["UNLINK", "u", "u"]), 1);
    assert_eq!(
        e(&mut c, &["DEL"]),
        "ERR wrong number of arguments for 'del' command"
    );
}

#[test]
fn rename_copy_move() {
    let s = server(&["--databases", "4"]);
    let mut c = conn(&s);
    ok(&mut c, &["SET", "a{t}", "1", "EX", "100"]);
    ok(&mut c, &["RENAME", "a{t}", "b{t}"]);
    assert_eq!(q::<i64>(&mut c, &["EXISTS", "a{t}"]), 0);
    assert!(
        q::<i64>(&mut c, &["TTL", "b{t}"]) > 90,
        "RENAME keeps the TTL"
    );
    ok(&mut c, &["RENAME", "b{t}", "b{t}"]);
    assert_eq!(e(&mut c, &["RENAME", "nope{t}", "x{t}"]), "ERR no such key");
    ok(&mut c, &["SET", "c{t}", "3"]);
    assert_eq!(q::<i64>(&mut c, &["RENAMENX", "b{t}", "c{t}"]), 0);
    assert_eq!(q::<i64>(&mut c, &["RENAMENX", "b{t}", "d{t}"]), 1);
    assert_eq!(
        e(&mut c, &["RENAMENX", "nope{t}", "x{t}"]),
        "ERR no such key"
    );
    // COPY
    assert_eq!(q::<i64>(&mut c, &["COPY", "c{t}", "e{t}"]), 1);
    assert_eq!(q::<i64>(&mut c, &["COPY", "c{t}", "e{t}"]), 0);
    ok(&mut c, &["SET", "c{t}", "30"]);
    assert_eq!(q::<i64>(&mut c, &["COPY", "c{t}", "e{t}", "REPLACE"]), 1);
    assert_eq!(q::<String>(&mut c, &["GET", "e{t}"]), "30");
    assert_eq!(q::<i64>(&mut c, &["COPY", "nope{t}", "e{t}"]), 0);
    assert_eq!(q::<i64>(&mut c, &["COPY", "c{t}", "c{t}", "DB", "1"]), 1);
    assert_eq!(
        e(&mut c, &["COPY", "c{t}", "c{t}"]),
        "ERR source and destination objects are the same"
    );
    assert_eq!(
        e(&mut c, &["COPY", "c{t}", "x{t}", "DB", "99"]),
        "ERR DB index is out of range"
    );
    assert_eq!(
        e(&mut c, &["COPY", "c{t}", "x{t}", "FOO"]),
        "ERR syntax error"
    );
    // MOVE
    ok(&mut c, &["SET", "m", "1"]);
    assert_eq!(q::<i64>(&mut c, &["MOVE", "m", "2"]), 1);
    assert_eq!(q::<i64>(&mut c, &["EXISTS", "m"]), 0);
    assert_eq!(q::<i64>(&mut c, &["MOVE", "m", "2"]), 0);
    ok(&mut c, &["SET", "m", "2"]);
    assert_eq!(q::<i64>(&mut c, &["MOVE", "m", "2"]), 0, "target exists");
    assert_eq!(
        e(&mut c, &["MOVE", "m", "0"]),
        "ERR source and destination objects are the same"
    );
    assert_eq!(
        e(&mut c, &["MOVE", "m", "9"]),
        "ERR DB index is out of range"
    );
    ok(&mut c, &["SELECT", "2"]);
    assert_eq!(q::<String>(&mut c, &["GET", "m"]), "1");
    ok(&mut c, &["SELECT", "1"]);
    assert_eq!(q::<String>(&mut c, &["GET", "c{t}"]), "30");
}

#[test]
fn select_and_swapdb() {
    let s = server(&["--databases", "4"]);
    let mut c = conn(&s);
    ok(&mut c, &["SET", "k", "db0"]);
    ok(&mut c, &["SELECT", "1"]);
    assert_eq!(v(&mut c, &["GET", "k"]), Value::Nil);
    ok(&mut c, &["SET", "k", "db1"]);
    ok(&mut c, &["SWAPDB", "0", "1"]);
    assert_eq!(q::<String>(&mut c, &["GET", "k"]), "db0");
    assert_eq!(e(&mut c, &["SELECT", "4"]), "ERR DB index is out of range");
    assert_eq!(e(&mut c, &["SELECT", "-1"]), "ERR DB index is out of range");
    assert_eq!(
        e(&mut c, &["SELECT", "x"]),
        "ERR value is not an integer or out of range"
    );
    assert_eq!(
        e(&mut c, &["SWAPDB", "x", "1"]),
        "ERR invalid first DB index"
    );
    assert_eq!(
        e(&mut c, &["SWAPDB", "0", "y"]),
        "ERR invalid second DB index"
    );
    assert_eq!(
        e(&mut c, &["SWAPDB", "0", "7"]),
        "ERR DB index is out of range"
    );
    ok(&mut c, &["SELECT", "0"]);
    assert_eq!(q::<String>(&mut c, &["GET", "k"]), "db1");
}

#[test]
fn keys_scan_randomkey() {
    let s = server(&[]);
    let mut c = conn(&s);
    for i in 0..500 {
        ok(&mut c, &["SET", &format!("user:{i}"), "x"]);
    }
    ok(&mut c, &["SET", "other", "x"]);
    assert_eq!(q::<Vec<String>>(&mut c, &["KEYS", "*"]).len(), 501);
    assert_eq!(q::<Vec<String>>(&mut c, &["KEYS", "user:1?"]).len(), 10);
    assert_eq!(
        q::<Vec<String>>(&mut c, &["KEYS", "oth[a-f]r"]),
        vec!["other".to_string()]
    );
    // SCAN returns every key, with MATCH and COUNT honoured
    let mut seen = HashSet::new();
    let mut cursor = "0".to_string();
    let mut rounds = 0;
    loop {
        let (next, batch): (String, Vec<String>) =
            q(&mut c, &["SCAN", &cursor, "MATCH", "user:*", "COUNT", "50"]);
        assert!(batch.len() <= 50);
        seen.extend(batch);
        cursor = next;
        rounds += 1;
        if cursor == "0" {
            break;
        }
        assert!(rounds < 10_000);
    }
    assert_eq!(seen.len(), 500);
    assert!(seen.iter().all(|k| k.starts_with("user:")));
    let (_, strings): (String, Vec<String>) =
        q(&mut c, &["SCAN", "0", "TYPE", "hash", "COUNT", "1000"]);
    assert!(strings.is_empty());
    assert_eq!(e(&mut c, &["SCAN", "abc"]), "ERR invalid cursor");
    assert_eq!(e(&mut c, &["SCAN", "0", "COUNT", "0"]), "ERR syntax error");
    assert_eq!(e(&mut c, &["SCAN", "0", "MATCH"]), "ERR syntax error");
    let k: String = q(&mut c, &["RANDOMKEY"]);
    assert!(k.starts_with("user:") || k == "other");
    ok(&mut c, &["FLUSHDB"]);
    assert_eq!(v(&mut c, &["RANDOMKEY"]), Value::Nil);
}

#[test]
fn scan_survives_deletes_during_iteration() {
    let s = server(&["--shards", "4"]);
    let mut c = conn(&s);
    for i in 0..2000 {
        ok(&mut c, &["SET", &format!("k{i}"), "x"]);
    }
    // Keys 0..1000 stay for the whole scan; 1000..2000 are deleted as it goes.
    let mut seen = HashSet::new();
    let mut cursor = "0".to_string();
    let mut next_del = 1000;
    loop {
        let (next, batch): (String, Vec<String>) = q(&mut c, &["SCAN", &cursor, "COUNT", "37"]);
        seen.extend(batch);
        for _ in 0..20 {
            if next_del < 2000 {
                let _: i64 = q(&mut c, &["DEL", &format!("k{next_del}")]);
                next_del += 1;
            }
        }
        cursor = next;
        if cursor == "0" {
            break;
        }
    }
    for i in 0..1000 {
        assert!(
            seen.contains(&format!("k{i}")),
            "k{i} was present all along but not returned"
        );
    }
}

#[test]
fn expire_family() {
    let s = server(&[]);
    let mut c = conn(&s);
    ok(&mut c, &["SET", "k", "v"]);
    assert_eq!(q::<i64>(&mut c, &["TTL", "k"]), -1);
    assert_eq!(q::<i64>(&mut c, &["TTL", "nokey"]), -2);
    assert_eq!(q::<i64>(&mut c, &["PTTL", "nokey"]), -2);
    assert_eq!(q::<i64>(&mut c, &["EXPIRETIME", "k"]), -1);
    assert_eq!(q::<i64>(&mut c, &["EXPIRE", "nokey", "10"]), 0);
    assert_eq!(q::<i64>(&mut c, &["EXPIRE", "k", "100"]), 1);
    assert_eq!(q::<i64>(&mut c, &["TTL", "k"]), 100);
    // NX XX GT LT
    assert_eq!(q::<i64>(&mut c, &["EXPIRE", "k", "200", "NX"]), 0);
    assert_eq!(q::<i64>(&mut c, &["EXPIRE", "k", "200", "XX"]), 1);
    assert_eq!(q::<i64>(&mut c, &["EXPIRE", "k", "100", "GT"]), 0);
    assert_eq!(q::<i64>(&mut c, &["EXPIRE", "k", "300", "GT"]), 1);
    assert_eq!(q::<i64>(&mut c, &["EXPIRE", "k", "400", "LT"]), 0);
    assert_eq!(q::<i64>(&mut c, &["EXPIRE", "k", "50", "LT"]), 1);
    assert_eq!(q::<i64>(&mut c, &["PERSIST", "k"]), 1);
    assert_eq!(q::<i64>(&mut c, &["PERSIST", "k"]), 0);
    assert_eq!(q::<i64>(&mut c, &["EXPIRE", "k", "100", "XX"]), 0);
    assert_eq!(
        q::<i64>(&mut c, &["EXPIRE", "k", "100", "GT"]),
        0,
        "no TTL is infinite for GT"
    );
    assert_eq!(
        q::<i64>(&mut c, &["EXPIRE", "k", "100", "LT"]),
        1,
        "no TTL is infinite for LT"
    );
    assert_eq!(
        e(&mut c, &["EXPIRE", "k", "100", "NX", "XX"]),
        "ERR NX and XX, GT or LT options at the same time are not compatible"
    );
    assert_eq!(
        e(&mut c, &["EXPIRE", "k", "100", "GT", "LT"]),
        "ERR GT and LT options at the same time are not compatible"
    );
    assert_eq!(
        e(&mut c, &["EXPIRE", "k", "100", "FOO"]),
        "ERR Unsupported option FOO"
    );
    assert_eq!(
        e(&mut c, &["EXPIRE", "k", "abc"]),
        "ERR value is not an integer or out of range"
    );
    assert_eq!(
        e(&mut c, &["EXPIRE", "k", "9223372036854775807"]),
        "ERR invalid expire time in 'expire' command"
    );
    assert_eq!(q::<i64>(&mut c, &["PEXPIRE", "k", "100000"]), 1);
    assert!(q::<i64>(&mut c, &["PTTL", "k"]) > 99_000);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    assert_eq!(
        q::<i64>(&mut c, &["EXPIREAT", "k", &(now + 500).to_string()]),
        1
    );
    assert_eq!(q::<i64>(&mut c, &["EXPIRETIME", "k"]), now + 500);
    assert_eq!(q::<i64>(&mut c, &["PEXPIRETIME", "k"]), (now + 500) * 1000);
    assert_eq!(
        q::<i64>(
            &mut c,
            &["PEXPIREAT", "k", &((now + 600) * 1000).to_string()]
        ),
        1
    );
    assert_eq!(q::<i64>(&mut c, &["EXPIRETIME", "k"]), now + 600);
    // a time in the past deletes the key
    assert_eq!(q::<i64>(&mut c, &["EXPIRE", "k", "-1"]), 1);
    assert_eq!(q::<i64>(&mut c, &["EXISTS", "k"]), 0);
}

#[test]
fn lazy_expiry_hides_keys_everywhere() {
    let s = server(&["--enable-debug-command", "yes"]);
    let mut c = conn(&s);
    ok(&mut c, &["DEBUG", "SET-ACTIVE-EXPIRE", "0"]);
    ok(&mut c, &["SET", "gone", "v", "PX", "50"]);
    ok(&mut c, &["SET", "stay", "v"]);
    std::thread::sleep(Duration::from_millis(120));
    assert_eq!(v(&mut c, &["GET", "gone"]), Value::Nil);
    ok(&mut c, &["SET", "gone2", "v", "PX", "50"]);
    std::thread::sleep(Duration::from_millis(120));
    assert_eq!(
        q::<Vec<String>>(&mut c, &["KEYS", "*"]),
        vec!["stay".to_string()]
    );
    let (_, keys): (String, Vec<String>) = q(&mut c, &["SCAN", "0", "COUNT", "1000"]);
    assert_eq!(keys, vec!["stay".to_string()]);
    assert_eq!(q::<i64>(&mut c, &["EXISTS", "gone2"]), 0);
    assert_eq!(q::<i64>(&mut c, &["TTL", "gone2"]), -2);
}

#[test]
fn active_expiry_reclaims_100k_untouched_keys() {
    let s = server(&[]);
    let mut c = conn(&s);
    let mut p = redis::pipe();
    for i in 0..100_000 {
        p.cmd("SET")
            .arg(format!("e:{i}"))
            .arg("v")
            .arg("EX")
            .arg(3)
            .ignore();
    }
    let _: () = p.query(&mut c).unwrap();
    ok(&mut c, &["SET", "keep", "v"]);
    // (A loaded debug build may take a while to load them: 3 s of life keeps this exact.)
    assert_eq!(q::<i64>(&mut c, &["DBSIZE"]), 100_001);
    // Never touched again: the active cycle must reclaim them while the server keeps answering.
    let gone = wait_until(Duration::from_secs(12), || {
        let _: String = q(&mut c, &["PING"]);
        q::<i64>(&mut c, &["DBSIZE"]) == 1
    });
    assert!(gone, "dbsize still {}", q::<i64>(&mut c, &["DBSIZE"]));
    let info: String = q(&mut c, &["INFO", "stats"]);
    assert!(info.contains("expired_keys:100000"), "{info}");
}

#[test]
fn object_dump_restore() {
    let s = server(&[]);
    let mut c = conn(&s);
    ok(&mut c, &["SET", "n", "123"]);
    ok(&mut c, &["SET", "s", "hello"]);
    assert_eq!(q::<String>(&mut c, &["OBJECT", "ENCODING", "n"]), "int");
    assert_eq!(q::<String>(&mut c, &["OBJECT", "ENCODING", "s"]), "embstr");
    assert_eq!(q::<i64>(&mut c, &["OBJECT", "REFCOUNT", "s"]), 1);
    assert!(q::<i64>(&mut c, &["OBJECT", "IDLETIME", "s"]) <= 1);
    assert_eq!(v(&mut c, &["OBJECT", "ENCODING", "nokey"]), Value::Nil);
    assert!(
        e(&mut c, &["OBJECT", "FREQ", "s"])
            .starts_with("ERR An LFU maxmemory policy is not selected")
    );
    assert_eq!(
        e(&mut c, &["OBJECT", "FOO", "s"]),
        "ERR unknown subcommand 'FOO'. Try OBJECT HELP."
    );
    assert_eq!(
        e(&mut c, &["OBJECT", "ENCODING"]),
        "ERR wrong number of arguments for 'object|encoding' command"
    );
    assert!(!q::<Vec<String>>(&mut c, &["OBJECT", "HELP"]).is_empty());
    for key in ["n", "s"] {
        let payload: Vec<u8> = redis::cmd("DUMP").arg(key).query(&mut c).unwrap();
        let _: () = redis::cmd("RESTORE")
            .arg(format!("{key}2"))
            .arg(0)
            .arg(&payload)
            .query(&mut c)
            .unwrap();
        assert_eq!(
            q::<String>(&mut c, &["GET", &format!("{key}2")]),
            q::<String>(&mut c, &["GET", key])
        );
        let err = redis::cmd("RESTORE")
            .arg(format!("{key}2"))
            .arg(0)
            .arg(&payload)
            .query::<()>(&mut c)
            .unwrap_err();
        assert_eq!(err.code(), Some("BUSYKEY"));
        let _: () = redis::cmd("RESTORE")
            .arg(format!("{key}2"))
            .arg(5000)
            .arg(&payload)
            .arg("REPLACE")
            .query(&mut c)
            .unwrap();
        assert!(q::<i64>(&mut c, &["PTTL", &format!("{key}2")]) > 4000);
        let mut bad = payload.clone();
        bad[0] ^= 1;
        let err = redis::cmd("RESTORE")
            .arg("x")
            .arg(0)
            .arg(&bad)
            .query::<()>(&mut c)
            .unwrap_err();
        assert_eq!(
            err.detail(),
            Some("DUMP payload version or checksum are wrong")
        );
        let err = redis::cmd("RESTORE")
            .arg("x")
            .arg(-1)
            .arg(&payload)
            .query::<()>(&mut c)
            .unwrap_err();
        assert_eq!(err.detail(), Some("Invalid TTL value, must be >= 0"));
    }
    assert_eq!(v(&mut c, &["DUMP", "nokey"]), Value::Nil);
    assert_eq!(
        e(&mut c, &["RESTORE", "x", "0", "garbage"]),
        "ERR DUMP payload version or checksum are wrong"
    );
    assert!(q::<i64>(&mut c, &["MEMORY", "USAGE", "s"]) > 5);
    assert_eq!(v(&mut c, &["MEMORY", "USAGE", "nokey"]), Value::Nil);
}
