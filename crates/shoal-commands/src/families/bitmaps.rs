//! Bitmap commands: SETBIT, GETBIT, BITCOUNT, BITPOS, BITOP, BITFIELD, BITFIELD_RO.
//!
//! A bitmap is a string (GET, SETRANGE and APPEND see the same bytes): bit 0 is the most
//! significant bit of the first byte, as in Redis. An integer-encoded string reads as its
//! decimal digits and is turned into raw bytes before a write. Writes grow the string with
//! zero bytes, never past `proto-max-bulk-len` (an offset beyond it is refused before
//! anything is allocated).

use std::collections::HashMap;

use shoal_resp::{Args, parse_i64};
use shoal_store::{NewValue, ValueRef};

use crate::ctx::{Ctx, Locked};
use crate::errors::{self, CmdError, CmdResult};
use crate::notify::{Change, GENERIC, STRING};
use crate::spec::{Group, Spec, cmd, flags::*};
use crate::util::{eq_ic, int};

const BIT_OFFSET: &str = "ERR bit offset is not an integer or out of range";
const BIT_VALUE: &str = "ERR bit is not an integer or out of range";
const BITPOS_BIT: &str = "ERR The bit argument must be 1 or 0.";
const BITFIELD_TYPE: &str = "ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is.";
const BITFIELD_RO_WRITE: &str = "ERR BITFIELD_RO only supports the GET subcommand";
const OVERFLOW_TYPE: &str = "ERR Invalid OVERFLOW type specified";
const BITOP_NOT_ONE: &str = "ERR BITOP NOT must be called with a single source key.";

fn max_bulk(ctx: &Ctx<'_>) -> u64 {
    ctx.shared.config.read().proto_max_bulk_len
}

/// A bit offset argument, as Redis's getBitOffsetFromArgument: with `hash_bits` (BITFIELD),
/// `#n` means n times the field's width. Negative offsets, and offsets whose byte would lie at
/// or past `proto-max-bulk-len`, are refused.
fn bit_offset(arg: &[u8], hash_bits: Option<u32>, limit: u64) -> Result<u64, CmdError> {
    let (digits, mul) = match hash_bits {
        Some(bits) if arg.len() > 1 && arg[0] == b'#' => (&arg[1..], bits as i64),
        _ => (arg, 1),
    };
    let n = parse_i64(digits)
        .and_then(|n| n.checked_mul(mul))
        .ok_or(BIT_OFFSET)?;
    if n < 0 || (n as u64 >> 3) >= limit {
        return Err(BIT_OFFSET.into());
    }
    Ok(n as u64)
}

/// Runs `f` on the bytes of a string value (an integer's decimal digits); WRONGTYPE otherwise.
fn with_bytes<R>(v: ValueRef<'_>, f: impl FnOnce(&[u8]) -> R) -> Result<R, CmdError> {
    match v {
        ValueRef::Str(b) => Ok(f(b)),
        ValueRef::Int(n) => {
            let mut buf = itoa::Buffer::new();
            Ok(f(buf.format(n).as_bytes()))
        }
        _ => Err(errors::WRONGTYPE.into()),
    }
}

/// The string at `found` (or a new one) as raw bytes at least `len` long, as Redis's
/// lookupStringForBitCommand: the entry's index and whether the key was created or grown.
fn grow_string(
    s: &mut Locked<'_, '_>,
    found: Option<usize>,
    len: usize,
) -> Result<(usize, bool), CmdError> {
    match found {
        Some(i) => {
            let cur = super::strings::str_len_as_raw(s, i)?;
            if cur < len {
                s.str_resize(i, len);
                Ok((i, true))
            } else {
                Ok((i, false))
            }
        }
        None => {
            let i = s.insert_new(NewValue::Str(b""), None);
            s.str_resize(i, len);
            Ok((i, true))
        }
    }
}

/// The byte at `i` of a string entry (0 past its end).
fn byte_at(s: &Locked<'_, '_>, i: usize, at: usize) -> u8 {
    match s.entry(i).value() {
        ValueRef::Str(b) => b.get(at).copied().unwrap_or(0),
        _ => 0,
    }
}

