//! EVAL, EVALSHA, EVAL_RO, EVALSHA_RO, SCRIPT (LOAD, EXISTS, FLUSH, KILL, HELP).

use shoal_resp::Args;

use crate::ctx::Ctx;
use crate::errors::{self, CmdError, CmdResult};
use crate::script::call::ScriptFlags;
use crate::script::run::{Invocation, Target, run_script};
use crate::script::{parse_sha, sha1hex};
use crate::spec::{Group, Spec, cmd, flags::*};

fn eq_ic(a: &[u8], b: &str) -> bool {
    a.eq_ignore_ascii_case(b.as_bytes())
}

/// A script's KEYS and ARGV.
pub type KeysArgs<'x> = (Vec<&'x [u8]>, Vec<&'x [u8]>);

/// `numkeys` of EVAL/FCALL (at `a[2]`): the keys and the arguments after them.
pub fn split_keys<'x>(a: &Args<'x>) -> Result<KeysArgs<'x>, CmdError> {
    let n = numkeys(a)?;
    let keys = (3..3 + n).map(|i| a.get(i)).collect();
    let argv = (3 + n..a.len()).map(|i| a.get(i)).collect();
    Ok((keys, argv))
}

/// The `numkeys` argument of EVAL/EVALSHA/FCALL, checked against the arguments given.
fn numkeys(a: &Args<'_>) -> Result<usize, CmdError> {
    let n = shoal_resp::parse_i64(a.get(2)).ok_or(CmdError::from(errors::NOT_INTEGER))?;
    if n > (a.len() - 3) as i64 {
        return Err("ERR Number of keys can't be greater than number of args".into());
    }
    if n < 0 {
        return Err("ERR Number of keys can't be negative".into());
    }
    Ok(n as usize)
}

/// The flags of a script's `#!lua flags=a,b ...` line (the body starts with `#!`), checked as
/// Redis 7.0 checks them (`evalExtractShebangFlags`).
fn shebang_flags(body: &[u8]) -> Result<ScriptFlags, String> {
    let parts = crate::script::split_shebang(body).map_err(|no_end| {
        if no_end {
            "ERR Invalid script shebang".to_string()
        } else {
            "ERR Invalid engine in script shebang".to_string()
        }
    })?;
    if parts[0] != b"#!lua" {
        return Err(format!(
            "ERR Unexpected engine in script shebang: {}",
            String::from_utf8_lossy(&parts[0])
        ));
    }
    let mut flags = ScriptFlags {
        declared: true,
        ..Default::default()
    };
    for part in &parts[1..] {
        let Some(list) = part.strip_prefix(b"flags=") else {
            return Err(format!(
                "ERR Unknown lua shebang option: {}",
                String::from_utf8_lossy(part)
            ));
        };
        if list.is_empty() {
            continue;
        }
        for f in list.split(|&c| c == b',') {
            match f {
                b"no-writes" => flags.no_writes = true,
                b"allow-oom" => flags.allow_oom = true,
                b"allow-stale" => flags.allow_stale = true,
                b"no-cluster" => flags.no_cluster = true,
                b"allow-cross-slot-keys" => flags.allow_cross_slot = true,
                other => {
                    return Err(format!(
                        "ERR Unexpected flag in script shebang: {}",
                        String::from_utf8_lossy(other)
                    ));
                }
            }
        }
    }
    Ok(flags)
}

/// A script's `#!lua flags=...` line, if it starts with `#!`: its flags and the body Lua
/// compiles (the shebang turned into a comment, so line numbers stay).
pub fn shebang(body: &[u8]) -> Result<(ScriptFlags, std::borrow::Cow<'_, [u8]>), CmdError> {
    if !body.starts_with(b"#!") {
        return Ok((ScriptFlags::default(), body.into()));
    }
    let flags = shebang_flags(body).map_err(CmdError::from)?;
    let mut code = Vec::with_capacity(body.len());
    code.extend_from_slice(b"--");
    code.extend_from_slice(&body[2..]);
    Ok((flags, code.into()))
}

