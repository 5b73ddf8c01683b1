//! A large sorted set: members ordered by (score, member) in chunks of at most 2 × `CHUNK`
//! entries, a Fenwick tree over the chunk lengths, and a member index: a dense vector of refs to
//! the entries with a hash table of positions in it (O(1) random picks, and a ZSCAN cursor that
//! survives changes, as the keyspace's shards give SCAN).
//!
//! Every operation Redis's skiplist does in O(log n) is O(log n) here too: find a member's score
//! (hash), its rank (hash, then binary searches over chunks and within one, then a Fenwick prefix
//! sum), the entry at a rank (Fenwick descent), the boundaries of a score or lex range (binary
//! searches); insert and remove move at most one chunk's entries (plus, when a chunk splits or
//! empties, one pass over the chunk list). A range of k entries is read in O(log n + k).
//!
//! Memory: each entry is one `ThinPair` block (member, and the score's 8 bytes), an 8-byte slot in
//! its chunk, an 8-byte slot in the member vector and a hash slot of 4 bytes plus a control byte:
//! about half of what Redis's skiplist node, dict entry and sds take.
//!
//! Invariant: every `ThinRef` in `members` points at a block owned by exactly one chunk; an entry
//! leaves `members` before its block is dropped; scores change in place (same length), so refs
//! stay valid.

use std::cmp::Ordering;
use std::hash::BuildHasher;
use std::sync::OnceLock;

use foldhash::fast::FixedState;
use hashbrown::HashTable;

use crate::thin::{ThinPair, ThinRef};

/// Target chunk size: chunks split past twice this and merge below half of it.
const CHUNK: usize = 64;

fn hasher() -> FixedState {
    static SEED: OnceLock<u64> = OnceLock::new();
    FixedState::with_seed(*SEED.get_or_init(rand::random))
}

#[inline]
fn score_bytes(s: f64) -> [u8; 8] {
    s.to_bits().to_le_bytes()
}

#[inline]
fn score_of(b: &[u8]) -> f64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[..8]);
    f64::from_bits(u64::from_le_bytes(a))
}

/// (score, member) order; scores are never NaN.
#[inline]
fn cmp_key(s1: f64, m1: &[u8], s2: f64, m2: &[u8]) -> Ordering {
    s1.total_cmp(&s2).then_with(|| m1.cmp(m2))
}

#[inline]
fn key_of(p: &ThinPair) -> (f64, &[u8]) {
    (score_of(p.second()), p.first())
}

pub struct ZIndex {
    chunks: Vec<Vec<ThinPair>>,
    /// Fenwick tree (1-based) over `chunks[i].len()`.
    fen: Vec<usize>,
    /// Every entry, in no particular order (removals swap the last one in).
    members: Vec<ThinRef>,
    /// member -> position in `members`.
    table: HashTable<u32>,
    len: usize,
}

impl Default for ZIndex {
    fn default() -> Self {
        ZIndex {
            chunks: Vec::new(),
            fen: vec![0],
            members: Vec::new(),
            table: HashTable::new(),
            len: 0,
        }
    }
}

impl ZIndex {
    #[inline]
    pub fn len(&self) -> usize {
        self.len
    }

    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    #[inline]
    fn hash(m: &[u8]) -> u64 {
        hasher().hash_one(m)
    }

    /// Position of `m` in `members`.
    fn position(&self, m: &[u8]) -> Option<usize> {
        let members = &self.members;
        // SAFETY: refs in `members` point at live blocks owned by the chunks (module invariant).
        self.table
            .find(
                Self::hash(m),
                |&i| unsafe { members[i as usize].first() } == m,
            )
            .map(|&i| i as usize)
    }

    fn find_ref(&self, m: &[u8]) -> Option<ThinRef> {
        self.position(m).map(|i| self.members[i])
    }

