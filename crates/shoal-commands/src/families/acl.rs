//! ACL: CAT, DELUSER, DRYRUN, GENPASS, GETUSER, LIST, LOAD, LOG, SAVE, SETUSER, USERS, WHOAMI,
//! HELP (the users themselves live in `crate::acl`).

use std::sync::Arc;

use shoal_resp::Args;

use crate::acl::{self, Denied, User, UserState, rules};
use crate::ctx::Ctx;
use crate::errors::{self, CmdError, CmdResult};
use crate::spec::{Group, Spec, cmd, flags::*, table};
use crate::util::eq_ic;

const HELP: &[&str] = &[
    "ACL <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "CAT [<category>]",
    "    List all commands that belong to <category>, or all command categories",
    "    when no category is specified.",
    "DELUSER <username> [<username> ...]",
    "    Delete a list of users.",
    "DRYRUN <username> <command> [<arg> ...]",
    "    Returns whether the user can execute the given command without executing the command.",
    "GETUSER <username>",
    "    Get the user's details.",
    "GENPASS [<bits>]",
    "    Generate a secure 256-bit user password. The optional `bits` argument can",
    "    be used to specify a different size.",
    "LIST",
    "    Show users details in config file format.",
    "LOAD",
    "    Reload users from the ACL file.",
    "LOG [<count> | RESET]",
    "    Show the ACL log entries.",
    "SAVE",
    "    Save the current config to the ACL file.",
    "SETUSER <username> <attribute> [<attribute> ...]",
    "    Create or modify a user with the specified attributes.",
    "USERS",
    "    List all the registered usernames.",
    "WHOAMI",
    "    Return the current connection username.",
    "HELP",
    "    Prints this help.",
];

const NO_ACLFILE: &str = "ERR This Redis instance is not configured to use an ACL file. You may want to specify users via the ACL SETUSER command and then issue a CONFIG REWRITE (assuming you have a Redis configuration file set) in order to store users in the Redis configuration.";

