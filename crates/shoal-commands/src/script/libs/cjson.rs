//! `cjson`: lua-cjson 2.1.0 (Mark Pulford), as Redis 7.0 vendors it.
//!
//! `encode`, `decode`, `null` (a NULL light userdata), `new`, and the
//! settings `encode_sparse_array`, `encode_max_depth`, `decode_max_depth`,
//! `encode_number_precision`, `encode_keep_buffer`, `encode_invalid_numbers`,
//! `decode_invalid_numbers`; each table made by `new` has its own settings.
//!
//! Encoding writes numbers with `%.14g` (the precision is a setting),
//! escapes `"`, `\`, `/`, control characters and DEL, and sends a table as
//! an array when all its keys are positive integers (with the sparse-array
//! rules), else as an object. Decoding reads numbers as C's `strtod` does
//! (so hexadecimal, `inf` and `nan` pass when invalid numbers are allowed),
//! stops at a NUL byte like the C string scan, and turns `\u` escapes
//! (surrogate pairs included) into UTF-8. Both count nesting and Lua stack
//! slots the way the C code does, so too deep input fails with the same
//! message at the same depth.
//!
//! Differences from the C original: `encode_keep_buffer` only records its
//! setting (there is no buffer to keep); hexadecimal numbers with more than
//! 16 significant digits are rounded once more than `strtod` would.

use super::{
    Answer, Args, Fail, MAX_C_STACK, Nest, Ret, add, as_number, c_cast_int, one, type_name,
};
use mlua::{Function, LightUserData, Lua, MultiValue, Table, Value};
use std::cell::Cell;
use std::rc::Rc;

/// The settings of one cjson table.
#[derive(Clone, Copy)]
struct Config {
    encode_sparse_convert: i32,
    encode_sparse_ratio: i32,
    encode_sparse_safe: i32,
    encode_max_depth: i32,
    /// 0 refuse, 1 allow, 2 write as null.
    encode_invalid_numbers: i32,
    encode_number_precision: i32,
    encode_keep_buffer: i32,
    decode_invalid_numbers: i32,
    decode_max_depth: i32,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            encode_sparse_convert: 0,
            encode_sparse_ratio: 2,
            encode_sparse_safe: 10,
            encode_max_depth: 1000,
            encode_invalid_numbers: 0,
            encode_number_precision: 14,
            encode_keep_buffer: 1,
            decode_invalid_numbers: 1,
            decode_max_depth: 1000,
        }
    }
}

type Shared = Rc<Cell<Config>>;

/// A new cjson table with default settings.
pub(super) fn create(lua: &Lua) -> mlua::Result<Table> {
    let t = lua.create_table()?;
    let cfg: Shared = Rc::new(Cell::new(Config::default()));

    let c = cfg.clone();
    // The raw `next`, taken before scripts run.
    let next_fn: Function = lua.globals().raw_get("next")?;
    add(lua, &t, "encode", move |a| {
        if a.len() != 1 {
            return Err(a.arg_error(1, "expected 1 argument"));
        }
        let v = a.get(1).cloned().unwrap_or(Value::Nil);
        let out = encode(a.lua, &next_fn, &c.get(), v)?;
        Ok(one(Value::String(a.lua.create_string(out)?)))
    })?;
    let c = cfg.clone();
    add(lua, &t, "decode", move |a| {
        if a.len() != 1 {
            return Err(a.arg_error(1, "expected 1 argument"));
        }
        let s = a.check_string(1)?;
        let data = s.as_bytes();
        if data.len() >= 2 && (data[0] == 0 || data[1] == 0) {
            return Err("JSON parser does not support UTF-16 or UTF-32".into());
        }
        Ok(one(decode(a.lua, &c.get(), &data)?))
    })?;
    let c = cfg.clone();
    add(lua, &t, "encode_sparse_array", move |a| {
        arg_count(a, 3)?;
        // Each setting is kept as soon as it is read, as in C.
        let mut cfg = c.get();
        let convert = enum_option(a, 1, &mut cfg.encode_sparse_convert, BOOL_OPTIONS, 1);
        c.set(cfg);
        let convert = convert?;
        let ratio = integer_option(a, 2, &mut cfg.encode_sparse_ratio, 0, i32::MAX);
        c.set(cfg);
        let ratio = ratio?;
        let safe = integer_option(a, 3, &mut cfg.encode_sparse_safe, 0, i32::MAX)?;
        c.set(cfg);
        Ok(Ret::Few(MultiValue::from_vec(vec![convert, ratio, safe])))
    })?;
    config_fn(lua, &t, &cfg, "encode_max_depth", |a, cfg| {
        integer_option(a, 1, &mut cfg.encode_max_depth, 1, i32::MAX)
    })?;
    config_fn(lua, &t, &cfg, "decode_max_depth", |a, cfg| {
        integer_option(a, 1, &mut cfg.decode_max_depth, 1, i32::MAX)
    })?;
    config_fn(lua, &t, &cfg, "encode_number_precision", |a, cfg| {
        integer_option(a, 1, &mut cfg.encode_number_precision, 1, 14)
    })?;
    config_fn(lua, &t, &cfg, "encode_keep_buffer", |a, cfg| {
        enum_option(a, 1, &mut cfg.encode_keep_buffer, BOOL_OPTIONS, 1)
    })?;
    config_fn(lua, &t, &cfg, "encode_invalid_numbers", |a, cfg| {
        enum_option(
            a,
            1,
            &mut cfg.encode_invalid_numbers,
            &["off", "on", "null"],
            1,
        )
    })?;
    config_fn(lua, &t, &cfg, "decode_invalid_numbers", |a, cfg| {
        enum_option(a, 1, &mut cfg.decode_invalid_numbers, BOOL_OPTIONS, 1)
    })?;
    add(lua, &t, "new", |a| Ok(one(Value::Table(create(a.lua)?))))?;
    t.raw_set(
        "null",
        Value::LightUserData(LightUserData(std::ptr::null_mut())),
    )?;
    t.raw_set("_NAME", "cjson")?;
    t.raw_set("_VERSION", "2.1.0")?;
    Ok(t)
}

