//! The keyspace: `databases` logical databases, each split into a power-of-two number of shards,
//! each shard behind its own mutex.
//!
//! Locking rules (they make deadlock impossible):
//! - a thread holds either one shard lock, or a [`LockSet`] taken in one go in ascending
//!   (db, shard) order; it never takes a further lock while holding a `LockSet`'s locks unless the
//!   set holds that shard already ([`LockSet::shard`] returns the held one);
//! - no lock is held across an `.await` (this crate has no async code at all).

use std::hash::BuildHasher;
use std::time::{Duration, Instant};

use crossbeam_utils::CachePadded;
use foldhash::fast::FixedState;
use parking_lot::{Mutex, MutexGuard};

use crate::policy::Tuning;
use crate::shard::{Shard, VolatileHints};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

/// Identifies one shard of one database.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ShardId {
    pub db: u32,
    pub idx: u32,
}

struct Db {
    shards: Box<[CachePadded<Mutex<Shard>>]>,
    hints: VolatileHints,
}

/// How keys are spread over a database's shards.
#[derive(Clone, Copy)]
pub enum Stripe {
    /// By bits of the key's hash.
    Hash,
    /// By a slot function (Redis Cluster hash slots): every key of a slot lands in one shard, so
    /// a slot's keys are found without walking the whole keyspace. Needs at most 16384 shards.
    Slot(fn(&[u8]) -> u16),
}

pub struct Store {
    dbs: Box<[OnceLock<Db>]>,
    mask: u64,
    hasher: FixedState,
    stripe: Stripe,
    tuning: Arc<Tuning>,
    snap: Arc<crate::snapshot::SnapState>,
    pub(crate) evictor: Mutex<crate::evict::Evictor>,
    /// Keys removed by eviction.
    pub(crate) evicted: AtomicU64,
}

impl Store {
    /// `shards` is rounded up to a power of two.
    pub fn new(databases: usize, shards: usize) -> Self {
        Self::with_stripe(databases, shards, Stripe::Hash)
    }

    /// A store whose shards follow `stripe` (with `Stripe::Slot`, `shards` is capped at 16384).
    pub fn with_stripe(databases: usize, shards: usize, stripe: Stripe) -> Self {
        let shards = match stripe {
            Stripe::Hash => shards,
            Stripe::Slot(_) => shards.min(16384),
        };
        let shards = shards.max(1).next_power_of_two();
        let databases = databases.max(1);
        let store = Store {
            dbs: (0..databases).map(|_| OnceLock::new()).collect(),
            mask: shards as u64 - 1,
            hasher: FixedState::with_seed(rand::random()),
            stripe,
            tuning: Arc::new(Tuning::default()),
            snap: Arc::default(),
            evictor: Mutex::new(crate::evict::Evictor::new(databases)),
            evicted: AtomicU64::new(0),
        };
        // Database 0 is where nearly everything lives; the others are made when first used.
        store.db(0);
        store
    }

    /// Database `i`, made on first use: an unused database costs nothing.
    #[inline]
    fn db(&self, i: usize) -> &Db {
        self.dbs[i].get_or_init(|| {
            let shards = self.shards_per_db();
            let hints: VolatileHints = (0..shards + 2).map(|_| AtomicBool::new(false)).collect();
            Db {
                shards: (0..shards)
                    .map(|idx| {
                        let s = Shard::with_tuning(
                            self.hasher.clone(),
                            hints.clone(),
                            idx,
                            self.tuning.clone(),
                        )
                        .in_snapshots(self.snap.clone(), i as u32);
                        CachePadded::new(Mutex::new(match self.stripe {
                            Stripe::Slot(f) => s.count_slots(f, shards),
                            Stripe::Hash => s,
                        }))
                    })
                    .collect(),
                hints,
            }
        })
    }

    /// Whether database `i` was ever used (an unused one holds no key).
    #[inline]
    pub fn db_exists(&self, i: usize) -> bool {
        self.dbs[i].get().is_some()
    }

