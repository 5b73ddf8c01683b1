//! One keyspace entry in one heap block: eviction word, flags, optional expiry, key and value.
//!
//! ```text
//! word    u32      LRU clock or LFU counter (see `policy`)
//! head    u8       kind (bits 0-2), has-expiry (bit 3)
//! expire  u64      unix ms; present only with has-expiry
//! klen    varint   key length (LEB128), then the key bytes
//! payload          Int: i64 (8 bytes) | Str: varint length, then the bytes
//!                  | Hash/List/Set/ZSet: the pointer of a `Box` (8 bytes)
//! ```
//!
//! Multi-byte fields are read and written unaligned. The block is sized exactly (the allocator
//! rounds it to its size class) and its size is recomputed from the header when it is freed, so
//! an entry is one pointer wide. A 16-byte key with a 32-byte string value takes a 55-byte block
//! (a 64-byte jemalloc class), where a key box, a value box and a fixed-size record would take
//! three allocations' worth of rounding and headers.
//!
//! All unsafe code of the keyspace layout lives in this module. Invariants: `ptr` points to a
//! live block allocated here with alignment 1 and exactly `block_size()` bytes; a collection
//! pointer in the payload came from `Box::into_raw` and is owned by the entry.

use std::alloc::{Layout, alloc, dealloc, handle_alloc_error, realloc};
use std::ptr::NonNull;

use crate::stream::Stream;
use crate::types::{Hash, List, Set, ZSet};
use crate::value::Value;

const HEAD: usize = 4;
const HAS_EXPIRE: u8 = 1 << 3;
const KIND_MASK: u8 = 7;

/// The type of a value as stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Kind {
    Int = 0,
    Str = 1,
    Hash = 2,
    List = 3,
    Set = 4,
    ZSet = 5,
    Stream = 6,
}

impl Kind {
    fn from_bits(b: u8) -> Kind {
        match b & KIND_MASK {
            0 => Kind::Int,
            1 => Kind::Str,
            2 => Kind::Hash,
            3 => Kind::List,
            4 => Kind::Set,
            5 => Kind::ZSet,
            _ => Kind::Stream,
        }
    }

    fn is_collection(self) -> bool {
        !matches!(self, Kind::Int | Kind::Str)
    }
}

/// A value to store: string bytes are copied into the entry's block, a collection's box moves in.
pub enum NewValue<'a> {
    Int(i64),
    Str(&'a [u8]),
    Value(Value),
}

impl From<Value> for NewValue<'_> {
    fn from(v: Value) -> Self {
        match v {
            Value::Int(n) => NewValue::Int(n),
            v => NewValue::Value(v),
        }
    }
}

