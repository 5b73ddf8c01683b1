//! Collection values: hashes and sets with a compact encoding for small sizes and a hash table
//! past Redis's default thresholds (`hash-max-listpack-entries` 128 / `-value` 64,
//! `set-max-intset-entries` 512, `set-max-listpack-entries` 128 / `-value` 64). Lists are a
//! `VecDeque`. OBJECT ENCODING reports the encodings in Redis's words.

use std::collections::VecDeque;

use crate::dense::Dense;
use crate::pack::Pack;
use crate::zorder::ZIndex;

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
    /// `stream-node-max-bytes` / `stream-node-max-entries` (0: no limit).
    pub stream_node_bytes: AtomicUsize,
    pub stream_node_entries: AtomicUsize,
}

pub static THRESHOLDS: Thresholds = Thresholds {
    hash_entries: AtomicUsize::new(MAX_PACK_ENTRIES),
    hash_value: AtomicUsize::new(MAX_PACK_VALUE),
    set_intset_entries: AtomicUsize::new(MAX_INTSET_ENTRIES),
    set_entries: AtomicUsize::new(MAX_PACK_ENTRIES),
    set_value: AtomicUsize::new(MAX_PACK_VALUE),
    zset_entries: AtomicUsize::new(MAX_PACK_ENTRIES),
    zset_value: AtomicUsize::new(MAX_PACK_VALUE),
    stream_node_bytes: AtomicUsize::new(4096),
    stream_node_entries: AtomicUsize::new(100),
};

#[inline]
fn th(a: &AtomicUsize) -> usize {
    a.load(Relaxed)
}

pub type Bytes = Box<[u8]>;

/// A hash: field -> value, and optionally a time to live per field (Redis 7.4's hash field
/// expiry). The TTLs live in a side table that exists only once a field gets one, so a plain
/// hash pays one empty pointer and nothing per field.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Hash {
    enc: HashEnc,
    ttl: Option<Box<FieldTtls>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum HashEnc {
    /// Small: field, value, field, value… in one buffer, in insertion order (Redis's listpack).
    Pack(Pack),
    /// Large: field -> value pairs in a dense vector with a hash index (boxed, so a small hash
    /// stays a small allocation).
    Table(Box<Dense>),
}

impl Default for HashEnc {
    fn default() -> Self {
        HashEnc::Pack(Pack::default())
    }
}

