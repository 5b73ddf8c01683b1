//! Memory accounting: [`Counting`] wraps the process's global allocator and counts the bytes it
//! holds, rounded up to jemalloc's size classes, so [`used`] is what the allocator really holds
//! for the process (keys, values, tables, client buffers: everything, as Redis's `used_memory`),
//! read with one relaxed load.
//!
//! Each thread adds its changes to a thread-local balance and folds it into the global counter
//! once it passes `FLUSH` bytes either way, so the hot path pays a thread-local add, and the
//! counter is exact to within `FLUSH` bytes per thread. A thread flushes what is left when it
//! exits if it called [`flush_on_exit`] (the server's threads do).
//!
//! When the wrapper is not the global allocator (unit tests of other crates), `used()` is 0.

use std::alloc::{GlobalAlloc, Layout};
use std::cell::Cell;
use std::sync::atomic::{AtomicIsize, AtomicUsize, Ordering::Relaxed};

const FLUSH: isize = 16 * 1024;

static USED: AtomicIsize = AtomicIsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    static BALANCE: Cell<isize> = const { Cell::new(0) };
}

/// The global allocator `A`, counted.
pub struct Counting<A>(pub A);

/// jemalloc's size class for a request of `size` bytes (64-bit, 16-byte quantum: 8, 16, 32,
/// 48, …, 128, then four classes per doubling).
#[inline]
pub fn size_class(size: usize) -> usize {
    if size <= 8 {
        return 8;
    }
    if size <= 128 {
        return (size + 15) & !15;
    }
    let lg = usize::BITS - 1 - (size - 1).leading_zeros();
    let delta = 1usize << (lg - 2);
    (size + delta - 1) & !(delta - 1)
}

#[inline]
fn charge(layout: &Layout) -> isize {
    size_class(layout.size().max(layout.align())) as isize
}

#[inline]
fn record(delta: isize) {
    let spill = BALANCE.try_with(|b| {
        let v = b.get() + delta;
        if v.abs() >= FLUSH {
            b.set(0);
            v
        } else {
            b.set(v);
            0
        }
    });
    match spill {
        Ok(0) => {}
        Ok(v) => {
            USED.fetch_add(v, Relaxed);
        }
        // The thread is exiting: count straight into the global counter.
        Err(_) => {
            USED.fetch_add(delta, Relaxed);
        }
    }
}

// SAFETY: every call is forwarded unchanged to the wrapped allocator; the wrapper only counts.
unsafe impl<A: GlobalAlloc> GlobalAlloc for Counting<A> {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { self.0.alloc(layout) };
        if !p.is_null() {
            record(charge(&layout));
        }
        p
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { self.0.alloc_zeroed(layout) };
        if !p.is_null() {
            record(charge(&layout));
        }
        p
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { self.0.dealloc(ptr, layout) };
        record(-charge(&layout));
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = unsafe { self.0.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            // SAFETY: `new_size` with the old alignment is a valid layout (realloc's contract).
            let new = unsafe { Layout::from_size_align_unchecked(new_size, layout.align()) };
            record(charge(&new) - charge(&layout));
        }
        p
    }
}

/// Bytes held by the allocator for the process (0 when [`Counting`] is not installed).
#[inline]
pub fn used() -> usize {
    USED.load(Relaxed).max(0) as usize
}

/// The highest [`used`] seen by [`note_peak`] (called by INFO and the server's timer).
pub fn peak() -> usize {
    note_peak()
}

/// Records the current use in the peak; returns the peak.
pub fn note_peak() -> usize {
    let u = used();
    PEAK.fetch_max(u, Relaxed).max(u)
}

/// Forgets the peak (CONFIG RESETSTAT leaves it; MEMORY PURGE-like resets may use this).
pub fn reset_peak() {
    PEAK.store(used(), Relaxed);
}

/// What the allocator itself reports (INFO memory's `allocator_*` fields).
#[derive(Clone, Copy, Debug, Default)]
pub struct AllocatorStats {
    pub name: &'static str,
    /// Bytes in allocations the application holds.
    pub allocated: u64,
    /// Bytes in pages with allocations (allocated plus their fragmentation).
    pub active: u64,
    /// Bytes of memory the allocator has resident.
    pub resident: u64,
}

static STATS_HOOK: std::sync::OnceLock<fn() -> AllocatorStats> = std::sync::OnceLock::new();

/// Installs the function that reads the allocator's own statistics (the binary does, for
/// jemalloc).
pub fn set_allocator_stats(f: fn() -> AllocatorStats) {
    let _ = STATS_HOOK.set(f);
}

/// The allocator's own statistics, when a reader is installed.
pub fn allocator_stats() -> Option<AllocatorStats> {
    STATS_HOOK.get().map(|f| f())
}

/// The allocator's own report and page purge (MEMORY MALLOC-STATS and MEMORY PURGE).
#[derive(Clone, Copy)]
pub struct AllocatorTools {
    /// The allocator's statistics as text.
    pub report: fn() -> String,
    /// Returns unused dirty pages to the system; false if the allocator refused.
    pub purge: fn() -> bool,
}

static TOOLS_HOOK: std::sync::OnceLock<AllocatorTools> = std::sync::OnceLock::new();

/// Installs the allocator's report and purge (the binary does, for jemalloc).
pub fn set_allocator_tools(t: AllocatorTools) {
    let _ = TOOLS_HOOK.set(t);
}

/// The allocator's statistics as text, when a reader is installed.
pub fn allocator_report() -> Option<String> {
    TOOLS_HOOK.get().map(|t| (t.report)())
}

/// Asks the allocator to return its dirty pages; false when it cannot.
pub fn allocator_purge() -> bool {
    TOOLS_HOOK.get().is_some_and(|t| (t.purge)())
}

/// Folds this thread's balance into the global counter now.
pub fn flush_thread() {
    let v = BALANCE.with(|b| b.replace(0));
    if v != 0 {
        USED.fetch_add(v, Relaxed);
    }
}

struct ExitFlush;

impl Drop for ExitFlush {
    fn drop(&mut self) {
        let v = BALANCE.try_with(|b| b.replace(0)).unwrap_or(0);
        if v != 0 {
            USED.fetch_add(v, Relaxed);
        }
    }
}

thread_local! {
    static EXIT_FLUSH: ExitFlush = const { ExitFlush };
}

/// Makes this thread fold its balance into the counter when it exits, so threads that come and
/// go (tokio's blocking pool) leave no drift behind.
pub fn flush_on_exit() {
    EXIT_FLUSH.with(|_| {});
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn size_classes_match_jemalloc() {
        let cases = [
            (1, 8),
            (8, 8),
            (9, 16),
            (17, 32),
            (33, 48),
            (55, 64),
            (100, 112),
            (128, 128),
            (129, 160),
            (161, 192),
            (257, 320),
            (4097, 5120),
            (14336, 14336),
            (14337, 16384),
            (16385, 20480),
            (1 << 20, 1 << 20),
            ((1 << 20) + 1, (1 << 20) + (1 << 18)),
        ];
        for (size, class) in cases {
            assert_eq!(size_class(size), class, "size {size}");
        }
    }
}