fn lossy(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Applies SETUSER-style rules to a copy of `base`: the new state, or Redis's error.
pub fn apply_rules(base: UserState, ops: &[&[u8]], pubsub_all: bool) -> Result<UserState, String> {
    let merged = rules::merge_selectors(ops)?;
    let mut st = base;
    for op in &merged {
        if let Err(e) = rules::set_user(&mut st, op, pubsub_all) {
            return Err(format!(
                "ERR Error in ACL SETUSER modifier '{}': {}",
                lossy(op),
                e.message()
            ));
        }
    }
    Ok(st)
}

pub fn valid_username(name: &[u8]) -> bool {
    !name
        .iter()
        .any(|&c| c.is_ascii_whitespace() || c == 0 || c == 0x0b)
}

/// Kills every connection logged in as `user` (but the caller's, closed after its reply).
pub fn kill_clients_of(ctx: &mut Ctx<'_>, user: &Arc<User>) {
    let default = Arc::ptr_eq(user, &ctx.shared.acl.default);
    let victims: Vec<_> = ctx
        .shared
        .clients
        .iter()
        .filter(|c| match c.value().user.lock().as_ref() {
            Some(u) => Arc::ptr_eq(u, user),
            None => default,
        })
        .map(|c| c.value().clone())
        .collect();
    for c in victims {
        if c.id == ctx.client.id {
            ctx.client.close = true;
        } else {
            c.kill();
        }
    }
}

fn setuser(ctx: &mut Ctx<'_>, a: &Args<'_>) -> CmdResult {
    let name = a.get(2);
    if !valid_username(name) {
        return Err("ERR Usernames can't contain spaces or null characters".into());
    }
    let pubsub_all = ctx.shared.config.read().acl_pubsub_allchannels;
    let existing = ctx.shared.acl.get(name);
    let base = match &existing {
        Some(u) => u.st.read().clone(),
        None => UserState::new(pubsub_all),
    };
    let ops: Vec<&[u8]> = a.iter().skip(3).collect();
    let st = apply_rules(base, &ops, pubsub_all).map_err(CmdError::from)?;
    match existing {
        Some(u) => {
            let before = u.st.read().clone();
            u.set_state(st);
            kill_pubsub_if_needed(ctx, &u, &before);
        }
        None => {
            let name = lossy(name);
            ctx.shared
                .acl
                .users
                .write()
                .insert(name.clone(), Arc::new(User::new(&name, st)));
        }
    }
    ctx.out.ok();
    Ok(())
}

/// Redis 7.0's ACLKillPubsubClientsIfNeeded: subscribers of a user whose channel permissions
/// shrank lose their connection if a subscription is no longer allowed.
fn kill_pubsub_if_needed(ctx: &mut Ctx<'_>, user: &Arc<User>, before: &UserState) {
    let (all, upcoming) = {
        let now = user.st.read();
        let all = now
            .selectors
            .iter()
            .any(|s| s.flags & acl::SEL_ALLCHANNELS != 0);
        let upcoming: Vec<Vec<u8>> = now
            .selectors
            .iter()
            .flat_map(|s| s.channels.iter().cloned())
            .collect();
        (all, upcoming)
    };
    // Nothing was lost: every channel permission before is still there (a user that had
    // allchannels before and has not now may have lost any).
    let had_all = before
        .selectors
        .iter()
        .any(|s| s.flags & acl::SEL_ALLCHANNELS != 0);
    if all
        || (!had_all
            && before
                .selectors
                .iter()
                .flat_map(|s| s.channels.iter())
                .all(|c| upcoming.contains(c)))
    {
        return;
    }
    let allowed = |ch: &[u8], pattern: bool| {
        upcoming.iter().any(|p| {
            if pattern {
                p.as_slice() == ch
            } else {
                shoal_store::glob::glob_match(p, ch, false)
            }
        })
    };
    let default = Arc::ptr_eq(user, &ctx.shared.acl.default);
    let clients: Vec<_> = ctx
        .shared
        .clients
        .iter()
        .filter(|c| match c.value().user.lock().as_ref() {
            Some(u) => Arc::ptr_eq(u, user),
            None => default,
        })
        .map(|c| c.value().clone())
        .collect();
    for c in clients {
        let bad = {
            let sets = c.mailbox.sets.lock();
            sets.channels
                .iter()
                .chain(sets.shard.iter())
                .any(|ch| !allowed(ch, false))
                || sets.patterns.iter().any(|p| !allowed(p, true))
        };
        if bad {
            if c.id == ctx.client.id {
                ctx.client.close = true;
            } else {
                c.kill();
            }
        }
    }
}

fn getuser(ctx: &mut Ctx<'_>, a: &Args<'_>) -> CmdResult {
    let Some(u) = ctx.shared.acl.get(a.get(2)) else {
        ctx.out.null();
        return Ok(());
    };
    let st = u.st.read().clone();
    let out = &mut *ctx.out;
    out.map(6);
    out.bulk(b"flags");
    let flags = rules::flag_names(&st);
    out.set(flags.len());
    for f in flags {
        out.bulk(f.as_bytes());
    }
    out.bulk(b"passwords");
    out.array(st.passwords.len());
    for p in &st.passwords {
        out.bulk(p.as_bytes());
    }
    let root = &st.selectors[0];
    out.bulk(b"commands");
    out.bulk(rules::describe_commands(root).as_bytes());
    out.bulk(b"keys");
    out.bulk(rules::describe_keys(root).as_bytes());
    out.bulk(b"channels");
    out.bulk(rules::describe_channels(root).as_bytes());
    out.bulk(b"selectors");
    out.array(st.selectors.len() - 1);
    for sel in &st.selectors[1..] {
        out.map(3);
        out.bulk(b"commands");
        out.bulk(rules::describe_commands(sel).as_bytes());
        out.bulk(b"keys");
        out.bulk(rules::describe_keys(sel).as_bytes());
        out.bulk(b"channels");
        out.bulk(rules::describe_channels(sel).as_bytes());
    }
    Ok(())
}

/// `user <name> <rules>` lines of every user, sorted by name (ACL LIST, ACL SAVE).
pub fn user_lines(ctx: &Ctx<'_>) -> Vec<String> {
    ctx.shared
        .acl
        .users
        .read()
        .iter()
        .map(|(n, u)| format!("user {n} {}", rules::describe_user(&u.st.read())))
        .collect()
}

fn deluser(ctx: &mut Ctx<'_>, a: &Args<'_>) -> CmdResult {
    let names: Vec<&[u8]> = a.iter().skip(2).collect();
    if names.iter().any(|n| *n == b"default") {
        return Err("ERR The 'default' user cannot be removed".into());
    }
    let mut n = 0;
    for name in names {
        let Ok(name) = std::str::from_utf8(name) else {
            continue;
        };
        let removed = ctx.shared.acl.users.write().remove(name);
        if let Some(u) = removed {
            n += 1;
            kill_clients_of(ctx, &u);
        }
    }
    ctx.out.int(n);
    Ok(())
}

fn dryrun(ctx: &mut Ctx<'_>, a: &Args<'_>) -> CmdResult {
    let Some(u) = ctx.shared.acl.get(a.get(2)) else {
        return Err(format!("ERR User '{}' not found", lossy(a.get(2))).into());
    };
    let parts: Vec<&[u8]> = a.iter().skip(3).collect();
    let owned = shoal_resp::OwnedArgs::from_parts(parts.iter());
    let args = owned.args();
    let not_found = || CmdError::from(format!("ERR Command '{}' not found", lossy(a.get(3))));
    let (idx, spec) = table().lookup(args.get(0)).ok_or_else(not_found)?;
    let c = acl::cmds();
    if c.is_container(idx) && args.len() >= 2 && c.sub_id(idx, &args).is_none() {
        return Err(not_found());
    }
    if !spec.arity_ok(args.len()) {
        return Err(errors::arity(acl::fullname(idx, spec, &args)));
    }
    match acl::check(&u, idx, spec, &args) {
        Ok(()) => ctx.out.ok(),
        Err((d, pos)) => {
            let msg = match d {
                Denied::Cmd => format!(
                    "This user has no permissions to run the '{}' command",
                    acl::fullname(idx, spec, &args)
                ),
                Denied::Key => format!(
                    "This user has no permissions to access the '{}' key",
                    lossy(args.get(pos))
                ),
                Denied::Channel => format!(
                    "This user has no permissions to access the '{}' channel",
                    lossy(args.get(pos))
                ),
                Denied::Auth => "This user has no permissions".into(),
            };
            ctx.out.bulk(msg.as_bytes());
        }
    }
    Ok(())
}

fn cat(ctx: &mut Ctx<'_>, a: &Args<'_>) -> CmdResult {
    if a.len() == 2 {
        ctx.out.array(acl::CATEGORIES.len());
        for c in acl::CATEGORIES {
            ctx.out.bulk(c.as_bytes());
        }
        return Ok(());
    }
    let name = lossy(a.get(2));
    let Some(bit) = acl::category_bit(&name) else {
        return Err(format!("ERR Unknown category '{name}'").into());
    };
    let names: Vec<&str> = acl::cmds()
        .list
        .iter()
        .filter(|c| c.cats & bit != 0)
        .map(|c| c.fullname.as_str())
        .collect();
    ctx.out.array(names.len());
    for n in names {
        ctx.out.bulk(n.as_bytes());
    }
    Ok(())
}

fn genpass(ctx: &mut Ctx<'_>, a: &Args<'_>) -> CmdResult {
    let bits = if a.len() == 3 {
        shoal_resp::parse_i64(a.get(2)).ok_or(errors::NOT_INTEGER)?
    } else {
        256
    };
    if bits <= 0 || bits > 4096 {
        return Err("ERR ACL GENPASS argument must be the number of bits for the output password, a positive number up to 4096".into());
    }
    let chars = (bits as usize).div_ceil(4);
    let s: String = (0..chars)
        .map(|_| char::from(b"0123456789abcdef"[rand::random_range(0..16)]))
        .collect();
    ctx.out.bulk(s.as_bytes());
    Ok(())
}

fn log(ctx: &mut Ctx<'_>, a: &Args<'_>) -> CmdResult {
    let mut count = 10usize;
    if a.len() == 3 {
        if eq_ic(a.get(2), "reset") {
            ctx.shared.acl.log.reset();
            ctx.out.ok();
            return Ok(());
        }
        count = shoal_resp::parse_i64(a.get(2))
            .ok_or(errors::NOT_INTEGER)?
            .max(0) as usize;
    }
    let now = crate::ctx::unix_ms();
    let entries = ctx.shared.acl.log.newest(count);
    let out = &mut *ctx.out;
    out.array(entries.len());
    for e in entries {
        out.map(7);
        out.bulk(b"count");
        out.int(e.count as i64);
        out.bulk(b"reason");
        out.bulk(e.reason.as_bytes());
        out.bulk(b"context");
        out.bulk(e.context.as_bytes());
        out.bulk(b"object");
        out.bulk(e.object.as_bytes());
        out.bulk(b"username");
        out.bulk(e.username.as_bytes());
        out.bulk(b"age-seconds");
        out.double(now.saturating_sub(e.ctime) as f64 / 1000.0);
        out.bulk(b"client-info");
        out.bulk(e.client_info.trim_end().as_bytes());
    }
    Ok(())
}

/// Reads an ACL file: every user it defines, or the first error (Redis's ACLLoadFromFile).
pub fn parse_acl_file(text: &str, pubsub_all: bool) -> Result<Vec<(String, UserState)>, String> {
    let mut users: Vec<(String, UserState)> = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let words: Vec<&str> = line.split_ascii_whitespace().collect();
        if words[0] != "user" || words.len() < 2 {
            return Err(format!("/{}: line should start with user keyword", i + 1));
        }
        let name = words[1];
        if users.iter().any(|(n, _)| n == name) {
            return Err(format!(
                "WARNING: Duplicate user '{name}' found on line {}. ",
                i + 1
            ));
        }
        let ops: Vec<&[u8]> = words[2..].iter().map(|w| w.as_bytes()).collect();
        let mut st = UserState::new(pubsub_all);
        let merged = rules::merge_selectors(&ops).map_err(|e| format!("{}: {e}", i + 1))?;
        for op in &merged {
            if let Err(e) = rules::set_user(&mut st, op, pubsub_all) {
                return Err(format!(
                    "{}: Error in applying operation '{}': {}. ",
                    i + 1,
                    lossy(op),
                    e.message()
                ));
            }
        }
        users.push((name.to_string(), st));
    }
    Ok(users)
}