/// A stored value, borrowed.
#[derive(Clone, Copy, Debug)]
pub enum ValueRef<'a> {
    Int(i64),
    Str(&'a [u8]),
    Hash(&'a Hash),
    List(&'a List),
    Set(&'a Set),
    ZSet(&'a ZSet),
    Stream(&'a Stream),
}

/// A stored collection, borrowed mutably (strings change through `Entry::set_value`).
pub enum CollMut<'a> {
    Hash(&'a mut Hash),
    List(&'a mut List),
    Set(&'a mut Set),
    ZSet(&'a mut ZSet),
    Stream(&'a mut Stream),
    /// The value is a string.
    NotCollection,
}

use crate::varint::{len as varint_len, read_raw as get_varint, write_raw as put_varint};

fn payload_size(v: &NewValue<'_>) -> usize {
    match v {
        NewValue::Int(_) => 8,
        NewValue::Str(b) => varint_len(b.len()) + b.len(),
        NewValue::Value(Value::Str(b)) => varint_len(b.len()) + b.len(),
        NewValue::Value(_) => 8,
    }
}

fn kind_of(v: &NewValue<'_>) -> Kind {
    match v {
        NewValue::Int(_) | NewValue::Value(Value::Int(_)) => Kind::Int,
        NewValue::Str(_) | NewValue::Value(Value::Str(_)) => Kind::Str,
        NewValue::Value(Value::Hash(_)) => Kind::Hash,
        NewValue::Value(Value::List(_)) => Kind::List,
        NewValue::Value(Value::Set(_)) => Kind::Set,
        NewValue::Value(Value::ZSet(_)) => Kind::ZSet,
        NewValue::Value(Value::Stream(_)) => Kind::Stream,
    }
}

/// Writes the payload of `v` at `p` (exactly `payload_size(&v)` bytes).
///
/// # Safety
/// `p` must be valid for `payload_size(&v)` bytes of writes.
unsafe fn write_payload(p: *mut u8, v: NewValue<'_>) {
    unsafe {
        match v {
            NewValue::Int(n) | NewValue::Value(Value::Int(n)) => {
                std::ptr::write_unaligned(p as *mut i64, n)
            }
            NewValue::Str(b) => write_str(p, b),
            NewValue::Value(Value::Str(b)) => write_str(p, &b),
            NewValue::Value(Value::Hash(h)) => write_ptr(p, Box::into_raw(h) as *mut u8),
            NewValue::Value(Value::List(l)) => write_ptr(p, Box::into_raw(l) as *mut u8),
            NewValue::Value(Value::Set(s)) => write_ptr(p, Box::into_raw(s) as *mut u8),
            NewValue::Value(Value::ZSet(z)) => write_ptr(p, Box::into_raw(z) as *mut u8),
            NewValue::Value(Value::Stream(x)) => write_ptr(p, Box::into_raw(x) as *mut u8),
        }
    }
}

unsafe fn write_str(p: *mut u8, b: &[u8]) {
    unsafe {
        let n = put_varint(p, b.len());
        std::ptr::copy_nonoverlapping(b.as_ptr(), p.add(n), b.len());
    }
}

unsafe fn write_ptr(p: *mut u8, ptr: *mut u8) {
    unsafe { std::ptr::write_unaligned(p as *mut *mut u8, ptr) }
}

fn layout(size: usize) -> Layout {
    // Alignment 1 and a size far below isize::MAX (it holds one key and one bulk value).
    match Layout::from_size_align(size, 1) {
        Ok(l) => l,
        Err(_) => handle_alloc_error(Layout::new::<u8>()),
    }
}

/// An owned entry: one pointer to its block.
pub struct Entry {
    ptr: NonNull<u8>,
}

// The block is plain bytes plus owned boxes of `Send + Sync` collections.
unsafe impl Send for Entry {}
unsafe impl Sync for Entry {}

impl Entry {
    /// A new entry for `key` holding `v`.
    pub fn new(key: &[u8], v: NewValue<'_>, expire_at: Option<u64>, word: u32) -> Entry {
        let kind = kind_of(&v);
        let key_off = HEAD + 1 + if expire_at.is_some() { 8 } else { 0 };
        let size = key_off + varint_len(key.len()) + key.len() + payload_size(&v);
        let l = layout(size);
        // SAFETY: `l` has a non-zero size; every byte of the block is written below.
        unsafe {
            let p = alloc(l);
            if p.is_null() {
                handle_alloc_error(l);
            }
            std::ptr::write_unaligned(p as *mut u32, word);
            let mut head = kind as u8;
            if let Some(t) = expire_at {
                head |= HAS_EXPIRE;
                std::ptr::write_unaligned(p.add(HEAD + 1) as *mut u64, t);
            }
            *p.add(HEAD) = head;
            let n = put_varint(p.add(key_off), key.len());
            std::ptr::copy_nonoverlapping(key.as_ptr(), p.add(key_off + n), key.len());
            write_payload(p.add(key_off + n + key.len()), v);
            Entry {
                ptr: NonNull::new_unchecked(p),
            }
        }
    }

    #[inline]
    fn p(&self) -> *mut u8 {
        self.ptr.as_ptr()
    }

    #[inline]
    fn head(&self) -> u8 {
        // SAFETY: every block has a head byte.
        unsafe { *self.p().add(HEAD) }
    }

    #[inline]
    pub fn kind(&self) -> Kind {
        Kind::from_bits(self.head())
    }

    #[inline]
    fn key_off(&self) -> usize {
        HEAD + 1 + if self.head() & HAS_EXPIRE != 0 { 8 } else { 0 }
    }

    /// (offset of the key bytes, key length)
    #[inline]
    fn key_span(&self) -> (usize, usize) {
        let off = self.key_off();
        // SAFETY: a varint key length follows the header.
        let (len, n) = unsafe { get_varint(self.p().add(off)) };
        (off + n, len)
    }

    #[inline]
    fn payload_off(&self) -> usize {
        let (off, len) = self.key_span();
        off + len
    }

    #[inline]
    pub fn key(&self) -> &[u8] {
        let (off, len) = self.key_span();
        // SAFETY: the key bytes lie inside the block.
        unsafe { std::slice::from_raw_parts(self.p().add(off), len) }
    }

    /// The eviction word (LRU clock or LFU counter).
    #[inline]
    pub fn word(&self) -> u32 {
        // SAFETY: the word is the first four bytes of every block.
        unsafe { std::ptr::read_unaligned(self.p() as *const u32) }
    }

    #[inline]
    pub fn set_word(&mut self, w: u32) {
        // SAFETY: as in `word`.
        unsafe { std::ptr::write_unaligned(self.p() as *mut u32, w) }
    }

    #[inline]
    pub fn expire_at(&self) -> Option<u64> {
        if self.head() & HAS_EXPIRE == 0 {
            return None;
        }
        // SAFETY: with has-expiry the expiry follows the head byte.
        Some(unsafe { std::ptr::read_unaligned(self.p().add(HEAD + 1) as *const u64) })
    }

    #[inline]
    pub fn is_expired(&self, now_ms: u64) -> bool {
        self.expire_at().is_some_and(|t| t <= now_ms)
    }

    /// The collection pointer of the payload.
    #[inline]
    fn coll_ptr(&self) -> *mut u8 {
        // SAFETY: only called for collection kinds, whose payload is a pointer.
        unsafe { std::ptr::read_unaligned(self.p().add(self.payload_off()) as *const *mut u8) }
    }

    pub fn value(&self) -> ValueRef<'_> {
        let off = self.payload_off();
        // SAFETY: the payload matches the kind (module invariant); collection pointers are live
        // boxes owned by this entry, so shared borrows tied to `&self` are sound.
        unsafe {
            let p = self.p().add(off);
            match self.kind() {
                Kind::Int => ValueRef::Int(std::ptr::read_unaligned(p as *const i64)),
                Kind::Str => {
                    let (len, n) = get_varint(p);
                    ValueRef::Str(std::slice::from_raw_parts(p.add(n), len))
                }
                Kind::Hash => ValueRef::Hash(&*(self.coll_ptr() as *const Hash)),
                Kind::List => ValueRef::List(&*(self.coll_ptr() as *const List)),
                Kind::Set => ValueRef::Set(&*(self.coll_ptr() as *const Set)),
                Kind::ZSet => ValueRef::ZSet(&*(self.coll_ptr() as *const ZSet)),
                Kind::Stream => ValueRef::Stream(&*(self.coll_ptr() as *const Stream)),
            }
        }
    }

    pub fn coll_mut(&mut self) -> CollMut<'_> {
        let kind = self.kind();
        if !kind.is_collection() {
            return CollMut::NotCollection;
        }
        let c = self.coll_ptr();
        // SAFETY: an owned live box; `&mut self` makes the borrow unique.
        unsafe {
            match kind {
                Kind::Hash => CollMut::Hash(&mut *(c as *mut Hash)),
                Kind::List => CollMut::List(&mut *(c as *mut List)),
                Kind::Set => CollMut::Set(&mut *(c as *mut Set)),
                Kind::Stream => CollMut::Stream(&mut *(c as *mut Stream)),
                _ => CollMut::ZSet(&mut *(c as *mut ZSet)),
            }
        }
    }

    /// Bytes of the block (what the allocator was asked for).
    pub fn block_size(&self) -> usize {
        let off = self.payload_off();
        off + match self.kind() {
            Kind::Int => 8,
            Kind::Str => {
                // SAFETY: a string payload starts with its varint length.
                let (len, n) = unsafe { get_varint(self.p().add(off)) };
                n + len
            }
            _ => 8,
        }
    }

    /// Frees the collection box of the payload, if any (the payload bytes become garbage).
    fn drop_collection(&mut self) {
        drop(self.take_collection());
    }

    /// The collection's box, taken out; the caller overwrites or frees the payload right after.
    fn take_collection(&mut self) -> Option<Value> {
        let kind = self.kind();
        if !kind.is_collection() {
            return None;
        }
        let c = self.coll_ptr();
        // SAFETY: the pointer came from `Box::into_raw` of this kind and is taken once (the
        // caller overwrites or frees the payload right after).
        unsafe {
            Some(match kind {
                Kind::Hash => Value::Hash(Box::from_raw(c as *mut Hash)),
                Kind::List => Value::List(Box::from_raw(c as *mut List)),
                Kind::Set => Value::Set(Box::from_raw(c as *mut Set)),
                Kind::Stream => Value::Stream(Box::from_raw(c as *mut Stream)),
                _ => Value::ZSet(Box::from_raw(c as *mut ZSet)),
            })
        }
    }

    /// Resizes the block to `size`, keeping its first `min(old, size)` bytes.
    fn resize(&mut self, old: usize, size: usize) {
        if old == size {
            return;
        }
        // SAFETY: the block was allocated with `layout(old)`; `size` is non-zero.
        unsafe {
            let p = realloc(self.p(), layout(old), size);
            if p.is_null() {
                handle_alloc_error(layout(size));
            }
            self.ptr = NonNull::new_unchecked(p);
        }
    }

    /// Replaces the value, keeping key, expiry and word. Resizes the block only when the new
    /// payload has another size (an INCR of an integer stays in place).
    pub fn set_value(&mut self, v: NewValue<'_>) {
        if let NewValue::Int(n) = v
            && self.kind() == Kind::Int
        {
            let off = self.payload_off();
            // SAFETY: an integer payload is 8 bytes at `off`.
            unsafe { std::ptr::write_unaligned(self.p().add(off) as *mut i64, n) };
            return;
        }
        // An overwritten collection (lazyfree-lazy-server-del may free it in the background).
        if let Some(old) = self.take_collection() {
            crate::lazyfree::free_overwritten(old);
        }
        let old = self.block_size();
        let off = self.payload_off();
        let size = off + payload_size(&v);
        let kind = kind_of(&v);
        self.resize(old, size);
        // SAFETY: the block now has `size` bytes, the payload starts at `off`.
        unsafe {
            *self.p().add(HEAD) = (self.head() & !KIND_MASK) | kind as u8;
            write_payload(self.p().add(off), v);
        }
    }

    /// The bytes of a string value, to change in place (`None` for other kinds).
    pub fn str_mut(&mut self) -> Option<&mut [u8]> {
        if self.kind() != Kind::Str {
            return None;
        }
        let off = self.payload_off();
        // SAFETY: a string payload: varint length, then that many bytes inside the block;
        // `&mut self` makes the borrow unique.
        unsafe {
            let p = self.p().add(off);
            let (len, n) = get_varint(p);
            Some(std::slice::from_raw_parts_mut(p.add(n), len))
        }
    }

    /// Resizes a string value to `len` bytes, keeping its first bytes and zeroing new ones
    /// (APPEND, SETRANGE). The allocator grows the block in place while it stays within its
    /// size class, so repeated appends cost amortized O(1) per byte. `false` for other kinds.
    pub fn str_resize(&mut self, len: usize) -> bool {
        if self.kind() != Kind::Str {
            return false;
        }
        let off = self.payload_off();
        // SAFETY: a string payload at `off`.
        let (old_len, n_old) = unsafe { get_varint(self.p().add(off)) };
        let n_new = varint_len(len);
        let old = off + n_old + old_len;
        let new = off + n_new + len;
        let keep = old_len.min(len);
        // SAFETY: the block holds `max(old, new)` bytes while the kept bytes move to follow the
        // new length's varint; new bytes are zeroed before anyone reads them.
        unsafe {
            if new > old {
                self.resize(old, new);
            }
            let p = self.p().add(off);
            if n_new != n_old {
                std::ptr::copy(p.add(n_old), p.add(n_new), keep);
            }
            if len > old_len {
                std::ptr::write_bytes(p.add(n_new + old_len), 0, len - old_len);
            }
            put_varint(p, len);
            if new < old {
                self.resize(old, new);
            }
        }
        true
    }

    /// Sets or clears the expiry. Adding or removing it moves key and payload by 8 bytes.
    pub fn set_expire(&mut self, at: Option<u64>) {
        let has = self.head() & HAS_EXPIRE != 0;
        match (has, at) {
            (true, Some(t)) => {
                // SAFETY: the expiry field exists.
                unsafe { std::ptr::write_unaligned(self.p().add(HEAD + 1) as *mut u64, t) }
            }
            (false, None) => {}
            (false, Some(t)) => {
                let old = self.block_size();
                self.resize(old, old + 8);
                // SAFETY: the block grew by 8; move everything after the head up by 8.
                unsafe {
                    let p = self.p();
                    std::ptr::copy(p.add(HEAD + 1), p.add(HEAD + 9), old - HEAD - 1);
                    std::ptr::write_unaligned(p.add(HEAD + 1) as *mut u64, t);
                    *p.add(HEAD) |= HAS_EXPIRE;
                }
            }
            (true, None) => {
                let old = self.block_size();
                // SAFETY: move everything after the expiry down by 8, then shrink.
                unsafe {
                    let p = self.p();
                    std::ptr::copy(p.add(HEAD + 9), p.add(HEAD + 1), old - HEAD - 9);
                    *p.add(HEAD) &= !HAS_EXPIRE;
                }
                self.resize(old, old - 8);
            }
        }
    }

    /// The value, owned: a collection's box moves out, string bytes are copied.
    pub fn into_value(self) -> Value {
        let kind = self.kind();
        if !kind.is_collection() {
            return self.value().to_owned();
        }
        let c = self.coll_ptr();
        // SAFETY: the box is taken out once; the block is then freed without dropping the
        // payload again.
        let v = unsafe {
            match kind {
                Kind::Hash => Value::Hash(Box::from_raw(c as *mut Hash)),
                Kind::List => Value::List(Box::from_raw(c as *mut List)),
                Kind::Set => Value::Set(Box::from_raw(c as *mut Set)),
                Kind::Stream => Value::Stream(Box::from_raw(c as *mut Stream)),
                _ => Value::ZSet(Box::from_raw(c as *mut ZSet)),
            }
        };
        let size = self.block_size();
        let p = self.p();
        std::mem::forget(self);
        // SAFETY: allocated with `layout(size)`; nothing refers to it any more.
        unsafe { dealloc(p, layout(size)) };
        v
    }
}

impl Drop for Entry {
    fn drop(&mut self) {
        self.drop_collection();
        let size = self.block_size();
        // SAFETY: allocated with `layout(size)` (size recomputed from the unchanged header).
        unsafe { dealloc(self.p(), layout(size)) }
    }
}

impl std::fmt::Debug for Entry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Entry")
            .field("key", &String::from_utf8_lossy(self.key()))
            .field("value", &self.value())
            .field("expire_at", &self.expire_at())
            .finish()
    }
}

impl<'a> ValueRef<'a> {
    /// Redis's type names, as TYPE prints them.
    pub fn type_name(&self) -> &'static str {
        match self {
            ValueRef::Int(_) | ValueRef::Str(_) => "string",
            ValueRef::Hash(_) => "hash",
            ValueRef::List(_) => "list",
            ValueRef::Set(_) => "set",
            ValueRef::ZSet(_) => "zset",
            ValueRef::Stream(_) => "stream",
        }
    }

    /// OBJECT ENCODING, in Redis's words.
    pub fn encoding(&self) -> &'static str {
        match self {
            ValueRef::Int(_) => "int",
            ValueRef::Str(b) if b.len() <= 44 => "embstr",
            ValueRef::Str(_) => "raw",
            ValueRef::Hash(h) => h.encoding(),
            ValueRef::List(l) => crate::types::list_encoding(l),
            ValueRef::Set(s) => s.encoding(),
            ValueRef::ZSet(z) => z.encoding(),
            ValueRef::Stream(_) => "stream",
        }
    }

    pub fn is_string(&self) -> bool {
        matches!(self, ValueRef::Int(_) | ValueRef::Str(_))
    }

    /// Length in bytes of a string value (STRLEN); 0 for other types.
    pub fn str_len(&self) -> usize {
        match self {
            ValueRef::Int(n) => itoa::Buffer::new().format(*n).len(),
            ValueRef::Str(s) => s.len(),
            _ => 0,
        }
    }

    /// Approximate heap bytes held by a collection (MEMORY USAGE); 0 for strings, which live in
    /// the entry's block.
    pub fn heap_size(&self) -> usize {
        match self {
            ValueRef::Int(_) | ValueRef::Str(_) => 0,
            ValueRef::Hash(h) => h.heap_size(),
            ValueRef::List(l) => l.iter().map(|e| e.len() + 16).sum(),
            ValueRef::Set(s) => s.heap_size(),
            ValueRef::ZSet(z) => z.heap_size(),
            ValueRef::Stream(x) => x.heap_size(),
        }
    }

    /// A deep copy (COPY).
    pub fn to_owned(&self) -> Value {
        match *self {
            ValueRef::Int(n) => Value::Int(n),
            ValueRef::Str(b) => Value::Str(b.into()),
            ValueRef::Hash(h) => Value::Hash(Box::new(h.clone())),
            ValueRef::List(l) => Value::List(Box::new(l.clone())),
            ValueRef::Set(s) => Value::Set(Box::new(s.clone())),
            ValueRef::ZSet(z) => Value::ZSet(Box::new(z.clone())),
            ValueRef::Stream(x) => Value::Stream(Box::new(x.clone())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_ints_and_expiry_round_trip() {
        for klen in [0usize, 1, 16, 127, 128, 300, 20000] {
            let key = vec![b'k'; klen];
            for vlen in [0usize, 5, 127, 128, 70000] {
                let val = vec![b'v'; vlen];
                let mut e = Entry::new(&key, NewValue::Str(&val), None, 7);
                assert_eq!(e.key(), &key[..]);
                assert!(matches!(e.value(), ValueRef::Str(b) if b == &val[..]));
                assert_eq!(e.word(), 7);
                assert_eq!(e.expire_at(), None);
                e.set_expire(Some(12345));
                assert_eq!(e.expire_at(), Some(12345));
                assert_eq!(e.key(), &key[..]);
                assert!(matches!(e.value(), ValueRef::Str(b) if b == &val[..]));
                e.set_value(NewValue::Int(-9));
                assert!(matches!(e.value(), ValueRef::Int(-9)));
                assert_eq!(e.expire_at(), Some(12345));
                e.set_word(99);
                e.set_expire(None);
                assert_eq!(e.expire_at(), None);
                assert_eq!(e.word(), 99);
                assert_eq!(e.key(), &key[..]);
                assert!(matches!(e.value(), ValueRef::Int(-9)));
                e.set_value(NewValue::Str(&val));
                assert!(matches!(e.into_value(), Value::Str(b) if *b == val[..]));
            }
        }
    }

    #[test]
    fn collections_move_in_and_out() {
        let mut h = Hash::default();
        h.insert(b"f", b"v");
        let mut e = Entry::new(b"h", Value::Hash(Box::new(h)).into(), Some(5), 0);
        match e.coll_mut() {
            CollMut::Hash(h) => {
                h.insert(b"g", b"w");
            }
            _ => panic!("not a hash"),
        }
        assert!(matches!(e.value(), ValueRef::Hash(h) if h.len() == 2));
        // Replacing a collection frees it; the entry becomes a string.
        e.set_value(NewValue::Str(b"plain"));
        assert!(matches!(e.coll_mut(), CollMut::NotCollection));
        e.set_value(Value::List(Box::default()).into());
        assert_eq!(e.value().type_name(), "list");
        assert!(matches!(e.into_value(), Value::List(_)));
        let z = Entry::new(b"z", Value::ZSet(Box::default()).into(), None, 0);
        assert_eq!(z.value().type_name(), "zset");
        drop(z);
    }

    #[test]
    fn strings_grow_and_shrink_in_place() {
        let mut e = Entry::new(b"key", NewValue::Str(b"abc"), Some(9), 3);
        let mut model = b"abc".to_vec();
        for len in [3usize, 127, 128, 129, 20000, 16383, 16384, 5, 0, 200] {
            assert!(e.str_resize(len));
            model.resize(len, 0);
            if let Some(b) = e.str_mut()
                && !b.is_empty()
            {
                let last = b.len() - 1;
                b[last] = b'z';
                model[last] = b'z';
            }
            assert!(
                matches!(e.value(), ValueRef::Str(b) if b == &model[..]),
                "len {len}"
            );
            assert_eq!(e.key(), b"key");
            assert_eq!(e.expire_at(), Some(9));
            assert_eq!(e.word(), 3);
            assert_eq!(e.block_size(), 4 + 1 + 8 + 1 + 3 + varint_len(len) + len);
        }
        e.set_value(NewValue::Int(1));
        assert!(!e.str_resize(10));
        assert!(e.str_mut().is_none());
    }

    #[test]
    fn small_entry_block_is_one_size_class() {
        let e = Entry::new(&[b'k'; 16], NewValue::Str(&[b'v'; 32]), None, 0);
        assert_eq!(e.block_size(), 4 + 1 + 1 + 16 + 1 + 32);
        assert_eq!(std::mem::size_of::<Entry>(), 8);
    }
}
