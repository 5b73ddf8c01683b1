//! `struct`: Roberto Ierusalimschy's struct library 0.2, as Redis 7.0 ships
//! it (with Redis's fixes: "integral size overflow", the 32-byte limit on
//! `i`/`I` sizes, "offset must be 1 or greater").
//!
//! Formats: `>` big endian, `<` little endian, `![n]` alignment, `x` padding,
//! `b/B` `h/H` `l/L` `T` `i[n]/I[n]` integers, `f` float, `d` double,
//! `s` zero-terminated string, `c[n]` fixed string, `' '` ignored. Sizes are
//! those of x86-64 (long and size_t are 8 bytes), native order little endian.
//!
//! Difference from the C original: where C did unchecked pointer arithmetic
//! (an offset near 2^64, or a `c0` length taken from a negative number) and
//! could read outside the data, this answers "data string too short".

use super::{Answer, Args, MAX_C_STACK, Ret, add, as_number, c_cast_long, one};
use mlua::{Lua, Table, Value};

/// Largest size of an `i`/`I` integer.
const MAXINTSIZE: usize = 32;
/// Default alignment for `!` (that of a double on x86-64).
const MAXALIGN: usize = 8;

/// The function table.
pub(super) fn create(lua: &Lua) -> mlua::Result<Table> {
    let t = lua.create_table()?;
    add(lua, &t, "pack", pack)?;
    add(lua, &t, "unpack", unpack)?;
    add(lua, &t, "size", size)?;
    Ok(t)
}

/// Endianness and alignment, changed by control options as the format goes.
struct Header {
    little: bool,
    align: usize,
}

impl Default for Header {
    fn default() -> Self {
        Header {
            little: true,
            align: 1,
        }
    }
}

/// A cursor over the format string.
struct Fmt<'a> {
    s: &'a [u8],
    at: usize,
}

impl Fmt<'_> {
    fn next_opt(&mut self) -> Option<u8> {
        let c = *self.s.get(self.at)?;
        self.at += 1;
        Some(c)
    }

    /// A decimal count after an option, or `df`; errors past INT_MAX.
    fn num(&mut self, df: usize) -> Answer<usize> {
        if !self.s.get(self.at).is_some_and(u8::is_ascii_digit) {
            return Ok(df);
        }
        let mut a: i32 = 0;
        while let Some(&c) = self.s.get(self.at).filter(|c| c.is_ascii_digit()) {
            let d = i32::from(c - b'0');
            if a > i32::MAX / 10 || a * 10 > i32::MAX - d {
                return Err("integral size overflow".into());
            }
            a = a * 10 + d;
            self.at += 1;
        }
        Ok(a as usize)
    }
}

/// How many bytes an option takes (0 for options that are not values).
fn optsize(opt: u8, fmt: &mut Fmt) -> Answer<usize> {
    Ok(match opt {
        b'B' | b'b' | b'x' => 1,
        b'H' | b'h' => 2,
        b'L' | b'l' | b'T' | b'd' => 8,
        b'f' => 4,
        b'c' => fmt.num(1)?,
        b'i' | b'I' => {
            let sz = fmt.num(4)?;
            if sz > MAXINTSIZE {
                return Err(
                    format!("integral size {sz} is larger than limit of {MAXINTSIZE}").into(),
                );
            }
            sz
        }
        _ => 0,
    })
}

/// Padding needed to align an item of `size` bytes at offset `len`.
fn gettoalign(len: usize, h: &Header, opt: u8, size: usize) -> usize {
    if size == 0 || opt == b'c' {
        return 0;
    }
    let size = size.min(h.align);
    (size.wrapping_sub(len & (size - 1))) & (size - 1)
}

/// Endianness, alignment and blanks; anything else is not an option.
fn controloptions(a: &Args, opt: u8, fmt: &mut Fmt, h: &mut Header) -> Answer<()> {
    match opt {
        b' ' => {}
        b'>' => h.little = false,
        b'<' => h.little = true,
        b'!' => {
            let n = fmt.num(MAXALIGN)?;
            if !n.is_power_of_two() {
                return Err(format!("alignment {n} is not a power of 2").into());
            }
            h.align = n;
        }
        _ => {
            let mut msg = b"invalid format option '".to_vec();
            msg.push(opt);
            msg.push(b'\'');
            return Err(a.arg_error(1, msg));
        }
    }
    Ok(())
}

/// 2^63.
const TWO_63: f64 = 9_223_372_036_854_775_808.0;