    /// The member at position `i` (< len) of the member vector: O(1) random picks, and the
    /// ZSCAN cursor (walk down from the top).
    pub fn member_at(&self, i: usize) -> Option<(&[u8], f64)> {
        let r = *self.members.get(i)?;
        // SAFETY: the block is owned by a chunk and lives as long as `&self`.
        Some(unsafe { (r.first(), score_of(r.second())) })
    }

    pub fn score(&self, m: &[u8]) -> Option<f64> {
        // SAFETY: as in `find_ref`.
        self.find_ref(m).map(|r| score_of(unsafe { r.second() }))
    }

    // ---- Fenwick tree over chunk lengths ----

    fn rebuild(&mut self) {
        let n = self.chunks.len();
        self.fen = vec![0; n + 1];
        for i in 1..=n {
            self.fen[i] += self.chunks[i - 1].len();
            let j = i + (i & i.wrapping_neg());
            if j <= n {
                self.fen[j] += self.fen[i];
            }
        }
    }

    fn fen_add(&mut self, chunk: usize, delta: isize) {
        let mut i = chunk + 1;
        while i < self.fen.len() {
            self.fen[i] = self.fen[i].wrapping_add_signed(delta);
            i += i & i.wrapping_neg();
        }
    }

    /// Entries in chunks `0..chunk`.
    fn prefix(&self, chunk: usize) -> usize {
        let (mut i, mut s) = (chunk, 0);
        while i > 0 {
            s += self.fen[i];
            i -= i & i.wrapping_neg();
        }
        s
    }

    /// (chunk, offset) of rank `r` (< len).
    fn locate_rank(&self, r: usize) -> (usize, usize) {
        let n = self.chunks.len();
        let (mut pos, mut rem) = (0usize, r);
        let mut step = n.next_power_of_two();
        while step > 0 {
            let next = pos + step;
            if next <= n && self.fen[next] <= rem {
                pos = next;
                rem -= self.fen[next];
            }
            step >>= 1;
        }
        (pos, rem)
    }

    // ---- positions ----

    /// The number of leading entries for which `pred(score, member)` holds (`pred` must hold for
    /// a prefix of the order and not after it).
    pub fn partition_point(&self, pred: impl Fn(f64, &[u8]) -> bool) -> usize {
        // The first chunk whose last entry fails the predicate holds the boundary.
        let c = self.chunks.partition_point(|ch| {
            ch.last().is_some_and(|p| {
                let (s, m) = key_of(p);
                pred(s, m)
            })
        });
        if c == self.chunks.len() {
            return self.len;
        }
        let off = self.chunks[c].partition_point(|p| {
            let (s, m) = key_of(p);
            pred(s, m)
        });
        self.prefix(c) + off
    }

    /// (chunk, offset) where (s, m) is or would go.
    fn locate_key(&self, s: f64, m: &[u8]) -> (usize, usize) {
        let c = self.chunks.partition_point(|ch| {
            ch.last().is_some_and(|p| {
                let (ps, pm) = key_of(p);
                cmp_key(ps, pm, s, m) == Ordering::Less
            })
        });
        if c == self.chunks.len() {
            // Past every entry: the end of the last chunk.
            return match self.chunks.len() {
                0 => (0, 0),
                n => (n - 1, self.chunks[n - 1].len()),
            };
        }
        let off = self.chunks[c].partition_point(|p| {
            let (ps, pm) = key_of(p);
            cmp_key(ps, pm, s, m) == Ordering::Less
        });
        (c, off)
    }

    /// 0-based rank of `m` in ascending order.
    pub fn rank(&self, m: &[u8]) -> Option<usize> {
        let s = self.score(m)?;
        let (c, off) = self.locate_key(s, m);
        Some(self.prefix(c) + off)
    }

    /// The entry at rank `r`.
    pub fn nth(&self, r: usize) -> Option<(&[u8], f64)> {
        if r >= self.len {
            return None;
        }
        let (c, off) = self.locate_rank(r);
        let p = &self.chunks[c][off];
        Some((p.first(), score_of(p.second())))
    }

    // ---- changes ----

