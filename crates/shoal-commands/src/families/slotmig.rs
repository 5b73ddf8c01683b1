//! Atomic slot migration commands (see `crate::slotmig` for the protocol):
//! `CLUSTER MIGRATESLOTS | GETSLOTMIGRATIONS | CANCELSLOTMIGRATIONS` as Valkey 9 names them, and
//! `SYNCSLOTS`, the internal command a source sends its target.

use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;

use shoal_cluster::NodeId;
use shoal_resp::Args;

use crate::ctx::{Cluster, Ctx};
use crate::errors::{self, CmdError, CmdResult};
use crate::slotmig::{Job, Op, parse_ranges_text, ranges_text, slots_of};
use crate::spec::{Group, Spec, cmd, flags::*};
use crate::util::eq_ic;

fn cluster_of<'a>(ctx: &Ctx<'a>) -> Result<&'a Cluster, CmdError> {
    ctx.shared.cluster.as_ref().ok_or(CmdError::from(
        "ERR This instance has cluster support disabled",
    ))
}

fn slot_arg(a: &[u8]) -> Result<u16, CmdError> {
    match shoal_resp::parse_i64(a) {
        Some(n) if (0..shoal_cluster::SLOTS as i64).contains(&n) => Ok(n as u16),
        _ => Err("ERR Invalid or out of range slot".into()),
    }
}

/// `CLUSTER MIGRATESLOTS SLOTSRANGE start end [start end ...] NODE id [SLOTSRANGE ... NODE id ...]`:
/// checks everything first, then queues one export job per NODE group.
pub fn migrateslots(ctx: &mut Ctx<'_>, a: &Args<'_>) -> CmdResult {
    let cl = cluster_of(ctx)?;
    let mut groups: Vec<(Vec<(u16, u16)>, NodeId)> = Vec::new();
    let mut i = 2;
    while i < a.len() {
        if !eq_ic(a.get(i), "slotsrange") {
            return Err(errors::SYNTAX.into());
        }
        i += 1;
        let mut ranges = Vec::new();
        while i < a.len() && !eq_ic(a.get(i), "node") {
            if i + 1 >= a.len() {
                return Err("ERR No end slot for final slot range".into());
            }
            let (s, e) = (slot_arg(a.get(i))?, slot_arg(a.get(i + 1))?);
            if s > e {
                return Err(format!(
                    "ERR Start slot number {s} is greater than end slot number {e}."
                )
                .into());
            }
            ranges.push((s, e));
            i += 2;
        }
        if ranges.is_empty() {
            return Err("ERR No slot ranges specified".into());
        }
        if i + 1 >= a.len() {
            return Err(errors::SYNTAX.into());
        }
        let id = a.get(i + 1);
        let node = NodeId::parse(id).ok_or_else(|| unknown(id))?;
        groups.push((ranges, node));
        i += 2;
    }
    if groups.is_empty() {
        return Err(errors::arity("cluster|migrateslots"));
    }
    let now = ctx.ks.now;
    {
        let st = cl.state.read();
        if !st.me().flags.primary {
            return Err("ERR Slot migration can only be started on a primary".into());
        }
        let mut seen: Vec<(u16, u16)> = Vec::new();
        for (ranges, node) in &groups {
            match st.nodes.get(node) {
                None => return Err(unknown(node.as_str().as_bytes())),
                Some(n) if !n.flags.primary => {
                    return Err("ERR Target node is not a primary".into());
                }
                Some(n) if n.flags.myself => {
                    return Err("ERR Can't migrate slots to myself".into());
                }
                Some(n) if n.flags.fail || n.flags.pfail => {
                    return Err("ERR Target node is not reachable".into());
                }
                _ => {}
            }
            for &(s, e) in ranges {
                if let Some(&(ps, pe)) = seen.iter().find(|&&(ps, pe)| s <= pe && ps <= e) {
                    return Err(format!(
                        "ERR Slot range {s}-{e} overlaps with previous range {ps}-{pe}."
                    )
                    .into());
                }
                seen.push((s, e));
                for slot in s..=e {
                    if st.owner_id(slot) != Some(st.myself) {
                        return Err(format!("ERR I'm not the owner of hash slot {slot}").into());
                    }
                    if st.migrating.contains_key(&slot)
                        || st.importing.contains_key(&slot)
                        || ctx.shared.migrations.busy_slot(slot)
                    {
                        return Err(format!("ERR Slot {slot} is already being migrated").into());
                    }
                }
            }
        }
    }
    for (ranges, target) in groups {
        crate::slotmig::queue_export(ctx.shared, ranges, target, now)
            .map_err(|e| CmdError::from(format!("ERR {e}")))?;
    }
    ctx.out.ok();
    Ok(())
}

