//! CONFIG GET / SET / RESETSTAT / REWRITE over the parameter table (`crate::config::table`).

use std::sync::atomic::Ordering::Relaxed;

use shoal_resp::Args;
use shoal_store::glob::glob_match;

use crate::config::table::{FIXED, HIDDEN, IMMUTABLE, PARAMS, PROTECTED, Param, find_param};
use crate::ctx::Ctx;
use crate::errors::{self, CmdError, CmdResult};
use crate::spec::{Group, Spec, cmd, flags::*};

/// `no`, `yes` or `local` (a loopback or Unix-socket client) allows this client.
pub fn allowed(setting: &str, ctx: &Ctx<'_>) -> bool {
    match setting {
        "yes" => true,
        "local" => ctx.client.info.is_local(),
        _ => false,
    }
}

fn set_failed(name: &str, why: &str) -> CmdError {
    format!("ERR CONFIG SET failed (possibly related to argument '{name}') - {why}").into()
}

/// CONFIG GET pattern [pattern ...]: each parameter once, under every name (or alias) that a
/// pattern matches; hidden parameters only by their exact name.
fn get(ctx: &mut Ctx<'_>, a: &Args<'_>) -> CmdResult {
    if a.len() < 3 {
        return Err(errors::arity("config|get"));
    }
    let cfg = ctx.shared.config.read().clone();
    let mut hits: Vec<(&'static str, &'static Param)> = Vec::new();
    for p in PARAMS {
        for name in std::iter::once(p.name).chain(p.alias) {
            let matched = a.iter().skip(2).any(|pat| {
                if p.is(HIDDEN) {
                    pat.eq_ignore_ascii_case(name.as_bytes())
                } else {
                    glob_match(pat, name.as_bytes(), true)
                }
            });
            if matched {
                hits.push((name, p));
            }
        }
    }
    ctx.out.map(hits.len());
    for (name, p) in hits {
        ctx.out.bulk(name.as_bytes());
        ctx.out.bulk(cfg.get(p).as_bytes());
    }
    Ok(())
}

/// CONFIG SET param value [param value ...]: all or nothing (checked and applied to a copy that
/// is then published), each parameter at most once.
fn set(ctx: &mut Ctx<'_>, a: &Args<'_>) -> CmdResult {
    if a.len() < 4 || !a.len().is_multiple_of(2) {
        return Err(errors::arity("config|set"));
    }
    let mut cfg = ctx.shared.config.read().clone();
    let protected_ok = allowed(&cfg.enable_protected_configs, ctx);
    let mut seen: Vec<&'static str> = Vec::new();
    for i in (2..a.len()).step_by(2) {
        let name = String::from_utf8_lossy(a.get(i)).into_owned();
        let Some(p) = find_param(&name) else {
            return Err(format!(
                "ERR Unknown option or number of arguments for CONFIG SET - '{name}'"
            )
            .into());
        };
        if seen.contains(&p.name) {
            return Err(set_failed(&name, "duplicate parameter"));
        }
        seen.push(p.name);
        if p.is(IMMUTABLE) {
            return Err(set_failed(&name, "can't set immutable config"));
        }
        if p.is(PROTECTED) && !protected_ok {
            return Err(set_failed(&name, "can't set protected config"));
        }
        // As Redis's DENY_LOADING_CONFIG: the RDB file being loaded comes from `dir`.
        if p.name == "dir" && ctx.shared.persist.loading.load(Relaxed) {
            return Err(errors::LOADING.into());
        }
        let v = String::from_utf8_lossy(a.get(i + 1)).into_owned();
        if p.is(FIXED) {
            // Only its present value, which changes nothing.
            let canon = p.ty.check(&v).map_err(|e| set_failed(&name, &e))?;
            if canon != cfg.get(p) {
                return Err(set_failed(&name, "can't set immutable config"));
            }
            continue;
        }
        cfg.set(p, &v).map_err(|e| set_failed(&name, &e))?;
    }
    // Listening somewhere else (and reading certificates) are the changes that can fail after
    // the checks: done first, and nothing is changed when they fail (Redis's "apply" stage with
    // its rollback).
    let (old_port, old_bind, old_tls) = {
        let c = ctx.shared.config.read();
        (c.port, c.bind.clone(), c.tls.clone())
    };
    if cfg.tls != old_tls {
        let arg = seen
            .iter()
            .find(|n| n.starts_with("tls-"))
            .copied()
            .unwrap_or("tls-port");
        if cfg.tls.port != old_tls.port && ctx.shared.cluster.is_some() {
            return Err(set_failed(
                "tls-port",
                "can't change the listening address in cluster mode",
            ));
        }
        if let Some(reload) = ctx.shared.tls_reload.lock().as_ref() {
            let port = reload(&old_tls, &cfg.tls).map_err(|e| {
                set_failed(arg, &format!("Unable to update TLS configuration: {e}"))
            })?;
            ctx.shared.tls_port.store(port as usize, Relaxed);
        }
    }
    if cfg.port != old_port || cfg.bind != old_bind {
        let arg = if cfg.port != old_port { "port" } else { "bind" };
        if ctx.shared.cluster.is_some() {
            return Err(set_failed(
                arg,
                "can't change the listening address in cluster mode",
            ));
        }
        let hook = ctx.shared.rebind.lock();
        let Some(rebind) = hook.as_ref() else {
            return Err(set_failed(arg, "can't set immutable config"));
        };
        match rebind(cfg.port, &cfg.bind) {
            Ok(port) => {
                cfg.port = port;
                ctx.shared.tcp_port.store(port as usize, Relaxed);
            }
            Err(e) if arg == "port" => {
                return Err(set_failed(
                    arg,
                    &format!("Unable to listen on this port: {e}"),
                ));
            }
            Err(e) => {
                return Err(set_failed(
                    arg,
                    &format!("Failed to bind to specified addresses: {e}"),
                ));
            }
        }
    }
    *ctx.shared.config.write() = cfg;
    ctx.shared.config_gen.fetch_add(1, Relaxed);
    ctx.shared.apply_config();
    ctx.out.ok();
    Ok(())
}

