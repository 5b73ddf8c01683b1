//! Consumer groups: the last delivered id, the pending entries list (PEL) and the consumers,
//! each with its own view of the PEL (Redis's `streamCG`, `streamNACK`, `streamConsumer`).

use std::collections::{BTreeMap, BTreeSet};

use super::StreamId;

/// `entries_read` when it is not known (Redis's `SCG_INVALID_ENTRIES_READ`).
pub const INVALID_ENTRIES_READ: i64 = -1;

/// A consumer's `active_time` before its first successful interaction (Redis 7.2).
pub const NEVER_ACTIVE: i64 = -1;

/// A delivered, not yet acknowledged entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Nack {
    /// Unix ms of the last delivery.
    pub delivery_time: u64,
    pub delivery_count: u64,
    pub consumer: Box<[u8]>,
}

/// A consumer and its times, as Redis 7.2 keeps them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Consumer {
    /// Unix ms of the last attempted interaction: created, or named by XREADGROUP, XCLAIM or
    /// XAUTOCLAIM whatever they found (XINFO CONSUMERS' `idle`).
    pub seen_time: u64,
    /// Unix ms of the last successful one: an XREADGROUP that delivered new entries into the
    /// PEL, an XCLAIM or XAUTOCLAIM that claimed some; [`NEVER_ACTIVE`] before any (XINFO
    /// CONSUMERS' `inactive`).
    pub active_time: i64,
    pub pel: BTreeSet<StreamId>,
}

impl Consumer {
    pub fn new(seen_time: u64, active_time: i64) -> Consumer {
        Consumer {
            seen_time,
            active_time,
            pel: BTreeSet::new(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    pub last_id: StreamId,
    pub entries_read: i64,
    pub pel: BTreeMap<StreamId, Nack>,
    pub consumers: BTreeMap<Box<[u8]>, Consumer>,
}

impl Group {
    pub fn new(last_id: StreamId, entries_read: i64) -> Group {
        Group {
            last_id,
            entries_read,
            pel: BTreeMap::new(),
            consumers: BTreeMap::new(),
        }
    }

    /// The consumer `name`, created if absent (`true` when it was): seen now, never active.
    pub fn consumer(&mut self, name: &[u8], now: u64) -> (&mut Consumer, bool) {
        let created = !self.consumers.contains_key(name);
        let c = self
            .consumers
            .entry(name.into())
            .or_insert_with(|| Consumer::new(now, NEVER_ACTIVE));
        (c, created)
    }

    /// Creates consumer `name` (seen now, never active); false if it exists.
    pub fn create_consumer(&mut self, name: &[u8], now: u64) -> bool {
        self.consumer(name, now).1
    }

    /// Adds consumer `name` with the times a file or payload holds; false if it exists.
    pub fn load_consumer(&mut self, name: &[u8], seen_time: u64, active_time: i64) -> bool {
        if self.consumers.contains_key(name) {
            return false;
        }
        self.consumers
            .insert(name.into(), Consumer::new(seen_time, active_time));
        true
    }

    /// The consumer `name` for an XREADGROUP, XCLAIM or XAUTOCLAIM at `now`: created if absent
    /// (`true` when it was), its seen time set to now whatever the command then finds.
    pub fn touch_consumer(&mut self, name: &[u8], now: u64) -> bool {
        let (c, created) = self.consumer(name, now);
        c.seen_time = now;
        created
    }

    /// Records that consumer `name` got entries at `now` (its active time).
    pub fn mark_active(&mut self, name: &[u8], now: u64) {
        if let Some(c) = self.consumers.get_mut(name) {
            c.active_time = now as i64;
        }
    }

    /// Deletes consumer `name` and its pending entries: how many it had (`None`: no consumer).
    pub fn delete_consumer(&mut self, name: &[u8]) -> Option<usize> {
        let c = self.consumers.remove(name)?;
        for id in &c.pel {
            self.pel.remove(id);
        }
        Some(c.pel.len())
    }

    /// Acknowledges `id`: true if it was pending.
    pub fn ack(&mut self, id: StreamId) -> bool {
        let Some(n) = self.pel.remove(&id) else {
            return false;
        };
        if let Some(c) = self.consumers.get_mut(&n.consumer) {
            c.pel.remove(&id);
        }
        true
    }

    /// Records a delivery of `id` to `consumer` (which exists): a new NACK, or the existing one
    /// moved to it with its count and time updated as Redis does for a claim.
    pub fn deliver(&mut self, id: StreamId, consumer: &[u8], now: u64, count: u64) {
        match self.pel.get_mut(&id) {
            Some(n) => {
                if *n.consumer != *consumer {
                    if let Some(old) = self.consumers.get_mut(&n.consumer) {
                        old.pel.remove(&id);
                    }
                    n.consumer = consumer.into();
                }
                n.delivery_time = now;
                n.delivery_count = count;
            }
            None => {
                self.pel.insert(
                    id,
                    Nack {
                        delivery_time: now,
                        delivery_count: count,
                        consumer: consumer.into(),
                    },
                );
            }
        }
        if let Some(c) = self.consumers.get_mut(consumer) {
            c.pel.insert(id);
        }
    }

    pub fn heap_size(&self) -> usize {
        self.pel.len() * 64
            + self
                .consumers
                .iter()
                .map(|(k, c)| k.len() + 48 + c.pel.len() * 24)
                .sum::<usize>()
    }
}
