//! COMMAND [COUNT | INFO | DOCS | LIST | GETKEYS | GETKEYSANDFLAGS | HELP].

use shoal_resp::{Args, Reply};
use shoal_store::glob::glob_match;

use super::keyspec::{self, flag_names};
use super::{Resolved, arity_ok, resolve_name, resp3, sub_of};
use crate::ctx::Ctx;
use crate::errors::{self, CmdResult};
use crate::spec::{Spec, flags, table};
use crate::util::eq_ic;

/// One COMMAND INFO entry: Redis's, with the subcommands shoal implements.
fn info(out: &mut Reply, r: Resolved) {
    let Some(rc) = r.redis() else {
        return shoal_info(out, r);
    };
    out.array(10);
    out.bulk(rc.name.as_bytes());
    resp3::replay(out, rc.info, 8);
    let subs: Vec<Resolved> = match r.sub {
        Some(_) => Vec::new(),
        None => subcommands(r.spec).collect(),
    };
    out.array(subs.len());
    for s in subs {
        info(out, s);
    }
}

/// The subcommands of a container that shoal implements.
fn subcommands(spec: &'static Spec) -> impl Iterator<Item = Resolved> {
    spec.subs
        .iter()
        .filter_map(move |s| sub_of(spec, s.as_bytes()))
}

/// COMMAND INFO for a command or subcommand Redis 7.0 does not have, from shoal's table (a
/// subcommand gets its container's flags, and no keys).
fn shoal_info(out: &mut Reply, r: Resolved) {
    let s = r.spec;
    out.array(10);
    out.bulk(r.full_name().as_bytes());
    out.int(if r.sub.is_some() { -2 } else { s.arity as i64 });
    let fl: Vec<&str> = flags::NAMES
        .iter()
        .filter(|(f, _)| s.has(*f))
        .map(|(_, n)| *n)
        .collect();
    out.set(fl.len());
    for f in fl {
        out.simple(f.as_bytes());
    }
    let keys = if r.sub.is_some() {
        (0, 0, 0)
    } else {
        (s.first_key, s.last_key, s.step)
    };
    out.int(keys.0 as i64);
    out.int(keys.1 as i64);
    out.int(keys.2 as i64);
    let acl = s.acl_categories();
    out.set(acl.len());
    for c in acl {
        out.simple(c.as_bytes());
    }
    out.set(0);
    if keys.0 > 0 {
        out.array(1);
        out.map(3);
        out.bulk(b"flags");
        let kf = shoal_key_flags(s);
        out.set(flag_names(kf).count());
        for f in flag_names(kf) {
            out.simple(f.as_bytes());
        }
        out.bulk(b"begin_search");
        out.map(2);
        out.bulk(b"type");
        out.bulk(b"index");
        out.bulk(b"spec");
        out.map(1);
        out.bulk(b"index");
        out.int(s.first_key as i64);
        out.bulk(b"find_keys");
        out.map(2);
        out.bulk(b"type");
        out.bulk(b"range");
        out.bulk(b"spec");
        out.map(3);
        out.bulk(b"lastkey");
        out.int(if s.last_key < 0 {
            s.last_key as i64
        } else {
            (s.last_key - s.first_key) as i64
        });
        out.bulk(b"keystep");
        out.int(s.step as i64);
        out.bulk(b"limit");
        out.int(0);
    } else {
        out.array(0);
    }
    let subs: Vec<Resolved> = match r.sub {
        Some(_) => Vec::new(),
        None => subcommands(s).collect(),
    };
    out.array(subs.len());
    for sub in subs {
        info(out, sub);
    }
}

/// Key-spec flags of a command Redis 7.0 does not have, from its command flags.
fn shoal_key_flags(s: &Spec) -> u16 {
    if s.has(flags::WRITE) {
        keyspec::RW | keyspec::ACCESS | keyspec::UPDATE
    } else {
        keyspec::RO | keyspec::ACCESS
    }
}

