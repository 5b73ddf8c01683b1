//! Hash commands.

use shoal_resp::Args;
use shoal_store::types::Hash;
use shoal_store::{CollMut, Value, ValueRef};

use crate::ctx::Ctx;
use crate::errors::{self, CmdError, CmdResult};
use crate::notify::HASH;
use crate::spec::{Group, Spec, cmd, flags::*};
use crate::util::{self, eq_ic, int, read_value, write_notify};

use super::hash_ttl;

fn new_hash() -> Value {
    Value::Hash(Box::default())
}

fn as_hash(v: ValueRef<'_>) -> Result<&Hash, CmdError> {
    match v {
        ValueRef::Hash(h) => Ok(h),
        _ => Err(errors::WRONGTYPE.into()),
    }
}

fn as_hash_mut(v: CollMut<'_>) -> Result<&mut Hash, CmdError> {
    match v {
        CollMut::Hash(h) => Ok(h),
        _ => Err(errors::WRONGTYPE.into()),
    }
}

/// HSET key field value [field value ...] — fields added. (HMSET: the same, replies OK.)
fn hset_generic(ctx: &mut Ctx<'_>, a: &Args<'_>, name: &str) -> Result<i64, CmdError> {
    if a.len() < 4 || !a.len().is_multiple_of(2) {
        return Err(errors::arity(name));
    }
    // `hset` even when nothing changed, as Redis.
    let added = write_notify(
        ctx,
        a.get(1),
        "hash",
        Some(new_hash),
        (HASH, "hset"),
        |_| true,
        |v| {
            let h = as_hash_mut(v)?;
            Ok((2..a.len())
                .step_by(2)
                .filter(|&i| h.insert(a.get(i), a.get(i + 1)))
                .count() as i64)
        },
    )?;
    Ok(added.unwrap_or(0))
}

fn hset(ctx: &mut Ctx<'_>, a: Args<'_>) -> CmdResult {
    let n = hset_generic(ctx, &a, "hset")?;
    ctx.out.int(n);
    Ok(())
}

fn hmset(ctx: &mut Ctx<'_>, a: Args<'_>) -> CmdResult {
    hset_generic(ctx, &a, "hmset")?;
    ctx.out.ok();
    Ok(())
}

/// HSETNX key field value (a field whose TTL passed is deleted first, as Redis).
fn hsetnx(ctx: &mut Ctx<'_>, a: Args<'_>) -> CmdResult {
    let (now, reap) = (ctx.now(), hash_ttl::may_reap(ctx));
    let mut reaped = false;
    let done = write_notify(
        ctx,
        a.get(1),
        "hash",
        Some(new_hash),
        (HASH, "hset"),
        |d| *d,
        |v| {
            let h = as_hash_mut(v)?;
            reaped = hash_ttl::reap_field(h, a.get(2), now, reap);
            Ok(h.get_live(a.get(2), now).is_none() && h.insert(a.get(2), a.get(3)))
        },
    )?;
    let done = done.unwrap_or(false);
    if reaped {
        reaped_then(ctx, &a, done);
    }
    ctx.out.int(done as i64);
    Ok(())
}

/// A write deleted the expired field `a[2]` of `a[1]`: `hexpired`, and HDEL before the command
/// itself (if it changed anything) on the replication stream.
fn reaped_then(ctx: &mut Ctx<'_>, a: &Args<'_>, changed: bool) {
    hash_ttl::announce_reaped(ctx, a.get(1), &[a.get(2).into()]);
    if changed {
        let args: Vec<&[u8]> = a.iter().collect();
        ctx.propagate_as(&args);
    }
}

/// HGET key field
fn hget(ctx: &mut Ctx<'_>, a: Args<'_>) -> CmdResult {
    let now = ctx.now();
    let v = read_value(ctx, a.get(1), |v| {
        Ok(as_hash(v)?.get_live(a.get(2), now).map(<[u8]>::to_vec))
    })?
    .flatten();
    match v {
        Some(b) => ctx.out.bulk(&b),
        None => ctx.out.null(),
    }
    Ok(())
}

/// HMGET key field [field ...]
fn hmget(ctx: &mut Ctx<'_>, a: Args<'_>) -> CmdResult {
    let now = ctx.now();
    let vals = read_value(ctx, a.get(1), |v| {
        let h = as_hash(v)?;
        Ok(a.iter()
            .skip(2)
            .map(|f| h.get_live(f, now).map(<[u8]>::to_vec))
            .collect::<Vec<_>>())
    })?
    .unwrap_or_else(|| vec![None; a.len() - 2]);
    ctx.out.array(vals.len());
    for v in vals {
        match v {
            Some(b) => ctx.out.bulk(&b),
            None => ctx.out.null(),
        }
    }
    Ok(())
}

