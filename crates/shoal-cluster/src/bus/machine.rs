//! The cluster bus as a state machine: messages and ticks in, messages out. No sockets and no
//! clock of its own (callers pass `now` in milliseconds), so tests drive whole clusters over an
//! in-memory transport.
//!
//! What it does, after the Redis Cluster specification:
//! - joining: CLUSTER MEET starts a handshake with an address; its PONG names the node. A node
//!   accepts others only by MEET or when a known node gossips about them;
//! - liveness: PING a random node every second and any node silent for node-timeout/2; PFAIL
//!   after node-timeout without a PONG; FAIL when a majority of slot-owning primaries report it,
//!   broadcast to all; FAIL cleared when the node is back and holds no slots, or after
//!   2 × node-timeout;
//! - slots and epochs: a claim with a higher configEpoch wins (unassigned slots are taken by any
//!   claim); a stale claimant gets an UPDATE; two primaries with the same configEpoch: the one
//!   with the smaller ID takes a new epoch.

use std::collections::HashMap;

use rand::RngExt;

use super::msg::{Body, Gossip, Header, Kind, Message, nflags};
use crate::slotset::SlotSet;
use crate::state::{ClusterState, Node, NodeId};

/// Identifies a connection, so a reply goes back where the request came from.
pub type LinkId = u64;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Dest {
    /// The outbound link to a known node.
    Node(NodeId),
    /// An address whose node is not known yet (MEET).
    Addr { ip: String, cport: u16 },
    /// The link a message arrived on.
    Link(LinkId),
}

/// What the machine asks its driver to do.
#[derive(Debug, Default)]
pub struct Effects {
    pub out: Vec<(Dest, Message)>,
    /// The state changed in a way that must reach nodes.conf before it is acted on.
    pub save: bool,
    /// The state changed only in what this node learned of other nodes (their slots, epochs,
    /// addresses): saved in place without fsync, since the cluster tells a restarted node again.
    /// During a reshard every node learns one slot per SETSLOT NODE announcement, and an fsync
    /// for each halved the Redis tools' resharding speed.
    pub save_lazy: bool,
    /// Manual failover on a primary: pause writes until this Unix ms (`Some(0)`: resume).
    pub pause_writes: Option<u64>,
    /// Slots this node lost to another while it may still hold keys in them: delete those.
    pub purge_slots: Vec<u16>,
    /// Messages another node published, for this node's subscribers (in arrival order).
    pub deliver: Vec<Delivery>,
}

/// A PUBLISH (`shard` false) or SPUBLISH another node passed on, for local subscribers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Delivery {
    pub shard: bool,
    pub channel: Vec<u8>,
    pub message: Vec<u8>,
}

struct Handshake {
    ip: String,
    cport: u16,
    started: u64,
    last_meet: u64,
}

/// Counters for CLUSTER INFO.
#[derive(Clone, Copy, Debug, Default)]
pub struct BusStats {
    /// Messages sent and received, by type (`Kind as usize`).
    pub sent: [u64; KINDS],
    pub received: [u64; KINDS],
}

/// Message types counted apart, and their names as CLUSTER INFO prints them.
pub const KINDS: usize = 10;
pub const KIND_NAMES: [&str; KINDS] = [
    "ping",
    "pong",
    "meet",
    "fail",
    "update",
    "auth-req",
    "auth-ack",
    "mfstart",
    "publish",
    "publishshard",
];

pub struct Bus {
    pub node_timeout: u64,
    handshakes: Vec<Handshake>,
    fail_time: HashMap<NodeId, u64>,
    /// CLUSTER FORGET: not to be re-added through gossip until this time.
    forgotten: HashMap<NodeId, u64>,
    last_random_ping: u64,
    /// When each node was last sent a PING (re-sent while its PONG is missing).
    last_ping: HashMap<NodeId, u64>,
    /// Zero-touch formation (see `bootstrap`).
    pub(super) formation: super::bootstrap::Formation,
    pub stats: BusStats,
    /// Elections, votes, manual failover, replica migration (see `failover`).
    pub fo: super::failover::Failover,
}

