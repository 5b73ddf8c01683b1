//! Counters for INFO. Per-command counters live in per-thread arrays (each written by its own
//! thread only, so the hot path never bounces a cache line between cores) and are summed when
//! INFO asks.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use parking_lot::Mutex;

/// Counters of one command on one thread.
#[derive(Default)]
pub struct CmdCell {
    pub calls: AtomicU64,
    /// Nanoseconds (INFO shows microseconds).
    pub usec: AtomicU64,
    pub failed: AtomicU64,
    pub rejected: AtomicU64,
    /// Latency histogram: bucket `b` counts calls of at most 2^b microseconds (the last: more).
    pub buckets: [AtomicU64; LATENCY_BUCKETS],
}

/// Latency buckets: 1 µs, 2 µs, 4 µs … 2^(N-2) µs, then +Inf.
pub const LATENCY_BUCKETS: usize = 18;

type Buckets = [AtomicU64; LATENCY_BUCKETS];

/// Summed latency buckets of each command and of each subcommand.
pub type Histograms = (Vec<[u64; LATENCY_BUCKETS]>, Vec<[u64; LATENCY_BUCKETS]>);

/// `Batch::cmds` keeps a container's subcommand (plus one) from this bit of the index up.
pub const SUB_SHIFT: u32 = 20;

/// The bucket of a duration.
#[inline]
pub fn latency_bucket(nanos: u64) -> usize {
    let usec = nanos.div_ceil(1000).max(1);
    (usec.next_power_of_two().trailing_zeros() as usize).min(LATENCY_BUCKETS - 1)
}

/// What one connection did in one batch, before it is folded into the thread's counters.
#[derive(Default)]
pub struct Batch {
    /// (table index | (subcommand + 1) << SUB_SHIFT, failed, nanoseconds) of each command run.
    pub cmds: Vec<(u32, bool, u64)>,
    /// Cluster mode: what each keyed command cost its hash slot.
    pub slots: Vec<SlotRun>,
    pub hits: u64,
    pub misses: u64,
}

/// One keyed command, charged to its hash slot (CLUSTER SLOT-STATS, hot-slot metrics).
#[derive(Clone, Copy)]
pub struct SlotRun {
    pub slot: u16,
    pub write: bool,
    pub nanos: u64,
    pub bytes_in: u32,
    pub bytes_out: u32,
}

/// Per-slot counters of one thread.
#[derive(Default)]
pub struct SlotCell {
    pub reads: AtomicU64,
    pub writes: AtomicU64,
    pub nanos: AtomicU64,
    pub net_in: AtomicU64,
    pub net_out: AtomicU64,
}

/// Summed per-slot counters: reads, writes, nanoseconds, bytes in, bytes out.
pub type SlotTotals = [u64; 5];

const SLOTS: usize = 16384;

/// Keyspace and traffic counters of one thread.
#[derive(Default)]
pub struct ThreadCell {
    pub hits: AtomicU64,
    pub misses: AtomicU64,
    pub commands: AtomicU64,
    pub net_in: AtomicU64,
    pub net_out: AtomicU64,
    /// Corrections to the dirty counter (one per successful write command): changes a command
    /// made beyond its first, and writes that changed nothing.
    pub extra_changes: AtomicU64,
    pub unchanged: AtomicU64,
}

struct ThreadStats {
    cmds: Box<[CmdCell]>,
    /// Latency buckets of each subcommand (`Table::sub_cell`).
    subs: Box<[Buckets]>,
    misc: ThreadCell,
    /// Made on the first keyed command in cluster mode (640 kB a thread).
    slots: std::sync::OnceLock<Box<[SlotCell]>>,
}

#[inline]
fn bump(c: &AtomicU64, n: u64) {
    // Only the owning thread writes: a plain load/store pair, no locked instruction.
    c.store(c.load(Relaxed).wrapping_add(n), Relaxed);
}

