//! What a handler works with: the server-wide [`Shared`] state, the calling [`Client`], its
//! reply buffer and the [`Keyspace`] view (current database, clock, held locks).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use parking_lot::{Mutex, RwLock};
use shoal_resp::{OwnedArgs, Reply};
use shoal_store::{LockSet, NewValue, ShardId, ShardRef, Store};
use tokio::sync::Notify;

use crate::config::Config;
use crate::stats::ServerStats;

/// Cluster mode: this node's view of the cluster and where it is kept on disk.
pub struct Cluster {
    pub state: RwLock<shoal_cluster::ClusterState>,
    pub conf_path: std::path::PathBuf,
    /// Requests to the bus driver (CLUSTER MEET, FORGET); set once the bus runs.
    pub control: Mutex<Option<tokio::sync::mpsc::UnboundedSender<shoal_cluster::bus::Control>>>,
    /// Bus messages sent and received, by type (`shoal_cluster::bus::KIND_NAMES`).
    pub bus_sent: [AtomicU64; shoal_cluster::bus::KINDS],
    pub bus_received: [AtomicU64; shoal_cluster::bus::KINDS],
    /// Outbound bus connections attempted (first links and reconnects).
    pub bus_connects: AtomicU64,
    /// Bus frames dropped as malformed (bad magic, version, checksum or body).
    pub bus_bad_frames: AtomicU64,
    /// The bus links as the driver last published them (CLUSTER LINKS).
    pub links: Mutex<Vec<LinkView>>,
    /// Held across a nodes.conf write: saves from the bus and from commands share one temp
    /// file name, and the state is read under it so an older state never lands last.
    save_lock: Mutex<()>,
}

/// One cluster bus connection, for CLUSTER LINKS.
#[derive(Clone, Debug)]
pub struct LinkView {
    /// "to" (we connected) or "from" (it connected).
    pub direction: &'static str,
    pub node: Option<shoal_cluster::NodeId>,
    pub created_ms: u64,
}

impl Cluster {
    pub fn new(state: shoal_cluster::ClusterState, conf_path: std::path::PathBuf) -> Cluster {
        Cluster {
            state: RwLock::new(state),
            conf_path,
            control: Mutex::new(None),
            bus_sent: Default::default(),
            bus_received: Default::default(),
            bus_connects: AtomicU64::new(0),
            bus_bad_frames: AtomicU64::new(0),
            links: Mutex::new(Vec::new()),
            save_lock: Mutex::new(()),
        }
    }

    /// Writes nodes.conf (atomically, fsynced) from the current state.
    pub fn save(&self) -> Result<(), String> {
        self.save_with(true)
    }

    /// Has the bus tell every node this node's view now (see `bus::Control::Announce`).
    pub fn announce(&self) {
        if let Some(tx) = self.control.lock().as_ref() {
            let _ = tx.send(shoal_cluster::bus::Control::Announce);
        }
    }

    /// Hands a PUBLISH / SPUBLISH to the bus for the other nodes.
    pub fn publish(&self, shard: bool, channel: &[u8], message: &[u8]) {
        if let Some(tx) = self.control.lock().as_ref() {
            let _ = tx.send(shoal_cluster::bus::Control::Publish {
                shard,
                channel: channel.to_vec(),
                message: message.to_vec(),
            });
        }
    }

    /// Writes nodes.conf; without `fsync` it is atomic but not yet durable.
    pub fn save_with(&self, fsync: bool) -> Result<(), String> {
        let _one_at_a_time = self.save_lock.lock();
        let st = self.state.read().clone();
        shoal_cluster::conf::save_with(&self.conf_path, &st, fsync)
            .map_err(|e| format!("{}: {e}", self.conf_path.display()))
    }
}

/// Server-wide state shared by every connection.
/// See `Shared::rebind`: `(port, bind addresses)` to the port now listened on.
pub type RebindHook = Box<dyn Fn(u16, &[String]) -> Result<u16, String> + Send + Sync>;

