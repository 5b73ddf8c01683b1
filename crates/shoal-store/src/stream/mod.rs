//! The stream type: entries in id order, packed into nodes of at most `stream-node-max-bytes`
//! bytes and `stream-node-max-entries` entries (see `node`), keyed by their first id in a
//! B-tree (Redis's rax of listpacks), plus the consumer groups (see `group`).

pub mod dump;
mod group;
mod node;

use std::collections::BTreeMap;

pub use group::{Consumer, Group, INVALID_ENTRIES_READ, NEVER_ACTIVE, Nack};
pub use node::{FieldIter, Fields};
pub(crate) use node::{Node, Raw};

/// A stream entry id: milliseconds and a sequence number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct StreamId {
    pub ms: u64,
    pub seq: u64,
}

impl StreamId {
    pub const MIN: StreamId = StreamId { ms: 0, seq: 0 };
    pub const MAX: StreamId = StreamId {
        ms: u64::MAX,
        seq: u64::MAX,
    };

    pub const fn new(ms: u64, seq: u64) -> StreamId {
        StreamId { ms, seq }
    }

    /// The next id (`None` past the maximum).
    pub fn next(self) -> Option<StreamId> {
        match self.seq.checked_add(1) {
            Some(seq) => Some(StreamId { ms: self.ms, seq }),
            None => self.ms.checked_add(1).map(|ms| StreamId { ms, seq: 0 }),
        }
    }

    /// The previous id (`None` below 0-0).
    pub fn prev(self) -> Option<StreamId> {
        match self.seq.checked_sub(1) {
            Some(seq) => Some(StreamId { ms: self.ms, seq }),
            None => self
                .ms
                .checked_sub(1)
                .map(|ms| StreamId { ms, seq: u64::MAX }),
        }
    }

    pub fn is_zero(self) -> bool {
        self == StreamId::MIN
    }

    /// `ms-seq`, written into `buf` (no allocation): returns the used part.
    pub fn fmt_into(self, buf: &mut [u8; 41]) -> &[u8] {
        let mut a = itoa::Buffer::new();
        let ms = a.format(self.ms).as_bytes();
        let mut b = itoa::Buffer::new();
        let seq = b.format(self.seq).as_bytes();
        let n = ms.len();
        buf[..n].copy_from_slice(ms);
        buf[n] = b'-';
        buf[n + 1..n + 1 + seq.len()].copy_from_slice(seq);
        &buf[..n + 1 + seq.len()]
    }
}

impl std::fmt::Display for StreamId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}-{}", self.ms, self.seq)
    }
}

/// One live entry, borrowed.
#[derive(Clone, Copy)]
pub struct EntryRef<'a> {
    pub id: StreamId,
    pub fields: Fields<'a>,
}

/// What a trim removes: entries beyond a length, or below an id.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Trim {
    MaxLen(u64),
    MinId(StreamId),
}

/// Node size limits (`stream-node-max-bytes`, `stream-node-max-entries`; 0 = no limit).
#[derive(Clone, Copy, Debug)]
pub struct NodeLimits {
    pub max_bytes: usize,
    pub max_entries: usize,
}

