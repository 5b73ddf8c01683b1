//! Collection values: hashes and sets with a compact encoding for small sizes and a hash table
//! past Redis's default thresholds (`hash-max-listpack-entries` 128 / `-value` 64,
//! `set-max-intset-entries` 512, `set-max-listpack-entries` 128 / `-value` 64). Lists are a
//! `VecDeque`. OBJECT ENCODING reports the encodings in Redis's words.

use std::collections::VecDeque;

use foldhash::fast::FixedState;

use crate::pack::Pack;

use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

/// Redis's defaults for the compact encodings (used by tests; the live values are below).
pub const MAX_PACK_ENTRIES: usize = 128;
pub const MAX_PACK_VALUE: usize = 64;
pub const MAX_INTSET_ENTRIES: usize = 512;

/// Encoding thresholds, changeable at run time like Redis's `*-max-listpack-*` and
/// `set-max-intset-entries` (CONFIG SET). Existing values convert on their next change.
pub struct Thresholds {
    pub hash_entries: AtomicUsize,
    pub hash_value: AtomicUsize,
    pub set_intset_entries: AtomicUsize,
    pub set_entries: AtomicUsize,
    pub set_value: AtomicUsize,
    pub zset_entries: AtomicUsize,
    pub zset_value: AtomicUsize,
}

pub static THRESHOLDS: Thresholds = Thresholds {
    hash_entries: AtomicUsize::new(MAX_PACK_ENTRIES),
    hash_value: AtomicUsize::new(MAX_PACK_VALUE),
    set_intset_entries: AtomicUsize::new(MAX_INTSET_ENTRIES),
    set_entries: AtomicUsize::new(MAX_PACK_ENTRIES),
    set_value: AtomicUsize::new(MAX_PACK_VALUE),
    zset_entries: AtomicUsize::new(MAX_PACK_ENTRIES),
    zset_value: AtomicUsize::new(MAX_PACK_VALUE),
};

#[inline]
fn th(a: &AtomicUsize) -> usize {
    a.load(Relaxed)
}

pub type Bytes = Box<[u8]>;
type Map = hashbrown::HashMap<Bytes, Bytes, FixedState>;
type Table = hashbrown::HashSet<Bytes, FixedState>;

fn hasher() -> FixedState {
    FixedState::with_seed(0x5eed)
}

/// A hash: field -> value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Hash {
    /// Small: field, value, field, value… in one buffer, in insertion order (Redis's listpack).
    Pack(Pack),
    Table(Map),
}

impl Default for Hash {
    fn default() -> Self {
        Hash::Pack(Pack::default())
    }
}

/// (offset of the field entry, offset of the value entry, value) of `f` in a packed hash.
fn pack_find<'a>(p: &'a Pack, f: &[u8]) -> Option<(usize, usize, &'a [u8])> {
    let mut it = p.iter();
    while let Some((fo, k)) = it.next() {
        let (vo, v) = it.next()?;
        if k == f {
            return Some((fo, vo, v));
        }
    }
    None
}

impl Hash {
    pub fn len(&self) -> usize {
        match self {
            Hash::Pack(p) => p.len() / 2,
            Hash::Table(m) => m.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn encoding(&self) -> &'static str {
        match self {
            Hash::Pack(_) => "listpack",
            Hash::Table(_) => "hashtable",
        }
    }

    pub fn get(&self, f: &[u8]) -> Option<&[u8]> {
        match self {
            Hash::Pack(p) => pack_find(p, f).map(|(_, _, v)| v),
            Hash::Table(m) => m.get(f).map(|v| &**v),
        }
    }

    /// Sets `f` to `v`; true if the field is new.
    pub fn insert(&mut self, f: &[u8], v: &[u8]) -> bool {
        if let Hash::Pack(p) = self {
            let max_value = th(&THRESHOLDS.hash_value);
            let big = f.len() > max_value || v.len() > max_value;
            let found = pack_find(p, f).map(|(_, vo, _)| vo);
            if let (Some(vo), false) = (found, big) {
                p.replace_at(vo, v);
                return false;
            }
            if !big && p.len() / 2 < th(&THRESHOLDS.hash_entries) {
                p.push(f);
                p.push(v);
                return true;
            }
            let mut m = Map::with_capacity_and_hasher(p.len() / 2 + 1, hasher());
            let mut it = p.iter();
            while let (Some((_, k)), Some((_, x))) = (it.next(), it.next()) {
                m.insert(k.into(), x.into());
            }
            *self = Hash::Table(m);
        }
        match self {
            Hash::Table(m) => m.insert(f.into(), v.into()).is_none(),
            Hash::Pack(_) => false,
        }
    }

    pub fn remove(&mut self, f: &[u8]) -> bool {
        match self {
            Hash::Pack(p) => match pack_find(p, f) {
                Some((fo, _, _)) => {
                    p.remove_at(fo, 2);
                    true
                }
                None => false,
            },
            Hash::Table(m) => m.remove(f).is_some(),
        }
    }

    pub fn iter(&self) -> Box<dyn Iterator<Item = (&[u8], &[u8])> + '_> {
        match self {
            Hash::Pack(p) => {
                let mut it = p.iter();
                Box::new(std::iter::from_fn(move || {
                    Some((it.next()?.1, it.next()?.1))
                }))
            }
            Hash::Table(m) => Box::new(m.iter().map(|(k, v)| (&**k, &**v))),
        }
    }