/// See `Shared::tls_reload`: `(old, new)` TLS settings to the TLS port now listened on (0: none).
pub type TlsHook = Box<
    dyn Fn(&crate::config::TlsConfig, &crate::config::TlsConfig) -> Result<u16, String>
        + Send
        + Sync,
>;

pub struct Shared {
    pub store: Store,
    /// `Some` in cluster mode.
    pub cluster: Option<Cluster>,
    pub config: RwLock<Config>,
    /// Bumped by every CONFIG SET, so connections can refresh cached limits cheaply.
    pub config_gen: AtomicU64,
    pub clients: dashmap::DashMap<u64, Arc<ClientInfo>>,
    /// Ids of clients whose query buffer grew past 32 KiB: the clients cron asks them for a
    /// resize every tick until it is small again (`ClientInfo::qbuf_big`).
    pub qbuf_big: Mutex<Vec<u64>>,
    next_client_id: AtomicU64,
    pub stats: ServerStats,
    /// Clients blocked on keys.
    pub blocking: crate::blocking::Blocking,
    pub slowlog: crate::slowlog::SlowLog,
    /// LATENCY's monitor of slow events (`latency-monitor-threshold`).
    pub latency: crate::latency::LatencyMonitor,
    pub monitors: crate::monitor::Monitors,
    pub started: Instant,
    pub run_id: String,
    /// Set by SHUTDOWN; the server notices through `shutdown_notify`.
    pub shutdown: AtomicBool,
    pub shutdown_notify: Notify,
    /// DEBUG SET-ACTIVE-EXPIRE.
    pub active_expire: AtomicBool,
    /// Address actually bound (for INFO and logs).
    pub tcp_port: AtomicUsize,
    /// Installed by the server: listens on a new `port` / `bind` (CONFIG SET) and stops the
    /// old listeners, or leaves them as they are and says why it could not.
    pub rebind: Mutex<Option<RebindHook>>,
    /// Installed by the server: applies changed `tls-*` settings (certificates read anew, the
    /// TLS listener moved) or leaves everything as it was and says why.
    pub tls_reload: Mutex<Option<TlsHook>>,
    /// The TLS port listened on (0: none).
    pub tls_port: AtomicUsize,
    /// `maxmemory` in bytes (0 = no limit), read on every command.
    pub maxmemory: AtomicU64,
    /// Microseconds one command may spend evicting (u64::MAX = no limit).
    pub eviction_budget_us: AtomicU64,
    /// Allocated bytes once the keyspace structures exist (INFO `used_memory_startup`).
    pub startup_memory: u64,
    /// `cluster-slot-stats-enabled`: keyed commands are charged to their slot.
    pub slot_stats: AtomicBool,
    /// Replication: role, stream offset, backlog, attached replicas.
    pub repl: crate::repl::Replication,
    /// CLIENT PAUSE and a manual failover's pause.
    pub pause: crate::pause::Pause,
    /// Atomic slot migrations (CLUSTER MIGRATESLOTS) of this node.
    pub migrations: crate::slotmig::Migrations,
    /// Pub/Sub subscriptions and keyspace notifications.
    pub pubsub: crate::pubsub::PubSub,
    /// Lua scripting: the script cache and the scripts running now.
    pub scripts: std::sync::Arc<crate::script::Scripts>,
    /// Client-side caching (CLIENT TRACKING).
    pub tracking: crate::tracking::Tracking,
    /// ACL users and the ACL log.
    pub acl: crate::acl::Acl,
    /// RDB persistence: save state, loading flag, INFO persistence.
    pub persist: crate::persist::Persist,
}

impl Shared {
    pub fn new(config: Config) -> Self {
        Self::with_cluster(config, None)
    }

