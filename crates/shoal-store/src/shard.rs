//! One lock stripe of one database: a hash table of `u32` indexes into a dense `Vec<Entry>`
//! (each entry one pointer to its block, see `entry`) and a parallel `Vec<u8>` of per-entry
//! policy bits (see `policy`).
//!
//! The dense vector gives O(1) random sampling (RANDOMKEY, expiry, eviction) and a SCAN cursor
//! that survives removals: entries are removed with `swap_remove`, so an entry only ever moves
//! *down* (from the top into a freed slot), and a cursor that walks downward sees every entry
//! present for the whole scan at least once. The S3-FIFO hands walk down the same way.
//!
//! Every change of a key goes through a method here that also marks the key's WATCHers dirty,
//! so WATCH cannot miss a change (expiry and eviction included). The shard never takes a lock
//! or does I/O.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use foldhash::fast::FixedState;
use hashbrown::HashTable;
use std::hash::BuildHasher;

use crate::entry::{CollMut, NewValue};
use crate::ghost::Ghost;
use crate::policy::{self, EXPIRY_DELETE, EXPIRY_LOG_WRITES, FREQ, MAIN, TTL, Tuning};
use crate::snapshot::SnapState;

thread_local! {
    /// Set while this thread runs a write command (expired keys it meets may be deleted).
    static IN_WRITE: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    /// Keys deleted for being expired while `EXPIRY_LOG_WRITES` holds, for the caller to
    /// replicate as DELs: (database, key).
    static EXPIRED_LOG: std::cell::RefCell<Vec<(u32, Box<[u8]>)>> =
        const { std::cell::RefCell::new(Vec::new()) };
    /// Keys deleted for being expired while `Tuning::notify_expired` is on, for the command
    /// layer's `expired` keyspace events: (database, key).
    static NOTIFY_LOG: std::cell::RefCell<Vec<(u32, Box<[u8]>)>> =
        const { std::cell::RefCell::new(Vec::new()) };
    /// Hash fields the active cycle deleted for being expired, for the caller to replicate
    /// (HDEL) and announce (`hexpired`, `del` when the hash went with them).
    static FIELD_LOG: std::cell::RefCell<Vec<ExpiredFields>> =
        const { std::cell::RefCell::new(Vec::new()) };
}

/// Fields of one hash deleted by the active cycle because their TTL passed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpiredFields {
    pub db: u32,
    pub key: Box<[u8]>,
    pub fields: Vec<Box<[u8]>>,
    /// The hash had no field left and was deleted.
    pub key_deleted: bool,
}

/// Takes the hash fields this thread's active expiry deleted since the last call.
pub fn take_expired_fields() -> Vec<ExpiredFields> {
    FIELD_LOG.with(|l| std::mem::take(&mut *l.borrow_mut()))
}

/// Moves the keys this thread deleted for being expired (while `Tuning::notify_expired` was on)
/// since the last call to `out`, oldest first; false if there were none.
pub fn take_notify_expired(out: &mut Vec<(u32, Box<[u8]>)>) -> bool {
    NOTIFY_LOG.with(|l| {
        let mut l = l.borrow_mut();
        if l.is_empty() {
            return false;
        }
        out.append(&mut l);
        true
    })
}

#[cold]
fn log_notify_expired(db: u32, key: &[u8]) {
    NOTIFY_LOG.with(|l| l.borrow_mut().push((db, key.into())));
}

/// Set while writes are paused (CLIENT PAUSE, a failover's hand-over): expired keys are hidden,
/// never deleted, and the active cycle stands still.
static EXPIRY_PAUSED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

pub fn set_expiry_paused(on: bool) {
    EXPIRY_PAUSED.store(on, Ordering::Relaxed);
}

pub fn expiry_paused() -> bool {
    EXPIRY_PAUSED.load(Ordering::Relaxed)
}

/// Keys a writable replica's own clients gave a TTL (Redis's slaveKeysWithExpire): the
/// primary never sends their DELs, so the replica expires them itself
/// (`Store::expire_replica_keys`). (database, key); stale members are dropped lazily.
pub type KeySet = std::collections::HashSet<(u32, Box<[u8]>)>;
static REPLICA_TTL_KEYS: parking_lot::Mutex<Option<KeySet>> = parking_lot::Mutex::new(None);

/// Notes that `key` got a TTL from a write of this thread: on a replica (`EXPIRY_HIDE`) that
/// is a client's write (its primary's stream does not set `IN_WRITE`).
#[cold]
fn note_replica_ttl(tuning: &Tuning, db: u32, key: &[u8]) {
    if tuning.expiry.load(Ordering::Relaxed) == policy::EXPIRY_HIDE && IN_WRITE.with(|w| w.get()) {
        REPLICA_TTL_KEYS
            .lock()
            .get_or_insert_default()
            .insert((db, key.into()));
    }
}

/// Takes the keys a writable replica's clients gave a TTL (see `note_replica_ttl`).
pub fn take_replica_ttl_keys() -> KeySet {
    REPLICA_TTL_KEYS.lock().take().unwrap_or_default()
}

/// Puts back keys still to watch (see `take_replica_ttl_keys`).
pub fn keep_replica_ttl_keys(mut keep: KeySet) {
    let mut keys = REPLICA_TTL_KEYS.lock();
    if let Some(noted) = keys.take() {
        keep.extend(noted);
    }
    if !keep.is_empty() {
        *keys = Some(keep);
    }
}

/// While alive, this thread's lookups are reads (expired keys only hidden where replication
/// decides, see `policy::EXPIRY_*`) even inside a write: PFCOUNT looks its keys up as Redis's
/// lookupKeyRead does, though it may update their cached estimate.
pub struct ReadLookups(bool);