/// Whether an EVAL, EVALSHA or FCALL may write, for CLIENT PAUSE WRITE and the write guard:
/// a script that declares its flags (`#!lua flags=...`, a function's flags) is a writer unless
/// it says `no-writes`; one without a shebang, or not found, is one (Redis's
/// evalGetCommandFlags / fcallGetCommandFlags).
pub fn may_write(shared: &crate::ctx::Shared, name: &str, a: &Args<'_>) -> bool {
    let declared =
        |body: &[u8]| body.starts_with(b"#!") && shebang_flags(body).is_ok_and(|f| f.no_writes);
    match name {
        "eval" => !declared(a.get(1)),
        "evalsha" => !parse_sha(a.get(1))
            .and_then(|sha| shared.scripts.get(&sha))
            .is_some_and(|body| declared(&body)),
        "fcall" => !shared
            .scripts
            .functions
            .find(&String::from_utf8_lossy(a.get(1)))
            .is_some_and(|(_, meta)| meta.flags.no_writes),
        _ => true,
    }
}

/// Whether cluster routing treats an EVAL, EVALSHA or FCALL as a write: only a script that
/// declares its flags without `no-writes` (Redis's scriptFlagsToCmdFlags adds CMD_WRITE then);
/// a script without a shebang keeps EVAL's own flags, so a READONLY replica runs it (and its
/// writes fail there), as in Redis. The _RO forms never write.
pub fn routes_as_write(shared: &crate::ctx::Shared, name: &str, a: &Args<'_>) -> bool {
    let writer =
        |body: &[u8]| body.starts_with(b"#!") && shebang_flags(body).is_ok_and(|f| !f.no_writes);
    match name {
        "eval" => writer(a.get(1)),
        "evalsha" => parse_sha(a.get(1))
            .and_then(|sha| shared.scripts.get(&sha))
            .is_some_and(|body| writer(&body)),
        "fcall" => shared
            .scripts
            .functions
            .find(&String::from_utf8_lossy(a.get(1)))
            .is_some_and(|(_, meta)| !meta.flags.no_writes),
        _ => false,
    }
}

/// The checks a script's flags make before it starts (Redis's scriptPrepareForRun).
pub fn preflight(ctx: &mut Ctx<'_>, flags: &ScriptFlags, ro_command: bool) -> CmdResult {
    if !flags.declared {
        return Ok(());
    }
    if ro_command && !flags.no_writes {
        return Err("ERR Can not execute a script with write flag using *_ro command.".into());
    }
    if flags.no_cluster && ctx.shared.cluster.is_some() {
        return Err("ERR Can not run script on cluster, 'no-cluster' flag is set.".into());
    }
    if !flags.no_writes {
        if !ctx.client.is_master
            && ctx
                .shared
                .repl
                .replica
                .load(std::sync::atomic::Ordering::Relaxed)
            && ctx.shared.config.read().replica_read_only
        {
            return Err(errors::READONLY.into());
        }
        if ctx.shared.repl.lacks_good_replicas() {
            return Err(errors::NOREPLICAS.into());
        }
        if !flags.allow_oom
            && !ctx.client.is_master
            && crate::memory::over_limit(ctx.shared)
            && !crate::memory::make_room(ctx.shared, ctx.ks.now)
        {
            return Err(errors::OOM.into());
        }
    }
    Ok(())
}

fn eval_body(ctx: &mut Ctx<'_>, a: &Args<'_>, sha: [u8; 40], body: &[u8], ro: bool) -> CmdResult {
    let (keys, argv) = split_keys(a)?;
    let (flags, code) = shebang(body)?;
    preflight(ctx, &flags, ro)?;
    run_script(
        ctx,
        Invocation {
            target: Target::Eval { sha, body: &code },
            keys,
            argv,
            read_only: ro || flags.no_writes,
            flags,
            command: Vec::new(),
        },
    )
}

/// EVAL script numkeys [key ...] [arg ...]
fn eval(ctx: &mut Ctx<'_>, a: Args<'_>) -> CmdResult {
    numkeys(&a)?;
    let body = a.get(1);
    let sha = ctx.shared.scripts.add(body);
    eval_body(ctx, &a, sha, body, false)
}

