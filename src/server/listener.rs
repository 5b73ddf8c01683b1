//! Listening sockets and the accept loop (maxclients, client registry).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;

use shoal_commands::{ClientInfo, Config, Shared};
use socket2::{Domain, Socket, Type};
use std::os::fd::AsRawFd;
use tokio::net::{TcpListener, UnixListener};

use super::socket::{Socket as ClientSocket, send_all};
use super::tls::{Tls, TlsSocket};
use shoal_commands::config::TlsConfig;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

fn bind_one(addr: SocketAddr, backlog: i32) -> std::io::Result<TcpListener> {
    let sock = Socket::new(Domain::for_address(addr), Type::STREAM, None)?;
    sock.set_reuse_address(true)?;
    if addr.is_ipv6() {
        sock.set_only_v6(true)?;
    }
    sock.set_nonblocking(true)?;
    sock.bind(&addr.into())?;
    sock.listen(backlog)?;
    TcpListener::from_std(sock.into())
}

/// Binds every `bind` address on `port`. `*` is every IPv4 address, `::*` every IPv6 one; a
/// leading `-` marks an address that may be unavailable. With port 0 the first bind picks a
/// free port and the others reuse it.
pub fn bind_addrs(
    bind: &[String],
    mut port: u16,
    backlog: u64,
    what: &str,
) -> Result<Vec<TcpListener>, String> {
    let mut out = Vec::new();
    for spec in bind {
        let (optional, host) = match spec.strip_prefix('-') {
            Some(h) => (true, h),
            None => (false, spec.as_str()),
        };
        let ip: IpAddr = match host {
            "*" => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            "::*" => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
            "localhost" => IpAddr::V4(Ipv4Addr::LOCALHOST),
            h => h
                .parse()
                .map_err(|_| format!("Invalid bind address '{spec}'"))?,
        };
        match bind_one(SocketAddr::new(ip, port), backlog.min(65535) as i32) {
            Ok(l) => {
                if port == 0 {
                    port = l.local_addr().map(|a| a.port()).unwrap_or(0);
                }
                out.push(l);
            }
            Err(e) if optional => tracing::debug!("skipping optional bind {spec}: {e}"),
            Err(e) => {
                return Err(format!(
                    "Failed listening on port {port} ({what}), aborting: {spec}: {e}"
                ));
            }
        }
    }
    if out.is_empty() {
        return Err("no address to listen on".into());
    }
    Ok(out)
}

/// The TCP listeners: none with `port 0` (as in Redis), free ports with `ephemeral-ports port`.
pub fn bind_all(cfg: &Config) -> Result<Vec<TcpListener>, String> {
    if cfg.ephemeral_port {
        return bind_addrs(&cfg.bind, 0, cfg.tcp_backlog, "tcp");
    }
    if cfg.port == 0 {
        return Ok(Vec::new());
    }
    bind_addrs(&cfg.bind, cfg.port, cfg.tcp_backlog, "tcp")
}

/// The TLS listeners: none with `tls-port 0`, free ports with `ephemeral-ports tls-port`.
pub fn bind_tls(
    cfg: &Config,
    tls: &shoal_commands::config::TlsConfig,
) -> Result<Vec<TcpListener>, String> {
    if tls.ephemeral_port {
        return bind_addrs(&cfg.bind, 0, cfg.tcp_backlog, "tls");
    }
    if tls.port == 0 {
        return Ok(Vec::new());
    }
    bind_addrs(&cfg.bind, tls.port, cfg.tcp_backlog, "tls")
}

fn bound_port(ls: &[TcpListener]) -> u16 {
    ls.first()
        .and_then(|l| l.local_addr().ok())
        .map_or(0, |a| a.port())
}

/// CONFIG SET port / bind: listens on the new addresses first (so a port in use leaves
/// everything as it was), then stops the old accept loops. Connected clients stay.
pub fn install_rebind(
    shared: &Arc<Shared>,
    current: CancellationToken,
    cancel: CancellationToken,
    tracker: TaskTracker,
) {
    let weak = Arc::downgrade(shared);
    let current = parking_lot::Mutex::new(current);
    let hook = move |port: u16, bind: &[String]| -> Result<u16, String> {
        let shared = weak.upgrade().ok_or("shutting down")?;
        let mut cfg = shared.config.read().clone();
        if port == cfg.port && port != 0 {
            return Err("the same port on other addresses needs a restart".into());
        }
        cfg.port = port;
        cfg.bind = bind.to_vec();
        cfg.ephemeral_port = false;
        let ls = bind_all(&cfg).map_err(|e| e.rsplit(": ").next().unwrap_or(&e).to_string())?;
        let bound = bound_port(&ls);
        let token = cancel.child_token();
        std::mem::replace(&mut *current.lock(), token.clone()).cancel();
        for l in ls {
            if let Ok(a) = l.local_addr() {
                tracing::info!("Ready to accept connections tcp addr={a}");
            }
            tracker.spawn(accept_loop(
                l,
                shared.clone(),
                None,
                token.clone(),
                tracker.clone(),
            ));
        }
        Ok(bound)
    };
    *shared.rebind.lock() = Some(Box::new(hook));
}

