//! HyperLogLog commands: PFADD, PFCOUNT, PFMERGE, PFDEBUG, PFSELFTEST, over string values in
//! Redis's own representation (see `crate::hll`).

use shoal_resp::Args;
use shoal_store::{NewValue, ValueRef};

use crate::ctx::Ctx;
use crate::errors::{CmdError, CmdResult};
use crate::hll::{self, Corrupt};
use crate::notify::{Change, STRING};
use crate::spec::{Group, Spec, cmd, flags::*};
use crate::util::eq_ic;

impl From<Corrupt> for CmdError {
    fn from(_: Corrupt) -> Self {
        hll::INVALID_OBJ.into()
    }
}

/// The bytes of a value holding a valid HLL; Redis's errors otherwise.
fn hll_bytes(v: ValueRef<'_>) -> Result<&[u8], CmdError> {
    match v {
        ValueRef::Str(b) if hll::is_valid(b) => Ok(b),
        // An integer-encoded string is never an HLL.
        ValueRef::Str(_) | ValueRef::Int(_) => Err(hll::NOT_HLL.into()),
        _ => Err(crate::errors::WRONGTYPE.into()),
    }
}

fn sparse_max(ctx: &Ctx<'_>) -> u64 {
    ctx.shared.config.read().hll_sparse_max_bytes
}

/// PFADD key [element ...] — 1 if a register changed (or the key was created), else 0.
fn pfadd(ctx: &mut Ctx<'_>, a: Args<'_>) -> CmdResult {
    let key = a.get(1);
    let max_bytes = sparse_max(ctx);
    let mut s = ctx.ks.shard(key);
    let found = s.find();
    let mut updated = 0usize;
    let mut failed = None;
    match found {
        None => {
            let mut v = hll::new_sparse();
            updated += 1;
            for e in a.iter().skip(2) {
                match hll::add(&mut v, e, max_bytes) {
                    Ok(true) => updated += 1,
                    Ok(false) => {}
                    Err(c) => {
                        failed = Some(c);
                        break;
                    }
                }
            }
            hll::invalidate_cache(&mut v);
            s.insert_new(NewValue::Str(&v), None);
        }
        Some(i) => {
            let cur = hll_bytes(s.entry(i).value())?;
            if hll::encoding(cur) == hll::DENSE {
                // In place; only touched (and WATCH fired) if a register grows.
                let regs = &cur[hll::HDR_SIZE..];
                let changes = a.iter().skip(2).any(|e| {
                    let (idx, cnt) = hll::pat_len(e);
                    cnt > hll::dense_get(regs, idx)
                });
                if changes && let Some(b) = s.str_mut(i) {
                    for e in a.iter().skip(2) {
                        let (idx, cnt) = hll::pat_len(e);
                        if hll::dense_set(&mut b[hll::HDR_SIZE..], idx, cnt) {
                            updated += 1;
                        }
                    }
                    hll::invalidate_cache(b);
                }
            } else {
                let mut v = cur.to_vec();
                let mut touched = false;
                for e in a.iter().skip(2) {
                    match hll::add(&mut v, e, max_bytes) {
                        Ok(true) => {
                            updated += 1;
                            touched = true;
                        }
                        Ok(false) => {}
                        Err(c) => {
                            failed = Some(c);
                            break;
                        }
                    }
                }
                if touched {
                    if failed.is_none() {
                        hll::invalidate_cache(&mut v);
                    }
                    s.set_value(i, NewValue::Str(&v));
                }
            }
        }
    }
    drop(s);
    if let Some(c) = failed {
        return Err(c.into());
    }
    if updated > 0 {
        ctx.notify_write(STRING, Some("pfadd"), key, Change::created(found.is_none()));
    } else {
        ctx.propagate_nothing();
    }
    ctx.out.int((updated > 0) as i64);
    Ok(())
}