/// One COMMAND DOCS entry (name, then its map).
fn docs(out: &mut Reply, r: Resolved) {
    let Some(rc) = r.redis() else {
        let s = r.spec;
        out.bulk(r.full_name().as_bytes());
        out.map(3);
        out.bulk(b"summary");
        out.bulk(s.summary.as_bytes());
        out.bulk(b"since");
        out.bulk(s.since.as_bytes());
        out.bulk(b"group");
        out.bulk(s.group.name().as_bytes());
        return;
    };
    out.bulk(rc.name.as_bytes());
    let subs: Vec<Resolved> = match r.sub {
        Some(_) => Vec::new(),
        None => subcommands(r.spec).collect(),
    };
    out.map(rc.doc_fields + usize::from(!subs.is_empty()));
    resp3::replay(out, rc.docs, 2 * rc.doc_fields);
    if !subs.is_empty() {
        out.bulk(b"subcommands");
        out.map(subs.len());
        for s in subs {
            docs(out, s);
        }
    }
}

/// Every command, then its subcommands (`client|list`), as COMMAND LIST names them.
fn every_name() -> Vec<(String, Resolved)> {
    let mut v = Vec::new();
    for &spec in &table().specs {
        v.push((spec.name.to_string(), Resolved { spec, sub: None }));
        for r in spec.subs.iter().filter_map(|s| sub_of(spec, s.as_bytes())) {
            v.push((r.full_name(), r));
        }
    }
    v
}

/// ACL categories of a command or subcommand, without the `@`.
fn categories(name: &str, r: &Resolved) -> Vec<String> {
    match crate::acl::categories_of(name) {
        Some(v) => v.into_iter().map(String::from).collect(),
        None => r
            .spec
            .acl_categories()
            .into_iter()
            .map(|c| c.trim_start_matches('@').to_string())
            .collect(),
    }
}

fn list(ctx: &mut Ctx<'_>, a: &Args<'_>) -> CmdResult {
    let all = every_name();
    let names: Vec<&str> = match a.len() {
        2 => all.iter().map(|(n, _)| n.as_str()).collect(),
        5 if eq_ic(a.get(2), "filterby") => {
            let (kind, v) = (a.get(3), a.get(4));
            if eq_ic(kind, "pattern") {
                all.iter()
                    .filter(|(n, _)| glob_match(v, n.as_bytes(), true))
                    .map(|(n, _)| n.as_str())
                    .collect()
            } else if eq_ic(kind, "aclcat") {
                let cat = String::from_utf8_lossy(v).to_ascii_lowercase();
                all.iter()
                    .filter(|(n, r)| categories(n, r).contains(&cat))
                    .map(|(n, _)| n.as_str())
                    .collect()
            } else if eq_ic(kind, "module") {
                Vec::new()
            } else {
                return Err(errors::SYNTAX.into());
            }
        }
        _ => return Err(errors::SYNTAX.into()),
    };
    ctx.out.array(names.len());
    for n in names {
        ctx.out.bulk(n.as_bytes());
    }
    Ok(())
}

