//! FUNCTION (LOAD, DELETE, FLUSH, KILL, LIST, STATS, DUMP, RESTORE, HELP), FCALL, FCALL_RO.

use std::collections::BTreeMap;

use shoal_resp::Args;

use crate::ctx::Ctx;
use crate::errors::{self, CmdError, CmdResult};
use crate::families::scripting::{preflight, split_keys};
use crate::script::functions::{FuncMeta, Library, load_library, parse_metadata, sync_engine};
use crate::script::run::{Invocation, Target, run_script};
use crate::spec::{Group, Spec, cmd, flags::*};

fn eq_ic(a: &[u8], b: &str) -> bool {
    a.eq_ignore_ascii_case(b.as_bytes())
}

fn fcall_generic(ctx: &mut Ctx<'_>, a: Args<'_>, ro: bool) -> CmdResult {
    // The function is looked up before numkeys is read (as Redis).
    let name = String::from_utf8_lossy(a.get(1)).into_owned();
    let reg = &ctx.shared.scripts.functions;
    let (_, meta) = reg
        .find(&name)
        .ok_or(CmdError::from("ERR Function not found"))?;
    if shoal_resp::parse_i64(a.get(2)).is_none() {
        return Err("ERR Bad number of keys provided".into());
    }
    let (keys, argv) = split_keys(&a)?;
    preflight(ctx, &meta.flags, ro)?;
    let lower = meta.name.to_ascii_lowercase();
    let scripts = ctx.shared.scripts.clone();
    let find = move |e: &mut crate::script::engine::Engine| {
        sync_engine(e, &scripts.functions);
        e.functions
            .get(&lower)
            .cloned()
            .ok_or_else(|| "ERR Function not found".to_string())
    };
    run_script(
        ctx,
        Invocation {
            target: Target::Function {
                name: &meta.name,
                find: &find,
            },
            keys,
            argv,
            read_only: ro || meta.flags.no_writes,
            flags: meta.flags,
            command: a.iter().map(|x| x.to_vec()).collect(),
        },
    )
}

/// FCALL function numkeys [key ...] [arg ...]
fn fcall(ctx: &mut Ctx<'_>, a: Args<'_>) -> CmdResult {
    fcall_generic(ctx, a, false)
}

/// FCALL_RO function numkeys [key ...] [arg ...]
fn fcall_ro(ctx: &mut Ctx<'_>, a: Args<'_>) -> CmdResult {
    fcall_generic(ctx, a, true)
}

/// Checks `code` on this thread's Lua state: the library it makes.
fn compile_library(ctx: &Ctx<'_>, code: &[u8]) -> Result<Library, CmdError> {
    let name = parse_metadata(code).map_err(CmdError::from)?;
    let scripts = &ctx.shared.scripts;
    let regs = crate::script::engine::with_engine(scripts, |e| {
        load_library(e, code).map(|regs| regs.into_iter().map(|r| r.meta).collect::<Vec<_>>())
    })
    .map_err(CmdError::from)?
    .map_err(CmdError::from)?;
    Ok(Library {
        name,
        code: code.into(),
        functions: regs,
    })
}

/// Adds `new` to `libs`: replacing a library of the same name only with `replace`, and never
/// taking a function name another library has.
fn install(
    libs: &mut BTreeMap<String, Library>,
    new: Library,
    replace: bool,
) -> Result<(), String> {
    if libs.contains_key(&new.name) && !replace {
        return Err(format!("ERR Library '{}' already exists", new.name));
    }
    for f in &new.functions {
        for (lname, lib) in libs.iter() {
            if *lname == new.name {
                continue;
            }
            if lib
                .functions
                .iter()
                .any(|g| g.name.eq_ignore_ascii_case(&f.name))
            {
                return Err(format!("ERR Function {} already exists", f.name));
            }
        }
    }
    libs.insert(new.name.clone(), new);
    Ok(())
}

fn over_memory(ctx: &Ctx<'_>) -> bool {
    !ctx.client.is_master
        && crate::memory::over_limit(ctx.shared)
        && !crate::memory::make_room(ctx.shared, ctx.ks.now)
}

const DUMP_LIB: u8 = 0xF5;

