//! Clients blocked on keys (BLPOP and friends): who waits for which key, first come first served.
//!
//! A blocked client's connection parks on its `ClientInfo::block_notify`. A write that gives a
//! key data calls [`Blocking::signal`], which wakes the *first* client waiting on that key; that
//! client runs its command again (under the shard lock, so after any EXEC that pushed) and, when
//! it succeeds and data is left, wakes the next one. A client that disconnects or times out
//! leaves the queues.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicUsize, Ordering};

use parking_lot::Mutex;

use crate::ctx::Shared;

type WaitKey = (usize, Box<[u8]>);

#[derive(Default)]
pub struct Blocking {
    queues: Mutex<HashMap<WaitKey, VecDeque<u64>>>,
    /// Clients blocked right now: a write checks this before touching the lock.
    pub blocked: AtomicUsize,
    /// Clients blocked in XREAD/XREADGROUP (a subset of `blocked`): while there are any, a
    /// write wakes those waiting on the keys it touched, so a blocked XREADGROUP learns that
    /// its key or group went away (see `after_write`).
    pub stream_waiters: AtomicUsize,
    streamers: Mutex<std::collections::HashSet<u64>>,
}

impl Blocking {
    /// Adds `client` at the back of the queue of every key (once per key).
    pub fn register(&self, client: u64, db: usize, keys: &[Box<[u8]>]) {
        let mut q = self.queues.lock();
        for k in keys {
            let queue = q.entry((db, k.clone())).or_default();
            if !queue.contains(&client) {
                queue.push_back(client);
            }
        }
    }

    /// Counts `client` among the stream waiters (until it leaves the queues).
    pub fn mark_stream(&self, client: u64) {
        if self.streamers.lock().insert(client) {
            self.stream_waiters.fetch_add(1, Ordering::AcqRel);
        }
    }

    /// Removes `client` from the queues of `keys`.
    pub fn unregister(&self, client: u64, db: usize, keys: &[Box<[u8]>]) {
        if self.stream_waiters.load(Ordering::Acquire) > 0 && self.streamers.lock().remove(&client)
        {
            self.stream_waiters.fetch_sub(1, Ordering::AcqRel);
        }
        let mut q = self.queues.lock();
        for k in keys {
            let wk = (db, k.clone());
            if let Some(queue) = q.get_mut(&wk) {
                queue.retain(|c| *c != client);
                if queue.is_empty() {
                    q.remove(&wk);
                }
            }
        }
    }

    /// `key` of `db` may have data now: wake the first client waiting on it.
    pub fn signal(&self, shared: &Shared, db: usize, key: &[u8]) {
        if self.blocked.load(Ordering::Acquire) == 0 {
            return;
        }
        let head = self
            .queues
            .lock()
            .get(&(db, Box::from(key)))
            .and_then(|q| q.front().copied());
        if let Some(id) = head
            && let Some(c) = shared.clients.get(&id)
        {
            c.block_notify.notify_one();
        }
    }

    /// `key` of `db` got data every waiter may want (a stream entry is read, not taken): wake
    /// them all; those it does not serve wait on in their place.
    pub fn signal_all(&self, shared: &Shared, db: usize, key: &[u8]) {
        if self.blocked.load(Ordering::Acquire) == 0 {
            return;
        }
        let ids: Vec<u64> = self
            .queues
            .lock()
            .get(&(db, Box::from(key)))
            .map(|q| q.iter().copied().collect())
            .unwrap_or_default();
        for id in ids {
            if let Some(c) = shared.clients.get(&id) {
                c.block_notify.notify_one();
            }
        }
    }

    /// Every key of `db` may have data now (SWAPDB): wake the first client waiting on each
    /// (one that finds nothing keeps its place and waits on).
    pub fn signal_db(&self, shared: &Shared, db: usize) {
        if self.blocked.load(Ordering::Acquire) == 0 {
            return;
        }
        let heads: Vec<u64> = self
            .queues
            .lock()
            .iter()
            .filter(|((d, _), _)| *d == db)
            .filter_map(|(_, q)| q.front().copied())
            .collect();
        for id in heads {
            if let Some(c) = shared.clients.get(&id) {
                c.block_notify.notify_one();
            }
        }
    }

    /// Slots left this node (cluster): every blocked client runs its command again, so one whose
    /// keys are served elsewhere now gets `-MOVED` instead of waiting for a push that will never
    /// come here (Redis redirects blocked clients the same way).
    pub fn wake_all(&self, shared: &Shared) {
        if self.blocked.load(Ordering::Acquire) == 0 {
            return;
        }
        let mut ids: Vec<u64> = self.queues.lock().values().flatten().copied().collect();
        ids.sort_unstable();
        ids.dedup();
        for id in ids {
            if let Some(c) = shared.clients.get(&id) {
                c.block_notify.notify_one();
            }
        }
    }

