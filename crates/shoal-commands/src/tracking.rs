//! Client-side caching (CLIENT TRACKING), as Redis 7.0's tracking.c.
//!
//! Default mode: the keys a tracking client reads are remembered (key -> client ids, one table
//! for every database); the first change to such a key sends each of them one invalidation and
//! forgets the key. BCAST mode: clients name prefixes and hear of every change to keys under
//! them, batched per command. Invalidations are RESP3 `invalidate` pushes, or messages on
//! `__redis__:invalidate` to a RESP2 client the tracker redirects to.
//!
//! Changes are seen where the shards mark keys modified (`shoal_store::modified`: writes,
//! expiry, eviction), so every command family is covered without calls of its own. Nothing is
//! logged or checked on the request path while no client tracks.
//!
//! A client's own invalidations wait for its command's reply (`Client::deferred`); those caused
//! before the command runs (eviction) go ahead of it.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::Relaxed};

use parking_lot::{Mutex, RwLock};

use crate::ctx::{ClientInfo, Ctx, Shared};
use crate::pubsub::Mailbox;
use crate::spec::{Spec, flags};

/// One client's tracking settings (CLIENT TRACKING).
#[derive(Default, Clone, Debug)]
pub struct TrackState {
    pub on: bool,
    /// Client id invalidations go to (0: this client).
    pub redirect: u64,
    pub bcast: bool,
    pub optin: bool,
    pub optout: bool,
    pub noloop: bool,
    /// CLIENT CACHING yes (OPTIN) / no (OPTOUT), for the next command.
    pub caching: bool,
    /// The redirect client is gone.
    pub broken: bool,
    /// BCAST prefixes, sorted.
    pub prefixes: Vec<Box<[u8]>>,
}

#[derive(Default)]
pub struct Tracking {
    /// Clients with tracking on (any mode): nothing here runs while it is 0.
    clients: AtomicUsize,
    /// Key -> ids of the clients that read it.
    table: Mutex<HashMap<Box<[u8]>, Vec<u64>>>,
    items: AtomicUsize,
    /// BCAST prefix -> ids of the clients listening.
    prefixes: RwLock<BTreeMap<Box<[u8]>, Vec<u64>>>,
    /// Tracking clients by id.
    trackers: RwLock<HashMap<u64, Arc<ClientInfo>>>,
    /// `tracking-table-max-keys` (0: no limit).
    pub max_keys: AtomicU64,
}

/// What an invalidation carries.
enum Payload<'a> {
    Keys(&'a [&'a [u8]]),
    /// A flush: every key.
    Flush,
}

impl Tracking {
    /// Whether any client tracks keys.
    #[inline]
    pub fn active(&self) -> bool {
        self.clients.load(Relaxed) > 0
    }

    /// INFO: (tracking clients, keys, items, prefixes).
    pub fn info(&self) -> (usize, usize, usize, usize) {
        (
            self.clients.load(Relaxed),
            self.table.lock().len(),
            self.items.load(Relaxed),
            self.prefixes.read().len(),
        )
    }
}

/// The prefix-collision check of CLIENT TRACKING ... BCAST PREFIX: the error, if any.
pub fn prefix_collision(existing: &[Box<[u8]>], new: &[&[u8]]) -> Option<String> {
    let overlap = |a: &[u8], b: &[u8]| {
        let n = a.len().min(b.len());
        a[..n] == b[..n]
    };
    let s = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    for (i, p) in new.iter().enumerate() {
        if let Some(old) = existing.iter().find(|o| overlap(o, p)) {
            return Some(format!(
                "ERR Prefix '{}' overlaps with an existing prefix '{}'. Prefixes for a single client must not overlap.",
                s(p),
                s(old)
            ));
        }
        if let Some(other) = new[i + 1..].iter().find(|o| overlap(o, p)) {
            return Some(format!(
                "ERR Prefix '{}' overlaps with another provided prefix '{}'. Prefixes for a single client must not overlap.",
                s(p),
                s(other)
            ));
        }
    }
    None
}

