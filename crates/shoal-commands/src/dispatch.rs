//! The guard pipeline every command goes through, top to bottom:
//! lookup -> arity -> auth -> MULTI queueing -> locks -> handler -> stats -> reply mode.

use shoal_resp::{Args, Reply};
use shoal_store::{LockSet, ShardId};

use crate::ctx::{Client, Ctx, Keyspace, ReplyMode, Shared};
use crate::errors::{self, CmdError};
use crate::spec::{Group, Locking, Spec, flags, table};
use shoal_cluster::Route;

/// Runs one parsed command for `client`, appending its reply to `out`.
pub fn dispatch(shared: &Shared, client: &mut Client, out: &mut Reply, args: Args<'_>, now: u64) {
    if args.is_empty() {
        return;
    }
    let mode_before = client.reply_mode;
    let mark = out.len();
    dispatch_inner(shared, client, out, args, now);
    apply_reply_mode(client, out, mode_before, mark);
    if !client.deferred.is_empty() {
        // Invalidations of the client's own keys: after its reply, even under CLIENT REPLY OFF.
        out.buf.append(&mut client.deferred);
    }
}

fn dispatch_inner(shared: &Shared, client: &mut Client, out: &mut Reply, args: Args<'_>, now: u64) {
    let name = args.get(0);
    // Pipelines repeat one command: try the previous one before the table lookup.
    let cached = table()
        .specs
        .get(client.last_cmd)
        .filter(|s| s.name.as_bytes().eq_ignore_ascii_case(name));
    let (idx, spec) = match cached {
        Some(s) => (client.last_cmd, *s),
        None => match table().lookup(name) {
            Some(found) => found,
            None if name.eq_ignore_ascii_case(b"post") || name.eq_ignore_ascii_case(b"host:") => {
                // An HTTP request: someone is trying cross-protocol scripting. Redis closes
                // such connections without a reply.
                tracing::warn!(
                    "Possible SECURITY ATTACK detected. It looks like somebody is sending POST or Host: commands to Redis. This is likely due to an attacker attempting to use Cross Protocol Scripting to compromise your Redis instance. Connection aborted."
                );
                client.close = true;
                return;
            }
            None => {
                let e = errors::unknown_command(name, args.iter().skip(1));
                reject(shared, client, out, None, e);
                return;
            }
        },
    };
    client.last_cmd = idx;
    if !spec.arity_ok(args.len()) {
        reject(shared, client, out, Some(idx), errors::arity(spec.name));
        return;
    }
    if !client.authenticated && !spec.has(flags::NO_AUTH) {
        reject(shared, client, out, Some(idx), errors::NOAUTH.into());
        return;
    }
    // ACL: one flag for an all-permissive user (the default one, unless restricted).
    if let Err((d, name)) = crate::acl::check_client(shared, client, idx, spec, &args, None) {
        // Redis looks a container's subcommand up before ACL: an unknown one is that error,
        // not a denial (and leaves no ACL LOG entry).
        let e = if crate::acl::unknown_subcommand(spec, &args) {
            errors::unknown_subcommand(args.get(1), spec.name)
        } else {
            crate::acl::denied_error(d, &name).into()
        };
        reject(shared, client, out, Some(idx), e);
        return;
    }
    // Persistence: while the dataset loads only commands flagged `loading` run; after a
    // failed save (stop-writes-on-bgsave-error) writes are refused. One load when neither.
    let gate = shared
        .persist
        .gate
        .load(std::sync::atomic::Ordering::Relaxed);
    if gate != 0
        && !client.is_master
        && let Some(e) = persist_refusal(gate, spec)
    {
        reject(shared, client, out, Some(idx), e.into());
        return;
    }
    // A script has run past busy-reply-threshold: only what can end it (or is harmless) runs.
    if shared
        .scripts
        .busy
        .load(std::sync::atomic::Ordering::Relaxed)
        && !client.is_master
        && !allowed_while_busy(spec, &args)
    {
        let e = shared.scripts.busy_error();
        reject(shared, client, out, Some(idx), e.into());
        return;
    }
    // A keyed command on a slot that is moving: its keys are checked under their locks below.
    let mut moving: Option<Route> = None;
    if let Some(cl) = shared.cluster.as_ref().filter(|_| !client.is_master) {
        // ASKING holds for the one command after it.
        let asking = std::mem::take(&mut client.asking) || spec.name == "restore-asking";
        match cluster_route(shared, cl, client, spec, &args, asking) {
            Ok(check) => moving = check,
            Err(e) => {
                if spec.name == "exec" {
                    client.multi = None;
                    client
                        .info
                        .multi
                        .store(false, std::sync::atomic::Ordering::Relaxed);
                }
                reject(shared, client, out, Some(idx), e);
                return;
            }
        }
    }
    if !client.is_master
        && crate::memory::over_limit(shared)
        && !crate::memory::make_room(shared, now)
        && refused_when_out_of_memory(client, spec)
    {
        reject(shared, client, out, Some(idx), errors::OOM.into());
        return;
    }
    // min-replicas-to-write: a primary without enough good replicas takes no writes.
    if shared
        .repl
        .min_to_write
        .load(std::sync::atomic::Ordering::Relaxed)
        != 0
        && is_write(client, spec)
        && shared.repl.lacks_good_replicas()
    {
        reject(shared, client, out, Some(idx), errors::NOREPLICAS.into());
        return;
    }
    // A replica takes writes from its primary only (replica-read-only yes).
    if spec.has(flags::WRITE)
        && !client.is_master
        && shared
            .repl
            .replica
            .load(std::sync::atomic::Ordering::Relaxed)
        && shared.config.read().replica_read_only
    {
        reject(shared, client, out, Some(idx), errors::READONLY.into());
        return;
    }
    // A RESP2 connection in pub/sub mode takes subscription commands only (RESP3 takes any).
    if client.push
        && !out.resp3()
        && client.in_pubsub()
        && !matches!(
            spec.name,
            "ping"
                | "subscribe"
                | "ssubscribe"
                | "unsubscribe"
                | "sunsubscribe"
                | "psubscribe"
                | "punsubscribe"
                | "quit"
                | "reset"
        )
    {
        let e = format!(
            "ERR Can't execute '{}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context",
            full_name(spec, &args)
        );
        reject(shared, client, out, Some(idx), e.into());
        return;
    }
    if client.multi.is_some() && spec.has(flags::NO_MULTI) {
        reject(shared, client, out, Some(idx), errors::NOT_IN_MULTI.into());
        return;
    }
    if let Some(multi) = client.multi.as_mut()
        && !matches!(
            spec.name,
            "exec" | "discard" | "multi" | "watch" | "quit" | "reset"
        )
    {
        multi.queued.push((idx, args.to_owned()));
        out.simple(b"QUEUED");
        return;
    }
    // A write (EXEC of writes included) runs under replication's write guard, taken before
    // any shard lock (see `repl`).
    let writes = !client.is_master
        && (may_write(shared, spec, &args)
            || (client.multi.is_some() && exec_writes(shared, client, spec)));
    let guard = writes.then(|| shared.repl.enter_write());
    // CLIENT PAUSE, or this primary handing over in a manual failover: the command waits.
    // Checked under the write guard, so a pause that took the replication lock once is seen
    // by every write after it.
    if shared.pause.any()
        && !client.is_master
        && let Some(until) = shared.pause.until(writes, now)
    {
        client.paused = Some(until);
        return;
    }
    // Expired keys a write meets are deleted by it (and logged for the stream) only where
    // lookups otherwise just hide them: with replicas attached, or on a writable replica.
    let in_write = guard.as_ref().is_some_and(|g| g.locked())
        || (writes
            && shared
                .repl
                .replica
                .load(std::sync::atomic::Ordering::Relaxed));
    if in_write {
        shoal_store::shard::set_in_write(true);
    }
    // Commands naming several shards take their locks together, in order, up front; a single-key
    // or keyless command locks its shard inside the handler.
    let several = match spec.locking {
        Locking::Keys => {
            spec.numkeys.is_some()
                || spec.key_range.is_some()
                || spec.several_keys(args.len())
                || moving.is_some()
        }
        Locking::Custom(_) => true,
        Locking::Nothing | Locking::Global => false,
    };
    let locks = if several {
        let mut ids = Vec::new();
        lock_plan(shared, client.db, spec, &args, &mut ids);
        LockSet::acquire(&shared.store, &mut ids)
    } else {
        LockSet::empty()
    };
    let db = client.db;
    let mut ctx = Ctx {
        shared,
        client,
        out,
        ks: Keyspace {
            store: &shared.store,
            locks,
            db,
            now,
        },
        in_exec: false,
    };
    match moving.map(|m| moving_slot_check(&mut ctx, m, spec, &args)) {
        Some(Err(e)) => reject(shared, ctx.client, ctx.out, Some(idx), e),
        _ => run(&mut ctx, idx, spec, args),
    }
    if in_write {
        shoal_store::shard::set_in_write(false);
    }
    drop(guard);
}