    fn place(&mut self, p: ThinPair) {
        let (s, m) = key_of(&p);
        let (c, off) = self.locate_key(s, m);
        if self.chunks.is_empty() {
            self.chunks.push(vec![p]);
            self.rebuild();
        } else {
            self.chunks[c].insert(off, p);
            if self.chunks[c].len() > 2 * CHUNK {
                let tail = self.chunks[c].split_off(CHUNK);
                self.chunks.insert(c + 1, tail);
                self.rebuild();
            } else {
                self.fen_add(c, 1);
            }
        }
        self.len += 1;
    }

    /// Takes the entry with key (s, m) out of the order (it must be there).
    fn take(&mut self, s: f64, m: &[u8]) -> ThinPair {
        let (c, off) = self.locate_key(s, m);
        let p = self.chunks[c].remove(off);
        self.len -= 1;
        let n = self.chunks[c].len();
        if n == 0 {
            self.chunks.remove(c);
            self.rebuild();
        } else if n < CHUNK / 2
            && c + 1 < self.chunks.len()
            && n + self.chunks[c + 1].len() <= 2 * CHUNK
        {
            let next = self.chunks.remove(c + 1);
            self.chunks[c].extend(next);
            self.rebuild();
        } else {
            self.fen_add(c, -1);
        }
        p
    }

    /// Sets the score of `m`; returns the previous one.
    pub fn insert(&mut self, m: &[u8], score: f64) -> Option<f64> {
        if let Some(old) = self.score(m) {
            if old.total_cmp(&score) != Ordering::Equal {
                let mut p = self.take(old, m);
                // Same length: the block stays, and so does the index's ref to it.
                p.set_second(&score_bytes(score));
                self.place(p);
            }
            return Some(old);
        }
        let p = ThinPair::new(m, &score_bytes(score));
        let r = p.as_ref();
        self.place(p);
        let i = self.members.len() as u32;
        self.members.push(r);
        let members = &self.members;
        // SAFETY: refs point at live blocks owned by the chunks.
        self.table.insert_unique(Self::hash(m), i, |&j| {
            Self::hash(unsafe { members[j as usize].first() })
        });
        None
    }

    /// Removes `m`; returns its score.
    pub fn remove(&mut self, m: &[u8]) -> Option<f64> {
        let i = self.position(m)?;
        if let Ok(slot) = self.table.find_entry(Self::hash(m), |&j| j as usize == i) {
            slot.remove();
        }
        let last = self.members.len() - 1;
        let r = self.members.swap_remove(i);
        if i != last {
            // SAFETY: the moved ref's block is owned by a chunk.
            let moved = Self::hash(unsafe { self.members[i].first() });
            if let Some(slot) = self.table.find_mut(moved, |&j| j as usize == last) {
                *slot = i as u32;
            }
        }
        // SAFETY: the block is still owned by a chunk (it is taken out and dropped below, after
        // its ref left the index).
        let s = score_of(unsafe { r.second() });
        drop(self.take(s, m));
        Some(s)
    }

    /// Removes and returns the lowest (or highest) entry.
    pub fn pop(&mut self, highest: bool) -> Option<(Box<[u8]>, f64)> {
        let r = if highest { self.len.checked_sub(1)? } else { 0 };
        let (m, s) = self.nth(r).map(|(m, s)| (Box::<[u8]>::from(m), s))?;
        self.remove(&m);
        Some((m, s))
    }

    /// Entries of ranks `lo..hi`, ascending.
    pub fn range(&self, lo: usize, hi: usize) -> impl DoubleEndedIterator<Item = (&[u8], f64)> {
        let hi = hi.min(self.len);
        let lo = lo.min(hi);
        let (c, off) = if lo < self.len {
            self.locate_rank(lo)
        } else {
            (self.chunks.len(), 0)
        };
        self.chunks
            .iter()
            .skip(c)
            .flatten()
            .skip(off)
            .take(hi - lo)
            .map(|p| (p.first(), score_of(p.second())))
            .collect::<Vec<_>>()
            .into_iter()
    }

