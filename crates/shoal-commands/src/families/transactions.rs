//! MULTI, EXEC, DISCARD, WATCH, UNWATCH.
//!
//! EXEC is atomic with respect to other clients: before running anything it locks, in one go
//! and in order, every shard its queued commands (and the client's watched keys) touch — or every
//! shard when a queued command walks the whole keyspace — and holds them to the end.

use std::sync::atomic::Ordering;

use shoal_resp::Args;
use shoal_store::{LockSet, ShardId};

use crate::ctx::{Ctx, Multi};
use crate::dispatch::{lock_plan, run};
use crate::errors::{self, CmdResult};
use crate::spec::{Group, Spec, cmd, flags::*, table};

/// MULTI
fn multi(ctx: &mut Ctx<'_>, _a: Args<'_>) -> CmdResult {
    if ctx.client.multi.is_some() || ctx.in_exec {
        return Err(errors::MULTI_NESTED.into());
    }
    ctx.client.multi = Some(Multi::default());
    ctx.client.info.multi.store(true, Ordering::Relaxed);
    ctx.out.ok();
    Ok(())
}

/// DISCARD
fn discard(ctx: &mut Ctx<'_>, _a: Args<'_>) -> CmdResult {
    if ctx.client.multi.take().is_none() {
        return Err(errors::DISCARD_WITHOUT_MULTI.into());
    }
    ctx.client.info.multi.store(false, Ordering::Relaxed);
    ctx.client.unwatch_all(&ctx.shared.store);
    ctx.out.ok();
    Ok(())
}

/// EXEC
fn exec(ctx: &mut Ctx<'_>, _a: Args<'_>) -> CmdResult {
    let Some(m) = ctx.client.multi.take() else {
        return Err(errors::EXEC_WITHOUT_MULTI.into());
    };
    ctx.client.info.multi.store(false, Ordering::Relaxed);
    if m.failed {
        ctx.client.unwatch_all(&ctx.shared.store);
        return Err(errors::EXECABORT.into());
    }
    let store = &ctx.shared.store;
    // Lock plan: every shard touched, with the database each command will run in.
    let mut ids: Vec<ShardId> = Vec::new();
    let mut global = false;
    let mut db = ctx.client.db;
    for (idx, args) in &m.queued {
        let spec = table().specs[*idx];
        let a = args.args();
        // A script may reach any key: a transaction holding one holds every shard.
        if !lock_plan(ctx.shared, db, spec, &a, &mut ids)
            || matches!(spec.group, crate::spec::Group::Scripting)
        {
            global = true;
        }
        if spec.name == "select"
            && let Some(n) = shoal_resp::parse_i64(a.get(1))
            && n >= 0
            && (n as usize) < store.databases()
        {
            db = n as usize;
        }
    }
    for (wdb, key, _) in &ctx.client.watched {
        ids.push(store.shard_id(*wdb, key, store.hash(key)));
    }
    if global {
        ids = store.all_shards().collect();
    }
    ctx.ks.locks = LockSet::acquire(store, &mut ids);
    // WATCH: a change signalled by the store, or a key alive at WATCH time that has expired since.
    let now = ctx.ks.now;
    let mut dirty = ctx.client.dirty.load(Ordering::Acquire);
    if !dirty {
        for (wdb, key, existed) in &ctx.client.watched {
            if *existed {
                let h = store.hash(key);
                let s = ctx.ks.shard_at(store.shard_id(*wdb, key, h));
                if s.find_raw(h, key)
                    .is_some_and(|i| s.entry(i).is_expired(now))
                {
                    dirty = true;
                    break;
                }
            }
        }
    }
    if dirty {
        ctx.ks.locks = LockSet::empty();
        ctx.client.unwatch_all(store);
        ctx.out.null_array();
        return Ok(());
    }
    ctx.out.array(m.queued.len());
    ctx.in_exec = true;
    for (idx, args) in &m.queued {
        let spec = table().specs[*idx];
        // ACL rules may have changed since the command was queued (Redis checks again).
        if let Err((d, _)) = crate::acl::check_client(
            ctx.shared,
            ctx.client,
            *idx,
            spec,
            &args.args(),
            Some(crate::acl::Context::Multi),
        ) {
            let e = crate::errors::CmdError::from(format!(
                "NOPERM ACLs rules changed between the moment the transaction was accumulated and the EXEC call. This command is no longer allowed for the following reason: {}",
                crate::acl::exec_denied_reason(d)
            ));
            crate::dispatch::write_error(ctx.shared, ctx.out, &e);
            continue;
        }
        run(ctx, *idx, spec, args.args());
    }
    ctx.in_exec = false;
    // The transaction's writes reach replicas as one transaction.
    let body = std::mem::take(&mut ctx.client.exec_prop);
    if !body.is_empty() {
        let repl = &ctx.shared.repl;
        let mut out = Vec::with_capacity(body.len() + 32);
        crate::repl::encode(&mut out, &[b"MULTI"]);
        out.extend_from_slice(&body);
        crate::repl::encode(&mut out, &[b"EXEC"]);
        repl.feed(&out);
        ctx.client.woff = repl.offset.load(Ordering::Relaxed);
    }
    // Release before unwatching: UNWATCH takes shard locks of its own.
    ctx.ks.locks = LockSet::empty();
    ctx.client.unwatch_all(store);
    Ok(())
}

