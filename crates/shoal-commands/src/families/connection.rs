//! Connection commands: PING, ECHO, HELLO, AUTH, SELECT, QUIT, RESET, CLIENT.

use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;

use shoal_resp::Args;

use crate::ctx::{ClientInfo, Ctx, ReplyMode, unix_ms};
use crate::errors::{self, CmdError, CmdResult};
use crate::spec::{Group, Spec, cmd, flags::*, table};
use crate::util::{eq_ic, int};

/// The version clients see: a 7.x Redis, so they enable their modern features.
pub const REDIS_VERSION: &str = "7.2.4";

/// PING [message]
fn ping(ctx: &mut Ctx<'_>, a: Args<'_>) -> CmdResult {
    if a.len() > 2 {
        return Err(errors::arity("ping"));
    }
    if !ctx.out.resp3() && ctx.client.in_pubsub() {
        // In RESP2 pub/sub mode a PING is answered in the shape of a message.
        ctx.out.array(2);
        ctx.out.bulk(b"pong");
        ctx.out.bulk(if a.len() == 2 { a.get(1) } else { b"" });
    } else if a.len() == 2 {
        ctx.out.bulk(a.get(1));
    } else {
        ctx.out.simple(b"PONG");
    }
    Ok(())
}

/// ECHO message
fn echo(ctx: &mut Ctx<'_>, a: Args<'_>) -> CmdResult {
    ctx.out.bulk(a.get(1));
    Ok(())
}

/// Logs the connection in as `user` if `pass` is one of its passwords (and it is on);
/// a failure is counted and goes to ACL LOG, as Redis's ACLAuthenticateUser.
fn authenticate(ctx: &mut Ctx<'_>, user: &[u8], pass: &[u8], cmd: &[u8]) -> bool {
    match ctx.shared.acl.get(user) {
        Some(u) if u.check_password(pass) => {
            crate::acl::login(ctx.client, u);
            true
        }
        _ => {
            ctx.shared.stats.auth_failures.fetch_add(1, Relaxed);
            let context = if ctx.client.multi.is_some() {
                crate::acl::Context::Multi
            } else {
                crate::acl::Context::Toplevel
            };
            let max = ctx.shared.config.read().acllog_max_len;
            ctx.shared.acl.log.add(
                crate::acl::Denied::Auth,
                context,
                &String::from_utf8_lossy(cmd),
                &String::from_utf8_lossy(user),
                client_info_line(&ctx.client.info),
                max,
            );
            false
        }
    }
}

/// AUTH [username] password
fn auth(ctx: &mut Ctx<'_>, a: Args<'_>) -> CmdResult {
    let (user, pass) = match a.len() {
        2 => {
            if ctx.shared.acl.default.st.read().nopass {
                return Err(errors::AUTH_NOT_CONFIGURED.into());
            }
            (&b"default"[..], a.get(1))
        }
        3 => (a.get(1), a.get(2)),
        _ => return Err(errors::SYNTAX.into()),
    };
    if !authenticate(ctx, user, pass, a.get(0)) {
        return Err(errors::WRONGPASS.into());
    }
    ctx.out.ok();
    Ok(())
}

fn valid_name(n: &[u8]) -> bool {
    n.iter().all(|&c| (b'!'..=b'~').contains(&c))
}

fn set_name(info: &ClientInfo, n: &[u8]) -> CmdResult {
    if !valid_name(n) {
        return Err(errors::CLIENT_NAME.into());
    }
    *info.name.lock() = (!n.is_empty()).then(|| String::from_utf8_lossy(n).into_owned());
    Ok(())
}

