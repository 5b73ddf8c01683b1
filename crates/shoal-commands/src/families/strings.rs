//! String commands. Variants share one body: SET/SETNX/SETEX/PSETEX/GETSET go through
//! `set_with_options`, INCR/DECR/INCRBY/DECRBY through `add_to_integer`.

use shoal_resp::Args;
use shoal_store::{NewValue, ValueRef};

use crate::ctx::Ctx;
use crate::errors::{self, CmdError, CmdResult};
use crate::notify::{self, Change, GENERIC, STRING};
use crate::spec::{Group, Spec, cmd, flags::*};
use crate::util::{self, deadline, eq_ic, int, str_bytes, string_value, value_int};

/// What SET does with the TTL.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Ttl {
    /// Remove any TTL (plain SET).
    Clear,
    /// Leave the TTL as it is (KEEPTTL).
    Keep,
    /// Absolute unix ms.
    At(i64),
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Cond {
    Always,
    Nx,
    Xx,
}

struct SetOpts {
    ttl: Ttl,
    cond: Cond,
    get: bool,
}

/// `EX s | PX ms | EXAT t | PXAT t` as an absolute unix-ms deadline; `Ok(None)` when `opt` is
/// none of them. The number must be positive and the deadline must not overflow.
fn ttl_option(opt: &[u8], arg: &[u8], now: u64, name: &str) -> Result<Option<i64>, CmdError> {
    let (unit, abs) = match opt.to_ascii_lowercase().as_slice() {
        b"ex" => (1000, false),
        b"px" => (1, false),
        b"exat" => (1000, true),
        b"pxat" => (1, true),
        _ => return Ok(None),
    };
    let n = int(arg)?;
    if n <= 0 {
        return Err(errors::invalid_expire(name));
    }
    deadline(n, unit, abs, now)
        .map(Some)
        .ok_or_else(|| errors::invalid_expire(name))
}

/// Parses `[NX|XX] [GET] [EX s|PX ms|EXAT t|PXAT t|KEEPTTL]` from `args[from..]`.
fn parse_set_options(
    ctx: &Ctx<'_>,
    a: &Args<'_>,
    from: usize,
    name: &str,
) -> Result<SetOpts, CmdError> {
    let mut o = SetOpts {
        ttl: Ttl::Clear,
        cond: Cond::Always,
        get: false,
    };
    let mut ttl_seen = false;
    let mut i = from;
    while i < a.len() {
        let opt = a.get(i);
        if eq_ic(opt, "nx") && o.cond != Cond::Xx {
            o.cond = Cond::Nx;
        } else if eq_ic(opt, "xx") && o.cond != Cond::Nx {
            o.cond = Cond::Xx;
        } else if eq_ic(opt, "get") {
            o.get = true;
        } else if eq_ic(opt, "keepttl") && !ttl_seen {
            ttl_seen = true;
            o.ttl = Ttl::Keep;
        } else if !ttl_seen
            && i + 1 < a.len()
            && let Some(at) = ttl_option(opt, a.get(i + 1), ctx.now(), name)?
        {
            ttl_seen = true;
            o.ttl = Ttl::At(at);
            i += 1;
        } else {
            return Err(errors::SYNTAX.into());
        }
        i += 1;
    }
    Ok(o)
}

