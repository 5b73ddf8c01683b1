//! The four C libraries Redis 7.0 loads into its Lua 5.1 scripting state
//! (`cjson`, `cmsgpack`, `bit`, `struct`), written in Rust on mlua's API so
//! that scripts see the same functions, results and error messages.
//!
//! Every library function is a Rust callback behind a small C trampoline
//! (see [`trampoline`]): the callback answers `true, results...` or
//! `false, message`, and the trampoline raises the message as a plain Lua
//! string with the caller's position in front, exactly as `luaL_error` does
//! (so `pcall` gives scripts a string, not an mlua error userdata). Being a C
//! function, the trampoline is named in argument errors the way
//! `luaL_argerror` names the C original ("bad argument #1 to 'encode'", or
//! `'?'` when called through `pcall`).
//!
//! Where the C code has fixed Lua stack limits (LUAI_MAXCSTACK, 8000 slots)
//! that bound nesting or the number of results, the same limits are counted
//! here, so the same inputs fail with the same messages; nothing recurses on
//! the Rust stack without a bound.

mod bit;
mod cjson;
mod cmsgpack;
mod structlib;

use mlua::{Function, Lua, MultiValue, Table, Value, ffi};
use std::ffi::c_int;

/// Creates the global tables `cjson`, `cmsgpack`, `bit` and `struct`.
#[cfg(test)]
pub fn load(lua: &Lua) -> mlua::Result<()> {
    let globals = lua.globals();
    for name in NAMES {
        if let Some(t) = create(lua, name.as_bytes())? {
            globals.raw_set(name, t)?;
        }
    }
    Ok(())
}

/// The libraries' global names.
pub const NAMES: [&str; 4] = ["cjson", "cmsgpack", "bit", "struct"];

/// Library `name`'s table, made now (`None`: no such library). The sandbox makes each the
/// first time a script of the state names it: together they are 17 KB of every thread's Lua
/// heap that most deployments never use.
pub fn create(lua: &Lua, name: &[u8]) -> mlua::Result<Option<mlua::Table>> {
    Ok(Some(match name {
        b"cjson" => cjson::create(lua)?,
        b"cmsgpack" => cmsgpack::create(lua)?,
        b"bit" => bit::create(lua)?,
        b"struct" => structlib::create(lua)?,
        _ => return Ok(None),
    }))
}

/// Lua 5.1's LUAI_MAXCSTACK: how many stack slots a C function may use.
const MAX_C_STACK: usize = 8000;

/// What a library function gives back.
pub(super) enum Ret {
    /// A few values, returned as they are.
    Few(MultiValue),
    /// Many values, in a sequence table of that length: the trampoline
    /// returns them one by one (mlua checks a callback's stack more tightly
    /// than Lua checks a C function's, and holds few handles at once).
    Seq(Table, usize),
}

/// Why a library function stopped.
pub(super) enum Fail {
    /// Raised to the script as a string, as `luaL_error` does (with the
    /// position of the calling Lua code in front).
    Msg(Vec<u8>),
    /// Raised as it is, as errors from the Lua core are ("table index is nil").
    Plain(Vec<u8>),
    /// An error of mlua itself (memory, ...), passed on as it is.
    Lua(mlua::Error),
}

impl From<mlua::Error> for Fail {
    fn from(e: mlua::Error) -> Self {
        Fail::Lua(e)
    }
}

impl From<String> for Fail {
    fn from(s: String) -> Self {
        Fail::Msg(s.into_bytes())
    }
}

impl From<&str> for Fail {
    fn from(s: &str) -> Self {
        Fail::Msg(s.as_bytes().to_vec())
    }
}

pub(super) type Answer<T> = Result<T, Fail>;

/// Tables being built or walked, each with one extra value (a pending key),
/// kept in a Lua table instead of as mlua handles: mlua can hold only about
/// 8000 handles at once, fewer than the nesting the C code allows.
pub(super) struct Nest {
    store: Table,
    len: usize,
}

impl Nest {
    pub fn new(lua: &Lua) -> mlua::Result<Self> {
        Ok(Nest {
            store: lua.create_table()?,
            len: 0,
        })
    }

    pub fn push(&mut self, t: Table) -> mlua::Result<()> {
        self.len += 1;
        self.store.raw_set(2 * self.len - 1, t)
    }

    /// The innermost table.
    pub fn top(&self) -> mlua::Result<Table> {
        if self.len == 0 {
            return Err(mlua::Error::runtime("no open table"));
        }
        self.store.raw_get(2 * self.len - 1)
    }

    /// Removes the innermost table and gives it back.
    pub fn pop(&mut self) -> mlua::Result<Table> {
        let t = self.top()?;
        self.store.raw_set(2 * self.len - 1, Value::Nil)?;
        self.store.raw_set(2 * self.len, Value::Nil)?;
        self.len -= 1;
        Ok(t)
    }

    /// The extra value of the innermost table.
    pub fn aux(&self) -> mlua::Result<Value> {
        self.store.raw_get(2 * self.len)
    }