    /// Clients waiting on `key` (for tests and INFO).
    pub fn waiting(&self, db: usize, key: &[u8]) -> usize {
        self.queues
            .lock()
            .get(&(db, Box::from(key)))
            .map_or(0, VecDeque::len)
    }
}

use shoal_resp::Args;

use crate::ctx::{Blocked, Client, Ctx};
use crate::errors::{self, CmdError};

/// A blocking command's timeout in seconds (fractions allowed) as milliseconds; 0 = forever.
pub fn timeout_arg(a: &[u8]) -> Result<Option<u64>, CmdError> {
    let secs = crate::util::float(a)
        .filter(|s| s.is_finite())
        .ok_or(CmdError::from(errors::TIMEOUT_INVALID))?;
    let ms = (secs * 1000.0).ceil();
    if ms > i64::MAX as f64 {
        return Err(errors::TIMEOUT_RANGE.into());
    }
    if secs < 0.0 {
        return Err(errors::TIMEOUT_NEGATIVE.into());
    }
    let ms = ms as u64;
    // As Redis: the deadline (now + timeout) must fit a signed 64-bit millisecond count.
    if ms > i64::MAX as u64 - crate::ctx::unix_ms() {
        return Err(errors::TIMEOUT_RANGE.into());
    }
    Ok((secs > 0.0).then_some(ms.max(1)))
}

/// No key had data: park the client (inside EXEC a blocking command answers at once, with nil).
pub fn block(ctx: &mut Ctx<'_>, a: &Args<'_>, keys: Vec<Box<[u8]>>, timeout_ms: Option<u64>) {
    block_with(ctx, a.to_owned(), keys, timeout_ms)
}

/// [`block`], running `args` when woken (XREAD's `$` resolved to the id it stood for).
pub fn block_with(
    ctx: &mut Ctx<'_>,
    args: shoal_resp::OwnedArgs,
    keys: Vec<Box<[u8]>>,
    timeout_ms: Option<u64>,
) {
    if ctx.in_exec {
        ctx.out.null_array();
        return;
    }
    let Some((idx, _)) = crate::spec::table().lookup(args.args().get(0)) else {
        return;
    };
    let shared = ctx.shared;
    shared.blocking.register(ctx.client.id, ctx.ks.db, &keys);
    if !ctx.client.info.blocked.swap(true, Ordering::AcqRel) {
        shared.blocking.blocked.fetch_add(1, Ordering::AcqRel);
    }
    let deadline = timeout_ms.map(|t| ctx.now().saturating_add(t));
    ctx.client.blocked = Some(Blocked {
        idx,
        args,
        db: ctx.ks.db,
        keys,
        deadline,
    });
}

/// A blocking command's look at one of its keys. When the command runs again after a wake-up
/// (`Client::block_rerun`), a key that now holds another type counts as empty, so the client
/// keeps waiting: Redis serves a woken client only from a key of the type it waits for. The
/// first run still answers WRONGTYPE.
pub fn skip_wrongtype<T>(
    client: &Client,
    r: Result<Option<T>, CmdError>,
) -> Result<Option<T>, CmdError> {
    match r {
        Err(e) if client.block_rerun && e.0 == errors::WRONGTYPE.as_bytes() => Ok(None),
        r => r,
    }
}

/// The client stops waiting (served, timed out, unblocked or gone): leave every queue.
pub fn end_block(shared: &Shared, client: &Client, db: usize, keys: &[Box<[u8]>]) {
    shared.blocking.unregister(client.id, db, keys);
    if client.info.blocked.swap(false, Ordering::AcqRel) {
        shared.blocking.blocked.fetch_sub(1, Ordering::AcqRel);
    }
    client.info.unblock.store(0, Ordering::Release);
}

/// After a write (while clients wait in XREAD/XREADGROUP): wake those waiting on the keys it
/// touched, or on every key for a keyless write (FLUSHALL, SWAPDB), so that a blocked
/// XREADGROUP whose key or group went away gets its error, as Redis answers it.
pub fn after_write(ctx: &Ctx<'_>, spec: &crate::spec::Spec, a: &Args<'_>) {
    let shared = ctx.shared;
    let mut any = false;
    for p in spec.all_keys(a) {
        any = true;
        shared.blocking.signal_all(shared, ctx.ks.db, a.get(p));
    }
    if !any {
        shared.blocking.wake_all(shared);
    }
}
