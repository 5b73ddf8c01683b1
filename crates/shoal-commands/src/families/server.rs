//! Server commands: COMMAND (its handler is `crate::introspect::command`), INFO, CONFIG, DBSIZE,
//! FLUSHDB, FLUSHALL, TIME, SHUTDOWN, DEBUG, SAVE, LASTSAVE, SLOWLOG, MONITOR. MEMORY, LATENCY and
//! LOLWUT are in `diagnostics`.

use std::fmt::Write as _;
use std::sync::atomic::Ordering::Relaxed;

use shoal_resp::Args;
use shoal_store::ShardId;

use crate::ctx::{Ctx, unix_ms};
use crate::errors::{self, CmdError, CmdResult};
use crate::families::connection::REDIS_VERSION;
use crate::spec::{Group, Locking, Spec, cmd, flags::*, table};
use crate::util::{eq_ic, float};

/// (rss bytes, user cpu seconds, system cpu seconds) of this process, from /proc.
pub fn process_usage() -> (u64, f64, f64) {
    let page = 4096u64;
    let rss = std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| {
            s.split_whitespace()
                .nth(1)
                .and_then(|x| x.parse::<u64>().ok())
        })
        .map(|p| p * page)
        .unwrap_or(0);
    let (u, s) = std::fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|st| {
            let rest = &st[st.rfind(')')? + 2..];
            let f: Vec<&str> = rest.split_whitespace().collect();
            Some((
                f.get(11)?.parse::<f64>().ok()? / 100.0,
                f.get(12)?.parse::<f64>().ok()? / 100.0,
            ))
        })
        .unwrap_or((0.0, 0.0));
    (rss, u, s)
}

/// Physical memory of the machine (/proc/meminfo MemTotal), 0 if unknown.
fn system_memory() -> u64 {
    std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .find(|l| l.starts_with("MemTotal:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
        })
        .map_or(0, |kb| kb * 1024)
}

fn human(bytes: u64) -> String {
    let b = bytes as f64;
    if b < 1024.0 {
        format!("{bytes}B")
    } else if b < 1024.0 * 1024.0 {
        format!("{:.2}K", b / 1024.0)
    } else if b < 1024.0 * 1024.0 * 1024.0 {
        format!("{:.2}M", b / 1048576.0)
    } else {
        format!("{:.2}G", b / 1073741824.0)
    }
}

const DEFAULT_SECTIONS: &[&str] = &[
    "server",
    "clients",
    "memory",
    "persistence",
    "stats",
    "replication",
    "cpu",
    "errorstats",
    "cluster",
    "keyspace",
];
const ALL_SECTIONS: &[&str] = &[
    "server",
    "clients",
    "memory",
    "persistence",
    "stats",
    "replication",
    "cpu",
    "commandstats",
    "errorstats",
    "latencystats",
    "cluster",
    "keyspace",
];

/// The latency (µs, the bucket's upper bound) under which `q` of the calls fall.
fn percentile(b: &[u64; crate::stats::LATENCY_BUCKETS], q: f64) -> f64 {
    let total: u64 = b.iter().sum();
    let want = (total as f64 * q).ceil() as u64;
    let mut cum = 0;
    for (i, n) in b.iter().enumerate() {
        cum += n;
        if cum >= want {
            return (1u64 << i) as f64;
        }
    }
    (1u64 << (crate::stats::LATENCY_BUCKETS - 1)) as f64
}

/// INFO [section ...]
fn info(ctx: &mut Ctx<'_>, a: Args<'_>) -> CmdResult {
    let mut want: Vec<String> = Vec::new();
    for s in a.iter().skip(1) {
        let s = String::from_utf8_lossy(s).to_ascii_lowercase();
        match s.as_str() {
            "all" | "everything" => want.extend(ALL_SECTIONS.iter().map(|x| x.to_string())),
            "default" => want.extend(DEFAULT_SECTIONS.iter().map(|x| x.to_string())),
            _ => want.push(s),
        }
    }
    if want.is_empty() {
        want.extend(DEFAULT_SECTIONS.iter().map(|x| x.to_string()));
    }
    let text = info_text(ctx, &want);
    ctx.out.verbatim(&text);
    Ok(())
}