/// SETBIT key offset value — the bit's old value.
fn setbit(ctx: &mut Ctx<'_>, a: Args<'_>) -> CmdResult {
    let off = bit_offset(a.get(2), None, max_bulk(ctx))?;
    let on = parse_i64(a.get(3)).ok_or(BIT_VALUE)?;
    if on & !1 != 0 {
        return Err(BIT_VALUE.into());
    }
    let key = a.get(1);
    let byte = (off >> 3) as usize;
    let mask = 0x80u8 >> (off & 7);
    let mut s = ctx.ks.shard(key);
    let found = s.find();
    let (i, grown) = grow_string(&mut s, found, byte + 1)?;
    let old = byte_at(&s, i, byte) & mask != 0;
    // Redis counts (and replicates, and announces) a SETBIT only when something changed.
    let changed = grown || old != (on == 1);
    if changed && let Some(b) = s.str_mut(i).and_then(|b| b.get_mut(byte)) {
        if on == 1 {
            *b |= mask;
        } else {
            *b &= !mask;
        }
    }
    drop(s);
    if changed {
        ctx.notify_write(
            STRING,
            Some("setbit"),
            key,
            Change::created(found.is_none()),
        );
    } else {
        ctx.propagate_nothing();
        ctx.shared.stats.write_changes(0);
    }
    ctx.out.int(old as i64);
    Ok(())
}

/// GETBIT key offset
fn getbit(ctx: &mut Ctx<'_>, a: Args<'_>) -> CmdResult {
    let off = bit_offset(a.get(2), None, max_bulk(ctx))?;
    let byte = (off >> 3) as usize;
    let mask = 0x80u8 >> (off & 7);
    let bit = crate::util::read_value(ctx, a.get(1), |v| {
        with_bytes(v, |p| p.get(byte).is_some_and(|b| b & mask != 0))
    })?;
    ctx.out.int(bit.unwrap_or(false) as i64);
    Ok(())
}

/// Number of set bits in `p`, a word at a time (the compiler vectorises the loop).
pub fn popcount(p: &[u8]) -> u64 {
    let (words, rest) = p.as_chunks::<8>();
    let mut n = 0u64;
    for w in words {
        n += u64::from_ne_bytes(*w).count_ones() as u64;
    }
    for b in rest {
        n += b.count_ones() as u64;
    }
    n
}

/// Number of set bits between bit `bs` and bit `be` (both included) of `p` (in range).
fn count_bits(p: &[u8], bs: u64, be: u64) -> u64 {
    let (sb, eb) = ((bs >> 3) as usize, (be >> 3) as usize);
    let Some(range) = p.get(sb..=eb) else {
        return 0;
    };
    let mut n = popcount(range);
    // The bits of the edge bytes outside the range.
    let before = range[0] & !(0xffu8 >> (bs & 7));
    let after = range[range.len() - 1] & ((1u16 << (7 - (be & 7))) - 1) as u8;
    n -= before.count_ones() as u64 + after.count_ones() as u64;
    n
}

/// `BYTE` or `BIT` (true); a syntax error otherwise.
fn unit_is_bit(arg: &[u8]) -> Result<bool, CmdError> {
    if eq_ic(arg, "bit") {
        Ok(true)
    } else if eq_ic(arg, "byte") {
        Ok(false)
    } else {
        Err(errors::SYNTAX.into())
    }
}

/// Redis's range normalisation for BITCOUNT and BITPOS: negative indexes count from the end
/// of `totlen`, then both ends are clamped into it.
fn clamp_range(mut start: i64, mut end: i64, totlen: i64) -> (i64, i64) {
    if start < 0 {
        start += totlen;
    }
    if end < 0 {
        end += totlen;
    }
    start = start.max(0);
    end = end.max(0);
    if end >= totlen {
        end = totlen - 1;
    }
    (start, end)
}

/// BITCOUNT key [start end [BYTE|BIT]]
fn bitcount(ctx: &mut Ctx<'_>, a: Args<'_>) -> CmdResult {
    // As Redis 7.0, the key is looked up before the range is parsed: a missing key counts 0
    // whatever the arguments.
    let n = crate::util::read_value(ctx, a.get(1), |v| with_bytes(v, |p| bitcount_of(p, &a)))?;
    ctx.out.int(match n {
        Some(r) => r? as i64,
        None => 0,
    });
    Ok(())
}

