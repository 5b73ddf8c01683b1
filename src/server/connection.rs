//! One client connection: read -> parse every complete command already buffered -> dispatch
//! each -> write all replies with one write.
//!
//! Limits: a protocol error gets one `-ERR Protocol error: …` reply and the connection closes; a
//! query buffer over `client-query-buffer-limit` closes it too. Replies of a long pipeline are
//! flushed every `FLUSH_AT` bytes so the output buffer stays bounded.
//!
//! The request path polls nothing but the socket: CLIENT KILL and shutdown close the socket
//! from outside (`ClientInfo::killer`), and the idle timer exists only when `timeout` is set.
//! The query buffer is resized as Redis's clientsCronResizeQueryBuffer does, at the request of
//! the clients cron (`ClientInfo::qbuf_trim`, see `super::clients` and `resize_qbuf`): it wakes
//! the task through the waker stored once at its start, and the read sees the request when it
//! finds the socket empty (one flag load per wait).

use std::net::Shutdown;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::sync::atomic::Ordering::{Acquire, Relaxed};
use std::task::Poll;
use std::time::Duration;

use super::socket::Socket;
use bytes::{Buf, BytesMut};
use shoal_commands::config::ObufLimit;
use shoal_commands::{Client, ClientInfo, Shared, dispatch, unix_ms};
use shoal_resp::{Limits, Parsed, Parser, Reply};
use tokio::io::Interest;

const READ_CHUNK: usize = 16 * 1024;
/// Flush replies mid-batch past this size.
const FLUSH_AT: usize = 256 * 1024;
/// Output buffers grown past this are given back once flushed.
const SHRINK_ABOVE: usize = 1024 * 1024;
/// Redis's clientsCronResizeQueryBuffer, whose rules `resize_qbuf` applies: a query buffer
/// wasting more than `QBUF_WASTE` bytes is resized if the client is idle over `QBUF_IDLE_SECS`
/// whole seconds (to the bytes it holds), or if it is larger than `QBUF_RESIZE_ABOVE` (Redis's
/// PROTO_RESIZE_THRESHOLD) and over twice the most it held since the last resize request.
const QBUF_WASTE: usize = 4 * 1024;
const QBUF_IDLE_SECS: u64 = 2;
const QBUF_RESIZE_ABOVE: usize = 32 * 1024;

/// Whether the clients cron's once-a-second look finds this client idle with room to give
/// back, by what the connection last published.
pub(super) fn qbuf_idle_waste(info: &ClientInfo, now_ms: u64) -> bool {
    let idle = now_ms.saturating_sub(info.last_interaction.load(Relaxed)) / 1000;
    idle > QBUF_IDLE_SECS && info.qbuf_free.load(Relaxed) > QBUF_WASTE
}

/// A query buffer just grew past `QBUF_RESIZE_ABOVE`: the clients cron looks at it every tick
/// (`Shared::qbuf_big`) until it is small again.
#[cold]
#[inline(never)]
fn note_big(shared: &Shared, info: &ClientInfo) {
    if !info.qbuf_big.swap(true, Relaxed) {
        shared.qbuf_big.lock().push(info.id);
    }
}

/// The trim flag of waits that never give the buffer back (a blocked client's: the request
/// stays pending in `ClientInfo::qbuf_trim` until the client is back in the main loop).
static NEVER_TRIM: AtomicBool = AtomicBool::new(false);

/// Limits a connection caches, refreshed when CONFIG SET bumps the generation.
struct Cached {
    generation: u64,
    query_limit: usize,
    timeout: u64,
    /// client-output-buffer-limit of the normal class, and of the pubsub class (a client
    /// subscribed to something).
    obuf: ObufLimit,
    obuf_pubsub: ObufLimit,
}

impl Cached {
    /// The output limit of this client's class now.
    fn obuf(&self, client: &Client) -> ObufLimit {
        if client.in_pubsub() {
            self.obuf_pubsub
        } else {
            self.obuf
        }
    }
}