    /// A server in cluster mode keeps its keys striped by hash slot.
    pub fn with_cluster(config: Config, cluster: Option<Cluster>) -> Self {
        let store = if cluster.is_some() {
            Store::with_stripe(
                config.databases,
                config.shards,
                shoal_store::Stripe::Slot(|k| shoal_cluster::key_slot(k).0),
            )
        } else {
            Store::new(config.databases, config.shards)
        };
        let run_id = (0..40)
            .map(|_| char::from(b"0123456789abcdef"[rand::random_range(0..16)]))
            .collect();
        let slowlog = crate::slowlog::SlowLog::default();
        let shared = Shared {
            store,
            cluster,
            config: RwLock::new(config),
            config_gen: AtomicU64::new(0),
            clients: dashmap::DashMap::new(),
            qbuf_big: Mutex::new(Vec::new()),
            next_client_id: AtomicU64::new(1),
            stats: ServerStats::default(),
            blocking: crate::blocking::Blocking::default(),
            slowlog,
            latency: Default::default(),
            monitors: crate::monitor::Monitors::default(),
            started: Instant::now(),
            run_id,
            shutdown: AtomicBool::new(false),
            shutdown_notify: Notify::new(),
            active_expire: AtomicBool::new(true),
            tcp_port: AtomicUsize::new(0),
            rebind: Mutex::new(None),
            tls_reload: Mutex::new(None),
            tls_port: AtomicUsize::new(0),
            maxmemory: AtomicU64::new(0),
            eviction_budget_us: AtomicU64::new(500),
            startup_memory: shoal_store::mem::used() as u64,
            slot_stats: AtomicBool::new(true),
            repl: crate::repl::Replication::default(),
            pause: crate::pause::Pause::default(),
            migrations: Default::default(),
            pubsub: Default::default(),
            scripts: Default::default(),
            tracking: Default::default(),
            acl: Default::default(),
            persist: crate::persist::Persist::new(),
        };
        shared.apply_config();
        shared
    }

    /// How lookups treat expired keys, from the replication role (see `policy::EXPIRY_*`): a
    /// replica waits for its primary's DELs; a primary streaming to replicas deletes them only
    /// in writes, so each deletion takes its place in the stream.
    pub fn apply_repl_mode(&self) {
        use shoal_store::policy::{EXPIRY_DELETE, EXPIRY_HIDE, EXPIRY_LOG_WRITES};
        let mode = if self.repl.replica.load(Ordering::Relaxed) {
            EXPIRY_HIDE
        } else if self.repl.active.load(Ordering::Relaxed) {
            EXPIRY_LOG_WRITES
        } else {
            EXPIRY_DELETE
        };
        self.store.tuning().expiry.store(mode, Ordering::Relaxed);
    }

    /// Pushes the configuration to the atomics the request path, the shards and the cluster
    /// state read (at start and after every CONFIG SET).
    pub fn apply_config(&self) {
        crate::memory::apply(self);
        crate::persist::update_misconf(self);
        self.config.read().encoding.apply();
        self.apply_repl_mode();
        let c = self.config.read();
        self.acl.apply_requirepass(&c.requirepass);
        shoal_store::lazyfree::set_flags(c.lazyfree.store_flags());
        self.acl.log.trim(c.acllog_max_len);
        self.pubsub.set_limit(c.client_output_buffer_limit[2]);
        self.tracking
            .max_keys
            .store(c.tracking_table_max_keys, Ordering::Relaxed);
        self.pubsub.notify_flags.store(
            crate::notify::effective(c.notify_keyspace_events),
            Ordering::Relaxed,
        );
        self.slowlog
            .slower_than
            .store(c.slowlog_log_slower_than, Ordering::Relaxed);
        self.latency
            .threshold_ms
            .store(c.latency_monitor_threshold, Ordering::Relaxed);
        self.slowlog
            .max_len
            .store(c.slowlog_max_len as usize, Ordering::Relaxed);
        self.slot_stats
            .store(c.cluster.slot_stats_enabled, Ordering::Relaxed);
        self.scripts
            .busy_threshold_ms
            .store(c.busy_reply_threshold, Ordering::Relaxed);
        self.repl
            .min_to_write
            .store(c.min_replicas_to_write, Ordering::Relaxed);
        self.repl
            .min_max_lag
            .store(c.min_replicas_max_lag, Ordering::Relaxed);
        if let Some(cl) = &self.cluster {
            let mut st = cl.state.write();
            st.require_full_coverage = c.cluster.require_full_coverage;
            st.allow_reads_when_down = c.cluster.allow_reads_when_down;
            st.allow_pubsubshard_when_down = c.cluster.allow_pubsubshard_when_down;
            st.update_state();
        }
    }

