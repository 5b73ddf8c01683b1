//! MIGRATE: move keys to another instance (the resharding primitive of `redis-cli --cluster`).
//!
//! As in Redis the transfer is synchronous and atomic for the keys it names: the shards of
//! those keys stay locked from the DUMP to the delete, so no command sees a key on both sides or
//! on neither, and a command on a migrating slot checks its keys under the same locks (see
//! `dispatch::moving_slot_check`). Only those shards wait (Redis stops the whole server), for at
//! most the timeout. In cluster mode a slot's keys share one shard. Connections to targets are
//! kept for reuse, as Redis keeps them, and closed after 10 s unused. With `tls-cluster yes`
//! the connection speaks TLS, as Redis's (the connection type of the cluster bus): in a
//! TLS-only cluster the port a target announces, and `redis-cli --cluster reshard` passes, is
//! its TLS port. The TLS client lives in the server binary, which installs it ([`set_tls`]).

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use shoal_resp::Args;
use shoal_store::{ShardId, Store, dump};

use crate::ctx::Ctx;
use crate::errors::{self, CmdError, CmdResult};
use crate::repl::encode;
use crate::spec::{Group, Locking, Spec, cmd, flags::*};
use crate::util::{eq_ic, int};

/// How long an idle cached connection is kept.
const IDLE: Duration = Duration::from_secs(10);

/// A connection to a target: plain TCP, or TLS over it.
pub trait Link: Read + Write + Send {
    /// The socket under it (timeouts).
    fn tcp(&self) -> &TcpStream;
}

impl Link for TcpStream {
    fn tcp(&self) -> &TcpStream {
        self
    }
}

/// Wraps a connected socket in TLS for the host named (the handshake may happen on first use,
/// under the socket's timeouts).
pub type TlsConnect = Box<dyn Fn(TcpStream, &str) -> std::io::Result<Box<dyn Link>> + Send + Sync>;

static TLS: OnceLock<TlsConnect> = OnceLock::new();

/// Installs the TLS client MIGRATE uses with `tls-cluster yes` (once, at start).
pub fn set_tls(connect: TlsConnect) {
    let _ = TLS.set(connect);
}

type Conn = BufReader<Box<dyn Link>>;

struct Cached {
    conn: Conn,
    db: i64,
    used: Instant,
}

/// Idle connections by `host:port`; a MIGRATE takes one out while it uses it.
static POOL: Mutex<Option<HashMap<String, Cached>>> = Mutex::new(None);

fn take_cached(addr: &str) -> Option<Cached> {
    let mut pool = POOL.lock();
    let map = pool.get_or_insert_with(HashMap::new);
    map.retain(|_, c| c.used.elapsed() < IDLE);
    map.remove(addr)
}

/// INFO's `migrate_cached_sockets`: idle connections kept now (older than 10 s are closed).
pub fn cached_sockets() -> usize {
    let mut pool = POOL.lock();
    let map = pool.get_or_insert_with(HashMap::new);
    map.retain(|_, c| c.used.elapsed() < IDLE);
    map.len()
}

fn put_cached(addr: String, c: Cached) {
    POOL.lock().get_or_insert_with(HashMap::new).insert(addr, c);
}

struct Request<'a> {
    host: String,
    port: u16,
    db: i64,
    timeout: Duration,
    copy: bool,
    replace: bool,
    auth: Option<(Option<&'a [u8]>, &'a [u8])>,
    keys: Vec<&'a [u8]>,
}

