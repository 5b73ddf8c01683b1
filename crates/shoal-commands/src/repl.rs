//! Replication state shared by the command layer and the server's replication tasks.
//!
//! A primary numbers the bytes of its replication stream (`offset`) and keeps the last
//! `repl-backlog-size` of them (`Backlog`) so a replica that reconnects can continue where it
//! stopped. While a replica is attached (`active`), every write runs under `write_lock` and
//! appends its command, rewritten to be deterministic (see `propagate`), to the stream before the
//! lock is released: the stream order is the order in which writes changed the keyspace.
//!
//! A replica (`REPLICAOF host port`) has a link task (in the server) that syncs from its primary
//! and applies the stream as the "master client"; normal clients may only read.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};

use parking_lot::Mutex;
use tokio::sync::Notify;

/// Where this node gets its data from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Role {
    Primary,
    Replica { host: String, port: u16 },
}

/// The replica link's state, as ROLE and INFO print it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LinkState {
    /// Not connected (waiting to retry).
    Connect,
    /// Connecting or in the handshake.
    Connecting,
    /// Receiving the full copy.
    Sync,
    /// Streaming.
    Connected,
}

impl LinkState {
    pub fn name(self) -> &'static str {
        match self {
            LinkState::Connect => "connect",
            LinkState::Connecting => "connecting",
            LinkState::Sync => "sync",
            LinkState::Connected => "connected",
        }
    }
}

/// The last `size` bytes of the replication stream.
pub struct Backlog {
    buf: Vec<u8>,
    size: usize,
    /// Stream offset of `buf[start]`… the ring holds offsets `first..end`.
    first: u64,
    end: u64,
    /// Ring position of `first`.
    head: usize,
}

impl Backlog {
    pub fn new(size: usize, end: u64) -> Backlog {
        Backlog {
            buf: Vec::new(),
            size: size.max(16 * 1024),
            first: end,
            end,
            head: 0,
        }
    }

    /// Stream offset just past the last byte.
    pub fn end(&self) -> u64 {
        self.end
    }

    /// Offset of the oldest byte kept.
    pub fn first(&self) -> u64 {
        self.first
    }

    pub fn histlen(&self) -> u64 {
        self.end - self.first
    }

    pub fn size(&self) -> usize {
        self.size
    }

    /// Appends bytes, dropping the oldest past `size`.
    pub fn append(&mut self, data: &[u8]) {
        for chunk in data.chunks(self.size) {
            let len = self.buf.len();
            if len < self.size {
                // Still filling up.
                let room = self.size - len;
                let n = chunk.len().min(room);
                self.buf.extend_from_slice(&chunk[..n]);
                self.end += n as u64;
                if n < chunk.len() {
                    self.overwrite(&chunk[n..]);
                }
            } else {
                self.overwrite(chunk);
            }
        }
    }

    fn overwrite(&mut self, data: &[u8]) {
        // The ring is full: the oldest bytes, at `head`, give way.
        for &b in data {
            self.buf[self.head] = b;
            self.head = (self.head + 1) % self.size;
        }
        self.end += data.len() as u64;
        self.first = self.end - self.size as u64;
    }

    /// The bytes from `from` to the end, if the backlog still holds `from`.
    pub fn read_from(&self, from: u64, max: usize) -> Option<Vec<u8>> {
        if from < self.first || from > self.end {
            return None;
        }
        let n = ((self.end - from) as usize).min(max);
        let skip = (from - self.first) as usize;
        let mut out = Vec::with_capacity(n);
        let len = self.buf.len();
        for i in 0..n {
            out.push(self.buf[(self.head + skip + i) % len.max(1)]);
        }
        Some(out)
    }
}

/// One replica attached to this primary.
#[derive(Clone, Debug)]
pub struct ReplicaView {
    pub id: u64,
    pub ip: String,
    /// The port it listens on for clients (REPLCONF listening-port).
    pub port: u16,
    /// "wait_bgsave" while it receives the full copy, then "online".
    pub state: &'static str,
    /// The stream offset it acknowledged last (REPLCONF ACK).
    pub ack: u64,
    /// Unix ms of its last ACK.
    pub ack_at: u64,
}

