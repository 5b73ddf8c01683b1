//! Decoders of the compact encodings older RDB files hold: ziplists (Redis 2.6-6.2), zipmaps
//! (before 2.6) and intsets (every version).

/// A ziplist's items (integers in decimal): `zlbytes u32 | zltail u32 | zllen u16 | entries |
/// 0xFF`, each entry `prevlen | encoding | data`.
pub fn ziplist(zl: &[u8]) -> Result<Vec<Vec<u8>>, &'static str> {
    let bad = "ziplist entry runs past its end";
    if zl.len() < 11 {
        return Err("ziplist shorter than its header");
    }
    let le32 = |s: &[u8]| u32::from_le_bytes([s[0], s[1], s[2], s[3]]) as usize;
    if le32(&zl[0..4]) != zl.len() {
        return Err("ziplist size does not match its header");
    }
    let tail = le32(&zl[4..8]);
    let count = u16::from_le_bytes([zl[8], zl[9]]) as usize;
    let mut p = 10;
    let mut prev_len = 0usize;
    let mut last = 10;
    let mut out = Vec::new();
    loop {
        let b = *zl.get(p).ok_or(bad)?;
        if b == 0xFF {
            if p + 1 != zl.len() {
                return Err("ziplist has bytes after its end mark");
            }
            break;
        }
        let start = p;
        let (prev, n) = if b < 254 {
            (b as usize, 1)
        } else if b == 254 {
            (le32(zl.get(p + 1..p + 5).ok_or(bad)?), 5)
        } else {
            return Err(bad);
        };
        if prev != prev_len {
            return Err("ziplist entry with a wrong previous length");
        }
        p += n;
        let e = *zl.get(p).ok_or(bad)?;
        let get = |from: usize, k: usize| zl.get(from..from + k).ok_or(bad);
        let le = |s: &[u8]| s.iter().rev().fold(0u64, |a, &x| a << 8 | x as u64);
        let (item, len): (Vec<u8>, usize) = match e >> 6 {
            0 => {
                let k = (e & 0x3f) as usize;
                (get(p + 1, k)?.to_vec(), 1 + k)
            }
            1 => {
                let k = ((e & 0x3f) as usize) << 8 | *zl.get(p + 1).ok_or(bad)? as usize;
                (get(p + 2, k)?.to_vec(), 2 + k)
            }
            2 => {
                let s = get(p + 1, 4)?;
                let k = u32::from_be_bytes([s[0], s[1], s[2], s[3]]) as usize;
                (get(p + 5, k)?.to_vec(), 5 + k)
            }
            _ => {
                let (v, k): (i64, usize) = match e {
                    0xC0 => (le(get(p + 1, 2)?) as u16 as i16 as i64, 2),
                    0xD0 => (le(get(p + 1, 4)?) as u32 as i32 as i64, 4),
                    0xE0 => (le(get(p + 1, 8)?) as i64, 8),
                    0xF0 => (((le(get(p + 1, 3)?) << 40) as i64) >> 40, 3),
                    0xFE => (get(p + 1, 1)?[0] as i8 as i64, 1),
                    0xF1..=0xFD => ((e & 0x0f) as i64 - 1, 0),
                    _ => return Err("ziplist entry of an unknown encoding"),
                };
                (v.to_string().into_bytes(), 1 + k)
            }
        };
        p += len;
        prev_len = p - start;
        last = start;
        out.push(item);
    }
    if !out.is_empty() && tail != last || out.is_empty() && tail != 10 {
        return Err("ziplist tail offset is wrong");
    }
    if count != 65535 && count != out.len() {
        return Err("ziplist count does not match its entries");
    }
    Ok(out)
}

/// A zipmap's field/value pairs, flattened: `count u8 | (len field len free value pad)* | 0xFF`.
pub fn zipmap(zm: &[u8]) -> Result<Vec<Vec<u8>>, &'static str> {
    let bad = "zipmap entry runs past its end";
    let mut p = 1;
    let mut out = Vec::new();
    let read_len = |p: &mut usize| -> Result<Option<usize>, &'static str> {
        let b = *zm.get(*p).ok_or(bad)?;
        match b {
            0xFF => Ok(None),
            254 => {
                let s = zm.get(*p + 1..*p + 5).ok_or(bad)?;
                *p += 5;
                Ok(Some(u32::from_le_bytes([s[0], s[1], s[2], s[3]]) as usize))
            }
            253 => Err("zipmap entry of an unknown length encoding"),
            n => {
                *p += 1;
                Ok(Some(n as usize))
            }
        }
    };
    if zm.is_empty() {
        return Err("empty zipmap");
    }
    while let Some(klen) = read_len(&mut p)? {
        out.push(zm.get(p..p + klen).ok_or(bad)?.to_vec());
        p += klen;
        let vlen = read_len(&mut p)?.ok_or("zipmap field without a value")?;
        let free = *zm.get(p).ok_or(bad)? as usize;
        p += 1;
        out.push(zm.get(p..p + vlen).ok_or(bad)?.to_vec());
        p += vlen + free;
    }
    if p + 1 != zm.len() {
        return Err("zipmap has bytes after its end mark");
    }
    Ok(out)
}

