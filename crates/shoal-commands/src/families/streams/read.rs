//! XREAD and XREADGROUP, served at once or blocking until an XADD (see `crate::blocking`: a
//! woken client runs its command again, with XREAD's `$` already resolved).

use shoal_resp::{Args, OwnedArgs, Reply};
use shoal_store::CollMut;
use shoal_store::stream::{Stream, StreamId};

use super::{as_stream, bulk_id, parse_strict_id, reply_entry};
use crate::ctx::Ctx;
use crate::errors::{self, CmdError, CmdResult};
use crate::notify::STREAM;
use crate::util::{eq_ic, int};

/// Entries a woken client gets at most when it gave no COUNT (Redis's
/// `XREAD_BLOCKED_DEFAULT_COUNT`).
const BLOCKED_DEFAULT_COUNT: usize = 1000;

struct ReadArgs<'a> {
    /// 0: no limit.
    count: usize,
    /// `None`: no BLOCK; `Some(None)`: forever.
    block: Option<Option<u64>>,
    /// Index of the first key; as many ids follow the keys.
    keys_at: usize,
    n: usize,
    group: Option<(&'a [u8], &'a [u8])>,
    noack: bool,
}

fn parse<'a>(a: &Args<'a>, xreadgroup: bool) -> Result<ReadArgs<'a>, CmdError> {
    let mut r = ReadArgs {
        count: 0,
        block: None,
        keys_at: 0,
        n: 0,
        group: None,
        noack: false,
    };
    let name = if xreadgroup { "xreadgroup" } else { "xread" };
    let mut i = 1;
    while i < a.len() {
        let more = a.len() - i - 1;
        let o = a.get(i);
        if eq_ic(o, "block") && more > 0 {
            if crate::script::engine::CURRENT.with(|c| c.try_borrow().map_or(true, |c| c.is_some()))
            {
                return Err(format!(
                    "ERR {name} command is not allowed with BLOCK option from scripts"
                )
                .into());
            }
            i += 1;
            let ms = int(a.get(i))
                .map_err(|_| CmdError::from("ERR timeout is not an integer or out of range"))?;
            if ms < 0 {
                return Err(errors::TIMEOUT_NEGATIVE.into());
            }
            r.block = Some((ms > 0).then_some(ms as u64));
        } else if eq_ic(o, "count") && more > 0 {
            i += 1;
            r.count = int(a.get(i))?.max(0) as usize;
        } else if eq_ic(o, "streams") && more > 0 {
            let rest = a.len() - i - 1;
            if !rest.is_multiple_of(2) {
                return Err("ERR Unbalanced XREAD list of streams: for each stream key an ID or '$' must be specified.".into());
            }
            r.keys_at = i + 1;
            r.n = rest / 2;
            break;
        } else if eq_ic(o, "group") && more >= 2 {
            if !xreadgroup {
                return Err(
                    "ERR The GROUP option is only supported by XREADGROUP. You called XREAD instead."
                        .into(),
                );
            }
            r.group = Some((a.get(i + 1), a.get(i + 2)));
            i += 2;
        } else if eq_ic(o, "noack") {
            if !xreadgroup {
                return Err(
                    "ERR The NOACK option is only supported by XREADGROUP. You called XREAD instead."
                        .into(),
                );
            }
            r.noack = true;
        } else {
            return Err(errors::SYNTAX.into());
        }
        i += 1;
    }
    if r.keys_at == 0 {
        return Err(errors::SYNTAX.into());
    }
    if xreadgroup && r.group.is_none() {
        return Err("ERR Missing GROUP option for XREADGROUP".into());
    }
    Ok(r)
}

/// What to serve from one stream.
#[derive(Clone, Copy)]
enum Serve {
    Nothing,
    /// Entries after this id (XREAD, or XREADGROUP `>` from the group's last id).
    After(StreamId),
    /// XREADGROUP history: the consumer's pending entries after this id.
    History(StreamId),
}

