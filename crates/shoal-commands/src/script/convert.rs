//! Conversions between Lua values and RESP, as Redis 7.0 makes them.
//!
//! A script's return value becomes the reply to its caller (in the caller's protocol); a
//! command's reply becomes a Lua value for `redis.call` in [`super::raw`].

use mlua::{Table, Value};
use shoal_resp::Reply;

/// Nesting a reply deeper than this answers `-ERR reached lua stack limit` in its place (a
/// table that contains itself would otherwise never end).
const MAX_DEPTH: usize = 1000;

/// Writes a script's result `v` to `out` (the caller's protocol).
/// `lr3`: the script switched to RESP3 with `redis.setresp(3)` (booleans then stay
/// booleans; under RESP2 true is 1 and false is null).
/// `count(msg, counted)`: an error reply inside the result, and whether it was counted in
/// INFO errorstats already (Redis counts every error it writes, unless its table says so).
pub fn lua_to_reply(out: &mut Reply, v: &Value, lr3: bool, count: &dyn Fn(&[u8], bool)) {
    write_value(out, v, 0, lr3, count);
}

fn write_value(out: &mut Reply, v: &Value, depth: usize, lr3: bool, count: &dyn Fn(&[u8], bool)) {
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
        Value::Table(t) => write_table(out, t, depth, lr3, count),
        // redis.call's error caught by pcall and returned.
        Value::Error(e) => match super::run::find_script_err(e) {
            Some(se) => {
                count(se.msg.as_bytes(), se.counted);
                out.error(&se.msg)
            }
            None => {
                let msg = format!("ERR {e}");
                count(msg.as_bytes(), false);
                out.error(msg)
            }
        },
        _ => out.null(),
    }
}

/// Lua numbers become integers by truncation (`return 100.5` answers 100); one out of
/// range (or NaN) is what x86's cast gives Redis, i64::MIN.
pub(super) fn truncate(n: f64) -> i64 {
    if n.is_nan() || !(-(i64::MAX as f64)..i64::MAX as f64).contains(&n) {
        i64::MIN
    } else {
        n as i64
    }
}

fn field(t: &Table, name: &str) -> Value {
    t.raw_get::<Value>(name).unwrap_or(Value::Nil)
}

fn write_table(out: &mut Reply, t: &Table, depth: usize, lr3: bool, count: &dyn Fn(&[u8], bool)) {
    if depth >= MAX_DEPTH {
        out.error("ERR reached lua stack limit");
        return;
    }
    // {err=...}: an error reply; {ok=...}: a status reply.
    if let Value::String(e) = field(t, "err") {
        let msg = e.as_bytes();
        let msg = error_text(&msg);
        count(
            msg,
            matches!(field(t, super::call::COUNTED), Value::Boolean(true)),
        );
        out.error(msg);
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
            write_value(out, k, depth + 1, lr3, count);
            write_value(out, v, depth + 1, lr3, count);
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
            write_value(out, k, depth + 1, lr3, count);
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
        write_value(out, v, depth + 1, lr3, count);
    }
}

/// An error table's message as a reply: Redis sends the bytes the script gave (no code is
/// added, and an empty one is a bare `-`), read as a C string (up to a NUL byte), without
/// the line breaks it ends with (the reply has the others as spaces).
pub(super) fn error_text(msg: &[u8]) -> &[u8] {
    let msg = super::run::lua_text(msg);
    let end = msg
        .iter()
        .rposition(|&c| c != b'\r' && c != b'\n')
        .map_or(0, |i| i + 1);
    &msg[..end]
}