/// HDEL key field [field ...]
fn hdel(ctx: &mut Ctx<'_>, a: Args<'_>) -> CmdResult {
    let n = write_notify(
        ctx,
        a.get(1),
        "hash",
        None,
        (HASH, "hdel"),
        |n| *n > 0,
        |v| {
            let h = as_hash_mut(v)?;
            Ok(a.iter().skip(2).filter(|f| h.remove(f)).count() as i64)
        },
    )?;
    ctx.out.int(n.unwrap_or(0));
    Ok(())
}

/// HEXISTS key field
fn hexists(ctx: &mut Ctx<'_>, a: Args<'_>) -> CmdResult {
    let now = ctx.now();
    let n = read_value(ctx, a.get(1), |v| {
        Ok(as_hash(v)?.get_live(a.get(2), now).is_some())
    })?;
    ctx.out.int(n.unwrap_or(false) as i64);
    Ok(())
}

/// HLEN key (as Redis, fields whose TTL passed count until they are reaped)
fn hlen(ctx: &mut Ctx<'_>, a: Args<'_>) -> CmdResult {
    let n = read_value(ctx, a.get(1), |v| Ok(as_hash(v)?.len()))?;
    ctx.out.int(n.unwrap_or(0) as i64);
    Ok(())
}

/// HSTRLEN key field
fn hstrlen(ctx: &mut Ctx<'_>, a: Args<'_>) -> CmdResult {
    let now = ctx.now();
    let n = read_value(ctx, a.get(1), |v| {
        Ok(as_hash(v)?.get_live(a.get(2), now).map_or(0, <[u8]>::len))
    })?;
    ctx.out.int(n.unwrap_or(0) as i64);
    Ok(())
}

#[derive(Clone, Copy)]
enum Part {
    Keys,
    Vals,
    All,
}

fn hgetall_generic(ctx: &mut Ctx<'_>, a: &Args<'_>, part: Part) -> CmdResult {
    let now = ctx.now();
    let pairs = read_value(ctx, a.get(1), |v| {
        Ok(as_hash(v)?
            .iter_live(now)
            .map(|(f, v)| (f.to_vec(), v.to_vec()))
            .collect::<Vec<_>>())
    })?
    .unwrap_or_default();
    match part {
        Part::All => {
            ctx.out.map(pairs.len());
            for (f, v) in &pairs {
                ctx.out.bulk(f);
                ctx.out.bulk(v);
            }
        }
        Part::Keys | Part::Vals => {
            ctx.out.array(pairs.len());
            for (f, v) in &pairs {
                ctx.out.bulk(if matches!(part, Part::Keys) { f } else { v });
            }
        }
    }
    Ok(())
}

fn hkeys(ctx: &mut Ctx<'_>, a: Args<'_>) -> CmdResult {
    hgetall_generic(ctx, &a, Part::Keys)
}

fn hvals(ctx: &mut Ctx<'_>, a: Args<'_>) -> CmdResult {
    hgetall_generic(ctx, &a, Part::Vals)
}

fn hgetall(ctx: &mut Ctx<'_>, a: Args<'_>) -> CmdResult {
    hgetall_generic(ctx, &a, Part::All)
}

/// HINCRBY key field increment
fn hincrby(ctx: &mut Ctx<'_>, a: Args<'_>) -> CmdResult {
    let by = int(a.get(3))?;
    let (now, reap) = (ctx.now(), hash_ttl::may_reap(ctx));
    let mut reaped = false;
    let n = write_notify(
        ctx,
        a.get(1),
        "hash",
        Some(new_hash),
        (HASH, "hincrby"),
        |_| true,
        |v| {
            let h = as_hash_mut(v)?;
            reaped = hash_ttl::reap_field(h, a.get(2), now, reap);
            let cur = match h.get_live(a.get(2), now) {
                Some(b) => shoal_resp::parse_i64(b)
                    .ok_or(CmdError::from("ERR hash value is not an integer"))?,
                None => 0,
            };
            let n = cur
                .checked_add(by)
                .ok_or(CmdError::from(errors::OVERFLOW))?;
            // The field keeps its TTL (Redis's HASH_SET_KEEP_TTL).
            h.insert_keep_ttl(a.get(2), itoa::Buffer::new().format(n).as_bytes());
            Ok(n)
        },
    );
    if reaped {
        reaped_then(ctx, &a, n.is_ok());
    }
    let n = n?;
    ctx.out.int(n.unwrap_or(0));
    Ok(())
}