/// HELLO [protover [AUTH username password] [SETNAME clientname]]
fn hello(ctx: &mut Ctx<'_>, a: Args<'_>) -> CmdResult {
    let mut proto = if ctx.out.resp3() { 3 } else { 2 };
    if a.len() >= 2 {
        let v = int(a.get(1)).map_err(|_| {
            CmdError::from("ERR Protocol version is not an integer or out of range")
        })?;
        if !(2..=3).contains(&v) {
            return Err(errors::NOPROTO.into());
        }
        proto = v;
    }
    let mut i = 2;
    let mut name: Option<&[u8]> = None;
    let mut creds: Option<(&[u8], &[u8])> = None;
    while i < a.len() {
        let opt = a.get(i);
        if eq_ic(opt, "auth") && i + 2 < a.len() {
            creds = Some((a.get(i + 1), a.get(i + 2)));
            i += 3;
        } else if eq_ic(opt, "setname") && i + 1 < a.len() {
            name = Some(a.get(i + 1));
            i += 2;
        } else {
            return Err(format!(
                "ERR Syntax error in HELLO option '{}'",
                String::from_utf8_lossy(opt)
            )
            .into());
        }
    }
    if let Some((u, p)) = creds
        && !authenticate(ctx, u, p, a.get(0))
    {
        return Err(errors::WRONGPASS.into());
    }
    if !ctx.client.authenticated {
        return Err("NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time".into());
    }
    if let Some(n) = name {
        set_name(&ctx.client.info, n)?;
    }
    ctx.out.set_resp3(proto == 3);
    ctx.client.info.resp.store(proto as usize, Relaxed);
    let out = &mut *ctx.out;
    out.map(7);
    out.bulk(b"server");
    out.bulk(b"redis");
    out.bulk(b"version");
    out.bulk(REDIS_VERSION.as_bytes());
    out.bulk(b"proto");
    out.int(proto);
    out.bulk(b"id");
    out.int(ctx.client.id as i64);
    out.bulk(b"mode");
    out.bulk(if ctx.shared.cluster.is_some() {
        b"cluster"
    } else {
        b"standalone"
    });
    out.bulk(b"role");
    out.bulk(b"master");
    out.bulk(b"modules");
    out.array(0);
    Ok(())
}

/// SELECT index
fn select(ctx: &mut Ctx<'_>, a: Args<'_>) -> CmdResult {
    let n = int(a.get(1))?;
    if ctx.shared.cluster.is_some() && n != 0 {
        return Err("ERR SELECT is not allowed in cluster mode".into());
    }
    if n < 0 || n as usize >= ctx.ks.store.databases() {
        return Err(errors::DB_RANGE.into());
    }
    ctx.client.db = n as usize;
    ctx.ks.db = n as usize;
    ctx.client.info.db.store(n as usize, Relaxed);
    ctx.out.ok();
    Ok(())
}

/// QUIT
fn quit(ctx: &mut Ctx<'_>, _a: Args<'_>) -> CmdResult {
    ctx.out.ok();
    ctx.client.close = true;
    Ok(())
}

/// RESET — back to a fresh connection's state.
fn reset(ctx: &mut Ctx<'_>, _a: Args<'_>) -> CmdResult {
    let c = &mut *ctx.client;
    c.multi = None;
    c.info.multi.store(false, Relaxed);
    c.unwatch_all(&ctx.shared.store);
    c.unsubscribe_all(ctx.shared);
    crate::tracking::disable(ctx.shared, &c.info);
    c.tracking = false;
    c.db = 0;
    c.info.db.store(0, Relaxed);
    c.reply_mode = ReplyMode::On;
    c.authenticated = ctx.shared.acl.default.no_auth_needed();
    c.user = None;
    *c.info.user.lock() = None;
    *c.info.name.lock() = None;
    c.info.resp.store(2, Relaxed);
    ctx.out.set_resp3(false);
    ctx.out.simple(b"RESET");
    Ok(())
}