pub struct Replication {
    /// Mirrors `role` for the request path (READONLY checks) without a lock.
    pub replica: AtomicBool,
    /// `min-replicas-to-write` and `min-replicas-max-lag` (seconds), for the request path.
    pub min_to_write: AtomicU64,
    pub min_max_lag: AtomicU64,
    pub role: Mutex<Role>,
    /// This node's replication ID (and the one it follows, on a replica).
    pub replid: Mutex<String>,
    /// The ID this node's history was known by before (the primary it replicated, until it was
    /// promoted), and the offset up to which that history is also this node's (-1 = none):
    /// replicas of the old primary continue from here without a full sync (PSYNC2).
    pub replid2: Mutex<String>,
    pub second_offset: std::sync::atomic::AtomicI64,
    /// Stream offset: produced (primary) or applied (replica).
    pub offset: AtomicU64,
    /// A replica is attached: writes propagate.
    pub active: AtomicBool,
    pub backlog: Mutex<Option<Backlog>>,
    /// Held by a write and its propagation while `active`; taken before any shard lock.
    pub write_lock: Mutex<()>,
    /// Replica senders wait here for new stream bytes.
    pub fed: Notify,
    /// WAIT waits here for acknowledgements.
    pub acked: Notify,
    pub replicas: Mutex<Vec<ReplicaView>>,
    /// Replica side: the link's state and when it last heard from the primary.
    pub link: Mutex<LinkState>,
    pub link_seen_ms: AtomicU64,
    /// Bumped whenever the role changes: a link task whose generation is old stops.
    pub generation: AtomicU64,
    /// Wakes the server's replication task after REPLICAOF.
    pub changed: Notify,
    /// The database the stream last SELECTed.
    pub stream_db: Mutex<Option<usize>>,
    /// One full sync (snapshot) at a time.
    pub full_sync: tokio::sync::Mutex<()>,
    /// Replica side: this node holds its primary's data as of `offset` (a reconnect may
    /// continue instead of syncing anew).
    pub synced: AtomicBool,
    /// Primary side: unix ms of the last PING fed to the stream (a redis-server replica's
    /// keepalive, every `repl-ping-replica-period`).
    pub pinged_ms: AtomicU64,
    /// Primary side: full syncs served, partial syncs accepted and refused (INFO stats).
    pub sync_full: AtomicU64,
    pub sync_partial_ok: AtomicU64,
    pub sync_partial_err: AtomicU64,
}

fn new_replid() -> String {
    (0..40)
        .map(|_| char::from(b"0123456789abcdef"[rand::random_range(0..16)]))
        .collect()
}

impl Default for Replication {
    fn default() -> Self {
        Replication {
            replica: AtomicBool::new(false),
            role: Mutex::new(Role::Primary),
            replid: Mutex::new(new_replid()),
            replid2: Mutex::new("0".repeat(40)),
            second_offset: std::sync::atomic::AtomicI64::new(-1),
            offset: AtomicU64::new(0),
            min_to_write: AtomicU64::new(0),
            min_max_lag: AtomicU64::new(10),
            active: AtomicBool::new(false),
            backlog: Mutex::new(None),
            write_lock: Mutex::new(()),
            fed: Notify::new(),
            acked: Notify::new(),
            replicas: Mutex::new(Vec::new()),
            link: Mutex::new(LinkState::Connect),
            link_seen_ms: AtomicU64::new(0),
            generation: AtomicU64::new(0),
            changed: Notify::new(),
            stream_db: Mutex::new(None),
            full_sync: tokio::sync::Mutex::new(()),
            synced: AtomicBool::new(false),
            pinged_ms: AtomicU64::new(0),
            sync_full: AtomicU64::new(0),
            sync_partial_ok: AtomicU64::new(0),
            sync_partial_err: AtomicU64::new(0),
        }
    }
}

impl Replication {
    pub fn is_replica(&self) -> bool {
        matches!(*self.role.lock(), Role::Replica { .. })
    }

    /// Becomes a replica of `host:port` (true if that changed anything). The data stays as of
    /// (replid, offset): a primary's own history, or the one a replica had synced; the new
    /// primary continues from there when its history includes it, else sends a full copy.
    pub fn follow(&self, host: String, port: u16) -> bool {
        let mut r = self.role.lock();
        let new = Role::Replica { host, port };
        if *r == new {
            return false;
        }
        let was_primary = *r == Role::Primary;
        *r = new;
        drop(r);
        self.replica.store(true, Relaxed);
        if was_primary {
            self.synced.store(true, Relaxed);
        }
        *self.link.lock() = LinkState::Connect;
        self.generation.fetch_add(1, Relaxed);
        self.changed.notify_waiters();
        true
    }

