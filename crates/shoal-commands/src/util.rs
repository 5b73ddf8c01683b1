//! Argument parsing shared by the families: integers, floats, string values, TTL options.

use std::borrow::Cow;

use shoal_resp::parse_i64;
use shoal_store::Value;

use crate::errors::{self, CmdError};

/// An integer argument (`ERR value is not an integer or out of range` otherwise).
pub fn int(a: &[u8]) -> Result<i64, CmdError> {
    parse_i64(a).ok_or_else(|| errors::NOT_INTEGER.into())
}

/// A non-negative integer argument that fits `usize`.
pub fn uint(a: &[u8]) -> Result<usize, CmdError> {
    match parse_i64(a) {
        Some(n) if n >= 0 => Ok(n as usize),
        _ => Err(errors::NOT_INTEGER.into()),
    }
}

/// A float as Redis's `string2ld` accepts it: no surrounding spaces, no NaN.
pub fn float(a: &[u8]) -> Option<f64> {
    let s = std::str::from_utf8(a).ok()?;
    if s.is_empty()
        || s.starts_with(|c: char| c.is_ascii_whitespace())
        || s.ends_with(|c: char| c.is_ascii_whitespace())
    {
        return None;
    }
    let v: f64 = s.parse().ok()?;
    (!v.is_nan()).then_some(v)
}

/// Builds a string value, in integer form when the bytes are a canonical integer (OBJECT
/// ENCODING `int`, as Redis does for strings of at most 20 bytes).
pub fn string_value(b: &[u8]) -> Value {
    if b.len() <= 20
        && let Some(n) = parse_i64(b)
    {
        return Value::Int(n);
    }
    Value::Str(b.into())
}

/// The bytes of a string value; WRONGTYPE for other types.
pub fn str_bytes(v: &Value) -> Result<Cow<'_, [u8]>, CmdError> {
    match v {
        Value::Str(s) => Ok(Cow::Borrowed(s)),
        Value::Int(n) => Ok(Cow::Owned(
            itoa::Buffer::new().format(*n).as_bytes().to_vec(),
        )),
    }
}

/// The integer held by a string value (INCR and friends).
pub fn value_int(v: &Value) -> Result<i64, CmdError> {
    match v {
        Value::Int(n) => Ok(*n),
        Value::Str(s) => int(s),
    }
}

pub fn eq_ic(a: &[u8], b: &str) -> bool {
    a.eq_ignore_ascii_case(b.as_bytes())
}

/// A relative or absolute TTL argument turned into an absolute unix-ms time.
/// `unit_ms` is 1000 for seconds, 1 for milliseconds; `absolute` for EXAT/PXAT/EXPIREAT.
/// `None` when the result overflows (the caller picks the error text).
pub fn deadline(n: i64, unit_ms: i64, absolute: bool, now: u64) -> Option<i64> {
    let ms = n.checked_mul(unit_ms)?;
    if absolute {
        Some(ms)
    } else {
        ms.checked_add(now as i64)
    }
}

/// A HELP reply: one simple string per line.
pub fn help(out: &mut shoal_resp::Reply, lines: &[&str]) {
    out.array(lines.len());
    for l in lines {
        out.simple(l.as_bytes());
    }
}
