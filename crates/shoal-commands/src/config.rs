//! Server configuration: the values, their parsers (shared by the command line, the config file
//! and CONFIG SET) and the parameter table behind CONFIG GET/SET.

/// Runtime configuration. Names follow redis.conf.
#[derive(Clone, Debug)]
pub struct Config {
    pub port: u16,
    pub bind: Vec<String>,
    pub maxclients: u64,
    /// Idle client timeout in seconds; 0 = never.
    pub timeout: u64,
    pub databases: usize,
    pub loglevel: String,
    /// `text` or `json`.
    pub log_format: String,
    pub proto_max_bulk_len: u64,
    pub client_query_buffer_limit: u64,
    /// `client-output-buffer-limit` per class: normal, replica, pubsub.
    pub client_output_buffer_limit: [ObufLimit; 3],
    pub requirepass: Option<String>,
    pub threads: usize,
    pub shards: usize,
    pub hz: u64,
    pub save: String,
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
    pub slowlog_max_len: u64,
    /// Prometheus `/metrics` port (`None` = off).
    pub metrics_port: Option<u16>,
    pub cluster: ClusterConfig,
}

/// Cluster options, named as redis.conf names them.
#[derive(Clone, Debug)]
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

impl Default for ClusterConfig {
    fn default() -> Self {
        ClusterConfig {
            enabled: false,
            config_file: "nodes.conf".into(),
            node_timeout: 15000,
            port: 0,
            announce_ip: None,
            announce_port: None,
            announce_bus_port: None,
            announce_hostname: None,
            preferred_endpoint_type: "ip".into(),
            require_full_coverage: true,
            allow_reads_when_down: false,
            seeds: Vec::new(),
            bootstrap_primaries: 0,
            bootstrap_replicas: 0,
            slot_stats_enabled: true,
            replica_validity_factor: 10,
            migration_barrier: 1,
            allow_replica_migration: true,
            auto_rebalance: false,
            replica_no_failover: false,
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            port: 6379,
            bind: vec!["*".into(), "-::*".into()],
            maxclients: 10000,
            timeout: 0,
            databases: 16,
            loglevel: "notice".into(),
            log_format: "text".into(),
            proto_max_bulk_len: 512 * 1024 * 1024,
            client_query_buffer_limit: 1024 * 1024 * 1024,
            client_output_buffer_limit: OBUF_DEFAULTS,
            requirepass: None,
            threads: std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1),
            shards: 1024,
            hz: 10,
            save: String::new(),
            appendonly: false,
            tcp_keepalive: 300,
            tcp_backlog: 511,
            dir: ".".into(),
            maxmemory: 0,
            maxmemory_policy: shoal_store::Policy::NoEviction,
            maxmemory_samples: 5,
            maxmemory_eviction_tenacity: 10,
            lfu_log_factor: 10,
            lfu_decay_time: 1,
            protected_mode: true,
            replica_read_only: true,
            repl_backlog_size: 1 << 20,
            masterauth: None,
            replicaof: None,
            slowlog_log_slower_than: 10_000,
            slowlog_max_len: 128,
            metrics_port: None,
            cluster: ClusterConfig::default(),
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

/// `<class> <hard> <soft> <soft seconds>` repeated, as CONFIG SET and redis.conf take it; classes
/// not named keep their value in `into`.
pub fn parse_obuf_limits(s: &str, into: &mut [ObufLimit; 3]) -> Result<(), String> {
    let words: Vec<&str> = s.split_whitespace().collect();
    if words.is_empty() || !words.len().is_multiple_of(4) {
        return Err("Wrong number of arguments in buffer limit configuration.".into());
    }
    let mut out = *into;
    for w in words.chunks(4) {
        let class = match w[0].to_ascii_lowercase().as_str() {
            "normal" => 0,
            "slave" | "replica" => 1,
            "pubsub" => 2,
            _ => {
                return Err("Invalid client class specified in buffer limit configuration.".into());
            }
        };
        let bad = || "Error in hard, soft or soft_seconds setting in buffer limit configuration.";
        out[class] = ObufLimit {
            hard: parse_memory(w[1]).map_err(|_| bad())?,
            soft: parse_memory(w[2]).map_err(|_| bad())?,
            soft_secs: w[3].parse().map_err(|_| bad())?,
        };
    }
    *into = out;
    Ok(())
}

fn obuf_text(l: &[ObufLimit; 3]) -> String {
    OBUF_CLASSES
        .iter()
        .zip(l)
        .map(|(c, l)| format!("{c} {} {} {}", l.hard, l.soft, l.soft_secs))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Redis's `memtoll`: a byte count with an optional unit (`k` = 1000, `kb` = 1024, `m`, `mb`,
/// `g`, `gb`), case-insensitive.
pub fn parse_memory(s: &str) -> Result<u64, String> {
    let lower = s.trim().to_ascii_lowercase();
    let (num, mul) = [
        ("gb", 1u64 << 30),
        ("mb", 1 << 20),
        ("kb", 1 << 10),
        ("g", 1_000_000_000),
        ("m", 1_000_000),
        ("k", 1000),
        ("b", 1),
    ]
    .iter()
    .find_map(|(suf, mul)| lower.strip_suffix(suf).map(|n| (n.to_string(), *mul)))
    .unwrap_or((lower.clone(), 1));
    let n: u64 = num
        .parse()
        .map_err(|_| format!("argument must be a memory value, got '{s}'"))?;
    n.checked_mul(mul)
        .ok_or_else(|| format!("memory value out of range: '{s}'"))
}

/// `yes` / `no`, as redis.conf booleans.
pub fn parse_yes_no(s: &str) -> Result<bool, String> {
    match s.to_ascii_lowercase().as_str() {
        "yes" => Ok(true),
        "no" => Ok(false),
        _ => Err(format!("argument must be 'yes' or 'no', got '{s}'")),
    }
}

pub fn parse_loglevel(s: &str) -> Result<String, String> {
    match s.to_ascii_lowercase().as_str() {
        l @ ("debug" | "verbose" | "notice" | "warning" | "nothing") => Ok(l.to_string()),
        _ => Err(format!(
            "argument must be one of debug, verbose, notice, warning, nothing, got '{s}'"
        )),
    }
}

/// A `maxmemory-policy` name (Redis's, and shoal's S3-FIFO pair).
pub fn parse_policy(s: &str) -> Result<shoal_store::Policy, String> {
    shoal_store::Policy::parse(s).ok_or_else(|| {
        format!(
            "argument(s) must be one of the following: {}",
            shoal_store::Policy::names().collect::<Vec<_>>().join(", ")
        )
    })
}

/// An integer within `lo..=hi`, with Redis's error text.
pub fn parse_in_range(s: &str, lo: u32, hi: u32) -> Result<u32, String> {
    match s.parse::<i64>() {
        Ok(n) if n >= lo as i64 && n <= hi as i64 => Ok(n as u32),
        Ok(_) => Err(format!("argument must be between {lo} and {hi} inclusive")),
        Err(_) => Err("argument couldn't be parsed into an integer".into()),
    }
}

fn parse_u64(s: &str) -> Result<u64, String> {
    s.parse()
        .map_err(|_| "argument couldn't be parsed into an integer".to_string())
}

fn yes_no(b: bool) -> String {
    if b { "yes".into() } else { "no".into() }
}

type Getter = fn(&Config) -> String;
type Setter = fn(&mut Config, &str) -> Result<(), String>;

/// One CONFIG parameter. `set` is `None` for parameters fixed at startup.
pub struct Param {
    pub name: &'static str,
    pub get: Getter,
    pub set: Option<Setter>,
}

pub const PARAMS: &[Param] = &[
    Param {
        name: "port",
        get: |c| c.port.to_string(),
        set: None,
    },
    Param {
        name: "bind",
        get: |c| c.bind.join(" "),
        set: None,
    },
    Param {
        name: "maxclients",
        get: |c| c.maxclients.to_string(),
        set: Some(|c, v| {
            c.maxclients = parse_u64(v)?.max(1);
            Ok(())
        }),
    },
    Param {
        name: "timeout",
        get: |c| c.timeout.to_string(),
        set: Some(|c, v| {
            c.timeout = parse_u64(v)?;
            Ok(())
        }),
    },
    Param {
        name: "databases",
        get: |c| c.databases.to_string(),
        set: None,
    },
    Param {
        name: "loglevel",
        get: |c| c.loglevel.clone(),
        set: Some(|c, v| {
            c.loglevel = parse_loglevel(v)?;
            Ok(())
        }),
    },
    Param {
        name: "proto-max-bulk-len",
        get: |c| c.proto_max_bulk_len.to_string(),
        set: Some(|c, v| {
            let n = parse_memory(v)?;
            if n < 1024 * 1024 {
                return Err(
                    "argument must be between 1048576 and 9223372036854775807 inclusive".into(),
                );
            }
            c.proto_max_bulk_len = n;
            Ok(())
        }),
    },
    Param {
        name: "client-query-buffer-limit",
        get: |c| c.client_query_buffer_limit.to_string(),
        set: Some(|c, v| {
            let n = parse_memory(v)?;
            if n < 1024 * 1024 {
                return Err(
                    "argument must be between 1048576 and 9223372036854775807 inclusive".into(),
                );
            }
            c.client_query_buffer_limit = n;
            Ok(())
        }),
    },
    Param {
        name: "client-output-buffer-limit",
        get: |c| obuf_text(&c.client_output_buffer_limit),
        set: Some(|c, v| parse_obuf_limits(v, &mut c.client_output_buffer_limit)),
    },
    Param {
        name: "requirepass",
        get: |c| c.requirepass.clone().unwrap_or_default(),
        set: Some(|c, v| {
            c.requirepass = (!v.is_empty()).then(|| v.to_string());
            Ok(())
        }),
    },
    Param {
        name: "threads",
        get: |c| c.threads.to_string(),
        set: None,
    },
    Param {
        name: "shards",
        get: |c| c.shards.to_string(),
        set: None,
    },
    Param {
        name: "io-threads",
        get: |c| c.threads.to_string(),
        set: None,
    },
    Param {
        name: "hz",
        get: |c| c.hz.to_string(),
        set: Some(|c, v| {
            c.hz = parse_u64(v)?.clamp(1, 500);
            Ok(())
        }),
    },
    Param {
        name: "save",
        get: |c| c.save.clone(),
        set: Some(|c, v| {
            c.save = v.to_string();
            Ok(())
        }),
    },
    Param {
        name: "appendonly",
        get: |c| yes_no(c.appendonly),
        set: Some(|c, v| {
            c.appendonly = parse_yes_no(v)?;
            Ok(())
        }),
    },
    Param {
        name: "tcp-keepalive",
        get: |c| c.tcp_keepalive.to_string(),
        set: Some(|c, v| {
            c.tcp_keepalive = parse_u64(v)?;
            Ok(())
        }),
    },
    Param {
        name: "tcp-backlog",
        get: |c| c.tcp_backlog.to_string(),
        set: None,
    },
    Param {
        name: "dir",
        get: |c| c.dir.clone(),
        set: None,
    },
    Param {
        name: "slowlog-log-slower-than",
        get: |c| c.slowlog_log_slower_than.to_string(),
        set: Some(|c, v| {
            c.slowlog_log_slower_than = v
                .parse()
                .map_err(|_| "argument couldn't be parsed into an integer".to_string())?;
            Ok(())
        }),
    },
    Param {
        name: "slowlog-max-len",
        get: |c| c.slowlog_max_len.to_string(),
        set: Some(|c, v| {
            c.slowlog_max_len = parse_u64(v)?;
            Ok(())
        }),
    },
    Param {
        name: "protected-mode",
        get: |c| yes_no(c.protected_mode),
        set: Some(|c, v| {
            c.protected_mode = parse_yes_no(v)?;
            Ok(())
        }),
    },
    Param {
        name: "replica-read-only",
        get: |c| yes_no(c.replica_read_only),
        set: Some(|c, v| {
            c.replica_read_only = parse_yes_no(v)?;
            Ok(())
        }),
    },
    Param {
        name: "slave-read-only",
        get: |c| yes_no(c.replica_read_only),
        set: Some(|c, v| {
            c.replica_read_only = parse_yes_no(v)?;
            Ok(())
        }),
    },
    Param {
        name: "repl-backlog-size",
        get: |c| c.repl_backlog_size.to_string(),
        set: Some(|c, v| {
            c.repl_backlog_size = parse_memory(v)?.max(16 * 1024);
            Ok(())
        }),
    },
    Param {
        name: "masterauth",
        get: |c| c.masterauth.clone().unwrap_or_default(),
        set: Some(|c, v| {
            c.masterauth = (!v.is_empty()).then(|| v.to_string());
            Ok(())
        }),
    },
    Param {
        name: "replicaof",
        get: |c| {
            c.replicaof
                .as_ref()
                .map(|(h, p)| format!("{h} {p}"))
                .unwrap_or_default()
        },
        set: None,
    },
    Param {
        name: "maxmemory",
        get: |c| c.maxmemory.to_string(),
        set: Some(|c, v| {
            c.maxmemory = parse_memory(v)?;
            Ok(())
        }),
    },
    Param {
        name: "maxmemory-policy",
        get: |c| c.maxmemory_policy.name().into(),
        set: Some(|c, v| {
            c.maxmemory_policy = parse_policy(v)?;
            Ok(())
        }),
    },
    Param {
        name: "maxmemory-samples",
        get: |c| c.maxmemory_samples.to_string(),
        set: Some(|c, v| {
            c.maxmemory_samples = parse_in_range(v, 1, 64)?;
            Ok(())
        }),
    },
    Param {
        name: "maxmemory-eviction-tenacity",
        get: |c| c.maxmemory_eviction_tenacity.to_string(),
        set: Some(|c, v| {
            c.maxmemory_eviction_tenacity = parse_in_range(v, 0, 100)?;
            Ok(())
        }),
    },
    Param {
        name: "lfu-log-factor",
        get: |c| c.lfu_log_factor.to_string(),
        set: Some(|c, v| {
            c.lfu_log_factor = parse_in_range(v, 0, i32::MAX as u32)?;
            Ok(())
        }),
    },
    Param {
        name: "lfu-decay-time",
        get: |c| c.lfu_decay_time.to_string(),
        set: Some(|c, v| {
            c.lfu_decay_time = parse_in_range(v, 0, i32::MAX as u32)?;
            Ok(())
        }),
    },
];

/// Cluster parameters (read-only at run time except the two behaviour switches).
pub const CLUSTER_PARAMS: &[Param] = &[
    Param {
        name: "cluster-enabled",
        get: |c| yes_no(c.cluster.enabled),
        set: None,
    },
    Param {
        name: "cluster-config-file",
        get: |c| c.cluster.config_file.clone(),
        set: None,
    },
    Param {
        name: "cluster-node-timeout",
        get: |c| c.cluster.node_timeout.to_string(),
        set: Some(|c, v| {
            c.cluster.node_timeout = parse_u64(v)?.max(1);
            Ok(())
        }),
    },
    Param {
        name: "cluster-port",
        get: |c| c.cluster.port.to_string(),
        set: None,
    },
    Param {
        name: "cluster-announce-ip",
        get: |c| c.cluster.announce_ip.clone().unwrap_or_default(),
        set: None,
    },
    Param {
        name: "cluster-announce-port",
        get: |c| c.cluster.announce_port.unwrap_or(0).to_string(),
        set: None,
    },
    Param {
        name: "cluster-announce-bus-port",
        get: |c| c.cluster.announce_bus_port.unwrap_or(0).to_string(),
        set: None,
    },
    Param {
        name: "cluster-announce-hostname",
        get: |c| c.cluster.announce_hostname.clone().unwrap_or_default(),
        set: None,
    },
    Param {
        name: "cluster-preferred-endpoint-type",
        get: |c| c.cluster.preferred_endpoint_type.clone(),
        set: None,
    },
    Param {
        name: "cluster-seeds",
        get: |c| c.cluster.seeds.join(","),
        set: None,
    },
    Param {
        name: "cluster-bootstrap-primaries",
        get: |c| c.cluster.bootstrap_primaries.to_string(),
        set: None,
    },
    Param {
        name: "cluster-bootstrap-replicas",
        get: |c| c.cluster.bootstrap_replicas.to_string(),
        set: None,
    },
    Param {
        name: "cluster-require-full-coverage",
        get: |c| yes_no(c.cluster.require_full_coverage),
        set: Some(|c, v| {
            c.cluster.require_full_coverage = parse_yes_no(v)?;
            Ok(())
        }),
    },
    Param {
        name: "cluster-slot-stats-enabled",
        get: |c| yes_no(c.cluster.slot_stats_enabled),
        set: Some(|c, v| {
            c.cluster.slot_stats_enabled = parse_yes_no(v)?;
            Ok(())
        }),
    },
    Param {
        name: "cluster-allow-reads-when-down",
        get: |c| yes_no(c.cluster.allow_reads_when_down),
        set: Some(|c, v| {
            c.cluster.allow_reads_when_down = parse_yes_no(v)?;
            Ok(())
        }),
    },
    Param {
        name: "cluster-replica-validity-factor",
        get: |c| c.cluster.replica_validity_factor.to_string(),
        set: Some(|c, v| {
            c.cluster.replica_validity_factor = parse_in_range(v, 0, i32::MAX as u32)? as u64;
            Ok(())
        }),
    },
    Param {
        name: "cluster-slave-validity-factor",
        get: |c| c.cluster.replica_validity_factor.to_string(),
        set: Some(|c, v| {
            c.cluster.replica_validity_factor = parse_in_range(v, 0, i32::MAX as u32)? as u64;
            Ok(())
        }),
    },
    Param {
        name: "cluster-migration-barrier",
        get: |c| c.cluster.migration_barrier.to_string(),
        set: Some(|c, v| {
            c.cluster.migration_barrier = parse_in_range(v, 0, i32::MAX as u32)? as u64;
            Ok(())
        }),
    },
    Param {
        name: "cluster-allow-replica-migration",
        get: |c| yes_no(c.cluster.allow_replica_migration),
        set: Some(|c, v| {
            c.cluster.allow_replica_migration = parse_yes_no(v)?;
            Ok(())
        }),
    },
    Param {
        name: "cluster-auto-rebalance",
        get: |c| yes_no(c.cluster.auto_rebalance),
        set: Some(|c, v| {
            c.cluster.auto_rebalance = parse_yes_no(v)?;
            Ok(())
        }),
    },
    Param {
        name: "cluster-replica-no-failover",
        get: |c| yes_no(c.cluster.replica_no_failover),
        set: Some(|c, v| {
            c.cluster.replica_no_failover = parse_yes_no(v)?;
            Ok(())
        }),
    },
    Param {
        name: "cluster-slave-no-failover",
        get: |c| yes_no(c.cluster.replica_no_failover),
        set: Some(|c, v| {
            c.cluster.replica_no_failover = parse_yes_no(v)?;
            Ok(())
        }),
    },
];

macro_rules! threshold_param {
    ($name:literal, $field:ident) => {
        Param {
            name: $name,
            get: |_| {
                shoal_store::types::THRESHOLDS
                    .$field
                    .load(std::sync::atomic::Ordering::Relaxed)
                    .to_string()
            },
            set: Some(|_, v| {
                let n: usize = v
                    .parse()
                    .map_err(|_| "argument couldn't be parsed into an integer".to_string())?;
                shoal_store::types::THRESHOLDS
                    .$field
                    .store(n, std::sync::atomic::Ordering::Relaxed);
                Ok(())
            }),
        }
    };
}

/// Compact-encoding thresholds (process-wide, like the rest of a server's config).
pub const ENCODING_PARAMS: &[Param] = &[
    threshold_param!("hash-max-listpack-entries", hash_entries),
    threshold_param!("hash-max-listpack-value", hash_value),
    threshold_param!("set-max-intset-entries", set_intset_entries),
    threshold_param!("set-max-listpack-entries", set_entries),
    threshold_param!("set-max-listpack-value", set_value),
    threshold_param!("zset-max-listpack-entries", zset_entries),
    threshold_param!("zset-max-listpack-value", zset_value),
];

/// Every parameter CONFIG GET/SET knows.
pub fn all_params() -> impl Iterator<Item = &'static Param> {
    PARAMS.iter().chain(CLUSTER_PARAMS).chain(ENCODING_PARAMS)
}

/// The reply to a client refused by protected mode (Redis's text).
pub const PROTECTED_MODE_DENIED: &str = "DENIED Redis is running in protected mode because protected mode is enabled and no password is set for the default user. In this mode connections are only accepted from the loopback interface. If you want to connect from external computers to Redis you may adopt one of the following solutions: 1) Just disable protected mode sending the command 'CONFIG SET protected-mode no' from the loopback interface by connecting to Redis from the same host the server is running, however MAKE SURE Redis is not publicly accessible from internet if you do so. Use CONFIG REWRITE to make this change permanent. 2) Alternatively you can just disable the protected mode by editing the Redis configuration file, and setting the protected mode option to 'no', and then restarting the server. 3) If you started the server manually just for testing, restart it with the '--protected-mode no' option. 4) Set up an authentication password for the default user. NOTE: You only need to do one of the above things in order for the server to start accepting connections from the outside.";

impl Config {
    /// Protected mode refuses `peer`: on, no password, and the peer is not a loopback address.
    pub fn refuses(&self, peer: std::net::IpAddr) -> bool {
        let loopback = match peer {
            std::net::IpAddr::V4(a) => a.is_loopback(),
            std::net::IpAddr::V6(a) => {
                a.is_loopback() || a.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
            }
        };
        self.protected_mode && self.requirepass.is_none() && !loopback
    }
}

pub fn find_param(name: &str) -> Option<&'static Param> {
    all_params().find(|p| p.name.eq_ignore_ascii_case(name))
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
        assert!(!c.refuses("127.9.9.9".parse().unwrap()));
        assert!(!c.refuses("::1".parse().unwrap()));
        assert!(!c.refuses("::ffff:127.0.0.1".parse().unwrap()));
        c.requirepass = Some("x".into());
        assert!(!c.refuses(remote));
        c.requirepass = None;
        c.protected_mode = false;
        assert!(!c.refuses(remote));
    }

