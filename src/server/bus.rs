//! The cluster bus driver: moves the gossip state machine's messages over TCP.
//!
//! ```text
//!  bus task (one): owns the state machine; events in, effects out
//!     ├─ accept on the bus port ─> link task per inbound connection
//!     ├─ link task per outbound connection (one per peer address, made on first send)
//!     └─ tick every 100 ms
//!  link task: frames from the socket -> events; frames from its queue -> socket
//! ```
//!
//! The cluster state is locked only inside one event's handling, never across an `.await`.
//! A malformed frame closes its link and is counted; it is never acted on.
//!
//! PUBLISH / SPUBLISH travel as bus messages too (Redis's PUBLISH and PUBLISHSHARD types):
//! one frame per peer over its one outbound link, queued in the order the commands ran, so
//! every node delivers one publisher's messages in order. They only read the cluster state.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

use bytes::Bytes;
use shoal_cluster::bus::{Bus, Control, Dest, Effects, LinkId, Message};
use shoal_commands::ctx::LinkView;
use shoal_commands::{Shared, unix_ms};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

enum Event {
    Frame {
        link: LinkId,
        msg: Box<Message>,
        peer_ip: String,
        local_ip: String,
    },
    Closed {
        link: LinkId,
        malformed: bool,
    },
}

/// Frames queued for one link (shared: one PUBLISH frame goes to many links).
type Outbox = mpsc::UnboundedSender<Bytes>;

struct Driver {
    shared: Arc<Shared>,
    bus: Bus,
    events: mpsc::UnboundedSender<Event>,
    tracker: TaskTracker,
    links: HashMap<LinkId, Outbox>,
    /// What CLUSTER LINKS shows of each link.
    views: HashMap<LinkId, LinkView>,
    /// Outbound links by peer bus address.
    outbound: HashMap<(String, u16), LinkId>,
    next_link: LinkId,
    connect_timeout: Duration,
    /// `tls-cluster`: every link speaks TLS.
    tls: Option<Arc<super::tls::Tls>>,
}

/// Binds the bus listener for this node. Port 0 picks a free port.
pub fn bind(ip: std::net::IpAddr, port: u16) -> std::io::Result<TcpListener> {
    let addr = std::net::SocketAddr::new(ip, port);
    let sock = socket2::Socket::new(
        socket2::Domain::for_address(addr),
        socket2::Type::STREAM,
        None,
    )?;
    sock.set_reuse_address(true)?;
    sock.set_nonblocking(true)?;
    sock.bind(&addr.into())?;
    sock.listen(128)?;
    TcpListener::from_std(sock.into())
}

/// Zero-touch formation: meets every seed (resolving host names each time, so containers that
/// start late or move are found) once a second until the node knows as many nodes as it has
/// seeds; MEETs of known addresses are ignored by the state machine.
async fn seed_loop(
    shared: Arc<Shared>,
    seeds: Vec<String>,
    ctl: mpsc::UnboundedSender<Control>,
    cancel: CancellationToken,
) {
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    loop {
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = tick.tick() => {}
        }
        let known = shared
            .cluster
            .as_ref()
            .map(|c| c.state.read().nodes.len())
            .unwrap_or(0);
        if known > seeds.len() {
            continue;
        }
        for seed in &seeds {
            let (hp, bus) = match seed.split_once('@') {
                Some((hp, b)) => (hp, b.parse::<u16>().ok()),
                None => (seed.as_str(), None),
            };
            let Some(port) = hp.rsplit_once(':').and_then(|(_, p)| p.parse::<u16>().ok()) else {
                continue;
            };
            let Some(cport) = bus.or_else(|| port.checked_add(10000)) else {
                continue;
            };
            if let Ok(Ok(mut addrs)) =
                tokio::time::timeout(Duration::from_secs(2), tokio::net::lookup_host(hp)).await
                && let Some(a) = addrs.next()
            {
                let _ = ctl.send(Control::Meet {
                    ip: a.ip().to_string(),
                    port,
                    cport,
                });
            }
        }
    }
}

