//! Reads RDB files of versions 1 to 12: every type and encoding Redis 7.0 loads, plus Redis
//! 7.2's set listpacks and Redis 7.4 / 8's hashes with field TTLs (types 22 to 25) and slot
//! hints. Every length is checked against the bytes left before anything is
//! allocated for it, and any fault is reported with the offset it was found at.

use super::*;
use crate::types::{Hash, List, Set, ZSet};
use crate::value::Value;

/// What a file holds, item by item.
#[derive(Debug, PartialEq)]
pub enum Item {
    Aux(Vec<u8>, Vec<u8>),
    /// A function library's code.
    Function(Vec<u8>),
    Key {
        db: u64,
        key: Vec<u8>,
        value: Value,
        /// Unix milliseconds.
        expire_ms: Option<u64>,
        /// The `IDLE` or `FREQ` the file gave the key.
        usage: super::writer::Usage,
    },
}

pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
    db: u64,
    version: u16,
    done: bool,
}

/// A compact encoding's decoder: the items, or what is wrong.
type Decoder = fn(&[u8]) -> Result<Vec<Vec<u8>>, &'static str>;

/// LZF gains at most this much: a 3-byte back reference stands for up to 264 bytes.
const LZF_MAX_RATIO: usize = 90;

enum Len {
    Plain(u64),
    /// The low six bits of an encoded string's marker.
    Encoded(u8),
}

impl<'a> Reader<'a> {
    /// Checks the magic and version.
    pub fn new(buf: &'a [u8]) -> Result<Reader<'a>, RdbError> {
        let err = |what: String| RdbError { offset: 0, what };
        if buf.len() < 9 || &buf[..5] != b"REDIS" {
            return Err(err("Wrong signature trying to load DB from file".into()));
        }
        let version = std::str::from_utf8(&buf[5..9])
            .ok()
            .and_then(|v| v.parse::<u16>().ok())
            .filter(|v| (1..=MAX_VERSION).contains(v))
            .ok_or_else(|| {
                err(format!(
                    "Can't handle RDB format version {}",
                    String::from_utf8_lossy(&buf[5..9])
                ))
            })?;
        Ok(Reader {
            buf,
            pos: 9,
            db: 0,
            version,
            done: false,
        })
    }

    /// The value of a DUMP payload as redis-server makes one (`body`: the type byte and the
    /// value as a file of `version` holds it), for RESTORE of Redis's payloads.
    pub fn payload_value(body: &[u8], version: u16) -> Result<Value, RdbError> {
        let mut r = Reader {
            buf: body,
            pos: 0,
            db: 0,
            version,
            done: false,
        };
        let t = r.byte()?;
        let v = r.value(t, 0)?;
        if r.pos != body.len() {
            return r.err(r.pos, "bytes after the value");
        }
        v.map_or_else(|| r.err(0, "an empty collection"), Ok)
    }

    pub fn version(&self) -> u16 {
        self.version
    }

    /// Bytes read so far.
    pub fn offset(&self) -> usize {
        self.pos
    }

    pub(super) fn err<T>(&self, at: usize, what: impl Into<String>) -> Result<T, RdbError> {
        Err(RdbError {
            offset: at,
            what: what.into(),
        })
    }

    pub(super) fn bytes(&mut self, n: usize) -> Result<&'a [u8], RdbError> {
        match self.buf.get(self.pos..self.pos.saturating_add(n)) {
            Some(b) => {
                self.pos += n;
                Ok(b)
            }
            None => self.err(
                self.pos,
                format!(
                    "unexpected end of file (wanted {n} more bytes, {} left)",
                    self.buf.len() - self.pos
                ),
            ),
        }
    }

    fn byte(&mut self) -> Result<u8, RdbError> {
        Ok(self.bytes(1)?[0])
    }

