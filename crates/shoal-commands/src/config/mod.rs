//! Server configuration: one declarative table of parameters ([`table::PARAMS`]: name, alias,
//! type, default, mutability, where the value lives, what shoal does with it) drives the command
//! line, the config file ([`file`]), CONFIG GET/SET/REWRITE and `--help`.

pub mod file;
pub mod table;
pub mod values;

use std::collections::BTreeMap;

pub use table::{Param, find_param};
pub use values::{
    Ty, parse_in_range, parse_loglevel, parse_memory, parse_obuf_limits, parse_policy, parse_yes_no,
};

/// Runtime configuration. Names follow redis.conf. Parameters shoal acts on have a typed field;
/// the ones it only accepts and reports live in `extra`, by canonical name.
#[derive(Clone, Debug)]
pub struct Config {
    pub port: u16,
    /// `ephemeral-ports port`: the TCP listener takes a free port (tests).
    pub ephemeral_port: bool,
    pub tls: TlsConfig,
    pub bind: Vec<String>,
    pub maxclients: u64,
    /// Idle client timeout in seconds; 0 = never.
    pub timeout: u64,
    pub databases: usize,
    pub loglevel: String,
    /// `text` or `json`.
    pub log_format: String,
    /// Log to this file (appending); empty = standard output.
    pub logfile: String,
    /// Write the process id here at start, remove it at exit; empty = none.
    pub pidfile: String,
    /// Detach from the terminal at start.
    pub daemonize: bool,
    /// Also listen on this Unix socket; empty = none.
    pub unixsocket: String,
    /// Permissions of the Unix socket (0 = leave the umask's).
    pub unixsocketperm: u32,
    /// `no`, `yes` or `local`: who may run DEBUG.
    pub enable_debug_command: String,
    pub enable_module_command: String,
    /// `no`, `yes` or `local`: who may CONFIG SET protected parameters (dir, dbfilename).
    pub enable_protected_configs: String,
    pub proto_max_bulk_len: u64,
    pub client_query_buffer_limit: u64,
    /// `client-output-buffer-limit` per class: normal, replica, pubsub.
    pub client_output_buffer_limit: [ObufLimit; 3],
    pub requirepass: Option<String>,
    /// ACL file (relative to `dir`), read at start and by ACL LOAD, written by ACL SAVE.
    pub aclfile: String,
    /// `user` directives of the configuration file (each line's words after `user`).
    pub users: Vec<Vec<String>>,
    /// `acl-pubsub-default allchannels`: new users may use every channel.
    pub acl_pubsub_allchannels: bool,
    pub acllog_max_len: u64,
    /// User this node authenticates as with its primary (with `masterauth`).
    pub masteruser: Option<String>,
    pub threads: usize,
    pub shards: usize,
    pub hz: u64,
    /// Save points, `<seconds> <changes>` pairs separated by spaces.
    pub save: String,
    /// The RDB file's name (in `dir`).
    pub dbfilename: String,
    pub rdbcompression: bool,
    pub rdbchecksum: bool,
    pub stop_writes_on_bgsave_error: bool,
    /// `lazyfree-lazy-*`: which deletions free big values in the background.
    pub lazyfree: LazyFree,
    /// Test hooks (Redis's): microseconds a save / a load sleeps per key.
    pub rdb_key_save_delay: i64,
    pub key_load_delay: i64,
    /// Seconds between the PINGs a primary sends a redis-server replica (its link's keepalive).
    pub repl_ping_replica_period: i64,
    pub appendonly: bool,
    pub tcp_keepalive: u64,
    pub tcp_backlog: u64,
    pub dir: String,
    pub maxmemory: u64,
    pub maxmemory_policy: shoal_store::Policy,
    /// Entries sampled per eviction by the LRU, LFU and TTL policies.
    pub maxmemory_samples: u32,
    /// How long one command may spend evicting (0-100; 10 = 500 µs, 100 = unlimited).
    pub maxmemory_eviction_tenacity: u32,
    pub lfu_log_factor: u32,
    /// Minutes per decrement of an idle key's LFU counter (0 = never).
    pub lfu_decay_time: u32,
    /// Without a password, accept clients from loopback addresses only.
    pub protected_mode: bool,
    /// A replica refuses writes from its clients.
    pub replica_read_only: bool,
    /// Bytes of replication stream kept for replicas that reconnect.
    pub repl_backlog_size: u64,
    /// Password sent to the primary (AUTH) by this node as a replica.
    pub masterauth: Option<String>,
    /// `host port` to replicate from at start (`replicaof` in redis.conf).
    pub replicaof: Option<(String, u16)>,
    /// Microseconds; negative = off, 0 = every command.
    pub slowlog_log_slower_than: i64,
    pub latency_monitor_threshold: u64,
    pub slowlog_max_len: u64,
    /// Milliseconds a script runs before other clients get -BUSY (`lua-time-limit`).
    pub busy_reply_threshold: u64,
    /// Good replicas a primary needs to take writes (0: off), and how many seconds old a
    /// replica's last acknowledgement may be for it to count.
    pub min_replicas_to_write: u64,
    pub min_replicas_max_lag: u64,
    /// `ignore`, `panic` or `panic-on-replicas`: see `repl::primary_command_failed`.
    pub propagation_error_behavior: &'static str,
    /// Prometheus `/metrics` port (`None` = off).
    pub metrics_port: Option<u16>,
    /// The metrics port takes HTTP Basic credentials of an ACL user (unless the default user
    /// needs none).
    pub metrics_auth: bool,
    /// Compact-encoding thresholds of the collection types.
    pub encoding: Encoding,
    pub cluster: ClusterConfig,
    pub tracking_table_max_keys: u64,
    /// `hll-sparse-max-bytes`: a sparse HyperLogLog growing past this becomes dense.
    pub hll_sparse_max_bytes: u64,
    /// `notify-keyspace-events` as class bits (`notify::parse`).
    pub notify_keyspace_events: u32,
    /// Values of the parameters shoal accepts without acting on them, by canonical name (absent:
    /// the default).
    pub extra: BTreeMap<&'static str, String>,
    /// The config file the server started with (absolute), for CONFIG REWRITE.
    pub config_file: Option<std::path::PathBuf>,
}

