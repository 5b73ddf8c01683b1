//! A log of modified keys for client-side caching: while some client tracks keys, every key a
//! shard marks modified (a write, an expiry, an eviction) is logged on the thread that changed
//! it, for the command layer to send invalidations. Off, it costs one relaxed load per change.

use std::cell::RefCell;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};

static ON: AtomicBool = AtomicBool::new(false);

thread_local! {
    static LOG: RefCell<Vec<Box<[u8]>>> = const { RefCell::new(Vec::new()) };
}

/// Starts or stops logging (some client tracks keys, or none does).
pub fn set_logging(on: bool) {
    ON.store(on, Relaxed);
}

#[inline]
pub fn logging() -> bool {
    ON.load(Relaxed)
}

#[inline]
pub(crate) fn log(key: &[u8]) {
    if logging() {
        LOG.with(|l| l.borrow_mut().push(key.into()));
    }
}

/// Moves the keys this thread logged since the last call to `out`; false if there were none.
pub fn take(out: &mut Vec<Box<[u8]>>) -> bool {
    LOG.with(|l| {
        let mut l = l.borrow_mut();
        if l.is_empty() {
            return false;
        }
        out.append(&mut l);
        true
    })
}