    pub fn heap_size(&self) -> usize {
        match self {
            Hash::Pack(p) => p.bytes(),
            Hash::Table(_) => self.iter().map(|(k, v)| k.len() + v.len() + 48).sum(),
        }
    }
}

/// A set of members.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Set {
    /// Only integers, sorted (Redis's intset).
    Ints(Vec<i64>),
    /// Small: members in insertion order (listpack).
    Pack(Vec<Bytes>),
    Table(Table),
}

impl Default for Set {
    fn default() -> Self {
        Set::Ints(Vec::new())
    }
}

/// A member that is a canonical integer (what an intset may hold).
fn as_int(m: &[u8]) -> Option<i64> {
    if m.len() > 20 {
        return None;
    }
    let s = std::str::from_utf8(m).ok()?;
    let n: i64 = s.parse().ok()?;
    (n.to_string() == s).then_some(n)
}

impl Set {
    pub fn len(&self) -> usize {
        match self {
            Set::Ints(v) => v.len(),
            Set::Pack(v) => v.len(),
            Set::Table(t) => t.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn encoding(&self) -> &'static str {
        match self {
            Set::Ints(_) => "intset",
            Set::Pack(_) => "listpack",
            Set::Table(_) => "hashtable",
        }
    }

    pub fn contains(&self, m: &[u8]) -> bool {
        match self {
            Set::Ints(v) => as_int(m).is_some_and(|n| v.binary_search(&n).is_ok()),
            Set::Pack(v) => v.iter().any(|x| **x == *m),
            Set::Table(t) => t.contains(m),
        }
    }

    fn convert_to_table(&mut self) {
        let members: Vec<Bytes> = self.members();
        let mut t = Table::with_capacity_and_hasher(members.len() + 1, hasher());
        t.extend(members);
        *self = Set::Table(t);
    }

    /// Adds `m`; true if it was not there.
    pub fn insert(&mut self, m: &[u8]) -> bool {
        if self.contains(m) {
            return false;
        }
        match self {
            Set::Ints(v) => match as_int(m) {
                Some(n) if v.len() < th(&THRESHOLDS.set_intset_entries) => {
                    let pos = v.binary_search(&n).unwrap_or_else(|p| p);
                    v.insert(pos, n);
                    return true;
                }
                _ => {
                    if v.len() < th(&THRESHOLDS.set_entries) && m.len() <= th(&THRESHOLDS.set_value)
                    {
                        let p: Vec<Bytes> = v
                            .iter()
                            .map(|n| n.to_string().into_bytes().into_boxed_slice())
                            .collect();
                        *self = Set::Pack(p);
                    } else {
                        self.convert_to_table();
                    }
                }
            },
            Set::Pack(p) => {
                if p.len() >= th(&THRESHOLDS.set_entries) || m.len() > th(&THRESHOLDS.set_value) {
                    self.convert_to_table();
                }
            }
            Set::Table(_) => {}
        }
        match self {
            Set::Pack(p) => p.push(m.into()),
            Set::Table(t) => {
                t.insert(m.into());
            }
            Set::Ints(_) => {}
        }
        true
    }

    pub fn remove(&mut self, m: &[u8]) -> bool {
        match self {
            Set::Ints(v) => match as_int(m).map(|n| v.binary_search(&n)) {
                Some(Ok(i)) => {
                    v.remove(i);
                    true
                }
                _ => false,
            },
            Set::Pack(v) => match v.iter().position(|x| **x == *m) {
                Some(i) => {
                    v.swap_remove(i);
                    true
                }
                None => false,
            },
            Set::Table(t) => t.remove(m),
        }
    }

    /// Every member, as bytes.
    pub fn members(&self) -> Vec<Bytes> {
        match self {
            Set::Ints(v) => v
                .iter()
                .map(|n| n.to_string().into_bytes().into_boxed_slice())
                .collect(),
            Set::Pack(v) => v.clone(),
            Set::Table(t) => t.iter().cloned().collect(),
        }
    }

    /// The member at position `i` of some fixed order (for random picks).
    pub fn nth(&self, i: usize) -> Option<Bytes> {
        match self {
            Set::Ints(v) => v
                .get(i)
                .map(|n| n.to_string().into_bytes().into_boxed_slice()),
            Set::Pack(v) => v.get(i).cloned(),
            Set::Table(t) => t.iter().nth(i).cloned(),
        }
    }

    pub fn heap_size(&self) -> usize {
        match self {
            Set::Ints(v) => v.len() * 8,
            Set::Pack(v) => v.iter().map(|m| m.len() + 16).sum(),
            Set::Table(t) => t.iter().map(|m| m.len() + 24).sum(),
        }
    }
}

/// A list.
pub type List = VecDeque<Bytes>;

/// OBJECT ENCODING of a list: `listpack` while small, `quicklist` after.
pub fn list_encoding(l: &List) -> &'static str {
    if l.len() <= MAX_PACK_ENTRIES && l.iter().all(|e| e.len() <= MAX_PACK_VALUE) {
        "listpack"
    } else {
        "quicklist"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_converts_past_thresholds() {
        let mut h = Hash::default();
        for i in 0..MAX_PACK_ENTRIES {
            assert!(h.insert(format!("f{i}").as_bytes(), b"v"));
        }
        assert_eq!(h.encoding(), "listpack");
        assert!(!h.insert(b"f0", b"w"), "existing field");
        assert_eq!(h.encoding(), "listpack");
        assert!(h.insert(b"new", b"v"));
        assert_eq!(h.encoding(), "hashtable");
        assert_eq!(h.get(b"f0"), Some(&b"w"[..]));
        let mut h = Hash::default();
        h.insert(b"f", &[b'x'; 65]);
        assert_eq!(h.encoding(), "hashtable");
    }

    #[test]
    fn set_moves_intset_listpack_hashtable() {
        let mut s = Set::default();
        assert!(s.insert(b"3") && s.insert(b"1") && !s.insert(b"1"));
        assert_eq!(s.encoding(), "intset");
        assert!(s.insert(b"x"));
        assert_eq!(s.encoding(), "listpack");
        assert!(s.contains(b"1") && s.contains(b"x") && !s.contains(b"2"));
        for i in 0..200 {
            s.insert(format!("m{i}").as_bytes());
        }
        assert_eq!(s.encoding(), "hashtable");
        assert_eq!(s.len(), 203);
        assert!(s.remove(b"x") && !s.remove(b"x"));
        assert!(!Set::default().contains(b"007"), "not canonical");
    }
}

/// A score with a total order (scores are never NaN: callers reject it).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Score(pub f64);

impl Eq for Score {}

impl PartialOrd for Score {
    fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}

impl Ord for Score {
    fn cmp(&self, o: &Self) -> std::cmp::Ordering {
        self.0.total_cmp(&o.0)
    }
}

/// A sorted set. Small: member, score, member, score… in one buffer sorted by (score, member)
/// (Redis's listpack); large: members ordered by (score, member) plus a member -> score index.
#[derive(Debug, Clone, PartialEq)]
pub enum ZSet {
    Pack(Pack),
    Skip(Box<SkipSet>),
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct SkipSet {
    order: std::collections::BTreeSet<(Score, Bytes)>,
    scores: hashbrown::HashMap<Bytes, f64, FixedState>,
}

impl Default for ZSet {
    fn default() -> Self {
        ZSet::Pack(Pack::default())
    }
}

impl Eq for ZSet {}

fn score_of(b: &[u8]) -> f64 {
    let mut a = [0u8; 8];
    if b.len() == 8 {
        a.copy_from_slice(b);
    }
    f64::from_le_bytes(a)
}

/// (member offset, member, score) of each entry of a packed sorted set, in order.
fn zpack_entries(p: &Pack) -> Vec<(usize, &[u8], f64)> {
    let mut out = Vec::with_capacity(p.len() / 2);
    let mut it = p.iter();
    while let (Some((o, m)), Some((_, s))) = (it.next(), it.next()) {
        out.push((o, m, score_of(s)));
    }
    out
}

impl ZSet {
    pub fn len(&self) -> usize {
        match self {
            ZSet::Pack(p) => p.len() / 2,
            ZSet::Skip(s) => s.scores.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn encoding(&self) -> &'static str {
        match self {
            ZSet::Pack(_) => "listpack",
            ZSet::Skip(_) => "skiplist",
        }
    }

    pub fn score(&self, m: &[u8]) -> Option<f64> {
        match self {
            ZSet::Pack(p) => zpack_entries(p)
                .into_iter()
                .find(|(_, x, _)| *x == m)
                .map(|(_, _, s)| s),
            ZSet::Skip(s) => s.scores.get(m).copied(),
        }
    }

    /// Sets the score of `m`; returns the previous one.
    pub fn insert(&mut self, m: &[u8], score: f64) -> Option<f64> {
        if let ZSet::Pack(p) = self {
            let entries = zpack_entries(p);
            let prev = entries
                .iter()
                .find(|(_, x, _)| *x == m)
                .map(|&(o, _, s)| (o, s));
            let grows = prev.is_none() && entries.len() >= th(&THRESHOLDS.zset_entries);
            if m.len() <= th(&THRESHOLDS.zset_value) && !grows {
                if let Some((o, _)) = prev {
                    p.remove_at(o, 2);
                }
                let entries = zpack_entries(p);
                let at = entries
                    .iter()
                    .find(|(_, x, s)| {
                        Score(*s)
                            .cmp(&Score(score))
                            .then_with(|| (*x).cmp(m))
                            .is_gt()
                    })
                    .map(|(o, _, _)| *o);
                let sb = score.to_le_bytes();
                match at {
                    Some(o) => p.insert_at(o, &[m, &sb]),
                    None => {
                        p.push(m);
                        p.push(&sb);
                    }
                }
                return prev.map(|(_, s)| s);
            }
            let mut skip = SkipSet::default();
            for (_, x, s) in entries {
                skip.scores.insert(x.into(), s);
                skip.order.insert((Score(s), x.into()));
            }
            *self = ZSet::Skip(Box::new(skip));
        }
        match self {
            ZSet::Skip(s) => {
                let prev = s.scores.insert(m.into(), score);
                if let Some(p) = prev {
                    s.order.remove(&(Score(p), Box::from(m)));
                }
                s.order.insert((Score(score), m.into()));
                prev
            }
            ZSet::Pack(_) => None,
        }
    }

    pub fn remove(&mut self, m: &[u8]) -> Option<f64> {
        match self {
            ZSet::Pack(p) => {
                let (o, s) = zpack_entries(p)
                    .into_iter()
                    .find(|(_, x, _)| *x == m)
                    .map(|(o, _, s)| (o, s))?;
                p.remove_at(o, 2);
                Some(s)
            }
            ZSet::Skip(s) => {
                let p = s.scores.remove(m)?;
                s.order.remove(&(Score(p), Box::from(m)));
                Some(p)
            }
        }
    }

    /// Members in ascending (score, member) order.
    pub fn iter(&self) -> Box<dyn DoubleEndedIterator<Item = (&[u8], f64)> + '_> {
        match self {
            ZSet::Pack(p) => Box::new(zpack_entries(p).into_iter().map(|(_, m, s)| (m, s))),
            ZSet::Skip(s) => Box::new(s.order.iter().map(|(sc, m)| (&**m, sc.0))),
        }
    }