/// The body of SET and its variants. Writes the reply.
fn set_with_options(ctx: &mut Ctx<'_>, key: &[u8], val: &[u8], o: SetOpts) -> CmdResult {
    let now = ctx.now();
    let mut s = ctx.ks.shard(key);
    let found = s.find();
    let mut old = None;
    if let Some(i) = found {
        let v = s.entry(i).value();
        if o.get {
            old = Some(str_bytes(v)?.into_owned());
        }
    }
    let proceed = match o.cond {
        Cond::Always => true,
        Cond::Nx => found.is_none(),
        Cond::Xx => found.is_some(),
    };
    if proceed {
        let value = string_value(val);
        match (found, o.ttl) {
            (Some(i), Ttl::Keep) => s.set_value(i, value),
            (_, Ttl::At(at)) if at <= now as i64 => {
                // Already in the past: the key ends up deleted, as in Redis.
                if let Some(i) = found {
                    s.remove_at(i);
                }
            }
            (Some(i), ttl) => {
                s.set_value(i, value);
                s.set_expire(
                    i,
                    if let Ttl::At(at) = ttl {
                        Some(at as u64)
                    } else {
                        None
                    },
                );
            }
            (None, ttl) => {
                s.insert_new(
                    value,
                    if let Ttl::At(at) = ttl {
                        Some(at as u64)
                    } else {
                        None
                    },
                );
            }
        }
    }
    drop(s);
    if o.get && found.is_none() {
        // SET … GET reads the old value first (a read lookup).
        ctx.notify_keymiss(key);
    }
    if proceed {
        // Redis 7.0 sets the key and then its TTL even when that is already in the past.
        let ch = Change::created(found.is_none());
        ctx.notify_write(STRING, Some("set"), key, ch);
        if let Ttl::At(_) = o.ttl {
            ctx.notify(GENERIC, "expire", key);
        }
    }
    // Replicas get what happened, with an absolute expiry (their clocks are not ours).
    if ctx.replicating() {
        match (proceed, o.ttl) {
            (false, _) => ctx.propagate_nothing(),
            (true, Ttl::At(at)) if at <= now as i64 => {
                if found.is_some() {
                    ctx.propagate_as(&[b"DEL", key]);
                } else {
                    ctx.propagate_nothing();
                }
            }
            (true, Ttl::At(at)) => {
                let at = itoa::Buffer::new().format(at).to_owned();
                ctx.propagate_as(&[b"SET", key, val, b"PXAT", at.as_bytes()]);
            }
            (true, Ttl::Keep) => ctx.propagate_as(&[b"SET", key, val, b"KEEPTTL"]),
            (true, _) => ctx.propagate_as(&[b"SET", key, val]),
        }
    }
    if o.get {
        match old {
            Some(v) => ctx.out.bulk(&v),
            None => ctx.out.null(),
        }
    } else if proceed {
        ctx.out.ok();
    } else {
        ctx.out.null();
    }
    Ok(())
}

/// SET key value [NX|XX] [GET] [EX s|PX ms|EXAT t|PXAT t|KEEPTTL]
fn set(ctx: &mut Ctx<'_>, a: Args<'_>) -> CmdResult {
    let o = parse_set_options(ctx, &a, 3, "set")?;
    set_with_options(ctx, a.get(1), a.get(2), o)
}

/// SETNX key value — 1 if set, 0 if the key existed.
fn setnx(ctx: &mut Ctx<'_>, a: Args<'_>) -> CmdResult {
    let (key, val) = (a.get(1), a.get(2));
    let mut s = ctx.ks.shard(key);
    let done = s.find().is_none();
    if done {
        s.insert_new(string_value(val), None);
    }
    drop(s);
    if done {
        let ch = Change::created(true);
        ctx.notify_write(STRING, Some("set"), key, ch);
    }
    ctx.out.int(done as i64);
    Ok(())
}

fn setex_common(ctx: &mut Ctx<'_>, a: Args<'_>, unit: i64, name: &str) -> CmdResult {
    let n = int(a.get(2))?;
    if n <= 0 {
        return Err(errors::invalid_expire(name));
    }
    let at = deadline(n, unit, false, ctx.now()).ok_or_else(|| errors::invalid_expire(name))?;
    set_with_options(
        ctx,
        a.get(1),
        a.get(3),
        SetOpts {
            ttl: Ttl::At(at),
            cond: Cond::Always,
            get: false,
        },
    )
}

/// SETEX key seconds value
fn setex(ctx: &mut Ctx<'_>, a: Args<'_>) -> CmdResult {
    setex_common(ctx, a, 1000, "setex")
}

/// PSETEX key milliseconds value
fn psetex(ctx: &mut Ctx<'_>, a: Args<'_>) -> CmdResult {
    setex_common(ctx, a, 1, "psetex")
}

/// GETSET key value — SET key value GET.
fn getset(ctx: &mut Ctx<'_>, a: Args<'_>) -> CmdResult {
    set_with_options(
        ctx,
        a.get(1),
        a.get(2),
        SetOpts {
            ttl: Ttl::Clear,
            cond: Cond::Always,
            get: true,
        },
    )
}

/// Writes a string value as a bulk reply.
fn reply_value(ctx_out: &mut shoal_resp::Reply, v: ValueRef<'_>) -> CmdResult {
    match v {
        ValueRef::Str(b) => ctx_out.bulk(b),
        ValueRef::Int(n) => ctx_out.bulk_int(n),
        _ => return Err(errors::WRONGTYPE.into()),
    }
    Ok(())
}

