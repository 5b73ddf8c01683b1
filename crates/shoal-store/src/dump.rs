//! DUMP/RESTORE payload: our own versioned format with a CRC-64 checksum.
//!
//! Layout: `type u8 | body | version u16 LE | crc64 u64 LE` where the CRC covers everything
//! before it (the same framing Redis uses, so tools that treat the payload as opaque are happy).
//! A payload with a wrong version or checksum, or a body that does not parse, is rejected.
//! RESTORE also takes redis-server's payloads (RDB versions 2 to 11: a value as an RDB file
//! holds it, read by [`crate::rdb::reader`]).

use crate::entry::ValueRef;
use crate::value::Value;

pub const DUMP_VERSION: u16 = 1;

const T_STR: u8 = 0;
const T_INT: u8 = 1;
const T_HASH: u8 = 2;
const T_LIST: u8 = 3;
const T_SET: u8 = 4;
const T_ZSET: u8 = 5;
/// A stream as older shoal wrote it (no consumer active times).
const T_STREAM: u8 = 6;
/// A hash with field TTLs: field, value, expiry (u64 LE unix ms, 0 for none) triples.
const T_HASH_TTL: u8 = 7;
/// A stream whose consumers carry their active time (Redis 7.2's `active-time`).
const T_STREAM_ACTIVE: u8 = 8;

fn put(out: &mut Vec<u8>, b: &[u8]) {
    out.extend_from_slice(&(b.len() as u32).to_le_bytes());
    out.extend_from_slice(b);
}

/// Reads length-prefixed items; `None` if the body is malformed.
fn items(mut b: &[u8]) -> Option<Vec<&[u8]>> {
    let mut out = Vec::new();
    while !b.is_empty() {
        if b.len() < 4 {
            return None;
        }
        let n = u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize;
        b = &b[4..];
        if b.len() < n {
            return None;
        }
        out.push(&b[..n]);
        b = &b[n..];
    }
    Some(out)
}

pub fn dump(v: ValueRef<'_>) -> Vec<u8> {
    let mut out = Vec::new();
    match v {
        ValueRef::Str(s) => {
            out.push(T_STR);
            out.extend_from_slice(s);
        }
        ValueRef::Int(n) => {
            out.push(T_INT);
            out.extend_from_slice(&n.to_le_bytes());
        }
        ValueRef::Hash(h) if h.has_ttls() => {
            out.push(T_HASH_TTL);
            for (f, v) in h.iter() {
                put(&mut out, f);
                put(&mut out, v);
                put(&mut out, &h.ttl_of(f).unwrap_or(0).to_le_bytes());
            }
        }
        ValueRef::Hash(h) => {
            out.push(T_HASH);
            for (f, v) in h.iter() {
                put(&mut out, f);
                put(&mut out, v);
            }
        }
        ValueRef::List(l) => {
            out.push(T_LIST);
            for e in l.iter() {
                put(&mut out, e);
            }
        }
        ValueRef::Set(st) => {
            out.push(T_SET);
            for m in st.members() {
                put(&mut out, &m);
            }
        }
        ValueRef::ZSet(z) => {
            out.push(T_ZSET);
            for (m, s) in z.iter() {
                put(&mut out, m);
                put(&mut out, &s.to_bits().to_le_bytes());
            }
        }
        ValueRef::Stream(x) => {
            out.push(T_STREAM_ACTIVE);
            crate::stream::dump::write(x, &mut out);
        }
    }
    out.extend_from_slice(&DUMP_VERSION.to_le_bytes());
    let crc = crc64(&out);
    out.extend_from_slice(&crc.to_le_bytes());
    out
}

/// Why a payload was refused.
#[derive(Debug, PartialEq, Eq)]
pub enum RestoreError {
    /// Version or checksum wrong (Redis: "DUMP payload version or checksum are wrong").
    VersionOrChecksum,
    /// Framing fine, body malformed (Redis: "Bad data format").
    BadData,
}