impl ReadLookups {
    pub fn begin() -> Self {
        ReadLookups(IN_WRITE.with(|w| w.replace(false)))
    }
}

impl Drop for ReadLookups {
    fn drop(&mut self) {
        IN_WRITE.with(|w| w.set(self.0));
    }
}

/// Marks this thread as running a write command (or not).
pub fn set_in_write(on: bool) {
    IN_WRITE.with(|w| w.set(on));
}

/// Takes the keys this thread deleted for being expired since the last call (see
/// `policy::EXPIRY_LOG_WRITES`).
pub fn take_expired_log() -> Vec<(u32, Box<[u8]>)> {
    EXPIRED_LOG.with(|l| std::mem::take(&mut *l.borrow_mut()))
}

fn log_expired(db: u32, key: &[u8]) {
    EXPIRED_LOG.with(|l| l.borrow_mut().push((db, key.into())));
}

pub use crate::entry::Entry;

/// Whether a value being stored is a hash with field TTLs (to register for active expiry).
#[inline]
fn has_field_ttls(v: &NewValue<'_>) -> bool {
    matches!(v, NewValue::Value(crate::value::Value::Hash(h)) if h.has_ttls())
}

#[inline]
fn mark_volatile(hints: &VolatileHints, idx: usize) {
    if let Some(h) = hints.get(idx) {
        h.store(true, Ordering::Relaxed);
    }
    // The next-to-last flag summarises the whole database.
    if let Some(h) = hints.len().checked_sub(2).and_then(|i| hints.get(i)) {
        h.store(true, Ordering::Relaxed);
    }
    mark_gained(hints);
}

/// The last flag: a shard of this database went from no keys (or no keys with a TTL) to some,
/// so the evictor looks at the database again.
#[inline]
fn mark_gained(hints: &VolatileHints) {
    if let Some(h) = hints.last() {
        h.store(true, Ordering::Relaxed);
    }
}

/// The data part of a shard (swapped wholesale by SWAPDB; watchers stay with the key names).
#[derive(Default)]
struct Data {
    table: HashTable<u32>,
    entries: Vec<Entry>,
    /// Policy bits per entry (`policy::FREQ`, `MAIN`, `TTL`), parallel to `entries`.
    meta: Vec<u8>,
    /// Entries with a TTL.
    volatile: usize,
    /// Next index (exclusive) the active-expiry sweep looks at, walking down.
    sweep: usize,
    /// Entries in S3-FIFO's small queue (without the `MAIN` bit).
    small: usize,
    /// S3-FIFO hands: the next index (exclusive) each queue's walk looks at, walking down.
    hand_small: usize,
    hand_main: usize,
    /// S3-FIFO's ghost queue, made on the first eviction by that policy.
    ghost: Option<Box<Ghost>>,
    /// Keys per hash slot of this shard (slot-striped stores): index `slot / shards`.
    slot_keys: Vec<u32>,
    /// Hashes that may have fields with a TTL (made by the first one).
    hfe: Option<Box<HfeKeys>>,
}

/// The keys of hashes with field TTLs, for the active cycle: registered when a hash gets its
/// first field TTL (or arrives with some), dropped by the sweep when the key is gone or has
/// none left. A vector (walked down from a cursor) and a set (no duplicates).
#[derive(Default)]
struct HfeKeys {
    keys: Vec<Box<[u8]>>,
    set: hashbrown::HashSet<Box<[u8]>, FixedState>,
    cursor: usize,
}

/// The slot of a key, and the store's shard count.
type SlotCounting = (fn(&[u8]) -> u16, usize);

/// Keys changed in slots being exported (atomic slot migration): every change to a key of a
/// tracked slot, whatever made it (a command, expiry, eviction), records the key, so the export
/// can send it again. A flush marks everything changed.
pub struct SlotTracker {
    /// One bit per hash slot.
    slots: Box<[u64; 256]>,
    dirty: hashbrown::HashSet<Box<[u8]>, FixedState>,
    flushed: bool,
}

impl Default for SlotTracker {
    fn default() -> Self {
        SlotTracker {
            slots: Box::new([0; 256]),
            dirty: Default::default(),
            flushed: false,
        }
    }
}

/// WATCH registrations: key -> dirty flags of the clients watching it.
type Watchers = hashbrown::HashMap<Box<[u8]>, Vec<Arc<AtomicBool>>, FixedState>;

/// Per-database flags, one per shard plus one for the whole database: "may hold keys with a TTL".
/// Set (without the database's other locks) when a shard gains its first TTL; cleared by the
/// expiry cycle (a shard's under its lock), which skips unflagged shards and databases without
/// locking them. A last flag tells the evictor that a shard gained its first key or TTL.
pub type VolatileHints = std::sync::Arc<[std::sync::atomic::AtomicBool]>;

pub struct Shard {
    data: Data,
    hasher: FixedState,
    hints: VolatileHints,
    idx: usize,
    watchers: Option<Box<Watchers>>,
    /// Atomic slot migration: slots being exported from this shard and their changed keys.
    tracker: Option<Box<SlotTracker>>,
    tuning: Arc<Tuning>,
    /// Snapshots (replication full syncs) and the generation this shard was last copied in.
    snap: Arc<SnapState>,
    snap_gen: u64,
    /// The database this shard belongs to.
    db: u32,
    /// Slot-striped stores: the slot of a key, and the number of shards (a shard holds the
    /// slots `idx, idx + shards, …`).
    slots: Option<SlotCounting>,
    /// xorshift state for LFU counting and sampling.
    rng: u64,
    /// Keys removed because their TTL passed (lazily or by the active cycle).
    pub expired_total: u64,
}

