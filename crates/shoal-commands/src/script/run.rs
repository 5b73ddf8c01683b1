//! Running one script: its Lua function under the error handler, redis.call bound to this
//! client's context for the run, the busy/kill bookkeeping, the restart that takes every
//! shard, and the effects it replicates (its writes as one MULTI/EXEC).

use std::cell::RefCell;
use std::ffi::c_int;
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;

use mlua::{Function, Value, ffi};
use shoal_store::LockSet;

use super::call::{COUNTED, RESTART, RunState, ScriptFlags};
use super::convert::lua_to_reply;
use super::engine::{CURRENT, Engine, KILLED, Unlimited, reset_hook, with_engine};
use super::raw;
use crate::ctx::Ctx;
use crate::errors::{CmdError, CmdResult};

/// What to run.
pub enum Target<'x> {
    /// An EVAL script: compiled from `body` once per thread, keyed by `sha`.
    Eval { sha: super::Sha, body: &'x [u8] },
    /// A library function (FCALL): found by the caller in the engine.
    Function {
        name: &'x str,
        find: &'x dyn Fn(&mut Engine) -> Result<Function, String>,
    },
}

/// A script invocation: the target, its KEYS and ARGV, and how it may behave.
pub struct Invocation<'x> {
    pub target: Target<'x>,
    pub keys: Vec<&'x [u8]>,
    pub argv: Vec<&'x [u8]>,
    pub read_only: bool,
    pub flags: ScriptFlags,
    /// FCALL's command as given (FUNCTION STATS); empty for EVAL.
    pub command: Vec<Vec<u8>>,
}

/// How a run ended.
enum Outcome {
    /// The reply was written (`true`: with an error reply inside it).
    Done(bool),
    /// An error for the client, as bytes (a script's may be any), and whether INFO already
    /// counted it.
    Failed(Vec<u8>, bool),
    /// Start over holding every shard.
    Restart,
}

/// Runs a script for the client in `ctx`, writing its reply.
pub fn run_script(ctx: &mut Ctx<'_>, inv: Invocation<'_>) -> CmdResult {
    super::note_ran();
    let shared = ctx.shared;
    let scripts = shared.scripts.clone();
    let function = matches!(inv.target, Target::Function { .. });
    let name = match &inv.target {
        Target::Function { name, .. } => name.to_string(),
        Target::Eval { .. } => String::new(),
    };
    let running = scripts.start(ctx.client.id, function, name, inv.command.clone());
    // This command (its commands will take the place for CLIENT LIST).
    let me = ctx.client.info.last_cmd.load(Relaxed);
    let db = ctx.client.db;
    let was_in_exec = ctx.in_exec;
    ctx.in_exec = true;
    let prop_mark = ctx.client.exec_prop.len();
    // A script not known to keep to its declared keys runs holding every shard (see learn).
    let id = match &inv.target {
        Target::Eval { sha, .. } => *sha,
        Target::Function { name, .. } => super::learn::function_id(name),
    };
    let plan = scripts.learned.plan(&id);
    super::learn::begin(ctx.ks.locks.ids());
    // A script known to reach shards beyond its declared keys' holds those too, taken in
    // order with the declared ones before it starts (nothing ran yet: safe to re-take).
    if let super::learn::Plan::Declared(extra) = &plan
        && !extra.is_empty()
        && !was_in_exec
    {
        let mut ids: Vec<_> = ctx.ks.locks.ids().chain(extra.iter().copied()).collect();
        ctx.ks.locks = LockSet::empty();
        ctx.ks.locks = LockSet::acquire(&shared.store, &mut ids);
    }
    let mut outcome = Outcome::Restart;
    for attempt in 0..2 {
        // Inside EXEC every shard is held already (EXEC plans scripts so).
        let wide = (attempt == 1 || plan == super::learn::Plan::All) && !was_in_exec;
        if wide {
            // Every shard of every database, in order, from nothing held.
            ctx.ks.locks = LockSet::empty();
            let mut all: Vec<_> = shared.store.all_shards().collect();
            ctx.ks.locks = LockSet::acquire(&shared.store, &mut all);
            ctx.client.db = db;
        }
        CURRENT.with(|c| *c.borrow_mut() = Some((running.clone(), scripts.clone())));
        let r = with_engine(&scripts, |e| run_once(e, ctx, &inv, &running, wide));
        CURRENT.with(|c| *c.borrow_mut() = None);
        outcome = match r {
            Ok(o) => o,
            Err(e) => Outcome::Failed(e.into_bytes(), false),
        };
        if !matches!(outcome, Outcome::Restart) {
            break;
        }
    }
    scripts.end(&running);
    let strayed = super::learn::end();
    scripts.learned.record(&id, strayed.as_deref());
    ctx.client.db = db;
    ctx.in_exec = was_in_exec;
    // The script's writes reach replicas as one transaction (inside EXEC they are part of
    // the EXEC's); the EVAL itself is not replicated.
    if !was_in_exec {
        let body = ctx.client.exec_prop.split_off(prop_mark);
        if !body.is_empty() {
            let repl = &shared.repl;
            let mut out = Vec::with_capacity(body.len() + 32);
            crate::repl::encode(&mut out, &[b"MULTI"]);
            out.extend_from_slice(&body);
            crate::repl::encode(&mut out, &[b"EXEC"]);
            repl.feed(&out);
            ctx.client.woff = repl.offset.load(Relaxed);
        }
    }
    ctx.propagate_nothing();
    match outcome {
        Outcome::Done(errors) => {
            if errors {
                // The EVAL/FCALL (what dispatch set running) failed, as Redis counts it.
                shared
                    .stats
                    .failed(me & ((1 << crate::dispatch::CMD_SUB_SHIFT) - 1));
            }
            Ok(())
        }
        Outcome::Failed(msg, counted) => {
            ctx.client.error_counted = counted;
            Err(CmdError::from(msg))
        }
        Outcome::Restart => Err(CmdError::from(RESTART)),
    }
}