fn unknown(id: &[u8]) -> CmdError {
    format!("ERR Unknown node {}", String::from_utf8_lossy(id)).into()
}

/// `CLUSTER GETSLOTMIGRATIONS`: one map per job, active and recently finished.
pub fn getslotmigrations(ctx: &mut Ctx<'_>) -> CmdResult {
    cluster_of(ctx)?;
    let jobs = ctx.shared.migrations.jobs.lock();
    ctx.out.array(jobs.len());
    for j in jobs.iter() {
        ctx.out.map(10);
        let op = match j.op {
            Op::Export => "EXPORT",
            Op::Import => "IMPORT",
        };
        let fields: [(&str, String); 9] = [
            ("name", j.name.clone()),
            ("operation", op.to_string()),
            ("slot_ranges", ranges_text(&j.ranges)),
            ("target_node", j.target.as_str().to_string()),
            ("source_node", j.source.as_str().to_string()),
            ("state", j.state.to_string()),
            ("message", j.message.clone()),
            ("create_time", (j.created_ms / 1000).to_string()),
            ("last_update_time", (j.updated_ms / 1000).to_string()),
        ];
        for (k, v) in fields {
            ctx.out.bulk(k.as_bytes());
            ctx.out.bulk(v.as_bytes());
        }
        ctx.out.bulk(b"keys");
        ctx.out.int(j.keys.load(Relaxed) as i64);
    }
    Ok(())
}

/// `CLUSTER CANCELSLOTMIGRATIONS`: stops every unfinished export of this node (the source keeps
/// its slots; the target drops what it received).
pub fn cancelslotmigrations(ctx: &mut Ctx<'_>) -> CmdResult {
    cluster_of(ctx)?;
    let now = ctx.ks.now;
    let m = &ctx.shared.migrations;
    let mut pending = Vec::new();
    for j in m
        .jobs
        .lock()
        .iter()
        .filter(|j| j.op == Op::Export && j.active())
    {
        j.cancel.store(true, Relaxed);
        if j.state == "pending" {
            pending.push(j.name.clone());
        }
    }
    // A running job stops at its next step; one still queued ends here.
    for name in pending {
        m.update(
            &name,
            "cancelled",
            "cancelled by CLUSTER CANCELSLOTMIGRATIONS",
            now,
        );
    }
    ctx.out.ok();
    Ok(())
}

/// Deletes the keys of `slots` this node does not own, replicating the deletions with the
/// current command.
fn drop_unowned(ctx: &mut Ctx<'_>, cl: &Cluster, slots: &[u16]) -> usize {
    let mut gone: Vec<Box<[u8]>> = Vec::new();
    for s in crate::slotmig::unowned(cl, slots) {
        gone.extend(ctx.ks.store.purge_slot(0, s, ctx.ks.now));
    }
    if gone.is_empty() {
        ctx.propagate_nothing();
    } else {
        let mut del: Vec<&[u8]> = vec![b"DEL"];
        del.extend(gone.iter().map(|k| &k[..]));
        ctx.propagate_as(&del);
    }
    gone.len()
}

