//! Diagnostics: MEMORY (USAGE, STATS, DOCTOR, MALLOC-STATS, PURGE), LATENCY (LATEST, HISTORY,
//! RESET, DOCTOR, GRAPH, HISTOGRAM) and LOLWUT.

use shoal_resp::Args;

use crate::ctx::{Ctx, unix_ms};
use crate::errors::{self, CmdResult};
use crate::families::connection::REDIS_VERSION;
use crate::spec::{Group, Spec, cmd, flags::*, table};
use crate::util::eq_ic;

/// The error for a known subcommand given the wrong number of arguments, from Redis's arity
/// of `container|sub`.
fn check_sub_arity(container: &str, sub: &str, argc: usize) -> CmdResult {
    let full = format!("{container}|{sub}");
    match crate::introspect::redis_command(&full) {
        Some(rc) if !crate::introspect::arity_ok(rc.arity, argc) => Err(errors::arity(&full)),
        _ => Ok(()),
    }
}

/// The subcommand at `args[1]` among `subs` (lower-case), arity checked.
fn subcommand(
    container: &str,
    subs: &[&'static str],
    a: &Args<'_>,
) -> Result<&'static str, errors::CmdError> {
    let Some(&sub) = subs.iter().find(|s| eq_ic(a.get(1), s)) else {
        return Err(errors::unknown_subcommand(a.get(1), container));
    };
    check_sub_arity(container, sub, a.len())?;
    Ok(sub)
}

const MEMORY_SUBS: &[&str] = &["usage", "stats", "doctor", "malloc-stats", "purge", "help"];

/// MEMORY USAGE key [SAMPLES count] | STATS | DOCTOR | MALLOC-STATS | PURGE | HELP
fn memory(ctx: &mut Ctx<'_>, a: Args<'_>) -> CmdResult {
    match subcommand("memory", MEMORY_SUBS, &a)? {
        "usage" => memory_usage(ctx, &a)?,
        "stats" => overhead(ctx).write(ctx.out),
        "doctor" => {
            let alloc = shoal_store::mem::allocator_stats().map_or("libc", |s| s.name);
            let text = overhead(ctx).doctor(alloc);
            ctx.out.verbatim(text.as_bytes());
        }
        "malloc-stats" => {
            let text = shoal_store::mem::allocator_report()
                .unwrap_or_else(|| "Stats not supported for the current allocator".into());
            ctx.out.verbatim(text.as_bytes());
        }
        "purge" => {
            // As Redis: a failed purge is only logged, the reply is OK either way.
            if !shoal_store::mem::allocator_purge() {
                tracing::warn!("MEMORY PURGE: the allocator did not purge");
            }
            ctx.out.ok();
        }
        _ => crate::util::help(
            ctx.out,
            &[
                "MEMORY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
                "DOCTOR",
                "    Return memory problems reports.",
                "MALLOC-STATS",
                "    Return internal statistics report from the memory allocator.",
                "PURGE",
                "    Attempt to purge dirty pages for reclamation by the allocator.",
                "STATS",
                "    Return information about the memory usage of the server.",
                "USAGE <key> [SAMPLES <count>]",
                "    Return memory in bytes used by <key> and its value. Nested values are",
                "    sampled up to <count> times (default: 5, 0 means sample all).",
                "HELP",
                "    Prints this help.",
            ],
        ),
    }
    Ok(())
}

/// Everything MEMORY STATS and MEMORY DOCTOR report, the tables walked one shard at a time.
fn overhead(ctx: &mut Ctx<'_>) -> crate::memstats::Overhead {
    let store = ctx.ks.store;
    let mut tables = Vec::new();
    for db in 0..store.databases() {
        let (mut keys, mut bytes) = (0u64, 0u64);
        for id in store.live_db_shards(db) {
            let s = ctx.ks.shard_at(id);
            keys += s.len() as u64;
            bytes += s.overhead_bytes() as u64;
        }
        tables.push((db, keys, bytes));
    }
    let rss = crate::families::server::process_usage().0;
    crate::memstats::Overhead::collect(ctx.shared, rss, &tables)
}