// ===== Settings =====

const BOOL_OPTIONS: &[&str] = &["off", "on"];

/// A setting function taking one optional argument.
fn config_fn(
    lua: &Lua,
    t: &Table,
    cfg: &Shared,
    name: &str,
    f: fn(&Args, &mut Config) -> Answer<Value>,
) -> mlua::Result<()> {
    let c = cfg.clone();
    add(lua, t, name, move |a| {
        arg_count(a, 1)?;
        let mut cfg = c.get();
        let v = f(a, &mut cfg)?;
        c.set(cfg);
        Ok(one(v))
    })
}

fn arg_count(a: &Args, max: usize) -> Answer<()> {
    if a.len() > max {
        return Err(a.arg_error(max as i64 + 1, "found too many arguments"));
    }
    Ok(())
}

fn integer_option(a: &Args, i: usize, setting: &mut i32, min: i32, max: i32) -> Answer<Value> {
    if !a.is_nil_or_none(i) {
        // C stores the lua_Integer in an int.
        let value = a.check_integer(i)? as i32;
        if !(min..=max).contains(&value) {
            return Err(a.arg_error(1, format!("expected integer between {min} and {max}")));
        }
        *setting = value;
    }
    Ok(Value::Number(f64::from(*setting)))
}

fn enum_option(
    a: &Args,
    i: usize,
    setting: &mut i32,
    options: &[&str],
    bool_true: i32,
) -> Answer<Value> {
    match a.get(i) {
        None | Some(Value::Nil) => {}
        Some(Value::Boolean(b)) => *setting = i32::from(*b) * bool_true,
        Some(_) => {
            let name = a.check_string(i)?;
            let name = name.as_bytes();
            match options.iter().position(|o| o.as_bytes() == &name[..]) {
                Some(n) => *setting = n as i32,
                None => {
                    let mut msg = b"invalid option '".to_vec();
                    msg.extend_from_slice(&name);
                    msg.push(b'\'');
                    return Err(a.arg_error(i as i64, msg));
                }
            }
        }
    }
    if *setting == 0 || *setting == bool_true {
        Ok(Value::Boolean(*setting != 0))
    } else {
        let name = usize::try_from(*setting)
            .ok()
            .and_then(|s| options.get(s))
            .unwrap_or(&"");
        Ok(Value::String(a.lua.create_string(name)?))
    }
}

// ===== Encoding =====

/// A table being written (the table itself is in the `Nest`).
enum Frame {
    /// Written by index, up to `len`.
    Array { len: i32, next: i32, slots: usize },
    /// Written in `next` order; the `Nest` keeps the last key.
    Object { first: bool, slots: usize },
}

fn encode_error(v: &Value, reason: &str) -> Fail {
    format!("Cannot serialise {}: {reason}", type_name(v)).into()
}

/// Writes a value as JSON, without recursion: `stack` follows the tables
/// being written. `slots` counts the Lua stack the C code would use (the
/// argument, then one per array level and two per object level).
fn encode(lua: &Lua, next_fn: &Function, cfg: &Config, value: Value) -> Answer<Vec<u8>> {
    let mut out = Vec::new();
    let mut stack: Vec<Frame> = Vec::new();
    let mut nest = Nest::new(lua)?;
    let mut pending = Some((value, 1usize));
    loop {
        if let Some((v, slots)) = pending.take() {
            match v {
                Value::Table(t) => {
                    let depth = stack.len() + 1;
                    if depth > cfg.encode_max_depth as usize || slots + 3 > MAX_C_STACK {
                        return Err(format!("Cannot serialise, excessive nesting ({depth})").into());
                    }
                    match array_length(cfg, &t)? {
                        Some(len) if len > 0 => {
                            out.push(b'[');
                            stack.push(Frame::Array {
                                len,
                                next: 1,
                                slots,
                            });
                        }
                        _ => {
                            out.push(b'{');
                            stack.push(Frame::Object { first: true, slots });
                        }
                    }
                    nest.push(t)?;
                }
                Value::String(s) => append_string(&mut out, &s.as_bytes()),
                Value::Integer(_) | Value::Number(_) => append_number(cfg, &mut out, &v)?,
                Value::Boolean(true) => out.extend_from_slice(b"true"),
                Value::Boolean(false) => out.extend_from_slice(b"false"),
                Value::Nil => out.extend_from_slice(b"null"),
                Value::LightUserData(p) if p.0.is_null() => out.extend_from_slice(b"null"),
                other => return Err(encode_error(&other, "type not supported")),
            }
        }
        let Some(top) = stack.last_mut() else {
            return Ok(out);
        };
        match top {
            Frame::Array { len, next, slots } => {
                if *next > *len {
                    out.push(b']');
                    stack.pop();
                    nest.pop()?;
                } else {
                    if *next > 1 {
                        out.push(b',');
                    }
                    let v: Value = nest.top()?.raw_get(*next)?;
                    *next += 1;
                    pending = Some((v, *slots + 1));
                }
            }
            Frame::Object { first, slots } => {
                let (k, v): (Value, Value) = next_fn.call((nest.top()?, nest.aux()?))?;
                if k.is_nil() {
                    out.push(b'}');
                    stack.pop();
                    nest.pop()?;
                    continue;
                }
                if !*first {
                    out.push(b',');
                }
                *first = false;
                match &k {
                    Value::Integer(_) | Value::Number(_) => {
                        out.push(b'"');
                        append_number(cfg, &mut out, &k)?;
                        out.extend_from_slice(b"\":");
                    }
                    Value::String(s) => {
                        append_string(&mut out, &s.as_bytes());
                        out.push(b':');
                    }
                    _ => return Err(encode_error(&k, "table key must be a number or string")),
                }
                nest.set_aux(k)?;
                pending = Some((v, *slots + 2));
            }
        }
    }
}

