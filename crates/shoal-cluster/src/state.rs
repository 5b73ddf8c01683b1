//! The cluster as one node sees it: the nodes it knows, who owns each slot, the epochs; and the
//! texts and replies derived from it (CLUSTER NODES / INFO, nodes.conf).
//!
//! Pure data: no I/O, no clock (callers pass times in).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::slot::SLOTS;
use crate::slotset::SlotSet;

/// A node's 40-character lower-case hex name.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NodeId([u8; 40]);

impl NodeId {
    pub fn random() -> NodeId {
        let mut id = [0u8; 40];
        for c in id.iter_mut() {
            *c = b"0123456789abcdef"[rand::random_range(0..16)];
        }
        NodeId(id)
    }

    /// Parses a 40-hex-digit name (either case; stored lower-case).
    pub fn parse(s: &[u8]) -> Option<NodeId> {
        if s.len() != 40 || !s.iter().all(|c| c.is_ascii_hexdigit()) {
            return None;
        }
        let mut id = [0u8; 40];
        for (d, c) in id.iter_mut().zip(s) {
            *d = c.to_ascii_lowercase();
        }
        Some(NodeId(id))
    }

    pub fn as_str(&self) -> &str {
        // Only ASCII hex digits are ever stored.
        std::str::from_utf8(&self.0).unwrap_or("")
    }
}

impl std::fmt::Display for NodeId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::fmt::Debug for NodeId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.as_str()[..8])
    }
}

/// Node flags as CLUSTER NODES prints them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Flags {
    pub myself: bool,
    pub primary: bool,
    pub replica: bool,
    pub pfail: bool,
    pub fail: bool,
    pub handshake: bool,
    pub noaddr: bool,
    pub nofailover: bool,
}

impl Flags {
    pub fn text(&self) -> String {
        let mut v = Vec::new();
        if self.myself {
            v.push("myself");
        }
        if self.primary {
            v.push("master");
        }
        if self.replica {
            v.push("slave");
        }
        if self.pfail {
            v.push("fail?");
        }
        if self.fail {
            v.push("fail");
        }
        if self.handshake {
            v.push("handshake");
        }
        if self.noaddr {
            v.push("noaddr");
        }
        if self.nofailover {
            v.push("nofailover");
        }
        if v.is_empty() {
            "noflags".into()
        } else {
            v.join(",")
        }
    }

    fn parse(s: &str) -> Option<Flags> {
        let mut f = Flags::default();
        for w in s.split(',') {
            match w {
                "myself" => f.myself = true,
                "master" => f.primary = true,
                "slave" => f.replica = true,
                "fail?" => f.pfail = true,
                "fail" => f.fail = true,
                "handshake" => f.handshake = true,
                "noaddr" => f.noaddr = true,
                "nofailover" => f.nofailover = true,
                "noflags" => {}
                _ => return None,
            }
        }
        Some(f)
    }
}

#[derive(Clone, Debug)]
pub struct Node {
    pub id: NodeId,
    /// Announced IP; empty until known (a fresh node prints `:port@cport`).
    pub ip: String,
    pub port: u16,
    pub cport: u16,
    pub hostname: Option<String>,
    pub flags: Flags,
    pub primary_of: Option<NodeId>,
    pub ping_sent: u64,
    pub pong_recv: u64,
    pub config_epoch: u64,
    pub connected: bool,
    pub slots: SlotSet,
    /// Replication offset, as the node last said in a bus header.
    pub repl_offset: u64,
    /// A primary that has had replicas: if it is left without one, replica migration may give
    /// it one (Redis's MIGRATE_TO flag).
    pub migrate_to: bool,
    /// Primaries that reported this node failing (PFAIL/FAIL in their gossip), with when.
    pub fail_reports: BTreeMap<NodeId, u64>,
}

impl Node {
    pub fn new(id: NodeId, ip: String, port: u16, cport: u16) -> Node {
        Node {
            id,
            ip,
            port,
            cport,
            hostname: None,
            flags: Flags {
                primary: true,
                ..Flags::default()
            },
            primary_of: None,
            ping_sent: 0,
            pong_recv: 0,
            config_epoch: 0,
            connected: true,
            slots: SlotSet::new(),
            repl_offset: 0,
            migrate_to: false,
            fail_reports: BTreeMap::new(),
        }
    }