    #[test]
    fn memory_units_follow_redis() {
        assert_eq!(parse_memory("100").unwrap(), 100);
        assert_eq!(parse_memory("1k").unwrap(), 1000);
        assert_eq!(parse_memory("1KB").unwrap(), 1024);
        assert_eq!(parse_memory("512mb").unwrap(), 512 << 20);
        assert_eq!(parse_memory("1gb").unwrap(), 1 << 30);
        assert_eq!(parse_memory("2g").unwrap(), 2_000_000_000);
        assert!(parse_memory("1.5gb").is_err());
        assert!(parse_memory("lots").is_err());
        assert!(parse_yes_no("maybe").is_err());
    }

    #[test]
    fn output_buffer_limits_parse_as_redis() {
        let mut l = OBUF_DEFAULTS;
        assert_eq!(
            obuf_text(&l),
            "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60"
        );
        parse_obuf_limits("normal 1mb 512kb 10 pubsub 1 2 3", &mut l).unwrap();
        assert_eq!(
            obuf_text(&l),
            "normal 1048576 524288 10 slave 268435456 67108864 60 pubsub 1 2 3"
        );
        assert!(parse_obuf_limits("normal 1 2", &mut l).is_err());
        assert!(parse_obuf_limits("nobody 1 2 3", &mut l).is_err());
        assert!(parse_obuf_limits("normal x 2 3", &mut l).is_err());
        assert_eq!(
            obuf_text(&l),
            "normal 1048576 524288 10 slave 268435456 67108864 60 pubsub 1 2 3"
        );
    }
}
