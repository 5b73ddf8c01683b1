//! The hot path of a script run, on the Lua stack itself (mlua's `ffi`, Lua 5.1's C API).
//!
//! mlua keeps every value it hands to Rust (a `Table`, a `String`, a `Value`) alive through a
//! reference slot of its own, made and released per value: ~500 instructions each, more than
//! the rest of a short script. KEYS and ARGV, redis.call's arguments and its reply, and a
//! script's scalar result are made and read here directly on the stack instead, as Redis does
//! in C; everything else (errors, table results) still goes through mlua.
//!
//! Two rules make this sound, and every `unsafe` block here relies on them:
//! - Allocation errors: these functions push values without a protected call, as mlua itself
//!   does when the state has no memory limit (`RawLua::unlikely_memory_error`). Callers hold an
//!   [`Unlimited`](super::engine::Unlimited) while they run, so an allocation can only fail when
//!   the process itself is out of memory.
//! - Errors raised to Lua (`lua_error`, a `longjmp`) leave only frames without destructors:
//!   [`redis_call`] and [`redis_pcall`] do all their work in [`call_body`], which returns
//!   (dropping what it holds) before the raise.

use std::cell::{Cell, RefCell};
use std::ffi::{CStr, c_int};

use mlua::ffi;
use shoal_resp::OwnedArgs;

use super::call::{COUNTED, RESTART, RunState, checked_run, fmt_g};
use super::engine::{KILLED, Unlimited};

/// Nesting a reply deeper than this is refused (as [`super::convert`] refuses it).
const MAX_DEPTH: usize = 1000;

thread_local! {
    /// `redis.setresp`: the protocol of the replies the running script reads (2 or 3).
    pub static RESP: Cell<u8> = const { Cell::new(2) };
    /// `redis.set_repl`: REPL_* bits of the running script (3 = REPL_ALL).
    pub static REPL: Cell<i64> = const { Cell::new(3) };
    /// The state of the script running on this thread, for redis.call (see `run::Bound`).
    pub static BOUND: Cell<*const ()> = const { Cell::new(std::ptr::null()) };
    /// redis.call's argument buffer, reused from call to call.
    static ARGS: RefCell<OwnedArgs> = RefCell::new(OwnedArgs::default());
}

/// Pushes a new array of `items` as Lua strings (KEYS, ARGV).
///
/// # Safety
/// `l` is a live Lua state with room for 2 more stack slots; see the module's rules on
/// allocation errors.
pub unsafe fn push_bytes_table(l: *mut ffi::lua_State, items: &[&[u8]]) {
    // SAFETY: the caller's contract; the table is at -2 while each string is pushed and
    // stored, so the stack grows by one slot at most beyond the table.
    unsafe {
        ffi::lua_createtable(l, c_int::try_from(items.len()).unwrap_or(0), 0);
        for (i, k) in items.iter().enumerate() {
            ffi::lua_pushlstring_(l, k.as_ptr().cast(), k.len());
            ffi::lua_rawseti_(l, -2, c_int::try_from(i + 1).unwrap_or(c_int::MAX));
        }
    }
}

/// Pushes `{err = msg}` (and the "already counted" mark).
///
/// # Safety
/// As [`push_bytes_table`].
pub unsafe fn push_err_table(l: *mut ffi::lua_State, msg: &[u8], counted: bool) {
    // SAFETY: the caller's contract; a fresh table has no metatable, so lua_setfield is a
    // raw store that cannot raise.
    unsafe {
        ffi::lua_createtable(l, 0, 2);
        ffi::lua_pushlstring_(l, msg.as_ptr().cast(), msg.len());
        ffi::lua_setfield(l, -2, c"err".as_ptr());
        if counted {
            ffi::lua_pushboolean(l, 1);
            ffi::lua_setfield(l, -2, COUNTED_C.as_ptr());
        }
    }
}

const COUNTED_C: &CStr = c"ignore_error_stats_update";
const _: () = assert!(COUNTED_C.to_bytes().len() == COUNTED.len());

/// The bytes of the string at `idx` (numbers are not converted).
///
/// # Safety
/// `l` is a live state and the value at `idx` is a string; the slice lives as long as that
/// value stays on the stack.
pub unsafe fn str_at<'s>(l: *mut ffi::lua_State, idx: c_int) -> &'s [u8] {
    let mut len = 0usize;
    // SAFETY: the caller's contract: for a string, lua_tolstring returns its bytes (never
    // NULL) and does not allocate.
    unsafe {
        let p = ffi::lua_tolstring(l, idx, &mut len);
        if p.is_null() {
            return &[];
        }
        std::slice::from_raw_parts(p.cast(), len)
    }
}