/// PFCOUNT key [key ...] — the estimated cardinality (of the union for several keys). One key's
/// estimate is cached in its header, as Redis does (and that change replicates).
fn pfcount(ctx: &mut Ctx<'_>, a: Args<'_>) -> CmdResult {
    ctx.propagate_nothing();
    // Read lookups: a writable replica hides (does not delete) an expired key here.
    let _read = shoal_store::shard::ReadLookups::begin();
    if a.len() > 2 {
        let mut max = Box::new([0u8; hll::REGISTERS]);
        for key in a.iter().skip(1) {
            let mut s = ctx.ks.shard(key);
            let Some(i) = s.find() else {
                drop(s);
                ctx.hit(false);
                ctx.notify_keymiss(key);
                continue;
            };
            let r = hll_bytes(s.entry(i).value())
                .and_then(|b| hll::merge(&mut max, b).map_err(CmdError::from));
            drop(s);
            ctx.hit(true);
            r?;
        }
        ctx.out.int(hll::count_raw(&max) as i64);
        return Ok(());
    }
    let key = a.get(1);
    let mut s = ctx.ks.shard(key);
    let Some(i) = s.find() else {
        drop(s);
        ctx.hit(false);
        ctx.notify_keymiss(key);
        ctx.out.int(0);
        return Ok(());
    };
    let r = hll_bytes(s.entry(i).value()).map(|b| match hll::cached(b) {
        Some(c) => Ok((c, false)),
        None => hll::count(b).map(|c| (c, true)),
    });
    let card = match r {
        Ok(Ok((c, recomputed))) => {
            if recomputed && let Some(b) = s.str_mut(i) {
                hll::set_cached(b, c);
            }
            Ok((c, recomputed))
        }
        Ok(Err(c)) => Err(CmdError::from(c)),
        Err(e) => Err(e),
    };
    drop(s);
    ctx.hit(true);
    let (card, recomputed) = card?;
    if recomputed && ctx.replicating() {
        // The cache update reaches replicas as the command itself.
        ctx.client.prop = None;
    }
    ctx.out.int(card as i64);
    Ok(())
}

/// PFMERGE destkey [sourcekey ...]
fn pfmerge(ctx: &mut Ctx<'_>, a: Args<'_>) -> CmdResult {
    let max_bytes = sparse_max(ctx);
    let mut max = Box::new([0u8; hll::REGISTERS]);
    let mut use_dense = false;
    for key in a.iter().skip(1) {
        let mut s = ctx.ks.shard(key);
        let Some(i) = s.find() else {
            drop(s);
            ctx.hit(false);
            ctx.notify_keymiss(key);
            continue;
        };
        let r = hll_bytes(s.entry(i).value()).and_then(|b| {
            use_dense |= hll::encoding(b) == hll::DENSE;
            hll::merge(&mut max, b).map_err(CmdError::from)
        });
        drop(s);
        ctx.hit(true);
        r?;
    }
    let key = a.get(1);
    let mut s = ctx.ks.shard(key);
    let found = s.find();
    let mut v = match found {
        // Checked above (the destination is one of the inputs).
        Some(i) => match s.entry(i).value() {
            ValueRef::Str(b) => b.to_vec(),
            _ => return Err(crate::errors::WRONGTYPE.into()),
        },
        None => hll::new_sparse(),
    };
    let converted = if use_dense {
        hll::sparse_to_dense(&v)
    } else {
        Ok(std::mem::take(&mut v))
    };
    let mut v = match converted {
        Ok(v) => v,
        Err(c) => {
            if found.is_none() {
                // Redis has created the key by then.
                s.insert_new(NewValue::Str(&v), None);
            }
            return Err(c.into());
        }
    };
    for (j, &m) in max.iter().enumerate() {
        if m == 0 {
            continue;
        }
        if hll::encoding(&v) == hll::DENSE {
            hll::dense_set(&mut v[hll::HDR_SIZE..], j, m);
        } else {
            // Redis ignores a failure here: the destination was validated as an input.
            let _ = hll::sparse_set(&mut v, j, m, max_bytes);
        }
    }
    hll::invalidate_cache(&mut v);
    match found {
        Some(i) => s.set_value(i, NewValue::Str(&v)),
        None => {
            s.insert_new(NewValue::Str(&v), None);
        }
    }
    drop(s);
    ctx.notify_write(STRING, Some("pfadd"), key, Change::created(found.is_none()));
    ctx.out.ok();
    Ok(())
}