/// An intset's members: `encoding u32 (2, 4 or 8) | length u32 | sorted little-endian ints`.
pub fn intset(is: &[u8]) -> Result<Vec<i64>, &'static str> {
    if is.len() < 8 {
        return Err("intset shorter than its header");
    }
    let width = u32::from_le_bytes([is[0], is[1], is[2], is[3]]) as usize;
    let n = u32::from_le_bytes([is[4], is[5], is[6], is[7]]) as usize;
    if !matches!(width, 2 | 4 | 8) {
        return Err("intset of an unknown encoding");
    }
    if is.len() != 8 + width.checked_mul(n).ok_or("intset too long")? {
        return Err("intset size does not match its header");
    }
    let out: Vec<i64> = is[8..]
        .chunks(width)
        .map(|c| match width {
            2 => i16::from_le_bytes([c[0], c[1]]) as i64,
            4 => i32::from_le_bytes([c[0], c[1], c[2], c[3]]) as i64,
            _ => i64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]),
        })
        .collect();
    if out.windows(2).any(|w| w[0] >= w[1]) {
        return Err("intset not sorted or with duplicates");
    }
    if out.is_empty() {
        return Err("empty intset");
    }
    Ok(out)
}

/// Encodes sorted, distinct integers as an intset of the narrowest width that holds them all.
pub fn encode_intset(v: &[i64]) -> Vec<u8> {
    let width = if v.iter().all(|&x| i16::try_from(x).is_ok()) {
        2
    } else if v.iter().all(|&x| i32::try_from(x).is_ok()) {
        4
    } else {
        8
    };
    let mut out = Vec::with_capacity(8 + width * v.len());
    out.extend_from_slice(&(width as u32).to_le_bytes());
    out.extend_from_slice(&(v.len() as u32).to_le_bytes());
    for &x in v {
        out.extend_from_slice(&x.to_le_bytes()[..width]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A ziplist as Redis 6 builds it, from its entries' encoded forms.
    fn zl(entries: &[&[u8]]) -> Vec<u8> {
        let mut body = Vec::new();
        let mut prev = 0usize;
        let mut last = 10;
        for e in entries {
            last = 10 + body.len();
            let start = body.len();
            if prev < 254 {
                body.push(prev as u8);
            } else {
                body.push(254);
                body.extend_from_slice(&(prev as u32).to_le_bytes());
            }
            body.extend_from_slice(e);
            prev = body.len() - start;
        }
        let mut out = ((11 + body.len()) as u32).to_le_bytes().to_vec();
        out.extend_from_slice(&(last as u32).to_le_bytes());
        out.extend_from_slice(&(entries.len() as u16).to_le_bytes());
        out.extend_from_slice(&body);
        out.push(0xFF);
        out
    }

    #[test]
    fn ziplist_every_encoding() {
        let long = [&[0x40u8, 100][..], &[b'y'; 100]].concat();
        let huge = [&[0x80u8, 0, 0, 1, 44][..], &[b'z'; 300]].concat();
        let z = zl(&[
            b"\x03abc",
            &long,
            &huge, // the next entry's prevlen takes 5 bytes
            &[0xC0, 0xFF, 0x7F],
            &[0xD0, 0, 0, 0, 0x80],
            &[0xE0, 1, 0, 0, 0, 0, 0, 0, 0],
            &[0xF0, 0xFF, 0xFF, 0xFF],
            &[0xFE, 0x80],
            &[0xF1],
            &[0xFD],
        ]);
        let items = ziplist(&z).unwrap();
        let want: Vec<Vec<u8>> = vec![
            b"abc".to_vec(),
            vec![b'y'; 100],
            vec![b'z'; 300],
            b"32767".to_vec(),
            b"-2147483648".to_vec(),
            b"1".to_vec(),
            b"-1".to_vec(),
            b"-128".to_vec(),
            b"0".to_vec(),
            b"12".to_vec(),
        ];
        assert_eq!(items, want);
        for cut in [1, 2, 5] {
            assert!(ziplist(&z[..z.len() - cut]).is_err());
        }
        let mut bad = z.clone();
        bad[10] = 3; // the first prevlen
        assert!(ziplist(&bad).is_err());
        let mut bad = z.clone();
        bad[8] = 9; // count
        assert!(ziplist(&bad).is_err());
        assert_eq!(ziplist(&zl(&[])).unwrap(), Vec::<Vec<u8>>::new());
    }

    #[test]
    fn zipmap_pairs() {
        let mut zm = vec![2u8, 1, b'a', 3, 2, b'x', b'y', b'z', 0, 0];
        zm.extend_from_slice(&[254, 1, 0, 0, 0, b'b', 0, 0]);
        zm.push(0xFF);
        assert_eq!(
            zipmap(&zm).unwrap(),
            vec![b"a".to_vec(), b"xyz".to_vec(), b"b".to_vec(), b"".to_vec()]
        );
        assert!(zipmap(&zm[..zm.len() - 1]).is_err());
        assert!(zipmap(&[1, 1, b'a', 0xFF]).is_err());
    }

    #[test]
    fn intset_widths() {
        for v in [
            vec![-5i64, 1, 32767],
            vec![-40000, 7],
            vec![i64::MIN, 0, i64::MAX],
        ] {
            assert_eq!(intset(&encode_intset(&v)).unwrap(), v);
        }
        assert_eq!(encode_intset(&[1, 2])[0], 2);
        assert_eq!(encode_intset(&[1, 1 << 20])[0], 4);
        let mut bad = encode_intset(&[1, 2, 3]);
        bad[8] = 9; // out of order
        assert!(intset(&bad).is_err());
        let mut bad = encode_intset(&[1, 2, 3]);
        bad[0] = 3;
        assert!(intset(&bad).is_err());
        assert!(intset(&encode_intset(&[1])[..9]).is_err());
    }
}