/// GET key
fn get(ctx: &mut Ctx<'_>, a: Args<'_>) -> CmdResult {
    let mut s = ctx.ks.shard(a.get(1));
    match s.find() {
        Some(i) => {
            reply_value(ctx.out, s.entry(i).value())?;
            drop(s);
            ctx.hit(true);
        }
        None => {
            drop(s);
            ctx.hit(false);
            ctx.notify_keymiss(a.get(1));
            ctx.out.null();
        }
    }
    Ok(())
}

/// GETDEL key
fn getdel(ctx: &mut Ctx<'_>, a: Args<'_>) -> CmdResult {
    let mut s = ctx.ks.shard(a.get(1));
    match s.find() {
        Some(i) => {
            str_bytes(s.entry(i).value())?;
            let e = s.remove_at(i);
            drop(s);
            ctx.notify(GENERIC, "del", a.get(1));
            reply_value(ctx.out, e.value())
        }
        None => {
            drop(s);
            ctx.notify_keymiss(a.get(1));
            ctx.out.null();
            Ok(())
        }
    }
}

/// GETEX key [EX s|PX ms|EXAT t|PXAT t|PERSIST]
fn getex(ctx: &mut Ctx<'_>, a: Args<'_>) -> CmdResult {
    let now = ctx.now();
    // None = leave the TTL, Some(None) = persist, Some(Some(t)) = expire at t.
    let mut change: Option<Option<i64>> = None;
    let mut i = 2;
    while i < a.len() {
        let opt = a.get(i);
        if eq_ic(opt, "persist") && change.is_none() {
            change = Some(None);
        } else if change.is_none()
            && i + 1 < a.len()
            && let Some(at) = ttl_option(opt, a.get(i + 1), now, "getex")?
        {
            change = Some(Some(at));
            i += 1;
        } else {
            return Err(errors::SYNTAX.into());
        }
        i += 1;
    }
    let mut s = ctx.ks.shard(a.get(1));
    let Some(idx) = s.find() else {
        drop(s);
        ctx.notify_keymiss(a.get(1));
        ctx.out.null();
        return Ok(());
    };
    reply_value(ctx.out, s.entry(idx).value())?;
    let key = a.get(1);
    let prop: Option<(&[u8], Option<i64>)> = match change {
        None => None,
        Some(None) if s.entry(idx).expire_at().is_some() => {
            s.set_expire(idx, None);
            Some((b"PERSIST", None))
        }
        Some(None) => None,
        Some(Some(at)) if at <= now as i64 => {
            s.remove_at(idx);
            Some((b"DEL", None))
        }
        Some(Some(at)) => {
            s.set_expire(idx, Some(at as u64));
            Some((b"PEXPIREAT", Some(at)))
        }
    };
    drop(s);
    match prop {
        Some((b"PERSIST", _)) => ctx.notify(GENERIC, "persist", key),
        Some((b"DEL", _)) => ctx.notify(GENERIC, "del", key),
        Some(_) => ctx.notify(GENERIC, "expire", key),
        None => {}
    }
    match prop {
        None => ctx.propagate_nothing(),
        Some((cmd, None)) => ctx.propagate_as(&[cmd, key]),
        Some((cmd, Some(at))) => {
            let at = itoa::Buffer::new().format(at).to_owned();
            ctx.propagate_as(&[cmd, key, at.as_bytes()]);
        }
    }
    Ok(())
}

/// MGET key [key ...] — nil for missing keys and for keys of other types.
fn mget(ctx: &mut Ctx<'_>, a: Args<'_>) -> CmdResult {
    ctx.out.array(a.len() - 1);
    for key in a.iter().skip(1) {
        let mut s = ctx.ks.shard(key);
        match s.find().map(|i| s.entry(i).value()) {
            // Keys of other types read as nil, as in Redis.
            Some(v) if v.is_string() => reply_value(ctx.out, v)?,
            Some(_) => ctx.out.null(),
            None => {
                drop(s);
                notify::notify_in(ctx.shared, ctx.ks.db, notify::KEY_MISS, "keymiss", key);
                ctx.out.null();
            }
        }
    }
    Ok(())
}

