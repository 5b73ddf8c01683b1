//! Pub/Sub: who listens to which channel, pattern or shard channel, and delivery of messages.
//!
//! Every subscribed client has a [`Mailbox`]. A publisher encodes a message once, appends it to
//! each subscriber's mailbox and wakes that connection only when its mailbox was empty; the
//! connection writes whatever piled up with one write. A publisher never waits for a
//! subscriber's socket: a mailbox past the `pubsub` class of `client-output-buffer-limit` gets
//! its client closed and its bytes dropped.
//!
//! Lock order: a mailbox's subscription sets, or a table, never both at once.

use std::collections::HashMap;
use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::time::Instant;

use parking_lot::{Mutex, RwLock};
use shoal_resp::Reply;
use tokio::sync::Notify;

use crate::config::ObufLimit;
use crate::ctx::{ClientInfo, Shared};

/// What a subscription is to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Channel,
    Pattern,
    Shard,
}

impl Kind {
    /// The confirmation's name when subscribing and unsubscribing.
    pub fn names(self) -> (&'static [u8], &'static [u8]) {
        match self {
            Kind::Channel => (b"subscribe", b"unsubscribe"),
            Kind::Pattern => (b"psubscribe", b"punsubscribe"),
            Kind::Shard => (b"ssubscribe", b"sunsubscribe"),
        }
    }
}

/// A client's subscriptions.
#[derive(Default)]
pub struct Sets {
    pub channels: HashSet<Box<[u8]>>,
    pub patterns: HashSet<Box<[u8]>>,
    pub shard: HashSet<Box<[u8]>>,
}

impl Sets {
    pub fn of(&mut self, kind: Kind) -> &mut HashSet<Box<[u8]>> {
        match kind {
            Kind::Channel => &mut self.channels,
            Kind::Pattern => &mut self.patterns,
            Kind::Shard => &mut self.shard,
        }
    }

    /// The count a confirmation of `kind` carries: channels and patterns together, shard
    /// channels on their own (as Redis 7.0).
    pub fn count(&self, kind: Kind) -> usize {
        match kind {
            Kind::Shard => self.shard.len(),
            _ => self.channels.len() + self.patterns.len(),
        }
    }

    pub fn total(&self) -> usize {
        self.channels.len() + self.patterns.len() + self.shard.len()
    }
}

/// The messages waiting for one client (pub/sub messages, invalidations): part of its
/// [`ClientInfo`], so anyone holding that can deliver.
#[derive(Default)]
pub struct Mailbox {
    pending: Mutex<Pending>,
    /// Bytes waiting, readable without the lock.
    len: AtomicUsize,
    /// Wakes the connection when the mailbox goes from empty to not.
    pub notify: Notify,
    /// What this client is subscribed to.
    pub sets: Mutex<Sets>,
    /// Pushes may come without the client having subscribed (it is the redirect target of a
    /// tracking client): its connection watches the mailbox from its next command on.
    wanted: std::sync::atomic::AtomicBool,
}

#[derive(Default)]
struct Pending {
    buf: Vec<u8>,
    /// Since when the mailbox has held more than the soft limit.
    over_soft: Option<Instant>,
    /// Closed for its size: takes nothing more.
    dead: bool,
}

impl Mailbox {
    /// Marks this mailbox as one that receives pushes (see `wanted`).
    pub fn want(&self) {
        self.wanted.store(true, Relaxed);
    }

    #[inline]
    pub fn wanted(&self) -> bool {
        self.wanted.load(Relaxed)
    }

    /// Whether messages are waiting.
    #[inline]
    pub fn has_pending(&self) -> bool {
        self.len.load(Relaxed) > 0
    }

    /// Moves the waiting messages to the end of `out`.
    #[inline]
    pub fn drain_into(&self, out: &mut Vec<u8>) {
        if self.has_pending() {
            self.drain_slow(out);
        }
    }