/// The field `name` of the table at `idx`, read raw (no metamethod): pushed on the stack.
///
/// # Safety
/// `l` is a live state with one free slot and a table at `idx` (an absolute index).
pub unsafe fn raw_field(l: *mut ffi::lua_State, idx: c_int, name: &CStr) -> c_int {
    // SAFETY: the caller's contract; lua_rawget on a table does not raise.
    unsafe {
        ffi::lua_pushstring_(l, name.as_ptr());
        ffi::lua_rawget(l, idx);
        ffi::lua_type(l, -1)
    }
}

/// redis.call: the command's reply, or its error raised.
///
/// # Safety
/// Called by Lua only, as a C function.
pub unsafe extern "C-unwind" fn redis_call(l: *mut ffi::lua_State) -> c_int {
    // SAFETY: called by Lua with a live state; see `entry`.
    unsafe { entry(l, true) }
}

/// redis.pcall: the command's reply, its error as a table.
///
/// # Safety
/// Called by Lua only, as a C function.
pub unsafe extern "C-unwind" fn redis_pcall(l: *mut ffi::lua_State) -> c_int {
    // SAFETY: called by Lua with a live state; see `entry`.
    unsafe { entry(l, false) }
}

/// Nothing in this frame has a destructor when `lua_error` may `longjmp` out of it.
unsafe fn entry(l: *mut ffi::lua_State, raise: bool) -> c_int {
    // A panic must not unwind through Lua's C frames: it becomes an error for the script.
    let raise_now = match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        // SAFETY: called by Lua with a live state (this function's contract).
        unsafe { call_body(l, raise) }
    })) {
        Ok(r) => r,
        Err(payload) => {
            drop(payload);
            // SAFETY: as in call_body; a C function has LUA_MINSTACK free slots.
            unsafe { push_err_table(l, b"ERR internal error running the command", false) };
            true
        }
    };
    // SAFETY: `call_body` has returned (dropping everything it held) and the panic payload is
    // dropped, so nothing here needs dropping when lua_error jumps; the value to return or
    // raise is on top of the stack.
    if raise_now {
        unsafe { ffi::lua_error(l) };
    }
    1
}