    /// The eviction settings (policy, samples, LFU parameters) every shard follows.
    pub fn tuning(&self) -> &Tuning {
        &self.tuning
    }

    /// Starts a point-in-time snapshot (see `snapshot`); `wake` is called as records arrive.
    /// Call it with no write in flight; then call `snapshot_walk` to finish it.
    pub fn begin_snapshot(
        &self,
        wake: Box<dyn Fn() + Send + Sync>,
    ) -> Arc<crate::snapshot::SnapSink> {
        self.snap.begin(wake, false)
    }

    /// `begin_snapshot` whose records carry each entry's eviction word (for RDB files, which
    /// keep keys' idle times or LFU counters).
    pub fn begin_snapshot_words(
        &self,
        wake: Box<dyn Fn() + Send + Sync>,
    ) -> Arc<crate::snapshot::SnapSink> {
        self.snap.begin(wake, true)
    }

    /// Copies every shard not copied yet into `sink`'s snapshot, one shard lock at a time, then
    /// marks it done.
    pub fn snapshot_walk(&self, sink: &crate::snapshot::SnapSink) {
        self.snapshot_walk_bounded(sink, usize::MAX);
    }

    /// `snapshot_walk`, waiting before each shard while more than `max_pending` bytes of records
    /// are made and not taken (so a slow reader does not hold a copy of the whole keyspace;
    /// writes still copy the shards they change).
    pub fn snapshot_walk_bounded(&self, sink: &crate::snapshot::SnapSink, max_pending: usize) {
        for id in self.live_shards().collect::<Vec<_>>() {
            while sink.pending() > max_pending {
                std::thread::sleep(Duration::from_millis(1));
            }
            self.lock(id).copy_for_snapshot();
        }
        self.snap.finish(sink);
    }

    /// Keys of hash `slot` in database `db` (slot-striped stores; O(1)).
    pub fn slot_keys(&self, db: usize, slot: u16) -> usize {
        if !self.db_exists(db) {
            return 0;
        }
        self.lock(self.slot_shard(db, slot)).slot_keys(slot)
    }

    /// Up to `limit` live keys of hash `slot` in database `db` (slot-striped stores: one shard
    /// holds them all).
    pub fn keys_in_slot(&self, db: usize, slot: u16, limit: usize, now: u64) -> Vec<Box<[u8]>> {
        let Stripe::Slot(f) = self.stripe else {
            return Vec::new();
        };
        if !self.db_exists(db) || self.slot_keys(db, slot) == 0 {
            return Vec::new();
        }
        let s = self.lock(self.slot_shard(db, slot));
        let mut out = Vec::new();
        for i in 0..s.len() {
            if out.len() >= limit {
                break;
            }
            if let Some(e) = s.at(i)
                && !e.is_expired(now)
                && f(e.key()) == slot
            {
                out.push(e.key().into());
            }
        }
        out
    }

    /// Deletes every key of hash `slot` in database `db`; returns them.
    pub fn purge_slot(&self, db: usize, slot: u16, now: u64) -> Vec<Box<[u8]>> {
        let keys = self.keys_in_slot(db, slot, usize::MAX, now);
        if keys.is_empty() {
            return keys;
        }
        let mut s = self.lock(self.slot_shard(db, slot));
        for k in &keys {
            s.remove(self.hash(k), k, now);
        }
        keys
    }

    // ---- atomic slot migration (database 0 of a slot-striped store) ----

    /// The distinct shards holding `slots`, in lock order.
    fn shards_of_slots(&self, slots: &[u16]) -> Vec<ShardId> {
        let mut ids: Vec<ShardId> = slots.iter().map(|&s| self.slot_shard(0, s)).collect();
        ids.sort_unstable();
        ids.dedup();
        ids
    }

