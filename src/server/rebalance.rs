//! `cluster-auto-rebalance`: once a primary has stayed below its share of the slots (a new
//! empty primary) for a settling time, each slot owner moves its part of the share to it with
//! an atomic slot migration. Every node computes the same plan (`shoal_cluster::rebalance`) and
//! acts only on its own moves, one job at a time.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use shoal_cluster::NodeId;
use shoal_cluster::rebalance::{plan, ranges, underfull};
use shoal_commands::{Shared, unix_ms};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// A receiver must stay underfull this long (at least; twice node-timeout if longer), so a new
/// node that is about to become a replica (`cluster-bootstrap-replicas`) is left alone.
const SETTLE_MS: u64 = 5000;

pub fn spawn(shared: Arc<Shared>, cancel: CancellationToken, tracker: &TaskTracker) {
    tracker.spawn(async move {
        let mut since: HashMap<NodeId, u64> = HashMap::new();
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        loop {
            tokio::select! {
                _ = cancel.cancelled() => return,
                _ = tick.tick() => step(&shared, &mut since),
            }
        }
    });
}

fn step(shared: &Shared, since: &mut HashMap<NodeId, u64>) {
    let Some(cl) = &shared.cluster else { return };
    let (enabled, settle) = {
        let c = shared.config.read();
        (
            c.cluster.auto_rebalance,
            SETTLE_MS.max(2 * c.cluster.node_timeout),
        )
    };
    if !enabled {
        since.clear();
        return;
    }
    let now = unix_ms();
    let st = cl.state.read();
    let live: Vec<NodeId> = st
        .nodes
        .values()
        .filter(|n| {
            n.flags.primary
                && !n.flags.fail
                && !n.flags.pfail
                && (n.flags.myself || n.pong_recv > 0)
        })
        .map(|n| n.id)
        .collect();
    let under = underfull(&st, &live);
    since.retain(|id, _| under.contains(id));
    for id in &under {
        since.entry(*id).or_insert(now);
    }
    let me = st.me();
    if !st.is_ok()
        || !me.flags.primary
        || me.slots.is_empty()
        || !st.migrating.is_empty()
        || !st.importing.is_empty()
        || shared.migrations.any_active()
    {
        return;
    }
    let ready: Vec<NodeId> = since
        .iter()
        .filter(|(_, t)| now.saturating_sub(**t) >= settle)
        .map(|(id, _)| *id)
        .collect();
    if ready.is_empty() {
        return;
    }
    let mine: Vec<_> = plan(&st, &ready)
        .into_iter()
        .filter(|m| m.from == st.myself)
        .collect();
    drop(st);
    for m in mine {
        tracing::info!("Auto-rebalance: moving {} slots to {}", m.slots.len(), m.to);
        if let Err(e) = shoal_commands::slotmig::queue_export(shared, ranges(&m.slots), m.to, now) {
            tracing::warn!("Auto-rebalance: {e}");
        }
    }
}