impl Bus {
    pub fn new(node_timeout: u64) -> Bus {
        Bus {
            node_timeout: node_timeout.max(1),
            handshakes: Vec::new(),
            fail_time: HashMap::new(),
            forgotten: HashMap::new(),
            last_random_ping: 0,
            last_ping: HashMap::new(),
            formation: Default::default(),
            stats: BusStats::default(),
            fo: super::failover::Failover::default(),
        }
    }

    /// Addresses being met, for CLUSTER NODES-style inspection and tests.
    pub fn handshaking(&self) -> usize {
        self.handshakes.len()
    }

    /// CLUSTER MEET: start a handshake with the bus at `ip:cport`.
    pub fn meet(&mut self, st: &ClusterState, ip: &str, cport: u16, now: u64) -> Effects {
        let mut fx = Effects::default();
        let known = st
            .nodes
            .values()
            .any(|n| n.ip == ip && n.cport == cport && n.id != st.myself);
        if known
            || self
                .handshakes
                .iter()
                .any(|h| h.ip == ip && h.cport == cport)
        {
            return fx;
        }
        self.handshakes.push(Handshake {
            ip: ip.to_string(),
            cport,
            started: now,
            last_meet: now,
        });
        self.send(
            &mut fx,
            Dest::Addr {
                ip: ip.to_string(),
                cport,
            },
            self.message(st, Kind::Meet, now, None),
        );
        fx
    }

    /// CLUSTER FORGET: drop `id` and keep it out for 60 s.
    /// A PONG with this node's current view to every known node (see `Control::Announce`).
    pub fn announce(&mut self, st: &ClusterState, now: u64) -> Effects {
        let mut fx = Effects::default();
        self.broadcast_pong(st, now, &mut fx, None);
        fx
    }

    pub fn forget(&mut self, st: &mut ClusterState, id: NodeId, now: u64) {
        st.remove_node(id);
        self.fail_time.remove(&id);
        self.forgotten.insert(id, now + 60_000);
        st.update_state();
    }

    /// PUBLISH (`shard` false: for every node this node has a link with, as Redis's
    /// clusterSendPublish to all) or SPUBLISH (`shard`: for the other nodes of this node's
    /// shard, its primary and that primary's replicas, as Redis's
    /// clusterPropagatePublishShard). Returns the nodes and the one message for all of them
    /// (counted as sent once per node), or `None` when there is nobody to tell.
    pub fn publish(
        &mut self,
        st: &ClusterState,
        shard: bool,
        channel: Vec<u8>,
        message: Vec<u8>,
    ) -> Option<(Vec<NodeId>, Message)> {
        let linked = |n: &&Node| n.id != st.myself && n.connected && !n.flags.handshake;
        let to: Vec<NodeId> = if shard {
            let primary = st.my_primary()?.id;
            std::iter::once(primary)
                .filter_map(|p| st.nodes.get(&p))
                .chain(st.replicas_of(primary))
                .filter(linked)
                .map(|n| n.id)
                .collect()
        } else {
            st.nodes.values().filter(linked).map(|n| n.id).collect()
        };
        if to.is_empty() {
            return None;
        }
        let kind = if shard {
            Kind::PublishShard
        } else {
            Kind::Publish
        };
        self.stats.sent[kind as usize] += to.len() as u64;
        let m = Message {
            kind,
            header: self.header(st),
            body: Body::Publish { channel, message },
        };
        Some((to, m))
    }

    /// A PUBLISH or PUBLISHSHARD arrived: the message for local subscribers, if it comes from
    /// a node this node knows (as Redis, an unknown sender's is dropped). It says nothing about
    /// the cluster's configuration, so it needs the state only to read.
    pub fn on_publish(&mut self, st: &ClusterState, m: Message) -> Option<Delivery> {
        self.stats.received[m.kind as usize] += 1;
        if m.header.sender == st.myself || !st.nodes.contains_key(&m.header.sender) {
            return None;
        }
        match m.body {
            Body::Publish { channel, message } if m.kind.is_publish() => Some(Delivery {
                shard: m.kind == Kind::PublishShard,
                channel,
                message,
            }),
            _ => None,
        }
    }

    pub(super) fn send(&mut self, fx: &mut Effects, to: Dest, m: Message) {
        self.stats.sent[m.kind as usize] += 1;
        fx.out.push((to, m));
    }

