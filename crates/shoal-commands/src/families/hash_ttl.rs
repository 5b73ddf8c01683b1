//! Per-field hash expiry (Redis 7.4 / 8, Valkey 9): HEXPIRE, HPEXPIRE, HEXPIREAT, HPEXPIREAT,
//! HTTL, HPTTL, HEXPIRETIME, HPEXPIRETIME, HPERSIST, HGETEX, HSETEX, HGETDEL.
//!
//! A field whose TTL passed is absent to every read. Writes that meet one delete it (replicated
//! as HDEL, announced as `hexpired`), and the active expiry cycle reaps the rest (see
//! `Shard::sweep_expired`). A replica deletes nothing itself: it waits for its primary's HDELs.

use shoal_resp::Args;
use shoal_store::types::{Bytes, Hash};
use shoal_store::{CollMut, ValueRef};

use crate::ctx::Ctx;
use crate::errors::{self, CmdError, CmdResult};
use crate::notify::HASH;
use crate::spec::{Group, Spec, cmd, flags::*};
use crate::util::{eq_ic, peek_value, write_value_ev};

/// Redis's HFE_MAX_ABS_TIME_MSEC: `EB_EXPIRE_TIME_MAX >> 2` (2^46 - 1 ms, in the year 4199).
pub const MAX_ABS_MS: i64 = ((1i64 << 48) - 1) >> 2;

const FIELDS_MISSING: &str =
    "ERR Mandatory argument FIELDS is missing or not at the right position";
const NUMFIELDS_MISMATCH: &str = "ERR The `numfields` parameter must match the number of arguments";
const NUMFIELDS_POSITIVE: &str = "ERR Number of fields must be a positive integer";
const NUMFIELDS_HEXPIRE: &str = "ERR Parameter `numFields` should be greater than 0";

fn new_hash() -> shoal_store::Value {
    shoal_store::Value::Hash(Box::default())
}

fn as_hash_mut(v: CollMut<'_>) -> Result<&mut Hash, CmdError> {
    match v {
        CollMut::Hash(h) => Ok(h),
        _ => Err(errors::WRONGTYPE.into()),
    }
}

/// Whether this node deletes expired fields it meets (a primary, writes not paused); a replica
/// only hides them and waits for its primary's HDEL.
pub fn may_reap(ctx: &Ctx<'_>) -> bool {
    ctx.shared
        .store
        .tuning()
        .expiry
        .load(std::sync::atomic::Ordering::Relaxed)
        != shoal_store::policy::EXPIRY_HIDE
        && !shoal_store::shard::expiry_paused()
}

/// Deletes `f` if its TTL passed (and this node may): true if it did.
pub fn reap_field(h: &mut Hash, f: &[u8], now: u64, allowed: bool) -> bool {
    allowed && h.is_expired(f, now) && h.remove(f)
}

/// After a write that deleted expired fields of `key`: `hexpired`, and their HDEL goes to the
/// replicas (ahead of whatever the command adds with `propagate_as`). Nothing when none.
pub fn announce_reaped(ctx: &mut Ctx<'_>, key: &[u8], reaped: &[Bytes]) {
    if reaped.is_empty() {
        return;
    }
    ctx.notify(HASH, "hexpired", key);
    let mut hdel: Vec<&[u8]> = vec![b"HDEL", key];
    hdel.extend(reaped.iter().map(|f| &f[..]));
    ctx.propagate_as(&hdel);
}

/// Errors Redis answers before looking at arguments: a key of another type.
fn check_hash(ctx: &mut Ctx<'_>, key: &[u8]) -> CmdResult {
    peek_value(ctx, key, |v| match v {
        ValueRef::Hash(_) => Ok(()),
        _ => Err(errors::WRONGTYPE.into()),
    })?;
    Ok(())
}