/// Replaces every user with those of the ACL file (the default user, when the file has none,
/// is reset to its starting rules); connections of users that changed are closed.
pub fn load_users(shared: &crate::ctx::Shared, loaded: Vec<(String, UserState)>) -> Vec<Arc<User>> {
    let mut users = shared.acl.users.write();
    let mut gone: Vec<Arc<User>> = Vec::new();
    let mut new_map = std::collections::BTreeMap::new();
    let mut default_st = None;
    for (name, st) in loaded {
        if name == "default" {
            default_st = Some(st);
            continue;
        }
        new_map.insert(name.clone(), Arc::new(User::new(&name, st)));
    }
    let st = default_st.unwrap_or_else(|| {
        let mut st = UserState::new(true);
        rules::apply_default(&mut st);
        st
    });
    shared.acl.default.set_state(st);
    new_map.insert("default".to_string(), shared.acl.default.clone());
    for (name, u) in users.iter() {
        if name != "default" {
            gone.push(u.clone());
        }
    }
    *users = new_map;
    gone
}

fn aclfile_path(ctx: &Ctx<'_>) -> Option<std::path::PathBuf> {
    let c = ctx.shared.config.read();
    if c.aclfile.is_empty() {
        return None;
    }
    Some(std::path::Path::new(&c.dir).join(&c.aclfile))
}