impl Shard {
    /// A shard with its own default eviction settings (tests).
    pub fn new(hasher: FixedState, hints: VolatileHints, idx: usize) -> Self {
        Self::with_tuning(hasher, hints, idx, Arc::default())
    }

    pub fn with_tuning(
        hasher: FixedState,
        hints: VolatileHints,
        idx: usize,
        tuning: Arc<Tuning>,
    ) -> Self {
        Shard {
            data: Data::default(),
            hasher,
            hints,
            idx,
            watchers: None,
            tracker: None,
            tuning,
            snap: Arc::default(),
            snap_gen: 0,
            db: 0,
            slots: None,
            rng: 0x2545_F491_4F6C_DD1D ^ (idx as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15),
            expired_total: 0,
        }
    }

    /// Takes part in `snap`'s snapshots as a shard of database `db`.
    pub fn in_snapshots(mut self, snap: Arc<SnapState>, db: u32) -> Self {
        self.snap_gen = snap.generation.load(Ordering::Acquire);
        self.snap = snap;
        self.db = db;
        self
    }

    /// Copies this shard into the running snapshot if it was not copied in it yet: called by
    /// every change before it changes anything, and by the snapshot's own walk.
    #[inline]
    pub fn copy_for_snapshot(&mut self) {
        let current = self.snap.generation.load(Ordering::Acquire);
        if current == self.snap_gen {
            return;
        }
        self.snap_gen = current;
        if let Some(sink) = self.snap.sink_for(current) {
            let mut buf = Vec::new();
            let words = sink.words();
            for e in &self.data.entries {
                crate::snapshot::write_record(&mut buf, self.db, e, words);
            }
            sink.push(buf);
        }
    }

    /// Keeps per-slot key counts: `slot_of` gives a key's slot, `shards` is the store's shard
    /// count (a power of two, at most 16384).
    pub fn count_slots(mut self, slot_of: fn(&[u8]) -> u16, shards: usize) -> Self {
        self.slots = Some((slot_of, shards));
        self
    }

    /// Keys of `slot` in this shard (0 unless the shard counts slots).
    pub fn slot_keys(&self, slot: u16) -> usize {
        match self.slots {
            Some((_, n)) => self
                .data
                .slot_keys
                .get(slot as usize / n)
                .map_or(0, |&c| c as usize),
            None => 0,
        }
    }

    /// Where `key` counts in `slot_keys` (slot-striped stores only).
    #[inline]
    fn slot_index(&self, key: &[u8]) -> Option<usize> {
        self.slots.map(|(slot_of, n)| slot_of(key) as usize / n)
    }

    #[inline]
    fn count_slot(&mut self, at: Option<usize>, add: bool) {
        if let (Some(at), Some((_, n))) = (at, self.slots) {
            let counts = &mut self.data.slot_keys;
            if counts.is_empty() {
                counts.resize(16384usize.div_ceil(n), 0);
            }
            let c = &mut counts[at];
            *c = if add { *c + 1 } else { c.saturating_sub(1) };
        }
    }

    #[inline]
    fn gained_volatile(&self) {
        mark_volatile(&self.hints, self.idx);
    }

    /// Clears this shard's hint if it holds no TTL any more. Returns whether it still has some.
    pub fn refresh_hint(&self) -> bool {
        let has = self.data.volatile > 0 || self.data.hfe.is_some();
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

    /// Entries in S3-FIFO's small queue.
    pub fn small_len(&self) -> usize {
        self.data.small
    }

    /// Number of entries with a TTL (possibly already past).
    pub fn volatile(&self) -> usize {
        self.data.volatile
    }

    /// A uniform random number.
    #[inline]
    pub fn random(&mut self) -> u64 {
        let mut x = self.rng;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.rng = x;
        x
    }

    /// A random index below `n` (> 0).
    #[inline]
    pub fn random_below(&mut self, n: usize) -> usize {
        (((self.random() >> 32) * n as u64) >> 32) as usize
    }

    /// Index of the entry for `key`, expired or not (nothing is removed or refreshed).
    #[inline]
    pub fn find_raw(&self, hash: u64, key: &[u8]) -> Option<usize> {
        self.find(hash, key)
    }

    #[inline]
    /// Index of the entry of `key` even if it is logically expired (DEBUG OBJECT and DEBUG
    /// DIGEST-VALUE look keys up as Redis's dictFind does); nothing is expired or touched.
    pub fn find_any(&self, hash: u64, key: &[u8]) -> Option<usize> {
        self.find(hash, key)
    }

    fn find(&self, hash: u64, key: &[u8]) -> Option<usize> {
        let entries = &self.data.entries;
        self.data
            .table
            .find(hash, |&i| entries[i as usize].key() == key)
            .map(|&i| i as usize)
    }

    /// Index of the live entry for `key`, removing it first if its TTL has passed. Counts an
    /// access for the eviction policy (LRU clock, LFU counter, S3-FIFO bits).
    #[inline]
    pub fn find_live(&mut self, hash: u64, key: &[u8], now_ms: u64) -> Option<usize> {
        let i = self.peek_live(hash, key, now_ms)?;
        self.touch(i, now_ms);
        Some(i)
    }

    /// Counts an access to entry `i`.
    #[inline]
    pub fn touch(&mut self, i: usize, now_ms: u64) {
        let m = &mut self.data.meta[i];
        *m = policy::meta_hit(*m);
        let old = self.data.entries[i].word();
        let w = if self.tuning.policy().is_lfu() {
            let rand = (self.random() >> 32) as u32;
            self.tuning.touched_word(old, now_ms, rand)
        } else {
            policy::lru_clock(now_ms)
        };
        // Within one clock tick the word does not change: leave the block's cache line clean.
        if w != old {
            self.data.entries[i].set_word(w);
        }
    }

    /// Like `find_live` but counts no access (OBJECT, TTL-only inspections).
    pub fn peek_live(&mut self, hash: u64, key: &[u8], now_ms: u64) -> Option<usize> {
        let i = self.find(hash, key)?;
        if self.data.meta[i] & TTL != 0 && self.data.entries[i].is_expired(now_ms) {
            self.expire_at_lookup(i);
            return None;
        }
        Some(i)
    }

    /// An expired entry met by a lookup: deleted, or only hidden while replication decides
    /// (see `policy::EXPIRY_*`).
    #[cold]
    fn expire_at_lookup(&mut self, i: usize) {
        let mode = self.tuning.expiry.load(Ordering::Relaxed);
        if (mode != EXPIRY_DELETE && !IN_WRITE.with(|w| w.get())) || expiry_paused() {
            return;
        }
        if mode == EXPIRY_LOG_WRITES {
            log_expired(self.db, self.data.entries[i].key());
        }
        if self.tuning.notify_expired.load(Ordering::Relaxed) {
            log_notify_expired(self.db, self.data.entries[i].key());
        }
        self.expired_total += 1;
        let e = self.remove_at(i);
        crate::lazyfree::free_entry_if(crate::lazyfree::EXPIRE, e);
    }

    #[inline]
    pub fn entry(&self, i: usize) -> &Entry {
        &self.data.entries[i]
    }

    /// Sets entry `i`'s eviction word (a loaded key's idle time or LFU counter, see
    /// `Tuning::word_for`). Not a change of the data: no snapshot copy, no signal.
    pub fn set_word(&mut self, i: usize, w: u32) {
        self.data.entries[i].set_word(w);
    }

    /// The eviction settings this shard follows.
    pub fn tuning(&self) -> &Tuning {
        &self.tuning
    }

    /// The collection of entry `i`, to change it; marks the key modified for WATCH.
    #[inline]
    pub fn coll_mut(&mut self, i: usize) -> CollMut<'_> {
        self.copy_for_snapshot();
        self.signal_at(i);
        self.data.entries[i].coll_mut()
    }

