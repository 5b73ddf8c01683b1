//! FUNCTION libraries: the registry every thread shares (library name -> code and the
//! functions it registered), and loading a library's code into a thread's Lua state.
//!
//! A library's code runs once per Lua state with a load-time API: its globals hold only a
//! `redis` table with `register_function`, `log` and the constants (reading anything else
//! is `Script attempted to access nonexistent global variable`). The functions it registers
//! run later with the ordinary script globals. FUNCTION LOAD checks a library on the calling
//! thread; other threads load the registry again when its generation moves.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use mlua::{Function, Lua, MultiValue, Table, Value};
use parking_lot::RwLock;

use super::call::ScriptFlags;
use super::engine::Engine;

/// One function of a library.
#[derive(Clone, Debug)]
pub struct FuncMeta {
    pub name: String,
    pub description: Option<String>,
    pub flags: ScriptFlags,
    /// The flags as given (FUNCTION LIST).
    pub flag_names: Vec<String>,
}

/// A library: its code and what it registered.
#[derive(Clone, Debug)]
pub struct Library {
    pub name: String,
    pub code: Arc<[u8]>,
    pub functions: Vec<FuncMeta>,
}

/// Every library, shared by the threads.
#[derive(Default)]
pub struct Registry {
    pub libs: RwLock<BTreeMap<String, Library>>,
    /// Bumped on every change: a thread reloads its functions before its next FCALL.
    pub generation: AtomicU64,
}

impl Registry {
    /// The library and metadata of function `name` (case-insensitive, as Redis).
    pub fn find(&self, name: &str) -> Option<(String, FuncMeta)> {
        let libs = self.libs.read();
        for lib in libs.values() {
            for f in &lib.functions {
                if f.name.eq_ignore_ascii_case(name) {
                    return Some((lib.name.clone(), f.clone()));
                }
            }
        }
        None
    }

    pub fn bump(&self) {
        self.generation.fetch_add(1, Relaxed);
    }

    /// Counts for FUNCTION STATS: (libraries, functions).
    pub fn counts(&self) -> (usize, usize) {
        let libs = self.libs.read();
        (libs.len(), libs.values().map(|l| l.functions.len()).sum())
    }
}

/// `#!lua name=<lib>`: the library name of a FUNCTION LOAD payload, checked as Redis checks
/// it.
pub fn parse_metadata(code: &[u8]) -> Result<String, String> {
    if !code.starts_with(b"#!") {
        return Err("ERR Missing library metadata".into());
    }
    let parts =
        super::split_shebang(code).map_err(|_| "ERR Invalid library metadata".to_string())?;
    let engine = String::from_utf8_lossy(parts[0].get(2..).unwrap_or_default()).into_owned();
    let mut name: Option<Vec<u8>> = None;
    for p in &parts[1..] {
        if p.len() >= 5 && p[..5].eq_ignore_ascii_case(b"name=") {
            if name.is_some() {
                return Err(
                    "ERR Invalid metadata value, name argument was given multiple times".into(),
                );
            }
            name = Some(p[5..].to_vec());
        } else {
            return Err(format!(
                "ERR Invalid metadata value given: {}",
                String::from_utf8_lossy(p)
            ));
        }
    }
    let name = name.ok_or_else(|| "ERR Library name was not given".to_string())?;
    let name = match String::from_utf8(name) {
        Ok(n) if valid_name(&n) => n,
        _ => return Err(NAME_ERR.into()),
    };
    if !engine.eq_ignore_ascii_case("lua") {
        return Err(format!("ERR Engine '{engine}' not found"));
    }
    Ok(name)
}

pub const NAME_ERR: &str = "ERR Library names can only contain letters, numbers, or underscores(_) and must be at least one character long";

pub fn valid_name(n: &str) -> bool {
    !n.is_empty() && n.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'_')
}

/// What one run of a library's code registered.
pub struct Registered {
    pub meta: FuncMeta,
    pub callback: Function,
}