    /// Becomes a primary (REPLICAOF NO ONE): a new replication ID, the same offset, so replicas
    /// of the old primary could continue from here.
    pub fn promote(&self) {
        let mut r = self.role.lock();
        if *r == Role::Primary {
            return;
        }
        *r = Role::Primary;
        drop(r);
        self.replica.store(false, Relaxed);
        self.shift_replid(new_replid());
        // A former replica has a backlog of its old primary's stream: every write from now on
        // must go to it too, so that siblings continuing from it miss nothing.
        let has_backlog = self.backlog.lock().is_some();
        if has_backlog {
            drop(self.quiesce());
        }
        self.generation.fetch_add(1, Relaxed);
        self.changed.notify_waiters();
    }

    /// Takes `id` as the replication ID, keeping the old one as the second (valid up to the
    /// current offset).
    pub fn shift_replid(&self, id: String) {
        let mut cur = self.replid.lock();
        if *cur == id {
            return;
        }
        *self.replid2.lock() = std::mem::replace(&mut *cur, id);
        self.second_offset
            .store(self.offset.load(Relaxed) as i64, Relaxed);
    }

    /// Whether a replica that holds `replid`'s history up to `offset` can continue from this
    /// node's stream (the backlog must still hold `offset`, checked apart).
    pub fn history_includes(&self, replid: &str, offset: i64) -> bool {
        offset >= 0
            && (*self.replid.lock() == replid
                || (*self.replid2.lock() == replid && offset <= self.second_offset.load(Relaxed)))
    }

    /// Replica side: `bytes` of the primary's stream were applied; they go to this node's own
    /// backlog too, so after a promotion its siblings can continue from it.
    pub fn applied(&self, bytes: &[u8]) {
        match self.backlog.lock().as_mut() {
            Some(b) => {
                b.append(bytes);
                self.offset.store(b.end(), Relaxed);
            }
            None => {
                self.offset.fetch_add(bytes.len() as u64, Relaxed);
            }
        }
    }

    /// Makes sure a backlog exists (the first replica attaches).
    pub fn ensure_backlog(&self, size: usize) {
        let mut b = self.backlog.lock();
        if b.is_none() {
            *b = Some(Backlog::new(size, self.offset.load(Relaxed)));
        }
    }

    /// Appends stream bytes (the caller holds `write_lock`) and wakes the senders.
    pub fn feed(&self, bytes: &[u8]) {
        if bytes.is_empty() {
            return;
        }
        if let Some(b) = self.backlog.lock().as_mut() {
            b.append(bytes);
            self.offset.store(b.end(), Relaxed);
        }
        self.fed.notify_waiters();
    }

    /// Online replicas whose last acknowledgement is at most `max_lag_s` seconds old.
    pub fn good_replicas(&self, max_lag_s: u64) -> usize {
        let now = crate::ctx::unix_ms();
        self.replicas
            .lock()
            .iter()
            .filter(|r| r.state == "online" && now.saturating_sub(r.ack_at) / 1000 <= max_lag_s)
            .count()
    }

    /// `min-replicas-to-write` is set (with a lag), this node is a primary and fewer good
    /// replicas than that are attached: writes get NOREPLICAS (Redis's
    /// checkGoodReplicasStatus). One atomic load when the setting is off.
    pub fn lacks_good_replicas(&self) -> bool {
        let want = self.min_to_write.load(Relaxed);
        if want == 0 {
            return false;
        }
        let lag = self.min_max_lag.load(Relaxed);
        lag != 0 && !self.replica.load(Relaxed) && (self.good_replicas(lag) as u64) < want
    }

    /// Acknowledgements at or past `offset`.
    pub fn acked_at_least(&self, offset: u64) -> usize {
        self.replicas
            .lock()
            .iter()
            .filter(|r| r.state == "online" && r.ack >= offset)
            .count()
    }
}

// ---- writes and the stream ----
//
// While no replica is attached, writes run side by side as usual. Attaching the first replica
// must find a moment when no write is half done, so that the snapshot and the stream agree: each
// thread raises a flag of its own while it runs a write without the write lock, and the attach
// (1) sets `active`, (2) waits for every raised flag to drop, (3) takes the write lock. A write
// raises its flag, then reads `active` (both sequentially consistent, so one of them sees the
// other): if set, it drops the flag and takes the lock instead.

static FLAGS: Mutex<Vec<&'static AtomicBool>> = Mutex::new(Vec::new());

thread_local! {
    static FLAG: std::cell::Cell<Option<&'static AtomicBool>> = const { std::cell::Cell::new(None) };
}

