//! XINFO STREAM [FULL [COUNT n]] / GROUPS / CONSUMERS / HELP.

use shoal_resp::{Args, Reply};
use shoal_store::stream::{Group, INVALID_ENTRIES_READ, NEVER_ACTIVE, Stream};

use super::{as_stream, bulk_id, reply_entry};
use crate::ctx::Ctx;
use crate::errors::{self, CmdError, CmdResult};
use crate::util::{eq_ic, int};

const HELP: &[&str] = &[
    "XINFO <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "CONSUMERS <key> <groupname>",
    "    Show consumers of <groupname>.",
    "GROUPS <key>",
    "    Show the stream consumer groups.",
    "STREAM <key> [FULL [COUNT <count>]",
    "    Show information about the stream.",
    "HELP",
    "    Prints this help.",
];

fn opt_int(out: &mut Reply, n: Option<i64>) {
    match n {
        Some(n) => out.int(n),
        None => out.null(),
    }
}

fn entries_read(g: &Group) -> Option<i64> {
    (g.entries_read != INVALID_ENTRIES_READ).then_some(g.entries_read)
}

/// XINFO …
pub(super) fn xinfo(ctx: &mut Ctx<'_>, a: Args<'_>) -> CmdResult {
    let sub = a.get(1);
    let argc = a.len();
    let arity: &[(&str, i64)] = &[("consumers", 4), ("groups", 3), ("stream", -3), ("help", 2)];
    let Some(&(name, ar)) = arity.iter().find(|(n, _)| eq_ic(sub, n)) else {
        return Err(errors::unknown_subcommand(sub, "XINFO"));
    };
    if (ar >= 0 && argc as i64 != ar) || (ar < 0 && (argc as i64) < -ar) {
        return Err(errors::arity(&format!("xinfo|{name}")));
    }
    if name == "help" {
        crate::util::help(ctx.out, HELP);
        return Ok(());
    }
    let key = a.get(2);
    let now = ctx.now();
    let out = &mut *ctx.out;
    let mut s = ctx.ks.shard(key);
    let Some(i) = s.find() else {
        return Err(errors::NO_SUCH_KEY.into());
    };
    let st = as_stream(s.entry(i).value())?;
    // STREAM's options are checked once the key is found, as Redis does; a negative COUNT is
    // the default 10.
    let mut full = None;
    if name == "stream" && argc > 3 {
        let bad = || -> CmdError {
            format!(
                "ERR unknown subcommand or wrong number of arguments for '{}'. Try XINFO HELP.",
                String::from_utf8_lossy(sub)
            )
            .into()
        };
        if !eq_ic(a.get(3), "full") {
            return Err(bad());
        }
        let mut count = 10i64;
        match argc {
            4 => {}
            6 if eq_ic(a.get(4), "count") => {
                count = int(a.get(5))?;
                if count < 0 {
                    count = 10;
                }
            }
            _ => return Err(bad()),
        }
        full = Some(count as usize);
    }
    match name {
        "stream" => match full {
            Some(count) => stream_full(out, st, count, now),
            None => stream_summary(out, st),
        },
        "groups" => {
            out.array(st.groups.len());
            for (gname, g) in &st.groups {
                out.map(6);
                out.bulk(b"name");
                out.bulk(gname);
                out.bulk(b"consumers");
                out.int(g.consumers.len() as i64);
                out.bulk(b"pending");
                out.int(g.pel.len() as i64);
                out.bulk(b"last-delivered-id");
                bulk_id(out, g.last_id);
                out.bulk(b"entries-read");
                opt_int(out, entries_read(g));
                out.bulk(b"lag");
                opt_int(out, st.lag(g));
            }
        }
        _ => {
            let gname = a.get(3);
            let Some(g) = st.groups.get(gname) else {
                return Err(crate::errors::echo(&[
                    b"NOGROUP No such consumer group '",
                    gname,
                    b"' for key name '",
                    key,
                    b"'",
                ]));
            };
            out.array(g.consumers.len());
            for (cname, c) in &g.consumers {
                out.map(4);
                out.bulk(b"name");
                out.bulk(cname);
                out.bulk(b"pending");
                out.int(c.pel.len() as i64);
                // Since the last attempted interaction (never negative), and since the last
                // successful one (-1: none yet), as Redis 7.2 replies.
                out.bulk(b"idle");
                out.int(now.saturating_sub(c.seen_time) as i64);
                out.bulk(b"inactive");
                out.int(if c.active_time == NEVER_ACTIVE {
                    NEVER_ACTIVE
                } else {
                    (now as i64).saturating_sub(c.active_time)
                });
            }
        }
    }
    Ok(())
}