/// `SYNCSLOTS ESTABLISH name source-id ranges | DATA records | FINISH name | ABORT name reason`.
fn syncslots(ctx: &mut Ctx<'_>, a: Args<'_>) -> CmdResult {
    let cl = cluster_of(ctx)?;
    let sub = a.get(1).to_ascii_lowercase();
    let now = ctx.ks.now;
    match sub.as_slice() {
        b"establish" if a.len() == 5 => {
            let raw = a.get(2);
            if raw.is_empty() || raw.len() > 64 || !raw.iter().all(u8::is_ascii_alphanumeric) {
                return Err("ERR Invalid slot migration name".into());
            }
            let name = String::from_utf8_lossy(raw).into_owned();
            let ranges = parse_ranges_text(&String::from_utf8_lossy(a.get(4)))
                .ok_or(CmdError::from("ERR Invalid slot ranges"))?;
            let source = {
                let st = cl.state.read();
                if !st.me().flags.primary {
                    return Err("ERR Slot import target is not a primary".into());
                }
                let source = NodeId::parse(a.get(3))
                    .filter(|id| st.nodes.contains_key(id))
                    .ok_or_else(|| unknown(a.get(3)))?;
                for slot in slots_of(&ranges) {
                    if st.owner_id(slot) == Some(st.myself) {
                        return Err(format!("ERR I'm already the owner of hash slot {slot}").into());
                    }
                    if st.importing.contains_key(&slot) || ctx.shared.migrations.busy_slot(slot) {
                        return Err(format!("ERR Slot {slot} is already being migrated").into());
                    }
                }
                source
            };
            if ctx.client.slot_import.is_some() {
                return Err("ERR This connection already brings a slot import".into());
            }
            // What an earlier attempt left behind goes first.
            drop_unowned(ctx, cl, &slots_of(&ranges));
            let me = cl.state.read().myself;
            tracing::info!(
                "Slot import {name} of {} from {source} started",
                ranges_text(&ranges)
            );
            ctx.shared.migrations.jobs.lock().push(Job {
                name: name.clone(),
                op: Op::Import,
                ranges,
                source,
                target: me,
                state: "receiving",
                message: String::new(),
                created_ms: now,
                updated_ms: now,
                keys: Arc::default(),
                cancel: Arc::default(),
                client: ctx.client.id,
            });
            ctx.client.slot_import = Some(name);
        }
        b"data" if a.len() == 3 => {
            let blob = a.get(2);
            let (records, used) = shoal_store::snapshot::read_records(blob);
            if used != blob.len() {
                return Err("ERR Malformed slot migration records".into());
            }
            // The primary's stream (on the target's replicas) is applied as it comes.
            if !ctx.client.is_master {
                let jobs = ctx.shared.migrations.jobs.lock();
                let job = ctx
                    .client
                    .slot_import
                    .as_ref()
                    .and_then(|n| jobs.iter().find(|j| &j.name == n && j.active()))
                    .ok_or(CmdError::from("ERR No slot import on this connection"))?;
                if let Some(r) = records
                    .iter()
                    .find(|r| r.0 != 0 || !job.has_slot(shoal_cluster::key_slot(r.1).0))
                {
                    return Err(format!(
                        "ERR Key {} is outside the slots being imported",
                        String::from_utf8_lossy(r.1)
                    )
                    .into());
                }
                job.keys.fetch_add(records.len() as u64, Relaxed);
            }
            for (db, key, expire, payload) in records {
                crate::slotmig::apply_record(ctx.ks.store, db as usize, key, expire, payload, now)
                    .map_err(|_| CmdError::from("ERR Bad data format"))?;
            }
        }
        b"finish" if a.len() == 3 => {
            let name = own_import(ctx, a.get(2))?;
            let slots = ctx.shared.migrations.slots_of_job(&name);
            let epoch = {
                let mut st = cl.state.write();
                let (_, epoch) = st.bump_epoch();
                let me = st.myself;
                for &s in &slots {
                    st.assign(s, me);
                }
                st.update_state();
                epoch
            };
            cl.save_with(true).map_err(|e| {
                CmdError::from(format!("ERR error saving the cluster node config: {e}"))
            })?;
            tracing::info!(
                "Slot import {name} finished: {} slots are mine (configEpoch {epoch})",
                slots.len()
            );
            // Every node learns the new owner at once, not at its next gossip round.
            cl.announce();
            ctx.shared.migrations.update(&name, "success", "", now);
            ctx.client.slot_import = None;
            ctx.propagate_nothing();
        }
        b"abort" if a.len() == 4 => {
            let name = own_import(ctx, a.get(2))?;
            let why = String::from_utf8_lossy(a.get(3)).into_owned();
            let slots = ctx.shared.migrations.slots_of_job(&name);
            let n = drop_unowned(ctx, cl, &slots);
            tracing::warn!("Slot import {name} aborted by the source ({why}); dropped {n} keys");
            let state = if why.contains("cancel") {
                "cancelled"
            } else {
                "failed"
            };
            ctx.shared.migrations.update(&name, state, &why, now);
            ctx.client.slot_import = None;
        }
        _ => return Err(errors::unknown_subcommand(a.get(1), "syncslots")),
    }
    ctx.out.ok();
    Ok(())
}

/// The import this connection brings, if `name` is it.
fn own_import(ctx: &Ctx<'_>, name: &[u8]) -> Result<String, CmdError> {
    match &ctx.client.slot_import {
        Some(n) if n.as_bytes() == name => Ok(n.clone()),
        _ => Err("ERR No such slot import on this connection".into()),
    }
}

pub static COMMANDS: &[Spec] = &[cmd(
    "syncslots",
    -2,
    WRITE | ADMIN | NO_MULTI | NOSCRIPT,
    (0, 0, 0),
    Group::Cluster,
    "9.0.0",
    "Internal: carries an atomic slot migration from its source to its target.",
    syncslots,
)];
