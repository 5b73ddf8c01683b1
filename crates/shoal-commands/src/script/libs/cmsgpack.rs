//! `cmsgpack`: lua-cmsgpack 0.4.0 (Salvatore Sanfilippo), as Redis 7.0
//! vendors it: `pack(...)`, `unpack(s)`, `unpack_one(s, [offset])`,
//! `unpack_limit(s, limit, [offset])`.
//!
//! Packing: integral numbers that fit an int64 become the smallest
//! MessagePack integer, other numbers a float32 when that is exact, else a
//! float64; strings are raw strings (fixstr, str8, str16, str32); a table
//! whose keys are exactly 1..n (int-sized) is an array, any other a map;
//! nil, functions, userdata and threads become nil, and tables nested 16
//! deep become nil too (so circular references end).
//!
//! Unpacking follows the C code, quirks included: uint64 values above 2^63
//! come back negative (C casts them to a signed lua_Integer), bin and ext
//! types are "Bad data format in input.", and the Lua stack limit of the C
//! function (8000 slots) bounds nesting and the number of results with the
//! same "stack overflow (...)" errors.

use super::{Answer, Args, Fail, MAX_C_STACK, Nest, Ret, add, as_number, c_cast_int, c_cast_long};
use mlua::{Lua, Table, Value};

/// Tables nested deeper than this are packed as nil.
const MAX_NESTING: usize = 16;

/// The function table.
pub(super) fn create(lua: &Lua) -> mlua::Result<Table> {
    let t = lua.create_table()?;
    add(lua, &t, "pack", pack)?;
    add(lua, &t, "unpack", |a| unpack_full(a, 0, 0, a.len()))?;
    add(lua, &t, "unpack_one", |a| {
        let offset = a.opt_integer(2, 0)?;
        unpack_full(a, 1, offset, 1)
    })?;
    add(lua, &t, "unpack_limit", |a| {
        let limit = a.check_integer(2)?;
        let offset = a.opt_integer(3, 0)?;
        unpack_full(a, limit, offset, 1)
    })?;
    t.raw_set("_NAME", "cmsgpack")?;
    t.raw_set("_VERSION", "lua-cmsgpack 0.4.0")?;
    t.raw_set("_COPYRIGHT", "Copyright (C) 2012, Salvatore Sanfilippo")?;
    t.raw_set("_DESCRIPTION", "MessagePack C implementation for Lua")?;
    Ok(t)
}

// ===== Packing =====

fn pack(a: &Args) -> Answer<Ret> {
    if a.len() == 0 {
        return Err(a.arg_error(0, "MessagePack pack needs input."));
    }
    let mut out = Vec::new();
    for i in 1..=a.len() {
        let v = a.get(i).cloned().unwrap_or(Value::Nil);
        encode(&mut out, &v, 0)?;
    }
    Ok(super::one(Value::String(a.lua.create_string(&out)?)))
}

/// Packs one value; recursion is bounded by `MAX_NESTING`.
fn encode(out: &mut Vec<u8>, v: &Value, level: usize) -> Answer<()> {
    match v {
        Value::String(s) => encode_bytes(out, &s.as_bytes()),
        Value::Boolean(b) => out.push(if *b { 0xc3 } else { 0xc2 }),
        Value::Integer(_) | Value::Number(_) => encode_number(out, as_number(v).unwrap_or(0.0)),
        Value::Table(t) if level < MAX_NESTING => {
            if let Some(len) = array_len(t)? {
                encode_len(out, len, 0x90, 0xdc);
                for i in 1..=len {
                    let item: Value = t.raw_get(i)?;
                    encode(out, &item, level + 1)?;
                }
            } else {
                let mut count: u64 = 0;
                for pair in t.pairs::<Value, Value>() {
                    pair?;
                    count += 1;
                }
                encode_len(out, count, 0x80, 0xde);
                for pair in t.pairs::<Value, Value>() {
                    let (k, v) = pair?;
                    encode(out, &k, level + 1)?;
                    encode(out, &v, level + 1)?;
                }
            }
        }
        _ => out.push(0xc0),
    }
    Ok(())
}

