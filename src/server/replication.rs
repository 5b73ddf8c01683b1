//! Replication tasks: a primary's stream to one replica, and a replica's link to its primary.
//!
//! ```text
//!  primary                                   replica (REPLICAOF host port)
//!  client conn ── PSYNC id off ──> serve_replica      link task: connect, AUTH?, PING,
//!    partial: +CONTINUE id, backlog from off          REPLCONF listening-port / capa,
//!    full: quiesce writes, start a snapshot,          PSYNC (? -1 the first time)
//!          +FULLRESYNC id off, records as bulks,   ──> FULLRESYNC: flush, load records
//!          $0 ends them; then the backlog from off      CONTINUE: keep the data
//!    then: stream bytes as writes feed them        ──> apply each command as the master
//!          <── REPLCONF ACK off (every second)          client; ACK every second / GETACK
//! ```
//!
//! The snapshot is made without stopping the primary (see `shoal_store::snapshot`); the stream
//! from its offset on holds every write after it, in order.
//!
//! A redis-server on either side: a replica that does not announce `capa shoal-functions` gets
//! the snapshot as one RDB image (`$<len>\r\n<bytes>`, `full_sync_rdb`); a primary whose first
//! frame is an RDB image is a redis-server (`redis_primary`). PSYNC's offset is the first byte
//! the replica lacks, as Redis counts (shoal replicas say so with `capa shoal-psync-next`;
//! older ones sent the bytes they held, which a primary still understands from them).

use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

use bytes::{Buf, BytesMut};
use shoal_commands::repl::{LinkState, ReplicaView, Role};
use shoal_commands::{Client, ClientInfo, Shared, unix_ms};
use shoal_resp::{Limits, Parsed, Parser, Reply};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::socket::Socket;
use super::tls::Tls;

/// An outgoing link's stream: plain TCP or TLS over it.
pub(crate) trait Link: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send {}
impl<T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send> Link for T {}
use tokio_util::sync::CancellationToken;

/// Stream bytes sent in one write at most.
const CHUNK: usize = 256 * 1024;

async fn write_all<S: Socket>(stream: &S, data: &[u8]) -> std::io::Result<()> {
    super::socket::send_all(stream, data).await
}

/// Reads the REPLCONF ACKs a replica sent on its stream into its view (and wakes WAIT).
fn take_acks(shared: &Shared, id: u64, buf: &mut BytesMut, parser: &mut Parser) {
    let mut off = 0;
    while let Ok(Parsed::Command { len }) = parser.parse(&buf[off..]) {
        let args = parser.args(&buf[off..]);
        // `REPLCONF ACK <off>` (a redis-server adds `FACK <off>`).
        if args.len() >= 3
            && args.get(0).eq_ignore_ascii_case(b"replconf")
            && args.get(1).eq_ignore_ascii_case(b"ack")
            && let Some(n) = shoal_resp::parse_i64(args.get(2))
        {
            if let Some(r) = shared.repl.replicas.lock().iter_mut().find(|r| r.id == id) {
                r.ack = n.max(0) as u64;
                r.ack_at = unix_ms();
            }
            shared.repl.acked.notify_waiters();
        }
        off += len;
    }
    buf.advance(off);
}

/// Serves a replica on this connection until it goes away. `rbuf` holds what it sent after
/// PSYNC.
pub async fn serve_replica<S: Socket>(
    stream: &S,
    shared: &Arc<Shared>,
    client: &Client,
    replid: String,
    offset: i64,
    mut rbuf: BytesMut,
) {
    let repl = &shared.repl;
    let id = client.id;
    let ip = client
        .info
        .addr
        .rsplit_once(':')
        .map(|(h, _)| h.trim_matches(['[', ']']).to_string())
        .unwrap_or_default();
    repl.replicas.lock().push(ReplicaView {
        id,
        ip,
        port: client.listening_port,
        state: "wait_bgsave",
        ack: 0,
        ack_at: unix_ms(),
    });
    // A redis-server (and a shoal replica that says so) asks for the first byte it lacks; older
    // shoal replicas for the bytes they hold.
    let next = client.capa_psync_next || !client.capa_functions;
    let offset = if !next || offset <= 0 {
        offset
    } else {
        offset - 1
    };
    let backlog_size = shared.config.read().repl_backlog_size as usize;
    repl.ensure_backlog(backlog_size);
    let partial = repl.history_includes(&replid, offset)
        && repl
            .backlog
            .lock()
            .as_ref()
            .is_some_and(|b| b.read_from(offset as u64, 0).is_some());
    if partial {
        repl.sync_partial_ok.fetch_add(1, Relaxed);
    } else {
        repl.sync_full.fetch_add(1, Relaxed);
        if replid != "?" {
            repl.sync_partial_err.fetch_add(1, Relaxed);
        }
    }
    let result = if partial {
        tracing::info!(replica = id, offset, "Partial resynchronization accepted");
        let ping = !client.capa_functions;
        stream_from(stream, shared, id, offset as u64, &mut rbuf, true, ping).await
    } else if client.capa_functions {
        full_sync(stream, shared, id, &mut rbuf).await
    } else {
        full_sync_rdb(stream, shared, id, &mut rbuf).await
    };
    if let Err(e) = result {
        tracing::info!(replica = id, "replica stream ended: {e}");
    }
    repl.replicas.lock().retain(|r| r.id != id);
}

