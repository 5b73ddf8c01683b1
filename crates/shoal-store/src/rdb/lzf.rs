//! LZF (liblzf's format, as Redis compresses RDB strings with it).
//!
//! A stream of runs: a control byte below 32 is a literal run of `ctrl + 1` bytes; above, the
//! top three bits are a back reference's length minus two (7: one more byte adds to it) and the
//! low five the high bits of its distance minus one, whose low byte follows.

const MAX_OFF: usize = 1 << 13;
const MAX_REF: usize = (1 << 8) + (1 << 3);
const MAX_LIT: usize = 1 << 5;
const HLOG: u32 = 14;

/// Compresses `input` into at most `max` bytes; `None` when it does not fit (or is too short
/// to gain anything).
pub fn compress(input: &[u8], max: usize) -> Option<Vec<u8>> {
    let n = input.len();
    if n < 4 {
        return None;
    }
    let mut out = Vec::with_capacity(max.min(n));
    let mut table = vec![usize::MAX; 1 << HLOG];
    let mut lit_start = 0;
    let mut i = 0;
    let flush = |out: &mut Vec<u8>, lit: &[u8]| {
        for chunk in lit.chunks(MAX_LIT) {
            out.push((chunk.len() - 1) as u8);
            out.extend_from_slice(chunk);
        }
    };
    while i + 2 < n {
        let h = (((input[i] as u32) << 16 | (input[i + 1] as u32) << 8 | input[i + 2] as u32)
            .wrapping_mul(0x9E37_79B1)
            >> (32 - HLOG)) as usize;
        let cand = table[h];
        table[h] = i;
        if cand != usize::MAX && i - cand <= MAX_OFF && input[cand..cand + 3] == input[i..i + 3] {
            let maxlen = MAX_REF.min(n - i);
            let mut len = 3;
            while len < maxlen && input[cand + len] == input[i + len] {
                len += 1;
            }
            flush(&mut out, &input[lit_start..i]);
            let off = i - cand - 1;
            let l = len - 2;
            if l < 7 {
                out.push(((l << 5) | (off >> 8)) as u8);
            } else {
                out.push(((7 << 5) | (off >> 8)) as u8);
                out.push((l - 7) as u8);
            }
            out.push((off & 0xff) as u8);
            i += len;
            lit_start = i;
            if out.len() > max {
                return None;
            }
        } else {
            i += 1;
        }
    }
    flush(&mut out, &input[lit_start..]);
    (out.len() <= max).then_some(out)
}

/// Decompresses `input`, which must give exactly `len` bytes.
pub fn decompress(input: &[u8], len: usize) -> Result<Vec<u8>, &'static str> {
    let mut out: Vec<u8> = Vec::with_capacity(len);
    let mut ip = 0;
    while ip < input.len() {
        let ctrl = input[ip] as usize;
        ip += 1;
        if ctrl < 32 {
            let run = ctrl + 1;
            let lit = input
                .get(ip..ip + run)
                .ok_or("LZF literal run past the end of its input")?;
            if out.len() + run > len {
                return Err("LZF data longer than its stated length");
            }
            out.extend_from_slice(lit);
            ip += run;
        } else {
            let mut l = ctrl >> 5;
            if l == 7 {
                l += *input.get(ip).ok_or("LZF back reference cut short")? as usize;
                ip += 1;
            }
            let low = *input.get(ip).ok_or("LZF back reference cut short")? as usize;
            ip += 1;
            let dist = ((ctrl & 0x1f) << 8) + low + 1;
            let l = l + 2;
            if dist > out.len() {
                return Err("LZF back reference before the start");
            }
            if out.len() + l > len {
                return Err("LZF data longer than its stated length");
            }
            let from = out.len() - dist;
            for k in 0..l {
                let b = out[from + k];
                out.push(b);
            }
        }
    }
    if out.len() != len {
        return Err("LZF data shorter than its stated length");
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        let mut inputs: Vec<Vec<u8>> = vec![
            b"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa".to_vec(),
            b"hello hello hello hello hello hello world".to_vec(),
            vec![0u8; 10_000],
        ];
        let mut x = 7u32;
        let noisy: Vec<u8> = (0..5000)
            .map(|i| {
                x = x.wrapping_mul(1103515245).wrapping_add(12345);
                if i % 3 == 0 {
                    b'a'
                } else {
                    (x >> 24) as u8 % 4
                }
            })
            .collect();
        inputs.push(noisy);
        for inp in inputs {
            let c = compress(&inp, inp.len()).expect("compressible");
            assert!(c.len() < inp.len());
            assert_eq!(decompress(&c, inp.len()).unwrap(), inp);
        }
    }

    #[test]
    fn incompressible_does_not_fit() {
        let inp: Vec<u8> = (0..=255u8).collect();
        assert!(compress(&inp, inp.len() - 4).is_none());
        assert!(compress(b"abc", 10).is_none());
    }

    #[test]
    fn liblzf_stream_decodes() {
        // "aaaaaaaaaa" as liblzf writes it: one literal, then a back reference of 9 at
        // distance 1.
        assert_eq!(
            decompress(&[0x00, b'a', 0xE0, 0x00, 0x00], 10).unwrap(),
            b"aaaaaaaaaa"
        );
    }

    #[test]
    fn bad_streams_are_refused() {
        assert!(decompress(&[0x05, b'a'], 6).is_err()); // literal cut short
        assert!(decompress(&[0x20, 0x05], 3).is_err()); // reference before the start
        assert!(decompress(&[0x00, b'a'], 2).is_err()); // shorter than stated
        assert!(decompress(&[0x01, b'a', b'b'], 1).is_err()); // longer than stated
        assert!(decompress(&[0x00, b'a', 0xE0], 20).is_err()); // reference cut short
    }
}