impl NodeLimits {
    /// The limits configured now.
    pub fn current() -> NodeLimits {
        use std::sync::atomic::Ordering::Relaxed;
        let t = &crate::types::THRESHOLDS;
        NodeLimits {
            max_bytes: t.stream_node_bytes.load(Relaxed),
            max_entries: t.stream_node_entries.load(Relaxed),
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct Stream {
    nodes: BTreeMap<StreamId, Node>,
    len: u64,
    /// The last id ever added (or set by XSETID).
    pub last_id: StreamId,
    /// The first live entry's id (0-0 when empty).
    pub first_id: StreamId,
    pub max_deleted_id: StreamId,
    pub entries_added: u64,
    pub groups: BTreeMap<Box<[u8]>, Group>,
}

impl Stream {
    pub fn len(&self) -> u64 {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Nodes (XINFO's `radix-tree-keys`).
    pub fn node_count(&self) -> usize {
        self.nodes.len()
    }

    /// Appends an entry with id `id` (greater than `last_id`: the caller checks): `items` are
    /// `n` field/value pairs, flattened.
    pub fn append<'a, I>(&mut self, id: StreamId, n: usize, items: I, limits: NodeLimits)
    where
        I: Iterator<Item = &'a [u8]> + Clone,
    {
        let size = Node::entry_size(items.clone());
        let fits = match self.nodes.last_key_value() {
            Some((_, node)) => {
                (limits.max_bytes == 0 || node.bytes() + size <= limits.max_bytes)
                    && (limits.max_entries == 0 || (node.count as usize) < limits.max_entries)
            }
            None => false,
        };
        if !fits {
            if let Some(mut e) = self.nodes.last_entry() {
                e.get_mut().seal();
            }
            self.nodes.insert(id, Node::new(n, items.clone()));
        }
        if let Some(mut e) = self.nodes.last_entry() {
            let master = *e.key();
            e.get_mut().append(master, id, n, items);
        }
        if self.len == 0 {
            self.first_id = id;
        }
        self.len += 1;
        self.entries_added += 1;
        self.last_id = id;
    }

    /// Calls `f` for the live entries with ids in `start..=end`, in order (reverse order when
    /// `rev`), until it returns false.
    pub fn range<'s>(
        &'s self,
        start: StreamId,
        end: StreamId,
        rev: bool,
        mut f: impl FnMut(EntryRef<'s>) -> bool,
    ) {
        if start > end || self.len == 0 {
            return;
        }
        if !rev {
            let from = match self.nodes.range(..=start).next_back() {
                Some((k, _)) => *k,
                None => start,
            };
            for (master, node) in self.nodes.range(from..) {
                if *master > end {
                    return;
                }
                for r in node.entries(*master) {
                    if r.id > end {
                        return;
                    }
                    if r.deleted || r.id < start {
                        continue;
                    }
                    if !f(EntryRef {
                        id: r.id,
                        fields: r.fields,
                    }) {
                        return;
                    }
                }
            }
        } else {
            let mut offs: Vec<u32> = Vec::new();
            for (master, node) in self.nodes.range(..=end).rev() {
                offs.clear();
                let mut last_id = *master;
                offs.extend(node.entries(*master).map(|r| {
                    last_id = r.id;
                    r.off as u32
                }));
                if last_id < start {
                    return;
                }
                for &off in offs.iter().rev() {
                    let r = node.decode(*master, off as usize);
                    if r.id < start {
                        return;
                    }
                    if r.deleted || r.id > end {
                        continue;
                    }
                    if !f(EntryRef {
                        id: r.id,
                        fields: r.fields,
                    }) {
                        return;
                    }
                }
            }
        }
    }

    /// The live entry `id`, if any.
    pub fn get(&self, id: StreamId) -> Option<EntryRef<'_>> {
        let (master, node) = self.nodes.range(..=id).next_back()?;
        node.entries(*master)
            .take_while(|r| r.id <= id)
            .find(|r| r.id == id && !r.deleted)
            .map(|r| EntryRef {
                id: r.id,
                fields: r.fields,
            })
    }

    /// The first (or last) live entry.
    pub fn edge(&self, last: bool) -> Option<EntryRef<'_>> {
        let mut out = None;
        self.range(StreamId::MIN, StreamId::MAX, last, |e| {
            out = Some(e);
            false
        });
        out
    }

    fn refresh_first_id(&mut self) {
        self.first_id = self.edge(false).map_or(StreamId::MIN, |e| e.id);
    }

    /// Deletes entry `id` without updating `first_id` or `max_deleted_id`: true if it was live.
    fn delete_one(&mut self, id: StreamId) -> bool {
        let Some((&master, node)) = self.nodes.range_mut(..=id).next_back() else {
            return false;
        };
        let found = node
            .entries(master)
            .take_while(|r| r.id <= id)
            .find(|r| r.id == id && !r.deleted)
            .map(|r: Raw<'_>| r.off);
        let Some(off) = found else { return false };
        node.mark_deleted(off);
        if node.live == 0 {
            self.nodes.remove(&master);
        }
        self.len -= 1;
        true
    }

    /// XDEL: deletes the entries `ids` that exist; returns how many did.
    pub fn delete(&mut self, ids: impl IntoIterator<Item = StreamId>) -> u64 {
        let mut deleted = 0;
        let mut first = false;
        for id in ids {
            if self.delete_one(id) {
                first |= id == self.first_id;
                if id > self.max_deleted_id {
                    self.max_deleted_id = id;
                }
                deleted += 1;
            }
        }
        if deleted > 0 {
            if self.len == 0 {
                self.first_id = StreamId::MIN;
            } else if first {
                self.refresh_first_id();
            }
        }
        deleted
    }

    /// Trims as Redis's `streamTrim`: whole nodes first; with `approx` only whole nodes; at
    /// most `limit` entries (0: no limit). Returns the entries removed.
    pub fn trim(&mut self, how: Trim, approx: bool, limit: u64) -> u64 {
        let mut deleted = 0u64;
        loop {
            if let Trim::MaxLen(max) = how
                && self.len <= max
            {
                break;
            }
            let Some(mut e) = self.nodes.first_entry() else {
                break;
            };
            let master = *e.key();
            let node = e.get_mut();
            let entries = node.live as u64;
            if limit > 0 && deleted + entries > limit {
                break;
            }
            let remove = match how {
                Trim::MaxLen(max) => self.len - entries >= max,
                Trim::MinId(min) => node.entries(master).last().is_some_and(|r| r.id < min),
            };
            if remove {
                e.remove();
                self.len -= entries;
                deleted += entries;
                continue;
            }
            if approx {
                break;
            }
            let mut offs = Vec::new();
            let mut left = self.len;
            for r in node.entries(master) {
                if r.deleted {
                    continue;
                }
                let go = match how {
                    Trim::MaxLen(max) => left > max,
                    Trim::MinId(min) => r.id < min,
                };
                if !go {
                    break;
                }
                offs.push(r.off);
                left -= 1;
            }
            for off in offs {
                node.mark_deleted(off);
                self.len -= 1;
                deleted += 1;
            }
            if node.live == 0 {
                e.remove();
            }
            break;
        }
        if self.len == 0 {
            self.first_id = StreamId::MIN;
        } else {
            self.refresh_first_id();
        }
        deleted
    }

    /// The counters the lag computations read (copied, so a group can change meanwhile).
    pub fn meta(&self) -> Meta {
        Meta {
            len: self.len,
            first_id: self.first_id,
            last_id: self.last_id,
            max_deleted_id: self.max_deleted_id,
            entries_added: self.entries_added,
        }
    }

    /// A group's lag (`None`: unknown), as XINFO reports it.
    pub fn lag(&self, g: &Group) -> Option<i64> {
        self.meta().lag(g)
    }

    pub fn heap_size(&self) -> usize {
        self.nodes
            .values()
            .map(|n| n.heap_size() + 64)
            .sum::<usize>()
            + self
                .groups
                .iter()
                .map(|(k, g)| k.len() + 96 + g.heap_size())
                .sum::<usize>()
    }

    /// The nodes by master id (the RDB writer lays them out as Redis's listpacks).
    pub(crate) fn nodes(&self) -> &BTreeMap<StreamId, Node> {
        &self.nodes
    }

    /// Every live entry, for DUMP and the tests.
    pub fn for_each<'s>(&'s self, f: impl FnMut(EntryRef<'s>) -> bool) {
        self.range(StreamId::MIN, StreamId::MAX, false, f)
    }
}

/// A stream's counters, for the lag and entries-read rules of Redis 7.0.
#[derive(Clone, Copy, Debug)]
pub struct Meta {
    pub len: u64,
    pub first_id: StreamId,
    pub last_id: StreamId,
    pub max_deleted_id: StreamId,
    pub entries_added: u64,
}

impl Meta {
    /// Whether a deleted entry may lie in `start..=end` (Redis's `streamRangeHasTombstones`).
    pub fn range_has_tombstones(&self, start: StreamId, end: StreamId) -> bool {
        if self.len == 0 || self.max_deleted_id.is_zero() {
            return false;
        }
        if self.first_id > self.max_deleted_id {
            return false;
        }
        start <= self.max_deleted_id && self.max_deleted_id <= end
    }

    /// The logical read counter of `id` when it can be known (Redis's
    /// `streamEstimateDistanceFromFirstEverEntry`); `INVALID_ENTRIES_READ` otherwise.
    pub fn estimate_distance(&self, id: StreamId) -> i64 {
        if self.entries_added == 0 {
            return 0;
        }
        if self.len == 0 && id <= self.last_id {
            return self.entries_added as i64;
        }
        if id == self.last_id {
            return self.entries_added as i64;
        }
        if id > self.last_id {
            return INVALID_ENTRIES_READ;
        }
        if self.max_deleted_id.is_zero() || self.max_deleted_id < self.first_id {
            if id < self.first_id {
                return (self.entries_added - self.len) as i64;
            }
            if id == self.first_id {
                return (self.entries_added - self.len + 1) as i64;
            }
        }
        INVALID_ENTRIES_READ
    }

    /// A group's lag (`None`: unknown), as XINFO reports it.
    pub fn lag(&self, g: &Group) -> Option<i64> {
        if self.entries_added == 0 {
            return Some(0);
        }
        if g.entries_read != INVALID_ENTRIES_READ
            && !self.range_has_tombstones(g.last_id, StreamId::MAX)
        {
            return Some(self.entries_added as i64 - g.entries_read);
        }
        let read = self.estimate_distance(g.last_id);
        (read != INVALID_ENTRIES_READ).then(|| self.entries_added as i64 - read)
    }

    /// A group delivered `id` (greater than its last id): advances its last id and read
    /// counter as Redis does.
    pub fn advance_group(&self, g: &mut Group, id: StreamId) {
        if id <= g.last_id {
            return;
        }
        if g.entries_read != INVALID_ENTRIES_READ && !self.range_has_tombstones(id, StreamId::MAX) {
            g.entries_read += 1;
        } else if self.entries_added > 0 {
            g.entries_read = self.estimate_distance(id);
        }
        g.last_id = id;
    }
}

/// Streams are equal when their entries and metadata are (whatever their node layout).
impl PartialEq for Stream {
    fn eq(&self, o: &Stream) -> bool {
        if (
            self.len,
            self.last_id,
            self.first_id,
            self.max_deleted_id,
            self.entries_added,
        ) != (
            o.len,
            o.last_id,
            o.first_id,
            o.max_deleted_id,
            o.entries_added,
        ) || self.groups != o.groups
        {
            return false;
        }
        let mut mine = Vec::new();
        self.for_each(|e| {
            mine.push(e.id);
            true
        });
        let mut i = 0;
        let mut same = true;
        o.for_each(|e| {
            same = mine.get(i) == Some(&e.id)
                && self
                    .get(e.id)
                    .is_some_and(|m| m.fields.iter().eq(e.fields.iter()));
            i += 1;
            same
        });
        same
    }
}

impl Eq for Stream {}

#[cfg(test)]
mod tests;
