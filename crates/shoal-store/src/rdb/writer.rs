//! Writes RDB files as Redis 7.0.15 does: version 10, its aux fields, strings in integer form
//! where Redis uses it and LZF-compressed when asked, lists as quicklists of listpacks, sets as
//! intsets or plain sets, sorted sets and hashes as listpacks while compact, streams as
//! listpack nodes with their groups (see [`super::stream`]).
//!
//! Bytes collect in a buffer the caller drains ([`Writer::take`]) as it writes them out; the
//! checksum follows what was taken.

use super::listpack::{self, Builder};
use super::*;
use crate::dump::crc64_update;
use crate::entry::ValueRef;

/// A quicklist node's listpack is closed past this size (Redis's `list-max-listpack-size -2`).
const NODE_BYTES: usize = 8192;
/// Sets of integers up to this many members are written as intsets (`set-max-intset-entries`).
const INTSET_MAX: usize = 512;
const QUICKLIST_NODE_PACKED: u64 = 2;

/// A key's use as the eviction policy sees it, as a file keeps it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Usage {
    None,
    /// Seconds since the last access (LRU policies).
    IdleSecs(u64),
    /// The LFU counter, decayed to the time of the save (LFU policies).
    Freq(u8),
}

pub struct Writer {
    buf: Vec<u8>,
    crc: u64,
    compress: bool,
    checksum: bool,
}

impl Writer {
    /// Starts a file: the magic and Redis's aux fields (`ctime` in unix seconds, `used-mem` in
    /// bytes).
    pub fn new(compress: bool, checksum: bool, ctime: u64, used_mem: u64) -> Writer {
        let mut w = Writer {
            buf: Vec::with_capacity(64 * 1024),
            crc: 0,
            compress,
            checksum,
        };
        w.buf
            .extend_from_slice(format!("REDIS{VERSION:04}").as_bytes());
        w.aux(b"redis-ver", b"7.0.15");
        w.aux(b"redis-bits", b"64");
        w.aux(b"ctime", ctime.to_string().as_bytes());
        w.aux(b"used-mem", used_mem.to_string().as_bytes());
        w.aux(b"aof-base", b"0");
        w
    }

    pub fn aux(&mut self, name: &[u8], value: &[u8]) {
        self.buf.push(OP_AUX);
        self.string(name);
        self.string(value);
    }

    /// A function library, by its code (Redis 7's `FUNCTION2` opcode).
    pub fn function(&mut self, code: &[u8]) {
        self.buf.push(OP_FUNCTION2);
        self.string(code);
    }

    /// Switches to database `db`, the first time with its sizes (keys, keys with a TTL), which
    /// Redis sizes its hash tables with.
    pub fn select_db(&mut self, db: u64, sizes: Option<(u64, u64)>) {
        self.buf.push(OP_SELECTDB);
        self.len(db);
        if let Some((keys, expires)) = sizes {
            self.buf.push(OP_RESIZEDB);
            self.len(keys);
            self.len(expires);
        }
    }

    /// One key with its value and expiry time (unix milliseconds).
    pub fn key(&mut self, key: &[u8], value: ValueRef<'_>, expire_ms: Option<u64>) {
        self.key_with(key, value, expire_ms, Usage::None);
    }