/// Commands a client may run while a script is busy (Redis's `allow-busy`).
fn allowed_while_busy(spec: &Spec, args: &Args<'_>) -> bool {
    if spec.has(flags::ALLOW_BUSY) {
        return true;
    }
    let sub = |s: &str| args.len() > 1 && args.get(1).eq_ignore_ascii_case(s.as_bytes());
    match spec.name {
        "script" => sub("kill"),
        "function" => sub("kill") || sub("stats"),
        "shutdown" | "auth" | "hello" | "quit" | "reset" => true,
        "client" => sub("kill") || sub("unpause") || sub("reply") || sub("setname"),
        _ => false,
    }
}

/// A write or may-replicate command; a script only if its declared flags allow writes.
fn may_write(shared: &Shared, spec: &Spec, args: &Args<'_>) -> bool {
    spec.has(flags::WRITE | flags::MAY_REPLICATE)
        && (spec.group != Group::Scripting
            || crate::families::scripting::may_write(shared, spec.name, args))
}

/// A command cluster routing sends to the primary: a write, or a script that declares it may
/// write.
fn routes_as_write(shared: &Shared, spec: &Spec, args: &Args<'_>) -> bool {
    spec.has(flags::WRITE)
        || (spec.group == Group::Scripting
            && crate::families::scripting::routes_as_write(shared, spec.name, args))
}