    /// Replaces the value of entry `i` (TTL kept); marks the key modified for WATCH.
    #[inline]
    pub fn set_value<'v>(&mut self, i: usize, v: impl Into<NewValue<'v>>) {
        self.copy_for_snapshot();
        self.signal_at(i);
        let v = v.into();
        if has_field_ttls(&v) {
            let key: Box<[u8]> = self.data.entries[i].key().into();
            self.note_field_ttls(&key);
        }
        self.data.entries[i].set_value(v);
    }

    /// Registers `key` (a hash that has fields with a TTL) for the active expiry of fields.
    pub fn note_field_ttls(&mut self, key: &[u8]) {
        let h = self.data.hfe.get_or_insert_with(Box::default);
        if h.set.contains(key) {
            return;
        }
        h.set.insert(key.into());
        h.keys.push(key.into());
        if h.keys.len() == 1 {
            mark_volatile(&self.hints, self.idx);
        }
    }

    /// Number of hashes registered as having field TTLs (some may have none left).
    pub fn hashes_with_field_ttls(&self) -> usize {
        self.data.hfe.as_ref().map_or(0, |h| h.keys.len())
    }

    /// The string bytes of entry `i`, to change in place; marks the key modified.
    pub fn str_mut(&mut self, i: usize) -> Option<&mut [u8]> {
        self.copy_for_snapshot();
        self.signal_at(i);
        self.data.entries[i].str_mut()
    }

    /// Resizes the string of entry `i` (new bytes zeroed); marks the key modified. `false`
    /// if it is not a string.
    pub fn str_resize(&mut self, i: usize, len: usize) -> bool {
        self.copy_for_snapshot();
        self.signal_at(i);
        self.data.entries[i].str_resize(len)
    }

    /// Sets (`Some`) or clears (`None`) the TTL of entry `i`; marks the key modified.
    pub fn set_expire(&mut self, i: usize, at: Option<u64>) {
        self.copy_for_snapshot();
        self.signal_at(i);
        let new = at.map(|t| t.max(1));
        if new.is_some() {
            note_replica_ttl(&self.tuning, self.db, self.data.entries[i].key());
        }
        let had = self.data.meta[i] & TTL != 0;
        match (had, new.is_some()) {
            (false, true) => {
                self.data.volatile += 1;
                self.data.meta[i] |= TTL;
                if self.data.volatile == 1 {
                    mark_volatile(&self.hints, self.idx);
                }
            }
            (true, false) => {
                self.data.volatile -= 1;
                self.data.meta[i] &= !TTL;
            }
            _ => {}
        }
        self.data.entries[i].set_expire(new);
    }

    /// Inserts a key known to be absent. Returns its index.
    pub fn insert_new<'v>(
        &mut self,
        hash: u64,
        key: &[u8],
        value: impl Into<NewValue<'v>>,
        expire_at: Option<u64>,
        now_ms: u64,
    ) -> usize {
        self.copy_for_snapshot();
        self.signal(key);
        let value = value.into();
        if has_field_ttls(&value) {
            self.note_field_ttls(key);
        }
        let word = self.tuning.initial_word(now_ms);
        if expire_at.is_some() {
            note_replica_ttl(&self.tuning, self.db, key);
        }
        if self.data.entries.is_empty() {
            mark_gained(&self.hints);
        }
        let d = &mut self.data;
        let i = d.entries.len();
        let expire_at = expire_at.map(|t| t.max(1));
        let mut meta = 0u8;
        if expire_at.is_some() {
            meta |= TTL;
            d.volatile += 1;
            if d.volatile == 1 {
                mark_volatile(&self.hints, self.idx);
            }
        }
        // A key S3-FIFO evicted from the small queue not long ago goes straight to main.
        if d.ghost.as_ref().is_some_and(|g| g.contains(hash)) {
            meta |= MAIN;
        } else {
            d.small += 1;
        }
        d.entries.push(Entry::new(key, value, expire_at, word));
        d.meta.push(meta);
        let at = self.slot_index(key);
        self.count_slot(at, true);
        let d = &mut self.data;
        let entries = &d.entries;
        let hasher = &self.hasher;
        d.table.insert_unique(hash, i as u32, |&j| {
            hasher.hash_one(entries[j as usize].key())
        });
        i
    }

    /// Removes entry `i` and returns it; marks the key modified.
    pub fn remove_at(&mut self, i: usize) -> Entry {
        self.copy_for_snapshot();
        self.signal_at(i);
        let at = self.slot_index(self.data.entries[i].key());
        self.count_slot(at, false);
        let d = &mut self.data;
        let hash = self.hasher.hash_one(d.entries[i].key());
        if let Ok(slot) = d.table.find_entry(hash, |&j| j as usize == i) {
            slot.remove();
        }
        let last = d.entries.len() - 1;
        let e = d.entries.swap_remove(i);
        let m = d.meta.swap_remove(i);
        if i != last {
            let moved = self.hasher.hash_one(d.entries[i].key());
            if let Some(slot) = d.table.find_mut(moved, |&j| j as usize == last) {
                *slot = i as u32;
            }
        }
        if m & TTL != 0 {
            d.volatile -= 1;
        }
        if m & MAIN == 0 {
            d.small -= 1;
        }
        e
    }

    /// A writable replica's own expiry of a key its clients gave a TTL: deletes it if its TTL
    /// passed. Returns whether the key is still to watch (it exists with a TTL).
    pub fn expire_replica_key(&mut self, hash: u64, key: &[u8], now_ms: u64) -> bool {
        let Some(i) = self.find(hash, key) else {
            return false;
        };
        if self.data.meta[i] & TTL == 0 {
            return false;
        }
        if !self.data.entries[i].is_expired(now_ms) {
            return true;
        }
        if self.tuning.notify_expired.load(Ordering::Relaxed) {
            log_notify_expired(self.db, key);
        }
        self.expired_total += 1;
        let e = self.remove_at(i);
        crate::lazyfree::free_entry_if(crate::lazyfree::EXPIRE, e);
        false
    }

    /// Removes the live entry for `key`, if any.
    pub fn remove(&mut self, hash: u64, key: &[u8], now_ms: u64) -> Option<Entry> {
        let i = self.peek_live(hash, key, now_ms)?;
        Some(self.remove_at(i))
    }

    /// Sets `key` to `value` with the given TTL, replacing any old entry (whose policy state
    /// is kept, as an overwrite is an access). Returns whether a live key was replaced.
    pub fn upsert<'v>(
        &mut self,
        hash: u64,
        key: &[u8],
        value: impl Into<NewValue<'v>>,
        expire_at: Option<u64>,
        now_ms: u64,
    ) -> bool {
        match self.peek_live(hash, key, now_ms) {
            Some(i) => {
                self.set_expire(i, expire_at);
                let value = value.into();
                if has_field_ttls(&value) {
                    self.note_field_ttls(key);
                }
                self.data.entries[i].set_value(value);
                self.touch(i, now_ms);
                true
            }
            None => {
                self.insert_new(hash, key, value, expire_at, now_ms);
                false
            }
        }
    }

    /// Removes every entry; marks every watched key of this shard.
    pub fn clear(&mut self) -> usize {
        self.copy_for_snapshot();
        let n = self.data.entries.len();
        self.signal_existing();
        self.data = Data::default();
        n
    }

    /// As `clear`, the entries freed by the lazyfree thread (FLUSHALL ASYNC).
    pub fn clear_later(&mut self) -> usize {
        self.copy_for_snapshot();
        let n = self.data.entries.len();
        self.signal_existing();
        let old = std::mem::take(&mut self.data);
        if n > 0 {
            crate::lazyfree::free_later(old, n as u64);
        }
        n
    }

    /// Exchanges the data of two shards (SWAPDB); watchers of both are marked.
    pub fn swap_data(a: &mut Shard, b: &mut Shard) {
        a.copy_for_snapshot();
        b.copy_for_snapshot();
        a.signal_all();
        b.signal_all();
        std::mem::swap(&mut a.data, &mut b.data);
        for s in [a, b] {
            if s.data.volatile > 0 {
                s.gained_volatile();
            }
            if !s.data.entries.is_empty() {
                mark_gained(&s.hints);
            }
        }
    }

    /// Entry at position `i` of the dense vector, for SCAN, KEYS and sampling.
    pub fn at(&self, i: usize) -> Option<&Entry> {
        self.data.entries.get(i)
    }

    /// Whether entry `i` has a TTL (without touching its block).
    #[inline]
    pub fn has_ttl_at(&self, i: usize) -> bool {
        self.data.meta.get(i).is_some_and(|m| m & TTL != 0)
    }

    /// Heap bytes of the shard's own structures (table, vectors, ghost), not the entries' blocks.
    pub fn overhead_bytes(&self) -> usize {
        let d = &self.data;
        d.table.capacity() * 5
            + d.entries.capacity() * std::mem::size_of::<Entry>()
            + d.meta.capacity()
            + d.ghost.as_ref().map_or(0, |g| g.heap_size())
    }

    /// Active expiry: checks up to `max` entries, walking down from where the last sweep stopped.
    /// With a large enough `max` one call removes every expired entry. Returns (checked, expired).
    pub fn sweep_expired(&mut self, now_ms: u64, max: usize) -> (usize, usize) {
        let (mut checked, mut expired) = (0, 0);
        if self.data.hfe.is_some() {
            let (c, e) = self.sweep_fields(now_ms, max);
            checked += c;
            expired += e;
        }
        if self.data.volatile == 0 {
            return (checked, expired);
        }
        let (c, e) = self.sweep_keys(now_ms, max);
        (checked + c, expired + e)
    }

    /// Active expiry of hash fields: looks at up to `max` registered hashes (walking down from
    /// where the last sweep stopped) and deletes their expired fields, and the hash when none
    /// is left; logged for `take_expired_fields`. Returns (hashes checked, fields expired).
    fn sweep_fields(&mut self, now_ms: u64, max: usize) -> (usize, usize) {
        const FIELDS_PER_HASH: usize = 256;
        let (mut checked, mut expired) = (0, 0);
        let Some(h) = &self.data.hfe else {
            return (0, 0);
        };
        let mut pos = h.cursor.min(h.keys.len());
        let mut wrapped = false;
        while checked < max {
            let Some(h) = &self.data.hfe else {
                break;
            };
            if pos == 0 {
                if wrapped || h.keys.is_empty() {
                    break;
                }
                wrapped = true;
                pos = h.keys.len();
            }
            pos -= 1;
            checked += 1;
            let key = h.keys[pos].clone();
            let hash = self.hasher.hash_one(&key[..]);
            let found = self.find(hash, &key);
            let due = found.and_then(|i| match self.data.entries[i].value() {
                crate::entry::ValueRef::Hash(h) => h.min_ttl().map(|at| (i, at <= now_ms)),
                _ => None,
            });
            match due {
                None => {
                    // Gone, replaced, or no TTL left: not ours to watch any more.
                    if let Some(h) = &mut self.data.hfe {
                        h.set.remove(&key[..]);
                        h.keys.swap_remove(pos);
                        if h.keys.is_empty() {
                            self.data.hfe = None;
                            break;
                        }
                    }
                }
                Some((_, false)) => {}
                Some((i, true)) => {
                    let fields = match self.coll_mut(i) {
                        CollMut::Hash(h) => h.reap(now_ms, FIELDS_PER_HASH),
                        _ => Vec::new(),
                    };
                    expired += fields.len();
                    let emptied = matches!(
                        self.data.entries[i].value(),
                        crate::entry::ValueRef::Hash(h) if h.is_empty()
                    );
                    if emptied {
                        self.remove_at(i);
                    }
                    let db = self.db;
                    FIELD_LOG.with(|l| {
                        l.borrow_mut().push(ExpiredFields {
                            db,
                            key,
                            fields,
                            key_deleted: emptied,
                        })
                    });
                }
            }
        }
        if let Some(h) = &mut self.data.hfe {
            h.cursor = pos;
        }
        (checked, expired)
    }

    fn sweep_keys(&mut self, now_ms: u64, max: usize) -> (usize, usize) {
        let mut checked = 0;
        let mut expired = 0;
        let mut pos = self.data.sweep.min(self.data.entries.len());
        // At most one wrap per call: from `pos` down to 0, then from the top down to 0 again. That
        // sees every entry (an entry moved by `swap_remove` only moves down, into the part still
        // ahead of the walk) and always ends.
        let mut wrapped = false;
        let notify = self.tuning.notify_expired.load(Ordering::Relaxed);
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
            if self.data.meta[pos] & TTL != 0 && self.data.entries[pos].is_expired(now_ms) {
                if self.tuning.expiry.load(Ordering::Relaxed) == EXPIRY_LOG_WRITES {
                    log_expired(self.db, self.data.entries[pos].key());
                }
                if notify {
                    log_notify_expired(self.db, self.data.entries[pos].key());
                }
                let e = self.remove_at(pos);
                crate::lazyfree::free_entry_if(crate::lazyfree::EXPIRE, e);
                expired += 1;
            }
        }
        self.data.sweep = pos;
        self.expired_total += expired as u64;
        (checked, expired)
    }

    // ---- eviction ----

    /// Up to `n` random entry indexes (with a TTL only, if `volatile_only`), into `out`.
    pub fn sample(&mut self, n: usize, volatile_only: bool, out: &mut Vec<usize>) {
        let len = self.len();
        if len == 0 || (volatile_only && self.data.volatile == 0) {
            return;
        }
        if volatile_only && self.data.volatile * 8 < len {
            // Few TTLs here: walk from a random place rather than drawing blindly.
            let start = self.random_below(len);
            for k in 0..len {
                let i = (start + k) % len;
                if self.data.meta[i] & TTL != 0 {
                    out.push(i);
                    if out.len() >= n {
                        break;
                    }
                }
            }
            return;
        }
        let mut tries = n * 16;
        let mut got = 0;
        while got < n && tries > 0 {
            tries -= 1;
            let i = self.random_below(len);
            if !volatile_only || self.data.meta[i] & TTL != 0 {
                out.push(i);
                got += 1;
            }
        }
    }

    /// Evicts one entry by S3-FIFO: from the small queue while it holds at least a tenth of
    /// the entries (an entry hit while there moves to main instead; an evicted one is
    /// remembered by the ghost), else from main (an entry with hits left loses one and stays).
    /// `volatile_only` considers entries with a TTL only. `None` when nothing qualifies.
    pub fn evict_s3fifo(&mut self, volatile_only: bool) -> Option<Entry> {
        let len = self.len();
        if len == 0 || (volatile_only && self.data.volatile == 0) {
            return None;
        }
        let small_first = self.data.small > 0 && self.data.small * 10 >= len;
        if small_first && let Some(e) = self.s3_small(volatile_only) {
            return Some(e);
        }
        if let Some(e) = self.s3_main(volatile_only) {
            return Some(e);
        }
        if small_first {
            None
        } else {
            self.s3_small(volatile_only)
        }
    }

    fn s3_small(&mut self, volatile_only: bool) -> Option<Entry> {
        let mut steps = self.len();
        while steps > 0 && self.data.small > 0 {
            steps -= 1;
            let i = step_down(&mut self.data.hand_small, self.data.entries.len());
            let m = self.data.meta[i];
            if m & MAIN != 0 || (volatile_only && m & TTL == 0) {
                continue;
            }
            if m & FREQ != 0 {
                // Hit while in the small queue: promote, with its count spent.
                self.data.meta[i] = (m & TTL) | MAIN;
                self.data.small -= 1;
                continue;
            }
            let hash = self.hasher.hash_one(self.data.entries[i].key());
            let per = (self.len() / 2).max(16);
            self.data
                .ghost
                .get_or_insert_with(|| Box::new(Ghost::new(per)))
                .add(hash, per);
            return Some(self.remove_at(i));
        }
        None
    }

    fn s3_main(&mut self, volatile_only: bool) -> Option<Entry> {
        // Each main entry is passed at most three times before its count runs out.
        let mut steps = 4 * self.len();
        while steps > 0 {
            steps -= 1;
            let i = step_down(&mut self.data.hand_main, self.data.entries.len());
            let m = self.data.meta[i];
            if m & MAIN == 0 || (volatile_only && m & TTL == 0) {
                continue;
            }
            if m & FREQ != 0 {
                self.data.meta[i] = m - 1;
                continue;
            }
            return Some(self.remove_at(i));
        }
        None
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
    fn signal_at(&mut self, i: usize) {
        if self.watchers.is_some() || self.tracker.is_some() || crate::modified::logging() {
            let key = self.data.entries[i].key();
            Self::signal_key(&self.watchers, &mut self.tracker, self.slots, key);
        }
    }

    /// Marks `key` modified for every client watching it (and for a slot export).
    #[inline]
    pub fn signal(&mut self, key: &[u8]) {
        Self::signal_key(&self.watchers, &mut self.tracker, self.slots, key);
    }

    #[inline]
    fn signal_key(
        watchers: &Option<Box<Watchers>>,
        tracker: &mut Option<Box<SlotTracker>>,
        slots: Option<SlotCounting>,
        key: &[u8],
    ) {
        crate::modified::log(key);
        if let Some(w) = watchers
            && let Some(list) = w.get(key)
        {
            for f in list {
                f.store(true, Ordering::Release);
            }
        }
        if let (Some(t), Some((slot_of, _))) = (tracker.as_mut(), slots) {
            let slot = slot_of(key) as usize;
            if t.slots[slot / 64] & (1 << (slot % 64)) != 0 && !t.dirty.contains(key) {
                t.dirty.insert(key.into());
            }
        }
    }

    fn signal_all(&mut self) {
        if let Some(w) = &self.watchers {
            for f in w.values().flatten() {
                f.store(true, Ordering::Release);
            }
        }
        if let Some(t) = self.tracker.as_mut() {
            t.flushed = true;
        }
    }

    /// A flush: marks the watchers of keys that exist (Redis's FLUSHALL/FLUSHDB leave a WATCH
    /// of a missing key alone).
    fn signal_existing(&mut self) {
        if let Some(w) = &self.watchers {
            for (k, flags) in w.iter() {
                if self.find(self.hasher.hash_one(&k[..]), k).is_some() {
                    for f in flags {
                        f.store(true, Ordering::Release);
                    }
                }
            }
        }
        if let Some(t) = self.tracker.as_mut() {
            t.flushed = true;
        }
    }

    // ---- slot export tracking ----

    /// Starts recording changes to keys of `slots` (slot-striped stores only).
    pub fn track_slots(&mut self, slots: &[u16]) {
        if self.slots.is_none() {
            return;
        }
        let t = self.tracker.get_or_insert_with(Default::default);
        for &s in slots {
            t.slots[s as usize / 64] |= 1 << (s % 64);
        }
    }

    /// Stops recording changes.
    pub fn untrack(&mut self) {
        self.tracker = None;
    }

    /// The keys changed since the last call, and whether the shard was flushed meanwhile.
    pub fn take_changed(&mut self, out: &mut Vec<Box<[u8]>>) -> bool {
        match self.tracker.as_mut() {
            Some(t) => {
                out.extend(t.dirty.drain());
                std::mem::take(&mut t.flushed)
            }
            None => false,
        }
    }
}