/// COMMAND GETKEYS / GETKEYSANDFLAGS full-command (Redis's getKeysSubcommandImpl).
fn getkeys(ctx: &mut Ctx<'_>, a: &Args<'_>, with_flags: bool) -> CmdResult {
    if a.len() < 4 {
        let sub = if with_flags {
            "command|getkeysandflags"
        } else {
            "command|getkeys"
        };
        return Err(errors::arity(sub));
    }
    let cmd = a.tail(2);
    let resolved = table().lookup(cmd.get(0)).and_then(|(_, spec)| {
        if !super::is_container(spec) || cmd.len() < 2 {
            Some(Resolved { spec, sub: None })
        } else {
            sub_of(spec, cmd.get(1))
        }
    });
    let Some(r) = resolved else {
        return Err("ERR Invalid command specified".into());
    };
    let keys: Vec<(usize, u16)> = match r.redis() {
        Some(rc) => {
            if !keyspec::has_keys(rc.key_specs) {
                return Err("ERR The command has no key arguments".into());
            }
            if !arity_ok(rc.arity, cmd.len()) {
                return Err("ERR Invalid number of arguments specified for command".into());
            }
            let keys = keyspec::keys_with_flags(rc.name, rc.key_specs, rc.arity, &cmd);
            if keys.is_empty() && !rc.no_mandatory_keys {
                return Err("ERR Invalid arguments specified for command".into());
            }
            keys
        }
        None => {
            let s = r.spec;
            if s.first_key <= 0 && s.numkeys.is_none() && s.extra_key.is_none() {
                return Err("ERR The command has no key arguments".into());
            }
            if !s.arity_ok(cmd.len()) {
                return Err("ERR Invalid number of arguments specified for command".into());
            }
            let f = shoal_key_flags(s);
            let keys: Vec<(usize, u16)> = s.all_keys(&cmd).map(|p| (p, f)).collect();
            if keys.is_empty() {
                return Err("ERR Invalid arguments specified for command".into());
            }
            keys
        }
    };
    ctx.out.array(keys.len());
    for (p, f) in keys {
        if with_flags {
            ctx.out.array(2);
            ctx.out.bulk(cmd.get(p));
            ctx.out.set(flag_names(f).count());
            for n in flag_names(f) {
                ctx.out.simple(n.as_bytes());
            }
        } else {
            ctx.out.bulk(cmd.get(p));
        }
    }
    Ok(())
}

/// COMMAND [COUNT | INFO name... | LIST [FILTERBY ...] | DOCS name... | GETKEYS cmd args...]
pub fn command(ctx: &mut Ctx<'_>, a: Args<'_>) -> CmdResult {
    let t = table();
    let all = || t.specs.iter().map(|&spec| Resolved { spec, sub: None });
    if a.len() == 1 {
        ctx.out.array(t.len());
        for r in all() {
            info(ctx.out, r);
        }
        return Ok(());
    }
    let sub = a.get(1).to_ascii_lowercase();
    match sub.as_slice() {
        b"count" => {
            if a.len() != 2 {
                return Err(errors::arity("command|count"));
            }
            ctx.out.int(t.len() as i64);
        }
        b"info" => {
            if a.len() == 2 {
                ctx.out.array(t.len());
                for r in all() {
                    info(ctx.out, r);
                }
            } else {
                ctx.out.array(a.len() - 2);
                for name in a.iter().skip(2) {
                    match resolve_name(name) {
                        Some(r) => info(ctx.out, r),
                        None => ctx.out.null_array(),
                    }
                }
            }
        }
        b"docs" => {
            let found: Vec<Resolved> = if a.len() == 2 {
                all().collect()
            } else {
                a.iter().skip(2).filter_map(resolve_name).collect()
            };
            ctx.out.map(found.len());
            for r in found {
                docs(ctx.out, r);
            }
        }
        b"list" => list(ctx, &a)?,
        b"getkeys" => getkeys(ctx, &a, false)?,
        b"getkeysandflags" => getkeys(ctx, &a, true)?,
        b"help" => {
            let lines = [
                "COMMAND <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
                "(no subcommand)",
                "    Return details about all Redis commands.",
                "COUNT",
                "    Return the total number of commands in this Redis server.",
                "LIST",
                "    Return a list of all commands in this Redis server.",
                "INFO [<command-name> ...]",
                "    Return details about multiple Redis commands.",
                "    If no command names are given, documentation details for all",
                "    commands are returned.",
                "DOCS [<command-name> ...]",
                "    Return documentation details about multiple Redis commands.",
                "    If no command names are given, documentation details for all",
                "    commands are returned.",
                "GETKEYS <full-command>",
                "    Return the keys from a full Redis command.",
                "GETKEYSANDFLAGS <full-command>",
                "    Return the keys and the access flags from a full Redis command.",
                "HELP",
                "    Prints this help.",
            ];
            crate::util::help(ctx.out, &lines);
        }
        _ => return Err(errors::unknown_subcommand(a.get(1), "command")),
    }
    Ok(())
}