/// EXEC of a transaction holding a write.
fn exec_writes(shared: &Shared, client: &Client, spec: &Spec) -> bool {
    client.multi.as_ref().is_some_and(|m| {
        spec.name == "exec"
            && m.queued
                .iter()
                .any(|(i, q)| may_write(shared, table().specs[*i], &q.args()))
    })
}

/// `name` or `container|sub`, as Redis's error texts name a command.
fn full_name(spec: &Spec, args: &Args<'_>) -> String {
    match spec.sub_index(args).and_then(|i| spec.subs.get(i)) {
        Some(sub) => format!("{}|{sub}", spec.name),
        None => spec.name.to_string(),
    }
}

/// A write command, or EXEC of a transaction holding one (Redis's `is_write_command`).
fn is_write(client: &Client, spec: &Spec) -> bool {
    spec.has(flags::WRITE)
        || (spec.name == "exec"
            && client.multi.as_ref().is_some_and(|m| {
                m.queued
                    .iter()
                    .any(|(i, _)| table().specs[*i].has(flags::WRITE))
            }))
}

/// With memory over `maxmemory` and nothing left to evict, Redis refuses commands that may
/// allocate (`denyoom`, EXEC of a transaction holding one) and, inside MULTI, any command but
/// EXEC, DISCARD, QUIT and RESET (queueing itself takes memory).
fn refused_when_out_of_memory(client: &Client, spec: &Spec) -> bool {
    if spec.has(flags::DENYOOM) {
        return true;
    }
    match &client.multi {
        Some(m) if spec.name == "exec" => m
            .queued
            .iter()
            .any(|(i, _)| table().specs[*i].has(flags::DENYOOM)),
        Some(_) => !matches!(spec.name, "discard" | "quit" | "reset"),
        None => false,
    }
}