    /// Starts recording every change to a key of `slots` (see `shard::SlotTracker`).
    pub fn track_slots(&self, slots: &[u16]) {
        for id in self.shards_of_slots(slots) {
            self.lock(id).track_slots(slots);
        }
    }

    /// Stops recording changes in the shards of `slots`.
    pub fn untrack_slots(&self, slots: &[u16]) {
        for id in self.shards_of_slots(slots) {
            self.lock(id).untrack();
        }
    }

    /// Keys of the tracked slots changed since the last call, and whether a flush hit them.
    pub fn take_changed(&self, slots: &[u16]) -> (Vec<Box<[u8]>>, bool) {
        let mut keys = Vec::new();
        let mut flushed = false;
        for id in self.shards_of_slots(slots) {
            flushed |= self.lock(id).take_changed(&mut keys);
        }
        (keys, flushed)
    }

    /// Appends a snapshot record for each of `keys` of database 0 as it is now: its value, or
    /// a deletion when it is gone (`snapshot::read_records` gives an empty payload for those).
    pub fn export_records(&self, keys: &[Box<[u8]>], now: u64, out: &mut Vec<u8>) {
        for k in keys {
            let h = self.hash(k);
            let mut s = self.lock(self.shard_id(0, k, h));
            match s.peek_live(h, k, now) {
                Some(i) => crate::snapshot::write_record(out, 0, s.entry(i), false),
                None => crate::snapshot::write_deletion(out, 0, k),
            }
        }
    }

    /// Whether a shard of `db` gained its first key (or first TTL) since the last call.
    pub(crate) fn take_gained(&self, db: usize) -> bool {
        let Some(d) = self.dbs[db].get() else {
            return false;
        };
        d.hints[d.hints.len() - 1].swap(false, Ordering::Relaxed)
    }

    /// Keys evicted so far.
    pub fn evicted_total(&self) -> u64 {
        self.evicted.load(Ordering::Relaxed)
    }

    pub fn databases(&self) -> usize {
        self.dbs.len()
    }

    pub fn shards_per_db(&self) -> usize {
        self.mask as usize + 1
    }

    #[inline]
    pub fn hash(&self, key: &[u8]) -> u64 {
        self.hasher.hash_one(key)
    }

    /// The shard of `key` (whose hash is `hash`) in database `db`. By hash, it uses bits the hash
    /// table does not use for its buckets; by slot, the slot's low bits.
    #[inline]
    pub fn shard_id(&self, db: usize, key: &[u8], hash: u64) -> ShardId {
        let idx = match self.stripe {
            Stripe::Hash => (hash >> 40) & self.mask,
            Stripe::Slot(f) => f(key) as u64 & self.mask,
        };
        ShardId {
            db: db as u32,
            idx: idx as u32,
        }
    }

    /// The shard that holds every key of `slot` (with `Stripe::Slot`).
    pub fn slot_shard(&self, db: usize, slot: u16) -> ShardId {
        ShardId {
            db: db as u32,
            idx: (slot as u64 & self.mask) as u32,
        }
    }