/// MEMORY USAGE key [SAMPLES count]
fn memory_usage(ctx: &mut Ctx<'_>, a: &Args<'_>) -> CmdResult {
    if a.len() != 3 && a.len() != 5 {
        return Err(errors::SYNTAX.into());
    }
    if a.len() == 5 && (!eq_ic(a.get(3), "samples") || crate::util::int(a.get(4)).is_err()) {
        return Err(errors::SYNTAX.into());
    }
    let mut s = ctx.ks.shard(a.get(2));
    match s.peek() {
        Some(i) => {
            let e = s.entry(i);
            // Entry pointer, policy byte, table slot (index + control byte), the entry's
            // block as the allocator rounds it, and a collection's heap.
            let n = std::mem::size_of::<shoal_store::Entry>()
                + 1
                + 5
                + shoal_store::mem::size_class(e.block_size())
                + e.value().heap_size();
            drop(s);
            ctx.out.int(n as i64);
        }
        None => {
            drop(s);
            ctx.out.null();
        }
    }
    Ok(())
}

const LATENCY_SUBS: &[&str] = &[
    "latest",
    "history",
    "reset",
    "doctor",
    "graph",
    "histogram",
    "help",
];

/// LATENCY LATEST | HISTORY event | RESET [event ...] | DOCTOR | GRAPH event |
/// HISTOGRAM [command ...] | HELP
fn latency(ctx: &mut Ctx<'_>, a: Args<'_>) -> CmdResult {
    let shared = ctx.shared;
    let mon = &shared.latency;
    match subcommand("latency", LATENCY_SUBS, &a)? {
        "latest" => {
            let events = mon.snapshot();
            ctx.out.array(events.len());
            for (name, s) in events {
                let last = s.samples.back().copied().unwrap_or_default();
                ctx.out.array(4);
                ctx.out.bulk(name.as_bytes());
                ctx.out.int(last.time as i64);
                ctx.out.int(last.ms as i64);
                ctx.out.int(s.max as i64);
            }
        }
        "history" => match mon.series(a.get(2)) {
            Some((_, s)) => {
                ctx.out.array(s.samples.len());
                for x in &s.samples {
                    ctx.out.array(2);
                    ctx.out.int(x.time as i64);
                    ctx.out.int(x.ms as i64);
                }
            }
            None => ctx.out.array(0),
        },
        "reset" => {
            let n = if a.len() == 2 {
                mon.reset(None)
            } else {
                a.iter().skip(2).map(|e| mon.reset(Some(e))).sum()
            };
            ctx.out.int(n as i64);
        }
        "doctor" => {
            let c = shared.config.read();
            let input = crate::latency::DoctorInput {
                threshold_ms: c.latency_monitor_threshold,
                slowlog_slower_than: c.slowlog_log_slower_than,
                hz: c.hz,
            };
            drop(c);
            let text = crate::latency::doctor(&mon.snapshot(), &input, unix_ms() / 1000);
            ctx.out.verbatim(text.as_bytes());
        }
        "graph" => {
            let Some((name, s)) = mon.series(a.get(2)) else {
                return Err(format!(
                    "ERR No samples available for event '{}'",
                    String::from_utf8_lossy(a.get(2))
                )
                .into());
            };
            let text = crate::latency::graph(name, &s, unix_ms() / 1000);
            ctx.out.verbatim(text.as_bytes());
        }
        "histogram" => latency_histogram(ctx, &a),
        _ => crate::util::help(
            ctx.out,
            &[
                "LATENCY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
                "DOCTOR",
                "    Return a human readable latency analysis report.",
                "GRAPH <event>",
                "    Return an ASCII latency graph for the <event> class.",
                "HISTORY <event>",
                "    Return time-latency samples for the <event> class.",
                "LATEST",
                "    Return the latest latency samples for all events.",
                "RESET [<event> ...]",
                "    Reset latency data of one or more <event> classes.",
                "    (default: reset all data for all event classes)",
                "HISTOGRAM [COMMAND ...]",
                "    Return a cumulative distribution of latencies in the format of a histogram for the specified command names.",
                "    If no commands are specified then all histograms are replied.",
                "HELP",
                "    Prints this help.",
            ],
        ),
    }
    Ok(())
}