/// WATCH key [key ...]
fn watch(ctx: &mut Ctx<'_>, a: Args<'_>) -> CmdResult {
    if ctx.client.multi.is_some() || ctx.in_exec {
        return Err(errors::WATCH_IN_MULTI.into());
    }
    for key in a.iter().skip(1) {
        if ctx
            .client
            .watched
            .iter()
            .any(|(d, k, _)| *d == ctx.ks.db && **k == *key)
        {
            continue;
        }
        let flag = ctx.client.dirty.clone();
        let mut s = ctx.ks.shard(key);
        let existed = s.peek().is_some();
        s.watch(key, &flag);
        drop(s);
        ctx.client.watched.push((ctx.ks.db, key.into(), existed));
    }
    ctx.client
        .info
        .watching
        .store(ctx.client.watched.len(), Ordering::Relaxed);
    ctx.out.ok();
    Ok(())
}

/// UNWATCH
fn unwatch(ctx: &mut Ctx<'_>, _a: Args<'_>) -> CmdResult {
    // Inside EXEC the shards are locked by this very thread; EXEC unwatches when it is done.
    if !ctx.in_exec {
        ctx.client.unwatch_all(&ctx.shared.store);
    }
    ctx.out.ok();
    Ok(())
}

const NOKEY: (i32, i32, i32) = (0, 0, 0);

pub static COMMANDS: &[Spec] = &[
    cmd(
        "multi",
        1,
        NOSCRIPT | LOADING | STALE | FAST | ALLOW_BUSY,
        NOKEY,
        Group::Transactions,
        "1.2.0",
        "Starts a transaction.",
        multi,
    ),
    cmd(
        "exec",
        1,
        NOSCRIPT | LOADING | STALE | SKIP_SLOWLOG,
        NOKEY,
        Group::Transactions,
        "1.2.0",
        "Executes all commands in a transaction.",
        exec,
    ),
    cmd(
        "discard",
        1,
        NOSCRIPT | LOADING | STALE | FAST | ALLOW_BUSY,
        NOKEY,
        Group::Transactions,
        "2.0.0",
        "Discards a transaction.",
        discard,
    ),
    cmd(
        "watch",
        -2,
        NOSCRIPT | LOADING | STALE | FAST | ALLOW_BUSY,
        (1, -1, 1),
        Group::Transactions,
        "2.2.0",
        "Monitors changes to keys to determine the execution of a transaction.",
        watch,
    ),
    cmd(
        "unwatch",
        1,
        NOSCRIPT | LOADING | STALE | FAST | ALLOW_BUSY,
        NOKEY,
        Group::Transactions,
        "2.2.0",
        "Forgets about watched keys of a transaction.",
        unwatch,
    ),
];