    pub fn set_aux(&self, v: Value) -> mlua::Result<()> {
        self.store.raw_set(2 * self.len, v)
    }
}

/// The arguments of one call, with the checks of `lauxlib` (1-based, as in C).
pub(super) struct Args<'a> {
    pub lua: &'a Lua,
    vals: Vec<Value>,
}

impl Args<'_> {
    pub fn len(&self) -> usize {
        self.vals.len()
    }

    /// Argument `i` (1-based), `None` past the last one ("no value").
    pub fn get(&self, i: usize) -> Option<&Value> {
        i.checked_sub(1).and_then(|i| self.vals.get(i))
    }

    /// The same arguments followed by a nil.
    pub fn with_nil_after(&self) -> Self {
        let mut vals = self.vals.clone();
        vals.push(Value::Nil);
        Args {
            lua: self.lua,
            vals,
        }
    }

    pub fn is_nil_or_none(&self, i: usize) -> bool {
        matches!(self.get(i), None | Some(Value::Nil))
    }

    /// The `luaL_argerror` message; the function name is found as C finds
    /// it, from how the caller called the function.
    pub fn arg_error(&self, narg: i64, msg: impl AsRef<[u8]>) -> Fail {
        let msg = msg.as_ref();
        let (name, what) = self
            .lua
            .inspect_stack(1, |d| {
                let n = d.names();
                (n.name.map(|s| s.into_owned()), n.name_what)
            })
            .unwrap_or((None, None));
        let mut narg = narg;
        if what == Some("method") {
            narg -= 1;
            if narg == 0 {
                let name = name.as_deref().unwrap_or("?");
                let mut m = format!("calling '{name}' on bad self (").into_bytes();
                m.extend_from_slice(msg);
                m.push(b')');
                return Fail::Msg(m);
            }
        }
        let name = name.as_deref().unwrap_or("?");
        let mut m = format!("bad argument #{narg} to '{name}' (").into_bytes();
        m.extend_from_slice(msg);
        m.push(b')');
        Fail::Msg(m)
    }

    /// The `luaL_typerror` message.
    pub fn type_error(&self, i: usize, expected: &str) -> Fail {
        let got = self.get(i).map_or("no value", type_name);
        self.arg_error(i as i64, format!("{expected} expected, got {got}"))
    }

    /// `lua_tonumber`: numbers, and strings Lua converts to numbers.
    pub fn to_number(&self, i: usize) -> Answer<Option<f64>> {
        match self.get(i) {
            Some(Value::Integer(n)) => Ok(Some(*n as f64)),
            Some(Value::Number(n)) => Ok(Some(*n)),
            Some(v @ Value::String(_)) => Ok(self.lua.coerce_number(v.clone())?),
            _ => Ok(None),
        }
    }

    /// `luaL_checknumber`.
    pub fn check_number(&self, i: usize) -> Answer<f64> {
        self.to_number(i)?
            .ok_or_else(|| self.type_error(i, "number"))
    }

    /// `luaL_checkinteger` (a C cast of the number to `lua_Integer`).
    pub fn check_integer(&self, i: usize) -> Answer<i64> {
        self.check_number(i).map(c_cast_long)
    }

    /// `luaL_optinteger`.
    pub fn opt_integer(&self, i: usize, default: i64) -> Answer<i64> {
        if self.is_nil_or_none(i) {
            Ok(default)
        } else {
            self.check_integer(i)
        }
    }

    /// `luaL_checklstring`: strings, and numbers converted as Lua does.
    pub fn check_string(&self, i: usize) -> Answer<mlua::String> {
        let s = match self.get(i) {
            Some(Value::String(s)) => Some(s.clone()),
            Some(v @ (Value::Integer(_) | Value::Number(_))) => {
                self.lua.coerce_string(v.clone())?
            }
            _ => None,
        };
        s.ok_or_else(|| self.type_error(i, "string"))
    }
}

/// `lua_typename(lua_type(v))`.
pub(super) fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Nil => "nil",
        Value::Boolean(_) => "boolean",
        Value::Integer(_) | Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Table(_) => "table",
        Value::Function(_) => "function",
        Value::Thread(_) => "thread",
        _ => "userdata",
    }
}

/// A number as a double, for any Lua number value.
pub(super) fn as_number(v: &Value) -> Option<f64> {
    match v {
        Value::Integer(n) => Some(*n as f64),
        Value::Number(n) => Some(*n),
        _ => None,
    }
}

/// C's `(long)d` on x86-64: truncation, and LONG_MIN when out of range.
pub(super) fn c_cast_long(d: f64) -> i64 {
    // 2^63 and -2^63 are exact doubles; NaN fails the range test too.
    if !(-9_223_372_036_854_775_808.0..9_223_372_036_854_775_808.0).contains(&d) {
        i64::MIN
    } else {
        d as i64
    }
}

/// C's `(int)d` on x86-64: truncation, and INT_MIN when out of range.
pub(super) fn c_cast_int(d: f64) -> i32 {
    if !(-2_147_483_648.0..2_147_483_648.0).contains(&d.trunc()) {
        i32::MIN
    } else {
        d as i32
    }
}

