//! Set commands.

use rand::RngExt;
use shoal_resp::Args;
use shoal_store::types::{Bytes, Set};
use shoal_store::{CollMut, Value, ValueRef};

use crate::ctx::Ctx;
use crate::errors::{self, CmdError, CmdResult};
use crate::notify::{Change, GENERIC, SET};
use crate::spec::{Group, Spec, cmd, flags::*};
use crate::util::{self, read_value, write_notify};

fn new_set() -> Value {
    Value::Set(Box::default())
}

fn as_set(v: ValueRef<'_>) -> Result<&Set, CmdError> {
    match v {
        ValueRef::Set(s) => Ok(s),
        _ => Err(errors::WRONGTYPE.into()),
    }
}

fn as_set_mut(v: CollMut<'_>) -> Result<&mut Set, CmdError> {
    match v {
        CollMut::Set(s) => Ok(s),
        _ => Err(errors::WRONGTYPE.into()),
    }
}

fn reply_members(ctx: &mut Ctx<'_>, m: &[Bytes]) {
    ctx.out.set(m.len());
    for x in m {
        ctx.out.bulk(x);
    }
}

/// SADD key member [member ...]
fn sadd(ctx: &mut Ctx<'_>, a: Args<'_>) -> CmdResult {
    let n = write_notify(
        ctx,
        a.get(1),
        "set",
        Some(new_set),
        (SET, "sadd"),
        |n| *n > 0,
        |v| {
            let s = as_set_mut(v)?;
            Ok(a.iter().skip(2).filter(|m| s.insert(m)).count() as i64)
        },
    )?;
    ctx.out.int(n.unwrap_or(0));
    Ok(())
}

/// SREM key member [member ...]
fn srem(ctx: &mut Ctx<'_>, a: Args<'_>) -> CmdResult {
    let n = write_notify(
        ctx,
        a.get(1),
        "set",
        None,
        (SET, "srem"),
        |n| *n > 0,
        |v| {
            let s = as_set_mut(v)?;
            Ok(a.iter().skip(2).filter(|m| s.remove(m)).count() as i64)
        },
    )?;
    ctx.out.int(n.unwrap_or(0));
    Ok(())
}

/// SCARD key
fn scard(ctx: &mut Ctx<'_>, a: Args<'_>) -> CmdResult {
    let n = read_value(ctx, a.get(1), |v| Ok(as_set(v)?.len()))?;
    ctx.out.int(n.unwrap_or(0) as i64);
    Ok(())
}

/// SISMEMBER key member
fn sismember(ctx: &mut Ctx<'_>, a: Args<'_>) -> CmdResult {
    let n = read_value(ctx, a.get(1), |v| Ok(as_set(v)?.contains(a.get(2))))?;
    ctx.out.int(n.unwrap_or(false) as i64);
    Ok(())
}

/// SMISMEMBER key member [member ...]
fn smismember(ctx: &mut Ctx<'_>, a: Args<'_>) -> CmdResult {
    let hits = read_value(ctx, a.get(1), |v| {
        let s = as_set(v)?;
        Ok(a.iter().skip(2).map(|m| s.contains(m)).collect::<Vec<_>>())
    })?
    .unwrap_or_else(|| vec![false; a.len() - 2]);
    ctx.out.array(hits.len());
    for h in hits {
        ctx.out.int(h as i64);
    }
    Ok(())
}

/// SMEMBERS key
fn smembers(ctx: &mut Ctx<'_>, a: Args<'_>) -> CmdResult {
    let m = read_value(ctx, a.get(1), |v| Ok(as_set(v)?.members()))?.unwrap_or_default();
    reply_members(ctx, &m);
    Ok(())
}

