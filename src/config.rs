//! Command line and config file, with redis-server's option names and value syntax.
//!
//! `shoal-server [shoal.conf] [--option value ...]`: the file's directives are turned into
//! `--directive value` arguments placed before the command line's, so the command line wins.

use std::path::PathBuf;

use clap::{ArgAction, Parser};
use shoal_commands::config::{
    Config, parse_in_range, parse_loglevel, parse_memory, parse_policy, parse_yes_no,
};

fn parse_u16(s: &str) -> Result<u16, String> {
    s.parse()
        .map_err(|_| format!("argument must be a port number (0-65535), got '{s}'"))
}

fn parse_shards(s: &str) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(n) if n.is_power_of_two() && n <= 1 << 16 => Ok(n),
        _ => Err(format!(
            "argument must be a power of two between 1 and 65536, got '{s}'"
        )),
    }
}

fn parse_threads(s: &str) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(n) if (1..=1024).contains(&n) => Ok(n),
        _ => Err(format!("argument must be between 1 and 1024, got '{s}'")),
    }
}

fn parse_databases(s: &str) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(n) if (1..=1_000_000).contains(&n) => Ok(n),
        _ => Err(format!("argument must be between 1 and 1000000, got '{s}'")),
    }
}

#[derive(Parser, Debug)]
#[command(
    name = "shoal-server",
    version,
    about = "Redis-compatible, distributed, in-memory cache server",
    args_override_self = true
)]
pub struct Cli {
    /// Config file in redis.conf syntax (command-line options override it).
    pub config_file: Option<PathBuf>,
    /// TCP port; 0 binds an ephemeral port and logs it.
    #[arg(long, value_parser = parse_u16, default_value = "6379")]
    pub port: u16,
    /// Addresses to listen on (`*` = every IPv4 address, a leading `-` = skip if unavailable).
    #[arg(long, num_args = 1.., default_values = ["*", "-::*"])]
    pub bind: Vec<String>,
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..), default_value = "10000")]
    pub maxclients: u64,
    /// Close idle clients after this many seconds (0 = never).
    #[arg(long, default_value = "0")]
    pub timeout: u64,
    #[arg(long, value_parser = parse_databases, default_value = "16")]
    pub databases: usize,
    #[arg(long, value_parser = parse_loglevel, default_value = "notice")]
    pub loglevel: String,
    /// Log lines as `text` or `json`.
    #[arg(long = "log-format", default_value = "text", value_parser = ["text", "json"])]
    pub log_format: String,
    #[arg(long = "proto-max-bulk-len", value_parser = parse_memory, default_value = "512mb")]
    pub proto_max_bulk_len: u64,
    #[arg(long = "client-query-buffer-limit", value_parser = parse_memory, default_value = "1gb")]
    pub client_query_buffer_limit: u64,
    /// `<class> <hard> <soft> <seconds>`; may be given once per class, as in redis.conf.
    #[arg(long = "client-output-buffer-limit", num_args = 4, action = ArgAction::Append)]
    pub client_output_buffer_limit: Vec<String>,
    #[arg(long)]
    pub requirepass: Option<String>,
    /// Worker threads (default: CPU count).
    #[arg(long, value_parser = parse_threads)]
    pub threads: Option<usize>,
    /// Lock stripes per database (power of two).
    #[arg(long, value_parser = parse_shards, default_value = "1024")]
    pub shards: usize,
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=500), default_value = "10")]
    pub hz: u64,
    /// Accepted for compatibility: shoal keeps no snapshots.
    #[arg(long, num_args = 0.., allow_hyphen_values = false)]
    pub save: Vec<String>,
    /// Accepted for compatibility: shoal keeps no append-only file (only `no`).
    #[arg(long, value_parser = parse_yes_no, action = ArgAction::Set, default_value = "no")]
    pub appendonly: bool,
    #[arg(long, value_parser = parse_yes_no, action = ArgAction::Set, default_value = "no")]
    pub daemonize: bool,
    #[arg(long = "tcp-keepalive", default_value = "300")]
    pub tcp_keepalive: u64,
    #[arg(long = "tcp-backlog", default_value = "511")]
    pub tcp_backlog: u64,
    #[arg(long, default_value = ".")]
    pub dir: String,
    #[arg(long, default_value = "")]
    pub logfile: String,
    #[arg(long, value_parser = parse_memory, default_value = "0")]
    pub maxmemory: u64,
    #[arg(long = "maxmemory-policy", default_value = "noeviction", value_parser = parse_policy)]
    pub maxmemory_policy: shoal_store::Policy,
    #[arg(long = "maxmemory-samples", default_value = "5", value_parser = |s: &str| parse_in_range(s, 1, 64))]
    pub maxmemory_samples: u32,
    #[arg(long = "maxmemory-eviction-tenacity", default_value = "10", value_parser = |s: &str| parse_in_range(s, 0, 100))]
    pub maxmemory_eviction_tenacity: u32,
    #[arg(long = "lfu-log-factor", default_value = "10", value_parser = |s: &str| parse_in_range(s, 0, i32::MAX as u32))]
    pub lfu_log_factor: u32,
    #[arg(long = "lfu-decay-time", default_value = "1", value_parser = |s: &str| parse_in_range(s, 0, i32::MAX as u32))]
    pub lfu_decay_time: u32,
    #[arg(long = "protected-mode", value_parser = parse_yes_no, action = ArgAction::Set, default_value = "yes")]
    pub protected_mode: bool,
    #[arg(long = "replica-read-only", alias = "slave-read-only", value_parser = parse_yes_no, action = ArgAction::Set, default_value = "yes")]
    pub replica_read_only: bool,
    #[arg(long = "repl-backlog-size", value_parser = parse_memory, default_value = "1mb")]
    pub repl_backlog_size: u64,
    #[arg(long)]
    pub masterauth: Option<String>,
    /// `host port`: replicate from this primary at start.
    #[arg(long, alias = "slaveof", num_args = 2, value_names = ["HOST", "PORT"])]
    pub replicaof: Option<Vec<String>>,
    /// Log commands slower than this many microseconds (negative: off, 0: all).
    #[arg(
        long = "slowlog-log-slower-than",
        default_value = "10000",
        allow_hyphen_values = true
    )]
    pub slowlog_log_slower_than: i64,
    #[arg(long = "slowlog-max-len", default_value = "128")]
    pub slowlog_max_len: u64,
    /// Serve Prometheus metrics on this port (`/metrics`; off unless set; 0 = any free port).
    #[arg(long = "metrics-port", value_parser = parse_u16)]
    pub metrics_port: Option<u16>,
    #[arg(long = "cluster-enabled", value_parser = parse_yes_no, action = ArgAction::Set, default_value = "no")]
    pub cluster_enabled: bool,
    /// Cluster state file, relative to --dir.
    #[arg(long = "cluster-config-file", default_value = "nodes.conf")]
    pub cluster_config_file: String,
    /// Milliseconds without a reply before a node counts as failing.
    #[arg(long = "cluster-node-timeout", value_parser = clap::value_parser!(u64).range(1..), default_value = "15000")]
    pub cluster_node_timeout: u64,
    /// Cluster bus port (0 = port + 10000).
    #[arg(long = "cluster-port", value_parser = parse_u16, default_value = "0")]
    pub cluster_port: u16,
    #[arg(long = "cluster-announce-ip")]
    pub cluster_announce_ip: Option<String>,
    #[arg(long = "cluster-announce-port", value_parser = parse_u16)]
    pub cluster_announce_port: Option<u16>,
    #[arg(long = "cluster-announce-bus-port", value_parser = parse_u16)]
    pub cluster_announce_bus_port: Option<u16>,
    #[arg(long = "cluster-announce-hostname")]
    pub cluster_announce_hostname: Option<String>,
    #[arg(long = "cluster-preferred-endpoint-type", default_value = "ip", value_parser = ["ip", "hostname", "unknown-endpoint"])]
    pub cluster_preferred_endpoint_type: String,
    #[arg(long = "cluster-require-full-coverage", value_parser = parse_yes_no, action = ArgAction::Set, default_value = "yes")]
    pub cluster_require_full_coverage: bool,
    #[arg(long = "cluster-allow-reads-when-down", value_parser = parse_yes_no, action = ArgAction::Set, default_value = "no")]
    pub cluster_allow_reads_when_down: bool,
    #[arg(long = "cluster-slot-stats-enabled", value_parser = parse_yes_no, action = ArgAction::Set, default_value = "yes")]
    pub cluster_slot_stats_enabled: bool,
    /// Nodes to meet at start, `host:port[@busport],...` (zero-touch formation).
    #[arg(long = "cluster-seeds", value_delimiter = ',', value_parser = parse_seed)]
    pub cluster_seeds: Vec<String>,
    /// Spread the slots once this many empty primaries know each other (0 = off).
    #[arg(long = "cluster-bootstrap-primaries", default_value = "0")]
    pub cluster_bootstrap_primaries: usize,
    /// Once the slots are spread, an empty primary replicates the slot owner with the fewest
    /// replicas while that one has fewer than this many (0 = off).
    #[arg(long = "cluster-bootstrap-replicas", default_value = "0")]
    pub cluster_bootstrap_replicas: usize,
    #[arg(
        long = "cluster-replica-validity-factor",
        alias = "cluster-slave-validity-factor",
        default_value = "10"
    )]
    pub cluster_replica_validity_factor: u32,
    #[arg(long = "cluster-migration-barrier", default_value = "1")]
    pub cluster_migration_barrier: u32,
    #[arg(long = "cluster-allow-replica-migration", value_parser = parse_yes_no, action = ArgAction::Set, default_value = "yes")]
    pub cluster_allow_replica_migration: bool,
    /// Move slots to new empty primaries by itself (atomic slot migration).
    #[arg(long = "cluster-auto-rebalance", value_parser = parse_yes_no, action = ArgAction::Set, default_value = "no")]
    pub cluster_auto_rebalance: bool,
    #[arg(long = "cluster-replica-no-failover", alias = "cluster-slave-no-failover", value_parser = parse_yes_no, action = ArgAction::Set, default_value = "no")]
    pub cluster_replica_no_failover: bool,
}