    /// `ip:port@cport[,hostname]`
    pub fn addr_text(&self) -> String {
        let mut s = format!("{}:{}@{}", self.ip, self.port, self.cport);
        if let Some(h) = &self.hostname {
            s.push(',');
            s.push_str(h);
        }
        s
    }
}

/// Why a slot claim or epoch change was refused, with Redis's reply text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateError(pub String);

#[derive(Clone, Debug)]
pub struct ClusterState {
    pub myself: NodeId,
    pub nodes: BTreeMap<NodeId, Node>,
    owners: Vec<Option<NodeId>>,
    pub current_epoch: u64,
    pub last_vote_epoch: u64,
    /// Slots being moved out (`SETSLOT MIGRATING`) and in (`SETSLOT IMPORTING`).
    pub migrating: BTreeMap<u16, NodeId>,
    pub importing: BTreeMap<u16, NodeId>,
    pub require_full_coverage: bool,
    pub allow_reads_when_down: bool,
    /// `cluster-allow-pubsubshard-when-down`: shard channel commands on a down cluster.
    pub allow_pubsubshard_when_down: bool,
    /// Cached result of the health check (`update_state`): read on every keyed command.
    ok: bool,
    /// What clients are told to connect to (`cluster-preferred-endpoint-type`).
    pub endpoint: Endpoint,
}

/// `cluster-preferred-endpoint-type`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Endpoint {
    Ip,
    Hostname,
    Unknown,
}

impl Endpoint {
    pub fn parse(s: &str) -> Endpoint {
        match s {
            "hostname" => Endpoint::Hostname,
            "unknown-endpoint" => Endpoint::Unknown,
            _ => Endpoint::Ip,
        }
    }
}

impl ClusterState {
    /// The address clients get for `n` (MOVED, CLUSTER SLOTS): its IP, its hostname, or `?` as
    /// `cluster-preferred-endpoint-type` says (a node with no hostname is `?` then).
    pub fn endpoint_of(&self, n: &Node) -> String {
        match self.endpoint {
            Endpoint::Ip => n.ip.clone(),
            Endpoint::Hostname => n.hostname.clone().unwrap_or_else(|| "?".into()),
            Endpoint::Unknown => "?".into(),
        }
    }

    /// A lone primary with no slots.
    pub fn new(myself: NodeId, ip: String, port: u16, cport: u16) -> ClusterState {
        let mut me = Node::new(myself, ip, port, cport);
        me.flags.myself = true;
        let mut nodes = BTreeMap::new();
        nodes.insert(myself, me);
        ClusterState {
            myself,
            nodes,
            owners: vec![None; SLOTS],
            current_epoch: 0,
            last_vote_epoch: 0,
            migrating: BTreeMap::new(),
            importing: BTreeMap::new(),
            require_full_coverage: true,
            allow_reads_when_down: false,
            allow_pubsubshard_when_down: true,
            ok: false,
            endpoint: Endpoint::Ip,
        }
    }

    pub fn me(&self) -> &Node {
        // `myself` is inserted at creation and never removed.
        &self.nodes[&self.myself]
    }

    pub fn me_mut(&mut self) -> &mut Node {
        let id = self.myself;
        self.nodes
            .entry(id)
            .or_insert_with(|| Node::new(id, String::new(), 0, 0))
    }

    pub fn owner(&self, slot: u16) -> Option<&Node> {
        self.owners
            .get(slot as usize)
            .copied()
            .flatten()
            .and_then(|id| self.nodes.get(&id))
    }

    pub fn owner_id(&self, slot: u16) -> Option<NodeId> {
        self.owners.get(slot as usize).copied().flatten()
    }

    /// Binds `slot` to `node` (which must be known).
    pub fn assign(&mut self, slot: u16, node: NodeId) {
        if let Some(prev) = self.owner_id(slot)
            && let Some(n) = self.nodes.get_mut(&prev)
        {
            n.slots.remove(slot);
        }
        if let Some(n) = self.nodes.get_mut(&node) {
            n.slots.insert(slot);
            self.owners[slot as usize] = Some(node);
        }
    }