/// INFO's text: bytes, as errorstats may name an error code that is not UTF-8 (a script's).
fn info_text(ctx: &mut Ctx<'_>, want: &[String]) -> Vec<u8> {
    let sh = ctx.shared;
    let stats = sh.stats.snapshot();
    let cfg = sh.config.read().clone();
    let uptime = sh.started.elapsed().as_secs();
    let (rss, cpu_u, cpu_s) = process_usage();
    let mut o = String::new();
    // What is written so far, when a section had bytes to add (`o` then goes on after them).
    let mut bytes: Vec<u8> = Vec::new();
    let mut first = true;
    let mut section = |o: &mut String, name: &str| {
        if !first {
            o.push_str("\r\n");
        }
        first = false;
        let _ = write!(o, "# {name}\r\n");
    };
    for w in ALL_SECTIONS.iter().filter(|s| want.iter().any(|w| w == *s)) {
        match *w {
            "server" => {
                section(&mut o, "Server");
                let _ = write!(
                    o,
                    "redis_version:{REDIS_VERSION}\r\nshoal_version:{}\r\nredis_git_sha1:00000000\r\nredis_git_dirty:0\r\nredis_build_id:0\r\nredis_mode:{}\r\nos:{} {}\r\narch_bits:64\r\nmultiplexing_api:epoll\r\nprocess_id:{}\r\nrun_id:{}\r\ntcp_port:{}\r\nserver_time_usec:{}\r\nuptime_in_seconds:{uptime}\r\nuptime_in_days:{}\r\nhz:{}\r\nconfigured_hz:{}\r\nexecutable:shoal-server\r\nio_threads_active:{}\r\nshards:{}\r\n",
                    env!("CARGO_PKG_VERSION"),
                    if sh.cluster.is_some() {
                        "cluster"
                    } else {
                        "standalone"
                    },
                    std::env::consts::OS,
                    std::env::consts::ARCH,
                    std::process::id(),
                    sh.run_id,
                    sh.tcp_port.load(Relaxed),
                    unix_ms() * 1000,
                    uptime / 86400,
                    cfg.hz,
                    cfg.hz,
                    cfg.threads,
                    ctx.ks.store.shards_per_db(),
                );
            }
            "clients" => {
                section(&mut o, "Clients");
                let _ = write!(
                    o,
                    "connected_clients:{}\r\ncluster_connections:0\r\nmaxclients:{}\r\nclient_recent_max_input_buffer:0\r\nclient_recent_max_output_buffer:0\r\nblocked_clients:{}\r\ntracking_clients:{}\r\nclients_in_timeout_table:0\r\n",
                    sh.clients.len(),
                    cfg.maxclients,
                    sh.blocking.blocked.load(Relaxed) + sh.pause.waiting.load(Relaxed),
                    sh.tracking.info().0,
                );
            }
            "memory" => {
                section(&mut o, "Memory");
                let used = shoal_store::mem::used() as u64;
                let peak = shoal_store::mem::note_peak() as u64;
                let _ = write!(
                    o,
                    "used_memory:{used}\r\nused_memory_human:{}\r\nused_memory_rss:{rss}\r\nused_memory_rss_human:{}\r\nused_memory_peak:{peak}\r\nused_memory_peak_human:{}\r\nused_memory_peak_perc:{:.2}%\r\nused_memory_startup:{}\r\n",
                    human(used),
                    human(rss),
                    human(peak),
                    if peak > 0 {
                        used as f64 * 100.0 / peak as f64
                    } else {
                        0.0
                    },
                    sh.startup_memory,
                );
                let sc = &sh.scripts;
                let lua = sc.lua_bytes.load(std::sync::atomic::Ordering::Relaxed) as u64;
                let eval_bytes = sc.cache_bytes.load(std::sync::atomic::Ordering::Relaxed) as u64;
                let (libs, funcs) = sc.functions.counts();
                let _ = write!(
                    o,
                    "used_memory_lua:{lua}\r\nused_memory_vm_eval:{lua}\r\nused_memory_lua_human:{}\r\nused_memory_scripts_eval:{eval_bytes}\r\nnumber_of_cached_scripts:{}\r\nnumber_of_functions:{funcs}\r\nnumber_of_libraries:{libs}\r\nused_memory_vm_functions:0\r\nused_memory_vm_total:{lua}\r\nused_memory_vm_total_human:{}\r\nused_memory_functions:0\r\nused_memory_scripts:{eval_bytes}\r\nused_memory_scripts_human:{}\r\n",
                    human(lua),
                    sc.count(),
                    human(lua),
                    human(eval_bytes),
                );
                let alloc = shoal_store::mem::allocator_stats();
                if let Some(a) = alloc {
                    let _ = write!(
                        o,
                        "allocator_allocated:{}\r\nallocator_active:{}\r\nallocator_resident:{}\r\nallocator_frag_ratio:{:.2}\r\n",
                        a.allocated,
                        a.active,
                        a.resident,
                        a.active as f64 / a.allocated.max(1) as f64,
                    );
                }
                let _ = write!(
                    o,
                    "total_system_memory:{}\r\ntotal_system_memory_human:{}\r\nmaxmemory:{}\r\nmaxmemory_human:{}\r\nmaxmemory_policy:{}\r\nmaxmemory_samples:{}\r\nmaxmemory_eviction_tenacity:{}\r\nmem_fragmentation_ratio:{:.2}\r\nmem_allocator:{}\r\nmem_not_counted_for_evict:0\r\nlazyfree_pending_objects:{}\r\nlazyfreed_objects:{}\r\n",
                    system_memory(),
                    human(system_memory()),
                    cfg.maxmemory,
                    human(cfg.maxmemory),
                    cfg.maxmemory_policy.name(),
                    cfg.maxmemory_samples,
                    cfg.maxmemory_eviction_tenacity,
                    rss as f64 / used.max(1) as f64,
                    alloc.map_or("libc", |a| a.name),
                    shoal_store::lazyfree::pending(),
                    shoal_store::lazyfree::freed(),
                );
            }
            "persistence" => {
                section(&mut o, "Persistence");
                o.push_str(&crate::persist::info_text(ctx.shared));
            }
            "stats" => {
                section(&mut o, "Stats");
                let expired = sh
                    .store
                    .live_shards()
                    .map(|id| ctx.ks.shard_at(id).expired_total)
                    .sum::<u64>();
                let (ps_channels, ps_patterns, ps_shard) = sh.pubsub.counts();
                let tracked = sh.tracking.info();
                let _ = write!(
                    o,
                    "total_connections_received:{}\r\ntotal_commands_processed:{}\r\ninstantaneous_ops_per_sec:0\r\ntotal_net_input_bytes:{}\r\ntotal_net_output_bytes:{}\r\nrejected_connections:{}\r\nexpired_keys:{expired}\r\nevicted_keys:{}\r\nevicted_clients:0\r\nkeyspace_hits:{}\r\nkeyspace_misses:{}\r\npubsub_channels:{}\r\npubsub_patterns:{}\r\npubsubshard_channels:{}\r\nunexpected_error_replies:{}\r\ntotal_error_replies:{}\r\nacl_access_denied_auth:{}\r\nclient_output_buffer_limit_disconnections:{}\r\nsync_full:{}\r\nsync_partial_ok:{}\r\nsync_partial_err:{}\r\nmigrate_cached_sockets:{}\r\ntracking_total_keys:{}\r\ntracking_total_items:{}\r\ntracking_total_prefixes:{}\r\n",
                    sh.stats.connections_received.load(Relaxed),
                    stats.commands,
                    stats.net_in,
                    stats.net_out,
                    sh.stats.rejected_connections.load(Relaxed),
                    sh.store.evicted_total(),
                    stats.hits,
                    stats.misses,
                    ps_channels,
                    ps_patterns,
                    ps_shard,
                    sh.stats.unexpected_error_replies.load(Relaxed),
                    sh.stats.total_error_replies.load(Relaxed),
                    sh.stats.auth_failures.load(Relaxed),
                    sh.stats.obuf_disconnections.load(Relaxed)
                        + sh.pubsub.closed_for_buffer.load(Relaxed),
                    sh.repl.sync_full.load(Relaxed),
                    sh.repl.sync_partial_ok.load(Relaxed),
                    sh.repl.sync_partial_err.load(Relaxed),
                    crate::families::migrate::cached_sockets(),
                    tracked.1,
                    tracked.2,
                    tracked.3,
                );
            }
            "replication" => {
                section(&mut o, "Replication");
                o.push_str(&crate::repl::info_text(&sh.repl, cfg.replica_read_only));
            }
            "cpu" => {
                section(&mut o, "CPU");
                let _ = write!(o, "used_cpu_sys:{cpu_s:.6}\r\nused_cpu_user:{cpu_u:.6}\r\n");
            }
            "commandstats" => {
                section(&mut o, "Commandstats");
                for (i, s) in table().specs.iter().enumerate() {
                    let (calls, nanos, failed, rejected) = stats.cmds[i];
                    let usec = nanos / 1000;
                    if calls + rejected == 0 {
                        continue;
                    }
                    let per = if calls > 0 {
                        nanos as f64 / 1000.0 / calls as f64
                    } else {
                        0.0
                    };
                    let _ = write!(
                        o,
                        "cmdstat_{}:calls={calls},usec={usec},usec_per_call={per:.2},rejected_calls={rejected},failed_calls={failed}\r\n",
                        s.name
                    );
                }
            }
            "errorstats" => {
                section(&mut o, "Errorstats");
                bytes.extend_from_slice(std::mem::take(&mut o).as_bytes());
                let mut n = itoa::Buffer::new();
                for (k, v) in sh.stats.errors() {
                    bytes.extend_from_slice(b"errorstat_");
                    bytes.extend_from_slice(&k);
                    bytes.extend_from_slice(b":count=");
                    bytes.extend_from_slice(n.format(v).as_bytes());
                    bytes.extend_from_slice(b"\r\n");
                }
            }
            "latencystats" => {
                section(&mut o, "Latencystats");
                let buckets = sh.stats.histograms().0;
                for (i, s) in table().specs.iter().enumerate() {
                    let b = &buckets[i];
                    if b.iter().sum::<u64>() == 0 {
                        continue;
                    }
                    let _ = write!(
                        o,
                        "latency_percentiles_usec_{}:p50={:.3},p99={:.3},p99.9={:.3}\r\n",
                        s.name,
                        percentile(b, 0.5),
                        percentile(b, 0.99),
                        percentile(b, 0.999)
                    );
                }
            }
            "cluster" => {
                section(&mut o, "Cluster");
                let _ = write!(o, "cluster_enabled:{}\r\n", sh.cluster.is_some() as u8);
            }
            "keyspace" => {
                section(&mut o, "Keyspace");
                for db in 0..ctx.ks.store.databases() {
                    let (mut keys, mut expires) = (0, 0);
                    for id in ctx.ks.store.live_db_shards(db) {
                        let s = ctx.ks.shard_at(id);
                        keys += s.len();
                        expires += s.volatile();
                    }
                    if keys > 0 {
                        let _ = write!(o, "db{db}:keys={keys},expires={expires},avg_ttl=0\r\n");
                    }
                }
            }
            _ => {}
        }
    }
    if bytes.is_empty() {
        return o.into_bytes();
    }
    bytes.extend_from_slice(o.as_bytes());
    bytes
}

