//! Atomic slot migration (Valkey 9's `CLUSTER MIGRATESLOTS`): a whole set of slots moves from
//! its primary (the source) to another primary (the target) in the background, and ownership
//! changes in one step at the end. Clients never see `-ASK` or `-TRYAGAIN`: until the hand-over
//! the source serves the slots as usual; after it, `-MOVED` sends them to the target.
//!
//! ```text
//!  source (export job, server task)                 target (import job, one connection)
//!  track changes to the slots' keys
//!  SYNCSLOTS ESTABLISH name source-id ranges  ───>  register; drop stale keys of the slots
//!  copy every key: SYNCSLOTS DATA records ... ───>  apply (and replicate) the records
//!  resend changed keys until few are left     ───>
//!  pause writes, resend the last changes      ───>
//!  SYNCSLOTS FINISH name                      ───>  take the slots with a new config epoch
//!  give the slots to the target, drop the keys, resume writes (they now get -MOVED)
//! ```
//!
//! A key changed after it was copied (by a command, expiry or eviction) is recorded by its shard
//! (`shoal_store::shard::SlotTracker`) and copied again, so when writes pause the target lacks
//! only the last few changes. If anything fails before FINISH, the source keeps its slots and the
//! target drops what it received (also when the connection just goes away).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64};

use parking_lot::Mutex;
use shoal_cluster::NodeId;

use crate::ctx::Shared;

/// Finished jobs kept for CLUSTER GETSLOTMIGRATIONS (active ones are always shown).
const LOG_MAX: usize = 100;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    Export = 0,
    Import = 1,
}

pub struct Job {
    /// 40 hex characters, unique.
    pub name: String,
    pub op: Op,
    pub ranges: Vec<(u16, u16)>,
    pub source: NodeId,
    pub target: NodeId,
    /// "pending", "connecting", "snapshotting", "streaming", "handover" (export),
    /// "receiving" (import); then "success", "failed" or "cancelled".
    pub state: &'static str,
    pub message: String,
    pub created_ms: u64,
    pub updated_ms: u64,
    /// Keys sent (export) or received (import), counting resends.
    pub keys: Arc<AtomicU64>,
    pub cancel: Arc<AtomicBool>,
    /// Import: the client ID of the source's connection.
    pub client: u64,
}

impl Job {
    pub fn active(&self) -> bool {
        !matches!(self.state, "success" | "failed" | "cancelled")
    }

    pub fn slots(&self) -> Vec<u16> {
        slots_of(&self.ranges)
    }

    pub fn has_slot(&self, slot: u16) -> bool {
        self.ranges.iter().any(|&(a, b)| (a..=b).contains(&slot))
    }
}

pub fn slots_of(ranges: &[(u16, u16)]) -> Vec<u16> {
    ranges.iter().flat_map(|&(a, b)| a..=b).collect()
}

/// `0-99 200-299`, as GETSLOTMIGRATIONS prints ranges (and ESTABLISH carries them).
pub fn ranges_text(ranges: &[(u16, u16)]) -> String {
    ranges
        .iter()
        .map(|(a, b)| format!("{a}-{b}"))
        .collect::<Vec<_>>()
        .join(" ")
}

pub fn parse_ranges_text(s: &str) -> Option<Vec<(u16, u16)>> {
    s.split_whitespace()
        .map(|r| {
            let (a, b) = r.split_once('-')?;
            let (a, b): (u16, u16) = (a.parse().ok()?, b.parse().ok()?);
            (a <= b && (b as usize) < shoal_cluster::SLOTS).then_some((a, b))
        })
        .collect::<Option<Vec<_>>>()
        .filter(|v| !v.is_empty())
}

pub fn new_name() -> String {
    (0..40)
        .map(|_| char::from(b"0123456789abcdef"[rand::random_range(0..16)]))
        .collect()
}

/// What the export runner takes of a job.
pub struct ExportPlan {
    pub ranges: Vec<(u16, u16)>,
    pub target: NodeId,
    pub keys: Arc<AtomicU64>,
    pub cancel: Arc<AtomicBool>,
}

/// The jobs of this node, and the queue the server's export runner takes names from.
#[derive(Default)]
pub struct Migrations {
    pub jobs: Mutex<Vec<Job>>,
    pub runner: Mutex<Option<tokio::sync::mpsc::UnboundedSender<String>>>,
    /// Jobs ended, by operation (export, import) and result (success, failed, cancelled).
    pub ended: [[AtomicU64; 3]; 2],
}

/// The results `Migrations::ended` counts, in its order.
pub const RESULTS: [&str; 3] = ["success", "failed", "cancelled"];