    pub fn unassign(&mut self, slot: u16) {
        if let Some(prev) = self.owner_id(slot)
            && let Some(n) = self.nodes.get_mut(&prev)
        {
            n.slots.remove(slot);
        }
        self.owners[slot as usize] = None;
    }

    /// CLUSTER ADDSLOTS: all or nothing. `ERR Slot N is already busy` if any is taken.
    pub fn add_slots(&mut self, slots: &[u16]) -> Result<(), StateError> {
        for &s in slots {
            if self.owner_id(s).is_some() {
                return Err(StateError(format!("ERR Slot {s} is already busy")));
            }
        }
        let me = self.myself;
        for &s in slots {
            self.assign(s, me);
            self.importing.remove(&s);
        }
        self.update_state();
        Ok(())
    }

    /// CLUSTER DELSLOTS: all or nothing. `ERR Slot N is already unassigned`.
    pub fn del_slots(&mut self, slots: &[u16]) -> Result<(), StateError> {
        for &s in slots {
            if self.owner_id(s).is_none() {
                return Err(StateError(format!("ERR Slot {s} is already unassigned")));
            }
        }
        for &s in slots {
            self.unassign(s);
            self.migrating.remove(&s);
            self.importing.remove(&s);
        }
        self.update_state();
        Ok(())
    }

    /// Forgets another node and unbinds its slots (CLUSTER FORGET).
    pub fn remove_node(&mut self, id: NodeId) {
        if id == self.myself {
            return;
        }
        self.drop_slots_of(id);
        self.nodes.remove(&id);
        // Its replicas no longer name a primary this node knows.
        for n in self.nodes.values_mut() {
            if n.primary_of == Some(id) && !n.flags.myself {
                n.primary_of = None;
            }
        }
        self.update_state();
    }

    /// A node's epoch as CLUSTER NODES prints it: a replica shows its primary's configEpoch.
    pub fn node_epoch(&self, n: &Node) -> u64 {
        match n.primary_of.and_then(|p| self.nodes.get(&p)) {
            Some(p) if n.flags.replica => p.config_epoch,
            _ => n.config_epoch,
        }
    }

    /// The replicas of `id`.
    pub fn replicas_of(&self, id: NodeId) -> impl Iterator<Item = &Node> {
        self.nodes
            .values()
            .filter(move |n| n.flags.replica && n.primary_of == Some(id))
    }

    /// The primary whose data this node serves: itself, or the one it replicates.
    pub fn my_primary(&self) -> Option<&Node> {
        let me = self.me();
        if me.flags.primary {
            Some(me)
        } else {
            me.primary_of.and_then(|p| self.nodes.get(&p))
        }
    }

    /// Unbinds every slot of `id`.
    pub fn drop_slots_of(&mut self, id: NodeId) {
        let slots: Vec<u16> = self
            .nodes
            .get(&id)
            .map(|n| n.slots.iter().collect())
            .unwrap_or_default();
        for s in slots {
            self.unassign(s);
        }
    }

    /// Makes this node a replica of `primary` (CLUSTER REPLICATE, a primary that lost its slots,
    /// replica migration): its own slots and open migrations go.
    pub fn set_my_primary(&mut self, primary: NodeId) {
        let me = self.myself;
        if self.me().flags.primary {
            self.drop_slots_of(me);
            self.migrating.clear();
            self.importing.clear();
        }
        let m = self.me_mut();
        m.flags.primary = false;
        m.flags.replica = true;
        m.primary_of = Some(primary);
        if let Some(p) = self.nodes.get_mut(&primary) {
            p.migrate_to = true;
        }
        self.update_state();
    }

    /// Makes this node a primary (a won election, TAKEOVER), taking every slot of the primary
    /// it replicated.
    pub fn promote_me(&mut self) {
        let me = self.myself;
        let old = self.me().primary_of;
        {
            let m = self.me_mut();
            m.flags.primary = true;
            m.flags.replica = false;
            m.primary_of = None;
        }
        if let Some(old) = old {
            let slots: Vec<u16> = self
                .nodes
                .get(&old)
                .map(|n| n.slots.iter().collect())
                .unwrap_or_default();
            for s in slots {
                self.assign(s, me);
            }
        }
        self.update_state();
    }