/// DBSIZE
fn dbsize(ctx: &mut Ctx<'_>, _a: Args<'_>) -> CmdResult {
    let mut n = 0;
    for id in ctx.ks.store.live_db_shards(ctx.ks.db) {
        n += ctx.ks.shard_at(id).len();
    }
    ctx.out.int(n as i64);
    Ok(())
}

/// FLUSHALL/FLUSHDB's mode: true for ASYNC (or no mode with lazyfree-lazy-user-flush).
fn flush_mode(a: &Args<'_>) -> Result<bool, CmdError> {
    match a.len() {
        1 => Ok(shoal_store::lazyfree::enabled(
            shoal_store::lazyfree::USER_FLUSH,
        )),
        2 if eq_ic(a.get(1), "sync") => Ok(false),
        2 if eq_ic(a.get(1), "async") => Ok(true),
        _ => Err(errors::SYNTAX.into()),
    }
}

/// Empties the shards; ASYNC hands their entries to the lazyfree thread.
fn flush_shards(ctx: &mut Ctx<'_>, ids: impl Iterator<Item = ShardId>, lazy: bool) {
    for id in ids {
        let mut s = ctx.ks.shard_at(id);
        if lazy {
            s.clear_later();
        } else {
            s.clear();
        }
    }
}

/// FLUSHDB [ASYNC|SYNC]
fn flushdb(ctx: &mut Ctx<'_>, a: Args<'_>) -> CmdResult {
    let lazy = flush_mode(&a)?;
    flush_shards(ctx, ctx.ks.store.live_db_shards(ctx.ks.db), lazy);
    crate::tracking::flushed(ctx);
    ctx.out.ok();
    Ok(())
}

