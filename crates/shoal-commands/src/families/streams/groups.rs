//! Consumer groups: XGROUP, XACK, XPENDING, XCLAIM, XAUTOCLAIM.

use shoal_resp::Args;
use shoal_store::CollMut;
use shoal_store::stream::{Group, INVALID_ENTRIES_READ, Nack, Stream, StreamId};

use super::read::{setid_prop, xclaim_prop};
use super::{
    as_stream, bulk_id, new_stream, parse_id, parse_interval, parse_strict_id, reply_entry,
};
use crate::ctx::Ctx;
use crate::errors::{self, CmdError, CmdResult};
use crate::notify::STREAM;
use crate::util::{eq_ic, int, peek_value, write_value_ev};

fn sub_syntax(sub: &[u8]) -> CmdError {
    format!(
        "ERR unknown subcommand or wrong number of arguments for '{}'. Try XGROUP HELP.",
        String::from_utf8_lossy(sub)
    )
    .into()
}

fn no_group_for_key(key: &[u8], group: &[u8]) -> CmdError {
    crate::errors::echo(&[
        b"NOGROUP No such consumer group '",
        group,
        b"' for key name '",
        key,
        b"'",
    ])
}

fn no_key_or_group(key: &[u8], group: &[u8]) -> CmdError {
    crate::errors::echo(&[
        b"NOGROUP No such key '",
        key,
        b"' or consumer group '",
        group,
        b"'",
    ])
}

fn entries_read_arg(a: &[u8]) -> Result<i64, CmdError> {
    let n = int(a)?;
    if n < 0 && n != INVALID_ENTRIES_READ {
        return Err("ERR value for ENTRIESREAD must be positive or -1".into());
    }
    Ok(n)
}

/// Runs `f` on the stream at `key` (which exists: checked by the caller) with the group named
/// `name` taken out of it, so the entries can be read while the group changes.
fn with_group<R>(
    ctx: &mut Ctx<'_>,
    key: &[u8],
    name: &[u8],
    f: impl FnOnce(&Stream, &mut Group) -> R,
) -> Option<R> {
    let mut s = ctx.ks.shard(key);
    let i = s.find()?;
    let CollMut::Stream(st) = s.coll_mut(i) else {
        return None;
    };
    let (k, mut g) = st.groups.remove_entry(name)?;
    let r = f(st, &mut g);
    st.groups.insert(k, g);
    Some(r)
}

const XGROUP_HELP: &[&str] = &[
    "XGROUP <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "CREATE <key> <groupname> <id|$> [option]",
    "    Create a new consumer group. Options are:",
    "    * MKSTREAM",
    "      Create the empty stream if it does not exist.",
    "    * ENTRIESREAD entries_read",
    "      Set the group's entries_read counter (internal use).",
    "CREATECONSUMER <key> <groupname> <consumer>",
    "    Create a new consumer in the specified group.",
    "DELCONSUMER <key> <groupname> <consumer>",
    "    Remove the specified consumer.",
    "DESTROY <key> <groupname>",
    "    Remove the specified group.",
    "SETID <key> <groupname> <id|$> [ENTRIESREAD entries_read]",
    "    Set the current group ID and entries_read counter.",
    "HELP",
    "    Prints this help.",
];