    pub(super) fn header(&self, st: &ClusterState) -> Header {
        let me = st.me();
        // A replica speaks for its primary's slots and configEpoch (a voter checks them).
        let (config_epoch, slots) = match st.my_primary() {
            Some(p) => (p.config_epoch, p.slots.clone()),
            None => (me.config_epoch, me.slots.clone()),
        };
        let mut flags = 0;
        if me.flags.primary {
            flags |= nflags::PRIMARY;
        }
        if me.flags.replica {
            flags |= nflags::REPLICA;
        }
        if me.flags.nofailover {
            flags |= nflags::NOFAILOVER;
        }
        Header {
            sender: st.myself,
            current_epoch: st.current_epoch,
            config_epoch,
            flags,
            mflags: self.fo.mflags(st),
            offset: self.fo.offset,
            primary: me.primary_of,
            ip: me.ip.clone(),
            port: me.port,
            cport: me.cport,
            hostname: me.hostname.clone().unwrap_or_default(),
            slots,
            state_ok: st.is_ok(),
        }
    }

    /// A PING, PONG or MEET with gossip about a few random nodes, and every failing one.
    pub(super) fn message(
        &self,
        st: &ClusterState,
        kind: Kind,
        _now: u64,
        skip: Option<NodeId>,
    ) -> Message {
        let others: Vec<&Node> = st
            .nodes
            .values()
            .filter(|n| n.id != st.myself && Some(n.id) != skip)
            .collect();
        let wanted = (3 + others.len() / 10).min(others.len());
        let mut rng = rand::rng();
        let mut picked: Vec<&Node> = Vec::with_capacity(wanted);
        let mut pool = others.clone();
        while picked.len() < wanted && !pool.is_empty() {
            picked.push(pool.swap_remove(rng.random_range(0..pool.len())));
        }
        for n in others.iter().filter(|n| n.flags.pfail || n.flags.fail) {
            if !picked.iter().any(|p| p.id == n.id) {
                picked.push(n);
            }
        }
        let gossip = picked
            .into_iter()
            .map(|n| Gossip {
                id: n.id,
                ip: n.ip.clone(),
                port: n.port,
                cport: n.cport,
                flags: node_flags(n),
            })
            .collect();
        Message {
            kind,
            header: self.header(st),
            body: Body::Gossip(gossip),
        }
    }