/// Sizes up to which hashes, sets and sorted sets keep their compact (listpack/intset) form.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Encoding {
    pub hash_entries: usize,
    pub hash_value: usize,
    pub set_intset_entries: usize,
    pub set_entries: usize,
    pub set_value: usize,
    pub zset_entries: usize,
    pub zset_value: usize,
    pub stream_node_bytes: usize,
    pub stream_node_entries: usize,
}

impl Encoding {
    /// Makes these the thresholds every new write uses (process-wide, as the store's are).
    pub fn apply(&self) {
        use std::sync::atomic::Ordering::Relaxed;
        let t = &shoal_store::types::THRESHOLDS;
        t.hash_entries.store(self.hash_entries, Relaxed);
        t.hash_value.store(self.hash_value, Relaxed);
        t.set_intset_entries.store(self.set_intset_entries, Relaxed);
        t.set_entries.store(self.set_entries, Relaxed);
        t.set_value.store(self.set_value, Relaxed);
        t.zset_entries.store(self.zset_entries, Relaxed);
        t.zset_value.store(self.zset_value, Relaxed);
        t.stream_node_bytes.store(self.stream_node_bytes, Relaxed);
        t.stream_node_entries
            .store(self.stream_node_entries, Relaxed);
    }
}

/// TLS options (`tls-*`), named as redis.conf names them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TlsConfig {
    /// 0 = no TLS listener.
    pub port: u16,
    /// `ephemeral-ports tls-port`: the TLS listener takes a free port (tests).
    pub ephemeral_port: bool,
    pub cert_file: String,
    pub key_file: String,
    pub key_file_pass: String,
    pub client_cert_file: String,
    pub client_key_file: String,
    pub client_key_file_pass: String,
    pub ca_cert_file: String,
    pub ca_cert_dir: String,
    /// `no`, `yes` or `optional`.
    pub auth_clients: String,
    pub protocols: String,
    pub ciphers: String,
    pub ciphersuites: String,
    pub prefer_server_ciphers: bool,
    pub session_caching: bool,
    pub session_cache_size: u64,
    pub session_cache_timeout: u64,
    /// Outgoing replication links speak TLS.
    pub replication: bool,
    /// The cluster bus speaks TLS.
    pub cluster: bool,
}

impl TlsConfig {
    /// Whether a TLS listener is wanted.
    pub fn enabled(&self) -> bool {
        self.port != 0 || self.ephemeral_port
    }
}

/// Cluster options, named as redis.conf names them.
#[derive(Clone, Debug, Default)]
pub struct ClusterConfig {
    pub enabled: bool,
    pub config_file: String,
    pub node_timeout: u64,
    /// Bus port; 0 = data port + 10000.
    pub port: u16,
    pub announce_ip: Option<String>,
    pub announce_port: Option<u16>,
    pub announce_bus_port: Option<u16>,
    pub announce_hostname: Option<String>,
    pub preferred_endpoint_type: String,
    pub require_full_coverage: bool,
    pub allow_reads_when_down: bool,
    pub allow_pubsubshard_when_down: bool,
    /// Zero-touch formation: `host:port[@busport]` of nodes to meet at start and until known.
    pub seeds: Vec<String>,
    /// Zero-touch formation: spread the slots once this many empty primaries know each other.
    pub bootstrap_primaries: usize,
    pub bootstrap_replicas: usize,
    /// Charge keyed commands to their slot (CLUSTER SLOT-STATS cpu-usec and network bytes).
    pub slot_stats_enabled: bool,
    /// A replica whose link was down longer than node-timeout × this may not fail over (0: no
    /// limit).
    pub replica_validity_factor: u64,
    /// Replicas a primary keeps before one may migrate to an orphaned primary.
    pub migration_barrier: u64,
    pub allow_replica_migration: bool,
    /// `cluster-auto-rebalance`: give new empty primaries their share of slots.
    pub auto_rebalance: bool,
    /// This replica never starts an election (a manual failover still can).
    pub replica_no_failover: bool,
}