/// `host:port` or `host:port@busport`.
fn parse_seed(s: &str) -> Result<String, String> {
    let (hp, bus) = match s.split_once('@') {
        Some((hp, b)) => (hp, Some(b)),
        None => (s, None),
    };
    let ok = hp
        .rsplit_once(':')
        .is_some_and(|(h, p)| !h.is_empty() && p.parse::<u16>().is_ok())
        && bus.is_none_or(|b| b.parse::<u16>().is_ok());
    if ok {
        Ok(s.to_string())
    } else {
        Err(format!("seed must be host:port[@busport], got '{s}'"))
    }
}

impl Cli {
    pub fn into_config(self) -> Result<Config, String> {
        if self.appendonly {
            return Err("appendonly yes is not supported: shoal is an in-memory cache".into());
        }
        if self.daemonize {
            return Err("daemonize yes is not supported: run shoal under a supervisor".into());
        }
        for b in &self.bind {
            let host = b.strip_prefix('-').unwrap_or(b);
            if !matches!(host, "*" | "::*" | "localhost")
                && host.parse::<std::net::IpAddr>().is_err()
            {
                return Err(format!("Invalid bind address '{b}'"));
            }
        }
        let replicaof = match self.replicaof.as_deref() {
            None => None,
            Some([host, port]) => Some((
                host.clone(),
                port.parse::<u16>()
                    .ok()
                    .filter(|p| *p > 0)
                    .ok_or_else(|| format!("replicaof: invalid port '{port}'"))?,
            )),
            Some(_) => return Err("replicaof takes a host and a port".into()),
        };
        let d = Config::default();
        let mut obuf = d.client_output_buffer_limit;
        for class in self.client_output_buffer_limit.chunks(4) {
            shoal_commands::config::parse_obuf_limits(&class.join(" "), &mut obuf)
                .map_err(|e| format!("client-output-buffer-limit: {e}"))?;
        }
        Ok(Config {
            port: self.port,
            bind: self.bind,
            maxclients: self.maxclients,
            timeout: self.timeout,
            databases: self.databases,
            loglevel: self.loglevel,
            log_format: self.log_format,
            proto_max_bulk_len: self.proto_max_bulk_len,
            client_query_buffer_limit: self.client_query_buffer_limit,
            client_output_buffer_limit: obuf,
            requirepass: self.requirepass.filter(|p| !p.is_empty()),
            threads: self.threads.unwrap_or(d.threads),
            shards: self.shards,
            hz: self.hz,
            save: self.save.join(" "),
            appendonly: false,
            tcp_keepalive: self.tcp_keepalive,
            tcp_backlog: self.tcp_backlog,
            dir: self.dir,
            maxmemory: self.maxmemory,
            maxmemory_policy: self.maxmemory_policy,
            maxmemory_samples: self.maxmemory_samples,
            maxmemory_eviction_tenacity: self.maxmemory_eviction_tenacity,
            lfu_log_factor: self.lfu_log_factor,
            lfu_decay_time: self.lfu_decay_time,
            protected_mode: self.protected_mode,
            replica_read_only: self.replica_read_only,
            repl_backlog_size: self.repl_backlog_size.max(16 * 1024),
            masterauth: self.masterauth.filter(|p| !p.is_empty()),
            replicaof,
            slowlog_log_slower_than: self.slowlog_log_slower_than,
            slowlog_max_len: self.slowlog_max_len,
            metrics_port: self.metrics_port,
            cluster: shoal_commands::config::ClusterConfig {
                enabled: self.cluster_enabled,
                config_file: self.cluster_config_file,
                node_timeout: self.cluster_node_timeout,
                port: self.cluster_port,
                announce_ip: self.cluster_announce_ip.filter(|s| !s.is_empty()),
                announce_port: self.cluster_announce_port.filter(|p| *p != 0),
                announce_bus_port: self.cluster_announce_bus_port.filter(|p| *p != 0),
                announce_hostname: self.cluster_announce_hostname.filter(|s| !s.is_empty()),
                preferred_endpoint_type: self.cluster_preferred_endpoint_type,
                require_full_coverage: self.cluster_require_full_coverage,
                allow_reads_when_down: self.cluster_allow_reads_when_down,
                seeds: self.cluster_seeds,
                bootstrap_primaries: self.cluster_bootstrap_primaries,
                bootstrap_replicas: self.cluster_bootstrap_replicas,
                slot_stats_enabled: self.cluster_slot_stats_enabled,
                replica_validity_factor: self.cluster_replica_validity_factor as u64,
                migration_barrier: self.cluster_migration_barrier as u64,
                allow_replica_migration: self.cluster_allow_replica_migration,
                auto_rebalance: self.cluster_auto_rebalance,
                replica_no_failover: self.cluster_replica_no_failover,
            },
        })
    }
}

