//! Redis's HyperLogLog, byte for byte (a port of Redis 7.0's `hyperloglog.c`): the 16-byte
//! `HYLL` header with the cached cardinality, the sparse (ZERO / XZERO / VAL opcodes) and dense
//! (16384 six-bit registers) encodings, MurmurHash64A with Redis's seed, and Ertl's improved
//! estimator. An HLL is a plain string value, so one written by Redis (SET, RESTORE) works here
//! and the other way round, and counts are Redis's own for the same inputs.
//!
//! Every function takes the whole string (header included) and never trusts it: a corrupt HLL
//! gives [`Corrupt`], never a panic or an unbounded allocation. Where Redis reads the byte past
//! the end of a string (its SDS terminator), [`at`] reads 0.

pub const P: u32 = 14;
pub const Q: u32 = 64 - P;
pub const REGISTERS: usize = 1 << P;
const P_MASK: u64 = (REGISTERS - 1) as u64;
const BITS: usize = 6;
const REGISTER_MAX: u8 = (1 << BITS) - 1;
pub const HDR_SIZE: usize = 16;
pub const DENSE_SIZE: usize = HDR_SIZE + (REGISTERS * BITS).div_ceil(8);
pub const DENSE: u8 = 0;
pub const SPARSE: u8 = 1;
const MAX_ENCODING: u8 = 1;

const SPARSE_VAL_MAX_VALUE: u8 = 32;
const SPARSE_VAL_MAX_LEN: usize = 4;
const SPARSE_ZERO_MAX_LEN: usize = 64;
const ALPHA_INF: f64 = 0.721_347_520_444_481_7;

pub const INVALID_OBJ: &str = "INVALIDOBJ Corrupted HLL object detected";
pub const NOT_HLL: &str = "WRONGTYPE Key is not a valid HyperLogLog string value.";

/// A sparse HLL whose opcodes do not cover exactly the 16384 registers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Corrupt;

/// MurmurHash2, 64-bit version, as Redis has it (little-endian reads).
pub fn murmurhash64a(key: &[u8], seed: u64) -> u64 {
    const M: u64 = 0xc6a4_a793_5bd1_e995;
    const R: u32 = 47;
    // Redis passes the length as a C int.
    let mut h = seed ^ ((key.len() as i32 as i64 as u64).wrapping_mul(M));
    let mut chunks = key.chunks_exact(8);
    for c in &mut chunks {
        let mut k = u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]);
        k = k.wrapping_mul(M);
        k ^= k >> R;
        k = k.wrapping_mul(M);
        h ^= k;
        h = h.wrapping_mul(M);
    }
    let rest = chunks.remainder();
    if !rest.is_empty() {
        for (i, b) in rest.iter().enumerate().rev() {
            h ^= (*b as u64) << (8 * i);
        }
        h = h.wrapping_mul(M);
    }
    h ^= h >> R;
    h = h.wrapping_mul(M);
    h ^= h >> R;
    h
}

/// (register index, length of the 000..1 pattern) of an element.
pub fn pat_len(ele: &[u8]) -> (usize, u8) {
    let mut hash = murmurhash64a(ele, 0xadc8_3b19);
    let index = (hash & P_MASK) as usize;
    hash >>= P;
    hash |= 1u64 << Q;
    (index, hash.trailing_zeros() as u8 + 1)
}

/// The byte at `i`, or 0 past the end (Redis reads the string's terminator there).
#[inline]
fn at(s: &[u8], i: usize) -> u8 {
    s.get(i).copied().unwrap_or(0)
}

// ---- dense registers ----

/// Register `i` of a dense register array.
#[inline]
pub fn dense_get(regs: &[u8], i: usize) -> u8 {
    let byte = i * BITS / 8;
    let fb = (i * BITS) & 7;
    let b0 = at(regs, byte) as u32;
    let b1 = at(regs, byte + 1) as u32;
    (((b0 >> fb) | (b1 << (8 - fb))) & REGISTER_MAX as u32) as u8
}