pub fn restore(p: &[u8]) -> Result<Value, RestoreError> {
    if p.len() < 11 {
        return Err(RestoreError::VersionOrChecksum);
    }
    let (body, tail) = p.split_at(p.len() - 10);
    let version = u16::from_le_bytes([tail[0], tail[1]]);
    let mut crc = [0u8; 8];
    crc.copy_from_slice(&tail[2..]);
    if crc64(&p[..p.len() - 8]) != u64::from_le_bytes(crc) {
        return Err(RestoreError::VersionOrChecksum);
    }
    // A payload redis-server made: its RDB version (shoal's own is 1, a version no Redis since
    // 2.6 writes), its value as an RDB file holds it.
    if (2..=crate::rdb::MAX_VERSION).contains(&version) {
        return crate::rdb::reader::Reader::payload_value(body, version)
            .map_err(|_| RestoreError::BadData);
    }
    if version != DUMP_VERSION {
        return Err(RestoreError::VersionOrChecksum);
    }
    match body {
        [T_STR, rest @ ..] => Ok(Value::Str(rest.into())),
        [T_INT, rest @ ..] if rest.len() == 8 => {
            let mut b = [0u8; 8];
            b.copy_from_slice(rest);
            Ok(Value::Int(i64::from_le_bytes(b)))
        }
        [T_HASH, rest @ ..] => {
            let it = items(rest)
                .filter(|i| !i.is_empty() && i.len().is_multiple_of(2))
                .ok_or(RestoreError::BadData)?;
            let mut h = crate::types::Hash::default();
            for pair in it.chunks(2) {
                h.insert(pair[0], pair[1]);
            }
            // DUMP never writes a field twice: a payload that does was not made by DUMP.
            if h.len() != it.len() / 2 {
                return Err(RestoreError::BadData);
            }
            Ok(Value::Hash(Box::new(h)))
        }
        [T_HASH_TTL, rest @ ..] => {
            let it = items(rest)
                .filter(|i| !i.is_empty() && i.len().is_multiple_of(3))
                .ok_or(RestoreError::BadData)?;
            let mut h = crate::types::Hash::default();
            for t in it.chunks(3) {
                let at: [u8; 8] = t[2].try_into().map_err(|_| RestoreError::BadData)?;
                if !h.insert(t[0], t[1]) {
                    return Err(RestoreError::BadData);
                }
                let at = u64::from_le_bytes(at);
                if at != 0 {
                    h.set_ttl(t[0], at);
                }
            }
            Ok(Value::Hash(Box::new(h)))
        }
        [T_LIST, rest @ ..] => {
            let it = items(rest)
                .filter(|i| !i.is_empty())
                .ok_or(RestoreError::BadData)?;
            Ok(Value::List(Box::new(
                it.into_iter().map(|e| e.into()).collect(),
            )))
        }
        [T_SET, rest @ ..] => {
            let it = items(rest)
                .filter(|i| !i.is_empty())
                .ok_or(RestoreError::BadData)?;
            let mut st = crate::types::Set::default();
            for m in &it {
                st.insert(m);
            }
            if st.len() != it.len() {
                return Err(RestoreError::BadData);
            }
            Ok(Value::Set(Box::new(st)))
        }
        [T_ZSET, rest @ ..] => {
            let it = items(rest)
                .filter(|i| !i.is_empty() && i.len().is_multiple_of(2))
                .ok_or(RestoreError::BadData)?;
            let mut z = crate::types::ZSet::default();
            for pair in it.chunks(2) {
                let bits: [u8; 8] = pair[1].try_into().map_err(|_| RestoreError::BadData)?;
                let score = f64::from_bits(u64::from_le_bytes(bits));
                if score.is_nan() {
                    return Err(RestoreError::BadData);
                }
                z.insert(pair[0], score);
            }
            if z.len() != it.len() / 2 {
                return Err(RestoreError::BadData);
            }
            Ok(Value::ZSet(Box::new(z)))
        }
        [t @ (T_STREAM | T_STREAM_ACTIVE), rest @ ..] => {
            crate::stream::dump::read(rest, *t == T_STREAM_ACTIVE)
                .map(|x| Value::Stream(Box::new(x)))
                .ok_or(RestoreError::BadData)
        }
        _ => Err(RestoreError::BadData),
    }
}

/// CRC-64/Jones (reflected, poly 0xad93d23594c935a9), as Redis uses for its payloads.
pub fn crc64(data: &[u8]) -> u64 {
    crc64_update(0, data)
}

