//! One lock stripe of one database: a hash table of `u32` indexes into a dense `Vec<Entry>`.
//!
//! The dense vector gives O(1) random sampling (RANDOMKEY, expiry, eviction) and a SCAN cursor
//! that survives removals: entries are removed with `swap_remove`, so an entry only ever moves
//! *down* (from the top into a freed slot), and a cursor that walks downward sees every entry
//! present for the whole scan at least once.
//!
//! Every change of a key goes through a method here that also marks the key's WATCHers dirty,
//! so WATCH cannot miss a change (expiry included). The shard never takes a lock or does I/O.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use foldhash::fast::FixedState;
use hashbrown::HashTable;
use std::hash::BuildHasher;

use crate::value::Value;

/// A key, its value, and its metadata.
#[derive(Debug, Clone)]
pub struct Entry {
    pub key: Box<[u8]>,
    pub value: Value,
    /// Absolute expiry in unix milliseconds; 0 = no TTL.
    expire_at: u64,
    /// Last access, in seconds of the store clock (OBJECT IDLETIME).
    access: u32,
}

impl Entry {
    #[inline]
    pub fn expire_at(&self) -> Option<u64> {
        (self.expire_at != 0).then_some(self.expire_at)
    }

    #[inline]
    pub fn is_expired(&self, now_ms: u64) -> bool {
        self.expire_at != 0 && self.expire_at <= now_ms
    }

    /// Seconds since the last access.
    pub fn idle_secs(&self, now_ms: u64) -> u64 {
        (clock_secs(now_ms)).wrapping_sub(self.access) as u64
    }
}

#[inline]
fn mark_volatile(hints: &VolatileHints, idx: usize) {
    if let Some(h) = hints.get(idx) {
        h.store(true, Ordering::Relaxed);
    }
    // The last flag summarises the whole database.
    if let Some(h) = hints.last() {
        h.store(true, Ordering::Relaxed);
    }
}

#[inline]
fn clock_secs(now_ms: u64) -> u32 {
    (now_ms / 1000) as u32
}

/// The data part of a shard (swapped wholesale by SWAPDB; watchers stay with the key names).
#[derive(Default)]
struct Data {
    table: HashTable<u32>,
    entries: Vec<Entry>,
    /// Entries with a TTL.
    volatile: usize,
    /// Next index (exclusive) the active-expiry sweep looks at, walking down.
    sweep: usize,
}

/// WATCH registrations: key -> dirty flags of the clients watching it.
type Watchers = hashbrown::HashMap<Box<[u8]>, Vec<Arc<AtomicBool>>, FixedState>;

/// Per-database flags, one per shard plus a last one for the whole database: "may hold keys with
/// a TTL". Set (without the database's other locks) when a shard gains its first TTL; cleared by
/// the expiry cycle (a shard's under its lock), which skips unflagged shards and databases
/// without locking them.
pub type VolatileHints = std::sync::Arc<[std::sync::atomic::AtomicBool]>;

pub struct Shard {
    data: Data,
    hasher: FixedState,
    hints: VolatileHints,
    idx: usize,
    watchers: Option<Box<Watchers>>,
    /// Keys removed because their TTL passed (lazily or by the active cycle).
    pub expired_total: u64,
}

impl Shard {
    pub fn new(hasher: FixedState, hints: VolatileHints, idx: usize) -> Self {
        Shard {
            data: Data::default(),
            hasher,
            hints,
            idx,
            watchers: None,
            expired_total: 0,
        }
    }

    #[inline]
    fn gained_volatile(&self) {
        mark_volatile(&self.hints, self.idx);
    }

    /// Clears this shard's hint if it holds no TTL any more. Returns whether it still has some.
    pub fn refresh_hint(&self) -> bool {
        let has = self.data.volatile > 0;
        if !has && let Some(h) = self.hints.get(self.idx) {
            h.store(false, Ordering::Relaxed);
        }
        has
    }

    #[inline]
    pub fn len(&self) -> usize {
        self.data.entries.len()
    }

    #[inline]
    pub fn is_empty(&self) -> bool {
        self.data.entries.is_empty()
    }

    /// Number of entries with a TTL (possibly already past).
    pub fn volatile(&self) -> usize {
        self.data.volatile
    }

    /// Index of the entry for `key`, expired or not (nothing is removed or refreshed).
    #[inline]
    pub fn find_raw(&self, hash: u64, key: &[u8]) -> Option<usize> {
        self.find(hash, key)
    }

    #[inline]
    fn find(&self, hash: u64, key: &[u8]) -> Option<usize> {
        let entries = &self.data.entries;
        self.data
            .table
            .find(hash, |&i| *entries[i as usize].key == *key)
            .map(|&i| i as usize)
    }

    /// Index of the live entry for `key`, removing it first if its TTL has passed. Refreshes the
    /// entry's access time.
    #[inline]
    pub fn find_live(&mut self, hash: u64, key: &[u8], now_ms: u64) -> Option<usize> {
        let i = self.find(hash, key)?;
        let e = &mut self.data.entries[i];
        if e.is_expired(now_ms) {
            self.expired_total += 1;
            self.remove_at(i);
            return None;
        }
        e.access = clock_secs(now_ms);
        Some(i)
    }