/// Calls `f(i, register i)` for every register of a dense HLL's registers, four registers per
/// three bytes (bit offset 6i, least significant bits first, as `dense_get` reads one).
#[inline]
fn dense_each(regs: &[u8], mut f: impl FnMut(usize, u8)) {
    let (groups, _) = regs.as_chunks::<3>();
    for (g, &[b0, b1, b2]) in groups.iter().enumerate().take(REGISTERS / 4) {
        let i = g * 4;
        f(i, b0 & 63);
        f(i + 1, (b0 >> 6) | ((b1 & 15) << 2));
        f(i + 2, (b1 >> 4) | ((b2 & 3) << 4));
        f(i + 3, b2 >> 2);
    }
}

#[inline]
pub fn dense_put(regs: &mut [u8], i: usize, val: u8) {
    let byte = i * BITS / 8;
    let fb = (i * BITS) & 7;
    let v = val as u32;
    if let Some(b) = regs.get_mut(byte) {
        *b &= !((REGISTER_MAX as u32) << fb) as u8;
        *b |= (v << fb) as u8;
    }
    if let Some(b) = regs.get_mut(byte + 1) {
        *b &= !((REGISTER_MAX as u32) >> (8 - fb)) as u8;
        *b |= (v >> (8 - fb)) as u8;
    }
}

/// Sets register `i` to `count` if that is larger; true if it changed.
#[inline]
pub fn dense_set(regs: &mut [u8], i: usize, count: u8) -> bool {
    if count > dense_get(regs, i) {
        dense_put(regs, i, count);
        true
    } else {
        false
    }
}

// ---- sparse opcodes ----

#[inline]
fn is_zero(b: u8) -> bool {
    b & 0xc0 == 0
}
#[inline]
fn is_xzero(b: u8) -> bool {
    b & 0xc0 == 0x40
}
#[inline]
fn is_val(b: u8) -> bool {
    b & 0x80 != 0
}
#[inline]
fn zero_len(b: u8) -> usize {
    (b & 0x3f) as usize + 1
}
#[inline]
fn xzero_len(b0: u8, b1: u8) -> usize {
    ((((b0 & 0x3f) as usize) << 8) | b1 as usize) + 1
}
#[inline]
fn val_value(b: u8) -> u8 {
    ((b >> 2) & 0x1f) + 1
}
#[inline]
fn val_len(b: u8) -> usize {
    (b & 3) as usize + 1
}
#[inline]
fn val_op(val: u8, len: usize) -> u8 {
    (((val - 1) << 2) | (len as u8 - 1)) | 0x80
}
#[inline]
fn zero_op(len: usize) -> u8 {
    (len - 1) as u8
}
#[inline]
fn xzero_op(len: usize) -> [u8; 2] {
    let l = len - 1;
    [((l >> 8) as u8) | 0x40, (l & 0xff) as u8]
}

/// A new, empty HLL: sparse, one XZERO covering every register.
pub fn new_sparse() -> Vec<u8> {
    let mut s = Vec::with_capacity(HDR_SIZE + 2);
    s.extend_from_slice(b"HYLL");
    s.push(SPARSE);
    s.extend_from_slice(&[0; 11]);
    s.extend_from_slice(&xzero_op(REGISTERS));
    s
}

/// Redis's `isHLLObjectOrReply` test of a string's bytes.
pub fn is_valid(s: &[u8]) -> bool {
    s.len() >= HDR_SIZE
        && &s[..4] == b"HYLL"
        && s[4] <= MAX_ENCODING
        && (s[4] != DENSE || s.len() == DENSE_SIZE)
}

pub fn encoding(s: &[u8]) -> u8 {
    s[4]
}

/// Marks the cached cardinality stale.
#[inline]
pub fn invalidate_cache(s: &mut [u8]) {
    s[15] |= 0x80;
}

/// The cached cardinality, if valid.
pub fn cached(s: &[u8]) -> Option<u64> {
    if s[15] & 0x80 != 0 {
        return None;
    }
    let mut b = [0u8; 8];
    b.copy_from_slice(&s[8..16]);
    Some(u64::from_le_bytes(b))
}

pub fn set_cached(s: &mut [u8], card: u64) {
    s[8..16].copy_from_slice(&card.to_le_bytes());
}