/// XGROUP CREATE|SETID|DESTROY|CREATECONSUMER|DELCONSUMER|HELP …
pub(super) fn xgroup(ctx: &mut Ctx<'_>, a: Args<'_>) -> CmdResult {
    let sub = a.get(1);
    let argc = a.len();
    let arity: &[(&str, i64)] = &[
        ("create", -5),
        ("setid", -5),
        ("destroy", 4),
        ("createconsumer", 5),
        ("delconsumer", 5),
        ("help", 2),
    ];
    let Some(&(name, ar)) = arity.iter().find(|(n, _)| eq_ic(sub, n)) else {
        return Err(errors::unknown_subcommand(sub, "XGROUP"));
    };
    if (ar >= 0 && argc as i64 != ar) || (ar < 0 && (argc as i64) < -ar) {
        return Err(errors::arity(&format!("xgroup|{name}")));
    }
    if name == "help" {
        crate::util::help(ctx.out, XGROUP_HELP);
        return Ok(());
    }
    let (key, group) = (a.get(2), a.get(3));
    let mut mkstream = false;
    let mut entries_read = INVALID_ENTRIES_READ;
    match name {
        "create" => {
            let mut i = 5;
            while i < argc {
                if eq_ic(a.get(i), "mkstream") {
                    mkstream = true;
                    i += 1;
                } else if eq_ic(a.get(i), "entriesread") && i + 1 < argc {
                    entries_read = entries_read_arg(a.get(i + 1))?;
                    i += 2;
                } else {
                    return Err(sub_syntax(sub));
                }
            }
        }
        "setid" => {
            if argc == 7 && eq_ic(a.get(5), "entriesread") {
                entries_read = entries_read_arg(a.get(6))?;
            } else if argc != 5 {
                return Err(sub_syntax(sub));
            }
        }
        _ => {}
    }
    // The key (of the right type) and, but for CREATE and DESTROY, the group must exist.
    let found = peek_value(ctx, key, |v| {
        let s = as_stream(v)?;
        Ok((s.last_id, s.groups.contains_key(group)))
    })?;
    let (last_id, has_group) = match found {
        Some(f) => f,
        None if name == "create" && mkstream => (StreamId::MIN, false),
        None => return Err("ERR The XGROUP subcommand requires the key to exist. Note that for CREATE you may want to use the MKSTREAM option to create an empty stream automatically.".into()),
    };
    if !has_group && matches!(name, "setid" | "createconsumer" | "delconsumer") {
        return Err(no_group_for_key(key, group));
    }
    let now = ctx.now();
    match name {
        "create" => {
            let id = if a.get(4) == b"$" {
                last_id
            } else {
                parse_strict_id(a.get(4))?
            };
            if has_group {
                return Err("BUSYGROUP Consumer Group name already exists".into());
            }
            let r = write_value_ev(ctx, key, "stream", Some(new_stream), |v| {
                let CollMut::Stream(s) = v else {
                    return Err(errors::WRONGTYPE.into());
                };
                s.groups.insert(group.into(), Group::new(id, entries_read));
                Ok(())
            })?;
            let ch = r.map(|r| r.1).unwrap_or_default();
            ctx.notify_write(STREAM, Some("xgroup-create"), key, ch);
            ctx.out.ok();
        }
        "setid" => {
            let id = if a.get(4) == b"$" {
                last_id
            } else {
                parse_id(a.get(4))?
            };
            with_group(ctx, key, group, |_, g| {
                g.last_id = id;
                g.entries_read = entries_read;
            });
            ctx.notify(STREAM, "xgroup-setid", key);
            ctx.out.ok();
        }
        "destroy" => {
            let removed = has_group
                && write_value_ev(ctx, key, "stream", None, |v| {
                    let CollMut::Stream(s) = v else {
                        return Err(errors::WRONGTYPE.into());
                    };
                    Ok(s.groups.remove(group).is_some())
                })?
                .is_some_and(|r| r.0);
            if removed {
                ctx.notify(STREAM, "xgroup-destroy", key);
                // A client blocked in XREADGROUP on this group learns it is gone.
                let (shared, db) = (ctx.shared, ctx.ks.db);
                shared.blocking.signal_all(shared, db, key);
            } else {
                ctx.propagate_nothing();
            }
            ctx.out.int(removed as i64);
        }
        "createconsumer" => {
            let created =
                with_group(ctx, key, group, |_, g| g.create_consumer(a.get(4), now)) == Some(true);
            if created {
                ctx.notify(STREAM, "xgroup-createconsumer", key);
            } else {
                ctx.propagate_nothing();
            }
            ctx.out.int(created as i64);
        }
        _ => {
            let pending = with_group(ctx, key, group, |_, g| g.delete_consumer(a.get(4))).flatten();
            ctx.notify(STREAM, "xgroup-delconsumer", key);
            ctx.out.int(pending.unwrap_or(0) as i64);
        }
    }
    Ok(())
}

/// XACK key group id [id …]
pub(super) fn xack(ctx: &mut Ctx<'_>, a: Args<'_>) -> CmdResult {
    let (key, group) = (a.get(1), a.get(2));
    let has = peek_value(ctx, key, |v| Ok(as_stream(v)?.groups.contains_key(group)))?;
    if has != Some(true) {
        ctx.propagate_nothing();
        ctx.out.int(0);
        return Ok(());
    }
    for id in a.iter().skip(3) {
        parse_strict_id(id)?;
    }
    let n = with_group(ctx, key, group, |_, g| {
        a.iter()
            .skip(3)
            .filter_map(|b| parse_strict_id(b).ok())
            .filter(|id| g.ack(*id))
            .count()
    })
    .unwrap_or(0);
    if n == 0 {
        ctx.propagate_nothing();
    }
    ctx.out.int(n as i64);
    Ok(())
}