/// HINCRBYFLOAT key field increment
fn hincrbyfloat(ctx: &mut Ctx<'_>, a: Args<'_>) -> CmdResult {
    let by = util::float(a.get(3)).ok_or(CmdError::from(errors::NOT_FLOAT))?;
    if !by.is_finite() {
        return Err("ERR value is NaN or Infinity".into());
    }
    let (now, reap) = (ctx.now(), hash_ttl::may_reap(ctx));
    let mut reaped = false;
    let mut keeps_ttl = false;
    let text = write_notify(
        ctx,
        a.get(1),
        "hash",
        Some(new_hash),
        (HASH, "hincrbyfloat"),
        |_| true,
        |v| {
            let h = as_hash_mut(v)?;
            reaped = hash_ttl::reap_field(h, a.get(2), now, reap);
            let cur = match h.get_live(a.get(2), now) {
                Some(b) => util::float(b).ok_or(CmdError::from("ERR hash value is not a float"))?,
                None => 0.0,
            };
            let n = cur + by;
            if !n.is_finite() {
                return Err(errors::NAN_OR_INF.into());
            }
            let text = shoal_resp::format_double(n);
            keeps_ttl = h.ttl_of(a.get(2)).is_some();
            h.insert_keep_ttl(a.get(2), text.as_bytes());
            Ok(text)
        },
    );
    if reaped {
        reaped_then(ctx, &a, false);
    }
    let text = text?.unwrap_or_default();
    // The result, not the increment: replicas must not round differently. A field with a TTL
    // keeps it (HSET would drop it): HSETEX KEEPTTL, as Redis 8 replicates it.
    if keeps_ttl {
        ctx.propagate_as(&[
            b"HSETEX",
            a.get(1),
            b"KEEPTTL",
            b"FIELDS",
            b"1",
            a.get(2),
            text.as_bytes(),
        ]);
    } else {
        ctx.propagate_as(&[b"HSET", a.get(1), a.get(2), text.as_bytes()]);
    }
    ctx.out.bulk(text.as_bytes());
    Ok(())
}

/// HRANDFIELD key [count [WITHVALUES]]
fn hrandfield(ctx: &mut Ctx<'_>, a: Args<'_>) -> CmdResult {
    let count = if a.len() >= 3 {
        Some(util::rand_count(a.get(2))?)
    } else {
        None
    };
    let withvalues = match a.len() {
        4 if eq_ic(a.get(3), "withvalues") => true,
        2 | 3 => false,
        _ => return Err(errors::SYNTAX.into()),
    };
    if withvalues && let Some(c) = count {
        util::rand_pairs_count(c)?;
    }
    let now = ctx.now();
    let pairs = read_value(ctx, a.get(1), |v| {
        let h = as_hash(v)?;
        if h.has_ttls() {
            // Fields whose TTL passed are not candidates.
            let live: Vec<(&[u8], &[u8])> = h.iter_live(now).collect();
            return Ok(util::random_picks(live.len(), count)
                .into_iter()
                .filter_map(|i| live.get(i))
                .map(|(f, v)| (f.to_vec(), v.to_vec()))
                .collect::<Vec<_>>());
        }
        Ok(util::random_picks(h.len(), count)
            .into_iter()
            .filter_map(|i| h.nth(i))
            .map(|(f, v)| (f.to_vec(), v.to_vec()))
            .collect::<Vec<_>>())
    })?
    .unwrap_or_default();
    let Some(_) = count else {
        match pairs.first() {
            Some((f, _)) => ctx.out.bulk(f),
            None => ctx.out.null(),
        }
        return Ok(());
    };
    if withvalues && ctx.out.resp3() {
        ctx.out.array(pairs.len());
        for (f, v) in &pairs {
            ctx.out.array(2);
            ctx.out.bulk(f);
            ctx.out.bulk(v);
        }
    } else {
        ctx.out.array(pairs.len() * if withvalues { 2 } else { 1 });
        for (f, v) in &pairs {
            ctx.out.bulk(f);
            if withvalues {
                ctx.out.bulk(v);
            }
        }
    }
    Ok(())
}