/// The dense form of a sparse HLL (a dense one is returned as it is).
pub fn sparse_to_dense(s: &[u8]) -> Result<Vec<u8>, Corrupt> {
    if s[4] == DENSE {
        return Ok(s.to_vec());
    }
    let mut d = vec![0u8; DENSE_SIZE];
    // Magic and cached cardinality.
    d[..HDR_SIZE].copy_from_slice(&s[..HDR_SIZE]);
    d[4] = DENSE;
    let regs = &mut d[HDR_SIZE..];
    let (mut idx, mut p) = (0usize, HDR_SIZE);
    while p < s.len() {
        let b = s[p];
        if is_zero(b) {
            idx += zero_len(b);
            p += 1;
        } else if is_xzero(b) {
            idx += xzero_len(b, at(s, p + 1));
            p += 2;
        } else {
            let (len, val) = (val_len(b), val_value(b));
            if len + idx > REGISTERS {
                break;
            }
            for _ in 0..len {
                dense_put(regs, idx, val);
                idx += 1;
            }
            p += 1;
        }
    }
    if idx != REGISTERS {
        return Err(Corrupt);
    }
    Ok(d)
}

/// Redis's `hllSparseSet`: sets register `index` of a sparse HLL to `count` if larger, splitting
/// opcodes as needed; promotes `s` to dense when `count` does not fit a VAL opcode or the
/// string would grow past `max_bytes`. `Ok(true)` if a register changed.
pub fn sparse_set(
    s: &mut Vec<u8>,
    index: usize,
    count: u8,
    max_bytes: u64,
) -> Result<bool, Corrupt> {
    if count > SPARSE_VAL_MAX_VALUE {
        return promote(s, index, count);
    }
    let end = s.len();
    // Step 1: find the opcode covering `index`.
    let (mut p, mut first, mut span) = (HDR_SIZE, 0usize, 0usize);
    let mut prev: Option<usize> = None;
    while p < end {
        let b = s[p];
        let mut oplen = 1;
        if is_zero(b) {
            span = zero_len(b);
        } else if is_val(b) {
            span = val_len(b);
        } else {
            span = xzero_len(b, at(s, p + 1));
            oplen = 2;
        }
        if index < first + span {
            break;
        }
        prev = Some(p);
        p += oplen;
        first += span;
    }
    if span == 0 || p >= end {
        return Err(Corrupt);
    }
    let op = s[p];
    let next = if is_xzero(op) { p + 2 } else { p + 1 };
    let next = (next < end).then_some(next);
    let (zero, xzero, val) = (is_zero(op), is_xzero(op), is_val(op));
    let runlen = if zero {
        zero_len(op)
    } else if xzero {
        xzero_len(op, at(s, p + 1))
    } else {
        val_len(op)
    };
    // Step 2: the trivial cases.
    let mut trivial = false;
    if val {
        if val_value(op) >= count {
            return Ok(false);
        }
        if runlen == 1 {
            s[p] = val_op(count, 1);
            trivial = true;
        }
    }
    if !trivial && zero && runlen == 1 {
        s[p] = val_op(count, 1);
        trivial = true;
    }
    if !trivial {
        // The general case: split the opcode into up to three.
        let mut seq: Vec<u8> = Vec::with_capacity(5);
        let last = first + span - 1;
        if zero || xzero {
            let gap = |seq: &mut Vec<u8>, len: usize| {
                if len > SPARSE_ZERO_MAX_LEN {
                    seq.extend_from_slice(&xzero_op(len));
                } else {
                    seq.push(zero_op(len));
                }
            };
            if index != first {
                gap(&mut seq, index - first);
            }
            seq.push(val_op(count, 1));
            if index != last {
                gap(&mut seq, last - index);
            }
        } else {
            let cur = val_value(op);
            if index != first {
                seq.push(val_op(cur, index - first));
            }
            seq.push(val_op(count, 1));
            if index != last {
                seq.push(val_op(cur, last - index));
            }
        }
        // Step 3: put the new sequence in place of the old opcode.
        let oldlen = if xzero { 2 } else { 1 };
        let delta = seq.len() as isize - oldlen as isize;
        if delta > 0 && (s.len() as u64).saturating_add(delta as u64) > max_bytes {
            return promote(s, index, count);
        }
        match next {
            Some(_) => {
                s.splice(p..p + oldlen, seq);
            }
            None => {
                // The last opcode: what follows it is the end of the string (an XZERO cut short
                // by a corrupt string included: Redis keeps only the new length's bytes).
                let newlen = (s.len() as isize + delta) as usize;
                s.truncate(p);
                s.extend_from_slice(&seq);
                s.truncate(newlen);
            }
        }
    }
    // Step 4: merge adjacent VAL opcodes of the same value, scanning up to 5 opcodes.
    let mut end = s.len();
    let mut p = prev.unwrap_or(HDR_SIZE);
    let mut scan = 5;
    while p < end && scan > 0 {
        scan -= 1;
        let b = s[p];
        if is_xzero(b) {
            p += 2;
            continue;
        } else if is_zero(b) {
            p += 1;
            continue;
        }
        if p + 1 < end && is_val(s[p + 1]) {
            let (v1, v2) = (val_value(b), val_value(s[p + 1]));
            if v1 == v2 {
                let len = val_len(b) + val_len(s[p + 1]);
                if len <= SPARSE_VAL_MAX_LEN {
                    s[p + 1] = val_op(v1, len);
                    s.remove(p);
                    end -= 1;
                    continue;
                }
            }
        }
        p += 1;
    }
    invalidate_cache(s);
    Ok(true)
}

