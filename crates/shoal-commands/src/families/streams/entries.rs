//! XADD, XLEN, XRANGE, XREVRANGE, XDEL, XTRIM, XSETID.

use shoal_resp::Args;
use shoal_store::stream::{NodeLimits, Stream, StreamId, Trim};

use super::{
    as_stream, as_stream_mut, bulk_id, new_stream, parse_id_ext, parse_interval, parse_strict_id,
    reply_range,
};
use crate::ctx::Ctx;
use crate::errors::{self, CmdError, CmdResult};
use crate::notify::STREAM;
use crate::util::{eq_ic, int, peek_value, read_value, write_value_ev};

/// The trimming options of XADD and XTRIM (Redis's `streamAddTrimArgs`).
#[derive(Default)]
pub(super) struct TrimArgs {
    pub how: Option<Trim>,
    pub approx: bool,
    /// 0: no limit.
    pub limit: u64,
    /// Index of `~`/`=` (if given) and of the threshold, for the replication rewrite.
    pub op_idx: Option<usize>,
    pub arg_idx: usize,
    pub limit_idx: Option<usize>,
    pub nomkstream: bool,
    /// XADD: the id (`None`: `*`) and whether its seq was given (`false`: `ms-*`).
    pub id: Option<(StreamId, bool)>,
}

/// Parses the options from `args[2]`; for XADD stops at the id and returns its index.
pub(super) fn parse_trim_args(
    ctx: &Ctx<'_>,
    a: &Args<'_>,
    xadd: bool,
) -> Result<(TrimArgs, usize), CmdError> {
    let mut t = TrimArgs::default();
    let mut limit_given = false;
    let mut i = 2;
    while i < a.len() {
        let more = a.len() - 1 - i;
        let opt = a.get(i);
        if xadd && opt == b"*" {
            break;
        } else if (eq_ic(opt, "maxlen") || eq_ic(opt, "minid")) && more > 0 {
            if t.how.is_some() {
                return Err("ERR syntax error, MAXLEN and MINID options at the same time are not compatible".into());
            }
            t.approx = false;
            t.op_idx = None;
            let next = a.get(i + 1);
            if more >= 2 && (next == b"~" || next == b"=") {
                t.approx = next == b"~";
                t.op_idx = Some(i + 1);
                i += 1;
            }
            let v = a.get(i + 1);
            t.how = Some(if eq_ic(opt, "maxlen") {
                let n = int(v)?;
                if n < 0 {
                    return Err("ERR The MAXLEN argument must be >= 0.".into());
                }
                Trim::MaxLen(n as u64)
            } else {
                Trim::MinId(parse_strict_id(v)?)
            });
            i += 1;
            t.arg_idx = i;
        } else if eq_ic(opt, "limit") && more > 0 {
            let n = int(a.get(i + 1))?;
            if n < 0 {
                return Err("ERR The LIMIT argument must be >= 0.".into());
            }
            t.limit = n as u64;
            limit_given = true;
            t.limit_idx = Some(i);
            i += 1;
        } else if xadd && eq_ic(opt, "nomkstream") {
            t.nomkstream = true;
        } else if xadd {
            t.id = Some(parse_id_ext(opt, 0, true, true)?);
            break;
        } else {
            return Err(errors::SYNTAX.into());
        }
        i += 1;
    }
    if t.limit > 0 && t.how.is_none() {
        return Err(
            "ERR syntax error, LIMIT cannot be used without specifying a trimming strategy".into(),
        );
    }
    if !xadd && t.how.is_none() {
        return Err("ERR syntax error, XTRIM must be called with a trimming strategy".into());
    }
    if ctx.client.is_master {
        // The primary rewrote the threshold: trim exactly as it did.
        t.limit = 0;
    } else if limit_given {
        if !t.approx {
            return Err(
                "ERR syntax error, LIMIT cannot be used without the special ~ option".into(),
            );
        }
    } else if t.approx {
        let per_node = NodeLimits::current().max_entries as u64;
        t.limit = if per_node == 0 || per_node > 1_000_000 {
            10_000
        } else {
            100 * per_node
        };
    } else {
        t.limit = 0;
    }
    Ok((t, i))
}

/// The id XADD gives its entry (Redis's `streamAppendItem` rules).
fn next_id(s: &Stream, given: Option<(StreamId, bool)>, now: u64) -> Result<StreamId, CmdError> {
    const SMALLER: &str =
        "ERR The ID specified in XADD is equal or smaller than the target stream top item";
    let last = s.last_id;
    let id = match given {
        Some((id, true)) => id,
        Some((id, false)) if id.ms == last.ms => {
            if last.seq == u64::MAX {
                return Err(SMALLER.into());
            }
            StreamId::new(last.ms, last.seq + 1)
        }
        Some((id, false)) => id,
        None if now > last.ms => StreamId::new(now, 0),
        None => last.next().ok_or(CmdError::from(SMALLER))?,
    };
    if id <= last {
        return Err(SMALLER.into());
    }
    Ok(id)
}