fn bitcount_of(p: &[u8], a: &Args<'_>) -> Result<u64, CmdError> {
    let strlen = p.len() as i64;
    match a.len() {
        2 => Ok(popcount(p)),
        4 | 5 => {
            let (start, end) = (int(a.get(2))?, int(a.get(3))?);
            // Before the unit is parsed, as Redis 7.0.
            if start < 0 && end < 0 && start > end {
                return Ok(0);
            }
            let isbit = a.len() == 5 && unit_is_bit(a.get(4))?;
            let totlen = if isbit { strlen << 3 } else { strlen };
            let (start, end) = clamp_range(start, end, totlen);
            if start > end {
                Ok(0)
            } else if isbit {
                Ok(count_bits(p, start as u64, end as u64))
            } else {
                Ok(popcount(&p[start as usize..=end as usize]))
            }
        }
        _ => Err(errors::SYNTAX.into()),
    }
}

/// The first bit equal to `bit` between bits `bs` and `be` (both included) of `p`.
fn first_bit(p: &[u8], bs: u64, be: u64, bit: bool) -> Option<u64> {
    let (sb, eb) = ((bs >> 3) as usize, (be >> 3) as usize);
    // Looking for a 0 is looking for a 1 in the inverted byte.
    let flip = if bit { 0u8 } else { 0xff };
    let edge = |b: usize| -> u8 {
        let mut v = p.get(b).copied().unwrap_or(0) ^ flip;
        if b == sb {
            v &= 0xff >> (bs & 7);
        }
        if b == eb {
            v &= 0xffu8 << (7 - (be & 7));
        }
        v
    };
    let hit = |b: usize, v: u8| Some(b as u64 * 8 + v.leading_zeros() as u64);
    let v = edge(sb);
    if v != 0 {
        return hit(sb, v);
    }
    if eb == sb {
        return None;
    }
    // The whole bytes between the edges: skip those with nothing to find, a word at a time.
    let mid = p.get(sb + 1..eb).unwrap_or(&[]);
    // 64-byte blocks first (an OR over a block, which the compiler vectorizes), then words.
    let (blocks, _) = mid.as_chunks::<64>();
    let block = blocks
        .iter()
        .position(|b| b.iter().fold(0u8, |acc, &x| acc | (x ^ flip)) != 0)
        .unwrap_or(blocks.len())
        * 64;
    let skip = u64::from_ne_bytes([flip; 8]);
    let (words, _) = mid[block..].as_chunks::<8>();
    let from = block
        + words
            .iter()
            .position(|w| u64::from_ne_bytes(*w) != skip)
            .unwrap_or(words.len())
            * 8;
    if let Some(k) = mid[from..].iter().position(|&b| b != flip) {
        let b = sb + 1 + from + k;
        return hit(b, p[b] ^ flip);
    }
    let v = edge(eb);
    if v != 0 {
        return hit(eb, v);
    }
    None
}

/// BITPOS key bit [start [end [BYTE|BIT]]]
fn bitpos(ctx: &mut Ctx<'_>, a: Args<'_>) -> CmdResult {
    let bit = int(a.get(2))?;
    if bit != 0 && bit != 1 {
        return Err(BITPOS_BIT.into());
    }
    let bit = bit == 1;
    // A missing key is an infinite run of zeros (looked up before the range is parsed).
    let r = crate::util::read_value(ctx, a.get(1), |v| with_bytes(v, |p| bitpos_of(p, bit, &a)))?;
    ctx.out.int(match r {
        Some(r) => r?,
        None if bit => -1,
        None => 0,
    });
    Ok(())
}