/// C's `(unsigned long)d` on x86-64 as gcc compiles it.
fn c_ulong(d: f64) -> u64 {
    if d >= TWO_63 {
        (c_cast_long(d - TWO_63) as u64) ^ (1 << 63)
    } else {
        c_cast_long(d) as u64
    }
}

fn pack(a: &Args) -> Answer<Ret> {
    let fmt_s = a.check_string(1)?;
    // C pushes a nil after the arguments, so one missing value reads as nil.
    let a = &a.with_nil_after();
    let fmt_b = fmt_s.as_bytes();
    let mut fmt = Fmt { s: &fmt_b, at: 0 };
    let mut h = Header::default();
    let mut arg = 2;
    let mut out: Vec<u8> = Vec::new();
    while let Some(opt) = fmt.next_opt() {
        let mut size = optsize(opt, &mut fmt)?;
        let toalign = gettoalign(out.len(), &h, opt, size);
        out.resize(out.len() + toalign, 0);
        match opt {
            b'b' | b'B' | b'h' | b'H' | b'l' | b'L' | b'T' | b'i' | b'I' => {
                let n = a.check_number(arg)?;
                arg += 1;
                let value = if n < 0.0 {
                    c_cast_long(n) as u64
                } else {
                    c_ulong(n)
                };
                let mut bytes = [0u8; MAXINTSIZE];
                for (i, b) in bytes.iter_mut().take(size).enumerate() {
                    *b = value.checked_shr(8 * i as u32).unwrap_or(0) as u8;
                }
                let bytes = &mut bytes[..size];
                if !h.little {
                    bytes.reverse();
                }
                out.extend_from_slice(bytes);
            }
            b'x' => out.push(0),
            b'f' => {
                let f = a.check_number(arg)? as f32;
                arg += 1;
                push_endian(&mut out, &f.to_le_bytes(), h.little);
            }
            b'd' => {
                let d = a.check_number(arg)?;
                arg += 1;
                push_endian(&mut out, &d.to_le_bytes(), h.little);
            }
            b'c' | b's' => {
                let s = a.check_string(arg)?;
                arg += 1;
                let s = s.as_bytes();
                if size == 0 {
                    size = s.len();
                }
                if s.len() < size {
                    // C names the argument after the string (its index was
                    // already advanced).
                    return Err(a.arg_error(arg as i64, "string too short"));
                }
                out.extend_from_slice(&s[..size]);
                if opt == b's' {
                    out.push(0);
                }
            }
            _ => controloptions(a, opt, &mut fmt, &mut h)?,
        }
    }
    Ok(one(Value::String(a.lua.create_string(&out)?)))
}

fn push_endian(out: &mut Vec<u8>, le: &[u8], little: bool) {
    if little {
        out.extend_from_slice(le);
    } else {
        out.extend(le.iter().rev());
    }
}

/// An integer of `size` bytes, as C reads it into an unsigned long.
fn getinteger(buf: &[u8], little: bool, signed: bool, size: usize) -> f64 {
    let mut l: u64 = 0;
    let mut add = |b: u8| l = (l << 8) | u64::from(b);
    if little {
        buf.iter().rev().for_each(|&b| add(b));
    } else {
        buf.iter().for_each(|&b| add(b));
    }
    if !signed {
        return l as f64;
    }
    // The C shift count is masked to 6 bits by the CPU.
    let mask = u64::MAX.wrapping_shl((size as u32).wrapping_mul(8).wrapping_sub(1));
    if l & mask != 0 {
        l |= mask;
    }
    l as i64 as f64
}