/// CLIENT TRACKING on|off [REDIRECT id] [PREFIX p ...] [BCAST] [OPTIN] [OPTOUT] [NOLOOP]
fn client_tracking(ctx: &mut Ctx<'_>, a: &Args<'_>) -> CmdResult {
    use crate::tracking::TrackState;
    let mut want = TrackState::default();
    let mut prefixes: Vec<&[u8]> = Vec::new();
    let mut i = 3;
    while i < a.len() {
        let opt = a.get(i);
        let more = i + 1 < a.len();
        if eq_ic(opt, "redirect") && more {
            if want.redirect != 0 {
                return Err("ERR A client can only redirect to a single other client".into());
            }
            let id = int(a.get(i + 1))?;
            if id <= 0 || !ctx.shared.clients.contains_key(&(id as u64)) {
                return Err("ERR The client ID you want redirect to does not exist".into());
            }
            want.redirect = id as u64;
            i += 2;
        } else if eq_ic(opt, "prefix") && more {
            prefixes.push(a.get(i + 1));
            i += 2;
        } else if eq_ic(opt, "bcast") {
            want.bcast = true;
            i += 1;
        } else if eq_ic(opt, "optin") {
            want.optin = true;
            i += 1;
        } else if eq_ic(opt, "optout") {
            want.optout = true;
            i += 1;
        } else if eq_ic(opt, "noloop") {
            want.noloop = true;
            i += 1;
        } else {
            return Err(errors::SYNTAX.into());
        }
    }
    let mode = a.get(2);
    if eq_ic(mode, "off") {
        crate::tracking::disable(ctx.shared, &ctx.client.info);
        ctx.client.tracking = false;
        ctx.out.ok();
        return Ok(());
    }
    if !eq_ic(mode, "on") {
        return Err(errors::SYNTAX.into());
    }
    let now = ctx.client.info.tracking.lock().clone();
    if !prefixes.is_empty() && !want.bcast {
        return Err("ERR PREFIX option requires BCAST mode to be enabled".into());
    }
    if now.on && now.bcast != want.bcast {
        return Err("ERR You can't switch BCAST mode on/off before disabling tracking for this client, and then re-enabling it with a different mode.".into());
    }
    if want.bcast && (want.optin || want.optout) {
        return Err("ERR OPTIN and OPTOUT are not compatible with BCAST".into());
    }
    if want.optin && want.optout {
        return Err("ERR You can't specify both OPTIN mode and OPTOUT mode".into());
    }
    if now.on && ((want.optin && now.optout) || (want.optout && now.optin)) {
        return Err("ERR You can't switch OPTIN/OPTOUT mode before disabling tracking for this client, and then re-enabling it with a different mode.".into());
    }
    if want.bcast
        && let Some(e) = crate::tracking::prefix_collision(&now.prefixes, &prefixes)
    {
        return Err(e.into());
    }
    let bcast = want.bcast;
    if let Some(target) = ctx.shared.clients.get(&want.redirect) {
        target.mailbox.want();
    }
    crate::tracking::enable(ctx.shared, &ctx.client.info, want, prefixes);
    ctx.client.tracking = !bcast;
    // Invalidations for this client arrive in its mailbox.
    ctx.client.push = true;
    ctx.out.ok();
    Ok(())
}

/// One CLIENT LIST / CLIENT INFO line, with Redis's fields.
/// The command running now (or last) on a client, as `name` or `container|sub`.
fn current_command(info: &ClientInfo) -> String {
    let packed = info.last_cmd.load(Relaxed);
    let shift = crate::dispatch::CMD_SUB_SHIFT;
    let Some(spec) = table().specs.get(packed & ((1 << shift) - 1)) else {
        return "NULL".into();
    };
    match (packed >> shift)
        .checked_sub(1)
        .and_then(|i| spec.subs.get(i))
    {
        Some(sub) => format!("{}|{sub}", spec.name),
        None => spec.name.to_string(),
    }
}

/// A client's CLIENT LIST line (as ACL LOG's `client-info` shows it).
pub fn client_info_line(info: &ClientInfo) -> String {
    client_line(info, unix_ms(), 0)
}