/// `Some(n)` when the keys are exactly 1..n, as lua-cmsgpack decides
/// (keys must be integers that fit a C int).
fn array_len(t: &Table) -> Answer<Option<u64>> {
    let mut count: i32 = 0;
    let mut max: i32 = 0;
    for pair in t.pairs::<Value, Value>() {
        let (k, _) = pair?;
        let Some(n) = as_number(&k) else {
            return Ok(None);
        };
        if n <= 0.0 || n.is_infinite() || f64::from(c_cast_int(n)) != n {
            return Ok(None);
        }
        if n > f64::from(max) {
            max = c_cast_int(n);
        }
        count = count.wrapping_add(1);
    }
    Ok((max == count).then_some(count as u64))
}

fn encode_len(out: &mut Vec<u8>, n: u64, fix: u8, tag16: u8) {
    if n <= 15 {
        out.push(fix | n as u8);
    } else if n <= 0xffff {
        out.push(tag16);
        out.extend_from_slice(&(n as u16).to_be_bytes());
    } else {
        out.push(tag16 + 1);
        out.extend_from_slice(&(n as u32).to_be_bytes());
    }
}

fn encode_bytes(out: &mut Vec<u8>, s: &[u8]) {
    let len = s.len();
    if len < 32 {
        out.push(0xa0 | len as u8);
    } else if len <= 0xff {
        out.extend_from_slice(&[0xd9, len as u8]);
    } else if len <= 0xffff {
        out.push(0xda);
        out.extend_from_slice(&(len as u16).to_be_bytes());
    } else {
        out.push(0xdb);
        out.extend_from_slice(&(len as u32).to_be_bytes());
    }
    out.extend_from_slice(s);
}

fn encode_number(out: &mut Vec<u8>, n: f64) {
    // C: !isinf(n) && (int64_t)n == n.
    if !n.is_infinite() && c_cast_long(n) as f64 == n {
        encode_int(out, c_cast_long(n));
    } else if f64::from(n as f32) == n {
        out.push(0xca);
        out.extend_from_slice(&(n as f32).to_be_bytes());
    } else {
        out.push(0xcb);
        out.extend_from_slice(&n.to_be_bytes());
    }
}

fn encode_int(out: &mut Vec<u8>, n: i64) {
    if n >= 0 {
        if n <= 127 {
            out.push(n as u8);
        } else if n <= 0xff {
            out.extend_from_slice(&[0xcc, n as u8]);
        } else if n <= 0xffff {
            out.push(0xcd);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        } else if n <= 0xffff_ffff {
            out.push(0xce);
            out.extend_from_slice(&(n as u32).to_be_bytes());
        } else {
            out.push(0xcf);
            out.extend_from_slice(&(n as u64).to_be_bytes());
        }
    } else if n >= -32 {
        out.push(n as i8 as u8);
    } else if n >= -128 {
        out.extend_from_slice(&[0xd0, n as i8 as u8]);
    } else if n >= -32768 {
        out.push(0xd1);
        out.extend_from_slice(&(n as i16).to_be_bytes());
    } else if n >= -2_147_483_648 {
        out.push(0xd2);
        out.extend_from_slice(&(n as i32).to_be_bytes());
    } else {
        out.push(0xd3);
        out.extend_from_slice(&n.to_be_bytes());
    }
}

// ===== Unpacking =====

const MISSING: &str = "Missing bytes in input.";

/// One item's header: a finished value, or a container still to fill.
enum Item {
    Value(Value),
    Array(u64),
    Map(u64),
}

/// A container being filled (its table is in the `Nest`, with a map's
/// pending key).
enum Open {
    Array { next: i64, left: u64 },
    Map { left: u64, has_key: bool },
}

struct Decoder<'a> {
    lua: &'a Lua,
    data: &'a [u8],
    pos: usize,
    /// Lua stack slots the C function would be using.
    slots: usize,
}