/// FLUSHALL [ASYNC|SYNC]
fn flushall(ctx: &mut Ctx<'_>, a: Args<'_>) -> CmdResult {
    let lazy = flush_mode(&a)?;
    let store = ctx.ks.store;
    flush_shards(ctx, store.live_shards(), lazy);
    crate::tracking::flushed(ctx);
    // A save that is running stops: its data is gone (Redis kills its child).
    crate::persist::abort_save(ctx.shared);
    // As Redis 7.0: with save points, the emptied dataset is saved at once and the dirty
    // counter restarts (a failure is only logged).
    if !ctx.shared.config.read().save.is_empty() {
        let _ = crate::persist::save_after_flushall(ctx.shared);
    }
    ctx.out.ok();
    Ok(())
}

/// TIME — [unix seconds, microseconds] as bulk strings.
fn time(ctx: &mut Ctx<'_>, _a: Args<'_>) -> CmdResult {
    let d = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    ctx.out.array(2);
    ctx.out.bulk(d.as_secs().to_string().as_bytes());
    ctx.out.bulk(d.subsec_micros().to_string().as_bytes());
    Ok(())
}

/// SHUTDOWN [NOSAVE|SAVE] [NOW] [FORCE] [ABORT] — saves first with SAVE, or when save points
/// are configured and NOSAVE is not given.
fn shutdown(ctx: &mut Ctx<'_>, a: Args<'_>) -> CmdResult {
    let (mut save, mut nosave, mut force) = (false, false, false);
    for opt in a.iter().skip(1) {
        if !["nosave", "save", "now", "force", "abort"]
            .iter()
            .any(|o| eq_ic(opt, o))
        {
            return Err(errors::SYNTAX.into());
        }
        if eq_ic(opt, "abort") {
            return Err("ERR No shutdown in progress.".into());
        }
        save |= eq_ic(opt, "save");
        nosave |= eq_ic(opt, "nosave");
        force |= eq_ic(opt, "force");
    }
    if save && nosave {
        return Err(errors::SYNTAX.into());
    }
    tracing::warn!("User requested shutdown...");
    let points = !ctx.shared.config.read().save.is_empty();
    if (save || points) && !nosave {
        tracing::info!("Saving the final RDB snapshot before exiting.");
        if let Err(e) = crate::persist::save_before_exit(ctx.shared)
            && !force
        {
            tracing::warn!("Error trying to save the DB, can't exit: {e}");
            return Err("ERR Errors trying to SHUTDOWN. Check logs.".into());
        }
    }
    ctx.shared.persist.exit_saved.store(true, Relaxed);
    ctx.shared.request_shutdown();
    ctx.client.close = true;
    Ok(())
}