/// Turns a redis.conf text into `--directive arg...` arguments.
pub fn config_file_args(text: &str, path: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let words = shoal_resp::split_args(line.as_bytes())
            .map_err(|_| format!("{path}:{}: unbalanced quotes in configuration line", n + 1))?;
        let mut words = words
            .into_iter()
            .map(|w| String::from_utf8_lossy(&w).into_owned());
        let Some(name) = words.next() else { continue };
        out.push(format!("--{}", name.to_ascii_lowercase()));
        out.extend(words);
    }
    Ok(out)
}

/// Parses the process arguments (config file first, then flags). Errors are one line.
pub fn load(args: Vec<String>) -> Result<Config, String> {
    let mut argv = args.into_iter();
    let prog = argv.next().unwrap_or_else(|| "shoal-server".into());
    let rest: Vec<String> = argv.collect();
    let mut merged = vec![prog];
    let mut flags = rest.as_slice();
    if let Some(first) = rest.first()
        && !first.starts_with("--")
    {
        let text = std::fs::read_to_string(first)
            .map_err(|e| format!("can't open config file '{first}': {e}"))?;
        merged.extend(config_file_args(&text, first)?);
        flags = &rest[1..];
    }
    merged.extend(flags.iter().cloned());
    let cli = match Cli::try_parse_from(&merged) {
        Ok(c) => c,
        Err(e) => {
            use clap::error::ErrorKind;
            if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) {
                let _ = e.print();
                std::process::exit(0);
            }
            let text = e.to_string();
            let first = text.lines().next().unwrap_or("invalid arguments");
            return Err(first.trim_start_matches("error: ").to_string());
        }
    };
    cli.into_config()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(v: &[&str]) -> Vec<String> {
        std::iter::once("shoal-server")
            .chain(v.iter().copied())
            .map(String::from)
            .collect()
    }

    #[test]
    fn redis_style_flags() {
        let c = load(args(&[
            "--port",
            "7000",
            "--bind",
            "127.0.0.1",
            "--maxclients",
            "100",
            "--timeout",
            "0",
            "--databases",
            "4",
            "--loglevel",
            "notice",
            "--proto-max-bulk-len",
            "512mb",
            "--client-query-buffer-limit",
            "1gb",
            "--shards",
            "64",
            "--threads",
            "2",
        ]))
        .unwrap();
        assert_eq!(
            (c.port, c.maxclients, c.databases, c.shards, c.threads),
            (7000, 100, 4, 64, 2)
        );
        assert_eq!(c.bind, vec!["127.0.0.1"]);
        assert_eq!(c.client_query_buffer_limit, 1 << 30);
    }

    #[test]
    fn bad_values_are_one_line_errors() {
        for bad in [
            &["--port", "99999"][..],
            &["--shards", "3"],
            &["--appendonly", "maybe"],
            &["--nosuch", "1"],
            &["--databases", "0"],
        ] {
            let e = load(args(bad)).unwrap_err();
            assert!(!e.contains('\n'), "{e}");
        }
    }

    #[test]
    fn config_file_then_flags() {
        let dir = std::env::temp_dir().join(format!("shoal-conf-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("shoal.conf");
        std::fs::write(
            &p,
            "# comment\nport 7001\nsave \"\"\nrequirepass \"a b\"\ndatabases 8\n",
        )
        .unwrap();
        let c = load(args(&[p.to_str().unwrap(), "--port", "7002"])).unwrap();
        assert_eq!((c.port, c.databases), (7002, 8));
        assert_eq!(c.requirepass.as_deref(), Some("a b"));
    }
}
