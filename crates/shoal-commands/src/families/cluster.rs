//! CLUSTER and the cluster-mode connection commands (READONLY, READWRITE, ASKING).
//!
//! Every change of the cluster state is written to nodes.conf before the reply goes out.

use std::sync::atomic::Ordering::Relaxed;

use shoal_cluster::bus::Control;
use shoal_cluster::{ClusterState, NodeId, SLOTS, key_slot};
use shoal_resp::{Args, Reply};

use crate::ctx::{Cluster, Ctx};
use crate::errors::{self, CmdError, CmdResult};
use crate::spec::{Group, Spec, cmd, flags::*};
use crate::util::{eq_ic, int};

pub const DISABLED: &str = "ERR This instance has cluster support disabled";

fn cluster_of<'a>(ctx: &Ctx<'a>) -> Result<&'a Cluster, CmdError> {
    ctx.shared.cluster.as_ref().ok_or(CmdError::from(DISABLED))
}

/// A slot argument: `ERR Invalid or out of range slot` otherwise.
fn slot_arg(a: &[u8]) -> Result<u16, CmdError> {
    match shoal_resp::parse_i64(a) {
        Some(n) if (0..SLOTS as i64).contains(&n) => Ok(n as u16),
        _ => Err("ERR Invalid or out of range slot".into()),
    }
}

/// Slots named by ADDSLOTS/DELSLOTS (`ranges` = false) or their RANGE forms; a slot named twice is
/// an error, as in Redis.
fn slot_list(a: &Args<'_>, ranges: bool) -> Result<Vec<u16>, CmdError> {
    let mut seen = vec![false; SLOTS];
    let mut out = Vec::new();
    let mut add = |s: u16| -> CmdResult {
        if std::mem::replace(&mut seen[s as usize], true) {
            return Err(format!("ERR Slot {s} specified multiple times").into());
        }
        out.push(s);
        Ok(())
    };
    if ranges {
        for i in (2..a.len()).step_by(2) {
            let (lo, hi) = (slot_arg(a.get(i))?, slot_arg(a.get(i + 1))?);
            if lo > hi {
                return Err(format!(
                    "ERR start slot number {lo} is greater than end slot number {hi}"
                )
                .into());
            }
            for s in lo..=hi {
                add(s)?;
            }
        }
    } else {
        for arg in a.iter().skip(2) {
            add(slot_arg(arg)?)?;
        }
    }
    Ok(out)
}

fn unknown_node(id: &[u8]) -> CmdError {
    format!("ERR Unknown node {}", String::from_utf8_lossy(id)).into()
}

fn saved(cl: &Cluster) -> CmdResult {
    saved_with(cl, true)
}

fn saved_with(cl: &Cluster, fsync: bool) -> CmdResult {
    cl.save_with(fsync)
        .map_err(|e| CmdError::from(format!("ERR error saving the cluster node config: {e}")))
}

/// One node of a CLUSTER SLOTS row: `[endpoint, port, id, {ip and/or hostname not already the
/// endpoint}]`.
fn write_node_entry(st: &ClusterState, out: &mut Reply, n: &shoal_cluster::Node) {
    use shoal_cluster::Endpoint;
    out.array(4);
    out.bulk(st.endpoint_of(n).as_bytes());
    out.int(n.port as i64);
    out.bulk(n.id.as_str().as_bytes());
    let ip = (st.endpoint != Endpoint::Ip).then_some(n.ip.as_str());
    let host = n
        .hostname
        .as_deref()
        .filter(|_| st.endpoint != Endpoint::Hostname);
    out.map(ip.is_some() as usize + host.is_some() as usize);
    if let Some(ip) = ip {
        out.bulk(b"ip");
        out.bulk(ip.as_bytes());
    }
    if let Some(h) = host {
        out.bulk(b"hostname");
        out.bulk(h.as_bytes());
    }
}