/// The array length of a table's entries, or `None` for an object, as
/// lua-cjson decides (including its int conversions).
fn array_length(cfg: &Config, t: &Table) -> Answer<Option<i32>> {
    let mut max: i32 = 0;
    let mut items: i32 = 0;
    for pair in t.pairs::<Value, Value>() {
        let (k, _) = pair?;
        match as_number(&k) {
            Some(k) if k != 0.0 && k.floor() == k && k >= 1.0 => {
                if k > f64::from(max) {
                    max = c_cast_int(k);
                }
                items = items.wrapping_add(1);
            }
            _ => return Ok(None),
        }
    }
    if cfg.encode_sparse_ratio > 0
        && max > items.wrapping_mul(cfg.encode_sparse_ratio)
        && max > cfg.encode_sparse_safe
    {
        if cfg.encode_sparse_convert == 0 {
            return Err("Cannot serialise table: excessively sparse array".into());
        }
        return Ok(None);
    }
    Ok(Some(max))
}

fn append_number(cfg: &Config, out: &mut Vec<u8>, v: &Value) -> Answer<()> {
    let n = as_number(v).unwrap_or(0.0);
    match cfg.encode_invalid_numbers {
        0 if !n.is_finite() => return Err(encode_error(v, "must not be NaN or Inf")),
        1 if n.is_nan() => {
            out.extend_from_slice(b"nan");
            return Ok(());
        }
        2 if !n.is_finite() => {
            out.extend_from_slice(b"null");
            return Ok(());
        }
        _ => {}
    }
    out.extend_from_slice(
        format_g(n, cfg.encode_number_precision.clamp(1, 17) as usize).as_bytes(),
    );
    Ok(())
}

/// C's `printf("%.{precision}g", x)`.
pub(super) fn format_g(x: f64, precision: usize) -> String {
    if x.is_nan() {
        return if x.is_sign_negative() { "-nan" } else { "nan" }.to_string();
    }
    if x.is_infinite() {
        return if x > 0.0 { "inf" } else { "-inf" }.to_string();
    }
    let p = precision.max(1);
    let sci = format!("{:.*e}", p - 1, x);
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    if exp < -4 || exp >= p as i32 {
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{}e{sign}{:02}", strip_zeros(mantissa), exp.unsigned_abs())
    } else {
        let decimals = usize::try_from(p as i32 - 1 - exp).unwrap_or(0);
        strip_zeros(&format!("{x:.decimals$}")).to_string()
    }
}

/// Drops trailing zeros of a fraction, and the point if nothing is left.
fn strip_zeros(s: &str) -> &str {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.')
    } else {
        s
    }
}

fn append_string(out: &mut Vec<u8>, s: &[u8]) {
    out.reserve(s.len() + 2);
    out.push(b'"');
    for &c in s {
        match c {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'/' => out.extend_from_slice(b"\\/"),
            0x08 => out.extend_from_slice(b"\\b"),
            b'\t' => out.extend_from_slice(b"\\t"),
            b'\n' => out.extend_from_slice(b"\\n"),
            0x0c => out.extend_from_slice(b"\\f"),
            b'\r' => out.extend_from_slice(b"\\r"),
            0..=0x1f | 0x7f => {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                out.extend_from_slice(b"\\u00");
                out.push(HEX[usize::from(c >> 4)]);
                out.push(HEX[usize::from(c & 15)]);
            }
            _ => out.push(c),
        }
    }
    out.push(b'"');
}

// ===== Decoding =====

enum Tok {
    ObjBegin,
    ObjEnd,
    ArrBegin,
    ArrEnd,
    Str(Vec<u8>),
    Num(f64),
    Bool(bool),
    Null,
    Colon,
    Comma,
    End,
    Error(&'static str),
}

impl Tok {
    fn name(&self) -> &'static str {
        match self {
            Tok::ObjBegin => "T_OBJ_BEGIN",
            Tok::ObjEnd => "T_OBJ_END",
            Tok::ArrBegin => "T_ARR_BEGIN",
            Tok::ArrEnd => "T_ARR_END",
            Tok::Str(_) => "T_STRING",
            Tok::Num(_) => "T_NUMBER",
            Tok::Bool(_) => "T_BOOLEAN",
            Tok::Null => "T_NULL",
            Tok::Colon => "T_COLON",
            Tok::Comma => "T_COMMA",
            Tok::End => "T_END",
            Tok::Error(e) => e,
        }
    }
}