    /// Like `find_live` but does not refresh the access time (OBJECT, TTL-only inspections).
    pub fn peek_live(&mut self, hash: u64, key: &[u8], now_ms: u64) -> Option<usize> {
        let i = self.find(hash, key)?;
        if self.data.entries[i].is_expired(now_ms) {
            self.expired_total += 1;
            self.remove_at(i);
            return None;
        }
        Some(i)
    }

    #[inline]
    pub fn entry(&self, i: usize) -> &Entry {
        &self.data.entries[i]
    }

    /// Mutable access to a value; marks the key modified for WATCH.
    #[inline]
    pub fn value_mut(&mut self, i: usize) -> &mut Value {
        self.signal_at(i);
        &mut self.data.entries[i].value
    }

    /// Sets (`Some`) or clears (`None`) the TTL of entry `i`; marks the key modified.
    pub fn set_expire(&mut self, i: usize, at: Option<u64>) {
        self.signal_at(i);
        let e = &mut self.data.entries[i];
        let new = match at {
            Some(t) => t.max(1),
            None => 0,
        };
        match (e.expire_at != 0, new != 0) {
            (false, true) => {
                self.data.volatile += 1;
                if self.data.volatile == 1 {
                    mark_volatile(&self.hints, self.idx);
                }
            }
            (true, false) => self.data.volatile -= 1,
            _ => {}
        }
        e.expire_at = new;
    }

    /// Inserts a key known to be absent. Returns its index.
    pub fn insert_new(
        &mut self,
        hash: u64,
        key: &[u8],
        value: Value,
        expire_at: Option<u64>,
        now_ms: u64,
    ) -> usize {
        self.signal(key);
        let d = &mut self.data;
        let i = d.entries.len();
        let expire_at = expire_at.map(|t| t.max(1)).unwrap_or(0);
        if expire_at != 0 {
            d.volatile += 1;
            if d.volatile == 1 {
                mark_volatile(&self.hints, self.idx);
            }
        }
        d.entries.push(Entry {
            key: key.into(),
            value,
            expire_at,
            access: clock_secs(now_ms),
        });
        let entries = &d.entries;
        let hasher = &self.hasher;
        d.table.insert_unique(hash, i as u32, |&j| {
            hasher.hash_one(&*entries[j as usize].key)
        });
        i
    }

    /// Removes entry `i` and returns it; marks the key modified.
    pub fn remove_at(&mut self, i: usize) -> Entry {
        self.signal_at(i);
        let d = &mut self.data;
        let hash = self.hasher.hash_one(&*d.entries[i].key);
        if let Ok(slot) = d.table.find_entry(hash, |&j| j as usize == i) {
            slot.remove();
        }
        let last = d.entries.len() - 1;
        let e = d.entries.swap_remove(i);
        if i != last {
            let moved = self.hasher.hash_one(&*d.entries[i].key);
            if let Some(slot) = d.table.find_mut(moved, |&j| j as usize == last) {
                *slot = i as u32;
            }
        }
        if e.expire_at != 0 {
            d.volatile -= 1;
        }
        e
    }

    /// Removes the live entry for `key`, if any.
    pub fn remove(&mut self, hash: u64, key: &[u8], now_ms: u64) -> Option<Entry> {
        let i = self.peek_live(hash, key, now_ms)?;
        Some(self.remove_at(i))
    }

    /// Sets `key` to `value` with the given TTL, replacing any old entry. Returns the old value.
    pub fn upsert(
        &mut self,
        hash: u64,
        key: &[u8],
        value: Value,
        expire_at: Option<u64>,
        now_ms: u64,
    ) -> Option<Value> {
        match self.peek_live(hash, key, now_ms) {
            Some(i) => {
                self.set_expire(i, expire_at);
                let e = &mut self.data.entries[i];
                e.access = clock_secs(now_ms);
                Some(std::mem::replace(&mut e.value, value))
            }
            None => {
                self.insert_new(hash, key, value, expire_at, now_ms);
                None
            }
        }
    }

    /// Removes every entry; marks every watched key of this shard.
    pub fn clear(&mut self) -> usize {
        let n = self.data.entries.len();
        self.signal_all();
        self.data = Data::default();
        n
    }

    /// Exchanges the data of two shards (SWAPDB); watchers of both are marked.
    pub fn swap_data(a: &mut Shard, b: &mut Shard) {
        a.signal_all();
        b.signal_all();
        std::mem::swap(&mut a.data, &mut b.data);
        for s in [a, b] {
            if s.data.volatile > 0 {
                s.gained_volatile();
            }
        }
    }

    /// Entry at position `i` of the dense vector, for SCAN, KEYS and sampling.
    pub fn at(&self, i: usize) -> Option<&Entry> {
        self.data.entries.get(i)
    }

