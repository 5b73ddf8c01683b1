//! Replica elections, votes, manual failover and replica migration, after the Redis Cluster
//! specification (and Redis's `clusterHandleSlaveFailover` and friends, whose timings the tools
//! and operators expect):
//!
//! - a replica whose primary is FAIL (and served slots) waits 500 ms + rand(500 ms) + rank × 1 s,
//!   rank 0 being the replica with the most replicated data; then bumps currentEpoch and asks
//!   every primary for its vote. A majority of slot-owning primaries elects it: it takes the
//!   slots with the election's epoch as configEpoch and tells everyone with a PONG. An election
//!   that does not conclude in max(2 × node-timeout, 2 s) is retried after twice that;
//! - a primary votes once per epoch (`lastVoteEpoch`, saved before the vote leaves), only for a
//!   replica whose primary is FAIL (or a manual failover), not twice for replicas of one primary
//!   within 2 × node-timeout, and never for a replica whose view of the slots is older than its
//!   own;
//! - `CLUSTER FAILOVER`: the replica asks its primary to pause writes (MFSTART); the primary's
//!   pings then carry its final offset; once the replica has applied that much it is elected
//!   without waiting for FAIL. FORCE skips the pause, TAKEOVER the vote;
//! - replica migration: a primary left without a working replica gets one from the primary with
//!   the most, if that one keeps more than `cluster-migration-barrier`.

use std::collections::HashMap;

use rand::RngExt;

use super::machine::{Bus, Dest, Effects};
use super::msg::{Body, Header, Kind, Message, mflags};
use crate::state::{ClusterState, NodeId};

/// A manual failover lasts at most this long (Redis's CLUSTER_MF_TIMEOUT).
pub const MF_TIMEOUT: u64 = 5000;
/// A primary must be orphaned this long before a replica migrates to it.
const MIGRATION_DELAY: u64 = 5000;

/// The kinds of `CLUSTER FAILOVER`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Manual {
    /// Pause the primary, catch up, then an election.
    Default,
    /// An election now, without the primary's agreement.
    Force,
    /// No election: take the slots with a new epoch.
    Takeover,
}

/// Election and failover state (part of [`Bus`]).
#[derive(Debug)]
pub struct Failover {
    /// This node's replication offset (produced on a primary, applied on a replica), set by the
    /// driver before every step.
    pub offset: u64,
    /// Replica: how long its link to the primary has been down, in ms (0 while up), set by the
    /// driver.
    pub link_down_ms: u64,
    /// `cluster-replica-validity-factor` (0 = a replica may always try).
    pub validity_factor: u64,
    /// `cluster-migration-barrier`.
    pub migration_barrier: u64,
    /// `cluster-allow-replica-migration`.
    pub allow_migration: bool,
    /// `cluster-replica-no-failover`.
    pub no_failover: bool,
    /// Election: when it starts (0 = none planned), whether the request went out, our rank, the
    /// epoch asked for and the primaries that voted.
    auth_time: u64,
    auth_sent: bool,
    auth_rank: usize,
    auth_epoch: u64,
    voters: Vec<NodeId>,
    /// Voting: when this primary last voted for a replica of each primary.
    voted_time: HashMap<NodeId, u64>,
    /// Manual failover: when it ends (0 = none), the replica it is for (primary side), the
    /// primary's final offset (replica side) and whether the election may start.
    mf_end: u64,
    mf_replica: Option<NodeId>,
    mf_primary_offset: Option<u64>,
    mf_can_start: bool,
    /// Replica migration: since when each orphaned primary has had no working replica.
    orphaned_since: HashMap<NodeId, u64>,
    /// Why the last election could not start (logged once per reason).
    last_reason: &'static str,
}