/// A command served on a slot that is moving, checked with its keys' locks held (so MIGRATE,
/// which takes them too, cannot move a key between the check and the command), as Redis's
/// getNodeByQuery: on the source, keys all here run, none here is `-ASK` to the target, some
/// here is `-TRYAGAIN`; on the target (after ASKING), several keys must all be here.
/// EXEC's keys are checked one lock at a time.
fn moving_slot_check(
    ctx: &mut Ctx<'_>,
    moving: Route,
    spec: &Spec,
    args: &Args<'_>,
) -> Result<(), CmdError> {
    let mut keys: Vec<Vec<u8>> = Vec::new();
    if spec.name == "exec" {
        for (i, queued) in ctx.client.multi.iter().flat_map(|m| m.queued.iter()) {
            let qs = table().specs[*i];
            let qa = queued.args();
            keys.extend(qs.all_keys(&qa).map(|p| qa.get(p).to_vec()));
        }
    } else {
        keys.extend(spec.all_keys(args).map(|p| args.get(p).to_vec()));
    }
    keys.sort_unstable();
    keys.dedup();
    let present = keys
        .iter()
        .filter(|k| ctx.ks.shard(k).peek().is_some())
        .count();
    let missing = keys.len() - present;
    match moving {
        Route::Migrating { slot, addr } if missing > 0 => Err(if present > 0 {
            shoal_cluster::route::TRYAGAIN.into()
        } else {
            format!("ASK {slot} {addr}").into()
        }),
        Route::Importing if keys.len() > 1 && missing > 0 => {
            Err(shoal_cluster::route::TRYAGAIN.into())
        }
        _ => Ok(()),
    }
}

/// Cluster mode: the redirect or refusal for this command, if it may not run here; or the
/// moving-slot check it needs (`Some`). EXEC is judged on the keys of every queued command
/// together. SSUBSCRIBE, SUNSUBSCRIBE and SPUBLISH name shard channels, not keys: see
/// `shoal_cluster::route_shard_channels` (a replica serves them, a moving slot's channels
/// are not looked up).
fn cluster_route(
    shared: &Shared,
    cl: &crate::ctx::Cluster,
    client: &Client,
    spec: &Spec,
    args: &Args<'_>,
    asking: bool,
) -> Result<Option<Route>, CmdError> {
    use shoal_cluster::key_slot;
    let shard_channels = |s: &Spec| matches!(s.name, "ssubscribe" | "sunsubscribe" | "spublish");
    let route = if spec.name == "exec" {
        let mut slots: Vec<u16> = Vec::new();
        let mut write = false;
        let mut channels_only = true;
        for (i, queued) in client.multi.iter().flat_map(|m| m.queued.iter()) {
            let qs = table().specs[*i];
            let qa = queued.args();
            write |= routes_as_write(shared, qs, &qa);
            let before = slots.len();
            slots.extend(qs.all_keys(&qa).map(|p| key_slot(qa.get(p)).0));
            channels_only &= slots.len() == before || shard_channels(qs);
        }
        if slots.is_empty() {
            return Ok(None);
        }
        let st = cl.state.read();
        if channels_only {
            shoal_cluster::route_shard_channels(&st, slots, asking)
        } else {
            shoal_cluster::route(&st, slots, write, client.readonly, asking)
        }
    } else {
        if spec.first_key <= 0 && spec.numkeys.is_none() {
            return Ok(None);
        }
        let slots = spec.all_keys(args).map(|p| key_slot(args.get(p)).0);
        let st = cl.state.read();
        if shard_channels(spec) {
            shoal_cluster::route_shard_channels(&st, slots, asking)
        } else {
            let write = routes_as_write(shared, spec, args);
            shoal_cluster::route(&st, slots, write, client.readonly, asking)
        }
    };
    match route {
        Route::Serve => Ok(None),
        Route::Migrating { .. } | Route::Importing => Ok(Some(route)),
        _ => Err(CmdError::from(route.error().unwrap_or_default())),
    }
}