/// Field -> expiry (unix ms) for the fields of a hash that have one.
pub type FieldTtls = hashbrown::HashMap<Bytes, u64, foldhash::fast::FixedState>;

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
    /// Fields held, including expired ones not reaped yet (Redis's HLEN counts them too).
    pub fn len(&self) -> usize {
        match &self.enc {
            HashEnc::Pack(p) => p.len() / 2,
            HashEnc::Table(m) => m.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// OBJECT ENCODING: Redis calls a small hash with field TTLs `listpackex`.
    pub fn encoding(&self) -> &'static str {
        match (&self.enc, self.ttl.is_some()) {
            (HashEnc::Pack(_), false) => "listpack",
            (HashEnc::Pack(_), true) => "listpackex",
            (HashEnc::Table(_), _) => "hashtable",
        }
    }

    /// The value of `f`, expired or not (see [`Hash::get_live`]).
    pub fn get(&self, f: &[u8]) -> Option<&[u8]> {
        match &self.enc {
            HashEnc::Pack(p) => pack_find(p, f).map(|(_, _, v)| v),
            HashEnc::Table(m) => m.get(f).map(|p| p.second()),
        }
    }

    /// The value of `f` unless its TTL passed at `now` (unix ms).
    #[inline]
    pub fn get_live(&self, f: &[u8], now: u64) -> Option<&[u8]> {
        if self.ttl.is_some() && self.is_expired(f, now) {
            return None;
        }
        self.get(f)
    }

    /// Sets `f` to `v`, dropping any TTL it had (HSET); true if the field is new.
    pub fn insert(&mut self, f: &[u8], v: &[u8]) -> bool {
        if let Some(t) = &mut self.ttl
            && t.remove(f).is_some()
            && t.is_empty()
        {
            self.ttl = None;
        }
        self.insert_keep_ttl(f, v)
    }

    /// Sets `f` to `v`, keeping its TTL (HINCRBY, HSETEX KEEPTTL); true if the field is new.
    pub fn insert_keep_ttl(&mut self, f: &[u8], v: &[u8]) -> bool {
        if let HashEnc::Pack(p) = &mut self.enc {
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
            let mut m = Dense::with_capacity(p.len() / 2 + 1);
            let mut it = p.iter();
            while let (Some((_, k)), Some((_, x))) = (it.next(), it.next()) {
                m.insert(k, x);
            }
            self.enc = HashEnc::Table(Box::new(m));
        }
        match &mut self.enc {
            HashEnc::Table(m) => m.insert(f, v),
            HashEnc::Pack(_) => false,
        }
    }

    /// Removes `f` (and its TTL); true if it was there.
    pub fn remove(&mut self, f: &[u8]) -> bool {
        if let Some(t) = &mut self.ttl
            && t.remove(f).is_some()
            && t.is_empty()
        {
            self.ttl = None;
        }
        match &mut self.enc {
            HashEnc::Pack(p) => match pack_find(p, f) {
                Some((fo, _, _)) => {
                    p.remove_at(fo, 2);
                    true
                }
                None => false,
            },
            HashEnc::Table(m) => m.remove(f).is_some(),
        }
    }

    /// Small hashes are one packed buffer: scans return them whole (as Redis's listpack).
    pub fn is_compact(&self) -> bool {
        matches!(self.enc, HashEnc::Pack(_))
    }

    /// The field and value at position `i` of the hash's own order (< len): O(1) for a large
    /// hash (random picks, HSCAN cursors).
    pub fn nth(&self, i: usize) -> Option<(&[u8], &[u8])> {
        match &self.enc {
            HashEnc::Pack(_) => self.iter().nth(i),
            HashEnc::Table(m) => (i < m.len()).then(|| {
                let p = m.at(i);
                (p.first(), p.second())
            }),
        }
    }

    /// Every field and value, expired or not (see [`Hash::iter_live`]).
    pub fn iter(&self) -> Box<dyn Iterator<Item = (&[u8], &[u8])> + '_> {
        match &self.enc {
            HashEnc::Pack(p) => {
                let mut it = p.iter();
                Box::new(std::iter::from_fn(move || {
                    Some((it.next()?.1, it.next()?.1))
                }))
            }
            HashEnc::Table(m) => Box::new(m.iter().map(|p| (p.first(), p.second()))),
        }
    }

    /// The fields and values whose TTL has not passed at `now`.
    pub fn iter_live(&self, now: u64) -> impl Iterator<Item = (&[u8], &[u8])> + '_ {
        self.iter()
            .filter(move |(f, _)| self.ttl.is_none() || !self.is_expired(f, now))
    }

    pub fn heap_size(&self) -> usize {
        let ttl = self.ttl.as_ref().map_or(0, |t| {
            t.capacity() * (std::mem::size_of::<(Bytes, u64)>() + 1)
                + t.keys().map(|k| k.len()).sum::<usize>()
        });
        ttl + match &self.enc {
            HashEnc::Pack(p) => p.bytes(),
            HashEnc::Table(m) => m.heap_size(),
        }
    }

    // ---- field expiry ----

    /// Whether any field has a TTL.
    #[inline]
    pub fn has_ttls(&self) -> bool {
        self.ttl.is_some()
    }

    /// The expiry (unix ms) of `f`, if it has one.
    #[inline]
    pub fn ttl_of(&self, f: &[u8]) -> Option<u64> {
        self.ttl.as_ref().and_then(|t| t.get(f).copied())
    }

    /// Whether `f` has a TTL that passed at `now` (a TTL equal to `now` has passed, as Redis's
    /// `expire <= now`).
    #[inline]
    pub fn is_expired(&self, f: &[u8], now: u64) -> bool {
        self.ttl_of(f).is_some_and(|at| at <= now)
    }

    /// Gives existing field `f` the expiry `at` (unix ms). False if there is no such field.
    pub fn set_ttl(&mut self, f: &[u8], at: u64) -> bool {
        if self.get(f).is_none() {
            return false;
        }
        let t = self.ttl.get_or_insert_with(Box::default);
        match t.get_mut(f) {
            Some(x) => *x = at,
            None => {
                t.insert(f.into(), at);
            }
        }
        true
    }

    /// Drops the TTL of `f`; true if it had one.
    pub fn persist(&mut self, f: &[u8]) -> bool {
        let Some(t) = &mut self.ttl else {
            return false;
        };
        let had = t.remove(f).is_some();
        if t.is_empty() {
            self.ttl = None;
        }
        had
    }

    /// Every (field, expiry) with a TTL, in no particular order.
    pub fn ttls(&self) -> impl Iterator<Item = (&[u8], u64)> + '_ {
        self.ttl
            .iter()
            .flat_map(|t| t.iter().map(|(f, &at)| (&f[..], at)))
    }

    /// The earliest field expiry, if any.
    pub fn min_ttl(&self) -> Option<u64> {
        self.ttl.as_ref().and_then(|t| t.values().copied().min())
    }

    /// Removes up to `max` fields whose TTL passed at `now`; returns their names.
    pub fn reap(&mut self, now: u64, max: usize) -> Vec<Bytes> {
        let Some(t) = &self.ttl else {
            return Vec::new();
        };
        let gone: Vec<Bytes> = t
            .iter()
            .filter(|&(_, &at)| at <= now)
            .take(max)
            .map(|(f, _)| f.clone())
            .collect();
        for f in &gone {
            self.remove(f);
        }
        gone
    }
}