fn load(ctx: &mut Ctx<'_>) -> CmdResult {
    let Some(path) = aclfile_path(ctx) else {
        return Err(NO_ACLFILE.into());
    };
    let text = std::fs::read_to_string(&path).map_err(|e| {
        CmdError::from(format!(
            "ERR Error loading ACLs, opening file '{}': {e}",
            path.display()
        ))
    })?;
    let pubsub_all = ctx.shared.config.read().acl_pubsub_allchannels;
    let loaded = parse_acl_file(&text, pubsub_all)
        .map_err(|e| CmdError::from(format!("ERR Error loading ACLs, {e}")))?;
    for u in load_users(ctx.shared, loaded) {
        kill_clients_of(ctx, &u);
    }
    ctx.out.ok();
    Ok(())
}

fn save(ctx: &mut Ctx<'_>) -> CmdResult {
    let Some(path) = aclfile_path(ctx) else {
        return Err(NO_ACLFILE.into());
    };
    let mut text = user_lines(ctx).join("\n");
    text.push('\n');
    let tmp = path.with_extension(format!("tmp-{}", std::process::id()));
    let res = std::fs::write(&tmp, text.as_bytes()).and_then(|_| std::fs::rename(&tmp, &path));
    if let Err(e) = res {
        let _ = std::fs::remove_file(&tmp);
        tracing::warn!("Saving the ACL file {}: {e}", path.display());
        return Err("ERR There was an error trying to save the ACLs. Please check the server logs for more information".into());
    }
    ctx.out.ok();
    Ok(())
}

