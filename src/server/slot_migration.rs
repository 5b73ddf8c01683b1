//! The source side of atomic slot migration (see `shoal_commands::slotmig` for the protocol):
//! one task runs the queued export jobs one after another.

use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

use bytes::BytesMut;
use shoal_cluster::NodeId;
use shoal_commands::slotmig::{ranges_text, slots_of};
use shoal_commands::{Shared, unix_ms};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// Records per DATA command, by size.
const CHUNK: usize = 256 * 1024;
/// DATA commands sent before their replies are read.
const WINDOW: usize = 8;
/// Changed keys few enough to send with writes paused.
const HANDOVER_KEYS: usize = 1000;
/// Catch-up passes before the hand-over is attempted anyway.
const MAX_PASSES: usize = 20;
/// How long a reply of the target may take.
const REPLY_TIMEOUT: Duration = Duration::from_secs(10);
/// Writes stay paused at most this long, whatever happens.
const PAUSE_MAX_MS: u64 = 10_000;

pub fn spawn(
    shared: Arc<Shared>,
    tls: Option<Arc<super::tls::Tls>>,
    cancel: CancellationToken,
    tracker: &TaskTracker,
) {
    let (tx, mut rx) = mpsc::unbounded_channel::<String>();
    *shared.migrations.runner.lock() = Some(tx);
    tracker.spawn(async move {
        loop {
            tokio::select! {
                _ = cancel.cancelled() => return,
                name = rx.recv() => match name {
                    Some(name) => run_job(&shared, tls.as_deref(), &name).await,
                    None => return,
                },
            }
        }
    });
}

struct Job<'a> {
    shared: &'a Shared,
    /// `tls-cluster`: the link to the target speaks TLS.
    tls: Option<&'a super::tls::Tls>,
    name: &'a str,
    ranges: Vec<(u16, u16)>,
    slots: Vec<u16>,
    target: NodeId,
    keys: Arc<std::sync::atomic::AtomicU64>,
    cancel: Arc<std::sync::atomic::AtomicBool>,
}

/// An error ending a job, and whether it was a cancellation.
struct Stop(String, bool);

impl<T: std::fmt::Display> From<T> for Stop {
    fn from(e: T) -> Self {
        Stop(e.to_string(), false)
    }
}

async fn run_job(shared: &Shared, tls: Option<&super::tls::Tls>, name: &str) {
    let Some(plan) = shared.migrations.export_plan(name) else {
        return;
    };
    if plan.cancel.load(Relaxed) {
        return;
    }
    let job = Job {
        shared,
        tls,
        name,
        slots: slots_of(&plan.ranges),
        ranges: plan.ranges,
        target: plan.target,
        keys: plan.keys,
        cancel: plan.cancel,
    };
    let started = std::time::Instant::now();
    let mut link = None;
    let res = job.export(&mut link).await;
    shared.store.untrack_slots(&job.slots);
    shared.pause.pause_for_migration(0);
    match res {
        Ok(()) => {
            tracing::info!(
                "Slot export {name} done: {} slots, {} keys sent, in {} ms",
                job.slots.len(),
                job.keys.load(Relaxed),
                started.elapsed().as_millis()
            );
            shared.migrations.update(name, "success", "", unix_ms());
        }
        Err(Stop(why, cancelled)) => {
            tracing::warn!("Slot export {name} stopped: {why}");
            if let Some(l) = link.as_mut() {
                let reason = if cancelled {
                    "cancelled"
                } else {
                    "source failed"
                };
                let _ = l
                    .call(&[b"SYNCSLOTS", b"ABORT", name.as_bytes(), reason.as_bytes()])
                    .await;
            }
            let state = if cancelled { "cancelled" } else { "failed" };
            shared.migrations.update(name, state, &why, unix_ms());
        }
    }
}

/// A connection to the target, with DATA pipelined.
struct Link {
    s: Box<dyn super::replication::Link>,
    buf: BytesMut,
    out: Vec<u8>,
    inflight: usize,
}

impl Link {
    async fn send(&mut self, args: &[&[u8]]) -> std::io::Result<()> {
        self.out.clear();
        shoal_commands::repl::encode(&mut self.out, args);
        self.s.write_all(&self.out).await?;
        self.s.flush().await?;
        self.inflight += 1;
        Ok(())
    }