/// CONFIG SET tls-*: new certificates are read (and checked) first and the TLS port bound
/// first, so a bad file or a port in use leaves everything as it was; then the new settings
/// serve new connections. Connected clients keep theirs.
pub fn install_tls(
    shared: &Arc<Shared>,
    tls: Arc<Tls>,
    current: CancellationToken,
    cancel: CancellationToken,
    tracker: TaskTracker,
) {
    let weak = Arc::downgrade(shared);
    let current = parking_lot::Mutex::new(current);
    let hook = move |old: &TlsConfig, new: &TlsConfig| -> Result<u16, String> {
        let shared = weak.upgrade().ok_or("shutting down")?;
        let built = if super::tls::configured(new) || new.enabled() {
            Some(super::tls::build(new)?)
        } else {
            None
        };
        let port_changed = new.port != old.port || new.ephemeral_port != old.ephemeral_port;
        let mut bound = shared.tls_port.load(Relaxed) as u16;
        let mut listeners = None;
        if port_changed {
            let cfg = shared.config.read().clone();
            let mut want = new.clone();
            want.ephemeral_port = false;
            let ls = bind_tls(&cfg, &want).map_err(|e| {
                format!(
                    "Unable to listen on this port: {}",
                    e.rsplit(": ").next().unwrap_or(&e)
                )
            })?;
            bound = bound_port(&ls);
            listeners = Some(ls);
        }
        tls.set(built);
        if let Some(ls) = listeners {
            let token = cancel.child_token();
            std::mem::replace(&mut *current.lock(), token.clone()).cancel();
            for l in ls {
                if let Ok(a) = l.local_addr() {
                    tracing::info!("Ready to accept connections tls addr={a}");
                }
                tracker.spawn(accept_loop(
                    l,
                    shared.clone(),
                    Some(tls.clone()),
                    token.clone(),
                    tracker.clone(),
                ));
            }
        }
        Ok(bound)
    };
    *shared.tls_reload.lock() = Some(Box::new(hook));
}