fn nogroup(key: &[u8], group: &[u8], rerun: bool) -> CmdError {
    if rerun {
        return "NOGROUP the consumer group this client was blocked on no longer exists".into();
    }
    crate::errors::echo(&[
        b"NOGROUP No such key '",
        key,
        b"' or consumer group '",
        group,
        b"' in XREADGROUP with GROUP option",
    ])
}

/// XREAD [COUNT count] [BLOCK milliseconds] STREAMS key … id …
pub(super) fn xread(ctx: &mut Ctx<'_>, a: Args<'_>) -> CmdResult {
    read_generic(ctx, &a, false)
}

/// XREADGROUP GROUP group consumer [COUNT count] [BLOCK ms] [NOACK] STREAMS key … id …
pub(super) fn xreadgroup(ctx: &mut Ctx<'_>, a: Args<'_>) -> CmdResult {
    read_generic(ctx, &a, true)
}

fn read_generic(ctx: &mut Ctx<'_>, a: &Args<'_>, xreadgroup: bool) -> CmdResult {
    let r = parse(a, xreadgroup)?;
    let rerun = ctx.client.block_rerun;
    let now = ctx.now();
    // First every key, group and id is checked (an error leaves everything as it was), and
    // what to serve is decided.
    let mut plan: Vec<(Serve, StreamId)> = Vec::with_capacity(r.n);
    let mut dollar = false;
    for k in 0..r.n {
        let key = a.get(r.keys_at + k);
        let id_arg = a.get(r.keys_at + r.n + k);
        let mut s = ctx.ks.shard(key);
        let found = s.find();
        let st: Option<&Stream> = match found {
            Some(i) => match as_stream(s.entry(i).value()) {
                Ok(st) => Some(st),
                // A woken XREAD keeps waiting on a key that now holds another type; a woken
                // XREADGROUP learns its group is gone.
                Err(_) if rerun && xreadgroup => {
                    return Err(nogroup(key, b"", true));
                }
                Err(_) if rerun => None,
                Err(e) => return Err(e),
            },
            None => None,
        };
        let group_last = match r.group {
            Some((g, _)) => match st.and_then(|st| st.groups.get(g)) {
                Some(grp) => Some(grp.last_id),
                None => return Err(nogroup(key, g, rerun)),
            },
            None => None,
        };
        let gt = if id_arg == b"$" {
            if xreadgroup {
                return Err("ERR The $ ID is meaningless in the context of XREADGROUP: you want to read the history of this consumer by specifying a proper ID, or use the > ID to get new messages. The $ ID would just return an empty result set.".into());
            }
            dollar = true;
            st.map_or(StreamId::MIN, |st| st.last_id)
        } else if id_arg == b">" {
            if !xreadgroup {
                return Err("ERR The > ID can be specified only when calling XREADGROUP using the GROUP <group> <consumer> option.".into());
            }
            StreamId::MAX
        } else {
            parse_strict_id(id_arg)?
        };
        let serve = match (st, group_last) {
            (Some(_), Some(_)) if gt != StreamId::MAX => Serve::History(gt),
            (Some(st), Some(last)) => {
                let top = st.edge(true).map(|e| e.id);
                if top.is_some_and(|t| t > last) {
                    Serve::After(last)
                } else {
                    Serve::Nothing
                }
            }
            (Some(st), None) => {
                let top = st.edge(true).map(|e| e.id);
                if top.is_some_and(|t| t > gt) {
                    Serve::After(gt)
                } else {
                    Serve::Nothing
                }
            }
            (None, _) => Serve::Nothing,
        };
        plan.push((serve, gt));
    }
    let served = plan
        .iter()
        .filter(|(s, _)| !matches!(s, Serve::Nothing))
        .count();
    let count = if rerun && r.count == 0 {
        BLOCKED_DEFAULT_COUNT
    } else {
        r.count
    };
    if xreadgroup {
        // Effects are propagated as XCLAIM / XGROUP SETID, never the command itself.
        ctx.propagate_nothing();
    }
    if served > 0 {
        if ctx.out.resp3() {
            ctx.out.map(served);
        } else {
            ctx.out.array(served);
        }
    }
    for (k, (serve, _)) in plan.iter().enumerate() {
        let key = a.get(r.keys_at + k);
        if let Some((g, c)) = r.group {
            group_read(ctx, key, g, c, *serve, count, r.noack, now);
            continue;
        }
        let after = match *serve {
            Serve::After(id) => id,
            _ => continue,
        };
        let out = &mut *ctx.out;
        let mut s = ctx.ks.shard(key);
        if let Some(i) = s.find()
            && let Ok(st) = as_stream(s.entry(i).value())
        {
            stream_header(out, key);
            let start = after.next().unwrap_or(StreamId::MAX);
            super::reply_range(out, st, start, StreamId::MAX, false, count);
        }
    }
    ctx.hit(served > 0);
    if served > 0 {
        return Ok(());
    }
    match r.block {
        None => {
            ctx.out.null_array();
            Ok(())
        }
        Some(timeout) => {
            let keys: Vec<Box<[u8]>> = (0..r.n).map(|k| a.get(r.keys_at + k).into()).collect();
            let args = if dollar {
                // The entries to wait for are those after the ids `$` stood for now.
                let ids_at = r.keys_at + r.n;
                let parts: Vec<Vec<u8>> = a
                    .iter()
                    .enumerate()
                    .map(|(i, arg)| {
                        if i >= ids_at && arg == b"$" {
                            plan[i - ids_at].1.to_string().into_bytes()
                        } else {
                            arg.to_vec()
                        }
                    })
                    .collect();
                OwnedArgs::from_parts(parts)
            } else {
                a.to_owned()
            };
            if !ctx.in_exec {
                ctx.shared.blocking.mark_stream(ctx.client.id);
            }
            crate::blocking::block_with(ctx, args, keys, timeout);
            Ok(())
        }
    }
}