/// LATENCY HISTOGRAM [command ...]: cumulative call counts by power-of-two µs since start or
/// CONFIG RESETSTAT, of each command and subcommand with calls (a container stands for its
/// subcommands, as in Redis).
fn latency_histogram(ctx: &mut Ctx<'_>, a: &Args<'_>) {
    let (cmds, subs) = ctx.shared.stats.histograms();
    let t = table();
    // (full name, buckets) of a command, or of each of its subcommands.
    let expand = |r: crate::introspect::Resolved,
                  rows: &mut Vec<(String, [u64; crate::stats::LATENCY_BUCKETS])>| {
        let Some(idx) = t.lookup(r.spec.name.as_bytes()).map(|(i, _)| i) else {
            return;
        };
        let sub_row = |j: usize| {
            let name = format!("{}|{}", r.spec.name, r.spec.subs[j]);
            (name, subs[t.sub_cell(idx, j)])
        };
        match r.sub {
            Some(s) => {
                if let Some(j) = r.spec.subs.iter().position(|x| *x == s) {
                    rows.push(sub_row(j));
                }
            }
            None if !crate::introspect::is_container(r.spec) => {
                rows.push((r.spec.name.to_string(), cmds[idx]))
            }
            None => rows.extend((0..r.spec.subs.len()).map(sub_row)),
        }
    };
    let mut rows = Vec::new();
    if a.len() > 2 {
        for name in a.iter().skip(2) {
            if let Some(r) = crate::introspect::resolve_name(name) {
                expand(r, &mut rows);
            }
        }
    } else {
        for &spec in &t.specs {
            expand(crate::introspect::Resolved { spec, sub: None }, &mut rows);
        }
    }
    rows.retain(|(_, b)| b.iter().any(|n| *n > 0));
    ctx.out.map(rows.len());
    for (name, b) in rows {
        ctx.out.bulk(name.as_bytes());
        ctx.out.map(2);
        ctx.out.bulk(b"calls");
        ctx.out.int(b.iter().sum::<u64>() as i64);
        ctx.out.bulk(b"histogram_usec");
        let nonzero: Vec<(usize, u64)> = b
            .iter()
            .copied()
            .enumerate()
            .filter(|(_, n)| *n > 0)
            .collect();
        ctx.out.map(nonzero.len());
        let mut cum = 0;
        for (j, n) in nonzero {
            cum += n;
            ctx.out.int(1i64 << j);
            ctx.out.int(cum as i64);
        }
    }
}

