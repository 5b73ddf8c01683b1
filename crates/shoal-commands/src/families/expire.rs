//! TTL commands: EXPIRE family (one body, `expire_generic`), TTL/PTTL, EXPIRETIME/PEXPIRETIME,
//! PERSIST.

use shoal_resp::Args;

use crate::ctx::Ctx;
use crate::errors::{self, CmdResult};
use crate::notify::GENERIC;
use crate::spec::{Group, Spec, cmd, flags::*};
use crate::util::{deadline, eq_ic, int};

/// EXPIRE/PEXPIRE/EXPIREAT/PEXPIREAT key t [NX|XX|GT|LT]
fn expire_generic(
    ctx: &mut Ctx<'_>,
    a: Args<'_>,
    unit: i64,
    absolute: bool,
    name: &str,
) -> CmdResult {
    let n = int(a.get(2))?;
    let (mut nx, mut xx, mut gt, mut lt) = (false, false, false, false);
    for opt in a.iter().skip(3) {
        if eq_ic(opt, "nx") {
            nx = true;
        } else if eq_ic(opt, "xx") {
            xx = true;
        } else if eq_ic(opt, "gt") {
            gt = true;
        } else if eq_ic(opt, "lt") {
            lt = true;
        } else {
            return Err(format!("ERR Unsupported option {}", String::from_utf8_lossy(opt)).into());
        }
    }
    if nx && (xx || gt || lt) {
        return Err(errors::NX_XX_GT_LT.into());
    }
    if gt && lt {
        return Err(errors::GT_LT.into());
    }
    let now = ctx.now();
    let at = deadline(n, unit, absolute, now).ok_or_else(|| errors::invalid_expire(name))?;
    let mut s = ctx.ks.shard(a.get(1));
    let Some(i) = s.find() else {
        drop(s);
        ctx.propagate_nothing();
        ctx.out.int(0);
        return Ok(());
    };
    let cur = s.entry(i).expire_at();
    let ok = if nx {
        cur.is_none()
    } else if xx && cur.is_none() {
        false
    } else if gt {
        // No TTL counts as infinite: nothing is greater.
        cur.is_some_and(|c| at > c as i64)
    } else if lt {
        cur.is_none_or(|c| at < c as i64)
    } else {
        true
    };
    if ok {
        if at <= now as i64 {
            s.remove_at(i);
        } else {
            s.set_expire(i, Some(at as u64));
        }
    }
    drop(s);
    // Replicas get the absolute time (or the deletion it came to).
    let key = a.get(1);
    if ok {
        // A time already past deletes the key: `del`, not `expired`, as Redis.
        let ev = if at <= now as i64 { "del" } else { "expire" };
        ctx.notify(GENERIC, ev, key);
    }
    match (ok, at <= now as i64) {
        (false, _) => ctx.propagate_nothing(),
        (true, true) => ctx.propagate_as(&[b"DEL", key]),
        (true, false) => {
            let at = itoa::Buffer::new().format(at).to_owned();
            ctx.propagate_as(&[b"PEXPIREAT", key, at.as_bytes()]);
        }
    }
    ctx.out.int(ok as i64);
    Ok(())
}

fn expire(ctx: &mut Ctx<'_>, a: Args<'_>) -> CmdResult {
    expire_generic(ctx, a, 1000, false, "expire")
}

fn pexpire(ctx: &mut Ctx<'_>, a: Args<'_>) -> CmdResult {
    expire_generic(ctx, a, 1, false, "pexpire")
}

fn expireat(ctx: &mut Ctx<'_>, a: Args<'_>) -> CmdResult {
    expire_generic(ctx, a, 1000, true, "expireat")
}

fn pexpireat(ctx: &mut Ctx<'_>, a: Args<'_>) -> CmdResult {
    expire_generic(ctx, a, 1, true, "pexpireat")
}

/// What the TTL-reading commands print.
#[derive(Clone, Copy)]
enum TtlView {
    RelativeSecs,
    RelativeMs,
    AbsoluteSecs,
    AbsoluteMs,
}