/// What a trim with `~` did, as an exact command a replica repeats: `MAXLEN = len` or
/// `MINID = first id`, without LIMIT; `id_idx` (XADD) gets the concrete id.
fn propagate_rewritten(
    ctx: &mut Ctx<'_>,
    a: &Args<'_>,
    t: &TrimArgs,
    s_len: u64,
    first: StreamId,
    id: Option<(usize, StreamId)>,
) {
    let mut parts: Vec<Vec<u8>> = Vec::with_capacity(a.len());
    let mut i = 0;
    while i < a.len() {
        if Some(i) == t.limit_idx {
            i += 2;
            continue;
        }
        let arg = a.get(i);
        if Some(i) == t.op_idx && t.approx {
            parts.push(b"=".to_vec());
        } else if i == t.arg_idx && t.approx {
            parts.push(match t.how {
                Some(Trim::MinId(_)) => first.to_string().into_bytes(),
                _ => s_len.to_string().into_bytes(),
            });
        } else if let Some((idx, idv)) = id
            && idx == i
        {
            parts.push(idv.to_string().into_bytes());
        } else {
            parts.push(arg.to_vec());
        }
        i += 1;
    }
    let refs: Vec<&[u8]> = parts.iter().map(Vec::as_slice).collect();
    ctx.propagate_as(&refs);
}

/// XADD key [NOMKSTREAM] [MAXLEN|MINID [=|~] threshold [LIMIT count]] *|id field value …
pub(super) fn xadd(ctx: &mut Ctx<'_>, a: Args<'_>) -> CmdResult {
    let (t, idx) = parse_trim_args(ctx, &a, true)?;
    if a.len() < idx + 3 || (a.len() - idx).is_multiple_of(2) {
        return Err(errors::arity("xadd"));
    }
    if let Some((id, true)) = t.id
        && id.is_zero()
    {
        return Err("ERR The ID specified in XADD must be greater than 0-0".into());
    }
    let key = a.get(1);
    let now = ctx.now();
    let n = (a.len() - idx - 1) / 2;
    let create: Option<fn() -> shoal_store::Value> = (!t.nomkstream).then_some(new_stream);
    let limits = NodeLimits::current();
    let r = write_value_ev(ctx, key, "stream", create, |v| {
        let s = as_stream_mut(v)?;
        if s.last_id == StreamId::MAX {
            return Err(
                "ERR The stream has exhausted the last possible ID, unable to add more items"
                    .into(),
            );
        }
        let id = next_id(s, t.id, now)?;
        s.append(id, n, (idx + 1..a.len()).map(move |i| a.get(i)), limits);
        let trimmed = match t.how {
            Some(how) => s.trim(how, t.approx, t.limit),
            None => 0,
        };
        Ok((id, trimmed, s.len(), s.first_id))
    })?;
    let Some(((id, trimmed, len, first), ch)) = r else {
        ctx.out.null();
        return Ok(());
    };
    bulk_id(ctx.out, id);
    ctx.notify_write(STREAM, Some("xadd"), key, ch);
    if trimmed > 0 {
        ctx.notify(STREAM, "xtrim", key);
    }
    if ctx.replicating() && (t.approx || !matches!(t.id, Some((_, true)))) {
        propagate_rewritten(ctx, &a, &t, len, first, Some((idx, id)));
    }
    // Every reader waiting on the key may want the entry (it is read, not taken).
    let (shared, db) = (ctx.shared, ctx.ks.db);
    shared.blocking.signal_all(shared, db, key);
    Ok(())
}

/// XTRIM key MAXLEN|MINID [=|~] threshold [LIMIT count]
pub(super) fn xtrim(ctx: &mut Ctx<'_>, a: Args<'_>) -> CmdResult {
    let (t, _) = parse_trim_args(ctx, &a, false)?;
    let key = a.get(1);
    let Some(how) = t.how else {
        return Err(errors::SYNTAX.into());
    };
    let r = write_value_ev(ctx, key, "stream", None, |v| {
        let s = as_stream_mut(v)?;
        let n = s.trim(how, t.approx, t.limit);
        Ok((n, s.len(), s.first_id))
    })?;
    let (n, len, first) = r.map_or((0, 0, StreamId::MIN), |r| r.0);
    if n > 0 {
        ctx.notify(STREAM, "xtrim", key);
        if t.approx && ctx.replicating() {
            propagate_rewritten(ctx, &a, &t, len, first, None);
        }
    } else {
        ctx.propagate_nothing();
    }
    ctx.out.int(n as i64);
    Ok(())
}

/// XLEN key
pub(super) fn xlen(ctx: &mut Ctx<'_>, a: Args<'_>) -> CmdResult {
    let n = read_value(ctx, a.get(1), |v| Ok(as_stream(v)?.len()))?;
    ctx.out.int(n.unwrap_or(0) as i64);
    Ok(())
}

