//! Paused clients: CLIENT PAUSE (writes or everything, until a deadline), the primary's side
//! of a manual failover (writes, until the replica took over or the failover timed out) and the
//! hand-over of an atomic slot migration (writes, for the few milliseconds it takes).
//!
//! A paused command is not run: the connection keeps it buffered, waits until the pause ends
//! and then runs it (so a client sees its command answered late, never refused).

use std::sync::atomic::{
    AtomicBool, AtomicU64,
    Ordering::{Relaxed, SeqCst},
};

use tokio::sync::Notify;

#[derive(Default)]
pub struct Pause {
    /// CLIENT PAUSE: until (Unix ms, 0 = none), and whether reads pause too.
    user_until: AtomicU64,
    user_all: AtomicBool,
    /// Manual failover on this primary: writes pause until (Unix ms, 0 = none).
    failover_until: AtomicU64,
    /// Slot migration hand-over on this source: writes pause until (Unix ms, 0 = none).
    migration_until: AtomicU64,
    /// Woken when a pause ends early (CLIENT UNPAUSE, failover done).
    pub ended: Notify,
    /// Clients holding a command back now (INFO counts them in `blocked_clients`, as Redis).
    pub waiting: std::sync::atomic::AtomicUsize,
}

impl Pause {
    /// Whether any pause may be in force (one load on the request path).
    #[inline]
    pub fn any(&self) -> bool {
        // Sequentially consistent: a write raises its in-flight flag before this check, and
        // `Replication::fence_writes` reads the flags after setting a pause (see `repl`).
        self.user_until.load(SeqCst) != 0
            || self.failover_until.load(SeqCst) != 0
            || self.migration_until.load(SeqCst) != 0
    }

    /// Until when a command must wait (`write`: it may change data), if it must.
    pub fn until(&self, write: bool, now: u64) -> Option<u64> {
        let user = self.user_until.load(Relaxed);
        let user = (user > now && (write || self.user_all.load(Relaxed))).then_some(user);
        let fo = self.failover_until.load(Relaxed);
        let fo = (write && fo > now).then_some(fo);
        let mig = self.migration_until.load(Relaxed);
        let mig = (write && mig > now).then_some(mig);
        user.max(fo).max(mig)
    }

    /// CLIENT PAUSE: a later deadline or a wider mode replaces the current one.
    pub fn pause_clients(&self, until: u64, all: bool) {
        if until >= self.user_until.load(Relaxed) || all {
            self.user_until.store(until, Relaxed);
            self.user_all.store(all, Relaxed);
        }
        self.sync_expiry(crate::ctx::unix_ms());
    }

    /// CLIENT UNPAUSE.
    pub fn unpause_clients(&self) {
        self.user_until.store(0, Relaxed);
        self.user_all.store(false, Relaxed);
        self.sync_expiry(crate::ctx::unix_ms());
        self.ended.notify_waiters();
    }

    /// While writes are paused no key expires (active or lazy: an expired key is hidden, not
    /// deleted), as Redis: a paused primary must not change its data. Called when a pause
    /// starts or ends and on every background tick (deadlines pass silently).
    pub fn sync_expiry(&self, now: u64) {
        shoal_store::shard::set_expiry_paused(self.any() && self.until(true, now).is_some());
    }

    /// Slot migration hand-over: pause writes until `until` (0 = resume now).
    pub fn pause_for_migration(&self, until: u64) {
        self.migration_until.store(until, SeqCst);
        self.sync_expiry(crate::ctx::unix_ms());
        if until == 0 {
            self.ended.notify_waiters();
        }
    }

    /// Manual failover: pause writes until `until` (0 = resume now).
    pub fn pause_for_failover(&self, until: u64) {
        self.failover_until.store(until, Relaxed);
        self.sync_expiry(crate::ctx::unix_ms());
        if until == 0 {
            self.ended.notify_waiters();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_and_deadlines() {
        let p = Pause::default();
        assert!(!p.any());
        assert_eq!(p.until(true, 100), None);
        p.pause_clients(200, false);
        assert_eq!(p.until(true, 100), Some(200));
        assert_eq!(p.until(false, 100), None, "WRITE mode lets reads through");
        assert_eq!(p.until(true, 200), None, "over at the deadline");
        p.pause_clients(150, true);
        assert_eq!(p.until(false, 100), Some(150), "ALL pauses reads");
        p.pause_for_failover(300);
        assert_eq!(p.until(true, 100), Some(300));
        assert_eq!(p.until(false, 100), Some(150));
        p.unpause_clients();
        p.pause_for_failover(0);
        assert!(!p.any());
    }
}
