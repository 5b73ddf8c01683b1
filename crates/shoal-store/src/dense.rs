//! A map of byte strings for large hashes and sets: the pairs live in a dense vector (one thin
//! pointer each, see `thin`) and a hash table of `u32` indexes finds them, as the keyspace's
//! shards do. That costs about 8 + 9 bytes per element besides the pair's block, and gives what a
//! plain hash map cannot: O(1) uniform random picks (SPOP, SRANDMEMBER, HRANDFIELD) and a scan
//! cursor that survives changes (HSCAN, SSCAN walk the vector downward; removals only move an
//! element down, from the top into the freed slot).

use std::hash::BuildHasher;
use std::sync::OnceLock;

use foldhash::fast::FixedState;
use hashbrown::HashTable;

use crate::thin::ThinPair;

/// One random seed per process: a client cannot predict where its fields land.
fn hasher() -> FixedState {
    static SEED: OnceLock<u64> = OnceLock::new();
    FixedState::with_seed(*SEED.get_or_init(rand::random))
}

#[derive(Clone)]
pub struct Dense {
    items: Vec<ThinPair>,
    table: HashTable<u32>,
}

impl Default for Dense {
    fn default() -> Self {
        Dense::with_capacity(0)
    }
}

impl Dense {
    pub fn with_capacity(n: usize) -> Dense {
        Dense {
            items: Vec::with_capacity(n),
            table: HashTable::with_capacity(n),
        }
    }

    #[inline]
    pub fn len(&self) -> usize {
        self.items.len()
    }

    #[inline]
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    #[inline]
    fn hash(k: &[u8]) -> u64 {
        hasher().hash_one(k)
    }

    /// Index of the element whose key is `k`.
    #[inline]
    pub fn position(&self, k: &[u8]) -> Option<usize> {
        let items = &self.items;
        self.table
            .find(Self::hash(k), |&i| items[i as usize].first() == k)
            .map(|&i| i as usize)
    }

    #[inline]
    pub fn get(&self, k: &[u8]) -> Option<&ThinPair> {
        self.position(k).map(|i| &self.items[i])
    }

    /// The element at `i` (< len).
    #[inline]
    pub fn at(&self, i: usize) -> &ThinPair {
        &self.items[i]
    }

    /// Sets `k` to `v`; true if `k` is new.
    pub fn insert(&mut self, k: &[u8], v: &[u8]) -> bool {
        if let Some(i) = self.position(k) {
            self.items[i].set_second(v);
            return false;
        }
        let i = self.items.len() as u32;
        self.items.push(ThinPair::new(k, v));
        let items = &self.items;
        self.table
            .insert_unique(Self::hash(k), i, |&j| Self::hash(items[j as usize].first()));
        true
    }

    pub fn remove(&mut self, k: &[u8]) -> Option<ThinPair> {
        let i = self.position(k)?;
        Some(self.remove_at(i))
    }

    /// Removes the element at `i` (< len); the last element takes its place.
    pub fn remove_at(&mut self, i: usize) -> ThinPair {
        let h = Self::hash(self.items[i].first());
        if let Ok(slot) = self.table.find_entry(h, |&j| j as usize == i) {
            slot.remove();
        }
        let last = self.items.len() - 1;
        let removed = self.items.swap_remove(i);
        if i != last {
            let moved = Self::hash(self.items[i].first());
            if let Some(slot) = self.table.find_mut(moved, |&j| j as usize == last) {
                *slot = i as u32;
            }
        }
        removed
    }

    pub fn iter(&self) -> std::slice::Iter<'_, ThinPair> {
        self.items.iter()
    }

    /// Heap bytes: the vector, the table, and each pair's block as the allocator rounds it.
    pub fn heap_size(&self) -> usize {
        self.items.capacity() * 8
            + self.table.capacity() * 5
            + self
                .items
                .iter()
                .map(|p| crate::mem::size_class(p.block_size()))
                .sum::<usize>()
    }
}

impl PartialEq for Dense {
    /// The same keys with the same values, in any order.
    fn eq(&self, o: &Self) -> bool {
        self.len() == o.len()
            && self
                .iter()
                .all(|p| o.get(p.first()).is_some_and(|q| q.second() == p.second()))
    }
}

impl Eq for Dense {}

impl std::fmt::Debug for Dense {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.items.iter()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn insert_replace_remove_keep_the_index_right() {
        let mut d = Dense::default();
        for i in 0..1000u32 {
            assert!(d.insert(format!("k{i}").as_bytes(), &i.to_le_bytes()));
        }
        assert!(!d.insert(b"k5", b"new"));
        assert_eq!(d.get(b"k5").map(|p| p.second()), Some(&b"new"[..]));
        for i in (0..1000u32).step_by(3) {
            assert!(d.remove(format!("k{i}").as_bytes()).is_some());
        }
        assert_eq!(d.len(), 666);
        for i in 0..1000u32 {
            let k = format!("k{i}");
            assert_eq!(d.get(k.as_bytes()).is_some(), i % 3 != 0, "{k}");
        }
        for i in 0..d.len() {
            let k = d.at(i).first().to_vec();
            assert_eq!(d.position(&k), Some(i));
        }
        let c = d.clone();
        assert_eq!(c, d);
        d.insert(b"k1", b"changed");
        assert_ne!(c, d);
    }
}