impl Default for Failover {
    fn default() -> Self {
        Failover {
            offset: 0,
            link_down_ms: 0,
            validity_factor: 10,
            migration_barrier: 1,
            allow_migration: true,
            no_failover: false,
            auth_time: 0,
            auth_sent: false,
            auth_rank: 0,
            auth_epoch: 0,
            voters: Vec::new(),
            voted_time: HashMap::new(),
            mf_end: 0,
            mf_replica: None,
            mf_primary_offset: None,
            mf_can_start: false,
            orphaned_since: HashMap::new(),
            last_reason: "",
        }
    }
}

impl Failover {
    /// The manual-failover flags this node's messages carry.
    pub(super) fn mflags(&self, st: &ClusterState) -> u8 {
        if self.mf_end != 0 && st.me().flags.primary {
            mflags::PAUSED
        } else {
            0
        }
    }

    /// A primary paused for a manual failover.
    pub(super) fn pausing(&self) -> bool {
        self.mf_end != 0 && self.mf_replica.is_some()
    }

    pub(super) fn reset_manual(&mut self) {
        self.mf_end = 0;
        self.mf_replica = None;
        self.mf_primary_offset = None;
        self.mf_can_start = false;
    }

    /// A manual failover is under way on this replica.
    pub fn manual_in_progress(&self) -> bool {
        self.mf_end != 0
    }
}

/// Nodes whose primary is `primary` and that are neither failing nor suspected.
fn ok_replicas(st: &ClusterState, primary: NodeId) -> usize {
    st.replicas_of(primary)
        .filter(|r| !r.flags.fail && !r.flags.pfail)
        .count()
}

impl Bus {
    /// Election timeout: max(2 × node-timeout, 2 s).
    fn auth_timeout(&self) -> u64 {
        (2 * self.node_timeout).max(2000)
    }

    /// PONG to every known node (a new primary announces itself; a replica its offset).
    pub(super) fn broadcast_pong(
        &mut self,
        st: &ClusterState,
        now: u64,
        fx: &mut Effects,
        only: Option<NodeId>,
    ) {
        let targets: Vec<NodeId> = st
            .nodes
            .values()
            .filter(|n| n.id != st.myself && !n.flags.handshake)
            .filter(|n| only.is_none_or(|p| n.primary_of == Some(p)))
            .map(|n| n.id)
            .collect();
        for t in targets {
            let m = self.message(st, Kind::Pong, now, Some(t));
            self.send(fx, Dest::Node(t), m);
        }
    }

    /// How many other replicas of our primary have replicated more than we have.
    fn rank(&self, st: &ClusterState) -> usize {
        let Some(p) = st.me().primary_of else {
            return 0;
        };
        st.replicas_of(p)
            .filter(|r| r.id != st.myself && !r.flags.fail && !r.flags.nofailover)
            .filter(|r| r.repl_offset > self.fo.offset)
            .count()
    }

    /// The replica's part of every tick: manual failover progress, then the election.
    pub(super) fn failover_tick(&mut self, st: &mut ClusterState, now: u64, fx: &mut Effects) {
        // A manual failover that overran is abandoned (and the primary resumes writes).
        if self.fo.mf_end != 0 && now > self.fo.mf_end {
            tracing::warn!("Manual failover timed out.");
            if self.fo.pausing() {
                fx.pause_writes = Some(0);
            }
            self.fo.reset_manual();
        }
        let me = st.me();
        if me.flags.primary {
            // Primary in a manual failover: keep telling the replica our (final) offset.
            if let Some(r) = self.fo.mf_replica
                && self.fo.mf_end != 0
            {
                let m = self.message(st, Kind::Ping, now, Some(r));
                self.send(fx, Dest::Node(r), m);
            }
            return;
        }
        if self.fo.mf_end != 0
            && !self.fo.mf_can_start
            && self
                .fo
                .mf_primary_offset
                .is_some_and(|o| self.fo.offset >= o)
        {
            self.fo.mf_can_start = true;
            tracing::info!("All primary replication stream processed, manual failover can start.");
        }
        self.election(st, now, fx);
        self.replica_migration(st, now, fx);
    }