/// A token and where it starts (where it failed, for errors).
struct Token {
    tok: Tok,
    index: usize,
}

struct Parser<'a> {
    data: &'a [u8],
    ptr: usize,
    invalid_numbers: bool,
}

impl Parser<'_> {
    /// The byte at `i`; past the end the C string's NUL.
    fn at(&self, i: usize) -> u8 {
        self.data.get(i).copied().unwrap_or(0)
    }

    fn starts_with(&self, i: usize, word: &[u8]) -> bool {
        self.data.get(i..i + word.len()) == Some(word)
    }

    fn starts_with_nocase(&self, i: usize, word: &[u8]) -> bool {
        self.data
            .get(i..i + word.len())
            .is_some_and(|s| s.eq_ignore_ascii_case(word))
    }

    fn next_token(&mut self) -> Token {
        while matches!(self.at(self.ptr), b' ' | b'\t' | b'\n' | b'\r') {
            self.ptr += 1;
        }
        let index = self.ptr;
        let single = |tok| Token { tok, index };
        let tok = match self.at(self.ptr) {
            0 => return single(Tok::End),
            b'{' => Tok::ObjBegin,
            b'}' => Tok::ObjEnd,
            b'[' => Tok::ArrBegin,
            b']' => Tok::ArrEnd,
            b',' => Tok::Comma,
            b':' => Tok::Colon,
            b'"' => return self.string_token(),
            b'-' | b'0'..=b'9' => {
                if !self.invalid_numbers && self.is_invalid_number() {
                    return single(Tok::Error("invalid number"));
                }
                return self.number_token();
            }
            b'f' | b'i' | b'I' | b'n' | b'N' | b't' | b'+' => {
                let (tok, len) = if self.starts_with(index, b"true") {
                    (Tok::Bool(true), 4)
                } else if self.starts_with(index, b"false") {
                    (Tok::Bool(false), 5)
                } else if self.starts_with(index, b"null") {
                    (Tok::Null, 4)
                } else if self.invalid_numbers && self.is_invalid_number() {
                    return self.number_token();
                } else {
                    return single(Tok::Error("invalid token"));
                };
                self.ptr += len;
                return single(tok);
            }
            _ => return single(Tok::Error("invalid token")),
        };
        self.ptr += 1;
        single(tok)
    }

    fn error_here(&self, e: &'static str) -> Token {
        Token {
            tok: Tok::Error(e),
            index: self.ptr,
        }
    }

    fn string_token(&mut self) -> Token {
        let index = self.ptr;
        self.ptr += 1;
        let mut s = Vec::new();
        loop {
            let c = self.at(self.ptr);
            match c {
                b'"' => break,
                0 => return self.error_here("unexpected end of string"),
                b'\\' => {
                    let c = match self.at(self.ptr + 1) {
                        b'"' => b'"',
                        b'\\' => b'\\',
                        b'/' => b'/',
                        b'b' => 0x08,
                        b't' => b'\t',
                        b'n' => b'\n',
                        b'f' => 0x0c,
                        b'r' => b'\r',
                        b'u' => {
                            if !self.unicode_escape(&mut s) {
                                return self.error_here("invalid unicode escape code");
                            }
                            continue;
                        }
                        _ => return self.error_here("invalid escape code"),
                    };
                    s.push(c);
                    self.ptr += 2;
                }
                _ => {
                    s.push(c);
                    self.ptr += 1;
                }
            }
        }
        self.ptr += 1;
        Token {
            tok: Tok::Str(s),
            index,
        }
    }

    fn hex4(&self, i: usize) -> Option<u32> {
        (i..i + 4).try_fold(0u32, |acc, j| {
            char::from(self.at(j)).to_digit(16).map(|d| (acc << 4) | d)
        })
    }

    /// `\uXXXX` (or a surrogate pair of them) at `ptr`, appended as UTF-8.
    fn unicode_escape(&mut self, s: &mut Vec<u8>) -> bool {
        let Some(mut cp) = self.hex4(self.ptr + 2) else {
            return false;
        };
        let mut len = 6;
        if cp & 0xF800 == 0xD800 {
            if cp & 0x400 != 0 || self.at(self.ptr + 6) != b'\\' || self.at(self.ptr + 7) != b'u' {
                return false;
            }
            let Some(low) = self.hex4(self.ptr + 8) else {
                return false;
            };
            if low & 0xFC00 != 0xDC00 {
                return false;
            }
            cp = (((cp & 0x3FF) << 10) | (low & 0x3FF)) + 0x10000;
            len = 12;
        }
        match char::from_u32(cp) {
            Some(ch) => {
                let mut buf = [0u8; 4];
                s.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
            }
            None => return false,
        }
        self.ptr += len;
        true
    }

    /// lua-cjson's check for numbers `strtod` takes but JSON does not
    /// (leading `+` or zeros, hexadecimal, inf, nan).
    fn is_invalid_number(&self) -> bool {
        let mut i = self.ptr;
        if self.at(i) == b'+' {
            return true;
        }
        if self.at(i) == b'-' {
            i += 1;
        }
        let c = self.at(i);
        if c == b'0' {
            let c2 = self.at(i + 1);
            return c2 | 0x20 == b'x' || c2.is_ascii_digit();
        }
        // A C char is signed: bytes from 0x80 compare below '9' too.
        if (c as i8) <= b'9' as i8 {
            return false;
        }
        self.starts_with_nocase(i, b"inf") || self.starts_with_nocase(i, b"nan")
    }

    fn number_token(&mut self) -> Token {
        let index = self.ptr;
        match strtod(self.data, self.ptr) {
            Some((n, end)) => {
                self.ptr = end;
                Token {
                    tok: Tok::Num(n),
                    index,
                }
            }
            None => self.error_here("invalid number"),
        }
    }
}

