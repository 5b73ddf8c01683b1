//! A redis-server as this replica's primary: its full sync is one RDB image.
//!
//! ```text
//!  redis-server                                 shoal replica (replication.rs link)
//!  +FULLRESYNC <id> <off>                  ──>  flush (done before the first frame)
//!  "\n" keepalives while BGSAVE runs       ──>  skipped by the frame reader
//!  $<len>\r\n<RDB bytes> (no CRLF after)   ──>  `is_rdb` on the first bytes, then `load`:
//!                                               FUNCTION FLUSH, the image through the RDB
//!                                               loader (functions included), off-thread
//!  the command stream from <off>           ──>  applied exactly as a shoal primary's
//! ```
//!
//! The replica does not announce `capa eof`, so Redis always sends the length-prefixed form.
//! PSYNC asks for `offset + 1` (the first byte lacked) from any primary, as Redis counts.

use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;

use bytes::BytesMut;
use shoal_commands::{Client, ClientInfo, Shared, unix_ms};
use tokio::io::AsyncReadExt;

use super::replication::Link;

/// Whether a full sync's first frame (its first bytes so far) is an RDB image.
pub(crate) fn is_rdb(head: &[u8]) -> bool {
    head.starts_with(b"REDIS")
}

/// Reads the rest of an RDB payload of `len` bytes (its start may already be in `buf`) and
/// loads it into the (already flushed) keyspace; the stream's bytes that follow stay in `buf`.
pub(crate) async fn load<S: Link>(
    shared: &Arc<Shared>,
    s: &mut S,
    buf: &mut BytesMut,
    len: usize,
) -> std::io::Result<()> {
    // The payload grows as it arrives (never reserved from the announced length).
    while buf.len() < len {
        if s.read_buf(buf).await? == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        shared.repl.link_seen_ms.store(unix_ms(), Relaxed);
    }
    let image = buf.split_to(len);
    master_command(shared, &[b"FUNCTION", b"FLUSH", b"SYNC"]).map_err(std::io::Error::other)?;
    let sh = shared.clone();
    shared.persist.set_loading(true);
    let loaded =
        tokio::task::spawn_blocking(move || shoal_commands::persist::load_bytes(&sh, &image)).await;
    let stats = match loaded {
        Ok(Ok(stats)) => {
            shared.persist.set_loading(false);
            stats
        }
        failed => {
            // Nothing half-loaded is served (clients see -LOADING until it is flushed): the next
            // attempt syncs from scratch.
            let store = &shared.store;
            for id in store.live_shards().collect::<Vec<_>>() {
                store.lock(id).clear();
            }
            shared.persist.set_loading(false);
            let why = match failed {
                Ok(Err(e)) => e,
                Err(e) => e.to_string(),
                Ok(Ok(_)) => String::new(),
            };
            return Err(std::io::Error::other(format!("the primary's RDB: {why}")));
        }
    };
    tracing::info!(
        keys = stats.keys,
        functions = stats.functions,
        bytes = len,
        "MASTER <-> REPLICA sync: loaded the primary's RDB"
    );
    Ok(())
}

/// Runs one command as the master client; its error reply as text.
fn master_command(shared: &Arc<Shared>, parts: &[&[u8]]) -> Result<(), String> {
    let info = Arc::new(ClientInfo::new(
        shared.next_client_id(),
        String::new(),
        String::new(),
    ));
    let mut master = Client::new(info, true);
    master.is_master = true;
    let mut out = shoal_resp::Reply::new();
    let cmd = shoal_resp::OwnedArgs::from_parts(parts.iter().copied());
    shoal_commands::dispatch(shared, &mut master, &mut out, cmd.args(), 0);
    if out.buf.first() == Some(&b'-') {
        return Err(String::from_utf8_lossy(&out.buf).trim_end().to_string());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn an_rdb_payload_is_told_from_shoal_records() {
        assert!(super::is_rdb(b"REDIS0010\xfa"));
        // A shoal record starts with its database as a little-endian u32.
        assert!(!super::is_rdb(&[0, 0, 0, 0, 3, 0, 0, 0]));
        assert!(!super::is_rdb(b"RED"));
    }
}