/// Runs the command of a redis.call/pcall and leaves one value on top of the stack: the
/// reply, or an error table. `true`: raise that value.
unsafe fn call_body(l: *mut ffi::lua_State, raise: bool) -> bool {
    // SAFETY (whole function): `l` is the state Lua called us with; we push at most
    // a few values per nesting level, each after a lua_checkstack.
    unsafe {
        // The arguments first, copied out, then off the stack: 7999 of them (an unpack)
        // would leave no room under Lua's limit of 8000 slots per C call for the reply.
        let nargs = ffi::lua_gettop(l);
        let mut argv = ARGS.with(|a| std::mem::take(&mut *a.borrow_mut()));
        argv.clear();
        let mut bad = false;
        for i in 1..=nargs {
            match ffi::lua_type(l, i) {
                ffi::LUA_TSTRING => argv.push(str_at(l, i)),
                // Lua 5.1 numbers are doubles: `%.17g` (123456789012345678 ->
                // 1.2345678901234568e+17).
                ffi::LUA_TNUMBER => argv.push(fmt_g(ffi::lua_tonumber(l, i), 17).as_bytes()),
                _ => {
                    bad = true;
                    break;
                }
            }
        }
        ffi::lua_settop(l, 0);
        // Lua gives a C function LUA_MINSTACK (20) free slots; more for a nested reply.
        let _ = ffi::lua_checkstack(l, 8);
        let put_back = |argv: OwnedArgs| ARGS.with(|a| *a.borrow_mut() = argv);
        let p = BOUND.with(|b| b.get());
        if p.is_null() {
            put_back(argv);
            push_err_table(
                l,
                b"ERR redis.call and redis.pcall can only be used while a script runs",
                false,
            );
            return true;
        }
        // SAFETY: `p` was set by `run::Bound::new` from a reference to a
        // `RefCell<RunState>` that outlives the `Bound` (both are locals of `run_once`, the
        // state declared first), and the `Bound` puts the previous pointer back when
        // dropped, so a non-null `p` always points to a live state. Only this thread reads
        // BOUND, and the RefCell still guards against a re-entrant borrow.
        let state = &*(p as *const RefCell<RunState<'_, '_>>);
        let Ok(mut st) = state.try_borrow_mut() else {
            put_back(argv);
            push_err_table(l, b"ERR scripting engine busy", false);
            return true;
        };
        let lua = st.lua.clone();
        let _free = Unlimited::new(&lua);
        st.resp = RESP.with(|r| r.get());
        let repl_all = REPL.with(|r| r.get()) & 2 != 0;
        let early: Option<(&[u8], bool, bool)> =
            if st.running.kill.load(std::sync::atomic::Ordering::Relaxed) {
                Some((KILLED.as_bytes(), false, true))
            } else if st.restart {
                Some((RESTART.as_bytes(), true, true))
            } else if nargs == 0 {
                // Argument errors are raised by redis.call and returned by redis.pcall.
                Some((
                    b"ERR Please specify at least one argument for this redis lib call",
                    false,
                    raise,
                ))
            } else if bad {
                Some((
                    b"ERR Lua redis lib command arguments must be strings or integers",
                    false,
                    raise,
                ))
            } else {
                None
            };
        if let Some((msg, counted, raise)) = early {
            put_back(argv);
            push_err_table(l, msg, counted);
            return raise;
        }
        let mark = st.ctx.client.exec_prop.len();
        let top = ffi::lua_gettop(l);
        let ran = checked_run(&mut st, &argv, |reply: &[u8]| {
            let failed = reply.first() == Some(&b'-');
            match push_reply(l, reply, 0) {
                Ok(()) => {
                    if failed && ffi::lua_type(l, -1) == ffi::LUA_TTABLE {
                        ffi::lua_pushboolean(l, 1);
                        ffi::lua_setfield(l, -2, COUNTED_C.as_ptr());
                    }
                    failed && raise
                }
                Err(msg) => {
                    ffi::lua_settop(l, top);
                    push_err_table(l, msg.as_bytes(), false);
                    true
                }
            }
        });
        if !repl_all {
            st.ctx.client.exec_prop.truncate(mark);
        }
        put_back(argv);
        match ran {
            Ok(raise) => raise,
            Err((msg, _)) if msg == RESTART => {
                push_err_table(l, RESTART.as_bytes(), true);
                true
            }
            Err((msg, counted)) => {
                push_err_table(l, msg.as_bytes(), counted);
                raise
            }
        }
    }
}

/// Pushes one RESP reply (the start of `buf`, a command's whole reply) as the Lua value
/// redis.call returns: Redis 7.0's conversions (status `{ok=}`, error `{err=}`, null `false`
/// in RESP2 and `nil` in RESP3, sets `{set={m=true}}`, maps `{map={}}`, doubles `{double=}`,
/// big numbers `{big_number=}`, verbatim strings `{verbatim_string={format=,string=}}`).
///
/// # Safety
/// `l` is a live state; see the module's rules on allocation errors. On `Err` the stack may
/// hold partial values above where it started (the caller resets it).
pub unsafe fn push_reply(
    l: *mut ffi::lua_State,
    buf: &[u8],
    depth: usize,
) -> Result<(), &'static str> {
    let mut p = Parser { buf, pos: 0 };
    // SAFETY: the caller's contract.
    unsafe { p.value(l, depth) }
}

const BAD: &str = "ERR bad reply from command";