fn parse<'a>(a: &Args<'a>) -> Result<Request<'a>, CmdError> {
    let host = String::from_utf8_lossy(a.get(1)).into_owned();
    let port = int(a.get(2))?;
    let port = u16::try_from(port).map_err(|_| CmdError::from(errors::NOT_INTEGER))?;
    let db = int(a.get(4))?;
    let timeout = int(a.get(5))?;
    let timeout = Duration::from_millis(if timeout <= 0 { 1000 } else { timeout as u64 });
    let (mut copy, mut replace, mut auth, mut keys) = (false, false, None, None);
    let mut i = 6;
    while i < a.len() {
        let opt = a.get(i);
        if eq_ic(opt, "copy") {
            copy = true;
        } else if eq_ic(opt, "replace") {
            replace = true;
        } else if eq_ic(opt, "auth") && i + 1 < a.len() {
            auth = Some((None, a.get(i + 1)));
            i += 1;
        } else if eq_ic(opt, "auth2") && i + 2 < a.len() {
            auth = Some((Some(a.get(i + 1)), a.get(i + 2)));
            i += 2;
        } else if eq_ic(opt, "keys") {
            if !a.get(3).is_empty() {
                return Err("ERR When using MIGRATE KEYS option, the key argument must be set to the empty string".into());
            }
            keys = Some((i + 1..a.len()).map(|p| a.get(p)).collect::<Vec<_>>());
            break;
        } else {
            return Err(errors::SYNTAX.into());
        }
        i += 1;
    }
    Ok(Request {
        host,
        port,
        db,
        timeout,
        copy,
        replace,
        auth,
        keys: keys.unwrap_or_else(|| vec![a.get(3)]),
    })
}

/// The locks MIGRATE holds: every key's shard. (Arguments that do not parse lock nothing: the
/// handler refuses them before touching a key.)
fn migrate_locks(store: &Store, db: usize, a: &Args<'_>, ids: &mut Vec<ShardId>) {
    if let Ok(req) = parse(a) {
        for k in req.keys {
            ids.push(store.shard_id(db, k, store.hash(k)));
        }
    }
}

/// One reply line of the target (`+OK`, `-ERR ...`); RESTORE, AUTH and SELECT answer so.
fn read_line(conn: &mut Conn, line: &mut Vec<u8>) -> Result<(), CmdError> {
    line.clear();
    match conn.read_until(b'\n', line) {
        Ok(n) if n > 0 && line.ends_with(b"\r\n") => {
            line.truncate(line.len() - 2);
            Ok(())
        }
        _ => Err("IOERR error or timeout reading to target instance".into()),
    }
}

fn connect(addr: &str, host: &str, timeout: Duration, tls: bool) -> Result<Conn, CmdError> {
    let ioerr = || CmdError::from("IOERR error or timeout connecting to the client");
    let sa = addr
        .to_socket_addrs()
        .ok()
        .and_then(|mut it| it.next())
        .ok_or_else(ioerr)?;
    let s = TcpStream::connect_timeout(&sa, timeout).map_err(|_| ioerr())?;
    let _ = s.set_nodelay(true);
    if !tls {
        return Ok(BufReader::new(Box::new(s)));
    }
    let _ = s.set_read_timeout(Some(timeout));
    let _ = s.set_write_timeout(Some(timeout));
    let link = TLS.get().ok_or_else(ioerr)?(s, host).map_err(|e| {
        tracing::warn!("MIGRATE: TLS to {addr}: {e}");
        ioerr()
    })?;
    Ok(BufReader::new(link))
}

/// An I/O failure talking to the target; `replied` once any reply line had come back.
struct Failure {
    err: CmdError,
    replied: bool,
}