/// DEBUG SLEEP seconds | SET-ACTIVE-EXPIRE 0|1 | OBJECT key | HELP
/// Redis's refusal of DEBUG under `enable-debug-command no` (or `local` from afar).
/// MODULE LIST | LOAD | LOADEX | UNLOAD | HELP: shoal has no module API, so the list is empty
/// and loading fails as a module that does not load fails in Redis.
fn module(ctx: &mut Ctx<'_>, a: Args<'_>) -> CmdResult {
    let sub = a.get(1).to_ascii_lowercase();
    match sub.as_slice() {
        b"list" if a.len() == 2 => {
            ctx.out.array(0);
            Ok(())
        }
        b"load" | b"loadex" | b"unload" if a.len() >= 3 => {
            let setting = ctx.shared.config.read().enable_module_command.clone();
            if !crate::families::config::allowed(&setting, ctx) {
                return Err(MODULE_NOT_ALLOWED.into());
            }
            let what = String::from_utf8_lossy(a.get(2)).into_owned();
            if sub == b"unload" {
                return Err("ERR Error unloading module: no such module with that name".into());
            }
            tracing::warn!("Module {what} failed to load: shoal does not load Redis modules");
            Err("ERR Error loading the extension. Please check the server logs.".into())
        }
        b"help" if a.len() == 2 => {
            let lines = [
                "MODULE <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
                "LIST",
                "    Return a list of loaded modules.",
                "LOAD <path> [<arg> ...]",
                "    Load a module library from <path>, passing to it any optional arguments.",
                "LOADEX <path> [[CONFIG NAME VALUE] [CONFIG NAME VALUE]] [ARGS ...]",
                "    Load a module library from <path>, while passing it module configurations and optional arguments.",
                "UNLOAD <name>",
                "    Unload a module.",
                "HELP",
                "    Prints this help.",
            ];
            crate::util::help(ctx.out, &lines);
            Ok(())
        }
        b"list" | b"load" | b"loadex" | b"unload" | b"help" => Err(errors::arity(&format!(
            "module|{}",
            String::from_utf8_lossy(&sub)
        ))),
        _ => Err(errors::unknown_subcommand(a.get(1), "module")),
    }
}

const MODULE_NOT_ALLOWED: &str = "ERR MODULE command not allowed. If the enable-module-command option is set to \"local\", you can run it from a local connection, otherwise you need to set this option in the configuration file, and then restart the server.";

const DEBUG_NOT_ALLOWED: &str = "ERR DEBUG command not allowed. If the enable-debug-command option is set to \"local\", you can run it from a local connection, otherwise you need to set this option in the configuration file, and then restart the server.";

