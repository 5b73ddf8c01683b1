//! Store micro-benchmarks: lookups and inserts through a locked shard of the keyspace, beside a
//! plain `std::collections::HashMap<Box<[u8]>, Box<[u8]>>` (the baseline: no locks, no TTLs).
//!
//! `cargo bench --bench store`

use std::collections::HashMap;

use divan::{Bencher, black_box};
use shoal_store::{Store, Value};

const KEYS: usize = 100_000;

fn keys() -> Vec<Vec<u8>> {
    (0..KEYS)
        .map(|i| format!("key:{i:012}").into_bytes())
        .collect()
}

fn main() {
    divan::main();
}

fn filled_store(keys: &[Vec<u8>]) -> Store {
    let st = Store::new(1, 1024);
    for k in keys {
        let h = st.hash(k);
        st.lock(st.shard_id(0, k, h)).insert_new(
            h,
            k,
            Value::Str(b"value-of-32-bytes-0123456789abcd"[..].into()),
            None,
            0,
        );
    }
    st
}

/// GET path: hash, lock the shard, find the live entry (100k keys, one lookup per iteration).
#[divan::bench]
fn store_get(b: Bencher) {
    let keys = keys();
    let st = filled_store(&keys);
    let mut i = 0;
    b.bench_local(|| {
        i = (i + 7919) % KEYS;
        let k = &keys[i];
        let h = st.hash(k);
        let mut s = st.lock(st.shard_id(0, k, h));
        black_box(s.find_live(h, k, 1).is_some())
    });
}

/// Baseline for `store_get`.
#[divan::bench]
fn hashmap_get(b: Bencher) {
    let keys = keys();
    let m: HashMap<Box<[u8]>, Box<[u8]>> = keys
        .iter()
        .map(|k| {
            (
                k.clone().into_boxed_slice(),
                b"value-of-32-bytes-0123456789abcd"[..].into(),
            )
        })
        .collect();
    let mut i = 0;
    b.bench_local(|| {
        i = (i + 7919) % KEYS;
        black_box(m.contains_key(&keys[i][..]))
    });
}

/// SET path on existing keys: hash, lock, replace the value.
#[divan::bench]
fn store_set_existing(b: Bencher) {
    let keys = keys();
    let st = filled_store(&keys);
    let mut i = 0;
    b.bench_local(|| {
        i = (i + 7919) % KEYS;
        let k = &keys[i];
        let h = st.hash(k);
        let mut s = st.lock(st.shard_id(0, k, h));
        black_box(s.upsert(h, k, Value::Int(i as i64), None, 1))
    });
}

/// Baseline for `store_set_existing`.
#[divan::bench]
fn hashmap_set_existing(b: Bencher) {
    let keys = keys();
    let mut m: HashMap<Box<[u8]>, Box<[u8]>> = keys
        .iter()
        .map(|k| (k.clone().into_boxed_slice(), b"v"[..].into()))
        .collect();
    let mut i = 0;
    b.bench_local(|| {
        i = (i + 7919) % KEYS;
        black_box(m.insert(keys[i].clone().into_boxed_slice(), b"value"[..].into()))
    });
}