/// TTL/PTTL/EXPIRETIME/PEXPIRETIME: -2 when the key is missing, -1 without a TTL.
fn ttl_generic(ctx: &mut Ctx<'_>, a: Args<'_>, view: TtlView) -> CmdResult {
    let now = ctx.now();
    let mut s = ctx.ks.shard(a.get(1));
    let r = match s.peek() {
        None => -2,
        Some(i) => match s.entry(i).expire_at() {
            None => -1,
            Some(at) => {
                let left = at.saturating_sub(now) as i64;
                match view {
                    TtlView::RelativeSecs => (left + 500) / 1000,
                    TtlView::RelativeMs => left,
                    TtlView::AbsoluteSecs => at as i64 / 1000,
                    TtlView::AbsoluteMs => at as i64,
                }
            }
        },
    };
    drop(s);
    if r == -2 {
        ctx.notify_keymiss(a.get(1));
    }
    ctx.out.int(r);
    Ok(())
}

fn ttl(ctx: &mut Ctx<'_>, a: Args<'_>) -> CmdResult {
    ttl_generic(ctx, a, TtlView::RelativeSecs)
}

fn pttl(ctx: &mut Ctx<'_>, a: Args<'_>) -> CmdResult {
    ttl_generic(ctx, a, TtlView::RelativeMs)
}

fn expiretime(ctx: &mut Ctx<'_>, a: Args<'_>) -> CmdResult {
    ttl_generic(ctx, a, TtlView::AbsoluteSecs)
}

fn pexpiretime(ctx: &mut Ctx<'_>, a: Args<'_>) -> CmdResult {
    ttl_generic(ctx, a, TtlView::AbsoluteMs)
}

/// PERSIST key — 1 if a TTL was removed.
fn persist(ctx: &mut Ctx<'_>, a: Args<'_>) -> CmdResult {
    let mut s = ctx.ks.shard(a.get(1));
    let done = match s.find() {
        Some(i) if s.entry(i).expire_at().is_some() => {
            s.set_expire(i, None);
            true
        }
        _ => false,
    };
    drop(s);
    if done {
        ctx.notify(GENERIC, "persist", a.get(1));
    }
    ctx.out.int(done as i64);
    Ok(())
}

const K1: (i32, i32, i32) = (1, 1, 1);

pub static COMMANDS: &[Spec] = &[
    cmd(
        "expire",
        -3,
        WRITE | FAST,
        K1,
        Group::Generic,
        "1.0.0",
        "Sets the expiration time of a key in seconds.",
        expire,
    ),
    cmd(
        "pexpire",
        -3,
        WRITE | FAST,
        K1,
        Group::Generic,
        "2.6.0",
        "Sets the expiration time of a key in milliseconds.",
        pexpire,
    ),
    cmd(
        "expireat",
        -3,
        WRITE | FAST,
        K1,
        Group::Generic,
        "1.2.0",
        "Sets the expiration time of a key to a Unix timestamp.",
        expireat,
    ),
    cmd(
        "pexpireat",
        -3,
        WRITE | FAST,
        K1,
        Group::Generic,
        "2.6.0",
        "Sets the expiration time of a key to a Unix milliseconds timestamp.",
        pexpireat,
    ),
    cmd(
        "ttl",
        2,
        READONLY | FAST,
        K1,
        Group::Generic,
        "1.0.0",
        "Returns the expiration time in seconds of a key.",
        ttl,
    ),
    cmd(
        "pttl",
        2,
        READONLY | FAST,
        K1,
        Group::Generic,
        "2.6.0",
        "Returns the expiration time in milliseconds of a key.",
        pttl,
    ),
    cmd(
        "expiretime",
        2,
        READONLY | FAST,
        K1,
        Group::Generic,
        "7.0.0",
        "Returns the expiration time of a key as a Unix timestamp.",
        expiretime,
    ),
    cmd(
        "pexpiretime",
        2,
        READONLY | FAST,
        K1,
        Group::Generic,
        "7.0.0",
        "Returns the expiration time of a key as a Unix milliseconds timestamp.",
        pexpiretime,
    ),
    cmd(
        "persist",
        2,
        WRITE | FAST,
        K1,
        Group::Generic,
        "2.2.0",
        "Removes the expiration time of a key.",
        persist,
    ),
];