impl Cached {
    fn load(shared: &Shared) -> Self {
        let generation = shared.config_gen.load(Acquire);
        let c = shared.config.read();
        Cached {
            generation,
            query_limit: c.client_query_buffer_limit as usize,
            timeout: c.timeout,
            obuf: c.client_output_buffer_limit[0],
            obuf_pubsub: c.client_output_buffer_limit[2],
        }
    }
}

fn limits(shared: &Shared) -> Limits {
    Limits {
        max_bulk_len: shared.config.read().proto_max_bulk_len,
        unauthenticated: false,
    }
}

/// The time source of the request path: one TSC read per batch (`quanta`, calibrated against the
/// OS clock) gives both the batch's duration and unix milliseconds, re-anchored to the wall
/// clock every second so a long-lived connection does not drift from it.
struct Clock {
    tsc: quanta::Clock,
    base: u64,
    /// Unix time at `base` in nanoseconds: one floor to milliseconds at the end, so `now` never
    /// lags the wall clock's millisecond (PTTL right after PXAT must not exceed the TTL given).
    base_unix_ns: u64,
}

impl Clock {
    fn new() -> Self {
        static TSC: std::sync::OnceLock<quanta::Clock> = std::sync::OnceLock::new();
        let tsc = TSC.get_or_init(quanta::Clock::new).clone();
        let base = tsc.raw();
        Clock {
            tsc,
            base,
            base_unix_ns: unix_ns(),
        }
    }

    /// A raw timestamp, for `delta_nanos`.
    #[inline]
    fn raw(&self) -> u64 {
        self.tsc.raw()
    }

    #[inline]
    fn delta_nanos(&self, from: u64, to: u64) -> u64 {
        self.tsc.delta_as_nanos(from, to)
    }

    /// Unix milliseconds at raw timestamp `t`.
    fn unix_ms_at(&mut self, t: u64) -> u64 {
        let since = self.delta_nanos(self.base, t);
        if since >= 1_000_000_000 {
            self.base = t;
            self.base_unix_ns = unix_ns();
            return self.base_unix_ns / 1_000_000;
        }
        (self.base_unix_ns + since) / 1_000_000
    }
}

fn unix_ns() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}