/// Adds the shards `spec` touches with these `args` to `ids`. Returns false when the command
/// walks the whole keyspace (its shards cannot be named up front).
pub fn lock_plan(
    shared: &Shared,
    db: usize,
    spec: &Spec,
    args: &Args<'_>,
    ids: &mut Vec<ShardId>,
) -> bool {
    let store = &shared.store;
    match spec.locking {
        Locking::Nothing => true,
        Locking::Global => false,
        Locking::Keys => {
            for p in spec.all_keys(args) {
                let k = args.get(p);
                ids.push(store.shard_id(db, k, store.hash(k)));
            }
            true
        }
        Locking::Custom(f) => {
            f(store, db, args, ids);
            true
        }
    }
}

/// Why persistence refuses `spec` now (`gate`: `Persist::gate`), if it does.
fn persist_refusal(gate: u8, spec: &Spec) -> Option<&'static str> {
    use crate::persist::{GATE_LOADING, GATE_MISCONF, MISCONF};
    if gate & GATE_MISCONF != 0 && (spec.has(flags::WRITE) || spec.name == "ping") {
        return Some(MISCONF);
    }
    if gate & GATE_LOADING != 0 && !spec.has(flags::LOADING) {
        return Some(errors::LOADING);
    }
    None
}

/// The time-stamp counter clock (`quanta`): two reads per command cost a few nanoseconds,
/// unlike the OS clock.
pub fn tsc() -> &'static quanta::Clock {
    static CLOCK: std::sync::OnceLock<quanta::Clock> = std::sync::OnceLock::new();
    CLOCK.get_or_init(quanta::Clock::new)
}