impl Default for Config {
    /// Every parameter at the table's default.
    fn default() -> Self {
        let mut c = Config {
            port: 0,
            ephemeral_port: false,
            tls: TlsConfig::default(),
            bind: Vec::new(),
            maxclients: 0,
            timeout: 0,
            databases: 1,
            loglevel: String::new(),
            log_format: String::new(),
            logfile: String::new(),
            pidfile: String::new(),
            daemonize: false,
            unixsocket: String::new(),
            unixsocketperm: 0,
            enable_debug_command: String::new(),
            enable_module_command: String::new(),
            enable_protected_configs: String::new(),
            proto_max_bulk_len: 0,
            client_query_buffer_limit: 0,
            client_output_buffer_limit: OBUF_DEFAULTS,
            requirepass: None,
            aclfile: String::new(),
            users: Vec::new(),
            acl_pubsub_allchannels: false,
            acllog_max_len: 128,
            masteruser: None,
            threads: 1,
            shards: 1,
            hz: 10,
            save: String::new(),
            dbfilename: "dump.rdb".into(),
            rdbcompression: true,
            rdbchecksum: true,
            stop_writes_on_bgsave_error: true,
            lazyfree: LazyFree::default(),
            rdb_key_save_delay: 0,
            key_load_delay: 0,
            repl_ping_replica_period: 10,
            appendonly: false,
            tcp_keepalive: 0,
            tcp_backlog: 0,
            dir: String::new(),
            maxmemory: 0,
            maxmemory_policy: shoal_store::Policy::NoEviction,
            maxmemory_samples: 5,
            maxmemory_eviction_tenacity: 0,
            lfu_log_factor: 0,
            lfu_decay_time: 0,
            protected_mode: true,
            replica_read_only: true,
            repl_backlog_size: 0,
            masterauth: None,
            replicaof: None,
            slowlog_log_slower_than: 0,
            latency_monitor_threshold: 0,
            slowlog_max_len: 0,
            busy_reply_threshold: 0,
            min_replicas_to_write: 0,
            min_replicas_max_lag: 10,
            propagation_error_behavior: "ignore",
            metrics_port: None,
            metrics_auth: false,
            encoding: Encoding {
                hash_entries: 0,
                hash_value: 0,
                set_intset_entries: 0,
                set_entries: 0,
                set_value: 0,
                zset_entries: 0,
                zset_value: 0,
                stream_node_bytes: 0,
                stream_node_entries: 0,
            },
            cluster: ClusterConfig::default(),
            notify_keyspace_events: 0,
            tracking_table_max_keys: 1_000_000,
            hll_sparse_max_bytes: 3000,
            extra: BTreeMap::new(),
            config_file: None,
        };
        for p in table::PARAMS {
            // The table's defaults are checked by a unit test; a bad one would show here as
            // the placeholder above, never as a panic.
            let _ = c.set(p, p.default);
        }
        c
    }
}

impl Config {
    /// Sets one parameter from text (a config file's, the command line's or CONFIG SET's):
    /// checks it against the parameter's type, refuses what shoal cannot honour, stores it.
    pub fn set(&mut self, p: &'static Param, value: &str) -> Result<(), String> {
        let canon = p.ty.check(value)?;
        if let Some((honoured, why)) = p.refuse
            && !honoured(&canon)
        {
            return Err(why.to_string());
        }
        match &p.field {
            Some(f) => (f.set)(self, &canon),
            None => {
                if canon == p.default {
                    self.extra.remove(p.name);
                } else {
                    self.extra.insert(p.name, canon);
                }
                Ok(())
            }
        }
    }

    /// A parameter's current value, as CONFIG GET answers it.
    pub fn get(&self, p: &Param) -> String {
        match &p.field {
            Some(f) => (f.get)(self),
            None => self
                .extra
                .get(p.name)
                .cloned()
                .unwrap_or_else(|| p.default.to_string()),
        }
    }
}

