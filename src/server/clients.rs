//! The clients cron (Redis's clientsCron, for what shoal does there): has query buffers resized
//! as Redis's clientsCronResizeQueryBuffer does (see `connection::resize_qbuf` for the rules).
//!
//! Every 1/hz seconds it asks the clients whose buffer grew past 32 KiB (they list themselves
//! in `Shared::qbuf_big` when it grows, which is rare), and once a second it looks at every
//! client for idle ones with room to give back, as Redis's cron visits each client about once
//! a second.
//!
//! A client's buffer belongs to its connection task: the cron only asks (`qbuf_trim`) and wakes
//! the task, which resizes the buffer when it finds its socket empty. The request path pays one
//! flag load per wait for it.

use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

use shoal_commands::{ClientInfo, Shared, unix_ms};
use tokio_util::sync::CancellationToken;

pub fn spawn_cron(shared: Arc<Shared>, cancel: CancellationToken) {
    tokio::spawn(async move {
        let mut tick = 0u64;
        loop {
            let hz = shared.config.read().hz.clamp(1, 500);
            tokio::select! {
                _ = cancel.cancelled() => return,
                _ = tokio::time::sleep(Duration::from_millis(1000 / hz)) => {}
            }
            tick += 1;
            big_buffers(&shared);
            if tick.is_multiple_of(hz) {
                idle_clients(&shared);
            }
        }
    });
}

/// Asks the clients with a big buffer for a resize; forgets those whose buffer is small again
/// (the connection clears `qbuf_big`) or that are gone.
fn big_buffers(shared: &Shared) {
    let mut ids = std::mem::take(&mut *shared.qbuf_big.lock());
    if ids.is_empty() {
        return;
    }
    ids.sort_unstable();
    ids.dedup();
    ids.retain(|id| match shared.clients.get(id) {
        Some(c) if c.qbuf_big.load(Relaxed) => {
            ask(&c);
            true
        }
        _ => false,
    });
    // Clients that listed themselves meanwhile are kept too.
    shared.qbuf_big.lock().append(&mut ids);
}

/// Asks the clients idle over 2 seconds with room to give back.
fn idle_clients(shared: &Shared) {
    let now = unix_ms();
    for c in shared.clients.iter() {
        if super::connection::qbuf_idle_waste(c.value(), now) {
            ask(c.value());
        }
    }
}

/// Sets the request and wakes the connection, unless a request is pending already.
fn ask(info: &ClientInfo) {
    if !info.qbuf_trim.swap(true, Relaxed)
        && let Some(w) = info.waker.lock().as_ref()
    {
        w.wake_by_ref();
    }
}