    #[cold]
    fn drain_slow(&self, out: &mut Vec<u8>) {
        let mut p = self.pending.lock();
        if out.is_empty() && p.buf.capacity() <= 1 << 20 {
            std::mem::swap(out, &mut p.buf);
        } else {
            out.extend_from_slice(&p.buf);
            p.buf = Vec::new();
        }
        p.over_soft = None;
        self.len.store(0, Relaxed);
    }

    /// Appends one frame (encoded for RESP2: it starts with `*`; a RESP3 client gets `>`).
    /// Returns false when the client was closed for its backlog instead.
    fn deliver(info: &ClientInfo, frame: &[u8], limit: ObufLimit) -> bool {
        let resp3 = info.resp.load(Relaxed) == 3;
        Self::deliver_parts(info, &[if resp3 { b">" } else { b"*" }, &frame[1..]], limit)
    }

    /// Appends the concatenation of `parts` to `info`'s mailbox, as is. Returns false when the
    /// client was closed for its backlog instead.
    pub fn deliver_parts(info: &ClientInfo, parts: &[&[u8]], limit: ObufLimit) -> bool {
        let this = &info.mailbox;
        let mut p = this.pending.lock();
        if p.dead {
            return true;
        }
        let was_empty = p.buf.is_empty();
        for part in parts {
            p.buf.extend_from_slice(part);
        }
        let n = p.buf.len();
        this.len.store(n, Relaxed);
        let over_hard = limit.hard > 0 && n as u64 > limit.hard;
        let over_soft = limit.soft > 0 && n as u64 > limit.soft;
        let close = over_hard
            || (over_soft && {
                let since = *p.over_soft.get_or_insert_with(Instant::now);
                since.elapsed().as_secs() >= limit.soft_secs
            });
        if !over_soft {
            p.over_soft = None;
        }
        if close {
            p.dead = true;
            p.buf = Vec::new();
            this.len.store(0, Relaxed);
            drop(p);
            tracing::warn!(
                client = info.id,
                "closing subscriber that reached its pubsub client-output-buffer-limit"
            );
            info.kill();
            return false;
        }
        drop(p);
        if was_empty {
            this.notify.notify_one();
        }
        true
    }
}

type Subscribers = Vec<Arc<ClientInfo>>;
type Table = HashMap<Box<[u8]>, Subscribers>;

/// The server's subscriptions.
#[derive(Default)]
pub struct PubSub {
    channels: RwLock<Table>,
    patterns: RwLock<Table>,
    shard: RwLock<Table>,
    /// Patterns subscribed (so PUBLISH skips the pattern walk when there are none).
    npatterns: AtomicUsize,
    /// The `pubsub` class of client-output-buffer-limit: hard, soft, soft seconds.
    limit: [AtomicU64; 3],
    /// `notify-keyspace-events` as class bits (0 unless K or E is set).
    pub notify_flags: AtomicU32,
    pub published: AtomicU64,
    pub delivered: AtomicU64,
    /// Subscribers closed for their backlog.
    pub closed_for_buffer: AtomicU64,
}

impl PubSub {
    fn table(&self, kind: Kind) -> &RwLock<Table> {
        match kind {
            Kind::Channel => &self.channels,
            Kind::Pattern => &self.patterns,
            Kind::Shard => &self.shard,
        }
    }

    /// The `pubsub` class output limit.
    pub fn set_limit(&self, l: ObufLimit) {
        self.limit[0].store(l.hard, Relaxed);
        self.limit[1].store(l.soft, Relaxed);
        self.limit[2].store(l.soft_secs, Relaxed);
    }

    pub fn limit(&self) -> ObufLimit {
        ObufLimit {
            hard: self.limit[0].load(Relaxed),
            soft: self.limit[1].load(Relaxed),
            soft_secs: self.limit[2].load(Relaxed),
        }
    }