    /// 0-based rank of `m` in ascending order.
    pub fn rank(&self, m: &[u8]) -> Option<usize> {
        match self {
            ZSet::Pack(p) => zpack_entries(p).iter().position(|(_, x, _)| *x == m),
            ZSet::Skip(s) => {
                let sc = *s.scores.get(m)?;
                Some(s.order.range(..(Score(sc), Box::<[u8]>::from(m))).count())
            }
        }
    }

    /// Removes and returns the lowest (or highest) member.
    pub fn pop(&mut self, highest: bool) -> Option<(Bytes, f64)> {
        match self {
            ZSet::Pack(p) => {
                let entries = zpack_entries(p);
                let &(o, m, s) = if highest {
                    entries.last()?
                } else {
                    entries.first()?
                };
                let m: Bytes = m.into();
                p.remove_at(o, 2);
                Some((m, s))
            }
            ZSet::Skip(s) => {
                let (sc, m) = if highest {
                    s.order.pop_last()?
                } else {
                    s.order.pop_first()?
                };
                s.scores.remove(&m);
                Some((m, sc.0))
            }
        }
    }

    pub fn heap_size(&self) -> usize {
        match self {
            ZSet::Pack(p) => p.bytes(),
            ZSet::Skip(s) => s.scores.keys().map(|m| 2 * m.len() + 64).sum(),
        }
    }
}