    #[inline]
    pub fn lock(&self, id: ShardId) -> MutexGuard<'_, Shard> {
        self.db(id.db as usize).shards[id.idx as usize].lock()
    }

    /// Locks a shard, waiting at most `wait` (zero: only if free now).
    pub fn try_lock_for(&self, id: ShardId, wait: Duration) -> Option<MutexGuard<'_, Shard>> {
        let m = &self.db(id.db as usize).shards[id.idx as usize];
        if wait.is_zero() {
            m.try_lock()
        } else {
            m.try_lock_for(wait)
        }
    }

    /// Every shard of every database, in lock order (making unused databases: for lock plans
    /// that must hold them all).
    pub fn all_shards(&self) -> impl Iterator<Item = ShardId> + '_ {
        (0..self.dbs.len() as u32)
            .flat_map(move |db| (0..=self.mask as u32).map(move |idx| ShardId { db, idx }))
    }

    /// Every shard of the databases in use, in lock order (for walks that read or clear).
    pub fn live_shards(&self) -> impl Iterator<Item = ShardId> + '_ {
        (0..self.dbs.len()).flat_map(move |db| self.live_db_shards(db))
    }

    /// Every shard of one database, in lock order.
    pub fn db_shards(&self, db: usize) -> impl Iterator<Item = ShardId> + use<> {
        let db = db as u32;
        (0..=self.mask as u32).map(move |idx| ShardId { db, idx })
    }

    /// Every shard of one database if it is in use, else none (an unused database is empty).
    pub fn live_db_shards(&self, db: usize) -> impl Iterator<Item = ShardId> + use<> {
        let n = if self.db_exists(db) { self.mask + 1 } else { 0 };
        let db = db as u32;
        (0..n as u32).map(move |idx| ShardId { db, idx })
    }

    /// Keys and keys-with-TTL of one database (not atomic across shards).
    pub fn db_counts(&self, db: usize) -> (usize, usize) {
        self.live_db_shards(db).fold((0, 0), |(k, v), id| {
            let s = self.lock(id);
            (k + s.len(), v + s.volatile())
        })
    }

    /// Keys expired so far, over all shards.
    pub fn expired_total(&self) -> u64 {
        self.live_shards()
            .map(|id| self.lock(id).expired_total)
            .sum()
    }

    /// A writable replica's active expiry of the keys its own clients gave a TTL (Redis's
    /// expireSlaveKeys); the primary's keys wait for its DELs. Returns the keys deleted.
    pub fn expire_replica_keys(&self, now_ms: u64) -> usize {
        let keys = crate::shard::take_replica_ttl_keys();
        if keys.is_empty() {
            return 0;
        }
        let mut keep = crate::shard::KeySet::default();
        let mut gone = 0;
        for (db, key) in keys {
            if !self.db_exists(db as usize) {
                continue;
            }
            let hash = self.hash(&key);
            let id = self.shard_id(db as usize, &key, hash);
            let mut s = self.lock(id);
            let before = s.expired_total;
            if s.expire_replica_key(hash, &key, now_ms) {
                keep.insert((db, key));
            } else if s.expired_total != before {
                gone += 1;
            }
        }
        crate::shard::keep_replica_ttl_keys(keep);
        gone
    }

    /// One active-expiry cycle: sweeps shards round-robin from `cursor` until `budget` is spent or
    /// a whole pass finds few expired keys. Works harder (keeps sweeping) while more than a
    /// quarter of what it checks has expired, as Redis's adaptive cycle does.
    pub fn active_expire_cycle(
        &self,
        now_ms: u64,
        budget: Duration,
        cursor: &mut usize,
    ) -> ExpireStats {
        const PER_SHARD: usize = 64;
        let start = Instant::now();
        let total = self.dbs.len() * self.shards_per_db();
        let mut stats = ExpireStats::default();
        let shards = self.shards_per_db();
        let (mut visited, mut iterations, mut pass_end) = (0usize, 0usize, total);
        let (mut pass_checked, mut pass_expired) = (0usize, 0usize);
        loop {
            let i = *cursor % total;
            let (db, idx) = (i / shards, i % shards);
            // A database never used, or with no shard that gained a TTL since the last look, is
            // skipped whole without taking its locks.
            let hints = self.dbs[db]
                .get()
                .map(|d| &d.hints)
                .filter(|h| idx != 0 || h[shards].swap(false, Ordering::Relaxed));
            match hints {
                None => {
                    *cursor = (i + shards - idx) % total;
                    visited += shards - idx;
                }
                Some(hints) => {
                    *cursor = (i + 1) % total;
                    visited += 1;
                    // Unflagged shards hold no TTL: skip them without taking their lock.
                    if hints[idx].load(Ordering::Relaxed) {
                        let mut s = self.lock(ShardId {
                            db: db as u32,
                            idx: idx as u32,
                        });
                        if s.refresh_hint() {
                            hints[shards].store(true, Ordering::Relaxed);
                            let (c, e) = s.sweep_expired(now_ms, PER_SHARD);
                            drop(s);
                            stats.checked += c;
                            stats.expired += e;
                            pass_checked += c;
                            pass_expired += e;
                        }
                    }
                }
            }
            iterations += 1;
            if iterations % 256 == 0 && start.elapsed() >= budget {
                stats.timed_out = true;
                break;
            }
            if visited >= pass_end {
                // A full pass: go on only while a large share of what we saw was expired.
                if pass_checked == 0 || pass_expired * 4 < pass_checked {
                    break;
                }
                pass_end += total;
                pass_checked = 0;
                pass_expired = 0;
            }
        }
        stats
    }
}

