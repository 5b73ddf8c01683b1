//! The only place that owns sockets, tasks and the runtime.
//!
//! ```text
//!  main thread: tokio runtime (--threads workers)
//!    ├─ accept task per listening address ──> connection task per client
//!    │     (maxclients check, register in Shared.clients)
//!    │        connection: read ─> parse all buffered ─> dispatch each ─> one write
//!    ├─ shutdown: SIGINT / SIGTERM / SHUTDOWN ─> cancel token ─> connections close
//!    ├─ clients cron: gives back idle clients' query buffers (see clients.rs)
//!  "shoal-expire" thread: active expiry cycle every 1/hz s, bounded time per cycle
//! ```
//!
//! No lock of the store is ever held across an `.await`: dispatch is synchronous and returns
//! before the connection awaits its write.

mod bus;
mod clients;
mod cluster;
mod connection;
mod expire;
mod listener;
mod metrics;
mod persistence;
mod rebalance;
mod redis_primary;
mod replication;
mod slot_migration;
mod socket;
mod tls;

use std::sync::Arc;
use std::time::Duration;

use shoal_commands::{Config, Shared};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// Builds the runtime and serves until a signal or SHUTDOWN. Returns the process exit code.
pub fn run(config: Config) -> i32 {
    let threads = config.threads;
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads)
        .thread_name("shoal-worker")
        // Scripts convert nested Lua tables recursively (up to script::convert's depth limit,
        // as Redis's 8 MiB main thread allows): 2 MiB overflowed in debug builds. Only touched
        // pages cost memory.
        .thread_stack_size(8 << 20)
        // Threads that come and go (the blocking pool) leave no memory-count drift behind.
        .on_thread_start(shoal_store::mem::flush_on_exit)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            tracing::error!("cannot start the runtime: {e}");
            return 1;
        }
    };
    rt.block_on(serve(config))
}