/// CLUSTER SLOTS: `[start, end, [ip, port, id, {meta}], replica...]` per maximal range.
fn slots_reply(st: &ClusterState, out: &mut Reply) {
    let mut rows: Vec<(u16, u16, NodeId)> = Vec::new();
    for n in st.nodes.values().filter(|n| n.flags.primary) {
        for (a, b) in n.slots.ranges() {
            rows.push((a, b, n.id));
        }
    }
    rows.sort();
    out.array(rows.len());
    for (a, b, id) in rows {
        let replicas: Vec<_> = st
            .nodes
            .values()
            .filter(|r| r.primary_of == Some(id) && !r.flags.fail)
            .collect();
        out.array(3 + replicas.len());
        out.int(a as i64);
        out.int(b as i64);
        if let Some(n) = st.nodes.get(&id) {
            write_node_entry(st, out, n);
        }
        for r in replicas {
            write_node_entry(st, out, r);
        }
    }
}

/// CLUSTER SHARDS: one map per primary: `{slots: [start, end, ...], nodes: [{...}, ...]}`.
/// With `tls-cluster` the port nodes are known by is their TLS port, named `tls-port` here as
/// Redis names it.
fn shards_reply(st: &ClusterState, out: &mut Reply, my_offset: u64, tls: bool) {
    let primaries: Vec<_> = st.nodes.values().filter(|n| n.flags.primary).collect();
    out.array(primaries.len());
    for p in primaries {
        out.map(2);
        out.bulk(b"slots");
        let ranges: Vec<_> = p.slots.ranges().collect();
        out.array(ranges.len() * 2);
        for (a, b) in ranges {
            out.int(a as i64);
            out.int(b as i64);
        }
        out.bulk(b"nodes");
        let members: Vec<_> = std::iter::once(p)
            .chain(st.nodes.values().filter(|r| r.primary_of == Some(p.id)))
            .collect();
        out.array(members.len());
        for n in members {
            let fields = 7 + n.hostname.is_some() as usize;
            out.map(fields);
            out.bulk(b"id");
            out.bulk(n.id.as_str().as_bytes());
            out.bulk(if tls { &b"tls-port"[..] } else { b"port" });
            out.int(n.port as i64);
            out.bulk(b"ip");
            out.bulk(n.ip.as_bytes());
            out.bulk(b"endpoint");
            out.bulk(st.endpoint_of(n).as_bytes());
            if let Some(h) = &n.hostname {
                out.bulk(b"hostname");
                out.bulk(h.as_bytes());
            }
            out.bulk(b"role");
            out.bulk(if n.flags.primary {
                b"master"
            } else {
                b"replica"
            });
            out.bulk(b"replication-offset");
            out.int(if n.flags.myself {
                my_offset
            } else {
                n.repl_offset
            } as i64);
            out.bulk(b"health");
            out.bulk(if n.flags.fail || n.flags.pfail {
                b"fail"
            } else {
                b"online"
            });
        }
    }
}

/// Metrics of CLUSTER SLOT-STATS, in reply order: Valkey's four, then shoal's read and write
/// counts (commands charged to the slot, by the table's write flag).
const SLOT_METRICS: [&str; 6] = [
    "key-count",
    "cpu-usec",
    "network-bytes-in",
    "network-bytes-out",
    "reads",
    "writes",
];