/// EVAL_RO script numkeys [key ...] [arg ...]
fn eval_ro(ctx: &mut Ctx<'_>, a: Args<'_>) -> CmdResult {
    numkeys(&a)?;
    let body = a.get(1);
    let sha = ctx.shared.scripts.add(body);
    eval_body(ctx, &a, sha, body, true)
}

const NOSCRIPT_ERR: &str = "NOSCRIPT No matching script. Please use EVAL.";

fn evalsha_generic(ctx: &mut Ctx<'_>, a: Args<'_>, ro: bool) -> CmdResult {
    numkeys(&a)?;
    let sha = parse_sha(a.get(1)).ok_or(CmdError::from(NOSCRIPT_ERR))?;
    let body = ctx
        .shared
        .scripts
        .get(&sha)
        .ok_or(CmdError::from(NOSCRIPT_ERR))?;
    eval_body(ctx, &a, sha, &body, ro)
}

/// EVALSHA sha1 numkeys [key ...] [arg ...]
fn evalsha(ctx: &mut Ctx<'_>, a: Args<'_>) -> CmdResult {
    evalsha_generic(ctx, a, false)
}

/// EVALSHA_RO sha1 numkeys [key ...] [arg ...]
fn evalsha_ro(ctx: &mut Ctx<'_>, a: Args<'_>) -> CmdResult {
    evalsha_generic(ctx, a, true)
}

/// SCRIPT LOAD | EXISTS | FLUSH | KILL | DEBUG | HELP
fn script(ctx: &mut Ctx<'_>, a: Args<'_>) -> CmdResult {
    let sub = a.get(1);
    let scripts = &ctx.shared.scripts;
    // Each subcommand's arity, as Redis's command table has it.
    let arity: i32 = match sub.to_ascii_lowercase().as_slice() {
        b"load" | b"debug" => 3,
        b"exists" => -3,
        b"flush" => -2,
        b"kill" | b"help" => 2,
        _ => {
            return Err(CmdError::from(format!(
                "ERR unknown subcommand '{}'. Try SCRIPT HELP.",
                String::from_utf8_lossy(sub)
            )));
        }
    };
    let argc = a.len() as i32;
    if (arity > 0 && argc != arity) || (arity < 0 && argc < -arity) {
        return Err(CmdError::from(format!(
            "ERR wrong number of arguments for 'script|{}' command",
            String::from_utf8_lossy(&sub.to_ascii_lowercase())
        )));
    }
    if eq_ic(sub, "load") {
        let body = a.get(2);
        // A script that does not compile is not cached (as Redis).
        let (_, code) = shebang(body)?;
        let sha = sha1hex(body);
        crate::script::engine::with_engine(scripts, |e| e.function(&sha, &code).map(|_| ()))
            .map_err(CmdError::from)?
            .map_err(CmdError::from)?;
        scripts.add(body);
        ctx.out.bulk(&sha);
        return Ok(());
    }
    if eq_ic(sub, "exists") {
        ctx.out.array(a.len() - 2);
        for s in a.iter().skip(2) {
            ctx.out.int(scripts.exists(s) as i64);
        }
        return Ok(());
    }
    if eq_ic(sub, "flush") {
        if a.len() > 3 || (a.len() == 3 && !eq_ic(a.get(2), "async") && !eq_ic(a.get(2), "sync")) {
            return Err("ERR SCRIPT FLUSH only support SYNC|ASYNC option".into());
        }
        scripts.flush();
        ctx.out.ok();
        return Ok(());
    }
    if eq_ic(sub, "kill") {
        scripts.kill(false).map_err(CmdError::from)?;
        ctx.out.ok();
        return Ok(());
    }
    if eq_ic(sub, "debug") {
        let mode = a.get(2);
        if eq_ic(mode, "no") {
            ctx.out.ok();
            return Ok(());
        }
        if eq_ic(mode, "yes") || eq_ic(mode, "sync") {
            return Err("ERR shoal does not support the Lua debugger (SCRIPT DEBUG)".into());
        }
        return Err("ERR Use SCRIPT DEBUG YES/SYNC/NO".into());
    }
    let lines = [
        "SCRIPT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "DEBUG (YES|SYNC|NO)",
        "    Set the debug mode for subsequent scripts executed.",
        "EXISTS <sha1> [<sha1> ...]",
        "    Return information about the existence of the scripts in the script cache.",
        "FLUSH [ASYNC|SYNC]",
        "    Flush the Lua scripts cache. Very dangerous on replicas.",
        "    When called without the optional mode argument, the behavior is determined by the",
        "    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
        "    * ASYNC: Asynchronously flush the scripts cache.",
        "    * SYNC: Synchronously flush the scripts cache.",
        "KILL",
        "    Kill the currently executing Lua script.",
        "LOAD <script>",
        "    Load a script into the scripts cache without executing it.",
        "HELP",
        "    Prints this help.",
    ];
    ctx.out.array(lines.len());
    for l in lines {
        ctx.out.simple(l.as_bytes());
    }
    Ok(())
}