/// One class of `client-output-buffer-limit`: a client whose pending replies pass `hard` bytes,
/// or stay over `soft` bytes for `soft_secs` seconds, is disconnected (0 = no limit).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ObufLimit {
    pub hard: u64,
    pub soft: u64,
    pub soft_secs: u64,
}

/// The classes, in Redis's order and spelling (`slave` is Redis's name for replicas).
pub const OBUF_CLASSES: [&str; 3] = ["normal", "slave", "pubsub"];

/// Redis's defaults: `normal 0 0 0`, `slave 256mb 64mb 60`, `pubsub 32mb 8mb 60`.
pub const OBUF_DEFAULTS: [ObufLimit; 3] = [
    ObufLimit {
        hard: 0,
        soft: 0,
        soft_secs: 0,
    },
    ObufLimit {
        hard: 256 << 20,
        soft: 64 << 20,
        soft_secs: 60,
    },
    ObufLimit {
        hard: 32 << 20,
        soft: 8 << 20,
        soft_secs: 60,
    },
];

pub fn obuf_text(l: &[ObufLimit; 3]) -> String {
    OBUF_CLASSES
        .iter()
        .zip(l)
        .map(|(c, l)| format!("{c} {} {} {}", l.hard, l.soft, l.soft_secs))
        .collect::<Vec<_>>()
        .join(" ")
}

/// The reply to a client refused by protected mode (Redis's text).
pub const PROTECTED_MODE_DENIED: &str = "DENIED Redis is running in protected mode because protected mode is enabled and no password is set for the default user. In this mode connections are only accepted from the loopback interface. If you want to connect from external computers to Redis you may adopt one of the following solutions: 1) Just disable protected mode sending the command 'CONFIG SET protected-mode no' from the loopback interface by connecting to Redis from the same host the server is running, however MAKE SURE Redis is not publicly accessible from internet if you do so. Use CONFIG REWRITE to make this change permanent. 2) Alternatively you can just disable the protected mode by editing the Redis configuration file, and setting the protected mode option to 'no', and then restarting the server. 3) If you started the server manually just for testing, restart it with the '--protected-mode no' option. 4) Set up an authentication password for the default user. NOTE: You only need to do one of the above things in order for the server to start accepting connections from the outside.";

impl Config {
    /// Protected mode refuses `peer`: on, no password, and the peer is not a loopback address.
    pub fn refuses(&self, peer: std::net::IpAddr) -> bool {
        self.protected_mode && self.requirepass.is_none() && !is_loopback(peer)
    }
}

/// Redis's "local" client: 127.0.0.1 or ::1 (and 127.0.0.1 as an IPv4-mapped IPv6 address);
/// the rest of 127.0.0.0/8 is not local, as in Redis's connIsLocal.
pub fn is_loopback(ip: std::net::IpAddr) -> bool {
    let v4 = std::net::Ipv4Addr::LOCALHOST;
    match ip {
        std::net::IpAddr::V4(a) => a == v4,
        std::net::IpAddr::V6(a) => a.is_loopback() || a.to_ipv4_mapped() == Some(v4),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn protected_mode_refuses_only_remote_clients_without_password() {
        let mut c = Config::default();
        let remote: std::net::IpAddr = "10.1.2.3".parse().unwrap();
        assert!(c.refuses(remote));
        assert!(!c.refuses("127.0.0.1".parse().unwrap()));
        // Only 127.0.0.1 of 127.0.0.0/8 is local, as in Redis.
        assert!(c.refuses("127.9.9.9".parse().unwrap()));
        assert!(c.refuses("127.0.0.2".parse().unwrap()));
        assert!(!c.refuses("::1".parse().unwrap()));
        assert!(!c.refuses("::ffff:127.0.0.1".parse().unwrap()));
        c.requirepass = Some("x".into());
        assert!(!c.refuses(remote));
        c.requirepass = None;
        c.protected_mode = false;
        assert!(!c.refuses(remote));
    }
}

/// `lazyfree-lazy-*`: which deletions hand big values to the lazyfree thread.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LazyFree {
    pub eviction: bool,
    pub expire: bool,
    pub server_del: bool,
    pub user_del: bool,
    pub user_flush: bool,
}

impl LazyFree {
    /// The flags as `shoal_store::lazyfree` keeps them (one atomic load per check).
    pub fn store_flags(&self) -> u8 {
        use shoal_store::lazyfree::{EVICTION, EXPIRE, SERVER_DEL, USER_DEL, USER_FLUSH};
        (if self.eviction { EVICTION } else { 0 })
            | (if self.expire { EXPIRE } else { 0 })
            | (if self.server_del { SERVER_DEL } else { 0 })
            | (if self.user_del { USER_DEL } else { 0 })
            | (if self.user_flush { USER_FLUSH } else { 0 })
    }
}