    fn raw_len(&mut self) -> Result<Len, RdbError> {
        let at = self.pos;
        let b = self.byte()?;
        Ok(match b >> 6 {
            0 => Len::Plain((b & 0x3f) as u64),
            1 => Len::Plain(((b & 0x3f) as u64) << 8 | self.byte()? as u64),
            2 => match b {
                0x80 => {
                    let s = self.bytes(4)?;
                    Len::Plain(u32::from_be_bytes([s[0], s[1], s[2], s[3]]) as u64)
                }
                0x81 => {
                    let s = self.bytes(8)?;
                    let mut a = [0u8; 8];
                    a.copy_from_slice(s);
                    Len::Plain(u64::from_be_bytes(a))
                }
                _ => return self.err(at, format!("unknown length encoding {b:#04x}")),
            },
            _ => Len::Encoded(b & 0x3f),
        })
    }

    pub(super) fn len(&mut self) -> Result<u64, RdbError> {
        let at = self.pos;
        match self.raw_len()? {
            Len::Plain(n) => Ok(n),
            Len::Encoded(_) => self.err(at, "an encoded string where a length was expected"),
        }
    }

    /// A count of items each taking at least `min_bytes`: refused when the file cannot hold
    /// them (so a corrupt count never allocates).
    pub(super) fn count(&mut self, min_bytes: usize) -> Result<usize, RdbError> {
        let at = self.pos;
        let n = self.len()?;
        let left = (self.buf.len() - self.pos) as u64;
        if n.saturating_mul(min_bytes as u64) > left {
            return self.err(
                at,
                format!("unexpected end of file (a count of {n}, {left} bytes left)"),
            );
        }
        Ok(n as usize)
    }

    /// A string, or the integer it was stored as.
    fn string_or_int(&mut self) -> Result<Result<Vec<u8>, i64>, RdbError> {
        let at = self.pos;
        match self.raw_len()? {
            Len::Plain(n) => {
                let n = usize::try_from(n).unwrap_or(usize::MAX);
                Ok(Ok(self.bytes(n)?.to_vec()))
            }
            Len::Encoded(0) => Ok(Err(self.byte()? as i8 as i64)),
            Len::Encoded(1) => {
                let s = self.bytes(2)?;
                Ok(Err(i16::from_le_bytes([s[0], s[1]]) as i64))
            }
            Len::Encoded(2) => {
                let s = self.bytes(4)?;
                Ok(Err(i32::from_le_bytes([s[0], s[1], s[2], s[3]]) as i64))
            }
            Len::Encoded(3) => {
                let clen = self.len()?;
                let ulen = self.len()?;
                let left = self.buf.len() - self.pos;
                if clen > left as u64 {
                    return self.err(
                        at,
                        format!(
                            "unexpected end of file (an LZF string of {clen} bytes, {left} left)"
                        ),
                    );
                }
                if ulen > clen * LZF_MAX_RATIO as u64 + 64 {
                    return self.err(at, "LZF string claims an impossible length");
                }
                let c = self.bytes(clen as usize)?;
                match lzf::decompress(c, ulen as usize) {
                    Ok(v) => Ok(Ok(v)),
                    Err(e) => self.err(at, e),
                }
            }
            Len::Encoded(e) => self.err(at, format!("unknown string encoding {e}")),
        }
    }

    pub(super) fn string(&mut self) -> Result<Vec<u8>, RdbError> {
        Ok(match self.string_or_int()? {
            Ok(s) => s,
            Err(n) => itoa::Buffer::new().format(n).as_bytes().to_vec(),
        })
    }

