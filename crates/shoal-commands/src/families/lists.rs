//! List commands (the blocking ones and LMPOP come with the blocking work).

use shoal_resp::Args;
use shoal_store::types::List;
use shoal_store::{CollMut, Value, ValueRef};

use crate::ctx::Ctx;
use crate::errors::{self, CmdError, CmdResult};
use crate::notify::{Change, LIST};
use crate::spec::{Group, Spec, cmd, flags::*};
use crate::util::{self, eq_ic, int, peek_value, read_value, write_notify, write_value_ev};

fn new_list() -> Value {
    Value::List(Box::default())
}

fn as_list(v: ValueRef<'_>) -> Result<&List, CmdError> {
    match v {
        ValueRef::List(l) => Ok(l),
        _ => Err(errors::WRONGTYPE.into()),
    }
}

fn as_list_mut(v: CollMut<'_>) -> Result<&mut List, CmdError> {
    match v {
        CollMut::List(l) => Ok(l),
        _ => Err(errors::WRONGTYPE.into()),
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum End {
    Left,
    Right,
}

fn end_arg(a: &[u8]) -> Result<End, CmdError> {
    if eq_ic(a, "left") {
        Ok(End::Left)
    } else if eq_ic(a, "right") {
        Ok(End::Right)
    } else {
        Err(errors::SYNTAX.into())
    }
}

/// The body of LPUSH/RPUSH/LPUSHX/RPUSHX: the new length (0 when `existing_only` and absent).
fn push_generic(ctx: &mut Ctx<'_>, a: &Args<'_>, end: End, existing_only: bool) -> CmdResult {
    let create: Option<fn() -> Value> = if existing_only { None } else { Some(new_list) };
    // LPUSHX/RPUSHX send `lpush`/`rpush` too: once per command, not per element.
    let ev = (LIST, if end == End::Left { "lpush" } else { "rpush" });
    let n = write_notify(
        ctx,
        a.get(1),
        "list",
        create,
        ev,
        |_| true,
        |v| {
            let l = as_list_mut(v)?;
            for e in a.iter().skip(2) {
                match end {
                    End::Left => l.push_front(e.into()),
                    End::Right => l.push_back(e.into()),
                }
            }
            Ok(l.len())
        },
    )?;
    ctx.out.int(n.unwrap_or(0) as i64);
    Ok(())
}

fn lpush(ctx: &mut Ctx<'_>, a: Args<'_>) -> CmdResult {
    push_generic(ctx, &a, End::Left, false)
}

fn rpush(ctx: &mut Ctx<'_>, a: Args<'_>) -> CmdResult {
    push_generic(ctx, &a, End::Right, false)
}

fn lpushx(ctx: &mut Ctx<'_>, a: Args<'_>) -> CmdResult {
    push_generic(ctx, &a, End::Left, true)
}

fn rpushx(ctx: &mut Ctx<'_>, a: Args<'_>) -> CmdResult {
    push_generic(ctx, &a, End::Right, true)
}

/// LPOP/RPOP key [count]
fn pop_generic(ctx: &mut Ctx<'_>, a: &Args<'_>, end: End) -> CmdResult {
    let count = match a.len() {
        2 => None,
        3 => match shoal_resp::parse_i64(a.get(2)) {
            Some(n) if n >= 0 => Some(n as usize),
            _ => return Err("ERR value is out of range, must be positive".into()),
        },
        _ => {
            return Err(errors::arity(if end == End::Left {
                "lpop"
            } else {
                "rpop"
            }));
        }
    };
    let ev = (LIST, if end == End::Left { "lpop" } else { "rpop" });
    let fire = |p: &Vec<_>| !p.is_empty();
    let popped = write_notify(ctx, a.get(1), "list", None, ev, fire, |v| {
        let l = as_list_mut(v)?;
        let n = count.unwrap_or(1).min(l.len());
        Ok((0..n)
            .filter_map(|_| {
                if end == End::Left {
                    l.pop_front()
                } else {
                    l.pop_back()
                }
            })
            .collect::<Vec<_>>())
    })?;
    match (popped, count) {
        (None, None) => ctx.out.null(),
        (None, Some(_)) => ctx.out.null_array(),
        (Some(v), None) => match v.first() {
            Some(e) => ctx.out.bulk(e),
            None => ctx.out.null(),
        },
        (Some(v), Some(_)) => {
            ctx.out.array(v.len());
            for e in &v {
                ctx.out.bulk(e);
            }
        }
    }
    Ok(())
}

fn lpop(ctx: &mut Ctx<'_>, a: Args<'_>) -> CmdResult {
    pop_generic(ctx, &a, End::Left)
}

fn rpop(ctx: &mut Ctx<'_>, a: Args<'_>) -> CmdResult {
    pop_generic(ctx, &a, End::Right)
}

/// LLEN key
fn llen(ctx: &mut Ctx<'_>, a: Args<'_>) -> CmdResult {
    let n = read_value(ctx, a.get(1), |v| Ok(as_list(v)?.len()))?;
    ctx.out.int(n.unwrap_or(0) as i64);
    Ok(())
}

/// A Redis index (negative from the end) as a position, if in range.
fn index(i: i64, len: usize) -> Option<usize> {
    let i = if i < 0 { len as i64 + i } else { i };
    (0..len as i64).contains(&i).then_some(i as usize)
}

/// LINDEX key index
fn lindex(ctx: &mut Ctx<'_>, a: Args<'_>) -> CmdResult {
    let i = int(a.get(2))?;
    let e = read_value(ctx, a.get(1), |v| {
        let l = as_list(v)?;
        Ok(index(i, l.len()).map(|p| l[p].to_vec()))
    })?
    .flatten();
    match e {
        Some(b) => ctx.out.bulk(&b),
        None => ctx.out.null(),
    }
    Ok(())
}

/// LSET key index element
fn lset(ctx: &mut Ctx<'_>, a: Args<'_>) -> CmdResult {
    let i = int(a.get(2))?;
    let done = write_notify(
        ctx,
        a.get(1),
        "list",
        None,
        (LIST, "lset"),
        |_| true,
        |v| {
            let l = as_list_mut(v)?;
            let p = index(i, l.len()).ok_or(CmdError::from("ERR index out of range"))?;
            l[p] = a.get(3).into();
            Ok(())
        },
    )?;
    if done.is_none() {
        return Err(errors::NO_SUCH_KEY.into());
    }
    ctx.out.ok();
    Ok(())
}

/// Redis's start/stop range normalisation: `None` when empty.
fn range(start: i64, stop: i64, len: usize) -> Option<(usize, usize)> {
    let len = len as i64;
    let mut s = if start < 0 { len + start } else { start };
    let mut e = if stop < 0 { len + stop } else { stop };
    s = s.max(0);
    if s > e || s >= len {
        return None;
    }
    e = e.min(len - 1);
    Some((s as usize, e as usize))
}

/// LRANGE key start stop
fn lrange(ctx: &mut Ctx<'_>, a: Args<'_>) -> CmdResult {
    let (start, stop) = (int(a.get(2))?, int(a.get(3))?);
    let mut s = ctx.ks.shard(a.get(1));
    let Some(i) = s.find() else {
        drop(s);
        ctx.notify_keymiss(a.get(1));
        ctx.out.array(0);
        return Ok(());
    };
    let l = as_list(s.entry(i).value())?;
    match range(start, stop, l.len()) {
        None => ctx.out.array(0),
        Some((b, e)) => {
            // Written straight from the list: no copy of the elements.
            ctx.out.array(e - b + 1);
            for x in l.range(b..=e) {
                ctx.out.bulk(x);
            }
        }
    }
    Ok(())
}

/// LTRIM key start stop
fn ltrim(ctx: &mut Ctx<'_>, a: Args<'_>) -> CmdResult {
    let (start, stop) = (int(a.get(2))?, int(a.get(3))?);
    // `ltrim` even when nothing was trimmed, as Redis.
    write_notify(
        ctx,
        a.get(1),
        "list",
        None,
        (LIST, "ltrim"),
        |_| true,
        |v| {
            let l = as_list_mut(v)?;
            match range(start, stop, l.len()) {
                None => l.clear(),
                Some((b, e)) => {
                    l.truncate(e + 1);
                    l.drain(..b);
                }
            }
            Ok(())
        },
    )?;
    ctx.out.ok();
    Ok(())
}

/// LREM key count element
fn lrem(ctx: &mut Ctx<'_>, a: Args<'_>) -> CmdResult {
    let count = int(a.get(2))?;
    let elem = a.get(3);
    let n = write_notify(
        ctx,
        a.get(1),
        "list",
        None,
        (LIST, "lrem"),
        |n| *n > 0,
        |v| {
            let l = as_list_mut(v)?;
            let limit = if count == 0 {
                usize::MAX
            } else {
                count.unsigned_abs() as usize
            };
            let mut removed = 0;
            if count >= 0 {
                let mut i = 0;
                while i < l.len() && removed < limit {
                    if *l[i] == *elem {
                        l.remove(i);
                        removed += 1;
                    } else {
                        i += 1;
                    }
                }
            } else {
                let mut i = l.len();
                while i > 0 && removed < limit {
                    i -= 1;
                    if *l[i] == *elem {
                        l.remove(i);
                        removed += 1;
                    }
                }
            }
            Ok(removed as i64)
        },
    )?;
    ctx.out.int(n.unwrap_or(0));
    Ok(())
}

/// LINSERT key BEFORE|AFTER pivot element — the new length, -1 without the pivot.
fn linsert(ctx: &mut Ctx<'_>, a: Args<'_>) -> CmdResult {
    let after = if eq_ic(a.get(2), "after") {
        true
    } else if eq_ic(a.get(2), "before") {
        false
    } else {
        return Err(errors::SYNTAX.into());
    };
    let n = write_notify(
        ctx,
        a.get(1),
        "list",
        None,
        (LIST, "linsert"),
        |n| *n > 0,
        |v| {
            let l = as_list_mut(v)?;
            match l.iter().position(|x| **x == *a.get(3)) {
                Some(p) => {
                    l.insert(if after { p + 1 } else { p }, a.get(4).into());
                    Ok(l.len() as i64)
                }
                None => Ok(-1),
            }
        },
    )?;
    ctx.out.int(n.unwrap_or(0));
    Ok(())
}

/// LPOS key element [RANK rank] [COUNT num-matches] [MAXLEN len]
fn lpos(ctx: &mut Ctx<'_>, a: Args<'_>) -> CmdResult {
    let (mut rank, mut count, mut maxlen) = (1i64, None::<usize>, 0usize);
    let mut i = 3;
    while i < a.len() {
        if i + 1 >= a.len() {
            return Err(errors::SYNTAX.into());
        }
        let (opt, val) = (a.get(i), a.get(i + 1));
        if eq_ic(opt, "rank") {
            rank = int(val)?;
            if rank == 0 {
                return Err("ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to start from the end of the list".into());
            }
        } else if eq_ic(opt, "count") {
            let c = int(val)?;
            if c < 0 {
                return Err("ERR COUNT can't be negative".into());
            }
            count = Some(c as usize);
        } else if eq_ic(opt, "maxlen") {
            let m = int(val)?;
            if m < 0 {
                return Err("ERR MAXLEN can't be negative".into());
            }
            maxlen = m as usize;
        } else {
            return Err(errors::SYNTAX.into());
        }
        i += 2;
    }
    let elem = a.get(2);
    let found = read_value(ctx, a.get(1), |v| {
        let l = as_list(v)?;
        let want = match count {
            Some(0) => usize::MAX,
            Some(c) => c,
            None => 1,
        };
        let scan = if maxlen == 0 {
            l.len()
        } else {
            maxlen.min(l.len())
        };
        let mut skip = rank.unsigned_abs() as usize - 1;
        let mut out = Vec::new();
        let positions: Box<dyn Iterator<Item = usize>> = if rank > 0 {
            Box::new(0..scan)
        } else {
            Box::new((l.len() - scan..l.len()).rev())
        };
        for p in positions {
            if *l[p] == *elem {
                if skip > 0 {
                    skip -= 1;
                    continue;
                }
                out.push(p as i64);
                if out.len() >= want {
                    break;
                }
            }
        }
        Ok(out)
    })?
    .unwrap_or_default();
    match count {
        None => match found.first() {
            Some(&p) => ctx.out.int(p),
            None => ctx.out.null(),
        },
        Some(_) => {
            ctx.out.array(found.len());
            for p in found {
                ctx.out.int(p);
            }
        }
    }
    Ok(())
}

/// The body of LMOVE and RPOPLPUSH: pops from `src` at `from`, pushes to `dst` at `to`.
fn move_generic(ctx: &mut Ctx<'_>, src: &[u8], dst: &[u8], from: End, to: End) -> CmdResult {
    // The destination must be a list (or absent) before anything moves (a write lookup).
    peek_value(ctx, dst, |v| as_list(v).map(|_| ()))?;
    let popped = write_value_ev(ctx, src, "list", None, |v| {
        let l = as_list_mut(v)?;
        Ok(if from == End::Left {
            l.pop_front()
        } else {
            l.pop_back()
        })
    })?;
    let (Some(e), src_ch) = popped.map_or((None, Change::default()), |(e, ch)| (e, ch)) else {
        ctx.out.null();
        return Ok(());
    };
    let pushed = write_value_ev(ctx, dst, "list", Some(new_list), |v| {
        let l = as_list_mut(v)?;
        match to {
            End::Left => l.push_front(e.clone()),
            End::Right => l.push_back(e.clone()),
        }
        Ok(())
    })?;
    // As Redis: the push on the destination first, then the pop on the source (and its `del`).
    // A list moved onto itself keeps existing: no `new`, no `del`.
    let same = src == dst;
    let dst_ch = pushed.map_or(Change::default(), |(_, ch)| ch);
    let push_ev = if to == End::Left { "lpush" } else { "rpush" };
    let pop_ev = if from == End::Left { "lpop" } else { "rpop" };
    let created = dst_ch.created && !same;
    let push_ch = Change {
        created,
        ..Change::default()
    };
    ctx.notify_write(LIST, Some(push_ev), dst, push_ch);
    let emptied = src_ch.emptied && !same;
    let pop_ch = Change {
        emptied,
        ..Change::default()
    };
    ctx.notify_write(LIST, Some(pop_ev), src, pop_ch);
    util::wake_if_ready(ctx, src, src_ch);
    util::wake_if_ready(ctx, dst, dst_ch);
    ctx.out.bulk(&e);
    Ok(())
}

/// LMOVE source destination LEFT|RIGHT LEFT|RIGHT
fn lmove(ctx: &mut Ctx<'_>, a: Args<'_>) -> CmdResult {
    let (from, to) = (end_arg(a.get(3))?, end_arg(a.get(4))?);
    move_generic(ctx, a.get(1), a.get(2), from, to)
}

/// RPOPLPUSH source destination
fn rpoplpush(ctx: &mut Ctx<'_>, a: Args<'_>) -> CmdResult {
    move_generic(ctx, a.get(1), a.get(2), End::Right, End::Left)
}

/// BLPOP / BRPOP key [key ...] timeout — [key, element] from the first non-empty list.
fn bpop_generic(ctx: &mut Ctx<'_>, a: &Args<'_>, end: End) -> CmdResult {
    let timeout = crate::blocking::timeout_arg(a.get(a.len() - 1))?;
    let keys: Vec<&[u8]> = (1..a.len() - 1).map(|i| a.get(i)).collect();
    for k in &keys {
        let ev = (LIST, if end == End::Left { "lpop" } else { "rpop" });
        let e = write_notify(ctx, k, "list", None, ev, Option::is_some, |v| {
            let l = as_list_mut(v)?;
            Ok(if end == End::Left {
                l.pop_front()
            } else {
                l.pop_back()
            })
        });
        let e = crate::blocking::skip_wrongtype(ctx.client, e)?.flatten();
        if let Some(e) = e {
            // Replicas pop from the list that served, without waiting.
            let pop: &[u8] = if end == End::Left { b"LPOP" } else { b"RPOP" };
            ctx.propagate_as(&[pop, k]);
            ctx.out.array(2);
            ctx.out.bulk(k);
            ctx.out.bulk(&e);
            return Ok(());
        }
    }
    ctx.propagate_nothing();
    crate::blocking::block(
        ctx,
        a,
        keys.iter().map(|k| Box::from(*k)).collect(),
        timeout,
    );
    Ok(())
}

fn blpop(ctx: &mut Ctx<'_>, a: Args<'_>) -> CmdResult {
    bpop_generic(ctx, &a, End::Left)
}

fn brpop(ctx: &mut Ctx<'_>, a: Args<'_>) -> CmdResult {
    bpop_generic(ctx, &a, End::Right)
}

/// The body of BLMOVE and BRPOPLPUSH: LMOVE, or wait for the source to have data.
fn bmove_generic(ctx: &mut Ctx<'_>, a: &Args<'_>, from: End, to: End, timeout: &[u8]) -> CmdResult {
    let timeout = crate::blocking::timeout_arg(timeout)?;
    let has_data = peek_value(ctx, a.get(1), |v| Ok(!as_list(v)?.is_empty()));
    let has_data = crate::blocking::skip_wrongtype(ctx.client, has_data)?.unwrap_or(false);
    if has_data {
        let side = |e: End| -> &'static [u8] { if e == End::Left { b"LEFT" } else { b"RIGHT" } };
        ctx.propagate_as(&[b"LMOVE", a.get(1), a.get(2), side(from), side(to)]);
        return move_generic(ctx, a.get(1), a.get(2), from, to);
    }
    // A destination of another type is only refused once there is something to move (as
    // Redis: the client blocks, and the element stays in the source).
    ctx.propagate_nothing();
    crate::blocking::block(ctx, a, vec![Box::from(a.get(1))], timeout);
    Ok(())
}

/// BLMOVE source destination LEFT|RIGHT LEFT|RIGHT timeout
fn blmove(ctx: &mut Ctx<'_>, a: Args<'_>) -> CmdResult {
    let (from, to) = (end_arg(a.get(3))?, end_arg(a.get(4))?);
    bmove_generic(ctx, &a, from, to, a.get(5))
}

/// BRPOPLPUSH source destination timeout
fn brpoplpush(ctx: &mut Ctx<'_>, a: Args<'_>) -> CmdResult {
    bmove_generic(ctx, &a, End::Right, End::Left, a.get(3))
}

/// The body of LMPOP and BLMPOP (`numkeys` at `args[at]`); `timeout` for the blocking form.
fn mpop_generic(ctx: &mut Ctx<'_>, a: &Args<'_>, at: usize, timeout: Option<&[u8]>) -> CmdResult {
    let timeout = timeout
        .map(crate::blocking::timeout_arg)
        .transpose()?
        .flatten();
    let (keys, wh, count) = crate::util::mpop_args(a, at)?;
    let end = end_arg(wh)?;
    for k in &keys {
        let ev = (LIST, if end == End::Left { "lpop" } else { "rpop" });
        let fire = |p: &Vec<_>| !p.is_empty();
        let popped = write_notify(ctx, k, "list", None, ev, fire, |v| {
            let l = as_list_mut(v)?;
            let n = count.min(l.len());
            Ok((0..n)
                .filter_map(|_| {
                    if end == End::Left {
                        l.pop_front()
                    } else {
                        l.pop_back()
                    }
                })
                .collect::<Vec<_>>())
        });
        let popped = crate::blocking::skip_wrongtype(ctx.client, popped)?;
        if let Some(items) = popped.filter(|v| !v.is_empty()) {
            let n = itoa::Buffer::new().format(items.len()).to_owned();
            ctx.propagate_as(&[b"LMPOP", b"1", k, wh, b"COUNT", n.as_bytes()]);
            ctx.out.array(2);
            ctx.out.bulk(k);
            ctx.out.array(items.len());
            for e in &items {
                ctx.out.bulk(e);
            }
            return Ok(());
        }
    }
    ctx.propagate_nothing();
    if a.get(0).eq_ignore_ascii_case(b"blmpop") {
        crate::blocking::block(
            ctx,
            a,
            keys.iter().map(|k| Box::from(*k)).collect(),
            timeout,
        );
    } else {
        ctx.out.null_array();
    }
    Ok(())
}

/// LMPOP numkeys key [key ...] LEFT|RIGHT [COUNT count]
fn lmpop(ctx: &mut Ctx<'_>, a: Args<'_>) -> CmdResult {
    mpop_generic(ctx, &a, 1, None)
}

/// BLMPOP timeout numkeys key [key ...] LEFT|RIGHT [COUNT count]
fn blmpop(ctx: &mut Ctx<'_>, a: Args<'_>) -> CmdResult {
    mpop_generic(ctx, &a, 2, Some(a.get(1)))
}

const K1: (i32, i32, i32) = (1, 1, 1);
const W: u32 = WRITE | DENYOOM | FAST;

pub static COMMANDS: &[Spec] = &[
    cmd(
        "lpush",
        -3,
        W,
        K1,
        Group::List,
        "1.0.0",
        "Prepends one or more elements to a list.",
        lpush,
    ),
    cmd(
        "rpush",
        -3,
        W,
        K1,
        Group::List,
        "1.0.0",
        "Appends one or more elements to a list.",
        rpush,
    ),
    cmd(
        "lpushx",
        -3,
        W,
        K1,
        Group::List,
        "2.2.0",
        "Prepends elements to a list only when the list exists.",
        lpushx,
    ),
    cmd(
        "rpushx",
        -3,
        W,
        K1,
        Group::List,
        "2.2.0",
        "Appends elements to a list only when the list exists.",
        rpushx,
    ),
    cmd(
        "lpop",
        -2,
        WRITE | FAST,
        K1,
        Group::List,
        "1.0.0",
        "Returns the first elements in a list after removing it.",
        lpop,
    ),
    cmd(
        "rpop",
        -2,
        WRITE | FAST,
        K1,
        Group::List,
        "1.0.0",
        "Returns and removes the last elements of a list.",
        rpop,
    ),
    cmd(
        "llen",
        2,
        READONLY | FAST,
        K1,
        Group::List,
        "1.0.0",
        "Returns the length of a list.",
        llen,
    ),
    cmd(
        "lindex",
        3,
        READONLY,
        K1,
        Group::List,
        "1.0.0",
        "Returns an element from a list by its index.",
        lindex,
    ),
    cmd(
        "lset",
        4,
        WRITE | DENYOOM,
        K1,
        Group::List,
        "1.0.0",
        "Sets the value of an element in a list by its index.",
        lset,
    ),
    cmd(
        "lrange",
        4,
        READONLY,
        K1,
        Group::List,
        "1.0.0",
        "Returns a range of elements from a list.",
        lrange,
    ),
    cmd(
        "ltrim",
        4,
        WRITE,
        K1,
        Group::List,
        "1.0.0",
        "Removes elements from both ends a list.",
        ltrim,
    ),
    cmd(
        "lrem",
        4,
        WRITE,
        K1,
        Group::List,
        "1.0.0",
        "Removes elements from a list.",
        lrem,
    ),
    cmd(
        "linsert",
        5,
        WRITE | DENYOOM,
        K1,
        Group::List,
        "2.2.0",
        "Inserts an element before or after another element in a list.",
        linsert,
    ),
    cmd(
        "lpos",
        -3,
        READONLY,
        K1,
        Group::List,
        "6.0.6",
        "Returns the index of matching elements in a list.",
        lpos,
    ),
    cmd(
        "lmove",
        5,
        WRITE | DENYOOM,
        (1, 2, 1),
        Group::List,
        "6.2.0",
        "Returns an element after popping it from one list and pushing it to another.",
        lmove,
    ),
    cmd(
        "rpoplpush",
        3,
        WRITE | DENYOOM,
        (1, 2, 1),
        Group::List,
        "1.2.0",
        "Returns the last element of a list after removing and pushing it to another list.",
        rpoplpush,
    ),
    cmd(
        "blpop",
        -3,
        WRITE | BLOCKING,
        (1, -2, 1),
        Group::List,
        "2.0.0",
        "Removes and returns the first element in a list. Blocks until an element is available otherwise.",
        blpop,
    ),
    cmd(
        "brpop",
        -3,
        WRITE | BLOCKING,
        (1, -2, 1),
        Group::List,
        "2.0.0",
        "Removes and returns the last element in a list. Blocks until an element is available otherwise.",
        brpop,
    ),
    cmd(
        "blmove",
        6,
        WRITE | DENYOOM | BLOCKING,
        (1, 2, 1),
        Group::List,
        "6.2.0",
        "Pops an element from a list, pushes it to another list and returns it. Blocks until an element is available otherwise.",
        blmove,
    ),
    cmd(
        "brpoplpush",
        4,
        WRITE | DENYOOM | BLOCKING,
        (1, 2, 1),
        Group::List,
        "2.2.0",
        "Pops an element from a list, pushes it to another list and returns it. Block until an element is available otherwise.",
        brpoplpush,
    ),
    cmd("lmpop", -4, WRITE, (0, 0, 0), Group::List, "7.0.0", "Returns multiple elements from a list after removing them.", lmpop).numkeys(1),
    cmd("blmpop", -5, WRITE | BLOCKING, (0, 0, 0), Group::List, "7.0.0", "Pops the first element from one of multiple lists. Blocks until an element is available otherwise.", blmpop).numkeys(2),
];