impl Decoder<'_> {
    fn left(&self) -> usize {
        self.data.len() - self.pos
    }

    /// The next `n` bytes, consumed.
    fn take(&mut self, n: usize) -> Answer<&[u8]> {
        if self.left() < n {
            return Err(MISSING.into());
        }
        let s = &self.data[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    fn be(&mut self, n: usize) -> Answer<u64> {
        Ok(self
            .take(n)?
            .iter()
            .fold(0u64, |acc, &b| (acc << 8) | u64::from(b)))
    }

    fn string(&mut self, len: usize) -> Answer<Item> {
        let lua = self.lua;
        let s = self.take(len)?;
        Ok(Item::Value(Value::String(lua.create_string(s)?)))
    }

    /// Reads one item header (and a whole scalar).
    fn item(&mut self) -> Answer<Item> {
        if self.left() == 0 {
            return Err(MISSING.into());
        }
        if self.slots + 1 > MAX_C_STACK {
            return Err(
                "stack overflow (too many return values at once; use unpack_one or unpack_limit instead.)".into(),
            );
        }
        let tag = self.data[self.pos];
        let num = |n: f64| Ok(Item::Value(Value::Number(n)));
        // Multi-byte items are checked whole before any byte is consumed.
        let need = |d: &Self, n: usize| {
            if d.left() < n {
                Err(Fail::from(MISSING))
            } else {
                Ok(())
            }
        };
        match tag {
            0xc0 => {
                self.pos += 1;
                Ok(Item::Value(Value::Nil))
            }
            0xc2 | 0xc3 => {
                self.pos += 1;
                Ok(Item::Value(Value::Boolean(tag == 0xc3)))
            }
            0xcc..=0xcf => {
                let n = 1 << (tag - 0xcc);
                need(self, 1 + n)?;
                self.pos += 1;
                // C pushes these as a signed lua_Integer.
                num(self.be(n)? as i64 as f64)
            }
            0xd0..=0xd3 => {
                let n = 1 << (tag - 0xd0);
                need(self, 1 + n)?;
                self.pos += 1;
                let v = self.be(n)?;
                let shift = 64 - 8 * n as u32;
                num(((v << shift) as i64 >> shift) as f64)
            }
            0xca => {
                need(self, 5)?;
                self.pos += 1;
                num(f64::from(f32::from_bits(self.be(4)? as u32)))
            }
            0xcb => {
                need(self, 9)?;
                self.pos += 1;
                num(f64::from_bits(self.be(8)?))
            }
            0xd9 | 0xda => {
                let n = 1 << (tag - 0xd9);
                need(self, 1 + n)?;
                let len =
                    u64::from_be_bytes(pad8(&self.data[self.pos + 1..self.pos + 1 + n])) as usize;
                need(self, 1 + n + len)?;
                self.pos += 1 + n;
                self.string(len)
            }
            0xdb => {
                need(self, 5)?;
                self.pos += 1;
                let len = self.be(4)? as usize;
                self.string(len)
            }
            0xdc..=0xdf => {
                let n = if tag & 1 == 0 { 2 } else { 4 };
                need(self, 1 + n)?;
                self.pos += 1;
                let len = self.be(n)?;
                Ok(if tag < 0xde {
                    Item::Array(len)
                } else {
                    Item::Map(len)
                })
            }
            _ if tag & 0x80 == 0 => {
                self.pos += 1;
                num(f64::from(tag))
            }
            _ if tag & 0xe0 == 0xe0 => {
                self.pos += 1;
                num(f64::from(tag as i8))
            }
            _ if tag & 0xe0 == 0xa0 => {
                let len = usize::from(tag & 0x1f);
                need(self, 1 + len)?;
                self.pos += 1;
                self.string(len)
            }
            _ if tag & 0xf0 == 0x90 => {
                self.pos += 1;
                Ok(Item::Array(u64::from(tag & 0xf)))
            }
            _ if tag & 0xf0 == 0x80 => {
                self.pos += 1;
                Ok(Item::Map(u64::from(tag & 0xf)))
            }
            _ => Err("Bad data format in input.".into()),
        }
    }

    /// Decodes one whole value, without recursion. Slots are counted as the
    /// C code uses them: a pushed value takes one, an array pushes each
    /// index before its item, a map keeps its key while reading the value.
    fn value(&mut self) -> Answer<Value> {
        let mut open: Vec<Open> = Vec::new();
        let mut nest = Nest::new(self.lua)?;
        loop {
            let mut done = match self.item()? {
                Item::Value(v) => {
                    self.slots += 1;
                    Some(v)
                }
                Item::Array(left) => {
                    self.slots += 1;
                    if self.slots + 1 > MAX_C_STACK {
                        return Err("stack overflow (in function mp_decode_to_lua_array)".into());
                    }
                    nest.push(self.lua.create_table()?)?;
                    open.push(Open::Array { next: 1, left });
                    None
                }
                Item::Map(left) => {
                    self.slots += 1;
                    nest.push(self.lua.create_table()?)?;
                    open.push(Open::Map {
                        left,
                        has_key: false,
                    });
                    None
                }
            };
            // Store finished values, close finished containers, until one
            // needs another item.
            loop {
                let Some(top) = open.last_mut() else {
                    return done.ok_or_else(|| Fail::from(MISSING));
                };
                if let Some(v) = done.take() {
                    match top {
                        Open::Array { next, left } => {
                            nest.top()?.raw_set(*next, v)?;
                            *next += 1;
                            *left -= 1;
                            self.slots = self.slots.saturating_sub(2);
                        }
                        Open::Map { left, has_key } => {
                            if *has_key {
                                let k = nest.aux()?;
                                set_field(&nest.top()?, k, v)?;
                                nest.set_aux(Value::Nil)?;
                                *has_key = false;
                                *left -= 1;
                                self.slots = self.slots.saturating_sub(2);
                            } else {
                                nest.set_aux(v)?;
                                *has_key = true;
                            }
                        }
                    }
                }
                match top {
                    Open::Array { left: 0, .. } | Open::Map { left: 0, .. } => {
                        open.pop();
                        done = Some(Value::Table(nest.pop()?));
                    }
                    Open::Array { .. } => {
                        // The index pushed before the item.
                        self.slots += 1;
                        break;
                    }
                    Open::Map { .. } => break,
                }
            }
        }
    }
}

fn pad8(b: &[u8]) -> [u8; 8] {
    let mut out = [0u8; 8];
    out[8 - b.len()..].copy_from_slice(b);
    out
}

/// `lua_settable` on a fresh table: nil and NaN keys are errors of the Lua
/// core (no position in front), a nil value stores nothing.
fn set_field(t: &Table, k: Value, v: Value) -> Answer<()> {
    match &k {
        Value::Nil => return Err(Fail::Plain(b"table index is nil".to_vec())),
        Value::Number(n) if n.is_nan() => return Err(Fail::Plain(b"table index is NaN".to_vec())),
        _ => {}
    }
    t.raw_set(k, v)?;
    Ok(())
}

/// `mp_unpack_full`: `slots` is what the C function has on its stack before
/// decoding (the arguments left there).
fn unpack_full(a: &Args, limit: i64, offset: i64, slots: usize) -> Answer<Ret> {
    let s = a.check_string(1)?;
    let data = s.as_bytes();
    let len = data.len();
    let decode_all = limit == 0 && offset == 0;
    if offset < 0 || limit < 0 {
        return Err(format!(
            "Invalid request to unpack with offset of {} and limit of {}.",
            offset as i32, len as i32
        )
        .into());
    }
    if offset as u64 > len as u64 {
        return Err(format!(
            "Start offset {} greater than input length {}.",
            offset as i32, len as i32
        )
        .into());
    }
    let limit = if decode_all {
        i64::from(i32::MAX)
    } else {
        limit
    };
    let mut d = Decoder {
        lua: a.lua,
        data: &data,
        pos: offset as usize,
        slots,
    };
    let results = a.lua.create_table()?;
    let mut count = 0usize;
    if !decode_all {
        count += 1; // the offset, set below
    }
    let mut cnt: i64 = 0;
    while d.left() > 0 && cnt < limit {
        let v = d.value()?;
        count += 1;
        results.raw_set(count, v)?;
        cnt += 1;
    }
    if !decode_all {
        if d.slots + 1 > MAX_C_STACK {
            return Err("stack overflow (in function mp_unpack_full)".into());
        }
        let next = if d.left() == 0 { -1.0 } else { d.pos as f64 };
        results.raw_set(1, next)?;
    }
    Ok(Ret::Seq(results, count))
}

#[cfg(test)]
mod tests {
    use super::super::testutil::{error, lua, run};

    const HEX: &str = "local function hex(s) local h = '' for i = 1, #s do h = h .. string.format('%02x', string.byte(s, i)) end return h end ";

    #[test]
    fn redis_pack_double() {
        // scripting.tcl "EVAL - cmsgpack can pack double?"
        let lua = lua();
        assert_eq!(
            run(&lua, &format!("{HEX} return hex(cmsgpack.pack(0.1))")),
            "cb3fb999999999999a"
        );
    }

    #[test]
    fn redis_pack_negative_int64() {
        // scripting.tcl "EVAL - cmsgpack can pack negative int64?"
        let lua = lua();
        assert_eq!(
            run(
                &lua,
                &format!("{HEX} return hex(cmsgpack.pack(-1099511627776))")
            ),
            "d3ffffff0000000000"
        );
    }

    #[test]
    fn redis_pack_unpack_smoke_test() {
        // scripting.tcl "EVAL - cmsgpack pack/unpack smoke test"
        let lua = lua();
        run(
            &lua,
            r#"
                local str_lt_32 = string.rep("x", 30)
                local str_lt_255 = string.rep("x", 250)
                local str_lt_65535 = string.rep("x", 65530)
                local str_long = string.rep("x", 100000)
                local array_lt_15 = {1, 2, 3, 4, 5}
                local array_lt_65535 = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18}
                local array_big = {}
                for i=1, 100000 do
                    array_big[i] = i
                end
                local map_lt_15 = {a=1, b=2}
                local map_big = {}
                for i=1, 100000 do
                    map_big[tostring(i)] = i
                end
                local some_map = {
                    s1=str_lt_32,
                    s2=str_lt_255,
                    s3=str_lt_65535,
                    s4=str_long,
                    d1=0.1,
                    i1=1,
                    i2=250,
                    i3=65530,
                    i4=100000,
                    i5=2^40,
                    i6=-1,
                    i7=-120,
                    i8=-32000,
                    i9=-100000,
                    i10=-3147483648,
                    a1=array_lt_15,
                    a2=array_lt_65535,
                    a3=array_big,
                    m1=map_lt_15,
                    m2=map_big,
                    b1=false,
                    b2=true,
                    n=nil
                }
                local encoded = cmsgpack.pack(some_map)
                local decoded = cmsgpack.unpack(encoded)
                assert(table.concat(some_map) == table.concat(decoded))
                local offset, decoded_one = cmsgpack.unpack_one(encoded, 0)
                assert(table.concat(some_map) == table.concat(decoded_one))
                assert(offset == -1)

                local encoded_multiple = cmsgpack.pack(str_lt_32, str_lt_255, str_lt_65535, str_long)
                local offset, obj = cmsgpack.unpack_limit(encoded_multiple, 1, 0)
                assert(obj == str_lt_32)
                offset, obj = cmsgpack.unpack_limit(encoded_multiple, 1, offset)
                assert(obj == str_lt_255)
                offset, obj = cmsgpack.unpack_limit(encoded_multiple, 1, offset)
                assert(obj == str_lt_65535)
                offset, obj = cmsgpack.unpack_limit(encoded_multiple, 1, offset)
                assert(obj == str_long)
                assert(offset == -1)
                return true
            "#,
        );
    }

    #[test]
    fn redis_circular_references() {
        // scripting.tcl "EVAL - cmsgpack can pack and unpack circular references?"
        let lua = lua();
        let got = run(
            &lua,
            &format!(
                "{HEX}
                local a = {{x=nil,y=5}}
                local b = {{x=a}}
                a['x'] = b
                local encoded = cmsgpack.pack(a)
                local h = hex(encoded)
                local re = cmsgpack.unpack(encoded)
                assert(re)
                assert(re.x)
                assert(re.x.x.y == re.y)
                assert(re.x.x.x.x.y == re.y)
                assert(re.x.x.x.x.x.x.y == re.y)
                assert(re.x.x.x.x.x.x.x.x.x.x.y == re.y)
                assert(re.x.x.x.x.x.x.x.x.x.x.x.x.x.x.y == re.y)
                assert(re.x.x.x.x.x.x.x.x.x.x.x.x.x.x.x)
                assert(re.x.x.x.x.x.x.x.x.x.x.x.x.x.x.x.x == nil)
                return h .. ' ' .. tostring(re.x.x.x.x.x.x.x.x.y == re.y) .. ' ' .. tostring(re.y == 5)"
            ),
        );
        assert_eq!(
            got,
            "82a17905a17881a17882a17905a17881a17882a17905a17881a17882a17905a17881a17882a17905a17881a17882a17905a17881a17882a17905a17881a17882a17905a17881a178c0 true true"
        );
    }

    #[test]
    fn pack_encodings() {
        let lua = lua();
        let cases = [
            (
                "cmsgpack.pack(0, 127, 128, 256, 65536, 2^32, -1, -33, -129, -32769, -2^31-1)",
                "007fcc80cd0100ce00010000cf0000000100000000ffd0dfd1ff7fd2ffff7fffd3ffffffff7fffffff",
            ),
            ("cmsgpack.pack(1.5, 1/0, -0.0)", "ca3fc00000ca7f80000000"),
            (
                "cmsgpack.pack(true, false, nil, print, cjson.null)",
                "c3c2c0c0c0",
            ),
            (
                "cmsgpack.pack({}, {1, 2}, {a=1}, {[1]=1, [3]=3}, {[0]=1})",
                "9092010281a16101820101030381000 1",
            ),
            ("cmsgpack.pack(string.rep('x', 32)):sub(1, 2)", "d920"),
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
    fn unpack_values_and_errors() {
        let lua = lua();
        let got = run(
            &lua,
            r"local a, b, c, d = cmsgpack.unpack('\207\255\255\255\255\255\255\255\255\211\128\0\0\0\0\0\0\0\202\63\192\0\0\217\3abc')
              return tostring(a) .. ' ' .. tostring(b) .. ' ' .. tostring(c) .. ' ' .. d",
        );
        assert_eq!(got, "-1 -9.2233720368548e+18 1.5 abc");
        assert_eq!(run(&lua, r"return select('#', cmsgpack.unpack(''))"), "0");
        assert_eq!(
            run(
                &lua,
                r"local o, v = cmsgpack.unpack_one('\1\2') return o .. ' ' .. v"
            ),
            "1 1"
        );
        let cases = [
            (r"cmsgpack.unpack('\193')", "Bad data format in input."),
            (r"cmsgpack.unpack('\145')", "Missing bytes in input."),
            (r"cmsgpack.unpack('\129\192\1')", "table index is nil"),
            (
                r"cmsgpack.unpack_one('\1\2', 3)",
                "Start offset 3 greater than input length 2.",
            ),
            (
                r"cmsgpack.unpack_one('\1\2', -1)",
                "Invalid request to unpack with offset of -1 and limit of 2.",
            ),
            (
                "cmsgpack.pack()",
                "bad argument #0 to '?' (MessagePack pack needs input.)",
            ),
            (
                r"cmsgpack.unpack(string.rep('\145', 20000) .. '\192')",
                "stack overflow (in function mp_decode_to_lua_array)",
            ),
            (
                r"cmsgpack.unpack(string.rep('\0', 8000))",
                "stack overflow (too many return values at once; use unpack_one or unpack_limit instead.)",
            ),
        ];
        for (expr, want) in cases {
            let (f, args) = expr.split_once('(').unwrap_or((expr, ")"));
            let sep = if args == ")" { "" } else { ", " };
            let code = format!("local ok, e = pcall({f}{sep}{args} error(e, 0)");
            assert_eq!(error(&lua, &code), want, "{expr}");
        }
        assert_eq!(
            run(
                &lua,
                r"return select('#', cmsgpack.unpack(string.rep('\0', 7999)))"
            ),
            "7999"
        );
    }
}