/// Server-wide counters.
#[derive(Default)]
pub struct ServerStats {
    threads: Mutex<Vec<Arc<ThreadStats>>>,
    pub connections_received: AtomicU64,
    pub rejected_connections: AtomicU64,
    pub connected_clients: AtomicU64,
    errors: Mutex<BTreeMap<Vec<u8>, u64>>,
    pub total_error_replies: AtomicU64,
    /// Error replies a replica sent to its primary's commands (INFO unexpected_error_replies).
    pub unexpected_error_replies: AtomicU64,
    /// Failed AUTH / HELLO AUTH attempts (INFO acl_access_denied_auth).
    pub auth_failures: AtomicU64,
    /// Clients closed for passing client-output-buffer-limit.
    pub obuf_disconnections: AtomicU64,
    /// Added to the per-thread sums by CONFIG RESETSTAT (values subtracted at reset time).
    reset_base: Mutex<Option<Snapshot>>,
    /// The same for the latency histograms.
    hist_base: Mutex<Option<Histograms>>,
    /// The same for the per-slot counters (only taken once some exist).
    slot_base: Mutex<Option<Vec<SlotTotals>>>,
}

thread_local! {
    static LOCAL: RefCell<Option<(usize, Arc<ThreadStats>)>> = const { RefCell::new(None) };
}

/// A summed view of the per-thread counters.
#[derive(Clone, Default)]
pub struct Snapshot {
    pub cmds: Vec<(u64, u64, u64, u64)>,
    pub hits: u64,
    pub misses: u64,
    pub commands: u64,
    pub net_in: u64,
    pub net_out: u64,
}

impl ServerStats {
    fn with_local<R>(&self, f: impl FnOnce(&ThreadStats) -> R) -> R {
        LOCAL.with(|l| {
            let mut l = l.borrow_mut();
            let me = self as *const ServerStats as usize;
            if let Some((owner, t)) = l.as_ref()
                && *owner == me
            {
                return f(t);
            }
            // First use on this thread (or by another server in the same process).
            let n = crate::spec::table().len();
            let subs = crate::spec::table().sub_count();
            let t = Arc::new(ThreadStats {
                cmds: (0..n).map(|_| CmdCell::default()).collect(),
                subs: (0..subs).map(|_| Buckets::default()).collect(),
                misc: ThreadCell::default(),
                slots: std::sync::OnceLock::new(),
            });
            self.threads.lock().push(t.clone());
            let r = f(&t);
            *l = Some((me, t));
            r
        })
    }

    /// Folds one connection's batch into this thread's counters: one thread-local access per
    /// batch.
    pub fn flush_batch(&self, b: &mut Batch, net_in: u64, net_out: u64) {
        if cfg!(feature = "no-stats") {
            return;
        }
        self.with_local(|t| {
            for &(x, failed, nanos) in &b.cmds {
                let i = (x & ((1 << SUB_SHIFT) - 1)) as usize;
                let c = &t.cmds[i];
                bump(&c.calls, 1);
                // Kept in nanoseconds; INFO prints microseconds.
                bump(&c.usec, nanos);
                let bucket = latency_bucket(nanos);
                bump(&c.buckets[bucket], 1);
                let sub = (x >> SUB_SHIFT) as usize;
                if sub != 0 {
                    let cell = crate::spec::table().sub_cell(i, sub - 1);
                    if let Some(s) = t.subs.get(cell) {
                        bump(&s[bucket], 1);
                    }
                }
                if failed {
                    bump(&c.failed, 1);
                }
            }
            if !b.slots.is_empty() {
                let cells = t
                    .slots
                    .get_or_init(|| (0..SLOTS).map(|_| SlotCell::default()).collect());
                for r in &b.slots {
                    let c = &cells[r.slot as usize % SLOTS];
                    bump(if r.write { &c.writes } else { &c.reads }, 1);
                    bump(&c.nanos, r.nanos);
                    bump(&c.net_in, r.bytes_in as u64);
                    bump(&c.net_out, r.bytes_out as u64);
                }
            }
            bump(&t.misc.commands, b.cmds.len() as u64);
            bump(&t.misc.hits, b.hits);
            bump(&t.misc.misses, b.misses);
            bump(&t.misc.net_in, net_in);
            bump(&t.misc.net_out, net_out);
        });
        b.cmds.clear();
        b.slots.clear();
        b.hits = 0;
        b.misses = 0;
    }