    fn cant_failover(&mut self, reason: &'static str) {
        if self.fo.last_reason != reason {
            self.fo.last_reason = reason;
            tracing::info!("Currently unable to failover: {reason}");
        }
    }

    /// clusterHandleSlaveFailover.
    fn election(&mut self, st: &mut ClusterState, now: u64, fx: &mut Effects) {
        let manual = self.fo.mf_end != 0 && self.fo.mf_can_start;
        let me = st.me();
        let Some(primary) = me.primary_of.and_then(|p| st.nodes.get(&p)) else {
            return;
        };
        if !primary.flags.fail && !manual {
            self.fo.last_reason = "";
            return;
        }
        if (self.fo.no_failover || me.flags.nofailover) && !manual {
            return self.cant_failover("replica is configured not to fail over");
        }
        if primary.slots.is_empty() {
            return self.cant_failover("the primary serves no slot");
        }
        // Data too old to be trusted: the link was down much longer than the node timeout.
        let age = self.fo.link_down_ms.saturating_sub(self.node_timeout);
        if self.fo.validity_factor > 0
            && age > 10_000 + self.node_timeout * self.fo.validity_factor
            && !manual
        {
            return self.cant_failover("disconnected from the primary for too long");
        }
        let timeout = self.auth_timeout();
        let retry = 2 * timeout;
        let auth_age = now.saturating_sub(self.fo.auth_time);
        if self.fo.auth_time == 0 || auth_age > retry {
            self.fo.auth_time = now + 500 + rand::rng().random_range(0..500);
            self.fo.auth_sent = false;
            self.fo.voters.clear();
            self.fo.auth_rank = self.rank(st);
            self.fo.auth_time += self.fo.auth_rank as u64 * 1000;
            if manual {
                self.fo.auth_time = now;
                self.fo.auth_rank = 0;
            }
            tracing::info!(
                "Start of election delayed for {} milliseconds (rank #{}, offset {}).",
                self.fo.auth_time.saturating_sub(now),
                self.fo.auth_rank,
                self.fo.offset
            );
            // Tell the other replicas our offset, so they rank themselves against it.
            let p = primary.id;
            self.broadcast_pong(st, now, fx, Some(p));
            return;
        }
        // Before asking, a replica that fell behind another waits its new rank.
        if !self.fo.auth_sent && !manual {
            let rank = self.rank(st);
            if rank > self.fo.auth_rank {
                self.fo.auth_time += (rank - self.fo.auth_rank) as u64 * 1000;
                self.fo.auth_rank = rank;
            }
        }
        if now < self.fo.auth_time {
            return;
        }
        if auth_age > timeout {
            // This election is over without a winner; the next one starts after `retry`.
            return;
        }
        if !self.fo.auth_sent {
            st.current_epoch += 1;
            self.fo.auth_epoch = st.current_epoch;
            self.fo.auth_sent = true;
            tracing::info!(
                "Starting a failover election for epoch {}.",
                self.fo.auth_epoch
            );
            fx.save = true;
            let mut header = self.header(st);
            if manual {
                header.mflags |= mflags::FORCEACK;
            }
            let targets: Vec<NodeId> = st
                .nodes
                .values()
                .filter(|n| n.id != st.myself && n.flags.primary && !n.slots.is_empty())
                .map(|n| n.id)
                .collect();
            for t in targets {
                let m = Message {
                    kind: Kind::AuthRequest,
                    header: header.clone(),
                    body: Body::Empty,
                };
                self.send(fx, Dest::Node(t), m);
            }
            return;
        }
        if self.fo.voters.len() >= Self::quorum_of(st) {
            tracing::info!("Failover election won: I'm the new primary.");
            if st.me().config_epoch < self.fo.auth_epoch {
                st.me_mut().config_epoch = self.fo.auth_epoch;
                tracing::info!(
                    "configEpoch set to {} after successful failover",
                    self.fo.auth_epoch
                );
            }
            self.replace_my_primary(st, now, fx);
        }
    }