#[derive(Clone, Copy, Debug, Default)]
pub struct ExpireStats {
    pub checked: usize,
    pub expired: usize,
    pub timed_out: bool,
}

/// A set of shard locks taken together, in ascending order.
pub struct LockSet<'a> {
    held: Vec<(ShardId, MutexGuard<'a, Shard>)>,
}

impl<'a> LockSet<'a> {
    pub fn empty() -> Self {
        LockSet { held: Vec::new() }
    }

    pub fn is_empty(&self) -> bool {
        self.held.is_empty()
    }

    /// Locks every shard in `ids` (any order, duplicates allowed). Must be called on an empty set.
    pub fn acquire(store: &'a Store, ids: &mut Vec<ShardId>) -> Self {
        ids.sort_unstable();
        ids.dedup();
        LockSet {
            held: ids.iter().map(|&id| (id, store.lock(id))).collect(),
        }
    }

    /// Adds `id` to a set that is already held (a script reaching a key it did not declare).
    /// A shard above every held one is locked in lock order, so it may wait as long as it
    /// takes; one below would invert the order (a deadlock with a holder of it that waits for
    /// ours), so it is only tried, waiting at most `wait`. False: not acquired.
    pub fn extend(&mut self, store: &'a Store, id: ShardId, wait: Duration) -> bool {
        let pos = match self.held.binary_search_by_key(&id, |(k, _)| *k) {
            Ok(_) => return true,
            Err(pos) => pos,
        };
        let guard = if pos == self.held.len() {
            store.lock(id)
        } else {
            match store.try_lock_for(id, wait) {
                Some(g) => g,
                None => return false,
            }
        };
        self.held.insert(pos, (id, guard));
        true
    }

    /// The shards held, in order.
    pub fn ids(&self) -> impl Iterator<Item = ShardId> + '_ {
        self.held.iter().map(|(id, _)| *id)
    }

    /// The held lock of `id`, if this set holds it.
    #[inline]
    pub fn get(&mut self, id: ShardId) -> Option<&mut Shard> {
        if self.held.is_empty() {
            return None;
        }
        let i = self.held.binary_search_by_key(&id, |(k, _)| *k).ok()?;
        Some(&mut self.held[i].1)
    }

    /// Two held shards at once (SWAPDB). `None` unless both are held and distinct.
    pub fn get_pair(&mut self, a: ShardId, b: ShardId) -> Option<(&mut Shard, &mut Shard)> {
        let ia = self.held.binary_search_by_key(&a, |(k, _)| *k).ok()?;
        let ib = self.held.binary_search_by_key(&b, |(k, _)| *k).ok()?;
        if ia == ib {
            return None;
        }
        let (lo, hi, swapped) = if ia < ib {
            (ia, ib, false)
        } else {
            (ib, ia, true)
        };
        let (left, right) = self.held.split_at_mut(hi);
        let (x, y) = (&mut *left[lo].1, &mut *right[0].1);
        Some(if swapped { (y, x) } else { (x, y) })
    }
}