/// MSET key value [key value ...]
fn mset(ctx: &mut Ctx<'_>, a: Args<'_>) -> CmdResult {
    if a.len().is_multiple_of(2) {
        return Err(errors::arity("mset"));
    }
    for i in (1..a.len()).step_by(2) {
        let replaced = ctx
            .ks
            .shard(a.get(i))
            .upsert(string_value(a.get(i + 1)), None);
        let ch = Change::created(!replaced);
        ctx.notify_write(STRING, Some("set"), a.get(i), ch);
    }
    ctx.out.ok();
    Ok(())
}

/// MSETNX key value [key value ...] — all or nothing.
fn msetnx(ctx: &mut Ctx<'_>, a: Args<'_>) -> CmdResult {
    if a.len().is_multiple_of(2) {
        return Err(errors::arity("msetnx"));
    }
    for i in (1..a.len()).step_by(2) {
        if ctx.ks.shard(a.get(i)).find().is_some() {
            ctx.out.int(0);
            return Ok(());
        }
    }
    for i in (1..a.len()).step_by(2) {
        let replaced = ctx
            .ks
            .shard(a.get(i))
            .upsert(string_value(a.get(i + 1)), None);
        let ch = Change::created(!replaced);
        ctx.notify_write(STRING, Some("set"), a.get(i), ch);
    }
    ctx.out.int(1);
    Ok(())
}

/// The body of INCR/DECR/INCRBY/DECRBY: adds `by` to the integer at `key`.
fn add_to_integer(ctx: &mut Ctx<'_>, key: &[u8], by: i64) -> CmdResult {
    let mut s = ctx.ks.shard(key);
    let found = s.find();
    let n = match found {
        Some(i) => {
            let cur = value_int(s.entry(i).value())?;
            let n = cur
                .checked_add(by)
                .ok_or(CmdError::from(errors::OVERFLOW))?;
            s.set_value(i, NewValue::Int(n));
            n
        }
        None => {
            s.insert_new(NewValue::Int(by), None);
            by
        }
    };
    drop(s);
    // INCR, DECR, INCRBY and DECRBY all send `incrby`, as Redis.
    let ch = Change::created(found.is_none());
    ctx.notify_write(STRING, Some("incrby"), key, ch);
    ctx.out.int(n);
    Ok(())
}

fn incr(ctx: &mut Ctx<'_>, a: Args<'_>) -> CmdResult {
    add_to_integer(ctx, a.get(1), 1)
}

fn decr(ctx: &mut Ctx<'_>, a: Args<'_>) -> CmdResult {
    add_to_integer(ctx, a.get(1), -1)
}

fn incrby(ctx: &mut Ctx<'_>, a: Args<'_>) -> CmdResult {
    add_to_integer(ctx, a.get(1), int(a.get(2))?)
}

fn decrby(ctx: &mut Ctx<'_>, a: Args<'_>) -> CmdResult {
    let by = int(a.get(2))?;
    add_to_integer(
        ctx,
        a.get(1),
        by.checked_neg().ok_or(CmdError::from(errors::OVERFLOW))?,
    )
}

/// INCRBYFLOAT key increment
fn incrbyfloat(ctx: &mut Ctx<'_>, a: Args<'_>) -> CmdResult {
    let by = util::float(a.get(2)).ok_or(CmdError::from(errors::NOT_FLOAT))?;
    let mut s = ctx.ks.shard(a.get(1));
    let found = s.find();
    let cur = match found {
        Some(i) => match s.entry(i).value() {
            ValueRef::Int(n) => n as f64,
            ValueRef::Str(b) => util::float(b).ok_or(CmdError::from(errors::NOT_FLOAT))?,
            _ => return Err(errors::WRONGTYPE.into()),
        },
        None => 0.0,
    };
    let n = cur + by;
    if !n.is_finite() {
        return Err(errors::NAN_OR_INF.into());
    }
    let text = shoal_resp::format_double(n);
    let v = NewValue::Str(text.as_bytes());
    match found {
        Some(i) => s.set_value(i, v),
        None => {
            s.insert_new(v, None);
        }
    }
    drop(s);
    let ch = Change::created(found.is_none());
    ctx.notify_write(STRING, Some("incrbyfloat"), a.get(1), ch);
    // The float text, not the increment: replicas must not round differently.
    ctx.propagate_as(&[b"SET", a.get(1), text.as_bytes(), b"KEEPTTL"]);
    ctx.out.bulk(text.as_bytes());
    Ok(())
}

fn max_len(ctx: &Ctx<'_>) -> u64 {
    ctx.shared.config.read().proto_max_bulk_len
}