/// The fields XINFO STREAM and XINFO STREAM FULL share, in Redis's order.
fn stream_head(out: &mut Reply, st: &Stream) {
    out.bulk(b"length");
    out.int(st.len() as i64);
    out.bulk(b"radix-tree-keys");
    out.int(st.node_count() as i64);
    out.bulk(b"radix-tree-nodes");
    out.int(st.node_count() as i64 + 1);
    out.bulk(b"last-generated-id");
    bulk_id(out, st.last_id);
    out.bulk(b"max-deleted-entry-id");
    bulk_id(out, st.max_deleted_id);
    out.bulk(b"entries-added");
    out.int(st.entries_added as i64);
    out.bulk(b"recorded-first-entry-id");
    bulk_id(out, st.first_id);
}

fn stream_summary(out: &mut Reply, st: &Stream) {
    out.map(10);
    stream_head(out, st);
    out.bulk(b"groups");
    out.int(st.groups.len() as i64);
    for (label, last) in [(&b"first-entry"[..], false), (b"last-entry", true)] {
        out.bulk(label);
        match st.edge(last) {
            Some(e) => reply_entry(out, e),
            None => out.null(),
        }
    }
}

fn stream_full(out: &mut Reply, st: &Stream, count: usize, now: u64) {
    out.map(9);
    stream_head(out, st);
    out.bulk(b"entries");
    super::reply_range(
        out,
        st,
        shoal_store::stream::StreamId::MIN,
        shoal_store::stream::StreamId::MAX,
        false,
        count,
    );
    out.bulk(b"groups");
    out.array(st.groups.len());
    let limit = |n: usize| if count == 0 { n } else { n.min(count) };
    for (gname, g) in &st.groups {
        out.map(7);
        out.bulk(b"name");
        out.bulk(gname);
        out.bulk(b"last-delivered-id");
        bulk_id(out, g.last_id);
        out.bulk(b"entries-read");
        opt_int(out, entries_read(g));
        out.bulk(b"lag");
        opt_int(out, st.lag(g));
        out.bulk(b"pel-count");
        out.int(g.pel.len() as i64);
        out.bulk(b"pending");
        out.array(limit(g.pel.len()));
        for (id, n) in g.pel.iter().take(limit(g.pel.len())) {
            out.array(4);
            bulk_id(out, *id);
            out.bulk(&n.consumer);
            out.int(n.delivery_time as i64);
            out.int(n.delivery_count as i64);
        }
        out.bulk(b"consumers");
        out.array(g.consumers.len());
        for (cname, c) in &g.consumers {
            out.map(5);
            out.bulk(b"name");
            out.bulk(cname);
            out.bulk(b"seen-time");
            out.int(c.seen_time as i64);
            out.bulk(b"active-time");
            out.int(c.active_time);
            out.bulk(b"pel-count");
            out.int(c.pel.len() as i64);
            out.bulk(b"pending");
            out.array(limit(c.pel.len()));
            for id in c.pel.iter().take(limit(c.pel.len())) {
                out.array(3);
                bulk_id(out, *id);
                let n = g.pel.get(id);
                out.int(n.map_or(0, |n| n.delivery_time) as i64);
                out.int(n.map_or(0, |n| n.delivery_count) as i64);
            }
        }
    }
    let _ = now;
}
