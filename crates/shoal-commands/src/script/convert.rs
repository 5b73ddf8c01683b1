//! Conversions between Lua values and RESP, as Redis 7.0 makes them.
//!
//! A command's reply (RESP2 or RESP3, as the script chose with `redis.setresp`) becomes a Lua
//! value for `redis.call`; a script's return value becomes the reply to its caller (in the
//! caller's protocol).

use mlua::{Lua, Table, Value};
use shoal_resp::Reply;

/// Nesting a reply deeper than this answers `-ERR reached lua stack limit` in its place (a
/// table that contains itself would otherwise never end).
const MAX_DEPTH: usize = 1000;

/// Writes a script's result `v` to `out` (the caller's protocol).
/// `lr3`: the script switched to RESP3 with `redis.setresp(3)` (booleans then stay
/// booleans; under RESP2 true is 1 and false is null).
pub fn lua_to_reply(out: &mut Reply, v: &Value, lr3: bool) {
    write_value(out, v, 0, lr3);
}

fn write_value(out: &mut Reply, v: &Value, depth: usize, lr3: bool) {
    match v {
        Value::String(s) => out.bulk(&s.as_bytes()),
        Value::Boolean(b) if lr3 => {
            if out.resp3() {
                out.bool(*b)
            } else {
                out.int(*b as i64)
            }
        }
        Value::Boolean(true) => out.int(1),
        Value::Boolean(false) => out.null(),
        Value::Integer(n) => out.int(*n),
        Value::Number(n) => out.int(truncate(*n)),
        Value::Table(t) => write_table(out, t, depth, lr3),
        // redis.call's error caught by pcall and returned.
        Value::Error(e) => match super::run::find_script_err(e) {
            Some(se) => out.error(&se.msg),
            None => out.error(&format!("ERR {e}")),
        },
        _ => out.null(),
    }
}

/// Lua numbers become integers by truncation (`return 100.5` answers 100); one out of
/// range (or NaN) is what x86's cast gives Redis, i64::MIN.
fn truncate(n: f64) -> i64 {
    if n.is_nan() || !(-(i64::MAX as f64)..i64::MAX as f64).contains(&n) {
        i64::MIN
    } else {
        n as i64
    }
}

fn field(t: &Table, name: &str) -> Value {
    t.raw_get::<Value>(name).unwrap_or(Value::Nil)
}

fn write_table(out: &mut Reply, t: &Table, depth: usize, lr3: bool) {
    if depth >= MAX_DEPTH {
        out.error("ERR reached lua stack limit");
        return;
    }
    // {err=...}: an error reply; {ok=...}: a status reply.
    if let Value::String(e) = field(t, "err") {
        let msg = e.to_string_lossy();
        out.error(&error_text(&msg));
        return;
    }
    if let Value::String(s) = field(t, "ok") {
        let s = s.to_string_lossy();
        out.simple(s.replace(['\r', '\n'], " ").as_bytes());
        return;
    }
    if let Value::Number(_) | Value::Integer(_) = field(t, "double") {
        let d = match field(t, "double") {
            Value::Number(n) => n,
            Value::Integer(n) => n as f64,
            _ => 0.0,
        };
        let text = super::call::fmt_g(d, 17);
        if out.resp3() {
            out.raw(b",");
            out.raw(text.as_bytes());
            out.raw(b"\r\n");
        } else {
            out.bulk(text.as_bytes());
        }
        return;
    }
    if let Value::String(s) = field(t, "big_number") {
        let s: Vec<u8> = s
            .as_bytes()
            .iter()
            .map(|&c| if c == b'\r' || c == b'\n' { b' ' } else { c })
            .collect();
        if out.resp3() {
            out.raw(b"(");
            out.raw(&s);
            out.raw(b"\r\n");
        } else {
            out.bulk(&s);
        }
        return;
    }
    if let Value::Table(m) = field(t, "map") {
        let pairs: Vec<(Value, Value)> = m.pairs::<Value, Value>().flatten().collect();
        out.map(pairs.len());
        for (k, v) in &pairs {
            write_value(out, k, depth + 1, lr3);
            write_value(out, v, depth + 1, lr3);
        }
        return;
    }
    if let Value::Table(s) = field(t, "set") {
        let members: Vec<Value> = s
            .pairs::<Value, Value>()
            .flatten()
            .map(|(k, _)| k)
            .collect();
        out.set(members.len());
        for k in &members {
            write_value(out, k, depth + 1, lr3);
        }
        return;
    }
    if let Value::Table(v) = field(t, "verbatim_string") {
        let s = match field(&v, "string") {
            Value::String(s) => s.as_bytes().to_vec(),
            _ => Vec::new(),
        };
        out.verbatim(&s);
        return;
    }
    // An array: elements up to the first nil.
    let mut items = Vec::new();
    for i in 1.. {
        match t.raw_get::<Value>(i) {
            Ok(Value::Nil) | Err(_) => break,
            Ok(v) => items.push(v),
        }
    }
    out.array(items.len());
    for v in &items {
        write_value(out, v, depth + 1, lr3);
    }
}

