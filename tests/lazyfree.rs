//! Lazy freeing (Redis's lazyfree): UNLINK, FLUSHALL/FLUSHDB ASYNC and every
//! `lazyfree-lazy-*` setting hand values of more than 64 elements (or whole flushed keyspaces)
//! to the background thread, counted in INFO's lazyfree_pending_objects / lazyfreed_objects.
mod common;
use common::*;
use std::time::Duration;

fn freed(c: &mut redis::Connection) -> u64 {
    // Settled: nothing pending any more.
    assert!(
        wait_until(Duration::from_secs(5), || info_field(
            c,
            "memory",
            "lazyfree_pending_objects"
        ) == "0"),
        "lazyfree never finished"
    );
    info_field(c, "memory", "lazyfreed_objects")
        .parse()
        .expect("a number")
}

/// A set of `n` members (a hashtable past 128).
fn big_set(c: &mut redis::Connection, key: &str, n: usize) {
    let mut args = vec!["SADD".to_string(), key.to_string()];
    args.extend((0..n).map(|i| format!("member-{i}")));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let _: i64 = q(c, &args);
}

#[test]
fn unlink_frees_big_values_in_the_background_and_del_in_place() {
    let s = server(&[]);
    let mut c = conn(&s);
    ok(&mut c, &["CONFIG", "RESETSTAT"]);
    big_set(&mut c, "big", 1000);
    big_set(&mut c, "small", 10);
    assert_eq!(q::<i64>(&mut c, &["UNLINK", "big", "small", "missing"]), 2);
    assert_eq!(freed(&mut c), 1, "only the big set goes to the thread");
    big_set(&mut c, "big", 1000);
    assert_eq!(q::<i64>(&mut c, &["DEL", "big"]), 1);
    assert_eq!(freed(&mut c), 1, "DEL frees in place");
    // lazyfree-lazy-user-del: DEL as UNLINK.
    ok(&mut c, &["CONFIG", "SET", "lazyfree-lazy-user-del", "yes"]);
    big_set(&mut c, "big", 1000);
    assert_eq!(q::<i64>(&mut c, &["DEL", "big"]), 1);
    assert_eq!(freed(&mut c), 2);
    assert_eq!(q::<i64>(&mut c, &["EXISTS", "big"]), 0);
    ok(&mut c, &["CONFIG", "RESETSTAT"]);
    assert_eq!(freed(&mut c), 0);
}

#[test]
fn flush_async_frees_every_key_in_the_background() {
    let s = server(&[]);
    let mut c = conn(&s);
    let fill = |c: &mut redis::Connection| {
        for i in 0..50 {
            ok(c, &["SET", &format!("k{i}"), "v"]);
        }
    };
    fill(&mut c);
    ok(&mut c, &["FLUSHALL", "ASYNC"]);
    assert_eq!(q::<i64>(&mut c, &["DBSIZE"]), 0);
    assert_eq!(freed(&mut c), 50);
    fill(&mut c);
    ok(&mut c, &["FLUSHDB", "SYNC"]);
    assert_eq!(freed(&mut c), 50);
    fill(&mut c);
    ok(&mut c, &["FLUSHDB"]);
    assert_eq!(freed(&mut c), 50, "no mode is SYNC by default");
    ok(
        &mut c,
        &["CONFIG", "SET", "lazyfree-lazy-user-flush", "yes"],
    );
    fill(&mut c);
    ok(&mut c, &["FLUSHDB"]);
    assert_eq!(freed(&mut c), 100);
    assert_eq!(q::<i64>(&mut c, &["DBSIZE"]), 0);
    assert_eq!(
        e(&mut c, &["FLUSHALL", "LATER"]),
        "ERR syntax error",
        "a bad mode"
    );
}

#[test]
fn expiry_overwrite_and_eviction_follow_their_settings() {
    let s = server(&[]);
    let mut c = conn(&s);
    // Expiry: in place unless lazyfree-lazy-expire.
    big_set(&mut c, "e1", 1000);
    let _: i64 = q(&mut c, &["PEXPIRE", "e1", "1"]);
    std::thread::sleep(Duration::from_millis(5));
    assert_eq!(q::<i64>(&mut c, &["EXISTS", "e1"]), 0);
    assert_eq!(freed(&mut c), 0);
    ok(&mut c, &["CONFIG", "SET", "lazyfree-lazy-expire", "yes"]);
    big_set(&mut c, "e2", 1000);
    let _: i64 = q(&mut c, &["PEXPIRE", "e2", "1"]);
    std::thread::sleep(Duration::from_millis(5));
    assert_eq!(q::<i64>(&mut c, &["EXISTS", "e2"]), 0);
    assert_eq!(freed(&mut c), 1);
    // An overwrite: lazyfree-lazy-server-del.
    big_set(&mut c, "o", 1000);
    ok(&mut c, &["SET", "o", "plain"]);
    assert_eq!(freed(&mut c), 1);
    ok(
        &mut c,
        &["CONFIG", "SET", "lazyfree-lazy-server-del", "yes"],
    );
    big_set(&mut c, "o2", 1000);
    ok(&mut c, &["SET", "o2", "plain"]);
    assert_eq!(freed(&mut c), 2);
    assert_eq!(q::<String>(&mut c, &["GET", "o2"]), "plain");
    // Eviction: lazyfree-lazy-eviction, the only key evicted to make room.
    ok(&mut c, &["FLUSHALL", "SYNC"]);
    ok(&mut c, &["CONFIG", "SET", "lazyfree-lazy-eviction", "yes"]);
    ok(
        &mut c,
        &["CONFIG", "SET", "maxmemory-policy", "allkeys-random"],
    );
    big_set(&mut c, "v", 5000);
    ok(&mut c, &["CONFIG", "SET", "maxmemory", "1"]);
    let _ = e(&mut c, &["SET", "after", "x"]);
    ok(&mut c, &["CONFIG", "SET", "maxmemory", "0"]);
    assert_eq!(q::<i64>(&mut c, &["EXISTS", "v"]), 0, "evicted");
    assert_eq!(freed(&mut c), 3);
}