pub(crate) fn dump_payload(libs: &BTreeMap<String, Library>) -> Vec<u8> {
    payload_of(libs.values().map(|l| &l.code[..]))
}

/// A FUNCTION DUMP payload of libraries given by their code (an RDB file's, when loading it).
pub(crate) fn payload_of<'a>(codes: impl Iterator<Item = &'a [u8]>) -> Vec<u8> {
    let mut out = Vec::new();
    for code in codes {
        out.push(DUMP_LIB);
        out.extend_from_slice(&(code.len() as u32).to_le_bytes());
        out.extend_from_slice(code);
    }
    out.extend_from_slice(&shoal_store::dump::DUMP_VERSION.to_le_bytes());
    let crc = shoal_store::dump::crc64(&out);
    out.extend_from_slice(&crc.to_le_bytes());
    out
}

fn parse_payload(p: &[u8]) -> Result<Vec<&[u8]>, CmdError> {
    const BAD: &str = "ERR payload version or checksum are wrong";
    if p.len() < 10 {
        return Err(BAD.into());
    }
    let (body, tail) = p.split_at(p.len() - 10);
    let version = u16::from_le_bytes([tail[0], tail[1]]);
    let mut crc = [0u8; 8];
    crc.copy_from_slice(&tail[2..]);
    if version != shoal_store::dump::DUMP_VERSION
        || shoal_store::dump::crc64(&p[..p.len() - 8]) != u64::from_le_bytes(crc)
    {
        return Err(BAD.into());
    }
    let mut out = Vec::new();
    let mut b = body;
    while !b.is_empty() {
        if b.len() < 5 || b[0] != DUMP_LIB {
            return Err("ERR given type is not a function".into());
        }
        let n = u32::from_le_bytes([b[1], b[2], b[3], b[4]]) as usize;
        b = &b[5..];
        if b.len() < n {
            return Err(BAD.into());
        }
        out.push(&b[..n]);
        b = &b[n..];
    }
    Ok(out)
}

fn write_library(ctx: &mut Ctx<'_>, lib: &Library, code: bool) {
    ctx.out.map(if code { 4 } else { 3 });
    ctx.out.bulk(b"library_name");
    ctx.out.bulk(lib.name.as_bytes());
    ctx.out.bulk(b"engine");
    ctx.out.bulk(b"LUA");
    ctx.out.bulk(b"functions");
    ctx.out.array(lib.functions.len());
    for f in &lib.functions {
        write_function(ctx, f);
    }
    if code {
        ctx.out.bulk(b"library_code");
        ctx.out.bulk(&lib.code);
    }
}

fn write_function(ctx: &mut Ctx<'_>, f: &FuncMeta) {
    ctx.out.map(3);
    ctx.out.bulk(b"name");
    ctx.out.bulk(f.name.as_bytes());
    ctx.out.bulk(b"description");
    match &f.description {
        Some(d) => ctx.out.bulk(d.as_bytes()),
        None => ctx.out.null(),
    }
    ctx.out.bulk(b"flags");
    ctx.out.set(f.flag_names.len());
    for n in &f.flag_names {
        ctx.out.simple(n.as_bytes());
    }
}

fn unknown_sub(sub: &[u8]) -> CmdError {
    CmdError::from(format!(
        "ERR unknown subcommand or wrong number of arguments for '{}'. Try FUNCTION HELP.",
        String::from_utf8_lossy(sub)
    ))
}

