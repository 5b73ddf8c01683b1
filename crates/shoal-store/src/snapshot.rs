//! A point-in-time copy of the keyspace without stopping it (what a replica's full sync reads).
//!
//! Starting a snapshot bumps a generation; from then on, a shard not yet copied in this
//! generation is copied, whole and under its lock, either by the snapshot's walk over all shards
//! or by the first write that would change it, just before that write. Every shard therefore
//! lands in the copy as it was when the snapshot started, while the rest of the keyspace keeps
//! serving; a write pays for copying its shard at most once per snapshot. The caller starts the
//! snapshot at a moment no write is in flight (replication holds its write lock), so the copy
//! and the replication offset taken with it agree.
//!
//! Records: `db u32 | key length u32 | key | expiry u64 (unix ms, 0 = none) | [word u32] |
//! payload length u32 | DUMP payload`, little-endian, back to back, handed out in chunks as they
//! are made. The eviction word (LRU clock or LFU counter, see `policy`) is there only in the
//! snapshots that ask for it (RDB files keep it; what shoal sends shoal stays as it was).

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};

use parking_lot::Mutex;

use crate::entry::Entry;

/// Shared by the store and every shard.
#[derive(Default)]
pub struct SnapState {
    /// The current snapshot generation (0 = none ever).
    pub(crate) generation: AtomicU64,
    pub(crate) sink: Mutex<Option<Arc<SnapSink>>>,
}

/// Where a snapshot's records go, to be taken out by whoever sends them.
pub struct SnapSink {
    generation: u64,
    chunks: Mutex<VecDeque<Vec<u8>>>,
    /// Bytes of the records made and not yet taken.
    pending: AtomicUsize,
    done: AtomicBool,
    /// Records carry each entry's eviction word.
    words: bool,
    /// Called after records are added (the server wakes its sender).
    wake: Box<dyn Fn() + Send + Sync>,
}

impl SnapSink {
    /// Records made so far and not yet taken.
    pub fn take(&self) -> Vec<Vec<u8>> {
        let out: Vec<Vec<u8>> = self.chunks.lock().drain(..).collect();
        let n: usize = out.iter().map(Vec::len).sum();
        self.pending.fetch_sub(n, Ordering::AcqRel);
        out
    }

    /// Bytes of records made and not taken yet.
    pub fn pending(&self) -> usize {
        self.pending.load(Ordering::Acquire)
    }

    /// Every shard has been copied (take what is left, then the snapshot is complete).
    pub fn is_done(&self) -> bool {
        self.done.load(Ordering::Acquire)
    }

    /// Whether the records carry eviction words (read them with [`read_records_words`]).
    pub fn words(&self) -> bool {
        self.words
    }

    pub(crate) fn push(&self, chunk: Vec<u8>) {
        if !chunk.is_empty() {
            self.pending.fetch_add(chunk.len(), Ordering::AcqRel);
            self.chunks.lock().push_back(chunk);
            (self.wake)();
        }
    }
}

/// Appends one entry's record.
pub(crate) fn write_record(out: &mut Vec<u8>, db: u32, e: &Entry, words: bool) {
    let payload = crate::dump::dump(e.value());
    out.extend_from_slice(&db.to_le_bytes());
    out.extend_from_slice(&(e.key().len() as u32).to_le_bytes());
    out.extend_from_slice(e.key());
    out.extend_from_slice(&e.expire_at().unwrap_or(0).to_le_bytes());
    if words {
        out.extend_from_slice(&e.word().to_le_bytes());
    }
    out.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    out.extend_from_slice(&payload);
}

/// Appends a record saying `key` is gone (an empty payload: a DUMP payload never is).
pub(crate) fn write_deletion(out: &mut Vec<u8>, db: u32, key: &[u8]) {
    out.extend_from_slice(&db.to_le_bytes());
    out.extend_from_slice(&(key.len() as u32).to_le_bytes());
    out.extend_from_slice(key);
    out.extend_from_slice(&0u64.to_le_bytes());
    out.extend_from_slice(&0u32.to_le_bytes());
}

/// One record read back: (db, key, expiry, payload; empty for a deletion).
pub type Record<'a> = (u32, &'a [u8], Option<u64>, &'a [u8]);

/// Splits whole records off the front of `buf`: the records, and the bytes used.
pub fn read_records(buf: &[u8]) -> (Vec<Record<'_>>, usize) {
    let (recs, used) = read_any(buf, false);
    (
        recs.into_iter()
            .map(|(db, key, exp, _, payload)| (db, key, exp, payload))
            .collect(),
        used,
    )
}

/// One record of a snapshot with eviction words: (db, key, expiry, word, payload).
pub type WordRecord<'a> = (u32, &'a [u8], Option<u64>, u32, &'a [u8]);

/// `read_records` for a sink whose [`SnapSink::words`] is on.
pub fn read_records_words(buf: &[u8]) -> (Vec<WordRecord<'_>>, usize) {
    read_any(buf, true)
}

fn read_any(buf: &[u8], words: bool) -> (Vec<WordRecord<'_>>, usize) {
    let mut out = Vec::new();
    let mut at = 0;
    let u32_at = |b: &[u8], i: usize| -> Option<u32> {
        Some(u32::from_le_bytes(b.get(i..i + 4)?.try_into().ok()?))
    };
    loop {
        let rest = &buf[at..];
        let Some(db) = u32_at(rest, 0) else { break };
        let Some(klen) = u32_at(rest, 4) else { break };
        let k = 8 + klen as usize;
        let Some(key) = rest.get(8..k) else { break };
        let Some(exp) = rest
            .get(k..k + 8)
            .and_then(|b| b.try_into().ok())
            .map(u64::from_le_bytes)
        else {
            break;
        };
        let (word, w) = if words {
            let Some(word) = u32_at(rest, k + 8) else {
                break;
            };
            (word, 4)
        } else {
            (0, 0)
        };
        let Some(plen) = u32_at(rest, k + 8 + w) else {
            break;
        };
        let p = k + 12 + w;
        let Some(payload) = rest.get(p..p + plen as usize) else {
            break;
        };
        out.push((db, key, (exp != 0).then_some(exp), word, payload));
        at += p + plen as usize;
    }
    (out, at)
}

impl SnapState {
    /// Starts a snapshot: returns its sink. Call with no write in flight.
    pub fn begin(&self, wake: Box<dyn Fn() + Send + Sync>, words: bool) -> Arc<SnapSink> {
        let generation = self.generation.fetch_add(1, Ordering::AcqRel) + 1;
        let sink = Arc::new(SnapSink {
            generation,
            chunks: Mutex::new(VecDeque::new()),
            pending: AtomicUsize::new(0),
            done: AtomicBool::new(false),
            words,
            wake,
        });
        *self.sink.lock() = Some(sink.clone());
        sink
    }

    /// The sink of generation `generation`, if that snapshot is still being made.
    pub(crate) fn sink_for(&self, generation: u64) -> Option<Arc<SnapSink>> {
        self.sink
            .lock()
            .as_ref()
            .filter(|s| s.generation == generation)
            .cloned()
    }

    pub(crate) fn finish(&self, sink: &SnapSink) {
        sink.done.store(true, Ordering::Release);
        let mut s = self.sink.lock();
        if s.as_ref().is_some_and(|x| x.generation == sink.generation) {
            *s = None;
        }
        drop(s);
        (sink.wake)();
    }
}