const LOAD_API: &str = r#"
local register, log, consts, runtime_env = ...
local function missing(_, k)
  error("Script attempted to access nonexistent global variable '" .. tostring(k) .. "'", 2)
end
local function deny() error('Attempt to modify a readonly table', 2) end
local api = {register_function = register, log = log}
for k, v in pairs(consts) do api[k] = v end
setmetatable(api, {__index = missing})
local api_view = setmetatable({}, {__index = api, __newindex = deny, __metatable = false})
local load_globals = setmetatable({redis = api_view}, {__index = missing})
local loading = false
-- Library code sees the load API while it loads and the script globals afterwards (a helper
-- it defines may call redis.call when a function runs).
local env = setmetatable({}, {
  __index = function(_, k)
    if loading then
      local v = rawget(load_globals, k)
      if v == nil then
        error("Script attempted to access nonexistent global variable '" .. tostring(k) .. "'", 2)
      end
      return v
    end
    return runtime_env[k]
  end,
  __newindex = deny,
  __metatable = false,
})
local function set_loading(v) loading = v end
return env, set_loading
"#;

/// A library's code loaded into `e`: the functions it registered, or Redis's error.
pub fn load_library(e: &mut Engine, code: &[u8]) -> Result<Vec<Registered>, String> {
    let lua = e.lua.clone();
    let collected: Rc<RefCell<Vec<Registered>>> = Rc::new(RefCell::new(Vec::new()));
    let active = Rc::new(std::cell::Cell::new(true));
    let result = (|| -> mlua::Result<Result<(), String>> {
        let c2 = collected.clone();
        let a2 = active.clone();
        let runtime_env = e.env.clone();
        let register = lua.create_function(move |lua, args: MultiValue| {
            if !a2.get() {
                return Err(mlua::Error::runtime(
                    "redis.register_function can only be called on FUNCTION LOAD command",
                ));
            }
            let reg = parse_registration(lua, args).map_err(mlua::Error::runtime)?;
            if c2
                .borrow()
                .iter()
                .any(|r| r.meta.name.eq_ignore_ascii_case(&reg.meta.name))
            {
                return Err(mlua::Error::runtime(
                    "Function already exists in the library",
                ));
            }
            // The function runs with the ordinary script globals.
            let setfenv: Function = lua.globals().raw_get("setfenv")?;
            setfenv.call::<()>((reg.callback.clone(), runtime_env.clone()))?;
            c2.borrow_mut().push(reg);
            Ok(())
        })?;
        let log: Value = e.redis.raw_get("log")?;
        let consts = lua.create_table()?;
        for k in [
            "LOG_DEBUG",
            "LOG_VERBOSE",
            "LOG_NOTICE",
            "LOG_WARNING",
            "REDIS_VERSION",
            "REDIS_VERSION_NUM",
        ] {
            consts.raw_set(k, e.redis.raw_get::<Value>(k)?)?;
        }
        let (env, set_loading): (Table, Function) = lua
            .load(LOAD_API)
            .set_name("=shoal")
            .call((register, log, consts, e.env.clone()))?;
        // The `#!lua name=` line becomes a comment (line numbers stay).
        let mut body = Vec::with_capacity(code.len());
        if let Some(rest) = code.strip_prefix(b"#!") {
            body.extend_from_slice(b"--");
            body.extend_from_slice(rest);
        } else {
            body.extend_from_slice(code);
        }
        let chunk = match e.compile(&body, "@user_function", env) {
            Ok(f) => f,
            Err(msg) => return Ok(Err(format!("ERR Error compiling function: {msg}"))),
        };
        set_loading.call::<()>(true)?;
        super::engine::LOAD_DEADLINE.with(|d| {
            d.set(Some(
                std::time::Instant::now() + std::time::Duration::from_millis(500),
            ))
        });
        let r = chunk.call::<Value>(());
        super::engine::LOAD_DEADLINE.with(|d| d.set(None));
        set_loading.call::<()>(false)?;
        match r {
            Ok(_) => Ok(Ok(())),
            Err(err) => {
                let msg = root_message(&err);
                let msg = msg.strip_prefix("ERR ").unwrap_or(&msg);
                Ok(Err(format!("ERR Error registering functions: ERR {msg}")))
            }
        }
    })();
    active.set(false);
    match result {
        Ok(Ok(())) => {}
        Ok(Err(msg)) => return Err(msg),
        Err(err) => return Err(format!("ERR {}", root_message(&err))),
    }
    let regs = std::mem::take(&mut *collected.borrow_mut());
    if regs.is_empty() {
        return Err("ERR No functions registered".into());
    }
    Ok(regs)
}

