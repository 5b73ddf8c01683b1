//! Streams in RDB files: `STREAM_LISTPACKS_2` (type 19) as Redis 7.0 writes it, and types 15
//! (Redis 5/6), 19 and 21 (Redis 7.2) read back. Type 19 is still what is written, so that
//! redis-server 7.0 loads the files (it refuses type 21): the consumers' active times are not
//! saved, and a consumer loaded from type 15 or 19 gets its seen time as its active time, as
//! Redis 7.2 does.
//!
//! ```text
//! nodes      count, then per node: master id (16 bytes, ms and seq big-endian), listpack
//! listpack   master entry: live count, deleted count, field count, fields…, 0
//!            each entry: flags, ms - master.ms, seq - master.seq,
//!                        [field count, fields/values… | values… when SAMEFIELDS], lp-count
//! metadata   length, last id (ms, seq) [, first id, max deleted id, entries added: 19+]
//! groups     count, then per group: name, last id (ms, seq) [, entries read: 19+],
//!            global PEL: count × (raw id, delivery time u64 LE, delivery count),
//!            consumers: count × (name, seen time u64 LE [, active time: 21],
//!                                PEL: count × raw id)
//! ```
//! Ids, counts and times other than the raw ones are RDB lengths.

use std::collections::BTreeMap;

use super::listpack::{self, Builder};
use super::reader::Reader;
use super::writer::Writer;
use super::{RdbError, T_STREAM_LISTPACKS, T_STREAM_LISTPACKS_3};
use crate::stream::{Group, INVALID_ENTRIES_READ, NodeLimits, Stream, StreamId};

const DELETED: i64 = 1;
const SAME: i64 = 2;

pub(super) fn raw_id(id: StreamId) -> [u8; 16] {
    let mut b = [0u8; 16];
    b[..8].copy_from_slice(&id.ms.to_be_bytes());
    b[8..].copy_from_slice(&id.seq.to_be_bytes());
    b
}

fn int_item(b: &mut Builder, n: i64) {
    b.push(itoa::Buffer::new().format(n).as_bytes());
}

/// One node as Redis's listpack (`streamAppendItem`'s layout).
pub(super) fn node_listpack(master: StreamId, node: &crate::stream::Node) -> Vec<u8> {
    let mut b = Builder::default();
    let nf = node.master_field_count();
    int_item(&mut b, node.live() as i64);
    int_item(&mut b, node.deleted() as i64);
    int_item(&mut b, nf as i64);
    for f in node.master_fields() {
        b.push(f);
    }
    int_item(&mut b, 0);
    for r in node.entries(master) {
        let same = r.fields.same_as_master();
        let flags = if same { SAME } else { 0 } | if r.deleted { DELETED } else { 0 };
        int_item(&mut b, flags);
        int_item(&mut b, r.id.ms.wrapping_sub(master.ms) as i64);
        int_item(&mut b, r.id.seq.wrapping_sub(master.seq) as i64);
        let n = r.fields.len();
        if !same {
            int_item(&mut b, n as i64);
        }
        for (f, v) in r.fields.iter() {
            if !same {
                b.push(f);
            }
            b.push(v);
        }
        let lp_count = 3 + n + if same { 0 } else { n + 1 };
        int_item(&mut b, lp_count as i64);
    }
    b.finish()
}

/// The value part of a type-19 stream (Redis 7.0's `rdbSaveObject`).
pub(super) fn write(w: &mut Writer, s: &Stream) {
    let nodes = s.nodes();
    w.len(nodes.len() as u64);
    for (master, node) in nodes {
        w.string(&raw_id(*master));
        w.string(&node_listpack(*master, node));
    }
    w.len(s.len());
    for id in [s.last_id, s.first_id, s.max_deleted_id] {
        w.len(id.ms);
        w.len(id.seq);
    }
    w.len(s.entries_added);
    w.len(s.groups.len() as u64);
    for (name, g) in &s.groups {
        w.string(name);
        w.len(g.last_id.ms);
        w.len(g.last_id.seq);
        w.len(g.entries_read as u64);
        w.len(g.pel.len() as u64);
        for (id, n) in &g.pel {
            w.raw(&raw_id(*id));
            w.raw(&n.delivery_time.to_le_bytes());
            w.len(n.delivery_count);
        }
        w.len(g.consumers.len() as u64);
        for (cname, c) in &g.consumers {
            w.string(cname);
            w.raw(&c.seen_time.to_le_bytes());
            w.len(c.pel.len() as u64);
            for id in &c.pel {
                w.raw(&raw_id(*id));
            }
        }
    }
}

