//! Prometheus metrics on `--metrics-port`: `GET /metrics`.
//!
//! The request path keeps its own cheap per-thread counters (see `shoal_commands::stats`); on
//! each scrape they are copied into the `metrics` crate's recorder (counters set absolutely,
//! gauges set) and rendered by `metrics-exporter-prometheus`, followed by the per-command latency
//! histograms built from the same counters. Nothing is recorded per command, so the
//! instrumentation costs the hot path nothing beyond the counters INFO already needs.

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

use metrics::{counter, gauge};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use shoal_commands::Shared;
use shoal_commands::spec::table;
use shoal_commands::stats::LATENCY_BUCKETS;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// Installs the recorder and serves `/metrics` on every listener (one per `bind` address);
/// returns the addresses bound.
pub fn spawn(
    shared: Arc<Shared>,
    listeners: Vec<TcpListener>,
    cancel: CancellationToken,
    tracker: TaskTracker,
) -> Result<Vec<SocketAddr>, String> {
    let handle = PrometheusBuilder::new()
        .install_recorder()
        .map_err(|e| format!("metrics recorder: {e}"))?;
    describe();
    let bound = listeners
        .iter()
        .map(|l| l.local_addr().map_err(|e| e.to_string()))
        .collect::<Result<Vec<_>, _>>()?;
    let upkeep = handle.clone();
    let stop = cancel.clone();
    tracker.spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(5));
        loop {
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = tick.tick() => upkeep.run_upkeep(),
            }
        }
    });
    for listener in listeners {
        tracker.spawn(serve(
            listener,
            shared.clone(),
            handle.clone(),
            cancel.clone(),
        ));
    }
    Ok(bound)
}