/// A set of members.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Set {
    /// Only integers, sorted (Redis's intset).
    Ints(Vec<i64>),
    /// Small: members in insertion order (listpack).
    Pack(Vec<Bytes>),
    /// Large: members in a dense vector with a hash index (boxed, as for hashes).
    Table(Box<Dense>),
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
            Set::Table(t) => t.position(m).is_some(),
        }
    }

    fn convert_to_table(&mut self) {
        let members: Vec<Bytes> = self.members();
        let mut t = Dense::with_capacity(members.len() + 1);
        for m in &members {
            t.insert(m, b"");
        }
        *self = Set::Table(Box::new(t));
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
                t.insert(m, b"");
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
            Set::Table(t) => t.remove(m).is_some(),
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
            Set::Table(t) => t.iter().map(|p| p.first().into()).collect(),
        }
    }

    /// Intsets and small sets: scans return them whole (as Redis does).
    pub fn is_compact(&self) -> bool {
        !matches!(self, Set::Table(_))
    }

    /// The member at position `i` of the set's own order (< len): O(1) (random picks, SSCAN
    /// cursors: in a large set, removals only move members down).
    pub fn nth(&self, i: usize) -> Option<Bytes> {
        match self {
            Set::Ints(v) => v
                .get(i)
                .map(|n| n.to_string().into_bytes().into_boxed_slice()),
            Set::Pack(v) => v.get(i).cloned(),
            Set::Table(t) => (i < t.len()).then(|| t.at(i).first().into()),
        }
    }

    pub fn heap_size(&self) -> usize {
        match self {
            Set::Ints(v) => v.len() * 8,
            Set::Pack(v) => v.iter().map(|m| m.len() + 16).sum(),
            Set::Table(t) => t.heap_size(),
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
mod score_tests {
    use super::*;

    #[test]
    fn collection_headers_stay_small() {
        // A small collection is one boxed header plus its pack: keep the header in a 32-byte
        // allocation class.
        assert!(std::mem::size_of::<Hash>() <= 32);
        assert!(std::mem::size_of::<Set>() <= 32);
        assert!(std::mem::size_of::<ZSet>() <= 32);
    }

    #[test]
    fn packed_scores_round_trip_and_stay_small() {
        for s in [
            0.0,
            -0.0,
            1.0,
            -1.0,
            127.0,
            128.0,
            -129.0,
            1e6,
            (1u64 << 52) as f64,
            -((1u64 << 52) as f64),
            (1u64 << 60) as f64,
            0.5,
            -2.25,
            f64::INFINITY,
            f64::NEG_INFINITY,
            1e300,
        ] {
            let (b, n) = score_bytes(s);
            let back = score_of(&b[..n]);
            assert_eq!(back.to_bits(), s.to_bits(), "{s}");
        }
        assert_eq!(score_bytes(0.0).1, 0);
        assert_eq!(score_bytes(5.0).1, 1);
        assert_eq!(score_bytes(1000.0).1, 2);
        assert_eq!(score_bytes(-0.0).1, 8);
        assert_eq!(score_bytes(0.5).1, 8);
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
    fn field_ttls_are_optional_and_follow_the_fields() {
        let mut h = Hash::default();
        h.insert(b"a", b"1");
        h.insert(b"b", b"2");
        assert!(!h.has_ttls());
        assert!(!h.set_ttl(b"x", 10), "no such field");
        assert!(h.set_ttl(b"a", 10));
        assert_eq!(h.encoding(), "listpackex");
        assert_eq!(h.get_live(b"a", 9), Some(&b"1"[..]));
        assert_eq!(h.get_live(b"a", 10), None);
        assert_eq!(h.iter_live(10).count(), 1);
        assert_eq!(h.len(), 2, "not reaped yet");
        // HINCRBY-style writes keep the TTL, HSET-style ones drop it.
        h.insert_keep_ttl(b"a", b"5");
        assert_eq!(h.ttl_of(b"a"), Some(10));
        h.insert(b"a", b"6");
        assert!(!h.has_ttls(), "the table goes with the last TTL");
        assert_eq!(h.encoding(), "listpack");
        h.set_ttl(b"a", 10);
        h.set_ttl(b"b", 20);
        assert_eq!(h.min_ttl(), Some(10));
        assert!(h.persist(b"b") && !h.persist(b"b"));
        assert_eq!(h.reap(10, 100), vec![Box::<[u8]>::from(&b"a"[..])]);
        assert!(!h.has_ttls());
        // Through the conversion to a table.
        for i in 0..200 {
            h.insert(format!("f{i}").as_bytes(), b"v");
        }
        h.set_ttl(b"f3", 5);
        assert_eq!(h.encoding(), "hashtable");
        assert!(h.remove(b"f3"));
        assert!(!h.has_ttls());
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
    /// Large: an order-statistic index (Redis's `skiplist` encoding, in Redis's words).
    Skip(Box<ZIndex>),
}

impl Default for ZSet {
    fn default() -> Self {
        ZSet::Pack(Pack::default())
    }
}

impl Eq for ZSet {}

/// A packed score, as small as Redis's listpack keeps it: an integral score (not -0, below
/// 2^53 in magnitude) as a little-endian two's-complement integer of 0 to 7 bytes, anything
/// else as the 8 bytes of the double. The length tells them apart.
fn score_bytes(score: f64) -> ([u8; 8], usize) {
    let integral = score.fract() == 0.0
        && score.abs() < (1u64 << 53) as f64
        && score.to_bits() != (-0.0f64).to_bits();
    if integral {
        let n = score as i64;
        let bytes = n.to_le_bytes();
        // The fewest bytes that sign-extend back to n.
        let len = (0..8)
            .find(|&k| {
                let shift = 64 - 8 * k as u32;
                k > 0 && ((n << shift) >> shift) == n || k == 0 && n == 0
            })
            .unwrap_or(8);
        if len < 8 {
            return (bytes, len);
        }
    }
    (score.to_bits().to_le_bytes(), 8)
}

fn score_of(b: &[u8]) -> f64 {
    if b.len() == 8 {
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        return f64::from_bits(u64::from_le_bytes(a));
    }
    if b.is_empty() {
        return 0.0;
    }
    // Sign-extend a short little-endian integer.
    let fill = if b[b.len() - 1] & 0x80 != 0 { 0xff } else { 0 };
    let mut a = [fill; 8];
    a[..b.len()].copy_from_slice(b);
    i64::from_le_bytes(a) as f64
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
            ZSet::Skip(s) => s.len(),
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
            ZSet::Skip(s) => s.score(m),
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
                let (sb, n) = score_bytes(score);
                let sb = &sb[..n];
                match at {
                    Some(o) => p.insert_at(o, &[m, sb]),
                    None => {
                        p.push(m);
                        p.push(sb);
                    }
                }
                return prev.map(|(_, s)| s);
            }
            let mut skip = ZIndex::default();
            for (_, x, s) in entries {
                skip.insert(x, s);
            }
            *self = ZSet::Skip(Box::new(skip));
        }
        match self {
            ZSet::Skip(s) => s.insert(m, score),
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
            ZSet::Skip(s) => s.remove(m),
        }
    }

    /// Members in ascending (score, member) order.
    pub fn iter(&self) -> Box<dyn DoubleEndedIterator<Item = (&[u8], f64)> + '_> {
        match self {
            ZSet::Pack(p) => Box::new(zpack_entries(p).into_iter().map(|(_, m, s)| (m, s))),
            ZSet::Skip(s) => Box::new(s.iter()),
        }
    }

    /// Small sorted sets: scans return them whole (as Redis's listpack).
    pub fn is_compact(&self) -> bool {
        matches!(self, ZSet::Pack(_))
    }

    /// The member and score at position `i` (< len) of an order of the set's own: O(1) for a
    /// large set, where removals only move members down (random picks, ZSCAN cursors).
    pub fn member_at(&self, i: usize) -> Option<(&[u8], f64)> {
        match self {
            ZSet::Pack(p) => zpack_entries(p).get(i).map(|&(_, m, s)| (m, s)),
            ZSet::Skip(s) => s.member_at(i),
        }
    }

    /// The number of leading members (in ascending order) for which `pred(score, member)`
    /// holds; `pred` must hold for a prefix and not after it (a score or lex bound). O(log n)
    /// for a large set.
    pub fn partition_point(&self, pred: impl Fn(f64, &[u8]) -> bool) -> usize {
        match self {
            ZSet::Pack(p) => zpack_entries(p)
                .iter()
                .take_while(|(_, m, s)| pred(*s, m))
                .count(),
            ZSet::Skip(s) => s.partition_point(pred),
        }
    }

    /// Members of ranks `lo..hi`, ascending: O(log n + (hi - lo)) for a large set.
    pub fn range(&self, lo: usize, hi: usize) -> Vec<(&[u8], f64)> {
        match self {
            ZSet::Pack(p) => zpack_entries(p)
                .into_iter()
                .skip(lo)
                .take(hi.saturating_sub(lo))
                .map(|(_, m, s)| (m, s))
                .collect(),
            ZSet::Skip(s) => s.range(lo, hi).collect(),
        }
    }

    /// 0-based rank of `m` in ascending order.
    pub fn rank(&self, m: &[u8]) -> Option<usize> {
        match self {
            ZSet::Pack(p) => zpack_entries(p).iter().position(|(_, x, _)| *x == m),
            ZSet::Skip(s) => s.rank(m),
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
            ZSet::Skip(s) => s.pop(highest),
        }
    }

    pub fn heap_size(&self) -> usize {
        match self {
            ZSet::Pack(p) => p.bytes(),
            ZSet::Skip(s) => s.heap_size(),
        }
    }
}