fn run_once(
    e: &mut Engine,
    ctx: &mut Ctx<'_>,
    inv: &Invocation<'_>,
    running: &Arc<super::Running>,
    holds_all: bool,
) -> Outcome {
    reset_hook(e);
    // An FCALL's function is put in the registry for the run (EVAL scripts are kept there).
    let mut held = None;
    let fid = match &inv.target {
        Target::Eval { sha, body } => e.function(sha, body),
        Target::Function { find, .. } => find(e).and_then(|f| {
            let key = e
                .lua
                .create_registry_value(f)
                .map_err(|err| format!("ERR {err}"))?;
            let id = key.id();
            held = Some(key);
            Ok(id)
        }),
    };
    let fid = match fid {
        Ok(f) => f,
        Err(msg) => return Outcome::Failed(msg.into_bytes(), false),
    };
    // Where an error happened, for its reply (made only then).
    let what = || match &inv.target {
        Target::Eval { sha, .. } => format!("script: {}", String::from_utf8_lossy(sha)),
        Target::Function { name, .. } => format!("script: {name}"),
    };
    let lua = e.lua.clone();
    let l = e.state;
    let is_eval = matches!(inv.target, Target::Eval { .. });
    crate::acl::set_script_user(
        ctx.client
            .user
            .clone()
            .unwrap_or_else(|| ctx.shared.acl.default.clone()),
    );
    raw::RESP.with(|r| r.set(2));
    raw::REPL.with(|r| r.set(3));
    let state = RefCell::new(RunState {
        ctx,
        lua: lua.clone(),
        read_only: inv.read_only,
        flags: inv.flags,
        running: running.clone(),
        restart: false,
        wrote: false,
        resp: 2,
    });
    let free = Unlimited::new(&lua);
    // SAFETY: `l` is the main thread of `lua` (see `Engine::state`), which no Lua code is
    // running on (the engine is borrowed mutably for this run), so the stack is ours above
    // `base` and is put back to `base` below. The pushes follow `script::raw`'s rules: the
    // memory limit is lifted (`free`) and lua_checkstack made room first. lua_pcall catches
    // every error the runner raises, and the values it leaves are read before the stack is
    // reset.
    let base = unsafe { ffi::lua_gettop(l) };
    // An EVAL with the `redis` table already set up for one runs straight under the error
    // handler (what the runner does, without its own call): KEYS and ARGV set raw into the
    // globals, then `f` under lua_pcall. Otherwise the runner sets things up.
    let direct = is_eval && e.eval_ready;
    e.eval_ready = is_eval;
    let status = unsafe {
        if ffi::lua_checkstack(l, 8) == 0 {
            return Outcome::Failed(b"ERR Lua stack exhausted".to_vec(), false);
        }
        if direct {
            ffi::lua_rawgeti_(l, ffi::LUA_REGISTRYINDEX, e.handler.id());
            ffi::lua_rawgeti_(l, ffi::LUA_REGISTRYINDEX, e.real_key.id());
            ffi::lua_pushstring_(l, c"KEYS".as_ptr());
            raw::push_bytes_table(l, &inv.keys);
            ffi::lua_rawset(l, base + 2);
            ffi::lua_pushstring_(l, c"ARGV".as_ptr());
            raw::push_bytes_table(l, &inv.argv);
            ffi::lua_rawset(l, base + 2);
            ffi::lua_settop(l, base + 1);
            ffi::lua_rawgeti_(l, ffi::LUA_REGISTRYINDEX, fid);
        } else {
            ffi::lua_rawgeti_(l, ffi::LUA_REGISTRYINDEX, e.runner.id());
            ffi::lua_rawgeti_(l, ffi::LUA_REGISTRYINDEX, fid);
            ffi::lua_pushboolean(l, is_eval as c_int);
            raw::push_bytes_table(l, &inv.keys);
            raw::push_bytes_table(l, &inv.argv);
        }
        drop(free);
        let _bound = Bound::new(&state);
        if direct {
            ffi::lua_pcall(l, 0, 1, base + 1)
        } else {
            ffi::lua_pcall(l, 4, 2, 0)
        }
    };
    drop(held);
    let _free = Unlimited::new(&lua);
    let mut st = state.borrow_mut();
    // SAFETY: as above. What the run left: directly, the handler at base+1 and the result
    // (or the handler's error table) at base+2; through the runner, `ok` at base+1 and the
    // result or error table at base+2 (or, if the runner itself failed, its error at base+1).
    let outcome = unsafe {
        if status != 0 && !direct {
            // The runner may not have finished setting up the `redis` table.
            e.eval_ready = false;
            let v = stashed(&lua, l);
            runner_failed(status, v, &what())
        } else if st.restart && !holds_all {
            Outcome::Restart
        } else if running.kill.load(Relaxed) {
            Outcome::Failed(format!("{KILLED} {}", what()).into_bytes(), false)
        } else if status != 0 || (!direct && ffi::lua_toboolean(l, base + 1) == 0) {
            let v = stashed(&lua, l);
            error_outcome(&v, &what())
        } else {
            let lr3 = raw::RESP.with(|r| r.get()) == 3;
            let shared = st.ctx.shared;
            let errors = std::cell::Cell::new(false);
            let count = |m: &[u8], counted: bool| {
                errors.set(true);
                if !counted {
                    crate::dispatch::count_error(shared, m);
                }
            };
            match result_reply(&lua, l, base + 2, st.ctx.out, lr3, &count) {
                Outcome::Done(_) => Outcome::Done(errors.get()),
                other => other,
            }
        }
    };
    // SAFETY: back to where the run found the stack.
    unsafe { ffi::lua_settop(l, base) };
    outcome
}