    /// Adds `mb` to the subscribers of `name` (the caller knows it was not one).
    fn add(&self, kind: Kind, name: &[u8], mb: &Arc<ClientInfo>) {
        let mut t = self.table(kind).write();
        if let Some(list) = t.get_mut(name) {
            list.push(mb.clone());
        } else {
            t.insert(name.into(), vec![mb.clone()]);
            if kind == Kind::Pattern {
                self.npatterns.fetch_add(1, Relaxed);
            }
        }
    }

    fn remove(&self, kind: Kind, name: &[u8], id: u64) {
        let mut t = self.table(kind).write();
        if let Some(list) = t.get_mut(name) {
            list.retain(|m| m.id != id);
            if list.is_empty() {
                t.remove(name);
                if kind == Kind::Pattern {
                    self.npatterns.fetch_sub(1, Relaxed);
                }
            }
        }
    }

    /// Subscribes `mb` to `name`; returns the count for the confirmation.
    pub fn subscribe(&self, kind: Kind, name: &[u8], mb: &Arc<ClientInfo>) -> usize {
        let (added, count) = {
            let mut s = mb.mailbox.sets.lock();
            let added = s.of(kind).insert(name.into());
            (added, s.count(kind))
        };
        if added {
            self.add(kind, name, mb);
        }
        count
    }

    /// Unsubscribes `mb` from `name`; returns the count for the confirmation.
    pub fn unsubscribe(&self, kind: Kind, name: &[u8], mb: &ClientInfo) -> usize {
        let (removed, count) = {
            let mut s = mb.mailbox.sets.lock();
            let removed = s.of(kind).remove(name);
            (removed, s.count(kind))
        };
        if removed {
            self.remove(kind, name, mb.id);
        }
        count
    }

    /// Everything `mb` is subscribed to of `kind`.
    pub fn subscribed(&self, kind: Kind, mb: &ClientInfo) -> Vec<Box<[u8]>> {
        mb.mailbox.sets.lock().of(kind).iter().cloned().collect()
    }

    /// Drops every subscription of `mb` (RESET, disconnect).
    pub fn drop_all(&self, mb: &ClientInfo) {
        let sets = std::mem::take(&mut *mb.mailbox.sets.lock());
        for (kind, set) in [
            (Kind::Channel, sets.channels),
            (Kind::Pattern, sets.patterns),
            (Kind::Shard, sets.shard),
        ] {
            for name in set {
                self.remove(kind, &name, mb.id);
            }
        }
    }

    /// Sends `msg` to the subscribers of `channel` and of the patterns matching it; returns how
    /// many received it. A subscriber that is the publisher itself (`direct`: its id and reply
    /// buffer) gets it in its reply stream at once, ahead of the command's own reply, as Redis.
    pub fn publish(&self, channel: &[u8], msg: &[u8], direct: Option<(u64, &mut Reply)>) -> usize {
        self.publish_kind(Kind::Channel, channel, msg, direct)
    }

    /// SPUBLISH: to the subscribers of shard channel `channel`.
    pub fn spublish(&self, channel: &[u8], msg: &[u8], direct: Option<(u64, &mut Reply)>) -> usize {
        self.publish_kind(Kind::Shard, channel, msg, direct)
    }

    fn publish_kind(
        &self,
        kind: Kind,
        channel: &[u8],
        msg: &[u8],
        mut direct: Option<(u64, &mut Reply)>,
    ) -> usize {
        self.published.fetch_add(1, Relaxed);
        let limit = self.limit();
        let mut n = 0;
        let mut frame = Vec::new();
        {
            let t = self.table(kind).read();
            if let Some(list) = t.get(channel) {
                let tag: &[u8] = if kind == Kind::Shard {
                    b"smessage"
                } else {
                    b"message"
                };
                encode(&mut frame, &[tag, channel, msg]);
                for mb in list {
                    n += self.send(mb, &frame, limit, &mut direct);
                }
            }
        }
        if kind == Kind::Channel && self.npatterns.load(Relaxed) > 0 {
            let t = self.patterns.read();
            for (pat, list) in t.iter() {
                if shoal_store::glob::glob_match(pat, channel, false) {
                    frame.clear();
                    encode(&mut frame, &[b"pmessage", pat, channel, msg]);
                    for mb in list {
                        n += self.send(mb, &frame, limit, &mut direct);
                    }
                }
            }
        }
        self.delivered.fetch_add(n as u64, Relaxed);
        n
    }