    /// Cluster mode: makes replication follow the cluster state (a replica of the primary it
    /// names, or a primary). Called after every change of the state that may move roles:
    /// CLUSTER REPLICATE, a won election, a primary that lost its slots, replica migration.
    pub fn sync_cluster_role(&self) {
        let Some(cl) = &self.cluster else { return };
        let want = {
            let st = cl.state.read();
            let me = st.me();
            if me.flags.primary {
                None
            } else {
                match me.primary_of.and_then(|p| st.nodes.get(&p)) {
                    Some(p) if !p.ip.is_empty() => Some((p.ip.clone(), p.port)),
                    // A primary we cannot reach yet: stay as we are until its address is known.
                    _ => return,
                }
            }
        };
        let changed = match want {
            Some((ip, port)) => self.repl.follow(ip, port),
            None if self.repl.is_replica() => {
                self.repl.promote();
                // Keys of slots this node does not serve (its old primary's unfinished slot
                // import, replicated to it) must not come back to life later.
                let stray: Vec<u16> = (0..shoal_cluster::SLOTS as u16)
                    .filter(|&s| self.store.slot_keys(0, s) > 0)
                    .collect();
                let n = crate::slotmig::purge_unowned(self, &stray, unix_ms());
                if n > 0 {
                    tracing::warn!("Promoted: dropped {n} keys of slots this node does not serve");
                }
                true
            }
            None => false,
        };
        if changed {
            self.blocking.wake_all(self);
            self.apply_config();
        }
    }

    /// Cluster mode: shard channels whose slot this node no longer serves (as a primary, or
    /// as a replica of its primary; an importing slot's are kept) lose their subscribers, who
    /// get `sunsubscribe` (Redis's removeChannelsInSlot). Called after anything that may take
    /// slots away: SETSLOT NODE, DELSLOTS, a newer owner learned from the bus, a failover,
    /// an atomic slot export.
    pub fn drop_moved_shard_channels(&self) {
        let Some(cl) = &self.cluster else { return };
        let Some(served) = shoal_cluster::shard_channel_slots(&cl.state.read()) else {
            return;
        };
        let n = self
            .pubsub
            .drop_shard_channels(|ch| !served.contains(shoal_cluster::key_slot(ch).0));
        if n > 0 {
            tracing::info!("Unsubscribed {n} shard channel subscriptions of slots moved away");
        }
    }

    /// Protected mode refuses `peer`: on, the default user has no password, and the peer is
    /// not local (Redis 7.0 looks at the default user, so ACL SETUSER default >pw counts).
    pub fn refuses(&self, peer: std::net::IpAddr) -> bool {
        self.config.read().protected_mode
            && self.acl.default.st.read().nopass
            && !crate::config::is_loopback(peer)
    }

    pub fn next_client_id(&self) -> u64 {
        self.next_client_id.fetch_add(1, Ordering::Relaxed)
    }

    pub fn request_shutdown(&self) {
        self.shutdown.store(true, Ordering::SeqCst);
        self.shutdown_notify.notify_waiters();
    }
}