/// The value on top of `l`'s stack as an mlua value (popped): for what is not worth a fast
/// path (errors, tables).
///
/// # Safety
/// `l` is the main thread of `lua`, with a value on top and a free slot.
unsafe fn stashed(lua: &mlua::Lua, l: *mut ffi::lua_State) -> Value {
    // SAFETY: the caller's contract; the registry is a plain table, so the raw stores do
    // not raise.
    unsafe {
        ffi::lua_pushstring_(l, STASH.as_ptr());
        ffi::lua_insert(l, -2);
        ffi::lua_rawset(l, ffi::LUA_REGISTRYINDEX);
    }
    let v = lua
        .named_registry_value::<Value>(STASH.to_str().unwrap_or_default())
        .unwrap_or(Value::Nil);
    let _ = lua.unset_named_registry_value(STASH.to_str().unwrap_or_default());
    v
}

const STASH: &std::ffi::CStr = c"shoal.script.result";

/// A script's successful result (at `idx`) as its reply: strings, numbers, booleans and nil
/// straight from the stack; a table with `err` is the script's error reply (no position
/// added); other tables and values through mlua ([`lua_to_reply`]).
///
/// # Safety
/// `l` is the main thread of `lua` with the value at `idx` (an absolute index) on top, and a
/// free slot; the memory limit is lifted.
#[inline(always)]
unsafe fn result_reply(
    lua: &mlua::Lua,
    l: *mut ffi::lua_State,
    idx: c_int,
    out: &mut shoal_resp::Reply,
    lr3: bool,
    count: &dyn Fn(&[u8], bool),
) -> Outcome {
    // SAFETY: the caller's contract.
    unsafe {
        match ffi::lua_type(l, idx) {
            ffi::LUA_TSTRING => out.bulk(raw::str_at(l, idx)),
            ffi::LUA_TNUMBER => out.int(super::convert::truncate(ffi::lua_tonumber(l, idx))),
            ffi::LUA_TBOOLEAN => {
                let b = ffi::lua_toboolean(l, idx) != 0;
                match (lr3, b) {
                    (true, b) if out.resp3() => out.bool(b),
                    (true, b) => out.int(b as i64),
                    (false, true) => out.int(1),
                    (false, false) => out.null(),
                }
            }
            ffi::LUA_TNIL => out.null(),
            ffi::LUA_TTABLE => {
                if raw::raw_field(l, idx, c"err") == ffi::LUA_TSTRING {
                    let msg = super::convert::error_text(raw::str_at(l, -1)).to_vec();
                    ffi::lua_pop(l, 1);
                    let counted = raw::raw_field(l, idx, c"ignore_error_stats_update")
                        == ffi::LUA_TBOOLEAN
                        && ffi::lua_toboolean(l, -1) != 0;
                    ffi::lua_pop(l, 1);
                    return Outcome::Failed(msg, counted);
                }
                ffi::lua_pop(l, 1);
                let v = stashed(lua, l);
                lua_to_reply(out, &v, lr3, count);
            }
            _ => {
                let v = stashed(lua, l);
                lua_to_reply(out, &v, lr3, count);
            }
        }
    }
    Outcome::Done(false)
}