    #[inline]
    fn send(
        &self,
        mb: &ClientInfo,
        frame: &[u8],
        limit: ObufLimit,
        direct: &mut Option<(u64, &mut Reply)>,
    ) -> usize {
        match direct {
            Some((id, out)) if *id == mb.id => {
                out.buf.push(if out.resp3() { b'>' } else { b'*' });
                out.buf.extend_from_slice(&frame[1..]);
            }
            _ => {
                if !Mailbox::deliver(mb, frame, limit) {
                    self.closed_for_buffer.fetch_add(1, Relaxed);
                }
            }
        }
        1
    }

    /// Channels (or shard channels) with subscribers, matching `pattern` if given.
    pub fn active(&self, kind: Kind, pattern: Option<&[u8]>) -> Vec<Box<[u8]>> {
        let t = self.table(kind).read();
        t.keys()
            .filter(|c| pattern.is_none_or(|p| shoal_store::glob::glob_match(p, c, false)))
            .cloned()
            .collect()
    }

    /// Subscribers of `name`.
    pub fn numsub(&self, kind: Kind, name: &[u8]) -> usize {
        self.table(kind).read().get(name).map_or(0, |l| l.len())
    }

    /// (channels, patterns, shard channels) with subscribers.
    pub fn counts(&self) -> (usize, usize, usize) {
        (
            self.channels.read().len(),
            self.npatterns.load(Relaxed),
            self.shard.read().len(),
        )
    }

    /// Drops the shard-channel subscriptions whose slot `gone` says left this node: each
    /// subscriber gets `sunsubscribe` for it (so cluster clients subscribe again at the new
    /// owner). Returns how many subscriptions ended.
    pub fn drop_shard_channels(&self, gone: impl Fn(&[u8]) -> bool) -> usize {
        let removed: Vec<(Box<[u8]>, Subscribers)> = {
            let mut t = self.shard.write();
            let names: Vec<Box<[u8]>> = t.keys().filter(|c| gone(c)).cloned().collect();
            names
                .into_iter()
                .filter_map(|n| t.remove_entry(&n))
                .collect()
        };
        let mut n = 0;
        let limit = self.limit();
        let mut frame = Vec::new();
        for (name, list) in removed {
            for mb in list {
                let count = {
                    let mut s = mb.mailbox.sets.lock();
                    s.shard.remove(&name);
                    s.count(Kind::Shard)
                };
                frame.clear();
                encode_confirm(&mut frame, b"sunsubscribe", Some(&name), count);
                Mailbox::deliver(&mb, &frame, limit);
                mb.ssub.store(count, Relaxed);
                n += 1;
            }
        }
        n
    }
}

/// Encodes a RESP2 array of bulk strings.
fn encode(out: &mut Vec<u8>, parts: &[&[u8]]) {
    let mut num = itoa::Buffer::new();
    out.reserve(16 + parts.iter().map(|p| p.len() + 16).sum::<usize>());
    out.push(b'*');
    out.extend_from_slice(num.format(parts.len()).as_bytes());
    out.extend_from_slice(b"\r\n");
    for p in parts {
        out.push(b'$');
        out.extend_from_slice(num.format(p.len()).as_bytes());
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(p);
        out.extend_from_slice(b"\r\n");
    }
}

/// A (un)subscribe confirmation, RESP2-encoded: `[kind, name or nil, count]`.
fn encode_confirm(out: &mut Vec<u8>, kind: &[u8], name: Option<&[u8]>, count: usize) {
    out.extend_from_slice(format!("*3\r\n${}\r\n", kind.len()).as_bytes());
    out.extend_from_slice(kind);
    out.extend_from_slice(b"\r\n");
    match name {
        Some(n) => {
            out.extend_from_slice(format!("${}\r\n", n.len()).as_bytes());
            out.extend_from_slice(n);
            out.extend_from_slice(b"\r\n");
        }
        None => out.extend_from_slice(b"$-1\r\n"),
    }
    out.extend_from_slice(format!(":{count}\r\n").as_bytes());
}

