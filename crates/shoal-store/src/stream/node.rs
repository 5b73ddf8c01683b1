//! One stream node: a run of entries packed into one buffer, as Redis's listpack nodes.
//!
//! ```text
//! header   varint nf, then nf master field names (varint length, bytes)
//! entry    flags u8 (bit 0 deleted, bit 1 same fields as the master)
//!          varint ms - master.ms
//!          varint seq - master.seq when ms equals the master's, else seq
//!          same fields: nf values (varint length, bytes)
//!          else: varint n, then n field/value pairs
//! ```
//!
//! The master id is the node's key in the stream's map (the id of its first entry). Deleted
//! entries stay in place, flagged, until the whole node goes (as in Redis).

use super::StreamId;
use crate::varint;

const DELETED: u8 = 1;
const SAME: u8 = 2;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    buf: Vec<u8>,
    /// Entries written, deleted ones included.
    pub(super) count: u32,
    /// Entries not deleted.
    pub(super) live: u32,
    /// Where the first entry starts (the header's length).
    hdr: u32,
}

#[inline]
fn get(b: &[u8], pos: &mut usize) -> usize {
    let (n, k) = varint::read(&b[*pos..]).unwrap_or((0, 1));
    *pos += k;
    n
}

#[inline]
fn get_bytes<'a>(b: &'a [u8], pos: &mut usize) -> &'a [u8] {
    let n = get(b, pos);
    let s = &b[*pos..*pos + n];
    *pos += n;
    s
}

fn put_bytes(out: &mut Vec<u8>, s: &[u8]) {
    varint::push(out, s.len());
    out.extend_from_slice(s);
}

/// The fields of one entry (field, value pairs).
#[derive(Clone, Copy)]
pub struct Fields<'a> {
    /// Field names: the master's (walked in step with the values) or the entry's own.
    names: &'a [u8],
    data: &'a [u8],
    n: usize,
    same: bool,
}

impl<'a> Fields<'a> {
    /// Whether the entry uses its node's master field names (Redis's `SAMEFIELDS` flag).
    pub fn same_as_master(&self) -> bool {
        self.same
    }

    /// Number of field/value pairs.
    pub fn len(&self) -> usize {
        self.n
    }

    pub fn is_empty(&self) -> bool {
        self.n == 0
    }

    pub fn iter(&self) -> FieldIter<'a> {
        FieldIter {
            f: *self,
            npos: 0,
            dpos: 0,
            left: self.n,
        }
    }
}

pub struct FieldIter<'a> {
    f: Fields<'a>,
    npos: usize,
    dpos: usize,
    left: usize,
}

impl<'a> Iterator for FieldIter<'a> {
    type Item = (&'a [u8], &'a [u8]);

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        let f = if self.f.same {
            get_bytes(self.f.names, &mut self.npos)
        } else {
            get_bytes(self.f.data, &mut self.dpos)
        };
        let v = get_bytes(self.f.data, &mut self.dpos);
        Some((f, v))
    }
}

/// One decoded entry of a node.
#[derive(Clone, Copy)]
pub struct Raw<'a> {
    pub id: StreamId,
    pub deleted: bool,
    /// Offset of the entry's flags byte.
    pub off: usize,
    /// Offset just past the entry.
    pub end: usize,
    pub fields: Fields<'a>,
}

impl Node {
    /// A node whose master is the first entry's fields.
    pub fn new<'a, I>(n: usize, items: I) -> Node
    where
        I: Iterator<Item = &'a [u8]>,
    {
        let mut buf = Vec::with_capacity(64);
        varint::push(&mut buf, n);
        for f in items.step_by(2) {
            put_bytes(&mut buf, f);
        }
        let hdr = buf.len() as u32;
        Node {
            buf,
            count: 0,
            live: 0,
            hdr,
        }
    }

    pub fn bytes(&self) -> usize {
        self.buf.len()
    }

    pub fn heap_size(&self) -> usize {
        self.buf.capacity()
    }

    /// Gives back spare capacity (the node is full: no more appends).
    pub fn seal(&mut self) {
        self.buf.shrink_to_fit();
    }

    fn master_names(&self) -> (usize, &[u8]) {
        let mut pos = 0;
        let nf = get(&self.buf, &mut pos);
        (nf, &self.buf[pos..self.hdr as usize])
    }