    /// A message arrived on `link` from `peer_ip`; `local_ip` is this end's address on it.
    pub fn on_message(
        &mut self,
        st: &mut ClusterState,
        m: Message,
        link: LinkId,
        peer_ip: &str,
        local_ip: &str,
        now: u64,
    ) -> Effects {
        let mut fx = Effects::default();
        if m.kind.is_publish() {
            fx.deliver.extend(self.on_publish(st, m));
            return fx;
        }
        self.stats.received[m.kind as usize] += 1;
        let h = &m.header;
        if h.sender == st.myself {
            return fx;
        }
        if h.current_epoch > st.current_epoch {
            st.current_epoch = h.current_epoch;
            fx.save = true;
        }
        let sender_ip = if h.ip.is_empty() {
            peer_ip.to_string()
        } else {
            h.ip.clone()
        };
        let mut known = st.nodes.contains_key(&h.sender);
        match m.kind {
            Kind::Meet => {
                // Learn our own address from the link the MEET came over, unless announced.
                if st.me().ip.is_empty() && !local_ip.is_empty() {
                    st.me_mut().ip = local_ip.to_string();
                    fx.save = true;
                }
                if !known && !self.is_forgotten(h.sender, now) {
                    self.add_node(st, h, &sender_ip, now);
                    known = true;
                    fx.save = true;
                }
                let pong = self.message(st, Kind::Pong, now, Some(h.sender));
                self.send(&mut fx, Dest::Link(link), pong);
            }
            Kind::Ping => {
                if st.me().ip.is_empty() && !local_ip.is_empty() {
                    st.me_mut().ip = local_ip.to_string();
                    fx.save = true;
                }
                let pong = self.message(st, Kind::Pong, now, Some(h.sender));
                self.send(&mut fx, Dest::Link(link), pong);
                if known {
                    self.on_primary_ping(st, h);
                }
            }
            Kind::AuthRequest => {
                if known {
                    self.on_auth_request(st, h, now, &mut fx);
                }
            }
            Kind::AuthAck => {
                if known {
                    self.on_auth_ack(st, h);
                }
            }
            Kind::MfStart => {
                if known {
                    self.on_mfstart(st, h, now, &mut fx);
                }
            }
            Kind::Pong => {
                if !known {
                    // The answer to one of our MEETs names the node.
                    let pos = self.handshakes.iter().position(|hs| {
                        hs.cport == h.cport && (hs.ip == sender_ip || hs.ip == peer_ip)
                    });
                    if let Some(p) = pos {
                        self.handshakes.swap_remove(p);
                        if !self.is_forgotten(h.sender, now) {
                            self.add_node(st, h, &sender_ip, now);
                            known = true;
                            fx.save = true;
                        }
                    }
                }
                if let Some(n) = st.nodes.get_mut(&h.sender) {
                    n.pong_recv = now;
                    n.ping_sent = 0;
                    n.connected = true;
                    if n.flags.pfail {
                        n.flags.pfail = false;
                    }
                }
                self.maybe_clear_fail(st, h.sender, now, &mut fx);
            }
            Kind::Fail => {
                if known
                    && let Body::Fail(id) = &m.body
                    && *id != st.myself
                    && let Some(n) = st.nodes.get_mut(id)
                    && !n.flags.fail
                {
                    n.flags.fail = true;
                    n.flags.pfail = false;
                    self.fail_time.insert(*id, now);
                    fx.save = true;
                }
            }
            // Handled above.
            Kind::Publish | Kind::PublishShard => {}
            Kind::Update => {
                if known
                    && let Body::Update {
                        node,
                        config_epoch,
                        slots,
                    } = &m.body
                    && let Some(n) = st.nodes.get(node)
                    // Newer news about a node; or, in zero-touch formation, slots handed to this
                    // node while it holds none, whatever its epoch (an empty primary may have
                    // bumped its epoch in a collision after the spreader picked the one it sent).
                    && (n.config_epoch < *config_epoch
                        || (self.formation.primaries > 0
                            && n.flags.myself
                            && n.flags.primary
                            && n.slots.is_empty()))
                {
                    let node = *node;
                    let newer = n.config_epoch < *config_epoch;
                    let epoch = n.config_epoch.max(*config_epoch);
                    // Not newer: only the slots nobody holds in this node's view.
                    let mut take = SlotSet::new();
                    for slot in slots.iter() {
                        if newer || st.owner_id(slot).is_none() {
                            take.insert(slot);
                        }
                    }
                    if let Some(n) = st.nodes.get_mut(&node) {
                        n.config_epoch = epoch;
                    }
                    self.claim_slots(st, node, &take, epoch, &mut fx, None);
                    fx.save = true;
                }
            }
        }
        if known {
            self.update_from_header(st, h, &sender_ip, now, &mut fx);
            if let Body::Gossip(g) = &m.body {
                self.process_gossip(st, h.sender, g, &sender_ip, now, &mut fx);
            }
        }
        st.update_state();
        fx
    }

    fn is_forgotten(&self, id: NodeId, now: u64) -> bool {
        self.forgotten.get(&id).is_some_and(|&until| until > now)
    }

    fn add_node(&mut self, st: &mut ClusterState, h: &Header, ip: &str, now: u64) {
        let mut n = Node::new(h.sender, ip.to_string(), h.port, h.cport);
        n.pong_recv = now;
        st.nodes.insert(h.sender, n);
    }