/// The accept loop of one metrics listener.
async fn serve(
    listener: TcpListener,
    shared: Arc<Shared>,
    handle: PrometheusHandle,
    cancel: CancellationToken,
) {
    loop {
        let (mut s, _) = tokio::select! {
            _ = cancel.cancelled() => return,
            r = listener.accept() => match r {
                Ok(x) => x,
                Err(_) => {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let shared = shared.clone();
        let handle = handle.clone();
        tokio::spawn(async move {
            let mut req = vec![0u8; 4096];
            let n = match tokio::time::timeout(Duration::from_secs(5), s.read(&mut req)).await {
                Ok(Ok(n)) => n,
                _ => return,
            };
            let head = String::from_utf8_lossy(&req[..n]);
            let auth = shared.config.read().metrics_auth;
            let resp = if auth && !shoal_commands::acl::http_authorized(&shared.acl, &head) {
                "HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic realm=\"shoal\"\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".to_string()
            } else if head.starts_with("GET /metrics") {
                let body = render(&shared, &handle);
                format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                )
            } else {
                "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                    .to_string()
            };
            let _ = s.write_all(resp.as_bytes()).await;
            let _ = s.shutdown().await;
        });
    }
}

/// HELP texts for every series.
fn describe() {
    use metrics::{describe_counter, describe_gauge};
    describe_counter!("shoal_commands_total", "Commands executed, by command.");
    describe_counter!(
        "shoal_command_failures_total",
        "Commands that answered with an error, by command."
    );
    describe_counter!(
        "shoal_commands_rejected_total",
        "Commands refused before running (arity, auth, routing), by command."
    );
    describe_counter!(
        "shoal_error_replies_total",
        "Error replies, by error prefix."
    );
    describe_gauge!("shoal_connected_clients", "Client connections open now.");
    describe_gauge!(
        "shoal_blocked_clients",
        "Clients waiting in a blocking command."
    );
    describe_counter!(
        "shoal_connections_received_total",
        "Client connections accepted."
    );
    describe_counter!(
        "shoal_connections_rejected_total",
        "Client connections refused (maxclients, protected mode)."
    );
    describe_counter!(
        "shoal_keyspace_hits_total",
        "Key lookups that found the key."
    );
    describe_counter!(
        "shoal_keyspace_misses_total",
        "Key lookups that did not find the key."
    );
    describe_counter!("shoal_net_input_bytes_total", "Bytes read from clients.");
    describe_counter!("shoal_net_output_bytes_total", "Bytes written to clients.");
    describe_counter!(
        "shoal_expired_keys_total",
        "Keys removed because their TTL passed."
    );
    describe_counter!(
        "shoal_evicted_keys_total",
        "Keys evicted to stay under maxmemory."
    );
    describe_gauge!(
        "shoal_used_memory_bytes",
        "Bytes the allocator holds for the process (what maxmemory limits)."
    );
    describe_gauge!(
        "shoal_used_memory_rss_bytes",
        "Resident memory of the process."
    );
    describe_gauge!(
        "shoal_maxmemory_bytes",
        "The maxmemory setting (0 = no limit)."
    );
    describe_gauge!(
        "shoal_pubsub_channels",
        "Channels with subscribers, by kind (channel, pattern, shard)."
    );
    describe_counter!(
        "shoal_pubsub_messages_published_total",
        "PUBLISH and SPUBLISH messages (and keyspace events) published on this node."
    );
    describe_counter!(
        "shoal_pubsub_messages_delivered_total",
        "Messages queued to subscribers (one per receiving subscriber)."
    );
    describe_counter!(
        "shoal_pubsub_slow_subscribers_closed_total",
        "Subscribers closed by the pubsub output-buffer limit."
    );
    describe_gauge!("shoal_tracking_clients", "Clients with CLIENT TRACKING on.");
    describe_gauge!(
        "shoal_tracking_keys",
        "Keys in the client-side caching table (tracking-table-max-keys bounds it)."
    );
    describe_gauge!("shoal_keys", "Keys, by database.");
    describe_gauge!("shoal_keys_with_ttl", "Keys with a TTL, by database.");
    describe_gauge!("shoal_cluster_state_ok", "1 when the cluster state is ok.");
    describe_gauge!(
        "shoal_cluster_known_nodes",
        "Nodes this node knows, itself included."
    );
    describe_gauge!(
        "shoal_cluster_slots_assigned",
        "Hash slots bound to a node."
    );
    describe_gauge!(
        "shoal_cluster_slots_ok",
        "Assigned slots whose owner is not failing."
    );
    describe_gauge!(
        "shoal_cluster_slots_pfail",
        "Assigned slots whose owner this node suspects (PFAIL)."
    );
    describe_gauge!(
        "shoal_cluster_slots_fail",
        "Assigned slots whose owner is marked failed (FAIL)."
    );
    describe_gauge!(
        "shoal_cluster_current_epoch",
        "The cluster's current epoch."
    );
    describe_gauge!("shoal_cluster_size", "Primaries serving at least one slot.");
    describe_gauge!(
        "shoal_cluster_slot_migrations_active",
        "Atomic slot migrations running, by operation (export, import)."
    );
    describe_counter!(
        "shoal_cluster_slot_migrations_total",
        "Atomic slot migrations ended, by operation and result (success, failed, cancelled)."
    );
    describe_counter!(
        "shoal_cluster_bus_messages_sent_total",
        "Cluster bus messages sent, by message type."
    );
    describe_counter!(
        "shoal_cluster_bus_messages_received_total",
        "Cluster bus messages received, by message type."
    );
    describe_counter!(
        "shoal_cluster_bus_link_connects_total",
        "Outbound cluster bus connections attempted (first links and reconnects)."
    );
    describe_counter!(
        "shoal_cluster_bus_malformed_frames_total",
        "Cluster bus frames dropped as malformed."
    );
}

fn rss_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| {
            s.split_whitespace()
                .nth(1)
                .and_then(|x| x.parse::<u64>().ok())
        })
        .map(|p| p * 4096)
        .unwrap_or(0)
}