pub async fn serve<S: Socket>(stream: S, shared: Arc<Shared>, info: Arc<ClientInfo>) {
    let id = info.id;
    let stream = Arc::new(stream);
    let hook = stream.clone();
    *info.killer.lock() = Some(Box::new(move || {
        let _ = socket2::SockRef::from(&*hook).shutdown(Shutdown::Both);
    }));
    let keep = stream;
    let stream: &S = &keep;
    // The task's waker (the same for every poll of a spawned task), for the clients cron.
    let waker = std::future::poll_fn(|cx| Poll::Ready(cx.waker().clone())).await;
    *info.waker.lock() = Some(waker);
    let authenticated = shared.acl.default.no_auth_needed();
    let mut client = Client::new(info.clone(), authenticated);
    let mut parser = Parser::new(limits(&shared));
    parser.set_unauthenticated(!client.authenticated);
    let mut cached = Cached::load(&shared);
    let mut clock = Clock::new();
    let mut rbuf = BytesMut::with_capacity(READ_CHUNK);
    // The most the query buffer held at the start of a batch since the clients cron last asked
    // for a resize (Redis's querybuf_peak).
    let mut qbuf_peak = 0usize;
    // Bytes consumed at the front of `rbuf` since it was last allocated or compacted: part of
    // its allocation that `capacity()` no longer counts (CLIENT LIST's qbuf-free does).
    let mut consumed = 0usize;
    let mut out = Reply::new();
    tracing::debug!(client = id, addr = %info.addr, "client connected");
    // Killed (or shut down) before the hook was in place.
    let mut alive = !info.killed.load(Relaxed) && !shared.shutdown.load(Relaxed);
    // After a blocking command ends, commands already buffered run before the next read.
    let mut buffered = false;
    // The query buffer was resized with no room left: the next wait makes none (`resize_qbuf`).
    let mut trimmed = false;
    // What is left of the idle timeout after an interrupted wait.
    let mut timeout_left = None;
    while alive {
        if rbuf.capacity() - rbuf.len() < READ_CHUNK / 4 {
            if std::mem::take(&mut trimmed) {
                // Wait with no room: the first bytes the client sends make some.
            } else {
                rbuf.reserve(READ_CHUNK);
                consumed = 0;
                // CLIENT LIST shows the room the client waits with.
                info.qbuf_free.store(rbuf.capacity() - rbuf.len(), Relaxed);
                if rbuf.capacity() > QBUF_RESIZE_ABOVE {
                    note_big(&shared, &info);
                }
            }
        }
        let resume = std::mem::take(&mut buffered);
        let read = if resume {
            Ok(0usize)
        } else if let Some(rx) = client.monitor.as_mut() {
            // Monitors are exempt from the idle timeout, as in Redis.
            let limit = &cached.obuf;
            read_or_monitor(stream, &mut rbuf, &info, rx, &mut out, &shared, limit).await
        } else if client.push || info.mailbox.wanted() {
            // So are subscribers (and clients waiting for invalidations).
            let limit = cached.obuf(&client);
            read_or_messages(stream, &mut rbuf, &info, &mut out, &shared, &limit).await
        } else if cached.timeout > 0 {
            let left = timeout_left.take();
            match tokio::time::timeout(
                left.unwrap_or(Duration::from_secs(cached.timeout)),
                read_some(stream, &mut rbuf, &info.qbuf_trim),
            )
            .await
            {
                Ok(r) => r,
                Err(_) => {
                    tracing::debug!(client = id, "closing idle client");
                    break;
                }
            }
        } else {
            read_some(stream, &mut rbuf, &info.qbuf_trim).await
        };
        let n = match read {
            Ok(0) if resume => 0,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {
                // The clients cron asked for a resize (`read_some`).
                let qb = (&mut rbuf, &mut consumed, &mut qbuf_peak);
                trimmed = resize_qbuf(&info, qb, &mut parser);
                if cached.timeout > 0 {
                    let idle = unix_ms().saturating_sub(info.last_interaction.load(Relaxed));
                    let left = (cached.timeout * 1000).saturating_sub(idle);
                    timeout_left = Some(Duration::from_millis(left));
                }
                continue;
            }
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        if shared.config_gen.load(Relaxed) != cached.generation {
            cached = Cached::load(&shared);
            parser.set_limits(limits(&shared));
            parser.set_unauthenticated(!client.authenticated);
        }
        let started = clock.raw();
        let now = clock.unix_ms_at(started);
        info.last_interaction.store(now, Relaxed);
        // CLIENT LIST's qbuf / qbuf-free: what this batch holds, and the rest of the buffer.
        let held = rbuf.len();
        qbuf_peak = qbuf_peak.max(held);
        info.qbuf.store(held, Relaxed);
        info.qbuf_free
            .store(rbuf.capacity() + consumed - held, Relaxed);
        let mut written = 0u64;
        let mut off = 0;
        loop {
            match parser.parse(&rbuf[off..]) {
                Ok(Parsed::Command { len }) => {
                    // Messages published (invalidations sent) to this client before this
                    // command go out before its reply.
                    info.mailbox.drain_into(&mut out.buf);
                    dispatch(
                        &shared,
                        &mut client,
                        &mut out,
                        parser.args(&rbuf[off..]),
                        now,
                    );
                    // AUTH or HELLO ... AUTH lifts the unauthenticated limits (RESET may
                    // bring them back).
                    if parser.unauthenticated() == client.authenticated {
                        parser.set_unauthenticated(!client.authenticated);
                    }
                    if client.paused.is_some() {
                        // Held back by a pause: it stays buffered and runs afterwards.
                        break;
                    }
                    off += len;
                    if over_hard_limit(&shared, &cached.obuf(&client), out.len(), id) {
                        // One reply alone passed the hard limit: the client goes, unanswered.
                        out.buf.clear();
                        alive = false;
                        break;
                    }
                    if client.close
                        || client.blocked.is_some()
                        || client.wait.is_some()
                        || client.psync.is_some()
                        || client.sync_rdb
                    {
                        break;
                    }
                    if out.len() >= FLUSH_AT {
                        written += out.len() as u64;
                        if flush(stream, &mut out, &shared, &cached.obuf(&client), id)
                            .await
                            .is_err()
                        {
                            alive = false;
                            break;
                        }
                    }
                }
                Ok(Parsed::Empty { len }) => off += len,
                Ok(Parsed::Incomplete { hint }) => {
                    let pending = rbuf.len() - off;
                    if pending > cached.query_limit {
                        tracing::warn!(
                            client = id,
                            "closing client that reached max query buffer length"
                        );
                        // Redis closes silently; a reply tells the client why.
                        let e =
                            "ERR Protocol error: query buffer exceeds client-query-buffer-limit";
                        shoal_commands::write_error(&shared, &mut out, &e.into());
                        client.close = true;
                    } else if hint > pending {
                        // A big bulk whose length is known: grow towards it, but never by more
                        // than the bytes already received (at least 64 KiB), so a declared
                        // length with no data behind it reserves nothing much.
                        let step = (hint - pending).min(pending.max(64 * 1024));
                        rbuf.reserve(step.min(cached.query_limit));
                        consumed = 0;
                        if rbuf.capacity() > QBUF_RESIZE_ABOVE {
                            note_big(&shared, &info);
                        }
                    }
                    break;
                }
                Err(shoal_resp::ProtocolError::TlsHandshake) => {
                    super::tls::HANDSHAKE_LOG.warn(format_args!(
                        "Closing a client that sent a TLS handshake to the plain port (addr={})",
                        info.addr
                    ));
                    alive = false;
                    break;
                }
                Err(e) => {
                    tracing::debug!(client = id, "protocol error: {e}");
                    let msg = format!("ERR {e}");
                    shoal_commands::write_error(&shared, &mut out, &msg.into());
                    client.close = true;
                    break;
                }
            }
        }
        if client.push {
            info.mailbox.drain_into(&mut out.buf);
        }
        if client.close {
            // Gone for everyone else once its last reply is on its way (QUIT): a redirect of
            // CLIENT TRACKING to it is broken from now on, as in Redis.
            shared.clients.remove(&id);
        }
        rbuf.advance(off);
        consumed += off;
        written += out.len() as u64;
        shared
            .stats
            .flush_batch(&mut client.batch, n as u64, written);
        // After scripts (slow next to plain commands), the replies wait until the other
        // connections ready now have run theirs: written one by one, each would wake the
        // client up again (an interrupt per write, charged to this thread); written
        // together, as Redis writes after each event-loop pass, they wake it once.
        if shoal_commands::script::take_ran() && alive && !out.is_empty() {
            tokio::task::yield_now().await;
        }
        if !alive
            || (!out.is_empty()
                && flush(stream, &mut out, &shared, &cached.obuf(&client), id)
                    .await
                    .is_err())
        {
            break;
        }
        if client.blocked.is_some() {
            if !wait_blocked(
                stream,
                &shared,
                &mut client,
                &mut out,
                &mut rbuf,
                &mut clock,
            )
            .await
            {
                break;
            }
            if flush(stream, &mut out, &shared, &cached.obuf, id)
                .await
                .is_err()
            {
                break;
            }
            buffered = !rbuf.is_empty();
        }
        if let Some((replid, offset)) = client.psync.take() {
            // PSYNC: this connection now carries the replication stream to a replica.
            let rest = rbuf.split();
            super::replication::serve_replica(stream, &shared, &client, replid, offset, rest).await;
            break;
        }
        if std::mem::take(&mut client.sync_rdb) {
            super::persistence::send_rdb(stream, &shared, client.rdb_keys).await;
            break;
        }
        if let Some(until) = client.paused.take() {
            // Counted as blocked (INFO blocked_clients, CLIENT LIST flags=b), as Redis does.
            let _waiting = PauseWait::start(&shared, &info);
            wait_pause(&shared, until).await;
            buffered = true;
        }
        if client.wait.is_some() {
            wait_acks(&shared, &mut client, &mut out).await;
            if flush(stream, &mut out, &shared, &cached.obuf, id)
                .await
                .is_err()
            {
                break;
            }
            buffered = !rbuf.is_empty();
        }
        if client.close {
            break;
        }
        info.qbuf.store(rbuf.len(), Relaxed);
        info.qbuf_free
            .store(rbuf.capacity() + consumed - rbuf.len(), Relaxed);
    }
    if let Some(b) = client.blocked.take() {
        shoal_commands::blocking::end_block(&shared, &client, b.db, &b.keys);
    }
    // Drop the hook's handle first: the socket closes when its last handle goes.
    *info.killer.lock() = None;
    // The waker holds the task: its memory goes with the last handle on `info` otherwise.
    *info.waker.lock() = None;
    let _ = socket2::SockRef::from(stream).shutdown(Shutdown::Write);
    client.unwatch_all(&shared.store);
    client.unsubscribe_all(&shared);
    shoal_commands::tracking::disable(&shared, &info);
    shoal_commands::slotmig::client_closed(&shared, &mut client, shoal_commands::unix_ms());
    if client.monitor.take().is_some() {
        shared.monitors.remove(id);
    }
    shared.clients.remove(&id);
    tracing::debug!(client = id, "client closed");
}

/// Waits out a pause (CLIENT PAUSE, a manual failover) that held this client's command back:
/// until its deadline, or until it is lifted early (the command then checks again).
/// A client held by a pause, for as long as it waits (dropped also when the connection goes).
struct PauseWait<'a>(&'a Shared, &'a ClientInfo);

impl<'a> PauseWait<'a> {
    fn start(shared: &'a Shared, info: &'a ClientInfo) -> Self {
        shared.pause.waiting.fetch_add(1, Relaxed);
        info.blocked.store(true, Relaxed);
        PauseWait(shared, info)
    }
}

impl Drop for PauseWait<'_> {
    fn drop(&mut self) {
        self.0.pause.waiting.fetch_sub(1, Relaxed);
        self.1.blocked.store(false, Relaxed);
    }
}

