//! Random operation sequences on the collection types, checked against plain std models:
//! encodings may change under the operations, contents must not.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use proptest::prelude::*;
use shoal_store::types::{Hash, Set, ZSet};

fn member() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        (0i64..600).prop_map(|n| n.to_string().into_bytes()),
        prop::collection::vec(b'a'..=b'e', 1..4),
        prop::collection::vec(any::<u8>(), 60..80),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn set_matches_model(ops in prop::collection::vec((any::<bool>(), member()), 1..800)) {
        let mut s = Set::default();
        let mut m: HashSet<Vec<u8>> = HashSet::new();
        for (add, x) in ops {
            if add {
                prop_assert_eq!(s.insert(&x), m.insert(x.clone()));
            } else {
                prop_assert_eq!(s.remove(&x), m.remove(&x));
            }
            prop_assert_eq!(s.len(), m.len());
            prop_assert!(s.contains(&x) == m.contains(&x));
        }
        let got: HashSet<Vec<u8>> = s.members().into_iter().map(|b| b.to_vec()).collect();
        prop_assert_eq!(got, m);
    }

    #[test]
    fn hash_matches_model(ops in prop::collection::vec((any::<bool>(), member(), member()), 1..600)) {
        let mut h = Hash::default();
        let mut m: HashMap<Vec<u8>, Vec<u8>> = HashMap::new();
        for (set, f, v) in ops {
            if set {
                prop_assert_eq!(h.insert(&f, &v), m.insert(f.clone(), v.clone()).is_none());
            } else {
                prop_assert_eq!(h.remove(&f), m.remove(&f).is_some());
            }
            prop_assert_eq!(h.len(), m.len());
            prop_assert_eq!(h.get(&f).map(<[u8]>::to_vec), m.get(&f).cloned());
        }
        let got: HashMap<Vec<u8>, Vec<u8>> = h.iter().map(|(f, v)| (f.to_vec(), v.to_vec())).collect();
        prop_assert_eq!(got, m);
    }

    #[test]
    fn zset_matches_model(ops in prop::collection::vec((0u8..3, member(), -50i32..50), 1..600)) {
        let mut z = ZSet::default();
        let mut m: BTreeMap<Vec<u8>, f64> = BTreeMap::new();
        for (op, x, sc) in ops {
            let sc = sc as f64 / 4.0;
            match op {
                0 => prop_assert_eq!(z.insert(&x, sc), m.insert(x.clone(), sc)),
                1 => prop_assert_eq!(z.remove(&x), m.remove(&x)),
                _ => {
                    let want = m.iter().min_by(|a, b| a.1.total_cmp(b.1).then_with(|| a.0.cmp(b.0))).map(|(k, v)| (k.clone(), *v));
                    if let Some((k, _)) = &want {
                        m.remove(k);
                    }
                    prop_assert_eq!(z.pop(false).map(|(k, v)| (k.to_vec(), v)), want);
                }
            }
            prop_assert_eq!(z.len(), m.len());
        }
        // Order by (score, member) and ranks agree with a sort of the model.
        let mut sorted: Vec<(Vec<u8>, f64)> = m.into_iter().collect();
        sorted.sort_by(|a, b| a.1.total_cmp(&b.1).then_with(|| a.0.cmp(&b.0)));
        let got: Vec<(Vec<u8>, f64)> = z.iter().map(|(k, v)| (k.to_vec(), v)).collect();
        prop_assert_eq!(&got, &sorted);
        for (i, (k, _)) in sorted.iter().enumerate() {
            prop_assert_eq!(z.rank(k), Some(i));
        }
        let members: BTreeSet<Vec<u8>> = sorted.iter().map(|(k, _)| k.clone()).collect();
        prop_assert_eq!(members.len(), sorted.len());
    }
}