/// A keyspace notification: published on this node only (as Redis, also in cluster mode).
pub fn publish_event(shared: &Shared, channel: &[u8], msg: &[u8]) {
    shared.pubsub.publish(channel, msg, None);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(id: u64) -> Arc<ClientInfo> {
        Arc::new(ClientInfo::new(
            id,
            "127.0.0.1:1".into(),
            "127.0.0.1:2".into(),
        ))
    }

    fn take(mb: &ClientInfo) -> Vec<u8> {
        let mut v = Vec::new();
        mb.mailbox.drain_into(&mut v);
        v
    }

    #[test]
    fn channels_and_patterns_reach_their_subscribers() {
        let ps = PubSub::default();
        let a = client(1);
        let b = client(2);
        assert_eq!(ps.subscribe(Kind::Channel, b"ch", &a), 1);
        assert_eq!(ps.subscribe(Kind::Channel, b"ch", &a), 1);
        assert_eq!(ps.subscribe(Kind::Pattern, b"c*", &a), 2);
        assert_eq!(ps.subscribe(Kind::Pattern, b"c*", &b), 1);
        assert_eq!(ps.publish(b"ch", b"hi", None), 3);
        assert_eq!(
            take(&a),
            b"*3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$2\r\nhi\r\n*4\r\n$8\r\npmessage\r\n$2\r\nc*\r\n$2\r\nch\r\n$2\r\nhi\r\n"
        );
        assert_eq!(ps.counts(), (1, 1, 0));
        assert_eq!(ps.unsubscribe(Kind::Pattern, b"c*", &a), 1);
        ps.drop_all(&b);
        assert_eq!(ps.counts(), (1, 0, 0));
        assert_eq!(ps.publish(b"cx", b"hi", None), 0);
        ps.drop_all(&a);
        assert_eq!(ps.counts(), (0, 0, 0));
        assert!(!a.mailbox.has_pending());
    }

    #[test]
    fn a_resp3_subscriber_gets_push_frames() {
        let ps = PubSub::default();
        let info = client(1);
        info.resp.store(3, Relaxed);
        let a = info;
        ps.subscribe(Kind::Shard, b"s", &a);
        assert_eq!(ps.publish(b"s", b"x", None), 0);
        assert_eq!(ps.spublish(b"s", b"x", None), 1);
        assert_eq!(take(&a), b">3\r\n$8\r\nsmessage\r\n$1\r\ns\r\n$1\r\nx\r\n");
    }

    #[test]
    fn a_subscriber_past_the_hard_limit_is_dropped() {
        let ps = PubSub::default();
        ps.set_limit(ObufLimit {
            hard: 100,
            soft: 0,
            soft_secs: 0,
        });
        let a = client(1);
        ps.subscribe(Kind::Channel, b"ch", &a);
        for _ in 0..10 {
            ps.publish(b"ch", &[b'x'; 30], None);
        }
        assert_eq!(ps.closed_for_buffer.load(Relaxed), 1);
        assert!(a.killed.load(Relaxed));
        assert!(!a.mailbox.has_pending());
    }

    #[test]
    fn moving_slots_unsubscribe_their_shard_channels() {
        let ps = PubSub::default();
        let a = client(1);
        ps.subscribe(Kind::Shard, b"a", &a);
        ps.subscribe(Kind::Shard, b"b", &a);
        assert_eq!(ps.drop_shard_channels(|c| c == b"a"), 1);
        assert_eq!(take(&a), b"*3\r\n$12\r\nsunsubscribe\r\n$1\r\na\r\n:1\r\n");
        assert_eq!(ps.active(Kind::Shard, None), vec![Box::from(&b"b"[..])]);
    }
}