    /// Records what a node says about its role: a primary that turns replica loses its slots.
    /// Returns whether anything changed.
    pub fn set_role(&mut self, id: NodeId, primary: bool, primary_of: Option<NodeId>) -> bool {
        let Some(n) = self.nodes.get(&id) else {
            return false;
        };
        let was_primary = n.flags.primary;
        if was_primary == primary && n.flags.replica != primary && n.primary_of == primary_of {
            return false;
        }
        if was_primary && !primary {
            self.drop_slots_of(id);
        }
        if let Some(n) = self.nodes.get_mut(&id) {
            n.flags.primary = primary;
            n.flags.replica = !primary;
            n.primary_of = if primary { None } else { primary_of };
        }
        if let Some(p) = primary_of.filter(|_| !primary)
            && let Some(pn) = self.nodes.get_mut(&p)
        {
            pn.migrate_to = true;
        }
        true
    }

    /// CLUSTER FLUSHSLOTS: drop every slot of this node.
    pub fn flush_slots(&mut self) {
        let mine: Vec<u16> = self.me().slots.iter().collect();
        for s in mine {
            self.unassign(s);
        }
        self.update_state();
    }

    pub fn slots_assigned(&self) -> usize {
        self.owners.iter().filter(|o| o.is_some()).count()
    }

    /// Slots whose owner is marked failing, and possibly failing.
    fn slots_failing(&self) -> (usize, usize) {
        // Per node (a node's slot set mirrors `owners`), not per slot: this runs on every
        // state change, and 16384 map lookups were most of a CLUSTER SETSLOT's cost.
        let (mut pfail, mut fail) = (0, 0);
        for n in self.nodes.values().filter(|n| !n.slots.is_empty()) {
            if n.flags.fail {
                fail += n.slots.len();
            } else if n.flags.pfail {
                pfail += n.slots.len();
            }
        }
        (pfail, fail)
    }

    /// The cluster state as last computed by `update_state` (cheap: read on every keyed
    /// command).
    #[inline]
    pub fn is_ok(&self) -> bool {
        self.ok
    }

    /// Recomputes the cluster state: `ok` when every slot is served by a reachable node (or
    /// coverage is not required). Call after any change of slots, flags or settings.
    pub fn update_state(&mut self) {
        let (_, fail) = self.slots_failing();
        let covered = !self.require_full_coverage || (self.slots_assigned() == SLOTS && fail == 0);
        // A node that cannot reach a majority of the slot-owning primaries is in a minority
        // partition: it stops serving rather than answer for a cluster it cannot see.
        let owners = self.size();
        let reachable = self
            .nodes
            .values()
            .filter(|n| n.flags.primary && !n.slots.is_empty() && !n.flags.pfail && !n.flags.fail)
            .count();
        self.ok = covered && (owners == 0 || reachable > owners / 2);
    }

    /// Primaries serving at least one slot.
    pub fn size(&self) -> usize {
        self.nodes
            .values()
            .filter(|n| n.flags.primary && !n.slots.is_empty())
            .count()
    }

    /// CLUSTER SET-CONFIG-EPOCH: only on a lone node whose epoch is still 0.
    pub fn set_config_epoch(&mut self, epoch: i64) -> Result<(), StateError> {
        if epoch < 0 {
            return Err(StateError(format!(
                "ERR Invalid config epoch specified: {epoch}"
            )));
        }
        if self.nodes.len() > 1 {
            return Err(StateError("ERR The user can assign a config epoch only when the node does not know any other node.".into()));
        }
        if self.me().config_epoch != 0 {
            return Err(StateError(
                "ERR Node config epoch is already non-zero".into(),
            ));
        }
        let epoch = epoch as u64;
        self.me_mut().config_epoch = epoch;
        self.current_epoch = self.current_epoch.max(epoch);
        Ok(())
    }

