//! Zero-touch formation: nodes started with the same seeds and settings build a cluster with no
//! operator command (what `redis-cli --cluster create --cluster-replicas N` does by hand).
//!
//! - primaries (`cluster-bootstrap-primaries P`): while no slot is assigned anywhere, once the
//!   P x (1 + R) nodes expected have known each other for a second (or at least P for thirty
//!   seconds), the one with the smallest ID binds the slots in even ranges to the P smallest
//!   IDs, each with its own config epoch, and tells each owner with an UPDATE;
//! - replicas (`cluster-bootstrap-replicas R`): once every slot is assigned, an empty primary
//!   becomes a replica. Every node computes the same plan from the same view: the empty
//!   primaries in ID order each go to the slot owner with the fewest replicas (smallest ID on a
//!   tie) while that owner has fewer than R. A node acts on its own line of the plan after the
//!   view has been still for two seconds, so nodes that start together spread evenly instead
//!   of all picking the same primary. An empty primary left over stays a primary (ready for slots).

use super::machine::{Bus, Dest, Effects};
use super::msg::{Body, Kind, Message};
use crate::slotset::SlotSet;
use crate::state::{ClusterState, NodeId};

/// How long a view must stay unchanged before a node acts on it.
const SETTLE_MS: u64 = 1000;
/// How long fewer nodes than expected must stay unchanged before the slots are spread anyway.
const SHORT_WAIT_MS: u64 = 30_000;
/// How long the slot owners must stay unchanged before an empty primary turns replica: long
/// enough for a re-sent UPDATE to reach an owner that missed its slots.
const REPLICA_SETTLE_MS: u64 = 2000;

#[derive(Debug, Default)]
pub struct Formation {
    /// Spread the slots once this many empty primaries know each other (0 = off).
    pub primaries: usize,
    /// Give each slot owner up to this many replicas from the empty primaries (0 = off).
    pub replicas: usize,
    /// The view last acted on (reachable primaries, or the replica plan's inputs), and since
    /// when it is unchanged.
    view: Vec<(NodeId, usize)>,
    view_since: u64,
}

impl Formation {
    /// How long the view has been unchanged (0 when it just changed; it is recorded then).
    fn still_for(&mut self, view: Vec<(NodeId, usize)>, now: u64) -> u64 {
        if view != self.view {
            self.view = view;
            self.view_since = now;
            return 0;
        }
        now.saturating_sub(self.view_since)
    }
}

/// Primaries this node can see alive: itself and those that answered a ping.
fn live_primaries(st: &ClusterState) -> impl Iterator<Item = &crate::state::Node> {
    st.nodes.values().filter(|n| {
        n.flags.primary && !n.flags.pfail && !n.flags.fail && (n.flags.myself || n.pong_recv > 0)
    })
}

impl Bus {
    /// Enables zero-touch formation over `primaries` nodes.
    pub fn with_bootstrap(mut self, primaries: usize) -> Bus {
        self.formation.primaries = primaries;
        self
    }

    /// Makes empty primaries replicate slot owners with fewer than `replicas` replicas.
    pub fn with_bootstrap_replicas(mut self, replicas: usize) -> Bus {
        self.formation.replicas = replicas;
        self
    }

    pub(super) fn formation_tick(&mut self, st: &mut ClusterState, now: u64, fx: &mut Effects) {
        let assigned = st.slots_assigned();
        if assigned == 0 && self.formation.primaries > 0 {
            self.bootstrap_primaries(st, now, fx);
        } else if assigned == crate::slot::SLOTS && self.formation.replicas > 0 {
            self.bootstrap_replica(st, now, fx);
        }
    }

    fn bootstrap_primaries(&mut self, st: &mut ClusterState, now: u64, fx: &mut Effects) {
        let want = self.formation.primaries;
        let mut ids: Vec<NodeId> = live_primaries(st).map(|n| n.id).collect();
        ids.sort();
        let view = ids.iter().map(|id| (*id, 0)).collect();
        let still = self.formation.still_for(view, now);
        // With replicas to come, wait for every node the formation expects, so that no node
        // seeing only part of the cluster spreads the slots over a different set (the spread
        // would still converge by epochs, but an owner that learns its slots late might turn
        // into a replica first). A cluster short of nodes forms after a longer wait.
        let expected = want * (1 + self.formation.replicas);
        let ready = (ids.len() >= expected && still >= SETTLE_MS)
            || (ids.len() >= want && still >= SHORT_WAIT_MS);
        if !ready || ids[0] != st.myself {
            return;
        }
        let chosen: Vec<NodeId> = ids[..want].to_vec();
        let base = st.current_epoch;
        for (i, id) in chosen.iter().enumerate() {
            let (lo, hi) = (
                i * crate::slot::SLOTS / want,
                (i + 1) * crate::slot::SLOTS / want,
            );
            let mut set = SlotSet::new();
            for s in lo..hi {
                set.insert(s as u16);
                st.assign(s as u16, *id);
            }
            let epoch = base + i as u64 + 1;
            if let Some(node) = st.nodes.get_mut(id) {
                node.config_epoch = epoch;
            }
            if *id != st.myself {
                let m = Message {
                    kind: Kind::Update,
                    header: self.header(st),
                    body: Body::Update {
                        node: *id,
                        config_epoch: epoch,
                        slots: set,
                    },
                };
                self.send(fx, Dest::Node(*id), m);
            }
        }
        st.current_epoch = base + want as u64;
        fx.save = true;
    }

    fn bootstrap_replica(&mut self, st: &mut ClusterState, now: u64, fx: &mut Effects) {
        let me = st.me();
        if !me.flags.primary || !me.slots.is_empty() || !st.importing.is_empty() {
            return;
        }
        // The plan's inputs: empty primaries (count 0 marks them) and owners with their count
        // of working replicas, in ID order.
        let mut view: Vec<(NodeId, usize)> = live_primaries(st)
            .map(|n| {
                let replicas = st
                    .replicas_of(n.id)
                    .filter(|r| !r.flags.fail && !r.flags.pfail)
                    .count();
                (n.id, if n.slots.is_empty() { 0 } else { replicas + 1 })
            })
            .collect();
        view.sort();
        if self.formation.still_for(view.clone(), now) < REPLICA_SETTLE_MS {
            return;
        }
        let mut owners: Vec<(usize, NodeId)> = view
            .iter()
            .filter(|(_, c)| *c > 0)
            .map(|(id, c)| (c - 1, *id))
            .collect();
        for (empty, _) in view.iter().filter(|(_, c)| *c == 0) {
            let Some(best) = owners.iter_mut().min() else {
                return;
            };
            if best.0 >= self.formation.replicas {
                return;
            }
            best.0 += 1;
            if *empty == st.myself {
                let primary = best.1;
                tracing::info!("Bootstrap: replicating {primary}");
                st.set_my_primary(primary);
                fx.save = true;
                return;
            }
        }
    }
}