    /// Active expiry: checks up to `max` entries, walking down from where the last sweep stopped.
    /// With a large enough `max` one call removes every expired entry. Returns (checked, expired).
    pub fn sweep_expired(&mut self, now_ms: u64, max: usize) -> (usize, usize) {
        if self.data.volatile == 0 {
            return (0, 0);
        }
        let mut checked = 0;
        let mut expired = 0;
        let mut pos = self.data.sweep.min(self.data.entries.len());
        // At most one wrap per call: from `pos` down to 0, then from the top down to 0 again. That
        // sees every entry (an entry moved by `swap_remove` only moves down, into the part still
        // ahead of the walk) and always ends.
        let mut wrapped = false;
        while checked < max {
            if pos == 0 {
                if wrapped {
                    break;
                }
                wrapped = true;
                pos = self.data.entries.len();
                if pos == 0 {
                    break;
                }
            }
            pos -= 1;
            checked += 1;
            if self.data.entries[pos].is_expired(now_ms) {
                self.remove_at(pos);
                expired += 1;
            }
        }
        self.data.sweep = pos;
        self.expired_total += expired as u64;
        (checked, expired)
    }

    // ---- WATCH ----

    /// Registers `flag` to be set when `key` changes.
    pub fn watch(&mut self, key: &[u8], flag: &Arc<AtomicBool>) {
        let hasher = self.hasher.clone();
        let w = self
            .watchers
            .get_or_insert_with(|| Box::new(Watchers::with_hasher(hasher)));
        let list = w.entry(key.into()).or_default();
        if !list.iter().any(|f| Arc::ptr_eq(f, flag)) {
            list.push(flag.clone());
        }
    }

    /// Removes the registration of `flag` for `key`.
    pub fn unwatch(&mut self, key: &[u8], flag: &Arc<AtomicBool>) {
        if let Some(w) = self.watchers.as_mut() {
            if let Some(list) = w.get_mut(key) {
                list.retain(|f| !Arc::ptr_eq(f, flag));
                if list.is_empty() {
                    w.remove(key);
                }
            }
            if w.is_empty() {
                self.watchers = None;
            }
        }
    }

    #[inline]
    fn signal_at(&self, i: usize) {
        if self.watchers.is_some() {
            self.signal(&self.data.entries[i].key);
        }
    }

    /// Marks `key` modified for every client watching it.
    #[inline]
    pub fn signal(&self, key: &[u8]) {
        if let Some(w) = &self.watchers
            && let Some(list) = w.get(key)
        {
            for f in list {
                f.store(true, Ordering::Release);
            }
        }
    }

    fn signal_all(&self) {
        if let Some(w) = &self.watchers {
            for f in w.values().flatten() {
                f.store(true, Ordering::Release);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shard() -> Shard {
        Shard::new(FixedState::with_seed(7), std::sync::Arc::new([]), 0)
    }

    fn h(s: &Shard, k: &[u8]) -> u64 {
        s.hasher.hash_one(k)
    }

    #[test]
    fn insert_find_remove_keeps_indexes_right() {
        let mut s = shard();
        for i in 0..100u32 {
            let k = i.to_be_bytes();
            s.insert_new(h(&s, &k), &k, Value::Int(i as i64), None, 0);
        }
        for i in (0..100u32).step_by(3) {
            let k = i.to_be_bytes();
            assert!(s.remove(h(&s, &k), &k, 0).is_some());
        }
        for i in 0..100u32 {
            let k = i.to_be_bytes();
            let found = s.find_live(h(&s, &k), &k, 0);
            assert_eq!(found.is_some(), i % 3 != 0);
            if let Some(j) = found {
                assert!(matches!(s.entry(j).value, Value::Int(v) if v == i as i64));
            }
        }
    }

    #[test]
    fn lazy_and_active_expiry() {
        let mut s = shard();
        for i in 0..50u32 {
            let k = i.to_be_bytes();
            let ttl = if i % 2 == 0 { Some(1000) } else { None };
            s.insert_new(h(&s, &k), &k, Value::Int(0), ttl, 0);
        }
        assert_eq!(s.volatile(), 25);
        let k = 0u32.to_be_bytes();
        assert!(s.find_live(h(&s, &k), &k, 999).is_some());
        assert!(s.find_live(h(&s, &k), &k, 1000).is_none());
        assert_eq!(s.len(), 49);
        let (_, expired) = s.sweep_expired(1000, 1000);
        assert_eq!(expired, 24);
        assert_eq!(s.len(), 25);
        assert_eq!(s.volatile(), 0);
        assert_eq!(s.expired_total, 25);
    }

    #[test]
    fn watch_sees_changes_and_expiry() {
        let mut s = shard();
        let flag = Arc::new(AtomicBool::new(false));
        let k = b"k";
        s.watch(k, &flag);
        s.insert_new(h(&s, k), k, Value::Int(1), Some(10), 0);
        assert!(flag.swap(false, Ordering::AcqRel));
        s.find_live(h(&s, k), k, 5);
        assert!(!flag.load(Ordering::Acquire));
        s.find_live(h(&s, k), k, 10);
        assert!(flag.load(Ordering::Acquire), "expiry must signal watchers");
        s.unwatch(k, &flag);
        assert!(s.watchers.is_none());
    }
}