fn stream_header(out: &mut Reply, key: &[u8]) {
    if !out.resp3() {
        out.array(2);
    }
    out.bulk(key);
}

/// XREADGROUP on one stream: creates the consumer (or updates its seen time), serves what
/// `serve` says and records the deliveries in the group (the consumer's active time when new
/// entries enter the PEL), propagating them as XCLAIM and XGROUP SETID.
#[allow(clippy::too_many_arguments)]
fn group_read(
    ctx: &mut Ctx<'_>,
    key: &[u8],
    group: &[u8],
    consumer: &[u8],
    serve: Serve,
    count: usize,
    noack: bool,
    now: u64,
) {
    // Every stream read sees the consumer (created if new), whatever it serves, as in Redis
    // 7.2 (7.0 created and refreshed it only when it had entries to serve).
    let replicating = ctx.replicating();
    let mut prop: Vec<Vec<Vec<u8>>> = Vec::new();
    let created;
    {
        let out = &mut *ctx.out;
        let mut s = ctx.ks.shard(key);
        let Some(i) = s.find() else { return };
        let CollMut::Stream(st) = s.coll_mut(i) else {
            return;
        };
        let meta = st.meta();
        if !st.groups.contains_key(group) {
            return;
        }
        let mut delivered: Vec<StreamId> = Vec::new();
        match serve {
            Serve::Nothing => {}
            Serve::After(last) => {
                stream_header(out, key);
                let start = last.next().unwrap_or(StreamId::MAX);
                let mut ids = Vec::new();
                st.range(start, StreamId::MAX, false, |e| {
                    ids.push(e.id);
                    count == 0 || ids.len() < count
                });
                out.array(ids.len());
                for id in &ids {
                    if let Some(e) = st.get(*id) {
                        reply_entry(out, e);
                    }
                }
                delivered = ids;
            }
            Serve::History(after) => {
                stream_header(out, key);
                let start = after.next().unwrap_or(StreamId::MAX);
                let ids: Vec<StreamId> = st
                    .groups
                    .get(group)
                    .and_then(|g| g.consumers.get(consumer))
                    .map(|c| {
                        let it = c.pel.range(start..).copied();
                        if count == 0 {
                            it.collect()
                        } else {
                            it.take(count).collect()
                        }
                    })
                    .unwrap_or_default();
                out.array(ids.len());
                for id in &ids {
                    match st.get(*id) {
                        Some(e) => reply_entry(out, e),
                        None => {
                            out.array(2);
                            bulk_id(out, *id);
                            out.null_array();
                        }
                    }
                }
                delivered = ids;
            }
        }
        let Some(g) = st.groups.get_mut(group) else {
            return;
        };
        created = g.touch_consumer(consumer, now);
        if created && replicating {
            prop.push(vec![
                b"XGROUP".to_vec(),
                b"CREATECONSUMER".to_vec(),
                key.to_vec(),
                group.to_vec(),
                consumer.to_vec(),
            ]);
        }
        let history = matches!(serve, Serve::History(_));
        let delivered_any = !delivered.is_empty();
        let mut advanced = false;
        for id in delivered {
            if history {
                let cnt = g.pel.get(&id).map_or(1, |n| n.delivery_count + 1);
                g.deliver(id, consumer, now, cnt);
            } else {
                if id > g.last_id {
                    meta.advance_group(g, id);
                    advanced = true;
                }
                if noack {
                    continue;
                }
                g.deliver(id, consumer, now, 1);
            }
            if replicating && let Some(n) = g.pel.get(&id) {
                prop.push(xclaim_prop(key, group, consumer, id, n, g.last_id));
            }
        }
        // New entries delivered into the PEL make the consumer active (not NOACK, nor its
        // history served again), as in Redis 7.2.
        if !history && !noack && delivered_any {
            g.mark_active(consumer, now);
        }
        if advanced && replicating {
            prop.push(setid_prop(key, group, g.last_id, g.entries_read));
        }
    }
    if created {
        ctx.notify(STREAM, "xgroup-createconsumer", key);
    }
    for p in &prop {
        let refs: Vec<&[u8]> = p.iter().map(Vec::as_slice).collect();
        ctx.propagate_as(&refs);
    }
}

