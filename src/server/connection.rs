//! One client connection: read -> parse every complete command already buffered -> dispatch
//! each -> write all replies with one write.
//!
//! Limits: a protocol error gets one `-ERR Protocol error: …` reply and the connection closes; a
//! query buffer over `client-query-buffer-limit` closes it too. Replies of a long pipeline are
//! flushed every `FLUSH_AT` bytes so the output buffer stays bounded.

use std::sync::Arc;
use std::sync::atomic::Ordering::{Acquire, Relaxed};
use std::time::{Duration, Instant};

use bytes::{Buf, BytesMut};
use shoal_commands::{Client, ClientInfo, Shared, dispatch, unix_ms};
use shoal_resp::{Limits, Parsed, Parser, Reply};
use tokio::io::{AsyncWriteExt, Interest};
use tokio::net::TcpStream;
use tokio_util::sync::CancellationToken;

const READ_CHUNK: usize = 16 * 1024;
/// Flush replies mid-batch past this size.
const FLUSH_AT: usize = 256 * 1024;
/// Buffers grown past this are given back once idle.
const SHRINK_ABOVE: usize = 1024 * 1024;

/// Limits a connection caches, refreshed when CONFIG SET bumps the generation.
struct Cached {
    generation: u64,
    query_limit: usize,
    timeout: u64,
}

impl Cached {
    fn load(shared: &Shared) -> Self {
        let generation = shared.config_gen.load(Acquire);
        let c = shared.config.read();
        Cached {
            generation,
            query_limit: c.client_query_buffer_limit as usize,
            timeout: c.timeout,
        }
    }
}

fn limits(shared: &Shared) -> Limits {
    Limits {
        max_bulk_len: shared.config.read().proto_max_bulk_len,
    }
}

pub async fn serve(
    mut stream: TcpStream,
    shared: Arc<Shared>,
    info: Arc<ClientInfo>,
    cancel: CancellationToken,
) {
    let id = info.id;
    let authenticated = shared.config.read().requirepass.is_none();
    let mut client = Client::new(info.clone(), authenticated);
    let mut parser = Parser::new(limits(&shared));
    let mut cached = Cached::load(&shared);
    let mut rbuf = BytesMut::with_capacity(READ_CHUNK);
    let mut out = Reply::new();
    let killed = info.kill_notify.notified();
    tokio::pin!(killed);
    let idle = tokio::time::sleep(Duration::from_secs(u32::MAX as u64));
    tokio::pin!(idle);
    tracing::debug!(client = id, addr = %info.addr, "client connected");
    'conn: loop {
        if rbuf.capacity() - rbuf.len() < READ_CHUNK / 4 {
            rbuf.reserve(READ_CHUNK);
        }
        if cached.timeout > 0 {
            idle.as_mut()
                .reset(tokio::time::Instant::now() + Duration::from_secs(cached.timeout));
        }
        let n = tokio::select! {
            biased;
            r = read_some(&stream, &mut rbuf) => match r {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            },
            _ = &mut killed => break,
            _ = cancel.cancelled() => break,
            _ = &mut idle, if cached.timeout > 0 => {
                tracing::debug!(client = id, "closing idle client");
                break;
            }
        };
        if info.killed.load(Relaxed) {
            break;
        }
        if shared.config_gen.load(Relaxed) != cached.generation {
            cached = Cached::load(&shared);
            parser.set_limits(limits(&shared));
        }
        let now = unix_ms();
        let started = Instant::now();
        info.last_interaction.store(now, Relaxed);
        let mut written = 0u64;
        let mut off = 0;
        loop {
            match parser.parse(&rbuf[off..]) {
                Ok(Parsed::Command { len }) => {
                    dispatch(
                        &shared,
                        &mut client,
                        &mut out,
                        parser.args(&rbuf[off..]),
                        now,
                    );
                    off += len;
                    if client.close {
                        break;
                    }
                    if let Some(d) = client.sleep.take() {
                        shared.stats.end_batch(started.elapsed().as_nanos() as u64);
                        written += out.len() as u64;
                        if flush(&mut stream, &mut out).await.is_err() {
                            break 'conn;
                        }
                        tokio::time::sleep(d).await;
                    }
                    if out.len() >= FLUSH_AT {
                        shared.stats.end_batch(started.elapsed().as_nanos() as u64);
                        written += out.len() as u64;
                        if flush(&mut stream, &mut out).await.is_err() {
                            break 'conn;
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
                        // A big bulk whose length is known: make room once.
                        rbuf.reserve((hint - pending).min(cached.query_limit));
                    }
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
        rbuf.advance(off);
        shared.stats.end_batch(started.elapsed().as_nanos() as u64);
        written += out.len() as u64;
        shared.stats.net(n as u64, written);
        if !out.is_empty() && flush(&mut stream, &mut out).await.is_err() {
            break;
        }
        if client.close {
            break;
        }
        if rbuf.is_empty() && rbuf.capacity() > SHRINK_ABOVE {
            rbuf = BytesMut::with_capacity(READ_CHUNK);
        }
    }
    let _ = stream.shutdown().await;
    client.unwatch_all(&shared.store);
    shared.clients.remove(&id);
    tracing::debug!(client = id, "client closed");
}

/// Reads what the socket has. A short read means the socket is drained: readiness is cleared
/// right away (by answering `WouldBlock` inside `try_io`), which saves the extra `read` that
/// would otherwise only return EAGAIN before the task parks. tokio clears readiness only if no
/// new event arrived meanwhile, so no wake-up is lost.
async fn read_some(stream: &TcpStream, buf: &mut BytesMut) -> std::io::Result<usize> {
    loop {
        stream.readable().await?;
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
            Ok(()) => return Ok(got),
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                if got > 0 {
                    return Ok(got);
                }
            }
            Err(e) => return Err(e),
        }
    }
}

async fn flush(stream: &mut TcpStream, out: &mut Reply) -> std::io::Result<()> {
    let r = stream.write_all(&out.buf).await;
    out.buf.clear();
    if out.buf.capacity() > SHRINK_ABOVE {
        out.buf = Vec::with_capacity(READ_CHUNK);
    }
    r
}