/// Runs a command that passed the guards: handler, timing (for INFO commandstats and
/// SLOWLOG), error reply.
pub fn run(ctx: &mut Ctx<'_>, idx: usize, spec: &Spec, args: Args<'_>) {
    ctx.ks.db = ctx.client.db;
    // CLIENT LIST's `cmd=`: the command running now (`client|list` for a container's).
    let sub = spec.sub_index(&args).map_or(0, |i| i + 1);
    ctx.client.info.last_cmd.store(
        idx | (sub << CMD_SUB_SHIFT),
        std::sync::atomic::Ordering::Relaxed,
    );
    // A write on a primary with replicas goes to the replication stream once it succeeded.
    // PUBLISH too, outside cluster mode (there the bus carries it to every node).
    let propagate = (spec.has(flags::WRITE)
        || (spec.has(flags::MAY_REPLICATE)
            && (ctx.shared.cluster.is_none() || spec.name == "function")))
        && !ctx.client.is_master
        && ctx.replicating();
    if propagate {
        ctx.client.prop = None;
    }
    // Monitors see a script's EVAL/FCALL before the commands it runs (Redis feeds monitors
    // before a command runs, EXEC excepted; shoal feeds them after, so EXEC follows the
    // commands it ran: only scripts need the other order).
    let script = spec.group == Group::Scripting;
    if script {
        feed_monitors(ctx, spec, &args);
    }
    if cfg!(feature = "no-stats") {
        let res = (spec.handler)(ctx, args);
        if spec.has(flags::WRITE)
            && !spec.has(flags::BLOCKING)
            && ctx
                .shared
                .blocking
                .stream_waiters
                .load(std::sync::atomic::Ordering::Relaxed)
                > 0
        {
            crate::blocking::after_write(ctx, spec, &args);
        }
        crate::notify::after_command(ctx.shared);
        if propagate && res.is_ok() {
            crate::repl::after_write(ctx, &args);
        }
        if !script {
            feed_monitors(ctx, spec, &args);
        }
        if let Err(e) = res {
            finish_error(ctx, &e);
        }
        return;
    }
    // Cluster mode: charge a keyed command to its slot (hot-slot detection).
    let slot = match &ctx.shared.cluster {
        Some(_)
            if ctx
                .shared
                .slot_stats
                .load(std::sync::atomic::Ordering::Relaxed) =>
        {
            spec.all_keys(&args)
                .next()
                .map(|p| shoal_cluster::key_slot(args.get(p)).0)
        }
        _ => None,
    };
    let out_before = ctx.out.len();
    let tracking = ctx.shared.tracking.active();
    if tracking {
        crate::tracking::before_command(ctx);
    }
    let clock = tsc();
    let t0 = clock.raw();
    let bytes_in = slot.map_or(0, |_| resp_len(&args));
    let res = (spec.handler)(ctx, args);
    if spec.has(flags::WRITE)
        && !spec.has(flags::BLOCKING)
        && ctx
            .shared
            .blocking
            .stream_waiters
            .load(std::sync::atomic::Ordering::Relaxed)
            > 0
    {
        crate::blocking::after_write(ctx, spec, &args);
    }
    // Keyspace events of keys the command's lookups found expired.
    crate::notify::after_command(ctx.shared);
    if tracking {
        crate::tracking::after_command(ctx, spec, &args);
    }
    // CLIENT CACHING holds for the next command (a whole transaction), CLIENT ones aside.
    if ctx.client.tracking && !ctx.in_exec && ctx.client.multi.is_none() && spec.name != "client" {
        ctx.client.info.tracking.lock().caching = false;
    }
    if propagate && res.is_ok() {
        crate::repl::after_write(ctx, &args);
    }
    let nanos = clock.delta_as_nanos(t0, clock.raw());
    if !script {
        feed_monitors(ctx, spec, &args);
    }
    // A command that blocked counts once, when it is served, times out or is unblocked
    // (Redis's updateStatsOnUnblock), not also now.
    if ctx.client.blocked.is_none() {
        ctx.client.batch.cmds.push((
            (idx | (sub << crate::stats::SUB_SHIFT)) as u32,
            res.is_err(),
            nanos,
        ));
    }
    if let Some(slot) = slot {
        ctx.client.batch.slots.push(crate::stats::SlotRun {
            slot,
            write: spec.has(flags::WRITE),
            nanos,
            bytes_in,
            bytes_out: ctx.out.len().saturating_sub(out_before) as u32,
        });
    }
    let usec = nanos / 1000;
    if ctx.client.blocked.is_none() {
        let event = if spec.has(flags::FAST) {
            "fast-command"
        } else {
            "command"
        };
        ctx.shared.latency.record(event, usec / 1000);
    }
    if ctx.shared.slowlog.wants(usec)
        && !spec.has(flags::SKIP_SLOWLOG)
        && ctx.client.blocked.is_none()
    {
        let name = ctx.client.info.name.lock().clone().unwrap_or_default();
        ctx.shared
            .slowlog
            .push(&args, usec, ctx.ks.now / 1000, &ctx.client.info.addr, &name);
    }
    if let Err(e) = res {
        finish_error(ctx, &e);
    }
}

/// A handler's error reply, counted in INFO errorstats unless it already was (a script's
/// error that came from one of its commands).
fn finish_error(ctx: &mut Ctx<'_>, e: &CmdError) {
    if std::mem::take(&mut ctx.client.error_counted) {
        ctx.out.error(&e.0);
    } else {
        write_error(ctx.shared, ctx.out, e);
    }
}