/// The innermost message of an mlua error (a Rust callback's own text, or Lua's).
pub fn root_message(e: &mlua::Error) -> String {
    match e {
        mlua::Error::CallbackError { cause, .. } => root_message(cause),
        mlua::Error::WithContext { cause, .. } => root_message(cause),
        mlua::Error::RuntimeError(m) => m
            .split_once("\nstack traceback:")
            .map_or(m.as_str(), |(head, _)| head)
            .to_string(),
        mlua::Error::SyntaxError { message, .. } => message.clone(),
        other => other.to_string(),
    }
}

fn parse_registration(lua: &Lua, args: MultiValue) -> Result<Registered, String> {
    let _ = lua;
    let n = args.len();
    if n == 0 || n > 2 {
        return Err("wrong number of arguments to redis.register_function".into());
    }
    let mut it = args.into_iter();
    let first = it.next().unwrap_or(Value::Nil);
    if n == 1 {
        let Value::Table(t) = first else {
            return Err("calling redis.register_function with a single argument is only applicable to Lua table (representing named arguments).".into());
        };
        let mut name = None;
        let mut callback = None;
        let mut description = None;
        let mut flags = (ScriptFlags::default(), Vec::new());
        for pair in t.pairs::<Value, Value>() {
            let (k, v) = pair.map_err(|e| e.to_string())?;
            let key = match &k {
                Value::String(s) => s.to_string_lossy(),
                _ => {
                    return Err(
                        "named argument key given to redis.register_function is not a string"
                            .into(),
                    );
                }
            };
            match key.to_ascii_lowercase().as_str() {
                "function_name" => match v {
                    Value::String(s) => name = Some(s.to_string_lossy()),
                    _ => return Err("function_name argument given to redis.register_function must be a string".into()),
                },
                "description" => match v {
                    Value::String(s) => description = Some(s.to_string_lossy()),
                    _ => return Err("description argument given to redis.register_function must be a string".into()),
                },
                "callback" => match v {
                    Value::Function(f) => callback = Some(f),
                    _ => return Err("callback argument given to redis.register_function must be a function".into()),
                },
                "flags" => match v {
                    Value::Table(ft) => flags = parse_flags(&ft)?,
                    _ => return Err("flags argument to redis.register_function must be a table representing function flags".into()),
                },
                _ => return Err("unknown argument given to redis.register_function".into()),
            }
        }
        let name = name.ok_or("redis.register_function must get a function name argument")?;
        let callback = callback.ok_or("redis.register_function must get a callback argument")?;
        if !valid_name(&name) {
            return Err(NAME_ERR.trim_start_matches("ERR ").into());
        }
        let mut f = flags.0;
        f.declared = true;
        return Ok(Registered {
            meta: FuncMeta {
                name,
                description,
                flags: f,
                flag_names: flags.1,
            },
            callback,
        });
    }
    // lua_tostring: a number is accepted as its string.
    let name = match first {
        Value::String(s) => s.to_string_lossy(),
        Value::Integer(n) => super::call::format_integer(n),
        Value::Number(n) => super::call::format_number(n),
        _ => {
            return Err("first argument to redis.register_function must be a string".into());
        }
    };
    let Some(Value::Function(callback)) = it.next() else {
        return Err("second argument to redis.register_function must be a function".into());
    };
    if !valid_name(&name) {
        return Err(NAME_ERR.trim_start_matches("ERR ").into());
    }
    Ok(Registered {
        meta: FuncMeta {
            name,
            description: None,
            flags: ScriptFlags {
                declared: true,
                ..Default::default()
            },
            flag_names: Vec::new(),
        },
        callback,
    })
}

