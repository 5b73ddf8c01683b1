//! Random operation sequences on one shard, checked against a plain map model (value, expiry),
//! with a test clock: lookups, TTLs, lazy and active expiry, removals that move entries, SCAN-
//! style positional walks.

use std::collections::HashMap;
use std::hash::BuildHasher;
use std::sync::Arc;

use proptest::prelude::*;
use shoal_store::{Shard, Value};

#[derive(Debug, Clone)]
enum Op {
    Upsert(u8, i64, Option<u64>),
    Remove(u8),
    Find(u8),
    Expire(u8, Option<u64>),
    Advance(u64),
    Sweep(usize),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (0u8..32, any::<i64>(), prop::option::of(1u64..200))
            .prop_map(|(k, v, t)| Op::Upsert(k, v, t)),
        (0u8..32).prop_map(Op::Remove),
        (0u8..32).prop_map(Op::Find),
        (0u8..32, prop::option::of(1u64..200)).prop_map(|(k, t)| Op::Expire(k, t)),
        (0u64..100).prop_map(Op::Advance),
        (1usize..40).prop_map(Op::Sweep),
    ]
}

proptest! {
    #[test]
    fn shard_matches_model(ops in prop::collection::vec(op(), 1..300)) {
        let hasher = foldhash::fast::FixedState::with_seed(1);
        let mut s = Shard::new(hasher.clone(), Arc::new([]), 0);
        let mut model: HashMap<u8, (i64, Option<u64>)> = HashMap::new();
        let mut now = 1000u64;
        let key = |k: u8| [b'k', k];
        let live = |m: &HashMap<u8, (i64, Option<u64>)>, k: u8, now: u64| {
            m.get(&k).filter(|(_, t)| t.is_none_or(|t| t > now)).copied()
        };
        for op in ops {
            match op {
                Op::Upsert(k, v, ttl) => {
                    let kb = key(k);
                    s.upsert(hasher.hash_one(&kb[..]), &kb, Value::Int(v), ttl.map(|t| now + t), now);
                    model.insert(k, (v, ttl.map(|t| now + t)));
                }
                Op::Remove(k) => {
                    let kb = key(k);
                    let got = s.remove(hasher.hash_one(&kb[..]), &kb, now).is_some();
                    prop_assert_eq!(got, live(&model, k, now).is_some());
                    model.remove(&k);
                }
                Op::Find(k) => {
                    let kb = key(k);
                    let got = s.find_live(hasher.hash_one(&kb[..]), &kb, now).map(|i| (s.entry(i).value.clone(), s.entry(i).expire_at()));
                    let want = live(&model, k, now).map(|(v, t)| (Value::Int(v), t));
                    prop_assert_eq!(got, want);
                }
                Op::Expire(k, ttl) => {
                    let kb = key(k);
                    if let Some(i) = s.find_live(hasher.hash_one(&kb[..]), &kb, now) {
                        s.set_expire(i, ttl.map(|t| now + t));
                        prop_assert!(live(&model, k, now).is_some());
                        if let Some(e) = model.get_mut(&k) {
                            e.1 = ttl.map(|t| now + t);
                        }
                    } else {
                        prop_assert!(live(&model, k, now).is_none());
                    }
                }
                Op::Advance(d) => now += d,
                Op::Sweep(n) => {
                    s.sweep_expired(now, n);
                }
            }
            // Invariants after every step.
            let live_count = model.keys().filter(|k| live(&model, **k, now).is_some()).count();
            prop_assert!(s.len() >= live_count);
            let volatile = (0..s.len()).filter(|&i| s.at(i).is_some_and(|e| e.expire_at().is_some())).count();
            prop_assert_eq!(volatile, s.volatile());
            for i in 0..s.len() {
                let e = s.at(i).expect("in range");
                let found = s.find_raw(hasher.hash_one(&e.key[..]), &e.key);
                prop_assert_eq!(found, Some(i), "table and vector disagree");
            }
        }
        // A sweep of everything leaves exactly the live keys.
        s.sweep_expired(now, usize::MAX / 2);
        let live_count = model.keys().filter(|k| live(&model, **k, now).is_some()).count();
        prop_assert_eq!(s.len(), live_count);
    }
}