/// Accepts clients on one listening socket, plain or (with `tls`) TLS.
pub async fn accept_loop(
    l: TcpListener,
    shared: Arc<Shared>,
    tls: Option<Arc<Tls>>,
    cancel: CancellationToken,
    tracker: TaskTracker,
) {
    loop {
        let (stream, peer) = tokio::select! {
            r = l.accept() => match r {
                Ok(x) => x,
                Err(e) => {
                    // EMFILE and friends: back off instead of spinning.
                    tracing::warn!("accept failed: {e}");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = cancel.cancelled() => return,
        };
        shared.stats.connections_received.fetch_add(1, Relaxed);
        let _ = stream.set_nodelay(true);
        let keepalive = shared.config.read().tcp_keepalive;
        if keepalive > 0 {
            let ka =
                socket2::TcpKeepalive::new().with_time(std::time::Duration::from_secs(keepalive));
            let _ = socket2::SockRef::from(&stream).set_tcp_keepalive(&ka);
        }
        let laddr = stream
            .local_addr()
            .map(|a| a.to_string())
            .unwrap_or_default();
        let Some(tls) = &tls else {
            if shared.refuses(peer.ip()) {
                deny(stream, &shared, &tracker);
                continue;
            }
            admit(stream, peer.to_string(), laddr, &shared, &tracker);
            continue;
        };
        // The handshake runs in its own task: a slow or silent client holds up no one.
        let Some(server) = tls.server() else {
            // No certificate loaded (cannot happen while the TLS port is open): close.
            continue;
        };
        let shared = shared.clone();
        let t2 = tracker.clone();
        let stop = cancel.clone();
        tracker.spawn(async move {
            // A client that does not start with a TLS handshake record (plain RESP, HTTP) is
            // closed without a TLS alert it could not read, as Redis does.
            let mut first = [0u8; 1];
            let peeked = tokio::select! {
                r = tokio::time::timeout(HANDSHAKE_TIMEOUT, stream.peek(&mut first)) => r,
                _ = stop.cancelled() => return,
            };
            match peeked {
                Ok(Ok(1)) if first[0] == 0x16 => {}
                Ok(Ok(0)) => return,
                _ => {
                    super::tls::HANDSHAKE_LOG.warn(format_args!(
                        "Error accepting a client connection: not a TLS handshake (addr={peer} laddr={laddr})"
                    ));
                    return;
                }
            }
            let accept = tokio_rustls::TlsAcceptor::from(server).accept(stream);
            let r = tokio::select! {
                r = tokio::time::timeout(HANDSHAKE_TIMEOUT, accept) => r,
                _ = stop.cancelled() => return,
            };
            let stream = match r {
                Ok(Ok(s)) => s,
                Ok(Err(e)) => {
                    super::tls::HANDSHAKE_LOG.warn(format_args!(
                        "Error accepting a client connection: {e} (addr={peer} laddr={laddr})"
                    ));
                    return;
                }
                Err(_) => {
                    super::tls::HANDSHAKE_LOG.warn(format_args!(
                        "Error accepting a client connection: TLS handshake timed out (addr={peer} laddr={laddr})"
                    ));
                    return;
                }
            };
            let (tcp, conn) = stream.into_inner();
            let stream = TlsSocket::new(tcp, conn);
            if shared.refuses(peer.ip()) {
                deny(stream, &shared, &t2);
                return;
            }
            admit(stream, peer.to_string(), laddr, &shared, &t2);
        });
    }
}

/// How long a client gets to complete its TLS handshake.
const HANDSHAKE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// Protected mode: the client gets Redis's explanation and is closed.
fn deny<S: ClientSocket>(stream: S, shared: &Arc<Shared>, tracker: &TaskTracker) {
    shared.stats.rejected_connections.fetch_add(1, Relaxed);
    tracker.spawn(async move {
        let msg = format!("-{}\r\n", shoal_commands::config::PROTECTED_MODE_DENIED);
        let _ = send_all(&stream, msg.as_bytes()).await;
        let _ = socket2::SockRef::from(&stream).shutdown(std::net::Shutdown::Write);
    });
}

/// A new client, TCP or Unix: refused past maxclients, else registered and served.
fn admit<S: ClientSocket>(
    stream: S,
    addr: String,
    laddr: String,
    shared: &Arc<Shared>,
    tracker: &TaskTracker,
) {
    let maxclients = shared.config.read().maxclients;
    if shared.clients.len() as u64 >= maxclients {
        shared.stats.rejected_connections.fetch_add(1, Relaxed);
        tracker.spawn(async move {
            let _ = send_all(&stream, b"-ERR max number of clients reached\r\n").await;
            let _ = socket2::SockRef::from(&stream).shutdown(std::net::Shutdown::Write);
        });
        return;
    }
    let id = shared.next_client_id();
    let info = Arc::new(ClientInfo::new(id, addr, laddr));
    info.fd.store(
        stream.as_fd().as_raw_fd(),
        std::sync::atomic::Ordering::Relaxed,
    );
    shared.clients.insert(id, info.clone());
    tracker.spawn(super::connection::serve(stream, shared.clone(), info));
}

/// `unixsocket`: listens on that path (a stale socket file left by a previous run is replaced)
/// with `unixsocketperm` permissions.
pub fn bind_unix(path: &str, perm: u32) -> Result<UnixListener, String> {
    let fail = |e: std::io::Error| format!("Failed opening Unix socket: {path}: {e}");
    match std::fs::symlink_metadata(path) {
        Ok(m) if std::os::unix::fs::FileTypeExt::is_socket(&m.file_type()) => {
            std::fs::remove_file(path).map_err(fail)?;
        }
        _ => {}
    }
    let l = UnixListener::bind(path).map_err(fail)?;
    if perm != 0 {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(perm)).map_err(fail)?;
    }
    Ok(l)
}

/// Accepts Unix-socket clients (no protected mode: they are local by construction).
pub async fn accept_unix_loop(
    l: UnixListener,
    path: String,
    shared: Arc<Shared>,
    cancel: CancellationToken,
    tracker: TaskTracker,
) {
    loop {
        let stream = tokio::select! {
            r = l.accept() => match r {
                Ok((s, _)) => s,
                Err(e) => {
                    tracing::warn!("accept failed: {e}");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = cancel.cancelled() => break,
        };
        shared.stats.connections_received.fetch_add(1, Relaxed);
        let name = format!("{path}:0");
        admit(stream, name.clone(), name, &shared, &tracker);
    }
    let _ = std::fs::remove_file(&path);
}