    /// Per-slot counters summed over threads, since start or the last CONFIG RESETSTAT.
    pub fn slot_totals(&self) -> Vec<SlotTotals> {
        let mut out = self.raw_slot_totals();
        if let Some(base) = self.slot_base.lock().as_ref() {
            for (x, b) in out.iter_mut().zip(base) {
                for (v, w) in x.iter_mut().zip(b) {
                    *v = v.saturating_sub(*w);
                }
            }
        }
        out
    }

    fn raw_slot_totals(&self) -> Vec<SlotTotals> {
        let mut out = vec![[0u64; 5]; SLOTS];
        for t in self.threads.lock().iter() {
            if let Some(cells) = t.slots.get() {
                for (o, c) in out.iter_mut().zip(cells.iter()) {
                    o[0] += c.reads.load(Relaxed);
                    o[1] += c.writes.load(Relaxed);
                    o[2] += c.nanos.load(Relaxed);
                    o[3] += c.net_in.load(Relaxed);
                    o[4] += c.net_out.load(Relaxed);
                }
            }
        }
        out
    }

    /// Successful write commands since start, summed over threads (not reset by CONFIG
    /// RESETSTAT): the dirty counter persistence reads, at no cost to the request path.
    pub fn writes_total(&self) -> u64 {
        let specs = &crate::spec::table().specs;
        let mut n = 0u64;
        for t in self.threads.lock().iter() {
            for (c, s) in t.cmds.iter().zip(specs.iter()) {
                if s.has(crate::spec::flags::WRITE) {
                    n += c.calls.load(Relaxed).saturating_sub(c.failed.load(Relaxed));
                }
            }
            n += t.misc.extra_changes.load(Relaxed);
            n = n.saturating_sub(t.misc.unchanged.load(Relaxed));
        }
        n
    }

    /// A successful write command that made `changes` changes, not one (Redis's dirty counter
    /// counts changes: a SETBIT that set a bit already set is none, a BITFIELD of three SETs
    /// that changed three values is three).
    pub fn write_changes(&self, changes: u64) {
        self.with_local(|t| match changes {
            0 => bump(&t.misc.unchanged, 1),
            1 => {}
            n => bump(&t.misc.extra_changes, n - 1),
        })
    }

    /// A command refused before it ran (arity, auth, queued-with-error).
    pub fn rejected(&self, idx: Option<usize>) {
        self.with_local(|t| {
            if let Some(i) = idx {
                bump(&t.cmds[i].rejected, 1);
            }
        })
    }

    /// A command that ran and replied successfully but whose reply holds an error (a script
    /// returning `{1, {err=...}}`): Redis counts it failed.
    #[cold]
    #[inline(never)]
    pub fn failed(&self, idx: usize) {
        self.with_local(|t| {
            if let Some(c) = t.cmds.get(idx) {
                bump(&c.failed, 1);
            }
        })
    }

    /// Counts an error reply under its code (bytes: Redis counts a script's non-UTF-8 code
    /// as given).
    pub fn error_reply(&self, prefix: &[u8]) {
        self.total_error_replies.fetch_add(1, Relaxed);
        let mut e = self.errors.lock();
        if let Some(n) = e.get_mut(prefix) {
            *n += 1;
        } else if e.len() < 128 {
            // Bound the table: a client must not grow it without limit with made-up prefixes.
            e.insert(prefix.to_vec(), 1);
        } else {
            *e.entry(b"ERRORSTATS_OVERFLOW".to_vec()).or_default() += 1;
        }
    }

    pub fn errors(&self) -> BTreeMap<Vec<u8>, u64> {
        self.errors.lock().clone()
    }