    pub(super) fn u64_le(&mut self) -> Result<u64, RdbError> {
        let s = self.bytes(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(s);
        Ok(u64::from_le_bytes(a))
    }

    /// The next item; `None` after the end (its checksum checked).
    pub fn next_item(&mut self) -> Result<Option<Item>, RdbError> {
        if self.done {
            return Ok(None);
        }
        let mut expire_ms = None;
        let mut usage = super::writer::Usage::None;
        loop {
            let at = self.pos;
            let op = self.byte()?;
            match op {
                OP_EXPIRETIME_MS => expire_ms = Some(self.u64_le()?),
                OP_EXPIRETIME => {
                    let s = self.bytes(4)?;
                    let secs = i32::from_le_bytes([s[0], s[1], s[2], s[3]]);
                    expire_ms = Some((secs.max(0) as u64) * 1000);
                }
                OP_IDLE => usage = super::writer::Usage::IdleSecs(self.len()?),
                OP_FREQ => usage = super::writer::Usage::Freq(self.byte()?),
                OP_SELECTDB => self.db = self.len()?,
                OP_RESIZEDB => {
                    self.len()?;
                    self.len()?;
                }
                OP_SLOT_INFO => {
                    self.len()?;
                    self.len()?;
                    self.len()?;
                }
                OP_AUX => {
                    let k = self.string()?;
                    let v = self.string()?;
                    return Ok(Some(Item::Aux(k, v)));
                }
                OP_FUNCTION2 => return Ok(Some(Item::Function(self.string()?))),
                OP_FUNCTION => return self.err(at, "Pre-release function format not supported"),
                OP_MODULE_AUX => {
                    return self.err(
                        at,
                        "The RDB file contains AUX module data I can't load: shoal loads no modules",
                    );
                }
                OP_EOF => {
                    let body_end = self.pos;
                    if self.version >= 5 {
                        let stored = self.u64_le()?;
                        if stored != 0 {
                            let crc = crate::dump::crc64(&self.buf[..body_end]);
                            if crc != stored {
                                return self.err(body_end, "Wrong RDB checksum");
                            }
                        }
                    }
                    self.done = true;
                    return Ok(None);
                }
                t => {
                    let key = self.string()?;
                    let value = self.value(t, at)?;
                    match value {
                        Some(value) => {
                            return Ok(Some(Item::Key {
                                db: self.db,
                                key,
                                value,
                                expire_ms,
                                usage,
                            }));
                        }
                        // An empty collection (older Redis could save them): skipped, as Redis.
                        None => {
                            expire_ms = None;
                            usage = super::writer::Usage::None;
                        }
                    }
                }
            }
        }
    }

    /// A value of type `t` (whose opcode was at `at`); `None` for an empty collection.
    fn value(&mut self, t: u8, at: usize) -> Result<Option<Value>, RdbError> {
        let v = match t {
            T_STRING => match self.string_or_int()? {
                Err(n) => Value::Int(n),
                Ok(s) => match listpack::as_int(&s) {
                    Some(n) => Value::Int(n),
                    None => Value::Str(s.into()),
                },
            },
            T_LIST => {
                let n = self.count(1)?;
                let mut l = List::with_capacity(n.min(4096));
                for _ in 0..n {
                    l.push_back(self.string()?.into());
                }
                Value::List(Box::new(l))
            }
            T_SET => {
                let n = self.count(1)?;
                let mut s = Set::default();
                for _ in 0..n {
                    let m_at = self.pos;
                    if !s.insert(&self.string()?) {
                        return self.err(m_at, "Duplicate set members detected");
                    }
                }
                Value::Set(Box::new(s))
            }
            T_ZSET | T_ZSET_2 => {
                let n = self.count(2)?;
                let mut z = ZSet::default();
                for _ in 0..n {
                    let m_at = self.pos;
                    let m = self.string()?;
                    let score = if t == T_ZSET_2 {
                        f64::from_bits(self.u64_le()?)
                    } else {
                        self.old_double()?
                    };
                    if score.is_nan() {
                        return self.err(m_at, "Zset with NAN score detected");
                    }
                    if z.insert(&m, score).is_some() {
                        return self.err(m_at, "Duplicate zset fields detected");
                    }
                }
                Value::ZSet(Box::new(z))
            }
            T_HASH => {
                let n = self.count(2)?;
                let mut h = Hash::default();
                for _ in 0..n {
                    let f_at = self.pos;
                    let f = self.string()?;
                    let v = self.string()?;
                    if !h.insert(&f, &v) {
                        return self.err(f_at, "Duplicate hash fields detected");
                    }
                }
                Value::Hash(Box::new(h))
            }
            T_HASH_METADATA | T_HASH_METADATA_PRE_GA => {
                // 24: the earliest expiry, then TTLs relative to it (+1, 0 being "none");
                // 22 (7.4's release candidates): absolute TTLs.
                let min = if t == T_HASH_METADATA {
                    let m_at = self.pos;
                    let m = self.u64_le()?;
                    if m > FIELD_EXPIRE_MAX + 1 {
                        return self.err(m_at, "Hash read invalid minExpire value");
                    }
                    Some(m)
                } else {
                    None
                };
                let n = self.count(3)?;
                let mut h = Hash::default();
                for _ in 0..n {
                    let f_at = self.pos;
                    let ttl = self.len()?;
                    let at = match (ttl, min) {
                        (0, _) => None,
                        (ttl, Some(min)) => Some(min.checked_add(ttl - 1)),
                        (ttl, None) => Some(Some(ttl)),
                    };
                    let at = match at {
                        None => None,
                        Some(Some(at)) if at <= FIELD_EXPIRE_MAX => Some(at),
                        Some(at) => {
                            let shown =
                                at.map_or_else(|| "beyond 2^64".to_string(), |a| a.to_string());
                            return self.err(f_at, format!("invalid expireAt time: {shown}"));
                        }
                    };
                    let f = self.string()?;
                    let v = self.string()?;
                    if !h.insert(&f, &v) {
                        return self.err(f_at, "Duplicate hash fields detected");
                    }
                    if let Some(at) = at {
                        h.set_ttl(&f, at);
                    }
                }
                Value::Hash(Box::new(h))
            }
            T_HASH_LISTPACK_EX | T_HASH_LISTPACK_EX_PRE_GA => {
                if t == T_HASH_LISTPACK_EX {
                    // The earliest expiry: serialized for Redis's future use, unused by its
                    // loader (the listpack holds every field's absolute TTL).
                    self.u64_le()?;
                }
                let b_at = self.pos;
                let items = self.blob(listpack::decode)?;
                if items.len() % 3 != 0 {
                    return self.err(
                        b_at,
                        "Hash listpack integrity check failed: not (field, value, TTL) triplets",
                    );
                }
                let mut h = Hash::default();
                for p in items.chunks(3) {
                    if !h.insert(&p[0], &p[1]) {
                        return self.err(b_at, "Duplicate hash fields detected");
                    }
                    let at = std::str::from_utf8(&p[2])
                        .ok()
                        .and_then(|s| s.parse::<u64>().ok())
                        .filter(|at| *at <= FIELD_EXPIRE_MAX)
                        .ok_or_else(|| RdbError {
                            offset: b_at,
                            what: format!(
                                "Hash listpack integrity check failed: field TTL '{}' is not a time",
                                String::from_utf8_lossy(&p[2])
                            ),
                        })?;
                    // 0 (HASH_LP_NO_TTL): the field has none.
                    if at != 0 {
                        h.set_ttl(&p[0], at);
                    }
                }
                Value::Hash(Box::new(h))
            }
            T_LIST_QUICKLIST | T_LIST_QUICKLIST_2 => {
                let n = self.count(1)?;
                let mut l = List::new();
                for _ in 0..n {
                    let node_at = self.pos;
                    let packed = if t == T_LIST_QUICKLIST_2 {
                        match self.len()? {
                            1 => false,
                            2 => true,
                            c => {
                                return self
                                    .err(node_at, format!("unknown quicklist container {c}"));
                            }
                        }
                    } else {
                        true
                    };
                    let blob = self.string()?;
                    if !packed {
                        l.push_back(blob.into());
                        continue;
                    }
                    let items = if t == T_LIST_QUICKLIST {
                        ziplist::ziplist(&blob)
                    } else {
                        listpack::decode(&blob)
                    };
                    let items = items.or_else(|e| self.err(node_at, e))?;
                    if items.is_empty() {
                        return self.err(node_at, "empty quicklist node");
                    }
                    l.extend(items.into_iter().map(Vec::into_boxed_slice));
                }
                Value::List(Box::new(l))
            }
            T_LIST_ZIPLIST => {
                let items = self.blob(ziplist::ziplist)?;
                Value::List(Box::new(
                    items.into_iter().map(Vec::into_boxed_slice).collect(),
                ))
            }
            T_SET_INTSET => {
                let b_at = self.pos;
                let blob = self.string()?;
                let ints = ziplist::intset(&blob).or_else(|e| self.err(b_at, e))?;
                let mut s = Set::default();
                for i in ints {
                    s.insert(itoa::Buffer::new().format(i).as_bytes());
                }
                Value::Set(Box::new(s))
            }
            T_SET_LISTPACK => {
                let b_at = self.pos;
                let items = self.blob(listpack::decode)?;
                let mut s = Set::default();
                for m in &items {
                    if !s.insert(m) {
                        return self.err(b_at, "Duplicate set members detected");
                    }
                }
                Value::Set(Box::new(s))
            }
            T_ZSET_ZIPLIST | T_ZSET_LISTPACK => {
                let b_at = self.pos;
                let items = if t == T_ZSET_ZIPLIST {
                    self.blob(ziplist::ziplist)?
                } else {
                    self.blob(listpack::decode)?
                };
                if items.len() % 2 != 0 {
                    return self.err(b_at, "zset listpack with an odd number of items");
                }
                let mut z = ZSet::default();
                for p in items.chunks(2) {
                    let score = std::str::from_utf8(&p[1])
                        .ok()
                        .and_then(parse_score)
                        .ok_or_else(|| RdbError {
                            offset: b_at,
                            what: "zset score is not a number".into(),
                        })?;
                    if z.insert(&p[0], score).is_some() {
                        return self.err(b_at, "Duplicate zset fields detected");
                    }
                }
                Value::ZSet(Box::new(z))
            }
            T_HASH_ZIPMAP | T_HASH_ZIPLIST | T_HASH_LISTPACK => {
                let b_at = self.pos;
                let items = match t {
                    T_HASH_ZIPMAP => self.blob(ziplist::zipmap)?,
                    T_HASH_ZIPLIST => self.blob(ziplist::ziplist)?,
                    _ => self.blob(listpack::decode)?,
                };
                if items.len() % 2 != 0 {
                    return self.err(b_at, "hash listpack with an odd number of items");
                }
                let mut h = Hash::default();
                for p in items.chunks(2) {
                    if !h.insert(&p[0], &p[1]) {
                        return self.err(b_at, "Duplicate hash fields detected");
                    }
                }
                Value::Hash(Box::new(h))
            }
            T_STREAM_LISTPACKS | T_STREAM_LISTPACKS_2 | T_STREAM_LISTPACKS_3 => {
                let s = super::stream::read(self, t)?;
                Value::Stream(Box::new(s))
            }
            T_MODULE | T_MODULE_2 => {
                return self.err(at, "a module value: shoal loads no modules");
            }
            _ => return self.err(at, format!("Unknown RDB encoding type {t}")),
        };
        let empty = match &v {
            Value::List(l) => l.is_empty(),
            Value::Set(s) => s.is_empty(),
            Value::ZSet(z) => z.is_empty(),
            Value::Hash(h) => h.is_empty(),
            _ => false,
        };
        Ok((!empty).then_some(v))
    }

    /// A string holding a compact encoding, decoded by `decode`.
    fn blob(&mut self, decode: Decoder) -> Result<Vec<Vec<u8>>, RdbError> {
        let at = self.pos;
        let blob = self.string()?;
        decode(&blob).or_else(|e| self.err(at, e))
    }

    /// A double as text with a one-byte length (RDB before version 8's sorted sets).
    fn old_double(&mut self) -> Result<f64, RdbError> {
        let at = self.pos;
        match self.byte()? {
            253 => Ok(f64::NAN),
            254 => Ok(f64::INFINITY),
            255 => Ok(f64::NEG_INFINITY),
            n => {
                let s = self.bytes(n as usize)?;
                std::str::from_utf8(s)
                    .ok()
                    .and_then(parse_score)
                    .map_or_else(|| self.err(at, "score is not a number"), Ok)
            }
        }
    }
}

/// A score as `strtod` reads it (Redis writes `inf`, `-inf`, and `%.17g`).
fn parse_score(s: &str) -> Option<f64> {
    match s {
        "inf" | "+inf" => Some(f64::INFINITY),
        "-inf" => Some(f64::NEG_INFINITY),
        _ => s.parse::<f64>().ok().filter(|v| !v.is_nan()),
    }
}