    /// The master entry's field names, in order.
    pub fn master_fields(&self) -> impl Iterator<Item = &[u8]> {
        let (nf, names) = self.master_names();
        let mut pos = 0;
        (0..nf).map(move |_| get_bytes(names, &mut pos))
    }

    /// The master entry's field count.
    pub fn master_field_count(&self) -> usize {
        self.master_names().0
    }

    /// Entries not deleted.
    pub fn live(&self) -> u32 {
        self.live
    }

    /// Entries flagged deleted.
    pub fn deleted(&self) -> u32 {
        self.count - self.live
    }

    /// Whether the field names of `items` (field, value, …) are the master's, in order.
    fn same_fields<'a, I>(&self, n: usize, items: I) -> bool
    where
        I: Iterator<Item = &'a [u8]>,
    {
        let (nf, names) = self.master_names();
        if nf != n {
            return false;
        }
        let mut pos = 0;
        items.step_by(2).all(|f| get_bytes(names, &mut pos) == f)
    }

    /// Appends an entry (`items`: `n` field/value pairs, flattened). `master` is the node's key.
    pub fn append<'a, I>(&mut self, master: StreamId, id: StreamId, n: usize, items: I)
    where
        I: Iterator<Item = &'a [u8]> + Clone,
    {
        let same = self.same_fields(n, items.clone());
        self.buf.push(if same { SAME } else { 0 });
        varint::push(&mut self.buf, (id.ms - master.ms) as usize);
        if id.ms == master.ms {
            varint::push(&mut self.buf, (id.seq - master.seq) as usize);
        } else {
            varint::push(&mut self.buf, id.seq as usize);
        }
        if same {
            for v in items.skip(1).step_by(2) {
                put_bytes(&mut self.buf, v);
            }
        } else {
            varint::push(&mut self.buf, n);
            for b in items {
                put_bytes(&mut self.buf, b);
            }
        }
        self.count += 1;
        self.live += 1;
    }

    /// The bytes an entry would take at most (for the node size limit).
    pub fn entry_size<'a, I>(items: I) -> usize
    where
        I: Iterator<Item = &'a [u8]>,
    {
        21 + items.map(|b| b.len() + varint::len(b.len())).sum::<usize>()
    }

    /// Decodes the entry at `off` (a valid entry offset).
    #[inline]
    pub fn decode(&self, master: StreamId, off: usize) -> Raw<'_> {
        let b = &self.buf;
        let flags = b[off];
        let mut pos = off + 1;
        let dms = get(b, &mut pos) as u64;
        let s = get(b, &mut pos) as u64;
        let id = if dms == 0 {
            StreamId {
                ms: master.ms,
                seq: master.seq.wrapping_add(s),
            }
        } else {
            StreamId {
                ms: master.ms.wrapping_add(dms),
                seq: s,
            }
        };
        let same = flags & SAME != 0;
        let (nf, names) = self.master_names();
        let n = if same { nf } else { get(b, &mut pos) };
        let start = pos;
        let items = if same { n } else { 2 * n };
        for _ in 0..items {
            let len = get(b, &mut pos);
            pos += len;
        }
        Raw {
            id,
            deleted: flags & DELETED != 0,
            off,
            end: pos,
            fields: Fields {
                names,
                data: &b[start..pos],
                n,
                same,
            },
        }
    }

    /// Offset of the first entry.
    pub fn first_off(&self) -> usize {
        self.hdr as usize
    }

    pub fn end_off(&self) -> usize {
        self.buf.len()
    }

    /// Flags the entry at `off` deleted; false if it already was.
    pub fn mark_deleted(&mut self, off: usize) -> bool {
        if self.buf[off] & DELETED != 0 {
            return false;
        }
        self.buf[off] |= DELETED;
        self.live -= 1;
        true
    }

    /// Every entry, deleted ones included, in order.
    pub fn entries(&self, master: StreamId) -> impl Iterator<Item = Raw<'_>> {
        let mut off = self.first_off();
        let end = self.end_off();
        std::iter::from_fn(move || {
            if off >= end {
                return None;
            }
            let r = self.decode(master, off);
            off = r.end;
            Some(r)
        })
    }
}