/// This thread's flag, made on first use (one a thread, for the life of the process: threads
/// are few and long-lived).
#[inline]
fn thread_flag() -> &'static AtomicBool {
    FLAG.with(|c| match c.get() {
        Some(f) => f,
        None => {
            let f: &'static AtomicBool = Box::leak(Box::new(AtomicBool::new(false)));
            FLAGS.lock().push(f);
            c.set(Some(f));
            f
        }
    })
}

/// Held by a write for its whole run (see above).
pub enum WriteGuard<'a> {
    Unlocked(&'static AtomicBool),
    Locked(parking_lot::MutexGuard<'a, ()>),
}

impl WriteGuard<'_> {
    /// The write runs under the lock (a replica is attached).
    pub fn locked(&self) -> bool {
        matches!(self, WriteGuard::Locked(_))
    }
}

impl Drop for WriteGuard<'_> {
    fn drop(&mut self) {
        if let WriteGuard::Unlocked(f) = self {
            f.store(false, std::sync::atomic::Ordering::Release);
        }
    }
}

impl Replication {
    /// Enters a write: unlocked while nothing replicates, else under the write lock.
    #[inline]
    pub fn enter_write(&self) -> WriteGuard<'_> {
        use std::sync::atomic::Ordering::SeqCst;
        let flag = thread_flag();
        flag.store(true, SeqCst);
        if self.active.load(SeqCst) {
            flag.store(false, std::sync::atomic::Ordering::Release);
            WriteGuard::Locked(self.write_lock.lock())
        } else {
            WriteGuard::Unlocked(flag)
        }
    }

    /// Turns propagation on and returns the write lock once no write is in flight.
    pub fn quiesce(&self) -> parking_lot::MutexGuard<'_, ()> {
        use std::sync::atomic::Ordering::SeqCst;
        self.active.store(true, SeqCst);
        let flags: Vec<&'static AtomicBool> = FLAGS.lock().clone();
        for f in flags {
            while f.load(SeqCst) {
                std::thread::yield_now();
            }
        }
        self.write_lock.lock()
    }

    /// Feeds a PING to the stream when `period_ms` passed since the last one (a redis-server
    /// replica drops a link it hears nothing on for `repl-timeout`; every replica counts it).
    pub fn ping_if_due(&self, period_ms: u64) {
        let now = crate::ctx::unix_ms();
        let last = self.pinged_ms.load(Relaxed);
        if now.saturating_sub(last) < period_ms
            || self
                .pinged_ms
                .compare_exchange(last, now, Relaxed, Relaxed)
                .is_err()
        {
            return;
        }
        let _writes = self.write_lock.lock();
        let mut out = Vec::new();
        encode(&mut out, &[b"PING"]);
        self.feed(&out);
    }

    /// Runs `f` at a moment no write is in flight (writes wait meanwhile), without leaving
    /// propagation on when nothing replicates: a snapshot for an RDB file starts here. Call
    /// holding `full_sync` (so no full sync turns propagation on meanwhile).
    pub fn pause_writes<R>(&self, f: impl FnOnce() -> R) -> R {
        use std::sync::atomic::Ordering::SeqCst;
        let was = self.active.load(SeqCst);
        let guard = self.quiesce();
        let r = f();
        if !was && self.backlog.lock().is_none() {
            self.active.store(false, SeqCst);
        }
        drop(guard);
        r
    }

    /// Waits until no write that began before this call is still running: every unlocked
    /// write's flag is seen down once, and the write lock is taken once. A write that starts
    /// afterwards sees whatever the caller set before (the pause check follows the flag).
    pub fn fence_writes(&self) {
        use std::sync::atomic::Ordering::SeqCst;
        let flags: Vec<&'static AtomicBool> = FLAGS.lock().clone();
        for f in flags {
            while f.load(SeqCst) {
                std::thread::yield_now();
            }
        }
        drop(self.write_lock.lock());
    }

    /// Appends `cmd` in database `db` to `out`, with a SELECT first when the stream is in
    /// another database (call under the write lock).
    pub fn encode_in_db(&self, out: &mut Vec<u8>, db: usize, cmd: &[&[u8]]) {
        let mut cur = self.stream_db.lock();
        if *cur != Some(db) {
            encode(out, &[b"SELECT", itoa::Buffer::new().format(db).as_bytes()]);
            *cur = Some(db);
        }
        encode(out, cmd);
    }
}

