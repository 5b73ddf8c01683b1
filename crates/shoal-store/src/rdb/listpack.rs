//! Listpacks (Redis 7's compact sequence): `total bytes u32 | count u16 | entries | 0xFF`, each
//! entry `encoding+data | backlen` where backlen (1-5 bytes) is the length of the first part.

/// A canonical integer string (what Redis stores in integer form): no sign on zero, no leading
/// zeros, at most 20 characters.
pub fn as_int(s: &[u8]) -> Option<i64> {
    if s.is_empty() || s.len() > 20 {
        return None;
    }
    let t = std::str::from_utf8(s).ok()?;
    let n: i64 = t.parse().ok()?;
    (itoa::Buffer::new().format(n).as_bytes() == s).then_some(n)
}

/// Builds a listpack of `items`.
#[derive(Default)]
pub struct Builder {
    body: Vec<u8>,
    count: usize,
}

impl Builder {
    pub fn push(&mut self, item: &[u8]) {
        let start = self.body.len();
        match as_int(item) {
            Some(v) => encode_int(&mut self.body, v),
            None => {
                let n = item.len();
                if n < 64 {
                    self.body.push(0x80 | n as u8);
                } else if n < 4096 {
                    self.body.push(0xE0 | (n >> 8) as u8);
                    self.body.push((n & 0xff) as u8);
                } else {
                    self.body.push(0xF0);
                    self.body.extend_from_slice(&(n as u32).to_le_bytes());
                }
                self.body.extend_from_slice(item);
            }
        }
        let l = self.body.len() - start;
        backlen(&mut self.body, l);
        self.count += 1;
    }

    /// Bytes the finished listpack would take.
    pub fn size(&self) -> usize {
        self.body.len() + 7
    }