async fn wait_pause(shared: &Shared, until: u64) {
    let ended = shared.pause.ended.notified();
    let mut ended = std::pin::pin!(ended);
    ended.as_mut().enable();
    let left = until.saturating_sub(unix_ms());
    let _ = tokio::time::timeout(Duration::from_millis(left), ended).await;
}

/// Waits while the client is blocked (BLPOP…): runs the command again when woken, answers nil
/// at the deadline or on CLIENT UNBLOCK. Bytes the client sends meanwhile are kept for later.
/// Returns false when the connection is gone.
async fn wait_blocked<S: Socket>(
    stream: &S,
    shared: &Shared,
    client: &mut Client,
    out: &mut Reply,
    rbuf: &mut BytesMut,
    clock: &mut Clock,
) -> bool {
    let info = client.info.clone();
    loop {
        let Some(deadline) = client.blocked.as_ref().map(|b| b.deadline) else {
            return true;
        };
        let wait = deadline.map(|d| Duration::from_millis(d.saturating_sub(unix_ms())));
        if rbuf.capacity() - rbuf.len() < READ_CHUNK / 4 {
            rbuf.reserve(READ_CHUNK);
        }
        tokio::select! {
            _ = info.block_notify.notified() => {
                let how = info.unblock.swap(0, Relaxed);
                if how != 0 {
                    if let Some(b) = client.blocked.take() {
                        shoal_commands::blocking::end_block(shared, client, b.db, &b.keys);
                        count_unblocked(shared, client, b.idx, how == 2, out);
                    }
                    if how == 2 {
                        shoal_commands::write_error(shared, out, &"UNBLOCKED client unblocked via CLIENT UNBLOCK".into());
                    } else {
                        out.null_array();
                    }
                    return true;
                }
                let Some(b) = client.blocked.take() else { return true };
                let started = clock.raw();
                let now = clock.unix_ms_at(started);
                client.db = b.db;
                client.block_rerun = true;
                dispatch(shared, client, out, b.args.args(), now);
                client.block_rerun = false;
                shared.stats.flush_batch(&mut client.batch, 0, out.len() as u64);
                match client.blocked.as_mut() {
                    // Still nothing for us: keep the place in line and the first deadline.
                    Some(again) => again.deadline = b.deadline,
                    None => {
                        shoal_commands::blocking::end_block(shared, client, b.db, &b.keys);
                        // Served: whatever is left goes to the next in line.
                        for k in &b.keys {
                            shared.blocking.signal(shared, b.db, k);
                        }
                        return true;
                    }
                }
            }
            _ = tokio::time::sleep(wait.unwrap_or(Duration::ZERO)), if wait.is_some() => {
                if let Some(b) = client.blocked.take() {
                    shoal_commands::blocking::end_block(shared, client, b.db, &b.keys);
                    count_unblocked(shared, client, b.idx, false, out);
                }
                out.null_array();
                return true;
            }
            r = read_some(stream, rbuf, &NEVER_TRIM) => match r {
                Ok(0) | Err(_) => return false,
                Ok(_) => {}
            },
        }
    }
}