pub fn spawn(
    shared: Arc<Shared>,
    listener: TcpListener,
    tls: Option<Arc<super::tls::Tls>>,
    node_timeout: u64,
    cancel: CancellationToken,
    tracker: TaskTracker,
) {
    let (tx, rx) = mpsc::unbounded_channel();
    let (ctl_tx, ctl_rx) = mpsc::unbounded_channel();
    if let Some(cl) = &shared.cluster {
        *cl.control.lock() = Some(ctl_tx.clone());
    }
    let (seeds, bootstrap, bootstrap_replicas) = {
        let c = shared.config.read();
        let cl = &c.cluster;
        (
            cl.seeds.clone(),
            cl.bootstrap_primaries,
            cl.bootstrap_replicas,
        )
    };
    if !seeds.is_empty() {
        tracker.spawn(seed_loop(shared.clone(), seeds, ctl_tx, cancel.clone()));
    }
    let d = Driver {
        shared,
        bus: Bus::new(node_timeout)
            .with_bootstrap(bootstrap)
            .with_bootstrap_replicas(bootstrap_replicas),
        events: tx,
        tracker: tracker.clone(),
        links: HashMap::new(),
        views: HashMap::new(),
        outbound: HashMap::new(),
        next_link: 1,
        connect_timeout: Duration::from_millis((node_timeout / 2).clamp(100, 5000)),
        tls,
    };
    tracker.spawn(d.run(listener, rx, ctl_rx, cancel));
}