/// SPOP key [count]
fn spop(ctx: &mut Ctx<'_>, a: Args<'_>) -> CmdResult {
    let count = match a.len() {
        2 => None,
        3 => match shoal_resp::parse_i64(a.get(2)) {
            Some(n) if n >= 0 => Some(n as usize),
            _ => return Err("ERR value is out of range, must be positive".into()),
        },
        _ => return Err(errors::SYNTAX.into()),
    };
    // `spop` once, whatever the count, then `del` if the set was emptied.
    let fire = |p: &Vec<Bytes>| !p.is_empty();
    let popped = write_notify(ctx, a.get(1), "set", None, (SET, "spop"), fire, |v| {
        let s = as_set_mut(v)?;
        let mut rng = rand::rng();
        let n = count.unwrap_or(1).min(s.len());
        let mut out = Vec::with_capacity(n);
        for _ in 0..n {
            let i = rng.random_range(0..s.len());
            if let Some(m) = s.nth(i) {
                s.remove(&m);
                out.push(m);
            }
        }
        Ok(out)
    })?;
    // Random picks: replicas remove what was picked.
    match popped.as_deref() {
        Some(p) if !p.is_empty() => {
            let mut args: Vec<&[u8]> = vec![b"SREM", a.get(1)];
            args.extend(p.iter().map(|m| &m[..]));
            ctx.propagate_as(&args);
        }
        _ => ctx.propagate_nothing(),
    }
    match (popped, count) {
        (None, None) => ctx.out.null(),
        (None, Some(_)) => ctx.out.set(0),
        (Some(v), None) => match v.first() {
            Some(m) => ctx.out.bulk(m),
            None => ctx.out.null(),
        },
        (Some(v), Some(_)) => reply_members(ctx, &v),
    }
    Ok(())
}

/// SRANDMEMBER key [count] — a negative count may repeat members.
fn srandmember(ctx: &mut Ctx<'_>, a: Args<'_>) -> CmdResult {
    let count = match a.len() {
        2 => None,
        3 => Some(util::rand_count(a.get(2))?),
        _ => return Err(errors::SYNTAX.into()),
    };
    let picks = read_value(ctx, a.get(1), |v| {
        let s = as_set(v)?;
        Ok(util::random_picks(s.len(), count)
            .into_iter()
            .filter_map(|i| s.nth(i))
            .collect::<Vec<_>>())
    })?
    .unwrap_or_default();
    match (count, picks.first()) {
        (None, Some(m)) => ctx.out.bulk(m),
        (None, None) => ctx.out.null(),
        (Some(_), _) => {
            ctx.out.array(picks.len());
            for m in &picks {
                ctx.out.bulk(m);
            }
        }
    }
    Ok(())
}

/// SMOVE source destination member
fn smove(ctx: &mut Ctx<'_>, a: Args<'_>) -> CmdResult {
    let (src, dst, m) = (a.get(1), a.get(2), a.get(3));
    // As Redis: a missing source answers 0 before any type check.
    let Some(in_src) = has_member(ctx, src, m)? else {
        ctx.out.int(0);
        return Ok(());
    };
    let in_dst = has_member(ctx, dst, m)?.unwrap_or(false);
    if src == dst {
        ctx.out.int(in_src as i64);
        return Ok(());
    }
    let moved = in_src
        && write_notify(
            ctx,
            src,
            "set",
            None,
            (SET, "srem"),
            |d| *d,
            |v| Ok(as_set_mut(v)?.remove(m)),
        )?
        .unwrap_or(false);
    // A destination that already holds the member is not touched (WATCH, keyspace events).
    if moved && !in_dst {
        write_notify(
            ctx,
            dst,
            "set",
            Some(new_set),
            (SET, "sadd"),
            |d| *d,
            |v| Ok(as_set_mut(v)?.insert(m)),
        )?;
    }
    ctx.out.int(moved as i64);
    Ok(())
}

