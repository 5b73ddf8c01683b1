//! SLOWLOG: the commands that took longer than `slowlog-log-slower-than` microseconds, newest
//! first, at most `slowlog-max-len` of them. Arguments are trimmed as Redis trims them (32
//! arguments, 128 bytes each).

use std::collections::VecDeque;
use std::sync::atomic::{AtomicI64, AtomicU64, AtomicUsize, Ordering::Relaxed};

use parking_lot::Mutex;
use shoal_resp::Args;

pub struct Entry {
    pub id: u64,
    pub time: u64,
    pub usec: u64,
    pub args: Vec<Vec<u8>>,
    pub addr: String,
    pub name: String,
}

pub struct SlowLog {
    entries: Mutex<VecDeque<Entry>>,
    next_id: AtomicU64,
    /// Microseconds; negative turns the log off, 0 logs everything.
    pub slower_than: AtomicI64,
    pub max_len: AtomicUsize,
}

impl Default for SlowLog {
    fn default() -> Self {
        SlowLog {
            entries: Mutex::new(VecDeque::new()),
            next_id: AtomicU64::new(0),
            slower_than: AtomicI64::new(10_000),
            max_len: AtomicUsize::new(128),
        }
    }
}

const MAX_ARGS: usize = 32;
const MAX_ARG_LEN: usize = 128;

impl SlowLog {
    /// True when a command of `usec` microseconds belongs in the log.
    #[inline]
    pub fn wants(&self, usec: u64) -> bool {
        let t = self.slower_than.load(Relaxed);
        t >= 0 && usec >= t as u64
    }

    pub fn push(&self, args: &Args<'_>, usec: u64, time: u64, addr: &str, name: &str) {
        let mut kept: Vec<Vec<u8>> = Vec::new();
        for (i, a) in args.iter().enumerate() {
            if i == MAX_ARGS - 1 && args.len() > MAX_ARGS {
                kept.push(
                    format!("... ({} more arguments)", args.len() - MAX_ARGS + 1).into_bytes(),
                );
                break;
            }
            if a.len() > MAX_ARG_LEN {
                let mut v = a[..MAX_ARG_LEN].to_vec();
                v.extend_from_slice(
                    format!("... ({} more bytes)", a.len() - MAX_ARG_LEN).as_bytes(),
                );
                kept.push(v);
            } else {
                kept.push(a.to_vec());
            }
        }
        let id = self.next_id.fetch_add(1, Relaxed);
        let mut e = self.entries.lock();
        e.push_front(Entry {
            id,
            time,
            usec,
            args: kept,
            addr: addr.to_string(),
            name: name.to_string(),
        });
        let max = self.max_len.load(Relaxed);
        e.truncate(max);
    }

    pub fn len(&self) -> usize {
        self.entries.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn reset(&self) {
        self.entries.lock().clear();
    }

    /// Calls `f` for the newest `count` entries (all when `None`).
    pub fn with_newest<R>(
        &self,
        count: Option<usize>,
        f: impl FnOnce(&mut dyn Iterator<Item = &Entry>) -> R,
    ) -> R {
        let e = self.entries.lock();
        let n = count.unwrap_or(e.len()).min(e.len());
        f(&mut e.iter().take(n))
    }
}