fn promote(s: &mut Vec<u8>, index: usize, count: u8) -> Result<bool, Corrupt> {
    *s = sparse_to_dense(s)?;
    dense_set(&mut s[HDR_SIZE..], index, count);
    Ok(true)
}

/// Adds an element; `Ok(true)` if a register changed. The cache is not invalidated here for
/// dense HLLs (PFADD does it once at the end, as Redis).
pub fn add(s: &mut Vec<u8>, ele: &[u8], max_bytes: u64) -> Result<bool, Corrupt> {
    let (index, count) = pat_len(ele);
    match s[4] {
        DENSE => Ok(dense_set(&mut s[HDR_SIZE..], index, count)),
        SPARSE => sparse_set(s, index, count, max_bytes),
        _ => Err(Corrupt),
    }
}

/// The register histogram of a dense or sparse HLL.
fn histogram(s: &[u8]) -> Result<[u32; 64], Corrupt> {
    let mut h = [0u32; 64];
    let regs = &s[HDR_SIZE..];
    if s[4] == DENSE {
        dense_each(regs, |_, r| h[r as usize] += 1);
        return Ok(h);
    }
    let (mut idx, mut p) = (0usize, 0usize);
    while p < regs.len() {
        let b = regs[p];
        if is_zero(b) {
            let n = zero_len(b);
            idx += n;
            h[0] = h[0].wrapping_add(n as u32);
            p += 1;
        } else if is_xzero(b) {
            let n = xzero_len(b, at(regs, p + 1));
            idx += n;
            h[0] = h[0].wrapping_add(n as u32);
            p += 2;
        } else {
            let n = val_len(b);
            idx += n;
            h[val_value(b) as usize] = h[val_value(b) as usize].wrapping_add(n as u32);
            p += 1;
        }
    }
    if idx != REGISTERS {
        return Err(Corrupt);
    }
    Ok(h)
}

/// The histogram of registers held one per byte (a PFCOUNT of several keys).
fn raw_histogram(max: &[u8; REGISTERS]) -> [u32; 64] {
    let mut h = [0u32; 64];
    for &r in max {
        h[(r & 63) as usize] += 1;
    }
    h
}

fn sigma(mut x: f64) -> f64 {
    if x == 1.0 {
        return f64::INFINITY;
    }
    let mut y = 1.0;
    let mut z = x;
    loop {
        x *= x;
        let zp = z;
        z += x * y;
        y += y;
        if zp == z {
            return z;
        }
    }
}

fn tau(mut x: f64) -> f64 {
    if x == 0.0 || x == 1.0 {
        return 0.0;
    }
    let mut y = 1.0;
    let mut z = 1.0 - x;
    loop {
        x = x.sqrt();
        let zp = z;
        y *= 0.5;
        z -= (1.0 - x).powf(2.0) * y;
        if zp == z {
            return z / 3.0;
        }
    }
}