/// CLUSTER SLOT-STATS SLOTSRANGE start end | ORDERBY metric [LIMIT n] [ASC|DESC] (Valkey 8 and
/// Redis 8.2): usage of the slots this node serves, to find hot and cold slots.
fn slot_stats(ctx: &mut Ctx<'_>, cl: &crate::ctx::Cluster, a: &Args<'_>) -> CmdResult {
    let slot_arg = |b: &[u8]| match int(b) {
        Ok(n) if (0..SLOTS as i64).contains(&n) => Ok(n as usize),
        _ => Err(CmdError::from("ERR Invalid or out of range slot")),
    };
    let mine: Vec<bool> = {
        let st = cl.state.read();
        (0..SLOTS)
            .map(|s| st.owner_id(s as u16) == Some(st.myself))
            .collect()
    };
    let enabled = ctx.shared.slot_stats.load(Relaxed);
    let totals = ctx.shared.stats.slot_totals();
    let store = ctx.ks.store;
    let metric = |slot: usize, m: usize| -> u64 {
        let t = &totals[slot];
        match m {
            0 => store.slot_keys(0, slot as u16) as u64,
            1 => t[2] / 1000,
            2 => t[3],
            3 => t[4],
            4 => t[0],
            _ => t[1],
        }
    };
    let slots: Vec<usize> = if a.len() == 5 && eq_ic(a.get(2), "slotsrange") {
        let (from, to) = (slot_arg(a.get(3))?, slot_arg(a.get(4))?);
        if from > to {
            return Err(format!(
                "ERR Start slot number {from} is greater than end slot number {to}"
            )
            .into());
        }
        (from..=to).filter(|&s| mine[s]).collect()
    } else if a.len() >= 4 && eq_ic(a.get(2), "orderby") {
        let by = SLOT_METRICS
            .iter()
            .position(|m| eq_ic(a.get(3), m))
            .filter(|&m| m == 0 || enabled)
            .ok_or(CmdError::from("ERR Unrecognized sort metric for ORDERBY."))?;
        let (mut limit, mut desc) = (SLOTS, true);
        let (mut limits, mut orders) = (0, 0);
        let mut i = 4;
        while i < a.len() {
            if eq_ic(a.get(i), "limit") && i + 1 < a.len() {
                limit = match int(a.get(i + 1)) {
                    Ok(n) if (1..=SLOTS as i64).contains(&n) => n as usize,
                    _ => {
                        return Err("ERR Limit has to lie in between 1 and 16384 (maximum number of slots).".into());
                    }
                };
                limits += 1;
                i += 1;
            } else if eq_ic(a.get(i), "asc") || eq_ic(a.get(i), "desc") {
                desc = eq_ic(a.get(i), "desc");
                orders += 1;
            } else {
                return Err(errors::SYNTAX.into());
            }
            if limits > 1 || orders > 1 {
                return Err("ERR Multiple filters of the same type are disallowed.".into());
            }
            i += 1;
        }
        let mut slots: Vec<(u64, usize)> = (0..SLOTS)
            .filter(|&s| mine[s])
            .map(|s| (metric(s, by), s))
            .collect();
        // Ties go by ascending slot number either way.
        slots.sort_by(|x, y| if desc { y.0.cmp(&x.0) } else { x.0.cmp(&y.0) }.then(x.1.cmp(&y.1)));
        slots.into_iter().take(limit).map(|(_, s)| s).collect()
    } else {
        return Err(
            "ERR unknown subcommand or wrong number of arguments for 'slot-stats'. Try CLUSTER HELP."
                .into(),
        );
    };
    let shown = if enabled { SLOT_METRICS.len() } else { 1 };
    ctx.out.array(slots.len());
    for s in slots {
        ctx.out.array(2);
        ctx.out.int(s as i64);
        ctx.out.map(shown);
        for (m, name) in SLOT_METRICS.iter().enumerate().take(shown) {
            ctx.out.bulk(name.as_bytes());
            ctx.out.int(metric(s, m) as i64);
        }
    }
    Ok(())
}

fn db_is_empty(ctx: &mut Ctx<'_>) -> bool {
    let store = ctx.ks.store;
    store.live_shards().all(|id| ctx.ks.shard_at(id).is_empty())
}