/// FULLRESYNC for a shoal replica: its functions, a snapshot of the keyspace as shoal's
/// records, then the stream from its offset.
async fn full_sync<S: Socket>(
    stream: &S,
    shared: &Arc<Shared>,
    id: u64,
    rbuf: &mut BytesMut,
) -> std::io::Result<()> {
    let repl = &shared.repl;
    // One snapshot at a time (not for the stream after it).
    let one = repl.full_sync.lock().await;
    let woken = Arc::new(tokio::sync::Notify::new());
    let (sink, start, libs) = {
        let _writes = repl.quiesce();
        shared.apply_repl_mode();
        *repl.stream_db.lock() = None;
        let w = woken.clone();
        let sink = shared
            .store
            .begin_snapshot(Box::new(move || w.notify_one()));
        // The libraries as of the snapshot's offset (FUNCTION commands are writes: quiesced).
        let libs = shoal_commands::repl::functions_payload(shared);
        (sink, repl.offset.load(Relaxed), libs)
    };
    let walker = {
        let (shared, sink) = (shared.clone(), sink.clone());
        tokio::task::spawn_blocking(move || shared.store.snapshot_walk(&sink))
    };
    tracing::info!(
        replica = id,
        offset = start,
        "Starting a full resynchronization"
    );
    let line = format!("+FULLRESYNC {} {start}\r\n", repl.replid.lock());
    write_all(stream, line.as_bytes()).await?;
    let mut frame = format!("+FUNCTIONS {}\r\n", libs.len()).into_bytes();
    frame.extend_from_slice(&libs);
    frame.extend_from_slice(b"\r\n");
    write_all(stream, &frame).await?;
    let mut sent = 0usize;
    loop {
        let waiting = woken.notified();
        let done = sink.is_done();
        let chunks = sink.take();
        for c in &chunks {
            for part in c.chunks(CHUNK) {
                let mut frame = format!("${}\r\n", part.len()).into_bytes();
                frame.extend_from_slice(part);
                frame.extend_from_slice(b"\r\n");
                write_all(stream, &frame).await?;
                sent += part.len();
            }
        }
        if done && chunks.is_empty() {
            break;
        }
        if chunks.is_empty() {
            let _ = tokio::time::timeout(Duration::from_millis(20), waiting).await;
        }
    }
    let _ = walker.await;
    write_all(stream, b"$0\r\n\r\n").await?;
    tracing::info!(replica = id, bytes = sent, "Full resynchronization sent");
    drop(one);
    stream_from(stream, shared, id, start, rbuf, false, false).await
}