/// Makes `state` the one redis.call and redis.pcall reach, for as long as it lives.
struct Bound(*const ());

impl Bound {
    fn new(state: &RefCell<RunState<'_, '_>>) -> Bound {
        let p = state as *const RefCell<RunState<'_, '_>> as *const ();
        Bound(raw::BOUND.with(|b| b.replace(p)))
    }
}

impl Drop for Bound {
    fn drop(&mut self) {
        raw::BOUND.with(|b| b.set(self.0));
    }
}

/// The reply for a run whose runner itself failed (`v`: its error).
#[cold]
#[inline(never)]
fn runner_failed(status: c_int, v: Value, what: &str) -> Outcome {
    let mut msg = match (status, v) {
        (ffi::LUA_ERRMEM, _) => b"ERR Lua script ran out of memory".to_vec(),
        (_, Value::Error(err)) => lua_error_text(&err, "").into_bytes(),
        (_, Value::String(s)) => [b"ERR ", lua_text(&s.as_bytes())].concat(),
        _ => b"ERR unknown error".to_vec(),
    };
    msg.truncate(msg.trim_ascii_end().len());
    msg.push(b' ');
    msg.extend_from_slice(what.as_bytes());
    Outcome::Failed(msg, false)
}

/// The reply for a script that raised: `{err=...}` raised by redis.call or error({err=}),
/// or a message (a runtime error), with where it happened.
#[cold]
#[inline(never)]
fn error_outcome(val: &Value, what: &str) -> Outcome {
    let Value::Table(t) = val else {
        return Outcome::Failed(format!("ERR unknown error {what}").into_bytes(), false);
    };
    let source = match t.raw_get::<Value>("source") {
        Ok(Value::String(s)) => s.to_string_lossy(),
        _ => "?".to_string(),
    };
    let line = match t.raw_get::<Value>("line") {
        Ok(Value::Integer(n)) => n.to_string(),
        Ok(Value::Number(n)) => (n as i64).to_string(),
        _ => "?".to_string(),
    };
    let mut counted = matches!(t.raw_get::<Value>(COUNTED), Ok(Value::Boolean(true)));
    let raised = match t.raw_get::<Value>("raw") {
        Ok(Value::Error(e)) => find_script_err(&e).map(|s| (s.msg.clone(), s.counted)),
        _ => None,
    };
    // The message as bytes: a script's error text (or a string it raised) may be any.
    let mut msg = match (t.raw_get::<Value>("err"), t.raw_get::<Value>("msg")) {
        _ if raised.is_some() => {
            let (msg, c) = raised.unwrap_or_default();
            counted = c;
            msg.into_bytes()
        }
        (Ok(Value::String(e)), _) => lua_text(&e.as_bytes()).to_vec(),
        (_, Ok(Value::String(m))) => [b"ERR ", strip_mlua(lua_text(&m.as_bytes()))].concat(),
        _ => b"ERR unknown error".to_vec(),
    };
    if msg == RESTART.as_bytes() {
        return Outcome::Restart;
    }
    if msg.starts_with(KILLED.as_bytes()) {
        return Outcome::Failed(format!("{KILLED} {what}").into_bytes(), false);
    }
    msg.push(b' ');
    msg.extend_from_slice(what.as_bytes());
    msg.extend_from_slice(format!(", on {source}:{line}.").as_bytes());
    Outcome::Failed(msg, counted)
}