/// C's `strtod` from `start`: the number and where it ends, or `None` when
/// nothing converts.
fn strtod(d: &[u8], start: usize) -> Option<(f64, usize)> {
    let at = |i: usize| d.get(i).copied().unwrap_or(0);
    let nocase = |i: usize, w: &[u8]| {
        d.get(i..i + w.len())
            .is_some_and(|s| s.eq_ignore_ascii_case(w))
    };
    let mut i = start;
    let neg = at(i) == b'-';
    if matches!(at(i), b'+' | b'-') {
        i += 1;
    }
    let sign = if neg { -1.0 } else { 1.0 };
    if nocase(i, b"inf") {
        i += 3;
        if nocase(i, b"inity") {
            i += 5;
        }
        return Some((sign * f64::INFINITY, i));
    }
    if nocase(i, b"nan") {
        i += 3;
        if at(i) == b'(' {
            let mut j = i + 1;
            while at(j).is_ascii_alphanumeric() || at(j) == b'_' {
                j += 1;
            }
            if at(j) == b')' {
                i = j + 1;
            }
        }
        return Some((if neg { -f64::NAN } else { f64::NAN }, i));
    }
    let hex_digit = |c: u8| char::from(c).to_digit(16);
    if at(i) == b'0'
        && at(i + 1) | 0x20 == b'x'
        && (hex_digit(at(i + 2)).is_some() || (at(i + 2) == b'.' && hex_digit(at(i + 3)).is_some()))
    {
        let (v, end) = hex_float(d, i + 2);
        return Some((sign * v, end));
    }
    let digits = |mut j: usize| {
        while at(j).is_ascii_digit() {
            j += 1;
        }
        j
    };
    let int_end = digits(i);
    let mut end = int_end;
    let mut frac = (end, end);
    if at(end) == b'.' {
        let f_end = digits(end + 1);
        frac = (end + 1, f_end);
        end = f_end;
    }
    if int_end == i && frac.0 == frac.1 {
        return None;
    }
    let mut exp = (end, end);
    if at(end) | 0x20 == b'e' {
        let mut k = end + 1;
        if matches!(at(k), b'+' | b'-') {
            k += 1;
        }
        if at(k).is_ascii_digit() {
            let e_end = digits(k);
            exp = (end + 1, e_end);
            end = e_end;
        }
    }
    let text = |r: (usize, usize)| {
        String::from_utf8_lossy(d.get(r.0..r.1).unwrap_or_default()).into_owned()
    };
    let mut s = String::with_capacity(end - start + 4);
    if neg {
        s.push('-');
    }
    s.push('0');
    s.push_str(&text((i, int_end)));
    s.push('.');
    s.push_str(&text(frac));
    s.push('0');
    if exp.0 < exp.1 {
        s.push('e');
        s.push_str(&text(exp));
    }
    s.parse::<f64>().ok().map(|v| (v, end))
}

/// The digits of a hexadecimal float after `0x`, with an optional `p`
/// exponent.
fn hex_float(d: &[u8], mut i: usize) -> (f64, usize) {
    let at = |i: usize| d.get(i).copied().unwrap_or(0);
    let mut mantissa: u64 = 0;
    let mut exp: i64 = 0;
    let mut seen_point = false;
    loop {
        let c = at(i);
        if c == b'.' && !seen_point {
            seen_point = true;
        } else if let Some(v) = char::from(c).to_digit(16) {
            if mantissa >> 60 == 0 {
                mantissa = (mantissa << 4) | u64::from(v);
                if seen_point {
                    exp -= 4;
                }
            } else if !seen_point {
                exp += 4;
            }
        } else {
            break;
        }
        i += 1;
    }
    if at(i) | 0x20 == b'p' {
        let mut k = i + 1;
        let neg = at(k) == b'-';
        if matches!(at(k), b'+' | b'-') {
            k += 1;
        }
        if at(k).is_ascii_digit() {
            let mut e: i64 = 0;
            while at(k).is_ascii_digit() {
                e = (e * 10 + i64::from(at(k) - b'0')).min(1 << 20);
                k += 1;
            }
            exp += if neg { -e } else { e };
            i = k;
        }
    }
    let mut v = mantissa as f64;
    // Scale in steps so that intermediate powers stay finite.
    let mut e = exp.clamp(-1 << 21, 1 << 21);
    while e != 0 {
        let step = e.clamp(-1000, 1000);
        v *= 2f64.powi(step as i32);
        e -= step;
    }
    (v, i)
}

/// A container being filled while decoding (the table is in the `Nest`,
/// with an object's pending key).
enum Ctx {
    Array { n: i64 },
    Object,
}