/// `FIELDS numfields field ...` with `numfields` at `at`: the fields' first index and count.
fn fields_at(
    a: &Args<'_>,
    at: usize,
    not_positive: &'static str,
) -> Result<(usize, usize), CmdError> {
    if at >= a.len() || !eq_ic(a.get(at - 1), "fields") {
        return Err(FIELDS_MISSING.into());
    }
    let n = shoal_resp::parse_i64(a.get(at))
        .filter(|&n| n >= 1)
        .ok_or_else(|| CmdError::from(not_positive))?;
    if n as u64 != (a.len() - at - 1) as u64 {
        return Err(NUMFIELDS_MISMATCH.into());
    }
    Ok((at + 1, n as usize))
}

/// Redis's parseExpireTime: an absolute unix time in ms from `arg` (seconds when `secs`), plus
/// `base` for relative forms.
fn expire_time(arg: &[u8], secs: bool, base: u64, name: &str) -> Result<u64, CmdError> {
    let v = shoal_resp::parse_i64(arg).ok_or(CmdError::from(errors::NOT_INTEGER))?;
    if v < 0 {
        return Err("ERR invalid expire time, must be >= 0".into());
    }
    let bad = || CmdError::from(format!("ERR invalid expire time in '{name}' command"));
    let v = if secs {
        if v > MAX_ABS_MS / 1000 {
            return Err(bad());
        }
        v * 1000
    } else {
        v
    };
    if v > MAX_ABS_MS - base as i64 {
        return Err(bad());
    }
    Ok(v as u64 + base)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Cond {
    None,
    Nx,
    Xx,
    Gt,
    Lt,
}

/// Sets the TTL of one field (Redis's hashTypeSetEx): -2 no such field, 0 condition not met,
/// 1 set, 2 deleted (the time is not in the future).
fn set_field_ttl(h: &mut Hash, f: &[u8], at: u64, cond: Cond, now: u64, reap: bool) -> i64 {
    if h.get_live(f, now).is_none() {
        return -2;
    }
    let prev = h.ttl_of(f);
    let met = match cond {
        Cond::None => true,
        Cond::Nx => prev.is_none(),
        Cond::Xx => prev.is_some(),
        Cond::Gt => prev.is_some_and(|p| at > p),
        Cond::Lt => prev.is_none_or(|p| at < p),
    };
    if !met {
        return 0;
    }
    if at <= now && reap {
        h.remove(f);
        return 2;
    }
    h.set_ttl(f, at);
    1
}

/// HEXPIRE / HPEXPIRE / HEXPIREAT / HPEXPIREAT key time [NX|XX|GT|LT] FIELDS numfields field...
fn hexpire_generic(ctx: &mut Ctx<'_>, a: &Args<'_>, secs: bool, relative: bool) -> CmdResult {
    let name = match (secs, relative) {
        (true, true) => "hexpire",
        (false, true) => "hpexpire",
        (true, false) => "hexpireat",
        (false, false) => "hpexpireat",
    };
    let key = a.get(1);
    check_hash(ctx, key)?;
    let now = ctx.now();
    let at = expire_time(a.get(2), secs, if relative { now } else { 0 }, name)?;
    let cond = match a.get(3) {
        c if eq_ic(c, "nx") => Cond::Nx,
        c if eq_ic(c, "xx") => Cond::Xx,
        c if eq_ic(c, "gt") => Cond::Gt,
        c if eq_ic(c, "lt") => Cond::Lt,
        _ => Cond::None,
    };
    let num_at = if cond == Cond::None { 4 } else { 5 };
    let (first, n) = fields_at(a, num_at, NUMFIELDS_HEXPIRE)?;
    let fields: Vec<&[u8]> = (first..first + n).map(|i| a.get(i)).collect();
    let reap = may_reap(ctx);
    let r = write_value_ev(ctx, key, "hash", None, |v| {
        let h = as_hash_mut(v)?;
        Ok(fields
            .iter()
            .map(|f| set_field_ttl(h, f, at, cond, now, reap))
            .collect::<Vec<i64>>())
    })?;
    let Some((res, ch)) = r else {
        ctx.propagate_nothing();
        ctx.out.array(n);
        for _ in 0..n {
            ctx.out.int(-2);
        }
        return Ok(());
    };
    let deleted: Vec<&[u8]> = fields
        .iter()
        .zip(&res)
        .filter(|(_, r)| **r == 2)
        .map(|(f, _)| *f)
        .collect();
    let updated: Vec<&[u8]> = fields
        .iter()
        .zip(&res)
        .filter(|(_, r)| **r == 1)
        .map(|(f, _)| *f)
        .collect();
    // Replicated as HDEL for the fields the time deleted, HPEXPIREAT (absolute ms) for the set.
    ctx.propagate_nothing();
    if !deleted.is_empty() {
        let mut hdel: Vec<&[u8]> = vec![b"HDEL", key];
        hdel.extend(&deleted);
        ctx.propagate_as(&hdel);
    }
    if !updated.is_empty() {
        let at_s = at.to_string();
        let n_s = updated.len().to_string();
        let mut p: Vec<&[u8]> = vec![b"HPEXPIREAT", key, at_s.as_bytes()];
        if cond != Cond::None {
            p.push(a.get(3));
        }
        p.push(b"FIELDS");
        p.push(n_s.as_bytes());
        p.extend(&updated);
        ctx.propagate_as(&p);
    }
    let event = if !deleted.is_empty() {
        Some("hdel")
    } else if !updated.is_empty() {
        Some("hexpire")
    } else {
        None
    };
    ctx.notify_write(HASH, event, key, ch);
    ctx.out.array(res.len());
    for r in res {
        ctx.out.int(r);
    }
    Ok(())
}

fn hexpire(ctx: &mut Ctx<'_>, a: Args<'_>) -> CmdResult {
    hexpire_generic(ctx, &a, true, true)
}

fn hpexpire(ctx: &mut Ctx<'_>, a: Args<'_>) -> CmdResult {
    hexpire_generic(ctx, &a, false, true)
}

fn hexpireat(ctx: &mut Ctx<'_>, a: Args<'_>) -> CmdResult {
    hexpire_generic(ctx, &a, true, false)
}

fn hpexpireat(ctx: &mut Ctx<'_>, a: Args<'_>) -> CmdResult {
    hexpire_generic(ctx, &a, false, false)
}

#[derive(Clone, Copy)]
enum TtlKind {
    Ttl,
    Pttl,
    ExpireTime,
    PexpireTime,
}

/// HTTL / HPTTL / HEXPIRETIME / HPEXPIRETIME key FIELDS numfields field...: per field -2 (no
/// such field), -1 (no TTL) or the time.
fn httl_generic(ctx: &mut Ctx<'_>, a: &Args<'_>, kind: TtlKind) -> CmdResult {
    let key = a.get(1);
    let now = ctx.now();
    let (first, n) = match peek_value(ctx, key, |v| match v {
        ValueRef::Hash(_) => Ok(()),
        _ => Err(errors::WRONGTYPE.into()),
    }) {
        Err(e) => return Err(e),
        Ok(_) => fields_at(a, 3, NUMFIELDS_POSITIVE)?,
    };
    let res = crate::util::read_value(ctx, key, |v| {
        let ValueRef::Hash(h) = v else {
            return Err(errors::WRONGTYPE.into());
        };
        Ok((first..first + n)
            .map(|i| {
                let f = a.get(i);
                if h.get_live(f, now).is_none() {
                    return -2;
                }
                match h.ttl_of(f) {
                    None => -1,
                    Some(at) => {
                        let at = at as i64;
                        match kind {
                            TtlKind::Ttl => (at + 999 - now as i64) / 1000,
                            TtlKind::Pttl => at - now as i64,
                            TtlKind::ExpireTime => (at + 999) / 1000,
                            TtlKind::PexpireTime => at,
                        }
                    }
                }
            })
            .collect::<Vec<i64>>())
    })?
    .unwrap_or_else(|| vec![-2; n]);
    ctx.out.array(res.len());
    for r in res {
        ctx.out.int(r);
    }
    Ok(())
}

fn httl(ctx: &mut Ctx<'_>, a: Args<'_>) -> CmdResult {
    httl_generic(ctx, &a, TtlKind::Ttl)
}

fn hpttl(ctx: &mut Ctx<'_>, a: Args<'_>) -> CmdResult {
    httl_generic(ctx, &a, TtlKind::Pttl)
}

fn hexpiretime(ctx: &mut Ctx<'_>, a: Args<'_>) -> CmdResult {
    httl_generic(ctx, &a, TtlKind::ExpireTime)
}

fn hpexpiretime(ctx: &mut Ctx<'_>, a: Args<'_>) -> CmdResult {
    httl_generic(ctx, &a, TtlKind::PexpireTime)
}

/// HPERSIST key FIELDS numfields field...: per field -2 (no such field), -1 (no TTL), 1 (TTL
/// removed).
fn hpersist(ctx: &mut Ctx<'_>, a: Args<'_>) -> CmdResult {
    let key = a.get(1);
    check_hash(ctx, key)?;
    let (first, n) = fields_at(&a, 3, NUMFIELDS_POSITIVE)?;
    let now = ctx.now();
    let r = write_value_ev(ctx, key, "hash", None, |v| {
        let h = as_hash_mut(v)?;
        Ok((first..first + n)
            .map(|i| {
                let f = a.get(i);
                if h.get_live(f, now).is_none() {
                    -2
                } else if h.persist(f) {
                    1
                } else {
                    -1
                }
            })
            .collect::<Vec<i64>>())
    })?;
    let res = match r {
        Some((res, ch)) => {
            let changed = res.contains(&1);
            if !changed {
                ctx.propagate_nothing();
            }
            ctx.notify_write(HASH, changed.then_some("hpersist"), key, ch);
            res
        }
        None => {
            ctx.propagate_nothing();
            vec![-2; n]
        }
    };
    ctx.out.array(res.len());
    for r in res {
        ctx.out.int(r);
    }
    Ok(())
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum GetExOpt {
    None,
    Persist,
    /// The absolute time, and whether it was given as PXAT.
    At(u64, bool),
}

/// HGETEX key [EX s | PX ms | EXAT ts | PXAT ms-ts | PERSIST] FIELDS numfields field...: the
/// values, and the fields' TTLs changed.
fn hgetex(ctx: &mut Ctx<'_>, a: Args<'_>) -> CmdResult {
    let key = a.get(1);
    check_hash(ctx, key)?;
    let now = ctx.now();
    let opt_arg = a.get(2);
    let (opt, num_at) = if eq_ic(opt_arg, "persist") {
        (GetExOpt::Persist, 4)
    } else {
        let unit = [
            ("ex", true, true),
            ("px", false, true),
            ("exat", true, false),
        ]
        .into_iter()
        .chain([("pxat", false, false)])
        .find(|(n, _, _)| eq_ic(opt_arg, n));
        match unit {
            Some((_, secs, rel)) => {
                let at = expire_time(a.get(3), secs, if rel { now } else { 0 }, "hgetex")?;
                (GetExOpt::At(at, eq_ic(opt_arg, "pxat")), 5)
            }
            None => (GetExOpt::None, 3),
        }
    };
    let (first, n) = fields_at(&a, num_at, NUMFIELDS_POSITIVE)?;
    let reap = may_reap(ctx);
    let mut reaped: Vec<Bytes> = Vec::new();
    let (mut updated, mut deleted) = (0usize, Vec::new());
    let r = write_value_ev(ctx, key, "hash", None, |v| {
        let h = as_hash_mut(v)?;
        let mut vals = Vec::with_capacity(n);
        for i in first..first + n {
            let f = a.get(i);
            if reap_field(h, f, now, reap) {
                reaped.push(f.into());
            }
            let val = h.get_live(f, now).map(<[u8]>::to_vec);
            if val.is_some() {
                match opt {
                    GetExOpt::None => {}
                    GetExOpt::Persist => updated += h.persist(f) as usize,
                    GetExOpt::At(at, _) => match set_field_ttl(h, f, at, Cond::None, now, reap) {
                        1 => updated += 1,
                        2 => deleted.push(f),
                        _ => {}
                    },
                }
            }
            vals.push(val);
        }
        Ok(vals)
    })?;
    let Some((vals, ch)) = r else {
        return missing_key(ctx, n);
    };
    announce_reaped(ctx, key, &reaped);
    // Replicated as HPERSIST or HPEXPIREAT (absolute ms), or the HDELs of a time in the past.
    let fields: Vec<&[u8]> = (first..first + n).map(|i| a.get(i)).collect();
    let n_s = n.to_string();
    let event = if updated > 0 {
        match opt {
            GetExOpt::Persist => {
                let mut p: Vec<&[u8]> = vec![b"HPERSIST", key, b"FIELDS", n_s.as_bytes()];
                p.extend(&fields);
                ctx.propagate_as(&p);
                Some("hpersist")
            }
            GetExOpt::At(at, _) => {
                let at_s = at.to_string();
                let mut p: Vec<&[u8]> = vec![
                    b"HPEXPIREAT",
                    key,
                    at_s.as_bytes(),
                    b"FIELDS",
                    n_s.as_bytes(),
                ];
                p.extend(&fields);
                ctx.propagate_as(&p);
                Some("hexpire")
            }
            GetExOpt::None => None,
        }
    } else if !deleted.is_empty() {
        let mut p: Vec<&[u8]> = vec![b"HDEL", key];
        p.extend(&deleted);
        ctx.propagate_as(&p);
        Some("hdel")
    } else {
        None
    };
    if reaped.is_empty() && event.is_none() {
        ctx.propagate_nothing();
    }
    ctx.notify_write(HASH, event, key, ch);
    ctx.out.array(vals.len());
    for v in vals {
        match v {
            Some(b) => ctx.out.bulk(&b),
            None => ctx.out.null(),
        }
    }
    Ok(())
}

/// HGETDEL key FIELDS numfields field...: the values, and the fields deleted.
fn hgetdel(ctx: &mut Ctx<'_>, a: Args<'_>) -> CmdResult {
    let key = a.get(1);
    check_hash(ctx, key)?;
    let (first, n) = fields_at(&a, 3, NUMFIELDS_POSITIVE)?;
    let now = ctx.now();
    let reap = may_reap(ctx);
    let mut reaped: Vec<Bytes> = Vec::new();
    let mut deleted: Vec<&[u8]> = Vec::new();
    let r = write_value_ev(ctx, key, "hash", None, |v| {
        let h = as_hash_mut(v)?;
        let mut vals = Vec::with_capacity(n);
        for i in first..first + n {
            let f = a.get(i);
            if reap_field(h, f, now, reap) {
                reaped.push(f.into());
            }
            let val = h.get_live(f, now).map(<[u8]>::to_vec);
            if val.is_some() {
                h.remove(f);
                deleted.push(f);
            }
            vals.push(val);
        }
        Ok(vals)
    })?;
    let Some((vals, ch)) = r else {
        return missing_key(ctx, n);
    };
    announce_reaped(ctx, key, &reaped);
    if !deleted.is_empty() {
        let mut p: Vec<&[u8]> = vec![b"HDEL", key];
        p.extend(&deleted);
        ctx.propagate_as(&p);
    } else if reaped.is_empty() {
        ctx.propagate_nothing();
    }
    ctx.notify_write(HASH, (!deleted.is_empty()).then_some("hdel"), key, ch);
    ctx.out.array(vals.len());
    for v in vals {
        match v {
            Some(b) => ctx.out.bulk(&b),
            None => ctx.out.null(),
        }
    }
    Ok(())
}

#[derive(Default)]
struct SetEx {
    fnx: bool,
    fxx: bool,
    keepttl: bool,
    /// Absolute expiry, and the index of its flag in the arguments.
    at: Option<(u64, usize)>,
    first: usize,
    count: usize,
}

/// HSETEX's arguments, as Redis's hsetexParseArgs checks them (before the key is looked at).
fn hsetex_args(a: &Args<'_>, now: u64) -> Result<SetEx, CmdError> {
    let mut o = SetEx::default();
    let mut i = 2;
    let only_one_exp = "ERR Only one of EX, PX, EXAT, PXAT or KEEPTTL arguments can be specified";
    while i < a.len() {
        let w = a.get(i);
        if eq_ic(w, "fields") {
            if i + 3 >= a.len() {
                return Err(errors::arity("hsetex"));
            }
            let n = shoal_resp::parse_i64(a.get(i + 1))
                .filter(|n| (1..=i32::MAX as i64).contains(n))
                .ok_or(CmdError::from("ERR invalid number of fields"))?;
            let remaining = a.len() - i - 2;
            if !remaining.is_multiple_of(2) || n as usize != remaining / 2 {
                return Err(errors::arity("hsetex"));
            }
            o.first = i + 2;
            o.count = n as usize;
            return Ok(o);
        }
        let unit = [
            ("ex", true, true),
            ("px", false, true),
            ("exat", true, false),
            ("pxat", false, false),
        ]
        .into_iter()
        .find(|(n, _, _)| eq_ic(w, n));
        if let Some((_, secs, rel)) = unit {
            if o.at.is_some() || o.keepttl {
                return Err(only_one_exp.into());
            }
            if i + 1 >= a.len() {
                return Err("ERR missing expire time".into());
            }
            let at = expire_time(a.get(i + 1), secs, if rel { now } else { 0 }, "hsetex")?;
            o.at = Some((at, i));
            i += 2;
            continue;
        }
        if eq_ic(w, "keepttl") {
            if o.at.is_some() || o.keepttl {
                return Err(only_one_exp.into());
            }
            o.keepttl = true;
        } else if eq_ic(w, "fxx") || eq_ic(w, "fnx") {
            if o.fxx || o.fnx {
                return Err("ERR Only one of FXX or FNX arguments can be specified".into());
            }
            if eq_ic(w, "fxx") {
                o.fxx = true;
            } else {
                o.fnx = true;
            }
        } else {
            return Err(format!("ERR unknown argument: {}", String::from_utf8_lossy(w)).into());
        }
        i += 1;
    }
    Err(errors::SYNTAX.into())
}

/// HSETEX key [FNX|FXX] [EX|PX|EXAT|PXAT time | KEEPTTL] FIELDS numfields field value ...:
/// 1 if the fields were set, 0 if FNX/FXX said no.
fn hsetex(ctx: &mut Ctx<'_>, a: Args<'_>) -> CmdResult {
    let now = ctx.now();
    let o = hsetex_args(&a, now)?;
    let key = a.get(1);
    let reap = may_reap(ctx);
    let mut reaped: Vec<Bytes> = Vec::new();
    let (mut updated, mut deleted) = (0usize, Vec::new());
    let pairs: Vec<(&[u8], &[u8])> = (0..o.count)
        .map(|j| (a.get(o.first + 2 * j), a.get(o.first + 2 * j + 1)))
        .collect();
    let create = if o.fxx {
        None
    } else {
        Some(new_hash as fn() -> _)
    };
    let r = write_value_ev(ctx, key, "hash", create, |v| {
        let h = as_hash_mut(v)?;
        if o.fnx || o.fxx {
            let mut found = 0;
            for (f, _) in &pairs {
                if reap_field(h, f, now, reap) {
                    reaped.push((*f).into());
                }
                let exists = h.get_live(f, now).is_some();
                found += exists as usize;
                if (o.fxx && !exists) || (o.fnx && exists) {
                    break;
                }
            }
            if (o.fnx && found != 0) || (o.fxx && found != pairs.len()) {
                return Ok(false);
            }
        }
        for (f, val) in &pairs {
            if o.at.is_some() || o.keepttl {
                // A field whose TTL passed starts again without one.
                if reap_field(h, f, now, reap) {
                    reaped.push((*f).into());
                }
                h.insert_keep_ttl(f, val);
            } else {
                h.insert(f, val);
            }
            if let Some((at, _)) = o.at {
                match set_field_ttl(h, f, at, Cond::None, now, reap) {
                    1 => updated += 1,
                    2 => deleted.push(*f),
                    _ => {}
                }
            }
        }
        Ok(true)
    })?;
    let Some((set, ch)) = r else {
        // FXX on a missing key.
        ctx.propagate_nothing();
        ctx.out.int(0);
        return Ok(());
    };
    announce_reaped(ctx, key, &reaped);
    if !set {
        if reaped.is_empty() {
            ctx.propagate_nothing();
        }
    } else if !deleted.is_empty() {
        // The time was in the past: the fields are gone, as the HDEL says.
        let mut p: Vec<&[u8]> = vec![b"HDEL", key];
        p.extend(&deleted);
        ctx.propagate_as(&p);
    } else {
        // As given, with a relative or seconds time made PXAT (absolute ms).
        let at_s = o.at.map(|(at, _)| at.to_string()).unwrap_or_default();
        let p: Vec<&[u8]> = a
            .iter()
            .enumerate()
            .map(|(i, x)| match o.at {
                Some((_, fi)) if i == fi => &b"PXAT"[..],
                Some((_, fi)) if i == fi + 1 => at_s.as_bytes(),
                _ => x,
            })
            .collect();
        ctx.propagate_as(&p);
    }
    let event = if !set {
        None
    } else if !deleted.is_empty() {
        Some("hdel")
    } else if updated > 0 {
        Some("hexpire")
    } else {
        None
    };
    // `new`, `hset`, then `hexpire` or `hdel`, then `del` if nothing is left (as Redis).
    let first = crate::notify::Change {
        emptied: false,
        ..ch
    };
    ctx.notify_write(HASH, set.then_some("hset"), key, first);
    let rest = crate::notify::Change {
        created: false,
        ..ch
    };
    ctx.notify_write(HASH, event, key, rest);
    ctx.out.int(set as i64);
    Ok(())
}

const W: u32 = WRITE | DENYOOM | FAST;
const K1: (i32, i32, i32) = (1, 1, 1);

pub static COMMANDS: &[Spec] = &[
    cmd(
        "hexpire",
        -6,
        W,
        K1,
        Group::Hash,
        "7.4.0",
        "Set expiry for hash field using relative time to expire (seconds)",
        hexpire,
    ),
    cmd(
        "hpexpire",
        -6,
        W,
        K1,
        Group::Hash,
        "7.4.0",
        "Set expiry for hash field using relative time to expire (milliseconds)",
        hpexpire,
    ),
    cmd(
        "hexpireat",
        -6,
        W,
        K1,
        Group::Hash,
        "7.4.0",
        "Set expiry for hash field using an absolute Unix timestamp (seconds)",
        hexpireat,
    ),
    cmd(
        "hpexpireat",
        -6,
        W,
        K1,
        Group::Hash,
        "7.4.0",
        "Set expiry for hash field using an absolute Unix timestamp (milliseconds)",
        hpexpireat,
    ),
    cmd(
        "httl",
        -5,
        READONLY | FAST,
        K1,
        Group::Hash,
        "7.4.0",
        "Returns the TTL in seconds of a hash field.",
        httl,
    ),
    cmd(
        "hpttl",
        -5,
        READONLY | FAST,
        K1,
        Group::Hash,
        "7.4.0",
        "Returns the TTL in milliseconds of a hash field.",
        hpttl,
    ),
    cmd(
        "hexpiretime",
        -5,
        READONLY | FAST,
        K1,
        Group::Hash,
        "7.4.0",
        "Returns the expiration time of a hash field as a Unix timestamp, in seconds.",
        hexpiretime,
    ),
    cmd(
        "hpexpiretime",
        -5,
        READONLY | FAST,
        K1,
        Group::Hash,
        "7.4.0",
        "Returns the expiration time of a hash field as a Unix timestamp, in msec.",
        hpexpiretime,
    ),
    cmd(
        "hpersist",
        -5,
        WRITE | FAST,
        K1,
        Group::Hash,
        "7.4.0",
        "Removes the expiration time for each specified field",
        hpersist,
    ),
    cmd(
        "hgetex",
        -5,
        WRITE | FAST,
        K1,
        Group::Hash,
        "8.0.0",
        "Get the value of one or more fields of a given hash key, and optionally set their expiration.",
        hgetex,
    ),
    cmd(
        "hsetex",
        -6,
        W,
        K1,
        Group::Hash,
        "8.0.0",
        "Set the value of one or more fields of a given hash key, and optionally set their expiration.",
        hsetex,
    ),
    cmd(
        "hgetdel",
        -5,
        WRITE | FAST,
        K1,
        Group::Hash,
        "8.0.0",
        "Returns the value of a field and deletes it from the hash.",
        hgetdel,
    ),
];

/// HGETEX / HGETDEL of a missing key: a nil per field, nothing replicated.
fn missing_key(ctx: &mut Ctx<'_>, n: usize) -> CmdResult {
    ctx.propagate_nothing();
    ctx.out.array(n);
    for _ in 0..n {
        ctx.out.null();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conditions_follow_redis() {
        let mut h = Hash::default();
        h.insert(b"a", b"1");
        h.insert(b"b", b"2");
        let now = 1_000;
        assert_eq!(
            set_field_ttl(&mut h, b"x", 5_000, Cond::None, now, true),
            -2
        );
        // GT: no TTL counts as infinite, so GT never sets a first TTL; LT does.
        assert_eq!(set_field_ttl(&mut h, b"a", 5_000, Cond::Gt, now, true), 0);
        assert_eq!(set_field_ttl(&mut h, b"a", 5_000, Cond::Xx, now, true), 0);
        assert_eq!(set_field_ttl(&mut h, b"a", 5_000, Cond::Lt, now, true), 1);
        assert_eq!(set_field_ttl(&mut h, b"a", 6_000, Cond::Nx, now, true), 0);
        assert_eq!(set_field_ttl(&mut h, b"a", 6_000, Cond::Lt, now, true), 0);
        assert_eq!(set_field_ttl(&mut h, b"a", 6_000, Cond::Gt, now, true), 1);
        assert_eq!(set_field_ttl(&mut h, b"a", 6_000, Cond::Gt, now, true), 0);
        assert_eq!(set_field_ttl(&mut h, b"a", 4_000, Cond::Xx, now, true), 1);
        assert_eq!(h.ttl_of(b"a"), Some(4_000));
        // A time not in the future deletes the field (only where this node may delete).
        assert_eq!(set_field_ttl(&mut h, b"b", now, Cond::None, now, false), 1);
        assert_eq!(h.get_live(b"b", now), None);
        h.persist(b"b");
        assert_eq!(set_field_ttl(&mut h, b"b", now, Cond::None, now, true), 2);
        assert_eq!(h.get(b"b"), None);
        assert_eq!(h.len(), 1);
    }

    #[test]
    fn expire_times_are_bounded_like_redis() {
        assert_eq!(expire_time(b"10", true, 5, "hexpire").unwrap(), 10_005);
        assert!(expire_time(b"-1", false, 0, "x").is_err());
        assert!(expire_time(b"abc", false, 0, "x").is_err());
        assert_eq!(
            expire_time(MAX_ABS_MS.to_string().as_bytes(), false, 0, "x").unwrap(),
            MAX_ABS_MS as u64
        );
        let e = expire_time(
            (MAX_ABS_MS / 1000 + 1).to_string().as_bytes(),
            true,
            0,
            "hexpire",
        );
        assert_eq!(
            e.unwrap_err().text(),
            "ERR invalid expire time in 'hexpire' command"
        );
        assert!(expire_time(MAX_ABS_MS.to_string().as_bytes(), false, 1, "x").is_err());
    }
}