    /// Per-command latency buckets summed over threads (not reset by CONFIG RESETSTAT, as
    /// Prometheus counters must never go down).
    pub fn latency_buckets(&self) -> Vec<[u64; LATENCY_BUCKETS]> {
        let n = crate::spec::table().len();
        let mut out = vec![[0u64; LATENCY_BUCKETS]; n];
        for t in self.threads.lock().iter() {
            for (i, c) in t.cmds.iter().enumerate() {
                for (b, v) in c.buckets.iter().enumerate() {
                    out[i][b] += v.load(Relaxed);
                }
            }
        }
        out
    }

    fn raw_histograms(&self) -> Histograms {
        let cmds = self.latency_buckets();
        let mut subs = vec![[0u64; LATENCY_BUCKETS]; crate::spec::table().sub_count()];
        for t in self.threads.lock().iter() {
            for (o, c) in subs.iter_mut().zip(t.subs.iter()) {
                for (v, b) in o.iter_mut().zip(c.iter()) {
                    *v += b.load(Relaxed);
                }
            }
        }
        (cmds, subs)
    }

    /// Latency histograms of commands and subcommands since start or the last CONFIG
    /// RESETSTAT (LATENCY HISTOGRAM, INFO latencystats).
    pub fn histograms(&self) -> Histograms {
        let mut h = self.raw_histograms();
        if let Some((bc, bs)) = self.hist_base.lock().as_ref() {
            for (x, y) in h.0.iter_mut().zip(bc).chain(h.1.iter_mut().zip(bs)) {
                for (v, w) in x.iter_mut().zip(y) {
                    *v = v.saturating_sub(*w);
                }
            }
        }
        h
    }

    /// Totals since start, ignoring CONFIG RESETSTAT (for Prometheus counters).
    pub fn totals(&self) -> Snapshot {
        self.raw()
    }

    fn raw(&self) -> Snapshot {
        let n = crate::spec::table().len();
        let mut s = Snapshot {
            cmds: vec![(0, 0, 0, 0); n],
            ..Default::default()
        };
        for t in self.threads.lock().iter() {
            for (i, c) in t.cmds.iter().enumerate() {
                let e = &mut s.cmds[i];
                e.0 += c.calls.load(Relaxed);
                e.1 += c.usec.load(Relaxed);
                e.2 += c.failed.load(Relaxed);
                e.3 += c.rejected.load(Relaxed);
            }
            s.hits += t.misc.hits.load(Relaxed);
            s.misses += t.misc.misses.load(Relaxed);
            s.commands += t.misc.commands.load(Relaxed);
            s.net_in += t.misc.net_in.load(Relaxed);
            s.net_out += t.misc.net_out.load(Relaxed);
        }
        s
    }

    /// Current totals since start or the last CONFIG RESETSTAT.
    pub fn snapshot(&self) -> Snapshot {
        let mut s = self.raw();
        if let Some(b) = self.reset_base.lock().as_ref() {
            for (x, y) in s.cmds.iter_mut().zip(&b.cmds) {
                *x = (x.0 - y.0, x.1 - y.1, x.2 - y.2, x.3 - y.3);
            }
            s.hits -= b.hits;
            s.misses -= b.misses;
            s.commands -= b.commands;
            s.net_in -= b.net_in;
            s.net_out -= b.net_out;
        }
        s
    }

    /// CONFIG RESETSTAT.
    pub fn reset(&self) {
        *self.reset_base.lock() = Some(self.raw());
        *self.hist_base.lock() = Some(self.raw_histograms());
        if self.threads.lock().iter().any(|t| t.slots.get().is_some()) {
            *self.slot_base.lock() = Some(self.raw_slot_totals());
        }
        self.errors.lock().clear();
        self.total_error_replies.store(0, Relaxed);
        self.unexpected_error_replies.store(0, Relaxed);
        self.connections_received.store(0, Relaxed);
        self.rejected_connections.store(0, Relaxed);
    }
}