fn debug(ctx: &mut Ctx<'_>, a: Args<'_>) -> CmdResult {
    let setting = ctx.shared.config.read().enable_debug_command.clone();
    if !crate::families::config::allowed(&setting, ctx) {
        return Err(DEBUG_NOT_ALLOWED.into());
    }
    let sub = a.get(1).to_ascii_lowercase();
    match sub.as_slice() {
        b"sleep" if a.len() == 3 => {
            let secs = float(a.get(2))
                .filter(|s| *s >= 0.0 && *s < 1e6)
                .ok_or(CmdError::from(errors::NOT_FLOAT))?;
            // As Redis, the command itself takes that long (its reply comes after, SLOWLOG sees
            // it); only this worker thread waits, not the whole server.
            std::thread::sleep(std::time::Duration::from_secs_f64(secs));
            ctx.out.ok();
        }
        b"set-active-expire" if a.len() == 3 => {
            let on = match a.get(2) {
                b"0" => false,
                b"1" => true,
                _ => return Err(errors::NOT_INTEGER.into()),
            };
            ctx.shared.active_expire.store(on, Relaxed);
            ctx.out.ok();
        }
        b"object" if a.len() == 3 => crate::families::diagnostics::debug_object(ctx, a.get(2))?,
        // The text as the whole error reply, no prefix added (clients test their handling of
        // LOADING, OOM, READONLY... with it).
        b"error" if a.len() == 3 => {
            return Err(String::from_utf8_lossy(a.get(2)).into_owned().into());
        }
        b"reload" => debug_reload(ctx, &a)?,
        b"populate" if (3..=5).contains(&a.len()) => debug_populate(ctx, &a)?,
        // The command goes to the replicas (and the backlog) as it is, not run here.
        b"replicate" if a.len() >= 3 => {
            let repl = &ctx.shared.repl;
            let _w = repl.enter_write();
            let parts: Vec<&[u8]> = a.iter().skip(2).collect();
            let mut out = Vec::new();
            repl.encode_in_db(&mut out, ctx.ks.db, &parts);
            repl.feed(&out);
            ctx.out.ok();
        }
        b"digest" if a.len() == 2 => {
            let d = crate::digest::dataset(ctx.ks.store);
            ctx.out.simple(crate::digest::hex(&d).as_bytes());
        }
        b"digest-value" => {
            ctx.out.array(a.len() - 2);
            for key in a.iter().skip(2) {
                let s = ctx.ks.shard(key);
                let d = s
                    .find_any()
                    .map_or([0u8; 20], |i| crate::digest::value_of(s.entry(i)));
                drop(s);
                ctx.out.simple(crate::digest::hex(&d).as_bytes());
            }
        }
        b"help" => {
            let lines = [
                "DEBUG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
                "DIGEST",
                "    Output a hex signature representing the current DB content.",
                "DIGEST-VALUE <key> [<key> ...]",
                "    Output a hex signature of the values of all the specified keys.",
                "OBJECT <key>",
                "    Show low level info about `key` and associated value.",
                "REPLICATE <cmd> <args...>",
                "    Replicates the provided command to replicas (and the backlog), without running it here.",
                "POPULATE <count> [<prefix>] [<size>]",
                "    Create <count> string keys named key:<num>. If <prefix> is specified then",
                "    it is used instead of the 'key' prefix. These are not propagated to",
                "    replicas. Cluster slots are not respected so keys not belonging to the",
                "    current node can be created in cluster mode.",
                "RELOAD [option ...]",
                "    Save the RDB on disk and reload it back to memory. Valid <option> values:",
                "    * MERGE: Merge the content of the RDB file with the current dataset:",
                "      keys (and function libraries) of the file replace their namesakes.",
                "    * NOFLUSH: Do not empty the dataset before loading the RDB file.",
                "    * NOSAVE: Do not save the RDB file before reloading it.",
                "SLEEP <seconds>",
                "    Stop the server for <seconds>. Decimals allowed.",
                "ERROR <string>",
                "    Return a Redis protocol error with <string> as message. Useful for clients",
                "    unit tests to simulate Redis errors.",
                "SET-ACTIVE-EXPIRE <0|1>",
                "    Setting it to 0 disables expiring keys in background when they are not",
                "    accessed (otherwise the Redis behavior). Setting it to 1 reenables back the",
                "    default.",
                "HELP",
                "    Prints this help.",
            ];
            crate::util::help(ctx.out, &lines);
        }
        // Redis's addReplySubcommandSyntaxError.
        _ => {
            let sub = String::from_utf8_lossy(&a.get(1)[..a.get(1).len().min(128)]).into_owned();
            return Err(format!(
                "ERR unknown subcommand or wrong number of arguments for '{sub}'. Try DEBUG HELP."
            )
            .into());
        }
    }
    Ok(())
}

/// Redis's getPositiveLongFromObjectOrReply.
fn positive_long(v: &[u8]) -> Result<u64, CmdError> {
    let n = shoal_resp::parse_i64(v).ok_or(CmdError::from(errors::NOT_INTEGER))?;
    u64::try_from(n).map_err(|_| "ERR value is out of range, must be positive".into())
}

/// DEBUG POPULATE count [prefix] [size]: keys `prefix:N` (`key:N`) holding `value:N`, cut or
/// padded with zero bytes to `size`, made where no key of that name exists; as in Redis they
/// are not replicated and notify nothing.
fn debug_populate(ctx: &mut Ctx<'_>, a: &Args<'_>) -> CmdResult {
    let count = positive_long(a.get(2))?;
    let prefix: &[u8] = if a.len() >= 4 { a.get(3) } else { b"key" };
    let size = if a.len() == 5 {
        positive_long(a.get(4))?
    } else {
        0
    };
    if size > ctx.shared.config.read().proto_max_bulk_len {
        return Err("ERR value size is larger than proto-max-bulk-len".into());
    }
    let (mut key, mut val) = (Vec::new(), Vec::new());
    for j in 0..count {
        key.clear();
        key.extend_from_slice(prefix);
        key.push(b':');
        key.extend_from_slice(itoa::Buffer::new().format(j).as_bytes());
        // Redis formats the name into 128 bytes.
        key.truncate(127);
        let mut s = ctx.ks.shard(&key);
        if s.find().is_some() {
            continue;
        }
        val.clear();
        val.extend_from_slice(b"value:");
        val.extend_from_slice(itoa::Buffer::new().format(j).as_bytes());
        if size > 0 {
            val.resize(size as usize, 0);
        }
        s.insert_new(crate::util::string_value(&val), None);
    }
    ctx.out.ok();
    Ok(())
}

