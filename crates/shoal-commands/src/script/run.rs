//! Running one script: its Lua function under the error handler, redis.call bound to this
//! client's context for the run, the busy/kill bookkeeping, the restart that takes every
//! shard, and the effects it replicates (its writes as one MULTI/EXEC).

use std::cell::{Cell, RefCell};
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;

use mlua::{Function, MultiValue, Table, Value};
use shoal_store::LockSet;

use super::call::{COUNTED, RESTART, RunState, ScriptFlags, redis_call};
use super::convert::lua_to_reply;
use super::engine::{CURRENT, Engine, KILLED, Unlimited, reset_hook, with_engine};
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
    /// The reply was written.
    Done,
    /// An error for the client (and whether INFO already counted it).
    Failed(String, bool),
    /// Start over holding every shard.
    Restart,
}

/// Runs a script for the client in `ctx`, writing its reply.
pub fn run_script(ctx: &mut Ctx<'_>, inv: Invocation<'_>) -> CmdResult {
    let shared = ctx.shared;
    let scripts = shared.scripts.clone();
    let function = matches!(inv.target, Target::Function { .. });
    let name = match &inv.target {
        Target::Function { name, .. } => name.to_string(),
        Target::Eval { .. } => String::new(),
    };
    let running = scripts.start(ctx.client.id, function, name, inv.command.clone());
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
            Err(e) => Outcome::Failed(e, false),
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
        Outcome::Done => Ok(()),
        Outcome::Failed(msg, counted) => {
            ctx.client.error_counted = counted;
            Err(CmdError(msg.into()))
        }
        Outcome::Restart => Err(CmdError(RESTART.into())),
    }
}

fn bytes_table(lua: &mlua::Lua, items: &[&[u8]]) -> mlua::Result<Table> {
    let t = lua.create_table_with_capacity(items.len(), 0)?;
    for (i, k) in items.iter().enumerate() {
        t.raw_seti(i + 1, lua.create_string(k)?)?;
    }
    Ok(t)
}

fn run_once(
    e: &mut Engine,
    ctx: &mut Ctx<'_>,
    inv: &Invocation<'_>,
    running: &Arc<super::Running>,
    holds_all: bool,
) -> Outcome {
    reset_hook(e);
    let found = match &inv.target {
        Target::Eval { sha, body } => e.function(sha, body),
        Target::Function { find, .. } => find(e),
    };
    let f = match found {
        Ok(f) => f,
        Err(msg) => return Outcome::Failed(msg, false),
    };
    // Where an error happened, for its reply (made only then).
    let what = || match &inv.target {
        Target::Eval { sha, .. } => format!("script: {}", String::from_utf8_lossy(sha)),
        Target::Function { name, .. } => format!("script: {name}"),
    };
    let lua = e.lua.clone();
    let free = Unlimited::new(&lua);
    let is_eval = matches!(inv.target, Target::Eval { .. });
    let tables = bytes_table(&lua, &inv.keys).and_then(|k| Ok((k, bytes_table(&lua, &inv.argv)?)));
    let (keys, argv) = match tables {
        Ok(x) => x,
        Err(err) => return Outcome::Failed(format!("ERR {err}"), false),
    };
    crate::acl::set_script_user(
        ctx.client
            .user
            .clone()
            .unwrap_or_else(|| ctx.shared.acl.default.clone()),
    );
    let state = RefCell::new(RunState {
        ctx,
        read_only: inv.read_only,
        flags: inv.flags,
        running: running.clone(),
        restart: false,
        wrote: false,
        resp: 2,
    });
    let slot = e.slot.clone();
    let runner = e.runner.clone();
    let result = (|| -> mlua::Result<Outcome> {
        drop(free);
        let (ok, val): (bool, Value) = {
            let _bound = Bound::new(&state);
            runner.call((f, is_eval, keys, argv))?
        };
        let _free = Unlimited::new(&lua);
        let mut st = state.borrow_mut();
        if st.restart && !holds_all {
            return Ok(Outcome::Restart);
        }
        if running.kill.load(Relaxed) {
            return Ok(Outcome::Failed(format!("{KILLED} {}", what()), false));
        }
        if ok {
            // A top-level error table is the script's error reply (no position added).
            if let Value::Table(t) = &val
                && let Ok(Value::String(err)) = t.raw_get::<Value>("err")
            {
                let counted = matches!(t.raw_get::<Value>(COUNTED), Ok(Value::Boolean(true)));
                let msg = err.to_string_lossy();
                return Ok(Outcome::Failed(msg, counted));
            }
            let lr3 = matches!(
                slot.raw_get::<Value>("resp"),
                Ok(Value::Integer(3)) | Ok(Value::Number(3.0))
            );
            lua_to_reply(st.ctx.out, &val, lr3);
            return Ok(Outcome::Done);
        }
        Ok(error_outcome(&val, &what()))
    })();
    match result {
        Ok(o) => o,
        Err(err) => Outcome::Failed(lua_error_text(&err, &what()), false),
    }
}