fn unpack(a: &Args) -> Answer<Ret> {
    let fmt_s = a.check_string(1)?;
    let data_s = a.check_string(2)?;
    let offset = a.opt_integer(3, 1)?;
    if offset == 0 {
        return Err(a.arg_error(3, "offset must be 1 or greater"));
    }
    let fmt_b = fmt_s.as_bytes();
    let data = data_s.as_bytes();
    let ld = data.len();
    let mut fmt = Fmt { s: &fmt_b, at: 0 };
    let mut h = Header::default();
    // Offsets are unsigned in C: a negative one is a huge position.
    let mut pos = Some((offset as u64).wrapping_sub(1) as usize);
    // The C stack holds the format and the data, then the results; the
    // results go to a table (see `Ret::Seq`), the last one kept at hand.
    let results = a.lua.create_table()?;
    let mut count = 0usize;
    let mut last: Option<Value> = None;
    let push = |v: Value, count: &mut usize, last: &mut Option<Value>| -> mlua::Result<()> {
        *count += 1;
        results.raw_set(*count, v.clone())?;
        *last = Some(v);
        Ok(())
    };
    let too_short = || a.arg_error(2, "data string too short");
    while let Some(opt) = fmt.next_opt() {
        let mut size = optsize(opt, &mut fmt)?;
        let start = pos
            .and_then(|p| p.checked_add(gettoalign(p, &h, opt, size)))
            .ok_or_else(too_short)?;
        if start.checked_add(size).is_none_or(|end| end > ld) {
            return Err(too_short());
        }
        // Room for one more result and for the final position.
        if 2 + count + 2 > MAX_C_STACK {
            return Err("stack overflow (too many results)".into());
        }
        match opt {
            b'b' | b'B' | b'h' | b'H' | b'l' | b'L' | b'T' | b'i' | b'I' => {
                let n = getinteger(
                    &data[start..start + size],
                    h.little,
                    opt.is_ascii_lowercase(),
                    size,
                );
                push(Value::Number(n), &mut count, &mut last)?;
            }
            b'x' => {}
            b'f' => {
                let mut b = [0u8; 4];
                b.copy_from_slice(&data[start..start + 4]);
                let f = if h.little {
                    f32::from_le_bytes(b)
                } else {
                    f32::from_be_bytes(b)
                };
                push(Value::Number(f64::from(f)), &mut count, &mut last)?;
            }
            b'd' => {
                let mut b = [0u8; 8];
                b.copy_from_slice(&data[start..start + 8]);
                let d = if h.little {
                    f64::from_le_bytes(b)
                } else {
                    f64::from_be_bytes(b)
                };
                push(Value::Number(d), &mut count, &mut last)?;
            }
            b'c' => {
                if size == 0 {
                    // The length is the previous result, which it replaces.
                    let n = match &last {
                        Some(v @ (Value::Integer(_) | Value::Number(_))) => as_number(v),
                        Some(v @ Value::String(_)) => a.lua.coerce_number(v.clone())?,
                        _ => None,
                    };
                    let Some(n) = n else {
                        return Err("format 'c0' needs a previous size".into());
                    };
                    // The size is replaced by the string.
                    count -= 1;
                    last = None;
                    if !(0.0..1.8e19).contains(&n) {
                        return Err(too_short());
                    }
                    size = n as usize;
                    if start.checked_add(size).is_none_or(|end| end > ld) {
                        return Err(too_short());
                    }
                }
                push(
                    Value::String(a.lua.create_string(&data[start..start + size])?),
                    &mut count,
                    &mut last,
                )?;
            }
            b's' => {
                let Some(len) = data[start..].iter().position(|&b| b == 0) else {
                    return Err("unfinished string in data".into());
                };
                size = len + 1;
                push(
                    Value::String(a.lua.create_string(&data[start..start + len])?),
                    &mut count,
                    &mut last,
                )?;
            }
            _ => controloptions(a, opt, &mut fmt, &mut h)?,
        }
        pos = start.checked_add(size);
    }
    let next = pos.ok_or_else(too_short)?;
    push(
        Value::Number((next as u64).wrapping_add(1) as i64 as f64),
        &mut count,
        &mut last,
    )?;
    Ok(Ret::Seq(results, count))
}

fn size(a: &Args) -> Answer<Ret> {
    let fmt_s = a.check_string(1)?;
    let fmt_b = fmt_s.as_bytes();
    let mut fmt = Fmt { s: &fmt_b, at: 0 };
    let mut h = Header::default();
    let mut pos: usize = 0;
    while let Some(opt) = fmt.next_opt() {
        let size = optsize(opt, &mut fmt)?;
        pos = pos.wrapping_add(gettoalign(pos, &h, opt, size));
        if opt == b's' {
            return Err(a.arg_error(1, "option 's' has no fixed size"));
        } else if opt == b'c' && size == 0 {
            return Err(a.arg_error(1, "option 'c0' has no fixed size"));
        }
        if !opt.is_ascii_alphanumeric() {
            controloptions(a, opt, &mut fmt, &mut h)?;
        }
        pos = pos.wrapping_add(size);
    }
    Ok(one(Value::Number(pos as f64)))
}

#[cfg(test)]
mod tests {
    use super::super::testutil::{error, lua, run};