    /// CLUSTER BUMPEPOCH: a new config epoch unless ours is already the unique maximum.
    /// Returns (bumped, epoch).
    pub fn bump_epoch(&mut self) -> (bool, u64) {
        let mine = self.me().config_epoch;
        let max_other = self
            .nodes
            .values()
            .filter(|n| n.id != self.myself)
            .map(|n| n.config_epoch)
            .max()
            .unwrap_or(0);
        if mine == 0 || mine <= max_other || mine != self.current_epoch {
            self.current_epoch += 1;
            let e = self.current_epoch;
            self.me_mut().config_epoch = e;
            (true, e)
        } else {
            (false, mine)
        }
    }

    /// CLUSTER RESET: forget every other node and every slot; HARD also takes a new ID and zeroes
    /// the epochs.
    pub fn reset(&mut self, hard: bool) {
        let mut me = self.me().clone();
        me.slots = SlotSet::new();
        me.flags = Flags {
            myself: true,
            primary: true,
            ..Flags::default()
        };
        me.primary_of = None;
        if hard {
            me.id = NodeId::random();
            me.config_epoch = 0;
            self.current_epoch = 0;
            self.last_vote_epoch = 0;
        }
        self.myself = me.id;
        self.nodes.clear();
        self.nodes.insert(me.id, me);
        self.owners = vec![None; SLOTS];
        self.migrating.clear();
        self.importing.clear();
        self.update_state();
    }

    /// One CLUSTER NODES line, without its newline (CLUSTER REPLICAS).
    pub fn node_text(&self, n: &Node) -> String {
        let mut s = String::new();
        self.node_line(n, &mut s);
        s.pop();
        s
    }

    /// One CLUSTER NODES line (with its newline).
    fn node_line(&self, n: &Node, out: &mut String) {
        let primary = n
            .primary_of
            .map(|p| p.to_string())
            .unwrap_or_else(|| "-".into());
        let link = if n.connected || n.flags.myself {
            "connected"
        } else {
            "disconnected"
        };
        let _ = write!(
            out,
            "{} {} {} {} {} {} {} {}",
            n.id,
            n.addr_text(),
            n.flags.text(),
            primary,
            n.ping_sent,
            n.pong_recv,
            self.node_epoch(n),
            link
        );
        for (a, b) in n.slots.ranges() {
            if a == b {
                let _ = write!(out, " {a}");
            } else {
                let _ = write!(out, " {a}-{b}");
            }
        }
        if n.flags.myself {
            for (s, to) in &self.migrating {
                let _ = write!(out, " [{s}->-{to}]");
            }
            for (s, from) in &self.importing {
                let _ = write!(out, " [{s}-<-{from}]");
            }
        }
        out.push('\n');
    }

    /// CLUSTER NODES: every known node, `myself` first, each line ending in a newline.
    pub fn nodes_text(&self) -> String {
        let mut out = String::new();
        self.node_line(self.me(), &mut out);
        for n in self.nodes.values().filter(|n| n.id != self.myself) {
            self.node_line(n, &mut out);
        }
        out
    }

    /// CLUSTER INFO.
    /// CLUSTER INFO, with the bus's message counts by type (`sent`, `received`, indexed as
    /// `names`); as Redis, a type appears once it has been sent or received.
    pub fn info_text(&self, names: &[&str], sent: &[u64], received: &[u64]) -> String {
        let (pfail, fail) = self.slots_failing();
        let assigned = self.slots_assigned();
        let mut s = format!(
            "cluster_state:{}\r\ncluster_slots_assigned:{assigned}\r\ncluster_slots_ok:{}\r\ncluster_slots_pfail:{pfail}\r\ncluster_slots_fail:{fail}\r\ncluster_known_nodes:{}\r\ncluster_size:{}\r\ncluster_current_epoch:{}\r\ncluster_my_epoch:{}\r\n",
            if self.is_ok() { "ok" } else { "fail" },
            assigned - pfail - fail,
            self.nodes.len(),
            self.size(),
            self.current_epoch,
            self.me().config_epoch,
        );
        for (dir, counts) in [("sent", sent), ("received", received)] {
            for (name, n) in names.iter().zip(counts).filter(|(_, n)| **n > 0) {
                let _ = write!(s, "cluster_stats_messages_{name}_{dir}:{n}\r\n");
            }
            let _ = write!(
                s,
                "cluster_stats_messages_{dir}:{}\r\n",
                counts.iter().sum::<u64>()
            );
        }
        s.push_str("total_cluster_links_buffer_limit_exceeded:0\r\n");
        s
    }

