//! Freeing big values off the request path, as Redis's lazyfree: UNLINK, FLUSHALL/FLUSHDB ASYNC
//! and the `lazyfree-lazy-*` settings hand a value whose free effort passes
//! [`THRESHOLD`] (or a whole flushed keyspace) to one background thread, so a command never
//! holds a shard lock while a million-element set is freed. INFO's `lazyfree_pending_objects`
//! and `lazyfreed_objects` count what was handed over.

use std::collections::VecDeque;
use std::sync::atomic::AtomicU64;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::{Condvar, Mutex, OnceLock};

use crate::entry::{Entry, ValueRef};
use crate::value::Value;

/// Values that cost more than this many allocations to free go to the background thread
/// (Redis's LAZYFREE_THRESHOLD).
pub const THRESHOLD: usize = 64;

static PENDING: AtomicU64 = AtomicU64::new(0);
static FREED: AtomicU64 = AtomicU64::new(0);

/// What `lazyfree-lazy-*` asks for (the command layer sets it from the configuration).
static FLAGS: std::sync::atomic::AtomicU8 = std::sync::atomic::AtomicU8::new(0);
/// `lazyfree-lazy-eviction`.
pub const EVICTION: u8 = 1;
/// `lazyfree-lazy-expire`.
pub const EXPIRE: u8 = 2;
/// `lazyfree-lazy-server-del`: a value overwritten in place.
pub const SERVER_DEL: u8 = 4;
/// `lazyfree-lazy-user-del`: DEL as UNLINK.
pub const USER_DEL: u8 = 8;
/// `lazyfree-lazy-user-flush`: FLUSHALL/FLUSHDB without a mode as ASYNC.
pub const USER_FLUSH: u8 = 16;

/// Sets the `lazyfree-lazy-*` flags.
pub fn set_flags(flags: u8) {
    FLAGS.store(flags, Relaxed);
}

#[inline]
pub fn enabled(flag: u8) -> bool {
    FLAGS.load(Relaxed) & flag != 0
}

/// Objects handed over and not freed yet (INFO `lazyfree_pending_objects`).
pub fn pending() -> u64 {
    PENDING.load(Relaxed)
}

/// Objects the background thread freed (INFO `lazyfreed_objects`).
pub fn freed() -> u64 {
    FREED.load(Relaxed)
}

/// CONFIG RESETSTAT.
pub fn reset_stats() {
    FREED.store(0, Relaxed);
}

/// How many allocations freeing `v` takes, as Redis's lazyfreeGetFreeEffort estimates it: one
/// for a string or a packed (listpack/intset) collection, one per element otherwise; a stream
/// counts its nodes plus its groups times (1 + the first group's PEL).
pub fn effort(v: ValueRef<'_>) -> usize {
    match v {
        ValueRef::Int(_) | ValueRef::Str(_) => 1,
        ValueRef::List(l) => l.len(),
        ValueRef::Hash(h) if h.encoding() == "hashtable" => h.len(),
        ValueRef::Set(s) if s.encoding() == "hashtable" => s.len(),
        ValueRef::ZSet(z) if z.encoding() == "skiplist" => z.len(),
        ValueRef::Hash(_) | ValueRef::Set(_) | ValueRef::ZSet(_) => 1,
        ValueRef::Stream(s) => {
            let pel = s.groups.values().next().map_or(0, |g| g.pel.len());
            s.node_count() + s.groups.len() * (1 + pel)
        }
    }
}

/// Frees a removed entry: in the background when it is big, here otherwise. Returns whether
/// it went to the background.
pub fn free_entry(e: Entry) -> bool {
    if effort(e.value()) > THRESHOLD {
        submit(Box::new(e), 1);
        true
    } else {
        drop(e);
        false
    }
}

/// Frees a removed entry the way `flag` (a `lazyfree-lazy-*` setting) says.
pub fn free_entry_if(flag: u8, e: Entry) {
    if enabled(flag) {
        free_entry(e);
    }
}

/// Frees a value taken out of an entry (an overwrite), in the background when
/// `lazyfree-lazy-server-del` is on and it is big.
pub fn free_overwritten(v: Value) {
    if enabled(SERVER_DEL) && effort(v.as_ref()) > THRESHOLD {
        submit(Box::new(v), 1);
    }
}

/// Hands anything (a flushed shard's data: `objects` keys) to the background thread.
pub fn free_later<T: Send + 'static>(obj: T, objects: u64) {
    submit(Box::new(obj), objects);
}

type Job = (Box<dyn Send>, u64);

struct Queue {
    jobs: Mutex<VecDeque<Job>>,
    ready: Condvar,
}

fn queue() -> &'static Queue {
    static Q: OnceLock<&'static Queue> = OnceLock::new();
    Q.get_or_init(|| {
        let q: &'static Queue = Box::leak(Box::new(Queue {
            jobs: Mutex::new(VecDeque::new()),
            ready: Condvar::new(),
        }));
        let spawned = std::thread::Builder::new()
            .name("shoal-lazyfree".into())
            .spawn(move || worker(q));
        if spawned.is_err() {
            // Without the thread, jobs are freed by whoever submits them (see `submit`).
            WORKERLESS.store(true, Relaxed);
        }
        q
    })
}

static WORKERLESS: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

fn submit(job: Box<dyn Send>, objects: u64) {
    let q = queue();
    if WORKERLESS.load(Relaxed) {
        drop(job);
        FREED.fetch_add(objects, Relaxed);
        return;
    }
    PENDING.fetch_add(objects, Relaxed);
    let mut jobs = q.jobs.lock().unwrap_or_else(|p| p.into_inner());
    jobs.push_back((job, objects));
    drop(jobs);
    q.ready.notify_one();
}

fn worker(q: &'static Queue) {
    crate::mem::flush_on_exit();
    loop {
        let job = {
            let mut jobs = q.jobs.lock().unwrap_or_else(|p| p.into_inner());
            loop {
                match jobs.pop_front() {
                    Some(j) => break j,
                    None => jobs = q.ready.wait(jobs).unwrap_or_else(|p| p.into_inner()),
                }
            }
        };
        let (obj, objects) = job;
        drop(obj);
        // The memory counter sees the free before the job counts as done.
        crate::mem::flush_thread();
        FREED.fetch_add(objects, Relaxed);
        PENDING.fetch_sub(objects, Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entry::NewValue;
    use crate::types::Set;

    fn set_entry(n: usize) -> Entry {
        let mut s = Set::default();
        for i in 0..n {
            s.insert(format!("member-{i}").as_bytes());
        }
        Entry::new(b"k", NewValue::Value(Value::Set(Box::new(s))), None, 0)
    }

    fn wait_idle() {
        let until = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while pending() > 0 {
            assert!(std::time::Instant::now() < until, "lazyfree never finished");
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
    }

    #[test]
    fn big_values_go_to_the_background_small_ones_do_not() {
        let before = freed();
        assert!(!free_entry(set_entry(3)), "a small set is freed in place");
        assert!(free_entry(set_entry(1000)), "a big set goes to the thread");
        wait_idle();
        assert!(freed() > before);
        let e = set_entry(1000);
        assert!(effort(e.value()) > THRESHOLD);
        assert_eq!(effort(set_entry(3).value()), 1);
    }

    #[test]
    fn anything_can_be_freed_later_and_is_counted() {
        let before = freed();
        free_later(vec![0u8; 1 << 20], 7);
        wait_idle();
        assert!(freed() >= before + 7);
    }
}