/// A blocked command that timed out or was unblocked by CLIENT UNBLOCK counts as one call now
/// (`failed` for UNBLOCK ... ERROR), as Redis counts it when it unblocks; a command that blocked
/// was not counted when it blocked (see dispatch).
fn count_unblocked(shared: &Shared, client: &mut Client, idx: usize, failed: bool, out: &Reply) {
    client.batch.cmds.push((idx as u32, failed, 0));
    shared
        .stats
        .flush_batch(&mut client.batch, 0, out.len() as u64);
}

/// WAIT: until enough replicas acknowledged the client's last write, or the deadline; answers
/// how many did.
async fn wait_acks(shared: &Shared, client: &mut Client, out: &mut Reply) {
    let Some((wanted, offset, deadline)) = client.wait.take() else {
        return;
    };
    let repl = &shared.repl;
    loop {
        let acked = repl.acked.notified();
        tokio::pin!(acked);
        acked.as_mut().enable();
        let n = repl.acked_at_least(offset);
        let now = unix_ms();
        if n >= wanted || deadline.is_some_and(|d| now >= d) {
            out.int(n as i64);
            return;
        }
        let wait = deadline.map_or(Duration::from_secs(3600), |d| {
            Duration::from_millis(d - now)
        });
        let _ = tokio::time::timeout(wait, acked).await;
    }
}