impl Driver {
    async fn run(
        mut self,
        listener: TcpListener,
        mut rx: mpsc::UnboundedReceiver<Event>,
        mut ctl: mpsc::UnboundedReceiver<Control>,
        cancel: CancellationToken,
    ) {
        let mut tick = tokio::time::interval(Duration::from_millis(100));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            let fx = tokio::select! {
                _ = cancel.cancelled() => break,
                _ = tick.tick() => self.with_state(|bus, st| bus.on_tick(st, unix_ms())),
                Some(ev) = rx.recv() => match ev {
                    Event::Frame { link, msg, peer_ip, local_ip } => {
                        if let Some(v) = self.views.get_mut(&link)
                            && v.node.is_none()
                        {
                            v.node = Some(msg.header.sender);
                            self.publish_links();
                        }
                        if msg.kind.is_publish() {
                            self.on_publish(*msg);
                            continue;
                        }
                        self.with_state(|bus, st| bus.on_message(st, *msg, link, &peer_ip, &local_ip, unix_ms()))
                    }
                    Event::Closed { link, malformed } => {
                        if malformed && let Some(cl) = &self.shared.cluster {
                            cl.bus_bad_frames.fetch_add(1, Relaxed);
                        }
                        self.links.remove(&link);
                        self.views.remove(&link);
                        self.publish_links();
                        let addr = self.outbound.iter().find(|(_, l)| **l == link).map(|(a, _)| a.clone());
                        self.outbound.retain(|_, l| *l != link);
                        match addr {
                            Some((ip, cport)) => self.with_state(|bus, st| {
                                let id = st.nodes.values().find(|n| n.ip == ip && n.cport == cport && n.id != st.myself).map(|n| n.id);
                                if let Some(id) = id {
                                    bus.link_down(st, id, unix_ms());
                                }
                                Effects::default()
                            }),
                            None => Effects::default(),
                        }
                    }
                },
                Some(c) = ctl.recv() => match c {
                    Control::Meet { ip, cport, .. } => self.with_state(|bus, st| bus.meet(st, &ip, cport, unix_ms())),
                    Control::Forget(id) => self.with_state(|bus, st| {
                        bus.forget(st, id, unix_ms());
                        Effects { save: true, ..Effects::default() }
                    }),
                    Control::Failover(how) => self.with_state(|bus, st| bus.manual_failover(st, how, unix_ms())),
                    Control::Announce => self.with_state(|bus, st| bus.announce(st, unix_ms())),
                    Control::Publish { shard, channel, message } => {
                        self.publish(shard, channel, message, &cancel);
                        continue;
                    }
                },
                r = listener.accept() => {
                    match r {
                        Ok((s, peer)) => {
                            let link = self.new_link();
                            let (otx, orx) = mpsc::unbounded_channel::<Bytes>();
                            self.links.insert(link, otx);
                            self.views.insert(link, LinkView { direction: "from", node: None, created_ms: unix_ms() });
                            self.publish_links();
                            let local = s.local_addr().map(|a| a.ip().to_string()).unwrap_or_default();
                            let _ = s.set_nodelay(true);
                            let (events, cancel, tls) = (self.events.clone(), cancel.clone(), self.tls.clone());
                            self.tracker.spawn(async move {
                                let peer_ip = peer.ip().to_string();
                                let Some(tls) = tls else {
                                    return run_link(s, link, peer_ip, local, events, orx, cancel).await;
                                };
                                let accepted = match tls.server() {
                                    Some(cfg) => tokio::time::timeout(
                                        Duration::from_secs(10),
                                        tokio_rustls::TlsAcceptor::from(cfg).accept(s),
                                    )
                                    .await
                                    .map_err(|_| std::io::Error::other("handshake timed out"))
                                    .and_then(|r| r),
                                    None => Err(std::io::Error::other("TLS is not configured")),
                                };
                                match accepted {
                                    Ok(ts) => run_link(ts, link, peer_ip, local, events, orx, cancel).await,
                                    Err(e) => {
                                        super::tls::HANDSHAKE_LOG.warn(format_args!(
                                            "Error accepting a cluster bus connection: {e} (addr={peer})"
                                        ));
                                        let _ = events.send(Event::Closed { link, malformed: false });
                                    }
                                }
                            });
                        }
                        Err(e) => {
                            tracing::warn!("cluster bus accept failed: {e}");
                            tokio::time::sleep(Duration::from_millis(50)).await;
                        }
                    }
                    Effects::default()
                }
            };
            self.apply(fx, &cancel);
        }
    }

    fn publish_links(&self) {
        if let Some(cl) = &self.shared.cluster {
            *cl.links.lock() = self.views.values().cloned().collect();
        }
    }

    fn new_link(&mut self) -> LinkId {
        let l = self.next_link;
        self.next_link += 1;
        l
    }

    /// Runs one step of the machine under the state's write lock (held for that step only).
    fn with_state(
        &mut self,
        f: impl FnOnce(&mut Bus, &mut shoal_cluster::ClusterState) -> Effects,
    ) -> Effects {
        self.feed_bus();
        let Some(cl) = &self.shared.cluster else {
            return Effects::default();
        };
        let fx = {
            let mut st = cl.state.write();
            f(&mut self.bus, &mut st)
        };
        self.copy_stats();
        fx
    }

    /// The machine's message counts, for CLUSTER INFO.
    fn copy_stats(&self) {
        let Some(cl) = &self.shared.cluster else {
            return;
        };
        for (a, n) in cl.bus_sent.iter().zip(self.bus.stats.sent) {
            a.store(n, Relaxed);
        }
        for (a, n) in cl.bus_received.iter().zip(self.bus.stats.received) {
            a.store(n, Relaxed);
        }
    }

    /// PUBLISH / SPUBLISH ran here: one frame, queued on the link of every node it is for.
    fn publish(
        &mut self,
        shard: bool,
        channel: Vec<u8>,
        message: Vec<u8>,
        cancel: &CancellationToken,
    ) {
        let Some(cl) = &self.shared.cluster else {
            return;
        };
        let out = {
            let st = cl.state.read();
            self.bus.publish(&st, shard, channel, message)
        };
        self.copy_stats();
        if let Some((to, msg)) = out {
            let frame = Bytes::from(msg.encode());
            for id in to {
                self.send_frame(Dest::Node(id), frame.clone(), cancel);
            }
        }
    }

    /// Another node's PUBLISH / PUBLISHSHARD: to this node's subscribers.
    fn on_publish(&mut self, msg: Message) {
        let Some(cl) = &self.shared.cluster else {
            return;
        };
        let d = {
            let st = cl.state.read();
            self.bus.on_publish(&st, msg)
        };
        self.copy_stats();
        if let Some(d) = d {
            self.deliver(d);
        }
    }

    fn deliver(&self, d: shoal_cluster::bus::Delivery) {
        let ps = &self.shared.pubsub;
        if d.shard {
            ps.spublish(&d.channel, &d.message, None);
        } else {
            ps.publish(&d.channel, &d.message, None);
        }
    }

    /// What the state machine needs to know of this node before each step: settings (which
    /// CONFIG SET may change) and the replication offset and link.
    fn feed_bus(&mut self) {
        use shoal_commands::repl::LinkState;
        {
            let c = self.shared.config.read();
            self.bus.node_timeout = c.cluster.node_timeout.max(1);
            let fo = &mut self.bus.fo;
            fo.validity_factor = c.cluster.replica_validity_factor;
            fo.migration_barrier = c.cluster.migration_barrier;
            fo.allow_migration = c.cluster.allow_replica_migration;
            fo.no_failover = c.cluster.replica_no_failover;
        }
        // A replica that will not stand says so in its flags (others skip it when ranking).
        if let Some(cl) = &self.shared.cluster {
            let no_failover = self.bus.fo.no_failover;
            let want = |st: &shoal_cluster::ClusterState| no_failover && st.me().flags.replica;
            let stale = {
                let st = cl.state.read();
                st.me().flags.nofailover != want(&st)
            };
            if stale {
                let mut st = cl.state.write();
                let w = want(&st);
                st.me_mut().flags.nofailover = w;
            }
        }
        let repl = &self.shared.repl;
        let fo = &mut self.bus.fo;
        fo.offset = repl.offset.load(Relaxed);
        fo.link_down_ms =
            if !repl.replica.load(Relaxed) || *repl.link.lock() == LinkState::Connected {
                0
            } else {
                match repl.link_seen_ms.load(Relaxed) {
                    0 => u64::MAX / 4,
                    seen => unix_ms().saturating_sub(seen),
                }
            };
    }

    fn apply(&mut self, fx: Effects, cancel: &CancellationToken) {
        if (fx.save || fx.save_lazy)
            && let Some(cl) = &self.shared.cluster
            && let Err(e) = cl.save_with(fx.save)
        {
            tracing::error!("cannot save the cluster config: {e}");
        }
        if let Some(until) = fx.pause_writes {
            self.shared.pause.pause_for_failover(until);
            if until != 0 {
                // Writes already past the pause check finish before our offset is final: a
                // write runs under the replication lock while a replica is attached.
                drop(self.shared.repl.write_lock.lock());
            }
        }
        if !fx.purge_slots.is_empty() {
            let gone =
                shoal_commands::slotmig::purge_slots(&self.shared, &fx.purge_slots, unix_ms());
            if gone > 0 {
                tracing::warn!("deleted {gone} keys of slots this node no longer serves");
            }
        }
        self.shared.sync_cluster_role();
        // Slots may have left this node (or its primary): their shard channels' subscribers
        // are told (`sunsubscribe`). Any such change is saved, so the save flags say when to look.
        if fx.save || fx.save_lazy || !fx.purge_slots.is_empty() {
            self.shared.drop_moved_shard_channels();
        }
        for d in fx.deliver {
            self.deliver(d);
        }
        for (dest, msg) in fx.out {
            self.send_frame(dest, Bytes::from(msg.encode()), cancel);
        }
    }

    /// Queues `frame` on the link for `dest` (connecting first if needed).
    fn send_frame(&mut self, dest: Dest, frame: Bytes, cancel: &CancellationToken) {
        {
            let link = match dest {
                Dest::Link(l) => Some(l),
                Dest::Node(id) => {
                    let addr = self.shared.cluster.as_ref().and_then(|cl| {
                        cl.state
                            .read()
                            .nodes
                            .get(&id)
                            .map(|n| (n.ip.clone(), n.cport))
                    });
                    addr.filter(|(ip, _)| !ip.is_empty())
                        .map(|(ip, cport)| self.outbound_link(ip, cport, cancel))
                }
                Dest::Addr { ip, cport } => Some(self.outbound_link(ip, cport, cancel)),
            };
            if let Some(l) = link
                && let Some(tx) = self.links.get(&l)
                && tx.send(frame).is_err()
            {
                self.links.remove(&l);
                self.outbound.retain(|_, x| *x != l);
            }
        }
    }

    /// The outbound link to `ip:cport`, connecting in the background if there is none.
    fn outbound_link(&mut self, ip: String, cport: u16, cancel: &CancellationToken) -> LinkId {
        if let Some(&l) = self.outbound.get(&(ip.clone(), cport))
            && self.links.contains_key(&l)
        {
            return l;
        }
        let link = self.new_link();
        let (otx, orx) = mpsc::unbounded_channel();
        self.links.insert(link, otx);
        let node = self.shared.cluster.as_ref().and_then(|cl| {
            let st = cl.state.read();
            st.nodes
                .values()
                .find(|n| n.ip == ip && n.cport == cport && n.id != st.myself)
                .map(|n| n.id)
        });
        self.views.insert(
            link,
            LinkView {
                direction: "to",
                node,
                created_ms: unix_ms(),
            },
        );
        self.publish_links();
        self.outbound.insert((ip.clone(), cport), link);
        if let Some(cl) = &self.shared.cluster {
            cl.bus_connects.fetch_add(1, Relaxed);
        }
        let events = self.events.clone();
        let timeout = self.connect_timeout;
        let cancel = cancel.clone();
        let tls = self.tls.clone();
        self.tracker.spawn(async move {
            let addr = format!(
                "{}:{cport}",
                if ip.contains(':') {
                    format!("[{ip}]")
                } else {
                    ip.clone()
                }
            );
            match tokio::time::timeout(timeout, TcpStream::connect(&addr)).await {
                Ok(Ok(s)) => {
                    let _ = s.set_nodelay(true);
                    let local = s
                        .local_addr()
                        .map(|a| a.ip().to_string())
                        .unwrap_or_default();
                    let Some(tls) = tls else {
                        return run_link(s, link, ip, local, events, orx, cancel).await;
                    };
                    match tokio::time::timeout(timeout, super::tls::connect(&tls, &ip, s)).await {
                        Ok(Ok(ts)) => run_link(ts, link, ip, local, events, orx, cancel).await,
                        r => {
                            let e = match r {
                                Ok(Err(e)) => e.to_string(),
                                _ => "handshake timed out".into(),
                            };
                            super::tls::HANDSHAKE_LOG
                                .warn(format_args!("cluster bus: TLS to {addr} failed: {e}"));
                            let _ = events.send(Event::Closed {
                                link,
                                malformed: false,
                            });
                        }
                    }
                }
                _ => {
                    tracing::debug!("cluster bus: cannot reach {addr}");
                    let _ = events.send(Event::Closed {
                        link,
                        malformed: false,
                    });
                }
            }
        });
        link
    }
}

