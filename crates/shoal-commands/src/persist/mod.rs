//! Persistence: RDB snapshots of the keyspace in Redis's format (SAVE, BGSAVE, save points,
//! save on shutdown) and loading one at startup.
//!
//! ```text
//!  SAVE / BGSAVE / save point / SHUTDOWN
//!    └─ save thread: take a turn at the snapshot (repl.full_sync), pause writes for an instant,
//!       start a point-in-time snapshot, walk it off the request threads; records -> RDB writer
//!       -> temp-<pid>-<n>.rdb, fsync, rename over `dir/dbfilename`
//!  startup: `loading` on (commands answer -LOADING), read the file, fill the store, off
//! ```
//!
//! The dirty counter (`rdb_changes_since_last_save`) costs the request path nothing: it is the
//! number of successful write commands, summed from the per-thread command counters when asked.

mod load;
mod save;

pub use load::{LoadStats, Merge, load_bytes, load_file, reload};
pub use save::{bgsave, rdb_image, replica_image, save_after_flushall, save_sync};

use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU8, AtomicU64, Ordering::Relaxed};

use crate::ctx::{Shared, unix_ms};

/// The state INFO persistence shows and the save machinery keeps.
#[derive(Default)]
pub struct Persist {
    /// What the request path checks, in one load: [`GATE_LOADING`], [`GATE_MISCONF`].
    pub gate: AtomicU8,
    /// The dataset is being loaded: commands without the `loading` flag get -LOADING.
    pub loading: AtomicBool,
    /// A save (SAVE or BGSAVE) is running.
    pub saving: AtomicBool,
    /// The running save is a background one.
    pub bg: AtomicBool,
    /// BGSAVE SCHEDULE asked for another one once the running save ends.
    pub scheduled: AtomicBool,
    /// Unix seconds of the last successful save (or of the start).
    pub lastsave: AtomicU64,
    /// Unix seconds of the last save attempt (a failed one is retried after 5 s).
    pub last_try: AtomicU64,
    pub last_bgsave_ok: AtomicBool,
    /// Seconds the last background save took (-1: none yet).
    pub last_bgsave_secs: AtomicI64,
    /// Unix ms the running save started at.
    pub save_started_ms: AtomicU64,
    /// The write counter at the last successful save (or load).
    pub dirty_base: AtomicU64,
    /// The write counter when the running save started.
    pub dirty_at_start: AtomicU64,
    pub saves: AtomicU64,
    pub keys_loaded: AtomicU64,
    pub keys_expired_on_load: AtomicU64,
    /// Temp file numbers.
    pub(crate) seq: AtomicU64,
    /// SHUTDOWN did what its options asked (the server does not save again on the way out).
    pub exit_saved: AtomicBool,
    /// The running save is dropped at its end, not renamed over the file (a FLUSHALL saved
    /// the emptied dataset meanwhile: Redis kills its child).
    pub(crate) dropped: AtomicBool,
    /// Held while checking `dropped` and renaming the temp file over the RDB file.
    pub(crate) rename_order: parking_lot::Mutex<()>,
    /// The server's own handle, for the threads of background saves.
    pub(crate) me: std::sync::OnceLock<std::sync::Weak<Shared>>,
}

impl Persist {
    pub fn new() -> Persist {
        let p = Persist::default();
        p.lastsave.store(unix_ms() / 1000, Relaxed);
        p.last_bgsave_ok.store(true, Relaxed);
        p.last_bgsave_secs.store(-1, Relaxed);
        p
    }

    /// Lets commands start background saves (call once the server's `Arc` exists).
    pub fn install(shared: &std::sync::Arc<Shared>) {
        let _ = shared.persist.me.set(std::sync::Arc::downgrade(shared));
    }
}

/// FLUSHALL: a save that is running stops writing and ends without touching the RDB file
/// (Redis's killRDBChild; neither a success nor a failure).
pub fn abort_save(shared: &Shared) {
    let p = &shared.persist;
    if p.saving.load(std::sync::atomic::Ordering::SeqCst) {
        p.dropped.store(true, Relaxed);
    }
}

/// Set while the dataset loads: commands without the `loading` flag get -LOADING.
pub const GATE_LOADING: u8 = 1;
/// Set while the last save failed, save points exist and `stop-writes-on-bgsave-error` is on:
/// writes (and PING) get -MISCONF.
pub const GATE_MISCONF: u8 = 2;

pub const MISCONF: &str = "MISCONF Redis is configured to save RDB snapshots, but it's currently unable to persist to disk. Commands that may modify the data set are disabled, because this instance is configured to report errors during writes if RDB snapshotting fails (stop-writes-on-bgsave-error option). Please check the Redis logs for details about the RDB error.";

impl Persist {
    pub fn set_loading(&self, on: bool) {
        self.loading.store(on, Relaxed);
        if on {
            self.gate.fetch_or(GATE_LOADING, Relaxed);
        } else {
            self.gate.fetch_and(!GATE_LOADING, Relaxed);
        }
    }
}