fn int(item: &[u8]) -> Option<i64> {
    std::str::from_utf8(item).ok()?.parse().ok()
}

/// Appends the live entries of one node's listpack to `s`; `prev` is the last id seen.
fn read_node(
    s: &mut Stream,
    master: StreamId,
    lp: &[u8],
    prev: &mut Option<StreamId>,
    limits: NodeLimits,
) -> Result<(), &'static str> {
    let items = listpack::decode(lp)?;
    if items.is_empty() {
        return Err("Empty listpack inside stream");
    }
    let mut it = items.iter();
    let bad = "stream listpack is malformed";
    let next_int = |it: &mut std::slice::Iter<'_, Vec<u8>>| -> Result<i64, &'static str> {
        it.next().and_then(|x| int(x)).ok_or(bad)
    };
    let live = next_int(&mut it)?;
    let deleted = next_int(&mut it)?;
    let nf = next_int(&mut it)?;
    if live < 0 || deleted < 0 || nf <= 0 || nf as usize > it.len() {
        return Err(bad);
    }
    let nf = nf as usize;
    let fields: Vec<&[u8]> = it.by_ref().take(nf).map(|x| &x[..]).collect();
    if next_int(&mut it)? != 0 {
        return Err("stream listpack master entry without its terminator");
    }
    let (mut seen_live, mut seen_deleted) = (0i64, 0i64);
    let mut entry: Vec<&[u8]> = Vec::new();
    while it.len() > 0 {
        let flags = next_int(&mut it)?;
        let ms = next_int(&mut it)?;
        let seq = next_int(&mut it)?;
        if !(0..=3).contains(&flags) {
            return Err("stream entry with unknown flags");
        }
        let id = StreamId::new(
            master.ms.wrapping_add(ms as u64),
            master.seq.wrapping_add(seq as u64),
        );
        let same = flags & SAME != 0;
        entry.clear();
        let n = if same {
            if it.len() < nf {
                return Err(bad);
            }
            for f in &fields {
                entry.push(f);
                entry.push(it.next().ok_or(bad)?);
            }
            nf
        } else {
            let n = next_int(&mut it)?;
            if n <= 0 || n as usize > it.len() / 2 {
                return Err(bad);
            }
            for _ in 0..2 * n {
                entry.push(it.next().ok_or(bad)?);
            }
            n as usize
        };
        let lp_count = 3 + n + if same { 0 } else { n + 1 };
        if next_int(&mut it)? != lp_count as i64 {
            return Err("stream entry with a wrong lp-count");
        }
        if prev.is_some_and(|p| id <= p) || id.is_zero() {
            return Err("stream entry ids out of order");
        }
        *prev = Some(id);
        if flags & DELETED != 0 {
            seen_deleted += 1;
            continue;
        }
        seen_live += 1;
        s.append(id, n, entry.iter().copied(), limits);
    }
    if seen_live != live || seen_deleted != deleted {
        return Err("stream listpack entry counts do not match its master entry");
    }
    Ok(())
}

fn read_id(r: &mut Reader<'_>) -> Result<StreamId, RdbError> {
    Ok(StreamId::new(r.len()?, r.len()?))
}

fn read_raw_id(r: &mut Reader<'_>) -> Result<StreamId, RdbError> {
    let b = r.bytes(16)?;
    let mut ms = [0u8; 8];
    let mut seq = [0u8; 8];
    ms.copy_from_slice(&b[..8]);
    seq.copy_from_slice(&b[8..]);
    Ok(StreamId::new(
        u64::from_be_bytes(ms),
        u64::from_be_bytes(seq),
    ))
}