/// Sends AUTH, SELECT (when the connection is on another db) and a RESTORE per key, and reads
/// the replies: the target's first error reply, if any, and the keys it took.
fn exchange<'k>(
    conn: &mut Conn,
    req: &Request<'_>,
    cur_db: i64,
    restore: &[u8],
    found: &[(&'k [u8], Vec<u8>, u64)],
) -> Result<(Option<CmdError>, Vec<&'k [u8]>), Failure> {
    let _ = conn.get_ref().tcp().set_read_timeout(Some(req.timeout));
    let _ = conn.get_ref().tcp().set_write_timeout(Some(req.timeout));
    let mut buf = Vec::new();
    if let Some((user, pass)) = req.auth {
        match user {
            Some(u) => encode(&mut buf, &[b"AUTH", u, pass]),
            None => encode(&mut buf, &[b"AUTH", pass]),
        }
    }
    let select = cur_db != req.db;
    if select {
        encode(&mut buf, &[b"SELECT", req.db.to_string().as_bytes()]);
    }
    for (k, payload, ttl) in found {
        let ttl = ttl.to_string();
        let mut parts: Vec<&[u8]> = vec![restore, k, ttl.as_bytes(), payload];
        if req.replace {
            parts.push(b"REPLACE");
        }
        encode(&mut buf, &parts);
    }
    let sock = conn.get_mut();
    if sock.write_all(&buf).and_then(|()| sock.flush()).is_err() {
        return Err(Failure {
            err: "IOERR error or timeout writing to target instance".into(),
            replied: false,
        });
    }
    let mut line = Vec::new();
    let mut replied = false;
    let mut next = |line: &mut Vec<u8>| -> Result<bool, Failure> {
        read_line(conn, line).map_err(|err| Failure { err, replied })?;
        replied = true;
        Ok(line.first() == Some(&b'-'))
    };
    let target_err = |line: &[u8]| -> CmdError {
        format!(
            "ERR Target instance replied with error: {}",
            String::from_utf8_lossy(&line[1..])
        )
        .into()
    };
    let mut first_err: Option<CmdError> = None;
    for _ in 0..(req.auth.is_some() as usize + select as usize) {
        if next(&mut line)? && first_err.is_none() {
            first_err = Some(target_err(&line));
        }
    }
    let mut moved = Vec::new();
    for (k, _, _) in found {
        if next(&mut line)? {
            if first_err.is_none() {
                first_err = Some(target_err(&line));
            }
        } else {
            moved.push(*k);
        }
    }
    Ok((first_err, moved))
}

/// MIGRATE host port key|"" destination-db timeout [COPY] [REPLACE] [AUTH password]
/// [AUTH2 username password] [KEYS key [key ...]]
fn migrate(ctx: &mut Ctx<'_>, a: Args<'_>) -> CmdResult {
    let req = parse(&a)?;
    // The keys that exist, with their payloads and remaining lives.
    let now = ctx.now();
    let mut found: Vec<(&[u8], Vec<u8>, u64)> = Vec::new();
    for &k in &req.keys {
        let mut s = ctx.ks.shard(k);
        if let Some(i) = s.peek() {
            let e = s.entry(i);
            let ttl = e.expire_at().map_or(0, |t| t.saturating_sub(now).max(1));
            found.push((k, dump::dump(e.value()), ttl));
        }
    }
    if found.is_empty() {
        ctx.out.simple(b"NOKEY");
        return Ok(());
    }
    let tls = ctx.shared.config.read().tls.cluster;
    // A TLS connection and a plain one to the same address are different links.
    let addr = format!("{}:{}{}", req.host, req.port, if tls { "/tls" } else { "" });
    let sockaddr = format!("{}:{}", req.host, req.port);
    let restore: &[u8] = if ctx.shared.cluster.is_some() {
        b"RESTORE-ASKING"
    } else {
        b"RESTORE"
    };
    let (mut conn, cur_db, pooled) = match take_cached(&addr) {
        Some(c) => (c.conn, c.db, true),
        None => (connect(&sockaddr, &req.host, req.timeout, tls)?, 0, false),
    };
    let (first_err, moved) = match exchange(&mut conn, &req, cur_db, restore, &found) {
        Ok(r) => r,
        // A pooled connection the target closed meanwhile (no reply came back at all): once
        // more on a fresh one, as Redis retries.
        Err(Failure { replied: false, .. }) if pooled => {
            conn = connect(&sockaddr, &req.host, req.timeout, tls)?;
            exchange(&mut conn, &req, 0, restore, &found).map_err(|f| f.err)?
        }
        Err(f) => return Err(f.err),
    };
    put_cached(
        addr,
        Cached {
            conn,
            db: if first_err.is_none() { req.db } else { -1 },
            used: Instant::now(),
        },
    );
    // Moved keys leave this node (and its replicas), unless COPY.
    if !req.copy {
        for k in &moved {
            if ctx.ks.shard(k).remove().is_some() {
                ctx.notify(crate::notify::GENERIC, "del", k);
            }
        }
    }
    if !req.copy && !moved.is_empty() {
        let mut del: Vec<&[u8]> = vec![b"DEL"];
        del.extend(moved.iter().copied());
        ctx.propagate_as(&del);
    } else {
        ctx.propagate_nothing();
    }
    match first_err {
        Some(e) => Err(e),
        None => {
            ctx.out.ok();
            Ok(())
        }
    }
}

pub static COMMANDS: &[Spec] = &[cmd(
    "migrate",
    -6,
    WRITE | MOVABLEKEYS,
    (0, 0, 0),
    Group::Generic,
    "2.6.0",
    "Atomically transfers a key from one Redis instance to another.",
    migrate,
)
.locking(Locking::Custom(migrate_locks))];