/// A command from our primary answered with an error (`reply` starts with `-`): Redis's
/// afterErrorReply for the master client. The data may have diverged: logged as CRITICAL, and
/// with `propagation-error-behavior panic` (or `panic-on-replicas`) a read-only replica stops
/// rather than serve diverged data.
pub fn primary_command_failed(
    shared: &crate::ctx::Shared,
    args: &shoal_resp::Args<'_>,
    reply: &[u8],
) {
    let text = reply[1..].strip_suffix(b"\r\n").unwrap_or(&reply[1..]);
    let text = String::from_utf8_lossy(&text[..text.len().min(4096)]);
    let name = crate::spec::table()
        .lookup(args.get(0))
        .map(|(_, s)| s.name.to_string())
        .unwrap_or_else(|| "<unknown>".to_string());
    tracing::warn!(
        "== CRITICAL == This replica is sending an error to its master: '{text}' after processing the command '{name}'"
    );
    shared.stats.unexpected_error_replies.fetch_add(1, Relaxed);
    let (behavior, read_only) = {
        let c = shared.config.read();
        (c.propagation_error_behavior, c.replica_read_only)
    };
    if read_only && behavior != "ignore" {
        tracing::error!(
            "This replica panicked sending an error to its master after processing the command '{name}'"
        );
        std::process::exit(1);
    }
}

/// The REPLCONF capability a shoal replica announces: its primary then sends
/// `+FUNCTIONS <len>` and a FUNCTION DUMP payload right after `+FULLRESYNC`, so the replica's
/// libraries are replaced by the primary's with the keyspace (Redis carries them in the RDB).
pub const CAPA_FUNCTIONS: &str = "shoal-functions";

/// The REPLCONF capability a shoal replica announces with its PSYNC offset counted as Redis
/// counts it (the first byte it lacks), which Redis primaries ignore.
pub const CAPA_PSYNC_NEXT: &str = "shoal-psync-next";

/// The function libraries as a FUNCTION DUMP payload (for a full sync).
pub fn functions_payload(shared: &crate::ctx::Shared) -> Vec<u8> {
    crate::families::functions::dump_payload(&shared.scripts.functions.libs.read())
}

/// A command as RESP, for the stream.
pub fn encode(out: &mut Vec<u8>, args: &[&[u8]]) {
    out.extend_from_slice(b"*");
    out.extend_from_slice(itoa::Buffer::new().format(args.len()).as_bytes());
    out.extend_from_slice(b"\r\n");
    for a in args {
        out.extend_from_slice(b"$");
        out.extend_from_slice(itoa::Buffer::new().format(a.len()).as_bytes());
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(a);
        out.extend_from_slice(b"\r\n");
    }
}

/// After a successful write (under the write lock): its expired-key DELs and the command (or
/// what it asked to propagate instead) go to the stream, or to EXEC's buffer inside a
/// transaction.
pub fn after_write(ctx: &mut crate::ctx::Ctx<'_>, args: &shoal_resp::Args<'_>) {
    let repl = &ctx.shared.repl;
    let mut out = std::mem::take(&mut ctx.client.exec_prop);
    let start = out.len();
    for (db, key) in shoal_store::shard::take_expired_log() {
        repl.encode_in_db(&mut out, db as usize, &[b"DEL", &key]);
    }
    match ctx.client.prop.take() {
        Some(cmds) => {
            for c in &cmds {
                let parts: Vec<&[u8]> = c.iter().map(|a| &a[..]).collect();
                repl.encode_in_db(&mut out, ctx.ks.db, &parts);
            }
        }
        None => {
            let parts: Vec<&[u8]> = args.iter().collect();
            repl.encode_in_db(&mut out, ctx.ks.db, &parts);
        }
    }
    if ctx.in_exec {
        ctx.client.exec_prop = out;
        return;
    }
    repl.feed(&out[start..]);
    ctx.client.woff = repl.offset.load(Relaxed);
}

/// Expired keys deleted outside a command (active expiry) or evicted: replicated as DELs.
pub fn propagate_dels(repl: &Replication, keys: &[(u32, Box<[u8]>)]) {
    if keys.is_empty() || !repl.active.load(Relaxed) {
        return;
    }
    let mut out = Vec::new();
    for (db, key) in keys {
        repl.encode_in_db(&mut out, *db as usize, &[b"DEL", key]);
    }
    repl.feed(&out);
}

