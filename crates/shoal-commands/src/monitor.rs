//! MONITOR: every command run by any client is sent, as Redis prints it, to the clients that
//! asked. Each monitor has a bounded queue; one that falls behind is dropped (its connection
//! closes) instead of making the server hold an unbounded backlog.

use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

use parking_lot::Mutex;
use shoal_resp::Args;
use tokio::sync::mpsc;

/// Lines a monitor may have waiting before it is dropped.
pub const QUEUE: usize = 10_000;

#[derive(Default)]
pub struct Monitors {
    count: AtomicUsize,
    list: Mutex<Vec<(u64, mpsc::Sender<Vec<u8>>)>>,
}

impl Monitors {
    /// Registers client `id`; returns the receiving end of its queue.
    pub fn add(&self, id: u64) -> mpsc::Receiver<Vec<u8>> {
        let (tx, rx) = mpsc::channel(QUEUE);
        let mut l = self.list.lock();
        l.push((id, tx));
        self.count.store(l.len(), Relaxed);
        rx
    }

    pub fn remove(&self, id: u64) {
        let mut l = self.list.lock();
        l.retain(|(c, _)| *c != id);
        self.count.store(l.len(), Relaxed);
    }

    #[inline]
    pub fn active(&self) -> bool {
        self.count.load(Relaxed) > 0
    }

    /// Sends one command to every monitor: `+<secs>.<usec> [<db> <addr>] "arg" ...`.
    pub fn feed(&self, now_us: u64, db: usize, addr: &str, args: &Args<'_>) {
        let mut line = format!(
            "+{}.{:06} [{db} {addr}]",
            now_us / 1_000_000,
            now_us % 1_000_000
        )
        .into_bytes();
        for a in args.iter() {
            line.extend_from_slice(b" \"");
            for &c in a {
                match c {
                    b'\\' => line.extend_from_slice(b"\\\\"),
                    b'"' => line.extend_from_slice(b"\\\""),
                    b'\n' => line.extend_from_slice(b"\\n"),
                    b'\r' => line.extend_from_slice(b"\\r"),
                    b'\t' => line.extend_from_slice(b"\\t"),
                    0x20..=0x7e => line.push(c),
                    _ => line.extend_from_slice(format!("\\x{c:02x}").as_bytes()),
                }
            }
            line.push(b'"');
        }
        line.extend_from_slice(b"\r\n");
        let mut l = self.list.lock();
        // A monitor whose queue is full is dropped: its receiver sees the queue closed.
        l.retain(|(_, tx)| tx.try_send(line.clone()).is_ok());
        self.count.store(l.len(), Relaxed);
    }
}