/// FUNCTION <subcommand> ...
fn function(ctx: &mut Ctx<'_>, a: Args<'_>) -> CmdResult {
    let sub = a.get(1);
    let scripts = ctx.shared.scripts.clone();
    let reg = &scripts.functions;
    if !["load", "delete", "flush", "restore"]
        .iter()
        .any(|s| eq_ic(sub, s))
    {
        ctx.propagate_nothing();
    }
    if eq_ic(sub, "load") {
        if a.len() < 3 {
            return Err(errors::arity("function|load"));
        }
        let mut replace = false;
        for opt in (2..a.len() - 1).map(|i| a.get(i)) {
            if eq_ic(opt, "replace") {
                replace = true;
            } else {
                return Err(CmdError::from(format!(
                    "ERR Unknown option given: {}",
                    String::from_utf8_lossy(opt)
                )));
            }
        }
        if over_memory(ctx) {
            return Err(errors::OOM.into());
        }
        let code = a.get(a.len() - 1);
        // An existing library is reported before its new code is compiled (as Redis).
        if !replace
            && let Ok(name) = parse_metadata(code)
            && ctx.shared.scripts.functions.libs.read().contains_key(&name)
        {
            return Err(CmdError::from(format!(
                "ERR Library '{name}' already exists"
            )));
        }
        let lib = compile_library(ctx, code)?;
        let name = lib.name.clone();
        install(&mut reg.libs.write(), lib, replace).map_err(CmdError::from)?;
        reg.bump();
        ctx.out.bulk(name.as_bytes());
        return Ok(());
    }
    if eq_ic(sub, "delete") && a.len() == 3 {
        let name = String::from_utf8_lossy(a.get(2)).into_owned();
        if reg.libs.write().remove(&name).is_none() {
            return Err("ERR Library not found".into());
        }
        reg.bump();
        ctx.out.ok();
        return Ok(());
    }
    if eq_ic(sub, "flush") && a.len() <= 3 {
        if a.len() == 3 && !eq_ic(a.get(2), "async") && !eq_ic(a.get(2), "sync") {
            return Err("ERR FUNCTION FLUSH only supports SYNC|ASYNC option".into());
        }
        reg.libs.write().clear();
        reg.bump();
        ctx.out.ok();
        return Ok(());
    }
    if eq_ic(sub, "kill") && a.len() == 2 {
        scripts.kill(true).map_err(CmdError::from)?;
        ctx.out.ok();
        return Ok(());
    }
    if eq_ic(sub, "list") {
        let mut code = false;
        let mut pattern: Option<&[u8]> = None;
        let mut i = 2;
        while i < a.len() {
            let o = a.get(i);
            if eq_ic(o, "withcode") && !code {
                code = true;
            } else if eq_ic(o, "libraryname") && pattern.is_none() {
                if i + 1 >= a.len() {
                    return Err("ERR library name argument was not given".into());
                }
                pattern = Some(a.get(i + 1));
                i += 1;
            } else {
                return Err(CmdError::from(format!(
                    "ERR Unknown argument {}",
                    String::from_utf8_lossy(o)
                )));
            }
            i += 1;
        }
        let libs: Vec<Library> = reg
            .libs
            .read()
            .values()
            .filter(|l| {
                pattern.is_none_or(|p| shoal_store::glob::glob_match(p, l.name.as_bytes(), false))
            })
            .cloned()
            .collect();
        ctx.out.array(libs.len());
        for l in &libs {
            write_library(ctx, l, code);
        }
        return Ok(());
    }
    if eq_ic(sub, "stats") && a.len() == 2 {
        ctx.out.map(2);
        ctx.out.bulk(b"running_script");
        match scripts.running_function() {
            Some((name, command, ms)) => {
                ctx.out.map(3);
                ctx.out.bulk(b"name");
                ctx.out.bulk(name.as_bytes());
                ctx.out.bulk(b"command");
                ctx.out.array(command.len());
                for c in &command {
                    ctx.out.bulk(c);
                }
                ctx.out.bulk(b"duration_ms");
                ctx.out.int(ms as i64);
            }
            None => ctx.out.null(),
        }
        ctx.out.bulk(b"engines");
        ctx.out.map(1);
        ctx.out.bulk(b"LUA");
        let (libs, funcs) = reg.counts();
        ctx.out.map(2);
        ctx.out.bulk(b"libraries_count");
        ctx.out.int(libs as i64);
        ctx.out.bulk(b"functions_count");
        ctx.out.int(funcs as i64);
        return Ok(());
    }
    if eq_ic(sub, "dump") && a.len() == 2 {
        let payload = dump_payload(&reg.libs.read());
        ctx.out.bulk(&payload);
        return Ok(());
    }
    if eq_ic(sub, "restore") && (a.len() == 3 || a.len() == 4) {
        #[derive(PartialEq)]
        enum Policy {
            Append,
            Replace,
            Flush,
        }
        let policy = if a.len() == 4 {
            let p = a.get(3);
            if eq_ic(p, "append") {
                Policy::Append
            } else if eq_ic(p, "replace") {
                Policy::Replace
            } else if eq_ic(p, "flush") {
                Policy::Flush
            } else {
                return Err("ERR Wrong restore policy given, value should be either FLUSH, APPEND or REPLACE.".into());
            }
        } else {
            Policy::Append
        };
        if over_memory(ctx) {
            return Err(errors::OOM.into());
        }
        let codes = parse_payload(a.get(2))?;
        let mut built = Vec::with_capacity(codes.len());
        for code in codes {
            built.push(compile_library(ctx, code)?);
        }
        let mut libs = reg.libs.write();
        let mut next = if policy == Policy::Flush {
            BTreeMap::new()
        } else {
            libs.clone()
        };
        for lib in built {
            if policy == Policy::Append && next.contains_key(&lib.name) {
                return Err(CmdError::from(format!(
                    "ERR Library {} already exists",
                    lib.name
                )));
            }
            install(&mut next, lib, policy == Policy::Replace).map_err(CmdError::from)?;
        }
        *libs = next;
        drop(libs);
        reg.bump();
        ctx.out.ok();
        return Ok(());
    }
    if eq_ic(sub, "help") && a.len() == 2 {
        let lines = [
            "FUNCTION <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
            "LOAD [REPLACE] <FUNCTION CODE>",
            "    Create a new library with the given library name and code.",
            "DELETE <LIBRARY NAME>",
            "    Delete the given library.",
            "LIST [LIBRARYNAME PATTERN] [WITHCODE]",
            "    Return general information on all the libraries:",
            "    * Library name",
            "    * The engine used to run the Library",
            "    * Library description",
            "    * Functions list",
            "    * Library code (if WITHCODE is given)",
            "    It also possible to get only function that matches a pattern using LIBRARYNAME argument.",
            "STATS",
            "    Return information about the current function running:",
            "    * Function name",
            "    * Command used to run the function",
            "    * Duration in MS that the function is running",
            "    If no function is running, return nil",
            "    In addition, returns a list of available engines.",
            "KILL",
            "    Kill the current running function.",
            "FLUSH [ASYNC|SYNC]",
            "    Delete all the libraries.",
            "    When called without the optional mode argument, the behavior is determined by the",
            "    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
            "    * ASYNC: Asynchronously flush the libraries.",
            "    * SYNC: Synchronously flush the libraries.",
            "DUMP",
            "    Return a serialized payload representing the current libraries, can be restored using FUNCTION RESTORE command",
            "RESTORE <PAYLOAD> [FLUSH|APPEND|REPLACE]",
            "    Restore the libraries represented by the given payload, it is possible to give a restore policy to",
            "    control how to handle existing libraries (default APPEND):",
            "    * FLUSH: delete all existing libraries.",
            "    * APPEND: appends the restored libraries to the existing libraries. On collision, abort.",
            "    * REPLACE: appends the restored libraries to the existing libraries, On collision, replace the old",
            "      libraries with the new libraries (notice that even on this option there is a chance of failure",
            "      in case of functions name collision with another library).",
            "HELP",
            "    Prints this help.",
        ];
        ctx.out.array(lines.len());
        for l in lines {
            ctx.out.simple(l.as_bytes());
        }
        return Ok(());
    }
    Err(unknown_sub(sub))
}

const NOKEY: (i32, i32, i32) = (0, 0, 0);

pub static COMMANDS: &[Spec] = &[
    cmd(
        "fcall",
        -3,
        NOSCRIPT | STALE | MAY_REPLICATE,
        NOKEY,
        Group::Scripting,
        "7.0.0",
        "Invokes a function.",
        fcall,
    )
    .numkeys(2),
    cmd(
        "fcall_ro",
        -3,
        NOSCRIPT | STALE | READONLY,
        NOKEY,
        Group::Scripting,
        "7.0.0",
        "Invokes a read-only function.",
        fcall_ro,
    )
    .numkeys(2),
    cmd(
        "function",
        -2,
        NOSCRIPT | MAY_REPLICATE,
        NOKEY,
        Group::Scripting,
        "7.0.0",
        "A container for function commands.",
        function,
    )
    .subcommands(&[
        "load", "delete", "flush", "kill", "list", "stats", "dump", "restore", "help",
    ]),
];
