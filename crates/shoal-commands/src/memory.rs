//! `maxmemory`: eviction before commands run, and the OOM refusal (Redis's performEvictions).
//!
//! Before every command, while the allocator holds more than `maxmemory`, entries are evicted
//! by the configured policy until it does not, within a time budget set by
//! `maxmemory-eviction-tenacity` (10 = 500 µs, as Redis). A command is refused with `-OOM` only
//! when nothing can be evicted (noeviction, or no candidate left) and it may allocate (`denyoom`,
//! or anything inside MULTI but EXEC/DISCARD). When the budget runs out first, the command runs
//! and the server's timer goes on evicting, so no command stalls for long.

use std::sync::atomic::Ordering::Relaxed;
use std::time::Instant;

use shoal_store::mem;

use crate::ctx::Shared;

/// Redis's evictionTimeLimitUs: microseconds one call may spend evicting (`None` = no limit).
pub fn budget_us(tenacity: u32) -> Option<u64> {
    match tenacity {
        0..=10 => Some(50 * tenacity as u64),
        11..=99 => Some((500.0 * 1.15f64.powi(tenacity as i32 - 10)) as u64),
        _ => None,
    }
}

/// Whether the process holds more than `maxmemory` (never, with no limit).
#[inline]
pub fn over_limit(shared: &Shared) -> bool {
    let max = shared.maxmemory.load(Relaxed);
    // A replica ignores maxmemory (as Redis's replica-ignore-maxmemory yes): its primary's DELs
    // keep it in step.
    max != 0 && mem::used() as u64 > max && !shared.repl.replica.load(Relaxed)
}

/// Evicts until memory is under `maxmemory` or the time budget is spent. Returns false when
/// still over the limit with nothing left to evict (the caller refuses `denyoom` commands).
pub fn make_room(shared: &Shared, now_ms: u64) -> bool {
    let max = shared.maxmemory.load(Relaxed);
    if max == 0 {
        return true;
    }
    let budget = shared.eviction_budget_us.load(Relaxed);
    let start = Instant::now();
    let mut n = 0u32;
    let timed = shared.latency.enabled();
    let result = loop {
        if mem::used() as u64 <= max {
            break true;
        }
        // An eviction is a write: replicas get it as a DEL, in its place in the stream.
        let guard = shared.repl.enter_write();
        let del_start = timed.then(Instant::now);
        let Some(ev) = shared.store.evict_one(now_ms) else {
            drop(guard);
            // Nothing left to evict, but the lazyfree thread may still be freeing what was:
            // a short wait for it (at most 1 ms, or the eviction budget), as Redis does.
            break wait_for_lazyfree(max, budget.min(1000));
        };
        if shared.repl.active.load(Relaxed) {
            crate::repl::propagate_dels(&shared.repl, &[(ev.db as u32, ev.entry.key().into())]);
        }
        drop(guard);
        crate::notify::notify_in(
            shared,
            ev.db,
            crate::notify::EVICTED,
            "evicted",
            ev.entry.key(),
        );
        shoal_store::lazyfree::free_entry_if(shoal_store::lazyfree::EVICTION, ev.entry);
        if let Some(t) = del_start {
            shared
                .latency
                .record("eviction-del", t.elapsed().as_millis() as u64);
        }
        // Make the freed bytes visible to the check at once.
        mem::flush_thread();
        n += 1;
        if n.is_multiple_of(16)
            && budget != u64::MAX
            && start.elapsed().as_micros() as u64 >= budget
        {
            break true;
        }
    };
    if n > 0 {
        shared
            .latency
            .record("eviction-cycle", start.elapsed().as_millis() as u64);
    }
    result
}

/// Waits up to `us` microseconds while the lazyfree thread has work; true once memory is
/// under `max`.
fn wait_for_lazyfree(max: u64, us: u64) -> bool {
    let until = Instant::now() + std::time::Duration::from_micros(us);
    while shoal_store::lazyfree::pending() > 0 && Instant::now() < until {
        if mem::used() as u64 <= max {
            return true;
        }
        std::thread::sleep(std::time::Duration::from_micros(50));
    }
    mem::used() as u64 <= max
}

/// Pushes the configuration's memory and eviction settings to where the request path and the
/// shards read them.
pub fn apply(shared: &Shared) {
    let c = shared.config.read();
    shared.maxmemory.store(c.maxmemory, Relaxed);
    shared.eviction_budget_us.store(
        budget_us(c.maxmemory_eviction_tenacity).unwrap_or(u64::MAX),
        Relaxed,
    );
    let t = shared.store.tuning();
    t.set_policy(c.maxmemory_policy);
    t.samples.store(c.maxmemory_samples, Relaxed);
    t.lfu_log_factor.store(c.lfu_log_factor, Relaxed);
    t.lfu_decay_time.store(c.lfu_decay_time, Relaxed);
    // Expired keys are logged for `expired` events only while someone may receive them.
    let events = crate::notify::effective(c.notify_keyspace_events);
    t.notify_expired
        .store(events & crate::notify::EXPIRED != 0, Relaxed);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tenacity_budget_follows_redis() {
        assert_eq!(budget_us(0), Some(0));
        assert_eq!(budget_us(10), Some(500));
        assert_eq!(budget_us(11), Some(575));
        assert_eq!(budget_us(100), None);
    }
}