/// An error table's message as a reply: Redis sends what the script gave, minus line breaks
/// (no code is added, and an empty one is a bare `-`).
fn error_text(msg: &str) -> String {
    msg.to_string()
}

/// Parses one RESP reply from `buf` (a command's whole reply) into a Lua value, as
/// `redis.call` returns it.
pub fn reply_to_lua(lua: &Lua, buf: &[u8]) -> mlua::Result<Value> {
    let mut p = Parser { buf, pos: 0 };
    p.value(lua, 0)
}

struct Parser<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl Parser<'_> {
    fn line(&mut self) -> mlua::Result<&[u8]> {
        let rest = &self.buf[self.pos.min(self.buf.len())..];
        let Some(end) = rest.windows(2).position(|w| w == b"\r\n") else {
            return Err(mlua::Error::runtime("ERR bad reply from command"));
        };
        self.pos += end + 2;
        Ok(&rest[..end])
    }

    fn int(&mut self) -> mlua::Result<i64> {
        let l = self.line()?;
        shoal_resp::parse_i64(l).ok_or_else(|| mlua::Error::runtime("ERR bad reply from command"))
    }

    fn bulk_body(&mut self, n: usize) -> mlua::Result<&[u8]> {
        let start = self.pos;
        let end = start + n;
        if end + 2 > self.buf.len() {
            return Err(mlua::Error::runtime("ERR bad reply from command"));
        }
        self.pos = end + 2;
        Ok(&self.buf[start..end])
    }

    fn value(&mut self, lua: &Lua, depth: usize) -> mlua::Result<Value> {
        if depth > MAX_DEPTH {
            return Err(mlua::Error::runtime("ERR reply nested too deep"));
        }
        let Some(&tag) = self.buf.get(self.pos) else {
            return Err(mlua::Error::runtime("ERR bad reply from command"));
        };
        self.pos += 1;
        Ok(match tag {
            b'+' => {
                let s = lua.create_string(self.line()?)?;
                let t = lua.create_table()?;
                t.raw_set("ok", s)?;
                Value::Table(t)
            }
            b'-' => {
                let s = lua.create_string(self.line()?)?;
                let t = lua.create_table()?;
                t.raw_set("err", s)?;
                Value::Table(t)
            }
            b':' => Value::Integer(self.int()?),
            b'$' => {
                let n = self.int()?;
                if n < 0 {
                    Value::Boolean(false)
                } else {
                    Value::String(lua.create_string(self.bulk_body(n as usize)?)?)
                }
            }
            b'*' | b'~' | b'>' => {
                let n = self.int()?;
                if n < 0 {
                    return Ok(Value::Boolean(false));
                }
                let items = lua.create_table_with_capacity(n.min(1024) as usize, 0)?;
                for i in 0..n as usize {
                    let v = self.value(lua, depth + 1)?;
                    if tag == b'~' {
                        items.raw_set(v, true)?;
                    } else {
                        items.raw_seti(i + 1, v)?;
                    }
                }
                if tag == b'~' {
                    let t = lua.create_table()?;
                    t.raw_set("set", items)?;
                    Value::Table(t)
                } else {
                    Value::Table(items)
                }
            }
            b'%' => {
                let n = self.int()?;
                let m = lua.create_table()?;
                for _ in 0..n.max(0) {
                    let k = self.value(lua, depth + 1)?;
                    let v = self.value(lua, depth + 1)?;
                    m.raw_set(k, v)?;
                }
                let t = lua.create_table()?;
                t.raw_set("map", m)?;
                Value::Table(t)
            }
            b'_' => {
                self.line()?;
                Value::Nil
            }
            b'#' => Value::Boolean(self.line()? == b"t"),
            b',' => {
                let l = self.line()?;
                let d = std::str::from_utf8(l)
                    .ok()
                    .and_then(|s| match s {
                        "inf" => Some(f64::INFINITY),
                        "-inf" => Some(f64::NEG_INFINITY),
                        "nan" => Some(f64::NAN),
                        _ => s.parse::<f64>().ok(),
                    })
                    .unwrap_or(0.0);
                let t = lua.create_table()?;
                t.raw_set("double", d)?;
                Value::Table(t)
            }
            b'(' => {
                let s = lua.create_string(self.line()?)?;
                let t = lua.create_table()?;
                t.raw_set("big_number", s)?;
                Value::Table(t)
            }
            b'=' => {
                let n = self.int()?.max(0) as usize;
                let body = self.bulk_body(n)?;
                let (fmt, text) = if body.len() >= 4 && body[3] == b':' {
                    (&body[..3], &body[4..])
                } else {
                    (&b"txt"[..], body)
                };
                let v = lua.create_table()?;
                v.raw_set("format", lua.create_string(fmt)?)?;
                v.raw_set("string", lua.create_string(text)?)?;
                let t = lua.create_table()?;
                t.raw_set("verbatim_string", v)?;
                Value::Table(t)
            }
            _ => return Err(mlua::Error::runtime("ERR bad reply from command")),
        })
    }
}