/// The C function scripts call: it calls the Rust callback (its upvalue)
/// with the same arguments and turns its answer into results or an error.
///
/// Safety: only Lua API calls happen here and no Rust value with a destructor
/// is alive, so the longjmp of `lua_error` (or of an error inside `lua_call`)
/// skips nothing that needs dropping.
unsafe extern "C-unwind" fn trampoline(state: *mut ffi::lua_State) -> c_int {
    unsafe {
        let nargs = ffi::lua_gettop(state);
        ffi::lua_pushvalue(state, ffi::lua_upvalueindex(1));
        ffi::lua_insert(state, 1);
        ffi::lua_call(state, nargs, ffi::LUA_MULTRET);
        let nres = ffi::lua_gettop(state);
        match ffi::lua_type(state, 1) {
            // true, results...
            ffi::LUA_TBOOLEAN if ffi::lua_toboolean(state, 1) != 0 => nres - 1,
            // count, {results}
            ffi::LUA_TNUMBER => {
                let n = ffi::lua_tonumber(state, 1) as c_int;
                ffi::lua_remove(state, 1);
                if ffi::lua_checkstack(state, n) == 0 {
                    ffi::lua_pushstring(state, c"stack overflow".as_ptr());
                    ffi::lua_error(state);
                }
                for i in 1..=n {
                    ffi::lua_rawgeti_(state, 1, i);
                }
                n
            }
            // false, message, plain
            _ => {
                if ffi::lua_toboolean(state, 3) == 0 {
                    ffi::luaL_where(state, 1);
                    ffi::lua_pushvalue(state, 2);
                    ffi::lua_concat(state, 2);
                } else {
                    ffi::lua_pushvalue(state, 2);
                }
                ffi::lua_error(state)
            }
        }
    }
}

/// Sets `table[name]` to a library function.
pub(super) fn add<F>(lua: &Lua, table: &Table, name: &str, f: F) -> mlua::Result<()>
where
    F: Fn(&Args) -> Answer<Ret> + 'static,
{
    let inner = lua.create_function(move |lua, vals: MultiValue| {
        let args = Args {
            lua,
            vals: vals.into_vec(),
        };
        let (msg, plain) = match f(&args) {
            Ok(Ret::Few(mut out)) => {
                out.push_front(Value::Boolean(true));
                return Ok(out);
            }
            Ok(Ret::Seq(t, n)) => {
                return Ok(MultiValue::from_vec(vec![
                    Value::Number(n as f64),
                    Value::Table(t),
                ]));
            }
            Err(Fail::Msg(m)) => (m, false),
            Err(Fail::Plain(m)) => (m, true),
            Err(Fail::Lua(e)) => return Err(e),
        };
        Ok(MultiValue::from_vec(vec![
            Value::Boolean(false),
            Value::String(lua.create_string(msg)?),
            Value::Boolean(plain),
        ]))
    })?;
    // Safety: the closure only takes the callback as its upvalue; the
    // trampoline is sound as explained on it.
    let outer: Function = unsafe {
        lua.exec_raw(inner, |state| {
            ffi::lua_pushcclosure(state, trampoline, 1);
        })?
    };
    table.raw_set(name, outer)
}

/// One result.
pub(super) fn one(v: Value) -> Ret {
    Ret::Few(MultiValue::from_vec(vec![v]))
}

#[cfg(test)]
pub(super) mod testutil {
    use mlua::Lua;

    /// A Lua state with the four libraries loaded.
    pub fn lua() -> Lua {
        let lua = Lua::new();
        super::load(&lua).expect("load libs");
        lua
    }

    /// Runs a chunk and returns its single result as a string (via tostring).
    pub fn run(lua: &Lua, code: &str) -> String {
        let v: mlua::Value = lua
            .load(code)
            .set_name("@user_script")
            .eval()
            .unwrap_or_else(|e| panic!("{code}: {e}"));
        match v {
            mlua::Value::String(s) => String::from_utf8_lossy(&s.as_bytes()).into_owned(),
            other => lua
                .globals()
                .get::<mlua::Function>("tostring")
                .and_then(|f| f.call::<String>(other))
                .expect("tostring"),
        }
    }

    /// Runs a chunk that must fail and returns the error message, as
    /// `pcall` shows it to scripts.
    pub fn error(lua: &Lua, code: &str) -> String {
        let f: mlua::Function = lua
            .load(code)
            .set_name("@user_script")
            .into_function()
            .unwrap_or_else(|e| panic!("{code}: {e}"));
        let pcall: mlua::Function = lua.globals().get("pcall").expect("pcall");
        let (ok, msg): (bool, mlua::Value) = pcall.call(f).expect("pcall");
        assert!(!ok, "{code} should fail");
        match msg {
            mlua::Value::String(s) => String::from_utf8_lossy(&s.as_bytes()).into_owned(),
            other => panic!("{code}: error is a {} not a string", other.type_name()),
        }
    }
}