    fn update_from_header(
        &mut self,
        st: &mut ClusterState,
        h: &Header,
        ip: &str,
        _now: u64,
        fx: &mut Effects,
    ) {
        let Some(n) = st.nodes.get_mut(&h.sender) else {
            return;
        };
        let mut changed = false;
        n.repl_offset = h.offset;
        if n.ip != ip || n.port != h.port || n.cport != h.cport {
            n.ip = ip.to_string();
            n.port = h.port;
            n.cport = h.cport;
            changed = true;
        }
        let host = (!h.hostname.is_empty()).then(|| h.hostname.clone());
        if n.hostname != host {
            n.hostname = host;
            changed = true;
        }
        let primary = h.flags & nflags::PRIMARY != 0;
        let nofailover = h.flags & nflags::NOFAILOVER != 0;
        if n.flags.nofailover != nofailover {
            n.flags.nofailover = nofailover;
            changed = true;
        }
        // A primary that turned replica gives up its slots.
        changed |= st.set_role(h.sender, primary, h.primary);
        let Some(n) = st.nodes.get_mut(&h.sender) else {
            return;
        };
        // The sender is behind about itself (it missed an UPDATE, or restarted before it was
        // told its slots): tell it again instead of taking its older view.
        // The same when it claims nothing while this node has it owning slots at its epoch (an
        // UPDATE of a zero-touch spread that it missed; it takes them while it holds none).
        let missed = n.config_epoch > h.config_epoch
            || (self.formation.primaries > 0
                && n.config_epoch == h.config_epoch
                && h.slots.is_empty());
        if primary && missed && !n.slots.is_empty() {
            let body = Body::Update {
                node: h.sender,
                config_epoch: n.config_epoch,
                slots: n.slots.clone(),
            };
            if changed {
                fx.save = true;
            }
            let upd = Message {
                kind: Kind::Update,
                header: self.header(st),
                body,
            };
            self.send(fx, Dest::Node(h.sender), upd);
            return;
        }
        if primary && n.config_epoch != h.config_epoch {
            n.config_epoch = h.config_epoch;
            changed = true;
        }
        if changed {
            fx.save_lazy = true;
        }
        if primary {
            self.claim_slots(st, h.sender, &h.slots, h.config_epoch, fx, Some(h.sender));
            self.handle_epoch_collision(st, h, fx);
        }
    }

    /// Rule 1 (a free slot goes to any claimant) and rule 2 (a higher configEpoch takes the
    /// slot). A claimant older than the owner gets an UPDATE (`reply_to`).
    fn claim_slots(
        &mut self,
        st: &mut ClusterState,
        node: NodeId,
        claimed: &SlotSet,
        epoch: u64,
        fx: &mut Effects,
        reply_to: Option<NodeId>,
    ) {
        let mut stale_owner: Option<NodeId> = None;
        let mut changed = false;
        // The primary whose slots this node serves (itself or the one it replicates): if the
        // claimant takes its last slot, this node follows the claimant.
        let cur_primary = st.my_primary().map(|p| p.id);
        let mut took_from_ours = false;
        for slot in claimed.iter() {
            match st.owner_id(slot) {
                Some(o) if o == node => {}
                _ if st.importing.contains_key(&slot) => {}
                None => {
                    st.assign(slot, node);
                    changed = true;
                }
                Some(o) => {
                    let owner_epoch = st.nodes.get(&o).map(|n| n.config_epoch).unwrap_or(0);
                    if owner_epoch < epoch {
                        if o == st.myself {
                            fx.purge_slots.push(slot);
                        }
                        took_from_ours |= Some(o) == cur_primary;
                        st.assign(slot, node);
                        st.migrating.remove(&slot);
                        changed = true;
                    } else if owner_epoch > epoch {
                        stale_owner = Some(o);
                    }
                }
            }
        }
        if changed {
            fx.save_lazy = true;
        }
        if took_from_ours
            && node != st.myself
            && let Some(cur) = cur_primary
            && st.nodes.get(&cur).is_some_and(|n| n.slots.is_empty())
        {
            // Our primary (or this node) lost its last slot to `node`: it is the primary now.
            tracing::info!(
                "Configuration change detected. Reconfiguring myself as a replica of {}",
                node
            );
            if st.me().flags.primary && self.fo.pausing() {
                fx.pause_writes = Some(0);
            }
            st.set_my_primary(node);
            self.fo.reset_manual();
            fx.purge_slots.clear();
            fx.save = true;
        }
        if let (Some(to), Some(owner)) = (reply_to, stale_owner)
            && let Some(o) = st.nodes.get(&owner)
        {
            let upd = Message {
                kind: Kind::Update,
                header: self.header(st),
                body: Body::Update {
                    node: owner,
                    config_epoch: o.config_epoch,
                    slots: o.slots.clone(),
                },
            };
            self.send(fx, Dest::Node(to), upd);
        }
    }