/// Hash fields the active expiry deleted: replicated as HDELs (Redis's
/// propagateHashFieldDeletion), so replicas, which reap nothing themselves, agree.
pub fn propagate_field_dels(repl: &Replication, gone: &[shoal_store::shard::ExpiredFields]) {
    if gone.is_empty() || !repl.active.load(Relaxed) {
        return;
    }
    let mut out = Vec::new();
    for g in gone {
        for f in &g.fields {
            repl.encode_in_db(&mut out, g.db as usize, &[b"HDEL", &g.key, f]);
        }
    }
    repl.feed(&out);
}

/// INFO replication, with Redis's field names.
pub fn info_text(repl: &Replication, read_only: bool) -> String {
    use std::fmt::Write as _;
    let mut o = String::new();
    let offset = repl.offset.load(Relaxed);
    let role = repl.role.lock().clone();
    match &role {
        Role::Primary => o.push_str("role:master\r\n"),
        Role::Replica { host, port } => {
            let state = *repl.link.lock();
            let seen = repl.link_seen_ms.load(Relaxed);
            let ago = if seen == 0 {
                -1
            } else {
                (crate::ctx::unix_ms().saturating_sub(seen) / 1000) as i64
            };
            let _ = write!(
                o,
                "role:slave\r\nmaster_host:{host}\r\nmaster_port:{port}\r\nmaster_link_status:{}\r\nmaster_last_io_seconds_ago:{ago}\r\nmaster_sync_in_progress:{}\r\nslave_read_repl_offset:{offset}\r\nslave_repl_offset:{offset}\r\nslave_priority:100\r\nslave_read_only:{}\r\nreplica_announced:1\r\n",
                if state == LinkState::Connected {
                    "up"
                } else {
                    "down"
                },
                (state == LinkState::Sync) as u8,
                read_only as u8,
            );
        }
    }
    let replicas = repl.replicas.lock().clone();
    let _ = write!(o, "connected_slaves:{}\r\n", replicas.len());
    let (want, lag) = (
        repl.min_to_write.load(Relaxed),
        repl.min_max_lag.load(Relaxed),
    );
    if matches!(role, Role::Primary) && want != 0 && lag != 0 {
        let _ = write!(o, "min_slaves_good_slaves:{}\r\n", repl.good_replicas(lag));
    }
    let now = crate::ctx::unix_ms();
    for (i, r) in replicas.iter().enumerate() {
        let _ = write!(
            o,
            "slave{i}:ip={},port={},state={},offset={},lag={}\r\n",
            r.ip,
            r.port,
            r.state,
            r.ack,
            now.saturating_sub(r.ack_at) / 1000
        );
    }
    let backlog = repl.backlog.lock();
    let (active, size, first, hist) = match backlog.as_ref() {
        Some(b) => (1, b.size(), b.first(), b.histlen()),
        None => (0, 0, 0, 0),
    };
    let _ = write!(
        o,
        "master_failover_state:no-failover\r\nmaster_replid:{}\r\nmaster_replid2:{}\r\nmaster_repl_offset:{offset}\r\nsecond_repl_offset:{}\r\nrepl_backlog_active:{active}\r\nrepl_backlog_size:{size}\r\nrepl_backlog_first_byte_offset:{}\r\nrepl_backlog_histlen:{hist}\r\n",
        repl.replid.lock(),
        repl.replid2.lock(),
        match repl.second_offset.load(Relaxed) {
            -1 => -1,
            o => o + 1,
        },
        if active == 1 { first + 1 } else { 0 },
    );
    o
}

/// Shared handle type.
pub type ReplicationRef = Arc<Replication>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backlog_keeps_the_last_bytes_by_offset() {
        let mut b = Backlog::new(16 * 1024, 100);
        b.append(b"hello");
        assert_eq!(b.read_from(100, 100).as_deref(), Some(&b"hello"[..]));
        assert_eq!(b.read_from(102, 2).as_deref(), Some(&b"ll"[..]));
        let big = vec![b'x'; 20 * 1024];
        b.append(&big);
        assert_eq!(b.end(), 100 + 5 + 20 * 1024);
        assert_eq!(b.histlen(), 16 * 1024);
        assert!(b.read_from(100, 10).is_none(), "overwritten");
        b.append(b"tail");
        let from = b.end() - 6;
        assert_eq!(b.read_from(from, 100).as_deref(), Some(&b"xxtail"[..]));
        assert!(b.read_from(b.end() + 1, 1).is_none());
        assert_eq!(b.read_from(b.end(), 1).as_deref(), Some(&b""[..]));
    }
}