/// Recomputes whether writes are refused for a failed save (after a save and CONFIG SET).
pub fn update_misconf(shared: &Shared) {
    let deny = {
        let c = shared.config.read();
        c.stop_writes_on_bgsave_error && !c.save.is_empty()
    } && !shared.persist.last_bgsave_ok.load(Relaxed);
    if deny {
        shared.persist.gate.fetch_or(GATE_MISCONF, Relaxed);
    } else {
        shared.persist.gate.fetch_and(!GATE_MISCONF, Relaxed);
    }
}

/// Writes counted so far (see the module's note).
pub fn write_count(shared: &Shared) -> u64 {
    shared.stats.writes_total()
}

/// Changes since the last successful save.
pub fn dirty(shared: &Shared) -> u64 {
    write_count(shared).saturating_sub(shared.persist.dirty_base.load(Relaxed))
}

/// The configured save points as (seconds, changes).
pub fn save_points(save: &str) -> Vec<(u64, u64)> {
    let w: Vec<u64> = save
        .split_whitespace()
        .filter_map(|x| x.parse().ok())
        .collect();
    w.chunks_exact(2).map(|c| (c[0], c[1])).collect()
}

/// Called about once a second: starts a background save when a save point is reached, or
/// one BGSAVE SCHEDULE asked for.
pub fn cron(shared: &Shared) {
    let p = &shared.persist;
    if p.saving.load(Relaxed) || p.loading.load(Relaxed) {
        return;
    }
    update_misconf(shared);
    if p.scheduled.swap(false, Relaxed) {
        bgsave(shared);
        return;
    }
    let points = save_points(&shared.config.read().save);
    if points.is_empty() {
        return;
    }
    let now = unix_ms() / 1000;
    let dirty = dirty(shared);
    let since = now.saturating_sub(p.lastsave.load(Relaxed));
    // After a failure, retry only every 5 seconds (as Redis's CONFIG_BGSAVE_RETRY_DELAY).
    let may_retry =
        p.last_bgsave_ok.load(Relaxed) || now.saturating_sub(p.last_try.load(Relaxed)) >= 5;
    if may_retry
        && let Some((secs, changes)) = points
            .iter()
            .find(|(secs, changes)| dirty >= *changes && since >= *secs)
    {
        tracing::info!("{changes} changes in {secs} seconds. Saving...");
        bgsave(shared);
    }
}

/// Saves before the process exits (SHUTDOWN, SIGTERM): waits for a background save that is
/// running to end first (it cannot be cut short), then saves synchronously.
pub fn save_before_exit(shared: &Shared) -> Result<(), String> {
    let until = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while shared.persist.saving.load(Relaxed) && std::time::Instant::now() < until {
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    save_sync(shared)
}

/// The RDB file's path, from `dir` and `dbfilename`.
pub fn rdb_path(shared: &Shared) -> std::path::PathBuf {
    let c = shared.config.read();
    std::path::Path::new(&c.dir).join(&c.dbfilename)
}

/// INFO persistence, with Redis 7.0's field names.
pub fn info_text(shared: &Shared) -> String {
    let p = &shared.persist;
    let bg = p.saving.load(Relaxed) && p.bg.load(Relaxed);
    let now = unix_ms();
    let current = if bg {
        (now.saturating_sub(p.save_started_ms.load(Relaxed)) / 1000) as i64
    } else {
        -1
    };
    format!(
        "loading:{}\r\nasync_loading:0\r\ncurrent_cow_peak:0\r\ncurrent_cow_size:0\r\ncurrent_cow_size_age:0\r\ncurrent_fork_perc:0.00\r\ncurrent_save_keys_processed:0\r\ncurrent_save_keys_total:0\r\nrdb_changes_since_last_save:{}\r\nrdb_bgsave_in_progress:{}\r\nrdb_last_save_time:{}\r\nrdb_last_bgsave_status:{}\r\nrdb_last_bgsave_time_sec:{}\r\nrdb_current_bgsave_time_sec:{}\r\nrdb_saves:{}\r\nrdb_last_cow_size:0\r\nrdb_last_load_keys_expired:{}\r\nrdb_last_load_keys_loaded:{}\r\naof_enabled:0\r\naof_rewrite_in_progress:0\r\naof_rewrite_scheduled:0\r\naof_last_rewrite_time_sec:-1\r\naof_current_rewrite_time_sec:-1\r\naof_last_bgrewrite_status:ok\r\naof_rewrites:0\r\naof_rewrites_consecutive_failures:0\r\naof_last_write_status:ok\r\naof_last_cow_size:0\r\nmodule_fork_in_progress:0\r\nmodule_fork_last_cow_size:0\r\n",
        p.loading.load(Relaxed) as u8,
        dirty(shared),
        bg as u8,
        p.lastsave.load(Relaxed),
        if p.last_bgsave_ok.load(Relaxed) {
            "ok"
        } else {
            "err"
        },
        p.last_bgsave_secs.load(Relaxed),
        current,
        p.saves.load(Relaxed),
        p.keys_expired_on_load.load(Relaxed),
        p.keys_loaded.load(Relaxed),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn save_points_parse() {
        assert_eq!(save_points("900 1 300 10"), vec![(900, 1), (300, 10)]);
        assert!(save_points("").is_empty());
    }
}