/// Turns tracking on for `info` with these settings (already validated); prefixes are added to
/// any it has.
pub fn enable(shared: &Shared, info: &Arc<ClientInfo>, new: TrackState, prefixes: Vec<&[u8]>) {
    let t = &shared.tracking;
    let mut st = info.tracking.lock();
    if !st.on {
        t.clients.fetch_add(1, Relaxed);
        t.trackers.write().insert(info.id, info.clone());
        shoal_store::modified::set_logging(true);
    }
    let caching = st.caching;
    let old_prefixes = std::mem::take(&mut st.prefixes);
    *st = TrackState {
        on: true,
        caching,
        prefixes: old_prefixes,
        ..new
    };
    if st.bcast {
        let wanted: Vec<Box<[u8]>> = if prefixes.is_empty() {
            vec![Box::from(&b""[..])]
        } else {
            prefixes.iter().map(|p| Box::from(*p)).collect()
        };
        let mut table = t.prefixes.write();
        for p in wanted {
            if st.prefixes.contains(&p) {
                continue;
            }
            let ids = table.entry(p.clone()).or_default();
            ids.push(info.id);
            st.prefixes.push(p);
        }
        st.prefixes.sort();
    }
}

/// Turns tracking off (CLIENT TRACKING off, RESET, disconnect). Keys it read stay in the table
/// until they are next invalidated, as Redis.
pub fn disable(shared: &Shared, info: &ClientInfo) {
    let t = &shared.tracking;
    let mut st = info.tracking.lock();
    if !st.on {
        return;
    }
    if !st.prefixes.is_empty() {
        let mut table = t.prefixes.write();
        for p in &st.prefixes {
            if let Some(ids) = table.get_mut(p) {
                ids.retain(|&i| i != info.id);
                if ids.is_empty() {
                    table.remove(p);
                }
            }
        }
    }
    let redirect = st.redirect;
    *st = TrackState {
        redirect,
        ..TrackState::default()
    };
    t.trackers.write().remove(&info.id);
    if t.clients.fetch_sub(1, Relaxed) == 1 {
        shoal_store::modified::set_logging(false);
    }
}