/// A stream value of type `t` (15, 19 or 21).
pub(super) fn read(r: &mut Reader<'_>, t: u8) -> Result<Stream, RdbError> {
    let mut s = Stream::default();
    let limits = NodeLimits::current();
    let mut prev = None;
    let nodes = r.count(2)?;
    for _ in 0..nodes {
        let key_at = r.offset();
        let key = r.string()?;
        if key.len() != 16 {
            return r.err(
                key_at,
                "Stream node key entry is not the size of a stream ID",
            );
        }
        let master = StreamId::new(
            u64::from_be_bytes(key[..8].try_into().unwrap_or_default()),
            u64::from_be_bytes(key[8..].try_into().unwrap_or_default()),
        );
        let lp_at = r.offset();
        let lp = r.string()?;
        if let Err(e) = read_node(&mut s, master, &lp, &mut prev, limits) {
            return r.err(lp_at, e);
        }
    }
    let meta_at = r.offset();
    let length = r.len()?;
    let last_id = read_id(r)?;
    if length != s.len() {
        return r.err(meta_at, "Stream length inconsistent with rax entries");
    }
    if prev.is_some_and(|p| p > last_id) {
        return r.err(meta_at, "Stream entry id above the stream's last id");
    }
    let first_id = s.first_id;
    s.last_id = last_id;
    if t == T_STREAM_LISTPACKS {
        s.max_deleted_id = StreamId::MIN;
        s.entries_added = length;
    } else {
        read_id(r)?;
        s.max_deleted_id = read_id(r)?;
        let added_at = r.offset();
        s.entries_added = r.len()?;
        if s.entries_added < length {
            return r.err(added_at, "Stream entries added below its length");
        }
    }
    // The recorded first id is the first live entry's (0-0 when empty): shoal keeps it so.
    s.first_id = first_id;
    let ngroups = r.count(4)?;
    for _ in 0..ngroups {
        let name_at = r.offset();
        let name = r.string()?;
        let glast = read_id(r)?;
        let read = if t == T_STREAM_LISTPACKS {
            s.meta().estimate_distance(glast)
        } else {
            let read_at = r.offset();
            let n = r.len()? as i64;
            // What XGROUP SETID ENTRIESREAD accepts: a count, or -1 for unknown.
            if n < INVALID_ENTRIES_READ {
                return r.err(read_at, "Stream cgroup offset is negative");
            }
            n
        };
        let mut g = Group::new(glast, read);
        // The global PEL: owners are known once the consumers are read.
        let mut pending = BTreeMap::new();
        let npel = r.count(16 + 8 + 1)?;
        for _ in 0..npel {
            let id_at = r.offset();
            let id = read_raw_id(r)?;
            let time = r.u64_le()?;
            let count = r.len()?;
            if pending.insert(id, (time, count)).is_some() {
                return r.err(
                    id_at,
                    "Duplicated global PEL entry loading stream consumer group",
                );
            }
        }
        let min = if t == T_STREAM_LISTPACKS_3 { 18 } else { 10 };
        let nconsumers = r.count(min)?;
        for _ in 0..nconsumers {
            let c_at = r.offset();
            let cname = r.string()?;
            let seen = r.u64_le()?;
            // Redis 7.2 writes the active time; for an older file it takes the seen time as
            // the best estimate there is.
            let active = if t == T_STREAM_LISTPACKS_3 {
                r.u64_le()? as i64
            } else {
                seen as i64
            };
            if !g.load_consumer(&cname, seen, active) {
                return r.err(c_at, "Duplicate stream consumer detected.");
            }
            let n = r.count(16)?;
            for _ in 0..n {
                let id_at = r.offset();
                let id = read_raw_id(r)?;
                let Some((time, count)) = pending.remove(&id) else {
                    let what = if g.pel.contains_key(&id) {
                        "Duplicated consumer PEL entry loading a stream consumer group"
                    } else {
                        "Consumer entry not found in group global PEL"
                    };
                    return r.err(id_at, what);
                };
                g.deliver(id, &cname, time, count);
            }
        }
        if !pending.is_empty() {
            return r.err(name_at, "Stream CG PEL entry without consumer");
        }
        if s.groups.insert(name.into(), g).is_some() {
            return r.err(name_at, "Duplicated consumer group name");
        }
    }
    Ok(s)
}

/// The bytes of a stream's value in an RDB file (uncompressed), for DEBUG OBJECT.
pub fn saved_len(s: &Stream) -> usize {
    let mut w = Writer::bare();
    write(&mut w, s);
    w.pending()
}
