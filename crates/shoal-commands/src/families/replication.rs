//! Replication commands: REPLICAOF (SLAVEOF), ROLE, REPLCONF, PSYNC, WAIT.
//!
//! PSYNC only marks the client: after this batch the server turns the connection into the
//! replica's stream (full or partial sync). WAIT that must wait leaves the client parked until
//! enough replicas acknowledge its last write, or the timeout.

use std::sync::atomic::Ordering::Relaxed;

use shoal_resp::Args;

use crate::ctx::Ctx;
use crate::errors::{self, CmdResult};
use crate::repl::{LinkState, Role};
use crate::spec::{Group, Spec, cmd, flags::*};
use crate::util::{eq_ic, int};

/// REPLICAOF host port | NO ONE (and its old name SLAVEOF)
fn replicaof(ctx: &mut Ctx<'_>, a: Args<'_>) -> CmdResult {
    if ctx.shared.cluster.is_some() {
        return Err("ERR REPLICAOF not allowed in cluster mode.".into());
    }
    let repl = &ctx.shared.repl;
    if eq_ic(a.get(1), "no") && eq_ic(a.get(2), "one") {
        repl.promote();
        ctx.shared.apply_config();
        ctx.out.ok();
        return Ok(());
    }
    let port = match int(a.get(2)) {
        Ok(p) if (1..=65535).contains(&p) => p as u16,
        _ => return Err("ERR Invalid master port".into()),
    };
    let host = String::from_utf8_lossy(a.get(1)).into_owned();
    if repl.follow(host, port) {
        ctx.shared.apply_config();
        ctx.out.ok();
    } else {
        ctx.out.simple(b"OK Already connected to specified master");
    }
    Ok(())
}

/// ROLE
fn role(ctx: &mut Ctx<'_>, _a: Args<'_>) -> CmdResult {
    let repl = &ctx.shared.repl;
    let offset = repl.offset.load(Relaxed) as i64;
    match repl.role.lock().clone() {
        Role::Primary => {
            let replicas = repl.replicas.lock().clone();
            ctx.out.array(3);
            ctx.out.bulk(b"master");
            ctx.out.int(offset);
            ctx.out.array(replicas.len());
            for r in replicas {
                ctx.out.array(3);
                ctx.out.bulk(r.ip.as_bytes());
                ctx.out.bulk(r.port.to_string().as_bytes());
                ctx.out.bulk(r.ack.to_string().as_bytes());
            }
        }
        Role::Replica { host, port } => {
            let state = *repl.link.lock();
            ctx.out.array(5);
            ctx.out.bulk(b"slave");
            ctx.out.bulk(host.as_bytes());
            ctx.out.int(port as i64);
            ctx.out.bulk(state.name().as_bytes());
            ctx.out.int(if state == LinkState::Connected {
                offset
            } else {
                -1
            });
        }
    }
    Ok(())
}

/// REPLCONF option value [option value ...] — what a replica tells its primary.
fn replconf(ctx: &mut Ctx<'_>, a: Args<'_>) -> CmdResult {
    if a.len().is_multiple_of(2) {
        return Err(errors::SYNTAX.into());
    }
    for i in (1..a.len()).step_by(2) {
        let (opt, val) = (a.get(i), a.get(i + 1));
        if eq_ic(opt, "listening-port") {
            ctx.client.listening_port = match int(val) {
                Ok(p) if (0..=65535).contains(&p) => p as u16,
                _ => return Err(errors::NOT_INTEGER.into()),
            };
        } else if eq_ic(opt, "capa") && eq_ic(val, crate::repl::CAPA_FUNCTIONS) {
            // A shoal replica: its full sync starts with this node's functions.
            ctx.client.capa_functions = true;
        } else if eq_ic(opt, "capa") && eq_ic(val, crate::repl::CAPA_PSYNC_NEXT) {
            ctx.client.capa_psync_next = true;
        } else if eq_ic(opt, "ack") || eq_ic(opt, "getack") {
            // Only meaningful on a replication link (the stream handles them): no reply.
            return Ok(());
        } else if eq_ic(opt, "rdb-filter-only") {
            // Only "functions" can be asked for (redis-cli --functions-rdb): never keys.
            let text = String::from_utf8_lossy(val);
            if let Some(f) = text
                .split_whitespace()
                .find(|f| !f.eq_ignore_ascii_case("functions"))
            {
                return Err(format!("ERR Unsupported rdb-filter-only option: {f}").into());
            }
            ctx.client.rdb_keys = false;
        } else if !(eq_ic(opt, "capa") || eq_ic(opt, "ip-address") || eq_ic(opt, "rdb-only")) {
            return Err(format!(
                "ERR Unrecognized REPLCONF option: {}",
                String::from_utf8_lossy(opt)
            )
            .into());
        }
    }
    ctx.out.ok();
    Ok(())
}

