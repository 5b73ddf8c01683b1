//! Listening sockets and the accept loop (maxclients, client registry).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;

use shoal_commands::{ClientInfo, Config, Shared};
use socket2::{Domain, Socket, Type};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpListener;
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

/// Binds every `bind` address. `*` is every IPv4 address, `::*` every IPv6 one; a leading `-`
/// marks an address that may be unavailable. With port 0 the first bind picks the port and the
/// others reuse it.
pub fn bind_all(cfg: &Config) -> Result<Vec<TcpListener>, String> {
    let mut out = Vec::new();
    let mut port = cfg.port;
    for spec in &cfg.bind {
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
        match bind_one(SocketAddr::new(ip, port), cfg.tcp_backlog.min(65535) as i32) {
            Ok(l) => {
                if port == 0 {
                    port = l.local_addr().map(|a| a.port()).unwrap_or(0);
                }
                out.push(l);
            }
            Err(e) if optional => tracing::debug!("skipping optional bind {spec}: {e}"),
            Err(e) => {
                return Err(format!(
                    "Failed listening on port {port} (tcp), aborting: {spec}: {e}"
                ));
            }
        }
    }
    if out.is_empty() {
        return Err("no address to listen on".into());
    }
    Ok(out)
}

pub async fn accept_loop(
    l: TcpListener,
    shared: Arc<Shared>,
    cancel: CancellationToken,
    tracker: TaskTracker,
) {
    loop {
        let (mut stream, peer) = tokio::select! {
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
        if shared.config.read().refuses(peer.ip()) {
            shared.stats.rejected_connections.fetch_add(1, Relaxed);
            tracker.spawn(async move {
                let msg = format!("-{}\r\n", shoal_commands::config::PROTECTED_MODE_DENIED);
                let _ = stream.write_all(msg.as_bytes()).await;
                let _ = stream.shutdown().await;
            });
            continue;
        }
        let maxclients = shared.config.read().maxclients;
        if shared.clients.len() as u64 >= maxclients {
            shared.stats.rejected_connections.fetch_add(1, Relaxed);
            tracker.spawn(async move {
                let _ = stream
                    .write_all(b"-ERR max number of clients reached\r\n")
                    .await;
                let _ = stream.shutdown().await;
            });
            continue;
        }
        let _ = stream.set_nodelay(true);
        let keepalive = shared.config.read().tcp_keepalive;
        if keepalive > 0 {
            let ka =
                socket2::TcpKeepalive::new().with_time(std::time::Duration::from_secs(keepalive));
            let _ = socket2::SockRef::from(&stream).set_tcp_keepalive(&ka);
        }
        let id = shared.next_client_id();
        let laddr = stream
            .local_addr()
            .map(|a| a.to_string())
            .unwrap_or_default();
        let info = Arc::new(ClientInfo::new(id, peer.to_string(), laddr));
        shared.clients.insert(id, info.clone());
        tracker.spawn(super::connection::serve(stream, shared.clone(), info));
    }
}