/// A monitor's wait: writes the lines other clients' commands produce until the client sends
/// something. A monitor dropped for falling behind has its connection closed.
async fn read_or_monitor<S: Socket>(
    stream: &S,
    rbuf: &mut BytesMut,
    info: &ClientInfo,
    rx: &mut tokio::sync::mpsc::Receiver<Vec<u8>>,
    out: &mut Reply,
    shared: &Shared,
    limit: &ObufLimit,
) -> std::io::Result<usize> {
    loop {
        tokio::select! {
            line = rx.recv() => {
                let Some(line) = line else {
                    return Err(std::io::ErrorKind::BrokenPipe.into());
                };
                out.buf.extend_from_slice(&line);
                while out.buf.len() < FLUSH_AT {
                    match rx.try_recv() {
                        Ok(l) => out.buf.extend_from_slice(&l),
                        Err(_) => break,
                    }
                }
                flush(stream, out, shared, limit, 0).await?;
            }
            r = read_some(stream, rbuf, &info.qbuf_trim) => return r,
        }
    }
}

/// A subscriber's wait: writes the messages published to it until the client sends something.
async fn read_or_messages<S: Socket>(
    stream: &S,
    rbuf: &mut BytesMut,
    info: &ClientInfo,
    out: &mut Reply,
    shared: &Shared,
    limit: &ObufLimit,
) -> std::io::Result<usize> {
    let mb = &info.mailbox;
    loop {
        if mb.has_pending() {
            mb.drain_into(&mut out.buf);
            shared
                .stats
                .flush_batch(&mut Default::default(), 0, out.len() as u64);
            flush(stream, out, shared, limit, info.id).await?;
            continue;
        }
        tokio::select! {
            _ = mb.notify.notified() => {}
            r = read_some(stream, rbuf, &info.qbuf_trim) => return r,
        }
    }
}