/// FULLRESYNC for a replica that is not shoal (a redis-server): an RDB image of a snapshot as
/// `$<len>\r\n<bytes>` (no CRLF after it), then the stream from its offset. Newlines keep the
/// link alive while the image is made, as Redis's primary sends them.
async fn full_sync_rdb<S: Socket>(
    stream: &S,
    shared: &Arc<Shared>,
    id: u64,
    rbuf: &mut BytesMut,
) -> std::io::Result<()> {
    let one = shared.repl.full_sync.lock().await;
    tracing::info!(
        replica = id,
        "Starting a full resynchronization with an RDB image"
    );
    let sh = shared.clone();
    let mut making =
        tokio::task::spawn_blocking(move || shoal_commands::persist::replica_image(&sh));
    let made = loop {
        tokio::select! {
            r = &mut making => break r,
            _ = tokio::time::sleep(Duration::from_secs(1)) => write_all(stream, b"\n").await?,
        }
    };
    let (image, start, replid) = made
        .map_err(std::io::Error::other)?
        .map_err(std::io::Error::other)?;
    drop(one);
    let line = format!("+FULLRESYNC {replid} {start}\r\n");
    write_all(stream, line.as_bytes()).await?;
    let mut frame = format!("${}\r\n", image.len()).into_bytes();
    frame.extend_from_slice(&image);
    drop(image);
    write_all(stream, &frame).await?;
    tracing::info!(
        replica = id,
        bytes = frame.len(),
        offset = start,
        "Full resynchronization sent"
    );
    drop(frame);
    stream_from(stream, shared, id, start, rbuf, false, true).await
}