/// CLUSTER SETSLOT <slot> IMPORTING <node-id> | MIGRATING <node-id> | NODE <node-id> | STABLE,
/// with Redis's checks and replies.
fn setslot(ctx: &mut Ctx<'_>, cl: &Cluster, a: &Args<'_>) -> CmdResult {
    const USAGE: &str =
        "ERR Invalid CLUSTER SETSLOT action or number of arguments. Try CLUSTER HELP";
    if a.len() < 4 {
        return Err(USAGE.into());
    }
    if !cl.state.read().me().flags.primary {
        return Err("ERR Please use SETSLOT only with masters.".into());
    }
    let slot = slot_arg(a.get(2))?;
    if ctx.shared.migrations.busy_slot(slot) {
        return Err(format!("ERR Slot {slot} is being moved by CLUSTER MIGRATESLOTS").into());
    }
    let action = a.get(3).to_ascii_lowercase();
    let node_arg = a.get(4);
    let want_node = !matches!(action.as_slice(), b"stable");
    if a.len() != if want_node { 5 } else { 4 } {
        return Err(USAGE.into());
    }
    let id_text = String::from_utf8_lossy(node_arg).into_owned();
    let keys = ctx.ks.store.slot_keys(0, slot);
    let allow_migration = ctx.shared.config.read().cluster.allow_replica_migration;
    let mut became_replica = false;
    let mut gave_away = false;
    // Only a new config epoch must be durable before the reply.
    let mut bumped_epoch = false;
    let mut took_import = false;
    {
        let mut st = cl.state.write();
        let me = st.myself;
        let node = NodeId::parse(node_arg).filter(|id| st.nodes.contains_key(id));
        let is_replica =
            |st: &ClusterState, id: NodeId| st.nodes.get(&id).is_some_and(|n| !n.flags.primary);
        match action.as_slice() {
            b"migrating" => {
                if st.owner_id(slot) != Some(me) {
                    return Err(format!("ERR I'm not the owner of hash slot {slot}").into());
                }
                let Some(n) = node else {
                    return Err(format!("ERR I don't know about node {id_text}").into());
                };
                if is_replica(&st, n) {
                    return Err("ERR Target node is not a master".into());
                }
                st.migrating.insert(slot, n);
            }
            b"importing" => {
                if st.owner_id(slot) == Some(me) {
                    return Err(format!("ERR I'm already the owner of hash slot {slot}").into());
                }
                let Some(n) = node else {
                    return Err(format!("ERR I don't know about node {id_text}").into());
                };
                if is_replica(&st, n) {
                    return Err("ERR Target node is not a master".into());
                }
                st.importing.insert(slot, n);
            }
            b"stable" => {
                st.migrating.remove(&slot);
                st.importing.remove(&slot);
            }
            b"node" => {
                let Some(n) = node else {
                    return Err(unknown_node(node_arg));
                };
                if is_replica(&st, n) {
                    return Err("ERR Target node is not a master".into());
                }
                let was_mine = st.owner_id(slot) == Some(me);
                if was_mine && n != me && keys != 0 {
                    return Err(format!("ERR Can't assign hashslot {slot} to a different node while I still hold keys for this hash slot.").into());
                }
                // Handed over (our copy is empty): no longer migrating.
                if keys == 0 {
                    st.migrating.remove(&slot);
                }
                // The importing side takes the slot with a config epoch of its own, so the rest
                // of the cluster learns the new owner through gossip.
                if n == me && st.importing.remove(&slot).is_some() {
                    let (bumped, epoch) = st.bump_epoch();
                    bumped_epoch = bumped;
                    took_import = true;
                    if bumped {
                        tracing::info!("configEpoch updated after importing slot {slot}: {epoch}");
                    }
                }
                st.assign(slot, n);
                gave_away = was_mine && n != me;
                // A primary left without slots follows the node that took its last one.
                if was_mine && n != me && st.me().slots.is_empty() && allow_migration {
                    st.set_my_primary(n);
                    became_replica = true;
                }
            }
            _ => return Err(USAGE.into()),
        }
        st.update_state();
    }
    saved_with(cl, bumped_epoch || became_replica)?;
    // After importing a slot, every node learns it at once (Redis broadcasts a PONG here),
    // not at its next gossip round: `redis-cli --cluster` checks all views right after.
    if took_import {
        cl.announce();
    }
    if gave_away {
        ctx.shared.blocking.wake_all(ctx.shared);
    }
    if became_replica {
        ctx.shared.sync_cluster_role();
    }
    ctx.out.ok();
    Ok(())
}