/// Unix time in milliseconds.
pub fn unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// The part of a client other connections can see (CLIENT LIST, CLIENT KILL).
pub struct ClientInfo {
    pub id: u64,
    pub addr: String,
    pub laddr: String,
    pub created: Instant,
    pub name: Mutex<Option<String>>,
    pub lib_name: Mutex<Option<String>>,
    pub lib_ver: Mutex<Option<String>>,
    pub db: AtomicUsize,
    pub resp: AtomicUsize,
    /// Table index of the command running now or last (with its subcommand: see
    /// `dispatch::CMD_SUB_SHIFT`).
    pub last_cmd: AtomicUsize,
    /// The socket's file descriptor (-1: none).
    pub fd: std::sync::atomic::AtomicI32,
    /// Bytes of the query buffer holding unprocessed commands (the running one included), and
    /// the rest of its allocation, as the connection last published them.
    pub qbuf: AtomicUsize,
    pub qbuf_free: AtomicUsize,
    /// Set by the clients cron to have the query buffer resized (Redis's
    /// clientsCronResizeQueryBuffer): the connection does it the next time it waits for the
    /// socket.
    pub qbuf_trim: AtomicBool,
    /// The query buffer grew past 32 KiB and the client is listed in `Shared::qbuf_big`.
    pub qbuf_big: AtomicBool,
    /// The connection task's waker, installed once when it starts: the clients cron wakes it
    /// for `qbuf_trim`. Nothing is registered per read, so the request path pays nothing.
    pub waker: Mutex<Option<std::task::Waker>>,
    /// Reply bytes waiting for the socket.
    pub omem: AtomicUsize,
    /// Unix ms of the last command.
    pub last_interaction: AtomicU64,
    pub multi: AtomicBool,
    pub watching: AtomicUsize,
    /// Set by CLIENT KILL or shutdown.
    pub killed: AtomicBool,
    /// Installed by the server: closes the connection's socket, which ends its task (its next
    /// read sees end of file). Costs nothing on the request path, unlike a wake-up channel
    /// polled on every read.
    pub killer: Mutex<Option<Box<dyn Fn() + Send + Sync>>>,
    /// Wakes the connection while it is blocked (BLPOP…): data arrived, or CLIENT UNBLOCK.
    pub block_notify: Notify,
    /// True while the client waits in a blocking command.
    pub blocked: AtomicBool,
    /// CLIENT UNBLOCK: 1 = answer as on timeout, 2 = answer with an UNBLOCKED error.
    pub unblock: std::sync::atomic::AtomicU8,
    /// Subscriptions: channels, patterns, shard channels (CLIENT LIST sub/psub/ssub).
    pub sub: AtomicUsize,
    pub psub: AtomicUsize,
    pub ssub: AtomicUsize,
    /// Pushes waiting for this client (pub/sub messages, invalidations).
    pub mailbox: crate::pubsub::Mailbox,
    /// CLIENT TRACKING settings.
    pub tracking: Mutex<crate::tracking::TrackState>,
    /// The ACL user this connection is logged in as (`None`: the default user).
    pub user: Mutex<Option<Arc<crate::acl::User>>>,
}

impl ClientInfo {
    /// A loopback TCP client or a Unix-socket one (Redis's "local" for protected actions).
    pub fn is_local(&self) -> bool {
        match self.addr.parse::<std::net::SocketAddr>() {
            Ok(a) => crate::config::is_loopback(a.ip()),
            // Unix-socket clients are named by the socket's path.
            Err(_) => self.addr.starts_with('/'),
        }
    }

    pub fn new(id: u64, addr: String, laddr: String) -> Self {
        ClientInfo {
            id,
            addr,
            laddr,
            created: Instant::now(),
            name: Mutex::new(None),
            lib_name: Mutex::new(None),
            lib_ver: Mutex::new(None),
            db: AtomicUsize::new(0),
            resp: AtomicUsize::new(2),
            last_cmd: AtomicUsize::new(usize::MAX),
            fd: std::sync::atomic::AtomicI32::new(-1),
            qbuf: AtomicUsize::new(0),
            qbuf_free: AtomicUsize::new(0),
            qbuf_trim: AtomicBool::new(false),
            qbuf_big: AtomicBool::new(false),
            waker: Mutex::new(None),
            omem: AtomicUsize::new(0),
            last_interaction: AtomicU64::new(unix_ms()),
            multi: AtomicBool::new(false),
            watching: AtomicUsize::new(0),
            killed: AtomicBool::new(false),
            killer: Mutex::new(None),
            block_notify: Notify::new(),
            blocked: AtomicBool::new(false),
            unblock: std::sync::atomic::AtomicU8::new(0),
            sub: AtomicUsize::new(0),
            psub: AtomicUsize::new(0),
            ssub: AtomicUsize::new(0),
            mailbox: Default::default(),
            tracking: Default::default(),
            user: Mutex::new(None),
        }
    }