/// LOLWUT [VERSION version [args...]]: Redis's dispatch on the version; 5 draws Georg Nees's
/// Schotter as Redis does, 6 a shoal of fish of shoal's own, anything else the version line.
fn lolwut(ctx: &mut Ctx<'_>, a: Args<'_>) -> CmdResult {
    let mut major = REDIS_VERSION
        .split('.')
        .next()
        .and_then(|v| v.parse::<i64>().ok())
        .unwrap_or(0);
    let mut rest = a.tail(1);
    if a.len() >= 3 && eq_ic(a.get(1), "version") {
        major = crate::util::int(a.get(2))? as u32 as i64;
        rest = a.tail(3);
    }
    let nums = |defaults: &[i64]| -> Result<Vec<i64>, errors::CmdError> {
        let mut v = defaults.to_vec();
        for (i, slot) in v.iter_mut().enumerate() {
            if i < rest.len() {
                *slot = crate::util::int(rest.get(i))?;
            }
        }
        Ok(v)
    };
    let text = match major {
        5 => {
            let v = nums(&[66, 8, 12])?;
            let art = crate::lolwut::schotter(
                v[0].clamp(1, 1000) as usize,
                v[1].clamp(1, 200) as usize,
                v[2].clamp(1, 200) as usize,
            );
            format!(
                "{art}\nGeorg Nees - schotter, plotter on paper, 1968. Redis ver. {REDIS_VERSION}\n"
            )
        }
        6 => {
            let v = nums(&[80, 20])?;
            let art =
                crate::lolwut::shoal(v[0].clamp(1, 1000) as usize, v[1].clamp(1, 1000) as usize);
            format!("{art}\nA shoal of fish, drawn by shoal. Redis ver. {REDIS_VERSION}\n")
        }
        _ => format!("Redis ver. {REDIS_VERSION}\n"),
    };
    ctx.out.verbatim(text.as_bytes());
    Ok(())
}

const NOKEY: (i32, i32, i32) = (0, 0, 0);

pub static COMMANDS: &[Spec] = &[
    cmd(
        "memory",
        -2,
        READONLY,
        (2, 2, 1),
        Group::Server,
        "4.0.0",
        "A container for memory diagnostics commands.",
        memory,
    )
    .subcommands(MEMORY_SUBS),
    cmd(
        "latency",
        -2,
        ADMIN | LOADING | STALE,
        NOKEY,
        Group::Server,
        "2.8.13",
        "A container for latency diagnostics commands.",
        latency,
    )
    .subcommands(LATENCY_SUBS),
    cmd(
        "lolwut",
        -1,
        READONLY | FAST,
        NOKEY,
        Group::Server,
        "5.0.0",
        "Displays computer art and the Redis version",
        lolwut,
    ),
];

/// DEBUG OBJECT key: Redis's line (`Value at:… refcount:… encoding:… serializedlength:… lru:…
/// lru_seconds_idle:…`, and the quicklist fields for a long list), with the encoding OBJECT
/// ENCODING reports and the length Redis's RDB would give it (see `crate::rdblen`).
pub fn debug_object(ctx: &mut Ctx<'_>, key: &[u8]) -> CmdResult {
    let now = ctx.now();
    let s = ctx.ks.shard(key);
    // As Redis's dictFind: a logically expired key still there is shown (a replica keeps
    // them until its primary deletes them).
    let Some(i) = s.find_any() else {
        return Err("ERR no such key".into());
    };
    let lfu = s.tuning().policy().is_lfu();
    let e = s.entry(i);
    let v = e.value();
    let encoding = v.encoding();
    let serialized = crate::rdblen::serialized_len(v);
    let idle_s = if lfu {
        0
    } else {
        shoal_store::policy::lru_idle_ms(e.word(), now) / 1000
    };
    let lru = ((now / 1000).wrapping_sub(idle_s)) & ((1 << 24) - 1);
    let mut line = format!(
        "Value at:{:p} refcount:1 encoding:{encoding} serializedlength:{serialized} lru:{lru} lru_seconds_idle:{idle_s}",
        e as *const _
    );
    if let shoal_store::ValueRef::List(l) = v
        && encoding == "quicklist"
    {
        // As Redis would pack the list: 8 KB listpacks (list-max-listpack-size -2).
        let nodes = crate::rdblen::quicklist_nodes(&crate::rdblen::list_entry_sizes(
            l.iter().map(|x| &x[..]),
        ));
        line.push_str(&format!(
            " ql_nodes:{} ql_avg_node:{:.2} ql_listpack_max:-2 ql_compressed:0 ql_uncompressed_size:{}",
            nodes.len(),
            l.len() as f64 / nodes.len() as f64,
            nodes.iter().sum::<usize>()
        ));
    }
    drop(s);
    ctx.out.simple(line.as_bytes());
    Ok(())
}