/// CLUSTER <subcommand> ...
fn cluster(ctx: &mut Ctx<'_>, a: Args<'_>) -> CmdResult {
    let cl = cluster_of(ctx)?;
    let sub = a.get(1).to_ascii_lowercase();
    let argc = a.len();
    let arity = |ok: bool| {
        if ok {
            Ok(())
        } else {
            Err(errors::arity(&format!(
                "cluster|{}",
                String::from_utf8_lossy(&sub)
            )))
        }
    };
    match sub.as_slice() {
        b"migrateslots" => super::slotmig::migrateslots(ctx, &a)?,
        b"getslotmigrations" => {
            arity(argc == 2)?;
            super::slotmig::getslotmigrations(ctx)?;
        }
        b"cancelslotmigrations" => {
            arity(argc == 2)?;
            super::slotmig::cancelslotmigrations(ctx)?;
        }
        b"info" => {
            arity(argc == 2)?;
            let load = |a: &[std::sync::atomic::AtomicU64]| -> Vec<u64> {
                a.iter().map(|c| c.load(Relaxed)).collect()
            };
            let mut text = cl.state.read().info_text(
                &shoal_cluster::bus::KIND_NAMES,
                &load(&cl.bus_sent),
                &load(&cl.bus_received),
            );
            text.push_str(&format!(
                "cluster_stats_messages_malformed:{}\r\n",
                cl.bus_bad_frames.load(Relaxed)
            ));
            ctx.out.verbatim(text.as_bytes());
        }
        b"myid" => {
            arity(argc == 2)?;
            let id = cl.state.read().myself;
            ctx.out.bulk(id.as_str().as_bytes());
        }
        b"myshardid" => {
            arity(argc == 2)?;
            let st = cl.state.read();
            let shard = st.me().primary_of.unwrap_or(st.myself);
            ctx.out.bulk(shard.as_str().as_bytes());
        }
        b"nodes" => {
            arity(argc == 2)?;
            let text = cl.state.read().nodes_text();
            ctx.out.verbatim(text.as_bytes());
        }
        b"slots" => {
            arity(argc == 2)?;
            slots_reply(&cl.state.read(), ctx.out);
        }
        b"shards" => {
            arity(argc == 2)?;
            let offset = ctx.shared.repl.offset.load(Relaxed);
            let tls = ctx.shared.config.read().tls.cluster;
            shards_reply(&cl.state.read(), ctx.out, offset, tls);
        }
        b"keyslot" => {
            arity(argc == 3)?;
            ctx.out.int(key_slot(a.get(2)).0 as i64);
        }
        b"countkeysinslot" => {
            arity(argc == 3)?;
            let slot = match int(a.get(2)) {
                Ok(n) if (0..SLOTS as i64).contains(&n) => n as u16,
                _ => return Err("ERR Invalid slot".into()),
            };
            let n = ctx.ks.store.slot_keys(0, slot);
            ctx.out.int(n as i64);
        }
        b"getkeysinslot" => {
            arity(argc == 4)?;
            let slot = match int(a.get(2)) {
                Ok(n) if (0..SLOTS as i64).contains(&n) => n as u16,
                _ => return Err("ERR Invalid slot".into()),
            };
            let count = match int(a.get(3)) {
                Ok(n) if n >= 0 => n as usize,
                _ => return Err("ERR Invalid number of keys".into()),
            };
            let now = ctx.now();
            let keys = ctx.ks.store.keys_in_slot(0, slot, count, now);
            ctx.out.array(keys.len());
            for k in &keys {
                ctx.out.bulk(k);
            }
        }
        b"addslots" | b"delslots" | b"addslotsrange" | b"delslotsrange" => {
            let ranges = sub.ends_with(b"range");
            arity(if ranges {
                argc >= 4 && argc.is_multiple_of(2)
            } else {
                argc >= 3
            })?;
            let slots = slot_list(&a, ranges)?;
            let r = if sub.starts_with(b"add") {
                cl.state.write().add_slots(&slots)
            } else {
                cl.state.write().del_slots(&slots)
            };
            r.map_err(|e| CmdError::from(e.0))?;
            saved(cl)?;
            ctx.out.ok();
        }
        b"flushslots" => {
            arity(argc == 2)?;
            if !db_is_empty(ctx) {
                return Err("ERR DB must be empty to perform CLUSTER FLUSHSLOTS.".into());
            }
            cl.state.write().flush_slots();
            saved(cl)?;
            ctx.out.ok();
        }
        b"set-config-epoch" => {
            arity(argc == 3)?;
            let e = int(a.get(2)).map_err(|_| {
                CmdError::from(format!(
                    "ERR Invalid config epoch specified: {}",
                    String::from_utf8_lossy(a.get(2))
                ))
            })?;
            cl.state
                .write()
                .set_config_epoch(e)
                .map_err(|e| CmdError::from(e.0))?;
            saved(cl)?;
            ctx.out.ok();
        }
        b"bumpepoch" => {
            arity(argc == 2)?;
            let (bumped, e) = cl.state.write().bump_epoch();
            saved(cl)?;
            ctx.out
                .simple(format!("{} {e}", if bumped { "BUMPED" } else { "STILL" }).as_bytes());
        }
        b"saveconfig" => {
            arity(argc == 2)?;
            saved(cl)?;
            ctx.out.ok();
        }
        b"reset" => {
            arity(argc <= 3)?;
            let hard = match a.get(2) {
                b"" => false,
                m if eq_ic(m, "hard") => true,
                m if eq_ic(m, "soft") => false,
                _ => return Err(errors::SYNTAX.into()),
            };
            if cl.state.read().me().flags.primary && !db_is_empty(ctx) {
                return Err(
                    "ERR CLUSTER RESET can't be called with master nodes containing keys".into(),
                );
            }
            cl.state.write().reset(hard);
            saved(cl)?;
            ctx.out.ok();
        }
        b"count-failure-reports" => {
            arity(argc == 3)?;
            let count = NodeId::parse(a.get(2))
                .and_then(|id| cl.state.read().nodes.get(&id).map(|n| n.fail_reports.len()));
            let Some(count) = count else {
                return Err(
                    format!("ERR Unknown node {}", String::from_utf8_lossy(a.get(2))).into(),
                );
            };
            ctx.out.int(count as i64);
        }
        b"meet" => {
            arity(argc == 4 || argc == 5)?;
            let ip = String::from_utf8_lossy(a.get(2)).into_owned();
            let port = shoal_resp::parse_i64(a.get(3)).filter(|p| (0..=65535).contains(p));
            let Some(port) = port else {
                return Err(format!(
                    "ERR Invalid base port specified: {}",
                    String::from_utf8_lossy(a.get(3))
                )
                .into());
            };
            let cport = if argc == 5 {
                match shoal_resp::parse_i64(a.get(4)).filter(|p| (0..=65535).contains(p)) {
                    Some(p) => p,
                    None => {
                        return Err(format!(
                            "ERR Invalid bus port specified: {}",
                            String::from_utf8_lossy(a.get(4))
                        )
                        .into());
                    }
                }
            } else {
                port + 10000
            };
            if ip.parse::<std::net::IpAddr>().is_err() || cport > 65535 {
                return Err(format!("ERR Invalid node address specified: {ip}:{port}").into());
            }
            let sent = cl.control.lock().as_ref().is_some_and(|tx| {
                tx.send(Control::Meet {
                    ip,
                    port: port as u16,
                    cport: cport as u16,
                })
                .is_ok()
            });
            if !sent {
                return Err("ERR the cluster bus is not running".into());
            }
            ctx.out.ok();
        }
        b"forget" => {
            arity(argc == 3)?;
            let id = {
                let st = cl.state.read();
                let id = NodeId::parse(a.get(2)).filter(|id| st.nodes.contains_key(id));
                match id {
                    None => {
                        return Err(format!(
                            "ERR Unknown node {}",
                            String::from_utf8_lossy(a.get(2))
                        )
                        .into());
                    }
                    Some(id) if id == st.myself => {
                        return Err("ERR I tried hard but I can't forget myself...".into());
                    }
                    Some(id) if st.me().primary_of == Some(id) => {
                        return Err("ERR Can't forget my master!".into());
                    }
                    Some(id) => id,
                }
            };
            // Gone from this node's view now; the bus keeps it out for 60 s.
            cl.state.write().remove_node(id);
            if let Some(tx) = cl.control.lock().as_ref() {
                let _ = tx.send(Control::Forget(id));
            }
            saved(cl)?;
            ctx.out.ok();
        }
        b"replicate" => {
            arity(argc == 3)?;
            let empty = db_is_empty(ctx);
            {
                let mut st = cl.state.write();
                let id = NodeId::parse(a.get(2)).filter(|id| st.nodes.contains_key(id));
                let id = match id {
                    None => return Err(unknown_node(a.get(2))),
                    Some(id) if id == st.myself => {
                        return Err("ERR Can't replicate myself".into());
                    }
                    Some(id) => id,
                };
                if st.nodes.get(&id).is_some_and(|n| !n.flags.primary) {
                    return Err("ERR I can only replicate a master, not a replica.".into());
                }
                let me = st.me();
                if me.flags.primary && (!me.slots.is_empty() || !empty) {
                    return Err(
                        "ERR To set a master the node must be empty and without assigned slots."
                            .into(),
                    );
                }
                st.set_my_primary(id);
            }
            saved(cl)?;
            ctx.shared.sync_cluster_role();
            ctx.out.ok();
        }
        b"setslot" => setslot(ctx, cl, &a)?,
        b"replicas" | b"slaves" => {
            arity(argc == 3)?;
            let st = cl.state.read();
            let Some(n) = NodeId::parse(a.get(2)).and_then(|id| st.nodes.get(&id)) else {
                return Err(unknown_node(a.get(2)));
            };
            if !n.flags.primary {
                return Err("ERR The specified node is not a master".into());
            }
            let lines: Vec<String> = st.replicas_of(n.id).map(|r| st.node_text(r)).collect();
            ctx.out.array(lines.len());
            for l in lines {
                ctx.out.bulk(l.as_bytes());
            }
        }
        b"failover" => {
            let how = match a.get(2) {
                _ if argc > 3 => return Err(errors::SYNTAX.into()),
                b"" => shoal_cluster::bus::Manual::Default,
                m if eq_ic(m, "force") => shoal_cluster::bus::Manual::Force,
                m if eq_ic(m, "takeover") => shoal_cluster::bus::Manual::Takeover,
                _ => return Err(errors::SYNTAX.into()),
            };
            {
                let st = cl.state.read();
                let me = st.me();
                if me.flags.primary {
                    return Err("ERR You should send CLUSTER FAILOVER to a replica".into());
                }
                let Some(p) = me.primary_of.and_then(|p| st.nodes.get(&p)) else {
                    return Err("ERR I'm a replica but my master is unknown to me".into());
                };
                if how == shoal_cluster::bus::Manual::Default && (p.flags.fail || !p.connected) {
                    return Err(
                        "ERR Master is down or failed, please use CLUSTER FAILOVER FORCE".into(),
                    );
                }
            }
            let sent = cl
                .control
                .lock()
                .as_ref()
                .is_some_and(|tx| tx.send(Control::Failover(how)).is_ok());
            if !sent {
                return Err("ERR the cluster bus is not running".into());
            }
            ctx.out.ok();
        }
        b"slot-stats" => slot_stats(ctx, cl, &a)?,
        b"links" => {
            arity(argc == 2)?;
            let links: Vec<_> = cl
                .links
                .lock()
                .iter()
                .filter(|l| l.node.is_some())
                .cloned()
                .collect();
            ctx.out.array(links.len());
            for l in links {
                ctx.out.map(6);
                ctx.out.bulk(b"direction");
                ctx.out.bulk(l.direction.as_bytes());
                ctx.out.bulk(b"node");
                ctx.out
                    .bulk(l.node.map(|n| n.to_string()).unwrap_or_default().as_bytes());
                ctx.out.bulk(b"create-time");
                ctx.out.int(l.created_ms as i64);
                ctx.out.bulk(b"events");
                ctx.out.bulk(b"rw");
                ctx.out.bulk(b"send-buffer-allocated");
                ctx.out.int(0);
                ctx.out.bulk(b"send-buffer-used");
                ctx.out.int(0);
            }
        }
        b"help" => {
            let lines = [
                "CLUSTER <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
                "ADDSLOTS <slot> [<slot> ...]",
                "ADDSLOTSRANGE <start slot> <end slot> [<start slot> <end slot> ...]",
                "BUMPEPOCH",
                "CANCELSLOTMIGRATIONS",
                "COUNT-FAILURE-REPORTS <node-id>",
                "COUNTKEYSINSLOT <slot>",
                "DELSLOTS <slot> [<slot> ...]",
                "DELSLOTSRANGE <start slot> <end slot> [<start slot> <end slot> ...]",
                "FAILOVER [FORCE|TAKEOVER]",
                "FLUSHSLOTS",
                "FORGET <node-id>",
                "GETKEYSINSLOT <slot> <count>",
                "GETSLOTMIGRATIONS",
                "INFO",
                "KEYSLOT <key>",
                "LINKS",
                "MIGRATESLOTS SLOTSRANGE <start slot> <end slot> [...] NODE <node-id> [SLOTSRANGE ... NODE ...]",
                "MYID",
                "MYSHARDID",
                "NODES",
                "REPLICAS <node-id>",
                "REPLICATE <node-id>",
                "RESET [HARD|SOFT]",
                "SET-CONFIG-EPOCH <epoch>",
                "SETSLOT <slot> (IMPORTING <node-id>|MIGRATING <node-id>|STABLE|NODE <node-id>)",
                "SHARDS",
                "SLOTS",
                "SLOT-STATS SLOTSRANGE <start slot> <end slot> | ORDERBY <metric> [LIMIT <limit>] [ASC|DESC]",
                "SAVECONFIG",
                "HELP",
            ];
            crate::util::help(ctx.out, &lines);
        }
        _ => return Err(errors::unknown_subcommand(a.get(1), "cluster")),
    }
    // Slots may have left this node: their shard channels' subscribers are told.
    if matches!(
        sub.as_slice(),
        b"setslot" | b"delslots" | b"delslotsrange" | b"flushslots" | b"reset" | b"replicate"
    ) {
        ctx.shared.drop_moved_shard_channels();
    }
    Ok(())
}