    /// The name of the ACL user this connection is logged in as.
    pub fn user_name(&self) -> String {
        self.user
            .lock()
            .as_ref()
            .map_or_else(|| "default".to_string(), |u| u.name.clone())
    }

    pub fn kill(&self) {
        self.killed.store(true, Ordering::SeqCst);
        if let Some(k) = self.killer.lock().as_ref() {
            k();
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReplyMode {
    On,
    Off,
    /// Skip the reply of the next command only.
    Skip,
}

/// A command waiting for data on its keys.
pub struct Blocked {
    pub idx: usize,
    pub args: OwnedArgs,
    pub db: usize,
    pub keys: Vec<Box<[u8]>>,
    /// Unix ms; `None` waits forever.
    pub deadline: Option<u64>,
}

/// A transaction being queued.
#[derive(Default)]
pub struct Multi {
    pub queued: Vec<(usize, OwnedArgs)>,
    /// A command was rejected while queueing: EXEC answers EXECABORT.
    pub failed: bool,
}

/// State of one connection, owned by its task.
pub struct Client {
    pub id: u64,
    pub db: usize,
    pub info: Arc<ClientInfo>,
    pub multi: Option<Multi>,
    /// (db, key) pairs this client WATCHes.
    pub watched: Vec<(usize, Box<[u8]>, bool)>,
    /// Set by the store when a watched key changes.
    pub dirty: Arc<AtomicBool>,
    pub reply_mode: ReplyMode,
    pub authenticated: bool,
    /// The ACL user (`None`: the default user); kept in step with `info.user`.
    pub user: Option<Arc<crate::acl::User>>,
    /// Close the connection once the replies so far are written (QUIT, protocol error).
    pub close: bool,
    /// Table index of the last command (a cache for pipelines of the same command).
    pub last_cmd: usize,
    /// Cluster mode: READONLY was sent (reads served by a replica).
    pub readonly: bool,
    /// Cluster mode: ASKING was sent; good for the next command only.
    pub asking: bool,
    /// Set by a blocking command that found no data: the connection waits, then runs it again.
    pub blocked: Option<Blocked>,
    /// True while a blocked client's command runs again after a wake-up: a key that now holds
    /// another type counts as empty (the client keeps waiting, as in Redis).
    pub block_rerun: bool,
    /// Set by MONITOR: the lines this client is to receive.
    pub monitor: Option<tokio::sync::mpsc::Receiver<Vec<u8>>>,
    /// Commands run in the current batch (table index, failed), and keyspace hits and misses:
    /// handed to the server's counters once per batch.
    pub batch: crate::stats::Batch,
    /// The replication link on a replica: its commands are the primary's, applied as given
    /// (no READONLY refusal, no redirection, no replies).
    pub is_master: bool,
    /// The commands the current write propagates instead of itself (see `Ctx::propagate_as`).
    pub prop: Option<Vec<Vec<Vec<u8>>>>,
    /// What EXEC's commands propagate, wrapped in MULTI/EXEC at the end.
    pub exec_prop: Vec<u8>,
    /// Set by PSYNC: after this batch the connection becomes a replica's stream
    /// (replication ID and offset it asked for).
    pub psync: Option<(String, i64)>,
    /// Set by SYNC: after this batch the connection gets an RDB image of the dataset and
    /// closes (what `redis-cli --rdb` asks for).
    pub sync_rdb: bool,
    /// False after REPLCONF rdb-filter-only: the RDB image SYNC sends holds no keys.
    pub rdb_keys: bool,
    /// REPLCONF listening-port.
    pub listening_port: u16,
    /// REPLCONF capa shoal-functions: this replica takes the functions at its full sync.
    pub capa_functions: bool,
    /// REPLCONF capa shoal-psync-next (or a replica that is not shoal): its PSYNC offset is the
    /// first byte it lacks, as Redis counts (an older shoal replica sends the bytes it holds).
    pub capa_psync_next: bool,
    /// Stream offset just past this client's last write (WAIT).
    pub woff: u64,
    /// Set by WAIT that must wait: (replicas wanted, offset, deadline in unix ms or none).
    pub wait: Option<(usize, u64, Option<u64>)>,
    /// Set when the command just dispatched was held back by a pause (until this Unix ms): the
    /// connection keeps it buffered and runs it once the pause is over.
    pub paused: Option<u64>,
    /// Set by SYNCSLOTS ESTABLISH: this connection brings the named slot import.
    pub slot_import: Option<String>,
    /// Pushes may arrive in `info.mailbox` (subscribed, or tracking keys): the connection
    /// watches it.
    pub push: bool,
    /// Set by a command whose reply must be sent even under CLIENT REPLY OFF/SKIP (pub/sub
    /// confirmations, as Redis pushes them).
    pub keep_reply: bool,
    /// Tracking on in default mode: the keys this client reads are remembered.
    pub tracking: bool,
    /// Invalidations of this client's own tracked keys, sent after its command's reply.
    pub deferred: Vec<u8>,
    /// The error this command returns was already counted in INFO errorstats (a script's
    /// error from one of its commands).
    pub error_counted: bool,
}

impl Client {
    pub fn new(info: Arc<ClientInfo>, authenticated: bool) -> Self {
        Client {
            id: info.id,
            db: 0,
            info,
            multi: None,
            watched: Vec::new(),
            dirty: Arc::new(AtomicBool::new(false)),
            reply_mode: ReplyMode::On,
            authenticated,
            user: None,
            close: false,
            last_cmd: 0,
            readonly: false,
            asking: false,
            blocked: None,
            block_rerun: false,
            monitor: None,
            batch: crate::stats::Batch::default(),
            is_master: false,
            prop: None,
            exec_prop: Vec::new(),
            psync: None,
            sync_rdb: false,
            rdb_keys: true,
            listening_port: 0,
            capa_functions: false,
            capa_psync_next: false,
            woff: 0,
            wait: None,
            paused: None,
            slot_import: None,
            push: false,
            keep_reply: false,
            tracking: false,
            deferred: Vec::new(),
            error_counted: false,
        }
    }

    /// In pub/sub mode: subscribed to a channel, pattern or shard channel.
    #[inline]
    pub fn in_pubsub(&self) -> bool {
        self.push
            && self.info.sub.load(Ordering::Relaxed)
                + self.info.psub.load(Ordering::Relaxed)
                + self.info.ssub.load(Ordering::Relaxed)
                > 0
    }

    /// Drops every subscription (RESET, disconnect).
    pub fn unsubscribe_all(&mut self, shared: &Shared) {
        if self.in_pubsub() {
            shared.pubsub.drop_all(&self.info);
            for c in [&self.info.sub, &self.info.psub, &self.info.ssub] {
                c.store(0, Ordering::Relaxed);
            }
        }
    }

    /// Drops every WATCH of this client (UNWATCH, EXEC, DISCARD, RESET, disconnect).
    pub fn unwatch_all(&mut self, store: &Store) {
        for (db, key, _) in self.watched.drain(..) {
            let id = store.shard_id(db, &key, store.hash(&key));
            store.lock(id).unwatch(&key, &self.dirty);
        }
        self.dirty.store(false, Ordering::Release);
        self.info.watching.store(0, Ordering::Relaxed);
    }
}

/// The keyspace as a handler sees it: current database, clock, and the locks held for it.
pub struct Keyspace<'a> {
    pub store: &'a Store,
    pub locks: LockSet<'a>,
    pub db: usize,
    /// Unix ms, read once per batch of commands.
    pub now: u64,
}

impl<'a> Keyspace<'a> {
    /// The shard of `key` in the current database.
    #[inline]
    pub fn shard<'k>(&mut self, key: &'k [u8]) -> Locked<'_, 'k> {
        self.shard_in(self.db, key)
    }

    /// The shard of `key` in database `db`.
    #[inline]
    pub fn shard_in<'k>(&mut self, db: usize, key: &'k [u8]) -> Locked<'_, 'k> {
        let hash = self.store.hash(key);
        let id = self.store.shard_id(db, key, hash);
        let now = self.now;
        Locked {
            s: self.shard_at(id),
            hash,
            key,
            now,
        }
    }