/// CONFIG GET pattern [pattern ...] | SET param value [param value ...] | RESETSTAT | REWRITE
fn config(ctx: &mut Ctx<'_>, a: Args<'_>) -> CmdResult {
    let sub = a.get(1).to_ascii_lowercase();
    match sub.as_slice() {
        b"get" => get(ctx, &a)?,
        b"set" => set(ctx, &a)?,
        b"resetstat" if a.len() == 2 => {
            ctx.shared.stats.reset();
            shoal_store::lazyfree::reset_stats();
            ctx.out.ok();
        }
        b"rewrite" if a.len() == 2 => {
            let cfg = ctx.shared.config.read().clone();
            let Some(path) = cfg.config_file.clone() else {
                return Err("ERR The server is running without a config file".into());
            };
            let users = crate::families::acl::user_lines(ctx);
            crate::config::file::rewrite(&cfg, &path, &users)
                .map_err(|e| CmdError::from(format!("ERR {e}")))?;
            tracing::info!("CONFIG REWRITE executed with success.");
            ctx.out.ok();
        }
        b"resetstat" | b"rewrite" => {
            let name = format!("config|{}", String::from_utf8_lossy(&sub));
            return Err(errors::arity(&name));
        }
        b"help" => {
            let lines = [
                "CONFIG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
                "GET <pattern>",
                "    Return parameters matching the glob-like <pattern> and their values.",
                "SET <directive> <value>",
                "    Set the configuration <directive> to <value>.",
                "RESETSTAT",
                "    Reset statistics reported by the INFO command.",
                "REWRITE",
                "    Rewrite the configuration file.",
                "HELP",
                "    Print this help.",
            ];
            crate::util::help(ctx.out, &lines);
        }
        _ => return Err(errors::unknown_subcommand(a.get(1), "config")),
    }
    Ok(())
}

const NOKEY: (i32, i32, i32) = (0, 0, 0);

pub static COMMANDS: &[Spec] = &[cmd(
    "config",
    -2,
    ADMIN | NOSCRIPT | LOADING | STALE,
    NOKEY,
    Group::Server,
    "2.0.0",
    "A container for server configuration commands.",
    config,
)
.subcommands(&["get", "set", "resetstat", "rewrite", "help"])];