/// `XCLAIM key group consumer 0 id TIME ms RETRYCOUNT n FORCE JUSTID LASTID last`: what a
/// delivery becomes in the replication stream (Redis's `streamPropagateXCLAIM`).
pub(super) fn xclaim_prop(
    key: &[u8],
    group: &[u8],
    consumer: &[u8],
    id: StreamId,
    n: &shoal_store::stream::Nack,
    last: StreamId,
) -> Vec<Vec<u8>> {
    vec![
        b"XCLAIM".to_vec(),
        key.to_vec(),
        group.to_vec(),
        consumer.to_vec(),
        b"0".to_vec(),
        id.to_string().into_bytes(),
        b"TIME".to_vec(),
        n.delivery_time.to_string().into_bytes(),
        b"RETRYCOUNT".to_vec(),
        n.delivery_count.to_string().into_bytes(),
        b"FORCE".to_vec(),
        b"JUSTID".to_vec(),
        b"LASTID".to_vec(),
        last.to_string().into_bytes(),
    ]
}

/// `XGROUP SETID key group id ENTRIESREAD n` (Redis's `streamPropagateGroupID`).
pub(super) fn setid_prop(
    key: &[u8],
    group: &[u8],
    last: StreamId,
    entries_read: i64,
) -> Vec<Vec<u8>> {
    vec![
        b"XGROUP".to_vec(),
        b"SETID".to_vec(),
        key.to_vec(),
        group.to_vec(),
        last.to_string().into_bytes(),
        b"ENTRIESREAD".to_vec(),
        entries_read.to_string().into_bytes(),
    ]
}
