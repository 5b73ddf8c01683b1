//! Random operation sequences on one shard, checked against a plain map model (value, expiry),
//! with a test clock: lookups, values of every size class (integers and strings that grow and
//! shrink their entry's block), TTLs added and removed, lazy and active expiry, S3-FIFO
//! evictions, removals that move entries, SCAN-style positional walks.

use std::collections::HashMap;
use std::hash::BuildHasher;
use std::sync::Arc;

use proptest::prelude::*;
use shoal_store::{NewValue, Shard, ValueRef};

#[derive(Debug, Clone, PartialEq)]
enum V {
    Int(i64),
    Str(Vec<u8>),
}

#[derive(Debug, Clone)]
enum Op {
    Upsert(u8, V, Option<u64>),
    SetValue(u8, V),
    Remove(u8),
    Find(u8),
    Expire(u8, Option<u64>),
    Advance(u64),
    Sweep(usize),
    Evict(bool),
}

fn value() -> impl Strategy<Value = V> {
    prop_oneof![
        any::<i64>().prop_map(V::Int),
        prop::collection::vec(any::<u8>(), 0..300).prop_map(V::Str),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (0u8..32, value(), prop::option::of(1u64..200)).prop_map(|(k, v, t)| Op::Upsert(k, v, t)),
        (0u8..32, value()).prop_map(|(k, v)| Op::SetValue(k, v)),
        (0u8..32).prop_map(Op::Remove),
        (0u8..32).prop_map(Op::Find),
        (0u8..32, prop::option::of(1u64..200)).prop_map(|(k, t)| Op::Expire(k, t)),
        (0u64..100).prop_map(Op::Advance),
        (1usize..40).prop_map(Op::Sweep),
        any::<bool>().prop_map(Op::Evict),
    ]
}

fn new_value(v: &V) -> NewValue<'_> {
    match v {
        V::Int(n) => NewValue::Int(*n),
        V::Str(b) => NewValue::Str(b),
    }
}

fn stored(r: ValueRef<'_>) -> V {
    match r {
        ValueRef::Int(n) => V::Int(n),
        ValueRef::Str(b) => V::Str(b.to_vec()),
        other => panic!("unexpected {other:?}"),
    }
}

type Model = HashMap<Vec<u8>, (V, Option<u64>)>;

proptest! {
    #[test]
    fn shard_matches_model(ops in prop::collection::vec(op(), 1..300)) {
        let hasher = foldhash::fast::FixedState::with_seed(1);
        let mut s = Shard::new(hasher.clone(), Arc::new([]), 0);
        s.tuning().set_policy(shoal_store::Policy::AllkeysS3fifo);
        let mut model: Model = HashMap::new();
        let mut now = 1000u64;
        // Keys of several lengths, so varint lengths and size classes vary.
        let key = |k: u8| {
            let mut v = vec![b'k'; 1 + (k as usize % 4) * 70];
            v.push(k);
            v
        };
        let live = |m: &Model, k: &[u8], now: u64| {
            m.get(k).filter(|(_, t)| t.is_none_or(|t| t > now)).cloned()
        };
        for op in ops {
            match op {
                Op::Upsert(k, v, ttl) => {
                    let kb = key(k);
                    s.upsert(hasher.hash_one(&kb[..]), &kb, new_value(&v), ttl.map(|t| now + t), now);
                    model.insert(kb, (v, ttl.map(|t| now + t)));
                }
                Op::SetValue(k, v) => {
                    let kb = key(k);
                    if let Some(i) = s.find_live(hasher.hash_one(&kb[..]), &kb, now) {
                        s.set_value(i, new_value(&v));
                        prop_assert!(live(&model, &kb, now).is_some());
                        if let Some(e) = model.get_mut(&kb) {
                            e.0 = v;
                        }
                    } else {
                        prop_assert!(live(&model, &kb, now).is_none());
                    }
                }
                Op::Remove(k) => {
                    let kb = key(k);
                    let got = s.remove(hasher.hash_one(&kb[..]), &kb, now).map(|e| stored(e.value()));
                    prop_assert_eq!(got, live(&model, &kb, now).map(|(v, _)| v));
                    model.remove(&kb);
                }
                Op::Find(k) => {
                    let kb = key(k);
                    let got = s.find_live(hasher.hash_one(&kb[..]), &kb, now)
                        .map(|i| (stored(s.entry(i).value()), s.entry(i).expire_at()));
                    prop_assert_eq!(got, live(&model, &kb, now));
                }
                Op::Expire(k, ttl) => {
                    let kb = key(k);
                    if let Some(i) = s.find_live(hasher.hash_one(&kb[..]), &kb, now) {
                        s.set_expire(i, ttl.map(|t| now + t));
                        prop_assert!(live(&model, &kb, now).is_some());
                        if let Some(e) = model.get_mut(&kb) {
                            e.1 = ttl.map(|t| now + t);
                        }
                    } else {
                        prop_assert!(live(&model, &kb, now).is_none());
                    }
                }
                Op::Advance(d) => now += d,
                Op::Sweep(n) => {
                    s.sweep_expired(now, n);
                }
                Op::Evict(volatile) => {
                    if let Some(e) = s.evict_s3fifo(volatile) {
                        prop_assert!(!volatile || e.expire_at().is_some());
                        let m = model.remove(e.key());
                        prop_assert_eq!(m, Some((stored(e.value()), e.expire_at())));
                    } else {
                        // Nothing qualified: an empty shard, or no TTL for a volatile eviction.
                        prop_assert!(s.is_empty() || (volatile && s.volatile() == 0));
                    }
                }
            }
            // Invariants after every step.
            let live_count = model.keys().filter(|k| live(&model, k, now).is_some()).count();
            prop_assert!(s.len() >= live_count);
            let volatile = (0..s.len()).filter(|&i| s.at(i).is_some_and(|e| e.expire_at().is_some())).count();
            prop_assert_eq!(volatile, s.volatile());
            for i in 0..s.len() {
                let e = s.at(i).expect("in range");
                prop_assert_eq!(s.has_ttl_at(i), e.expire_at().is_some());
                let found = s.find_raw(hasher.hash_one(e.key()), e.key());
                prop_assert_eq!(found, Some(i), "table and vector disagree");
            }
        }
        // A sweep of everything leaves exactly the live keys.
        s.sweep_expired(now, usize::MAX / 2);
        let live_count = model.keys().filter(|k| live(&model, k, now).is_some()).count();
        prop_assert_eq!(s.len(), live_count);
    }
}