/// Ertl's estimator over a register histogram (Redis's `hllCount`).
fn estimate(h: &[u32; 64]) -> u64 {
    let m = REGISTERS as f64;
    let mut z = m * tau((m - h[Q as usize + 1] as f64) / m);
    for j in (1..=Q as usize).rev() {
        z += h[j] as f64;
        z *= 0.5;
    }
    z += m * sigma(h[0] as f64 / m);
    // llroundl: halves away from zero.
    (ALPHA_INF * m * m / z).round() as u64
}

/// The estimated cardinality of one HLL.
pub fn count(s: &[u8]) -> Result<u64, Corrupt> {
    Ok(estimate(&histogram(s)?))
}

/// The estimated cardinality of registers held one per byte.
pub fn count_raw(max: &[u8; REGISTERS]) -> u64 {
    estimate(&raw_histogram(max))
}

/// `max[i] = max(max[i], register i)` over a valid HLL (Redis's `hllMerge`).
pub fn merge(max: &mut [u8; REGISTERS], s: &[u8]) -> Result<(), Corrupt> {
    let regs = &s[HDR_SIZE..];
    if s[4] == DENSE {
        dense_each(regs, |i, v| max[i] = max[i].max(v));
        return Ok(());
    }
    let (mut i, mut p) = (0usize, 0usize);
    while p < regs.len() {
        let b = regs[p];
        if is_zero(b) {
            i += zero_len(b);
            p += 1;
        } else if is_xzero(b) {
            i += xzero_len(b, at(regs, p + 1));
            p += 2;
        } else {
            let (len, val) = (val_len(b), val_value(b));
            if len + i > REGISTERS {
                break;
            }
            for m in &mut max[i..i + len] {
                if val > *m {
                    *m = val;
                }
            }
            i += len;
            p += 1;
        }
    }
    if i != REGISTERS {
        return Err(Corrupt);
    }
    Ok(())
}

/// PFDEBUG DECODE: the opcodes of a sparse HLL (`z:len`, `Z:len`, `v:val,len`).
pub fn decode(s: &[u8]) -> String {
    let mut out = String::new();
    let mut p = HDR_SIZE;
    while p < s.len() {
        let b = s[p];
        if is_zero(b) {
            out.push_str(&format!("z:{} ", zero_len(b)));
            p += 1;
        } else if is_xzero(b) {
            out.push_str(&format!("Z:{} ", xzero_len(b, at(s, p + 1))));
            p += 2;
        } else {
            out.push_str(&format!("v:{},{} ", val_value(b), val_len(b)));
            p += 1;
        }
    }
    out.trim_matches(' ').to_string()
}