    /// `key` with what the eviction policy knows of it (Redis writes `IDLE` under an LRU
    /// policy, `FREQ` under an LFU one, after the expiry and before the type).
    pub fn key_with(
        &mut self,
        key: &[u8],
        value: ValueRef<'_>,
        expire_ms: Option<u64>,
        usage: Usage,
    ) {
        if let Some(t) = expire_ms {
            self.buf.push(OP_EXPIRETIME_MS);
            self.buf.extend_from_slice(&t.to_le_bytes());
        }
        match usage {
            Usage::None => {}
            Usage::IdleSecs(secs) => {
                self.buf.push(OP_IDLE);
                self.len(secs);
            }
            Usage::Freq(f) => {
                self.buf.push(OP_FREQ);
                self.buf.push(f);
            }
        }
        match value {
            ValueRef::Int(n) => {
                self.buf.push(T_STRING);
                self.string(key);
                self.int_string(n);
            }
            ValueRef::Str(s) => {
                self.buf.push(T_STRING);
                self.string(key);
                self.string(s);
            }
            ValueRef::List(l) => {
                self.buf.push(T_LIST_QUICKLIST_2);
                self.string(key);
                let mut nodes = Vec::new();
                let mut b = Builder::default();
                for e in l.iter() {
                    if !b.is_empty() && b.size() + e.len() + 11 > NODE_BYTES {
                        nodes.push(std::mem::take(&mut b).finish());
                    }
                    b.push(e);
                }
                if !b.is_empty() {
                    nodes.push(b.finish());
                }
                self.len(nodes.len() as u64);
                for n in nodes {
                    self.len(QUICKLIST_NODE_PACKED);
                    self.string(&n);
                }
            }
            ValueRef::Set(s) => match s {
                crate::types::Set::Ints(v) if v.len() <= INTSET_MAX => {
                    self.buf.push(T_SET_INTSET);
                    self.string(key);
                    self.string(&super::ziplist::encode_intset(v));
                }
                _ => {
                    self.buf.push(T_SET);
                    self.string(key);
                    let members = s.members();
                    self.len(members.len() as u64);
                    for m in &members {
                        self.string(m);
                    }
                }
            },
            ValueRef::ZSet(z) => {
                if z.is_compact() {
                    self.buf.push(T_ZSET_LISTPACK);
                    self.string(key);
                    let mut b = Builder::default();
                    for (m, s) in z.iter() {
                        b.push(m);
                        b.push(&score_text(s));
                    }
                    self.string(&b.finish());
                } else {
                    self.buf.push(T_ZSET_2);
                    self.string(key);
                    self.len(z.len() as u64);
                    // Highest first, as Redis (its loader then inserts at the head).
                    for (m, s) in z.iter().rev() {
                        self.string(m);
                        self.buf.extend_from_slice(&s.to_le_bytes());
                    }
                }
            }
            ValueRef::Hash(h) if h.has_ttls() => {
                self.buf.push(T_HASH_METADATA);
                self.string(key);
                let min = h.min_ttl().unwrap_or(0);
                self.buf.extend_from_slice(&min.to_le_bytes());
                self.len(h.len() as u64);
                for (f, v) in h.iter() {
                    self.len(h.ttl_of(f).map_or(0, |at| at - min + 1));
                    self.string(f);
                    self.string(v);
                }
            }
            ValueRef::Hash(h) => {
                if h.is_compact() {
                    self.buf.push(T_HASH_LISTPACK);
                    self.string(key);
                    let mut b = Builder::default();
                    for (f, v) in h.iter() {
                        b.push(f);
                        b.push(v);
                    }
                    self.string(&b.finish());
                } else {
                    self.buf.push(T_HASH);
                    self.string(key);
                    self.len(h.len() as u64);
                    for (f, v) in h.iter() {
                        self.string(f);
                        self.string(v);
                    }
                }
            }
            ValueRef::Stream(x) => {
                self.buf.push(T_STREAM_LISTPACKS_2);
                self.string(key);
                super::stream::write(self, x);
            }
        }
    }

    /// A writer with no file header, for measuring a value's encoding.
    pub(super) fn bare() -> Writer {
        Writer {
            buf: Vec::new(),
            crc: 0,
            compress: false,
            checksum: false,
        }
    }

    /// Bytes as they are (raw ids, little-endian times).
    pub(super) fn raw(&mut self, b: &[u8]) {
        self.buf.extend_from_slice(b);
    }