fn range_generic(ctx: &mut Ctx<'_>, a: &Args<'_>, rev: bool) -> CmdResult {
    let (start_arg, end_arg) = if rev {
        (a.get(3), a.get(2))
    } else {
        (a.get(2), a.get(3))
    };
    let start = parse_interval(start_arg, true)?;
    let end = parse_interval(end_arg, false)?;
    let mut count: i64 = -1;
    let mut j = 4;
    while j < a.len() {
        if eq_ic(a.get(j), "count") && j + 1 < a.len() {
            count = int(a.get(j + 1))?.max(0);
            j += 2;
        } else {
            return Err(errors::SYNTAX.into());
        }
    }
    let key = a.get(1);
    let out = &mut *ctx.out;
    let mut s = ctx.ks.shard(key);
    let found = match s.find() {
        Some(i) => {
            let st = as_stream(s.entry(i).value())?;
            if count == 0 {
                out.null_array();
            } else {
                reply_range(out, st, start, end, rev, count.max(0) as usize);
            }
            true
        }
        None => false,
    };
    drop(s);
    ctx.hit(found);
    if !found {
        ctx.notify_keymiss(key);
        ctx.out.array(0);
    }
    Ok(())
}

/// XRANGE key start end [COUNT count]
pub(super) fn xrange(ctx: &mut Ctx<'_>, a: Args<'_>) -> CmdResult {
    range_generic(ctx, &a, false)
}

/// XREVRANGE key end start [COUNT count]
pub(super) fn xrevrange(ctx: &mut Ctx<'_>, a: Args<'_>) -> CmdResult {
    range_generic(ctx, &a, true)
}

/// XDEL key id [id …]
pub(super) fn xdel(ctx: &mut Ctx<'_>, a: Args<'_>) -> CmdResult {
    let key = a.get(1);
    // A missing key deletes nothing (whatever the ids); else every id is checked before
    // anything is deleted.
    if peek_value(ctx, key, |v| as_stream(v).map(|_| ()))?.is_none() {
        ctx.propagate_nothing();
        ctx.out.int(0);
        return Ok(());
    }
    for id in a.iter().skip(2) {
        parse_strict_id(id)?;
    }
    let r = write_value_ev(ctx, key, "stream", None, |v| {
        let s = as_stream_mut(v)?;
        Ok(s.delete(a.iter().skip(2).filter_map(|b| parse_strict_id(b).ok())))
    })?;
    let n = r.map_or(0, |r| r.0);
    if n > 0 {
        ctx.notify(STREAM, "xdel", key);
    } else {
        ctx.propagate_nothing();
    }
    ctx.out.int(n as i64);
    Ok(())
}

/// XSETID key last-id [ENTRIESADDED entries-added] [MAXDELETEDID max-deleted-id]
pub(super) fn xsetid(ctx: &mut Ctx<'_>, a: Args<'_>) -> CmdResult {
    let id = parse_strict_id(a.get(2))?;
    let mut added: Option<u64> = None;
    let mut max_del = StreamId::MIN;
    let mut i = 3;
    while i < a.len() {
        let more = i + 1 < a.len();
        let opt = a.get(i);
        if eq_ic(opt, "entriesadded") && more {
            let n = int(a.get(i + 1))?;
            if n < 0 {
                return Err("ERR entries_added must be positive".into());
            }
            added = Some(n as u64);
        } else if eq_ic(opt, "maxdeletedid") && more {
            max_del = parse_strict_id(a.get(i + 1))?;
            if id < max_del {
                return Err("ERR The ID specified in XSETID is smaller than the provided max_deleted_entry_id".into());
            }
        } else {
            return Err(errors::SYNTAX.into());
        }
        i += 2;
    }
    let key = a.get(1);
    // Checked before the write so that a refused XSETID changes nothing.
    peek_value(ctx, key, |v| {
        // Redis 7.0 does not compare with the current max_deleted_entry_id.
        let s = as_stream(v)?;
        if !s.is_empty() {
            let top = s.edge(true).map_or(StreamId::MIN, |e| e.id);
            if id < top {
                return Err(
                    "ERR The ID specified in XSETID is smaller than the target stream top item"
                        .into(),
                );
            }
            if added.is_some_and(|n| s.len() > n) {
                return Err("ERR The entries_added specified in XSETID is smaller than the target stream length".into());
            }
        }
        Ok(())
    })?
    .ok_or(CmdError::from(errors::NO_SUCH_KEY))?;
    write_value_ev(ctx, key, "stream", None, |v| {
        let s = as_stream_mut(v)?;
        s.last_id = id;
        if let Some(n) = added {
            s.entries_added = n;
        }
        if !max_del.is_zero() {
            s.max_deleted_id = max_del;
        }
        Ok(())
    })?;
    ctx.notify(STREAM, "xsetid", key);
    ctx.out.ok();
    Ok(())
}