async fn serve(config: Config) -> i32 {
    let listeners = match listener::bind_all(&config) {
        Ok(l) => l,
        Err(e) => {
            tracing::error!("{e}");
            eprintln!("shoal-server: {e}");
            return 1;
        }
    };
    // Bound before "Ready to accept" is logged, as every listener is.
    let unix = if config.unixsocket.is_empty() {
        None
    } else {
        match listener::bind_unix(&config.unixsocket, config.unixsocketperm) {
            Ok(l) => Some(l),
            Err(e) => {
                tracing::error!("{e}");
                eprintln!("shoal-server: {e}");
                return 1;
            }
        }
    };
    let tls = Arc::new(tls::Tls::default());
    shoal_commands::families::migrate::set_tls(tls::migrate_connector(tls.clone()));
    if tls::configured(&config.tls) || config.tls.enabled() {
        match tls::build(&config.tls) {
            Ok(built) => tls.set(Some(built)),
            Err(e) => {
                let e = format!("Failed to configure TLS: {e}");
                tracing::error!("{e}");
                eprintln!("shoal-server: {e}");
                return 1;
            }
        }
    }
    let tls_listeners = match listener::bind_tls(&config, &config.tls) {
        Ok(l) => l,
        Err(e) => {
            tracing::error!("{e}");
            eprintln!("shoal-server: {e}");
            return 1;
        }
    };
    if listeners.is_empty() && tls_listeners.is_empty() && unix.is_none() {
        let e = "Configured to not listen anywhere, exiting.";
        tracing::error!("{e}");
        eprintln!("shoal-server: {e}");
        return 1;
    }
    let first_port = |ls: &[tokio::net::TcpListener]| {
        ls.first()
            .and_then(|l| l.local_addr().ok())
            .map(|a| a.port())
            .unwrap_or(0)
    };
    let port = first_port(&listeners);
    let tls_port = first_port(&tls_listeners);
    let (cluster, bus_listener) = if config.cluster.enabled {
        let ip = listeners
            .iter()
            .chain(&tls_listeners)
            .next()
            .and_then(|l| l.local_addr().ok())
            .map(|a| a.ip())
            .unwrap_or(std::net::IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED));
        // With tls-cluster the node is known by its TLS port (Redis's `port` of CLUSTER NODES
        // and SLOTS), and the bus port derives from it.
        let data_port = if config.tls.cluster { tls_port } else { port };
        let bound = cluster::bus_port(&config, data_port).and_then(|p| {
            bus::bind(ip, p)
                .map_err(|e| format!("Failed listening on the cluster bus port {p}: {e}"))
        });
        let started = bound.and_then(|bl| {
            let cport = bl.local_addr().map(|a| a.port()).unwrap_or(0);
            cluster::load_or_create(&config, data_port, cport).map(|c| (c, bl))
        });
        match started {
            Ok((c, bl)) => (Some(c), Some(bl)),
            Err(e) => {
                tracing::error!("{e}");
                eprintln!("shoal-server: {e}");
                return 1;
            }
        }
    } else {
        (None, None)
    };
    // `ephemeral-ports`: CONFIG GET port / tls-port answer the ones bound.
    let mut config = config;
    config.port = port;
    config.tls.port = tls_port;
    let shared = Arc::new(Shared::with_cluster(config.clone(), cluster));
    shoal_commands::persist::Persist::install(&shared);
    // Until the RDB file (if there is one) is loaded, commands answer -LOADING.
    if shoal_commands::persist::rdb_path(&shared).exists() {
        shared.persist.set_loading(true);
    }
    if let Err(e) = shoal_commands::families::acl::load_at_start(&shared) {
        tracing::error!("{e}");
        eprintln!("shoal-server: {e}");
        return 1;
    }
    shared
        .tcp_port
        .store(port as usize, std::sync::atomic::Ordering::Relaxed);
    shared
        .tls_port
        .store(tls_port as usize, std::sync::atomic::Ordering::Relaxed);
    for l in &listeners {
        if let Ok(a) = l.local_addr() {
            tracing::info!("Ready to accept connections tcp addr={a}");
        }
    }
    for l in &tls_listeners {
        if let Ok(a) = l.local_addr() {
            tracing::info!("Ready to accept connections tls addr={a}");
        }
    }
    if unix.is_some() {
        tracing::info!(
            "Ready to accept connections unix path={}",
            config.unixsocket
        );
    }
    let cancel = CancellationToken::new();
    let tracker = TaskTracker::new();
    if let Some((host, port)) = config.replicaof.clone() {
        shared.repl.follow(host, port);
        shared.apply_config();
    }
    let expire = expire::spawn(shared.clone(), cancel.clone());
    if let Some(mport) = config.metrics_port {
        // Every `bind` address, as the data port (`-` ones optional); loopback without any.
        let bind = if config.bind.is_empty() {
            vec!["127.0.0.1".to_string()]
        } else {
            config.bind.clone()
        };
        let bound = listener::bind_addrs(&bind, mport, config.tcp_backlog, "metrics")
            .and_then(|ls| metrics::spawn(shared.clone(), ls, cancel.clone(), tracker.clone()));
        match bound {
            Ok(addrs) => {
                for a in addrs {
                    tracing::info!("Metrics on http://{a}/metrics");
                }
            }
            Err(e) => {
                tracing::error!("{e}");
                eprintln!("shoal-server: {e}");
                return 1;
            }
        }
    }
    if let Some(bl) = bus_listener {
        if let Ok(a) = bl.local_addr() {
            tracing::info!("Cluster bus listening on {a}");
        }
        let timeout = config.cluster.node_timeout;
        let bus_tls = config.tls.cluster.then(|| tls.clone());
        bus::spawn(
            shared.clone(),
            bl,
            bus_tls,
            timeout,
            cancel.clone(),
            tracker.clone(),
        );
        slot_migration::spawn(
            shared.clone(),
            config.tls.cluster.then(|| tls.clone()),
            cancel.clone(),
            &tracker,
        );
        rebalance::spawn(shared.clone(), cancel.clone(), &tracker);
    }
    // The CONFIG SET port/tls hooks are in place before any client is accepted (a client
    // that connects at once may send CONFIG SET port before the next line would have run).
    let listening = cancel.child_token();
    listener::install_rebind(&shared, listening.clone(), cancel.clone(), tracker.clone());
    for l in listeners {
        tracker.spawn(listener::accept_loop(
            l,
            shared.clone(),
            None,
            listening.clone(),
            tracker.clone(),
        ));
    }
    let listening_tls = cancel.child_token();
    listener::install_tls(
        &shared,
        tls.clone(),
        listening_tls.clone(),
        cancel.clone(),
        tracker.clone(),
    );
    for l in tls_listeners {
        tracker.spawn(listener::accept_loop(
            l,
            shared.clone(),
            Some(tls.clone()),
            listening_tls.clone(),
            tracker.clone(),
        ));
    }
    if let Some(l) = unix {
        tracker.spawn(listener::accept_unix_loop(
            l,
            config.unixsocket.clone(),
            shared.clone(),
            cancel.clone(),
            tracker.clone(),
        ));
    }
    // Loaded with the listeners up (clients get -LOADING meanwhile), before the replication
    // link may replace the data; a file that does not load stops the server.
    tracing::info!("Server initialized");
    if let Err(e) = persistence::load_at_start(&shared).await {
        let e = format!("Fatal error loading the DB, exiting: {e}");
        tracing::error!("{e}");
        eprintln!("shoal-server: {e}");
        cancel.cancel();
        return 1;
    }
    // Redis's own line, after "DB loaded from disk" as in Redis: what a script waits for to
    // know the dataset is served. The "... tcp addr=" lines above come at bind time (they
    // give the port) and may precede the load.
    tracing::info!("Ready to accept connections");
    replication::spawn_link(shared.clone(), tls.clone(), cancel.clone());
    persistence::spawn_cron(shared.clone(), cancel.clone());
    clients::spawn_cron(shared.clone(), cancel.clone());
    wait_for_shutdown(&shared).await;
    persistence::save_on_exit(&shared).await;
    shared
        .shutdown
        .store(true, std::sync::atomic::Ordering::SeqCst);
    tracing::warn!(
        "Shutting down: closing {} client connection(s)",
        shared.clients.len()
    );
    cancel.cancel();
    // Closing their sockets ends the connection tasks (see `ClientInfo::killer`).
    let clients: Vec<_> = shared.clients.iter().map(|c| c.value().clone()).collect();
    for c in clients {
        c.kill();
    }
    tracker.close();
    if tokio::time::timeout(Duration::from_secs(5), tracker.wait())
        .await
        .is_err()
    {
        tracing::warn!("some connections did not close in time");
    }
    if let Some(h) = expire {
        let _ = h.join();
    }
    tracing::warn!("shoal is now ready to exit, bye bye...");
    0
}

async fn wait_for_shutdown(shared: &Shared) {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = match signal(SignalKind::terminate()) {
        Ok(s) => s,
        Err(e) => {
            tracing::error!("cannot install SIGTERM handler: {e}");
            return;
        }
    };
    let notified = shared.shutdown_notify.notified();
    tokio::pin!(notified);
    notified.as_mut().enable();
    if shared.shutdown.load(std::sync::atomic::Ordering::SeqCst) {
        return;
    }
    tokio::select! {
        _ = tokio::signal::ctrl_c() => tracing::warn!("Received SIGINT scheduling shutdown..."),
        _ = term.recv() => tracing::warn!("Received SIGTERM scheduling shutdown..."),
        _ = notified => {}
    }
}