    /// A shard by id: the held lock if a `LockSet` holds it, else locked now.
    #[inline]
    pub fn shard_at(&mut self, id: ShardId) -> ShardRef<'_> {
        let store = self.store;
        match self.locks.get(id) {
            Some(s) => ShardRef::Held(s),
            None => ShardRef::Own(crate::script::lock_shard(store, id)),
        }
    }
}

/// One key's shard, locked, with the key's hash and the clock at hand.
pub struct Locked<'a, 'k> {
    pub s: ShardRef<'a>,
    pub hash: u64,
    pub key: &'k [u8],
    pub now: u64,
}

impl Locked<'_, '_> {
    /// Index of the live entry (expiring it lazily), refreshing its access time.
    #[inline]
    pub fn find(&mut self) -> Option<usize> {
        self.s.find_live(self.hash, self.key, self.now)
    }

    /// Index of the live entry without refreshing its access time.
    pub fn peek(&mut self) -> Option<usize> {
        self.s.peek_live(self.hash, self.key, self.now)
    }

    /// Index of the entry even if logically expired (see `Shard::find_any`).
    pub fn find_any(&self) -> Option<usize> {
        self.s.find_any(self.hash, self.key)
    }

    pub fn insert_new<'v>(&mut self, v: impl Into<NewValue<'v>>, expire_at: Option<u64>) -> usize {
        self.s
            .insert_new(self.hash, self.key, v, expire_at, self.now)
    }

    /// Sets the key, replacing any live value; returns whether one was replaced.
    pub fn upsert<'v>(&mut self, v: impl Into<NewValue<'v>>, expire_at: Option<u64>) -> bool {
        self.s.upsert(self.hash, self.key, v, expire_at, self.now)
    }

    pub fn remove(&mut self) -> Option<shoal_store::Entry> {
        self.s.remove(self.hash, self.key, self.now)
    }
}