fn parse_flags(t: &Table) -> Result<(ScriptFlags, Vec<String>), String> {
    let mut f = ScriptFlags::default();
    // Every value of the table, as Redis walks it with lua_next.
    for pair in t.pairs::<Value, Value>() {
        let Ok((_, Value::String(s))) = pair else {
            return Err("unknown flag given".into());
        };
        match s.to_string_lossy().to_ascii_lowercase().as_str() {
            "no-writes" => f.no_writes = true,
            "allow-oom" => f.allow_oom = true,
            "allow-stale" => f.allow_stale = true,
            "no-cluster" => f.no_cluster = true,
            "allow-cross-slot-keys" => f.allow_cross_slot = true,
            _ => return Err("unknown flag given".into()),
        }
    }
    Ok((f, flag_names(&f)))
}

/// A function's flags as FUNCTION LIST shows them: Redis's names, in Redis's order.
pub fn flag_names(f: &ScriptFlags) -> Vec<String> {
    [
        (f.no_writes, "no-writes"),
        (f.allow_oom, "allow-oom"),
        (f.allow_stale, "allow-stale"),
        (f.no_cluster, "no-cluster"),
        (f.allow_cross_slot, "allow-cross-slot-keys"),
    ]
    .into_iter()
    .filter(|(on, _)| *on)
    .map(|(_, n)| n.to_string())
    .collect()
}

/// Makes `e`'s functions match the registry (after a change on any thread).
pub fn sync_engine(e: &mut Engine, reg: &Registry) {
    let generation = reg.generation.load(Relaxed);
    if e.functions_gen == Some(generation) {
        return;
    }
    e.functions.clear();
    let libs: Vec<Library> = reg.libs.read().values().cloned().collect();
    for lib in libs {
        if let Ok(regs) = load_library(e, &lib.code) {
            for r in regs {
                e.functions
                    .insert(r.meta.name.to_ascii_lowercase(), r.callback);
            }
        }
    }
    e.functions_gen = Some(generation);
}

#[cfg(test)]
mod tests {
    use super::{NAME_ERR, parse_metadata};

    #[test]
    fn library_metadata_matches_redis() {
        assert_eq!(parse_metadata(b"#!lua name=foo\n"), Ok("foo".into()));
        assert_eq!(parse_metadata(b"#!Lua NAME=\"foo\"\n"), Ok("foo".into()));
        let e = |c: &[u8]| parse_metadata(c).err().unwrap_or_default();
        assert_eq!(e(b"x"), "ERR Missing library metadata");
        assert_eq!(e(b"#!lua name=foo"), "ERR Invalid library metadata");
        assert_eq!(e(b"#!lua name=te\0st\n"), "ERR Invalid library metadata");
        assert_eq!(e(b"#!lua name='foo\n"), "ERR Invalid library metadata");
        assert_eq!(e(b"#! name=test\n"), "ERR Engine '' not found");
        assert_eq!(e(b"#!foo\n"), "ERR Library name was not given");
        assert_eq!(e(b"#!foo name=a-b\n"), NAME_ERR);
        assert_eq!(e(b"#!lua name=\n"), NAME_ERR);
        assert_eq!(
            e(b"#!lua foo=bar\n"),
            "ERR Invalid metadata value given: foo=bar"
        );
        assert_eq!(
            e(b"#!lua name=a name=b\n"),
            "ERR Invalid metadata value, name argument was given multiple times"
        );
    }
}