/// One bus connection: frames in become events, queued frames go out.
async fn run_link<S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Send + 'static>(
    stream: S,
    link: LinkId,
    peer_ip: String,
    local_ip: String,
    events: mpsc::UnboundedSender<Event>,
    mut out: mpsc::UnboundedReceiver<Bytes>,
    cancel: CancellationToken,
) {
    let (mut rd, mut wr) = tokio::io::split(stream);
    let mut buf: Vec<u8> = Vec::with_capacity(8192);
    let mut chunk = vec![0u8; 16384];
    let mut malformed = false;
    loop {
        tokio::select! {
            _ = cancel.cancelled() => break,
            f = out.recv() => match f {
                Some(frame) => {
                    if wr.write_all(&frame).await.is_err() || wr.flush().await.is_err() {
                        break;
                    }
                }
                None => break,
            },
            r = rd.read(&mut chunk) => {
                let n = match r {
                    Ok(0) | Err(_) => break,
                    Ok(n) => n,
                };
                buf.extend_from_slice(&chunk[..n]);
                let mut bad = false;
                loop {
                    match Message::decode(&buf) {
                        Ok(Some((msg, used))) => {
                            buf.drain(..used);
                            let ev = Event::Frame { link, msg: Box::new(msg), peer_ip: peer_ip.clone(), local_ip: local_ip.clone() };
                            if events.send(ev).is_err() {
                                bad = true;
                                break;
                            }
                        }
                        Ok(None) => break,
                        Err(e) => {
                            tracing::warn!("cluster bus: dropping link from {peer_ip}: {e}");
                            malformed = true;
                            bad = true;
                            break;
                        }
                    }
                }
                if bad {
                    break;
                }
            }
        }
    }
    let _ = events.send(Event::Closed { link, malformed });
}