    /// Two primaries with one configEpoch: the smaller node ID takes a new one.
    fn handle_epoch_collision(&mut self, st: &mut ClusterState, h: &Header, fx: &mut Effects) {
        let me = st.me();
        if !me.flags.primary || h.flags & nflags::PRIMARY == 0 || h.config_epoch != me.config_epoch
        {
            return;
        }
        if h.sender <= st.myself {
            return;
        }
        st.current_epoch += 1;
        let e = st.current_epoch;
        st.me_mut().config_epoch = e;
        fx.save = true;
    }

    fn process_gossip(
        &mut self,
        st: &mut ClusterState,
        sender: NodeId,
        g: &[Gossip],
        sender_ip: &str,
        now: u64,
        fx: &mut Effects,
    ) {
        let sender_is_primary = st.nodes.get(&sender).is_some_and(|n| n.flags.primary);
        for e in g {
            if e.id == st.myself {
                continue;
            }
            if st.nodes.contains_key(&e.id) {
                if sender_is_primary {
                    if e.flags & (nflags::PFAIL | nflags::FAIL) != 0 {
                        if let Some(n) = st.nodes.get_mut(&e.id) {
                            n.fail_reports.insert(sender, now);
                        }
                        self.mark_fail_if_needed(st, e.id, now, fx);
                    } else if let Some(n) = st.nodes.get_mut(&e.id) {
                        n.fail_reports.remove(&sender);
                    }
                }
            } else if !self.is_forgotten(e.id, now) && e.flags & (nflags::PFAIL | nflags::FAIL) == 0
            {
                // A node a trusted node knows: meet it.
                let ip = if e.ip.is_empty() {
                    sender_ip.to_string()
                } else {
                    e.ip.clone()
                };
                let fresh = self.meet(st, &ip, e.cport, now);
                fx.out.extend(fresh.out);
            }
        }
    }

    /// Majority of slot-owning primaries: size/2 + 1.
    fn quorum(st: &ClusterState) -> usize {
        st.size() / 2 + 1
    }

    fn mark_fail_if_needed(
        &mut self,
        st: &mut ClusterState,
        id: NodeId,
        now: u64,
        fx: &mut Effects,
    ) {
        let Some(n) = st.nodes.get(&id) else { return };
        if !n.flags.pfail || n.flags.fail {
            return;
        }
        let valid = 2 * self.node_timeout;
        let mut votes = Some(&n.fail_reports)
            .map(|r| {
                r.iter()
                    .filter(|(rep, t)| {
                        now.saturating_sub(**t) <= valid
                            && st.nodes.get(rep).is_some_and(|p| p.flags.primary)
                    })
                    .count()
            })
            .unwrap_or(0);
        if st.me().flags.primary {
            votes += 1;
        }
        if votes < Self::quorum(st) {
            return;
        }
        if let Some(n) = st.nodes.get_mut(&id) {
            n.flags.fail = true;
            n.flags.pfail = false;
        }
        self.fail_time.insert(id, now);
        fx.save = true;
        let targets: Vec<NodeId> = st
            .nodes
            .keys()
            .copied()
            .filter(|k| *k != st.myself && *k != id)
            .collect();
        for t in targets {
            let m = Message {
                kind: Kind::Fail,
                header: self.header(st),
                body: Body::Fail(id),
            };
            self.send(fx, Dest::Node(t), m);
        }
    }

    fn maybe_clear_fail(&mut self, st: &mut ClusterState, id: NodeId, now: u64, fx: &mut Effects) {
        let Some(n) = st.nodes.get_mut(&id) else {
            return;
        };
        if !n.flags.fail {
            return;
        }
        let since = self.fail_time.get(&id).copied().unwrap_or(0);
        let slotless = n.flags.replica || n.slots.is_empty();
        if slotless || now.saturating_sub(since) > 2 * self.node_timeout {
            n.flags.fail = false;
            self.fail_time.remove(&id);
            n.fail_reports.clear();
            fx.save = true;
        }
    }

