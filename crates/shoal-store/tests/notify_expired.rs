//! The log of expired keys for keyspace notifications (`Tuning::notify_expired`): lazy expiry
//! (a lookup) and the active sweep both record (database, key), only while the flag is on.

use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

use shoal_store::shard::take_notify_expired;
use shoal_store::{NewValue, Store};

fn put(st: &Store, db: usize, k: &[u8], ttl: Option<u64>) {
    let h = st.hash(k);
    st.lock(st.shard_id(db, k, h))
        .insert_new(h, k, NewValue::Int(1), ttl, 0);
}

fn lookup(st: &Store, db: usize, k: &[u8], now: u64) -> bool {
    let h = st.hash(k);
    st.lock(st.shard_id(db, k, h))
        .find_live(h, k, now)
        .is_some()
}

fn take() -> Vec<(u32, Box<[u8]>)> {
    let mut v = Vec::new();
    take_notify_expired(&mut v);
    v
}

#[test]
fn lazy_expiry_is_logged_only_while_on() {
    let st = Store::new(2, 4);
    put(&st, 1, b"a", Some(100));
    put(&st, 1, b"b", Some(100));
    assert!(!lookup(&st, 1, b"a", 200));
    assert!(take().is_empty(), "off: nothing logged");
    st.tuning().notify_expired.store(true, Relaxed);
    assert!(!lookup(&st, 1, b"missing", 200));
    assert!(!lookup(&st, 1, b"b", 200));
    assert_eq!(take(), vec![(1, Box::from(&b"b"[..]))]);
    assert!(take().is_empty(), "taken once");
}

#[test]
fn active_expiry_is_logged() {
    let st = Store::new(2, 4);
    st.tuning().notify_expired.store(true, Relaxed);
    put(&st, 0, b"x", Some(100));
    put(&st, 1, b"y", Some(100));
    put(&st, 1, b"z", None);
    let mut cursor = 0;
    let stats = st.active_expire_cycle(200, Duration::from_secs(1), &mut cursor);
    assert_eq!(stats.expired, 2);
    let mut got = take();
    got.sort();
    assert_eq!(
        got,
        vec![(0, Box::from(&b"x"[..])), (1, Box::from(&b"y"[..]))]
    );
}
