//! The length Redis's RDB serialization of a value would have (rdbSavedObjectLen, as DEBUG
//! OBJECT's `serializedlength` reports it), from the encoding OBJECT ENCODING names: small
//! collections as one listpack/intset blob, large ones element by element, long lists as 8 KB
//! listpack nodes. Blobs are counted uncompressed (as with `rdbcompression no`).

use shoal_store::ValueRef;

/// Redis's rdbSaveLen size.
fn len_enc(n: usize) -> usize {
    match n {
        0..64 => 1,
        64..16384 => 2,
        _ if n as u64 <= u32::MAX as u64 => 5,
        _ => 9,
    }
}

/// The integer a string holds when Redis would store it as one (canonical form, no sign
/// tricks, at most 20 characters).
fn as_int(s: &[u8]) -> Option<i64> {
    if s.is_empty() || s.len() > 20 {
        return None;
    }
    let n: i64 = std::str::from_utf8(s).ok()?.parse().ok()?;
    (itoa::Buffer::new().format(n).as_bytes() == s).then_some(n)
}

/// rdbSaveRawString / rdbTryIntegerEncoding.
fn string(s: &[u8]) -> usize {
    if s.len() <= 11
        && let Some(n) = as_int(s)
    {
        if i8::try_from(n).is_ok() {
            return 2;
        } else if i16::try_from(n).is_ok() {
            return 3;
        } else if i32::try_from(n).is_ok() {
            return 5;
        }
    }
    len_enc(s.len()) + s.len()
}

/// Bytes of one listpack entry.
fn lp_entry(s: &[u8]) -> usize {
    let body = match as_int(s) {
        Some(n) if (0..=127).contains(&n) => 1,
        Some(n) if (-4096..=4095).contains(&n) => 2,
        Some(n) if i16::try_from(n).is_ok() => 3,
        Some(n) if (-(1 << 23)..(1 << 23)).contains(&n) => 4,
        Some(n) if i32::try_from(n).is_ok() => 5,
        Some(_) => 9,
        None => {
            let header = match s.len() {
                0..64 => 1,
                64..4096 => 2,
                _ => 5,
            };
            header + s.len()
        }
    };
    let backlen = match body {
        0..128 => 1,
        128..16384 => 2,
        16384..2097152 => 3,
        2097152..268435456 => 4,
        _ => 5,
    };
    body + backlen
}

/// A listpack of these entries, saved as a string blob.
fn listpack_blob<'a>(entries: impl Iterator<Item = usize> + 'a) -> usize {
    let size = 7 + entries.sum::<usize>();
    len_enc(size) + size
}

/// Listpack bytes of each element of a list, for nodes and the quicklist fields.
pub fn list_entry_sizes<'a>(items: impl Iterator<Item = &'a [u8]>) -> Vec<usize> {
    items.map(lp_entry).collect()
}

/// Splits listpack entry sizes into 8 KB nodes (list-max-listpack-size -2).
pub fn quicklist_nodes(sizes: &[usize]) -> Vec<usize> {
    let mut nodes = Vec::new();
    let mut cur = 7;
    for &s in sizes {
        if cur > 7 && cur + s > 8192 {
            nodes.push(cur);
            cur = 7;
        }
        cur += s;
    }
    nodes.push(cur);
    nodes
}

fn score(s: f64) -> String {
    shoal_resp::format_double(s)
}

pub fn serialized_len(v: ValueRef<'_>) -> usize {
    match v {
        // Encoded by the RDB writer: nodes and groups are too involved to size by hand.
        ValueRef::Stream(x) => shoal_store::rdb::stream::saved_len(x),
        ValueRef::Int(n) => string(itoa::Buffer::new().format(n).as_bytes()),
        ValueRef::Str(s) => string(s),
        ValueRef::Hash(h) => match h.encoding() {
            "listpack" => listpack_blob(h.iter().map(|(f, v)| lp_entry(f) + lp_entry(v))),
            _ => len_enc(h.len()) + h.iter().map(|(f, v)| string(f) + string(v)).sum::<usize>(),
        },
        ValueRef::List(l) => {
            let nodes = quicklist_nodes(&list_entry_sizes(l.iter().map(|x| &x[..])));
            // Node count, then each node's container byte and listpack blob.
            len_enc(nodes.len()) + nodes.iter().map(|n| 1 + len_enc(*n) + n).sum::<usize>()
        }
        ValueRef::Set(st) => {
            let members = st.members();
            match st.encoding() {
                "intset" => {
                    let width = members
                        .iter()
                        .filter_map(|m| as_int(m))
                        .map(|n| {
                            if i16::try_from(n).is_ok() {
                                2
                            } else if i32::try_from(n).is_ok() {
                                4
                            } else {
                                8
                            }
                        })
                        .max()
                        .unwrap_or(2);
                    let size = 8 + width * members.len();
                    len_enc(size) + size
                }
                "listpack" => listpack_blob(members.iter().map(|m| lp_entry(m))),
                _ => len_enc(members.len()) + members.iter().map(|m| string(m)).sum::<usize>(),
            }
        }
        ValueRef::ZSet(z) => match z.encoding() {
            "listpack" => listpack_blob(
                z.iter()
                    .map(|(m, s)| lp_entry(m) + lp_entry(score(s).as_bytes())),
            ),
            _ => len_enc(z.len()) + z.iter().map(|(m, _)| string(m) + 8).sum::<usize>(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Redis 7.0.15's serializedlength for the same values.
    #[test]
    fn strings_and_small_values_match_redis() {
        assert_eq!(serialized_len(ValueRef::Str(b"hello")), 6);
        assert_eq!(serialized_len(ValueRef::Int(12345)), 3);
        assert_eq!(serialized_len(ValueRef::Int(1)), 2);
        assert_eq!(serialized_len(ValueRef::Str(b"12345678901")), 12);
        // The quicklist of "a b c": one node of 16 bytes.
        let sizes = list_entry_sizes([&b"a"[..], b"b", b"c"].into_iter());
        assert_eq!(quicklist_nodes(&sizes), vec![16]);
    }

    #[test]
    fn listpack_entries_follow_redis() {
        assert_eq!(lp_entry(b"a"), 3);
        assert_eq!(lp_entry(b"item10"), 8);
        assert_eq!(lp_entry(b"5"), 2);
        assert_eq!(lp_entry(b"1000"), 3);
        assert_eq!(lp_entry(&[b'x'; 100]), 103);
        let big = quicklist_nodes(&vec![100; 200]);
        assert_eq!(big.len(), 3);
        assert!(big.iter().all(|n| *n <= 8192));
    }
}