/// Whether the set at `key` holds `m` (`None`: no such key), as a write command looks (no
/// keyspace hit or miss counted).
fn has_member(ctx: &mut Ctx<'_>, key: &[u8], m: &[u8]) -> Result<Option<bool>, CmdError> {
    let mut s = ctx.ks.shard(key);
    match s.find() {
        Some(i) => as_set(s.entry(i).value()).map(|st| Some(st.contains(m))),
        None => Ok(None),
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Op {
    Inter,
    Union,
    Diff,
}

/// The members of `op` over `keys` (a missing key is the empty set).
fn combine(ctx: &mut Ctx<'_>, keys: &[&[u8]], op: Op) -> Result<Vec<Bytes>, CmdError> {
    let mut sets: Vec<Option<Set>> = Vec::with_capacity(keys.len());
    for k in keys {
        sets.push(read_value(ctx, k, |v| Ok(as_set(v)?.clone()))?);
    }
    let first = sets.first().cloned().flatten().unwrap_or_default();
    let out: Vec<Bytes> = match op {
        Op::Inter => {
            if sets.iter().any(Option::is_none) {
                Vec::new()
            } else {
                first
                    .members()
                    .into_iter()
                    .filter(|m| sets[1..].iter().flatten().all(|s| s.contains(m)))
                    .collect()
            }
        }
        Op::Diff => first
            .members()
            .into_iter()
            .filter(|m| !sets[1..].iter().flatten().any(|s| s.contains(m)))
            .collect(),
        Op::Union => {
            let mut acc = Set::default();
            for s in sets.iter().flatten() {
                for m in s.members() {
                    acc.insert(&m);
                }
            }
            acc.members()
        }
    };
    Ok(out)
}

fn set_op(ctx: &mut Ctx<'_>, a: &Args<'_>, op: Op) -> CmdResult {
    let keys: Vec<&[u8]> = a.iter().skip(1).collect();
    let m = combine(ctx, &keys, op)?;
    reply_members(ctx, &m);
    Ok(())
}

fn set_op_store(ctx: &mut Ctx<'_>, a: &Args<'_>, op: Op) -> CmdResult {
    let keys: Vec<&[u8]> = a.iter().skip(2).collect();
    let m = combine(ctx, &keys, op)?;
    let dst = a.get(1);
    let mut s = ctx.ks.shard(dst);
    let ch = if m.is_empty() {
        Change {
            emptied: s.remove().is_some(),
            ..Change::default()
        }
    } else {
        let mut st = Set::default();
        for x in &m {
            st.insert(x);
        }
        Change::created(!s.upsert(Value::Set(Box::new(st)), None))
    };
    drop(s);
    if ch.emptied {
        ctx.notify(GENERIC, "del", dst);
    } else if !m.is_empty() {
        let ev = match op {
            Op::Inter => "sinterstore",
            Op::Union => "sunionstore",
            Op::Diff => "sdiffstore",
        };
        ctx.notify_write(SET, Some(ev), dst, ch);
    }
    ctx.out.int(m.len() as i64);
    Ok(())
}

fn sinter(ctx: &mut Ctx<'_>, a: Args<'_>) -> CmdResult {
    set_op(ctx, &a, Op::Inter)
}

fn sunion(ctx: &mut Ctx<'_>, a: Args<'_>) -> CmdResult {
    set_op(ctx, &a, Op::Union)
}

fn sdiff(ctx: &mut Ctx<'_>, a: Args<'_>) -> CmdResult {
    set_op(ctx, &a, Op::Diff)
}

fn sinterstore(ctx: &mut Ctx<'_>, a: Args<'_>) -> CmdResult {
    set_op_store(ctx, &a, Op::Inter)
}

fn sunionstore(ctx: &mut Ctx<'_>, a: Args<'_>) -> CmdResult {
    set_op_store(ctx, &a, Op::Union)
}

fn sdiffstore(ctx: &mut Ctx<'_>, a: Args<'_>) -> CmdResult {
    set_op_store(ctx, &a, Op::Diff)
}

/// SSCAN key cursor [MATCH pattern] [COUNT count] — a small set whole (cursor 0), a large one
/// COUNT members at a time.
fn sscan(ctx: &mut Ctx<'_>, a: Args<'_>) -> CmdResult {
    let o = util::scan_options(&a, 3, false)?;
    let (next, found) = read_value(ctx, a.get(1), |v| {
        let s = as_set(v)?;
        let (range, next) = util::scan_order(s.is_compact(), s.len(), &o);
        let found: Vec<Bytes> = range
            .into_iter()
            .filter_map(|i| s.nth(i))
            .filter(|m| {
                o.pattern
                    .is_none_or(|p| shoal_store::glob::glob_match(p, m, false))
            })
            .collect();
        Ok((next, found))
    })?
    .unwrap_or_default();
    ctx.out.array(2);
    ctx.out.bulk(itoa::Buffer::new().format(next).as_bytes());
    ctx.out.array(found.len());
    for x in &found {
        ctx.out.bulk(x);
    }
    Ok(())
}

/// SINTERCARD numkeys key [key ...] [LIMIT limit]
fn sintercard(ctx: &mut Ctx<'_>, a: Args<'_>) -> CmdResult {
    let n = match shoal_resp::parse_i64(a.get(1)) {
        Some(n) if n > 0 => n as usize,
        _ => return Err("ERR numkeys should be greater than 0".into()),
    };
    if n > a.len() - 2 {
        return Err("ERR Number of keys can't be greater than number of args".into());
    }
    let limit = util::intercard_limit(&a, 2 + n)?;
    let keys: Vec<&[u8]> = (2..2 + n).map(|i| a.get(i)).collect();
    let c = combine(ctx, &keys, Op::Inter)?.len();
    ctx.out.int(if limit > 0 { c.min(limit) } else { c } as i64);
    Ok(())
}

const K1: (i32, i32, i32) = (1, 1, 1);
const ALL: (i32, i32, i32) = (1, -1, 1);

pub static COMMANDS: &[Spec] = &[
    cmd(
        "sadd",
        -3,
        WRITE | DENYOOM | FAST,
        K1,
        Group::Set,
        "1.0.0",
        "Adds one or more members to a set.",
        sadd,
    ),
    cmd(
        "srem",
        -3,
        WRITE | FAST,
        K1,
        Group::Set,
        "1.0.0",
        "Removes one or more members from a set.",
        srem,
    ),
    cmd(
        "scard",
        2,
        READONLY | FAST,
        K1,
        Group::Set,
        "1.0.0",
        "Returns the number of members in a set.",
        scard,
    ),
    cmd(
        "sismember",
        3,
        READONLY | FAST,
        K1,
        Group::Set,
        "1.0.0",
        "Determines whether a member belongs to a set.",
        sismember,
    ),
    cmd(
        "smismember",
        -3,
        READONLY | FAST,
        K1,
        Group::Set,
        "6.2.0",
        "Determines whether multiple members belong to a set.",
        smismember,
    ),
    cmd(
        "smembers",
        2,
        READONLY,
        K1,
        Group::Set,
        "1.0.0",
        "Returns all members of a set.",
        smembers,
    ),
    cmd(
        "spop",
        -2,
        WRITE | FAST,
        K1,
        Group::Set,
        "1.0.0",
        "Returns one or more random members from a set after removing them.",
        spop,
    ),
    cmd(
        "srandmember",
        -2,
        READONLY,
        K1,
        Group::Set,
        "1.0.0",
        "Get one or multiple random members from a set.",
        srandmember,
    ),
    cmd(
        "smove",
        4,
        WRITE | FAST,
        (1, 2, 1),
        Group::Set,
        "1.0.0",
        "Moves a member from one set to another.",
        smove,
    ),
    cmd(
        "sinter",
        -2,
        READONLY,
        ALL,
        Group::Set,
        "1.0.0",
        "Returns the intersect of multiple sets.",
        sinter,
    ),
    cmd(
        "sunion",
        -2,
        READONLY,
        ALL,
        Group::Set,
        "1.0.0",
        "Returns the union of multiple sets.",
        sunion,
    ),
    cmd(
        "sdiff",
        -2,
        READONLY,
        ALL,
        Group::Set,
        "1.0.0",
        "Returns the difference of multiple sets.",
        sdiff,
    ),
    cmd(
        "sinterstore",
        -3,
        WRITE | DENYOOM,
        ALL,
        Group::Set,
        "1.0.0",
        "Stores the intersect of multiple sets in a key.",
        sinterstore,
    ),
    cmd(
        "sunionstore",
        -3,
        WRITE | DENYOOM,
        ALL,
        Group::Set,
        "1.0.0",
        "Stores the union of multiple sets in a key.",
        sunionstore,
    ),
    cmd(
        "sdiffstore",
        -3,
        WRITE | DENYOOM,
        ALL,
        Group::Set,
        "1.0.0",
        "Stores the difference of multiple sets in a key.",
        sdiffstore,
    ),
    cmd(
        "sscan",
        -3,
        READONLY,
        K1,
        Group::Set,
        "2.0.0",
        "Iterates over members of a set.",
        sscan,
    ),
    cmd(
        "sintercard",
        -3,
        READONLY,
        (0, 0, 0),
        Group::Set,
        "7.0.0",
        "Returns the number of members of the intersect of multiple sets.",
        sintercard,
    )
    .numkeys(1),
];
