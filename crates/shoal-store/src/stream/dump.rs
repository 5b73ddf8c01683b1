//! The body of a stream's DUMP payload (after its type tag), and its parser.
//!
//! ```text
//! last_id, max_deleted_id (u64 ms, u64 seq each), entries_added u64, entry count u64
//! entries   id (u64, u64), pairs u32, then field/value items (u32 length, bytes)
//! groups    count u32; each: name item, last_id, entries_read i64,
//!           consumers u32 × (name item, seen_time u64, active_time i64 [tag 8 only]),
//!           pel u32 × (id, delivery_time u64, delivery_count u64, consumer name item)
//! ```
//! The payload's type tag says which form: 6 (older shoal) has no active times, and a consumer
//! read from it gets its seen time as its active time, as Redis 7.2 does for a 7.0 RDB file;
//! 8 has them. All integers little-endian. The parser refuses anything DUMP would not write (ids out of
//! order, duplicates, a NACK of an unknown consumer), and allocates only as it reads.

use super::{Group, NodeLimits, Stream, StreamId};

fn put_u64(out: &mut Vec<u8>, n: u64) {
    out.extend_from_slice(&n.to_le_bytes());
}

fn put_u32(out: &mut Vec<u8>, n: usize) {
    out.extend_from_slice(&(n as u32).to_le_bytes());
}

fn put_item(out: &mut Vec<u8>, b: &[u8]) {
    put_u32(out, b.len());
    out.extend_from_slice(b);
}

fn put_id(out: &mut Vec<u8>, id: StreamId) {
    put_u64(out, id.ms);
    put_u64(out, id.seq);
}

pub fn write(s: &Stream, out: &mut Vec<u8>) {
    put_id(out, s.last_id);
    put_id(out, s.max_deleted_id);
    put_u64(out, s.entries_added);
    put_u64(out, s.len());
    s.for_each(|e| {
        put_id(out, e.id);
        put_u32(out, e.fields.len());
        for (f, v) in e.fields.iter() {
            put_item(out, f);
            put_item(out, v);
        }
        true
    });
    put_u32(out, s.groups.len());
    for (name, g) in &s.groups {
        put_item(out, name);
        put_id(out, g.last_id);
        put_u64(out, g.entries_read as u64);
        put_u32(out, g.consumers.len());
        for (cname, c) in &g.consumers {
            put_item(out, cname);
            put_u64(out, c.seen_time);
            put_u64(out, c.active_time as u64);
        }
        put_u32(out, g.pel.len());
        for (id, n) in &g.pel {
            put_id(out, *id);
            put_u64(out, n.delivery_time);
            put_u64(out, n.delivery_count);
            put_item(out, &n.consumer);
        }
    }
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.0.len() < n {
            return None;
        }
        let (a, b) = self.0.split_at(n);
        self.0 = b;
        Some(a)
    }

    fn u64(&mut self) -> Option<u64> {
        Some(u64::from_le_bytes(self.take(8)?.try_into().ok()?))
    }

    fn u32(&mut self) -> Option<usize> {
        Some(u32::from_le_bytes(self.take(4)?.try_into().ok()?) as usize)
    }

    fn id(&mut self) -> Option<StreamId> {
        Some(StreamId::new(self.u64()?, self.u64()?))
    }

    fn item(&mut self) -> Option<&'a [u8]> {
        let n = self.u32()?;
        self.take(n)
    }
}

/// Parses a body written by [`write`] (`active_times`), or by an older shoal that wrote no
/// active times; `None` when malformed.
pub fn read(body: &[u8], active_times: bool) -> Option<Stream> {
    let mut r = Reader(body);
    let last_id = r.id()?;
    let max_deleted = r.id()?;
    let added = r.u64()?;
    let count = r.u64()?;
    let mut s = Stream::default();
    let limits = NodeLimits::current();
    let mut items: Vec<&[u8]> = Vec::new();
    let mut prev: Option<StreamId> = None;
    for _ in 0..count {
        let id = r.id()?;
        if prev.is_some_and(|p| id <= p) || id > last_id || (prev.is_none() && id.is_zero()) {
            return None;
        }
        prev = Some(id);
        let pairs = r.u32()?;
        if pairs == 0 || pairs > r.0.len() / 8 {
            return None;
        }
        items.clear();
        for _ in 0..2 * pairs {
            items.push(r.item()?);
        }
        s.append(id, pairs, items.iter().copied(), limits);
    }
    if added < count {
        return None;
    }
    s.last_id = last_id;
    s.max_deleted_id = max_deleted;
    s.entries_added = added;
    let ngroups = r.u32()?;
    for _ in 0..ngroups {
        let name: Box<[u8]> = r.item()?.into();
        let glast = r.id()?;
        let read = r.u64()? as i64;
        let mut g = Group::new(glast, read);
        let nc = r.u32()?;
        for _ in 0..nc {
            let cname = r.item()?;
            let seen = r.u64()?;
            let active = if active_times {
                r.u64()? as i64
            } else {
                seen as i64
            };
            if !g.load_consumer(cname, seen, active) {
                return None;
            }
        }
        let np = r.u32()?;
        for _ in 0..np {
            let id = r.id()?;
            let time = r.u64()?;
            let cnt = r.u64()?;
            let cname = r.item()?;
            if g.pel.contains_key(&id) || !g.consumers.contains_key(cname) {
                return None;
            }
            g.deliver(id, cname, time, cnt);
        }
        if s.groups.insert(name, g).is_some() {
            return None;
        }
    }
    r.0.is_empty().then_some(s)
}