/// DEBUG RELOAD [MERGE] [NOFLUSH] [NOSAVE]: saves the RDB file, empties the dataset (and the
/// function libraries) and loads the file back, as Redis 7.0's.
fn debug_reload(ctx: &mut Ctx<'_>, a: &Args<'_>) -> CmdResult {
    let (mut merge, mut flush, mut save) = (false, true, true);
    for opt in a.iter().skip(2) {
        if eq_ic(opt, "merge") {
            merge = true;
        } else if eq_ic(opt, "noflush") {
            flush = false;
        } else if eq_ic(opt, "nosave") {
            save = false;
        } else {
            return Err(
                "ERR DEBUG RELOAD only supports the MERGE, NOFLUSH and NOSAVE options.".into(),
            );
        }
    }
    let Some(me) = ctx.shared.persist.me.get().and_then(|w| w.upgrade()) else {
        return Err("ERR persistence is not set up on this server".into());
    };
    if save {
        crate::persist::save_sync(ctx.shared).map_err(CmdError::from)?;
    }
    if flush {
        let store = ctx.ks.store;
        flush_shards(ctx, store.live_shards(), false);
        crate::tracking::flushed(ctx);
        let reg = &ctx.shared.scripts.functions;
        reg.libs.write().clear();
        reg.bump();
    }
    let mode = if merge {
        crate::persist::Merge::Everything
    } else if flush {
        crate::persist::Merge::Functions
    } else {
        crate::persist::Merge::Nothing
    };
    if let Err(e) = crate::persist::reload(&me, mode) {
        tracing::warn!("DEBUG RELOAD: {e}");
        return Err("ERR Error trying to load the RDB dump, check server logs.".into());
    }
    tracing::warn!("DB reloaded by DEBUG RELOAD");
    ctx.out.ok();
    Ok(())
}

/// SLOWLOG GET [count] | LEN | RESET | HELP
fn slowlog(ctx: &mut Ctx<'_>, a: Args<'_>) -> CmdResult {
    let sub = a.get(1).to_ascii_lowercase();
    match sub.as_slice() {
        b"get" => {
            if a.len() > 3 {
                return Err(errors::arity("slowlog|get"));
            }
            let count = match a.len() {
                3 => match crate::util::int(a.get(2))? {
                    -1 => None,
                    n if n < 0 => {
                        return Err("ERR count should be greater than or equal to -1".into());
                    }
                    n => Some(n as usize),
                },
                _ => Some(10),
            };
            let out = &mut *ctx.out;
            ctx.shared.slowlog.with_newest(count, |entries| {
                let list: Vec<_> = entries.collect();
                out.array(list.len());
                for e in list {
                    out.array(6);
                    out.int(e.id as i64);
                    out.int(e.time as i64);
                    out.int(e.usec as i64);
                    out.array(e.args.len());
                    for x in &e.args {
                        out.bulk(x);
                    }
                    out.bulk(e.addr.as_bytes());
                    out.bulk(e.name.as_bytes());
                }
            });
        }
        b"len" => ctx.out.int(ctx.shared.slowlog.len() as i64),
        b"reset" => {
            ctx.shared.slowlog.reset();
            ctx.out.ok();
        }
        b"help" => crate::util::help(
            ctx.out,
            &[
                "SLOWLOG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
                "GET [<count>]",
                "LEN",
                "RESET",
                "HELP",
            ],
        ),
        _ => return Err(errors::unknown_subcommand(a.get(1), "slowlog")),
    }
    Ok(())
}

/// MONITOR — stream every command the server runs to this client.
fn monitor(ctx: &mut Ctx<'_>, _a: Args<'_>) -> CmdResult {
    if ctx.client.monitor.is_none() {
        ctx.client.monitor = Some(ctx.shared.monitors.add(ctx.client.id));
    }
    ctx.out.ok();
    Ok(())
}

/// SAVE — writes the RDB file now; the reply comes once it is on disk.
fn save(ctx: &mut Ctx<'_>, _a: Args<'_>) -> CmdResult {
    crate::persist::save_sync(ctx.shared)?;
    ctx.out.ok();
    Ok(())
}

