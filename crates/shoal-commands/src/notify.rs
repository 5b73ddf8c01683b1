//! Keyspace notifications (`notify-keyspace-events`): commands that change keys publish an event
//! on `__keyspace@<db>__:<key>` (the event's name as message) and `__keyevent@<db>__:<event>`
//! (the key as message), for the classes the setting enables.
//!
//! Off (the default) costs one relaxed load per event site: [`Ctx::notify`] checks the class
//! bits before building anything.

use std::sync::atomic::Ordering::Relaxed;

use crate::ctx::{Ctx, Shared};

/// Event classes, as Redis's `NOTIFY_*` bits.
pub const KEYSPACE: u32 = 1 << 0;
pub const KEYEVENT: u32 = 1 << 1;
pub const GENERIC: u32 = 1 << 2;
pub const STRING: u32 = 1 << 3;
pub const LIST: u32 = 1 << 4;
pub const SET: u32 = 1 << 5;
pub const HASH: u32 = 1 << 6;
pub const ZSET: u32 = 1 << 7;
pub const EXPIRED: u32 = 1 << 8;
pub const EVICTED: u32 = 1 << 9;
pub const STREAM: u32 = 1 << 10;
pub const KEY_MISS: u32 = 1 << 11;
pub const MODULE: u32 = 1 << 12;
pub const NEW: u32 = 1 << 13;
/// `A`: every class but key-miss and new.
pub const ALL: u32 =
    GENERIC | STRING | LIST | SET | HASH | ZSET | EXPIRED | EVICTED | STREAM | MODULE;

/// Parses Redis's class letters; `None` for a letter it does not know.
pub fn parse(s: &str) -> Option<u32> {
    let mut f = 0;
    for c in s.chars() {
        f |= match c {
            'A' => ALL,
            'g' => GENERIC,
            '$' => STRING,
            'l' => LIST,
            's' => SET,
            'h' => HASH,
            'z' => ZSET,
            'x' => EXPIRED,
            'e' => EVICTED,
            'K' => KEYSPACE,
            'E' => KEYEVENT,
            't' => STREAM,
            'm' => KEY_MISS,
            'd' => MODULE,
            'n' => NEW,
            _ => return None,
        };
    }
    Some(f)
}

/// The letters CONFIG GET shows for `flags`, in Redis's order.
pub fn format(flags: u32) -> String {
    let mut s = String::new();
    if flags & ALL == ALL {
        s.push('A');
    } else {
        for (bit, c) in [
            (GENERIC, 'g'),
            (STRING, '$'),
            (LIST, 'l'),
            (SET, 's'),
            (HASH, 'h'),
            (ZSET, 'z'),
            (EXPIRED, 'x'),
            (EVICTED, 'e'),
            (STREAM, 't'),
            (MODULE, 'd'),
            (NEW, 'n'),
        ] {
            if flags & bit != 0 {
                s.push(c);
            }
        }
    }
    for (bit, c) in [(KEYSPACE, 'K'), (KEYEVENT, 'E'), (KEY_MISS, 'm')] {
        if flags & bit != 0 {
            s.push(c);
        }
    }
    s
}

/// The bits events are checked against: nothing is sent unless K or E is set too.
pub fn effective(flags: u32) -> u32 {
    if flags & (KEYSPACE | KEYEVENT) == 0 {
        0
    } else {
        flags
    }
}

impl Ctx<'_> {
    /// Publishes event `event` of `class` for `key` in the current database, if enabled.
    #[inline]
    pub fn notify(&mut self, class: u32, event: &str, key: &[u8]) {
        self.notify_in(self.ks.db, class, event, key);
    }

    /// Publishes event `event` of `class` for `key` in database `db`, if enabled.
    #[inline]
    pub fn notify_in(&mut self, db: usize, class: u32, event: &str, key: &[u8]) {
        let on = self.shared.pubsub.notify_flags.load(Relaxed);
        if on & class != 0 {
            emit(self.shared, on, db, event, key);
        }
    }
}

/// What a write did to its key besides changing it, for the events around the command's own:
/// `new` before it, `del` after it.
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct Change {
    /// The key did not exist and was created (`new`).
    pub created: bool,
    /// The key was deleted, a collection left empty (`del`).
    pub emptied: bool,
    /// A list or sorted set left with data: a blocked client may be waiting for it.
    pub ready: bool,
}

impl Change {
    /// A write that created the key (`created`) or changed an existing one.
    pub fn created(created: bool) -> Change {
        Change {
            created,
            ..Change::default()
        }
    }
}