/// A shard reached through a held [`LockSet`] or locked for the moment.
pub enum ShardRef<'a> {
    Held(&'a mut Shard),
    Own(MutexGuard<'a, Shard>),
}

impl std::ops::Deref for ShardRef<'_> {
    type Target = Shard;
    #[inline]
    fn deref(&self) -> &Shard {
        match self {
            ShardRef::Held(s) => s,
            ShardRef::Own(g) => g,
        }
    }
}

impl std::ops::DerefMut for ShardRef<'_> {
    #[inline]
    fn deref_mut(&mut self) -> &mut Shard {
        match self {
            ShardRef::Held(s) => s,
            ShardRef::Own(g) => g,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lockset_orders_and_finds() {
        let st = Store::new(2, 8);
        let mut ids = vec![
            ShardId { db: 1, idx: 3 },
            ShardId { db: 0, idx: 5 },
            ShardId { db: 1, idx: 3 },
        ];
        let mut ls = LockSet::acquire(&st, &mut ids);
        assert_eq!(ids.len(), 2);
        assert!(ls.get(ShardId { db: 0, idx: 5 }).is_some());
        assert!(ls.get(ShardId { db: 0, idx: 4 }).is_none());
        assert!(
            ls.get_pair(ShardId { db: 1, idx: 3 }, ShardId { db: 0, idx: 5 })
                .is_some()
        );
    }

    #[test]
    fn lockset_extends_in_order_and_only_tries_below() {
        let st = Store::new(1, 8);
        let id = |idx| ShardId { db: 0, idx };
        let mut ls = LockSet::acquire(&st, &mut vec![id(3)]);
        // Above every held shard: taken in lock order.
        assert!(ls.extend(&st, id(6), Duration::ZERO));
        // Below, free: tried and taken.
        assert!(ls.extend(&st, id(1), Duration::ZERO));
        assert_eq!(ls.ids().map(|i| i.idx).collect::<Vec<_>>(), vec![1, 3, 6]);
        // Below, held elsewhere: refused after the wait, never blocks.
        let other = std::thread::scope(|s| {
            let (tx, rx) = std::sync::mpsc::channel();
            let (done_tx, done_rx) = std::sync::mpsc::channel::<()>();
            let st2 = &st;
            s.spawn(move || {
                let _g = st2.lock(id(2));
                tx.send(()).ok();
                done_rx.recv().ok();
            });
            rx.recv().ok();
            let got = ls.extend(&st, id(2), Duration::from_millis(20));
            done_tx.send(()).ok();
            got
        });
        assert!(!other);
        assert!(ls.get(id(2)).is_none());
    }

    #[test]
    fn snapshot_is_the_keyspace_at_its_start_despite_writes() {
        use crate::entry::NewValue;
        let st = Store::new(2, 8);
        let put = |db: usize, k: &[u8], v: i64| {
            let h = st.hash(k);
            st.lock(st.shard_id(db, k, h))
                .upsert(h, k, NewValue::Int(v), None, 0);
        };
        for i in 0..200 {
            put(0, format!("k{i}").as_bytes(), i);
        }
        put(1, b"other", 7);
        let sink = st.begin_snapshot(Box::new(|| {}));
        // Writes after the start: changes, deletions, new keys, a new database.
        for i in 0..100 {
            put(0, format!("k{i}").as_bytes(), -1);
        }
        let h = st.hash(b"k150");
        assert!(
            st.lock(st.shard_id(0, b"k150", h))
                .remove(h, b"k150", 0)
                .is_some()
        );
        put(0, b"new", 1);
        put(1, b"other", 8);
        st.snapshot_walk(&sink);
        assert!(sink.is_done());
        let bytes: Vec<u8> = sink.take().concat();
        let (records, used) = crate::snapshot::read_records(&bytes);
        assert_eq!(used, bytes.len());
        let mut got: Vec<(u32, Vec<u8>, i64)> = records
            .iter()
            .map(|(db, k, _, p)| {
                let v = match crate::dump::restore(p) {
                    Ok(crate::value::Value::Int(n)) => n,
                    other => panic!("{other:?}"),
                };
                (*db, k.to_vec(), v)
            })
            .collect();
        got.sort();
        let mut want: Vec<(u32, Vec<u8>, i64)> = (0..200)
            .map(|i| (0, format!("k{i}").into_bytes(), i))
            .collect();
        want.push((1, b"other".to_vec(), 7));
        want.sort();
        assert_eq!(got, want);
        // A second snapshot sees the new state.
        let sink = st.begin_snapshot(Box::new(|| {}));
        st.snapshot_walk(&sink);
        let bytes: Vec<u8> = sink.take().concat();
        assert_eq!(crate::snapshot::read_records(&bytes).0.len(), 201);
    }

    #[test]
    fn a_bounded_walk_waits_for_its_reader() {
        use crate::entry::NewValue;
        let st = Store::new(1, 16);
        for i in 0..2000 {
            let k = format!("key{i}");
            let h = st.hash(k.as_bytes());
            st.lock(st.shard_id(0, k.as_bytes(), h)).upsert(
                h,
                k.as_bytes(),
                NewValue::Int(i),
                None,
                0,
            );
        }
        let sink = st.begin_snapshot(Box::new(|| {}));
        let peak = std::thread::scope(|s| {
            s.spawn(|| st.snapshot_walk_bounded(&sink, 100));
            let (mut peak, mut records) = (0, 0);
            while !sink.is_done() || sink.pending() > 0 {
                peak = peak.max(sink.pending());
                let bytes = sink.take().concat();
                records += crate::snapshot::read_records(&bytes).0.len();
                std::thread::sleep(Duration::from_micros(200));
            }
            assert_eq!(records, 2000);
            peak
        });
        // Never more than one shard's records past the bound (a shard holds ~125 keys here).
        assert!(peak < 100 + 125 * 64, "{peak} bytes were waiting");
        assert_eq!(sink.pending(), 0);
    }

    #[test]
    fn expired_keys_are_hidden_or_deleted_and_logged_by_mode() {
        use crate::entry::NewValue;
        use crate::policy::{EXPIRY_HIDE, EXPIRY_LOG_WRITES};
        let st = Store::new(1, 4);
        let k = b"k";
        let h = st.hash(k);
        let id = st.shard_id(0, k, h);
        st.lock(id).insert_new(h, k, NewValue::Int(1), Some(100), 0);
        st.tuning().expiry.store(EXPIRY_HIDE, Ordering::Relaxed);
        assert!(st.lock(id).find_live(h, k, 200).is_none(), "hidden");
        assert_eq!(st.lock(id).len(), 1, "not deleted on a replica");
        st.tuning()
            .expiry
            .store(EXPIRY_LOG_WRITES, Ordering::Relaxed);
        assert!(st.lock(id).find_live(h, k, 200).is_none());
        assert_eq!(st.lock(id).len(), 1, "a read only hides it");
        crate::shard::set_in_write(true);
        assert!(st.lock(id).find_live(h, k, 200).is_none());
        crate::shard::set_in_write(false);
        assert_eq!(st.lock(id).len(), 0, "a write deletes it");
        assert_eq!(
            crate::shard::take_expired_log(),
            vec![(0, Box::from(&k[..]))]
        );
    }

    #[test]
    fn tracked_slots_record_every_change_and_export_deletions() {
        fn slot_of(k: &[u8]) -> u16 {
            k.first().copied().unwrap_or(0) as u16 * 64
        }
        let st = Store::with_stripe(1, 16, Stripe::Slot(slot_of));
        let put = |k: &[u8], exp: Option<u64>| {
            let h = st.hash(k);
            st.lock(st.shard_id(0, k, h))
                .upsert(h, k, crate::entry::NewValue::Int(1), exp, 0);
        };
        put(b"a1", None);
        put(b"b1", None);
        let a = b'a' as u16 * 64;
        st.track_slots(&[a]);
        assert_eq!(st.take_changed(&[a]), (vec![], false));
        put(b"a1", None);
        put(b"a2", Some(50));
        put(b"b1", None); // another slot: not recorded
        let (mut keys, flushed) = st.take_changed(&[a]);
        keys.sort();
        assert_eq!(keys, vec![b"a1".to_vec().into(), b"a2".to_vec().into()]);
        assert!(!flushed);
        // An expired key met by a lookup is a change too; the export says it is gone.
        let h = st.hash(b"a2");
        assert!(
            st.lock(st.shard_id(0, b"a2", h))
                .peek_live(h, b"a2", 100)
                .is_none()
        );
        let (keys, _) = st.take_changed(&[a]);
        assert_eq!(keys, vec![b"a2".to_vec().into()]);
        let mut out = Vec::new();
        st.export_records(
            &[b"a1".to_vec().into(), b"a2".to_vec().into()],
            100,
            &mut out,
        );
        let (recs, used) = crate::snapshot::read_records(&out);
        assert_eq!(used, out.len());
        assert_eq!(recs.len(), 2);
        assert_eq!((recs[0].1, recs[0].3.is_empty()), (&b"a1"[..], false));
        assert_eq!((recs[1].1, recs[1].3.is_empty()), (&b"a2"[..], true));
        st.lock(st.slot_shard(0, a)).clear();
        assert!(st.take_changed(&[a]).1, "a flush is reported");
        st.untrack_slots(&[a]);
        put(b"a5", None);
        assert_eq!(st.take_changed(&[a]), (vec![], false));
    }

    #[test]
    fn slot_counts_follow_inserts_removals_and_flushes() {
        fn slot_of(k: &[u8]) -> u16 {
            k.first().copied().unwrap_or(0) as u16 * 64
        }
        let st = Store::with_stripe(1, 16, Stripe::Slot(slot_of));
        let put = |k: &[u8]| {
            let h = st.hash(k);
            st.lock(st.shard_id(0, k, h))
                .insert_new(h, k, crate::entry::NewValue::Int(0), None, 0);
        };
        for k in [&b"a1"[..], b"a2", b"a3", b"b1"] {
            put(k);
        }
        assert_eq!(st.slot_keys(0, b'a' as u16 * 64), 3);
        assert_eq!(st.slot_keys(0, b'b' as u16 * 64), 1);
        assert_eq!(st.slot_keys(0, 5), 0);
        let h = st.hash(b"a2");
        assert!(
            st.lock(st.shard_id(0, b"a2", h))
                .remove(h, b"a2", 0)
                .is_some()
        );
        assert_eq!(st.slot_keys(0, b'a' as u16 * 64), 2);
        for id in st.live_shards().collect::<Vec<_>>() {
            st.lock(id).clear();
        }
        assert_eq!(st.slot_keys(0, b'a' as u16 * 64), 0);
        put(b"a9");
        assert_eq!(st.slot_keys(0, b'a' as u16 * 64), 1);
    }

    #[test]
    fn active_cycle_reclaims_untouched_keys() {
        let st = Store::new(1, 16);
        for i in 0..10_000u32 {
            let k = i.to_be_bytes();
            let h = st.hash(&k);
            let ttl = if i % 10 == 0 { None } else { Some(100) };
            st.lock(st.shard_id(0, &k, h)).insert_new(
                h,
                &k,
                crate::entry::NewValue::Int(1),
                ttl,
                0,
            );
        }
        let mut cur = 0;
        let mut rounds = 0;
        while st.db_counts(0).0 > 1000 {
            st.active_expire_cycle(200, Duration::from_millis(50), &mut cur);
            rounds += 1;
            assert!(rounds < 100, "active expiry does not converge");
        }
        assert_eq!(st.db_counts(0), (1000, 0));
        assert_eq!(st.expired_total(), 9000);
    }
}