/// Streams the backlog from `from` on, as writes feed it, reading the replica's ACKs. `ping`:
/// the replica is a redis-server, which wants a PING in the stream every
/// `repl-ping-replica-period` to keep the link.
async fn stream_from<S: Socket>(
    stream: &S,
    shared: &Arc<Shared>,
    id: u64,
    mut from: u64,
    rbuf: &mut BytesMut,
    continue_line: bool,
    ping: bool,
) -> std::io::Result<()> {
    let repl = &shared.repl;
    if continue_line {
        let line = format!("+CONTINUE {}\r\n", repl.replid.lock());
        write_all(stream, line.as_bytes()).await?;
    }
    if let Some(r) = repl.replicas.lock().iter_mut().find(|r| r.id == id) {
        r.state = "online";
    }
    let mut parser = Parser::new(Limits {
        max_bulk_len: 1 << 20,
        ..Limits::default()
    });
    take_acks(shared, id, rbuf, &mut parser);
    loop {
        if ping {
            let period = shared.config.read().repl_ping_replica_period.max(1) as u64;
            repl.ping_if_due(period * 1000);
        }
        let fed = repl.fed.notified();
        tokio::pin!(fed);
        fed.as_mut().enable();
        let data = repl
            .backlog
            .lock()
            .as_ref()
            .and_then(|b| b.read_from(from, CHUNK));
        let Some(data) = data else {
            // Fell behind by more than the backlog holds: it must sync anew.
            return Err(std::io::Error::other("replica fell behind the backlog"));
        };
        if !data.is_empty() {
            write_all(stream, &data).await?;
            from += data.len() as u64;
            continue;
        }
        tokio::select! {
            _ = &mut fed => {}
            r = stream.readable() => {
                r?;
                let mut tmp = [0u8; 4096];
                match stream.try_read(&mut tmp) {
                    Ok(0) => return Err(std::io::ErrorKind::UnexpectedEof.into()),
                    Ok(n) => {
                        rbuf.extend_from_slice(&tmp[..n]);
                        take_acks(shared, id, rbuf, &mut parser);
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                    Err(e) => return Err(e),
                }
            }
            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
        }
    }
}

// ---- the replica side ----

/// Runs for the life of the server: while this node is a replica, keeps a link to its primary.
pub fn spawn_link(shared: Arc<Shared>, tls: Arc<Tls>, cancel: CancellationToken) {
    tokio::spawn(async move {
        loop {
            let changed = shared.repl.changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            let role = shared.repl.role.lock().clone();
            let generation = shared.repl.generation.load(Relaxed);
            if let Role::Replica { host, port } = role {
                *shared.repl.link.lock() = LinkState::Connecting;
                let r = tokio::select! {
                    _ = cancel.cancelled() => return,
                    r = link_once(&shared, &tls, &host, port, generation) => r,
                };
                *shared.repl.link.lock() = LinkState::Connect;
                if let Err(e) = r {
                    tracing::warn!("replication link to {host}:{port}: {e}");
                }
                if shared.repl.generation.load(Relaxed) == generation {
                    tokio::select! {
                        _ = cancel.cancelled() => return,
                        _ = &mut changed => {}
                        _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                    }
                }
            } else {
                tokio::select! {
                    _ = cancel.cancelled() => return,
                    _ = &mut changed => {}
                }
            }
        }
    });
}

/// Reads one line (without CRLF) from the front of `buf`, reading more as needed.
pub(crate) async fn read_line<S: Link>(s: &mut S, buf: &mut BytesMut) -> std::io::Result<String> {
    loop {
        if let Some(p) = buf.windows(2).position(|w| w == b"\r\n") {
            let line = String::from_utf8_lossy(&buf[..p]).into_owned();
            buf.advance(p + 2);
            return Ok(line);
        }
        if buf.len() > 64 * 1024 {
            return Err(std::io::Error::other("line too long"));
        }
        if s.read_buf(buf).await? == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
    }
}

async fn command<S: Link>(
    s: &mut S,
    buf: &mut BytesMut,
    args: &[&[u8]],
) -> std::io::Result<String> {
    let mut out = Vec::new();
    shoal_commands::repl::encode(&mut out, args);
    s.write_all(&out).await?;
    s.flush().await?;
    read_line(s, buf).await
}

/// One connection to the primary: handshake, sync, then the stream until an error or a role
/// change.
async fn link_once(
    shared: &Arc<Shared>,
    tls: &Tls,
    host: &str,
    port: u16,
    generation: u64,
) -> std::io::Result<()> {
    let addr = format!("{host}:{port}");
    let s = tokio::time::timeout(Duration::from_secs(5), TcpStream::connect(&addr))
        .await
        .map_err(|_| std::io::Error::other("connect timed out"))??;
    s.set_nodelay(true)?;
    let peer = s.peer_addr().map(|a| a.to_string()).unwrap_or_default();
    let local = s.local_addr().map(|a| a.to_string()).unwrap_or_default();
    if shared.config.read().tls.replication {
        // tls-replication: the whole link speaks TLS (the handshake under the same deadline).
        let s = tokio::time::timeout(Duration::from_secs(5), super::tls::connect(tls, host, s))
            .await
            .map_err(|_| std::io::Error::other("TLS handshake timed out"))??;
        link_on(shared, s, &addr, (peer, local), generation).await
    } else {
        link_on(shared, s, &addr, (peer, local), generation).await
    }
}

/// The link over a connected (plain or TLS) stream.
async fn link_on<S: Link>(
    shared: &Arc<Shared>,
    mut s: S,
    addr: &str,
    (peer, local): (String, String),
    generation: u64,
) -> std::io::Result<()> {
    let repl = &shared.repl;
    let mut buf = BytesMut::with_capacity(64 * 1024);
    let (masteruser, masterauth) = {
        let c = shared.config.read();
        (c.masteruser.clone(), c.masterauth.clone())
    };
    if let Some(pw) = masterauth {
        // `masteruser`: AUTH as that ACL user (Redis sends AUTH <user> <pass> then).
        let r = match &masteruser {
            Some(u) => command(&mut s, &mut buf, &[b"AUTH", u.as_bytes(), pw.as_bytes()]).await?,
            None => command(&mut s, &mut buf, &[b"AUTH", pw.as_bytes()]).await?,
        };
        if !r.starts_with('+') {
            return Err(std::io::Error::other(format!(
                "Unable to AUTH to MASTER: {r}"
            )));
        }
    }
    let r = command(&mut s, &mut buf, &[b"PING"]).await?;
    if !r.starts_with('+') {
        return Err(std::io::Error::other(format!("PING: {r}")));
    }
    // The port this replica's clients use: its TLS port when replication speaks TLS, as Redis.
    let my_port = if shared.config.read().tls.replication {
        shared.tls_port.load(Relaxed)
    } else {
        shared.tcp_port.load(Relaxed)
    }
    .to_string();
    command(
        &mut s,
        &mut buf,
        &[b"REPLCONF", b"listening-port", my_port.as_bytes()],
    )
    .await?;
    command(
        &mut s,
        &mut buf,
        &[
            b"REPLCONF",
            b"capa",
            b"psync2",
            b"capa",
            shoal_commands::repl::CAPA_FUNCTIONS.as_bytes(),
            b"capa",
            shoal_commands::repl::CAPA_PSYNC_NEXT.as_bytes(),
        ],
    )
    .await?;
    // Continue where we stopped if we hold the primary's data, else start over; asking, as
    // Redis, for the first byte not held (`capa shoal-psync-next` tells a shoal primary so).
    let (id, off) = if repl.synced.load(Relaxed) {
        (
            repl.replid.lock().clone(),
            (repl.offset.load(Relaxed) + 1).to_string(),
        )
    } else {
        ("?".to_string(), "-1".to_string())
    };
    let reply = command(&mut s, &mut buf, &[b"PSYNC", id.as_bytes(), off.as_bytes()]).await?;
    let mut words = reply.trim_start_matches('+').split(' ');
    match words.next() {
        Some("FULLRESYNC") => {
            let new_id = words.next().unwrap_or_default().to_string();
            let start: u64 = words.next().and_then(|w| w.parse().ok()).unwrap_or(0);
            *repl.link.lock() = LinkState::Sync;
            repl.synced.store(false, Relaxed);
            match load_snapshot(shared, &mut s, &mut buf).await? {
                Snapshot::Shoal(Some(libs)) => restore_functions(shared, &libs)?,
                Snapshot::Shoal(None) | Snapshot::Rdb => {}
            }
            *repl.replid.lock() = new_id;
            *repl.replid2.lock() = "0".repeat(40);
            repl.second_offset.store(-1, Relaxed);
            repl.offset.store(start, Relaxed);
            // This node's own backlog starts here (its replicas, or its siblings once it is
            // promoted, continue from it).
            let size = shared.config.read().repl_backlog_size as usize;
            *repl.backlog.lock() = Some(shoal_commands::repl::Backlog::new(size, start));
            tracing::info!(primary = %addr, offset = start, "Full resynchronization done");
        }
        Some("CONTINUE") => {
            if let Some(new_id) = words.next() {
                repl.shift_replid(new_id.to_string());
            }
            repl.ensure_backlog(shared.config.read().repl_backlog_size as usize);
            tracing::info!(primary = %addr, "Partial resynchronization: continuing");
        }
        _ => return Err(std::io::Error::other(format!("PSYNC: {reply}"))),
    }
    repl.synced.store(true, Relaxed);
    *repl.link.lock() = LinkState::Connected;
    repl.link_seen_ms.store(unix_ms(), Relaxed);
    apply_stream(shared, &mut s, &mut buf, (peer, local), generation).await
}

/// Replaces this node's function libraries with the primary's (its FUNCTION DUMP payload).
fn restore_functions(shared: &Arc<Shared>, payload: &[u8]) -> std::io::Result<()> {
    let info = Arc::new(ClientInfo::new(
        shared.next_client_id(),
        String::new(),
        String::new(),
    ));
    let mut master = Client::new(info, true);
    master.is_master = true;
    let mut out = Reply::new();
    let cmd = shoal_resp::OwnedArgs::from_parts([&b"FUNCTION"[..], b"RESTORE", payload, b"FLUSH"]);
    shoal_commands::dispatch(shared, &mut master, &mut out, cmd.args(), 0);
    if out.buf.first() == Some(&b'-') {
        return Err(std::io::Error::other(format!(
            "the primary's functions: {}",
            String::from_utf8_lossy(&out.buf).trim_end()
        )));
    }
    Ok(())
}

/// What a full sync loaded.
enum Snapshot {
    /// A shoal primary's records, with its function libraries when it sent them.
    Shoal(Option<Vec<u8>>),
    /// A redis-server's RDB image (functions included).
    Rdb,
}

/// Loads the records of a full sync (bulks until an empty one) into a flushed keyspace, with
/// the primary's function libraries when it sent them (`+FUNCTIONS <len>` before the records);
/// or, when the first frame is an RDB image, a redis-server's payload (`redis_primary`).
async fn load_snapshot<S: Link>(
    shared: &Arc<Shared>,
    s: &mut S,
    buf: &mut BytesMut,
) -> std::io::Result<Snapshot> {
    let store = &shared.store;
    for id in store.live_shards().collect::<Vec<_>>() {
        store.lock(id).clear();
    }
    let mut records = Vec::new();
    let mut libs = None;
    let mut first = true;
    loop {
        let line = read_line(s, buf).await?;
        // A redis-server sends newlines to keep the link alive until its payload is ready.
        let head = line.trim_start_matches('\n');
        if let Some(n) = head.strip_prefix("+FUNCTIONS ") {
            let len: usize = n
                .parse()
                .map_err(|_| std::io::Error::other(format!("bad functions frame {head:?}")))?;
            while buf.len() < len + 2 {
                if s.read_buf(buf).await? == 0 {
                    return Err(std::io::ErrorKind::UnexpectedEof.into());
                }
            }
            libs = Some(buf[..len].to_vec());
            buf.advance(len + 2);
            continue;
        }
        let len: usize = head
            .strip_prefix('$')
            .and_then(|n| n.parse().ok())
            .ok_or_else(|| std::io::Error::other(format!("bad snapshot frame {head:?}")))?;
        if len == 0 {
            read_line(s, buf).await?;
            break;
        }
        if std::mem::take(&mut first) && libs.is_none() {
            while buf.len() < len.min(5) {
                if s.read_buf(buf).await? == 0 {
                    return Err(std::io::ErrorKind::UnexpectedEof.into());
                }
            }
            if super::redis_primary::is_rdb(buf) {
                super::redis_primary::load(shared, s, buf, len).await?;
                return Ok(Snapshot::Rdb);
            }
        }
        while buf.len() < len + 2 {
            if s.read_buf(buf).await? == 0 {
                return Err(std::io::ErrorKind::UnexpectedEof.into());
            }
        }
        records.extend_from_slice(&buf[..len]);
        buf.advance(len + 2);
        let (recs, used) = shoal_store::snapshot::read_records(&records);
        for (db, key, expire, payload) in recs {
            shoal_commands::slotmig::apply_record(store, db as usize, key, expire, payload, 0)
                .map_err(|_| std::io::Error::other("corrupt snapshot record"))?;
        }
        records.drain(..used);
    }
    Ok(Snapshot::Shoal(libs))
}

/// Applies the primary's commands as the master client; acknowledges every second and on GETACK.
async fn apply_stream<S: Link>(
    shared: &Arc<Shared>,
    s: &mut S,
    buf: &mut BytesMut,
    (peer, local): (String, String),
    generation: u64,
) -> std::io::Result<()> {
    let repl = &shared.repl;
    let info = Arc::new(ClientInfo::new(shared.next_client_id(), peer, local));
    let mut master = Client::new(info, true);
    master.is_master = true;
    let mut out = Reply::new();
    let mut parser = Parser::new(Limits {
        max_bulk_len: shared.config.read().proto_max_bulk_len,
        ..Limits::default()
    });
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    loop {
        if repl.generation.load(Relaxed) != generation {
            return Ok(());
        }
        let mut off = 0;
        let mut ack_now = false;
        loop {
            match parser.parse(&buf[off..]) {
                Ok(Parsed::Command { len }) => {
                    let args = parser.args(&buf[off..]);
                    if args.len() >= 2
                        && args.get(0).eq_ignore_ascii_case(b"replconf")
                        && args.get(1).eq_ignore_ascii_case(b"getack")
                    {
                        ack_now = true;
                    } else {
                        // now = 0: the primary sends absolute times; nothing looks expired to it.
                        shoal_commands::dispatch(shared, &mut master, &mut out, args, 0);
                        if out.buf.first() == Some(&b'-') {
                            shoal_commands::repl::primary_command_failed(shared, &args, &out.buf);
                        }
                        master.blocked = None;
                        out.buf.clear();
                    }
                    repl.applied(&buf[off..off + len]);
                    off += len;
                }
                Ok(Parsed::Empty { len }) => {
                    repl.applied(&buf[off..off + len]);
                    off += len;
                }
                Ok(Parsed::Incomplete { .. }) => break,
                Err(e) => return Err(std::io::Error::other(format!("stream: {e}"))),
            }
        }
        buf.advance(off);
        shared.stats.flush_batch(&mut master.batch, 0, 0);
        if ack_now {
            send_ack(shared, s).await?;
        }
        tokio::select! {
            r = s.read_buf(buf) => {
                if r? == 0 {
                    return Err(std::io::ErrorKind::UnexpectedEof.into());
                }
                repl.link_seen_ms.store(unix_ms(), Relaxed);
            }
            _ = tick.tick() => send_ack(shared, s).await?,
            _ = repl.changed.notified() => {}
        }
    }
}

async fn send_ack<S: Link>(shared: &Shared, s: &mut S) -> std::io::Result<()> {
    let off = shared.repl.offset.load(Relaxed).to_string();
    let mut out = Vec::new();
    shoal_commands::repl::encode(&mut out, &[b"REPLCONF", b"ACK", off.as_bytes()]);
    s.write_all(&out).await?;
    s.flush().await
}