    /// Bytes written since the last call (the checksum has seen them).
    pub fn take(&mut self) -> Vec<u8> {
        self.crc = crc64_update(self.crc, &self.buf);
        std::mem::take(&mut self.buf)
    }

    /// Bytes waiting to be taken.
    pub fn pending(&self) -> usize {
        self.buf.len()
    }

    /// Ends the file: the EOF opcode and the checksum (0 with `rdbchecksum no`). Returns the
    /// last bytes.
    pub fn finish(mut self) -> Vec<u8> {
        self.buf.push(OP_EOF);
        let crc = crc64_update(self.crc, &self.buf);
        let crc = if self.checksum { crc } else { 0 };
        self.buf.extend_from_slice(&crc.to_le_bytes());
        self.buf
    }

    pub(super) fn len(&mut self, n: u64) {
        write_len(&mut self.buf, n);
    }

    fn int_string(&mut self, n: i64) {
        if let Ok(v) = i32::try_from(n) {
            encode_int(&mut self.buf, v);
        } else {
            let s = itoa::Buffer::new().format(n).as_bytes().to_vec();
            self.len(s.len() as u64);
            self.buf.extend_from_slice(&s);
        }
    }

    /// A string: in integer form when it is a canonical integer of 32 bits or less (Redis's
    /// `rdbTryIntegerEncoding`), LZF-compressed when longer than 20 bytes and it gains at
    /// least 4, else raw.
    pub(super) fn string(&mut self, s: &[u8]) {
        if s.len() <= 11
            && let Some(v) = listpack::as_int(s).and_then(|n| i32::try_from(n).ok())
        {
            encode_int(&mut self.buf, v);
            return;
        }
        if self.compress
            && s.len() > 20
            && let Some(c) = lzf::compress(s, s.len() - 4)
        {
            self.buf.push(0xC3);
            write_len(&mut self.buf, c.len() as u64);
            write_len(&mut self.buf, s.len() as u64);
            self.buf.extend_from_slice(&c);
            return;
        }
        self.len(s.len() as u64);
        self.buf.extend_from_slice(s);
    }
}

/// RDB length encoding: 6 bits, 14 bits, or a 32/64-bit big-endian number after a marker.
pub fn write_len(out: &mut Vec<u8>, n: u64) {
    if n < 64 {
        out.push(n as u8);
    } else if n < 16384 {
        out.push(0x40 | (n >> 8) as u8);
        out.push((n & 0xff) as u8);
    } else if n <= u32::MAX as u64 {
        out.push(0x80);
        out.extend_from_slice(&(n as u32).to_be_bytes());
    } else {
        out.push(0x81);
        out.extend_from_slice(&n.to_be_bytes());
    }
}

fn encode_int(out: &mut Vec<u8>, v: i32) {
    if let Ok(b) = i8::try_from(v) {
        out.push(0xC0);
        out.push(b as u8);
    } else if let Ok(h) = i16::try_from(v) {
        out.push(0xC1);
        out.extend_from_slice(&h.to_le_bytes());
    } else {
        out.push(0xC2);
        out.extend_from_slice(&v.to_le_bytes());
    }
}

/// A score as Redis's `d2string` writes it into a listpack: integers plainly, others in the
/// shortest form that reads back the same.
pub fn score_text(s: f64) -> Vec<u8> {
    if s.is_infinite() {
        return if s < 0.0 {
            b"-inf".to_vec()
        } else {
            b"inf".to_vec()
        };
    }
    if s == 0.0 {
        return if s.is_sign_negative() {
            b"-0".to_vec()
        } else {
            b"0".to_vec()
        };
    }
    if s.fract() == 0.0 && s.abs() < 4503599627370496.0 {
        return itoa::Buffer::new().format(s as i64).as_bytes().to_vec();
    }
    let plain = format!("{s}");
    if plain.len() <= 24 {
        plain.into_bytes()
    } else {
        format!("{s:e}").into_bytes()
    }
}