    /// A majority of the slot-owning primaries.
    fn quorum_of(st: &ClusterState) -> usize {
        st.size() / 2 + 1
    }

    /// Takes the slots of the primary this node replicated and tells everyone.
    fn replace_my_primary(&mut self, st: &mut ClusterState, now: u64, fx: &mut Effects) {
        st.promote_me();
        self.fo.reset_manual();
        self.fo.auth_time = 0;
        self.fo.auth_sent = false;
        fx.save = true;
        self.broadcast_pong(st, now, fx, None);
    }

    /// A primary's answer to an election request (clusterSendFailoverAuthIfNeeded).
    pub(super) fn on_auth_request(
        &mut self,
        st: &mut ClusterState,
        h: &Header,
        now: u64,
        fx: &mut Effects,
    ) {
        let me = st.me();
        if !me.flags.primary || me.slots.is_empty() {
            return;
        }
        let refuse = |why: &str| {
            tracing::info!("Failover auth denied to {:?}: {why}", h.sender);
        };
        if h.current_epoch < st.current_epoch {
            return refuse("its currentEpoch is older than mine");
        }
        if st.last_vote_epoch == st.current_epoch {
            return refuse("already voted in this epoch");
        }
        let Some(node) = st.nodes.get(&h.sender) else {
            return;
        };
        let force = h.mflags & mflags::FORCEACK != 0;
        let Some(primary) = node.primary_of.and_then(|p| st.nodes.get(&p)) else {
            return refuse("it is not a replica of a primary I know");
        };
        if node.flags.primary {
            return refuse("it is a primary");
        }
        if !primary.flags.fail && !force {
            return refuse("its primary is not failed");
        }
        let pid = primary.id;
        if self
            .fo
            .voted_time
            .get(&pid)
            .is_some_and(|t| now.saturating_sub(*t) < 2 * self.node_timeout)
        {
            return refuse("voted for a replica of the same primary recently");
        }
        // The requester's view of its slots must not be older than ours.
        for slot in h.slots.iter() {
            if let Some(owner) = st.owner(slot)
                && owner.config_epoch > h.config_epoch
            {
                return refuse("its view of the slots is stale");
            }
        }
        st.last_vote_epoch = st.current_epoch;
        self.fo.voted_time.insert(pid, now);
        // Saved (and fsynced) before the vote leaves.
        fx.save = true;
        let m = Message {
            kind: Kind::AuthAck,
            header: self.header(st),
            body: Body::Empty,
        };
        tracing::info!(
            "Failover auth granted to {:?} for epoch {}",
            h.sender,
            st.current_epoch
        );
        self.send(fx, Dest::Node(h.sender), m);
    }

    /// A vote for us.
    pub(super) fn on_auth_ack(&mut self, st: &ClusterState, h: &Header) {
        let Some(n) = st.nodes.get(&h.sender) else {
            return;
        };
        if n.flags.primary
            && !n.slots.is_empty()
            && h.current_epoch >= self.fo.auth_epoch
            && self.fo.auth_sent
            && !self.fo.voters.contains(&h.sender)
        {
            self.fo.voters.push(h.sender);
        }
    }

    /// A replica asks us, its primary, to start a manual failover.
    pub(super) fn on_mfstart(&mut self, st: &ClusterState, h: &Header, now: u64, fx: &mut Effects) {
        let is_my_replica = st
            .nodes
            .get(&h.sender)
            .is_some_and(|n| n.primary_of == Some(st.myself));
        if !st.me().flags.primary || !is_my_replica {
            return;
        }
        self.fo.reset_manual();
        self.fo.mf_end = now + MF_TIMEOUT;
        self.fo.mf_replica = Some(h.sender);
        // Writes stop now; the pings that carry our offset go from the next tick on, once
        // writes already running have finished.
        fx.pause_writes = Some(self.fo.mf_end);
        tracing::info!("Manual failover requested by replica {:?}.", h.sender);
    }