    const HEX: &str = "local function hex(s) local h = '' for i = 1, #s do h = h .. string.format('%02x', string.byte(s, i)) end return h end ";

    #[test]
    fn pack() {
        let lua = lua();
        let cases = [
            ("struct.pack('>i2<i2', 258, 258)", "01020201"),
            (
                "struct.pack('bBhHlLT', -1, 255, -2, 65535, -3, 4, 5)",
                "ffff feff ffff fdffffffffffffff 0400000000000000 0500000000000000",
            ),
            (
                "struct.pack('!4 b i3 d', 1, 2, 3)",
                "010000 020000 00000000000000000840",
            ),
            (
                "struct.pack('s c0 c2 x', 'ab', 'cd', 'efg')",
                "616200 6364 6566 00",
            ),
            (
                "struct.pack('>i16', -2)",
                "0000000000000000fffffffffffffffe",
            ),
            ("struct.pack('>L', 2^64)", "0000000000000000"),
            ("struct.pack('<f>d', 1.5, 0.1)", "0000c03f 3fb999999999999a"),
        ];
        for (expr, want) in cases {
            assert_eq!(
                run(&lua, &format!("{HEX} return hex({expr})")),
                want.replace(' ', ""),
                "{expr}"
            );
        }
    }

    #[test]
    fn unpack_and_size() {
        let lua = lua();
        let cases = [
            (
                r"struct.unpack('>HhbB', '\255\254\255\254\128\128')",
                "65534 -2 -128 128 7",
            ),
            (r"struct.unpack('Bc0', '\003abcd')", "abc 5"),
            (r"struct.unpack('s s x c2', 'ab\0cd\0xyz')", "ab cd yz 10"),
            (r"struct.unpack('bb', 'abc', 2)", "98 99 4"),
            (r"struct.unpack('<i16', string.rep('\255', 16))", "-1 17"),
            ("struct.size('!4 b i3 d'), struct.size('z')", "16 0"),
        ];
        for (expr, want) in cases {
            let code = format!(
                "local t = {{{expr}}} for i = 1, #t do t[i] = tostring(t[i]) end return table.concat(t, ' ')"
            );
            assert_eq!(run(&lua, &code), want, "{expr}");
        }
        assert_eq!(
            run(
                &lua,
                "return select('#', struct.unpack(string.rep('b', 7997), string.rep('a', 8000)))"
            ),
            "7998"
        );
    }

    #[test]
    fn errors() {
        let lua = lua();
        let cases = [
            ("struct.pack('i99999999999', 1)", "integral size overflow"),
            (
                "struct.pack('i33', 1)",
                "integral size 33 is larger than limit of 32",
            ),
            ("struct.pack('!3i', 1)", "alignment 3 is not a power of 2"),
            (
                "struct.pack('z')",
                "bad argument #1 to '?' (invalid format option 'z')",
            ),
            (
                "struct.pack('c5', 'abc')",
                "bad argument #3 to '?' (string too short)",
            ),
            (
                "struct.pack('i')",
                "bad argument #2 to '?' (number expected, got nil)",
            ),
            (
                "struct.unpack('i', 'abcd', 0)",
                "bad argument #3 to '?' (offset must be 1 or greater)",
            ),
            (
                "struct.unpack('i', 'abc')",
                "bad argument #2 to '?' (data string too short)",
            ),
            (
                "struct.unpack('i', 'abcd', -1)",
                "bad argument #2 to '?' (data string too short)",
            ),
            (
                "struct.unpack('c0', 'abc')",
                "format 'c0' needs a previous size",
            ),
            ("struct.unpack('s', 'abc')", "unfinished string in data"),
            (
                "struct.size('s')",
                "bad argument #1 to '?' (option 's' has no fixed size)",
            ),
            (
                "struct.size('c0')",
                "bad argument #1 to '?' (option 'c0' has no fixed size)",
            ),
            (
                "struct.unpack(string.rep('b', 7998), string.rep('a', 8000))",
                "stack overflow (too many results)",
            ),
        ];
        for (expr, want) in cases {
            let (f, args) = expr.split_once('(').unwrap_or((expr, ")"));
            let sep = if args == ")" { "" } else { ", " };
            let code = format!("local ok, e = pcall({f}{sep}{args} error(e, 0)");
            assert_eq!(error(&lua, &code), want, "{expr}");
        }
        assert_eq!(
            error(&lua, "return struct.pack('z')"),
            "user_script:1: bad argument #1 to 'pack' (invalid format option 'z')"
        );
    }
}