/// HSCAN key cursor [MATCH pattern] [COUNT count] [NOVALUES] — a small hash whole (cursor 0),
/// a large one COUNT fields at a time.
fn hscan(ctx: &mut Ctx<'_>, a: Args<'_>) -> CmdResult {
    let o = util::scan_options(&a, 3, true)?;
    let matches = |f: &[u8]| {
        o.pattern
            .is_none_or(|p| shoal_store::glob::glob_match(p, f, false))
    };
    let now = ctx.now();
    let (next, pairs) = read_value(ctx, a.get(1), |v| {
        let h = as_hash(v)?;
        let (range, next) = util::scan_order(h.is_compact(), h.len(), &o);
        let pairs: Vec<(Vec<u8>, Vec<u8>)> = range
            .into_iter()
            .filter_map(|i| h.nth(i))
            .filter(|(f, _)| matches(f) && !h.is_expired(f, now))
            .map(|(f, v)| (f.to_vec(), v.to_vec()))
            .collect();
        Ok((next, pairs))
    })?
    .unwrap_or_default();
    ctx.out.array(2);
    ctx.out.bulk(itoa::Buffer::new().format(next).as_bytes());
    ctx.out.array(pairs.len() * if o.novalues { 1 } else { 2 });
    for (f, v) in &pairs {
        ctx.out.bulk(f);
        if !o.novalues {
            ctx.out.bulk(v);
        }
    }
    Ok(())
}

const K1: (i32, i32, i32) = (1, 1, 1);
const W: u32 = WRITE | DENYOOM | FAST;

pub static COMMANDS: &[Spec] = &[
    cmd(
        "hset",
        -4,
        W,
        K1,
        Group::Hash,
        "2.0.0",
        "Creates or modifies the value of a field in a hash.",
        hset,
    ),
    cmd(
        "hmset",
        -4,
        W,
        K1,
        Group::Hash,
        "2.0.0",
        "Sets the values of multiple fields.",
        hmset,
    ),
    cmd(
        "hsetnx",
        4,
        W,
        K1,
        Group::Hash,
        "2.0.0",
        "Sets the value of a field in a hash only when the field doesn't exist.",
        hsetnx,
    ),
    cmd(
        "hget",
        3,
        READONLY | FAST,
        K1,
        Group::Hash,
        "2.0.0",
        "Returns the value of a field in a hash.",
        hget,
    ),
    cmd(
        "hmget",
        -3,
        READONLY | FAST,
        K1,
        Group::Hash,
        "2.0.0",
        "Returns the values of all fields in a hash.",
        hmget,
    ),
    cmd(
        "hdel",
        -3,
        WRITE | FAST,
        K1,
        Group::Hash,
        "2.0.0",
        "Deletes one or more fields and their values from a hash.",
        hdel,
    ),
    cmd(
        "hexists",
        3,
        READONLY | FAST,
        K1,
        Group::Hash,
        "2.0.0",
        "Determines whether a field exists in a hash.",
        hexists,
    ),
    cmd(
        "hlen",
        2,
        READONLY | FAST,
        K1,
        Group::Hash,
        "2.0.0",
        "Returns the number of fields in a hash.",
        hlen,
    ),
    cmd(
        "hstrlen",
        3,
        READONLY | FAST,
        K1,
        Group::Hash,
        "3.2.0",
        "Returns the length of the value of a field.",
        hstrlen,
    ),
    cmd(
        "hkeys",
        2,
        READONLY,
        K1,
        Group::Hash,
        "2.0.0",
        "Returns all fields in a hash.",
        hkeys,
    ),
    cmd(
        "hvals",
        2,
        READONLY,
        K1,
        Group::Hash,
        "2.0.0",
        "Returns all values in a hash.",
        hvals,
    ),
    cmd(
        "hgetall",
        2,
        READONLY,
        K1,
        Group::Hash,
        "2.0.0",
        "Returns all fields and values in a hash.",
        hgetall,
    ),
    cmd(
        "hincrby",
        4,
        W,
        K1,
        Group::Hash,
        "2.0.0",
        "Increments the integer value of a field in a hash by a number.",
        hincrby,
    ),
    cmd(
        "hincrbyfloat",
        4,
        W,
        K1,
        Group::Hash,
        "2.6.0",
        "Increments the floating point value of a field by a number.",
        hincrbyfloat,
    ),
    cmd(
        "hrandfield",
        -2,
        READONLY,
        K1,
        Group::Hash,
        "6.2.0",
        "Returns one or more random fields from a hash.",
        hrandfield,
    ),
    cmd(
        "hscan",
        -3,
        READONLY,
        K1,
        Group::Hash,
        "2.8.0",
        "Iterates over fields and values of a hash.",
        hscan,
    ),
];