    /// Every entry, ascending.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = (&[u8], f64)> {
        self.chunks
            .iter()
            .flatten()
            .map(|p| (p.first(), score_of(p.second())))
    }

    /// Heap bytes: blocks, chunk slots, the hash index.
    pub fn heap_size(&self) -> usize {
        self.chunks
            .iter()
            .map(|c| {
                c.capacity() * 8
                    + c.iter()
                        .map(|p| crate::mem::size_class(p.block_size()))
                        .sum::<usize>()
            })
            .sum::<usize>()
            + self.members.capacity() * 8
            + self.table.capacity() * 5
    }
}

impl Clone for ZIndex {
    fn clone(&self) -> Self {
        let mut z = ZIndex::default();
        for (m, s) in self.iter() {
            z.insert(m, s);
        }
        z
    }
}

impl PartialEq for ZIndex {
    fn eq(&self, o: &Self) -> bool {
        self.len == o.len
            && self
                .iter()
                .zip(o.iter())
                .all(|((m1, s1), (m2, s2))| m1 == m2 && s1.total_cmp(&s2) == Ordering::Equal)
    }
}

impl std::fmt::Debug for ZIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.iter().map(|(m, s)| (String::from_utf8_lossy(m), s)))
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Against a sorted Vec model, through splits, merges and score changes.
    #[test]
    fn matches_a_sorted_vec() {
        let mut z = ZIndex::default();
        let mut model: Vec<(f64, Vec<u8>)> = Vec::new();
        let mut x = 7u64;
        let mut rnd = |n: u64| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x % n
        };
        let steps = if cfg!(miri) { 400 } else { 6000 };
        for step in 0..steps {
            let m = format!("m{}", rnd(700)).into_bytes();
            let s = rnd(50) as f64 - 25.0;
            if rnd(3) == 0 {
                let want = model
                    .iter()
                    .position(|(_, x)| *x == m)
                    .map(|i| model.remove(i).0);
                assert_eq!(z.remove(&m), want, "step {step}");
            } else {
                let prev = model
                    .iter()
                    .position(|(_, x)| *x == m)
                    .map(|i| model.remove(i).0);
                model.push((s, m.clone()));
                model.sort_by(|a, b| cmp_key(a.0, &a.1, b.0, &b.1));
                assert_eq!(z.insert(&m, s), prev, "step {step}");
            }
            assert_eq!(z.len(), model.len());
            if step % 97 == 0 {
                for (r, (s, m)) in model.iter().enumerate() {
                    assert_eq!(z.rank(m), Some(r));
                    assert_eq!(z.nth(r), Some((&m[..], *s)));
                    assert_eq!(z.score(m), Some(*s));
                }
                let got: Vec<_> = z.iter().map(|(m, s)| (s, m.to_vec())).collect();
                assert_eq!(got, model);
                let lo = model.len() / 3;
                let hi = model.len() / 2;
                let part: Vec<_> = z.range(lo, hi).map(|(m, s)| (s, m.to_vec())).collect();
                assert_eq!(part, model[lo..hi]);
                let below_zero = z.partition_point(|s, _| s < 0.0);
                assert_eq!(below_zero, model.iter().filter(|(s, _)| *s < 0.0).count());
                let mut all: Vec<_> = (0..z.len())
                    .filter_map(|i| z.member_at(i))
                    .map(|(m, s)| (s, m.to_vec()))
                    .collect();
                all.sort_by(|a, b| cmp_key(a.0, &a.1, b.0, &b.1));
                assert_eq!(all, model);
            }
        }
        loop {
            let highest = model.len().is_multiple_of(2);
            let got = z.pop(highest).map(|(m, s)| (s, m.to_vec()));
            let want = match (highest, model.is_empty()) {
                (_, true) => None,
                (true, false) => model.pop(),
                (false, false) => Some(model.remove(0)),
            };
            assert_eq!(got, want);
            if want.is_none() {
                break;
            }
        }
        assert!(z.is_empty());
        assert_eq!(z.chunks.len(), 0);
    }
}