/// APPEND key value — the new length.
fn append(ctx: &mut Ctx<'_>, a: Args<'_>) -> CmdResult {
    let limit = max_len(ctx);
    let add = a.get(2);
    let mut s = ctx.ks.shard(a.get(1));
    let found = s.find();
    let len = match found {
        Some(i) => {
            let cur = str_len_as_raw(&mut s, i)?;
            if (cur + add.len()) as u64 > limit {
                return Err(errors::STRING_TOO_LONG.into());
            }
            let len = cur + add.len();
            s.str_resize(i, len);
            if let Some(b) = s.str_mut(i) {
                b[cur..].copy_from_slice(add);
            }
            len
        }
        None => {
            s.insert_new(string_value(add), None);
            add.len()
        }
    };
    drop(s);
    let ch = Change::created(found.is_none());
    ctx.notify_write(STRING, Some("append"), a.get(1), ch);
    ctx.out.int(len as i64);
    Ok(())
}

/// STRLEN key
fn strlen(ctx: &mut Ctx<'_>, a: Args<'_>) -> CmdResult {
    let mut s = ctx.ks.shard(a.get(1));
    let n = match s.find() {
        Some(i) if !s.entry(i).value().is_string() => return Err(errors::WRONGTYPE.into()),
        Some(i) => s.entry(i).value().str_len(),
        None => {
            drop(s);
            ctx.notify_keymiss(a.get(1));
            0
        }
    };
    ctx.out.int(n as i64);
    Ok(())
}

/// GETRANGE key start end (and its old name SUBSTR).
fn getrange(ctx: &mut Ctx<'_>, a: Args<'_>) -> CmdResult {
    let (mut start, mut end) = (int(a.get(2))?, int(a.get(3))?);
    let mut s = ctx.ks.shard(a.get(1));
    let Some(i) = s.find() else {
        drop(s);
        ctx.notify_keymiss(a.get(1));
        ctx.out.bulk(b"");
        return Ok(());
    };
    let v = str_bytes(s.entry(i).value())?;
    let len = v.len() as i64;
    if start < 0 && end < 0 && start > end {
        ctx.out.bulk(b"");
        return Ok(());
    }
    if start < 0 {
        start += len;
    }
    if end < 0 {
        end += len;
    }
    start = start.max(0);
    end = end.max(0);
    if end >= len {
        end = len - 1;
    }
    if start > end || len == 0 {
        ctx.out.bulk(b"");
    } else {
        ctx.out.bulk(&v[start as usize..=end as usize]);
    }
    Ok(())
}

/// SETRANGE key offset value — the new length.
fn setrange(ctx: &mut Ctx<'_>, a: Args<'_>) -> CmdResult {
    let offset = int(a.get(2))?;
    if offset < 0 {
        return Err(errors::OFFSET_RANGE.into());
    }
    let offset = offset as usize;
    let val = a.get(3);
    let limit = max_len(ctx);
    let mut s = ctx.ks.shard(a.get(1));
    let found = s.find();
    let cur = match found {
        Some(i) => str_len_as_raw(&mut s, i)?,
        None => 0,
    };
    if val.is_empty() {
        drop(s);
        ctx.out.int(cur as i64);
        return Ok(());
    }
    if (offset as u64).saturating_add(val.len() as u64) > limit {
        return Err(errors::STRING_TOO_LONG.into());
    }
    let len = cur.max(offset + val.len());
    let i = match found {
        Some(i) => {
            s.str_resize(i, len);
            i
        }
        None => s.insert_new(NewValue::Str(&vec![0; len]), None),
    };
    if let Some(b) = s.str_mut(i) {
        b[offset..offset + val.len()].copy_from_slice(val);
    }
    drop(s);
    let ch = Change::created(found.is_none());
    ctx.notify_write(STRING, Some("setrange"), a.get(1), ch);
    ctx.out.int(len as i64);
    Ok(())
}

/// The length of the string at entry `i`, turned into raw bytes first if it is held as an
/// integer (as Redis does before APPEND and SETRANGE). WRONGTYPE for other types.
pub(crate) fn str_len_as_raw(
    s: &mut crate::ctx::Locked<'_, '_>,
    i: usize,
) -> Result<usize, CmdError> {
    match s.entry(i).value() {
        ValueRef::Str(b) => Ok(b.len()),
        ValueRef::Int(n) => {
            let mut buf = itoa::Buffer::new();
            let text = buf.format(n);
            s.set_value(i, NewValue::Str(text.as_bytes()));
            Ok(text.len())
        }
        _ => Err(errors::WRONGTYPE.into()),
    }
}