/// XPENDING key group [[IDLE min-idle-time] start end count [consumer]]
pub(super) fn xpending(ctx: &mut Ctx<'_>, a: Args<'_>) -> CmdResult {
    let argc = a.len();
    if argc != 3 && !(6..=9).contains(&argc) {
        return Err(errors::SYNTAX.into());
    }
    let (key, group) = (a.get(1), a.get(2));
    let mut range = None;
    if argc >= 6 {
        let mut at = 3;
        let mut min_idle = 0i64;
        if eq_ic(a.get(3), "idle") {
            min_idle = int(a.get(4))?;
            if argc < 8 {
                return Err(errors::SYNTAX.into());
            }
            at += 2;
        }
        let count = int(a.get(at + 2))?.max(0) as u64;
        let start = parse_interval(a.get(at), true)?;
        let end = parse_interval(a.get(at + 1), false)?;
        let consumer = (at + 3 < argc).then(|| a.get(at + 3));
        if at + 4 < argc {
            return Err(errors::SYNTAX.into());
        }
        range = Some((min_idle, start, end, count, consumer));
    }
    let now = ctx.now();
    let out = &mut *ctx.out;
    let mut s = ctx.ks.shard(key);
    let st = match s.find() {
        Some(i) => Some(as_stream(s.entry(i).value())?),
        None => None,
    };
    let Some(g) = st.and_then(|st| st.groups.get(group)) else {
        return Err(no_key_or_group(key, group));
    };
    let Some((min_idle, start, end, count, consumer)) = range else {
        out.array(4);
        out.int(g.pel.len() as i64);
        match (g.pel.first_key_value(), g.pel.last_key_value()) {
            (Some((first, _)), Some((last, _))) => {
                bulk_id(out, *first);
                bulk_id(out, *last);
                let busy = g.consumers.values().filter(|c| !c.pel.is_empty()).count();
                out.array(busy);
                for (name, c) in g.consumers.iter().filter(|(_, c)| !c.pel.is_empty()) {
                    out.array(2);
                    out.bulk(name);
                    out.bulk_int(c.pel.len() as i64);
                }
            }
            _ => {
                out.null();
                out.null();
                out.null_array();
            }
        }
        return Ok(());
    };
    let idle_of = |n: &Nack| now as i64 - n.delivery_time as i64;
    let keep = |n: &Nack| min_idle == 0 || idle_of(n) >= min_idle;
    let ids: Box<dyn Iterator<Item = (StreamId, &Nack)>> = match consumer {
        Some(c) => match g.consumers.get(c) {
            Some(c) => Box::new(
                c.pel
                    .range(start..)
                    .filter_map(|id| g.pel.get(id).map(|n| (*id, n))),
            ),
            None => {
                out.array(0);
                return Ok(());
            }
        },
        None => Box::new(g.pel.range(start..).map(|(id, n)| (*id, n))),
    };
    let picked: Vec<(StreamId, &Nack)> = if start > end {
        Vec::new()
    } else {
        ids.take_while(|(id, _)| *id <= end)
            .filter(|(_, n)| keep(n))
            .take(count.min(usize::MAX as u64) as usize)
            .collect()
    };
    out.array(picked.len());
    for (id, n) in picked {
        out.array(4);
        bulk_id(out, id);
        out.bulk(&n.consumer);
        out.int(idle_of(n).max(0));
        out.int(n.delivery_count as i64);
    }
    Ok(())
}

/// Gives the NACK of `id` to `consumer`: time `time`, count `count` (`None`: +1 unless
/// `justid`).
fn claim(
    g: &mut Group,
    id: StreamId,
    consumer: &[u8],
    time: u64,
    count: Option<u64>,
    justid: bool,
) {
    let cnt = match (count, g.pel.get(&id)) {
        (Some(c), _) => c,
        (None, Some(n)) if justid => n.delivery_count,
        (None, Some(n)) => n.delivery_count + 1,
        (None, None) => 1,
    };
    g.deliver(id, consumer, time, cnt);
}

/// A NACK whose entry is gone leaves the PEL (propagated as the XCLAIM that removes it).
fn drop_missing(
    g: &mut Group,
    id: StreamId,
    key: &[u8],
    group: &[u8],
    prop: &mut Option<Vec<Vec<Vec<u8>>>>,
) {
    if let Some(n) = g.pel.get(&id) {
        if let Some(p) = prop.as_mut() {
            p.push(xclaim_prop(key, group, &n.consumer, id, n, g.last_id));
        }
        g.ack(id);
    }
}

/// `XGROUP CREATECONSUMER key group consumer`: a consumer XCLAIM or XAUTOCLAIM created, so that
/// a replica has it even when nothing was claimed.
fn createconsumer_prop(key: &[u8], group: &[u8], consumer: &[u8]) -> Vec<Vec<u8>> {
    vec![
        b"XGROUP".to_vec(),
        b"CREATECONSUMER".to_vec(),
        key.to_vec(),
        group.to_vec(),
        consumer.to_vec(),
    ]
}