    /// (ok, possibly failing, failing) slots, as CLUSTER INFO counts them.
    pub fn slot_health(&self) -> (usize, usize, usize) {
        let (pfail, fail) = self.slots_failing();
        (self.slots_assigned() - pfail - fail, pfail, fail)
    }

    /// nodes.conf: the CLUSTER NODES text plus the epochs line.
    pub fn to_conf(&self) -> String {
        let mut s = self.nodes_text();
        let _ = writeln!(
            s,
            "vars currentEpoch {} lastVoteEpoch {}",
            self.current_epoch, self.last_vote_epoch
        );
        s
    }

    /// Parses nodes.conf. Any malformed line is an error: a node must not silently take a new
    /// identity because its file is damaged.
    pub fn from_conf(text: &str) -> Result<ClusterState, String> {
        let mut myself: Option<NodeId> = None;
        let mut nodes: BTreeMap<NodeId, Node> = BTreeMap::new();
        let mut owners: Vec<Option<NodeId>> = vec![None; SLOTS];
        let mut migrating = BTreeMap::new();
        let mut importing = BTreeMap::new();
        let (mut current_epoch, mut last_vote_epoch) = (0, 0);
        for (ln, line) in text.lines().enumerate() {
            let bad = |what: &str| format!("nodes.conf line {}: {what}", ln + 1);
            let w: Vec<&str> = line.split_whitespace().collect();
            if w.is_empty() {
                continue;
            }
            if w[0] == "vars" {
                let mut i = 1;
                while i + 1 < w.len() {
                    let v: u64 = w[i + 1].parse().map_err(|_| bad("bad number in vars"))?;
                    match w[i] {
                        "currentEpoch" => current_epoch = v,
                        "lastVoteEpoch" => last_vote_epoch = v,
                        _ => {}
                    }
                    i += 2;
                }
                continue;
            }
            if w.len() < 8 {
                return Err(bad("too few fields"));
            }
            let id = NodeId::parse(w[0].as_bytes()).ok_or_else(|| bad("bad node id"))?;
            let (addr, hostname) = match w[1].split_once(',') {
                Some((a, h)) => (a, Some(h.to_string()).filter(|h| !h.is_empty())),
                None => (w[1], None),
            };
            let (hostport, cport) = addr.split_once('@').ok_or_else(|| bad("bad address"))?;
            let (ip, port) = hostport
                .rsplit_once(':')
                .ok_or_else(|| bad("bad address"))?;
            let port: u16 = port.parse().map_err(|_| bad("bad port"))?;
            let cport: u16 = cport.parse().map_err(|_| bad("bad bus port"))?;
            let flags = Flags::parse(w[2]).ok_or_else(|| bad("bad flags"))?;
            let primary_of = if w[3] == "-" {
                None
            } else {
                Some(NodeId::parse(w[3].as_bytes()).ok_or_else(|| bad("bad primary id"))?)
            };
            let num = |s: &str| s.parse::<u64>().map_err(|_| bad("bad number"));
            let mut node = Node {
                id,
                ip: ip.to_string(),
                port,
                cport,
                hostname,
                flags,
                primary_of,
                ping_sent: num(w[4])?,
                pong_recv: num(w[5])?,
                config_epoch: num(w[6])?,
                connected: w[7] == "connected",
                slots: SlotSet::new(),
                repl_offset: 0,
                migrate_to: false,
                fail_reports: BTreeMap::new(),
            };
            for tok in &w[8..] {
                if let Some(inner) = tok.strip_prefix('[').and_then(|t| t.strip_suffix(']')) {
                    let (slot, dir, other) = if let Some((s, o)) = inner.split_once("->-") {
                        (s, true, o)
                    } else if let Some((s, o)) = inner.split_once("-<-") {
                        (s, false, o)
                    } else {
                        return Err(bad("bad migration entry"));
                    };
                    let slot: u16 = slot
                        .parse()
                        .ok()
                        .filter(|s| (*s as usize) < SLOTS)
                        .ok_or_else(|| bad("bad slot"))?;
                    let other = NodeId::parse(other.as_bytes())
                        .ok_or_else(|| bad("bad node id in migration"))?;
                    if dir {
                        migrating.insert(slot, other);
                    } else {
                        importing.insert(slot, other);
                    }
                    continue;
                }
                let (a, b) = match tok.split_once('-') {
                    Some((a, b)) => (a, b),
                    None => (*tok, *tok),
                };
                let a: usize = a.parse().map_err(|_| bad("bad slot"))?;
                let b: usize = b.parse().map_err(|_| bad("bad slot"))?;
                if a > b || b >= SLOTS {
                    return Err(bad("bad slot range"));
                }
                for (s, owner) in owners.iter_mut().enumerate().take(b + 1).skip(a) {
                    node.slots.insert(s as u16);
                    *owner = Some(id);
                }
            }
            if flags.myself {
                if myself.is_some() {
                    return Err(bad("two nodes flagged myself"));
                }
                myself = Some(id);
            }
            nodes.insert(id, node);
        }
        let myself = myself.ok_or("nodes.conf has no line flagged myself")?;
        let mut st = ClusterState {
            myself,
            nodes,
            owners,
            current_epoch,
            last_vote_epoch,
            migrating,
            importing,
            require_full_coverage: true,
            allow_reads_when_down: false,
            allow_pubsubshard_when_down: true,
            ok: false,
            endpoint: Endpoint::Ip,
        };
        st.update_state();
        Ok(st)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lone() -> ClusterState {
        ClusterState::new(
            NodeId::parse(b"e7d1eecce10fd6bb5eb35b9f99a514335d9ba9ca").unwrap(),
            String::new(),
            30001,
            40001,
        )
    }

    #[test]
    fn fresh_node_text() {
        let st = lone();
        assert_eq!(
            st.nodes_text(),
            "e7d1eecce10fd6bb5eb35b9f99a514335d9ba9ca :30001@40001 myself,master - 0 0 0 connected\n"
        );
        assert!(
            st.info_text(&[], &[], &[])
                .starts_with("cluster_state:fail\r\ncluster_slots_assigned:0\r\n")
        );
    }

    #[test]
    fn slots_and_conf_round_trip() {
        let mut st = lone();
        st.add_slots(&(0..5461).collect::<Vec<_>>()).unwrap();
        st.add_slots(&[6000, 6002]).unwrap();
        assert_eq!(
            st.add_slots(&[7000, 6000]),
            Err(StateError("ERR Slot 6000 is already busy".into()))
        );
        assert!(st.owner(7000).is_none(), "all or nothing");
        assert_eq!(
            st.del_slots(&[9999]),
            Err(StateError("ERR Slot 9999 is already unassigned".into()))
        );
        st.set_config_epoch(3).unwrap();
        assert!(st.set_config_epoch(4).is_err());
        st.migrating.insert(
            6000,
            NodeId::parse(b"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa").unwrap(),
        );
        let text = st.nodes_text();
        assert!(
            text.ends_with(
                " connected 0-5460 6000 6002 [6000->-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa]\n"
            ),
            "{text}"
        );
        let back = ClusterState::from_conf(&st.to_conf()).unwrap();
        assert_eq!(back.nodes_text(), text);
        assert_eq!(back.current_epoch, 3);
        assert_eq!(back.owner_id(100), Some(st.myself));
        assert_eq!(back.slots_assigned(), 5463);
    }

    #[test]
    fn corrupt_conf_is_an_error() {
        for bad in [
            "garbage",
            "e7d1eecce10fd6bb5eb35b9f99a514335d9ba9ca :1@2 myself,master - 0 0 0 connected 99999",
            "vars currentEpoch x",
            "",
        ] {
            assert!(ClusterState::from_conf(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn epochs() {
        let mut st = lone();
        assert_eq!(st.bump_epoch(), (true, 1));
        assert_eq!(st.bump_epoch(), (false, 1));
        assert_eq!(
            st.set_config_epoch(-1),
            Err(StateError("ERR Invalid config epoch specified: -1".into()))
        );
        st.reset(true);
        assert_eq!((st.current_epoch, st.me().config_epoch), (0, 0));
    }
}