/// Reads what the socket has. A short read means the socket is drained: readiness is cleared
/// right away (by answering `WouldBlock` inside `try_io`), which saves the extra `read` that
/// would otherwise only return EAGAIN before the task parks. tokio clears readiness only if no
/// new event arrived meanwhile, so no wake-up is lost.
///
/// `trim` set (the clients cron's request, see `resize_qbuf`) while the socket is empty: returns
/// `Interrupted`, read nothing.
async fn read_some<S: Socket>(
    stream: &S,
    buf: &mut BytesMut,
    trim: &AtomicBool,
) -> std::io::Result<usize> {
    // `poll_read_ready` keeps one waker slot per direction: cheaper than the waiter list behind
    // `readable().await`.
    std::future::poll_fn(|cx| {
        loop {
            match stream.poll_read_ready(cx) {
                Poll::Ready(r) => r?,
                Poll::Pending if trim.load(Relaxed) => return interrupted(),
                Poll::Pending => return Poll::Pending,
            }
            let spare = buf.capacity() - buf.len();
            let mut got = 0;
            match stream.try_io(Interest::READABLE, || {
                got = stream.try_read_buf(buf)?;
                if got > 0 && got < spare {
                    Err(std::io::ErrorKind::WouldBlock.into())
                } else {
                    Ok(())
                }
            }) {
                Ok(()) => return std::task::Poll::Ready(Ok(got)),
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    if got > 0 {
                        return std::task::Poll::Ready(Ok(got));
                    }
                }
                Err(e) => return std::task::Poll::Ready(Err(e)),
            }
        }
    })
    .await
}

/// `read_some`'s answer to the clients cron's request: out of line, so the wait pays only the
/// flag's load.
#[cold]
#[inline(never)]
fn interrupted() -> Poll<std::io::Result<usize>> {
    Poll::Ready(Err(std::io::ErrorKind::Interrupted.into()))
}

/// The clients cron's request (Redis's clientsCronResizeQueryBuffer, see `QBUF_WASTE`), served
/// while the socket is empty: the query buffer (with its `consumed` front and its `peak`) is
/// resized by the rules, checked again here on the real sizes (the cron saw published ones, and
/// the client may have sent a command since). The peak starts over, as Redis resets
/// querybuf_peak on every look. Returns whether the buffer has no room left: the next wait then
/// makes none, so an idle client holds no buffer until it sends something.
#[cold]
#[inline(never)]
fn resize_qbuf(
    info: &ClientInfo,
    (rbuf, consumed, peak): (&mut BytesMut, &mut usize, &mut usize),
    parser: &mut Parser,
) -> bool {
    info.qbuf_trim.store(false, Relaxed);
    let (alloc, len) = (rbuf.capacity() + *consumed, rbuf.len());
    if alloc - len > QBUF_WASTE {
        let idle = unix_ms().saturating_sub(info.last_interaction.load(Relaxed)) / 1000;
        let size = if idle > QBUF_IDLE_SECS {
            Some(len)
        } else if alloc > QBUF_RESIZE_ABOVE && alloc / 2 > *peak {
            Some(len.max(*peak))
        } else {
            None
        };
        if let Some(size) = size {
            let mut b = BytesMut::with_capacity(size);
            b.extend_from_slice(rbuf);
            *rbuf = b;
            *consumed = 0;
            // What a huge command left in the parser goes too.
            parser.trim();
        }
    }
    *peak = rbuf.len();
    let alloc = rbuf.capacity() + *consumed;
    if alloc <= QBUF_RESIZE_ABOVE {
        // The cron stops looking at it every tick.
        info.qbuf_big.store(false, Relaxed);
    }
    info.qbuf.store(rbuf.len(), Relaxed);
    info.qbuf_free.store(alloc - rbuf.len(), Relaxed);
    rbuf.capacity() - rbuf.len() < READ_CHUNK / 4
}