impl std::ops::Deref for Locked<'_, '_> {
    type Target = shoal_store::Shard;
    fn deref(&self) -> &Self::Target {
        &self.s
    }
}

impl std::ops::DerefMut for Locked<'_, '_> {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.s
    }
}

/// Everything a handler gets.
pub struct Ctx<'a> {
    pub shared: &'a Shared,
    pub client: &'a mut Client,
    pub out: &'a mut Reply,
    pub ks: Keyspace<'a>,
    /// True while running the commands of an EXEC.
    pub in_exec: bool,
}

impl Ctx<'_> {
    pub fn now(&self) -> u64 {
        self.ks.now
    }

    /// Whether writes go to a replication stream now (rewrites are only worth making then).
    #[inline]
    pub fn replicating(&self) -> bool {
        self.shared.repl.active.load(Ordering::Relaxed)
    }

    /// Replicates `args` for the current write instead of the command as given (each call adds
    /// one command; a nondeterministic or relative-time write says what it did: `SPOP` becomes
    /// `SREM`, `EXPIRE` `PEXPIREAT`…). A no-op unless replicating.
    pub fn propagate_as(&mut self, args: &[&[u8]]) {
        if self.replicating() {
            self.client
                .prop
                .get_or_insert_with(Vec::new)
                .push(args.iter().map(|a| a.to_vec()).collect());
        }
    }

    /// The current write changed nothing: replicate nothing.
    pub fn propagate_nothing(&mut self) {
        if self.replicating() {
            self.client.prop = Some(Vec::new());
        }
    }

    /// Counts a keyspace hit or miss (INFO stats).
    #[inline]
    pub fn hit(&mut self, hit: bool) {
        if hit {
            self.client.batch.hits += 1;
        } else {
            self.client.batch.misses += 1;
        }
    }
}