/// BGSAVE [SCHEDULE] — writes the RDB file in the background (inside MULTI: once EXEC ends).
fn bgsave(ctx: &mut Ctx<'_>, a: Args<'_>) -> CmdResult {
    if a.len() > 2 || (a.len() == 2 && !eq_ic(a.get(1), "schedule")) {
        return Err(errors::SYNTAX.into());
    }
    let p = &ctx.shared.persist;
    if p.saving.load(Relaxed) {
        return Err("ERR Background save already in progress".into());
    }
    if ctx.in_exec {
        p.scheduled.store(true, Relaxed);
        ctx.out.simple(b"Background saving scheduled");
        return Ok(());
    }
    if !crate::persist::bgsave(ctx.shared) {
        return Err("ERR Background save already in progress".into());
    }
    ctx.out.simple(b"Background saving started");
    Ok(())
}

/// LASTSAVE — unix time of the last successful save (the start time before any).
fn lastsave(ctx: &mut Ctx<'_>, _a: Args<'_>) -> CmdResult {
    ctx.out
        .int(ctx.shared.persist.lastsave.load(Relaxed) as i64);
    Ok(())
}

const NOKEY: (i32, i32, i32) = (0, 0, 0);

pub static COMMANDS: &[Spec] = &[
    cmd(
        "command",
        -1,
        LOADING | STALE,
        NOKEY,
        Group::Server,
        "2.8.13",
        "Returns detailed information about all commands.",
        crate::introspect::command::command,
    )
    .subcommands(&[
        "count",
        "info",
        "docs",
        "list",
        "getkeys",
        "getkeysandflags",
        "help",
    ]),
    cmd(
        "info",
        -1,
        LOADING | STALE,
        NOKEY,
        Group::Server,
        "1.0.0",
        "Returns information and statistics about the server.",
        info,
    )
    .locking(Locking::Global),
    cmd(
        "dbsize",
        1,
        READONLY | FAST,
        NOKEY,
        Group::Server,
        "1.0.0",
        "Returns the number of keys in the database.",
        dbsize,
    )
    .locking(Locking::Global),
    cmd(
        "flushdb",
        -1,
        WRITE,
        NOKEY,
        Group::Server,
        "1.0.0",
        "Remove all keys from the current database.",
        flushdb,
    )
    .locking(Locking::Global),
    cmd(
        "flushall",
        -1,
        WRITE,
        NOKEY,
        Group::Server,
        "1.0.0",
        "Removes all keys from all databases.",
        flushall,
    )
    .locking(Locking::Global),
    cmd(
        "time",
        1,
        LOADING | STALE | FAST,
        NOKEY,
        Group::Server,
        "2.6.0",
        "Returns the server time.",
        time,
    ),
    cmd(
        "shutdown",
        -1,
        ADMIN | NOSCRIPT | LOADING | STALE | NO_MULTI | ALLOW_BUSY,
        NOKEY,
        Group::Server,
        "1.0.0",
        "Synchronously saves the database(s) to disk and shuts down the Redis server.",
        shutdown,
    ),
    cmd(
        "debug",
        -2,
        ADMIN | NOSCRIPT | LOADING | STALE,
        NOKEY,
        Group::Server,
        "1.0.0",
        "A container for debugging commands.",
        debug,
    )
    .subcommands(&[
        "object",
        "sleep",
        "set-active-expire",
        "error",
        "reload",
        "digest",
        "digest-value",
        "populate",
        "replicate",
        "help",
    ]),
    cmd(
        "module",
        -2,
        ADMIN | NOSCRIPT,
        NOKEY,
        Group::Server,
        "4.0.0",
        "A container for module commands.",
        module,
    )
    .subcommands(&["list", "load", "loadex", "unload", "help"]),
    cmd(
        "save",
        1,
        ADMIN | NOSCRIPT | NO_MULTI,
        NOKEY,
        Group::Server,
        "1.0.0",
        "Synchronously saves the database(s) to disk.",
        save,
    ),
    cmd(
        "bgsave",
        -1,
        ADMIN | NOSCRIPT,
        NOKEY,
        Group::Server,
        "1.0.0",
        "Asynchronously saves the database(s) to disk.",
        bgsave,
    ),
    cmd(
        "lastsave",
        1,
        LOADING | STALE | FAST,
        NOKEY,
        Group::Server,
        "1.0.0",
        "Returns the Unix timestamp of the last successful save to disk.",
        lastsave,
    ),
    cmd(
        "slowlog",
        -2,
        ADMIN | LOADING | STALE,
        NOKEY,
        Group::Server,
        "2.2.12",
        "A container for slow log commands.",
        slowlog,
    )
    .subcommands(&["get", "len", "reset", "help"]),
    cmd(
        "monitor",
        1,
        ADMIN | NOSCRIPT | LOADING | STALE | NO_MULTI,
        NOKEY,
        Group::Server,
        "1.0.0",
        "Listens for all requests received by the server in real-time.",
        monitor,
    ),
];