/// ACL <subcommand> ...
fn acl_cmd(ctx: &mut Ctx<'_>, a: Args<'_>) -> CmdResult {
    let sub = a.get(1).to_ascii_lowercase();
    let argc = a.len();
    let arity = |ok: bool, name: &str| {
        if ok {
            Ok(())
        } else {
            Err(errors::arity(&format!("acl|{name}")))
        }
    };
    let syntax = || {
        CmdError::from(format!(
            "ERR unknown subcommand or wrong number of arguments for '{}'. Try ACL HELP.",
            lossy(a.get(1))
        ))
    };
    match sub.as_slice() {
        b"setuser" => {
            arity(argc >= 3, "setuser")?;
            setuser(ctx, &a)
        }
        b"getuser" => {
            arity(argc == 3, "getuser")?;
            getuser(ctx, &a)
        }
        b"deluser" => {
            arity(argc >= 3, "deluser")?;
            deluser(ctx, &a)
        }
        b"list" | b"users" => {
            arity(argc == 2, std::str::from_utf8(&sub).unwrap_or("list"))?;
            let lines = if sub == b"list" {
                user_lines(ctx)
            } else {
                ctx.shared.acl.users.read().keys().cloned().collect()
            };
            ctx.out.array(lines.len());
            for l in lines {
                ctx.out.bulk(l.as_bytes());
            }
            Ok(())
        }
        b"whoami" => {
            arity(argc == 2, "whoami")?;
            let name = acl::user_name(ctx.shared, ctx.client);
            ctx.out.bulk(name.as_bytes());
            Ok(())
        }
        b"cat" => {
            arity(argc >= 2, "cat")?;
            if argc > 3 {
                return Err(syntax());
            }
            cat(ctx, &a)
        }
        b"genpass" => {
            if argc > 3 {
                return Err(syntax());
            }
            genpass(ctx, &a)
        }
        b"log" => {
            if argc > 3 {
                return Err(syntax());
            }
            log(ctx, &a)
        }
        b"dryrun" => {
            arity(argc >= 4, "dryrun")?;
            dryrun(ctx, &a)
        }
        b"load" => {
            arity(argc == 2, "load")?;
            load(ctx)
        }
        b"save" => {
            arity(argc == 2, "save")?;
            save(ctx)
        }
        b"help" => {
            arity(argc == 2, "help")?;
            crate::util::help(ctx.out, HELP);
            Ok(())
        }
        _ => Err(errors::unknown_subcommand(a.get(1), "acl")),
    }
}

pub static COMMANDS: &[Spec] = &[cmd(
    "acl",
    -2,
    ADMIN | NOSCRIPT | LOADING | STALE,
    (0, 0, 0),
    Group::Server,
    "6.0.0",
    "A container for Access List Control commands.",
    acl_cmd,
)
.subcommands(&[
    "cat", "deluser", "dryrun", "genpass", "getuser", "list", "load", "log", "save", "setuser",
    "users", "whoami", "help",
])];

/// Users of the configuration file's `user` directives, or of `aclfile`, at start (Redis's
/// ACLLoadUsersAtStartup): any error stops the server.
pub fn load_at_start(shared: &crate::ctx::Shared) -> Result<(), String> {
    let (users, aclfile, dir, pubsub_all) = {
        let c = shared.config.read();
        (
            c.users.clone(),
            c.aclfile.clone(),
            c.dir.clone(),
            c.acl_pubsub_allchannels,
        )
    };
    if !users.is_empty() && !aclfile.is_empty() {
        return Err("Configuring Redis with users defined in redis.conf and at the same setting an ACL file path is invalid. This setup is very likely to lead to configuration errors and security holes, please define either an ACL file or declare users directly in your redis.conf, but not both.".into());
    }
    if !users.is_empty() {
        let mut seen: Vec<&str> = Vec::new();
        for words in &users {
            let name = words[0].as_str();
            if seen.contains(&name) {
                return Err(format!(
                    "Error in user declaration '{name}': Duplicate user found. A user can only be defined once in config files"
                ));
            }
            seen.push(name);
            if !valid_username(name.as_bytes()) {
                return Err(format!(
                    "Error in user declaration '{name}': Usernames can't contain spaces or null characters"
                ));
            }
            let ops: Vec<&[u8]> = words[1..].iter().map(|w| w.as_bytes()).collect();
            // Each user starts from nothing (the default user is reset first, as Redis).
            let existing = shared.acl.get(name.as_bytes());
            let st = apply_rules(UserState::new(pubsub_all), &ops, pubsub_all)
                .map_err(|e| format!("Error in user declaration '{name}': {e}"))?;
            match existing {
                Some(u) => u.set_state(st),
                None => {
                    shared
                        .acl
                        .users
                        .write()
                        .insert(name.to_string(), Arc::new(User::new(name, st)));
                }
            }
        }
    }
    if !aclfile.is_empty() {
        let path = std::path::Path::new(&dir).join(&aclfile);
        let text = std::fs::read_to_string(&path).map_err(|e| {
            format!(
                "Aborting Redis startup because of ACL errors: Error loading ACLs, opening file '{}': {e}",
                path.display()
            )
        })?;
        let loaded = parse_acl_file(&text, pubsub_all)
            .map_err(|e| format!("Aborting Redis startup because of ACL errors: {e}"))?;
        load_users(shared, loaded);
    }
    Ok(())
}