/// Copies the server's counters into the recorder, then renders everything.
fn render(shared: &Shared, handle: &PrometheusHandle) -> String {
    let t = shared.stats.totals();
    for (i, spec) in table().specs.iter().enumerate() {
        let (calls, _, failed, rejected) = t.cmds[i];
        if calls + rejected == 0 {
            continue;
        }
        counter!("shoal_commands_total", "cmd" => spec.name).absolute(calls);
        counter!("shoal_command_failures_total", "cmd" => spec.name).absolute(failed);
        counter!("shoal_commands_rejected_total", "cmd" => spec.name).absolute(rejected);
    }
    for (prefix, n) in shared.stats.errors() {
        // A label is text: a script's non-UTF-8 error code shows with its bytes replaced.
        let prefix = String::from_utf8_lossy(&prefix).into_owned();
        counter!("shoal_error_replies_total", "prefix" => prefix).absolute(n);
    }
    gauge!("shoal_connected_clients").set(shared.clients.len() as f64);
    gauge!("shoal_blocked_clients").set(shared.blocking.blocked.load(Relaxed) as f64);
    counter!("shoal_connections_received_total")
        .absolute(shared.stats.connections_received.load(Relaxed));
    counter!("shoal_connections_rejected_total")
        .absolute(shared.stats.rejected_connections.load(Relaxed));
    counter!("shoal_keyspace_hits_total").absolute(t.hits);
    counter!("shoal_keyspace_misses_total").absolute(t.misses);
    counter!("shoal_net_input_bytes_total").absolute(t.net_in);
    counter!("shoal_net_output_bytes_total").absolute(t.net_out);
    counter!("shoal_expired_keys_total").absolute(shared.store.expired_total());
    counter!("shoal_evicted_keys_total").absolute(shared.store.evicted_total());
    gauge!("shoal_used_memory_bytes").set(shoal_store::mem::used() as f64);
    gauge!("shoal_used_memory_rss_bytes").set(rss_bytes() as f64);
    let (channels, patterns, shard) = shared.pubsub.counts();
    for (kind, n) in [
        ("channel", channels),
        ("pattern", patterns),
        ("shard", shard),
    ] {
        gauge!("shoal_pubsub_channels", "kind" => kind).set(n as f64);
    }
    let ps = &shared.pubsub;
    counter!("shoal_pubsub_messages_published_total").absolute(ps.published.load(Relaxed));
    counter!("shoal_pubsub_messages_delivered_total").absolute(ps.delivered.load(Relaxed));
    counter!("shoal_pubsub_slow_subscribers_closed_total")
        .absolute(ps.closed_for_buffer.load(Relaxed));
    let (tclients, tkeys, _, _) = shared.tracking.info();
    gauge!("shoal_tracking_clients").set(tclients as f64);
    gauge!("shoal_tracking_keys").set(tkeys as f64);
    gauge!("shoal_maxmemory_bytes").set(shared.config.read().maxmemory as f64);
    for db in 0..shared.store.databases() {
        let (keys, ttl) = shared.store.db_counts(db);
        if keys > 0 {
            let label = db.to_string();
            gauge!("shoal_keys", "db" => label.clone()).set(keys as f64);
            gauge!("shoal_keys_with_ttl", "db" => label).set(ttl as f64);
        }
    }
    if let Some(cl) = &shared.cluster {
        let st = cl.state.read();
        gauge!("shoal_cluster_state_ok").set(if st.is_ok() { 1.0 } else { 0.0 });
        gauge!("shoal_cluster_known_nodes").set(st.nodes.len() as f64);
        gauge!("shoal_cluster_slots_assigned").set(st.slots_assigned() as f64);
        let (ok, pfail, fail) = st.slot_health();
        gauge!("shoal_cluster_slots_ok").set(ok as f64);
        gauge!("shoal_cluster_slots_pfail").set(pfail as f64);
        gauge!("shoal_cluster_slots_fail").set(fail as f64);
        gauge!("shoal_cluster_current_epoch").set(st.current_epoch as f64);
        gauge!("shoal_cluster_size").set(st.size() as f64);
        drop(st);
        for (i, name) in shoal_cluster::bus::KIND_NAMES.iter().enumerate() {
            counter!("shoal_cluster_bus_messages_sent_total", "type" => *name)
                .absolute(cl.bus_sent[i].load(Relaxed));
            counter!("shoal_cluster_bus_messages_received_total", "type" => *name)
                .absolute(cl.bus_received[i].load(Relaxed));
        }
        counter!("shoal_cluster_bus_link_connects_total").absolute(cl.bus_connects.load(Relaxed));
        let m = &shared.migrations;
        for (op, name) in ["export", "import"].iter().enumerate() {
            let active = m
                .jobs
                .lock()
                .iter()
                .filter(|j| j.op as usize == op && j.active())
                .count();
            gauge!("shoal_cluster_slot_migrations_active", "operation" => *name).set(active as f64);
            for (r, result) in shoal_commands::slotmig::RESULTS.iter().enumerate() {
                counter!("shoal_cluster_slot_migrations_total", "operation" => *name, "result" => *result)
                    .absolute(m.ended[op][r].load(Relaxed));
            }
        }
        counter!("shoal_cluster_bus_malformed_frames_total")
            .absolute(cl.bus_bad_frames.load(Relaxed));
    }
    let mut out = handle.render();
    write_latency(&mut out, shared);
    if shared.cluster.is_some() {
        write_hot_slots(&mut out, shared);
    }
    out
}