/// Continues a CRC-64/Jones over more bytes: `crc64_update(crc64(a), b) == crc64(a ++ b)`.
pub fn crc64_update(crc: u64, data: &[u8]) -> u64 {
    static TABLE: std::sync::OnceLock<[u64; 256]> = std::sync::OnceLock::new();
    let t = TABLE.get_or_init(|| {
        let mut t = [0u64; 256];
        for (i, slot) in t.iter_mut().enumerate() {
            let mut c = i as u64;
            for _ in 0..8 {
                c = if c & 1 != 0 {
                    (c >> 1) ^ 0x95ac_9329_ac4b_c9b5
                } else {
                    c >> 1
                };
            }
            *slot = c;
        }
        t
    });
    data.iter()
        .fold(crc, |c, &b| t[((c ^ b as u64) & 0xff) as usize] ^ (c >> 8))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc64_jones_check_value() {
        // Redis's crc64 test vector.
        assert_eq!(crc64(b"123456789"), 0xe9c6d914c4b8d9ca);
    }

    fn stream_with_group() -> crate::stream::Stream {
        use crate::stream::{Group, NodeLimits, StreamId};
        let mut x = crate::stream::Stream::default();
        let lim = NodeLimits::current();
        for i in 1..4u64 {
            let items: [&[u8]; 2] = [b"f", b"v"];
            x.append(StreamId::new(i, 0), 1, items.iter().copied(), lim);
        }
        x.delete([StreamId::new(2, 0)]);
        let mut g = Group::new(StreamId::new(3, 0), 3);
        g.create_consumer(b"alice", 7);
        g.deliver(StreamId::new(1, 0), b"alice", 9, 2);
        g.mark_active(b"alice", 9);
        // Seen, never active.
        g.create_consumer(b"bob", 11);
        x.groups.insert(b"g"[..].into(), g);
        x
    }

    #[test]
    fn stream_consumer_times_round_trip() {
        use crate::stream::NEVER_ACTIVE;
        let x = stream_with_group();
        let d = dump(ValueRef::Stream(&x));
        assert_eq!(d[0], T_STREAM_ACTIVE);
        let Ok(Value::Stream(y)) = restore(&d) else {
            panic!("not restored as a stream")
        };
        let g = &y.groups[&b"g"[..]];
        let times = |n: &[u8]| (g.consumers[n].seen_time, g.consumers[n].active_time);
        assert_eq!(times(b"alice"), (7, 9));
        assert_eq!(times(b"bob"), (11, NEVER_ACTIVE));
        // An older shoal's payload (tag 6, no active times): the seen time stands for it.
        let mut body = vec![T_STREAM];
        for n in [5u64, 0, 0, 0, 0, 0] {
            // last id 5-0, max deleted 0-0, entries added 0, no entries
            body.extend_from_slice(&n.to_le_bytes());
        }
        body.extend_from_slice(&1u32.to_le_bytes());
        put(&mut body, b"g");
        for n in [5u64, 0, 0] {
            // group last id 5-0, entries read 0
            body.extend_from_slice(&n.to_le_bytes());
        }
        body.extend_from_slice(&1u32.to_le_bytes());
        put(&mut body, b"old");
        body.extend_from_slice(&1234u64.to_le_bytes());
        body.extend_from_slice(&0u32.to_le_bytes());
        body.extend_from_slice(&DUMP_VERSION.to_le_bytes());
        let crc = crc64(&body);
        body.extend_from_slice(&crc.to_le_bytes());
        let Ok(Value::Stream(old)) = restore(&body) else {
            panic!("older payload not restored")
        };
        let c = &old.groups[&b"g"[..]].consumers[&b"old"[..]];
        assert_eq!((c.seen_time, c.active_time), (1234, 1234));
    }

    fn unhex(h: &str) -> Vec<u8> {
        (0..h.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&h[i..i + 2], 16).unwrap())
            .collect()
    }

    /// redis-server 7.0.15's DUMP of: XADD x 1-1 f a, XADD x 1-2 f b g c, XADD x 2-0 f d,
    /// XDEL x 1-2, XGROUP CREATE x g 0, XREADGROUP GROUP g alice COUNT 1 STREAMS x >.
    const REDIS_STREAM_PAYLOAD: &str = "130110000000000000000100000000000000013f3f000000180002010101\
        0101816602000102010001000181610204010101000101010201816602816202816702816302080102010101df\
        ff028164020401ff0202000101010203010167010181ffffffffffffffff01000000000000000100000000000000\
        01df6db549a2010000010105616c696365df6db549a201000001000000000000000100000000000000010a00d1cd\
        2bd0851b86f1";

    #[test]
    fn restores_redis_servers_payloads() {
        use crate::stream::{INVALID_ENTRIES_READ, StreamId};
        let p = unhex(REDIS_STREAM_PAYLOAD);
        let Ok(Value::Stream(x)) = restore(&p) else {
            panic!("not restored as a stream")
        };
        assert_eq!((x.len(), x.entries_added), (2, 3));
        assert_eq!(x.last_id, StreamId::new(2, 0));
        assert_eq!(x.max_deleted_id, StreamId::new(1, 2));
        assert_eq!(x.first_id, StreamId::new(1, 1));
        let e = x.get(StreamId::new(2, 0)).unwrap();
        assert_eq!(
            e.fields.iter().collect::<Vec<_>>(),
            [(&b"f"[..], &b"d"[..])]
        );
        let g = &x.groups[&b"g"[..]];
        assert_eq!(
            (g.last_id, g.entries_read),
            (StreamId::new(1, 1), INVALID_ENTRIES_READ)
        );
        let n = &g.pel[&StreamId::new(1, 1)];
        assert_eq!((n.delivery_time, n.delivery_count), (1796532956639, 1));
        assert_eq!(&*n.consumer, b"alice");
        // A 7.0 payload has no active time: the seen time stands for it, as in Redis 7.2.
        let c = &g.consumers[&b"alice"[..]];
        assert_eq!((c.seen_time, c.active_time), (1796532956639, 1796532956639));
        // A flipped byte: the checksum; a version Redis 7.0 does not know.
        let mut bad = p.clone();
        bad[20] ^= 1;
        assert_eq!(restore(&bad), Err(RestoreError::VersionOrChecksum));
        // A string payload of version 9 (a plain RDB string), then a body with bytes left over.
        let with_crc = |body: &[u8], version: u16| {
            let mut v = body.to_vec();
            v.extend_from_slice(&version.to_le_bytes());
            let crc = crc64(&v);
            v.extend_from_slice(&crc.to_le_bytes());
            v
        };
        assert_eq!(
            restore(&with_crc(&[0, 3, b'a', b'b', b'c'], 9)),
            Ok(Value::Str(b"abc"[..].into()))
        );
        assert_eq!(
            restore(&with_crc(&[0, 2, b'a', b'b', b'c'], 9)),
            Err(RestoreError::BadData)
        );
        // Version 12 (Redis 7.4 / 8.x) is read; 13 is not known.
        assert_eq!(
            restore(&with_crc(&[0, 3, b'a', b'b', b'c'], 12)),
            Ok(Value::Str(b"abc"[..].into()))
        );
        assert_eq!(
            restore(&with_crc(&[0, 3, b'a', b'b', b'c'], 13)),
            Err(RestoreError::VersionOrChecksum)
        );
    }

    #[test]
    fn roundtrip_and_corruption() {
        let mut h = crate::types::Hash::default();
        h.insert(b"f", b"v");
        let mut st = crate::types::Set::default();
        st.insert(b"m");
        let list: crate::types::List = [b"a"[..].into(), b""[..].into()].into_iter().collect();
        for v in [
            Value::Int(-5),
            Value::Str(b"hello"[..].into()),
            Value::Hash(Box::new(h)),
            Value::Set(Box::new(st)),
            Value::List(Box::new(list)),
            Value::Stream(Box::new(stream_with_group())),
        ] {
            let d = dump(v.as_ref());
            assert_eq!(restore(&d), Ok(v));
            for i in 0..d.len() {
                let mut bad = d.clone();
                bad[i] ^= 0x40;
                assert!(restore(&bad).is_err(), "flipped byte {i} accepted");
            }
        }
        assert_eq!(restore(b"short"), Err(RestoreError::VersionOrChecksum));
    }

    /// Found by the restore fuzzer: a payload listing a field twice was accepted (and restored to
    /// another encoding than its own dump). DUMP never writes duplicates, so they are refused.
    #[test]
    fn duplicate_members_are_bad_data() {
        let seal = |body: &[u8]| {
            let mut p = body.to_vec();
            p.extend_from_slice(&DUMP_VERSION.to_le_bytes());
            let crc = crc64(&p);
            p.extend_from_slice(&crc.to_le_bytes());
            p
        };
        let item = |b: &[u8]| {
            let mut v = (b.len() as u32).to_le_bytes().to_vec();
            v.extend_from_slice(b);
            v
        };
        let twice = |t: u8, items: &[&[u8]]| {
            let mut body = vec![t];
            for i in items {
                body.extend(item(i));
            }
            seal(&body)
        };
        let one = 1.0f64.to_bits().to_le_bytes();
        assert_eq!(
            restore(&twice(T_HASH, &[b"f", b"v", b"f", b"w"])),
            Err(RestoreError::BadData)
        );
        assert_eq!(
            restore(&twice(T_SET, &[b"m", b"m"])),
            Err(RestoreError::BadData)
        );
        assert_eq!(
            restore(&twice(T_ZSET, &[b"m", &one, b"m", &one])),
            Err(RestoreError::BadData)
        );
        assert!(restore(&twice(T_HASH, &[b"f", b"v", b"g", b"w"])).is_ok());
    }
}