struct Decoder<'a> {
    lua: &'a Lua,
    p: Parser<'a>,
    stack: Vec<Ctx>,
    nest: Nest,
    /// Lua stack slots the C parser would use: the argument, one per array
    /// level, two per object level (the table and the pending key).
    slots: usize,
    max_depth: usize,
}

fn parse_error(exp: &str, t: &Token) -> Fail {
    format!(
        "Expected {exp} but found {} at character {}",
        t.tok.name(),
        t.index + 1
    )
    .into()
}

impl Decoder<'_> {
    /// A value from its first token; `None` when a container was opened.
    fn start(&mut self, t: Token) -> Answer<Option<Value>> {
        Ok(Some(match t.tok {
            Tok::Str(s) => Value::String(self.lua.create_string(s)?),
            Tok::Num(n) => Value::Number(n),
            Tok::Bool(b) => Value::Boolean(b),
            Tok::Null => Value::LightUserData(LightUserData(std::ptr::null_mut())),
            Tok::ObjBegin => {
                self.descend(3)?;
                self.nest.push(self.lua.create_table()?)?;
                self.stack.push(Ctx::Object);
                return Ok(None);
            }
            Tok::ArrBegin => {
                self.descend(2)?;
                self.nest.push(self.lua.create_table()?)?;
                self.stack.push(Ctx::Array { n: 1 });
                return Ok(None);
            }
            _ => return Err(parse_error("value", &t)),
        }))
    }

    fn descend(&mut self, need: usize) -> Answer<()> {
        let depth = self.stack.len() + 1;
        if depth > self.max_depth || self.slots + need > MAX_C_STACK {
            return Err(format!(
                "Found too many nested data structures ({depth}) at character {}",
                self.p.ptr
            )
            .into());
        }
        self.slots += need - 1;
        Ok(())
    }

    /// `"key": value` in an object, from the key's token.
    fn member(&mut self, t: Token) -> Answer<Option<Value>> {
        let Tok::Str(key) = t.tok else {
            return Err(parse_error("object key string", &t));
        };
        self.nest
            .set_aux(Value::String(self.lua.create_string(key)?))?;
        let t = self.p.next_token();
        if !matches!(t.tok, Tok::Colon) {
            return Err(parse_error("colon", &t));
        }
        let t = self.p.next_token();
        self.start(t)
    }

    /// Closes the innermost container and gives it as a value.
    fn close(&mut self) -> Answer<Option<Value>> {
        let used = match self.stack.pop() {
            Some(Ctx::Array { .. }) => 1,
            _ => 2,
        };
        self.slots = self.slots.saturating_sub(used);
        Ok(Some(Value::Table(self.nest.pop()?)))
    }

    fn run(&mut self) -> Answer<Value> {
        let t = self.p.next_token();
        let mut value = self.start(t)?;
        loop {
            let Some(v) = value.take() else {
                // A container was just opened: empty, or its first item.
                let t = self.p.next_token();
                value = match (self.stack.last(), &t.tok) {
                    (Some(Ctx::Array { .. }), Tok::ArrEnd) | (Some(Ctx::Object), Tok::ObjEnd) => {
                        self.close()?
                    }
                    (Some(Ctx::Array { .. }), _) => self.start(t)?,
                    _ => self.member(t)?,
                };
                continue;
            };
            let Some(ctx) = self.stack.last_mut() else {
                let t = self.p.next_token();
                if !matches!(t.tok, Tok::End) {
                    return Err(parse_error("the end", &t));
                }
                return Ok(v);
            };
            let is_array = match ctx {
                Ctx::Array { n } => {
                    self.nest.top()?.raw_set(*n, v)?;
                    *n += 1;
                    true
                }
                Ctx::Object => {
                    self.nest.top()?.raw_set(self.nest.aux()?, v)?;
                    false
                }
            };
            let t = self.p.next_token();
            value = match (is_array, &t.tok) {
                (true, Tok::ArrEnd) | (false, Tok::ObjEnd) => self.close()?,
                (_, Tok::Comma) => {
                    let t = self.p.next_token();
                    if is_array {
                        self.start(t)?
                    } else {
                        self.member(t)?
                    }
                }
                (true, _) => return Err(parse_error("comma or array end", &t)),
                (false, _) => return Err(parse_error("comma or object end", &t)),
            };
        }
    }
}

fn decode(lua: &Lua, cfg: &Config, data: &[u8]) -> Answer<Value> {
    Decoder {
        lua,
        p: Parser {
            data,
            ptr: 0,
            invalid_numbers: cfg.decode_invalid_numbers != 0,
        },
        stack: Vec::new(),
        nest: Nest::new(lua)?,
        slots: 1,
        max_depth: usize::try_from(cfg.decode_max_depth).unwrap_or(0),
    }
    .run()
}

#[cfg(test)]
mod tests {
    use super::super::testutil::{error, lua, run};
    use super::format_g;

    #[test]
    fn redis_json_numeric_decoding() {
        // scripting.tcl "EVAL - JSON numeric decoding"
        let lua = lua();
        let got = run(
            &lua,
            r#"return table.concat(cjson.decode("[0.0, -5e3, -1, 0.3e-3, 1023.2, 0e10]"), " ")"#,
        );
        assert_eq!(got, "0 -5000 -1 0.0003 1023.2 0");
    }