/// One CLIENT LIST line, with Redis 7.0's fields in its order. `argv` is the size of the
/// arguments of the command running on this client (the caller's own CLIENT LIST/INFO).
fn client_line(info: &ClientInfo, now_ms: u64, argv: usize) -> String {
    let idle = now_ms.saturating_sub(info.last_interaction.load(Relaxed)) / 1000;
    let multi = if info.multi.load(Relaxed) { 0 } else { -1 };
    let (sub, psub, ssub) = (
        info.sub.load(Relaxed),
        info.psub.load(Relaxed),
        info.ssub.load(Relaxed),
    );
    let mut flags = String::new();
    if sub + psub + ssub > 0 {
        flags.push('P');
    }
    if info.multi.load(Relaxed) {
        flags.push('x');
    }
    if info.blocked.load(Relaxed) {
        flags.push('b');
    }
    let redir = {
        let st = info.tracking.lock();
        if st.on {
            flags.push('t');
            if st.broken {
                flags.push('R');
            }
            if st.bcast {
                flags.push('B');
            }
        }
        if st.on { st.redirect as i64 } else { -1 }
    };
    if flags.is_empty() {
        flags.push('N');
    }
    let (qbuf, qbuf_free) = (info.qbuf.load(Relaxed), info.qbuf_free.load(Relaxed));
    let omem = info.omem.load(Relaxed);
    format!(
        "id={} addr={} laddr={} fd={} name={} age={} idle={} flags={} db={} sub={} psub={} ssub={} multi={} qbuf={} qbuf-free={} argv-mem={} multi-mem=0 rbs={} rbp={} obl=0 oll=0 omem={} tot-mem={} events=r cmd={} user={} redir={} resp={} lib-name={} lib-ver={}\n",
        info.id,
        info.addr,
        info.laddr,
        info.fd.load(Relaxed),
        info.name.lock().as_deref().unwrap_or(""),
        info.created.elapsed().as_secs(),
        idle,
        flags,
        info.db.load(Relaxed),
        sub,
        psub,
        ssub,
        multi,
        qbuf,
        qbuf_free,
        argv,
        qbuf + qbuf_free,
        qbuf,
        omem,
        qbuf + qbuf_free + argv + omem + std::mem::size_of::<ClientInfo>(),
        current_command(info),
        info.user_name(),
        redir,
        info.resp.load(Relaxed),
        info.lib_name.lock().as_deref().unwrap_or(""),
        info.lib_ver.lock().as_deref().unwrap_or(""),
    )
}

/// The connected clients by id; a killed one whose connection has not closed yet is gone
/// already (Redis frees it at once).
fn sorted_clients(ctx: &Ctx<'_>) -> Vec<Arc<ClientInfo>> {
    let mut v: Vec<_> = ctx
        .shared
        .clients
        .iter()
        .filter(|e| !e.value().killed.load(std::sync::atomic::Ordering::SeqCst))
        .map(|e| e.value().clone())
        .collect();
    v.sort_by_key(|c| c.id);
    v
}

/// CLIENT KILL addr | CLIENT KILL [ID id] [ADDR a] [LADDR a] [SKIPME yes/no] [USER u] [TYPE t]
fn client_kill(ctx: &mut Ctx<'_>, a: Args<'_>) -> CmdResult {
    if a.len() == 3 {
        let addr = a.get(2);
        let target = sorted_clients(ctx)
            .into_iter()
            .find(|c| c.addr.as_bytes() == addr);
        return match target {
            Some(c) => {
                if c.id == ctx.client.id {
                    ctx.client.close = true;
                } else {
                    c.kill();
                }
                ctx.out.ok();
                Ok(())
            }
            None => Err(errors::NO_SUCH_CLIENT.into()),
        };
    }
    if !a.len().is_multiple_of(2) {
        return Err(errors::SYNTAX.into());
    }
    let (mut id, mut addr, mut laddr, mut skipme, mut typ) = (None, None, None, true, None);
    let mut user: Option<String> = None;
    for i in (2..a.len()).step_by(2) {
        let (k, v) = (a.get(i), a.get(i + 1));
        if eq_ic(k, "id") {
            id = Some(
                shoal_resp::parse_i64(v)
                    .filter(|n| *n > 0)
                    .ok_or(CmdError::from("ERR client-id should be greater than 0"))?
                    as u64,
            );
        } else if eq_ic(k, "addr") {
            addr = Some(v);
        } else if eq_ic(k, "laddr") {
            laddr = Some(v);
        } else if eq_ic(k, "skipme") {
            skipme = match v.to_ascii_lowercase().as_slice() {
                b"yes" => true,
                b"no" => false,
                _ => return Err(errors::SYNTAX.into()),
            };
        } else if eq_ic(k, "user") {
            if ctx.shared.acl.get(v).is_none() {
                return Err(format!("ERR No such user '{}'", String::from_utf8_lossy(v)).into());
            }
            user = Some(String::from_utf8_lossy(v).into_owned());
        } else if eq_ic(k, "type") {
            if !["normal", "master", "replica", "slave", "pubsub"]
                .iter()
                .any(|t| eq_ic(v, t))
            {
                return Err(
                    format!("ERR Unknown client type '{}'", String::from_utf8_lossy(v)).into(),
                );
            }
            typ = Some(v.to_ascii_lowercase());
        } else {
            return Err(errors::SYNTAX.into());
        }
    }
    let mut n = 0;
    // Connections that became a replica's stream are of type replica; the rest are normal.
    let replicas: Vec<u64> = ctx
        .shared
        .repl
        .replicas
        .lock()
        .iter()
        .map(|r| r.id)
        .collect();
    for c in sorted_clients(ctx) {
        let kind: &[u8] = if replicas.contains(&c.id) {
            b"replica"
        } else {
            b"normal"
        };
        let matched = id.is_none_or(|x| c.id == x)
            && addr.is_none_or(|x| c.addr.as_bytes() == x)
            && laddr.is_none_or(|x| c.laddr.as_bytes() == x)
            && user.as_ref().is_none_or(|u| *u == c.user_name())
            && typ
                .as_deref()
                .is_none_or(|t| t == kind || (t == b"slave" && kind == b"replica"))
            && !(skipme && c.id == ctx.client.id);
        if matched {
            if c.id == ctx.client.id {
                ctx.client.close = true;
            } else {
                c.kill();
            }
            n += 1;
        }
    }
    ctx.out.int(n);
    Ok(())
}

