//! A packed list of byte strings in one allocation (the role of Redis's listpack): each entry is
//! a LEB128 length followed by its bytes. Small collections live in one of these instead of one
//! heap allocation per element. Operations scan linearly; callers keep packs small.

/// Entries back to back in one exactly-sized buffer (a boxed slice: no capacity field, so a
/// small collection's header fits a 32-byte allocation).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Pack {
    buf: Box<[u8]>,
    n: u32,
}

fn encoded(bytes: &[u8]) -> Vec<u8> {
    let mut e = Vec::with_capacity(bytes.len() + 2);
    crate::varint::push(&mut e, bytes.len());
    e.extend_from_slice(bytes);
    e
}

impl Pack {
    /// Number of entries.
    pub fn len(&self) -> usize {
        self.n as usize
    }

    pub fn is_empty(&self) -> bool {
        self.n == 0
    }

    /// Heap bytes held.
    pub fn bytes(&self) -> usize {
        self.buf.len()
    }

    /// Rebuilds the buffer through `f`, exactly sized again afterwards.
    fn edit(&mut self, f: impl FnOnce(&mut Vec<u8>)) {
        let mut v = std::mem::take(&mut self.buf).into_vec();
        f(&mut v);
        self.buf = v.into_boxed_slice();
    }

    /// (offset, bytes) of every entry, in order.
    pub fn iter(&self) -> PackIter<'_> {
        PackIter {
            buf: &self.buf,
            pos: 0,
        }
    }

    /// The entry starting at `off` and the offset just past it.
    fn entry_at(&self, off: usize) -> (&[u8], usize) {
        let mut it = PackIter {
            buf: &self.buf,
            pos: off,
        };
        match it.next() {
            Some((_, b)) => (b, it.pos),
            None => (&[], off),
        }
    }

    /// Appends an entry.
    pub fn push(&mut self, bytes: &[u8]) {
        let e = encoded(bytes);
        self.edit(|v| {
            v.reserve_exact(e.len());
            v.extend_from_slice(&e);
        });
        self.n += 1;
    }

    /// Inserts entries at byte offset `off` (an entry boundary).
    pub fn insert_at(&mut self, off: usize, entries: &[&[u8]]) {
        let mut e = Vec::new();
        for b in entries {
            e.extend_from_slice(&encoded(b));
        }
        self.edit(|v| {
            v.reserve_exact(e.len());
            v.splice(off..off, e);
        });
        self.n += entries.len() as u32;
    }

    /// Removes `count` entries starting at byte offset `off`.
    pub fn remove_at(&mut self, off: usize, count: usize) {
        let mut end = off;
        for _ in 0..count {
            end = self.entry_at(end).1;
        }
        self.edit(|v| {
            v.drain(off..end);
        });
        self.n -= count as u32;
    }

    /// Replaces the entry at byte offset `off` with `bytes`.
    pub fn replace_at(&mut self, off: usize, bytes: &[u8]) {
        let end = self.entry_at(off).1;
        let e = encoded(bytes);
        self.edit(|v| {
            v.splice(off..end, e);
        });
    }
}

pub struct PackIter<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Iterator for PackIter<'a> {
    type Item = (usize, &'a [u8]);

    fn next(&mut self) -> Option<(usize, &'a [u8])> {
        let start = self.pos;
        let (len, n) = crate::varint::read(self.buf.get(self.pos..)?)?;
        self.pos += n;
        let bytes = self.buf.get(self.pos..self.pos + len)?;
        self.pos += len;
        Some((start, bytes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn push_insert_replace_remove() {
        let mut p = Pack::default();
        p.push(b"a");
        p.push(&[b'x'; 200]);
        p.push(b"");
        assert_eq!(p.len(), 3);
        let offs: Vec<usize> = p.iter().map(|(o, _)| o).collect();
        p.insert_at(offs[1], &[b"b", b"c"]);
        let got: Vec<Vec<u8>> = p.iter().map(|(_, b)| b.to_vec()).collect();
        assert_eq!(
            got,
            vec![
                b"a".to_vec(),
                b"b".to_vec(),
                b"c".to_vec(),
                vec![b'x'; 200],
                vec![]
            ]
        );
        let off = p.iter().nth(3).unwrap().0;
        p.replace_at(off, b"y");
        p.remove_at(p.iter().nth(1).unwrap().0, 2);
        let got: Vec<Vec<u8>> = p.iter().map(|(_, b)| b.to_vec()).collect();
        assert_eq!(got, vec![b"a".to_vec(), b"y".to_vec(), vec![]]);
        assert_eq!(p.len(), 3);
    }
}