/// `ClientInfo::last_cmd` holds the command's table index in its low bits and its subcommand's
/// (plus one; 0 = none) from this bit up.
pub const CMD_SUB_SHIFT: u32 = 20;

/// As Redis (after the command ran, so EXEC follows the commands it ran): monitors see every
/// command except admin ones and credentials, and a blocking command once it is served. A
/// command a script runs shows `lua` as its client, as Redis's.
#[inline]
fn feed_monitors(ctx: &mut Ctx<'_>, spec: &Spec, args: &Args<'_>) {
    if ctx.shared.monitors.active() {
        feed_monitors_now(ctx, spec, args);
    }
}

#[cold]
#[inline(never)]
fn feed_monitors_now(ctx: &mut Ctx<'_>, spec: &Spec, args: &Args<'_>) {
    if !spec.has(flags::ADMIN)
        && !matches!(spec.name, "auth" | "hello")
        && ctx.client.blocked.is_none()
    {
        // The OS clock: only paid while someone monitors.
        let now_us = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_micros() as u64);
        let addr = if spec.group != Group::Scripting && crate::script::engine::in_script() {
            "lua"
        } else {
            &ctx.client.info.addr
        };
        ctx.shared.monitors.feed(now_us, ctx.client.db, addr, args);
    }
}

/// The size of a command as a RESP multibulk request.
fn resp_len(args: &Args<'_>) -> u32 {
    let digits = |n: usize| (n.max(1).ilog10() + 1) as usize;
    let body: usize = args.iter().map(|a| 5 + digits(a.len()) + a.len()).sum();
    (3 + digits(args.len()) + body) as u32
}

fn reject(shared: &Shared, client: &mut Client, out: &mut Reply, idx: Option<usize>, e: CmdError) {
    shared.stats.rejected(idx);
    let is_exec = idx
        .and_then(|i| table().specs.get(i))
        .is_some_and(|s| s.name == "exec");
    if is_exec && client.multi.take().is_some() {
        // EXEC itself refused (BUSY, NOAUTH, ...): the transaction is discarded, as Redis's
        // execCommandAbort, so none of it runs later and the client leaves MULTI.
        client
            .info
            .multi
            .store(false, std::sync::atomic::Ordering::Relaxed);
        client.unwatch_all(&shared.store);
        let mut m = b"EXECABORT Transaction discarded because of: ".to_vec();
        m.extend_from_slice(e.0.strip_prefix(b"-").unwrap_or(&e.0));
        let e = CmdError::from(m);
        write_error(shared, out, &e);
        return;
    }
    if let Some(m) = client.multi.as_mut() {
        m.failed = true;
    }
    write_error(shared, out, &e);
}

/// Counts an error reply in INFO errorstats without writing it (a script's command refused
/// by the script's checks).
pub fn count_error(shared: &Shared, msg: &[u8]) {
    shared.stats.error_reply(errors::error_code(msg));
}

pub fn write_error(shared: &Shared, out: &mut Reply, e: &CmdError) {
    shared.stats.error_reply(e.prefix());
    out.error(&e.0);
}

/// CLIENT REPLY OFF / SKIP: drop what the command wrote, and end a SKIP after one command.
fn apply_reply_mode(client: &mut Client, out: &mut Reply, before: ReplyMode, mark: usize) {
    let after = client.reply_mode;
    let keep = std::mem::take(&mut client.keep_reply)
        || match (before, after) {
            (ReplyMode::On, ReplyMode::On) => true,
            // CLIENT REPLY ON while OFF, or in the command SKIP applies to, answers +OK.
            (ReplyMode::Off | ReplyMode::Skip, ReplyMode::On) => true,
            _ => false,
        };
    if !keep {
        out.truncate(mark);
    }
    if before == ReplyMode::Skip && after == ReplyMode::Skip {
        client.reply_mode = ReplyMode::On;
    }
}