/// CLIENT <subcommand> ...
fn client(ctx: &mut Ctx<'_>, a: Args<'_>) -> CmdResult {
    let sub = a.get(1).to_ascii_lowercase();
    let argc = a.len();
    let arity = |ok: bool, name: &str| {
        if ok {
            Ok(())
        } else {
            Err(errors::arity(&format!("client|{name}")))
        }
    };
    match sub.as_slice() {
        b"id" => {
            arity(argc == 2, "id")?;
            ctx.out.int(ctx.client.id as i64);
        }
        b"setname" => {
            arity(argc == 3, "setname")?;
            set_name(&ctx.client.info, a.get(2))?;
            ctx.out.ok();
        }
        b"tracking" => {
            arity(argc >= 3, "tracking")?;
            client_tracking(ctx, &a)?;
        }
        b"caching" => {
            arity(argc == 3, "caching")?;
            let mut st = ctx.client.info.tracking.lock();
            if !st.on {
                return Err("ERR CLIENT CACHING can be called only when the client is in tracking mode with OPTIN or OPTOUT mode enabled".into());
            }
            let v = a.get(2);
            if eq_ic(v, "yes") {
                if !st.optin {
                    return Err("ERR CLIENT CACHING YES is only valid when tracking is enabled in OPTIN mode.".into());
                }
            } else if eq_ic(v, "no") {
                if !st.optout {
                    return Err("ERR CLIENT CACHING NO is only valid when tracking is enabled in OPTOUT mode.".into());
                }
            } else {
                return Err(errors::SYNTAX.into());
            }
            st.caching = true;
            drop(st);
            ctx.out.ok();
        }
        b"getredir" => {
            arity(argc == 2, "getredir")?;
            let st = ctx.client.info.tracking.lock();
            ctx.out.int(if st.on { st.redirect as i64 } else { -1 });
        }
        b"trackinginfo" => {
            arity(argc == 2, "trackinginfo")?;
            let st = ctx.client.info.tracking.lock().clone();
            let mut fl: Vec<&[u8]> = vec![if st.on { b"on" } else { b"off" }];
            if st.bcast {
                fl.push(b"bcast");
            }
            if st.optin {
                fl.push(b"optin");
                if st.caching {
                    fl.push(b"caching-yes");
                }
            }
            if st.optout {
                fl.push(b"optout");
                if st.caching {
                    fl.push(b"caching-no");
                }
            }
            if st.noloop {
                fl.push(b"noloop");
            }
            if st.broken {
                fl.push(b"broken_redirect");
            }
            let out = &mut *ctx.out;
            out.map(3);
            out.bulk(b"flags");
            out.set(fl.len());
            for f in fl {
                out.bulk(f);
            }
            out.bulk(b"redirect");
            out.int(if st.on { st.redirect as i64 } else { -1 });
            out.bulk(b"prefixes");
            out.array(st.prefixes.len());
            for p in &st.prefixes {
                out.bulk(p);
            }
        }
        b"getname" => {
            arity(argc == 2, "getname")?;
            match ctx.client.info.name.lock().as_deref() {
                Some(n) => ctx.out.bulk(n.as_bytes()),
                None => ctx.out.null(),
            }
        }
        b"setinfo" => {
            arity(argc == 4, "setinfo")?;
            let (attr, val) = (a.get(2), a.get(3));
            let (slot, label) = if eq_ic(attr, "lib-name") {
                (&ctx.client.info.lib_name, "lib-name")
            } else if eq_ic(attr, "lib-ver") {
                (&ctx.client.info.lib_ver, "lib-ver")
            } else {
                return Err(format!(
                    "ERR Unrecognized option '{}'",
                    String::from_utf8_lossy(attr)
                )
                .into());
            };
            if !valid_name(val) {
                return Err(format!(
                    "ERR {label} cannot contain spaces, newlines or special characters."
                )
                .into());
            }
            *slot.lock() = (!val.is_empty()).then(|| String::from_utf8_lossy(val).into_owned());
            ctx.out.ok();
        }
        b"list" => {
            let mut ids: Option<Vec<u64>> = None;
            let mut i = 2;
            while i < argc {
                if eq_ic(a.get(i), "type") && i + 1 < argc {
                    let t = a.get(i + 1);
                    if !["normal", "master", "replica", "slave", "pubsub"]
                        .iter()
                        .any(|x| eq_ic(t, x))
                    {
                        return Err(format!(
                            "ERR Unknown client type '{}'",
                            String::from_utf8_lossy(t)
                        )
                        .into());
                    }
                    if !eq_ic(t, "normal") {
                        ids = Some(Vec::new());
                    }
                    i += 2;
                } else if eq_ic(a.get(i), "id") && i + 1 < argc {
                    let mut v = Vec::new();
                    for x in a.iter().skip(i + 1) {
                        match shoal_resp::parse_i64(x) {
                            Some(n) if n > 0 => v.push(n as u64),
                            _ => return Err("ERR Invalid client ID".into()),
                        }
                    }
                    ids = Some(v);
                    i = argc;
                } else {
                    return Err(errors::SYNTAX.into());
                }
            }
            let now = unix_ms();
            let argv: usize = a.iter().map(|x| x.len()).sum();
            let me = ctx.client.id;
            let text: String = sorted_clients(ctx)
                .iter()
                .filter(|c| ids.as_ref().is_none_or(|v| v.contains(&c.id)))
                .map(|c| client_line(c, now, if c.id == me { argv } else { 0 }))
                .collect();
            ctx.out.verbatim(text.as_bytes());
        }
        b"info" => {
            arity(argc == 2, "info")?;
            let argv: usize = a.iter().map(|x| x.len()).sum();
            let line = client_line(&ctx.client.info, unix_ms(), argv);
            ctx.out.verbatim(line.as_bytes());
        }
        b"unblock" => {
            arity(argc == 3 || argc == 4, "unblock")?;
            let id = int(a.get(2))?;
            let how = match a.get(3) {
                b"" => 1,
                m if eq_ic(m, "timeout") => 1,
                m if eq_ic(m, "error") => 2,
                _ => return Err("ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR".into()),
            };
            let target = u64::try_from(id)
                .ok()
                .and_then(|id| ctx.shared.clients.get(&id).map(|c| c.value().clone()));
            let done = match target {
                Some(c) if c.blocked.load(Relaxed) => {
                    c.unblock.store(how, Relaxed);
                    c.block_notify.notify_one();
                    true
                }
                _ => false,
            };
            ctx.out.int(done as i64);
        }
        b"pause" => {
            arity(argc == 3 || argc == 4, "pause")?;
            let ms = shoal_resp::parse_i64(a.get(2))
                .ok_or("ERR timeout is not an integer or out of range")?;
            if ms < 0 {
                return Err(errors::TIMEOUT_NEGATIVE.into());
            }
            let all = match a.get(3) {
                b"" => true,
                m if eq_ic(m, "all") => true,
                m if eq_ic(m, "write") => false,
                _ => return Err("ERR CLIENT PAUSE mode must be WRITE or ALL".into()),
            };
            let until = unix_ms().saturating_add(ms as u64);
            ctx.shared.pause.pause_clients(until, all);
            ctx.out.ok();
        }
        b"unpause" => {
            arity(argc == 2, "unpause")?;
            ctx.shared.pause.unpause_clients();
            ctx.out.ok();
        }
        b"kill" => {
            arity(argc >= 3, "kill")?;
            client_kill(ctx, a)?;
        }
        b"reply" => {
            arity(argc == 3, "reply")?;
            let m = a.get(2);
            ctx.client.reply_mode = if eq_ic(m, "on") {
                ReplyMode::On
            } else if eq_ic(m, "off") {
                ReplyMode::Off
            } else if eq_ic(m, "skip") {
                ReplyMode::Skip
            } else {
                return Err(errors::SYNTAX.into());
            };
            ctx.out.ok();
        }
        b"no-evict" | b"no-touch" => {
            arity(argc == 3, std::str::from_utf8(&sub).unwrap_or("no-evict"))?;
            if !eq_ic(a.get(2), "on") && !eq_ic(a.get(2), "off") {
                return Err(errors::SYNTAX.into());
            }
            ctx.out.ok();
        }
        b"help" => {
            let lines = [
                "CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
                "CACHING (YES|NO)",
                "GETNAME",
                "GETREDIR",
                "ID",
                "INFO",
                "KILL <ip:port>",
                "KILL <option> <value> [<option> <value> [...]]",
                "LIST [options ...]",
                "NO-EVICT (ON|OFF)",
                "PAUSE <timeout> [WRITE|ALL]",
                "REPLY (ON|OFF|SKIP)",
                "SETINFO <option> <value>",
                "SETNAME <name>",
                "TRACKING (ON|OFF) [REDIRECT <id>] [BCAST] [PREFIX <prefix> [...]] [OPTIN] [OPTOUT] [NOLOOP]",
                "TRACKINGINFO",
                "UNPAUSE",
                "HELP",
            ];
            crate::util::help(ctx.out, &lines);
        }
        _ => return Err(errors::unknown_subcommand(a.get(1), "client")),
    }
    Ok(())
}