    #[test]
    fn redis_json_string_decoding() {
        // scripting.tcl "EVAL - JSON string decoding"
        let lua = lua();
        let got = run(
            &lua,
            r#"local decoded = cjson.decode('{"keya": "a", "keyb": "b"}')
               return decoded.keya .. " " .. decoded.keyb"#,
        );
        assert_eq!(got, "a b");
    }

    #[test]
    fn redis_json_smoke_test() {
        // scripting.tcl "EVAL - JSON smoke test"
        let lua = lua();
        run(
            &lua,
            r#"
            local some_map = {
                s1="Some string",
                n1=100,
                a1={"Some","String","Array"},
                nil1=nil,
                b1=true,
                b2=false}
            local encoded = cjson.encode(some_map)
            local decoded = cjson.decode(encoded)
            assert(table.concat(some_map) == table.concat(decoded))

            cjson.encode_keep_buffer(false)
            encoded = cjson.encode(some_map)
            decoded = cjson.decode(encoded)
            assert(table.concat(some_map) == table.concat(decoded))

            -- Table with numeric keys
            local table1 = {one="one", [1]="one"}
            encoded = cjson.encode(table1)
            decoded = cjson.decode(encoded)
            assert(decoded["one"] == table1["one"])
            assert(decoded["1"] == table1[1])

            -- Array
            local array1 = {[1]="one", [2]="two"}
            encoded = cjson.encode(array1)
            decoded = cjson.decode(encoded)
            assert(table.concat(array1) == table.concat(decoded))

            -- Invalid keys
            local invalid_map = {}
            invalid_map[false] = "false"
            local ok, encoded = pcall(cjson.encode, invalid_map)
            assert(ok == false)

            -- Max depth
            cjson.encode_max_depth(1)
            ok, encoded = pcall(cjson.encode, some_map)
            assert(ok == false)

            cjson.decode_max_depth(1)
            ok, decoded = pcall(cjson.decode, '{"obj": {"array": [1,2,3,4]}}')
            assert(ok == false)

            -- Invalid numbers
            ok, encoded = pcall(cjson.encode, {num1=0/0})
            assert(ok == false)
            cjson.encode_invalid_numbers(true)
            ok, encoded = pcall(cjson.encode, {num1=0/0})
            assert(ok == true)

            -- Restore defaults
            cjson.decode_max_depth(1000)
            cjson.encode_max_depth(1000)
            cjson.encode_invalid_numbers(false)
            return true
            "#,
        );
    }