const NOKEY: (i32, i32, i32) = (0, 0, 0);

pub static COMMANDS: &[Spec] = &[
    cmd(
        "eval",
        -3,
        NOSCRIPT | STALE | MAY_REPLICATE,
        NOKEY,
        Group::Scripting,
        "2.6.0",
        "Executes a server-side Lua script.",
        eval,
    )
    .numkeys(2),
    cmd(
        "evalsha",
        -3,
        NOSCRIPT | STALE | MAY_REPLICATE,
        NOKEY,
        Group::Scripting,
        "2.6.0",
        "Executes a server-side Lua script by SHA1 digest.",
        evalsha,
    )
    .numkeys(2),
    cmd(
        "eval_ro",
        -3,
        NOSCRIPT | STALE | READONLY,
        NOKEY,
        Group::Scripting,
        "7.0.0",
        "Executes a read-only server-side Lua script.",
        eval_ro,
    )
    .numkeys(2),
    cmd(
        "evalsha_ro",
        -3,
        NOSCRIPT | STALE | READONLY,
        NOKEY,
        Group::Scripting,
        "7.0.0",
        "Executes a read-only server-side Lua script by SHA1 digest.",
        evalsha_ro,
    )
    .numkeys(2),
    cmd(
        "script",
        -2,
        NOSCRIPT,
        NOKEY,
        Group::Scripting,
        "2.6.0",
        "A container for Lua scripts management commands.",
        script,
    )
    .subcommands(&["load", "exists", "flush", "kill", "debug", "help"]),
];

#[cfg(test)]
mod tests {
    use super::shebang_flags;

    fn err(body: &[u8]) -> String {
        shebang_flags(body).err().unwrap_or_default()
    }

    #[test]
    fn shebang_parsing_matches_redis() {
        assert!(shebang_flags(b"#!lua\nreturn 1").is_ok_and(|f| f.declared && !f.no_writes));
        assert!(shebang_flags(b"#!lua\r\nreturn 1").is_ok());
        assert!(shebang_flags(b"#!lua  flags=\"no-writes\"\n").is_ok_and(|f| f.no_writes));
        assert!(shebang_flags(b"#!lua flags=\n").is_ok_and(|f| !f.no_writes));
        assert!(
            shebang_flags(b"#!lua flags=no-writes flags=allow-oom\n")
                .is_ok_and(|f| f.no_writes && f.allow_oom)
        );
        assert_eq!(err(b"#!lua"), "ERR Invalid script shebang");
        assert_eq!(err(b"#!lua\0\nx"), "ERR Invalid script shebang");
        assert_eq!(err(b"#!lua \"x\n"), "ERR Invalid engine in script shebang");
        assert_eq!(
            err(b"#! lua\n"),
            "ERR Unexpected engine in script shebang: #!"
        );
        assert_eq!(
            err(b"#!LUA\n"),
            "ERR Unexpected engine in script shebang: #!LUA"
        );
        assert_eq!(
            err(b"#!lua flags=no-writes,\n"),
            "ERR Unexpected flag in script shebang: "
        );
        assert_eq!(
            err(b"#!lua flags=,\n"),
            "ERR Unexpected flag in script shebang: "
        );
        assert_eq!(
            err(b"#!lua name=x\n"),
            "ERR Unknown lua shebang option: name=x"
        );
    }
}
