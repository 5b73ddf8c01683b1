//! Borrowed and owned views of one command's arguments.

/// The arguments of one command: ranges into a buffer the command was parsed from.
#[derive(Clone, Copy, Debug)]
pub struct Args<'a> {
    base: &'a [u8],
    ranges: &'a [(usize, usize)],
}

impl<'a> Args<'a> {
    pub fn new(base: &'a [u8], ranges: &'a [(usize, usize)]) -> Self {
        Args { base, ranges }
    }

    /// Number of arguments, the command name included.
    #[inline]
    pub fn len(&self) -> usize {
        self.ranges.len()
    }

    #[inline]
    pub fn is_empty(&self) -> bool {
        self.ranges.is_empty()
    }

    /// Argument `i`, or an empty slice past the end (callers check `len` first; arity is checked
    /// by the dispatcher before any handler runs).
    #[inline]
    pub fn get(&self, i: usize) -> &'a [u8] {
        match self.ranges.get(i) {
            Some(&(s, e)) => &self.base[s..e],
            None => &[],
        }
    }

    /// The arguments from `n` on (COMMAND GETKEYS looks at the command inside its own).
    pub fn tail(&self, n: usize) -> Args<'a> {
        Args {
            base: self.base,
            ranges: self.ranges.get(n..).unwrap_or(&[]),
        }
    }

    pub fn iter(&self) -> impl ExactSizeIterator<Item = &'a [u8]> + 'a {
        let base = self.base;
        self.ranges.iter().map(move |&(s, e)| &base[s..e])
    }

    /// Copies the arguments into one owned buffer (for queued MULTI commands).
    pub fn to_owned(&self) -> OwnedArgs {
        let total = self.ranges.iter().map(|(s, e)| e - s).sum();
        let mut buf = Vec::with_capacity(total);
        let mut ranges = Vec::with_capacity(self.ranges.len());
        for a in self.iter() {
            let s = buf.len();
            buf.extend_from_slice(a);
            ranges.push((s, buf.len()));
        }
        OwnedArgs { buf, ranges }
    }
}

/// A command whose arguments own their bytes.
#[derive(Clone, Debug, Default)]
pub struct OwnedArgs {
    buf: Vec<u8>,
    ranges: Vec<(usize, usize)>,
}

impl OwnedArgs {
    pub fn from_parts<I: IntoIterator<Item = A>, A: AsRef<[u8]>>(parts: I) -> Self {
        let mut o = OwnedArgs::default();
        for p in parts {
            let s = o.buf.len();
            o.buf.extend_from_slice(p.as_ref());
            o.ranges.push((s, o.buf.len()));
        }
        o
    }

    /// Empties it, keeping its buffers (to fill it again).
    pub fn clear(&mut self) {
        self.buf.clear();
        self.ranges.clear();
    }

    /// Appends one argument.
    pub fn push(&mut self, part: &[u8]) {
        let s = self.buf.len();
        self.buf.extend_from_slice(part);
        self.ranges.push((s, self.buf.len()));
    }

    pub fn args(&self) -> Args<'_> {
        Args::new(&self.buf, &self.ranges)
    }
}