fn propagate_all(ctx: &mut Ctx<'_>, prop: Option<Vec<Vec<Vec<u8>>>>) {
    ctx.propagate_nothing();
    for p in prop.into_iter().flatten() {
        let refs: Vec<&[u8]> = p.iter().map(Vec::as_slice).collect();
        ctx.propagate_as(&refs);
    }
}

/// XCLAIM key group consumer min-idle-time id [id …] [IDLE ms] [TIME ms] [RETRYCOUNT n]
/// [FORCE] [JUSTID] [LASTID id]
pub(super) fn xclaim(ctx: &mut Ctx<'_>, a: Args<'_>) -> CmdResult {
    let (key, group, consumer) = (a.get(1), a.get(2), a.get(3));
    let has = peek_value(ctx, key, |v| Ok(as_stream(v)?.groups.contains_key(group)))?;
    if has != Some(true) {
        return Err(no_key_or_group(key, group));
    }
    let min_idle = int(a.get(4))
        .map_err(|_| CmdError::from("ERR Invalid min-idle-time argument for XCLAIM"))?
        .max(0) as u64;
    let mut j = 5;
    while j < a.len() && parse_strict_id(a.get(j)).is_ok() {
        j += 1;
    }
    let ids_end = j;
    let now = ctx.now();
    let (mut force, mut justid) = (false, false);
    let mut retry: Option<u64> = None;
    let mut time: Option<i64> = None;
    let mut last_id = StreamId::MIN;
    while j < a.len() {
        let more = j + 1 < a.len();
        let opt = a.get(j);
        if eq_ic(opt, "force") {
            force = true;
        } else if eq_ic(opt, "justid") {
            justid = true;
        } else if eq_ic(opt, "idle") && more {
            j += 1;
            let ms = int(a.get(j))
                .map_err(|_| CmdError::from("ERR Invalid IDLE option argument for XCLAIM"))?;
            time = Some((now as i64).saturating_sub(ms));
        } else if eq_ic(opt, "time") && more {
            j += 1;
            time = Some(
                int(a.get(j))
                    .map_err(|_| CmdError::from("ERR Invalid TIME option argument for XCLAIM"))?,
            );
        } else if eq_ic(opt, "retrycount") && more {
            j += 1;
            let n = int(a.get(j))
                .map_err(|_| CmdError::from("ERR Invalid RETRYCOUNT option argument for XCLAIM"))?;
            retry = (n >= 0).then_some(n as u64);
        } else if eq_ic(opt, "lastid") && more {
            j += 1;
            last_id = parse_strict_id(a.get(j))?;
        } else {
            return Err(format!(
                "ERR Unrecognized XCLAIM option '{}'",
                String::from_utf8_lossy(opt)
            )
            .into());
        }
        j += 1;
    }
    let time = match time {
        Some(t) if t >= 0 && (t as u64) <= now => t as u64,
        _ => now,
    };
    let mut prop = ctx.replicating().then(Vec::new);
    let r = with_group(ctx, key, group, |st, g| {
        let mut propagate_last = false;
        if last_id > g.last_id {
            g.last_id = last_id;
            propagate_last = true;
        }
        let mut claimed = Vec::new();
        // The consumer is seen (created if new) whatever gets claimed, as in Redis 7.2.
        let created = g.touch_consumer(consumer, now);
        if created && let Some(p) = prop.as_mut() {
            p.push(createconsumer_prop(key, group, consumer));
        }
        for b in a.iter().take(ids_end).skip(5) {
            let Ok(id) = parse_strict_id(b) else { continue };
            if st.get(id).is_none() {
                if g.pel.contains_key(&id) {
                    propagate_last = false;
                }
                drop_missing(g, id, key, group, &mut prop);
                continue;
            }
            let existing = g.pel.get(&id).map(|n| n.delivery_time);
            if existing.is_none() && !force {
                continue;
            }
            if let Some(t) = existing
                && min_idle > 0
                && now.saturating_sub(t) < min_idle
            {
                continue;
            }
            if existing.is_none() {
                // FORCE: a NACK made from scratch starts at one delivery.
                g.deliver(id, consumer, time, 1);
            }
            claim(g, id, consumer, time, retry, justid);
            g.mark_active(consumer, now);
            if let (Some(p), Some(n)) = (prop.as_mut(), g.pel.get(&id)) {
                p.push(xclaim_prop(key, group, consumer, id, n, g.last_id));
            }
            propagate_last = false;
            claimed.push(id);
        }
        if propagate_last && let Some(p) = prop.as_mut() {
            p.push(setid_prop(key, group, g.last_id, g.entries_read));
        }
        (claimed, created)
    });
    let (claimed, created) = r.unwrap_or_default();
    reply_claimed(ctx, key, &claimed, justid);
    if created {
        ctx.notify(STREAM, "xgroup-createconsumer", key);
    }
    propagate_all(ctx, prop);
    Ok(())
}

