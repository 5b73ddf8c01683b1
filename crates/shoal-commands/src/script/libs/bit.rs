//! `bit`: LuaBitOp 1.0.2 (Mike Pall), as Redis loads it.
//!
//! Numbers are normalised to 32 bits the way LuaBitOp does on doubles: add
//! 2^52+2^51 and keep the low 32 bits of the result, so fractions round to
//! nearest-even and large numbers wrap modulo 2^32; results are signed 32-bit
//! numbers.
//!
//! Difference from the C original: `bit.tohex(x, -2^31)` overflowed a buffer
//! there (CVE-2024-31449); here it gives 8 upper-case digits, as the fixed
//! LuaBitOp does.

use super::{Answer, Args, Ret, add, one};
use mlua::{Lua, Table, Value};

/// The function table.
pub(super) fn create(lua: &Lua) -> mlua::Result<Table> {
    let t = lua.create_table()?;
    add(lua, &t, "tobit", |a| ret(barg(a, 1)?))?;
    add(lua, &t, "bnot", |a| ret(!barg(a, 1)?))?;
    add(lua, &t, "band", |a| fold(a, |x, y| x & y))?;
    add(lua, &t, "bor", |a| fold(a, |x, y| x | y))?;
    add(lua, &t, "bxor", |a| fold(a, |x, y| x ^ y))?;
    add(lua, &t, "lshift", |a| shift(a, |b, n| b << n))?;
    add(lua, &t, "rshift", |a| shift(a, |b, n| b >> n))?;
    add(lua, &t, "arshift", |a| {
        shift(a, |b, n| ((b as i32) >> n) as u32)
    })?;
    add(lua, &t, "rol", |a| shift(a, |b, n| b.rotate_left(n)))?;
    add(lua, &t, "ror", |a| shift(a, |b, n| b.rotate_right(n)))?;
    add(lua, &t, "bswap", |a| ret(barg(a, 1)?.swap_bytes()))?;
    add(lua, &t, "tohex", tohex)?;
    Ok(t)
}

/// The 32 bits of argument `i` (`lua_tonumber`, so numeric strings count).
fn barg(a: &Args, i: usize) -> Answer<u32> {
    let n = a.to_number(i)?;
    let b = (n.unwrap_or(0.0) + 6_755_399_441_055_744.0).to_bits() as u32;
    if b == 0 && n.is_none() {
        return Err(a.type_error(i, "number"));
    }
    Ok(b)
}

fn ret(b: u32) -> Answer<Ret> {
    Ok(one(Value::Number(f64::from(b as i32))))
}

/// band/bor/bxor: the first argument, then the others from the last down.
fn fold(a: &Args, op: fn(u32, u32) -> u32) -> Answer<Ret> {
    let mut b = barg(a, 1)?;
    for i in (2..=a.len()).rev() {
        b = op(b, barg(a, i)?);
    }
    ret(b)
}

fn shift(a: &Args, op: fn(u32, u32) -> u32) -> Answer<Ret> {
    let b = barg(a, 1)?;
    let n = barg(a, 2)? & 31;
    ret(op(b, n))
}

fn tohex(a: &Args) -> Answer<Ret> {
    let mut b = barg(a, 1)?;
    let mut n = if a.get(2).is_none() {
        8
    } else {
        barg(a, 2)? as i32
    };
    let mut digits: &[u8; 16] = b"0123456789abcdef";
    if n < 0 {
        n = n.saturating_neg();
        digits = b"0123456789ABCDEF";
    }
    let n = n.min(8) as usize;
    let mut buf = [0u8; 8];
    for slot in buf[..n].iter_mut().rev() {
        *slot = digits[(b & 15) as usize];
        b >>= 4;
    }
    Ok(one(Value::String(a.lua.create_string(&buf[..n])?)))
}

#[cfg(test)]
mod tests {
    use super::super::testutil::{error, lua, run};