/// PSYNC replicationid offset — the connection becomes a replica's stream after this batch.
fn psync(ctx: &mut Ctx<'_>, a: Args<'_>) -> CmdResult {
    if ctx.shared.repl.replica.load(Relaxed) {
        return Err("ERR this replica does not serve replicas of its own".into());
    }
    let replid = String::from_utf8_lossy(a.get(1)).into_owned();
    let offset = shoal_resp::parse_i64(a.get(2)).unwrap_or(-1);
    ctx.client.psync = Some((replid, offset));
    Ok(())
}

/// SYNC — the dataset as an RDB image (sent by the connection after this batch), then the
/// connection closes: what `redis-cli --rdb` uses. (Redis then streams the writes to an old
/// replica; shoal serves replicas through PSYNC.)
fn sync(ctx: &mut Ctx<'_>, _a: Args<'_>) -> CmdResult {
    if ctx.shared.repl.replica.load(Relaxed) {
        return Err("ERR this replica does not serve replicas of its own".into());
    }
    ctx.client.sync_rdb = true;
    Ok(())
}

/// WAIT numreplicas timeout — how many replicas acknowledged this client's writes.
fn wait(ctx: &mut Ctx<'_>, a: Args<'_>) -> CmdResult {
    let repl = &ctx.shared.repl;
    if repl.replica.load(Relaxed) {
        return Err("ERR WAIT cannot be used with replica instances. Please also note that since Redis 4.0 if a replica is configured to be writable (which is not the default) writes to replicas are just local and are not propagated.".into());
    }
    let wanted = int(a.get(1))?;
    let timeout = int(a.get(2))?;
    if timeout < 0 {
        return Err(errors::TIMEOUT_NEGATIVE.into());
    }
    let target = ctx.client.woff;
    let acked = repl.acked_at_least(target);
    if ctx.in_exec || acked as i64 >= wanted || wanted <= 0 || !repl.active.load(Relaxed) {
        ctx.out.int(acked as i64);
        return Ok(());
    }
    // Ask the replicas to acknowledge now rather than at their next second.
    {
        let _g = repl.write_lock.lock();
        let mut out = Vec::new();
        crate::repl::encode(&mut out, &[b"REPLCONF", b"GETACK", b"*"]);
        repl.feed(&out);
    }
    let deadline = (timeout > 0).then(|| ctx.now().saturating_add(timeout as u64));
    ctx.client.wait = Some((wanted as usize, target, deadline));
    Ok(())
}

const NOKEY: (i32, i32, i32) = (0, 0, 0);

pub static COMMANDS: &[Spec] = &[
    cmd(
        "replicaof",
        3,
        ADMIN | NOSCRIPT | STALE,
        NOKEY,
        Group::Server,
        "5.0.0",
        "Configures a server as replica of another, or promotes it to a master.",
        replicaof,
    ),
    cmd(
        "slaveof",
        3,
        ADMIN | NOSCRIPT | STALE,
        NOKEY,
        Group::Server,
        "1.0.0",
        "Sets a Redis server as a replica of another, or promotes it to being a master.",
        replicaof,
    ),
    cmd(
        "role",
        1,
        NOSCRIPT | LOADING | STALE | FAST,
        NOKEY,
        Group::Server,
        "2.8.12",
        "Returns the replication role.",
        role,
    ),
    cmd(
        "replconf",
        -1,
        ADMIN | NOSCRIPT | LOADING | STALE | ALLOW_BUSY,
        NOKEY,
        Group::Server,
        "3.0.0",
        "An internal command for configuring the replication stream.",
        replconf,
    ),
    cmd(
        "psync",
        -3,
        ADMIN | NO_MULTI | NOSCRIPT,
        NOKEY,
        Group::Server,
        "2.8.0",
        "An internal command used in replication.",
        psync,
    ),
    cmd(
        "sync",
        1,
        ADMIN | NO_MULTI | NOSCRIPT,
        NOKEY,
        Group::Server,
        "1.0.0",
        "An internal command used in replication.",
        sync,
    ),
    cmd(
        "wait",
        3,
        NOSCRIPT,
        NOKEY,
        Group::Generic,
        "3.0.0",
        "Blocks until the asynchronous replication of all preceding write commands sent by the connection is completed.",
        wait,
    ),
];