/// READONLY — a replica may serve this client's reads.
fn readonly(ctx: &mut Ctx<'_>, _a: Args<'_>) -> CmdResult {
    cluster_of(ctx)?;
    ctx.client.readonly = true;
    ctx.out.ok();
    Ok(())
}

/// READWRITE
fn readwrite(ctx: &mut Ctx<'_>, _a: Args<'_>) -> CmdResult {
    cluster_of(ctx)?;
    ctx.client.readonly = false;
    ctx.out.ok();
    Ok(())
}

/// ASKING — the next command may touch a slot this node is importing.
fn asking(ctx: &mut Ctx<'_>, _a: Args<'_>) -> CmdResult {
    cluster_of(ctx)?;
    ctx.client.asking = true;
    ctx.out.ok();
    Ok(())
}

const NOKEY: (i32, i32, i32) = (0, 0, 0);

pub static COMMANDS: &[Spec] = &[
    cmd(
        "cluster",
        -2,
        0,
        NOKEY,
        Group::Cluster,
        "3.0.0",
        "A container for Redis Cluster commands.",
        cluster,
    )
    .subcommands(&[
        "migrateslots",
        "getslotmigrations",
        "cancelslotmigrations",
        "info",
        "myid",
        "myshardid",
        "nodes",
        "slots",
        "shards",
        "keyslot",
        "countkeysinslot",
        "getkeysinslot",
        "addslots",
        "delslots",
        "addslotsrange",
        "delslotsrange",
        "flushslots",
        "set-config-epoch",
        "bumpepoch",
        "saveconfig",
        "reset",
        "count-failure-reports",
        "meet",
        "forget",
        "replicate",
        "setslot",
        "replicas",
        "slaves",
        "failover",
        "slot-stats",
        "links",
        "help",
    ])
    .locking(crate::spec::Locking::Global),
    cmd(
        "readonly",
        1,
        FAST | LOADING | STALE,
        NOKEY,
        Group::Cluster,
        "3.0.0",
        "Enables read-only queries for a connection to a Redis Cluster replica node.",
        readonly,
    ),
    cmd(
        "readwrite",
        1,
        FAST | LOADING | STALE,
        NOKEY,
        Group::Cluster,
        "3.0.0",
        "Enables read-write queries for a connection to a Redis Cluster replica node.",
        readwrite,
    ),
    cmd(
        "asking",
        1,
        FAST,
        NOKEY,
        Group::Cluster,
        "3.0.0",
        "Signals that a cluster client is following an -ASK redirect.",
        asking,
    ),
];