    #[test]
    fn encode_values() {
        let lua = lua();
        let cases = [
            ("cjson.encode({1,2,'x'})", r#"[1,2,"x"]"#),
            ("cjson.encode({})", "{}"),
            ("cjson.encode({a={b={1,{}}}})", r#"{"a":{"b":[1,{}]}}"#),
            ("cjson.encode({[1]=1,[2]=2,[4]=4})", "[1,2,null,4]"),
            ("cjson.encode({[1]=1,a=2})", r#"{"1":1,"a":2}"#),
            (
                "cjson.encode({cjson.null, true, false})",
                "[null,true,false]",
            ),
            ("cjson.encode(0.1)", "0.1"),
            ("cjson.encode(1/3)", "0.33333333333333"),
            ("cjson.encode(1e15)", "1e+15"),
            ("cjson.encode(123456789012)", "123456789012"),
            ("cjson.encode(-0.0)", "-0"),
            ("cjson.encode(1e-5)", "1e-05"),
            ("cjson.encode({[2^31]=1})", r#"{"2147483648":1}"#),
            (
                r#"cjson.encode('a/b"c\\d\n\1\127\195\169')"#,
                r#""a\/b\"c\\d\n\u0001\u007fé""#,
            ),
            (
                "cjson.encode_invalid_numbers('null') and cjson.encode({0/0, 1/0})",
                "[null,null]",
            ),
            (
                "cjson.encode_number_precision(3) and cjson.encode(3.14159)",
                "3.14",
            ),
        ];
        for (expr, want) in cases {
            assert_eq!(run(&lua, &format!("return {expr}")), want, "{expr}");
            run(
                &lua,
                "cjson.encode_invalid_numbers(false) cjson.encode_number_precision(14) return 1",
            );
        }
    }

    #[test]
    fn encode_errors() {
        let lua = lua();
        let cases = [
            (
                "cjson.encode({[1]=1,[20]=2})",
                "Cannot serialise table: excessively sparse array",
            ),
            (
                "cjson.encode({function() end})",
                "Cannot serialise function: type not supported",
            ),
            (
                "cjson.encode({[true]=1})",
                "Cannot serialise boolean: table key must be a number or string",
            ),
            (
                "cjson.encode(0/0)",
                "Cannot serialise number: must not be NaN or Inf",
            ),
            (
                "cjson.encode()",
                "bad argument #1 to 'encode' (expected 1 argument)",
            ),
            (
                "cjson.encode_max_depth(0)",
                "bad argument #1 to 'encode_max_depth' (expected integer between 1 and 2147483647)",
            ),
            (
                "cjson.encode_invalid_numbers('x')",
                "bad argument #1 to 'encode_invalid_numbers' (invalid option 'x')",
            ),
            (
                "cjson.encode_number_precision(1, 2)",
                "bad argument #2 to 'encode_number_precision' (found too many arguments)",
            ),
        ];
        for (expr, want) in cases {
            assert_eq!(
                error(&lua, &format!("return {expr}")),
                format!("user_script:1: {want}")
            );
        }
        assert_eq!(
            error(
                &lua,
                "local t = {} t.x = t local ok, e = pcall(cjson.encode, t) error(e, 0)"
            ),
            "Cannot serialise, excessive nesting (1001)"
        );
        assert_eq!(
            error(&lua, "local ok, e = pcall(cjson.encode) error(e, 0)"),
            "bad argument #1 to '?' (expected 1 argument)"
        );
    }

    #[test]
    fn decode_values() {
        let lua = lua();
        let cases = [
            (
                r#"cjson.decode([["\u00e9\ud83d\ude00\/\n"]]) == "\195\169\240\159\152\128/\n""#,
                "true",
            ),
            ("cjson.decode('null') == cjson.null", "true"),
            ("#cjson.decode('[1, null, 3]')", "3"),
            ("cjson.decode('[0x10, 1e400, -Infinity]')[1]", "16"),
            ("cjson.decode('[0x10, 1e400, -Infinity]')[3]", "-inf"),
            (r#"cjson.decode('{"a":{"b":[true]}}').a.b[1]"#, "true"),
            (r#"cjson.decode('[1]\0garbage')[1]"#, "1"),
            ("cjson.decode(12)", "12"),
        ];
        for (expr, want) in cases {
            assert_eq!(run(&lua, &format!("return {expr}")), want, "{expr}");
        }
    }

    #[test]
    fn decode_errors() {
        let lua = lua();
        let cases = [
            ("x", "Expected value but found invalid token at character 1"),
            ("[", "Expected value but found T_END at character 2"),
            ("[1,]", "Expected value but found T_ARR_END at character 4"),
            (
                "[1 2]",
                "Expected comma or array end but found T_NUMBER at character 4",
            ),
            (
                "{1:1}",
                "Expected object key string but found T_NUMBER at character 2",
            ),
            (
                r#"{"a" 1}"#,
                "Expected colon but found T_NUMBER at character 6",
            ),
            (
                r#""abc"#,
                "Expected value but found unexpected end of string at character 5",
            ),
            (
                r#""\x""#,
                "Expected value but found invalid escape code at character 2",
            ),
            (
                r#""\ud83d""#,
                "Expected value but found invalid unicode escape code at character 2",
            ),
            (
                "[1] [2]",
                "Expected the end but found T_ARR_BEGIN at character 5",
            ),
        ];
        for (json, want) in cases {
            let got = error(
                &lua,
                &format!("local ok, e = pcall(cjson.decode, [==[{json}]==]) error(e, 0)"),
            );
            assert_eq!(got, want, "{json}");
        }
        assert_eq!(
            error(
                &lua,
                r"local ok, e = pcall(cjson.decode, '\0\0') error(e, 0)"
            ),
            "JSON parser does not support UTF-16 or UTF-32"
        );
        assert_eq!(
            error(
                &lua,
                "local ok, e = pcall(cjson.decode, string.rep('[', 2000)) error(e, 0)"
            ),
            "Found too many nested data structures (1001) at character 1001"
        );
        assert_eq!(
            error(
                &lua,
                "cjson.decode_invalid_numbers(false) local ok, e = pcall(cjson.decode, '0x10') error(e, 0)"
            ),
            "Expected value but found invalid number at character 1"
        );
    }

    #[test]
    fn lua_stack_limits_as_in_c() {
        let lua = lua();
        let cases = [
            (
                "cjson.encode_max_depth(100000) local t = {} local c = t for i=1,20000 do c[1] = {} c = c[1] end local ok, e = pcall(cjson.encode, t) error(e, 0)",
                "Cannot serialise, excessive nesting (7998)",
            ),
            (
                "cjson.encode_max_depth(100000) local t = {} local c = t for i=1,20000 do c.a = {} c = c.a end local ok, e = pcall(cjson.encode, t) error(e, 0)",
                "Cannot serialise, excessive nesting (4000)",
            ),
            (
                "cjson.decode_max_depth(100000) local ok, e = pcall(cjson.decode, string.rep('[', 20000)) error(e, 0)",
                "Found too many nested data structures (7999) at character 7999",
            ),
            (
                "cjson.decode_max_depth(100000) local ok, e = pcall(cjson.decode, string.rep('{\"a\":', 20000)) error(e, 0)",
                "Found too many nested data structures (4000) at character 19996",
            ),
        ];
        for (code, want) in cases {
            assert_eq!(error(&lua, code), want);
        }
    }

    #[test]
    fn independent_instances() {
        let lua = lua();
        let got = run(
            &lua,
            "local j = cjson.new() j.encode_number_precision(2)
             return j.encode(3.14159) .. ' ' .. cjson.encode(3.14159)",
        );
        assert_eq!(got, "3.1 3.14159");
    }

    #[test]
    fn printf_g() {
        let cases = [
            (0.0, "0"),
            (100.0, "100"),
            (1e14, "1e+14"),
            (123456789012345.0, "1.2345678901234e+14"),
            (0.0001, "0.0001"),
            (0.00001234, "1.234e-05"),
            (2.5, "2.5"),
            (-1.5e-300, "-1.5e-300"),
            (99999999999999.5, "1e+14"),
        ];
        for (x, want) in cases {
            assert_eq!(format_g(x, 14), want, "{x}");
        }
    }
}