const W: u32 = WRITE | DENYOOM;
const K1: (i32, i32, i32) = (1, 1, 1);

pub static COMMANDS: &[Spec] = &[
    cmd(
        "get",
        2,
        READONLY | FAST,
        K1,
        Group::String,
        "1.0.0",
        "Returns the string value of a key.",
        get,
    ),
    cmd(
        "set",
        -3,
        W,
        K1,
        Group::String,
        "1.0.0",
        "Sets the string value of a key, ignoring its type.",
        set,
    ),
    cmd(
        "setnx",
        3,
        W | FAST,
        K1,
        Group::String,
        "1.0.0",
        "Set the string value of a key only when the key doesn't exist.",
        setnx,
    ),
    cmd(
        "setex",
        4,
        W,
        K1,
        Group::String,
        "2.0.0",
        "Sets the string value and expiration time of a key.",
        setex,
    ),
    cmd(
        "psetex",
        4,
        W,
        K1,
        Group::String,
        "2.6.0",
        "Sets the string value and expiration time in milliseconds of a key.",
        psetex,
    ),
    cmd(
        "getset",
        3,
        W | FAST,
        K1,
        Group::String,
        "1.0.0",
        "Returns the previous string value of a key after setting it to a new value.",
        getset,
    ),
    cmd(
        "getdel",
        2,
        WRITE | FAST,
        K1,
        Group::String,
        "6.2.0",
        "Returns the string value of a key after deleting the key.",
        getdel,
    ),
    cmd(
        "getex",
        -2,
        WRITE | FAST,
        K1,
        Group::String,
        "6.2.0",
        "Returns the string value of a key after setting its expiration time.",
        getex,
    ),
    cmd(
        "mget",
        -2,
        READONLY | FAST,
        (1, -1, 1),
        Group::String,
        "1.0.0",
        "Atomically returns the string values of one or more keys.",
        mget,
    ),
    cmd(
        "mset",
        -3,
        W,
        (1, -1, 2),
        Group::String,
        "1.0.1",
        "Atomically creates or modifies the string values of one or more keys.",
        mset,
    ),
    cmd(
        "msetnx",
        -3,
        W,
        (1, -1, 2),
        Group::String,
        "1.0.1",
        "Atomically modifies the string values of one or more keys only when all keys don't exist.",
        msetnx,
    ),
    cmd(
        "incr",
        2,
        W | FAST,
        K1,
        Group::String,
        "1.0.0",
        "Increments the integer value of a key by one.",
        incr,
    ),
    cmd(
        "decr",
        2,
        W | FAST,
        K1,
        Group::String,
        "1.0.0",
        "Decrements the integer value of a key by one.",
        decr,
    ),
    cmd(
        "incrby",
        3,
        W | FAST,
        K1,
        Group::String,
        "1.0.0",
        "Increments the integer value of a key by a number.",
        incrby,
    ),
    cmd(
        "decrby",
        3,
        W | FAST,
        K1,
        Group::String,
        "1.0.0",
        "Decrements a number from the integer value of a key.",
        decrby,
    ),
    cmd(
        "incrbyfloat",
        3,
        W | FAST,
        K1,
        Group::String,
        "2.6.0",
        "Increment the floating point value of a key by a number.",
        incrbyfloat,
    ),
    cmd(
        "append",
        3,
        W | FAST,
        K1,
        Group::String,
        "2.0.0",
        "Appends a string to the value of a key.",
        append,
    ),
    cmd(
        "strlen",
        2,
        READONLY | FAST,
        K1,
        Group::String,
        "2.2.0",
        "Returns the length of a string value.",
        strlen,
    ),
    cmd(
        "getrange",
        4,
        READONLY,
        K1,
        Group::String,
        "2.4.0",
        "Returns a substring of the string stored at a key.",
        getrange,
    ),
    cmd(
        "substr",
        4,
        READONLY,
        K1,
        Group::String,
        "1.0.0",
        "Returns a substring from a string value.",
        getrange,
    ),
    cmd(
        "setrange",
        4,
        W,
        K1,
        Group::String,
        "2.2.0",
        "Overwrites a part of a string value with another by an offset.",
        setrange,
    ),
];