fn bitpos_of(p: &[u8], bit: bool, a: &Args<'_>) -> Result<i64, CmdError> {
    let strlen = p.len() as i64;
    let mut end_given = false;
    // The bit range to search.
    let (bs, be) = match a.len() {
        3 => (0, strlen * 8 - 1),
        4..=6 => {
            let start = int(a.get(3))?;
            let isbit = a.len() == 6 && unit_is_bit(a.get(5))?;
            let end = if a.len() >= 5 {
                end_given = true;
                int(a.get(4))?
            } else {
                strlen - 1
            };
            let totlen = if isbit { strlen << 3 } else { strlen };
            let (start, end) = clamp_range(start, end, totlen);
            if start > end {
                return Ok(-1);
            }
            if isbit {
                (start, end)
            } else {
                (start * 8, end * 8 + 7)
            }
        }
        _ => return Err(errors::SYNTAX.into()),
    };
    if bs > be {
        return Ok(-1);
    }
    Ok(match first_bit(p, bs as u64, be as u64, bit) {
        Some(pos) => pos as i64,
        // Without an explicit end the string counts as padded with zeros on the right.
        None if !bit && !end_given => be + 1,
        None => -1,
    })
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum BitOp {
    And,
    Or,
    Xor,
    Not,
}

/// Folds one source into the result so far (the first source, `first`, is copied).
fn fold(res: &mut Vec<u8>, src: &[u8], op: BitOp, first: bool) {
    if first {
        res.extend_from_slice(src);
        if op == BitOp::Not {
            for b in res.iter_mut() {
                *b = !*b;
            }
        }
        return;
    }
    let common = res.len().min(src.len());
    match op {
        BitOp::And => {
            for (r, s) in res[..common].iter_mut().zip(&src[..common]) {
                *r &= *s;
            }
            // A shorter source is padded with zeros.
            for r in &mut res[common..] {
                *r = 0;
            }
            if src.len() > res.len() {
                res.resize(src.len(), 0);
            }
        }
        BitOp::Or | BitOp::Xor => {
            for (r, s) in res[..common].iter_mut().zip(&src[..common]) {
                if op == BitOp::Or {
                    *r |= *s;
                } else {
                    *r ^= *s;
                }
            }
            if src.len() > res.len() {
                res.extend_from_slice(&src[common..]);
            }
        }
        BitOp::Not => {}
    }
}

/// BITOP AND|OR|XOR|NOT destkey key [key ...] — the length of the result.
fn bitop(ctx: &mut Ctx<'_>, a: Args<'_>) -> CmdResult {
    let name = a.get(1);
    let op = if eq_ic(name, "and") {
        BitOp::And
    } else if eq_ic(name, "or") {
        BitOp::Or
    } else if eq_ic(name, "xor") {
        BitOp::Xor
    } else if eq_ic(name, "not") {
        BitOp::Not
    } else {
        return Err(errors::SYNTAX.into());
    };
    if op == BitOp::Not && a.len() != 4 {
        return Err(BITOP_NOT_ONE.into());
    }
    let mut res: Vec<u8> = Vec::new();
    for j in 3..a.len() {
        let key = a.get(j);
        let mut s = ctx.ks.shard(key);
        match s.find() {
            Some(i) => {
                with_bytes(s.entry(i).value(), |src| fold(&mut res, src, op, j == 3))?;
                drop(s);
                ctx.hit(true);
            }
            None => {
                drop(s);
                ctx.hit(false);
                ctx.notify_keymiss(key);
                fold(&mut res, &[], op, j == 3);
            }
        }
    }
    let dest = a.get(2);
    let mut s = ctx.ks.shard(dest);
    if !res.is_empty() {
        // Stored as raw bytes, replacing any value and TTL.
        let replaced = s.upsert(NewValue::Str(&res), None);
        drop(s);
        ctx.notify_write(STRING, Some("set"), dest, Change::created(!replaced));
    } else if s.remove().is_some() {
        drop(s);
        ctx.notify(GENERIC, "del", dest);
    } else {
        drop(s);
        ctx.propagate_nothing();
    }
    ctx.out.int(res.len() as i64);
    Ok(())
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum FieldOp {
    Get,
    Set,
    Incr,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Overflow {
    Wrap,
    Sat,
    Fail,
}

#[derive(Clone, Copy)]
struct Field {
    op: FieldOp,
    offset: u64,
    bits: u32,
    signed: bool,
    value: i64,
    overflow: Overflow,
}

/// `i<bits>` (1..=64) or `u<bits>` (1..=63).
fn field_type(arg: &[u8]) -> Result<(bool, u32), CmdError> {
    let signed = match arg.first() {
        Some(b'i') => true,
        Some(b'u') => false,
        _ => return Err(BITFIELD_TYPE.into()),
    };
    match parse_i64(&arg[1..]) {
        Some(n) if n >= 1 && n <= if signed { 64 } else { 63 } => Ok((signed, n as u32)),
        _ => Err(BITFIELD_TYPE.into()),
    }
}

/// Reads `bits` bits from bit `offset` through `byte`, most significant first.
fn get_unsigned(byte: impl Fn(usize) -> u8, offset: u64, bits: u32) -> u64 {
    let mut v = 0u64;
    for k in 0..bits as u64 {
        let o = offset + k;
        let b = byte((o >> 3) as usize);
        v = (v << 1) | ((b >> (7 - (o & 7))) & 1) as u64;
    }
    v
}

fn sign_extend(v: u64, bits: u32) -> i64 {
    if bits < 64 && v & (1u64 << (bits - 1)) != 0 {
        (v | (u64::MAX << bits)) as i64
    } else {
        v as i64
    }
}

/// Redis's checkUnsignedBitfieldOverflow: whether `value + incr` leaves the field's range, and
/// the value to store instead (wrapped or saturated; unused for FAIL).
fn unsigned_overflow(value: u64, incr: i64, bits: u32, ow: Overflow) -> Option<u64> {
    let max = if bits == 64 {
        u64::MAX
    } else {
        (1u64 << bits) - 1
    };
    let maxincr = max.wrapping_sub(value) as i64;
    let minincr = (value as i64).wrapping_neg();
    let wrap = || value.wrapping_add(incr as u64) & !(u64::MAX << bits);
    if value > max || (incr > 0 && incr > maxincr) {
        Some(match ow {
            Overflow::Wrap => wrap(),
            _ => max,
        })
    } else if incr < 0 && incr < minincr {
        Some(match ow {
            Overflow::Wrap => wrap(),
            _ => 0,
        })
    } else {
        None
    }
}

/// Redis's checkSignedBitfieldOverflow, as [`unsigned_overflow`].
fn signed_overflow(value: i64, incr: i64, bits: u32, ow: Overflow) -> Option<i64> {
    let max = if bits == 64 {
        i64::MAX
    } else {
        (1i64 << (bits - 1)) - 1
    };
    let min = -max - 1;
    let maxincr = (max as u64).wrapping_sub(value as u64) as i64;
    let minincr = min.wrapping_sub(value);
    let wrap = || {
        let mut c = (value as u64).wrapping_add(incr as u64);
        if bits < 64 {
            let mask = u64::MAX << bits;
            if c & (1u64 << (bits - 1)) != 0 {
                c |= mask;
            } else {
                c &= !mask;
            }
        }
        c as i64
    };
    if value > max || (bits != 64 && incr > maxincr) || (value >= 0 && incr > 0 && incr > maxincr) {
        Some(match ow {
            Overflow::Wrap => wrap(),
            _ => max,
        })
    } else if value < min
        || (bits != 64 && incr < minincr)
        || (value < 0 && incr < 0 && incr < minincr)
    {
        Some(match ow {
            Overflow::Wrap => wrap(),
            _ => min,
        })
    } else {
        None
    }
}

/// The bytes BITFIELD writes, over the stored string: changes land in a small map and reach
/// the value once all the operations ran (only if one changed something).
struct Overlay<'p> {
    base: &'p [u8],
    changed: HashMap<usize, u8>,
}

impl Overlay<'_> {
    fn byte(&self, at: usize) -> u8 {
        match self.changed.get(&at) {
            Some(b) => *b,
            None => self.base.get(at).copied().unwrap_or(0),
        }
    }

    fn set(&mut self, offset: u64, bits: u32, v: u64) {
        for k in 0..bits as u64 {
            let o = offset + k;
            let at = (o >> 3) as usize;
            let mask = 0x80u8 >> (o & 7);
            let mut b = self.byte(at);
            if (v >> (bits as u64 - 1 - k)) & 1 == 1 {
                b |= mask;
            } else {
                b &= !mask;
            }
            self.changed.insert(at, b);
        }
    }
}

/// BITFIELD key [GET type offset] [SET type offset value] [INCRBY type offset increment]
/// [OVERFLOW WRAP|SAT|FAIL] ...
fn bitfield(ctx: &mut Ctx<'_>, a: Args<'_>) -> CmdResult {
    bitfield_common(ctx, a, false)
}

/// BITFIELD_RO key [GET type offset ...]
fn bitfield_ro(ctx: &mut Ctx<'_>, a: Args<'_>) -> CmdResult {
    bitfield_common(ctx, a, true)
}

fn parse_fields(a: &Args<'_>, limit: u64) -> Result<Vec<Field>, CmdError> {
    let mut fields = Vec::new();
    let mut overflow = Overflow::Wrap;
    let mut j = 2;
    while j < a.len() {
        let more = a.len() - j - 1;
        let sub = a.get(j);
        let op = if eq_ic(sub, "get") && more >= 2 {
            FieldOp::Get
        } else if eq_ic(sub, "set") && more >= 3 {
            FieldOp::Set
        } else if eq_ic(sub, "incrby") && more >= 3 {
            FieldOp::Incr
        } else if eq_ic(sub, "overflow") && more >= 1 {
            let t = a.get(j + 1);
            overflow = if eq_ic(t, "wrap") {
                Overflow::Wrap
            } else if eq_ic(t, "sat") {
                Overflow::Sat
            } else if eq_ic(t, "fail") {
                Overflow::Fail
            } else {
                return Err(OVERFLOW_TYPE.into());
            };
            j += 2;
            continue;
        } else {
            return Err(errors::SYNTAX.into());
        };
        let (signed, bits) = field_type(a.get(j + 1))?;
        let offset = bit_offset(a.get(j + 2), Some(bits), limit)?;
        let value = if op == FieldOp::Get {
            0
        } else {
            int(a.get(j + 3))?
        };
        fields.push(Field {
            op,
            offset,
            bits,
            signed,
            value,
            overflow,
        });
        j += if op == FieldOp::Get { 3 } else { 4 };
    }
    Ok(fields)
}

fn bitfield_common(ctx: &mut Ctx<'_>, a: Args<'_>, ro: bool) -> CmdResult {
    let fields = parse_fields(&a, max_bulk(ctx))?;
    let key = a.get(1);
    let highest = fields
        .iter()
        .filter(|f| f.op != FieldOp::Get)
        .map(|f| f.offset + f.bits as u64 - 1)
        .max();
    let Some(highest) = highest else {
        // GETs only: a read, zero past the end of the string (or of a missing key).
        let vals =
            crate::util::read_value(ctx, key, |v| with_bytes(v, |p| read_fields(p, &fields)))?
                .unwrap_or_else(|| read_fields(&[], &fields));
        ctx.out.array(vals.len());
        for v in vals {
            ctx.out.int(v);
        }
        ctx.propagate_nothing();
        if !ro {
            ctx.shared.stats.write_changes(0);
        }
        return Ok(());
    };
    if ro {
        return Err(BITFIELD_RO_WRITE.into());
    }
    let mut s = ctx.ks.shard(key);
    let found = s.find();
    let (i, grown) = grow_string(&mut s, found, (highest >> 3) as usize + 1)?;
    let mut replies: Vec<Option<i64>> = Vec::with_capacity(fields.len());
    let mut changes = 0usize;
    let changed = {
        let base = match s.entry(i).value() {
            ValueRef::Str(b) => b,
            _ => &[][..],
        };
        let mut ov = Overlay {
            base,
            changed: HashMap::new(),
        };
        for f in &fields {
            let old = get_unsigned(|at| ov.byte(at), f.offset, f.bits);
            if f.op == FieldOp::Get {
                replies.push(Some(if f.signed {
                    sign_extend(old, f.bits)
                } else {
                    old as i64
                }));
                continue;
            }
            // (reply, new value) or None when OVERFLOW FAIL refuses the operation.
            let done: Option<(i64, u64)> = if f.signed {
                let oldval = sign_extend(old, f.bits);
                let (newval, reply, over) = match f.op {
                    FieldOp::Incr => {
                        let over = signed_overflow(oldval, f.value, f.bits, f.overflow);
                        let n = over.unwrap_or(oldval.wrapping_add(f.value));
                        (n, n, over.is_some())
                    }
                    _ => {
                        let over = signed_overflow(f.value, 0, f.bits, f.overflow);
                        (over.unwrap_or(f.value), oldval, over.is_some())
                    }
                };
                (!(over && f.overflow == Overflow::Fail)).then_some((reply, newval as u64))
            } else {
                let (newval, reply, over) = match f.op {
                    FieldOp::Incr => {
                        let over = unsigned_overflow(old, f.value, f.bits, f.overflow);
                        let n = over.unwrap_or(old.wrapping_add(f.value as u64));
                        (n, n as i64, over.is_some())
                    }
                    _ => {
                        let v = f.value as u64;
                        let over = unsigned_overflow(v, 0, f.bits, f.overflow);
                        (over.unwrap_or(v), old as i64, over.is_some())
                    }
                };
                (!(over && f.overflow == Overflow::Fail)).then_some((reply, newval))
            };
            match done {
                Some((reply, newval)) => {
                    replies.push(Some(reply));
                    ov.set(f.offset, f.bits, newval);
                    let mask = if f.bits == 64 {
                        u64::MAX
                    } else {
                        (1u64 << f.bits) - 1
                    };
                    if grown || old != newval & mask {
                        changes += 1;
                    }
                }
                None => replies.push(None),
            }
        }
        let mut changed: Vec<(usize, u8)> = ov
            .changed
            .into_iter()
            .filter(|&(at, b)| base.get(at).copied().unwrap_or(0) != b)
            .collect();
        changed.sort_unstable();
        changed
    };
    if !changed.is_empty()
        && let Some(b) = s.str_mut(i)
    {
        for (at, v) in changed {
            if let Some(x) = b.get_mut(at) {
                *x = v;
            }
        }
    }
    drop(s);
    // Redis announces and counts only operations that changed the value (or grew it); a key
    // created or grown by operations that all failed still reaches replicas, so they agree.
    let event = (changes > 0).then_some("setbit");
    ctx.notify_write(STRING, event, key, Change::created(found.is_none()));
    if changes == 0 && !grown {
        ctx.propagate_nothing();
    }
    ctx.shared.stats.write_changes(changes as u64);
    ctx.out.array(replies.len());
    for r in replies {
        match r {
            Some(v) => ctx.out.int(v),
            None => ctx.out.null(),
        }
    }
    Ok(())
}

/// The GET-only form: each field read with zeros past the end of `p`.
fn read_fields(p: &[u8], fields: &[Field]) -> Vec<i64> {
    let byte = |at: usize| p.get(at).copied().unwrap_or(0);
    fields
        .iter()
        .map(|f| {
            let v = get_unsigned(byte, f.offset, f.bits);
            if f.signed {
                sign_extend(v, f.bits)
            } else {
                v as i64
            }
        })
        .collect()
}

const W: u32 = WRITE | DENYOOM;
const K1: (i32, i32, i32) = (1, 1, 1);

pub static COMMANDS: &[Spec] = &[
    cmd(
        "setbit",
        4,
        W,
        K1,
        Group::Bitmap,
        "2.2.0",
        "Sets or clears the bit at offset of the string value. Creates the key if it doesn't exist.",
        setbit,
    ),
    cmd(
        "getbit",
        3,
        READONLY | FAST,
        K1,
        Group::Bitmap,
        "2.2.0",
        "Returns a bit value by offset.",
        getbit,
    ),
    cmd(
        "bitcount",
        -2,
        READONLY,
        K1,
        Group::Bitmap,
        "2.6.0",
        "Counts the number of set bits (population counting) in a string.",
        bitcount,
    ),
    cmd(
        "bitpos",
        -3,
        READONLY,
        K1,
        Group::Bitmap,
        "2.8.7",
        "Finds the first set (1) or clear (0) bit in a string.",
        bitpos,
    ),
    cmd(
        "bitop",
        -4,
        W,
        (2, -1, 1),
        Group::Bitmap,
        "2.6.0",
        "Performs bitwise operations on multiple strings, and stores the result.",
        bitop,
    ),
    cmd(
        "bitfield",
        -2,
        W,
        K1,
        Group::Bitmap,
        "3.2.0",
        "Performs arbitrary bitfield integer operations on strings.",
        bitfield,
    ),
    cmd(
        "bitfield_ro",
        -2,
        READONLY | FAST,
        K1,
        Group::Bitmap,
        "6.0.0",
        "Performs arbitrary read-only bitfield integer operations on strings.",
        bitfield_ro,
    ),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn popcount_matches_a_bit_loop() {
        let p: Vec<u8> = (0..1000u32).map(|i| (i * 37 % 251) as u8).collect();
        for len in [0, 1, 7, 8, 9, 31, 32, 33, 1000] {
            let slow: u64 = p[..len].iter().map(|b| b.count_ones() as u64).sum();
            assert_eq!(popcount(&p[..len]), slow, "{len}");
        }
    }

    #[test]
    fn count_bits_trims_edge_bytes() {
        let p = [0xffu8, 0xff, 0xff];
        assert_eq!(count_bits(&p, 0, 23), 24);
        assert_eq!(count_bits(&p, 1, 22), 22);
        assert_eq!(count_bits(&p, 5, 5), 1);
        assert_eq!(count_bits(&p, 7, 8), 2);
        assert_eq!(count_bits(&[0b1010_0000], 0, 2), 2);
    }

    #[test]
    fn first_bit_scans_whole_blocks_and_their_edges() {
        // 1000 bytes: the middle is scanned 64 bytes at a time, then by words, then bytes.
        for at in [1usize, 63, 64, 65, 127, 128, 500, 960, 991, 998, 999] {
            for bit in [true, false] {
                let fill = if bit { 0u8 } else { 0xff };
                let mut p = vec![fill; 1000];
                p[at] ^= 0x08;
                let want = at as u64 * 8 + 4;
                assert_eq!(
                    first_bit(&p, 0, 7999, bit),
                    Some(want),
                    "byte {at} bit {bit}"
                );
                assert_eq!(first_bit(&p, want + 1, 7999, bit), None, "after byte {at}");
            }
        }
    }

    #[test]
    fn first_bit_finds_ones_and_zeros() {
        let p = [0u8; 40];
        assert_eq!(first_bit(&p, 0, 319, true), None);
        assert_eq!(first_bit(&p, 3, 319, false), Some(3));
        let mut q = [0xffu8; 40];
        q[33] = 0xfe;
        assert_eq!(first_bit(&q, 0, 319, false), Some(33 * 8 + 7));
        assert_eq!(first_bit(&q, 0, 33 * 8 + 6, false), None);
        let mut r = [0u8; 40];
        r[20] = 0x10;
        assert_eq!(first_bit(&r, 9, 300, true), Some(163));
        assert_eq!(first_bit(&r, 164, 300, true), None);
    }

    #[test]
    fn overflow_rules_follow_redis() {
        // u8 255 + 1: wraps to 0, saturates at 255.
        assert_eq!(unsigned_overflow(255, 1, 8, Overflow::Wrap), Some(0));
        assert_eq!(unsigned_overflow(255, 1, 8, Overflow::Sat), Some(255));
        assert_eq!(unsigned_overflow(0, -1, 8, Overflow::Sat), Some(0));
        assert_eq!(unsigned_overflow(0, -1, 8, Overflow::Wrap), Some(255));
        assert_eq!(unsigned_overflow(10, -5, 8, Overflow::Wrap), None);
        // SET u8 -1 (value as u64): out of range, saturates at the maximum.
        assert_eq!(unsigned_overflow(u64::MAX, 0, 8, Overflow::Sat), Some(255));
        assert_eq!(signed_overflow(127, 1, 8, Overflow::Wrap), Some(-128));
        assert_eq!(signed_overflow(127, 1, 8, Overflow::Sat), Some(127));
        assert_eq!(signed_overflow(-128, -1, 8, Overflow::Sat), Some(-128));
        assert_eq!(signed_overflow(-128, -1, 8, Overflow::Wrap), Some(127));
        assert_eq!(
            signed_overflow(i64::MAX, 1, 64, Overflow::Wrap),
            Some(i64::MIN)
        );
        assert_eq!(
            signed_overflow(i64::MAX, 1, 64, Overflow::Sat),
            Some(i64::MAX)
        );
        assert_eq!(signed_overflow(5, 3, 64, Overflow::Sat), None);
        assert_eq!(sign_extend(0b1111, 4), -1);
        assert_eq!(sign_extend(0b0111, 4), 7);
    }

    #[test]
    fn offsets_are_bounded() {
        assert_eq!(bit_offset(b"7", None, 1), Ok(7));
        assert!(bit_offset(b"8", None, 1).is_err());
        assert!(bit_offset(b"-1", None, 1 << 29).is_err());
        assert!(bit_offset(b"#3", None, 1 << 29).is_err());
        assert_eq!(bit_offset(b"#3", Some(8), 1 << 29), Ok(24));
        assert!(bit_offset(b"#", Some(8), 1 << 29).is_err());
        assert!(bit_offset(b"#9223372036854775807", Some(8), 1 << 29).is_err());
    }
}