    /// A PING from our primary paused for our manual failover carries its final offset.
    pub(super) fn on_primary_ping(&mut self, st: &ClusterState, h: &Header) {
        if self.fo.mf_end != 0
            && self.fo.mf_primary_offset.is_none()
            && h.mflags & mflags::PAUSED != 0
            && st.me().primary_of == Some(h.sender)
        {
            self.fo.mf_primary_offset = Some(h.offset);
            tracing::info!(
                "Received replication offset for paused primary manual failover: {}",
                h.offset
            );
        }
    }

    /// CLUSTER FAILOVER on this replica (the command checked that it is one).
    pub fn manual_failover(&mut self, st: &mut ClusterState, how: Manual, now: u64) -> Effects {
        let mut fx = Effects::default();
        let Some(primary) = st.me().primary_of else {
            return fx;
        };
        self.fo.reset_manual();
        self.fo.auth_time = 0;
        self.fo.mf_end = now + MF_TIMEOUT;
        match how {
            Manual::Takeover => {
                // No agreement: a new configEpoch of our own, then the slots.
                tracing::info!("Taking over the primary (user request).");
                st.current_epoch += 1;
                let e = st.current_epoch;
                st.me_mut().config_epoch = e;
                self.replace_my_primary(st, now, &mut fx);
            }
            Manual::Force => {
                tracing::info!("Forced failover user request accepted.");
                self.fo.mf_can_start = true;
            }
            Manual::Default => {
                tracing::info!("Manual failover user request accepted.");
                let m = Message {
                    kind: Kind::MfStart,
                    header: self.header(st),
                    body: Body::Empty,
                };
                self.send(&mut fx, Dest::Node(primary), m);
            }
        }
        fx
    }

    /// clusterHandleSlaveMigration: give an orphaned primary a replica of ours.
    fn replica_migration(&mut self, st: &mut ClusterState, now: u64, fx: &mut Effects) {
        if !self.fo.allow_migration || !st.is_ok() {
            return;
        }
        let Some(mine) = st.me().primary_of else {
            return;
        };
        let my_count = ok_replicas(st, mine);
        let mut max = 0;
        let mut orphan: Option<NodeId> = None;
        let mut orphans = Vec::new();
        for n in st.nodes.values().filter(|n| n.flags.primary) {
            let ok = ok_replicas(st, n.id);
            max = max.max(ok);
            if ok == 0 && !n.flags.fail && !n.flags.pfail && n.migrate_to && !n.slots.is_empty() {
                orphans.push(n.id);
                if orphan.is_none() {
                    orphan = Some(n.id);
                }
            }
        }
        self.fo.orphaned_since.retain(|id, _| orphans.contains(id));
        for o in &orphans {
            self.fo.orphaned_since.entry(*o).or_insert(now);
        }
        let Some(target) = orphan else { return };
        if my_count <= self.fo.migration_barrier as usize || my_count != max || max < 2 {
            return;
        }
        // Among the replicas of the primaries with the most, the smallest ID moves.
        let candidate = st
            .nodes
            .values()
            .filter(|n| n.flags.primary && ok_replicas(st, n.id) == max)
            .flat_map(|p| st.replicas_of(p.id))
            .filter(|r| !r.flags.fail && !r.flags.pfail)
            .map(|r| r.id)
            .min();
        let since = self.fo.orphaned_since.get(&target).copied().unwrap_or(now);
        if candidate == Some(st.myself) && now.saturating_sub(since) > MIGRATION_DELAY {
            tracing::info!("Migrating to orphaned primary {target}");
            st.set_my_primary(target);
            self.fo.orphaned_since.clear();
            fx.save = true;
        }
    }
}