/// Moves a downward-walking hand one step (wrapping from 0 to the top) and returns the index it
/// now points at. `len` must be > 0.
#[inline]
fn step_down(hand: &mut usize, len: usize) -> usize {
    if *hand == 0 || *hand > len {
        *hand = len;
    }
    *hand -= 1;
    *hand
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entry::ValueRef;
    use crate::policy::Policy;

    fn shard() -> Shard {
        Shard::new(FixedState::with_seed(7), std::sync::Arc::new([]), 0)
    }

    fn h(s: &Shard, k: &[u8]) -> u64 {
        s.hasher.hash_one(k)
    }

    fn int(s: &Shard, i: usize) -> i64 {
        match s.entry(i).value() {
            ValueRef::Int(v) => v,
            v => panic!("not an int: {v:?}"),
        }
    }

    #[test]
    fn insert_find_remove_keeps_indexes_right() {
        let mut s = shard();
        for i in 0..100u32 {
            let k = i.to_be_bytes();
            s.insert_new(h(&s, &k), &k, NewValue::Int(i as i64), None, 0);
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
                assert_eq!(int(&s, j), i as i64);
            }
        }
    }

    #[test]
    fn active_expiry_of_hash_fields() {
        use crate::types::Hash;
        use crate::value::Value;
        let mut s = shard();
        let _ = take_expired_fields();
        // A plain hash is never registered.
        let mut plain = Hash::default();
        plain.insert(b"a", b"1");
        s.insert_new(
            h(&s, b"plain"),
            b"plain",
            Value::Hash(Box::new(plain)),
            None,
            0,
        );
        assert_eq!(s.hashes_with_field_ttls(), 0);
        // Arriving with TTLs (RESTORE, RENAME, a load) registers the key.
        let mut hv = Hash::default();
        for f in [&b"a"[..], b"b", b"c"] {
            hv.insert(f, b"v");
        }
        hv.set_ttl(b"a", 100);
        hv.set_ttl(b"b", 200);
        s.insert_new(
            h(&s, b"h"),
            b"h",
            Value::Hash(Box::new(hv.clone())),
            None,
            0,
        );
        assert_eq!(s.hashes_with_field_ttls(), 1);
        assert!(
            s.refresh_hint(),
            "a shard with field TTLs stays on the cycle's list"
        );
        s.sweep_expired(50, 100);
        assert!(take_expired_fields().is_empty(), "nothing due yet");
        s.sweep_expired(150, 100);
        let log = take_expired_fields();
        assert_eq!(log.len(), 1);
        assert_eq!(log[0].fields, vec![Box::<[u8]>::from(&b"a"[..])]);
        assert!(!log[0].key_deleted);
        // The last TTL field goes; `c` has none, so the hash stays and leaves the list.
        s.sweep_expired(250, 100);
        assert_eq!(take_expired_fields()[0].fields.len(), 1);
        let i = s.find_raw(h(&s, b"h"), b"h").expect("hash kept");
        assert!(matches!(s.entry(i).value(), ValueRef::Hash(x) if x.len() == 1 && !x.has_ttls()));
        s.sweep_expired(300, 100);
        assert_eq!(s.hashes_with_field_ttls(), 0);
        // Every field expiring takes the key.
        hv.set_ttl(b"c", 300);
        s.upsert(h(&s, b"h"), b"h", Value::Hash(Box::new(hv)), None, 0);
        s.sweep_expired(1000, 100);
        let log = take_expired_fields();
        assert_eq!(log[0].fields.len(), 3);
        assert!(log[0].key_deleted);
        assert!(s.find_raw(h(&s, b"h"), b"h").is_none());
        assert_eq!(s.len(), 1);
    }

    #[test]
    fn lazy_and_active_expiry() {
        let mut s = shard();
        for i in 0..50u32 {
            let k = i.to_be_bytes();
            let ttl = if i % 2 == 0 { Some(1000) } else { None };
            s.insert_new(h(&s, &k), &k, NewValue::Int(0), ttl, 0);
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
        s.insert_new(h(&s, k), k, NewValue::Int(1), Some(10), 0);
        assert!(flag.swap(false, Ordering::AcqRel));
        s.find_live(h(&s, k), k, 5);
        assert!(!flag.load(Ordering::Acquire));
        s.find_live(h(&s, k), k, 10);
        assert!(flag.load(Ordering::Acquire), "expiry must signal watchers");
        s.unwatch(k, &flag);
        assert!(s.watchers.is_none());
    }

    #[test]
    fn s3fifo_keeps_what_is_hit_and_evicts_one_hit_wonders() {
        let mut s = shard();
        s.tuning.set_policy(Policy::AllkeysS3fifo);
        let key = |i: u32| format!("key:{i}").into_bytes();
        for i in 0..100 {
            let k = key(i);
            s.insert_new(h(&s, &k), &k, NewValue::Int(0), None, 0);
        }
        // Keys 0..10 are hit: they must survive the eviction of 90 entries.
        for i in 0..10 {
            let k = key(i);
            assert!(s.find_live(h(&s, &k), &k, 0).is_some());
        }
        let mut last = Vec::new();
        for _ in 0..90 {
            last = s.evict_s3fifo(false).expect("evicts").key().to_vec();
        }
        for i in 0..10 {
            let k = key(i);
            assert!(s.find_raw(h(&s, &k), &k).is_some(), "hot key {i} evicted");
        }
        // A key evicted from the small queue and written again goes to main (ghost hit).
        let k = last;
        s.insert_new(h(&s, &k), &k, NewValue::Int(0), None, 0);
        let i = s.find_raw(h(&s, &k), &k).expect("inserted");
        assert!(s.data.meta[i] & MAIN != 0);
    }

    #[test]
    fn volatile_eviction_touches_only_keys_with_ttl() {
        let mut s = shard();
        for i in 0..40u32 {
            let k = i.to_be_bytes();
            let ttl = (i % 4 == 0).then_some(1_000_000);
            s.insert_new(h(&s, &k), &k, NewValue::Int(0), ttl, 0);
        }
        let mut n = 0;
        while let Some(e) = s.evict_s3fifo(true) {
            assert!(e.expire_at().is_some());
            n += 1;
        }
        assert_eq!(n, 10);
        assert_eq!(s.len(), 30);
        let mut out = Vec::new();
        s.sample(5, true, &mut out);
        assert!(out.is_empty());
        s.sample(5, false, &mut out);
        assert_eq!(out.len(), 5);
    }
}