/// Slots with most commands: how many, since the per-slot series are few on purpose.
const HOT_SLOTS: usize = 10;

/// Reads, writes and keys of the busiest slots (by commands charged to them), so a dashboard
/// spots a hot slot without 16384 series per node.
fn write_hot_slots(out: &mut String, shared: &Shared) {
    let totals = shared.stats.slot_totals();
    let mut busy: Vec<(u64, usize)> = totals
        .iter()
        .enumerate()
        .map(|(slot, t)| (t[0] + t[1], slot))
        .filter(|(n, _)| *n > 0)
        .collect();
    busy.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    busy.truncate(HOT_SLOTS);
    let series: [(&str, &str, &str); 3] = [
        (
            "shoal_slot_reads_total",
            "counter",
            "Read commands on a hash slot (the busiest slots).",
        ),
        (
            "shoal_slot_writes_total",
            "counter",
            "Write commands on a hash slot (the busiest slots).",
        ),
        (
            "shoal_slot_keys",
            "gauge",
            "Keys in a hash slot (the busiest slots).",
        ),
    ];
    for (m, (name, kind, help)) in series.iter().enumerate() {
        let _ = writeln!(out, "# HELP {name} {help}");
        let _ = writeln!(out, "# TYPE {name} {kind}");
        for &(_, slot) in &busy {
            let v = match m {
                0 => totals[slot][0],
                1 => totals[slot][1],
                _ => shared.store.slot_keys(0, slot as u16) as u64,
            };
            let _ = writeln!(out, "{name}{{slot=\"{slot}\"}} {v}");
        }
    }
}

/// `shoal_command_duration_seconds` histograms, one series per command that ran.
fn write_latency(out: &mut String, shared: &Shared) {
    let buckets = shared.stats.latency_buckets();
    let totals = shared.stats.totals();
    let _ = writeln!(
        out,
        "# HELP shoal_command_duration_seconds Time spent executing commands."
    );
    let _ = writeln!(out, "# TYPE shoal_command_duration_seconds histogram");
    for (i, spec) in table().specs.iter().enumerate() {
        let b = &buckets[i];
        let count: u64 = b.iter().sum();
        if count == 0 {
            continue;
        }
        let mut cum = 0;
        for (j, n) in b.iter().enumerate().take(LATENCY_BUCKETS - 1) {
            cum += n;
            let le = (1u64 << j) as f64 / 1e6;
            let _ = writeln!(
                out,
                "shoal_command_duration_seconds_bucket{{cmd=\"{}\",le=\"{le}\"}} {cum}",
                spec.name
            );
        }
        let _ = writeln!(
            out,
            "shoal_command_duration_seconds_bucket{{cmd=\"{}\",le=\"+Inf\"}} {count}",
            spec.name
        );
        let secs = totals.cmds[i].1 as f64 / 1e9;
        let _ = writeln!(
            out,
            "shoal_command_duration_seconds_sum{{cmd=\"{}\"}} {secs}",
            spec.name
        );
        let _ = writeln!(
            out,
            "shoal_command_duration_seconds_count{{cmd=\"{}\"}} {count}",
            spec.name
        );
    }
}