const NOKEY: (i32, i32, i32) = (0, 0, 0);

pub static COMMANDS: &[Spec] = &[
    cmd(
        "ping",
        -1,
        FAST,
        NOKEY,
        Group::Connection,
        "1.0.0",
        "Returns the server's liveliness response.",
        ping,
    ),
    cmd(
        "echo",
        2,
        FAST,
        NOKEY,
        Group::Connection,
        "1.0.0",
        "Returns the given string.",
        echo,
    ),
    cmd(
        "hello",
        -1,
        FAST | NO_AUTH | NOSCRIPT | LOADING | STALE,
        NOKEY,
        Group::Connection,
        "6.0.0",
        "Handshakes with the Redis server.",
        hello,
    ),
    cmd(
        "auth",
        -2,
        FAST | NO_AUTH | NOSCRIPT | LOADING | STALE,
        NOKEY,
        Group::Connection,
        "1.0.0",
        "Authenticates the connection.",
        auth,
    ),
    cmd(
        "select",
        2,
        FAST | LOADING | STALE,
        NOKEY,
        Group::Connection,
        "1.0.0",
        "Changes the selected database.",
        select,
    ),
    cmd(
        "quit",
        -1,
        FAST | NO_AUTH | NOSCRIPT | LOADING | STALE | ALLOW_BUSY,
        NOKEY,
        Group::Connection,
        "1.0.0",
        "Closes the connection.",
        quit,
    ),
    cmd(
        "reset",
        1,
        FAST | NO_AUTH | NOSCRIPT | LOADING | STALE,
        NOKEY,
        Group::Connection,
        "6.2.0",
        "Resets the connection.",
        reset,
    ),
    cmd(
        "client",
        -2,
        NOSCRIPT | LOADING | STALE,
        NOKEY,
        Group::Connection,
        "2.4.0",
        "A container for client connection commands.",
        client,
    )
    .subcommands(&[
        "id",
        "setname",
        "getname",
        "setinfo",
        "list",
        "info",
        "unblock",
        "pause",
        "unpause",
        "kill",
        "reply",
        "no-evict",
        "no-touch",
        "tracking",
        "caching",
        "getredir",
        "trackinginfo",
        "help",
    ]),
];
