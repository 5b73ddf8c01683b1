//! Lua 5.1 states (a pool of them, one per script running at once), sandboxed as Redis 7.0
//! sandboxes scripts.
//!
//! What a script sees as its globals is a read-only view: reading a name that does not exist
//! is `Script attempted to access nonexistent global variable`, writing any is `Attempt to
//! modify a readonly table`, and so are writes into `redis`, `cjson`, `bit`, `cmsgpack`,
//! `struct`, `string`, `table` and `math`. `print`, `loadfile`, `dofile`, `require`, `io`,
//! `os`, `getfenv`/`setfenv` are not there; `loadstring` refuses binary chunks. The Lua side
//! of the `redis` API is the bootstrap below; the parts that reach the server (`redis.call`,
//! `redis.pcall`) are Rust functions made once per state that reach the running script's
//! context through `run::bound_call`.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::rc::Rc;
use std::sync::Arc;

use mlua::{
    ChunkMode, Function, HookTriggers, Lua, LuaOptions, RegistryKey, StdLib, Table, Value, VmState,
};

use super::{Running, Scripts, Sha};

/// How many VM instructions run between two checks of the clock and of SCRIPT KILL.
const HOOK_EVERY: u32 = 100_000;
/// A script's Lua heap may not grow past this (a script that allocates without bound gets an
/// error instead of taking the server's memory).
pub const LUA_MEMORY_LIMIT: usize = 1 << 30;
/// Garbage a state may hold before the step after scripts collects it (see `Engine::account`).
const GC_SLACK: usize = 32 << 10;

/// Lifts the memory limit while Rust works on the Lua state (building KEYS and ARGV, turning
/// a command's reply into Lua values, reading the result) and puts it back when dropped, before
/// control returns to Lua code. Under a limit mlua makes every string and table through a
/// protected call that allocates a closure: that was most of a short script's cost. What Rust
/// adds is bounded by the arguments and replies it converts; Lua code always runs limited.
pub struct Unlimited<'l>(&'l Lua);

impl<'l> Unlimited<'l> {
    #[inline]
    pub fn new(lua: &'l Lua) -> Self {
        let _ = lua.set_memory_limit(0);
        Unlimited(lua)
    }
}

impl Drop for Unlimited<'_> {
    #[inline]
    fn drop(&mut self) {
        let _ = self.0.set_memory_limit(LUA_MEMORY_LIMIT);
    }
}

/// The Lua half of the sandbox and of the `redis` library. Runs once per state with the real
/// globals; returns the table scripts see as `_G`, the table that backs it (`real`, where
/// KEYS and ARGV go) and the runner.
const BOOTSTRAP: &str = r#"
local redis_tbl, rnd, rndseed, libs, loadlib, errinfo = ...
local dbg, rawsetmt, rawrawset, rawgetmt = debug, setmetatable, rawset, getmetatable
local type, error, tostring, select, xpcall, loadstring_ = type, error, tostring, select, xpcall, loadstring
local setfenv_, next_, pairs_, rawget_, pcall_, concat = setfenv, next, pairs, rawget, pcall, table.concat
local rawset_ = rawset