/// An error redis.call raised (a command's error, or a refusal of the script's checks).
#[derive(Debug)]
pub struct ScriptErr {
    pub msg: String,
    pub counted: bool,
}

impl std::fmt::Display for ScriptErr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.msg)
    }
}

impl std::error::Error for ScriptErr {}

/// The [`ScriptErr`] inside an error that went through Lua.
pub fn find_script_err(e: &mlua::Error) -> Option<&ScriptErr> {
    match e {
        mlua::Error::CallbackError { cause, .. } => find_script_err(cause),
        mlua::Error::WithContext { cause, .. } => find_script_err(cause),
        other => other.downcast_ref::<ScriptErr>(),
    }
}

/// An mlua error's message as Lua would print it (no "runtime error: " decoration).
fn strip_mlua(s: &[u8]) -> &[u8] {
    let s = s.strip_prefix(b"runtime error: ").unwrap_or(s);
    const TRACE: &[u8] = b"\nstack traceback:";
    s.windows(TRACE.len())
        .position(|w| w == TRACE)
        .map_or(s, |i| &s[..i])
}

/// A Lua string as Redis reads an error's text from it (`lua_tostring`, then C string
/// functions): up to its first NUL byte.
pub(super) fn lua_text(s: &[u8]) -> &[u8] {
    crate::errors::c_str(s, usize::MAX)
}

fn lua_error_text(err: &mlua::Error, what: &str) -> String {
    let msg = match err {
        mlua::Error::MemoryError(_) => "ERR Lua script ran out of memory".to_string(),
        other => format!(
            "ERR {}",
            String::from_utf8_lossy(strip_mlua(
                crate::script::functions::root_message(other).as_bytes()
            ))
        ),
    };
    format!("{msg} {what}")
}