/// PFSELFTEST: Redis's self test of the register access and of the estimate's error, with
/// dense and sparse HLLs agreeing. `Err` is the `TESTFAILED …` reply.
pub fn selftest(max_bytes: u64) -> Result<(), String> {
    let mut state: u64 = rand::random();
    let mut rnd = move || {
        // xorshift64*
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        (state.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 33) as u32
    };
    let mut dense = vec![0u8; DENSE_SIZE];
    let mut bytes = vec![0u8; REGISTERS];
    for _ in 0..1000 {
        for (i, b) in bytes.iter_mut().enumerate() {
            let r = (rnd() & REGISTER_MAX as u32) as u8;
            *b = r;
            dense_put(&mut dense[HDR_SIZE..], i, r);
        }
        for (i, b) in bytes.iter().enumerate() {
            let v = dense_get(&dense[HDR_SIZE..], i);
            if v != *b {
                return Err(format!("TESTFAILED Register {i} should be {b} but is {v}"));
            }
        }
    }
    dense[HDR_SIZE..].fill(0);
    dense[4] = DENSE;
    let mut sparse = new_sparse();
    let relerr = 1.04 / (REGISTERS as f64).sqrt();
    let mut checkpoint: u64 = 1;
    let seed = rnd() as u64 | ((rnd() as u64) << 32);
    for j in 1..=10_000_000u64 {
        let ele = (j ^ seed).to_le_bytes();
        let (index, cnt) = pat_len(&ele);
        dense_set(&mut dense[HDR_SIZE..], index, cnt);
        add(&mut sparse, &ele, max_bytes).map_err(|_| "TESTFAILED corrupted HLL".to_string())?;
        if j != checkpoint {
            continue;
        }
        if j < max_bytes / 2 && sparse[4] != SPARSE {
            return Err("TESTFAILED sparse encoding not used".into());
        }
        let d = count(&dense).unwrap_or(0);
        if count(&sparse) != Ok(d) {
            return Err("TESTFAILED dense/sparse disagree".into());
        }
        let abserr = (checkpoint as i64 - d as i64).unsigned_abs();
        let mut maxerr = (relerr * 6.0 * checkpoint as f64).ceil() as u64;
        if j == 10 {
            maxerr = 1;
        }
        if abserr > maxerr {
            return Err(format!(
                "TESTFAILED Too big error. card:{checkpoint} abserr:{abserr}"
            ));
        }
        checkpoint *= 10;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dense_each_reads_what_dense_get_reads() {
        let mut r = vec![0u8; DENSE_SIZE - HDR_SIZE];
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        for i in 0..REGISTERS {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            dense_put(&mut r, i, (x % 64) as u8);
        }
        let mut seen = 0;
        dense_each(&r, |i, v| {
            assert_eq!(v, dense_get(&r, i), "register {i}");
            seen += 1;
        });
        assert_eq!(seen, REGISTERS);
    }

    #[test]
    fn register_and_pattern_match_redis() {
        // redis-server 7.0.15: PFADD x <e>; PFDEBUG GETREG x shows one register set.
        for (e, want) in [
            (&b"a"[..], (12711, 2)),
            (b"", (5938, 2)),
            (b"hello world", (9399, 4)),
            (b"12345678", (10579, 3)),
            (b"123456789abcdefgh", (1958, 3)),
        ] {
            assert_eq!(pat_len(e), want, "{e:?}");
        }
    }

    #[test]
    fn empty_sparse_is_valid_and_counts_zero() {
        let s = new_sparse();
        assert!(is_valid(&s));
        assert_eq!(s.len(), 18);
        assert_eq!(count(&s), Ok(0));
        assert_eq!(decode(&s), "Z:16384");
        let d = sparse_to_dense(&s).unwrap();
        assert_eq!(d.len(), DENSE_SIZE);
        assert!(is_valid(&d));
        assert_eq!(count(&d), Ok(0));
    }

    #[test]
    fn dense_registers_round_trip() {
        let mut r = vec![0u8; DENSE_SIZE - HDR_SIZE];
        for i in 0..REGISTERS {
            dense_put(&mut r, i, (i % 64) as u8);
        }
        for i in 0..REGISTERS {
            assert_eq!(dense_get(&r, i), (i % 64) as u8, "{i}");
        }
    }

    #[test]
    fn sparse_and_dense_agree() {
        let mut s = new_sparse();
        let mut d = sparse_to_dense(&s).unwrap();
        for i in 0..2000u32 {
            let e = format!("ele{i}");
            let a = add(&mut s, e.as_bytes(), 3000).unwrap();
            let b = add(&mut d, e.as_bytes(), 3000).unwrap();
            assert_eq!(a, b, "{i}");
            if s[4] == SPARSE {
                assert_eq!(sparse_to_dense(&s).unwrap()[HDR_SIZE..], d[HDR_SIZE..]);
            }
            assert_eq!(count(&s), count(&d));
        }
        assert_eq!(s[4], DENSE, "promoted past 3000 bytes");
        let c = count(&s).unwrap();
        assert!((1900..2100).contains(&c), "{c}");
    }

    #[test]
    fn corrupt_sparse_is_detected() {
        let mut s = new_sparse();
        s.extend_from_slice(b"hello");
        assert_eq!(count(&s), Err(Corrupt));
        let mut max = [0u8; REGISTERS];
        assert_eq!(merge(&mut max, &s), Err(Corrupt));
        assert_eq!(sparse_to_dense(&s), Err(Corrupt));
        // Truncated: an XZERO cut in half.
        let mut t = new_sparse();
        t.pop();
        assert_eq!(count(&t), Err(Corrupt));
        let _ = add(&mut t, b"x", 3000);
    }
}