    #[test]
    fn redis_minimal_bitop_functionality() {
        // scripting.tcl "EVAL - Verify minimal bitop functionality"
        let lua = lua();
        run(
            &lua,
            "assert(bit.tobit(1) == 1);
             assert(bit.band(1) == 1);
             assert(bit.bxor(1,2) == 3);
             assert(bit.bor(1,2,4,8,16,32,64,128) == 255)
             return true",
        );
    }

    #[test]
    fn redis_numerical_sanity() {
        // scripting.tcl "EVAL - Numerical sanity check from bitop"
        let lua = lua();
        run(
            &lua,
            r#"assert(0x7fffffff == 2147483647, "broken hex literals");
               assert(0xffffffff == -1 or 0xffffffff == 2^32-1, "broken hex literals");
               assert(tostring(-1) == "-1", "broken tostring()");
               assert(tostring(0xffffffff) == "-1" or tostring(0xffffffff) == "4294967295",
                   "broken tostring()")
               return true"#,
        );
    }

    #[test]
    fn normalisation() {
        let lua = lua();
        let cases = [
            ("bit.tobit(0xffffffff)", "-1"),
            ("bit.tobit(2^32 + 5)", "5"),
            ("bit.tobit(1.5)", "2"),
            ("bit.tobit(2.5)", "2"),
            ("bit.tobit(-1.5)", "-2"),
            ("bit.tobit('12')", "12"),
            ("bit.tobit(0/0)", "0"),
            ("bit.tobit(1/0)", "0"),
            ("bit.tobit(2^53)", "0"),
            ("bit.bnot(0)", "-1"),
            ("bit.band(0xff00ff, 0xfff0, 0xf000ff)", "240"),
            ("bit.bor(1, 2, 4)", "7"),
            ("bit.bxor(0xf0, 0xff)", "15"),
            ("bit.lshift(1, 31)", "-2147483648"),
            ("bit.lshift(1, 32)", "1"),
            ("bit.rshift(-1, 28)", "15"),
            ("bit.arshift(-256, 4)", "-16"),
            ("bit.rol(0x12345678, 12)", "1164411171"),
            ("bit.ror(0x12345678, 12)", "1736516421"),
            ("bit.rol(5, 0)", "5"),
            ("bit.bswap(0x12345678)", "2018915346"),
            ("bit.tohex(1)", "00000001"),
            ("bit.tohex(-1)", "ffffffff"),
            ("bit.tohex(0x2345, -4)", "2345"),
            ("bit.tohex(0xabcd, -4)", "ABCD"),
            ("bit.tohex(0xabcd, 2)", "cd"),
            ("bit.tohex(0xabcd, 20)", "0000abcd"),
            ("bit.tohex(0xabcd, 0)", ""),
            ("bit.tohex(0xabcd, -2^31)", "0000ABCD"),
        ];
        for (expr, want) in cases {
            assert_eq!(run(&lua, &format!("return {expr}")), want, "{expr}");
        }
    }

    #[test]
    fn errors() {
        let lua = lua();
        assert_eq!(
            error(&lua, "return bit.band('z')"),
            "user_script:1: bad argument #1 to 'band' (number expected, got string)"
        );
        assert_eq!(
            error(&lua, "return bit.band(1, 'y', 'z')"),
            "user_script:1: bad argument #3 to 'band' (number expected, got string)"
        );
        assert_eq!(
            error(&lua, "return bit.tobit()"),
            "user_script:1: bad argument #1 to 'tobit' (number expected, got no value)"
        );
        assert_eq!(
            error(&lua, "return bit.tohex(1, nil)"),
            "user_script:1: bad argument #2 to 'tohex' (number expected, got nil)"
        );
        assert_eq!(
            error(&lua, "local ok, e = pcall(bit.lshift, 1, {}) error(e, 0)"),
            "bad argument #2 to '?' (number expected, got table)"
        );
    }
}
