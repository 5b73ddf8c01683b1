//! The active expiry thread: reclaims expired keys nobody touches, finishes evictions that
//! commands left over the limit, and records the memory peak.
//!
//! Every 1/hz seconds it runs one cycle with a time budget of a quarter of the period (Redis's
//! ACTIVE_EXPIRE_CYCLE_SLOW_TIME_PERC); the cycle itself keeps going only while many of the keys
//! it checks turn out expired, so an idle keyspace costs almost nothing.

use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::thread::JoinHandle;
use std::time::Duration;

use shoal_commands::{Shared, unix_ms};
use tokio_util::sync::CancellationToken;

/// Records a latency event (`expire-cycle`) for the time from `started` to its drop.
struct LatencySample<'a> {
    shared: &'a Shared,
    event: &'static str,
    started: std::time::Instant,
}

impl<'a> LatencySample<'a> {
    fn new(shared: &'a Shared, event: &'static str, started: std::time::Instant) -> Self {
        LatencySample {
            shared,
            event,
            started,
        }
    }
}

impl Drop for LatencySample<'_> {
    fn drop(&mut self) {
        let ms = self.started.elapsed().as_millis() as u64;
        self.shared.latency.record(self.event, ms);
    }
}

pub fn spawn(shared: Arc<Shared>, cancel: CancellationToken) -> Option<JoinHandle<()>> {
    let run = move || {
        shoal_store::mem::flush_on_exit();
        let mut cursor = 0usize;
        while !cancel.is_cancelled() {
            let hz = shared.config.read().hz.clamp(1, 500);
            let period = Duration::from_millis(1000 / hz);
            // Eviction a command's time budget left unfinished goes on here (Redis's eviction
            // time proc), so memory returns under the limit even with no further writes.
            if shoal_commands::memory::over_limit(&shared) {
                shoal_commands::memory::make_room(&shared, unix_ms());
            }
            shoal_store::mem::note_peak();
            shared.pause.sync_expiry(unix_ms());
            // Keys this thread expired or evicted: invalidations for client-side caching.
            shoal_commands::tracking::after_background(&shared);
            // A writable replica expires the keys its own clients gave a TTL (the primary
            // sends no DELs for them).
            if shared.active_expire.load(Relaxed)
                && shared.repl.replica.load(Relaxed)
                && !shoal_store::shard::expiry_paused()
            {
                shared.store.expire_replica_keys(unix_ms());
                shoal_commands::notify::after_command(&shared);
            }
            // A replica waits for its primary's DELs instead (its clock is not the primary's);
            // nothing expires while writes are paused.
            if shared.active_expire.load(Relaxed)
                && !shared.repl.replica.load(Relaxed)
                && !shoal_store::shard::expiry_paused()
            {
                let started = std::time::Instant::now();
                let budget = period / 4;
                let _cycle = LatencySample::new(&shared, "expire-cycle", started);
                loop {
                    // While replicating, deletions take their place in the stream: short steps
                    // under the write guard.
                    let step = if shared.repl.active.load(Relaxed) {
                        Duration::from_millis(1).min(budget)
                    } else {
                        budget
                    };
                    let guard = shared.repl.enter_write();
                    let st = shared
                        .store
                        .active_expire_cycle(unix_ms(), step, &mut cursor);
                    let gone = shoal_store::shard::take_expired_log();
                    shoal_commands::repl::propagate_dels(&shared.repl, &gone);
                    let fields = shoal_store::shard::take_expired_fields();
                    shoal_commands::repl::propagate_field_dels(&shared.repl, &fields);
                    drop(guard);
                    // Keyspace events for what the sweep expired.
                    shoal_commands::notify::after_command(&shared);
                    shoal_commands::notify::fields_expired(&shared, &fields);
                    if st.expired > 0 {
                        tracing::debug!(
                            checked = st.checked,
                            expired = st.expired,
                            "active expire cycle"
                        );
                    }
                    if !st.timed_out || started.elapsed() >= budget {
                        break;
                    }
                }
            }
            std::thread::sleep(period);
        }
    };
    match std::thread::Builder::new()
        .name("shoal-expire".into())
        .spawn(run)
    {
        Ok(h) => Some(h),
        Err(e) => {
            tracing::error!("cannot start the expiry thread: {e}");
            None
        }
    }
}