    pub fn len(&self) -> usize {
        self.count
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    pub fn finish(self) -> Vec<u8> {
        let total = self.body.len() + 7;
        let mut out = Vec::with_capacity(total);
        out.extend_from_slice(&(total as u32).to_le_bytes());
        out.extend_from_slice(&(self.count.min(65535) as u16).to_le_bytes());
        out.extend_from_slice(&self.body);
        out.push(0xFF);
        out
    }
}

fn encode_int(out: &mut Vec<u8>, v: i64) {
    if (0..=127).contains(&v) {
        out.push(v as u8);
    } else if (-4096..=4095).contains(&v) {
        let u = if v < 0 { (1 << 13) + v } else { v } as u16;
        out.push(0xC0 | (u >> 8) as u8);
        out.push((u & 0xff) as u8);
    } else if (-32768..=32767).contains(&v) {
        out.push(0xF1);
        out.extend_from_slice(&(v as i16).to_le_bytes());
    } else if (-(1 << 23)..(1 << 23)).contains(&v) {
        out.push(0xF2);
        out.extend_from_slice(&(v as i32).to_le_bytes()[..3]);
    } else if (i32::MIN as i64..=i32::MAX as i64).contains(&v) {
        out.push(0xF3);
        out.extend_from_slice(&(v as i32).to_le_bytes());
    } else {
        out.push(0xF4);
        out.extend_from_slice(&v.to_le_bytes());
    }
}

fn backlen(out: &mut Vec<u8>, l: usize) {
    if l <= 127 {
        out.push(l as u8);
    } else if l < 16383 {
        out.push((l >> 7) as u8);
        out.push((l & 127) as u8 | 128);
    } else if l < 2097151 {
        out.push((l >> 14) as u8);
        out.push(((l >> 7) & 127) as u8 | 128);
        out.push((l & 127) as u8 | 128);
    } else if l < 268435455 {
        out.push((l >> 21) as u8);
        out.push(((l >> 14) & 127) as u8 | 128);
        out.push(((l >> 7) & 127) as u8 | 128);
        out.push((l & 127) as u8 | 128);
    } else {
        out.push((l >> 28) as u8);
        out.push(((l >> 21) & 127) as u8 | 128);
        out.push(((l >> 14) & 127) as u8 | 128);
        out.push(((l >> 7) & 127) as u8 | 128);
        out.push((l & 127) as u8 | 128);
    }
}

/// The backlen of an entry whose first part is `l` bytes long, in bytes.
fn backlen_size(l: usize) -> usize {
    match l {
        0..=127 => 1,
        128..=16382 => 2,
        16383..=2097150 => 3,
        2097151..=268435454 => 4,
        _ => 5,
    }
}

fn sign(u: u64, bits: u32) -> i64 {
    if u >= 1 << (bits - 1) {
        (u as i128 - (1i128 << bits)) as i64
    } else {
        u as i64
    }
}

/// Decodes a listpack into its items (integers in decimal), checking it whole.
pub fn decode(lp: &[u8]) -> Result<Vec<Vec<u8>>, &'static str> {
    if lp.len() < 7 {
        return Err("listpack shorter than its header");
    }
    let total = u32::from_le_bytes([lp[0], lp[1], lp[2], lp[3]]) as usize;
    if total != lp.len() {
        return Err("listpack size does not match its header");
    }
    let count = u16::from_le_bytes([lp[4], lp[5]]) as usize;
    let mut out = Vec::new();
    let mut p = 6;
    let bad = "listpack entry runs past its end";
    loop {
        let b = *lp.get(p).ok_or(bad)?;
        if b == 0xFF {
            if p + 1 != lp.len() {
                return Err("listpack has bytes after its end mark");
            }
            break;
        }
        let get = |from: usize, n: usize| lp.get(from..from + n).ok_or(bad);
        let le = |s: &[u8]| s.iter().rev().fold(0u64, |a, &x| a << 8 | x as u64);
        let (item, head): (Vec<u8>, usize) = if b & 0x80 == 0 {
            ((b as i64).to_string().into_bytes(), 1)
        } else if b & 0xC0 == 0x80 {
            let n = (b & 0x3f) as usize;
            (get(p + 1, n)?.to_vec(), 1 + n)
        } else if b & 0xE0 == 0xC0 {
            let u = ((b & 0x1f) as u64) << 8 | *lp.get(p + 1).ok_or(bad)? as u64;
            (sign(u, 13).to_string().into_bytes(), 2)
        } else if b & 0xF0 == 0xE0 {
            let n = ((b & 0x0f) as usize) << 8 | *lp.get(p + 1).ok_or(bad)? as usize;
            (get(p + 2, n)?.to_vec(), 2 + n)
        } else {
            match b {
                0xF0 => {
                    let n = le(get(p + 1, 4)?) as usize;
                    (get(p + 5, n)?.to_vec(), 5 + n)
                }
                0xF1 => (sign(le(get(p + 1, 2)?), 16).to_string().into_bytes(), 3),
                0xF2 => (sign(le(get(p + 1, 3)?), 24).to_string().into_bytes(), 4),
                0xF3 => (sign(le(get(p + 1, 4)?), 32).to_string().into_bytes(), 5),
                0xF4 => (sign(le(get(p + 1, 8)?), 64).to_string().into_bytes(), 9),
                _ => return Err("listpack entry of an unknown encoding"),
            }
        };
        // The backlen must say the entry's length (a corrupt one would mislead a reverse walk).
        let bl = backlen_size(head);
        let back = get(p + head, bl)?;
        let mut l = 0usize;
        for (k, &x) in back.iter().enumerate() {
            if (k == 0) != (x & 128 == 0) {
                return Err("listpack entry with a bad back length");
            }
            l = l << 7 | (x & 127) as usize;
        }
        if l != head {
            return Err("listpack entry with a bad back length");
        }
        p += head + bl;
        out.push(item);
    }
    if count != 65535 && count != out.len() {
        return Err("listpack count does not match its entries");
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roundtrip(items: &[Vec<u8>]) -> Vec<u8> {
        let mut b = Builder::default();
        for i in items {
            b.push(i);
        }
        let lp = b.finish();
        assert_eq!(decode(&lp).unwrap(), items);
        lp
    }

    #[test]
    fn integers_at_every_width_boundary() {
        let ns: [i64; 16] = [
            0,
            127,
            128,
            -1,
            -4096,
            4095,
            -4097,
            4096,
            32767,
            -32768,
            (1 << 23) - 1,
            -(1 << 23),
            i32::MAX as i64,
            i32::MIN as i64,
            i64::MAX,
            i64::MIN,
        ];
        let items: Vec<Vec<u8>> = ns.iter().map(|n| n.to_string().into_bytes()).collect();
        let lp = roundtrip(&items);
        // 7-bit, 13-bit: one and two bytes plus one backlen byte.
        assert_eq!(&lp[6..8], &[0, 1]);
        assert_eq!(&lp[8..10], &[127, 1]);
        assert_eq!(&lp[10..13], &[0xC0, 128, 2]);
    }

    #[test]
    fn strings_at_every_length_boundary() {
        let items: Vec<Vec<u8>> = [0usize, 1, 63, 64, 127, 128, 4095, 4096, 16383, 70000]
            .iter()
            .map(|&n| vec![b'x'; n])
            .chain([b"-0".to_vec(), b"007".to_vec(), b"1.5".to_vec()])
            .collect();
        roundtrip(&items);
    }

    #[test]
    fn canonical_integers_only() {
        assert_eq!(as_int(b"-12"), Some(-12));
        assert_eq!(as_int(b"-0"), None);
        assert_eq!(as_int(b"01"), None);
        assert_eq!(as_int(b"+1"), None);
        assert_eq!(as_int(b"9223372036854775808"), None);
    }

    #[test]
    fn corruption_is_refused() {
        let mut b = Builder::default();
        b.push(b"hello");
        b.push(b"12345");
        let lp = b.finish();
        assert!(decode(&lp[..lp.len() - 1]).is_err());
        let mut bad = lp.clone();
        bad[4] = 3; // count
        assert!(decode(&bad).is_err());
        let mut bad = lp.clone();
        bad[6] = 0x80 | 40; // string length past the end
        assert!(decode(&bad).is_err());
        let mut bad = lp.clone();
        bad[12] = 9; // backlen of "hello"
        assert!(decode(&bad).is_err());
        assert!(decode(&[7, 0, 0, 0, 0, 0, 0]).is_err());
    }
}