struct Parser<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl Parser<'_> {
    fn line(&mut self) -> Result<&[u8], &'static str> {
        let rest = self.buf.get(self.pos..).ok_or(BAD)?;
        let end = memchr_crlf(rest).ok_or(BAD)?;
        self.pos += end + 2;
        Ok(&rest[..end])
    }

    fn int(&mut self) -> Result<i64, &'static str> {
        let l = self.line()?;
        shoal_resp::parse_i64(l).ok_or(BAD)
    }

    fn bulk_body(&mut self, n: usize) -> Result<&[u8], &'static str> {
        let start = self.pos;
        let end = start.checked_add(n).ok_or(BAD)?;
        if end + 2 > self.buf.len() {
            return Err(BAD);
        }
        self.pos = end + 2;
        Ok(&self.buf[start..end])
    }

    /// # Safety
    /// As [`push_reply`].
    unsafe fn value(&mut self, l: *mut ffi::lua_State, depth: usize) -> Result<(), &'static str> {
        if depth > MAX_DEPTH {
            return Err("ERR reply nested too deep");
        }
        let Some(&tag) = self.buf.get(self.pos) else {
            return Err(BAD);
        };
        self.pos += 1;
        // SAFETY: the caller's contract; each level checks for its own stack room (3 slots:
        // a container, a key and a value) before it pushes; stores go to fresh tables without
        // metatables, with keys checked not to be nil (the only raw store that raises).
        unsafe {
            if ffi::lua_checkstack(l, 4) == 0 {
                return Err("ERR reached lua stack limit");
            }
            let push = |s: &[u8]| ffi::lua_pushlstring_(l, s.as_ptr().cast(), s.len());
            let wrap = |name: &CStr| {
                // {name = <the value on top>}
                ffi::lua_createtable(l, 0, 1);
                ffi::lua_insert(l, -2);
                ffi::lua_setfield(l, -2, name.as_ptr());
            };
            match tag {
                b'+' => {
                    push(self.line()?);
                    wrap(c"ok");
                }
                b'-' => {
                    push(self.line()?);
                    wrap(c"err");
                }
                b':' => ffi::lua_pushnumber(l, self.int()? as f64),
                b'$' => {
                    let n = self.int()?;
                    if n < 0 {
                        ffi::lua_pushboolean(l, 0);
                    } else {
                        push(self.bulk_body(n as usize)?);
                    }
                }
                b'*' | b'~' | b'>' => {
                    let n = self.int()?;
                    if n < 0 {
                        ffi::lua_pushboolean(l, 0);
                        return Ok(());
                    }
                    let (narr, nrec) = if tag == b'~' {
                        (0, n.min(1024) as c_int)
                    } else {
                        (n.min(1024) as c_int, 0)
                    };
                    ffi::lua_createtable(l, narr, nrec);
                    for i in 0..n {
                        self.value(l, depth + 1)?;
                        if tag == b'~' {
                            if ffi::lua_type(l, -1) == ffi::LUA_TNIL {
                                return Err(BAD);
                            }
                            ffi::lua_pushboolean(l, 1);
                            ffi::lua_rawset(l, -3);
                        } else {
                            ffi::lua_rawseti_(l, -2, c_int::try_from(i + 1).map_err(|_| BAD)?);
                        }
                    }
                    if tag == b'~' {
                        wrap(c"set");
                    }
                }
                b'%' => {
                    let n = self.int()?;
                    ffi::lua_createtable(l, 0, n.clamp(0, 1024) as c_int);
                    for _ in 0..n.max(0) {
                        self.value(l, depth + 1)?;
                        if ffi::lua_type(l, -1) == ffi::LUA_TNIL {
                            return Err(BAD);
                        }
                        self.value(l, depth + 1)?;
                        ffi::lua_rawset(l, -3);
                    }
                    wrap(c"map");
                }
                b'_' => {
                    self.line()?;
                    ffi::lua_pushnil(l);
                }
                b'#' => ffi::lua_pushboolean(l, (self.line()? == b"t") as c_int),
                b',' => {
                    let line = self.line()?;
                    let d = std::str::from_utf8(line)
                        .ok()
                        .and_then(|s| match s {
                            "inf" => Some(f64::INFINITY),
                            "-inf" => Some(f64::NEG_INFINITY),
                            "nan" => Some(f64::NAN),
                            _ => s.parse::<f64>().ok(),
                        })
                        .unwrap_or(0.0);
                    ffi::lua_pushnumber(l, d);
                    wrap(c"double");
                }
                b'(' => {
                    push(self.line()?);
                    wrap(c"big_number");
                }
                b'=' => {
                    let n = self.int()?.max(0) as usize;
                    let body = self.bulk_body(n)?;
                    let (fmt, text) = if body.len() >= 4 && body[3] == b':' {
                        (&body[..3], &body[4..])
                    } else {
                        (&b"txt"[..], body)
                    };
                    ffi::lua_createtable(l, 0, 2);
                    push(fmt);
                    ffi::lua_setfield(l, -2, c"format".as_ptr());
                    push(text);
                    ffi::lua_setfield(l, -2, c"string".as_ptr());
                    wrap(c"verbatim_string");
                }
                _ => return Err(BAD),
            }
        }
        Ok(())
    }
}

fn memchr_crlf(s: &[u8]) -> Option<usize> {
    let mut from = 0;
    while let Some(i) = s[from..].iter().position(|&c| c == b'\r') {
        let at = from + i;
        if s.get(at + 1) == Some(&b'\n') {
            return Some(at);
        }
        from = at + 1;
    }
    None
}
