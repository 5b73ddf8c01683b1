//! LEB128 lengths, as every packed layout of the store writes them (entry blocks, thin pairs,
//! packs): 7 bits a byte, low bits first, the high bit set on all but the last byte.

/// Bytes `n` takes.
#[inline]
pub fn len(mut n: usize) -> usize {
    let mut len = 1;
    while n >= 0x80 {
        n >>= 7;
        len += 1;
    }
    len
}

/// Appends `n` to `out`.
pub fn push(out: &mut Vec<u8>, mut n: usize) {
    loop {
        let b = (n & 0x7f) as u8;
        n >>= 7;
        if n == 0 {
            out.push(b);
            return;
        }
        out.push(b | 0x80);
    }
}

/// Reads a length at the front of `buf`: (value, bytes read), `None` if it runs off the end.
#[inline]
pub fn read(buf: &[u8]) -> Option<(usize, usize)> {
    let (mut n, mut shift) = (0usize, 0);
    for (i, &b) in buf.iter().enumerate() {
        n |= ((b & 0x7f) as usize) << shift;
        if b & 0x80 == 0 {
            return Some((n, i + 1));
        }
        shift += 7;
    }
    None
}

/// Writes `n` at `p`; returns the bytes written.
///
/// # Safety
/// `p` must be valid for `len(n)` bytes of writes.
#[inline]
pub unsafe fn write_raw(p: *mut u8, mut n: usize) -> usize {
    let mut i = 0;
    loop {
        let b = (n & 0x7f) as u8;
        n >>= 7;
        // SAFETY: within the `len(n)` bytes the caller reserved.
        unsafe { *p.add(i) = if n == 0 { b } else { b | 0x80 } };
        i += 1;
        if n == 0 {
            return i;
        }
    }
}

/// Reads a length at `p`: (value, bytes read).
///
/// # Safety
/// `p` must point at a length written by `write_raw` (or `push`).
#[inline]
pub unsafe fn read_raw(p: *const u8) -> (usize, usize) {
    // SAFETY: the caller's contract: the first byte is readable.
    let first = unsafe { *p };
    if first < 0x80 {
        return (first as usize, 1);
    }
    let (mut n, mut shift, mut i) = (0usize, 0, 0);
    loop {
        // SAFETY: a well-formed length's bytes are readable up to its last one.
        let b = unsafe { *p.add(i) };
        n |= ((b & 0x7f) as usize) << shift;
        i += 1;
        if b < 0x80 {
            return (n, i);
        }
        shift += 7;
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn round_trips() {
        for n in [0usize, 1, 127, 128, 300, 16383, 16384, 1 << 40] {
            let mut v = Vec::new();
            super::push(&mut v, n);
            assert_eq!(v.len(), super::len(n));
            assert_eq!(super::read(&v), Some((n, v.len())));
            assert_eq!(unsafe { super::read_raw(v.as_ptr()) }, (n, v.len()));
            let mut w = vec![0u8; v.len()];
            assert_eq!(unsafe { super::write_raw(w.as_mut_ptr(), n) }, v.len());
            assert_eq!(w, v);
        }
        assert_eq!(super::read(&[0x80]), None);
    }
}