impl Migrations {
    /// Sets a job's state (and message), stamping the update time.
    pub fn update(&self, name: &str, state: &'static str, message: &str, now: u64) {
        let mut jobs = self.jobs.lock();
        if let Some(j) = jobs.iter_mut().find(|j| j.name == name) {
            if j.active()
                && let Some(r) = RESULTS.iter().position(|r| *r == state)
            {
                self.ended[j.op as usize][r].fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
            j.state = state;
            j.message = message.to_string();
            j.updated_ms = now;
        }
        // Keep every active job and the newest finished ones.
        let finished = jobs.iter().filter(|j| !j.active()).count();
        if finished > LOG_MAX {
            let mut drop = finished - LOG_MAX;
            jobs.retain(|j| {
                if drop > 0 && !j.active() {
                    drop -= 1;
                    false
                } else {
                    true
                }
            });
        }
    }

    /// A copy of what the runner needs of an export job.
    pub fn export_plan(&self, name: &str) -> Option<ExportPlan> {
        let jobs = self.jobs.lock();
        let j = jobs.iter().find(|j| j.name == name && j.op == Op::Export)?;
        Some(ExportPlan {
            ranges: j.ranges.clone(),
            target: j.target,
            keys: j.keys.clone(),
            cancel: j.cancel.clone(),
        })
    }

    /// The slots of the job named `name` (none if it is gone).
    pub fn slots_of_job(&self, name: &str) -> Vec<u16> {
        self.jobs
            .lock()
            .iter()
            .find(|j| j.name == name)
            .map(|j| j.slots())
            .unwrap_or_default()
    }

    /// Whether any active job (either way) covers `slot`.
    pub fn busy_slot(&self, slot: u16) -> bool {
        self.jobs
            .lock()
            .iter()
            .any(|j| j.active() && j.has_slot(slot))
    }

    /// Whether any job is active.
    pub fn any_active(&self) -> bool {
        self.jobs.lock().iter().any(|j| j.active())
    }
}

/// Queues an export of `ranges` to `target` (checked by the caller) and returns its name.
pub fn queue_export(
    shared: &Shared,
    ranges: Vec<(u16, u16)>,
    target: NodeId,
    now: u64,
) -> Result<String, &'static str> {
    let runner = shared.migrations.runner.lock().clone();
    let runner = runner.ok_or("Slot migration is not running on this node")?;
    let me = shared
        .cluster
        .as_ref()
        .map(|cl| cl.state.read().myself)
        .ok_or("This instance has cluster support disabled")?;
    let name = new_name();
    tracing::info!(
        "Slot export {name} of {} to {target} queued",
        ranges_text(&ranges)
    );
    shared.migrations.jobs.lock().push(Job {
        name: name.clone(),
        op: Op::Export,
        ranges,
        source: me,
        target,
        state: "pending",
        message: String::new(),
        created_ms: now,
        updated_ms: now,
        keys: Arc::default(),
        cancel: Arc::default(),
        client: 0,
    });
    runner
        .send(name.clone())
        .map_err(|_| "Slot migration is not running on this node")?;
    Ok(name)
}

/// Applies one snapshot record (a full sync's or a slot import's): the key takes the record's
/// value and expiry, or goes when the payload is empty. `Err` for a payload that does not parse.
pub fn apply_record(
    store: &shoal_store::Store,
    db: usize,
    key: &[u8],
    expire: Option<u64>,
    payload: &[u8],
    now: u64,
) -> Result<(), shoal_store::dump::RestoreError> {
    if db >= store.databases() {
        return Ok(());
    }
    let h = store.hash(key);
    let mut shard = store.lock(store.shard_id(db, key, h));
    if payload.is_empty() {
        shard.remove(h, key, now);
        return Ok(());
    }
    let value = shoal_store::dump::restore(payload)?;
    shard.upsert(h, key, value, expire, now);
    Ok(())
}

/// Deletes the keys of those of `slots` this node does not own (an import that did not
/// finish) and replicates the deletions. Call outside a command (it takes the write guard).
pub fn purge_unowned(shared: &Shared, slots: &[u16], now: u64) -> usize {
    let Some(cl) = &shared.cluster else { return 0 };
    purge_slots(shared, &unowned(cl, slots), now)
}

/// Those of `slots` this node does not own.
pub fn unowned(cl: &crate::ctx::Cluster, slots: &[u16]) -> Vec<u16> {
    let st = cl.state.read();
    slots
        .iter()
        .copied()
        .filter(|&s| st.owner_id(s) != Some(st.myself))
        .collect()
}

/// Deletes every key of `slots` and replicates the deletions (takes the write guard).
pub fn purge_slots(shared: &Shared, slots: &[u16], now: u64) -> usize {
    let guard = shared.repl.enter_write();
    let mut gone = Vec::new();
    for &slot in slots {
        gone.extend(
            shared
                .store
                .purge_slot(0, slot, now)
                .into_iter()
                .map(|k| (0u32, k)),
        );
    }
    crate::repl::propagate_dels(&shared.repl, &gone);
    drop(guard);
    shared.blocking.wake_all(shared);
    // The slots are someone else's now (an export that finished, a newer owner): so are
    // their shard channels.
    shared.drop_moved_shard_channels();
    gone.len()
}

/// The connection of an import job closed: if the job had not finished, it failed, and what
/// it brought is dropped.
pub fn client_closed(shared: &Shared, client: &mut crate::ctx::Client, now: u64) {
    let Some(name) = client.slot_import.take() else {
        return;
    };
    fail_import(shared, &name, "connection to the source lost", now);
}

/// Ends an unfinished import: drops its keys and records why.
pub fn fail_import(shared: &Shared, name: &str, why: &str, now: u64) {
    let slots = {
        let jobs = shared.migrations.jobs.lock();
        match jobs.iter().find(|j| j.name == name && j.active()) {
            Some(j) => j.slots(),
            None => return,
        }
    };
    let n = purge_unowned(shared, &slots, now);
    tracing::warn!("Slot import {name} failed ({why}); dropped {n} keys it brought");
    shared.migrations.update(name, "failed", why, now);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_round_trip() {
        let r = vec![(0, 99), (200, 200), (16000, 16383)];
        assert_eq!(ranges_text(&r), "0-99 200-200 16000-16383");
        assert_eq!(parse_ranges_text(&ranges_text(&r)), Some(r));
        assert_eq!(parse_ranges_text(""), None);
        assert_eq!(parse_ranges_text("5-4"), None);
        assert_eq!(parse_ranges_text("0-16384"), None);
        assert_eq!(slots_of(&[(3, 5), (9, 9)]), vec![3, 4, 5, 9]);
    }
}
