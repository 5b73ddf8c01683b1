//! The parameter table: every parameter of Redis 7.0 plus shoal's own, each declared once.
//!
//! A parameter with a `field` is one shoal acts on: its value lives in a typed field of
//! [`Config`] that the server reads. One without is accepted and reported (CONFIG GET, REWRITE)
//! and changes nothing in shoal, because what it tunes does not exist here (RDB/AOF file
//! details while persistence is off, defragmentation, Lua time limits before scripting...).
//! A parameter with `refuse` takes only the values shoal can honour: any other is an error,
//! never an OK that does nothing.

use super::values::{
    Ty, check_bind, check_filename, check_notify, check_obuf, check_oom_values, check_opt_port,
    check_percentiles, check_replicaof, check_save, check_seeds, check_shards, parse_obuf_limits,
    parse_policy, yes_no,
};
use super::{Config, obuf_text};

type Getter = fn(&Config) -> String;
/// `(honoured, why)`: whether shoal can keep the promise of a (canonical) value, and the error
/// for those it cannot.
pub type Refusal = (fn(&str) -> bool, &'static str);
type Setter = fn(&mut Config, &str) -> Result<(), String>;

/// Where a parameter shoal acts on keeps its value. The setter gets the canonical text.
#[derive(Clone, Copy)]
pub struct Field {
    pub get: Getter,
    pub set: Setter,
}

/// Settable only at startup (config file, command line).
pub const IMMUTABLE: u8 = 1;
/// Takes several words (`save 900 1`, `bind a b`).
pub const MULTI_ARG: u8 = 2;
/// Left out of `CONFIG GET *` (Redis's test hooks).
pub const HIDDEN: u8 = 4;
/// CONFIG SET only with `enable-protected-configs`.
pub const PROTECTED: u8 = 8;
/// shoal's own parameter (not in Redis).
pub const SHOAL: u8 = 16;
/// Fixed at startup in shoal (Redis can change it at run time): CONFIG SET accepts only the
/// value it already has.
pub const FIXED: u8 = 32;

/// One configuration parameter.
#[derive(Clone, Copy)]
pub struct Param {
    pub name: &'static str,
    /// Redis's other name for it (`slave-*`, `*-ziplist-*`, `lua-time-limit`).
    pub alias: Option<&'static str>,
    pub ty: Ty,
    /// In canonical form.
    pub default: &'static str,
    pub flags: u8,
    /// `(honoured, why)`: values `honoured` rejects are refused with `why`.
    pub refuse: Option<Refusal>,
    pub field: Option<Field>,
    /// One line for `--help` and the README.
    pub doc: &'static str,
}

impl Param {
    pub fn is(&self, f: u8) -> bool {
        self.flags & f != 0
    }
    /// `name` is this parameter's name or alias (case-insensitive).
    pub fn answers_to(&self, name: &str) -> bool {
        self.name.eq_ignore_ascii_case(name)
            || self.alias.is_some_and(|a| a.eq_ignore_ascii_case(name))
    }
    const fn alias(mut self, a: &'static str) -> Self {
        self.alias = Some(a);
        self
    }
    const fn flags(mut self, f: u8) -> Self {
        self.flags |= f;
        self
    }
    const fn acts(mut self, field: Field, doc: &'static str) -> Self {
        self.field = Some(field);
        self.doc = doc;
        self
    }
    const fn refuse(mut self, honoured: fn(&str) -> bool, why: &'static str) -> Self {
        self.refuse = Some((honoured, why));
        self
    }
}

const fn p(name: &'static str, ty: Ty, default: &'static str) -> Param {
    Param {
        name,
        alias: None,
        ty,
        default,
        flags: 0,
        refuse: None,
        field: None,
        doc: "",
    }
}

const INT_MAX: i64 = i32::MAX as i64;
const LONG_MAX: i64 = i64::MAX;
const fn int(min: i64, max: i64) -> Ty {
    Ty::Int { min, max }
}
const fn mem(min: i64, max: i64) -> Ty {
    Ty::Mem { min, max }
}
const BOOL: Ty = Ty::Bool;
const STR: Ty = Ty::Str;
const PROTECTION: Ty = Ty::Enum(&["no", "yes", "local"]);

fn parse_num<T: std::str::FromStr>(v: &str) -> Result<T, String> {
    v.parse()
        .map_err(|_| "argument couldn't be parsed into an integer".to_string())
}

/// `dir`: Redis chdir()s and CONFIG GET shows getcwd(); shoal keeps the directory's absolute,
/// resolved path (a relative one is taken from the present `dir`) and checks it is one, with
/// chdir's reasons ("No such file or directory", "Not a directory", "Permission denied").
fn set_dir(c: &mut Config, v: &str) -> Result<(), String> {
    let base = std::path::Path::new(&c.dir);
    let path = base.join(v);
    let reason = |e: std::io::Error| {
        let s = e.to_string();
        // Rust's "... (os error 2)": chdir's own words, as Redis prints strerror().
        match s.rfind(" (os error") {
            Some(at) => s[..at].to_string(),
            None => s,
        }
    };
    let abs = std::fs::canonicalize(&path).map_err(reason)?;
    let meta = std::fs::metadata(&abs).map_err(reason)?;
    if !meta.is_dir() {
        return Err("Not a directory".into());
    }
    // chdir needs search permission on the directory, as looking up its "." does.
    std::fs::metadata(abs.join(".")).map_err(reason)?;
    c.dir = abs.to_string_lossy().into_owned();
    Ok(())
}

/// A numeric field (the canonical text is a plain number).
macro_rules! num {
    ($($f:ident).+) => {
        Field {
            get: |c| c.$($f).+.to_string(),
            set: |c, v| {
                c.$($f).+ = parse_num(v)?;
                Ok(())
            },
        }
    };
}

macro_rules! flag {
    ($($f:ident).+) => {
        Field {
            get: |c| yes_no(c.$($f).+).to_string(),
            set: |c, v| {
                c.$($f).+ = v == "yes";
                Ok(())
            },
        }
    };
}

macro_rules! text {
    ($($f:ident).+) => {
        Field {
            get: |c| c.$($f).+.clone(),
            set: |c, v| {
                c.$($f).+ = v.to_string();
                Ok(())
            },
        }
    };
}

/// `Option<String>`, empty meaning `None`.
macro_rules! opt_text {
    ($($f:ident).+) => {
        Field {
            get: |c| c.$($f).+.clone().unwrap_or_default(),
            set: |c, v| {
                c.$($f).+ = (!v.is_empty()).then(|| v.to_string());
                Ok(())
            },
        }
    };
}

/// `Option<u16>`, 0 meaning `None`.
macro_rules! opt_port {
    ($($f:ident).+) => {
        Field {
            get: |c| c.$($f).+.unwrap_or(0).to_string(),
            set: |c, v| {
                c.$($f).+ = parse_num::<u16>(v).ok().filter(|p| *p != 0);
                Ok(())
            },
        }
    };
}

fn is_default_no(v: &str) -> bool {
    v == "no"
}
fn is_zero(v: &str) -> bool {
    v == "0"
}

/// Every parameter, Redis's in the order of its `config.c`, then shoal's own.
pub const PARAMS: &[Param] = &[
    // --- booleans ---
    p("rdbchecksum", BOOL, "yes").flags(IMMUTABLE).acts(
        flag!(rdbchecksum),
        "End RDB files with a CRC64 checksum (checked when loading).",
    ),
    p("daemonize", BOOL, "no").flags(IMMUTABLE).acts(
        flag!(daemonize),
        "Detach from the terminal and run in the background.",
    ),
    p("io-threads-do-reads", BOOL, "no").flags(IMMUTABLE),
    p("always-show-logo", BOOL, "no").flags(IMMUTABLE),
    p("protected-mode", BOOL, "yes").acts(
        flag!(protected_mode),
        "Without a password, accept clients from loopback addresses only.",
    ),
    p("rdbcompression", BOOL, "yes").acts(
        flag!(rdbcompression),
        "Compress strings longer than 20 bytes in RDB files with LZF.",
    ),
    p("rdb-del-sync-files", BOOL, "no"),
    p("activerehashing", BOOL, "yes"),
    p("stop-writes-on-bgsave-error", BOOL, "yes").acts(
        flag!(stop_writes_on_bgsave_error),
        "Refuse writes (-MISCONF) while the last save failed and save points exist.",
    ),
    p("set-proc-title", BOOL, "yes").flags(IMMUTABLE),
    p("dynamic-hz", BOOL, "yes"),
    p("lazyfree-lazy-eviction", BOOL, "no").acts(
        flag!(lazyfree.eviction),
        "Evicted values of more than 64 elements are freed by the lazyfree thread.",
    ),
    p("lazyfree-lazy-expire", BOOL, "no").acts(
        flag!(lazyfree.expire),
        "Expired values of more than 64 elements are freed by the lazyfree thread.",
    ),
    p("lazyfree-lazy-server-del", BOOL, "no").acts(
        flag!(lazyfree.server_del),
        "Overwritten values of more than 64 elements are freed by the lazyfree thread.",
    ),
    p("lazyfree-lazy-user-del", BOOL, "no").acts(
        flag!(lazyfree.user_del),
        "DEL frees as UNLINK does: big values in the background.",
    ),
    p("lazyfree-lazy-user-flush", BOOL, "no").acts(
        flag!(lazyfree.user_flush),
        "FLUSHALL/FLUSHDB without SYNC or ASYNC free in the background.",
    ),
    p("repl-disable-tcp-nodelay", BOOL, "no"),
    p("repl-diskless-sync", BOOL, "yes"),
    p("aof-rewrite-incremental-fsync", BOOL, "yes"),
    p("no-appendfsync-on-rewrite", BOOL, "no"),
    p("cluster-require-full-coverage", BOOL, "yes").acts(
        flag!(cluster.require_full_coverage),
        "Refuse queries while some slot is not served.",
    ),
    p("rdb-save-incremental-fsync", BOOL, "yes"),
    p("aof-load-truncated", BOOL, "yes"),
    p("aof-use-rdb-preamble", BOOL, "yes"),
    p("aof-timestamp-enabled", BOOL, "no"),
    p("cluster-replica-no-failover", BOOL, "no")
        .alias("cluster-slave-no-failover")
        .acts(
            flag!(cluster.replica_no_failover),
            "This replica never starts an election (a manual failover still can).",
        ),
    p("replica-lazy-flush", BOOL, "no").alias("slave-lazy-flush"),
    p("replica-serve-stale-data", BOOL, "yes")
        .alias("slave-serve-stale-data")
        .refuse(
            |v| v == "yes",
            "replica-serve-stale-data no is not supported yet: a replica always serves its data",
        ),
    p("replica-read-only", BOOL, "yes")
        .alias("slave-read-only")
        .acts(
            flag!(replica_read_only),
            "A replica refuses writes from its clients.",
        ),
    p("replica-ignore-maxmemory", BOOL, "yes").alias("slave-ignore-maxmemory"),
    p("jemalloc-bg-thread", BOOL, "yes"),
    p("activedefrag", BOOL, "no").refuse(
        is_default_no,
        "Active defragmentation cannot be enabled: shoal does not defragment memory",
    ),
    p("syslog-enabled", BOOL, "no").flags(IMMUTABLE).refuse(
        is_default_no,
        "syslog-enabled yes is not supported: use logfile, or standard output under a supervisor",
    ),
    p("cluster-enabled", BOOL, "no")
        .flags(IMMUTABLE)
        .acts(flag!(cluster.enabled), "Run as a Redis Cluster node."),
    p("appendonly", BOOL, "no").refuse(
        is_default_no,
        "appendonly yes is not supported yet: shoal keeps no append-only file",
    ),
    p("cluster-allow-reads-when-down", BOOL, "no").acts(
        flag!(cluster.allow_reads_when_down),
        "Serve reads while the cluster is down.",
    ),
    p("cluster-allow-pubsubshard-when-down", BOOL, "yes").acts(
        flag!(cluster.allow_pubsubshard_when_down),
        "Serve shard channels (SSUBSCRIBE, SPUBLISH) while the cluster is down.",
    ),
    p("crash-log-enabled", BOOL, "yes"),
    p("crash-memcheck-enabled", BOOL, "yes"),
    p("use-exit-on-panic", BOOL, "no").flags(HIDDEN),
    p("disable-thp", BOOL, "yes").flags(IMMUTABLE),
    p("cluster-allow-replica-migration", BOOL, "yes").acts(
        flag!(cluster.allow_replica_migration),
        "Replicas may migrate to primaries left without one.",
    ),
    p("replica-announced", BOOL, "yes"),
    p("latency-tracking", BOOL, "yes"),
    p("aof-disable-auto-gc", BOOL, "no"),
    p("replica-ignore-disk-write-errors", BOOL, "no"),
    // --- strings ---
    p("aclfile", STR, "").flags(IMMUTABLE).acts(
        text!(aclfile),
        "ACL users file (relative to dir): read at start and by ACL LOAD, written by ACL SAVE.",
    ),
    p("unixsocket", STR, "")
        .flags(IMMUTABLE)
        .acts(text!(unixsocket), "Also listen on this Unix socket."),
    p("pidfile", STR, "").flags(IMMUTABLE).acts(
        text!(pidfile),
        "Write the process id to this file (removed at exit).",
    ),
    p("replica-announce-ip", STR, "").alias("slave-announce-ip"),
    p("masteruser", STR, "").acts(
        opt_text!(masteruser),
        "ACL user this node authenticates as with its primary (with masterauth).",
    ),
    p("cluster-announce-ip", STR, "").flags(FIXED).acts(
        opt_text!(cluster.announce_ip),
        "IP address other nodes and clients use to reach this node.",
    ),
    p("cluster-config-file", STR, "nodes.conf")
        .flags(IMMUTABLE)
        .acts(
            text!(cluster.config_file),
            "Cluster state file, relative to dir.",
        ),
    p("cluster-announce-hostname", STR, "").flags(FIXED).acts(
        opt_text!(cluster.announce_hostname),
        "Hostname announced to other nodes and clients.",
    ),
    p("syslog-ident", STR, "redis").flags(IMMUTABLE),
    p("dbfilename", Ty::Custom(check_filename), "dump.rdb")
        .flags(PROTECTED)
        .acts(text!(dbfilename), "The RDB file's name, in `dir`."),
    p(
        "appendfilename",
        Ty::Custom(check_filename),
        "appendonly.aof",
    )
    .flags(IMMUTABLE),
    p("appenddirname", STR, "appendonlydir").flags(IMMUTABLE),
    p("server_cpulist", STR, "").flags(IMMUTABLE),
    p("bio_cpulist", STR, "").flags(IMMUTABLE),
    p("aof_rewrite_cpulist", STR, "").flags(IMMUTABLE),
    p("bgsave_cpulist", STR, "").flags(IMMUTABLE),
    p("ignore-warnings", STR, ""),
    p(
        "proc-title-template",
        STR,
        "{title} {listen-addr} {server-mode}",
    ),
    p("bind-source-addr", STR, ""),
    p("logfile", STR, "").flags(IMMUTABLE).acts(
        text!(logfile),
        "Append the log to this file (empty: standard output).",
    ),
    p("masterauth", STR, "").acts(
        opt_text!(masterauth),
        "Password this node sends to its primary as a replica.",
    ),
    p("requirepass", STR, "").acts(opt_text!(requirepass), "Password clients must AUTH with."),
    // --- enums ---
    p(
        "supervised",
        Ty::Enum(&["upstart", "systemd", "auto", "no"]),
        "no",
    )
    .flags(IMMUTABLE),
    p(
        "syslog-facility",
        Ty::Enum(&[
            "user", "local0", "local1", "local2", "local3", "local4", "local5", "local6", "local7",
        ]),
        "local0",
    )
    .flags(IMMUTABLE),
    p(
        "repl-diskless-load",
        Ty::Enum(&["disabled", "on-empty-db", "swapdb"]),
        "disabled",
    ),
    p(
        "loglevel",
        Ty::Enum(&["debug", "verbose", "notice", "warning", "nothing"]),
        "notice",
    )
    .acts(text!(loglevel), "Log verbosity."),
    p("maxmemory-policy", Ty::Custom(check_policy), "noeviction").acts(
        Field {
            get: |c| c.maxmemory_policy.name().to_string(),
            set: |c, v| {
                c.maxmemory_policy = parse_policy(v)?;
                Ok(())
            },
        },
        "What to evict at maxmemory (Redis's policies, and s3fifo).",
    ),
    p(
        "appendfsync",
        Ty::Enum(&["always", "everysec", "no"]),
        "everysec",
    ),
    p(
        "oom-score-adj",
        Ty::Enum(&["no", "yes", "relative", "absolute"]),
        "no",
    )
    .refuse(
        is_default_no,
        "oom-score-adj is not supported yet: shoal leaves its OOM score alone",
    ),
    p(
        "acl-pubsub-default",
        Ty::Enum(&["allchannels", "resetchannels"]),
        "resetchannels",
    )
    .acts(
        Field {
            get: |c| {
                let v = if c.acl_pubsub_allchannels {
                    "allchannels"
                } else {
                    "resetchannels"
                };
                v.to_string()
            },
            set: |c, v| {
                c.acl_pubsub_allchannels = v == "allchannels";
                Ok(())
            },
        },
        "Channels a new ACL user may use: allchannels or resetchannels.",
    ),
    p(
        "sanitize-dump-payload",
        Ty::Enum(&["no", "yes", "clients"]),
        "no",
    ),
    p("enable-protected-configs", PROTECTION, "no")
        .flags(IMMUTABLE)
        .acts(
            text!(enable_protected_configs),
            "Who may CONFIG SET dir and dbfilename (no, yes, local).",
        ),
    p("enable-debug-command", PROTECTION, "no")
        .flags(IMMUTABLE)
        .acts(
            text!(enable_debug_command),
            "Who may run DEBUG (no, yes, local).",
        ),
    p("enable-module-command", PROTECTION, "no")
        .flags(IMMUTABLE)
        .acts(
            text!(enable_module_command),
            "Who may run MODULE LOAD/UNLOAD (no, yes, local); shoal loads no modules.",
        ),
    p(
        "cluster-preferred-endpoint-type",
        Ty::Enum(&["ip", "hostname", "unknown-endpoint"]),
        "ip",
    )
    .flags(FIXED)
    .acts(
        text!(cluster.preferred_endpoint_type),
        "What CLUSTER SLOTS and redirections name nodes by.",
    ),
    p(
        "propagation-error-behavior",
        Ty::Enum(&["ignore", "panic", "panic-on-replicas"]),
        "ignore",
    )
    .acts(
        Field {
            get: |c| c.propagation_error_behavior.to_string(),
            set: |c, v| {
                c.propagation_error_behavior = match v.to_ascii_lowercase().as_str() {
                    "ignore" => "ignore",
                    "panic" => "panic",
                    "panic-on-replicas" => "panic-on-replicas",
                    _ => return Err("argument(s) must be one of the following: ignore, panic, panic-on-replicas".into()),
                };
                Ok(())
            },
        },
        "What a read-only replica does when a command from its primary fails: log it (ignore) or stop (panic, panic-on-replicas).",
    ),
    p(
        "shutdown-on-sigint",
        Ty::Custom(check_shutdown_flags),
        "default",
    ),
    p(
        "shutdown-on-sigterm",
        Ty::Custom(check_shutdown_flags),
        "default",
    ),
    // --- integers ---
    p("databases", int(1, 1_000_000), "16")
        .flags(IMMUTABLE)
        .acts(num!(databases), "Number of databases (SELECT 0..n-1)."),
    p("port", int(0, 65535), "6379").acts(
        num!(port),
        "TCP port (0: no TCP listener, as in Redis).",
    ),
    p("auto-aof-rewrite-percentage", int(0, INT_MAX), "100"),
    p("cluster-replica-validity-factor", int(0, INT_MAX), "10")
        .alias("cluster-slave-validity-factor")
        .acts(
            num!(cluster.replica_validity_factor),
            "A replica disconnected longer than node-timeout x this may not fail over.",
        ),
    p(
        "list-max-listpack-size",
        int(i32::MIN as i64, INT_MAX),
        "-2",
    )
    .alias("list-max-ziplist-size"),
    p("tcp-keepalive", int(0, INT_MAX), "300").acts(
        num!(tcp_keepalive),
        "TCP keepalive interval of client sockets (s).",
    ),
    p("cluster-migration-barrier", int(0, INT_MAX), "1").acts(
        num!(cluster.migration_barrier),
        "Replicas a primary keeps before one may migrate away.",
    ),
    p("active-defrag-cycle-min", int(1, 99), "1"),
    p("active-defrag-cycle-max", int(1, 99), "25"),
    p("active-defrag-threshold-lower", int(0, 1000), "10"),
    p("active-defrag-threshold-upper", int(0, 1000), "100"),
    p("lfu-log-factor", int(0, INT_MAX), "10")
        .acts(num!(lfu_log_factor), "LFU counter logarithm factor."),
    p("lfu-decay-time", int(0, INT_MAX), "1").acts(
        num!(lfu_decay_time),
        "Minutes per decrement of an idle key's LFU counter.",
    ),
    p("replica-priority", int(0, INT_MAX), "100").alias("slave-priority"),
    p("repl-diskless-sync-delay", int(0, INT_MAX), "5"),
    p("maxmemory-samples", int(1, 64), "5").acts(
        num!(maxmemory_samples),
        "Keys sampled per eviction by the LRU/LFU/TTL policies.",
    ),
    p("maxmemory-eviction-tenacity", int(0, 100), "10").acts(
        num!(maxmemory_eviction_tenacity),
        "Time one command may spend evicting (10 = 500 us, 100 = unlimited).",
    ),
    p("timeout", int(0, INT_MAX), "0").acts(
        num!(timeout),
        "Close clients idle this many seconds (0: never).",
    ),
    p("replica-announce-port", int(0, 65535), "0").alias("slave-announce-port"),
    p("tcp-backlog", int(0, INT_MAX), "511")
        .flags(IMMUTABLE)
        .acts(num!(tcp_backlog), "Listen backlog."),
    p("cluster-port", int(0, 65535), "0")
        .flags(IMMUTABLE)
        .acts(num!(cluster.port), "Cluster bus port (0: port + 10000)."),
    p("cluster-announce-bus-port", int(0, 65535), "0")
        .flags(FIXED)
        .acts(
            opt_port!(cluster.announce_bus_port),
            "Bus port announced to other nodes.",
        ),
    p("cluster-announce-port", int(0, 65535), "0")
        .flags(FIXED)
        .acts(
            opt_port!(cluster.announce_port),
            "Port announced to other nodes and clients.",
        ),
    p("cluster-announce-tls-port", int(0, 65535), "0"),
    p("repl-timeout", int(1, INT_MAX), "60"),
    p("repl-ping-replica-period", int(1, INT_MAX), "10")
        .alias("repl-ping-slave-period")
        .acts(
            num!(repl_ping_replica_period),
            "Seconds between the PINGs in the stream to a redis-server replica (its keepalive).",
        ),
    p("list-compress-depth", int(0, INT_MAX), "0"),
    p("rdb-key-save-delay", int(i32::MIN as i64, INT_MAX), "0")
        .flags(HIDDEN)
        .acts(
            num!(rdb_key_save_delay),
            "Test hook: microseconds an RDB save sleeps per key (0 or less: none).",
        ),
    p("key-load-delay", int(i32::MIN as i64, INT_MAX), "0")
        .flags(HIDDEN)
        .acts(
            num!(key_load_delay),
            "Test hook: microseconds loading the RDB file sleeps per key (0 or less: none).",
        ),
    p("active-expire-effort", int(1, 10), "1"),
    p("hz", int(0, INT_MAX), "10").acts(
        Field {
            get: |c| c.hz.to_string(),
            set: |c, v| {
                c.hz = parse_num::<u64>(v)?.clamp(1, 500);
                Ok(())
            },
        },
        "Background task frequency (active expiry), 1-500.",
    ),
    p("min-replicas-to-write", int(0, INT_MAX), "0")
        .alias("min-slaves-to-write")
        .acts(
            num!(min_replicas_to_write),
            "A primary refuses writes (NOREPLICAS) with fewer good replicas than this (0: off).",
        ),
    p("min-replicas-max-lag", int(0, INT_MAX), "10")
        .alias("min-slaves-max-lag")
        .acts(
            num!(min_replicas_max_lag),
            "Seconds since a replica's last acknowledgement for it to count as good (0: off).",
        ),
    p("watchdog-period", int(0, INT_MAX), "0").flags(HIDDEN),
    p("shutdown-timeout", int(0, INT_MAX), "10"),
    p("repl-diskless-sync-max-replicas", int(0, INT_MAX), "0"),
    p("maxclients", int(1, u32::MAX as i64), "10000")
        .acts(num!(maxclients), "Most clients connected at once."),
    p("unixsocketperm", Ty::Octal { max: 0o777 }, "0")
        .flags(IMMUTABLE)
        .acts(
            Field {
                get: |c| format!("{:o}", c.unixsocketperm),
                set: |c, v| {
                    c.unixsocketperm = u32::from_str_radix(v, 8)
                        .map_err(|_| "argument couldn't be parsed into an integer".to_string())?;
                    Ok(())
                },
            },
            "Permissions of the Unix socket (octal).",
        ),
    p("socket-mark-id", int(0, u32::MAX as i64), "0").flags(IMMUTABLE),
    p("active-defrag-max-scan-fields", int(1, LONG_MAX), "1000"),
    p("slowlog-max-len", int(0, LONG_MAX), "128")
        .acts(num!(slowlog_max_len), "Entries kept by SLOWLOG."),
    p("acllog-max-len", int(0, LONG_MAX), "128")
        .acts(num!(acllog_max_len), "Entries kept by ACL LOG."),
    p("busy-reply-threshold", int(0, LONG_MAX), "5000")
        .alias("lua-time-limit")
        .acts(
            num!(busy_reply_threshold),
            "Milliseconds a script may run before other clients get -BUSY (SCRIPT KILL works then).",
        ),
    p("cluster-node-timeout", int(0, LONG_MAX), "15000").acts(
        Field {
            get: |c| c.cluster.node_timeout.to_string(),
            set: |c, v| {
                c.cluster.node_timeout = parse_num::<u64>(v)?.max(1);
                Ok(())
            },
        },
        "Milliseconds without a reply before a node counts as failing.",
    ),
    p("slowlog-log-slower-than", int(-1, LONG_MAX), "10000").acts(
        num!(slowlog_log_slower_than),
        "Log commands slower than this many microseconds (-1: off).",
    ),
    p("latency-monitor-threshold", int(0, LONG_MAX), "0").acts(
        num!(latency_monitor_threshold),
        "Record events slower than this many milliseconds for LATENCY (0: off).",
    ),
    p("proto-max-bulk-len", mem(1 << 20, LONG_MAX), "536870912").acts(
        num!(proto_max_bulk_len),
        "Largest bulk string a client may send.",
    ),
    p("stream-node-max-entries", int(0, LONG_MAX), "100").acts(
        num!(encoding.stream_node_entries),
        "Stream nodes hold at most this many entries (0: no limit).",
    ),
    p("repl-backlog-size", mem(1, LONG_MAX), "1048576").acts(
        Field {
            get: |c| c.repl_backlog_size.to_string(),
            set: |c, v| {
                c.repl_backlog_size = parse_num::<u64>(v)?.max(16 * 1024);
                Ok(())
            },
        },
        "Replication stream kept for replicas that reconnect.",
    ),
    p("maxmemory", mem(0, LONG_MAX), "0").acts(num!(maxmemory), "Memory limit for data (0: none)."),
    p("cluster-link-sendbuf-limit", mem(0, LONG_MAX), "0"),
    p("hash-max-listpack-entries", int(0, LONG_MAX), "128")
        .alias("hash-max-ziplist-entries")
        .acts(
            num!(encoding.hash_entries),
            "Hashes up to this many fields stay compact.",
        ),
    p("set-max-intset-entries", int(0, LONG_MAX), "512").acts(
        num!(encoding.set_intset_entries),
        "Integer sets up to this size stay compact.",
    ),
    p("zset-max-listpack-entries", int(0, LONG_MAX), "128")
        .alias("zset-max-ziplist-entries")
        .acts(
            num!(encoding.zset_entries),
            "Sorted sets up to this many members stay compact.",
        ),
    p("active-defrag-ignore-bytes", mem(1, LONG_MAX), "104857600"),
    p("hash-max-listpack-value", mem(0, LONG_MAX), "64")
        .alias("hash-max-ziplist-value")
        .acts(
            num!(encoding.hash_value),
            "Hashes whose values are all this short stay compact.",
        ),
    p("stream-node-max-bytes", mem(0, LONG_MAX), "4096").acts(
        num!(encoding.stream_node_bytes),
        "Stream nodes take at most this many bytes (0: no limit).",
    ),
    p("zset-max-listpack-value", mem(0, LONG_MAX), "64")
        .alias("zset-max-ziplist-value")
        .acts(
            num!(encoding.zset_value),
            "Sorted sets whose members are all this short stay compact.",
        ),
    p("hll-sparse-max-bytes", mem(0, LONG_MAX), "3000").acts(
        num!(hll_sparse_max_bytes),
        "Bytes up to which a HyperLogLog keeps its sparse encoding.",
    ),
    p("tracking-table-max-keys", int(0, LONG_MAX), "1000000").acts(
        num!(tracking_table_max_keys),
        "Keys remembered for client-side caching (CLIENT TRACKING); 0 = no limit.",
    ),
    p(
        "client-query-buffer-limit",
        mem(1 << 20, LONG_MAX),
        "1073741824",
    )
    .acts(
        num!(client_query_buffer_limit),
        "Largest query buffer of one client.",
    ),
    p("maxmemory-clients", Ty::MemOrPercent, "0").refuse(
        is_zero,
        "maxmemory-clients is not supported yet: clients are never evicted",
    ),
    p("repl-backlog-ttl", int(0, LONG_MAX), "3600"),
    p("auto-aof-rewrite-min-size", mem(0, LONG_MAX), "67108864"),
    p(
        "loading-process-events-interval-bytes",
        int(1024, INT_MAX),
        "2097152",
    )
    .flags(HIDDEN),
    // --- TLS (rustls; see src/server/tls.rs) ---
    p("tls-port", int(0, 65535), "0").acts(
        num!(tls.port),
        "TLS port (0: none; `port 0` with a tls-port is TLS only).",
    ),
    p("tls-session-cache-size", int(0, INT_MAX), "20480").acts(
        num!(tls.session_cache_size),
        "TLS sessions kept for resumption.",
    ),
    p("tls-session-cache-timeout", int(0, INT_MAX), "300").acts(
        num!(tls.session_cache_timeout),
        "Lifetime of a TLS session ticket (s).",
    ),
    p("tls-cluster", BOOL, "no")
        .flags(FIXED)
        .acts(flag!(tls.cluster), "The cluster bus speaks TLS."),
    p("tls-replication", BOOL, "no").acts(
        flag!(tls.replication),
        "A replica's link to its primary speaks TLS.",
    ),
    p(
        "tls-auth-clients",
        Ty::Enum(&["no", "yes", "optional"]),
        "yes",
    )
    .acts(
        text!(tls.auth_clients),
        "TLS clients must present a certificate the CA signed (no, yes, optional).",
    ),
    p("tls-prefer-server-ciphers", BOOL, "no").acts(
        flag!(tls.prefer_server_ciphers),
        "Pick the cipher suite by the server's order.",
    ),
    p("tls-session-caching", BOOL, "yes").acts(
        flag!(tls.session_caching),
        "Resume TLS sessions (cache and tickets).",
    ),
    p("tls-cert-file", STR, "").acts(
        text!(tls.cert_file),
        "Server certificate chain (PEM); also the client certificate of outgoing links.",
    ),
    p("tls-key-file", STR, "").acts(text!(tls.key_file), "Its private key (PEM)."),
    p("tls-key-file-pass", STR, "").acts(
        text!(tls.key_file_pass),
        "Password of an encrypted PKCS#8 tls-key-file.",
    ),
    p("tls-client-cert-file", STR, "").acts(
        text!(tls.client_cert_file),
        "Client certificate of outgoing links (replication, cluster bus).",
    ),
    p("tls-client-key-file", STR, "").acts(
        text!(tls.client_key_file),
        "Its private key (PEM).",
    ),
    p("tls-client-key-file-pass", STR, "").acts(
        text!(tls.client_key_file_pass),
        "Password of an encrypted PKCS#8 tls-client-key-file.",
    ),
    p("tls-dh-params-file", STR, ""),
    p("tls-ca-cert-file", STR, "").acts(
        text!(tls.ca_cert_file),
        "CA certificates (PEM) that client and peer certificates must chain to.",
    ),
    p("tls-ca-cert-dir", STR, "").acts(
        text!(tls.ca_cert_dir),
        "A directory of CA certificates (PEM files).",
    ),
    p("tls-protocols", STR, "").acts(
        text!(tls.protocols),
        "TLS versions offered: TLSv1.2 and/or TLSv1.3 (empty: both).",
    ),
    p("tls-ciphers", STR, "").acts(
        text!(tls.ciphers),
        "TLS 1.2 cipher suites, OpenSSL names separated by colons (empty: rustls's).",
    ),
    p("tls-ciphersuites", STR, "").acts(
        text!(tls.ciphersuites),
        "TLS 1.3 cipher suites, separated by colons (empty: rustls's).",
    ),
    // --- special ---
    p("dir", STR, ".").flags(PROTECTED).acts(
        Field {
            get: |c| c.dir.clone(),
            set: set_dir,
        },
        "Working directory: the RDB file (saves go to the present one; CONFIG SET takes an existing directory, a relative one from the present `dir`) and nodes.conf (the one at startup).",
    ),
    p("save", Ty::Custom(check_save), "").flags(MULTI_ARG).acts(
        text!(save),
        "Save points: `<seconds> <changes>` pairs; a BGSAVE starts once that many changes are that old (empty: none).",
    ),
    p(
        "client-output-buffer-limit",
        Ty::Custom(check_obuf),
        "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60",
    )
    .flags(MULTI_ARG)
    .acts(
        Field {
            get: |c| obuf_text(&c.client_output_buffer_limit),
            set: |c, v| {
                if v.is_empty() {
                    return Ok(());
                }
                parse_obuf_limits(v, &mut c.client_output_buffer_limit)
            },
        },
        "`class hard soft seconds`: disconnect clients whose replies pile up.",
    ),
    p(
        "oom-score-adj-values",
        Ty::Custom(check_oom_values),
        "0 200 800",
    )
    .flags(MULTI_ARG),
    p("notify-keyspace-events", Ty::Custom(check_notify), "").acts(
        Field {
            get: |c| crate::notify::format(c.notify_keyspace_events),
            set: |c, v| {
                c.notify_keyspace_events = crate::notify::parse(v)
                    .ok_or("Invalid event class character. Use 'Ag$lshzxeKEtmdn'.")?;
                Ok(())
            },
        },
        "Keyspace event classes published to `__keyspace@db__`/`__keyevent@db__` (Redis's letters).",
    ),
    p("bind", Ty::Custom(check_bind), "* -::*")
        .flags(MULTI_ARG)
        .acts(
            Field {
                get: |c| c.bind.join(" "),
                set: |c, v| {
                    c.bind = v.split_whitespace().map(String::from).collect();
                    Ok(())
                },
            },
            "Addresses to listen on (* = all IPv4, ::* = all IPv6, leading - = optional).",
        ),
    p("replicaof", Ty::Custom(check_replicaof), "")
        .alias("slaveof")
        .flags(IMMUTABLE | MULTI_ARG)
        .acts(
            Field {
                get: |c| {
                    c.replicaof
                        .as_ref()
                        .map(|(h, p)| format!("{h} {p}"))
                        .unwrap_or_default()
                },
                set: |c, v| {
                    c.replicaof = v
                        .split_once(' ')
                        .and_then(|(h, p)| Some((h.to_string(), p.parse().ok()?)));
                    Ok(())
                },
            },
            "`host port`: replicate from this primary at start.",
        ),
    p(
        "latency-tracking-info-percentiles",
        Ty::Custom(check_percentiles),
        "50 99 99.9",
    )
    .flags(MULTI_ARG),
    // --- shoal's own ---
    p("threads", int(0, 1024), "0")
        .alias("io-threads")
        .flags(FIXED | SHOAL)
        .acts(
            Field {
                get: |c| c.threads.to_string(),
                set: |c, v| {
                    let n: usize = parse_num(v)?;
                    c.threads = if n == 0 {
                        std::thread::available_parallelism().map_or(1, |n| n.get())
                    } else {
                        n
                    };
                    Ok(())
                },
            },
            "Worker threads (0: one per CPU).",
        ),
    p("shards", Ty::Custom(check_shards), "1024")
        .flags(FIXED | SHOAL)
        .acts(num!(shards), "Lock stripes per database (a power of two)."),
    p("log-format", Ty::Enum(&["text", "json"]), "text")
        .flags(FIXED | SHOAL)
        .acts(text!(log_format), "Log lines as text or JSON."),
    p("metrics-port", Ty::Custom(check_opt_port), "")
        .flags(FIXED | SHOAL)
        .acts(
            Field {
                get: |c| c.metrics_port.map(|p| p.to_string()).unwrap_or_default(),
                set: |c, v| {
                    c.metrics_port = if v.is_empty() {
                        None
                    } else {
                        Some(parse_num(v)?)
                    };
                    Ok(())
                },
            },
            "Serve Prometheus metrics on this port (0: any free port).",
        ),
    p("metrics-auth", BOOL, "no").flags(SHOAL).acts(
        flag!(metrics_auth),
        "The metrics port asks for an ACL user's credentials (HTTP Basic), as the data port does.",
    ),
    p("set-max-listpack-entries", int(0, LONG_MAX), "128")
        .flags(SHOAL)
        .acts(
            num!(encoding.set_entries),
            "Non-integer sets up to this size stay compact.",
        ),
    p("set-max-listpack-value", mem(0, LONG_MAX), "64")
        .flags(SHOAL)
        .acts(
            num!(encoding.set_value),
            "Sets whose members are all this short stay compact.",
        ),
    p("cluster-seeds", Ty::Custom(check_seeds), "")
        .flags(FIXED | SHOAL | MULTI_ARG)
        .acts(
            Field {
                get: |c| c.cluster.seeds.join(","),
                set: |c, v| {
                    c.cluster.seeds = v
                        .split(',')
                        .filter(|s| !s.is_empty())
                        .map(String::from)
                        .collect();
                    Ok(())
                },
            },
            "Nodes to meet at start, host:port[@busport],... (zero-touch formation).",
        ),
    p("cluster-bootstrap-primaries", int(0, 16384), "0")
        .flags(FIXED | SHOAL)
        .acts(
            num!(cluster.bootstrap_primaries),
            "Spread the slots once this many empty primaries know each other.",
        ),
    p("cluster-bootstrap-replicas", int(0, 16384), "0")
        .flags(FIXED | SHOAL)
        .acts(
            num!(cluster.bootstrap_replicas),
            "Then make empty primaries replicas until each primary has this many.",
        ),
    p("cluster-slot-stats-enabled", BOOL, "yes")
        .flags(SHOAL)
        .acts(
            flag!(cluster.slot_stats_enabled),
            "Charge keyed commands to their slot (CLUSTER SLOT-STATS).",
        ),
    p("cluster-auto-rebalance", BOOL, "no").flags(SHOAL).acts(
        flag!(cluster.auto_rebalance),
        "Give new empty primaries their share of slots (atomic migration).",
    ),
    p("ephemeral-ports", Ty::Custom(check_ephemeral), "")
        .flags(FIXED | SHOAL)
        .acts(
            Field {
                get: |c| {
                    let mut v = Vec::new();
                    if c.ephemeral_port {
                        v.push("port");
                    }
                    if c.tls.ephemeral_port {
                        v.push("tls-port");
                    }
                    v.join(",")
                },
                set: |c, v| {
                    c.ephemeral_port = v.split(',').any(|w| w == "port");
                    c.tls.ephemeral_port = v.split(',').any(|w| w == "tls-port");
                    Ok(())
                },
            },
            "`port`, `tls-port` or both (comma-separated): listen on free ports the system picks, logged at start (tests).",
        ),
];

/// `ephemeral-ports`: a comma-separated subset of `port`, `tls-port`.
fn check_ephemeral(v: &str) -> Result<String, String> {
    let mut out: Vec<&str> = Vec::new();
    for w in v.split(',').map(str::trim).filter(|w| !w.is_empty()) {
        let w = match w.to_ascii_lowercase().as_str() {
            "port" => "port",
            "tls-port" => "tls-port",
            _ => return Err(format!("'{w}' is not port or tls-port")),
        };
        if !out.contains(&w) {
            out.push(w);
        }
    }
    out.sort_by_key(|w| *w != "port");
    Ok(out.join(","))
}

fn check_policy(v: &str) -> Result<String, String> {
    parse_policy(v).map(|p| p.name().to_string())
}

/// `shutdown-on-sig*`: `default`, or `save`/`nosave` with `now` and `force`.
fn check_shutdown_flags(v: &str) -> Result<String, String> {
    let words: Vec<String> = v
        .split_whitespace()
        .map(|w| w.to_ascii_lowercase())
        .collect();
    let ok = match words.as_slice() {
        [d] if d == "default" => true,
        ws => {
            !ws.is_empty()
                && ws
                    .iter()
                    .all(|w| matches!(w.as_str(), "save" | "nosave" | "now" | "force"))
                && !(ws.iter().any(|w| w == "save") && ws.iter().any(|w| w == "nosave"))
        }
    };
    if ok {
        Ok(words.join(" "))
    } else {
        Err("argument(s) must be one of the following: default, save, nosave, now, force".into())
    }
}

/// The README's parameter reference, generated from the table (a test keeps README.md equal to
/// it): what shoal acts on, what it refuses, what it only accepts.
pub fn markdown() -> String {
    let defaults = Config::default();
    let mut s = String::from("| parameter | default | meaning |\n|---|---|---|\n");
    let shown_default = |p: &Param| -> String {
        let v = if p.name == "threads" {
            "CPU count".to_string()
        } else if p.name == "dir" {
            // The default resolved is the directory the server starts in.
            p.default.to_string()
        } else {
            defaults.get(p)
        };
        if v.is_empty() {
            "(none)".into()
        } else {
            format!("`{v}`")
        }
    };
    for p in PARAMS.iter().filter(|p| p.field.is_some()) {
        let mut name = format!("`{}`", p.name);
        if let Some(a) = p.alias {
            name.push_str(&format!(" (`{a}`)"));
        }
        let mut notes = Vec::new();
        if p.is(SHOAL) {
            notes.push("shoal's own");
        }
        if p.is(IMMUTABLE) || p.is(FIXED) {
            notes.push("set at startup");
        }
        let notes = if notes.is_empty() {
            String::new()
        } else {
            format!(" ({})", notes.join(", "))
        };
        s.push_str(&format!(
            "| {name} | {} | {}{notes} |\n",
            shown_default(p),
            p.doc
        ));
    }
    s.push_str("\nTaken only at the value shoal can honour (anything else is an error, never an OK that\ndoes nothing):\n\n");
    for p in PARAMS
        .iter()
        .filter(|p| p.refuse.is_some() && p.field.is_none())
    {
        if let Some((_, why)) = p.refuse {
            s.push_str(&format!("- `{}` {}: {why}\n", p.name, shown_default(p)));
        }
    }
    let accepted: Vec<String> = PARAMS
        .iter()
        .filter(|p| p.field.is_none() && p.refuse.is_none() && !p.is(HIDDEN))
        .map(|p| format!("`{}`", p.name))
        .collect();
    s.push_str(&format!(
        "\nAccepted and reported by CONFIG GET, with no effect in shoal (what they tune does not exist\nhere, or exists only once persistence, scripting, TLS or ACLs land): {}.\n",
        accepted.join(", ")
    ));
    s
}

/// The parameter with this name or alias.
pub fn find_param(name: &str) -> Option<&'static Param> {
    PARAMS.iter().find(|p| p.answers_to(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_defaults_valid() {
        let mut seen = std::collections::HashSet::new();
        for p in PARAMS {
            assert!(seen.insert(p.name), "duplicate {}", p.name);
            if let Some(a) = p.alias {
                assert!(seen.insert(a), "duplicate alias {a}");
            }
            let canon = p.ty.check(p.default);
            assert_eq!(canon.as_deref(), Ok(p.default), "default of {}", p.name);
            if let Some((honoured, _)) = p.refuse {
                assert!(honoured(p.default), "{} refuses its default", p.name);
            }
            assert!(
                p.field.is_none() || !p.doc.is_empty(),
                "{} has no doc",
                p.name
            );
        }
    }

    #[test]
    fn every_redis_7_parameter_is_known() {
        // `CONFIG GET *` of redis-server 7.0.15 (names only).
        let redis = include_str!("redis-7.0-params.txt");
        for name in redis.lines().filter(|l| !l.is_empty()) {
            assert!(find_param(name).is_some(), "{name} unknown");
        }
    }

    #[test]
    fn defaults_round_trip_through_config() {
        let c = Config::default();
        for p in PARAMS {
            if p.name == "threads" || p.name == "dir" {
                continue;
            }
            assert_eq!(c.get(p), p.default, "{}", p.name);
        }
        assert!(c.threads >= 1);
        // `dir` shows the absolute path, as Redis's getcwd().
        let cwd = std::fs::canonicalize(".").unwrap();
        assert_eq!(c.dir, cwd.to_string_lossy());
    }

    #[test]
    fn dir_is_checked_and_resolved_as_chdir_would() {
        let mut c = Config::default();
        let p = find_param("dir").unwrap();
        let root = std::env::temp_dir().join(format!("shoal-dir-unit-{}", std::process::id()));
        std::fs::create_dir_all(root.join("sub")).unwrap();
        std::fs::write(root.join("file"), b"x").unwrap();
        let root = std::fs::canonicalize(&root).unwrap();
        c.set(p, root.to_str().unwrap()).unwrap();
        assert_eq!(c.dir, root.to_string_lossy());
        c.set(p, "sub").unwrap();
        assert_eq!(c.dir, root.join("sub").to_string_lossy());
        assert_eq!(c.set(p, "nope").unwrap_err(), "No such file or directory");
        assert_eq!(c.set(p, "../file").unwrap_err(), "Not a directory");
        assert_eq!(c.dir, root.join("sub").to_string_lossy());
        let _ = std::fs::remove_dir_all(&root);
    }

    #[test]
    fn refused_values_are_errors_and_change_nothing() {
        let mut c = Config::default();
        let ao = find_param("appendonly").unwrap();
        assert!(c.set(ao, "yes").unwrap_err().contains("not supported"));
        assert_eq!(c.get(ao), "no");
        assert!(c.set(ao, "no").is_ok());
        let save = find_param("save").unwrap();
        assert!(c.set(save, "900").is_err());
        assert!(c.set(save, "900 1").is_ok());
        assert_eq!(c.save, "900 1");
    }

    #[test]
    fn aliases_reach_the_same_value() {
        let mut c = Config::default();
        let z = find_param("zset-max-ziplist-entries").unwrap();
        assert_eq!(z.name, "zset-max-listpack-entries");
        c.set(z, "16").unwrap();
        assert_eq!(c.encoding.zset_entries, 16);
        let l = find_param("lua-time-limit").unwrap();
        c.set(l, "100").unwrap();
        assert_eq!(c.get(find_param("busy-reply-threshold").unwrap()), "100");
    }
}