    /// Called every ~100 ms.
    pub fn on_tick(&mut self, st: &mut ClusterState, now: u64) -> Effects {
        let mut fx = Effects::default();
        let timeout = self.node_timeout;
        // Handshakes: retry MEET every second, give up after max(node-timeout, 1 s).
        let limit = timeout.max(1000);
        self.handshakes
            .retain(|h| now.saturating_sub(h.started) <= limit);
        let mut retry = Vec::new();
        for h in self.handshakes.iter_mut() {
            if now.saturating_sub(h.last_meet) >= 1000 {
                h.last_meet = now;
                retry.push((h.ip.clone(), h.cport));
            }
        }
        for (ip, cport) in retry {
            let m = self.message(st, Kind::Meet, now, None);
            self.send(&mut fx, Dest::Addr { ip, cport }, m);
        }
        self.forgotten.retain(|_, until| *until > now);
        // Expired failure reports go.
        let valid = 2 * timeout;
        for n in st.nodes.values_mut() {
            n.fail_reports
                .retain(|_, t| now.saturating_sub(*t) <= valid);
        }
        let ids: Vec<NodeId> = st
            .nodes
            .keys()
            .copied()
            .filter(|k| *k != st.myself)
            .collect();
        // Once a second, ping the node heard from least recently among a few random ones.
        if now.saturating_sub(self.last_random_ping) >= 1000 && !ids.is_empty() {
            self.last_random_ping = now;
            let mut rng = rand::rng();
            let mut best: Option<(u64, NodeId)> = None;
            for _ in 0..5 {
                let id = ids[rng.random_range(0..ids.len())];
                if let Some(n) = st.nodes.get(&id)
                    && n.ping_sent == 0
                    && best.is_none_or(|(p, _)| n.pong_recv < p)
                {
                    best = Some((n.pong_recv, id));
                }
            }
            if let Some((_, id)) = best {
                self.ping(st, id, now, &mut fx);
            }
        }
        for id in ids {
            let Some(n) = st.nodes.get(&id) else { continue };
            let since_last = now.saturating_sub(self.last_ping.get(&id).copied().unwrap_or(0));
            if n.ping_sent == 0 && now.saturating_sub(n.pong_recv) > timeout / 2 {
                self.ping(st, id, now, &mut fx);
            } else if n.ping_sent != 0 && since_last > timeout / 4 {
                // Still no PONG: ask again (over a fresh link if the old one broke). The first
                // unanswered ping's time stays, so PFAIL comes after node-timeout all the same.
                self.ping(st, id, now, &mut fx);
            }
            let Some(n) = st.nodes.get_mut(&id) else {
                continue;
            };
            if n.ping_sent != 0
                && now.saturating_sub(n.ping_sent) > timeout
                && !n.flags.pfail
                && !n.flags.fail
            {
                n.flags.pfail = true;
                fx.save = true;
            }
            if n.flags.pfail {
                self.mark_fail_if_needed(st, id, now, &mut fx);
            }
        }
        self.formation_tick(st, now, &mut fx);
        self.failover_tick(st, now, &mut fx);
        st.update_state();
        fx
    }

    fn ping(&mut self, st: &mut ClusterState, id: NodeId, now: u64, fx: &mut Effects) {
        let m = self.message(st, Kind::Ping, now, Some(id));
        if let Some(n) = st.nodes.get_mut(&id)
            && n.ping_sent == 0
        {
            n.ping_sent = now;
        }
        self.last_ping.insert(id, now);
        self.send(fx, Dest::Node(id), m);
    }

    /// The link to `id` broke (the peer closed it, or connecting failed). Count it as a ping
    /// without an answer from now, as Redis does when it re-creates a dropped link: a node that
    /// died is then PFAIL one node-timeout after its link went, not after its next ping.
    pub fn link_down(&mut self, st: &mut ClusterState, id: NodeId, now: u64) {
        if let Some(n) = st.nodes.get_mut(&id) {
            n.connected = false;
            if n.ping_sent == 0 {
                n.ping_sent = now;
            }
        }
    }
}

fn node_flags(n: &Node) -> u16 {
    let mut f = 0;
    if n.flags.primary {
        f |= nflags::PRIMARY;
    }
    if n.flags.replica {
        f |= nflags::REPLICA;
    }
    if n.flags.pfail {
        f |= nflags::PFAIL;
    }
    if n.flags.fail {
        f |= nflags::FAIL;
    }
    f
}