/// Bytes written to the socket that the peer has not acknowledged (Linux SIOCOUTQ).
fn unsent<S: Socket>(stream: &S) -> u64 {
    use std::os::fd::AsRawFd;
    let mut n: libc::c_int = 0;
    // SAFETY: TIOCOUTQ writes one int through the pointer; the descriptor is the live socket.
    let r = unsafe { libc::ioctl(stream.as_fd().as_raw_fd(), libc::TIOCOUTQ, &mut n) };
    if r == 0 { n.max(0) as u64 } else { 0 }
}

/// Whether `pending` reply bytes pass the hard output limit (0 = none); counts and logs it.
fn over_hard_limit(shared: &Shared, limit: &ObufLimit, pending: usize, id: u64) -> bool {
    if limit.hard == 0 || pending as u64 <= limit.hard {
        return false;
    }
    obuf_closed(shared, id, "hard");
    true
}

fn obuf_closed(shared: &Shared, id: u64, which: &str) {
    shared.stats.obuf_disconnections.fetch_add(1, Relaxed);
    tracing::warn!(
        client = id,
        "closing client that reached its {which} client-output-buffer-limit"
    );
}

/// Writes the whole buffer: straight away while the socket takes it, waiting for writability
/// only when its send buffer is full. While it waits, `client-output-buffer-limit` applies to the
/// bytes the client has not taken (ours and the socket's): more than `hard`, or more than `soft`
/// for `soft_secs`, and the client is closed.
async fn flush<S: Socket>(
    stream: &S,
    out: &mut Reply,
    shared: &Shared,
    limit: &ObufLimit,
    id: u64,
) -> std::io::Result<()> {
    let mut done = 0;
    // Since when the pending bytes have stayed over the soft limit.
    let mut over_soft: Option<std::time::Instant> = None;
    let r = loop {
        if done == out.buf.len() && !stream.has_pending_write() {
            break Ok(());
        }
        match stream.try_write(&out.buf[done..]) {
            Ok(0) if done < out.buf.len() => break Err(std::io::ErrorKind::WriteZero.into()),
            Ok(n) => done += n,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                // What the client has not taken yet: our pending replies and the socket's own
                // send queue (Redis's output buffer is the same bytes, held in Redis).
                let pending = (out.buf.len() - done) as u64 + unsent(stream);
                if limit.hard > 0 && pending > limit.hard {
                    obuf_closed(shared, id, "hard");
                    break Err(std::io::ErrorKind::OutOfMemory.into());
                }
                if limit.soft == 0 || pending <= limit.soft {
                    over_soft = None;
                    if let Err(e) = stream.writable().await {
                        break Err(e);
                    }
                    continue;
                }
                let since = *over_soft.get_or_insert_with(std::time::Instant::now);
                let left = Duration::from_secs(limit.soft_secs).saturating_sub(since.elapsed());
                match tokio::time::timeout(left, stream.writable()).await {
                    Ok(Ok(())) => {}
                    Ok(Err(e)) => break Err(e),
                    Err(_) => {
                        obuf_closed(shared, id, "soft");
                        break Err(std::io::ErrorKind::OutOfMemory.into());
                    }
                }
            }
            Err(e) => break Err(e),
        }
    };
    out.buf.clear();
    if out.buf.capacity() > SHRINK_ABOVE {
        out.buf = Vec::with_capacity(READ_CHUNK);
    }
    r
}