thread_local! {
    /// The state of the script running on this thread, for redis.call (see `Bound`).
    static BOUND: Cell<*const ()> = const { Cell::new(std::ptr::null()) };
}

/// Makes `state` the one redis.call and redis.pcall reach, for as long as it lives.
struct Bound(*const ());

impl Bound {
    fn new(state: &RefCell<RunState<'_, '_>>) -> Bound {
        let p = state as *const RefCell<RunState<'_, '_>> as *const ();
        Bound(BOUND.with(|b| b.replace(p)))
    }
}

impl Drop for Bound {
    fn drop(&mut self) {
        BOUND.with(|b| b.set(self.0));
    }
}

/// redis.call (`raise`) and redis.pcall: made once per Lua state, they run the command in the
/// context of the script this thread is running. (Functions made for each run, as mlua's scopes
/// make them, cost more than a short script itself.)
pub(super) fn bound_call(
    lua: &mlua::Lua,
    slot: &Table,
    raise: bool,
    args: MultiValue,
) -> mlua::Result<Value> {
    let p = BOUND.with(|b| b.get());
    if p.is_null() {
        return Err(mlua::Error::runtime(
            "redis.call and redis.pcall can only be used while a script runs",
        ));
    }
    // SAFETY: `p` was set by `Bound::new` from a reference to a `RefCell<RunState>` that
    // outlives the `Bound` (both are locals of `run_once`, the state declared first), and the
    // `Bound` puts the previous pointer back when dropped, so a non-null `p` always points to
    // a live state. Only this thread reads BOUND, and the RefCell still guards against a
    // re-entrant borrow.
    let state = unsafe { &*(p as *const RefCell<RunState<'_, '_>>) };
    let _free = Unlimited::new(lua);
    let mut st = state.borrow_mut();
    st.resp = match slot.raw_get::<Value>("resp") {
        Ok(Value::Integer(3)) => 3,
        Ok(Value::Number(3.0)) => 3,
        _ => 2,
    };
    let repl_all = !matches!(slot.raw_get::<Value>("repl"), Ok(Value::Integer(n)) if n & 2 == 0);
    let mark = st.ctx.client.exec_prop.len();
    let r = redis_call(lua, &mut st, raise, args);
    if !repl_all {
        st.ctx.client.exec_prop.truncate(mark);
    }
    let (v, raise) = r?;
    if !raise {
        return Ok(v);
    }
    // Raised: the error object carries the text (the handler finds it again).
    let (msg, counted) = match &v {
        Value::Table(t) => (
            match t.raw_get::<Value>("err") {
                Ok(Value::String(s)) => s.to_string_lossy(),
                _ => "ERR unknown error".to_string(),
            },
            matches!(t.raw_get::<Value>(COUNTED), Ok(Value::Boolean(true))),
        ),
        _ => ("ERR unknown error".to_string(), false),
    };
    Err(mlua::Error::external(ScriptErr { msg, counted }))
}

/// The reply for a script that raised: `{err=...}` raised by redis.call or error({err=}),
/// or a message (a runtime error), with where it happened.
fn error_outcome(val: &Value, what: &str) -> Outcome {
    let Value::Table(t) = val else {
        return Outcome::Failed(format!("ERR unknown error {what}"), false);
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
    let base = match (t.raw_get::<Value>("err"), t.raw_get::<Value>("msg")) {
        _ if raised.is_some() => {
            let (msg, c) = raised.unwrap_or_default();
            counted = c;
            msg
        }
        (Ok(Value::String(e)), _) => e.to_string_lossy(),
        (_, Ok(Value::String(m))) => format!("ERR {}", strip_mlua(&m.to_string_lossy())),
        _ => "ERR unknown error".to_string(),
    };
    if base == RESTART {
        return Outcome::Restart;
    }
    if base.starts_with(KILLED) {
        return Outcome::Failed(format!("{KILLED} {what}"), false);
    }
    Outcome::Failed(format!("{base} {what}, on {source}:{line}."), counted)
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
fn strip_mlua(s: &str) -> &str {
    let s = s.strip_prefix("runtime error: ").unwrap_or(s);
    s.split_once("\nstack traceback:")
        .map_or(s, |(head, _)| head)
}

fn lua_error_text(err: &mlua::Error, what: &str) -> String {
    let msg = match err {
        mlua::Error::MemoryError(_) => "ERR Lua script ran out of memory".to_string(),
        other => format!(
            "ERR {}",
            strip_mlua(&crate::script::functions::root_message(other))
        ),
    };
    format!("{msg} {what}")
}