/// PFSELFTEST
fn pfselftest(ctx: &mut Ctx<'_>, _a: Args<'_>) -> CmdResult {
    let max_bytes = sparse_max(ctx);
    hll::selftest(max_bytes).map_err(CmdError::from)?;
    ctx.out.ok();
    Ok(())
}

/// PFDEBUG GETREG|DECODE|ENCODING|TODENSE key
fn pfdebug(ctx: &mut Ctx<'_>, a: Args<'_>) -> CmdResult {
    let sub = a.get(1);
    let key = a.get(2);
    let mut s = ctx.ks.shard(key);
    let Some(i) = s.find() else {
        return Err("ERR The specified key does not exist".into());
    };
    let cur = hll_bytes(s.entry(i).value())?;
    let sparse = hll::encoding(cur) == hll::SPARSE;
    if eq_ic(sub, "getreg") || eq_ic(sub, "todense") {
        let dense = if sparse {
            let d = hll::sparse_to_dense(cur)?;
            s.set_value(i, NewValue::Str(&d));
            d
        } else {
            cur.to_vec()
        };
        drop(s);
        if !sparse {
            ctx.propagate_nothing();
        }
        if eq_ic(sub, "getreg") {
            ctx.out.array(hll::REGISTERS);
            for j in 0..hll::REGISTERS {
                ctx.out
                    .int(hll::dense_get(&dense[hll::HDR_SIZE..], j) as i64);
            }
        } else {
            ctx.out.int(sparse as i64);
        }
        return Ok(());
    }
    if eq_ic(sub, "decode") {
        if !sparse {
            return Err("ERR HLL encoding is not sparse".into());
        }
        let text = hll::decode(cur);
        drop(s);
        ctx.propagate_nothing();
        ctx.out.bulk(text.as_bytes());
        return Ok(());
    }
    if eq_ic(sub, "encoding") {
        drop(s);
        ctx.propagate_nothing();
        ctx.out.simple(if sparse {
            &b"sparse"[..]
        } else {
            &b"dense"[..]
        });
        return Ok(());
    }
    Err(format!(
        "ERR Unknown PFDEBUG subcommand '{}'",
        String::from_utf8_lossy(sub)
    )
    .into())
}

pub static COMMANDS: &[Spec] = &[
    cmd(
        "pfadd",
        -2,
        WRITE | DENYOOM | FAST,
        (1, 1, 1),
        Group::HyperLogLog,
        "2.8.9",
        "Adds elements to a HyperLogLog key. Creates the key if it doesn't exist.",
        pfadd,
    ),
    // Flagged may-replicate (Redis 7.0 shows only `readonly`): updating the cached estimate
    // replicates, and CLIENT PAUSE WRITE holds it back, as in Redis.
    cmd(
        "pfcount",
        -2,
        READONLY | MAY_REPLICATE,
        (1, -1, 1),
        Group::HyperLogLog,
        "2.8.9",
        "Returns the approximated cardinality of the set(s) observed by the HyperLogLog key(s).",
        pfcount,
    ),
    cmd(
        "pfmerge",
        -2,
        WRITE | DENYOOM,
        (1, -1, 1),
        Group::HyperLogLog,
        "2.8.9",
        "Merges one or more HyperLogLog values into a single key.",
        pfmerge,
    ),
    cmd(
        "pfdebug",
        3,
        WRITE | DENYOOM | ADMIN,
        (2, 2, 1),
        Group::HyperLogLog,
        "2.8.9",
        "Internal commands for debugging HyperLogLog values.",
        pfdebug,
    ),
    cmd(
        "pfselftest",
        1,
        ADMIN,
        (0, 0, 0),
        Group::HyperLogLog,
        "2.8.9",
        "An internal command for testing HyperLogLog values.",
        pfselftest,
    ),
];