    async fn reply(&mut self) -> Result<(), Stop> {
        let line = tokio::time::timeout(
            REPLY_TIMEOUT,
            super::replication::read_line(&mut self.s, &mut self.buf),
        )
        .await
        .map_err(|_| Stop::from("the target did not answer in time"))??;
        self.inflight -= 1;
        match line.strip_prefix('-') {
            Some(e) => Err(Stop(format!("the target refused: {e}"), false)),
            None => Ok(()),
        }
    }

    async fn call(&mut self, args: &[&[u8]]) -> Result<(), Stop> {
        self.drain().await?;
        self.send(args).await?;
        self.reply().await
    }

    async fn drain(&mut self) -> Result<(), Stop> {
        while self.inflight > 0 {
            self.reply().await?;
        }
        Ok(())
    }

    /// Sends one DATA command, keeping at most WINDOW unanswered.
    async fn data(&mut self, records: &[u8]) -> Result<(), Stop> {
        self.send(&[b"SYNCSLOTS", b"DATA", records]).await?;
        while self.inflight > WINDOW {
            self.reply().await?;
        }
        Ok(())
    }
}

impl Job<'_> {
    fn state(&self, state: &'static str) {
        self.shared
            .migrations
            .update(self.name, state, "", unix_ms());
    }

    fn check(&self) -> Result<(), Stop> {
        if self.cancel.load(Relaxed) {
            return Err(Stop(
                "cancelled by CLUSTER CANCELSLOTMIGRATIONS".into(),
                true,
            ));
        }
        let Some(cl) = &self.shared.cluster else {
            return Err("not in cluster mode".into());
        };
        let st = cl.state.read();
        if !st.me().flags.primary
            || self
                .slots
                .iter()
                .any(|&s| st.owner_id(s) != Some(st.myself))
        {
            return Err("this node no longer owns the slots".into());
        }
        Ok(())
    }

    async fn connect(&self) -> Result<Link, Stop> {
        let addr = {
            let cl = self.shared.cluster.as_ref().ok_or("not in cluster mode")?;
            let st = cl.state.read();
            let n = st
                .nodes
                .get(&self.target)
                .ok_or("the target left the cluster")?;
            (n.ip.clone(), format!("{}:{}", n.ip, n.port))
        };
        let (ip, addr) = addr;
        let s = tokio::time::timeout(Duration::from_secs(5), TcpStream::connect(&addr))
            .await
            .map_err(|_| Stop::from(format!("connecting to {addr} timed out")))?
            .map_err(|e| Stop::from(format!("connecting to {addr}: {e}")))?;
        s.set_nodelay(true)?;
        let s: Box<dyn super::replication::Link> = match self.tls {
            Some(tls) => Box::new(
                tokio::time::timeout(Duration::from_secs(5), super::tls::connect(tls, &ip, s))
                    .await
                    .map_err(|_| Stop::from(format!("TLS handshake with {addr} timed out")))?
                    .map_err(|e| Stop::from(format!("TLS handshake with {addr}: {e}")))?,
            ),
            None => Box::new(s),
        };
        let mut link = Link {
            s,
            buf: BytesMut::with_capacity(4096),
            out: Vec::with_capacity(CHUNK + 64),
            inflight: 0,
        };
        let (user, auth) = {
            let c = self.shared.config.read();
            (c.masteruser.clone(), c.masterauth.clone())
        };
        match (user, auth) {
            (Some(u), Some(pw)) => {
                link.call(&[b"AUTH", u.as_bytes(), pw.as_bytes()]).await?;
            }
            (None, Some(pw)) => {
                link.call(&[b"AUTH", pw.as_bytes()]).await?;
            }
            _ => {}
        }
        Ok(link)
    }

    /// Sends `keys` as they are now (values, or deletions), in DATA chunks.
    async fn send_keys(&self, link: &mut Link, keys: &[Box<[u8]>]) -> Result<(), Stop> {
        let mut records = Vec::with_capacity(CHUNK + 4096);
        let mut from = 0;
        while from < keys.len() {
            // Whole keys until the chunk is full (one key at a time: records vary in size).
            let mut to = from;
            while to < keys.len() && records.len() < CHUNK {
                self.shared
                    .store
                    .export_records(&keys[to..to + 1], unix_ms(), &mut records);
                to += 1;
            }
            link.data(&records).await?;
            self.keys.fetch_add((to - from) as u64, Relaxed);
            records.clear();
            from = to;
        }
        Ok(())
    }

    async fn export(&self, slot_link: &mut Option<Link>) -> Result<(), Stop> {
        self.check()?;
        self.state("connecting");
        let link = slot_link.insert(self.connect().await?);
        let me = self
            .shared
            .cluster
            .as_ref()
            .map(|cl| cl.state.read().myself)
            .ok_or("not in cluster mode")?;
        let ranges = ranges_text(&self.ranges);
        link.call(&[
            b"SYNCSLOTS",
            b"ESTABLISH",
            self.name.as_bytes(),
            me.as_str().as_bytes(),
            ranges.as_bytes(),
        ])
        .await?;
        // From here every change to the slots' keys is recorded, so a key copied and then
        // changed is sent again.
        self.state("snapshotting");
        self.shared.store.track_slots(&self.slots);
        for &slot in &self.slots {
            self.check()?;
            let keys = self
                .shared
                .store
                .keys_in_slot(0, slot, usize::MAX, unix_ms());
            self.send_keys(link, &keys).await?;
        }
        self.state("streaming");
        for _ in 0..MAX_PASSES {
            self.check()?;
            link.drain().await?;
            let (keys, flushed) = self.shared.store.take_changed(&self.slots);
            if flushed {
                return Err("the keyspace was flushed during the migration".into());
            }
            self.send_keys(link, &keys).await?;
            if keys.len() <= HANDOVER_KEYS {
                break;
            }
        }
        self.handover(link).await
    }

    /// Pauses writes, sends the last changes, hands the slots over and drops them here.
    async fn handover(&self, link: &mut Link) -> Result<(), Stop> {
        self.state("handover");
        let t0 = std::time::Instant::now();
        self.shared
            .pause
            .pause_for_migration(unix_ms() + PAUSE_MAX_MS);
        // No write that started before the pause is still running once this returns.
        self.shared.repl.fence_writes();
        self.check()?;
        let (keys, flushed) = self.shared.store.take_changed(&self.slots);
        if flushed {
            return Err("the keyspace was flushed during the migration".into());
        }
        self.send_keys(link, &keys).await?;
        link.drain().await?;
        let finished = link
            .call(&[b"SYNCSLOTS", b"FINISH", self.name.as_bytes()])
            .await;
        if let Err(Stop(why, _)) = finished {
            // Without the answer we cannot tell whether the target took the slots: keep
            // writes paused until gossip says who owns them.
            if !self.target_owns_within_timeout().await {
                return Err(Stop(format!("hand-over failed: {why}"), false));
            }
        }
        self.give_up_slots(t0, keys.len());
        Ok(())
    }

    /// Whether the cluster shows the target owning the slots within twice the node timeout.
    async fn target_owns_within_timeout(&self) -> bool {
        let Some(cl) = &self.shared.cluster else {
            return false;
        };
        let wait = (2 * self.shared.config.read().cluster.node_timeout).max(2000);
        let deadline = unix_ms() + wait.min(PAUSE_MAX_MS - 1000);
        while unix_ms() < deadline {
            if cl.state.read().owner_id(self.slots[0]) == Some(self.target) {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        false
    }

    /// The target owns the slots now: bind them to it here, resume writes (redirected now), and
    /// delete our copies (replicated to our replicas).
    fn give_up_slots(&self, paused_at: std::time::Instant, last_keys: usize) {
        let Some(cl) = &self.shared.cluster else {
            return;
        };
        let allow_migration = self.shared.config.read().cluster.allow_replica_migration;
        let mut became_replica = false;
        {
            let mut st = cl.state.write();
            for &s in &self.slots {
                st.assign(s, self.target);
            }
            // A primary left without slots follows the node that took its last one (as
            // SETSLOT NODE does).
            if st.me().slots.is_empty() && allow_migration {
                st.set_my_primary(self.target);
                became_replica = true;
            }
            st.update_state();
        }
        if let Err(e) = cl.save_with(false) {
            tracing::warn!("saving nodes.conf after a slot export: {e}");
        }
        // Commands on the slots are redirected from here: writes may resume while the copies
        // here are deleted.
        self.shared.pause.pause_for_migration(0);
        tracing::info!(
            "Slot export {}: writes paused {} ms for the hand-over ({last_keys} last keys)",
            self.name,
            paused_at.elapsed().as_millis(),
        );
        let n = shoal_commands::slotmig::purge_slots(self.shared, &self.slots, unix_ms());
        tracing::info!("Slot export {}: dropped {n} keys handed over", self.name);
        if became_replica {
            self.shared.sync_cluster_role();
        }
    }
}
