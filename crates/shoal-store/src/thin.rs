//! Two byte strings in one heap block behind a thin (8-byte) pointer: a hash field and its value,
//! a set member (with nothing second), a sorted-set member and its score. Large collections hold
//! one of these per element instead of two boxes (two fat pointers and two allocations).
//!
//! Block: `varint len1, bytes1, varint len2, bytes2`, sized exactly. All unsafe code of the layout
//! is here. Invariant: `ptr` points to a live block allocated here (alignment 1, exactly
//! `block_size()` bytes) and owned by this `ThinPair`; a [`ThinRef`] made from it is valid while
//! the pair lives and its second string keeps its length.

use std::alloc::{Layout, alloc, dealloc, handle_alloc_error, realloc};
use std::ptr::NonNull;

use crate::varint::{len as varint_len, read_raw as get_varint, write_raw as put_varint};

fn layout(size: usize) -> Layout {
    match Layout::from_size_align(size, 1) {
        Ok(l) => l,
        Err(_) => handle_alloc_error(Layout::new::<u8>()),
    }
}

/// A borrowed view of a pair's block (Copy). Valid while the owning [`ThinPair`] lives.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct ThinRef(NonNull<u8>);

// A view of immutable bytes owned elsewhere; the owner's rules decide when it may be read.
unsafe impl Send for ThinRef {}
unsafe impl Sync for ThinRef {}

impl ThinRef {
    /// (offset of the first string, its length, offset of the second's varint)
    #[inline]
    fn spans(self) -> (usize, usize, usize) {
        // SAFETY: a live block starts with the first string's varint.
        let (len1, n1) = unsafe { get_varint(self.0.as_ptr()) };
        (n1, len1, n1 + len1)
    }

    /// The first string.
    ///
    /// # Safety
    /// The owning pair must outlive `'a` and not change meanwhile.
    #[inline]
    pub unsafe fn first<'a>(self) -> &'a [u8] {
        let (off, len, _) = self.spans();
        // SAFETY: the bytes lie in the block, which outlives 'a (caller's contract).
        unsafe { std::slice::from_raw_parts(self.0.as_ptr().add(off), len) }
    }

    /// The second string.
    ///
    /// # Safety
    /// As [`ThinRef::first`].
    #[inline]
    pub unsafe fn second<'a>(self) -> &'a [u8] {
        let (_, _, at) = self.spans();
        // SAFETY: the second varint and bytes follow the first string inside the block.
        unsafe {
            let p = self.0.as_ptr().add(at);
            let (len, n) = get_varint(p);
            std::slice::from_raw_parts(p.add(n), len)
        }
    }
}

/// An owned pair of byte strings in one block.
pub struct ThinPair {
    ptr: NonNull<u8>,
}

// Plain bytes, owned.
unsafe impl Send for ThinPair {}
unsafe impl Sync for ThinPair {}

impl ThinPair {
    pub fn new(first: &[u8], second: &[u8]) -> ThinPair {
        let size = varint_len(first.len()) + first.len() + varint_len(second.len()) + second.len();
        let l = layout(size);
        // SAFETY: `size` ≥ 2; every byte is written below.
        unsafe {
            let p = alloc(l);
            if p.is_null() {
                handle_alloc_error(l);
            }
            let mut at = put_varint(p, first.len());
            std::ptr::copy_nonoverlapping(first.as_ptr(), p.add(at), first.len());
            at += first.len();
            at += put_varint(p.add(at), second.len());
            std::ptr::copy_nonoverlapping(second.as_ptr(), p.add(at), second.len());
            ThinPair {
                ptr: NonNull::new_unchecked(p),
            }
        }
    }

    /// A view for indexes that point at this block (see [`ThinRef`]).
    #[inline]
    pub fn as_ref(&self) -> ThinRef {
        ThinRef(self.ptr)
    }

    #[inline]
    pub fn first(&self) -> &[u8] {
        // SAFETY: `self` owns the block for the borrow's duration.
        unsafe { self.as_ref().first() }
    }

    #[inline]
    pub fn second(&self) -> &[u8] {
        // SAFETY: as above.
        unsafe { self.as_ref().second() }
    }

    /// Bytes of the block.
    pub fn block_size(&self) -> usize {
        let (_, _, at) = self.as_ref().spans();
        // SAFETY: the second varint starts at `at`.
        let (len, n) = unsafe { get_varint(self.ptr.as_ptr().add(at)) };
        at + n + len
    }

    /// Replaces the second string. In place when its length does not change (then [`ThinRef`]s
    /// stay valid); otherwise the block moves.
    pub fn set_second(&mut self, second: &[u8]) {
        let (_, _, at) = self.as_ref().spans();
        let old = self.block_size();
        let size = at + varint_len(second.len()) + second.len();
        // SAFETY: the block has `old` bytes and is resized to `size`; the first string (before
        // `at`) is kept by realloc; the second is rewritten.
        unsafe {
            if size != old {
                let p = realloc(self.ptr.as_ptr(), layout(old), size);
                if p.is_null() {
                    handle_alloc_error(layout(size));
                }
                self.ptr = NonNull::new_unchecked(p);
            }
            let p = self.ptr.as_ptr().add(at);
            let n = put_varint(p, second.len());
            std::ptr::copy_nonoverlapping(second.as_ptr(), p.add(n), second.len());
        }
    }
}

impl Drop for ThinPair {
    fn drop(&mut self) {
        let size = self.block_size();
        // SAFETY: allocated with `layout(size)`, owned by `self`.
        unsafe { dealloc(self.ptr.as_ptr(), layout(size)) }
    }
}

impl Clone for ThinPair {
    fn clone(&self) -> Self {
        ThinPair::new(self.first(), self.second())
    }
}

impl std::fmt::Debug for ThinPair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "({:?}, {:?})",
            String::from_utf8_lossy(self.first()),
            String::from_utf8_lossy(self.second())
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_of_every_size_round_trip_and_change() {
        for a in [0usize, 1, 127, 128, 20000] {
            for b in [0usize, 5, 128, 300] {
                let (x, y) = (vec![b'a'; a], vec![b'b'; b]);
                let mut p = ThinPair::new(&x, &y);
                assert_eq!(p.first(), &x[..]);
                assert_eq!(p.second(), &y[..]);
                let r = p.as_ref();
                // Same length: in place, the view stays good.
                let same = vec![b'c'; b];
                p.set_second(&same);
                assert_eq!(unsafe { r.second() }, &same[..]);
                for c in [0usize, 1, 200, 70000, 3] {
                    let z = vec![b'z'; c];
                    p.set_second(&z);
                    assert_eq!(p.first(), &x[..]);
                    assert_eq!(p.second(), &z[..]);
                }
                let q = p.clone();
                assert_eq!(q.first(), p.first());
                assert_eq!(q.second(), p.second());
            }
        }
        assert_eq!(std::mem::size_of::<ThinPair>(), 8);
    }
}