impl Ctx<'_> {
    /// The events of one write to `key` in the current database, in Redis's order: `new` if
    /// it created the key, `event` (of `class`) if any, `del` if it emptied the key.
    #[inline]
    pub fn notify_write(&mut self, class: u32, event: Option<&str>, key: &[u8], ch: Change) {
        let on = self.shared.pubsub.notify_flags.load(Relaxed);
        if on != 0 {
            write_events(self.shared, on, self.ks.db, class, event, key, ch);
        }
    }

    /// `new` for a key just created in database `db`.
    #[inline]
    pub fn notify_new_in(&mut self, db: usize, key: &[u8]) {
        self.notify_in(db, NEW, "new", key);
    }

    /// `keymiss` for a read lookup of `key` (current database) that found nothing.
    #[inline]
    pub fn notify_keymiss(&mut self, key: &[u8]) {
        self.notify(KEY_MISS, "keymiss", key);
    }
}

#[cold]
fn write_events(
    shared: &Shared,
    on: u32,
    db: usize,
    class: u32,
    event: Option<&str>,
    key: &[u8],
    ch: Change,
) {
    if ch.created && on & NEW != 0 {
        emit(shared, on, db, "new", key);
    }
    if let Some(ev) = event
        && on & class != 0
    {
        emit(shared, on, db, ev, key);
    }
    if ch.emptied && on & GENERIC != 0 {
        emit(shared, on, db, "del", key);
    }
}

/// Whether events of `class` are enabled (for event sites outside a command).
#[inline]
pub fn enabled(shared: &Shared, class: u32) -> bool {
    shared.pubsub.notify_flags.load(Relaxed) & class != 0
}

/// Publishes event `event` of `class` for `key` in database `db`, if enabled (for sites that
/// cannot borrow the `Ctx`, such as under a shard lock taken from it).
#[inline]
pub fn notify_in(shared: &Shared, db: usize, class: u32, event: &str, key: &[u8]) {
    let on = shared.pubsub.notify_flags.load(Relaxed);
    if on & class != 0 {
        emit(shared, on, db, event, key);
    }
}

/// After a command: `expired` for the keys its lookups expired (one relaxed load when off).
#[inline]
pub fn after_command(shared: &Shared) {
    if shared.store.tuning().notify_expired.load(Relaxed) {
        flush_expired(shared);
    }
}

/// Publishes `expired` for the keys this thread deleted for being expired since the last call
/// (lookups during a command, or an active expiry sweep), oldest first. Called after each
/// command while `Tuning::notify_expired` is on, and before any other event (so `expired`
/// comes before what the command that met the key emits).
#[cold]
pub fn flush_expired(shared: &Shared) {
    let mut keys = Vec::new();
    if shoal_store::shard::take_notify_expired(&mut keys) {
        let on = shared.pubsub.notify_flags.load(Relaxed);
        if on & EXPIRED != 0 {
            for (db, key) in &keys {
                publish(shared, on, *db as usize, "expired", key);
            }
        }
    }
}

/// Keyspace events for hash fields the active expiry deleted: `hexpired` per hash, then `del`
/// for a hash left with no field.
pub fn fields_expired(shared: &Shared, gone: &[shoal_store::shard::ExpiredFields]) {
    let on = shared.pubsub.notify_flags.load(Relaxed);
    if on == 0 {
        return;
    }
    for g in gone {
        if on & HASH != 0 {
            emit(shared, on, g.db as usize, "hexpired", &g.key);
        }
        if g.key_deleted && on & GENERIC != 0 {
            emit(shared, on, g.db as usize, "del", &g.key);
        }
    }
}

/// Publishes one event (the class already checked against `flags`), after any `expired` this
/// thread has pending.
#[cold]
pub fn emit(shared: &Shared, flags: u32, db: usize, event: &str, key: &[u8]) {
    if flags & EXPIRED != 0 {
        flush_expired(shared);
    }
    publish(shared, flags, db, event, key);
}

fn publish(shared: &Shared, flags: u32, db: usize, event: &str, key: &[u8]) {
    let mut ch = Vec::with_capacity(24 + key.len().max(event.len()));
    if flags & KEYSPACE != 0 {
        ch.extend_from_slice(format!("__keyspace@{db}__:").as_bytes());
        ch.extend_from_slice(key);
        crate::pubsub::publish_event(shared, &ch, event.as_bytes());
    }
    if flags & KEYEVENT != 0 {
        ch.clear();
        ch.extend_from_slice(format!("__keyevent@{db}__:").as_bytes());
        ch.extend_from_slice(event.as_bytes());
        crate::pubsub::publish_event(shared, &ch, key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn letters_round_trip_in_redis_order() {
        assert_eq!(format(parse("KEA").unwrap()), "AKE");
        assert_eq!(format(parse("Elg").unwrap()), "glE");
        assert_eq!(format(parse("KA$m").unwrap()), "AKm");
        assert_eq!(format(parse("nxK").unwrap()), "xnK");
        assert_eq!(parse(""), Some(0));
        assert_eq!(parse("Kw"), None);
        assert_eq!(effective(parse("A").unwrap()), 0);
        assert_eq!(effective(parse("Ex").unwrap()), KEYEVENT | EXPIRED);
    }
}