local ro_set = rawsetmt({}, {__mode = 'k'})
-- view -> the table it shows (pairs, next and rawget see through a view, as they would
-- through Redis's read-only tables).
local ro_back = rawsetmt({}, {__mode = 'k'})
local function deny() error('Attempt to modify a readonly table', 2) end
local function missing(_, k)
  error("Script attempted to access nonexistent global variable '" .. tostring(k) .. "'", 2)
end
-- `mt_index`: what getmetatable(view).__index shows (the table itself by default).
local function readonly(t, mt_index)
  local view = {}
  local mtview = {}
  rawsetmt(mtview, {__index = {__index = mt_index or t}, __newindex = deny, __metatable = false})
  rawsetmt(view, {__index = t, __newindex = deny, __metatable = mtview})
  ro_set[view] = true
  ro_set[mtview] = true
  ro_back[view] = t
  return view
end

local real = {}
for _, name in ipairs({'assert', 'error', 'ipairs', 'rawequal', 'select', 'tonumber',
    'tostring', 'type', 'unpack', '_VERSION', 'getmetatable', 'gcinfo', 'collectgarbage'}) do
  real[name] = _G[name]
end
real.next = function(t, k) return next_(ro_back[t] or t, k) end
real.pairs = function(t)
  if ro_back[t] then return real.next, t, nil end
  return pairs_(t)
end
real.rawget = function(t, k) return rawget_(ro_back[t] or t, k) end
-- An error redis.call raised (a Rust error object) as the table Redis raises.
local function err_of(e)
  local v = errinfo(e)
  if v == nil then return e end
  return v
end
local function pcall_result(ok, ...)
  if ok then return ok, ... end
  local e = err_of((...))
  if type(e) == 'table' and type(rawget_(e, 'err')) == 'string' then
    return false, rawget_(e, 'err')
  end
  return false, e
end
-- pcall returns a Redis error's text; xpcall's handler gets the error table.
real.pcall = function(f, ...) return pcall_result(pcall_(f, ...)) end
real.xpcall = function(f, h)
  return xpcall(f, function(e) return h(err_of(e)) end)
end
if _G.coroutine then real.coroutine = readonly(_G.coroutine) end
local mathv = {}
for k, v in pairs(math) do mathv[k] = v end
mathv.random = rnd
mathv.randomseed = rndseed
real.math = readonly(mathv)
real.string = readonly(string)
real.table = readonly(table)
-- The libraries (cjson, cmsgpack, bit, struct) come into being when first named.
local function lazy(_, k)
  if libs[k] then
    libs[k] = nil
    local v = readonly(loadlib(k))
    rawrawset(real, k, v)
    return v
  end
  error("Script attempted to access nonexistent global variable '" .. tostring(k) .. "'", 2)
end

local env
real.setmetatable = function(t, m)
  if ro_set[t] then error('Attempt to modify a readonly table', 0) end
  return rawsetmt(t, m)
end
real.rawset = function(t, k, v)
  if ro_set[t] then error('Attempt to modify a readonly table', 0) end
  return rawrawset(t, k, v)
end
real.loadstring = function(s, name)
  if type(s) == 'string' and s:byte(1) == 27 then
    return nil, 'attempt to load a binary chunk'
  end
  local f, e = loadstring_(s, name)
  if f then setfenv_(f, env) end
  return f, e
end
real.load = function(reader, name)
  if type(reader) ~= 'function' then
    error("bad argument #1 to 'load' (function expected, got " .. type(reader) .. ")", 2)
  end
  local parts = {}
  while true do
    local p = reader()
    if p == nil or p == '' then break end
    if type(p) ~= 'string' then return nil, 'reader function must return a string' end
    parts[#parts + 1] = p
  end
  return real.loadstring(concat(parts), name or '=(load)')
end

-- redis.* (call and pcall are Rust functions, set after this runs)
-- error_reply and status_reply return (never raise) an error for a bad argument.
redis_tbl.error_reply = function(...)
  local e = ...
  if select('#', ...) ~= 1 or type(e) ~= 'string' then
    return {err = 'ERR wrong number or type of arguments'}
  end
  -- Redis reads the text as a C string: up to a NUL byte.
  e = e:match('^[^%z]*')
  if e:sub(1, 1) == '-' then e = e:sub(2) end
  if not e:find(' ', 1, true) then e = 'ERR ' .. e end
  while e:sub(-1) == '\n' or e:sub(-1) == '\r' do e = e:sub(1, -2) end
  return {err = e}
end
redis_tbl.status_reply = function(...)
  local s = ...
  if select('#', ...) ~= 1 or type(s) ~= 'string' then
    return {err = 'ERR wrong number or type of arguments'}
  end
  return {ok = s}
end
redis_tbl.replicate_commands = function() return true end
redis_tbl.breakpoint = function() return false end
redis_tbl.debug = function() end
redis_tbl.LOG_DEBUG, redis_tbl.LOG_VERBOSE, redis_tbl.LOG_NOTICE, redis_tbl.LOG_WARNING = 0, 1, 2, 3
redis_tbl.REPL_NONE, redis_tbl.REPL_AOF, redis_tbl.REPL_SLAVE, redis_tbl.REPL_REPLICA, redis_tbl.REPL_ALL = 0, 1, 2, 2, 3
real.redis = readonly(redis_tbl)

rawsetmt(real, {__index = lazy})
env = readonly(real, missing)
real._G = env

-- Where an error happened: the innermost frame of the script itself.
local function handler(err)
  local lvl, where = 2, nil
  while true do
    local i = dbg.getinfo(lvl, 'Sl')
    if not i then break end
    if i.what ~= 'C' and i.source ~= '=shoal' then where = i break end
    lvl = lvl + 1
  end
  local t
  if type(err) == 'table' then
    t = {err = rawget(err, 'err'),
         ignore_error_stats_update = rawget(err, 'ignore_error_stats_update')}
  else
    t = {msg = tostring(err), raw = err}
  end
  if where then t.source = where.source; t.line = where.currentline end
  return t
end
-- redis.* that only EVAL scripts have, and which kind of run the table is set up for.
local eval_only = {breakpoint = redis_tbl.breakpoint, debug = redis_tbl.debug,
                   replicate_commands = redis_tbl.replicate_commands}
local set_for_eval = true
-- run(f, eval, keys, argv): an EVAL script sees KEYS and ARGV as globals (its `...` is empty);
-- a function gets (keys, args) and sees neither, nor redis.breakpoint/debug/replicate_commands.
local function run(f, eval, keys, argv)
  if eval ~= set_for_eval then
    for k, v in next_, eval_only do rawset_(redis_tbl, k, eval and v or nil) end
    set_for_eval = eval
  end
  if eval then
    rawset_(real, 'KEYS', keys)
    rawset_(real, 'ARGV', argv)
    return xpcall(f, handler)
  end
  rawset_(real, 'KEYS', nil)
  rawset_(real, 'ARGV', nil)
  return xpcall(function() return f(keys, argv) end, handler)
end
return env, real, run, handler
"#;

/// One thread's Lua state.
pub struct Engine {
    pub lua: Lua,
    /// What scripts see as `_G`.
    pub env: Table,
    /// The table behind `env` (KEYS and ARGV are set here, raw).
    pub real: Table,
    /// `real` in the registry (`real_key.id()`), for runs that set KEYS and ARGV themselves.
    pub real_key: RegistryKey,
    /// The runner's error handler (`handler(err)` -> `{err=|msg=, source, line}`), in the
    /// registry.
    pub handler: RegistryKey,
    /// The `redis` table is set up for EVAL scripts (the runner last ran one, or none yet):
    /// an EVAL can then skip the runner (see `run::run_once`).
    pub eval_ready: bool,
    /// `run(f, eval, keys, argv)`: sets up the globals for an EVAL script or a function and
    /// calls `f` under the error handler: `true, result` or `false, {err=|msg=, source, line}`.
    /// Kept in the registry (`runner.id()`), where the run pushes it from.
    pub runner: RegistryKey,
    /// The state's main thread, where runs push their arguments (see `script::raw`).
    pub state: *mut mlua::ffi::lua_State,
    /// The `redis` table behind the read-only view.
    pub redis: Table,
    /// Compiled EVAL scripts, kept in the registry.
    compiled: super::ShaMap<RegistryKey>,
    generation: u64,
    /// FUNCTION libraries' functions in this state (lower-case name), and the registry
    /// generation they match.
    pub functions: HashMap<String, Function>,
    pub functions_gen: Option<u64>,
    /// The PRNG of math.random (per state; math.randomseed makes it repeatable).
    pub rng: Rc<Cell<u64>>,
    /// The hook is on its after-kill setting (every line): the next run sets the default.
    kill_hook: bool,
    /// The thread that used this state last (`THREAD_NO`).
    thread: usize,
    /// This state's bytes as last added to INFO's used_memory_lua.
    reported: usize,
    /// Uses since the last garbage-collection step.
    uses: u32,
    /// The heap when the collector last finished a cycle (what is live, roughly).
    gc_floor: usize,
}

thread_local! {
    /// A number per thread (for the pool's affinity).
    static THREAD_NO: usize = {
        static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(1);
        NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    };
    /// The script running on this thread (the hook reads it).
    pub static CURRENT: RefCell<Option<(Arc<Running>, Arc<Scripts>)>> = const { RefCell::new(None) };
}

/// True while a Lua script runs on this thread.
pub fn in_script() -> bool {
    CURRENT.with(|c| c.try_borrow().map_or(true, |c| c.is_some()))
}

/// A Lua state waiting in [`Scripts`]' pool for its next script.
pub struct Pooled(Box<Engine>);

// SAFETY: mlua marks a `Lua` as not `Send` because its handles share reference counts without
// atomics. Every handle into this state (tables, functions, registry keys, the closures'
// `Rc`s) lives inside the `Engine` and moves with it; the thread-locals a run sets
// (`CURRENT`, `raw::BOUND`, `RESP`, `REPL`, ...) are set again by the next run before Lua
// code reads them. A pooled engine is taken by one thread at a time (the pool's lock orders
// the hand-over), used synchronously, and given back: no two threads ever touch it at once.
unsafe impl Send for Pooled {}

/// Runs `f` with a Lua state from the pool, made (or remade after SCRIPT FLUSH) as needed.
///
/// States are not per thread: a connection's task moves between worker threads, and a state
/// per thread meant one 55 KB heap (and its garbage) on every thread that ever ran a script.
/// The pool holds as many states as scripts ever ran at once (one for clients taking turns).
pub fn with_engine<R>(scripts: &Scripts, f: impl FnOnce(&mut Engine) -> R) -> Result<R, String> {
    use std::sync::atomic::Ordering::Relaxed;
    let generation = scripts.generation.load(Relaxed);
    let me = THREAD_NO.with(|n| *n);
    let mut engine = loop {
        // The state this thread used last if it is free (its memory is in this core's
        // caches), else any.
        let next = {
            let mut pool = scripts.engines.lock();
            match pool.iter().rposition(|e| e.0.thread == me) {
                Some(i) => Some(pool.swap_remove(i)),
                None => pool.pop(),
            }
        };
        match next {
            Some(e) if e.0.generation == generation => break e,
            // From before SCRIPT FLUSH (which zeroed the count it was part of).
            Some(stale) => drop(stale),
            None => {
                break Pooled(Box::new(
                    Engine::new(generation).map_err(|e| format!("ERR {e}"))?,
                ));
            }
        }
    };
    let e = &mut *engine.0;
    e.thread = me;
    let r = f(e);
    e.kill_hook |= ENGINE_KILL_HOOK.with(|k| k.replace(false));
    if scripts.generation.load(Relaxed) == generation {
        e.account(scripts);
        scripts.engines.lock().push(engine);
    }
    Ok(r)
}

/// The hook's check: past the BUSY threshold, SCRIPT KILL, SHUTDOWN NOSAVE.
fn hook_check(lua: &Lua) -> mlua::Result<VmState> {
    if LOAD_DEADLINE
        .with(|d| d.get())
        .is_some_and(|d| std::time::Instant::now() >= d)
    {
        return Err(mlua::Error::runtime("FUNCTION LOAD timeout"));
    }
    let (killed, release) = CURRENT.with(|c| {
        let c = c.borrow();
        let Some((r, scripts)) = c.as_ref() else {
            return (false, false);
        };
        scripts.check_busy(r);
        // A script past a few milliseconds hands its worker's other work to another thread
        // (then every 50 ms, in case the hand-off had not happened yet).
        let ms = r.start.elapsed().as_millis() as u64;
        let last = RELEASED_AT.with(|x| x.get());
        let release = ms >= 5 && (last == 0 || ms >= last + 50);
        if release {
            RELEASED_AT.with(|x| x.set(ms));
        }
        (r.kill.load(std::sync::atomic::Ordering::Relaxed), release)
    });
    if release {
        super::release_worker();
    }
    if killed {
        // From now on every line raises, so a pcall in a loop cannot swallow the kill.
        let _ = lua.set_hook(
            HookTriggers::new().every_line().every_nth_instruction(1000),
            |lua, _| hook_check(lua),
        );
        ENGINE_KILL_HOOK.with(|k| k.set(true));
        return Err(mlua::Error::runtime(KILLED));
    }
    Ok(VmState::Continue)
}

thread_local! {
    /// When (ms into the run) this thread last handed its worker off; 0: not this run.
    pub static RELEASED_AT: Cell<u64> = const { Cell::new(0) };
    static ENGINE_KILL_HOOK: Cell<bool> = const { Cell::new(false) };
    /// FUNCTION LOAD's deadline while a library's code runs (it may not take over 500 ms).
    pub static LOAD_DEADLINE: Cell<Option<std::time::Instant>> = const { Cell::new(None) };
}

/// The error a killed script raises (and its client gets).
pub const KILLED: &str = "ERR Script killed by user with SCRIPT KILL...";

/// The default hook, set again at the start of a run after a kill changed it.
pub fn reset_hook(e: &mut Engine) {
    RELEASED_AT.with(|x| x.set(0));
    if std::mem::take(&mut e.kill_hook) {
        let _ = e.lua.set_hook(
            HookTriggers::new().every_nth_instruction(HOOK_EVERY),
            |lua, _| hook_check(lua),
        );
    }
}

impl Engine {
    fn new(generation: u64) -> mlua::Result<Engine> {
        // The debug library stays private to the bootstrap (the error handler's line numbers).
        let lua = unsafe {
            Lua::unsafe_new_with(
                StdLib::TABLE | StdLib::STRING | StdLib::MATH | StdLib::DEBUG,
                LuaOptions::default(),
            )
        };
        lua.set_memory_limit(LUA_MEMORY_LIMIT)?;
        let redis = lua.create_table()?;
        redis.raw_set(
            "sha1hex",
            lua.create_function(|lua, args: mlua::MultiValue| {
                if args.len() != 1 {
                    return Err(mlua::Error::runtime("wrong number of arguments"));
                }
                // lua_tolstring: a number is its text, any other non-string is empty.
                let bytes: Vec<u8> = match args.front() {
                    Some(Value::String(s)) => s.as_bytes().to_vec(),
                    Some(Value::Integer(n)) => super::call::format_integer(*n).into_bytes(),
                    Some(Value::Number(n)) => super::call::format_number(*n).into_bytes(),
                    _ => Vec::new(),
                };
                lua.create_string(super::sha1hex(&bytes))
            })?,
        )?;
        redis.raw_set(
            "log",
            lua.create_function(|_, args: mlua::MultiValue| {
                if args.len() < 2 {
                    return Err(mlua::Error::runtime(
                        "redis.log() requires two arguments or more.",
                    ));
                }
                let mut it = args.iter();
                let level = match it.next() {
                    Some(Value::Integer(n)) => *n,
                    Some(Value::Number(n)) => *n as i64,
                    _ => {
                        return Err(mlua::Error::runtime(
                            "First argument must be a number (log level).",
                        ));
                    }
                };
                if !(0..=3).contains(&level) {
                    return Err(mlua::Error::runtime("Invalid debug level."));
                }
                let msg: Vec<String> = it
                    .map(|v| match v {
                        Value::String(s) => s.to_string_lossy(),
                        Value::Integer(n) => super::call::format_integer(*n),
                        Value::Number(n) => super::call::format_number(*n),
                        _ => String::new(),
                    })
                    .collect();
                let msg = msg.join(" ");
                match level {
                    0 => tracing::debug!(target: "lua", "{msg}"),
                    1 => tracing::debug!(target: "lua", "{msg}"),
                    2 => tracing::info!(target: "lua", "{msg}"),
                    _ => tracing::warn!(target: "lua", "{msg}"),
                }
                Ok(())
            })?,
        )?;
        // Whether the user running the script may run this command (no log entry).
        redis.raw_set(
            "acl_check_cmd",
            lua.create_function(|_, args: mlua::MultiValue| {
                if args.is_empty() {
                    return Err(mlua::Error::runtime(
                        "Please specify at least one argument for this redis lib call",
                    ));
                }
                let mut argv: Vec<Vec<u8>> = Vec::with_capacity(args.len());
                for v in args.iter() {
                    match v {
                        Value::String(s) => argv.push(s.as_bytes().to_vec()),
                        Value::Integer(n) => argv.push(n.to_string().into_bytes()),
                        Value::Number(n) => {
                            argv.push(super::call::fmt_g(*n, 17).into_bytes());
                        }
                        _ => {
                            return Err(mlua::Error::runtime(
                                "Lua redis lib command arguments must be strings or integers",
                            ));
                        }
                    }
                }
                let owned = shoal_resp::OwnedArgs::from_parts(argv.iter());
                let args = owned.args();
                let found = crate::spec::table().lookup(&argv[0]).filter(|(idx, _)| {
                    let c = crate::acl::cmds();
                    argv.len() < 2 || !c.is_container(*idx) || c.sub_id(*idx, &args).is_some()
                });
                let Some((idx, spec)) = found else {
                    return Err(mlua::Error::runtime(
                        "Invalid command passed to redis.acl_check_cmd()",
                    ));
                };
                Ok(crate::acl::script_user_allows(idx, spec, &args))
            })?,
        )?;
        let version = crate::families::connection::REDIS_VERSION;
        redis.raw_set("REDIS_VERSION", version)?;
        redis.raw_set("REDIS_VERSION_NUM", version_num(version))?;
        // setresp and set_repl are Rust functions so that `return redis.setresp(9)` (a tail
        // call) still reports the script's line.
        redis.raw_set(
            "setresp",
            lua.create_function(move |_, args: mlua::MultiValue| {
                if args.len() != 1 {
                    return Err(mlua::Error::runtime(
                        "redis.setresp() requires one argument.",
                    ));
                }
                match args.front().and_then(lua_tonumber) {
                    Some(v) if v == 2.0 || v == 3.0 => {
                        super::raw::RESP.with(|r| r.set(v as u8));
                        Ok(())
                    }
                    _ => Err(mlua::Error::runtime("RESP version must be 2 or 3.")),
                }
            })?,
        )?;
        redis.raw_set(
            "set_repl",
            lua.create_function(move |_, args: mlua::MultiValue| {
                if args.len() != 1 {
                    // sic: Redis 7.0's text.
                    return Err(mlua::Error::runtime(
                        "redis.set_repl() requires two arguments.",
                    ));
                }
                // lua_tonumber: a string that is not a number is 0 (REPL_NONE).
                let v = args.front().and_then(lua_tonumber).unwrap_or(0.0) as i64;
                if v & !3 != 0 {
                    return Err(mlua::Error::runtime(
                        "Invalid replication flags. Use REPL_AOF, REPL_REPLICA, REPL_ALL or REPL_NONE.",
                    ));
                }
                super::raw::REPL.with(|r| r.set(v));
                Ok(())
            })?,
        )?;
        let rng = Rc::new(Cell::new(0x1234_ABCD_330E_u64));
        let r1 = rng.clone();
        let random = lua.create_function(move |lua, args: mlua::MultiValue| {
            let x = next_rand(&r1);
            let f = x as f64 / (1u64 << 48) as f64;
            let mut it = args.iter();
            let int = |v: Option<&Value>| -> Option<i64> {
                match v? {
                    Value::Integer(n) => Some(*n),
                    Value::Number(n) => Some(n.floor() as i64),
                    Value::String(s) => s
                        .to_str()
                        .ok()?
                        .trim()
                        .parse::<f64>()
                        .ok()
                        .map(|n| n.floor() as i64),
                    _ => None,
                }
            };
            match args.len() {
                0 => Ok(Value::Number(f)),
                1 => {
                    let m = int(it.next()).ok_or_else(|| {
                        lua_error(lua, "bad argument #1 to 'random' (number expected)")
                    })?;
                    if m < 1 {
                        return Err(lua_error(
                            lua,
                            "bad argument #1 to 'random' (interval is empty)",
                        ));
                    }
                    Ok(Value::Number((f * m as f64).floor() + 1.0))
                }
                2 => {
                    let m = int(it.next()).ok_or_else(|| {
                        lua_error(lua, "bad argument #1 to 'random' (number expected)")
                    })?;
                    let n = int(it.next()).ok_or_else(|| {
                        lua_error(lua, "bad argument #2 to 'random' (number expected)")
                    })?;
                    if m > n {
                        return Err(lua_error(
                            lua,
                            "bad argument #2 to 'random' (interval is empty)",
                        ));
                    }
                    Ok(Value::Number((f * (n - m + 1) as f64).floor() + m as f64))
                }
                _ => Err(lua_error(lua, "wrong number of arguments")),
            }
        })?;
        let r2 = rng.clone();
        let randomseed = lua.create_function(move |lua, v: Value| {
            // luaL_checknumber: numbers, and strings that read as one.
            let seed = match v {
                Value::Integer(n) => n as u64,
                Value::Number(n) => n as i64 as u64,
                ref s @ Value::String(_) if lua_tonumber(s).is_some() => {
                    lua_tonumber(s).unwrap_or(0.0) as i64 as u64
                }
                other => {
                    let got = match other {
                        Value::Nil => "no value",
                        ref o => o.type_name(),
                    };
                    return Err(lua_error(
                        lua,
                        &format!("bad argument #1 to 'randomseed' (number expected, got {got})"),
                    ));
                }
            };
            r2.set(((seed & 0xFFFF_FFFF) << 16) | 0x330E);
            Ok(())
        })?;
        // cjson, cmsgpack, bit, struct: made the first time a script names one, handed to the
        // sandbox read-only.
        let libs = lua.create_table()?;
        for name in super::libs::NAMES {
            libs.raw_set(name, true)?;
        }
        let loadlib = lua.create_function(|lua, name: mlua::String| {
            super::libs::create(lua, &name.as_bytes())
        })?;
        // What a caught error is (pcall/xpcall): redis.call's error text and whether INFO
        // counted it, or a Rust function's message.
        // A positioned message (`user_script:1: bad argument ...`) stays a string; the redis.*
        // API's own errors are tables, as Redis raises them (`{err='ERR ...'}`).
        let errinfo = lua.create_function(|lua, v: Value| {
            let Value::Error(e) = v else {
                return Ok(Value::Nil);
            };
            let (msg, counted) = match super::run::find_script_err(&e) {
                Some(se) => (se.msg.clone(), se.counted),
                None => {
                    let m = super::functions::root_message(&e);
                    if m.starts_with("user_script:") || m.starts_with("user_function:") {
                        return Ok(Value::String(lua.create_string(&m)?));
                    }
                    let m = if m.starts_with("ERR ") {
                        m
                    } else {
                        format!("ERR {m}")
                    };
                    (m, false)
                }
            };
            let t = lua.create_table()?;
            t.raw_set("err", msg)?;
            if counted {
                t.raw_set(super::call::COUNTED, true)?;
            }
            Ok(Value::Table(t))
        })?;
        let (env, real, runner, handler): (Table, Table, Function, Function) = lua
            .load(BOOTSTRAP)
            .set_name("=shoal")
            .call((redis.clone(), random, randomseed, libs, loadlib, errinfo))?;
        // redis.call and redis.pcall: C functions made once, they reach the running script
        // through `raw::BOUND`.
        // SAFETY: both follow the rules of `script::raw` (they raise only from a frame with
        // nothing to drop, and push values only with the memory limit lifted).
        let call = unsafe { lua.create_c_function(super::raw::redis_call)? };
        let pcall = unsafe { lua.create_c_function(super::raw::redis_pcall)? };
        redis.raw_set("call", call)?;
        redis.raw_set("pcall", pcall)?;
        let runner = lua.create_registry_value(runner)?;
        let handler = lua.create_registry_value(handler)?;
        let real_key = lua.create_registry_value(real.clone())?;
        let mut state = std::ptr::null_mut();
        // SAFETY: the closure only reads the pointer of the state mlua runs it on (the main
        // thread, as no Lua code is running); the state lives as long as `lua`, which the
        // Engine owns next to the pointer.
        unsafe { lua.exec_raw::<()>((), |l| state = l)? };
        // The real globals go: nothing but the bootstrap's closures keeps them.
        lua.set_hook(
            HookTriggers::new().every_nth_instruction(HOOK_EVERY),
            |lua, _| hook_check(lua),
        )?;
        // What building the state left behind (the bootstrap's chunks, the replaced globals)
        // goes now: a thread's state starts at what it keeps.
        lua.gc_collect()?;
        Ok(Engine {
            lua,
            env,
            real,
            runner,
            real_key,
            handler,
            eval_ready: true,
            state,
            redis,
            compiled: super::ShaMap::default(),
            generation,
            functions: HashMap::new(),
            functions_gen: None,
            rng,
            kill_hook: false,
            thread: 0,
            reported: 0,
            uses: 0,
            gc_floor: 0,
        })
    }

    /// After each use: every 50 uses (as Redis does after scripts) a garbage-collection step,
    /// if garbage has piled up, and this state's memory brought up to date in INFO's
    /// used_memory_lua (the sum over the threads' states).
    fn account(&mut self, scripts: &Scripts) {
        use std::sync::atomic::Ordering::Relaxed;
        self.uses += 1;
        if self.uses >= 50 {
            self.uses = 0;
            // Redis steps its collector by 50 KB of work every 50 scripts, which on a state
            // this size is a whole cycle (marking everything live) for the few KB 50 short
            // scripts leave: 20 % of a one-command script. The step waits here until the
            // garbage is worth a cycle; the heap stays within GC_SLACK of what is live (and
            // Lua's own collector still runs when the heap doubles).
            let used = self.lua.used_memory();
            if used < self.gc_floor {
                self.gc_floor = used;
            } else if used >= self.gc_floor + GC_SLACK {
                if self.lua.gc_step_kbytes(50).unwrap_or(false) {
                    self.gc_floor = self.lua.used_memory();
                } else {
                    // The cycle is not over: step again after the next 50 uses.
                    self.gc_floor = 0;
                }
            }
        }
        let now = self.lua.used_memory();
        if now >= self.reported {
            scripts.lua_bytes.fetch_add(now - self.reported, Relaxed);
        } else {
            let d = self.reported - now;
            let _ = scripts
                .lua_bytes
                .fetch_update(Relaxed, Relaxed, |v| Some(v.saturating_sub(d)));
        }
        self.reported = now;
    }

    /// The compiled function of script `sha`, compiling `body` the first time. A syntax error
    /// is Redis's `Error compiling script` text.
    pub fn function(&mut self, sha: &Sha, body: &[u8]) -> Result<std::ffi::c_int, String> {
        if let Some(f) = self.compiled.get(sha) {
            return Ok(f.id());
        }
        let f = self
            .lua
            .load(body)
            .set_name("@user_script")
            .set_mode(ChunkMode::Text)
            .set_environment(self.env.clone())
            .into_function()
            .map_err(|e| {
                let msg = match e {
                    mlua::Error::SyntaxError { message, .. } => message,
                    other => other.to_string(),
                };
                format!("ERR Error compiling script (new function): {msg}")
            })?;
        let key = self
            .lua
            .create_registry_value(f)
            .map_err(|e| format!("ERR {e}"))?;
        let id = key.id();
        self.compiled.insert(*sha, key);
        Ok(id)
    }

    /// Compiles `body` with no caching (FUNCTION LOAD's library code), named `name`.
    pub fn compile(&self, body: &[u8], name: &str, env: Table) -> Result<Function, String> {
        self.lua
            .load(body)
            .set_name(name)
            .set_mode(ChunkMode::Text)
            .set_environment(env)
            .into_function()
            .map_err(|e| match e {
                mlua::Error::SyntaxError { message, .. } => message,
                other => other.to_string(),
            })
    }
}

/// Lua's `tonumber` of a value (numbers, and strings that read as one).
fn lua_tonumber(v: &Value) -> Option<f64> {
    match v {
        Value::Integer(n) => Some(*n as f64),
        Value::Number(n) => Some(*n),
        Value::String(s) => s.to_str().ok()?.trim().parse::<f64>().ok(),
        _ => None,
    }
}

/// A runtime error positioned as `luaL_error` positions one: at the calling Lua line
/// (`user_script:1: bad argument ...`).
fn lua_error(lua: &Lua, msg: &str) -> mlua::Error {
    let at = lua
        .inspect_stack(1, |d| {
            let line = d.current_line().unwrap_or(0);
            let src = d.source().short_src.map(|s| s.into_owned());
            match src {
                Some(src) if line > 0 => format!("{src}:{line}: "),
                _ => String::new(),
            }
        })
        .unwrap_or_default();
    mlua::Error::runtime(format!("{at}{msg}"))
}

/// `7.2.4` as `0x070204`.
fn version_num(v: &str) -> i64 {
    v.split('.')
        .take(3)
        .fold(0, |acc, p| (acc << 8) | p.parse::<i64>().unwrap_or(0))
}

/// lrand48's generator (48-bit LCG), as Redis's redisLrand48 behind math.random.
fn next_rand(state: &Cell<u64>) -> u64 {
    let x = state.get().wrapping_mul(0x5_DEEC_E66D).wrapping_add(0xB) & ((1u64 << 48) - 1);
    state.set(x);
    x
}