/// The claimed entries (or their ids), read back from the stream.
fn reply_claimed(ctx: &mut Ctx<'_>, key: &[u8], ids: &[StreamId], justid: bool) {
    let out = &mut *ctx.out;
    out.array(ids.len());
    if justid {
        for id in ids {
            bulk_id(out, *id);
        }
        return;
    }
    let mut s = ctx.ks.shard(key);
    let st = s.find().and_then(|i| as_stream(s.entry(i).value()).ok());
    for id in ids {
        match st.and_then(|st| st.get(*id)) {
            Some(e) => reply_entry(out, e),
            None => out.null_array(),
        }
    }
}

/// XAUTOCLAIM key group consumer min-idle-time start [COUNT count] [JUSTID]
pub(super) fn xautoclaim(ctx: &mut Ctx<'_>, a: Args<'_>) -> CmdResult {
    let (key, group, consumer) = (a.get(1), a.get(2), a.get(3));
    let min_idle = int(a.get(4))
        .map_err(|_| CmdError::from("ERR Invalid min-idle-time argument for XAUTOCLAIM"))?
        .max(0) as u64;
    let start = parse_interval(a.get(5), true)?;
    let mut count: u64 = 100;
    let mut justid = false;
    let mut j = 6;
    while j < a.len() {
        let opt = a.get(j);
        if eq_ic(opt, "count") && j + 1 < a.len() {
            let max = i64::MAX / 16;
            count = match int(a.get(j + 1)) {
                Ok(n) if (1..=max).contains(&n) => n as u64,
                _ => return Err("ERR COUNT must be > 0".into()),
            };
            j += 1;
        } else if eq_ic(opt, "justid") {
            justid = true;
        } else {
            return Err(errors::SYNTAX.into());
        }
        j += 1;
    }
    let has = peek_value(ctx, key, |v| Ok(as_stream(v)?.groups.contains_key(group)))?;
    if has != Some(true) {
        return Err(no_key_or_group(key, group));
    }
    let now = ctx.now();
    let mut prop = ctx.replicating().then(Vec::new);
    let r = with_group(ctx, key, group, |st, g| {
        let mut attempts = count.saturating_mul(10);
        let mut left = count;
        let mut cur = Some(start);
        let (mut claimed, mut deleted) = (Vec::new(), Vec::new());
        // The consumer is seen (created if new) whatever gets claimed, as in Redis 7.2.
        let created = g.touch_consumer(consumer, now);
        if created && let Some(p) = prop.as_mut() {
            p.push(createconsumer_prop(key, group, consumer));
        }
        while attempts > 0 && left > 0 {
            attempts -= 1;
            let Some(c) = cur else { break };
            let Some(id) = g.pel.range(c..).next().map(|(k, _)| *k) else {
                cur = None;
                break;
            };
            cur = id.next();
            if st.get(id).is_none() {
                drop_missing(g, id, key, group, &mut prop);
                deleted.push(id);
                left -= 1;
                continue;
            }
            let t = g.pel.get(&id).map_or(now, |n| n.delivery_time);
            if min_idle > 0 && now.saturating_sub(t) < min_idle {
                continue;
            }
            claim(g, id, consumer, now, None, justid);
            g.mark_active(consumer, now);
            if let (Some(p), Some(n)) = (prop.as_mut(), g.pel.get(&id)) {
                p.push(xclaim_prop(key, group, consumer, id, n, g.last_id));
            }
            claimed.push(id);
            left -= 1;
        }
        let next = cur
            .and_then(|c| g.pel.range(c..).next().map(|(k, _)| *k))
            .unwrap_or(StreamId::MIN);
        (claimed, deleted, next, created)
    });
    let Some((claimed, deleted, next, created)) = r else {
        return Err(no_key_or_group(key, group));
    };
    ctx.out.array(3);
    bulk_id(ctx.out, next);
    reply_claimed(ctx, key, &claimed, justid);
    ctx.out.array(deleted.len());
    for id in &deleted {
        bulk_id(ctx.out, *id);
    }
    if created {
        ctx.notify(STREAM, "xgroup-createconsumer", key);
    }
    propagate_all(ctx, prop);
    Ok(())
}