thread_local! {
    /// Set when a script running on this thread calls a read command.
    static SCRIPT_READ: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// A script called a read command (see [`after_command`]).
pub fn script_read() {
    SCRIPT_READ.with(|r| r.set(true));
}

/// Before a command runs (tracking active): applies tracking-table-max-keys, and sends the
/// invalidations of what changed since the last command on this thread (evictions made room for
/// this command) ahead of its reply.
pub fn before_command(ctx: &mut Ctx<'_>) {
    if ctx.in_exec {
        return;
    }
    limit_table(ctx.shared, ctx.client.id, &mut ctx.out.buf);
    let mut keys = Vec::new();
    if shoal_store::modified::take(&mut keys) {
        invalidate(ctx.shared, &keys, 0, ctx.client.id, &mut ctx.out.buf);
    }
}

/// After a command ran (tracking active): remembers the keys a tracking client read, and sends
/// the invalidations of the keys it changed (its own wait for its reply); inside EXEC, the
/// changes wait for the end of the transaction.
pub fn after_command(ctx: &mut Ctx<'_>, spec: &Spec, args: &shoal_resp::Args<'_>) {
    let info = &ctx.client.info;
    // A script (EVAL*, FCALL*) counts as a read of its declared keys when it called a read
    // command, as Redis 7.0's trackingRememberKeys of the script's caller.
    let reads = if spec.group == crate::spec::Group::Scripting && spec.numkeys.is_some() {
        SCRIPT_READ.with(|r| r.replace(false))
    } else {
        spec.has(flags::READONLY) && !spec.has(flags::PUBSUB) && spec.first_key > 0
    };
    if ctx.client.tracking && reads {
        let st = info.tracking.lock();
        // OPTIN tracks only after CACHING yes; OPTOUT all but after CACHING no.
        let wanted = if st.optin {
            st.caching
        } else {
            !(st.optout && st.caching)
        };
        drop(st);
        if wanted {
            let mut table = ctx.shared.tracking.table.lock();
            for p in spec.all_keys(args) {
                let key = args.get(p);
                let ids = match table.get_mut(key) {
                    Some(ids) => ids,
                    None => table.entry(key.into()).or_default(),
                };
                if !ids.contains(&info.id) {
                    ids.push(info.id);
                    ctx.shared.tracking.items.fetch_add(1, Relaxed);
                }
            }
        }
    }
    // A transaction's changes go out together once EXEC is done, as one batch.
    let mut keys = Vec::new();
    if !ctx.in_exec && shoal_store::modified::take(&mut keys) {
        let id = ctx.client.id;
        invalidate(ctx.shared, &keys, id, id, &mut ctx.client.deferred);
    }
}

/// Keys changed outside any command (active expiry, eviction by the background thread), and
/// tracking-table-max-keys after a CONFIG SET lowered it: invalidations go out at once.
pub fn after_background(shared: &Shared) {
    if !shared.tracking.active() {
        return;
    }
    limit_table(shared, 0, &mut Vec::new());
    let mut keys = Vec::new();
    if shoal_store::modified::take(&mut keys) {
        invalidate(shared, &keys, 0, 0, &mut Vec::new());
    }
}

/// FLUSHALL / FLUSHDB: every tracking client hears that everything is invalid, and the table
/// is emptied (it does not know databases) even when no client tracks any more: keys read
/// before CLIENT TRACKING off must not be invalidated after the flush (Redis's
/// trackingInvalidateKeysOnFlush frees the table on every flush).
pub fn flushed(ctx: &mut Ctx<'_>) {
    let t = &ctx.shared.tracking;
    if !t.active() {
        if t.items.load(Relaxed) > 0 || !t.table.lock().is_empty() {
            t.table.lock().clear();
            t.items.store(0, Relaxed);
        }
        return;
    }
    // The keys the flush logged one by one are covered by the flush message.
    shoal_store::modified::take(&mut Vec::new());
    let trackers: Vec<Arc<ClientInfo>> = t.trackers.read().values().cloned().collect();
    let me = ctx.client.id;
    for tr in trackers {
        let mut st = tr.tracking.lock();
        if st.on {
            send(
                ctx.shared,
                &tr,
                &mut st,
                Payload::Flush,
                me,
                &mut ctx.client.deferred,
            );
        }
    }
    t.table.lock().clear();
    t.items.store(0, Relaxed);
}

/// Sends the invalidations for `keys`, changed by client `modifier` (0: the server) while
/// client `current` runs; what goes to `current` itself is appended to `own`.
fn invalidate(shared: &Shared, keys: &[Box<[u8]>], modifier: u64, current: u64, own: &mut Vec<u8>) {
    let t = &shared.tracking;
    // Default mode: each key once, to everyone who read it.
    let mut hits: Vec<(Box<[u8]>, Vec<u64>)> = Vec::new();
    {
        let mut table = t.table.lock();
        if !table.is_empty() {
            for k in keys {
                if let Some(ids) = table.remove(k) {
                    t.items.fetch_sub(ids.len(), Relaxed);
                    hits.push((k.clone(), ids));
                }
            }
        }
    }
    for (key, ids) in &hits {
        for &id in ids {
            let Some(tr) = t.trackers.read().get(&id).cloned() else {
                continue;
            };
            let mut st = tr.tracking.lock();
            if !st.on || st.bcast || (st.noloop && id == current) {
                continue;
            }
            send(shared, &tr, &mut st, Payload::Keys(&[key]), current, own);
        }
    }
    // BCAST: one message per prefix with the keys under it. The prefix table is read first and
    // let go (enable/disable lock a client's settings, then the table).
    let groups: Vec<(Vec<&[u8]>, Vec<u64>)> = {
        let prefixes = t.prefixes.read();
        prefixes
            .iter()
            .filter_map(|(prefix, ids)| {
                let mut under: Vec<&[u8]> = keys
                    .iter()
                    .filter(|k| k.starts_with(prefix))
                    .map(|k| &k[..])
                    .collect();
                if under.is_empty() {
                    return None;
                }
                under.sort_unstable();
                under.dedup();
                Some((under, ids.clone()))
            })
            .collect()
    };
    for (under, ids) in groups {
        for id in ids {
            let Some(tr) = t.trackers.read().get(&id).cloned() else {
                continue;
            };
            let mut st = tr.tracking.lock();
            if st.on && !(st.noloop && modifier != 0 && id == modifier) {
                send(shared, &tr, &mut st, Payload::Keys(&under), current, own);
            }
        }
    }
}

/// tracking-table-max-keys: forgets (invalidating) keys until the table fits.
fn limit_table(shared: &Shared, current: u64, own: &mut Vec<u8>) {
    let t = &shared.tracking;
    let max = t.max_keys.load(Relaxed) as usize;
    if max == 0 {
        return;
    }
    loop {
        let victims: Vec<(Box<[u8]>, Vec<u64>)> = {
            let mut table = t.table.lock();
            if table.len() <= max {
                return;
            }
            let n = (table.len() - max).min(1000);
            let keys: Vec<Box<[u8]>> = table.keys().take(n).cloned().collect();
            keys.into_iter()
                .filter_map(|k| table.remove_entry(&k))
                .collect()
        };
        for (key, ids) in victims {
            t.items.fetch_sub(ids.len(), Relaxed);
            for id in ids {
                let Some(tr) = t.trackers.read().get(&id).cloned() else {
                    continue;
                };
                let mut st = tr.tracking.lock();
                if !st.on || st.bcast || (st.noloop && id == current) {
                    continue;
                }
                send(shared, &tr, &mut st, Payload::Keys(&[&key]), current, own);
            }
        }
    }
}

/// Sends one invalidation for tracker `tr` (its settings locked as `st`): to itself as a RESP3
/// push, or to its redirect client (a RESP3 push, or a message on `__redis__:invalidate` if that
/// client is a RESP2 subscriber); a RESP2 tracker without a redirect gets nothing. A redirect
/// to a client that is gone marks the tracker broken and tells it (RESP3).
fn send(
    shared: &Shared,
    tr: &ClientInfo,
    st: &mut TrackState,
    payload: Payload<'_>,
    current: u64,
    own: &mut Vec<u8>,
) {
    let tracker_resp3 = tr.resp.load(Relaxed) == 3;
    let mut body = Vec::new();
    match payload {
        Payload::Keys(keys) => {
            body.extend_from_slice(format!("*{}\r\n", keys.len()).as_bytes());
            for k in keys {
                body.extend_from_slice(format!("${}\r\n", k.len()).as_bytes());
                body.extend_from_slice(k);
                body.extend_from_slice(b"\r\n");
            }
        }
        Payload::Flush => body.extend_from_slice(if tracker_resp3 { b"_\r\n" } else { b"$-1\r\n" }),
    }
    let target: Arc<ClientInfo>;
    let redirected = st.redirect != 0;
    let to: &ClientInfo = if redirected {
        match shared.clients.get(&st.redirect) {
            Some(c) => {
                target = c.clone();
                &target
            }
            None => {
                st.broken = true;
                if tracker_resp3 {
                    let msg = format!(">2\r\n$21\r\ntracking-redir-broken\r\n:{}\r\n", st.redirect);
                    deliver(shared, tr, &[msg.as_bytes()], current, own);
                }
                return;
            }
        }
    } else {
        tr
    };
    if to.resp.load(Relaxed) == 3 {
        deliver(
            shared,
            to,
            &[b">2\r\n$10\r\ninvalidate\r\n", &body],
            current,
            own,
        );
    } else if redirected && to.sub.load(Relaxed) + to.psub.load(Relaxed) + to.ssub.load(Relaxed) > 0
    {
        deliver(
            shared,
            to,
            &[
                b"*3\r\n$7\r\nmessage\r\n$20\r\n__redis__:invalidate\r\n",
                &body,
            ],
            current,
            own,
        );
    }
}

fn deliver(shared: &Shared, to: &ClientInfo, parts: &[&[u8]], current: u64, own: &mut Vec<u8>) {
    if to.id == current {
        for p in parts {
            own.extend_from_slice(p);
        }
    } else {
        Mailbox::deliver_parts(to, parts, shared.pubsub.limit());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_collisions_name_both_prefixes() {
        let e = prefix_collision(&[], &[b"FOOBAR", b"FOO"]).unwrap();
        assert!(e.contains("'FOOBAR' overlaps with another provided prefix 'FOO'"));
        let old = vec![Box::from(&b"FOO"[..]), Box::from(&b"BAR"[..])];
        let e = prefix_collision(&old, &[b"FO"]).unwrap();
        assert!(e.contains("'FO' overlaps with an existing prefix 'FOO'"));
        assert!(prefix_collision(&old, &[b"BAZ"]).is_none());
        assert!(prefix_collision(&[], &[b"", b"x"]).is_some());
    }
}
